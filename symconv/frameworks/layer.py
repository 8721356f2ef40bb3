"""A convolution as some framework states it: a ConvSpec plus the array maps between the
framework's arrays and the spec's.

A framework's layer computes, for its own input X, weight W and bias b (batch axis first, when
the framework has one),

    forward:     Y = out⁻¹( conv(spec, inp(X), wt(W), b) )
    transposed:  Y = out⁻¹( conv_transpose(spec, inp(X), wt(W), output_padding) + b )

where ``inp``, ``wt`` and ``out`` are ``ArrayMap`` s: a reshape, an axis permutation and flips of
some axes, each a bijection of array positions. ``spec`` is in its own layout (NCHW or NHWC); for a
transposed layer it is the forward conv whose transpose the layer computes (the spec
``symconv.testing.assert_conv_transpose_equivalent`` takes), so the layer's input has
``spec.output_shape`` and its output ``conv_transpose``'s shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from math import prod
from typing import Any

import numpy as np

from ..forms import conv
from ..forms.transpose import conv_transpose
from ..spec import ConvSpec


@dataclass(frozen=True)
class ArrayMap:
    """A bijection from a framework array (without its batch axis) to a spec array:

        to_spec(a) = flip(reshape(transpose(reshape(a, staged), axes), spec_shape), flip)

    ``staged`` is ``staged_shape`` when given, else ``spec_shape`` permuted back
    (staged[axes[i]] = spec_shape[i]), so that the reshapes only insert or remove axes of length 1
    (scipy's arrays have no channel axis). A ``staged_shape`` splits an axis into several, for a
    swap that acts within groups: a transposed conv's weight (C_y, C_x/G, k) is the forward
    weight (C_x, C_y/G, k) through staged (G, C_y/G, C_x/G, k) and axes (0, 2, 1, 3).
    ``labels``: one letter per axis of the framework array and of the spec array (e.g. "HWIO",
    "OIHW"), for ``describe``; not part of the map's identity.

    >>> m = ArrayMap(framework_shape=(2, 3, 1, 4), spec_shape=(4, 1, 2, 3), axes=(3, 2, 0, 1))  # HWIO → OIHW
    >>> m.to_spec(np.arange(24).reshape(2, 3, 1, 4)).shape
    (4, 1, 2, 3)
    >>> bool((m.from_spec(m.to_spec(np.arange(24).reshape(2, 3, 1, 4))) == np.arange(24).reshape(2, 3, 1, 4)).all())
    True
    >>> ArrayMap.identity((3, 5)).is_identity
    True
    >>> ArrayMap.by_labels("HWIO", "OIHW", (2, 3, 1, 4), flip="HW").describe()
    'HWIO → OIHW, kernel flipped on H, W'
    >>> swap = ArrayMap((4, 1, 2), (2, 2, 2), axes=(0, 2, 1, 3), staged_shape=(2, 2, 1, 2))  # G = 2
    >>> swap.to_spec(np.arange(8).reshape(4, 1, 2))[:, :, 0].tolist()
    [[0, 2], [4, 6]]
    """

    framework_shape: tuple[int, ...]
    spec_shape: tuple[int, ...]
    axes: tuple[int, ...]
    flip: tuple[int, ...] = ()
    staged_shape: tuple[int, ...] = ()
    labels: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def identity(cls, shape: tuple[int, ...]) -> ArrayMap:
        return cls(tuple(shape), tuple(shape), tuple(range(len(shape))))

    @classmethod
    def by_labels(cls, framework: str, spec: str, framework_shape: tuple[int, ...], flip: str = "") -> ArrayMap:
        """The permutation that takes axes labelled ``framework`` (one distinct letter per axis,
        e.g. "HWIO") to ``spec`` (e.g. "OIHW"), flipping the spec axes whose letters are in ``flip``."""
        axes = tuple(framework.index(letter) for letter in spec)
        shape = tuple(framework_shape[a] for a in axes)
        return cls(tuple(framework_shape), shape, axes, tuple(spec.index(letter) for letter in flip),
                   labels=(framework, spec))

    def __post_init__(self) -> None:
        staged = self.staged_shape or self.spec_shape
        bijective = sorted(self.axes) == list(range(len(staged)))
        if not bijective or not prod(self.framework_shape) == prod(staged) == prod(self.spec_shape):
            raise ValueError(f"ArrayMap{self.framework_shape}→{self.spec_shape} by axes {self.axes}: not a bijection")

    @property
    def staged(self) -> tuple[int, ...]:
        if self.staged_shape:
            return self.staged_shape
        staged = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            staged[a] = self.spec_shape[i]
        return tuple(staged)

    @property
    def is_identity(self) -> bool:
        return (self.framework_shape == self.spec_shape and self.axes == tuple(range(len(self.axes)))
                and not self.flip)

    def describe(self) -> str:
        """The map in words, e.g. "HWIO → OIHW, kernel flipped on H, W" or "unchanged"."""
        if self.is_identity:
            return "unchanged"
        parts = []
        if self.labels:
            parts.append(f"{self.labels[0]} → {self.labels[1]}")
        elif self.axes != tuple(range(len(self.axes))) or self.staged_shape:
            parts.append(f"axes permuted by {self.axes} through shape {self.staged}")
        if self.framework_shape != self.spec_shape and not self.labels:
            parts.append(f"reshaped {self.framework_shape} → {self.spec_shape}")
        if self.staged_shape and self.labels:
            parts.append(f"regrouped through shape {self.staged_shape}")
        if self.flip:
            names = [self.labels[1][f] if self.labels else str(f) for f in self.flip]
            parts.append(f"{'kernel flipped on' if self.labels else 'flipped on axes'} {', '.join(names)}")
        return ", ".join(parts)

    def to_spec(self, a: Any, batched: bool = False) -> np.ndarray:
        """The spec's array of a framework array (a leading batch axis kept when ``batched``)."""
        a = np.asarray(a, dtype=object) if not isinstance(a, np.ndarray) else a
        lead = a.shape[:1] if batched else ()
        shift = len(lead)
        out = np.transpose(a.reshape(lead + self.staged), tuple(range(shift)) + tuple(x + shift for x in self.axes))
        out = out.reshape(lead + self.spec_shape)
        return np.flip(out, tuple(f + shift for f in self.flip)) if self.flip else out

    def from_spec(self, a: Any, batched: bool = False) -> np.ndarray:
        """The inverse of ``to_spec``."""
        a = np.asarray(a, dtype=object) if not isinstance(a, np.ndarray) else a
        lead = a.shape[:1] if batched else ()
        shift = len(lead)
        if self.flip:
            a = np.flip(a, tuple(f + shift for f in self.flip))
        a = a.reshape(lead + tuple(self.staged[x] for x in self.axes))
        inverse = tuple(int(i) for i in np.argsort(self.axes))
        a = np.transpose(a, tuple(range(shift)) + tuple(x + shift for x in inverse))
        return a.reshape(lead + self.framework_shape)


@dataclass(frozen=True)
class FrameworkConv:
    """One framework's convolution call or layer at fixed shapes, as a ConvSpec plus array maps.

    ``framework`` names the library ("torch", "tensorflow", "keras", "jax", "onnx", "scipy"),
    ``call`` the call in that library's words (e.g. ``tf.nn.conv2d(padding='SAME', strides=2)``),
    ``arguments`` the arguments as the user gave them (name, value), for messages.
    ``batched``: the framework's input and output carry a leading batch axis.
    ``rebuild``: the preset called again with the same arguments except the spatial size of the
    layer's input (a tuple, one int per axis); ``at_input_size`` uses it (``symconv.diff`` searches
    sizes with it). ``bias``: whether a transposed layer adds a bias b (one per output channel)
    after conv_transpose; its spec has none. A forward layer's bias is ``spec.bias`` (``bias`` None).
    """

    framework: str
    call: str
    spec: ConvSpec
    input_map: ArrayMap
    weight_map: ArrayMap
    output_map: ArrayMap
    transposed: bool = False
    output_padding: tuple[int, ...] = ()
    batched: bool = True
    arguments: tuple[tuple[str, Any], ...] = field(default=())
    rebuild: Callable[[tuple[int, ...]], FrameworkConv] | None = field(default=None, compare=False, repr=False)
    bias: bool | None = None

    def __post_init__(self) -> None:
        if (self.bias is not None) != self.transposed or (self.transposed and self.spec.bias):
            raise ValueError(f"{self.call}: a transposed layer states its bias in ``bias`` (its spec has none); "
                             f"a forward layer's bias is its spec's (``bias`` None)")

    @property
    def has_bias(self) -> bool:
        """Whether the layer adds a bias: ``spec.bias``, or a transposed layer's ``bias``."""
        return bool(self.spec.bias if self.bias is None else self.bias)

    def at_input_size(self, size: tuple[int, ...]) -> FrameworkConv:
        """The same call with the layer's input of spatial size ``size``."""
        if self.rebuild is None:
            raise ValueError(f"{self.call}: built without a rebuild function, so only at its own size")
        return self.rebuild(tuple(size))

    def apply(self, x: Any, w: Any, b: Any = None) -> np.ndarray:
        """symconv's definition of this layer on the framework's arrays (exact: object arrays).

        >>> import symconv
        >>> spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
        >>> layer = FrameworkConv("torch", "conv1d", spec, ArrayMap.identity(spec.input_shape),
        ...                       ArrayMap.identity(spec.weight_shape), ArrayMap.identity(spec.output_shape))
        >>> layer.apply([[[1, 2, 3]]], [[[1, -1]]]).tolist()
        [[[-1, -1]]]
        """
        spec = self.spec
        xs = self.input_map.to_spec(np.asarray(x, dtype=object), batched=self.batched)
        ws = self.weight_map.to_spec(np.asarray(w, dtype=object))
        if self.transposed:
            y = conv_transpose(spec, xs, ws, self.output_padding or 0)
            if b is not None:  # one bias per output channel, broadcast over positions (and the batch)
                bias = np.asarray(b, dtype=object)
                y = y + (bias.reshape((-1,) + (1,) * spec.dims) if spec.layout == "NCHW" else bias)
        else:
            y = conv(spec, xs, ws, b)
        return self.output_map.from_spec(y, batched=self.batched)
