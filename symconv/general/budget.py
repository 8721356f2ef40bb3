"""The limits of a derivation's work: a wall-clock deadline and a cap on the summands one
evaluation visits, held in a context variable so that every loop of the engine (evaluation,
canonical forms, solver queries, comparisons with symconv's matrices) can check them.

A leaf module (it imports nothing of symconv), so the evaluator, the canonical forms and the
SMT solver can all import it without importing one another.

Exceeding a limit raises ``LimitExceeded``: the instance or step says nothing either way, so a
derivation that meets one is NOT PROVED (never refuted).

>>> with limits(seconds=0.0, started=0.0):
...     check_deadline()
Traceback (most recent call last):
...
symconv.general.budget.LimitExceeded: deadline of 0 s exceeded
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


class LimitExceeded(RuntimeError):
    """An evaluation would exceed a limit (terms, size of a power, the deadline): the instance
    says nothing either way, so a derivation that meets one is NOT PROVED (never refuted)."""


MAX_TERMS = 10 ** 6
"""Summands one top-level evaluation may visit (nested sums and defined tensors included)."""


@dataclass
class Limits:
    """The limits of the evaluations in a context: an absolute ``time.perf_counter`` deadline
    (None: none) with its length in seconds for messages, the terms left to the current
    top-level evaluation, and the evaluation depth (defined tensors evaluate inside one)."""

    deadline: float | None = None
    seconds: float | None = None
    max_terms: int = MAX_TERMS
    left: int = MAX_TERMS
    depth: int = 0

    def check_deadline(self) -> None:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise LimitExceeded(f"deadline of {self.seconds:g} s exceeded")

    def spend(self, terms: int, what: object) -> None:
        """Account ``terms`` summands (of the sum over ``what``) to the current evaluation,
        before visiting them."""
        if terms > self.left:
            raise LimitExceeded(f"the sum over {what} has {terms} terms at this instance; one "
                                f"evaluation may visit at most {self.max_terms} (MAX_TERMS)")
        self.left -= terms
        self.check_deadline()


_LIMITS: ContextVar[Limits | None] = ContextVar("symconv_evaluation_limits", default=None)


@contextmanager
def limits(seconds: float | None = None, started: float | None = None,
           max_terms: int = MAX_TERMS) -> Iterator[Limits]:
    """Evaluations inside the block stop at ``started + seconds`` (perf_counter time; now by
    default) and visit at most ``max_terms`` summands each."""
    start = time.perf_counter() if started is None else started
    bounds = Limits(None if seconds is None else start + seconds, seconds, max_terms, max_terms)
    token = _LIMITS.set(bounds)
    try:
        yield bounds
    finally:
        _LIMITS.reset(token)


def current() -> Limits | None:
    """The limits of the enclosing ``limits`` block (None outside any)."""
    return _LIMITS.get()


def check_deadline() -> None:
    """Raise LimitExceeded if the enclosing ``limits`` block's deadline has passed (for loops
    that do not go through ``evaluate``, e.g. the comparisons with symconv's matrices)."""
    bounds = _LIMITS.get()
    if bounds is not None:
        bounds.check_deadline()


def remaining_seconds() -> float | None:
    """Seconds left before the enclosing ``limits`` block's deadline (None: no deadline);
    LimitExceeded when none are left. Solvers called inside cap their timeouts by it."""
    bounds = _LIMITS.get()
    if bounds is None or bounds.deadline is None:
        return None
    bounds.check_deadline()
    return bounds.deadline - time.perf_counter()
