"""Symbolic tensors: NumPy object arrays of SymPy symbols named ``x_{c,i,j}``, ``w_{o,c,p,q}``,
``b_{o}``, plus the layout views between the user's layout and the canonical channels-first one.

Names always carry the *logical* indices (channel first), whatever the layout of the array, so
``x_{c,i,j}`` is the same quantity in NCHW and NHWC.
"""

from __future__ import annotations

import re
from itertools import product
from numbers import Integral

import numpy as np
import sympy as sp

from .errors import SpecError
from .spec import ConvSpec

_NAME = re.compile(r"^([A-Za-z]+)_\{(-?\d+(?:,-?\d+)*)\}$")


def tensor_symbols(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """An object array of ``Symbol(f"{name}_{{i,j,…}}")`` with the given shape.

    >>> tensor_symbols("x", (1, 3))
    array([[x_{0,0}, x_{0,1}, x_{0,2}]], dtype=object)
    """
    array = np.empty(shape, dtype=object)
    for index in product(*(range(n) for n in shape)):
        array[index] = sp.Symbol(f"{name}_{{{','.join(map(str, index))}}}")
    return array


def entry_key(symbol: sp.Basic) -> tuple[str, tuple[int, ...]]:
    """('x', (0, 1, 2)) for x_{0,1,2}: sort symbols numerically, not as strings.

    >>> x = tensor_symbols("x", (1, 11))
    >>> sorted([x[0, 10], x[0, 2]], key=entry_key)
    [x_{0,2}, x_{0,10}]
    """
    match = _NAME.match(str(symbol))
    if match is None:
        return (str(symbol), ())
    return match.group(1), tuple(int(i) for i in match.group(2).split(","))


def check_batch(batch: object) -> int | None:
    """``batch`` (None: one sample, unbatched) unless it is not an integer ≥ 1 (SpecError).

    >>> check_batch(0)
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: batch=0: must be None or an integer ≥ 1
    """
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, Integral) or batch < 1):
        raise SpecError("batch", batch, "must be None or an integer ≥ 1")
    return None if batch is None else int(batch)


def symbols(spec: ConvSpec, batch: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Symbolic input, weight and bias for ``spec``, shaped for its layout.

    NCHW: x (C_in, *input_size), w (C_out, C_in/groups, *kernel_size), b (C_out,) or None.
    NHWC: x (*input_size, C_in), w (*kernel_size, C_in/groups, C_out).
    With ``batch=N`` x gains a leading axis of N samples, named x_{n,c,i,j}.

    >>> import symconv
    >>> spec = symconv.ConvSpec(2, 2, kernel_size=2, input_size=(2, 2), groups=2, layout="NHWC")
    >>> x, w, b = symconv.symbols(spec)
    >>> x.shape, x[1, 0, 1]             # NHWC position (1, 0), channel 1: named channel first
    ((2, 2, 2), x_{1,1,0})
    >>> w.shape, b
    ((2, 2, 1, 2), array([b_{0}, b_{1}], dtype=object))
    """
    x_logical = (spec.in_channels, *spec.input_size)
    samples = check_batch(batch)
    x = tensor_symbols("x", x_logical if samples is None else (samples, *x_logical))
    w = tensor_symbols("w", (spec.out_channels, spec.in_per_group, *spec.kernel_size))
    b = tensor_symbols("b", (spec.out_channels,)) if spec.bias else None
    return from_canonical_input(spec, x), from_canonical_weight(spec, w), b


# ---- layout views: user layout <-> canonical channels-first ----------------------------------
def to_canonical_input(spec: ConvSpec, x: np.ndarray) -> np.ndarray:
    """(…, *in, C_in) → (…, C_in, *in) for NHWC; identity for NCHW."""
    return np.moveaxis(x, -1, -1 - spec.dims) if spec.layout == "NHWC" else x


def from_canonical_input(spec: ConvSpec, x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, -1 - spec.dims, -1) if spec.layout == "NHWC" else x


def to_canonical_weight(spec: ConvSpec, w: np.ndarray) -> np.ndarray:
    """HWIO (*k, C_in/g, C_out) → (C_out, C_in/g, *k) for NHWC; identity for NCHW."""
    return np.moveaxis(w, (-1, -2), (0, 1)) if spec.layout == "NHWC" else w


def from_canonical_weight(spec: ConvSpec, w: np.ndarray) -> np.ndarray:
    return np.moveaxis(w, (0, 1), (-1, -2)) if spec.layout == "NHWC" else w


def to_canonical_output(spec: ConvSpec, y: np.ndarray) -> np.ndarray:
    return to_canonical_input(spec, y)


def from_canonical_output(spec: ConvSpec, y: np.ndarray) -> np.ndarray:
    return from_canonical_input(spec, y)


def check_shape(parameter: str, array: np.ndarray, expected: tuple[int, ...], layout: str) -> None:
    """Raise SpecError naming the argument when ``array`` is not of the expected shape."""
    shape = np.shape(array)
    if tuple(shape) != tuple(expected):
        raise SpecError(f"{parameter}.shape", tuple(shape),
                        f"must be {tuple(expected)} for this spec ({layout} layout)")
