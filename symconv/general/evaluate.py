"""A small exact evaluator for derivation expressions on concrete instances.

``compile_expr(e)`` turns a SymPy tree into a Python closure ``f(env)`` evaluated with exact
integers (and ``Fraction`` where a division appears), so concrete checks never go through
SymPy's ``doit``/``simplify`` (see the traps in DESIGN.md) and never wrap a negative index:
finite sums loop over their concrete ranges, δ and [cond] are decided exactly, and tensor
entries are looked up through ``env.tensors[name](indices)``, which checks every index.
Products evaluate their δ, [cond] and Piecewise factors first (guards) and stop at the first
zero, so a guarded entry x[u]·[0 ≤ u < n] is 0 outside the input instead of an index error.
Powers may have symbolic integer exponents (z^{j + d·t − p}: the exponent is evaluated first),
and a symbol may be bound to an element of ℤ[X]/(X^n − 1) (``cyclic``): identities in n-th
roots of unity are then checked exactly, for all roots at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef

from .expr import Iverson, SourceMap


class EvaluationError(ValueError):
    """An expression cannot be evaluated on an instance (free symbol, index out of range)."""


@dataclass
class Env:
    """Values of symbols, and tensors as functions of an integer index tuple."""

    values: dict[sp.Symbol, Any]
    tensors: dict[str, Callable[[tuple[int, ...]], Any]] = field(default_factory=dict)
    functions: dict[str, Callable[..., Any]] = field(default_factory=dict)


Compiled = Callable[[Env], Any]
_CACHE: dict[sp.Basic, Compiled] = {}


def evaluate(expr: sp.Basic, env: Env) -> Any:
    return compile_expr(expr)(env)


def _integer(value: Any, what: sp.Basic) -> int:
    if isinstance(value, Fraction):
        if value.denominator != 1:
            raise EvaluationError(f"{what} = {value} is not an integer")
        return int(value)
    if isinstance(value, int):
        return value
    raise EvaluationError(f"{what} = {value!r} is not an integer")


def compile_expr(expr: sp.Basic) -> Compiled:
    expr = sp.sympify(expr)
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

        def product(env: Env):
            result = 1
            for f in ordered:
                value = f(env)
                if value == 0:
                    return 0
                result = result * value
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
    if e is sp.true or e is sp.false:
        value = bool(e)
        return lambda env: value
    if isinstance(e, SourceMap):
        return compile_expr(e.piecewise())
    if isinstance(e, sp.floor):
        inner = compile_expr(e.args[0])
        return lambda env: math.floor(inner(env))
    if isinstance(e, sp.Mod):
        a, b = (compile_expr(x) for x in e.args)
        return lambda env: a(env) % b(env)
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
    raise EvaluationError(f"cannot evaluate {type(e).__name__}: {e}")


def _compile_power(e: sp.Pow) -> Compiled:
    """base^k for an integer k, also a symbolic one (z^{j + d·t − p}): k is evaluated first;
    a negative power of a number is a Fraction, of a ring element (``cyclic``) its inverse."""
    if e.exp.is_integer is False:  # else its value is checked (u mod n has is_integer None)
        raise EvaluationError(f"non-integer power in {e}")
    base, exponent = compile_expr(e.base), compile_expr(e.exp)

    def power(env: Env):
        value, k = base(env), _integer(exponent(env), e.exp)
        try:
            if k < 0 and isinstance(value, (int, Fraction)):
                return Fraction(1) / Fraction(value) ** (-k)
            return value ** k
        except ZeroDivisionError:
            raise EvaluationError(f"{e}: {value} has no inverse") from None
    return power


def _lookup(table: dict, name: str, kind: str):
    try:
        return table[name]
    except KeyError:
        raise EvaluationError(f"no {kind} named {name}") from None


def _compile_sum(e: sp.Sum) -> Compiled:
    body = compile_expr(e.function)
    limits = [(v, compile_expr(lo), compile_expr(hi)) for v, lo, hi in e.limits]

    def loop(env: Env, level: int = 0):
        if level == len(limits):
            return body(env)
        v, lo, hi = limits[level]
        low, high = _integer(lo(env), v), _integer(hi(env), v)
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
