"""Adversary A's findings on results and their documents (1, 2, 3, 5, 7, 8), each with its
reproducer as a negative control: a result keeps and shows only what it checked, and says what
it proved."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symconv
from symconv import ConvSpec, SpecError, prove, symbols
from symconv.converse import prove_conv1x1_as_fc, prove_fc_as_conv
from symconv.forms import im2col, kernel_matrix, toeplitz
from symconv.forms.transpose import input_gradient, prove_transpose, upstream_symbols
from symconv.spectral import prove_block_diagonalisation

LINE = ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
CIRCULAR = ConvSpec(1, 1, kernel_size=3, input_size=4, padding=1, padding_mode="circular", bias=False)
POINTWISE = ConvSpec(2, 2, kernel_size=1, input_size=2, bias=False)


def _weights(spec: ConvSpec) -> np.ndarray:
    return symbols(spec)[1]


# ---- finding 1: ``given`` is the immutable copy that was checked ----------------------------------------
def _supplied_cases():
    w = _weights(LINE)
    T = sp.Matrix(toeplitz(LINE, w))
    yield "prove", lambda m: prove(LINE, toeplitz=m), "toeplitz", T
    yield "prove-numpy", lambda m: prove(LINE, toeplitz=m), "toeplitz", np.asarray(T.tolist(), dtype=object)
    yield ("prove_transpose", lambda m: prove_transpose(LINE, toeplitz_transpose=m), "toeplitz_transpose",
           sp.Matrix(T.T))
    wc = _weights(CIRCULAR)
    yield ("prove_block_diagonalisation", lambda m: prove_block_diagonalisation(CIRCULAR, toeplitz=m), "toeplitz",
           sp.Matrix(toeplitz(CIRCULAR, wc)))
    W = sp.Matrix(symconv.converse.fc_matrix(symconv.converse._fc_spec(2, (1, 2), False, "NCHW"),
                                             _weights(symconv.converse._fc_spec(2, (1, 2), False, "NCHW"))))
    yield "prove_fc_as_conv", lambda m: prove_fc_as_conv(2, (1, 2), bias=False, matrix=m), "matrix", W
    yield ("prove_conv1x1_as_fc", lambda m: prove_conv1x1_as_fc(POINTWISE, matrix=m), "matrix",
           sp.Matrix(symconv.converse.conv1x1_as_fc(POINTWISE, _weights(POINTWISE))))


@pytest.mark.parametrize("name, run, key, matrix", list(_supplied_cases()), ids=lambda v: v if isinstance(v, str)
                         else "")
def test_given_is_an_immutable_copy_of_what_was_checked(name, run, key, matrix):
    proof = run(matrix)
    assert proof.holds
    kept, document = proof.given[key], proof.to_latex()
    before = np.asarray(kept.tolist(), dtype=object).copy()
    matrix[0, 0] = 0                                  # the user keeps editing their matrix
    matrix[1, 1] = 7
    assert kept is not matrix and np.array_equal(np.asarray(proof.given[key].tolist(), dtype=object), before)
    assert proof.to_latex() == document               # the document still shows what was checked
    with pytest.raises((TypeError, ValueError)):      # and nobody can edit it afterwards
        kept[0, 0] = 5
    assert np.array_equal(np.asarray(proof.given[key].tolist(), dtype=object), before)


def test_exact_matrix_never_hands_back_the_callers_matrix():
    from symconv.forms.entries import exact_matrix
    mine = sp.Matrix([[1, sp.Symbol("w")]])
    assert exact_matrix("T", mine) is not mine and isinstance(exact_matrix("T", mine), sp.ImmutableDenseMatrix)
    assert isinstance(exact_matrix("T", sp.SparseMatrix([[1, 0]])), sp.ImmutableSparseMatrix)
    frozen = sp.ImmutableMatrix([[1, 2]])
    kept = exact_matrix("T", frozen)                  # even an immutable matrix is copied: a subclass
    assert kept is not frozen and kept == frozen      # could not be told apart by isinstance
    assert not exact_matrix("T", np.array([[1, 2]], dtype=object)).flags.writeable


# ---- finding 2: a document shows only the matrices the proof checked -----------------------------------
def test_to_latex_refuses_a_matrix_the_proof_did_not_check():
    x, w, _ = symbols(LINE)
    Tw = sp.Matrix(toeplitz(LINE, w))
    Tw[0, 0] = 42
    with pytest.raises(SpecError, match=re.escape(
            "toeplitz='a matrix with [0, 0] = 42': is not the matrix this proof checked (its [0, 0] is w_{0,0,0}); "
            "a proof document shows only the matrices it checked: omit toeplitz=")):
        prove(LINE).to_latex(toeplitz=Tw)
    with pytest.raises(SpecError, match=r"^im2col='a matrix with \[0, 0\] = 0': is not the matrix this proof checked"):
        prove(LINE).to_latex(im2col=sp.zeros(2, 2))
    with pytest.raises(SpecError, match=r"^kernel_matrix='a matrix with \[0, 1\] = 5': is not the matrix"):
        prove(LINE).to_latex(kernel_matrix=[[w[0, 0, 0], 5]])
    with pytest.raises(TypeError, match="text is not evaluated"):
        prove(LINE).to_latex(kernel_matrix=[["w_{0,0,0}", "w_{0,0,1}"]])
    with pytest.raises(SpecError, match=r"^toeplitz.shape=\(1, 3\): must be \(2, 3\)"):
        prove(LINE).to_latex(toeplitz=[[1, 2, 3]])
    only_t = prove(LINE, toeplitz=toeplitz(LINE, w))
    with pytest.raises(SpecError, match=re.escape("im2col='a matrix': this proof did not check the im2col form (it "
                                                  "checked toeplitz), so it shows no such matrix")):
        only_t.to_latex(im2col=im2col(LINE, x))


@pytest.mark.parametrize("old, new, bad", [("toeplitz_matrix", "toeplitz", lambda: sp.zeros(2, 3)),
                                           ("patches", "im2col", lambda: sp.zeros(2, 2)),
                                           ("kernel", "kernel_matrix", lambda: sp.zeros(1, 2))])
def test_old_display_options_are_deprecated_aliases_with_the_same_check(old, new, bad):
    x, w, _ = symbols(LINE)
    own = {"toeplitz": toeplitz(LINE, w), "im2col": im2col(LINE, x), "kernel_matrix": kernel_matrix(LINE, w)}[new]
    proof = prove(LINE)
    with pytest.warns(DeprecationWarning, match=f"^{old}= is deprecated: pass {new}= "):
        assert proof.to_latex(**{old: own}) == proof.to_latex()
    with pytest.warns(DeprecationWarning), pytest.raises(SpecError, match=f"^{old}='a matrix with .*: is not the "
                                                                          "matrix this proof checked"):
        proof.to_latex(**{old: bad()})
    with pytest.raises(SpecError, match=f"^{old}='given with {new}': is the former name"):
        proof.to_latex(**{old: own, new: own})


def test_an_equal_matrix_written_differently_shows_the_checked_one():
    _, w, _ = symbols(LINE)
    a, b = w[0, 0, 0], w[0, 0, 1]
    written = [[(a + 1) ** 2 - a ** 2 - 2 * a - 1 + a, b, 0.0], [0, a, b]]   # equal after expansion
    proof = prove(LINE)   # one proof: two would differ in the timings their documents state
    assert proof.to_latex(toeplitz=written) == proof.to_latex()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 5), k=st.integers(1, 2), stride=st.integers(1, 2), row=st.integers(0, 10),
       col=st.integers(0, 10), change=st.sampled_from([0, 1, "w", "same"]), supplied=st.booleans())
def test_a_proved_document_shows_only_matrices_equal_to_the_checked_ones(n, k, stride, row, col, change, supplied):
    """Property: to_latex(toeplitz=M) of a PROVED result is either refused or the very document
    to_latex() gives, which shows the matrix checked (the supplied copy or symconv's own)."""
    spec = ConvSpec(1, 1, kernel_size=k, input_size=n, stride=stride, bias=False)
    w = _weights(spec)
    own = sp.Matrix(toeplitz(spec, w))
    proof = prove(spec, toeplitz=own) if supplied else prove(spec)
    assert proof.holds
    shown = own.as_mutable()
    r, c = row % shown.rows, col % shown.cols
    shown[r, c] = {0: 0, 1: 1, "w": w.flat[0] * 2, "same": shown[r, c]}[change]
    if sp.expand(shown[r, c] - own[r, c]) != 0:
        with pytest.raises(SpecError, match=r"^toeplitz='a matrix with .*: is not the matrix this proof checked"):
            proof.to_latex(toeplitz=shown)
    else:
        assert proof.to_latex(toeplitz=shown) == proof.to_latex()
    def shown(document: str) -> str:
        return re.search(r"\\displaystyle T = (.*?)\$\}", document).group(1)
    assert shown(proof.to_latex()) == shown(prove(spec).to_latex())     # the T checked, whoever supplied it


# ---- finding 3: prove_transpose names the map it proved ----------------------------------------------
def test_non_zero_padding_is_not_called_conv_transpose():
    spec = ConvSpec(1, 1, kernel_size=3, input_size=4, padding=1, padding_mode="reflect", bias=False)
    proof = prove_transpose(spec)
    assert proof.holds and proof.statement == (
        "Tᵀ·vec(g) = scatter_reflect(g, w) (the adjoint scatter through the reflect padding map; PyTorch's "
        "conv_transpose pads with zeros, a different map); g·Pᵀ = ∂⟨g, y⟩/∂w; Tᵀ·vec(g) = ∂⟨g, y⟩/∂x")
    assert "= conv_transpose" not in repr(proof) and "= conv_transpose" not in proof.summary()
    # the reproducer: Tᵀ·g is not what PyTorch's conv_transpose computes for this layer
    g, wt = np.array([[1, 2, 3, 4]], dtype=object), np.array([[[1, 10, 100]]], dtype=object)
    assert input_gradient(spec, g, wt).tolist() == [[12, 124, 634, 340]]
    torch_t = F.conv_transpose1d(torch.tensor([[[1., 2, 3, 4]]]), torch.tensor([[[1., 10, 100]]]), padding=1)
    assert torch_t.tolist() == [[[12.0, 123.0, 234.0, 340.0]]]
    source = proof.to_latex()
    assert r"\mathrm{scatter}_{\mathrm{reflect}}(g, w)" in source and r"\mathrm{conv\_transpose}" not in source
    assert "not PyTorch's transposed convolution, which pads with zeros" in source
    assert r"\section*{A 1-D adjoint through reflect padding and the gradients of a convolution}" in source


@pytest.mark.parametrize("spec, output_padding", [
    (ConvSpec(1, 1, kernel_size=2, input_size=5, stride=2), 1),
    (ConvSpec(1, 1, kernel_size=2, input_size=4, stride=2), 0),
    (ConvSpec(2, 2, kernel_size=(3, 2), input_size=(6, 5), stride=(3, 2), padding=1, groups=2), (2, 1)),
    (ConvSpec(1, 2, kernel_size=2, input_size=(5, 4), stride=(2, 3), dilation=(1, 2)), (1, 1)),
])
def test_zero_padding_names_the_output_padding_torch_needs(spec, output_padding):
    proof = prove_transpose(spec, max_terms=10**5)
    assert proof.holds
    named = "" if output_padding in (0, (0, 0)) else f", output_padding={output_padding}"
    expected = f"conv_transpose(g, w{named})"
    assert proof.statement.startswith(f"Tᵀ·vec(g) = {expected}; ") and expected in repr(proof)
    # torch's conv_transpose with that output_padding is Tᵀ·vec(g) exactly (integers in float32)
    rng = np.random.default_rng(0)
    g = rng.integers(-5, 6, (spec.out_channels, *spec.output_size))
    w = rng.integers(-5, 6, spec.weight_shape)
    ours = input_gradient(spec, g.astype(object), w.astype(object))
    conv_t = {1: F.conv_transpose1d, 2: F.conv_transpose2d}[spec.dims]
    theirs = conv_t(torch.tensor(g[None], dtype=torch.float32), torch.tensor(w, dtype=torch.float32),
                    stride=spec.stride, padding=tuple(p for p, _ in spec.padding), output_padding=output_padding,
                    groups=spec.groups, dilation=spec.dilation)[0]
    assert np.array_equal(theirs.numpy().astype(np.int64), ours.astype(np.int64))
    if named:
        assert r"\mathrm{output\_padding} = " in proof.to_latex()


def test_a_batched_statement_names_the_output_padding_too():
    proof = prove_transpose(ConvSpec(1, 1, kernel_size=2, input_size=5, stride=2), batch=2)
    assert "Tᵀ·vec(g_n) = conv_transpose(g_n, w, output_padding=1); " in proof.statement


# ---- finding 5: every to_latex option is checked, for every kind of result ------------------------------
def _results():
    return [prove(LINE), prove_transpose(LINE), prove_block_diagonalisation(CIRCULAR),
            prove_conv1x1_as_fc(POINTWISE)]


@pytest.mark.parametrize("option, value, message", [
    ("max_terms", "3", "max_terms='3': must be an integer ≥ 1, or None for every term"),
    ("max_terms", 2.5, "max_terms=2.5: must be an integer ≥ 1, or None for every term"),
    ("max_terms", -1, "max_terms=-1: must be an integer ≥ 1, or None for every term"),
    ("max_terms", 0, "max_terms=0: must be an integer ≥ 1, or None for every term"),
    ("max_terms", True, "max_terms=True: must be an integer ≥ 1, or None for every term"),
    ("standalone", "no", "standalone='no': must be True or False"),
    ("standalone", None, "standalone=None: must be True or False"),
    ("standalone", 0, "standalone=0: must be True or False"),
    ("title", 5, "title=5: must be text (a str) or None"),
    ("max_size", 2.0, "max_size=2.0: must be an integer ≥ 2"),
])
def test_bad_to_latex_options_get_one_message_for_every_result(option, value, message):
    for result in _results():
        with pytest.raises(SpecError) as caught:
            result.to_latex(**{option: value})
        assert str(caught.value) == message


def test_good_to_latex_options_are_accepted():
    for result in _results():
        assert r"\documentclass" not in result.to_latex(max_terms=None, standalone=np.bool_(False))
        assert r"\section*{T}" in result.to_latex(title="T", standalone=np.bool_(True))
        assert result.to_latex(max_terms=np.int64(1)) == result.to_latex(max_terms=1)


# ---- finding 7: a refuted document words the supplied matrix as the claim found false -------------------
def test_refuted_prove_does_not_state_the_supplied_T_as_the_layers():
    _, w, _ = symbols(LINE)
    bad = sp.Matrix(toeplitz(LINE, w))
    bad[0, 0] = 5
    source = prove(LINE, toeplitz=bad).to_latex()
    assert "Then\n\\begin{equation}\n\\mathrm{vec}(y) = T\\," not in source
    assert r"\mathrm{vec}(y) = T^{\mathrm{supplied}}\, \mathrm{vec}(x)" in source
    assert (r"The proof checked the claim that $T^{\mathrm{supplied}}$, supplied to it, is the layer's; the claim "
            "is false (see the counterexample).") in source
    assert r"\displaystyle T = " not in source and r"\displaystyle T^{\mathrm{supplied}} = " in source
    assert "Then" in prove(LINE, toeplitz=toeplitz(LINE, w)).to_latex()        # a proved claim reads as before


def test_refuted_prove_with_supplied_factors_marks_them():
    x, w, _ = symbols(LINE)
    bad = sp.Matrix(im2col(LINE, x))
    bad[0, 0] = 0
    source = prove(LINE, im2col=bad).to_latex()
    assert r"The proof checked the claim that $P^{\mathrm{supplied}}$, supplied to it, is the layer's" in source
    assert r"\displaystyle P = " not in source and r"\displaystyle K = " in source


def test_refuted_dft_document_claims_nothing_about_the_supplied_T():
    w = _weights(CIRCULAR)
    bad = sp.Matrix(toeplitz(CIRCULAR, w))
    bad[0, 0] = 0
    proof = prove_block_diagonalisation(CIRCULAR, toeplitz=bad)
    source = proof.to_latex()
    assert not proof.holds
    assert "singular values" not in source and "the first block row of $T$" not in source
    assert "the first block row of the layer's own $T$ (of $w$)" in source
    assert r"$T^{\mathrm{supplied}}$, supplied to it, is this $T$" in source and "the claim is false" in source
    assert "The singular values of $T$ are therefore" in prove_block_diagonalisation(CIRCULAR).to_latex()


def test_refuted_transpose_document_marks_the_supplied_transpose():
    wrong = sp.Matrix(toeplitz(LINE, _weights(LINE))).T
    wrong[0, 0] = 1
    source = prove_transpose(LINE, toeplitz_transpose=wrong).to_latex()
    assert r"$(T^{\top})^{\mathrm{supplied}}$, supplied to it, is $T^{\top}$; the claim is false" in source


# ---- finding 8: errors name what the user passed ---------------------------------------------------------
def test_dft_proof_does_not_suggest_a_parameter_it_lacks():
    with pytest.raises(SpecError) as caught:
        prove_block_diagonalisation(ConvSpec(1, 1, kernel_size=3, input_size=5, padding=1, padding_mode="circular"))
    assert str(caught.value) == (
        "input_size=(5,): exact roots of unity are used only for sizes dividing 24, (1, 2, 3, 4, 6, 8, 12, 24) "
        "(their roots lie in Q(i, √2, √3), where expanded forms are canonical); a proof needs them "
        "(dft_block_diagonalisation(exact_roots=False) and singular_values compute in floating point, without proof)")
    with pytest.raises(SpecError, match=r"; pass exact_roots=False for floats$"):
        symconv.spectral.dft_block_diagonalisation(ConvSpec(1, 1, 3, 5, padding=1, padding_mode="circular"),
                                                   np.ones((1, 1, 3), dtype=object), exact_roots=True)


def test_prove_transpose_names_the_keyword_passed():
    with pytest.warns(DeprecationWarning), pytest.raises(SpecError, match=r"^matrix.shape=\(1, 2\): must be "
                                                                          r"\(3, 2\)"):
        prove_transpose(LINE, matrix=[[1, 2]])
    with pytest.warns(DeprecationWarning), pytest.raises(SpecError, match=r"^toeplitz_matrix.shape=\(1, 1\)"):
        prove_block_diagonalisation(CIRCULAR, toeplitz_matrix=[[1]])
    with pytest.raises(SpecError, match=r"^toeplitz_transpose.shape=\(1, 2\)"):
        prove_transpose(LINE, toeplitz_transpose=[[1, 2]])
    T = toeplitz(LINE, _weights(LINE)).T
    ig = input_gradient(LINE, upstream_symbols(LINE), _weights(LINE))
    with pytest.warns(DeprecationWarning), pytest.raises(SpecError) as caught:
        prove_transpose(LINE, input_grad=ig, matrix=T)
    assert str(caught.value) == ("input_grad='a claimed ∂L/∂x': cannot be checked together with matrix= (a claimed "
                                 "Tᵀ): both claim Tᵀ·vec(g) and the proof checks one of them; pass one")
    with pytest.raises(SpecError, match=r"^input_grad='a claimed ∂L/∂x': cannot be checked together with "
                                        r"toeplitz_transpose= "):
        prove_transpose(LINE, input_grad=ig, toeplitz_transpose=T)
