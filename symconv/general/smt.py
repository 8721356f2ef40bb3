"""The second, independent decision procedure for integer side conditions: the SMT solver z3.

``check(goal, atoms)`` asks z3 for an integer point with every atom ≥ 0 and goal < 0:
unsat proves goal ≥ 0 from the atoms ("z3: proved"), a model refutes it ("z3: counterexample
n = 0, …"), anything else is "unknown" (incomplete nonlinear arithmetic, the per-query timeout
``TIMEOUT_MS``) or "not translatable". ``equivalent((a, s), (b, t))`` decides
[a ⊳ 0] ⟺ [b ⊳ 0] the same way (⊳ is > when the flag is set, else ≥).

The translation SymPy → z3 is a whitelist, each node exact:

    Integer, Rational              IntVal, RealVal (exact fractions)
    Symbol with integer=True       Int (every other symbol is refused)
    Add, Mul                       +, · (z3 promotes Int to Real where a fraction occurs)
    Pow, exponent 0 … MAX_POWER    repeated product; exponent −1: 1/b with the side fact b ≠ 0
    floor(e)                       ToInt(e) (z3's floor of a real)
    Mod(a, b)                      a − b·⌊a/b⌋ (SymPy's and Python's sign convention), b ≠ 0

Tensor entries, root-of-unity symbols, padding maps, brackets and unknown functions are
refused ("not translatable"): that proves nothing and refutes nothing. A hypothesis atom that
is not translatable is left out — then a z3 proof still holds (fewer hypotheses), but a z3
model is no counterexample (it may break the atom left out) and counts as unknown.
Answers are cached per (goal, atoms).

>>> n, j = sp.symbols("n j", integer=True)
>>> str(check(n - 1 - j, (n - 1, -j - 1))), str(check(n - 1, (n, 1 - n)))
('z3: proved', 'z3: counterexample n = 0')
>>> str(equivalent((n - sp.Rational(17, 2), True), (n - 9, False)))
'z3: proved'
>>> str(equivalent((n - sp.Rational(17, 2), True), (n - 8, False)))
'z3: counterexample n = 8'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache, wraps

import sympy as sp
import z3

from .budget import remaining_seconds  # the derivation's deadline caps each query

TIMEOUT_MS = 2000
"""Per-query limit; past it z3's answer is "unknown"."""
MAX_POWER = 8

PROVED, COUNTEREXAMPLE, UNKNOWN, UNTRANSLATABLE = "proved", "counterexample", "unknown", \
    "not translatable"


@dataclass(frozen=True)
class Answer:
    """z3's verdict; ``model`` lists (symbol name, value) of a counterexample."""

    status: str
    model: tuple[tuple[str, int | Fraction], ...] = ()
    detail: str = ""

    @property
    def counterexample(self) -> dict[str, int | Fraction] | None:
        return dict(self.model) if self.status == COUNTEREXAMPLE else None

    def __str__(self) -> str:
        if self.status == COUNTEREXAMPLE:
            return "z3: counterexample " + ", ".join(f"{k} = {v}" for k, v in self.model)
        return f"z3: {self.status}" + (f" ({self.detail})" if self.detail else "")


class Untranslatable(ValueError):
    """A node outside the whitelist."""


_NAMES: dict[sp.Symbol, str] = {}
"""Every integer symbol's z3 name, unique in the process (two symbols may print alike)."""


def _variable(symbol: sp.Symbol) -> z3.ArithRef:
    if symbol.is_integer is not True:
        raise Untranslatable(f"the symbol {symbol} is not an integer symbol")
    if symbol not in _NAMES:
        _NAMES[symbol] = f"{symbol}!{len(_NAMES)}"
    return z3.Int(_NAMES[symbol])


@lru_cache(maxsize=16384)
def _translate(e: sp.Basic) -> tuple[z3.ArithRef, tuple[z3.BoolRef, ...]]:  # noqa: C901
    """(the z3 term, its side facts: every divisor ≠ 0); cached per expression."""
    if e.is_Integer:
        return z3.IntVal(int(e)), ()
    if e.is_Rational:
        return z3.Q(int(e.p), int(e.q)), ()
    if isinstance(e, sp.Symbol):
        return _variable(e), ()
    if isinstance(e, (sp.Add, sp.Mul)):
        parts = [_translate(a) for a in e.args]
        combine = z3.Sum if isinstance(e, sp.Add) else z3.Product
        return combine(*(t for t, _ in parts)), tuple(f for _, fs in parts for f in fs)
    if isinstance(e, sp.Pow) and e.exp.is_Integer and -1 <= int(e.exp) <= MAX_POWER:
        base, facts = _translate(e.base)
        k = int(e.exp)
        if k == -1:
            return 1 / _real(base), facts + (base != 0,)
        return (z3.Product(*([base] * k)) if k else z3.IntVal(1)), facts
    if isinstance(e, sp.floor):
        inner, facts = _translate(e.args[0])
        return (z3.ToInt(inner) if z3.is_real(inner) else inner), facts
    if isinstance(e, sp.Mod):
        (a, fa), (b, fb) = _translate(e.args[0]), _translate(e.args[1])
        return a - b * z3.ToInt(_real(a) / _real(b)), fa + fb + (b != 0,)
    raise Untranslatable(f"{type(e).__name__} {e}")


def _real(term: z3.ArithRef) -> z3.ArithRef:
    return z3.ToReal(term) if z3.is_int(term) else term


def _model(model: z3.ModelRef, expressions) -> tuple[tuple[str, int], ...]:
    """The values of the symbols of the expressions in a z3 model."""
    symbols = set().union(*(e.free_symbols for e in expressions))
    return tuple(sorted((str(v), int(model.eval(_variable(v), model_completion=True).as_long()))
                        for v in symbols))


def _solve(assertions: Sequence[z3.BoolRef], expressions, complete: bool) -> Answer:
    left = remaining_seconds()
    timeout = TIMEOUT_MS if left is None else max(1, min(TIMEOUT_MS, int(left * 1000)))
    solver = z3.Solver()
    solver.set("timeout", timeout)
    solver.add(*assertions)
    result = solver.check()
    if result == z3.unsat:
        return Answer(PROVED)
    if result == z3.sat:
        if not complete:
            return Answer(UNKNOWN, detail="a model, but some hypotheses were not translatable")
        return Answer(COUNTEREXAMPLE, _model(solver.model(), expressions))
    # an "unknown" under a timeout cut short by a deadline is not z3's answer to the question
    return Answer(UNKNOWN, detail=solver.reason_unknown()
                  + (f" (timeout cut to {timeout} ms by the deadline)" if timeout < TIMEOUT_MS else ""))


CACHE_SIZE = 8192


def _definite_answers(function):
    """Cache ``function``'s answers except an "unknown" of a query whose timeout a deadline cut
    short (asked again with the full timeout, z3 may decide it)."""
    cache: dict = {}

    @wraps(function)
    def cached(*key):
        if key in cache:
            return cache[key]
        answer = function(*key)
        if not (answer.status == UNKNOWN and "by the deadline" in answer.detail):
            if len(cache) >= CACHE_SIZE:
                cache.clear()
            cache[key] = answer
        return answer

    cached.cache_clear = cache.clear  # type: ignore[attr-defined]
    return cached


@_definite_answers
def _check(goal: sp.Expr, atoms: frozenset[sp.Expr]) -> Answer:
    try:
        term, facts = _translate(goal)
    except Untranslatable as error:
        return Answer(UNTRANSLATABLE, detail=str(error))
    assertions, used, complete = [term < 0, *facts], [goal], True
    for atom in sorted(atoms, key=sp.default_sort_key):
        try:
            term, facts = _translate(atom)
        except Untranslatable:
            complete = False
            continue
        assertions += [term >= 0, *facts]
        used.append(atom)
    return _solve(assertions, used, complete)


def check(goal: sp.Expr, atoms: Sequence[sp.Expr]) -> Answer:
    """Does goal ≥ 0 hold at every integer point where every atom is ≥ 0? (module docstring)"""
    return _check(sp.expand(goal), frozenset(sp.expand(a) for a in atoms))


@_definite_answers
def _equivalent(first: tuple[sp.Expr, bool], second: tuple[sp.Expr, bool]) -> Answer:
    try:
        (a, fa), (b, fb) = _translate(first[0]), _translate(second[0])
    except Untranslatable as error:
        return Answer(UNTRANSLATABLE, detail=str(error))
    holds = [(t > 0) if strict else (t >= 0) for t, strict in ((a, first[1]), (b, second[1]))]
    return _solve([holds[0] != holds[1], *fa, *fb], [first[0], second[0]], True)


def equivalent(first: tuple[sp.Expr, bool], second: tuple[sp.Expr, bool]) -> Answer:
    """Is [e₁ ⊳₁ 0] = [e₂ ⊳₂ 0] at every integer point? (⊳ is > for strict=True, else ≥)"""
    return _equivalent((sp.expand(first[0]), bool(first[1])), (sp.expand(second[0]), bool(second[1])))
