"""Moving a weight array from one framework's layer to another's: the index map, and the NumPy
expression that computes it (a transpose and flips, with reshapes around them when one framework
has axes of length 1 the other lacks).

>>> J = np.flip(np.transpose(np.arange(24).reshape(2, 3, 4), (2, 0, 1)), 0)
>>> recipe(J, (2, 3, 4), "w")
'np.flip(np.transpose(w, (2, 0, 1)), 0)'
"""

from __future__ import annotations

from itertools import permutations

import numpy as np

from ..frameworks.layer import FrameworkConv
from ..symbols import from_canonical_weight, to_canonical_weight
from .bilinear import framework_array, logical_array
from .compare import WeightPermutation


def weight_index(a: FrameworkConv, b: FrameworkConv, permutation: WeightPermutation) -> np.ndarray:
    """J with w_b = w_a.reshape(-1)[J]: a's weight array, its layout undone, ``permutation``
    applied, b's layout made (``symconv.diffing.bilinear``'s logical coordinates)."""
    ids = np.arange(np.prod(a.weight_map.framework_shape)).reshape(a.weight_map.framework_shape)
    logical = permutation.apply(logical_array(a.weight_map, a.spec, ids, to_canonical_weight))
    return np.asarray(framework_array(b.weight_map, b.spec, logical, from_canonical_weight), dtype=np.int64)


def recipe(index: np.ndarray, shape: tuple[int, ...], name: str) -> str | None:
    """The NumPy expression of ``name.reshape(-1)[index]`` for an array ``name`` of ``shape``: one
    transpose and flips, on all axes when both arrays have as many, else on the axes longer than 1
    with reshapes around (None when it is not of that form)."""
    if len(shape) == index.ndim:
        found = _transpose_and_flips(index, shape)
        if found is not None:
            return _expression(name, shape, shape, *found, index.shape)
    source = tuple(n for n in shape if n > 1)
    found = _transpose_and_flips(index.reshape(tuple(n for n in index.shape if n > 1)), source)
    return None if found is None else _expression(name, shape, source, *found, index.shape)


def _transpose_and_flips(index: np.ndarray, shape: tuple[int, ...]) -> tuple[tuple, tuple] | None:
    """(order, flips) with np.flip(np.transpose(ids, order), flips) == index for ids = arange(shape),
    the first order in lexicographic order (so axes of length 1 keep their places)."""
    if index.size != int(np.prod(shape)) or index.size == 0:
        return None
    start = np.unravel_index(int(index.reshape(-1)[0]), shape)
    ids = np.arange(index.size).reshape(shape)
    for order in permutations(range(len(shape))):
        if tuple(shape[k] for k in order) != index.shape:
            continue
        flips = tuple(m for m, k in enumerate(order) if start[k] == shape[k] - 1 and shape[k] > 1)
        moved = np.transpose(ids, order)
        if np.array_equal(np.flip(moved, flips) if flips else moved, index):
            return order, flips
    return None


def _expression(name: str, shape: tuple[int, ...], source: tuple[int, ...], order: tuple[int, ...],
                flips: tuple[int, ...], target: tuple[int, ...]) -> str:
    """The text: reshaped to ``source`` first and to ``target`` last when ``source`` is not ``shape``."""
    squeezed = shape != source
    text = f"{name}.reshape({source})" if squeezed else name
    if order != tuple(range(len(order))):
        text = f"np.transpose({text}, {order})"
    if flips:
        text = f"np.flip({text}, {flips[0] if len(flips) == 1 else flips})"
    return f"{text}.reshape({target})" if squeezed and tuple(target) != source else text
