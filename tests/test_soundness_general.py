"""Issue 11, "PROVED must mean proved", for the all-sizes engine (symconv.general):

* class 1 — random instances reach large sizes and every threshold of a claim, so a claim
  false only at n = 9 or only from n = 40 on is refuted with a counterexample there;
* class 8 — bad arguments are SpecErrors naming the argument (no SymPy traceback, no silent
  coercion, no PROVED from zero instances);
* class 9 — no evaluation hangs: a cap on the terms and powers of one evaluation and a
  wall-clock deadline end the derivation NOT PROVED (never PROVED, never REFUTED);
* a hypothesis test that mutates true claims and requires that none of them holds.
"""

from __future__ import annotations

import random
import time

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symconv
from symconv import SpecError
from symconv.general import check_claim, prove_general, symbols_for
from symconv.general.derivation import DEADLINE
from symconv.general.evaluate import MAX_POWER_BITS, MAX_TERMS, Env, EvaluationError, LimitExceeded, evaluate, limits
from symconv.general.setting import DRAW_RANGES, ConvSetting, Layer
from symconv.general.thresholds import claim_atoms, divides_by_data, targets

S = symbols_for("toeplitz")
U = sp.Symbol("u", integer=True)
TRUE = sp.Sum(S.w[S.t] * sp.KroneckerDelta(S.i, S.s * S.j + S.d * S.t - S.p), (S.t, 0, S.k - 1))


def bracket(value: sp.Expr, condition) -> sp.Expr:
    return sp.Piecewise((value, condition), (0, True))


def _refuted_at(derivation, **values) -> dict:
    """The derivation is REFUTED by two differing values at an instance with these values."""
    assert derivation.verdict == "REFUTED", derivation.summary()
    example = derivation.failure.counterexample
    assert example.lhs != example.rhs and not example.error
    for name, check in values.items():
        assert check(example.values[name]), (name, example)
    return example.values


# ---- class 1: instances reach large sizes and the thresholds of a claim ----------------------
def test_a_claim_false_only_at_n_9_is_refuted_at_n_9():
    bad = TRUE + bracket(S.w[0], S.n > sp.Rational(17, 2)) - bracket(S.w[0], S.n >= sp.Rational(19, 2))
    derivation = check_claim("toeplitz", bad)
    _refuted_at(derivation, n=lambda n: n == 9)
    assert derivation.threshold_instances > 0
    assert "at thresholds of the claim" in derivation.summary()


@pytest.mark.parametrize("symbol,size", [("n", 40), ("n", 64), ("k", 40), ("p", 33), ("s", 50)])
def test_a_term_active_only_above_a_size_is_refuted_there(symbol, size):
    bad = TRUE + bracket(S.w[0], getattr(S, symbol) >= size)
    _refuted_at(check_claim("toeplitz", bad), **{symbol: lambda v: v >= size})


def test_an_index_threshold_past_small_sizes_is_refuted():
    bad = TRUE + bracket(S.w[0], S.i >= 37)
    _refuted_at(check_claim("toeplitz", bad), i=lambda i: i >= 37)


def test_thresholds_in_2d_and_on_the_output_size():
    S2 = symbols_for("toeplitz", dims=2)
    pattern = sp.Mul(*(sp.KroneckerDelta(S2.i[a], S2.s[a] * S2.j[a] + S2.d[a] * S2.t[a] - S2.p[a])
                       for a in range(2)))
    true = sp.Sum(S2.w[S2.t] * pattern, *((S2.t[a], 0, S2.k[a] - 1) for a in range(2)))
    _refuted_at(check_claim("toeplitz", true + bracket(S2.w[0, 0], S2.n[1] >= 30), dims=2),
                n_2=lambda n: n >= 30)
    # m is the output size ⌊(n + p + q − d(k − 1) − 1)/s⌋ + 1, pinned through n, k, s, d, p, q
    _refuted_at(check_claim("toeplitz", TRUE + bracket(S.w[0], sp.Eq(S.m, 45))), m=lambda m: m == 45)


def test_theorem_entries_and_dft_symbols_get_threshold_instances():
    C = symbols_for("toeplitz", channels=True)
    entry = sp.KroneckerDelta(sp.floor(C.c / C.Ci), C.g) * sp.Sum(
        C.w[C.o, C.c - C.g * C.Ci, C.t] * sp.KroneckerDelta(C.i, C.s * C.j + C.d * C.t - C.p),
        (C.t, 0, C.k - 1))
    assert prove_general("toeplitz", entry=entry).holds
    wrong = prove_general("toeplitz", entry=entry * (1 + bracket(1, C.n >= 41)))
    assert not wrong.holds and wrong.threshold_instances > 0
    D = symconv.general.dft_symbols(1)
    symbol = D.default + bracket(D.layer.w[D.layer.o, 0, 0], D.layer.n[0] >= 20)
    derivation = prove_general("dft", symbol=symbol)
    assert not derivation.holds and derivation.threshold_instances > 0


def test_random_sizes_are_log_uniform_over_a_wide_range():
    """Small sizes stay frequent, sizes well past 32 occur (1-D), and every instance is within
    the cost budget."""
    for dims, beyond in ((1, 32), (2, 12), (3, 6)):
        layer = Layer(dims)
        setting = ConvSetting(layer)
        rng = random.Random(dims)
        sizes = []
        for _ in range(300):
            values = setting.draw(rng).values
            assert layer.cost(values) <= DRAW_RANGES[dims].budget
            sizes += [values[n] for n in layer.n]
        assert max(sizes) > beyond, (dims, max(sizes))
        assert sum(n <= 4 for n in sizes) > len(sizes) // 5


def test_threshold_targets_pin_the_floor_and_ceiling_of_a_boundary_and_their_neighbours():
    n, j = S.n, S.j
    found = targets([bracket(1, n > sp.Rational(17, 2))], {n: 3, j: 0}, {n, j}, {}, dims=1)
    assert sorted(t.values[n] for t in found if "along n" in t.reason) == [7, 8, 9, 10]
    # and near the constants 17/2, 17 and 2
    assert sorted(t.values[n] for t in found if "constant" in t.reason) == [1, 2, 3, 16, 17, 18]
    (atom,) = claim_atoms(TRUE)  # δ(i, s·j + d·t − p) as an equation, inside the sum over t
    assert {atom.expr.lhs, atom.expr.rhs} == {S.i, S.s * S.j + S.d * S.t - S.p}
    assert atom.limits == ((S.t, 0, S.k - 1),)
    assert divides_by_data(TRUE / S.x[S.i]) and not divides_by_data(TRUE / 2)


def test_a_division_by_the_data_is_refuted_at_zero_data():
    """Σ_t w[t]·w[0]·δ(…) / w[0] equals T's entry wherever w[0] ≠ 0 only."""
    claim = sp.Sum(S.w[S.t] * S.w[0] * sp.KroneckerDelta(S.i, S.s * S.j + S.d * S.t - S.p),
                   (S.t, 0, S.k - 1)) / S.w[0]
    derivation = check_claim("toeplitz", claim)
    assert derivation.verdict == "REFUTED", derivation.summary()
    assert "no inverse" in derivation.failure.counterexample.error


def test_zero_times_an_undefined_factor_is_undefined():
    w = sp.IndexedBase("w")
    with pytest.raises(EvaluationError, match="no inverse"):
        evaluate(sp.Sum(w[0], (U, 0, 2)) / w[1],
                 Env({}, {"w": lambda index: 0}))
    # a guard is a strong zero: [false]·x[outside] = 0
    assert evaluate(sp.Mul(w[5], symconv.general.expr.Iverson(sp.Ge(S.n, 3))),
                    Env({S.n: 1}, {"w": lambda index: 1 / 0})) == 0


# ---- class 8: bad arguments are SpecErrors naming them ----------------------------------------
@pytest.mark.parametrize("entry,words", [
    (sp.Eq(TRUE, 0), "relation"), (sp.Matrix([TRUE]), "not a MutableDenseMatrix"),
    ([TRUE], "not a list"), ((TRUE,), "not a tuple"), (1.0 * TRUE, "floating-point"),
    (TRUE + sp.Float("0.5"), "sp.Rational"), (TRUE * sp.pi, "not an exact rational"),
    (TRUE + sp.sqrt(S.n), "non-integer power"), (S.w[0] ** (10 ** 10), "exponents"),
    (True, "bool"), (2.5, "floating-point"), (object(), "not object"),
])
def test_bad_entries_are_spec_errors_naming_entry(entry, words):
    with pytest.raises(SpecError, match=words) as error:
        check_claim("toeplitz", entry)
    assert error.value.parameter == "entry"


@pytest.mark.parametrize("assume,words", [
    ({S.d: S.s}, "must be an integer"), ({S.d: 1.9}, "must be an integer"),
    ({S.d: sp.Rational(3, 2)}, "must be an integer"), ({S.d: "1"}, "must be an integer"),
    ({S.d: 0}, "d must be ≥ 1"), ({S.s: -1}, "s must be ≥ 1"), ({S.n: 0}, "n must be ≥ 1"),
    ({S.p: -1}, "p must be ≥ 0"), ({"zeta": 1}, "valid: \\['d', 'k', 'n', 'p', 'q', 's'\\]"),
    ({sp.Symbol("d"): 1}, "not a size or hyperparameter"), ({S.j: 0}, "not a size"),
    ([(S.d, 1)], "must be a dict"), ({S.n: 10 ** 6}, "no instance can be drawn"),
])
def test_bad_assumptions_are_spec_errors_naming_assume(assume, words):
    with pytest.raises(SpecError, match=words) as error:
        check_claim("toeplitz", TRUE, assume=assume)
    assert error.value.parameter == "assume"


def test_string_keys_of_assume_are_the_claim_symbols_of_that_name():
    closed = bracket(S.w[S.i - S.s * S.j + S.p], (S.i - S.s * S.j + S.p >= 0) & (S.i - S.s * S.j + S.p < S.k))
    assert check_claim("toeplitz", closed, assume={"d": 1}).holds
    assert check_claim("toeplitz", closed, assume={S.d: 1}).holds
    assert check_claim("toeplitz", closed).refuted  # true for d = 1 only


@pytest.mark.parametrize("options,parameter", [
    (dict(instances=0), "instances"), (dict(instances=2.5), "instances"),
    (dict(instances="3"), "instances"), (dict(instances=True), "instances"),
    (dict(instances=-4), "instances"), (dict(seed=1.5), "seed"), (dict(seed="x"), "seed"),
    (dict(deadline=0), "deadline"), (dict(deadline=-1), "deadline"),
    (dict(deadline=float("inf")), "deadline"), (dict(deadline=float("nan")), "deadline"),
    (dict(deadline="10"), "deadline"), (dict(channels="yes"), "channels"),
])
def test_bad_counts_seeds_and_deadlines_are_spec_errors(options, parameter):
    with pytest.raises(SpecError) as error:
        check_claim("toeplitz", TRUE, **options)
    assert error.value.parameter == parameter
    if parameter in ("instances", "seed", "deadline"):
        with pytest.raises(SpecError) as error:
            prove_general("toeplitz", **options)
        assert error.value.parameter == parameter


def test_unknown_options_are_named_and_type_errors_are_not_read_as_unknown_options():
    with pytest.raises(SpecError) as error:
        prove_general("toeplitz", instances="3")
    assert error.value.parameter == "instances"
    with pytest.raises(SpecError) as error:
        prove_general("toeplitz", instance=3, color="red")
    assert error.value.parameter == "options" and error.value.value == ["color", "instance"]
    assert "accepts" in str(error.value) and "'instances'" in str(error.value)
    with pytest.raises(SpecError) as error:
        prove_general("dft", symbol=sp.Eq(S.w[0], 1))
    assert error.value.parameter == "symbol"
    for theorem, option in (("toeplitz", "entry"), ("padding", "source"), ("nonlinear", "network")):
        with pytest.raises(SpecError) as error:
            prove_general(theorem, **{option: "w[t]"})  # text is never evaluated here
        assert error.value.parameter == option
    with pytest.raises(SpecError) as error:
        prove_general("nonlinear", bias="yes")
    assert error.value.parameter == "bias"


def test_one_instance_is_a_real_comparison():
    derivation = prove_general("toeplitz", instances=1)
    assert derivation.holds and derivation.instances == 1
    assert derivation.core_checks == ["symconv.toeplitz at 1 instances"]
    assert all(len(step.concrete) == 1 for step in derivation.steps)


# ---- class 9: no hangs ----------------------------------------------------------------------

def test_a_billion_term_sum_is_refused_up_front_and_not_proved():
    claim = TRUE * sp.Sum(sp.KroneckerDelta(U, 0), (U, 0, 10 ** 9))  # = TRUE · 1
    start = time.perf_counter()
    derivation = check_claim("toeplitz", claim)
    assert time.perf_counter() - start < 30
    assert derivation.verdict == "NOT PROVED", derivation.summary()
    assert derivation.failure.counterexample is None
    assert "1000000001 terms" in derivation.failure.reason and "MAX_TERMS" in derivation.failure.reason
    with pytest.raises(LimitExceeded, match="MAX_TERMS"):
        evaluate(sp.Sum(U, (U, 0, MAX_TERMS)), Env({}))
    assert evaluate(sp.Sum(1, (U, 1, MAX_TERMS)), Env({})) == MAX_TERMS


def test_nested_sums_share_one_evaluation_budget():
    v = sp.Symbol("v", integer=True)
    with pytest.raises(LimitExceeded, match="MAX_TERMS"):
        evaluate(sp.Sum(1, (U, 0, 999), (v, 0, 9999)), Env({}))


def test_the_deadline_ends_a_derivation_not_proved_with_the_step():
    slow = TRUE * sp.Sum(sp.KroneckerDelta(U, 0), (U, 0, 2 * 10 ** 5))
    start = time.perf_counter()
    derivation = check_claim("toeplitz", slow, deadline=0.5)
    assert time.perf_counter() - start < 20
    assert derivation.verdict == "NOT PROVED", derivation.summary()
    assert "deadline of 0.5 s exceeded at step" in derivation.failure.reason
    assert derivation.failure.counterexample is None
    assert DEADLINE >= 60
    with limits(seconds=1e-9), pytest.raises(LimitExceeded, match="deadline"):
        time.sleep(0.001)
        evaluate(sp.Sum(U, (U, 0, 10)), Env({}))


@pytest.mark.parametrize("theorem", ["transpose", "padding", "dft"])
def test_a_theorem_past_its_deadline_is_not_proved(theorem):
    derivation = prove_general(theorem, dims=2, deadline=0.01)
    assert derivation.verdict == "NOT PROVED", derivation.summary()
    assert "deadline of 0.01 s exceeded at step" in derivation.failure.reason
    assert derivation.failure.counterexample is None
    assert "deadline" in derivation.to_json()["failure"]["reason"]


def test_giant_powers_are_not_built():
    start = time.perf_counter()
    with pytest.raises(LimitExceeded, match="MAX_POWER_BITS"):
        evaluate(S.w[0] * 2 ** (S.n * 10 ** 10), Env({S.n: 3}, {"w": lambda index: 1}))
    assert evaluate((-1) ** (S.n * 10 ** 10) + 1 ** S.n, Env({S.n: 3})) == 2
    assert evaluate(2 ** S.n, Env({S.n: MAX_POWER_BITS // 2})) == 2 ** (MAX_POWER_BITS // 2)
    derivation = check_claim("toeplitz", TRUE + S.w[0] * 2 ** (S.n * 10 ** 10))
    assert derivation.verdict == "NOT PROVED" and "MAX_POWER_BITS" in derivation.failure.reason
    assert time.perf_counter() - start < 30


# ---- mutations of true claims never hold ------------------------------------------------------
def _non_integer(numerator: int, denominator: int) -> sp.Rational:
    value = sp.Rational(numerator, denominator)
    return value + sp.Rational(1, 2 * denominator) if value.is_integer else value


DELTA = sp.KroneckerDelta(S.i, S.s * S.j + S.d * S.t - S.p)
MUTATIONS = st.one_of(
    # a bracket with a rational threshold: [v > r] − [v ≥ r + 1] is 1 at v = ⌈r⌉ only
    st.builds(lambda v, a, b: ("bracket", TRUE + bracket(S.w[0], getattr(S, v) > _non_integer(a, b))
                               - bracket(S.w[0], getattr(S, v) >= _non_integer(a, b) + 1)),
              st.sampled_from(["n", "i", "j", "k"]), st.integers(3, 120), st.integers(2, 4)),
    # a Kronecker delta at a non-integer point: never 1
    st.builds(lambda a, b: ("delta", TRUE.xreplace({DELTA: sp.KroneckerDelta(
        S.i, S.s * S.j + S.d * S.t - S.p + _non_integer(a, b))})),
              st.integers(-6, 6), st.integers(2, 3)),
    # a term active only above a size up to 64
    st.builds(lambda v, size: ("above", TRUE + bracket(S.w[0], getattr(S, v) >= size)),
              st.sampled_from(["n", "k", "s", "d", "p", "q"]), st.integers(2, 64)),
    # a division by an input: equal to T's entry only where the divisor is not 0
    st.sampled_from([
        ("divide", sp.Sum(S.w[S.t] * S.x[S.i] * DELTA, (S.t, 0, S.k - 1)) / S.x[S.i]),
        ("divide", sp.Sum(S.w[S.t] * S.w[0] * DELTA, (S.t, 0, S.k - 1)) / S.w[0]),
        ("divide", sp.Sum(S.w[S.t] ** 2 * DELTA, (S.t, 0, S.k - 1)) / TRUE),
    ]),
)


@settings(max_examples=25, deadline=None)
@given(mutation=MUTATIONS)
def test_mutated_true_claims_never_hold(mutation):
    kind, claim = mutation
    derivation = check_claim("toeplitz", claim)
    assert not derivation.holds, (kind, claim, derivation.summary())
    assert derivation.verdict in ("REFUTED", "NOT PROVED")


# ---- issue 11: bound variables, SymPy's Sum semantics (review of the all-sizes engine) ------
def _claim_symbols():
    from symconv.general.claims import symbols_for
    return symbols_for("toeplitz")


def _normal_entry(S):
    u = S.i - S.j * S.s + S.p
    return sp.Piecewise((S.w[u], (u >= 0) & (u <= S.k - 1)), (0, True))


def test_flattening_products_of_sums_renames_bound_variables_apart():
    from symconv.general.claims import normal_form
    S = _claim_symbols()
    product = sp.Sum(sp.KroneckerDelta(S.t, S.i), (S.t, 0, S.k - 1)) * sp.Sum(S.w[S.t], (S.t, 0, S.k - 1))
    result = normal_form(product, {})
    # the true value is [0 ≤ i ≤ k−1]·Σ_t w[t], never k·w[i]·[…]
    assert not result.has(S.w[S.i])
    assert isinstance(result, sp.Sum) and result.function.has(sp.Indexed)


def test_captured_bound_variable_claim_is_not_proved():
    from symconv.general import check_claim
    S = _claim_symbols()
    A = sp.Sum(sp.KroneckerDelta(S.t, S.i), (S.t, 0, S.k - 1))
    extra = A * sp.Sum(S.w[S.t], (S.t, 0, S.k - 1)) - A * sp.Sum(S.w[S.i], (S.t, 0, S.k - 1))
    claim = _normal_entry(S) + sp.Piecewise((1, S.n >= 10**9), (0, True)) * extra
    result = check_claim("toeplitz", claim, assume={"d": 1})
    assert not result.holds
    assert any("beyond the largest scanned size" in note for note in result.notes)
    assert check_claim("toeplitz", _normal_entry(S), assume={"d": 1}).holds


def test_multi_limit_sum_reads_first_limit_innermost():
    from symconv.general import check_claim
    S = _claim_symbols()
    claim = _normal_entry(S) + sp.Sum(1, (S.t, 0, S.i), (S.i, 0, 0)) - sp.Sum(1, (S.t, 0, S.i), (S.j, 0, 0))
    assert not check_claim("toeplitz", claim, assume={"d": 1}).holds


def test_reversed_limits_are_refused():
    from symconv.general import check_claim
    S = _claim_symbols()
    claim = _normal_entry(S) + sp.Sum(sp.KroneckerDelta(S.t, S.i), (S.t, S.i + 1, S.i - 1))
    with pytest.raises(SpecError, match="entry=.*reversed"):
        check_claim("toeplitz", claim, assume={"d": 1})


def test_summation_variable_named_like_an_assumption():
    from symconv.general import check_claim
    S = _claim_symbols()
    claim = sp.Sum(S.w[S.d] * sp.KroneckerDelta(S.i, S.d + S.j * S.s - S.p), (S.d, 0, S.k - 1))
    assert check_claim("toeplitz", claim, assume={"d": 1}).holds


def test_undecidable_side_conditions_respect_the_deadline():
    from symconv.general import check_claim
    S = _claim_symbols()
    n, k, s, p, q, i = S.n, S.k, S.s, S.p, S.q, S.i
    extra = 0
    for c in range(12):
        u = sp.Symbol(f"u{c}", integer=True)
        b = (n * k - s * p * q + c) ** 2 + (n * n - k * s - 3) ** 2 * (p * q - k + c) ** 2 + 1
        extra += sp.Sum(sp.KroneckerDelta(u, sp.floor(i / b)) * sp.KroneckerDelta(n, 10**9 + c),
                        (u, 0, k - 1))
    started = time.perf_counter()
    result = check_claim("toeplitz", _normal_entry(S) + extra, assume={"d": 1}, deadline=2)
    assert not result.holds
    assert time.perf_counter() - started < 2 + 4  # one z3 query (≤ 2 s) may be running


def test_sympy_claims_are_bounded_in_expanded_size():
    from symconv.general import check_claim
    S = _claim_symbols()
    huge = (S.i + S.j + S.k + S.n + S.p + S.s + S.q + S.m) ** 16
    with pytest.raises(SpecError, match="entry=.*would expand to about .* terms"):
        check_claim("toeplitz", huge, deadline=5)


def test_true_claim_with_shadowed_outer_limit_is_not_refuted():
    from symconv.general import check_claim
    S = _claim_symbols()
    # SymPy: the first limit is innermost, the outer sum over t (0 … 0) only repeats it once
    claim = sp.Sum(S.w[S.t] * sp.KroneckerDelta(S.i, S.t + S.j * S.s - S.p), (S.t, 0, S.k - 1), (S.t, 0, 0))
    result = check_claim("toeplitz", claim, assume={"d": 1})
    assert result.failure is None or result.failure.counterexample is None


def test_canonical_forms_refuse_huge_expansions():
    from symconv.general.evaluate import LimitExceeded
    from symconv.general.expr import same
    symbols = sp.symbols("a:9")
    started = time.perf_counter()
    with pytest.raises(LimitExceeded, match="would expand to about"):
        same(sp.Add(*symbols) ** 16, 0)
    assert time.perf_counter() - started < 5


# ---- round 2 (reports/adv-general-2.md): binder hygiene, SymPy's folding, evaluation ----------
from symconv.general.claims import normal_form, reference_entry  # noqa: E402
from symconv.general.evaluate import Unsupported  # noqa: E402
from symconv.general.expr import Iverson, canonical, hygienic, substitute  # noqa: E402

GUARD = "Piecewise((1, n >= 1000), (0, True))"
T_TEXT = "Sum(w[t]*KroneckerDelta(i, s*j + d*t - p), (t, 0, k - 1))"


def test_sibling_sum_binder_is_not_captured_by_delta_elimination():
    """Finding 1: Σ_t δ(t, j)·([Σ_t j ≥ 2] − [Σ_t t ≥ 2]) is [2j ≥ 2] − 0 ≠ 0 from n ≥ 1000."""
    claim = (f"{T_TEXT} + {GUARD} * Sum(KroneckerDelta(t, j), (t, 0, n)) * (Piecewise((1, Sum(j, "
             "(t, 0, 1)) >= 2), (0, True)) - Piecewise((1, Sum(t, (t, 0, 1)) >= 2), (0, True)))")
    assert check_claim("toeplitz", claim, instances=5).verdict != "PROVED"
    t, j = S.t, S.j
    e = sp.Sum(sp.KroneckerDelta(t, j), (t, 0, 9)) * (Iverson(sp.Sum(j, (t, 0, 1)) >= 2)
                                                        - Iverson(sp.Sum(t, (t, 0, 1)) >= 2))
    assert evaluate(normal_form(e, {}), Env({j: 5})) == 1 == evaluate(e, Env({j: 5}))


def test_delta_to_an_empty_sum_is_not_folded_by_sympy():
    """Finding 2: δ(j, −Σ_{t=j}^{j−1} 1/3) is δ(j, 0), 1 at j = 0; SymPy folded it to 0."""
    claim = f"{T_TEXT} + {GUARD} * KroneckerDelta(j, Piecewise((Sum(-1/3, (t, j, j - 1)), n > 0), (0, True)))"
    assert check_claim("toeplitz", claim, instances=5).verdict != "PROVED"
    k, n, j, u = S.k, S.n, S.j, U
    e = sp.KroneckerDelta(-k**2 + bracket(1, k >= n),
                          bracket(sp.Sum(sp.Rational(-1, 3), (u, j, j - 1)), sp.Ne(n, -1)))
    env = Env({n: 7, k: 0, j: -6})
    assert evaluate(canonical(e), env) == 1 == evaluate(e, env)


def test_user_binder_named_like_a_canonical_bound_variable_is_not_captured():
    """Finding 3: a user's bound variable named _b0 is not canonical's position-0 variable."""
    a, c = sp.Symbol("a", integer=True), sp.Symbol("_b0", integer=True)
    x = sp.Sum(Iverson(sp.Sum(c - a, (c, 0, 1)) >= 0), (a, 0, 1)) - sp.Sum(1, (a, 0, 1))
    assert evaluate(canonical(x), Env({})) == -1 == evaluate(x, Env({}))
    claim = reference_entry("toeplitz", 1) + Iverson(S.n >= 1000) * x
    assert check_claim("toeplitz", claim, instances=5).verdict != "PROVED"
    layer = Layer(1)
    p = Iverson(sp.Sum(Iverson(sp.Sum(c - a, (c, 0, 1)) >= 0), (a, 0, 1)) >= 2)  # 0
    q = Iverson(sp.Sum(1, (a, 0, 1)) >= 2)  # 1
    entry = layer.entry() * (1 + Iverson(layer.n[0] >= 1000) * (p - q))
    assert prove_general("toeplitz", entry=entry).verdict != "PROVED"


def test_substitution_and_hygiene_respect_binders():
    t, j = S.t, S.j
    assert substitute(sp.Sum(j, (t, 0, 1)) + t, {t: j}).doit() == 3 * j
    assert substitute(sp.Sum(t, (t, 0, 1)), {t: j}) == sp.Sum(t, (t, 0, 1))
    e = hygienic(sp.Sum(t, (t, 0, 1)) * sp.Sum(sp.Sum(t, (t, 0, j)), (t, 0, 1)) + t)
    binders = [l[0] for s in e.atoms(sp.Sum) for l in s.limits]
    assert len(set(binders)) == len(binders) == 3 and t not in binders and t in e.free_symbols


def test_mod_by_zero_refutes_with_a_counterexample():
    """Finding 4: Mod(k, n − 5) at n = 5 is undefined: REFUTED, not a ZeroDivisionError."""
    derivation = check_claim("toeplitz", f"{T_TEXT} + Mod(k, n - 5)", assume={"n": 5})
    assert derivation.verdict == "REFUTED" and "modulo by zero" in derivation.summary()
    with pytest.raises(EvaluationError, match="modulo by zero"):
        evaluate(sp.Mod(S.k, S.n - 5, evaluate=False), Env({S.k: 3, S.n: 5}))


def test_a_numeric_sum_in_a_guard_is_not_a_type_error():
    """Finding 5: [Σ_a 1 ≥ 2] in a user's entry (= 1) ends PROVED or NOT PROVED, no TypeError."""
    a = sp.Symbol("a", integer=True)
    entry = Layer(1).entry() * bracket(1, sp.Sum(1, (a, 0, 1)) >= 2)
    assert prove_general("toeplitz", entry=entry).verdict in ("PROVED", "NOT PROVED")
    from symconv.general.arith import implied
    assert implied(sp.Sum(1, (a, 0, 1)) - 2, [])[0] is False  # not decided, never guessed


@pytest.mark.parametrize("extra", ["ceiling(n/2) - (n + 1)//2", "Abs(n) - n", "Max(n, 0) - n"])
def test_true_claims_with_ceiling_abs_max_are_not_refuted(extra):
    """Finding 6: ceiling, Abs, Max are evaluated exactly; these true claims are not REFUTED."""
    assert check_claim("toeplitz", f"{T_TEXT} + {extra}", instances=5).verdict != "REFUTED"


def test_ceiling_abs_evaluate_exactly_and_unsupported_nodes_refute_nothing():
    n = S.n
    for value in range(-7, 8):
        env = Env({n: value})
        assert evaluate(sp.ceiling(sp.Rational(1, 3) * n), env) == -((-value) // 3)
        assert evaluate(sp.Abs(n - 2), env) == abs(value - 2)
    with pytest.raises(Unsupported):
        evaluate(sp.sin(n), Env({n: 1}))
    assert issubclass(Unsupported, LimitExceeded) and not issubclass(Unsupported, EvaluationError)


_J, _N = sp.symbols("j n", integer=True)
_T, _V = sp.symbols("t v", integer=True)


@st.composite
def _expressions(draw, depth=3):
    """Small trees with nested and sibling sums over the same two names, brackets over sums
    and δ factors (limits with hi ≥ lo − 1, so SymPy's doit agrees with the evaluator)."""
    leaves = st.sampled_from([_J, _N, _T, _V, sp.Integer(0), sp.Integer(1), sp.Integer(2), sp.Integer(-1)])
    if depth == 0:
        return draw(leaves)
    kind = draw(st.sampled_from(["leaf", "sum", "sum", "delta", "bracket", "piecewise", "add", "mul"]))
    sub = _expressions(depth - 1)
    if kind == "leaf":
        return draw(leaves)
    if kind == "sum":
        v = draw(st.sampled_from([_T, _V]))
        return sp.Sum(draw(sub), (v, 0, draw(st.sampled_from([sp.Integer(1), sp.Integer(2), _N]))))
    if kind == "delta":
        return sp.KroneckerDelta(draw(sub), draw(sub))
    if kind == "bracket":
        return Iverson(sp.Ge(draw(sub), draw(sub)))
    if kind == "piecewise":
        return bracket(draw(sub), sp.Ge(draw(sub), draw(sub)))
    a, b = draw(sub), draw(sub)
    return a + b if kind == "add" else a * b


@settings(max_examples=60, deadline=None, derandomize=True)  # fixed examples: bounded time in CI
@given(_expressions(), st.integers(-3, 3), st.integers(0, 3), st.integers(-2, 3), st.integers(-2, 3))
def test_canonical_and_normal_form_keep_the_value(e, j, n, t, v):
    """canonical(E) and normal_form(E) evaluate to E's value (and SymPy's doit agrees with the
    evaluator on E) at random integer points: no capture, no shadowing, no folding."""
    env = Env({_J: j, _N: n, _T: t, _V: v})
    value = evaluate(e, env)
    if not e.has(Iverson):  # SymPy's subs respects bound variables
        assert sp.sympify(e).subs({_J: j, _N: n, _T: t, _V: v}).doit() == value
    assert evaluate(canonical(e), env) == value
    assert evaluate(normal_form(e, {}), env) == value


def test_a_sum_inside_a_summation_bound_is_not_captured_by_canonical_names():
    """Adversarial round 3: canonical gave the Sum in a bound the name of the outer limit it
    refers to, so Σ_a Σ_{u ≤ Σ_x a} 1 (= k²) and Σ_a Σ_{u ≤ Σ_x x} 1 (= 2k) had one form."""
    from symconv.general.expr import same
    from symconv.general.setting import Layer
    k = Layer(1).k[0]
    a, x, u = sp.symbols("a x u", integer=True)
    first = sp.Sum(1, (u, 0, sp.Sum(a, (x, 0, 1))), (a, 0, k - 1))
    second = sp.Sum(1, (u, 0, sp.Sum(x, (x, 0, 1))), (a, 0, k - 1))
    assert not same(first, second)
    assert same(first, first.xreplace({x: sp.Symbol("y", integer=True)}))


def test_user_expressions_with_a_sum_in_a_summation_bound_are_refused():
    """The same construction hidden behind n ≥ 10¹² (beyond every instance) is refused by name
    through prove_general(entry=) and check_claim, never PROVED."""
    from symconv.general import check_claim, prove_general
    from symconv.general.claims import reference_entry
    from symconv.general.expr import Iverson
    from symconv.general.setting import Layer
    layer = Layer(1)
    k, n = layer.k[0], layer.n[0]
    a, x, u = sp.symbols("a x u", integer=True)
    guard = Iverson(n >= 10**12)
    delta = sp.KroneckerDelta(sp.Sum(guard, (u, 0, sp.Sum(a, (x, 0, 1))), (a, 0, k - 1)),
                              sp.Sum(guard, (u, 0, sp.Sum(x, (x, 0, 1))), (a, 0, k - 1)))
    rule = "has a Sum inside a summation bound"
    with pytest.raises(SpecError, match=rule):
        prove_general("toeplitz", entry=layer.entry() * delta)
    with pytest.raises(SpecError, match=rule):
        check_claim("toeplitz", reference_entry("toeplitz", 1) * delta)


def test_a_goal_with_a_non_polynomial_atom_gets_no_slack_certificate():
    """arith's slack certificate refuses (no PolynomialError) a goal with Mod of its variables."""
    from symconv.general.arith import certificate
    k = sp.Symbol("k", integer=True)
    ok, reason = certificate(k - 1 + sp.Mod(k, 2), [k - 1])
    assert not ok and reason.endswith("is not a polynomial in its variables")
