"""User-supplied entries (SymPy) as the exact backend's integer ids: T entries Σ c·w, P entries
0 or c·x, K entries 0 or c·w, output entries Σ c·w·x + Σ c·b, integer coefficients up to
COEFFICIENT_LIMIT; anything else is ``NotRepresentable`` and the SymPy backend checks it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..spec import ConvSpec
from ..symbols import symbols, to_canonical_input, to_canonical_weight

COEFFICIENT_LIMIT = 1 << 24
"""Largest |coefficient| accepted in a user-supplied entry (products then stay far below 2⁶³)."""


class NotRepresentable(Exception):
    """A form the integer representation does not cover; the SymPy backend checks it instead."""


@dataclass(frozen=True)
class SymbolIds:
    """symbol ↔ id maps built from ``symconv.symbols(spec)`` (canonical orders)."""

    weights: tuple      # w by id, then b_o at n_w + o
    inputs: tuple       # x by id, then the constant 1 at n_x
    weight_ids: dict    # w → id
    bias_ids: dict      # b_o → n_w + o
    input_ids: dict     # x → id

    @classmethod
    def of(cls, spec: ConvSpec) -> SymbolIds:
        x, w, b = symbols(spec)
        w_flat = tuple(to_canonical_weight(spec, w).reshape(-1))
        biases = tuple(b) if b is not None else ()
        x_flat = tuple(to_canonical_input(spec, x).reshape(-1))
        return cls(w_flat + biases, x_flat + (sp.Integer(1),),
                   {s: a for a, s in enumerate(w_flat)},
                   {s: len(w_flat) + o for o, s in enumerate(biases)},
                   {s: i for i, s in enumerate(x_flat)})

    def polynomial(self, terms: Any) -> sp.Expr:
        """Σ coef · w · x as a SymPy expression (for the one row of a counterexample)."""
        coef = np.ones_like(terms.w) if terms.coef is None else terms.coef
        return sp.Add(*(int(k) * self.weights[a] * self.inputs[i]
                        for a, i, k in zip(terms.w, terms.x, coef)))


def _terms_of(value: Any) -> Iterator[tuple[int, sp.Expr]]:
    """(integer coefficient, monomial) of the expanded entry; NotRepresentable otherwise."""
    value = sp.sympify(value, strict=True)
    expanded = value if _expanded(value) else sp.expand(value)
    if expanded == 0:
        return
    for term in sp.Add.make_args(expanded):
        coef, monomial = term.as_coeff_Mul()
        if not coef.is_Integer or abs(int(coef)) > COEFFICIENT_LIMIT:   # never printed: it may have 10⁴ digits
            raise NotRepresentable(f"a coefficient that is not an integer of at most {COEFFICIENT_LIMIT.bit_length()} "
                                   f"bits")
        yield int(coef), monomial


def _expanded(value: sp.Expr) -> bool:
    """Whether ``value`` is already its own expansion, so ``sp.expand`` would return it: a sum
    (or one term) of distinct monomials, each an optional nonzero Integer coefficient times
    distinct commutative Symbols; then each term's coefficient is the polynomial's coefficient
    of its monomial. SymPy's expansion of a 28-term output entry takes 25 ms; this test far less.

    >>> a, b = sp.symbols("a b")
    >>> _expanded(2 * a * b + a), _expanded(a * (a + b)), _expanded(sp.Add(a, a, evaluate=False))
    (True, False, False)
    """
    seen = set()
    for term in sp.Add.make_args(value) if type(value) is sp.Add else (value,):
        factors = term.args if type(term) is sp.Mul else (term,)
        if factors and isinstance(factors[0], sp.Integer) and len(factors) > 1:
            if factors[0] == 0:
                return False
            factors = factors[1:]
        monomial = frozenset(factors)
        if not all(type(f) is sp.Symbol and f.is_commutative for f in factors) or len(monomial) != len(factors) \
                or monomial in seen:
            return False
        seen.add(monomial)
    return True


def _linear(value: Any, ids: dict, many: bool) -> list[tuple[int, int]]:
    """[(id, coef)] of an entry Σ c·s with s in ``ids`` (at most one term unless ``many``)."""
    found = []
    for coef, monomial in _terms_of(value):
        if monomial not in ids:
            raise NotRepresentable(f"monomial {monomial}")
        found.append((ids[monomial], coef))
    if len(found) > 1 and not many:
        raise NotRepresentable(f"entry {value} is a sum")
    return found


def _single_terms(matrix: Any, ids: dict) -> tuple[np.ndarray, np.ndarray]:
    """(id array with −1 for 0, coef array) of a matrix whose entries are 0 or c·s."""
    array = np.asarray(matrix.tolist() if hasattr(matrix, "tolist") else matrix, dtype=object)
    found = np.full(array.shape, -1, dtype=np.int64)
    coef = np.zeros(array.shape, dtype=np.int64)
    for index, value in np.ndenumerate(array):
        for a, k in _linear(value, ids, many=False):
            found[index], coef[index] = a, k
    return found, coef


def _bilinear(value: Any, ids: SymbolIds) -> list[tuple[int, int, int]]:
    """[(weight id, input id, coef)] of an output entry Σ c·w·x + Σ c·b."""
    found = []
    for coef, monomial in _terms_of(value):
        if monomial in ids.bias_ids:
            found.append((ids.bias_ids[monomial], len(ids.input_ids), coef))
            continue
        factors = sorted(sp.Mul.make_args(monomial), key=lambda f: f in ids.input_ids)
        if len(factors) != 2 or factors[0] not in ids.weight_ids or factors[1] not in ids.input_ids:
            raise NotRepresentable(f"monomial {monomial}")
        found.append((ids.weight_ids[factors[0]], ids.input_ids[factors[1]], coef))
    return found


def _max_abs(coef: np.ndarray | None) -> int:
    return 1 if coef is None or coef.size == 0 else int(np.abs(coef).max())
