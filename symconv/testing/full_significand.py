"""Full-significand trials: inputs with all 53 bits of a float64 significand in use, at which
every output of the layer is still a single exact product.

The other exact trials keep every product and partial sum exact by drawing values of at most
about 40 significant bits, so code that rounds its inputs to 41–52 bits (a 3×TF32-style split
that drops lo·lo, ``(w·3.0)/3.0`` amplified) agrees with the layer on all of them. Here:

* "full-significand x, one tap of w": x = ±m·2^s/2^60 with 2^52 ≤ m < 2^53 random (the whole
  significand in use) and 0 ≤ s < 8 (eight binades), and w zero but for one entry ±1 per output
  channel, so y[o, out] = ±x[ch, src] exactly;
* "full-significand w, one entry of x": w drawn the same way, and x zero but for one entry ±1
  per sample, so every output is 0 or ±one weight exactly (with reflect, replicate and circular
  padding the entry is placed where the padding map does not read it a second time, since two
  taps of one output reading it would sum two weights, which rounds).

Bias is 0 in both. A layer computed in float64 returns these exactly, in any order; code that
rounds an input below 53 bits does not.

>>> from symconv.spec import ConvSpec
>>> spec = ConvSpec(2, 3, kernel_size=2, input_size=4)
>>> X, W, B = full_significand(np.random.default_rng(0), spec, "full x", 2)
>>> [int(np.count_nonzero(W[o])) for o in range(3)], B.tolist(), bool((np.abs(X) >= 2**52).all() and (X < 2**61).all())
([1, 1, 1], [0, 0, 0], True)
"""

from __future__ import annotations

from math import prod

import numpy as np

from ..spec import ConvSpec
from ..symbols import from_canonical_input, from_canonical_weight

FULL_SIGNIFICAND = {"full x": "full-significand x (53 bits), one tap of w per output channel",
                    "full w": "full-significand w (53 bits), one entry of x per sample"}
BINADES = 8
FRACTION_BITS = 52 + BINADES   # m·2^s/2^60, 2^52 ≤ |m| < 2^53, 0 ≤ s < 8: |values| in [2^-8, 2), 53 bits each


FULL_VALUES = 64   # full-significand values drawn at least, over repeated trials of a small operand


def full_significand_patterns(spec: ConvSpec) -> list[tuple[str, int]]:
    """(pattern, trials) that keep every output one product for ``spec`` (module docstring): a
    small operand is drawn again until FULL_VALUES values were tried (64 trials for a single
    weight), since code may round only some values (``(w·3.0)/3.0`` differs from w for about 1 in
    7 random float64 weights: 64 draws miss it with probability below 10^-4). "full w" needs an
    input position that the padding map reads at most once in any window (``single_positions``).

    >>> full_significand_patterns(ConvSpec(1, 1, kernel_size=1, input_size=1))
    [('full x', 22), ('full w', 64)]
    >>> full_significand_patterns(ConvSpec(1, 1, kernel_size=3, input_size=2, padding=1, padding_mode="circular"))
    [('full x', 11)]
    """
    repeats = lambda count: max(1, -(-FULL_VALUES // count))  # noqa: E731 - at most 64 tiny calls
    x_count, w_count = 3 * spec.in_channels * prod(spec.input_size), prod(spec.weight_shape)
    patterns = [("full x", repeats(x_count)), ("full w", repeats(w_count))]
    return patterns if single_positions(spec).size else patterns[:1]


def single_positions(spec: ConvSpec) -> np.ndarray:
    """Flat spatial positions of the input that exactly one padded position reads on every axis
    (zero padding: all; reflect, replicate, circular: all but those the padding mirrors, clamps or
    wraps onto; reflect with padding 1 reads x[1] also at position −1), so no window reads them
    twice: a one-hot x there makes every output 0 or ±one weight.

    >>> single_positions(ConvSpec(1, 1, kernel_size=3, input_size=5, padding=1, padding_mode="reflect")).tolist()
    [0, 2, 4]
    """
    singles = []
    for axis in spec.pattern.axes:
        sources = np.asarray(axis.source(np.arange(-axis.pad_before, axis.size + axis.pad_after)))
        counts = np.bincount(sources[sources >= 0], minlength=axis.size)
        singles.append(np.flatnonzero(counts == 1))
    grid = np.meshgrid(*singles, indexing="ij")
    return np.ravel_multi_index(tuple(g.ravel() for g in grid), spec.input_size) if grid else np.zeros(0, int)


def _odd_significands(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """53-bit numerators (top bit set, the others random: an odd-only draw misses tricks exact on
    odd significands) shifted left by 0 … BINADES − 1 bits: over 2^-60 the values span BINADES
    binades (a rounding trick may be exact in one binade and not in another)."""
    m = rng.integers(2**52, 2**53, size=shape, dtype=np.int64)
    return (m << rng.integers(0, BINADES, size=shape)) * rng.choice(np.array([-1, 1], dtype=np.int64), size=shape)


def full_significand(rng: np.random.Generator, spec: ConvSpec, pattern: str, n: int) -> tuple:
    """Integer numerators (X (n, *input_shape), W, B) of a full-significand trial, to be scaled by
    2^-FRACTION_BITS (x for "full x", w for "full w"; the other operand's numerators are ±1 and 0)."""
    shape = (n, spec.in_channels, *spec.input_size)          # canonical, moved to the layout below
    kernel = (spec.out_channels, spec.in_per_group, *spec.kernel_size)
    signs = lambda size: rng.choice(np.array([-1, 1], dtype=np.int64), size=size)  # noqa: E731
    if pattern == "full x":
        X = _odd_significands(rng, shape)
        W = np.zeros(kernel, dtype=np.int64).reshape(spec.out_channels, -1)
        W[np.arange(spec.out_channels), rng.integers(0, W.shape[1], size=spec.out_channels)] = signs(
            spec.out_channels)
        W = W.reshape(kernel)
    else:
        W = _odd_significands(rng, kernel)
        X = np.zeros(shape, dtype=np.int64).reshape(n, spec.in_channels, -1)
        places = single_positions(spec)
        X[np.arange(n), rng.integers(0, spec.in_channels, size=n), rng.choice(places, size=n)] = signs(n)
        X = X.reshape(shape)
    B = np.zeros(spec.out_channels, dtype=np.int64) if spec.bias else None
    # contiguous in the layout: a view would reach fn as a non-contiguous array (``calls._copy``)
    return (np.ascontiguousarray(from_canonical_input(spec, X)), np.ascontiguousarray(from_canonical_weight(spec, W)),
            B)
