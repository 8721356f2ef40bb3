"""A budget of seconds for explaining a failure: the diagnosis gives up when it runs out, so the
verdict (already found) never waits long on it and never runs into the check's deadline."""

from __future__ import annotations

from typing import Any

from ..deadline import Deadline


class OverBudget(Exception):
    """The diagnosis ran out of its budget (raised between calls of fn)."""


class Budget:
    """The check's deadline with a budget of seconds, at most half the time the deadline has
    left, after which ``check`` raises OverBudget; everything else is the deadline's.

    >>> from symconv.deadline import Deadline
    >>> Budget(Deadline(10.0), 60.0).budget <= 5.0
    True
    """

    def __init__(self, limit: Deadline, seconds: float) -> None:
        allowed = min(seconds, max(0.0, limit.seconds - limit.elapsed()) / 2)
        self.__dict__.update(_limit=limit, _until=limit.elapsed() + allowed, budget=allowed)

    def check(self) -> None:
        self._limit.check()
        if self._limit.elapsed() > self._until:
            raise OverBudget

    def __getattr__(self, name: str) -> Any:
        return getattr(self._limit, name)
