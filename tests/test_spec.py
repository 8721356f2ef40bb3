"""ConvSpec: validation (every bad-input class), normalisation, shapes and counts, vs PyTorch."""

from __future__ import annotations

from math import prod

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import symconv
from symconv import ConvSpec, SpecError
from tests.strategies import conv_specs, integer_operands
from tests.torch_reference import CONV, torch_conv

BASE = dict(in_channels=2, out_channels=4, kernel_size=3, input_size=(5, 5))

# (overrides of BASE, parameter named by the error, value named by the error)
BAD_SPECS = [
    ({"in_channels": 2.0}, "in_channels", 2.0),
    ({"in_channels": True}, "in_channels", True),
    ({"in_channels": "2"}, "in_channels", "2"),
    ({"in_channels": 0}, "in_channels", 0),
    ({"out_channels": -1}, "out_channels", -1),
    ({"groups": 3}, "groups", 3),
    ({"groups": 0}, "groups", 0),
    ({"in_channels": 2, "out_channels": 3, "groups": 2}, "groups", 2),
    ({"kernel_size": 0}, "kernel_size", 0),
    ({"kernel_size": (3, 0)}, "kernel_size", (3, 0)),
    ({"kernel_size": (3, 3, 3)}, "kernel_size", (3, 3, 3)),
    ({"kernel_size": (3, 1.5)}, "kernel_size", (3, 1.5)),
    ({"stride": 0}, "stride", 0),
    ({"stride": (1, 2, 1)}, "stride", (1, 2, 1)),
    ({"stride": 1.0}, "stride", 1.0),
    ({"dilation": 0}, "dilation", 0),
    ({"dilation": (2, False)}, "dilation", (2, False)),
    ({"padding": -1}, "padding", -1),
    ({"padding": (1, -1)}, "padding", (1, -1)),
    ({"padding": ((1, 2), (0, -1))}, "padding", ((1, 2), (0, -1))),
    ({"padding": (1, 1, 1)}, "padding", (1, 1, 1)),
    ({"padding": ((1, 2, 3), 0)}, "padding", ((1, 2, 3), 0)),
    ({"padding": 0.5}, "padding", 0.5),
    ({"padding": True}, "padding", True),
    ({"padding": None}, "padding", None),
    ({"padding": "SAME"}, "padding", "SAME"),
    ({"padding": "same", "stride": 2}, "padding", "same"),
    ({"padding": "same", "stride": (1, 2)}, "padding", "same"),
    ({"input_size": ()}, "input_size", ()),
    ({"input_size": (5, 5, 5, 5)}, "input_size", (5, 5, 5, 5)),
    ({"input_size": 5, "kernel_size": (1, 1, 1, 1)}, "kernel_size", (1, 1, 1, 1)),
    ({"input_size": (5, 0)}, "input_size", (5, 0)),
    ({"input_size": "55"}, "input_size", "55"),
    ({"padding_mode": "mirror"}, "padding_mode", "mirror"),
    ({"padding_mode": None}, "padding_mode", None),
    ({"padding_mode": "reflect", "padding": 5}, "padding", 5),
    ({"padding_mode": "reflect", "padding": ((0, 0), (5, 0))}, "padding", ((0, 0), (5, 0))),
    ({"padding_mode": "reflect", "padding": "same", "kernel_size": 11}, "padding", "same"),
    ({"padding_mode": "circular", "padding": 6}, "padding", 6),
    ({"padding_mode": "circular", "padding": (0, (0, 6))}, "padding", (0, (0, 6))),
    ({"kernel_size": 6}, "kernel_size", 6),
    ({"kernel_size": 3, "dilation": 3}, "kernel_size", 3),
    ({"kernel_size": (3, 8), "padding": (0, 1)}, "kernel_size", (3, 8)),
    ({"convention": "correlation"}, "convention", "correlation"),
    ({"layout": "NCW"}, "layout", "NCW"),
    ({"bias": 1}, "bias", 1),
    ({"bias": None}, "bias", None),
]


@pytest.mark.parametrize("overrides, parameter, value", BAD_SPECS,
                         ids=[f"{p}={v!r}" for _, p, v in BAD_SPECS])
def test_bad_spec_names_parameter_value_and_rule(overrides: dict, parameter: str, value: object) -> None:
    with pytest.raises(SpecError) as caught:
        ConvSpec(**{**BASE, **overrides})
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.parameter == parameter
    assert error.value == value and type(error.value) is type(value)
    assert str(error).startswith(f"{parameter}={value!r}: ")
    assert len(error.rule) > 10


def test_bad_spec_rules_say_what_is_wrong() -> None:
    def rule(**overrides: object) -> str:
        with pytest.raises(SpecError) as caught:
            ConvSpec(**{**BASE, **overrides})
        return caught.value.rule

    assert "divide in_channels=2 and out_channels=4" in rule(groups=3)
    assert "stride 1" in rule(padding="same", stride=2)
    assert "axis 1: pad 5, size 5" in rule(padding_mode="reflect", padding=((0, 0), (5, 0)))
    assert "≤ the input size" in rule(padding_mode="circular", padding=6)
    assert "= 7 > input 5 + padding 0" in rule(dilation=3)
    assert "'zeros', 'circular', 'reflect', 'replicate'" in rule(padding_mode="mirror")
    assert "tuple of 2" in rule(stride=(1, 2, 1))


def test_the_limits_themselves_are_accepted() -> None:
    """The edges of each rule are valid: reflect pad n−1, circular pad n, kernel = padded input."""
    assert ConvSpec(**{**BASE, "padding_mode": "reflect", "padding": 4}).output_size == (11, 11)
    assert ConvSpec(**{**BASE, "padding_mode": "circular", "padding": 5}).output_size == (13, 13)
    assert ConvSpec(**{**BASE, "kernel_size": 7, "padding": 1}).output_size == (1, 1)
    assert ConvSpec(**{**BASE, "kernel_size": 3, "dilation": 2}).output_size == (1, 1)


def spec_and_operands() -> tuple[ConvSpec, np.ndarray, np.ndarray, np.ndarray]:
    spec = ConvSpec(**BASE)
    return (spec, *symconv.symbols(spec))


@pytest.mark.parametrize("call, parameter", [
    (lambda s, x, w, b: symconv.conv(s, x[:1], w, b), "x.shape"),
    (lambda s, x, w, b: symconv.conv(s, x, w[:, :1], b), "w.shape"),
    (lambda s, x, w, b: symconv.conv(s, x, w, b[:3]), "b.shape"),
    (lambda s, x, w, b: symconv.conv(s, x, w), "b"),
    (lambda s, x, w, b: symconv.conv(s, x[None, None], w, b), "x.shape"),
    (lambda s, x, w, b: symconv.toeplitz(s, w.T), "w.shape"),
    (lambda s, x, w, b: symconv.toeplitz_conv(s, x, w, b, toeplitz=sp.zeros(3, 3)), "toeplitz.shape"),
    (lambda s, x, w, b: symconv.im2col(s, x[..., :4]), "x.shape"),
    (lambda s, x, w, b: symconv.im2col(s, x, order="tf"), "order"),
    (lambda s, x, w, b: symconv.kernel_matrix(s, w[:2]), "w.shape"),
    (lambda s, x, w, b: symconv.im2col_conv(s, x, w, b, im2col=sp.zeros(2, 2)), "im2col.shape"),
    (lambda s, x, w, b: symconv.im2col_conv(s, x, w, b, kernel_matrix=sp.zeros(2, 2)), "kernel_matrix.shape"),
    (lambda s, x, w, b: symconv.im2col_conv(s, x, w, b, order="paper", kernel_matrix=sp.zeros(4, 18)),
     "kernel_matrix.shape"),
    (lambda s, x, w, b: symconv.prove(s, output=np.zeros((4, 3))), "output.shape"),
    (lambda s, x, w, b: symconv.prove("a spec"), "spec"),
    (lambda s, x, w, b: symconv.symbols(s, batch=0), "batch"),
    (lambda s, x, w, b: symconv.symbols(s, batch=True), "batch"),
    (lambda s, x, w, b: symconv.symbols(s, batch=2.0), "batch"),
])
def test_bad_operands_name_the_argument(call, parameter: str) -> None:
    spec, x, w, b = spec_and_operands()
    with pytest.raises(SpecError) as caught:
        call(spec, x, w, b)
    assert caught.value.parameter == parameter
    assert str(caught.value).startswith(f"{parameter}=")


def test_bias_given_when_spec_has_none() -> None:
    spec = ConvSpec(**{**BASE, "bias": False})
    x, w, b = symconv.symbols(spec)
    assert b is None
    with pytest.raises(SpecError, match=r"^b='an array of shape \(4,\)': .*bias=False"):
        symconv.conv(spec, x, w, np.zeros(4))


def test_nhwc_shapes_are_checked_in_nhwc() -> None:
    spec = ConvSpec(**{**BASE, "layout": "NHWC"})
    x, w, b = symconv.symbols(spec)
    assert x.shape == (5, 5, 2) and w.shape == (3, 3, 2, 4)
    with pytest.raises(SpecError, match=r"x\.shape=\(2, 5, 5\): must be \(5, 5, 2\) .*NHWC"):
        symconv.conv(spec, np.moveaxis(x, -1, 0), w, b)


def test_batched_symbols() -> None:
    spec = ConvSpec(2, 1, 2, (3, 3), layout="NHWC")
    x, _, _ = symconv.symbols(spec, batch=np.int64(2))
    assert x.shape == (2, 3, 3, 2)
    assert str(x[1, 2, 0, 1]) == "x_{1,1,2,0}"  # named (sample, channel, i, j) in every layout


def test_normalised_fields() -> None:
    spec = ConvSpec(3, 6, kernel_size=(2, 3), input_size=(7, 8), stride=2, padding=(1, (0, 2)),
                    dilation=(1, 2), groups=3)
    assert spec.dims == 2
    assert spec.kernel_size == (2, 3) and spec.input_size == (7, 8)
    assert spec.stride == (2, 2) and spec.dilation == (1, 2)
    assert spec.padding == ((1, 1), (0, 2))
    assert ConvSpec(1, 1, 3, (4, 4, 4), padding="valid").padding == ((0, 0),) * 3
    assert ConvSpec(1, 1, (4, 2), 9, padding="same", dilation=(1, 3)).padding == ((1, 2), (1, 2))
    assert ConvSpec(1, 1, (2, 2), 5).input_size == (5, 5)  # dims from the kernel
    assert ConvSpec(1, 1, np.int64(3), np.int64(5)).kernel_size == (3,)  # numpy integers are ints
    assert ConvSpec(1, 1, 3, 5) == ConvSpec(1, 1, (3,), (5,), padding=((0, 0),))


def test_shapes_and_counts() -> None:
    spec = ConvSpec(4, 6, kernel_size=(2, 3), input_size=(4, 5), padding=(0, 1), groups=2)
    assert spec.output_size == (3, 5)
    assert (spec.in_per_group, spec.out_per_group) == (2, 3)
    assert [spec.group_of(o) for o in range(6)] == [0, 0, 0, 1, 1, 1]
    assert spec.weight_shape == (6, 2, 2, 3)
    assert spec.input_shape == (4, 4, 5) and spec.output_shape == (6, 3, 5)
    assert spec.toeplitz_shape == (6 * 15, 4 * 20)
    # Taps reading the zero padding: output columns 0 and 4 lose one of the 3 column taps.
    assert spec.taps_read == 3 * 5 * 6 - 3 * 2 * 2
    assert spec.n_terms == 6 * 2 * spec.taps_read
    assert spec.n_bias_terms == 6 * 15
    assert ConvSpec(4, 6, 2, 3, bias=False).n_bias_terms == 0
    nhwc = ConvSpec(4, 6, kernel_size=(2, 3), input_size=(4, 5), groups=2, layout="NHWC")
    assert nhwc.weight_shape == (2, 3, 2, 6)
    assert nhwc.input_shape == (4, 5, 4) and nhwc.output_shape == (3, 3, 6)


def test_describe() -> None:
    text = ConvSpec(2, 4, 3, (6, 6), stride=2, padding=1, dilation=(1, 2), groups=2, bias=False,
                    padding_mode="reflect", convention="convolution", layout="NHWC").describe()
    assert text == ("2-D, C_in=2, C_out=4, input=6×6, kernel=3×3, stride=2, "
                    "padding=1 (reflect), dilation=1×2, groups=2, no bias, "
                    "true convolution, NHWC")
    assert ConvSpec(1, 1, 2, 3).describe() == "1-D, C_in=1, C_out=1, input=3, kernel=2, bias"


@settings(max_examples=120, deadline=None)
@given(conv_specs(max_terms=600))
def test_output_size_and_counts_agree_with_torch_and_the_definition(spec: ConvSpec) -> None:
    padded = [n + before + after for n, (before, after) in zip(spec.input_size, spec.padding)]
    formula = tuple((p - d * (k - 1) - 1) // s + 1 for p, k, s, d in
                    zip(padded, spec.kernel_size, spec.stride, spec.dilation))
    assert spec.output_size == formula
    x, w, b = integer_operands(spec)
    assert torch_conv(spec, x, w, b).shape == spec.output_shape
    xs, ws, bs = symconv.symbols(spec)
    y = symconv.conv(spec, xs, ws, bs)
    assert y.shape == spec.output_shape
    assert sum(len(sp.Add.make_args(v)) for v in y.flat if v != 0) == spec.n_terms + spec.n_bias_terms


same_cases = st.tuples(
    st.sampled_from([1, 2, 3]),
    st.sampled_from(symconv.pattern.PADDING_MODES),
    st.integers(1, 4), st.integers(1, 3), st.integers(0, 3),
)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@settings(max_examples=80, deadline=None)
@given(same_cases, st.data())
def test_same_padding_is_placed_as_torch_places_it(case: tuple, data: st.DataObject) -> None:
    """padding='same' (even kernels, dilation, every mode) equals torch's padding='same'."""
    dims, mode, max_kernel, max_dilation, extra = case
    kernel = tuple(data.draw(st.integers(1, max_kernel)) for _ in range(dims))
    dilation = tuple(data.draw(st.integers(1, max_dilation)) for _ in range(dims))
    # torch's reflect padding needs pad < n: n > d·(K−1) is enough for every mode.
    size = tuple(d * (k - 1) + 1 + extra for k, d in zip(kernel, dilation))
    spec = ConvSpec(2, 2, kernel, size, padding="same", dilation=dilation, padding_mode=mode)
    assert spec.output_size == spec.input_size
    x, w, b = integer_operands(spec)
    layer = getattr(torch.nn, f"Conv{dims}d")(2, 2, kernel, padding="same", dilation=dilation,
                                              padding_mode=mode, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(w, dtype=torch.float64))
        layer.bias.copy_(torch.as_tensor(b, dtype=torch.float64))
        expected = layer(torch.as_tensor(x, dtype=torch.float64)[None])[0].numpy()
    assert np.array_equal(np.array(symconv.conv(spec, x, w, b), dtype=np.float64), expected)
    if mode == "zeros":  # the functional form pads in its own code path
        functional = CONV[dims](torch.as_tensor(x, dtype=torch.float64)[None],
                                torch.as_tensor(w, dtype=torch.float64), None,
                                padding="same", dilation=dilation)[0].numpy()
        assert np.array_equal(functional + np.reshape(b, (2,) + (1,) * dims), expected)


def test_same_even_kernel_pads_less_before_than_after() -> None:
    spec = ConvSpec(1, 1, 4, 6, padding="same", bias=False)
    assert spec.padding == ((1, 2),)
    x = np.arange(1, 7)
    w = np.array([[[1, 0, 0, 0]]])   # picks the first tap: u = out − 1
    assert np.array(symconv.conv(spec, x[None], w)).tolist() == [[0, 1, 2, 3, 4, 5]]
    reference = F.conv1d(torch.arange(1.0, 7.0)[None, None], torch.tensor([[[1.0, 0, 0, 0]]]),
                         padding="same")
    assert reference[0].tolist() == [[0, 1, 2, 3, 4, 5]]
    assert prod(spec.output_size) == 6


def test_a_ragged_array_is_refused_naming_the_argument() -> None:
    spec = ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    with pytest.raises(SpecError, match=r"^x='a ragged nested sequence': must be a rectangular array"):
        symconv.conv(spec, [[1, 2], [3]], [[[1, 2]]])


# ---- adversarial review, issue 11: sizes, bytes ------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    (dict(padding=b"ab"), r"^padding=b'ab': every padding amount must be an integer ≥ 0$"),
    (dict(input_size=b"\x05\x05"), r"^input_size=b'\\x05\\x05': must be an integer ≥ 1$"),
    (dict(input_size=10**30, stride=10**30),
     r"^input_size=10{30}: must be at most 2147483647 \(symconv.spec.MAX_EXTENT\)$"),
    (dict(input_size=(5, 2**31)), r"^input_size=\(5, 2147483648\): every entry must be at most 2147483647 "),
    (dict(padding=2**31), r"^padding=2147483648: every padding amount must be at most 2147483647 "),
    (dict(input_size=(2**30, 2**30)), r"^input_size=\(1073741824, 1073741824\): C_in·∏input_size \(elements of x, "
                                      r"C_in=1\) = 1152921504606846976, more than 281474976710656 = 2\*\*48 "),
])
def test_bytes_are_not_sizes_and_huge_sizes_are_named(kwargs, message):
    with pytest.raises(SpecError, match=message):
        ConvSpec(1, 1, 1, **{"input_size": (5, 5), **kwargs})


def test_the_size_rules_keep_large_real_layers():
    stem = ConvSpec(3, 64, kernel_size=7, input_size=(224, 224), stride=2, padding=3)
    assert stem.output_size == (112, 112)
    assert ConvSpec(1, 1, 1, (100_000, 100_000)).input_size == (100_000, 100_000)
