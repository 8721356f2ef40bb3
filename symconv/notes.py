"""Lecture notes: execute the ``derivations/`` notebooks and typeset them.

Pipeline, per notebook: execute every cell in a fresh IPython kernel launched by the running
interpreter (nbclient), read the proof summary the notebook printed (a line
``symconv-proofs: {"name": true, …}`` from :func:`summary_line`), and export it with nbconvert
to HTML, LaTeX and PDF (xelatex). Finally all chapters are merged into one "book" with a table
of contents. The HTML typesets its math offline: it loads MathJax 3 from ``html/mathjax/``, a
copy of the component shipped by the PyPI package ``django-static-mathjax`` (no CDN).
Everything is written to a staging directory first and moved into place only when the whole
build succeeded, so a failed build leaves no partial files behind.

This module imports nbconvert/nbclient only inside the build functions: a notebook may import
``symconv.notes`` for :func:`summary_line` without paying for them.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import notes_html as pages_html
from .errors import SpecError
from .latex.build import TEX_PACKAGES
from .latex.document import FIT_MACRO

FORMATS = ("pdf", "html", "latex")
SUMMARY_PREFIX = "symconv-proofs: "
SUMMARY_TAG = "symconv-summary"
"""Cell tag of the summary cell: it is executed (the build reads its output) but not exported."""
BOOK_NAME = "symconv-notes"
BOOK_TITLE = "symconv lecture notes: convolution layers as matrices, proved"
CELL_TIMEOUT = 300

_PANDOC_HINT = "pandoc (Debian package 'pandoc')"

MATHJAX_PACKAGE = "django-static-mathjax"
"""The PyPI distribution that ships MathJax 3 (import name ``mathjax``, no dependencies)."""
MATHJAX_COMPONENT = "tex-svg-full.js"
"""One self-contained file: TeX input with every extension, SVG output (no web fonts to load,
which a browser refuses for pages opened from file://)."""
MATHJAX_DIR = "mathjax"
"""Where the HTML pages find MathJax, relative to the ``html/`` output directory."""


class NotesError(RuntimeError):
    """A notebook failed to build: the message names the notebook and, if any, the cell."""


@dataclass(frozen=True)
class Chapter:
    """One executed notebook: its proofs (name → held), the seconds spent per stage, and the
    executed notebook itself (with its outputs)."""

    name: str
    title: str
    proofs: dict[str, bool]
    timings: dict[str, float] = field(default_factory=dict)
    notebook: object = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class NotesBuild:
    out: Path
    formats: tuple[str, ...]
    chapters: tuple[Chapter, ...]
    files: tuple[Path, ...]


# ---- used inside the notebooks -----------------------------------------------------------------
def summary_line(proofs: Mapping[str, object]) -> str:
    """The machine-readable last line of a notebook: ``symconv-proofs: {"name": true, …}``.

    ``proofs`` maps a short name to anything with a boolean ``holds`` (a ``Proof``, a
    ``Derivation``) or to a bool.
    """
    if not proofs:
        raise SpecError("proofs", "{}", "a chapter must record at least one proof")
    verdicts = {str(name): bool(getattr(p, "holds", p)) for name, p in proofs.items()}
    return SUMMARY_PREFIX + json.dumps(verdicts, ensure_ascii=False)


def parse_summary(nb) -> dict[str, bool] | None:
    """The proofs recorded by an executed notebook's summary line (the last one), or None."""
    found = None
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                for line in output.get("text", "").splitlines():
                    if line.startswith(SUMMARY_PREFIX):
                        found = {str(k): bool(v) for k, v in
                                 json.loads(line[len(SUMMARY_PREFIX):]).items()}
    return found


# ---- arguments ------------------------------------------------------------------------------------
def default_directory() -> Path:
    """``./derivations`` (the package points at nothing outside itself: run ``symconv notes`` in
    a checkout, or name the notebooks or their directory)."""
    return Path.cwd() / "derivations"


def discover(paths: Sequence[str | os.PathLike] = ()) -> list[Path]:
    """The notebooks to build: the given files/directories, or all of ``derivations/``, sorted."""
    found: list[Path] = []
    for entry in paths or [default_directory()]:
        path = Path(entry)
        if path.is_dir():
            found.extend(sorted(p for p in path.glob("*.ipynb") if not p.name.startswith(".")))
        elif path.is_file() and path.suffix == ".ipynb":
            found.append(path)
        else:
            raise SpecError("notebook", str(entry), "must be an existing .ipynb file or a directory")
    if not found:
        raise SpecError("notebook", ", ".join(map(str, paths)) or str(default_directory()),
                        "no .ipynb notebooks found (name notebooks or a directory, or run in a "
                        "checkout that has derivations/)")
    if len({p.stem for p in found}) != len(found):
        raise SpecError("notebook", ", ".join(map(str, found)), "notebook names must be distinct")
    return found


def tools_missing(formats: Iterable[str]) -> list[str]:
    """Human names of the external tools the formats need and this machine lacks."""
    formats = set(formats)
    missing = []
    if formats & {"latex", "pdf"} and shutil.which("pandoc") is None:
        missing.append(_PANDOC_HINT)
    if "pdf" in formats and shutil.which("xelatex") is None:
        missing.append(f"xelatex (Debian packages '{TEX_PACKAGES}')")
    return missing


def parse_formats(text: str | None) -> tuple[tuple[str, ...], str | None]:
    """(formats, hint): the requested formats, or the default (all that this machine can build)."""
    if text is None:
        formats = tuple(f for f in FORMATS if not tools_missing([f]))
        missing = tools_missing(FORMATS)
        hint = None if not missing else (
            f"note: building {', '.join(formats)} only; for PDF install " + " and ".join(missing))
        return formats, hint
    formats = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not formats or any(f not in FORMATS for f in formats):
        raise SpecError("format", text, f"must be a comma-separated subset of {', '.join(FORMATS)}")
    missing = tools_missing(formats)
    if missing:
        raise SpecError("format", text, "needs " + " and ".join(missing))
    return formats, None


# ---- execution ---------------------------------------------------------------------------------------
def _kernel_manager():
    """A kernel manager whose 'python3' kernel is launched by *this* interpreter (sys.executable),
    never by whatever ``python`` a kernel spec on the search path names."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class ThisInterpreter(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f",
                                    "{connection_file}"],
                              display_name="Python 3 (symconv notes)", language="python",
                              resource_dir=str(Path(__file__).parent))

    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ThisInterpreter())


def _first_line(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def execute(path: Path, timeout: int = CELL_TIMEOUT):
    """Run every cell of the notebook at ``path`` in a fresh kernel (cwd: its directory).

    Returns the executed notebook; a failing cell raises NotesError naming the notebook and the
    cell as Jupyter shows it (:func:`cell_name`).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    failed: dict[str, int] = {}
    client = NotebookClient(
        nb, timeout=timeout, km=_kernel_manager(), allow_errors=False,
        resources={"metadata": {"path": str(path.parent.resolve())}},
        on_cell_error=lambda cell, cell_index, execute_reply: failed.setdefault("index", cell_index))
    # The inline backend, so figures become PNG outputs even if MPLBACKEND is set elsewhere.
    env = dict(os.environ, MPLBACKEND="module://matplotlib_inline.backend_inline")
    # The kernel process's own stderr (start-up warnings) goes to a log that is quoted only if
    # the kernel dies; the cells' output reaches the notebook through the kernel protocol.
    with tempfile.TemporaryFile("w+") as log:
        try:
            client.execute(env=env, stderr=log)
        except DeadKernelError as error:
            log.seek(0)
            raise NotesError(f"{path.name}: the kernel died ({error}):\n{log.read()[-2000:]}") from None
        except (CellExecutionError, CellTimeoutError) as error:
            _raise_cell_error(path, nb, failed.get("index"), error)
    return nb


def _raise_cell_error(path: Path, nb, index: int | None, error: Exception) -> None:
    from nbclient.exceptions import CellExecutionError
    if index is None:
        index = _failed_cell(nb)
    where = "" if index is None else f" {cell_name(nb, index)}"
    reason = (f"{error.ename}: {error.evalue}" if isinstance(error, CellExecutionError)
              else str(error).strip().splitlines()[0])
    raise NotesError(f"{path.name}:{where} failed: {reason}") from None


def cell_name(nb, index: int) -> str:
    """Cell ``index`` as a reader finds it in Jupyter: ``code cell 3 (In [3]: 'first line')``,
    counting code cells only, from 1, and its execution count (the code cell's number if unset).

    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A"),
    ...     nbformat.v4.new_code_cell("n = 6"), nbformat.v4.new_code_cell("\\nprint(n)")])
    >>> cell_name(nb, 2)
    "code cell 2 (In [2]: 'print(n)')"
    """
    cell = nb.cells[index]
    if cell.cell_type != "code":
        return f"{cell.cell_type} cell {sum(c.cell_type == cell.cell_type for c in nb.cells[:index + 1])}"
    ordinal = sum(c.cell_type == "code" for c in nb.cells[:index + 1])
    count = cell.get("execution_count") or ordinal
    return f"code cell {ordinal} (In [{count}]: {_first_line(cell.source)!r})"


def _failed_cell(nb) -> int | None:
    """The index of the cell that holds an error output (a timeout leaves none)."""
    for index, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return index
    return None


# ---- export ------------------------------------------------------------------------------------------
# Extends nbconvert's LaTeX article template: matrices wider than amsmath's default of 10
# columns; a math output ($…$ or $$…$$) wider than the line (a big matrix, a counterexample) is
# scaled down to fit by symconv's \symconvfit; long align* derivations may break across pages;
# code in a monospace font that has the Unicode of proof summaries; chapters are unnumbered, the
# book is numbered and has a table of contents; titles may hold Markdown math.
_TEMPLATE = r"""((* extends 'index.tex.j2' *))
((* block packages *))((( super() )))
\setcounter{MaxMatrixCols}{64}
\setlength{\arraycolsep}{2.5pt}
\allowdisplaybreaks
\usepackage{arydshln}% dashed block rules (latex_matrix rules="dashed"); after array
((( resources.symconv_fit_macro )))
% Proof summaries print ∂, ⟨⟩, ᵀ: Latin Modern Mono lacks them, DejaVu Sans Mono has them.
\ifPDFTeX\else\IfFontExistsTF{DejaVu Sans Mono}{\setmonofont{DejaVu Sans Mono}[Scale=0.85]}{}\fi
((* if not resources.get('symconv_toc') *))\setcounter{secnumdepth}{0}((* endif *))
((* endblock packages *))
((* block title -*))
\title{((( nb.metadata.title | convert_pandoc('markdown+tex_math_double_backslash', 'latex') | trim )))}
((*- endblock title *))
((* block maketitle *))\maketitle
((* if resources.get('symconv_toc') *))\tableofcontents\clearpage((* endif *))
((* endblock maketitle *))
((* block data_latex -*))
((*- set tex = output.data['text/latex'] | strip_files_prefix | trim -*))
((*- if tex.startswith('$$') and tex.endswith('$$') *))
\par\smallskip\noindent\symconvfit{$\displaystyle ((( tex[2:-2] )))$}\par\smallskip
((*- elif tex.startswith('$') and tex.endswith('$') *))
\par\smallskip\noindent\symconvfit{((( tex )))}\par\smallskip
((*- else *))
((( tex )))
((*- endif *))
((* endblock data_latex *))
"""


def mathjax_files() -> dict[str, Path]:
    """The MathJax files the HTML pages load: {path below html/: installed file}.

    Raises NotesError naming the package to install when it is missing.
    """
    found = importlib.util.find_spec("mathjax")
    roots = list(found.submodule_search_locations or []) if found else []
    for root in roots:
        base = Path(root) / "static" / "mathjax"
        files = {f"{MATHJAX_DIR}/{MATHJAX_COMPONENT}": base / "es5" / MATHJAX_COMPONENT,
                 f"{MATHJAX_DIR}/LICENSE": base / "LICENSE"}
        if all(path.is_file() for path in files.values()):
            return files
    raise NotesError(f"HTML notes need MathJax: pip install {MATHJAX_PACKAGE} "
                     "(or pip install 'symconv[notes]')")


def _latex_exporter(pdf: bool):
    from jinja2 import DictLoader
    from nbconvert import LatexExporter, PDFExporter

    cls = PDFExporter if pdf else LatexExporter
    # raw_mimetypes: the PDF exporter would keep only raw cells of type application/pdf and so
    # drop the book's \clearpage between chapters.
    exporter = cls(config=pages_html.removal_config(SUMMARY_TAG),
                   extra_loaders=[DictLoader({"symconv_notes.tex.j2": _TEMPLATE})],
                   template_file="symconv_notes.tex.j2", raw_mimetypes=["text/latex", ""])
    if pdf:
        exporter.latex_command = ["xelatex", "-interaction=nonstopmode", "-halt-on-error", "{filename}"]
    return exporter


def _for_latex(nb, title: str, chapter: bool):
    """A titled copy; a chapter's own H1 becomes the document title."""
    nb = copy.deepcopy(nb)
    nb.metadata["title"] = title
    if chapter and nb.cells and nb.cells[0].cell_type == "markdown":
        rest = _H1.sub("", nb.cells[0].source, count=1).strip()
        if rest:
            nb.cells[0].source = rest
        else:
            nb.cells.pop(0)
    return nb


_H1 = re.compile(r"^# +(.+?)\s*$", re.MULTILINE)


def title_of(nb, fallback: str) -> str:
    """The text of the first level-1 heading of the notebook's first markdown cell."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = _H1.search(cell.source)
            return match.group(1) if match else fallback
    return fallback


def export(nb, name: str, title: str, formats: Sequence[str], staging: Path,
           chapter: bool = True, pages: Sequence[pages_html.Page] = ()) -> list[Path]:
    """Write ``name`` in each format below ``staging``: html/NAME.html (loading MathJax from
    html/mathjax/, which :func:`build` writes; linked to its neighbours among ``pages``),
    latex/NAME/NAME.tex (+ figures), pdf/NAME.pdf. Returns the paths written (relative to
    ``staging``)."""
    resources = {"metadata": {"name": name}, "symconv_toc": not chapter,
                 "symconv_fit_macro": FIT_MACRO, "symconv_nav_style": pages_html.NAV_STYLE,
                 "symconv_mathjax": f"{MATHJAX_DIR}/{MATHJAX_COMPONENT}"}
    if pages:
        resources["symconv_nav"] = pages_html.navigation(pages, name, pdf="pdf" in formats)
    written: list[Path] = []

    def put(relative: str, data: bytes) -> None:
        path = staging / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(Path(relative))

    if "html" in formats:
        exporter = pages_html.html_exporter(pages_html.removal_config(SUMMARY_TAG))
        page, _ = exporter.from_notebook_node(pages_html.html_copy(nb, title, chapter), copy.deepcopy(resources))
        put(f"html/{name}.html", page.encode())
    nb = _for_latex(nb, title, chapter)
    if "latex" in formats:
        tex, extra = _latex_exporter(pdf=False).from_notebook_node(nb, copy.deepcopy(resources))
        put(f"latex/{name}/{name}.tex", tex.encode())
        for figure, data in extra.get("outputs", {}).items():
            put(f"latex/{name}/{figure}", data)
    if "pdf" in formats:
        from nbconvert.exporters.pdf import LatexFailed
        try:
            pdf, _ = _latex_exporter(pdf=True).from_notebook_node(nb, copy.deepcopy(resources))
        except LatexFailed as error:
            tail = "\n".join(str(error).splitlines()[-15:])
            raise NotesError(f"{name}: xelatex failed on the exported LaTeX:\n{tail}") from None
        put(f"pdf/{name}.pdf", pdf)
    return written


def merge(chapters: Sequence[tuple[str, object]]) -> object:
    """One notebook holding every (name, chapter)'s cells in order (the book): each chapter starts
    on a new page in LaTeX/PDF, and cell ids are prefixed by the chapter name to stay unique."""
    import nbformat

    book = nbformat.v4.new_notebook()
    for name, nb in chapters:
        book.cells.append(nbformat.v4.new_raw_cell(r"\clearpage", metadata={"raw_mimetype": "text/latex"},
                                                   id=f"{name}-newpage"))
        for index, cell in enumerate(copy.deepcopy(nb.cells)):
            cell["id"] = f"{name}-{cell.get('id', index)}"
            book.cells.append(cell)
        book.metadata.setdefault("language_info", nb.metadata.get("language_info", {}))
    return book


# ---- the build ---------------------------------------------------------------------------------------
def pages_of(notebooks: Sequence[Path]) -> list[pages_html.Page]:
    """Number, title and name of every chapter, read from the stored notebooks before any runs
    (so that every page can link to the next)."""
    import nbformat

    return [pages_html.Page(pages_html.chapter_number(path.stem, position),
                            title_of(nbformat.read(path, as_version=4), path.stem), path.stem)
            for position, path in enumerate(notebooks, 1)]


def _run(path: Path, timeout: int) -> tuple[object, dict[str, bool], float]:
    """The executed notebook, its proofs (all held) and the seconds it ran; NotesError if a
    cell fails or the summary is missing or records a proof that did not hold."""
    start = time.perf_counter()
    nb = execute(path, timeout)
    ran = time.perf_counter() - start
    proofs = parse_summary(nb)
    if proofs is None:
        raise NotesError(f"{path.name}: printed no proof summary line (end the notebook "
                         f"with a cell tagged {SUMMARY_TAG!r} that prints "
                         "symconv.notes.summary_line(proofs))")
    refuted = [k for k, held in proofs.items() if not held]
    if refuted:
        raise NotesError(f"{path.name}: proofs did not hold: {', '.join(refuted)}")
    return nb, proofs, ran


def build(notebooks: Sequence[Path], out: str | os.PathLike, formats: Sequence[str],
          progress: Callable[[str], None] = print, book: bool = True,
          timeout: int = CELL_TIMEOUT) -> NotesBuild:
    """Execute and export every notebook, then the book and (for HTML) the contents page
    html/index.html; all-or-nothing into ``out``.

    Raises NotesError if a cell fails, a notebook records no proof summary, or a recorded proof
    does not hold.
    """
    out = Path(out)
    mathjax = mathjax_files() if "html" in formats else {}  # fail before executing anything
    pages = pages_of(notebooks)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".symconv-notes-", dir=out))
    try:
        chapters, executed, written = [], [], []
        for relative, source in mathjax.items():
            (staging / "html" / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, staging / "html" / relative)
            written.append(Path("html") / relative)
        for number, (path, page) in enumerate(zip(notebooks, pages), 1):
            nb, proofs, ran = _run(path, timeout)
            start = time.perf_counter()
            written += export(nb, path.stem, page.title, formats, staging, pages=pages)
            exported = time.perf_counter() - start
            chapters.append(Chapter(path.stem, page.title, proofs, {"execute": ran, "export": exported}, nb))
            executed.append((path.stem, nb))
            progress(f"[{number}/{len(notebooks)}] {path.name}: executed in {ran:.1f} s, "
                     f"{len(proofs)} proof(s) held, exported {','.join(formats)} in {exported:.1f} s")
        with_book = book and len(executed) > 1
        if with_book:
            start = time.perf_counter()
            written += export(merge(executed), BOOK_NAME, BOOK_TITLE, formats, staging, chapter=False,
                              pages=pages)
            progress(f"[book] {BOOK_NAME}: {len(executed)} chapters, "
                     f"exported {','.join(formats)} in {time.perf_counter() - start:.1f} s")
        if "html" in formats:
            contents = pages_html.index_page(BOOK_TITLE, pages, "pdf" in formats, BOOK_NAME if with_book else None)
            (staging / "html" / pages_html.INDEX_NAME).write_text(contents, encoding="utf-8")
            written.append(Path("html") / pages_html.INDEX_NAME)
        for relative in written:
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return NotesBuild(out, tuple(formats), tuple(chapters), tuple(out / r for r in written))


def report(result: NotesBuild, width: int = 100) -> str:
    """The proof summary (every recorded proof, per notebook) and where the outputs are."""
    import textwrap

    total = sum(len(c.proofs) for c in result.chapters)
    lines = [f"Proof summary: {total} proofs held in {len(result.chapters)} notebooks"]
    for chapter in result.chapters:
        lines.append(f"  {chapter.name} ({len(chapter.proofs)}):")
        lines += textwrap.wrap("; ".join(chapter.proofs), width, initial_indent=" " * 6,
                               subsequent_indent=" " * 6)
    lines.append("Outputs:")
    places = {"pdf": "pdf/*.pdf", "html": "html/*.html", "latex": "latex/*/*.tex"}
    for fmt in result.formats:
        lines.append(f"  {fmt:<5} {result.out / places[fmt]}")
    lines += [f"  book  {path}" for path in result.files if path.stem == BOOK_NAME]
    lines += [f"  contents {path}" for path in result.files if path.name == pages_html.INDEX_NAME]
    return "\n".join(lines)
