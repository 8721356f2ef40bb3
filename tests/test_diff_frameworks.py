"""``symconv.diff`` across the framework presets (``symconv.frameworks``): torch 'same' against TF
'SAME', ONNX SAME_UPPER against SAME_LOWER, JAX's conv_transpose against torch's ConvTranspose,
scipy's correlate against convolve; each verdict's weight recipe run through the real libraries."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symconv
from symconv.cli import main
from symconv.diffing import DIFFERENT, PERMUTED, WeightPermutation

torch = pytest.importorskip("torch")
helper = pytest.importorskip("onnx").helper
from symconv.frameworks import from_jax_transpose, from_onnx, from_scipy, from_tensorflow, from_torch  # noqa: E402

README = Path(__file__).resolve().parents[1] / "README.md"
S = sp.Symbol


def recipe(text: str, w: np.ndarray) -> np.ndarray:
    """A weight recipe of symconv.diff (``np.transpose``/``np.flip``/``reshape`` of ``w_a``), run on
    a test array: the result's own text, written by symconv, nothing a user typed."""
    assert re.fullmatch(r"[\w.(), ]+", text)
    return eval(text, {"np": np, "w_a": w})  # noqa: S307 - symconv's own recipe


@pytest.mark.parametrize("kernel, size", [(2, (7,)), (4, (9, 9)), ((2, 4), (6, 7)), (4, (5, 6, 4))])
def test_torch_same_and_tf_same_agree_at_stride_one_with_even_kernels(kernel, size):
    dims = len(size)
    kernels = kernel if isinstance(kernel, tuple) else (kernel,) * dims
    module = getattr(torch.nn, f"Conv{dims}d")(3, 2, kernel, padding="same", bias=False)
    tf_layer = from_tensorflow((1, *size, 3), (*kernels, 3, 2), strides=1, padding="SAME")
    result = symconv.diff(from_torch(module, size), tf_layer)
    assert result.same and result.complete and result.sizes[0] == size and len(result.sizes) > 1
    assert result.names == ("torch", "TF SAME")
    order = tuple(range(2, 2 + dims)) + (1, 0)
    assert result.weight_recipe == f"np.transpose(w_a, {order})"


def test_torch_same_and_tf_same_agree_in_the_real_libraries_through_the_recipe():
    tf = pytest.importorskip("tensorflow")
    module = torch.nn.Conv2d(3, 2, 4, padding="same", bias=False).double()
    result = symconv.diff(from_torch(module, (7, 7)), from_tensorflow((1, 7, 7, 3), (4, 4, 3, 2), padding="SAME"))
    x = np.random.default_rng(0).integers(-3, 4, (1, 3, 7, 7)).astype(np.float64)
    w = module.weight.detach().numpy()
    y_torch = module(torch.from_numpy(x)).detach().numpy()
    y_tf = tf.nn.conv2d(x.transpose(0, 2, 3, 1), recipe(result.weight_recipe, w), 1, "SAME").numpy()
    assert np.allclose(y_torch.transpose(0, 2, 3, 1), y_tf)


def test_onnx_same_upper_and_same_lower_differ_with_the_input_size_and_the_output():
    def layer(auto_pad: str):
        node = helper.make_node("Conv", ["X", "W"], ["Y"], auto_pad=auto_pad, strides=[1, 1])
        return from_onnx(node, (1, 3, 9, 9), (8, 3, 4, 4))
    result = symconv.diff(layer("SAME_UPPER"), layer("SAME_LOWER"))
    assert (result.same, result.verdict, result.parameter) == (False, DIFFERENT, "padding")
    assert result.input_size == (1, 1) and result.output == (0, 0, 0)
    assert result.names == ("ONNX SAME_UPPER", "ONNX SAME_LOWER")
    assert result.reason == ("ONNX SAME_UPPER puts the extra padding row and column after; "
                             "ONNX SAME_LOWER puts them before")
    assert result.terms == (sum(S(f"w_{{0,{c},1,1}}") * S(f"x_{{{c},0,0}}") for c in range(3)),
                           sum(S(f"w_{{0,{c},2,2}}") * S(f"x_{{{c},0,0}}") for c in range(3)))


def test_tf_same_with_stride_two_matches_torch_padding_one_only_at_odd_sizes():
    tf_layer = from_tensorflow((1, 9, 9, 3), (3, 3, 3, 8), strides=2, padding="SAME")
    module = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
    assert tf_layer.spec.padding == from_torch(module, (9, 9)).spec.padding     # the same at 9×9
    result = symconv.diff(from_torch(module, (9, 9)), tf_layer)
    assert result.verdict == DIFFERENT and result.input_size == (2, 2) and result.output == (0, 0, 0)
    assert result.reason == "on H and W, torch pads 1 before and 1 after; TF SAME pads 0 before and 1 after"


@pytest.mark.parametrize("transpose_kernel", [False, True])
def test_jax_conv_transpose_against_torch_conv_transpose(transpose_kernel):
    """Without transpose_kernel JAX applies the kernel unflipped, with its I/O axes as the layer's:
    the same as torch's ConvTranspose only with the kernel flipped (and the axes moved)."""
    module = torch.nn.ConvTranspose2d(3, 8, 4, stride=2, padding=1, bias=False)
    rhs = (4, 4, 8, 3) if transpose_kernel else (4, 4, 3, 8)
    jax_layer = from_jax_transpose((1, 5, 5, 3), rhs, (2, 2), "SAME", transpose_kernel=transpose_kernel)
    result = symconv.diff(from_torch(module, (5, 5)), jax_layer)
    if transpose_kernel:
        assert result.same and result.weight_recipe == "np.transpose(w_a, (2, 3, 1, 0))"
    else:
        assert result.verdict == PERMUTED and result.permutation == WeightPermutation(flip=(0, 1))
        assert result.parameter == "kernel flip"
        assert result.weight_recipe == "np.flip(np.transpose(w_a, (2, 3, 0, 1)), (0, 1))"
        assert str(result).startswith("same up to a weight permutation (kernel flip): JAX SAME computes torch's map "
                                      "from torch's weights with the kernel flipped on H and W")


def test_jax_conv_transpose_recipe_in_the_real_libraries():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    module = torch.nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1, bias=False).double()
    jax_layer = from_jax_transpose((1, 5, 5, 3), (4, 4, 3, 2), (2, 2), "SAME")
    result = symconv.diff(from_torch(module, (5, 5)), jax_layer)
    x = np.random.default_rng(1).integers(-3, 4, (1, 3, 5, 5)).astype(np.float64)
    w = module.weight.detach().numpy()
    y_torch = module(torch.from_numpy(x)).detach().numpy().transpose(0, 2, 3, 1)
    y_jax = np.asarray(jax.lax.conv_transpose(x.transpose(0, 2, 3, 1), recipe(result.weight_recipe, w), (2, 2),
                                              "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")))
    assert np.allclose(y_torch, y_jax)
    unflipped = np.asarray(jax.lax.conv_transpose(x.transpose(0, 2, 3, 1), w.transpose(2, 3, 0, 1), (2, 2), "SAME",
                                                  dimension_numbers=("NHWC", "HWIO", "NHWC")))
    assert not np.allclose(y_torch, unflipped)   # negative control: moving the axes alone is not enough


def test_scipy_correlate_and_convolve_are_the_same_up_to_a_flip_but_the_2d_functions_are_not():
    import scipy.signal
    nd = symconv.diff(from_scipy(scipy.signal.correlate, (6, 6), (4, 4), "same"),
                      from_scipy(scipy.signal.convolve, (6, 6), (4, 4), "same"))
    assert nd.verdict == PERMUTED and nd.weight_recipe == "np.flip(w_a, (0, 1))"
    two = symconv.diff(from_scipy(scipy.signal.correlate2d, (6, 6), (4, 4), "same"),
                       from_scipy(scipy.signal.convolve2d, (6, 6), (4, 4), "same"))
    assert two.verdict == DIFFERENT and two.parameter == "padding" and two.input_size == (2, 2)
    assert two.names == ("scipy correlate2d", "scipy convolve2d")
    x, w = np.random.default_rng(2).random((6, 6)), np.random.default_rng(3).random((4, 4))
    assert np.allclose(scipy.signal.correlate(x, w, "same"), scipy.signal.convolve(x, w[::-1, ::-1], "same"))
    assert not np.allclose(scipy.signal.correlate2d(x, w, "same"), scipy.signal.convolve2d(x, w[::-1, ::-1], "same"))


def test_cli_framework_sides(capsys):
    torch_side = "torch in_channels=3 out_channels=8 kernel_size=4 padding=same bias=false input_size=9,9"
    assert main(["diff", torch_side, "tensorflow input_shape=1,9,9,3 filter_shape=4,4,3,8 padding=SAME"]) == 0
    assert capsys.readouterr().out.startswith("same: torch and TF SAME compute the same map")
    assert main(["diff", "tensorflow input_shape=1,9,9,3 filter_shape=4,4,3,8 strides=2 padding=SAME",
                 "onnx op=Conv auto_pad=SAME_LOWER x_shape=1,3,9,9 w_shape=8,3,4,4 strides=2,2", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["input_size"] == [1, 1] and result["output"] == [0, 0, 0]
    assert result["reason"] == "TF SAME puts the extra padding row and column after; ONNX SAME_LOWER puts them before"


def test_cli_keras_sides(capsys):
    keras = "keras layer=Conv2D filters=8 kernel_size=4 strides=2 padding=same use_bias=false input_shape=9,9,3"
    assert main(["diff", keras, "tensorflow input_shape=1,9,9,3 filter_shape=4,4,3,8 strides=2 padding=SAME"]) == 0
    assert capsys.readouterr().out.startswith("same: Keras and TF SAME compute the same map")
    up = "keras layer=Conv2DTranspose filters=1 kernel_size=4 strides=2 padding=same use_bias=false input_shape=6,6,1"
    assert main(["diff", up, "jax op=conv_transpose lhs_shape=1,6,6,1 rhs_shape=4,4,1,1 strides=2,2 padding=SAME",
                 "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == PERMUTED and result["weight_recipe"] == "np.flip(w_a, (0, 1))"


@pytest.mark.parametrize("side, message", [
    ("keras layer=Conv2D filters=8 kernel_size=4 input_shape=9,9,3 kernel_initializer=zeros",
     "kernel_initializer='zeros': is not an argument of keras Conv2D"),
    ("keras layer=Dense filters=8", "layer='Dense': must be one of Conv1D"),
    ("torch in_channels=3 out_channels=8 kernel_size=4 input_size=9,9 output_padding=1",
     "output_padding=1: is not an argument of torch.nn.Conv2d"),
    ("torch module=Linear in_channels=3", "module='Linear': must be one of Conv1d"),
    ("torch in_channels=3 out_channels=8 kernel_size=4 stride=2 padding=same input_size=9,9", "torch.nn.Conv2d=''"),
    ("scipy function=os.system in1_shape=6 in2_shape=3", "function='os.system': must be one of signal.correlate"),
    ("jax op=conv lhs_shape=1,5,5,3", "op='conv': must be conv_general_dilated"),
    ("tensorflow input_shape=1,9,9,3 filter_shape=4,4,3,8 padding=SAME data_layout=NHWC",
     "data_layout='NHWC': is not an argument of tensorflow op=conv"),
])
def test_cli_framework_errors_are_one_line(capsys, side, message):
    assert main(["diff", side, "spec in_channels=3 out_channels=8 kernel_size=4 input_size=9,9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_readme_section_runs_as_written(capsys):
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The same layer in every framework"):]
    block = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
    namespace: dict = {}
    exec(compile(block, str(README), "exec"), namespace)
    printed = capsys.readouterr().out
    assert namespace["same"].same and not namespace["lower"].same
    assert "TF SAME puts the extra padding row and column after; ONNX SAME_LOWER puts them before" in printed
