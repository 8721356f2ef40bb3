"""Check other people's convolution code against the definition, in one line of a test.

    symconv.testing.assert_conv_equivalent(fn, spec)        # fn(x, w, b) -> y

``mode="symbolic"`` (default) calls ``fn`` on NumPy object arrays of SymPy symbols and *proves*
that every output is the polynomial of the definition

    y[o, out] = b[o] + Σ_{c,k} w[o, c, k] · x[g(o)·C_in/groups + c, src(s·out + d·k − p)],

by comparing canonical expanded forms (``symconv.prove(spec, output=y)``).

``mode="probe"`` is for float-only code (torch, scipy, …). Such code evaluates, if it is a layer
at all, a map of the form  y = c + L_x(x) + L_w(w) + L_b(b) + B(w, x);  probing it with zero and
one-hot float64 inputs reads off every coefficient exactly (a product of 0/1 values is exact, and
sums of a few small integers are exact in float32 and float64). The recovered coefficients are
written back as a polynomial in the same symbols and compared exactly with the definition. That
the code *is* of this form is then tested on random small-integer inputs, which cannot prove it:
the result says "verified by exact probing, assuming bilinearity", never "proved".
Probing refuses what it cannot check exactly, with a NotCheckable naming it: outputs that are
complex (it never drops an imaginary part), NaN, infinite, not real numbers (bool, str, object),
None, or not an exact integer on 0/1 inputs; an fn that raises or exits (the error chained).
A torch tensor is detached. In symbolic mode every output must be a SymPy expression (or an
integer, e.g. an untouched 0); a batched fn gets a batch of two samples with distinct symbols,
each proved, and an unbatched fn is called a second time on fresh symbols, which must give the
same polynomials (an fn that ignores its inputs or caches is refuted).

Both modes then run **random exact trials** (``_exact_trials``, ``_exact_plan``), from a fresh
random seed per check (named in a failure; ``seed=`` repeats it): balanced dyadic fractions (odd
numerators, never integers); full-precision x (about 40 significant bits, up to ±2^20) with a
narrow w, and the reverse; integers up to ±2^20; values exact in float32 sent as float32 arrays;
value patterns that reach value-dependent branches (small integers in [−3, 3]: values in
{−1, 0, 1}; windows that sum to exactly 0 through ± cancellations; a whole zero region beside
non-zero values; all x < 0; x ≤ 0 in one region and ≥ 0 in the other with w ≤ 0); int64 arrays,
a uint8 image with dyadic float64 w, int32 arrays; and non-contiguous views of x and w (Fortran
order read backwards); batched, batches of 1 to EXACT_BATCH = 17 samples. Each output is compared
exactly with the definition evaluated on Python integers. Numerator bits obey ax + aw +
bitlength(terms + 1) ≤ 53 (31 for int32, 24 for float32), so every product and partial sum of the
layer is exact in the trial's dtype in any order, while a float64 product needs more than 24
bits: code that rounds (float32/16/bfloat16, FFT), quantises, clips or rounds its inputs, keeps
an accumulator in the input's dtype (uint8 images), assumes C-contiguous strides, takes a dtype-
or value-dependent path (``win.sum() == 0``, ``win.max() == 0``), or misbehaves for large values
or batches above 8 fails them. An fn that *raises* on integer arrays or views (torch refuses a
uint8 x with float w, and negative strides) skips that trial in probe mode: refusing is no wrong
answer. fn always gets copies; one that writes into its arguments is refused (NotCheckable).

The limit, plainly: symbolic mode proves the computation fn performs *on symbols*. A branch on a
value (``if win.sum() == 0``) is decided by SymPy structurally on symbols (``==`` compares
expressions, so it is False), and probing sees only 0/1 and small-integer inputs; such code is
covered only by the random trials, which make the branches above likely but cannot prove that
no other value takes another path. What they cannot catch: an fn that changes its behaviour after
a number of calls, or only for inputs unlike all of these. ``deadline`` bounds the whole check
(SIGALRM in the main thread, so a sleeping fn is interrupted; between calls otherwise); past it
a NotCheckable, never "verified". Layers too large to check are refused up front.

On failure an ``AssertionError`` lists the first differing outputs with the terms they lack and
have instead, and — when an alternative layer reproduces the code's output *exactly* (kernel
flipped, kernel axes transposed, padding on the wrong side or of another amount or mode, another
stride or dilation, weight channel axes swapped, bias missing) — names it.
"""

from __future__ import annotations

import numbers
import secrets
from fractions import Fraction
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from itertools import permutations
from itertools import product as cartesian
from math import prod
from typing import Any

import numpy as np
import sympy as sp

from .deadline import Deadline, DeadlineDisarmed, DeadlineExceeded
from .errors import SpecError
from .forms import conv
from .pattern import PADDING_MODES
from .proof import Counterexample, counterexample_of, prove
from .spec import LAYOUTS, ConvSpec
from .symbols import entry_key, symbols, tensor_symbols, to_canonical_input, to_canonical_output, to_canonical_weight

MODES = ("symbolic", "probe")
ESTABLISHED = {"symbolic": "proved", "probe": "verified by exact probing, assuming bilinearity"}
SHOWN_OUTPUTS = 3   # differing outputs listed in a failure message
SHOWN_TERMS = 4     # terms listed per output
PROBE_TRIALS = 3    # random integer inputs that test the bilinearity assumption
PROBE_RANGE = 3     # their entries lie in [−PROBE_RANGE, PROBE_RANGE]
PROBE_DEADLINE = 300.0   # seconds a check may take by default
EXACT_BITS = 20          # numerator bits of the balanced exact trials (fewer for big kernels)
EXACT_NARROW_BITS = 8    # the narrow operand of a full-precision exact trial
EXACT_MAGNITUDE_BITS = 20  # full-precision and integer trial values reach ±2^20
EXACT_BATCH = 17         # the larger batch of the exact trials for a batched fn (above 8 and 16)
EXACT_REFERENCE_TERMS = 2_000_000  # products of the exact reference per trial before samples are drawn
MAX_TERMS = 5_000_000    # symbolic mode: products w·x a check may build
PROBE_MEMORY = 2**30     # probe mode: bytes of one-hot inputs and responses a check may hold


class NotCheckable(TypeError):
    """``fn`` cannot be checked in the requested mode: it fails on symbols or on a probe input,
    returns something that is no real array (None, complex, NaN, inf, bool, str, object), rounds
    on 0/1 inputs, or probing outlasts its deadline."""


class _RaisedOnProbe(NotCheckable):
    """fn raised on a probe input (the exact trials skip integer arrays and views an fn refuses)."""


@dataclass(frozen=True)
class CheckResult:
    """What ``assert_conv_equivalent`` established: ``established`` is "proved" (symbolic mode)
    or "verified by exact probing, assuming bilinearity" (probe mode). ``calls`` counts the calls
    of fn the proof or probing rests on; ``cross_checks`` the further calls that cross-checked it
    (fresh symbols, random exact trials)."""

    spec: ConvSpec
    mode: str
    established: str
    outputs: int
    terms: int
    calls: int
    seconds: float
    cross_checks: int = 0

    def __bool__(self) -> bool:
        return True

    def __str__(self) -> str:
        return (f"{self.established}: fn computes the convolution [{self.spec.describe()}; "
                f"{self.outputs} outputs, {self.terms} terms, {self.calls} call(s) of fn, "
                f"{self.cross_checks} cross-check call(s) passed, {self.seconds:.3f} s]")


def assert_conv_equivalent(fn: Callable[..., Any], spec: ConvSpec, layout: str | None = None,
                           mode: str = "symbolic", *, batched: bool = False,
                           deadline: float = PROBE_DEADLINE, seed: int | None = None) -> CheckResult:
    """Assert that ``fn(x, w, b)`` computes the convolution layer ``spec``; return what was established.

    Arrays follow ``layout``: "NCHW" — x (C_in, *in), w (C_out, C_in/groups, *k), y (C_out, *out);
    "NHWC" — x (*in, C_in), w (*k, C_in/groups, C_out) (HWIO), y (*out, C_out); b is (C_out,) or
    None (``spec.bias``). ``layout=None`` uses ``spec.layout``; an explicit ``layout`` wins over
    ``spec.layout``. With ``batched=True`` fn takes x with a leading sample axis and returns y
    with one (probing then sends all one-hot inputs in one call). ``deadline`` (seconds, default
    PROBE_DEADLINE) bounds the whole check: past it a NotCheckable, never "verified" (SIGALRM
    interrupts a call of fn in the main thread; elsewhere it is checked between calls). ``seed``
    draws the random exact trials; None (default) draws a fresh one per check, which a failure
    message names so that ``seed=`` repeats it.

    >>> import numpy as np, symconv
    >>> spec = symconv.ConvSpec(1, 1, kernel_size=3, input_size=6, bias=False)
    >>> result = assert_conv_equivalent(lambda x, w, b: np.correlate(x[0], w[0, 0])[None], spec)
    >>> print(result)  # doctest: +ELLIPSIS
    proved: fn computes the convolution [1-D, ...; 4 outputs, 12 terms, 1 call(s) of fn, ... s]
    >>> assert_conv_equivalent(lambda x, w, b: np.convolve(x[0], w[0, 0], "valid")[None], spec)
    Traceback (most recent call last):
    AssertionError: fn does not compute the convolution [1-D, C_in=1, C_out=1, input=6, kernel=3, no bias, NCHW]: 4 of 4 outputs differ.
      y[0,0] lacks w_{0,0,0}·x_{0,0}, w_{0,0,2}·x_{0,2}; has w_{0,0,0}·x_{0,2}, w_{0,0,2}·x_{0,0} instead
    ...
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this module's
    spec = _with_layout(spec, layout)
    if mode not in MODES:
        raise SpecError("mode", mode, f"must be one of {MODES}")
    _check_deadline(deadline)
    _refuse_too_large(spec, mode)
    try:
        with Deadline(deadline) as limit:
            limit.progress = lambda: f"the check did not finish within deadline={deadline!r} s"
            return _check(fn, spec, mode, batched, limit, _check_seed(seed))
    except DeadlineExceeded:
        raise NotCheckable(f"{limit.progress()}, so nothing was verified (fn hangs or is slow?); pass "
                           f"a larger deadline= (seconds), use batched=True, or check a smaller layer") from None
    except DeadlineDisarmed as error:
        raise NotCheckable(f"fn disarmed the deadline: {error} (it must leave SIGALRM and the real-time "
                           f"timer alone while it is checked), so nothing was verified") from None


def _check(fn: Callable[..., Any], spec: ConvSpec, mode: str, batched: bool, limit: Deadline,
           seed: int) -> CheckResult:
    __tracebackhide__ = True
    x, w, b = symbols(spec)
    if mode == "symbolic":
        runs, calls = _run_on_symbols(fn, spec, (x, w, b), batched, limit), 1
        prober: _Prober | None = None
    else:
        y, calls, prober = _probe(fn, spec, (x, w, b), batched, limit)
        runs = [(y, "")]
    proof = None
    for y, source in runs:   # every sample (batched) or call (fresh symbols), in the original symbols
        on = f" (on {source})" if source else ""
        if y.shape != spec.output_shape:
            raise AssertionError(_shape_message(spec, y, mode) + on + _diagnosis(spec, y, (x, w, b)))
        proof = prove(spec, output=y)
        if not proof.holds:
            raise AssertionError(_difference_message(spec, y, mode, on) + _diagnosis(spec, y, (x, w, b)))
    cross_checks = len(runs) - 1 if mode == "symbolic" and not batched else 0   # the fresh symbols
    cross_checks += _exact_trials(fn, spec, mode, batched, limit, prober, seed)
    return CheckResult(spec=spec, mode=mode, established=ESTABLISHED[mode], outputs=proof.outputs,
                       terms=proof.terms, calls=calls, seconds=limit.elapsed(), cross_checks=cross_checks)


def _refuse_too_large(spec: ConvSpec, mode: str) -> None:
    """SpecError before anything is built when the check would not fit: symbolic mode builds
    C_out·∏out·(C_in/groups)·∏k products w·x; probing holds (1 + |x|)·(|x| + 2·|y|) float64s."""
    nx, ny = prod(spec.input_shape), prod(spec.output_shape)
    if mode == "symbolic":
        terms = ny * spec.in_per_group * prod(spec.kernel_size)
        if terms > MAX_TERMS:
            raise SpecError("spec", spec.describe(), f"symbolic mode would build {ny} outputs · "
                            f"{spec.in_per_group}·{prod(spec.kernel_size)} = {terms} products w·x, more "
                            f"than MAX_TERMS={MAX_TERMS}; check a smaller layer (the same code at a "
                            f"smaller input size)")
    else:
        needed = 8 * (1 + nx) * (nx + 2 * ny)
        if needed > PROBE_MEMORY:
            raise SpecError("spec", spec.describe(), f"probing needs 8·(1 + {nx})·({nx} + 2·{ny}) = "
                            f"{needed / 2**30:.2f} GiB of one-hot inputs and responses, more than "
                            f"PROBE_MEMORY={PROBE_MEMORY / 2**30:g} GiB; probe a smaller layer")


def _check_deadline(deadline: Any) -> None:
    if (isinstance(deadline, bool) or not isinstance(deadline, numbers.Real)
            or not 0 < float(deadline) < float("inf")):
        raise SpecError("deadline", deadline, "must be a positive finite number of seconds")


def _check_seed(seed: Any) -> int:
    """The seed of the random exact trials: ``seed``, or a fresh one when None."""
    if seed is None:
        return secrets.randbits(63)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise SpecError("seed", seed, "must be a non-negative integer, or None for a fresh one")
    return int(seed)


def _with_layout(spec: ConvSpec, layout: str | None) -> ConvSpec:
    if not isinstance(spec, ConvSpec):
        raise SpecError("spec", type(spec).__name__, "must be a symconv.ConvSpec")
    if layout is None or layout == spec.layout:
        return spec
    if layout not in LAYOUTS:
        raise SpecError("layout", layout, f"must be one of {LAYOUTS}, or None for spec.layout")
    return replace(spec, layout=layout)


# ---- symbolic mode ---------------------------------------------------------------------------
def _call_fn(fn: Callable[..., Any], limit: Deadline, x: Any, w: Any, b: Any) -> Any:
    """fn(x, w, b) on copies (fn may write into its arguments); an exit or any exception of fn
    other than Ctrl-C and the deadline comes back as the exception object. The deadline is checked
    after the call too: an fn that swallowed the alarm does not get its output looked at, and one
    that disarmed it (handler, timer, signal mask) is NotCheckable. Residual limits: an fn that
    disarms the alarm and then hangs, loops in C, or catches every interruption forever is not
    interrupted, and ``os._exit`` in fn ends the process (a child process would be needed)."""
    sent = {name: _copy(a) for name, a in zip("xwb", (x, w, b))}
    try:
        y = fn(sent["x"], sent["w"], sent["b"])
    except (KeyboardInterrupt, DeadlineExceeded):
        raise
    except BaseException as error:  # noqa: BLE001 - sys.exit in fn must not end the check as a verdict
        if limit.outer_fired:   # an outer timer's handler raised (pytest-timeout): not fn's error
            raise
        y = _Raised(error)
    limit.check()
    for name, original in zip("xwb", (x, w, b)):
        _refuse_modified(name, original, sent[name])
    return y


def _copy(a: np.ndarray | None) -> np.ndarray | None:
    """A fresh copy of ``a`` in the same memory layout: C-contiguous, or the non-contiguous view
    of ``_strided`` (so a non-contiguous trial input reaches fn as one)."""
    if a is None:
        return None
    return a.copy() if a.flags.c_contiguous else _strided(a)


def _strided(a: np.ndarray) -> np.ndarray:
    """The values of ``a`` as a non-contiguous view: a Fortran-order buffer read backwards along
    the last axis, twice as long as needed, so code that wrongly assumes C-contiguous strides
    reads wrong values, never memory outside the buffer."""
    buffer = np.zeros((*a.shape[:-1], 2 * a.shape[-1]), dtype=a.dtype, order="F")
    view = buffer[..., a.shape[-1] - 1::-1]
    view[...] = a
    return view


def _refuse_modified(name: str, original: np.ndarray | None, sent: np.ndarray | None) -> None:
    """NotCheckable when fn wrote into its argument ``name``: a layer that modifies its input or
    weight corrupts the caller's arrays, and its later calls see other values."""
    if original is None or sent is None:
        return
    try:
        changed = sent.shape != original.shape or np.argwhere(sent != original)
    except Exception:  # noqa: BLE001 - fn stored something that cannot even be compared
        changed = True
    if isinstance(changed, np.ndarray) and not changed.size:
        return
    where = (f": {name}[{','.join(map(str, changed[0]))}] was {original[tuple(changed[0])]!r}, is now "
             f"{sent[tuple(changed[0])]!r}" if isinstance(changed, np.ndarray) else "")
    raise NotCheckable(f"fn modified its argument {name} in place{where}; a layer must not write into "
                       f"its inputs (the caller's {name} would be corrupted): copy it first")


@dataclass(frozen=True)
class _Raised:
    error: BaseException

    def describe(self) -> str:
        return f"{type(self.error).__name__}: {self.error}"


def _fresh(spec: ConvSpec) -> tuple[dict, tuple]:
    """Renamed symbols (x', w', b' → x_{n=1,…}, v_{…}, c_{…}) for a second call of fn, and the map
    back to the original names (see ``_renamed``)."""
    x, w, b = symbols(spec)
    x2 = symbols(spec, batch=2)[0][1]
    w2 = tensor_symbols("v", w.shape)
    b2 = None if b is None else tensor_symbols("c", b.shape)
    back = dict(zip(x2.flat, x.flat)) | dict(zip(w2.flat, w.flat))
    if b is not None:
        back |= dict(zip(b2.flat, b.flat))
    return back, (x2, w2, b2)


def _run_on_symbols(fn: Callable[..., Any], spec: ConvSpec, operands: tuple, batched: bool,
                    limit: Deadline) -> list[tuple[np.ndarray, str]]:
    """fn's outputs on symbols, each in the original symbols, with what they came from: batched, a
    batch of two samples with distinct symbols (x_{n,c,…}); unbatched, the symbols, then fresh ones."""
    x, w, b = operands
    if batched:
        xs = symbols(spec, batch=2)[0]
        y = _symbolic_output(fn, spec, (xs, w, b), batched, limit)
        if y.shape != (2, *spec.output_shape):
            raise AssertionError(f"fn was declared batched but returned shape {y.shape} for a batch "
                                 f"of 2 samples (expected {(2, *spec.output_shape)})")
        return [(_renamed(y[n], dict(zip(xs[n].flat, x.flat)), x), n and "sample 1 of a batch of 2")
                for n in range(2)]
    first = _symbolic_output(fn, spec, operands, batched, limit)
    limit.check()
    back, renamed = _fresh(spec)
    second = _renamed(_symbolic_output(fn, spec, renamed, batched, limit), back, *operands)
    return [(first, ""), (second, "fresh symbols, renamed back")]


def _renamed(y: np.ndarray, back: dict, *unsent: np.ndarray | None) -> np.ndarray:
    """y with the symbols fn was given renamed back (``back``), and the symbols it was *not* given
    this time (``unsent``: e.g. those of an earlier call, replayed from a cache) renamed to foreign
    ``stale`` symbols, which the proof refuses; one simultaneous substitution."""
    stale = {v: sp.Symbol(f"stale {v}") for a in unsent if a is not None for v in a.flat}
    rename = stale | back
    out = np.empty(y.size, dtype=object)
    out[:] = [v.xreplace(rename) if isinstance(v, sp.Basic) else v for v in y.flat]
    return out.reshape(y.shape)


def _symbolic_output(fn: Callable[..., Any], spec: ConvSpec, operands: tuple, batched: bool,
                     limit: Deadline) -> np.ndarray:
    y = _call_fn(fn, limit, *operands)
    if isinstance(y, _Raised):
        shapes = ", ".join(f"{name} {np.shape(a)}" for name, a in zip("xwb", operands) if a is not None)
        raise NotCheckable(
            f"fn raised {y.describe()}\nwhen called on NumPy object arrays of SymPy "
            f"symbols ({shapes}; {spec.layout}{', batched' if batched else ''}). If fn only runs "
            f"on floats (torch, scipy, compiled kernels, float allocations), use mode='probe' to "
            f"verify it by exact probing.") from y.error
    try:
        y = np.asarray(y, dtype=object)
    except Exception as error:
        raise NotCheckable(f"fn returned {type(y).__name__} on symbols, which is not an array: "
                           f"{type(error).__name__}: {error}") from error
    _refuse_non_symbolic(y)
    return y


def _refuse_non_symbolic(y: np.ndarray) -> None:
    """NotCheckable unless every output is a SymPy expression or an integer (an output fn never
    wrote, e.g. 0 from ``np.zeros(..., dtype=object)``): floats, None or other objects returned on
    symbols mean fn did not compute with them."""
    for index, value in np.ndenumerate(y):
        if isinstance(value, sp.Expr) or isinstance(value, numbers.Integral) and not isinstance(value, bool):
            continue
        where = f"y[{','.join(map(str, index))}]" if y.ndim else "y"
        raise NotCheckable(f"fn returned {where} = {value!r} ({type(value).__name__}) when called on NumPy "
                           f"object arrays of SymPy symbols: a convolution's outputs are polynomials in "
                           f"x, w, b, so fn did not compute with the symbols. If fn only runs on floats, "
                           f"use mode='probe' to verify it by exact probing.")


# ---- probe mode ------------------------------------------------------------------------------
class _Prober:
    """Calls a float-only fn on float64 arrays, checking every output is a real array of exact
    integers, within the deadline."""

    def __init__(self, fn: Callable[..., Any], spec: ConvSpec, batched: bool, limit: Deadline,
                 planned: int) -> None:
        self.fn, self.spec, self.batched = fn, spec, batched
        self.limit, self.planned = limit, planned
        self.calls = 0
        limit.progress = self.progress
        self.shape: tuple[int, ...] | None = None

    def __call__(self, xs: np.ndarray, w: np.ndarray, b: np.ndarray | None, what: str,
                 integral: bool = True) -> np.ndarray:
        """fn on each sample of xs (n, *input_shape) → (n, ∏ output) float64 (on copies, so an
        fn that writes into its arguments cannot corrupt later probes). ``what`` names the probe
        input in errors; ``integral`` demands integer outputs (integer inputs)."""
        if self.batched:
            ys = self._call(xs, w, b, what)
            if ys.ndim == 0 or ys.shape[0] != len(xs):
                raise AssertionError(f"fn was declared batched but returned shape {ys.shape} "
                                     f"for a batch of {len(xs)} samples")
            self._output_shape(ys[0])
        else:
            ys = np.stack([self._output_shape(self._call(x, w, b, f"{what}; sample {k} of {len(xs)}"))
                           for k, x in enumerate(xs)])
        bad = ys != np.round(ys)
        if integral and bad.any():
            n, *index = np.argwhere(bad)[0]
            raise NotCheckable(
                f"fn returned y[{','.join(map(str, index))}] = {float(ys[(n, *index)])!r} on inputs of "
                f"small integers (0/1 for probing), where a convolution gives an exact integer: fn "
                f"rounds (FFT-based, reduced precision?), so probing cannot verify it exactly")
        return ys.reshape(len(xs), -1)

    def progress(self) -> str:
        return (f"probing did not finish within deadline={self.limit.seconds!r} s: {self.calls} of "
                f"{self.planned} calls of fn made in {self.limit.elapsed():.1f} s")

    def _output_shape(self, y: np.ndarray) -> np.ndarray:
        if self.shape is None:
            self.shape = y.shape
        elif y.shape != self.shape:
            raise AssertionError(f"fn returned outputs of shape {y.shape} and {self.shape} "
                                 f"for inputs of the same shape")
        return y

    def _call(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, what: str) -> np.ndarray:
        """One call of fn on copies of the arrays, its output checked to be real and finite."""
        self.limit.check()
        self.calls += 1
        y = _call_fn(self.fn, self.limit, x, w, b)
        if isinstance(y, _Raised):
            raise _RaisedOnProbe(f"fn raised {y.error!r} on the probe input ({what}): float64 arrays x "
                               f"{x.shape}, w {w.shape}, b {None if b is None else b.shape}") from y.error
        return _real_output(y, what)


def _real_output(y: Any, what: str) -> np.ndarray:
    """fn's output as a float64 array, or NotCheckable naming what fn returned: None, a complex,
    bool, str or object array, NaN or an infinity. A torch tensor is detached first."""
    on = f"on the probe input ({what})"
    if y is None:
        raise NotCheckable(f"fn returned None {on}; it must return the output array y")
    try:
        if type(y).__module__.split(".")[0] == "torch" and hasattr(y, "detach"):
            y = y.detach().cpu()   # a tensor that requires grad cannot become a NumPy array as it is
            y = y.double() if y.is_floating_point() else y   # NumPy has no bfloat16
        array = np.asarray(y)
    except Exception as error:
        raise NotCheckable(f"fn returned {type(y).__name__} {on}, which is not an array: "
                           f"{type(error).__name__}: {error}") from error
    if array.dtype.kind == "c":
        raise NotCheckable(f"fn returned a complex output (dtype {array.dtype}, largest |imaginary part| "
                           f"{float(np.abs(array.imag).max(initial=0)):g}) {on}: a real convolution layer "
                           f"has real outputs, and probing does not drop an imaginary part")
    if array.dtype.kind not in "iuf":
        raise NotCheckable(f"fn returned {type(y).__name__} of dtype {array.dtype} {on}: not real "
                           f"numbers (bool, str, object and complex outputs are refused)")
    array = array.astype(np.float64)
    for test, name in ((np.isnan, "not a number"), (np.isinf, "infinite")):
        bad = test(array)
        if bad.any():
            index = ",".join(map(str, np.argwhere(bad)[0]))
            raise NotCheckable(f"fn returned y[{index}] = {float(array[bad][0])!r} ({name}) {on}: a "
                               f"convolution of finite inputs is finite")
    return array


def _probe(fn: Callable[..., Any], spec: ConvSpec, operands: tuple, batched: bool,
           limit: Deadline) -> tuple[np.ndarray, int, _Prober]:
    """Recover y = c + L_x x + L_w w + L_b b + B(w, x) exactly as a polynomial in the symbols.

    Each probe sends the zero input followed by every one-hot input, so fn is called
    (1 + |x|)·(1 + |w|) + |b| times (1 + |w| + |b| with ``batched``), then PROBE_TRIALS times on
    random integer inputs that must satisfy the recovered map exactly; all within ``limit``.
    """
    __tracebackhide__ = True
    nx, nw = prod(spec.input_shape), prod(spec.weight_shape)
    nb = spec.out_channels if spec.bias else 0
    planned = (1 + nw + nb if batched else (1 + nx) * (1 + nw) + nb) + PROBE_TRIALS
    run = _Prober(fn, spec, batched, limit, planned)
    zero_x = np.zeros((1, *spec.input_shape))
    xs = np.concatenate([zero_x, np.eye(nx).reshape(nx, *spec.input_shape)])  # 0, e_1, …, e_|x|
    ws = np.eye(nw).reshape(nw, *spec.weight_shape)
    zero_b = np.zeros(spec.out_channels) if spec.bias else None
    first = run(xs, np.zeros(spec.weight_shape), zero_b, "x zero and one-hot, w = 0, b = 0")
    const, lin_x = first[0], first[1:] - first[0]
    lin_b = (np.concatenate([run(zero_x, np.zeros(spec.weight_shape), bo, f"x = 0, w = 0, b one-hot at {o}")
                             for o, bo in enumerate(np.eye(spec.out_channels))]) - const
             if spec.bias else np.zeros((0, len(const))))
    lin_w = np.zeros((nw, len(const)))
    pairs = []  # (i, j, out, coefficient) of B(w, x)
    for i, wi in enumerate(ws):
        response = run(xs, wi, zero_b, f"x zero and one-hot, w one-hot at flat index {i}, b = 0") - const
        lin_w[i] = response[0]
        coefficients = response[1:] - lin_x - lin_w[i]
        j, out = np.nonzero(coefficients)
        pairs.append(np.stack([np.full_like(j, i), j, out, coefficients[j, out].astype(np.int64)]))
    i, j, out, coefficient = np.concatenate(pairs, axis=1) if pairs else np.zeros((4, 0), np.int64)
    _check_bilinear(run, spec, const, lin_x, lin_w, lin_b, (i, j, out, coefficient))

    x, w, b = (np.ravel(a) if a is not None else np.zeros(0, dtype=object) for a in operands)
    terms: list[list[sp.Expr]] = [[sp.Integer(int(c))] if c else [] for c in const]
    for variables, linear in ((x, lin_x), (w, lin_w), (b, lin_b)):
        for v, o in zip(*np.nonzero(linear)):
            terms[o].append(int(linear[v, o]) * variables[v])
    for ii, jj, oo, cc in zip(i, j, out, coefficient):
        terms[oo].append(int(cc) * w[ii] * x[jj])
    y = np.empty(len(terms), dtype=object)
    y[:] = [sp.Add(*t) for t in terms]
    return y.reshape(run.shape), run.calls, run


def _check_bilinear(run: _Prober, spec: ConvSpec, const, lin_x, lin_w, lin_b, bilinear) -> None:
    """fn must agree exactly with the probed map on random small-integer inputs (seed 0)."""
    __tracebackhide__ = True
    i, j, out, coefficient = bilinear
    rng = np.random.default_rng(0)
    draw = lambda shape: rng.integers(-PROBE_RANGE, PROBE_RANGE + 1, size=shape)  # noqa: E731
    for _ in range(PROBE_TRIALS):
        xs = draw((2 if run.batched else 1, *spec.input_shape))
        w, b = draw(spec.weight_shape), draw(spec.out_channels) if spec.bias else None
        obtained = run(xs.astype(np.float64), w.astype(np.float64),
                       None if b is None else b.astype(np.float64),
                       f"random integers in [{-PROBE_RANGE}, {PROBE_RANGE}], seed 0")
        for x, y in zip(xs, obtained):
            predicted = (const + x.ravel() @ lin_x + w.ravel() @ lin_w
                         + (b @ lin_b if b is not None else 0)).astype(np.int64)
            np.add.at(predicted, out, coefficient * w.ravel()[i] * x.ravel()[j])
            if not np.array_equal(predicted, y):
                k = int(np.nonzero(predicted != y)[0][0])
                index = ",".join(map(str, np.unravel_index(k, run.shape)))
                raise AssertionError(
                    f"fn is not a convolution layer: it is not bilinear in (x, w) plus a linear "
                    f"bias. On random integer inputs (seed 0) fn gives y[{index}] = {y[k]:g}, but "
                    f"the map read off by one-hot probing predicts {predicted[k]} (fn may be "
                    f"nonlinear, stateful or random)")


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
    every partial sum, in any order, is exact in the dtype. A ``pattern`` other than "uniform"
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


def _exact_plan(spec: ConvSpec) -> list[_Trial]:
    """The random exact trials for ``spec`` (see ``_Trial`` for the exactness budget): balanced
    dyadic fractions up to ±2^5; full-precision x (about 40 bits, 20 of them fractional, up to
    ±2^20) with narrow w, and the reverse; integers up to ±2^20; values exact in float32 passed
    as float32 arrays (omitted when the kernel is too large for any); the value patterns of
    ``PATTERNS`` (small integers that make windows sum to 0, whole regions zero or of one sign);
    int64 arrays, a uint8 image with dyadic w, int32 arrays (when the kernel leaves room); and
    non-contiguous views of balanced fractions. Batched, two of them send EXACT_BATCH samples.

    >>> [(t.ax, t.fx, t.aw, t.fw) for t in _exact_plan(ConvSpec(3, 4, kernel_size=3, input_size=(8, 8)))][:5]
    [(20, 15, 20, 15), (40, 20, 8, 4), (8, 4, 40, 20), (20, 0, 20, 0), (9, 6, 9, 6)]
    >>> [t.name for t in _exact_plan(ConvSpec(3, 4, kernel_size=3, input_size=(8, 8)))][5:]  # doctest: +NORMALIZE_WHITESPACE
    ['values in {−1, 0, 1}', 'windows summing to exactly 0 (x = differences of a sparse v along
     the last axis, so ± entries cancel)', 'a whole zero region beside non-zero values',
     'all x < 0', 'x ≤ 0 in one region and ≥ 0 in the other, w ≤ 0', 'int64 arrays',
     'uint8 image, dyadic w', 'int32 arrays', 'non-contiguous views (Fortran order, negative strides)']
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
    return plan


def _draw(rng: np.random.Generator, spec: ConvSpec, trial: _Trial, n: int) -> tuple:
    """The integer numerators X (n, *input_shape), W, B (or None) of one trial."""
    if trial.pattern != "uniform":
        return _patterned(rng, spec, trial.pattern, n)
    X = (rng.integers(0, 2 ** trial.ax, size=(n, *spec.input_shape)) if trial.unsigned
         else _numerators(rng, (n, *spec.input_shape), trial.ax, trial.fx))
    W = _numerators(rng, spec.weight_shape, trial.aw, trial.fw)
    B = _numerators(rng, (spec.out_channels,), trial.ax + trial.aw, trial.fx + trial.fw) if spec.bias else None
    return X, W, B


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
    and two random ones. An fn on symbols that fails on floats gets the same values as SymPy
    Rationals; an fn that raises in probe mode on integer arrays or non-contiguous views skips
    that trial (refusing them is no wrong answer). Returns the number of calls of fn; AssertionError at the first
    differing output."""
    __tracebackhide__ = True
    rng = np.random.default_rng(seed)
    cost = prod(spec.output_shape) * spec.in_per_group * prod(spec.kernel_size)
    calls = 0
    for trial in _exact_plan(spec):
        n = trial.samples if batched else 1
        X, W, B = _draw(rng, spec, trial, n)
        x = (X / 2.0 ** trial.fx if trial.fx else X).astype(trial.x_dtype or trial.dtype)
        w = (W / 2.0 ** trial.fw if trial.fw else W).astype(trial.dtype)
        b = None if B is None else (B / 2.0 ** (trial.fx + trial.fw) if trial.fx + trial.fw else B).astype(trial.dtype)
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
        checked = range(n) if n * cost <= EXACT_REFERENCE_TERMS else sorted(
            {n - 1, *rng.choice(n - 1, size=min(2, n - 1), replace=False).tolist()})
        Wo, Bo = W.astype(object), None if B is None else B.astype(object)
        for k in checked:
            reference = conv(spec, X[k].astype(object), Wo, Bo)
            _compare_exact(spec, mode, ys[k], reference, 2 ** (trial.fx + trial.fw), what, k)
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


def _compare_exact(spec: ConvSpec, mode: str, y: np.ndarray, reference: np.ndarray, scale: int,
                   what: str, sample: int) -> None:
    """AssertionError unless fn's output y equals reference/scale (integers) entry by entry exactly."""
    __tracebackhide__ = True
    if y.shape != spec.output_shape:
        raise AssertionError(f"{_header(spec, mode)}: fn returned shape {y.shape} on a random exact "
                             f"input ({what}), the output shape is {spec.output_shape}")
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


# ---- failure reports -------------------------------------------------------------------------
def _header(spec: ConvSpec, mode: str) -> str:
    how = " (found by exact probing)" if mode == "probe" else ""
    return f"fn does not compute the convolution [{spec.describe()}, {spec.layout}]{how}"


def _shape_message(spec: ConvSpec, y: np.ndarray, mode: str) -> str:
    names = "(*output_size, C_out)" if spec.layout == "NHWC" else "(C_out, *output_size)"
    return (f"{_header(spec, mode)}: fn returned shape {y.shape}, the output shape is "
            f"{spec.output_shape} = {names}.")


def _user_index(spec: ConvSpec, index: tuple[int, ...]) -> tuple[int, ...]:
    """A canonical (o, *out) index in the user's layout."""
    return (*index[1:], index[0]) if spec.layout == "NHWC" else index


def _factors(term: sp.Expr) -> tuple[sp.Number, list[sp.Expr]]:
    """The coefficient and the factors of a monomial, in numeric symbol order (b, w, x)."""
    coefficient, rest = term.as_coeff_Mul()
    return coefficient, sorted(sp.Mul.make_args(rest), key=lambda f: entry_key(f.as_base_exp()[0]))


def _term(term: sp.Expr) -> str:
    """w_{0,1,2,2}·x_{1,3,2}: factors in numeric symbol order, joined by a centred dot."""
    coefficient, factors = _factors(term)
    text = "·".join(str(f) for f in factors if f != 1)
    if not text:
        return str(coefficient)
    return text if coefficient == 1 else f"{coefficient}·{text}"


def _term_key(term: sp.Expr) -> list[tuple[str, tuple[int, ...]]]:
    """Sort monomials by their factors' numeric names: constants, b, then w·x by index."""
    return [entry_key(f) for f in _factors(term)[1] if f != 1]


def _terms(terms: tuple[sp.Expr, ...]) -> str:
    shown = ", ".join(_term(t) for t in sorted(terms, key=_term_key)[:SHOWN_TERMS])
    return shown + (f" and {len(terms) - SHOWN_TERMS} more" if len(terms) > SHOWN_TERMS else "")


def _describe_difference(spec: ConvSpec, found: Counterexample) -> str:
    name = "y[" + ",".join(map(str, _user_index(spec, found.index))) + "]"
    if found.missing and found.extra:
        return f"{name} lacks {_terms(found.missing)}; has {_terms(found.extra)} instead"
    if found.missing:
        return f"{name} lacks {_terms(found.missing)}"
    return f"{name} has the extra terms {_terms(found.extra)}"


def _difference_message(spec: ConvSpec, y: np.ndarray, mode: str, on: str = "") -> str:
    x, w, b = symbols(spec)
    expected = to_canonical_output(spec, conv(spec, x, w, b))
    obtained = to_canonical_output(spec, y)
    found = [c for index in cartesian(*(range(n) for n in expected.shape))
             if (c := counterexample_of("fn", index, expected[index], obtained[index])) is not None]
    lines = [f"{_header(spec, mode)}: {len(found)} of {expected.size} outputs differ{on}."]
    lines += ["  " + _describe_difference(spec, c) for c in found[:SHOWN_OUTPUTS]]
    if len(found) > SHOWN_OUTPUTS:
        lines.append(f"  ... and {len(found) - SHOWN_OUTPUTS} more differing output(s)")
    return "\n".join(lines)


# ---- diagnosis: alternative layers that reproduce fn's output exactly ------------------------
def _diagnosis(spec: ConvSpec, y: np.ndarray, operands: tuple) -> str:
    """Alternative layers that reproduce fn's output exactly: single faults first, then the
    kernel flip combined with each other fault (e.g. scipy's convolve2d 'same' on even kernels)."""
    x, w, b = operands
    canonical = replace(spec, layout="NCHW")
    xc, wc = to_canonical_input(spec, x), to_canonical_weight(spec, w)
    obtained = to_canonical_output(spec, y) if y.ndim == spec.dims + 1 else y
    flat = [sp.expand(v) for v in obtained.flat]
    singles = list(_alternatives(canonical, wc))
    flip_cause, flip_spec, _ = singles[0]
    combined = [(f"{flip_cause}; and {cause}", replace(alternative, convention=flip_spec.convention),
                 weight) for cause, alternative, weight in singles[1:]]
    for candidates in (singles, combined):
        causes = [cause for cause, alternative, weight in candidates
                  if _reproduces(alternative, xc, weight, b, obtained.shape, flat)]
        if causes:
            return "".join(f"\nDiagnosis: {cause} — that layer reproduces fn's output exactly."
                           for cause in causes)
    return ("\nDiagnosis: none of the recognised faults (kernel flipped, kernel axes transposed, "
            "padding side/amount/mode, stride, dilation, weight channel axes swapped, bias "
            "missing, or the kernel flipped as well as one of these) reproduces fn's output exactly.")


def _reproduces(alternative: ConvSpec, xc, weight, b, shape, flat: list) -> bool:
    if (alternative.out_channels, *alternative.output_size) != shape:
        return False
    y = conv(alternative, xc, weight, b if alternative.bias else None)
    return all(sp.expand(a) == o for a, o in zip(y.flat, flat))


def _alternatives(spec: ConvSpec, w: np.ndarray) -> Iterator[tuple[str, ConvSpec, np.ndarray]]:
    """(cause, alternative NCHW spec, weight it reads) for each recognised fault of ``spec``;
    the first is always the kernel flip (the other convention)."""
    def variant(cause: str, weight: np.ndarray = w, **changes: Any):
        try:
            return [(cause, replace(spec, **changes), weight)]
        except SpecError:  # the fault is impossible for this spec (e.g. kernel larger than input)
            return []

    other = {"cross-correlation": "convolution", "convolution": "cross-correlation"}[spec.convention]
    names = {"convolution": "true convolution", "cross-correlation": "cross-correlation"}
    yield from variant(f"kernel flipped: fn computes {names[other]} (the kernel mirrored on every "
                       f"axis), the spec says {names[spec.convention]}", convention=other)
    for axis in range(spec.dims if spec.dims > 1 else 0):
        yield from variant(f"kernel flipped along spatial axis {axis} only",
                           np.flip(w, axis=2 + axis))
    spatial = tuple(range(spec.dims))
    for order in permutations(spatial):
        if order != spatial:
            yield from variant(
                f"kernel axes transposed: fn reads the kernel's spatial axes in the order {order}",
                w.transpose(0, 1, *(2 + a for a in order)),
                kernel_size=tuple(spec.kernel_size[a] for a in order))
    if spec.groups == 1 and spec.in_channels == spec.out_channels > 1:
        yield from variant("channels swapped: fn reads the weight as w[c, o] (input and output "
                           "channel axes exchanged)", w.swapaxes(0, 1))
    yield from _padding_alternatives(spec, variant)
    for name in ("stride", "dilation"):
        current = getattr(spec, name)
        values = sorted({1, 2, 3} | {v + step for v in current for step in (-1, 1)} - {0})
        options = {(v,) * spec.dims for v in values} | {current[::-1]}
        for option in sorted(options - {current}):
            yield from variant(f"{name} off: fn uses {name}={option}, the spec says {current}",
                               **{name: option})
    if spec.bias:
        yield from variant("bias not added", bias=False)


def _padding_alternatives(spec: ConvSpec, variant) -> Iterator[tuple[str, ConvSpec, np.ndarray]]:
    pads = spec.padding
    said = f"the spec pads {pads} (before, after) per axis"
    side = "padding on the wrong side"
    mirrored = tuple((after, before) for before, after in pads)
    options = {mirrored: f"{side}: fn pads {mirrored}, mirrored; {said}"}
    for axis, (before, after) in enumerate(pads):
        if before != after and spec.dims > 1:
            one = tuple(p[::-1] if a == axis else p for a, p in enumerate(pads))
            options.setdefault(one, f"{side} on spatial axis {axis}: fn pads {one}; {said}")
    for where, pick in (("before", lambda t: (t, 0)), ("after", lambda t: (0, t))):
        moved = tuple(pick(before + after) for before, after in pads)
        options.setdefault(moved, f"{side}: fn pads everything {where} ({moved}); {said}")
    options.setdefault(((0, 0),) * spec.dims, f"padding missing: fn does not pad; {said}")
    for step in (-1, 1):
        shifted = tuple((before + step, after + step) for before, after in pads)
        if min(min(p) for p in shifted) >= 0:
            options.setdefault(shifted, f"padding off by {step:+d}: fn pads {shifted}; {said}")
    for padding, cause in options.items():
        if padding != pads:
            yield from variant(cause, padding=padding)
    if any(p != (0, 0) for p in pads):
        for mode in PADDING_MODES:
            if mode != spec.padding_mode:
                yield from variant(f"padding mode: fn pads with {mode!r} values, the spec says "
                                   f"{spec.padding_mode!r}", padding_mode=mode)
