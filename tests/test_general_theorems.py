"""General (all-sizes) theorems: every theorem holds, false variants are refuted at the right
step with a concrete counterexample."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symconv
from symconv import SpecError
from symconv.general.setting import Layer
from symconv.general.theorems import network_symbols

RULES = {
    "definition of the matrix product", "mixed-radix flattening bijection", "definition of vec",
    "substitution of the entry formula", "exchange of finite sums", "Kronecker-delta elimination",
    "zero extension of the padded input", "hypotheses (range condition)",
    "definition of the convolution", "definition of the im2col product",
    "definition of the kernel matrix", "hypotheses (stride 1)", "congruence modulo n",
    "definition of the circulant generator", "definition of the transposed convolution",
    "theorem toeplitz (layer 2, input σ(y₁))", "σ acts elementwise",
    "theorem toeplitz (layer 1), congruence under σ", "definition of the FC network",
    "lemmas (padding map, output size)", "substitution of the entry formulas",
    "hypotheses and lemma (output size: window)", "definition of the bias (layer 1)",
    "definition of the bias (layer 2)",
}

CASES = ([(t, d, {}) for t in ("toeplitz", "im2col", "transpose", "circulant", "nonlinear")
          for d in (1, 2, 3)] + [("im2col", d, {"order": "paper"}) for d in (1, 2, 3)])


def _assert_fully_checked(derivation) -> None:
    assert derivation.holds, derivation.summary()
    assert derivation.failure is None
    assert derivation.core_checks or derivation.theorem == "nonlinear"
    for step in derivation.steps:
        assert step.rule in RULES or step.rule.startswith(("output size", "padding map")), step.rule
        assert step.justification
        assert step.symbolic is True
        assert len(step.concrete) == derivation.instances
        assert all(check.ok and check.lhs == check.rhs for check in step.concrete)


@pytest.mark.parametrize("theorem,dims,options", CASES,
                         ids=[f"{t}-{d}d{'-' + o['order'] if o else ''}" for t, d, o in CASES])
def test_theorem_holds(theorem, dims, options):
    derivation = symconv.prove_general(theorem, dims=dims, **options)
    _assert_fully_checked(derivation)
    assert derivation.dims == dims and derivation.theorem == theorem
    assert derivation.hypotheses and derivation.statement[0] != derivation.statement[1]


def test_main_chain_ends_at_statement():
    derivation = symconv.prove_general("toeplitz", dims=2)
    main = [s for s in derivation.steps if s.part == "main"]
    assert main[0].lhs == derivation.statement[0]
    assert main[-1].rhs == derivation.statement[1]
    for before, after in zip(main, main[1:]):
        assert before.rhs == after.lhs


@settings(max_examples=4, deadline=None)
@given(st.integers(0, 10_000))
def test_toeplitz_holds_for_any_seed(seed):
    _assert_fully_checked(symconv.prove_general("toeplitz", dims=1, seed=seed))


# ---- false variants --------------------------------------------------------------------------
def _entry(layer: Layer, weight_tap, position):
    """δ(⌊c/Ci⌋, g)·Σ_t w[o, c − g·Ci, weight_tap]·δ(i, position) in 1-D."""
    return sp.KroneckerDelta(sp.floor(layer.c / layer.Ci), layer.g) * layer.tap_sum(
        layer.w[layer.o, layer.c - layer.g * layer.Ci, weight_tap]
        * sp.KroneckerDelta(layer.i[0], position))


L = Layer(1)
t, k, s, d, p, j = L.t[0], L.k[0], L.s[0], L.d[0], L.p[0], L.j[0]
VARIANTS = {
    "off-by-one": _entry(L, t, s * j + d * t - p + 1),
    "flipped kernel": _entry(L, k - 1 - t, s * j + d * t - p),
    "stride on the wrong side": _entry(L, t, s * (j + t) - p),
}


def _assert_refuted(derivation, rule):
    assert not derivation.holds
    assert derivation.refuted and derivation.verdict == "REFUTED"
    failure = derivation.failure
    assert failure.rule == rule, str(failure)
    example = failure.counterexample
    assert example is not None
    if not example.error:
        assert example.lhs != example.rhs
    for name in ("n", "k", "s", "d", "p"):
        assert any(key == name or key.startswith(name + "_") for key in example.values)
    return example


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_false_entry_formula_is_refuted(name):
    derivation = symconv.prove_general("toeplitz", dims=1, entry=VARIANTS[name])
    example = _assert_refuted(derivation, "definition of the convolution")
    # the counterexample also carries the two values on symbolic tensor entries
    assert example.lhs_symbolic is not None and sp.expand(example.lhs_symbolic - example.rhs_symbolic) != 0
    # every step before the failing one was fully checked
    for step in derivation.steps[:derivation.failure.step]:
        assert step.ok


@pytest.mark.parametrize("wrong,rule", [
    (lambda n, p, q, d, k, s: sp.floor((n + p + q - d * (k - 1)) / s) + 1,
     "output size: window inside the padded input"),
    (lambda n, p, q, d, k, s: sp.floor((n + p + q - d * (k - 1) - 2) / s) + 1,
     "output size: maximality"),
    (lambda n, p, q, d, k, s: sp.floor((n + p + q - d * k) / s) + 1,  # too small when d > 1
     "output size: maximality"),
])
def test_wrong_output_size_is_refuted(wrong, rule):
    size = wrong(L.n[0], L.p[0], L.q[0], d, k, s)
    for theorem in ("toeplitz", "im2col"):
        example = _assert_refuted(symconv.prove_general(theorem, out_size=size), rule)
        assert (example.lhs, example.rhs) == (0, 1)


def test_wrong_output_size_2d_names_the_axis():
    layer = Layer(2)
    sizes = [layer.out_size(0), sp.floor((layer.n[1] + layer.p[1] + layer.q[1]
                                          - layer.d[1] * (layer.k[1] - 1)) / layer.s[1]) + 1]
    derivation = symconv.prove_general("toeplitz", dims=2, out_size=sizes)
    _assert_refuted(derivation, "output size: window inside the padded input (axis 2)")


def test_false_im2col_entries_are_refuted():
    layer = Layer(1)
    u = layer.position(0)
    shifted = layer.x[layer.c, u + 1] * sp.Piecewise((1, (u + 1 >= 0) & (u + 1 <= layer.n[0] - 1)),
                                                     (0, True))
    for order in ("unfold", "paper"):
        _assert_refuted(symconv.prove_general("im2col", order=order, entry=shifted),
                        "definition of the convolution")
    # a guard that does not match the read position: P reads outside x where it is first used
    mismatched = layer.x[layer.c, u + 1] * sp.Piecewise((1, (u >= 0) & (u <= layer.n[0] - 1)),
                                                        (0, True))
    example = _assert_refuted(symconv.prove_general("im2col", entry=mismatched),
                              "definition of the im2col product")
    assert "outside the shape" in example.error


def test_circulant_needs_the_circular_source():
    layer = Layer(1, padding_mode="circular")
    zero_padded = _entry(layer, layer.t[0], layer.position(0))
    _assert_refuted(symconv.prove_general("circulant", entry=zero_padded), "congruence modulo n")


def test_transpose_with_a_false_entry_is_refuted():
    _assert_refuted(symconv.prove_general("transpose", entry=VARIANTS["off-by-one"]),
                    "definition of the transposed convolution")


def test_nonlinear_without_sigma_is_refuted():
    names = network_symbols(1)
    forgot_sigma = sp.Sum(names["T2"][names["R2"], names["C2"]] * names["Tx"][names["C2"]],
                          (names["C2"], 0, names["n_in2"] - 1))
    derivation = symconv.prove_general("nonlinear", network=forgot_sigma, instances=12)
    assert not derivation.holds
    assert derivation.failure.rule == "definition of the FC network"


@pytest.mark.parametrize("bad", [
    dict(theorem="nope"), dict(theorem="toeplitz", dims=4), dict(theorem="toeplitz", dims=True),
    dict(theorem="toeplitz", colour="red"), dict(theorem="im2col", order="rows"),
    dict(theorem="toeplitz", out_size=[1, 2]),
])
def test_bad_input_is_a_spec_error(bad):
    theorem = bad.pop("theorem")
    with pytest.raises(SpecError):
        symconv.prove_general(theorem, **bad)


@pytest.mark.parametrize("dims", [1, 2])
def test_nonlinear_with_bias_holds(dims):
    derivation = symconv.prove_general("nonlinear", dims=dims, bias=True)
    _assert_fully_checked(derivation)
    assert [s.rule for s in derivation.steps].count("definition of the bias (layer 1)") == 1
    assert "biases" in derivation.title


@pytest.mark.parametrize("where", ["forgot b1", "b1 outside sigma", "forgot b2"])
def test_nonlinear_with_a_misplaced_bias_is_refuted(where):
    S = network_symbols(1)
    T2, R2, C2, Tx, sigma = S["T2"], S["R2"], S["C2"], S["Tx"], S["sigma"]
    inner = {"forgot b1": sigma(Tx[C2]), "b1 outside sigma": sigma(Tx[C2]) + S["beta"][C2],
             "forgot b2": sigma(Tx[C2] + S["beta"][C2])}[where]
    network = sp.Sum(T2[R2, C2] * inner, (C2, 0, S["n_in2"] - 1)) + (
        0 if where == "forgot b2" else S["beta2"][R2])
    derivation = symconv.prove_general("nonlinear", bias=True, network=network, instances=12)
    assert derivation.refuted, derivation.summary()
    assert derivation.failure.rule == "definition of the FC network"
    example = derivation.failure.counterexample
    assert example.lhs != example.rhs
