"""Round 18: false PROVED certificates of the ONNX export. The certificate must check the file's
whole graph (an edited operator or activation parameter), re-run the framework check on the model it
is given, hold a layer only on its exact matrix (a float64 model written as float32 is the rounded
layer), compare onnxruntime with torch entry by entry; and float64 activations that ONNX or
onnxruntime lack in DOUBLE are refused before a file exists."""

import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
nn = torch.nn
from onnx import helper, numpy_helper  # noqa: E402

from symconv.errors import SpecError  # noqa: E402
from symconv.interop import certificate, to_onnx  # noqa: E402
from symconv.interop.certificate import RuntimeComparison, certificate_json  # noqa: E402


def _conv_relu():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(1, 2, 3, padding=1), nn.ReLU()).eval()


def test_an_edited_operator_is_refuted_and_named(tmp_path):
    net = _conv_relu()
    export = to_onnx(net, (1, 5), tmp_path / "m.onnx")
    untouched = certificate(net, export)
    assert untouched.holds and untouched.graph_difference is None    # positive control
    model = onnx.load(str(export.path))
    index, relu = next((i, n) for i, n in enumerate(model.graph.node) if n.op_type == "Relu")
    model.graph.initializer.extend([numpy_helper.from_array(np.array(v, np.float32), name)
                                    for v, name in ((0, "lo"), (3, "hi"))])
    model.graph.node.remove(relu)
    model.graph.node.insert(index, helper.make_node("Clip", [relu.input[0], "lo", "hi"], list(relu.output)))
    onnx.save(model, str(export.path))
    cert = certificate(net, export)
    assert not cert.holds and cert.summary().startswith("REFUTED")
    assert cert.graph_difference.startswith("node 2 is Clip ['h1', 'lo', 'hi'] → ['h2'], the export has Relu")
    assert certificate_json(cert)["file"]["graph_difference"] == cert.graph_difference
    assert all(layer.holds for layer in cert.layers)   # the tensors alone would not have seen it


def test_a_model_changed_after_the_export_is_refuted(tmp_path):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv1d(1, 2, 3, padding=1), nn.Hardtanh(-10.0, 10.0)).eval()
    export = to_onnx(net, (1, 5), tmp_path / "m.onnx")
    assert certificate(net, export).holds    # positive control
    net[1].max_val = 5.0
    cert = certificate(net, export)
    assert not cert.holds and cert.graph_difference == "tensor 'clip2_1' is different"


def test_the_framework_check_is_run_again_and_recorded(tmp_path, monkeypatch):
    import importlib
    module = importlib.import_module("symconv.interop.certificate")
    net = _conv_relu()
    export = to_onnx(net, (1, 5), tmp_path / "m.onnx")
    assert certificate_json(certificate(net, export))["network"]["framework_check"] == \
        {"framework": "torch", "passed": True, "note": None}

    def fails(param, model, network):
        raise SpecError(param, "Sequential", "torch differs from the map at model[0]")

    monkeypatch.setattr(module, "_refuse_mismatch", fails)
    cert = certificate(net, export)
    assert not cert.holds and "framework check: model='Sequential'" in cert.summary()
    assert certificate_json(cert)["network"]["framework_check"] == {
        "framework": "torch", "passed": False, "note": "model='Sequential': torch differs from the map at model[0]"}


def _two_channels(first: float):
    c1, c2 = nn.Conv1d(1, 2, 1, bias=False).double(), nn.Conv1d(2, 2, 1, bias=False).double()
    with torch.no_grad():
        c1.weight.copy_(torch.tensor([[[first]], [[2.0**30]]], dtype=torch.float64))
        c2.weight.copy_(torch.tensor([[[1.0], [-1.0]], [[0.0], [1.0]]], dtype=torch.float64))
    return nn.Sequential(c1, c2).eval()


def test_a_float64_model_rounded_to_float32_is_not_the_layer(tmp_path):
    net = _two_channels(2.0**30 + 1)     # 2^30 + 1 rounds to 2^30 in float32: channel 0 becomes 0
    export = to_onnx(net, (1, 3), tmp_path / "m.onnx", dtype=torch.float32)
    cert = certificate(net, export)
    first = cert.layers[0]
    assert (first.matrix_equal, first.matrix_exact, first.holds) == (True, False, False)
    assert not cert.holds
    assert "ℓ=1: the file holds the layer's matrix rounded to float32, not the layer" in cert.summary()
    assert not cert.runtime.holds and cert.runtime.max_relative_difference > 0.5
    exact = _two_channels(2.0**30)        # positive control: every entry a float32
    assert certificate(exact, to_onnx(exact, (1, 3), tmp_path / "e.onnx", dtype=torch.float32)).holds


def test_the_runtime_comparison_is_entrywise():
    # one entry 100% wrong next to a large one: max |difference| ≤ rtol·max |y| would pass it
    assert not RuntimeComparison(1, 0.5, 0.5 / 1.0, 1e-4).holds
    assert RuntimeComparison(1, 1e-3, 1e-5, 1e-4).holds


FLOAT64_LACKING = [nn.LeakyReLU(0.5), nn.PReLU(init=0.5), nn.ELU(0.5), nn.SELU(), nn.Softsign(),
                   nn.Hardsigmoid(), nn.Hardswish(), nn.Mish(), nn.GELU()]   # onnxruntime 1.x at opset 20


@pytest.mark.parametrize("activation", FLOAT64_LACKING, ids=lambda a: repr(a))
def test_float64_activations_without_a_double_operator_are_refused(tmp_path, activation):
    net = nn.Sequential(nn.Conv1d(1, 1, 1), activation).double().eval()
    with pytest.raises(SpecError, match=r"^dtype='float64': onnxruntime cannot load the MLP of \('Conv1d', "
                                        rf"'{type(activation).__name__}'\) at opset 20: .*NOT_IMPLEMENTED.*node"):
        to_onnx(net, (1, 4), tmp_path / "m.onnx", opset=20)
    assert os.listdir(tmp_path) == []
    # positive control: the same model written as float32 loads and is certified
    net32 = net.float()
    assert certificate(net32, to_onnx(net32, (1, 4), tmp_path / "m.onnx", opset=20), network_terms=1).holds


def test_celu_has_no_double_in_onnx_and_is_refused_by_name(tmp_path):
    net = nn.Sequential(nn.Conv1d(1, 1, 1), nn.CELU()).double().eval()
    with pytest.raises(SpecError, match=r"dtype='float64': CELU at model\[1\] is ONNX Celu, which has no float64"):
        to_onnx(net, (1, 4), tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("activation", [nn.ReLU(), nn.Hardtanh(-2.0, 3.0), nn.Sigmoid(), nn.Tanh()],
                         ids=lambda a: repr(a))
def test_float64_activations_with_a_double_operator_still_export(tmp_path, activation):
    net = nn.Sequential(nn.Conv1d(1, 1, 1), activation).double().eval()
    export = to_onnx(net, (1, 4), tmp_path / "m.onnx", opset=20)
    assert export.dtype == np.float64 and certificate(net, export, network_terms=1).holds


def test_an_onnxruntime_load_failure_is_one_spec_error(tmp_path, monkeypatch):
    """Past the table, onnx.checker's type inference error becomes one SpecError before writing."""
    from symconv.interop import onnx_graph
    monkeypatch.setitem(onnx_graph.ONNX_ACTIVATIONS, "CELU", onnx_graph.OnnxActivation("Celu", 12, lambda m: {}))
    net = nn.Sequential(nn.Conv1d(1, 1, 1), nn.CELU()).double().eval()
    with pytest.raises(SpecError, match=r"dtype='float64': the MLP of \('Conv1d', 'CELU'\) would be an invalid "
                                        r"ONNX file at opset 17: .*Celu.*tensor\(double\)"):
        to_onnx(net, (1, 4), tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []
