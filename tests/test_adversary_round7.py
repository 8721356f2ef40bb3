"""Round 7 of the adversarial review: the checkers of other people's code (issue 13).

Each case passed as "proved" or "verified" (or crashed) before this round: a backward pass that
sums parameter gradients over the first two samples only, code that rounds at integer points
being called unverifiable instead of wrong, tolerance mode without a tolerance, float tricks that
are exact on every value of at most ~40 significant bits, and fast-path tracebacks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import symconv
from symconv.errors import SpecError
from symconv.testing import (
    NotCheckable,
    assert_conv_equivalent,
    assert_conv_gradients_equivalent,
)

TINY = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)   # y[j] = w0·x[j] + w1·x[j+1]
LAYER = symconv.ConvSpec(3, 4, 3, (8, 8), padding=1)


def _tensor(a):
    return None if a is None else torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


def _conv(x, w, b):
    return F.conv2d(_tensor(x)[None], _tensor(w), _tensor(b), padding=1)[0].numpy()


def _backward_first_two(x, w, g):
    """Batched backward of TINY whose grad_w sums the first two samples only."""
    gx = np.zeros(x.shape, dtype=object if x.dtype == object else float)
    gw = np.zeros((1, 1, 2), dtype=gx.dtype)
    for n in range(len(x)):
        for j in range(2):
            gx[n, 0, j] += w[0, 0, 0] * g[n, 0, j]
            gx[n, 0, j + 1] += w[0, 0, 1] * g[n, 0, j]
    for n in range(min(len(x), 2)):   # the bug
        for j in range(2):
            gw[0, 0, 0] += g[n, 0, j] * x[n, 0, j]
            gw[0, 0, 1] += g[n, 0, j] * x[n, 0, j + 1]
    return gx, gw, None


@pytest.mark.parametrize("mode", ["symbolic", "probe"])
def test_a_batch_sum_cut_after_two_samples_is_refuted(mode):
    with pytest.raises(AssertionError, match="grad_w"):
        assert_conv_gradients_equivalent(_backward_first_two, TINY, batched=True, mode=mode)


def test_half_the_layer_is_a_counterexample_not_rounding():
    with pytest.raises(AssertionError, match=r"fn does not compute the layer: it returned y\[.*\] = .* on integer "
                                             r"inputs .*if fn rounds by design"):
        assert_conv_equivalent(lambda x, w, b: 0.5 * _conv(x, w, b), LAYER, mode="probe")


def test_no_tolerance_is_the_exact_check_with_its_line_test():
    clipped = lambda x, w, b: _conv(np.clip(x, -1, 1), w, b)  # noqa: E731 - not bilinear
    with pytest.raises(AssertionError):
        assert_conv_equivalent(clipped, LAYER, mode="probe", rtol=0, atol=0)


@pytest.mark.parametrize("rtol, rule", [(1, "must be below 1"), (10**400, "must be a finite number")])
def test_tolerances_that_check_nothing_or_overflow_are_refused(rtol, rule):
    with pytest.raises(SpecError, match=f"rtol=.*{rule}"):
        assert_conv_equivalent(_conv, LAYER, mode="probe", rtol=rtol)


def test_a_layer_too_large_to_probe_is_refused_up_front():
    with pytest.raises(SpecError, match="probing holds about .* GiB .* more than PROBE_MEMORY"):
        assert_conv_equivalent(_conv, symconv.ConvSpec(1, 1, 3, (20000, 20000), bias=False), mode="probe")


def _residue(x, w, b):
    """w + (w − (3w)/3)·2^60: w in exact arithmetic; far off for about 1 in 7 float64 weights."""
    v = w[:, :, 0]
    return (v + (v - (v * 3.0) / 3.0) * 2.0**60) * x


def _float16_residue(x, w, b):
    """w·x with w + ((2048·w + w − 2048·w) − w)·2^60: exact in rationals and at ≤ 41-bit weights."""
    c = np.float16(2048)
    tap = lambda v: v + ((v * c + v - v * c) - v) * 2.0**60  # noqa: E731
    return np.array([[[sum(tap(w[0, ch, p, q]) * x[ch, i + p, j + q] for ch in range(2) for p in range(3)
                           for q in range(3)) for j in range(3)] for i in range(3)]])


@pytest.mark.parametrize("mode", ["symbolic", "probe"])
@pytest.mark.parametrize("fn, spec", [(_residue, symconv.ConvSpec(1, 1, kernel_size=1, input_size=1, bias=False)),
                                      (_float16_residue, symconv.ConvSpec(2, 1, 3, (5, 5), bias=False))])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_float_tricks_exact_below_53_bits_are_refuted_by_full_significand_trials(fn, spec, mode, seed):
    with pytest.raises(AssertionError, match="full-significand"):
        assert_conv_equivalent(fn, spec, mode=mode, seed=seed)


def test_an_output_the_fast_path_cannot_convert_is_named_not_a_traceback():
    class Lazy:
        def __array__(self, *args, **kwargs):
            raise RuntimeError("lazy tensor not materialised")
    with pytest.raises(NotCheckable, match="not an array"):
        assert_conv_equivalent(lambda x, w, b: Lazy(), symconv.ConvSpec(1, 1, kernel_size=3, input_size=6, bias=False))
