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
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import symconv.testing.fieldreport as fieldreport
from symconv import ConvSpec, SpecError
from symconv.deadline import Deadline
from symconv.result import counterexample_of
from symconv.testing import assert_conv_gradients_equivalent, assert_conv_transpose_equivalent
from symconv.testing.adjoint_fieldreport import AdjointPoint, explain_entries
from symconv.testing.adjoint_fields import adjoint_roles, expected_entries
from symconv.testing.adjoint_maps import gradients_map, transpose_map
from symconv.testing.adjoint_recovery import RECOVERY_CALLS, recovery_calls
from symconv.testing.adjoint_reports import _line
from symconv.testing.adjoint_targets import adjoint_target
from symconv.testing.fieldprobe import Closeness, FieldProbe
from symconv.testing.fieldreport import polynomial
from symconv.testing.pit import _Caller
from tests.strategies import conv_specs
from tests.test_adjoint_checks import torch_backward, torch_transpose
from tests.test_testing import one_torch_thread  # noqa: F401  (autouse)

SPEC = ConvSpec(16, 16, kernel_size=3, input_size=(32, 32), stride=2, padding=1, groups=2)
SECONDS = 30.0        # the failure message's time, identity test included (7.6 s at most on a quiet 2-core
                      # machine, most of it the faults' numeric diagnosis; tests run two at a time)
FIELD_SECONDS = fieldreport.FIELD_SECONDS + 1.0   # of which the probes of the receptive fields: within their
                      # budget, overrun by a call at most (0.1-1.1 s quiet; 2.8 s for grad_w and grad_b of one sample)
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


def _exact_map_with(m, name: str, roles, planted: tuple[int, int, int, int], batched: bool):
    """fn: the map's exact integer reference (``adjoint_target``), per sample, plus c·l_i·p_j at
    flat canonical entry e of output ``name`` (l the labelled operand, p the probed one)."""
    target, (e, i, j, c) = adjoint_target(m), planted
    per_sample = {o.name for o in target.operands if o.batched}

    def fn(*args):
        batch = len(args[m.operands.index("g")])
        totals: dict[str, np.ndarray] = {}
        for n in range(batch):
            values = {o: None if a is None else np.rint(a[n] if o in per_sample else a).astype(np.int64)
                      for o, a in zip(m.operands, args)}
            outputs = dict(zip(m.outputs, target.reference(values)))
            canonical = roles.to_canonical(name, np.asarray(outputs[name], dtype=object)).copy()
            flat = {k: roles.to_canonical(k, values[k]).ravel() for k in (roles.labelled, roles.probed)}
            canonical.flat[e] += c * int(flat[roles.labelled][i]) * int(flat[roles.probed][j])
            outputs[name] = roles.to_fn(name, canonical)
            for k, y in outputs.items():
                if y is not None:
                    y = np.asarray(y, dtype=np.float64)[None] if k in m.per_sample_outputs else np.asarray(
                        y, dtype=np.float64)
                    totals[k] = y if k not in totals else (np.concatenate([totals[k], y]) if k in m.per_sample_outputs
                                                           else totals[k] + y)
        return tuple(totals.get(k) for k in m.outputs) if m.kind == "gradients" else totals["y"]

    def one(*args):   # an unbatched fn: one sample, no sample axis
        outputs = fn(*(a if a is None or o not in per_sample else a[None] for o, a in zip(m.operands, args)))
        outputs = outputs if m.kind == "gradients" else (outputs,)
        unbatched = tuple(y[0] if k in m.per_sample_outputs else y for k, y in zip(m.outputs, outputs))
        return unbatched if m.kind == "gradients" else unbatched[0]
    return fn if batched else one


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_specs(max_terms=400), st.data())
def test_the_terms_read_are_fns_polynomial_exactly(spec, data):
    """fn = the map plus c·l_i·g_j at one entry of one output: the polynomial read there is the
    map's (``expected_entries``) plus that term, exactly (any layer class, layout, batching)."""
    if data.draw(st.booleans(), label="transpose") and spec.padding_mode == "zeros":
        output_padding = tuple(data.draw(st.integers(0, max(s, d) - 1)) for s, d in zip(spec.stride, spec.dilation))
        try:
            m = transpose_map(spec, output_padding)
        except SpecError:   # the transposed size would be < 1
            assume(False)
    else:
        m = gradients_map(spec)
    name = data.draw(st.sampled_from([n for n, s in m.output_shapes().items() if s is not None]))
    roles = adjoint_roles(m, name)
    entry = tuple(data.draw(st.integers(0, n - 1)) for n in roles.shapes[name])
    probed = roles.shapes["g"]
    j = data.draw(st.integers(0, probed[0] - 1)) * int(np.prod(probed[1:])) + data.draw(
        st.sampled_from(roles.field([entry]).tolist()))
    i = data.draw(st.integers(0, int(np.prod(roles.shapes[roles.labelled])) - 1))
    c = data.draw(st.sampled_from([1, -1, 2, 3]))
    batched = data.draw(st.booleans())
    fn = _exact_map_with(m, name, roles, (int(np.ravel_multi_index(entry, roles.shapes[name])), i, j, c), batched)
    with Deadline(60) as limit:
        probe = FieldProbe(_Caller(fn, adjoint_target(m), batched, limit), spec, [entry], Closeness(), 53,
                           np.random.default_rng(1), roles)
        found = probe.recover()
    planted = c * roles.symbol("wx", (i, j))
    assert found.unresolved == []
    assert sp.expand(polynomial(spec, found.terms[0], roles) - expected_entries(m, name, [entry])[0] - planted) == 0


def test_within_a_tolerance_the_terms_are_rounded():
    """The entry point of a tolerance mode: fn rounds (a relative error of 1e-12), the differing
    entries are those beyond the tolerance; the terms read are rounded to the exact ones."""
    def swapped(x, w, g):
        grad_x, grad_w, grad_b = torch_backward(SPEC)(x, w, g)
        return grad_x * (1 + 1e-12), np.concatenate([grad_w[8:], grad_w[:8]]) * (1 - 1e-12), grad_b
    m, rng = gradients_map(SPEC), np.random.default_rng(0)
    values = {name: rng.integers(-2**10, 2**10, shape) for name, shape in m.operand_shapes(3).items()}
    floats = {name: v.astype(np.float64) for name, v in values.items()}
    obtained = dict(zip(m.outputs, swapped(**floats)))
    exact = dict(zip(m.outputs, torch_backward(SPEC)(**floats)))
    beyond = ~np.isclose(obtained["grad_w"], exact["grad_w"], rtol=1e-9, atol=1e-9)
    point = AdjointPoint(values, obtained, {"grad_w": np.argwhere(beyond)})
    with Deadline(60) as limit:
        text = explain_entries(swapped, m, True, limit, point, Closeness(1e-9, 1e-9), 53, seed=3)
    entries = [(0, 0, 0, 0), (1, 0, 0, 0), (2, 0, 0, 0)]
    expected = [brute_weight_gradient(SPEC, o, c, (i, j)) for o, c, i, j in entries]
    obtained_terms = [brute_weight_gradient(SPEC, o + 8, c, (i, j)) for o, c, i, j in entries]
    assert text.startswith("\n" + "\n".join(lines("grad_w", entries, expected, obtained_terms)))
    assert "; coefficients rounded where the rounding is within the tolerance)" in text


def test_a_signed_sum_of_weights_that_equals_one_weights_value_is_not_taken_for_it():
    """grad_x[0,0] of a circular layer on one position reads g_{1,0} through w_{1,0,0} and
    w_{1,0,1}; fn also subtracts g_{1,0}·w_{0,0,0}: at the labels r, r_{1,0,0} + r_{1,0,1} − r_{0,0,0}
    is ≡ 1 (mod 8) and may equal another weight's label (2 of these 20 seeds without the second
    labelling). Every seed reads the polynomial exactly."""
    spec = ConvSpec(2, 2, 2, 1, padding=((0, 1),), padding_mode="circular", bias=False)
    m = gradients_map(spec)
    roles = adjoint_roles(m, "grad_x")
    fn = _exact_map_with(m, "grad_x", roles, (0, 0, 1, -1), False)
    wanted = expected_entries(m, "grad_x", [(0, 0)])[0] - roles.symbol("wx", (0, 1))
    for seed in range(20):
        with Deadline(60) as limit:
            probe = FieldProbe(_Caller(fn, adjoint_target(m), False, limit), spec, [(0, 0)], Closeness(), 53,
                               np.random.default_rng(seed), roles)
            found = probe.recover()
        assert sp.expand(polynomial(spec, found.terms[0], roles) - wanted) == 0, seed


def test_parameter_gradients_of_one_sample_are_partial_and_named():
    """grad_w and grad_b of sample 0 only: each probe sends one sample, so the terms read are the
    map's, yet they do not sum to fn's output at the random point (a batch of 3): partial, and the
    fault is named by its exact output there."""
    def first_only(x, w, g):
        grad_x = torch_backward(SPEC)(x, w, g)[0]
        return (grad_x, *torch_backward(SPEC)(x[:1], w, g[:1])[1:])
    message, _ = rejected(assert_conv_gradients_equivalent, first_only)
    assert "grad_w: 1152 of 1152 entries differ; grad_b: 16 of 16 entries differ." in message
    assert ("  The terms of the first 3 differing entries of grad_b nearest the origin are partial: the terms read "
            "do not reproduce fn's output at the random point at grad_b[0] (fn reads entries outside the receptive "
            "field probed, or a coefficient beyond the probes' range, or it does not sum the samples of a batch "
            "(the probes send one)); ") in message
    assert "    grad_b[0]: fn has g_{0,0,0}, g_{0,0,1}, g_{0,0,2}, g_{0,0,3} and 252 more\n" in message
    assert "Diagnosis: grad_w: grad_w not summed over the batch: it is sample 0's alone" in message
