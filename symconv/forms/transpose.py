"""The transposed view: Tᵀ is the transposed convolution and the input gradient; g·Pᵀ is the
weight gradient. Everything is read off the same source table as the forward layer.

With L = Σ_n ⟨g_n, conv(x_n, w, b)⟩ (g the upstream gradient, shape of y; n runs over the batch
when there is one) and y_n = T·vec(x_n) + b ⊗ 1 = K·P_n + b:

    ∂L/∂x_n = Tᵀ·vec(g_n)             scatter: x̂[g(o)·C_in/groups + c, src(out, t)] += w[o, c, τ(t)] · g_n[o, out]
    ∂L/∂w = Σ_n g_n·P_nᵀ (per group)  dw[o, c, τ(t)] = Σ_n Σ_out g_n[o, out] · x_n[g(o)·C_in/groups + c, src(out, t)]
    ∂L/∂b = Σ_n g_n·1                 db[o] = Σ_n Σ_out g_n[o, out]

so the input gradient is per sample and the parameter gradients are summed over the batch, as
autograd accumulates them. Every function takes g (and x) with or without a leading batch axis,
like ``symconv.conv``.

The scatter form is the transposed convolution (``torch.nn.functional.conv_transpose{1,2,3}d``
with the forward layer's weight) when padding is zeros; with another padding mode src folds the
padded positions back, so the same scatter is Tᵀ = Rᵀ·T_zeroᵀ, the gradient through the padding map.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from math import prod
from numbers import Integral
from typing import Any

import numpy as np
import sympy as sp

from ..connections import connections
from ..errors import SpecError, renamed_keyword, work_limit
from ..pattern import smallest_input_size
from ..result import (
    Supplied,
    TransposeProof,
    adjoint_name,
    adjoint_note,
    check_supplied,
    compare_supplied,
    first_entry_difference,
)
from ..spec import ConvSpec, check_spec
from ..symbols import (
    check_batch,
    check_shape,
    from_canonical_input,
    from_canonical_output,
    from_canonical_weight,
    symbols,
    tensor_symbols,
    to_canonical_input,
    to_canonical_output,
    to_canonical_weight,
)
from .definition import conv
from .entries import checked_matrix
from .im2col import group_factors, kernel_array, patch_array
from .operands import add_terms, as_object_array
from .toeplitz import toeplitz, toeplitz_entries


def _samples(parameter: str, value: object, shape: tuple[int, ...], spec: ConvSpec,
             view=lambda spec, a: a) -> tuple[np.ndarray, bool]:
    """``value`` of ``shape`` or (B, *shape) → (B, *shape) seen through ``view``, and whether it
    was batched; SpecError naming the parameter otherwise."""
    array = as_object_array(parameter, value)
    batched = array.ndim == len(shape) + 1
    if tuple(array.shape[int(batched):]) != tuple(shape) or (batched and len(array) == 0):
        raise SpecError(f"{parameter}.shape", tuple(array.shape),
                        f"must be {tuple(shape)} or (B, {', '.join(map(str, shape))}) with a batch B ≥ 1 for this "
                        f"spec ({spec.layout} layout)")
    return view(spec, array if batched else array[None]), batched


def _upstream(spec: ConvSpec, g: object) -> tuple[np.ndarray, bool]:
    """g (the spec's output layout, batched or not) → canonical (B, C_out, ∏out), batched."""
    gc, batched = _samples("g", g, spec.output_shape, spec, to_canonical_output)
    return gc.reshape(len(gc), spec.out_channels, -1), batched


def _scatter(spec: ConvSpec, g: np.ndarray, w: object) -> np.ndarray:
    """Σ_{o,out,t} w[o, c, τ(t)]·g_n[o, out] placed at (g(o)·C_in/groups + c, src(out, t)): the
    scatter of w[a]·g_n[r] to i over the connections (r, a, i); canonical g (B, C_out, ∏out) →
    canonical x̂ (B, C_in, ∏in)."""
    wf = as_object_array("w", w)
    check_shape("w", wf, spec.weight_shape, spec.layout)
    weights = to_canonical_weight(spec, wf).reshape(-1)
    table = connections(spec)
    order, starts = table.grouped_by(table.input, spec.in_channels * prod(spec.input_size))
    placed = weights[table.weight[order]]
    x = np.empty((len(g), spec.in_channels * prod(spec.input_size)), dtype=object)
    for n, gn in enumerate(g):
        products = placed * gn.reshape(-1)[table.row[order]]
        for i in range(x.shape[1]):
            x[n, i] = add_terms(list(products[starts[i]:starts[i + 1]]))
    return x.reshape(len(g), spec.in_channels, -1)


def _output_padding(spec: ConvSpec, output_padding: object) -> tuple[int, ...]:
    rule = (f"must be an int or a tuple of {spec.dims} ints with 0 ≤ output_padding < "
            f"max(stride, dilation) on every axis (PyTorch's rule; stride={spec.stride}, "
            f"dilation={spec.dilation})")
    values = output_padding if isinstance(output_padding, (tuple, list)) else (output_padding,) * spec.dims
    if len(values) != spec.dims or any(isinstance(v, bool) or not isinstance(v, Integral) for v in values):
        raise SpecError("output_padding", output_padding, rule)
    ints = tuple(int(v) for v in values if isinstance(v, Integral))  # every one is, as just checked
    if any(not 0 <= v < max(s, d) for v, s, d in zip(ints, spec.stride, spec.dilation)):
        raise SpecError("output_padding", output_padding, rule)
    return ints


def transposed_size(spec: ConvSpec, output_padding: object = 0) -> tuple[int, ...]:
    """PyTorch's transposed-convolution size per axis:
    (out − 1)·s − (p_before + p_after) + d·(K − 1) + 1 + output_padding."""
    ops = _output_padding(spec, output_padding)
    size = tuple(smallest_input_size(o, k, s, d, pb + pa) + op
                 for o, s, (pb, pa), d, k, op in zip(spec.output_size, spec.stride, spec.padding,
                                                     spec.dilation, spec.kernel_size, ops))
    if min(size) < 1:
        raise SpecError("output_padding", output_padding,
                        f"the transposed size (out − 1)·s − padding + d·(K − 1) + 1 + output_padding "
                        f"= {size} must be ≥ 1 on every axis")
    return size


def transposed_spec(spec: ConvSpec, output_padding: object = 0) -> ConvSpec:
    """The forward layer whose Tᵀ is the transposed convolution of ``spec`` at ``output_padding``:
    ``spec`` with input size ``transposed_size(spec, output_padding)``. Its output size can exceed
    spec's (when output_padding ≥ stride, possible with dilation > stride); the extra outputs
    multiply zeros."""
    if spec.padding_mode != "zeros":
        raise SpecError("padding_mode", spec.padding_mode,
                        "conv_transpose is PyTorch's transposed convolution, which pads with zeros; "
                        "use input_gradient for Tᵀ through another padding map")
    return replace(spec, input_size=transposed_size(spec, output_padding))


def conv_transpose(spec: ConvSpec, g: object, w: object, output_padding: object = 0) -> np.ndarray:
    """PyTorch's ``conv_transpose{1,2,3}d(g, w, stride, padding, output_padding, groups, dilation)``
    of the forward layer ``spec`` (w of the forward layer's shape), by the scatter definition.

    g is (C_out, *out) or batched (B, C_out, *out) (NHWC: channels last). Returns
    (C_in, *transposed_size(spec, output_padding)), batched like g. Several input
    sizes n give the same forward output size; ``output_padding`` picks among them exactly as in
    torch, and the result is the transposed convolution of the spec with input size n:
    Tᵀ·vec(g), zero-extending g when that spec has more outputs.

    >>> import symconv
    >>> from symconv.forms.transpose import conv_transpose
    >>> spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    >>> conv_transpose(spec, [[1, 10]], [[[2, 3]]]).tolist()
    [[2, 23, 30]]
    >>> conv_transpose(spec, [[[1, 10]], [[0, 1]]], [[[2, 3]]]).tolist()   # a batch of two
    [[[2, 23, 30]], [[0, 2, 3]]]
    """
    target = transposed_spec(spec, output_padding)
    gc, batched = _upstream(spec, g)
    extended = np.zeros((len(gc), spec.out_channels, *target.output_size), dtype=object)
    extended[(slice(None), slice(None), *(slice(0, o) for o in spec.output_size))] = gc.reshape(
        len(gc), spec.out_channels, *spec.output_size)
    x = _scatter(target, extended.reshape(len(gc), spec.out_channels, -1), w)
    x = from_canonical_input(target, x.reshape(len(gc), spec.in_channels, *target.input_size))
    return x if batched else x[0]


def input_gradient(spec: ConvSpec, g: object, w: object, toeplitz_transpose: sp.MatrixBase | None = None, *,
                   matrix: sp.MatrixBase | None = None) -> np.ndarray:
    """∂L/∂x_n = Tᵀ·vec(g_n), reshaped to x's shape (the spec's layout), per sample when g is
    batched (B, *output_shape).

    Computed as a sparse product over the nonzeros of T (``toeplitz_entries``);
    ``toeplitz_transpose`` replaces Tᵀ (shape (C_in·∏in, C_out·∏out)) to check a user's
    transposed matrix, as ``prove_transpose(toeplitz_transpose=…)``; ``matrix`` is its former
    name, deprecated.
    """
    claimed = renamed_keyword("toeplitz_transpose", toeplitz_transpose, "matrix", matrix)
    vec_g, batched = _samples("g", g, spec.output_shape, spec)
    vec_g = vec_g.reshape(len(vec_g), -1)  # vec in the layout's row-major order, matching T's rows
    if claimed is None:
        entries = {(c, r): v for (r, c), v in toeplitz_entries(spec, w).items()}
    else:
        transposed = checked_matrix("toeplitz_transpose", claimed)
        check_shape("toeplitz_transpose", np.empty(transposed.shape, dtype=bool), spec.toeplitz_shape[::-1], "Tᵀ")
        entries = {k: v for k, v in np.ndenumerate(np.asarray(transposed.tolist(), dtype=object)) if v != 0}
    by_row: dict[int, list] = defaultdict(list)
    for (c, r), value in entries.items():
        by_row[c].append((r, value))
    n_cols = spec.toeplitz_shape[1]
    dx = np.array([[add_terms([value * gn[r] for r, value in by_row.get(c, ())]) for c in range(n_cols)]
                   for gn in vec_g], dtype=object).reshape(len(vec_g), *spec.input_shape)
    return dx if batched else dx[0]


def weight_gradient(spec: ConvSpec, x: object, g: object) -> np.ndarray:
    """∂L/∂w = Σ_n g_n·P_nᵀ per group, reshaped to w's shape (the spec's layout):
    dw[o, c, τ(t)] = Σ_n Σ_out g_n[o, out] · P_n[(g(o)·C_in/groups + c)·∏K + t, out], with P and
    the rows of o's group those of ``symconv.forms.im2col`` (unfold order).
    x and g are both unbatched or both batched with the same B (summed, as autograd does)."""
    xc, x_batched = _samples("x", x, spec.input_shape, spec, to_canonical_input)
    gc, g_batched = _upstream(spec, g)
    if x_batched != g_batched or len(xc) != len(gc):
        # np.shape reads any object (a scalar's shape is ()); NumPy's stubs accept only array-likes
        g_shape, x_shape = np.shape(g), np.shape(x)  # type: ignore[call-overload]
        raise SpecError("g.shape", g_shape, f"must have the same batch axis as x (x.shape="
                        f"{x_shape}): one upstream gradient per sample")
    shape = (spec.out_channels, spec.in_per_group, *spec.kernel_size)
    # K of weight ids: ∂L/∂K[o, j] = Σ_n Σ_out g_n[o, out]·P_n[j of o's group, out] is ∂L/∂w at K[o, j]
    ids = kernel_array(spec, np.arange(prod(shape)).reshape(spec.out_channels, spec.in_per_group, -1), "unfold")
    patches = [patch_array(spec, xn.reshape(spec.in_channels, -1), "unfold") for xn in xc]
    dw = np.empty(prod(shape), dtype=object)
    for o in range(spec.out_channels):
        rows = [group_factors(spec, pn, ids, o, "unfold")[1] for pn in patches]
        for j, a in enumerate(ids[o]):
            dw[a] = add_terms([gv * p for gn, rn in zip(gc, rows) for gv, p in zip(gn[o], rn[j]) if gv != 0 and p != 0])
    return from_canonical_weight(spec, dw.reshape(shape))


def bias_gradient(spec: ConvSpec, g: object) -> np.ndarray:
    """∂L/∂b = Σ_n Σ_out g_n[o, out], shape (C_out,)."""
    gc, _ = _upstream(spec, g)
    return np.array([add_terms(list(gc[:, o].flat)) for o in range(spec.out_channels)], dtype=object)


def upstream_symbols(spec: ConvSpec, batch: int | None = None) -> np.ndarray:
    """Symbolic upstream gradient g_{o,i,j} in the spec's output layout; with ``batch=B`` a leading
    axis of B samples named g_{n,o,i,j} (as ``symbols(spec, batch=B)`` names x)."""
    leading = () if batch is None else (batch,)
    return from_canonical_output(spec, tensor_symbols("g", (*leading, spec.out_channels, *spec.output_size)))


def _partials(polynomial: sp.Expr) -> dict[sp.Symbol, list[sp.Expr]]:
    """{s: the terms of ∂polynomial/∂s} of an expanded polynomial, by the power rule on each
    monomial (c·s^e·rest ↦ e·c·s^(e−1)·rest): one pass over the terms instead of one
    ``diff`` of the whole polynomial per symbol.

    >>> a, b = sp.symbols("a b")
    >>> partials = _partials(sp.expand(3*a**2*b + b + 2))
    >>> sp.Add(*partials[a]), sp.Add(*partials[b])
    (6*a*b, 3*a**2 + 1)
    """
    partials: dict[sp.Symbol, list[sp.Expr]] = defaultdict(list)
    for term in sp.Add.make_args(polynomial):
        for factor, power in term.as_powers_dict().items():
            if isinstance(factor, sp.Symbol):
                partials[factor].append(power * term / factor)
    return partials


MAX_TRANSPOSE_TERMS = 50_000
"""Default bound on the monomials of L = Σ_n ⟨g_n, y_n⟩ a transpose proof expands (0.5–1 ms
each on 2 shared cores: 20 000 terms took 10 s, so the bound is under a minute);
``prove_transpose(max_terms=…)`` raises it."""


def _claims(spec: ConvSpec, x: np.ndarray, w: np.ndarray, g: np.ndarray,
            claimed: dict[str, object], keyword: str = "toeplitz_transpose") -> dict[str, Supplied]:
    """{keyword: Supplied} of the Tᵀ and gradients the user claimed (exact entries, shapes checked):
    each may use only its own symbols, and Tᵀ must be the layer's own. ``keyword`` is the name Tᵀ
    was passed under (its errors name it)."""
    weights, inputs, upstream = frozenset(w.flat), frozenset(x.flat), frozenset(g.flat)
    # keyword: (shape, layout, form, own, allowed, operands, rule, reference), as Supplied.of takes them
    rows: dict[str, tuple[tuple[int, ...], str, str, Callable[[], Any] | None, frozenset, str, str,
                          Callable[[], Any] | None]] = {
        "toeplitz_transpose": (spec.toeplitz_shape[::-1], "Tᵀ", "transpose_matrix", lambda: toeplitz(spec, w).T,
                               weights, "the weights", "Tᵀ must be a polynomial in the weights only", None),
        # no own matrix to equal, but a counterexample shows the true gradient as expected
        "weight_grad": (spec.weight_shape, spec.layout, "weight_gradient", None, inputs | upstream, "x and g",
                        "∂L/∂w must be a polynomial in x and g only", lambda: weight_gradient(spec, x, g)),
        "input_grad": (x.shape, spec.layout, "input_gradient", None, weights | upstream, "w and g",
                       "∂L/∂x must be a polynomial in w and g only", lambda: input_gradient(spec, g, w))}
    passed = {"toeplitz_transpose": keyword}
    return {name: Supplied.of(passed.get(name, name), claimed[name], *rest)
            for name, rest in rows.items() if claimed[name] is not None}


def _transpose_statement(spec: ConvSpec, batch: int | None) -> str:
    """What ``prove_transpose`` states, for one sample or a batch of ``batch``: Tᵀ·vec(g) is named
    for this layer (``adjoint_name``: conv_transpose with its output_padding, or for another
    padding mode than zeros the scatter through its padding map)."""
    note = adjoint_note(spec)
    if batch is None:
        return (f"Tᵀ·vec(g) = {adjoint_name(spec)[0]}{note}; g·Pᵀ = ∂⟨g, y⟩/∂w; Tᵀ·vec(g) = ∂⟨g, y⟩/∂x"
                + ("; g·1 = ∂⟨g, y⟩/∂b" if spec.bias else ""))
    return (f"for a batch of {batch}, L = Σ_n ⟨g_n, y_n⟩: Tᵀ·vec(g_n) = {adjoint_name(spec, 'g_n')[0]}{note}; "
            "Σ_n g_n·P_nᵀ = ∂L/∂w; Tᵀ·vec(g_n) = ∂L/∂x_n" + ("; Σ_n g_n·1 = ∂L/∂b" if spec.bias else ""))


def _transpose_checks(spec: ConvSpec, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, g: np.ndarray,
                      values: dict[str, np.ndarray | sp.MatrixBase],
                      timings: dict[str, float]) -> dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]]:
    """{form: build () -> (expected, obtained)}: the scatter definition against Tᵀ·vec(g), and each
    gradient by differentiation of the expanded loss against its closed form (or the user's)."""
    start = time.perf_counter()
    loss = sp.expand(sp.Add(*[gv * yv for gv, yv in zip(g.flat, conv(spec, x, w, b).flat)]))
    timings["definition"] = time.perf_counter() - start
    partials = _partials(loss)

    def derivative(array: np.ndarray) -> np.ndarray:
        return np.vectorize(lambda s: add_terms(partials.get(s, [])), otypes=[object])(array)

    weight_grad, input_grad = values.get("weight_grad"), values.get("input_grad")
    tx = (input_gradient(spec, g, w, toeplitz_transpose=values.get("toeplitz_transpose")) if input_grad is None
          else input_grad)
    leading = x.shape[:x.ndim - spec.dims - 1]
    scatter = from_canonical_input(spec, _scatter(spec, _upstream(spec, g)[0], w).reshape(
        *leading, spec.in_channels, *spec.input_size))
    checks = {
        "transpose": lambda: (to_canonical_input(spec, scatter), to_canonical_input(spec, tx)),
        "weight_gradient": lambda: (to_canonical_weight(spec, derivative(w)),
                                    to_canonical_weight(spec, weight_gradient(spec, x, g) if weight_grad is None
                                                        else weight_grad)),
        "input_gradient": lambda: (to_canonical_input(spec, derivative(x)), to_canonical_input(spec, tx)),
    }
    if b is not None:  # symbols(spec) gives b exactly when spec.bias
        checks["bias_gradient"] = lambda: (derivative(b), bias_gradient(spec, g))
    return checks


def prove_transpose(spec: ConvSpec, *, batch: int | None = None, toeplitz_transpose: sp.MatrixBase | None = None,
                    weight_grad: object = None, input_grad: object = None,
                    max_terms: int = MAX_TRANSPOSE_TERMS, matrix: sp.MatrixBase | None = None) -> TransposeProof:
    """Prove on symbols x, w, b, g, by canonical expanded forms, that
    (a) Tᵀ·vec(g_n) equals the transposed convolution by its scatter definition,
    (b) Σ_n g_n·P_nᵀ equals ∂L/∂w (SymPy differentiation of L = Σ_n ⟨g_n, conv(x_n, w, b)⟩),
    (c) Tᵀ·vec(g_n) equals ∂L/∂x_n, and Σ_n g_n·1 equals ∂L/∂b.

    ``batch=B`` proves it for a batch of B samples (x_{n,c,…}, g_{n,o,…}), where the parameter
    gradients are sums over the batch. ``toeplitz_transpose`` (a claimed Tᵀ; formerly ``matrix``,
    deprecated), ``weight_grad`` / ``input_grad`` (claimed gradients in the symbols of
    ``symbols(spec, batch)`` and ``upstream_symbols(spec, batch)``) replace symconv's to check your
    own (``toeplitz_transpose`` or ``input_grad``, not both); the proof keeps them in ``given``.
    The counterexample index is ([n,] c, *in) for input-shaped forms and (o, c, *k) for the weight
    gradient. Before any work the loss's monomials (B·(n_terms + n_bias_terms)) are counted; above
    ``max_terms`` SpecError names the count and the limit.
    """
    check_spec(spec)
    keyword = "matrix" if matrix is not None else "toeplitz_transpose"  # errors name the keyword passed
    toeplitz_transpose = renamed_keyword("toeplitz_transpose", toeplitz_transpose, "matrix", matrix)
    if toeplitz_transpose is not None and input_grad is not None:  # both claim Tᵀ·vec(g): one would go unchecked
        raise SpecError("input_grad", "a claimed ∂L/∂x", f"cannot be checked together with {keyword}= (a "
                        "claimed Tᵀ): both claim Tᵀ·vec(g) and the proof checks one of them; pass one")
    given = {"toeplitz_transpose": toeplitz_transpose, "weight_grad": weight_grad, "input_grad": input_grad}
    samples = check_batch(batch) or 1
    work_limit("max_terms", max_terms, samples * (spec.n_terms + spec.n_bias_terms), "spec", spec.describe(),
               "a transpose proof expands a loss of {} monomials (batch × terms)")
    x, w, b = symbols(spec, batch=batch)
    g = upstream_symbols(spec, batch)
    supplied = _claims(spec, x, w, g, given, keyword)
    timings: dict[str, float] = {}
    checks = _transpose_checks(spec, x, w, b, g, {k: s.value for k, s in supplied.items()}, timings)
    # the supplied forms use only their own symbols; every identity holds; Tᵀ is the layer's own
    found = check_supplied(list(supplied.values()), frozenset(x.flat) | frozenset(w.flat) | frozenset(g.flat)
                           | frozenset(() if b is None else b))
    for form, build in checks.items() if found is None else ():
        start = time.perf_counter()
        found = first_entry_difference(form, *build())
        timings[form] = time.perf_counter() - start
        if found is not None:
            break
    found = found or compare_supplied(list(supplied.values()))
    outputs = samples * prod(spec.input_shape) * 2 + prod(spec.weight_shape) + (spec.out_channels if spec.bias else 0)
    return TransposeProof(spec=spec, statement=_transpose_statement(spec, batch), forms=tuple(checks),
                          holds=found is None, counterexample=found, terms=samples * spec.n_terms, outputs=outputs,
                          timings=timings, given={name: s.value for name, s in supplied.items()},  # the copies checked
                          batch=batch)
