"""One layer written on the command line in its framework's own words (``symconv diff``):

    SIDE   := FRAMEWORK (' ' KEY '=' VALUE)*
    VALUE  := INT | INT ',' INT … | INT ':' INT ',' … (before:after pairs) | NAME | NAME ',' NAME …
              | 'text' | "text" | true | false | none

e.g. ``"tensorflow input_shape=1,9,9,3 filter_shape=4,4,3,8 strides=2 padding=SAME"``. Values are
read by this fixed grammar, never evaluated (no eval, sympify or literal_eval); an INT list with a
trailing comma (``2,``) is a tuple of one. The keys are the framework's own argument names (those
of its preset in ``symconv.frameworks``, or of the torch module, the ONNX node, the Keras layer it
builds); an unknown key is refused with the keys the framework takes.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from ..errors import SpecError

_INT = r"-?\d+"
_NAME = r"[A-Za-z_][A-Za-z0-9_.]*"
_GRAMMAR = (
    (re.compile(rf"{_INT}"), lambda text: int(text)),
    (re.compile(rf"(?:{_INT},)+(?:{_INT})?"), lambda text: tuple(int(v) for v in text.split(",") if v)),
    (re.compile(rf"{_INT}:{_INT}(?:,{_INT}:{_INT})*"),
     lambda text: tuple(tuple(int(v) for v in pair.split(":")) for pair in text.split(","))),
    (re.compile(r"true|True|false|False"), lambda text: text.lower() == "true"),
    (re.compile(r"none|None"), lambda text: None),
    (re.compile(_NAME), lambda text: text),
    (re.compile(rf"{_NAME}(?:,{_NAME})+"), lambda text: tuple(text.split(","))),
    (re.compile(r"'[^'\"]*'|\"[^'\"]*\""), lambda text: text[1:-1]),
)
VALUE_RULE = ("must be an integer, integers separated by commas (1,9,9,3), before:after pairs (1:2,0:1), a name "
              "(SAME, NHWC), names separated by commas, a quoted text, true, false or none")


def value_of(key: str, text: str) -> Any:
    """The value of ``key=text`` by the grammar above (the first rule that matches all of it).

    >>> value_of("strides", "2"), value_of("input_shape", "1,9,9,3"), value_of("padding", "1:2,0:1")
    (2, (1, 9, 9, 3), ((1, 2), (0, 1)))
    >>> value_of("padding", "SAME"), value_of("dimension_numbers", "NHWC,HWIO,NHWC"), value_of("bias", "false")
    ('SAME', ('NHWC', 'HWIO', 'NHWC'), False)
    >>> value_of("padding", "__import__('os')")
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: padding="__import__('os')": must be an integer, integers separated by commas \
(1,9,9,3), before:after pairs (1:2,0:1), a name (SAME, NHWC), names separated by commas, a quoted text, \
true, false or none
    """
    for pattern, read in _GRAMMAR:
        if pattern.fullmatch(text):
            return read(text)
    raise SpecError(key, text, VALUE_RULE)


def split_side(text: str, parameter: str) -> tuple[str, dict[str, Any]]:
    """(framework, {key: value}) of a SIDE; SpecError naming the side for a word that is not
    KEY=VALUE or a key given twice.

    >>> split_side("onnx op=Conv strides=2,2 auto_pad=SAME_LOWER", "SIDE_A")
    ('onnx', {'op': 'Conv', 'strides': (2, 2), 'auto_pad': 'SAME_LOWER'})
    """
    words = text.split()
    if not words:
        raise SpecError(parameter, text, "must name a framework, then KEY=VALUE words")
    found: dict[str, Any] = {}
    for word in words[1:]:
        key, equals, value = word.partition("=")
        if not equals or not re.fullmatch(r"[A-Za-z_]\w*", key):
            raise SpecError(parameter, word, "every word after the framework must be KEY=VALUE, e.g. strides=2")
        if key in found:
            raise SpecError(parameter, word, f"{key} is given twice")
        found[key] = value_of(key, value)
    return words[0], found


def check_keys(framework: str, given: dict[str, Any], allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> None:
    """SpecError naming the first key the framework does not take, or a required key missing."""
    for key in given:
        if key not in allowed:
            raise SpecError(key, given[key], f"is not an argument of {framework} here (it takes: {', '.join(allowed)})")
    for key in required:
        if key not in given:
            raise SpecError(key, None, f"is required by {framework}")


def preset_keys(preset: Callable[..., Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(every argument name, the required ones) of a preset function."""
    parameters = inspect.signature(preset).parameters.values()
    return (tuple(p.name for p in parameters),
            tuple(p.name for p in parameters if p.default is inspect.Parameter.empty))
