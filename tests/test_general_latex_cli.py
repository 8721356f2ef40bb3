"""LaTeX documents of general derivations (pdflatex and xelatex) and the ``symconv general``
command (exit codes 0 proved / 1 refuted / 2 bad input)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import sympy as sp

import symconv
from symconv.cli import main
from symconv.general import check_claim, symbols_for
from symconv.general.latex import tex_text
from symconv.latex.build import compile_latex


def _steps_with_rules(source: str, derivation) -> int:
    """How many steps have their rule beside them (each rule name as often as it is used)."""
    uses = Counter(step.rule for step in derivation.steps)
    return sum(min(n, source.count(r"\symconvrule{" + tex_text(rule))) for rule, n in uses.items())


def test_latex_has_hypotheses_statement_and_a_rule_per_step():
    derivation = symconv.prove_general("toeplitz", dims=2)
    source = derivation.to_latex()
    assert source.startswith(r"\documentclass") and source.rstrip().endswith(r"\end{document}")
    for part in ("Hypotheses.", r"\begin{theorem}", r"\begin{proof}", r"\begin{align*}",
                 "[Verification by symconv] Proved"):
        assert part in source
    assert _steps_with_rules(source, derivation) == len(derivation.steps)
    assert source.isascii()
    body = derivation.to_latex(standalone=False)
    assert r"\documentclass" not in body and _steps_with_rules(body, derivation) == len(derivation.steps)


@pytest.mark.parametrize("theorem,dims,options", [
    ("toeplitz", 2, {}), ("circulant", 3, {}), ("transpose", 1, {}), ("nonlinear", 1, {}),
    ("nonlinear", 2, {"bias": True})])
def test_latex_compiles_with_pdflatex(tex, tmp_path, theorem, dims, options):
    derivation = symconv.prove_general(theorem, dims=dims, **options)
    pdf = compile_latex(derivation.to_latex(), tmp_path / "d.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("theorem,dims", [("im2col", 3), ("toeplitz", 1)])
def test_latex_compiles_with_xelatex(xetex, tmp_path, theorem, dims):
    pdf = compile_latex(symconv.prove_general(theorem, dims=dims).to_latex(), tmp_path / "d.pdf",
                        engine="xelatex")
    assert pdf.read_bytes().startswith(b"%PDF")


def test_refuted_claim_document_compiles(tex, xetex, tmp_path):
    S = symbols_for("toeplitz")
    wrong = sp.Sum(S.w[S.t] * sp.KroneckerDelta(S.i, S.s * (S.j + S.t) - S.p), (S.t, 0, S.k - 1))
    source = check_claim("toeplitz", wrong).to_latex()
    assert "FAILS" in source and "Refuted" in source and "counterexample at" in source
    for engine in ("pdflatex", "xelatex"):
        assert compile_latex(source, tmp_path / f"{engine}.pdf", engine=engine).exists()


def test_cli_proves_and_writes(tex, tmp_path, capsys):
    latex, pdf = tmp_path / "g.tex", tmp_path / "g.pdf"
    assert main(["general", "im2col", "--dims", "2", "--order", "paper", "--latex", str(latex),
                 "--pdf", str(pdf)]) == 0
    assert "PROVED" in capsys.readouterr().out
    assert latex.read_text().startswith(r"\documentclass") and pdf.exists()


def test_cli_json(capsys):
    assert main(["general", "transpose", "--dims", "2", "--json", "--instances", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["holds"] is True and data["dims"] == 2
    assert all(step["symbolic"] and step["concrete_ok"] for step in data["steps"])


def test_cli_claims(capsys):
    true = "Piecewise((w[i - s*j + p], (i - s*j + p >= 0) & (i - s*j + p < k)), (0, True))"
    assert main(["general", "toeplitz", "--claim", true, "--assume", "d=1"]) == 0
    assert main(["general", "toeplitz", "--claim", true]) == 1
    out = capsys.readouterr().out
    assert "REFUTED" in out and "counterexample at" in out


@pytest.mark.parametrize("argv", [
    ["general", "toeplitz", "--dims", "4"], ["general", "fft"],
    ["general", "toeplitz", "--order", "paper"], ["general", "toeplitz", "--claim", "w["],
    ["general", "circulant", "--claim", "w[t]"], ["general", "toeplitz", "--assume", "d=1"],
    ["general", "toeplitz", "--claim", "w[t]", "--assume", "d=one"],
    ["general", "toeplitz", "--instances", "0"],
])
def test_cli_bad_input_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        code = main(argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_cli_pdf_failure_leaves_no_file(tmp_path, monkeypatch, tex):
    from symconv.latex import build
    def broken(*args, **kwargs):
        raise build.LatexBuildError("boom")
    monkeypatch.setattr(build, "compile_latex", broken)
    latex, pdf = tmp_path / "g.tex", tmp_path / "g.pdf"
    assert main(["general", "toeplitz", "--latex", str(latex), "--pdf", str(pdf)]) == 2
    assert not latex.exists() and not pdf.exists()


def test_cli_channel_claims_and_padding_modes(capsys):
    claim = ("KroneckerDelta(floor(c/Ci), g)*Sum(w[Co*g + h, c - Ci*g, t]*KroneckerDelta(i, s*j + d*t - p), "
             "(t, 0, k - 1))")
    assert main(["general", "toeplitz", "--claim", claim, "--channels"]) == 0
    assert main(["general", "toeplitz", "--claim", claim.replace("floor(c/Ci)", "floor(c/Co)"),
                 "--channels", "--instances", "30"]) == 1
    assert main(["general", "toeplitz", "--padding-mode", "replicate"]) == 0
    assert main(["general", "padding", "--padding-mode", "circular", "--json"]) == 0
    out = capsys.readouterr().out
    assert "REFUTED" in out and '"theorem": "padding"' in out


@pytest.mark.parametrize("argv", [
    ["general", "im2col", "--padding-mode", "reflect"], ["general", "toeplitz", "--channels"],
    ["general", "padding", "--padding-mode", "zeros"], ["general", "toeplitz", "--padding-mode", "x"],
])
def test_cli_bad_padding_and_channel_flags_exit_2(argv):
    assert main(argv) == 2


def test_notebook_display(tex, tmp_path):
    """Derivation.__repr__ is one line; _repr_latex_ is the main chain in one align* (MathJax),
    which also compiles with amsmath."""
    derivation = symconv.prove_general("toeplitz", padding_mode="reflect")
    text = repr(derivation)
    assert text.startswith("<Derivation 'toeplitz' dims=1: PROVED;") and "\n" not in text
    display = derivation._repr_latex_()
    assert display.startswith("$$\\begin{align*}") and display.endswith("\\end{align*}$$")
    main_steps = [s for s in derivation.steps if s.part == "main"]
    assert display.count("&= ") == len(main_steps) and "stepfit" not in display
    document = ("\\documentclass{article}\\usepackage{amsmath,amssymb}\\begin{document}"
                + display.strip("$") + "\\end{document}")
    assert compile_latex(document, tmp_path / "display.pdf").exists()
    wrong = check_claim("toeplitz", sp.Integer(0))
    assert "REFUTED" in repr(wrong) and "fails at step" in repr(wrong)
    assert "FAILS" in wrong._repr_latex_()
