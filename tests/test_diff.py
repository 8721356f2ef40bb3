"""``symconv.diff`` on ConvSpecs and hand-made framework layers, and the ``symconv diff`` command:
verdicts, the smallest size and first output where layers differ with their exact terms, the
words, the weight recipe, negative controls, and an independent oracle (``symconv.conv``)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symconv
from symconv import ConvSpec, SpecError
from symconv.cli import main
from symconv.diffing import DIFFERENT, PERMUTED, SAME, WeightPermutation
from symconv.diffing.bilinear import as_layer
from symconv.diffing.sides import value_of
from symconv.frameworks.layer import ArrayMap, FrameworkConv

S = sp.Symbol


def expand_equal(a: object, b: object) -> bool:
    return sp.expand(sp.sympify(a) - sp.sympify(b)) == 0


# ---- padding placed before or after ----------------------------------------------------------------
def test_padding_before_against_after_1d_exact_fields():
    lower = ConvSpec(1, 1, kernel_size=2, input_size=3, padding=((1, 0),), bias=False)
    upper = ConvSpec(1, 1, kernel_size=2, input_size=3, padding=((0, 1),), bias=False)
    result = symconv.diff(lower, upper)
    assert (result.same, result.verdict, result.parameter) == (False, DIFFERENT, "padding")
    assert result.input_size == (1,) and result.output == (0, 0)   # the smallest size, the first output
    assert result.terms == (S("w_{0,0,1}") * S("x_{0,0}"), S("w_{0,0,0}") * S("x_{0,0}"))
    assert result.reason == "a puts the extra padding element before; b puts it after"
    assert result.sizes == ((3,), (1,)) and result.complete and result.shapes is None
    assert str(result).splitlines()[0] == ("different (padding): at input 1, output y[0, 0]: "
                                           "a puts the extra padding element before; b puts it after")


def test_padding_after_against_before_2d_names_the_row():
    after = ConvSpec(2, 3, kernel_size=(4, 3), input_size=(6, 5), padding=((1, 2), (1, 1)))
    before = replace(after, padding=((2, 1), (1, 1)))
    result = symconv.diff(after, before)
    assert result.parameter == "padding" and result.reason == "a puts the extra padding row after; b puts it before"
    assert result.input_size == (1, 1) and result.output == (0, 0, 0)
    def tap(p: int) -> sp.Expr:
        return S("b_{0}") + sum(S(f"w_{{0,{c},{p},1}}") * S(f"x_{{{c},0,0}}") for c in range(2))
    assert expand_equal(result.terms[0], tap(1)) and expand_equal(result.terms[1], tap(2))


def test_padding_of_both_axes_moved_is_one_sentence():
    a = ConvSpec(1, 1, kernel_size=4, input_size=(6, 6), padding="same")
    b = replace(a, padding=((2, 1), (2, 1)))
    assert symconv.diff(a, b).reason == "a puts the extra padding row and column after; b puts them before"


def test_other_padding_differences_give_both_pairs():
    a = ConvSpec(1, 1, kernel_size=3, input_size=(6, 6), padding=((1, 1), (0, 0)))
    b = replace(a, padding=((1, 1), (0, 2)))
    result = symconv.diff(a, b)
    assert result.reason == "on W, a pads 0 before and 0 after; b pads 0 before and 2 after"
    assert result.input_size == (3, 3) and result.shapes == ("output shape", (1, 3, 1), (1, 3, 3))


# ---- the same, and the same up to a weight permutation -----------------------------------------------
def test_identical_specs_are_the_same_at_every_size():
    spec = ConvSpec(3, 8, kernel_size=4, input_size=(9, 9), padding="same", stride=1)
    result = symconv.diff(spec, spec)
    assert result.same and result.verdict == SAME and result.parameter is None
    assert result.sizes[0] == (9, 9) and (1, 1) in result.sizes and result.complete
    assert result.weight_recipe == "w_a"
    assert str(result).splitlines()[0] == "same: a and b compute the same map (input 9×9 and 8 smaller sizes)"


def test_nchw_against_nhwc_is_the_same_with_the_layout_recipe():
    nchw = ConvSpec(3, 8, kernel_size=(4, 3), input_size=(9, 7), padding=1, groups=1)
    nhwc = replace(nchw, layout="NHWC")
    result = symconv.diff(nchw, nhwc)
    assert result.same and result.weight_recipe == "np.transpose(w_a, (2, 3, 1, 0))"
    w = np.arange(8 * 3 * 4 * 3).reshape(8, 3, 4, 3)
    assert np.array_equal(eval(result.weight_recipe, {"np": np, "w_a": w}), np.transpose(w, (2, 3, 1, 0)))  # noqa: S307 - our own recipe


def test_a_flipped_kernel_is_the_same_up_to_a_permutation():
    a = ConvSpec(2, 3, kernel_size=(3, 2), input_size=(5, 5), padding=1)
    b = replace(a, convention="convolution")
    result = symconv.diff(a, b)
    assert (result.same, result.verdict, result.parameter) == (False, PERMUTED, "kernel flip")
    assert result.permutation == WeightPermutation(flip=(0, 1))
    assert result.weight_recipe == "np.flip(w_a, (2, 3))"
    assert result.reason == "a applies the kernel unflipped (cross-correlation); b flips the kernel on H and W"
    assert str(result).startswith("same up to a weight permutation (kernel flip)")
    x, w, bias = symconv.symbols(a)
    assert all(expand_equal(p, q) for p, q in zip(symconv.conv(a, x, w, bias).flat,
                                                  symconv.conv(b, x, np.flip(w, (2, 3)), bias).flat))


def test_a_kernel_of_size_one_on_an_axis_is_not_flipped_there():
    a = ConvSpec(1, 1, kernel_size=(3, 1), input_size=(4, 4))
    result = symconv.diff(a, replace(a, convention="convolution"))
    assert result.permutation == WeightPermutation(flip=(0,)) and result.weight_recipe == "np.flip(w_a, 2)"


def _onnx_like(spec: ConvSpec, transposed: bool = False, output_padding: tuple[int, ...] = (),
               bias: bool = False) -> FrameworkConv:
    """A hand-made framework layer with identity maps (as the ONNX and torch presets have)."""
    if transposed:
        from symconv.forms.transpose import transposed_size
        out = (spec.in_channels, *transposed_size(spec, output_padding or 0))
        return FrameworkConv("onnx", "ConvTranspose", spec, ArrayMap.identity(spec.output_shape),
                             ArrayMap.identity(spec.weight_shape), ArrayMap.identity(out), transposed=True,
                             output_padding=output_padding, bias=bias)
    return FrameworkConv("onnx", "Conv", spec, ArrayMap.identity(spec.input_shape),
                         ArrayMap.identity(spec.weight_shape), ArrayMap.identity(spec.output_shape))


def test_transposed_conv_at_stride_one_is_a_full_conv_with_flipped_swapped_kernel():
    forward = ConvSpec(2, 3, kernel_size=3, input_size=(6, 5), bias=False)          # transposed: 3 → 2 channels
    up = _onnx_like(forward, transposed=True)
    full = ConvSpec(3, 2, kernel_size=3, input_size=forward.output_size, padding=2, bias=False)
    result = symconv.diff(up, full)
    assert result.verdict == PERMUTED and result.permutation == WeightPermutation(flip=(0, 1), swap=True)
    assert result.weight_recipe == "np.flip(np.transpose(w_a, (1, 0, 2, 3)), (2, 3))"
    assert result.reason == "ONNX is a transposed convolution; b is a convolution (they also differ in padding)"


def test_a_transposed_conv_against_itself_is_the_same_and_output_padding_matters():
    forward = ConvSpec(1, 1, kernel_size=3, input_size=8, stride=2, padding=1, bias=False)
    plain, padded = _onnx_like(forward, True), _onnx_like(forward, True, (1,))
    assert symconv.diff(plain, plain).same
    result = symconv.diff(plain, padded)
    assert result.verdict == DIFFERENT and result.shapes[0] == "output shape"
    assert result.reason == "ONNX (a) has output_padding=0; ONNX (b) has output_padding=1"


# ---- different -------------------------------------------------------------------------------------------
def test_stride_differs_with_the_output_shapes():
    a = ConvSpec(3, 8, kernel_size=4, input_size=(9, 9), padding=1)
    result = symconv.diff(a, replace(a, stride=(2, 2)))
    assert result.verdict == DIFFERENT and result.parameter == "stride"
    assert result.reason == "a has stride=1; b has stride=2"
    assert result.input_size == (3, 3) and result.shapes == ("output shape", (8, 2, 2), (8, 1, 1))


@pytest.mark.parametrize("change, parameter", [
    ({"padding_mode": "circular"}, "padding_mode"), ({"dilation": 2}, "dilation"), ({"bias": False}, "bias"),
    ({"groups": 2}, "groups"), ({"kernel_size": 2}, "kernel_size")])
def test_negative_controls_each_parameter_is_caught_and_named(change, parameter):
    a = ConvSpec(2, 2, kernel_size=3, input_size=(6, 6), padding=1)
    result = symconv.diff(a, replace(a, **change))
    assert not result.same and result.verdict == DIFFERENT and result.parameter == parameter
    assert parameter.split("_")[0] in str(result).splitlines()[0]


def test_channels_or_input_size_that_differ_are_a_verdict_not_a_crash():
    a = ConvSpec(2, 4, kernel_size=3, input_size=(6, 6))
    for b, what in ((replace(a, in_channels=4), "input shape"), (replace(a, input_size=(7, 6)), "input shape"),
                    (replace(a, out_channels=2), "output shape")):
        result = symconv.diff(a, b)
        assert result.verdict == DIFFERENT and result.shapes[0] == what and result.terms is None
        assert what in str(result).splitlines()[0]


def test_same_at_the_given_size_but_not_at_a_smaller_one():
    """TF/ONNX 'SAME' with stride 2 pads by how n falls on the stride: at n = 9 it is torch's padding 1."""
    from onnx import helper

    from symconv.frameworks.onnx import from_onnx
    same = from_onnx(helper.make_node("Conv", ["X", "W"], ["Y"], auto_pad="SAME_UPPER", strides=[2, 2]),
                     (1, 1, 9, 9), (1, 1, 3, 3))
    explicit = ConvSpec(1, 1, kernel_size=3, input_size=(9, 9), stride=2, padding=1, bias=False)
    assert same.spec.padding == explicit.padding   # at the given size
    result = symconv.diff(same, explicit)
    assert result.verdict == DIFFERENT and result.parameter == "padding"
    assert result.input_size == (2, 2) and result.output == (0, 0, 0)
    assert result.reason == "on H and W, ONNX SAME_UPPER pads 0 before and 1 after; b pads 1 before and 1 after"
    assert result.terms[0] == sum(S(f"w_{{0,0,{i},{j}}}") * S(f"x_{{0,{i},{j}}}") for i in (0, 1) for j in (0, 1))


def test_the_deadline_stops_the_search_and_says_so():
    spec = ConvSpec(1, 1, kernel_size=3, input_size=(12, 12))
    result = symconv.diff(spec, spec, deadline=1e-9)
    assert result.same and not result.complete and result.sizes == ((12, 12),)
    assert "stopped at its deadline" in str(result)


@pytest.mark.parametrize("a, b, parameter", [("x", ConvSpec(1, 1, 2, 3), "a"), (ConvSpec(1, 1, 2, 3), 3, "b")])
def test_bad_arguments_name_the_parameter(a, b, parameter):
    with pytest.raises(SpecError, match=rf"^{parameter}="):
        symconv.diff(a, b)


@pytest.mark.parametrize("deadline", [0, -1, True, "1", float("nan")])
def test_bad_deadline(deadline):
    spec = ConvSpec(1, 1, 2, 3)
    with pytest.raises(SpecError, match="^deadline="):
        symconv.diff(spec, spec, deadline=deadline)


# ---- an independent oracle: symconv.conv on symbols --------------------------------------------------------
specs = st.builds(
    lambda c_in, c_out, k, n, s, pb, pa, d, mode, conv: ConvSpec(
        c_in, c_out, kernel_size=k, input_size=n + k * d + 2, stride=s, padding=((pb, pa),), dilation=d,
        padding_mode=mode, convention=conv),
    st.integers(1, 2), st.integers(1, 2), st.integers(1, 3), st.integers(0, 3), st.integers(1, 2),
    st.integers(0, 2), st.integers(0, 2), st.integers(1, 2), st.sampled_from(["zeros", "circular", "replicate"]),
    st.sampled_from(["cross-correlation", "convolution"]))


@settings(max_examples=40, deadline=None)
@given(specs, specs)
def test_the_verdict_agrees_with_the_definition(a, b):
    """same ⇒ the outputs are equal polynomials; up to P ⇒ equal with b given P(w); different ⇒ at
    the reported size the definitions differ at the reported output by exactly the reported terms,
    or the reported shapes are the layers' shapes there."""
    result = symconv.diff(a, b)
    x, w, bias = symconv.symbols(a)
    if result.verdict in (SAME, PERMUTED):
        moved = w if result.same else result.permutation.apply(w)
        assert a.output_shape == b.output_shape
        assert all(expand_equal(p, q) for p, q in zip(symconv.conv(a, x, w, bias).flat,
                                                      symconv.conv(b, x, moved, bias).flat))
        return
    assert result.verdict == DIFFERENT
    if a.input_shape != b.input_shape:
        assert result.shapes == ("input shape", a.input_shape, b.input_shape)
        return
    at_a, at_b = (replace(s, input_size=result.input_size) for s in (a, b))
    if result.terms is None:
        what, left, right = result.shapes
        assert left != right and (what != "output shape" or (left, right) == (at_a.output_shape, at_b.output_shape))
        return
    x, w, bias = symconv.symbols(at_a)
    ya, yb = symconv.conv(at_a, x, w, bias), symconv.conv(at_b, x, w, bias if at_b.bias else None)
    assert expand_equal(ya[result.output], result.terms[0]) and expand_equal(yb[result.output], result.terms[1])
    assert not expand_equal(result.terms[0], result.terms[1])


# ---- the command line ---------------------------------------------------------------------------------------
SPEC = "spec in_channels=1 out_channels=2 kernel_size=3 input_size=6,6 padding=1"


def test_cli_same_exits_0(capsys):
    assert main(["diff", SPEC, SPEC + " layout=NHWC"]) == 0
    assert capsys.readouterr().out.startswith("same: a and b compute the same map")


def test_cli_different_exits_1_with_the_verdict_first(capsys):
    assert main(["diff", SPEC, SPEC.replace("padding=1", "padding=1:1,2:0")]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("different (padding): at input ")


def test_cli_permutation_exits_1_and_says_so(capsys):
    assert main(["diff", SPEC, SPEC + " convention=convolution", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == PERMUTED and result["same"] is False
    assert result["permutation"] == {"flip": [0, 1], "swap_channels": False}
    assert result["weight_recipe"] == "np.flip(w_a, (2, 3))"


def test_cli_onnx_same_upper_against_same_lower(capsys):
    side = "onnx op=Conv x_shape=1,3,9,9 w_shape=8,3,4,4 auto_pad="
    assert main(["diff", side + "SAME_UPPER", side + "SAME_LOWER", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["parameter"] == "padding" and result["input_size"] == [1, 1] and result["output"] == [0, 0, 0]
    assert result["reason"] == ("ONNX SAME_UPPER puts the extra padding row and column after; "
                                "ONNX SAME_LOWER puts them before")


@pytest.mark.parametrize("sides, message", [
    ([SPEC + " colour=red", SPEC], "colour='red': is not an argument of spec (ConvSpec)"),
    ([SPEC.replace("padding=1", "padding=__import__('os')"), SPEC], "padding=\"__import__('os')\": must be"),
    (["caffe kernel=3", SPEC], "SIDE_A='caffe': must start with a framework"),
    ([SPEC, "spec in_channels=1"], "out_channels=None: is required"),
    ([SPEC, SPEC + " stride"], "SIDE_B='stride': every word after the framework must be KEY=VALUE"),
    (["onnx op=Conv x_shape=1,3,9,9 w_shape=8,3,4,4 pads=1,1", SPEC], "Conv.pads=[1, 1]: must be 4 integers"),
    (["onnx op=Conv x_shape=1,3,9,9 w_shape=8,3,4,4 strides=2 strides=1", SPEC], "strides is given twice"),
])
def test_cli_errors_are_one_line_exit_2(capsys, sides, message):
    assert main(["diff", *sides]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_value_grammar_reads_literals_only():
    assert value_of("k", "2,") == (2,) and value_of("k", "'same'") == "same" and value_of("k", "none") is None
    for text in ("1+1", "[1, 2]", "os.system('x')", "1e3", "(1,2)", "a b", ""):
        with pytest.raises(SpecError, match="^k="):
            value_of("k", text)


def test_as_layer_of_a_spec_is_the_identity_layer():
    spec = ConvSpec(1, 2, kernel_size=3, input_size=(5, 5), layout="NHWC")
    layer = as_layer(spec, "a")
    assert layer.weight_map.is_identity and layer.spec is spec and not layer.batched


def test_compare_all_diffs_every_pair_and_tabulates_them():
    after = ConvSpec(1, 1, kernel_size=4, input_size=(6, 6), padding="same")
    layers = {"after": after, "nhwc": replace(after, layout="NHWC"), "before": replace(after, padding=((2, 1), (2, 1))),
              "flipped": replace(after, convention="convolution")}
    table = symconv.diffing.compare_all(layers)
    assert [(a, b) for a, b, _ in table.differing()] == [
        ("after", "before"), ("after", "flipped"), ("nhwc", "before"), ("nhwc", "flipped"), ("before", "flipped")]
    assert table.verdict(0, 1) == "same" and table.verdict(1, 0) == "same" and table.verdict(2, 2) == "—"
    assert table.verdict(0, 2) == "differ at 1×1 (padding)"
    assert table.verdict(0, 3) == "same up to the kernel flipped on H and W"
    assert table.verdict(0, 3, short=True) == "permuted" and table.verdict(0, 2, short=True) == "differ at 1×1"
    markdown = table._repr_markdown_()
    assert "| before | H (2, 1), W (2, 1) | as given | NCHW |" in markdown
    assert "| flipped | H (1, 2), W (1, 2) | flipped on H, W | NCHW |" in markdown
    with pytest.raises(SpecError, match="^layers="):
        symconv.diffing.compare_all({"only": after})


def test_names_replace_the_labels_and_a_table_gives_either_order():
    a = ConvSpec(1, 1, kernel_size=2, input_size=3, padding=((1, 0),), bias=False)
    b = replace(a, padding=((0, 1),))
    result = symconv.diff(a, b, names=("lower", "upper"))
    assert result.names == ("lower", "upper")
    assert result.reason == "lower puts the extra padding element before; upper puts it after"
    table = symconv.diffing.compare_all({"lower": a, "upper": b})
    assert table.diff("upper", "lower").reason == "upper puts the extra padding element after; lower puts it before"
    assert table.diff("lower", "upper") is table.results[(0, 1)]
    with pytest.raises(SpecError, match="^name='middle'"):
        table.diff("lower", "middle")
    for names in (("only",), ("a", ""), "ab", ("a", 1)):
        with pytest.raises(SpecError, match="^names="):
            symconv.diff(a, b, names=names)


def test_a_transposed_layer_with_a_bias_differs_from_one_without():
    """The bias of a transposed layer lives beside its spec (which has none): diff compares it."""
    forward = ConvSpec(2, 3, kernel_size=3, input_size=(6, 5), bias=False)
    with_bias, without = _onnx_like(forward, transposed=True, bias=True), _onnx_like(forward, transposed=True)
    result = symconv.diff(with_bias, without)
    assert not result.same and "bias" in str(result)
    assert symconv.diff(with_bias, _onnx_like(forward, transposed=True, bias=True)).same


def test_the_transposed_presets_state_their_bias():
    torch = pytest.importorskip("torch")
    from symconv.frameworks import from_torch
    on, off = (from_torch(torch.nn.ConvTranspose2d(3, 2, 3, bias=b), (4, 4)) for b in (True, False))
    assert (on.has_bias, off.has_bias, on.spec.bias) == (True, False, False)
    assert not symconv.diff(on, off).same


@pytest.mark.parametrize("sides, message", [
    (("onnx op=Conv x_shape=1,1,4 w_shape=1,1,3 bias=1", "spec in_channels=1 out_channels=1 kernel_size=3 "
      "input_size=4 bias=false"), "bias=1: must be True or False"),
    (("torch in_channels=1 out_channels=1 kernel_size=3 input_size=4 bias='false'",
      "spec in_channels=1 out_channels=1 kernel_size=3 input_size=4"), "bias='false': must be True or False"),
    (("spec in_channels=4 out_channels=4 kernel_size=3 input_size=300000",
      "spec in_channels=4 out_channels=4 kernel_size=3 input_size=300000 padding=0"),
     "has 14399904 terms at its input size, more than MAX_DIFF_TERMS=10000000"),
])
def test_a_side_that_would_be_read_wrongly_or_too_large_is_refused(sides, message, capsys):
    """Adversarial round 18: a bias given as 1 was read as no bias (a false 'same'); a 300,000-long
    layer ran past the deadline for seconds and gigabytes."""
    pytest.importorskip("onnx")
    pytest.importorskip("torch")
    assert main(["diff", *sides, "--deadline", "0.01"]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
