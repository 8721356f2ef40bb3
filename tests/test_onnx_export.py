"""symconv.interop.to_onnx: a CNN's MLP as an ONNX file of Gemm, activations, Flatten and Reshape only,
run in onnxruntime against torch (exactly on integer weights and inputs in float64, else within
float32 rounding); sparse COO constants equal to dense; refusals by name, by size and by path with
no file left; and the certificate with its negative controls (a changed file entry, a size
outside a theorem's hypotheses)."""

from __future__ import annotations

import os
from math import prod

import numpy as np
import pytest

from symconv.errors import SpecError
from symconv.interop import certificate, run_onnx, to_onnx
from symconv.interop.certificate import _hypotheses_hold, _instance

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
nn = torch.nn
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

NOT_IN_AN_MLP = {"Conv", "ConvTranspose", "AveragePool", "MaxPool", "GlobalAveragePool", "LpPool"}


def _ops(path) -> set[str]:
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    return {node.op_type for node in model.graph.node}


def _integer_weights(model):
    """``model`` in float64 with integer weights and biases in [−3, 3] (every sum exact in float64)."""
    model = model.to(torch.float64)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randint(-3, 4, parameter.shape, generator=generator, dtype=torch.float64))
    return model.eval()


def _agrees(model, shape, path, exact: bool, **options):
    """Export, then onnxruntime on the file against torch: == on integer inputs (``exact``), else
    within float32 rounding. Returns the export."""
    export = to_onnx(model, shape, path, **options)
    assert not _ops(path) & NOT_IN_AN_MLP
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, size=(3, *shape)) if exact else rng.uniform(-1, 1, size=(3, *shape))
    x = x.astype(export.dtype)
    with torch.no_grad():
        expected = model(torch.as_tensor(x)).numpy()
    got = run_onnx(path, x)
    assert got.shape == expected.shape == (3, *export.output_shape)
    if exact:
        assert (got == expected).all()
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    return export


def test_cifar_cnn_runs_in_onnxruntime_equal_to_torch(tmp_path):
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                        nn.Conv2d(16, 32, 3, stride=2, dilation=2), nn.Tanh(), nn.Flatten(),
                        nn.Linear(32 * 6 * 6, 10)).eval()
    # sparse: the dense file would be 489 MB (its estimate is asserted below)
    export = _agrees(cnn, (3, 32, 32), tmp_path / "cifar.onnx", exact=False, sparse=True)
    assert _ops(export.path) == {"Flatten", "Constant", "Gemm", "Relu", "Tanh", "Reshape"}
    dense = sum((prod(s.in_shape) + 1) * prod(s.out_shape) * 4 for s in export.steps
                if s.kind in ("conv", "avgpool", "linear"))   # rows·(cols + bias) float32 entries
    assert dense == 488_769_064 and export.estimate < dense / 60
    assert export.estimate <= os.path.getsize(export.path) < export.estimate * 1.01


def test_padding_modes_groups_and_a_circular_strided_conv(tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, padding_mode="reflect", groups=2), nn.ReLU(),
                          nn.Conv2d(4, 4, 3, stride=2, padding=1, padding_mode="circular"), nn.LeakyReLU(0.25),
                          nn.AvgPool2d(2), nn.Flatten(), nn.Linear(16, 3)).eval()
    torch.manual_seed(0)
    _agrees(model, (2, 9, 7), tmp_path / "f32.onnx", exact=False)
    _agrees(_integer_weights(model), (2, 9, 7), tmp_path / "f64.onnx", exact=True)


def test_transposed_convs_dilation_and_batchnorm(tmp_path):
    bn = nn.BatchNorm2d(3)
    bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2)
    model = nn.Sequential(nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, dilation=2),
                          bn, nn.Sigmoid(), nn.ConvTranspose2d(3, 2, 2, stride=(1, 2), groups=1)).eval()
    _agrees(model, (2, 4, 5), tmp_path / "t.onnx", exact=False)
    plain = nn.Sequential(nn.ConvTranspose1d(2, 4, 3, stride=3, output_padding=2, groups=2), nn.ReLU(),
                          nn.Conv1d(4, 1, 2, dilation=3, padding=2, padding_mode="replicate"))
    _agrees(_integer_weights(plain), (2, 5), tmp_path / "t1.onnx", exact=True)


def test_sparse_equals_dense(tmp_path):
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=2, dilation=2), nn.ReLU(), nn.AvgPool2d(2),
                          nn.Flatten(), nn.Linear(3 * 4 * 4, 5)).eval()
    x = np.random.default_rng(3).uniform(-1, 1, size=(4, 1, 8, 8)).astype(np.float32)
    dense = to_onnx(model, (1, 8, 8), tmp_path / "dense.onnx")
    sparse = to_onnx(model, (1, 8, 8), tmp_path / "sparse.onnx", sparse=True)
    assert (run_onnx(sparse.path, x) == run_onnx(dense.path, x)).all()
    assert sparse.bytes < dense.bytes and "Constant" in _ops(sparse.path) and "Constant" not in _ops(dense.path)
    assert certificate(model, sparse, network_terms=1).holds


def test_refusals_name_the_layer_and_leave_no_file(tmp_path):
    for layer, name in ((nn.MaxPool2d(2), "MaxPool2d"), (nn.SiLU(), "SiLU")):
        model = nn.Sequential(nn.Conv2d(1, 2, 3), layer)
        with pytest.raises(SpecError, match=name):
            to_onnx(model, (1, 6, 6), tmp_path / "m.onnx")
        assert os.listdir(tmp_path) == []
    conv = nn.Sequential(nn.Conv2d(1, 2, 3))
    with pytest.raises(SpecError, match="does not exist"):
        to_onnx(conv, (1, 6, 6), tmp_path / "missing" / "m.onnx")
    with pytest.raises(SpecError, match="is a directory"):
        to_onnx(conv, (1, 6, 6), tmp_path)
    with pytest.raises(SpecError, match="opset=12"):
        to_onnx(conv, (1, 6, 6), tmp_path / "m.onnx", opset=12)
    with pytest.raises(SpecError, match="GELU.*opset ≥ 20"):
        to_onnx(nn.Sequential(nn.Conv2d(1, 2, 3), nn.GELU()), (1, 6, 6), tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


def test_size_limit_names_the_estimate_and_the_limit(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1))   # A: 4·64 × 64 float32 = 65 536 bytes, bias 1 024
    with pytest.raises(SpecError, match=r"max_bytes=60000: the file's weights would take 66560 bytes"):
        to_onnx(model, (1, 8, 8), tmp_path / "m.onnx", max_bytes=60_000)
    with pytest.raises(SpecError, match="max_bytes=2147483648: must be at most 2147483647"):
        to_onnx(model, (1, 8, 8), tmp_path / "m.onnx", max_bytes=2**31)
    assert os.listdir(tmp_path) == []
    # sparse: nnz·(4 + 8) = 4·(6·6·9 + 4·6·6 + 4) + bias ≪ dense
    export = to_onnx(model, (1, 8, 8), tmp_path / "m.onnx", max_bytes=60_000, sparse=True)
    assert export.estimate == 4 * (36 * 9 + 24 * 6 + 4 * 4) * 12 + 256 * 4


def test_onnx_cnn_with_same_lower_and_groups_in_mlp_out(tmp_path):
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(4, 1, 3, 2)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    g = rng.normal(size=(3, 4 * 3 * 4)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], auto_pad="SAME_LOWER", group=2, strides=[2, 2]),
             helper.make_node("Relu", ["c"], ["r"]), helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("Gemm", ["f", "g"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "same_lower",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 7])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
                              [numpy_helper.from_array(v, k) for k, v in {"w": w, "b": b, "g": g}.items()])
    cnn = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    export = to_onnx(cnn, (2, 5, 7), tmp_path / "mlp.onnx")
    assert _ops(export.path) == {"Flatten", "Gemm", "Relu", "Reshape"}
    cert = certificate(cnn, export)
    assert cert.holds and cert.network is not None and cert.runtime.max_abs_difference < 1e-5
    assert [(layer.names, layer.method) for layer in cert.layers] == [(("Conv (node 0)",), "concrete"),
                                                                      (("Gemm (node 3)",), "weight")]


def test_certificate_refutes_a_changed_file_entry(tmp_path):
    model = nn.Sequential(nn.Conv1d(1, 2, 3, padding=1, padding_mode="circular"), nn.ReLU()).eval()
    export = to_onnx(model, (1, 6), tmp_path / "m.onnx")
    assert certificate(model, export).holds
    proto = onnx.load(str(export.path))
    (weight,) = (t for t in proto.graph.initializer if t.name == "W1")
    A = numpy_helper.to_array(weight).copy()
    A[0, 0] += 0.5
    weight.CopyFrom(numpy_helper.from_array(A, "W1"))
    onnx.save(proto, str(export.path))
    cert = certificate(model, export)
    assert not cert.holds and not cert.layers[0].matrix_equal and not cert.runtime.holds
    assert cert.summary().startswith("REFUTED")
    with pytest.raises(SpecError, match="was written from the layers"):
        certificate(nn.Sequential(nn.Conv1d(1, 2, 3, padding=1), nn.Tanh()), export)


def test_all_sizes_theorem_for_a_large_layer_and_its_instance(tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 2, 3, stride=2, padding=(1, 2), padding_mode="reflect")).eval()
    export = to_onnx(model, (2, 7, 8), tmp_path / "m.onnx")
    (layer,) = certificate(model, export, max_terms=10, network_terms=1).layers
    assert layer.method == "all sizes" and layer.proved and layer.instance_holds
    assert layer.instance == {"G": 1, "Ci": 2, "Co": 2, "n_1": 7, "k_1": 3, "s_1": 2, "d_1": 1, "p_1": 1, "q_1": 1,
                              "m_1": 4, "n_2": 8, "k_2": 3, "s_2": 2, "d_2": 1, "p_2": 2, "q_2": 2, "m_2": 5}
    # negative control: a size outside the theorem's hypotheses (kernel wider than the padded input)
    outside = {**_instance(export.steps[0].spec), "k_1": 20}
    assert not _hypotheses_hold(layer.proof, outside)
