"""The errors symconv raises on bad input: each names the parameter, the value and the rule."""

from __future__ import annotations

import math
import os
import sys
import types
import warnings
from decimal import Decimal
from fractions import Fraction
from numbers import Integral, Number, Rational, Real
from typing import Any


class SpecError(ValueError):
    """A hyperparameter or argument breaks a rule.

    The message always has the form ``"<parameter>=<value>: <rule>"`` so a person can find
    the argument to fix without reading a traceback.
    """

    def __init__(self, parameter: str, value: Any, rule: str) -> None:
        self.parameter = parameter
        self.value = value
        self.rule = rule
        super().__init__(f"{parameter}={value!r}: {rule}")


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
    if type(value) is not int and not _own_number(value):  # SymPy's Integer passes; a subclass's "<" may lie
        refuse_foreign(parameter, value, "expressions")
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
    if not isinstance(value, str) or value not in allowed:
        raise SpecError(parameter, value, f"must be one of {allowed}" + (f", {note}" if note else ""))
    return value


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
    refuse_foreign(parameter, value, "expressions")  # a number subclass's own ">" could let 1e30 s through
    # an exact (rational) number is finite even beyond float's range, where float() overflows or is inf
    finite = isinstance(value, Rational) or math.isfinite(value)
    if not finite or not value > 0:  # compared exactly: float(10**400) would overflow
        raise SpecError(parameter, value, rule)
    if value > MAX_SECONDS:
        raise SpecError(parameter, value, f"must be at most {MAX_SECONDS} s (MAX_SECONDS)")
    if float(value) <= 0:  # an exact positive number below float's range (Fraction(1, 10**400))
        raise SpecError(parameter, value, "is below the smallest positive float: no timer can be armed for it")
    return float(value)

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


# Which classes a user's values may have: the values a proof reads must be SymPy's (and Python's,
# NumPy's) own, whose methods say what the value is. SymPy is imported where it is needed:
# ``import symconv`` loads no SymPy.
_OWN_NUMBERS = frozenset({bool, int, float, complex, Fraction, Decimal})  # bool: refused later by name


def _own_number(value: object) -> bool:
    """``value`` is exactly Python's, ``fractions``' or ``decimal``'s number type, or a NumPy scalar
    type (by identity: a class's ``__module__`` is whatever the class says)."""
    if type(value) in _OWN_NUMBERS:
        return True
    numpy = sys.modules.get("numpy")
    return numpy is not None and type(value) in set(numpy.sctypeDict.values())


def _package_roots() -> tuple[str, ...]:
    """The directories of SymPy's and symconv's own source files."""
    roots = [os.path.dirname(os.path.realpath(__file__))]
    sympy = sys.modules.get("sympy")
    if isinstance(sympy, types.ModuleType) and getattr(sympy, "__file__", None):
        roots.append(os.path.dirname(os.path.realpath(sympy.__file__)))
    return tuple(root + os.sep for root in roots)


def _inside(path: object, roots: tuple[str, ...]) -> bool:
    return isinstance(path, str) and os.path.realpath(path).startswith(roots)


def own_matrix(value: object) -> bool:
    """Whether ``value`` is exactly one of SymPy's own matrix classes (dense or sparse, mutable or
    immutable); a subclass may override ``todok``, ``tolist`` or ``__getitem__`` and show a proof
    one matrix while holding another."""
    import sympy as sp
    return type(value) in (sp.MutableDenseMatrix, sp.ImmutableDenseMatrix, sp.MutableSparseMatrix,
                           sp.ImmutableSparseMatrix)


# What SymPy itself puts in the class of an undefined function (``sp.Function("f", real=True)``);
# ``sp.Function(name, **attrs)`` copies any other keyword into the class, methods included.
_UNDEFINED_FUNCTION_KEYS = frozenset({"__doc__", "__module__", "_explicit_class_assumptions", "_kwargs", "_nargs",
                                      "_prop_handler", "_sage_", "default_assumptions", "name"})


def _defined_in_sympy(cls: type) -> bool:
    """``cls`` is the class its module and qualified name say, and that module is SymPy's (or
    symconv's own, e.g. the all-sizes engine's Iverson bracket): a class made with
    ``type(…, {"__module__": "sympy.core.add"})`` is not found there."""
    module = sys.modules.get(cls.__module__ or "")
    roots = _package_roots()
    if not isinstance(module, types.ModuleType) or not module.__name__.startswith(("sympy.", "symconv.")) \
            or not _inside(getattr(module, "__file__", None), roots):
        return False  # a module object made at run time under a SymPy-like name is not SymPy's
    found: object = module
    for part in cls.__qualname__.split("."):
        found = getattr(found, part, None)
    # and the class's own methods were compiled from those files, not from the caller's
    return found is cls and all(_inside(getattr(getattr(v, "__code__", None), "co_filename", ""), roots)
                                for v in vars(cls).values() if callable(v) and hasattr(v, "__code__"))


def _sympy_class(cls: type) -> bool:
    """Whether ``cls`` is defined inside SymPy, or is an applied undefined function
    (``sp.Function("sigma")(x)``, whose class SymPy makes at run time) built on SymPy's classes only,
    with nothing in its class but what SymPy puts there (assumptions ``is_*`` as True/False/None)."""
    if _defined_in_sympy(cls):
        return True
    from sympy.core.function import UndefinedFunction
    if not isinstance(cls, UndefinedFunction):
        return False
    own_keys = all(key in _UNDEFINED_FUNCTION_KEYS or (key.startswith("is_") and value in (True, False, None)
                                                        and type(value) in (bool, type(None)))
                   for key, value in vars(cls).items())
    return own_keys and all(_defined_in_sympy(base) or base is object for base in cls.__mro__[1:])


def foreign_class(value: object) -> type | None:
    """The first class in ``value``'s expression tree defined outside SymPy (a number: outside
    Python, ``fractions``, ``decimal`` and NumPy), or None. Such a class may override ``__eq__``,
    ``expand`` or ``args`` and make a wrong entry compare equal; only a node of SymPy's own class
    is trusted to report its arguments, so the walk descends through those only.

    >>> import sympy as sp
    >>> class Evil(sp.Add): pass
    >>> x = sp.Symbol("x")
    >>> foreign_class(x + 2 * sp.Function("f")(x)), foreign_class(sp.sin(Evil(x, 1)) + x).__name__
    (None, 'Evil')
    """
    from sympy import Basic
    if not isinstance(value, Basic):  # other objects are refused by what they are, not their class
        return type(value) if isinstance(value, Number) and not _own_number(value) else None
    stack = [value]
    while stack:
        node = stack.pop()
        if not _sympy_class(type(node)):
            return type(node)
        stack.extend(node.args)
    return None


def refuse_foreign(where: str, value: object, what: str) -> None:
    """TypeError naming ``where`` and the class when ``value`` (or a node of it) is of a class
    defined outside SymPy (``foreign_class``); ``what`` is "expressions" (a value and its tree) or
    "matrices" (the container only: ``own_matrix``).

    >>> import sympy as sp
    >>> class Mine(sp.ImmutableDenseMatrix): pass
    >>> refuse_foreign("toeplitz", Mine([[1]]), "matrices")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    TypeError: toeplitz: a subclass of ImmutableDenseMatrix defined outside SymPy (Mine); pass SymPy's own matrices
    """
    cls = foreign_class(value) if what == "expressions" else (None if own_matrix(value) else type(value))
    if cls is None:
        return
    base = next((c for c in cls.__mro__ if c in _OWN_NUMBERS or _sympy_class(c)), object)
    raise TypeError(f"{where}: a subclass of {base.__name__} defined outside SymPy ({cls.__qualname__}); "
                    f"pass SymPy's own {what}")
