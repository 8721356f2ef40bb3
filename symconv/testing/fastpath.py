"""Symbolic mode's fast path: fn run on ``fastpoly.Poly`` variables, its outputs converted straight
into the exact backend's monomial keys (row, weight id, input id, coefficient) and compared with
the definition's, without building a SymPy expression.

The runs are those of SymPy symbols (``symbolic._run_on_symbols``): batched, two samples with
distinct input variables; unbatched, two calls, the second on fresh variables. Each run maps the
variables it was given to the ids of ``symconv.symbols(spec)`` and every other variable (the
other sample's, an earlier call's) to *stale*. An output that is a proof (every monomial w_a·x_i or
b_o of its own run, integer coefficients, equal to the definition) becomes a ``KeyedOutput``
holding its proof; an exact output that differs is rebuilt in SymPy (same polynomials, so the
failure report is today's); anything else — a refusal, an exception, a stale variable, a
non-integer coefficient, an output that is no polynomial, a wrong shape — returns None, and
symbolic mode runs fn on SymPy symbols instead, which decides (and reports) as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from .. import backends
from ..backends.exact import OutputTerms
from ..backends.ids import COEFFICIENT_LIMIT, SymbolIds
from ..deadline import Deadline
from ..proof import ConvProof, comparison, prove
from ..spec import ConvSpec
from ..symbols import (
    from_canonical_input,
    from_canonical_weight,
    symbols,
    to_canonical_input,
    to_canonical_output,
    to_canonical_weight,
)
from .calls import _call_fn, _Raised
from .fastpoly import MONOMIAL_BASE, FastPathRefused, Poly, Session

FAST_PATH = "native integer polynomials"
SYMPY_PATH = "SymPy symbols"
WEIGHT, BIAS, INPUT, STALE = range(4)


@dataclass(frozen=True)
class KeyedOutput:
    """fn's output on one run of the fast path, proved equal to the definition (``proof``)."""

    shape: tuple[int, ...]
    proof: ConvProof


@dataclass(frozen=True)
class Roles:
    """What each variable of a session is in one run: kind (WEIGHT, BIAS, INPUT, STALE) and id; a
    stale variable of another call or sample has the SymPy symbol the SymPy path would show for it
    (``named``), so an output using it is refuted with the same report."""

    kind: np.ndarray
    index: np.ndarray
    ids: SymbolIds
    named: dict

    @classmethod
    def of(cls, spec: ConvSpec, count: int, operands: tuple, other: np.ndarray, names: np.ndarray) -> Roles:
        """operands: the variable numbers of the run's canonical x, w, b; ``other``: those of the
        other call's operands (or sample's x), shown as the SymPy symbols ``names``."""
        x, w, b = operands
        kind, index = np.full(count, STALE), np.zeros(count, dtype=np.int64)
        for role, variables, first in ((WEIGHT, w, 0), (BIAS, b, w.size), (INPUT, x, 0)):
            if variables is not None:
                kind[variables.reshape(-1)] = role
                index[variables.reshape(-1)] = first + np.arange(variables.size)
        return cls(kind, index, SymbolIds.of(spec), dict(zip(other.reshape(-1).tolist(), names.reshape(-1))))

    def symbol(self, variable: int) -> sp.Expr:
        if self.kind[variable] == STALE:
            return self.named[variable]
        return (self.ids.inputs if self.kind[variable] == INPUT else self.ids.weights)[self.index[variable]]


def _operands(spec: ConvSpec, session: Session, samples: int | None) -> tuple[tuple, tuple]:
    """(operands in the user's layout, their canonical variable numbers) of new variables."""
    def new(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        start = session.count
        return session.variables(shape), np.arange(start, session.count).reshape(shape)

    x_shape = (spec.in_channels, *spec.input_size)
    x, x_ids = new(x_shape if samples is None else (samples, *x_shape))
    w, w_ids = new((spec.out_channels, spec.in_per_group, *spec.kernel_size))
    b, b_ids = new((spec.out_channels,)) if spec.bias else (None, None)
    x = (from_canonical_input(spec, x) if samples is None
         else np.stack([from_canonical_input(spec, s) for s in x]))
    return (x, from_canonical_weight(spec, w), b), (x_ids, w_ids, b_ids)


def fast_runs(fn: Callable[..., Any], spec: ConvSpec, batched: bool,
              limit: Deadline) -> list[tuple[Any, str]] | None:
    """The runs of symbolic mode on the fast path (module docstring), or None to use SymPy."""
    try:
        return _fast_runs(fn, spec, batched, limit)
    except FastPathRefused:   # e.g. more variables than the fast type numbers
        return None


def _fast_runs(fn: Callable[..., Any], spec: ConvSpec, batched: bool,
               limit: Deadline) -> list[tuple[Any, str]] | None:
    session = Session()
    if batched:
        operands, (xs, w, b) = _operands(spec, session, 2)
        y = _output(fn, session, operands, limit, (2, *spec.output_shape))
        names = np.stack([to_canonical_input(spec, s) for s in symbols(spec, batch=2)[0]])
        runs = None if y is None else [(y[n], Roles.of(spec, session.count, (xs[n], w, b), xs[1 - n], names[1 - n]))
                                       for n in range(2)]
        sources = ["", "sample 1 of a batch of 2"]
    else:
        first, first_ids = _operands(spec, session, None)
        second, second_ids = _operands(spec, session, None)   # the fresh variables, numbered on
        outputs = []
        for operands in (first, second):
            outputs.append(_output(fn, session, operands, limit, spec.output_shape))
            if outputs[-1] is None:
                return None
            limit.check()
        none = np.zeros(0, dtype=np.int64)
        runs = [(outputs[0], Roles.of(spec, session.count, first_ids, none, none)),
                (outputs[1], Roles.of(spec, session.count, second_ids, *_stale(spec, first_ids)))]
        sources = ["", "fresh symbols, renamed back"]
    if runs is None or session.refused:
        return None
    checked = [_checked(spec, session, y, roles) for y, roles in runs]
    return None if any(c is None for c in checked) else list(zip(checked, sources))


def _stale(spec: ConvSpec, first: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The first call's variables, and what the SymPy path calls them in the second call's output
    (``symbolic._renamed``): "stale x_{…}" and so on."""
    x, w, b = symbols(spec)
    named = [to_canonical_input(spec, x), to_canonical_weight(spec, w), b]
    names = [sp.Symbol(f"stale {v}") for a in named if a is not None for v in a.flat]
    return np.concatenate([a.reshape(-1) for a in first if a is not None]), np.array(names, dtype=object)


def _output(fn: Callable[..., Any], session: Session, operands: tuple, limit: Deadline,
            shape: tuple[int, ...]) -> np.ndarray | None:
    """fn's output on the variables, or None where the SymPy path must decide."""
    try:
        y = _call_fn(fn, limit, *operands)
        y = None if isinstance(y, _Raised) else np.asarray(y, dtype=object)
    except Exception:   # noqa: BLE001 - an argument written into, a ragged or unconvertible output:
        return None     # the SymPy path reruns fn and names what is wrong
    return None if y is None or y.shape != shape or session.refused else y


def _checked(spec: ConvSpec, session: Session, y: np.ndarray, roles: Roles) -> Any:
    """A KeyedOutput if y is proved, y in SymPy if it is exact but refuted, else None."""
    flat = to_canonical_output(spec, y).reshape(-1)
    monomials: list[int] = []
    coefficients: list[Any] = []
    counts = np.zeros(flat.size, dtype=np.int64)
    for r, value in enumerate(flat):
        if type(value) is Poly and value.session is session:
            monomials.extend(value.terms)
            coefficients.extend(value.terms.values())
            counts[r] = len(value.terms)
        elif type(value) is not int or value:   # an output fn never wrote: 0 (as on SymPy)
            return None
    if any(type(c) is not int for c in coefficients):
        coefficients = [int(c) if type(c) is Fraction and c.denominator == 1 else c for c in coefficients]
        if any(type(c) is not int for c in coefficients):
            return None   # a non-integer coefficient: SymPy decides, as it did
    m = np.array(monomials, dtype=np.int64).reshape(-1)
    first, second = np.divmod(m, MONOMIAL_BASE)
    variables = np.stack([first - 1, second - 1])
    used = np.concatenate([variables[1], variables[0][first > 0]])
    if (variables[1] < 0).any() or not all(v in roles.named for v in used[roles.kind[used] == STALE].tolist()):
        return None   # a constant, or a variable fn was never given in any call
    terms = _terms(spec, roles, variables, first > 0, counts, coefficients)
    if terms is None:
        return _in_sympy(y, roles)
    found, timings, label = backends.run(spec, ("output",), backends.Given(output=terms), "unfold", "exact", False)
    if found is not None:
        return _in_sympy(y, roles)
    statement = " = ".join([comparison("toeplitz", bias=spec.bias).expected, "the given output"])
    proof = ConvProof(spec=spec, statement=statement, forms=("output",), holds=True, counterexample=None,
                      terms=spec.n_terms + spec.n_bias_terms, outputs=int(np.prod(spec.output_shape)),
                      timings=timings, backend=f"{label} ({FAST_PATH})")
    return KeyedOutput(y.shape, proof)


def _terms(spec: ConvSpec, roles: Roles, variables: np.ndarray, product: np.ndarray, counts: np.ndarray,
           coefficients: list[int]) -> OutputTerms | None:
    """The monomials as OutputTerms, or None unless each is w_a·x_i or b_o with |coef| ≤ the limit."""
    if any(abs(c) > COEFFICIENT_LIMIT for c in coefficients):
        return None
    coef = np.array(coefficients, dtype=np.int64).reshape(-1)
    u, v = np.where(product, variables[0], 0), variables[1]
    w_first = roles.kind[u] == WEIGHT
    weight, inp = np.where(w_first, u, v), np.where(w_first, v, u)
    bilinear = product & (roles.kind[weight] == WEIGHT) & (roles.kind[inp] == INPUT)
    bias = ~product & (roles.kind[v] == BIAS)
    if not (bilinear | bias).all():
        return None
    rows = np.repeat(np.arange(counts.size), counts)
    n_x = len(roles.ids.input_ids)
    return OutputTerms(rows, roles.index[np.where(product, weight, v)],
                       np.where(product, roles.index[inp], n_x), coef)


def _in_sympy(y: np.ndarray, roles: Roles) -> np.ndarray:
    """y with each polynomial rebuilt as a SymPy expression in ``symconv.symbols(spec)``."""
    def expression(value: Any) -> Any:
        if type(value) is not Poly:
            return value
        return sp.Add(*(c * _monomial_symbols(m, roles) for m, c in value.terms.items()))

    out = np.empty(y.size, dtype=object)
    out[:] = [expression(v) for v in y.flat]
    return out.reshape(y.shape)


def _monomial_symbols(monomial: int, roles: Roles) -> sp.Expr:
    first, second = divmod(monomial, MONOMIAL_BASE)
    factors = [roles.symbol(v - 1) for v in (first, second) if v]
    return sp.Mul(*factors)


def proof_of(spec: ConvSpec, y: Any) -> ConvProof:
    """The proof of one run's output: the fast path's, or ``prove(spec, output=y)``."""
    return y.proof if isinstance(y, KeyedOutput) else prove(spec, output=y)


def path_of(runs: list[tuple[Any, str]]) -> str:
    """What fn was run on to prove it: FAST_PATH or SYMPY_PATH."""
    return FAST_PATH if all(isinstance(y, KeyedOutput) for y, _ in runs) else SYMPY_PATH
