"""The ring ℤ[X_1, …, X_D]/(X_1^{n_1} − 1, …, X_D^{n_D} − 1): exact values for roots of unity.

An identity in symbols z_a with the hypotheses z_a^{n_a} = 1 that holds at z_a = X_a in this
ring holds for every choice of n_a-th roots of unity z_a ∈ ℂ, because X_a ↦ z_a is a ring
homomorphism (it maps X_a^{n_a} − 1 to 0). Conversely, over ℚ the ring is a product of
cyclotomic fields (Chinese remainder theorem), so the identity at X is *equivalent* to the
identity at all roots at once — a concrete check without floating point and without tolerance.

An element is a dict {exponent tuple e (0 ≤ e_a < n_a): coefficient}, coefficients integers
(or SymPy expressions when the tensors are symbolic); zero coefficients are dropped.

>>> X = CyclicElement.generator((4,), 0)
>>> X ** 4 == 1, X ** -1 == X ** 3, (1 + X) * (1 - X) == 1 - X ** 2
(True, True, True)
"""

from __future__ import annotations

from typing import Any

import sympy as sp


def _is_zero(value: Any) -> bool:
    if isinstance(value, sp.Basic):
        return sp.expand(value) == 0
    return value == 0


class CyclicElement:
    """Σ_e coefficient·X^e in ℤ[X]/(X^n − 1) (n the tuple of moduli ``orders``)."""

    __slots__ = ("orders", "terms")

    def __init__(self, orders: tuple[int, ...], terms: dict[tuple[int, ...], Any]):
        if any(n < 1 for n in orders):
            raise ValueError(f"the orders {orders} must be ≥ 1")
        self.orders = tuple(orders)
        self.terms = {e: c for e, c in terms.items() if not _is_zero(c)}

    @classmethod
    def generator(cls, orders: tuple[int, ...], axis: int) -> CyclicElement:
        """X_axis."""
        exponent = tuple(1 % n if a == axis else 0 for a, n in enumerate(orders))
        return cls(orders, {exponent: 1})

    def _constant(self, value: Any) -> CyclicElement:
        return CyclicElement(self.orders, {(0,) * len(self.orders): value})

    def _coerce(self, other: Any) -> CyclicElement | None:
        if isinstance(other, CyclicElement):
            if other.orders != self.orders:
                raise ValueError(f"elements of different rings: orders {self.orders}, {other.orders}")
            return other
        if isinstance(other, (int, sp.Basic)) or hasattr(other, "numerator"):
            return self._constant(other)
        return None

    def __add__(self, other: Any) -> CyclicElement:
        other = self._coerce(other)
        if other is None:
            return NotImplemented
        terms = dict(self.terms)
        for e, c in other.terms.items():
            terms[e] = terms.get(e, 0) + c
        return CyclicElement(self.orders, terms)

    __radd__ = __add__

    def __neg__(self) -> CyclicElement:
        return CyclicElement(self.orders, {e: -c for e, c in self.terms.items()})

    def __sub__(self, other: Any) -> CyclicElement:
        return self + (-other)

    def __rsub__(self, other: Any) -> CyclicElement:
        return (-self) + other

    def __mul__(self, other: Any) -> CyclicElement:
        other = self._coerce(other)
        if other is None:
            return NotImplemented
        terms: dict[tuple[int, ...], Any] = {}
        for e1, c1 in self.terms.items():
            for e2, c2 in other.terms.items():
                e = tuple((a + b) % n for a, b, n in zip(e1, e2, self.orders))
                terms[e] = terms.get(e, 0) + c1 * c2
        return CyclicElement(self.orders, terms)

    __rmul__ = __mul__

    def __pow__(self, exponent: int) -> CyclicElement:
        """Any integer power of a monomial c·X^e with c = ±1 (a unit: X^{−1} = X^{n−1});
        nonnegative powers of any element."""
        if exponent < 0:
            if len(self.terms) != 1 or next(iter(self.terms.values())) not in (1, -1):
                raise ZeroDivisionError(f"{self} is not a unit of the form ±X^e")
            (e, c), = self.terms.items()
            return CyclicElement(self.orders, {tuple((-exponent * (n - a)) % n
                                                     for a, n in zip(e, self.orders)): c ** -exponent})
        result, base = self._constant(1), self
        while exponent:
            if exponent & 1:
                result = result * base
            base, exponent = base * base, exponent >> 1
        return result

    def __eq__(self, other: object) -> bool:
        coerced = self._coerce(other)
        if coerced is None:
            return NotImplemented
        keys = set(self.terms) | set(coerced.terms)
        return all(_is_zero(self.terms.get(e, 0) - coerced.terms.get(e, 0)) for e in keys)

    def __hash__(self) -> int:
        return hash((self.orders, frozenset(self.terms.items())))

    def _sympy_(self) -> sp.Expr:
        """Σ c·Π_a X_a^{e_a} (X, or X_1, X_2, … in several dimensions)."""
        names = ["X"] if len(self.orders) == 1 else [f"X_{a + 1}" for a in range(len(self.orders))]
        X = [sp.Symbol(name) for name in names]
        return sp.Add(*(sp.sympify(c, strict=True) * sp.Mul(*(x ** k for x, k in zip(X, e)))
                        for e, c in sorted(self.terms.items())))

    def evaluate_at(self, roots: tuple[Any, ...]) -> Any:
        """The image under X_a ↦ roots[a][1] (``roots[a]`` the table of powers ζ_a^0 … ζ_a^{n_a−1})."""
        return sum((c * sp.Mul(*(table[k] for table, k in zip(roots, e)))
                    for e, c in self.terms.items()), sp.Integer(0))

    def __str__(self) -> str:
        return sp.sstr(sp.expand(self._sympy_())) + " (mod " + ", ".join(
            (f"X^{n} - 1" if len(self.orders) == 1 else f"X_{a + 1}^{n} - 1")
            for a, n in enumerate(self.orders)) + ")"

    __repr__ = __str__
