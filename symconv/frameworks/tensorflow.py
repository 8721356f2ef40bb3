"""TensorFlow's conv ops as presets: ``tf.nn.conv1d/conv2d/conv3d/convolution`` (``from_tensorflow``)
and ``tf.nn.conv1d_transpose/conv2d_transpose/conv3d_transpose/conv_transpose``
(``from_tensorflow_transpose``), from the shapes and arguments of the call; TensorFlow itself is
not needed.

TensorFlow's filter is HWIO, (*k, C_in/groups, C_out), its data NHWC unless ``data_format`` starts
with "NC" (``tf.nn.convolution``'s rule). 'VALID' pads nothing; 'SAME' pads each axis by

    total = max((⌈n/s⌉ − 1)·s + d·(K − 1) + 1 − n, 0),   ⌊total/2⌋ before, the rest AFTER

(``conventions.same_padding``; torch's 'same' puts the odd row after too, but exists only at
stride 1); an explicit padding is one [before, after] pair per axis of the data, [0, 0] on the
batch and channel axes. A transposed op is the gradient of the conv from ``output_shape`` to the
input's shape with the same filter, strides, padding and dilations (its filter (*k, C_out_t,
C_in_t) is that conv's HWIO).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from ..errors import SpecError, integer
from ..interop.specs import valid_shape
from ..spec import _per_axis
from .conventions import SPATIAL_LETTERS, checked_spec, forward_of_transposed, layout_maps, same_padding, same_total
from .layer import FrameworkConv

DATA_FORMATS = {1: (None, "NWC", "NCW"), 2: (None, "NHWC", "NCHW"), 3: (None, "NDHWC", "NCDHW")}
"""The data formats TensorFlow accepts per number of spatial axes (tf.nn.convolution also takes
2-D's names for 1-D data, a deprecated alias; conv_transpose does not)."""
NAMES = {"kernel_size": "filter_shape", "input_size": "input_shape", "stride": "strides", "dilation": "dilations",
         "padding": "padding", "groups": "filter_shape", "in_channels": "input_shape", "out_channels": "filter_shape"}
"""The ConvSpec field each TensorFlow argument sets (for refusals in TensorFlow's words)."""


def _channels_first(data_format: Any, dims: int, transposed: bool) -> bool:
    allowed = DATA_FORMATS[dims] + (DATA_FORMATS[2][1:] if dims == 1 and not transposed else ())
    if not (data_format is None or (isinstance(data_format, str) and data_format in allowed)):
        raise SpecError("data_format", data_format, f"must be one of {allowed} for data with {dims} spatial "
                        f"axes (TensorFlow's rule)")
    return data_format is not None and data_format.startswith("NC")


def _per_spatial_axis(name: str, value: Any, dims: int, first: bool) -> tuple[int, ...]:
    """An int or a list of 1, ``dims`` or ``dims + 2`` ints (TensorFlow's rule; with dims + 2 the
    batch and channel entries must be 1)."""
    if isinstance(value, (list, tuple)) and len(value) == dims + 2:
        spatial = value[2:] if first else value[1:-1]
        outer = (value[0], value[1]) if first else (value[0], value[-1])
        if tuple(outer) != (1, 1):
            raise SpecError(name, value, "with one entry per axis of the data, the batch and channel entries must be 1")
        value = spatial
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    return _per_axis(name, value, dims, 1)


def _padding_pairs(padding: Any, sizes: tuple[int, ...], kernel: tuple[int, ...], strides: tuple[int, ...],
                   dilations: tuple[int, ...], first: bool, padded_input: bool = False) -> tuple[tuple[int, int], ...]:
    """TensorFlow's padding as (before, after) per spatial axis: 'VALID', 'SAME' (the rule above)
    or explicit pairs, one per axis of the data (2-D only: TensorFlow's 1-D and 3-D ops take a
    string; ``padded_input``: pairs of any rank, padded into the input before the op)."""
    if isinstance(padding, str) and padding == "VALID":
        return ((0, 0),) * len(sizes)
    if isinstance(padding, str) and padding == "SAME":
        totals = [same_total(n, k, s, d) for n, k, s, d in zip(sizes, kernel, strides, dilations)]
        if len(sizes) == 3 and min(totals) < 0:   # measured, TensorFlow 2.20 on CPU
            raise SpecError("padding", padding, f"with 3 spatial axes of size {sizes}, 'SAME' has the total padding "
                            f"(⌈n/s⌉ − 1)·s + d·(K − 1) + 1 − n = {tuple(totals)}, negative on an axis: TensorFlow's "
                            f"Conv3D kernels then disagree by dtype (Eigen's, float64 always and float32 without "
                            f"oneDNN, centres the windows; oneDNN's does not), so the op is no one conv; use "
                            f"'VALID', or sizes where the last window reaches the end (total ≥ 0)")
        return tuple(same_padding(n, k, s, d) for n, k, s, d in zip(sizes, kernel, strides, dilations))
    dims = len(sizes)
    rule = (f"must be 'VALID', 'SAME' or {dims + 2} [before, after] pairs of ints ≥ 0 (one per axis of the data, "
            f"[0, 0] on the batch and channel axes)")
    if not isinstance(padding, (list, tuple)) or len(padding) != dims + 2:
        raise SpecError("padding", padding, rule)
    if dims != 2 and not padded_input:
        raise SpecError("padding", padding, f"must be 'VALID' or 'SAME' with {dims} spatial axes: TensorFlow takes "
                        f"explicit [before, after] pairs only for 2-D data")
    pairs = []
    for pair in padding:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise SpecError("padding", padding, rule)
        pairs.append((integer("padding", pair[0], 0), integer("padding", pair[1], 0)))
    spatial, outer = (pairs[2:], pairs[:2]) if first else (pairs[1:-1], [pairs[0], pairs[-1]])
    if any(pair != (0, 0) for pair in outer):
        raise SpecError("padding", padding, rule)
    return tuple(spatial)


def _parsed(input_shape: Any, filter_shape: Any, strides: Any, data_format: Any, dilations: Any,
            transposed: bool, by_keras: bool = False) -> tuple:
    """(dims, channels first, input shape, filter shape, strides, dilations), validated; a strides > 1
    with a dilation > 1 (on any axes) is refused for the forward op, as tf.nn.convolution does
    (``by_keras``: Keras checks its own rule, and its depthwise op takes both)."""
    kernel_shape = valid_shape("filter_shape", filter_shape)
    dims = len(kernel_shape) - 2
    if dims not in SPATIAL_LETTERS:
        raise SpecError("filter_shape", filter_shape, "must have 3, 4 or 5 entries: (*kernel_size, in, out)")
    first = _channels_first(data_format, dims, transposed)
    shape = valid_shape("input_shape", input_shape, dims + 2)
    stride = _per_spatial_axis("strides", strides, dims, first)
    dilation = _per_spatial_axis("dilations", 1 if dilations is None else dilations, dims, first)
    if not (transposed or by_keras) and max(stride) > 1 and max(dilation) > 1:
        raise SpecError("dilations", dilations, f"must be 1 where strides={strides!r} has an entry > 1 "
                        f"(tf.nn.convolution refuses strides > 1 with dilations > 1)")
    return dims, first, shape, kernel_shape, stride, dilation


def _letters(dims: int, first: bool) -> tuple[str, str, str]:
    """(spec layout, data letters without the batch axis, filter letters)."""
    spatial = SPATIAL_LETTERS[dims]
    return ("NCHW", "C" + spatial, spatial + "IO") if first else ("NHWC", spatial + "C", spatial + "IO")


def _with_size(shape: tuple[int, ...], size: tuple[int, ...], first: bool) -> tuple[int, ...]:
    """``shape`` (batch, channels and spatial axes) with the spatial sizes replaced by ``size``."""
    return (shape[0], shape[1], *size) if first else (shape[0], *size, shape[-1])


def from_tensorflow(input_shape: Any, filter_shape: Any, strides: Any = 1, padding: Any = "VALID",
                    data_format: Any = None, dilations: Any = 1) -> FrameworkConv:
    """The conv ``tf.nn.convolution(input, filters, strides, padding, data_format, dilations)``
    (also conv1d/conv2d/conv3d) computes on an ``input_shape`` input (with its batch axis) and a
    ``filter_shape`` filter (*k, C_in/groups, C_out): groups = C_in / filter_shape[-2].

    >>> layer = from_tensorflow((1, 5, 5, 2), (4, 4, 2, 3), padding="SAME")   # TF: the odd row after
    >>> layer.spec.padding, layer.spec.layout, layer.weight_map.describe()
    (((1, 2), (1, 2)), 'NHWC', 'unchanged')
    >>> from_tensorflow((1, 2, 6, 6), (3, 3, 2, 3), strides=2, padding="SAME", data_format="NCHW").spec.padding
    ((0, 1), (0, 1))
    """
    return keras_convolution(input_shape, filter_shape, strides, padding, data_format, dilations, False)


def keras_convolution(input_shape: Any, filter_shape: Any, strides: Any, padding: Any, data_format: Any,
                      dilations: Any, by_keras: bool = True) -> FrameworkConv:
    """``from_tensorflow``, or with ``by_keras`` the conv a Keras layer computes with TensorFlow's
    ops: explicit pairs of any rank (Keras pads the input itself, then 'VALID': causal Conv1D) and
    strides with dilations (Keras checks its own rule; tf.nn.depthwise_conv2d takes both)."""
    dims, first, shape, kernel_shape, stride, dilation = _parsed(input_shape, filter_shape, strides,
                                                                 data_format, dilations, False, by_keras)
    layout, letters, weight_letters = _letters(dims, first)
    sizes, channels = (shape[2:], shape[1]) if first else (shape[1:-1], shape[-1])
    groups = channels // kernel_shape[-2]
    if channels % kernel_shape[-2] or kernel_shape[-1] % groups:
        raise SpecError("filter_shape", filter_shape, f"filter_shape[-2] must divide the input's {channels} channels "
                        f"(groups = {channels}/filter_shape[-2]) and groups must divide filter_shape[-1]")
    arguments = {"input_shape": input_shape, "filter_shape": filter_shape, "strides": strides, "padding": padding,
                 "data_format": data_format, "dilations": dilations}
    pads = _padding_pairs(padding, sizes, kernel_shape[:-2], stride, dilation, first, by_keras)
    spec = checked_spec(NAMES, arguments, in_channels=channels, out_channels=kernel_shape[-1],
                        kernel_size=kernel_shape[:-2], input_size=sizes, stride=stride, padding=pads,
                        dilation=dilation, groups=groups, bias=False, layout=layout)
    call = (f"tf.nn.convolution(input, filters, strides={strides!r}, padding={padding!r}, "
            f"data_format={data_format!r}, dilations={dilations!r})")

    def rebuild(size: tuple[int, ...]) -> FrameworkConv:
        return keras_convolution(_with_size(shape, size, first), filter_shape, strides, padding, data_format,
                                 dilations, by_keras)

    return FrameworkConv("tensorflow", call, spec, *layout_maps(spec, letters, weight_letters),
                         arguments=tuple(arguments.items()), rebuild=rebuild)


def from_tensorflow_transpose(input_shape: Any, filter_shape: Any, output_shape: Any, strides: Any,
                              padding: Any = "SAME", data_format: Any = None, dilations: Any = None) -> FrameworkConv:
    """The transposed conv ``tf.nn.conv_transpose(input, filters, output_shape, strides, padding,
    data_format, dilations)`` (also conv1d/2d/3d_transpose): the gradient of ``from_tensorflow``'s
    conv from ``output_shape`` (with its batch axis) to ``input_shape`` with ``filter_shape``
    (*k, C_out_t, C_in_t); ``.spec`` is that conv at the smallest input size with output size m
    (the input's), ``.output_padding`` how much larger ``output_shape`` is.
    ``rebuild`` keeps output size − s·m per axis (so 'SAME' keeps its padding).

    >>> layer = from_tensorflow_transpose((1, 4, 4, 3), (3, 3, 2, 3), (1, 8, 8, 2), strides=2)
    >>> layer.spec.input_size, layer.spec.padding, layer.output_padding   # SAME at 8: total 1, after
    ((8, 8), ((0, 1), (0, 1)), (0, 0))
    """
    dims, first, shape, kernel_shape, stride, dilation = _parsed(input_shape, filter_shape, strides,
                                                                 data_format, dilations, True)
    target = valid_shape("output_shape", output_shape, dims + 2)
    layout, letters, weight_letters = _letters(dims, first)
    (sizes, channels), (outputs, out_channels) = (
        ((s[2:], s[1]) for s in (shape, target)) if first else ((s[1:-1], s[-1]) for s in (shape, target)))
    if (kernel_shape[-1], kernel_shape[-2], shape[0]) != (channels, out_channels, target[0]):
        raise SpecError("filter_shape", filter_shape, f"must be (*kernel_size, {out_channels}, {channels}): the "
                        f"output's and the input's channels (conv_transpose has no groups), with one batch size")
    arguments = {"input_shape": input_shape, "filter_shape": filter_shape, "output_shape": output_shape,
                 "strides": strides, "padding": padding, "data_format": data_format, "dilations": dilations}
    pads = _padding_pairs(padding, outputs, kernel_shape[:-2], stride, dilation, first)
    forward = checked_spec(NAMES | {"input_size": "output_shape"}, arguments, in_channels=out_channels,
                           out_channels=channels, kernel_size=kernel_shape[:-2], input_size=outputs, stride=stride,
                           padding=pads, dilation=dilation, bias=False, layout=layout)
    if forward.output_size != sizes:
        raise SpecError("output_shape", output_shape, f"the conv from output_shape's size {outputs} with these strides "
                        f"and padding has output size {forward.output_size}, not the input's {sizes}")
    spec = forward_of_transposed(NAMES, arguments, sizes, pads, (0,) * dims, in_channels=out_channels,
                                 out_channels=channels, kernel_size=kernel_shape[:-2], stride=stride,
                                 dilation=dilation, layout=layout)
    output_padding = tuple(n - m for n, m in zip(outputs, spec.input_size))
    call = (f"tf.nn.conv_transpose(input, filters, output_shape={output_shape!r}, strides={strides!r}, "
            f"padding={padding!r}, data_format={data_format!r}, dilations={dilations!r})")
    return FrameworkConv("tensorflow", call, spec,
                         *layout_maps(spec, letters, weight_letters, output_padding=output_padding),
                         transposed=True, output_padding=output_padding, arguments=tuple(arguments.items()),
                         rebuild=partial(_transpose_at, arguments, first, stride), bias=False)


def _transpose_at(arguments: dict[str, Any], first: bool, stride: tuple[int, ...],
                  size: tuple[int, ...]) -> FrameworkConv:
    """``from_tensorflow_transpose`` on an input of spatial size ``size``, output size N + s·(m' − m)."""
    shape, target = (tuple(arguments[k]) for k in ("input_shape", "output_shape"))
    old = shape[2:] if first else shape[1:-1]
    outputs = target[2:] if first else target[1:-1]
    grown = tuple(n + s * (m - m0) for n, s, m, m0 in zip(outputs, stride, size, old))
    return from_tensorflow_transpose(_with_size(shape, size, first), arguments["filter_shape"],
                                     _with_size(target, grown, first), arguments["strides"], arguments["padding"],
                                     arguments["data_format"], arguments["dilations"])
