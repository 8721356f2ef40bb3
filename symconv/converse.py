"""The converse: a fully connected layer is a convolution, and a 1×1 convolution is an FC layer
applied at every position.

FC as conv: y = W·vec(x) + b with x of shape (C_in, *n) (vec in the layout's row-major order) is
the conv with kernel_size = input_size = n, stride 1, no padding, C_out = out_features, whose
weight is W read through the vec order:

    w[o, c, i] = W[o, col(c, i)]       col = symconv.forms.toeplitz.column_index; output size 1.

1×1 conv as FC: with kernel 1, stride 1 and no padding, y[:, p] = W·x[:, p] + b at every
position p, with W[o, g(o)·C_in/groups + c] = w[o, c] (zero outside the group: block-diagonal);
as matrices y = W·X + b·1ᵀ with X = x with one column per position.

The proofs compare each side with the definition conv(x, w, b) as canonical expanded polynomials
(forms "fc" and "conv1x1" of ``symconv.proof.COMPARISONS``), on symbols; a proof of more than
``max_terms`` terms (default ``MAX_CONVERSE_TERMS``) is refused before it starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from math import prod

import numpy as np
import sympy as sp

from . import backends
from .connections import connections_of_rows
from .errors import SpecError, work_limit
from .forms.definition import conv
from .forms.operands import add_terms, as_object_array
from .forms.toeplitz import column_index
from .result import (
    Conv1x1AsFCProof,
    ConverseProof,
    Counterexample,
    FCAsConvProof,
    Supplied,
    check_supplied,
    compare_supplied,
    comparison,
    first_difference,
    first_entry_difference,
)
from .spec import LAYOUTS, MAX_ELEMENTS, ConvSpec, as_int, boolean, check_spec, one_of
from .symbols import (
    check_shape,
    from_canonical_output,
    from_canonical_weight,
    symbols,
    to_canonical_input,
    to_canonical_weight,
)

MAX_CONVERSE_TERMS = 200_000
"""Default bound on the terms (products w·x and biases) a converse proof expands (70–125 µs each
on 2 shared cores: 27 030 terms took 2.5 s, 198 000 took 22–25 s, so the bound is under half a
minute); ``max_terms=…`` raises it."""


def _columns(spec: ConvSpec) -> np.ndarray:
    """cols[c, i] = the vec(x) position of input (c, i): W's column read by conv weight (o, c, i)."""
    return np.array([[column_index(spec, c, i) for i in range(prod(spec.input_size))]
                     for c in range(spec.in_channels)], dtype=np.int64)


def _fc_spec(out_features: object, input_shape: object, bias: bool, layout: object,
             in_features: int | None = None) -> ConvSpec:
    """The conv (kernel = input, no padding) of an FC layer with ``out_features`` outputs on inputs
    of ``input_shape`` ((C_in, *n) for NCHW, (*n, C_in) for NHWC); each argument validated by name
    (``in_features``: W's column count that ∏input_shape must equal). Errors name the FC layer's
    arguments, never the conv's kernel_size or in_channels, which the caller did not pass."""
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 2:
        example = f"({in_features}, 1)" if in_features else "(C_in, n)"
        raise SpecError("input_shape", input_shape, "must be a tuple with a channel axis and ≥ 1 spatial "
                        f"axis, e.g. {example} for flat features")
    try:
        shape = tuple(as_int("input_shape", n, 1) for n in input_shape)
    except SpecError as error:  # the shape as passed, not the one entry, so the caller can find it
        raise SpecError("input_shape", input_shape, f"every entry {error.rule}") from None
    if in_features is not None and prod(shape) != in_features:
        raise SpecError("input_shape", input_shape, f"must have a channel axis and ≥ 1 spatial axis with "
                        f"∏ = in_features = {in_features} (e.g. ({in_features}, 1) for flat features)")
    outputs = as_int("out_features", out_features, 1)
    # W's entries: the most of ConvSpec's element counts here (w; x, y and the pattern are fewer)
    if outputs * prod(shape) > MAX_ELEMENTS:
        raise SpecError("input_shape", input_shape, f"out_features·∏input_shape (entries of W, out_features="
                        f"{outputs}) = {outputs * prod(shape)}, more than {MAX_ELEMENTS} = 2**48 "
                        "(symconv.spec.MAX_ELEMENTS)")
    one_of("layout", layout, LAYOUTS)
    channels, spatial = (shape[0], shape[1:]) if layout == "NCHW" else (shape[-1], shape[:-1])
    return ConvSpec(channels, outputs, kernel_size=spatial, input_size=spatial, bias=boolean("bias", bias),
                    layout=layout)


def fc_as_conv(weight: object, input_shape: tuple[int, ...], bias: object = None,
               layout: str = "NCHW") -> tuple[ConvSpec, np.ndarray, np.ndarray | None]:
    """(spec, w, b): the conv equal to the FC layer W·vec(x) + b on inputs of ``input_shape``
    ((C_in, *n) for NCHW, (*n, C_in) for NHWC; at least one spatial axis)."""
    W = as_object_array("weight", weight)
    if W.ndim != 2:
        raise SpecError("weight.shape", W.shape, "must be (out_features, in_features)")
    spec = _fc_spec(W.shape[0], input_shape, bias is not None, layout, W.shape[1])
    w = W[:, _columns(spec)].reshape(W.shape[0], spec.in_channels, *spec.input_size)
    if bias is not None:
        bias = as_object_array("bias", bias)
        check_shape("bias", bias, (W.shape[0],), f"one bias per output feature, out_features = {W.shape[0]}")
    return spec, from_canonical_weight(spec, w), bias


def fc_matrix(spec: ConvSpec, w: object) -> np.ndarray:
    """W (out_features, C_in·∏n) with W[o, col(c, i)] = w[o, c, i]: the inverse of ``fc_as_conv``."""
    check_spec(spec)
    if spec.input_size != spec.kernel_size or spec.output_size != (1,) * spec.dims:
        raise SpecError("kernel_size", spec.kernel_size, f"an FC layer is a conv whose kernel covers the "
                        f"whole input (kernel_size = input_size = {spec.input_size}, no padding)")
    w = as_object_array("w", w)
    check_shape("w", w, spec.weight_shape, spec.layout)
    W = np.zeros((spec.out_channels, prod(spec.input_shape)), dtype=object)
    W[:, _columns(spec)] = to_canonical_weight(spec, w).reshape(spec.out_channels, spec.in_channels, -1)
    return W


def _require_1x1(spec: ConvSpec) -> ConvSpec:
    """``spec`` if it is a ConvSpec with kernel_size 1, stride 1 and no padding, else SpecError."""
    check_spec(spec)
    for name, value, ok in (("kernel_size", spec.kernel_size, all(k == 1 for k in spec.kernel_size)),
                            ("stride", spec.stride, all(s == 1 for s in spec.stride)),
                            ("padding", spec.padding, all(p == (0, 0) for p in spec.padding))):
        if not ok:
            raise SpecError(name, value, "a conv is the same FC layer at every position only with "
                            "kernel_size 1, stride 1 and no padding")
    return spec


def conv1x1_as_fc(spec: ConvSpec, w: object) -> np.ndarray:
    """W (C_out, C_in): the FC layer a 1×1 conv applies at every position (block-diagonal by group)."""
    _require_1x1(spec)
    w = as_object_array("w", w)
    check_shape("w", w, spec.weight_shape, spec.layout)
    # W[o, c] = T[(o, 0), (c, 0)]: the scatter of w[a] to (o, c) over the connections at position 0
    table = connections_of_rows(spec, np.arange(spec.out_channels) * prod(spec.output_size))
    W = np.zeros((spec.out_channels, spec.in_channels), dtype=object)
    W[table.outputs()[0], table.inputs()[0]] = to_canonical_weight(spec, w).reshape(-1)[table.weight]
    return W


def _affine(W: np.ndarray | sp.MatrixBase, v: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """W·v + b entry by entry as linear-time sums (a SymPy matrix by its rows of entries: iterating
    one yields entries, not rows)."""
    rows = W.tolist() if isinstance(W, sp.MatrixBase) else W
    return np.array([add_terms([a * x for a, x in zip(row, v) if a != 0] + ([b[o]] if b is not None else []))
                     for o, row in enumerate(rows)], dtype=object)


def _check_against_conv(spec: ConvSpec, form: str, obtained: np.ndarray,
                        timings: dict[str, float]) -> Counterexample | None:
    """The first entry where ``obtained`` (the spec's output layout) differs from conv(x, w, b)."""
    start = time.perf_counter()
    found = first_difference(spec, form, conv(spec, *symbols(spec)), obtained)
    timings[form] = time.perf_counter() - start
    return found


def _supplied(spec: ConvSpec, form: str, matrix: object, shape: tuple[int, int],
              own: Callable[[ConvSpec, object], np.ndarray]) -> list[Supplied]:
    """[the user's W as ``Supplied``: exact entries of ``shape``, the weights only, own(spec, w)]."""
    if matrix is None:
        return []
    w = symbols(spec)[1]
    return [Supplied.of("matrix", matrix, shape, spec.layout, form, lambda: own(spec, w), frozenset(w.flat),
                        "the weights", "an FC weight matrix must be a polynomial in the weights only")]


def _check_form(spec: ConvSpec, supplied: list[Supplied]) -> Counterexample | None:
    """The first entry of a supplied W that uses other symbols than the weights (or is no polynomial)."""
    x, w, b = symbols(spec)
    return check_supplied(supplied, frozenset(x.flat) | frozenset(w.flat) | frozenset(() if b is None else b))


def _proof(kind: type[ConverseProof], spec: ConvSpec, statement: str, forms: tuple[str, ...],
           found: Counterexample | None, timings: dict[str, float], matrix: np.ndarray | None) -> ConverseProof:
    """The proof of ``kind``; ``matrix`` is the W supplied to it (None: symconv's own was checked)."""
    return kind(spec=spec, statement=statement, forms=forms, holds=found is None, counterexample=found,
                terms=spec.n_terms + spec.n_bias_terms, outputs=int(np.prod(spec.output_shape)),
                timings=timings, given={} if matrix is None else {"matrix": matrix})


def prove_fc_as_conv(out_features: int, input_shape: tuple[int, ...], bias: bool = True,
                     layout: str = "NCHW", matrix: object = None, *,
                     max_terms: int = MAX_CONVERSE_TERMS) -> ConverseProof:
    """Prove conv(x, w, b) = W·vec(x) + b with W = fc_matrix(w) (or ``matrix``), and that
    fc_as_conv(W) gives back w exactly, on symbols (forms "fc", then "fc_as_conv"). Before any
    work the terms (out_features·∏input_shape products, and the biases) are counted; above
    ``max_terms`` SpecError names the count and the limit.

    >>> prove_fc_as_conv(3, (2, 10), max_terms=60)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: input_shape=(2, 10): an FC layer of out_features=3 is proved by
    expanding 63 terms (products w·x and biases), more than max_terms=60; pass a larger max_terms to
    allow it
    """
    spec = _fc_spec(out_features, input_shape, bias, layout)
    work_limit("max_terms", max_terms, spec.n_terms + spec.n_bias_terms, "input_shape", input_shape,
               f"an FC layer of out_features={spec.out_channels} is proved by expanding {{}} terms (products w·x "
               "and biases)")
    backends.check_memory(spec, "sympy", None)
    x, w, b = symbols(spec)
    supplied = _supplied(spec, "fc_matrix", matrix, (spec.out_channels, prod(spec.input_shape)), fc_matrix)
    W = fc_matrix(spec, w) if matrix is None else supplied[0].value
    timings: dict[str, float] = {}
    found = _check_form(spec, supplied)
    if found is None:
        found = _check_against_conv(spec, "fc", _affine(W, x.reshape(-1), b).reshape(spec.output_shape), timings)
    if found is None:
        start = time.perf_counter()
        found = first_entry_difference("fc_as_conv", w, fc_as_conv(W, input_shape, b, layout)[1])
        timings["fc_as_conv"] = time.perf_counter() - start
    fc = comparison("fc", bias=spec.bias)
    statement = f"{fc.expected} = {fc.obtained}; fc_as_conv(W) = w"
    return _proof(FCAsConvProof, spec, statement, ("fc", "fc_as_conv"), found, timings, None if matrix is None else W)


def prove_conv1x1_as_fc(spec: ConvSpec, matrix: object = None, *,
                        max_terms: int = MAX_CONVERSE_TERMS) -> ConverseProof:
    """Prove conv(x, w, b) = W·X + b·1ᵀ, X = x with one column per position (the FC layer W at
    every position p: y[:, p] = W·x[:, p] + b), W = conv1x1_as_fc(w) (or ``matrix``); form "conv1x1".
    Before any work the terms (``spec.n_terms + spec.n_bias_terms``) are counted; above
    ``max_terms`` SpecError names the count and the limit."""
    work_limit("max_terms", max_terms, _require_1x1(spec).n_terms + spec.n_bias_terms, "spec", spec.describe(),
               "a 1×1 conv is proved an FC layer by expanding {} terms (products w·x and biases)")
    backends.check_memory(spec, "sympy", None)
    x, w, b = symbols(spec)
    W = conv1x1_as_fc(spec, w)
    supplied = _supplied(spec, "conv1x1_matrix", matrix, (spec.out_channels, spec.in_channels), conv1x1_as_fc)
    W = W if matrix is None else supplied[0].value
    timings: dict[str, float] = {}
    found = _check_form(spec, supplied)
    if found is None:
        xc = to_canonical_input(spec, x).reshape(spec.in_channels, -1)
        y = np.stack([_affine(W, xc[:, p], b) for p in range(xc.shape[1])], axis=1)
        found = _check_against_conv(spec, "conv1x1", from_canonical_output(
            spec, y.reshape(spec.out_channels, *spec.output_size)), timings)
    found = found or compare_supplied(supplied)
    per_position = comparison("conv1x1", bias=spec.bias)
    statement = f"{per_position.expected} = {per_position.obtained} (the FC layer W at every position)"
    return _proof(Conv1x1AsFCProof, spec, statement, ("conv1x1",), found, timings, None if matrix is None else W)
