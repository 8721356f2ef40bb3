"""Probe mode of the transposed and gradient checks: randomized identity testing of fn against
the map's ``Target`` (``symconv.testing.pit``: a false pass has probability ≤ 2^-64 if fn is of
degree ≤ 2 in its operands, with points in a set S chosen for the dtype fn returns, and that
assumption tested along random lines). A failure is explained by fn's polynomial, read off by
encoded probes (``adjoint_recovery``) where they take at most RECOVERY_CALLS calls: the entries
that differ, the terms they lack and have instead, and the fault. Beyond that (real layer sizes),
or where fn is not of the form they read off, the first differing entries of each wrong output
are read by probing their receptive fields only (``adjoint_fieldreport``, within a budget; the
message says when the terms are partial), with fn's and the map's exact values at the random
point and the faults whose exact output there is fn's.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import prod

import numpy as np

from .adjoint_calls import Caller
from .adjoint_fieldreport import explain_entries, point_of
from .adjoint_maps import AdjointMap
from .adjoint_recovery import RECOVERY_CALLS, recover, recovery_calls
from .adjoint_reports import diagnosis, explain, header, shape_message
from .adjoint_targets import adjoint_target
from .pit import SIGNIFICAND, Difference, _ShapeMismatch, identity_test
from .results import ESTABLISHED, CheckResult

DIAGNOSIS_TERMS = 2_000_000   # products a numeric diagnosis may evaluate per fault (Python integers)
RECOVERY_SECONDS = 30.0       # time the probes that read a failing fn's polynomial off may take


@dataclass(frozen=True)
class AdjointCheckResult(CheckResult):
    """What a transposed or gradient check established; ``checked`` names the map
    ("the transposed convolution" or "the backward pass …")."""

    checked: str = ""

    def __str__(self) -> str:
        return (f"{self.established}: fn computes {self.checked} [{self.spec.describe()}; "
                f"{self.outputs} outputs, {self.terms} terms, {self.calls} call(s) of fn, "
                f"{self.cross_checks} cross-check call(s) passed, {self.seconds:.3f} s]")


def result(m: AdjointMap, mode: str, calls: int, run: Caller, bound: Fraction | None = None) -> AdjointCheckResult:
    sizes = [prod(s) for s in m.output_shapes().values() if s is not None]
    return AdjointCheckResult(spec=m.spec, mode=mode, established=ESTABLISHED[mode], outputs=sum(sizes),
                              terms=m.terms(), calls=calls, seconds=run.limit.elapsed(),
                              cross_checks=run.calls - calls, false_pass_bound=bound, checked=m.title)


def check_by_identity(run: Caller, seed: int) -> AdjointCheckResult:
    """One call on ones (what fn returns: the tuple, None where absent, shapes; and that it leaves
    its arguments alone), then the identity test; AssertionError with the explained failure."""
    __tracebackhide__ = True
    m = run.m
    run.one_sample({n: None if s is None else np.ones(s) for n, s in m.operand_shapes().items()},
                   "all operands 1: what fn returns")
    rng = np.random.default_rng([seed, 13])
    try:
        outcome = identity_test(run.fn, adjoint_target(m), run.batched, run.limit, rng, seed)
    except _ShapeMismatch as mismatch:   # shapes that change with the values
        raise AssertionError(shape_message(m, run.caller, mismatch.name, mismatch.shape, mismatch.expected)) from None
    run.calls += outcome.run.calls
    run.dtype = outcome.plan.dtype   # its digits for the diagnosis (the numeric trials are planned for float64)
    if outcome.difference is not None:
        raise AssertionError(_failure(run, outcome.difference, seed, outcome.run.seconds_per_call))
    return result(m, "probe", outcome.run.calls, run, Fraction(1, 2 ** outcome.plan.exponent))


def _failure(run: Caller, found: Difference, seed: int, seconds_per_call: float) -> str:
    """The message of a failed identity test: fn's polynomial read off when its calls fit in
    RECOVERY_SECONDS and half the time the deadline leaves; the terms of the first differing
    entries read by their receptive fields when they are more than RECOVERY_CALLS or fn is not of
    the form read off; else (a slow fn at a small size) the values at the random point."""
    m, caller = run.m, run.caller
    where = _where(m, found, run.batched)
    if found.not_bilinear:
        return f"{header(m, caller)}: {found.not_bilinear}.\n  {where}"
    budget = min(RECOVERY_SECONDS, (run.limit.seconds - run.limit.elapsed()) / 2)
    affordable = recovery_calls(m) * seconds_per_call <= budget
    recovered = recover(run.one_sample, m, seed) if affordable else None
    if recovered is None and (affordable or recovery_calls(m) > RECOVERY_CALLS):
        return _by_fields(run, found, where, seed)
    if recovered is None:
        return (f"{header(m, caller)}: {where}. (The probes that name the differing terms were skipped: "
                f"{caller} is too slow for them.)" + _numeric_diagnosis(m, found))
    how = " (found by randomized identity testing, terms read off by encoded probes)"
    explained = explain(m, caller, m.symbols(), recovered, how)
    if not explained:   # one sample is right: the batch, larger values or rounding are not
        return (f"{header(m, caller)}: {where}. On one sample {caller} is the map (its coefficients read off by "
                f"probes), at the random point it is not: it mixes or drops the samples of a batch, is not "
                f"bilinear, or rounds at larger values" + _numeric_diagnosis(m, found))
    return explained.replace("\nDiagnosis", f"\n  first seen at {where}\nDiagnosis", 1)


def _by_fields(run: Caller, found: Difference, where: str, seed: int) -> str:
    """The failure explained by the terms of a few differing entries, read by probing their
    receptive fields (``adjoint_fieldreport``): too many calls to read every coefficient, or fn
    is not of the form they read off."""
    m = run.m
    point = point_of(m, found.values, dict(zip(m.outputs, found.obtained)), dict(zip(m.outputs, found.expected)))
    sizes = {name: prod(s) for name, s in m.output_shapes().items() if s is not None}
    parts = [f"{name}: {len(d)} of {sizes[name]} entries differ" for name, d in point.differing.items()]
    return (f"{header(m, run.caller, ' (found by randomized identity testing)')} at a random integer point: "
            f"{'; '.join(parts)}."
            + explain_entries(run.fn, m, run.batched, run.limit, point, bits=SIGNIFICAND[run.dtype], seed=seed)
            + f"\n  first seen at {where}" + _numeric_diagnosis(m, found))


def _where(m: AdjointMap, found: Difference, batched: bool) -> str:
    """The first differing entry at the random point: fn's value and the map's."""
    for name, obtained, expected in zip(m.outputs, found.obtained, found.expected):
        if obtained is None:
            continue
        expected = np.asarray(expected, dtype=np.float64)
        wrong = np.argwhere(obtained != expected)
        if len(wrong):
            index = tuple(int(i) for i in wrong[0])
            shown = index[1:] if name in m.per_sample_outputs and not batched else index
            return (f"{name}[{','.join(map(str, shown))}] = {float(obtained[index])!r}, {m.name} gives "
                    f"{float(expected[index])!r} exactly (at {found.what}; seed= repeats it)")
    return f"at {found.what}"


def _numeric_diagnosis(m: AdjointMap, found: Difference) -> str:
    """The faults whose exact output at the random point is fn's (``diagnosis``, numeric), for
    layers of at most DIAGNOSIS_TERMS products (the faults are evaluated on Python integers)."""
    if m.terms(len(next(v for v in found.values.values() if v is not None))) > DIAGNOSIS_TERMS:
        return ""
    operands = {name: None if v is None else v.astype(object) for name, v in found.values.items()}
    obtained = dict(zip(m.outputs, found.obtained))
    wrong = [name for name, o, e in zip(m.outputs, found.obtained, found.expected)
             if o is not None and not np.array_equal(o, np.asarray(e, dtype=np.float64))]
    return diagnosis(m, operands, obtained, wrong, numeric=True)  # type: ignore[arg-type]
