"""``assert_conv_equivalent``: the check of fn in one call, its arguments validated, its size and
time bounded."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from math import prod
from typing import Any, TypeVar

from ..deadline import Deadline, DeadlineDisarmed, DeadlineExceeded
from ..errors import SpecError, boolean, integer, one_of, seconds
from ..spec import LAYOUTS, ConvSpec, check_spec
from ..symbols import symbols
from .diagnosis import _diagnosis
from .fastpath import path_of, proof_of
from .pitcheck import _check_by_identity
from .probe import _probe, _Prober
from .reports import _difference_message, _shape_message
from .results import ESTABLISHED, MODES, CheckResult, NotCheckable
from .symbolic import _run_on_symbols
from .tolerance import _check_within_tolerance, check_tolerances
from .trials import EXACT_BATCH, _exact_trials

T = TypeVar("T")
PROBE_DEADLINE = 300.0   # seconds a check may take by default


MAX_TERMS = 5_000_000    # symbolic mode: products w·x a check may build
PROBE_MEMORY = 2**30     # probe mode: bytes of one-hot inputs and responses a check may hold


def assert_conv_equivalent(fn: Callable[..., Any], spec: ConvSpec, layout: str | None = None,
                           mode: str = "symbolic", *, batched: bool = False,
                           deadline: float = PROBE_DEADLINE, seed: int | None = None,
                           exhaustive: bool = False, rtol: float | None = None,
                           atol: float | None = None) -> CheckResult:
    """Assert that ``fn(x, w, b)`` computes the convolution layer ``spec``; return what was established.

    Arrays follow ``layout``: "NCHW" — x (C_in, *in), w (C_out, C_in/groups, *k), y (C_out, *out);
    "NHWC" — x (*in, C_in), w (*k, C_in/groups, C_out) (HWIO), y (*out, C_out); b is (C_out,) or
    None (``spec.bias``). ``layout=None`` uses ``spec.layout``; an explicit ``layout`` wins over
    ``spec.layout``. With ``batched=True`` fn takes x with a leading sample axis and returns y
    with one (probing then sends all one-hot inputs in one call). ``deadline`` (seconds, default
    PROBE_DEADLINE) bounds the whole check: past it a NotCheckable, never "verified" (SIGALRM
    interrupts a call of fn in the main thread; elsewhere it is checked between calls). ``seed``
    draws the random points and the random exact trials; None (default) draws a fresh one per
    check, which a failure message names so that ``seed=`` repeats it. Probe mode verifies by
    randomized identity testing (``symconv.testing.pit``: a false pass has probability ≤ 2^-64
    if fn is bilinear); ``exhaustive=True`` reads every coefficient by one-hot probing instead
    (O(|w|·|x|) work). ``rtol``/``atol`` (probe mode; None, the default, checks exactly) check
    code that rounds within ``torch.testing.assert_close``'s |y − conv| ≤ atol + rtol·|conv| at
    random points (``symconv.testing.tolerance``: a weaker claim, stated in the result).

    >>> import numpy as np, symconv
    >>> spec = symconv.ConvSpec(1, 1, kernel_size=3, input_size=6, bias=False)
    >>> result = assert_conv_equivalent(lambda x, w, b: np.correlate(x[0], w[0, 0])[None], spec)
    >>> print(result)  # doctest: +ELLIPSIS
    proved: fn computes the convolution [1-D, ...; 4 outputs, 12 terms, 1 call(s) of fn, ... s]
    >>> assert_conv_equivalent(lambda x, w, b: np.convolve(x[0], w[0, 0], "valid")[None], spec)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    AssertionError: fn does not compute the convolution [1-D, C_in=1, ..., no bias, NCHW]: 4 of 4 outputs differ.
      y[0,0] lacks w_{0,0,0}·x_{0,0}, w_{0,0,2}·x_{0,2}; has w_{0,0,0}·x_{0,2}, w_{0,0,2}·x_{0,0} instead
    ...
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this module's
    spec = _with_layout(spec, layout)
    one_of("mode", mode, MODES)
    batched = boolean("batched", batched)   # "yes" or 1 is no flag (the conv_check fixture comes here too)
    seconds("deadline", deadline)
    exhaustive, tolerances = probe_options(mode, exhaustive, rtol, atol)
    _refuse_too_large(spec, "exhaustive" if mode == "probe" and exhaustive else mode)
    seed = _check_seed(seed)

    def check(limit: Deadline) -> CheckResult:
        __tracebackhide__ = True
        if tolerances is not None:
            return _check_tolerance(fn, spec, batched, limit, seed, tolerances)
        if mode == "probe" and not exhaustive:
            return _check_probe(fn, spec, batched, limit, seed)
        return _check(fn, spec, mode, batched, limit, seed)
    return under_deadline(deadline, "fn", check)


def probe_options(mode: str, exhaustive: Any, rtol: Any, atol: Any) -> tuple[bool, tuple[float, float] | None]:
    """``exhaustive`` and the tolerances (``check_tolerances``) validated against ``mode``: both
    apply to probe mode only, and not together (every checker of code takes them so)."""
    if boolean("exhaustive", exhaustive) and mode != "probe":
        raise SpecError("exhaustive", exhaustive, f"applies to mode='probe' only (mode={mode!r})")
    tolerances = check_tolerances(rtol, atol)
    if tolerances is not None and (mode != "probe" or exhaustive):
        raise SpecError("rtol" if rtol is not None else "atol", rtol if rtol is not None else atol,
                        "a tolerance applies to mode='probe' without exhaustive=True only")
    return bool(exhaustive), tolerances


def under_deadline(deadline: float, caller: str, check: Callable[[Deadline], T]) -> T:
    """``check(limit)`` within ``deadline`` seconds; a deadline that passes or that ``caller``
    disarms is a NotCheckable, never "verified" (every checker of code runs through here)."""
    __tracebackhide__ = True
    limit = Deadline(deadline)
    limit.progress = lambda: f"the check did not finish within deadline={deadline!r} s"
    try:
        with limit:
            return check(limit)
    except DeadlineExceeded:
        raise NotCheckable(f"{limit.progress()}, so nothing was verified ({caller} hangs or is slow?); pass "
                           f"a larger deadline= (seconds), use batched=True, or check a smaller layer") from None
    except DeadlineDisarmed as error:
        raise NotCheckable(f"{caller} disarmed the deadline: {error} (it must leave SIGALRM and the real-time "
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
            raise AssertionError(_shape_message(spec, y.shape, mode) + on + _diagnosis(spec, y, (x, w, b)))
        proof = proof_of(spec, y)
        if not proof.holds:
            raise AssertionError(_difference_message(spec, y, mode, on) + _diagnosis(spec, y, (x, w, b)))
    cross_checks = len(runs) - 1 if mode == "symbolic" and not batched else 0   # the fresh symbols
    cross_checks += _exact_trials(fn, spec, mode, batched, limit, prober, seed)
    return CheckResult(spec=spec, mode=mode, established=ESTABLISHED["exhaustive" if prober else mode],
                       outputs=proof.outputs, terms=proof.terms, calls=calls, seconds=limit.elapsed(),
                       cross_checks=cross_checks, path=path_of(runs) if mode == "symbolic" else "")


def _check_probe(fn: Callable[..., Any], spec: ConvSpec, batched: bool, limit: Deadline, seed: int) -> CheckResult:
    """Probe mode: randomized identity testing, then the random exact trials."""
    __tracebackhide__ = True
    outcome = _check_by_identity(fn, spec, batched, limit, seed, PROBE_MEMORY)
    prober = _Prober(fn, spec, batched, limit, planned=0)
    cross_checks = _exact_trials(fn, spec, "probe", batched, limit, prober, seed)
    return CheckResult(spec=spec, mode="probe", established=ESTABLISHED["probe"],
                       outputs=prod(spec.output_shape), terms=spec.n_terms + spec.n_bias_terms,
                       calls=outcome.run.calls, seconds=limit.elapsed(), cross_checks=cross_checks,
                       false_pass_bound=Fraction(1, 2 ** outcome.plan.exponent))


def _check_tolerance(fn: Callable[..., Any], spec: ConvSpec, batched: bool, limit: Deadline, seed: int,
                     tolerances: tuple[float, float]) -> CheckResult:
    __tracebackhide__ = True
    calls, established = _check_within_tolerance(fn, spec, batched, limit, seed, tolerances)
    return CheckResult(spec=spec, mode="probe", established=established, outputs=prod(spec.output_shape),
                       terms=spec.n_terms + spec.n_bias_terms, calls=calls, seconds=limit.elapsed())


def _refuse_too_large(spec: ConvSpec, mode: str) -> None:
    """SpecError before anything is built when the check would not fit: symbolic mode builds
    C_out·∏out·(C_in/groups)·∏k products w·x; probing holds (1 + |x|)·(|x| + 2·|y|) float64s."""
    nx, ny = prod(spec.input_shape), prod(spec.output_shape)
    if mode == "probe":   # the identity test holds a batch of inputs, outputs and their pattern tables
        needed = 8 * EXACT_BATCH * 4 * (nx + ny) + 8 * prod(spec.output_size) * prod(spec.kernel_size)
        if needed > PROBE_MEMORY:
            raise SpecError("spec", spec.describe(), f"probing holds about {needed / 2**30:.2f} GiB of inputs, "
                            f"outputs and index tables ({EXACT_BATCH} samples of {nx} inputs and {ny} outputs), "
                            f"more than PROBE_MEMORY={PROBE_MEMORY / 2**30:g} GiB; probe a smaller layer")
        return
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


def _check_seed(seed: Any) -> int:
    """The seed of the random exact trials: ``seed``, or a fresh one when None."""
    if seed is None:
        return secrets.randbits(63)
    return integer("seed", seed, minimum=0, note="or None for a fresh one")


def _with_layout(spec: ConvSpec, layout: str | None) -> ConvSpec:
    spec = check_spec(spec)
    if layout is None or layout == spec.layout:
        return spec
    return replace(spec, layout=one_of("layout", layout, LAYOUTS, note="or None for spec.layout"))
