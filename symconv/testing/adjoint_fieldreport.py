"""The terms a few differing entries of a transposed convolution or backward pass lack and have
instead, read by probing their receptive fields (``adjoint_fields``, ``fieldprobe``) within the
budget of seconds of the forward check's diagnosis (``fieldreport.FIELD_SECONDS``): the failure
message's explanation at sizes where reading every coefficient off (``adjoint_recovery``) takes
too many calls. Per differing output, its first SHOWN_OUTPUTS differing entries nearest the
origin, as the lines of ``adjoint_reports`` ("grad_w[0,0,0,0] lacks …; has … instead"). The
verdict never depends on it: whatever goes wrong here is said in the message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import sympy as sp

from ..deadline import Deadline
from ..result import counterexample_of
from . import fieldreport
from .adjoint_fields import adjoint_roles, expected_entries, user_index
from .adjoint_maps import AdjointMap, Arrays
from .adjoint_reports import _line
from .adjoint_targets import adjoint_target
from .budget import Budget
from .fieldprobe import Closeness, FieldProbe, Point, Recovered, nearest_origin
from .fieldroles import Roles
from .pit import _Caller
from .reports import SHOWN_OUTPUTS, _terms


@dataclass(frozen=True)
class AdjointPoint:
    """A point where fn differs from the map: ``values`` (integer numerators of the operands in
    fn's layout, batched ones with the sample axis; an entry is numerator·2^-exponents[name]),
    fn's outputs there (per-sample ones with the sample axis) and, per differing output, the
    canonical indices of its differing entries (in sample ``sample`` where it is per sample)."""

    values: Arrays
    obtained: Arrays
    differing: dict[str, np.ndarray]
    sample: int = 0
    exponents: dict[str, int] = field(default_factory=dict)


def explain_entries(fn: Callable[..., Any], m: AdjointMap, batched: bool, limit: Deadline, point: AdjointPoint,
                    close: Closeness | None = None, bits: int = 53, seed: int = 0) -> str:
    """'\\n'-led lines: per differing output, the terms its first SHOWN_OUTPUTS differing entries
    nearest the origin lack and have instead (exact, or with ``close`` coefficients rounded where
    the rounding is within the tolerance), else what was read and why it is partial; then how they
    were read. ``bits``: the significand of fn's output dtype."""
    close = Closeness() if close is None else close
    rounded = bool(close.rtol or close.atol)
    budget = Budget(limit, fieldreport.FIELD_SECONDS)
    run = _Caller(fn, adjoint_target(m), batched, budget, integral=not rounded)
    started, lines = limit.elapsed(), []
    for name, differing in point.differing.items():
        roles = adjoint_roles(m, name)
        entries = nearest_origin(differing, SHOWN_OUTPUTS)
        probe = FieldProbe(run, m.spec, entries, close, bits, np.random.default_rng([seed, 19]), roles)
        at, batch = _points(roles, point)
        causes = fieldreport.OUTSIDE + ("" if len(batch) < 2 else ", or it does not sum the samples of a batch "
                                        "(the probes send one)")
        found = fieldreport.read_terms(probe, budget, at, batch, partial(_entry_name, roles, name), causes)
        lines += _lines(m, roles, name, found, len(differing), rounded)
    rounding = "; coefficients rounded where the rounding is within the tolerance" if rounded else ""
    lines.append(f"(terms read by one-hot probing of the entries' receptive fields only: {run.calls} calls of fn, "
                 f"{limit.elapsed() - started:.1f} s{rounding})")
    return "".join("\n  " + line for line in lines)


def point_of(m: AdjointMap, values: Arrays, obtained: Arrays, expected: Arrays) -> AdjointPoint:
    """The AdjointPoint of fn's outputs ``obtained`` and the map's ``expected`` at integer ``values``
    (per-sample outputs with the sample axis): the first sample where a per-sample output differs."""
    wrong = {name: np.asarray(obtained[name]) != np.asarray(expected[name], dtype=np.float64)
             for name in m.outputs if obtained[name] is not None}
    return point_at(m, values, obtained, wrong)


def point_at(m: AdjointMap, values: Arrays, obtained: Arrays, wrong: dict[str, np.ndarray],
             exponents: dict[str, int] | None = None) -> AdjointPoint:
    """The AdjointPoint of the entries ``wrong`` marks (an exact difference, or outside a
    tolerance), in the first sample where a per-sample output has one."""
    per_sample = [w.reshape(len(w), -1).any(axis=1) for name, w in wrong.items() if name in m.per_sample_outputs]
    sample = next((int(np.argmax(w)) for w in per_sample if w.any()), 0)
    differing = {}
    for name, w in wrong.items():
        roles = adjoint_roles(m, name)
        found = np.argwhere(roles.to_canonical(name, w[sample] if name in m.per_sample_outputs else w))
        if len(found):
            differing[name] = found
    return AdjointPoint(values, obtained, differing, sample, exponents or {})


def _points(roles: Roles, point: AdjointPoint) -> tuple[Point, list[Point]]:
    """The failing point in ``roles`` (canonical, flat; sample ``point.sample`` of a per-sample
    output), and for an output summed over the batch its samples, whose polynomials sum to it."""
    values, e = point.values, point.exponents
    exponents = (e.get(roles.probed, 0), e.get(roles.labelled, 0), e.get(roles.bias or "", 0))
    batched = {o.name for o in roles.target.operands if o.batched}

    def canonical(name: str | None, sample: int) -> np.ndarray | None:
        if name is None or values[name] is None:
            return None
        value = np.asarray(values[name])
        return np.ravel(roles.to_canonical(name, value[sample] if name in batched else value))

    y = np.asarray(point.obtained[roles.output])
    y = roles.to_canonical(roles.output, y[point.sample] if roles.per_sample else y).ravel()
    samples = range(len(np.asarray(values[roles.probed])))
    at = [Point(canonical(roles.probed, n), canonical(roles.labelled, n), canonical(roles.bias, n), y,  # type: ignore[arg-type]
                exponents) for n in ([point.sample] if roles.per_sample else samples)]
    return at[0], ([] if roles.per_sample else at)


def _lines(m: AdjointMap, roles: Roles, name: str, found: Recovered, count: int, rounded: bool) -> list[str]:
    """The lines of one output: lacks/has per entry when the terms are complete, else partial."""
    obtained = [fieldreport.polynomial(m.spec, terms, roles) for terms in found.terms]
    more = [f"... and {count - len(found.outputs)} more differing entries of {name}"] if count > len(found.outputs) \
        else []
    if found.complete:
        expected = expected_entries(m, name, found.outputs)
        shown = [counterexample_of(name, user_index(roles, name, entry), e, o)
                 for entry, e, o in zip(found.outputs, expected, obtained)]
        lines = [_line(c) for c in shown if c is not None]
        if lines:
            return lines + more
        if rounded:   # each coefficient rounds to the map's, their sum does not
            return [f"{name}: the terms of its first {len(found.outputs)} differing entries are the map's: the "
                    f"difference there is fn's rounding error, beyond the tolerance"] + more
        found.note = "they are the map's, yet fn differs from it at the random point"
    read = [f"  {_entry_name(roles, name, entry)}: fn has {_terms(sp.Add.make_args(p)) if p != 0 else 'no terms'}"
            for entry, p in zip(found.outputs, obtained)]
    return [f"The terms of the first {len(found.outputs)} differing entries of {name} nearest the origin are "
            f"partial: {found.note}. Read so far:"] + read + more


def _entry_name(roles: Roles, name: str, entry: tuple[int, ...]) -> str:
    return f"{name}[{','.join(map(str, user_index(roles, name, entry)))}]"
