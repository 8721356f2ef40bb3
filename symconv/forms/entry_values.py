"""Which entry values a proof decides: a bound on an entry's size before anything evaluates it,
and the node types an entry may hold when something in it vanishes on expansion.

Explanation
-----------
A proof compares canonical expanded polynomials. Two things can go wrong before that:

* **size.** ``Mul(big, big, big, big)`` or ``Pow(Pow(3, 4096), 4096)`` has every written number
  small and a value of millions of bits; SymPy multiplies it out (minutes, or a ValueError
  printing it). ``value_bits`` bounds the bits of the *value* bottom-up, from the tree alone: a
  number its own bits, a symbol 0, a product the sum of its factors' bits, a sum one more than
  its largest term per doubling of the terms, a power ``|e| · log2|base|`` (a numeric exponent
  that is itself an expression: 2^bits(e) times the base's bits, so towers are bounded too).
* **value.** Expanding ``0·Integral(1/t, (t, 0, 1))`` or ``log(0) − log(0)`` gives 0, but their
  value is undefined (0·∞): SymPy drops a factor or a term whose value it does not know. So an
  entry may hold only the nodes of a polynomial (``POLYNOMIAL_NODES``: numbers, symbols, sums,
  products, powers with a natural exponent, applied undefined functions σ(…)) — a whitelist, not
  a list of the bad ones. An entry with any other node is read only if that node is still there
  after expansion (then the entry is not a polynomial, and the proof refutes it with that reason);
  an entry where such a node vanished (multiplied by 0, cancelled) is refused, as is one whose
  expansion is not finite.

>>> t, w = sp.symbols("t w")
>>> value_problem(sp.Mul(0, sp.Integral(1 / t, (t, 0, 1)), evaluate=False))  # doctest: +NORMALIZE_WHITESPACE
'holds an Integral, which vanishes when the entry is expanded: symconv does not decide the value of an Integral
(it may be undefined, as 0·∞ is), so an entry may hold only numbers, symbols, +, ·, natural powers and applied
undefined functions'
>>> value_problem(sp.sqrt(w)) is None, value_problem(3 * w**2 + 1) is None
(True, True)
>>> value_bits(sp.Mul(2**4000 + 1, 2**4000 + 1, evaluate=False)), value_bits(sp.Pow(3, 4096, evaluate=False))
(8002, 6493)
"""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Integral
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef

from ..parsing import MAX_BITS, expansion_error

TOO_MANY = 1 << 64
"""A bound past every limit: a value bound larger than this is not computed further."""

POLYNOMIAL_NODES = (sp.Add, sp.Mul, sp.Symbol, sp.Rational, sp.Float, AppliedUndef)
"""The node types of a polynomial entry (with ``sp.Pow`` of a natural exponent); an applied
undefined function σ(…) is an activation of a network proof, defined for every argument."""


def _number_bits(node: object) -> int:
    """The bits of a number written in the tree (0 for anything else): an integer's, the larger
    of a fraction's numerator and denominator, a Float's exact binary value's."""
    if isinstance(node, Integral):
        return int(node).bit_length()
    if isinstance(node, (Fraction, sp.Rational)):
        return max(int(node.numerator).bit_length(), int(node.denominator).bit_length())
    if isinstance(node, sp.Float):   # mantissa·2^exponent: numerator and denominator of that rational
        _, mantissa, exponent, count = node._mpf_
        return int(count) + abs(int(exponent)) if mantissa else 0
    return 0


def value_bits(value: object) -> int:
    """An upper bound on the bits of ``value``'s magnitude (module docstring), from its tree
    alone, never evaluating it; at most TOO_MANY."""
    memo: dict[int, tuple[Any, int]] = {}

    def bits(node: Any) -> int:
        known = memo.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        found = min(_node_bits(node, bits), TOO_MANY)
        memo[id(node)] = (node, found)
        return found
    return bits(value)


def _node_bits(node: Any, bits: Any) -> int:
    if not isinstance(node, sp.Basic) or isinstance(node, (sp.Rational, sp.Float)):
        return _number_bits(node)
    if not node.args:
        return 0   # a symbol, or a constant such as pi: no digits of its own
    if isinstance(node, sp.Mul):
        return sum(bits(a) for a in node.args)
    if isinstance(node, sp.Add):
        return max(bits(a) for a in node.args) + len(node.args).bit_length()
    if isinstance(node, sp.Pow):
        base, exponent = node.args
        return _power_bits(base, exponent, bits)
    return max(bits(a) for a in node.args) + 1   # a function: its arguments' size


def _power_bits(base: Any, exponent: Any, bits: Any) -> int:
    """base**exponent: |e|·log2|base| for a number base, |e|·bits(base) otherwise."""
    if isinstance(exponent, sp.Rational):
        times = abs(int(exponent.p))
    elif exponent.is_number:   # a numeric expression: |e| < 2^bits(e)
        exponent_bits = bits(exponent)
        times = 1 << exponent_bits if exponent_bits < 64 else TOO_MANY
    else:
        return bits(base) + bits(exponent)   # a symbolic exponent: not a polynomial, refuted as one
    if isinstance(base, sp.Rational) and base != 0:
        largest = max(abs(int(base.p)), int(base.q))
        return math.ceil(times * math.log2(largest)) if largest > 1 else 1
    return times * bits(base)


def polynomial_nodes(value: object) -> bool:
    """Whether every node of ``value`` is a node of a polynomial (``POLYNOMIAL_NODES``; a power
    only with a natural exponent, or an integer power of a nonzero rational number)."""
    if not isinstance(value, sp.Basic):
        return True
    for node in sp.preorder_traversal(value):
        if isinstance(node, sp.Pow):
            base, exponent = node.args
            if not (isinstance(exponent, sp.Integer) and (exponent >= 0 or isinstance(base, sp.Rational)
                                                          and base != 0)):
                return False
        elif not isinstance(node, POLYNOMIAL_NODES):
            return False
    return True


def _first_unread(value: sp.Basic) -> str:
    """The name of the outermost node of ``value`` outside a polynomial's (``polynomial_nodes``):
    a node of another type first, else a power with another exponent."""
    kinds = [type(node).__name__ for node in sp.preorder_traversal(value)
             if not isinstance(node, (*POLYNOMIAL_NODES, sp.Pow))]
    return kinds[0] if kinds else "Pow"


UNDEFINED = (sp.nan, sp.zoo, sp.oo, -sp.oo)


def value_problem(value: object) -> str | None:
    """Why a proof cannot read ``value`` (module docstring): a value of more than MAX_BITS bits,
    a node outside a polynomial's that vanishes on expansion, or an expansion that is not finite;
    None when it can."""
    try:
        size = value_bits(value)
    except RecursionError:
        return "is nested too deeply to read"
    if size > MAX_BITS:
        return f"a number of about {size} bits; at most {MAX_BITS} bits are allowed in an entry"
    if polynomial_nodes(value):
        return None
    too_large = expansion_error(value)
    if too_large:
        return too_large
    expanded = sp.expand(value)
    if expanded.has(*UNDEFINED):
        return "is not a finite number once expanded; each entry must be a finite number or a SymPy expression"
    if polynomial_nodes(expanded):
        kind = _first_unread(value)
        return (f"holds {'an' if kind[0] in 'AEIOU' else 'a'} {kind}, which vanishes when the entry is expanded: "
                f"symconv does not decide the value of {'an' if kind[0] in 'AEIOU' else 'a'} {kind} (it may be "
                f"undefined, as 0·∞ is), so an entry may hold only numbers, symbols, +, ·, natural powers and "
                f"applied undefined functions")
    return None
