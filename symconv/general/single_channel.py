"""A derivation read for one input and one output channel, for printing: G = Ĉ_in = Ĉ_out = 1,
so the group g, the channel h in it and the input channel c are 0.

The theorems hold for all channel counts, so this instance of a proved derivation is proved:
every hypothesis, definition, statement and step is the general one with the channel symbols
substituted. A sum over a channel range [0, 0] is its one term, the group's δ and range
brackets become 1, steps that then change nothing are dropped, and the channel indices (all 0)
are left out of the tensors: w[0, 0, t] prints as w_t, x[0, i] as x_i.

>>> import symconv
>>> from symconv.general.printer import DerivationPrinter
>>> view = one_channel(symconv.prove_general("toeplitz", dims=1, instances=1))
>>> padded = next(step for step in view.steps if step.rule.startswith("zero extension"))
>>> print(DerivationPrinter(view.notation).doprint(padded.rhs))
\\sum_{t=0}^{k - 1} w_{t} \\tilde{x}_{s j + d t - p}
"""

from __future__ import annotations

import dataclasses

import sympy as sp

from .printer import base_name

ONE = ("G", "Ci", "Co")
ZERO = ("g", "h", "c", "g'", "c'", "o")
CHANNEL_AXES = {"w": 2, "Gamma": 2, "x": 1, "xt": 1, "y": 1, "gamma": 1, "z": 1, "b": 1}
"""Leading channel indices of each tensor label, left out when they are all 0."""


def _collapse(expr: sp.Basic) -> sp.Basic:
    """Sums over a one-point range [a, a] replaced by their term at a."""
    def one_point(total: sp.Sum) -> sp.Basic:
        body, kept = total.function, []
        for variable, low, high in total.limits:
            if sp.expand(high - low) == 0:
                body = body.xreplace({variable: low})
            else:
                kept.append((variable, low, high))
        return sp.Sum(body, *kept) if kept else body
    return expr.replace(lambda e: isinstance(e, sp.Sum), one_point)


def _without_channels(expr: sp.Basic) -> sp.Basic:
    def shorter(entry: sp.Indexed) -> sp.Basic:
        label = str(entry.base.label)
        axes = CHANNEL_AXES.get(label.rstrip("12"), 0)
        if axes and all(i == 0 for i in entry.indices[:axes]) and len(entry.indices) > axes:
            return entry.base[entry.indices[axes:]]
        return entry
    return expr.replace(lambda e: isinstance(e, sp.Indexed), shorter)


def specialise(expr: sp.Basic) -> sp.Basic:
    """``expr`` with G = Ĉ_in = Ĉ_out = 1 and the channel indices 0 (see the module docstring)."""
    expr = sp.sympify(expr, strict=True)
    sizes = {s: sp.Integer(1) for s in expr.free_symbols if base_name(s) in ONE}
    expr = _collapse(expr.xreplace(sizes))
    indices = {s: sp.Integer(0) for s in expr.free_symbols if base_name(s) in ZERO}
    return _without_channels(expr.xreplace(indices))


def one_channel(derivation):
    """A copy of ``derivation`` read for one channel (module docstring); for printing only."""
    steps, previous = [], None
    for step in derivation.steps:
        lhs, rhs = specialise(step.lhs), specialise(step.rhs)
        if step.part == "main" and steps and rhs == previous:
            continue  # the step only moved the channels
        steps.append(dataclasses.replace(step, lhs=lhs, rhs=rhs))
        if step.part == "main":
            previous = rhs
    hypotheses = [h for h in map(specialise, derivation.hypotheses) if h is not sp.true]
    definitions = [(specialise(a), specialise(b), why) for a, b, why in derivation.definitions]
    notation = []
    for digits, radices in derivation.notation:
        kept = [(specialise(d), specialise(r)) for d, r in zip(digits, radices)]
        kept = [(d, r) for d, r in kept if d != 0]
        if len(kept) > 1:
            notation.append(tuple(zip(*kept)))
    note = ("Shown for one input and one output channel (one group of one channel each, so g = h = c = 0); "
            "the derivation holds for every number of channels and groups.")
    return dataclasses.replace(
        derivation, hypotheses=hypotheses, steps=steps, notation=notation, notes=[note, *derivation.notes],
        definitions=[(a, b, why) for a, b, why in definitions if a != b],
        statement=tuple(specialise(e) for e in derivation.statement))
