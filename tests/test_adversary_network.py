"""Adversary B's findings on interop, testing and general (2026-11): each reproducer as a negative
control with its exact error or verdict, and the positive cases beside it."""

from __future__ import annotations

import re
import signal
import warnings

import numpy as np
import pytest
import sympy as sp
import torch
from torch import nn

import symconv
from symconv import SpecError
from symconv.cli import main
from symconv.deadline import Deadline
from symconv.errors import MAX_SECONDS, seconds
from symconv.general import check_claim, prove_general, symbols_for
from symconv.interop import mlp_layers, network_steps, prove_network, to_linear, to_mlp
from symconv.result import first_entry_difference
from symconv.testing import assert_conv_equivalent

pytest_plugins = ["pytester"]
SPEC = symconv.ConvSpec(1, 1, kernel_size=3, input_size=6, bias=False)


def good(x, w, b):
    return np.correlate(x[0], w[0, 0])[None]


class Liar:
    """An entry whose ==, != and arithmetic say whatever makes a proof pass."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __hash__(self):
        return 0

    __mul__ = __rmul__ = __add__ = __radd__ = lambda self, other: self


def liars(*shape):
    array = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        array[index] = Liar()
    return array


# 1. prove_network(layers=...): every entry exact, the comparison canonical

CONV = nn.Sequential(nn.Conv1d(1, 1, 2)).eval()
CONV_RELU = nn.Sequential(nn.Conv1d(1, 1, 2), nn.ReLU()).eval()


def test_lying_entries_are_refused_not_proved():
    with pytest.raises(SpecError, match=r"^layers\[0\]\[1\]\[0, 0\]=<.*Liar object at 0x[0-9a-f]+>: Liar is not a "
                                        r"number or a SymPy expression; each entry must be a finite number or a "
                                        r"SymPy expression$"):
        prove_network(CONV, (1, 3), layers=[("affine", liars(2, 3), liars(2))])


def test_lying_bias_is_refused():
    A = mlp_layers(network_steps(CONV, (1, 3)), symbolic=True)[0][1]
    with pytest.raises(SpecError, match=r"^layers\[0\]\[2\]\[0\]=<.*Liar"):
        prove_network(CONV, (1, 3), layers=[("affine", A, liars(2))])


def test_text_entries_are_not_evaluated():
    with pytest.raises(TypeError, match=re.escape("layers[0][1][0, 0]='a': text is not evaluated (sympify would "
                                                  "eval it); pass SymPy expressions built from symconv.symbols(spec)")):
        prove_network(CONV, (1, 3), layers=[("affine", [["a"] * 3] * 2, [0, 0])])


def test_a_matrix_of_the_wrong_width_names_the_layer():
    with pytest.raises(SpecError, match=re.escape("layers[0][1].shape=(2, 5): must have 3 columns, the features "
                                                  "the layer before it gives")):
        prove_network(CONV, (1, 3), layers=[("affine", np.zeros((2, 5), dtype=int), [0, 0])])


def test_a_second_layer_is_checked_against_the_first_ones_rows():
    first = ("affine", np.zeros((2, 3), dtype=int), [0, 0])
    with pytest.raises(SpecError, match=re.escape("layers[1][1].shape=(1, 3): must have 2 columns")):
        prove_network(CONV, (1, 3), layers=[first, ("affine", np.zeros((1, 3), dtype=int), [0])])


def test_a_fractional_float_is_refused():
    with pytest.raises(SpecError, match=re.escape("layers[0][1][0, 0]=0.5: a float is accepted only with an "
                                                  "integer value")):
        prove_network(CONV, (1, 3), layers=[("affine", np.full((2, 3), 0.5), [0, 0])])


def test_a_correct_user_mlp_with_exact_entries_is_proved():
    layers = mlp_layers(network_steps(CONV_RELU, (1, 3)), symbolic=True)
    assert prove_network(CONV_RELU, (1, 3), layers=layers).holds
    as_sympy = [("affine", sp.Matrix(layers[0][1]), list(layers[0][2])), layers[1]]
    assert prove_network(CONV_RELU, (1, 3), layers=as_sympy).holds


def test_integral_floats_are_read_exactly_inside_the_activation():
    # formerly REFUTED: a Float 1.0 inside σ's argument made σ(1.0·p) differ from σ(p)
    layers = mlp_layers(network_steps(CONV_RELU, (1, 3)), symbolic=True)
    scaled = [("affine", layers[0][1] * 1.0, layers[0][2]), layers[1]]
    assert prove_network(CONV_RELU, (1, 3), layers=scaled).holds


def test_a_wrong_entry_of_a_user_mlp_is_refuted_with_a_counterexample():
    layers = mlp_layers(network_steps(CONV_RELU, (1, 3)), symbolic=True)
    A = layers[0][1].copy()
    A[1, 2] = A[1, 2] + 1
    proof = prove_network(CONV_RELU, (1, 3), layers=[("affine", A, layers[0][2]), layers[1]])
    assert not proof.holds
    assert proof.counterexample.index == (1,)
    assert proof.counterexample.headline() == "mlp: MLP(vec x)[1] differs from network(x)[1]"


def test_the_comparison_never_trusts_an_objects_equality():
    # a Liar never reaches the comparison through a public function; if it did, its "!= 0 is False"
    # does not make it vanish and its "== is True" does not make it equal: sympify refuses it
    for expected in (0, sp.Symbol("x")):
        with pytest.raises(sp.SympifyError):
            first_entry_difference("mlp", np.array([expected], dtype=object), np.array([Liar()], dtype=object))


# 2. the deadline's upper bound, and the handler after an arming failure

def test_a_deadline_at_the_bound_is_accepted_and_above_refused():
    assert MAX_SECONDS == 1e8
    assert seconds("deadline", MAX_SECONDS) == 1e8
    with pytest.raises(SpecError, match=re.escape("deadline=100000001.0: must be at most 100000000.0 s "
                                                  "(MAX_SECONDS)")):
        seconds("deadline", 1e8 + 1)


def test_a_huge_deadline_is_a_spec_error_and_leaves_sigalrm_alone():
    before = signal.getsignal(signal.SIGALRM)
    with pytest.raises(SpecError, match=re.escape("deadline=1000000000000.0: must be at most 100000000.0 s "
                                                  "(MAX_SECONDS)")):
        assert_conv_equivalent(good, SPEC, deadline=1e12)
    assert signal.getsignal(signal.SIGALRM) is before
    assert assert_conv_equivalent(good, SPEC, deadline=MAX_SECONDS).mode == "symbolic"
    assert signal.getsignal(signal.SIGALRM) is before and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_after_an_arming_failure_the_previous_handler_is_back():
    def previous(signum, frame):
        raise AssertionError("not called")

    before = signal.signal(signal.SIGALRM, previous)
    try:
        with pytest.raises(OverflowError), Deadline(1e12):
            pass
        assert signal.getsignal(signal.SIGALRM) is previous
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, before)


def test_the_cli_check_refuses_a_huge_deadline_in_one_line(tmp_path, capsys):
    code = tmp_path / "mine.py"
    code.write_text("import numpy as np\n\ndef conv(x, w, b):\n    return np.correlate(x[0], w[0, 0])[None]\n")
    assert main(["check", f"{code}:conv", "--in-channels", "1", "--out-channels", "1", "--kernel-size", "3",
                 "--input-size", "6", "--no-bias", "--deadline", "1e12"]) == 2
    err = capsys.readouterr().err
    assert err == ("symconv check: error: --deadline=1000000000000.0: must be at most 100000000.0 s "
                   "(MAX_SECONDS)\n")


# 3. to_mlp / to_linear compare with torch as prove_network does

def _reflect_with_forged_padding():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")).eval()
    model[0]._reversed_padding_repeated_twice = [1, 1, 0, 2]
    return model


def test_to_mlp_refuses_a_conv_whose_private_padding_disagrees():
    with pytest.raises(SpecError, match=re.escape("model='Sequential': torch computes something else than its "
                                                  "layers' maps, so no MLP equals it: (model[0] (Conv2d) by its "
                                                  "attributes)[0,0,0,0] differs from (torch's model[0] (Conv2d))"
                                                  "[0,0,0,0] (torch ")):
        to_mlp(_reflect_with_forged_padding(), (1, 5, 5))
    assert not prove_network(_reflect_with_forged_padding(), (1, 5, 5)).holds


def test_to_linear_refuses_it_too():
    with pytest.raises(SpecError, match=r"^conv_module='Conv2d': torch computes something else than its layers' "
                                        r"maps, so no MLP equals it: .*found by: float64 with the model's own "
                                        r"weights \(relative tolerance 1e-09\)\)$"):
        to_linear(_reflect_with_forged_padding()[0], (5, 5))


def test_an_unaltered_reflect_conv_still_converts():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")).eval().double()
    x = torch.randn(2, 1, 5, 5, dtype=torch.float64)
    assert torch.allclose(to_mlp(model, (1, 5, 5))(x), model(x), rtol=0, atol=1e-12)
    assert torch.allclose(to_linear(model[0], (5, 5))(x.flatten(1)), model(x).flatten(1), rtol=0, atol=1e-12)


# 4. BatchNorm with weight or bias None: γ = 1, β = 0, as torch computes

def _batchnorm(**none):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).eval().double()
    with torch.no_grad():
        model[1].running_mean.copy_(torch.tensor([0.5, -1.0]))
        model[1].running_var.copy_(torch.tensor([2.0, 0.25]))
        model[1].weight.copy_(torch.tensor([3.0, -2.0]))
        model[1].bias.copy_(torch.tensor([0.75, 1.5]))
    for name in none:
        setattr(model[1], name, None)
    return model


@pytest.mark.parametrize("none", [{"weight"}, {"bias"}, {"weight", "bias"}])
def test_batchnorm_without_weight_or_bias_is_torchs_computation(none):
    model = _batchnorm(**dict.fromkeys(none))
    x = torch.randn(4, 1, 5, 5, dtype=torch.float64)
    bn = model[1]
    gamma = torch.ones(2, dtype=torch.float64) if "weight" in none else bn.weight.detach()
    beta = torch.zeros(2, dtype=torch.float64) if "bias" in none else bn.bias.detach()
    by_hand = ((model[0](x) - bn.running_mean[:, None, None]) / torch.sqrt(bn.running_var[:, None, None] + bn.eps)
               * gamma[:, None, None] + beta[:, None, None])
    assert torch.allclose(model(x), by_hand, rtol=0, atol=1e-12)   # torch: γ = 1, β = 0
    assert torch.allclose(to_mlp(model, (1, 5, 5))(x), model(x), rtol=0, atol=1e-12)
    assert prove_network(model, (1, 5, 5)).holds


def test_batchnorm_without_running_variance_is_refused():
    model = _batchnorm()
    model[1].running_var = None
    with pytest.raises(SpecError, match=re.escape("model[1]='BatchNorm2d': BatchNorm must be in eval mode with "
                                                  "running statistics")):
        to_mlp(model, (1, 5, 5))


# 5. to_mlp validates BatchNorm, pool and activation attributes as prove_network does

def _with(module, name, value):
    setattr(module, name, value)
    return module


ALTERED = {
    "eps text": (lambda: _with(_batchnorm()[1], "eps", "x"), (2, 3, 3),
                 "TypeError: '<' not supported between instances of 'str' and 'float'"),
    "eps negative": (lambda: _with(_batchnorm()[1], "eps", -1.0), (2, 3, 3),
                     "ValueError: batch_norm eps must be non-negative, but got -1.0"),
    "divisor 0": (lambda: nn.AvgPool2d(2, divisor_override=0), (1, 4, 4), "RuntimeError: divisor must be not zero"),
    "hardtanh": (lambda: _with(nn.Hardtanh(), "min_val", 5.0), (1, 4, 4), ""),
}


@pytest.mark.parametrize("case", ALTERED)
@pytest.mark.parametrize("convert", [to_mlp, prove_network])
def test_altered_attributes_are_a_spec_error_naming_the_layer(case, convert):
    make, shape, why = ALTERED[case]
    layer = make()
    model = nn.Sequential(nn.Identity(), layer).eval()
    with pytest.raises(SpecError) as raised:
        convert(model, shape)
    assert str(raised.value).startswith(f"model[1]='{type(layer).__name__}': ")
    assert why in str(raised.value)


# 6. batched is a flag

@pytest.mark.parametrize("batched", ["yes", 1, None, 0.0])
def test_batched_must_be_true_or_false(batched):
    with pytest.raises(SpecError, match=f"^batched={re.escape(repr(batched))}: must be True or False$"):
        assert_conv_equivalent(good, SPEC, batched=batched)


def test_numpy_bools_are_flags():
    assert assert_conv_equivalent(good, SPEC, batched=np.False_).mode == "symbolic"


def test_the_fixture_passes_batched_through_the_same_check(pytester):
    pytester.makepyfile("""
        import numpy as np, pytest, symconv
        from symconv import SpecError

        def test_it(conv_check):
            spec = symconv.ConvSpec(1, 1, kernel_size=3, input_size=6, bias=False)
            with pytest.raises(SpecError, match="^batched='yes': must be True or False$"):
                conv_check(lambda x, w, b: np.correlate(x[0], w[0, 0])[None], spec, batched="yes")
        """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


# 7. one dims validator

S = symbols_for("toeplitz")


@pytest.mark.parametrize("call", [lambda d: check_claim("toeplitz", S.w[S.t], dims=d),
                                  lambda d: symbols_for("toeplitz", d), lambda d: prove_general("toeplitz", dims=d)])
def test_dims_rules_read_the_same_everywhere(call):
    with pytest.raises(SpecError, match=r"^dims=1\.0: must be an integer$"):
        call(1.0)
    with pytest.raises(SpecError, match=r"^dims=True: must be an integer$"):
        call(True)
    with pytest.raises(SpecError, match=r"^dims=4: must be 1, 2 or 3$"):
        call(np.int64(4))
    with pytest.raises(SpecError, match=r"^dims=0: must be 1, 2 or 3$"):
        call(sp.Integer(0))


def test_numpy_and_sympy_integers_are_dims():
    assert symbols_for("toeplitz", np.int64(2)).dims == 2
    assert type(symbols_for("toeplitz", sp.Integer(3)).dims) is int
    assert check_claim("toeplitz", S.w[S.t], dims=np.int64(1), instances=2).holds is False


def test_channels_is_a_flag():
    with pytest.raises(SpecError, match=r"^channels='no': must be True or False$"):
        symbols_for("toeplitz", 1, channels="no")


def test_the_cli_refuses_dims_4(capsys):
    assert main(["general", "toeplitz", "--dims", "4"]) == 2
    assert capsys.readouterr().err == "symconv general: error: dims=4: must be 1, 2 or 3\n"


# 8. --assume gives each name once

def test_assume_with_a_name_twice_is_refused(capsys):
    assert main(["general", "toeplitz", "--claim", "w[t]", "--assume", "d=1,d=2"]) == 2
    assert capsys.readouterr().err == "symconv general: error: --assume='d=1,d=2': d given twice\n"


# 9. cosmetics

def test_the_step_deprecation_warns_once():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec("from symconv.interop import Step", {})
    assert [str(w.message)[:60] for w in caught] == ["symconv.interop.Step is deprecated, use symconv.interop.Netw"]


def test_an_nhwc_failure_names_the_layout_once():
    with pytest.raises(AssertionError) as raised:
        assert_conv_equivalent(lambda x, w, b: x[1:5] * 0, SPEC, layout="NHWC")
    assert str(raised.value).startswith("fn does not compute the convolution [1-D, C_in=1, C_out=1, input=6, "
                                        "kernel=3, no bias, NHWC]: 4 of 4 outputs differ.")
