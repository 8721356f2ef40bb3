"""Symbolic mode's numeric cross-check of a transposed convolution or backward pass: fn at the
random integer points of randomized identity testing (``symconv.testing.pit``: S = [−2^a, 2^a)
with terms·4^a ≤ 2^53, ⌈64/a⌉ points), as float64 arrays (or Python integers when fn raises on
floats: code written for symbols need not run on floats), every output compared exactly with the
Target's integer reference. It catches code that takes another path on numbers than on symbols.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .adjoint_maps import Arrays
from .pit import PitPlan, expected_outputs
from .targets import Target
from .trials import _exact_number

Evaluate = Callable[[Arrays, str], Arrays]


@dataclass(frozen=True)
class Mismatch:
    """Where fn differed from the map at a random point: output name, index, fn's value, the map's."""

    trial: int
    output: str
    index: tuple[int, ...]
    value: object
    expected: int


def numeric_trials(evaluate: Evaluate, target: Target, batch: int | None, seed: int,
                   dtype: str = "float64") -> tuple[int, Mismatch | None]:
    """Evaluate fn at the identity test's random points (``evaluate`` gets int64 arrays drawn
    from ``seed``; a batch of ``batch`` samples or one unbatched) and compare every output exactly
    with the reference; (points, first mismatch)."""
    rng = np.random.default_rng(seed)
    n = batch or 1
    plan = PitPlan.for_dtype(dtype, target.terms * n)   # the dtype fn returns (float32: a narrower range)
    k = plan.value_bits
    for trial in range(plan.trials):
        drawn = {o.name: None if o.shape is None else
                 rng.integers(-2 ** k, 2 ** k, size=((n,) if o.batched else ()) + o.shape) for o in target.operands}
        expected = expected_outputs(target, drawn, n)
        sent = {o.name: a[0] if batch is None and o.batched and a is not None else a
                for o, a in zip(target.operands, drawn.values())}
        obtained = evaluate(sent, f"random integers in [−2^{k}, 2^{k}), trial {trial + 1} of {plan.trials}, "
                                  f"seed {seed}")
        for o, reference in zip(target.outputs, expected):
            if reference is not None:
                reference = reference[0] if batch is None and o.batched else reference
                if (found := _first_mismatch(obtained[o.name], reference)) is not None:
                    return trial + 1, Mismatch(trial + 1, o.name, found[0], found[1], int(reference[found[0]]))
    return plan.trials, None


def _first_mismatch(obtained: np.ndarray, expected: np.ndarray) -> tuple[tuple[int, ...], object] | None:
    """The first index where fn's value is not exactly the integer of the reference."""
    for index, value in np.ndenumerate(obtained):
        if _exact_number(value) != Fraction(int(expected[index])):
            return index, value
    return None
