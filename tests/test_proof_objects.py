"""Every result object prints itself: counterexample wording per form, the matrices a proof
checked (``Proof.given``), ``__repr__``/``_repr_latex_``, LaTeX documents and fragments of every
kind of result compiled with pdflatex and xelatex, and ``symconv prove --toeplitz FILE`` end to end."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import symconv
from symconv.commands._spec_args import matrix_text, read_matrix
from symconv.converse import prove_conv1x1_as_fc, prove_fc_as_conv
from symconv.forms.transpose import prove_transpose, upstream_symbols
from symconv.latex import proof_to_latex
from symconv.latex.build import compile_latex
from symconv.proof import COMPARISONS, VARIANTS, PrintsItself, comparison

torch = pytest.importorskip("torch")
from symconv.interop import mlp_layers, network_steps, prove_network  # noqa: E402 - needs torch
from symconv.spectral import prove_block_diagonalisation  # noqa: E402

SPEC = symconv.ConvSpec(1, 2, 2, (3, 3), padding=1)
CIRCULAR = symconv.ConvSpec(1, 1, 3, 3, padding=1, padding_mode="circular", bias=False)
LINE = symconv.ConvSpec(1, 1, 3, 4, padding=1, bias=False)


def _network():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv1d(1, 2, 2), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(4, 1))


def _off_by_one_toeplitz(spec):
    """T with one row's taps shifted by one column: the classic indexing slip."""
    _, w, _ = symconv.symbols(spec)
    T = symconv.toeplitz(spec, w).as_mutable()
    T[1, :] = T[1, :][:, 1:].row_join(sp.zeros(1, 1))
    return T


# ---- the results, proved and refuted ---------------------------------------------------------------
def _transpose_refuted():
    _, w, _ = symconv.symbols(SPEC)
    wrong = symconv.toeplitz(SPEC, w).T.as_mutable()
    wrong[0, 0] = 0
    return prove_transpose(SPEC, toeplitz_transpose=wrong)


def _weight_gradient_refuted():
    x, _, _ = symconv.symbols(SPEC)
    g = upstream_symbols(SPEC)
    from symconv.forms.transpose import weight_gradient
    dw = weight_gradient(SPEC, x, g)
    dw[0, 0, 1, 1] = dw[0, 0, 1, 0]                     # a tap read twice
    return prove_transpose(SPEC, weight_grad=dw)


def _dft_refuted():
    _, w, _ = symconv.symbols(CIRCULAR)
    T = symconv.toeplitz(CIRCULAR, w).as_mutable()
    T[0, 0] = 0
    return prove_block_diagonalisation(CIRCULAR, toeplitz=T)


def _network_refuted():
    model = _network()
    layers = mlp_layers(network_steps(model, (1, 3)), symbolic=True)
    kind, A, c = layers[0]
    A = A.copy()
    A[0, 0] = 0
    return prove_network(model, (1, 3), layers=[(kind, A, c), *layers[1:]])


RESULTS = {
    "conv": lambda: symconv.prove(symconv.ConvSpec(2, 2, 2, (3, 3), groups=2)),
    "conv-refuted": lambda: symconv.prove(LINE, toeplitz=_off_by_one_toeplitz(LINE)),
    "transpose": lambda: prove_transpose(SPEC),
    "transpose-refuted": _transpose_refuted,
    "weight-gradient-refuted": _weight_gradient_refuted,
    "fc-as-conv": lambda: prove_fc_as_conv(2, (1, 3)),
    "fc-as-conv-refuted": lambda: prove_fc_as_conv(2, (1, 3), matrix=np.eye(2, 3, dtype=int)),
    "conv1x1": lambda: prove_conv1x1_as_fc(symconv.ConvSpec(2, 2, 1, 2)),
    "dft": lambda: prove_block_diagonalisation(CIRCULAR),
    "dft-refuted": _dft_refuted,
    "network": lambda: prove_network(_network(), (1, 3)),
    "network-refuted": _network_refuted,
}


@pytest.fixture(scope="module")
def results():
    return {name: make() for name, make in RESULTS.items()}


def test_verdicts_of_the_controls(results):
    assert {name for name, r in results.items() if not r.holds} == {n for n in RESULTS if n.endswith("refuted")}


# ---- counterexamples say what was compared -----------------------------------------------------------
@pytest.mark.parametrize("name, form, obtained, expected", [
    ("conv-refuted", "toeplitz", "(T·vec(x))", "conv(x, w)"),            # LINE has no bias: no b
    ("transpose-refuted", "transpose", "(Tᵀ·vec(g))", "conv_transpose(g, w)"),
    ("weight-gradient-refuted", "weight_gradient", "(g·Pᵀ)", "(∂⟨g, y⟩/∂w)"),
    ("fc-as-conv-refuted", "fc", "(W·vec(x) + b)", "conv(x, w, b)"),
    ("dft-refuted", "dft", "(U_out·T)", "(D·U_in)"),
    ("network-refuted", "mlp", "MLP(vec x)", "network(x)"),
])
def test_counterexample_wording_follows_the_form(results, name, form, obtained, expected):
    cx = results[name].counterexample
    index = ",".join(map(str, cx.index))
    lines = str(cx).splitlines()
    assert cx.form == form
    assert lines[0] == f"{form}: {obtained}[{index}] differs from {expected}[{index}]"
    bare = {side: side[1:-1] if side.startswith("(") else side for side in (expected, obtained)}
    assert lines[1].startswith(f"  expected ({bare[expected]}): ")
    assert lines[2].startswith(f"  obtained ({bare[obtained]}): ")
    assert cx.comparison == getattr(results[name], "comparison", comparison)(form)   # as the proof compared


def test_every_comparison_names_both_sides_in_text_and_latex():
    for form, c in [*COMPARISONS.items(), *VARIANTS.items()]:
        assert c.obtained != c.expected and "@" in c.obtained_entry and "@" in c.expected_entry, form
        whole = "".join(f(side) for f in (c.quantity, c.quantity_latex) for side in ("obtained", "expected"))
        assert "@" not in whole and "#" not in whole, form


def test_comparisons_follow_bias_order_and_batch():
    for form in ("toeplitz", "im2col", "output", "fc", "conv1x1"):
        plain = comparison(form, bias=False)
        assert "b" not in plain.quantity("obtained") + plain.quantity("expected"), form
        assert "b" not in plain.quantity_latex("obtained").replace(r"\mathbf", ""), form
    assert comparison("im2col", "paper").quantity_latex("obtained") == "P K + b"
    assert comparison("im2col", "paper", bias=False).obtained == "P·K"
    batched = comparison("input_gradient", "batched")
    assert batched.entry("obtained", (1, 0, 2)) == "(Tᵀ·vec(g_1))[0,2]"           # sample 1, entry (0, 2)
    assert batched.entry("expected", (1, 0, 2)) == "(∂L/∂x_1)[0,2]"
    assert batched.entry_latex("expected", (1, 0, 2)) == r"\frac{\partial L}{\partial x_{1,0,2}}"
    assert batched.quantity_latex("expected") == r"\frac{\partial L}{\partial x_{n}}"
    assert batched.quantity_latex("obtained") == r"T^{\top} \mathrm{vec}(g_{n})"


def test_network_proof_prints_itself_like_every_result(results):
    proved, refuted = results["network"], results["network-refuted"]
    assert isinstance(proved, PrintsItself) and isinstance(refuted, PrintsItself)
    assert repr(proved) == ("<NetworkProof PROVED: network(x) = MLP(vec x) (Linear + elementwise σ) "
                            "[Conv1d → ReLU → Flatten → Linear]>")
    assert repr(refuted).endswith("; mlp: MLP(vec x)[0] differs from network(x)[0]>") and "\n" not in repr(refuted)
    assert proved.to_latex() == proof_to_latex(proved) and r"\textbf{Proved}" in proved._repr_latex_()
    assert r"\textbf{Refuted}" in refuted._repr_latex_() and "Statement (refuted)" in refuted.to_latex()


# ---- the proof keeps what it checked ---------------------------------------------------------------
def test_proof_carries_the_supplied_matrices_and_shows_them(results):
    proof = results["conv-refuted"]
    wrong = proof.given["toeplitz"]
    assert set(proof.given) == {"toeplitz"} and wrong[1, 0] == symconv.symbols(LINE)[1][0, 0, 1]
    source = proof.to_latex()
    assert r"$T^{\mathrm{supplied}}$ (supplied to the proof, the matrix it checked)" in source
    shown = re.search(r"T\^\{\\mathrm\{supplied\}\} = \\begin\{bmatrix\} (.*?) \\end\{bmatrix\}", source)
    row = shown.group(1).split(r" \\ ")[1]
    assert row.split(" & ")[:2] == ["w_{0,0,1}", "w_{0,0,2}"]      # the user's shifted row is what is shown
    assert "Each channel block is a Toeplitz matrix." not in source
    assert "(symconv's construction, the matrix the proof checked)" in results["conv"].to_latex()


def test_given_output_is_shown():
    x, w, b = symconv.symbols(LINE)
    source = symconv.prove(LINE, output=symconv.conv(LINE, x, w, b)).to_latex()
    assert r"y^{\mathrm{given}} = " in source and "supplied to the proof" in source


def test_transpose_and_dft_proofs_keep_and_show_what_they_checked(results):
    transpose, dft = results["transpose-refuted"], results["dft-refuted"]
    assert set(transpose.given) == {"toeplitz_transpose"} and transpose.given["toeplitz_transpose"][0, 0] == 0
    assert set(results["weight-gradient-refuted"].given) == {"weight_grad"}
    assert set(dft.given) == {"toeplitz"} and dft.given["toeplitz"][0, 0] == 0
    for result, name in ((transpose, r"$(T^{\top})^{\mathrm{supplied}}$"), (dft, r"$T^{\mathrm{supplied}}$")):
        source = result.to_latex()
        assert f"{name} (supplied to the proof, the matrix it checked)" in source
        matrix = source.split(rf"\displaystyle {name.strip('$')} = ", 1)[1]
        first = re.match(r"\\(?:begin\{bmatrix\}|left\[\\begin\{array\}\{[^ ]*\}) (.*?) &", matrix).group(1)
        assert first == r"\cdot"                                      # the zeroed entry checked is shown
    source = results["weight-gradient-refuted"].to_latex()
    assert r"checked the $\partial L / \partial w$ supplied to it instead of symconv's $g P^{\top}$." in source
    assert r"$P$ (symconv's construction) is" in source and "supplied to it instead of symconv's $T" not in source
    with pytest.raises(symconv.SpecError, match="input_grad"):
        prove_transpose(SPEC, toeplitz_transpose=transpose.given["toeplitz_transpose"],
                        input_grad=np.zeros(SPEC.input_shape))


# ---- repr and the Jupyter display ----------------------------------------------------------------------
def test_reprs_are_one_readable_line(results):
    proved, refuted = results["conv"], results["conv-refuted"]
    assert repr(proved) == f"<Proof PROVED: {proved.statement} [{proved.spec.describe()}]>"
    assert repr(refuted).startswith("<Proof REFUTED: conv(x, w) = T·vec(x) [")
    assert "toeplitz: (T·vec(x))[0,1]" in repr(refuted)
    assert repr(refuted.counterexample).startswith("<Counterexample toeplitz: ")
    assert "\n" not in repr(refuted) + repr(refuted.counterexample)


def test_repr_latex_is_display_math_with_statement_verdict_and_counterexample(results):
    text = results["conv-refuted"]._repr_latex_()
    assert text.startswith("$$\\begin{aligned}") and text.endswith("\\end{aligned}$$") and text.isascii()
    assert r"\textbf{Refuted}" in text and r"\mathrm{conv}(x, w) &= T\,\mathrm{vec}(x)" in text
    assert r"(T\,\mathrm{vec}(x))_{0,1} &= " in text and r"\text{expected} - \text{obtained}" in text
    assert r"\textbf{Proved}" in results["transpose"]._repr_latex_()
    assert results["conv-refuted"].counterexample._repr_latex_().startswith("$$")


def test_repr_latex_compiles_in_an_article(tex, xetex, results, tmp_path):
    shown = [r._repr_latex_() for r in results.values() if hasattr(r, "_repr_latex_")]
    shown += [r.counterexample._repr_latex_() for r in results.values() if r.counterexample is not None]
    article = ("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\begin{document}\n"
               + "\n\n".join(shown) + "\n\\end{document}\n")
    compile_latex(article, tmp_path / "display.pdf")
    compile_latex(article, tmp_path / "display-xe.pdf", engine="xelatex")


# ---- documents of every kind -------------------------------------------------------------------------
STATEMENTS = {
    "transpose": r"\frac{\partial \langle g, y \rangle}{\partial x} &= T^{\top} \mathrm{vec}(g) = "
                 r"\mathrm{conv\_transpose}(g, w)",
    "fc-as-conv": r"\mathrm{fc\_as\_conv}(W) &= w",
    "dft": r"U_{C_{\mathrm{out}}} T &= D\, U_{C_{\mathrm{in}}}",
    "network": r"\mathrm{network}(x) &= \mathrm{MLP}(\mathrm{vec}\, x)",
    "conv": r"\mathrm{conv}(x, w, b) &= T\,\mathrm{vec}(x) + b \otimes \mathbf{1} = K P + b",
    "conv-refuted": r"\mathrm{conv}(x, w) &= T\,\mathrm{vec}(x)",          # no bias: no b
    "fc-as-conv-refuted": r"\mathrm{conv}(x, w, b) &= W\, \mathrm{vec}(x) + b \\ \mathrm{fc\_as\_conv}(W) &= w",
    "conv1x1": r"\mathrm{conv}(x, w, b) &= W X + b \mathbf{1}^{\top}",
}


@pytest.fixture(scope="module")
def documents(results):
    return {name: proof_to_latex(result) for name, result in results.items()}


def test_documents_state_the_claim_and_the_verdict(results, documents):
    for name, source in documents.items():
        statement = source[source.index("Statement ("):source.index(r"\label{symconv:statement}")]
        claim = (STATEMENTS.get(name) or STATEMENTS.get(name.removesuffix("-refuted"), "=")).replace("&", "")
        assert claim in statement.replace("&", ""), name
        verdict = "refuted" if name.endswith("refuted") else "proved"
        assert f"Statement ({verdict})" in source and source.isascii(), name
        assert (r"\textsc{q.e.d.}" in source) != (r"\label{symconv:counterexample}" in source), name
        labels = re.findall(r"\\label\{([^}]*)\}", source)
        assert len(labels) == len(set(labels)) and set(re.findall(r"\\ref\{([^}]*)\}", source)) <= set(labels)


def test_refuted_transpose_document_names_the_compared_entries(documents, results):
    source = documents["transpose-refuted"]
    index = ",".join(map(str, results["transpose-refuted"].counterexample.index))
    assert (rf"(T^{{\top}} \mathrm{{vec}}(g))_{{{index}}}$ differs from "
            rf"$\mathrm{{conv\_transpose}}(g, w)_{{{index}}}") in source
    source = documents["weight-gradient-refuted"]
    assert r"(g P^{\top})_{0,0,1,1}$ differs from $\frac{\partial \langle g, y \rangle}{\partial w_{0,0,1,1}}" in source


@pytest.mark.parametrize("engine", ["pdflatex", "xelatex"])
def test_every_document_compiles(tex, xetex, documents, tmp_path, engine):
    for name in ("transpose", "transpose-refuted", "fc-as-conv", "conv1x1", "dft", "dft-refuted",
                 "network", "network-refuted", "conv-refuted"):
        assert compile_latex(documents[name], tmp_path / f"{name}.pdf", engine=engine).stat().st_size > 1000


@pytest.mark.parametrize("engine", ["pdflatex", "xelatex"])
def test_fragments_of_every_kind_compile_in_one_paper(tex, xetex, results, tmp_path, engine):
    pieces = [proof_to_latex(r, standalone=False, label_prefix=name) for name, r in results.items()]
    paper = ("\\documentclass{article}\n\\usepackage{amsmath,amssymb,graphicx}\n\\begin{document}\n"
             "See (\\ref{network:statement}).\n" + "\n".join(pieces) + "\\end{document}\n")
    compile_latex(paper, tmp_path / "paper.pdf", engine=engine)


def test_conv_options_are_refused_for_other_results(results):
    with pytest.raises(symconv.SpecError, match="figures"):
        proof_to_latex(results["network"], figures="tikz")
    with pytest.raises(symconv.SpecError):
        proof_to_latex(object())


# ---- matrix files and the command line ----------------------------------------------------------------
def _names(spec):
    return {str(s): s for a in symconv.symbols(spec) if a is not None for s in a.flat}


@pytest.mark.parametrize("spec", [LINE, symconv.ConvSpec(2, 2, 2, (2, 3), groups=2)])
def test_matrix_files_read_back_what_matrix_text_writes(tmp_path, spec):
    x, w, b = symconv.symbols(spec)
    for M in (symconv.toeplitz(spec, w), symconv.im2col(spec, x), symconv.kernel_matrix(spec, w)):
        path = tmp_path / "m.txt"
        path.write_text(matrix_text(M))
        assert read_matrix(str(path), "--m", _names(spec), M.shape) == sp.Matrix(M)


def test_matrix_file_syntax_hand_written(tmp_path):
    path = tmp_path / "T.txt"
    path.write_text("# T by hand\n w_{0, 0,1} , 2 w_{0,0,0} x_{0,1} - (b_{0}+1)^2/2, . \n\n0,0,0\n")
    spec = symconv.ConvSpec(1, 1, 2, 3)
    w, x, b = sp.Symbol("w_{0,0,1}"), sp.Symbol("x_{0,1}"), sp.Symbol("b_{0}")
    M = read_matrix(str(path), "--toeplitz", _names(spec), (2, 3))
    assert M.row(0) == sp.Matrix([[w, 2 * sp.Symbol("w_{0,0,0}") * x - (b + 1) ** 2 / 2, 0]])


@pytest.mark.parametrize("content, message", [
    ("w_{0,0,0}, 0, 0\n", "must have 2 rows of 3 entries"),
    ("w_{0,0,0}, 0\n0, 0, 0\n", "row 1 has 2 entries"),
    ("w_{0,0,5}, 0, 0\n0, 0, 0\n", "T.txt:1: w_{0,0,5}'"),
    ("v, 0, 0\n0, 0, 0\n", "only integers"),
    ("1.5, 0, 0\n0, 0, 0\n", "only integers"),
    ("__import__('os'), 0, 0\n0, 0, 0\n", "only integers"),
    ("w_{0,0,0} +, 0, 0\n0, 0, 0\n", "not a valid expression"),
])
def test_bad_matrix_files_exit_2_with_one_line(tmp_path, content, message):
    (tmp_path / "T.txt").write_text(content)
    result = _symconv("prove", "--kernel-size", "2", "--input-size", "3", "--toeplitz", "T.txt", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr and "--toeplitz" in result.stderr


def _symconv(*args, cwd):
    return subprocess.run([sys.executable, "-m", "symconv.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_cli_refutes_an_off_by_one_matrix_end_to_end(tex, tmp_path):
    (tmp_path / "T.txt").write_text(matrix_text(_off_by_one_toeplitz(LINE)))
    flags = ("--kernel-size", "3", "--input-size", "4", "--padding", "1", "--no-bias")
    result = _symconv("prove", *flags, "--toeplitz", "T.txt", "--latex", "p.tex", "--pdf", "p.pdf", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[0].startswith("REFUTED: conv(x, w) = T·vec(x) [")
    assert result.stdout.splitlines()[1] == "toeplitz: (T·vec(x))[0,1] differs from conv(x, w)[0,1]"
    assert "lacks:    w_{0,0,0}*x_{0,0}" in result.stdout
    source = (tmp_path / "p.tex").read_text()
    assert "Statement (refuted)" in source and "supplied to the proof, the matrix it checked" in source
    assert (tmp_path / "p.pdf").stat().st_size > 1000
    (tmp_path / "y.txt").write_text(matrix_text(symconv.conv(LINE, *symconv.symbols(LINE)).reshape(1, -1)))
    assert _symconv("prove", *flags, "--output", "y.txt", cwd=tmp_path).returncode == 0
