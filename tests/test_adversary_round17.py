"""Adversary round 17, findings 2-6: bad ONNX attributes and external data, TensorFlow/Keras
configurations the libraries refuse or compute otherwise, are refused with a SpecError naming
the parameter, the value and the rule (never a traceback, never a silent misreading)."""

from __future__ import annotations

import numpy as np
import pytest

from symconv.errors import SpecError

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from symconv.interop import prove_network  # noqa: E402


def _model(nodes, initializers, x_shape=("N", 1, 4)):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _ones(name, shape):
    return numpy_helper.from_array(np.ones(shape, np.float32), name)


@pytest.mark.parametrize(("node", "initializers", "x_shape", "message"), [
    (helper.make_node("LeakyRelu", ["x"], ["y"], alpha="abc"), [], ("N", 1, 4),
     "LeakyRelu (node 0).alpha='abc': must be a finite float (a FLOAT attribute of the ONNX specification)"),
    (helper.make_node("LeakyRelu", ["x"], ["y"], alpha=[1, 2]), [], ("N", 1, 4),
     "LeakyRelu (node 0).alpha=[1, 2]: must be a finite float (a FLOAT attribute of the ONNX specification)"),
    (helper.make_node("BatchNormalization", ["x", "a", "b", "c", "d"], ["y"], epsilon="zz"),
     [_ones(n, (1,)) for n in "abcd"], ("N", 1, 4),
     "BatchNormalization (node 0).epsilon='zz': must be a finite float (a FLOAT attribute of the ONNX "
     "specification)"),
    (helper.make_node("Gemm", ["x", "B"], ["y"], alpha="x"), [_ones("B", (4, 2))], ("N", 4),
     "Gemm (node 0).alpha='x': must be a finite float (a FLOAT attribute of the ONNX specification)"),
    (helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2], auto_pad=b"\xff"), [], ("N", 1, 4),
     "AveragePool.auto_pad=b'\\xff': must be UTF-8 text (a STRING attribute of the ONNX specification)"),
    (helper.make_node("Reshape", ["x", "s"], ["y"]), [numpy_helper.from_array(np.array(4, np.int64), "s")],
     ("N", 1, 4), "Reshape (node 0) shape=4: only a Reshape to (N, 4) (vec of each sample, the batch axis kept: "
     "0 or -1 first) is read"),
])
def test_bad_onnx_attributes_are_spec_errors(node, initializers, x_shape, message):
    """Finding 5: wrongly typed attributes were TypeError/ValueError/UnicodeDecodeError tracebacks."""
    with pytest.raises(SpecError) as caught:
        prove_network(_model([node], initializers, x_shape), tuple(n for n in x_shape[1:]))
    assert str(caught.value) == message


def _external_model(directory, location, length=None, offset=None):
    weight = _ones("W", (1, 1, 2))
    weight.data_location = TensorProto.EXTERNAL
    weight.ClearField("raw_data")
    for key, value in (("location", location), ("length", length), ("offset", offset)):
        if value is not None:
            entry = weight.external_data.add()
            entry.key, entry.value = key, value
    path = directory / "m.onnx"
    path.write_bytes(_model([helper.make_node("Conv", ["x", "W"], ["y"])], [weight]).SerializeToString())
    return str(path)


@pytest.mark.parametrize(("location", "length", "offset", "rule"), [
    ("missing.bin", "8", None, "tensor 'W' has external data at 'missing.bin', which is no regular file in the "
                               "model's directory {base!r}"),
    (".", "8", None, "tensor 'W' has external data at '.', which is no regular file in the model's directory "
                     "{base!r}"),
    ("", None, None, "tensor 'W' has external data at '', which is no regular file in the model's directory "
                     "{base!r}"),
    ("pipe", "8", None, "tensor 'W' has external data at 'pipe', which is no regular file in the model's "
                        "directory {base!r}"),
    ("short.bin", "8", None, "its external data cannot be read: External data length (8) exceeds available data "
                             "(4 bytes from offset 0) for tensor 'W'"),
    ("good.bin", "8", "100", "its external data cannot be read: External data offset (100) exceeds file size (8) "
                             "for tensor 'W'"),
    ("good.bin", "-8", None, "its external data cannot be read: External data length must be non-negative, got -8 "
                             "for tensor 'W'"),
    ("good.bin", "abc", None, "its external data cannot be read: invalid literal for int() with base 10: 'abc'"),
])
def test_bad_external_data_is_one_spec_error(tmp_path, location, length, offset, rule):
    """Finding 5: onnx's ValidationError/ValueError escaped load_model; a FIFO is never opened (a hang)."""
    import os
    (tmp_path / "short.bin").write_bytes(b"\x00" * 4)
    (tmp_path / "good.bin").write_bytes(np.ones(2, np.float32).tobytes())
    os.mkfifo(tmp_path / "pipe")
    path = _external_model(tmp_path, location, length, offset)
    with pytest.raises(SpecError) as caught:
        prove_network(path, (1, 4))
    assert caught.value.parameter == "model" and caught.value.value == path
    assert caught.value.rule == rule.format(base=str(tmp_path.resolve()))


def test_keras_input_shape_none_channels_is_spec_error():
    """Finding 5: None for a non-batch axis was a TypeError (NoneType % int)."""
    from symconv.frameworks import from_keras
    with pytest.raises(SpecError) as caught:
        from_keras({"class_name": "Conv1D", "config": {"filters": 2, "kernel_size": 3}}, (None, 5, None))
    assert str(caught.value) == "input_shape=(None, 5, None): must be integers ≥ 1 (None only for the batch)"


TF_3D_SAME_RULE = ("with 3 spatial axes of size {sizes}, 'SAME' has the total padding (⌈n/s⌉ − 1)·s + d·(K − 1) "
                   "+ 1 − n = {totals}, negative on an axis: TensorFlow's Conv3D kernels then disagree by dtype "
                   "(Eigen's, float64 always and float32 without oneDNN, centres the windows; oneDNN's does not), so "
                   "the op is no one conv; use 'VALID', or sizes where the last window reaches the end (total ≥ 0)")


def test_tf_3d_same_with_negative_total_padding_is_refused():
    """Finding 4: the preset matched only oneDNN's float32 kernel (Eigen's centres the windows)."""
    from symconv.frameworks import from_keras, from_tensorflow
    with pytest.raises(SpecError) as caught:
        from_tensorflow((1, 1, 1, 3, 1), (2, 1, 1, 1, 1), [2, 1, 3], "SAME")
    assert str(caught.value) == "padding='SAME': " + TF_3D_SAME_RULE.format(sizes=(1, 1, 3), totals=(1, 0, -2))
    with pytest.raises(SpecError) as caught:
        from_keras({"class_name": "Conv3D", "config": {"filters": 1, "kernel_size": (2, 1, 1), "strides": (2, 1, 3),
                                                      "padding": "same", "data_format": "channels_last"}},
                   (1, 1, 3, 1))
    assert (caught.value.parameter, caught.value.value) == ("padding", "same")
    # positive controls: a total ≥ 0 in 3-D, and 2-D with the same negative total (TF's kernels agree there)
    assert from_tensorflow((1, 2, 1, 3, 1), (2, 1, 1, 1, 1), [2, 1, 1], "SAME").spec.padding == ((0, 0),) * 3
    assert from_tensorflow((1, 1, 3, 1), (1, 1, 1, 1), [1, 3], "SAME").spec.padding == ((0, 0), (0, 0))


SEPARABLE_RULE = ("a separable conv is two convolutions (depthwise, then a 1×1 pointwise conv with its own kernel), "
                  "not one conv layer: not read; use DepthwiseConv*D followed by Conv*D(kernel_size=1)")
FOREIGN = "is no argument of keras.layers.{}, so this config is not that layer's (refused rather than read without it)"


def _kernel_axes(layer_or_config):
    config = layer_or_config.get("config", layer_or_config)
    return config["kernel_size"] if isinstance(config["kernel_size"], tuple) else (config["kernel_size"],)


@pytest.mark.parametrize(("layer_or_config", "message"), [
    ({"class_name": "SeparableConv2D", "config": {"filters": 4, "kernel_size": (3, 3)}},
     "layer_or_config='SeparableConv2D': " + SEPARABLE_RULE),
    ({"filters": 4, "kernel_size": (3, 3), "depth_multiplier": 1, "pointwise_initializer": "glorot_uniform"},
     "layer_or_config='SeparableConv config': " + SEPARABLE_RULE),
    ({"class_name": "Conv2D", "config": {"filters": 3, "kernel_size": (2, 2), "output_padding": None}},
     "output_padding=None: " + FOREIGN.format("Conv2D")),
    ({"class_name": "Conv2D", "config": {"kernel_size": (3, 3), "depth_multiplier": 1}},
     "depth_multiplier=1: " + FOREIGN.format("Conv2D")),
    ({"class_name": "Conv1DTranspose", "config": {"filters": 2, "kernel_size": 3, "groups": 2}},
     "groups=2: " + FOREIGN.format("Conv1DTranspose")),
    ({"class_name": "DepthwiseConv1D", "config": {"kernel_size": 3, "filters": 7}},
     "filters=7: " + FOREIGN.format("DepthwiseConv1D")),
    ({"kernel_size": (3,), "output_padding": None, "filters": 1, "groups": 1},
     "groups=1: " + FOREIGN.format("Conv1DTranspose")),
    ({"class_name": "Conv1D", "config": {"filters": 3, "kernel_size": (2, 2)}},
     "kernel_size=(2, 2): must be 1 to 3 ints (as get_config() gives it), as many as Conv1D has spatial axes"),
])
def test_keras_config_is_read_as_its_class(layer_or_config, message):
    """Finding 2: the kind came from the keys present, class_name and foreign keys were ignored."""
    from symconv.frameworks import from_keras
    with pytest.raises(SpecError) as caught:
        from_keras(layer_or_config, (6, 6, 2)[-len(_kernel_axes(layer_or_config)) - 1:])
    assert str(caught.value) == message


def test_keras_separable_layer_is_refused_by_name():
    keras = pytest.importorskip("keras")
    from symconv.frameworks import from_keras
    with pytest.raises(SpecError) as caught:
        from_keras(keras.layers.SeparableConv1D(2, 3), (None, 6, 2))
    assert str(caught.value) == "layer_or_config='SeparableConv1D': " + SEPARABLE_RULE


@pytest.mark.parametrize(("call", "message"), [
    (lambda f, t: f((1, 5, 1), (2, 1, 1), 1, [[0, 0], [1, 1], [0, 0]]),
     "padding=[[0, 0], [1, 1], [0, 0]]: must be 'VALID' or 'SAME' with 1 spatial axes: TensorFlow takes explicit "
     "[before, after] pairs only for 2-D data"),
    (lambda f, t: f((1, 5, 5, 5, 1), (2, 2, 2, 1, 1), 1, [[0, 0], [1, 1], [1, 1], [1, 1], [0, 0]]),
     "padding=[[0, 0], [1, 1], [1, 1], [1, 1], [0, 0]]: must be 'VALID' or 'SAME' with 3 spatial axes: TensorFlow "
     "takes explicit [before, after] pairs only for 2-D data"),
    (lambda f, t: t((1, 5, 1), (2, 1, 1), (1, 4, 1), 1, [[0, 0], [1, 1], [0, 0]]),
     "padding=[[0, 0], [1, 1], [0, 0]]: must be 'VALID' or 'SAME' with 1 spatial axes: TensorFlow takes explicit "
     "[before, after] pairs only for 2-D data"),
    (lambda f, t: f((1, 6, 6, 1), (2, 2, 1, 1), [2, 1], "VALID", None, [1, 2]),
     "dilations=[1, 2]: must be 1 where strides=[2, 1] has an entry > 1 (tf.nn.convolution refuses strides > 1 with "
     "dilations > 1)"),
    (lambda f, t: f((1, 5, 5, 1), (2, 2, 1, 1), 1, "VALID", "NWC"),
     "data_format='NWC': must be one of (None, 'NHWC', 'NCHW') for data with 2 spatial axes (TensorFlow's rule)"),
    (lambda f, t: f((1, 5, 5, 1), (2, 2, 1, 1), 1, "VALID", "NDHWC"),
     "data_format='NDHWC': must be one of (None, 'NHWC', 'NCHW') for data with 2 spatial axes (TensorFlow's rule)"),
    (lambda f, t: t((1, 4, 1), (2, 1, 1), (1, 5, 1), 1, "VALID", "NHWC"),
     "data_format='NHWC': must be one of (None, 'NWC', 'NCW') for data with 1 spatial axes (TensorFlow's rule)"),
])
def test_tensorflow_refusals_are_tensorflows(call, message):
    """Finding 6: configurations TensorFlow 2.20 refuses (measured) were accepted."""
    from symconv.frameworks import from_tensorflow, from_tensorflow_transpose
    with pytest.raises(SpecError) as caught:
        call(from_tensorflow, from_tensorflow_transpose)
    assert str(caught.value) == message


def test_tensorflow_accepts_what_tensorflow_runs():
    """Positive controls: 1-D data with 2-D's data_format names (a deprecated alias tf.nn.convolution
    takes), conv_transpose with strides > 1 and dilations > 1, explicit pairs in 2-D."""
    from symconv.frameworks import from_tensorflow, from_tensorflow_transpose
    assert from_tensorflow((1, 5, 1), (2, 1, 1), data_format="NHWC").spec.input_size == (5,)
    assert from_tensorflow_transpose((1, 3, 3, 1), (2, 2, 1, 1), (1, 6, 6, 1), 2, "SAME", None, 2).spec.dilation \
        == (2, 2)
    assert from_tensorflow((1, 5, 5, 1), (2, 2, 1, 1), 1, [[0, 0], [1, 0], [0, 1], [0, 0]]).spec.padding \
        == ((1, 0), (0, 1))


@pytest.mark.parametrize(("config", "message"), [
    ({"class_name": "Conv2DTranspose", "config": {"filters": 1, "kernel_size": 3, "strides": 2, "output_padding": 2}},
     "output_padding=2: must be less than strides=(2, 2) on every axis (Keras' rule)"),
    ({"class_name": "Conv2DTranspose", "config": {"filters": 1, "kernel_size": 3, "output_padding": (0, 1)}},
     "output_padding=(0, 1): must be less than strides=(1, 1) on every axis (Keras' rule)"),
    ({"class_name": "Conv2DTranspose", "config": {"filters": 1, "kernel_size": 2, "strides": 2, "dilation_rate": 2}},
     "dilation_rate=2: must be 1 where strides=(2, 2) has an entry > 1 (Keras refuses strides > 1 with "
     "dilation_rate > 1)"),
    ({"class_name": "Conv2D", "config": {"filters": 1, "kernel_size": 2, "strides": (2, 1), "dilation_rate": (1, 2)}},
     "dilation_rate=(1, 2): must be 1 where strides=(2, 1) has an entry > 1 (Keras refuses strides > 1 with "
     "dilation_rate > 1)"),
])
def test_keras_refusals_are_keras(config, message):
    """Finding 6: Keras 3.15 refuses these (measured); from_keras accepted them."""
    from symconv.frameworks import from_keras
    with pytest.raises(SpecError) as caught:
        from_keras(config, (6, 6, 1))
    assert str(caught.value) == message


def test_onnx_convtranspose_output_shape_refusal_wording():
    """Finding 6: the refusal claimed onnxruntime refuses such nodes; it runs some of them."""
    from symconv.frameworks import from_onnx
    node = helper.make_node("ConvTranspose", ["x", "W"], ["y"], output_shape=[7])
    with pytest.raises(SpecError) as caught:
        from_onnx(node, (1, 1, 4), (1, 1, 3))
    assert str(caught.value) == ("ConvTranspose.output_shape=[7]: exceeds s·(m − 1) + output_padding + d·(K − 1) + 1 = "
                                 "(6,): the total padding would be negative, which symconv does not read (refused, "
                                 "although onnxruntime runs some such nodes)")


KERAS_BIAS_BUG = ("use_bias=True: with data_format='channels_first' and outputs {out}, whose last spatial size equals "
                  "the {filters} filters, Keras (TensorFlow backend, measured in Keras 3.15) adds the bias along that "
                  "spatial axis, not the channels (a Keras bug): no conv with a bias; use channels_last, "
                  "use_bias=False or another input size")


@pytest.mark.parametrize(("name", "input_shape", "out"), [
    ("Conv3D", (1, 3, 3, 3, 2), (2, 3, 3, 2)),
    ("Conv1D", (1, 3, 2), (2, 2)),
    ("Conv3DTranspose", (1, 3, 3, 3, 2), (2, 3, 3, 2)),
])
def test_keras_channels_first_bias_bug_is_refused(name, input_shape, out):
    """Finding 3: Keras itself adds the bias on the last axis when its size equals filters (shown
    here), so from_keras refuses the layer; with another last size Keras is right and it is read."""
    keras = pytest.importorskip("keras")
    from symconv.frameworks import from_keras
    layer = getattr(keras.layers, name)(2, 1, data_format="channels_first", use_bias=True)
    layer.build(input_shape)
    x = np.random.default_rng(0).normal(size=input_shape).astype("float32")
    kernel, _ = layer.get_weights()
    layer.set_weights([kernel, np.zeros(2, np.float32)])
    plain = np.asarray(layer(x))
    layer.set_weights([kernel, np.array([10.0, 100.0], np.float32)])
    shift = np.asarray(layer(x)) - plain
    assert not np.allclose(shift, np.array([10.0, 100.0]).reshape((1, 2) + (1,) * (len(input_shape) - 2)))
    with pytest.raises(SpecError) as caught:
        from_keras(layer, input_shape)
    assert str(caught.value) == KERAS_BIAS_BUG.format(out=out, filters=2)
    wider = (*input_shape[:-1], 4)
    read = from_keras(getattr(keras.layers, name)(2, 1, data_format="channels_first"), wider)
    assert tuple(read.output_map.framework_shape) == (2, *wider[2:])


def test_keras_depthwise_takes_strides_with_dilations():
    """Positive control for finding 6: Keras' depthwise layers (tf.nn.depthwise_conv2d) take strides
    > 1 with dilations > 1, and the preset computes what Keras does."""
    keras = pytest.importorskip("keras")
    from symconv.frameworks import from_keras
    layer = keras.layers.DepthwiseConv2D((2, 2), strides=2, dilation_rate=2, depth_multiplier=2, use_bias=False,
                                         dtype="float64")
    layer.build((1, 7, 6, 2))
    rng = np.random.default_rng(1)
    kernel = rng.integers(-3, 4, size=layer.get_weights()[0].shape).astype(np.float64)
    layer.set_weights([kernel])
    x = rng.integers(-3, 4, size=(1, 7, 6, 2)).astype(np.float64)
    read = from_keras(layer, (1, 7, 6, 2))
    assert np.array_equal(np.asarray(read.apply(x, kernel), dtype=np.float64), np.asarray(layer(x)))
