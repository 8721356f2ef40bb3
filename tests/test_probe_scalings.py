"""Probe mode refuses code that flushes tiny or clips huge inputs and outputs anywhere in the normal
range: the "power-of-two scalings" family (x·2^a, w·2^b, exact, so a bilinear fn must return
exactly 2^(a+b) times its output on the unscaled values) runs in every check."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import symconv
from symconv.testing import ESTABLISHED, assert_conv_equivalent, trials
from symconv.testing.trials import SCALINGS, _draw, _exact_plan

SPEC = symconv.ConvSpec(1, 1, kernel_size=3, input_size=6, bias=False)
SPEC_2D = symconv.ConvSpec(2, 3, kernel_size=3, input_size=(5, 5), padding=1)
SEEDS = (0, 1, 2)
FAMILY = "fn differs from the layer at a random exact input (power-of-two scalings: "


def conv1d(x, w, b):
    """The layer in the arrays' own dtype (float64 or float32)."""
    bt = None if b is None else torch.from_numpy(np.asarray(b))
    return F.conv1d(torch.from_numpy(np.asarray(x))[None], torch.from_numpy(np.asarray(w)), bt)[0].numpy()


def conv2d(x, w, b):
    bt = None if b is None else torch.from_numpy(np.asarray(b))
    return F.conv2d(torch.from_numpy(np.asarray(x))[None], torch.from_numpy(np.asarray(w)), bt,
                    padding=1)[0].numpy()


def flush_w(x, w, b):
    return conv1d(x, np.where(np.abs(w) < 1e-7, 0 * w, w), b)


def flush_y(x, w, b):
    y = conv1d(x, w, b)
    return np.where(np.abs(y) < 1e-17, 0 * y, y)


def big_w(x, w, b):
    return conv1d(x, np.clip(w, -2.0 ** 40, 2.0 ** 40).astype(w.dtype), b)


def big_x(x, w, b):
    return conv1d(np.clip(x, -2.0 ** 60, 2.0 ** 60).astype(x.dtype), w, b)


WRONG = {"flush_w": flush_w, "flush_y": flush_y, "big_w": big_w, "big_x": big_x}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", WRONG)
def test_probe_refuses_flushing_and_clipping_code_naming_the_scalings(name, seed):
    """In the plan's own order: no earlier trial reaches these thresholds."""
    with pytest.raises(AssertionError, match=re.escape(FAMILY)) as caught:
        assert_conv_equivalent(WRONG[name], SPEC, mode="probe", seed=seed)
    assert f"seed {seed}," in str(caught.value)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("fn", "spec"), [(conv1d, SPEC), (conv2d, SPEC_2D)])
def test_probe_still_verifies_correct_float64_and_float32_code(fn, spec, seed):
    result = assert_conv_equivalent(fn, spec, mode="probe", seed=seed)
    assert result.established == ESTABLISHED["probe"]


def test_every_scaling_is_in_the_plan_once_and_exact_in_its_dtype():
    """x = m·2^a, w = m'·2^b are exact, and the float layer's output is exactly 2^(a+b) times the
    integer reference, at every chosen (a, b), float64 and float32, with a bias."""
    rng = np.random.default_rng(7)
    family = [t for t in _exact_plan(SPEC_2D) if t.pattern == "scaled"]
    assert [(t.dtype, (-t.fx, -t.fw)) for t in family] == [(d, s) for d in SCALINGS for s in SCALINGS[d]]
    assert all(t.name.startswith(trials.MAGNITUDES["scaled"]) for t in family)
    for trial in family:
        X, W, B = _draw(rng, SPEC_2D, trial, 1)
        assert (X != 0).all() and (W != 0).all() and (B != 0).all()
        x, w = (X * 2.0 ** -trial.fx).astype(trial.dtype), (W * 2.0 ** -trial.fw).astype(trial.dtype)
        b = (B * 2.0 ** -(trial.fx + trial.fw)).astype(trial.dtype)
        assert np.array_equal(x.astype(object) * 2 ** trial.fx, X.astype(object))   # x is exact
        assert np.array_equal(w.astype(object) * 2 ** trial.fw, W.astype(object))   # w is exact
        reference = symconv.forms.conv(SPEC_2D, X[0].astype(object), W.astype(object), B.astype(object))
        scale = Fraction(2) ** -(trial.fx + trial.fw)
        obtained = [Fraction(*float(v).as_integer_ratio()) for v in conv2d(x[0], w, b).ravel()]
        assert obtained == [int(r) * scale for r in reference.ravel()]   # every product and sum exact
        assert np.abs(x).min() >= np.finfo(trial.dtype).tiny   # normal: nothing underflows


def test_the_exact_comparison_holds_at_huge_scales():
    """Expected values are reference·2^(a+b) as Fractions (scale 2^-(a+b)): 2^70 is matched exactly,
    2^70 + 2^18 (a distinct float64) is refused."""
    one = np.full(SPEC.output_shape, 1, dtype=object)
    trials._compare_exact(SPEC, "probe", np.full(SPEC.output_shape, 2.0 ** 70), one, Fraction(1, 2 ** 70), "s", 0)
    with pytest.raises(AssertionError, match="differs"):
        trials._compare_exact(SPEC, "probe", np.full(SPEC.output_shape, 2.0 ** 70 + 2.0 ** 18), one,
                              Fraction(1, 2 ** 70), "s", 0)
