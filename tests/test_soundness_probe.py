"""Probe mode refuses what it cannot check exactly, with a message that says what; symbolic mode
refuses outputs that are not SymPy expressions (issue 11, "PROVED must mean proved")."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import symconv
from symconv import ConvSpec, SpecError
from symconv.cli import main
from symconv.testing import ESTABLISHED, PROBE_DEADLINE, NotCheckable, assert_conv_equivalent

PROBED = "verified by exact probing, assuming bilinearity"   # exhaustive=True: every coefficient read
SPEC = ConvSpec(1, 2, 2, 3)        # 1-D, bias: 3 input, 4 weight, 2 bias entries
FIRST = "on the probe input (x zero and one-hot, w = 0, b = 0; sample 0 of 4)"


def floats(spec: ConvSpec):
    """The definition on float arrays: a correct float-only fn."""
    return lambda x, w, b: np.asarray(symconv.conv(spec, x, w, b), dtype=np.float64)


def torch_conv1d(x, w, b):
    """A true torch conv, batched, with a weight that requires grad (so the output does too)."""
    weight = torch.as_tensor(w).requires_grad_()
    return F.conv1d(torch.as_tensor(x), weight, torch.as_tensor(b))


def test_true_torch_conv_with_grad_is_verified():
    y = torch_conv1d(np.ones((1, 1, 3)), np.ones((2, 1, 2)), np.zeros(2))
    assert y.requires_grad                       # np.asarray(y) alone would raise
    result = assert_conv_equivalent(torch_conv1d, SPEC, mode="probe", exhaustive=True, batched=True)
    assert result.established == PROBED and result.calls == 1 + 4 + 2 + 3


def test_correct_float_code_is_still_verified():
    assert assert_conv_equivalent(floats(SPEC), SPEC, mode="probe").established == ESTABLISHED["probe"]


# ---- outputs that are not real numbers ------------------------------------------------------------
def test_complex_output_is_refused_not_truncated():
    fn = lambda x, w, b: floats(SPEC)(x, w, b) + 1e-3j * floats(SPEC)(x, w, b)  # noqa: E731
    with pytest.raises(NotCheckable, match=re.escape(
            f"fn returned a complex output (dtype complex128, largest |imaginary part| 0) {FIRST}: a real "
            f"convolution layer has real outputs, and probing does not drop an imaginary part")):
        assert_conv_equivalent(fn, SPEC, mode="probe", exhaustive=True)


def test_complex_torch_output_names_its_imaginary_part():
    fn = lambda x, w, b: torch_conv1d(x, w, b) * (1 + 1e-3j) + 0.5j  # noqa: E731
    with pytest.raises(NotCheckable, match=r"complex output \(dtype complex128, largest \|imaginary part\| 0\.5\)"):
        assert_conv_equivalent(fn, SPEC, mode="probe", exhaustive=True, batched=True)


@pytest.mark.parametrize("value, name", [(np.nan, "nan (not a number)"), (np.inf, "inf (infinite)"),
                                         (-np.inf, "-inf (infinite)")])
def test_nan_and_infinite_outputs_are_refused(value, name):
    def fn(x, w, b):
        y = floats(SPEC)(x, w, b)
        y[1, 0] = value
        return y

    with pytest.raises(NotCheckable, match=re.escape(f"fn returned y[1,0] = {name} {FIRST}: a convolution "
                                                     f"of finite inputs is finite")):
        assert_conv_equivalent(fn, SPEC, mode="probe", exhaustive=True)


@pytest.mark.parametrize("output, what", [
    (lambda y: y > 0, "ndarray of dtype bool"), (lambda y: y.astype(str), "ndarray of dtype <U32"),
    (lambda y: y.astype(object), "ndarray of dtype object"), (lambda y: {"y": y}, "dict of dtype object")])
def test_outputs_that_are_not_real_numbers_are_refused(output, what):
    fn = lambda x, w, b: output(floats(SPEC)(x, w, b))  # noqa: E731
    with pytest.raises(NotCheckable, match=re.escape(
            f"fn returned {what} {FIRST}: not real numbers (bool, str, object and complex outputs are refused)")):
        assert_conv_equivalent(fn, SPEC, mode="probe", exhaustive=True)


def test_none_is_refused():
    with pytest.raises(NotCheckable, match=re.escape(f"fn returned None {FIRST}; it must return the output "
                                                     f"array y")):
        assert_conv_equivalent(lambda x, w, b: None, SPEC, mode="probe", exhaustive=True)


def test_wrong_shape_is_named():
    with pytest.raises(AssertionError, match=re.escape("fn returned shape (4,), the output shape is (2, 2)")):
        assert_conv_equivalent(lambda x, w, b: floats(SPEC)(x, w, b).ravel(), SPEC, mode="probe")


# ---- fn raises --------------------------------------------------------------------------------------
def test_an_error_raised_by_fn_is_named_and_chained():
    def fn(x, w, b):
        if w.any():
            raise ValueError("weights must be normalised")
        return floats(SPEC)(x, w, b)

    with pytest.raises(NotCheckable) as error:
        assert_conv_equivalent(fn, SPEC, mode="probe", exhaustive=True)
    assert str(error.value) == (
        "fn raised ValueError('weights must be normalised') on the probe input (x zero and one-hot, w one-hot "
        "at flat index 0, b = 0; sample 0 of 4): float64 arrays x (1, 3), w (2, 1, 2), b (2,)")
    assert isinstance(error.value.__cause__, ValueError)


# ---- the deadline ---------------------------------------------------------------------------------
def test_probing_stops_at_its_deadline_and_verifies_nothing():
    def slow(x, w, b):
        time.sleep(0.02)
        return floats(SPEC)(x, w, b)

    with pytest.raises(NotCheckable, match=r"^probing did not finish within deadline=0\.05 s: (\d+) of 25 "
                                           r"calls of fn made in [\d.]+ s, so nothing was verified") as error:
        assert_conv_equivalent(slow, SPEC, mode="probe", exhaustive=True, deadline=0.05)
    made = int(re.search(r"(\d+) of 25", str(error.value)).group(1))
    assert 1 <= made < 25
    assert assert_conv_equivalent(slow, SPEC, mode="probe", exhaustive=True, deadline=60).established == PROBED
    assert PROBE_DEADLINE == 300.0


def test_the_check_command_passes_its_deadline(tmp_path, monkeypatch, capsys):
    (tmp_path / "slow.py").write_text("import time\nimport numpy as np\n\ndef fn(x, w, b):\n"
                                      "    time.sleep(0.02)\n    return np.zeros((2, 2))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    layer = ["--out-channels", "2", "--kernel-size", "2", "--input-size", "3", "--mode", "probe"]
    assert main(["check", "slow:fn", *layer, "--deadline", "0.05"]) == 2
    assert "symconv check: error: probing did not finish within deadline=0.05 s" in capsys.readouterr().err
    assert main(["check", "slow:fn", *layer, "--deadline", "0"]) == 2
    assert "--deadline=0.0: must be a number of seconds > 0 (finite)" in capsys.readouterr().err


@pytest.mark.parametrize("deadline", [0, -1, float("nan"), float("inf"), "5", True, None])
def test_deadline_is_validated(deadline):
    with pytest.raises(SpecError, match=re.escape(f"deadline={deadline!r}: must be a number of seconds > 0 "
                                                  f"(finite)")):
        assert_conv_equivalent(floats(SPEC), SPEC, mode="probe", deadline=deadline)


# ---- symbolic mode: outputs must be SymPy expressions -------------------------------------------
@pytest.mark.parametrize("fn, shown", [
    (lambda x, w, b: np.zeros((2, 2)), "y[0,0] = 0.0 (float)"),
    (lambda x, w, b: None, "y = None (NoneType)"),
    (lambda x, w, b: [["a", "b"], ["c", "d"]], "y[0,0] = 'a' (str)"),
    (lambda x, w, b: np.full((2, 2), True), "y[0,0] = True (bool)"),
    (lambda x, w, b: np.where(symconv.conv(SPEC, x, w, b) != 0, 1.5, 0), "y[0,0] = 1.5 (float)")])
def test_symbolic_mode_refuses_outputs_that_are_not_sympy(fn, shown):
    with pytest.raises(NotCheckable, match=re.escape(f"fn returned {shown} when called on NumPy object arrays "
                                                     f"of SymPy symbols: a convolution's outputs are polynomials")):
        assert_conv_equivalent(fn, SPEC)


def test_symbolic_mode_still_refutes_an_output_fn_never_wrote():
    def fn(x, w, b):
        y = np.zeros((2, 2), dtype=object)       # Python int 0 where fn writes nothing
        y[0] = symconv.conv(SPEC, x, w, b)[0]
        return y

    with pytest.raises(AssertionError, match="2 of 4 outputs differ"):
        assert_conv_equivalent(fn, SPEC)
