"""Tolerance mode of the transposed and gradient checks: fn at the points of
``symconv.testing.tolerance`` (dyadic values in [−1, 1), then scaled by 2^±8, 2^±24), every entry
of every output (y; or grad_x, grad_w, grad_b, the last two summed over a batch) within
``torch.testing.assert_close``'s |out − exact| ≤ atol + rtol·|exact| of the map's exact value.

Scaling every operand by 2^s (a transposed convolution's b by 2^2s) scales y, ∂L/∂x and ∂L/∂w by
2^2s (sums of products g·w, w·g, x·g) and ∂L/∂b = Σ g by 2^s (``Operand.degree``); fn's output is
divided by that, exactly. On failure (``tolerance_failure``) the message names the entries outside
the tolerance with fn's and the map's values, then fn's polynomial where encoded probes can read
it (``adjoint_recovery``, few entries per call for a narrow dtype, every output rounded to the
nearest integer where that is within the tolerance: exact for code that rounds only beyond the
small integers of the probes) with the terms the entries lack and have instead and the fault;
where that takes too many calls (real layer sizes) the terms of the first entries outside the
tolerance, read by probing their receptive fields (``adjoint_fieldreport``); and the recognised
faults whose exact output is within the tolerance of fn's at the point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .adjoint_calls import Caller
from .adjoint_fieldreport import explain_entries, point_at
from .adjoint_maps import Arrays
from .adjoint_probe import RECOVERY_SECONDS, AdjointCheckResult, result
from .adjoint_recovery import RECOVERY_CALLS, block_for, recover, recovery_calls
from .adjoint_reports import diagnosis, explain, header, shape_message
from .adjoint_targets import adjoint_target
from .fieldprobe import Closeness
from .pit import SIGNIFICAND, _Caller, _narrowest, _ShapeMismatch
from .reports import SHOWN_OUTPUTS
from .tolerance import TolerancePoint, check_points, within

DIAGNOSIS_TERMS = 2_000_000   # products the faults may evaluate (Python integers) when fn's terms are not read


def check_within_tolerance(run: Caller, seed: int, tolerances: tuple[float, float]) -> AdjointCheckResult:
    """One call on ones (what fn returns), then the points; AssertionError with ``tolerance_failure``."""
    __tracebackhide__ = True
    m = run.m
    run.one_sample({n: None if s is None else np.ones(s) for n, s in m.operand_shapes().items()},
                   "all operands 1: what fn returns")
    points = _Caller(run.fn, adjoint_target(m), run.batched, run.limit, integral=False)
    try:
        established = check_points(points, seed, tolerances, lambda point, _: tolerance_failure(
            run, point, seed, tolerances, points.seconds_per_call, _narrowest(points.dtypes)))
    except _ShapeMismatch as mismatch:   # shapes that change with the values
        raise AssertionError(shape_message(m, run.caller, mismatch.name, mismatch.shape, mismatch.expected)) from None
    finally:
        run.calls += points.calls
    outputs = ", ".join(name for name, shape in m.output_shapes().items() if shape is not None)
    established += (f" (|out − exact| ≤ atol + rtol·|exact| for every entry of {outputs}, at a scaled point both "
                    f"divided by the scale to the output's degree), assuming fn's error does not depend on where "
                    f"the inputs are")
    return replace(result(m, "probe", run.calls, run), established=established)


def tolerance_failure(run: Caller, point: TolerancePoint, seed: int, tolerances: tuple[float, float],
                      seconds_per_call: float, dtype: str) -> str:
    """The message of a point outside the tolerance (module docstring); ``dtype`` is the one fn returns."""
    m, (rtol, atol) = run.m, tolerances
    outside = {name: ~good for name, good in zip(m.outputs, point.good) if good is not None and not good.all()}
    counts = "; ".join(f"{name}: {int(bad.sum())} of {bad.size} entries" for name, bad in outside.items())
    lines = [f"{header(m, run.caller, ' (found by checking within tolerance)')}: {counts} not within rtol={rtol!r}, "
             f"atol={atol!r} of {m.name} at random point {point.label} (seed {seed}; seed= repeats it)."]
    for k, name in enumerate(m.outputs):
        if name not in outside:
            continue
        wrong = np.argwhere(outside[name])
        for index in map(tuple, wrong[:SHOWN_OUTPUTS]):
            shown = index[1:] if name in m.per_sample_outputs and not run.batched else index
            lines.append(f"  {name}[{','.join(map(str, shown))}] = {float(point.obtained[k][index])!r}, "  # type: ignore[index]
                         f"{m.name} gives {float(point.expected[k][index])!r}")  # type: ignore[index]
        if len(wrong) > SHOWN_OUTPUTS:
            lines.append(f"  ... and {len(wrong) - SHOWN_OUTPUTS} more entries of {name} outside the tolerance")
    terms = _terms_read(run, seed, tolerances, seconds_per_call, dtype) or _field_terms(run, point, outside, seed,
                                                                                       tolerances)
    faults = "" if "\nDiagnosis: " in terms else _faults_within(run, point, list(outside), tolerances)
    return "\n".join(lines) + terms + faults


def _terms_read(run: Caller, seed: int, tolerances: tuple[float, float], seconds_per_call: float,
                dtype: str) -> str:
    """fn's polynomial, read by encoded probes of its outputs rounded within the tolerance, as the
    terms its entries lack and have instead with the faults; '' when it cannot be read. The probes
    carry as many base-16 digits as fn's output dtype holds, then as float32 does (code that
    returns float64 may compute in float32)."""
    m, caller = run.m, run.caller
    how = " (its outputs rounded to integers within the tolerance)"
    for block in dict.fromkeys((block_for(SIGNIFICAND.get(dtype, 53)), block_for(SIGNIFICAND["float32"]))):
        budget = min(RECOVERY_SECONDS, (run.limit.seconds - run.limit.elapsed()) / 2)
        if recovery_calls(m, block) > RECOVERY_CALLS or recovery_calls(m, block) * seconds_per_call > budget:
            return ""
        try:
            recovered = recover(_rounded(run.one_sample, *tolerances), m, seed, block)
        except (AssertionError, TypeError) as error:   # fn failed on a probe (NotCheckable is a TypeError)
            return f"\n(fn's terms were not read off: {caller} failed on a probe: {str(error).splitlines()[0]})"
        if recovered is not None:
            break
    if recovered is None:
        return ""
    explained = explain(m, caller, m.symbols(), recovered, how)
    read = f"{caller}'s polynomial, read off by encoded probes{how}"
    if not explained:
        return (f"\n{read}, is {m.name}: the difference at the random point is {caller}'s rounding error, beyond "
                f"the tolerance, or {caller} treats larger values or the samples of a batch differently.")
    return "\n" + explained.replace(header(m, caller, how), f"{read}, differs", 1)


def _field_terms(run: Caller, point: TolerancePoint, outside: dict[str, np.ndarray], seed: int,
                 tolerances: tuple[float, float]) -> str:
    """Where fn's whole polynomial cannot be read (too many calls, or fn not of its form): the
    terms of the first entries outside the tolerance, read by probing their receptive fields
    (``adjoint_fieldreport``) with coefficients rounded within the tolerance, as float32 carries
    them (code that rounds may compute in float32 whatever it returns)."""
    m = run.m
    at = point_at(m, point.values, dict(zip(m.outputs, point.obtained)), outside, point.exponents())
    return explain_entries(run.fn, m, run.batched, run.limit, at, Closeness(*tolerances), SIGNIFICAND["float32"], seed)


def _rounded(evaluate: Callable[[Arrays, str], Arrays], rtol: float, atol: float) -> Callable[[Arrays, str], Arrays]:
    """``evaluate`` with every output rounded to the nearest integer where that is within the tolerance."""
    def rounded(values: Arrays, what: str) -> Arrays:
        out = evaluate(values, what)
        return {name: None if y is None else np.where(within(y, np.round(y), rtol, atol), np.round(y), y)
                for name, y in out.items()}
    return rounded


def _faults_within(run: Caller, point: TolerancePoint, wrong: list[str], tolerances: tuple[float, float]) -> str:
    """The recognised faults whose exact outputs at the point are within the tolerance of fn's, for
    layers of at most DIAGNOSIS_TERMS products (evaluated on the integer numerators)."""
    m, (rtol, atol) = run.m, tolerances
    samples = len(point.values[sorted(m.batched_operands)[0]])   # type: ignore[arg-type]
    if m.terms(samples) > DIAGNOSIS_TERMS:
        return ""
    operands = {name: None if v is None else v.astype(object) for name, v in point.values.items()}
    if not run.batched:   # the faults take one sample as fn does
        operands = {n: v[0] if v is not None and n in m.batched_operands else v for n, v in operands.items()}
    obtained = {name: None if y is None else (y if run.batched or name not in m.per_sample_outputs else y[0])
                for name, y in zip(m.outputs, point.obtained)}
    degree = {o.name: o.degree for o in adjoint_target(m).outputs}

    def matches(name: str, exact: np.ndarray, output: np.ndarray) -> bool:
        scaled = np.ldexp(exact.astype(np.float64), -degree[name] * point.bits)
        return bool(within(output, scaled, rtol, atol).all())
    return diagnosis(m, operands, obtained, wrong, matches=matches)  # type: ignore[arg-type]
