"""What a check of fn establishes (``CheckResult``) and when fn cannot be checked
(``NotCheckable``)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..spec import ConvSpec

MODES = ("symbolic", "probe")
PIT_BITS = 64   # randomized identity testing: the false-pass probability is at most 2^-PIT_BITS
ESTABLISHED = {"symbolic": "proved",
               "probe": f"verified by randomized identity testing (false-pass probability ≤ 2^-{PIT_BITS}), "
                        f"assuming fn is bilinear",
               "exhaustive": "verified by exact probing, assuming bilinearity"}


class NotCheckable(TypeError):
    """``fn`` cannot be checked in the requested mode: it fails on symbols or on a probe input,
    returns something that is no real array (None, complex, NaN, inf, bool, str, object), rounds
    on 0/1 inputs, or probing outlasts its deadline."""


class _RaisedOnProbe(NotCheckable):
    """fn raised on a probe input (the exact trials skip integer arrays and views an fn refuses)."""


@dataclass(frozen=True)
class CheckResult:
    """What ``assert_conv_equivalent`` established: ``established`` is "proved" (symbolic mode),
    "verified by randomized identity testing (false-pass probability ≤ 2^-64), assuming fn is
    bilinear" (probe mode), or "verified by exact probing, assuming bilinearity" (probe mode,
    ``exhaustive=True``). ``calls`` counts the calls of fn the proof or probing rests on;
    ``cross_checks`` the further calls that cross-checked it (fresh symbols, random exact trials).
    ``false_pass_bound`` is the identity test's bound 2^-(a·trials) ≤ 2^-64 on the probability
    that a fn of degree ≤ 2 other than the layer passed (None in the other modes)."""

    spec: ConvSpec
    mode: str
    established: str
    outputs: int
    terms: int
    calls: int
    seconds: float
    cross_checks: int = 0
    false_pass_bound: Fraction | None = None
    path: str = ""   # symbolic mode: what fn ran on for the proof (native integer polynomials or SymPy symbols)

    def __str__(self) -> str:
        return (f"{self.established}: fn computes the convolution [{self.spec.describe()}; "
                f"{self.outputs} outputs, {self.terms} terms, {self.calls} call(s) of fn, "
                f"{self.cross_checks} cross-check call(s) passed, {self.seconds:.3f} s]")
