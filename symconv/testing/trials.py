"""The random exact trials: inputs whose every product and partial sum is exact in their dtype
(``_Trial``, ``_exact_plan``), fn's outputs compared exactly with the definition evaluated on
Python integers (``_exact_trials``)."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from math import prod
from typing import Any

import numpy as np
import sympy as sp

from ..deadline import Deadline
from ..spec import ConvSpec
from .calls import _call_fn, _Raised, _strided
from .full_significand import FRACTION_BITS, FULL_SIGNIFICAND, full_significand, full_significand_patterns
from .probe import _Prober
from .reports import _header
from .results import NotCheckable, _RaisedOnProbe
from .targets import forward_target

EXACT_BITS = 20          # numerator bits of the balanced exact trials (fewer for big kernels)
EXACT_NARROW_BITS = 8    # the narrow operand of a full-precision exact trial
EXACT_MAGNITUDE_BITS = 20  # full-precision and integer trial values reach ±2^20
EXACT_BATCH = 17         # the larger batch of the exact trials for a batched fn (above 8 and 16)
EXACT_REFERENCE_TERMS = 2_000_000  # products of the exact reference per trial before samples are drawn


def _exact_number(value: Any) -> Fraction | None:
    """The exact value of a real number fn returned (a float by its binary value), else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, sp.Basic):
        return Fraction(int(value.p), int(value.q)) if value.is_Rational else (
            _exact_number(sp.Rational(value)) if isinstance(value, sp.Float) and value.is_finite else None)
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    if isinstance(value, (float, np.floating)) and np.isfinite(value):
        return Fraction(*value.as_integer_ratio())
    return None


@dataclass(frozen=True)
class _Trial:
    """One kind of random exact input: x = m/2^fx with |m| < 2^ax, w = m/2^fw with |m| < 2^aw,
    bias m/2^(fx+fw) with |m| < 2^(ax+aw), as ``dtype`` arrays (x as ``x_dtype`` if given).
    Numerators are odd when the denominator is not 1, so no value is an integer; with f = 0 they
    are any integers (``unsigned``: 0 … 2^ax − 1). An output sums ``terms`` products below
    2^(ax+aw) and a bias, each a multiple of 2^-(fx+fw), so with ax + aw + bitlength(terms + 1) ≤
    significand bits (53 float64 and int64 results compared as float64, 31 int32, 24 float32)
    every partial sum, in any order, is exact in the dtype (f < 0 scales by 2^-f: see
    ``_scaling_plan``). A ``pattern`` other than "uniform"
    draws integers of magnitude ≤ PATTERN_RANGE with a structure that reaches value-dependent
    branches (see ``_patterned``); ``views`` sends x and w as non-contiguous views."""

    name: str
    ax: int
    fx: int
    aw: int
    fw: int
    dtype: type = np.float64
    samples: int = 1   # the batch of a batched fn
    x_dtype: type | None = None
    pattern: str = "uniform"
    views: bool = False
    unsigned: bool = False

    @property
    def may_refuse(self) -> bool:
        """Integer arrays or non-contiguous views (torch.from_numpy refuses negative strides): an
        fn may refuse them (raise); it must not get them wrong."""
        return self.views or np.dtype(self.x_dtype or self.dtype).kind in "iu"

    def describe(self) -> str:
        values = lambda a, f: f"odd m/2^{f}, |m| < 2^{a}" if f else f"integers below 2^{a}"  # noqa: E731
        dtypes = np.dtype(self.dtype).name
        if self.x_dtype is not None:
            dtypes = f"x {np.dtype(self.x_dtype).name}, w and b {dtypes}"
        if self.pattern != "uniform":
            return f"{self.name}, {dtypes}"
        x = f"integers 0 … 2^{self.ax} − 1" if self.unsigned else values(self.ax, self.fx)
        return f"{self.name}: x {x}, w {values(self.aw, self.fw)}, {dtypes}"


PATTERN_RANGE = 3   # patterned trials: integers in [−3, 3]; an output is below 9·terms + 3, exact
PATTERNS = {        # pattern: its name in failure messages
    "ternary": "values in {−1, 0, 1}",
    "telescoping": "windows summing to exactly 0 (x = differences of a sparse v along the last "
                   "axis, so ± entries cancel)",
    "half zero": "a whole zero region beside non-zero values",
    "negative": "all x < 0",
    "signs by region": "x ≤ 0 in one region and ≥ 0 in the other, w ≤ 0",
}
# Magnitude families: x = s·2^-e spans 2^-spread … 3 (half the entries ordinary, e = 0), or |x|, |w|
# fill the top bit of their budget, so that code which flushes small values or saturates large
# outputs differs from the layer. Each is a _Trial whose numerators obey the same exactness budget.
MAGNITUDES = {"tiny": "tiny magnitudes", "large": "large magnitudes", "scaled": "power-of-two scalings"}
# Power-of-two scalings (x·2^a, w·2^b): far exponents, one fn call each (7 in float64, 4 in float32),
# so that code flushing tiny x, w or y below a threshold the scalings pass (x down to 2^-500, outputs
# down to 2^-1000), or clipping x or w above one they pass (up to 2^300), differs.
SCALINGS = {np.float64: ((-60, 0), (0, -60), (-60, -60), (60, 0), (0, 60), (300, 300), (-500, -500)),
            np.float32: ((-30, 0), (0, -30), (-50, -50), (50, 50))}
SCALED_BITS = 8   # numerators of the scaled trials: nonzero integers below 2^8 (fewer for big kernels)


def _exact_plan(spec: ConvSpec) -> list[_Trial]:
    """The random exact trials for ``spec`` (see ``_Trial`` for the exactness budget): balanced
    dyadic fractions up to ±2^5; full-precision x (about 40 bits, 20 of them fractional, up to
    ±2^20) with narrow w, and the reverse; integers up to ±2^20; values exact in float32 passed
    as float32 arrays (omitted when the kernel is too large for any); the value patterns of
    ``PATTERNS`` (small integers that make windows sum to 0, whole regions zero or of one sign);
    int64 arrays, a uint8 image with dyadic w, int32 arrays (when the kernel leaves room); and
    non-contiguous views of balanced fractions; full-significand x or w (``full_significand``); the
    magnitude families of ``_magnitude_plan``
    (tiny values beside ordinary ones, outputs beyond 2^40) and ``_scaling_plan``. Batched, two
    send EXACT_BATCH samples.

    >>> [(t.ax, t.fx, t.aw, t.fw) for t in _exact_plan(ConvSpec(3, 4, kernel_size=3, input_size=(8, 8)))][:5]
    [(20, 15, 20, 15), (40, 20, 8, 4), (8, 4, 40, 20), (20, 0, 20, 0), (9, 6, 9, 6)]
    >>> [t.name for t in _exact_plan(ConvSpec(3, 4, 3, input_size=(8, 8))) if t.pattern not in MAGNITUDES][5:16]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['values in {−1, 0, 1}', 'windows summing to exactly 0 (x = differences of a sparse v along
     the last axis, so ± entries cancel)', 'a whole zero region beside non-zero values',
     'all x < 0', 'x ≤ 0 in one region and ≥ 0 in the other, w ≤ 0', 'int64 arrays',
     'uint8 image, dyadic w', 'int32 arrays', 'non-contiguous views (Fortran order, negative strides)',
     'full-significand x (53 bits), one tap of w per output channel', 'full-significand w (53 bits), one
     entry of x per sample']
    >>> [t.name for t in _exact_plan(ConvSpec(3, 4, 3, input_size=(8, 8)))][-1]
    'full-significand w (53 bits), one entry of x per sample, x·2^-500, w·2^-500'
    """
    terms_bits = (spec.in_per_group * prod(spec.kernel_size) + 1).bit_length()
    budget, single = 53 - terms_bits, (24 - terms_bits) // 2
    half, narrow = min(EXACT_BITS, budget // 2), min(EXACT_NARROW_BITS, budget // 2)
    wide = budget - narrow
    fraction = lambda a, magnitude: max(1, a - magnitude)  # noqa: E731 - f for values up to ±2^magnitude
    wide_f, narrow_f = fraction(wide, min(EXACT_MAGNITUDE_BITS, wide // 2)), fraction(narrow, narrow // 2)
    plan = [_Trial("balanced dyadic fractions", half, fraction(half, 5), half, fraction(half, 5)),
            _Trial("full-precision x, narrow w", wide, wide_f, narrow, narrow_f, samples=EXACT_BATCH),
            _Trial("narrow x, full-precision w", narrow, narrow_f, wide, wide_f, samples=3),
            _Trial("integer values", half, 0, half, 0, samples=EXACT_BATCH)]
    if single >= 2:
        plan.append(_Trial("values exact in float32", single, fraction(single, 3), single,
                           fraction(single, 3), np.float32, samples=2))
    plan += [_Trial(name, 2, 0, 2, 0, pattern=pattern, samples=3) for pattern, name in PATTERNS.items()]
    image = min(EXACT_BITS, budget - 8)
    plan += [_Trial("int64 arrays", half, 0, half, 0, np.int64, samples=2),
             _Trial("uint8 image, dyadic w", 8, 0, image, fraction(image, 5), x_dtype=np.uint8,
                    unsigned=True, samples=2)]
    if (int32 := (31 - terms_bits) // 2) >= 2:
        plan.append(_Trial("int32 arrays", int32, 0, int32, 0, np.int32, samples=2))
    plan.append(_Trial("non-contiguous views (Fortran order, negative strides)", half, fraction(half, 5),
                       half, fraction(half, 5), views=True, samples=2))
    patterns = full_significand_patterns(spec)
    plan += [_Trial(FULL_SIGNIFICAND[p], *((53, FRACTION_BITS, 1, 0) if p == "full x" else (1, 0, 53, FRACTION_BITS)),
                    pattern=p, samples=3) for p, repeats in patterns for _ in range(repeats)]
    return plan + _magnitude_plan(terms_bits) + _scaling_plan(terms_bits) + _full_scaled_plan(patterns)


def _full_scaled_plan(patterns: list[tuple[str, int]]) -> list[_Trial]:
    """The full-significand trials once more at each float64 scaling of ``SCALINGS`` (x·2^a,
    w·2^b): every output is still one product ±x·2^b or ±w·2^a, exact at any exponent in the
    normal range, so code that keeps fewer significant bits only for large or tiny values (or
    rounds tiny outputs) differs, where the scaled trials' 8-bit numerators would not show it.

    >>> [(t.fx, t.fw) for t in _full_scaled_plan([("full x", 1)])][:3]
    [(120, 0), (60, 60), (120, 60)]
    """
    return [_Trial(f"{FULL_SIGNIFICAND[p]}, x·2^{a}, w·2^{b}",
                   *((53, FRACTION_BITS - a, 1, -b) if p == "full x" else (1, -a, 53, FRACTION_BITS - b)),
                   pattern=p, samples=1) for p, _ in patterns for a, b in SCALINGS[np.float64]]


def _magnitude_plan(terms_bits: int) -> list[_Trial]:
    """The magnitude families, in every check. Tiny: x = s·2^-e with s in ±{1, 2, 3} (2 bits) and
    e = 0 or 1 … spread, w in ±{1, 2, 3}: every product is a multiple of 2^-spread below 2^4, so
    the budget 2 + spread + 2 + bitlength(terms + 1) ≤ 53 (24 in float32) gives spread = 49 −
    bitlength(terms + 1) in float64 (44 for 18 terms: values down to 2^-44 ≈ 5.7e-14, below a
    1e-12 threshold) and 20 − bitlength(terms + 1) in float32. Large: x, w integers with
    2^(a−1) ≤ |m| < 2^a, a = ⌊(53 − bitlength(terms + 1))/2⌋ (24 for 18 terms: every product
    ≥ 2^46, outputs beyond 2^40), exact in float64.

    >>> [(t.ax, t.fx, t.aw, t.dtype.__name__) for t in _magnitude_plan(5)]
    [(46, 44, 2, 'float64'), (17, 15, 2, 'float32'), (24, 0, 24, 'float64')]
    """
    plan = []
    for bits, dtype in ((53, np.float64), (24, np.float32)):
        if (spread := bits - 4 - terms_bits) >= 2:
            plan.append(_Trial(f"{MAGNITUDES['tiny']}: x = s·2^-e, s in ±{{1, 2, 3}}, e = 0 for half the "
                               f"entries, spread over 1 … {spread} for the others; w in ±{{1, 2, 3}}",
                               spread + 2, spread, 2, 0, dtype, pattern="tiny"))
    large = (53 - terms_bits) // 2
    plan.append(_Trial(f"{MAGNITUDES['large']}: x, w integers with 2^{large - 1} ≤ |m| < 2^{large}",
                       large, 0, large, 0, pattern="large"))
    return plan


def _scaling_plan(terms_bits: int) -> list[_Trial]:
    """The power-of-two scalings, in every check: x = m·2^a, w = m'·2^b for each (a, b) of
    ``SCALINGS`` (fx = −a, fw = −b), m, m' nonzero integers below 2^k, k = min(SCALED_BITS,
    ⌊(bits − bitlength(terms + 1))/2⌋). Scaling by a power of two is exact, and every product and
    partial sum is a multiple of 2^(a+b) with an integer below 2^(2k + bitlength(terms + 1)) ≤
    2^bits (53 float64, 24 float32): exact while 2^(a+b) stays at or above the smallest normal
    (2^-1022, 2^-126) and the sums below the largest (2^1024, 2^128), as the chosen pairs do for
    k·2 + bitlength ≤ bits. A bilinear layer's output is then exactly 2^(a+b) times its output on
    m, m', which the reference gives; flushing |x|, |w| or |y| below a threshold the scalings pass,
    or clipping them above one, is seen (float64: x and w down to 2^-500 and up to 2^300, outputs
    down to about 2^-1000; thresholds beyond those, e.g. a flush of |x| < 2^-700 or a clip at
    2^400, are not).

    >>> [(t.ax, t.fx, t.fw, t.dtype.__name__) for t in _scaling_plan(3)][::3]
    [(8, 60, 0, 'float64'), (8, -60, 0, 'float64'), (8, 500, 500, 'float64'), (8, 50, 50, 'float32')]
    """
    plan = []
    for bits, dtype in ((53, np.float64), (24, np.float32)):
        if (k := min(SCALED_BITS, (bits - terms_bits) // 2)) >= 1:
            plan += [_Trial(f"{MAGNITUDES['scaled']}: x = m·2^{a}, w = m'·2^{b}, m, m' nonzero integers "
                            f"below 2^{k}", k, -a, k, -b, dtype, pattern="scaled") for a, b in SCALINGS[dtype]]
    return plan


def _draw(rng: np.random.Generator, spec: ConvSpec, trial: _Trial, n: int) -> tuple:
    """The integer numerators X (n, *input_shape), W, B (or None) of one trial."""
    if trial.pattern in MAGNITUDES:
        return _magnitudes(rng, spec, trial, n)
    if trial.pattern in FULL_SIGNIFICAND:
        return full_significand(rng, spec, trial.pattern, n)
    if trial.pattern != "uniform":
        return _patterned(rng, spec, trial.pattern, n)
    X = (rng.integers(0, 2 ** trial.ax, size=(n, *spec.input_shape)) if trial.unsigned
         else _numerators(rng, (n, *spec.input_shape), trial.ax, trial.fx))
    W = _numerators(rng, spec.weight_shape, trial.aw, trial.fw)
    B = _numerators(rng, (spec.out_channels,), trial.ax + trial.aw, trial.fx + trial.fw) if spec.bias else None
    return X, W, B


def _magnitudes(rng: np.random.Generator, spec: ConvSpec, trial: _Trial, n: int) -> tuple:
    """The numerators of a magnitude family (``_magnitude_plan``): tiny, s·2^(fx − e) with e = 0
    for half the entries of a sample and spread over 1 … fx for the others (so x = s·2^-e), w and b
    nonzero integers in ±{1, 2, 3}; large, random signs times integers in [2^(a−1), 2^a) for x and
    w, bias in [2^(2a−2), 2^(2a−1)); scaled (``_scaling_plan``), random signs times integers in
    [1, 2^a) for x and w, [1, 2^(2a)) for the bias."""
    signs = lambda shape: rng.choice((-1, 1), size=shape)  # noqa: E731
    if trial.pattern == "scaled":   # nonzero, so every flushed or clipped entry changes an output
        nonzero = lambda shape, a: rng.integers(1, 2 ** a, size=shape) * signs(shape)  # noqa: E731
        X, W = nonzero((n, *spec.input_shape), trial.ax), nonzero(spec.weight_shape, trial.aw)
        return X, W, nonzero((spec.out_channels,), trial.ax + trial.aw) if spec.bias else None
    if trial.pattern == "tiny":
        small = lambda shape: rng.integers(1, 4, size=shape) * signs(shape)  # noqa: E731
        shape, size = (n, *spec.input_shape), prod(spec.input_shape)
        # per sample, half the entries ordinary (e = 0), the others exponents evenly spread over
        # 1 … fx, fx always among them (every one when there are enough entries): a threshold
        # anywhere above 3·2^-fx zeroes at least one entry, for every seed
        tiny = np.rint(np.linspace(1, trial.fx, size // 2)).astype(int)
        e = np.stack([rng.permutation(np.concatenate([np.zeros(size - size // 2, int), tiny]))
                      for _ in range(n)]).reshape(shape)
        X, W = small(shape) * 2 ** (trial.fx - e), small(spec.weight_shape)
        B = small((spec.out_channels,)) * 2 ** trial.fx if spec.bias else None
        return X, W, B
    top = lambda shape, a: rng.integers(2 ** (a - 1), 2 ** a, size=shape) * signs(shape)  # noqa: E731
    X, W = top((n, *spec.input_shape), trial.ax), top(spec.weight_shape, trial.aw)
    return X, W, top((spec.out_channels,), trial.ax + trial.aw - 1) if spec.bias else None


def _patterned(rng: np.random.Generator, spec: ConvSpec, pattern: str, n: int) -> tuple:
    """Small integers (|v| ≤ PATTERN_RANGE) shaped to reach value-dependent code: ``PATTERNS``.
    Regions split the input at a random position of a random spatial axis."""
    r = PATTERN_RANGE
    shape = (n, spec.in_channels, *spec.input_size)   # canonical (n, C, *in); moved for NHWC below
    W = rng.integers(-r, r + 1, size=spec.weight_shape)
    B = rng.integers(-r, r + 1, size=spec.out_channels) if spec.bias else None
    nonzero = rng.integers(1, r + 1, size=shape) * rng.choice((-1, 1), size=shape)
    axis = 2 + int(rng.integers(spec.dims))
    cut = int(rng.integers(1, shape[axis])) if shape[axis] > 1 else 1
    first = (np.arange(shape[axis]) < cut).reshape((-1,) + (1,) * (len(shape) - 1 - axis))
    if pattern == "ternary":
        X, W = rng.integers(-1, 2, size=shape), rng.integers(-1, 2, size=spec.weight_shape)
        B = None if B is None else rng.integers(-1, 2, size=spec.out_channels)
    elif pattern == "telescoping":   # Σ over a run of the last axis of v[i] − v[i−1] is v[end] − v[start−1]
        v = rng.integers(1, r + 1, size=shape) * (rng.random(shape) < 0.3)
        v[..., -1] = 0   # so every whole row, and each run between zeros of v, sums to 0
        X = np.diff(v, axis=-1, prepend=0)
    elif pattern == "half zero":
        X = np.where(first, nonzero, 0)
    elif pattern == "negative":
        X = -np.abs(nonzero)
    else:   # "signs by region"
        X, W = np.where(first, -np.abs(nonzero), np.abs(nonzero)), -np.abs(W)
    if spec.layout == "NHWC":
        X = np.ascontiguousarray(np.moveaxis(X, 1, -1))
    return X, W, B


def _exact_trials(fn: Callable[..., Any], spec: ConvSpec, mode: str, batched: bool,
                  limit: Deadline, run: _Prober | None, seed: int) -> int:
    """Call fn on the random exact inputs of ``_exact_plan`` (drawn from ``seed``, a fresh one per
    check unless given) and compare outputs exactly with the definition evaluated on Python
    integers: every sample when that costs at most EXACT_REFERENCE_TERMS products, else the last
    and two random ones, or the last alone when one sample costs more (64→64 3×3 56²: 115 M
    products, about 0.15 s each by ``conv_exact``). An fn on symbols that fails on floats gets the
    same values as SymPy Rationals; an fn that raises in probe mode on integer arrays or non-contiguous views skips
    that trial (refusing them is no wrong answer). Returns the number of calls of fn; AssertionError at the first
    differing output."""
    __tracebackhide__ = True
    rng = np.random.default_rng(seed)
    target = forward_target(spec)
    cost = prod(spec.output_shape) * spec.in_per_group * prod(spec.kernel_size)
    calls = 0
    for trial in _exact_plan(spec):
        n = trial.samples if batched else 1
        X, W, B = _draw(rng, spec, trial, n)
        scaled = lambda m, f: (np.ldexp(m.astype(np.float64), -f) if f else m)  # noqa: E731 - exact: 2^-f
        x = scaled(X, trial.fx).astype(trial.x_dtype or trial.dtype)
        w = scaled(W, trial.fw).astype(trial.dtype)
        b = None if B is None else scaled(B, trial.fx + trial.fw).astype(trial.dtype)
        if trial.views:
            x, w = _strided(x), _strided(w)
        what = f"{trial.describe()}, seed {seed}, {'a batch of ' if batched else ''}{n} sample(s)"
        limit.check()
        if run is not None:
            try:
                ys = run(x, w, b, what, integral=False).reshape(n, *run.shape)
            except _RaisedOnProbe:
                if trial.may_refuse:
                    continue
                raise
            calls += 1 if batched else n
        else:
            ys, made = _numeric_outputs(fn, spec, (x, w, b), batched, what, limit)
            calls += made
        checked = (range(n) if n * cost <= EXACT_REFERENCE_TERMS else [n - 1] if cost > EXACT_REFERENCE_TERMS
                   else sorted({n - 1, *rng.choice(n - 1, size=min(2, n - 1), replace=False).tolist()}))
        for k in checked:
            reference = target.reference({"x": X[k], "w": W, "b": B})[0]
            _compare_exact(spec, mode, ys[k], reference, Fraction(2) ** (trial.fx + trial.fw), what, k)
    return calls


def _numerators(rng: np.random.Generator, shape: tuple[int, ...], bits: int, fraction: int) -> np.ndarray:
    """Random integers of |m| < 2^bits, odd when ``fraction`` > 0 (so m/2^fraction is no integer)."""
    if fraction:
        return 2 * rng.integers(-2 ** (bits - 1), 2 ** (bits - 1), size=shape) + 1
    return rng.integers(1 - 2 ** bits, 2 ** bits, size=shape)


def _numeric_outputs(fn: Callable[..., Any], spec: ConvSpec, operands: tuple, batched: bool,
                     what: str, limit: Deadline) -> tuple[list[np.ndarray], int]:
    """Symbolic mode: fn's outputs on the float64 trial inputs, per sample (as SymPy Rationals
    when fn raises on floats: code written for symbols need not run on floats)."""
    x, w, b = operands
    rational = np.vectorize(lambda v: sp.Rational(*float(v).as_integer_ratio()), otypes=[object])
    calls = 0
    for convert in (lambda a: a, rational):
        args = [None if a is None else convert(a) for a in (x, w, b)]
        if batched:
            ys, calls = _call_fn(fn, limit, *args), calls + 1
            outputs = None if isinstance(ys, _Raised) else [ys]
        else:
            outputs = [_call_fn(fn, limit, xi, args[1], args[2]) for xi in args[0]]
            calls += len(outputs)
            failed = next((y for y in outputs if isinstance(y, _Raised)), None)
            outputs = None if failed is not None else outputs
            ys = failed
        if outputs is not None:
            break
    else:
        raise NotCheckable(f"fn raised {ys.describe()} on numbers ({what}; float64 arrays and "
                           f"SymPy Rationals), though it ran on symbols: it must compute the "
                           f"layer on numbers too") from ys.error
    try:
        arrays = [np.asarray(y.detach().cpu() if hasattr(y, "detach") else y) for y in outputs]
    except Exception as error:
        raise NotCheckable(f"fn returned something that is not an array on numbers ({what}): "
                           f"{type(error).__name__}: {error}") from error
    if batched:
        if arrays[0].shape != (len(x), *spec.output_shape):
            raise AssertionError(f"fn was declared batched but returned shape {arrays[0].shape} "
                                 f"for a batch of {len(x)} samples ({what})")
        arrays = list(arrays[0])
    return arrays, calls


def _equal_as_floats(y: np.ndarray, reference: np.ndarray, scale: Fraction) -> bool:
    """True when float or integer outputs y equal reference/scale exactly, compared as float64:
    reference/scale (scale a power of two) is then an exact float64 (|reference| < 2^53, or a
    float output against a reference float64 holds exactly, as the full-significand trials' single
    products; in the normal range), so == is exact equality of the real numbers. False means: compare entry by
    entry (``_compare_exact``), which finds the difference or the other kind of output."""
    wider = y.dtype.itemsize > 8   # long double: not exact as float64, compared entry by entry
    if y.dtype.kind not in "fiu" or wider or reference.dtype.kind not in "iu" or 1 not in (scale.numerator,
                                                                                          scale.denominator):
        return False
    if reference.size and max(abs(int(reference.max())), abs(int(reference.min()))) >= 2**53 and (
            y.dtype.kind != "f" or not np.array_equal(reference.astype(np.float64).astype(np.int64), reference)):
        return False   # beyond 2^53 only float outputs against a reference of at most 53 significant bits
    power = max(scale.numerator, scale.denominator)
    if power & (power - 1):   # not a power of two
        return False
    exponent = (power.bit_length() - 1) * (1 if scale.numerator == 1 else -1)   # reference·2^exponent
    expected = np.ldexp(reference.astype(np.float64), exponent)
    exact = np.array_equal(np.ldexp(expected, -exponent), reference.astype(np.float64)) and (
        not reference.any() or np.abs(expected[reference != 0]).min() >= np.finfo(np.float64).tiny)
    return bool(exact and np.array_equal(y.astype(np.float64), expected))


def _compare_exact(spec: ConvSpec, mode: str, y: np.ndarray, reference: np.ndarray, scale: Fraction,
                   what: str, sample: int) -> None:
    """AssertionError unless fn's output y equals reference/scale (integers) entry by entry exactly."""
    __tracebackhide__ = True
    if y.shape != spec.output_shape:
        raise AssertionError(f"{_header(spec, mode)}: fn returned shape {y.shape} on a random exact "
                             f"input ({what}), the output shape is {spec.output_shape}")
    if _equal_as_floats(y, reference, scale):
        return
    for index, value in np.ndenumerate(y):
        expected = Fraction(int(reference[index]), scale)
        obtained = _exact_number(value)
        if obtained != expected:
            shown = f"{float(obtained)!r}" if obtained is not None else repr(value)
            raise AssertionError(
                f"{_header(spec, mode)}: fn differs from the layer at a random exact input ({what}; "
                f"sample {sample}; seed= repeats it): y[{','.join(map(str, index))}] = {shown}, the convolution gives "
                f"{float(expected)!r} exactly (every product and sum of these inputs is exact in "
                f"their dtype): fn rounds (float32/float16/bfloat16, FFT), clips or rounds its inputs, "
                f"ignores an input, takes another path for other values, dtypes or batch sizes, or "
                f"is not bilinear (rounding or non-bilinear code)")
