"""The answer of ``symconv.diff``: a verdict, the smallest input size and the first output where
two layers differ with the exact terms each side has there, and what differs in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ..frameworks.layer import FrameworkConv
from .compare import WeightPermutation

SAME, PERMUTED, DIFFERENT = "same", "same up to a weight permutation", "different"
VERDICTS = (SAME, PERMUTED, DIFFERENT)


def size_text(size: tuple[int, ...] | None) -> str:
    """(8, 9) → '8×9'."""
    return "×".join(map(str, size)) if size else "?"


@dataclass(frozen=True)
class DiffResult:
    """Whether two layers are the same map (``same``), the same up to a weight permutation
    (``permutation``, with ``weight_recipe``: the NumPy expression of b's weight array in terms of
    a's, ``w_a``), or different: then ``input_size`` and ``output`` (logical index: channel, then
    the spatial position) are where they first differ, ``terms`` the exact polynomial each side
    has there (symbols x_{c,i,j}, w_{o,c,p,q}, b_{o} in logical, channels-first coordinates), or
    ``shapes`` (array, a's shape, b's) when they cannot be fed the same arrays. ``parameter`` and
    ``reason`` say what differs. ``sizes`` are the input sizes compared, the given one first;
    ``complete`` is False when the search of smaller sizes stopped at its deadline."""

    a: FrameworkConv = field(repr=False)
    b: FrameworkConv = field(repr=False)
    names: tuple[str, str]
    verdict: str
    parameter: str | None = None
    reason: str = ""
    permutation: WeightPermutation | None = None
    weight_recipe: str | None = None
    input_size: tuple[int, ...] | None = None
    output: tuple[int, ...] | None = None
    terms: tuple[sp.Expr, sp.Expr] | None = None
    shapes: tuple[str, Any, Any] | None = None
    sizes: tuple[tuple[int, ...], ...] = ()
    complete: bool = True
    seconds: float = 0.0

    @property
    def same(self) -> bool:
        return self.verdict == SAME

    def headline(self) -> str:
        """The verdict on one line."""
        A, B = self.names
        if self.verdict == SAME:
            return f"same: {A} and {B} compute the same map ({self._where()})"
        if self.verdict == PERMUTED:
            dims = self.a.spec.dims
            moved = self.permutation.describe(dims) if self.permutation else "?"
            return (f"same up to a weight permutation ({self.parameter}): {B} computes {A}'s map from {A}'s weights "
                    f"with {moved}; {self.reason}")
        where = f"at input {size_text(self.input_size)}"
        if self.shapes is not None:
            what, left, right = self.shapes
            return f"different ({self.parameter}): {where} the {what} differs, {A} {left} vs {B} {right}; {self.reason}"
        return f"different ({self.parameter}): {where}, output {self.output_text()}: {self.reason}"

    def output_text(self) -> str:
        return "y[" + ", ".join(map(str, self.output or ())) + "]"

    def _where(self) -> str:
        given, smaller = self.sizes[0], len(self.sizes) - 1
        text = f"input {size_text(given)}" + (f" and {smaller} smaller size{'s' * (smaller > 1)}" if smaller else "")
        return text + ("" if self.complete else "; the search of smaller sizes stopped at its deadline")

    def lines(self) -> list[str]:
        out = [self.headline()]
        if self.terms is not None:
            width = max(map(len, self.names))
            out += [f"  {name:<{width}}  {self.output_text()} = {term}" for name, term in zip(self.names, self.terms)]
        if self.weight_recipe is not None:
            out.append(f"  {self.names[1]}'s weight array = {self.weight_recipe}   (w_a: {self.names[0]}'s)")
        if self.verdict != SAME:
            out.append(f"  compared: {self._where()}")
        for name, layer in zip(self.names, (self.a, self.b)):
            spec = layer.spec.describe()
            out.append(f"  {name}: {layer.call}" + ("" if spec in layer.call else f"  [{spec}]"))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_markdown_(self) -> str:
        """Jupyter and the lecture notes: the verdict, the two sides' terms as math."""
        from ..latex.expr import latex_expr
        text = [f"**{self.verdict}** — " + self.headline().split(": ", 1)[1], ""]   # a list needs a blank line
        if self.terms is not None:
            index = ", ".join(map(str, self.output or ()))
            text += [f"- {name}: $y_{{{index}}} = {latex_expr(term)}$" for name, term in zip(self.names, self.terms)]
        if self.weight_recipe is not None:
            text.append(f"- {self.names[1]}'s weight array $=$ `{self.weight_recipe}` (`w_a`: {self.names[0]}'s)")
        return "\n".join(text)

    def as_dict(self) -> dict[str, Any]:
        """The machine-readable result (``symconv diff --json``)."""
        def side(layer: FrameworkConv) -> dict[str, Any]:
            return {"framework": layer.framework, "call": layer.call, "spec": layer.spec.describe()}
        return {
            "verdict": self.verdict, "same": self.same, "parameter": self.parameter, "reason": self.reason,
            "names": list(self.names), "a": side(self.a), "b": side(self.b),
            "permutation": None if self.permutation is None else {
                "flip": [axis for axis in self.permutation.flip], "swap_channels": self.permutation.swap},
            "weight_recipe": self.weight_recipe,
            "input_size": None if self.input_size is None else list(self.input_size),
            "output": None if self.output is None else list(self.output),
            "terms": None if self.terms is None else [str(t) for t in self.terms],
            "shapes": None if self.shapes is None else [self.shapes[0], str(self.shapes[1]), str(self.shapes[2])],
            "sizes": [list(s) for s in self.sizes], "complete": self.complete, "seconds": round(self.seconds, 6)}
