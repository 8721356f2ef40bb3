"""Which values a proof may read: those made only of SymPy's, Python's and NumPy's own classes.

A proof compares a user's value with the definition through the value's own methods (``==``,
``expand``, ``args``, ``is_*``). An object of a class the user wrote may answer anything, so every
node of a value must be of a class that is SymPy's (or symconv's) *by identity*, and everything a
node holds besides its arguments (a Symbol's name, an Integer's digits, a Float's mantissa, the
assumptions) must be plain data of Python's own types. Nothing a class says about itself
(``__module__``, ``__qualname__``, the file its methods were compiled from) is believed:

* SymPy's classes are the classes found as attributes of SymPy's modules, reached by walking
  attributes from the ``sympy`` package that symconv imported (a module object merely registered
  in ``sys.modules`` under a ``sympy.`` name is not reached); the same for symconv's modules;
* an applied undefined function ``sp.Function("f")(x)`` has a class SymPy makes at run time: its
  metaclass must be SymPy's ``UndefinedFunction`` itself, its bases SymPy's, and its class
  dictionary only what SymPy puts there, as plain data;
* numbers outside SymPy are Python's (``int``, ``float``, ``complex``, ``bool``, ``Fraction``,
  ``Decimal``) or NumPy's numeric scalars, by the identity of their type.

The copy is rebuilt from the fields SymPy's own equality, hash and arithmetic read, and each such
field must agree with the others or the value is refused: a Dummy's ``dummy_index`` (an ``int``),
a Float's digits and a precision that holds them, a Symbol's assumptions as given, as compared
(``_assumptions0``) and as queried (``_assumptions``, against a fresh deduction), an undefined
function's class as SymPy builds it from ``__name__`` and ``_kwargs``. ``one_reading`` makes a
proof copy each node once.

Out of scope: code that modifies SymPy's, NumPy's or symconv's modules, or swaps objects while a
proof runs (a profiling or tracing hook): that code owns the process.

>>> import sympy as sp
>>> x = sp.Symbol("x")
>>> foreign_part(x + 2 * sp.Function("f")(x)) is None
True
>>> class Evil(sp.Add): pass
>>> cls, why = foreign_part(sp.sin(Evil(x, 1)) + x); cls.__name__, why
('Evil', "its class is not SymPy's, Python's or NumPy's own")
>>> class Name(str): pass
>>> foreign_part(sp.Symbol.__xnew__(sp.Symbol, Name("z")))
(<class 'sympy.core.symbol.Symbol'>, "its name is a Name, not Python's own data")
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from fractions import Fraction
from functools import cache
from typing import Any

NOT_OWN = "its class is not SymPy's, Python's or NumPy's own"   # the reason for a class, not its contents
_PYTHON_NUMBERS = (bool, int, float, complex, Fraction, Decimal)
_PLAIN = (type(None), bool, int, float, str)


def own_number(value: object) -> bool:
    """``value`` is exactly one of Python's number types or a NumPy numeric scalar type (never
    ``timedelta64``/``datetime64``); a Fraction with plain ``int`` parts.

    >>> import numpy as np
    >>> own_number(np.int64(3)), own_number(np.timedelta64(5)), own_number(Fraction(1, 3))
    (True, False, True)
    """
    if type(value) is Fraction:
        return type(value.numerator) is int and type(value.denominator) is int
    return own_number_type(type(value))


def own_number_type(cls: type) -> bool:
    """Whether ``cls`` is one of Python's number types or a NumPy numeric scalar type."""
    return cls in _PYTHON_NUMBERS or cls in _numpy_numbers()


def own_text(value: object) -> bool:
    """``value`` is exactly a Python ``str`` or NumPy's ``str_``."""
    numpy = sys.modules.get("numpy")
    return type(value) is str or (numpy is not None and type(value) is numpy.str_)


def _numpy_numbers() -> frozenset[type]:
    numpy = sys.modules.get("numpy")
    return _numpy_scalar_types(numpy) if numpy is not None else frozenset()


@cache
def _numpy_scalar_types(numpy: types.ModuleType) -> frozenset[type]:
    return frozenset(t for t in numpy.sctypeDict.values() if issubclass(t, (numpy.number, numpy.bool_))
                     and not issubclass(t, (numpy.timedelta64, numpy.datetime64)))  # durations are no numbers


def _classes_of(package: types.ModuleType, base: type) -> frozenset[type]:
    """The subclasses of ``base`` that are attributes of ``package``'s modules, reached from the
    package object by module attributes only (never through ``sys.modules``)."""
    prefix, seen, found = package.__name__ + ".", set(), set()
    stack = [package]
    while stack:
        module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        for value in list(vars(module).values()):
            if type(value) is types.ModuleType and value.__name__.startswith(prefix):
                stack.append(value)
            elif isinstance(value, type) and issubclass(value, base):
                found.add(value)
    return frozenset(found)


_OWN_CLASSES: dict[str, Any] = {"classes": frozenset(), "modules": -1}


def own_class(cls: type, expression: bool = True) -> bool:
    """Whether ``cls`` is one of SymPy's or symconv's own classes (module docstring), an
    expression class (a subclass of ``Basic``) unless ``expression`` is False (a mixin base).
    The module walk is redone when a class is not found and modules were imported since the last
    walk (a SymPy module imported lazily); ``sys.modules`` only tells when, never what."""
    basic = _sympy_types()[0]
    if cls not in _OWN_CLASSES["classes"] and len(sys.modules) != _OWN_CLASSES["modules"]:
        import sympy
        symconv = sys.modules[__name__.rpartition(".")[0]]   # this package, loaded before this module
        _OWN_CLASSES["modules"] = len(sys.modules)
        _OWN_CLASSES["classes"] = _classes_of(sympy, object) | _classes_of(symconv, basic)
    return cls in _OWN_CLASSES["classes"] and (not expression or issubclass(cls, basic))


@cache
def _sympy_types() -> tuple[type, type, tuple[type, ...]]:
    """SymPy's Basic, its assumptions dictionary and the types of a Float's mantissa digits."""
    from mpmath.libmp.backend import MPZ_TYPE
    from sympy import Basic
    from sympy.core.assumptions import StdFactKB
    return Basic, StdFactKB, (int, MPZ_TYPE)


def _plain(value: object, nodes: list, depth: int = 0) -> bool:
    """Whether ``value`` is plain data of Python's own types (what SymPy keeps beside a node's
    arguments: names, digits, assumptions), containers of it up to a small depth, or a SymPy node,
    which is appended to ``nodes`` for the caller's walk."""
    kind = type(value)
    if kind in _PLAIN:
        return True
    basic, fact_kb, _ = _sympy_types()
    if isinstance(value, basic):
        nodes.append(value)
        return True
    if depth > 3:
        return False
    if kind in (tuple, list, frozenset, set):
        return all(_plain(item, nodes, depth + 1) for item in value)  # type: ignore[attr-defined]
    if kind is dict or kind is fact_kb:
        return all(type(k) is str and _plain(v, nodes, depth + 1)
                   for k, v in value.items())  # type: ignore[attr-defined]
    return kind is Fraction and own_number(value)


@cache
def _slot_names(cls: type) -> tuple[str, ...]:
    """The names of the slots ``cls`` and its bases declare (not ``__dict__``/``__weakref__``)."""
    names: list[str] = []
    for base in cls.__mro__:
        declared = vars(base).get("__slots__", ())
        names += [n for n in ((declared,) if isinstance(declared, str) else declared)
                  if n not in ("__dict__", "__weakref__")]
    return tuple(names)


def _payload(node: object) -> tuple[list[tuple[str, object]], dict[str, object]]:
    """What ``node`` holds besides its class: (its filled slots, its instance dictionary)."""
    slots = []
    for name in _slot_names(type(node)):  # type: ignore[arg-type]  # a class is hashable
        try:
            value = object.__getattribute__(node, name)
        except AttributeError:   # an empty slot has no value
            continue
        slots.append((name, value))
    try:
        instance = object.__getattribute__(node, "__dict__")
    except AttributeError:
        instance = {}
    return slots, instance


# What SymPy itself keeps in an instance's dictionary: an applied function's cached arity, Max's and
# Min's argument set, an IndexedBase's label data. Anything else there (a flag such as is_Add, a
# method) would be asked before the class's own attribute.
_INSTANCE_KEYS = frozenset({"nargs", "_argset", "_shape", "_offset", "_strides", "_name"})


# What SymPy keeps in an instance's dictionary that symconv does not copy: a Subs's substituted expression.
_UNREAD_INSTANCE_KEYS = {"_expr": "Subs"}
UNDEFINED_CLASS = ("its class is not the one SymPy builds from the function's name and keywords (its 'name' or "
                    "another attribute was changed, or sp.Function was given a keyword other than assumptions and "
                    "nargs)")


def _undefined_function_class(cls: type) -> bool:
    from sympy.core.function import UndefinedFunction
    return type(cls) is UndefinedFunction


def _node_problem(node: Any, nodes: list) -> str | None:
    """Why one node (not its arguments) is not SymPy's own, or None; the SymPy nodes it holds
    (arguments and payload) are appended to ``nodes``."""
    cls = type(node)
    if not (own_class(cls) or _undefined_function(cls)):
        return UNDEFINED_CLASS if _undefined_function_class(cls) else NOT_OWN
    slots, instance = _payload(node)
    if type(instance) is not dict:
        return "its instance dictionary is not a dict"
    for name in instance:   # an attribute set on the instance is asked before the class's
        if name in _UNREAD_INSTANCE_KEYS:
            return (f"its instance attribute {name!r} (which SymPy sets on a {_UNREAD_INSTANCE_KEYS[name]}) holds "
                    f"part of its meaning outside its arguments, and symconv rebuilds a node from its arguments only")
        if name not in _INSTANCE_KEYS:
            return f"its instance attribute {name!r} is not one SymPy sets"
    if "_argset" in instance and instance["_argset"] != frozenset(object.__getattribute__(node, "_args")):
        return "its argument set is not its arguments"
    for name, value in slots + list(instance.items()):
        if name == "_args":   # the arguments: each is checked as a node of its own (_rebuilt)
            continue
        if name == "_mpf_":   # a Float's (sign, mantissa, exponent, bits): the mantissa may be gmpy's
            if type(value) is not tuple or not all(type(v) in _sympy_types()[2] for v in value):
                return "its _mpf_ is not a tuple of integers"
        elif not _plain(value, nodes):
            return f"its {name.lstrip('_')} is a {type(value).__name__}, not Python's own data"
    return None


def _undefined_function(cls: type) -> bool:
    """``cls`` is the class of an applied undefined function as SymPy makes it: metaclass exactly
    SymPy's UndefinedFunction, and a class that is, base for base and attribute for attribute,
    the class SymPy builds afresh from what its equality compares, ``__name__`` and ``_kwargs``
    (assumptions and ``nargs``; any other keyword of ``sp.Function(name, **attrs)`` is copied into
    the class, methods included, and refused). A class whose ``name`` was changed after SymPy made
    it is refused: SymPy compares ``__name__``, a rebuild from ``name`` would be another function."""
    return _fresh_function(cls) is not None


def _fresh_function(cls: type) -> Any:
    """The fresh class SymPy builds for ``cls`` (``_undefined_function``), or None; remembered
    for the current reading (``one_reading``)."""
    memo = _READING.get()
    known = memo.get(("class", id(cls))) if memo is not None else None
    if known is not None and known[0] is cls:
        return known[1]
    fresh = _rebuilt_function(cls)
    if memo is not None:
        memo[("class", id(cls))] = (cls, fresh)
    return fresh


def _rebuilt_function(cls: type) -> Any:
    """UndefinedFunction(__name__, **_kwargs) if ``cls`` is that class attribute for attribute
    (``_undefined_function``), else None."""
    from sympy.core.assumptions import _assume_defined
    from sympy.core.function import UndefinedFunction, UndefSageHelper
    if type(cls) is not UndefinedFunction:
        return None
    namespace = type.__dict__["__dict__"].__get__(cls)   # the class's own dict, not what a metaclass shows
    name, keywords = type.__dict__["__name__"].__get__(cls), namespace.get("_kwargs")
    if type(name) is not str or type(keywords) is not dict or not all(
            type(k) is str and (k in _assume_defined or k == "nargs") and _data(v) for k, v in keywords.items()):
        return None
    fresh = UndefinedFunction(name, **keywords)   # uncached: never the class being checked
    again = type.__dict__["__dict__"].__get__(fresh)
    if cls.__mro__[1:] != fresh.__mro__[1:] or namespace.keys() != again.keys():
        return None
    for key, value in namespace.items():
        if key == "_sage_":
            ok = type(value) is UndefSageHelper
        elif key == "_prop_handler":
            ok = type(value) is dict and all(_inherited(cls, name, handler) for name, handler in value.items())
        else:
            ok = _data(value) and type(value) is type(again[key]) and value == again[key]
        if not ok:
            return None
    return fresh


def _data(value: object) -> bool:
    """``value`` is plain data of Python's own types holding no SymPy node."""
    nodes: list = []
    return _plain(value, nodes) and not nodes


def _inherited(cls: type, name: str, handler: object) -> bool:
    """``handler`` is the method ``_eval_is_<name>`` one of ``cls``'s own (SymPy) bases defines."""
    method = f"_eval_is_{name}"
    return type(name) is str and any(vars(base).get(method) is handler for base in cls.__mro__[1:])


class Foreign(Exception):
    """A part of a value that is not SymPy's, Python's or NumPy's own: its class and why."""

    def __init__(self, cls: type, why: str) -> None:
        super().__init__(cls, why)
        self.cls, self.why = cls, why


_READING: ContextVar[dict | None] = ContextVar("symconv_own_values_reading", default=None)


@contextmanager
def one_reading() -> Iterator[None]:
    """Within this block ``own_copy`` copies each node once: the copy of every node read (and the
    node itself, so that its id names it until the block ends) is remembered by id, and a node
    met again (a symbol of the layer in a thousand entries, an entry checked twice) is its
    remembered copy. Nested blocks share the outer one. A value altered while a proof reads it is
    out of scope (module docstring), so the copy made at its first reading is the one read.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> with one_reading():
    ...     own_copy(x + 1) is own_copy(x + 1)
    True
    """
    if _READING.get() is not None:
        yield
        return
    token = _READING.set({})
    try:
        yield
    finally:
        _READING.reset(token)


def foreign_part(value: object) -> tuple[type, str] | None:
    """(class, why) of the first part of ``value`` that is not SymPy's, Python's or NumPy's own
    (module docstring), or None (``own_copy`` would copy it)."""
    try:
        own_copy(value)
    except Foreign as found:
        return found.cls, found.why
    return None


def own_copy(value: Any) -> Any:
    """A fresh copy of ``value`` built by SymPy's own constructors from plain data read off it,
    node by node (Foreign when a part is not SymPy's, Python's or NumPy's own). The copy shares
    nothing with ``value`` a user could have altered: no instance attribute, no flag, no
    malformed digit survives, and what a proof reads afterwards is the copy. A number is returned
    as it is (its type is Python's or NumPy's own, immutable); other objects too, for the caller's
    rules to refuse by what they are.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> value = sp.Max(5, -5, evaluate=False) + x
    >>> copy = own_copy(value); copy == value and copy is not value
    True
    """
    basic = _sympy_types()[0]
    if type(value) is not getattr(value, "__class__", None):   # a __class__ that pretends
        raise Foreign(type(value), NOT_OWN)
    if not isinstance(value, basic):
        if isinstance(value, _number_abc()) and not own_number(value):
            raise Foreign(type(value), NOT_OWN)
        return value
    try:
        memo = _READING.get()
        return _rebuilt(value, {} if memo is None else memo)
    except RecursionError:
        raise Foreign(type(value), "it is nested too deeply to copy") from None


def _rebuilt(node: Any, memo: dict[int, tuple[Any, Any]]) -> Any:
    """The copy of one node (``own_copy``); ``memo`` shares the copy of a repeated subtree."""
    known = memo.get(id(node))
    if known is not None and known[0] is node:
        return known[1]
    cls = type(node)
    problem = _node_problem(node, [])
    if problem is not None:
        raise Foreign(cls, problem)
    args = object.__getattribute__(node, "_args")
    if type(args) is not tuple or not all(isinstance(a, _sympy_types()[0]) for a in args):
        raise Foreign(cls, "its arguments are not all SymPy objects")
    copy = _atom(node, cls) if not args else _compound(cls, tuple(_rebuilt(a, memo) for a in args))
    memo[id(node)] = (node, copy)
    return copy


def _atom(node: Any, cls: type) -> Any:
    """A fresh atom: a Symbol from its name and assumptions, a number from its digits, a
    singleton as SymPy's own instance."""
    import sympy as sp
    from sympy.core.singleton import Singleton
    read = object.__getattribute__
    if cls is sp.Symbol or cls is sp.Dummy:
        return _symbol(node, cls)
    if cls is sp.Integer or cls is sp.Rational:
        p, q = read(node, "p"), read(node, "q")
        if type(p) is not int or type(q) is not int or q == 0:   # SymPy's 1/0 is zoo, never a Rational
            raise Foreign(cls, "its digits are not a Python integer over a nonzero one")
        return sp.Rational(p, q)
    if cls is sp.Float:
        return _float(node)
    if isinstance(cls, Singleton) and type(cls) is Singleton or _singleton(cls):
        return cls()
    raise Foreign(cls, "is an atom symconv does not read: it rebuilds only numbers, Symbols, Dummies and SymPy's "
                       "named constants from their data")


def _symbol(node: Any, cls: type) -> Any:
    """A fresh (uncached) Symbol or Dummy from its name, its assumptions as given and its dummy
    index; refused unless every field SymPy's equality, hash and assumption queries read
    (``_assumptions0``, ``_assumptions``, ``dummy_index``) is plain data agreeing with the copy."""
    import sympy as sp
    from sympy.core.assumptions import StdFactKB
    from sympy.core.facts import InconsistentAssumptions
    read = object.__getattribute__
    name, given, compared, known = (read(node, k) for k in ("name", "_assumptions_orig", "_assumptions0",
                                                            "_assumptions"))
    if type(name) is not str or type(given) is not dict or not all(
            type(k) is str and type(v) is bool for k, v in given.items()):
        raise Foreign(cls, "its name or assumptions are not plain text and flags")
    index = read(node, "dummy_index") if cls is sp.Dummy else None
    if cls is sp.Dummy and type(index) is not int:   # SymPy compares the index: 1.5 and "2" are other Dummies
        raise Foreign(cls, f"its dummy_index is a {type(index).__name__}, not an int")
    try:
        assumptions = dict(given)
        cls._sanitize(assumptions, cls)  # type: ignore[attr-defined]  # SymPy's own check of the flags
        copy = sp.Symbol.__xnew__(cls, name, **assumptions)   # never SymPy's cached (perhaps altered) Symbol
    except (InconsistentAssumptions, ValueError, TypeError):
        raise Foreign(cls, f"its assumptions {sorted(given)} contradict each other") from None
    if cls is sp.Dummy:
        copy.dummy_index = index
    if not (type(compared) is tuple and all(type(p) is tuple and len(p) == 2 and type(p[0]) is str
                                            and type(p[1]) is bool for p in compared)
            and compared == read(copy, "_assumptions0")):
        raise Foreign(cls, "its assumptions as given and as compared (_assumptions0) disagree")
    # deduced afresh: SymPy shares one deduced dictionary among all Symbols of the same assumptions
    fresh = dict(StdFactKB({"commutative": True, **assumptions}))
    if any(type(kb) is not StdFactKB or not all(type(k) is str and type(v) in (bool, type(None))
                                                and v == fresh.get(k) for k, v in kb.items())
           or not fresh.keys() <= kb.keys() for kb in (known, read(copy, "_assumptions"))):
        raise Foreign(cls, "its assumptions as queried (_assumptions) disagree with its assumptions as given")
    return copy


def _singleton(cls: type) -> bool:
    from sympy import S
    return any(type(getattr(S, name, None)) is cls for name in _SINGLETON_NAMES)


_SINGLETON_NAMES = ("Zero", "One", "NegativeOne", "Half", "NaN", "Infinity", "NegativeInfinity",
                    "ComplexInfinity", "ImaginaryUnit", "Pi", "Exp1", "EulerGamma", "Catalan", "GoldenRatio",
                    "TribonacciConstant", "true", "false", "EmptySet", "Naturals", "Naturals0", "Integers",
                    "Reals", "Complexes", "UniversalSet", "EmptySequence", "IdentityFunction")


def _float(node: Any) -> Any:
    """A fresh Float from a normalised binary value (sign 0/1, odd mantissa of ``bc`` bits, or
    one of mpmath's zero and special values) and a plain precision that holds it exactly: SymPy
    rounds a Float's digits to its precision, so a precision too small for them (1.25 kept at 1
    bit) is a different number in every operation."""
    import sympy as sp
    from mpmath.libmp import finf, fnan, fninf, fzero
    mpf, precision = object.__getattribute__(node, "_mpf_"), object.__getattribute__(node, "_prec")
    digits = _sympy_types()[2]
    if type(mpf) is not tuple or len(mpf) != 4 or not all(type(v) in digits for v in mpf) or type(precision) is not int:
        raise Foreign(sp.Float, "its binary digits are not a tuple of four integers")
    sign, man, exp, bc = mpf
    special = mpf in (fzero, finf, fninf, fnan)
    if not special and not (sign in (0, 1) and man > 0 and man % 2 == 1 and bc == int(man).bit_length()):
        raise Foreign(sp.Float, f"its binary digits {mpf} are not a normalised number")
    if precision < max(int(bc), 1):
        raise Foreign(sp.Float, f"its precision ({precision} bits) cannot hold its {bc}-bit mantissa")
    copy = sp.Float._new((int(sign), man, int(exp), int(bc)), precision)
    if object.__getattribute__(copy, "_mpf_") != tuple(int(v) for v in mpf):
        raise Foreign(sp.Float, "its binary digits change when SymPy rebuilds it")
    return copy


def _compound(cls: type, args: tuple) -> Any:
    """A fresh node of SymPy's class ``cls`` over copied arguments, without evaluating it (a
    numeric power is not computed); an applied undefined function through a fresh class."""
    if not own_class(cls) and _undefined_function(cls):
        return _fresh_function(cls)(*args)
    import sympy as sp
    if (cls is sp.Add or cls is sp.Mul) and all(isinstance(a, sp.Expr) for a in args):
        # what cls(*args, evaluate=False) does for expressions, without hashing the arguments for SymPy's cache
        return cls._exec_constructor_postprocessors(cls._from_args(args))
    try:
        return cls(*args, evaluate=False)
    except TypeError:   # a class whose constructor takes no evaluate flag
        return cls(*args)


def _number_abc() -> type:
    from numbers import Number
    return Number
