"""symconv.frameworks.from_onnx against onnxruntime: every Conv/ConvTranspose attribute as the ONNX
specification states it, checked exactly (integer-valued float32 inputs and weights, so every sum
is exact) against ``FrameworkConv.apply``, symconv's definition."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from symconv.errors import SpecError
from symconv.frameworks import from_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _node(op: str, bias: bool = False, **attributes):
    return helper.make_node(op, ["X", "W", "B"] if bias else ["X", "W"], ["Y"], name="layer", **attributes)


def _run(node, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """onnxruntime running the single node on x."""
    initializers = [numpy_helper.from_array(w, "W")] + ([numpy_helper.from_array(b, "B")] if b is not None else [])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x.shape))],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"X": x})[0]


def _agree(node, x_shape, w_shape, bias: bool = False, seed: int = 0, layer=None) -> bool:
    """onnxruntime's output == the preset's apply, exactly, on random integers in [−3, 3]."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, size=x_shape).astype(np.float32)
    w = rng.integers(-3, 4, size=w_shape).astype(np.float32)
    channels = w_shape[1] * node_group(node) if node.op_type == "ConvTranspose" else w_shape[0]
    b = rng.integers(-3, 4, size=channels).astype(np.float32) if bias else None
    layer = layer or from_onnx(node, x_shape, w_shape)
    expected = layer.apply(x.astype(np.int64), w.astype(np.int64), None if b is None else b.astype(np.int64))
    got = _run(node, x, w, b)
    return got.shape == expected.shape and bool((got.astype(np.float64) == expected.astype(np.float64)).all())


def node_group(node) -> int:
    return next((a.i for a in node.attribute if a.name == "group"), 1)


CONV_CASES = [
    ({}, (1, 1, 6), (1, 1, 3)),
    ({"pads": [1, 2]}, (2, 1, 7), (2, 1, 2)),
    ({"strides": [2], "dilations": [2], "pads": [0, 3]}, (1, 2, 9), (3, 2, 2)),
    ({"pads": [1, 0, 2, 1], "strides": [2, 1]}, (2, 2, 5, 6), (3, 2, 3, 2)),     # begins (1, 0), ends (2, 1)
    ({"group": 2, "strides": [2, 2], "dilations": [1, 2]}, (1, 4, 7, 8), (6, 2, 2, 3)),
    ({"auto_pad": "SAME_UPPER", "strides": [2, 2]}, (1, 2, 5, 6), (2, 2, 2, 3)),
    ({"auto_pad": "SAME_LOWER", "strides": [2, 2]}, (1, 2, 5, 6), (2, 2, 2, 3)),
    ({"auto_pad": "SAME_LOWER", "group": 3}, (1, 3, 4, 4), (3, 1, 2, 2)),
    ({"auto_pad": "VALID", "strides": [3, 2]}, (1, 1, 7, 5), (1, 1, 2, 2)),
    ({"kernel_shape": [2, 2, 2], "pads": [0, 1, 0, 1, 0, 1]}, (1, 1, 3, 3, 4), (2, 1, 2, 2, 2)),
]


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize(("attributes", "x_shape", "w_shape"), CONV_CASES)
def test_conv_matches_onnxruntime(attributes, x_shape, w_shape, bias):
    assert _agree(_node("Conv", bias, **attributes), x_shape, w_shape, bias)


TRANSPOSE_CASES = [
    ({"strides": [2]}, (1, 1, 3), (1, 2, 3)),
    ({"strides": [3, 2], "pads": [1, 2, 1, 2]}, (1, 1, 3, 3), (1, 2, 3, 3)),     # the ONNX backend test
    ({"strides": [2, 2], "output_padding": [1, 0], "pads": [0, 1, 1, 0]}, (2, 2, 3, 4), (2, 3, 2, 3)),
    ({"strides": [2], "output_shape": [6]}, (1, 1, 3), (1, 1, 3)),                 # total 1: one at the begin
    ({"strides": [2], "output_shape": [4], "auto_pad": "SAME_UPPER"}, (1, 1, 3), (1, 1, 3)),
    ({"strides": [2], "output_shape": [6], "output_padding": [1]}, (1, 1, 3), (1, 1, 3)),
    ({"strides": [2, 2], "auto_pad": "SAME_UPPER"}, (1, 2, 3, 4), (2, 1, 3, 2)),
    ({"strides": [2, 2], "auto_pad": "SAME_LOWER", "output_padding": [1, 1]}, (1, 2, 3, 4), (2, 1, 3, 2)),
    ({"group": 2, "dilations": [2], "strides": [2]}, (2, 4, 5), (4, 3, 2)),
    ({"auto_pad": "VALID", "strides": [1, 2, 1]}, (1, 1, 2, 2, 3), (1, 1, 2, 2, 2)),
]


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize(("attributes", "x_shape", "w_shape"), TRANSPOSE_CASES)
def test_conv_transpose_matches_onnxruntime(attributes, x_shape, w_shape, bias):
    layer = from_onnx(_node("ConvTranspose", bias, **attributes), x_shape, w_shape)
    assert layer.transposed and layer.spec.output_shape == tuple(x_shape[1:])
    assert _agree(_node("ConvTranspose", bias, **attributes), x_shape, w_shape, bias)


@settings(max_examples=40, deadline=None)
@given(n=st.tuples(st.integers(1, 9), st.integers(1, 9)), k=st.tuples(st.integers(1, 4), st.integers(1, 3)),
       s=st.integers(1, 3), d=st.integers(1, 2), group=st.sampled_from([1, 2]),
       auto_pad=st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]),
       pads=st.lists(st.integers(0, 2), min_size=4, max_size=4), seed=st.integers(0, 99))
def test_conv_any_attributes_match_onnxruntime(n, k, s, d, group, auto_pad, pads, seed):
    attributes = {"strides": [s, 1], "dilations": [d if auto_pad == "NOTSET" else 1, 1], "group": group,
                  "auto_pad": auto_pad, **({"pads": pads} if auto_pad == "NOTSET" else {})}
    x_shape, w_shape = (1, 2 * group, *n), (2 * group, 2, *k)
    try:
        from_onnx(_node("Conv", **attributes), x_shape, w_shape)
    except SpecError:
        assume(False)   # the kernel does not fit this input (onnxruntime refuses it too)
    assert _agree(_node("Conv", **attributes), x_shape, w_shape, seed=seed)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 5), k=st.integers(1, 4), s=st.integers(1, 3), a=st.integers(0, 2),
       mode=st.sampled_from(["pads", "output_shape", "SAME_UPPER", "SAME_LOWER"]), extra=st.integers(0, 3),
       seed=st.integers(0, 99))
def test_conv_transpose_any_attributes_match_onnxruntime(m, k, s, a, mode, extra, seed):
    assume(a < s)
    full = s * (m - 1) + a + k
    attributes = {"strides": [s], "output_padding": [a]}
    if mode == "pads":
        attributes["pads"] = [extra // 2, extra - extra // 2]
    elif mode == "output_shape":
        attributes["output_shape"] = [max(1, full - extra)]
    else:
        attributes["auto_pad"] = mode
    try:
        from_onnx(_node("ConvTranspose", **attributes), (1, 1, m), (1, 2, k))
    except SpecError:
        assume(False)
    assert _agree(_node("ConvTranspose", **attributes), (1, 1, m), (1, 2, k), seed=seed)


def test_rebuild_is_the_same_call_at_another_size():
    layer = from_onnx(_node("Conv", auto_pad="SAME_LOWER", strides=[2, 2]), (1, 1, 5, 5), (1, 1, 2, 2))
    other = layer.at_input_size((7, 6))
    assert other.spec.input_size == (7, 6) and other.spec.padding == ((1, 0), (0, 0))
    assert _agree(_node("Conv", auto_pad="SAME_LOWER", strides=[2, 2]), (1, 1, 7, 6), (1, 1, 2, 2), layer=other)


# negative controls: a wrong reading is caught by the comparison with onnxruntime


def test_wrong_pads_order_is_caught():
    """Reading pads as [x1_begin, x1_end, x2_begin, x2_end] (a common mistake) differs from onnxruntime."""
    pads = [1, 1, 2, 1]
    node = _node("Conv", pads=pads, strides=[2, 2])
    layer = from_onnx(node, (1, 1, 5, 5), (1, 1, 1, 1))
    assert layer.spec.padding == ((1, 2), (1, 1))
    wrong = replace(layer, spec=replace(layer.spec, padding=((pads[0], pads[1]), (pads[2], pads[3]))))
    assert wrong.spec.output_shape == layer.spec.output_shape   # same shapes: only the values tell
    assert _agree(node, (1, 1, 5, 5), (1, 1, 1, 1), layer=layer)
    assert not _agree(node, (1, 1, 5, 5), (1, 1, 1, 1), layer=wrong)


def test_same_upper_and_same_lower_differ_and_each_is_caught_for_the_other():
    upper, lower = (_node("Conv", auto_pad=p, strides=[2]) for p in ("SAME_UPPER", "SAME_LOWER"))
    a, b = from_onnx(upper, (1, 1, 5), (1, 1, 2)), from_onnx(lower, (1, 1, 5), (1, 1, 2))
    assert a.spec.padding == ((0, 1),) and b.spec.padding == ((1, 0),)
    assert not _agree(upper, (1, 1, 5), (1, 1, 2), layer=b) and not _agree(lower, (1, 1, 5), (1, 1, 2), layer=a)


def test_transposed_output_shape_split_is_caught():
    """output_shape's odd total padding goes to the beginning (NOTSET/SAME_LOWER), to the end (SAME_UPPER)."""
    node = _node("ConvTranspose", strides=[2], output_shape=[6])
    layer = from_onnx(node, (1, 1, 3), (1, 1, 3))
    assert layer.spec.padding == ((1, 0),)
    swapped = replace(layer, spec=replace(layer.spec, padding=((0, 1),)))
    assert not _agree(node, (1, 1, 3), (1, 1, 3), layer=swapped)


@pytest.mark.parametrize(("op", "attributes", "x_shape", "w_shape", "parameter", "words"), [
    ("Conv", {"pads": [1, 1], "auto_pad": "SAME_UPPER"}, (1, 1, 5), (1, 1, 3), "Conv('layer').pads", "auto_pad"),
    ("Conv", {"auto_pad": "SAME"}, (1, 1, 5), (1, 1, 3), "Conv('layer').auto_pad", "SAME_UPPER"),
    ("Conv", {"pads": [1, 1]}, (1, 1, 5, 5), (1, 1, 3, 3), "Conv('layer').pads", "4 integers"),
    ("Conv", {"kernel_shape": [2]}, (1, 1, 5), (1, 1, 3), "Conv('layer').kernel_shape", "W's spatial shape"),
    ("Conv", {"auto_pad": "SAME_LOWER", "dilations": [2]}, (1, 1, 5), (1, 1, 3), "Conv('layer').dilations",
     "onnxruntime refuses"),
    ("Conv", {"group": 2}, (1, 3, 5), (2, 1, 3), "Conv.x_shape", "W.shape[1]·group"),
    ("Conv", {"strides": [0]}, (1, 1, 5), (1, 1, 3), "Conv('layer').strides", "≥ 1"),
    ("Conv", {"foo": 1}, (1, 1, 5), (1, 1, 3), "Conv('layer').foo", "not read by symconv"),
    ("Conv", {}, (1, 1, 2), (1, 1, 3), "Conv('layer').kernel_size", "fit"),
    ("ConvTranspose", {"strides": [2], "output_padding": [2]}, (1, 1, 3), (1, 1, 3),
     "ConvTranspose('layer').output_padding", "< strides"),
    ("ConvTranspose", {"strides": [2], "output_shape": [8]}, (1, 1, 3), (1, 1, 3),
     "ConvTranspose('layer').output_shape", "negative"),
    ("ConvTranspose", {"pads": [2, 2]}, (1, 1, 1), (1, 1, 3), "ConvTranspose('layer').pads", "at least 1"),
])
def test_unsupported_or_invalid_attributes_are_refused_by_name(op, attributes, x_shape, w_shape, parameter, words):
    with pytest.raises(SpecError) as error:
        from_onnx(_node(op, **attributes), x_shape, w_shape)
    assert error.value.parameter == parameter and words in error.value.rule


def test_other_ops_are_refused():
    with pytest.raises(SpecError, match="reads Conv and ConvTranspose"):
        from_onnx(helper.make_node("MaxPool", ["X"], ["Y"], kernel_shape=[2]), (1, 1, 4), (1, 1, 2))
