r"""The one document skeleton every symconv result prints itself with, and its shared pieces.

A result (``Proof`` of any kind, ``interop.NetworkProof``) is described by a ``Report``: the
setting (the layer or the network), the statement, the sections that define and show the
quantities compared, and the method. ``document`` lays every report out the same way:

    setting · Statement (proved|refuted), numbered · sections · Verdict (method, then q.e.d. or
    the counterexample) · the time of each step

Counterexamples print generically from ``symconv.result.COMPARISONS`` (which quantity was
compared with which), so a new kind of result needs a ``Report``, never a new layout: a
``ReportPrinter`` registered for its type in ``symconv.registry.REPORTS`` (found along the MRO).
``result_display`` is the short Jupyter form (``_repr_latex_``): statement, verdict and
counterexample as display math, ASCII only so nbconvert's LaTeX export compiles it too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..registry import DISPLAYS, REPORTS
from ..result import Counterexample, Result
from .document import escape_text, fragment
from .document import standalone as standalone_document
from .expr import latex_expr, latex_terms
from .matrix import latex_matrix

__all__ = ["Report", "ReportPrinter", "document", "equation", "matrix_equation", "counterexample_display",
           "result_display", "broken"]

PAR = "\n"  # a paragraph break in the body (parts are joined by newlines)
LINE_EM = 38
"""Width (in em of the 11pt body font) a displayed matrix may take beside its name and number."""
DISPLAY_TERMS = 8
"""Terms of a polynomial shown in the Jupyter display before the middle is elided."""


@dataclass
class Report:
    """What a result says, independent of layout (``document`` lays it out).

    ``statement`` holds math lines (``aligned`` rows, ``&`` before the first relation);
    ``sections`` (heading, body) pairs; ``refs`` the labels (without prefix) the q.e.d.
    sentence cites besides the statement; ``size`` names what the method compared, e.g.
    "513 terms".
    """

    title: str
    setting_heading: str
    setting: str
    quantifier: str
    statement: list[str]
    method: str
    size: str
    sections: list[tuple[str, str]] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    packages: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportPrinter:
    """How one type of result prints (registered in ``symconv.registry.REPORTS``): ``build(result,
    max_size, label_prefix, max_terms, **options)`` makes its ``Report`` (options beyond the first
    four are keyword parameters of ``build``), ``statement(result)`` its statement as ``aligned`` rows."""

    build: Callable[..., Report]
    statement: Callable[[Any], list[str]]


def equation(body: str, label: str, fit: bool = False) -> str:
    """A numbered, labelled display; ``fit`` shrinks it to the line width when too wide."""
    if fit:
        body = rf"\symconvfit{{$\displaystyle {body}$}}"
    return f"\\begin{{equation}}\n{body}\n\\label{{{label}}}\n\\end{{equation}}"


def visible_width(tex: str) -> int:
    """Characters a piece of math shows, roughly: without commands, braces and scripts markers."""
    return len(re.sub(r"\\[a-zA-Z]+|[{}_^]", "", tex))


def broken(terms: list[str], width: int = 56) -> str:
    """Terms of a polynomial on lines of at most ``width`` visible characters (at least one term
    per line), for an ``aligned`` right-hand side."""
    lines: list[list[str]] = [[]]
    for term in terms:
        if lines[-1] and visible_width(" ".join(lines[-1] + [term])) > width:
            lines.append([])
        lines[-1].append(term)
    return r" \\ &\qquad ".join(" ".join(line) for line in lines)


_INVISIBLE = str.maketrans("", "", "{}_\\")


def _columns_that_fit(M: Any, max_size: int) -> int:
    """At most ``max_size`` columns, fewer when wide entries would overflow the line.

    An entry's width is estimated from its visible characters (≈ 0.38 em each for
    subscripted symbols) plus the column gap; ``\\symconvfit`` still shrinks anything wider.
    """
    rows, cols = M.shape
    sample = [M[r, c] for r in {0, rows - 1} for c in range(min(cols, max_size))]
    visible = (len(latex_expr(v).translate(_INVISIBLE)) for v in sample if v != 0)
    return max(4, min(max_size, int(LINE_EM // (0.38 * max(visible, default=1) + 0.9))))


def matrix_equation(name: str, M: Any, max_size: int, label: str, origin: str, blocks: Any = None,
                    rules: str | tuple[str, str] = "", claim: str = "") -> str:
    """``name = [M]`` numbered, then: ``origin`` (where M comes from), its shape and elision, the
    rules drawn (``rules``: one sentence, said when any rule is drawn, or the sentences of the
    horizontal and of the vertical rules, each said only when such rules are drawn) and
    ``claim`` (a structural statement)."""
    max_cols = _columns_that_fit(M, max_size)
    matrix = latex_matrix(M, max_rows=max_size, max_cols=max_cols, blocks=blocks)
    rows, cols = M.shape
    elided = ", the middle elided" if rows > max_size or cols > max_cols else ""
    drawn = [any(0 < (level[axis] or 0) < n for level in _level_list(blocks)) for axis, n in enumerate((rows, cols))]
    said = rules if isinstance(rules, str) else " ".join(text for text, on in zip(rules, drawn) if on)
    has_zero = (len(M.values()) < rows * cols if isinstance(M, sp.MatrixBase)
                else bool((np.asarray(M, dtype=object) == 0).any()))
    sentences = [f"${name}$ ({origin}) is ${rows} \\times {cols}${elided}.", said if any(drawn) else "",
                 claim, r"Zeros are shown as $\cdot$." if has_zero else ""]
    return equation(rf"{name} = {matrix}", label, fit=True) + "\n" + " ".join(t for t in sentences if t)


def _level_list(blocks: Any) -> list[tuple[Any, Any]]:
    """``blocks`` (None, a (rows, cols) pair or a list of pairs) as a list of pairs."""
    if blocks is None:
        return []
    return [blocks] if isinstance(blocks[0], (int, type(None))) else list(blocks)


def _entry_rows(cx: Any, max_terms: int | None, lines: bool) -> list[str]:
    """The aligned rows: expected entry, obtained entry, their difference (named as the proof
    compared them: ``cx.comparison``)."""
    c = cx.comparison

    def poly(value: Any) -> str:
        terms = latex_terms(value, max_terms)
        return broken(terms) if lines else " ".join(terms)

    return [rf"{c.entry_latex('expected', cx.index)} &= {poly(cx.expected)}",
            rf"{c.entry_latex('obtained', cx.index)} &= {poly(cx.obtained)}",
            rf"\text{{expected}} - \text{{obtained}} &= {poly(cx.difference)}"]


def _term_list(terms: tuple, limit: int = 12) -> str:
    return (", ".join(f"${latex_expr(t)}$" for t in terms[:limit])
            + (" and more" if len(terms) > limit else ""))


def counterexample_section(cx: Any, label: str) -> str:
    """The counterexample in a document: which entry, both sides, the difference, the terms."""
    c = cx.comparison
    index = ", ".join(map(str, cx.index))
    body = r"\begin{aligned} " + r" \\ ".join(_entry_rows(cx, None, True)) + r" \end{aligned}"
    lines = [f"the check \\texttt{{{escape_text(cx.form)}}} fails at index $({index})$: "
             f"${c.entry_latex('obtained', cx.index)}$ differs from "
             f"${c.entry_latex('expected', cx.index)}$,",
             equation(body, label, fit=True)]
    if getattr(cx, "reason", ""):
        lines.append(f"The obtained entry {_reason_latex(cx.reason)}.")
    if cx.missing:
        lines.append("It lacks " + _term_list(cx.missing) + ".")
    if cx.extra:
        lines.append("It has instead " + _term_list(cx.extra) + ".")
    return "\n".join(lines)


_SYMBOL = re.compile(r"([A-Za-z]+_\{[0-9,]+\})")


def _reason_latex(reason: str) -> str:
    r"""A counterexample's reason as text with its symbols (``x_{0,0,1}``) typeset as math.

    >>> _reason_latex("depends on the inputs x_{0,0,0}, x_{0,0,1}: a rule_1")
    'depends on the inputs $x_{0,0,0}$, $x_{0,0,1}$: a rule\\_1'
    """
    parts = _SYMBOL.split(reason)
    return "".join(f"${part}$" if index % 2 else escape_text(part) for index, part in enumerate(parts))


TIMING_SHOWN = 1.0
"""The timing table is printed only for a proof that took at least this long (seconds): below,
every step would print as 0.00 s (``Result.timings`` keeps the times)."""


def _timings(result: Any) -> str:
    """The table of the steps' times for a proof that took ``TIMING_SHOWN`` s or more, else ''."""
    total = sum(result.timings.values())
    if total < TIMING_SHOWN:
        return ""
    rows = " \\\\\n".join(f"{escape_text(name)} & {seconds:.2f} s" for name, seconds in result.timings.items())
    return (f"Time taken by each step (in all {total:.2f} s):\n\\begin{{center}}\n\\begin{{tabular}}{{lr}}\n"
            "\\hline\nstep & time \\\\\n\\hline\n" + rows + " \\\\\n\\hline\n\\end{tabular}\n\\end{center}")


def _statement_math(lines: list[str]) -> str:
    if len(lines) == 1:
        return lines[0].replace("&", "", 1)
    return r"\begin{aligned} " + r" \\ ".join(lines) + r" \end{aligned}"


def document(result: Any, report: Report, standalone: bool, label_prefix: str,
             title: str | None = None) -> str:
    """The report laid out as a standalone ``article`` or a pasteable fragment (see module docstring)."""
    label = lambda name: f"{label_prefix}:{name}"  # noqa: E731 - a one-line naming rule
    heading = r"\subsection*" if standalone else r"\paragraph"
    verdict = "proved" if result.holds else "refuted"
    parts = [f"{heading}{{{report.setting_heading}}}", report.setting, PAR,
             f"\\medskip\\noindent\\textbf{{Statement ({verdict}).}} \\emph{{{report.quantifier}:}}",
             equation(_statement_math(report.statement), label("statement"), fit=True)]
    for name, body in report.sections:
        parts += [f"{heading}{{{name}}}", body]
    parts.append(f"{heading}{{Verdict}}")
    if result.holds:
        refs = [label("statement")] + [label(ref) for ref in report.refs]
        parts.append(f"{report.method} Every difference is zero ({report.size}), which proves "
                     + ", ".join(f"(\\ref{{{ref}}})" for ref in refs) + ". \\hfill\\textsc{q.e.d.}")
    else:
        parts += [f"{report.method} The statement is \\textbf{{false}}:",
                  counterexample_section(result.counterexample, label("counterexample"))]
    parts += [PAR, _timings(result)]
    body = "\n".join(p for p in parts if p)
    packages = ("amsmath", "amssymb", "graphicx") + report.packages
    if standalone:
        return standalone_document(body, title=title or report.title, packages=packages)
    return fragment(body, packages=("amsmath", "graphicx") + report.packages)


def _display(rows: list[str]) -> str:
    return "$$\\begin{aligned} " + r" \\ ".join(rows) + " \\end{aligned}$$"


@DISPLAYS.register(Counterexample)
def counterexample_display(cx: Any) -> str:
    """A counterexample as display math (Jupyter ``_repr_latex_``)."""
    index = ",".join(map(str, cx.index))
    rows = [rf"&\text{{{escape_text(cx.form)}: first difference at index ({index})}}",
            *_entry_rows(cx, DISPLAY_TERMS, False)]
    return _display(rows)


@DISPLAYS.register(Result)
def result_display(result: Any) -> str:
    """Statement, verdict and counterexample as display math (Jupyter ``_repr_latex_``)."""
    verdict = r"\textbf{Proved}" if result.holds else r"\textbf{Refuted}"
    statement = REPORTS.lookup(type(result)).statement(result)
    rows = [rf"&{verdict}\text{{: }}", *statement]
    if result.counterexample is not None:
        index = ",".join(map(str, result.counterexample.index))
        rows += [rf"&\text{{counterexample ({escape_text(result.counterexample.form)}, index ({index})):}}",
                 *_entry_rows(result.counterexample, DISPLAY_TERMS, False)]
    return _display(rows)
