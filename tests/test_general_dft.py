"""The DFT theorem for all sizes (circular padding, stride 1): its rules (division with
remainder, periodicity, exponent rule), the exact ring ℤ[X]/(X^n − 1), the agreement with
symconv.toeplitz and symconv.spectral, false variants refuted, LaTeX, CLI."""

from __future__ import annotations

import random

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symconv
from symconv.cli import main
from symconv.general import core, rules
from symconv.general.cyclic import CyclicElement
from symconv.general.dft import DFTSetting, dft_symbols
from symconv.general.evaluate import Env, EvaluationError, evaluate
from symconv.general.expr import in_range, integer_symbols, same
from symconv.general.rules import Definition, RuleError
from symconv.latex.build import compile_latex
from symconv.spectral import roots_of_unity

u, n, a, b, j = integer_symbols("u n a b j")
z = sp.Symbol("z")
ORDER = [sp.Eq(z ** n, 1)]
ATOMS = [n - 1]  # n ≥ 1

DFT_RULES = ["substitution of the entry formula", "hypotheses (stride 1)",
             "exchange of finite sums", "Kronecker-delta elimination",
             "division with remainder (range)", "division with remainder",
             "periodicity of the root of unity", "exponent rule", "definition of the kernel's DFT"]


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_dft_theorem_holds(dims):
    derivation = symconv.prove_general("dft", dims=dims)
    assert derivation.holds, derivation.summary()
    assert [s.rule for s in derivation.steps if s.part == "main"] == DFT_RULES
    for step in derivation.steps:
        assert step.symbolic is True and len(step.concrete) == derivation.instances
        assert all(check.ok for check in step.concrete)
    # the concrete values are ring elements, not numbers: every root of unity at once
    values = [c.lhs for s in derivation.steps if s.part == "main" for c in s.concrete]
    assert any(isinstance(v, CyclicElement) and len(v.terms) > 1 for v in values)
    assert derivation.core_checks[0].startswith("symconv.toeplitz")
    assert any(check.startswith("symconv.spectral") for check in derivation.core_checks)
    hypotheses = [str(h) for h in derivation.hypotheses]
    assert "Eq(z**n, 1)" in hypotheses if dims == 1 else "Eq(z_1**n_1, 1)" in hypotheses


# ---- false variants ------------------------------------------------------------------------
S = dft_symbols(1)
L, Z = S.layer, S.z[0]
d, t, p, s, i, jj = L.d[0], L.t[0], L.p[0], L.s[0], L.i[0], L.j[0]


def _entry(position):
    return sp.KroneckerDelta(sp.floor(L.c / L.Ci), L.g) * L.tap_sum(
        L.w[L.o, L.c - L.g * L.Ci, t] * sp.KroneckerDelta(i, position))


def _symbol(exponent):
    return sp.KroneckerDelta(sp.floor(L.c / L.Ci), L.g) * L.tap_sum(
        L.w[L.o, L.c - L.g * L.Ci, t] * Z ** exponent)


@pytest.mark.parametrize("name,options,rule", [
    ("zero padding", {"entry": _entry(s * jj + d * t - p)}, "division with remainder (range)"),
    ("wrong modulus", {"entry": _entry(sp.Mod(s * jj + d * t - p, L.n[0] + 1))},
     "division with remainder (range)"),
    ("wrong sign", {"symbol": _symbol(p - d * t)}, "definition of the kernel's DFT"),
    ("no shift", {"symbol": _symbol(d * t)}, "definition of the kernel's DFT"),
])
def test_false_variants_are_refuted(name, options, rule):
    derivation = symconv.prove_general("dft", **options)
    assert derivation.refuted, derivation.summary()
    assert derivation.failure.rule == rule
    example = derivation.failure.counterexample
    assert isinstance(example.lhs, CyclicElement) and example.lhs != example.rhs
    assert sp.expand(example.lhs_symbolic - example.rhs_symbolic) != 0
    assert all(step.ok for step in derivation.steps[:derivation.failure.step])


def test_default_symbol_is_the_theorem():
    assert symconv.prove_general("dft", symbol=S.default, instances=2).holds


# ---- the ring Z[X]/(X^n - 1) ---------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(st.integers(1, 8), st.lists(st.integers(-3, 3), min_size=1, max_size=6),
       st.lists(st.integers(-3, 3), min_size=1, max_size=6), st.integers(-9, 9))
def test_ring_is_evaluation_at_every_root(order, left, right, power):
    """X ↦ ζ is a homomorphism onto every n-th root of unity (n | 24: exact canonical roots)."""
    X = CyclicElement.generator((order,), 0)
    f = sum((c * X ** k for k, c in enumerate(left)), 0)
    g = sum((c * X ** k for k, c in enumerate(right)), 0)
    product = f * g * X ** power
    if 24 % order == 0:
        roots = roots_of_unity(order)
        for root in range(order):
            table = (tuple(roots[(root * e) % order] for e in range(order)),)
            value = f.evaluate_at(table) * g.evaluate_at(table) * roots[(root * power) % order]
            assert sp.expand(product.evaluate_at(table) - value) == 0
    assert X ** order == 1 and X ** -1 * X == 1


def test_ring_distinguishes_orders():
    X4, X2 = CyclicElement.generator((4,), 0), CyclicElement.generator((2,), 0)
    assert X2 ** 2 == 1 and X4 ** 2 != 1  # z² = 1 is false for a primitive 4th root
    with pytest.raises(ValueError):
        X4 + X2
    with pytest.raises(ZeroDivisionError):
        (1 + X4) ** -1
    env = Env({z: X4, n: 4, u: 6})
    assert evaluate(z ** sp.Mod(u, n), env) == evaluate(z ** u, env) == X4 ** 2
    assert evaluate(sp.Eq(z ** n, 1), env) is True


def test_evaluator_symbolic_exponents():
    assert evaluate(sp.Integer(2) ** (u - 3), Env({u: 1})) == sp.Rational(1, 4)
    with pytest.raises(EvaluationError, match="not an integer"):
        evaluate(z ** (u / 2), Env({z: 3, u: 1}))
    with pytest.raises(EvaluationError, match="no inverse"):
        evaluate(z ** u, Env({z: 0, u: -1}))


# ---- rules and their side conditions -------------------------------------------------------
def test_exponents_are_not_merged_silently():
    assert not same(z ** a * z ** b, z ** (a + b))
    assert same(rules.exponent_split(z ** (a + b), {z: a}, ORDER, ATOMS), z ** a * z ** b)
    with pytest.raises(RuleError, match="not a hypothesis"):
        rules.exponent_split(z ** (a + b), {z: a}, [], ATOMS)
    with pytest.raises(RuleError, match="not an integer"):
        rules.exponent_split(z ** (a / 2 + b), {z: b}, ORDER, ATOMS)
    with pytest.raises(RuleError, match="≥ 1"):
        rules.exponent_split(z ** (a + b), {z: a}, ORDER, [])


def test_division_with_remainder_rules():
    mod = sp.Mod(u, n)
    assert rules.remainder_bounds(in_range(mod, 0, n - 1) * z ** mod, ATOMS) == z ** mod
    with pytest.raises(RuleError, match="does not follow"):
        rules.remainder_bounds(in_range(mod, 0, n - 2) * z ** mod, ATOMS)
    with pytest.raises(RuleError, match="≥ 1"):
        rules.remainder_bounds(in_range(mod, 0, n - 1), [])
    assert same(rules.remainder(z ** mod, ATOMS), z ** (u - n * sp.floor(u / n)))
    with pytest.raises(RuleError, match="≥ 1"):
        rules.remainder(z ** mod, [])
    assert rules.integer_valued(sp.floor(u / n), ATOMS)
    assert not rules.integer_valued(sp.floor(u / n), [])
    assert not rules.integer_valued(u / n, ATOMS)


def test_periodicity_needs_the_order_and_an_integer_quotient():
    assert rules.periodicity(z ** (u - n * sp.floor(u / n)), [z], ORDER, ATOMS) == z ** u
    assert rules.periodicity(z ** (u + 3 * n * j), [z], ORDER, ATOMS) == z ** u
    with pytest.raises(RuleError, match="not a hypothesis"):
        rules.periodicity(z ** (u + n), [z], [], ATOMS)
    with pytest.raises(RuleError, match="no power"):  # n·u/2 is no multiple of n in ℤ
        rules.periodicity(z ** (u + 2 * n - 1), [z], [sp.Eq(z ** (2 * n), 1)], ATOMS)
    with pytest.raises(RuleError, match="not an integer"):
        rules.periodicity(z ** (u + n * u / 2), [z], ORDER, ATOMS)


# ---- agreement with the concrete core ------------------------------------------------------
def _setting(body):
    lam = Definition(S.Lambda, (((L.g, L.G), (L.h, L.Co)), ((L.c, None),)), body, "claimed")
    return DFTSetting(S, None, [L.out_size(0)], extra=(lam,))


def test_core_comparisons_reject_a_wrong_symbol():
    right, wrong = _setting(S.default), _setting(_symbol(p - d * t))
    rng = random.Random(5)
    problems = {"toeplitz": 0, "spectral": 0}
    for _ in range(12):
        good, instance = right.draw(rng), wrong.draw(rng)
        assert core.compare_dft(good, right) is None
        if core.spectral_applies(good, right):
            assert core.compare_spectral(good, right) is None
        problems["toeplitz"] += core.compare_dft(instance, wrong) is not None
        if core.spectral_applies(instance, wrong):
            problems["spectral"] += core.compare_spectral(instance, wrong) is not None
    assert problems["toeplitz"] > 0 and problems["spectral"] > 0


# ---- LaTeX and the command ------------------------------------------------------------------
def test_dft_latex_compiles(tex, xetex, tmp_path):
    source = symconv.prove_general("dft", dims=2).to_latex()
    for needed in (r"\Lambda(z)", r"\nu", r"z_{1}^{n_{1}} = 1", "periodicity of the root", "exponent rule"):
        assert needed in source, needed
    for engine in ("pdflatex", "xelatex"):
        assert compile_latex(source, tmp_path / f"{engine}.pdf", engine=engine).exists()


def test_nonlinear_notation_names_both_layers():
    plain = symconv.prove_general("nonlinear", instances=1).to_latex(standalone=False)
    assert r"\sigma(T^{(1)} \operatorname{vec} x)" in plain and r"T^{(2)}" in plain
    assert r"(T \operatorname{vec} x)" not in plain
    biased = symconv.prove_general("nonlinear", bias=True, instances=1).to_latex(standalone=False)
    assert r"b^{(1)} \otimes \mathbf{1}" in biased and r"b^{(2)} \otimes \mathbf{1}" in biased


def test_cli_dft(capsys):
    assert main(["general", "dft", "--dims", "2", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"theorem": "dft"' in out and '"holds": true' in out
    assert main(["general", "dft", "--claim", "w[t]"]) == 2
