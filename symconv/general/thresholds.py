"""Instances at the thresholds of a claim: where a bracket, a δ or a floor in it changes value.

Random sizes seldom meet the one size at which a claim goes wrong: [n > 17/2] − [n ≥ 19/2]
is nonzero at n = 9 only, [n ≥ 40] only from 40 on. So besides the random instances a
derivation is checked at **targets** found in the user's expressions (``claims``):

* every *atom* — a relation (in a Piecewise, an Iverson bracket, And/Or/Not), a Kronecker
  delta δ(a, b) (as a = b), a floor or a Mod — is scanned along each drawable symbol v it
  contains (sizes, hyperparameters, indices; a derived size such as the output size m is
  replaced by its formula first) with the atom's other symbols at the values of a random
  instance and each summation dummy around it at a random value of its range; wherever the
  atom's value changes between v = x and x + 1 the targets pin v to x − 1, x, x + 1, x + 2
  (the floor and ceiling of the boundary and their neighbours) together with the atom's
  other symbols, so that the atom sits at its boundary;
* every numeric constant c (and the numerator and denominator of a fraction) pins each
  drawable symbol of the claim to ⌊c⌋ − 1, ⌊c⌋, ⌈c⌉, ⌈c⌉ + 1;
* a claim that divides by the data (w, x, …) gets an instance whose data are all zero.

The data of a threshold instance are drawn from a wide range (``setting.DATA``): a claim that
differs at the threshold by a nonzero polynomial of degree ≤ 2 in the data agrees there by
chance with probability ≤ 2/2001 (Schwartz–Zippel), not 1/9 as with the small random values.

Targets are taken round-robin over (atom, symbol) groups, closest to the boundary first, at
most ``MAX_TARGETS``; values beyond ``SCAN_LIMIT[dims]`` are not scanned (such instances are
too large to build; the symbolic check alone decides there). The setting draws the other
values with the pinned ones fixed, subject to the hypotheses.

>>> import sympy as sp
>>> n = sp.Symbol("n", integer=True)
>>> found = targets([sp.Piecewise((1, n > sp.Rational(17, 2)), (0, True))], {n: 3}, {n}, {}, dims=1)
>>> sorted(t.values[n] for t in found if t.reason == "n > 17/2 along n")
[7, 8, 9, 10]
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp

from .evaluate import Env, EvaluationError, LimitExceeded, evaluate

SCAN_LIMIT = {1: 256, 2: 96, 3: 32}
"""Largest value a symbol is scanned (and pinned) to, per number of spatial dimensions."""
MAX_TARGETS = 32
MAX_CHANGES = 3
"""Changes of value recorded per scan (a floor or Mod changes at every step of some sizes)."""
RELATIONS = (sp.Ge, sp.Gt, sp.Le, sp.Lt, sp.Eq, sp.Ne)


@dataclass(frozen=True)
class Target:
    """Values to pin in an instance, and the kind of its random data (setting.DATA): wide, so
    that a difference at the threshold does not vanish by a zero in the data, or zero."""

    values: dict = field(default_factory=dict)
    data: str = "wide"
    reason: str = ""


@dataclass(frozen=True)
class Atom:
    """A piecewise-constant part of a claim and the summation limits around it (outermost
    first)."""

    expr: sp.Basic
    limits: tuple = ()


def claim_atoms(expr: sp.Basic, limits: tuple = ()) -> list[Atom]:
    """Relations, δ(a, b) (as Eq(a, b)), floor and Mod nodes of ``expr``, with their limits.

    >>> n, j = sp.symbols("n j", integer=True)
    >>> [a.expr for a in claim_atoms(sp.KroneckerDelta(j, 2) + sp.floor(n / 3))]
    [Eq(2, j), floor(n/3)]
    """
    expr = sp.sympify(expr, strict=True)
    found: list[Atom] = []
    if isinstance(expr, sp.Sum):
        inner = limits + tuple(tuple(limit) for limit in reversed(expr.limits))  # SymPy order
        for _, low, high in expr.limits:
            found += claim_atoms(low, limits) + claim_atoms(high, limits)
        return found + claim_atoms(expr.function, inner)
    if isinstance(expr, RELATIONS):
        found.append(Atom(expr, limits))
    elif isinstance(expr, sp.KroneckerDelta):
        found.append(Atom(sp.Eq(*expr.args, evaluate=False), limits))
    elif isinstance(expr, (sp.floor, sp.ceiling, sp.Mod)):
        found.append(Atom(expr, limits))
    for arg in expr.args:
        if isinstance(arg, sp.Basic):
            found += claim_atoms(arg, limits)
    return found


def constants(expr: sp.Basic) -> set[int]:
    """Integers suggested by the numeric constants of ``expr``: ⌊c⌋ − 1 … ⌈c⌉ + 1 for every
    rational c, its numerator and its denominator (|·| ≥ 2)."""
    found: set[int] = set()
    for number in sp.sympify(expr, strict=True).atoms(sp.Rational):
        for c in {Fraction(int(number.p), int(number.q)), Fraction(int(number.p)),
                  Fraction(int(number.q))}:
            if abs(c) >= 2:
                found |= {math.floor(c) - 1, math.floor(c), math.ceil(c), math.ceil(c) + 1}
    return found


def divides_by_data(expr: sp.Basic) -> bool:
    """A negative power, or a Mod, whose divisor reads a tensor entry."""
    for node in sp.preorder_traversal(sp.sympify(expr, strict=True)):
        if isinstance(node, sp.Pow) and node.exp.is_negative is not False \
                and node.base.has(sp.Indexed):
            return True
        if isinstance(node, sp.Mod) and node.args[1].has(sp.Indexed):
            return True
    return False


def _value(expr: sp.Basic, values: Mapping) -> object:
    try:
        result = evaluate(expr, Env(dict(values)))
    except (EvaluationError, LimitExceeded, ZeroDivisionError, TypeError, ValueError):
        return None
    return result


def _bind(atom: Atom, base: Mapping, rng: random.Random) -> dict | None:
    """The base values with every summation dummy around the atom at a random value of its
    range (None if a range is empty or cannot be evaluated)."""
    values = dict(base)
    for v, low, high in atom.limits:
        lo, hi = _value(low, values), _value(high, values)
        if not isinstance(lo, int) or not isinstance(hi, int) or hi < lo:
            return None
        values[v] = rng.choice([lo, hi, rng.randint(lo, hi)])
    return values


def _changes(expr: sp.Basic, symbol: sp.Symbol, values: dict, limit: int) -> list[int]:
    """The x in [0, limit) where expr's value differs between symbol = x and x + 1."""
    found, previous = [], _value(expr, {**values, symbol: 0})
    for x in range(1, limit + 1):
        current = _value(expr, {**values, symbol: x})
        if previous is not None and current is not None and current != previous:
            found.append(x - 1)
            if len(found) == MAX_CHANGES:
                break
        previous = current
    return found


def targets(claims: Iterable[sp.Basic], base: Mapping, drawable: set, derived: Mapping,
            dims: int, rng: random.Random | None = None) -> list[Target]:
    """The threshold targets of ``claims`` (module docstring): ``base`` are the values of a
    random instance, ``drawable`` the symbols a setting can pin, ``derived`` maps a derived
    symbol (an output size) to its formula in drawable symbols."""
    rng = rng or random.Random(0)
    limit = SCAN_LIMIT[dims]
    claims = [sp.sympify(c, strict=True) for c in claims if c is not None]
    groups: list[list[Target]] = []
    for claim in claims:
        for atom in claim_atoms(claim):
            values = _bind(atom, base, rng)
            if values is None:
                continue
            expr = atom.expr.xreplace(dict(derived))
            symbols = sorted(expr.free_symbols & drawable, key=str)
            for symbol in symbols:
                group = []
                for x in _changes(expr, symbol, values, limit):
                    for pin in (x, x + 1, x - 1, x + 2):
                        if 0 <= pin <= limit:
                            pinned = {s: values[s] for s in symbols if s in values}
                            group.append(Target({**pinned, symbol: pin},
                                                reason=f"{atom.expr} along {symbol}"))
                if group:
                    groups.append(group)
        near = sorted(c for c in constants(claim) if 0 <= c <= limit)
        for symbol in sorted(claim.xreplace(dict(derived)).free_symbols & drawable, key=str):
            group = [Target({symbol: c}, reason=f"constant near {c}") for c in near]
            if group:
                groups.append(group)
    chosen = _round_robin(groups)
    if any(divides_by_data(c) for c in claims):
        chosen.insert(0, Target({}, data="zero", reason="division by the data"))
    return chosen[:MAX_TARGETS]


def _round_robin(groups: Sequence[list[Target]]) -> list[Target]:
    """The first target of every group, then the second, …; duplicates dropped."""
    chosen, seen = [], set()
    for rank in range(max((len(g) for g in groups), default=0)):
        for group in groups:
            if rank < len(group):
                key = tuple(sorted((str(s), v) for s, v in group[rank].values.items()))
                if key not in seen:
                    seen.add(key)
                    chosen.append(group[rank])
    return chosen
