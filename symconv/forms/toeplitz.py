"""The fully connected view: the (multi-level) Toeplitz matrix T with vec(y) = T·vec(x) + b ⊗ 1.

Entry formula (NCHW, vec row-major, so row = o·∏out + out and column = c·∏in + i):

    T[(o, out), (c, i)] = Σ_t w[o, c − g(o)·C_in/groups, τ(t)] · [src(out, t) = i]

for c in the group of o, and 0 otherwise. The indicator [src(out, t) = i] is the product over
axes of the per-axis patterns Π_a[k_a, out_a, i_a]. With zero padding T is multi-level Toeplitz
(doubly-block Toeplitz in 2-D); other padding modes fold padded positions back onto the input,
giving T_zero·R with R the 0/1 padding map. NHWC orders rows (out, o) and columns (i, c).
"""

from __future__ import annotations

from collections import defaultdict
from math import prod

import numpy as np
import sympy as sp

from ..connections import connections
from ..errors import renamed_keyword
from ..spec import ConvSpec, Index
from ..symbols import check_shape, to_canonical_weight
from .entries import checked_matrix
from .operands import add_terms, as_object_array, operands, output_array


def row_index(spec: ConvSpec, o: Index, out: Index) -> Index:
    """Row of output (channel o, flat position out) in vec(y) for the spec's layout."""
    if spec.layout == "NHWC":
        return out * spec.out_channels + o
    return o * prod(spec.output_size) + out


def column_index(spec: ConvSpec, c: Index, i: Index) -> Index:
    """Column of input (channel c, flat position i) in vec(x) for the spec's layout."""
    if spec.layout == "NHWC":
        return i * spec.in_channels + c
    return c * prod(spec.input_size) + i


def toeplitz_entries(spec: ConvSpec, w: object) -> dict[tuple[int, int], object]:
    """{(row, column): T entry} for the nonzero pattern of T (entries are sums of weights): the
    scatter of w[a] to (row_index(o, out), column_index(c, i)) over the connections."""
    w = as_object_array("w", w)
    check_shape("w", w, spec.weight_shape, spec.layout)
    weights = to_canonical_weight(spec, w).reshape(-1)
    table = connections(spec)
    rows, columns = row_index(spec, *table.outputs()), column_index(spec, *table.inputs())
    collected: dict[tuple[int, int], list] = defaultdict(list)
    for r, c, a in zip(rows.tolist(), columns.tolist(), table.weight.tolist()):
        collected[(r, c)].append(weights[a])
    return {key: add_terms(terms) for key, terms in collected.items()}


def toeplitz(spec: ConvSpec, w: object) -> sp.SparseMatrix:
    """T as a SymPy sparse matrix of shape (C_out·∏out, C_in·∏in): the FC layer equal to the conv.

    >>> import symconv
    >>> spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    >>> x, w, _ = symconv.symbols(spec)
    >>> symconv.toeplitz(spec, w)
    Matrix([
    [w_{0,0,0}, w_{0,0,1},         0],
    [        0, w_{0,0,0}, w_{0,0,1}]])
    """
    rows, cols = spec.toeplitz_shape
    return sp.SparseMatrix(rows, cols, toeplitz_entries(spec, w))


def toeplitz_conv(spec: ConvSpec, x: object, w: object, b: object = None,
                  toeplitz: sp.MatrixBase | None = None, *, matrix: sp.MatrixBase | None = None) -> np.ndarray:
    """y = T·vec(x) + b ⊗ 1, computed as a sparse matrix–vector product over T's nonzeros.

    ``toeplitz`` replaces the built T (to check a user's matrix, as ``prove(toeplitz=…)``); it
    must have T's shape. ``matrix`` is its former name, deprecated.

    >>> import symconv
    >>> spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3)
    >>> symconv.toeplitz_conv(spec, [[1, 2, 3]], [[[1, -1]]], [10])
    array([[9, 9]], dtype=object)
    """
    claimed = renamed_keyword("toeplitz", toeplitz, "matrix", matrix)
    ops = operands(spec, x, w, b)
    if claimed is None:  # the entries T is built from (the keyword hides the function toeplitz here)
        entries = toeplitz_entries(spec, w)
    else:
        T = checked_matrix("toeplitz", claimed)
        check_shape("toeplitz", np.empty(T.shape, dtype=bool), spec.toeplitz_shape, spec.layout)
        entries = T.todok() if hasattr(T, "todok") else {
            (r, c): v for (r, c), v in np.ndenumerate(np.asarray(T, dtype=object)) if v != 0}
    by_row: dict[int, list[tuple[int, object]]] = defaultdict(list)
    for (r, c), value in entries.items():
        by_row[r].append((c, value))
    n_rows = spec.toeplitz_shape[0]
    y = np.empty((ops.x.shape[0], spec.out_channels, prod(spec.output_size)), dtype=object)
    for n, xn in enumerate(ops.x):
        vec_x = _vec(spec, xn)
        vec_y = [add_terms([value * vec_x[c] for c, value in by_row.get(r, [])]) for r in range(n_rows)]
        for o in range(spec.out_channels):
            for out in range(prod(spec.output_size)):
                bias = ops.b[o] if ops.b is not None else 0
                y[n, o, out] = vec_y[row_index(spec, o, out)] + bias
    return output_array(spec, y, ops.batched)


def _vec(spec: ConvSpec, xn: np.ndarray) -> np.ndarray:
    """vec(x) in the layout's row-major order, from the canonical (C_in, ∏in) view."""
    return xn.T.reshape(-1) if spec.layout == "NHWC" else xn.reshape(-1)
