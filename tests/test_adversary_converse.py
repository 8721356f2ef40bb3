"""Adversarial review A: the converse proofs' work bound and argument names (findings 4 and 8),
the CLI never overwriting its own input files (finding 6), and one keyword for a user-supplied
matrix in the form evaluators (issue 12)."""

from __future__ import annotations

import re
import time
from math import prod

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv import ConvSpec, SpecError
from symconv.converse import MAX_CONVERSE_TERMS, fc_as_conv, prove_conv1x1_as_fc, prove_fc_as_conv


def _refused_at_once(call, message: str) -> None:
    """``call`` raises SpecError with exactly ``message`` in under a second: before any work."""
    start = time.perf_counter()
    with pytest.raises(SpecError) as raised:
        call()
    assert time.perf_counter() - start < 1.0
    assert str(raised.value) == message


# ---- finding 4: the converse proofs have a work bound --------------------------------------------
def test_fc_as_conv_beyond_the_default_bound_is_refused_before_any_work():
    # 3 000 300 terms took about 7 minutes before the bound
    assert MAX_CONVERSE_TERMS == 200_000
    _refused_at_once(lambda: prove_fc_as_conv(300, (100, 100)),
                     "input_shape=(100, 100): an FC layer of out_features=300 is proved by expanding 3000300 "
                     "terms (products w·x and biases), more than max_terms=200000; pass a larger max_terms to "
                     "allow it")
    # one term over the default: 200 000 products and 1 bias
    _refused_at_once(lambda: prove_fc_as_conv(1, (200_000, 1)),
                     "input_shape=(200000, 1): an FC layer of out_features=1 is proved by expanding 200001 "
                     "terms (products w·x and biases), more than max_terms=200000; pass a larger max_terms to "
                     "allow it")


def test_conv1x1_as_fc_beyond_the_default_bound_is_refused_before_any_work():
    spec = ConvSpec(64, 64, kernel_size=1, input_size=(32, 32))   # 4.2M terms
    _refused_at_once(lambda: prove_conv1x1_as_fc(spec),
                     "spec='2-D, C_in=64, C_out=64, input=32×32, kernel=1×1, bias': a 1×1 conv is proved an FC "
                     "layer by expanding 4259840 terms (products w·x and biases), more than max_terms=200000; "
                     "pass a larger max_terms to allow it")


def test_conv1x1_rules_come_before_the_bound():
    """A 3×3 conv is no 1×1 conv, however large: that rule is the error, not the size."""
    _refused_at_once(lambda: prove_conv1x1_as_fc(ConvSpec(64, 64, kernel_size=3, input_size=(64, 64))),
                     "kernel_size=(3, 3): a conv is the same FC layer at every position only with kernel_size 1, "
                     "stride 1 and no padding")


def test_just_within_the_bound_still_proves():
    assert prove_fc_as_conv(3, (2, 10), max_terms=63).holds          # 60 products + 3 biases
    _refused_at_once(lambda: prove_fc_as_conv(3, (2, 10), max_terms=62),
                     "input_shape=(2, 10): an FC layer of out_features=3 is proved by expanding 63 terms "
                     "(products w·x and biases), more than max_terms=62; pass a larger max_terms to allow it")
    spec = ConvSpec(2, 3, kernel_size=1, input_size=4)                # 24 products + 12 biases
    assert prove_conv1x1_as_fc(spec, max_terms=36).holds
    _refused_at_once(lambda: prove_conv1x1_as_fc(spec, max_terms=35),
                     "spec='1-D, C_in=2, C_out=3, input=4, kernel=1, bias': a 1×1 conv is proved an FC layer by "
                     "expanding 36 terms (products w·x and biases), more than max_terms=35; pass a larger "
                     "max_terms to allow it")


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 3), st.lists(st.integers(1, 3), min_size=2, max_size=3), st.booleans())  # ≥ 2 terms
def test_the_bound_counts_exactly_the_terms_proved(out_features, shape, bias):
    count = out_features * prod(shape) + (out_features if bias else 0)   # products w·x and biases
    proof = prove_fc_as_conv(out_features, tuple(shape), bias=bias, max_terms=count)
    assert proof.holds and proof.terms == count
    with pytest.raises(SpecError, match=rf"^input_shape=.*expanding {count} terms .*max_terms={count - 1};"):
        prove_fc_as_conv(out_features, tuple(shape), bias=bias, max_terms=count - 1)


@pytest.mark.parametrize("limit, rule", [(0, "must be an integer ≥ 1"), (True, "must be an integer ≥ 1"),
                                         ("3", "must be an integer ≥ 1"), (2.5, "must be an integer ≥ 1")])
def test_the_bound_is_checked_by_name(limit, rule):
    for call in (lambda: prove_fc_as_conv(1, (1, 2), max_terms=limit),
                 lambda: prove_conv1x1_as_fc(ConvSpec(1, 1, 1, 2), max_terms=limit)):
        with pytest.raises(SpecError, match=f"^{re.escape(f'max_terms={limit!r}: {rule}')}$"):
            call()


# ---- finding 8: errors name the FC layer's own arguments -----------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: prove_fc_as_conv(10**6, (10**6, 10**6)),
     "input_shape=(1000000, 1000000): out_features·∏input_shape (entries of W, out_features=1000000) = "
     "1000000000000000000, more than 281474976710656 = 2**48 (symconv.spec.MAX_ELEMENTS)"),
    (lambda: prove_fc_as_conv(2, (2, 0)), "input_shape=(2, 0): every entry must be an integer ≥ 1"),
    (lambda: prove_fc_as_conv(2, [2, "a"]), "input_shape=[2, 'a']: every entry must be an integer ≥ 1"),
    (lambda: prove_fc_as_conv(2, (2, 2**40)),
     "input_shape=(2, 1099511627776): every entry must be at most 2147483647 (symconv.spec.MAX_EXTENT)"),
    (lambda: fc_as_conv([[1, 2]], (2, 0)), "input_shape=(2, 0): every entry must be an integer ≥ 1"),
])
def test_fc_errors_name_the_arguments_passed(call, message):
    _refused_at_once(call, message)
