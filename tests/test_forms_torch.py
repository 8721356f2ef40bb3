"""Every form, evaluated on exact integers, against PyTorch (float64; exact on small integers).

Definition, T (read off torch by one-hot probing), T·vec(x) + b, im2col P (vs F.unfold and
``Tensor.unfold`` windows of F.pad), K, K·P + b in both orders, batched inputs, NHWC, true
convolution (= torch with the flipped weight) — over a grid and hypothesis-drawn specs.
"""

from __future__ import annotations

from math import prod

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import given, settings

import symconv
from symconv import ConvSpec
from tests.strategies import GRID_SPECS, conv_specs, integer_operands
from tests.torch_reference import (
    channels_first_w,
    channels_first_x,
    padded,
    torch_conv,
    torch_patches,
    torch_toeplitz,
    torch_unfold_matrix,
)

GRID = GRID_SPECS
IDS = [f"{i}:{s.describe()}" for i, s in enumerate(GRID)]
HYPOTHESIS = settings(max_examples=250, deadline=None)
HYPOTHESIS_SLOW = settings(max_examples=60, deadline=None)


def exact(a: object) -> np.ndarray:
    """A SymPy matrix or an object array of exact integers as float64 (exact for small ints)."""
    if isinstance(a, sp.MatrixBase):
        a = a.tolist()
    array = np.asarray(a, dtype=object)
    assert all(int(v) == v for v in array.flat)  # every entry is an exact integer
    return array.astype(np.float64)


def check_definition_toeplitz_im2col(spec: ConvSpec, seed: int) -> None:
    x, w, b = integer_operands(spec, seed)
    expected = torch_conv(spec, x, w, b)
    assert np.array_equal(exact(symconv.conv(spec, x, w, b)), expected)
    T = symconv.toeplitz(spec, w)
    assert T.shape == spec.toeplitz_shape
    assert np.array_equal(exact(T), torch_toeplitz(spec, w))
    assert np.array_equal(exact(symconv.toeplitz_conv(spec, x, w, b)), expected)
    assert np.array_equal(exact(symconv.im2col(spec, x)), torch_unfold_matrix(spec, x))
    assert np.array_equal(exact(symconv.im2col_conv(spec, x, w, b)), expected)
    assert np.array_equal(exact(symconv.im2col_conv(spec, x, w, b, order="paper")), expected)


@pytest.mark.parametrize("spec", GRID, ids=IDS)
def test_grid_agrees_with_torch(spec: ConvSpec) -> None:
    check_definition_toeplitz_im2col(spec, seed=len(IDS))


@HYPOTHESIS
@given(conv_specs(max_terms=400))
def test_random_specs_agree_with_torch(spec: ConvSpec) -> None:
    check_definition_toeplitz_im2col(spec, seed=spec.n_terms)


@HYPOTHESIS
@given(conv_specs(dims=(2,), max_terms=400))
def test_im2col_is_f_unfold_of_f_pad(spec: ConvSpec) -> None:
    """2-D: P = F.unfold(F.pad(x, mode)) bit for bit (F.unfold itself only zero-pads)."""
    x, _, _ = integer_operands(spec, seed=spec.taps_read)
    unfold = F.unfold(padded(spec, channels_first_x(spec, x)), spec.kernel_size,
                      dilation=spec.dilation, stride=spec.stride)[0].numpy()
    assert np.array_equal(exact(symconv.im2col(spec, x)), unfold)


@pytest.mark.parametrize("padding", [0, 1, (2, 1), ((1, 2), (0, 1))])
def test_im2col_zero_padding_is_f_unfold_padding(padding: object) -> None:
    """With zeros, F.unfold's own padding argument gives the same P (symmetric pads only)."""
    spec = ConvSpec(2, 1, (3, 2), (5, 4), stride=(1, 2), padding=padding, dilation=(2, 1))
    x, _, _ = integer_operands(spec, seed=3)
    xt = torch.as_tensor(x, dtype=torch.float64)[None]
    pairs = spec.padding
    if all(before == after for before, after in pairs):
        unfold = F.unfold(xt, spec.kernel_size, dilation=spec.dilation,
                          padding=[before for before, _ in pairs], stride=spec.stride)
    else:
        unfold = F.unfold(F.pad(xt, [p for pair in reversed(pairs) for p in pair]),
                          spec.kernel_size, dilation=spec.dilation, stride=spec.stride)
    assert np.array_equal(exact(symconv.im2col(spec, x)), unfold[0].numpy())


def test_patches_reference_is_f_unfold() -> None:
    """The N-d Tensor.unfold reference used for 1-D and 3-D agrees with F.unfold in 2-D."""
    spec = ConvSpec(3, 1, (2, 3), (6, 7), stride=(2, 1), padding=((1, 0), (2, 2)), dilation=(2, 1),
                    padding_mode="reflect")
    x, _, _ = integer_operands(spec, seed=5)
    unfold = F.unfold(padded(spec, channels_first_x(spec, x)), spec.kernel_size,
                      dilation=spec.dilation, stride=spec.stride)[0].numpy()
    assert np.array_equal(torch_unfold_matrix(spec, x), unfold)


@HYPOTHESIS
@given(conv_specs(max_terms=400))
def test_kernel_matrix_is_torch_weight_reshaped(spec: ConvSpec) -> None:
    """K (unfold order) = weight.view(C_out, −1); paper order = HWIO weight flattened."""
    _, w, _ = integer_operands(spec, seed=spec.n_terms)
    weight = channels_first_w(spec, w)
    if spec.convention == "convolution":
        weight = torch.flip(weight, dims=list(range(2, spec.dims + 2)))
    assert np.array_equal(exact(symconv.kernel_matrix(spec, w)),
                          weight.reshape(spec.out_channels, -1).numpy())
    hwio = weight.permute(*range(2, spec.dims + 2), 1, 0)
    assert np.array_equal(exact(symconv.kernel_matrix(spec, w, order="paper")),
                          hwio.reshape(-1, spec.out_channels).numpy())


@HYPOTHESIS
@given(conv_specs(max_terms=400))
def test_paper_order_against_a_channels_last_reference(spec: ConvSpec) -> None:
    """Paper order: P[out, t·C_in + c] (patches as rows, channels last), and y_cl = P·K per group."""
    x, w, b = integer_operands(spec, seed=spec.taps_read)
    q = torch_patches(spec, x)                                 # (C, *k, *out)
    n_out = prod(spec.output_size)
    channels_last = np.moveaxis(q.reshape(spec.in_channels, -1, n_out), 0, -1)  # (T, out, C)
    P = exact(symconv.im2col(spec, x, order="paper"))
    assert np.array_equal(P, channels_last.transpose(1, 0, 2).reshape(n_out, -1))
    K = exact(symconv.kernel_matrix(spec, w, order="paper"))
    y = torch_conv(spec, x, w, b)
    y_cl = (y if spec.layout == "NHWC" else np.moveaxis(y, 0, -1)).reshape(n_out, spec.out_channels)
    cg, og, taps = spec.in_per_group, spec.out_per_group, prod(spec.kernel_size)
    for g in range(spec.groups):
        columns = [t * spec.in_channels + g * cg + c for t in range(taps) for c in range(cg)]
        product = P[:, columns] @ K[:, g * og:(g + 1) * og]
        bias = 0 if b is None else b[g * og:(g + 1) * og]
        assert np.array_equal(product + bias, y_cl[:, g * og:(g + 1) * og])


@HYPOTHESIS_SLOW
@given(conv_specs(max_terms=200))
def test_batched_inputs(spec: ConvSpec) -> None:
    x, w, b = integer_operands(spec, seed=spec.n_terms, batch=3)
    expected = torch_conv(spec, x, w, b)
    assert expected.shape == (3, *spec.output_shape)
    assert np.array_equal(exact(symconv.conv(spec, x, w, b)), expected)
    assert np.array_equal(exact(symconv.toeplitz_conv(spec, x, w, b)), expected)
    assert np.array_equal(exact(symconv.im2col_conv(spec, x, w, b)), expected)
    assert np.array_equal(exact(symconv.im2col_conv(spec, x, w, b, order="paper")), expected)


@HYPOTHESIS
@given(conv_specs(max_terms=400, conventions=("convolution",)))
def test_true_convolution_is_torch_with_the_flipped_weight(spec: ConvSpec) -> None:
    x, w, b = integer_operands(spec, seed=spec.taps_read)
    spatial = tuple(range(spec.dims)) if spec.layout == "NHWC" else tuple(range(2, spec.dims + 2))
    correlation = ConvSpec(**{**spec_fields(spec), "convention": "cross-correlation"})
    flipped = np.flip(w, axis=spatial)
    assert np.array_equal(exact(symconv.conv(spec, x, w, b)),
                          exact(symconv.conv(correlation, x, flipped, b)))
    assert np.array_equal(exact(symconv.toeplitz(spec, w)),
                          exact(symconv.toeplitz(correlation, flipped)))


def spec_fields(spec: ConvSpec) -> dict:
    return {name: getattr(spec, name) for name in (
        "in_channels", "out_channels", "kernel_size", "input_size", "stride", "padding",
        "dilation", "groups", "bias", "padding_mode", "convention", "layout")}


def test_nhwc_is_nchw_transposed() -> None:
    """The same layer in both layouts: x, w, y and T related by the layout permutations."""
    nchw = ConvSpec(2, 4, (2, 3), (4, 5), padding=((1, 0), 1), groups=2, padding_mode="reflect")
    nhwc = ConvSpec(**{**spec_fields(nchw), "layout": "NHWC"})
    x, w, b = integer_operands(nchw, seed=7)
    y = exact(symconv.conv(nchw, x, w, b))
    assert np.array_equal(exact(symconv.conv(nhwc, np.moveaxis(x, 0, -1),
                                             np.transpose(w, (2, 3, 1, 0)), b)),
                          np.moveaxis(y, 0, -1))
    T = exact(symconv.toeplitz(nchw, w))
    rows = np.arange(prod(nchw.output_shape)).reshape(nchw.output_shape)
    cols = np.arange(prod(nchw.input_shape)).reshape(nchw.input_shape)
    T_nhwc = T[np.moveaxis(rows, 0, -1).reshape(-1)][:, np.moveaxis(cols, 0, -1).reshape(-1)]
    assert np.array_equal(exact(symconv.toeplitz(nhwc, np.transpose(w, (2, 3, 1, 0)))), T_nhwc)


def test_toeplitz_by_hand_and_index_functions() -> None:
    """A 2-D zero-padded T is doubly-block Toeplitz; row/column_index are the vec orders."""
    spec = ConvSpec(1, 1, 2, (3, 3), padding=0, bias=False)
    _, w, _ = symconv.symbols(spec)
    a, b_, c, d = w[0, 0, 0, 0], w[0, 0, 0, 1], w[0, 0, 1, 0], w[0, 0, 1, 1]
    T = symconv.toeplitz(spec, w)
    assert sp.Matrix([
        [a, b_, 0, c, d, 0, 0, 0, 0],
        [0, a, b_, 0, c, d, 0, 0, 0],
        [0, 0, 0, a, b_, 0, c, d, 0],
        [0, 0, 0, 0, a, b_, 0, c, d],
    ]) == T
    from symconv.forms.toeplitz import column_index, row_index
    nchw = ConvSpec(2, 3, 1, (2, 2))
    nhwc = ConvSpec(2, 3, 1, (2, 2), layout="NHWC")
    assert [row_index(nchw, o, p) for o in range(3) for p in range(4)] == list(range(12))
    assert [row_index(nhwc, o, p) for p in range(4) for o in range(3)] == list(range(12))
    assert [column_index(nchw, c, i) for c in range(2) for i in range(4)] == list(range(8))
    assert [column_index(nhwc, c, i) for i in range(4) for c in range(2)] == list(range(8))


def test_user_matrices_in_any_matrix_type() -> None:
    """toeplitz_conv/im2col_conv accept a sparse, dense or NumPy matrix in place of theirs."""
    spec = ConvSpec(2, 2, 2, (3, 3), groups=2, padding_mode="circular", padding=1)
    x, w, b = integer_operands(spec, seed=2)
    expected = torch_conv(spec, x, w, b)
    T = symconv.toeplitz(spec, w)
    for matrix in (T, sp.Matrix(T), np.array(T.tolist(), dtype=object)):
        assert np.array_equal(exact(symconv.toeplitz_conv(spec, x, w, b, toeplitz=matrix)), expected)
    for order in ("unfold", "paper"):
        P, K = symconv.im2col(spec, x, order), symconv.kernel_matrix(spec, w, order)
        got = symconv.im2col_conv(spec, x, w, b, order=order, im2col=np.array(P.tolist()),
                                  kernel_matrix=K)
        assert np.array_equal(exact(got), expected)
