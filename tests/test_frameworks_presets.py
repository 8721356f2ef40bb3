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
    from_jax,
    from_jax_transpose,
    from_keras,
    from_scipy,
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
    bigger = layer.at_input_size(tuple(m + 1 for m in layer.spec.output_size))   # output size grows by s
    assert bigger.output_padding == layer.output_padding
    assert agrees(bigger, lambda x, w, b: tf.nn.conv_transpose(x, w, dict(bigger.arguments)["output_shape"], strides,
                                                               padding, data_format, dilations).numpy(),
                  batch=input_shape[0])
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
    with pytest.raises(SpecError, match="^data_format=array"):   # no "truth value of an array is ambiguous"
        from_tensorflow((1, 5, 5, 1), (3, 3, 1, 1), data_format=np.array(["NHWC"]))
    with pytest.raises(SpecError, match="^padding=array"):
        from_tensorflow((1, 5, 5, 1), (3, 3, 1, 1), padding=np.array(["SAME"]))


KERAS = [   # (class, arguments, input shape with the batch axis)
    ("Conv1D", dict(filters=2, kernel_size=3, padding="causal", dilation_rate=2), (2, 7, 3)),
    ("Conv2D", dict(filters=3, kernel_size=4, strides=2, padding="same"), (1, 7, 6, 2)),
    ("Conv2D", dict(filters=4, kernel_size=(2, 3), padding="valid", groups=2, dilation_rate=(2, 1),
                    data_format="channels_first"), (1, 4, 6, 5)),
    ("Conv3D", dict(filters=2, kernel_size=2, padding="SAME"), (1, 3, 4, 3, 1)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same"), (1, 4, 3, 3)),
    ("Conv2DTranspose", dict(filters=1, kernel_size=(3, 2), strides=2, padding="valid", output_padding=1),
     (1, 3, 4, 2)),
    ("Conv1DTranspose", dict(filters=2, kernel_size=4, strides=3, padding="same", output_padding=2), (2, 4, 1)),
    ("DepthwiseConv2D", dict(kernel_size=3, strides=2, padding="same", depth_multiplier=2), (1, 6, 5, 3)),
]


@pytest.mark.parametrize(("name", "kwargs", "input_shape"), KERAS)
def test_keras_preset_agrees_with_keras(tf, name, kwargs, input_shape):
    keras = pytest.importorskip("keras")
    module = getattr(keras.layers, name)(**kwargs)
    module.build(input_shape)
    layer = from_keras(module, input_shape)

    def run(x, w, b):
        module.set_weights([w, b])
        return np.asarray(module(x))

    assert agrees(layer, run, bias=True, batch=input_shape[0])
    assert from_keras(module.get_config(), input_shape[1:]).spec == layer.spec   # the config, no batch axis
    if any(before != after for before, after in layer.spec.padding):
        assert not agrees(moved_padding(layer), run, bias=True, batch=input_shape[0])


def test_keras_preset_refuses_in_keras_words(tf):
    keras = pytest.importorskip("keras")
    with pytest.raises(SpecError, match="^activation='relu'"):
        from_keras(keras.layers.Conv2D(2, 3, activation="relu"), (None, 5, 5, 1))
    with pytest.raises(SpecError, match="^kernel_size=.*kernel must fit"):
        from_keras(keras.layers.Conv2D(2, 3), (None, 2, 5, 1))
    with pytest.raises(SpecError, match="^layer_or_config='Dense'"):
        from_keras(keras.layers.Dense(2), (None, 3))
    serialized = {"class_name": "Conv1DTranspose", "config": {"filters": 1, "kernel_size": 3, "strides": 2,
                                                             "padding": "same", "output_padding": None}}
    assert from_keras(serialized, (4, 1)).spec.kernel_size == (3,)   # the rank from the class name
    with pytest.raises(SpecError, match="^padding='causal'"):   # causal is Conv1D's only
        from_keras({**serialized["config"], "kernel_size": (3,), "padding": "causal"}, (4, 1))


# ---- JAX -----------------------------------------------------------------------------------------

JAX_FORWARD = [   # (lhs_shape, rhs_shape, window_strides, padding, rhs_dilation, dimension_numbers, groups)
    ((2, 5, 6, 2), (4, 2, 2, 3), (1, 1), "SAME", None, ("NHWC", "HWIO", "NHWC"), 1),   # odd row after
    ((1, 2, 6, 7), (3, 2, 3, 3), (2, 2), "SAME", (1, 2), None, 1),                      # stride 2, dilation
    ((1, 7, 2), (4, 2, 3), (1,), "SAME_LOWER", None, ("NWC", "WIO", "NWC"), 1),          # odd row before
    ((1, 4, 5, 6), (4, 2, 2, 3), (1, 2), [(1, 0), (0, 2)], None, None, 2),              # groups, pairs
    ((1, 5, 7, 2), (3, 2, 2, 3), (2, 1), "SAME", None, ("NHWC", "OIWH", "NCHW"), 1),     # kernel order W, H
    ((1, 1, 4, 3, 5), (2, 1, 2, 2, 3), (1, 1, 2), "VALID", (2, 1, 1), None, 1),
]


@pytest.mark.parametrize(("lhs_shape", "rhs_shape", "strides", "padding", "rhs_dilation", "numbers", "groups"),
                         JAX_FORWARD)
def test_jax_preset_agrees_with_conv_general_dilated(lhs_shape, rhs_shape, strides, padding, rhs_dilation, numbers,
                                                     groups):
    lax = pytest.importorskip("jax.lax")
    layer = from_jax(lhs_shape, rhs_shape, strides, padding, rhs_dilation=rhs_dilation, dimension_numbers=numbers,
                     feature_group_count=groups)

    def run(x, w, b):
        return lax.conv_general_dilated(x, w, strides, padding, rhs_dilation=rhs_dilation,
                                        dimension_numbers=numbers, feature_group_count=groups)

    assert agrees(layer, run, batch=lhs_shape[0])
    if any(before != after for before, after in layer.spec.padding):
        assert not agrees(moved_padding(layer), run, batch=lhs_shape[0])
    other = layer.at_input_size(tuple(n + 1 for n in layer.spec.input_size))
    assert agrees(other, lambda x, w, b: lax.conv_general_dilated(
        x, w, strides, padding, rhs_dilation=rhs_dilation, dimension_numbers=numbers, feature_group_count=groups),
        batch=lhs_shape[0])


def without_flip(layer):
    """The preset with the kernel flip left out of the weight map."""
    return dataclasses.replace(layer, weight_map=dataclasses.replace(layer.weight_map, flip=()))


JAX_DILATED = [   # lhs_dilation > 1: (lhs_shape, rhs_shape, padding pairs, lhs_dilation, rhs_dilation, numbers, groups)
    ((1, 2, 4), (3, 2, 3), [(2, 3)], (2,), None, None, 1),
    ((2, 4, 3, 3), (6, 2, 2, 3), [(1, 2), (0, 2)], (2, 3), None, None, 2),             # groups: O/I swapped per group
    ((1, 3, 4, 2), (3, 3, 2, 1), [(-1, 2), (2, 1)], (3, 2), (1, 2), ("NHWC", "HWIO", "NHWC"), 1),   # lo < 0: crop
]


@pytest.mark.parametrize(("lhs_shape", "rhs_shape", "padding", "lhs_dilation", "rhs_dilation", "numbers", "groups"),
                         JAX_DILATED)
def test_jax_lhs_dilation_is_a_transposed_conv(lhs_shape, rhs_shape, padding, lhs_dilation, rhs_dilation, numbers,
                                                groups):
    lax = pytest.importorskip("jax.lax")
    strides = (1,) * len(lhs_dilation)
    layer = from_jax(lhs_shape, rhs_shape, strides, padding, lhs_dilation, rhs_dilation, numbers, groups)

    def run(x, w, b):
        return lax.conv_general_dilated(x, w, strides, padding, lhs_dilation, rhs_dilation, numbers, groups)

    assert layer.transposed and layer.weight_map.flip
    assert agrees(layer, run)
    assert agrees(layer.at_input_size(tuple(m + 1 for m in layer.spec.output_size)), run)
    assert not agrees(without_flip(layer), run)
    if groups > 1:   # the forward output channel read as (channel, group) instead of (group, channel)
        axes = layer.weight_map.axes
        order = (axes[1], axes[0]) + axes[2:]
        assert not agrees(dataclasses.replace(layer, weight_map=dataclasses.replace(layer.weight_map, axes=order)),
                          run)


JAX_TRANSPOSE = [   # (lhs_shape, rhs_shape, strides, padding, rhs_dilation, transpose_kernel, use_consistent_padding)
    ((2, 4, 2), (3, 2, 3), (2,), "SAME", None, False, False),
    ((1, 4, 3, 1), (4, 3, 2, 1), (2, 2), "SAME", None, True, False),                  # even kernel
    ((1, 3, 4, 2), (2, 3, 2, 1), (3, 2), "VALID", (2, 1), False, False),               # dilation
    ((1, 4, 4, 1), (3, 3, 1, 1), (2, 2), [(1, 1), (0, 2)], None, False, True),          # torch-like padding
    ((1, 4, 2), (3, 2, 2), (2,), [(2, 3)], None, True, False),                         # pairs of the dilated input
]


@pytest.mark.parametrize(("lhs_shape", "rhs_shape", "strides", "padding", "rhs_dilation", "transpose_kernel",
                          "consistent"), JAX_TRANSPOSE)
def test_jax_transpose_preset_agrees_with_conv_transpose(lhs_shape, rhs_shape, strides, padding, rhs_dilation,
                                                         transpose_kernel, consistent):
    lax = pytest.importorskip("jax.lax")
    layer = from_jax_transpose(lhs_shape, rhs_shape, strides, padding, rhs_dilation,
                               transpose_kernel=transpose_kernel, use_consistent_padding=consistent)

    def run(x, w, b):
        return lax.conv_transpose(x, w, strides, padding, rhs_dilation, transpose_kernel=transpose_kernel,
                                  use_consistent_padding=consistent)

    assert layer.transposed and bool(layer.weight_map.flip) is not transpose_kernel
    assert agrees(layer, run)
    if not transpose_kernel:   # the trap: conv_transpose does not flip the kernel unless asked
        assert not agrees(without_flip(layer), run)
    if any(before != after for before, after in layer.spec.padding):
        assert not agrees(moved_padding(layer), run)


def test_jax_presets_refuse_in_jaxs_words():
    with pytest.raises(SpecError, match="^window_strides="):
        from_jax((1, 1, 5), (1, 1, 3), (2,), [(0, 0)], lhs_dilation=(2,))
    with pytest.raises(SpecError, match="^padding='SAME'.*lhs_dilation"):
        from_jax((1, 1, 5), (1, 1, 3), (1,), "SAME", lhs_dilation=(2,))
    with pytest.raises(SpecError, match="^padding=.*crops"):
        from_jax((1, 1, 5), (1, 1, 3), (1,), [(-1, 0)])
    with pytest.raises(SpecError, match="^dimension_numbers=.*batch axis"):
        from_jax((5, 1, 1), (1, 1, 3), (1,), "VALID", dimension_numbers=("WCN", "OIW", "NCW"))
    with pytest.raises(SpecError, match="^rhs_shape=.*channels"):
        from_jax((1, 4, 5), (1, 3, 3), (1,), "VALID")
    with pytest.raises(SpecError, match="^padding='SAME_LOWER'"):
        from_jax_transpose((1, 4, 1), (3, 1, 1), (2,), "SAME_LOWER")
    with pytest.raises(SpecError, match="^padding=.*no transposed conv"):
        from_jax((1, 1, 4), (1, 1, 3), (1,), [(3, 0)], lhs_dilation=(2,))


# ---- scipy ---------------------------------------------------------------------------------------

def _scipy_cases():
    signal = pytest.importorskip("scipy.signal")
    ndimage = pytest.importorskip("scipy.ndimage")
    return signal, ndimage


SCIPY = [   # (module, function, in1_shape, in2_shape, mode, options)
    ("signal", "correlate", (7,), (4,), "same", {}), ("signal", "correlate", (6, 5), (2, 3), "full", {}),
    ("signal", "correlate", (5, 6), (3, 4), "valid", {}), ("signal", "convolve", (7,), (4,), "same", {}),
    ("signal", "convolve", (4, 5, 3), (2, 3, 2), "full", {}), ("signal", "convolve", (6, 5), (4, 2), "same", {}),
    ("signal", "correlate", (3,), (6,), "same", {}), ("signal", "convolve", (3, 2), (4, 5), "full", {}),
    ("signal", "correlate2d", (5, 6), (2, 3), "same", {"boundary": "fill"}),   # the odd row after, unlike correlate
    ("signal", "convolve2d", (5, 6), (4, 3), "same", {"boundary": "fill"}),
    ("signal", "correlate2d", (5, 4), (3, 2), "full", {"boundary": "wrap"}),
    ("signal", "convolve2d", (6, 5), (3, 4), "same", {"boundary": "wrap"}),
    ("signal", "correlate2d", (4, 5), (2, 3), "same", {"boundary": "symm"}),   # padding ≤ 1: replicate
    ("signal", "convolve2d", (4, 5), (3, 3), "valid", {"boundary": "symm"}),
    ("ndimage", "correlate", (7,), (4,), "constant", {}), ("ndimage", "correlate", (6, 5), (3, 2), "nearest", {}),
    ("ndimage", "correlate", (6, 7), (4, 3), "mirror", {"origin": (1, -1)}),
    ("ndimage", "correlate", (5, 6), (2, 4), "wrap", {}), ("ndimage", "convolve", (7,), (4,), "constant", {}),
    ("ndimage", "convolve", (6, 5), (3, 4), "mirror", {"origin": (-1, 1)}),
    ("ndimage", "convolve", (4, 5, 6), (2, 3, 2), "grid-wrap", {}),
    ("ndimage", "convolve", (6, 6), (2, 2), "reflect", {}), ("ndimage", "correlate", (5,), (3,), "grid-constant",
                                                             {"origin": 1}),
]


@pytest.mark.parametrize(("module", "name", "in1_shape", "in2_shape", "mode", "options"), SCIPY)
def test_scipy_preset_agrees_with_scipy(module, name, in1_shape, in2_shape, mode, options):
    function = getattr(dict(zip(("signal", "ndimage"), _scipy_cases()))[module], name)
    layer = from_scipy(function, in1_shape, in2_shape, mode, **options)
    exact = {"method": "direct"} if name in ("correlate", "convolve") and module == "signal" else {}   # no FFT

    def run(x, w, b):
        return function(x.astype(np.float64), w.astype(np.float64), mode=mode, **options, **exact)

    assert not layer.batched and layer.spec.convention == ("convolution" if "convolve" in name else "cross-correlation")
    assert agrees(layer, run)
    assert agrees(layer.at_input_size(tuple(n + 2 for n in in1_shape)), run)
    if any(before != after for before, after in layer.spec.padding):
        assert not agrees(moved_padding(layer), run)


def test_scipy_preset_refuses_what_is_no_symconv_layer():
    signal, ndimage = _scipy_cases()

    class LooksLikeScipy:   # equal to everything and named like scipy's: still not scipy's function
        __name__ = "correlate"

        def __eq__(self, other):
            return True

        __hash__ = object.__hash__

    with pytest.raises(SpecError, match="^function='<LooksLikeScipy>'"):
        from_scipy(LooksLikeScipy(), (5,), (3,), "same")
    with pytest.raises(SpecError, match="^mode='reflect': repeats the edge sample"):
        from_scipy(ndimage.correlate, (6,), (5,), "reflect")
    with pytest.raises(SpecError, match="^boundary='symm'"):
        from_scipy(signal.convolve2d, (6, 6), (4, 4), "full", boundary="symm")
    with pytest.raises(SpecError, match="^cval=1.0"):
        from_scipy(ndimage.correlate, (6,), (3,), "constant", cval=1.0)
    with pytest.raises(SpecError, match="^fillvalue=2"):
        from_scipy(signal.correlate2d, (6, 6), (3, 3), "same", fillvalue=2)
    with pytest.raises(SpecError, match="^in2_shape=.*swaps"):
        from_scipy(signal.correlate, (3,), (5,), "valid")
    with pytest.raises(SpecError, match="^origin=2"):
        from_scipy(ndimage.convolve, (6,), (3,), "constant", origin=2)
    with pytest.raises(SpecError, match="^mode='wrap'.*circular padding"):
        from_scipy(ndimage.correlate, (2,), (7,), "wrap")
    with pytest.raises(SpecError, match="^mode=array"):
        from_scipy(signal.correlate, (5,), (3,), np.array(["same"]))
    with pytest.raises(SpecError, match="^cval=array"):
        from_scipy(ndimage.correlate, (5,), (3,), "constant", cval=np.zeros(2))


# ---- symconv's own checker, probing the real library through the preset's maps ------------------

def through_maps(layer, run):
    """fn(x, w, b) on the spec's arrays: the library ``run`` on the framework's arrays, in float64."""
    def fn(x, w, b):
        xs = layer.input_map.from_spec(np.asarray(x), batched=layer.batched).astype(np.float64)
        ws = layer.weight_map.from_spec(np.asarray(w)).astype(np.float64)
        y = np.asarray(run(xs, ws, None if b is None else np.asarray(b, dtype=np.float64)), dtype=np.float64)
        return layer.output_map.to_spec(y, batched=layer.batched)
    return fn


def assert_probed(layer, run, wrong):
    """symconv.testing proves the library computes ``layer`` (probe mode) and refutes ``wrong``."""
    def check(preset):
        if preset.transposed:
            return symconv.testing.assert_conv_transpose_equivalent(
                through_maps(preset, run), preset.spec, preset.output_padding, mode="probe", batched=preset.batched)
        return symconv.testing.assert_conv_equivalent(through_maps(preset, run), preset.spec, mode="probe",
                                                      batched=preset.batched)
    assert str(check(layer)).startswith("verified")
    with pytest.raises(AssertionError, match="does not compute"):
        check(wrong)


def test_probe_torch_and_scipy_presets():
    torch = pytest.importorskip("torch")
    signal, ndimage = _scipy_cases()
    module = torch.nn.ConvTranspose2d(2, 3, kernel_size=(4, 3), stride=2, padding=1, output_padding=(1, 0)).double()
    layer = from_torch(module, (3, 4))

    def run(x, w, b):
        with torch.no_grad():
            return torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(w), None, 2, 1, (1, 0)).numpy()

    assert_probed(layer, run, dataclasses.replace(layer, output_padding=(0, 1)))
    layer = from_scipy(signal.correlate2d, (5, 6), (4, 3), "same")
    assert_probed(layer, lambda x, w, b: signal.correlate2d(x, w, "same"),
                  from_scipy(signal.correlate, (5, 6), (4, 3), "same"))   # the other 'same' of scipy


def test_scipy_ndimage_drops_kernel_taps_below_machine_epsilon():
    """scipy.ndimage skips every weight with |w| ≤ DBL_EPSILON (2.2e-16), so it is the preset's
    convolution on integer arrays (test_scipy_preset_agrees_with_scipy) but not bilinear at tiny
    weights: symconv's probe finds that (power-of-two scalings) even with the right preset."""
    _, ndimage = _scipy_cases()
    layer = from_scipy(ndimage.convolve, (6, 5), (3, 2), "mirror", origin=(1, 0))
    x = _draw((6, 5)).astype(np.float64)
    w = _draw((3, 2)).astype(np.float64)
    w[w == 0] = 1.0
    run = lambda x, w, b: ndimage.convolve(x, w, mode="mirror", origin=(1, 0))   # noqa: E731
    assert np.array_equal(run(x, w, None), layer.apply(x, w).astype(np.float64))
    tiny = np.zeros((3, 2))
    tiny[0, 0] = 2.0**-53
    assert not run(x, tiny, None).any() and layer.apply(x, tiny).astype(np.float64).any()
    with pytest.raises(AssertionError, match="rounds"):
        symconv.testing.assert_conv_equivalent(through_maps(layer, run), layer.spec, mode="probe")


def test_probe_tensorflow_presets(tf):
    layer = from_tensorflow((1, 7, 5, 2), (4, 3, 2, 2), strides=2, padding="SAME")   # H: (1, 2)
    assert_probed(layer, lambda x, w, b: tf.nn.convolution(x, w, 2, "SAME").numpy(), moved_padding(layer))
    layer = from_tensorflow_transpose((1, 4, 2), (4, 1, 2), (1, 7, 1), 2, "SAME", "NWC")   # (1, 2)
    assert_probed(layer, lambda x, w, b: tf.nn.conv_transpose(x, w, (len(x), 7, 1), 2, "SAME", "NWC").numpy(),
                  moved_padding(layer))


def test_probe_jax_presets():
    jax = pytest.importorskip("jax")
    with jax.enable_x64(True):   # exact float64 for the probe's dyadic points
        layer = from_jax((1, 4, 3, 3), (6, 2, 2, 3), (1, 1), [(1, 2), (0, 2)], (2, 3), None, None, 2)
        assert_probed(layer, lambda x, w, b: jax.lax.conv_general_dilated(
            x, w, (1, 1), [(1, 2), (0, 2)], (2, 3), None, None, 2), without_flip(layer))
        layer = from_jax_transpose((1, 4, 2), (3, 2, 3), (2,), "SAME")
        assert_probed(layer, lambda x, w, b: jax.lax.conv_transpose(x, w, (2,), "SAME"), without_flip(layer))
