"""User-supplied values: exact SymPy entries or a clear error, and the symbols a form may use.

Explanation
-----------
Every matrix, output or operand a user hands to symconv passes through ``exact_entry`` before any
algebra touches it:

* accepted: ``int``, ``fractions.Fraction``, NumPy integers, SymPy expressions (``sp.Expr``);
* only SymPy's own classes, in every node of an expression tree (``symconv.errors.foreign_class``),
  and SymPy's own matrix classes (``symconv.errors.own_matrix``): a subclass may override
  ``__eq__`` (Python asks a subclass's reflected ``==`` first), ``expand`` or ``todok`` and make
  a wrong entry or matrix look right; a supplied matrix is always rebuilt, never kept;
* NumPy arrays only of NumPy's own ``ndarray`` class (a subclass shows the caller other entries
  than its storage holds), SymPy matrices read from storage of SymPy's own classes;
* a proof's entries only with a bounded value (at most MAX_BITS bits, bounded from the tree
  before anything evaluates it) and without an undefined part that expansion would drop
  (``symconv.forms.entry_values``);
* floats (``float``, NumPy floats, SymPy ``Float`` inside an expression) are accepted only when
  their value is an integer, converted exactly (``2.0`` ↦ 2); any other float is refused, because
  a proof about 0.1 would be a proof about 0.1000000000000000055511151231257827…;
* text (``str``, ``bytes``) is a TypeError: it is never evaluated (``sympify`` on a string calls
  ``eval``), so conversion uses ``sympify(strict=True)`` on whitelisted types only;
* everything else — None, bool, NaN and infinities, relations (``Eq``), truth values, matrices,
  sets (``Interval``), complex Python numbers — is a SpecError naming the argument, the entry and
  the rule.

``form_violation`` states the second rule of a supplied form: which symbols its entries may use.
A Toeplitz matrix T with T·vec(x) = y is the FC layer's weight matrix only if T does not depend on
x (T[r, 0] = y_r / x_0 satisfies the product identity); so T, K (and Tᵀ, W) must be polynomials in
the weights, P a polynomial in the inputs, an output a polynomial in x, w, b.

Examples
--------
>>> exact_entry("T", (0, 0), 2.0)
2
>>> exact_entry("T", (0, 1), "w_{0,0,0}")  # doctest: +NORMALIZE_WHITESPACE
Traceback (most recent call last):
...
TypeError: T[0, 1]='w_{0,0,0}': text is not evaluated (sympify would eval it); pass SymPy expressions built from
symconv.symbols(spec)
"""

from __future__ import annotations

import cmath
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from numbers import Complex, Integral, Number
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from ..errors import SpecError, matrix_entries, refuse_foreign
from ..own_values import one_reading
from ..parsing import MAX_BITS, _shorten
from ..symbols import check_shape, entry_key
from .entry_values import _number_bits, value_problem

OPERAND_RULE = "must be a finite number or a SymPy expression"
Entry = Any
"""An entry of a form's object array: a number or a SymPy expression (NumPy types object-array
entries as Any and SymPy ships no types, so to mypy this is Any; the name says what it holds)."""
RULE = ("must be an exact number (int, fractions.Fraction, a float with an integer value) or a "
        "SymPy expression")


def _where(parameter: str, index: tuple[int, ...] | None) -> str:
    return parameter if index is None else f"{parameter}[{', '.join(map(str, index))}]"


def checked_entry(parameter: str, index: tuple[int, ...] | None, value: object) -> Entry:
    """``value`` unchanged if it is a number (finite) or a SymPy expression; TypeError for text,
    SpecError naming ``parameter[index]``, the value and the rule for anything else (None, bool,
    NaN, relations, truth values, matrices, sets). Operands of the forms (x, w, b) may hold
    floats: evaluating a layer on floats is allowed, proving about them is not (``exact_entry``).

    >>> checked_entry("w", (0, 0, 1), sp.Interval(0, 1))  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: w[0, 0, 1]=Interval(0, 1): Interval is not a number or a SymPy expression; each entry
    must be a finite number or a SymPy expression
    """
    where = _where(parameter, index)
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{where}={value!r}: text is not evaluated (sympify would eval it); pass SymPy "
                        f"expressions built from symconv.symbols(spec)")
    value = refuse_foreign(where, value, "expressions")   # its own copy: what the proof reads
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise SpecError(where, value, f"each entry {OPERAND_RULE}")
    if isinstance(value, Number):
        if not _finite(value):
            raise SpecError(where, value, f"not a finite number; each entry {OPERAND_RULE}")
        return value
    if isinstance(value, sp.Symbol):
        return value
    if not isinstance(value, sp.Expr) or isinstance(value, MatrixExpr):
        raise SpecError(where, value,
                        f"{type(value).__name__} is not a number or a SymPy expression; each entry {OPERAND_RULE}")
    if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise SpecError(where, value, f"not a finite number; each entry {OPERAND_RULE}")
    return value


def _finite(value: Number) -> bool:
    """Whether a number is finite, decided exactly: an int or Fraction always is (10**400 too big
    for a float is still finite), a SymPy number by its own ``is_finite``.

    >>> _finite(10**400), _finite(Fraction(10**400, 3)), _finite(sp.Integer(10**400)), _finite(float("inf"))
    (True, True, True, False)
    """
    if isinstance(value, (Integral, Fraction)):
        return True
    if isinstance(value, sp.Basic):
        return bool(value.is_finite)
    if isinstance(value, Decimal):  # Decimal("1e400") is finite, though no float holds it
        return value.is_finite()
    if isinstance(value, Complex):  # Python's and NumPy's floats and complex numbers
        return cmath.isfinite(complex(value))
    raise TypeError(f"{type(value).__name__} is a numbers.Number with no complex value")


def exact_entry(parameter: str, index: tuple[int, ...] | None, value: object) -> sp.Expr:
    """``value`` as an exact SymPy expression (module docstring), or TypeError / SpecError naming
    ``parameter[index]``, the value and the rule.

    >>> exact_entry("P", (1, 0), float("nan"))
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: P[1, 0]=nan: not a finite number; each entry must be a finite number or a SymPy expression
    >>> exact_entry("P", (1, 1), 0.1)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: P[1, 1]=0.1: a float is accepted only with an integer value: it is a binary fraction,
    rarely the number meant (0.1 ≠ 1/10); write fractions.Fraction or sympy.Rational
    """
    value = checked_entry(parameter, index, value)
    where = _where(parameter, index)
    _refuse_unread_values(where, value)
    if isinstance(value, (Integral, Fraction)):
        return sp.sympify(value, strict=True)
    if isinstance(value, (float, np.floating)):
        return _integral_float(where, value)
    if not isinstance(value, sp.Expr):  # complex, Decimal: no exact reading
        raise SpecError(where, value, f"an inexact {type(value).__name__}; each entry {RULE}")
    floats = value.atoms(sp.Float)
    return value.xreplace({f: _integral_float(where, f) for f in floats}) if floats else value


def _refuse_unread_values(where: str, value: object) -> None:
    """SpecError for an entry whose value symconv cannot bound or decide (``value_problem``)."""
    problem = value_problem(value)
    if problem is not None:
        raise SpecError(where, shown(value), problem)


def shown(value: object) -> object:
    """``value`` for a message, or a description of it when it holds an integer too long to
    print (Python refuses to convert one of more than 4300 digits to text).

    >>> shown(sp.Integer(2) ** 20000)
    'an expression holding a number of 20001 bits'
    """
    nodes = sp.preorder_traversal(value) if isinstance(value, sp.Basic) else (value,)
    largest = max((_number_bits(node) for node in nodes), default=0)
    if largest > 3 * MAX_BITS:
        return f"an expression holding a number of {largest} bits"
    text = str(value)
    return value if len(text) <= 200 else _shorten(text)


@one_reading()
def as_object_array(parameter: str, value: object) -> np.ndarray:
    """``value`` as an object array whose entries pass ``checked_entry``; ragged nesting (which
    NumPy keeps as inner lists) and text are refused by name.

    >>> as_object_array("x", [[1, 2], [3]])
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: x='a ragged nested sequence': must be a rectangular array of numbers or SymPy expressions
    """
    if isinstance(value, (str, bytes)):
        checked_entry(parameter, None, value)
    if isinstance(value, sp.MatrixBase):  # np.asarray reads it through its own methods
        refuse_foreign(parameter, value, "matrices")
    _refuse_masked(parameter, value)
    _refuse_array_subclass(parameter, value)
    array = np.asarray(value, dtype=object)
    nested = next((entry for entry in array.flat if isinstance(entry, (list, tuple, np.ndarray))), None)
    if nested is not None:
        _refuse_masked(parameter, nested)
        raise SpecError(parameter, "a ragged nested sequence",
                        "must be a rectangular array of numbers or SymPy expressions")
    for index, entry in np.ndenumerate(array):
        checked_entry(parameter, index, entry)
    return array


def _refuse_array_subclass(parameter: str, value: object) -> None:
    """SpecError for a subclass of NumPy's ndarray (``np.matrix``, a memmap, a class of the
    caller's), at any depth of nested lists and tuples (rows): ``np.asarray`` reads its raw
    storage, while the caller's ``T[i, j]``, ``T @ x`` and ``tolist`` go through its own methods
    and may show other entries, so what is checked would not be what the caller uses.

    >>> class Shown(np.ndarray): pass
    >>> _refuse_array_subclass("toeplitz", [np.zeros(2).view(Shown)])  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: toeplitz='a Shown (a subclass of numpy.ndarray)': symconv reads only NumPy's own
    ndarray, whose entries are what its storage holds; pass numpy.asarray(value) or nested lists
    """
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        raise SpecError(parameter, f"a {type(value).__name__} (a subclass of numpy.ndarray)",
                        "symconv reads only NumPy's own ndarray, whose entries are what its storage holds; pass "
                        "numpy.asarray(value) or nested lists")
    if isinstance(value, (list, tuple)):
        for part in value:
            _refuse_array_subclass(parameter, part)


def _refuse_masked(parameter: str, value: object) -> None:
    """SpecError for a NumPy masked array, at any depth of nested lists and tuples (rows), or
    ``numpy.ma.masked`` as an entry: ``np.asarray`` would drop the mask and read the hidden
    entries, so what is checked would not be what the caller sees.

    >>> _refuse_masked("toeplitz", np.ma.masked_array([1, 2], mask=[0, 1]))  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: toeplitz='a masked array': masked entries have no value; pass a plain array (e.g.
    numpy.ma.filled(a, 0))
    >>> _refuse_masked("toeplitz", [[1, 2], [3, np.ma.masked]])  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: toeplitz='numpy.ma.masked': masked entries have no value; pass a plain array (e.g.
    numpy.ma.filled(a, 0))
    """
    if value is np.ma.masked or isinstance(value, np.ma.MaskedArray):
        raise SpecError(parameter, "numpy.ma.masked" if value is np.ma.masked else "a masked array",
                        "masked entries have no value; pass a plain array (e.g. numpy.ma.filled(a, 0))")
    if isinstance(value, (list, tuple)):  # an object array's entries: as_object_array's scan
        for part in value:
            _refuse_masked(parameter, part)


def _integral_float(where: str, value: float | np.floating | sp.Float) -> sp.Integer:
    """The integer a float stands for, decided on its exact binary value (never by rounding it
    to float64 first: Float('1.99999999999999999999', 30) is not 2, a long double 2**60 + 1 is
    not 2**60).

    >>> _integral_float("x", sp.Float("1.99999999999999999999", 30))  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: x=1.99999999999999999999...: a float is accepted only with an integer value: it is a
    binary fraction, rarely the number meant (0.1 ≠ 1/10); write fractions.Fraction or sympy.Rational
    >>> _integral_float("x", np.longdouble(2) ** 60 + 1) == 2**60 + 1
    True
    """
    finite = bool(value.is_finite) if isinstance(value, sp.Float) else bool(np.isfinite(value))
    if not finite:
        raise SpecError(where, value, f"not a finite number; each entry {RULE}")
    exact = binary_value(value)
    if exact.q != 1:
        raise SpecError(where, value, "a float is accepted only with an integer value: it is a "
                        "binary fraction, rarely the number meant (0.1 ≠ 1/10); write fractions.Fraction "
                        "or sympy.Rational")
    return sp.Integer(exact.p)


def binary_value(value: Number | sp.Expr) -> sp.Expr:
    """The exact value of a finite number or SymPy expression, never rounded: a float (Python,
    NumPy of any width, Decimal, SymPy ``Float``) is the rational its binary digits spell, a complex
    number its two parts. Comparing these decides equality; ``==`` on NumPy scalars rounds first
    (np.float64(2**53) == 2**53 + 1 is True).

    >>> binary_value(np.float64(2**53)) == 2**53 + 1, binary_value(0.5), binary_value(np.complex64(1.5 - 2j))
    (False, 1/2, 3/2 - 2*I)
    >>> binary_value(sp.Float(0.25) * sp.Symbol("w"))
    w/4
    """
    if isinstance(value, sp.Float):
        return sp.Rational(value)  # the mpf's exact binary value
    if isinstance(value, sp.Basic):
        floats = value.atoms(sp.Float)
        return value.xreplace({f: sp.Rational(f) for f in floats}) if floats else value
    if isinstance(value, (Integral, Fraction)):
        return sp.sympify(value, strict=True)
    if isinstance(value, (complex, np.complexfloating)):
        return binary_value(value.real) + sp.I * binary_value(value.imag)
    if isinstance(value, (float, np.floating, Decimal)):
        return sp.Rational(*value.as_integer_ratio())
    raise TypeError(f"{type(value).__name__} is a numbers.Number with no exact binary value")


@one_reading()   # every entry's nodes are copied once, the layer's symbols in all of them too
def exact_matrix(parameter: str, value: object, shape: tuple[int, ...] | None = None,
                 layout: str = "") -> np.ndarray | sp.MatrixBase:
    """A supplied matrix (nested lists, NumPy, a SymPy matrix) of the given ``shape`` (SpecError
    naming ``parameter.shape`` otherwise) with every entry through ``exact_entry``, as an immutable
    copy: what a proof checks and keeps is never the caller's object, which they may edit later. A
    SymPy matrix becomes an immutable SymPy matrix, dense or sparse as given (only its nonzeros are
    visited, so a large sparse T stays cheap); anything else a read-only object array. Ragged
    nesting and text are refused by name.

    >>> exact_matrix("K", [[1, 2.0]], (1, 2))
    array([[1, 2]], dtype=object)
    >>> mine = sp.Matrix([[1, 2]]); kept = exact_matrix("K", mine); mine[0, 0] = 7
    >>> kept, exact_matrix("K", np.array([[1, 2]])).flags.writeable
    (Matrix([[1, 2]]), False)
    """
    if isinstance(value, (str, bytes)):
        exact_entry(parameter, None, value)
    _refuse_masked(parameter, value)
    if isinstance(value, sp.MatrixBase):
        refuse_foreign(parameter, value, "matrices")
    array = value if isinstance(value, sp.MatrixBase) else as_object_array(parameter, value)
    if shape is not None:
        check_shape(parameter, array, shape, layout)
    if isinstance(array, sp.MatrixBase):
        return _fresh(array, {key: exact_entry(parameter, key, entry)
                              for key, entry in matrix_entries(parameter, array).items()})
    converted = np.empty(array.shape, dtype=object)
    for index, entry in np.ndenumerate(array):
        converted[index] = exact_entry(parameter, index, entry)
    converted.flags.writeable = False
    return converted


def _fresh(matrix: sp.MatrixBase, entries: dict[tuple[int, ...], Entry]) -> sp.MatrixBase:
    """A new immutable SymPy matrix of ``matrix``'s shape and kind (dense or sparse) holding
    ``entries`` (its nonzeros): never the caller's object."""
    sparse = isinstance(matrix, sp.matrices.sparse.SparseRepMatrix)  # both Sparse kinds
    immutable = sp.ImmutableSparseMatrix if sparse else sp.ImmutableDenseMatrix
    return immutable(sp.SparseMatrix(matrix.rows, matrix.cols, entries))


@one_reading()
def checked_matrix(parameter: str, matrix: object) -> np.ndarray | sp.MatrixBase:
    """A matrix for evaluating a form (``toeplitz_conv(toeplitz=…)``, ``im2col_conv(im2col=…)``):
    a SymPy matrix (of SymPy's own class) as a fresh immutable copy once its nonzeros pass
    ``checked_entry``, anything else as ``as_object_array``. Floats stay floats: evaluation is not
    a proof.

    >>> checked_matrix("matrix", sp.Matrix([[1, sp.zoo]]))  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: matrix[0, 1]=zoo: not a finite number; each entry must be a finite number or a SymPy
    expression
    """
    if not isinstance(matrix, sp.MatrixBase):
        return as_object_array(parameter, matrix)
    refuse_foreign(parameter, matrix, "matrices")
    return _fresh(matrix, {key: checked_entry(parameter, key, entry)
                           for key, entry in matrix_entries(parameter, matrix).items()})


def _names(symbols: Iterable[sp.Symbol]) -> str:
    ordered = sorted(symbols, key=entry_key)
    shown = ", ".join(map(str, ordered[:3]))
    return shown + (f" and {len(ordered) - 3} more" if len(ordered) > 3 else "")


ROLES = {"x": "input", "w": "weight", "b": "bias", "g": "upstream gradient"}


def form_violation(value: sp.Expr, allowed: frozenset[sp.Symbol], operands: str,
                   known: frozenset[sp.Symbol] = frozenset()) -> str | None:
    """Why ``value`` is not a polynomial in the ``allowed`` symbols (called ``operands``, e.g.
    "the weights"), or None when it is. ``known`` are the other symbols of the layer, named by
    role (input, weight, bias); any other symbol is named as foreign.

    >>> w, x = sp.Symbol("w_{0,0,0}"), sp.Symbol("x_{0,0}")
    >>> form_violation(w * x / x, frozenset({w}), "the weights")
    >>> form_violation(w / x, frozenset({w}), "the weights", frozenset({x}))
    'depends on the input x_{0,0}'
    >>> lookalike = sp.Symbol("x_{0,0}", real=True)
    >>> form_violation(lookalike * w, frozenset({w}), "the weights", frozenset({x}))  # doctest: +NORMALIZE_WHITESPACE
    'depends on x_{0,0}, not a symbol of symconv.symbols(spec) (named like one of them, but a different Symbol: other
    assumptions?)'
    >>> form_violation(1 / w, frozenset({w}), "the weights")
    '= 1/w_{0,0,0} is not a polynomial in the weights (it divides by w_{0,0,0})'
    >>> form_violation(sp.sqrt(w), frozenset({w}), "the weights")
    '= sqrt(w_{0,0,0}) is not a polynomial in the weights (not a polynomial)'
    """
    if not isinstance(value, sp.Basic) or value.is_number:
        return None
    outside = value.free_symbols - allowed
    if outside:
        of_layer = [s for s in outside if s in known]
        if of_layer:
            roles = {ROLES.get(entry_key(s)[0], "symbol") for s in of_layer}
            kind = roles.pop() if len(roles) == 1 else "symbol"
            return f"depends on the {kind}{'s' if len(of_layer) > 1 else ''} {_names(of_layer)}"
        lookalike = {str(s) for s in known} & {str(s) for s in outside}
        hint = " (named like one of them, but a different Symbol: other assumptions?)" if lookalike else ""
        return f"depends on {_names(outside)}, not a symbol of symconv.symbols(spec){hint}"
    if not value.is_polynomial(*value.free_symbols):
        divisors = sp.fraction(sp.together(value))[1].free_symbols
        how = f"it divides by {_names(divisors)}" if divisors else "not a polynomial"
        return f"= {value} is not a polynomial in {operands} ({how})"
    return None
