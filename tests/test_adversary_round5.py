"""Round 5 of the adversarial review: the class-trust rule (``symconv.own_values``).

Each case is a reproducer that gave a false PROVED (or a traceback, or a hang) before the rule
became identity-based: a class counts as SymPy's only if it is found as an attribute of SymPy's
modules, walking from the ``sympy`` package; nothing a class says about itself is believed, and
what a node holds besides its arguments must be plain data."""

from __future__ import annotations

import os
import sys
import types
from decimal import Decimal

import numpy as np
import pytest
import sympy as sp
from sympy.core.function import UndefinedFunction
from sympy.core.singleton import Singleton

import symconv
from symconv.errors import SpecError, integer, one_of, seconds
from symconv.own_values import foreign_part

SPEC = symconv.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, input_size=3)
X, W, B = symconv.symbols(SPEC)
W0 = W.flat[0]


def _with_entry(value: object) -> sp.Matrix:
    """T with T[0, 0] = value (the true entry is w_{0,0,0})."""
    T = sp.Matrix(symconv.toeplitz(SPEC, W))
    T[0, 0] = value
    return T


def _refused_or_refuted(value: object, keyword: str = "toeplitz") -> str:
    try:
        proof = symconv.prove(SPEC, **{keyword: _with_entry(value)})
    except (TypeError, SpecError) as error:
        return str(error)
    assert not proof.holds, f"false PROVED with T[0, 0] = {value!r}"
    return "refuted"


def _lying_symbol_class(**namespace) -> type:
    def eq(self, other):
        return other is self or (type(other) is sp.Symbol and sp.Symbol.__eq__(W0, other))
    body = {"__eq__": eq, "__ne__": lambda self, other: not eq(self, other), "__hash__": lambda self: hash(W0)}
    return type("LyingBase", (sp.Symbol,), body | namespace)


def test_a_singleton_whose_qualified_name_leads_back_to_it_is_refused():
    base = _lying_symbol_class(name="z")
    liar_class = Singleton("Liar", (base,), {"__module__": "sympy.core.singleton", "__qualname__": "S.Liar.__class__"})
    message = _refused_or_refuted(liar_class())
    assert "defined outside SymPy" in message and "toeplitz[0, 0]" in message


def test_a_forged_sympy_module_with_a_forged_file_is_refused():
    liar_class = _lying_symbol_class()
    module = types.ModuleType("sympy.forged_by_test")
    module.__file__ = os.path.join(os.path.dirname(sp.__file__), "core", "symbol.py")
    liar_class.__module__ = module.__name__
    module.LyingBase = liar_class
    sys.modules[module.__name__] = module
    try:
        assert "defined outside SymPy" in _refused_or_refuted(sp.Symbol.__new__(liar_class, "z"))
    finally:
        del sys.modules[module.__name__]


def test_methods_compiled_with_a_sympy_file_name_are_refused():
    namespace: dict = {"sp": sp, "W0": W0}
    source = ("class Compiled(sp.Symbol):\n    def __eq__(self, other): return True\n"
              "    def __hash__(self): return hash(W0)\n")
    exec(compile(source, os.path.join(os.path.dirname(sp.__file__), "core", "symbol.py"), "exec"), namespace)
    assert "defined outside SymPy" in _refused_or_refuted(sp.Symbol.__new__(namespace["Compiled"], "z"))


def test_a_symbol_of_sympys_own_class_with_a_lying_name_is_refused():
    class Name(str):
        def __eq__(self, other):
            return str.__eq__(self, other) or other == "w_{0,0,0}"

        def __hash__(self):
            return hash("w_{0,0,0}")
    z = sp.Symbol.__xnew__(sp.Symbol, Name("z"))
    assert type(z) is sp.Symbol
    for keyword in ("toeplitz",):
        assert "a Symbol whose name is a Name" in _refused_or_refuted(z, keyword)


@pytest.mark.parametrize("metaclass_trick", ["call", "hidden dict"])
def test_undefined_functions_with_a_users_metaclass_are_refused(metaclass_trick):
    if metaclass_trick == "call":
        class Meta(UndefinedFunction):
            def __call__(cls, *args, **kw):
                return super().__call__(*args, **kw)
        f = Meta("F")
    else:
        class Meta(UndefinedFunction):
            def __getattribute__(cls, name):
                return super().__getattribute__(name)
        f = Meta("G", __dict__={"_eval_expand_mul": lambda self, **hints: W0})
    assert "defined outside SymPy" in _refused_or_refuted(f(W0))


def test_an_undefined_function_with_a_method_in_its_class_is_refused_and_a_plain_one_is_accepted():
    lying = sp.Function("F", _eval_expand_mul=lambda self, **hints: W0)
    assert "defined outside SymPy" in _refused_or_refuted(lying(W0))
    assert foreign_part(W0 + 2 * sp.Function("f", real=True)(W0)) is None


def test_an_instance_method_set_on_a_node_is_refused():
    node = sp.Function("poisoned_by_this_test")(W0)   # SymPy caches it: the attribute is removed after
    node.__dict__["expand"] = lambda *args, **hints: W0   # an applied function has an instance dict
    try:
        assert "instance attribute 'expand' is not one SymPy sets" in _refused_or_refuted(node)
    finally:
        del node.__dict__["expand"]


def test_choices_must_be_plain_strings():
    class Choice(str):
        def __eq__(self, other):
            return other == "zeros"

        def __hash__(self):
            return hash("zeros")
    with pytest.raises(SpecError, match="padding_mode='circular': must be one of"):
        symconv.ConvSpec(1, 1, kernel_size=3, input_size=4, padding=1, padding_mode=Choice("circular"))
    assert one_of("mode", np.str_("probe"), ("symbolic", "probe")) == "probe"
    assert type(one_of("mode", np.str_("probe"), ("symbolic", "probe"))) is str


def test_a_lying_float_deadline_is_refused():
    class Secs(sp.Float):
        def __gt__(self, other):
            return False
    with pytest.raises(TypeError, match="deadline: a subclass of Float defined outside SymPy"):
        seconds("deadline", Secs(1.0))


@pytest.mark.parametrize("value", [np.timedelta64(5, "s"), np.timedelta64("NaT")])
def test_durations_are_no_numbers(value):
    with pytest.raises(TypeError, match="timedelta64 is not one of Python's, NumPy's or SymPy's own numbers"):
        integer("kernel_size", value)
    with pytest.raises(TypeError, match="timedelta64 is not one of"):
        seconds("deadline", value)


@pytest.mark.parametrize("value, bits", [(sp.Pow(2, 10**12, evaluate=False), "1000000000000"),
                                         (sp.Integer(2) ** (10**5) * W0, "100001")])
def test_huge_numbers_in_an_entry_are_refused_before_any_arithmetic(value, bits):
    with pytest.raises(SpecError, match=f"toeplitz\\[0, 0\\]=.*a number of about {bits} bits; at most 4096 bits"):
        symconv.prove(SPEC, toeplitz=_with_entry(value))


def test_a_matrix_whose_shape_attributes_lie_is_refused():
    T = sp.Matrix(symconv.toeplitz(SPEC, W)).row_join(sp.Matrix([[7], [7]]))
    T.cols = 3
    with pytest.raises(TypeError, match=r"toeplitz: a MutableDenseMatrix whose shape \(2, 3\) is not the shape "
                                        r"of its entries \(2, 4\)"):
        symconv.prove(SPEC, toeplitz=T)


@pytest.mark.parametrize("value", [sp.Float("1.5", 50) * W0, sp.Rational(1, 3), sp.Piecewise((W0, W0 > 0), (0, True)),
                                   sp.floor(W0 / 2), sp.KroneckerDelta(W0, 1), sp.Max(W0, 1), sp.Mod(W0, 2),
                                   sp.Indexed(sp.IndexedBase("a"), W0), sp.Dummy("d"), sp.Integer(10**40),
                                   Decimal("1.5"), np.float32(2), np.int8(-3), 7, 2.5])
def test_sympys_numpys_and_pythons_own_values_are_trusted(value):
    assert foreign_part(value) is None


def test_a_flag_set_on_a_nodes_instance_is_refused():
    """Max(5, -5) with is_Add set on the instance vanished from sums: T[0, 0] = w0 + 5 proved."""
    poisoned = sp.Max(5, -5, evaluate=False)
    entry = W0 + poisoned                       # w0 + 5: wrong; poisoned after the sum is built
    poisoned.__dict__["is_Add"] = True
    try:
        assert "instance attribute 'is_Add' is not one SymPy sets" in _refused_or_refuted(entry)
    finally:
        del poisoned.__dict__["is_Add"]   # SymPy caches the node


@pytest.mark.parametrize("mpf", [(2, 1, 0, 1), (0, 0, 0, 1), (0, 2, 0, 2)])
def test_a_float_with_malformed_binary_digits_is_refused(mpf):
    """SymPy's arithmetic read (2, 1, 0, 1) as -1 while a Rational read it as +1."""
    value = sp.Float(1.0)
    value._mpf_ = mpf
    assert "are not a normalised number" in _refused_or_refuted(sp.Mul(value, W0, evaluate=False))


def test_a_rational_with_a_zero_denominator_is_refused():
    forged = object.__new__(sp.Rational)
    for name, value in (("p", 0), ("q", 0), ("_args", ()), ("_mhash", None)):
        object.__setattr__(forged, name, value)
    object.__setattr__(forged, "_assumptions", type(sp.Integer(1)._assumptions)({}))
    assert "over a nonzero one" in _refused_or_refuted(sp.Mul(forged, W0, evaluate=False))


def test_plain_data_in_a_nodes_arguments_is_refused():
    assert "arguments are not all SymPy objects" in _refused_or_refuted(sp.Basic.__new__(sp.Add, W0, 5))


@pytest.mark.parametrize("kind", [sp.zeros, lambda r, c: sp.SparseMatrix(r, c, {}),
                                  lambda r, c: sp.ImmutableMatrix(sp.zeros(r, c))])
def test_a_method_set_on_a_matrix_instance_is_refused(kind):
    """T = 0 with T.todok showing the right entries proved."""
    T = kind(2, 3)
    object.__setattr__(T, "todok", sp.Matrix(symconv.toeplitz(SPEC, W)).todok)
    with pytest.raises(TypeError, match=r"toeplitz: a \w+ whose instance attributes \['todok'\] are not ones"):
        symconv.prove(SPEC, toeplitz=T)


def test_an_integral_float_too_large_is_refused_before_it_is_converted():
    with pytest.raises(SpecError, match="bits; at most 4096 bits"):
        symconv.prove(SPEC, toeplitz=_with_entry(sp.Float(2) ** 10**11 * W0))


def test_the_copy_is_what_the_proof_keeps():
    value = W0 + sp.Max(1, 2, evaluate=False) - 2
    proof = symconv.prove(SPEC, toeplitz=_with_entry(value))
    assert proof.given["toeplitz"][0, 0] == value and proof.given["toeplitz"][0, 0] is not value
