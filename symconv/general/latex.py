r"""Derivations as LaTeX: a paper fragment or a standalone document (``derivation_latex``,
laid out by ``paper``) and the main chain for Jupyter (``chain_latex``). ASCII only: the
documents compile with pdflatex and xelatex.

``verification`` adds the remark saying how symconv checked every step (default: in the
standalone document, not in the fragment for a paper); a derivation that does not hold always
prints its verdict. ``channels=False`` prints the derivation read for one input and one output
channel (``single_channel.one_channel``): no G, Ĉ_in, Ĉ_out and no group δ.
"""

from __future__ import annotations

import re

from ..errors import SpecError, boolean
from ..latex.document import fragment
from ..latex.document import standalone as standalone_document
from .paper import FRAGMENT_PREAMBLE, LINE_EM, PREAMBLE, default_prefix, document_body
from .printer import DerivationPrinter, tex_text
from .single_channel import one_channel

__all__ = ["DerivationPrinter", "chain_latex", "derivation_latex", "tex_text"]

PACKAGES = ("amsmath", "amssymb", "amsthm", "mathtools", "graphicx")


def derivation_latex(derivation, standalone: bool = True, verification: bool | None = None,
                     label_prefix: str | None = None, width: float = LINE_EM,
                     channels: bool = True) -> str:
    """The derivation as a complete document, or (``standalone=False``) a fragment for a paper
    (needs amsmath, amsthm, mathtools; defines ``theorem``/``lemma``/``remark`` if missing).

    ``verification``: the remark on how the steps were checked (None: only when standalone);
    ``label_prefix``: of every ``\\label`` (default ``symconv:<theorem>-<dims>d``); ``width``:
    the text width in em the formulas are broken to; ``channels=False``: one channel."""
    standalone, channels = boolean("standalone", standalone), boolean("channels", channels)
    verify = standalone if verification is None else boolean("verification", verification)
    prefix = default_prefix(derivation) if label_prefix is None else label_prefix
    if not isinstance(prefix, str) or not re.fullmatch(r"[A-Za-z0-9:-]+", prefix):
        raise SpecError("label_prefix", prefix, "must be letters, digits, '-' or ':'")
    shown = derivation if channels else one_channel(derivation)
    body = document_body(shown, prefix, float(width), verify)
    if standalone:
        return standalone_document(body, title=None, packages=PACKAGES, preamble=PREAMBLE)
    return fragment(FRAGMENT_PREAMBLE + "\n" + body, packages=("amsmath", "amsthm", "mathtools"))


def chain_latex(derivation, channels: bool = True) -> str:
    """The main chain as ``$$\\begin{align*} … \\end{align*}$$`` for notebooks (MathJax has
    no ``\\symconvrule``/``\\footnotesize``): the verdict as a tag-free first row."""
    shown = derivation if boolean("channels", channels) else one_channel(derivation)
    show = DerivationPrinter(shown.notation).doprint
    steps = [s for s in shown.steps if s.part == "main"]
    verdict = rf"\text{{{shown.verdict}: {_mathjax_text(shown.title)}}}"
    if not steps:
        lhs, rhs = shown.statement
        rows = [rf"& {show(lhs)} = {show(rhs)}"]
    else:
        rows = [rf"& {show(steps[0].lhs)}"]
        rows += [rf"&= {show(s.rhs)} && \text{{({_mathjax_text(s.rule)})}}"
                 + ("" if s.ok else r"\ \text{FAILS}") for s in steps]
    return "$$\\begin{align*}" + verdict + r" \\ " + " \\\\\n".join(rows) + r"\end{align*}$$"


def _mathjax_text(text: str) -> str:
    """Text for MathJax's \\text{}: braces and backslashes removed (Unicode is fine there)."""
    return re.sub(r"[{}\\$]", "", text)
