"""Round 6 of the adversarial review (report 16): what the proof path reads from a supplied value.

Each negative control is a reproducer that gave a false PROVED (or a traceback from inside SymPy)
before: a copy rebuilt from fields SymPy does not compare (a Dummy's index, a Float's precision, a
Symbol's assumptions, an undefined function's ``name``), a matrix whose storage lies, an ndarray
subclass, an entry whose undefined part (0·∞) vanished on expansion, a value whose size only the
evaluated product shows, a str subclass as a network layer's kind. The positive controls are
legitimate SymPy and NumPy values that stay accepted."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp
import torch
from sympy.polys.matrices import DomainMatrix

import symconv
from symconv.errors import SpecError, stored_entries
from symconv.forms.transpose import prove_transpose
from symconv.interop import mlp_layers, prove_network
from symconv.interop.steps import network_steps
from symconv.own_values import foreign_part, one_reading, own_copy
from symconv.result.compare import counterexample_of

SPEC = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)   # T = [[w0, w1, 0], [0, w0, w1]]
X, W, _ = symconv.symbols(SPEC)
W0, W1 = W[0, 0, 0], W[0, 0, 1]
T_OWN = symconv.toeplitz(SPEC, W)
t = sp.Symbol("t")


def _t_with(index: tuple[int, int], entry: object) -> sp.Matrix:
    T = sp.Matrix(T_OWN)
    T[index] = entry
    return T


def _refusal(T: object, error: type = TypeError, **keywords: object) -> str:
    with pytest.raises(error) as caught:
        symconv.prove(SPEC, toeplitz=T, **keywords)
    return str(caught.value)


# ---- 1, 4: the copy reads exactly the fields SymPy's equality reads --------------------------------
@pytest.mark.parametrize("index, other, kind", [(1.5, 1, "float"), ("2", 2, "str")])
def test_a_dummy_whose_index_is_not_an_int_is_refused(index, other, kind):
    """Dummy('d', dummy_index=1.5) and Dummy('d', dummy_index=1) differ; int(1.5) made them one."""
    entry = (sp.Dummy("d", dummy_index=index) - sp.Dummy("d", dummy_index=other)) * W0
    assert entry != 0
    assert _refusal(_t_with((0, 2), entry)) == (f"toeplitz[0, 2]: a Dummy whose dummy_index is a {kind}, not an int; "
                                                f"pass SymPy's own expressions")


def test_different_dummies_with_int_indices_are_refuted_with_their_difference():
    d1, d2 = sp.Dummy("d", dummy_index=1), sp.Dummy("d", dummy_index=2)
    found = symconv.prove(SPEC, toeplitz=_t_with((0, 2), (d2 - d1) * W0)).counterexample
    assert (found.form, found.index) == ("toeplitz_matrix", (0, 2))
    assert sp.expand(found.difference - (d1 - d2) * W0) == 0


def test_a_float_whose_precision_cannot_hold_its_digits_is_refused():
    """Float(1.25) with _prec = 1: its binary digits say 5/4, every operation rounds it to 1."""
    f = sp.Float(1.25)
    object.__setattr__(f, "_prec", 1)
    assert _refusal(_t_with((0, 0), sp.Mul(f, W0, evaluate=False))) == (
        "toeplitz[0, 0]: a Float whose precision (1 bits) cannot hold its 3-bit mantissa; pass SymPy's own expressions")


def test_an_undefined_function_whose_name_was_changed_is_refused():
    """SymPy compares g by its class name; a rebuild from the changed ``name`` made g(0) into f(0)."""
    f, g = sp.Function("f_round6"), sp.Function("g_round6")
    type.__setattr__(g, "name", "f_round6")
    message = _refusal(_t_with((0, 2), (g(0) - f(0)) * W0))
    assert message.startswith("toeplitz[0, 2]: a subclass of AppliedUndef defined outside SymPy (g_round6): not the "
                              "one SymPy builds from the function's name and keywords")


def test_an_undefined_function_with_nargs_is_read_and_differs_from_one_without():
    f, f1 = sp.Function("f"), sp.Function("f", nargs=1)
    assert foreign_part(f1(0)) is None and own_copy(f1(0)) == f1(0)
    found = symconv.prove(SPEC, toeplitz=_t_with((0, 2), (f(0) - f1(0)) * W0)).counterexample
    assert found.difference.has(f(0)) and found.difference.has(f1(0))


def test_a_symbol_whose_given_and_compared_assumptions_disagree_is_refused():
    """_assumptions_orig = {} while _assumptions0 says positive: the copy was Symbol('s'), a
    different symbol from the entry's (SymPy compares _assumptions0)."""
    s1, s2 = sp.Symbol("s_round6"), sp.Symbol("s_round6", positive=True)
    object.__setattr__(s2, "_assumptions_orig", {})
    assert s2 - s1 != 0
    assert _refusal(_t_with((0, 2), (s2 - s1) * W0)) == (
        "toeplitz[0, 2]: a Symbol whose assumptions as given and as compared (_assumptions0) disagree; pass SymPy's "
        "own expressions")


def test_a_symbol_whose_queried_assumptions_were_altered_is_refused():
    d = sp.Dummy("q", positive=True)
    altered = d._assumptions.copy()   # not the dictionary SymPy shares among Symbols of these assumptions
    altered["negative"] = True
    object.__setattr__(d, "_assumptions", altered)
    assert _refusal(_t_with((0, 0), A(W0, A(d, -d)))) == (
        "toeplitz[0, 0]: a Dummy whose assumptions as queried (_assumptions) disagree with its assumptions as given; "
        "pass SymPy's own expressions")


def test_inconsistent_assumptions_are_refused_by_symconv_not_by_sympy():
    s = sp.Dummy("q")
    object.__setattr__(s, "_assumptions_orig", {"positive": True, "negative": True})
    assert _refusal(_t_with((0, 2), sp.Add(s, -s, evaluate=False))) == (
        "toeplitz[0, 2]: a Dummy whose assumptions ['negative', 'positive'] contradict each other; pass SymPy's own "
        "expressions")


# ---- 2, 13: a SymPy matrix is read from storage whose every class is SymPy's -------------------------
def _lying_rep(shown: sp.Matrix, read: sp.Matrix) -> sp.ImmutableDenseMatrix:
    """A matrix of SymPy's own class whose _rep (a DomainMatrix subclass) shows ``read`` to todok."""
    class Rep(DomainMatrix):
        def to_sympy(self):
            return sp.ImmutableDenseMatrix(read)._rep.to_sympy()
    M = sp.ImmutableDenseMatrix(shown)
    object.__setattr__(M, "_rep", Rep.from_rep(sp.ImmutableDenseMatrix(shown)._rep.rep.copy()))
    return M


def test_a_matrix_whose_storage_is_a_domainmatrix_subclass_is_refused():
    flipped = sp.ImmutableDenseMatrix([[W1, W0, 0], [0, W1, W0]])
    assert _refusal(_lying_rep(flipped, T_OWN)) == (
        "toeplitz: a ImmutableDenseMatrix whose storage (_rep) is a Rep, not SymPy's own DomainMatrix; pass SymPy's "
        "own matrices")
    K = sp.ImmutableDenseMatrix(symconv.kernel_matrix(SPEC, W))
    with pytest.raises(TypeError, match=re.escape("kernel_matrix: a ImmutableDenseMatrix whose storage (_rep) is")):
        symconv.prove(SPEC, kernel_matrix=_lying_rep(sp.Matrix([[W1, W0]]), K))
    TT = sp.ImmutableDenseMatrix(T_OWN).T
    with pytest.raises(TypeError, match=re.escape("toeplitz_transpose: a ImmutableDenseMatrix whose storage (_rep)")):
        prove_transpose(SPEC, toeplitz_transpose=_lying_rep(sp.zeros(*TT.shape), TT))


@pytest.mark.parametrize("backend", ["exact", "sympy"])
def test_a_matrix_whose_row_dicts_answer_lookups_their_own_way_is_refused(backend):
    swap = {W0: W1, W1: W0}

    class Row(dict):
        def __getitem__(self, j):
            value = dict.__getitem__(self, j)
            return swap.get(value, value)
    T = sp.MutableDenseMatrix(T_OWN)
    for i in list(T._rep.rep):
        dict.__setitem__(T._rep.rep, i, Row(dict.__getitem__(T._rep.rep, i)))
    assert T[0, 0] == W1   # the caller's T is the flipped kernel
    assert _refusal(T, backend=backend) == (
        "toeplitz: a MutableDenseMatrix whose storage holds a row of type Row where SymPy keeps a plain dict; pass "
        "SymPy's own matrices")


def test_a_sparse_matrix_with_a_stored_row_outside_its_shape_is_refused_by_symconv():
    T = sp.SparseMatrix(T_OWN)
    dict.__setitem__(T._rep.rep, 5, {0: W0})
    assert _refusal(T) == ("toeplitz: a MutableSparseMatrix whose storage holds an entry at (5, 0), outside its "
                           "shape (2, 3); pass SymPy's own matrices")


# ---- 3: only NumPy's own ndarray ---------------------------------------------------------------------
class Shown(np.ndarray):
    """Shows the flipped kernel through indexing and ``@``; its raw storage holds the true T."""

    def __getitem__(self, key):
        value = np.ndarray.__getitem__(self, key)
        return {W0: W1, W1: W0}.get(value, value) if not isinstance(value, np.ndarray) else value


@pytest.mark.parametrize("wrap", [lambda a: a.view(Shown), lambda a: [row.view(Shown) for row in a]])
def test_an_ndarray_subclass_is_refused_at_any_depth(wrap):
    T = wrap(np.array(T_OWN.tolist(), dtype=object))
    assert _refusal(T, SpecError) == (
        "toeplitz='a Shown (a subclass of numpy.ndarray)': symconv reads only NumPy's own ndarray, whose entries are "
        "what its storage holds; pass numpy.asarray(value) or nested lists")


def test_numpy_matrix_is_refused():
    with pytest.warns(PendingDeprecationWarning):
        T = np.matrix(np.array(T_OWN.tolist(), dtype=object))
    assert _refusal(T, SpecError).startswith("toeplitz='a matrix (a subclass of numpy.ndarray)'")


# ---- 5: a network's layers are read as symconv's own kinds and integers ------------------------------
def test_a_str_subclass_kind_of_a_network_layer_is_refused():
    model = torch.nn.Sequential(torch.nn.Conv1d(1, 1, 2, bias=False)).double()
    _, A, _ = mlp_layers(network_steps(model, (1, 3)), symbolic=True)[0]

    class Kind(str):
        calls = 0

        def __eq__(self, other):
            Kind.calls += 1
            return {1: False, 2: True}.get(Kind.calls, other == "affine")
        __hash__ = str.__hash__
    with pytest.raises(SpecError) as caught:
        prove_network(model, (1, 3), layers=[(Kind("elementwise"), A, 0)])
    assert str(caught.value) == "layers[0][0]='elementwise': must be one of ('affine', 'elementwise')"
    with pytest.raises(SpecError) as caught:
        prove_network(model, (1, 3), layers=[("elementwise", None, True)])
    assert str(caught.value) == "layers[0][2]=True: must be an integer ≥ 0"


# ---- 11, 13: an entry whose undefined part vanishes on expansion is refused ---------------------------
M, P, A = (lambda *a: sp.Mul(*a, evaluate=False)), (lambda *a: sp.Pow(*a, evaluate=False)), \
    (lambda *a: sp.Add(*a, evaluate=False))
VANISHING = "which vanishes when the entry is expanded: symconv does not decide the value of"
NOT_FINITE = "is not a finite number once expanded; each entry must be a finite number or a SymPy expression"


@pytest.mark.parametrize("backend", ["exact", "sympy"])
@pytest.mark.parametrize("entry, rule", [
    (M(0, sp.Integral(1 / t, (t, 0, 1))), f"holds an Integral, {VANISHING} an Integral"),
    (M(0, sp.Limit(1 / t, t, 0)), f"holds a Limit, {VANISHING} a Limit"),
    (M(0, sp.Sum(1 / t, (t, 0, W1))), f"holds a Sum, {VANISHING} a Sum"),
    (A(M(sp.sqrt(W0), sp.sqrt(W0)), -W0), f"holds a Pow, {VANISHING} a Pow"),
    (M(0, P(0, -1)), NOT_FINITE),
    (A(P(0, -1), M(-1, P(0, -1))), NOT_FINITE),
    (M(0, sp.log(0, evaluate=False)), NOT_FINITE),
])
def test_an_entry_whose_undefined_part_vanishes_is_refused(entry, rule, backend):
    T = _t_with((0, 0), A(W0, entry))
    assert rule in _refusal(T, SpecError, backend=backend)
    assert re.match(r"toeplitz\[0, 0\]=", _refusal(T, SpecError, backend=backend))


def test_a_non_polynomial_entry_that_survives_expansion_is_refuted_with_its_reason():
    found = symconv.prove(SPEC, toeplitz=_t_with((0, 0), W0 + sp.Integral(1 / t, (t, 0, W1)))).counterexample
    assert found.index == (0, 0) and found.reason.startswith("= ")
    assert "is not a polynomial in the weights" in found.reason


def test_a_counterexample_with_an_undefined_term_is_built_without_comparing_nan():
    found = counterexample_of("toeplitz_matrix", (0, 2), 0, sp.nan)
    assert found.missing == (sp.nan,) and found.extra == ()
    found = counterexample_of("toeplitz_matrix", (0, 2), W0, -2 * W0)
    assert found.missing == (3 * W0,) and found.extra == ()


# ---- 12: the size of the value is bounded before anything evaluates it -------------------------------
BIG = sp.Integer(2**4000 + 1)   # 4001 bits: allowed on its own


@pytest.mark.parametrize("entry, bits", [
    (M(BIG, BIG, BIG, BIG), 16004),
    (A(P(P(3, 4096), 4096), -P(P(3, 4096), 4096)), 4096 * 6493 + 3),   # the bits of −1·…, then of a sum of two
    (A(P(P(P(3, 4096), 4096), 4096), -P(P(P(3, 4096), 4096), 4096)), 4096 * 4096 * 6493 + 3),
    (P(P(2, 100), 100), 10000),
])
def test_a_huge_value_is_refused_by_its_bits_not_by_its_written_numbers(entry, bits):
    message = _refusal(_t_with((0, 2), entry), SpecError)
    assert message.endswith(f": a number of about {bits} bits; at most 4096 bits are allowed in an entry")
    assert len(message) < 300


def test_a_refused_value_with_a_number_too_long_to_print_is_described():
    assert str(SpecError("T[0, 0]", sp.Integer(2) ** 20000, "rule")) == "T[0, 0]=<a Integer too large to print>: rule"


# ---- 14: clear messages -------------------------------------------------------------------------------
@pytest.mark.parametrize("entry, message", [
    (A(sp.CRootOf(t**5 - t - 1, 0), -sp.CRootOf(t**5 - t - 1, 0)),
     "toeplitz[0, 2]: a ComplexRootOf is an atom symconv does not read: it rebuilds only numbers, Symbols, Dummies "
     "and SymPy's named constants from their data; pass SymPy's own expressions"),
    (M(0, sp.Subs(1 / t, t, 0)),
     "toeplitz[0, 2]: a Subs whose instance attribute '_expr' (which SymPy sets on a Subs) holds part of its meaning "
     "outside its arguments, and symconv rebuilds a node from its arguments only; pass SymPy's own expressions"),
])
def test_sympy_objects_symconv_does_not_read_are_named_in_a_sentence(entry, message):
    assert _refusal(_t_with((0, 2), entry)) == message


# ---- positive controls: legitimate values stay accepted -----------------------------------------------
z = sp.Symbol("z_round6", positive=True)
_ = z.is_prime, z.is_even   # queried assumptions are cached on the symbol: still its own


@pytest.mark.parametrize("entry", [
    sp.Float(1, 1000) * W0, sp.Rational(1, 2) * W0 + sp.Rational(1, 2) * W0, W0 + A(z, -z),
    W0 + A(sp.Dummy("d", dummy_index=3), -sp.Dummy("d", dummy_index=3)), M(sp.Float(2, 1000), W0) - W0,
    sp.expand((W0 + 1) ** 2 - W0**2 - W0 - 1),
])
def test_legitimate_sympy_entries_are_still_proved(entry):
    assert symconv.prove(SPEC, toeplitz=_t_with((0, 0), entry)).holds


@pytest.mark.parametrize("make", [sp.ImmutableSparseMatrix, sp.MutableSparseMatrix, sp.MutableDenseMatrix,
                                  sp.ImmutableDenseMatrix, lambda T: np.array(T.tolist(), dtype=object),
                                  lambda T: T.tolist()])
def test_sympy_matrices_numpy_arrays_and_lists_are_still_proved(make):
    assert symconv.prove(SPEC, toeplitz=make(sp.Matrix(T_OWN))).holds


def test_a_numeric_matrix_in_zz_and_qq_is_read_from_its_storage():
    numeric = sp.Matrix([[1, 0], [0, sp.Rational(1, 2)]])
    assert numeric._rep.domain == sp.QQ and stored_entries(numeric) == {(0, 0): 1, (1, 1): sp.Rational(1, 2)}
    assert stored_entries(sp.ImmutableSparseMatrix([[0, 7]])) == {(0, 1): 7}
    spec = symconv.ConvSpec(1, 1, kernel_size=1, input_size=2, bias=False)
    found = symconv.prove(spec, toeplitz=numeric).counterexample
    assert found.index == (0, 0) and sp.expand(found.difference - (W0 - 1) * X[0, 0]) == 0


def test_one_reading_copies_each_node_once():
    value = W0 * X[0, 0] + W1 * X[0, 1]
    with one_reading():
        assert own_copy(value) is own_copy(value)
    assert own_copy(value) is not own_copy(value)


def test_a_counterexample_with_an_integer_too_long_to_print_is_still_printed():
    """A product of several layers' coefficients of 4096 bits each passes Python's 4300-digit limit."""
    found = counterexample_of("mlp", (0,), 0, sp.Integer(2) ** 20000 * W0)
    assert str(found).splitlines()[1:3] == ["  expected (network(x)): 0", "  obtained (MLP(vec x)): <an expression "
                                            "holding an integer of more than 4300 digits>"]
    assert repr(found).endswith("expected − obtained = <an expression holding an integer of more than 4300 digits>>")
