"""Soundness of the symbolic rules of the all-sizes engine (issue 11, "PROVED must mean proved").

Integer shifts of brackets, Kronecker-delta elimination and the division/exponent rules hold
only under integrality conditions; each is a checked side condition (``arith.integer_valued``),
and every inequality side condition is decided by a certificate *and* by z3 (``smt``).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symconv
import symconv.general as G
from symconv.general import arith, rules, smt
from symconv.general.dft import dft_symbols
from symconv.general.expr import Iverson, canonical, condition_atoms, in_range, relations, same
from symconv.general.rules import RuleError
from symconv.general.setting import Layer

n, m, i, j, k, s, u, a, b = sp.symbols("n m i j k s u a b", integer=True)
x = sp.Symbol("x")  # not an integer
w = sp.IndexedBase("w")
R = sp.Rational

# thresholds c (not integers) with [n > c] ≠ [n ≥ c + 1]: the naive shift made them one form
THRESHOLDS = [R(17, 2), R(7, 3), R(-5, 4), R(39, 10)]


def _bump(weight: sp.Expr, size: sp.Expr, c: sp.Rational) -> sp.Expr:
    """weight·([size > c] − [size ≥ c + 1]): nonzero where ⌈c⌉ ≤ size < c + 1."""
    return (sp.Piecewise((weight, size > c), (0, True))
            - sp.Piecewise((weight, size >= c + 1), (0, True)))


# ---- brackets with non-integer thresholds -------------------------------------------------------
@pytest.mark.parametrize("c", THRESHOLDS)
def test_strict_and_shifted_brackets_at_a_rational_threshold_differ(c):
    assert not same(Iverson(n > c), Iverson(n >= c + 1))
    assert same(Iverson(n > c), Iverson(n >= sp.ceiling(c)))      # the true integer form
    assert same(Iverson(n >= c), Iverson(n > sp.ceiling(c) - 1))
    assert not same(Iverson(n / 2 > c), Iverson(n / 2 - c - 1 >= 0))  # n/2 is no integer


@pytest.mark.parametrize("c", THRESHOLDS)
def test_a_claim_with_a_rational_threshold_is_not_proved(c):
    S = G.symbols_for("toeplitz")
    true = sp.Sum(S.w[S.t] * sp.KroneckerDelta(S.i, S.s * S.j + S.d * S.t - S.p), (S.t, 0, S.k - 1))
    derivation = G.check_claim("toeplitz", true + _bump(S.w[0], S.n, c))
    assert not derivation.holds and derivation.verdict in ("REFUTED", "NOT PROVED")
    assert derivation.failure.rule == "the claim"
    # positive control: the same brackets with the correct integer threshold are an identity
    fine = sp.Piecewise((S.w[0], S.n > c), (0, True)) - sp.Piecewise((S.w[0], S.n >= sp.ceiling(c)),
                                                                     (0, True))
    assert G.check_claim("toeplitz", true + fine).holds


def test_circulant_entry_with_a_rational_threshold_is_not_proved():
    layer = Layer(1, padding_mode="circular", same=True)
    entry = layer.entry() + _bump(layer.w[(layer.o, 0, 0)], layer.n[0], R(17, 2))
    derivation = symconv.prove_general("circulant", entry=entry)
    assert not derivation.holds
    assert "different canonical forms" in derivation.failure.reason


def test_dft_symbol_with_a_rational_threshold_is_not_proved():
    names = dft_symbols(1)
    layer = names.layer
    symbol = names.default + _bump(layer.w[(layer.o, 0, 0)], layer.n[0], R(17, 2))
    derivation = symconv.prove_general("dft", symbol=symbol)
    assert not derivation.holds
    assert derivation.failure.rule == "definition of the kernel's DFT"


def test_strict_relations_of_non_integers_stay_strict():
    assert relations(x > R(1, 2)) == [(x - R(1, 2), True)]
    assert relations(3 * w[0] >= R(1, 2)) == [(w[0] - R(1, 6), False)]
    assert not same(Iverson(x > 0), Iverson(x >= 0))
    assert not same(Iverson(w[0] > 1), Iverson(w[0] - 2 >= 0))
    assert not same(Iverson(n / m > 1), Iverson(n / m - 2 >= 0))  # n/m is not an integer
    with pytest.raises(ValueError, match="not an integer"):
        condition_atoms(x > 0)
    assert set(condition_atoms(sp.And(n > R(17, 2), 3 * n <= 31))) == {10 - n, n - 9}


def test_floor_and_mod_of_integers_are_integers_only_with_a_positive_divisor():
    assert arith.integer_valued(sp.floor(u / 3)) and arith.integer_valued(sp.Mod(u, 3))
    assert arith.integer_valued(sp.Mod(u, n), [n - 1])
    assert not arith.integer_valued(sp.Mod(u, n))
    assert not arith.integer_valued(sp.Mod(u / 2, 3))
    assert not arith.integer_valued(w[u]) and not arith.integer_valued(x)
    assert not arith.integer_valued(sp.Symbol("y", positive=True))  # SymPy infers nothing here
    assert arith.integer_valued(Iverson(x > 0) * sp.KroneckerDelta(x, 1))


# ---- Kronecker-delta elimination ------------------------------------------------------------------
@pytest.mark.parametrize("value", [i / 2, (i + 1) / 3, s * j / 2, i / 2 + j, w[0], x])
def test_delta_elimination_at_a_non_integer_solution_does_not_fire(value):
    with pytest.raises(RuleError, match="not integer-valued"):
        rules.delta_elimination(sp.Sum(sp.KroneckerDelta(u, value) * w[u], (u, 0, k - 1)), (u,))


def test_delta_elimination_at_an_integer_solution_fires():
    for value in (i, 2 * i - s * j, sp.floor(i / 2)):
        result = rules.delta_elimination(sp.Sum(sp.KroneckerDelta(u, value) * w[u], (u, 0, k - 1)), (u,))
        assert same(result, in_range(value, 0, k - 1) * w[value])
    # u mod n is an integer when n ≥ 1, which the nonempty range 0 ≤ u ≤ n − 1 gives
    mod = sp.Mod(i, n)
    assert same(rules.delta_elimination(sp.Sum(sp.KroneckerDelta(u, mod) * w[u], (u, 0, n - 1)), (u,)),
                in_range(mod, 0, n - 1) * w[mod])
    with pytest.raises(RuleError, match="not integer-valued"):
        rules.delta_elimination(sp.Sum(sp.KroneckerDelta(u, mod) * w[u], (u, 0, k - 1)), (u,))
    with pytest.raises(RuleError, match="not integer-valued"):  # a rational bound
        rules.delta_elimination(sp.Sum(sp.KroneckerDelta(u, i) * w[u], (u, 0, k / 2)), (u,))


def test_a_claim_built_on_delta_elimination_at_a_half_is_not_proved():
    S = G.symbols_for("toeplitz")
    true = sp.Sum(S.w[S.t] * sp.KroneckerDelta(S.i, S.s * S.j + S.d * S.t - S.p), (S.t, 0, S.k - 1))
    half = S.i / 2
    wrong = true + sp.Sum(sp.KroneckerDelta(S.t, half) * S.w[S.t], (S.t, 0, S.k - 1)) \
        - sp.Piecewise((S.w[half], sp.And(half >= 0, half <= S.k - 1)), (0, True))
    assert not G.check_claim("toeplitz", wrong).holds


def test_a_claimed_padding_map_with_non_integer_values_is_not_eliminated():
    one = Layer(1)
    source = sp.Piecewise((0, one.u[0] < 0), (one.n[0] - 1, one.u[0] >= one.n[0]), (one.u[0] / 2, True))
    derivation = symconv.prove_general("toeplitz", padding_mode="replicate", source=source)
    assert not derivation.holds
    assert "not integer-valued" in derivation.failure.reason


# ---- division, remainders, roots of unity ---------------------------------------------------------
def test_division_rules_need_integer_values():
    z = sp.Symbol("z")
    atoms = [n - 1, u, n - 1 - u]
    half = sp.Mod(u / 2, n)
    with pytest.raises(RuleError, match="integer-valued"):
        rules.remainder_bounds(in_range(half, 0, n - 1) * z ** half, atoms)
    with pytest.raises(RuleError, match="not integer-valued"):
        rules.mixed_radix(sp.Sum(w[u], (u, 0, n / 2 - 1)), u, (a, b), (n / 2, sp.Integer(1)), atoms)
    with pytest.raises(RuleError, match="not integer-valued"):
        rules.unit_order(z, [sp.Eq(z ** (n / 2), 1)], atoms)
    with pytest.raises(RuleError, match="not an integer"):
        rules.periodicity(z ** (u / 2 + n), [z], [sp.Eq(z ** n, 1)], atoms)
    with pytest.raises(RuleError, match="not an integer"):
        rules.exponent_split(z ** (u + j), {z: j / 2}, [sp.Eq(z ** n, 1)], atoms)


# ---- the two decision procedures ------------------------------------------------------------------
def _satisfies(model: dict, goal: sp.Expr, atoms) -> bool:
    values = {sym: model[str(sym)] for e in (goal, *atoms) for sym in e.free_symbols}
    return all(h.xreplace(values) >= 0 for h in atoms) and goal.xreplace(values) < 0


def test_a_false_side_condition_is_refuted_by_z3_with_its_counterexample():
    goal, atoms = n - 1 - j, [n - 1, j]
    ok, why = arith.implied(goal, atoms)
    assert not ok and "z3: counterexample" in why
    answer = smt.check(goal, atoms)
    assert answer.status == smt.COUNTEREXAMPLE and _satisfies(answer.counterexample, goal, atoms)
    with pytest.raises(RuleError, match="z3: counterexample"):
        rules.discharge(in_range(j, 0, n - 1) * w[j], atoms)


def test_a_z3_counterexample_overrides_a_wrong_certificate(monkeypatch):
    monkeypatch.setattr(arith, "certificate", lambda goal, atoms, eliminate=(): (True, "forged"))
    ok, why = arith.implied(n - 5, [n])
    assert not ok and "forged" in why and "z3: counterexample" in why


def test_a_true_side_condition_is_proved_by_fourier_motzkin_and_by_z3():
    ok, why = arith.implied(n - 1 - j, [m - 1 - j, n - m])
    assert ok and "Fourier–Motzkin certificate" in why and why.endswith("z3: proved")
    ok, why = arith.implied(a - 1, [2 * a - 1])                   # rounding: 2a ≥ 1 ⟹ a ≥ 1
    assert ok and "Fourier" in why and "z3: proved" in why


def test_z3_alone_proves_what_has_no_certificate():
    ok, why = arith.implied(n * n - n, [])                          # n² ≥ n over ℤ
    assert ok and why.startswith("z3: proved (no certificate")
    assert not arith.certificate(n * n - n, [])[0]


def test_an_untranslatable_condition_needs_its_certificate():
    assert smt.check(w[0] + 1, [w[0]]).status == smt.UNTRANSLATABLE
    ok, why = arith.implied(w[0] + 1, [w[0]])
    assert ok and "z3: not translatable" in why
    assert not arith.implied(w[0] - 1, [w[0]])[0]
    # a hypothesis z3 cannot read is left out: its model is then no counterexample
    assert smt.check(n - 1, [n, w[0] - n]).status == smt.UNKNOWN


def test_a_non_integer_goal_gets_no_integer_rounding():
    assert arith.linear_certificate(n - R(1, 2), [n]) is None         # n = 0 breaks it
    ok, why = arith.implied(n - R(1, 2), [n])
    assert not ok and "z3: counterexample n = 0" in why
    assert arith.implied(n - R(1, 2), [n - 1])[0]                     # n ≥ 1 ⟹ n ≥ 1/2
    assert not arith.implied(x, [x + R(1, 2)])[0]


def test_bracket_shifts_are_cross_checked_by_z3():
    assert smt.equivalent((n - R(17, 2), True), (n - 9, False)).status == smt.PROVED
    wrong = smt.equivalent((n - R(17, 2), True), (n - 10, False))
    assert wrong.status == smt.COUNTEREXAMPLE and wrong.counterexample == {"n": 9}


# ---- property: canonical brackets are equal to the brackets they normalise ------------------------
coefficient = st.fractions(min_value=-3, max_value=3, max_denominator=4)
relation = st.tuples(coefficient, coefficient, coefficient, st.sampled_from([">", ">=", "<", "<="]))
GRID = list(itertools.product(range(-4, 5), repeat=2))


def _condition(rel) -> sp.Basic:
    ca, cb, c0, op = rel
    lhs = R(ca.numerator, ca.denominator) * a + R(cb.numerator, cb.denominator) * b
    rhs = -R(c0.numerator, c0.denominator)
    return {">": sp.Gt, ">=": sp.Ge, "<": sp.Lt, "<=": sp.Le}[op](lhs, rhs)


def _value(expr: sp.Basic, point) -> sp.Basic:
    return expr.xreplace({a: point[0], b: point[1]}).replace(
        lambda e: isinstance(e, Iverson), lambda e: sp.Integer(1 if e.args[0] else 0))


@settings(max_examples=120, deadline=None)
@given(relation, relation)
def test_same_canonical_brackets_agree_on_integer_points(first, second):
    one, two = Iverson(_condition(first)), Iverson(_condition(second))
    for point in GRID:
        assert _value(canonical(one), point) == _value(one, point)
    if same(one, two):
        assert all(_value(one, p) == _value(two, p) for p in GRID)


@settings(max_examples=80, deadline=None)
@given(coefficient, coefficient, coefficient)
def test_strict_and_non_strict_collapse_only_where_equality_never_holds(ca, cb, c0):
    e = R(ca.numerator, ca.denominator) * a + R(cb.numerator, cb.denominator) * b \
        + R(c0.numerator, c0.denominator)
    if e.is_number:
        return
    strict, loose = Iverson(e > 0), Iverson(e >= 0)
    if same(strict, loose):  # only when e = 0 has no integer solution
        assert all(e.xreplace({a: p, b: q}) != 0 for p, q in GRID)
    assert not same(Iverson(e + x > 0), Iverson(e + x >= 0))  # x real: never the same


def test_fractions_in_the_property_are_exact():
    assert _condition((Fraction(1, 2), Fraction(0), Fraction(-17, 4), ">")) == sp.Gt(a / 2, R(17, 4))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(coefficient, coefficient, coefficient), min_size=1, max_size=3),
       st.tuples(coefficient, coefficient, coefficient))
def test_an_implied_side_condition_holds_on_every_integer_point(atoms, goal):
    """implied's verdict (certificate and z3) is never wrong on rational linear atoms."""
    to_expr = lambda t: sum(R(c.numerator, c.denominator) * v  # noqa: E731
                            for c, v in zip(t, (a, b, sp.Integer(1))))
    hypotheses = [to_expr(t) for t in atoms]
    ok, why = arith.implied(to_expr(goal), hypotheses)
    satisfying = [p for p in GRID if all(h.xreplace({a: p[0], b: p[1]}) >= 0 for h in hypotheses)]
    if ok:
        assert all(to_expr(goal).xreplace({a: p, b: q}) >= 0 for p, q in satisfying), why
    elif "z3: counterexample" in why:
        model = smt.check(to_expr(goal), hypotheses).counterexample
        values = {a: model.get("a", 0), b: model.get("b", 0)}
        assert all(h.xreplace(values) >= 0 for h in hypotheses)
        assert to_expr(goal).xreplace(values) < 0


def test_a_derivation_step_names_the_procedure_of_its_side_conditions():
    """The mixed-radix step's side conditions (radices ≥ 1) are recorded with the procedure that
    established each: the certificate and z3 both, as the proof rules require."""
    import symconv
    steps = [s for s in symconv.prove_general("toeplitz", dims=1).steps
             if s.rule == "mixed-radix flattening bijection"]
    assert steps and all("side conditions: " in s.symbolic_detail for s in steps)
    assert "n - 1 ≥ 0: certificate and z3" in steps[0].symbolic_detail


# ---- issue 11: flattening sums never captures a variable; SymPy's order of limits ------------
def test_terms_renames_a_factors_bound_variable_apart():
    import sympy as sp

    from symconv.general import rules
    t, i, k = sp.symbols("t i k", integer=True)
    w = sp.IndexedBase("w")
    product = sp.Sum(sp.KroneckerDelta(t, i), (t, 0, k - 1)) * sp.Sum(w[t], (t, 0, k - 1))
    [(monomial, limits)] = rules.terms(product)
    assert len({v for v, _, _ in limits}) == 2
    captured = rules.terms(sp.Sum(w[i], (i, 0, k - 1)) * w[i])
    [(monomial, limits)] = captured
    assert limits[0][0] != i and monomial.has(w[i]) and monomial.has(w[limits[0][0]])
    # the eliminated form keeps Σ_t w[t] (true value), not k·w[i]
    [(monomial, limits)] = rules.terms(product)
    [delta] = monomial.atoms(sp.KroneckerDelta)
    [var] = delta.free_symbols - {i}
    eliminated = rules.delta_elimination(rules.from_terms([(monomial, limits)]), [var])
    assert not eliminated.has(w[i]) and isinstance(eliminated, sp.Sum)


def test_terms_lists_sympy_limits_outermost_first():
    import sympy as sp

    from symconv.general import rules
    t, i = sp.symbols("t i", integer=True)
    [(_, limits)] = rules.terms(sp.Sum(1, (t, 0, i), (i, 0, 3)))
    assert [v for v, _, _ in limits] == [i, t]
    assert rules.from_terms([(sp.Integer(1), limits)]) == sp.Sum(1, (t, 0, i), (i, 0, 3))


def test_evaluator_reads_the_first_limit_innermost():
    import sympy as sp

    from symconv.general.evaluate import Env, evaluate
    t, i = sp.symbols("t i", integer=True)
    e = sp.Sum(1, (t, 0, i), (i, 0, 3))
    assert evaluate(e, Env({})) == e.doit() == 10


def test_an_unknown_under_a_cut_timeout_is_not_remembered(monkeypatch):
    """z3's "unknown" from a query whose timeout a deadline cut short is asked again later with
    the full timeout (a cached "unknown" could only lose proofs, but it must not)."""
    from symconv.general import evaluate, smt
    n = sp.Symbol("n", integer=True)
    goal, atoms = n**3 - n, [n - 1]
    monkeypatch.setattr(evaluate, "remaining_seconds", lambda: 1e-6)
    first = smt.check(goal, atoms)
    monkeypatch.setattr(evaluate, "remaining_seconds", lambda: None)
    second = smt.check(goal, atoms)
    assert second.status == smt.PROVED
    if first.status == smt.UNKNOWN:
        assert "by the deadline" in first.detail
