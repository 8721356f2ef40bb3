"""The transposed convolution and the backward pass as ``Target``s of the identity test
(``symconv.testing.pit``): operands and outputs of one sample in fn's layout, and the exact
integer reference from the pattern core's evaluators (``targets.transpose_exact``,
``targets.weight_gradient_exact``).

For the transposed convolution at output_padding, g is zero-extended to the output size of the
forward layer whose input has the transposed size (``transposed_spec``), as
``symconv.forms.transpose.conv_transpose`` does; a batched fn's ∂L/∂w and ∂L/∂b are the sums over
its samples (``Operand.batched`` False).

>>> import numpy as np, symconv
>>> target = transpose_target(symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False))
>>> [(o.name, o.shape) for o in target.operands], target.outputs[0].shape, target.terms
([('g', (1, 2)), ('w', (1, 1, 2)), ('b', None)], (1, 3), 2)
>>> target.reference({"g": np.array([[1, 10]]), "w": np.array([[[2, 3]]]), "b": None})[0].tolist()
[[2, 23, 30]]
"""

from __future__ import annotations

from math import prod

import numpy as np

from ..forms.transpose import transposed_spec
from ..spec import ConvSpec
from ..symbols import (
    from_canonical_input,
    from_canonical_weight,
    to_canonical_input,
    to_canonical_output,
    to_canonical_weight,
)
from .adjoint_maps import AdjointMap, gradients_map, transpose_map
from .adjoint_trials import FACTORS
from .targets import Operand, Target, Values, transpose_exact, weight_gradient_exact


def adjoint_target(m: AdjointMap) -> Target:
    """The Target of a transposed convolution or backward pass ``m``."""
    spec, shapes, outputs = m.spec, m.operand_shapes(), m.output_shapes()
    operands = tuple(Operand(name, shapes[name], name in m.batched_operands) for name in m.operands)
    results = tuple(Operand(name, outputs[name], name in m.per_sample_outputs, len(FACTORS[name]))
                    for name in m.outputs)
    scatter = spec.out_per_group * _most_reads(transposed_spec(spec, m.output_padding) if m.kind == "transpose"
                                               else spec)
    terms = scatter + spec.bias if m.kind == "transpose" else max(scatter, prod(spec.output_size))

    def symbolic() -> tuple[Values, tuple[np.ndarray | None, ...]]:
        values = m.symbols()
        return values, tuple(m.reference(values).values())

    return Target(kind=m.title, spec=spec, operands=operands, outputs=results, single=m.kind == "transpose",
                  terms=terms, reference=lambda values: _reference(m, values), symbolic=symbolic,
                  of_spec=lambda other: adjoint_target(AdjointMap(other, m.kind, m.output_padding)))


def _most_reads(spec: ConvSpec) -> int:
    """The most (output position, tap) pairs that read one input position, counted exactly from
    the source table: at most ∏K with zeros padding, more with another padding mode (a position is
    read directly and as the reflection or wrap of padded ones on either side).

    >>> import symconv
    >>> _most_reads(symconv.ConvSpec(1, 1, kernel_size=3, input_size=3, padding=2, padding_mode="reflect"))
    7
    """
    reads = spec.pattern.source_table
    return int(np.bincount(reads[reads >= 0]).max(initial=0))


def _reference(m: AdjointMap, values: Values) -> tuple[np.ndarray | None, ...]:
    """The exact outputs of one sample of integers in fn's layout."""
    spec = m.spec
    w = to_canonical_weight(spec, np.asarray(values["w"]))
    g = to_canonical_output(spec, np.asarray(values["g"]))
    if m.kind == "transpose":
        target = transposed_spec(spec, m.output_padding)
        extended = np.zeros((spec.out_channels, *target.output_size), dtype=g.dtype)
        extended[(slice(None), *(slice(0, n) for n in spec.output_size))] = g
        y = transpose_exact(target, extended, w)
        if values["b"] is not None:
            y = y + np.asarray(values["b"]).reshape(-1, *(1,) * spec.dims)
        return (from_canonical_input(target, y),)
    x = to_canonical_input(spec, np.asarray(values["x"]))
    grad_b = g.reshape(spec.out_channels, -1).sum(axis=1) if spec.bias else None
    return (from_canonical_input(spec, transpose_exact(spec, g, w)),
            from_canonical_weight(spec, weight_gradient_exact(spec, x, g)), grad_b)


def transpose_target(spec: ConvSpec, output_padding: object = 0) -> Target:
    """fn(g, w, b) -> y, the transposed convolution of the forward layer ``spec``."""
    return adjoint_target(transpose_map(spec, output_padding))


def gradients_target(spec: ConvSpec) -> Target:
    """backward_fn(x, w, g) -> (grad_x, grad_w, grad_b), the backward pass of ``spec``."""
    return adjoint_target(gradients_map(spec))
