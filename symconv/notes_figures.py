"""Teaching figures of the lecture notes, as PNG bytes (matplotlib, Agg): small matrices drawn
entry by entry with their labels, and a network drawn as the MLP it is.

Every picture is drawn from :func:`symconv.latex.figures.structure_matrix` (the forms evaluated
on integers: an entry of T is 1 + the kernel tap it multiplies, an entry of P is 1 + the input
position it copies), so it cannot disagree with the matrices the proofs check. Colours are
discrete, one per tap (or input position, or channel block), never a gradient.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import numpy as np

from .errors import SpecError
from .latex.figures import structure_matrix
from .spec import ConvSpec

Label = Callable[[int, int, int], str]
"""(row, column, value) → the text of a nonzero entry."""

MAX_CELLS = 400
"""The most entries a labelled grid may have (beyond, the labels are unreadable)."""


def _figure(width: float, height: float):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), layout="constrained")


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def grid_figure(matrix: np.ndarray, label: Label, rows: Sequence[str], columns: Sequence[str],
                title: str, colour: Callable[[int, int, int], int] | None = None) -> bytes:
    """``matrix`` as a grid: a nonzero entry filled with the discrete colour ``colour(r, c, v)``
    (default: its value) and labelled ``label(r, c, v)``; zeros left white; rows and columns
    named by ``rows`` and ``columns`` (mathtext)."""
    height, width = matrix.shape
    if height * width > MAX_CELLS:
        raise SpecError("figure", f"{height} × {width}", f"a labelled grid has at most {MAX_CELLS} entries")
    colour = colour or (lambda r, c, v: v)
    figure = _figure(1.0 + 0.55 * width, 0.9 + 0.45 * height)
    axes = figure.add_subplot()
    palette = _palette()
    for r in range(height):
        for c in range(width):
            value = int(matrix[r, c])
            face = palette(colour(r, c, value) % 20) if value else "white"
            axes.add_patch(_rectangle(c, r, face))
            if value:
                axes.text(c + 0.5, r + 0.5, label(r, c, value), ha="center", va="center", fontsize=9)
    axes.set_xlim(0, width)
    axes.set_ylim(height, 0)
    axes.set_aspect("equal")
    axes.set_xticks(np.arange(width) + 0.5, list(columns), fontsize=9)
    axes.set_yticks(np.arange(height) + 0.5, list(rows), fontsize=9)
    axes.xaxis.tick_top()
    axes.tick_params(length=0)
    axes.set_title(title, fontsize=10)
    return _png(figure)


def _palette():
    from matplotlib import colormaps
    return colormaps["tab20"]


def _rectangle(x: float, y: float, face):
    from matplotlib.patches import Rectangle
    return Rectangle((x, y), 1, 1, facecolor=face, edgecolor="0.6", linewidth=0.6)


def _names(symbol: str, count: int) -> list[str]:
    return [f"${symbol}_{{{i}}}$" for i in range(count)]


def sliding_window_figure(spec: ConvSpec) -> bytes:
    """The kernel sliding over a 1-D input: row o is output y_o, the window it reads is the run
    of taps w_k under the inputs x_i (row o of T)."""
    matrix = structure_matrix(spec, "toeplitz")
    rows, cols = matrix.shape
    return grid_figure(matrix, lambda r, c, v: f"$w_{{{v - 1}}}$", _names("y", rows), _names("x", cols),
                       "output $y_o$ (row) reads the inputs under the kernel (columns)")


def channel_blocks_figure(spec: ConvSpec) -> bytes:
    """T of a 1-D layer with channels: entry w_{o,c,k}, one colour per (output, input) channel
    block, so the C_out × C_in grid of Toeplitz blocks shows."""
    matrix = structure_matrix(spec, "toeplitz")
    (n_out,), (n,) = spec.output_size, spec.input_size
    per_group = spec.in_per_group

    def weight(r: int, c: int, v: int) -> str:
        return f"$w_{{{r // n_out}{c // n % per_group}{v - 1}}}$"

    rows = [f"$y_{{{r // n_out},{r % n_out}}}$" for r in range(matrix.shape[0])]
    columns = [f"$x_{{{c // n},{c % n}}}$" for c in range(matrix.shape[1])]
    return grid_figure(matrix, weight, rows, columns,
                       r"$T$: block $(o, c)$ is the Toeplitz matrix of $w_{o,c,\cdot}$",
                       colour=lambda r, c, v: 2 * ((r // n_out) * spec.in_channels + c // n))


def scatter_figure(spec: ConvSpec) -> bytes:
    """The transposed convolution as a scatter: column s of Tᵀ holds the taps w_k that g_s adds
    to the positions it reaches (rows)."""
    matrix = structure_matrix(spec, "toeplitz").T
    rows, cols = matrix.shape
    stride = spec.stride[0]
    return grid_figure(matrix, lambda r, c, v: f"$w_{{{v - 1}}}$", _names("z", rows), _names("g", cols),
                       f"$g_s$ adds $w_k g_s$ to $z_{{{stride}s+k}}$")


def im2col_figure(spec: ConvSpec) -> bytes:
    """The patch matrix P (unfold layout) with every entry named by the input it copies, one
    colour per input position: the same input recurs, shifted, in every row."""
    matrix = structure_matrix(spec, "im2col")
    shape = spec.input_size

    def position(r: int, c: int, v: int) -> str:
        return "$x_{" + ",".join(map(str, np.unravel_index(v - 1, shape))) + "}$"

    taps, positions = matrix.shape
    return grid_figure(matrix, position, [f"$t={t}$" for t in range(taps)], _names("s", positions),
                       "$P$: row $t$ (kernel tap) lists what the tap reads at output position $s$")


def network_figure(layers: Sequence[ConvSpec]) -> bytes:
    """A stack of 1-D conv layers drawn as the MLP it is: a column of units per layer (channels
    stacked), an edge per nonzero of each layer's T, coloured by the kernel tap."""
    matrices = [structure_matrix(spec, "toeplitz") for spec in layers]
    sizes = [matrices[0].shape[1]] + [m.shape[0] for m in matrices]
    figure = _figure(2.2 * len(sizes), 0.45 * max(sizes) + 1.0)
    axes = figure.add_subplot()
    palette = _palette()
    heights = [np.linspace(0, max(sizes) - 1, size) if size > 1 else np.array([(max(sizes) - 1) / 2])
               for size in sizes]
    for layer, matrix in enumerate(matrices):
        for r, c in zip(*np.nonzero(matrix)):
            axes.plot([layer, layer + 1], [heights[layer][c], heights[layer + 1][r]],
                      color=palette(2 * (int(matrix[r, c]) - 1) % 20), linewidth=1.2, zorder=1)
    for column, ys in enumerate(heights):
        axes.scatter([column] * len(ys), ys, s=140, color="white", edgecolors="black", zorder=2)
    names = ["$\\mathrm{vec}(x)$"] + [f"$\\sigma(T_{{{i + 1}}}\\,\\cdot + b)$" for i in range(len(layers))]
    axes.set_xticks(range(len(sizes)), names)
    axes.set_yticks([])
    axes.invert_yaxis()
    for side in ("left", "right", "top", "bottom"):
        axes.spines[side].set_visible(False)
    axes.set_title("the CNN as an MLP: an edge per nonzero of $T$, coloured by kernel tap", fontsize=10)
    return _png(figure)
