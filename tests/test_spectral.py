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
from symconv.spectral import (
    EXACT_SIZES,
    dft_block_diagonalisation,
    is_block_circulant,
    kernel_symbol,
    prove_block_diagonalisation,
    roots_of_unity,
    singular_values,
)

BASIS = {sp.Integer(1), sp.sqrt(2), sp.sqrt(3), sp.sqrt(6)}

SMALL_EXACT = [
    dict(in_channels=2, out_channels=2, kernel_size=3, input_size=4, padding=1),
    dict(in_channels=1, out_channels=2, kernel_size=2, input_size=(2, 2), padding=((0, 1), (1, 0))),
    dict(in_channels=2, out_channels=1, kernel_size=3, input_size=(3, 3), padding=1, layout="NHWC"),
    dict(in_channels=2, out_channels=2, kernel_size=3, input_size=(3, 4), padding=1, groups=2,
         convention="convolution"),
    dict(in_channels=1, out_channels=1, kernel_size=3, input_size=6, padding=2, dilation=2),
    # Q(ζ_8) = Q(i, √2), Q(ζ_12) = Q(i, √3), and both at once (√6 appears) and ζ_24
    dict(in_channels=2, out_channels=2, kernel_size=3, input_size=8, padding=1),
    dict(in_channels=1, out_channels=2, kernel_size=5, input_size=12, padding=((1, 3),), layout="NHWC"),
    dict(in_channels=2, out_channels=1, kernel_size=(2, 3), input_size=(3, 8), padding=((1, 0), (1, 1))),
    dict(in_channels=1, out_channels=1, kernel_size=3, input_size=24, padding=2, dilation=2),
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


def _in_basis(value: sp.Expr) -> bool:
    """value is written as Σ q·β, q rational, β ∈ {1, √2, √3, √6} × {1, i}: the canonical form."""
    terms = sp.expand(value).as_coefficients_dict()
    return all(coefficient.is_Rational and (beta in BASIS or (beta / sp.I) in BASIS)
               for beta, coefficient in terms.items())


@pytest.mark.parametrize("n", EXACT_SIZES)
def test_roots_of_unity_are_canonical(n):
    """Every ω^k is the right number, in the canonical basis; products of roots (also across sizes,
    the 2-D case) expand back into the basis and obey ω^j·ω^k = ω^(j+k) exactly."""
    roots = roots_of_unity(n)
    for k, r in enumerate(roots):
        assert _in_basis(r) and abs(complex(sp.N(r, 30)) - np.exp(-2j * np.pi * k / n)) < 1e-15
        assert sp.expand(r**n) == 1
    for j in range(n):
        for k in range(n):
            assert sp.expand(roots[j] * roots[k] - roots[(j + k) % n]) == 0
    for m in EXACT_SIZES:
        assert all(_in_basis(r * q) for r in roots for q in roots_of_unity(m))


@pytest.mark.parametrize("size", [(3, 4), (8,), (12,), (3, 8)])
def test_exact_blocks_agree_with_fft(size):
    spec = ConvSpec(2, 3, kernel_size=3, input_size=size, padding=1, padding_mode="circular")
    w = np.random.default_rng(0).integers(-5, 6, size=spec.weight_shape)
    exact = dft_block_diagonalisation(spec, w.astype(object)).blocks
    floats = dft_block_diagonalisation(spec, w.astype(np.float64).astype(object), exact_roots=False).blocks
    as_complex = np.vectorize(lambda v: complex(sp.N(v, 30)), otypes=[complex])(exact)
    assert np.abs(as_complex - floats).max() < 1e-12
    assert all(_in_basis(v) for v in exact.flat)


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
        floats = np.random.default_rng(1).standard_normal(other.weight_shape)
        assert not is_block_circulant(other, _float_T(other, floats))


def test_zero_padded_T_refuted_by_dft_proof():
    spec = ConvSpec(2, 2, kernel_size=3, input_size=4, padding=1, padding_mode="circular")
    zeros = ConvSpec(2, 2, kernel_size=3, input_size=4, padding=1)
    _, w, _ = symconv.symbols(spec)
    T = symconv.toeplitz(zeros, w)
    proof = prove_block_diagonalisation(spec, toeplitz=T)
    assert not proof.holds
    assert proof.counterexample.index == (0, 0) and proof.counterexample.missing == (w[0, 0, 2],)
    assert proof.given["toeplitz"] == T          # the report shows the T that was checked (a copy)
    assert r"$T^{\mathrm{supplied}}$ (supplied to the proof, the matrix it checked)" in proof.to_latex()
    assert prove_block_diagonalisation(spec).given == {}


def test_statement_says_what_is_proved():
    """U·T = D·U with the unnormalised DFT U: T = U⁻¹·D·U (not F*·D·F, true only for the unitary F/√N)."""
    proof = prove_block_diagonalisation(ConvSpec(1, 1, kernel_size=3, input_size=4, padding=1,
                                                 padding_mode="circular"))
    assert proof.holds
    assert proof.statement.startswith("U_out·T = D·U_in, so T = U_out⁻¹·D·U_in (U: the unnormalised DFT")
    assert "F*" not in proof.statement
    assert r"T = \tfrac{1}{N}\, U_{C_{\mathrm{out}}}^{*}\, D\, U_{C_{\mathrm{in}}}" in proof.to_latex()


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


@pytest.mark.parametrize("size", [5, 7, 9, 10, 16, (8, 5)])
def test_exact_sizes_rule(size):
    spec = ConvSpec(1, 1, 3, size, padding=1, padding_mode="circular")
    with pytest.raises(SpecError, match="input_size=.*: exact roots of unity are used only for sizes dividing 24"):
        prove_block_diagonalisation(spec)
    with pytest.raises(SpecError):
        dft_block_diagonalisation(spec, np.ones(spec.weight_shape, dtype=object))
    floats = dft_block_diagonalisation(spec, np.ones(spec.weight_shape, dtype=object), exact_roots=False)
    assert floats.blocks.shape == (np.prod(spec.input_size), 1, 1)


def test_kernel_symbol_reads_the_first_row():
    spec = ConvSpec(1, 1, 3, 5, padding=1, padding_mode="circular")
    assert kernel_symbol(spec, [[[1, 2, 3]]]).tolist() == [[[2, 3, 0, 0, 1]]]


@pytest.mark.parametrize("size, coefficient", [(8, sp.sqrt(2) * sp.I), (12, sp.I)])
def test_flipped_kernel_refuted_with_radicals(size, coefficient):
    """T of the flipped kernel (true convolution) is circulant too, but not with these D_f: row f = 1
    differs by (ω − ω̄)·(w_2 − w_0)·(−1), an exact element of Q(i, √2, √3)[w]."""
    spec = ConvSpec(1, 1, kernel_size=3, input_size=size, padding=1, padding_mode="circular", bias=False)
    flipped = ConvSpec(1, 1, kernel_size=3, input_size=size, padding=1, padding_mode="circular",
                       bias=False, convention="convolution")
    _, w, _ = symconv.symbols(spec)
    proof = prove_block_diagonalisation(spec, toeplitz=symconv.toeplitz(flipped, w))
    assert not proof.holds and proof.counterexample.index == (1, 0)
    assert sp.expand(proof.counterexample.difference - coefficient * (w[0, 0, 2] - w[0, 0, 0])) == 0


# ---- adversarial review, issue 11 ----------------------------------------------------------------
CIRC = ConvSpec(1, 1, kernel_size=3, input_size=4, padding=1, padding_mode="circular")


def test_a_dft_proof_too_large_is_refused_before_any_work():
    spec = ConvSpec(1, 1, 1, (24, 24), padding_mode="circular")
    with pytest.raises(SpecError, match=r"^input_size=\(24, 24\): an exact DFT proof multiplies dense matrices: "
                                        r"about 382205952 entry products, more than max_work=1000000; pass a "
                                        r"larger max_work to allow it$"):
        prove_block_diagonalisation(spec)
    assert prove_block_diagonalisation(CIRC, max_work=128).holds


@pytest.mark.parametrize("weight, message", [
    (np.full((1, 1, 3), 1e308), r"^weight='max \|w\| = 1e\+308': the DFT or the singular values overflow float64"),
    ([[[10**400, 0, 0]]], r"^weight\[0, 0, 0\]='10000000000000000000… \(401 digits\)': is beyond float64"),
])
def test_singular_values_never_return_nan_or_overflow(weight, message):
    with pytest.raises(SpecError, match=message):
        singular_values(CIRC, weight)
    assert singular_values(CIRC, [[[1.0, 2.0, 3.0]]])[0] == pytest.approx(6.0)


def test_flags_and_specs_are_checked_by_name():
    w = symconv.symbols(CIRC)[1]
    with pytest.raises(SpecError, match=r"^exact_roots='no': must be True or False$"):
        dft_block_diagonalisation(CIRC, w, exact_roots="no")
    with pytest.raises(SpecError, match=r"^exact_roots=False: floating point needs numbers \(within float64\) as "
                                        r"weights; symbolic weights need exact_roots=True$"):
        dft_block_diagonalisation(CIRC, w, exact_roots=False)
    with pytest.raises(SpecError, match=r"^spec='str': must be a symconv.ConvSpec$"):
        is_block_circulant("s", [[1]])


def _circulant_numbers(first_row: list) -> np.ndarray:
    n = len(first_row)
    return np.array([[first_row[(j - i) % n] for j in range(n)] for i in range(n)], dtype=object)


CIRCULAR_4 = ConvSpec(1, 1, kernel_size=3, input_size=4, padding=1, padding_mode="circular")


@pytest.mark.parametrize("rounded", [np.float64(2**53), np.int64(2**53)])
def test_is_block_circulant_compares_numpy_scalars_exactly(rounded):
    T = _circulant_numbers([2**53, 1, 0, 0])
    T[0, 0] = rounded  # NumPy's == calls 2**53 equal to 2**53 + 1 after rounding to float64
    assert is_block_circulant(CIRCULAR_4, T)
    T[1, 1] = 2**53 + 1
    assert not is_block_circulant(CIRCULAR_4, T)


def test_is_block_circulant_compares_float32_exactly():
    T = _circulant_numbers([2**24, 1, 0, 0])
    T[0, 0] = np.float32(2**24)
    T[1, 1] = 2**24 + 1  # np.float32(16777216) == 16777217 is True in NumPy
    assert not is_block_circulant(CIRCULAR_4, T)


def test_exact_dft_refuses_non_integer_floats():
    with pytest.raises(SpecError, match=r"^w\[0, 0, 0\]=0.1: a float is accepted only with an integer value"):
        dft_block_diagonalisation(CIRCULAR_4, np.array([[[0.1, 0.2, 0.3]]]), exact_roots=True)
    blocks = dft_block_diagonalisation(CIRCULAR_4, np.array([[[1.0, 2.0, 3.0]]]), exact_roots=True).blocks
    assert all(not entry.atoms(sp.Float) for entry in blocks.flat)
