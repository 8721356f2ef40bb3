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
from symconv.forms.transpose import (bias_gradient, conv_transpose, input_gradient, prove_transpose,
                                     transposed_size, upstream_symbols, weight_gradient)
from tests.strategies import conv_specs, integer_operands

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
PAD = {"zeros": "constant", "circular": "circular", "reflect": "reflect", "replicate": "replicate"}
FAST = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def _ints(a) -> np.ndarray:
    return np.asarray(a, dtype=object).astype(np.int64)


def _rng_ints(shape, seed):
    return np.random.default_rng(seed).integers(-9, 10, size=shape)


def torch_autograd(spec: ConvSpec, x, w, b, g):
    """x.grad, w.grad, b.grad of ⟨g, conv(x, w, b)⟩ by torch (F.pad with the mode, then conv)."""
    xt, wt = _t(x)[None].requires_grad_(), _t(w).requires_grad_()
    bt = _t(b).requires_grad_() if b is not None else None
    pads = [p for pair in reversed(spec.padding) for p in pair]
    y = CONV[spec.dims](F.pad(xt, pads, mode=PAD[spec.padding_mode]), wt, bt, stride=spec.stride,
                        dilation=spec.dilation, groups=spec.groups)
    (y[0] * _t(g)).sum().backward()
    return (xt.grad[0].numpy(), wt.grad.numpy(), None if bt is None else bt.grad.numpy())


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


# ---- negative controls -------------------------------------------------------------------------
def _spec():
    return ConvSpec(in_channels=1, out_channels=2, kernel_size=2, input_size=(3, 3), bias=False)


def test_off_by_one_transposed_matrix_refuted():
    spec = _spec()
    _, w, _ = symconv.symbols(spec)
    Tt = symconv.toeplitz(spec, w).T
    shifted = sp.SparseMatrix(Tt.rows, Tt.cols, {((r + 1) % Tt.rows, c): v for (r, c), v in Tt.todok().items()})
    proof = prove_transpose(spec, matrix=shifted)
    assert not proof.holds
    ce = proof.counterexample
    assert ce.form == "transpose" and ce.index == (0, 0, 0) and ce.difference != 0
    assert sp.expand(ce.expected - ce.obtained - ce.difference) == 0


def test_transpose_not_transposed_refuted():
    """T itself (not Tᵀ) cannot pass for a square layer whose T is not symmetric."""
    spec = ConvSpec(1, 1, kernel_size=3, input_size=5, padding=1, bias=False)
    _, w, _ = symconv.symbols(spec)
    proof = prove_transpose(spec, matrix=symconv.toeplitz(spec, w))
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
@given(transpose_cases(), st.integers(0, 2**16))
def test_conv_transpose_matches_torch(case, seed):
    spec, op = case
    g, w = _rng_ints(spec.output_shape, seed), _rng_ints(spec.weight_shape, seed + 1)
    ours = conv_transpose(spec, g, w, output_padding=op)
    theirs = CONV_T[spec.dims](_t(g)[None], _t(w), stride=spec.stride, padding=[p for p, _ in spec.padding],
                               output_padding=op, groups=spec.groups, dilation=spec.dilation)[0]
    assert ours.shape == tuple(theirs.shape)
    assert np.array_equal(_ints(ours), theirs.numpy().astype(np.int64))


@settings(max_examples=40, deadline=None)
@given(conv_specs(max_terms=2000, conventions=("cross-correlation",), layouts=("NCHW",)), st.integers(0, 2**16))
def test_gradients_match_torch_autograd(spec, seed):
    """Every padding mode: Tᵀ·vec(g) is autograd's input gradient through the padding map."""
    x, w, b = integer_operands(spec, seed)
    g = _rng_ints(spec.output_shape, seed + 7)
    gx, gw, gb = torch_autograd(spec, x, w, b, g)
    assert np.array_equal(_ints(input_gradient(spec, g, w)), gx.astype(np.int64))
    assert np.array_equal(_ints(weight_gradient(spec, x, g)), gw.astype(np.int64))
    if spec.bias:
        assert np.array_equal(_ints(bias_gradient(spec, g)), gb.astype(np.int64))


def test_input_gradient_is_conv_transpose_for_zero_padding():
    """torch's own rule: autograd picks output_padding = n − n_min."""
    spec = ConvSpec(2, 2, kernel_size=3, input_size=(8, 9), stride=(2, 3), padding=1)
    g, w = _rng_ints(spec.output_shape, 3), _rng_ints(spec.weight_shape, 4)
    op = tuple(n - m for n, m in zip(spec.input_size, transposed_size(spec)))
    assert op == (1, 2)
    assert np.array_equal(_ints(input_gradient(spec, g, w)), _ints(conv_transpose(spec, g, w, op)))
