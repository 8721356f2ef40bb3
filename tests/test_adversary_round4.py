"""Adversarial review, round 4: a class is SymPy's only if a real SymPy module file defines it (a
module object made at run time under a ``sympy.`` name does not count); a number is Python's,
``fractions``', ``decimal``'s or NumPy's only by identity of its type; integers are compared as
plain ints."""

from __future__ import annotations

import sys
import types

import pytest
import sympy as sp

import symconv
from symconv.errors import integer, seconds

SPEC = symconv.ConvSpec(1, 1, 2, (3,), bias=False)
_, W, _ = symconv.symbols(SPEC)


def _equal_to_everything(module_name):
    class Evil(sp.Symbol):
        def __eq__(self, other):
            return True
        __hash__ = sp.Symbol.__hash__
    Evil.__module__ = module_name
    return Evil


@pytest.mark.parametrize("fake", ["namespace", "module with SymPy's file"])
def test_a_class_under_a_run_time_sympy_module_is_not_sympys(monkeypatch, fake):
    name = "sympy.evil_" + fake.split()[0]
    Evil = _equal_to_everything(name)
    if fake == "namespace":
        module = types.SimpleNamespace(__name__=name, Evil=Evil)
    else:
        module = types.ModuleType(name)
        module.__file__, module.Evil = sp.__file__, Evil
    monkeypatch.setitem(sys.modules, name, module)
    T = symconv.toeplitz(SPEC, W).tolist()
    T[1][0] = Evil("junk")
    with pytest.raises(TypeError, match=r"^toeplitz\[1, 0\]: a subclass of Symbol defined outside SymPy \(.*Evil\)"):
        symconv.prove(SPEC, toeplitz=T)


def test_a_number_subclass_claiming_to_be_builtin_is_refused():
    class Lying(int):
        __module__ = "builtins"

        def __gt__(self, other):
            return other < 1

    with pytest.raises(TypeError, match=r"^deadline: a subclass of int defined outside SymPy"):
        seconds("deadline", Lying(10**12))


def test_integers_are_compared_as_plain_ints():
    class Lying(int):
        def __lt__(self, other):
            return False

    with pytest.raises(TypeError, match=r"^stride: a subclass of int defined outside SymPy"):
        symconv.ConvSpec(1, 1, 2, (4,), stride=Lying(5))
    assert integer("n", sp.Integer(3), minimum=1) == 3 and type(integer("n", sp.Integer(3))) is int
