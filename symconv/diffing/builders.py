"""A command-line SIDE (``symconv.diffing.sides``) made into the layer it names: a ConvSpec, or a
framework preset of ``symconv.frameworks`` called with the framework's own argument names.

    spec        the ConvSpec fields              spec in_channels=3 out_channels=8 kernel_size=4 input_size=9,9
    torch       module=Conv2d (default Conv{len(input_size)}d) + the module's constructor arguments + input_size
    tensorflow  op=conv (default) or conv_transpose + from_tensorflow(_transpose)'s arguments
    onnx        op=Conv or ConvTranspose, the node's attributes, x_shape, w_shape, bias=true for an input B
    keras       layer=Conv2D (a Keras class) + the layer's config entries + input_shape (data_format
                channels_last unless given: Keras' default, a keras.json is not read)
    jax         op=conv_general_dilated (default) or conv_transpose + from_jax(_transpose)'s arguments
    scipy       function=signal.correlate2d (one of SCIPY_FUNCTIONS) + from_scipy's other arguments
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..errors import SpecError, boolean
from ..spec import ConvSpec
from .sides import check_keys, preset_keys, split_side

ALIASES = {"tf": "tensorflow", "pytorch": "torch", "symconv": "spec"}
TORCH_MODULES = tuple(f"{kind}{dims}d" for kind in ("Conv", "ConvTranspose") for dims in (1, 2, 3))
ONNX_LISTS = ("dilations", "kernel_shape", "output_padding", "output_shape", "pads", "strides")


def build_side(text: str, parameter: str) -> Any:
    """The layer a SIDE names (a ConvSpec or a FrameworkConv); SpecError naming what is wrong."""
    framework, given = split_side(text, parameter)
    name = ALIASES.get(framework, framework)
    if name not in BUILDERS:
        raise SpecError(parameter, framework, f"must start with a framework: {', '.join(sorted(BUILDERS))}")
    try:
        return BUILDERS[name](given)
    except ImportError as error:  # the framework (or its preset) is not installed here
        raise SpecError(parameter, framework, f"cannot be read here: {error}") from None


def _called(what: str, build: Callable[[], Any]) -> Any:
    """``build()``, a framework's own refusal (TypeError, ValueError) as a SpecError naming ``what``."""
    try:
        return build()
    except SpecError:
        raise
    except (TypeError, ValueError, RuntimeError) as error:
        text = str(error).strip()
        raise SpecError(what, "", text.splitlines()[0] if text else type(error).__name__) from None


def _spec(given: dict[str, Any]) -> ConvSpec:
    keys, _ = preset_keys(ConvSpec.__init__)
    check_keys("spec (ConvSpec)", given, keys[1:], ("in_channels", "out_channels", "kernel_size", "input_size"))
    return ConvSpec(**given)


def _torch(given: dict[str, Any]) -> Any:
    import torch

    from ..frameworks.torch import from_torch
    size = given.get("input_size")
    name = given.pop("module", f"Conv{len(size) if isinstance(size, tuple) else 1}d")
    if name not in TORCH_MODULES:
        raise SpecError("module", name, f"must be one of {', '.join(TORCH_MODULES)}")
    cls = getattr(torch.nn, name)
    own = tuple(p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "device", "dtype"))
    check_keys(f"torch.nn.{name}", given, ("module", *own, "input_size"),
               ("in_channels", "out_channels", "kernel_size", "input_size"))
    size = given.pop("input_size")
    if "bias" in given:   # torch would take any truthy value: the text 'false' would add a bias
        given["bias"] = boolean("bias", given["bias"])
    module = _called(f"torch.nn.{name}", lambda: cls(**given))
    return from_torch(module, size)


def _tensorflow(given: dict[str, Any]) -> Any:
    from ..frameworks.tensorflow import from_tensorflow, from_tensorflow_transpose
    op = given.pop("op", "conv")
    presets: dict[str, Callable[..., Any]] = {"conv": from_tensorflow, "conv_transpose": from_tensorflow_transpose}
    if op not in presets:
        raise SpecError("op", op, "must be conv (tf.nn.convolution, conv1d/2d/3d) or conv_transpose "
                                  "(tf.nn.conv_transpose, conv1d/2d/3d_transpose)")
    return _preset(f"tensorflow op={op}", presets[op], given)


def _preset(what: str, preset: Callable[..., Any], given: dict[str, Any]) -> Any:
    """``preset(**given)`` with its own argument names checked first."""
    keys, required = preset_keys(preset)
    check_keys(what, given, keys, required)
    return preset(**given)


def _onnx(given: dict[str, Any]) -> Any:
    from onnx import helper

    from ..frameworks.onnx import ATTRIBUTES, from_onnx
    op = given.pop("op", "Conv")
    if op not in ATTRIBUTES:
        raise SpecError("op", op, f"must be one of {', '.join(ATTRIBUTES)}")
    check_keys(f"onnx {op}", given, ("x_shape", "w_shape", "bias", *ATTRIBUTES[op]), ("x_shape", "w_shape"))
    x_shape, w_shape = given.pop("x_shape"), given.pop("w_shape")
    bias = boolean("bias", given.pop("bias", False))   # 1 or 'yes' is no bias=true: refused, not read as false
    attributes: dict[str, Any] = {
        key: list(value) if isinstance(value, tuple) else [value] if key in ONNX_LISTS else value
        for key, value in given.items()}
    inputs = ["X", "W", "B"] if bias else ["X", "W"]
    node = _called(f"onnx {op}", lambda: helper.make_node(op, inputs, ["Y"], **attributes))
    return from_onnx(node, x_shape, w_shape)


def _jax(given: dict[str, Any]) -> Any:
    from ..frameworks.jax import from_jax, from_jax_transpose
    op = given.pop("op", "conv_general_dilated")
    presets: dict[str, Callable[..., Any]] = {"conv_general_dilated": from_jax, "conv_transpose": from_jax_transpose}
    if op not in presets:
        raise SpecError("op", op, "must be conv_general_dilated (jax.lax's, the default) or conv_transpose")
    return _preset(f"jax op={op}", presets[op], given)


SCIPY_FUNCTIONS = tuple(f"{module}.{name}" for module, names in (
    ("signal", ("correlate", "convolve", "correlate2d", "convolve2d")), ("ndimage", ("correlate", "convolve")))
    for name in names)


def _scipy(given: dict[str, Any]) -> Any:
    import importlib

    from ..frameworks.scipy import from_scipy
    name = given.pop("function", None)
    name = name[len("scipy."):] if isinstance(name, str) and name.startswith("scipy.") else name
    if name not in SCIPY_FUNCTIONS:
        raise SpecError("function", name, f"must be one of {', '.join(SCIPY_FUNCTIONS)}")
    module, function = name.split(".")
    given["function"] = getattr(importlib.import_module(f"scipy.{module}"), function)
    return _preset(f"scipy.{name}", from_scipy, given)


def _keras(given: dict[str, Any]) -> Any:
    from ..frameworks.keras import CALL_KEYS, CLASSES, from_keras
    name = given.pop("layer", None)
    if name not in CLASSES:
        raise SpecError("layer", name, f"must be one of {', '.join(CLASSES)}")
    depthwise = name.startswith("Depthwise")
    needed = ("kernel_size", "input_shape") if depthwise else ("filters", "kernel_size", "input_shape")
    check_keys(f"keras {name}", given, ("input_shape", "activation", *CALL_KEYS), needed)
    shape = given.pop("input_shape")
    # a get_config() has every entry: the class's defaults for those not given (data_format: Keras'
    # default image_data_format, without reading a keras.json)
    defaults = {"data_format": "channels_last", **({"output_padding": None} if "Transpose" in name else {}),
                **({"depth_multiplier": 1} if depthwise else {})}
    return from_keras({"class_name": name, "config": defaults | given}, shape)


BUILDERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "spec": _spec, "torch": _torch, "tensorflow": _tensorflow, "keras": _keras, "onnx": _onnx, "jax": _jax,
    "scipy": _scipy,
}
