"""The lecture notes: every derivations/ notebook executes in a fresh kernel (without torch), each
records proofs that held, the exports exist in every format, and a broken notebook or bad
arguments fail the build with the right message and exit code.

The whole set is built once per module (execution + HTML/LaTeX, and PDF when xelatex exists).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("nbconvert")
pytest.importorskip("ipykernel")

from symconv import cli, notes  # noqa: E402
from symconv.latex.build import TEX_PACKAGES  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DERIVATIONS = ROOT / "derivations"
NOTEBOOKS = sorted(DERIVATIONS.glob("*.ipynb"))
HAVE_PANDOC = shutil.which("pandoc") is not None
HAVE_XELATEX = shutil.which("xelatex") is not None
CHROMIUM = shutil.which("chromium")
CODE_WIDTH = 79
"""Characters of code that fit a line of the PDF's code boxes (longer lines wrap with an arrow)."""
OVERFULL_LIMIT_PT = 5.0


@pytest.fixture(scope="module")
def no_torch(tmp_path_factory):
    """A PYTHONPATH entry whose ``torch`` raises ImportError: the kernels inherit it, so any
    notebook (or symconv code it calls) that imports torch fails the build."""
    blocker = tmp_path_factory.mktemp("no-torch")
    (blocker / "torch").mkdir()
    (blocker / "torch" / "__init__.py").write_text(
        "raise ImportError('torch is blocked: the lecture notes must not need it')\n")
    with pytest.MonkeyPatch.context() as patch:
        # the kernels import symconv from this checkout, not from wherever it is installed
        patch.setenv("PYTHONPATH", os.pathsep.join([str(blocker), str(ROOT)]))
        yield


@pytest.fixture(scope="module")
def built(tmp_path_factory, no_torch):
    formats = [f for f in notes.FORMATS if not notes.tools_missing([f])]
    out = tmp_path_factory.mktemp("notes-out")
    lines: list[str] = []
    result = notes.build(NOTEBOOKS, out, formats, progress=lines.append)
    return result, lines


def plain(title: str) -> str:
    """The part of a chapter title before its first math (which is typeset, not copied)."""
    return title.split("$")[0].strip()


def _tiny_notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A tiny chapter")]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nb, path)
    return path


# ---- the notebooks as stored ----------------------------------------------------------------------
def test_at_least_seven_chapters_stored_without_outputs():
    assert len(NOTEBOOKS) >= 7
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.outputs == [] and c.execution_count is None for c in code), path.name
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), path.name
        summary = code[-1]
        assert notes.SUMMARY_TAG in summary.metadata.get("tags", []), path.name
        assert "summary_line(proofs)" in summary.source, path.name
        # an explicit assertion that a proof held (or that no counterexample was found)
        assert any("assert" in c.source and ("holds" in c.source or "is None" in c.source)
                   for c in code), path.name


def test_code_lines_fit_the_pdf():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        long = [line for cell in nb.cells if cell.cell_type == "code"
                for line in cell.source.splitlines() if len(line) > CODE_WIDTH]
        assert not long, (path.name, long)


# ---- execution and proofs -------------------------------------------------------------------------
def test_every_notebook_executes_and_records_proofs_that_held(built):
    result, lines = built
    assert [c.name for c in result.chapters] == [p.stem for p in NOTEBOOKS]
    for chapter in result.chapters:
        assert len(chapter.proofs) >= 2, chapter.name
        assert all(held is True for held in chapter.proofs.values()), chapter.name
        # The verdicts come from the executed outputs: the summary line the last cell printed.
        assert notes.parse_summary(chapter.notebook) == chapter.proofs
        outputs = [o for c in chapter.notebook.cells for o in c.get("outputs", [])]
        assert not [o for o in outputs if o.output_type == "error"], chapter.name
        assert not [o for o in outputs if o.get("name") == "stderr"], chapter.name  # warnings
        assert any("text/latex" in o.get("data", {}) for o in outputs), chapter.name
    assert sum(line.startswith("[") and "proof(s) held" in line for line in lines) == len(NOTEBOOKS)


def test_kernel_is_the_running_interpreter(tmp_path):
    path = _tiny_notebook(tmp_path / "which.ipynb", "import sys\nprint(sys.executable)")
    nb = notes.execute(path)
    assert nb.cells[1].outputs[0]["text"].strip() == sys.executable


# ---- exports --------------------------------------------------------------------------------------
def test_html_loads_mathjax_from_the_output_directory_and_nothing_remote(built):
    """No network is needed to read the HTML: every script it loads ships beside it."""
    result, _ = built
    for name in [p.stem for p in NOTEBOOKS] + [notes.BOOK_NAME]:
        html = (result.out / "html" / f"{name}.html").read_text()
        scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", html)
        assert scripts == [f"{notes.MATHJAX_DIR}/{notes.MATHJAX_COMPONENT}"], (name, scripts)
        assert notes.SUMMARY_PREFIX not in html, name
    mathjax = result.out / "html" / notes.MATHJAX_DIR
    assert (mathjax / notes.MATHJAX_COMPONENT).stat().st_size > 1_000_000
    assert (mathjax / "LICENSE").is_file()


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (headless) to typeset")
def test_html_math_typesets_offline_without_errors(built, tmp_path):
    """Headless Chromium opens the book from file:// and MathJax typesets every formula: the
    matrices' array column specs (@{}, |, :) and rules, align*, the proofs' displays."""
    result, _ = built
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path}", "--virtual-time-budget=20000", "--dump-dom",
         (result.out / "html" / f"{notes.BOOK_NAME}.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=True).stdout
    latex_outputs = sum("text/latex" in o.get("data", {}) for c in result.chapters
                        for cell in c.notebook.cells for o in cell.get("outputs", []))
    assert dom.count("<mjx-container") >= latex_outputs > 0
    assert '<g data-mml-node="merror"' not in dom and "data-mjx-error" not in dom


def test_html_without_mathjax_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setattr(notes.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(notes.NotesError, match=notes.MATHJAX_PACKAGE):
        notes.build(NOTEBOOKS[:1], tmp_path / "out", ["html"])
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not HAVE_PANDOC, reason="nbconvert's LaTeX export needs pandoc")
def test_printed_statements_match_what_is_proved_and_the_prose(built):
    """Chapter 5 prints the paper layout as P·K, chapter 8 the DFT statement its prose derives
    (T = F⁻¹ D F, F not normalised) and the exact sizes symconv.spectral supports."""
    from symconv.spectral import EXACT_SIZES
    result, _ = built
    printed = {c.name: "".join(str(o.get("text", "")) for cell in c.notebook.cells for o in cell.get("outputs", []))
               for c in result.chapters}
    assert "PROVED: conv(x, w, b) = T·vec(x) + b⊗1 = K·P + b [" in printed["05_im2col"]
    assert "PROVED: conv(x, w, b) = T·vec(x) + b⊗1 = P·K + b [" in printed["05_im2col"]
    assert printed["08_circulant_dft"].count("PROVED: U_out·T = D·U_in, so T = U_out⁻¹·D·U_in (") == 2
    assert "F*" not in printed["08_circulant_dft"]
    source = "".join(c.source for c in nbformat.read(DERIVATIONS / "08_circulant_dft.ipynb", as_version=4).cells)
    assert "so $T = F^{-1} D F$" in source and "F^{*} D F" not in source
    assert f"n divides 24, i.e. {', '.join(map(str, EXACT_SIZES))}" in source


def test_latex_exports_with_figures_and_book_contents(built):
    result, _ = built
    for chapter in result.chapters:
        tex = (result.out / "latex" / chapter.name / f"{chapter.name}.tex").read_text()
        assert r"\begin{document}" in tex and notes.SUMMARY_PREFIX not in tex
        assert rf"\title{{{plain(chapter.title)}" in tex
        images = sum("image/png" in o.get("data", {})
                     for c in chapter.notebook.cells for o in c.get("outputs", []))
        assert len(list((result.out / "latex" / chapter.name).glob("*.png"))) == images
    book = (result.out / "latex" / notes.BOOK_NAME / f"{notes.BOOK_NAME}.tex").read_text()
    assert r"\tableofcontents" in book
    assert book.count(r"\section{") == len(result.chapters)  # one H1 per chapter
    words = " ".join(book.split())  # pandoc wraps long headings
    assert all(plain(c.title) in words for c in result.chapters)


def test_pdf_exports_and_book(built, xetex):
    result, _ = built
    for name in [p.stem for p in NOTEBOOKS] + [notes.BOOK_NAME]:
        assert (result.out / "pdf" / f"{name}.pdf").read_bytes()[:5] == b"%PDF-", name
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(result.out / "pdf" / f"{notes.BOOK_NAME}.pdf"),
                               "-"], capture_output=True, text=True, check=True).stdout
        assert "Contents" in text
        assert all(plain(c.title) in text for c in result.chapters)
        assert "PROVED" in text and notes.SUMMARY_PREFIX not in text
        # every chapter starts on a new page: its numbered heading is a page's first line
        firsts = [next((line for line in page.splitlines() if line.strip()), "")
                  for page in text.split("\f")]
        for number, chapter in enumerate(result.chapters, 1):
            heading = f"{number} {plain(chapter.title)}"
            assert any(" ".join(first.split()).startswith(heading[:30]) for first in firsts), heading


def test_book_latex_has_every_glyph_and_nothing_sticks_out(built, xetex, tmp_path):
    """xelatex drops characters its fonts lack with only a log line: none may be missing; and
    no line may stick into the margin (a matrix too wide, an unbreakable formula)."""
    result, _ = built
    source = result.out / "latex" / notes.BOOK_NAME
    work = tmp_path / "book"
    shutil.copytree(source, work)
    subprocess.run(["xelatex", "-interaction=nonstopmode", "-halt-on-error", f"{notes.BOOK_NAME}.tex"],
                   cwd=work, capture_output=True, check=True, timeout=300)
    log = (work / f"{notes.BOOK_NAME}.log").read_text(errors="replace")
    assert "Missing character" not in log, [l for l in log.splitlines() if "Missing character" in l][:5]
    overfull = [float(pt) for pt in re.findall(r"Overfull \\[hv]box \(([\d.]+)pt too", log)]
    assert all(pt <= OVERFULL_LIMIT_PT for pt in overfull), overfull


def test_nested_blocks_dashed_rules_for_mathjax():
    """MathJax draws || and \\hline\\hline as single rules; rules="dashed" keeps nested levels
    apart in both MathJax and LaTeX (arydshln, loaded by the notes' template)."""
    from symconv.latex import latex_matrix

    M = [[1] * 4 for _ in range(4)]
    row = r"1\, & \,1\, & \,1\, & \,1"   # a thin space beside each column rule
    below = r" \\[0.5ex] {} \rule{{0pt}}{{2.7ex}}"   # room above and below each row rule
    assert latex_matrix(M, blocks=[(2, 2), (1, 1)], rules="dashed") == (
        r"\left[\begin{array}{@{}c:c|c:c@{}} " + row + below.format(r"\hdashline") + row
        + below.format(r"\hline") + row + below.format(r"\hdashline") + row + r" \end{array}\right]")
    assert "||" in latex_matrix(M, blocks=[(2, 2), (1, 1)])  # the default is unchanged
    with pytest.raises(ValueError, match="rules"):
        latex_matrix(M, rules="dotted")


def test_command_builds_and_prints_the_summary(tmp_path, capsys, no_torch):
    out = tmp_path / "out"
    code = cli.main(["notes", "--out", str(out), "--format", "html", "--no-book", str(NOTEBOOKS[0])])
    captured = capsys.readouterr().out
    assert code == 0
    assert f"[1/1] {NOTEBOOKS[0].name}" in captured
    assert "Proof summary:" in captured and str(out / "html") in captured
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == sorted(
        [f"html/{NOTEBOOKS[0].stem}.html", "html/index.html", *(f"html/{name}" for name in notes.mathjax_files())])


# ---- failures -------------------------------------------------------------------------------------
def test_failing_cell_fails_the_build_naming_notebook_and_cell(tmp_path, capsys):
    broken = tmp_path / "nb" / NOTEBOOKS[0].name
    broken.parent.mkdir()
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    nb.cells.insert(4, nbformat.v4.new_code_cell("spec = symconv.ConvSpec(1, 1, kernel_size=9, input_size=2)\n"))
    nbformat.write(nb, broken)
    out = tmp_path / "out"
    code = cli.main(["notes", "--out", str(out), "--format", "html", str(broken)])
    err = capsys.readouterr().err
    assert code == 1
    # as Jupyter shows it: the third code cell, In [3] (markdown cells are not counted)
    assert f"{broken.name}: code cell 3 (In [3]: 'spec = symconv.ConvSpec(1, 1, kernel_size=9, input_size=2)')" in err
    assert "SpecError" in err and "kernel_size" in err
    assert not [p for p in out.rglob("*") if p.is_file()], "a failed build must write nothing"


def test_a_refuted_or_missing_summary_fails_the_build(tmp_path):
    refuted = _tiny_notebook(tmp_path / "refuted.ipynb",
                             "import symconv.notes\nprint(symconv.notes.summary_line({'a': True, 'b': False}))")
    silent = _tiny_notebook(tmp_path / "silent.ipynb", "x = 1")
    with pytest.raises(notes.NotesError, match=r"refuted.ipynb: proofs did not hold: b"):
        notes.build([refuted], tmp_path / "out", ["html"])
    with pytest.raises(notes.NotesError, match=r"silent.ipynb: printed no proof summary line"):
        notes.build([silent], tmp_path / "out", ["html"])


@pytest.mark.parametrize("argv, message", [
    (["--format", "pdf,docx"], "format"),
    (["--format", ""], "format"),
    (["does-not-exist.ipynb"], "notebook"),
    (["README.md"], "notebook"),
    (["--timeout", "0"], "timeout"),
])
def test_bad_arguments_exit_2(argv, message, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert cli.main(["notes", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symconv notes: error:") and message in err


def test_unparsable_argument_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["notes", "--timeout", "soon"])
    assert exit_info.value.code == 2


def test_default_formats_without_tex_hint_the_debian_packages(monkeypatch):
    real = shutil.which
    monkeypatch.setattr(notes.shutil, "which", lambda tool: None if tool == "xelatex" else real(tool))
    formats, hint = notes.parse_formats(None)
    assert "pdf" not in formats and "html" in formats
    assert hint is not None and TEX_PACKAGES in hint and "\n" not in hint
    with pytest.raises(ValueError, match="xelatex"):
        notes.parse_formats("pdf")


def test_default_formats_with_all_tools():
    if notes.tools_missing(notes.FORMATS):
        pytest.skip("pandoc or xelatex missing")
    assert notes.parse_formats(None) == (notes.FORMATS, None)


# ---- the summary line -----------------------------------------------------------------------------
def test_summary_line_round_trip():
    class Held:
        holds = True

    line = notes.summary_line({"toeplitz": Held(), "negative control": True, "bad": False})
    assert line.startswith(notes.SUMMARY_PREFIX)
    assert json.loads(line[len(notes.SUMMARY_PREFIX):]) == {
        "toeplitz": True, "negative control": True, "bad": False}
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"noise\n{line}\n")]
    nb.cells = [cell]
    assert notes.parse_summary(nb) == {"toeplitz": True, "negative control": True, "bad": False}
    with pytest.raises(ValueError, match="at least one proof"):
        notes.summary_line({})
