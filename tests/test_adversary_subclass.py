"""User-supplied objects whose classes are subclasses with lying methods are refused by name.

A subclass of a SymPy matrix may override ``todok`` (what a proof reads) and show another matrix
when printed; a subclass of ``Add`` may override ``__eq__`` (Python asks the reflected method of a
subclass first) or ``expand``; a ConvSpec subclass may override ``pattern``. Each would turn a
wrong claim into PROVED, so only SymPy's own classes (and ConvSpec itself) are accepted, and what
a proof keeps is a fresh copy, never the caller's object.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp

import symconv
from symconv.errors import SpecError, foreign_class
from symconv.forms.entries import exact_matrix
from symconv.forms.transpose import upstream_symbols
from symconv.latex.figures import structure_matrix, structure_tikz
from symconv.pytest_plugin import specs_of
from symconv.result.compare import first_entry_difference, nonzeros

SPEC = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
X, W, _ = symconv.symbols(SPEC)
GOOD = sp.ImmutableDenseMatrix(symconv.toeplitz(SPEC, W))
BACKENDS = ("exact", "sympy")


class LyingMatrix(sp.ImmutableDenseMatrix):
    """Shows its own entries, but hands a proof the right Toeplitz matrix's."""

    def todok(self):  # type: ignore[no-untyped-def]
        return GOOD.todok()


class EqualToAll(sp.Add):
    """Equal to everything but zero."""

    def __eq__(self, other: object) -> bool:
        return not (isinstance(other, (int, sp.Integer)) and other == 0)

    __hash__ = sp.Add.__hash__


class ExpandsToNothing(sp.Add):
    """Expands to its first argument: the extra term vanishes in ``sp.expand``."""

    def expand(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self.args[0]


def _message(where: str, base: str, cls: type, what: str) -> str:
    return re.escape(f"{where}: a subclass of {base} defined outside SymPy ({cls.__qualname__}); "
                     f"pass SymPy's own {what}")


def _wrong_toeplitz() -> sp.MutableDenseMatrix:
    wrong = GOOD.as_mutable()
    wrong[0, 2] = W[0, 0, 0]
    return wrong


@pytest.mark.parametrize("backend", BACKENDS)
def test_lying_toeplitz_subclass_is_refused(backend: str) -> None:
    lying = LyingMatrix(_wrong_toeplitz())
    assert type(lying) is LyingMatrix and lying.todok() == GOOD.todok()  # the lie the proof would read
    with pytest.raises(TypeError, match=_message("toeplitz", "ImmutableDenseMatrix", LyingMatrix, "matrices")):
        symconv.prove(SPEC, toeplitz=lying, backend=backend)
    assert not symconv.prove(SPEC, toeplitz=_wrong_toeplitz(), backend=backend).holds  # negative control


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("keyword", ["im2col", "kernel_matrix"])
def test_lying_im2col_factor_subclass_is_refused(backend: str, keyword: str) -> None:
    good = sp.ImmutableDenseMatrix(symconv.im2col(SPEC, X) if keyword == "im2col" else symconv.kernel_matrix(SPEC, W))
    wrong = good.as_mutable()
    wrong[0, 0] = wrong[0, 0] + 1

    class Lying(sp.ImmutableDenseMatrix):
        def todok(self):  # type: ignore[no-untyped-def]
            return good.todok()

    with pytest.raises(TypeError, match=_message(keyword, "ImmutableDenseMatrix", Lying, "matrices")):
        symconv.prove(SPEC, backend=backend, **{keyword: Lying(wrong)})
    assert not symconv.prove(SPEC, backend=backend, **{keyword: wrong}).holds


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cls", [EqualToAll, ExpandsToNothing])
def test_lying_output_entry_is_refused(backend: str, cls: type) -> None:
    out = np.array(symconv.conv(SPEC, X, W), dtype=object)
    out[0, 0] = cls(out[0, 0], sp.Integer(1))
    with pytest.raises(TypeError, match=_message("output[0, 0]", "Add", cls, "expressions")):
        symconv.prove(SPEC, output=out, backend=backend)
    honest = out.copy()
    honest[0, 0] = sp.Add(out[0, 0].args[0], sp.Integer(1))
    assert not symconv.prove(SPEC, output=honest, backend=backend).holds


def test_lying_entry_deep_inside_an_expression_is_refused() -> None:
    out = np.array(symconv.conv(SPEC, X, W), dtype=object)
    out[0, 1] = 2 * sp.Mul(X[0, 0], EqualToAll(W[0, 0, 0], sp.Integer(1)), evaluate=False)
    with pytest.raises(TypeError, match=_message("output[0, 1]", "Add", EqualToAll, "expressions")):
        symconv.prove(SPEC, output=out)


@pytest.mark.parametrize("cls", [EqualToAll, ExpandsToNothing])
def test_lying_weight_gradient_is_refused(cls: type) -> None:
    honest = np.array(symconv.weight_gradient(SPEC, X, upstream_symbols(SPEC)), dtype=object)
    assert symconv.prove_transpose(SPEC, weight_grad=honest).holds
    claimed = honest.copy()
    claimed[0, 0, 0] = cls(honest[0, 0, 0], sp.Integer(1))
    with pytest.raises(TypeError, match=_message("weight_grad[0, 0, 0]", "Add", cls, "expressions")):
        symconv.prove_transpose(SPEC, weight_grad=claimed)
    claimed[0, 0, 0] = honest[0, 0, 0] + 1
    assert not symconv.prove_transpose(SPEC, weight_grad=claimed).holds


class Tricky(symconv.ConvSpec):
    pass


def test_convspec_subclass_is_refused_everywhere() -> None:
    tricky = Tricky(1, 1, kernel_size=2, input_size=3)
    rule = re.escape("='Tricky': must be a symconv.ConvSpec, not a subclass")
    for call in (lambda: symconv.prove(tricky), lambda: symconv.prove_transpose(tricky),
                 lambda: symconv.testing.assert_conv_equivalent(lambda x, w, b: x, tricky),
                 lambda: symconv.spectral.is_block_circulant(tricky, GOOD),
                 lambda: symconv.converse.prove_conv1x1_as_fc(Tricky(1, 1, kernel_size=1, input_size=3)),
                 lambda: structure_matrix(tricky), lambda: structure_tikz(tricky),
                 lambda: specs_of(tricky)):
        with pytest.raises(SpecError, match=rule):
            call()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("make", [sp.ImmutableMatrix, sp.Matrix, sp.SparseMatrix, sp.ImmutableSparseMatrix,
                                  lambda m: np.array(m.tolist(), dtype=object), lambda m: m.tolist()])
def test_sympy_own_containers_still_prove_and_are_copied(backend: str, make) -> None:
    supplied = make(GOOD)
    proof = symconv.prove(SPEC, toeplitz=supplied, backend=backend)
    assert proof.holds
    kept = proof.given["toeplitz"]
    assert kept is not supplied
    assert sp.Matrix(kept.tolist()) == GOOD


def test_exact_matrix_returns_a_fresh_copy_of_an_immutable_matrix() -> None:
    mine = sp.ImmutableMatrix([[1, sp.Rational(1, 2)]])
    kept = exact_matrix("K", mine)
    assert kept is not mine and type(kept) is sp.ImmutableDenseMatrix and kept == mine
    sparse = sp.ImmutableSparseMatrix(2, 2, {(0, 1): W[0, 0, 0]})
    copy = exact_matrix("T", sparse)
    assert copy is not sparse and type(copy) is sp.ImmutableSparseMatrix and copy == sparse


def test_users_own_sympy_expressions_pass() -> None:
    f = sp.Function("f")
    for value in (sp.Integer(3), sp.Rational(2, 3), W[0, 0, 0], W[0, 0, 0] + X[0, 0], 2 * W[0, 0, 1],
                  W[0, 0, 0] ** 2, sp.Add(W[0, 0, 0], 1, evaluate=False), f(W[0, 0, 0]), 5, np.int64(2)):
        assert foreign_class(value) is None


def test_number_subclass_is_refused() -> None:
    class MyInt(int):
        pass

    with pytest.raises(TypeError, match=_message("K[0, 0]", "int", MyInt, "expressions")):
        exact_matrix("K", [[MyInt(1)]])


def test_comparisons_refuse_foreign_classes_without_validation() -> None:
    x = sp.Symbol("x")
    with pytest.raises(TypeError, match=_message("output[0, 0] (obtained)", "Add", EqualToAll, "expressions")):
        first_entry_difference("output", [[x]], [[EqualToAll(x, 1)]])
    with pytest.raises(TypeError, match=_message("matrix", "ImmutableDenseMatrix", LyingMatrix, "matrices")):
        nonzeros(LyingMatrix(_wrong_toeplitz()))
    assert first_entry_difference("output", [[x + 1]], [[sp.Add(1, x)]]) is None
