"""ONNX models as input to symconv.interop.to_mlp and prove_network: graphs built with onnx.helper
(every supported op, a CIFAR-like chain, SAME_LOWER with groups), torch models exported with the
legacy exporter, and refusals by name. The MLP is compared with onnxruntime running the original
model: exactly on integer weights and inputs (every sum exact in float32), else within float32
rounding."""

from __future__ import annotations

import numpy as np
import pytest

from symconv.errors import SpecError
from symconv.interop import prove_network, to_mlp
from symconv.interop.mismatch import TorchMismatch

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

FLOAT = TensorProto.FLOAT


def _model(nodes, constants: dict, in_shape, out_shape=None, elem=FLOAT, opset=17, extra_inputs=()):
    """A model from nodes and constants {name: array}; input 'x' (batch 'N' first), output the last node's."""
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", elem, ["N", *in_shape]), *extra_inputs],
        [helper.make_tensor_value_info(nodes[-1].output[0], elem, out_shape)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in constants.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _ort(model, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _ints(rng, shape) -> np.ndarray:
    return rng.integers(-3, 4, size=shape).astype(np.float32)


def _mlp_matches(model, shape, exact: bool, seed: int = 0) -> None:
    """to_mlp(model) (float64) on random inputs against onnxruntime: == on integer inputs when
    ``exact``, else within float32 rounding."""
    rng = np.random.default_rng(seed)
    mlp = to_mlp(model, shape, dtype=torch.float64)
    x = _ints(rng, (4, *shape)) if exact else rng.uniform(-2, 2, size=(4, *shape)).astype(np.float32)
    got = mlp(torch.as_tensor(x, dtype=torch.float64)).detach().numpy()
    expected = _ort(model, x).astype(np.float64)
    assert got.shape == expected.shape
    if exact:
        assert (got == expected).all()
    else:
        assert np.allclose(got, expected, rtol=1e-5, atol=1e-5)


def node(op, inputs, output, **attributes):
    return helper.make_node(op, inputs, [output], name=output, **attributes)


def _cases(rng):
    """(name, nodes, constants, per-sample input shape, exact) for every supported op."""
    w = lambda *shape: _ints(rng, shape)  # noqa: E731
    return [
        ("conv SAME_LOWER groups", [node("Conv", ["x", "W", "B"], "y", auto_pad="SAME_LOWER", group=2,
                                         strides=[2, 2])], {"W": w(4, 1, 2, 3), "B": w(4)}, (2, 5, 6), True),
        ("conv pads dilation", [node("Conv", ["x", "W"], "y", pads=[1, 0, 2, 1], dilations=[2, 1])],
         {"W": w(3, 2, 2, 2)}, (2, 5, 4), True),
        ("convtranspose output_shape", [node("ConvTranspose", ["x", "W", "B"], "y", strides=[2, 2],
                                             output_shape=[6, 5], output_padding=[1, 0])],
         {"W": w(2, 3, 3, 2), "B": w(3)}, (2, 3, 3), True),
        ("averagepool pads", [node("AveragePool", ["x"], "y", kernel_shape=[2, 2], strides=[2, 1],
                                   pads=[1, 0, 1, 1], count_include_pad=1)], {}, (2, 4, 5), True),
        ("globalaveragepool", [node("GlobalAveragePool", ["x"], "y")], {}, (3, 4, 4), True),
        ("batchnorm", [node("BatchNormalization", ["x", "s", "b", "m", "v"], "y", epsilon=1e-3)],
         {"s": w(2), "b": w(2), "m": w(2), "v": np.abs(w(2)) + 1}, (2, 3, 3), False),
        ("gemm alpha beta transB", [node("Flatten", ["x"], "f"), node("Gemm", ["f", "W", "C"], "y", alpha=0.5,
                                                                       beta=2.0, transB=1)],
         {"W": w(4, 6), "C": w(4)}, (2, 3), True),
        ("matmul add", [node("MatMul", ["x", "W"], "m"), node("Add", ["m", "c"], "y")],
         {"W": w(5, 3), "c": w(1, 3)}, (5,), True),
        ("conv add per channel", [node("Conv", ["x", "W"], "c"), node("Add", ["b", "c"], "y")],
         {"W": w(3, 1, 2, 2), "b": w(1, 3, 1, 1)}, (1, 4, 4), True),
        ("activations", [node("Relu", ["x"], "r"), node("Sigmoid", ["r"], "s"), node("Tanh", ["s"], "t"),
                         node("LeakyRelu", ["t"], "y", alpha=0.2)], {}, (2, 3), False),
        ("leakyrelu default", [node("LeakyRelu", ["x"], "y")], {}, (4,), False),
        ("reshape", [node("Reshape", ["x", "shape"], "r"), node("Gemm", ["r", "W"], "y")],
         {"shape": np.array([0, -1], dtype=np.int64), "W": w(12, 2)}, (3, 2, 2), True),
    ]


@pytest.mark.parametrize("case", range(12))
def test_every_supported_op_matches_onnxruntime(case):
    name, nodes, constants, shape, exact = _cases(np.random.default_rng(case))[case]
    _mlp_matches(_model(nodes, constants, shape), shape, exact)


def _cifar_like(rng, size=8):
    """conv 3→4 3×3 pad 1, ReLU, avgpool 2, conv 4→6 stride 2 dilation 2, tanh, flatten, Gemm."""
    nodes = [node("Conv", ["x", "W1", "B1"], "c1", pads=[1, 1, 1, 1]), node("Relu", ["c1"], "r1"),
             node("AveragePool", ["r1"], "p1", kernel_shape=[2, 2], strides=[2, 2]),
             node("Conv", ["p1", "W2"], "c2", strides=[2, 2], dilations=[2, 2], pads=[2, 2, 2, 2]),
             node("Tanh", ["c2"], "t2"), node("Flatten", ["t2"], "f"), node("Gemm", ["f", "W3", "B3"], "y", transB=1)]
    out = (size // 2 + 1) // 2
    constants = {"W1": _ints(rng, (4, 3, 3, 3)), "B1": _ints(rng, (4,)), "W2": _ints(rng, (6, 4, 3, 3)),
                 "W3": _ints(rng, (10, 6 * out * out)), "B3": _ints(rng, (10,))}
    return _model(nodes, constants, (3, size, size), ["N", 10])


def test_cifar_like_chain_converts_to_an_mlp_equal_to_onnxruntime():
    model = _cifar_like(np.random.default_rng(1))
    mlp = to_mlp(model, (3, 8, 8))
    assert [type(m).__name__ for m in mlp] == ["Flatten", "Linear", "ReLU", "Linear", "Linear", "Tanh", "Linear"]
    _mlp_matches(model, (3, 8, 8), exact=False)


def test_prove_network_on_onnx_same_lower_with_groups():
    rng = np.random.default_rng(2)
    model = _model([node("Conv", ["x", "W", "B"], "c", auto_pad="SAME_LOWER", group=2, strides=[2]),
                    node("Relu", ["c"], "r"), node("Flatten", ["r"], "f"), node("Gemm", ["f", "V"], "y")],
                   {"W": _ints(rng, (2, 1, 2)), "B": _ints(rng, (2,)), "V": _ints(rng, (4, 2))}, (2, 3))
    proof = prove_network(model, (2, 3))
    assert proof.holds and proof.layers == ("Conv", "Relu", "Flatten", "Gemm")
    assert "onnxruntime" in proof.timings


@pytest.mark.parametrize("op", ["Conv", "ConvTranspose"])
def test_prove_network_with_an_add_as_the_bias(op):
    """An Add after a Conv without B (and after a ConvTranspose with B) is proved as the layer's bias."""
    rng = np.random.default_rng(9)
    inputs = ["x", "W"] if op == "Conv" else ["x", "W", "B"]
    model = _model([node(op, inputs, "c", strides=[2]), node("Add", ["c", "b"], "a"), node("Flatten", ["a"], "y")],
                   {"W": _ints(rng, (2, 2, 2)), "B": _ints(rng, (2,)), "b": _ints(rng, (2, 1))}, (2, 3))
    proof = prove_network(model, (2, 3))
    assert proof.holds and proof.layers == (f"{op}+Add", "Flatten")
    _mlp_matches(model, (2, 3), exact=True)


def test_model_from_a_path_and_its_external_data(tmp_path):
    model = _cifar_like(np.random.default_rng(3), size=4)
    path = tmp_path / "model.onnx"
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location="weights.bin",
              size_threshold=0)
    assert (tmp_path / "weights.bin").exists()
    mlp = to_mlp(str(path), (3, 4, 4))
    x = np.random.default_rng(0).uniform(-2, 2, size=(3, 3, 4, 4)).astype(np.float32)
    assert np.allclose(mlp(torch.as_tensor(x)).detach().numpy(), _ort(onnx.load(str(path)), x), atol=1e-5)
    assert to_mlp(path, (3, 4, 4))[1].weight.shape == (4 * 16, 3 * 16)


def test_external_data_outside_the_model_directory_is_refused(tmp_path):
    model = _cifar_like(np.random.default_rng(3), size=4)
    (tmp_path / "inner").mkdir()
    onnx.save(model, str(tmp_path / "inner" / "m.onnx"), save_as_external_data=True, location="w.bin",
              size_threshold=0)
    loaded = onnx.load(str(tmp_path / "inner" / "m.onnx"), load_external_data=False)
    for tensor in loaded.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../w.bin"
    (tmp_path / "w.bin").write_bytes((tmp_path / "inner" / "w.bin").read_bytes())
    (tmp_path / "inner" / "evil.onnx").write_bytes(loaded.SerializeToString())
    with pytest.raises(SpecError, match="outside the model's directory"):
        to_mlp(str(tmp_path / "inner" / "evil.onnx"), (3, 4, 4))


def test_missing_and_non_onnx_files_are_refused(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        to_mlp(str(tmp_path / "absent.onnx"), (1, 4))
    (tmp_path / "text.onnx").write_text("print('hello')\n")
    with pytest.raises(SpecError, match="is not an ONNX model"):
        prove_network(str(tmp_path / "text.onnx"), (1, 4))


def _refusal(model, shape, *words):
    with pytest.raises(SpecError) as error:
        to_mlp(model, shape)
    for word in words:
        assert word in str(error.value)
    return error.value


def test_unsupported_ops_are_refused_by_name():
    maxpool = _model([node("MaxPool", ["x"], "y", kernel_shape=[2])], {}, (1, 4))
    _refusal(maxpool, (1, 4), "MaxPool 'y'", "MaxPool", "neither")
    softmax = _model([node("Flatten", ["x"], "f"), node("Softmax", ["f"], "y")], {}, (1, 4))
    _refusal(softmax, (1, 4), "Softmax 'y'")
    custom = _model([helper.make_node("Gelu", ["x"], ["y"], domain="com.example")], {}, (4,))
    custom.opset_import.append(helper.make_opsetid("com.example", 1))
    _refusal(custom, (4,), "com.example.Gelu")


def test_a_branching_graph_is_refused():
    rng = np.random.default_rng(4)
    model = _model([node("Conv", ["x", "W"], "c"), node("Relu", ["c"], "r"), node("Add", ["c", "r"], "y")],
                   {"W": _ints(rng, (1, 1, 2))}, (1, 4))
    _refusal(model, (1, 4), "single chain")


def test_a_conv_whose_weight_is_a_graph_input_is_refused():
    w_input = helper.make_tensor_value_info("W", FLOAT, [1, 1, 2])
    model = _model([node("Conv", ["x", "W"], "y")], {}, (1, 4), extra_inputs=(w_input,))
    _refusal(model, (1, 4), "Conv 'y'", "'W'", "dynamic weight")
    overridable = _model([node("Conv", ["x", "W"], "y")], {"W": np.ones((1, 1, 2), np.float32)}, (1, 4),
                         extra_inputs=(w_input,))
    _refusal(overridable, (1, 4), "'W'", "replace it at run time")


@pytest.mark.parametrize(("nodes", "constants", "shape", "words"), [
    ([node("AveragePool", ["x"], "y", kernel_shape=[2], pads=[1, 1])], {}, (1, 4), ("count_include_pad", "varies")),
    ([node("AveragePool", ["x"], "y", kernel_shape=[2], strides=[2], ceil_mode=1)], {}, (1, 5), ("ceil_mode",)),
    ([node("AveragePool", ["x"], "y", kernel_shape=[2], storage_order=1)], {}, (1, 4), ("storage_order",)),
    ([node("AveragePool", ["x"], "y", kernel_shape=[2], strides=[0], auto_pad="SAME_UPPER")], {}, (1, 4),
     ("strides", "≥ 1")),
    ([node("AveragePool", ["x"], "y")], {}, (1, 4), ("kernel_shape", "required")),
    ([node("BatchNormalization", ["x", "s", "s", "s", "s"], "y", training_mode=1)],
     {"s": np.ones(1, np.float32)}, (1, 4), ("training_mode",)),
    ([node("Flatten", ["x"], "y", axis=2)], {}, (1, 2, 2), ("axis",)),
    ([node("Reshape", ["x", "s"], "y")], {"s": np.array([-1, 2, 2], np.int64)}, (4,), ("Reshape to (N, 4)",)),
    ([node("Conv", ["x", "W"], "c"), node("Add", ["c", "b"], "y")],
     {"W": np.ones((1, 1, 2), np.float32), "b": np.ones((1, 1, 3), np.float32)}, (1, 4), ("varying over positions",)),
    ([node("Relu", ["x"], "r"), node("Add", ["r", "b"], "y")], {"b": np.ones(4, np.float32)}, (4,), ("bias",)),
    ([node("Gemm", ["x", "W"], "y", transA=1)], {"W": np.ones((4, 2), np.float32)}, (4,), ("transA",)),
    ([node("Conv", ["x", "W"], "y")], {"W": np.ones((1, 1, 2), np.float64)}, (1, 4), ("float32",)),
])
def test_unsupported_attributes_and_constants_are_refused(nodes, constants, shape, words):
    _refusal(_model(nodes, constants, shape), shape, *words)


def test_weights_from_constant_nodes_and_a_fixed_batch_size():
    """W from a Constant node; the input declares batch 1 and a Reshape to [1, -1]: runs in chunks of 1."""
    rng = np.random.default_rng(7)
    constant = helper.make_node("Constant", [], ["W"], value=numpy_helper.from_array(_ints(rng, (2, 1, 2)), "W"))
    nodes = [constant, node("Conv", ["x", "W"], "c"), node("Reshape", ["c", "s"], "y")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", FLOAT, [1, 1, 4])],
                              [helper.make_tensor_value_info("y", FLOAT, [1, 6])],
                              [numpy_helper.from_array(np.array([1, -1], np.int64), "s")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    assert prove_network(model, (1, 4)).holds
    x = _ints(rng, (1, 1, 4))
    assert np.array_equal(to_mlp(model, (1, 4))(torch.as_tensor(x)).detach().numpy(), _ort(model, x))


def test_computed_weights_local_functions_and_double_definitions_are_refused():
    rng = np.random.default_rng(8)
    computed = _model([node("Identity", ["V"], "W"), node("Conv", ["x", "W"], "y")], {"V": _ints(rng, (1, 1, 2))},
                      (1, 4))
    _refusal(computed, (1, 4), "Identity 'W'", "single chain")
    function = helper.make_function("local", "Twice", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])],
                                    [helper.make_opsetid("", 17)])
    with_function = _model([helper.make_node("Twice", ["x"], ["y"], domain="local")], {}, (4,))
    with_function.functions.append(function)
    _refusal(with_function, (4,), "local function local.Twice")
    twice = _model([node("Relu", ["x"], "y"), node("Relu", ["y"], "y")], {}, (4,))
    _refusal(twice, (4,), "'y'", "defined twice")


def test_wrong_element_types_are_refused():
    int_model = _model([node("Relu", ["x"], "y")], {}, (4,), elem=TensorProto.INT32)
    _refusal(int_model, (4,), "INT32", "float32 or float64")
    half = _model([node("Relu", ["x"], "y")], {}, (4,), elem=TensorProto.FLOAT16)
    _refusal(half, (4,), "FLOAT16")


def test_input_shape_must_match_the_declared_input():
    model = _model([node("Relu", ["x"], "y")], {}, (2, 3))
    _refusal(model, (3, 2), "input_shape", "without its batch axis")


def test_float64_models_are_exact():
    rng = np.random.default_rng(5)
    model = _model([node("Gemm", ["x", "W", "C"], "g"), node("Relu", ["g"], "y")],
                   {"W": rng.integers(-3, 4, (5, 3)).astype(np.float64),
                    "C": rng.integers(-3, 4, 3).astype(np.float64)}, (5,), elem=TensorProto.DOUBLE)
    mlp = to_mlp(model, (5,))
    assert mlp[0].weight.dtype == torch.float64
    x = rng.uniform(-2, 2, size=(6, 5))
    assert np.array_equal(mlp(torch.as_tensor(x)).detach().numpy(), _ort(model, x))


# negative controls: a misreading of the nodes is caught by onnxruntime running the model


MISREADS = {   # a misreading: (its nodes, the weight's shape, the per-sample input shape)
    "same_split": ([node("Conv", ["x", "W"], "c", auto_pad="SAME_LOWER", strides=[2]), node("Flatten", ["c"], "y")],
                   (1, 1, 2), (1, 5)),
    "pads_order": ([node("Conv", ["x", "W"], "c", pads=[1, 1, 2, 1], strides=[2, 2]), node("Flatten", ["c"], "y")],
                   (1, 1, 1, 1), (1, 5, 5)),   # the same output shape either way: only the values tell
    "leaky_alpha": ([node("LeakyRelu", ["x"], "c")], None, (6,)),
}


@pytest.mark.parametrize("misread", sorted(MISREADS))
def test_a_misread_node_is_refuted_by_onnxruntime(monkeypatch, misread):
    import symconv.frameworks.onnx as reader
    import symconv.interop.onnx_steps as steps
    if misread == "same_split":     # SAME_LOWER read as SAME_UPPER
        monkeypatch.setattr(reader, "_same_split", lambda total, _: (total // 2, total - total // 2))
    elif misread == "pads_order":   # pads read as [x1_begin, x1_end, x2_begin, x2_end]
        original = reader.onnx_padding
        monkeypatch.setattr(reader, "onnx_padding", lambda *a: tuple(zip(*original(*a))))
    else:                           # LeakyRelu's alpha 0.01 read as 0.1
        monkeypatch.setitem(steps.READERS, "LeakyRelu", lambda c, n, i, s: steps.NetworkStep(
            steps.where(n, i), torch.nn.LeakyReLU(0.1), "elementwise", s, s))
    nodes, weight, shape = MISREADS[misread]
    model = _model(nodes, {} if weight is None else {"W": _ints(np.random.default_rng(6), weight)}, shape)
    proof = prove_network(model, shape)
    assert not proof.holds and isinstance(proof.counterexample, TorchMismatch)
    assert proof.counterexample.form == "onnxruntime"
    assert ("Conv 'c'" if weight else "LeakyRelu 'c'") in str(proof.counterexample)
    with pytest.raises(SpecError, match="onnxruntime computes something else"):
        to_mlp(model, shape)


def test_torch_export_round_trip():
    """A torch model exported with torch.onnx.export (the legacy TorchScript exporter: the default
    one needs onnxscript) comes in, and its MLP equals both torch and onnxruntime."""
    import io
    import warnings
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, groups=2), nn.BatchNorm2d(4), nn.LeakyReLU(0.1),
                          nn.AvgPool2d(2), nn.ConvTranspose2d(4, 2, 2, stride=2, output_padding=1, dilation=2),
                          nn.Sigmoid(), nn.Flatten(), nn.Linear(2 * 6 * 6, 3)).eval()
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.zeros(1, 2, 4, 4),), buffer, dynamo=False,
                              dynamic_axes={"input": {0: "N"}}, input_names=["input"])
    except ImportError as error:  # the exporter's dependencies may be absent
        pytest.skip(f"torch.onnx.export unavailable: {type(error).__name__}: {error}")
    exported = onnx.load_from_string(buffer.getvalue())
    mlp = to_mlp(exported, (2, 4, 4))
    x = torch.randn(5, 2, 4, 4)
    assert torch.allclose(mlp(x), model(x), atol=1e-5)
    assert np.allclose(mlp(x).detach().numpy(), _ort(exported, x.numpy()), atol=1e-5)
