"""``symconv.diff(a, b)``: are two layers (ConvSpecs or framework layers) the same map, the same up
to a permutation of the weights, or different, and where do they first differ?

The layers are compared exactly at the input size they were given (``symconv.diffing.compare``),
then at the smaller sizes, upward from 1 on every axis (a size invalid for either layer is
skipped), within a deadline: a framework's call may agree at the size given and not at another
(TF's 'SAME' with stride 2 pads by how the size falls on the stride). The verdict holds for every
size compared; a difference is reported at the smallest size where the layers, fed the same
arrays, differ, with the first output there.
"""

from __future__ import annotations

import time
from numbers import Real
from typing import Any

import numpy as np

from ..errors import SpecError
from ..frameworks.layer import FrameworkConv
from .bilinear import Side, as_layer, side_of
from .compare import Outcome, WeightPermutation, candidates, compare
from .convert import recipe, weight_index
from .result import DIFFERENT, PERMUTED, SAME, DiffResult
from .terms import row_polynomial
from .words import explain, labels

MAX_DIFF_TERMS = 10_000_000   # the w·x terms of one layer diff builds (16→32 3×3 32²: 4.7 M, about 13 s)

DEADLINE = 10.0
"""Seconds the search of smaller input sizes may take (the given size is always compared)."""


def diff(a: object, b: object, *, deadline: float = DEADLINE, names: tuple[str, str] | None = None) -> DiffResult:
    """Compare two layers exactly: ``a`` and ``b`` are ConvSpecs (PyTorch's semantics, identity
    array maps) or ``symconv.frameworks.FrameworkConv`` s (a framework's call at fixed shapes).
    ``names`` name them in the text (default: their frameworks, a ConvSpec as "a" or "b").

    >>> import symconv
    >>> lower = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, padding=((1, 0),), bias=False)
    >>> upper = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, padding=((0, 1),), bias=False)
    >>> result = symconv.diff(lower, upper)
    >>> result.same, result.parameter, result.input_size, result.output
    (False, 'padding', (1,), (0, 0))
    >>> print(result)   # doctest: +NORMALIZE_WHITESPACE
    different (padding): at input 1, output y[0, 0]: a puts the extra padding element before; b puts it after
      a  y[0, 0] = w_{0,0,1}*x_{0,0}
      b  y[0, 0] = w_{0,0,0}*x_{0,0}
      compared: input 3 and 1 smaller size
      a: ConvSpec(1-D, C_in=1, C_out=1, input=3, kernel=2, padding=(1, 0) (zeros), no bias)
      b: ConvSpec(1-D, C_in=1, C_out=1, input=3, kernel=2, padding=(0, 1) (zeros), no bias)
    """
    if isinstance(deadline, bool) or not isinstance(deadline, Real) or not deadline > 0:
        raise SpecError("deadline", deadline, "must be a number of seconds > 0")
    if names is not None and not (isinstance(names, tuple) and len(names) == 2
                                  and all(isinstance(n, str) and n for n in names)):
        raise SpecError("names", names, "must be None or a pair of non-empty strings")
    start = time.perf_counter()
    layers = as_layer(a, "a"), as_layer(b, "b")
    for name, layer in zip("ab", layers):
        if (terms := layer.spec.n_terms) > MAX_DIFF_TERMS:   # every term is built: time and memory grow with it
            raise SpecError(name, layer.spec.describe(), f"has {terms} terms at its input size, more than "
                            f"MAX_DIFF_TERMS={MAX_DIFF_TERMS}: compare the layers at a smaller input size "
                            f"(a convention shows within a few kernel spans of the border)")
    sides = side_of(layers[0]), side_of(layers[1])
    first = compare(*sides)
    seen = [(sides, first)]
    alive = list(first.holding)
    witness = None if _agrees(first) else seen[0]
    smaller, complete = witness, True
    if first.shape is None or first.shape[0] != "input shape":
        for size in _smaller_sizes(sides[0].x_shape[1:]):
            if not alive and smaller is not witness:
                break   # nothing can hold any more, and the smallest difference is found
            if time.perf_counter() - start > deadline:
                complete = False
                break
            pair = _sides_at(layers, size)
            if pair is None:
                continue
            outcome = compare(*pair, only=alive)
            seen.append((pair, outcome))
            alive = [p for p in alive if p in outcome.holding]
            if smaller is witness and not _agrees(outcome):
                smaller = (pair, outcome)
    return _result(layers, names or labels(*layers), seen, alive, smaller, complete, time.perf_counter() - start)


def _agrees(outcome: Outcome) -> bool:
    return outcome.shape is None and outcome.row is None


def _smaller_sizes(given: tuple[int, ...]):
    """1, 2, … on every axis (each capped at its given size), below the given size."""
    for t in range(1, max(given)):
        size = tuple(min(t, n) for n in given)
        if size != given:
            yield size


def _sides_at(layers: tuple[FrameworkConv, FrameworkConv], size: tuple[int, ...]) -> tuple[Side, Side] | None:
    """Both layers at input ``size``, or None when the size is not valid for one of them."""
    try:
        return side_of(layers[0].at_input_size(size)), side_of(layers[1].at_input_size(size))
    except ValueError:   # SpecError included: e.g. a kernel larger than the padded input
        return None


def _result(layers: tuple[FrameworkConv, FrameworkConv], names: tuple[str, str], seen: list,
            alive: list[WeightPermutation], smaller: tuple | None, complete: bool, seconds: float) -> DiffResult:
    common: dict[str, Any] = {"sizes": tuple(pair[0].x_shape[1:] for pair, _ in seen), "complete": complete,
                              "seconds": seconds}
    identity = WeightPermutation()
    if identity in alive:
        return DiffResult(*layers, names, SAME, weight_recipe=_recipe(layers, identity), **common)
    if alive:
        ordered = [p for p in candidates(*seen[0][0]) if p in alive]
        parameter, reason = explain(*layers, names)
        return DiffResult(*layers, names, PERMUTED, parameter, reason, permutation=ordered[0],
                          weight_recipe=_recipe(layers, ordered[0]), **common)
    (side_a, side_b), outcome = smaller if smaller is not None else seen[0]
    parameter, reason = explain(side_a.layer, side_b.layer, names)
    size = side_a.x_shape[1:]
    if outcome.shape is not None:
        return DiffResult(*layers, names, DIFFERENT, parameter, reason, input_size=size, shapes=outcome.shape,
                          **common)
    row = outcome.row
    output = tuple(int(i) for i in np.unravel_index(row, side_a.y_shape))
    terms = (row_polynomial(side_a, row), row_polynomial(side_b, row))
    return DiffResult(*layers, names, DIFFERENT, parameter, reason, input_size=size, output=output, terms=terms,
                      **common)


def _recipe(layers: tuple[FrameworkConv, FrameworkConv], permutation: WeightPermutation) -> str | None:
    a = layers[0]
    return recipe(weight_index(*layers, permutation), a.weight_map.framework_shape, "w_a")
