"""Side conditions: proving an integer inequality e ≥ 0 from the hypotheses.

Hypotheses are atoms h ≥ 0 (``expr.condition_atoms``). ``implied(e, atoms, eliminate)`` is a
sound, incomplete certificate check:

1. e − h is a nonnegative integer for some hypothesis atom h (e is a weakening of h); else
2. *slack substitution*: for each (variable v, atom h) in ``eliminate`` the atom h must be a
   hypothesis in which v has coefficient ±1; v is solved from h = σ with a fresh slack σ ≥ 0
   and substituted into e. If the expanded result is a polynomial whose coefficients are all
   ≥ 0 in variables that are all nonnegative (slacks, or symbols v with the atom v ≥ 0 among
   the hypotheses, or shifted v = b + v̂ when v − b ≥ 0 is a hypothesis with b a number),
   then e ≥ 0.

Every accepted goal comes with this certificate; a rejected one proves nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp


def _is_hypothesis(atom: sp.Expr, atoms: Sequence[sp.Expr]) -> bool:
    return any(sp.expand(atom - h) == 0 for h in atoms)


def implied(goal: sp.Expr, atoms: Sequence[sp.Expr],
            eliminate: Sequence[tuple[sp.Symbol, sp.Expr]] = ()) -> tuple[bool, str]:
    """(True, certificate) when ``goal ≥ 0`` follows from the atoms, else (False, reason)."""
    goal = sp.expand(goal)
    if goal.is_number:
        return (goal >= 0), f"{goal} ≥ 0" if goal >= 0 else f"{goal} < 0"
    for h in atoms:
        gap = sp.expand(goal - h)
        if gap.is_number and gap >= 0:
            return True, f"{goal} = ({h}) + {gap} with {h} ≥ 0 a hypothesis"
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
