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
from functools import lru_cache

import sympy as sp
import z3

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


class _Translation:
    """SymPy → z3 for one query: its variables and the side facts (divisors ≠ 0)."""

    def __init__(self) -> None:
        self.variables: dict[sp.Symbol, z3.ArithRef] = {}
        self.facts: list[z3.BoolRef] = []

    def __call__(self, e: sp.Basic) -> z3.ArithRef:  # noqa: C901 - one case per node type
        if e.is_Integer:
            return z3.IntVal(int(e))
        if e.is_Rational:
            return z3.Q(int(e.p), int(e.q))
        if isinstance(e, sp.Symbol):
            if e.is_integer is not True:
                raise Untranslatable(f"the symbol {e} is not an integer symbol")
            if e not in self.variables:
                self.variables[e] = z3.Int(f"{e}!{len(self.variables)}")
            return self.variables[e]
        if isinstance(e, sp.Add):
            return z3.Sum(*(self(a) for a in e.args))
        if isinstance(e, sp.Mul):
            return z3.Product(*(self(a) for a in e.args))
        if isinstance(e, sp.Pow) and e.exp.is_Integer:
            k = int(e.exp)
            if k == -1:
                base = self(e.base)
                self.facts.append(base != 0)
                return 1 / z3.ToReal(base) if z3.is_int(base) else 1 / base
            if 0 <= k <= MAX_POWER:
                return z3.Product(*([self(e.base)] * k)) if k else z3.IntVal(1)
        if isinstance(e, sp.floor):
            inner = self(e.args[0])
            return z3.ToInt(inner) if z3.is_real(inner) else inner
        if isinstance(e, sp.Mod):
            a, b = self(e.args[0]), self(e.args[1])
            self.facts.append(b != 0)
            quotient = z3.ToReal(a) / z3.ToReal(b) if z3.is_int(a) else a / b
            return a - b * z3.ToInt(quotient)
        raise Untranslatable(f"{type(e).__name__} {e}")

    def model(self, model: z3.ModelRef) -> tuple[tuple[str, int | Fraction], ...]:
        values = []
        for symbol, variable in self.variables.items():
            value = model.eval(variable, model_completion=True)
            values.append((str(symbol), int(value.as_long())))
        return tuple(sorted(values))


def _solve(translation: _Translation, assertions: Sequence[z3.BoolRef], complete: bool) -> Answer:
    solver = z3.Solver()
    solver.set("timeout", TIMEOUT_MS)
    solver.add(*translation.facts, *assertions)
    result = solver.check()
    if result == z3.unsat:
        return Answer(PROVED)
    if result == z3.sat:
        if not complete:
            return Answer(UNKNOWN, detail="a model, but some hypotheses were not translatable")
        return Answer(COUNTEREXAMPLE, translation.model(solver.model()))
    return Answer(UNKNOWN, detail=solver.reason_unknown())


@lru_cache(maxsize=8192)
def _check(goal: sp.Expr, atoms: frozenset[sp.Expr]) -> Answer:
    translation = _Translation()
    try:
        negated = translation(sp.expand(goal)) < 0
    except Untranslatable as error:
        return Answer(UNTRANSLATABLE, detail=str(error))
    hypotheses, complete = [], True
    for atom in sorted(atoms, key=sp.default_sort_key):
        try:
            hypotheses.append(translation(sp.expand(atom)) >= 0)
        except Untranslatable:
            complete = False
    return _solve(translation, [negated, *hypotheses], complete)


def check(goal: sp.Expr, atoms: Sequence[sp.Expr]) -> Answer:
    """Does goal ≥ 0 hold at every integer point where every atom is ≥ 0? (module docstring)"""
    return _check(sp.expand(goal), frozenset(sp.expand(a) for a in atoms))


@lru_cache(maxsize=8192)
def _equivalent(first: tuple[sp.Expr, bool], second: tuple[sp.Expr, bool]) -> Answer:
    translation = _Translation()
    try:
        a, b = (translation(e) > 0 if strict else translation(e) >= 0
                for e, strict in (first, second))
    except Untranslatable as error:
        return Answer(UNTRANSLATABLE, detail=str(error))
    return _solve(translation, [a != b], True)


def equivalent(first: tuple[sp.Expr, bool], second: tuple[sp.Expr, bool]) -> Answer:
    """Is [e₁ ⊳₁ 0] = [e₂ ⊳₂ 0] at every integer point? (⊳ is > for strict=True, else ≥)"""
    return _equivalent((sp.expand(first[0]), bool(first[1])), (sp.expand(second[0]), bool(second[1])))
