"""What a checked fn must compute: a ``Target``, a map of degree ≤ 2 in fn's operands.

A target describes fn's call ``fn(*operands) -> outputs`` for a forward layer ``spec`` (its
layout included): the operands' names and shapes in fn's layout (``Operand``; ``shape`` None
when fn gets None, e.g. no bias), the outputs (one array, or a tuple of arrays with None
allowed, e.g. grad_b without bias), an *exact* reference evaluator on integer arrays, a bound
on the terms per output (from which the checkers choose values whose every product and partial
sum is exact) and the symbolic reference (SymPy polynomials, for symbolic mode and reports).
The checkers (randomized identity testing, diagnosis, tolerance) take a Target, so another map
(transposed convolution, gradients) only has to build one.

The exact evaluators are gathers and scatters over the pattern core (``Pattern.source_table``,
``Pattern.weight_taps``, ``channel_map``), one output group at a time, chunked over output
positions, so memory stays bounded (never the full connections table):

    y[o, p]      = b[o] + Σ_{c,t} W_t[o, c] · X[ch(o, c), src(p, t)]      (``conv_exact``: im2col, matmul)
    x̄[ch(o,c), src(p, t)] += W_t[o, c] · g[o, p]                        (``transpose_exact``: scatter-add)
    w̄[o, c, τ(t)]  = Σ_p g[o, p] · X[ch(o, c), src(p, t)]                (``weight_gradient_exact``)

with W_t[o, c] = w[o, c, τ(t)] and src < 0 (a padding zero) reading nothing. All three take
canonical (channels-first, one sample) integer arrays and return integers: float64 BLAS where
every partial sum is below 2^53 in magnitude (all integers then, so exact in any order), int64
where below 2^63, Python ints (object arrays) beyond.

>>> import numpy as np
>>> from symconv import ConvSpec
>>> target = forward_target(ConvSpec(1, 2, kernel_size=2, input_size=3))
>>> [(o.name, o.shape) for o in target.operands], [(o.name, o.shape) for o in target.outputs]
([('x', (1, 3)), ('w', (2, 1, 2)), ('b', (2,))], [('y', (2, 2))])
>>> target.terms, target.single
(3, True)
>>> target.reference({"x": np.array([[1, 2, 3]]), "w": np.array([[[1, -1]], [[2, 0]]]), "b": np.array([10, 0])})
(array([[9, 9],
       [2, 4]]),)
>>> target.symbolic()[1][0][0, 0]
b_{0} + w_{0,0,0}*x_{0,0} + w_{0,0,1}*x_{0,1}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import prod

import numpy as np

from ..connections import channel_map
from ..forms import conv
from ..spec import ConvSpec
from ..symbols import from_canonical_output, symbols, to_canonical_input, to_canonical_weight

Values = dict[str, "np.ndarray | None"]
CHUNK = 2**22   # entries of one gathered im2col block (about 32 MB of int64)


@dataclass(frozen=True)
class Operand:
    """An argument or a result of fn: its name, its shape in fn's layout for one sample (None:
    fn gets or returns None), and whether it carries the sample axis when fn is batched (a result
    that does not, e.g. a weight gradient, is the sum over the samples). A result's ``degree``:
    it scales by 2^(degree·s) when the operands scale by 2^s (a bias by 2^2s), 2 for sums of
    products (y, ∂L/∂x, ∂L/∂w), 1 for ∂L/∂b = Σ g."""

    name: str
    shape: tuple[int, ...] | None
    batched: bool
    degree: int = 2


@dataclass(frozen=True)
class Target:
    """What fn must compute (module docstring).

    ``reference(values)`` maps {operand name: integer array in fn's layout, one sample, or None}
    to the outputs in fn's layout (a tuple, None where an output is absent), exactly. ``terms``
    bounds, per sample, the number of products and linear terms summed into one output entry.
    ``symbolic()`` returns ({operand name: SymPy symbol array or None}, outputs as SymPy arrays).
    ``of_spec(other)`` builds the same kind of target for another layer (the alternative layers
    of the diagnosis). ``single``: fn returns the one output itself rather than a tuple."""

    kind: str
    spec: ConvSpec
    operands: tuple[Operand, ...]
    outputs: tuple[Operand, ...]
    single: bool
    terms: int
    reference: Callable[[Values], tuple[np.ndarray | None, ...]]
    symbolic: Callable[[], tuple[Values, tuple[np.ndarray | None, ...]]]
    of_spec: Callable[[ConvSpec], Target]

    def operand(self, name: str) -> Operand:
        return next(o for o in self.operands if o.name == name)


def forward_target(spec: ConvSpec) -> Target:
    """fn(x, w, b) -> y, the convolution layer ``spec`` in its layout (b None without bias)."""
    def reference(values: Values) -> tuple[np.ndarray]:
        x = to_canonical_input(spec, np.asarray(values["x"]))
        w = to_canonical_weight(spec, np.asarray(values["w"]))
        return (from_canonical_output(spec, conv_exact(spec, x, w, values.get("b"))),)

    def symbolic() -> tuple[Values, tuple[np.ndarray]]:
        x, w, b = symbols(spec)
        return {"x": x, "w": w, "b": b}, (conv(spec, x, w, b),)

    bias = (spec.out_channels,) if spec.bias else None
    return Target(kind="convolution", spec=spec,
                  operands=(Operand("x", spec.input_shape, True), Operand("w", spec.weight_shape, False),
                            Operand("b", bias, False)),
                  outputs=(Operand("y", spec.output_shape, True),), single=True,
                  terms=spec.in_per_group * prod(spec.kernel_size) + spec.bias,
                  reference=reference, symbolic=symbolic, of_spec=forward_target)


# ---- exact evaluators on canonical integer arrays ----------------------------------------------
def _exact_dtype(*bounds: int) -> type:
    """float64 when every partial sum is below 2^53 (integers, so BLAS is exact in any order),
    int64 below 2^63, else Python ints."""
    total = sum(bounds)
    return np.float64 if total < 2**53 else np.int64 if total < 2**63 else object


def _magnitude(a: np.ndarray | None) -> int:
    """max |a| as a Python int (no int64 overflow at −2^63)."""
    if a is None or np.size(a) == 0:
        return 0
    a = np.asarray(a)
    return max(abs(int(a.max())), abs(int(a.min())))


def _integers(a: np.ndarray, dtype: type) -> np.ndarray:
    """``a`` (integer-valued) in the working dtype."""
    return np.asarray(a, dtype=object if dtype is object else np.int64).astype(dtype)


def _result(a: np.ndarray, dtype: type) -> np.ndarray:
    return a if dtype is object else a.astype(np.int64)


def _patches(spec: ConvSpec, x: np.ndarray, group: int, positions: slice) -> np.ndarray:
    """im2col block (C_in/groups, T, P): x[ch(o, c), src(p, t)] for the input channels of
    ``group`` and the given output positions, 0 where a padding zero is read."""
    channels = channel_map(spec)[group * spec.out_per_group]
    table = spec.pattern.source_table[positions].T                     # (T, P)
    flat = x.reshape(x.shape[0], -1)[channels]
    block = flat[:, np.maximum(table, 0)]
    block[:, table < 0] = 0
    return block


def _chunks(spec: ConvSpec) -> list[slice]:
    n_out, width = prod(spec.output_size), spec.in_per_group * prod(spec.kernel_size)
    step = max(1, CHUNK // max(1, width))
    return [slice(p, min(p + step, n_out)) for p in range(0, n_out, step)]


def _tap_weights(spec: ConvSpec, w: np.ndarray, group: int) -> np.ndarray:
    """(C_out/groups, C_in/groups · T): W_t[o, c] of the group's output channels, ordered (c, t)."""
    opg = spec.out_per_group
    taps = w.reshape(spec.out_channels, spec.in_per_group, -1)[group * opg:(group + 1) * opg]
    return taps[:, :, spec.pattern.weight_taps].reshape(opg, -1)


def _products(spec: ConvSpec, x: np.ndarray, w: np.ndarray) -> int:
    """The most nonzero products one output sums: C_in/groups·∏K, at most the nonzero weights of
    one output channel, and with zero padding (each output reads an input entry at most once) at
    most the nonzero inputs: one-tap and one-hot trials keep 53-bit values in int64."""
    terms = min(spec.in_per_group * prod(spec.kernel_size),
                int(np.count_nonzero(np.reshape(w, (spec.out_channels, -1)), axis=1).max(initial=0)))
    return min(terms, int(np.count_nonzero(x))) if spec.padding_mode == "zeros" else terms


def conv_exact(spec: ConvSpec, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """y (C_out, *out) of one canonical integer sample x (C_in, *in), w (C_out, C_in/groups, *k).

    >>> spec = ConvSpec(2, 2, kernel_size=2, input_size=3, padding=1, groups=2)
    >>> conv_exact(spec, np.array([[1, 2, 3], [4, 5, 6]]), np.array([[[1, 10]], [[2**40, 0]]])).tolist()
    [[10, 21, 32, 3], [0, 4398046511104, 5497558138880, 6597069766656]]
    """
    dtype = _exact_dtype(_products(spec, x, w) * _magnitude(x) * _magnitude(w), _magnitude(b))
    xs, ws = _integers(x, dtype), _integers(w, dtype)
    y = np.zeros((spec.out_channels, prod(spec.output_size)), dtype=dtype)
    opg = spec.out_per_group
    for g in range(spec.groups):
        weights = _tap_weights(spec, ws, g)
        for positions in _chunks(spec):
            block = _patches(spec, xs, g, positions)
            y[g * opg:(g + 1) * opg, positions] = weights @ block.reshape(-1, block.shape[-1])
    if b is not None:
        y = y + _integers(b, dtype)[:, None]
    return _result(y, dtype).reshape(spec.out_channels, *spec.output_size)


def transpose_exact(spec: ConvSpec, g: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x̄ (C_in, *in) = the transposed convolution (the input gradient) of one canonical integer
    sample g (C_out, *out): every W_t[o, c]·g[o, p] added at x[ch(o, c), src(p, t)].

    >>> spec = ConvSpec(1, 1, kernel_size=2, input_size=3)
    >>> transpose_exact(spec, np.array([[1, 1]]), np.array([[[1, 10]]])).tolist()
    [[1, 11, 10]]
    """
    terms = spec.out_per_group * prod(spec.kernel_size)
    dtype = _exact_dtype(terms * _magnitude(g) * _magnitude(w))
    gs, ws = _integers(g, dtype).reshape(spec.out_channels, -1), _integers(w, dtype)
    x = np.zeros((spec.in_channels, prod(spec.input_size)), dtype=dtype)
    cg, opg, taps = spec.in_per_group, spec.out_per_group, prod(spec.kernel_size)
    for group in range(spec.groups):
        weights = _tap_weights(spec, ws, group)                         # (opg, cg·T)
        for positions in _chunks(spec):
            table = spec.pattern.source_table[positions].T               # (T, P)
            cols = (weights.T @ gs[group * opg:(group + 1) * opg, positions]).reshape(cg, taps, -1)
            reads = table >= 0
            channels = channel_map(spec)[group * opg][:, None]
            np.add.at(x, (channels, table[reads][None, :]), cols[:, reads])
    return _result(x, dtype).reshape(spec.in_channels, *spec.input_size)


def weight_gradient_exact(spec: ConvSpec, x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """w̄ (C_out, C_in/groups, *k) = Σ_p g[o, p]·x[ch(o, c), src(p, t)] at tap τ(t), one canonical
    integer sample (the bias gradient is g summed over positions).

    >>> spec = ConvSpec(1, 1, kernel_size=2, input_size=3)
    >>> weight_gradient_exact(spec, np.array([[1, 2, 3]]), np.array([[1, 1]])).tolist()
    [[[3, 5]]]
    """
    dtype = _exact_dtype(prod(spec.output_size) * _magnitude(x) * _magnitude(g))
    xs, gs = _integers(x, dtype), _integers(g, dtype).reshape(spec.out_channels, -1)
    cg, opg, taps = spec.in_per_group, spec.out_per_group, prod(spec.kernel_size)
    grad = np.zeros((spec.out_channels, cg, taps), dtype=dtype)
    for group in range(spec.groups):
        for positions in _chunks(spec):
            block = _patches(spec, xs, group, positions)
            product = gs[group * opg:(group + 1) * opg, positions] @ block.reshape(-1, block.shape[-1]).T
            grad[group * opg:(group + 1) * opg][:, :, spec.pattern.weight_taps] += product.reshape(opg, cg, taps)
    return _result(grad, dtype).reshape(spec.out_channels, cg, *spec.kernel_size)
