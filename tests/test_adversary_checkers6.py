"""Adversarial round 16 against the code checkers: every fn below is wrong, and each was verified
or proved before the fix. Each test asserts the refusal and, where it matters, the trial that
found it; positive controls show that correct code still passes the new trials."""

from __future__ import annotations

import numpy as np
import pytest

import symconv
from symconv.errors import SpecError
from symconv.testing import (
    NotCheckable,
    assert_conv_equivalent,
    assert_conv_gradients_equivalent,
    assert_conv_transpose_equivalent,
)

torch = pytest.importorskip("torch")
F = torch.nn.functional
GROUPED = symconv.ConvSpec(4, 6, 3, (7, 7), padding=1, stride=2, groups=2)


def _t(a, dtype=np.float64):
    return torch.from_numpy(np.ascontiguousarray(np.asarray(a, dtype)))


def transposed(g, w, b):
    return F.conv_transpose2d(_t(g)[None], _t(w), _t(b), stride=2, padding=1, groups=2)[0].numpy()


def backward(x, w, g, parameter_samples=None):
    """torch's backward pass of GROUPED (batched); parameter gradients over the first samples only
    when ``parameter_samples`` is given."""
    xt, wt = _t(x).requires_grad_(), _t(w).requires_grad_()
    bt = torch.zeros(6, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(xt, wt, bt, stride=2, padding=1, groups=2)
    gx = torch.autograd.grad(y, xt, _t(g), retain_graph=True)[0]
    cut = slice(0, parameter_samples)
    gw, gb = torch.autograd.grad(y[cut], (wt, bt), _t(g)[cut])
    return gx.numpy(), gw.numpy(), gb.numpy()


def test_correct_transpose_and_backward_pass_the_new_trials():
    assert "verified" in str(assert_conv_transpose_equivalent(transposed, GROUPED, mode="probe"))
    assert "verified" in str(assert_conv_gradients_equivalent(backward, GROUPED, mode="probe", batched=True))


def test_transpose_staging_its_input_in_float32_is_refuted():
    def staged(g, w, b):
        return transposed(np.asarray(g, np.float64).astype(np.float32), w, b)
    with pytest.raises(AssertionError, match="full-precision g"):
        assert_conv_transpose_equivalent(staged, GROUPED, mode="probe")


def test_symbolic_transpose_staging_numbers_in_float32_is_refuted():
    spec = symconv.ConvSpec(2, 8, kernel_size=5, input_size=10, bias=False)

    def loops(g, w, b):   # exact on symbols, float32 on numbers
        if g.dtype != object:
            g = g.astype(np.float32).astype(np.float64)
        y = np.zeros((2, 10), dtype=g.dtype)
        for o in range(8):
            for c in range(2):
                for t in range(5):
                    y[c, t:t + 6] += g[o] * w[o, c, t]
        return y
    with pytest.raises(AssertionError, match="it passed symbols, but not these numbers"):
        assert_conv_transpose_equivalent(loops, spec)


def test_transpose_assuming_c_contiguous_memory_is_refuted():
    def raw(a):   # reads a's memory as if it were C-contiguous
        a = np.asarray(a, np.float64)
        return np.lib.stride_tricks.as_strided(a, (a.size,), (a.itemsize,)).reshape(a.shape).copy()

    def strided(g, w, b):
        return transposed(raw(g), raw(w), b)
    with pytest.raises(AssertionError, match="non-contiguous views"):
        assert_conv_transpose_equivalent(strided, GROUPED, mode="probe")


def test_backward_summing_parameter_gradients_over_eight_samples_is_refuted():
    with pytest.raises(AssertionError, match="a batch of 17 samples"):
        assert_conv_gradients_equivalent(lambda x, w, g: backward(x, w, g, 8), GROUPED, mode="probe", batched=True)


def test_forward_micro_batches_of_eight_are_refuted_by_the_large_identity_batch():
    """8→8 40²: the exact trials compare 3 of 17 samples there; the identity test's batch of 17
    compares all."""
    spec = symconv.ConvSpec(8, 8, 3, (40, 40), padding=1)

    def micro(x, w, b):
        parts = [F.conv2d(_t(x)[s:s + 8], _t(w).flip(-1) if s else _t(w), _t(b), padding=1)
                 for s in range(0, len(x), 8)]
        return torch.cat(parts).numpy()
    with pytest.raises(AssertionError, match="a batch of 17 samples"):
        assert_conv_equivalent(micro, spec, mode="probe", batched=True, seed=1)


def _rounded(a, bits=24):
    m, e = np.frexp(a)
    return np.ldexp(np.round(np.ldexp(m, bits)), e - bits)


@pytest.mark.parametrize("region", [lambda a: a >= 2.0**26, lambda a: (a > 0) & (a < 2.0**-9)],
                         ids=["large inputs", "tiny inputs"])
def test_inputs_rounded_to_24_bits_only_in_one_magnitude_are_refuted(region):
    spec = symconv.ConvSpec(2, 3, 3, (5, 5), padding=1)

    def fn(x, w, b):
        x = np.asarray(x, np.float64)
        x = np.where(region(np.abs(x)), _rounded(x), x)
        return F.conv2d(_t(x)[None], _t(w), _t(b), padding=1)[0].numpy()
    with pytest.raises(AssertionError, match=r"full-significand x \(53 bits\).*x·2\^"):
        assert_conv_equivalent(fn, spec, mode="probe", seed=3)


def test_symbolic_mode_sees_large_inputs_rounded_on_numbers():
    spec = symconv.ConvSpec(1, 2, kernel_size=3, input_size=8)

    def fn(x, w, b):
        if x.dtype != object:
            x = np.where(np.abs(x) >= 2.0**26, _rounded(x.astype(np.float64)), x)
        y = np.empty((2, 6), dtype=object if x.dtype == object else np.float64)
        for o in range(2):
            for j in range(6):
                y[o, j] = b[o] + sum(w[o, 0, t] * x[0, j + t] for t in range(3))
        return y
    with pytest.raises(AssertionError, match="full-significand"):
        assert_conv_equivalent(fn, spec)


@pytest.mark.parametrize("seed", range(3))
def test_tiny_outputs_kept_in_single_precision_are_refuted(seed):
    spec = symconv.ConvSpec(2, 3, 3, (6, 6), padding=1)

    def fn(x, w, b):
        y = F.conv2d(_t(x)[None], _t(w), _t(b), padding=1)[0].numpy()
        return np.where(np.abs(y) < 2.0**-10, _rounded(y), y)
    with pytest.raises(AssertionError):
        assert_conv_equivalent(fn, spec, mode="probe", seed=seed)


def test_weights_rounded_under_reflect_padding_are_refuted():
    spec = symconv.ConvSpec(2, 3, 3, (6, 6), padding=1, padding_mode="reflect")

    def fn(x, w, b):
        w = (np.asarray(w, np.float64) * 3.0) / 3.0       # an ulp off for about 1 in 7 weights
        xt = F.pad(_t(x)[None], (1, 1, 1, 1), mode="reflect")
        return F.conv2d(xt, _t(w), _t(b))[0].numpy()
    with pytest.raises(AssertionError, match="full-significand w"):
        assert_conv_equivalent(fn, spec, mode="probe", seed=5)


def test_exhaustive_probing_refuses_long_double_outputs_it_cannot_compare():
    if np.finfo(np.longdouble).nmant <= 52:
        pytest.skip("long double is float64 on this platform")

    def fn(x, w, b):
        y = np.correlate(x[0].astype(np.longdouble), w[0, 0].astype(np.longdouble))[None]
        return y * (1 + np.longdouble(2) ** -62)
    with pytest.raises(NotCheckable, match="float64 does not hold exactly"):
        assert_conv_equivalent(fn, symconv.ConvSpec(1, 1, 3, 6, bias=False), mode="probe", exhaustive=True)


@pytest.mark.parametrize("tolerance", [{"atol": 100.0}, {"atol": 1e300}, {"rtol": 0.5, "atol": 20}])
def test_a_tolerance_that_zeros_pass_is_refused(tolerance):
    spec = symconv.ConvSpec(2, 3, 3, (5, 5), padding=1)
    with pytest.raises(SpecError, match="an fn returning zeros passes"):
        assert_conv_equivalent(lambda x, w, b: np.zeros((3, 5, 5)), spec, mode="probe", **tolerance)


def test_tolerance_mode_sees_clipped_inputs_at_scaled_points():
    spec = symconv.ConvSpec(2, 3, 3, (6, 6), padding=1)

    def clipped(x, w, b):
        return F.conv2d(_t(np.clip(x, -1, 1))[None], _t(w), _t(b), padding=1)[0].numpy()
    with pytest.raises(AssertionError, match="scaled by 2\\^8"):
        assert_conv_equivalent(clipped, spec, mode="probe", rtol=1e-12)


def test_float32_code_passes_tolerance_mode_at_the_scaled_points():
    spec = symconv.ConvSpec(3, 4, 3, (8, 8), padding=1)

    def single(x, w, b):
        return F.conv2d(_t(x, np.float32)[None], _t(w, np.float32), _t(b, np.float32), padding=1)[0].numpy()
    result = str(assert_conv_equivalent(single, spec, mode="probe", rtol=1e-5, atol=1e-5))
    assert "verified within tolerance rtol=1e-05, atol=1e-05" in result and "2^±8, 2^±24" in result
