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
from typing import Any

import numpy as np
import sympy as sp

from .. import backends
from ..backends.exact import COEFFICIENT_LIMIT, OutputTerms, SymbolIds
from ..deadline import Deadline
from ..proof import ConvProof, comparison, prove
from ..spec import ConvSpec
from ..symbols import from_canonical_input, from_canonical_weight, to_canonical_output
from .calls import _call_fn, _Raised
from .fastpoly import MONOMIAL_BASE, Poly, Session
from .results import NotCheckable

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
    """What each variable of a session is in one run: kind (WEIGHT, BIAS, INPUT, STALE) and id."""

    kind: np.ndarray
    index: np.ndarray
    ids: SymbolIds

    @classmethod
    def of(cls, spec: ConvSpec, count: int, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> Roles:
        """x, w, b: the variable numbers of the run's canonical operands."""
        kind, index = np.full(count, STALE), np.zeros(count, dtype=np.int64)
        n_w = w.size
        for role, variables, first in ((WEIGHT, w, 0), (BIAS, b, n_w), (INPUT, x, 0)):
            if variables is not None:
                kind[variables.reshape(-1)] = role
                index[variables.reshape(-1)] = first + np.arange(variables.size)
        return cls(kind, index, SymbolIds.of(spec))

    def symbol(self, variable: int) -> sp.Expr:
        ids = self.ids
        return (ids.inputs if self.kind[variable] == INPUT else ids.weights)[self.index[variable]]


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
    session = Session()
    if batched:
        operands, (xs, w, b) = _operands(spec, session, 2)
        y = _output(fn, session, operands, limit, (2, *spec.output_shape))
        runs = None if y is None else [(y[n], Roles.of(spec, session.count, xs[n], w, b)) for n in range(2)]
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
        runs = [(y, Roles.of(spec, session.count, *ids)) for y, ids in zip(outputs, (first_ids, second_ids))]
        sources = ["", "fresh symbols, renamed back"]
    if runs is None or session.refused:
        return None
    checked = [_checked(spec, session, y, roles) for y, roles in runs]
    return None if any(c is None for c in checked) else list(zip(checked, sources))


def _output(fn: Callable[..., Any], session: Session, operands: tuple, limit: Deadline,
            shape: tuple[int, ...]) -> np.ndarray | None:
    """fn's output on the variables, or None where the SymPy path must decide."""
    try:
        y = _call_fn(fn, limit, *operands)
        y = None if isinstance(y, _Raised) else np.asarray(y, dtype=object)
    except (NotCheckable, ValueError, TypeError):   # e.g. an argument written into, a ragged output
        return None
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
        return None   # a non-integer (or a Fraction equal to one): SymPy decides, as it did
    m = np.array(monomials, dtype=np.int64).reshape(-1)
    first, second = np.divmod(m, MONOMIAL_BASE)
    variables = np.stack([first - 1, second - 1])
    if (variables[1] < 0).any() or (roles.kind[variables[1]] == STALE).any() \
            or (roles.kind[variables[0][first > 0]] == STALE).any():
        return None   # a constant or a stale variable
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
