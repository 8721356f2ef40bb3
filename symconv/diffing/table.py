"""Several layers compared pairwise: ``compare_all({"torch": …, "TF": …, …})`` diffs every pair
(``symconv.diff``) and shows the layers side by side (call, padding, kernel orientation, layout)
with the verdict of every pair; in Jupyter a Markdown table (the lecture notes use it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations

from ..errors import SpecError
from ..frameworks.layer import FrameworkConv
from .bilinear import as_layer
from .compare import axis_names
from .result import PERMUTED, SAME, DiffResult, size_text
from .search import DEADLINE, diff
from .words import kernel_flips


@dataclass(frozen=True)
class Comparison:
    """Every pair of ``layers`` diffed: ``results[(i, j)]`` for i < j (indices into ``names``)."""

    names: tuple[str, ...]
    layers: tuple[FrameworkConv, ...]
    results: dict[tuple[int, int], DiffResult]

    def diff(self, first: str, second: str) -> DiffResult:
        """The diff of the layers named ``first`` and ``second`` (in that order), named so."""
        for name in (first, second):
            if name not in self.names:
                raise SpecError("name", name, f"must be one of {', '.join(self.names)}")
        i, j = self.names.index(first), self.names.index(second)
        if i < j:
            return self.results[(i, j)]
        return diff(self.layers[i], self.layers[j], names=(first, second))

    def differing(self) -> list[tuple[str, str, DiffResult]]:
        """(name, name, result) of every pair that is not the same map, in order."""
        return [(self.names[i], self.names[j], r) for (i, j), r in self.results.items() if not r.same]

    def verdict(self, i: int, j: int, short: bool = False) -> str:
        """A short verdict of the pair (i, j): 'same', 'same up to the kernel flipped on H and W',
        'differ at 1×1 (padding)'; ``short``: 'permuted', 'differ at 1×1' (the table's cells)."""
        if i == j:
            return "—"
        result = self.results[(min(i, j), max(i, j))]
        if result.verdict == SAME:
            return "same"
        if result.verdict == PERMUTED:
            if short or result.permutation is None:
                return "permuted"
            return f"same up to {result.permutation.describe(result.a.spec.dims)}"
        return f"differ at {size_text(result.input_size)}" + ("" if short else f" ({result.parameter})")

    def rows(self) -> list[list[str]]:
        """One row per layer: name, call, padding per axis (before, after), kernel, layout."""
        found = []
        for name, layer in zip(self.names, self.layers):
            spec = layer.spec
            axes = axis_names(spec.dims)
            padding = ", ".join(f"{axis} {pair}" for axis, pair in zip(axes, spec.padding))
            flips = kernel_flips(layer)
            kernel = "flipped on " + ", ".join(axes[a] for a in flips) if flips else "as given"
            kind = "transposed, " if layer.transposed else ""
            found.append([name, layer.call, padding, kernel, f"{kind}{spec.layout}"])
        return found

    def __str__(self) -> str:
        lines = [" | ".join(row) for row in self.rows()]
        lines += [f"{a} vs {b}: {r.headline()}" for a, b, r in self.differing()]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        head = ["| layer | padding (before, after) | kernel | layout |", "|---|---|---|---|"]
        head += ["| " + " | ".join([row[0], *row[2:]]) + " |" for row in self.rows()]
        calls = [""] + [f"- **{row[0]}**: `{row[1]}`" for row in self.rows()]
        count = len(self.names)
        grid = ["", "| | " + " | ".join(self.names) + " |", "|---" * (count + 1) + "|"]
        grid += [f"| **{self.names[i]}** | " + " | ".join(self.verdict(i, j, short=True) for j in range(count)) + " |"
                 for i in range(count)]
        return "\n".join(head + calls + grid)


def compare_all(layers: Mapping[str, object], *, deadline: float = DEADLINE) -> Comparison:
    """Diff every pair of the named layers (ConvSpecs or framework layers), each within ``deadline``.

    >>> import symconv
    >>> table = compare_all({"p": symconv.ConvSpec(1, 1, 2, 4, padding=((1, 0),)),
    ...                      "q": symconv.ConvSpec(1, 1, 2, 4, padding=((0, 1),))})
    >>> table.verdict(0, 1)
    'differ at 1 (padding)'
    """
    if not isinstance(layers, Mapping) or len(layers) < 2:
        raise SpecError("layers", type(layers).__name__, "must map names to at least two layers")
    names = tuple(str(name) for name in layers)
    given = tuple(as_layer(layer, name) for name, layer in zip(names, layers.values()))
    results = {(i, j): diff(given[i], given[j], deadline=deadline, names=(names[i], names[j]))
               for i, j in combinations(range(len(given)), 2)}
    return Comparison(names, given, results)
