"""assert_conv_equivalent on convolution code nobody here wrote.

On symbols (proved): numpy's ``np.correlate`` / ``np.convolve`` with ``np.pad`` (1-D, every
padding mode, stride, dilation, groups), scipy's ``scipy.signal.correlate(method="direct")``
(1-D), and a 2-D layer made of numpy's ``sliding_window_view`` + ``np.einsum`` — all three run on
object arrays. Probed (verified, assuming bilinearity): ``torch.nn.functional.conv1d/2d/3d``,
``scipy.signal.correlate2d`` / ``convolve2d`` and ``scipy.ndimage.correlate``, which only take
floats. The wrappers below only loop over channels and slice; every product and sum is the
library's. Each implementation is also broken on purpose (kernel flipped, kernel axes
transposed, padding on the wrong side) and must be rejected with the right diagnosis.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view

from symconv import ConvSpec
from symconv.testing import ESTABLISHED, assert_conv_equivalent, trials
from tests.test_testing import one_torch_thread  # noqa: F401  (autouse)

PROBED = ESTABLISHED["probe"]   # randomized identity testing
NUMPY_PAD = {"zeros": "constant", "circular": "wrap", "reflect": "reflect", "replicate": "edge"}
NDIMAGE_MODE = {"zeros": "constant", "circular": "wrap", "reflect": "mirror", "replicate": "nearest"}
TORCH_PAD = {"zeros": "constant", "circular": "circular", "reflect": "reflect",
             "replicate": "replicate"}
FAULTS = {  # planted fault -> the diagnosis it must get
    "flip": "Diagnosis: kernel flipped",
    "transpose": "Diagnosis: kernel axes transposed",
    "pad-side": "Diagnosis: padding on the wrong side",
}


def planted(spec: ConvSpec, fault: str | None, w):
    """The weight (C_out, C_in/g, *k) and (before, after) pads an implementation with ``fault`` uses."""
    pads = spec.padding
    if fault == "flip":
        w = w[(..., *[slice(None, None, -1)] * spec.dims)]
    elif fault == "transpose":
        w = np.swapaxes(w, -1, -2)
    elif fault == "pad-side":
        pads = tuple((after, before) for before, after in pads)
    return w, pads


def rejected(fn, spec: ConvSpec, fault: str, **options) -> str:
    """fn must fail with the diagnosis of ``fault``; returns the message."""
    with pytest.raises(AssertionError) as error:
        assert_conv_equivalent(fn, spec, **options)
    message = str(error.value)
    assert FAULTS[fault] in message, message
    assert message.startswith("fn does not compute the convolution")
    return message


# ---- numpy / scipy on symbols ---------------------------------------------------------------
def numpy_1d(spec: ConvSpec, fault: str | None = None, correlate=np.correlate):
    """y[o] = b[o] + Σ_c correlate(pad(x[c]), dilated w[o, c], 'valid')[::s] for NCHW 1-D."""
    (s,), (d,) = spec.stride, spec.dilation

    def fn(x, w, b):
        w, pads = planted(spec, fault, w)
        xp = np.pad(x, ((0, 0), *pads), mode=NUMPY_PAD[spec.padding_mode])
        y = []
        for o in range(spec.out_channels):
            first = spec.group_of(o) * spec.in_per_group
            taps = [dilated(w[o, c], d) for c in range(spec.in_per_group)]
            y.append(sum(correlate(xp[first + c], taps[c], "valid")[::s]
                         for c in range(spec.in_per_group)) + (0 if b is None else b[o]))
        return np.array(y)

    return fn


def dilated(kernel, d: int):
    """A 1-D kernel with d − 1 zeros between taps (what dilation means)."""
    out = np.zeros(d * (len(kernel) - 1) + 1, dtype=kernel.dtype)
    out[::d] = kernel
    return out


def numpy_windows_2d(spec: ConvSpec, fault: str | None = None):
    """y[o, i, j] = b[o] + Σ_{c,p,q} windows[c, i, j, p, q] · w[o, c, p, q] (groups = 1):
    numpy's sliding_window_view over the padded input, strided and dilated by slicing."""
    (s1, s2), (d1, d2) = spec.stride, spec.dilation

    def fn(x, w, b):
        w, pads = planted(spec, fault, w)
        xp = np.pad(x, ((0, 0), *pads), mode=NUMPY_PAD[spec.padding_mode])
        span = tuple(d * (k - 1) + 1 for k, d in zip(w.shape[2:], spec.dilation))
        windows = sliding_window_view(xp, span, axis=(1, 2))[:, ::s1, ::s2, ::d1, ::d2]
        y = np.einsum("cijpq,ocpq->oij", windows, w)
        return y if b is None else y + b[:, None, None]

    return fn


def scipy_direct_1d(spec: ConvSpec, fault: str | None = None):
    return numpy_1d(spec, fault, lambda a, v, mode: scipy.signal.correlate(a, v, mode, method="direct"))


SPECS_1D = [
    ConvSpec(2, 3, 3, 7),
    ConvSpec(2, 2, 2, 6, stride=2, padding=((1, 0),)),
    ConvSpec(1, 2, 3, 8, dilation=2, padding=2, bias=False),
    ConvSpec(4, 2, 2, 5, groups=2, padding=1, padding_mode="circular"),
    ConvSpec(1, 1, 3, 5, padding=(2,), padding_mode="reflect"),
    ConvSpec(2, 1, 3, 4, stride=2, padding=((3, 1),), padding_mode="replicate"),
]
SPECS_2D = [
    ConvSpec(2, 3, 3, (5, 5)),
    ConvSpec(1, 2, (2, 3), (6, 5), stride=(2, 1), padding=((1, 0), (0, 2)), bias=False),
    ConvSpec(2, 1, 2, (6, 6), dilation=(2, 1), padding=1, padding_mode="reflect"),
    ConvSpec(1, 1, 3, (4, 5), padding=(1, 2), padding_mode="circular"),
]


@pytest.mark.parametrize("implementation", [numpy_1d, scipy_direct_1d])
@pytest.mark.parametrize("spec", SPECS_1D, ids=ConvSpec.describe)
def test_numpy_and_scipy_correlate_on_symbols_are_proved(implementation, spec):
    result = assert_conv_equivalent(implementation(spec), spec)
    assert result.established == "proved" and result.terms == spec.n_terms + spec.n_bias_terms


@pytest.mark.parametrize("spec", SPECS_2D, ids=ConvSpec.describe)
def test_numpy_sliding_windows_on_symbols_are_proved(spec):
    assert assert_conv_equivalent(numpy_windows_2d(spec), spec).established == "proved"


def test_numpy_convolve_is_true_convolution():
    spec = ConvSpec(2, 2, 3, 7, padding=((2, 1),))
    convolve = numpy_1d(spec, correlate=np.convolve)
    flipped = ConvSpec(2, 2, 3, 7, padding=((2, 1),), convention="convolution")
    assert assert_conv_equivalent(convolve, flipped).established == "proved"
    message = rejected(convolve, spec, "flip")
    assert ("kernel flipped: fn computes true convolution (the kernel mirrored on every axis), "
            "the spec says cross-correlation") in message


@pytest.mark.parametrize("fault", ["flip", "pad-side"])
@pytest.mark.parametrize("implementation", [numpy_1d, scipy_direct_1d])
def test_broken_1d_correlations_on_symbols_are_diagnosed(implementation, fault):
    spec = ConvSpec(2, 2, 3, 6, padding=((2, 0),))
    rejected(implementation(spec, fault), spec, fault)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_broken_sliding_windows_on_symbols_are_diagnosed(fault):
    spec = ConvSpec(2, 2, 3, (5, 6), padding=((1, 0), (2, 1)))
    message = rejected(numpy_windows_2d(spec, fault), spec, fault)
    assert message.count("Diagnosis:") == 1


# ---- torch, probed --------------------------------------------------------------------------
def torch_layer(spec: ConvSpec, fault: str | None = None):
    """F.pad + F.conv{1,2,3}d on a batch, in the spec's layout (NHWC: x (N, *in, C), w HWIO)."""
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[spec.dims]
    nhwc = spec.layout == "NHWC"
    first = (0, spec.dims + 1, *range(1, spec.dims + 1))    # (N, *in, C) -> (N, C, *in)
    last = (0, *range(2, spec.dims + 2), 1)                   # (N, C, *out) -> (N, *out, C)

    def fn(x, w, b):
        x, w = torch.from_numpy(x), torch.from_numpy(w)
        if nhwc:
            x, w = x.permute(*first), w.permute(spec.dims + 1, spec.dims, *range(spec.dims))
        w, pads = planted(spec, fault, w.numpy())
        flat = [p for pair in reversed(pads) for p in pair]   # F.pad wants the last axis first
        x = F.pad(x, flat, mode=TORCH_PAD[spec.padding_mode]) if any(flat) else x
        y = conv(x, torch.from_numpy(w.copy()), None if b is None else torch.from_numpy(b),
                 stride=spec.stride, dilation=spec.dilation, groups=spec.groups)
        return (y.permute(*last) if nhwc else y).numpy()

    return fn


TORCH_SPECS = [
    ConvSpec(4, 2, 3, 9, stride=2, padding=1, groups=2),
    ConvSpec(2, 3, (3, 2), (6, 5), stride=(1, 2), padding=((2, 0), (1, 1)), dilation=(1, 2)),
    ConvSpec(2, 2, 3, (5, 5), padding=1, padding_mode="reflect", layout="NHWC"),
    ConvSpec(1, 2, 2, (4, 4), padding=(1, 2), padding_mode="circular", bias=False),
    ConvSpec(2, 2, 3, (4, 4), padding=2, padding_mode="replicate", groups=2),
    ConvSpec(1, 2, (2, 2, 3), (3, 4, 4), stride=(1, 1, 2), padding=(1, 0, 1)),
]


@pytest.mark.parametrize("spec", TORCH_SPECS, ids=ConvSpec.describe)
def test_torch_conv_is_verified_by_probing(spec):
    result = assert_conv_equivalent(torch_layer(spec), spec, mode="probe", batched=True)
    assert result.established == PROBED
    assert result.terms == spec.n_terms + spec.n_bias_terms


def test_torch_needs_probe_mode():
    spec = TORCH_SPECS[1]
    with pytest.raises(TypeError, match="use mode='probe'"):
        assert_conv_equivalent(lambda x, w, b: torch_layer(spec)(x[None], w, b)[0], spec)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_broken_torch_layers_are_diagnosed(fault, layout):
    spec = ConvSpec(2, 3, 3, (5, 6), padding=((1, 0), (0, 2)), layout=layout)
    rejected(torch_layer(spec, fault), spec, fault, mode="probe", batched=True)


# ---- scipy.signal.correlate2d / convolve2d and scipy.ndimage.correlate, probed ------------------
def scipy_2d(spec: ConvSpec, op=scipy.signal.correlate2d, mode: str = "valid",
             boundary: str = "fill", fault: str | None = None):
    """y[o] = b[o] + Σ_c op(x[c], w[o, c], mode, boundary); ``mode="pad"`` zero-pads with
    np.pad by the spec's (before, after) pairs first and runs op 'valid'."""
    def fn(x, w, b):
        w, pads = planted(spec, fault, w)
        if mode == "pad":
            x, used = np.pad(x, ((0, 0), *pads)), "valid"
        else:
            used = mode
        y = [sum(op(x[c], w[o, c], mode=used, boundary=boundary) for c in range(spec.in_channels))
             + (0 if b is None else b[o]) for o in range(spec.out_channels)]
        return np.array(y)

    return fn


def ndimage_2d(spec: ConvSpec, op=scipy.ndimage.correlate, fault: str | None = None):
    """y[o] = b[o] + Σ_c op(x[c], w[o, c], mode) — ndimage keeps the input size ('same')."""
    def fn(x, w, b):
        w, _ = planted(spec, fault, w)
        mode = NDIMAGE_MODE[spec.padding_mode]
        x = x.astype(np.result_type(x, w))   # ndimage's output takes the input's dtype (uint8 images)
        y = [sum(op(x[c], w[o, c], mode=mode) for c in range(spec.in_channels))
             + (0 if b is None else b[o]) for o in range(spec.out_channels)]
        return np.array(y)

    return fn


SCIPY_CASES = [  # (spec, mode, boundary)
    (ConvSpec(2, 2, 3, (4, 5)), "valid", "fill"),
    (ConvSpec(1, 2, (2, 3), (4, 4), padding=(1, 2), bias=False), "full", "fill"),
    (ConvSpec(2, 1, 3, (5, 4), padding="same"), "same", "fill"),
    (ConvSpec(1, 1, 3, (4, 5), padding=1, padding_mode="circular"), "same", "wrap"),
    (ConvSpec(1, 2, 3, (5, 5), padding=((2, 0), (1, 0))), "pad", "fill"),
]


@pytest.mark.parametrize("spec, mode, boundary", SCIPY_CASES,
                         ids=[f"{m}-{b}" for _, m, b in SCIPY_CASES])
def test_scipy_correlate2d_is_verified_by_probing(spec, mode, boundary):
    result = assert_conv_equivalent(scipy_2d(spec, mode=mode, boundary=boundary), spec, mode="probe")
    assert result.established == PROBED


@pytest.mark.parametrize("spec, mode, boundary", SCIPY_CASES,
                         ids=[f"{m}-{b}" for _, m, b in SCIPY_CASES])
def test_scipy_convolve2d_is_true_convolution(spec, mode, boundary):
    convolve = scipy_2d(spec, scipy.signal.convolve2d, mode, boundary)
    true = replace(spec, convention="convolution")
    assert assert_conv_equivalent(convolve, true, mode="probe").established == PROBED
    message = rejected(convolve, spec, "flip", mode="probe")
    assert ("Diagnosis: kernel flipped: fn computes true convolution (the kernel mirrored on "
            "every axis), the spec says cross-correlation — that layer reproduces fn's output "
            "exactly.") in message


@pytest.mark.parametrize("fault", list(FAULTS))
def test_broken_scipy_correlate2d_is_diagnosed(fault):
    spec = ConvSpec(1, 2, 3, (5, 5), padding=((2, 0), (1, 0)))
    rejected(scipy_2d(spec, mode="pad", fault=fault), spec, fault, mode="probe")


def ndimage_verdict(fn, spec: ConvSpec, monkeypatch) -> str:
    """A real difference found by probing: scipy.ndimage skips weights with |w| ≤ DBL_EPSILON (2^-52),
    so the power-of-two scaling of w by 2^-60 refutes it; with the tiny-w scalings (and the
    full-significand trials at those scalings) set aside, the verdict on the rest (its index and
    padding semantics)."""
    with pytest.raises(AssertionError, match=re.escape("(power-of-two scalings: x = m·2^0, w = m'·2^-60,")):
        assert_conv_equivalent(fn, spec, mode="probe")
    plan = trials._exact_plan
    monkeypatch.setattr(trials, "_exact_plan", lambda s: [t for t in plan(s) if not (
        t.pattern == "scaled" and t.fw > 0 or ", w·2^-" in t.name)])
    return assert_conv_equivalent(fn, spec, mode="probe").established


@pytest.mark.parametrize("padding_mode", list(NDIMAGE_MODE))
def test_scipy_ndimage_correlate_is_verified_by_probing(padding_mode, monkeypatch):
    spec = ConvSpec(2, 2, 3, (4, 5), padding="same", padding_mode=padding_mode)
    assert ndimage_verdict(ndimage_2d(spec), spec, monkeypatch) == PROBED


@pytest.mark.parametrize("fault", ["flip", "transpose"])
def test_broken_scipy_ndimage_correlate_is_diagnosed(fault):
    spec = ConvSpec(1, 1, 3, (5, 5), padding="same")
    rejected(ndimage_2d(spec, fault=fault), spec, fault, mode="probe")


def test_scipy_ndimage_centres_even_kernels_unlike_torch(monkeypatch):
    """A real difference found by probing: for an even kernel torch's padding='same' pads the
    extra row/column after, scipy.ndimage before."""
    spec = ConvSpec(1, 1, 2, (4, 5), padding="same", bias=False)
    message = rejected(ndimage_2d(spec), spec, "pad-side", mode="probe")
    assert ("Diagnosis: padding on the wrong side: fn pads ((1, 0), (1, 0)), mirrored; the spec "
            "pads ((0, 1), (0, 1)) (before, after) per axis") in message
    before = ConvSpec(1, 1, 2, (4, 5), padding=((1, 0), (1, 0)), bias=False)
    assert ndimage_verdict(ndimage_2d(before), before, monkeypatch) == PROBED
