"""One layer as a bilinear map in *logical* coordinates, the coordinates ``symconv.diff`` compares in.

A framework layer computes Y = out⁻¹(conv(spec, inp(X), wt(W), b)) (``symconv.frameworks.layer``),
where each ArrayMap is a layout change (reshape and axis permutation) followed by flips of some
axes. The layout part says which framework axis is which (channels, rows, columns): it is what a
user undoes when moving arrays between frameworks (NHWC ↔ NCHW, HWIO ↔ OIHW). The flips are
conventions (a framework that flips its kernel), which is what a diff must see. So the logical
coordinates of a framework array are its entries in channels-first order with the layout undone
and *no* flip undone:

    logical(A) = canonical(plain.to_spec(A))      plain = the map without its flips

(canonical: (C, *n) for inputs and outputs, (O, I, *k) for weights, ``symconv.symbols``' order).
In these coordinates the layer is the polynomial

    y_L[r] = Σ w_L[a] · x_L[i]  (+ b[o] · 1)

whose monomials come from the connections table of the spec (``symconv.connections``), each id
sent through the layer's flips; a transposed layer scatters over the connections of its forward
spec at the transposed size (``symconv.forms.transpose``), the layer's input being the forward
output. The monomial ids and the exact backend's integer keys (``symconv.backends.exact``) make
the canonical form: two layers are the same map iff their canonical arrays are identical.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from math import prod

import numpy as np

from ..backends.exact import Basis, Canonical, Terms, canonical
from ..connections import connections
from ..errors import SpecError
from ..forms.transpose import transposed_spec
from ..frameworks.layer import ArrayMap, FrameworkConv
from ..spec import ConvSpec, check_spec
from ..symbols import from_canonical_input, from_canonical_weight, to_canonical_input, to_canonical_weight

Canon = Callable[[ConvSpec, np.ndarray], np.ndarray]


def as_layer(value: object, parameter: str) -> FrameworkConv:
    """``value`` as a FrameworkConv: a ConvSpec is the layer in its own layout with identity maps
    (PyTorch's semantics), rebuilt at other input sizes with the same fields.

    >>> spec = ConvSpec(1, 2, kernel_size=3, input_size=(5, 5))
    >>> as_layer(spec, "a").at_input_size((4, 6)).spec.input_size
    (4, 6)
    """
    if isinstance(value, FrameworkConv):
        check_spec(value.spec, f"{parameter}.spec")
        return value
    if not isinstance(value, ConvSpec):
        raise SpecError(parameter, type(value).__name__,
                        "must be a symconv.ConvSpec or a symconv.frameworks.FrameworkConv")
    spec = check_spec(value, parameter)
    return FrameworkConv("symconv", f"ConvSpec({spec.describe()})", spec, ArrayMap.identity(spec.input_shape),
                         ArrayMap.identity(spec.weight_shape), ArrayMap.identity(spec.output_shape), batched=False,
                         rebuild=lambda size: as_layer(replace(spec, input_size=size), parameter))


def plain(array_map: ArrayMap) -> ArrayMap:
    """The layout part of a map: the same reshapes and axis permutation, no flip."""
    return replace(array_map, flip=())


def logical_ids(array_map: ArrayMap, spec: ConvSpec, shape: tuple[int, ...], to_canon: Canon,
                from_canon: Canon) -> np.ndarray:
    """p with p[canonical id] = the logical id of the framework entry that the spec's canonical
    array holds there (``shape``: the canonical shape): the map's flips as a permutation of ids."""
    if tuple(array_map.spec_shape) != tuple(from_canon(spec, np.empty(shape)).shape):
        raise SpecError("ArrayMap", f"{array_map.framework_shape}→{array_map.spec_shape}",
                        f"does not map to the spec's array of canonical shape {shape}")
    framework = plain(array_map).from_spec(from_canon(spec, np.arange(prod(shape)).reshape(shape)))
    return np.ascontiguousarray(to_canon(spec, array_map.to_spec(framework))).reshape(-1)


def logical_array(array_map: ArrayMap, spec: ConvSpec, framework: np.ndarray, to_canon: Canon) -> np.ndarray:
    """The logical array (layout undone, flips kept) of a framework array."""
    return to_canon(spec, plain(array_map).to_spec(framework))


def framework_array(array_map: ArrayMap, spec: ConvSpec, logical: np.ndarray, from_canon: Canon) -> np.ndarray:
    """The framework array of a logical one (the inverse of ``logical_array``)."""
    return plain(array_map).from_spec(from_canon(spec, logical))


@dataclass(frozen=True)
class Side:
    """A layer at one input size as a bilinear polynomial in logical ids (module docstring):
    monomials (row, weight id, input id), b_o as weight id n_w + o times the input id n_x."""

    layer: FrameworkConv
    x_shape: tuple[int, ...]   # logical input (C_in, *n)
    w_shape: tuple[int, ...]   # logical weight (O, I/groups, *k) of the spec
    y_shape: tuple[int, ...]   # logical output (C_out, *m)
    bias: bool
    terms: Terms

    @property
    def basis(self) -> Basis:
        return Basis(prod(self.w_shape), prod(self.x_shape), prod(self.y_shape[1:]), prod(self.y_shape))

    def canonical(self, weight_ids: np.ndarray | None = None) -> Canonical:
        """The canonical form; ``weight_ids`` renames weight id j to weight_ids[j] (a permutation
        of the weights; the bias ids stay)."""
        basis = self.basis
        if basis.rows * basis.W * basis.X >= 2**63:
            raise SpecError("input_size", self.x_shape[1:], "too large to compare: the integer monomial key "
                            f"(rows·(weights + C_out)·(inputs + 1) = {basis.rows * basis.W * basis.X}) passes 2⁶³")
        w = self.terms.w
        if weight_ids is not None:
            w = np.where(w < basis.n_w, weight_ids[np.minimum(w, basis.n_w - 1)], w)
        return canonical(Terms(self.terms.row, w, self.terms.x), basis, 0)


def side_of(layer: FrameworkConv) -> Side:
    """The layer's polynomial in logical ids (module docstring)."""
    spec = layer.spec
    w_shape = (spec.out_channels, spec.in_per_group, *spec.kernel_size)
    weights = logical_ids(layer.weight_map, spec, w_shape, to_canonical_weight, from_canonical_weight)
    if layer.transposed:
        return _transposed_side(layer, weights, w_shape)
    table = connections(_channels_first(spec))
    x_shape, y_shape = (spec.in_channels, *spec.input_size), (spec.out_channels, *spec.output_size)
    inputs = logical_ids(layer.input_map, spec, x_shape, to_canonical_input, from_canonical_input)
    outputs = logical_ids(layer.output_map, spec, y_shape, to_canonical_input, from_canonical_input)
    terms = Terms(outputs[table.row], weights[table.weight], inputs[table.input])
    return _side(layer, (x_shape, w_shape, y_shape), terms, outputs)


def _transposed_side(layer: FrameworkConv, weights: np.ndarray, w_shape: tuple[int, ...]) -> Side:
    """x̂[i] += w[a]·g[r] over the connections (r, a, i) of the forward spec at the transposed size,
    g being zero beyond the forward output (``conv_transpose``)."""
    spec = layer.spec
    target = transposed_spec(spec, layer.output_padding or 0)
    table = connections(_channels_first(target))
    x_shape, y_shape = (spec.out_channels, *spec.output_size), (spec.in_channels, *target.input_size)
    o, position = table.outputs()
    grid = np.unravel_index(position, target.output_size)
    inside = np.logical_and.reduce([g < n for g, n in zip(grid, spec.output_size)])
    g_id = np.ravel_multi_index((o[inside], *(g[inside] for g in grid)), x_shape)
    inputs = logical_ids(layer.input_map, spec, x_shape, to_canonical_input, from_canonical_input)
    outputs = logical_ids(layer.output_map, target, y_shape, to_canonical_input, from_canonical_input)
    terms = Terms(outputs[table.input[inside]], weights[table.weight[inside]], inputs[g_id])
    return _side(layer, (x_shape, w_shape, y_shape), terms, outputs)


def _channels_first(spec: ConvSpec) -> ConvSpec:
    """The spec in NCHW: its connections table is in canonical ids whatever the layout, so an NHWC
    layer and its NCHW twin share one cached table."""
    return spec if spec.layout == "NCHW" else replace(spec, layout="NCHW")


def _side(layer: FrameworkConv, shapes: tuple[tuple[int, ...], ...], terms: Terms, outputs: np.ndarray) -> Side:
    """The Side, with b_o · 1 in every output row of channel o (canonical row r = o·∏m + m) when
    the layer has a bias; ``outputs`` maps canonical output rows to logical ones."""
    x_shape, w_shape, y_shape = shapes
    if layer.has_bias:   # a transposed layer's bias is its own (its spec has none)
        rows = np.arange(len(outputs))
        terms = Terms(np.concatenate([terms.row, outputs]),
                      np.concatenate([terms.w, prod(w_shape) + rows // prod(y_shape[1:])]),
                      np.concatenate([terms.x, np.full(len(rows), prod(x_shape))]))
    return Side(layer, x_shape, w_shape, y_shape, layer.has_bias, terms)
