"""The transposed view: Tᵀ is the transposed convolution and the input gradient; g·Pᵀ is the
weight gradient. Everything is read off the same source table as the forward layer.

With L = ⟨g, conv(x, w, b)⟩ = Σ_{o,out} g[o, out] · y[o, out] (g the upstream gradient, shape
of y) and y = T·vec(x) + b ⊗ 1 = K·P + b:

    ∂L/∂x = Tᵀ·vec(g)          scatter: x̂[g(o)·C_in/groups + c, src(out, t)] += w[o, c, τ(t)] · g[o, out]
    ∂L/∂w = g·Pᵀ  (per group)  dw[o, c, τ(t)] = Σ_out g[o, out] · x[g(o)·C_in/groups + c, src(out, t)]
    ∂L/∂b = g·1                db[o] = Σ_out g[o, out]

The scatter form is the transposed convolution (``torch.nn.functional.conv_transpose{1,2,3}d``
with the forward layer's weight) when padding is zeros; with another padding mode src folds the
padded positions back, so the same scatter is Tᵀ = R_ᵀ·T_zeroᵀ, the gradient through the padding map.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import replace
from math import prod
from numbers import Integral

import numpy as np
import sympy as sp

from ..errors import SpecError
from ..spec import ConvSpec
from ..symbols import (check_shape, from_canonical_input, from_canonical_output,
                       from_canonical_weight, symbols, tensor_symbols, to_canonical_input,
                       to_canonical_output, to_canonical_weight)
from .definition import conv
from .im2col import _patches
from .operands import add_terms, as_object_array
from .toeplitz import toeplitz_entries


def _canonical(parameter: str, value: object, shape: tuple[int, ...], spec: ConvSpec, view) -> np.ndarray:
    """Check ``value`` has ``shape`` (naming the parameter otherwise) and view it channels-first."""
    array = as_object_array(parameter, value)
    check_shape(parameter, array, shape, spec.layout)
    return view(spec, array)


def _upstream(spec: ConvSpec, g: object) -> np.ndarray:
    """g (the spec's output layout) → canonical (C_out, ∏out)."""
    return _canonical("g", g, spec.output_shape, spec, to_canonical_output).reshape(spec.out_channels, -1)


def _scatter(spec: ConvSpec, g: np.ndarray, w: object) -> np.ndarray:
    """Σ_{o,out,t} w[o, c, τ(t)]·g[o, out] placed at (g(o)·C_in/groups + c, src(out, t)); canonical
    g (C_out, ∏out) → canonical x̂ (C_in, ∏in)."""
    wf = _canonical("w", w, spec.weight_shape, spec, to_canonical_weight)
    wf = wf.reshape(spec.out_channels, spec.in_per_group, -1)
    taps = spec.pattern.weight_taps
    cg = spec.in_per_group
    placed: dict[tuple[int, int], list] = defaultdict(list)
    for o in range(spec.out_channels):
        first = spec.group_of(o) * cg
        for out, row in enumerate(spec.pattern.source_table):
            for t, src in enumerate(row):
                if src >= 0:
                    for c in range(cg):
                        placed[(first + c, int(src))].append(wf[o, c, taps[t]] * g[o, out])
    x = np.empty((spec.in_channels, prod(spec.input_size)), dtype=object)
    for index in np.ndindex(*x.shape):
        x[index] = add_terms(placed.get(index, [0]))
    return x


def _output_padding(spec: ConvSpec, output_padding: object) -> tuple[int, ...]:
    rule = (f"must be an int or a tuple of {spec.dims} ints with 0 ≤ output_padding < "
            f"max(stride, dilation) on every axis (PyTorch's rule; stride={spec.stride}, "
            f"dilation={spec.dilation})")
    values = output_padding if isinstance(output_padding, (tuple, list)) else (output_padding,) * spec.dims
    if len(values) != spec.dims or any(isinstance(v, bool) or not isinstance(v, Integral) for v in values):
        raise SpecError("output_padding", output_padding, rule)
    if any(not 0 <= v < max(s, d) for v, s, d in zip(values, spec.stride, spec.dilation)):
        raise SpecError("output_padding", output_padding, rule)
    return tuple(int(v) for v in values)


def transposed_size(spec: ConvSpec, output_padding: object = 0) -> tuple[int, ...]:
    """PyTorch's transposed-convolution size per axis:
    (out − 1)·s − (p_before + p_after) + d·(K − 1) + 1 + output_padding."""
    ops = _output_padding(spec, output_padding)
    size = tuple((o - 1) * s - (pb + pa) + d * (k - 1) + 1 + op
                 for o, s, (pb, pa), d, k, op in zip(spec.output_size, spec.stride, spec.padding,
                                                     spec.dilation, spec.kernel_size, ops))
    if min(size) < 1:
        raise SpecError("output_padding", output_padding,
                        f"the transposed size (out − 1)·s − padding + d·(K − 1) + 1 + output_padding "
                        f"= {size} must be ≥ 1 on every axis")
    return size


def conv_transpose(spec: ConvSpec, g: object, w: object, output_padding: object = 0) -> np.ndarray:
    """PyTorch's ``conv_transpose{1,2,3}d(g, w, stride, padding, output_padding, groups, dilation)``
    of the forward layer ``spec`` (w of the forward layer's shape), by the scatter definition.

    Returns (C_in, *transposed_size(spec, output_padding)) (NHWC: channels last). Several input
    sizes n give the same forward output size; ``output_padding`` picks among them exactly as in
    torch, and the result is the transposed convolution of the spec with input size n:
    Tᵀ·vec(g), zero-extending g when that spec has more outputs.

    >>> import symconv
    >>> from symconv.forms.transpose import conv_transpose
    >>> spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    >>> conv_transpose(spec, [[1, 10]], [[[2, 3]]]).tolist()
    [[2, 23, 30]]
    """
    if spec.padding_mode != "zeros":
        raise SpecError("padding_mode", spec.padding_mode,
                        "conv_transpose is PyTorch's transposed convolution, which pads with zeros; "
                        "use input_gradient for Tᵀ through another padding map")
    target = replace(spec, input_size=transposed_size(spec, output_padding))
    gc = _upstream(spec, g)
    extended = np.zeros((spec.out_channels, *target.output_size), dtype=object)
    extended[(slice(None), *(slice(0, o) for o in spec.output_size))] = gc.reshape(
        spec.out_channels, *spec.output_size)
    x = _scatter(target, extended.reshape(spec.out_channels, -1), w)
    return from_canonical_input(target, x.reshape(spec.in_channels, *target.input_size))


def input_gradient(spec: ConvSpec, g: object, w: object, matrix: sp.MatrixBase | None = None) -> np.ndarray:
    """∂⟨g, conv(x, w, b)⟩/∂x = Tᵀ·vec(g), reshaped to x's shape (the spec's layout).

    Computed as a sparse product over the nonzeros of T (``toeplitz_entries``); ``matrix``
    replaces Tᵀ (shape (C_in·∏in, C_out·∏out)) to check a user's transposed matrix.
    """
    vec_g = as_object_array("g", g)
    check_shape("g", vec_g, spec.output_shape, spec.layout)
    vec_g = vec_g.reshape(-1)  # vec in the layout's row-major order, matching T's rows
    if matrix is None:
        entries = {(c, r): v for (r, c), v in toeplitz_entries(spec, w).items()}
    else:
        expected = spec.toeplitz_shape[::-1]
        check_shape("matrix", np.empty(matrix.shape, dtype=bool), expected, "Tᵀ")
        entries = {k: v for k, v in np.ndenumerate(np.asarray(matrix.tolist(), dtype=object)) if v != 0}
    by_row: dict[int, list] = defaultdict(list)
    for (c, r), value in entries.items():
        by_row[c].append(value * vec_g[r])
    n_cols = spec.toeplitz_shape[1]
    return np.array([add_terms(by_row.get(c, [0])) for c in range(n_cols)],
                    dtype=object).reshape(spec.input_shape)


def weight_gradient(spec: ConvSpec, x: object, g: object) -> np.ndarray:
    """∂⟨g, conv(x, w, b)⟩/∂w = g·Pᵀ per group, reshaped to w's shape (the spec's layout):
    dw[o, c, τ(t)] = Σ_out g[o, out] · P[(g(o)·C_in/groups + c)·∏K + t, out]."""
    xc = _canonical("x", x, spec.input_shape, spec, to_canonical_input).reshape(spec.in_channels, -1)
    gc = _upstream(spec, g)
    q = _patches(spec, xc)  # (C_in, ∏K, ∏out): P in unfold order, before flattening (c, t)
    cg, n_taps = spec.in_per_group, prod(spec.kernel_size)
    dw = np.empty((spec.out_channels, cg, n_taps), dtype=object)
    for o in range(spec.out_channels):
        first = spec.group_of(o) * cg
        for c in range(cg):
            for t in range(n_taps):
                dw[o, c, spec.pattern.weight_taps[t]] = add_terms(
                    [gv * p for gv, p in zip(gc[o], q[first + c, t]) if gv != 0 and p != 0] or [0])
    return from_canonical_weight(spec, dw.reshape(spec.out_channels, cg, *spec.kernel_size))


def bias_gradient(spec: ConvSpec, g: object) -> np.ndarray:
    """∂⟨g, conv(x, w, b)⟩/∂b = Σ_out g[o, out], shape (C_out,)."""
    return np.array([add_terms(list(row)) for row in _upstream(spec, g)], dtype=object)


def upstream_symbols(spec: ConvSpec) -> np.ndarray:
    """Symbolic upstream gradient g_{o,i,j} in the spec's output layout."""
    return from_canonical_output(spec, tensor_symbols("g", (spec.out_channels, *spec.output_size)))


def prove_transpose(spec: ConvSpec, *, matrix: sp.MatrixBase | None = None,
                    weight_grad: object = None, input_grad: object = None):
    """Prove on symbols x, w, b, g, by canonical expanded forms, that
    (a) Tᵀ·vec(g) equals the transposed convolution by its scatter definition,
    (b) g·Pᵀ equals ∂⟨g, conv(x, w, b)⟩/∂w (SymPy differentiation),
    (c) Tᵀ·vec(g) equals ∂⟨g, conv(x, w, b)⟩/∂x, and g·1 equals ∂⟨g, conv⟩/∂b.

    ``matrix`` (a claimed Tᵀ), ``weight_grad`` / ``input_grad`` (claimed gradients in the symbols
    of ``symbols(spec)`` and ``upstream_symbols(spec)``) replace symconv's to check your own.
    Returns a ``symconv.Proof`` whose counterexample index is (c, *in) for input-shaped forms
    and (o, c, *k) for the weight gradient.
    """
    from ..proof import Proof, first_entry_difference  # proof imports forms: import late

    if not isinstance(spec, ConvSpec):
        raise SpecError("spec", type(spec).__name__, "must be a symconv.ConvSpec")
    x, w, b = symbols(spec)
    g = upstream_symbols(spec)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    loss = sp.expand(sp.Add(*[gv * yv for gv, yv in zip(g.flat, conv(spec, x, w, b).flat)]))
    timings["definition"] = time.perf_counter() - start

    def derivative(array: np.ndarray) -> np.ndarray:
        return np.vectorize(lambda s: loss.diff(s), otypes=[object])(array)

    tx = input_gradient(spec, g, w, matrix=matrix) if input_grad is None else as_object_array("input_grad", input_grad)
    scatter = from_canonical_input(spec, _scatter(spec, _upstream(spec, g), w).reshape(spec.in_channels, *spec.input_size))
    checks = {
        "transpose": lambda: (to_canonical_input(spec, scatter), to_canonical_input(spec, tx)),
        "weight_gradient": lambda: (to_canonical_weight(spec, derivative(w)),
                                    to_canonical_weight(spec, weight_gradient(spec, x, g) if weight_grad is None
                                                        else as_object_array("weight_grad", weight_grad))),
        "input_gradient": lambda: (to_canonical_input(spec, derivative(x)), to_canonical_input(spec, tx)),
    }
    if spec.bias:
        checks["bias_gradient"] = lambda: (derivative(b), bias_gradient(spec, g))
    found = None
    for form, build in checks.items():
        start = time.perf_counter()
        expected, obtained = build()
        found = first_entry_difference(form, expected, obtained)
        timings[form] = time.perf_counter() - start
        if found is not None:
            break
    statement = ("Tᵀ·vec(g) = conv_transpose(g, w); g·Pᵀ = ∂⟨g, y⟩/∂w; Tᵀ·vec(g) = ∂⟨g, y⟩/∂x"
                 + ("; g·1 = ∂⟨g, y⟩/∂b" if spec.bias else ""))
    outputs = prod(spec.input_shape) * 2 + prod(spec.weight_shape) + (spec.out_channels if spec.bias else 0)
    return Proof(spec=spec, statement=statement, forms=tuple(checks), holds=found is None,
                 counterexample=found, terms=spec.n_terms, outputs=outputs, timings=timings)
