r"""A derivation as a paper fragment: the notation (every symbol with its meaning), the
hypotheses and definitions as numbered equations, the theorem in prose with its numbered
statement, the lemmas, the proof as a chain of steps each with its rule, and — optional — a
verification remark saying how the steps were checked.

Layout: long formulas are broken across lines (``split`` in the statement, continuation rows
in the chains: ``linebreak.split_math``), never scaled; a step's rule is set in a narrow
column beside it (``\symconvrule``), wrapped when long. Every numbered equation has a stable
label ``<prefix>:<name>`` with the default prefix ``symconv:<theorem>-<dims>d``:
``hypotheses``, ``def-<symbol>`` per definition, ``statement``, ``lemma-<k>`` per lemma row.

A derivation that does not hold is never typeset as a theorem: it is a *claim*, its failing
step is marked FAILS and the verdict with the failure is printed whatever ``verification`` says.
"""

from __future__ import annotations

import re

import sympy as sp

from .linebreak import math_width, split_math
from .notation import LAYER_TENSORS, SYMBOL_MEANINGS, THEOREM_TENSORS
from .printer import DerivationPrinter, base_name, tex_text

LINE_EM = 45.0
"""Width of the standalone document's text (letter paper, 2 cm margins) in em of its 11 pt font."""
RULE_EM = 9.0
"""Width of the column of rule names beside the steps."""

THEOREM_ENVIRONMENTS = (r"\theoremstyle{plain}\newtheorem{theorem}{Theorem}\newtheorem{lemma}{Lemma}"
                        "\n" r"\theoremstyle{remark}\newtheorem*{remark}{Remark}")
RULE_MACRO = (r"\providecommand{\symconvrule}[1]{\parbox[t]{" + f"{RULE_EM:g}em"
              + r"}{\raggedright\footnotesize (#1)}}")
PREAMBLE = "\n".join([r"\allowdisplaybreaks\widowpenalty=10000\clubpenalty=10000", RULE_MACRO,
                      THEOREM_ENVIRONMENTS])
FRAGMENT_PREAMBLE = "\n".join([
    RULE_MACRO, r"\ifdefined\theorem\else\newtheorem{theorem}{Theorem}\fi",
    r"\ifdefined\lemma\else\newtheorem{lemma}{Lemma}\fi",
    r"\ifdefined\remark\else\theoremstyle{remark}\newtheorem*{remark}{Remark}\theoremstyle{plain}\fi"])

CLAIMS = {
    "toeplitz": ("Toeplitz form", "the convolution layer $y$ with weight $w$ equals, row by row, "
                 r"the fully connected layer with weight matrix $T$ applied to $\operatorname{vec}(x)$"),
    "im2col": ("im2col form", "the im2col product $K P$ of the kernel matrix $K$ and the patch "
               "matrix $P$ equals the convolution $y$, entry by entry"),
    "transpose": ("Transposed convolution", r"multiplication by $T^{\mathsf T}$ is the transposed "
                  r"convolution $z$ of $\gamma$: $\langle T \operatorname{vec} x, \operatorname{vec}"
                  r" \gamma\rangle = \langle \operatorname{vec} x, \operatorname{vec} z\rangle$"),
    "circulant": ("Block-circulant form", "every entry of $T$ is the entry of the generator "
                  r"$\Gamma$ at the offset $(j - i) \bmod n$, so $T$ is multi-level block circulant"),
    "dft": ("Fourier diagonalisation", "the Fourier vectors $(z^{i})_i$ with $z^{n} = 1$ are "
            r"eigenvectors of the channel blocks of $T$ with the blocks $\Lambda(z)$ of the "
            "kernel's discrete Fourier transform, so the DFT block-diagonalises $T$"),
    "padding": ("Padding as a matrix", r"$T = T^{0} R$: the layer is the unpadded layer $T^{0}$ "
                "on the padded input, $R$ the 0/1 matrix of the padding map"),
    "nonlinear": ("Convolutional networks as fully connected networks", "two convolution layers "
                  r"with an elementwise $\sigma$ between them equal the fully connected network "
                  r"with the weight matrices $T^{(1)}$ and $T^{(2)}$"),
}
"""theorem → (its name, what its statement says in words)."""

THEOREM_SYMBOLS = {"circulant": {"r": r"offset $(j - i) \bmod n$ of an entry of the generator"},
                   "im2col": {"r": "flat index of the sum of the im2col product"}}
"""Symbols whose meaning depends on the theorem (added to ``notation.SYMBOL_MEANINGS``)."""

SETTINGS = {"circulant": "With circular padding, stride 1 and $p + q = d\\,(k - 1)$",
            "dft": "With circular padding and stride 1"}


def default_prefix(derivation) -> str:
    """``symconv:<theorem>-<dims>d``, the default prefix of every label."""
    return f"symconv:{derivation.theorem}-{derivation.dims}d"


def _claim(derivation) -> tuple[str, str, str]:
    """(name, setting, prose) of the statement: the theorem's, with its padding mode or im2col order."""
    name, prose = CLAIMS.get(derivation.theorem, ("Claim", tex_text(derivation.title)))
    mode = re.search(r"(circular|reflect|replicate) padding", derivation.title)
    order = re.search(r"\((\w+) order\)", derivation.title)
    setting = SETTINGS.get(derivation.theorem, f"With {mode.group(1)} padding" if mode else "")
    if order:
        prose = prose.replace("patch matrix $P$", f"patch matrix $P$ in the {order.group(1)} order")
    return name, setting, prose


STEP_END = "\x00"
"""Marks the last row of a formula broken across rows: more space follows it (``rows_tex``), so
that its continuation is not read as the start of the next formula."""


def rows_tex(rows: list[str]) -> str:
    """Display rows joined by ``\\\\``, ``\\\\[1ex]`` after a broken formula's last row."""
    ends = [r" \\[1ex]" if row.endswith(STEP_END) else r" \\" for row in rows[:-1]] + [""]
    return "\n".join(row.removesuffix(STEP_END) + end for row, end in zip(rows, ends))


class Writer:
    """The pieces of the document, printed with one printer and one width budget."""

    def __init__(self, derivation, prefix: str, width: float):
        self.derivation = derivation
        self.printer = DerivationPrinter(derivation.notation)
        self.show = self.printer.doprint
        self.prefix = prefix
        self.width = width

    def label(self, name: str) -> str:
        return rf"\label{{{self.prefix}:{name}}}"

    # ---- rows of the displays ----------------------------------------------------------------
    def chain_rows(self, first: str, relation: str, tex: str, rule: str, width: float,
                   number: str = r"\notag") -> list[str]:
        """``first relation tex`` as align rows, ``tex`` broken to ``width`` em, the rule
        beside the first row and continuation rows indented under it."""
        lines = split_math(tex, width)
        rows = [f"{first} &{relation} {lines[0]}" + (f" && {rule}" if rule else "") + f" {number}"]
        rows += [rf"&\qquad {line} \notag" for line in lines[1:]]
        if len(rows) > 1:
            rows[-1] += STEP_END
        return rows

    def budget(self, numbered: bool = False) -> float:
        """Width left for a formula beside the rule column (and an equation number)."""
        return self.width - RULE_EM - 3.5 - (3.0 if numbered else 0.0)  # "=", gap; the estimate is wide

    def rule(self, step) -> str:
        mark = r" \textbf{FAILS}" if not step.ok else ""
        return rf"\symconvrule{{{tex_text(step.rule)}{mark}}}"

    # ---- the sections --------------------------------------------------------------------------
    def notation(self) -> str:
        """Every symbol and tensor of the document with its meaning."""
        meanings = {**MEANINGS, **THEOREM_SYMBOLS.get(self.derivation.theorem, {})}
        symbols: dict[str, list[sp.Basic]] = {}
        for expr in _expressions(self.derivation):
            expr = sp.sympify(expr, strict=True)
            labels = {b.label for b in expr.atoms(sp.IndexedBase)}  # a tensor's name is no symbol
            for atom in sorted(expr.atoms(sp.Symbol, sp.IndexedBase) - labels, key=str):
                name = str(atom.label) if isinstance(atom, sp.IndexedBase) else str(atom)
                key = "tensor " + _tensor_key(name) if isinstance(atom, sp.IndexedBase) else base_name(atom)
                if key in meanings and atom not in symbols.setdefault(key, []):
                    symbols[key].append(atom)
        items = []
        for key in sorted(symbols, key=list(meanings).index):
            shown = ", ".join(f"${self._symbol(a)}$" for a in symbols[key])
            items.append(f"{shown}: {meanings[key]}")
        return r"\paragraph{Notation.} " + "; ".join(items) + "."

    def _symbol(self, atom) -> str:
        if isinstance(atom, sp.IndexedBase):
            return self.show(atom[sp.Symbol("dummy")]).rsplit("_{dummy}", 1)[0]
        return self.show(atom)

    def hypotheses(self) -> str:
        d = self.derivation
        others = sorted({s for h in d.hypotheses for s in sp.sympify(h, strict=True).free_symbols
                         if not s.is_integer}, key=str)
        besides = ", ".join(f"${self.show(s)}$" for s in others)
        items = [self.show(h) for h in d.hypotheses]
        lines: list[str] = []
        for item in items:
            joined = f"{lines[-1]},\\quad {item}" if lines else item
            if lines and math_width(joined) <= self.width - 8:
                lines[-1] = joined
            else:
                lines.append(item)
        body = ",\\\\\n".join(lines)
        return (r"\paragraph{Hypotheses.} All symbols "
                + (f"except {besides} (complex numbers) " if others else "") + "are integers with\n"
                + "\\begin{equation}\n\\begin{gathered}\n" + body + "\n\\end{gathered}\n"
                + self.label("hypotheses") + "\n\\end{equation}")

    def definitions(self) -> str:
        d = self.derivation
        pairs = [(a, b, why) for a, b, why in d.definitions]
        rows = []
        for a, b, why in pairs:
            name = "def-" + re.sub(r"[^A-Za-z0-9]", "", str(a.base.label if isinstance(a, sp.Indexed) else a))
            left = self.show(a)
            rows += self.chain_rows(left, "=", self.show(b), rf"\symconvrule{{{tex_text(why)}}}",
                                    self.budget(True) - math_width(left), self.label(name))
        for text, key in dict((text, key) for key, text in self.printer.notation).items():
            rows += [rf"{text} &= {self.show(key)} && \symconvrule{{mixed-radix flat index}} \notag"]
        if not rows:
            return ""
        return "\\paragraph{Definitions.}\n\\begin{align}\n" + rows_tex(rows) + "\n\\end{align}"


def _tensor_key(label: str) -> str:
    """The notation table's label of a tensor, without a stacked layer's tag (T2 → T)."""
    return label if "tensor " + label in MEANINGS else re.sub(r"[12]$", "", label)


def _expressions(derivation) -> list:
    exprs = [*derivation.hypotheses, *derivation.statement]
    exprs += [e for definition in derivation.definitions for e in definition[:2]]
    exprs += [e for step in derivation.steps for e in (step.lhs, step.rhs)]
    return exprs


def _tensor_meaning(meaning: str) -> str:
    """A tensor's meaning from the notation table without its index pattern (``w[o, c', t]``)
    or the formula it starts with (``vec(x), the input as a vector``)."""
    text = re.sub(r",?\s*[^\s,(]+\[[^\]]*\]", "", meaning).strip(" ,")
    head, _, rest = text.partition(", ")
    if rest.startswith(("the ", "a ")) and not head.startswith(("the ", "a ")):
        text = rest
    return tex_text(text)


MEANINGS = {**SYMBOL_MEANINGS,
            **{"tensor " + t.label: _tensor_meaning(t.meaning) for t in LAYER_TENSORS + THEOREM_TENSORS}}
"""symbol base name or "tensor " + label → its meaning in the notation paragraph (z, a root of
unity, is not the tensor z)."""


def statement(writer: Writer) -> str:
    """The theorem (a claim when the derivation does not hold) with its numbered statement."""
    d, show = writer.derivation, writer.show
    name, setting, prose = _claim(d)
    lhs, rhs = d.statement
    left, right = show(lhs), show(rhs)
    lines = split_math(right, writer.width - 6 - math_width(left))
    if len(lines) == 1:
        body = f"{left} = {right}"
    else:
        body = (f"\\begin{{split}}\n{left} &= {lines[0]} \\\\\n"
                + " \\\\\n".join(rf"&\qquad {line}" for line in lines[1:]) + "\n\\end{split}")
    ref = rf"(\ref{{{writer.prefix}:hypotheses}})"
    lead = f"{setting}, for" if setting else "For"
    text = (f"{lead} all integers satisfying the hypotheses {ref}, {prose}:\n"
            f"\\begin{{equation}}\n{body}\n{writer.label('statement')}\n\\end{{equation}}")
    if not d.holds:
        return (rf"\paragraph{{Claim ({tex_text(name)}), not proved.}} " + text
                + "\nThe attempted proof below fails; see the verdict.")
    return (f"\\begin{{theorem}}[{tex_text(name)}]{writer.label('theorem')}\n{text}\n\\end{{theorem}}")


def _parts(steps) -> list[tuple[str, list]]:
    """The steps by part, the lemmas before the main chain."""
    parts: list[tuple[str, list]] = []
    for step in steps:
        if not parts or parts[-1][0] != step.part:
            parts.append((step.part, []))
        parts[-1][1].append(step)
    parts.sort(key=lambda p: p[0] == "main")
    return parts


def lemma(writer: Writer, name: str, steps, first: int) -> str:
    """A lemma: its numbered equations, each with the rule that proves it."""
    show, rows = writer.show, []
    for index, step in enumerate(steps, start=first):
        scope = "".join(rf",\quad {show(lo)} \le {show(v)} \le {show(hi)}" for v, lo, hi in step.quantified)
        rows += writer.chain_rows(show(step.lhs), "=", show(step.rhs) + scope, writer.rule(step),
                                  writer.budget(True) - math_width(show(step.lhs)),
                                  writer.label(f"lemma-{index}"))
    ref = rf"(\ref{{{writer.prefix}:hypotheses}})"
    environment = "lemma" if writer.derivation.holds else "claim"
    head = (rf"\begin{{lemma}}[{tex_text(name)}]" if environment == "lemma"
            else rf"\paragraph{{Lemma ({tex_text(name)}).}}")
    return (f"{head}\nUnder the hypotheses {ref}, on every axis:\n\\begin{{align}}\n"
            + rows_tex(rows) + "\n\\end{align}" + ("\n\\end{lemma}" if environment == "lemma" else ""))


def proof(writer: Writer, steps) -> str:
    """The main chain: the statement's left-hand side, then one step per row with its rule."""
    show = writer.show
    rows = [rf"& {show(steps[0].lhs)} \notag"]
    for step in steps:
        rows += writer.chain_rows("", "=", show(step.rhs), writer.rule(step), writer.budget())
    head, tail = ((r"\begin{proof}", r"\end{proof}") if writer.derivation.holds
                  else (r"\paragraph{Attempted proof.}", ""))
    return "\n".join([head, "\\begin{align*}", rows_tex([r.replace(r" \notag", "") for r in rows]),
                      "\\end{align*}", tail])


def verification(derivation) -> str:
    """How every step was checked: symbolically and on exact instances (the tool's remark)."""
    checks = (f"Every step was checked symbolically (structural rule application, canonical "
              f"comparison; never \\texttt{{simplify}}) and on {derivation.instances} random exact "
              f"instances.")
    if derivation.core_checks:  # a dotted name may break after a dot or an underscore
        agreement = re.sub(r"(\.|\\_)(?=\w)", r"\1\\allowbreak{}", tex_text("; ".join(derivation.core_checks)))
        checks += " Agreement with " + agreement + "."
    return rf"\begin{{remark}}[Verification by symconv] Proved. {checks}\end{{remark}}"


def verdict(derivation) -> str:
    """The failure of a derivation that does not hold (always printed)."""
    text = tex_text(str(derivation.failure)).replace("\n", r" \\ ")
    return rf"\paragraph{{Verdict.}} {derivation.verdict.capitalize()}. {text}"


def document_body(derivation, prefix: str, width: float, verify: bool) -> str:
    """The fragment: notation, hypotheses, definitions, theorem, lemmas, proof, remarks."""
    writer = Writer(derivation, prefix, width)
    parts = [writer.notation(), writer.hypotheses(), writer.definitions(), statement(writer)]
    first = 1
    for name, steps in _parts(derivation.steps):
        if name == "main":
            parts.append(proof(writer, steps))
        else:
            parts.append(lemma(writer, name, steps, first))
            first += len(steps)
    if derivation.notes:
        parts.append(r"\begin{remark} " + " ".join(tex_text(n) for n in derivation.notes) + r"\end{remark}")
    if not derivation.holds:
        parts.append(verdict(derivation))
    elif verify:
        parts.append(verification(derivation))
    return "\n".join(p for p in parts if p)
