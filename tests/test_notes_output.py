"""The lecture notes as a reader gets them (issue 15, points 4 and 5): one <h1> and a plain
<title> per page, the contents page index.html, previous/next links, described images, no
build-only code on the page, and a failing cell named as Jupyter shows it.

The chapters are built once (HTML and LaTeX); navigation and the contents are also checked on
tiny notebooks, among them a chapter 9 that no code names.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("nbconvert")
pytest.importorskip("ipykernel")

from symconv import notes, notes_html  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "derivations").glob("*.ipynb"))
HAVE_PANDOC = shutil.which("pandoc") is not None
BUILD_ONLY = ("DerivationPrinter(general.notation).doprint", r"rf\"&= {show(step.rhs)} \tag*",
              "from symconv.notes_figures import", 'r"\\begin{aligned}\\text{lacks: }&"',
              "import symconv.notes")
"""Code of cells that only assemble LaTeX or draw a figure: never printed."""


@pytest.fixture(scope="module")
def kernel_imports_this_checkout():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(ROOT))
        yield


@pytest.fixture(scope="module")
def built(tmp_path_factory, kernel_imports_this_checkout):
    formats = ["html", "latex"] if HAVE_PANDOC else ["html"]
    out = tmp_path_factory.mktemp("notes-out")
    return notes.build(NOTEBOOKS, out, formats, progress=lambda line: None)


def _page(result, name: str) -> str:
    return (result.out / "html" / f"{name}.html").read_text(encoding="utf-8")


def _tiny(path: Path, title: str, *sources: str, tags: tuple[str, ...] = ()) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nSome prose.")]
    nb.cells += [nbformat.v4.new_code_cell(source, metadata={"tags": list(tags)}) for source in sources]
    nb.cells.append(nbformat.v4.new_code_cell("import symconv.notes\nprint(symconv.notes.summary_line({'a': True}))",
                                              metadata={"tags": [notes.SUMMARY_TAG]}))
    nbformat.write(nb, path)
    return path


# ---- every chapter page ---------------------------------------------------------------------------
def test_every_page_has_one_h1_the_title_and_a_plain_title(built):
    for chapter in built.chapters:
        page = _page(built, chapter.name)
        headings = re.findall(r"<h1\b[^>]*>(.*?)</h1>", page, flags=re.S)
        assert len(headings) == 1, (chapter.name, headings)
        assert re.sub(r"<[^>]+>", "", headings[0]).replace("¶", "").strip() == html.escape(chapter.title, quote=False)
        (title,) = re.findall(r"<title>(.*?)</title>", page)
        assert "$" not in title and "\\" not in title and title == html.escape(notes_html.plain_text(chapter.title))
    book = _page(built, notes.BOOK_NAME)
    assert len(re.findall(r"<h1\b", book)) == 1 and f"<title>{notes.BOOK_TITLE}</title>" in book


def test_chapter_7_title_is_plain_text(built):
    page = _page(built, "07_transpose_backprop")
    assert "<title>Transposed convolution and backpropagation: Tᵀ</title>" in page


def test_every_image_is_described(built):
    images = 0
    for name in [c.name for c in built.chapters] + [notes.BOOK_NAME]:
        for alt in re.findall(r"<img\b[^>]*\balt=\"([^\"]*)\"", _page(built, name)):
            images += 1
            assert len(alt) > 30 and "No description" not in alt, (name, alt)
        assert "No description has been provided" not in _page(built, name)
        page = _page(built, name)
        assert len(re.findall(r"<img\b", page)) == len(re.findall(r"<img\b[^>]*\balt=", page))
    assert images >= 2 * 8  # every chapter's figures, in the chapters and in the book


def test_the_four_new_figures_and_im2col_entries_are_drawn(built):
    with_figures = {c.name for c in built.chapters if any(
        "image/png" in o.get("data", {}) for cell in c.notebook.cells for o in cell.get("outputs", []))}
    assert {"01_conv1d_toeplitz", "03_channels_batch_bias", "05_im2col", "06_nonlinear_cnn_as_mlp",
            "07_transpose_backprop"} <= with_figures
    assert 'alt="The patch matrix P of a 6 by 6 image' in _page(built, "05_im2col")


def test_build_only_code_is_in_no_output(built):
    """The code of cells tagged remove_input/remove_cell (and the summary) is printed in no
    format, their outputs are (the chain, the statement, the figures)."""
    for chapter in built.chapters:
        stored = nbformat.read(ROOT / "derivations" / f"{chapter.name}.ipynb", as_version=4)
        hidden = [c.source for c in stored.cells
                  if {notes_html.REMOVE_INPUT_TAG, notes.SUMMARY_TAG} & set(c.metadata.get("tags", []))]
        assert hidden, chapter.name
        exported = [_page(built, chapter.name)]
        if HAVE_PANDOC:
            exported.append((built.out / "latex" / chapter.name / f"{chapter.name}.tex").read_text())
        for text in exported:
            for marker in BUILD_ONLY:
                assert marker not in text and html.escape(marker) not in text, (chapter.name, marker)
    chapter_1 = _page(built, "01_conv1d_toeplitz")
    assert r"\tag*{\small definition of the matrix product}" in chapter_1  # the chain itself is shown


# ---- the contents and the navigation --------------------------------------------------------------
def test_index_lists_every_chapter_in_order_with_links(built):
    index = (built.out / "html" / "index.html").read_text(encoding="utf-8")
    entries = re.findall(r'<li value="(\d+)"><a href="([^"]+)">([^<]+)</a>', index)
    assert entries == [(str(number), f"{c.name}.html", html.escape(notes_html.plain_text(c.title)))
                       for number, c in enumerate(built.chapters, 1)]
    assert len(re.findall(r"<h1\b", index)) == 1 and f'<a href="{notes.BOOK_NAME}.html">' in index
    assert "../pdf/" not in index  # no PDF was built, so none is linked


def test_previous_and_next_on_every_chapter_page(built):
    names = [c.name for c in built.chapters]
    for at, name in enumerate(names):
        page = _page(built, name)
        previous = re.findall(r'<a href="([^"]+)" rel="prev"', page)
        following = re.findall(r'<a href="([^"]+)" rel="next"', page)
        assert previous == ([f"{names[at - 1]}.html"] * 2 if at else []), name  # above and below
        assert following == ([f"{names[at + 1]}.html"] * 2 if at + 1 < len(names) else []), name
        assert page.count('<a href="index.html">Contents</a>') == 2


def test_a_new_chapter_joins_the_contents_and_the_navigation(tmp_path, kernel_imports_this_checkout):
    """A chapter 9 nobody registered: numbered from its file name, linked from chapter 1, listed
    in the contents with its PDF when PDF is built."""
    first = _tiny(tmp_path / "01_first.ipynb", "The first chapter")
    ninth = _tiny(tmp_path / "09_pooling.ipynb", r"Pooling as $P^{\mathsf T}$ and $\sigma$")
    pages = notes.pages_of([first, ninth])
    assert [(p.number, p.plain_title, p.name) for p in pages] == [
        (1, "The first chapter", "01_first"), (9, "Pooling as Pᵀ and σ", "09_pooling")]
    assert notes_html.navigation(pages, "01_first", pdf=True) == (
        '<nav class="symconv-nav"><a href="index.html">Contents</a> | <a href="../pdf/01_first.pdf">PDF</a>'
        ' | <a href="09_pooling.html" rel="next">9. Pooling as Pᵀ and σ →</a></nav>')
    index = notes_html.index_page("Notes", pages, pdf=True, book=None)
    assert ('<li value="9"><a href="09_pooling.html">Pooling as Pᵀ and σ</a> '
            '(<a href="../pdf/09_pooling.pdf">PDF</a>)</li>') in index
    result = notes.build([first, ninth], tmp_path / "out", ["html"], progress=lambda line: None)
    assert '<a href="01_first.html" rel="prev">← 1. The first chapter</a>' in _page(result, "09_pooling")
    assert "<title>Pooling as Pᵀ and σ</title>" in _page(result, "09_pooling")
    assert (tmp_path / "out" / "html" / "index.html").is_file()


def test_tagged_cells_are_executed_but_not_printed(tmp_path, kernel_imports_this_checkout):
    path = _tiny(tmp_path / "tags.ipynb", "Tags", "print('shown output ' + 'of hidden code')",
                 tags=(notes_html.REMOVE_INPUT_TAG,))
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell("print('secret ' + 'cell')", metadata={"tags": ["remove_cell"]}))
    nbformat.write(nb, path)
    result = notes.build([path], tmp_path / "out", ["html"], progress=lambda line: None)
    page = _page(result, "tags")
    assert "shown output of hidden code" in page and "+ &#39;of hidden code&#39;" not in page
    assert "of hidden code')" not in page and "secret cell" not in page and "secret" not in page


# ---- a failing cell, as the reader finds it -------------------------------------------------------
def test_a_failing_cell_is_named_as_jupyter_shows_it(tmp_path, kernel_imports_this_checkout):
    path = _tiny(tmp_path / "broken.ipynb", "Broken", "n = 6", "")
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("More prose."))
    nb.cells.insert(4, nbformat.v4.new_code_cell("\n# the third code cell\nundefined_name + 1"))
    nbformat.write(nb, path)
    with pytest.raises(notes.NotesError) as error:
        notes.build([path], tmp_path / "out", ["html"], progress=lambda line: None)
    assert str(error.value) == ("broken.ipynb: code cell 3 (In [2]: '# the third code cell') failed: "
                                "NameError: name 'undefined_name' is not defined")
    assert not (tmp_path / "out" / "html").exists()


def test_alt_text_falls_back_to_the_caption_above():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## Part\nThe picture shows $T^{\\mathsf T}$ as a grid. More."),
                nbformat.v4.new_code_cell("draw()"), nbformat.v4.new_code_cell("draw()", metadata={"alt": "Mine."})]
    assert notes_html.caption_of(nb.cells, 1) == "The picture shows Tᵀ as a grid"
    assert notes_html.caption_of(nb.cells, 2) == "Mine."

