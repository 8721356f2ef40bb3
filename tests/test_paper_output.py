"""Paper-quality output (issue 15, points 1–3): all-sizes proofs as theorem prose with numbered,
labelled equations, long steps broken across lines (never scaled), indices in reading order,
the verification remark optional; concrete proof documents without meaningless timings and with
one count of terms; room around matrix rules. The compile test requires no overfull box > 1 pt."""

from __future__ import annotations

import re
import subprocess

import pytest

import symconv
from symconv.general.latex import derivation_latex
from symconv.general.linebreak import math_width, split_math
from symconv.latex.matrix import latex_matrix


@pytest.fixture(scope="module")
def toeplitz2():
    return symconv.prove_general("toeplitz", dims=2, instances=2)


def test_theorem_prose_labels_and_no_scaling(toeplitz2):
    source = toeplitz2.to_latex()
    assert (r"\begin{theorem}[Toeplitz form]\label{symconv:toeplitz-2d:theorem}" "\n"
            r"For all integers satisfying the hypotheses (\ref{symconv:toeplitz-2d:hypotheses}), the "
            "convolution layer $y$ with weight $w$ equals, row by row, the fully connected layer with "
            r"weight matrix $T$ applied to $\operatorname{vec}(x)$:") in source
    for label in ("hypotheses", "statement", "def-m1", "def-m2", "def-T", "lemma-1", "lemma-4"):
        assert rf"\label{{symconv:toeplitz-2d:{label}}}" in source, label
    assert r"\resizebox" not in source and r"\scalebox" not in source and "stepfit" not in source
    assert r"\usepackage{mathtools}" in source and r"\usepackage{amsthm}" in source


def test_indices_in_reading_order(toeplitz2):
    source = toeplitz2.to_latex()
    assert r"w_{g \cdot \hat{C}_{\mathrm{out}} + h, c - g \cdot \hat{C}_{\mathrm{in}}, t_{1}, t_{2}}" in source
    assert r"\delta_{i_{1},\, s_{1} j_{1} + d_{1} t_{1} - p_{1}}" in source
    assert r"\left\lfloor c/\hat{C}_{\mathrm{in}} \right\rfloor" in source
    assert r"\hat{C}_{\mathrm{out}} g" not in source and r"- \hat{C}_{\mathrm{in}} g + c" not in source


def test_long_steps_break_into_continuation_rows(toeplitz2):
    source = toeplitz2.to_latex()
    assert r"&\qquad w_{g \cdot \hat{C}_{\mathrm{out}} + h" in source   # a product broken, not shrunk
    lines = split_math(r"\sum_{t=0}^{k - 1} a_{t} b_{t} c_{t} d_{t} e_{t} f_{t}", 6.0)
    assert lines[0].startswith(r"\sum_{t=0}^{k - 1} a_{t}") and len(lines) > 1
    assert all(math_width(line) <= 6.0 for line in lines)


def test_statement_splits_with_amsmath_split():
    source = derivation_latex(symconv.prove_general("dft", dims=2, instances=1), width=30)
    statement = source[source.index(r"\begin{theorem}"):source.index(r"\end{theorem}")]
    assert r"\begin{split}" in statement and r"&\qquad" in statement


def test_verification_remark_is_optional(toeplitz2):
    remark = r"\begin{remark}[Verification by symconv] Proved. Every step was checked symbolically"
    assert remark in toeplitz2.to_latex()
    fragment = toeplitz2.to_latex(standalone=False)
    assert "symconv" not in fragment.split("\n", 2)[2].replace("symconv:", "").replace("symconvrule", "")
    assert "simplify" not in fragment and r"\documentclass" not in fragment
    assert remark in derivation_latex(toeplitz2, standalone=False, verification=True)


def test_circulant_defines_gamma():
    source = symconv.prove_general("circulant", dims=1, instances=1).to_latex()
    assert r"\Gamma_{g \cdot \hat{C}_{\mathrm{out}} + h, c, r} &=" in source
    assert r"\label{symconv:circulant-1d:def-Gamma}" in source
    assert r"$\Gamma$: the generator of a block-circulant T" in source


def test_one_channel_view_drops_the_group_notation():
    derivation = symconv.prove_general("toeplitz", dims=1, instances=1)
    source = derivation_latex(derivation, channels=False)
    body = source[source.index(r"\begin{document}"):]
    for group in (r"\hat{C}_{\mathrm{in}}", r"\hat{C}_{\mathrm{out}}", r"\delta_{g", " G "):
        assert group not in body, group
    assert r"\sum_{t=0}^{k - 1} w_{t} \tilde{x}_{s j + d t - p}" in body


def test_a_refuted_claim_is_no_theorem_and_keeps_its_verdict():
    S = symconv.general.symbols_for("toeplitz")
    import sympy as sp
    wrong = sp.Sum(S.w[S.t] * sp.KroneckerDelta(S.i, S.s * (S.j + S.t) - S.p), (S.t, 0, S.k - 1))
    fragment = symconv.general.check_claim("toeplitz", wrong).to_latex(standalone=False)
    assert r"\begin{theorem}" not in fragment and r"\paragraph{Verdict.} Refuted." in fragment
    assert r"\textbf{FAILS}" in fragment


def test_concrete_document_terms_proves_and_timings():
    spec = symconv.ConvSpec(2, 2, kernel_size=2, input_size=(3, 3), groups=2)
    proof = symconv.prove(spec)
    source = proof.to_latex()
    total = spec.n_terms + spec.n_bias_terms
    assert f"{spec.n_terms} + {spec.n_bias_terms} = {total}" in source and f"({total} terms)" in source
    assert re.search(r"which proves \(\\ref\{symconv:statement\}\), \(\\ref\{symconv:fc\}\)", source)
    assert r"\ref{symconv:definition}), " not in source.split("which proves")[1].split("q.e.d")[0]
    assert "0.000 s" not in source and "0.00 s" not in source


def test_rule_sentences_only_for_drawn_rules():
    source = symconv.prove(symconv.ConvSpec(2, 2, kernel_size=3, input_size=5)).to_latex()
    kernel = source[source.index("$K$ (symconv"):].split("\n")[0]
    assert "Vertical rules separate the input channels." in kernel and "groups" not in kernel


def test_matrix_rules_have_room_around_them():
    tex = latex_matrix([[1, 0, 3], [0, 2, 0]], blocks=(1, 2))
    assert tex == (r"\left[\begin{array}{@{}cc|c@{}} 1 & \cdot\, & \,3 \\[0.5ex] "
                   r"\hline \rule{0pt}{2.7ex}\cdot & 2\, & \,\cdot \end{array}\right]")


def _overfull(log: str) -> list[float]:
    return [float(v) for v in re.findall(r"Overfull \\[hv]box \(([\d.]+)pt too", log)]


@pytest.mark.parametrize("theorem,dims", [("toeplitz", 2), ("im2col", 2), ("circulant", 2), ("dft", 2)])
def test_all_sizes_documents_have_no_overfull_box(tex, tmp_path, theorem, dims):
    """Compiled as symconv compiles (latexmk, pdflatex), the log keeps no box over 1 pt too wide."""
    (tmp_path / "d.tex").write_text(symconv.prove_general(theorem, dims=dims, instances=1).to_latex())
    subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "d.tex"],
                   cwd=tmp_path, capture_output=True, timeout=300, check=True)
    log = (tmp_path / "d.log").read_text(errors="replace")
    assert (tmp_path / "d.pdf").exists() and "undefined" not in log.split("Output written")[-1]
    assert [v for v in _overfull(log) if v > 1.0] == []


def test_timing_table_only_for_a_proof_that_took_long():
    from dataclasses import replace
    proof = symconv.prove(symconv.ConvSpec(1, 1, kernel_size=2, input_size=3))
    assert "Time taken" not in replace(proof, timings={"definition": 0.0004, "toeplitz": 0.0002}).to_latex()
    slow = replace(proof, timings={"definition": 1.25, "toeplitz": 0.5}).to_latex()
    assert "Time taken by each step (in all 1.75 s):" in slow and r"definition & 1.25 s \\" in slow


def test_fragment_pastes_into_a_paper_with_its_own_theorems(tex, tmp_path):
    fragment = symconv.prove_general("circulant", dims=2, instances=1).to_latex(standalone=False)
    paper = "\n".join([r"\documentclass[11pt]{article}", r"\usepackage[margin=2cm]{geometry}",
                       r"\usepackage{amsmath,amssymb,amsthm,mathtools}", r"\newtheorem{theorem}{Theorem}",
                       r"\begin{document}", fragment, r"\end{document}"])
    (tmp_path / "paper.tex").write_text(paper)
    subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
                   cwd=tmp_path, capture_output=True, timeout=300, check=True)
    assert [v for v in _overfull((tmp_path / "paper.log").read_text(errors="replace")) if v > 1.0] == []
