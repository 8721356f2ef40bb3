"""A small exact evaluator for derivation expressions on concrete instances.

``compile_expr(e)`` turns a SymPy tree into a Python closure ``f(env)`` evaluated with exact
integers (and ``Fraction`` where a division appears), so concrete checks never go through
SymPy's ``doit``/``simplify`` (see the traps in DESIGN.md) and never wrap a negative index:
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
>>> evaluate(sp.Sum(u, (u, 0, 10**9)), Env({}))
Traceback (most recent call last):
...
symconv.general.evaluate.LimitExceeded: the sum over u has 1000000001 terms at this instance; one evaluation may visit at most 1000000 (MAX_TERMS)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef

from .expr import Iverson, SourceMap


class EvaluationError(ValueError):
    """An expression cannot be evaluated on an instance (free symbol, index out of range)."""


class LimitExceeded(RuntimeError):
    """An evaluation would exceed a limit (terms, size of a power, the deadline): the instance
    says nothing either way, so a derivation that meets one is NOT PROVED (never refuted)."""


class Unsupported(LimitExceeded):
    """A node the evaluator has no rule for: like an exceeded limit it says nothing about the
    claim (its value may well be defined), so it refutes nothing."""


MAX_TERMS = 10 ** 6
"""Summands one top-level evaluation may visit (nested sums and defined tensors included)."""
MAX_POWER_BITS = 100_000
"""Largest power of a number an evaluation builds (about 30 000 decimal digits)."""
MAX_RING_EXPONENT = 4096
"""Largest exponent of a ring element other than a unit ±X^e, or of a symbolic value."""


@dataclass
class Limits:
    """The limits of the evaluations in a context: an absolute ``time.perf_counter`` deadline
    (None: none) with its length in seconds for messages, the terms left to the current
    top-level evaluation, and the evaluation depth (defined tensors evaluate inside one)."""

    deadline: float | None = None
    seconds: float | None = None
    max_terms: int = MAX_TERMS
    left: int = MAX_TERMS
    depth: int = 0

    def check_deadline(self) -> None:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise LimitExceeded(f"deadline of {self.seconds:g} s exceeded")


_LIMITS: ContextVar[Limits | None] = ContextVar("symconv_evaluation_limits", default=None)


@contextmanager
def limits(seconds: float | None = None, started: float | None = None,
           max_terms: int = MAX_TERMS) -> Iterator[Limits]:
    """Evaluations inside the block stop at ``started + seconds`` (perf_counter time; now by
    default) and visit at most ``max_terms`` summands each."""
    start = time.perf_counter() if started is None else started
    bounds = Limits(None if seconds is None else start + seconds, seconds, max_terms, max_terms)
    token = _LIMITS.set(bounds)
    try:
        yield bounds
    finally:
        _LIMITS.reset(token)


def check_deadline() -> None:
    """Raise LimitExceeded if the enclosing ``limits`` block's deadline has passed (for loops
    that do not go through ``evaluate``, e.g. the comparisons with symconv's matrices)."""
    bounds = _LIMITS.get()
    if bounds is not None:
        bounds.check_deadline()


def remaining_seconds() -> float | None:
    """Seconds left before the enclosing ``limits`` block's deadline (None: no deadline);
    LimitExceeded when none are left. Solvers called inside cap their timeouts by it."""
    bounds = _LIMITS.get()
    if bounds is None or bounds.deadline is None:
        return None
    bounds.check_deadline()
    return bounds.deadline - time.perf_counter()


def _spend(terms: int, what: sp.Basic) -> None:
    """Account ``terms`` summands to the current evaluation, before visiting them."""
    bounds = _LIMITS.get()
    if bounds is None:
        return
    if terms > bounds.left:
        raise LimitExceeded(f"the sum over {what} has {terms} terms at this instance; one "
                            f"evaluation may visit at most {bounds.max_terms} (MAX_TERMS)")
    bounds.left -= terms
    bounds.check_deadline()


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
    bounds = _LIMITS.get()
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


def _compile(e: sp.Basic) -> Compiled:  # noqa: C901 - one case per node type
    if e.is_Integer:
        value = int(e)
        return lambda env: value
    if e.is_Rational:
        value = Fraction(int(e.p), int(e.q))
        return lambda env: value
    if isinstance(e, sp.Symbol):
        def symbol(env: Env, e=e):
            try:
                return env.values[e]
            except KeyError:
                raise EvaluationError(f"no value for the symbol {e}") from None
        return symbol
    if isinstance(e, sp.Add):
        parts = [compile_expr(a) for a in e.args]
        return lambda env: sum(f(env) for f in parts)
    if isinstance(e, sp.Mul):
        cheap = [a for a in e.args if isinstance(a, (sp.KroneckerDelta, Iverson, sp.Piecewise))]
        ordered = [compile_expr(a) for a in cheap + [a for a in e.args if a not in cheap]]

        guards, factors = ordered[:len(cheap)], ordered[len(cheap):]

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
    if isinstance(e, sp.Pow):
        return _compile_power(e)
    if isinstance(e, sp.Sum):
        return _compile_sum(e)
    if isinstance(e, sp.KroneckerDelta):
        a, b = (compile_expr(x) for x in e.args)
        return lambda env: 1 if a(env) == b(env) else 0
    if isinstance(e, Iverson):
        cond = compile_expr(e.args[0])
        return lambda env: 1 if cond(env) else 0
    if isinstance(e, (sp.Ge, sp.Gt, sp.Le, sp.Lt, sp.Eq, sp.Ne)):
        a, b = compile_expr(e.lhs), compile_expr(e.rhs)
        op = {sp.Ge: lambda u, v: u >= v, sp.Gt: lambda u, v: u > v, sp.Le: lambda u, v: u <= v,
              sp.Lt: lambda u, v: u < v, sp.Eq: lambda u, v: u == v,
              sp.Ne: lambda u, v: u != v}[type(e)]
        return lambda env: op(a(env), b(env))
    if isinstance(e, sp.And):
        parts = [compile_expr(a) for a in e.args]
        return lambda env: all(f(env) for f in parts)
    if isinstance(e, sp.Or):
        parts = [compile_expr(a) for a in e.args]
        return lambda env: any(f(env) for f in parts)
    if isinstance(e, sp.Not):
        inner = compile_expr(e.args[0])
        return lambda env: not inner(env)
    if isinstance(e, sp.ITE):  # SymPy writes a Piecewise inside a condition this way
        test, then, otherwise = (compile_expr(a) for a in e.args)
        return lambda env: then(env) if test(env) else otherwise(env)
    if e is sp.true or e is sp.false:
        value = bool(e)
        return lambda env: value
    if isinstance(e, SourceMap):
        return compile_expr(e.piecewise())
    if isinstance(e, (sp.floor, sp.ceiling)):
        return _compile_floor(e)
    if isinstance(e, sp.Mod):
        a, b = (compile_expr(x) for x in e.args)

        def mod(env: Env):
            divisor = b(env)
            if divisor == 0:
                raise EvaluationError(f"{e}: modulo by zero")
            return a(env) % divisor  # the sign of the divisor, as SymPy's Mod
        return mod
    if isinstance(e, sp.Abs):
        inner = compile_expr(e.args[0])
        return lambda env: abs(inner(env))
    if isinstance(e, (sp.Max, sp.Min)):
        parts = [compile_expr(a) for a in e.args]
        pick = max if isinstance(e, sp.Max) else min
        return lambda env: pick(f(env) for f in parts)
    if isinstance(e, sp.Piecewise):
        pieces = [(compile_expr(v), compile_expr(c)) for v, c in e.args]

        def piecewise(env: Env):
            for value, cond in pieces:
                if cond(env):
                    return value(env)
            raise EvaluationError(f"no branch of {e} applies")
        return piecewise
    if isinstance(e, sp.Indexed):
        name = str(e.base.label)
        indices = [compile_expr(i) for i in e.indices]

        return lambda env: _lookup(env.tensors, name, "tensor")(
            tuple(_integer(f(env), e) for f in indices))
    if isinstance(e, AppliedUndef):
        name = str(e.func)
        args = [compile_expr(a) for a in e.args]
        return lambda env: _lookup(env.functions, name, "function")(*(f(env) for f in args))
    raise Unsupported(f"cannot evaluate {type(e).__name__}: {e}")


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
