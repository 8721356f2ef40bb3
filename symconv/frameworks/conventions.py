"""What the framework presets share: the 'SAME' rule of TensorFlow, JAX and Keras, axis letters
and the layout maps they give, the forward conv of a transposed layer, and ConvSpec's refusals
restated in the framework's own argument names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import SpecError
from ..forms.transpose import transposed_spec
from ..pattern import kernel_span, smallest_input_size
from ..spec import ConvSpec
from .layer import ArrayMap

SPATIAL_LETTERS = {1: "W", 2: "HW", 3: "DHW"}
"""The letters of the spatial axes of a 1-, 2- or 3-D conv (TensorFlow's "NDHWC" names)."""


def same_total(n: int, kernel: int, stride: int, dilation: int) -> int:
    """(⌈n/s⌉ − 1)·s + d·(K − 1) + 1 − n: the padding 'SAME' needs on one axis, negative where
    the strides overshoot the input (callers clamp it, or refuse what a library does there)."""
    return (-(-n // stride) - 1) * stride + kernel_span(kernel, dilation) - n


def same_padding(n: int, kernel: int, stride: int, dilation: int, lower: bool = False) -> tuple[int, int]:
    """TensorFlow's and JAX's 'SAME' padding of one axis: the output has ⌈n/s⌉ positions and

        total = max((⌈n/s⌉ − 1)·s + d·(K − 1) + 1 − n, 0),

    ⌊total/2⌋ before and the rest after ('SAME_LOWER', ``lower=True``: the rest before).

    >>> same_padding(5, 4, 1, 1), same_padding(5, 4, 1, 1, lower=True)   # the odd row after / before
    ((1, 2), (2, 1))
    >>> same_padding(6, 3, 2, 1)   # stride 2 on an even size: ⌈6/2⌉ = 3 outputs need one row, after
    (0, 1)
    """
    total = max(same_total(n, kernel, stride, dilation), 0)
    small, large = total // 2, total - total // 2
    return (large, small) if lower else (small, large)


def spec_letters(dims: int, layout: str) -> tuple[str, str]:
    """The axis letters of a spec's input and weight (no batch axis): ("CHW", "OIHW") or ("HWC", "HWIO").

    >>> spec_letters(1, "NHWC")
    ('WC', 'WIO')
    """
    spatial = SPATIAL_LETTERS[dims]
    return ("C" + spatial, "OI" + spatial) if layout == "NCHW" else (spatial + "C", spatial + "IO")


def layout_maps(spec: ConvSpec, letters: str, weight_letters: str | ArrayMap, flip: bool = False,
                output_padding: tuple[int, ...] | None = None,
                output_letters: str | None = None) -> tuple[ArrayMap, ArrayMap, ArrayMap]:
    """The input, weight and output maps of a framework whose arrays (batch axis dropped) carry
    the axis letters ``letters`` (input, and output unless ``output_letters``, e.g. "HWC") and
    ``weight_letters`` (e.g. "HWIO", or the weight map itself); ``flip`` flips the kernel's
    spatial axes. With ``output_padding`` the layer is the
    transposed conv of ``spec``: its input is the spec's output and its output
    ``conv_transpose``'s (the spec's input at ``transposed_size``).

    >>> spec = ConvSpec(2, 4, kernel_size=3, input_size=(5, 6), layout="NHWC")
    >>> [m.describe() for m in layout_maps(spec, "CHW", "OIHW")]
    ['CHW → HWC', 'OIHW → HWIO', 'CHW → HWC']
    """
    x_letters, w_letters = spec_letters(spec.dims, spec.layout)
    shapes = (spec.input_shape, spec.output_shape)
    if output_padding is not None:
        shapes = (spec.output_shape, transposed_spec(spec, output_padding).input_shape)

    def framework_shape(spec_shape: tuple[int, ...], own: str, framework: str) -> tuple[int, ...]:
        return tuple(spec_shape[own.index(letter)] for letter in framework)

    out = output_letters or letters
    weights = weight_letters if isinstance(weight_letters, ArrayMap) else ArrayMap.by_labels(
        weight_letters, w_letters, framework_shape(spec.weight_shape, w_letters, weight_letters),
        flip=SPATIAL_LETTERS[spec.dims] if flip else "")
    return (ArrayMap.by_labels(letters, x_letters, framework_shape(shapes[0], x_letters, letters)), weights,
            ArrayMap.by_labels(out, x_letters, framework_shape(shapes[1], x_letters, out)))


def checked_spec(names: Mapping[str, str], arguments: Mapping[str, Any], **spec_arguments: Any) -> ConvSpec:
    """``ConvSpec(**spec_arguments)``; a refusal is restated as SpecError naming the framework's
    argument that set the ConvSpec field (``names``: field → argument; ``arguments``: the
    framework's arguments by name), the rule and the ConvSpec field it broke."""
    try:
        return ConvSpec(**spec_arguments)
    except SpecError as error:
        argument = names.get(error.parameter, error.parameter)
        raise SpecError(argument, arguments.get(argument, error.value),
                        f"{error.rule} (as symconv's ConvSpec {error.parameter}={error.value!r})") from None


def forward_of_transposed(names: Mapping[str, str], arguments: Mapping[str, Any], layer_input: tuple[int, ...],
                          pads: tuple[tuple[int, int], ...], output_padding: tuple[int, ...],
                          **spec_arguments: Any) -> ConvSpec:
    """The forward conv a transposed layer transposes, as ``symconv.interop.specs.transposed_of``
    states torch's: the smallest input size n = (m − 1)·s − p_before − p_after + d·(K − 1) + 1
    with output size m = ``layer_input``; the layer computes ``conv_transpose(spec, g, w,
    output_padding)``, of size n + output_padding. SpecError (naming the framework's padding
    argument) when that size is below 1 on an axis."""
    kernel, stride, dilation = (spec_arguments[k] for k in ("kernel_size", "stride", "dilation"))
    sizes = tuple(smallest_input_size(m, k, s, d, before + after) for m, k, s, d, (before, after)
                  in zip(layer_input, kernel, stride, dilation, pads))
    if any(n < 1 or n + op < 1 for n, op in zip(sizes, output_padding)):
        argument = names.get("padding", "padding")
        raise SpecError(argument, arguments.get(argument),
                        f"the transposed conv's output size (m − 1)·s − padding + d·(K − 1) + 1 + output_padding "
                        f"= {tuple(n + op for n, op in zip(sizes, output_padding))} must be ≥ 1 and come from a "
                        f"forward input size ≥ 1 (here {sizes}); use less padding")
    return checked_spec(names, arguments, input_size=sizes, padding=pads, bias=False, **spec_arguments)


def split_output_padding(before: int, after_minus: int, stride: int, dilation: int) -> tuple[int, int] | None:
    """(p_after, output_padding) with p_after − output_padding = ``after_minus``, p_after ≥ 0 and
    0 ≤ output_padding < max(s, d) (PyTorch's rule), preferring p_after = p_before (PyTorch's
    symmetric padding); None when no such pair exists. Only the difference changes the map: the
    transposed conv's output size is (m − 1)·s − p_before − (p_after − output_padding) + d·(K − 1) + 1.

    >>> split_output_padding(1, 0, 2, 1), split_output_padding(0, 2, 2, 1), split_output_padding(0, -1, 2, 1)
    ((1, 1), (2, 0), (0, 1))
    """
    limit = max(stride, dilation)
    for after in (before, max(after_minus, 0)):
        if 0 <= after - after_minus < limit:
            return after, after - after_minus
    return None
