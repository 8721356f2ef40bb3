"""The derivation engine: a statement under hypotheses and a chain of checked steps.

A step ``lhs = rhs`` carries a named rule and a justification and is checked twice:

* **symbolically** — the rule rewrites lhs structurally (``rules``; a failed side condition
  fails the step) and the result must have the same canonical form as the stated rhs
  (``expr.same``); lemma steps (inequalities) are checked by ``arith.implied`` certificates;
* **concretely** — both sides are evaluated exactly (``evaluate``) on random instances: integer
  sizes, hyperparameters and indices satisfying the hypotheses, random integer tensors.

The first step failing either check fails the derivation. If only the symbolic check fails,
more instances are searched for a counterexample (sizes, indices, the two values); a symbolic
failure without one still refutes nothing but proves nothing either: ``holds`` is False and
``failure.counterexample`` is None.

Instances: ``instances`` random ones (sizes log-uniform over wide ranges, ``setting``), plus
instances at the thresholds of the user's expressions ``claims`` (``thresholds``: where a
bracket, δ or floor of a claim changes value, at numeric constants, all-zero data for a
division by the data).

Limits: a derivation has a wall-clock ``deadline`` (seconds, default ``DEADLINE``) and every
evaluation a cap on its terms and powers (``evaluate.limits``). Exceeding one ends the
derivation NOT PROVED, with the reason "deadline of N s exceeded at step K (rule)" (or the
cap met) and no counterexample — never PROVED, never REFUTED. The deadline is checked between
steps and inside every evaluation and comparison loop; a single SymPy call of a symbolic check
is not interrupted.

This module is the engine (``Prover``); what it returns, ``Derivation`` with its ``Step``s,
``Failure`` and ``GeneralCounterexample``, is in ``results`` (re-exported here).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sympy as sp

from ..errors import integer, seconds
from . import thresholds
from .arith import recorded_side_conditions
from .evaluate import Env, EvaluationError, LimitExceeded, check_deadline, evaluate, limits
from .expr import same
from .results import ConcreteCheck, Derivation, Failure, GeneralCounterexample, Step
from .rules import RuleError

__all__ = ["DEADLINE", "DRAW_ATTEMPTS", "ConcreteCheck", "Derivation", "Failure", "GeneralCounterexample",
           "Instance", "NoInstance", "Prover", "Step"]

SEARCH_INSTANCES = 300
"""Extra instances tried for a counterexample when only the symbolic check failed."""
SEARCH_SECONDS = 4.0
DRAW_ATTEMPTS = 200
"""Random draws tried for an instance satisfying the hypotheses (rejection sampling)."""
TARGET_ATTEMPTS = 30
"""Draws tried per threshold target (thresholds)."""
DEADLINE = 120.0
"""Default wall-clock deadline of one derivation in seconds (``deadline=``)."""


class NoInstance(RuntimeError):
    """A setting cannot draw an instance with the values pinned for it."""


class Instance:
    """One concrete instance: values of the sizes/indices and an evaluation environment."""

    def __init__(self, values: dict[sp.Symbol, int], env_factory: Callable[[bool], Any],
                 shown: Sequence[sp.Symbol]):
        self.values = values
        self._factory = env_factory
        self._envs: dict[bool, Any] = {}
        self.shown = list(shown)

    def env(self, symbolic: bool = False):
        if symbolic not in self._envs:
            self._envs[symbolic] = self._factory(symbolic)
        env = self._envs[symbolic]
        env.values = dict(self.values)
        return env

    def described(self, extra: dict[sp.Symbol, int] | None = None) -> dict[str, int]:
        values = {str(s): int(self.values[s]) for s in self.shown if s in self.values}
        values.update({str(k): int(v) for k, v in (extra or {}).items()})
        return values


Quantified = Sequence[tuple[sp.Symbol, sp.Expr, sp.Expr]]


class Prover:
    """Builds a derivation step by step; stops at the first failing step.

    ``instances`` random instances (an integer ≥ 1) and the threshold instances of ``claims``
    (the user's expressions), within ``deadline`` seconds (module docstring)."""

    def __init__(self, theorem: str, dims: int, title: str, setting: Any, lhs: sp.Basic,
                 rhs: sp.Basic, instances: int = 6, seed: int = 0,
                 hypotheses: Sequence[sp.Basic] = (), claims: Sequence[sp.Basic | None] = (),
                 deadline: float = DEADLINE):
        count = integer("instances", instances, minimum=1)
        self.deadline = seconds("deadline", deadline)
        self.started = time.perf_counter()
        self.theorem, self.dims, self.title, self.setting = theorem, dims, title, setting
        self.statement = (lhs, rhs)
        self.hypotheses = list(hypotheses)
        self.current = lhs
        self.rng = random.Random(integer("seed", seed))
        self.steps: list[Step] = []
        self.failure: Failure | None = None
        self.core_checks: list[str] = []
        self.instances: list[Instance] = []
        self.thresholds = 0
        self.notes: list[str] = []
        with self._limits(0, "drawing the instances"):
            for _ in range(count):
                self.instances.append(self._draw(self.rng))
            self._draw_thresholds([c for c in claims if c is not None])

    # ---- limits ----------------------------------------------------------------------------
    @contextmanager
    def _limits(self, step: int, rule: str) -> Iterator[None]:
        """Evaluations inside run under the derivation's deadline and the evaluation caps; a
        limit met fails the derivation without a counterexample (NOT PROVED)."""
        try:
            with limits(self.deadline, self.started):
                yield
        except LimitExceeded as error:
            self.failure = Failure(step, rule, f"{error} at step {step + 1}; neither proved nor "
                                               "refuted", None)

    def _past_deadline(self, rule: str) -> bool:
        """Fail the derivation if its deadline has passed before step ``rule`` starts."""
        if time.perf_counter() - self.started <= self.deadline:
            return False
        step = len(self.steps)
        self.failure = Failure(step, rule, f"deadline of {self.deadline:g} s exceeded at step "
                                           f"{step + 1}; neither proved nor refuted", None)
        return True

    # ---- concrete checks -------------------------------------------------------------------
    def _admissible(self, instance: Instance) -> bool:
        """Every hypothesis evaluates to true on the instance's values."""
        env = Env(dict(instance.values))
        try:
            return all(evaluate(h, env) for h in self.hypotheses)
        except EvaluationError:
            return False

    def _draw(self, rng: random.Random) -> Instance:
        """An instance of the setting on which every hypothesis evaluates to true."""
        for _ in range(DRAW_ATTEMPTS):
            check_deadline()
            instance = self.setting.draw(rng)
            if self._admissible(instance):
                return instance
        raise RuntimeError(f"{self.theorem}: no random instance satisfies the hypotheses "
                           f"in {DRAW_ATTEMPTS} draws")

    def _draw_thresholds(self, claims: list[sp.Basic]) -> None:
        """Instances at the thresholds of ``claims`` (``thresholds.targets``), each pinned
        value kept; a target no admissible instance meets is skipped."""
        if not claims:
            return
        base = self.instances[0].values
        derived = getattr(self.setting, "derived", {})
        quantified = set().union(*(sp.sympify(e, strict=True).free_symbols for e in (
            *self.hypotheses, *self.statement)))  # the others are summed over, pins are lost
        drawable = {s for s, v in base.items() if s in quantified
                    and isinstance(v, int) and s not in derived}
        missed = []
        for target in thresholds.targets(claims, base, drawable, derived, self.dims, self.rng):
            instance = self._draw_target(target)
            if instance is None:
                missed.append(target)
                continue
            self.instances.append(instance)
            self.thresholds += 1
        if missed:
            example = ", ".join(f"{s}={v}" for s, v in missed[0].values.items())
            self.notes.append(f"{len(missed)} threshold target(s) of the claim admit no instance "
                              f"within the hypotheses and the size budget (e.g. {example}); "
                              "there the symbolic check alone decides.")
        limit = thresholds.SCAN_LIMIT.get(self.dims, min(thresholds.SCAN_LIMIT.values()))
        beyond = [c for e in claims for c in thresholds.constants(e) if abs(c) > limit]
        if beyond:  # the scan never reaches them, so no target (nor a missed one) exists
            self.notes.append(f"the claim's constants reach {max(beyond, key=abs)}, beyond the "
                              f"largest scanned size {limit}: no instance reaches those "
                              "thresholds; there the symbolic check alone decides.")

    def _draw_target(self, target: thresholds.Target) -> Instance | None:
        for _ in range(TARGET_ATTEMPTS):
            check_deadline()
            try:
                instance = self.setting.draw(self.rng, pinned=target.values,
                                             data=target.data)
            except NoInstance:
                return None
            if all(instance.values.get(s) == v for s, v in target.values.items()) \
                    and self._admissible(instance):
                return instance
        return None

    def _evaluate(self, instance: Instance, lhs, rhs, quantified: Quantified,
                  rng: random.Random) -> ConcreteCheck:
        env = instance.env()
        extra = {}
        try:
            for v, lo, hi in quantified:
                low, high = evaluate(lo, env), evaluate(hi, env)
                if high < low:
                    raise EvaluationError(f"empty range for {v}: [{low}, {high}]")
                value = rng.choice([low, high, rng.randint(low, high)])
                env.values[v] = extra[v] = value
            left, right = evaluate(lhs, env), evaluate(rhs, env)
            return ConcreteCheck(instance.described(extra), left, right)
        except EvaluationError as error:
            return ConcreteCheck(instance.described(extra), None, None, str(error))

    def _symbolic_values(self, instance: Instance, values: dict[str, int], lhs, rhs):
        try:
            env = instance.env(symbolic=True)
            names = {str(s): s for s in env.values}
            for name, value in values.items():
                if name in names:
                    env.values[names[name]] = value
                else:
                    env.values[sp.Symbol(name, integer=True)] = value
            return sp.expand(evaluate(lhs, env)), sp.expand(evaluate(rhs, env))
        except (EvaluationError, LimitExceeded):
            return None, None

    def _counterexample(self, check: ConcreteCheck, instance: Instance, step: Step) -> GeneralCounterexample:
        if check.error:
            return GeneralCounterexample(check.values, None, None, error=check.error, sides=step.sides)
        ls, rs = self._symbolic_values(instance, check.values, step.lhs, step.rhs)
        return GeneralCounterexample(check.values, check.lhs, check.rhs, ls, rs, sides=step.sides)

    def _search(self, step: Step, quantified: Quantified) -> GeneralCounterexample | None:
        """More random instances, for a counterexample to a step whose symbolic check failed
        (none found within the limits: None)."""
        rng = random.Random(12345)
        deadline = time.perf_counter() + SEARCH_SECONDS
        try:
            for _ in range(SEARCH_INSTANCES):
                if time.perf_counter() > deadline:
                    break
                instance = self._draw(rng)
                check = self._evaluate(instance, step.lhs, step.rhs, quantified, rng)
                if not check.ok:
                    return self._counterexample(check, instance, step)
        except LimitExceeded:
            pass
        return None

    # ---- steps -----------------------------------------------------------------------------
    def _record(self, step: Step, quantified: Quantified) -> None:
        self.steps.append(step)
        with self._limits(len(self.steps) - 1, step.rule):
            self._check(step, quantified)

    def _check(self, step: Step, quantified: Quantified) -> None:
        """Both sides on every instance; the first failure is the counterexample, except that
        one with two differing values is preferred to one where a side cannot be evaluated."""
        rng = random.Random(len(self.steps))
        failed: tuple[ConcreteCheck, Instance] | None = None
        for instance in self.instances:
            check_deadline()
            check = self._evaluate(instance, step.lhs, step.rhs, quantified, rng)
            step.concrete.append(check)
            if not check.ok and (failed is None or not check.error):
                failed = (check, instance)
                if not check.error:
                    break
        if failed is not None:
            check, instance = failed
            reason = "concrete check failed" + (f" ({check.error})" if check.error else "")
            if not step.symbolic:
                reason = f"symbolic check failed ({step.symbolic_detail}); {reason}"
            self.failure = Failure(len(self.steps) - 1, step.rule, reason,
                                   self._counterexample(check, instance, step))
            return
        if not step.symbolic:
            self.failure = Failure(len(self.steps) - 1, step.rule,
                                   f"symbolic check failed ({step.symbolic_detail})",
                                   self._search(step, quantified))

    def step(self, rule: str, justification: str, apply: Callable[[sp.Basic], sp.Basic],
             target: sp.Basic | None = None, two_sided: bool = False,
             quantified: Quantified = (), sides: tuple[str, str] | None = None) -> None:
        """current = rhs by ``rule``: rhs is ``target`` if given, else the rewritten current.
        ``sides`` names lhs and rhs in a counterexample (default: the definition and the
        statement for the statement's right-hand side, else the lines before and after)."""
        if self.failure is not None or self._past_deadline(rule):
            return
        # the symbolic check too runs under the deadline (z3 and the normal forms check it)
        with self._limits(len(self.steps), rule):
            lhs = self.current
            with recorded_side_conditions() as conditions:
                try:
                    rewritten = apply(lhs)
                except RuleError as error:
                    rewritten, detail = None, f"the rule does not apply: {error}"
            rhs = target if target is not None else rewritten
            if rewritten is None:
                ok = False
                rhs = target if target is not None else self.statement[1]
            elif target is None:
                ok, detail = True, "rule applied; side conditions hold"
            else:
                ok = same(rewritten, target)
                if not ok and two_sided:
                    try:
                        ok = same(rewritten, apply(target))
                    except RuleError:
                        ok = False
                detail = ("rule applied; the result has the canonical form of the right-hand side"
                          if ok else "the rewritten left-hand side and the right-hand side have "
                                     "different canonical forms")
            if conditions:  # which procedure decided each side condition of the rule
                detail += "; side conditions: " + "; ".join(dict.fromkeys(conditions))
        if self.failure is not None:
            return
        if sides is None:
            sides = ("the definition", "the statement") if target == self.statement[1] else \
                ("the line before this step", "the line after it")
        self._record(Step(rule, justification, lhs, rhs, symbolic=ok, symbolic_detail=detail, sides=sides),
                     quantified)
        self.current = rhs

    def lemma(self, rule: str, justification: str, lhs: sp.Basic, rhs: sp.Basic,
              check: Callable[[], tuple[bool, str]], quantified: Quantified, part: str) -> None:
        """A side lemma lhs = rhs (e.g. [window inside the padded input] = 1) with its own check."""
        if self.failure is not None or self._past_deadline(rule):
            return
        ok, detail = check()
        self._record(Step(rule, justification, lhs, rhs, part=part, symbolic=ok, symbolic_detail=detail,
                          quantified=list(quantified), sides=("the lemma's left side", "its right side")),
                     quantified)

    def core(self, name: str, compare: Callable[[Instance], str | None],
             applies: Callable[[Instance], bool] | None = None) -> None:
        """Agreement with symconv's concrete forms at every drawn instance (at those where
        ``applies``, e.g. sizes the concrete form accepts; the count is recorded)."""
        rule = f"agreement with {name}"
        if self.failure is not None or self._past_deadline(rule):
            return
        compared = [i for i in self.instances if applies is None or applies(i)]
        with self._limits(len(self.steps), rule):
            for instance in compared:
                check_deadline()
                problem = compare(instance)
                if problem:
                    self.failure = Failure(len(self.steps), rule, problem,
                                           GeneralCounterexample(instance.described(), None, None,
                                                          error=problem))
                    break
        if self.failure is not None:
            return
        if compared:
            of = "" if len(compared) == len(self.instances) else f" of {len(self.instances)}"
            self.core_checks.append(f"{name} at {len(compared)}{of} instances")

    def finish(self, definitions, notes=(), notation=()) -> Derivation:
        holds = self.failure is None
        if holds and not same(self.current, self.statement[1]):
            self.failure = Failure(len(self.steps) - 1, self.steps[-1].rule if self.steps else "",
                                   "the chain does not end at the statement's right-hand side", None)
            holds = False
        return Derivation(self.theorem, self.dims, self.title, self.hypotheses, list(definitions),
                          self.statement, self.steps, holds, self.failure, self.core_checks,
                          len(self.instances), time.perf_counter() - self.started,
                          [*notes, *self.notes],
                          [(tuple(d), tuple(r)) for d, r in notation if len(d) > 1],
                          self.thresholds)
