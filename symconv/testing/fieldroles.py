"""The parts a target's operands play when a few entries of one of its outputs are read by
probing their receptive fields (``fieldprobe``): one operand is probed (one-hot inputs over the
positions the entries may read), one is labelled (distinct random integers, so a coefficient
names its entry by value), one may be a bias (labelled too, read at the other operands 0), and
every other operand is 0. The entries' polynomials are then read in these roles.

    forward        y = conv(x, w, b):        x probed, w labelled, b the bias
    transpose      y = conv_transpose(g, w) + b:  g probed, w labelled, b the bias
    gradients      grad_x(w, g): g probed, w labelled;  grad_w(x, g), grad_b(g): g probed, x labelled

Shapes are canonical (channels first, ``symconv.symbols``); an output summed over the batch
(a weight gradient) takes one probe per call of a batched fn, a per-sample one several.

>>> from symconv import ConvSpec
>>> roles = forward_roles(ConvSpec(2, 3, kernel_size=2, input_size=4))
>>> roles.probed, roles.labelled, roles.bias, roles.shapes["y"], roles.symbol("wx", (5, 2))
('x', 'w', 'b', (3, 3), w_{1,0,1}*x_{0,2})
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import prod

import numpy as np
import sympy as sp

from ..spec import ConvSpec
from ..symbols import from_canonical_input, from_canonical_weight, to_canonical_input, to_canonical_weight
from .fields import entry_symbol, receptive_positions
from .targets import Target, Values, forward_target

WEIGHT_LIKE = frozenset({"w", "grad_w"})   # in the layer's weight layout (HWIO for NHWC)
FLAT = frozenset({"b", "grad_b"})          # vectors: one layout


@dataclass(frozen=True)
class Roles:
    """Reading ``output`` of ``target`` at a few canonical entries as a polynomial in ``probed``,
    ``labelled`` and ``bias`` (None: no bias) (module docstring). ``shapes``: the canonical shape
    of each of them and of the output; ``field(entries)``: the probed operand's flat spatial
    positions the canonical output entries may read."""

    spec: ConvSpec
    target: Target
    probed: str
    labelled: str
    bias: str | None
    output: str
    shapes: dict[str, tuple[int, ...]]
    field: Callable[[list[tuple[int, ...]]], np.ndarray]

    @property
    def per_sample(self) -> bool:
        """Whether fn's output has a sample axis (else it is summed over the batch)."""
        return next(o.batched for o in self.target.outputs if o.name == self.output)

    def arguments(self, probes: np.ndarray, labelled: np.ndarray, bias: np.ndarray | None) -> Values:
        """fn's operands for samples (rows of flat canonical ``probes``), with the labelled operand
        (flat canonical, the same in every sample) and the bias; every other operand 0."""
        values: Values = {}
        for operand in self.target.operands:
            lead = (len(probes),) if operand.batched else ()
            if operand.shape is None:
                values[operand.name] = None
            elif operand.name == self.probed:
                values[operand.name] = self.to_fn(operand.name, probes.reshape(len(probes), *self.shapes[self.probed]))
            elif operand.name == self.labelled:
                one = self.to_fn(operand.name, labelled.reshape(self.shapes[self.labelled]))
                values[operand.name] = np.ascontiguousarray(np.broadcast_to(one, (*lead, *one.shape)))
            elif operand.name == self.bias:
                values[operand.name] = np.zeros(operand.shape) if bias is None else bias
            else:
                values[operand.name] = np.zeros((*lead, *operand.shape))
        return values

    def entries(self, outputs: tuple[np.ndarray | None, ...], samples: int) -> np.ndarray:
        """fn's ``output`` (from a call on ``samples`` samples) as (samples, flat canonical)."""
        y = outputs[[o.name for o in self.target.outputs].index(self.output)]
        return self.to_canonical(self.output, y).reshape(samples, -1)

    def to_fn(self, name: str, canonical: np.ndarray) -> np.ndarray:
        """A canonical array (with any leading axes) of an operand or output in fn's layout."""
        if name in FLAT:
            return canonical
        convert = from_canonical_weight if name in WEIGHT_LIKE else from_canonical_input
        return np.ascontiguousarray(convert(self.spec, canonical))

    def to_canonical(self, name: str, array: np.ndarray) -> np.ndarray:
        if name in FLAT:
            return array
        return (to_canonical_weight if name in WEIGHT_LIKE else to_canonical_input)(self.spec, array)

    def symbol(self, kind: str, term: tuple[int, ...]) -> sp.Expr:
        """The product of the symbols of a term's factors: kind "x" (probed entry), "w" (labelled),
        "b" (bias), "wx" (labelled, probed), "1"; named as ``symconv.symbols`` names them."""
        roles = {"x": self.probed, "w": self.labelled, "b": self.bias}
        names = [roles[k] for k in kind if k in roles]
        return sp.Mul(*(entry_symbol(name, self.shapes[name], flat) for name, flat in zip(names, term)))  # type: ignore[arg-type]


def forward_roles(spec: ConvSpec) -> Roles:
    """The forward layer: x probed at ``receptive_positions``, w labelled, b the bias."""
    shapes = {"x": (spec.in_channels, *spec.input_size), "y": (spec.out_channels, *spec.output_size),
              "w": (spec.out_channels, spec.in_per_group, *spec.kernel_size), "b": (spec.out_channels,)}
    return Roles(spec, forward_target(spec), "x", "w", "b" if spec.bias else None, "y", shapes,
                 lambda entries: receptive_positions(spec, [tuple(out) for _, *out in entries]))


def every_position(shape: tuple[int, ...]) -> Callable[[list[tuple[int, ...]]], np.ndarray]:
    """The field of an entry that may read every position (a weight or bias gradient)."""
    return lambda entries: np.arange(prod(shape[1:]))
