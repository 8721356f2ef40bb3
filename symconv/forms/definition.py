"""The definition of a convolution layer, evaluated term by term.

    y[o, out] = b[o] + Σ_{c < C_in/groups} Σ_{t : src(out, t) ≠ none}
                w[o, c, τ(t)] · x[g(o)·C_in/groups + c, src(out, t)]

with src the pattern's source table and τ the weight tap (t, or t mirrored for true convolution):
the gather of w[a]·x[i] into row r over the connections (r, a, i) of ``symconv.connections``.
"""

from __future__ import annotations

from math import prod

import numpy as np

from ..connections import connections
from ..spec import ConvSpec
from .operands import add_terms, operands, output_array


def conv(spec: ConvSpec, x: object, w: object, b: object = None) -> np.ndarray:
    """The convolution layer's output by its definition (the reference every form is proved against).

    Works on object arrays of SymPy symbols and on exact numbers alike; x may carry a leading
    batch axis. Returns (C_out, *output_size) (NCHW) or (*output_size, C_out) (NHWC).

    >>> import symconv
    >>> spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    >>> x, w, _ = symconv.symbols(spec)
    >>> symconv.conv(spec, x, w)[0, 0]
    w_{0,0,0}*x_{0,0} + w_{0,0,1}*x_{0,1}

    Exact integers, with a batch axis of two samples and a bias:

    >>> spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3)
    >>> symconv.conv(spec, [[[1, 2, 3]], [[0, 0, 5]]], [[[1, -1]]], [10])
    array([[[9, 9]],
    <BLANKLINE>
           [[10, 5]]], dtype=object)
    """
    ops = operands(spec, x, w, b)
    table = connections(spec)
    n_out = prod(spec.output_size)
    starts = table.row_starts(0, spec.out_channels * n_out)
    weights = ops.w.reshape(-1)[table.weight]
    y = np.empty((ops.x.shape[0], spec.out_channels * n_out), dtype=object)
    for n, xn in enumerate(ops.x):
        products = weights * xn.reshape(-1)[table.input]       # one term w[a]·x[i] per connection
        for r in range(len(starts) - 1):
            bias = [ops.b[r // n_out]] if ops.b is not None else []
            y[n, r] = add_terms(list(products[starts[r]:starts[r + 1]]) + bias)
    return output_array(spec, y.reshape(len(y), spec.out_channels, n_out), ops.batched)
