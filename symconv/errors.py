"""The errors symconv raises on bad input: each names the parameter, the value and the rule."""

from __future__ import annotations

import math
import sys
import warnings
from numbers import Integral, Rational, Real
from typing import Any

from .own_values import (
    NOT_OWN,
    UNDEFINED_CLASS,
    Foreign,
    foreign_part,
    own_class,
    own_copy,
    own_number,
    own_number_type,
    own_text,
)
from .own_values import one_reading as one_reading  # re-exported: symconv.result reads values through here


class SpecError(ValueError):
    """A hyperparameter or argument breaks a rule.

    The message always has the form ``"<parameter>=<value>: <rule>"`` so a person can find
    the argument to fix without reading a traceback.
    """

    def __init__(self, parameter: str, value: Any, rule: str) -> None:
        self.parameter = parameter
        self.value = value
        self.rule = rule
        try:
            shown = repr(value)
        except ValueError:   # an integer of more than 4300 digits: Python refuses to write it out
            shown = f"<a {type(value).__name__} too large to print>"
        super().__init__(f"{parameter}={shown}: {rule}")


# The checks below are the only place a rule about an argument's type is written: every public
# function validates through them, so the same rule always reads the same.

def integer(parameter: str, value: Any, minimum: int | None = None, maximum: int | None = None,
            limit_name: str = "", note: str = "") -> int:
    """``value`` as an int (Python, NumPy or SymPy integers; never a bool, float, text or bytes)
    with ``minimum ≤ value ≤ maximum`` where given, else SpecError naming the rule; ``note`` ends
    the rule (what else the parameter accepts).

    >>> integer("batch", True, minimum=1)
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: batch=True: must be an integer ≥ 1
    >>> integer("instances", "3")
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: instances='3': must be an integer
    """
    rule = "must be an integer" if minimum is None else f"must be an integer ≥ {minimum}"
    rule += f", {note}" if note else ""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise SpecError(parameter, value, rule)
    if type(value) is not int and not own_number(value):  # SymPy's Integer passes; a subclass's "<" may lie
        value = refuse_foreign(parameter, value, "expressions")
    number = int(value)  # compared as a plain int from here on
    if minimum is not None and number < minimum:
        raise SpecError(parameter, value, rule)
    if maximum is not None and number > maximum:
        raise SpecError(parameter, value, f"must be at most {maximum}" + (f" ({limit_name})" if limit_name else ""))
    return number


def boolean(parameter: str, value: Any) -> bool:
    """``value`` if it is True or False (also NumPy's), else SpecError: 'no' is truthy, never a flag.

    >>> boolean("exact_roots", "no")
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: exact_roots='no': must be True or False
    """
    # NumPy's bool when NumPy is loaded (no value can be one otherwise): ``import symconv`` stays light
    numpy = sys.modules.get("numpy")
    if not (isinstance(value, bool) or (numpy is not None and isinstance(value, numpy.bool_))):
        raise SpecError(parameter, value, "must be True or False")
    return bool(value)


def one_of(parameter: str, value: Any, allowed: tuple[str, ...], note: str = "") -> str:
    """``value`` if it is one of the ``allowed`` strings, else SpecError (never NumPy's "truth value
    of an array is ambiguous" from ``in``, for an array of strings). ``note`` ends the rule.

    >>> import numpy as np
    >>> one_of("backend", np.array(["exact"]), ("auto", "exact"))
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: backend=array(['exact'], dtype='<U5'): must be one of ('auto', 'exact')
    >>> one_of("layout", "NWHC", ("NCHW", "NHWC"), note="or None for spec.layout")
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: layout='NWHC': must be one of ('NCHW', 'NHWC'), or None for spec.layout
    """
    # str or NumPy's str_ exactly: a subclass's "==" may answer anything
    if not own_text(value) or value not in allowed:
        raise SpecError(parameter, value, f"must be one of {allowed}" + (f", {note}" if note else ""))
    return next(a for a in allowed if a == value)   # the caller gets symconv's own string


# The longest deadline: setitimer takes a C time_t of seconds, 32 bits wide on some platforms
# (2**31 − 1 s, about 68 years), and Python's own conversion overflows near 1e10 s on others; 1e8 s
# (about 3 years) is below every such limit, and no check is meant to run that long.
MAX_SECONDS = 1e8


def seconds(parameter: str, value: Any) -> float:
    """A finite number of seconds, 0 < value ≤ MAX_SECONDS (a deadline), else SpecError.

    >>> seconds("deadline", float("inf"))
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: deadline=inf: must be a number of seconds > 0 (finite)
    >>> seconds("deadline", 1e12)
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: deadline=1000000000000.0: must be at most 100000000.0 s (MAX_SECONDS)
    """
    rule = "must be a number of seconds > 0 (finite)"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise SpecError(parameter, value, rule)
    value = refuse_foreign(parameter, value, "expressions")  # a number subclass's ">" could let 1e30 s through
    # an exact (rational) number is finite even beyond float's range, where float() overflows or is inf
    finite = isinstance(value, Rational) or math.isfinite(value)
    if not finite or not value > 0:  # type: ignore[operator]  # exact: float(10**400) would overflow  # compared exactly: float(10**400) would overflow
        raise SpecError(parameter, value, rule)
    if value > MAX_SECONDS:  # type: ignore[operator]
        raise SpecError(parameter, value, f"must be at most {MAX_SECONDS} s (MAX_SECONDS)")
    result = float(value)   # converted once: what was compared is what is returned
    if not 0 < result <= MAX_SECONDS:  # an exact positive number below float's range (Fraction(1, 10**400))
        raise SpecError(parameter, value, "is below the smallest positive float: no timer can be armed for it")
    return result

def renamed_keyword(new: str, value: Any, old: str, old_value: Any) -> Any:
    """The argument of keyword ``new``, also accepted for one release under its former name
    ``old`` (a DeprecationWarning names ``new``); both given: SpecError, one would go unchecked.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     renamed_keyword("toeplitz", None, "toeplitz_matrix", 7), str(caught[0].message)
    (7, 'toeplitz_matrix= is deprecated: pass toeplitz= (the same argument)')
    >>> renamed_keyword("toeplitz", 1, "matrix", 2)
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: matrix='given with toeplitz': is the former name of toeplitz=, pass toeplitz= only
    """
    if old_value is None:
        return value
    if value is not None:
        raise SpecError(old, f"given with {new}", f"is the former name of {new}=, pass {new}= only")
    warnings.warn(f"{old}= is deprecated: pass {new}= (the same argument)", DeprecationWarning, stacklevel=3)
    return old_value


def work_limit(limit_name: str, limit: Any, count: int, parameter: str, value: Any, work: str) -> int:
    """``limit`` (an integer ≥ 1, the option ``limit_name``) if the ``count`` units of ``work`` a
    proof is about to do stay within it, else SpecError(parameter, value, …) naming the work, the
    count and the option that raises the limit: a proof too large is refused before it starts, not
    left to run for hours. ``work`` holds ``{}`` where the count goes.

    >>> work_limit("max_terms", 10, 12, "spec", "1-D", "a proof expands {} terms")
    ... # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: spec='1-D': a proof expands 12 terms, more than max_terms=10; pass a
    larger max_terms to allow it
    >>> work_limit("max_terms", 12, 12, "spec", "1-D", "a proof expands {} terms")
    12
    """
    bound = integer(limit_name, limit, minimum=1)
    if count > bound:
        raise SpecError(parameter, value, f"{work.format(count)}, more than {limit_name}={bound}; pass a larger "
                                          f"{limit_name} to allow it")
    return bound


def own_matrix(value: object) -> bool:
    """Whether ``value`` is exactly one of SymPy's own matrix classes (dense or sparse, mutable or
    immutable); a subclass may override ``todok``, ``tolist`` or ``__getitem__`` and show a proof
    one matrix while holding another."""
    import sympy as sp
    return type(value) in (sp.MutableDenseMatrix, sp.ImmutableDenseMatrix, sp.MutableSparseMatrix,
                           sp.ImmutableSparseMatrix)


_MATRIX_ATTRIBUTES = (frozenset({"rows", "cols", "_rep"}), frozenset({"_rows", "_cols", "_rep"}))


def _matrix_problem(matrix: Any) -> tuple[type, str] | None:
    """Why a matrix of SymPy's own class is not as SymPy made it: an instance attribute other than
    its shape and entries (a ``todok`` or ``__array__`` set on the instance is asked first), a
    shape that is not its entries' shape, or storage that is not SymPy's (``stored_entries``)."""
    attributes = vars(matrix)
    if type(attributes) is not dict or frozenset(attributes) not in _MATRIX_ATTRIBUTES:
        extra = sorted(set(attributes) - _MATRIX_ATTRIBUTES[0] - _MATRIX_ATTRIBUTES[1], key=str)
        return type(matrix), f"its instance attributes {extra} are not ones SymPy sets"
    shape = tuple(attributes.get(k, attributes.get("_" + k)) for k in ("rows", "cols"))
    rep = getattr(attributes["_rep"], "shape", None)
    if rep != shape or not all(type(n) is int for n in shape):
        return type(matrix), f"its shape {shape} is not the shape of its entries {rep}"
    found = stored_entries(matrix)
    return (type(matrix), found) if isinstance(found, str) else None


def stored_entries(matrix: Any) -> dict[tuple[int, int], Any] | str:
    """The nonzero entries a SymPy matrix holds, read from its storage itself, or why that
    storage is not SymPy's: SymPy's own operations (``todok``, ``*``, ``[i, j]``) read ``_rep``,
    so every class on the way must be SymPy's exactly (a DomainMatrix subclass, or a row dict
    answering lookups its own way, shows a proof one matrix and the caller another): ``_rep`` a
    DomainMatrix holding an SDM (rows: dict of dicts) or a DDM (list of lists), in the domain ZZ,
    QQ or EXRAW, with plain ``int`` keys inside the shape and elements of that domain's own types.
    Numbers of ZZ and QQ become SymPy's, EXRAW elements are returned as stored (for
    ``refuse_foreign`` to read).

    >>> import sympy as sp
    >>> stored_entries(sp.Matrix([[0, 2], [sp.Rational(1, 3), 0]]))
    {(0, 1): 2, (1, 0): 1/3}
    """
    from sympy.polys.matrices import DomainMatrix
    from sympy.polys.matrices.ddm import DDM
    from sympy.polys.matrices.sdm import SDM
    attributes = object.__getattribute__(vars(matrix)["_rep"], "__dict__") \
        if type(vars(matrix)["_rep"]) is DomainMatrix else None
    if type(attributes) is not dict or attributes.keys() != {"rep", "shape", "domain"}:
        return f"its storage (_rep) is a {type(vars(matrix)['_rep']).__name__}, not SymPy's own DomainMatrix"
    inner, shape, domain = attributes["rep"], attributes["shape"], attributes["domain"]
    element = _domain_reader(domain)
    if type(inner) not in (SDM, DDM) or element is None or vars(inner) != {
            "shape": shape, "rows": shape[0], "cols": shape[1], "domain": domain}:
        return (f"its storage holds a {type(inner).__name__} over {type(domain).__name__}, not SymPy's own SDM or "
                f"DDM over ZZ, QQ or EXRAW")
    rows, cols = shape
    if type(inner) is SDM:
        cells = [(i, j, v) for i, row in dict.items(inner) for j, v in
                 (dict.items(row) if type(row) is dict else [(None, row)])]
    else:
        cells = [(i, j, v) for i, row in enumerate(inner) for j, v in
                 (enumerate(row) if type(row) is list and len(row) == cols else [(None, row)])]
        cells += [(rows, 0, None)] * (list.__len__(inner) != rows)   # rows missing or extra: outside the shape
    entries = {}
    for i, j, value in cells:
        if j is None:   # (row, None, row): the row itself is not SymPy's plain container
            kind = "dict" if type(inner) is SDM else f"list of {cols} entries"
            return f"its storage holds a row of type {type(value).__name__} where SymPy keeps a plain {kind}"
        if not (type(i) is int and type(j) is int and 0 <= i < rows and 0 <= j < cols):
            return f"its storage holds an entry at {(i, j)!r}, outside its shape {shape}"
        read = element(value)
        if read is None:
            return f"its storage holds a {type(value).__name__} where its domain {domain} keeps its own numbers"
        if read is not _ZERO:
            entries[(i, j)] = read
    return entries


_ZERO = object()


def _domain_reader(domain: Any) -> Any:
    """A function reading one stored element of ``domain`` (ZZ, QQ or EXRAW: SymPy's classes
    exactly) as a SymPy value (``_ZERO`` for a stored zero, None for an element of another type)."""
    import sympy as sp
    from mpmath.libmp.backend import MPZ_TYPE
    from sympy.polys.domains import EXRAW, QQ, ZZ
    integers = (int, MPZ_TYPE)   # ZZ's elements: Python's int, or gmpy's when SymPy runs on it
    if type(domain) is type(ZZ):
        return lambda v: (_ZERO if v == 0 else sp.Integer(int(v))) if type(v) in integers else None
    if type(domain) is type(QQ):
        def rational(v: Any) -> Any:
            if type(v) is not QQ.dtype:   # SymPy's PythonMPQ, or gmpy's mpq
                return None
            p, q = object.__getattribute__(v, "numerator"), object.__getattribute__(v, "denominator")
            if type(p) not in integers or type(q) not in integers or not q > 0:
                return None
            return _ZERO if p == 0 else sp.Rational(int(p), int(q))
        return rational
    if type(domain) is type(EXRAW):
        return lambda v: _ZERO if v is sp.S.Zero else v
    return None


def matrix_entries(where: str, matrix: Any) -> dict[tuple[int, ...], Any]:
    """The nonzero entries of a SymPy matrix, read from its storage (``stored_entries``) once the
    matrix passed ``refuse_foreign(where, matrix, "matrices")``."""
    refuse_foreign(where, matrix, "matrices")
    found = stored_entries(matrix)
    assert not isinstance(found, str)   # refuse_foreign has just read it
    return dict(found)


def foreign_class(value: object) -> type | None:
    """The class of the first part of ``value`` that is not SymPy's, Python's or NumPy's own
    (``symconv.own_values``), or None. Such a class may override ``__eq__``, ``expand`` or
    ``args`` and make a wrong entry compare equal.

    >>> import sympy as sp
    >>> class Evil(sp.Add): pass
    >>> x = sp.Symbol("x")
    >>> foreign_class(x + 2 * sp.Function("f")(x)), foreign_class(sp.sin(Evil(x, 1)) + x).__name__
    (None, 'Evil')
    """
    found = foreign_part(value)
    return None if found is None else found[0]


def refuse_foreign(where: str, value: Any, what: str) -> Any:
    """``value``'s own copy (``symconv.own_values.own_copy``: what a proof reads from here on), or
    TypeError naming ``where`` and the class when ``value`` (or a part of it) is not SymPy's,
    Python's or NumPy's own; ``what`` is "expressions" (a value and its tree) or "matrices" (the
    container only: ``own_matrix``, its shape and instance attributes; the matrix is returned,
    its entries are read with ``matrix_entries``).

    >>> import sympy as sp
    >>> class Mine(sp.ImmutableDenseMatrix): pass
    >>> refuse_foreign("toeplitz", Mine([[1]]), "matrices")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    TypeError: toeplitz: a subclass of ImmutableDenseMatrix defined outside SymPy (Mine); pass SymPy's own matrices
    """
    copy, found = value, None
    if what == "expressions":
        try:
            copy = own_copy(value)
        except Foreign as foreign:
            found = (foreign.cls, foreign.why)
    elif not own_matrix(value):
        found = (type(value), NOT_OWN)
    else:
        found = _matrix_problem(value)
    if found is None:
        return copy
    cls, why = found
    base = next((c for c in cls.__mro__ if own_class(c, expression=False) or own_number_type(c)), object)
    if why == UNDEFINED_CLASS:
        raise TypeError(f"{where}: a subclass of AppliedUndef defined outside SymPy ({cls.__qualname__}): "
                        f"{why.removeprefix('its class is ')}; pass SymPy's own {what}")
    if why != NOT_OWN and why.startswith("its "):   # SymPy's own class holding something that is not
        raise TypeError(f"{where}: a {cls.__name__} whose {why.removeprefix('its ')}; pass SymPy's own {what}")
    if why != NOT_OWN:   # a sentence of its own: what the object is, why symconv does not read it
        raise TypeError(f"{where}: a {cls.__name__} {why}; pass SymPy's own {what}")
    if base is object:
        raise TypeError(f"{where}: {cls.__qualname__} is not one of Python's, NumPy's or SymPy's own numbers or "
                        f"expressions; pass SymPy's own {what}")
    raise TypeError(f"{where}: a subclass of {base.__name__} defined outside SymPy ({cls.__qualname__}); "
                    f"pass SymPy's own {what}")
