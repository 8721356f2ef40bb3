"""Probe mode's failure message at sizes where one-hot probing of every coefficient is slow: the
terms the first differing outputs lack and have instead, read by probing their receptive fields
only (symconv.testing.fieldprobe, fieldreport), within a budget; in tolerance mode with the
coefficients rounded to the exact ones where the rounding is within the tolerance, raw where not.
The verdict never depends on the diagnosis."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import symconv.testing.fieldreport as fieldreport
from symconv import ConvSpec
from symconv.deadline import Deadline
from symconv.errors import SpecError
from symconv.testing import assert_conv_equivalent
from symconv.testing.fieldprobe import Closeness, FieldProbe, Point, nearest_origin
from symconv.testing.fieldreport import polynomial
from symconv.testing.fields import entry_symbol, expected_polynomials, receptive_positions
from symconv.testing.pit import _Caller
from symconv.testing.targets import forward_target

from .torch_reference import torch_conv

SPEC = ConvSpec(8, 8, 3, (16, 16), padding=1)   # 1.2 million (x, w) pairs: far above the exhaustive threshold
TERMS = "fn's exact terms at the first {} differing output(s) nearest the origin, read by one-hot probing"


def torch_as(spec: ConvSpec, change=None):
    """torch's layer ``spec`` (batched or not, in its layout); ``change(x, w, b, y)`` may alter y."""
    def fn(x, w, b):
        y = torch_conv(spec, x, w, b)
        return y if change is None else change(x, w, b, y)
    return fn


def rejected(fn, spec: ConvSpec = SPEC, batched: bool = True, **options) -> str:
    with pytest.raises(AssertionError) as error:
        assert_conv_equivalent(fn, spec, mode="probe", batched=batched, seed=5, **options)
    return str(error.value)


def test_padding_on_the_wrong_side_lists_the_terms_and_the_diagnosis():
    message = rejected(torch_as(replace(SPEC, padding=((0, 2), (0, 2)))))
    assert "(found by randomized identity testing): 2048 of 2048 outputs differ" in message
    assert TERMS.format(3) in message
    assert ("  y[0,0,0] lacks w_{0,0,1,1}·x_{0,0,0}, w_{0,0,1,2}·x_{0,0,1}, w_{0,0,2,1}·x_{0,1,0}, "
            "w_{0,0,2,2}·x_{0,1,1} and 28 more; has w_{0,0,0,0}·x_{0,0,0}, w_{0,0,0,1}·x_{0,0,1}, "
            "w_{0,0,0,2}·x_{0,0,2}, w_{0,0,1,0}·x_{0,1,0} and 68 more instead") in message
    assert "  y[1,0,0] lacks w_{1,0,1,1}·x_{0,0,0}" in message and "  y[2,0,0] lacks" in message
    assert "Diagnosis: padding on the wrong side: fn pads everything after" in message


def test_one_wrong_tap_at_one_output():
    def tap(x, w, b, y):
        y = y.copy()
        y[..., 1, 3, 3] += x[..., 1, 3, 3] * w[1, 1, 1, 1] - x[..., 1, 3, 4] * w[1, 1, 1, 2]
        return y
    message = rejected(torch_as(SPEC, tap))
    assert "1 of 2048 outputs differ" in message
    assert TERMS.format(1) + " of their receptive fields only (" in message
    assert "\n  y[1,3,3] lacks w_{1,1,1,2}·x_{1,3,4}; has w_{1,1,1,1}·x_{1,3,3} instead\n" in message


def test_swapped_groups_name_the_other_groups_weights():
    spec = replace(SPEC, groups=4, input_size=(10, 10))
    message = rejected(lambda x, w, b: torch_as(spec)(x, np.concatenate([w[2:4], w[:2], w[4:]]), b), spec)
    assert ("  y[0,0,0] lacks w_{0,0,1,1}·x_{0,0,0}, w_{0,0,1,2}·x_{0,0,1}, w_{0,0,2,1}·x_{0,1,0}, "
            "w_{0,0,2,2}·x_{0,1,1} and 4 more; has w_{2,0,1,1}·x_{0,0,0}, w_{2,0,1,2}·x_{0,0,1}, "
            "w_{2,0,2,1}·x_{0,1,0}, w_{2,0,2,2}·x_{0,1,1} and 4 more instead") in message


def test_wrong_stride_and_dilation():
    strided = replace(SPEC, stride=2)
    message = rejected(torch_as(replace(strided, stride=1), lambda x, w, b, y: y[..., 1::2, 1::2]), strided)
    assert "  y[0,0,0] lacks w_{0,0,1,1}·x_{0,0,0}" in message and "; has w_{0,0,0,0}·x_{0,0,0}" in message
    dilated = replace(SPEC, dilation=2, padding=2)
    message = rejected(torch_as(replace(dilated, dilation=1, padding=1)), dilated)
    assert ("  y[0,0,0] lacks w_{0,0,1,2}·x_{0,0,2}, w_{0,0,2,1}·x_{0,2,0}, w_{0,0,2,2}·x_{0,2,2}, "
            "w_{0,1,1,2}·x_{1,0,2} and 20 more; has w_{0,0,1,2}·x_{0,0,1}, w_{0,0,2,1}·x_{0,1,0}, "
            "w_{0,0,2,2}·x_{0,1,1}, w_{0,1,1,2}·x_{1,0,1} and 20 more instead") in message


def test_circular_padding_reads_the_far_end():
    message = rejected(torch_as(replace(SPEC, padding_mode="circular")))
    assert ("  y[0,0,0] has the extra terms w_{0,0,0,0}·x_{0,15,15}, w_{0,0,0,1}·x_{0,15,0}, "
            "w_{0,0,0,2}·x_{0,15,1}, w_{0,0,1,0}·x_{0,0,15} and 36 more") in message
    assert "Diagnosis: padding mode: fn pads with 'circular' values" in message


def test_reflect_padding_reads_inputs_through_several_weights():
    """x[c, 1, 1] is read through the four corner taps at y[o, 0, 0]: peeled off the bit planes."""
    spec = ConvSpec(4, 4, 3, (12, 12), padding=1)
    message = rejected(torch_as(replace(spec, padding_mode="reflect")), spec)
    lines = [line for line in message.splitlines() if line.startswith("  y[0,0,0] has")]
    assert lines == ["  y[0,0,0] has the extra terms w_{0,0,0,0}·x_{0,1,1}, w_{0,0,0,1}·x_{0,1,0}, "
                     "w_{0,0,0,2}·x_{0,1,1}, w_{0,0,1,0}·x_{0,0,1} and 16 more"]


def test_bias_constant_and_linear_terms():
    def fn(x, w, b):
        return torch_conv(SPEC, x, w, 2 * b[::-1].copy())
    message = rejected(fn)
    assert "  y[0,0,0] lacks b_{0}; has 2·b_{7} instead\n  y[1,0,0] lacks b_{1}; has 2·b_{6} instead" in message
    message = rejected(lambda x, w, b: torch_conv(SPEC, x, w, b) + x[:, :1] + 3)
    assert "  y[0,0,0] has the extra terms 3, x_{0,0,0}\n" in message


def test_an_unbatched_fn_in_the_nhwc_layout_and_one_dimension():
    spec = ConvSpec(6, 4, 5, 40, padding=2, layout="NHWC")
    message = rejected(torch_as(replace(spec, padding=((1, 3),))), spec, batched=False)
    assert ("  y[0,0] lacks w_{0,0,2}·x_{0,0}, w_{0,0,3}·x_{0,1}, w_{0,0,4}·x_{0,2}, w_{0,1,2}·x_{1,0} and 14 "
            "more; has w_{0,0,1}·x_{0,0}, w_{0,0,2}·x_{0,1}, w_{0,0,3}·x_{0,2}, w_{0,0,4}·x_{0,3} and 20 more "
            "instead") in message


def test_reading_outside_the_receptive_field_is_reported_as_partial():
    """y[0,0,0] also reads x[0,8,8], far outside its receptive field: the terms read there do
    not reproduce fn at the random point, and the message says so instead of listing lacks/has."""
    def far(x, w, b, y):
        y = y.copy()
        y[..., 0, 0, 0] += x[..., 0, 8, 8] * w[0, 0, 0, 0]
        return y
    message = rejected(torch_as(SPEC, far))
    assert "1 of 2048 outputs differ" in message and "lacks" not in message
    assert ("are partial: the terms read do not reproduce fn's output at the random point at y[0,0,0] "
            "(fn reads entries outside the receptive field probed") in message


def test_the_verdict_does_not_wait_on_or_depend_on_the_diagnosis(monkeypatch):
    shifted = torch_as(replace(SPEC, padding=((0, 2), (0, 2))))
    monkeypatch.setattr(fieldreport, "FIELD_SECONDS", 0.0)
    message = rejected(shifted)
    assert "are partial: its budget of 0.0 s ran out while reading fn's" in message
    assert "the convolution gives" in message and "fn pads everything after" in message
    monkeypatch.undo()
    monkeypatch.setattr(FieldProbe, "_x_form", lambda self, w: 1 / 0)   # a fault of the diagnosis itself
    message = rejected(shifted)
    assert ("are partial: the diagnosis failed while reading fn's parts linear in x (w = 0) (ZeroDivisionError: "
            "division by zero)") in message and "fn pads everything after" in message
    monkeypatch.undo()
    calls = []

    def fails_later(x, w, b):   # fails from the diagnosis's third call on: the verdict and the diagnosis at the
        # failing point stand
        calls.append(1)
        if len(calls) > 8:
            raise RuntimeError("out of memory")
        return shifted(x, w, b)
    message = rejected(fails_later)
    assert "2048 of 2048 outputs differ" in message and "are partial: fn failed on a probe while" in message
    assert message.endswith("Diagnosis: padding on the wrong side: fn pads everything after (((0, 2), (0, 2))); "
                            "the spec pads ((1, 1), (1, 1)) (before, after) per axis — that layer reproduces fn's "
                            "output exactly.")


def test_rounding_code_within_tolerance_passes_and_a_wrong_one_is_explained_with_rounded_terms():
    spec = ConvSpec(3, 4, 3, (12, 12), padding=1)

    def fft(pad):
        def fn(x, w, b):
            padded = np.pad(x, ((0, 0), *pad))
            size = padded.shape[1:]
            spectrum = np.einsum("chw,ochw->ohw", np.fft.rfft2(padded, s=size),
                                 np.fft.rfft2(w[:, :, ::-1, ::-1], s=size))
            return np.fft.irfft2(spectrum, s=size)[:, 2:14, 2:14] + b[:, None, None]
        return fn
    right = fft(((1, 1), (1, 1)))
    result = assert_conv_equivalent(right, spec, mode="probe", rtol=1e-9, atol=1e-9, seed=3)
    assert result.established.startswith("verified within tolerance rtol=1e-09, atol=1e-09")
    message = rejected(fft(((0, 2), (0, 2))), spec, batched=False, rtol=1e-9, atol=1e-9)
    assert ("fn's terms at the first 3 differing output(s) nearest the origin, read by one-hot probing of their "
            "receptive fields only (") in message
    assert "; coefficients rounded where the rounding is within the tolerance):" in message
    assert ("  y[0,0,0] lacks w_{0,0,1,1}·x_{0,0,0}, w_{0,0,1,2}·x_{0,0,1}, w_{0,0,2,1}·x_{0,1,0}, "
            "w_{0,0,2,2}·x_{0,1,1} and 8 more; has w_{0,0,0,0}·x_{0,0,0}") in message
    assert "fn pads everything after" in message

    def half_tap(x, w, b):   # one product at half weight: no integer within the tolerance, reported raw
        y = right(x, w, b)
        y[1, 5, 5] += 0.5 * x[2, 5, 6] * w[1, 2, 1, 1]
        return y
    message = rejected(half_tap, spec, batched=False, rtol=1e-9, atol=1e-9)
    assert "\n  y[1,5,5] has the extra terms 0.500000·w_{1,2,1,1}·x_{2,5,6}\n" in message
    message = rejected(lambda x, w, b: right(x, w, b) + 1e-3, spec, batched=False, rtol=1e-5, atol=1e-5)
    assert "\n  y[0,0,0] has the extra terms 0.00100000\n" in message


def test_receptive_fields_and_the_order_of_outputs():
    spec = ConvSpec(2, 2, 3, (20, 20), padding=1, stride=2)
    rows = {int(p) // 20 for p in receptive_positions(spec, [(0, 0)])}
    assert rows == {0, 1, 2, 3, 4, 5, 15, 16, 17, 18, 19}   # u = −5 … 5, the negative ones wrapped (circular)
    differing = np.array([[1, 3, 0], [0, 0, 2], [3, 0, 1], [2, 1, 0]])
    assert nearest_origin(differing, 3) == [(3, 0, 1), (2, 1, 0), (0, 0, 2)]
    assert Closeness().multiple(7.0, 1.0) == 7 and Closeness().multiple(7.5, 1.0) is None
    assert Closeness(0.0, 0.3).multiple(7.2, 1.0) == 7 and Closeness(0.0, 0.6).multiple(7.2, 1.0) is None


def _valid(make):
    try:
        return make()
    except SpecError:   # e.g. a kernel wider than the padded input, reflect padding as wide as the input
        assume(False)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_terms_read_are_fns_polynomial_exactly(data):
    """fn = a torch layer plus c·w_i·x_j at one output: the polynomial read at that output is the
    layer's expected polynomial plus that term, exactly (any layer class, layout, batching)."""
    dims = data.draw(st.integers(1, 2))
    groups = data.draw(st.sampled_from([1, 2]))
    size = (data.draw(st.integers(5, 9)),) * dims
    spec = _valid(lambda: ConvSpec(2 * groups, 2 * groups, data.draw(st.integers(1, 3)), size,
                    stride=data.draw(st.integers(1, 2)), dilation=data.draw(st.integers(1, 2)),
                    padding=data.draw(st.integers(0, 2)), groups=groups, bias=data.draw(st.booleans()),
                    padding_mode=data.draw(st.sampled_from(["zeros", "circular", "reflect", "replicate"])),
                    layout=data.draw(st.sampled_from(["NCHW", "NHWC"]))))
    batched = data.draw(st.booleans())
    out = tuple(data.draw(st.integers(0, n - 1)) for n in spec.output_size)
    o = data.draw(st.integers(0, spec.out_channels - 1))
    i = data.draw(st.integers(0, int(np.prod(spec.weight_shape)) - 1))
    j = (data.draw(st.integers(0, spec.in_channels - 1)) * int(np.prod(spec.input_size))
         + data.draw(st.sampled_from(receptive_positions(spec, [out]).tolist())))
    c = data.draw(st.sampled_from([1, -1, 2, 3]))
    canonical = (o, *out)
    index = (*out, o) if spec.layout == "NHWC" else canonical
    x_shape, w_shape = (spec.in_channels, *spec.input_size), (spec.out_channels, spec.in_per_group, *spec.kernel_size)

    def fn(x, w, b):
        y = torch_conv(spec, x, w, b).copy()
        xc = np.moveaxis(x, -1, -1 - spec.dims) if spec.layout == "NHWC" else x
        wc = np.moveaxis(w, (-1, -2), (0, 1)) if spec.layout == "NHWC" else w
        y[(Ellipsis, *index)] += c * wc.reshape(-1)[i] * xc.reshape(*xc.shape[:-spec.dims - 1], -1)[..., j]
        return y
    target = forward_target(spec)
    rng = np.random.default_rng(0)
    values = {"x": rng.integers(-50, 50, (1, *spec.input_shape)), "w": rng.integers(-50, 50, spec.weight_shape),
              "b": rng.integers(-50, 50, spec.out_channels) if spec.bias else None}
    with Deadline(60) as limit:
        y = _Caller(fn, target, batched, limit)({k: None if v is None else v.astype(float) for k, v in values.items()},
                                               "the point")[0]
        probe = FieldProbe(_Caller(fn, target, batched, limit), spec, [canonical], Closeness(), 53,
                           np.random.default_rng(1))
        found = probe.recover()
        assert probe.disagreeing(Point.of(spec, values, y, 0)) == []
    extra = c * entry_symbol("w", w_shape, i) * entry_symbol("x", x_shape, j)
    assert found.unresolved == []
    assert sp.expand(polynomial(spec, found.terms[0]) - expected_polynomials(spec, [canonical])[0] - extra) == 0
