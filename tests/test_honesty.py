"""Honesty audit: tests that kill mutants of the proof-critical code that the rest of the suite
let through (a proof path that cannot fail is a defect: docs/architecture, "Proof rules").

Each test names the wrong implementation it rejects. They were written by mutation testing:
every test here passes on symconv and fails on the mutant it names.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symconv
from symconv import ConvSpec
from symconv.backends import exact
from symconv.general import arith, rules
from symconv.general.arith import implied
from symconv.general.core import compare_matrix
from symconv.general.derivation import Prover
from symconv.general.expr import Iverson
from symconv.general.setting import ConvSetting, Layer

BACKENDS = ("sympy", "exact")
INT64_MAX = np.iinfo(np.int64).max


def refuted_by_both(spec: ConvSpec, **forms) -> symconv.Counterexample:
    """Both backends refute the forms with the same counterexample; return it."""
    proofs = [symconv.prove(spec, backend=backend, **forms) for backend in BACKENDS]
    for proof in proofs:
        assert not proof.holds, proof.summary()
        assert proof.counterexample is not None and proof.counterexample.difference != 0
    assert proofs[0].counterexample == proofs[1].counterexample
    return proofs[1].counterexample


# ---- exact backend: the int64 monomial key ----------------------------------------------------
# Mutants: the ``fits < 1`` SpecError removed; ``fits`` left out of rows_per_chunk's min.
@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 1 << 20))
def test_a_chunk_of_keys_never_overflows_int64(log_w: int, log_x: int, rows: int) -> None:
    """key = ((r − r₀)·W + a)·X + i < (rows per chunk)·W·X must stay ≤ 2⁶³ − 1 in every chunk,
    and a basis whose single row overflows is refused (SpecError), never checked with wrapped keys."""
    spec = ConvSpec(1, 1, kernel_size=1, input_size=1)
    basis = exact.Basis(n_w=(1 << log_w) - 1, n_x=(1 << log_x) - 1, n_out=1, rows=rows)
    if basis.W * basis.X > INT64_MAX:
        with pytest.raises(symconv.SpecError, match="overflows"):
            basis.rows_per_chunk(spec)
        return
    step = basis.rows_per_chunk(spec)
    assert 1 <= step <= rows
    assert step * basis.W * basis.X - 1 <= INT64_MAX


# ---- exact backend: user entries outside the integer representation ---------------------------
# Mutant: the "at most one term" rule of P and K entries dropped (a sum x_a + x_b then silently
# keeps only its last term, so a wrong P whose last term is right was proved).
@pytest.mark.parametrize("other", [0, 2])
@pytest.mark.parametrize("matrix", ["im2col", "kernel_matrix"])
def test_a_sum_in_one_entry_of_p_or_k_is_refuted(matrix: str, other: int) -> None:
    spec = ConvSpec(1, 1, kernel_size=3, input_size=4, bias=False)
    x, w, _ = symconv.symbols(spec)
    forms = {"im2col": symconv.im2col(spec, x), "kernel_matrix": symconv.kernel_matrix(spec, w)}
    wrong = forms[matrix].copy()
    # P[1, 0] = x_1 and K[0, 1] = w_1: add a symbol that sorts before (0) or after (2) it
    if matrix == "im2col":
        wrong[1, 0] = wrong[1, 0] + x[0, other]
        added = w[0, 0, 1] * x[0, other]
    else:
        wrong[0, 1] = wrong[0, 1] + w[0, 0, other]
        added = w[0, 0, other] * x[0, 1]
    found = refuted_by_both(spec, **{**forms, matrix: wrong})
    assert found.form == "im2col" and found.index == (0, 0)
    assert found.missing == () and found.extra == (added,)


# Mutant: COEFFICIENT_LIMIT removed. Coefficients then multiply in int64 and wrap: with
# a = 1 + 2³² and a⁻¹ = 1 − 2³² (a·a⁻¹ = 1 − 2⁶⁴ ≡ 1 mod 2⁶⁴), K·a with P·a⁻¹ is (1 − 2⁶⁴)·K·P,
# which the wrapped product called exactly K·P.
# With the limit raised above 2³² (monkeypatched), the K·P bound (|K|·|P|·columns < 2⁶²) must
# still send such forms to SymPy. Mutant: that bound removed.
@pytest.mark.parametrize("limit", [exact.COEFFICIENT_LIMIT, 1 << 40])
def test_coefficients_that_wrap_around_int64_are_refuted(limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exact, "COEFFICIENT_LIMIT", limit)
    spec = ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    x, w, _ = symconv.symbols(spec)
    a, inverse = 1 + 2 ** 32, 1 - 2 ** 32
    P, K = symconv.im2col(spec, x), symconv.kernel_matrix(spec, w)
    found = refuted_by_both(spec, im2col=P * inverse, kernel_matrix=K * a)
    assert found.index == (0, 0)
    assert sp.expand(found.difference - 2 ** 64 * found.expected) == 0
    # a huge coefficient in a given output is refuted too, not an int64 OverflowError
    y = symconv.conv(spec, x, w).copy()
    y[0, 1] = y[0, 1] + 2 ** 70 * w[0, 0, 0] * x[0, 0]   # above any limit
    found = refuted_by_both(spec, output=y)
    assert found.index == (0, 1) and found.extra == (2 ** 70 * w[0, 0, 0] * x[0, 0],)


# ---- both backends check every form, not only the first --------------------------------------
# Mutant: the SymPy backend checks the first form only (its timings still name every form).
def test_a_wrong_second_form_is_refuted_after_a_correct_first_one() -> None:
    spec = ConvSpec(1, 1, kernel_size=3, input_size=4, bias=False)
    x, w, _ = symconv.symbols(spec)
    P = symconv.im2col(spec, x)
    wrong = P.copy()
    wrong[2, 1] = x[0, 2]                     # x_3 read as x_2 at the last output
    found = refuted_by_both(spec, toeplitz=symconv.toeplitz(spec, w), im2col=wrong,
                            kernel_matrix=symconv.kernel_matrix(spec, w))
    assert (found.form, found.index) == ("im2col", (0, 1))
    assert found.missing == (w[0, 0, 2] * x[0, 3],) and found.extra == (w[0, 0, 2] * x[0, 2],)


# ---- testing: the diagnosis names the fault fn really has -------------------------------------
# Mutant: the single-axis kernel flips tried on the wrong axis (axis 0's flip reported as axis 1's).
@pytest.mark.parametrize("axis", [0, 1])
def test_diagnosis_names_the_one_axis_the_kernel_is_flipped_along(axis: int) -> None:
    spec = ConvSpec(1, 1, kernel_size=(2, 3), input_size=(3, 4), bias=False)

    def flipped_on_one_axis(x, w, b):
        return symconv.conv(spec, x, np.flip(w, axis=2 + axis), b)

    with pytest.raises(AssertionError) as failure:
        symconv.testing.assert_conv_equivalent(flipped_on_one_axis, spec)
    diagnoses = [line for line in str(failure.value).splitlines() if line.startswith("Diagnosis:")]
    assert diagnoses == [f"Diagnosis: kernel flipped along spatial axis {axis} only — that layer "
                         f"reproduces fn's output exactly."]


# ---- general derivations: every check can fail ------------------------------------------------
def _prover(rhs=None, instances: int = 6) -> tuple:
    layer = Layer(1)
    setting = ConvSetting(layer)
    lhs = layer.fc_output[layer.row()]
    prover = Prover("audit", 1, "an audit derivation", setting, lhs,
                    layer.output_vector[layer.row()] if rhs is None else rhs, instances=instances)
    return prover, setting.definitions["Tx"], layer


# Mutant: a step's symbolic check always passes (``ok = True``): a step that is false but true on
# the drawn instances was then proved by the concrete checks alone.
def test_a_step_true_only_on_the_drawn_instances_is_not_proved() -> None:
    prover, definition, layer = _prover()
    unfolded = rules.unfold(prover.current, definition)
    # [n ≥ 10⁶] is 0 at every small instance, so the concrete checks all pass
    wrong = unfolded * (1 + Iverson(sp.Ge(layer.n_in, 10 ** 6)))
    prover.step("definition of the matrix product", "adds a term no small instance sees",
                lambda e: rules.unfold(e, definition), target=wrong)
    derivation = prover.finish([])
    assert all(check.ok for check in derivation.steps[0].concrete) and derivation.steps[0].concrete
    assert not derivation.steps[0].symbolic
    assert not derivation.holds and derivation.verdict == "NOT PROVED"
    assert "symbolic check failed" in derivation.failure.reason


# Mutant: ``finish`` without its end check: a chain of true steps that stops short of the
# statement's right-hand side was proved.
@pytest.mark.parametrize("steps", [0, 1])
def test_a_chain_that_does_not_reach_the_statement_is_not_proved(steps: int) -> None:
    prover, definition, _ = _prover()
    for _ in range(steps):
        prover.step("definition of the matrix product", "true", lambda e: rules.unfold(e, definition))
    assert prover.failure is None
    derivation = prover.finish([])
    assert not derivation.holds and derivation.verdict == "NOT PROVED"
    assert "does not end at the statement" in derivation.failure.reason


# Mutant: ``Prover.core`` ignoring the comparison's verdict.
def test_a_disagreement_with_the_concrete_core_fails_the_derivation() -> None:
    prover, _, _ = _prover()
    prover.core("symconv.toeplitz", lambda instance: "T[0, 0] = 1 by the general formula, 2 in symconv")
    derivation = prover.finish([])
    assert not derivation.holds and derivation.core_checks == []
    assert derivation.failure.rule == "agreement with symconv.toeplitz"
    assert "T[0, 0]" in derivation.failure.reason


# Mutant: ``compare_matrix`` comparing shapes only.
def test_compare_matrix_reports_the_first_differing_entry() -> None:
    core = sp.Matrix([[1, 0], [0, 2]])
    entries = {(0, 0): 1, (0, 1): 0, (1, 0): 0, (1, 1): 3}
    assert compare_matrix(entries.__getitem__, core, (2, 2), "T") == \
        "T[1, 1] = 3 by the general formula, 2 in symconv"
    assert compare_matrix({**entries, (1, 1): 2}.__getitem__, core, (2, 2), "T") is None
    assert "shape" in compare_matrix({**entries, (1, 1): 2}.__getitem__, core, (2, 3), "T")


# Mutant: a numeric side condition accepted whatever its sign.
@pytest.mark.parametrize("goal,holds", [(-1, False), (-7, False), (0, True), (3, True)])
def test_implied_decides_numeric_goals_by_their_sign(goal: int, holds: bool) -> None:
    n = sp.Symbol("n", integer=True)
    assert bool(implied(sp.Integer(goal), [n - 1])[0]) is holds
    assert bool(implied(n - 1 + goal, [n - 1])[0]) is holds


# Mutant: the Fourier–Motzkin result used without re-checking the combination it names.
def test_a_wrong_fourier_motzkin_result_is_not_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    n, m = sp.symbols("n m", integer=True)
    assert bool(implied(n - 1 - m, [n - 1 - m])[0])          # a hypothesis itself
    # a search that claims 1·(n) + 1·(−goal − 1) is a negative number: it is not (= n − m − 1 + …)
    monkeypatch.setattr(arith, "_eliminate",
                        lambda table, variables: ({}, Fraction(-1), {0: Fraction(1), 1: Fraction(1)}))
    assert arith.linear_certificate(m - 5, [n]) is None
    assert not bool(implied(m - 5, [n])[0])


# ---- testing: probing refuses non-finite outputs ----------------------------------------------
# Mutant: the probe's exact-integer check without its isfinite part (inf == round(inf)).
def test_probe_refuses_code_that_returns_infinity() -> None:
    spec = ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)

    def overflowing(x, w, b):
        y = symconv.conv(spec, np.asarray(x, dtype=object), np.asarray(w, dtype=object)).astype(float)
        y[0, 0] = np.inf
        return y

    with pytest.raises(symconv.testing.NotCheckable, match="inf"):
        symconv.testing.assert_conv_equivalent(overflowing, spec, mode="probe")
