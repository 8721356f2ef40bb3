"""Operands of every form: the user's x, w, b checked and viewed channels-first and flattened.

Canonical views: x (B, C_in, ∏in), w (C_out, C_in/groups, ∏K), b (C_out,) or None, where the
spatial axes are flattened row-major (the mixed-radix bijection of ``Pattern``).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np
import sympy as sp

from ..errors import SpecError
from ..spec import ConvSpec
from ..symbols import check_shape, from_canonical_output, to_canonical_input, to_canonical_weight
from .entries import Entry, as_object_array


@dataclass(frozen=True)
class Operands:
    x: np.ndarray          # (B, C_in, ∏in)
    w: np.ndarray          # (C_out, C_in/groups, ∏K)
    b: np.ndarray | None   # (C_out,)
    batched: bool


def operands(spec: ConvSpec, x: object, w: object, b: object = None) -> Operands:
    """Check shapes against ``spec`` (naming the argument on mismatch) and view canonically."""
    x = as_object_array("x", x)
    w = as_object_array("w", w)
    batched = x.ndim == spec.dims + 2
    expected_x = spec.input_shape
    check_shape("x", x[0] if batched and len(x) else x, expected_x, spec.layout)
    check_shape("w", w, spec.weight_shape, spec.layout)
    if spec.bias:
        if b is None:
            raise SpecError("b", None, "the spec has bias=True: pass a bias of shape "
                                       f"({spec.out_channels},)")
        b = as_object_array("b", b)
        check_shape("b", b, (spec.out_channels,), spec.layout)
    elif b is not None:
        raise SpecError("b", f"an array of shape {np.shape(b)}",  # type: ignore[call-overload]  # any object has a shape
                        "the spec has bias=False: pass b=None")
    xc = to_canonical_input(spec, x if batched else x[None])
    wc = to_canonical_weight(spec, w)
    return Operands(
        x=xc.reshape(xc.shape[0], spec.in_channels, prod(spec.input_size)),
        w=wc.reshape(spec.out_channels, spec.in_per_group, prod(spec.kernel_size)),
        b=b,
        batched=batched,
    )


def output_array(spec: ConvSpec, flat: np.ndarray, batched: bool) -> np.ndarray:
    """(B, C_out, ∏out) → the user's layout, (C_out, *out) or (*out, C_out), batched or not."""
    y = flat.reshape(flat.shape[0], spec.out_channels, *spec.output_size)
    y = from_canonical_output(spec, y)
    return y if batched else y[0]


def add_terms(terms: list[Entry]) -> Entry:
    """Σ terms: one SymPy Add (linear time) when symbolic, Python's sum for plain numbers."""
    if any(isinstance(t, sp.Basic) for t in terms):
        return sp.Add(*terms)
    return sum(terms, 0)
