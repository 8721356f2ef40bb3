"""Probe mode's forward check: the layer verified by randomized identity testing (``pit``), a
failure explained cheaply.

On a difference: fn that is no map of degree ≤ 2 is reported as not bilinear; where reading
every coefficient by one-hot probing is cheap (estimated from fn's measured speed below
EXHAUSTIVE_ON_FAILURE seconds) the failure message is exhaustive probing's (the terms each
differing output lacks and has instead, alternative layers reproducing fn exactly); otherwise it
names the differing outputs with fn's and the layer's exact values at the random point, and the
alternative layers whose exact outputs equal fn's at that point and DIAGNOSIS_POINTS more.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any

import numpy as np

from ..deadline import Deadline
from ..proof import prove
from ..spec import ConvSpec
from ..symbols import symbols, to_canonical_output
from .diagnosis import _diagnosis, _numeric_diagnosis
from .pit import (
    PIT_SAMPLES,
    Difference,
    PitOutcome,
    PitPlan,
    _Caller,
    _draw,
    _floats,
    _narrowest,
    _ShapeMismatch,
    identity_test,
)
from .probe import _probe
from .reports import SHOWN_OUTPUTS, _difference_message, _header, _shape_message, _user_index
from .targets import forward_target

EXHAUSTIVE_ON_FAILURE = 10.0   # seconds of one-hot probing a failure message may cost
DIAGNOSIS_POINTS = 2           # further random points an alternative layer must reproduce
HOW = "randomized identity testing"


def _check_by_identity(fn: Callable[..., Any], spec: ConvSpec, batched: bool, limit: Deadline,
                       seed: int, probe_memory: int) -> PitOutcome:
    """The identity test of fn against the layer; AssertionError with the explained failure."""
    __tracebackhide__ = True
    target = forward_target(spec)
    rng = np.random.default_rng([seed, 13])
    try:
        outcome = identity_test(fn, target, batched, limit, rng, seed)
    except _ShapeMismatch as mismatch:
        run = _Caller(fn, target, batched, limit, check_shapes=False)
        raise AssertionError(_shape_message(spec, mismatch.shape[1:] if batched else mismatch.shape, "probe")
                             + _random_diagnosis(run, spec, rng, seed, [])) from None
    if outcome.difference is not None:
        raise AssertionError(_failure(fn, spec, batched, limit, outcome, rng, seed, probe_memory))
    return outcome


def _failure(fn: Callable[..., Any], spec: ConvSpec, batched: bool, limit: Deadline, outcome: PitOutcome,
             rng: np.random.Generator, seed: int, probe_memory: int) -> str:
    found = outcome.difference
    if found.not_bilinear:
        return f"fn is not a convolution layer: {found.not_bilinear}.\n" + _values(spec, found, seed)
    nx, nw = prod(spec.input_shape), prod(spec.weight_shape)
    samples = (1 + nx) * (1 + nw) + spec.out_channels
    if (samples * outcome.run.seconds_per_sample <= EXHAUSTIVE_ON_FAILURE
            and 8 * (1 + nx) * (nx + 2 * prod(spec.output_shape)) <= probe_memory):
        operands = symbols(spec)
        y, _, _ = _probe(fn, spec, operands, batched, limit)
        if y.shape == spec.output_shape and not prove(spec, output=y).holds:
            return _difference_message(spec, y, "probe") + _diagnosis(spec, y, operands)
    point = [((found.values["x"], found.values["w"], found.values["b"]), found.obtained[0])]
    return _values(spec, found, seed) + _random_diagnosis(outcome.run, spec, rng, seed, point)


def _values(spec: ConvSpec, found: Difference, seed: int) -> str:
    """The differing outputs at the point, fn's value and the layer's (of the first differing sample)."""
    obtained, expected = found.obtained[0], np.asarray(found.expected[0], dtype=np.float64)
    sample = int(np.argwhere((obtained != expected).reshape(len(obtained), -1).any(axis=1))[0, 0])
    mine, theirs = to_canonical_output(spec, obtained[sample]), to_canonical_output(spec, expected[sample])
    differing = np.argwhere(mine != theirs)
    on = f", sample {sample} of the batch" if len(obtained) > 1 else ""
    lines = [f"{_header(spec, 'probe', HOW)}: {len(differing)} of {mine.size} outputs differ at a random "
             f"integer point ({found.what}{on}; seed= repeats it)."]
    for index in map(tuple, differing[:SHOWN_OUTPUTS]):
        name = "y[" + ",".join(map(str, _user_index(spec, index))) + "]"
        lines.append(f"  {name} = {int(mine[index])} there, the convolution gives {int(theirs[index])}")
    if len(differing) > SHOWN_OUTPUTS:
        lines.append(f"  ... and {len(differing) - SHOWN_OUTPUTS} more differing output(s)")
    return "\n".join(lines)


def _random_diagnosis(run: _Caller, spec: ConvSpec, rng: np.random.Generator, seed: int,
                      points: list) -> str:
    """``_numeric_diagnosis`` at ``points`` and DIAGNOSIS_POINTS fresh random ones."""
    target = run.target
    plan = PitPlan.for_dtype(_narrowest(run.dtypes), target.terms)
    n = PIT_SAMPLES if run.batched else 1
    for k in range(DIAGNOSIS_POINTS):
        values = _draw(rng, target, n, plan.value_bits)
        outputs = run(_floats(values), f"diagnosis point {k + 1}, seed {seed}")
        points.append(((values["x"], values["w"], values["b"]), outputs[0]))
    return _numeric_diagnosis(spec, points)
