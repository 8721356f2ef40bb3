"""The terms a few differing outputs lack and have instead, read by probing their receptive fields
(``fieldprobe``) within a budget of seconds: the failure message's explanation at sizes where
one-hot probing of every coefficient is slow. The verdict never depends on it: whatever goes
wrong here (the budget runs out, fn fails on a probe, the terms do not reproduce fn) is said in
the message, and the counterexample stands."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp

from ..deadline import Deadline
from ..spec import ConvSpec
from .budget import Budget, OverBudget
from .fieldprobe import Closeness, FieldProbe, Number, Point, Recovered, nearest_origin
from .fieldroles import Roles, forward_roles
from .fields import expected_polynomials
from .pit import _Caller
from .reports import SHOWN_OUTPUTS, _differences, _terms, _user_index
from .results import NotCheckable
from .targets import Target

FIELD_SECONDS = 10.0   # budget of the diagnosis by receptive fields


def explain_outputs(fn: Callable[..., Any], target: Target, batched: bool, limit: Deadline, differing: np.ndarray,
                    point: Point, close: Closeness, bits: int, seed: int) -> str:
    """'\\n'-led lines: the terms the first SHOWN_OUTPUTS differing outputs (canonical indices,
    nearest the origin first) lack and have instead, or what was read of them and why it is partial.
    ``point`` is the failing point (``Point.of``)."""
    spec = target.spec
    outputs = nearest_origin(differing, SHOWN_OUTPUTS)
    budget = Budget(limit, FIELD_SECONDS)
    run = _Caller(fn, target, batched, budget, integral=not (close.rtol or close.atol))
    probe = FieldProbe(run, spec, outputs, close, bits, np.random.default_rng([seed, 19]))
    started = limit.elapsed()
    found = read_terms(probe, budget, point, (), lambda index: f"y[{_name(spec, index)}]")
    return _report(spec, found, limit.elapsed() - started, bool(close.rtol or close.atol))


OUTSIDE = "fn reads entries outside the receptive field probed, or a coefficient beyond the probes' range"


def read_terms(probe: FieldProbe, budget: Budget, point: Point, batch: Sequence[Point],
               label: Callable[[tuple[int, ...]], str], causes: str = OUTSIDE) -> Recovered:
    """``probe``'s polynomials, ``complete`` when they reproduce fn at ``point`` (summed over
    ``batch``, ``FieldProbe.disagreeing``), else with a note of what is missing (``label`` names an
    output; ``causes`` what may keep them from reproducing it): the budget ran out, fn failed on a
    probe, the diagnosis itself failed. Never raises but for the check's own deadline."""
    found = probe.found
    try:
        probe.recover()
        wrong = probe.disagreeing(point, batch)
        found.complete = not wrong and not found.unresolved
        found.note = "; ".join([f"{label(found.outputs[q])} {text}" for q, text in found.unresolved] + (
            [f"the terms read do not reproduce fn's output at the random point at {label(found.outputs[q])}"
             f" ({causes})" for q in wrong]))
    except OverBudget:
        found.note = f"its budget of {budget.budget:.1f} s ran out while {probe.stage}"
    except (AssertionError, NotCheckable) as error:   # fn failed on a probe: the verdict stands
        found.note = f"fn failed on a probe while {probe.stage}: {str(error).splitlines()[0]}"
    except Exception as error:  # noqa: BLE001 - a fault of the diagnosis itself must not hide the verdict
        found.note = f"the diagnosis failed while {probe.stage} ({type(error).__name__}: {error})"
    found.calls = probe.run.calls
    return found


def _report(spec: ConvSpec, found: Recovered, seconds: float, rounded: bool) -> str:
    obtained = [polynomial(spec, terms) for terms in found.terms]
    rounding = "; coefficients rounded where the rounding is within the tolerance" if rounded else ""
    how = f"by one-hot probing of their receptive fields only ({found.calls} calls of fn, {seconds:.1f} s{rounding})"
    count = len(found.outputs)
    if found.complete:
        lines = _differences(spec, list(zip(found.outputs, expected_polynomials(spec, found.outputs), obtained)))
        if not lines:   # within a tolerance: each coefficient rounds to the layer's, their sum does not
            return (f"\nfn's terms at the first {count} differing output(s) nearest the origin, read {how}, are the "
                    f"layer's: the difference there is fn's rounding error, beyond the tolerance.")
        exact = "" if rounded else "exact "
        return (f"\nfn's {exact}terms at the first {count} differing output(s) nearest the origin, read {how}:\n"
                + "\n".join(lines))
    lines = [f"  y[{_name(spec, index)}]: fn has {_terms(sp.Add.make_args(p)) if p != 0 else 'no terms'}"
             for index, p in zip(found.outputs, obtained)]
    return (f"\nThe terms of the first {count} differing output(s) nearest the origin, read {how}, are partial: "
            f"{found.note}. Read so far:\n" + "\n".join(lines))


def _name(spec: ConvSpec, index: tuple[int, ...]) -> str:
    return ",".join(map(str, _user_index(spec, index)))


def polynomial(spec: ConvSpec, terms: dict[tuple, Number], roles: Roles | None = None) -> sp.Expr:
    """A recovered polynomial (``Recovered.terms``) in the layer's symbols (those of ``roles``'
    operands, by default the forward layer's); a coefficient not rounded to an integer is shown
    as a float.

    >>> from symconv import ConvSpec
    >>> polynomial(ConvSpec(1, 1, kernel_size=2, input_size=3), {("wx", 1, 2): 1, ("b", 0): 0.5})
    0.5*b_{0} + w_{0,0,1}*x_{0,2}
    """
    roles = forward_roles(spec) if roles is None else roles
    return sp.Add(*(sp.Mul(sp.Integer(c) if isinstance(c, int) else sp.Float(c, 6), roles.symbol(term[0], term[1:]))
                    for term, c in terms.items()))
