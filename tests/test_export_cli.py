"""``symconv export``: an ONNX CNN (SAME_LOWER, groups) or a torch factory's model written as an MLP
ONNX file with its certificate as PDF (compiled), LaTeX and JSON; "wrote PATH" per file; exit 0 when
proved, 1 when the file is not the network (a negative control that corrupts the written matrix), 2
with one line and no file for a refused model, a size above --max-bytes or a missing shape."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from symconv.cli import main
from tests.conftest import require_tex

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("torch")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

FACTORY = '''
import torch
def cnn():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1, padding_mode="circular"), torch.nn.Tanh(),
                               torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(8, 2)).eval()
'''


def _onnx_cnn(path, pool: str = "AveragePool") -> str:
    """Conv(SAME_LOWER, group 2, stride 2) → Relu → a pool (kernel 2) → Flatten, saved at ``path``."""
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(4, 1, 2, 3)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], auto_pad="SAME_LOWER", group=2, strides=[2, 2]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node(pool, ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["y"])]
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])],
                              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return str(path)


def _one_line_error(capsys, code: int, *words: str) -> None:
    captured = capsys.readouterr()
    assert code == 2 and captured.err.count("\n") == 1
    assert all(word in captured.err for word in words), captured.err


def test_onnx_cnn_exported_with_pdf_latex_and_json(tmp_path, capsys):
    require_tex()
    model = _onnx_cnn(tmp_path / "cnn.onnx")
    out = tmp_path / "out"
    out.mkdir()   # a missing output directory is an error (exit 2), never created silently
    code = main(["export", model, "--mlp", str(out / "mlp.onnx"), "--certificate", str(out / "cert.pdf"),
                 "--latex", str(out / "cert.tex"), "--json", str(out / "cert.json")])
    printed = capsys.readouterr().out.splitlines()
    assert code == 0
    assert printed[0].startswith(f"PROVED: {out / 'mlp.onnx'} is the MLP of cnn.onnx")   # the verdict first
    assert sorted(printed[-4:]) == sorted(f"wrote {out / name}" for name in ("mlp.onnx", "cert.json", "cert.tex",
                                                                            "cert.pdf"))
    assert not any(line.startswith("wrote") for line in printed[:-4])
    assert (out / "cert.pdf").read_bytes().startswith(b"%PDF")
    summary = json.loads((out / "cert.json").read_text())
    assert summary["schema"] == "symconv.certificate/1" and summary["holds"] is True
    assert summary["input_shape"] == [2, 8, 8] and summary["output_shape"] == [16]
    assert summary["file"]["path"] == str(out / "mlp.onnx") and summary["file"]["ops"] == ["Flatten", "Gemm",
                                                                                          "Relu", "Reshape"]
    assert [(layer["kind"], layer["method"], layer["proved"], layer["matrix_equal"]) for layer in summary["layers"]] \
        == [("conv", "concrete", True, True), ("avgpool", "concrete", True, True)]
    assert summary["network"]["framework_check"] == {"framework": "onnxruntime", "passed": True, "note": None}
    assert summary["network"]["symbolic"]["holds"] is True and summary["network"]["onnxruntime"]["holds"] is True
    assert r"\begin{document}" in (out / "cert.tex").read_text()


def test_torch_factory_sparse_with_the_all_sizes_theorem(tmp_path, capsys):
    (tmp_path / "models.py").write_text(FACTORY)
    out = tmp_path / "mlp.onnx"
    code = main(["export", f"{tmp_path / 'models.py'}:cnn", "--input-shape", "1,4,4", "--mlp", str(out),
                 "--sparse", "--max-terms", "10", "--json", str(tmp_path / "c.json")])
    assert code == 0, capsys.readouterr()
    summary = json.loads((tmp_path / "c.json").read_text())
    assert summary["file"]["sparse"] and "Constant" in summary["file"]["ops"]
    assert [layer["method"] for layer in summary["layers"]] == ["all sizes", "all sizes", "weight"]
    assert summary["layers"][0]["instance"]["n_1"] == 4 and summary["layers"][0]["proved"] is True


def test_a_corrupted_matrix_exits_1(tmp_path, capsys, monkeypatch):
    """Negative control: the file written holds a changed entry; the certificate's exact check fails."""
    from symconv.interop import onnx_graph
    original = onnx_graph._tensor

    def corrupted(name, value, dtype):
        value = np.array(value, dtype=dtype)
        if name == "W1":
            value[0, 0] += 1
        return original(name, value, dtype)

    monkeypatch.setattr(onnx_graph, "_tensor", corrupted)
    code = main(["export", _onnx_cnn(tmp_path / "cnn.onnx"), "--mlp", str(tmp_path / "mlp.onnx"),
                 "--json", str(tmp_path / "c.json")])
    printed = capsys.readouterr().out.splitlines()
    assert code == 1 and printed[0].startswith("REFUTED")
    assert printed[-2:] == [f"wrote {tmp_path / 'mlp.onnx'}", f"wrote {tmp_path / 'c.json'}"]
    summary = json.loads((tmp_path / "c.json").read_text())
    assert summary["holds"] is False and summary["layers"][0]["matrix_equal"] is False


@pytest.mark.parametrize("argv, words", [
    (["--input-shape", "2,8,8"], ("MaxPool",)),
    (["--max-bytes", "100"], ("max_bytes=100", "bytes")),
    (["--input-shape", "2,x"], ("--input-shape",)),
])
def test_refusals_exit_2_with_one_line_and_no_file(tmp_path, capsys, argv, words):
    model = _onnx_cnn(tmp_path / "cnn.onnx", pool="MaxPool" if "MaxPool" in words else "AveragePool")
    out = tmp_path / "out"
    out.mkdir()
    code = main(["export", model, "--mlp", str(out / "mlp.onnx"), "--json", str(out / "c.json"), *argv])
    _one_line_error(capsys, code, *words)
    assert os.listdir(out) == []


def test_a_torch_factory_needs_the_input_shape(tmp_path, capsys):
    (tmp_path / "models.py").write_text(FACTORY)
    code = main(["export", f"{tmp_path / 'models.py'}:cnn", "--mlp", str(tmp_path / "mlp.onnx")])
    _one_line_error(capsys, code, "--input-shape")
    assert [name for name in os.listdir(tmp_path) if name != "__pycache__"] == ["models.py"]


def test_a_missing_output_directory_exits_2_before_any_work(tmp_path, capsys):
    """As for `symconv prove`: a mistyped directory names the flag; nothing is made."""
    model = _onnx_cnn(tmp_path / "cnn.onnx")
    code = main(["export", model, "--mlp", str(tmp_path / "nodir" / "mlp.onnx")])
    _one_line_error(capsys, code, "--mlp=", "nodir", "does not exist (create it first)")
    assert os.listdir(tmp_path) == ["cnn.onnx"]
