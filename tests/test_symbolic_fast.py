"""Symbolic mode's fast path (native exact polynomials, ``symconv.testing.fastpoly``/``fastpath``):
the same verdicts, counts and failure reports as the SymPy path, and no way for it to pass a wrong fn."""

from __future__ import annotations

import contextlib
import math
from fractions import Fraction
from itertools import product

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symconv
import symconv.testing.symbolic as symbolic
from symconv.testing import NotCheckable, assert_conv_equivalent
from symconv.testing.fastpath import FAST_PATH, SYMPY_PATH
from symconv.testing.fastpoly import FastPathRefused, Session


# ---- fns written as users write them, on NCHW object arrays -------------------------------------
def loop_conv(spec: symconv.ConvSpec, x, w, b):
    """A naive loop (numpy-ml style): zero padding, stride, dilation, groups, any dims."""
    (pads, stride, dilation), cg = (spec.padding, spec.stride, spec.dilation), spec.in_per_group
    y = np.zeros((spec.out_channels, *spec.output_size), dtype=object)
    for o, out in product(range(spec.out_channels), product(*map(range, spec.output_size))):
        g = o // (spec.out_channels // spec.groups)
        total = b[o] if b is not None else 0
        for c, k in product(range(cg), product(*map(range, spec.kernel_size))):
            src = [s * i + d * t - p[0] for s, i, d, t, p in zip(stride, out, dilation, k, pads)]
            if all(0 <= v < n for v, n in zip(src, spec.input_size)):
                total = total + w[(o, c, *k)] * x[(g * cg + c, *src)]
        y[(o, *out)] = total
    return y


def im2col_conv(x, w, b):
    """2-D, no padding, stride 1: the patches as a matrix, then np.dot on object arrays."""
    (c_in, height, width), (c_out, _, kh, kw) = x.shape, w.shape
    oh, ow = height - kh + 1, width - kw + 1
    cols = np.stack([x[c, i:i + oh, j:j + ow].reshape(-1) for c in range(c_in) for i in range(kh) for j in range(kw)])
    y = np.dot(w.reshape(c_out, -1), cols).reshape(c_out, oh, ow)
    return y if b is None else y + b[:, None, None]


def outcome(fn, spec, **options):
    """What a check establishes, comparable between the paths (the path itself apart)."""
    try:
        r = assert_conv_equivalent(fn, spec, seed=0, **options)
    except (AssertionError, NotCheckable) as error:
        return (type(error).__name__, str(error)), None
    return ("proved", r.outputs, r.terms, r.calls, r.cross_checks), r.path


def both_paths(make, spec, monkeypatch, **options):
    """The outcomes of a fresh ``make()`` (fn may keep state) on the fast path and on SymPy alone."""
    fast, fast_path = outcome(make(), spec, **options)
    with monkeypatch.context() as patch:
        patch.setattr(symbolic, "fast_runs", lambda *args: None)
        slow, slow_path = outcome(make(), spec, **options)
    assert fast == slow   # verdict, counts, and a failure's whole message
    return fast, fast_path, slow_path


# ---- the cross-check over random specs and random (right or perturbed) fns --------------------------
PERTURBATIONS = ("none", "flip", "no bias", "extra term", "doubled", "cached", "w·w", "constant", "0.5·2")


def perturbed(spec: symconv.ConvSpec, how: str):
    seen = []

    def fn(x, w, b):
        y = loop_conv(spec, x, np.flip(w, axis=tuple(range(2, w.ndim))) if how == "flip" else w,
                      None if how == "no bias" else b)
        last = (spec.out_channels - 1, *(n - 1 for n in spec.output_size))
        first_w, first_x = w.flat[0], x.flat[-1]
        change = {"extra term": first_w * first_x, "doubled": y[last], "w·w": first_w * first_w,
                  "constant": 1, "0.5·2": 0.5 * first_w * first_x * 2 - first_w * first_x}.get(how, 0)
        y[last] = y[last] + change
        if how == "cached":
            seen.append(y)
            return seen[0]
        return y
    return fn


@st.composite
def specs(draw) -> symconv.ConvSpec:
    dims = draw(st.sampled_from([1, 2]))
    groups = draw(st.sampled_from([1, 2]))
    kernel = draw(st.tuples(*[st.integers(1, 2)] * dims))
    size = tuple(k + draw(st.integers(0, 2)) for k in kernel)
    return symconv.ConvSpec(groups * draw(st.integers(1, 2)), groups, kernel, size, groups=groups,
                            stride=draw(st.integers(1, 2)), padding=draw(st.integers(0, 1)),
                            bias=draw(st.booleans()))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=specs(), how=st.sampled_from(PERTURBATIONS), batched=st.booleans())
def test_fast_and_sympy_paths_agree(spec, how, batched, monkeypatch):
    def make():
        fn = perturbed(spec, how)
        return (lambda x, w, b: np.stack([fn(s, w, b) for s in x])) if batched else fn
    result, fast_path, slow_path = both_paths(make, spec, monkeypatch, batched=batched)
    no_op = how in ("none", "0.5·2") or how == "flip" and math.prod(spec.kernel_size) == 1 \
        or how == "no bias" and not spec.bias or how == "cached" and spec.n_terms + spec.n_bias_terms == 0
    if how != "doubled":   # (doubling an output that has no terms changes nothing)
        assert (result[0] == "proved") == no_op
    if result[0] == "proved":
        assert (fast_path, slow_path) == (FAST_PATH, SYMPY_PATH)


@pytest.mark.parametrize("style", ["loop", "im2col"])
def test_user_styles_take_the_fast_path(style):
    spec = symconv.ConvSpec(3, 4, 3, (8, 8))
    fn = (lambda x, w, b: loop_conv(spec, x, w, b)) if style == "loop" else im2col_conv
    result = assert_conv_equivalent(fn, spec)
    assert (result.established, result.path, result.outputs, result.terms) == ("proved", FAST_PATH, 144, 4032)


def test_wrong_fn_report_is_the_sympy_report(monkeypatch):
    """A kernel flip: the same 'lacks / has instead' lines and the same diagnosis on both paths."""
    spec = symconv.ConvSpec(1, 1, 3, (5,))
    (kind, message), _, _ = both_paths(lambda: perturbed(spec, "flip"), spec, monkeypatch)
    assert kind == "AssertionError" and "lacks w_{0,0,0}·x_{0,0}" in message and "kernel flipped" in message


# ---- what sends fn to SymPy, and what the fast scalar refuses -----------------------------------
def test_fn_that_needs_sympy_is_proved_on_sympy():
    spec = symconv.ConvSpec(1, 1, 2, (3, 3), bias=False)
    result = assert_conv_equivalent(lambda x, w, b: np.vectorize(sp.expand)(loop_conv(spec, x, w, b)), spec)
    assert (result.established, result.path) == ("proved", SYMPY_PATH)


def test_a_caught_refusal_still_sends_fn_to_sympy():
    """fn asks `v < 0` (refused on both scalars: SymPy cannot order symbols) and swallows the error."""
    spec = symconv.ConvSpec(1, 1, 2, (3, 3), bias=False)

    def fn(x, w, b):
        with contextlib.suppress(TypeError):
            _ = x[0, 0, 0] < 0
        return loop_conv(spec, x, w, b)
    assert assert_conv_equivalent(fn, spec).path == SYMPY_PATH


def test_structural_comparison_like_sympy(monkeypatch):
    """`v == 0` on a variable is False, as on a SymPy symbol, so the branch is not taken on either
    path; on numbers it is, and the trials refute it (x[0,0,0] = 0 in the full-significand w trial)."""
    spec = symconv.ConvSpec(1, 1, 2, (3, 3), bias=False)

    def fn(x, w, b):
        y = loop_conv(spec, x, w, b)
        return np.zeros_like(y) if x[0, 0, 0] == 0 else y
    (verdict, *_), fast_path, _ = both_paths(lambda: fn, spec, monkeypatch)
    assert verdict == "AssertionError"


def test_exact_numbers_and_refusals():
    s = Session()
    x, w = s.variables((2,))
    assert (np.float32(0.25) * x * 4 - x).terms == {}
    assert (x * Fraction(1, 3) * 3 * np.int64(2)).terms == {x.variable() + 1: 2}
    assert (x * 0.1).terms == {x.variable() + 1: Fraction(0.1)} != {x.variable() + 1: Fraction(1, 10)}
    assert sum([x, w, -x]).terms == w.terms and (w / 2 * 2).terms == w.terms and (x ** 2).terms
    assert (x == 0, x != w, x == x, bool(x)) == (False, True, True, True)
    refused = [lambda: x * True, lambda: x * np.longdouble(1), lambda: x + 1j, lambda: x * math.nan,
               lambda: x + "1", lambda: x + None, lambda: x < w, lambda: int(x), lambda: float(x),
               lambda: x * x * w, lambda: x / w, lambda: x ** 3, lambda: (x + w) == (w + x),
               lambda: bool(x - x), lambda: x + Session().variables((1,))[0], lambda: abs(x)]
    for operation in refused:
        with pytest.raises(FastPathRefused):
            operation()
    assert s.refused == "arithmetic with bool True"   # the first refusal is kept


def test_cached_output_is_refuted_on_the_fast_path_too(monkeypatch):
    """An fn that replays its first output ignores the fresh variables: refuted, as on SymPy."""
    spec = symconv.ConvSpec(2, 1, 2, (3, 3))
    (kind, message), _, _ = both_paths(lambda: perturbed(spec, "cached"), spec, monkeypatch)
    assert kind == "AssertionError" and "fresh symbols" in message
