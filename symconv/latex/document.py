"""Complete LaTeX documents and pasteable fragments around a LaTeX body.

``standalone`` wraps a body in an ``article`` that compiles with pdflatex and xelatex (ASCII
only, packages from TeX Live's latex-base/-recommended collections). ``fragment`` returns the
body for pasting into an existing paper, headed by a comment naming the packages it needs and
carrying the one macro symconv bodies use, ``\\symconvfit``: it shrinks a too-wide display
(a big matrix) to the line width and leaves narrower ones untouched.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["standalone", "fragment", "FIT_MACRO", "PACKAGES", "escape_text"]

PACKAGES: tuple[str, ...] = ("amsmath", "amssymb", "graphicx", "booktabs")
"""Packages every symconv document loads (hyperref is added last, as it must be)."""

FIT_MACRO = (
    r"\providecommand{\symconvfit}[1]{{\setbox0=\hbox{#1}%" "\n"
    r"  \ifdim\wd0>\dimexpr\linewidth-3.5em\relax\resizebox{\dimexpr\linewidth-3.5em\relax}{!}{\box0}%" "\n"
    r"  \else\box0\fi}}"
)
"""``\\symconvfit{$...$}``: the box at its natural width, or scaled down to leave room for an
equation number when it is wider than the line."""

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
            "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}


def escape_text(text: str) -> str:
    """Escape LaTeX's special characters in plain text (for titles and table cells)."""
    return "".join(_SPECIAL.get(ch, ch) for ch in str(text))


def standalone(body: str, title: str | None = None,
               packages: Sequence[str] = PACKAGES, preamble: str = "") -> str:
    r"""A complete ``article`` around ``body``: small margins, ``packages``, hyperref, and
    ``\symconvfit`` if the body uses it; ``title`` (plain text, escaped) becomes an unnumbered heading.

    Package names may carry options as ``"[T1]fontenc"``. ``preamble`` is extra LaTeX put
    before ``\begin{document}``.
    """
    lines = [r"\documentclass[11pt]{article}", r"\usepackage[margin=2cm]{geometry}"]
    for package in packages:
        options, _, name = package.rpartition("]")
        lines.append(rf"\usepackage{options + ']' if options else ''}{{{name}}}")
    lines += [r"\usepackage[hidelinks]{hyperref}"] + _fit_macro(body)
    if preamble:
        lines.append(preamble.rstrip("\n"))
    lines.append(r"\begin{document}")
    if title:
        lines.append(rf"\section*{{{escape_text(title)}}}")
    lines += [body.rstrip("\n"), r"\end{document}", ""]
    return "\n".join(lines)


def fragment(body: str, packages: Sequence[str] = ("amsmath", "graphicx")) -> str:
    r"""``body`` for pasting into a paper: a comment naming the packages it needs, then
    ``\symconvfit`` if the body uses it (defined with ``\providecommand``, so pasting twice is
    harmless)."""
    needs = ", ".join(packages)
    return "\n".join([
        f"% symconv LaTeX fragment. Needs in the preamble: \\usepackage{{{needs}}}",
        *_fit_macro(body), body.rstrip("\n"), ""])


def _fit_macro(body: str) -> list[str]:
    """``FIT_MACRO`` when ``body`` uses ``\\symconvfit`` (a document that never shrinks
    anything does not define it)."""
    return [FIT_MACRO] if r"\symconvfit" in body else []
