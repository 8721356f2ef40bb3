"""Two layers at one input size: the same polynomial, the same after a permutation of the weights,
or different, decided on canonical forms (``symconv.diffing.bilinear``).

Why this decides it. Both sides are polynomials in the same logical symbols w_L, x_L, b. A weight
permutation P renames w_L[j] to w_L[q(j)]; it maps monomials to monomials, so b∘P and a are equal
iff their canonical forms (sorted, merged monomial keys) are identical arrays. Nothing is sampled:
every output of the layer is compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import prod

import numpy as np

from ..backends.exact import first_differing_row
from .bilinear import Side


@dataclass(frozen=True)
class WeightPermutation:
    """b's logical weight = a's flipped on the spatial axes ``flip`` (0-based among the kernel's
    axes), then with its two channel axes swapped when ``swap``:

        w_b = swapaxes(flip(w_a, 2 + flip), 0, 1)        (logical (O, I, *k) arrays)

    >>> WeightPermutation(flip=(0, 1)).describe(2)
    'the kernel flipped on H and W'
    >>> WeightPermutation(swap=True).apply(np.arange(6).reshape(2, 3, 1)).shape
    (3, 2, 1)
    """

    flip: tuple[int, ...] = ()
    swap: bool = False

    @property
    def is_identity(self) -> bool:
        return not self.flip and not self.swap

    def apply(self, w: np.ndarray) -> np.ndarray:
        flipped = np.flip(w, tuple(2 + axis for axis in self.flip)) if self.flip else w
        return np.swapaxes(flipped, 0, 1) if self.swap else flipped

    def describe(self, dims: int) -> str:
        names = axis_names(dims)
        parts = []
        if self.flip:
            parts.append("the kernel flipped on " + " and ".join(names[axis] for axis in self.flip))
        if self.swap:
            parts.append("the in- and out-channel axes swapped")
        return " and ".join(parts) if parts else "the weights as they are"


def axis_names(dims: int) -> tuple[str, ...]:
    """The spatial axes' names: W; H, W; D, H, W."""
    return ("D", "H", "W")[3 - dims:]


def candidates(a: Side, b: Side) -> list[WeightPermutation]:
    """The permutations that fit the two weight shapes, the identity first, then by the number of
    axes they change. A flip of an axis of kernel size 1 changes nothing, so it is left out."""
    dims = len(a.w_shape) - 2
    axes = [axis for axis in range(dims) if a.w_shape[2 + axis] > 1]
    flips = [subset for count in range(len(axes) + 1) for subset in combinations(axes, count)]
    found = []
    for swap in (False, True):
        if WeightPermutation(swap=swap).apply(np.empty(a.w_shape)).shape == b.w_shape:
            found += [WeightPermutation(flip, swap) for flip in flips]
    return sorted(found, key=lambda p: (len(p.flip) + p.swap, p.swap))


@dataclass(frozen=True)
class Outcome:
    """Two sides at one size. ``shape``: (array, a's, b's) when the layers cannot be fed the same
    arrays as given (input, output or weight shapes, bias); ``holding``: the weight permutations
    under which they are equal; ``row``: the first logical output row where they differ as given
    (None: equal, or ``shape`` is set)."""

    shape: tuple[str, object, object] | None = None
    holding: tuple[WeightPermutation, ...] = ()
    row: int | None = None


def compare(a: Side, b: Side, only: list[WeightPermutation] | None = None) -> Outcome:
    """Compare two sides at one input size under the weight permutations that fit (of ``only``,
    when given: those still in question): the identity first, always (for ``row``), and the others
    only when it does not hold."""
    for name, left, right in (("input shape", a.x_shape, b.x_shape), ("output shape", a.y_shape, b.y_shape),
                              ("bias", a.bias, b.bias)):
        if left != right:
            return Outcome(shape=(name, left, right))
    fitting = candidates(a, b)
    if not fitting:
        return Outcome(shape=("weight shape", a.w_shape, b.w_shape))
    fits = [p for p in fitting if only is None or p in only or p.is_identity]
    reference = a.canonical()
    ids = np.arange(prod(a.w_shape)).reshape(a.w_shape)
    holding, row = [], None
    for permutation in fits:   # the identity first: when it holds, no permutation is needed
        # b fed with P(w_a): b's weight j is a's weight q[j]
        differs = first_differing_row(reference, b.canonical(permutation.apply(ids).reshape(-1)), a.basis, 0)
        if differs is None:
            holding.append(permutation)
        if permutation.is_identity:
            row = differs
            if differs is None and only is None:
                break   # (a later size compares the permutations still in question, even then)
    if not any(p.is_identity for p in fitting):  # only a swap fits: b takes a's weight only transposed
        return Outcome(shape=("weight shape", a.w_shape, b.w_shape), holding=tuple(holding))
    return Outcome(holding=tuple(holding), row=row)
