"""Failure messages of the transposed and gradient checks: the differing outputs with the terms
they lack and have instead (named y, grad_x, grad_w, grad_b), and the recognised faults
(``adjoint_maps.alternatives``) that reproduce an output exactly."""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral

import numpy as np
import sympy as sp

from ..result import Counterexample, counterexample_of
from .adjoint_maps import AdjointMap, Arrays, alternatives
from .reports import SHOWN_OUTPUTS, _terms

# The classes a polynomial with rational coefficients is built of, by exact type: a subclass (or
# any other class) may answer ``==`` and ``expand`` as it likes, and a Float is no exact coefficient.
_POLYNOMIAL_CLASSES = frozenset({sp.Add, sp.Mul, sp.Pow, sp.Symbol, sp.Integer, sp.Rational, type(sp.S.One),
                                 type(sp.S.Zero), type(sp.S.NegativeOne), type(sp.S.Half)})

Differences = tuple[int, list[Counterexample]]
Matches = Callable[[str, np.ndarray, np.ndarray], bool]


def header(m: AdjointMap, caller: str, how: str = "") -> str:
    return f"{caller} does not compute {m.title} [{m.describe()}]{how}"


def foreign_part(value: object) -> object | None:
    """The first part of ``value`` that is neither a Python or NumPy integer nor a node of SymPy's
    own polynomial classes (``_POLYNOMIAL_CLASSES``, by exact type), else None.

    >>> x = sp.Symbol("x")
    >>> foreign_part(3 * x**2 + sp.Rational(1, 2)), foreign_part(1.5 * x)
    (None, 1.50000000000000)
    """
    if isinstance(value, Integral) and not isinstance(value, bool) and type(value).__module__ in ("builtins", "numpy"):
        return None
    if type(value) not in _POLYNOMIAL_CLASSES:
        return value
    return next((part for arg in value.args if (part := foreign_part(arg)) is not None), None)  # type: ignore[attr-defined]


def _equal(expected: object, obtained: object) -> bool:
    """Equal polynomials (canonical expanded forms); both sides of SymPy's own classes (``foreign_part``)."""
    return expected is obtained or sp.expand(expected - obtained) == 0  # type: ignore[operator]


def differences(name: str, expected: np.ndarray, obtained: np.ndarray) -> Differences:
    """How many entries of ``obtained`` are other polynomials than ``expected``, and the first
    SHOWN_OUTPUTS of them as counterexamples (terms lacking and extra), indexed as the user's arrays."""
    wrong = [index for index in np.ndindex(*expected.shape) if not _equal(expected[index], obtained[index])]
    shown = [counterexample_of(name, index, expected[index], obtained[index]) for index in wrong[:SHOWN_OUTPUTS]]
    return len(wrong), [c for c in shown if c is not None]


def _line(found: Counterexample) -> str:
    entry = f"{found.form}[{','.join(map(str, found.index))}]"
    if found.missing and found.extra:
        return f"{entry} lacks {_terms(found.missing)}; has {_terms(found.extra)} instead"
    if found.missing:
        return f"{entry} lacks {_terms(found.missing)}"
    return f"{entry} has the extra terms {_terms(found.extra)}"


def difference_message(m: AdjointMap, caller: str, found: dict[str, Differences], sizes: dict[str, int],
                       how: str = "", on: str = "") -> str:
    """The header, then per differing output how many entries differ and the first of them."""
    parts = [f"{name}: {count} of {sizes[name]} entries differ" for name, (count, _) in found.items() if count]
    lines = [f"{header(m, caller, how)}{on}: {'; '.join(parts)}."]
    for name, (count, shown) in found.items():
        lines += ["  " + _line(c) for c in shown]
        if count > len(shown):
            lines.append(f"  ... and {count - len(shown)} more differing entries of {name}")
    return "\n".join(lines)


def shape_message(m: AdjointMap, caller: str, name: str, shape: tuple[int, ...] | None,
                  expected: tuple[int, ...] | None, how: str = "") -> str:
    """A wrong shape (or None where an output is due); a transposed output of another size is
    named by the output_padding that gives it."""
    said = "None" if shape is None else f"shape {shape}"
    due = "None (the spec has no bias)" if expected is None else f"{expected}"
    text = f"{header(m, caller, how)}: {caller} returned {name} of {said}, it must be {due}."
    if m.kind == "transpose" and shape is not None and expected is not None and len(shape) == len(expected):
        spatial = slice(1, None) if m.spec.layout == "NCHW" else slice(0, -1)
        lead = len(shape) - m.spec.dims - 1
        got, want = shape[lead:][spatial], expected[lead:][spatial]
        offered = tuple(p + a - b for p, a, b in zip(m.output_padding, got, want))
        if got != want and shape[:lead] == expected[:lead] and min(offered) >= 0:
            text += (f"\nDiagnosis: output_padding off: {caller}'s output has the size of output_padding="
                     f"{offered}, the spec asks for output_padding={m.output_padding}.")
    return text


def diagnosis(m: AdjointMap, operands: Arrays, obtained: Arrays, wrong: list[str], numeric: bool = False,
              matches: Matches | None = None) -> str:
    """The recognised faults that reproduce a differing output exactly, one line each: as
    polynomials, or (``numeric``) as fn's float64 output at a random integer point ``operands``
    (a map of degree ≤ 2 other than that fault's agrees there with probability ≤ 2^-a), or
    (``matches(output name, the fault's exact value, fn's output)``) within a tolerance there."""
    def same(name: str, value: np.ndarray, output: np.ndarray) -> bool:
        if matches is not None:
            return matches(name, value, output)
        if numeric:
            return bool(np.array_equal(value.astype(np.float64), output))
        return all(_equal(a, o) for a, o in zip(value.flat, output.flat))

    causes = [f"{name}: {cause}" for name, cause, value in alternatives(m, operands)
              if name in wrong and value.shape == obtained[name].shape  # type: ignore[union-attr]
              and same(name, value, obtained[name])]  # type: ignore[arg-type]
    there = " at the random point" if numeric or matches else ""
    how = "within the tolerance" if matches else "exactly"
    if causes:
        return "".join(f"\nDiagnosis: {cause} — that map reproduces it {how}{there}." for cause in causes)
    return ("\nDiagnosis: none of the recognised faults (kernel flipped, weight channel axes transposed, "
            "output_padding off, bias missing, the groups' weight gradients swapped, weight gradient "
            f"flipped, not summed over the batch) reproduces the differing output {how}{there}.")


def explain(m: AdjointMap, caller: str, operands: Arrays, obtained: Arrays, how: str = "", on: str = "") -> str:
    """'' when fn's outputs (polynomials in ``operands``) are the map's, else the failure message:
    the differing entries of each output and the diagnosis."""
    expected = m.reference(operands)
    found = {name: differences(name, e, obtained[name]) for name, e in expected.items() if e is not None}
    wrong = [name for name, (count, _) in found.items() if count]
    if not wrong:
        return ""
    sizes = {name: e.size for name, e in expected.items() if e is not None}
    return difference_message(m, caller, found, sizes, how, on) + diagnosis(m, operands, obtained, wrong)
