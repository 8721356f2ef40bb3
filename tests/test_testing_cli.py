"""``symconv check MODULE:FUNCTION``: exit 0 proved/verified, 1 wrong (with the diagnosis), 2 bad input."""

from __future__ import annotations

import json
import textwrap

import pytest

from symconv.cli import main
from symconv.testing import ESTABLISHED

CODE = textwrap.dedent("""
    import numpy as np
    import scipy.signal

    def correlate(x, w, b):
        return np.array([sum(np.correlate(x[c], w[o, c]) for c in range(len(x))) + b[o]
                         for o in range(len(w))])

    def convolve(x, w, b):
        return np.array([sum(np.convolve(x[c], w[o, c], "valid") for c in range(len(x))) + b[o]
                         for o in range(len(w))])

    def convolve2d(x, w, b):
        return scipy.signal.convolve2d(x[0], w[0, 0], "valid")[None]

    class Layer:
        @staticmethod
        def forward(x, w, b):
            return correlate(x, w, b)
""")
LAYER_1D = ["--in-channels", "2", "--out-channels", "3", "--kernel-size", "3", "--input-size", "6"]
LAYER_2D = ["--kernel-size", "3,3", "--input-size", "4,5", "--no-bias"]


@pytest.fixture
def target(tmp_path, monkeypatch):
    """mine.py in a temporary working directory, importable as the module ``mine``."""
    (tmp_path / "mine.py").write_text(CODE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path / "mine.py"


def test_correct_code_is_proved(target, capsys):
    assert main(["check", "mine:correlate", *LAYER_1D]) == 0
    out = capsys.readouterr().out
    assert out.startswith("proved: fn computes the convolution [1-D, C_in=2, C_out=3, input=6, "
                          "kernel=3, bias; 12 outputs, 84 terms, 1 call(s) of fn")


def test_dotted_attribute_and_file_path_targets(target, capsys):
    assert main(["check", "mine:Layer.forward", *LAYER_1D]) == 0
    assert main(["check", f"{target}:correlate", *LAYER_1D, "--json"]) == 0
    result = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert (result["verified"], result["established"], result["outputs"], result["terms"]) == (
        True, "proved", 12, 84)


def test_wrong_code_exits_1_with_the_diagnosis(target, capsys):
    assert main(["check", "mine:convolve", *LAYER_1D]) == 1
    out = capsys.readouterr().out
    assert out.startswith("fn does not compute the convolution [1-D, C_in=2, C_out=3, input=6, "
                          "kernel=3, bias, NCHW]: 12 of 12 outputs differ.\n  y[0,0] lacks ")
    assert "Diagnosis: kernel flipped: fn computes true convolution" in out


def test_probe_mode_and_convention_flags(target, capsys):
    assert main(["check", "mine:convolve2d", *LAYER_2D, "--mode", "probe",
                 "--convention", "convolution", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["established"] == ESTABLISHED["probe"]   # randomized identity testing
    assert main(["check", "mine:convolve2d", *LAYER_2D, "--mode", "probe", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["verified"] is False and "Diagnosis: kernel flipped" in result["message"]


@pytest.mark.parametrize("argv, error", [
    (["check", "mine:convolve2d", *LAYER_2D],
     "fn raised ValueError: convolve2d not available for this type."),
    (["check", "absent_module_xyz:f", *LAYER_1D],
     "target='absent_module_xyz:f': cannot import absent_module_xyz: ModuleNotFoundError"),
    (["check", "mine:nothing", *LAYER_1D], "target='mine:nothing': mine has no attribute 'nothing'"),
    (["check", "mine", *LAYER_1D], "target='mine': must be MODULE:FUNCTION"),
    (["check", "missing.py:f", *LAYER_1D], "target='missing.py:f': cannot import missing.py"),
    (["check", "mine:correlate", "--kernel-size", "9", "--input-size", "4"], "kernel_size=9"),
])
def test_bad_input_exits_2_with_one_message(target, capsys, argv, error):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert error in err
    if "ValueError: convolve2d" in error:
        assert "use --mode probe" in err
