"""What a check of fn establishes (``CheckResult``) and when fn cannot be checked
(``NotCheckable``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..spec import ConvSpec

MODES = ("symbolic", "probe")
ESTABLISHED = {"symbolic": "proved", "probe": "verified by exact probing, assuming bilinearity"}


class NotCheckable(TypeError):
    """``fn`` cannot be checked in the requested mode: it fails on symbols or on a probe input,
    returns something that is no real array (None, complex, NaN, inf, bool, str, object), rounds
    on 0/1 inputs, or probing outlasts its deadline."""


class _RaisedOnProbe(NotCheckable):
    """fn raised on a probe input (the exact trials skip integer arrays and views an fn refuses)."""


@dataclass(frozen=True)
class CheckResult:
    """What ``assert_conv_equivalent`` established: ``established`` is "proved" (symbolic mode)
    or "verified by exact probing, assuming bilinearity" (probe mode). ``calls`` counts the calls
    of fn the proof or probing rests on; ``cross_checks`` the further calls that cross-checked it
    (fresh symbols, random exact trials)."""

    spec: ConvSpec
    mode: str
    established: str
    outputs: int
    terms: int
    calls: int
    seconds: float
    cross_checks: int = 0
    path: str = ""   # symbolic mode: what fn ran on for the proof (native integer polynomials or SymPy symbols)

    def __str__(self) -> str:
        return (f"{self.established}: fn computes the convolution [{self.spec.describe()}; "
                f"{self.outputs} outputs, {self.terms} terms, {self.calls} call(s) of fn, "
                f"{self.cross_checks} cross-check call(s) passed, {self.seconds:.3f} s]")
