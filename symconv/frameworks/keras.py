"""Keras 3's conv layers as presets: ``Conv1D/2D/3D``, ``Conv1D/2D/3DTranspose`` and
``DepthwiseConv1D/2D``, from a layer or its ``get_config()`` dict, as the TensorFlow backend
computes them (``tf.nn.convolution`` / ``tf.nn.conv_transpose``; ``from_tensorflow``'s rules).

Keras' kernel is HWIO, (*k, C_in/groups, filters); a transposed layer's (*k, filters, C_in); a
depthwise layer's (*k, C_in, depth_multiplier), output channel c·depth_multiplier + j.
``padding`` (any case): 'valid', 'same' (TensorFlow's 'SAME': the odd row after, ⌈n/s⌉ outputs)
or, for Conv1D, 'causal' (d·(K − 1) before, nothing after). A transposed layer's output size is
Keras' (per axis, span = d·(K − 1) + 1):

    'valid':  (m − 1)·s + span + output_padding, output_padding None meaning max(span, s) − span
    'same':   m·s if output_padding is None, else (m − 1)·s + span mod 2 + output_padding

and the layer is ``tf.nn.conv_transpose`` to that size with 'SAME'/'VALID', whose padding
TensorFlow computes from the output size. Refused: keys a class does not have, SeparableConv
(two convolutions), and a channels_first layer with a bias whose output's last spatial size equals
its filters (Keras then adds the bias along that axis: a Keras bug, measured in Keras 3.15).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import SpecError, boolean, integer
from ..spec import _per_axis
from .conventions import SPATIAL_LETTERS, spec_letters
from .layer import ArrayMap, FrameworkConv
from .tensorflow import from_tensorflow_transpose, keras_convolution

CLASSES = ("Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
           "DepthwiseConv1D", "DepthwiseConv2D")
CALL_KEYS = ("filters", "kernel_size", "strides", "padding", "output_padding", "data_format", "dilation_rate",
             "groups", "depth_multiplier", "use_bias")
"""The config entries that change the map (for ``.call``)."""
NAMES = {"filter_shape": "kernel_size", "dilations": "dilation_rate", "output_shape": "output_padding"}
"""The Keras argument behind each ``from_tensorflow`` argument (for refusals in Keras' words)."""


COMMON_KEYS = frozenset({"activation", "activity_regularizer", "bias_constraint", "bias_initializer",
                         "bias_regularizer", "data_format", "dilation_rate", "dtype", "kernel_size", "name", "padding",
                         "strides", "trainable", "use_bias"})
KERNEL_KEYS = frozenset({"filters", "kernel_constraint", "kernel_initializer", "kernel_regularizer"})
CONFIG_KEYS = {"conv": COMMON_KEYS | KERNEL_KEYS | {"groups"},
               "transpose": COMMON_KEYS | KERNEL_KEYS | {"output_padding"},
               "depthwise": COMMON_KEYS | {"depth_multiplier", "depthwise_constraint", "depthwise_initializer",
                                           "depthwise_regularizer"}}
"""The keys of each kind's get_config() (Keras 3): any other key is no argument of that class."""
SEPARABLE_RULE = ("a separable conv is two convolutions (depthwise, then a 1×1 pointwise conv with its own kernel), "
                  "not one conv layer: not read; use DepthwiseConv*D followed by Conv*D(kernel_size=1)")


def _config(layer_or_config: Any) -> tuple[str | None, dict[str, Any]]:
    """(class name if known, config) of a Keras layer, a get_config() dict or a serialized layer."""
    if isinstance(layer_or_config, dict):
        if "class_name" in layer_or_config and "config" in layer_or_config:
            name = layer_or_config["class_name"]
            if isinstance(name, str) and name.startswith("SeparableConv"):
                raise SpecError("layer_or_config", name, SEPARABLE_RULE)
            if not isinstance(name, str) or name not in CLASSES:
                raise SpecError("layer_or_config", name, f"class_name must be one of {CLASSES}")
            if not isinstance(layer_or_config["config"], dict):
                raise SpecError("layer_or_config", layer_or_config["config"], "config must be a dict (get_config())")
            return name, dict(layer_or_config["config"])
        if any(key.startswith("pointwise_") for key in layer_or_config if isinstance(key, str)):
            raise SpecError("layer_or_config", "SeparableConv config", SEPARABLE_RULE)
        return None, dict(layer_or_config)
    import keras
    kind = type(layer_or_config)   # exactly Keras' class: a subclass may compute something else in call()
    name = next((n for n in CLASSES if getattr(keras.layers, n, None) is kind), None)
    if name is None and kind.__name__.startswith("SeparableConv"):
        raise SpecError("layer_or_config", kind.__name__, SEPARABLE_RULE)
    if name is None:
        raise SpecError("layer_or_config", kind.__name__, f"must be one of keras.layers.{CLASSES} (Keras' own class) "
                                                          f"or its get_config() dict")
    return name, layer_or_config.get_config()


def _data_format(value: Any) -> bool:
    """Whether the layer is channels first (None: Keras' image_data_format(), channels_last without Keras)."""
    if value is None:
        try:
            import keras
            value = keras.config.image_data_format()
        except ImportError:
            value = "channels_last"
    if value not in ("channels_last", "channels_first"):
        raise SpecError("data_format", value, "must be 'channels_last', 'channels_first' or None")
    return value == "channels_first"


def _input_shape(input_shape: Any, dims: int) -> tuple[int, ...]:
    """The input shape with a batch axis (None or absent: 1; the batch does not change the map)."""
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else input_shape
    if not isinstance(shape, tuple) or len(shape) not in (dims + 1, dims + 2):
        raise SpecError("input_shape", input_shape, f"must have {dims + 1} entries, or {dims + 2} with the batch first")
    shape = (1, *shape) if len(shape) == dims + 1 else (1 if shape[0] is None else shape[0], *shape[1:])
    try:
        return tuple(integer("input_shape", n, 1) for n in shape)
    except SpecError:
        raise SpecError("input_shape", input_shape, "must be integers ≥ 1 (None only for the batch)") from None


def _kind(name: str | None, config: dict[str, Any]) -> tuple[str, str, int]:
    """(class name, "conv", "transpose" or "depthwise", number of spatial axes) of a layer's config:
    the kind and rank from the class (a bare config: the kind from its class's own keys, the rank
    from kernel_size); SpecError for a key that class does not have or a kernel_size of another rank."""
    if name is None:
        kind = "transpose" if "output_padding" in config else "depthwise" if "depth_multiplier" in config else "conv"
    else:
        kind = "transpose" if name.endswith("Transpose") else "depthwise" if name.startswith("Depthwise") else "conv"
    kernel = config.get("kernel_size")
    rank = next((int(c) for c in name or "" if c.isdigit()), None)   # Conv2D, Conv2DTranspose, DepthwiseConv1D
    dims = len(kernel) if isinstance(kernel, (tuple, list)) else rank or 0
    if dims not in SPATIAL_LETTERS or (rank is not None and dims != rank):
        raise SpecError("kernel_size", kernel, "must be 1 to 3 ints (as get_config() gives it)"
                        + (f", as many as {name} has spatial axes" if name else ""))
    name = name or {"conv": f"Conv{dims}D", "transpose": f"Conv{dims}DTranspose",
                    "depthwise": f"DepthwiseConv{dims}D"}[kind]
    foreign = sorted(str(key) for key in config if key not in CONFIG_KEYS[kind])
    if foreign:
        raise SpecError(foreign[0], config[foreign[0]], f"is no argument of keras.layers.{name}, so this config is not "
                        f"that layer's (refused rather than read without it)")
    return name, kind, dims


def from_keras(layer_or_config: Any, input_shape: Any) -> FrameworkConv:
    """The conv a Keras conv layer (or its ``get_config()`` dict, or ``{"class_name", "config"}``)
    computes on inputs of ``input_shape`` (with or without the batch axis; None for the batch is
    fine). A nonlinear ``activation`` is refused: the layer is then no convolution.

    >>> config = {"filters": 3, "kernel_size": (4,), "strides": (1,), "padding": "same",
    ...           "data_format": "channels_last", "dilation_rate": (1,), "groups": 1, "activation": "linear",
    ...           "use_bias": True}
    >>> layer = from_keras(config, (None, 7, 2))
    >>> layer.spec.padding, layer.spec.bias, layer.framework
    (((1, 2),), True, 'keras')
    """
    name, config = _config(layer_or_config)
    name, kind, dims = _kind(name, config)
    activation = config.get("activation")
    if activation is not None and not (isinstance(activation, str) and activation == "linear"):
        raise SpecError("activation", config.get("activation"), "must be None or 'linear': a nonlinear activation "
                                                                "makes the layer no convolution")
    first = _data_format(config.get("data_format"))
    shape = _input_shape(input_shape, dims)
    kernel = _per_axis("kernel_size", config.get("kernel_size"), dims, 1)
    padding = config.get("padding", "valid")
    padding = padding.lower() if isinstance(padding, str) else padding
    tf_format = ("NC" + SPATIAL_LETTERS[dims]) if first else ("N" + SPATIAL_LETTERS[dims] + "C")
    strides = _per_axis("strides", config.get("strides", 1), dims, 1)
    dilation = _per_axis("dilation_rate", config.get("dilation_rate", 1), dims, 1)
    channels = shape[1] if first else shape[-1]
    if kind != "depthwise" and max(strides) > 1 and max(dilation) > 1:   # Keras' depthwise layers take both
        raise SpecError("dilation_rate", config.get("dilation_rate"), f"must be 1 where strides={strides} has an "
                        f"entry > 1 (Keras refuses strides > 1 with dilation_rate > 1)")
    try:
        layer = _tensorflow_layer(kind, config, shape, kernel, padding, tf_format, strides, dilation, channels)
    except SpecError as error:
        argument = NAMES.get(error.parameter, error.parameter)
        raise SpecError(argument, config.get(argument, input_shape if argument == "input_shape" else error.value),
                        error.rule) from None
    if kind == "depthwise":
        layer = dataclasses.replace(layer, weight_map=_depthwise_map(layer.spec, kernel, channels))
    bias = boolean("use_bias", config.get("use_bias", True))
    out = tuple(layer.output_map.framework_shape)   # (filters, *spatial) per sample when channels first
    if first and bias and out[-1] == out[0]:
        raise SpecError("use_bias", True, f"with data_format='channels_first' and outputs {out}, whose last spatial "
                        f"size equals the {out[0]} filters, Keras (TensorFlow backend, measured in Keras 3.15) adds "
                        f"the bias along that spatial axis, not the channels (a Keras bug): no conv with a bias; use "
                        f"channels_last, use_bias=False or another input size")
    if kind == "transpose":   # a transposed layer's bias is added after the transposed conv (FrameworkConv.apply)
        layer = dataclasses.replace(layer, bias=bias)
    else:
        layer = dataclasses.replace(layer, spec=dataclasses.replace(layer.spec, bias=bias))

    def rebuild(size: tuple[int, ...]) -> FrameworkConv:
        return from_keras(layer_or_config, (shape[0], channels, *size) if first else (shape[0], *size, channels))

    words = ", ".join(f"{key}={config[key]!r}" for key in CALL_KEYS if key in config)
    arguments = (("layer_or_config", f"{name}({words})"), ("input_shape", input_shape))
    return dataclasses.replace(layer, framework="keras", call=f"keras.layers.{name}({words})",
                               arguments=arguments, rebuild=rebuild)


def _tensorflow_layer(kind: str, config: dict[str, Any], shape: tuple[int, ...], kernel: tuple[int, ...],
                      padding: Any, tf_format: str, strides: tuple[int, ...], dilation: tuple[int, ...],
                      channels: int) -> FrameworkConv:
    """The TensorFlow call the Keras layer makes (TensorFlow backend)."""
    if (not isinstance(padding, str) or padding not in ("valid", "same", "causal")
            or (padding == "causal" and (kind != "conv" or len(kernel) != 1))):
        raise SpecError("padding", config.get("padding"), "must be 'valid', 'same' or (Conv1D only) 'causal'")
    if kind == "transpose":
        sizes = shape[2:] if tf_format.startswith("NC") else shape[1:-1]
        extras = config.get("output_padding")
        extras = (None,) * len(kernel) if extras is None else _per_axis("output_padding", extras, len(kernel), 0)
        if any(e is not None and e >= s for e, s in zip(extras, strides)):
            raise SpecError("output_padding", config["output_padding"], f"must be less than strides={strides} on "
                            f"every axis (Keras' rule)")
        lengths = tuple(_transposed_length(*axis, padding) for axis in zip(sizes, kernel, strides, dilation, extras))
        filters = integer("filters", config.get("filters"), 1)
        target = (shape[0], filters, *lengths) if tf_format.startswith("NC") else (shape[0], *lengths, filters)
        return from_tensorflow_transpose(shape, (*kernel, filters, channels), target, strides, padding.upper(),
                                         tf_format, dilation)
    if kind == "depthwise":
        filter_shape = (*kernel, 1, channels * integer("depth_multiplier", config.get("depth_multiplier", 1), 1))
    else:
        groups = integer("groups", config.get("groups", 1), 1)
        if channels % groups:
            raise SpecError("groups", groups, f"must divide the input's {channels} channels")
        filter_shape = (*kernel, channels // groups, integer("filters", config.get("filters"), 1))
    tf_padding: Any = padding.upper()
    if padding == "causal":   # Keras pads d·(K − 1) before and convolves 'valid'
        tf_padding = [[0, 0], [dilation[0] * (kernel[0] - 1), 0], [0, 0]]
        tf_padding = [tf_padding[0], tf_padding[2], tf_padding[1]] if tf_format.startswith("NC") else tf_padding
    return keras_convolution(shape, filter_shape, strides, tf_padding, tf_format, dilation)


def _transposed_length(m: int, k: int, s: int, d: int, output_padding: int | None, padding: str) -> int:
    """Keras' output size of a transposed conv along one axis (the module docstring's rule)."""
    span = d * (k - 1) + 1
    if output_padding is None:
        return (m - 1) * s + max(span, s) if padding == "valid" else m * s
    return (m - 1) * s + (span if padding == "valid" else span % 2) + output_padding


def _depthwise_map(spec: Any, kernel: tuple[int, ...], channels: int) -> ArrayMap:
    """Keras' depthwise kernel (*k, C_in, depth_multiplier) → the spec's weight: output channel
    c·depth_multiplier + j is (c, j), so the two axes merge in order."""
    dims = len(kernel)
    staged = (*kernel, channels, spec.out_channels // channels)
    axes = tuple(range(dims + 2)) if spec.layout == "NHWC" else (dims, dims + 1, *range(dims))
    return ArrayMap(staged, spec.weight_shape, axes, staged_shape=staged,
                    labels=(SPATIAL_LETTERS[dims] + "CM", spec_letters(dims, spec.layout)[1]))
