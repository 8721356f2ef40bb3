"""Probe mode by randomized polynomial identity testing (Schwartz–Zippel).

Assumption: fn computes a polynomial of total degree ≤ 2 in the entries of its operands (a
layer is bilinear in (x, w) plus linear in b). Then D = fn − reference is a polynomial of
degree ≤ 2, and a point drawn uniformly from Sᴺ, S the integers in [−2^a, 2^a), is a zero of a
nonzero D with probability ≤ 2/|S| = 2^-a (Schwartz–Zippel). ``trials`` independent points
all agreeing exactly leave a false pass with probability ≤ 2^-(a·trials) ≤ 2^-PIT_BITS.

Exactness: every output sums at most ``target.terms`` products of two values of magnitude
≤ 2^a (a linear term counts as one), so with terms·4^a ≤ 2^bits, bits the significand of the
dtype fn *returns* (53 float64, 24 float32, 11 float16, 8 bfloat16, 31 int32), every product and
partial sum of a correct fn is an integer its dtype holds exactly, in any order; the reference
is exact integer arithmetic (``targets``). A dtype too narrow for a ≥ 2 is refused
(NotCheckable with the reason).

The assumption is itself tested, with values far beyond ±3: along random lines p + t·d
(t = 0 … 3; one through the origin, so fn(0) = reference(0), one varying each operand alone)
a polynomial of degree ≤ 2 has third difference f(p) − 3f(p+d) + 3f(p+2d) − f(p+3d) = 0; a
nonzero one is reported as "not bilinear". Any point where fn differs from the reference is a
counterexample whatever fn is; a pass rests on the assumption, which no finite test proves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import ceil
from typing import Any

import numpy as np

from ..deadline import Deadline
from .calls import _call_fn, _Raised
from .probe import _real_output
from .results import PIT_BITS, NotCheckable, _RaisedOnProbe
from .targets import Target, Values

PIT_SAMPLES = 3      # samples per call of a batched fn (distinct x, one w and b): parameter
                     # gradients summed over more than two samples (adversarial round 7)
SIGNIFICAND = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8, "int64": 53, "int32": 31,
               "int16": 15, "int8": 7}   # int64 outputs are compared as float64: 53 bits
MIN_VALUE_BITS = 2   # S must hold at least [−4, 4): a false pass ≤ 1/4 per trial
LARGE_BATCH = 17     # one further point of a batched fn: every sample of a batch above 8 and 16 compared


@dataclass(frozen=True)
class PitPlan:
    """The sample set S = [−2^a, 2^a) of integers (a = ``value_bits``) for fn's output ``dtype``
    and the number of independent trials; the false-pass bound is 2^-(a·trials).

    >>> plan = PitPlan.for_dtype("float64", 577)     # 64→64 3×3 with bias: 577 terms
    >>> (plan.value_bits, plan.trials, plan.exponent)
    (21, 4, 84)
    >>> PitPlan.for_dtype("float32", 577).value_bits
    7
    >>> PitPlan.for_dtype("float16", 577)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symconv.testing.results.NotCheckable: fn returns float16, whose 11-bit significand cannot hold a sum of 577 ...
    """

    dtype: str
    bits: int
    value_bits: int
    trials: int

    @property
    def exponent(self) -> int:
        return self.value_bits * self.trials

    @classmethod
    def for_dtype(cls, dtype: str, terms: int) -> PitPlan:
        bits = SIGNIFICAND.get(dtype)
        if bits is None:
            raise NotCheckable(f"fn returns {dtype} outputs: randomized identity testing needs signed "
                               f"integers or floats ({', '.join(SIGNIFICAND)})")
        a = 0
        while terms * 4 ** (a + 1) <= 2 ** bits:
            a += 1
        if a < MIN_VALUE_BITS:
            raise NotCheckable(
                f"fn returns {dtype}, whose {bits}-bit significand cannot hold a sum of {terms} products "
                f"exactly even for values in [−{2 ** MIN_VALUE_BITS}, {2 ** MIN_VALUE_BITS}): randomized "
                f"identity testing would need terms·4^a ≤ 2^{bits} with a ≥ {MIN_VALUE_BITS}; return "
                f"float32 or float64, or check a layer with fewer terms per output")
        return cls(dtype, bits, a, ceil(PIT_BITS / a))


@dataclass
class Difference:
    """fn's outputs at a point where they differ from the reference: the point (operand values,
    batched ones with a leading sample axis), fn's and the reference's outputs, what it was."""

    values: Values
    obtained: tuple[np.ndarray | None, ...]
    expected: tuple[np.ndarray | None, ...]
    what: str
    not_bilinear: str = ""


class _Caller:
    """Calls fn on the operands of a target (on copies, within the deadline): batched operands
    carry a leading sample axis, sent whole to a batched fn, one sample per call otherwise.
    Records the dtypes fn returns; outputs come back as float64 arrays, batched ones with the
    sample axis."""

    def __init__(self, fn: Callable[..., Any], target: Target, batched: bool, limit: Deadline,
                 check_shapes: bool = True, integral: bool = True) -> None:
        self.fn, self.target, self.batched, self.limit = fn, target, batched, limit
        self.check_shapes, self.integral = check_shapes, integral
        self.calls, self.dtypes = 0, set()
        self.seconds_per_call = float("inf")   # the fastest call's (the first warms up)
        limit.progress = lambda: (f"probing did not finish within deadline={limit.seconds!r} s: {self.calls} "
                                  f"calls of fn made in {limit.elapsed():.1f} s")

    def __call__(self, values: Values, what: str) -> tuple[np.ndarray | None, ...]:
        n = self.samples(values)
        if self.batched or n == 1:
            args = [values[o.name] if self.batched or not o.batched or values[o.name] is None
                    else values[o.name][0] for o in self.target.operands]
            return self._call(args, n, what)
        raise ValueError("an unbatched fn gets one sample per call")   # the planners never ask this

    def samples(self, values: Values) -> int:
        return next(len(values[o.name]) for o in self.target.operands if o.batched)

    def _call(self, args: list, n: int, what: str) -> tuple[np.ndarray | None, ...]:
        self.limit.check()
        self.calls += 1
        started = self.limit.elapsed()
        y = _call_fn(self.fn, self.limit, *args)
        self.seconds_per_call = min(self.seconds_per_call, self.limit.elapsed() - started)
        if isinstance(y, _Raised):
            shapes = ", ".join(f"{o.name} {None if a is None else np.shape(a)}"
                               for o, a in zip(self.target.operands, args))
            raise _RaisedOnProbe(f"fn raised {y.error!r} on the probe input ({what}): float64 arrays "
                                 f"{shapes}") from y.error
        results = (y,) if self.target.single else self._unpack(y, what)
        return tuple(self._output(o, r, n, what) for o, r in zip(self.target.outputs, results))

    def _unpack(self, y: Any, what: str) -> tuple:
        names = ", ".join(o.name for o in self.target.outputs)
        if not isinstance(y, (tuple, list)) or len(y) != len(self.target.outputs):
            raise AssertionError(f"fn must return the tuple ({names}); it returned {type(y).__name__} "
                                 f"on the probe input ({what})")
        return tuple(y)

    def _output(self, operand, y: Any, n: int, what: str) -> np.ndarray | None:
        if operand.shape is None:
            if y is not None:
                raise AssertionError(f"fn returned {type(y).__name__} as {operand.name}, which must be "
                                     f"None here (absent for this layer) ({what})")
            return None
        self.dtypes.add(_dtype_name(y))
        array = _real_output(y, what)
        expected = (n, *operand.shape) if self.batched and operand.batched else operand.shape
        if self.check_shapes and array.shape != expected:
            raise _ShapeMismatch(operand.name, array.shape, expected, what)
        if not self.batched and operand.batched:
            array = array[None]
        bad = array != np.round(array) if self.integral else np.zeros(0, dtype=bool)
        if bad.any():
            index = ",".join(map(str, np.argwhere(bad)[0]))
            raise AssertionError(   # the layer's output here is an exact integer: a counterexample
                f"fn does not compute the layer: it returned {operand.name}[{index}] = {float(array[bad][0])!r} "
                f"on integer inputs ({what}), where every product and partial sum of the layer is an exact "
                f"integer (if fn rounds by design, e.g. FFT-based or reduced precision, check it within a "
                f"tolerance: rtol=, atol=)")
        return array


class _ShapeMismatch(AssertionError):
    def __init__(self, name: str, shape: tuple, expected: tuple, what: str) -> None:
        self.name, self.shape, self.expected = name, shape, expected
        super().__init__(f"fn returned {name} of shape {shape}, expected {expected} ({what})")


def _dtype_name(y: Any) -> str:
    """The dtype fn returned, before any conversion (NumPy has no bfloat16: torch's by name)."""
    dtype = getattr(y, "dtype", None)
    if dtype is not None and type(y).__module__.split(".")[0] == "torch":
        return str(dtype).removeprefix("torch.")
    try:
        return np.asarray(y).dtype.name if dtype is None else np.dtype(dtype).name
    except TypeError:
        return str(dtype)


@dataclass
class PitOutcome:
    """What the identity test found: the plan, the caller (its calls, fn's speed), the first
    Difference (None: every point agreed)."""

    plan: PitPlan
    run: _Caller
    difference: Difference | None


def expected_outputs(target: Target, values: Values, samples: int) -> tuple[np.ndarray | None, ...]:
    """The reference at a point: per sample for batched outputs (stacked), summed over the
    samples for the others."""
    per_sample = [target.reference({o.name: (values[o.name][k] if o.batched and values[o.name] is not None
                                             else values[o.name]) for o in target.operands})
                  for k in range(samples)]
    return tuple(None if outs[0] is None else (np.stack(outs) if o.batched else sum(outs[1:], outs[0]))
                 for o, outs in zip(target.outputs, zip(*per_sample)))


def _differs(obtained: tuple, expected: tuple) -> bool:
    return any(a is not None and not np.array_equal(a, np.asarray(e, dtype=np.float64))
               for a, e in zip(obtained, expected))


def _draw(rng: np.random.Generator, target: Target, n: int, bits: int, only: str | None = None) -> Values:
    """Integers in [−2^bits, 2^bits) for every operand (``only``: that one, the others 0)."""
    values: Values = {}
    for o in target.operands:
        if o.shape is None:
            values[o.name] = None
            continue
        shape = (n, *o.shape) if o.batched else o.shape
        values[o.name] = (rng.integers(-2 ** bits, 2 ** bits, size=shape) if only in (None, o.name)
                          else np.zeros(shape, dtype=np.int64))
    return values


def _floats(values: Values) -> Values:
    return {k: None if v is None else v.astype(np.float64) for k, v in values.items()}


def identity_test(fn: Callable[..., Any], target: Target, batched: bool, limit: Deadline,
                  rng: np.random.Generator, seed: int) -> PitOutcome:
    """Randomized identity testing of fn against ``target`` (module docstring): a zero point (it
    learns fn's output dtype), the degree-≤ 2 lines, then the independent trials."""
    __tracebackhide__ = True
    run = _Caller(fn, target, batched, limit)
    n = PIT_SAMPLES if batched else 1

    def at(values: Values, what: str) -> tuple[Difference | None, tuple]:
        obtained = run(_floats(values), what)
        expected = expected_outputs(target, values, n)
        found = Difference(values, obtained, expected, what) if _differs(obtained, expected) else None
        return found, obtained

    found, _ = at(_zeros(target, n), f"all operands 0, seed {seed}")
    terms = target.terms * (n if any(not o.batched and o.shape for o in target.outputs) else 1)
    plan = PitPlan.for_dtype(_narrowest(run.dtypes), terms)
    found = found or _lines(target, n, plan, rng, seed, at)
    for trial in range(plan.trials):
        if found is not None:
            break
        found, _ = at(_draw(rng, target, n, plan.value_bits),
                      f"random integers in [−2^{plan.value_bits}, 2^{plan.value_bits}), trial "
                      f"{trial + 1} of {plan.trials}, seed {seed}")
    if found is None and batched:
        found = _large_batch(target, run, rng, seed)
    return PitOutcome(plan, run, found)


def _large_batch(target: Target, run: _Caller, rng: np.random.Generator, seed: int) -> Difference | None:
    """One more point with a batch of LARGE_BATCH samples, every sample compared: a batched fn
    whose samples past the 3 of the trials take another path (micro-batches of 8 or 16, a sum over
    the first 8) differs there. It adds no factor to the false-pass bound; it widens what the bound
    is about, from samples 0 … 2 of a batch to samples 0 … 16."""
    sums = any(not o.batched and o.shape for o in target.outputs)   # ∂L/∂w, ∂L/∂b sum over the samples
    plan = PitPlan.for_dtype(_narrowest(run.dtypes), target.terms * (LARGE_BATCH if sums else 1))
    values = _draw(rng, target, LARGE_BATCH, plan.value_bits)
    what = (f"random integers in [−2^{plan.value_bits}, 2^{plan.value_bits}), a batch of {LARGE_BATCH} samples, "
            f"seed {seed}")
    obtained = run(_floats(values), what)
    expected = expected_outputs(target, values, LARGE_BATCH)
    return Difference(values, obtained, expected, what) if _differs(obtained, expected) else None


def _zeros(target: Target, n: int) -> Values:
    return {k: None if v is None else 0 * v for k, v in _draw(np.random.default_rng(0), target, n, 0).items()}


def _narrowest(dtypes: set[str]) -> str:
    return min(dtypes, key=lambda d: SIGNIFICAND.get(d, -1)) if dtypes else "float64"


def _lines(target: Target, n: int, plan: PitPlan, rng: np.random.Generator, seed: int,
           at: Callable) -> Difference | None:
    """fn along random lines p + t·d, t = 0 … 3, entries of p and d in [−2^(a−2), 2^(a−2)) so every
    point stays in S: through the origin (all operands), then varying each operand alone. A
    difference from the reference on a line whose third difference is nonzero is no map of
    degree ≤ 2: it is reported as not bilinear."""
    bits = plan.value_bits - 2
    kinds = [None] + [o.name for o in target.operands if o.shape is not None]
    for only in kinds:
        start = _draw(rng, target, n, bits) if only else _zeros(target, n)
        step = _draw(rng, target, n, bits, only)
        name = "through 0" if only is None else f"varying {only} only"
        found, outputs = None, []
        for t in range(4):
            values = {k: None if v is None else v + t * step[k] for k, v in start.items()}
            difference, obtained = at(values, f"the line p + t·d {name}, t = {t}, entries of p and d "
                                              f"in [−2^{bits}, 2^{bits}), seed {seed}")
            found = found or difference
            outputs.append(obtained)
        if found is not None:
            found.not_bilinear = _third_difference(target, outputs, name)
            return found
    return None


def _third_difference(target: Target, outputs: list[tuple], name: str) -> str:
    """'' when f(p) − 3f(p+d) + 3f(p+2d) − f(p+3d) = 0 for every output, else the first nonzero."""
    for k, o in enumerate(target.outputs):
        if outputs[0][k] is None:
            continue
        f = [np.frompyfunc(int, 1, 1)(out[k]) for out in outputs]   # Python ints: no overflow
        third = f[0] - 3 * f[1] + 3 * f[2] - f[3]
        nonzero = np.argwhere(third != 0)
        if len(nonzero):
            index = tuple(nonzero[0])
            shown = ", ".join(f"{int(v[index])}" for v in f)
            return (f"along the line {name} fn gives {o.name}[{','.join(map(str, index))}] = {shown} at "
                    f"t = 0, 1, 2, 3, whose third difference is {int(third[index])}, not 0: fn is not a "
                    f"polynomial of degree ≤ 2 in its operands (not bilinear: it clips, saturates, "
                    f"squares or branches on values)")
    return ""
