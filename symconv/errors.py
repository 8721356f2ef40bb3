"""The errors symconv raises on bad input: each names the parameter, the value and the rule."""

from __future__ import annotations

from typing import Any


class SpecError(ValueError):
    """A hyperparameter or argument breaks a rule.

    The message always has the form ``"<parameter>=<value>: <rule>"`` so a person can find
    the argument to fix without reading a traceback.
    """

    def __init__(self, parameter: str, value: Any, rule: str) -> None:
        self.parameter = parameter
        self.value = value
        self.rule = rule
        super().__init__(f"{parameter}={value!r}: {rule}")
