"""Issue 13 items 3 and 5: the transposed and gradient checkers within a tolerance (rtol/atol,
``torch.testing.assert_close``'s rule) and by exhaustive one-hot probing, as the forward checker:
float32 torch verified within a tolerance but not exactly, every planted fault rejected in both
modes with its values or terms, the refusals, and the pytest fixtures passing the options on."""

from __future__ import annotations

import re

import numpy as np
import pytest

from symconv import ConvSpec, SpecError
from symconv.testing import NotCheckable, assert_conv_gradients_equivalent, assert_conv_transpose_equivalent
from tests.test_adjoint_checks import GROUPED, PIT, torch_backward, torch_transpose
from tests.test_testing import one_torch_thread  # noqa: F401  (autouse)

pytest_plugins = ["pytester"]

TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}
WITHIN = "verified within tolerance rtol=1e-05, atol=1e-06 at 8 random points and 4 with inputs scaled by 2^±8, 2^±24"
EXHAUSTIVE = "verified by exact probing, assuming bilinearity"
LAYER = ("[2-D, C_in=4, C_out=4, input=5×5, kernel=3×3, stride=2, padding=1 (zeros), groups=2, bias, NCHW")
TRANSPOSE = f"fn does not compute the transposed convolution {LAYER}, output_padding=(1, 1)]"
BACKWARD = f"backward_fn does not compute the backward pass (∂L/∂x, ∂L/∂w, ∂L/∂b of L = ⟨g, conv(x, w, b)⟩) {LAYER}]"


def float32(fn):
    """fn computing in float32 (torch on float32 tensors), returning float64 as a caller sees it."""
    def wrapped(*args):
        out = fn(*(None if a is None else a.astype(np.float32) for a in args))
        if isinstance(out, tuple):
            return tuple(None if o is None else o.astype(np.float64) for o in out)
        return out.astype(np.float64)
    return wrapped


def transpose(fn, spec=GROUPED, output_padding=1, **options):
    return assert_conv_transpose_equivalent(fn, spec, output_padding, mode="probe", batched=True, seed=5, **options)


def gradients(fn, spec=GROUPED, **options):
    return assert_conv_gradients_equivalent(fn, spec, mode="probe", batched=True, seed=5, **options)


def rejected(check, fn, **options) -> list[str]:
    with pytest.raises(AssertionError) as info:
        check(fn, **options)
    return str(info.value).splitlines()


# ---- float32 torch: within the tolerance, not exactly -------------------------------------------
def test_float32_torch_transpose_is_verified_within_a_tolerance_and_not_exactly():
    fn = float32(torch_transpose(GROUPED, 1))
    result = transpose(fn, **TOLERANCE)
    assert result.established == (f"{WITHIN} (|out − exact| ≤ atol + rtol·|exact| for every entry of y, at a scaled "
                                  f"point both divided by the scale to the output's degree), assuming fn's error "
                                  f"does not depend on where the inputs are")
    assert str(result).startswith(WITHIN) and result.mode == "probe" and result.false_pass_bound is None
    assert result.calls == 13 and result.cross_checks == 0   # one call on ones, 12 points: no exact trials
    with pytest.raises(AssertionError, match=re.escape(TRANSPOSE)):
        transpose(fn)   # float32 rounds where the exact check's float64 values need 53 bits


def test_float32_autograd_is_verified_within_a_tolerance_and_not_exactly():
    fn = float32(torch_backward(GROUPED))
    result = gradients(fn, **TOLERANCE)
    assert result.established.startswith(f"{WITHIN} (|out − exact| ≤ atol + rtol·|exact| for every entry of "
                                         f"grad_x, grad_w, grad_b, at a scaled point")
    with pytest.raises(AssertionError, match=re.escape(BACKWARD)):
        gradients(fn)


def test_exact_torch_passes_exhaustive_probing_and_the_tolerance():
    """Negative control of the rejections below: the right maps pass both new modes."""
    assert transpose(torch_transpose(GROUPED, 1), exhaustive=True).established == EXHAUSTIVE
    result = gradients(torch_backward(GROUPED), exhaustive=True)
    assert result.established == EXHAUSTIVE and result.calls == 6405 and result.cross_checks == 7
    assert gradients(torch_backward(GROUPED), rtol=0, atol=0).established == PIT   # no tolerance: the exact check
    spec = ConvSpec(2, 2, kernel_size=2, input_size=4, bias=False)
    assert assert_conv_gradients_equivalent(torch_backward(spec, batched=False), spec, mode="probe",
                                            exhaustive=True).established == EXHAUSTIVE


# ---- planted faults: rejected within the tolerance and by exhaustive probing -------------------
def zero_extended(g, w, b):
    """output_padding=0 computed, zero-extended to the size of output_padding=1."""
    y = torch_transpose(GROUPED, 0)(g, w, b)
    return np.pad(y - b[:, None, None], ((0, 0), (0, 0), (0, 1), (0, 1))) + b[:, None, None]


def flipped(g, w, b):
    return torch_transpose(GROUPED, 1)(g, np.ascontiguousarray(w[..., ::-1, ::-1]), b)


def swapped(x, w, g):
    """The groups' weight gradients swapped (groups > 1, stride 2: pytorch#50042/#51430)."""
    grad_x, grad_w, grad_b = torch_backward(GROUPED)(x, w, g)
    return grad_x, np.concatenate([grad_w[2:], grad_w[:2]]), grad_b


ZERO_EXTENDED_TERMS = ["  y[0,0,5] lacks g_{0,0,2}·w_{0,0,1,2}, g_{1,0,2}·w_{1,0,1,2}",
                       "  y[0,1,5] lacks g_{0,0,2}·w_{0,0,2,2}, g_{0,1,2}·w_{0,0,0,2}, g_{1,0,2}·w_{1,0,2,2}, "
                       "g_{1,1,2}·w_{1,0,0,2}"]
OUTPUT_PADDING = ("Diagnosis: y: output_padding off: fn computes output_padding=(0, 0) (cut or zero-extended to the "
                  "requested size), the spec asks for (1, 1) — that map reproduces it exactly.")
READ = "(its outputs rounded to integers within the tolerance), differs"


def test_a_wrong_output_padding_is_rejected_within_the_tolerance_with_its_values_and_terms():
    lines = rejected(transpose, float32(zero_extended), **TOLERANCE)
    assert lines[0] == (f"{TRANSPOSE} (found by checking within tolerance): y: 132 of 432 entries not within "
                        f"rtol=1e-05, atol=1e-06 of the transposed convolution at random point 1 (seed 5; seed= "
                        f"repeats it).")
    assert lines[1] == "  y[0,0,0,5] = -0.7093340158462524, the transposed convolution gives 0.014894312045310443"
    assert lines[4] == "  ... and 129 more entries of y outside the tolerance"
    assert lines[5] == f"fn's polynomial, read off by encoded probes {READ}: y: 44 of 144 entries differ."
    assert lines[6:8] == ZERO_EXTENDED_TERMS and lines[-1] == OUTPUT_PADDING


def test_a_wrong_output_padding_is_rejected_by_exhaustive_probing_with_its_terms():
    lines = rejected(transpose, zero_extended, exhaustive=True)
    assert lines[0] == f"{TRANSPOSE} (found by exact probing): y: 44 of 144 entries differ."
    assert lines[1:3] == ZERO_EXTENDED_TERMS and lines[-1] == OUTPUT_PADDING


@pytest.mark.parametrize("options", [TOLERANCE, {"exhaustive": True}], ids=["tolerance", "exhaustive"])
def test_a_flipped_kernel_is_rejected(options):
    lines = rejected(transpose, float32(flipped) if "rtol" in options else flipped, **options)
    first = "y: 108 of 144 entries differ."
    assert lines[0].endswith("(seed 5; seed= repeats it).") if "rtol" in options else lines[0].endswith(first)
    assert ("  y[0,0,5] lacks g_{0,0,2}·w_{0,0,1,2}, g_{1,0,2}·w_{1,0,1,2}; has g_{0,0,2}·w_{0,0,1,0}, "
            "g_{1,0,2}·w_{1,0,1,0} instead") in lines
    assert lines[-1] == "Diagnosis: y: the kernel flipped: fn uses w mirrored on every spatial axis — that map " \
                        "reproduces it exactly."


SWAPPED = ("Diagnosis: grad_w: the groups' weight gradients swapped: the blocks of groups (0, 1) of grad_w hold the "
           "gradients of groups (1, 0) (the silent bug of groups > 1, pytorch#50042/#51430) — that map reproduces "
           "it exactly.")
SWAPPED_TERMS = ("  grad_w[0,0,0,0] lacks g_{0,1,1}·x_{0,1,1}, g_{0,1,2}·x_{0,1,3}, g_{0,2,1}·x_{0,3,1}, "
                 "g_{0,2,2}·x_{0,3,3}; has g_{2,1,1}·x_{2,1,1}, g_{2,1,2}·x_{2,1,3}, g_{2,2,1}·x_{2,3,1}, "
                 "g_{2,2,2}·x_{2,3,3} instead")


def test_swapped_groups_weight_gradients_are_rejected_within_the_tolerance():
    lines = rejected(gradients, float32(swapped), **TOLERANCE)
    assert lines[0] == (f"{BACKWARD} (found by checking within tolerance): grad_w: 72 of 72 entries not within "
                        f"rtol=1e-05, atol=1e-06 of the backward pass at random point 1 (seed 5; seed= repeats it).")
    assert lines[1] == "  grad_w[0,0,0,0] = 0.3914845883846283, the backward pass gives -0.6500972231333684"
    assert lines[5] == f"backward_fn's polynomial, read off by encoded probes {READ}: grad_w: 72 of 72 entries differ."
    assert lines[6] == SWAPPED_TERMS and lines[-1] == SWAPPED


def test_swapped_groups_weight_gradients_are_rejected_by_exhaustive_probing():
    lines = rejected(gradients, swapped, exhaustive=True)
    assert lines[0] == f"{BACKWARD} (found by exact probing): grad_w: 72 of 72 entries differ."
    assert lines[1] == SWAPPED_TERMS and lines[-1] == SWAPPED


def test_faults_too_large_to_read_are_named_within_the_tolerance_at_the_random_point():
    """Beyond RECOVERY_CALLS: fn's and the map's values, the terms of the first entries outside the
    tolerance (read off their receptive fields), and the fault whose exact output is within the
    tolerance of fn's at the point."""
    spec = ConvSpec(8, 8, kernel_size=3, input_size=(16, 16), stride=2, padding=1, groups=2)

    def wrong(x, w, g):
        grad_x, grad_w, grad_b = torch_backward(spec)(x, w, g)
        return grad_x, np.concatenate([grad_w[4:], grad_w[:4]]), grad_b
    lines = rejected(gradients, float32(wrong), spec=spec, **TOLERANCE)
    assert lines[0].endswith("grad_w: 288 of 288 entries not within rtol=1e-05, atol=1e-06 of the backward pass at "
                             "random point 1 (seed 5; seed= repeats it).")
    assert re.fullmatch(r"  grad_w\[0,0,0,0\] = -?\d\.\d+, the backward pass gives -?\d\.\d+", lines[1])
    # the terms of the first entries, read off their receptive fields (coefficients rounded within the tolerance)
    assert lines[5] == ("  grad_w[0,0,0,0] lacks g_{0,1,1}·x_{0,1,1}, g_{0,1,2}·x_{0,1,3}, g_{0,1,3}·x_{0,1,5}, "
                        "g_{0,1,4}·x_{0,1,7} and 45 more; has g_{4,1,1}·x_{4,1,1}, g_{4,1,2}·x_{4,1,3}, "
                        "g_{4,1,3}·x_{4,1,5}, g_{4,1,4}·x_{4,1,7} and 45 more instead")
    assert lines[6].startswith("  grad_w[1,0,0,0] lacks g_{1,1,1}·x_{0,1,1}, ")
    assert "; has g_{5,1,1}·x_{4,1,1}, " in lines[6]
    assert lines[-2].startswith("  (terms read by one-hot probing of the entries' receptive fields only: ")
    assert lines[-2].endswith(" s; coefficients rounded where the rounding is within the tolerance)")
    assert lines[-1] == ("Diagnosis: grad_w: the groups' weight gradients swapped: the blocks of groups (0, 1) of "
                         "grad_w hold the gradients of groups (1, 0) (the silent bug of groups > 1, pytorch#50042/"
                         "#51430) — that map reproduces it within the tolerance at the random point.")


def test_a_clipping_fn_is_rejected_at_the_scaled_points_and_by_exhaustive_probing():
    """Right on values in [−1, 1) (the first 8 points); the scaled points and the exhaustive
    check's random integers in [−2^8, 2^8) see the clipping."""
    def clipped(g, w, b):
        return torch_transpose(GROUPED, 1)(np.clip(g, -1, 1), np.clip(w, -1, 1), b)
    lines = rejected(transpose, clipped, **TOLERANCE)
    assert lines[0].endswith("y: 432 of 432 entries not within rtol=1e-05, atol=1e-06 of the transposed convolution "
                             "at random point 9, inputs scaled by 2^8 (seed 5; seed= repeats it).")
    assert lines[-1].startswith("Diagnosis: none of the recognised faults") and lines[-1].endswith(
        "reproduces the differing output within the tolerance at the random point.")
    assert rejected(transpose, clipped, exhaustive=True) == [
        f"{TRANSPOSE} (found by exact probing): it is not of degree ≤ 2 with products of g·w only: the polynomial "
        f"read off does not reproduce fn at random integers in [−2^8, 2^8) (2 points) (seed 5; fn may be nonlinear, "
        f"clip, stateful or random)"]


def test_a_backward_wrong_on_the_second_sample_of_a_batch_is_rejected():
    def second(x, w, g):
        grad_x, grad_w, grad_b = torch_backward(GROUPED)(x, w, g)
        grad_x = grad_x.copy()
        grad_x[1:] = grad_x[1:, :, ::-1]
        return grad_x, grad_w, grad_b
    lines = rejected(gradients, second, **TOLERANCE)
    assert lines[0].endswith("grad_x: 160 of 300 entries not within rtol=1e-05, atol=1e-06 of the backward pass at "
                             "random point 1 (seed 5; seed= repeats it).")
    assert lines[1] == "  grad_x[1,0,0,0] = 0.7162788569610612, the backward pass gives -0.259013442819338"
    assert lines[5] == ("backward_fn's polynomial, read off by encoded probes (its outputs rounded to integers within "
                        "the tolerance), is the backward pass: the difference at the random point is backward_fn's "
                        "rounding error, beyond the tolerance, or backward_fn treats larger values or the samples of "
                        "a batch differently.")
    lines = rejected(gradients, second, exhaustive=True)   # one sample is right: the numeric trials' batch is not
    assert lines[0].startswith(f"{BACKWARD}: it passed exact probing, but not these numbers: grad_x[1,0,0,0] = ")


def test_parameter_gradients_of_the_first_sample_only_are_named_within_the_tolerance():
    def first_only(x, w, g):
        grad_x, _, grad_b = torch_backward(GROUPED)(x, w, g)
        return grad_x, torch_backward(GROUPED)(x[:1], w, g[:1])[1], grad_b
    lines = rejected(gradients, first_only, **TOLERANCE)
    assert lines[0].endswith("grad_w: 72 of 72 entries not within rtol=1e-05, atol=1e-06 of the backward pass at "
                             "random point 1 (seed 5; seed= repeats it).")
    assert lines[-1] == ("Diagnosis: grad_w: grad_w not summed over the batch: it is sample 0's alone — that map "
                         "reproduces it within the tolerance at the random point.")


# ---- refusals and argument validation ------------------------------------------------------------
def test_a_tolerance_at_which_zeros_pass_is_refused():
    def zeros(x, w, g):
        return np.zeros_like(x), np.zeros_like(w), np.zeros(GROUPED.out_channels)
    with pytest.raises(SpecError) as info:
        gradients(zeros, rtol=0.0, atol=1e3)
    assert re.fullmatch(r"atol=1000\.0: must be below the layer's outputs at the random points \(the largest "
                        r"\|grad_x\| at the first is \d\.\d+\): at this tolerance an fn returning zeros passes, so "
                        r"nothing is checked", str(info.value))
    with pytest.raises(AssertionError, match=re.escape("grad_x: 300 of 300 entries; grad_w: 72 of 72 entries; grad_b: "
                                                       "4 of 4 entries not within rtol=0.0, atol=1e-06")):
        gradients(zeros, rtol=0.0, atol=1e-6)   # negative control: a tolerance below the outputs checks
    with pytest.raises(SpecError, match=re.escape("atol=10.0: must be below the layer's outputs at the random points "
                                                  "(the largest |y| at the first is")):
        transpose(lambda g, w, b: np.zeros((len(g), 4, 6, 6)), atol=10.0)


@pytest.mark.parametrize(("options", "message"), [
    ({"mode": "symbolic", "exhaustive": True}, "exhaustive=True: applies to mode='probe' only (mode='symbolic')"),
    ({"mode": "symbolic", "rtol": 1e-5},
     "rtol=1e-05: a tolerance applies to mode='probe' without exhaustive=True only"),
    ({"mode": "probe", "rtol": -1.0}, "rtol=-1.0: must be a finite number ≥ 0 (or None for exact checking)"),
    ({"mode": "probe", "atol": "1e-5"}, "atol='1e-5': must be a finite number ≥ 0 (or None for exact checking)"),
    ({"mode": "probe", "rtol": 1.0}, "rtol=1.0: must be below 1: at rtol ≥ 1 an fn returning zeros passes"),
    ({"mode": "probe", "atol": 1e-3, "exhaustive": True},
     "atol=0.001: a tolerance applies to mode='probe' without exhaustive=True only"),
    ({"mode": "probe", "exhaustive": "yes"}, "exhaustive='yes': must be True or False"),
])
@pytest.mark.parametrize("check", ["transpose", "gradients"])
def test_the_options_are_validated_as_the_forward_checker_does(check, options, message):
    spec = ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    with pytest.raises(SpecError) as info:
        if check == "transpose":
            assert_conv_transpose_equivalent(torch_transpose(spec, 0), spec, **options)
        else:
            assert_conv_gradients_equivalent(torch_backward(spec), spec, **options)
    assert str(info.value) == message


def test_exhaustive_probing_refuses_code_that_rounds_on_zeros_and_ones():
    spec = ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    fn = torch_transpose(spec, 0, batched=False)
    with pytest.raises(NotCheckable, match=re.escape("fn returned a value that is no exact integer on inputs of 0 "
                                                     "and 1, where the transposed convolution gives exact integers: "
                                                     "it rounds (FFT-based, reduced precision?)")):
        assert_conv_transpose_equivalent(lambda g, w, b: fn(g, w, b) * (1 + 1e-12), spec, mode="probe",
                                         exhaustive=True)
    assert assert_conv_transpose_equivalent(lambda g, w, b: fn(g, w, b) * (1 + 1e-12), spec, mode="probe",
                                            rtol=1e-9).established.startswith("verified within tolerance rtol=1e-09")


# ---- the pytest fixtures pass the options on -----------------------------------------------------
def test_the_fixtures_pass_rtol_atol_and_exhaustive_on(pytester):
    pytester.makepyfile('''
        import numpy as np, pytest, symconv
        from tests.test_adjoint_tolerance import GROUPED, float32, flipped, swapped
        from tests.test_adjoint_checks import torch_backward, torch_transpose

        def test_within(conv_transpose_check, conv_gradients_check):
            r = conv_transpose_check(float32(torch_transpose(GROUPED, 1)), GROUPED, 1, mode="probe", batched=True,
                                     rtol=1e-5, atol=1e-6)
            assert r.established.startswith("verified within tolerance rtol=1e-05, atol=1e-06")
            r = conv_gradients_check(torch_backward(GROUPED), GROUPED, mode="probe", batched=True, exhaustive=True)
            assert r.established == "verified by exact probing, assuming bilinearity"

        def test_flipped(conv_transpose_check):
            conv_transpose_check(float32(flipped), GROUPED, 1, mode="probe", batched=True, rtol=1e-5, atol=1e-6)

        def test_swapped(conv_gradients_check):
            conv_gradients_check(swapped, GROUPED, mode="probe", batched=True, exhaustive=True)

        def test_refused(conv_gradients_check):
            conv_gradients_check(swapped, GROUPED, mode="symbolic", exhaustive=True)
    ''')
    result = pytester.runpytest("-q", "-p", "no:cacheprovider", "--rootdir", str(pytester.path))
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(["*(found by checking within tolerance): y: * entries not within rtol=1e-05, "
                                 "atol=1e-06 of the transposed convolution*",
                                 "*(found by exact probing): grad_w: 72 of 72 entries differ.*",
                                 "*exhaustive=True: applies to mode='probe' only (mode='symbolic')*",
                                 "symconv: 2 convolution check(s) passed (0 forward, 1 transposed, 1 backward): "
                                 "0 proved, 1 verified by probing (exact probing or randomized identity testing, "
                                 "assuming bilinearity), 1 verified within a tolerance (rtol, atol)"])
