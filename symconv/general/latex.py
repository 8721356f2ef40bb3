"""Derivations as LaTeX: hypotheses, definitions, the statement, and an ``align*`` whose every
step carries ``\\text{(rule)}``; a standalone document (``symconv.latex.document.standalone``)
that compiles with pdflatex and xelatex (ASCII only).

Tensor names print as in the text, by the one table of ``notation``: xt → x̃ (``\\tilde{x}``),
v → vec(x), Tx → (T vec x), Gamma → Γ; per-group channel counts Ci, Co → Ĉ_in, Ĉ_out;
mixed-radix flat indices that a theorem registered print as ⟨digits⟩ (``Derivation.notation``).
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter

from ..latex.document import escape_text
from ..latex.document import standalone as standalone_document
from .expr import Iverson, latex_condition
from .notation import LATEX, STACKED, SYMBOL_LATEX
from .rules import flatten

UNICODE = {"σ": r"\sigma", "γ": r"\gamma", "Γ": r"\Gamma", "δ": r"\delta", "Σ": r"\Sigma",
           "∏": r"\prod", "₁": "_1", "₂": "_2", "≥": r"\ge", "≤": r"\le", "≠": r"\neq",
           "−": "-", "·": r"\cdot", "⌊": r"\lfloor", "⌋": r"\rfloor", "⟨": r"\langle",
           "⟩": r"\rangle", "⟺": r"\iff", "ᵀ": "^T", "∧": r"\wedge", "×": r"\times",
           "Λ": r"\Lambda", "ν": r"\nu", "⊗": r"\otimes", "π": r"\pi", "ℤ": r"\mathbf{Z}"}


def tex_text(text: str) -> str:
    """Plain text as ASCII LaTeX: special characters escaped, Greek letters, math signs and
    powers a^b as inline math (the documents must compile with pdflatex: no Unicode fonts)."""
    out = []
    escaped = re.sub(r"([A-Za-z0-9]+)\\\^\{\}([A-Za-z0-9]+)", "\x01\\1^{\\2}\x01", escape_text(text))
    for ch in escaped:
        if ch in UNICODE:
            out.append(f"${UNICODE[ch]}$")
        elif ch.isascii():
            out.append(ch)
        else:
            out.append("?")
    return "".join(out).replace("\x01", "$")  # a^b as math


STEP_FIT = (r"\allowdisplaybreaks" "\n"
            r"\newcommand{\stepfit}[1]{{\setbox0=\hbox{#1}%" "\n"
            r"  \ifdim\wd0>0.64\linewidth\resizebox{0.64\linewidth}{!}{\box0}\else\box0\fi}}")


class DerivationPrinter(LatexPrinter):
    """SymPy's LaTeX with the derivation's tensor names, δ_{a,b} and registered flat indices."""

    def __init__(self, notation=()):
        super().__init__({"mul_symbol": None})
        self.notation = [(sp.expand(flatten(digits, radices)),
                          r"\langle " + ", ".join(self._print(d) for d in digits) + r" \rangle")
                         for digits, radices in notation]

    def _tagged(self, name: str) -> str | None:
        """A name of stacked layer 1 or 2 (tag after the base, before an axis suffix: n2_1)
        as base^{(1)}, base^{(2)}, e.g. T^{(1)}, n_{1}^{(2)}."""
        match = re.fullmatch(r"([A-Za-z']+)([12])(?:_(\d+))?", name)
        if not match:
            return None
        base, layer, axis = match.groups()
        if base in STACKED:
            text = STACKED[base].replace("L", f"({layer})")
            return text.replace("x^{(1)}", "x")
        if not (base in LATEX or base in SYMBOL_LATEX or len(base) <= 2):
            return None
        if (base, layer) == ("x", "1"):
            return "x"
        inner = LATEX.get(base) or SYMBOL_LATEX.get(base) or base
        return inner + (f"_{{{axis}}}" if axis else "") + f"^{{({layer})}}"

    def _print_Symbol(self, expr, style="plain"):
        name = expr.name
        if name in SYMBOL_LATEX:
            return SYMBOL_LATEX[name]
        tagged = self._tagged(name)
        if tagged:
            return tagged
        return super()._print_Symbol(expr)

    def _print_index(self, index) -> str:
        expanded = sp.expand(index)
        for key, text in self.notation:
            if sp.expand(expanded - key) == 0:
                return text
        return self._print(index)

    def _print_Indexed(self, expr):
        label = str(expr.base.label)
        base = LATEX.get(label) or self._tagged(label) or label
        indices = ", ".join(self._print_index(i) for i in expr.indices)
        return f"{base}_{{{indices}}}"

    def _print_Mul(self, expr):
        """Several brackets [a]·[b]·… print as one bracket with the conditions stacked."""
        brackets = [f for f in expr.args if isinstance(f, Iverson)]
        if len(brackets) < 2:
            return super()._print_Mul(expr)
        rest = sp.Mul(*(f for f in expr.args if not isinstance(f, Iverson)))
        rows = r" \\ ".join(latex_condition(b.args[0], self) for b in brackets)
        stacked = r"\left[\begin{smallmatrix}" + rows + r"\end{smallmatrix}\right]"
        return stacked if rest == 1 else f"{stacked} {self._print(rest)}"

    def _print_KroneckerDelta(self, expr, exp=None):
        a, b = (self._print(x) for x in expr.args)
        return rf"\delta_{{{a},\, {b}}}"

    def _print_Function(self, expr, exp=None):
        if str(expr.func) == "sigma":
            return rf"\sigma\left({self._print(expr.args[0])}\right)"
        return super()._print_Function(expr, exp)

    def _print_Mod(self, expr, exp=None):
        a, n = (self._print(x) for x in expr.args)
        return rf"\left({a} \bmod {n}\right)"


def derivation_latex(derivation, standalone: bool = True) -> str:
    """The derivation as LaTeX (a complete document unless ``standalone=False``)."""
    printer = DerivationPrinter(derivation.notation)
    show = printer.doprint
    lines = [rf"\noindent\textbf{{Theorem.}} {tex_text(derivation.title)}." "\n"]
    others = sorted({s for h in derivation.hypotheses for s in sp.sympify(h, strict=True).free_symbols
                     if not s.is_integer}, key=str)
    besides = ", ".join(f"${show(s)}$" for s in others)
    lines.append(r"\paragraph{Hypotheses.} All symbols "
                 + (f"except {besides} (complex numbers) " if others else "")
                 + "are integers with")
    lines.append(r"\begin{gather*}")
    hyps = [show(h) for h in derivation.hypotheses]
    rows = [hyps[i:i + 6] for i in range(0, len(hyps), 6)]
    lines.append(",\\\\\n".join(r"\symconvfit{$" + r",\quad ".join(row) + "$}" for row in rows))
    lines.append(r"\end{gather*}")
    if derivation.definitions or derivation.notation:
        lines.append(r"\paragraph{Definitions.}")
        lines.append(r"\begin{align*}")
        rows = [rf"{show(a)} &= {show(b)} && \text{{({tex_text(why)})}}"
                for a, b, why in derivation.definitions]
        rows += [rf"{text} &= {show(key)} && \text{{(mixed-radix flat index)}}"
                 for key, text in printer.notation]
        lines.append(" \\\\\n".join(rows))
        lines.append(r"\end{align*}")
    lhs, rhs = derivation.statement
    lines.append(r"\paragraph{Statement.}")
    lines.append(rf"\[ \stepfit{{$\displaystyle {show(lhs)} = {show(rhs)}$}} \]")
    for part in _parts(derivation.steps):
        name, steps = part
        lines.append(rf"\paragraph{{{'Proof' if name == 'main' else 'Lemma (' + tex_text(name) + ')'}.}}")
        lines.append(r"\begin{align*}")
        rows = []
        if name == "main":
            rows.append(rf"& \stepfit{{$\displaystyle {show(steps[0].lhs)}$}}")
            for step in steps:
                rows.append(rf"&= \stepfit{{$\displaystyle {show(step.rhs)}$}} && {_rule(step)}")
        else:
            for step in steps:
                scope = "".join(rf",\quad {show(lo)} \le {show(v)} \le {show(hi)}"
                                for v, lo, hi in step.quantified)
                rows.append(rf"& \stepfit{{$\displaystyle {show(step.lhs)} = {show(step.rhs)}{scope}$}}"
                            rf" && {_rule(step)}")
        lines.append(" \\\\\n".join(rows))
        lines.append(r"\end{align*}")
    if derivation.notes:
        lines.append(r"\paragraph{Remark.} " + " ".join(tex_text(n) for n in derivation.notes))
    lines.append(_verdict(derivation))
    body = "\n".join(lines)
    if not standalone:
        return body
    return standalone_document(body, title=None, preamble=STEP_FIT)


def _parts(steps):
    parts: list[tuple[str, list]] = []
    for step in steps:
        if not parts or parts[-1][0] != step.part:
            parts.append((step.part, []))
        parts[-1][1].append(step)
    parts.sort(key=lambda p: p[0] == "main")
    return parts


def _rule(step) -> str:
    mark = "" if step.ok else r"\ \text{FAILS}"
    return rf"\text{{\footnotesize ({tex_text(step.rule)})}}{mark}"


def _verdict(derivation) -> str:
    checks = (f"Every step was checked symbolically (structural rule application, canonical "
              f"comparison; never \\texttt{{simplify}}) and on {derivation.instances} random exact "
              f"instances.")
    if derivation.core_checks:
        checks += " Agreement with " + tex_text("; ".join(derivation.core_checks)) + "."
    if derivation.holds:
        return rf"\paragraph{{Verdict.}} Proved. {checks}"
    text = tex_text(str(derivation.failure)).replace("\n", r" \\ ")
    return rf"\paragraph{{Verdict.}} {derivation.verdict.capitalize()}. {text}"


def chain_latex(derivation) -> str:
    """The main chain as ``$$\\begin{align*} … \\end{align*}$$`` for notebooks (MathJax has
    no ``\\stepfit``/``\\footnotesize``): the verdict as a tag-free first row."""
    printer = DerivationPrinter(derivation.notation)
    show = printer.doprint
    steps = [s for s in derivation.steps if s.part == "main"]
    verdict = rf"\text{{{derivation.verdict}: {_mathjax_text(derivation.title)}}}"
    if not steps:
        lhs, rhs = derivation.statement
        rows = [rf"& {show(lhs)} = {show(rhs)}"]
    else:
        rows = [rf"& {show(steps[0].lhs)}"]
        rows += [rf"&= {show(s.rhs)} && \text{{({_mathjax_text(s.rule)})}}"
                 + ("" if s.ok else r"\ \text{FAILS}") for s in steps]
    return "$$\\begin{align*}" + verdict + r" \\ " + " \\\\\n".join(rows) + r"\end{align*}$$"


def _mathjax_text(text: str) -> str:
    """Text for MathJax's \\text{}: braces and backslashes removed (Unicode is fine there)."""
    return re.sub(r"[{}\\$]", "", text)
