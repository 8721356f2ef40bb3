"""User claims about an entry of T or of the im2col matrix: proved or refuted with the failing
step and a concrete counterexample (sizes, indices, the two values)."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv import SpecError
from symconv.general import check_claim, symbols_for

S = symbols_for("toeplitz", dims=1)
TRUE_DELTA = sp.Sum(S.w[S.t] * sp.KroneckerDelta(S.i, S.s * S.j + S.d * S.t - S.p), (S.t, 0, S.k - 1))
CLOSED_D1 = sp.Piecewise((S.w[S.i - S.s * S.j + S.p],
                          (S.i - S.s * S.j + S.p >= 0) & (S.i - S.s * S.j + S.p < S.k)), (0, True))


def test_true_claims_are_proved():
    assert check_claim("toeplitz", TRUE_DELTA).holds
    proof = check_claim("toeplitz", CLOSED_D1, assume={S.d: 1})
    assert proof.holds
    assert [s.rule for s in proof.steps] == ["entry formula of T (theorem toeplitz)",
                                             "Kronecker-delta elimination", "the claim"]


@pytest.mark.parametrize("claim", [
    sp.Sum(S.w[S.t] * sp.KroneckerDelta(S.i, S.s * S.j + S.d * S.t - S.p + 1), (S.t, 0, S.k - 1)),
    sp.Sum(S.w[S.k - 1 - S.t] * sp.KroneckerDelta(S.i, S.s * S.j + S.d * S.t - S.p), (S.t, 0, S.k - 1)),
    sp.Sum(S.w[S.t] * sp.KroneckerDelta(S.i, S.s * (S.j + S.t) - S.p), (S.t, 0, S.k - 1)),
    CLOSED_D1,  # true only for d = 1
], ids=["off-by-one", "flipped", "stride-wrong-side", "closed-form-without-d=1"])
def test_false_claims_are_refuted_with_a_counterexample(claim):
    derivation = check_claim("toeplitz", claim)
    assert derivation.refuted, derivation.summary()
    assert derivation.failure.rule == "the claim"
    example = derivation.failure.counterexample
    assert example.lhs != example.rhs
    assert {"n", "k", "s", "d", "p", "j", "i"} <= set(example.values)
    assert example.lhs_symbolic != example.rhs_symbolic
    # the counterexample is reproducible: the reference entry at those values is lhs
    assert "counterexample at" in str(derivation.failure)


def test_im2col_claims_in_2d():
    P = symbols_for("im2col", dims=2)
    u = [P.s[a] * P.j[a] + P.d[a] * P.t[a] - P.p[a] for a in range(2)]
    inside = (u[0] >= 0) & (u[0] < P.n[0]) & (u[1] >= 0) & (u[1] <= P.n[1] - 1)
    assert check_claim("im2col", sp.Piecewise((P.x[u[0], u[1]], inside), (0, True)), dims=2).holds
    swapped = sp.Piecewise((P.x[u[1], u[0]], inside), (0, True))
    assert check_claim("im2col", swapped, dims=2).refuted


def test_claim_in_3d_is_proved():
    S3 = symbols_for("toeplitz", dims=3)
    pattern = sp.Mul(*(sp.KroneckerDelta(S3.i[a], S3.s[a] * S3.j[a] + S3.d[a] * S3.t[a] - S3.p[a])
                       for a in range(3)))
    claim = sp.Sum(S3.w[S3.t] * pattern, *((S3.t[a], 0, S3.k[a] - 1) for a in range(3)))
    assert check_claim("toeplitz", claim, dims=3, instances=6).holds


@pytest.mark.parametrize("args", [
    dict(form="fft", entry=TRUE_DELTA), dict(form="toeplitz", entry=TRUE_DELTA, dims=0),
    dict(form="toeplitz", entry=TRUE_DELTA + sp.Symbol("zeta", integer=True)),
])
def test_bad_claims_are_spec_errors(args):
    with pytest.raises(SpecError):
        check_claim(**args)


@settings(max_examples=8, deadline=None)
@given(shift=st.integers(-3, 3).filter(bool), tap=st.integers(-2, 2))
def test_any_shifted_pattern_is_refuted(shift, tap):
    """δ(i, s·j + d·(t + tap) − p + shift) with shift ≠ 0 is never T's entry."""
    claim = sp.Sum(S.w[S.t] * sp.KroneckerDelta(S.i, S.s * S.j + S.d * (S.t + tap) - S.p + shift),
                   (S.t, 0, S.k - 1))
    derivation = check_claim("toeplitz", claim, instances=30)
    assert derivation.refuted, derivation.summary()


def test_refutation_json_names_step_and_values():
    wrong = sp.Sum(S.w[S.t] * sp.KroneckerDelta(S.i, S.s * (S.j + S.t) - S.p), (S.t, 0, S.k - 1))
    data = check_claim("toeplitz", wrong).to_json()
    failure = data["failure"]
    assert failure["rule"] == "the claim" and failure["counterexample"]["lhs"] != \
        failure["counterexample"]["rhs"]
    assert set("nksdpji") <= set(failure["counterexample"]["values"])


# ---- claims with channels and groups, and in the paper's im2col order ------------------------
CH = symbols_for("toeplitz", channels=True)
GROUPED = sp.KroneckerDelta(sp.floor(CH.c / CH.Ci), CH.g) * sp.Sum(
    CH.w[CH.o, CH.c - CH.g * CH.Ci, CH.t] * sp.KroneckerDelta(CH.i, CH.s * CH.j + CH.d * CH.t - CH.p),
    (CH.t, 0, CH.k - 1))


def test_channel_claims_are_proved_and_false_groupings_refuted():
    proof = check_claim("toeplitz", GROUPED, channels=True)
    assert proof.holds and proof.steps[0].rule == "entry formula of T (theorem toeplitz)"
    wrong_group = GROUPED.xreplace({sp.floor(CH.c / CH.Ci): sp.floor(CH.c / CH.Co)})
    refuted = check_claim("toeplitz", wrong_group, channels=True, instances=30)
    assert refuted.refuted, refuted.summary()
    example = refuted.failure.counterexample
    assert {"G", "Ci", "Co", "g", "h", "c"} <= set(example.values)
    assert example.lhs != example.rhs
    # no group factor: reads w outside its shape for a column of another group
    assert check_claim("toeplitz", GROUPED / sp.KroneckerDelta(sp.floor(CH.c / CH.Ci), CH.g),
                       channels=True).refuted


@pytest.mark.parametrize("order", ["unfold", "paper"])
def test_im2col_channel_claims_in_both_orders(order):
    P = symbols_for("im2col", dims=2, channels=True)
    u = [P.s[a] * P.j[a] + P.d[a] * P.t[a] - P.p[a] for a in range(2)]
    inside = (u[0] >= 0) & (u[0] <= P.n[0] - 1) & (u[1] >= 0) & (u[1] <= P.n[1] - 1)
    proof = check_claim("im2col", sp.Piecewise((P.x[P.c, u[0], u[1]], inside), (0, True)), dims=2,
                        channels=True, order=order)
    assert proof.holds and f"({order} order" in proof.title
    swapped = sp.Piecewise((P.x[P.c, u[1], u[0]], inside), (0, True))
    assert check_claim("im2col", swapped, dims=2, channels=True, order=order).refuted
    other_channel = sp.Piecewise((P.x[P.G * P.Ci - 1 - P.c, u[0], u[1]], inside), (0, True))
    assert check_claim("im2col", other_channel, dims=2, channels=True, order=order).refuted


def test_paper_order_claim_without_channels():
    S1 = symbols_for("im2col")
    u = S1.s * S1.j + S1.d * S1.t - S1.p
    claim = sp.Piecewise((S1.x[u], (u >= 0) & (u <= S1.n - 1)), (0, True))
    proof = check_claim("im2col", claim, order="paper")
    assert proof.holds and proof.steps[0].rule == "entry formula of P (theorem im2col-paper)"
    with pytest.raises(SpecError):
        check_claim("toeplitz", TRUE_DELTA, order="paper")
    with pytest.raises(SpecError):
        check_claim("toeplitz", GROUPED)  # channel symbols without channels=True
