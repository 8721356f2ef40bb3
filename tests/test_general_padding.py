"""All-sizes theorems for the padding modes circular, reflect and replicate: the conv layer is
the FC layer T whose entry reads src(u) (theorem "toeplitz", ``padding_mode=``), and T = T⁰·R
with R the 0/1 padding matrix (theorem "padding"); false padding maps are refuted."""

from __future__ import annotations

import itertools

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symconv
from symconv.general.arith import implied, linear_certificate
from symconv.general.setting import Layer
from symconv.general.theorems import source_in_range
from symconv.latex.build import compile_latex

from .test_general_theorems import _assert_fully_checked, _assert_refuted

MODES = ("circular", "reflect", "replicate")
L = Layer(1)
u, n = L.u[0], L.n[0]
FALSE_MAPS = {
    # reflect with the edge repeated (numpy's "symmetric"): in range, but not PyTorch's reflect
    "symmetric": ("reflect", sp.Piecewise((-u - 1, u < 0), (2 * n - 1 - u, u >= n), (u, True)),
                  "last"),
    # replicate clamped one too far: reads x[n] past the input
    "clamp to n": ("replicate", sp.Piecewise((0, u < 0), (n, u >= n), (u, True)), "padding map"),
    # replicate clamped one too early on the left
    "clamp from 1": ("replicate", sp.Piecewise((1, u < 1), (n - 1, u >= n), (u, True)), None),
    # circular wrap off by one on the left
    "wrap off by one": ("circular", sp.Piecewise((u + n - 1, u < 0), (u - n, u >= n), (u, True)),
                        None),
}


@pytest.mark.parametrize("mode,dims", [(m, d) for m in MODES for d in (1, 2)] + [("reflect", 3)])
def test_toeplitz_holds_for_every_padding_mode(mode, dims):
    derivation = symconv.prove_general("toeplitz", dims=dims, padding_mode=mode)
    _assert_fully_checked(derivation)
    lemmas = [s for s in derivation.steps if s.part == "padding map"]
    assert len(lemmas) == dims and all(s.quantified for s in lemmas)
    assert mode in derivation.title


@pytest.mark.parametrize("mode,dims", [(m, 1) for m in MODES] + [("replicate", 2)])
def test_padding_factorisation_holds(mode, dims):
    derivation = symconv.prove_general("padding", dims=dims, padding_mode=mode)
    _assert_fully_checked(derivation)
    assert "T = T0 R" in derivation.title
    assert any("T0 R" in check for check in derivation.core_checks)


@pytest.mark.parametrize("name", sorted(FALSE_MAPS))
@pytest.mark.parametrize("theorem", ["toeplitz", "padding"])
def test_false_padding_maps_are_refuted(theorem, name):
    mode, source, where = FALSE_MAPS[name]
    derivation = symconv.prove_general(theorem, dims=1, padding_mode=mode, source=source,
                                       instances=12)
    assert derivation.refuted, derivation.summary()
    example = derivation.failure.counterexample
    assert example.lhs != example.rhs and {"n", "p", "q"} <= set(example.values)
    if where == "padding map":
        assert derivation.failure.rule.startswith("padding map")
        assert example.values["u"] >= example.values["n"]
    elif where == "last":
        rule = ("definition of the convolution" if theorem == "toeplitz"
                else "substitution of the entry formula")
        _assert_refuted(derivation, rule)


def test_the_true_map_as_a_claim_is_proved():
    reflect = Layer(1, "reflect").source(0, u)
    assert symconv.prove_general("toeplitz", padding_mode="reflect", source=reflect).holds


def test_validity_hypotheses_are_needed():
    """reflect reads inside the input only for p, q ≤ n − 1 (circular wraps any u: u mod n)."""
    p, q = L.p[0], L.q[0]
    window = [u + p, n + q - 1 - u, n - 1, p, q]
    source = Layer(1, "reflect").source(0, u)
    assert source_in_range(source, n, window + [n - 1 - p, n - 1 - q])[0]
    assert not source_in_range(source, n, window)[0]
    assert not source_in_range(source, n, window + [n - p, n - q])[0]
    circular = Layer(1, "circular").source(0, u)
    assert source_in_range(circular, n, [n - 1])[0]


@pytest.mark.parametrize("bad", [dict(padding_mode="mirror"), dict(padding_mode="zeros", source=u)])
def test_bad_padding_options_are_spec_errors(bad):
    with pytest.raises(symconv.SpecError):
        symconv.prove_general("toeplitz", **bad)
    with pytest.raises(symconv.SpecError):
        symconv.prove_general("padding", padding_mode=bad["padding_mode"])


# ---- the linear certificates the padding lemmas use --------------------------------------------
a, b, c = sp.symbols("a b c", integer=True)


def test_linear_certificate_is_exact_and_refuses_false_goals():
    assert linear_certificate(a + b - 1, [a, b - 1])
    assert linear_certificate(2 * a - b, [a - b, a]) is not None
    assert linear_certificate(a - b, [a, b]) is None
    assert linear_certificate(a * b, [a, b]) is None  # nonlinear goals are not handled here
    assert implied(a - 1, [2 * a - 1])[0]  # over the integers: 2a ≥ 1 ⟹ a ≥ 1 needs rounding
    # (found because a ≤ 0 ∧ 2a − 1 ≥ 0 is already infeasible over the rationals)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-2, 2), st.integers(-2, 2), st.integers(-3, 3)),
                min_size=1, max_size=4),
       st.tuples(st.integers(-2, 2), st.integers(-2, 2), st.integers(-3, 3)))
def test_a_linear_certificate_is_never_wrong(atoms, goal):
    """Whenever a certificate is given, no integer point in a box violates the goal."""
    to_expr = lambda t: t[0] * a + t[1] * b + t[2]  # noqa: E731
    if linear_certificate(to_expr(goal), [to_expr(t) for t in atoms]) is None:
        return
    for x, y in itertools.product(range(-6, 7), repeat=2):
        if all(t[0] * x + t[1] * y + t[2] >= 0 for t in atoms):
            assert goal[0] * x + goal[1] * y + goal[2] >= 0


def test_padding_latex_compiles(tex, xetex, tmp_path):
    source = symconv.prove_general("padding", dims=2, padding_mode="reflect").to_latex()
    assert r"\operatorname{refl}" in source and "reflect padding map" in source
    for engine in ("pdflatex", "xelatex"):
        pdf = compile_latex(source, tmp_path / f"{engine}.pdf", engine=engine)
        assert pdf.read_bytes().startswith(b"%PDF")
    toeplitz = symconv.prove_general("toeplitz", padding_mode="replicate").to_latex()
    assert compile_latex(toeplitz, tmp_path / "t.pdf").exists()
