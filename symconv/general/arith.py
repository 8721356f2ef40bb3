"""Integer arithmetic of general derivations: integrality, the normal form of an inequality, and
side conditions (proving e ≥ 0 from hypothesis atoms), each checked by two procedures.

Semantics. Symbols declared ``integer=True`` range over ℤ; every other leaf — tensor entries
``w[…]``, ``x[…]`` (Indexed), plain symbols such as a root of unity z, undefined functions σ —
is an arbitrary (real or complex) value. SymPy's assumption system is trusted for nothing else.

**Integrality** (``integer_valued``, the one predicate of the package). e is an integer for
all integer values of its symbols satisfying the hypothesis atoms when it is built from integers
and integer symbols by +, ·, nonnegative integer powers, δ(a, b) and [cond] (values 0 and 1),
⌊a/b⌋ and a mod b with a, b integer-valued and b ≥ 1 by the hypotheses (SymPy cannot know
⌊u/n⌋ ∈ ℤ: n might be 0), and Piecewise/padding maps whose every value is integer-valued.
A rational coefficient (n/2), a tensor entry, an unknown function is not.

**Inequalities** (``normal_relation``). e > 0 or e ≥ 0 with e = c₀ + Σ cᵢ·mᵢ (rational cᵢ,
monomials mᵢ). Dividing by g = gcd(cᵢ) > 0 is an identity. If every mᵢ is integer-valued then
M = Σ (cᵢ/g)·mᵢ is an integer, so M + c₀/g ≥ 0 ⟺ M + ⌊c₀/g⌋ ≥ 0 and
M + c₀/g > 0 ⟺ M + ⌈c₀/g⌉ − 1 ≥ 0 (over ℤ, x > −c ⟺ x ≥ ⌊−c⌋ + 1): the *integer shift*,
done only after clearing the denominators. Otherwise the relation keeps its strictness:
[n > 17/2] = [n − 9 ≥ 0] but [n ≥ 19/2] = [n − 10 ≥ 0], and [w > 1/2] stays strict.
Every linear shift is cross-checked with z3 (``smt.equivalent``); a z3 counterexample
cancels the shift.

**Side conditions** (``implied(e, atoms, eliminate)``). Hypotheses are atoms h ≥ 0
(``expr.condition_atoms``). Two independent procedures:

A. a sound, incomplete certificate check, on the goal in normal form:

   1. e − h is a nonnegative number for some hypothesis atom h (e is a weakening of h); else
   2. *linear combination* (e integer-valued, e and the atoms used linear): rationals λ_h ≥ 0,
      μ > 0 with Σ_h λ_h·h + μ·(−e − 1) a negative number, so e ≤ −1 (which is ¬(e ≥ 0)
      because e is an integer) contradicts the atoms; found by exact Fourier–Motzkin
      elimination and verified by expanding the combination; else
   3. *slack substitution*: for each (variable v, atom h) in ``eliminate`` the atom h must be a
      hypothesis in which v has coefficient ±1; v is solved from h = σ with a fresh slack σ ≥ 0
      and substituted into e. If the expanded result is a polynomial whose coefficients are all
      nonnegative numbers in variables that are all nonnegative (slacks, or symbols v with the
      atom v ≥ 0 among the hypotheses, or shifted v = b + v̂ when v − b ≥ 0 is a hypothesis
      with b a number), then e ≥ 0 (over the reals, no integrality needed);

B. the SMT solver z3 (``smt.check``): is there an integer point with every atom ≥ 0 and e < 0?

e ≥ 0 holds when z3 proves it (unsat), or when A gives a certificate and z3 finds no
counterexample (unknown, timeout or not translatable). A z3 model fails the condition and is
reported as its counterexample. The reason names the procedures, e.g.
"… (Fourier–Motzkin certificate …); z3: proved" or "z3: proved (no certificate: …)".

>>> n, j = sp.symbols("n j", integer=True)
>>> normal_relation(n - sp.Rational(17, 2), True), normal_relation(n - sp.Rational(19, 2), False)
((n - 9, False), (n - 10, False))
>>> implied(n - 1 - j, [n - 1, -j - 1])  # doctest: +ELLIPSIS
(True, '-j + n - 1 ≥ 0: ... (Fourier–Motzkin certificate; every atom a hypothesis); z3: proved')
>>> implied(n - 1, [n, 1 - n])  # doctest: +ELLIPSIS
(False, 'n - 1 ≥ 0 fails (...); z3: counterexample n = 0')
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from fractions import Fraction
from functools import lru_cache
from math import floor, gcd, lcm

import sympy as sp

from . import smt


# ---- integrality ------------------------------------------------------------------------------
def integer_valued(e: sp.Basic, atoms: Sequence[sp.Expr] = ()) -> bool:
    """e is an integer for all integer values of its symbols satisfying the atoms (module
    docstring: structural, never SymPy's ``is_integer`` of a compound expression).

    >>> u, n = sp.symbols("u n", integer=True)
    >>> integer_valued(3 * u ** 2 - n), integer_valued(u / 2), integer_valued(sp.floor(u / n), [n - 1])
    (True, False, True)
    >>> integer_valued(sp.IndexedBase("w")[u]), integer_valued(sp.floor(u / n))
    (False, False)
    """
    e = sp.sympify(e, strict=True)
    if e.is_Integer or (isinstance(e, sp.Symbol) and e.is_integer is True):
        return True
    if isinstance(e, (sp.Add, sp.Mul)):
        return all(integer_valued(a, atoms) for a in e.args)
    if isinstance(e, sp.Pow):
        return bool(e.exp.is_Integer and e.exp >= 0) and integer_valued(e.base, atoms)
    if isinstance(e, sp.KroneckerDelta):
        return True
    if isinstance(e, (sp.floor, sp.Mod)):
        # ⌊p/q⌋ for integers p, q ≥ 1; a mod q for integers a, q ≥ 1 (Mod(u/2, 3) is not)
        numerator, denominator = sp.fraction(sp.together(e.args[0])) if isinstance(e, sp.floor) \
            else e.args
        return (integer_valued(numerator, atoms) and integer_valued(denominator, atoms)
                and implied(denominator - 1, atoms)[0])
    if isinstance(e, sp.Piecewise):
        return all(integer_valued(value, atoms) for value, _ in e.args)
    own = getattr(type(e), "integer_valued", None)  # symconv's own functions: Iverson, SourceMap
    return bool(own is not None and callable(own) and own(e, atoms))


# ---- the normal form of an inequality -----------------------------------------------------------
def _split(e: sp.Expr) -> tuple[sp.Rational, list[tuple[sp.Rational, sp.Expr]]] | None:
    """e = c₀ + Σ cᵢ·mᵢ with rational numbers c, or None (a Float or irrational coefficient)."""
    constant, rest = e.as_coeff_Add()
    if not constant.is_Rational:
        return None
    terms = []
    for term in sp.Add.make_args(rest):
        if term == 0:
            continue
        coefficient, monomial = term.as_coeff_Mul()
        if not coefficient.is_Rational or monomial.is_number:
            return None
        terms.append((coefficient, monomial))
    return constant, terms


def _content(coefficients: Sequence[sp.Rational]) -> Fraction:
    """The positive gcd of rationals: gcd of the numerators over the lcm of the denominators."""
    numerator = gcd(*(int(c.p) for c in coefficients))
    denominator = lcm(*(int(c.q) for c in coefficients))
    return Fraction(numerator, denominator)


@lru_cache(maxsize=4096)
def _normal(e: sp.Expr, strict: bool, shift: bool = True) -> tuple[sp.Expr, bool, bool]:
    """(e′, strict′, shifted): e divided by the content g of its coefficients, then (if
    ``shift`` and every monomial is integer-valued) the integer shift of the module docstring."""
    e = sp.expand(e)
    parts = _split(e) if not e.is_number else None
    if parts is None or not parts[1]:
        return e, strict, False
    constant, terms = parts
    g = _content([c for c, _ in terms])
    body = sp.Add(*(sp.Rational(Fraction(int(c.p), int(c.q)) / g) * m for c, m in terms))
    c0 = Fraction(int(constant.p), int(constant.q)) / g
    if not (shift and all(integer_valued(m) for _, m in terms)):
        return sp.expand(body + sp.Rational(c0)), strict, False
    # body is an integer: body + c0 ≥ 0 ⟺ body + ⌊c0⌋ ≥ 0; body + c0 > 0 ⟺ body + ⌈c0⌉ − 1 ≥ 0
    return sp.expand(body + (-floor(-c0) - 1 if strict else floor(c0))), False, True


def normal_relation(e: sp.Expr, strict: bool = False) -> tuple[sp.Expr, bool]:
    """(e′, strict′) with [e ⊳ 0] = [e′ ⊳′ 0] (⊳ is > if strict else ≥): the module
    docstring's normal form. An integer shift is taken only with integer-valued monomials after
    clearing the denominators, and not when z3 finds an integer point where the two differ."""
    e, strict = sp.expand(e), bool(strict)
    normal, normal_strict, shifted = _normal(e, strict)
    if shifted and smt.equivalent((e, strict), (normal, False)).status == smt.COUNTEREXAMPLE:
        normal, normal_strict, _ = _normal(e, strict, shift=False)
    return normal, normal_strict


# ---- side conditions ----------------------------------------------------------------------------
def _is_hypothesis(atom: sp.Expr, atoms: Sequence[sp.Expr]) -> bool:
    return any(sp.expand(atom - h) == 0 for h in atoms)


def implied(goal: sp.Expr, atoms: Sequence[sp.Expr],
            eliminate: Sequence[tuple[sp.Symbol, sp.Expr]] = ()) -> tuple[bool, str]:
    """(True, reason) when ``goal ≥ 0`` follows from the atoms by the module docstring's
    rule (a certificate and no z3 counterexample, or a z3 proof), else (False, reason); the
    reason names the procedures and a z3 counterexample's values."""
    goal = sp.expand(goal)
    if goal.is_Rational:
        ok = bool(goal >= 0)
        return ok, f"{goal} ≥ 0" if ok else f"{goal} < 0"
    if goal.is_number:  # a closed Sum, Abs, …: SymPy's comparison would guess or raise
        return False, f"{goal} ≥ 0 not decided (a number that is not a rational literal)"
    certified, why = certificate(goal, atoms, eliminate)
    answer = smt.check(goal, tuple(atoms))
    if answer.status == smt.COUNTEREXAMPLE:
        ok, reason, by = False, f"{goal} ≥ 0 fails ({why}); {answer}", f"refuted by {answer}"
    elif answer.status == smt.PROVED:
        ok, by = True, "certificate and z3" if certified else "z3 alone"
        reason = f"{why}; {answer}" if certified else f"{answer} (no certificate: {why})"
    else:
        ok, reason = certified, f"{why}; {answer}"
        by = f"certificate, z3 {answer.status}" if certified else f"not established ({answer.status})"
    recorded = _RECORDED.get()
    if recorded is not None:
        recorded.append(f"{goal} ≥ 0: {by}")
    return ok, reason


_RECORDED: ContextVar[list[str] | None] = ContextVar("side_conditions", default=None)


@contextmanager
def recorded_side_conditions() -> Iterator[list[str]]:
    """Collect, for every ``implied`` call made inside the block, "goal ≥ 0: procedure" (which
    procedure established it: certificate and z3, z3 alone, certificate with z3 unknown, or
    refuted), so that a derivation step can say how its rule's side conditions were decided.

    >>> n = sp.Symbol("n", integer=True)
    >>> with recorded_side_conditions() as found:
    ...     _ = implied(n - 1, [n - 2])
    >>> found
    ['n - 1 ≥ 0: certificate and z3']
    """
    found: list[str] = []
    token = _RECORDED.set(found)
    try:
        yield found
    finally:
        _RECORDED.reset(token)


def certificate(goal: sp.Expr, atoms: Sequence[sp.Expr],
                eliminate: Sequence[tuple[sp.Symbol, sp.Expr]] = ()) -> tuple[bool, str]:
    """Procedure A of the module docstring: (True, certificate) or (False, why not)."""
    goal = sp.expand(goal)
    normal, strict = normal_relation(goal)
    if strict:
        return False, f"{goal} > 0 is not an integer condition"
    for h in atoms:
        gap = sp.expand(normal - h)
        if gap.is_Rational and gap >= 0:
            return True, f"{goal} = ({h}) + {gap} with {h} ≥ 0 a hypothesis"
    if not eliminate:
        found = linear_certificate(normal, atoms)
        if found is not None:
            return True, found
    return _slack_certificate(normal, atoms, eliminate)


def _slack_certificate(e: sp.Expr, atoms: Sequence[sp.Expr],
                       eliminate: Sequence[tuple[sp.Symbol, sp.Expr]]) -> tuple[bool, str]:
    slacks = []
    for v, h in eliminate:
        if not _is_hypothesis(h, atoms):
            return False, f"{h} ≥ 0 is not a hypothesis"
        coefficient = sp.expand(h).coeff(v)
        if coefficient not in (1, -1) or sp.expand(h - coefficient * v).has(v):
            return False, f"{v} does not occur with coefficient ±1 in {h}"
        slack = sp.Dummy(f"sigma_{v}", integer=True)
        slacks.append(slack)
        value = sp.expand((slack - (h - coefficient * v)) / coefficient)
        e = sp.expand(e.xreplace({v: value}))
    shifts = {}
    for v in e.free_symbols - set(slacks):
        lower = _lower_bound(v, atoms)
        if lower is None:
            return False, f"{v} has no lower bound among the hypotheses"
        shifts[v] = lower + sp.Dummy(f"{v}_hat", integer=True)
    e = sp.expand(e.xreplace(shifts))
    try:
        poly = sp.Poly(e, *sorted(e.free_symbols, key=str)) if e.free_symbols else None
    except sp.PolynomialError:  # a Sum, Mod, … of the variables: no slack certificate
        return False, f"{e} is not a polynomial in its variables"
    coefficients = poly.coeffs() if poly is not None else [e]
    ok = all(c.is_Rational and c >= 0 for c in coefficients)
    note = f"after eliminating {[str(v) for v, _ in eliminate]} and shifting to nonnegative " \
           f"variables: {e}"
    return bool(ok), note + (" (all coefficients ≥ 0)" if ok else " (a negative coefficient)")


def _lower_bound(v: sp.Symbol, atoms: Sequence[sp.Expr]) -> sp.Expr | None:
    """b when v − b ≥ 0 is a hypothesis with b a number (the largest such b)."""
    best = None
    for h in atoms:
        h = sp.expand(h)
        if h.coeff(v) == 1:
            rest = sp.expand(h - v)
            if rest.is_Rational and (best is None or -rest > best):
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

    Then no integer point has every atom h ≥ 0 and goal ≤ −1, which is ¬(goal ≥ 0) because
    goal is integer-valued (checked: a goal with a rational coefficient such as n − 1/2 gets
    no certificate here; ``implied`` first brings it to its normal form n − 1). λ and μ come
    from Fourier–Motzkin elimination in exact rationals; the identity is re-checked by
    expanding the combination.
    """
    goal = sp.expand(goal)
    if not _linear(goal) or not integer_valued(goal):
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
    if not (combination.is_Rational and combination < 0 and mu > 0):
        return None
    used = " + ".join(f"{sp.Rational(wt.numerator, wt.denominator)}·({rows[i]})"
                      for i, wt in sorted(weights.items()) if i < len(rows) - 1)
    return (f"{goal} ≥ 0: {used or '0'} + {mu}·({-goal} − 1) = {combination} < 0 "
            f"(Fourier–Motzkin certificate; every atom a hypothesis)")


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
        def cost(v, table=table):
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
