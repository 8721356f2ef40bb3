r"""Long displayed formulas broken across lines instead of shrunk: an estimate of the width of
a piece of math (in em of the body font) and a greedy line breaker at the places a reader
would break — before a top-level ``+``/``-`` and between the factors of a product — never
inside braces, ``\left…\right`` pairs or environments, never between ``\sum_{…}`` and its
summand.

The estimate reads the LaTeX the derivation printer writes (letters ≈ 0.5 em, scripts at 70 %,
stacked limits and fractions by their widest line); it errs on the wide side, and the breaker
leaves a margin, so a line it keeps never reaches the line width.

>>> math_width("x_{1}") < math_width("x_{1} + y_{2}")
True
>>> split_math(r"a + b + c", 2.0)
['a', '+ b', '+ c']
>>> split_math(r"\sum_{t=0}^{k - 1} w_{t} x_{t}", 3.0)
['\\sum_{t=0}^{k - 1} w_{t}', 'x_{t}']
"""

from __future__ import annotations

import re

__all__ = ["math_width", "split_math"]

_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[{}]|[_^]|\s+|.", re.S)
_ZERO = {r"\left", r"\right", r"\displaystyle", r"\mathrm", r"\mathbf", r"\operatorname",
         r"\limits", r"\bigl", r"\bigr", r"\biggl", r"\biggr", r"\mathsf", r"\footnotesize"}
_WIDE = {r"\sum": 1.45, r"\prod": 1.45, r"\quad": 1.0, r"\qquad": 2.0, r"\,": 0.17, r"\;": 0.28,
         r"\ ": 0.33, r"\bmod": 2.0, r"\cdot": 0.8, r"\otimes": 1.3, r"\times": 1.3,
         r"\le": 1.35, r"\leq": 1.35, r"\ge": 1.35, r"\geq": 1.35, r"\neq": 1.35, r"\iff": 2.2,
         r"\wedge": 1.1, r"\langle": 0.45, r"\rangle": 0.45, r"\lfloor": 0.5, r"\rfloor": 0.5}
_SPACED = {"=": 1.35, "+": 1.25, "-": 1.25, "<": 1.35, ">": 1.35, ",": 0.45, "(": 0.45,
           ")": 0.45, "[": 0.4, "]": 0.4, "|": 0.3, "'": 0.3}
_SCRIPT = 0.7
_BIG = (r"\sum", r"\prod")


def _groups(tokens: list[str], start: int) -> tuple[list[str], int]:
    """The tokens of the brace group opening at ``start`` (or the single token there)."""
    if start >= len(tokens):
        return [], start
    if tokens[start] != "{":
        return [tokens[start]], start + 1
    depth, end = 0, start
    for end in range(start, len(tokens)):
        depth += {"{": 1, "}": -1}.get(tokens[end], 0)
        if depth == 0:
            break
    return tokens[start + 1:end], end + 1


def _lines(tokens: list[str]) -> list[list[str]]:
    """The rows of a ``\\substack`` or ``smallmatrix`` body, split at top-level ``\\\\``."""
    rows: list[list[str]] = [[]]
    depth = 0
    for token in tokens:
        depth += {"{": 1, "}": -1}.get(token, 0)
        if token == "\\\\" and depth == 0:
            rows.append([])
        else:
            rows[-1].append(token)
    return rows


def _width(tokens: list[str]) -> float:
    total, index, big = 0.0, 0, False
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token.isspace() or token in _ZERO or token in ("&",):
            continue
        if token in ("_", "^"):
            group, index = _groups(tokens, index)
            script = _SCRIPT * _width(group)
            if big:  # limits stacked under/over the operator: the wider of the two counts
                total += max(0.0, script - _WIDE[r"\sum"])
            else:
                total += script
            continue
        big = token in _BIG
        if token == "{":
            group, index = _groups(tokens, index - 1)
            total += _width(group)
        elif token in (r"\frac", r"\dfrac"):
            top, index = _groups(tokens, index)
            bottom, index = _groups(tokens, index)
            total += max(_width(top), _width(bottom)) + 0.3
        elif token in (r"\substack", r"\text", r"\mbox"):
            group, index = _groups(tokens, index)
            total += max(_width(row) for row in _lines(group)) * (0.95 if token != r"\substack" else 1)
        elif token == r"\begin":
            name, index = _groups(tokens, index)
            end = tokens.index(r"\end", index) if r"\end" in tokens[index:] else len(tokens)
            rows = _lines(tokens[index:end])
            scale = _SCRIPT if "".join(name) == "smallmatrix" else 1.0
            total += max(_width(row) for row in rows) * scale
            _, index = _groups(tokens, end + 1)
        elif token in (r"\hat", r"\tilde", r"\bar", r"\overline"):
            group, index = _groups(tokens, index)
            total += _width(group)
        elif token in _WIDE:
            total += _WIDE[token]
        elif token in _SPACED:
            total += _SPACED[token]
        elif token.startswith("\\"):
            total += 0.6  # a Greek letter or another symbol
        else:
            total += 0.72 if token.isupper() else 0.52
    return total


def math_width(tex: str) -> float:
    """Estimated width of the math ``tex`` in display style, in em of the body font."""
    return _width(_TOKEN.findall(tex))


def _atoms(tex: str) -> list[str]:
    """``tex`` cut at its top-level spaces, each cut a possible break: none inside braces,
    ``\\left…\\right`` or environments, none after an operator, a relation or ``\\sum_{…}``."""
    pieces, current, depth = [], "", 0
    for token in _TOKEN.findall(tex):
        if token in ("{", r"\left", r"\begin"):
            depth += 1
        elif token in ("}", r"\right", r"\end"):
            depth -= 1
        if token.isspace() and depth == 0:
            pieces.append(current)
            current = ""
        else:
            current += token
    pieces.append(current)
    atoms: list[str] = []
    glue = False  # the previous piece binds to the next one
    for piece in filter(None, pieces):
        if atoms and (glue or piece in (r"\cdot", "=", ",")):
            atoms[-1] += " " + piece
        else:
            atoms.append(piece)
        glue = piece in ("+", "-", "=", r"\cdot", r"\le", r"\ge", r"\leq", r"\geq") \
            or piece.startswith(_BIG)
    return atoms


def split_math(tex: str, width: float) -> list[str]:
    """``tex`` as lines of estimated width at most ``width`` em (a line holds at least one
    unbreakable piece, so a single piece wider than ``width`` stays whole)."""
    lines: list[str] = []
    for atom in _atoms(tex):
        joined = f"{lines[-1]} {atom}" if lines else atom
        if lines and math_width(joined) <= width:
            lines[-1] = joined
        else:
            lines.append(atom)
    return lines
