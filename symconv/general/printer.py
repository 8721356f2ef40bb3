r"""The LaTeX printer of derivations: SymPy's LaTeX with the derivation's names and the
order in which a reader writes index expressions.

Tensor names print as in the text, by the one table of ``notation``: xt → x̃ (``\tilde{x}``),
v → vec(x), Tx → (T vec x), Gamma → Γ; per-group channel counts Ci, Co → Ĉ_in, Ĉ_out;
mixed-radix flat indices that a theorem registered print as ⟨digits⟩ (``Derivation.notation``).

Reading order (printing only, the expressions are unchanged): in a sum the terms with an
index come first, outer indices first (g, h, c, j, t, i …), positive terms before negative
ones; in a product a hyperparameter comes before an index (s·j, d·t) and an index before a size
(g·Ĉ_out, j_1 m_2) — ``w_{g·Ĉout + h, c − g·Ĉin, t}``, not SymPy's ``w_{Ĉout g + h, −Ĉin g + c, t}``:

>>> from symconv.general.setting import Layer
>>> layer = Layer(1)
>>> print(DerivationPrinter().doprint(layer.w[layer.o, layer.c - layer.g * layer.Ci, layer.t[0]]))
w_{g \cdot \hat{C}_{\mathrm{out}} + h, c - g \cdot \hat{C}_{\mathrm{in}}, t}
>>> DerivationPrinter().doprint(layer.position(0))
's j + d t - p'
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter

from ..latex.document import escape_text
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


INDEX_ORDER = ("g'", "g", "o", "h", "c'", "c", "r", "j", "t", "i", "u", "R", "C")
"""Index symbols (by base name) in reading order: a sum's terms are printed in this order."""
HYPERPARAMETERS = ("s", "d")
"""Written before the index they multiply (s·j, d·t)."""
CHANNEL_SIZES = ("G", "Ci", "Co")
"""Written after the index they multiply, with a dot (g·Ĉ_out)."""

_NAME = re.compile(r"([A-Za-z]+'?)(\d*)(?:_(\d+))?")


def base_name(symbol: sp.Basic) -> str:
    """The name of a symbol without its layer tag and axis suffix: n_1 → n, g'2 → g'.

    >>> base_name(sp.Symbol("n2_1")), base_name(sp.Symbol("c'"))
    ('n', "c'")
    """
    match = _NAME.fullmatch(str(symbol))
    return match.group(1) if match else str(symbol)


def _factor_class(factor: sp.Basic) -> int:
    """0 a hyperparameter, 1 an index, 2 a channel count, 3 any other size."""
    base = base_name(factor.base if isinstance(factor, sp.Pow) else factor)
    if base in HYPERPARAMETERS:
        return 0
    if base in INDEX_ORDER:
        return 1
    return 2 if base in CHANNEL_SIZES else 3


def _term_key(term: sp.Basic) -> tuple[bool, int]:
    """(negative, rank of its outermost index): terms with an index first, outer ones first."""
    ranks = [INDEX_ORDER.index(base_name(s)) for s in term.free_symbols
             if isinstance(s, sp.Symbol) and base_name(s) in INDEX_ORDER]
    return term.could_extract_minus_sign(), min(ranks, default=len(INDEX_ORDER))


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

    def _as_ordered_terms(self, expr, order=None):
        terms = super()._as_ordered_terms(expr, order)
        return sorted(terms, key=_term_key)  # stable: SymPy's order among equals

    def _print_monomial(self, expr) -> str | None:
        """A product of a number and symbols (or their powers) in reading order, else None."""
        if not isinstance(expr, sp.Mul):  # SymPy prints 1/x through _print_Mul too
            return None
        coefficient, factors = expr.as_coeff_mul()
        if not coefficient.is_Integer or not factors or not all(
                isinstance(f, sp.Symbol) or (isinstance(f, sp.Pow) and isinstance(f.base, sp.Symbol)
                                             and f.exp.is_Integer and f.exp > 0) for f in factors):
            return None
        if coefficient.is_negative:
            return "- " + self._print(-expr)
        ordered = sorted(factors, key=_factor_class)
        text = "" if coefficient == 1 else self._print(coefficient) + " "
        for before, factor in zip([None, *ordered], ordered):
            dot = (before is not None and _factor_class(before) == 1 and _factor_class(factor) == 2)
            text += (r" \cdot " if dot else " " if before is not None else "") + self._print(factor)
        return text

    def _print_Mul(self, expr):
        """Several brackets [a]·[b]·… print as one bracket with the conditions stacked;
        monomials in reading order."""
        brackets = [f for f in expr.args if isinstance(f, Iverson)]
        if len(brackets) < 2:
            monomial = self._print_monomial(expr)
            return super()._print_Mul(expr) if monomial is None else monomial
        rest = sp.Mul(*(f for f in expr.args if not isinstance(f, Iverson)))
        rows = r" \\ ".join(latex_condition(b.args[0], self) for b in brackets)
        stacked = r"\left[\begin{smallmatrix}" + rows + r"\end{smallmatrix}\right]"
        return stacked if rest == 1 else f"{stacked} {self._print(rest)}"

    def _needs_mul_brackets(self, expr, first=False, last=False) -> bool:
        """No parentheses around a factor that prints as one symbol with scripts (δ, an entry,
        a bracket, a power of a symbol) nor around a last factor Σ (SymPy adds them for a Mod
        inside): parentheses would keep a long product from breaking across lines."""
        single = isinstance(expr, (sp.KroneckerDelta, sp.Indexed, Iverson)) or (
            isinstance(expr, sp.Pow) and isinstance(expr.base, sp.Symbol))
        if single or (last and isinstance(expr, sp.Sum)):
            return False
        return super()._needs_mul_brackets(expr, first=first, last=last)

    def _print_KroneckerDelta(self, expr, exp=None):
        a, b = (self._print(x) for x in expr.args)
        return rf"\delta_{{{a},\, {b}}}"

    def _print_Function(self, expr, exp=None):
        if str(expr.func) == "sigma":
            return rf"\sigma\left({self._print(expr.args[0])}\right)"
        return super()._print_Function(expr, exp)

    def _print_floor(self, expr, exp=None):
        """⌊a/b⌋ with a slash when a and b are single symbols (readable in a subscript)."""
        numerator, denominator = sp.fraction(expr.args[0])
        if denominator != 1 and all(isinstance(e, sp.Symbol) for e in (numerator, denominator)):
            text = rf"\left\lfloor {self._print(numerator)}/{self._print(denominator)} \right\rfloor"
            return text if exp is None else rf"{text}^{{{exp}}}"
        return super()._print_floor(expr, exp)

    def _print_Mod(self, expr, exp=None):
        a, n = (self._print(x) for x in expr.args)
        return rf"\left({a} \bmod {n}\right)"
