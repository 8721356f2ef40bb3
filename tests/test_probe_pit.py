"""Probe mode by randomized identity testing (symconv.testing.pit) and its Target
(symconv.testing.targets): torch layers of every class pass with a false-pass bound ≤ 2^-64,
wrong ones (one coefficient suffices) and non-bilinear ones are rejected with a counterexample,
narrow output dtypes narrow the sample set or are refused, and the verdict agrees with the
exhaustive one-hot probing."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from fractions import Fraction
from math import prod

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symconv import ConvSpec, conv
from symconv.deadline import Deadline
from symconv.errors import SpecError
from symconv.testing import ESTABLISHED, NotCheckable, assert_conv_equivalent
from symconv.testing.pit import PitPlan, identity_test
from symconv.testing.targets import conv_exact, forward_target, transpose_exact, weight_gradient_exact

from .strategies import GRID_SPECS, conv_specs
from .torch_reference import torch_conv

BOUND = Fraction(1, 2**64)
PIT = "verified by randomized identity testing (false-pass probability ≤ 2^-64), assuming fn is bilinear"


def by_torch(spec: ConvSpec, batched: bool = False, change=None):
    """torch's layer in the spec's layout; ``change(x, w, b, y)`` may alter y (a fault)."""
    def fn(x, w, b):
        y = torch_conv(spec, x, w, b)
        return y if change is None else change(x, w, b, y)
    return fn


def probe(fn, spec, **options):
    return assert_conv_equivalent(fn, spec, mode="probe", **options)


LAYER = ConvSpec(4, 4, 3, (9, 9), padding=1, groups=2)


# ---- passes --------------------------------------------------------------------------------------
SPECS = [GRID_SPECS[i] for i in (1, 3, 4, 6, 8, 12, 13)] + [
    ConvSpec(4, 4, 3, (7, 6), stride=2, padding=1, dilation=(1, 2), groups=2, layout="NHWC")]


@pytest.mark.parametrize("spec, batched", [(spec, k % 2 == 0) for k, spec in enumerate(SPECS)],
                         ids=lambda s: s.describe() if isinstance(s, ConvSpec) else str(s))
def test_torch_layers_pass_with_the_bound(spec, batched):
    result = probe(by_torch(spec), spec, batched=batched, seed=7)
    assert result.established == PIT == ESTABLISHED["probe"]
    assert result.false_pass_bound is not None and result.false_pass_bound <= BOUND
    assert result.cross_checks > 0   # the random exact trials ran after the identity test


def test_exhaustive_keeps_one_hot_probing():
    spec = GRID_SPECS[1]
    result = probe(by_torch(spec), spec, exhaustive=True)
    assert (result.established, result.false_pass_bound) == ("verified by exact probing, assuming bilinearity", None)
    with pytest.raises(SpecError, match=r"^exhaustive='yes': "):
        probe(by_torch(spec), spec, exhaustive="yes")


def test_the_plan_fills_the_significand():
    """terms·4^a ≤ 2^bits with a maximal, trials = ⌈64/a⌉, and a float16 sum too long is refused."""
    for dtype, terms in (("float64", 577), ("float32", 577), ("float32", 10), ("float16", 10), ("int32", 28)):
        plan = PitPlan.for_dtype(dtype, terms)
        assert terms * 4 ** plan.value_bits <= 2 ** plan.bits < terms * 4 ** (plan.value_bits + 1)
        assert plan.exponent >= 64 and plan.trials == -(-64 // plan.value_bits)
    with pytest.raises(NotCheckable, match="float16, whose 11-bit significand"):
        PitPlan.for_dtype("float16", 577)
    with pytest.raises(NotCheckable, match="uint8 outputs"):
        PitPlan.for_dtype("uint8", 9)


@pytest.mark.parametrize("output, refusal", [
    (lambda y: y + 0.5j * y, "fn returned a complex output"), (lambda y: y * np.nan, "(not a number)"),
    (lambda y: None, "fn returned None on the probe input (all operands 0, seed "),
    (lambda y: y > 0, "not real numbers")])
def test_outputs_that_are_no_real_array_are_refused(output, refusal):
    with pytest.raises(NotCheckable, match=re.escape(refusal)):
        probe(lambda x, w, b: output(torch_conv(LAYER, x, w, b)), LAYER)


def test_an_error_of_fn_and_the_deadline_verify_nothing():
    def picky(x, w, b):
        if np.abs(w).max() > 3:
            raise ValueError("weights must be small")
        return torch_conv(LAYER, x, w, b)
    with pytest.raises(NotCheckable, match=r"fn raised ValueError\('weights must be small'\) on the probe input "
                                           r"\(the line p \+ t·d through 0, t = 1") as error:
        probe(picky, LAYER)
    assert isinstance(error.value.__cause__, ValueError)

    def slow(x, w, b):
        time.sleep(0.05)
        return torch_conv(LAYER, x, w, b)
    with pytest.raises(NotCheckable, match=r"^probing did not finish within deadline=0\.1 s: \d+ calls of fn made"):
        probe(slow, LAYER, deadline=0.1)


# ---- negative controls -----------------------------------------------------------------------------
def rejected(fn, spec=LAYER, **options) -> str:
    with pytest.raises(AssertionError) as error:
        probe(fn, spec, **options)
    return str(error.value)


def test_flipped_kernel_is_rejected():
    flipped = replace(LAYER, convention="convolution")
    message = rejected(by_torch(flipped), batched=True)
    assert "y[" in message and "kernel flipped" in message


def test_padding_on_the_wrong_side_is_rejected_at_a_size_where_probing_every_coefficient_is_slow():
    spec = ConvSpec(8, 8, 3, (16, 16), padding=1)
    shifted = replace(spec, padding=((0, 2), (0, 2)))
    message = rejected(by_torch(shifted, True), spec, batched=True)
    assert "(found by randomized identity testing)" in message and "the convolution gives" in message
    assert "fn pads everything after" in message


def test_padding_off_by_one_is_rejected():
    wider = replace(LAYER, padding=2)
    message = rejected(by_torch(wider))
    assert "fn returned shape (4, 11, 11), the output shape is (4, 9, 9)" in message
    assert "padding off by +1" in message


def test_swapped_groups_are_rejected():
    def swapped(x, w, b):
        return torch_conv(LAYER, x, np.concatenate([w[2:], w[:2]]), b)
    assert "outputs differ" in rejected(swapped)


def test_one_wrong_coefficient_at_one_output_far_from_the_border_is_rejected():
    """fn = the layer + x[1, 4, 4]·w[1, 1, 1, 1] at y[1, 4, 4] only: one coefficient 2 for 1."""
    spec = ConvSpec(2, 2, 3, (9, 9), padding=1)

    def once_more(x, w, b, y):
        y = y.copy()
        y[..., 1, 4, 4] += x[..., 1, 4, 4] * w[1, 1, 1, 1]
        return y
    message = rejected(by_torch(spec, change=once_more), spec, batched=True)
    assert "1 of 162 outputs differ" in message
    assert "y[1,4,4] has the extra terms w_{1,1,1,1}·x_{1,4,4}" in message


@pytest.mark.parametrize("seed", range(4))
def test_one_wrong_coefficient_is_found_at_every_seed(seed):
    spec = ConvSpec(2, 2, 3, (9, 9), padding=1, bias=False)

    def once_more(x, w, b, y):
        y = y.copy()
        y[1, 4, 4] += x[0, 4, 4] * w[1, 0, 1, 1]
        return y
    with Deadline(60) as limit:
        outcome = identity_test(by_torch(spec, change=once_more), forward_target(spec), False, limit,
                                np.random.default_rng(seed), seed)
    difference = outcome.difference
    assert difference is not None and np.argwhere(difference.obtained[0] != difference.expected[0]).tolist() == [
        [0, 1, 4, 4]]


def test_clipping_large_outputs_is_not_bilinear():
    def clipped(x, w, b):
        return np.clip(torch_conv(LAYER, x, w, b), -100, 100)
    assert "not bilinear" in rejected(clipped)


def test_squaring_large_weights_is_not_bilinear():
    def squares(x, w, b):
        return torch_conv(LAYER, x, np.where(np.abs(w) > 3, w * np.abs(w), w), b)
    message = rejected(squares)
    assert "third difference" in message and "not bilinear" in message


def test_float32_outputs_narrow_the_sample_set():
    spec = ConvSpec(8, 8, 3, (6, 6), padding=1)   # 73 terms: float64's range would round in float32

    def single(x, w, b):
        return torch_conv(spec, x, w, b).astype(np.float32)
    with Deadline(60) as limit:
        outcome = identity_test(single, forward_target(spec), False, limit, np.random.default_rng(1), 1)
    assert outcome.difference is None and outcome.plan.dtype == "float32"
    assert outcome.plan.value_bits == 8 and Fraction(1, 2 ** outcome.plan.exponent) <= BOUND

    def rounds_but_returns_float64(x, w, b):
        return single(x, w, b).astype(np.float64)
    with pytest.raises((AssertionError, NotCheckable)):
        probe(rounds_but_returns_float64, spec)


def test_float16_is_narrowed_or_refused():
    small = ConvSpec(1, 1, 3, (5, 5), bias=False)
    half = lambda spec: lambda x, w, b: torch.from_numpy(torch_conv(spec, x, w, b)).half()  # noqa: E731
    with Deadline(60) as limit:
        outcome = identity_test(half(small), forward_target(small), False, limit, np.random.default_rng(2), 2)
    assert outcome.difference is None and (outcome.plan.dtype, outcome.plan.value_bits) == ("float16", 3)
    wide = ConvSpec(16, 4, 3, (5, 5))
    with pytest.raises(NotCheckable, match="float16, whose 11-bit significand cannot hold a sum of 145"):
        probe(half(wide), wide)


# ---- agreement with the exhaustive probing --------------------------------------------------------
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=conv_specs(max_terms=150), perturb=st.booleans(), where=st.integers(0, 10**6))
def test_identity_testing_agrees_with_exhaustive_probing(spec, perturb, where):
    def fn(x, w, b):
        y = torch_conv(spec, x, w, b)
        if perturb:   # one more product w·x at one output
            y = y.copy()
            y.flat[where % y.size] += x.flat[where % x.size] * w.flat[where % w.size]
        return y
    verdicts = []
    for exhaustive in (False, True):
        try:
            probe(fn, spec, exhaustive=exhaustive)
            verdicts.append(True)
        except AssertionError:
            verdicts.append(False)
    assert verdicts == [not perturb] * 2


# ---- the exact evaluators ------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(spec=conv_specs(max_terms=400), bits=st.sampled_from([3, 30, 40]), seed=st.integers(0, 2**32))
def test_exact_evaluators_agree_with_the_definition_and_are_adjoint(spec, bits, seed):
    """conv_exact equals conv on Python ints (float64, int64 and object paths by the bits), and
    ⟨conv(x, w), g⟩ = ⟨x, transposeᵀ(g, w)⟩ = ⟨w, ∇_w(x, g)⟩ exactly."""
    rng = np.random.default_rng(seed)
    canonical = replace(spec, layout="NCHW", bias=False)
    x = rng.integers(-2**bits, 2**bits, size=canonical.input_shape)
    w = rng.integers(-2**bits, 2**bits, size=canonical.weight_shape)
    y = conv_exact(canonical, x, w)
    assert np.array_equal(y.astype(object), conv(canonical, x.astype(object), w.astype(object)))
    g = rng.integers(-2**bits, 2**bits, size=y.shape)
    inner = lambda a, c: sum(int(p) * int(q) for p, q in zip(np.ravel(a), np.ravel(c)))  # noqa: E731
    assert inner(y, g) == inner(x, transpose_exact(canonical, g, w)) == inner(w, weight_gradient_exact(canonical, x, g))


def test_forward_target_in_the_user_layout():
    spec = GRID_SPECS[4]   # NHWC, groups, replicate padding, bias
    target = forward_target(spec)
    rng = np.random.default_rng(3)
    values = {o.name: rng.integers(-9, 9, size=o.shape) for o in target.operands}
    (y,) = target.reference(values)
    assert y.shape == spec.output_shape and target.terms == spec.in_per_group * prod(spec.kernel_size) + 1
    assert np.array_equal(y, torch_conv(spec, values["x"], values["w"], values["b"]))


# ---- within a tolerance --------------------------------------------------------------------------
TOLERANT = ConvSpec(3, 4, 3, (12, 12), padding=1)


def float32_torch(spec: ConvSpec, pad=None):
    def fn(x, w, b):
        xt = torch.from_numpy(x).float()[None]
        if pad is not None:
            return F.conv2d(F.pad(xt, pad), torch.from_numpy(w).float(), torch.from_numpy(b).float())[0]
        return F.conv2d(xt, torch.from_numpy(w).float(), torch.from_numpy(b).float(), padding=1)[0]
    return fn


def fft_conv(x, w, b):
    """TOLERANT by numpy.fft: a circular convolution with the flipped kernel of x padded by 1."""
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    size = padded.shape[1:]
    spectrum = np.einsum("chw,ochw->ohw", np.fft.rfft2(padded, s=size), np.fft.rfft2(w[:, :, ::-1, ::-1], s=size))
    return np.fft.irfft2(spectrum, s=size)[:, 2:14, 2:14] + b[:, None, None]


@pytest.mark.parametrize("fn, rtol, atol", [(fft_conv, 1e-9, 1e-9), (float32_torch(TOLERANT), 1e-5, 1e-5)])
def test_rounding_code_is_verified_within_a_tolerance(fn, rtol, atol):
    with pytest.raises((AssertionError, NotCheckable)):
        probe(fn, TOLERANT)   # not exactly
    result = probe(fn, TOLERANT, rtol=rtol, atol=atol)
    assert result.established.startswith(f"verified within tolerance rtol={rtol!r}, atol={atol!r} at 8 random points")
    assert result.false_pass_bound is None


def test_tolerance_mode_still_rejects_wrong_padding_and_a_too_large_error():
    message = rejected(float32_torch(TOLERANT, (0, 2, 0, 2)), TOLERANT, rtol=1e-5, atol=1e-5)
    assert "not within rtol=1e-05, atol=1e-05" in message and "fn pads everything after" in message
    off = float32_torch(TOLERANT)
    message = rejected(lambda x, w, b: off(x, w, b) + 1e-3, TOLERANT, rtol=1e-5, atol=1e-5)
    assert "576 of 576 outputs are not within rtol=1e-05, atol=1e-05" in message


@pytest.mark.parametrize("options, error", [
    ({"rtol": -1.0}, "rtol=-1.0: must be a finite number ≥ 0"), ({"atol": float("nan")}, "atol=nan: must be"),
    ({"rtol": "1e-5"}, "rtol='1e-5': must be"),
    ({"atol": 1e-3, "exhaustive": True}, "atol=0.001: a tolerance applies")])
def test_tolerances_are_validated(options, error):
    with pytest.raises(SpecError, match=re.escape(error)):
        probe(fft_conv, TOLERANT, **options)
