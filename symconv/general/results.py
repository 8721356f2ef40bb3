"""The result of a general derivation: its checked steps, the verdict, and where and why it
fails (with the sizes, indices and values of a concrete counterexample when one was found).

A derivation is PROVED when every step passed both checks, REFUTED when a concrete
counterexample was found, and NOT PROVED otherwise (a symbolic failure with no counterexample,
a deadline or evaluation limit met): ``Derivation.verdict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy as sp


@dataclass(frozen=True)
class ConcreteCheck:
    """Both sides of a step on one instance (``values`` are the sizes and indices drawn)."""

    values: dict[str, int]
    lhs: Any
    rhs: Any
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.lhs == self.rhs


@dataclass
class Step:
    """One checked step lhs = rhs of a derivation: its rule and justification, the part it
    belongs to ("main" or a lemma's name), the symbolic verdict and the concrete checks."""

    rule: str
    justification: str
    lhs: sp.Basic
    rhs: sp.Basic
    part: str = "main"
    symbolic: bool = False
    symbolic_detail: str = ""
    concrete: list[ConcreteCheck] = field(default_factory=list)
    quantified: list = field(default_factory=list)
    """(variable, low, high) drawn per instance besides the statement's (lemma steps)."""
    sides: tuple[str, str] = ("the left-hand side", "the right-hand side")
    """What lhs and rhs are, for a counterexample (e.g. the definition and the claim)."""

    @property
    def ok(self) -> bool:
        return self.symbolic and all(c.ok for c in self.concrete)


@dataclass(frozen=True)
class GeneralCounterexample:
    """Sizes and indices (``values``) at which the two sides differ, with both values, also
    evaluated on symbolic tensor entries (``lhs_symbolic``/``rhs_symbolic``) when possible;
    ``sides`` says what the two sides are (the definition and the claim, say).

    >>> print(GeneralCounterexample({"n": 5, "i": 1}, 0, 3, 0, sp.Symbol("w_1"),
    ...                             sides=("the definition", "the claim")))
    at n=5, i=1: the definition gives 0, the claim gives 3 (symbolically 0 and w_1)
    """

    values: dict[str, int]
    lhs: Any
    rhs: Any
    lhs_symbolic: Any = None
    rhs_symbolic: Any = None
    error: str = ""
    sides: tuple[str, str] = ("the left-hand side", "the right-hand side")

    def __str__(self) -> str:
        at = ", ".join(f"{k}={v}" for k, v in self.values.items())
        if self.error:
            return f"at {at}: {self.error}"
        text = f"at {at}: {self.sides[0]} gives {self.lhs}, {self.sides[1]} gives {self.rhs}"
        if self.lhs_symbolic is not None:
            text += f" (symbolically {self.lhs_symbolic} and {self.rhs_symbolic})"
        return text


@dataclass(frozen=True)
class Failure:
    """The first failing step (0-based ``step``), why, and a counterexample if one was found."""

    step: int
    rule: str
    reason: str
    counterexample: GeneralCounterexample | None

    def __str__(self) -> str:
        text = f"step {self.step + 1} ({self.rule}) fails: {self.reason}"
        if self.counterexample is not None:
            text += f"\n  counterexample {self.counterexample}"
        else:
            text += "\n  no concrete counterexample found: the claim is not proved (nor refuted)"
        return text


@dataclass
class Derivation:
    """A general theorem: hypotheses, statement lhs = rhs, the checked steps, the verdict."""

    theorem: str
    dims: int
    title: str
    hypotheses: list[sp.Basic]
    definitions: list[tuple[sp.Basic, sp.Basic, str]]
    statement: tuple[sp.Basic, sp.Basic]
    steps: list[Step]
    holds: bool
    failure: Failure | None
    core_checks: list[str]
    instances: int
    seconds: float
    notes: list[str] = field(default_factory=list)
    notation: list[tuple[tuple, tuple]] = field(default_factory=list)
    """(digits, radices) of flat indices printed as ⟨digits⟩ in LaTeX."""
    threshold_instances: int = 0
    """How many of the ``instances`` were drawn at thresholds of the claims (the rest random)."""

    def __bool__(self) -> bool:
        return self.holds

    @property
    def refuted(self) -> bool:
        """Not only unproved: a concrete counterexample was found."""
        return self.failure is not None and self.failure.counterexample is not None

    @property
    def verdict(self) -> str:
        return "PROVED" if self.holds else "REFUTED" if self.refuted else "NOT PROVED"

    def summary(self) -> str:
        verdict = self.verdict
        at = (f"{self.instances} instances, {self.threshold_instances} of them at thresholds of "
              f"the claim" if self.threshold_instances else f"{self.instances} random instances")
        line = (f"{verdict}: {self.title} (dims={self.dims}; {len(self.steps)} steps, each "
                f"checked symbolically and on {at}; {self.seconds:.2f} s)")
        return line if self.failure is None else f"{line}\n{self.failure}"

    def __repr__(self) -> str:
        main = [s for s in self.steps if s.part == "main"]
        where = "" if self.failure is None else f", fails at step {self.failure.step + 1} " \
            f"({self.failure.rule})"
        return (f"<Derivation {self.theorem!r} dims={self.dims}: {self.verdict}; "
                f"{len(main)} steps + {len(self.steps) - len(main)} lemmas{where}>")

    def _repr_latex_(self) -> str:
        """Jupyter: the verdict and the main chain as one align* (MathJax), a rule per step."""
        from .latex import chain_latex
        return chain_latex(self)

    def to_latex(self, standalone: bool = True, *, verification: bool | None = None,
                 label_prefix: str | None = None, width: float | None = None, channels: bool = True) -> str:
        """The derivation as a LaTeX document or (``standalone=False``) a paper fragment; the
        keywords are ``general.latex.derivation_latex``'s (the verification remark, the label
        prefix, the text width in em, ``channels=False`` for the one-channel view)."""
        from .latex import LINE_EM, derivation_latex
        return derivation_latex(self, standalone=standalone, verification=verification, label_prefix=label_prefix,
                                width=LINE_EM if width is None else width, channels=channels)

    def to_json(self) -> dict[str, Any]:
        failure = None
        if self.failure is not None:
            ce = self.failure.counterexample
            failure = {"step": self.failure.step + 1, "rule": self.failure.rule,
                       "reason": self.failure.reason,
                       "counterexample": None if ce is None else {
                           "values": ce.values, "error": ce.error, "sides": list(ce.sides),
                           **{key: None if value is None else str(value) for key, value in (
                               ("lhs", ce.lhs), ("rhs", ce.rhs), ("lhs_symbolic", ce.lhs_symbolic),
                               ("rhs_symbolic", ce.rhs_symbolic))}}}
        return {"theorem": self.theorem, "dims": self.dims, "holds": self.holds,
                "statement": [str(self.statement[0]), str(self.statement[1])],
                "hypotheses": [str(h) for h in self.hypotheses],
                "steps": [{"rule": s.rule, "justification": s.justification, "part": s.part,
                           "lhs": str(s.lhs), "rhs": str(s.rhs), "symbolic": s.symbolic,
                           "symbolic_detail": s.symbolic_detail,
                           "concrete_checks": len(s.concrete),
                           "concrete_ok": all(c.ok for c in s.concrete)} for s in self.steps],
                "core_checks": self.core_checks, "instances": self.instances,
                "threshold_instances": self.threshold_instances, "failure": failure, "seconds": round(self.seconds, 4)}
