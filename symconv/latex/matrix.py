"""LaTeX for sparse symbolic matrices: zeros as ``\\cdot``, elision, visible block structure.

A matrix prints as a bracketed ``array`` (or ``bmatrix`` when it is small and unstructured),
so arbitrarily wide matrices compile without ``\\setcounter{MaxMatrixCols}``. Block structure
is drawn with column rules ``|`` and ``\\hline``: ``blocks=(r, c)`` separates every r rows and
every c columns; a list of such pairs, coarsest first, draws nested levels. With
``rules="double"`` (the default) a boundary of the coarsest level is a double rule (``||``,
``\\hline\\hline``) and a finer one a single rule; MathJax draws every double rule as a single
one, so for HTML use ``rules="dashed"``: the coarsest level solid (``|``, ``\\hline``), finer
levels dashed (``:``, ``\\hdashline``), which MathJax draws natively and LaTeX with
``\\usepackage{arydshln}`` (TeX Live's latex-extra; load it after ``array``).

Above ``max_rows`` / ``max_cols`` the middle is elided: the first and last rows (columns) are
kept, whole blocks where a block fits, with ``\\vdots`` / ``\\cdots`` between and ``\\ddots``
where both meet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import SpecError
from .expr import latex_expr

__all__ = ["latex_matrix", "BMATRIX_MAX_COLS", "RULE_STYLES"]

BMATRIX_MAX_COLS = 10
"""amsmath's default MaxMatrixCols: wider matrices are printed as arrays."""

Blocks = tuple[int | None, int | None] | Sequence[tuple[int | None, int | None]] | None

RULE_STYLES = ("double", "dashed")

RULE_GAP = "0.5ex"
"""Extra depth of a row above a horizontal rule (``\\\\[0.5ex]``)."""
RULE_PAD = r"\,"
"""A thin space between a cell and the column rule beside it."""
RULE_STRUT = r"\rule{0pt}{2.7ex}"
"""A strut at the start of a row below a horizontal rule: its height, 2.7 ex, clears a subscripted
entry's superscripts and the rule."""


def _levels(blocks: Blocks, n: int, axis: int) -> list[int]:
    """Block sizes along one axis, coarsest first, keeping those that actually split n."""
    if blocks is None:
        return []
    pairs = [blocks] if isinstance(blocks[0], (int, type(None))) else list(blocks)
    sizes = []
    for pair in pairs:
        if len(pair) != 2:
            raise SpecError("blocks", blocks, "must be a (rows, cols) pair or a list of such pairs")
        size = pair[axis]
        if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer))):
            raise SpecError("blocks", blocks, "block sizes must be integers or None")
        if size is not None and 0 < size < n:
            sizes.append(int(size))
    return sizes


def _shown(n: int, limit: int | None, sizes: list[int], parameter: str) -> list[int | None]:
    """Indices to print (None marks the elision), keeping whole blocks at both ends if possible."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 2):
        raise SpecError(parameter, limit, "must be None or an integer ≥ 2")
    if limit is None or n <= limit:
        return list(range(n))
    head, tail = limit - limit // 2, limit // 2
    for size in sizes:  # coarsest block that fits at both ends
        if tail >= size:
            head, tail = head // size * size, tail // size * size
            break
    return [*range(head), None, *range(n - tail, n)]


def _rules(shown: list[int | None], sizes: list[int], style: str, axis: int) -> list[str]:
    """The rule before each shown index ('' for none) at the block boundaries between
    neighbours (beside the elision, the boundary between the shown index and its hidden
    neighbour). "double": one rule per level that has a boundary there, at most two;
    "dashed": solid where the coarsest level has a boundary, else dashed."""
    solid, dashed = ("|", ":") if axis == 1 else (r"\hline ", r"\hdashline ")
    rules = [""]
    for before, index in zip(shown, shown[1:]):
        position = before + 1 if index is None else index
        levels = [level for level, size in enumerate(sizes) if position % size == 0]
        if style == "double":
            rules.append(solid * min(2, len(levels)))
        else:
            rules.append("" if not levels else solid if levels[0] == 0 else dashed)
    return rules


def _padded(cells: list[str], col_rules: list[str]) -> list[str]:
    """The cells beside a column rule with a thin space on the rule's side (``RULE_PAD``), so
    that the rule never touches a subscript (also where the notes shrink a wide matrix)."""
    after = col_rules[1:] + [""]
    return [(RULE_PAD if before else "") + cell + (RULE_PAD if next_rule else "")
            for cell, before, next_rule in zip(cells, col_rules, after)]


def _entry(value: Any, zero: str, entry: Callable[[Any], str]) -> str:
    return zero if value == 0 else entry(value)


def latex_matrix(M: Any, zero: str = r"\cdot", max_rows: int | None = None,
                 max_cols: int | None = None, blocks: Blocks = None,
                 entry: Callable[[Any], str] = latex_expr, rules: str = "double") -> str:
    r"""LaTeX of a matrix (SymPy dense or sparse, NumPy array, or nested lists).

    ``zero`` replaces zero entries; ``max_rows``/``max_cols`` elide the middle of larger
    matrices; ``blocks`` draws the block structure and ``rules`` (``"double"`` or
    ``"dashed"``) how nested levels are told apart (see the module docstring); ``entry``
    prints a nonzero entry (numeric-order polynomials by default).

    >>> print(latex_matrix([[1, 0], [0, 2]]))
    \begin{bmatrix} 1 & \cdot \\ \cdot & 2 \end{bmatrix}
    >>> print(latex_matrix([[1, 0, 3], [0, 2, 0]], blocks=(None, 2)))
    \left[\begin{array}{@{}cc|c@{}} 1 & \cdot\, & \,3 \\ \cdot & 2\, & \,\cdot \end{array}\right]
    """
    shape = getattr(M, "shape", None) or np.shape(np.asarray(M, dtype=object))
    if len(shape) != 2:
        raise SpecError("M.shape", tuple(shape), "must be a 2-D matrix")
    if rules not in RULE_STYLES:
        raise SpecError("rules", rules, "must be 'double' or 'dashed'")
    n_rows, n_cols = int(shape[0]), int(shape[1])
    if n_rows == 0 or n_cols == 0:
        raise SpecError("M.shape", (n_rows, n_cols), "must have at least one row and one column")
    get = M.__getitem__ if hasattr(M, "shape") and not isinstance(M, np.ndarray) \
        else np.asarray(M, dtype=object).__getitem__
    row_sizes, col_sizes = _levels(blocks, n_rows, 0), _levels(blocks, n_cols, 1)
    rows = _shown(n_rows, max_rows, row_sizes, "max_rows")
    cols = _shown(n_cols, max_cols, col_sizes, "max_cols")
    row_rules, col_rules = _rules(rows, row_sizes, rules, 0), _rules(cols, col_sizes, rules, 1)

    lines = []
    for r, rule in zip(rows, row_rules):
        if r is None:
            cells = [r"\ddots" if c is None else r"\vdots" for c in cols]
        else:
            cells = [r"\cdots" if c is None else _entry(get((r, c)), zero, entry) for c in cols]
        if rule:  # room above the row: a rule never touches its superscripts
            cells[0] = RULE_STRUT + cells[0]
        lines.append(rule + " & ".join(_padded(cells, col_rules)))
    # room below the row before a rule, so that the rule never touches its subscripts
    body = "".join(line if index == 0 else (rf" \\[{RULE_GAP}] " if row_rules[index] else r" \\ ") + line
                   for index, line in enumerate(lines))
    if not row_sizes and not col_sizes and len(cols) <= BMATRIX_MAX_COLS:
        return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"
    spec = "".join(rule + "c" for rule in col_rules)
    return rf"\left[\begin{{array}}{{@{{}}{spec}@{{}}}} {body} \end{{array}}\right]"
