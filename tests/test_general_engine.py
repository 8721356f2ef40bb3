"""The derivation engine: canonical form, rules and their side conditions, the exact evaluator,
arithmetic certificates, and immunity to the SymPy traps of DESIGN.md."""

from __future__ import annotations

import random

import pytest
import sympy as sp

import symconv
from symconv.general import rules
from symconv.general.arith import implied
from symconv.general.derivation import Prover
from symconv.general.evaluate import Env, EvaluationError, array_tensor, evaluate
from symconv.general.expr import Iverson, canonical, in_range, integer_symbols, same
from symconv.general.setting import ConvSetting, Layer

i, j, k, n, t, u, a, b, c = integer_symbols("i j k n t u a b c")
w, x = sp.IndexedBase("w"), sp.IndexedBase("x")


# ---- canonical form -----------------------------------------------------------------------
def test_same_is_alpha_equivalence_and_linearity():
    left = sp.Sum(sp.Sum(w[t] * sp.KroneckerDelta(i, j + t), (t, 0, k - 1)) * x[i], (i, 0, n - 1))
    right = sp.Sum(x[a] * sp.Sum(w[b] * sp.KroneckerDelta(b + j, a), (b, 0, k - 1)), (a, 0, n - 1))
    assert same(left, right)
    assert same(2 * sp.Sum(w[t] + x[t], (t, 0, k - 1)),
                sp.Sum(w[t], (t, 0, k - 1)) + sp.Sum(2 * x[t] + w[t], (t, 0, k - 1)))
    assert same(in_range(u, 0, n - 1), sp.Piecewise((1, (u >= 0) & (u < n)), (0, True)))


@pytest.mark.parametrize("other", [
    sp.Sum(sp.Sum(w[t] * sp.KroneckerDelta(i, j + t + 1), (t, 0, k - 1)) * x[i], (i, 0, n - 1)),
    sp.Sum(sp.Sum(w[t] * sp.KroneckerDelta(i, j + t), (t, 0, k - 2)) * x[i], (i, 0, n - 1)),
    sp.Sum(sp.Sum(w[k - 1 - t] * sp.KroneckerDelta(i, j + t), (t, 0, k - 1)) * x[i], (i, 0, n - 1)),
])
def test_same_rejects_different_expressions(other):
    left = sp.Sum(sp.Sum(w[t] * sp.KroneckerDelta(i, j + t), (t, 0, k - 1)) * x[i], (i, 0, n - 1))
    assert not same(left, other)


def test_sum_order_is_not_silently_exchanged():
    """Reordering sums needs the rule 'exchange of finite sums' (which checks the bounds)."""
    assert not same(sp.Sum(w[a, b], (a, 0, n - 1), (b, 0, k - 1)),
                    sp.Sum(w[a, b], (b, 0, k - 1), (a, 0, n - 1)))
    assert same(rules.exchange(sp.Sum(w[a, b], (a, 0, n - 1), (b, 0, k - 1)), (b, a)),
                sp.Sum(w[a, b], (b, 0, k - 1), (a, 0, n - 1)))


def test_simplify_is_never_called(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("simplify used as a decision procedure")
    monkeypatch.setattr(sp, "simplify", forbidden)
    monkeypatch.setattr(sp.Basic, "simplify", forbidden, raising=False)
    assert symconv.prove_general("toeplitz", dims=1).holds
    assert symconv.prove_general("circulant", dims=1).holds


def test_summation_dummies_are_integer_only():
    """DESIGN.md trap: Sum.change_index drops conditions for nonnegative=True dummies."""
    for theorem in ("toeplitz", "im2col", "transpose", "circulant"):
        derivation = symconv.prove_general(theorem, dims=2)
        for step in derivation.steps:
            for s in sp.sympify(step.rhs).atoms(sp.Sum):
                for v, _, _ in s.limits:
                    assert v.is_integer is True and v.is_nonnegative is None, (theorem, v)


# ---- rules: side conditions -----------------------------------------------------------------
def test_exchange_refuses_dependent_bounds():
    triangle = sp.Sum(w[a, b], (a, 0, n - 1), (b, 0, a))
    with pytest.raises(rules.RuleError, match="depends"):
        rules.exchange(triangle, (b, a))


def test_delta_elimination_and_its_side_conditions():
    expr = sp.Sum(sp.KroneckerDelta(i, j + 2 * t) * x[i], (i, 0, n - 1))
    assert same(rules.delta_elimination(expr, (i,)), in_range(j + 2 * t, 0, n - 1) * x[j + 2 * t])
    # the SymPy reference on the same sum: doit() gives the zero-padding Piecewise
    reference = sp.Sum(sp.KroneckerDelta(i, j) * x[i], (i, 0, n - 1)).doit()
    assert same(rules.delta_elimination(sp.Sum(sp.KroneckerDelta(i, j) * x[i], (i, 0, n - 1)), (i,)),
                reference)
    with pytest.raises(rules.RuleError, match="coefficient"):
        rules.delta_elimination(sp.Sum(sp.KroneckerDelta(2 * i, j) * x[i], (i, 0, n - 1)), (i,))
    with pytest.raises(rules.RuleError, match="no sum"):
        rules.delta_elimination(x[i], (i,))


def test_mixed_radix_checks_the_range_and_the_radices():
    expr = sp.Sum(x[c] * sp.KroneckerDelta(sp.floor(c / k), j), (c, 0, n * k - 1))
    split = rules.mixed_radix(expr, c, (a, b), (n, k), atoms=[n - 1, k - 1])
    assert same(split, sp.Sum(x[a * k + b] * sp.KroneckerDelta(a, j), (a, 0, n - 1), (b, 0, k - 1)))
    with pytest.raises(rules.RuleError, match="range"):
        rules.mixed_radix(sp.Sum(x[c], (c, 0, n * k)), c, (a, b), (n, k), atoms=[n - 1, k - 1])
    with pytest.raises(rules.RuleError, match="radix"):
        rules.mixed_radix(expr, c, (a, b), (n, k), atoms=[n - 1])


def test_zero_extension_needs_the_range_of_every_axis():
    xt = sp.IndexedBase("xt")
    ok = rules.zero_extension(x[c, u] * in_range(u, 0, n - 1), x, xt, (n,))
    assert ok == xt[c, u]
    with pytest.raises(rules.RuleError, match="range condition"):
        rules.zero_extension(x[c, u] * in_range(u, 0, n - 2), x, xt, (n,))


def test_discharge_uses_hypotheses_and_summation_ranges():
    G, g = integer_symbols("G g")
    assert rules.discharge(in_range(g, 0, G - 1) * x[g], [g, G - 1 - g]) == x[g]
    assert same(rules.discharge(sp.Sum(in_range(t, 0, k - 1) * w[t], (t, 0, k - 1)), []),
                sp.Sum(w[t], (t, 0, k - 1)))
    with pytest.raises(rules.RuleError, match="does not follow"):
        rules.discharge(in_range(g, 0, G - 1) * x[g], [g])


def test_implied_certificates():
    s, d, m, F = integer_symbols("s d m F")
    assert implied(s * j + d * t, [s - 1, d - 1, j, t])[0]
    assert not implied(s * j - d * t, [s - 1, d - 1, j, t])[0]
    ok, note = implied(n - 1 - j, [m - 1 - j, n - m])  # a linear combination of two atoms
    assert ok and "Fourier" in note
    assert implied(n - j, [m - 1 - j])[0] is False
    assert implied(s * n - 1 - j, [m - 1 - j, n - m, s - 1])[0] is False  # nonlinear: elimination
    assert implied(n - 1 - j, [m - 1 - j, n - m], [(j, m - 1 - j), (n, n - m)])[0]


# ---- the exact evaluator ----------------------------------------------------------------------
def test_evaluator_agrees_with_sympy_doit_on_concrete_sums():
    rng = random.Random(3)
    for _ in range(20):
        values = {n: rng.randint(1, 5), j: rng.randint(-2, 6), k: rng.randint(1, 4)}
        array = [rng.randint(-5, 5) for _ in range(values[n])]
        expr = sp.Sum(sp.Sum(sp.KroneckerDelta(i, j + t) * x[i], (i, 0, n - 1)), (t, 0, k - 1))
        ours = evaluate(expr, Env(dict(values), {"x": array_tensor("x", __import__("numpy").array(array))}))
        concrete = expr.xreplace(values).doit().xreplace(
            {x[q]: array[q] for q in range(values[n])})
        assert ours == int(concrete)


def test_evaluator_never_wraps_negative_indices():
    import numpy as np
    env = Env({i: -1}, {"x": array_tensor("x", np.arange(3))})
    with pytest.raises(EvaluationError, match="outside"):
        evaluate(x[i], env)
    assert evaluate(in_range(i, 0, 2) * x[i], env) == 0  # guards are evaluated first


def test_floor_and_mod_are_exact():
    env = Env({a: -7, b: 3})
    assert evaluate(sp.floor(a / b), env) == -3 and evaluate(sp.Mod(a, b), env) == 2


# ---- concrete checks guard the rules themselves -----------------------------------------------
def test_a_wrong_rule_is_caught_by_the_concrete_check():
    layer = Layer(1)
    setting = ConvSetting(layer)
    lhs = layer.fc_output[layer.row()]
    prover = Prover("broken", 1, "a rule with a bug", setting, lhs, layer.output_vector[layer.row()],
                    instances=20)
    definition = setting.definitions["Tx"]
    # off-by-one in a rule implementation: its result is used without a target
    prover.step("definition of the matrix product", "buggy",
                lambda e: rules.unfold(e, definition).xreplace({layer.n_in - 1: layer.n_in - 2}))
    derivation = prover.finish([])
    assert not derivation.holds
    assert derivation.failure.rule == "definition of the matrix product"
    assert derivation.failure.counterexample is not None


def test_iverson_evaluates_only_on_decided_conditions():
    assert Iverson(sp.true) == 1 and Iverson(sp.false) == 0
    assert isinstance(Iverson(sp.Ge(n, 1)), Iverson)
    assert canonical(Iverson(sp.Ge(n, n))) == 1
