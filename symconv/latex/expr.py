"""LaTeX for polynomials in the tensor symbols ``x_{c,i,j}``, ``w_{o,c,p,q}``, ``b_{o}``.

A polynomial Σ_m a_m · ∏_f f^{e_f} is printed term by term as a person writes it: the rational
coefficient in front, then the factors in the order parameters (b, w, w^{(ℓ)}, …), data (the
inputs x and upstream gradients g), function applications (σ_ℓ(…), whose arguments print the same
way); within each class, and between terms, symbols are ordered *numerically* by the indices in
their names (so ``w_{0,0,10}`` follows ``w_{0,0,2}``, ``w^{(4)}_{0,10}`` follows
``w^{(4)}_{0,2}``): ``w_{0,0,0} x_{0,0} - 2 w_{0,0,1} x_{0,1}``. Zero prints as ``0``.
"""

from __future__ import annotations

import re
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef

from ..symbols import entry_key

__all__ = ["latex_expr", "latex_terms", "latex_symbol"]

DATA = frozenset({"x", "g"})
"""Symbol names of the data (inputs, upstream gradients): written after the parameters."""


def latex_symbol(symbol: sp.Basic) -> str:
    """``x_{0,1}`` for the tensor symbol x_{0,1} (its name is already LaTeX), else ``sympy.latex``."""
    name, index = entry_key(symbol)
    return str(symbol) if index else sp.latex(symbol)


def _natural(text: str) -> tuple:
    """A sort key reading the digit runs of ``text`` as numbers: 'w_{0,10}' after 'w_{0,2}'."""
    return tuple(int(part) if position % 2 else part for position, part in enumerate(re.split(r"(\d+)", text)))


def _factor_key(factor: sp.Basic) -> tuple:
    """(class, numeric name): parameters 0, data 1, anything else (σ(…), radicals of data) 2."""
    base, exponent = factor.as_base_exp()
    if base.is_Symbol:
        return (1 if entry_key(base)[0] in DATA else 0), _natural(str(base)), str(exponent)
    if not factor.atoms(AppliedUndef) and all(entry_key(s)[0] not in DATA for s in factor.free_symbols):
        return 0, _natural(str(factor)), ""  # a parameter expression, e.g. 1/sqrt(v + epsilon)
    return 2, _natural(str(factor)), ""


def _monomial(factors: list[sp.Basic]) -> str:
    parts = []
    for factor in factors:
        base, exponent = factor.as_base_exp()
        if base.is_Symbol and exponent.is_Integer:
            text = latex_symbol(base)
            parts.append(text if exponent == 1 else f"{text}^{{{exponent}}}")
        elif isinstance(base, AppliedUndef) and exponent.is_Integer:  # σ(…): its argument in our order
            arguments = ", ".join(latex_expr(a) for a in base.args)
            text = rf"{sp.latex(sp.Symbol(base.func.__name__))}\left({arguments}\right)"
            parts.append(text if exponent == 1 else f"{text}^{{{exponent}}}")
        else:  # not a polynomial factor: let SymPy print it
            parts.append(sp.latex(factor))
    return " ".join(parts)


def _terms(expr: Any) -> list[tuple[sp.Expr, str]]:
    """[(coefficient, monomial LaTeX)] in numeric monomial order ('' for the constant)."""
    expr = sp.expand(sp.sympify(expr, strict=True))
    keyed = []
    for term in sp.Add.make_args(expr):
        coefficient, rest = term.as_coeff_Mul()
        factors = sorted(sp.Mul.make_args(rest), key=_factor_key) if rest != 1 else []
        keyed.append(([_factor_key(f) for f in factors], coefficient, _monomial(factors)))
    keyed.sort(key=lambda item: item[0])
    return [(coefficient, monomial) for _, coefficient, monomial in keyed]


def latex_terms(expr: Any, max_terms: int | None = None) -> list[str]:
    """The signed terms of ``expr`` in numeric order: ``['w_{0,0} x_{0}', '- 2 b_{0}']``.

    Every term but a leading positive one starts with ``+ `` or ``- `` so that joining with
    spaces gives the whole polynomial and a line may be broken between any two terms. With
    ``max_terms`` a longer polynomial keeps its first ``max_terms − 1`` terms and its last,
    with an ``\\underbrace{\\cdots}`` counting the hidden ones between.
    """
    out = []
    for coefficient, monomial in _terms(expr):
        if coefficient == 0:
            continue
        sign = "-" if coefficient < 0 else "+"
        magnitude = -coefficient if coefficient < 0 else coefficient
        body = monomial if monomial and magnitude == 1 else f"{sp.latex(magnitude)} {monomial}".strip()
        out.append(f"{sign} {body}")
    if not out:
        return ["0"]
    if out[0].startswith("+ "):
        out[0] = out[0][2:]
    if max_terms is not None and len(out) > max(max_terms, 2):
        hidden = len(out) - max_terms
        out = [*out[:max_terms - 1], rf"+ \underbrace{{\cdots}}_{{{hidden}\text{{ terms}}}}", out[-1]]
    return out


def latex_expr(expr: Any, max_terms: int | None = None) -> str:
    """LaTeX of a polynomial in the tensor symbols, terms in numeric order.

    ``max_terms`` elides the middle of a longer polynomial (see ``latex_terms``).

    >>> import sympy as sp
    >>> w0, w10, w2, x = map(sp.Symbol, ["w_{0,0,0}", "w_{0,0,10}", "w_{0,0,2}", "x_{0,1}"])
    >>> latex_expr(x * w10 + x * w2 - 2 * w0 * x)
    '- 2 w_{0,0,0} x_{0,1} + w_{0,0,2} x_{0,1} + w_{0,0,10} x_{0,1}'
    >>> latex_expr(0)
    '0'
    """
    return " ".join(latex_terms(expr, max_terms))
