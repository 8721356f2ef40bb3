"""A user-supplied matrix (or output) as a claim about the matrix, not only about its product.

T·vec(x) = y holds for a T that divides by x, and K·P = conv for P/x with K·x, for rows of P
permuted with the columns of K, for garbage in a column of K that multiplies only padding zeros.
So every supplied form is checked in three steps, each with its own counterexample: (1) its
entries are exact (``symconv.forms.entries``: text is never evaluated, floats only with integer
values) and polynomials in its own symbols only (``Supplied.violation``: the counterexample's
``reason`` names the entry and the offending symbols); (2) its product equals the definition (the
proof's own check); (3) it equals the layer's own matrix entry by entry, as canonical polynomials
(``Supplied.difference``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sympy as sp

from ..errors import renamed_keyword
from ..forms.entries import exact_matrix, form_violation
from ..parsing import ExpansionBudget
from .compare import Counterexample, counterexample_of, first_entry_difference, nonzeros

__all__ = ["WEIGHTS_ONLY", "Supplied", "check_supplied", "compare_supplied", "renamed_keyword"]

WEIGHTS_ONLY = "must be a polynomial in the weights only"


@dataclass(frozen=True)
class Supplied:
    """A user-supplied matrix (or output) and what it must be.

    ``value`` holds exact entries (``symconv.forms.entries.exact_matrix``); ``own`` builds the
    layer's matrix it must equal (None: checked only through its product, e.g. an output); its
    entries may use only the ``allowed`` symbols (``operands`` names them, ``rule`` states the
    rule). ``form`` names the check in counterexamples (``COMPARISONS``); ``reference`` builds
    what a counterexample shows as expected when there is no ``own`` (an output: the definition)."""

    form: str
    value: np.ndarray | sp.MatrixBase
    own: Callable[[], Any] | None
    allowed: frozenset
    operands: str
    rule: str
    reference: Callable[[], Any] | None = None
    parameter: str = ""

    @classmethod
    def of(cls, parameter: str, value: Any, shape: tuple[int, ...], layout: str, form: str,
           own: Callable[[], Any] | None, allowed: frozenset, operands: str, rule: str,
           reference: Callable[[], Any] | None = None) -> Supplied:
        """The user's ``value`` for argument ``parameter`` with exact entries (TypeError or
        SpecError naming the entry otherwise) and the given ``shape`` (SpecError otherwise)."""
        exact = exact_matrix(parameter, value, shape, layout)
        budget, entries = ExpansionBudget(parameter), nonzeros(exact)[1]
        for index in sorted(entries):  # before anything expands an entry
            budget.spend(f"{parameter}[{', '.join(map(str, index))}]", entries[index])
        return cls(form, exact, own, allowed, operands, rule, reference, parameter)

    def violation(self, known: frozenset) -> Counterexample | None:
        """The first entry (row-major) that is not a polynomial in the allowed symbols: a
        counterexample whose ``reason`` names the entry's offending symbols and the rule. An
        entry written with other symbols that cancel ((x + 1)² − x² − 2x − 1 + w) is judged by
        its expanded form, which equals it; an entry too large to expand (``sp.expand``
        multiplies out denominators too) was refused by ``Supplied.of``, not left to hang."""
        _, entries = nonzeros(self.value)
        for index in sorted(entries):
            entry = entries[index]
            if form_violation(entry, self.allowed, self.operands, known) is None:
                continue
            why = form_violation(sp.expand(entry), self.allowed, self.operands, known)
            if why is None:
                continue
            build = self.own or self.reference
            found = counterexample_of(self.form, index, 0 if build is None else _entry(build(), index), entry)
            if found is not None:
                return replace(found, reason=f"{why}: {self.rule}")
        return None

    def difference(self) -> Counterexample | None:
        """The first entry where the matrix differs from the layer's own (None without ``own``)."""
        return None if self.own is None else first_entry_difference(self.form, self.own(), self.value)


def _entry(array: Any, index: tuple[int, ...]) -> Any:
    return array[index] if isinstance(array, (sp.MatrixBase, np.ndarray)) else np.asarray(array, dtype=object)[index]


def check_supplied(supplied: list[Supplied], known: frozenset) -> Counterexample | None:
    """The first supplied form with an entry that breaks its rule (``Supplied.violation``)."""
    return next((found for s in supplied if (found := s.violation(known)) is not None), None)


def compare_supplied(supplied: list[Supplied]) -> Counterexample | None:
    """The first supplied matrix that differs from the layer's own (``Supplied.difference``): a
    product identity such as K·P = conv does not fix its factors (rows of P permuted with the
    columns of K, a column of K that multiplies only padding zeros)."""
    return next((found for s in supplied if (found := s.difference()) is not None), None)

