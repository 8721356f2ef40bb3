"""The transposed convolution and the backward pass of a layer as maps to check: their operands,
outputs and shapes, symbols, exact reference and the faults that diagnose a wrong one.

For the forward layer ``spec`` (y = conv(x, w, b)) and L = Σ_n ⟨g_n, y_n⟩:

    transpose   fn(g, w, b) = conv_transpose(g, w; output_padding) + b[c]      (b of length C_in)
    gradients   backward_fn(x, w, g) = (∂L/∂x_n, ∂L/∂w, ∂L/∂b)

Both are polynomials of degree ≤ 2 in the operands: the transpose is bilinear in (g, w) and
linear in b; ∂L/∂x is bilinear in (w, g), ∂L/∂w in (x, g), and ∂L/∂b linear in g. The reference
is ``symconv.forms.transpose`` (``conv_transpose``, ``input_gradient``, ``weight_gradient``,
``bias_gradient``): scatters over the layer's connections, which take symbols and Python
integers alike, so the same code gives the polynomials of symbolic mode and the exact integers
of probe mode. A batch is a leading axis of g (transpose) or of x and g (gradients); the
transpose and ∂L/∂x are per sample, ∂L/∂w and ∂L/∂b summed over the batch as autograd does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import permutations, product

import numpy as np

from ..forms.transpose import (
    bias_gradient,
    conv_transpose,
    input_gradient,
    transposed_size,
    transposed_spec,
    weight_gradient,
)
from ..spec import ConvSpec
from ..symbols import (
    from_canonical_input,
    from_canonical_weight,
    tensor_symbols,
    to_canonical_input,
    to_canonical_weight,
)

Arrays = dict[str, "np.ndarray | None"]


@dataclass(frozen=True)
class AdjointMap:
    """One map to check: ``kind`` "transpose" (at ``output_padding``) or "gradients" of ``spec``.

    >>> import symconv
    >>> spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    >>> m = transpose_map(spec, 0)
    >>> m.operands, m.outputs, m.output_shapes()
    (('g', 'w', 'b'), ('y',), {'y': (1, 3)})
    >>> m.reference({"g": np.array([[1, 10]], dtype=object), "w": np.array([[[2, 3]]], dtype=object),
    ...              "b": None})["y"].tolist()
    [[2, 23, 30]]
    """

    spec: ConvSpec
    kind: str
    output_padding: tuple[int, ...] = ()

    @property
    def operands(self) -> tuple[str, ...]:
        """The arguments of fn, in order."""
        return ("g", "w", "b") if self.kind == "transpose" else ("x", "w", "g")

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("y",) if self.kind == "transpose" else ("grad_x", "grad_w", "grad_b")

    @property
    def batched_operands(self) -> frozenset[str]:
        return frozenset("g" if self.kind == "transpose" else "xg")

    @property
    def per_sample_outputs(self) -> frozenset[str]:
        return frozenset({"y"} if self.kind == "transpose" else {"grad_x"})

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        """The operand pairs whose products the map contains."""
        return (("g", "w"),) if self.kind == "transpose" else (("x", "g"), ("w", "g"))

    @property
    def name(self) -> str:
        return "the transposed convolution" if self.kind == "transpose" else "the backward pass"

    @property
    def title(self) -> str:
        if self.kind == "transpose":
            return "the transposed convolution"
        return "the backward pass (∂L/∂x, ∂L/∂w, ∂L/∂b of L = ⟨g, conv(x, w, b)⟩)"

    def describe(self) -> str:
        described = self.spec.describe()
        layer = described if described.endswith(self.spec.layout) else f"{described}, {self.spec.layout}"
        return layer + (f", output_padding={self.output_padding}" if self.kind == "transpose" else "")

    def operand_shapes(self, batch: int | None = None) -> dict[str, tuple[int, ...] | None]:
        """Each operand's shape in the spec's layout (None: no bias), with a leading batch axis."""
        spec, lead = self.spec, () if batch is None else (batch,)
        shapes: dict[str, tuple[int, ...] | None] = {"x": spec.input_shape, "w": spec.weight_shape,
                                                      "g": spec.output_shape}
        bias = spec.in_channels if self.kind == "transpose" else spec.out_channels
        shapes["b"] = (bias,) if spec.bias else None
        return {name: None if shapes[name] is None else (*(lead if name in self.batched_operands else ()),
                                                          *shapes[name])  # type: ignore[misc]
                for name in self.operands}

    def output_shapes(self, batch: int | None = None) -> dict[str, tuple[int, ...] | None]:
        spec, lead = self.spec, () if batch is None else (batch,)
        if self.kind == "transpose":
            return {"y": (*lead, *transposed_spec(spec, self.output_padding).input_shape)}
        return {"grad_x": (*lead, *spec.input_shape), "grad_w": spec.weight_shape,
                "grad_b": (spec.out_channels,) if spec.bias else None}

    def symbols(self, batch: int | None = None, fresh: bool = False) -> Arrays:
        """Symbolic operands x_{c,i,j}, w_{o,c,p,q}, g_{o,i,j}, b_{c} (batched: x_{n,c,i,j},
        g_{n,o,i,j}), named channel first as ``symconv.symbols``; ``fresh`` names them u, v, h, c."""
        spec, letters = self.spec, dict(zip("xwgb", "uvhc" if fresh else "xwgb"))
        canonical = {"x": (spec.in_channels, *spec.input_size), "g": (spec.out_channels, *spec.output_size),
                     "w": (spec.out_channels, spec.in_per_group, *spec.kernel_size)}
        shapes = self.operand_shapes(batch)
        arrays: Arrays = {}
        for name in self.operands:
            if shapes[name] is None:
                arrays[name] = None
            elif name == "b":
                arrays[name] = tensor_symbols(letters[name], shapes[name])
            else:
                lead = (batch,) if batch is not None and name in self.batched_operands else ()
                array = tensor_symbols(letters[name], (*lead, *canonical[name]))
                arrays[name] = from_canonical_weight(spec, array) if name == "w" else from_canonical_input(spec, array)
        return arrays

    def reference(self, operands: Arrays, w: np.ndarray | None = None) -> Arrays:
        """The exact outputs on ``operands`` (symbols or Python integers, batched or not); ``w``
        replaces the weight (an alternative layer of the diagnosis)."""
        spec, weight = self.spec, operands["w"] if w is None else w
        if self.kind == "transpose":
            y = conv_transpose(spec, operands["g"], weight, self.output_padding)
            return {"y": self.with_bias(y, operands["b"])}
        x, g = operands["x"], operands["g"]
        return {"grad_x": input_gradient(spec, g, weight), "grad_w": weight_gradient(spec, x, g),
                "grad_b": bias_gradient(spec, g) if spec.bias else None}

    def with_bias(self, y: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        """The transposed output y (batched or not) plus b[c] on every position of channel c."""
        if b is None:
            return y
        target = transposed_spec(self.spec, self.output_padding)
        yc = to_canonical_input(target, y) + np.asarray(b, dtype=object).reshape(-1, *(1,) * self.spec.dims)
        return from_canonical_input(target, yc)

    def terms(self, batch: int = 1) -> int:
        """Products (w·g, x·g) the reference sums, all outputs together: a bound on any output's."""
        return batch * self.spec.n_terms * (1 if self.kind == "transpose" else 2)


def transpose_map(spec: ConvSpec, output_padding: object = 0) -> AdjointMap:
    """The transposed convolution of ``spec`` at ``output_padding`` (validated: SpecError naming
    it; PyTorch's rule 0 ≤ output_padding < max(stride, dilation); zeros padding only)."""
    transposed_spec(spec, output_padding)
    sizes = transposed_size(spec, output_padding)
    zero = transposed_size(spec, 0)
    return AdjointMap(spec, "transpose", tuple(s - z for s, z in zip(sizes, zero)))


def gradients_map(spec: ConvSpec) -> AdjointMap:
    return AdjointMap(spec, "gradients")


def _flipped(spec: ConvSpec, w: np.ndarray) -> np.ndarray:
    wc = to_canonical_weight(spec, w)
    return from_canonical_weight(spec, np.flip(wc, axis=tuple(range(2, 2 + spec.dims))))


def _channels_transposed(spec: ConvSpec, w: np.ndarray) -> np.ndarray | None:
    """w[o, c] read as w[c, o] within each group (shape-preserving only when C_in = C_out)."""
    if spec.in_channels != spec.out_channels or spec.in_per_group == 1:
        return None
    wc = to_canonical_weight(spec, w)
    blocks = wc.reshape(spec.groups, spec.in_per_group, spec.in_per_group, *spec.kernel_size)
    return from_canonical_weight(spec, blocks.swapaxes(1, 2).reshape(wc.shape))


def _groups_permuted(spec: ConvSpec, grad_w: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """grad_w with the groups' blocks of output channels permuted (every permutation up to 4
    groups, the swaps of two groups beyond)."""
    G = spec.groups
    if G == 1:
        return
    orders = (permutations(range(G)) if G <= 4 else
              (tuple(j if k == i else i if k == j else k for k in range(G)) for i in range(G) for j in range(i + 1, G)))
    wc = to_canonical_weight(spec, grad_w)
    blocks = wc.reshape(G, spec.out_channels // G, *wc.shape[1:])
    for order in orders:
        if list(order) != list(range(G)):
            yield (f"the groups' weight gradients swapped: the blocks of groups {tuple(range(G))} of grad_w hold "
                   f"the gradients of groups {order} (the silent bug of groups > 1, pytorch#50042/#51430)",
                   from_canonical_weight(spec, blocks[list(order)].reshape(wc.shape)))


def alternatives(m: AdjointMap, operands: Arrays) -> Iterator[tuple[str, str, np.ndarray]]:
    """(output, cause, that output of the alternative map) for each recognised fault: kernel
    flipped, weight channel axes transposed (C_in = C_out), wrong output_padding (cut or
    zero-extended to the requested size), bias not added, the groups' weight gradients
    permuted, the weight gradient flipped, the parameter gradients of the first sample only."""
    spec, w = m.spec, operands["w"]
    faults = [("the kernel flipped: fn uses w mirrored on every spatial axis", _flipped(spec, w))]
    if (swapped := _channels_transposed(spec, w)) is not None:
        faults.append(("the weight's channel axes transposed: fn reads w[o, c] as w[c, o] within each group",
                       swapped))
    for cause, weight in faults:
        for name, value in m.reference(operands, weight).items():
            if name != "grad_w" and name != "grad_b":
                yield name, cause, value
    if m.kind == "transpose":
        yield from _output_padding_alternatives(m, operands)
        if operands["b"] is not None:
            yield "y", "bias not added", m.reference(operands | {"b": None})["y"]
        return
    grad_w = m.reference(operands)["grad_w"]
    for cause, value in _groups_permuted(spec, grad_w):
        yield "grad_w", cause, value
    yield "grad_w", "the weight gradient flipped on every spatial axis (of true convolution)", _flipped(spec, grad_w)
    if operands["x"].ndim == spec.dims + 2 and len(operands["x"]) > 1:   # a batch
        first = m.reference({"x": operands["x"][:1], "w": w, "g": operands["g"][:1]})
        for name in ("grad_w", "grad_b"):
            if first[name] is not None:
                yield name, f"{name} not summed over the batch: it is sample 0's alone", first[name]


def _output_padding_alternatives(m: AdjointMap, operands: Arrays) -> Iterator[tuple[str, str, np.ndarray]]:
    spec = m.spec
    shape = m.reference(operands)["y"].shape
    options = product(*(range(max(s, d)) for s, d in zip(spec.stride, spec.dilation)))
    for option in options:
        if option == m.output_padding:
            continue
        value = replace(m, output_padding=option).reference(operands | {"b": None})["y"]
        yield ("y", f"output_padding off: fn computes output_padding={option} (cut or zero-extended to the "
                    f"requested size), the spec asks for {m.output_padding}",
               m.with_bias(_resized(spec, value, shape), operands["b"]))


def _resized(spec: ConvSpec, y: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """y cut or zero-extended at the end of each spatial axis to ``shape`` (batched or not)."""
    yc = to_canonical_input(spec, y)
    target = to_canonical_input(spec, np.empty(shape, dtype=object)).shape
    out = np.zeros(target, dtype=object)
    common = tuple(slice(0, min(a, b)) for a, b in zip(yc.shape, target))
    out[common] = yc[common]
    return from_canonical_input(spec, out)
