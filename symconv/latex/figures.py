r"""Structure figures of the forms: the nonzero pattern of T (blocks outlined) and of the im2col
patch matrix P, as PDF/PNG (matplotlib, imported on first use, Agg backend) or as TikZ.

The pictures are drawn from the forms themselves, evaluated on exact integers, so they cannot
disagree with the matrices the proof checks:

    toeplitz:  T built from the weights w[o, c, t] = t + 1, so an entry is 1 + the kernel tap it
               multiplies (a sum of such where a padding mode folds taps together);
    im2col:    P built from the input x[c, i] = i + 1, so an entry is 1 + the input position it
               copies (0 where it reads a zero of the padding).
"""

from __future__ import annotations

import io
import os
from math import prod
from pathlib import Path

import numpy as np

from ..errors import SpecError, one_of
from ..forms import im2col
from ..forms.im2col import factor_shapes
from ..forms.toeplitz import toeplitz_entries
from ..spec import ConvSpec, check_spec
from ..symbols import from_canonical_input, from_canonical_weight
from .build import write_atomically
from .structure import Level, patches_blocks, toeplitz_blocks

__all__ = ["MAX_FIGURE_CELLS", "check_figure_size", "structure_matrix", "structure_figure", "structure_tikz",
           "figure_content", "write_figure",
           "figure_files",
           "KINDS", "FORMATS"]

KINDS = ("toeplitz", "im2col")
FORMATS = ("pdf", "png")
_LEGEND = {"toeplitz": "1 + kernel tap", "im2col": "1 + input position"}


def _check_kind(kind: str) -> None:
    one_of("kind", kind, KINDS)


MAX_FIGURE_CELLS = 16 * 2**20
"""The most cells (rows × columns) a figure's matrix may have: it is held densely (8 bytes per
cell, 128 MiB at the limit), and a 150-dpi figure shows far fewer pixels anyway."""


def check_figure_size(spec: ConvSpec, kind: str = "toeplitz", order: str = "unfold",
                      max_cells: int = MAX_FIGURE_CELLS) -> None:
    """SpecError naming the matrix, its shape and the limit if the figure of ``kind`` would hold
    more than ``max_cells`` cells; by arithmetic, so the CLI can refuse before any proof runs.

    >>> check_figure_size(ConvSpec(1, 1, 3, (128, 128)))  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: figure='toeplitz': T is 15876 × 16384 = 260112384 cells, more than the 16777216 a
    figure may draw (symconv.latex.figures.MAX_FIGURE_CELLS)
    """
    check_spec(spec)  # a subclass could draw one layer and name another
    _check_kind(kind)
    rows, cols = spec.toeplitz_shape if kind == "toeplitz" else factor_shapes(spec, order)[0]
    if rows * cols > max_cells:
        name = "T" if kind == "toeplitz" else "P"
        raise SpecError("figure", kind, f"{name} is {rows} × {cols} = {rows * cols} cells, more than the "
                                        f"{max_cells} a figure may draw (symconv.latex.figures.MAX_FIGURE_CELLS)")


def structure_matrix(spec: ConvSpec, kind: str = "toeplitz", order: str = "unfold") -> np.ndarray:
    """The integer matrix drawn by the figures (see the module docstring); 0 = structural zero."""
    check_figure_size(spec, kind, order)
    if kind == "toeplitz":
        taps = np.arange(1, prod(spec.kernel_size) + 1).reshape(spec.kernel_size)
        w = np.broadcast_to(taps, (spec.out_channels, spec.in_per_group, *spec.kernel_size))
        matrix = np.zeros(spec.toeplitz_shape, dtype=np.int64)
        for (r, c), value in toeplitz_entries(spec, from_canonical_weight(spec, w.astype(object))).items():
            matrix[r, c] = int(value)
        return matrix
    positions = np.arange(1, prod(spec.input_size) + 1).reshape(spec.input_size)
    x = np.broadcast_to(positions, (spec.in_channels, *spec.input_size)).astype(object)
    return np.array(im2col(spec, from_canonical_input(spec, x), order=order).tolist(), dtype=np.int64)


def blocks_of(spec: ConvSpec, kind: str, order: str = "unfold") -> list[Level]:
    return toeplitz_blocks(spec) if kind == "toeplitz" else patches_blocks(spec, order)


MAX_RULES = 40
"""A level with more boundaries than this on an axis is not drawn: it would be a grey mesh."""


def _boundaries(levels: list[Level], axis: int, n: int) -> list[tuple[int, int]]:
    """[(position, level)] of block boundaries inside 0..n (level 0 = coarsest)."""
    seen: dict[int, int] = {}
    for level, pair in enumerate(levels):
        size = pair[axis]
        if size and 0 < size < n and n // size <= MAX_RULES:
            for position in range(size, n, size):
                seen.setdefault(position, level)
    return sorted(seen.items())


def structure_figure(spec: ConvSpec, kind: str = "toeplitz", fmt: str = "pdf",
                     order: str = "unfold", dpi: int = 150) -> bytes:
    """The figure as PDF or PNG bytes: nonzeros coloured (zeros white), block boundaries drawn
    (thicker for coarser levels), the shape in the title."""
    _check_kind(kind)
    one_of("fmt", fmt, FORMATS)
    try:
        import matplotlib
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise SpecError("figure", kind, "needs matplotlib: pip install 'symconv[figures]'") from error
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    matrix = structure_matrix(spec, kind, order)
    rows, cols = matrix.shape
    width = 6.0
    height = min(max(width * rows / cols, 1.6), 8.0) + 0.8
    figure = Figure(figsize=(width + 1.0, height), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(np.ma.masked_equal(matrix, 0), cmap="viridis", interpolation="nearest",
                        aspect="auto" if max(rows / cols, cols / rows) > 8 else "equal")
    levels = blocks_of(spec, kind, order)
    for position, level in _boundaries(levels, 0, rows):
        axes.axhline(position - 0.5, color="black" if level == 0 else "0.45", linewidth=1.2 if level == 0 else 0.6)
    for position, level in _boundaries(levels, 1, cols):
        axes.axvline(position - 0.5, color="black" if level == 0 else "0.45", linewidth=1.2 if level == 0 else 0.6)
    name = "T" if kind == "toeplitz" else "P"
    axes.set_title(f"{name}: {rows} x {cols}, {int((matrix != 0).sum())} nonzeros", fontsize=10)
    axes.set_xlabel("column")
    axes.set_ylabel("row")
    figure.colorbar(image, ax=axes, shrink=0.8, label=_LEGEND[kind])
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=dpi)
    return buffer.getvalue()


def structure_tikz(spec: ConvSpec, kind: str = "toeplitz", order: str = "unfold",
                   width_cm: float = 12.0, max_cells: int = 20000) -> str:
    r"""A ``tikzpicture`` of the nonzero pattern (runs of nonzeros in a row as one rectangle)
    with the block boundaries; needs ``\usepackage{tikz}``. Refuses more than ``max_cells``
    nonzeros (TeX would crawl): use ``structure_figure`` for big layers."""
    _check_kind(kind)
    matrix = structure_matrix(spec, kind, order)
    rows, cols = matrix.shape
    if int((matrix != 0).sum()) > max_cells:
        raise SpecError("figure", "tikz", f"{int((matrix != 0).sum())} nonzeros exceed max_cells={max_cells}; "
                                          "draw a PDF/PNG figure instead")
    unit = min(0.3, width_cm / cols)
    lines = [rf"\begin{{tikzpicture}}[x={unit:.4f}cm, y=-{unit:.4f}cm]"]
    for r in range(rows):
        nonzero = np.flatnonzero(matrix[r])
        runs = np.split(nonzero, np.flatnonzero(np.diff(nonzero) != 1) + 1) if nonzero.size else []
        lines += [rf"\fill[black!65] ({run[0]},{r}) rectangle ({run[-1] + 1},{r + 1});" for run in runs]
    levels = blocks_of(spec, kind, order)
    for position, level in _boundaries(levels, 0, rows):
        lines.append(rf"\draw[{'red, thick' if level == 0 else 'red!60'}] (0,{position}) -- ({cols},{position});")
    for position, level in _boundaries(levels, 1, cols):
        lines.append(rf"\draw[{'red, thick' if level == 0 else 'red!60'}] ({position},0) -- ({position},{rows});")
    lines += [rf"\draw (0,0) rectangle ({cols},{rows});", r"\end{tikzpicture}"]
    return "\n".join(lines)


def figure_content(spec: ConvSpec, path: str | os.PathLike, kind: str = "toeplitz",
                   order: str = "unfold") -> str | bytes:
    """The figure for ``path``, whose suffix picks the format: .pdf, .png, or .tex (TikZ)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix == "tex":
        return structure_tikz(spec, kind, order) + "\n"
    if suffix not in FORMATS:
        raise SpecError("figure", str(path), "the file name must end in .pdf, .png or .tex (TikZ)")
    return structure_figure(spec, kind, suffix, order)


def write_figure(spec: ConvSpec, path: str | os.PathLike, kind: str = "toeplitz",
                 order: str = "unfold") -> Path:
    """Write ``figure_content`` to ``path`` atomically."""
    return write_atomically(path, figure_content(spec, path, kind, order))


def figure_files(spec: ConvSpec, fmt: str = "pdf", order: str = "unfold",
                 stem: str = "symconv") -> tuple[dict[str, str], dict[str, bytes]]:
    """Both figures for ``proof_to_latex(figures=...)`` and ``compile_latex(extra_files=...)``:
    ({kind: file name}, {file name: content})."""
    names = {kind: f"{stem}-{kind}.{fmt}" for kind in KINDS}
    return names, {names[kind]: structure_figure(spec, kind, fmt, order) for kind in KINDS}
