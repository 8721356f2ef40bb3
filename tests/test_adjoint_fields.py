"""Issue 13 items 2 and 5: a wrong transposed convolution or backward pass at a real layer size
(too large to read every coefficient off, RECOVERY_CALLS) is rejected with the exact terms its
first differing entries lack and have instead, read by probing their receptive fields only
(symconv.testing.adjoint_fields, adjoint_fieldreport), and the fault; within a budget, and the
verdict never depends on the diagnosis. The expected lines are computed here by brute force over
the definition's sums, independently of the package's index code."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from itertools import product

import numpy as np
import pytest
import sympy as sp

import symconv.testing.fieldreport as fieldreport
from symconv import ConvSpec
from symconv.result import counterexample_of
from symconv.testing import assert_conv_gradients_equivalent, assert_conv_transpose_equivalent
from symconv.testing.adjoint_fields import adjoint_roles, expected_entries
from symconv.testing.adjoint_maps import gradients_map, transpose_map
from symconv.testing.adjoint_recovery import RECOVERY_CALLS, recovery_calls
from symconv.testing.adjoint_reports import _line
from tests.test_adjoint_checks import torch_backward, torch_transpose
from tests.test_testing import one_torch_thread  # noqa: F401  (autouse)

SPEC = ConvSpec(16, 16, kernel_size=3, input_size=(32, 32), stride=2, padding=1, groups=2)
SECONDS = 30.0        # the failure message's time, identity test included (7.6 s at most on a quiet 2-core
                      # machine, most of it the faults' numeric diagnosis; tests run two at a time)
FIELD_SECONDS = 5.0   # of which the probes of the receptive fields (0.7 s at most)
HOW = "(terms read by one-hot probing of the entries' receptive fields only: "


def _symbol(name: str, *index: int) -> sp.Symbol:
    return sp.Symbol(f"{name}_{{{','.join(map(str, index))}}}")


def _taps(spec: ConvSpec, pad: int, flip: bool = False):
    """(out, k, position, tap of w) of every window read (one channel pair), by the definition
    u = s·out + k − pad, without the package's pattern code."""
    outs, taps = list(product(*map(range, spec.output_size))), list(product(*map(range, spec.kernel_size)))
    for out, k in product(outs, taps):
        u = tuple(s * o + t - pad for s, o, t in zip(spec.stride, out, k))
        if all(0 <= p < n for p, n in zip(u, spec.input_size)):
            yield out, k, u, tuple(K - 1 - t for K, t in zip(spec.kernel_size, k)) if flip else k


def brute_transpose(spec: ConvSpec, c: int, position: tuple, pad: int, flip: bool = False) -> sp.Expr:
    """y[c, position] = Σ g[o, out]·w[o, c_local, k] over the windows covering it, + b[c]."""
    cg, og = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    group = c // cg
    terms = [_symbol("g", o, *out) * _symbol("w", o, c % cg, *tap) for o in range(group * og, (group + 1) * og)
             for out, _, u, tap in _taps(spec, pad, flip) if u == position]
    return sp.Add(*terms, *([_symbol("b", c)] if spec.bias else []))


def brute_weight_gradient(spec: ConvSpec, o: int, c: int, k: tuple) -> sp.Expr:
    """grad_w[o, c, k] = Σ_out x[group(o)·C_in/G + c, s·out + k − p]·g[o, out]."""
    cg, og = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    return sp.Add(*(_symbol("g", o, *out) * _symbol("x", (o // og) * cg + c, *u)
                    for out, tap, u, _ in _taps(spec, spec.padding[0][0]) if tap == k))


def rejected(check, fn, *args, **options) -> tuple[str, float]:
    """The failure message and its seconds; the probes of the receptive fields took < FIELD_SECONDS."""
    start = time.perf_counter()
    with pytest.raises(AssertionError) as error:
        check(fn, SPEC, *args, mode="probe", batched=True, seed=3, **options)
    message = str(error.value)
    if (reading := re.search(r"receptive fields only: \d+ calls of fn, ([\d.]+) s\)", message)) is not None:
        assert float(reading.group(1)) < FIELD_SECONDS
    return message, time.perf_counter() - start


def lines(name: str, entries: list[tuple], expected: list[sp.Expr], obtained: list[sp.Expr]) -> list[str]:
    return ["  " + _line(counterexample_of(name, entry, e, o)) for entry, e, o in zip(entries, expected, obtained)]


def test_the_size_is_beyond_reading_every_coefficient_off():
    assert recovery_calls(transpose_map(SPEC, 1)) > RECOVERY_CALLS
    assert recovery_calls(gradients_map(SPEC)) > RECOVERY_CALLS


def test_expected_entries_are_the_definitions_sums():
    """The map's polynomials at entries (from the connections table) against the brute force."""
    m = transpose_map(SPEC, 1)
    entries = [(0, 0, 0), (9, 31, 31), (3, 5, 6)]
    assert expected_entries(m, "y", entries) == [brute_transpose(SPEC, c, tuple(p), 1) for c, *p in entries]
    assert expected_entries(gradients_map(SPEC), "grad_w", [(9, 2, 1, 0)]) == [brute_weight_gradient(SPEC, 9, 2,
                                                                                                     (1, 0))]
    assert adjoint_roles(gradients_map(SPEC), "grad_w").labelled == "x"


def test_transposed_conv_padded_on_the_wrong_side():
    """fn crops torch's unpadded transposed output at the start (padding (0, 2)) instead of one each side."""
    def shifted(g, w, b):
        return torch_transpose(replace(SPEC, padding=0), 1)(g, w, b)[..., :32, :32]
    message, seconds = rejected(assert_conv_transpose_equivalent, shifted, 1)
    entries = [(0, 0, 0), (1, 0, 0), (2, 0, 0)]
    expected = [brute_transpose(SPEC, c, (i, j), 1) for c, i, j in entries]
    obtained = [brute_transpose(SPEC, c, (i, j), 0) for c, i, j in entries]
    assert "(found by randomized identity testing) at a random integer point: y: 16384 of 16384 entries" in message
    assert "\n".join(lines("y", entries, expected, obtained)) + "\n  ... and 16381 more differing entries of y\n" \
        in message
    assert ("  y[0,0,0] lacks g_{0,0,0}·w_{0,0,1,1}, g_{1,0,0}·w_{1,0,1,1}, g_{2,0,0}·w_{2,0,1,1}, "
            "g_{3,0,0}·w_{3,0,1,1} and 4 more; has g_{0,0,0}·w_{0,0,0,0}, g_{1,0,0}·w_{1,0,0,0}, "
            "g_{2,0,0}·w_{2,0,0,0}, g_{3,0,0}·w_{3,0,0,0} and 4 more instead") in message
    assert HOW in message and "first seen at y[0,0,0,0] = " in message
    assert message.endswith("reproduces the differing output exactly at the random point.")
    assert seconds < SECONDS


def test_transposed_conv_with_output_padding_zero_extended():
    """The requested output_padding=1 computed as 0, the last row and column zero (bias only)."""
    def zero_extended(g, w, b):
        y = torch_transpose(SPEC, 0)(g, w, b) - b[:, None, None]
        return np.pad(y, ((0, 0), (0, 0), (0, 1), (0, 1))) + b[:, None, None]
    message, seconds = rejected(assert_conv_transpose_equivalent, zero_extended, 1)
    entries = [(0, 0, 31), (1, 0, 31), (2, 0, 31)]
    expected = [brute_transpose(SPEC, c, (i, j), 1) for c, i, j in entries]
    assert "\n".join(lines("y", entries, expected, [_symbol("b", c) for c, _, _ in entries])) in message
    assert "  y[0,0,31] lacks g_{0,0,15}·w_{0,0,1,2}, g_{1,0,15}·w_{1,0,1,2}, g_{2,0,15}·w_{2,0,1,2}, " in message
    assert ("Diagnosis: y: output_padding off: fn computes output_padding=(0, 0) (cut or zero-extended to the "
            "requested size), the spec asks for (1, 1) — that map reproduces it exactly at the random point.") \
        in message
    assert seconds < SECONDS


def test_groups_weight_gradients_swapped():
    """The silent bug of groups > 1 with stride > 1 (pytorch#50042, #51430) at a real size."""
    def swapped(x, w, g):
        grad_x, grad_w, grad_b = torch_backward(SPEC)(x, w, g)
        return grad_x, np.concatenate([grad_w[8:], grad_w[:8]]), grad_b
    message, seconds = rejected(assert_conv_gradients_equivalent, swapped)
    entries = [(0, 0, 0, 0), (1, 0, 0, 0), (2, 0, 0, 0)]
    expected = [brute_weight_gradient(SPEC, o, c, (i, j)) for o, c, i, j in entries]
    obtained = [brute_weight_gradient(SPEC, o + 8, c, (i, j)) for o, c, i, j in entries]
    assert "grad_w: 1152 of 1152 entries differ." in message
    assert "\n".join(lines("grad_w", entries, expected, obtained)) in message
    assert ("  grad_w[0,0,0,0] lacks g_{0,1,1}·x_{0,1,1}, g_{0,1,2}·x_{0,1,3}, g_{0,1,3}·x_{0,1,5}, "
            "g_{0,1,4}·x_{0,1,7} and 221 more; has g_{8,1,1}·x_{8,1,1}, g_{8,1,2}·x_{8,1,3}, "
            "g_{8,1,3}·x_{8,1,5}, g_{8,1,4}·x_{8,1,7} and 221 more instead") in message
    assert re.search(r"first seen at grad_w\[0,0,0,0\] = -?\d+\.0, the backward pass gives -?\d+\.0 exactly", message)
    assert message.endswith("Diagnosis: grad_w: the groups' weight gradients swapped: the blocks of groups (0, 1) "
                            "of grad_w hold the gradients of groups (1, 0) (the silent bug of groups > 1, "
                            "pytorch#50042/#51430) — that map reproduces it exactly at the random point.")
    assert seconds < SECONDS


def test_input_gradient_with_a_flipped_kernel():
    def flipped(x, w, g):
        grad_x, _, _ = torch_backward(SPEC)(x, w[..., ::-1, ::-1].copy(), g)
        return (grad_x, *torch_backward(SPEC)(x, w, g)[1:])
    message, seconds = rejected(assert_conv_gradients_equivalent, flipped)
    entries = [(0, 0, 1), (1, 0, 1), (2, 0, 1)]
    expected = [brute_transpose(replace(SPEC, bias=False), c, (i, j), 1) for c, i, j in entries]
    obtained = [brute_transpose(replace(SPEC, bias=False), c, (i, j), 1, flip=True) for c, i, j in entries]
    assert "grad_x: 12288 of 16384 entries differ." in message
    assert "\n".join(lines("grad_x", entries, expected, obtained)) in message
    assert ("Diagnosis: grad_x: the kernel flipped: fn uses w mirrored on every spatial axis — that map "
            "reproduces it exactly at the random point.") in message
    assert seconds < SECONDS


def test_correct_maps_are_still_verified():
    assert assert_conv_gradients_equivalent(torch_backward(SPEC), SPEC, mode="probe", batched=True).established \
        .startswith("verified by randomized identity testing")
    assert assert_conv_transpose_equivalent(torch_transpose(SPEC, 1), SPEC, 1, mode="probe", batched=True) \
        .established.startswith("verified by randomized identity testing")


def test_a_diagnosis_out_of_budget_says_it_is_partial(monkeypatch):
    monkeypatch.setattr(fieldreport, "FIELD_SECONDS", 0.0)

    def swapped(x, w, g):
        grad_x, grad_w, grad_b = torch_backward(SPEC)(x, w, g)
        return grad_x, np.concatenate([grad_w[8:], grad_w[:8]]), grad_b
    message, _ = rejected(assert_conv_gradients_equivalent, swapped)
    assert ("  The terms of the first 3 differing entries of grad_w nearest the origin are partial: its budget of "
            "0.0 s ran out while reading fn's constant and linear parts. Read so far:\n"
            "    grad_w[0,0,0,0]: fn has no terms\n") in message
    assert "lacks" not in message and "Diagnosis: grad_w: the groups' weight gradients swapped" in message


def test_reading_outside_the_transposed_field_is_reported_as_partial():
    """y[0,0,0] also reads g far from the windows covering it: the terms read there do not
    reproduce fn at the random point, and the message says so instead of listing lacks/has."""
    def far(g, w, b):
        y = torch_transpose(SPEC, 1)(g, w, b)
        y[:, 0, 0, 0] += g[:, 0, 12, 12] * w[0, 0, 0, 0]
        return y
    message, _ = rejected(assert_conv_transpose_equivalent, far, 1)
    assert "y: 1 of 16384 entries differ" in message and "lacks" not in message
    assert ("partial: the terms read do not reproduce fn's output at the random point at y[0,0,0] (fn reads "
            "entries outside the receptive field probed") in message
