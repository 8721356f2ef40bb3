"""Probe mode's forward check: the layer verified by randomized identity testing (``pit``), a
failure explained cheaply.

On a difference: fn that is no map of degree ≤ 2 is reported as not bilinear; where reading
every coefficient by one-hot probing is cheap (estimated from fn's measured speed below
EXHAUSTIVE_ON_FAILURE seconds, at most EXHAUSTIVE_PAIRS pairs) the failure message lists, as
exhaustive probing's does, the terms each differing output lacks and has instead; otherwise it
names the differing outputs with fn's and the layer's exact values at the random point. Either
way it names the alternative layers whose exact outputs equal fn's at that point and
DIAGNOSIS_POINTS more (``_numeric_diagnosis``).
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any

import numpy as np

from ..deadline import Deadline
from ..spec import ConvSpec
from ..symbols import symbols, to_canonical_output
from .budget import Budget, OverBudget
from .diagnosis import _numeric_diagnosis
from .fieldprobe import Closeness, Point
from .fieldreport import explain_outputs
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
from .reports import SHOWN_OUTPUTS, _differences, _header, _shape_message, _user_index
from .results import NotCheckable
from .targets import forward_target

EXHAUSTIVE_ON_FAILURE = 5.0    # seconds of one-hot probing a failure message may cost
EXHAUSTIVE_PAIRS = 20_000      # and pairs (x entry, w entry) it may read (SymPy builds the polynomials)
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
    calls = 1 + nw + spec.out_channels if batched else (1 + nx) * (1 + nw) + spec.out_channels
    point = [((found.values["x"], found.values["w"], found.values["b"]), found.obtained[0])]
    if (calls * outcome.run.seconds_per_call <= EXHAUSTIVE_ON_FAILURE and nx * nw <= EXHAUSTIVE_PAIRS
            and 8 * (1 + nx) * (nx + 2 * prod(spec.output_shape)) <= probe_memory):
        try:
            y, _, _ = _probe(fn, spec, symbols(spec), batched, Budget(limit, EXHAUSTIVE_ON_FAILURE))
        except OverBudget:
            y = None
        if y is not None and y.shape == spec.output_shape and (terms := _terms(spec, y, found)):
            return terms + _random_diagnosis(outcome.run, spec, rng, seed, point)
    sample = _first_differing_sample(found)
    terms = explain_outputs(fn, outcome.run.target, batched, limit, _differing(spec, found),
                            Point.of(spec, found.values, found.obtained[0], sample), Closeness(),
                            outcome.plan.bits, seed)
    return _values(spec, found, seed) + terms + _random_diagnosis(outcome.run, spec, rng, seed, point)


def _terms(spec: ConvSpec, y: np.ndarray, found: Difference) -> str:
    """The terms the first differing outputs at the point lack and have instead in the probed
    polynomials y ('' if none of them differs as a polynomial: fn is then no map of degree ≤ 2)."""
    differing = _differing(spec, found)
    expected = to_canonical_output(spec, forward_target(spec).symbolic()[1][0])
    obtained = to_canonical_output(spec, y)
    shown = _differences(spec, [(index, expected[index], obtained[index])
                                for index in map(tuple, differing[:SHOWN_OUTPUTS])])
    if len(shown) < min(len(differing), SHOWN_OUTPUTS):
        return ""
    lines = [f"{_header(spec, 'probe')}: {len(differing)} of {expected.size} outputs differ at a random point "
             f"({found.what}; seed= repeats it)."] + shown
    if len(differing) > SHOWN_OUTPUTS:
        lines.append(f"  ... and {len(differing) - SHOWN_OUTPUTS} more differing output(s)")
    return "\n".join(lines)


def _differing(spec: ConvSpec, found: Difference) -> np.ndarray:
    """Canonical (o, *out) indices of the outputs that differ at the point, in its first
    differing sample."""
    obtained, expected = found.obtained[0], np.asarray(found.expected[0], dtype=np.float64)
    sample = _first_differing_sample(found)
    return np.argwhere(to_canonical_output(spec, obtained[sample]) != to_canonical_output(spec, expected[sample]))


def _first_differing_sample(found: Difference) -> int:
    obtained, expected = found.obtained[0], np.asarray(found.expected[0], dtype=np.float64)
    return int(np.argwhere((obtained != expected).reshape(len(obtained), -1).any(axis=1))[0, 0])


def _values(spec: ConvSpec, found: Difference, seed: int) -> str:
    """The differing outputs at the point, fn's value and the layer's (of the first differing sample)."""
    obtained, expected = found.obtained[0], np.asarray(found.expected[0], dtype=np.float64)
    sample = _first_differing_sample(found)
    mine, theirs = to_canonical_output(spec, obtained[sample]), to_canonical_output(spec, expected[sample])
    differing = _differing(spec, found)
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
    """``_numeric_diagnosis`` at ``points`` and DIAGNOSIS_POINTS fresh random ones (as many as fn
    answers: fn failing on one does not change the verdict)."""
    target = run.target
    plan = PitPlan.for_dtype(_narrowest(run.dtypes), target.terms)
    n = PIT_SAMPLES if run.batched else 1
    for k in range(DIAGNOSIS_POINTS):
        values = _draw(rng, target, n, plan.value_bits)
        try:
            outputs = run(_floats(values), f"diagnosis point {k + 1}, seed {seed}")
        except (AssertionError, NotCheckable) as error:   # the verdict stands without the diagnosis
            if not points:
                return f"\nDiagnosis: none; fn failed on a further random point: {str(error).splitlines()[0]}"
            break
        points.append(((values["x"], values["w"], values["b"]), outputs[0]))
    return _numeric_diagnosis(spec, points)
