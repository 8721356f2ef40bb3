"""A fast exact scalar for symbolic mode: polynomials of degree ≤ 2 with exact rational
coefficients, as a dict monomial → coefficient, that NumPy object arrays carry.

A ``Session`` numbers its variables 0, 1, …; a monomial is an int: 0 for the constant 1, v + 1
for the variable v, and (u + 1)·M + (v + 1) (u ≤ v, M = ``MONOMIAL_BASE``) for u·v. ``Poly`` is
immutable and supports +, −, *, unary ±, ``/`` and ``**`` by exact numbers (int, NumPy integers,
``Fraction``, and float16/32/64 with their exact binary value), so ``np.dot``, ``np.sum``,
``sum()``, ``np.tensordot`` and loops over object arrays run on it. Every polynomial it returns
*is* the exact result of the arithmetic fn performed, so the outputs can be proved without SymPy.

Anything it cannot do exactly, or where SymPy might answer differently, is *refused*: the session
records it (so an fn that catches the exception is still not trusted) and raises
``FastPathRefused``; symbolic mode then runs fn on SymPy instead. Refused: a degree above 2,
bools, text, longdouble, complex, NaN/inf, a polynomial of another session (a cached one),
division by a polynomial, ordering (``<``), ``int()``/``float()``, ``bool()`` of a zero
polynomial, and ``==`` between two distinct polynomials that are mathematically equal (SymPy
compares structurally, so ``w·(x + y) == w·x + w·y`` is False there; a mathematically different
pair is unequal in both).

>>> s = Session()
>>> x, w = s.variables((2,))          # the variables 0 and 1: monomials 1 and 2
>>> p = w * x + 2 * x * w - 0.5 * w * x * 2
>>> p.terms == {1 * MONOMIAL_BASE + 2: 2}, x == 0, p == x
(True, False, False)
>>> w * x * x
Traceback (most recent call last):
...
symconv.testing.fastpoly.FastPathRefused: a product of degree 3 (symbolic mode runs fn on SymPy instead)
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

MONOMIAL_BASE = 1 << 24
"""M: monomial u·v is (u + 1)·M + (v + 1), so a session has fewer than M − 1 variables."""
Coefficient = int | Fraction
_INTEGERS = frozenset({int, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64})
_FLOATS = frozenset({float, np.float16, np.float32, np.float64})   # float() of these is exact


class FastPathRefused(TypeError):
    """An operation the fast scalar does not do exactly, or not as SymPy would."""


class Session:
    """The variables of one symbolic check, and whether fn did anything the fast path refuses."""

    def __init__(self) -> None:
        self.count = 0
        self.refused: str | None = None

    def variables(self, shape: tuple[int, ...]) -> np.ndarray:
        """An object array of new variables (numbered in C order after the earlier ones)."""
        size = math.prod(shape)
        if self.count + size >= MONOMIAL_BASE - 1:
            raise self.refuse(f"more than {MONOMIAL_BASE - 2} variables")
        array = np.empty(size, dtype=object)
        array[:] = [Poly(self, {v + 1: 1}) for v in range(self.count, self.count + size)]
        self.count += size
        return array.reshape(shape)

    def refuse(self, reason: str) -> FastPathRefused:
        """Record the first refusal and return the exception to raise."""
        self.refused = self.refused or reason
        return FastPathRefused(f"{reason} (symbolic mode runs fn on SymPy instead)")

    def number(self, value: Any) -> Coefficient:
        """``value`` as an exact int or Fraction, or refused (bools, longdouble, NaN, …)."""
        kind = type(value)
        if kind in _INTEGERS:
            return int(value)
        if kind is Fraction:
            return int(value) if value.denominator == 1 else value
        if kind in _FLOATS and math.isfinite(value):
            exact = Fraction(float(value))
            return int(exact) if exact.denominator == 1 else exact
        raise self.refuse(f"arithmetic with {kind.__name__} {value!r}")


def _monomial(session: Session, a: int, b: int) -> int:
    if not a or not b:
        return a or b
    if a >= MONOMIAL_BASE or b >= MONOMIAL_BASE:
        raise session.refuse("a product of degree 3")
    return a * MONOMIAL_BASE + b if a <= b else b * MONOMIAL_BASE + a


def _accumulate(terms: dict[int, Coefficient], monomial: int, coefficient: Coefficient) -> None:
    """terms[monomial] += coefficient, the monomial dropped where the sum is 0."""
    total = terms.get(monomial, 0) + coefficient
    if total:
        terms[monomial] = total
    else:
        terms.pop(monomial, None)


class Poly:
    """An immutable polynomial of degree ≤ 2 of one ``Session`` (module docstring)."""

    __slots__ = ("session", "terms")

    def __init__(self, session: Session, terms: dict[int, Coefficient]) -> None:
        self.session, self.terms = session, terms

    def variable(self) -> int:
        """The number of a single variable (the polynomial 1·v)."""
        (monomial, coefficient), = self.terms.items()
        assert coefficient == 1 and 0 < monomial < MONOMIAL_BASE
        return monomial - 1

    def _terms_of(self, other: Any) -> dict[int, Coefficient]:
        if type(other) is Poly:
            if other.session is not self.session:
                raise self.session.refuse("a polynomial of another check (cached by fn?)")
            return other.terms
        value = self.session.number(other)
        return {0: value} if value else {}

    def _sum(self, other: dict[int, Coefficient], sign: int) -> Poly:
        if not other:
            return self
        big, small = (self.terms, other) if len(self.terms) >= len(other) or sign < 0 else (other, self.terms)
        terms = dict(big)
        for monomial, coefficient in small.items():
            _accumulate(terms, monomial, sign * coefficient)
        return Poly(self.session, terms)

    def __add__(self, other: Any) -> Poly:
        return NotImplemented if isinstance(other, np.ndarray) else self._sum(self._terms_of(other), 1)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Poly:
        return NotImplemented if isinstance(other, np.ndarray) else self._sum(self._terms_of(other), -1)

    def __rsub__(self, other: Any) -> Poly:
        return (-self)._sum(self._terms_of(other), 1)

    def __neg__(self) -> Poly:
        return Poly(self.session, {m: -c for m, c in self.terms.items()})

    def __pos__(self) -> Poly:
        return self

    def __mul__(self, other: Any) -> Poly:
        if isinstance(other, np.ndarray):
            return NotImplemented
        terms = self._terms_of(other)
        if len(terms) == 1 and len(self.terms) == 1:   # the common w·x, or a term times a number
            (a, ca), = self.terms.items()
            (b, cb), = terms.items()
            return Poly(self.session, {_monomial(self.session, a, b): ca * cb})
        if len(terms) == 1 and 0 in terms:   # by a nonzero number
            factor = terms[0]
            return Poly(self.session, {m: c * factor for m, c in self.terms.items()})
        product: dict[int, Coefficient] = {}
        for a, ca in self.terms.items():
            for b, cb in terms.items():
                _accumulate(product, _monomial(self.session, a, b), ca * cb)
        return Poly(self.session, product)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Poly:
        if type(other) is Poly or not self.session.number(other):
            raise self.session.refuse("a division by a polynomial or by zero")
        return self * (1 / Fraction(self.session.number(other)))

    def __pow__(self, exponent: Any) -> Poly:
        if type(exponent) is not int or not 0 <= exponent <= 2:
            raise self.session.refuse(f"a power {exponent!r}")
        return Poly(self.session, {0: 1}) if exponent == 0 else self if exponent == 1 else self * self

    def __eq__(self, other: Any) -> bool:  # type: ignore[override]
        if other is self:
            return True
        if isinstance(other, np.ndarray):
            return NotImplemented
        if self.terms != self._terms_of(other):
            return False
        raise self.session.refuse("== of equal polynomials (SymPy compares structurally)")

    def __ne__(self, other: Any) -> bool:  # type: ignore[override]
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = object.__hash__   # identity, consistent with == (equal distinct objects are refused)

    def __bool__(self) -> bool:
        if self.terms and set(self.terms) != {0}:
            return True   # SymPy: any expression but the number 0 is truthy
        if self.terms:
            return bool(self.terms[0])
        raise self.session.refuse("bool() of a polynomial that is zero (SymPy may not know it)")

    def __repr__(self) -> str:
        return f"<fast polynomial, {len(self.terms)} term(s)>"


def _refused(name: str) -> Any:
    def method(self: Poly, *args: Any) -> Any:
        raise self.session.refuse(f"{name} of a polynomial")
    method.__name__ = name
    return method


for _name in ("__lt__", "__le__", "__gt__", "__ge__", "__int__", "__float__", "__complex__", "__index__",
              "__round__", "__abs__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__rtruediv__",
              "__rpow__", "__matmul__", "__rmatmul__", "__trunc__", "__floor__", "__ceil__"):
    setattr(Poly, _name, _refused(_name))
