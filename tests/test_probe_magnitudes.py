"""Probe mode refuses code that flushes small magnitudes or saturates large outputs: the magnitude
families of the random exact trials ("tiny magnitudes", "large magnitudes") run in every check."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import symconv
from symconv.testing import ESTABLISHED, assert_conv_equivalent, trials
from symconv.testing.trials import _draw, _exact_plan

SPEC = symconv.ConvSpec(2, 2, kernel_size=3, input_size=(6, 6), padding=1)
SEEDS = (1, 2, 3)
DIFFERS = "fn differs from the layer at a random exact input ("


def conv(x, w, b):
    """The layer in the arrays' own dtype (float64 or float32)."""
    xt, wt = torch.from_numpy(np.asarray(x)), torch.from_numpy(np.asarray(w))
    bt = None if b is None else torch.from_numpy(np.asarray(b))
    return F.conv2d(xt[None], wt, bt, padding=1)[0].numpy()


def thresholded(th):
    def fn(x, w, b):
        xt = torch.from_numpy(np.asarray(x))
        xt = torch.where(xt.abs() < th, 0 * xt, xt)
        return F.conv2d(xt[None], torch.from_numpy(np.asarray(w)),
                        None if b is None else torch.from_numpy(np.asarray(b)), padding=1)[0].numpy()
    return fn


def clipped(x, w, b):
    return np.clip(conv(x, w, b), -2 ** 40, 2 ** 40)


def flushed(x, w, b):
    return conv(np.where(np.abs(x) < 2.0 ** -30, 0 * x, x), w, b)


WRONG = {**{f"threshold {th}": (thresholded(th), "tiny magnitudes") for th in (1e-12, 1e-6, 1e-3, 0.01)},
         "clip at ±2^40": (clipped, "large magnitudes"), "flush below 2^-30": (flushed, "tiny magnitudes")}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", WRONG)
def test_probe_refuses_flushing_and_saturating_code_naming_the_family(name, seed, monkeypatch):
    """Another trial may refute the code first (integers up to 2^20 can exceed 2^40), so the
    magnitude families (always in the plan, see the last test) are moved to its front."""
    fn, family = WRONG[name]
    plan = trials._exact_plan
    monkeypatch.setattr(trials, "_exact_plan", lambda spec: sorted(plan(spec), key=lambda t: t.pattern not in
                                                                     trials.MAGNITUDES))
    with pytest.raises(AssertionError, match=re.escape(f"{DIFFERS}{family}")) as caught:
        assert_conv_equivalent(fn, SPEC, mode="probe", seed=seed, exhaustive=True)   # the trials' families
    assert f"seed {seed}," in str(caught.value)
    with pytest.raises(AssertionError):   # identity testing's large values see the clip first
        assert_conv_equivalent(fn, SPEC, mode="probe", seed=seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_probe_still_verifies_correct_float64_and_float32_code(seed):
    result = assert_conv_equivalent(conv, SPEC, mode="probe", seed=seed)
    assert result.established == ESTABLISHED["probe"]


def test_the_magnitude_families_are_exact_in_their_dtype_and_reach_their_extremes():
    rng = np.random.default_rng(5)
    families = [t for t in _exact_plan(SPEC) if t.pattern in ("tiny", "large")]
    assert [t.name.split(":")[0] for t in families] == ["tiny magnitudes"] * 2 + ["large magnitudes"]
    assert [t.dtype for t in families] == [np.float64, np.float32, np.float64]
    terms_bits = (SPEC.in_per_group * 9 + 1).bit_length()
    for trial in families:
        assert trial.ax + trial.aw + terms_bits == {np.float64: 53, np.float32: 24}[trial.dtype]
        X, W, B = _draw(rng, SPEC, trial, 1)
        x = (X / 2.0 ** trial.fx).astype(trial.dtype)
        assert np.array_equal(x.astype(object) * 2 ** trial.fx, X.astype(object))   # x is exact
        reference = symconv.forms.conv(SPEC, X[0].astype(object), W.astype(object), B.astype(object))
        y = conv(x[0], W.astype(trial.dtype), (B / 2.0 ** trial.fx).astype(trial.dtype))
        obtained = [Fraction(float(v)) * 2 ** trial.fx for v in y.ravel()]
        assert obtained == list(reference.ravel())    # every product and sum exact in the dtype
        if trial.pattern == "tiny":
            assert np.abs(x).min() <= 3 * 2.0 ** -trial.fx and np.abs(x).max() >= 1   # the extremes of the spread
        else:
            assert np.abs(y).max() > 2 ** 40
