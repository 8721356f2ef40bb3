"""The exact sparse bilinear backend: every form as integer monomial keys, compared exactly.

Representation. Every output y[o, out] of every form is a polynomial in the symbols of
``symconv.symbols(spec)`` of the shape

    y[r] = Σ c · w_a · x_i  +  Σ c · b_o          (r = o·∏out + out, the canonical output row)

with integer coefficients c. Number the factors: a ∈ [0, n_w) is the flat index of w in its
canonical (C_out, C_in/groups, *k) order and a = n_w + o stands for b_o; i ∈ [0, n_x) is the flat
index of x in (C_in, *in) and i = n_x stands for the constant 1 (so b_o = b_o · 1). A monomial of
row r is then the integer key

    key = ((r − r₀) · W + a) · X + i,      W = n_w + C_out,  X = n_x + 1,

(r₀ the first row of the chunk being checked; the bound (rows in a chunk)·W·X < 2⁶³ is checked),
and a polynomial is the set of (key, c) pairs.

Why this is a proof and not sampling. The monomials w_a·x_i and b_o are a basis of the
polynomials of this shape, and the key is a bijection onto (row, monomial), so the representation
sorted by key with duplicate keys merged (coefficients summed) and zero coefficients dropped is
the *canonical form*: two such polynomials are equal iff their canonical arrays are identical.
Each form's polynomial is obtained by actually executing that form's own construction on the
integer ids of the symbols, vectorised in NumPy:

* definition: y[o, out] = b[o] + Σ_{c,t} w[o, c, τ(t)] · x[g(o)·C_in/groups + c, src(out, t)],
  one monomial w_a·x_i per connection (r, a, i) of ``symconv.connections`` (built per chunk);
* Toeplitz: the nonzeros of T as COO triples (row_index(o, out), column_index(c, i), weight id)
  scattered from the same connections,
  then the product T·vec(x): every nonzero times vec(x)[column], where vec(x) is the id array
  laid out by the form's own vec; the output (o, out) reads row row_index(o, out). Row r of T is
  built from the (o, out) with row_index(o, out) = r, which is all of that row because
  row_index is checked to be a bijection onto the rows of T;
* im2col: P and K are built by ``symconv.forms.im2col`` (the same functions that build the SymPy
  matrices) on id arrays, and y[o, ·] = Σ_j K[o, j] · P[j, ·] is executed per group as the join
  over the shared index j (``group_factors``).

Only the shared index core (``symconv.pattern``, ``symconv.connections`` and the layout maps) is
common to the forms, and that core is checked against PyTorch in the tests. Every output of every form is compared, none
is sampled; the first differing row is reported as the same ``Counterexample`` the SymPy backend
gives (rebuilt in SymPy for that one row only).

User-supplied forms (a SymPy T, P, K or output written in ``symconv.symbols(spec)``) are
converted entry by entry: T entries must be integer combinations of weights, P entries 0 or
c·x, K entries 0 or c·w, output entries integer combinations of w·x and b. A form with an
entry outside that shape (w·w, a rational or float coefficient, a foreign symbol, |c| > 2²⁴)
is not rejected and not guessed at: it is checked by the SymPy backend instead, which is exact
for every expression, so it gets a counterexample (or a proof, if it cancels) all the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from math import prod
from typing import Any

import numpy as np

from ..connections import connections_of_rows
from ..errors import SpecError
from ..forms.im2col import group_factors, kernel_array, patch_array
from ..forms.toeplitz import _vec, column_index, row_index
from ..result.compare import counterexample_of
from ..spec import ConvSpec
from ..symbols import to_canonical_output
from . import parallel
from .ids import (
    COEFFICIENT_LIMIT,  # noqa: F401 - the entry limit, read here by its users
    NotRepresentable,
    SymbolIds,
    _bilinear,
    _linear,
    _max_abs,
    _single_terms,
)

CHUNK_TERMS = 1 << 17
"""Monomials of the definition per chunk of output rows: bounds the working memory and keeps a
chunk's arrays (1 MB each) in cache and in the allocator's reused memory. Measured serially on
the 2-core machine against the previous 2^21: ResNet-50 stem 7.8 s → 3.8 s, 16→16 3×3 64² 0.72 s
→ 0.40 s, 256→256 1×1 28² 4.2 s → 2.4 s (``benchmarks/scale.py`` runs both)."""
BYTES_PER_CHUNK_TERM = 160
"""Measured peak working bytes per chunk monomial (ids, masks, keys, sorted copies, 3 forms)."""
_INT64_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Basis:
    """Numbering of the factors and outputs (see the module docstring)."""

    n_w: int      # weights; b_o is n_w + o
    n_x: int      # inputs; the constant 1 is n_x
    n_out: int    # output positions per channel (∏out)
    rows: int     # C_out · ∏out

    @classmethod
    def of(cls, spec: ConvSpec) -> Basis:
        n_w = spec.out_channels * spec.in_per_group * prod(spec.kernel_size)
        n_out = prod(spec.output_size)
        return cls(n_w, spec.in_channels * prod(spec.input_size), n_out, spec.out_channels * n_out)

    @property
    def W(self) -> int:
        return self.n_w + self.rows // self.n_out

    @property
    def X(self) -> int:
        return self.n_x + 1

    def rows_per_chunk(self, spec: ConvSpec) -> int:
        per_row = spec.in_per_group * prod(spec.kernel_size) + 1
        fits = _INT64_MAX // (self.W * self.X)
        if fits < 1:
            raise SpecError("spec", spec.describe(),
                            f"the exact backend's int64 monomial key overflows ((C_out + weights)·"
                            f"(inputs + 1) = {self.W * self.X} > 2⁶³ − 1); use backend='sympy'")
        return max(1, min(fits, CHUNK_TERMS // per_row, self.rows))


@dataclass
class Terms:
    """Monomials coef · w_id · x_id of canonical output rows (coef None: all 1)."""

    row: np.ndarray
    w: np.ndarray
    x: np.ndarray
    coef: np.ndarray | None = None


def _grid_terms(spec: ConvSpec, basis: Basis, rows: np.ndarray, w: np.ndarray, x: np.ndarray,
                keep: np.ndarray, coef: np.ndarray | None = None) -> Terms:
    """The monomials of per-row grids (broadcastable to (R, …)) where ``keep``, each row followed
    by its bias monomial b_o · 1. Row-major order is kept, so sorted grids give sorted keys."""
    shape = np.broadcast_shapes(w.shape, x.shape, keep.shape, (len(rows),) + (1,) * (w.ndim - 1))
    flat = [np.broadcast_to(a, shape).reshape(len(rows), -1)
            for a in (w, x, keep, np.ones(1, dtype=np.int64) if coef is None else coef)]
    if spec.bias:
        bias = (basis.n_w + rows // basis.n_out, np.full_like(rows, basis.n_x),
                np.ones(len(rows), dtype=bool), np.ones_like(rows))
        flat = [np.concatenate([a, b[:, None]], axis=1) for a, b in zip(flat, bias)]
    w, x, keep, c = flat
    row = np.broadcast_to(rows[:, None], keep.shape)
    return Terms(row[keep], w[keep], x[keep], None if coef is None else c[keep])


# ---- the forms, each by its own construction ------------------------------------------------
def definition_terms(spec: ConvSpec, basis: Basis, r0: int, r1: int) -> Terms:
    """y[o, out] = b[o] + Σ_{c, t: src(out,t) ≠ none} w[o, c, τ(t)] · x[g(o)·cg + c, src(out, t)]:
    one monomial w_a · x_i per connection (r, a, i) of rows r0..r1 (``symconv.connections``)."""
    rows = np.arange(r0, r1)
    table = connections_of_rows(spec, rows)
    return _with_bias(spec, basis, rows, Terms(table.row, table.weight, table.input))


class Toeplitz:
    """T·vec(x) + b ⊗ 1 from T's COO nonzeros (built, or converted from the user's matrix)."""

    def __init__(self, spec: ConvSpec, basis: Basis, given: Any = None) -> None:
        self.spec, self.basis = spec, basis
        o, out = np.divmod(np.arange(basis.rows), basis.n_out)
        t_rows = np.asarray(row_index(spec, o, out))
        if not np.array_equal(np.sort(t_rows), np.arange(basis.rows)):
            raise NotRepresentable("row_index is not a bijection onto the rows of T")
        self.output_of_row = np.empty(basis.rows, dtype=np.int64)
        self.output_of_row[t_rows] = np.arange(basis.rows)   # T row → canonical output row
        self.t_rows = t_rows
        x_ids = np.arange(basis.n_x).reshape(spec.in_channels, -1)
        self.vec_x = _vec(spec, x_ids)                        # vec(x) as ids, the form's own layout
        channels, positions = np.arange(spec.in_channels)[:, None], np.arange(prod(spec.input_size))[None, :]
        columns = np.asarray(column_index(spec, channels, positions)).reshape(-1)   # by input id c·∏in + i
        self.x_of_input = self.vec_x[columns]      # vec(x)[column_index(c, i)], composed once per input
        self.coo = None if given is None else self._convert(given)

    def _convert(self, matrix: Any) -> tuple[np.ndarray, ...]:
        """COO (canonical row, column, weight id, coef) of the user's T, sorted by row."""
        ids = SymbolIds.of(self.spec).weight_ids
        entries = matrix.todok() if hasattr(matrix, "todok") else {
            (r, c): v for (r, c), v in np.ndenumerate(np.asarray(matrix, dtype=object)) if v != 0}
        coo = [(self.output_of_row[r], c, a, k) for (r, c), value in entries.items()
               for a, k in _linear(value, ids, many=True)]
        if not coo:
            return tuple(np.empty(0, dtype=np.int64) for _ in range(4))
        coo.sort(key=lambda e: e[0])
        return tuple(np.array(column, dtype=np.int64) for column in zip(*coo))

    def terms(self, r0: int, r1: int) -> Terms:
        """Rows r0..r1 of T·vec(x) + b ⊗ 1: each nonzero T entry times vec(x)[column]."""
        spec, basis = self.spec, self.basis
        if self.coo is not None:
            row, col, w, coef = self.coo
            lo, hi = np.searchsorted(row, [r0, r1])
            product = Terms(row[lo:hi], w[lo:hi], self.vec_x[col[lo:hi]], coef[lo:hi])
            return _with_bias(spec, basis, np.arange(r0, r1), product)
        rows = np.arange(r0, r1)
        table = connections_of_rows(spec, rows)
        # T's nonzeros: w_a at (row_index(o, out), column_index(c, i)) for each connection (r, a, i),
        # times vec(x)[column], read by the output (o, out) from row row_index(o, out)
        read_by = np.repeat(self.output_of_row[self.t_rows[rows]], np.diff(table.row_starts(r0, r1)))
        product = Terms(read_by, table.weight, self.x_of_input[table.input])
        return _with_bias(spec, basis, rows, product)


class Im2col:
    """y[o, ·] = Σ_j K[o, j] · P[j, ·] + b[o] per group, P and K built (or given) as id arrays."""

    def __init__(self, spec: ConvSpec, basis: Basis, order: str, patches: Any = None,
                 kernel: Any = None) -> None:
        self.spec, self.basis, self.order = spec, basis, order
        x_ids = np.arange(basis.n_x).reshape(spec.in_channels, -1)
        w_ids = np.arange(basis.n_w).reshape(spec.out_channels, spec.in_per_group, -1)
        self.P = patch_array(spec, x_ids, order, zero=-1)      # −1 marks a zero of the padding
        self.K = kernel_array(spec, w_ids, order)
        self.coefs: tuple[np.ndarray, np.ndarray] | None = None   # P's and K's; None: every one is 1
        if patches is not None or kernel is not None:
            ids = SymbolIds.of(spec)
            self.P, p_coef = (_single_terms(patches, ids.input_ids) if patches is not None
                              else (self.P, np.ones_like(self.P)))
            self.K, k_coef = (_single_terms(kernel, ids.weight_ids) if kernel is not None
                              else (self.K, np.ones_like(self.K)))
            bound = _max_abs(k_coef) * _max_abs(p_coef) * max(self.K.shape)
            if bound >= 1 << 62:
                raise NotRepresentable("the coefficients of K·P could overflow int64")
            self.coefs = (p_coef, k_coef)

    def terms(self, r0: int, r1: int) -> Terms:
        parts = []
        for o in range(r0 // self.basis.n_out, (r1 - 1) // self.basis.n_out + 1):
            out0 = max(r0 - o * self.basis.n_out, 0)
            out1 = min(r1 - o * self.basis.n_out, self.basis.n_out)
            k, rows = group_factors(self.spec, self.P, self.K, o, self.order)
            p = rows[:, out0:out1].T                  # (L, J): each output's sum runs over j
            coef = None
            if self.coefs is not None:
                k_coef, p_coef = group_factors(self.spec, *self.coefs, o, self.order)
                coef = k_coef[None, :] * p_coef[:, out0:out1].T
            out_rows = o * self.basis.n_out + np.arange(out0, out1)
            parts.append(_grid_terms(self.spec, self.basis, out_rows, k[None, :], p,
                                     (k >= 0)[None, :] & (p >= 0), coef))
        return _concat(parts)


@dataclass
class OutputTerms(Terms):
    """An output given as distinct monomials of canonical rows, sorted by row (symbolic mode's fast path)."""


class Output:
    """The user's output array, entry by entry as bilinear polynomials (or ``OutputTerms``)."""

    def __init__(self, spec: ConvSpec, basis: Basis, given: Any) -> None:
        if isinstance(given, OutputTerms):
            self.row, self.w, self.x = given.row, given.w, given.x
            self.coef = np.ones_like(given.row) if given.coef is None else given.coef
            return
        ids = SymbolIds.of(spec)
        y = to_canonical_output(spec, np.asarray(given, dtype=object)).reshape(basis.rows)
        terms = [(r, a, i, k) for r, value in enumerate(y) for a, i, k in _bilinear(value, ids)]
        columns = list(zip(*terms)) if terms else [()] * 4
        self.row, self.w, self.x, self.coef = (np.array(c, dtype=np.int64) for c in columns)

    def terms(self, r0: int, r1: int) -> Terms:
        lo, hi = np.searchsorted(self.row, [r0, r1])
        return Terms(self.row[lo:hi], self.w[lo:hi], self.x[lo:hi], self.coef[lo:hi])


def _with_bias(spec: ConvSpec, basis: Basis, rows: np.ndarray, terms: Terms) -> Terms:
    """terms (sorted by row) with b_o · 1 after the last monomial of each output row (o, out) of
    ``rows``: b_o's id n_w + o is above every weight's, so sorted keys stay sorted."""
    if not spec.bias:
        return terms
    at = np.searchsorted(terms.row, rows, side="right")
    return Terms(np.insert(terms.row, at, rows), np.insert(terms.w, at, basis.n_w + rows // basis.n_out),
                 np.insert(terms.x, at, basis.n_x), None if terms.coef is None else np.insert(terms.coef, at, 1))


def _concat(parts: list[Terms]) -> Terms:
    if len(parts) == 1:
        return parts[0]
    coef = (None if all(p.coef is None for p in parts) else
            np.concatenate([np.ones_like(p.row) if p.coef is None else p.coef for p in parts]))
    row, w, x = (np.concatenate([getattr(p, f) for p in parts]) for f in ("row", "w", "x"))
    return Terms(row, w, x, coef)


# ---- canonical form and comparison ------------------------------------------------------------
@dataclass(frozen=True)
class Canonical:
    """Sorted distinct keys with their nonzero coefficients (None: all 1)."""

    keys: np.ndarray
    coef: np.ndarray | None

    def coefficients(self) -> np.ndarray:
        return np.ones_like(self.keys) if self.coef is None else self.coef


def canonical(terms: Terms, basis: Basis, r0: int) -> Canonical:
    """Sort the keys (skipped when already sorted, checked in one pass), merge equal keys by
    summing coefficients, drop zeros: the unique representation of the polynomial."""
    keys = ((terms.row - r0) * basis.W + terms.w) * basis.X + terms.x
    coef = terms.coef
    if keys.size > 1 and not (keys[1:] >= keys[:-1]).all():
        if coef is None:
            keys = np.sort(keys)
        else:
            order = np.argsort(keys)
            keys, coef = keys[order], coef[order]
    new = np.ones(keys.size, dtype=bool)
    new[1:] = keys[1:] != keys[:-1]
    if not new.all():
        starts = np.flatnonzero(new)
        keys = keys[starts]
        coef = (np.diff(np.append(starts, new.size)) if coef is None
                else np.add.reduceat(coef, starts))
    if coef is not None:
        nonzero = coef != 0
        keys, coef = keys[nonzero], coef[nonzero]
        if (coef == 1).all():
            coef = None
    return Canonical(keys, coef)


def first_differing_row(a: Canonical, b: Canonical, basis: Basis, r0: int) -> int | None:
    """The smallest output row where two canonical forms differ, or None if identical.

    Both are sorted row-major, so the first position p where they disagree lies in the first
    differing row: every row before it is fully contained, equal, in positions < p."""
    if a.keys.size == b.keys.size and np.array_equal(a.keys, b.keys) and (
            a.coef is None and b.coef is None or np.array_equal(a.coefficients(), b.coefficients())):
        return None
    n = min(a.keys.size, b.keys.size)
    differs = (a.keys[:n] != b.keys[:n]) | (a.coefficients()[:n] != b.coefficients()[:n])
    p = int(np.argmax(differs)) if differs.any() else n
    candidates = [int(c.keys[p]) // (basis.W * basis.X) for c in (a, b) if p < c.keys.size]
    return r0 + min(candidates)


# ---- the proof run ------------------------------------------------------------------------
def _form(spec: ConvSpec, basis: Basis, name: str, given: Any, order: str) -> Any:
    if name == "toeplitz":
        return Toeplitz(spec, basis, given.toeplitz)
    if name == "im2col":
        return Im2col(spec, basis, order, given.im2col, given.kernel_matrix)
    return Output(spec, basis, given.output)


def _still_open(forms: list[str], found: dict[str, int]) -> list[str]:
    """Forms whose verdict can still change the result: those before the first refuted one
    (the result names the first refuted form in order, at its first differing row)."""
    cut = next((i for i, form in enumerate(forms) if form in found), len(forms))
    return forms[:cut]


def run(spec: ConvSpec, forms: tuple[str, ...], given: Any, order: str, bar: Any,
        check_with_sympy: Callable[[str], Any],
        spare_bytes: int | None = None) -> tuple[Any, dict[str, float], list[str]]:
    """(counterexample or None, timings, forms delegated to SymPy).

    Chunks of output rows are checked in increasing order, every form against the same
    canonical definition, so the first differing row of a form is found in the SymPy backend's
    scan order; forms are reported in the order given, like the SymPy backend. A large proof
    checks its chunks in parallel processes (``parallel``; ``spare_bytes``: memory they may use
    beyond the serial estimate), read back in the same order: the same verdict and counterexample.
    Timings then add up the workers' time."""
    basis = Basis.of(spec)
    step = basis.rows_per_chunk(spec)
    timings: dict[str, float] = {"definition": 0.0}
    built, delegated = {}, []
    for name in forms:
        start = time.perf_counter()
        try:
            built[name] = _form(spec, basis, name, given, order)
        except NotRepresentable:
            delegated.append(name)
        timings[name] = time.perf_counter() - start
    found: dict[str, int] = {}
    open_forms = list(built)
    chunks = [(r0, min(r0 + step, basis.rows)) for r0 in range(0, basis.rows if built else 0, step)]
    count = parallel.workers(spec.n_terms, len(chunks), spare_bytes, BYTES_PER_CHUNK_TERM * CHUNK_TERMS)
    check = partial(_check_chunk, spec, basis, built)
    with closing(parallel.in_order(check, lambda: open_forms, chunks, count)) as results:
        for size, in_chunk, chunk_timings in results:
            found |= {name: row for name, row in in_chunk.items() if name in open_forms}
            for name, seconds in chunk_timings.items():
                timings[name] += seconds
            open_forms = _still_open(list(built), found)
            bar.update(size)
            if not open_forms:
                break
    for name in forms:
        if name in delegated:
            start = time.perf_counter()
            result = check_with_sympy(name)
            timings[name] += time.perf_counter() - start
        elif name in found:
            result = _counterexample(spec, basis, name, built[name], found[name], counterexample_of)
        else:
            continue
        if result is not None:
            return result, timings, delegated
    return None, timings, delegated


def _check_chunk(spec: ConvSpec, basis: Basis, built: dict[str, Any], names: list[str], r0: int,
                 r1: int) -> tuple[int, dict[str, int], dict[str, float]]:
    """(terms of the definition, {form: first differing row}, timings) of rows r0..r1 of ``names``."""
    start = time.perf_counter()
    reference = canonical(definition_terms(spec, basis, r0, r1), basis, r0)
    timings, found = {"definition": time.perf_counter() - start}, {}
    for name in names:
        start = time.perf_counter()
        row = first_differing_row(reference, canonical(built[name].terms(r0, r1), basis, r0), basis, r0)
        if row is not None:
            found[name] = row
        timings[name] = time.perf_counter() - start
    return reference.keys.size, found, timings


def _counterexample(spec: ConvSpec, basis: Basis, name: str, form: Any, row: int,
                    counterexample_of: Callable) -> Any:
    """The SymPy counterexample of the one differing output row."""
    ids = SymbolIds.of(spec)
    expected = ids.polynomial(definition_terms(spec, basis, row, row + 1))
    obtained = ids.polynomial(form.terms(row, row + 1))
    o, out = divmod(row, basis.n_out)
    index = (o, *(int(i) for i in np.unravel_index(out, spec.output_size)))
    return counterexample_of(name, index, expected, obtained)


def estimate_bytes(spec: ConvSpec) -> int:
    """Peak bytes of an exact proof: the id arrays of P, K, vec(x), the row maps and the
    source table, plus one chunk's working set."""
    basis = Basis.of(spec)
    n_taps = prod(spec.kernel_size)
    fixed = 8 * (3 * spec.in_channels * n_taps * basis.n_out     # P (and its construction)
                 + 2 * n_taps * basis.n_out                       # source table, patch index
                 + 4 * basis.rows + 2 * basis.n_x + 2 * basis.n_w)
    per_row = spec.in_per_group * n_taps + 1
    return fixed + BYTES_PER_CHUNK_TERM * min(CHUNK_TERMS, basis.rows * per_row)
