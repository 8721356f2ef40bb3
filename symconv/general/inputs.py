"""Validation of the expressions general derivations take: claims are exact SymPy expressions.
Every refusal is a
``SpecError(parameter, value, rule)`` naming the argument, never an error from inside SymPy.

Why exact: the concrete checks evaluate claims with exact integers and fractions; a Float
(``1.0*w[t]``) is neither, and ``pi``, ``I``, ``oo`` have no exact rational value. A numeric
power of a non-number with a large exponent is refused because its canonical form (an expansion)
would not finish.

>>> import sympy as sp
>>> w = sp.IndexedBase("w")
>>> exact_expression(sp.Rational(1, 2) * w[0], "entry")
w[0]/2
>>> exact_expression(1.0 * w[0], "entry")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
symconv.errors.SpecError: entry=1.0*w[0]: contains the floating-point number 1.00000000000000; write exact numbers, ...

Counts, seeds, deadlines and flags are checked by ``symconv.errors`` (``integer``, ``seconds``,
``boolean``), as every argument of symconv is; the number of spatial dimensions by ``spatial_dims``.
"""

from __future__ import annotations

from fractions import Fraction
from numbers import Integral
from typing import Any

import numpy as np
import sympy as sp
from sympy.logic.boolalg import Boolean

from ..errors import SpecError, integer, refuse_foreign
from ..parsing import MAX_TERMS, expanded_terms

MAX_CLAIM_EXPONENT = 64
"""Largest numeric exponent of a non-number in a claim (the canonical form expands powers)."""
INEXACT = (sp.NumberSymbol, sp.core.numbers.ImaginaryUnit, sp.core.numbers.Infinity,
           sp.core.numbers.NegativeInfinity, sp.core.numbers.ComplexInfinity, sp.core.numbers.NaN)


def spatial_dims(value: Any) -> int:
    """``dims`` of prove_general, check_claim, symbols_for and ``symbolic general --dims``: an
    integer (Python, NumPy or SymPy, ``errors.integer``) that is 1, 2 or 3, else SpecError.

    >>> spatial_dims(np.int64(2)), spatial_dims(sp.Integer(3))
    (2, 3)
    >>> spatial_dims(1.0)
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: dims=1.0: must be an integer
    >>> spatial_dims(np.int64(4))
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: dims=4: must be 1, 2 or 3
    """
    dims = integer("dims", value)
    if dims not in (1, 2, 3):
        raise SpecError("dims", dims, "must be 1, 2 or 3")
    return dims


def exact_expression(value: Any, parameter: str) -> sp.Expr:
    """``value`` as one exact SymPy expression (an entry, a symbol Λ, a source map, …).

    Refused: text (user text is never evaluated here; parse it first), relations and other
    conditions, matrices, lists and other containers, Floats, pi/I/oo/nan, non-integer numeric
    powers and numeric exponents beyond ``MAX_CLAIM_EXPONENT`` of a non-number.
    """
    if isinstance(value, str):
        raise SpecError(parameter, value, "must be a SymPy expression, not text (build it with "
                                          "SymPy, or use check_claim / the command line for text)")
    value = refuse_foreign(parameter, value, "expressions")  # a copy: a user's class may lie in its arithmetic
    if isinstance(value, (bool, np.bool_)):
        raise SpecError(parameter, value, "must be a SymPy expression, not a bool")
    if isinstance(value, (float, complex, np.floating, np.complexfloating)):
        raise SpecError(parameter, value, "is a floating-point number; write exact numbers, "
                                          "e.g. sp.Rational(1, 10) or sp.Integer(2)")
    if isinstance(value, (Integral, Fraction)):
        return sp.Rational(value)
    if isinstance(value, (sp.MatrixBase, np.ndarray, list, tuple, dict, set, frozenset)):
        raise SpecError(parameter, value, f"must be one expression, not a {type(value).__name__}")
    if isinstance(value, (Boolean, sp.core.relational.Relational)):
        raise SpecError(parameter, value, "is a relation or condition, not an expression (give "
                                          "the value only; conditions go inside Piecewise)")
    if not isinstance(value, sp.Expr):
        raise SpecError(parameter, value, f"must be a SymPy expression, not {type(value).__name__}")
    for node in sp.preorder_traversal(value):
        _check_node(node, value, parameter)
    terms = expanded_terms(value)  # the same bound as for text claims: canonical forms expand
    if terms > MAX_TERMS:
        raise SpecError(parameter, value, f"would expand to about {terms} terms; at most "
                                          f"{MAX_TERMS} are allowed")
    return value


def _check_node(node: sp.Basic, value: sp.Expr, parameter: str) -> None:
    if isinstance(node, sp.Sum) and any(bound.has(sp.Sum) for _, *ends in node.limits
                                        for bound in ends):
        raise SpecError(parameter, value, "has a Sum inside a summation bound; write the bound "
                                          "as a closed form")
    if isinstance(node, sp.Float):
        raise SpecError(parameter, value, f"contains the floating-point number {node}; write "
                                          "exact numbers, e.g. sp.Rational(1, 10) or sp.Integer(2)")
    if isinstance(node, INEXACT):
        raise SpecError(parameter, value, f"contains {node}, which is not an exact rational number")
    if isinstance(node, sp.Pow) and node.exp.is_number:
        if not node.exp.is_integer:
            raise SpecError(parameter, value, f"contains the non-integer power {node}")
        if not node.base.is_number and abs(int(node.exp)) > MAX_CLAIM_EXPONENT:
            raise SpecError(parameter, value, f"contains the power {node}: numeric exponents of "
                                              f"more than {MAX_CLAIM_EXPONENT} are refused (the "
                                              "canonical form would expand it)")
