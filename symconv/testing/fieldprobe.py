"""fn's exact polynomial at a few outputs, read by probing their receptive fields only (the
diagnosis of a failure at sizes where one-hot probing of every coefficient is slow).

Under probe mode's assumption fn's output q is

    y_q = c_q + Σ_j Lx[q, j]·x_j + Σ_i Lw[q, i]·w_i + Σ_o Lb[q, o]·b_o + Σ_{i,j} B[q, i, j]·w_i·x_j.

At weights w = r, distinct random integers r_i ≡ 1 (mod 8) (one per weight, so a weight is known
by its value), y_q is linear in x with coefficients a_{q,j} = Lx[q, j] + Σ_i B[q, i, j]·r_i. They are
read over the candidate inputs (every input channel at ``fields.receptive_positions``) in batches
of samples sharing w: a zero test of all candidates, of each coordinate along each spatial axis
(all channels random; the involved positions lie in the product of the involved coordinates),
of each channel where the layer has groups (the involved positions random), then one-hot inputs
at the involved (channel, position) pairs, packed as base-2^m digits where fn's significand holds
several. Lx is read the same way at w = 0 (usually one sample shows it is 0), c_q, Lw·r and
Lb·r_b at x = 0. A coefficient a − Lx = ±r_i names its weight by a lookup (a sum Σ c_k·r_k is ≡ Σ c_k (mod 8),
so two or more weights with positive coefficients never look like one; a signed sum may, so the
lookups are confirmed at a second labelling r2, one random sample per output testing them at
once); any other is read again at the bit planes of the weight index, from which its weights
are peeled one by one; where that stalls the weights are halved until single ones.

The same holds for the transposed convolution and the backward pass in the roles of
``fieldroles`` (x stands for the probed operand, w for the labelled one, b for the bias): an
entry of conv_transpose(g, w) or of ∂L/∂x reads g over its transposed receptive field, one of
∂L/∂w or ∂L/∂b every position of g (the zero tests by coordinate prune them).

Coefficients are exact integers; within a tolerance (``Closeness``) a value is rounded to the
integer multiple it is within the tolerance of, where that multiple is unique, and kept raw
otherwise. The zero tests are random (a nonzero form vanishes at a random point with
probability ≤ 1/|S|) and fn may read outside the candidates, so the recovered polynomials must
reproduce fn's output at the failing random point; otherwise the result says they are partial.
A diagnosis, never a verdict: it runs within a budget of seconds and any failure of its own
becomes a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from math import ceil, log2, prod

import numpy as np

from ..spec import ConvSpec
from ..symbols import to_canonical_input, to_canonical_output, to_canonical_weight
from .fieldroles import Roles, forward_roles
from .pit import _Caller

FIELD_MEMORY = 2**27     # bytes of inputs and outputs of one call of a batched fn
CALL_SECONDS = 1.0       # and about the seconds it may take: the budget is overrun by about that at most
ZERO_TEST_BITS = 10      # the zero tests' inputs lie in [−2^10, 2^10) \ {0} where the significand allows
RESIDUE = 8   # every random weight is ≡ 1 (mod RESIDUE): a value ±r_i is one weight, a sum of several is not
Number = int | float


@dataclass(frozen=True)
class Closeness:
    """When a read value stands for an exact one: equal (rtol = atol = 0), or within
    |value − exact| ≤ atol + rtol·|exact| (``torch.testing.assert_close``'s rule).

    >>> Closeness().multiple(6.0, 2.0), Closeness(1e-3, 1e-3).multiple(6.001, 2.0)
    (3, 3)
    >>> Closeness(0.0, 0.1).multiple(5.0, 2.0) is None      # 2.5 units: no integer within 0.1
    True
    """

    rtol: float = 0.0
    atol: float = 0.0

    def agrees(self, value: float, exact: Number | Fraction) -> bool:
        if not (self.rtol or self.atol):
            return value == exact
        return abs(value - float(exact)) <= self.atol + self.rtol * abs(float(exact))

    def zero(self, value: float) -> bool:
        return abs(value) <= self.atol

    def multiple(self, value: float, unit: float) -> int | None:
        """n with value ≈ n·unit within the tolerance, if the tolerance admits only that n."""
        n = round(value / unit)
        slack = self.atol + self.rtol * (abs(n) + 1) * abs(unit)
        if self.agrees(value, n * unit) and slack < abs(unit) / 2:
            return int(n)
        return None


@dataclass(frozen=True)
class Point:
    """A point fn was called at, canonical and flat: integer numerators of x (one sample), w and b
    (b None without bias), their power-of-two exponents (an entry is numerator·2^-e) and fn's
    output there."""

    x: np.ndarray
    w: np.ndarray
    b: np.ndarray | None
    y: np.ndarray
    exponents: tuple[int, int, int] = (0, 0, 0)

    @classmethod
    def of(cls, spec: ConvSpec, values: dict, y: np.ndarray, sample: int,
           exponents: tuple[int, int, int] = (0, 0, 0)) -> Point:
        """From numerators in fn's layout (x with a sample axis) and fn's outputs (sample axis)."""
        b = values.get("b")
        return cls(to_canonical_input(spec, np.asarray(values["x"])[sample]).ravel(),
                   to_canonical_weight(spec, np.asarray(values["w"])).ravel(), None if b is None else np.ravel(b),
                   to_canonical_output(spec, y[sample]).ravel(), exponents)


@dataclass
class Recovered:
    """fn's polynomials at ``outputs`` (canonical (o, *out)): per output {term: coefficient}
    with terms ("1",), ("x", j), ("w", i), ("b", o), ("wx", i, j) over canonical flat ids;
    ``complete`` when they reproduce fn at the failing point, else ``note`` says what is missing."""

    outputs: list[tuple[int, ...]]
    terms: list[dict[tuple, Number]]
    complete: bool = False
    note: str = ""
    unresolved: list[tuple[int, str]] = field(default_factory=list)   # (output, what was read)
    calls: int = 0


def nearest_origin(indices: np.ndarray, count: int) -> list[tuple[int, ...]]:
    """The first ``count`` canonical (o, *out) indices, nearest the origin first (then by position,
    then channel): outputs at one position share their receptive field.

    >>> nearest_origin(np.array([[0, 5, 5], [1, 0, 1], [2, 0, 0]]), 2)
    [(2, 0, 0), (1, 0, 1)]
    """
    order = sorted(map(tuple, indices.tolist()), key=lambda i: (sum(i[1:]), i[1:], i[0]))
    return [tuple(int(v) for v in i) for i in order[:count]]


class FieldProbe:
    """Reads fn's polynomials at a few outputs (module docstring) through ``run`` (a ``_Caller``
    of the forward target whose deadline is the diagnosis's budget). ``bits``: the significand of
    fn's output dtype; ``close``: exact or within a tolerance."""

    def __init__(self, run: _Caller, spec: ConvSpec, outputs: list[tuple[int, ...]], close: Closeness,
                 bits: int, rng: np.random.Generator, roles: Roles | None = None) -> None:
        self.run, self.spec, self.outputs, self.close, self.rng = run, spec, outputs, close, rng
        self.roles = roles = forward_roles(spec) if roles is None else roles
        shapes = roles.shapes
        self.rows = np.ravel_multi_index(tuple(np.array(outputs, dtype=np.int64).T), shapes[roles.output])
        self.positions = roles.field(outputs)
        self.channels, self.n_in = shapes[roles.probed][0], prod(shapes[roles.probed][1:])
        self.n_w = prod(shapes[roles.labelled])
        self.value_bits = ceil(log2(self.n_w + 1)) + 4     # |r_i| ≤ 2^R, a quarter of them used
        self.r = _distinct_ones(rng, self.n_w, self.value_bits)
        self.r_b = None if roles.bias is None else _distinct_ones(rng, shapes[roles.bias][0], self.value_bits)
        exact = not (close.rtol or close.atol)
        self.w_bits = 0 if exact else self.value_bits          # within a tolerance w lies in [−1, 1]
        self.digit_bits = self.value_bits + 4                  # |a| < 2^(R+3): up to 8 weights' sum
        self.digits = max(1, (bits - 1) // self.digit_bits) if exact else 1
        spread = ceil(log2(self.channels * len(self.positions) + 1))
        self.test_bits = max(1, min(ZERO_TEST_BITS, bits - 1 - self.digit_bits - spread))
        self.chunk = max(1, FIELD_MEMORY // (8 * (self.n_in * self.channels + prod(shapes[roles.output]))))
        self.sample_seconds = float("inf")   # the last call's seconds per sample (the first call sends one)
        self.stage = "reading fn's constant and linear parts"
        self.found = Recovered(outputs, [{} for _ in outputs])
        self.looked: dict[tuple[int, int], tuple[int, int, float]] = {}   # (q, j): (i, ±1, share) looked up

    # ---- calling fn at the probed outputs -----------------------------------------------------
    def read(self, samples: list[tuple[np.ndarray, np.ndarray]], w: np.ndarray | None, b: np.ndarray | None,
             x_bits: int = 0) -> np.ndarray:
        """fn's outputs (samples, outputs) at sparse canonical probed inputs (flat ids, integer
        numerators·2^-x_bits), labelled ones w·2^-w_bits (None: 0) and bias b·2^-w_bits (None: 0)."""
        weight = np.zeros(self.n_w) if w is None else np.ldexp(w.astype(np.float64), -self.w_bits)
        bias = None if b is None else np.ldexp(b.astype(np.float64), -self.w_bits)
        shared = self.run.batched and self.roles.per_sample   # an output summed over the batch: one probe a call
        out, start = [], 0
        while start < len(samples):
            step = max(1, min(self.chunk, int(CALL_SECONDS / self.sample_seconds))) if shared else 1
            block, start, began = samples[start:start + step], start + step, self.run.limit.elapsed()
            xs = np.zeros((len(block), self.channels * self.n_in))
            for k, (ids, values) in enumerate(block):
                xs[k, ids] = np.ldexp(np.asarray(values, dtype=np.float64), -x_bits)
            ys = self.run(self.roles.arguments(xs, weight, bias), f"diagnosis probe: {self.stage}")
            self.sample_seconds = max(1e-9, (self.run.limit.elapsed() - began) / len(block))
            out.append(self.roles.entries(ys, len(block))[:, self.rows])
        return np.concatenate(out)

    # ---- the parts of the polynomials -----------------------------------------------------------
    def recover(self) -> Recovered:
        """Every part of the polynomials (module docstring) into ``self.found``, not yet verified."""
        self.const = self.read([_empty()], None, None)[0]
        for q, c in enumerate(self.const):
            self._put(q, ("1",), self._number(c, 1.0))
        probed, labelled = self.roles.probed, self.roles.labelled
        self.stage = f"reading fn's parts linear in {labelled}" + (f" and {self.roles.bias}" if self.roles.bias else "")
        pending = []
        for q, v in enumerate(self.read([_empty()], self.r, None)[0] - self.const):
            if not self.close.zero(v) and not self._looked_up(q, v, self.r, "w"):
                pending.append((q, -1, v))
        if self.r_b is not None:
            at_b = self.read([_empty()], None, self.r_b)[0] - self.const
            self._resolve([(q, -1, v) for q, v in enumerate(at_b)
                           if not self.close.zero(v) and not self._looked_up(q, v, self.r_b, "b")], [], bias=True)
        self.stage = f"reading fn's parts linear in {probed} ({labelled} = 0)"
        linear = self._x_form(None)
        for q, coefficients in enumerate(linear):
            for j, v in coefficients.items():
                self._put(q, ("x", j), self._number(v, 1.0))
        self.stage = f"reading the coefficients of {labelled}·{probed}"
        for q, coefficients in enumerate(self._x_form(self.r)):
            for j, v in coefficients.items():
                share = v - linear[q].get(j, 0.0)
                if not self.close.zero(share) and not self._looked_up(q, share, self.r, "wx", j):
                    pending.append((q, j, share))
        self.stage = f"confirming at a second labelling of {labelled} the {len(self.looked)} coefficient(s) read as one"
        pending += self._unconfirmed(linear)
        self.stage = f"reading the weights of {len(pending)} coefficient(s) that are no single weight's multiple"
        self._resolve(pending, linear)
        return self.found

    def _x_form(self, w: np.ndarray | None) -> list[dict[int, float]]:
        """Per probed output {canonical input id j: ∂y_q/∂x_j} at weights w (None: 0) over the
        candidate inputs: a zero test of all of them, then of each coordinate of each spatial axis
        (the involved positions lie in the product of the involved coordinates), then of each
        channel (with groups), then one-hot inputs."""
        channels, positions = np.arange(self.channels), self.positions
        every = (channels[:, None] * self.n_in + positions).ravel()
        if not self._moved([(every, self._noise(len(every)))], w)[0]:
            return [{} for _ in self.outputs]
        coords = np.array(np.unravel_index(positions, self.roles.shapes[self.roles.probed][1:]))
        marginals = [(axis, v) for axis in range(len(coords)) for v in np.unique(coords[axis])]
        blocks = [(channels[:, None] * self.n_in + positions[coords[axis] == v]).ravel() for axis, v in marginals]
        samples = [(ids, self._noise(len(ids))) for ids in blocks]
        involved = np.ones(len(positions), dtype=bool)
        for (axis, v), moved in zip(marginals, self._moved(samples, w)):
            involved &= moved | (coords[axis] != v)
        positions = positions[involved]
        if self.spec.groups > 1:   # a group reads a few channels; without groups testing each costs more than it saves
            samples = [(c * self.n_in + positions, self._noise(len(positions))) for c in channels]
            channels = channels[self._moved(samples, w)]
        return self._one_hot((channels[:, None] * self.n_in + positions).ravel(), w)

    def _moved(self, samples: list, w: np.ndarray | None) -> np.ndarray:
        """Per sample: does any probed output move from its value at x = 0 (random inputs)?"""
        exact = not (self.close.rtol or self.close.atol)
        ys = self.read([_empty()] + samples, w, None, 0 if exact else self.test_bits)
        return np.array([not all(self.close.zero(v) for v in row) for row in ys[1:] - ys[0]], dtype=bool)

    def _one_hot(self, candidates: np.ndarray, w: np.ndarray | None) -> list[dict[int, float]]:
        """∂y_q/∂x_j for each candidate j: one-hot inputs, ``digits`` of them per sample as the
        digits D^k of the input (D = 2^digit_bits), read back as balanced base-D digits."""
        base, count = 2 ** self.digit_bits, self.digits
        samples = [(candidates[k:k + count], [float(base) ** d for d in range(len(candidates[k:k + count]))])
                   for k in range(0, len(candidates), count)]
        ys = self.read([_empty()] + samples, w, None)
        form: list[dict[int, float]] = [{} for _ in self.outputs]
        for (ids, _), row in zip(samples, ys[1:] - ys[0]):
            for q, v in enumerate(row):
                values = _digits(v, base, len(ids)) if count > 1 else [v]
                form[q].update({int(j): d for j, d in zip(ids, values) if not self.close.zero(d)})
        return form

    def _resolve(self, pending: list[tuple[int, int, float]], linear: list[dict[int, float]],
                 bias: bool = False) -> None:
        """The weights (``bias``: bias entries) of each pending (q, j, share) (j = −1: q's part
        linear in w or b, read at x = 0) whose share at w = r (b = r_b) is not ± one entry's: read
        again at the bit planes of the entry index (w_i = r_i where bit p of i is 1, else 0) and
        ``_decode``d; the weights of what does not decode are halved (``_halve``)."""
        table = self.r_b if bias else self.r
        unit, planes = 2.0 ** -self.w_bits, max(1, (len(table) - 1).bit_length())
        inputs = sorted({j for _, j, _ in pending if j >= 0})
        shares: dict[tuple[int, int], list[float]] = {(q, j): [] for q, j, _ in pending}
        for p in range(planes if pending else 0):
            plane = np.where(np.arange(len(table)) >> p & 1, table, 0)
            ys = self.read([_empty()] + [(np.array([j]), [1.0]) for j in inputs], None if bias else plane,
                           plane if bias else None)
            for q, j, _ in pending:
                shares[q, j].append(ys[0, q] - self.const[q] if j < 0
                                    else ys[1 + inputs.index(j), q] - ys[0, q] - linear[q].get(j, 0.0))
        undecoded = []
        for q, j, share in pending:
            entries = self._decode(share, shares[q, j], unit, table)
            if entries is None and bias:
                self.found.unresolved.append((q, f"its part linear in b is {float(share)!r} units at random "
                                                 f"biases, no sum of bias entries the bit planes decode"))
            elif entries is None:
                undecoded.append((q, j))
            for i, c in (entries or {}).items():
                self._put(q, ("b", i) if bias else ("w", i) if j < 0 else ("wx", i, j), c)
        self.stage = f"halving the weights of {len(undecoded)} coefficient(s) the bit planes did not decode"
        self._halve(undecoded, linear)

    def _halve(self, pending: list[tuple[int, int]], linear: list[dict[int, float]]) -> None:
        """The weights of each pending (q, j) the bit planes did not decode: halve the weights
        until single ones, keeping the halves whose share, read at w = r on the half and 0
        elsewhere, is not 0 (every pending input a sample of one call)."""
        unit, level = 2.0 ** -self.w_bits, {(0, self.n_w): pending} if pending else {}
        while level:
            below: dict[tuple[int, int], list[tuple[int, int]]] = {}
            for (lo, hi), pairs in level.items():
                w = np.zeros(self.n_w, dtype=np.int64)
                w[lo:hi] = self.r[lo:hi]
                inputs = sorted({j for _, j in pairs if j >= 0})
                ys = self.read([_empty()] + [(np.array([j]), [1.0]) for j in inputs], w, None)
                for q, j in pairs:
                    share = (ys[0, q] - self.const[q] if j < 0
                             else ys[1 + inputs.index(j), q] - ys[0, q] - linear[q].get(j, 0.0))
                    if self.close.zero(share):
                        continue
                    if hi - lo == 1:
                        self._put(q, ("w", lo) if j < 0 else ("wx", lo, j), self._number(share, self.r[lo] * unit))
                        continue
                    for half in ((lo, (lo + hi) // 2), ((lo + hi) // 2, hi)):
                        below.setdefault(half, []).append((q, j))
            level = below

    def _decode(self, total: float, shares: list[float], unit: float, r: np.ndarray) -> dict[int, Number] | None:
        """{entry i: coefficient} of a share ``total`` at w = r (table r) from its shares at the bit planes,
        by peeling: while more than one weight is left, a share (or the rest of the total beyond
        it) that is ±r_i is that weight's term, taken out of the total and of the planes of the bits
        of i; one weight left (every plane 0 or the rest) is spelled by the planes. None if the
        peeling stalls or the weights found do not reproduce every plane."""
        close, weights = self.close, {}
        rest, planes = total, list(shares)
        while not close.zero(rest):
            if all(close.zero(s) or close.agrees(s, rest) for s in planes):
                i = sum(1 << b for b, s in enumerate(planes) if not close.zero(s))
                if i >= len(r) or i in weights:
                    return None
                weights[i] = self._number(rest, r[i] * unit)
                break
            hit = next((h for s in planes for v in (s, rest - s) if not close.zero(v) and (h := self._hit(v, unit, r))
                        and h[0] not in weights), None)
            if hit is None:
                return None
            i, c = hit
            weights[i] = c
            rest -= c * r[i] * unit
            planes = [s - c * r[i] * unit if i >> b & 1 else s for b, s in enumerate(planes)]
        if all(close.agrees(s, sum(c * r[i] * unit for i, c in weights.items() if i >> b & 1))
               for b, s in enumerate(shares)):
            return weights
        return None

    def _unconfirmed(self, linear: list[dict[int, float]]) -> list[tuple[int, int, float]]:
        """The looked-up terms a second labelling r2 does not confirm, taken out and returned as
        pending (q, j, share at r): a signed sum of several weights may equal one weight's value at
        r (1 + 1 − 1 ≡ 1 mod 8), hardly at an independent r2 as well. Per output one random sample
        over its looked-up inputs tests them at once (the rest of the form is known: 0 where every
        lookup holds); only those of an output that moves are read one-hot at r2."""
        if not self.looked:
            return []
        r2, unit = _distinct_ones(self.rng, self.n_w, self.value_bits), 2.0 ** -self.w_bits
        x_bits = 0 if not (self.close.rtol or self.close.atol) else self.test_bits
        rows = sorted({q for q, j in self.looked if j >= 0})
        samples = [(ids := np.array([j for p, j in self.looked if p == q and j >= 0]), self._noise(len(ids)))
                   for q in rows]
        ys = self.read([_empty()] + samples, r2, None, x_bits)

        def share(q: int, j: int) -> float:   # the share of (q, j) at r2 if its lookup holds
            i, c, _ = self.looked[q, j]
            return c * float(r2[i]) * unit + (linear[q].get(j, 0.0) if j >= 0 else 0.0)
        doubtful = {(q, j) for q, j in self.looked if j < 0 and not self.close.agrees(ys[0, q] - self.const[q],
                                                                                        share(q, j))}
        for k, (q, (ids, noise)) in enumerate(zip(rows, samples)):
            moved = ys[1 + k, q] - ys[0, q] - sum(np.ldexp(float(v), -x_bits) * share(q, int(j))
                                                   for j, v in zip(ids, noise))
            doubtful |= set() if self.close.zero(moved) else {(q, int(j)) for j in ids}
        inputs = np.array(sorted({j for _, j in doubtful if j >= 0}), dtype=np.int64)
        forms = self._one_hot(inputs, r2) if len(inputs) else []
        pending = []
        for q, j in sorted(doubtful):
            if j < 0 or not self.close.agrees(forms[q].get(j, 0.0), share(q, j)):
                i, c, value = self.looked.pop((q, j))
                del self.found.terms[q][("w", i) if j < 0 else ("wx", i, j)]
                pending.append((q, j, value))
        return pending

    def _looked_up(self, q: int, value: float, table: np.ndarray, kind: str, j: int = -1) -> bool:
        """Put value as the term (kind, i), or ("wx", i, j), if it is ± one entry of the table."""
        hit = self._hit(value, 2.0 ** -self.w_bits, table)
        if hit is not None:
            self._put(q, (kind, hit[0]) if kind != "wx" else ("wx", hit[0], j), hit[1])
            if kind != "b":
                self.looked[q, j] = (*hit, value)
        return hit is not None

    def _hit(self, value: float, unit: float, table: np.ndarray) -> tuple[int, int] | None:
        """(i, ±1) with value = ±table[i]·unit within the tolerance, else None."""
        n = self.close.multiple(value, unit)
        if n is None:
            return None
        index = self._index(table)
        return next(((i, c) for c in (1, -1) if (i := index.get(c * n)) is not None), None)

    def _index(self, table: np.ndarray) -> dict[int, int]:
        cache = self.__dict__.setdefault("_indices", {})
        if id(table) not in cache:
            cache[id(table)] = {int(v): i for i, v in enumerate(table)}
        return cache[id(table)]

    def _number(self, value: float, unit: float) -> Number:
        """value/unit: the integer it is within the tolerance of (unique), else the raw ratio."""
        n = self.close.multiple(value, unit)
        return n if n is not None else float(value / unit)

    def _put(self, q: int, term: tuple, coefficient: Number) -> None:
        if coefficient != 0:
            self.found.terms[q][term] = coefficient

    def _noise(self, count: int) -> np.ndarray:
        """Random nonzero integers in [−2^test_bits, 2^test_bits]."""
        return self.rng.integers(1, 2 ** self.test_bits + 1, count) * self.rng.choice((-1, 1), count)

    def disagreeing(self, point: Point, batch: Sequence[Point] = ()) -> list[int]:
        """The probed outputs whose recovered polynomial does not reproduce fn's output at point;
        for an output summed over a batch (a weight gradient), at the sum over the ``batch``'s samples."""
        return [q for q, terms in enumerate(self.found.terms)
                if not self.close.agrees(float(point.y[self.rows[q]]),
                                         sum((value_at(terms, p) for p in batch or [point]), Fraction(0)))]


def value_at(terms: dict[tuple, Number], point: Point) -> Fraction | float:
    """A recovered polynomial at a point, exactly where its coefficients are integers."""
    ex, ew, eb = point.exponents
    entries = {"x": lambda j: Fraction(int(point.x[j]), 2 ** ex), "w": lambda i: Fraction(int(point.w[i]), 2 ** ew),
               "b": lambda o: Fraction(int(point.b[o]), 2 ** eb)}
    total: Fraction | float = Fraction(0)
    for term, c in terms.items():
        kind = term[0]
        factor = (1 if kind == "1" else entries["w"](term[1]) * entries["x"](term[2]) if kind == "wx"
                  else entries[kind](term[1]))
        total += c * factor
    return total


def _empty() -> tuple[np.ndarray, np.ndarray]:
    """The sample x = 0."""
    return np.zeros(0, dtype=np.int64), np.zeros(0)


def _distinct_ones(rng: np.random.Generator, count: int, bits: int) -> np.ndarray:
    """``count`` distinct random integers ≡ 1 (mod RESIDUE) in [−2^bits, 2^bits].

    >>> values = _distinct_ones(np.random.default_rng(0), 100, 10)
    >>> len(set(values)), set((values % RESIDUE).tolist()), int(abs(values).max()) <= 2**10
    (100, {1}, True)
    """
    steps = 2 ** (bits + 1) // RESIDUE
    return (rng.choice(steps, count, replace=False) - steps // 2) * RESIDUE + 1


def _digits(value: float, base: int, count: int) -> list[int]:
    """The balanced base-``base`` digits of an integer, lowest first, the last taking the rest.

    >>> _digits(5 - 3 * 2**20 + 7 * 2**40, 2**20, 3)
    [5, -3, 7]
    """
    v, digits = int(value), []
    for _ in range(count - 1):
        d = (v + base // 2) % base - base // 2
        digits.append(d)
        v = (v - d) // base
    return digits + [v]
