"""Round-3 adversarial findings (issue 11): value-dependent branches, integer dtypes, strides,
arguments written in place, and the seed through the plugin and the CLI."""

from __future__ import annotations

import re

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

import symconv
from symconv.testing import NotCheckable, assert_conv_equivalent

DIFFERS = "fn differs from the layer at a random exact input ("
PADDED = symconv.ConvSpec(2, 2, kernel_size=3, input_size=(4, 4), padding=1)


def skipping(empty):
    """A padded 3×3 layer that skips windows for which ``empty(window)`` holds (an optimisation)."""
    def fn(x, w, b):
        xp = np.zeros((x.shape[0], x.shape[1] + 2, x.shape[2] + 2), dtype=np.result_type(x, w))
        xp[:, 1:-1, 1:-1] = x
        y = np.empty((w.shape[0], x.shape[1], x.shape[2]), dtype=xp.dtype)
        for o, i, j in np.ndindex(y.shape):
            window = xp[:, i:i + 3, j:j + 3]
            y[o, i, j] = b[o] + (0 if empty(window) else (window * w[o]).sum())
        return y
    return fn


def test_a_skip_on_window_sum_zero_is_refuted_in_both_modes():   # meant: not window.any()
    sum_zero = skipping(lambda window: window.sum() == 0)
    with pytest.raises(AssertionError, match=re.escape(DIFFERS + "values in {−1, 0, 1}, float64, seed 1,")):
        assert_conv_equivalent(sum_zero, PADDED, seed=1)   # symbols: == is structural, always False
    with pytest.raises(AssertionError, match=re.escape("fn is not a convolution layer: it is not bilinear")):
        assert_conv_equivalent(sum_zero, PADDED, mode="probe", seed=1, exhaustive=True)
    with pytest.raises(AssertionError, match=re.escape(DIFFERS)):   # identity testing: the exact trials
        assert_conv_equivalent(sum_zero, PADDED, mode="probe", seed=1)


@pytest.mark.parametrize("seed", range(4))
def test_a_skip_on_window_max_zero_is_refuted_by_probing_for_every_seed(seed):   # post-ReLU only
    with pytest.raises(AssertionError, match=re.escape(DIFFERS)):
        assert_conv_equivalent(skipping(lambda window: window.max() == 0), PADDED, mode="probe", seed=seed)


@pytest.mark.parametrize("mode", ["symbolic", "probe"])
def test_the_correct_skip_of_empty_windows_passes(mode):
    result = assert_conv_equivalent(skipping(lambda window: not window.any()), PADDED, mode=mode, seed=1)
    # with 3 full-significand trials, and 14 at the float64 scalings (round 16)
    assert result.cross_checks == (46 if mode == "symbolic" else 45)


def test_a_window_summing_to_zero_is_sent_for_a_single_window_layer():
    spec = symconv.ConvSpec(4, 1, kernel_size=3, input_size=(3, 3), bias=False)

    def zero_sum_skip(x, w, b):
        window = x
        return np.array([[[0 if window.sum() == 0 else (window * w[0]).sum()]]])

    with pytest.raises(AssertionError, match=re.escape(DIFFERS + "windows summing to exactly 0")):
        assert_conv_equivalent(zero_sum_skip, spec, seed=3)


SPEC_INT = symconv.ConvSpec(2, 3, kernel_size=3, input_size=(5, 6))


def accumulates_in_x_dtype(x, w, b):   # y follows the image's dtype: wrong for uint8 images
    y = np.zeros((3, 3, 4), dtype=x.dtype)
    for o, i, j in np.ndindex(y.shape):
        y[o, i, j] = (x[:, i:i + 3, j:j + 3] * w[o]).sum() + b[o]
    return y


@pytest.mark.parametrize("mode", ["symbolic", "probe"])
def test_an_accumulator_in_the_input_dtype_is_refuted_on_a_uint8_image(mode):
    with pytest.raises(AssertionError, match=re.escape(
            DIFFERS + "uint8 image, dyadic w: x integers 0 … 2^8 − 1, w odd m/2^15, |m| < 2^20, x uint8, "
                      "w and b float64, seed 5, 1 sample(s); sample 0; seed= repeats it)")):
        assert_conv_equivalent(accumulates_in_x_dtype, SPEC_INT, mode=mode, seed=5)


def test_integer_arrays_are_sent_and_compared_exactly():
    seen = set()

    def recording(x, w, b):
        seen.add((x.dtype.name, w.dtype.name, None if b is None else b.dtype.name))
        return accumulates_in_x_dtype(x.astype(np.result_type(x, w)), w, b)

    assert assert_conv_equivalent(recording, SPEC_INT, mode="probe", seed=5).established.startswith("verified")
    assert {("int64", "int64", "int64"), ("uint8", "float64", "float64"), ("int32", "int32", "int32")} <= seen


def strided_im2col(x, w, b):   # strides computed from the shape: assumes a C-contiguous x
    C, H, W = x.shape
    s = x.itemsize
    cols = as_strided(x, (C, 3, 3, H - 2, W - 2), (H * W * s, W * s, s, W * s, s))
    return np.tensordot(w, cols, axes=([1, 2, 3], [0, 1, 2]))


@pytest.mark.parametrize("mode", ["symbolic", "probe"])
def test_code_assuming_contiguous_strides_is_refuted_on_views(mode):
    spec = symconv.ConvSpec(2, 3, kernel_size=3, input_size=(5, 6), bias=False)
    with pytest.raises(AssertionError, match=re.escape(DIFFERS + "non-contiguous views (Fortran order, "
                                                                 "negative strides)")):
        assert_conv_equivalent(strided_im2col, spec, mode=mode, seed=2)
    contiguous = lambda x, w, b: strided_im2col(np.ascontiguousarray(x), w, b)  # noqa: E731
    assert assert_conv_equivalent(contiguous, spec, mode=mode, seed=2).cross_checks >= 14


@pytest.mark.parametrize("mode, shown", [("symbolic", "w_{0,0,0}, is now w_{0,0,2}"),
                                         ("probe", "np.float64(1.0), is now np.float64(0.0)")])
def test_an_fn_that_flips_its_weight_in_place_is_refused(mode, shown):
    spec = symconv.ConvSpec(1, 1, kernel_size=3, input_size=6, bias=False)

    def flips_in_place(x, w, b):
        w[0, 0] = w[0, 0, ::-1].copy()
        return np.convolve(x[0], w[0, 0], "valid")[None]

    with pytest.raises(NotCheckable, match=re.escape(
            f"fn modified its argument w in place: w[0,0,0] was {shown}; a layer must not write into its "
            f"inputs (the caller's w would be corrupted): copy it first")):
        assert_conv_equivalent(flips_in_place, spec, mode=mode, **({"exhaustive": True} if mode == "probe" else {}))
    with pytest.raises(NotCheckable, match=re.escape("fn modified its argument w in place: w[0,0,0] was ")):
        assert_conv_equivalent(flips_in_place, spec, mode=mode)


def test_conv_check_fixture_repeats_a_seed(conv_check):
    with pytest.raises(AssertionError, match=re.escape("x uint8, w and b float64, seed 5, 1 sample(s)")):
        conv_check(accumulates_in_x_dtype, SPEC_INT, seed=5)
    assert conv_check(lambda x, w, b: accumulates_in_x_dtype(x.astype(np.result_type(x, w)), w, b), SPEC_INT, seed=5)


def test_check_cli_repeats_a_seed(tmp_path, monkeypatch, capsys):
    from symconv.cli import main
    (tmp_path / "mine_int.py").write_text(
        "import numpy as np\n"
        "def conv(x, w, b):\n"
        "    y = np.zeros((3, 3, 4), dtype=x.dtype)\n"
        "    for o, i, j in np.ndindex(y.shape):\n"
        "        y[o, i, j] = (x[:, i:i + 3, j:j + 3] * w[o]).sum() + b[o]\n"
        "    return y\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    layer = ["--in-channels", "2", "--out-channels", "3", "--kernel-size", "3,3", "--input-size", "5,6"]
    assert main(["check", "mine_int:conv", *layer, "--seed", "5"]) == 1
    assert "x uint8, w and b float64, seed 5, 1 sample(s); sample 0; seed= repeats it)" in capsys.readouterr().out
    with pytest.raises(SystemExit):   # argparse: exit 2, one line
        main(["check", "mine_int:conv", *layer, "--seed", "five"])
