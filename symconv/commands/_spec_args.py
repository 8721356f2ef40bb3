"""The layer flags shared by every command that takes one layer (``prove``, ``check``), and the
files of a user's own matrices (``prove --toeplitz FILE`` …, format in ``MATRIX_FORMAT``).

Not a command itself (``symconv.cli`` skips modules whose name starts with "_"). It declares the
flags and parses them into a ConvSpec, so every command accepts the same spelling of a layer.
"""

from __future__ import annotations

import argparse
import os
import re
import stat
from math import prod
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SpecError
from ..parsing import ExpansionBudget, parse_expression
from ..pattern import PADDING_MODES
from ..spec import CONVENTIONS, LAYOUTS, ConvSpec
from ..symbols import symbols


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """--in-channels … --layout: the ConvSpec fields with PyTorch's names. Each flag is also
    accepted in PyTorch's keyword spelling (``--in_channels``); a size takes one integer per axis
    as ``5,5``, ``5x5`` or ``5 5``."""
    layer = parser.add_argument_group(
        "the layer (ConvSpec fields, PyTorch's names)",
        "PyTorch's spellings work too (--in_channels 2); sizes take 5, 5,5, 5x5 or 5 5")
    _flag(layer, "in_channels", default="1", metavar="C", help="input channels (default 1)")
    _flag(layer, "out_channels", default="1", metavar="C", help="output channels (default 1)")
    _flag(layer, "kernel_size", required=True, nargs="+", action=_Sizes, metavar="K",
          help="3, or one per axis: 3,3 or 3x3 or 3 3")
    _flag(layer, "input_size", required=True, nargs="+", action=_Sizes, metavar="N",
          help="spatial input size, 5 or 5,5 (5x5, 5 5) or 3,3,3; its length sets 1-, 2- or 3-D")
    _flag(layer, "stride", default="1", nargs="+", action=_Sizes, metavar="S", help="1 or 2,1 (default 1)")
    _flag(layer, "padding", default="0", nargs="+", action=_Sizes, metavar="P",
          help="1, 1,0, per-side pairs 1:2,0:1 (before:after), valid or same (default 0)")
    _flag(layer, "dilation", default="1", nargs="+", action=_Sizes, metavar="D", help="1 or 2,2 (default 1)")
    _flag(layer, "groups", default="1", metavar="G", help="channel groups (default 1)")
    _flag(layer, "no_bias", action="store_true", help="a layer without bias")
    _flag(layer, "padding_mode", default="zeros", choices=PADDING_MODES)
    _flag(layer, "convention", default="cross-correlation", choices=CONVENTIONS,
          help="cross-correlation (PyTorch) or convolution (flipped kernel)")
    _flag(layer, "layout", default="NCHW", choices=LAYOUTS)


class _Sizes(argparse.Action):
    """A size flag's values as typed (``--input-size 5 5`` gives ['5', '5']). A word after them
    that names code (``mine:conv``) is a command's positional argument the flag swallowed:
    say so, instead of argparse's "required: MODULE:FUNCTION" for an argument that was given."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        for value in values:
            if ":" in value and re.search(r"[A-Za-z_]{2}", value):
                raise argparse.ArgumentError(self, f"{value!r} is not a size; give positional arguments "
                                                   "(MODULE:FUNCTION) before the layer flags")
        setattr(namespace, self.dest, values)


def _flag(group: argparse._ArgumentGroup, name: str, **options: Any) -> None:
    """The flag ``--name-with-dashes`` for the field ``name``, also parsed when spelled
    ``--name_with_underscores`` (PyTorch's keyword). Help and errors name the dash form only:
    the parser keeps its own map from every spelling to the action."""
    dashed = "--" + name.replace("_", "-")
    spellings = [dashed] if "_" not in name else [dashed, f"--{name}"]
    action = group.add_argument(*spellings, dest=name, **options)
    action.option_strings = [dashed]


def spec_from_args(args: argparse.Namespace) -> ConvSpec:
    return ConvSpec(
        in_channels=_ints("--in-channels", args.in_channels),
        out_channels=_ints("--out-channels", args.out_channels),
        kernel_size=_ints("--kernel-size", args.kernel_size),
        input_size=_ints("--input-size", args.input_size),
        stride=_ints("--stride", args.stride),
        padding=_padding(args.padding),
        dilation=_ints("--dilation", args.dilation),
        groups=_ints("--groups", args.groups),
        bias=not args.no_bias,
        padding_mode=args.padding_mode,
        convention=args.convention,
        layout=args.layout,
    )


_AXIS_SEPARATOR = re.compile(r"[,xX×]")
"""Between the axes of one size: '5,5', '5x5' and '5×5' (as ConvSpec.describe prints it)."""


def _axes(given: str | list[str]) -> tuple[str, list[str]]:
    """(the flag's text as typed, its per-axis parts): a flag's value(s) as argparse gives them,
    '5,5' or ['5', '5'] (from ``--input-size 5 5``), split at spaces, commas and x's.

    >>> _axes(["5", "5"])
    ('5 5', ['5', '5'])
    >>> _axes("3x3x3")
    ('3x3x3', ['3', '3', '3'])
    """
    text = given if isinstance(given, str) else " ".join(given)
    parts = [part for word in text.split() for part in _AXIS_SEPARATOR.split(word)]
    return text, parts or [text]  # an empty value stays one (invalid) part: an error, not ()


def _ints(parameter: str, given: str | list[str]) -> int | tuple[int, ...]:
    """'3' → 3; '3,3', '3x3' and ['3', '3'] (``3 3`` on the command line) → (3, 3).

    >>> _ints("--input-size", ["5x5"]), _ints("--input-size", ["5", "5"]), _ints("--groups", "2")
    ((5, 5), (5, 5), 2)
    """
    text, parts = _axes(given)
    try:
        values = tuple(int(part) for part in parts)
    except ValueError:
        raise SpecError(parameter, text, "must be an integer or one integer per axis, "
                                         "e.g. 3 or 3,3 (also 3x3 or 3 3)") from None
    return values[0] if len(values) == 1 else values


def _padding(given: str | list[str]) -> Any:
    """'1', '1,2' (also '1x2', '1 2'), '1:2,0:1' (before:after per axis), 'valid' or 'same'."""
    text, parts = _axes(given)
    if text in ("valid", "same"):
        return text
    rule = ("must be an integer, one integer per axis (1,2 or 1x2 or 1 2), before:after pairs "
            "per axis like 1:2,0:1, 'valid' or 'same'")
    try:
        axes = [tuple(int(v) for v in part.split(":")) for part in parts]
    except ValueError:
        raise SpecError("--padding", text, rule) from None
    if any(len(axis) > 2 for axis in axes):
        raise SpecError("--padding", text, rule)
    if len(axes) == 1 and len(axes[0]) == 1:
        return axes[0][0]
    return tuple(axis[0] if len(axis) == 1 else axis for axis in axes)


# ---- a user's matrix from a text file -------------------------------------------------------------
MATRIX_FORMAT = """\
matrix files (--toeplitz, --im2col, --kernel-matrix, --output): plain text, one row per line,
entries separated by commas (a comma inside {} or () does not split). An entry is a polynomial
in the layer's symbols x_{c,i,j}, w_{o,c,p,q}, b_{o} (indices as in 'symconv prove --json')
with integers, + - * / ^ and parentheses; a space multiplies (w_{0,0,1} x_{0,2}); 0 or . is a
zero; '#' starts a comment. Entries are read by a fixed grammar, never run as Python (exponents
and numbers are bounded, see symconv.parsing). The rows and columns are those of T (C_out*prod(out) x C_in*prod(in)),
P and K (--order), or, for --output, the output's first axis by the rest flattened row-major.
Example, T of a 1-D layer (kernel 2, input 3, no bias):
    w_{0,0,0}, w_{0,0,1}, 0
    0, w_{0,0,0}, w_{0,0,1}"""

MATRIX_FLAGS = {"toeplitz": "--toeplitz", "im2col": "--im2col", "kernel_matrix": "--kernel-matrix",
                "output": "--output"}
_SYMBOL = re.compile(r"([A-Za-z]\w*)_\{([^{}]*)\}")
_ALLOWED = re.compile(r"[\s\d+\-*/^()]*")
_ODD_SPACE = re.compile(r"[^\S \t]")  # white space other than a space or a tab
MAX_MATRIX_BYTES = 64 * 2**20
"""The largest matrix file read, in bytes: every entry becomes a SymPy object of a dense matrix,
so a larger file would exhaust memory before any check; check larger matrices through the Python
API with a SymPy sparse matrix."""


def add_matrix_arguments(parser: argparse.ArgumentParser) -> None:
    """--toeplitz FILE, --im2col FILE, --kernel-matrix FILE, --output FILE (MATRIX_FORMAT)."""
    given = parser.add_argument_group("your own forms to check (text files, format below)")
    given.add_argument("--toeplitz", metavar="FILE", help="check this T instead of symconv's")
    given.add_argument("--im2col", metavar="FILE", help="check this patch matrix P")
    given.add_argument("--kernel-matrix", metavar="FILE", help="check this kernel matrix K")
    given.add_argument("--output", metavar="FILE", help="check this output y of the layer")


def matrices_from_args(args: argparse.Namespace, spec: ConvSpec, shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    """{prove() keyword: the matrix read from its file} for each matrix flag given; ``shapes``
    are the shapes prove() expects (the output as an array of ``spec.output_shape``)."""
    names = {str(s): s for array in symbols(spec) if array is not None for s in array.flat}
    found = {}
    for keyword, flag in MATRIX_FLAGS.items():
        path = getattr(args, keyword)
        if path is None:
            continue
        shape = shapes[keyword]
        rows = read_matrix(path, flag, names, (shape[0], prod(shape[1:])))
        found[keyword] = np.array(rows.tolist(), dtype=object).reshape(shape) if keyword == "output" else rows
    return found


def read_matrix(path: str, flag: str, names: dict[str, sp.Symbol], shape: tuple[int, int]) -> sp.Matrix:
    """The matrix of a MATRIX_FORMAT file; SpecError naming the file, line and entry otherwise."""
    try:
        status = os.stat(path)
        if not stat.S_ISREG(status.st_mode):  # a FIFO or device would block or never end
            raise SpecError(flag, path, "must be a regular file (not a pipe, device or directory)")
        if status.st_size > MAX_MATRIX_BYTES:
            raise SpecError(flag, path, f"has {status.st_size} bytes; a matrix file may have at most "
                                        f"{MAX_MATRIX_BYTES} (symconv.commands._spec_args.MAX_MATRIX_BYTES)")
        with open(path, encoding="utf-8-sig") as file:  # -sig: a byte-order mark is not an entry
            text = file.read(MAX_MATRIX_BYTES + 1)
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(flag, path, f"cannot be read ({error.__class__.__name__}: {error})") from None
    if len(text) > MAX_MATRIX_BYTES:  # grew while read
        raise SpecError(flag, path, f"a matrix file may have at most {MAX_MATRIX_BYTES} bytes")
    rows, budget = [], ExpansionBudget(flag)
    # only a line end ('\n'; open() made '\r\n' and '\r' one) ends a row: str.splitlines would also
    # split at \f, \x1c, \x85, U+2028, and inside an entry they would be blanks that multiply
    for number, line in enumerate(text.split("\n"), start=1):
        odd = _ODD_SPACE.search(line)
        if odd:
            raise SpecError(flag, f"{path}:{number}: U+{ord(odd.group()):04X}", "only spaces and tabs may separate "
                            "the parts of a row; a row ends at a line feed ('\\n' or '\\r\\n')")
        line = line.split("#", 1)[0].strip()
        if line:
            rows.append([_entry(entry, f"{path}:{number}", flag, names, column)
                         for column, entry in enumerate(_split(line), start=1)])
            for column, entry in enumerate(rows[-1], start=1):  # stop reading a file too large to expand
                budget.spend(f"{path}:{number} entry {column}", entry)
    n_rows, n_cols = shape
    if len(rows) != n_rows:
        raise SpecError(flag, f"{path}: {len(rows)} rows", f"must have {n_rows} rows of {n_cols} entries")
    for number, row in enumerate(rows, start=1):
        if len(row) != n_cols:
            raise SpecError(flag, f"{path}: row {number} has {len(row)} entries",
                            f"every row must have {n_cols} entries ({n_rows} × {n_cols})")
    return sp.Matrix(rows)


def matrix_text(M: Any) -> str:
    """A matrix in MATRIX_FORMAT (what ``read_matrix`` reads back)."""
    rows = M.tolist() if hasattr(M, "tolist") else M
    return "".join(", ".join(str(value) for value in row) + "\n" for row in rows)


def _split(line: str) -> list[str]:
    """Split at the commas outside braces and parentheses."""
    parts, depth, start = [], 0, 0
    for position, ch in enumerate(line):
        depth += {"{": 1, "(": 1, "[": 1, "}": -1, ")": -1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(line[start:position])
            start = position + 1
    return parts + [line[start:]]


def _entry(text: str, where: str, flag: str, names: dict[str, sp.Symbol], column: int = 1) -> sp.Expr:
    """One entry: the layer's symbols, integers and + - * / ^ ( ) only, read by
    ``symconv.parsing`` (a fixed grammar, no eval; bounded powers and sizes)."""
    text = text.strip()
    if text in ("0", "."):
        return sp.Integer(0)
    if text in names:  # the common case of a file symconv wrote
        return names[text]
    rule = ("entries may use only integers, + - * / ^ ( ), spaces and the layer's symbols "
            "x_{c,...}, w_{o,c,...}, b_{o} with indices in range")

    def indexed(match: re.Match) -> str:
        """x_{0, 1} as the tensor entry x_[0, 1] (same length: the parser's columns are the
        entry's); a tensor entry ends in ']', so it cannot fuse with a digit that follows."""
        name = f"{match.group(1)}_{{{','.join(part.strip() for part in match.group(2).split(','))}}}"
        if name not in names:
            raise SpecError(flag, f"{where}: {match.group(0)}", "is not a symbol of this layer; " + rule)
        return f"{match.group(1)}_[{match.group(2)}]"

    stripped = _SYMBOL.sub(" ", text)
    if not text or not _ALLOWED.fullmatch(stripped):
        raise SpecError(flag, f"{where}: {text!r}", rule)
    source = _SYMBOL.sub(indexed, text)
    tensors = {f"{base}_": sp.IndexedBase(f"{base}_") for base, _ in _SYMBOL.findall(text)}
    try:
        parsed = parse_expression(source, tensors, parameter=flag, functions={}, implicit_multiplication=True)
    except SpecError as error:
        raise SpecError(flag, f"{where}: {text!r}", f"entry {column}: {error.rule}") from None
    return parsed.xreplace({entry: names[f"{entry.base}{{{','.join(map(str, entry.indices))}}}"]
                            for entry in parsed.atoms(sp.Indexed)})
