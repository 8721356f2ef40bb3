"""Probe mode within a tolerance, for code that rounds (FFT, Winograd, TF32, float32/float16).

fn is called on TOLERANCE_POINTS random points whose entries are dyadic numbers m/2^a in [−1, 1),
m a random integer of a = VALUE_BITS = 24 bits (``value_bits``: fewer where the exact reference
would leave int64, never below 12), so every input is exact in float64 and float32 and code that
rounds its inputs to TF32, bfloat16 or float16 is seen; a batched fn gets batches of 3, 1, 2,
LARGE_BATCH = 17 and 4 samples (a batch cut into pieces, or a fast path for one size, differs); then on four
more with x and w scaled by 2^s (s = ±8, ±24; b by 2^2s; outputs divided by 2^2s, exactly: a
floating-point layer's rounding scales with its values), unless fn returns float16; the layer's
output there is computed exactly (integers from the pattern core, scaled by a power of two) and
fn's output must satisfy, entry by entry, ``torch.testing.assert_close``'s rule

    |actual − expected| ≤ atol + rtol·|expected|

(evaluated in float64, whose own rounding is far below any tolerance a user would set). A
tolerance at which an fn returning zeros passes the first point is refused. ``check_points``
does this for any ``Target`` (every operand scaled by 2^s, a bias by 2^2s, each output divided by
2^(degree·s), ``Operand.degree``; every entry of every output compared): the transposed and
gradient checks (``adjoint_tolerance``) run the same points. What
this establishes is weaker than exact probing and says so: fn agrees with the layer within the
tolerance at these points; a wrong index (flipped kernel, padding, stride, groups) moves outputs
by whole products of inputs and is seen unless the tolerance swallows them. On failure the
message names the outputs outside the tolerance with both values, the terms the first of them
lack and have instead (``fieldreport``: their coefficients probed and rounded to the exact
integers where the rounding is within the tolerance, raw where it is not), and the alternative
layers (``diagnosis``) whose exact outputs are within the tolerance of fn's at every point.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..deadline import Deadline
from ..errors import SpecError
from ..spec import ConvSpec
from ..symbols import to_canonical_output
from .diagnosis import _numeric_diagnosis
from .fieldprobe import Closeness, Point
from .fieldreport import explain_outputs
from .pit import LARGE_BATCH, PIT_SAMPLES, _Caller, expected_outputs
from .reports import SHOWN_OUTPUTS, _header, _user_index
from .results import NotCheckable
from .targets import Target, Values, forward_target

TOLERANCE_POINTS = 8   # random points fn must agree at within the tolerance
VALUE_BITS = 24        # entries m/2^24 with m in [−2^24, 2^24): a float32 significand
MIN_VALUE_BITS = 12    # more than TF32's 11 significant bits
BATCHES = (PIT_SAMPLES, 1, 2, LARGE_BATCH, 4)   # the samples of a batched fn's first points (then PIT_SAMPLES)
TOLERANCE_SCALES = (8, -8, 24, -24)   # further points with x, w scaled by 2^s (b by 2^2s): clipping, flushing
SCALABLE = {"float64", "float32", "bfloat16"}   # output dtypes with the range for them (float16 has not)


def check_tolerances(rtol: Any, atol: Any) -> tuple[float, float] | None:
    """(rtol, atol) as floats, or None for both None (exact); one None counts as 0.

    >>> check_tolerances(1e-5, None)
    (1e-05, 0.0)
    >>> check_tolerances(None, None) is None, check_tolerances(0, 0.0) is None
    (True, True)
    >>> check_tolerances(-1.0, 0.0)
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: rtol=-1.0: must be a finite number ≥ 0 (or None for exact checking)
    """
    if rtol is None and atol is None or rtol in (0, None) and atol in (0, None):
        return None   # no tolerance is the exact check, with its line test and trials (adversarial round 7)
    checked = []
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value is None:
            checked.append(0.0)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
                -1 < math.log2(max(abs(value), 1)) < 1024 and math.isfinite(value) and value >= 0):   # 10**400
            raise SpecError(name, value, "must be a finite number ≥ 0 (or None for exact checking)")
        checked.append(float(value))
    if checked[0] >= 1:   # |y − conv| ≤ |conv| holds for y = 0: no structure would be checked
        raise SpecError("rtol", rtol, "must be below 1: at rtol ≥ 1 an fn returning zeros passes")
    return checked[0], checked[1]


def within(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """|actual − expected| ≤ atol + rtol·|expected|, elementwise (assert_close's rule)."""
    return np.abs(actual - expected) <= atol + rtol * np.abs(expected)


@dataclass(frozen=True)
class TolerancePoint:
    """fn at one point of the tolerance check: ``label`` ("3, inputs scaled by 2^8"), the operands'
    integer numerators (``_dyadic``: an entry is m/2^bits, a bias m/2^(2·bits)), fn's outputs and
    the exact ones in value units (a scaled point's divided by 2^(degree·s)), and which entries are
    within the tolerance (None: absent)."""

    label: str
    values: Values
    obtained: tuple[np.ndarray | None, ...]
    expected: tuple[np.ndarray | None, ...]
    good: tuple[np.ndarray | None, ...]
    bits: int = VALUE_BITS

    def exponents(self) -> dict[str, int]:
        """{operand: e}, an entry being its numerator·2^-e."""
        return {name: _bits(name, self.bits) for name in self.values}

    @property
    def passed(self) -> bool:
        return all(g is None or bool(g.all()) for g in self.good)


def check_points(run: _Caller, seed: int, tolerances: tuple[float, float],
                 failure: Callable[[TolerancePoint, list[TolerancePoint]], str]) -> str:
    """fn (``run``, a ``_Caller`` with integral=False) at the points of the module docstring, every
    entry of every output compared; AssertionError(``failure(point, points so far)``) at the first
    point outside the tolerance, else what was established (without its parenthesis)."""
    __tracebackhide__ = True
    rtol, atol = tolerances
    target = run.target
    rng = np.random.default_rng([seed, 17])
    points: list[TolerancePoint] = []
    for k, scale in enumerate([0] * TOLERANCE_POINTS + list(TOLERANCE_SCALES)):
        if scale and not run.dtypes <= SCALABLE:
            continue
        n = (BATCHES[k] if k < len(BATCHES) else PIT_SAMPLES) if run.batched else 1
        bits = value_bits(target, n)
        values = _dyadic(rng, target, n, bits)
        sent = {name: None if v is None else np.ldexp(v.astype(np.float64), scale * (2 if name == "b" else 1)
                                                      - _bits(name, bits)) for name, v in values.items()}
        expected = tuple(None if e is None else np.ldexp(np.asarray(e, dtype=np.float64), -o.degree * bits)
                         for o, e in zip(target.outputs, expected_outputs(target, values, n)))
        if k == 0:
            _refuse_zeros(target, expected, rtol, atol)
        where = f", inputs scaled by 2^{scale}" if scale else ""
        obtained = tuple(None if y is None else np.ldexp(y, -o.degree * scale)   # exact: fn scales by 2^(d·s)
                         for o, y in zip(target.outputs, run(sent, f"random m/2^{bits} in [−1, 1){where}, "
                                                                    f"point {k + 1}, seed {seed}")))
        if k == 0:
            first = set(run.dtypes)   # the scaled points run only for dtypes with the range: one set throughout
        elif run.dtypes != first:
            raise NotCheckable(f"fn returned {', '.join(sorted(first))} at the first point and "
                               f"{', '.join(sorted(run.dtypes - first))} at point {k + 1}{where}: its output dtype "
                               f"depends on the values, so the points do not measure its rounding")
        good = tuple(None if y is None else within(y, e, rtol, atol) for y, e in zip(obtained, expected))
        points.append(TolerancePoint(f"{k + 1}{where}", values, obtained, expected, good, bits))
        if not points[-1].passed:
            raise AssertionError(failure(points[-1], points))
    scaled = " and 4 with inputs scaled by 2^±8, 2^±24" if len(points) > TOLERANCE_POINTS else ""
    return f"verified within tolerance rtol={rtol!r}, atol={atol!r} at {TOLERANCE_POINTS} random points{scaled}"


def _refuse_zeros(target: Target, expected: tuple[np.ndarray | None, ...], rtol: float, atol: float) -> None:
    """SpecError when an output of zeros is within the tolerance at the first point: nothing checked."""
    for o, e in zip(target.outputs, expected):
        if e is not None and within(np.zeros_like(e), e, rtol, atol).all():
            shown = "conv" if target.kind == "convolution" else o.name
            raise SpecError("atol", atol, f"must be below the layer's outputs at the random points (the largest "
                                          f"|{shown}| at the first is {float(np.abs(e).max(initial=0)):g}): at "
                                          f"this tolerance an fn returning zeros passes, so nothing is checked")


def _check_within_tolerance(fn: Callable[..., Any], spec: ConvSpec, batched: bool, limit: Deadline, seed: int,
                            tolerances: tuple[float, float]) -> tuple[int, str]:
    """(calls made, what was established); AssertionError naming the outputs outside the tolerance."""
    __tracebackhide__ = True
    rtol, atol = tolerances
    target = forward_target(spec)
    run = _Caller(fn, target, batched, limit, integral=False)

    def failure(point: TolerancePoint, points: list[TolerancePoint]) -> str:
        (obtained,), (expected,), (good,) = point.obtained, point.expected, point.good
        sample = int(np.argwhere(~good)[0, 0])
        return (_outside(spec, obtained, expected, good, seed, point.label, rtol, atol)
                + explain_outputs(fn, target, batched, limit,
                                  np.argwhere(~to_canonical_output(spec, good[sample])),
                                  Point.of(spec, point.values, obtained, sample,
                                           tuple(point.exponents()[name] for name in "xwb")),
                                  Closeness(rtol, atol), 53, seed)
                + _numeric_diagnosis(spec, [((p.values["x"], p.values["w"], p.values["b"]), p.obtained[0])
                                            for p in points if p.bits == point.bits], lambda exact, y: bool(within(
                                     y, np.ldexp(exact.astype(np.float64), -2 * point.bits), rtol, atol).all()),
                                     "within the tolerance at the random points"))
    established = check_points(run, seed, tolerances, failure)
    return run.calls, (f"{established} (|y − conv| ≤ atol + rtol·|conv|, at a scaled point for y and conv "
                       f"divided by the scale²), assuming fn's error does not depend on where the inputs are")


def value_bits(target: Target, samples: int) -> int:
    """The numerator bits a of a point of ``samples`` samples: VALUE_BITS, fewer where a sum of
    terms·samples products of two a-bit numerators would leave int64 (the exact reference's
    fast dtype), never below MIN_VALUE_BITS (then it computes with Python integers).

    >>> from symconv import ConvSpec
    >>> value_bits(forward_target(ConvSpec(64, 64, 3, (56, 56))), 17)
    24
    >>> value_bits(forward_target(ConvSpec(2048, 512, 7, (14, 14))), 17)
    20
    """
    return max(MIN_VALUE_BITS, min(VALUE_BITS, (62 - (target.terms * samples + 1).bit_length()) // 2))


def _bits(name: str, bits: int) -> int:
    """The power of two an operand's numerators are divided by: a bias is in the units of a
    product w·x (2^(−2·bits)), so the integer reference adds like units."""
    return 2 * bits if name == "b" else bits


def _dyadic(rng: np.random.Generator, target: Target, n: int, bits: int) -> dict:
    """Integer numerators m in [−2^bits, 2^bits) of each operand (``_bits``): values in [−1, 1)."""
    values = {}
    for o in target.operands:
        if o.shape is None:
            values[o.name] = None
            continue
        shape = (n, *o.shape) if o.batched else o.shape
        values[o.name] = rng.integers(-2 ** _bits(o.name, bits), 2 ** _bits(o.name, bits), size=shape)
    return values


def _outside(spec: ConvSpec, obtained: np.ndarray, expected: np.ndarray, good: np.ndarray, seed: int, point: str,
             rtol: float, atol: float) -> str:
    bad = np.argwhere(~good)
    sample = int(bad[0, 0])
    mine, theirs = to_canonical_output(spec, obtained[sample]), to_canonical_output(spec, expected[sample])
    fine = to_canonical_output(spec, good[sample])
    differing = np.argwhere(~fine)
    lines = [f"{_header(spec, 'probe', 'checking within tolerance')}: {len(differing)} of {mine.size} outputs "
             f"are not within rtol={rtol!r}, atol={atol!r} of the layer at random point {point} (seed {seed}; "
             f"seed= repeats it)."]
    for index in map(tuple, differing[:SHOWN_OUTPUTS]):
        name = "y[" + ",".join(map(str, _user_index(spec, index))) + "]"
        lines.append(f"  {name} = {float(mine[index])!r}, the convolution gives {float(theirs[index])!r}")
    if len(differing) > SHOWN_OUTPUTS:
        lines.append(f"  ... and {len(differing) - SHOWN_OUTPUTS} more output(s) outside the tolerance")
    return "\n".join(lines)
