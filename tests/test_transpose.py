"""Transposed convolution and gradients: exact proofs on symbols, and torch on exact integers."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import symconv
from symconv import ConvSpec, SpecError
from symconv.forms.transpose import (
    bias_gradient,
    conv_transpose,
    input_gradient,
    prove_transpose,
    transposed_size,
    upstream_symbols,
    weight_gradient,
)
from symconv.latex.build import compile_latex
from tests.strategies import conv_specs, integer_operands
from tests.torch_reference import padded

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
FAST = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def _ints(a) -> np.ndarray:
    return np.asarray(a, dtype=object).astype(np.int64)


def _rng_ints(shape, seed):
    return np.random.default_rng(seed).integers(-9, 10, size=shape)


def torch_autograd(spec: ConvSpec, x, w, b, g):
    """x.grad, w.grad, b.grad of L = Σ_n ⟨g_n, conv(x_n, w, b)⟩ by torch autograd, x and g batched
    (B, …) in the spec's layout: F.pad with the mode, then F.conv, permutes/flip for NHWC and
    true convolution inside the graph so the gradients come back in the spec's layout."""
    dims = spec.dims
    xt, wt = _t(x).requires_grad_(), _t(w).requires_grad_()
    bt = _t(b).requires_grad_() if b is not None else None
    xc, wc = xt, wt
    if spec.layout == "NHWC":
        xc = xt.permute(0, dims + 1, *range(1, dims + 1))
        # contiguous: torch's slow_conv2d backward raises "grad_weight must be contiguous" on the view
        wc = wt.permute(dims + 1, dims, *range(dims)).contiguous()
    if spec.convention == "convolution":
        wc = torch.flip(wc, dims=list(range(2, dims + 2)))
    y = CONV[dims](padded(spec, xc), wc, bt, stride=spec.stride, dilation=spec.dilation, groups=spec.groups)
    if spec.layout == "NHWC":
        y = y.permute(0, *range(2, dims + 2), 1)
    (y * _t(g)).sum().backward()
    return xt.grad.numpy(), wt.grad.numpy(), None if bt is None else bt.grad.numpy()


# ---- proofs on symbols -------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [
    dict(in_channels=2, out_channels=2, kernel_size=3, input_size=(4, 4)),
    dict(in_channels=2, out_channels=4, kernel_size=(2, 3), input_size=(6, 5), stride=2, padding=1,
         dilation=(1, 2), groups=2),
    dict(in_channels=1, out_channels=2, kernel_size=3, input_size=7, stride=3, padding=2, dilation=2),
    dict(in_channels=2, out_channels=2, kernel_size=2, input_size=(3, 3, 3), padding=1,
         padding_mode="circular", bias=False),
])
def test_prove_transpose_holds(kwargs):
    proof = prove_transpose(ConvSpec(**kwargs))
    assert proof.holds, proof.summary()
    assert proof.forms[:3] == ("transpose", "weight_gradient", "input_gradient")


@FAST
@given(conv_specs(max_terms=150))
def test_prove_transpose_every_spec_class(spec):
    proof = prove_transpose(spec)
    assert proof.holds, proof.summary()


def test_prove_transpose_batched():
    """A batch of 3: the per-sample input gradient and the batch-summed weight/bias gradients."""
    spec = ConvSpec(2, 4, kernel_size=(2, 3), input_size=(4, 5), stride=2, padding=1, groups=2)
    proof = prove_transpose(spec, batch=3)
    assert proof.holds, proof.summary()
    assert proof.terms == 3 * spec.n_terms and "Σ_n g_n·P_nᵀ = ∂L/∂w" in proof.statement


def test_batched_weight_gradient_of_one_sample_refuted():
    """Autograd sums over the batch: the first sample's g·Pᵀ alone is not ∂L/∂w; nor is Tᵀ·g with
    the samples swapped the input gradient."""
    spec = ConvSpec(1, 2, kernel_size=2, input_size=(3, 3), bias=False)
    x, w, _ = symconv.symbols(spec, batch=2)
    g = upstream_symbols(spec, batch=2)
    proof = prove_transpose(spec, batch=2, weight_grad=weight_gradient(spec, x[0], g[0]))
    assert not proof.holds
    ce = proof.counterexample
    assert ce.form == "weight_gradient" and ce.index == (0, 0, 0, 0)
    assert ce.missing and all("x_{1," in str(term) for term in ce.missing)
    swapped = input_gradient(spec, g[::-1], w)
    proof = prove_transpose(spec, batch=2, input_grad=swapped)
    assert not proof.holds and proof.counterexample.form == "transpose" and proof.counterexample.index[0] == 0


def test_batched_proofs_name_the_batched_quantities():
    """L = Σ_n ⟨g_n, y_n⟩: the counterexamples and the LaTeX say ∂L/∂w, Σ_n g_n·P_nᵀ and g_n, never ∂⟨g, y⟩."""
    spec = ConvSpec(1, 2, kernel_size=2, input_size=(3, 3))
    x, w, _ = symconv.symbols(spec, batch=2)
    g = upstream_symbols(spec, batch=2)
    proof = prove_transpose(spec, batch=2, weight_grad=weight_gradient(spec, x[:1], g[:1]))
    assert proof.counterexample.headline() == "weight_gradient: (Σ_n g_n·P_nᵀ)[0,0,0,0] differs from (∂L/∂w)[0,0,0,0]"
    assert str(proof.counterexample).splitlines()[1].startswith("  expected (∂L/∂w): ")
    source = proof.to_latex()
    assert (r"$({\textstyle\sum_{n}} g_{n} P_{n}^{\top})_{0,0,0,0}$ differs from "
            r"$\frac{\partial L}{\partial w_{0,0,0,0}}$") in source
    statement = source[source.index("Statement ("):source.index(r"\label{symconv:statement}")]
    assert (r"\frac{\partial L}{\partial x_{n}} &= T^{\top} \mathrm{vec}(g_{n}) "
            r"= \mathrm{conv\_transpose}(g_{n}, w)") in statement
    assert r"\frac{\partial L}{\partial b} &= {\textstyle\sum_{n}} g_{n}\, \mathbf{1}" in statement
    assert r"L = \sum_n \langle g_n, y_n \rangle" in statement and r"\langle g," not in source
    assert "partial L" in proof._repr_latex_() and r"\langle g," not in proof._repr_latex_()
    proof = prove_transpose(spec, batch=2, input_grad=input_gradient(spec, g[::-1], w))
    assert proof.counterexample.headline() == ("transpose: (Tᵀ·vec(g_0))[0,0,0] differs from "
                                               "conv_transpose(g_0, w)[0,0,0]")
    assert (r"$(T^{\top} \mathrm{vec}(g_{0}))_{0,0,0}$ differs from "
            r"$\mathrm{conv\_transpose}(g_{0}, w)_{0,0,0}$") in proof.to_latex()


@pytest.mark.parametrize("engine", ["pdflatex", "xelatex"])
def test_batched_proof_documents_compile(tex, xetex, tmp_path, engine):
    spec = ConvSpec(1, 2, kernel_size=2, input_size=3)
    x, _, _ = symconv.symbols(spec, batch=2)
    g = upstream_symbols(spec, batch=2)
    for name, proof in (("held", prove_transpose(spec, batch=2)),
                        ("refuted", prove_transpose(spec, batch=2, weight_grad=weight_gradient(spec, x[:1], g[:1])))):
        assert compile_latex(proof.to_latex(), tmp_path / f"{name}.pdf", engine=engine).stat().st_size > 1000


# ---- negative controls -------------------------------------------------------------------------
def _spec():
    return ConvSpec(in_channels=1, out_channels=2, kernel_size=2, input_size=(3, 3), bias=False)


def test_off_by_one_transposed_matrix_refuted():
    spec = _spec()
    _, w, _ = symconv.symbols(spec)
    Tt = symconv.toeplitz(spec, w).T
    shifted = sp.SparseMatrix(Tt.rows, Tt.cols, {((r + 1) % Tt.rows, c): v for (r, c), v in Tt.todok().items()})
    proof = prove_transpose(spec, toeplitz_transpose=shifted)
    assert not proof.holds
    ce = proof.counterexample
    assert ce.form == "transpose" and ce.index == (0, 0, 0) and ce.difference != 0
    assert sp.expand(ce.expected - ce.obtained - ce.difference) == 0


def test_transpose_not_transposed_refuted():
    """T itself (not Tᵀ) cannot pass for a square layer whose T is not symmetric."""
    spec = ConvSpec(1, 1, kernel_size=3, input_size=5, padding=1, bias=False)
    _, w, _ = symconv.symbols(spec)
    proof = prove_transpose(spec, toeplitz_transpose=symconv.toeplitz(spec, w))
    assert not proof.holds and proof.counterexample.form == "transpose"


def test_flipped_weight_gradient_refuted():
    spec = _spec()
    x, _, _ = symconv.symbols(spec)
    wrong = np.flip(weight_gradient(spec, x, upstream_symbols(spec)), axis=(2, 3))
    proof = prove_transpose(spec, weight_grad=wrong)
    assert not proof.holds
    assert proof.counterexample.form == "weight_gradient" and proof.counterexample.index == (0, 0, 0, 0)


def test_wrong_input_gradient_refuted():
    spec = ConvSpec(1, 1, kernel_size=2, input_size=4, stride=2, bias=False)
    _, w, _ = symconv.symbols(spec)
    g = upstream_symbols(spec)
    shifted = np.roll(input_gradient(spec, g, w), 1, axis=1)
    proof = prove_transpose(spec, input_grad=shifted)
    assert not proof.holds and proof.counterexample.form == "transpose"


def test_output_padding_rules():
    spec = ConvSpec(1, 1, kernel_size=3, input_size=8, stride=2)        # out 3; n ∈ {7, 8}
    assert transposed_size(spec, 0) == (7,) and transposed_size(spec, 1) == (8,)
    g, w = _rng_ints((1, 3), 1), _rng_ints((1, 1, 3), 2)
    wrong = conv_transpose(spec, g, w, output_padding=0)
    assert wrong.shape != spec.input_shape   # the wrong output_padding gives the other input size
    with pytest.raises(SpecError, match="output_padding=2: .*max\\(stride, dilation\\)"):
        conv_transpose(spec, g, w, output_padding=2)
    with pytest.raises(SpecError, match="must be ≥ 1 on every axis"):
        conv_transpose(ConvSpec(1, 1, 1, 1, stride=3, padding=1), [[1]], [[[1]]])
    with pytest.raises(SpecError, match="padding_mode='reflect'"):
        conv_transpose(ConvSpec(1, 1, 3, 8, padding=1, padding_mode="reflect"), g, w)
    with pytest.raises(SpecError, match=r"g.shape=\(1, 4\)"):
        conv_transpose(spec, _rng_ints((1, 4), 1), w)


# ---- torch ---------------------------------------------------------------------------------------
@st.composite
def transpose_cases(draw):
    dims = draw(st.sampled_from((1, 2, 3)))
    top = {1: 6, 2: 5, 3: 3}[dims]
    groups = draw(st.sampled_from((1, 2)))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3 if dims < 3 else 2)) for _ in range(dims))
    s = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    d = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    p = tuple(draw(st.integers(0, 2)) for _ in range(dims))
    n = tuple(draw(st.integers(max(1, dk * (kk - 1) + 1 - 2 * pp), top))
              for dk, kk, pp in zip(d, k, p))
    op = tuple(draw(st.integers(0, max(sa, da) - 1)) for sa, da in zip(s, d))
    spec = ConvSpec(c_in, c_out, k, n, stride=s, padding=p, dilation=d, groups=groups)
    assume(all(((o - 1) * sa - 2 * pa + da * (ka - 1) + 1 + opa) >= 1   # torch's size rule
               for o, sa, pa, da, ka, opa in zip(spec.output_size, s, p, d, k, op)))
    return spec, op


@settings(max_examples=40, deadline=None)
@given(transpose_cases(), st.integers(1, 3), st.integers(0, 2**16))
def test_conv_transpose_matches_torch(case, batch, seed):
    spec, op = case
    g, w = _rng_ints((batch, *spec.output_shape), seed), _rng_ints(spec.weight_shape, seed + 1)
    ours = conv_transpose(spec, g, w, output_padding=op)
    theirs = CONV_T[spec.dims](_t(g), _t(w), stride=spec.stride, padding=[p for p, _ in spec.padding],
                               output_padding=op, groups=spec.groups, dilation=spec.dilation)
    assert ours.shape == tuple(theirs.shape)
    assert np.array_equal(_ints(ours), theirs.numpy().astype(np.int64))
    assert np.array_equal(_ints(conv_transpose(spec, g[0], w, output_padding=op)), _ints(ours[0]))


def _check_gradients(spec: ConvSpec, batch: int, seed: int) -> None:
    """input, weight and bias gradients of a batch against torch autograd, exactly (small ints)."""
    x, w, b = integer_operands(spec, seed, batch=batch)
    g = _rng_ints((batch, *spec.output_shape), seed + 7)
    gx, gw, gb = torch_autograd(spec, x, w, b, g)
    assert np.array_equal(_ints(input_gradient(spec, g, w)), gx.astype(np.int64))
    assert np.array_equal(_ints(weight_gradient(spec, x, g)), gw.astype(np.int64))   # Σ over the batch
    if spec.bias:
        assert np.array_equal(_ints(bias_gradient(spec, g)), gb.astype(np.int64))
    # one sample without the batch axis: the same input gradient, that sample's share of dw
    assert np.array_equal(_ints(input_gradient(spec, g[1 % batch], w)), gx[1 % batch].astype(np.int64))
    _, gw1, _ = torch_autograd(spec, x[:1], w, b, g[:1])
    assert np.array_equal(_ints(weight_gradient(spec, x[0], g[0])), gw1.astype(np.int64))


@settings(max_examples=40, deadline=None)
@given(conv_specs(max_terms=1500), st.integers(1, 3), st.integers(0, 2**16))
def test_gradients_match_torch_autograd(spec, batch, seed):
    """Every spec class (padding modes, layouts, conventions): Tᵀ·vec(g_n) is autograd's input
    gradient through the padding map; g·Pᵀ and g·1 are summed over the batch as autograd does."""
    _check_gradients(spec, batch, seed)


@pytest.mark.parametrize("mode", ["zeros", "circular", "reflect", "replicate"])
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_input_gradient_every_padding_mode(mode, dims):
    """Tᵀ = input gradient for each padding mode (conv_transpose only exists for zeros), batch 3,
    with asymmetric padding, stride, dilation and groups."""
    size = {1: (9,), 2: (6, 7), 3: (4, 5, 4)}[dims]
    pads = {1: ((2, 1),), 2: ((2, 1), (1, 2)), 3: ((1, 0), (2, 1), 1)}[dims]
    spec = ConvSpec(4, 2, kernel_size=(3, 2, 2)[:dims], input_size=size, stride=(2, 1, 2)[:dims],
                    padding=pads, dilation=(1, 2, 1)[:dims], groups=2, padding_mode=mode)
    _check_gradients(spec, batch=3, seed=dims)


def test_input_gradient_is_conv_transpose_for_zero_padding():
    """torch's own rule: autograd picks output_padding = n − n_min."""
    spec = ConvSpec(2, 2, kernel_size=3, input_size=(8, 9), stride=(2, 3), padding=1)
    g, w = _rng_ints((2, *spec.output_shape), 3), _rng_ints(spec.weight_shape, 4)
    op = tuple(n - m for n, m in zip(spec.input_size, transposed_size(spec)))
    assert op == (1, 2)
    assert np.array_equal(_ints(input_gradient(spec, g, w)), _ints(conv_transpose(spec, g, w, op)))


def test_batch_shape_rules():
    spec = ConvSpec(1, 2, kernel_size=2, input_size=4)
    x, w, _ = integer_operands(spec, 0, batch=2)
    g = _rng_ints((2, *spec.output_shape), 1)
    with pytest.raises(SpecError, match="same batch axis as x"):
        weight_gradient(spec, x, g[0])
    with pytest.raises(SpecError, match="same batch axis as x"):
        weight_gradient(spec, x, np.concatenate([g, g]))
    with pytest.raises(SpecError, match=r"g.shape=\(0, 2, 3\): .*batch B ≥ 1"):
        input_gradient(spec, g[:0], w)
    with pytest.raises(SpecError, match=r"g.shape=\(1, 2, 2, 3\): must be \(2, 3\) or \(B, 2, 3\)"):
        bias_gradient(spec, g[None])


# ---- adversarial review, issue 11: bounded work --------------------------------------------------
def test_a_transpose_proof_too_large_is_refused_before_any_work(monkeypatch):
    import symconv.forms.transpose as transpose_module
    monkeypatch.setattr(transpose_module, "symbols", lambda *a, **k: pytest.fail("symbols built first"))
    spec = ConvSpec(3, 3, 3, (64, 64), padding=1)
    with pytest.raises(SpecError, match=r"^spec='2-D, C_in=3, .*': a transpose proof expands a loss of 337188 "
                                        r"monomials \(batch × terms\), more than max_terms=50000; pass a larger "
                                        r"max_terms to allow it$"):
        prove_transpose(spec)
    with pytest.raises(SpecError, match=r"^batch=True: must be None or an integer ≥ 1$"):
        prove_transpose(spec, batch=True)


def test_the_power_rule_derivatives_still_prove_and_refute():
    spec = ConvSpec(2, 2, kernel_size=2, input_size=(3, 3), padding=1)
    assert prove_transpose(spec, batch=2, max_terms=10_000).holds
    x, w, b = symconv.symbols(spec)
    g = upstream_symbols(spec)
    wrong = weight_gradient(spec, x, g)
    wrong[0, 0, 0, 0] += g[0, 0, 0] * x[0, 0, 0]
    found = prove_transpose(spec, weight_grad=wrong).counterexample
    assert found.form == "weight_gradient" and found.index == (0, 0, 0, 0)
    assert found.extra == (g[0, 0, 0] * x[0, 0, 0],)
