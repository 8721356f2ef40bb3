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
from contextlib import suppress
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
        with suppress(AttributeError):   # an empty slot has no value
            slots.append((name, object.__getattribute__(node, name)))
    try:
        instance = object.__getattribute__(node, "__dict__")
    except AttributeError:
        instance = {}
    return slots, instance


def _node_problem(node: Any, nodes: list) -> str | None:
    """Why one node (not its arguments) is not SymPy's own, or None; the SymPy nodes it holds
    (arguments and payload) are appended to ``nodes``."""
    cls = type(node)
    if not (own_class(cls) or _undefined_function(cls)):
        return NOT_OWN
    slots, instance = _payload(node)
    if type(instance) is not dict:
        return "its instance dictionary is not a dict"
    for name in instance:   # a method set on the instance would be asked first
        if type(name) is not str or callable(getattr(cls, name, None)):
            return f"its instance attribute {name!r} hides the class's method"
    for name, value in slots + list(instance.items()):
        if name == "_mpf_":   # a Float's (sign, mantissa, exponent, bits): the mantissa may be gmpy's
            if type(value) is not tuple or not all(type(v) in _sympy_types()[2] for v in value):
                return "its _mpf_ is not a tuple of integers"
        elif not _plain(value, nodes):
            return f"its {name.lstrip('_')} is a {type(value).__name__}, not Python's own data"
    return None


# What SymPy itself puts in the class of an undefined function (``sp.Function("f", real=True)``);
# ``sp.Function(name, **attrs)`` copies any other keyword into the class, methods included.
_UNDEFINED_FUNCTION_KEYS = frozenset({"__doc__", "__module__", "_explicit_class_assumptions", "_kwargs", "_nargs",
                                      "default_assumptions", "name"})


def _undefined_function(cls: type) -> bool:
    """``cls`` is the class of an applied undefined function as SymPy makes it: metaclass exactly
    SymPy's UndefinedFunction, bases SymPy's, a class dictionary of plain data (and SymPy's own
    property handlers and Sage helper) only."""
    from sympy.core.function import UndefinedFunction, UndefSageHelper
    if type(cls) is not UndefinedFunction or not all(own_class(base, expression=False)
                                                     for base in cls.__mro__[1:-1]):   # [-1]: object
        return False
    namespace = type.__dict__["__dict__"].__get__(cls)   # the class's own dict, not what a metaclass shows
    for key, value in namespace.items():
        if key == "_sage_":
            ok = type(value) is UndefSageHelper
        elif key == "_prop_handler":
            ok = type(value) is dict and all(_inherited(cls, name, handler) for name, handler in value.items())
        elif key.startswith("is_"):
            ok = type(value) in (bool, type(None))
        else:
            ok = key in _UNDEFINED_FUNCTION_KEYS and _plain(value, [])
        if not ok:
            return False
    return True


def _inherited(cls: type, name: str, handler: object) -> bool:
    """``handler`` is the method ``_eval_is_<name>`` one of ``cls``'s own (SymPy) bases defines."""
    method = f"_eval_is_{name}"
    return type(name) is str and any(vars(base).get(method) is handler for base in cls.__mro__[1:])


def foreign_part(value: object) -> tuple[type, str] | None:
    """(class, why) of the first part of ``value`` that is not SymPy's, Python's or NumPy's own
    (module docstring), or None. A number must be of Python's or NumPy's own type; other
    non-SymPy objects are left to the caller's rules (refused by what they are)."""
    basic = _sympy_types()[0]
    if not isinstance(value, basic) and type(value) is getattr(value, "__class__", None):
        if isinstance(value, _number_abc()) and not own_number(value):
            return type(value), NOT_OWN
        return None
    stack, seen = [value], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        problem = _node_problem(node, stack)   # pushes the nodes it holds: its arguments among them
        if problem is not None:
            return type(node), problem
    return None


def _number_abc() -> type:
    from numbers import Number
    return Number
