"""The transposed convolution and the backward pass read at a few entries by probing their
receptive fields (``fieldprobe`` in the roles of ``fieldroles``), and the map's own polynomials
at those entries, from the connections table.

With the forward layer's connections (r, a, i) (``symconv.connections``: output row r, weight a,
input i), the map's entries are

    y[i]      = Σ_{(r, a, i)} w[a]·g[r] (+ b[c])   the transposed convolution, over the layer whose
                                                  input has the transposed size (g zero-extended)
    grad_x[i] = Σ_{(r, a, i)} w[a]·g[r]
    grad_w[a] = Σ_{(r, a, i)} x[i]·g[r]            grad_b[o] = Σ_out g[o, out]

so an entry of y or grad_x reads g over the output positions whose windows cover it
(``fields.transposed_positions``: w labelled, g probed), one of grad_w or grad_b reads g
everywhere (x labelled, g probed: the zero tests by coordinate find the positions it reads).

>>> import symconv
>>> from symconv.testing.adjoint_maps import gradients_map
>>> m = gradients_map(symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False))
>>> expected_entries(m, "grad_w", [(0, 0, 1)]), expected_entries(m, "grad_x", [(0, 1)])
([g_{0,0}*x_{0,1} + g_{0,1}*x_{0,2}], [g_{0,0}*w_{0,0,1} + g_{0,1}*w_{0,0,0}])
>>> adjoint_roles(m, "grad_x").field([(0, 2)]).tolist()
[0, 1]
"""

from __future__ import annotations

from math import prod

import numpy as np
import sympy as sp

from ..connections import connections
from ..forms.transpose import transposed_spec
from .adjoint_maps import AdjointMap
from .adjoint_targets import adjoint_target
from .fieldroles import Roles, every_position
from .fields import entry_symbol, transposed_positions


def adjoint_roles(m: AdjointMap, output: str) -> Roles:
    """The roles in which ``output`` of ``m`` is read (module docstring)."""
    spec = m.spec
    layer = transposed_spec(spec, m.output_padding) if m.kind == "transpose" else spec
    g_shape = (spec.out_channels, *spec.output_size)
    shapes = {"g": g_shape, "w": (spec.out_channels, spec.in_per_group, *spec.kernel_size),
              "x": (spec.in_channels, *spec.input_size), "b": (spec.in_channels,),
              "y": (spec.in_channels, *layer.input_size), "grad_x": (spec.in_channels, *spec.input_size),
              "grad_b": (spec.out_channels,)}
    shapes["grad_w"] = shapes["w"]
    labelled = "w" if output in ("y", "grad_x") else "x"
    bias = "b" if m.kind == "transpose" and spec.bias else None
    if labelled == "w":
        def field(entries: list[tuple[int, ...]]) -> np.ndarray:
            return transposed_positions(layer, spec.output_size, [tuple(p) for _, *p in entries])
    else:
        field = every_position(g_shape)
    return Roles(spec, adjoint_target(m), "g", labelled, bias, output, shapes, field)


def expected_entries(m: AdjointMap, output: str, entries: list[tuple[int, ...]]) -> list[sp.Expr]:
    """The map's polynomial at each canonical entry of ``output`` (module docstring)."""
    spec, roles = m.spec, adjoint_roles(m, output)
    shapes, n_out = roles.shapes, prod(spec.output_size)
    if output == "grad_b":
        return [sp.Add(*(entry_symbol("g", shapes["g"], o * n_out + k) for k in range(n_out))) for (o,) in entries]
    layer = transposed_spec(spec, m.output_padding) if m.kind == "transpose" else spec
    table = connections(layer)
    flats = np.ravel_multi_index(tuple(np.array(entries, dtype=np.int64).T), shapes[output])
    o, out = divmod(table.row, prod(layer.output_size))
    coordinates = np.array(np.unravel_index(out, layer.output_size), dtype=np.int64).reshape(spec.dims, -1)
    sizes = np.array(spec.output_size)[:, None]
    inside = np.all(coordinates < sizes, axis=0)   # g is zero-extended beyond its size
    g = o * n_out + np.ravel_multi_index(tuple(np.minimum(coordinates, sizes - 1)), spec.output_size)
    polynomials = []
    for flat, entry in zip(flats, entries):
        if output == "grad_w":
            mine = (table.weight == flat) & inside
            terms = [entry_symbol("x", shapes["x"], i) * entry_symbol("g", shapes["g"], r)
                     for i, r in zip(table.input[mine], g[mine])]
        else:
            mine = (table.input == flat) & inside
            terms = [entry_symbol("w", shapes["w"], a) * entry_symbol("g", shapes["g"], r)
                     for a, r in zip(table.weight[mine], g[mine])]
        if roles.bias is not None:
            terms.append(entry_symbol("b", shapes["b"], entry[0]))
        polynomials.append(sp.Add(*terms))
    return polynomials


def user_index(roles: Roles, name: str, entry: tuple[int, ...]) -> tuple[int, ...]:
    """A canonical entry of an output as its index in fn's layout (found by moving an array of
    flat ids, so no layout is spelled out twice)."""
    shape = roles.shapes[name]
    ids = roles.to_fn(name, np.arange(prod(shape)).reshape(shape))
    return tuple(int(v) for v in np.argwhere(ids == np.ravel_multi_index(entry, shape))[0])
