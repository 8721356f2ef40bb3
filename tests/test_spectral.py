"""Circular padding: block-circulant T, its exact DFT block-diagonalisation, singular values."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import symconv
from symconv import ConvSpec, SpecError
from symconv.spectral import (dft_block_diagonalisation, is_block_circulant, kernel_symbol,
                              prove_block_diagonalisation, singular_values)

SMALL_EXACT = [
    dict(in_channels=2, out_channels=2, kernel_size=3, input_size=4, padding=1),
    dict(in_channels=1, out_channels=2, kernel_size=2, input_size=(2, 2), padding=((0, 1), (1, 0))),
    dict(in_channels=2, out_channels=1, kernel_size=3, input_size=(3, 3), padding=1, layout="NHWC"),
    dict(in_channels=2, out_channels=2, kernel_size=3, input_size=(3, 4), padding=1, groups=2,
         convention="convolution"),
    dict(in_channels=1, out_channels=1, kernel_size=3, input_size=6, padding=2, dilation=2),
]


def _float_T(spec, w):
    return np.array(symconv.toeplitz(spec, np.asarray(w, dtype=object)).tolist(), dtype=np.float64)


@pytest.mark.parametrize("kwargs", SMALL_EXACT)
def test_exact_block_diagonalisation_proved(kwargs):
    spec = ConvSpec(padding_mode="circular", **kwargs)
    proof = prove_block_diagonalisation(spec)
    assert proof.holds, proof.summary()
    _, w, _ = symconv.symbols(spec)
    assert is_block_circulant(spec, symconv.toeplitz(spec, w))


def test_n4_roots_are_plus_minus_one_and_i():
    spec = ConvSpec(1, 1, kernel_size=3, input_size=4, padding=1, padding_mode="circular", bias=False)
    U = dft_block_diagonalisation(spec, symconv.symbols(spec)[1]).dft("input")
    assert set(U.flat) == {1, -1, sp.I, -sp.I}
    _, w, _ = symconv.symbols(spec)
    blocks = dft_block_diagonalisation(spec, w).blocks
    w0, w1, w2 = w[0, 0]
    # h = (w1, w2, 0, w0) (src(0, t) = t − 1 mod 4); D_1 = Σ_m h[m]·i^m
    assert sp.expand(blocks[1, 0, 0] - (w1 + sp.I * w2 - sp.I * w0)) == 0


def test_exact_blocks_agree_with_fft():
    spec = ConvSpec(2, 3, kernel_size=3, input_size=(3, 4), padding=1, padding_mode="circular")
    w = np.random.default_rng(0).integers(-5, 6, size=spec.weight_shape)
    exact = dft_block_diagonalisation(spec, w.astype(object)).blocks
    floats = dft_block_diagonalisation(spec, w.astype(np.float64).astype(object), exact=False).blocks
    as_complex = np.vectorize(lambda v: complex(sp.N(v, 30)), otypes=[complex])(exact)
    assert np.abs(as_complex - floats).max() < 1e-12


@st.composite
def circular_specs(draw):
    dims = draw(st.sampled_from((1, 2)))
    groups = draw(st.sampled_from((1, 2)))
    c_in, c_out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    n = tuple(draw(st.integers(2, 8 if dims == 1 else 5)) for _ in range(dims))
    k = tuple(draw(st.integers(1, min(4, m))) for m in n)
    d = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    pads = []
    for kk, dd, m in zip(k, d, n):
        total = dd * (kk - 1)
        before = draw(st.integers(max(0, total - m), min(total, m)))
        pads.append((before, total - before))
    return ConvSpec(c_in, c_out, k, n, padding=tuple(pads), dilation=d, groups=groups,
                    padding_mode="circular", layout=draw(st.sampled_from(("NCHW", "NHWC"))))


@settings(max_examples=60, deadline=None)
@given(circular_specs(), st.integers(0, 2**16))
def test_singular_values_agree_with_svd_of_T(spec, seed):
    w = np.random.default_rng(seed).standard_normal(spec.weight_shape)
    T = _float_T(spec, w)
    assert is_block_circulant(spec, T)
    reference = np.linalg.svd(T, compute_uv=False)
    ours = singular_values(spec, w)
    assert ours.shape == reference.shape
    assert np.abs(ours - reference).max() < 1e-9


def test_singular_values_of_torch_layer():
    torch.manual_seed(0)
    layer = torch.nn.Conv2d(3, 4, 3, padding=1, padding_mode="circular", dtype=torch.float64)
    spec = ConvSpec(3, 4, 3, (6, 5), padding=1, padding_mode="circular")
    eye = torch.eye(3 * 30, dtype=torch.float64).reshape(-1, 3, 6, 5)
    with torch.no_grad():     # T column by column from torch: T e_j (no bias)
        T = (layer(eye) - layer.bias[None, :, None, None]).reshape(90, -1).T.numpy()
    assert np.abs(singular_values(spec, layer.weight) - np.linalg.svd(T, compute_uv=False)).max() < 1e-9


# ---- negative controls -------------------------------------------------------------------------
def test_zero_padding_is_not_block_circulant():
    spec = ConvSpec(2, 2, kernel_size=3, input_size=(4, 4), padding=1)
    _, w, _ = symconv.symbols(spec)
    assert not is_block_circulant(spec, symconv.toeplitz(spec, w))
    for mode in ("reflect", "replicate"):
        other = ConvSpec(2, 2, 3, (4, 4), padding=1, padding_mode=mode)
        assert not is_block_circulant(other, symconv.toeplitz(other, w))
        assert not is_block_circulant(other, _float_T(other, np.random.default_rng(1).standard_normal(other.weight_shape)))


def test_zero_padded_T_refuted_by_dft_proof():
    spec = ConvSpec(2, 2, kernel_size=3, input_size=4, padding=1, padding_mode="circular")
    zeros = ConvSpec(2, 2, kernel_size=3, input_size=4, padding=1)
    _, w, _ = symconv.symbols(spec)
    proof = prove_block_diagonalisation(spec, toeplitz_matrix=symconv.toeplitz(zeros, w))
    assert not proof.holds
    assert proof.counterexample.index == (0, 0) and proof.counterexample.missing == (w[0, 0, 2],)


def test_wrong_singular_values_would_be_caught():
    """The union over frequencies is not the singular values of the un-transformed kernel."""
    spec = ConvSpec(2, 2, 3, 5, padding=1, padding_mode="circular")
    w = np.random.default_rng(3).standard_normal(spec.weight_shape)
    reference = np.linalg.svd(_float_T(spec, w), compute_uv=False)
    naive = np.sort(np.tile(np.linalg.svd(w.sum(axis=2), compute_uv=False), 5))[::-1]
    assert np.abs(naive - reference).max() > 1e-3


@pytest.mark.parametrize("kwargs, parameter", [
    (dict(padding=1), "padding_mode"),
    (dict(padding=1, padding_mode="circular", stride=2), "stride"),
    (dict(padding=0, padding_mode="circular"), "padding"),
])
def test_non_circulant_specs_refused(kwargs, parameter):
    spec = ConvSpec(1, 1, 3, 6, **kwargs)
    with pytest.raises(SpecError) as error:
        singular_values(spec, np.ones(spec.weight_shape))
    assert error.value.parameter == parameter


def test_exact_sizes_rule():
    spec = ConvSpec(1, 1, 3, 5, padding=1, padding_mode="circular")
    with pytest.raises(SpecError, match="input_size=\\(5,\\): exact roots of unity"):
        prove_block_diagonalisation(spec)
    assert kernel_symbol(spec, [[[1, 2, 3]]]).tolist() == [[[2, 3, 0, 0, 1]]]
