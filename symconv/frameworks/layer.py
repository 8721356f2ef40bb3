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

        to_spec(a) = flip(transpose(reshape(a, staged), axes), flip)

    where ``staged`` is ``spec_shape`` permuted back (staged[axes[i]] = spec_shape[i]), so the
    reshape only inserts or removes axes of length 1 (scipy's arrays have no channel axis).

    >>> m = ArrayMap(framework_shape=(2, 3, 1, 4), spec_shape=(4, 1, 2, 3), axes=(3, 2, 0, 1))  # HWIO → OIHW
    >>> m.to_spec(np.arange(24).reshape(2, 3, 1, 4)).shape
    (4, 1, 2, 3)
    >>> bool((m.from_spec(m.to_spec(np.arange(24).reshape(2, 3, 1, 4))) == np.arange(24).reshape(2, 3, 1, 4)).all())
    True
    >>> ArrayMap.identity((3, 5)).is_identity
    True
    """

    framework_shape: tuple[int, ...]
    spec_shape: tuple[int, ...]
    axes: tuple[int, ...]
    flip: tuple[int, ...] = ()

    @classmethod
    def identity(cls, shape: tuple[int, ...]) -> ArrayMap:
        return cls(tuple(shape), tuple(shape), tuple(range(len(shape))))

    def __post_init__(self) -> None:
        bijective = sorted(self.axes) == list(range(len(self.spec_shape)))
        if not bijective or prod(self.framework_shape) != prod(self.spec_shape):
            raise ValueError(f"ArrayMap{self.framework_shape}→{self.spec_shape} by axes {self.axes}: not a bijection")

    @property
    def staged(self) -> tuple[int, ...]:
        staged = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            staged[a] = self.spec_shape[i]
        return tuple(staged)

    @property
    def is_identity(self) -> bool:
        return (self.framework_shape == self.spec_shape and self.axes == tuple(range(len(self.axes)))
                and not self.flip)

    def to_spec(self, a: Any, batched: bool = False) -> np.ndarray:
        """The spec's array of a framework array (a leading batch axis kept when ``batched``)."""
        a = np.asarray(a, dtype=object) if not isinstance(a, np.ndarray) else a
        lead = a.shape[:1] if batched else ()
        shift = len(lead)
        out = np.transpose(a.reshape(lead + self.staged), tuple(range(shift)) + tuple(x + shift for x in self.axes))
        return np.flip(out, tuple(f + shift for f in self.flip)) if self.flip else out

    def from_spec(self, a: Any, batched: bool = False) -> np.ndarray:
        """The inverse of ``to_spec``."""
        a = np.asarray(a, dtype=object) if not isinstance(a, np.ndarray) else a
        lead = a.shape[:1] if batched else ()
        shift = len(lead)
        if self.flip:
            a = np.flip(a, tuple(f + shift for f in self.flip))
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
    sizes with it).
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
