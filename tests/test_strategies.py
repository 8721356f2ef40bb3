"""symconv.strategies: every drawn spec is valid and meets its filters; the preset reaches every
combination it weights; transposed cases have an output_padding torch accepts, with torch's
result; bad filters are SpecErrors naming them; hypothesis stays optional."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, find, given, settings

from symconv import ConvSpec, conv_transpose, strategies
from symconv.errors import SpecError
from symconv.spec import check_spec

FILTERS = [  # conv_specs filters, each checked on every draw
    {},
    dict(dims=2, groups=(2, 4), in_per_group=1, out_per_group=(1, 3), stride=(2, 3), layouts="NHWC"),
    dict(dims=(1, 3), padding_modes="reflect", padding=("int", "tuple", "pairs"), padding_amount=(1, 2)),
    dict(dims=1, padding_modes=("circular", "zeros"), padding="pairs", padding_amount=(2, 3), input_size=(2, 5)),
    dict(padding="same", dilation=(2, 3), kernel_size=(2, 4), input_size=(5, 9), conventions="convolution"),
    dict(padding="same_upper", stride=2, padding_modes=("reflect", "circular"), bias=False),
    dict(padding="valid", kernel_size=1, stride=(1, 4), input_size=(1, 3), bias=True),
]


def same_upper(n: int, s: int, k: int, d: int) -> tuple[int, int]:
    """TensorFlow's 'SAME' pair, from its documented formula (independent of the module's)."""
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def within(value, bounds) -> bool:
    low, high = (bounds, bounds) if isinstance(bounds, int) else bounds
    return low <= value <= high


def assert_meets(spec: ConvSpec, filters: dict) -> None:
    """``spec`` is valid and meets each filter (defaults as the module documents them)."""
    assert check_spec(spec) is spec
    dims = filters.get("dims", (1, 2, 3))
    assert spec.dims in ((dims,) if isinstance(dims, int) else dims)
    assert spec.padding_mode in filters.get("padding_modes", ("zeros", "reflect", "replicate", "circular"))
    assert within(spec.groups, filters.get("groups", (1, 3)))
    assert within(spec.in_per_group, filters.get("in_per_group", (1, 2)))
    assert within(spec.out_per_group, filters.get("out_per_group", (1, 2)))
    kernels = filters.get("kernel_size", strategies.DEFAULT_KERNEL[spec.dims])
    sizes = filters.get("input_size", strategies.DEFAULT_INPUT[spec.dims])
    assert all(within(k, kernels) for k in spec.kernel_size)
    assert all(within(n, sizes) for n in spec.input_size)
    assert all(within(s, filters.get("stride", (1, 3))) for s in spec.stride)
    assert all(within(d, filters.get("dilation", (1, 2))) for d in spec.dilation)
    assert spec.layout in filters.get("layouts", ("NCHW", "NHWC"))
    assert spec.convention in filters.get("conventions", ("cross-correlation", "convolution"))
    assert filters.get("bias", spec.bias) == spec.bias
    forms = filters.get("padding", strategies.PADDING_FORMS)
    forms = (forms,) if isinstance(forms, str) else forms
    sides = [p for pair in spec.padding for p in pair]
    if set(forms) <= {"int", "tuple", "pairs"}:
        assert all(within(p, filters.get("padding_amount", (0, 2))) for p in sides)
    if forms == ("valid",):
        assert set(sides) == {0}
    if forms == ("same",):
        assert spec.stride == (1,) * spec.dims
        assert spec.padding == tuple(((d * (k - 1)) // 2, d * (k - 1) - (d * (k - 1)) // 2)
                                     for k, d in zip(spec.kernel_size, spec.dilation))
    if forms == ("same_upper",):
        assert spec.padding == tuple(same_upper(*a) for a in zip(spec.input_size, spec.stride, spec.kernel_size,
                                                                 spec.dilation))


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f) or "defaults")
def test_every_drawn_spec_is_valid_and_meets_its_filters(filters):
    @settings(max_examples=150, deadline=None, database=None)
    @given(strategies.conv_specs(**filters))
    def check(spec):
        assert_meets(spec, filters)

    check()


def test_max_terms_bounds_the_definition_without_health_check_failures():
    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=[])
    @given(strategies.conv_specs(max_terms=150))
    def check(spec):
        assert spec.n_terms + spec.n_bias_terms <= 150

    check()


# ---- the preset ------------------------------------------------------------------------------
def asymmetric(spec):
    return any(before != after for before, after in spec.padding)


def padded(spec):
    return any(p for pair in spec.padding for p in pair)


FORWARD_COMBINATIONS = {  # independent predicates for BROKEN_FORWARD's names
    "groups × stride": lambda spec: spec.groups > 1 and max(spec.stride) > 1,
    "asymmetric padding": asymmetric,
    "circular padding": lambda spec: spec.padding_mode == "circular" and padded(spec),
    "stride-2 same": lambda spec: set(spec.stride) == {2} and asymmetric(spec) and spec.padding == tuple(
        same_upper(n, 2, k, d) for n, k, d in zip(spec.input_size, spec.kernel_size, spec.dilation)),
    "1×1 with padding": lambda spec: set(spec.kernel_size) == {1} and padded(spec),
    "1×1 with stride": lambda spec: set(spec.kernel_size) == {1} and max(spec.stride) > 1,
}
TRANSPOSED_COMBINATIONS = {
    "groups × stride": lambda case: FORWARD_COMBINATIONS["groups × stride"](case.spec),
    "dilation × output_padding": lambda case: all(d > 1 and op > 0 for op, d in zip(case.output_padding,
                                                                                    case.spec.dilation)),
    "1×1 with stride": lambda case: FORWARD_COMBINATIONS["1×1 with stride"](case.spec),
}
BOUNDED = settings(max_examples=300, database=None, suppress_health_check=list(HealthCheck))


def test_the_preset_names_the_combinations_the_tests_look_for():
    assert set(strategies.BROKEN_FORWARD) == set(FORWARD_COMBINATIONS)
    assert set(strategies.BROKEN_TRANSPOSED) == set(TRANSPOSED_COMBINATIONS)


@pytest.mark.parametrize("name", FORWARD_COMBINATIONS)
def test_the_preset_produces_each_forward_combination_within_300_draws(name):
    spec = find(strategies.historically_broken(), FORWARD_COMBINATIONS[name], settings=BOUNDED)
    assert check_spec(spec) is spec and FORWARD_COMBINATIONS[name](spec)


@pytest.mark.parametrize("name", TRANSPOSED_COMBINATIONS)
def test_the_preset_produces_each_transposed_combination_within_300_draws(name):
    case = find(strategies.historically_broken(transposed=True), TRANSPOSED_COMBINATIONS[name], settings=BOUNDED)
    assert TRANSPOSED_COMBINATIONS[name](case) and case.spec.padding_mode == "zeros"


@settings(max_examples=100, deadline=None, database=None)
@given(strategies.historically_broken(dims=2, layouts="NHWC", bias=False))
def test_the_preset_keeps_the_filters_it_does_not_set(spec):
    assert spec.dims == 2 and spec.layout == "NHWC" and not spec.bias and check_spec(spec) is spec


# ---- transposed convolutions -----------------------------------------------------------------
@pytest.mark.parametrize("match_input", [True, False])
def test_transposed_cases_are_what_torch_computes(match_input):
    @settings(max_examples=25, deadline=None, database=None)
    @given(strategies.transposed_conv_specs(conventions="cross-correlation", layouts="NCHW", max_terms=400,
                                            match_input=match_input))
    def check(case):
        assert_torch_computes(case)
        if match_input:
            assert case.output_size == case.spec.input_size
            assert all(op < s for op, s in zip(case.output_padding, case.spec.stride))

    check()


def test_without_match_input_output_padding_reaches_past_the_stride():
    """What only the dilation makes valid (torch's "< stride or < dilation") is drawn, and torch takes it."""
    case = find(strategies.transposed_conv_specs(conventions="cross-correlation", layouts="NCHW", max_terms=400,
                                                 match_input=False),
                lambda case: any(op >= s for op, s in zip(case.output_padding, case.spec.stride)), settings=BOUNDED)
    assert_torch_computes(case)


def assert_torch_computes(case):
    """torch accepts the case's output_padding, and its conv_transpose has the case's output size
    and symconv's values exactly (small integers)."""
    spec, output_padding = case
    assert all(0 <= op < max(s, d) for op, s, d in zip(output_padding, spec.stride, spec.dilation))
    assert spec.padding_mode == "zeros" and not asymmetric(spec)
    rng = np.random.default_rng(len(spec.describe()))
    g = rng.integers(-5, 6, size=spec.output_shape)
    w = rng.integers(-5, 6, size=spec.weight_shape)
    transpose = getattr(F, f"conv_transpose{spec.dims}d")
    y = transpose(torch.tensor(g[None], dtype=torch.float64), torch.tensor(w, dtype=torch.float64),
                  stride=spec.stride, padding=[p for p, _ in spec.padding], output_padding=output_padding,
                  groups=spec.groups, dilation=spec.dilation)[0]
    assert tuple(y.shape) == (spec.in_channels, *case.output_size)
    expected = np.array(conv_transpose(spec, g, w, output_padding), dtype=np.int64)
    assert np.array_equal(y.numpy().astype(np.int64), expected)


# ---- bad filters -------------------------------------------------------------------------------
@pytest.mark.parametrize("make, parameter", [
    (lambda: strategies.conv_specs(groups=0), "groups"),
    (lambda: strategies.conv_specs(dims=4), "dims"),
    (lambda: strategies.conv_specs(dims=(1, 5)), "dims"),
    (lambda: strategies.conv_specs(dims=2.0), "dims"),
    (lambda: strategies.conv_specs(padding_modes="mirror"), "padding_modes"),
    (lambda: strategies.conv_specs(padding=()), "padding"),
    (lambda: strategies.conv_specs(padding="same", stride=2), "padding"),
    (lambda: strategies.conv_specs(stride=(3, 1)), "stride"),
    (lambda: strategies.conv_specs(kernel_size=(0, 2)), "kernel_size"),
    (lambda: strategies.conv_specs(dilation=1.5), "dilation"),
    (lambda: strategies.conv_specs(kernel_size=4, input_size=(1, 3)), "input_size"),
    (lambda: strategies.conv_specs(padding_modes="reflect", padding="int", padding_amount=3, input_size=3),
     "padding_amount"),
    (lambda: strategies.conv_specs(padding_amount=-1), "padding_amount"),
    (lambda: strategies.conv_specs(in_per_group=(2, 1)), "in_per_group"),
    (lambda: strategies.conv_specs(layouts="NCWH"), "layouts"),
    (lambda: strategies.conv_specs(conventions=["conv"]), "conventions"),
    (lambda: strategies.conv_specs(bias="yes"), "bias"),
    (lambda: strategies.conv_specs(max_terms=0), "max_terms"),
    (lambda: strategies.transposed_conv_specs(padding_modes="circular"), "padding_modes"),
    (lambda: strategies.transposed_conv_specs(match_input=1), "match_input"),
    (lambda: strategies.historically_broken(transposed="yes"), "transposed"),
    (lambda: strategies.historically_broken(groups=-2), "groups"),
])
def test_bad_filters_are_spec_errors_naming_the_parameter(make, parameter):
    with pytest.raises(SpecError) as error:
        make()
    assert error.value.parameter == parameter
    assert str(error.value).startswith(f"{parameter}=")


# ---- hypothesis stays optional -----------------------------------------------------------------
def test_import_symconv_does_not_import_hypothesis():
    code = "import sys, symconv; assert 'hypothesis' not in sys.modules, 'hypothesis imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_hypothesis_the_import_error_names_the_extra():
    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "try:\n    import symconv.strategies\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert "pip install 'symconv[hypothesis]'" in out, out


def test_the_readme_example_runs():
    """The README's property test over the preset runs and passes on torch's convolution."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "symconv import strategies" in b]
    assert len(blocks) == 1
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    namespace["test_torch_conv_where_frameworks_broke"]()
