"""``exhaustive=True`` of the transposed and gradient checks: fn's polynomial read off by one-hot
probing of every coefficient (``adjoint_recovery.read_off`` with one entry per call: f(0), then
f(e_j) − f(0) for each entry of each operand, then f(e_i + e_j) − f(e_i) − f(e_j) + f(0) for
each pair of entries of the operands the map multiplies), so any integer coefficient is read
exactly; it must reproduce fn at random integers in [−2^8, 2^8) (the bilinearity assumption
tested beyond ±3), then equal the map's polynomial entry by entry, y or grad_x, grad_w and
grad_b (the last two of one sample: a batched fn gets batches of one; the sums over a batch are
the numeric trials' to check). Calls: 1 + Σ|operand| + Σ_pairs |a|·|b| (``recovery_calls(m, 1)``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .adjoint_calls import Caller
from .adjoint_probe import AdjointCheckResult, result
from .adjoint_recovery import NOT_REPRODUCED, read_off
from .adjoint_reports import explain, header, shape_message
from .adjoint_targets import adjoint_target
from .pit import PIT_SAMPLES, _Caller, _floats, _ShapeMismatch, _zeros
from .results import ESTABLISHED, NotCheckable


def check_exhaustively(run: Caller, seed: int) -> AdjointCheckResult:
    """fn's polynomial read off and compared with the map's (module docstring); AssertionError with
    the entries that differ, the terms they lack and have instead and the fault; NotCheckable when
    fn rounds on the 0/1 probes."""
    __tracebackhide__ = True
    m = run.m
    run.one_sample({n: None if s is None else np.ones(s) for n, s in m.operand_shapes().items()},
                   "all operands 1: what fn returns")
    zero = _Caller(run.fn, adjoint_target(m), run.batched, run.limit)   # a batch's shapes (one_sample sends one)
    try:
        zero(_floats(_zeros(zero.target, PIT_SAMPLES if run.batched else 1)), "all operands 0")
    except _ShapeMismatch as mismatch:
        raise AssertionError(shape_message(m, run.caller, mismatch.name, mismatch.shape, mismatch.expected)) from None
    run.calls += zero.calls
    read = read_off(lambda values, what: run.one_sample(values, what), m, seed, block=1)
    if read == NOT_REPRODUCED:
        raise AssertionError(f"{header(m, run.caller, ' (found by exact probing)')}: it is not of degree ≤ 2 "
                             f"with products of {' and '.join('·'.join(p) for p in m.pairs)} only: {read} "
                             f"(seed {seed}; {run.caller} may be nonlinear, clip, stateful or random)")
    if isinstance(read, str):
        raise NotCheckable(f"{run.caller} returned a value that is no exact integer on inputs of 0 and 1, where "
                           f"{m.name} gives exact integers: it rounds (FFT-based, reduced precision?), so "
                           f"exact probing cannot verify it; check it within a tolerance (rtol=, atol=)")
    explained = explain(m, run.caller, m.symbols(), read, " (found by exact probing)")
    if explained:
        raise AssertionError(explained)
    return replace(result(m, "probe", run.calls, run), established=ESTABLISHED["exhaustive"])
