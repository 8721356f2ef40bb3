"""The public surface of ``symconv``: every name in ``__all__`` resolves, ``dir`` lists them, and
the error helpers keep the message style "parameter=value: rule"."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import sympy as sp

import symconv
from symconv.errors import SpecError, boolean, integer, one_of, seconds


def test_all_lists_every_lazy_name_and_nothing_else():
    assert set(symconv.__all__) == set(symconv._LAZY) | {"SpecError"}
    assert symconv.__all__ == sorted(symconv.__all__)


@pytest.mark.parametrize("name", sorted(symconv._LAZY))
def test_every_public_name_resolves_and_is_listed_by_dir(name):
    assert name in dir(symconv)
    value = getattr(symconv, name)
    assert value is getattr(sys.modules[symconv._LAZY[name]], name)


def test_star_import_gives_every_public_name():
    namespace: dict = {}
    exec("from symconv import *", namespace)  # noqa: S102  (a fixed statement, no user text)
    assert set(symconv.__all__) <= set(namespace)


@pytest.mark.parametrize(("check", "value", "message"), [
    (lambda v: integer("instances", v), "3", "instances='3': must be an integer"),
    (lambda v: integer("instances", v), 3.0, "instances=3.0: must be an integer"),
    (lambda v: integer("batch", v, minimum=1), True, "batch=True: must be an integer ≥ 1"),
    (lambda v: integer("batch", v, minimum=1), 0, "batch=0: must be an integer ≥ 1"),
    (lambda v: integer("size", v, 1, 10, "LIMIT"), 11, "size=11: must be at most 10 (LIMIT)"),
    (lambda v: boolean("bias", v), "no", "bias='no': must be True or False"),
    (lambda v: boolean("bias", v), 1, "bias=1: must be True or False"),
    (lambda v: one_of("mode", v, ("a", "b")), "c", "mode='c': must be one of ('a', 'b')"),
    (lambda v: one_of("mode", v, ("a",), note="or None"), 1, "mode=1: must be one of ('a',), or None"),
    (lambda v: seconds("deadline", v), 0, "deadline=0: must be a number of seconds > 0 (finite)"),
    (lambda v: seconds("deadline", v), float("nan"), "deadline=nan: must be a number of seconds > 0 (finite)"),
    (lambda v: seconds("deadline", v), True, "deadline=True: must be a number of seconds > 0 (finite)"),
])
def test_error_helpers_name_parameter_value_and_rule(check, value, message):
    with pytest.raises(SpecError) as info:
        check(value)
    assert str(info.value) == message


def test_error_helpers_accept_numpy_and_sympy_values():
    assert integer("n", np.int64(4), minimum=1) == 4 and type(integer("n", sp.Integer(4))) is int
    assert boolean("b", np.bool_(True)) is True
    assert seconds("deadline", sp.Rational(1, 2)) == 0.5
    assert one_of("mode", "a", ("a", "b")) == "a"
