"""The im2col view: convolution as one matrix product per group.

PyTorch ``unfold`` order (default, ``order="unfold"``):

    P[c·∏K + t, out] = x[c, src(out, t)]   (0 where src is none)        shape (C_in·∏K, ∏out)
    K[o, c·∏K + t]   = w[o, c, τ(t)]                                     shape (C_out, C_in/groups·∏K)
    y[o, out] = b[o] + Σ_j K[o, j] · P[g(o)·(C_in/groups)·∏K + j, out]

The paper's Algorithm 1 (``order="paper"``, Ma & Lu 2017; also TensorFlow's channels-last
patches) puts patches as rows and channels last:

    P[out, t·C_in + c] = x[c, src(out, t)]                               shape (∏out, ∏K·C_in)
    K[t·(C_in/groups) + c, o] = w[o, c, τ(t)]                            shape (∏K·C_in/groups, C_out)
    y[out, o] = b[o] + Σ_{t,c} P[out, t·C_in + g(o)·C_in/groups + c] · K[t·C_in/groups + c, o]
"""

from __future__ import annotations

from math import prod

import numpy as np
import sympy as sp

from ..connections import channel_map
from ..errors import renamed_keyword
from ..spec import ConvSpec, one_of
from ..symbols import check_shape, to_canonical_input, to_canonical_weight
from .entries import checked_matrix
from .operands import add_terms, as_object_array, operands, output_array

ORDERS = ("unfold", "paper")


def _check_order(order: str) -> None:
    one_of("order", order, ORDERS)


def _patches(spec: ConvSpec, xc: np.ndarray, zero: object = 0) -> np.ndarray:
    """Q[c, t, out] = x[c, src(out, t)] (``zero`` for padding zeros) from canonical x (C_in, ∏in)."""
    table = spec.pattern.source_table.T  # (∏K, ∏out)
    padded = np.concatenate([xc, np.full((xc.shape[0], 1), zero, dtype=xc.dtype)], axis=1)
    return padded[:, np.where(table >= 0, table, xc.shape[1])]


def factor_shapes(spec: ConvSpec, order: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """(shape of P, shape of K) in the given order."""
    n_taps, n_out = prod(spec.kernel_size), prod(spec.output_size)
    if order == "unfold":
        return (spec.in_channels * n_taps, n_out), (spec.out_channels, spec.in_per_group * n_taps)
    return (n_out, n_taps * spec.in_channels), (n_taps * spec.in_per_group, spec.out_channels)


def patch_array(spec: ConvSpec, xc: np.ndarray, order: str, zero: object = 0) -> np.ndarray:
    """P as an array (any dtype: symbols or integer ids) from canonical x (C_in, ∏in)."""
    q = _patches(spec, xc, zero)
    return q.reshape(-1, q.shape[2]) if order == "unfold" else q.transpose(2, 1, 0).reshape(q.shape[2], -1)


def kernel_array(spec: ConvSpec, wf: np.ndarray, order: str) -> np.ndarray:
    """K as an array from canonical w (C_out, C_in/groups, ∏K) (any dtype)."""
    wf = wf[:, :, spec.pattern.weight_taps]
    if order == "unfold":
        return wf.reshape(spec.out_channels, -1)
    return wf.transpose(2, 1, 0).reshape(-1, spec.out_channels)


def group_factors(spec: ConvSpec, P: np.ndarray, K: np.ndarray, o: int,
                  order: str) -> tuple[np.ndarray, np.ndarray]:
    """(k, rows) with y[o, out] = b[o] + Σ_j k[j] · rows[j, out]: K's row (column) of o and the
    rows (columns) of P of o's group, both in the shared order of the summation index j.
    o's input channels are ``channel_map(spec)[o]``, consecutive."""
    channels, n_taps = channel_map(spec)[o], prod(spec.kernel_size)
    if order == "unfold":                                            # j = c·∏K + t, P row ch·∏K + t
        return K[o], P[channels[0] * n_taps:(channels[-1] + 1) * n_taps]   # (cg·∏K,), (cg·∏K, ∏out)
    cols = (np.arange(n_taps)[:, None] * spec.in_channels + channels).reshape(-1)  # j = t·cg + c
    return K[:, o], P[:, cols].T                                      # (∏K·cg,), (∏K·cg, ∏out)


def im2col(spec: ConvSpec, x: object, order: str = "unfold") -> sp.Matrix:
    """The patch matrix P of one sample (see the module docstring for both orders).

    >>> import symconv
    >>> spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    >>> x, w, _ = symconv.symbols(spec)
    >>> symconv.im2col(spec, x)
    Matrix([
    [x_{0,0}, x_{0,1}],
    [x_{0,1}, x_{0,2}]])

    The paper's order, here with two channels: one patch per row, channels last:

    >>> spec = symconv.ConvSpec(2, 1, kernel_size=2, input_size=3, bias=False)
    >>> x, w, _ = symconv.symbols(spec)
    >>> symconv.im2col(spec, x, order="paper")
    Matrix([
    [x_{0,0}, x_{1,0}, x_{0,1}, x_{1,1}],
    [x_{0,1}, x_{1,1}, x_{0,2}, x_{1,2}]])
    """
    _check_order(order)
    x = as_object_array("x", x)
    check_shape("x", x, spec.input_shape, spec.layout)
    return sp.Matrix(patch_array(spec, to_canonical_input(spec, x).reshape(spec.in_channels, -1), order))


def kernel_matrix(spec: ConvSpec, w: object, order: str = "unfold") -> sp.Matrix:
    """The kernel matrix K (see the module docstring for both orders).

    >>> import symconv
    >>> spec = symconv.ConvSpec(2, 1, kernel_size=2, input_size=3, bias=False)
    >>> x, w, _ = symconv.symbols(spec)
    >>> symconv.kernel_matrix(spec, w)
    Matrix([[w_{0,0,0}, w_{0,0,1}, w_{0,1,0}, w_{0,1,1}]])
    >>> symconv.kernel_matrix(spec, w, order="paper").T
    Matrix([[w_{0,0,0}, w_{0,1,0}, w_{0,0,1}, w_{0,1,1}]])
    """
    _check_order(order)
    w = as_object_array("w", w)
    check_shape("w", w, spec.weight_shape, spec.layout)
    wf = to_canonical_weight(spec, w).reshape(spec.out_channels, spec.in_per_group, -1)
    return sp.Matrix(kernel_array(spec, wf, order))


def im2col_conv(spec: ConvSpec, x: object, w: object, b: object = None, order: str = "unfold",
                im2col: sp.MatrixBase | None = None, kernel_matrix: sp.MatrixBase | None = None, *,
                patches: sp.MatrixBase | None = None, kernel: sp.MatrixBase | None = None) -> np.ndarray:
    """y by the im2col product, one matrix product per group, plus bias.

    ``im2col`` / ``kernel_matrix`` replace the built P / K (to check a user's matrices, as
    ``prove(im2col=…, kernel_matrix=…)``); for a batched x a user-supplied P is used for every
    sample. ``patches`` / ``kernel`` are their former names, deprecated.

    >>> import symconv
    >>> spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3)
    >>> x, w, b = symconv.symbols(spec)
    >>> symconv.im2col_conv(spec, x, w, b)
    array([[b_{0} + w_{0,0,0}*x_{0,0} + w_{0,0,1}*x_{0,1},
            b_{0} + w_{0,0,0}*x_{0,1} + w_{0,0,1}*x_{0,2}]], dtype=object)
    """
    claimed_p = renamed_keyword("im2col", im2col, "patches", patches)
    claimed_k = renamed_keyword("kernel_matrix", kernel_matrix, "kernel", kernel)
    _check_order(order)
    ops = operands(spec, x, w, b)
    # K from the canonical weights (the keywords hide the functions im2col and kernel_matrix here)
    K = kernel_array(spec, ops.w, order) if claimed_k is None else np.array(
        checked_matrix("kernel_matrix", claimed_k), dtype=object)
    p_shape, k_shape = factor_shapes(spec, order)
    check_shape("kernel_matrix", K, k_shape, f"{order} order")
    n_out = prod(spec.output_size)
    y = np.empty((ops.x.shape[0], spec.out_channels, n_out), dtype=object)
    for n, xn in enumerate(ops.x):
        P = (patch_array(spec, xn, order) if claimed_p is None
             else np.array(checked_matrix("im2col", claimed_p), dtype=object))
        check_shape("im2col", P, p_shape, f"{order} order")
        for o in range(spec.out_channels):
            k_row, rows = group_factors(spec, P, K, o, order)
            bias = [ops.b[o]] if ops.b is not None else []
            for out in range(n_out):
                y[n, o, out] = add_terms([k * p for k, p in zip(k_row, rows[:, out]) if k != 0 and p != 0] + bias)
    return output_array(spec, y, ops.batched)
