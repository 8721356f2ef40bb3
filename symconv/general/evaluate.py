"""A small exact evaluator for derivation expressions on concrete instances.

``compile_expr(e)`` turns a SymPy tree into a Python closure ``f(env)`` evaluated with exact
integers (and ``Fraction`` where a division appears), so concrete checks never go through
SymPy's ``doit``/``simplify`` (see the traps in docs/architecture.rst) and never wrap a negative index:
finite sums loop over their concrete ranges, δ and [cond] are decided exactly, and tensor
entries are looked up through ``env.tensors[name](indices)``, which checks every index.
Products evaluate their δ, [cond] and Piecewise factors first (guards) and stop at the first
zero guard, so a guarded entry x[u]·[0 ≤ u < n] is 0 outside the input instead of an index
error (Iverson's "strong zero"). The other factors are all evaluated even when one is 0:
0·(1/w[0]) at w[0] = 0 is undefined, not 0 (a claim dividing by the data must fail there).
Powers may have symbolic integer exponents (z^{j + d·t − p}: the exponent is evaluated first),
and a symbol may be bound to an element of ℤ[X]/(X^n − 1) (``cyclic``): identities in n-th
roots of unity are then checked exactly, for all roots at once.

Every evaluation is bounded (``limits``): one top-level ``evaluate`` visits at most
``MAX_TERMS`` summands in all (a Sum whose range at the instance exceeds what is left is refused
before its loop starts), a power may not build a number of more than ``MAX_POWER_BITS`` bits,
and the Sum loops check the wall-clock deadline of the enclosing derivation. Exceeding a limit
raises ``LimitExceeded``, which is *not* an ``EvaluationError``: it refutes nothing.

>>> n, u = sp.symbols("n u", integer=True)
>>> evaluate(sp.Sum(u, (u, 1, n)), Env({n: 4}))
10
>>> evaluate(sp.Sum(u, (u, 0, 10**9)), Env({}))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
symconv.general.budget.LimitExceeded: the sum over u has 1000000001 terms at this instance; one evaluation ...
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef

from .budget import MAX_TERMS, LimitExceeded, check_deadline, current, limits, remaining_seconds
from .expr import Iverson, SourceMap

__all__ = ["MAX_POWER_BITS", "MAX_RING_EXPONENT", "MAX_TERMS", "Env", "EvaluationError",
           "LimitExceeded", "Unsupported", "array_tensor", "check_deadline", "compile_expr",
           "evaluate", "limits", "remaining_seconds"]


class EvaluationError(ValueError):
    """An expression cannot be evaluated on an instance (free symbol, index out of range)."""


class Unsupported(LimitExceeded):
    """A node the evaluator has no rule for: like an exceeded limit it says nothing about the
    claim (its value may well be defined), so it refutes nothing."""


MAX_POWER_BITS = 100_000
"""Largest power of a number an evaluation builds (about 30 000 decimal digits)."""
MAX_RING_EXPONENT = 4096
"""Largest exponent of a ring element other than a unit ±X^e, or of a symbolic value."""


def _spend(terms: int, what: sp.Basic) -> None:
    """Account ``terms`` summands to the current evaluation, before visiting them."""
    bounds = current()
    if bounds is not None:
        bounds.spend(terms, what)


@dataclass
class Env:
    """Values of symbols, and tensors as functions of an integer index tuple."""

    values: dict[sp.Symbol, Any]
    tensors: dict[str, Callable[[tuple[int, ...]], Any]] = field(default_factory=dict)
    functions: dict[str, Callable[..., Any]] = field(default_factory=dict)


Compiled = Callable[[Env], Any]
_CACHE: dict[sp.Basic, Compiled] = {}


def evaluate(expr: sp.Basic, env: Env) -> Any:
    """The exact value of ``expr`` on ``env``, within the limits of the context (module
    docstring; outside any ``limits`` block: MAX_TERMS and no deadline)."""
    bounds = current()
    if bounds is None:
        with limits():
            return evaluate(expr, env)
    if bounds.depth == 0:
        bounds.left = bounds.max_terms
    bounds.depth += 1
    try:
        return compile_expr(expr)(env)
    finally:
        bounds.depth -= 1


def _integer(value: Any, what: sp.Basic) -> int:
    if isinstance(value, Fraction):
        if value.denominator != 1:
            raise EvaluationError(f"{what} = {value} is not an integer")
        return int(value)
    if isinstance(value, int):
        return value
    raise EvaluationError(f"{what} = {value!r} is not an integer")


def compile_expr(expr: sp.Basic) -> Compiled:
    expr = sp.sympify(expr, strict=True)
    cached = _CACHE.get(expr)
    if cached is None:
        cached = _CACHE[expr] = _compile(expr)
    return cached


def _compile(e: sp.Basic) -> Compiled:
    """The closure of one node: numbers and truth values here, every other node by the first entry
    of ``_COMPILERS`` whose type it has (Unsupported when none)."""
    if e.is_Integer:
        value = int(e)
        return lambda env: value
    if e.is_Rational:
        fraction = Fraction(int(e.p), int(e.q))
        return lambda env: fraction
    if e is sp.true or e is sp.false:
        truth = bool(e)
        return lambda env: truth
    for types, compiler in _COMPILERS:
        if isinstance(e, types):
            return compiler(e)
    raise Unsupported(f"cannot evaluate {type(e).__name__}: {e}")


def _compile_symbol(e: sp.Symbol) -> Compiled:
    def symbol(env: Env):
        try:
            return env.values[e]
        except KeyError:
            raise EvaluationError(f"no value for the symbol {e}") from None
    return symbol


def _compile_add(e: sp.Add) -> Compiled:
    parts = _compile_args(e)
    return lambda env: sum(f(env) for f in parts)


def _compile_product(e: sp.Mul) -> Compiled:
    """δ, [cond] and Piecewise factors first (guards): the first zero guard ends the product;
    the other factors are all evaluated (0·(1/w) at w = 0 is undefined, module docstring)."""
    cheap = [a for a in e.args if isinstance(a, (sp.KroneckerDelta, Iverson, sp.Piecewise))]
    guards = [compile_expr(a) for a in cheap]
    factors = [compile_expr(a) for a in e.args if a not in cheap]

    def product(env: Env):
        result = 1
        for f in guards:
            value = f(env)
            if value == 0:
                return 0
            result = result * value
        for f in factors:
            result = result * f(env)
        return result
    return product


def _compile_args(e: sp.Basic) -> list[Compiled]:
    return [compile_expr(a) for a in e.args]


_RELATIONS: dict[type, Callable[[Any, Any], bool]] = {
    sp.Ge: lambda u, v: u >= v, sp.Gt: lambda u, v: u > v, sp.Le: lambda u, v: u <= v,
    sp.Lt: lambda u, v: u < v, sp.Eq: lambda u, v: u == v, sp.Ne: lambda u, v: u != v}


def _compile_relation(e: sp.Rel) -> Compiled:
    a, b = compile_expr(e.lhs), compile_expr(e.rhs)
    op = _RELATIONS[type(e)]
    return lambda env: op(a(env), b(env))


def _compile_delta(e: sp.KroneckerDelta) -> Compiled:
    a, b = _compile_args(e)
    return lambda env: 1 if a(env) == b(env) else 0


def _compile_bracket(e: Iverson) -> Compiled:
    cond = compile_expr(e.args[0])
    return lambda env: 1 if cond(env) else 0


def _compile_connective(e: sp.Basic) -> Compiled:
    """And, Or, Not, and ITE (SymPy writes a Piecewise inside a condition this way)."""
    parts = _compile_args(e)
    if isinstance(e, sp.Not):
        return lambda env: not parts[0](env)
    if isinstance(e, sp.ITE):
        test, then, otherwise = parts
        return lambda env: then(env) if test(env) else otherwise(env)
    combine = all if isinstance(e, sp.And) else any
    return lambda env: combine(f(env) for f in parts)


def _compile_mod(e: sp.Mod) -> Compiled:
    a, b = _compile_args(e)

    def mod(env: Env):
        divisor = b(env)
        if divisor == 0:
            raise EvaluationError(f"{e}: modulo by zero")
        return a(env) % divisor  # the sign of the divisor, as SymPy's Mod
    return mod


def _compile_extremum(e: sp.Basic) -> Compiled:
    """Abs, Max and Min."""
    parts = _compile_args(e)
    if isinstance(e, sp.Abs):
        return lambda env: abs(parts[0](env))
    pick = max if isinstance(e, sp.Max) else min
    return lambda env: pick(f(env) for f in parts)


def _compile_piecewise(e: sp.Piecewise) -> Compiled:
    pieces = [(compile_expr(v), compile_expr(c)) for v, c in e.args]

    def piecewise(env: Env):
        for value, cond in pieces:
            if cond(env):
                return value(env)
        raise EvaluationError(f"no branch of {e} applies")
    return piecewise


def _compile_entry(e: sp.Indexed) -> Compiled:
    """A tensor entry, looked up with every index evaluated to an integer."""
    name = str(e.base.label)
    indices = [compile_expr(i) for i in e.indices]
    return lambda env: _lookup(env.tensors, name, "tensor")(
        tuple(_integer(f(env), e) for f in indices))


def _compile_call(e: AppliedUndef) -> Compiled:
    name = str(e.func)
    args = _compile_args(e)
    return lambda env: _lookup(env.functions, name, "function")(*(f(env) for f in args))


def _compile_floor(e: sp.floor | sp.ceiling) -> Compiled:
    """⌊a/b⌋ as a // b when a and b are integers (exact, no Fraction built; b ≠ 0), and
    ⌈a/b⌉ = −⌊−a/b⌋.

    >>> n = sp.Symbol("n", integer=True)
    >>> evaluate(sp.ceiling(n / 2) + sp.floor(-n / 2), Env({n: 7}))
    0
    """
    numerator, denominator = (compile_expr(part) for part in e.args[0].as_numer_denom())
    sign = -1 if isinstance(e, sp.ceiling) else 1

    def floor(env: Env):
        a, b = sign * numerator(env), denominator(env)
        if b == 0:
            raise EvaluationError(f"{e}: division by zero")
        if isinstance(a, int) and isinstance(b, int):
            return sign * (a // b)
        return sign * math.floor(Fraction(a) / Fraction(b))
    return floor


def _compile_power(e: sp.Pow) -> Compiled:
    """base^k for an integer k, also a symbolic one (z^{j + d·t − p}): k is evaluated first;
    a negative power of a number is a Fraction, of a ring element (``cyclic``) its inverse."""
    if e.exp.is_integer is False:  # else its value is checked (u mod n has is_integer None)
        raise EvaluationError(f"non-integer power in {e}")
    base, exponent = compile_expr(e.base), compile_expr(e.exp)

    def power(env: Env):
        value, k = base(env), _integer(exponent(env), e.exp)
        _check_power(value, k, e)
        try:
            if k < 0 and isinstance(value, (int, Fraction)):
                return Fraction(1) / Fraction(value) ** (-k)
            return value ** k
        except ZeroDivisionError:
            raise EvaluationError(f"{e}: {value} has no inverse") from None
    return power


def _check_power(value: Any, k: int, e: sp.Pow) -> None:
    """Refuse a power that would build a giant number (or a giant ring element / expression)."""
    if abs(k) <= 1:
        return
    if isinstance(value, (int, Fraction)):
        size = max(abs(Fraction(value).numerator).bit_length(), Fraction(value).denominator.bit_length())
        if size > 1 and size * abs(k) > MAX_POWER_BITS:
            raise LimitExceeded(f"{e}: {value}^{k} would have about {size * abs(k)} bits; an "
                                f"evaluation builds at most {MAX_POWER_BITS} (MAX_POWER_BITS)")
        return
    unit = getattr(value, "terms", None)
    if unit is not None and len(unit) == 1 and next(iter(unit.values())) in (1, -1):
        return  # ±X^e in ℤ[X]/(X^n − 1): every power is again ±X^e'
    if abs(k) > MAX_RING_EXPONENT:
        raise LimitExceeded(f"{e}: the exponent {k} is larger than {MAX_RING_EXPONENT} "
                            f"(MAX_RING_EXPONENT) for the value {value}")


def _lookup(table: dict, name: str, kind: str):
    try:
        return table[name]
    except KeyError:
        raise EvaluationError(f"no {kind} named {name}") from None


def _compile_sum(e: sp.Sum) -> Compiled:
    body = compile_expr(e.function)
    # SymPy's semantics: the first limit is the innermost sum
    bounds = [(v, compile_expr(lo), compile_expr(hi)) for v, lo, hi in reversed(e.limits)]

    def loop(env: Env, level: int = 0):
        if level == len(bounds):
            return body(env)
        v, lo, hi = bounds[level]
        low, high = _integer(lo(env), v), _integer(hi(env), v)
        _spend(max(high - low + 1, 0), v)
        saved = env.values.get(v, _MISSING)
        total = 0
        try:
            for value in range(low, high + 1):
                env.values[v] = value
                total = total + loop(env, level + 1)
        finally:
            if saved is _MISSING:
                env.values.pop(v, None)
            else:
                env.values[v] = saved
        return total
    return loop


_MISSING = object()


_COMPILERS: list[tuple[type | tuple[type, ...], Callable[[Any], Compiled]]] = [
    (sp.Symbol, _compile_symbol),
    (sp.Add, _compile_add),
    (sp.Mul, _compile_product),
    (sp.Pow, _compile_power),
    (sp.Sum, _compile_sum),
    (sp.KroneckerDelta, _compile_delta),
    (Iverson, _compile_bracket),
    ((sp.Ge, sp.Gt, sp.Le, sp.Lt, sp.Eq, sp.Ne), _compile_relation),
    ((sp.And, sp.Or, sp.Not, sp.ITE), _compile_connective),
    (SourceMap, lambda e: compile_expr(e.piecewise())),
    ((sp.floor, sp.ceiling), _compile_floor),
    (sp.Mod, _compile_mod),
    ((sp.Abs, sp.Max, sp.Min), _compile_extremum),
    (sp.Piecewise, _compile_piecewise),
    (sp.Indexed, _compile_entry),
    (AppliedUndef, _compile_call),
]
"""Node type → compiler, tried in order (the first match compiles the node)."""


def array_tensor(name: str, array: Any) -> Callable[[tuple[int, ...]], Any]:
    """Entries of an array-like with every index checked (no negative wrap-around)."""
    shape = getattr(array, "shape", None)

    def lookup(index: tuple[int, ...]):
        if shape is not None and (len(index) != len(shape)
                                  or any(not 0 <= i < n for i, n in zip(index, shape))):
            raise EvaluationError(f"{name}{list(index)} is outside the shape {tuple(shape)}")
        value = array[index]
        return int(value) if isinstance(value, (int, sp.Integer)) or hasattr(value, "__index__") \
            else value
    return lookup
