"""One output of a layer as the exact polynomial it is, in logical symbols: x_{c,i,j} (the layer's
input, channels first), w_{o,c,p,q} (the spec's weight, (O, I/groups, *k)), b_{o}."""

from __future__ import annotations

import numpy as np
import sympy as sp

from .bilinear import Side


def _symbol(name: str, flat: int, shape: tuple[int, ...]) -> sp.Symbol:
    index = np.unravel_index(flat, shape)
    return sp.Symbol(f"{name}_{{{','.join(str(int(i)) for i in index)}}}")


def row_polynomial(side: Side, row: int) -> sp.Expr:
    """The polynomial of logical output ``row`` of ``side``, rebuilt from its canonical monomials.

    >>> from symconv import ConvSpec
    >>> from symconv.diffing.bilinear import as_layer, side_of
    >>> row_polynomial(side_of(as_layer(ConvSpec(1, 1, kernel_size=2, input_size=3), "a")), 1)
    b_{0} + w_{0,0,0}*x_{0,1} + w_{0,0,1}*x_{0,2}
    """
    basis = side.basis
    form = side.canonical()
    keys, coefficients = form.keys, form.coefficients()
    mine = keys // (basis.W * basis.X) == row
    total = []
    for key, coefficient in zip(keys[mine], coefficients[mine]):
        a, i = divmod(int(key) % (basis.W * basis.X), basis.X)
        factor = (_symbol("w", a, side.w_shape) if a < basis.n_w
                  else sp.Symbol(f"b_{{{a - basis.n_w}}}"))
        source = _symbol("x", i, side.x_shape) if i < basis.n_x else sp.Integer(1)
        total.append(int(coefficient) * factor * source)
    return sp.Add(*total)
