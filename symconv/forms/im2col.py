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

from ..errors import SpecError
from ..spec import ConvSpec
from ..symbols import check_shape, to_canonical_input, to_canonical_weight
from .operands import add_terms, as_object_array, operands, output_array

ORDERS = ("unfold", "paper")


def _check_order(order: str) -> None:
    if order not in ORDERS:
        raise SpecError("order", order, f"must be one of {ORDERS}")


def _patches(spec: ConvSpec, xc: np.ndarray) -> np.ndarray:
    """Q[c, t, out] = x[c, src(out, t)] (0 for padding zeros) from canonical x (C_in, ∏in)."""
    table = spec.pattern.source_table.T  # (∏K, ∏out)
    padded = np.concatenate([xc, np.zeros((xc.shape[0], 1), dtype=object)], axis=1)
    return padded[:, np.where(table >= 0, table, xc.shape[1])]


def im2col(spec: ConvSpec, x: object, order: str = "unfold") -> sp.Matrix:
    """The patch matrix P of one sample (see the module docstring for both orders).

    >>> import symconv
    >>> spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    >>> x, w, _ = symconv.symbols(spec)
    >>> symconv.im2col(spec, x)
    Matrix([
    [x_{0,0}, x_{0,1}],
    [x_{0,1}, x_{0,2}]])
    """
    _check_order(order)
    x = as_object_array("x", x)
    check_shape("x", x, spec.input_shape, spec.layout)
    q = _patches(spec, to_canonical_input(spec, x).reshape(spec.in_channels, -1))
    if order == "unfold":
        return sp.Matrix(q.reshape(spec.in_channels * q.shape[1], q.shape[2]))
    return sp.Matrix(q.transpose(2, 1, 0).reshape(q.shape[2], -1))


def kernel_matrix(spec: ConvSpec, w: object, order: str = "unfold") -> sp.Matrix:
    """The kernel matrix K (see the module docstring for both orders)."""
    _check_order(order)
    w = as_object_array("w", w)
    check_shape("w", w, spec.weight_shape, spec.layout)
    wf = to_canonical_weight(spec, w).reshape(spec.out_channels, spec.in_per_group, -1)
    wf = wf[:, :, spec.pattern.weight_taps]
    if order == "unfold":
        return sp.Matrix(wf.reshape(spec.out_channels, -1))
    return sp.Matrix(wf.transpose(2, 1, 0).reshape(-1, spec.out_channels))


def im2col_conv(spec: ConvSpec, x: object, w: object, b: object = None, order: str = "unfold",
                patches: sp.MatrixBase | None = None,
                kernel: sp.MatrixBase | None = None) -> np.ndarray:
    """y by the im2col product, one matrix product per group, plus bias.

    ``patches`` / ``kernel`` replace the built P / K (to check a user's matrices); for a
    batched x a user-supplied P is used for every sample.
    """
    _check_order(order)
    ops = operands(spec, x, w, b)
    K = np.array(kernel_matrix(spec, w, order) if kernel is None else kernel, dtype=object)
    cg, n_taps, n_out = spec.in_per_group, prod(spec.kernel_size), prod(spec.output_size)
    if order == "unfold":
        check_shape("kernel", K, (spec.out_channels, cg * n_taps), "unfold order")
    else:
        check_shape("kernel", K, (n_taps * cg, spec.out_channels), "paper order")
    y = np.empty((ops.x.shape[0], spec.out_channels, n_out), dtype=object)
    for n, xn in enumerate(ops.x):
        if patches is None:
            q = _patches(spec, xn)
            P = (q.reshape(-1, n_out) if order == "unfold" else q.transpose(2, 1, 0).reshape(n_out, -1))
        else:
            P = np.array(patches, dtype=object)
        expected = (spec.in_channels * n_taps, n_out) if order == "unfold" else (n_out, n_taps * spec.in_channels)
        check_shape("patches", P, expected, f"{order} order")
        for o in range(spec.out_channels):
            g = spec.group_of(o)
            if order == "unfold":
                rows = P[g * cg * n_taps:(g + 1) * cg * n_taps]          # (cg·∏K, ∏out)
                k_row = K[o]                                              # (cg·∏K,)
            else:
                cols = np.array([t * spec.in_channels + g * cg + c for t in range(n_taps) for c in range(cg)])
                rows = P[:, cols].T                                       # (∏K·cg, ∏out)
                k_row = K[:, o]
            bias = [ops.b[o]] if ops.b is not None else []
            for out in range(n_out):
                y[n, o, out] = add_terms([k * p for k, p in zip(k_row, rows[:, out]) if k != 0 and p != 0] + bias)
    return output_array(spec, y, ops.batched)
