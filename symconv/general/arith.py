"""Side conditions: proving an integer inequality e ≥ 0 from the hypotheses.

Hypotheses are atoms h ≥ 0 (``expr.condition_atoms``). ``implied(e, atoms, eliminate)`` is a
sound, incomplete certificate check:

1. e − h is a nonnegative integer for some hypothesis atom h (e is a weakening of h); else
2. *linear combination* (e and the atoms used linear): rationals λ_h ≥ 0, μ > 0 with
   Σ_h λ_h·h + μ·(−e − 1) a negative number (so e ≤ −1 contradicts the atoms), found by exact
   Fourier–Motzkin elimination and verified by expanding the combination; else
3. *slack substitution*: for each (variable v, atom h) in ``eliminate`` the atom h must be a
   hypothesis in which v has coefficient ±1; v is solved from h = σ with a fresh slack σ ≥ 0
   and substituted into e. If the expanded result is a polynomial whose coefficients are all
   ≥ 0 in variables that are all nonnegative (slacks, or symbols v with the atom v ≥ 0 among
   the hypotheses, or shifted v = b + v̂ when v − b ≥ 0 is a hypothesis with b a number),
   then e ≥ 0.

Every accepted goal comes with this certificate; a rejected one proves nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import sympy as sp


def _is_hypothesis(atom: sp.Expr, atoms: Sequence[sp.Expr]) -> bool:
    return any(sp.expand(atom - h) == 0 for h in atoms)


def implied(goal: sp.Expr, atoms: Sequence[sp.Expr],
            eliminate: Sequence[tuple[sp.Symbol, sp.Expr]] = ()) -> tuple[bool, str]:
    """(True, certificate) when ``goal ≥ 0`` follows from the atoms, else (False, reason)."""
    goal = sp.expand(goal)
    if goal.is_number:
        return bool(goal >= 0), f"{goal} ≥ 0" if goal >= 0 else f"{goal} < 0"
    for h in atoms:
        gap = sp.expand(goal - h)
        if gap.is_number and gap >= 0:
            return True, f"{goal} = ({h}) + {gap} with {h} ≥ 0 a hypothesis"
    if not eliminate:
        certificate = linear_certificate(goal, atoms)
        if certificate is not None:
            return True, certificate
    e = goal
    slacks = []
    for position, (v, h) in enumerate(eliminate):
        if not _is_hypothesis(h, atoms):
            return False, f"{h} ≥ 0 is not a hypothesis"
        coefficient = sp.expand(h).coeff(v)
        if coefficient not in (1, -1) or sp.expand(h - coefficient * v).has(v):
            return False, f"{v} does not occur with coefficient ±1 in {h}"
        slack = sp.Symbol(f"sigma{position}", integer=True)
        slacks.append(slack)
        value = sp.expand((slack - (h - coefficient * v)) / coefficient)
        e = sp.expand(e.xreplace({v: value}))
    shifts = {}
    for v in e.free_symbols - set(slacks):
        lower = _lower_bound(v, atoms)
        if lower is None:
            return False, f"{v} has no lower bound among the hypotheses"
        shifts[v] = lower + sp.Symbol(f"{v}_hat", integer=True)
    e = sp.expand(e.xreplace(shifts))
    poly = sp.Poly(e, *sorted(e.free_symbols, key=str)) if e.free_symbols else None
    if poly is None:
        ok = e >= 0
    else:
        ok = all(c >= 0 for c in poly.coeffs())
    note = f"after eliminating {[str(v) for v, _ in eliminate]} and shifting to nonnegative " \
           f"variables: {e}"
    return bool(ok), (note + (" (all coefficients ≥ 0)" if ok else " (a negative coefficient)"))


def _lower_bound(v: sp.Symbol, atoms: Sequence[sp.Expr]) -> sp.Expr | None:
    """b when v − b ≥ 0 is a hypothesis with b a number (the largest such b)."""
    best = None
    for h in atoms:
        h = sp.expand(h)
        if h.coeff(v) == 1:
            rest = sp.expand(h - v)
            if rest.is_number and (best is None or -rest > best):
                best = -rest
    return best


def _linear(e: sp.Expr) -> bool:
    """e is a polynomial of degree ≤ 1 in its (symbol) variables."""
    if not e.free_symbols:
        return True
    poly = e.as_poly(*sorted(e.free_symbols, key=str))
    return poly is not None and poly.total_degree() <= 1


MAX_ROWS = 4000
"""Fourier–Motzkin gives up (proves nothing) beyond this many derived inequalities."""


def linear_certificate(goal: sp.Expr, atoms: Sequence[sp.Expr]) -> str | None:
    """Rationals λ_h ≥ 0 and μ > 0 with Σ λ_h·h + μ·(−goal − 1) a negative number, or None.

    Then no integer point has every atom h ≥ 0 and goal ≤ −1 (¬(goal ≥ 0) over the
    integers), so goal ≥ 0. λ and μ come from Fourier–Motzkin elimination in exact rationals;
    the identity is re-checked by expanding the combination.
    """
    goal = sp.expand(goal)
    if not _linear(goal):
        return None
    rows = [sp.expand(h) for h in dict.fromkeys(sp.expand(h) for h in atoms)]
    rows = [h for h in rows if not h.is_number and _linear(h)] + [sp.expand(-goal - 1)]
    variables = sorted(set().union(*(h.free_symbols for h in rows)), key=str)
    table = []
    for index, h in enumerate(rows):
        coeffs = {v: _fraction(c) for v in variables if (c := h.coeff(v)) != 0}
        const = _fraction(h.xreplace({v: 0 for v in variables}))
        table.append((coeffs, const, {index: Fraction(1)}))
    contradiction = _eliminate(table, variables)
    if contradiction is None:
        return None
    weights = contradiction[2]
    combination = sp.expand(sum(sp.Rational(wt.numerator, wt.denominator) * rows[i]
                                for i, wt in weights.items()))
    mu = weights.get(len(rows) - 1, 0)
    if not (combination.is_number and combination < 0 and mu > 0):
        return None
    used = " + ".join(f"{sp.Rational(wt.numerator, wt.denominator)}·({rows[i]})"
                      for i, wt in sorted(weights.items()) if i < len(rows) - 1)
    return (f"{goal} ≥ 0: {used or '0'} + {mu}·({-goal} − 1) = {combination} < 0 "
            f"(Fourier–Motzkin; every atom a hypothesis)")


def _fraction(value) -> Fraction:
    value = sp.Rational(value)
    return Fraction(int(value.p), int(value.q))


def _eliminate(table, variables):
    """Fourier–Motzkin: a row 0·v + const ≥ 0 with const < 0, with its weights, or None."""
    remaining = list(variables)
    while True:
        for row in table:
            if not row[0] and row[1] < 0:
                return row
        if not remaining or len(table) > MAX_ROWS:
            return None
        def cost(v):
            pos = sum(1 for c, _, _ in table if c.get(v, 0) > 0)
            neg = sum(1 for c, _, _ in table if c.get(v, 0) < 0)
            return pos * neg - pos - neg
        v = min(remaining, key=cost)
        remaining.remove(v)
        pos = [r for r in table if r[0].get(v, 0) > 0]
        neg = [r for r in table if r[0].get(v, 0) < 0]
        table = [r for r in table if r[0].get(v, 0) == 0]
        for a in pos:
            for b in neg:
                fa, fb = -b[0][v], a[0][v]  # fa·a + fb·b has no v
                coeffs = {}
                for key in set(a[0]) | set(b[0]):
                    value = fa * a[0].get(key, 0) + fb * b[0].get(key, 0)
                    if value and key != v:
                        coeffs[key] = value
                weights = {}
                for key in set(a[2]) | set(b[2]):
                    weights[key] = fa * a[2].get(key, 0) + fb * b[2].get(key, 0)
                table.append((coeffs, fa * a[1] + fb * b[1], weights))
