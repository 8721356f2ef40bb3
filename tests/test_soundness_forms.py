"""Issue 11 "PROVED must mean proved": user-supplied matrices are checked as forms.

A product identity does not make a matrix the layer's: T·vec(x) = y also holds for a T that
divides by x, K·P = conv for P/x with K·x, for a K with garbage in a column that multiplies only
padding zeros, and for P with its rows permuted and K's columns permuted to match. Each such
matrix must be REFUTED, naming the entry (and the offending symbols), on both backends, while the
true matrices stay PROVED. Bad entries (NaN, None, bool, Eq, Matrix, Interval, text, ragged
nesting, inexact floats) are refused with an error naming the argument, the value and the rule.
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import symconv
from symconv import ConvSpec, SpecError
from symconv.backends import Given, exact, run
from symconv.converse import fc_as_conv, fc_matrix, prove_conv1x1_as_fc, prove_fc_as_conv
from symconv.forms.transpose import prove_transpose, upstream_symbols, weight_gradient
from symconv.spectral import prove_block_diagonalisation, singular_values

BACKENDS = ("sympy", "exact")
SPEC = ConvSpec(2, 2, kernel_size=2, input_size=(3, 3), bias=False)
CIRCULAR = ConvSpec(1, 1, kernel_size=3, input_size=4, padding=1, padding_mode="circular")


def refuted(spec: ConvSpec, **forms) -> symconv.Counterexample:
    """Both backends refute with the same counterexample (reason included); return it."""
    proofs = [symconv.prove(spec, backend=backend, **forms) for backend in BACKENDS]
    assert not proofs[0].holds and not proofs[1].holds, proofs[0].summary()
    assert proofs[0].counterexample == proofs[1].counterexample
    return proofs[0].counterexample


def proved(spec: ConvSpec, **forms) -> bool:
    return all(symconv.prove(spec, backend=backend, **forms).holds for backend in BACKENDS)


def own_forms(spec: ConvSpec) -> dict:
    x, w, b = symconv.symbols(spec)
    return {"toeplitz": symconv.toeplitz(spec, w), "im2col": symconv.im2col(spec, x),
            "kernel_matrix": symconv.kernel_matrix(spec, w), "output": symconv.conv(spec, x, w, b)}


def test_the_true_matrices_are_proved_on_both_backends() -> None:
    for spec in (SPEC, ConvSpec(1, 2, 2, 3, padding=1), ConvSpec(2, 2, 3, 1, padding=1, groups=2)):
        assert proved(spec, **own_forms(spec))
        assert proved(spec, **{k: v for k, v in own_forms(spec).items() if k != "output"}, order="unfold")


# ---- the four examples of the issue ----------------------------------------------------------
def test_a_toeplitz_matrix_that_divides_by_the_input_is_refuted() -> None:
    """T[r, 0] = y_r / x_{0,0,0}: T·vec(x) = y holds, but T depends on (and divides by) x."""
    x, w, _ = symconv.symbols(SPEC)
    y = symconv.conv(SPEC, x, w).reshape(-1)
    T = sp.zeros(*SPEC.toeplitz_shape)
    for r, value in enumerate(y):
        T[r, 0] = value / x[0, 0, 0]
    assert all(sp.expand(a - b) == 0 for a, b in zip(T * sp.Matrix(x.reshape(-1)), y))  # the product holds
    found = refuted(SPEC, toeplitz=T)
    assert (found.form, found.index) == ("toeplitz_matrix", (0, 0))
    assert found.reason.startswith("depends on the inputs x_{0,0,0}, x_{0,0,1}")
    assert found.reason.endswith(": an FC weight matrix must be a polynomial in the weights only")
    assert found.headline() == f"toeplitz_matrix: T[0,0] {found.reason}"
    assert found.expected == w[0, 0, 0, 0] and found.obtained == T[0, 0]


def test_p_over_x_with_k_times_x_is_refuted() -> None:
    """P/x_{0,0,0} with K·x_{0,0,0}: K·P is unchanged; P[0, 0] = 1 is a polynomial, P[0, 1] is not."""
    forms = own_forms(SPEC)
    x = symconv.symbols(SPEC)[0]
    P, K = forms["im2col"] / x[0, 0, 0], forms["kernel_matrix"] * x[0, 0, 0]
    found = refuted(SPEC, im2col=P, kernel_matrix=K)
    assert (found.form, found.index) == ("im2col_matrix", (0, 1))
    assert found.reason == ("= x_{0,0,1}/x_{0,0,0} is not a polynomial in the inputs (it divides by x_{0,0,0}): "
                            "the patch matrix P must be a polynomial in the inputs only")
    found = refuted(SPEC, im2col=forms["im2col"], kernel_matrix=K)
    assert (found.form, found.index) == ("kernel_matrix", (0, 0))
    assert found.reason == ("depends on the input x_{0,0,0}: the kernel matrix K must be a polynomial in the "
                            "weights only")
    assert str(found).startswith("kernel_matrix: K[0,0] depends on the input x_{0,0,0}")


def test_garbage_in_a_column_of_k_that_reads_only_padding_is_refuted() -> None:
    """Input 1, kernel 3, padding 1: taps 0 and 2 read only padding, so K[:, 0] multiplies a zero
    row of P and K·P = conv whatever it holds."""
    spec = ConvSpec(1, 2, kernel_size=3, input_size=1, padding=1, bias=False)
    forms = own_forms(spec)
    w = symconv.symbols(spec)[1]
    assert forms["im2col"][0, :] == sp.zeros(1, 1)
    K = forms["kernel_matrix"].copy()
    K[1, 0] = 7 * w[0, 0, 2] ** 2
    for given in ({"kernel_matrix": K}, {"kernel_matrix": K, "im2col": forms["im2col"]}):
        found = refuted(spec, **given)
        assert (found.form, found.index) == ("kernel_matrix", (1, 0))
        assert (found.expected, found.obtained, found.reason) == (w[1, 0, 0], 7 * w[0, 0, 2] ** 2, "")
        assert found.missing == (w[1, 0, 0],) and found.extra == (7 * w[0, 0, 2] ** 2,)
        assert found.headline() == "kernel_matrix: K[1,0] differs from kernel_matrix(w)[1,0]"


@pytest.mark.parametrize("order", ["unfold", "paper"])
def test_p_with_permuted_rows_and_k_permuted_to_match_is_refuted(order: str) -> None:
    x, w, _ = symconv.symbols(SPEC)
    P, K = symconv.im2col(SPEC, x, order), symconv.kernel_matrix(SPEC, w, order)
    n = P.shape[0] if order == "unfold" else P.shape[1]
    permutation = [1, 0] + list(range(2, n))
    if order == "unfold":
        P2, K2 = P[permutation, :], K[:, permutation]
    else:   # P·K: columns of P, rows of K (the paper's order, groups=1: one shared index)
        P2, K2 = P[:, permutation], K[permutation, :]
    found = refuted(SPEC, im2col=P2, kernel_matrix=K2, order=order)
    assert (found.form, found.index) == ("im2col_matrix", (0, 0))
    assert (found.expected, found.obtained) == (P[found.index], P2[found.index]) and found.expected != found.obtained
    assert found.headline() == "im2col_matrix: P[0,0] differs from im2col(x)[0,0]"
    assert proved(SPEC, im2col=P, kernel_matrix=K, order=order)


def test_minus_k_with_minus_p_is_refuted_after_its_product_passes() -> None:
    forms = own_forms(SPEC)
    found = refuted(SPEC, im2col=-forms["im2col"], kernel_matrix=-forms["kernel_matrix"])
    assert (found.form, found.index, found.reason) == ("im2col_matrix", (0, 0), "")


@pytest.mark.parametrize("form, value, index, reason", [
    ("toeplitz", lambda x, w: x[0, 0, 0], (0, 0), "depends on the input x_{0,0,0}: an FC weight matrix"),
    ("toeplitz", lambda x, w: sp.sqrt(w[0, 0, 0, 0]), (0, 0), "= sqrt(w_{0,0,0,0}) is not a polynomial in the weights"),
    ("toeplitz", lambda x, w: sp.Symbol("z") * w[0, 0, 0, 0], (0, 0),
     "depends on z, not a symbol of symconv.symbols(spec)"),
    ("im2col", lambda x, w: w[0, 0, 0, 0] * x[0, 0, 0], (0, 0),
     "depends on the weight w_{0,0,0,0}: the patch matrix P"),
    ("kernel_matrix", lambda x, w: w[0, 0, 0, 0] / w[0, 0, 0, 1], (0, 0),
     "= w_{0,0,0,0}/w_{0,0,0,1} is not a polynomial in the weights (it divides by w_{0,0,0,1})"),
    ("output", lambda x, w: sp.exp(x[0, 0, 0]), (0, 0, 0), "= exp(x_{0,0,0}) is not a polynomial in x, w and b"),
])
def test_an_entry_with_the_wrong_symbols_is_refuted_with_its_reason(form, value, index, reason) -> None:
    x, w, _ = symconv.symbols(SPEC)
    given = own_forms(SPEC)[form]
    given = given.copy()
    given[index] = value(x, w)
    found = refuted(SPEC, **{form: given})
    assert found.index == index and found.reason.startswith(reason), found.reason


# ---- the other proofs that take a matrix ------------------------------------------------------
def test_prove_transpose_checks_its_matrix_and_gradients_as_forms() -> None:
    spec = ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    x, w, _ = symconv.symbols(spec)
    g = upstream_symbols(spec)
    Tt = symconv.toeplitz(spec, w).T
    assert prove_transpose(spec, toeplitz_transpose=Tt).holds
    dx = Tt * sp.Matrix(g.reshape(-1))
    divided = sp.zeros(*Tt.shape)
    for c in range(Tt.shape[0]):
        divided[c, 0] = dx[c] / g[0, 0]                     # (Tᵀ·g)_c / g_0: Tᵀ·vec(g) unchanged
    found = prove_transpose(spec, toeplitz_transpose=divided).counterexample
    assert (found.form, found.index) == ("transpose_matrix", (1, 0))  # row 0 is w_0·g_0/g_0 = w_0
    assert found.reason.startswith("depends on the upstream gradients g_{0,0}, g_{0,1}")
    grad = weight_gradient(spec, x, g)
    assert prove_transpose(spec, weight_grad=grad * x[0, 0] / x[0, 0]).holds   # x/x cancels on construction
    wrong = grad.copy()
    wrong[0, 0, 0] = wrong[0, 0, 0] / w[0, 0, 0]
    found = prove_transpose(spec, weight_grad=wrong).counterexample
    assert (found.form, found.index) == ("weight_gradient", (0, 0, 0))
    assert found.reason.startswith("depends on the weight w_{0,0,0}: ∂L/∂w must be a polynomial in x and g")


def test_prove_block_diagonalisation_checks_its_matrix_as_a_form() -> None:
    x, w, _ = symconv.symbols(CIRCULAR)
    T = symconv.toeplitz(CIRCULAR, w)
    assert prove_block_diagonalisation(CIRCULAR, toeplitz=T).holds
    bad = T.copy()
    bad[0, 0] = bad[0, 0] * x[0, 1] / x[0, 1] + x[0, 2] - x[0, 2]   # cancels: still the layer's T
    assert prove_block_diagonalisation(CIRCULAR, toeplitz=bad).holds
    bad[0, 1] = bad[0, 1] * x[0, 0]
    found = prove_block_diagonalisation(CIRCULAR, toeplitz=bad).counterexample
    assert (found.form, found.index) == ("toeplitz_matrix", (0, 1))
    assert found.reason.startswith("depends on the input x_{0,0}")


def test_the_converse_proofs_check_their_matrix_as_a_form() -> None:
    spec = fc_as_conv(np.zeros((2, 3), dtype=object), (1, 3), None)[0]
    x, w, _ = symconv.symbols(spec)
    W = fc_matrix(spec, w)
    W[0, 0] = W[0, 0] * x[0, 1] / x[0, 1]     # cancels on construction
    assert prove_fc_as_conv(2, (1, 3), bias=False, matrix=W).holds
    W[1, 2] = w[1, 0, 2] * x[0, 0]
    found = prove_fc_as_conv(2, (1, 3), bias=False, matrix=W).counterexample
    assert (found.form, found.index) == ("fc_matrix", (1, 2))
    assert found.reason == "depends on the input x_{0,0}: an FC weight matrix must be a polynomial in the weights only"
    one = ConvSpec(2, 2, kernel_size=1, input_size=2)
    _, w1, _ = symconv.symbols(one)
    W1 = np.array([[w1[0, 0, 0], w1[0, 1, 0]], [w1[1, 0, 0], 1 / w1[1, 1, 0]]], dtype=object)
    found = prove_conv1x1_as_fc(one, matrix=W1).counterexample
    assert (found.form, found.index) == ("conv1x1_matrix", (1, 1))
    assert "is not a polynomial in the weights (it divides by w_{1,1,0})" in found.reason


# ---- bad entries: a clear error naming the argument, the value and the rule --------------------
def _with_entry(matrix: sp.MatrixBase, value: object) -> np.ndarray:
    array = np.array(matrix.tolist(), dtype=object)
    array[0, 1] = value
    return array


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("value, message", [
    (float("nan"), "toeplitz[0, 1]=nan: not a finite number"),
    (np.inf, "toeplitz[0, 1]=inf: not a finite number"),
    (sp.nan, "toeplitz[0, 1]=nan: not a finite number"),
    (sp.zoo, "toeplitz[0, 1]=zoo: not a finite number"),
    (None, "toeplitz[0, 1]=None: each entry must be a finite number or a SymPy expression"),
    (True, "toeplitz[0, 1]=True: each entry must be a finite number or a SymPy expression"),
    (sp.true, "toeplitz[0, 1]=True: BooleanTrue is not a number or a SymPy expression"),
    (sp.Eq(sp.Symbol("a"), 1), "toeplitz[0, 1]=Eq(a, 1): Equality is not a number or a SymPy expression"),
    (sp.Matrix([[1]]), "toeplitz[0, 1]=Matrix([[1]]): MutableDenseMatrix is not a number"),
    (sp.Interval(0, 1), "toeplitz[0, 1]=Interval(0, 1): Interval is not a number"),
    (0.5, "toeplitz[0, 1]=0.5: a float is accepted only with an integer value"),
    (1j, "toeplitz[0, 1]=1j: an inexact complex"),
])
def test_bad_entries_of_a_supplied_matrix_name_the_entry(backend: str, value: object, message: str) -> None:
    T = own_forms(SPEC)["toeplitz"]
    with pytest.raises(SpecError) as caught:
        symconv.prove(SPEC, toeplitz=_with_entry(T, value), backend=backend)
    assert str(caught.value).startswith(message), str(caught.value)
    assert caught.value.parameter == "toeplitz[0, 1]"


@pytest.mark.parametrize("backend", BACKENDS)
def test_text_is_never_evaluated(backend: str, tmp_path) -> None:
    marker = tmp_path / "evaluated"
    text = f"__import__('pathlib').Path({str(marker)!r}).touch() or w_{{0,0,0,0}}"
    for form in ("toeplitz", "im2col", "kernel_matrix", "output"):
        given = own_forms(SPEC)[form]
        array = np.array(given.tolist() if hasattr(given, "tolist") else given, dtype=object)
        array[(0,) * array.ndim] = text
        with pytest.raises(TypeError, match=rf"^{form}\[0, 0(, 0)?\]=[\"']__import__.*: text is not evaluated"):
            symconv.prove(SPEC, backend=backend, **{form: array})
    with pytest.raises(TypeError, match="^toeplitz='w': text is not evaluated"):
        symconv.prove(SPEC, backend=backend, toeplitz="w")
    assert not marker.exists()


def test_ragged_and_misshapen_supplied_matrices_are_refused_by_name() -> None:
    with pytest.raises(SpecError, match="^im2col='a ragged nested sequence': must be a rectangular array"):
        symconv.prove(SPEC, im2col=[[1, 2], [3]])
    with pytest.raises(SpecError, match=r"^kernel_matrix.shape=\(1, 2\): must be \(2, 8\)"):
        symconv.prove(SPEC, kernel_matrix=[[1, 2]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_floats_with_integer_values_are_read_exactly(backend: str) -> None:
    forms = own_forms(SPEC)
    P = forms["im2col"].applyfunc(lambda v: 1.0 * v)
    assert any(e.atoms(sp.Float) for e in P)
    assert symconv.prove(SPEC, im2col=P, backend=backend).holds
    y = np.array(forms["output"], dtype=object)
    y[0, 0, 0] = y[0, 0, 0] + 0.0
    assert symconv.prove(SPEC, output=y, backend=backend).holds


@pytest.mark.parametrize("call, error, message", [
    (lambda x, w: symconv.conv(SPEC, _entry(x, None), w), SpecError, "x[0, 0, 0]=None: each entry"),
    (lambda x, w: symconv.conv(SPEC, _entry(x, float("nan")), w), SpecError, "x[0, 0, 0]=nan: not a finite number"),
    (lambda x, w: symconv.toeplitz(SPEC, _entry(w, "w")), TypeError, "w[0, 0, 0, 0]='w': text is not evaluated"),
    (lambda x, w: symconv.im2col(SPEC, _entry(x, sp.Interval(0, 1))), SpecError, "x[0, 0, 0]=Interval(0, 1)"),
    (lambda x, w: symconv.kernel_matrix(SPEC, _entry(w, sp.Eq(x[0, 0, 0], 1))), SpecError,
     "w[0, 0, 0, 0]=Eq(x_{0,0,0}, 1): Equality is not a number"),
    (lambda x, w: symconv.conv(SPEC, x, [[1, 2], [3]]), SpecError, "w='a ragged nested sequence'"),
])
def test_bad_operand_entries_name_the_argument(call, error, message: str) -> None:
    x, w, _ = symconv.symbols(SPEC)
    with pytest.raises(error) as caught:
        call(x, w)
    assert str(caught.value).startswith(message), str(caught.value)


def _entry(array: np.ndarray, value: object) -> np.ndarray:
    changed = np.array(array, dtype=object)
    changed[(0,) * changed.ndim] = value
    return changed


def test_singular_values_refuse_nan_symbols_and_text() -> None:
    weights = np.array([[[1.0, 2.0, 3.0]]])
    assert singular_values(CIRCULAR, weights).shape == (4,)
    for value, message in ((np.nan, "weight[0, 0, 1]=nan: not a finite number"),
                           (sp.Symbol("a"), "weight[0, 0, 1]=a: singular values need finite real numbers")):
        bad = weights.astype(object)
        bad[0, 0, 1] = value
        with pytest.raises(SpecError) as caught:
            singular_values(CIRCULAR, bad)
        assert str(caught.value).startswith(message), str(caught.value)
    bad = weights.astype(object)
    bad[0, 0, 1] = "2"
    with pytest.raises(TypeError, match="weight\\[0, 0, 1\\]='2': text is not evaluated"):
        singular_values(CIRCULAR, bad)


def test_fc_as_conv_refuses_a_bias_of_the_wrong_length() -> None:
    with pytest.raises(SpecError) as caught:
        fc_as_conv(np.ones((2, 3), dtype=int), (1, 3), bias=[1, 2, 3])
    assert str(caught.value).startswith("bias.shape=(3,): must be (2,)")
    assert fc_as_conv(np.ones((2, 3), dtype=int), (1, 3), bias=[1, 2])[2].tolist() == [1, 2]


# ---- the exact backend refuses what it cannot represent; the two backends agree ---------------
@pytest.mark.parametrize("entry", [lambda x, w: 1 / x, lambda x, w: sp.sqrt(x), lambda x, w: sp.Float(0.5) * x,
                                   lambda x, w: x * x, lambda x, w: w * x])
def test_the_exact_backend_never_reads_a_non_bilinear_p_entry(entry) -> None:
    spec = ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    x, w, _ = symconv.symbols(spec)
    ids = exact.SymbolIds.of(spec)
    with pytest.raises(exact.NotRepresentable):
        exact._linear(entry(x[0, 1], w[0, 0, 0]), ids.input_ids, many=False)


@pytest.mark.parametrize("divide", [True, False])
def test_both_backends_judge_a_non_polynomial_product_alike(divide: bool) -> None:
    """Below ``prove`` (no form check), the exact backend hands a T with 1/x entries to SymPy: the
    product T·vec(x) is then judged as SymPy judges it, never misread as a polynomial."""
    spec = ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    x, w, _ = symconv.symbols(spec)
    T = symconv.toeplitz(spec, w).copy()
    T[0, 0] = T[0, 0] * x[0, 1] / x[0, 2] if divide else T[0, 0] * x[0, 1] / x[0, 1]
    results = [run(spec, ("toeplitz",), Given(toeplitz=T), "unfold", backend, False) for backend in BACKENDS]
    assert results[0][0] == results[1][0]
    assert (results[0][0] is None) is not divide
    assert results[1][2] == ("exact (sympy for toeplitz)" if divide else "exact")


def test_is_block_circulant_never_evaluates_text(tmp_path) -> None:
    from symconv.spectral import is_block_circulant
    marker = tmp_path / "evaluated"
    T = np.array(symconv.toeplitz(CIRCULAR, symconv.symbols(CIRCULAR)[1]).tolist(), dtype=object)
    assert is_block_circulant(CIRCULAR, T)
    T[1, 1] = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    with pytest.raises(TypeError, match=r"^T\[1, 1\]=.*text is not evaluated"):
        is_block_circulant(CIRCULAR, T)
    assert not marker.exists()


@pytest.mark.parametrize("call, message", [
    (lambda spec, x, w, T, P, K: symconv.toeplitz_conv(spec, x, w, toeplitz=_entry(T, "w")),
     "toeplitz[0, 0]='w': text is not evaluated"),
    (lambda spec, x, w, T, P, K: symconv.toeplitz_conv(spec, x, w, toeplitz=_with_entry(T, sp.Interval(0, 1))),
     "toeplitz[0, 1]=Interval(0, 1): Interval is not a number"),
    (lambda spec, x, w, T, P, K: symconv.im2col_conv(spec, x, w, im2col=_entry(P, None)),
     "im2col[0, 0]=None: each entry must be a finite number"),
    (lambda spec, x, w, T, P, K: symconv.im2col_conv(spec, x, w, kernel_matrix=_entry(K, float("nan"))),
     "kernel_matrix[0, 0]=nan: not a finite number"),
    (lambda spec, x, w, T, P, K: symconv.input_gradient(spec, upstream_symbols(spec), w,
                                                          toeplitz_transpose=_entry(T.T, sp.true)),
     "toeplitz_transpose[0, 0]=True: BooleanTrue is not a number"),
])
def test_matrices_for_evaluating_a_form_are_checked_by_name(call, message: str) -> None:
    x, w, _ = symconv.symbols(SPEC)
    forms = own_forms(SPEC)
    with pytest.raises((SpecError, TypeError)) as caught:
        call(SPEC, x, w, forms["toeplitz"], forms["im2col"], forms["kernel_matrix"])
    assert str(caught.value).startswith(message), str(caught.value)


def test_other_symbols_that_cancel_on_expansion_are_the_same_polynomial() -> None:
    """(x + 1)² − x² − 2x − 1 + w is w: proved; with + x left over it depends on x: refuted."""
    x, w, _ = symconv.symbols(SPEC)
    T = own_forms(SPEC)["toeplitz"].copy()
    written = (x[0, 0, 0] + 1) ** 2 - x[0, 0, 0] ** 2 - 2 * x[0, 0, 0] - 1 + T[0, 0]
    assert written.free_symbols != T[0, 0].free_symbols
    T[0, 0] = written
    assert proved(SPEC, toeplitz=T)
    T[0, 0] = written + x[0, 0, 1]
    found = refuted(SPEC, toeplitz=T)
    assert (found.form, found.index) == ("toeplitz_matrix", (0, 0))
    assert found.reason.startswith("depends on the input x_{0,0,1}: ")
    assert found.missing == () and found.extra == (x[0, 0, 1],)


def test_matrices_given_as_arrays_or_lists_are_checked_alike() -> None:
    forms = own_forms(SPEC)
    as_arrays = {name: np.array(m.tolist(), dtype=object) for name, m in forms.items() if name != "output"}
    assert proved(SPEC, **as_arrays)
    assert proved(SPEC, **{name: a.tolist() for name, a in as_arrays.items()})
    swap = [1, 0] + list(range(2, 8))                  # groups = 1: K's columns are P's rows
    P, K = as_arrays["im2col"][swap], as_arrays["kernel_matrix"][:, swap]
    found = refuted(SPEC, im2col=P, kernel_matrix=K)
    assert (found.form, found.index) == ("im2col_matrix", (0, 0))


@pytest.mark.parametrize("value", [sp.Float("1.99999999999999999999", 30),
                                   sp.Float("0.99999999999999999999", 30), sp.Float("1e-400", 30)])
def test_a_high_precision_float_is_read_exactly_not_rounded(value):
    """A 30-digit Float next to an integer is not that integer (float() would round it to one):
    a T scaled by it is refused, never PROVED."""
    spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    _, w, _ = symconv.symbols(spec)
    with pytest.raises(SpecError, match="a float is accepted only with an integer value"):
        symconv.prove(spec, toeplitz=symconv.toeplitz(spec, w).applyfunc(lambda e: e * value))


# ---- adversarial review, issue 11 ------------------------------------------------------------
SMALL = ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)


@pytest.mark.parametrize("huge", [10**400, sp.Integer(10**400), Fraction(10**400, 3)],
                         ids=["int", "Integer", "Fraction"])
def test_huge_exact_numbers_are_finite_and_refute(huge):
    x, w, _ = symconv.symbols(SMALL)
    output = symconv.conv(SMALL, x, w)
    output[0] = huge
    found = symconv.prove(SMALL, output=output).counterexample
    assert found.form == "output" and found.index == (0, 0) and found.obtained == sp.sympify(huge, strict=True)
    T = np.array(symconv.toeplitz(SMALL, w).tolist(), dtype=object)
    T[0, 2] = huge
    assert not symconv.prove(SMALL, toeplitz=T).holds
    assert symconv.prove(SMALL).holds


def test_a_masked_array_is_refused_not_unmasked():
    _, w, _ = symconv.symbols(SMALL)
    T = np.ma.masked_array(np.array(symconv.toeplitz(SMALL, w).tolist(), dtype=object), mask=False)
    with pytest.raises(SpecError, match=r"^toeplitz='a masked array': masked entries have no value; pass a plain "
                                        r"array \(e.g. numpy.ma.filled\(a, 0\)\)$"):
        symconv.prove(SMALL, toeplitz=T)


def test_an_entry_too_large_to_expand_is_a_spec_error_not_a_hang():
    spec = ConvSpec(2, 1, kernel_size=3, input_size=5, bias=False)
    x, w, _ = symconv.symbols(spec)
    output = symconv.conv(spec, x, w)
    output[0, 0] = 1 / (sum(w.flat) + sum(x.flat[:4])) ** 64
    with pytest.raises(SpecError, match=r"^output\[0, 0\]=.*: would expand to about 97082021465 terms; "
                                        r"at most 100000 are allowed$"):
        symconv.prove(spec, output=output)


def test_a_non_polynomial_output_counterexample_expects_the_definition():
    x, w, _ = symconv.symbols(SMALL)
    output = symconv.conv(SMALL, x, w)
    output[0, 1] = w[0, 0, 0] / x[0, 0]
    found = symconv.prove(SMALL, output=output).counterexample
    assert found.index == (0, 1) and found.expected == w[0, 0, 0] * x[0, 1] + w[0, 0, 1] * x[0, 2]
    assert found.reason.startswith("= w_{0,0,0}/x_{0,0} is not a polynomial in x, w and b (it divides by x_{0,0})")


def test_memory_is_checked_before_the_symbols_are_built(monkeypatch):
    import symconv.proof as proof_module
    monkeypatch.setattr(proof_module, "symbols", lambda *a, **k: pytest.fail("symbols built first"))
    with pytest.raises(SpecError, match=r"more than the 976.6 KiB available \(memory_limit\)$"):
        symconv.prove(ConvSpec(1, 1, 1, (1000, 1000)), memory_limit=10**6)


def test_memory_limit_accepts_numpy_integers_and_refuses_bools():
    assert symconv.prove(SMALL, memory_limit=np.int64(10**9)).holds
    with pytest.raises(SpecError, match=r"^memory_limit=True: must be None or a number of bytes ≥ 1$"):
        symconv.prove(SMALL, memory_limit=True)


def test_the_memory_estimate_counts_the_symbols():
    from symconv.backends import BYTES_PER_SYMBOL, estimate_bytes
    from symconv.backends import exact as exact_backend
    spec = ConvSpec(2, 3, kernel_size=3, input_size=(5, 5))
    assert estimate_bytes(spec, "exact") == exact_backend.estimate_bytes(spec) + BYTES_PER_SYMBOL * (50 + 3 + 54)


def test_a_truthy_progress_flag_is_refused():
    with pytest.raises(SpecError, match=r"^progress='no': must be True or False$"):
        symconv.prove(SMALL, progress="no")


def test_the_reason_is_typeset_with_its_symbols_as_math(tex, tmp_path):
    """A T that divides by an input: the document names the input symbols in math and compiles."""
    from symconv.latex.build import compile_latex
    spec = ConvSpec(1, 2, 3, (4, 4), padding=1)
    x, w, _ = symconv.symbols(spec)
    T = symconv.toeplitz(spec, w).as_mutable()
    T[3, 0] = T[3, 0] + x[0, 0, 0] * w[0, 0, 1, 1] / x[0, 0, 1]
    document = symconv.prove(spec, toeplitz=T).to_latex()
    assert "The obtained entry depends on the inputs $x_{0,0,0}$, $x_{0,0,1}$: an FC" in document
    assert compile_latex(document, tmp_path / "reason.pdf").exists()


EXPANDING = ConvSpec(2, 1, kernel_size=3, input_size=5)


def test_a_polynomial_entry_too_large_to_expand_is_refused_before_any_expansion():
    x, w, b = symconv.symbols(EXPANDING)
    T = sp.Matrix(symconv.toeplitz(EXPANDING, w))
    T[0, 0] += sp.Add(*w.flat) ** 20  # a polynomial in the weights: no form violation to stop it
    with pytest.raises(SpecError, match=r"^toeplitz\[0, 0\]='w_\{0,0,0\} \+ .*: would expand to about 53131 "
                                        r"terms; at most 5000 are allowed where products or powers of sums"):
        symconv.prove(EXPANDING, toeplitz=T)
    y = symconv.conv(EXPANDING, x, w, b)
    y[0, 0] += sp.Add(*x.flat, *w.flat, *b.flat) ** 25
    with pytest.raises(SpecError, match=r"^output\[0, 0\]=.*: would expand to about 103077446713 terms; "
                                        r"at most 100000 are allowed$"):
        symconv.prove(EXPANDING, output=y)


def test_many_entries_within_their_budget_are_refused_together():
    x, w, b = symconv.symbols(EXPANDING)
    T = sp.Matrix(symconv.toeplitz(EXPANDING, w))
    s = sp.Add(*w.flat)
    zero = sp.Add(s ** 5, *(-s ** 4 * v for v in w.flat), evaluate=False)  # 1008 terms, within 5000
    for r, c in np.ndindex(T.shape):
        T[r, c] += zero
    with pytest.raises(SpecError, match=r"^toeplitz='20 entries with products or powers of sums, "
                                        r"up to toeplitz\[1, 9\]': "
                                        r"would expand to about 20172 terms \(1008 each\); at most 20000 are allowed "
                                        r"over a matrix$"):
        symconv.prove(EXPANDING, toeplitz=T)


def test_transpose_matrix_too_large_to_expand_is_refused():
    x, w, b = symconv.symbols(EXPANDING)
    Tt = sp.Matrix(symconv.toeplitz(EXPANDING, w)).T
    Tt[0, 0] += sp.Add(*w.flat) ** 20
    with pytest.raises(SpecError, match=r"would expand to about 53131 terms; at most 5000 are allowed"):
        prove_transpose(EXPANDING, toeplitz_transpose=Tt)


def _tampered(field: str, value: object) -> ConvSpec:
    spec = ConvSpec(1, 1, kernel_size=2, input_size=3)
    assert spec.output_size == (2,)  # caches the index pattern
    object.__setattr__(spec, field, value)  # a frozen dataclass can still be changed
    return spec


@pytest.mark.parametrize("prover", [symconv.prove, prove_transpose])
@pytest.mark.parametrize("field, value, message", [
    ("kernel_size", (5,), "kernel_size=(5,): the dilated kernel must fit in the padded input"),
    ("stride", (0,), "stride=(0,): every entry must be an integer ≥ 1"),
    ("in_channels", 0, "in_channels=0: must be an integer ≥ 1"),
    ("kernel_size", 2, "spec='kernel_size=2': was changed after construction; build a new ConvSpec"),
    ("kernel_size", (1,), "spec='1-D, C_in=1, C_out=1, input=3, kernel=1, bias': was changed after construction: "
                          "the index pattern it holds was computed from other fields; build a new ConvSpec"),
])
def test_a_spec_changed_after_construction_is_refused(prover, field, value, message):
    with pytest.raises(SpecError, match="^" + re.escape(message)):
        prover(_tampered(field, value))


MASKED_RULE = "masked entries have no value; pass a plain array (e.g. numpy.ma.filled(a, 0))"


def test_masked_rows_or_entries_are_refused_at_any_depth():
    x, w, _ = symconv.symbols(SMALL)
    T = symconv.toeplitz(SMALL, w)
    rows = [np.ma.masked_array(np.array(list(T.row(r)), dtype=object), mask=[1, 1, 1]) for r in range(2)]
    with pytest.raises(SpecError, match=re.escape(f"toeplitz='a masked array': {MASKED_RULE}")):
        symconv.prove(SMALL, toeplitz=rows)
    listed = [[w[0, 0, 0], w[0, 0, 1], np.ma.masked], [0, w[0, 0, 0], w[0, 0, 1]]]
    array = np.empty((2, 3), dtype=object)
    array[:] = T.tolist()
    array[0, 2] = np.ma.masked
    for value in (listed, array):
        with pytest.raises(SpecError, match=re.escape(f"toeplitz='numpy.ma.masked': {MASKED_RULE}")):
            symconv.prove(SMALL, toeplitz=value)
    array[0, 2] = 0
    assert symconv.prove(SMALL, toeplitz=array).holds


@pytest.mark.parametrize("keyword, allowed", [("backend", "('auto', 'sympy', 'exact')"),
                                              ("order", "('unfold', 'paper')")])
def test_a_choice_must_be_a_string_not_an_array(keyword, allowed):
    value = np.array(["exact", "sympy"] if keyword == "backend" else ["unfold", "paper"])
    with pytest.raises(SpecError, match="^" + re.escape(f"{keyword}={value!r}: must be one of {allowed}") + "$"):
        symconv.prove(SMALL, **{keyword: value})
    assert symconv.prove(SMALL, **{keyword: np.str_(value[0])}).holds


def test_a_gradient_with_a_foreign_symbol_shows_the_true_gradient_as_expected():
    from symconv.forms.transpose import input_gradient
    x, w, _ = symconv.symbols(SMALL)
    g = upstream_symbols(SMALL, None)
    claimed = weight_gradient(SMALL, x, g).copy()
    claimed[0, 0, 0] += w[0, 0, 0]
    found = prove_transpose(SMALL, weight_grad=claimed).counterexample
    assert found.reason == ("depends on the weight w_{0,0,0}: ∂L/∂w must be a polynomial in x and g only")
    assert found.expected == g[0, 0] * x[0, 0] + g[0, 1] * x[0, 1]
    claimed = input_gradient(SMALL, g, w).copy()
    claimed[0, 0] += x[0, 1]
    found = prove_transpose(SMALL, input_grad=claimed).counterexample
    assert found.reason == "depends on the input x_{0,1}: ∂L/∂x must be a polynomial in w and g only"
    assert found.expected == g[0, 0] * w[0, 0, 0]
