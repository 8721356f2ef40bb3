"""The HTML side of the lecture notes: chapter pages with one ``<h1>``, a plain-text ``<title>``,
previous/next links and described images, and the ``index.html`` table of contents.

The chapter list (numbers, titles, file names) is known before any notebook runs, from the
notebooks' first headings, so every page can link to its neighbours; a chapter added to
``derivations/`` appears in the contents and the navigation without any change here.
"""

from __future__ import annotations

import copy
import html
import posixpath
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

REMOVE_INPUT_TAG = "remove_input"
"""Cell tag: the cell's code is not printed in any format, its outputs are (a figure, a display
that only assembles LaTeX)."""
REMOVE_CELL_TAG = "remove_cell"
"""Cell tag: the cell is executed but printed in no format, neither code nor outputs."""
ALT_FIELD = "alt"
"""Cell metadata field with the description of the cell's images (their HTML ``alt`` text)."""
INDEX_NAME = "index.html"


@dataclass(frozen=True)
class Page:
    """One chapter of the notes: its number, title (Markdown, may hold math) and file stem."""

    number: int
    title: str
    name: str

    @property
    def plain_title(self) -> str:
        return plain_text(self.title)


def chapter_number(stem: str, position: int) -> int:
    """The number in a notebook name ``07_transpose`` (7), else its 1-based position.

    >>> chapter_number("07_transpose_backprop", 3), chapter_number("intro", 3)
    (7, 3)
    """
    match = re.match(r"(\d+)[_-]", stem)
    return int(match.group(1)) if match else position


_SUPERSCRIPT_T = re.compile(r"\^\{?\\(?:mathsf\s*\{?T\}?|top|intercal|mathrm\s*\{?T\}?)\}?|\^\{?T\}?(?![A-Za-z])")
_WRAPPERS = re.compile(r"\\(?:text|mathrm|mathsf|mathbf|mathit|operatorname|mathcal)\s*\{([^{}]*)\}")
_SYMBOLS = {r"\times": "×", r"\cdot": "·", r"\le": "≤", r"\ge": "≥", r"\otimes": "⊗", r"\to": "→",
            r"\ldots": "…", r"\dots": "…", r"\infty": "∞"}


def _math_to_text(tex: str) -> str:
    text = _SUPERSCRIPT_T.sub("ᵀ", tex)
    for _ in range(3):  # nested wrappers, innermost first
        text = _WRAPPERS.sub(r"\1", text)
    text = re.sub(r"\\hat\s*\{?([A-Za-z])\}?", lambda m: m.group(1) + "\u0302", text)
    for command, symbol in _SYMBOLS.items():
        text = re.sub(re.escape(command) + r"(?![A-Za-z])", symbol, text)
    text = re.sub(r"\\([A-Za-z]+)", _greek, text)
    text = re.sub(r"[{}]|\\[,;!: ]", "", text)
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", text).strip())


def _greek(match: re.Match) -> str:
    name = match.group(1)
    try:
        return unicodedata.lookup(f"GREEK {'CAPITAL' if name[0].isupper() else 'SMALL'} LETTER {name.upper()}")
    except KeyError:
        return name


def plain_text(markdown: str) -> str:
    r"""A title in Markdown with ``$…$`` math as plain text (for ``<title>``, links, alt text).

    >>> plain_text(r"Transposed convolution and backpropagation: $T^{\mathsf T}$")
    'Transposed convolution and backpropagation: Tᵀ'
    >>> plain_text(r"$\hat C_{\text{in}} \times \sigma$ and `code` **bold**")
    'Ĉ_in × σ and code bold'
    """
    text = re.sub(r"\$\$?(.+?)\$\$?", lambda m: _math_to_text(m.group(1)), markdown)
    text = re.sub(r"[`*]|(?<!\w)_(?=\w)|(?<=\w)_(?!\w)", "", text)
    return " ".join(text.split())


def caption_of(cells: Sequence, index: int) -> str:
    """The description of the images of cell ``index``: its metadata field ``alt``, else the
    first sentence of the nearest markdown cell above it (the text that introduces the figure)."""
    alt = cells[index].get("metadata", {}).get(ALT_FIELD)
    if alt:
        return str(alt)
    for cell in reversed(cells[:index]):
        if cell.cell_type == "markdown":
            prose = " ".join(line for line in cell.source.splitlines() if not line.startswith("#"))
            sentence = re.split(r"(?<=[.:;])\s", plain_text(prose), maxsplit=1)[0]
            return sentence.rstrip(".:;") or "figure"
    return "figure"


def describe_images(nb) -> None:
    """Give every PNG output of ``nb`` an ``alt`` text (read by the HTML template) in place."""
    for index, cell in enumerate(nb.cells):
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        for output in images:
            metadata = output.setdefault("metadata", {})
            metadata.setdefault("image/png", {})["alt"] = caption_of(nb.cells, index)


def pdf_link(name: str) -> str:
    """The link from a page in ``html/`` to the PDF of ``name`` in ``pdf/`` (both below the output
    directory).

    >>> pdf_link("01_conv1d_toeplitz").split("/")
    ['..', 'pdf', '01_conv1d_toeplitz.pdf']
    """
    return html.escape(posixpath.relpath(f"pdf/{name}.pdf", "html"))


def navigation(pages: Sequence[Page], name: str, pdf: bool) -> str:
    """The previous/contents/next bar of the page ``name`` (relative links; a page that is not a
    chapter, the book, links to the contents only)."""
    names = [p.name for p in pages]
    at = names.index(name) if name in names else None  # the book: only the contents
    links = []
    if at is not None and at > 0:
        links.append(_link(pages[at - 1], "rel=\"prev\"", "← "))
    links.append(f'<a href="{INDEX_NAME}">Contents</a>')
    if pdf:
        links.append(f'<a href="{pdf_link(name)}">PDF</a>')
    if at is not None and at + 1 < len(pages):
        links.append(_link(pages[at + 1], "rel=\"next\"", "", " →"))
    return '<nav class="symconv-nav">' + " | ".join(links) + "</nav>"


def _link(page: Page, rel: str, before: str, after: str = "") -> str:
    text = html.escape(f"{before}{page.number}. {page.plain_title}{after}")
    return f'<a href="{html.escape(page.name)}.html" {rel}>{text}</a>'


def index_page(title: str, pages: Sequence[Page], pdf: bool, book: str | None) -> str:
    """``index.html``: the table of contents, a row per chapter with its number, title and links
    to its HTML page and (when built) its PDF, then the whole book."""
    rows = []
    for page in pages:
        name = html.escape(page.name)
        to_pdf = f' (<a href="{pdf_link(page.name)}">PDF</a>)' if pdf else ""
        rows.append(f'<li value="{page.number}"><a href="{name}.html">{html.escape(page.plain_title)}</a>'
                    f"{to_pdf}</li>")
    whole = ""
    if book:
        to_pdf = f' (<a href="{pdf_link(book)}">PDF</a>)' if pdf else ""
        whole = f'<p>All chapters in one document: <a href="{book}.html">the book</a>{to_pdf}</p>\n'
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            f"<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{html.escape(title)}</h1>\n"
            "<h2>Contents</h2>\n<ol>\n" + "\n".join(rows) + f"\n</ol>\n{whole}</main>\n</body>\n</html>\n")


_STYLE = ("body { font-family: sans-serif; max-width: 50em; margin: 2em auto; line-height: 1.5; } "
          "li { margin: 0.3em 0; }")

NAV_STYLE = (".symconv-nav { margin: 0.5em 0 1em; padding: 0.5em 1em; border-bottom: 1px solid #ccc; } "
             ".symconv-nav a { color: #0645ad; text-decoration: underline; }")


def removal_config(*removed_cells: str):
    """nbconvert's tag-based removal, for every format: build-only cells are executed, not printed
    (also the cells tagged with one of ``removed_cells``)."""
    from traitlets.config import Config

    return Config({"TagRemovePreprocessor": {
        "enabled": True, "remove_cell_tags": {REMOVE_CELL_TAG, *removed_cells},
        "remove_input_tags": {REMOVE_INPUT_TAG}}})


def html_copy(nb, title: str, chapter: bool):
    """A copy titled in plain text (the ``<title>``) whose only H1 is the title: a chapter keeps
    its own; the book gets one and its chapters' headings move a level down. Images described."""
    import nbformat

    nb = copy.deepcopy(nb)
    nb.metadata["title"] = plain_text(title)
    describe_images(nb)
    if not chapter:
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = demote_headings(cell.source)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"# {title}", id="book-title"))
    return nb


HTML_TEMPLATE = r"""{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
<script>
window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\(', '\\)']], displayMath: [['$$', '$$'], ['\\[', '\\]']],
        processEscapes: true, processEnvironments: true, tags: 'ams'},
  svg: {fontCache: 'global'}
};
</script>
<script id="MathJax-script" src="{{ resources.symconv_mathjax }}"></script>
<style type="text/css">
/* a matrix wider than the window scrolls instead of running under the next cell */
.jp-RenderedLatex, .jp-RenderedMarkdown { overflow-x: auto; overflow-y: hidden; }
{{ resources.symconv_nav_style }}
</style>
{%- endblock html_head_js_mathjax -%}
{%- block body_header -%}
{{ super() }}
{{ resources.get('symconv_nav', '') }}
{%- endblock body_header -%}
{% block body_footer %}
{{ resources.get('symconv_nav', '') }}
{{ super() }}
{% endblock body_footer %}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
 alt="{{ output | get_metadata('alt', 'image/png') | escape_html }}">
</div>
{%- endblock data_png %}
"""
"""Extends nbconvert's JupyterLab HTML template: MathJax 3 from the copy beside the pages instead
of MathJax 2 from a CDN, configured like nbconvert's ($…$ inline, environments typeset); no
require.js or mermaid (the notes use neither, and both would be fetched from a CDN); the
navigation bar above and below the page; images with their description as ``alt`` text."""


def html_exporter(config=None):
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    return HTMLExporter(config=config, extra_loaders=[DictLoader({"symconv_notes.html.j2": HTML_TEMPLATE})],
                        template_file="symconv_notes.html.j2")


def demote_headings(source: str) -> str:
    """Markdown headings one level down (``#`` → ``##``): chapters inside the book's page.

    >>> demote_headings("# Title\\ntext #1\\n## Part")
    '## Title\\ntext #1\\n### Part'
    """
    return re.sub(r"^(#{1,5}) ", r"#\1 ", source, flags=re.MULTILINE)
