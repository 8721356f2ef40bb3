"""Failure messages: the first differing outputs with the terms they lack and have instead."""

from __future__ import annotations

from itertools import product as cartesian

import numpy as np
import sympy as sp

from ..forms import conv
from ..result import Counterexample, counterexample_of
from ..spec import ConvSpec
from ..symbols import entry_key, symbols, to_canonical_output

SHOWN_OUTPUTS = 3   # differing outputs listed in a failure message
SHOWN_TERMS = 4     # terms listed per output


def _header(spec: ConvSpec, mode: str, found_by: str = "exact probing") -> str:
    how = f" (found by {found_by})" if mode == "probe" else ""
    described = spec.describe()   # it names a layout other than NCHW itself: name each layout once
    layer = described if described.endswith(spec.layout) else f"{described}, {spec.layout}"
    return f"fn does not compute the convolution [{layer}]{how}"


def _shape_message(spec: ConvSpec, shape: tuple[int, ...], mode: str) -> str:
    names = "(*output_size, C_out)" if spec.layout == "NHWC" else "(C_out, *output_size)"
    return (f"{_header(spec, mode)}: fn returned shape {shape}, the output shape is "
            f"{spec.output_shape} = {names}.")


def _user_index(spec: ConvSpec, index: tuple[int, ...]) -> tuple[int, ...]:
    """A canonical (o, *out) index in the user's layout."""
    return (*index[1:], index[0]) if spec.layout == "NHWC" else index


def _factors(term: sp.Expr) -> tuple[sp.Number, list[sp.Expr]]:
    """The coefficient and the factors of a monomial, in numeric symbol order (b, w, x)."""
    coefficient, rest = term.as_coeff_Mul()
    return coefficient, sorted(sp.Mul.make_args(rest), key=lambda f: entry_key(f.as_base_exp()[0]))


def _term(term: sp.Expr) -> str:
    """w_{0,1,2,2}·x_{1,3,2}: factors in numeric symbol order, joined by a centred dot."""
    coefficient, factors = _factors(term)
    text = "·".join(str(f) for f in factors if f != 1)
    if not text:
        return str(coefficient)
    return text if coefficient == 1 else f"{coefficient}·{text}"


def _term_key(term: sp.Expr) -> list[tuple[str, tuple[int, ...]]]:
    """Sort monomials by their factors' numeric names: constants, b, then w·x by index."""
    return [entry_key(f) for f in _factors(term)[1] if f != 1]


def _terms(terms: tuple[sp.Expr, ...]) -> str:
    shown = ", ".join(_term(t) for t in sorted(terms, key=_term_key)[:SHOWN_TERMS])
    return shown + (f" and {len(terms) - SHOWN_TERMS} more" if len(terms) > SHOWN_TERMS else "")


def _describe_difference(spec: ConvSpec, found: Counterexample) -> str:
    name = "y[" + ",".join(map(str, _user_index(spec, found.index))) + "]"
    if found.missing and found.extra:
        return f"{name} lacks {_terms(found.missing)}; has {_terms(found.extra)} instead"
    if found.missing:
        return f"{name} lacks {_terms(found.missing)}"
    return f"{name} has the extra terms {_terms(found.extra)}"


def _differences(spec: ConvSpec, outputs: list[tuple[tuple[int, ...], sp.Expr, sp.Expr]]) -> list[str]:
    """'  y[…] lacks …; has … instead' for each (canonical index, expected, obtained) whose
    polynomials differ."""
    found = [c for index, expected, obtained in outputs
             if (c := counterexample_of("fn", index, expected, obtained)) is not None]
    return ["  " + _describe_difference(spec, c) for c in found]


def _difference_message(spec: ConvSpec, y: np.ndarray, mode: str, on: str = "") -> str:
    x, w, b = symbols(spec)
    expected = to_canonical_output(spec, conv(spec, x, w, b))
    obtained = to_canonical_output(spec, y)
    found = [c for index in cartesian(*(range(n) for n in expected.shape))
             if (c := counterexample_of("fn", index, expected[index], obtained[index])) is not None]
    lines = [f"{_header(spec, mode)}: {len(found)} of {expected.size} outputs differ{on}."]
    lines += ["  " + _describe_difference(spec, c) for c in found[:SHOWN_OUTPUTS]]
    if len(found) > SHOWN_OUTPUTS:
        lines.append(f"  ... and {len(found) - SHOWN_OUTPUTS} more differing output(s)")
    return "\n".join(lines)
