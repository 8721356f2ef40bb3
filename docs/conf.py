"""Sphinx configuration of symconv's API reference: ``make docs`` (HTML, warnings are errors)
and ``sphinx-build -b doctest`` (every example in the pages and the docstrings they include)."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # document this checkout, whichever copy is installed

import symconv  # noqa: E402  (after the path above)
from symconv.notes import MATHJAX_COMPONENT, MATHJAX_DIR, mathjax_files  # noqa: E402

project = "symconv"
author = "the symconv developers"
release = version = symconv.__version__
copyright = "symconv developers, MIT licence"

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.doctest", "sphinx.ext.mathjax",
              "myst_parser"]
# docs/architecture.md is Markdown, readable on its own in the repository; $…$ and $$…$$ are math.
myst_enable_extensions = ["dollarmath"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
root_doc = "index"

# autodoc: members in source order, the signature as written (annotations are strings, never
# evaluated), and the class docstring alone (``__init__`` of dataclasses says nothing more).
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_class_signature = "separated"
autoclass_content = "class"
autodoc_preserve_defaults = True
napoleon_numpy_docstring = True
napoleon_google_docstring = False

# The docstrings' examples are pytest doctests (``--doctest-modules``); here they run once more
# as the reader sees them. Every page starts from ``import symconv``.
doctest_global_setup = "import symconv"
doctest_test_doctest_blocks = ""  # docstrings: one group each, see _plain_text

html_theme = "alabaster"
html_title = f"symconv {release}"
html_static_path: list[str] = []


def _offline_mathjax(app, exception) -> None:
    """Copy the MathJax 3 component the lecture notes use beside the pages: the reference
    typesets its formulas offline, like the notes (no CDN)."""
    if exception is None and app.builder.format == "html":
        for relative, source in mathjax_files().items():
            target = Path(app.outdir) / "_static" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


mathjax_path = f"{MATHJAX_DIR}/{MATHJAX_COMPONENT}"  # below _static/


_MARKUP = re.compile(r"(``.*?``)|(?<!\\)([*|])")  # a literal span, or a * or | outside one


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def plain_text_docstring(lines: list[str], group: str | None = None, module: str = "") -> list[str]:
    r"""symconv's docstrings are plain text with formulas, read in the source as often as here.
    Make them reStructuredText that shows them as written: a ``*`` multiplies or unpacks (never
    emphasis), ``|c|`` is an absolute value (never a substitution), and a block indented below
    its paragraph after a blank line (a formula, a table, a code sample) is shown verbatim.
    Bullets stay as they are. With a ``group``, each run of doctest lines becomes a
    ``.. doctest:: group`` whose setup imports ``module``'s globals, as ``pytest
    --doctest-modules`` runs a docstring's examples.

    >>> plain_text_docstring(["y = w * x, x of shape (C_in, *k), |c|:", "", "    T = Σ_k w * x", "",
    ...                       "* a bullet", ">>> 2*3", "6"])
    ['y = w \\* x, x of shape (C_in, \\*k), \\|c\\|:', '', '::', '', '    T = Σ_k w * x', '', '* a bullet', '>>> 2*3', '6']
    >>> plain_text_docstring([">>> f(1)", "2"], group="m.f", module="m")[:4]
    ['.. doctest:: m.f', '', '   >>> f(1)', '   2']
    """
    out: list[str] = []
    verbatim_below: int | None = None  # the indentation a verbatim block must exceed
    in_doctest = False
    text_indent = 0
    for line in lines:
        stripped = line.strip()
        if verbatim_below is not None and stripped and _indent(line) <= verbatim_below:
            verbatim_below = None
        starts = stripped.startswith(">>>") and not in_doctest
        in_doctest = stripped.startswith((">>>", "...")) or (in_doctest and bool(stripped))
        if in_doctest and group is not None:
            if starts:
                out += [" " * _indent(line) + f".. doctest:: {group}", ""]
            line = "   " + line
        elif verbatim_below is None and stripped and not in_doctest:
            if out and not out[-1].strip() and _indent(line) > text_indent:
                previous = next((p for p in reversed(out) if p.strip()), "")
                if not previous.rstrip().endswith("::"):
                    out += ["::", ""]
                verbatim_below = text_indent
            else:
                text_indent = _indent(line)
                bullet = re.match(r"\s*\* ", line)
                head, tail = (line[:bullet.end()], line[bullet.end():]) if bullet else ("", line)
                line = head + _MARKUP.sub(lambda m: m.group(1) or "\\" + m.group(2), tail)
        out.append(line)
    if group is not None and any(line.lstrip().startswith(">>>") for line in lines):
        out += ["", f".. testsetup:: {group}", "",
                f"   globals().update(vars(__import__('importlib').import_module({module!r})))"]
    return out


def _module_of(name: str, obj: object) -> str:
    """The module whose globals a docstring's examples see (a property's: its getter's)."""
    for candidate in (obj, getattr(obj, "fget", None), getattr(obj, "func", None)):
        module = getattr(candidate, "__module__", None)
        if isinstance(module, str) and module.startswith("symconv"):
            return module
    parts = name.split(".")
    while parts and ".".join(parts) not in sys.modules:
        parts.pop()
    return ".".join(parts)


def _plain_text(app, what, name, obj, options, lines: list[str]) -> None:
    module = name if what == "module" else _module_of(name, obj)
    lines[:] = plain_text_docstring(lines, group=name, module=module)


def setup(app) -> None:
    app.connect("autodoc-process-docstring", _plain_text)
    app.connect("build-finished", _offline_mathjax)
