"""Randomized identity testing of a transposed convolution or backward pass on numbers.

Identity testing (Schwartz–Zippel): if fn is a polynomial of degree ≤ 2 in its operands, fn − map
is one too, and a nonzero one vanishes at a point drawn uniformly from Sᴺ with probability at
most 2/|S|. S is the integers in [−2^k, 2^k), so 2/|S| = 2^-k, and ⌈64/k⌉ independent points
bound a false pass by 2⁻⁶⁴. Every output sums at most ``AdjointMap.terms`` products below 2^(2k),
so with 2k + bitlength(terms + 1) ≤ 53 every product and partial sum is exact in float64, in any
order, and fn's float64 output is compared exactly with the reference on Python integers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from math import ceil

import numpy as np

from .adjoint_maps import AdjointMap, Arrays
from .trials import _exact_number

FALSE_PASS_BITS = 64     # identity testing passes a wrong fn with probability ≤ 2^-FALSE_PASS_BITS
VALUE_BITS = 20          # trial entries lie in [−2^k, 2^k), k ≤ VALUE_BITS
TRIAL_BATCH = 3          # samples per trial of a batched fn

Evaluate = Callable[[Arrays, str], Arrays]


def value_bits(m: AdjointMap, batch: int | None) -> int:
    """k of S = [−2^k, 2^k): the largest k ≤ VALUE_BITS with 2k + bitlength(terms + 1) ≤ 53.

    >>> import symconv
    >>> from symconv.testing.adjoint_maps import gradients_map
    >>> value_bits(gradients_map(symconv.ConvSpec(2, 2, kernel_size=3, input_size=(6, 6))), None)
    20
    """
    return min(VALUE_BITS, (53 - (m.terms(batch or 1) + 1).bit_length()) // 2)


def trials_needed(k: int) -> int:
    """⌈FALSE_PASS_BITS / k⌉ points, each passing a wrong fn with probability ≤ 2^-k."""
    return ceil(FALSE_PASS_BITS / k)


@dataclass(frozen=True)
class Mismatch:
    """Where fn differed from the map at a random point: output name, index, fn's value, the map's."""

    trial: int
    operands: Arrays
    output: str
    index: tuple[int, ...]
    value: object
    expected: int


def identity_trials(evaluate: Evaluate, m: AdjointMap, batch: int | None, seed: int) -> tuple[int, Mismatch | None]:
    """Evaluate fn at ``trials_needed`` random points (``evaluate`` gets int64 arrays drawn from
    ``seed``) and compare every output exactly with the map on Python integers; (points, first
    mismatch)."""
    rng = np.random.default_rng(seed)
    k = value_bits(m, batch)
    trials = trials_needed(k)
    for trial in range(trials):
        drawn = {name: None if shape is None else rng.integers(-2 ** k, 2 ** k, size=shape)
                 for name, shape in m.operand_shapes(batch).items()}
        exact = {name: None if a is None else a.astype(object) for name, a in drawn.items()}
        obtained = evaluate(drawn, f"random integers in [−2^{k}, 2^{k}), trial {trial + 1} of {trials}, seed {seed}")
        for name, expected in m.reference(exact).items():
            if expected is not None and (found := _first_mismatch(obtained[name], expected)) is not None:
                return trial + 1, Mismatch(trial + 1, exact, name, found[0], found[1], int(expected[found[0]]))
    return trials, None


def _first_mismatch(obtained: np.ndarray, expected: np.ndarray) -> tuple[tuple[int, ...], object] | None:
    """The first index where fn's value is not exactly the integer of the map (float64 outputs
    compared as arrays: the integers are below 2^53, so exact in float64)."""
    if obtained.dtype == np.float64:
        wrong = np.argwhere(obtained != expected.astype(np.float64))
        return None if not len(wrong) else (tuple(int(i) for i in wrong[0]), obtained[tuple(wrong[0])])
    for index, value in np.ndenumerate(obtained):
        if _exact_number(value) != Fraction(int(expected[index])):
            return index, value
    return None
