"""Receptive fields and expected polynomials of single outputs, for probing a few outputs only.

A differing output y[o, out] of a layer's definition reads, per spatial axis, the padded positions
u = s·out + d·k − p_before (k < K). Code that gets the padding, stride or dilation wrong reads
positions shifted by up to a kernel span plus a stride, and code with another padding mode reads
their images under that mode (a circular pad reads the far end). ``receptive_positions`` is the
union of all of these, clipped to the input; ``expected_polynomials`` is the definition's
polynomial at an output, b[o] + Σ w[a]·x[i] over its connections (``connections_of_rows``).

>>> from symconv import ConvSpec
>>> spec = ConvSpec(1, 1, kernel_size=3, input_size=8, padding=1)
>>> receptive_positions(spec, [(0,)]).tolist()     # reads −1 … 1, widened by 3 each side, wrapped
[0, 1, 2, 3, 4, 5, 6, 7]
>>> receptive_positions(ConvSpec(1, 1, kernel_size=3, input_size=16), [(6,)]).tolist()
[3, 4, 5, 6, 7, 8, 9, 10, 11]
>>> expected_polynomials(ConvSpec(1, 2, kernel_size=2, input_size=3), [(1, 1)])
[b_{1} + w_{1,0,0}*x_{0,1} + w_{1,0,1}*x_{0,2}]
"""

from __future__ import annotations

from dataclasses import replace
from itertools import product
from math import prod

import numpy as np
import sympy as sp

from ..connections import connections_of_rows
from ..pattern import PADDING_MODES, AxisPattern, kernel_span
from ..spec import ConvSpec


def entry_symbol(name: str, shape: tuple[int, ...], flat: int) -> sp.Symbol:
    """The symbol of entry ``flat`` (row-major, channels first) of a tensor, named as
    ``symconv.symbols`` names it, without building the whole tensor of symbols."""
    return sp.Symbol(f"{name}_{{{','.join(str(int(i)) for i in np.unravel_index(flat, shape))}}}")


def _axis_reads(axis: AxisPattern, out: int) -> np.ndarray:
    """Input positions along one axis an output at ``out`` may read under a wrong padding,
    stride or dilation: its padded window widened by a kernel span and a stride on each side,
    mapped into the input by every padding mode."""
    reach = kernel_span(axis.kernel, axis.dilation) - 1 + axis.stride
    window = np.arange(axis.padded_position(out, 0) - reach, axis.padded_position(out, axis.kernel - 1) + reach + 1)
    reads = np.concatenate([np.asarray(replace(axis, mode=mode).source(window)) for mode in PADDING_MODES])
    return np.unique(reads[(reads >= 0) & (reads < axis.size)])


def receptive_positions(spec: ConvSpec, outs: list[tuple[int, ...]]) -> np.ndarray:
    """Flat spatial input positions (row-major, sorted) that the outputs at spatial positions
    ``outs`` may read (module docstring)."""
    flats = []
    for out in outs:
        per_axis = [_axis_reads(axis, p) for axis, p in zip(spec.pattern.axes, out)]
        grid = np.array(list(product(*per_axis)), dtype=np.int64).T
        flats.append(np.ravel_multi_index(tuple(grid), spec.input_size))
    return np.unique(np.concatenate(flats))


def transposed_positions(spec: ConvSpec, out_size: tuple[int, ...], entries: list[tuple[int, ...]]) -> np.ndarray:
    """Flat output positions (row-major over ``out_size``, sorted) whose windows may cover the
    input positions ``entries`` of ``spec`` (``_axis_reads``, inverted): the field that an entry
    of a transposed convolution or of an input gradient reads its upstream gradient g over.

    >>> spec = ConvSpec(1, 1, kernel_size=3, input_size=16, stride=2, padding=1)
    >>> transposed_positions(spec, spec.output_size, [(6,)]).tolist()   # out = 3 reads it, ± a span and a stride
    [1, 2, 3, 4, 5]
    """
    flats = []
    for entry in entries:
        per_axis = [[o for o in range(n) if p in _axis_reads(axis, o)]
                    for axis, n, p in zip(spec.pattern.axes, out_size, entry)]
        grid = np.array(list(product(*per_axis)), dtype=np.int64).reshape(-1, len(out_size)).T
        flats.append(np.ravel_multi_index(tuple(grid), out_size))
    return np.unique(np.concatenate(flats)).astype(np.int64)


def expected_polynomials(spec: ConvSpec, outputs: list[tuple[int, ...]]) -> list[sp.Expr]:
    """The definition's polynomial at each canonical output index (o, *out)."""
    n_out = prod(spec.output_size)
    rows = [o * n_out + int(np.ravel_multi_index(out, spec.output_size)) for o, *out in outputs]
    table = connections_of_rows(spec, np.array(sorted(set(rows)), dtype=np.int64))
    x_shape = (spec.in_channels, *spec.input_size)
    w_shape = (spec.out_channels, spec.in_per_group, *spec.kernel_size)
    polynomials = []
    for row in rows:
        mine = table.row == row
        terms = [entry_symbol("w", w_shape, a) * entry_symbol("x", x_shape, i)
                 for a, i in zip(table.weight[mine], table.input[mine])]
        if spec.bias:
            terms.append(entry_symbol("b", (spec.out_channels,), row // n_out))
        polynomials.append(sp.Add(*terms))
    return polynomials
