"""LaTeX export: expressions, matrices, proof documents (compiled with pdflatex and xelatex)."""

from __future__ import annotations

import re
from itertools import product

import numpy as np
import pytest
import sympy as sp

import symconv
from symconv.forms.toeplitz import toeplitz_entries
from symconv.latex import fragment, latex_expr, latex_matrix, proof_to_latex, standalone
from symconv.latex.build import compile_latex
from symconv.latex.expr import latex_terms
from symconv.latex.structure import toeplitz_blocks

S = sp.Symbol


# ---- expressions ---------------------------------------------------------------------------
def test_terms_are_ordered_numerically_not_as_strings():
    w2, w10, x = S("w_{0,0,2}"), S("w_{0,0,10}"), S("x_{0,1}")
    assert latex_expr(w10 * x + w2 * x) == "w_{0,0,2} x_{0,1} + w_{0,0,10} x_{0,1}"


def test_coefficients_signs_powers_and_zero():
    a, b = S("w_{0,0}"), S("x_{1}")
    assert latex_expr(sp.Rational(1, 2) * a * b**2 - 3 - b) == r"- 3 + \frac{1}{2} w_{0,0} x_{1}^{2} - x_{1}"
    assert latex_expr(-a) == "- w_{0,0}"
    assert latex_expr(0) == "0"
    assert latex_expr(S("b_{0}") + a * b) == "b_{0} + w_{0,0} x_{1}"


def test_factors_as_a_person_writes_them():
    """Coefficient, parameters (b, w, w^{(ℓ)}), data (x, g), then σ(…) — indices numeric throughout,
    also inside σ and in layer-numbered names (w^{(4)}_{0,10} after w^{(4)}_{0,2})."""
    sigma = sp.Function("sigma_2")
    w4 = [S(f"w^{{(4)}}_{{0,{i}}}") for i in (2, 10)]
    x = [S(f"x_{{0,{i}}}") for i in (2, 10)]
    inner = S("b^{(1)}_{0}") + S("w^{(1)}_{0,0,10}") * x[1] + S("w^{(1)}_{0,0,2}") * x[0]
    assert latex_expr(w4[1] * sigma(inner) + 3 * w4[0] * sigma(x[0])) == (
        r"3 w^{(4)}_{0,2} \sigma_{2}\left(x_{0,2}\right) + w^{(4)}_{0,10} \sigma_{2}\left(b^{(1)}_{0} + "
        r"w^{(1)}_{0,0,2} x_{0,2} + w^{(1)}_{0,0,10} x_{0,10}\right)")
    g, w = S("g_{0,1}"), S("w_{0,0,1}")
    assert latex_expr(g * w + g * x[0]) == "w_{0,0,1} g_{0,1} + g_{0,1} x_{0,2}"   # the weight before the data
    assert latex_expr(-sigma(x[0]) ** 2 * w) == r"- w_{0,0,1} \sigma_{2}\left(x_{0,2}\right)^{2}"


def test_max_terms_elides_the_middle_and_counts_it():
    terms = latex_terms(sum(S(f"x_{{{i}}}") for i in range(20)), max_terms=5)
    assert terms[:4] == ["x_{0}", "+ x_{1}", "+ x_{2}", "+ x_{3}"]
    assert terms[4] == r"+ \underbrace{\cdots}_{15\text{ terms}}" and terms[5] == "+ x_{19}"


# ---- matrices ------------------------------------------------------------------------------
def test_small_matrix_is_a_bmatrix_with_dots_for_zeros():
    assert latex_matrix([[1, 0], [0, S("w_{0}")]]) == r"\begin{bmatrix} 1 & \cdot \\ \cdot & w_{0} \end{bmatrix}"


def test_wide_matrix_is_an_array_so_it_compiles_without_maxmatrixcols():
    text = latex_matrix(np.ones((1, 12), dtype=int))
    assert text.startswith(r"\left[\begin{array}{@{}" + "c" * 12 + "@{}}")


def test_elision_keeps_head_and_tail_with_dots():
    M = np.arange(1, 401).reshape(20, 20)
    text = latex_matrix(M, max_rows=6, max_cols=4)
    rows = text.split(r" \\ ")
    assert len(rows) == 7 and r"\ddots" in rows[3] and rows[3].count(r"\vdots") == 4
    assert rows[0] == r"\begin{bmatrix} 1 & 2 & \cdots & 19 & 20"
    assert rows[-1] == r"381 & 382 & \cdots & 399 & 400 \end{bmatrix}"


def test_block_rules_of_a_doubly_block_toeplitz_matrix():
    spec = symconv.ConvSpec(2, 1, 2, (3, 3), bias=False)          # T is 4 × 18
    _, w, _ = symconv.symbols(spec)
    text = latex_matrix(symconv.toeplitz(spec, w), blocks=toeplitz_blocks(spec))
    column_spec = re.search(r"\{@\{\}([c|]+)@\{\}\}", text).group(1)
    assert column_spec == "ccc|ccc|ccc||ccc|ccc|ccc"                # 9 per channel, 3 per input row
    assert text.count(r"\hline") == 1                              # output rows 2 per block


def test_elision_keeps_whole_blocks_and_marks_boundaries_beside_the_dots():
    text = latex_matrix(np.ones((4, 50), dtype=int), max_cols=12, blocks=[(4, 25), (2, 5)])
    assert re.search(r"\{@\{\}([c|]+)@\{\}\}", text).group(1) == "ccccc|c|ccccc"


@pytest.mark.parametrize("bad", [{"max_rows": 1}, {"max_cols": "3"}, {"blocks": [(1, 2, 3)]}])
def test_bad_matrix_options_raise_spec_error(bad):
    with pytest.raises(symconv.SpecError):
        latex_matrix(np.ones((5, 5), dtype=int), **bad)


# ---- the documented structure is true ------------------------------------------------------
@pytest.mark.parametrize("spec", [symconv.ConvSpec(2, 3, 3, (5, 6), padding=1, dilation=(1, 2)),
                                  symconv.ConvSpec(1, 2, (2, 2, 2), (3, 4, 3))])
def test_channel_blocks_are_multilevel_toeplitz_as_the_document_says(spec):
    """Zero padding, stride 1: T[(o, i), (c, u)] depends on (o, c, u − i) only."""
    _, w, _ = symconv.symbols(spec)
    entries = toeplitz_entries(spec, w)
    seen: dict[tuple, object] = {}
    outs = list(product(*map(range, spec.output_size)))
    ins = list(product(*map(range, spec.input_size)))
    for (o, i), (c, u) in product(product(range(spec.out_channels), outs), product(range(spec.in_channels), ins)):
        row = o * len(outs) + outs.index(i)
        col = c * len(ins) + ins.index(u)
        key = (o, c, tuple(b - a for a, b in zip(i, u)))
        assert seen.setdefault(key, entries.get((row, col), 0)) == entries.get((row, col), 0)
    assert "doubly-block Toeplitz" in proof_to_latex(symconv.prove(spec)) or spec.dims == 3


# ---- proof documents -----------------------------------------------------------------------
SPECS = {
    "1d": symconv.ConvSpec(1, 2, 3, 7, stride=2, padding=1),
    "2d-groups-stride": symconv.ConvSpec(4, 2, 3, (5, 5), stride=2, padding=1, groups=2),
    "3d": symconv.ConvSpec(1, 1, 2, (3, 3, 3)),
    "16x16": symconv.ConvSpec(3, 4, 3, (16, 16), padding=1),
}


@pytest.fixture(scope="module")
def documents():
    return {name: proof_to_latex(symconv.prove(spec)) for name, spec in SPECS.items()}


def _labels(source: str) -> list[str]:
    return re.findall(r"\\label\{([^}]*)\}", source)


def test_documents_number_and_label_every_equation(documents):
    for source in documents.values():
        labels = _labels(source)
        assert len(labels) == len(set(labels)) == source.count(r"\begin{equation}")
        assert {"symconv:definition", "symconv:toeplitz", "symconv:patches", "symconv:kernel"} <= set(labels)
        assert set(re.findall(r"\\ref\{([^}]*)\}", source)) <= set(labels)
        assert source.isascii()   # pdflatex and xelatex read it alike


def test_entry_formulas_carry_the_layer_numbers(documents):
    source = documents["2d-groups-stride"]
    assert r"\tilde{x}_{2\,g(o) + c, 2i + p - 1, 2j + q - 1}" in source       # stride 2, padding 1, groups
    assert r"T_{9o + 3i + j,\; 25c + 5u + v}" in source
    assert r"g(o) = o" in source                                               # one output channel per group
    assert r"\begin{array}" in documents["16x16"] and r"\ddots" in documents["16x16"]


@pytest.mark.parametrize("name", list(SPECS))
def test_document_compiles_with_pdflatex(tex, documents, tmp_path, name):
    assert compile_latex(documents[name], tmp_path / f"{name}.pdf").stat().st_size > 1000


@pytest.mark.parametrize("name", list(SPECS))
def test_document_compiles_with_xelatex(xetex, documents, tmp_path, name):
    assert compile_latex(documents[name], tmp_path / f"{name}.pdf", engine="xelatex").stat().st_size > 1000


def test_fragment_compiles_inside_a_minimal_article(tex, tmp_path):
    spec = symconv.ConvSpec(2, 2, (2, 3), (4, 5), padding=1, padding_mode="reflect",
                            convention="convolution", layout="NHWC")
    piece = proof_to_latex(symconv.prove(spec), standalone=False, label_prefix="conv2")
    assert r"\documentclass" not in piece and piece.startswith("% symconv LaTeX fragment")
    assert "amsmath" in piece.splitlines()[0] and "conv2:definition" in piece
    paper = ("\\documentclass{article}\n\\usepackage{amsmath,graphicx}\n\\begin{document}\n"
             "As (\\ref{conv2:fc}) shows:\n" + piece + piece.replace("conv2:", "again:") + "\\end{document}\n")
    compile_latex(paper, tmp_path / "paper.pdf")


def _refuted_proof():
    spec = symconv.ConvSpec(1, 1, 3, (4, 4), padding=1, bias=False)
    _, w, _ = symconv.symbols(spec)
    T = symconv.toeplitz(spec, w).as_mutable()
    T[0, 1] = 0                                          # drop one tap: an off-by-one style fault
    return symconv.prove(spec, toeplitz=T), T


def test_refuted_proof_typesets_the_counterexample_and_compiles(tex, xetex, tmp_path):
    proof, T = _refuted_proof()
    assert not proof.holds
    source = proof_to_latex(proof)                       # the matrix checked is shown by default
    assert proof.given["toeplitz"] == T and source == proof_to_latex(proof, toeplitz=T)
    assert "(supplied to the proof, the matrix it checked)" in source and "Toeplitz matrix." not in source
    with pytest.raises(symconv.SpecError, match=r"^toeplitz='a matrix with \[0, 1\] = w_\{0,0,1,2\}': is not the "
                                                r"matrix this proof checked"):  # a document shows only what was checked
        proof_to_latex(proof, toeplitz=symconv.toeplitz(proof.spec, symconv.symbols(proof.spec)[1]))
    assert r"\label{symconv:counterexample}" in source and r"\textbf{false}" in source
    assert "w_{0,0,1,2} x_{0,0,1}" in source              # the missing term is named
    assert r"\text{expected} - \text{obtained}" in source
    compile_latex(source, tmp_path / "refuted.pdf")
    compile_latex(source, tmp_path / "refuted-xe.pdf", engine="xelatex")


@pytest.mark.parametrize("bad", [{"max_size": 1}, {"order": "rows"}, {"figures": "svg"},
                                 {"figures": {"spectrum": "s.pdf"}}, {"label_prefix": "a b"}])
def test_bad_document_options_raise_spec_error(bad):
    with pytest.raises(symconv.SpecError):
        proof_to_latex(symconv.prove(SPECS["1d"]), **bad)


def test_standalone_and_fragment_wrap_a_body():
    doc = standalone("$x$", title="A & B")
    assert doc.startswith(r"\documentclass") and r"\section*{A \& B}" in doc
    assert doc.rstrip().endswith(r"\end{document}")
    assert doc.index("hyperref") > doc.index("amsmath")
    assert fragment("$x$").splitlines()[0] == (r"% symconv LaTeX fragment. Needs in the preamble: "
                                               r"\usepackage{amsmath, graphicx}")
