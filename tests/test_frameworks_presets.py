"""symconv.frameworks presets against the real libraries: each preset's ``apply`` (symconv's exact
definition through the preset's maps) equals the library's own call on random integer-valued
arrays, at several sizes, even kernels, stride 2, dilation, asymmetric 'SAME', groups and
transposed layers; and a wrong preset (the odd padding row moved, the kernel not flipped, a
channel swap left out) is rejected by the same comparison."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

import symconv
from symconv.errors import SpecError
from symconv.frameworks import (
    from_tensorflow,
    from_tensorflow_transpose,
    from_torch,
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
RNG = np.random.default_rng(14)


def _draw(shape: tuple[int, ...]) -> np.ndarray:
    """Small integers as float32: every product and sum the frameworks form is exact."""
    return RNG.integers(-3, 4, size=shape).astype(np.float32)


def agrees(layer: symconv.frameworks.FrameworkConv, run, bias: bool = False, batch: int = 2) -> bool:
    """Whether ``run(x, w, b)`` (the library) equals ``layer.apply(x, w, b)`` exactly, at two draws."""
    for _ in range(2):
        x = _draw(((batch,) if layer.batched else ()) + layer.input_map.framework_shape)
        w = _draw(layer.weight_map.framework_shape)
        out_channels = layer.spec.in_channels if layer.transposed else layer.spec.out_channels
        b = _draw((out_channels,)) if bias else None
        expected = layer.apply(x, w, b).astype(np.float64)
        got = np.asarray(run(x, w, b), dtype=np.float64)
        if got.shape != expected.shape or not np.array_equal(got, expected):
            return False
    return True


def moved_padding(layer: symconv.frameworks.FrameworkConv) -> symconv.frameworks.FrameworkConv:
    """The preset with every axis's padding pair reversed (the odd row on the other side)."""
    pads = tuple((after, before) for before, after in layer.spec.padding)
    return dataclasses.replace(layer, spec=dataclasses.replace(layer.spec, padding=pads))


# ---- torch ---------------------------------------------------------------------------------------

TORCH_FORWARD = [
    ("Conv1d", dict(in_channels=2, out_channels=3, kernel_size=4, padding="same"), (7,)),
    ("Conv2d", dict(in_channels=4, out_channels=2, kernel_size=(2, 3), stride=2, dilation=(1, 2), groups=2), (7, 8)),
    ("Conv2d", dict(in_channels=1, out_channels=2, kernel_size=3, padding=2, padding_mode="circular"), (5, 4)),
    ("Conv3d", dict(in_channels=1, out_channels=1, kernel_size=2, padding=(1, 0, 1)), (3, 4, 3)),
]
TORCH_TRANSPOSED = [
    ("ConvTranspose1d", dict(in_channels=2, out_channels=4, kernel_size=4, stride=2, padding=1, output_padding=1,
                             groups=2), (5,)),
    ("ConvTranspose2d", dict(in_channels=3, out_channels=2, kernel_size=3, stride=(2, 1), dilation=2,
                             output_padding=(1, 0)), (3, 4)),
]


@pytest.mark.parametrize(("name", "kwargs", "size"), TORCH_FORWARD + TORCH_TRANSPOSED)
def test_torch_preset_agrees_with_torch(name, kwargs, size):
    torch = pytest.importorskip("torch")
    module = getattr(torch.nn, name)(**kwargs).double()
    layer = from_torch(module, size)

    def run(x, w, b):
        with torch.no_grad():
            module.weight.copy_(torch.tensor(w, dtype=torch.float64))
            module.bias.copy_(torch.tensor(b, dtype=torch.float64))
            return module(torch.tensor(x, dtype=torch.float64)).numpy()

    assert layer.transposed == name.startswith("ConvTranspose")
    assert agrees(layer, run, bias=True)
    if any(before != after for before, after in layer.spec.padding):
        assert not agrees(moved_padding(layer), run, bias=True)
    assert layer.at_input_size(tuple(n + 1 for n in size)).spec != layer.spec


def test_torch_preset_refuses_other_modules():
    torch = pytest.importorskip("torch")
    with pytest.raises(SpecError, match="module='Linear'"):
        from_torch(torch.nn.Linear(2, 3), (4,))
    with pytest.raises(SpecError, match="input_size"):
        from_torch(torch.nn.Conv2d(1, 1, 3), (4,))


# ---- TensorFlow ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow")


TF_FORWARD = [   # (input_shape, filter_shape, strides, padding, data_format, dilations)
    ((2, 6, 3), (4, 3, 2), 1, "SAME", "NWC", 1),                        # even kernel: the odd row after
    ((1, 7, 6, 2), (3, 2, 2, 3), 2, "SAME", "NHWC", 1),                 # stride 2: ⌈n/s⌉ rule
    ((1, 8, 5, 2), (3, 3, 2, 2), 1, "SAME", "NHWC", [1, 2]),            # dilation
    ((2, 6, 6, 4), (2, 2, 2, 4), [1, 2, 1, 1], "VALID", "NHWC", 1),    # groups 2, strides of length 4
    ((1, 5, 6, 1), (3, 2, 1, 2), 1, [[0, 0], [2, 0], [1, 1], [0, 0]], "NHWC", 1),   # explicit pairs
    ((1, 4, 5, 4, 1), (2, 3, 2, 1, 2), 2, "SAME", "NDHWC", 1),
    ((1, 2, 5, 6), (2, 2, 2, 3), 1, "SAME", "NCHW", 1),
]


@pytest.mark.parametrize(("input_shape", "filter_shape", "strides", "padding", "data_format", "dilations"),
                         TF_FORWARD)
def test_tensorflow_preset_agrees_with_tf_nn(tf, input_shape, filter_shape, strides, padding, data_format, dilations):
    layer = from_tensorflow(input_shape, filter_shape, strides, padding, data_format, dilations)

    def run(x, w, b):
        return tf.nn.convolution(x, w, strides=strides, padding=padding, data_format=data_format,
                                 dilations=dilations).numpy() if isinstance(padding, str) else \
            tf.nn.conv2d(x, w, strides=strides, padding=padding, data_format=data_format, dilations=dilations).numpy()

    assert agrees(layer, run, batch=input_shape[0])
    if any(before != after for before, after in layer.spec.padding):
        assert not agrees(moved_padding(layer), run, batch=input_shape[0])
    other = layer.at_input_size(tuple(n + 1 for n in layer.spec.input_size))
    assert agrees(other, run, batch=input_shape[0])


TF_TRANSPOSED = [   # (input_shape, filter_shape, output_shape, strides, padding, data_format, dilations)
    ((1, 4, 4, 2), (3, 3, 3, 2), (1, 8, 8, 3), 2, "SAME", "NHWC", None),
    ((2, 4, 3), (4, 2, 3), (2, 7, 2), 2, "SAME", "NWC", None),                   # even kernel, the odd row after
    ((1, 3, 4, 1), (2, 3, 2, 1), (1, 7, 13, 2), [2, 3], "VALID", "NHWC", None),   # output_padding 1
    ((1, 4, 5, 2), (3, 3, 1, 2), (1, 9, 4, 1), [2, 1], [[0, 0], [1, 0], [2, 1], [0, 0]], "NHWC", None),
]


@pytest.mark.parametrize(("input_shape", "filter_shape", "output_shape", "strides", "padding", "data_format",
                          "dilations"), TF_TRANSPOSED)
def test_tensorflow_transpose_preset_agrees_with_tf_nn(tf, input_shape, filter_shape, output_shape, strides,
                                                       padding, data_format, dilations):
    layer = from_tensorflow_transpose(input_shape, filter_shape, output_shape, strides, padding, data_format,
                                      dilations)

    def run(x, w, b):
        return tf.nn.conv_transpose(x, w, output_shape, strides, padding, data_format, dilations).numpy()

    assert layer.transposed
    assert agrees(layer, run, batch=input_shape[0])
    if any(before != after for before, after in layer.spec.padding):
        assert not agrees(moved_padding(layer), run, batch=input_shape[0])


def test_tensorflow_presets_refuse_in_tensorflows_words():
    with pytest.raises(SpecError, match="^padding='same'"):
        from_tensorflow((1, 5, 5, 1), (3, 3, 1, 1), padding="same")
    with pytest.raises(SpecError, match="^filter_shape="):
        from_tensorflow((1, 5, 5, 3), (3, 3, 2, 1))
    with pytest.raises(SpecError, match="^filter_shape=.*kernel must fit"):
        from_tensorflow((1, 2, 5, 1), (3, 3, 1, 1))
    with pytest.raises(SpecError, match="^strides=.*batch and channel"):
        from_tensorflow((1, 5, 5, 1), (3, 3, 1, 1), strides=[2, 1, 1, 1])
    with pytest.raises(SpecError, match="^output_shape=.*not the input's"):
        from_tensorflow_transpose((1, 4, 4, 2), (3, 3, 3, 2), (1, 10, 8, 3), 2)
