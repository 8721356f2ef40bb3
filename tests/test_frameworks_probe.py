"""Real frameworks' convolutions, checked by probing at small sizes: JAX's
``lax.conv_general_dilated`` (NCHW/OIHW and NHWC/HWIO) and ``lax.conv_transpose``, onnxruntime's
``Conv`` and ``ConvTranspose`` (float32: ONNX graphs built with ``onnx.helper``), and tinygrad's
``Tensor.conv2d`` / ``conv_transpose2d`` (its pure-Python device: no compiler needed).

Each is verified in a correct configuration and rejected in a wrong one (kernel flipped, padding
on the wrong side, ONNX pads in the wrong order, a transposed kernel left unflipped, grouped
weights not regrouped). Every adapter is also compared with torch on small integers, exactly, so
the adapters are right whatever symconv says. The wrappers only translate arguments: every
product and sum is the framework's. The frameworks are in the ``test`` extra; a missing one skips.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import symconv.forms.transpose
import symconv.testing
from symconv import ConvSpec
from symconv.testing import assert_conv_equivalent
from tests.test_testing import one_torch_thread  # noqa: F401  (autouse)

PROBED = "verified by"
TRANSPOSE_CHECKER = pytest.mark.skipif(
    not hasattr(symconv.testing, "assert_conv_transpose_equivalent"),
    reason="symconv.testing.assert_conv_transpose_equivalent is not in this version")

# Small layers with every feature a framework must get right; the asymmetric padding tells a
# pad placed on the wrong side, unequal axes tell the ONNX pads order.
GROUPED = ConvSpec(4, 2, (3, 2), (5, 6), stride=(2, 1), padding=((1, 0), (2, 1)), dilation=(1, 2), groups=2)
SQUARE = ConvSpec(2, 2, 3, (4, 5), stride=2, padding=1, dilation=2, bias=True)   # C_in = C_out
STRIDED_1D = ConvSpec(2, 4, 3, 7, stride=3, padding=((2, 0),), groups=2, bias=False)


def spatial_flip(spec: ConvSpec, w: np.ndarray) -> np.ndarray:
    """w with its kernel axes reversed (NCHW: the last dims axes; NHWC/HWIO: the first)."""
    axes = range(w.ndim - spec.dims, w.ndim) if spec.layout == "NCHW" else range(spec.dims)
    return np.flip(w, tuple(axes))


def channel_shape(spec: ConvSpec, ndim: int) -> tuple[int, ...]:
    """The shape that broadcasts a per-channel vector over a batched array of ``ndim`` axes."""
    shape = [1] * ndim
    shape[1 if spec.layout == "NCHW" else -1] = -1
    return tuple(shape)


def integers(shape, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-4, 5, size=shape).astype(np.float64)


def torch_transpose(spec: ConvSpec, g: np.ndarray, w: np.ndarray, b, output_padding) -> np.ndarray:
    """torch's conv_transpose (NCHW, symmetric padding) of a batch g, as the reference."""
    transpose = getattr(F, f"conv_transpose{spec.dims}d")
    return transpose(torch.tensor(g), torch.tensor(w), None if b is None else torch.tensor(b), stride=spec.stride,
                     padding=[p for p, _ in spec.padding], output_padding=output_padding, groups=spec.groups,
                     dilation=spec.dilation).numpy()


def torch_conv(spec: ConvSpec, x: np.ndarray, w: np.ndarray, b) -> np.ndarray:
    """torch's conv (NCHW, any zero padding) of a batch x, as the reference."""
    pads = [p for before_after in reversed(spec.padding) for p in before_after]
    conv = getattr(F, f"conv{spec.dims}d")
    return conv(F.pad(torch.tensor(x), pads), torch.tensor(w), None if b is None else torch.tensor(b),
                stride=spec.stride, dilation=spec.dilation, groups=spec.groups).numpy()


def transpose_pads(spec: ConvSpec, output_padding) -> list[tuple[int, int]]:
    """The padding of the stride-dilated g that gives the transposed convolution:
    (d·(K − 1) − p_before, d·(K − 1) − p_after + output_padding) per axis."""
    ops = (output_padding,) * spec.dims if isinstance(output_padding, int) else output_padding
    return [(d * (k - 1) - before, d * (k - 1) - after + op)
            for k, d, (before, after), op in zip(spec.kernel_size, spec.dilation, spec.padding, ops)]


# ---- JAX ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_enable_x64", True)   # float64: probing and the exact trials need it
    from jax import lax
    return lax


def dimension_numbers(spec: ConvSpec) -> tuple[str, str, str]:
    """JAX's (lhs, rhs, out) specs: NCHW/OIHW/NCHW, or NHWC/HWIO/NHWC."""
    s = "DHW"[3 - spec.dims:]
    return ("NC" + s, "OI" + s, "NC" + s) if spec.layout == "NCHW" else ("N" + s + "C", s + "IO", "N" + s + "C")


def jax_conv(lax, spec: ConvSpec, fault: str | None = None):
    """``lax.conv_general_dilated`` as a batched fn(x, w, b); ``fault``: "flip" the kernel or put
    the padding on the wrong side ("pad-side")."""
    pads = [(after, before) if fault == "pad-side" else (before, after) for before, after in spec.padding]

    def fn(x, w, b):
        y = lax.conv_general_dilated(x, spatial_flip(spec, w) if fault == "flip" else w, spec.stride, pads,
                                     rhs_dilation=spec.dilation, dimension_numbers=dimension_numbers(spec),
                                     feature_group_count=spec.groups)
        return np.asarray(y if b is None else y + b.reshape(channel_shape(spec, y.ndim)))

    return fn


def jax_transpose(lax, spec: ConvSpec, output_padding, transpose_kernel: bool = True):
    """``lax.conv_transpose`` (no groups) as a batched fn(g, w, b) with w the forward kernel:
    ``transpose_kernel=True`` flips it and swaps its channel axes, as the gradient needs."""
    def fn(g, w, b):
        x = lax.conv_transpose(g, w, spec.stride, transpose_pads(spec, output_padding), rhs_dilation=spec.dilation,
                               dimension_numbers=dimension_numbers(spec), transpose_kernel=transpose_kernel)
        return np.asarray(x if b is None else x + b.reshape(channel_shape(spec, x.ndim)))

    return fn


def jax_grouped_transpose(lax, spec: ConvSpec, output_padding, regroup: bool = True):
    """The grouped transposed convolution by ``conv_general_dilated`` with ``lhs_dilation`` (NCHW):
    w (C_out, C_in/G, *k) → (C_in, C_out/G, *k) per group, flipped. ``regroup=False`` reshapes
    without swapping the per-group channel axes: the groups × stride bug class of pytorch#50042."""
    G, k = spec.groups, spec.kernel_size

    def fn(g, w, b):
        if regroup:
            w = w.reshape(G, spec.out_per_group, spec.in_per_group, *k).swapaxes(1, 2)
        w = spatial_flip(spec, w.reshape(spec.in_channels, spec.out_per_group, *k))
        x = lax.conv_general_dilated(g, w, (1,) * spec.dims, transpose_pads(spec, output_padding),
                                     lhs_dilation=spec.stride, rhs_dilation=spec.dilation,
                                     dimension_numbers=dimension_numbers(spec), feature_group_count=G)
        return np.asarray(x if b is None else x + b.reshape(channel_shape(spec, x.ndim)))

    return fn


@pytest.mark.parametrize("spec", [GROUPED, replace(GROUPED, layout="NHWC"), STRIDED_1D], ids=["NCHW", "NHWC", "1d"])
def test_jax_conv_general_dilated_is_verified(lax, spec):
    result = assert_conv_equivalent(jax_conv(lax, spec), spec, mode="probe", batched=True)
    assert PROBED in str(result)


@pytest.mark.parametrize("fault, diagnosis", [("flip", "kernel flipped"), ("pad-side", "padding on the wrong side")])
def test_jax_conv_general_dilated_is_rejected_when_wrong(lax, fault, diagnosis):
    with pytest.raises(AssertionError, match=f"Diagnosis: {diagnosis}"):
        assert_conv_equivalent(jax_conv(lax, GROUPED, fault), GROUPED, mode="probe", batched=True)


def transposed_case(spec: ConvSpec, output_padding) -> tuple[ConvSpec, object]:
    """(the forward layer, output_padding) with the layer's input size the transposed size: the
    transposed convolution of g (spec's output shape) is then x-shaped (output_padding < stride)."""
    return replace(spec, input_size=symconv.forms.transpose.transposed_size(spec, output_padding)), output_padding


# The transposed convolutions: spec is the forward layer, output_padding picks its input size.
TRANSPOSED = [transposed_case(SQUARE, (1, 0)), transposed_case(replace(SQUARE, layout="NHWC", bias=False), 0)]
GROUPED_TRANSPOSED = transposed_case(ConvSpec(4, 6, (3, 2), (5, 4), stride=2, padding=(1, 0), dilation=(2, 1),
                                              groups=2), (1, 1))


def matches_torch(fn, spec: ConvSpec, output_padding) -> bool:
    """Whether fn(g, w, b) equals torch's conv_transpose exactly on a batch of small integers (any layout)."""
    g, w = integers((2, *spec.output_shape), 1), integers(spec.weight_shape, 2)
    b = integers((spec.in_channels,), 3) if spec.bias else None
    nchw = replace(spec, layout="NCHW")
    g_c = g if spec.layout == "NCHW" else np.moveaxis(g, -1, 1)
    w_c = w if spec.layout == "NCHW" else np.moveaxis(w, (-1, -2), (0, 1))
    expected = torch_transpose(nchw, g_c, w_c, b, output_padding)
    y = np.asarray(fn(g, w, b), dtype=np.float64)
    return np.array_equal(y if spec.layout == "NCHW" else np.moveaxis(y, -1, 1), expected)


@pytest.mark.parametrize("spec, output_padding", TRANSPOSED, ids=["NCHW", "NHWC"])
def test_jax_conv_transpose_adapter_is_torchs_transposed_convolution(lax, spec, output_padding):
    assert matches_torch(jax_transpose(lax, spec, output_padding), spec, output_padding)
    if spec.in_channels == spec.out_channels:  # the wrong configuration below computes something else
        assert not matches_torch(jax_transpose(lax, spec, output_padding, transpose_kernel=False), spec, output_padding)


def test_jax_grouped_transpose_adapter_is_torchs_and_the_bug_is_not(lax):
    spec, output_padding = GROUPED_TRANSPOSED
    assert matches_torch(jax_grouped_transpose(lax, spec, output_padding), spec, output_padding)
    assert not matches_torch(jax_grouped_transpose(lax, spec, output_padding, regroup=False), spec, output_padding)


@TRANSPOSE_CHECKER
@pytest.mark.parametrize("spec, output_padding", TRANSPOSED, ids=["NCHW", "NHWC"])
def test_jax_conv_transpose_is_verified(lax, spec, output_padding):
    result = symconv.testing.assert_conv_transpose_equivalent(
        jax_transpose(lax, spec, output_padding), spec, output_padding=output_padding, mode="probe", batched=True)
    assert PROBED in str(result)


@TRANSPOSE_CHECKER
def test_jax_grouped_transpose_is_verified_and_the_ungrouped_weights_rejected(lax):
    spec, output_padding = GROUPED_TRANSPOSED
    check = symconv.testing.assert_conv_transpose_equivalent
    assert PROBED in str(check(jax_grouped_transpose(lax, spec, output_padding), spec, output_padding=output_padding,
                               mode="probe", batched=True))
    with pytest.raises(AssertionError, match="does not compute"):
        check(jax_grouped_transpose(lax, spec, output_padding, regroup=False), spec, output_padding=output_padding,
              mode="probe", batched=True)


@TRANSPOSE_CHECKER
def test_jax_conv_transpose_without_transpose_kernel_is_rejected(lax):
    """transpose_kernel=False leaves the kernel unflipped and its channel axes unswapped (C_in = C_out,
    so the shapes still fit): not the transposed convolution."""
    spec, output_padding = TRANSPOSED[0]
    with pytest.raises(AssertionError, match="does not compute"):
        symconv.testing.assert_conv_transpose_equivalent(
            jax_transpose(lax, spec, output_padding, transpose_kernel=False), spec, output_padding=output_padding,
            mode="probe", batched=True)


# ---- onnxruntime -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ort():
    pytest.importorskip("onnx")
    return pytest.importorskip("onnxruntime")


def float32_probing() -> bool:
    """Whether probe mode verifies exact float32-only code (torch's conv in float32): onnxruntime's
    Conv has no float64 kernel. Probe modes whose random trials send values that float32 cannot
    hold say, rightly, that such code rounds."""
    spec = ConvSpec(1, 1, 2, 3, bias=False)
    conv = lambda x, w, b: F.conv1d(torch.tensor(x, dtype=torch.float32), torch.tensor(w, dtype=torch.float32))  # noqa: E731
    try:
        assert_conv_equivalent(lambda x, w, b: conv(x, w, b).numpy(), spec, mode="probe", batched=True)
    except AssertionError:
        return False
    return True


FLOAT32_PROBING = float32_probing()


def assert_float32_verified(fn, spec: ConvSpec) -> None:
    """fn (float32 only) verified; where probe mode rejects float32-only code, its exact one-hot
    probing must pass all the same, and only a random float64 trial fail, on rounding."""
    if FLOAT32_PROBING:
        assert PROBED in str(assert_conv_equivalent(fn, spec, mode="probe", batched=True))
        return
    with pytest.raises(AssertionError, match="fn differs from the layer at a random exact input") as error:
        assert_conv_equivalent(fn, spec, mode="probe", batched=True)
    assert "float64" in str(error.value) and "fn rounds" in str(error.value)


def onnx_session(op: str, spec: ConvSpec, attributes: dict, bias_channels: int):
    """An onnxruntime session of one ``op`` node: X (batch N, then the node's input shape), W, B."""
    from onnx import TensorProto, helper
    x_channels = spec.in_channels if op == "Conv" else spec.out_channels
    x_size = spec.input_size if op == "Conv" else spec.output_size
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", x_channels, *x_size]),
              helper.make_tensor_value_info("W", TensorProto.FLOAT, list(spec.weight_shape))]
    names = ["X", "W"]
    if spec.bias:
        inputs.append(helper.make_tensor_value_info("B", TensorProto.FLOAT, [bias_channels]))
        names.append("B")
    node = helper.make_node(op, names, ["Y"], kernel_shape=list(spec.kernel_size), strides=list(spec.stride),
                            dilations=list(spec.dilation), group=spec.groups, **attributes)
    graph = helper.make_graph([node], op, inputs, [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    import onnxruntime
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])

    def fn(x, w, b):  # float32 is all onnxruntime's Conv takes
        feed = {"X": np.asarray(x, np.float32), "W": np.asarray(w, np.float32)}
        if spec.bias:
            feed["B"] = np.asarray(b, np.float32)
        return session.run(None, feed)[0]

    return fn


def onnx_pads(spec: ConvSpec, order: str = "onnx") -> list[int]:
    """ONNX's pads [x1_begin, x2_begin, …, x1_end, x2_end, …]; ``order="pairs"`` is the common
    mistake [x1_begin, x1_end, x2_begin, x2_end, …]."""
    if order == "pairs":
        return [p for pair in spec.padding for p in pair]
    return [before for before, _ in spec.padding] + [after for _, after in spec.padding]


def onnx_conv(spec: ConvSpec, order: str = "onnx", auto_pad: str | None = None):
    attributes = {"auto_pad": auto_pad} if auto_pad else {"pads": onnx_pads(spec, order)}
    return onnx_session("Conv", spec, attributes, spec.out_channels)


def onnx_conv_transpose(spec: ConvSpec, output_padding, order: str = "onnx"):
    ops = [output_padding] * spec.dims if isinstance(output_padding, int) else list(output_padding)
    return onnx_session("ConvTranspose", spec, {"pads": onnx_pads(spec, order), "output_padding": ops},
                        spec.in_channels)


# TensorFlow's 'SAME' at stride 2 (ONNX SAME_UPPER): 6 → 3 outputs, the odd padding after.
SAME_UPPER_ODD = ConvSpec(2, 2, (2, 3), (6, 6), stride=2, padding=((0, 1), (0, 1)), bias=True)


@pytest.mark.parametrize("spec", [GROUPED, SAME_UPPER_ODD], ids=["grouped", "same-upper"])
def test_onnx_conv_adapter_is_torchs_convolution(ort, spec):
    x, w, b = integers((2, *spec.input_shape), 4), integers(spec.weight_shape, 5), integers((spec.out_channels,), 6)
    assert np.array_equal(onnx_conv(spec)(x, w, b), torch_conv(spec, x, w, b))
    assert not np.array_equal(onnx_conv(spec, order="pairs")(x, w, b), torch_conv(spec, x, w, b))
    if spec is SAME_UPPER_ODD:
        assert np.array_equal(onnx_conv(spec, auto_pad="SAME_UPPER")(x, w, b), torch_conv(spec, x, w, b))


@pytest.mark.parametrize("spec, auto_pad", [(GROUPED, None), (SAME_UPPER_ODD, "SAME_UPPER"), (STRIDED_1D, None)],
                         ids=["grouped", "same-upper", "1d"])
def test_onnx_conv_is_verified(ort, spec, auto_pad):
    assert_float32_verified(onnx_conv(spec, auto_pad=auto_pad), spec)


# Pads in pair order keep this layer's output size (stride 2, n − span odd), so only the values tell.
PAIR_ORDER = ConvSpec(2, 2, 2, (5, 5), stride=2, padding=((1, 1), (0, 1)))


@pytest.mark.parametrize("spec, message", [(PAIR_ORDER, "Diagnosis: padding"), (GROUPED, "fn returned shape")],
                         ids=["same-shape", "other-shape"])
def test_onnx_conv_with_pads_in_pair_order_is_rejected(ort, spec, message):
    """[x1_begin, x1_end, x2_begin, x2_end] read as ONNX's order pads the wrong axes' sides."""
    with pytest.raises(AssertionError, match=message):
        assert_conv_equivalent(onnx_conv(spec, order="pairs"), spec, mode="probe", batched=True)


def test_onnx_same_lower_is_rejected_as_padding_on_the_wrong_side(ort):
    with pytest.raises(AssertionError, match="Diagnosis: padding on the wrong side"):
        assert_conv_equivalent(onnx_conv(SAME_UPPER_ODD, auto_pad="SAME_LOWER"), SAME_UPPER_ODD, mode="probe",
                               batched=True)


ONNX_TRANSPOSED = transposed_case(ConvSpec(4, 2, (3, 2), (6, 5), stride=(2, 3), padding=(1, 0), dilation=(2, 1),
                                           groups=2), (1, 2))


def test_onnx_conv_transpose_adapter_is_torchs_and_the_pads_order_matters(ort):
    spec, output_padding = ONNX_TRANSPOSED
    assert matches_torch(onnx_conv_transpose(spec, output_padding), spec, output_padding)
    assert not matches_torch(onnx_conv_transpose(spec, output_padding, order="pairs"), spec, output_padding)
    assert not matches_torch(onnx_conv_transpose(spec, (0, 2)), spec, output_padding)  # the shape differs


@TRANSPOSE_CHECKER
def test_onnx_conv_transpose_is_verified(ort):
    """float32 only: its identity test passes, the exact trials (planned for float64, as the
    forward check's) say it rounds and point to a tolerance, within which it is verified."""
    spec, output_padding = ONNX_TRANSPOSED
    fn = onnx_conv_transpose(spec, output_padding)
    with pytest.raises(symconv.testing.NotCheckable, match=r"^fn returns float32 on float64 inputs .*rtol=, atol="):
        symconv.testing.assert_conv_transpose_equivalent(fn, spec, output_padding=output_padding, mode="probe",
                                                         batched=True)
    result = symconv.testing.assert_conv_transpose_equivalent(fn, spec, output_padding=output_padding, mode="probe",
                                                              batched=True, rtol=1e-5, atol=1e-6)
    assert str(result).startswith("verified within tolerance rtol=1e-05, atol=1e-06")


@TRANSPOSE_CHECKER
@pytest.mark.parametrize("order, output_padding", [("pairs", (1, 2)), ("onnx", (0, 2))], ids=["pads", "output_padding"])
def test_onnx_conv_transpose_is_rejected_when_wrong(ort, order, output_padding):
    """Pads in pair order, or an output_padding other than the checked one: rejected."""
    spec, checked = ONNX_TRANSPOSED
    with pytest.raises(AssertionError, match="does not compute"):
        symconv.testing.assert_conv_transpose_equivalent(
            onnx_conv_transpose(spec, output_padding, order=order), spec, output_padding=checked, mode="probe",
            batched=True)


# ---- tinygrad ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tinygrad():
    return pytest.importorskip("tinygrad")


def tinygrad_pads(spec: ConvSpec, order: str = "tinygrad") -> tuple[int, ...]:
    """tinygrad's explicit padding: (before, after) per axis, the last axis first, like F.pad;
    ``order="axes"`` lists the axes first to last, the easy mistake."""
    axes = spec.padding if order == "axes" else reversed(spec.padding)
    return tuple(p for pair in axes for p in pair)


def tinygrad_conv(tinygrad, spec: ConvSpec, order: str = "tinygrad"):
    """``Tensor.conv2d`` (any number of axes, NCHW) on tinygrad's pure-Python device, float64."""
    def fn(x, w, b):
        tensor = lambda a: tinygrad.Tensor(np.asarray(a, np.float64), device="PYTHON")  # noqa: E731
        y = tensor(x).conv2d(tensor(w), None if b is None else tensor(b), groups=spec.groups, stride=spec.stride,
                             dilation=spec.dilation, padding=tinygrad_pads(spec, order))
        return y.numpy()

    return fn


def tinygrad_conv_transpose(tinygrad, spec: ConvSpec, output_padding):
    def fn(g, w, b):
        tensor = lambda a: tinygrad.Tensor(np.asarray(a, np.float64), device="PYTHON")  # noqa: E731
        x = tensor(g).conv_transpose2d(tensor(w), None if b is None else tensor(b), groups=spec.groups,
                                       stride=spec.stride, dilation=spec.dilation,
                                       padding=[p for p, _ in spec.padding], output_padding=output_padding)
        return x.numpy()

    return fn


SMALL = ConvSpec(2, 2, (2, 3), (4, 5), stride=(1, 2), padding=((1, 0), (0, 2)), dilation=(2, 1), groups=2)
SMALL_TRANSPOSED = transposed_case(ConvSpec(2, 4, (2, 3), (4, 5), stride=2, padding=(0, 1), dilation=(2, 1),
                                            groups=2), (1, 1))


def test_every_transposed_case_here_maps_g_to_the_forward_input_shape():
    for spec, output_padding in [*TRANSPOSED, GROUPED_TRANSPOSED, ONNX_TRANSPOSED, SMALL_TRANSPOSED]:
        assert symconv.forms.transpose.transposed_size(spec, output_padding) == spec.input_size
        assert max(np.atleast_1d(output_padding)) > 0 or spec.layout == "NHWC"


def test_tinygrad_adapters_are_torchs(tinygrad):
    x, w, b = integers((2, *SMALL.input_shape), 7), integers(SMALL.weight_shape, 8), integers((2,), 9)
    assert np.array_equal(tinygrad_conv(tinygrad, SMALL)(x, w, b), torch_conv(SMALL, x, w, b))
    assert not np.array_equal(tinygrad_conv(tinygrad, SMALL, order="axes")(x, w, b), torch_conv(SMALL, x, w, b))
    spec, output_padding = SMALL_TRANSPOSED
    assert matches_torch(tinygrad_conv_transpose(tinygrad, spec, output_padding), spec, output_padding)


def test_tinygrad_conv2d_is_verified(tinygrad):
    result = assert_conv_equivalent(tinygrad_conv(tinygrad, SMALL), SMALL, mode="probe", batched=True)
    assert PROBED in str(result)


# Axis-order padding swaps the axes' pairs: the same totals here, so only the values tell.
SIDES = ConvSpec(1, 2, 2, (4, 4), padding=((1, 0), (0, 1)))


@pytest.mark.parametrize("spec, message", [(SIDES, "Diagnosis: padding"), (SMALL, "fn returned shape")],
                         ids=["same-shape", "other-shape"])
def test_tinygrad_conv2d_with_padding_in_axis_order_is_rejected(tinygrad, spec, message):
    with pytest.raises(AssertionError, match=message):
        assert_conv_equivalent(tinygrad_conv(tinygrad, spec, order="axes"), spec, mode="probe", batched=True)


@TRANSPOSE_CHECKER
def test_tinygrad_conv_transpose2d_is_verified(tinygrad):
    spec, output_padding = SMALL_TRANSPOSED
    result = symconv.testing.assert_conv_transpose_equivalent(
        tinygrad_conv_transpose(tinygrad, spec, output_padding), spec, output_padding=output_padding, mode="probe",
        batched=True)
    assert PROBED in str(result)
