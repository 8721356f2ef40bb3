"""The pytest plugin (entry point pytest11 "symconv"): the symconv_specs marker, the conv_spec and
conv_check fixtures and the terminal summary, run in throwaway pytest sessions by ``pytester``."""

from __future__ import annotations

import re

import pytest
import torch  # noqa: F401  imported here once: pytester's in-process runs drop modules they

#                           import, and re-importing torch in one process crashes it
from symconv import ConvSpec, SpecError
from symconv.pytest_plugin import spec_id, specs_of
from tests.test_testing import one_torch_thread  # noqa: F401  (autouse)

pytest_plugins = ["pytester"]

HEADER = """
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from symconv import ConvSpec

def correlate(x, w, b):   # numpy on symbols, 1-D, groups = 1, no padding
    return np.array([sum(np.correlate(x[c], w[o, c]) for c in range(len(x))) + b[o]
                     for o in range(len(w))])

def torch_conv2d(x, w, b):
    return F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(w), torch.from_numpy(b))[0].numpy()
"""


def test_marker_parametrises_over_specs_and_grid(pytester):
    pytester.makepyfile(HEADER + """
@pytest.mark.symconv_specs(ConvSpec(2, 3, 3, 6), dict(in_channels=1, out_channels=1,
                                                       kernel_size=2, input_size=4),
                           in_channels=[1, 2], out_channels=2, kernel_size=[2, 9], input_size=5)
def test_numpy(conv_spec, conv_check):
    assert conv_check(correlate, conv_spec).established == "proved"

@pytest.mark.symconv_specs(in_channels=[1, 2], out_channels=[1, 3], kernel_size=[(2, 2), (3, 1)],
                           input_size=[(4, 5)])
def test_torch(conv_spec, conv_check):
    result = conv_check(torch_conv2d, mode="probe")   # spec defaults to conv_spec
    assert result.spec == conv_spec and result.established.startswith("verified by randomized identity testing")
""")
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=4 + 8)
    result.stdout.fnmatch_lines([
        "*test_numpy?1-D-C_in=2-C_out=3-input=6-kernel=3-bias? PASSED*",
        "*test_numpy?1-D-C_in=2-C_out=2-input=5-kernel=2-bias? PASSED*",
        "*test_torch?2-D-C_in=2-C_out=3-input=4x5-kernel=3x1-bias? PASSED*",
        "symconv: 12 convolution check(s) passed: 4 proved, 8 verified by exact probing "
        "(assuming bilinearity)",
    ])
    assert "kernel=9" not in result.stdout.str()   # kernel 9 > input 5: not a layer, left out


def test_failing_check_shows_the_diagnosis_not_symconv_internals(pytester):
    pytester.makepyfile(HEADER + """
def convolve(x, w, b):
    return np.array([sum(np.convolve(x[c], w[o, c], "valid") for c in range(len(x))) + b[o]
                     for o in range(len(w))])

@pytest.mark.symconv_specs(ConvSpec(1, 1, 3, 5))
def test_convolve(conv_spec, conv_check):
    conv_check(convolve)
""")
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*AssertionError: fn does not compute the convolution [[]1-D, C_in=1, C_out=1, input=5, "
        "kernel=3, bias, NCHW[]]: 3 of 3 outputs differ.",
        "*y[[]0,0[]] lacks w_{0,0,0}·x_{0,0}, w_{0,0,2}·x_{0,2}; has w_{0,0,0}·x_{0,2}, "
        "w_{0,0,2}·x_{0,0} instead",
        "*Diagnosis: kernel flipped: fn computes true convolution*",
    ])
    shown = result.stdout.str()   # __tracebackhide__ keeps the user's frame: no frame of symconv.testing
    assert "testing.py:" not in shown and "symconv/testing/" not in shown and "symconv\\testing\\" not in shown
    assert "convolution check(s) passed" not in result.stdout.str()


def test_conv_spec_without_marker_is_a_clear_error(pytester):
    pytester.makepyfile("""
def test_no_marker(conv_spec):
    pass
""")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*conv_spec needs a @pytest.mark.symconv_specs(...) marker*"])


def test_marker_is_registered(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.symconv_specs(*specs, **grid): parametrise*"])


def test_specs_of_and_ids():
    layers = specs_of(ConvSpec(1, 1, 2, 3), kernel_size=[1, 2, 7], input_size=[(4, 4)],
                      in_channels=1, out_channels=[1, 2])
    assert [spec_id(s) for s in layers] == [
        "1-D-C_in=1-C_out=1-input=3-kernel=2-bias",
        "2-D-C_in=1-C_out=1-input=4x4-kernel=1x1-bias", "2-D-C_in=1-C_out=2-input=4x4-kernel=1x1-bias",
        "2-D-C_in=1-C_out=1-input=4x4-kernel=2x2-bias", "2-D-C_in=1-C_out=2-input=4x4-kernel=2x2-bias"]
    with pytest.raises(SpecError, match="names no valid ConvSpec"):
        specs_of(in_channels=1, out_channels=1, kernel_size=5, input_size=2)
    with pytest.raises(SpecError, match="positional arguments must be ConvSpecs or dicts"):
        specs_of(3)


README_EXAMPLE = '''
import pytest, torch
import torch.nn.functional as F
import symconv

def my_conv2d(x, w, b):                      # batched NCHW, float-only
    return F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b),
                    padding=1).numpy()

@pytest.mark.symconv_specs(in_channels=[1, 2], out_channels=[2, 3], kernel_size=(3, 3),
                           input_size=[(5, 5), (6, 4)], padding=1)
def test_my_conv2d(conv_spec, conv_check):
    result = conv_check(my_conv2d, mode="probe", batched=True)
    assert result.established.startswith("verified by randomized identity testing")
'''


def test_readme_example(pytester):
    pytester.makepyfile(README_EXAMPLE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["symconv: 8 convolution check(s) passed: 0 proved, 8 verified*"])


# ---- adversarial review: marker errors are named, bad grid values are not dropped silently ------
@pytest.mark.parametrize("bad", ["smae", -1, 1.5, True])
def test_a_grid_value_wrong_on_its_own_is_an_error(bad):
    with pytest.raises(SpecError, match=re.escape(f"symconv_specs(padding=…)={bad!r}: no combination of the "
                                                  f"grid accepts it: padding={bad!r}: ")):
        specs_of(in_channels=[1], out_channels=[1], kernel_size=[2], input_size=[5], padding=[0, bad, 1])


def test_grid_values_rejected_only_jointly_are_still_left_out():
    layers = specs_of(in_channels=[1, 2], out_channels=[2], kernel_size=[2, 9], input_size=[5, 10], groups=[1, 2])
    assert {(s.in_channels, s.kernel_size, s.input_size, s.groups) for s in layers} == {
        (1, (2,), (5,), 1), (1, (2,), (10,), 1), (1, (9,), (10,), 1), (2, (2,), (5,), 1), (2, (2,), (10,), 1),
        (2, (9,), (10,), 1), (2, (2,), (5,), 2), (2, (2,), (10,), 2), (2, (9,), (10,), 2)}


def test_an_unknown_marker_argument_is_an_error():
    with pytest.raises(SpecError, match=re.escape("symconv_specs='kernel': is not a ConvSpec argument (they are "
                                                  "in_channels, out_channels, kernel_size")):
        specs_of(in_channels=1, out_channels=1, kernel=3, input_size=5)
    with pytest.raises(SpecError, match=re.escape("symconv_specs='padd': is not a ConvSpec argument")):
        specs_of({"in_channels": 1, "out_channels": 1, "kernel_size": 3, "input_size": 5, "padd": 1})


def test_a_marker_error_names_the_marker_and_the_test(pytester):
    pytester.makepyfile('''
import pytest

@pytest.mark.symconv_specs(in_channels=1, out_channels=1, kernel=3, input_size=5)
def test_typo(conv_spec):
    pass
''')
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*SpecError: @pytest.mark.symconv_specs on test_a_marker_error_names_the_marker_and_"
                                 "the_test.py::test_typo='symconv_specs': 'kernel': is not a ConvSpec argument*"])
