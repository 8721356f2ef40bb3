"""symconv.testing.assert_conv_equivalent: proofs, probing, failure messages and diagnoses.

Third-party implementations (numpy, scipy, torch) are in test_testing_thirdparty.py; here the
functions under test are symconv's own definition and deliberately broken variants of it, so
every diagnosis is checked against a fault we planted.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
import scipy.signal
import sympy as sp
import torch
from hypothesis import given, settings

import symconv
from symconv import ConvSpec, SpecError
from symconv.testing import ESTABLISHED, NotCheckable, assert_conv_equivalent
from tests.strategies import conv_specs
from tests.torch_reference import torch_conv

PROBED = ESTABLISHED["probe"]   # randomized identity testing (test_probe_pit.py: the bound)



@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny float64 convolutions are fastest on one thread (two threads on a busy machine spin
    for milliseconds per call); restored after each test."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

def definition_of(spec: ConvSpec):
    """fn = the definition of ``spec`` (in spec's layout), for planting faults via another spec."""
    return lambda x, w, b: symconv.conv(spec, x, w, b)


def diagnoses(error: pytest.ExceptionInfo) -> list[str]:
    return [line for line in str(error.value).splitlines() if line.startswith("Diagnosis:")]


# ---- what is established ------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(conv_specs(max_terms=200))
def test_the_definition_is_proved_in_every_spec_class(spec):
    result = assert_conv_equivalent(definition_of(spec), spec)
    assert result.established == "proved"
    assert (result.outputs, result.terms, result.calls) == (
        int(np.prod(spec.output_shape)), spec.n_terms + spec.n_bias_terms, 1)
    assert str(result).startswith("proved: fn computes the convolution")


@settings(max_examples=15, deadline=None)
@given(conv_specs(max_terms=150))
def test_torch_is_verified_by_probing_in_every_spec_class(spec):
    fn = lambda x, w, b: torch_conv(spec, x, w, b)  # noqa: E731
    result = assert_conv_equivalent(fn, spec, mode="probe", batched=True)
    assert result.established == PROBED and result.false_pass_bound <= Fraction(1, 2**64)
    assert "proved" not in str(result)
    result = assert_conv_equivalent(fn, spec, mode="probe", batched=True, exhaustive=True)
    assert result.established == ESTABLISHED["exhaustive"] and "proved" not in str(result)
    nw = np.prod(spec.weight_shape)  # one call for x = 0, e_1, …; one per one-hot w and b
    assert result.calls == 1 + nw + (spec.out_channels if spec.bias else 0) + 3


@settings(max_examples=15, deadline=None)
@given(conv_specs(max_terms=150))
def test_a_flipped_kernel_is_refuted_and_diagnosed_in_every_spec_class(spec):
    flipped = replace(spec, convention={"convolution": "cross-correlation",
                                        "cross-correlation": "convolution"}[spec.convention])
    x, w, b = symconv.symbols(spec)
    if all(sp.expand(p - q) == 0 for p, q in zip(symconv.conv(spec, x, w, b).flat,
                                                  symconv.conv(flipped, x, w, b).flat)):
        # e.g. a 1×…×1 kernel, or padding so wide that each output reads one tap: the flip is
        # invisible, and the flipped code is then proved correct
        assert assert_conv_equivalent(definition_of(flipped), spec).established == "proved"
        return
    with pytest.raises(AssertionError, match="outputs differ") as error:
        assert_conv_equivalent(definition_of(flipped), spec)
    assert any(d.startswith("Diagnosis: kernel flipped") for d in diagnoses(error))


def test_probe_counts_calls_without_batching():
    spec = ConvSpec(1, 2, kernel_size=2, input_size=3, bias=True)
    result = assert_conv_equivalent(lambda x, w, b: torch_conv(spec, x, w, b), spec, mode="probe", exhaustive=True)
    nx, nw, nb = 3, 4, 2
    assert result.calls == (1 + nx) * (1 + nw) + nb + 3


def test_layout_argument_wins_over_spec_layout():
    spec = ConvSpec(2, 3, kernel_size=(2, 1), input_size=(3, 4), layout="NCHW")
    nhwc = replace(spec, layout="NHWC")
    result = assert_conv_equivalent(definition_of(nhwc), spec, layout="NHWC")
    assert result.spec.layout == "NHWC"
    assert assert_conv_equivalent(definition_of(nhwc), nhwc).spec == nhwc  # None: spec's layout
    with pytest.raises(NotCheckable, match=re.escape("(x (2, 3, 4), w (3, 2, 2, 1), b (3,); NCHW)")):
        assert_conv_equivalent(definition_of(nhwc), spec)


def test_batched_fn_on_symbols():
    spec = ConvSpec(1, 1, kernel_size=2, input_size=4)
    assert assert_conv_equivalent(definition_of(spec), spec, batched=True).established == "proved"


# ---- failure messages ---------------------------------------------------------------------
def test_message_names_output_and_the_terms_it_lacks_and_has_instead():
    spec = ConvSpec(2, 1, kernel_size=3, input_size=(4, 4), bias=False)

    def fn(x, w, b):  # y[0,1,0] reads x_{1,2,3} instead of x_{1,3,2} through w_{0,1,2,2}
        y = symconv.conv(spec, x, w, b)
        y[0, 1, 0] += w[0, 1, 2, 2] * (x[1, 2, 3] - x[1, 3, 2])
        return y

    with pytest.raises(AssertionError) as error:
        assert_conv_equivalent(fn, spec)
    lines = str(error.value).splitlines()
    assert lines[0] == ("fn does not compute the convolution [2-D, C_in=2, C_out=1, input=4×4, "
                        "kernel=3×3, no bias, NCHW]: 1 of 4 outputs differ.")
    assert lines[1] == "  y[0,1,0] lacks w_{0,1,2,2}·x_{1,3,2}; has w_{0,1,2,2}·x_{1,2,3} instead"
    assert lines[2].startswith("Diagnosis: none of the recognised faults")


def test_message_lists_first_outputs_in_the_users_layout_and_counts_the_rest():
    spec = ConvSpec(1, 2, kernel_size=1, input_size=5, layout="NHWC")
    with pytest.raises(AssertionError) as error:  # fn forgets the bias: every output lacks b_o
        assert_conv_equivalent(lambda x, w, b: symconv.conv(replace(spec, bias=False), x, w), spec)
    lines = str(error.value).splitlines()
    assert lines[1:5] == ["  y[0,0] lacks b_{0}", "  y[1,0] lacks b_{0}", "  y[2,0] lacks b_{0}",
                          "  ... and 7 more differing output(s)"]
    assert lines[5] == "Diagnosis: bias not added — that layer reproduces fn's output exactly."


def test_extra_terms_and_coefficients_are_reported():
    spec = ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)

    def fn(x, w, b):
        y = symconv.conv(spec, x, w, b)
        y[0, 1] = y[0, 1] + w[0, 0, 0] * x[0, 1] + x[0, 0]
        return y

    with pytest.raises(AssertionError) as error:
        assert_conv_equivalent(fn, spec)
    assert "\n  y[0,1] has the extra terms w_{0,0,0}·x_{0,1}, x_{0,0}\n" in str(error.value)


@pytest.mark.parametrize("spec, planted, diagnosis", [
    (ConvSpec(1, 1, 3, (7, 7), stride=2), dict(stride=1), "stride off: fn uses stride=(1, 1)"),
    (ConvSpec(1, 1, 2, 8, dilation=2), dict(dilation=3), "dilation off: fn uses dilation=(3,)"),
    (ConvSpec(1, 1, 2, (5, 5), padding=((1, 0), (2, 1))), dict(padding=((0, 1), (1, 2))),
     "padding on the wrong side: fn pads ((0, 1), (1, 2)), mirrored"),
    (ConvSpec(1, 1, 2, 5, padding=1), dict(padding=((2, 0),)),
     "padding on the wrong side: fn pads everything before"),
    (ConvSpec(1, 1, 3, 5, padding=1), dict(padding=2), "padding off by +1"),
    (ConvSpec(1, 1, 3, (4, 4), padding=1), dict(padding=1, padding_mode="circular"),
     "padding mode: fn pads with 'circular' values, the spec says 'zeros'"),
    (ConvSpec(1, 1, 3, 5, padding=1, padding_mode="reflect"), dict(padding=0),
     "padding missing: fn does not pad"),
])
def test_planted_faults_are_diagnosed(spec, planted, diagnosis):
    with pytest.raises(AssertionError) as error:
        assert_conv_equivalent(definition_of(replace(spec, **planted)), spec)
    found = diagnoses(error)
    assert len(found) == 1 and found[0].startswith(f"Diagnosis: {diagnosis}")


def test_transposed_kernel_axes_are_diagnosed_for_square_and_rectangular_kernels():
    for kernel in ((3, 3), (2, 3)):
        spec = ConvSpec(2, 3, kernel, (5, 6), bias=False)
        swapped = replace(spec, kernel_size=kernel[::-1])
        fn = lambda x, w, b, swapped=swapped: symconv.conv(swapped, x, w.swapaxes(2, 3))  # noqa: E731
        with pytest.raises(AssertionError) as error:
            assert_conv_equivalent(fn, spec)
        assert diagnoses(error) == ["Diagnosis: kernel axes transposed: fn reads the kernel's "
                                    "spatial axes in the order (1, 0) — that layer reproduces "
                                    "fn's output exactly."]


def test_swapped_weight_channel_axes_are_diagnosed():
    spec = ConvSpec(3, 3, 2, (4, 4), bias=False)
    with pytest.raises(AssertionError) as error:
        assert_conv_equivalent(lambda x, w, b: symconv.conv(spec, x, w.swapaxes(0, 1)), spec)
    assert diagnoses(error)[0].startswith("Diagnosis: channels swapped: fn reads the weight as w[c, o]")


def test_flip_combined_with_another_fault_is_diagnosed():
    spec = ConvSpec(1, 1, 3, 6, stride=2, bias=False)
    with pytest.raises(AssertionError) as error:
        assert_conv_equivalent(definition_of(replace(spec, stride=1, convention="convolution")), spec)
    assert diagnoses(error) == [
        "Diagnosis: kernel flipped: fn computes true convolution (the kernel mirrored on every "
        "axis), the spec says cross-correlation; and stride off: fn uses stride=(1,), the spec "
        "says (2,) — that layer reproduces fn's output exactly."]


# ---- probe mode ---------------------------------------------------------------------------
def test_probe_reports_the_same_differences_as_symbolic_mode():
    spec = ConvSpec(2, 2, 3, (4, 5), padding=(1, 0), bias=True)
    broken = definition_of(replace(spec, padding=((2, 0), (0, 0))))
    messages = []
    for mode in ("symbolic", "probe"):
        fn = broken if mode == "symbolic" else (
            lambda x, w, b: np.asarray(broken(x, w, b), dtype=np.float64))
        with pytest.raises(AssertionError) as error:
            assert_conv_equivalent(fn, spec, mode=mode, **({"exhaustive": True} if mode == "probe" else {}))
        messages.append(str(error.value))
    assert messages[1] == messages[0].replace("NCHW]:", "NCHW] (found by exact probing):")
    with pytest.raises(AssertionError) as error:   # identity testing: the same terms, at the outputs it saw differ
        assert_conv_equivalent(fn, spec, mode="probe")
    lines = [line for line in messages[0].splitlines()[1:] if not line.startswith("  ...")]
    assert all(line in str(error.value) for line in lines[:2])
    assert "padding on the wrong side: fn pads everything before" in messages[1]


def test_probe_rejects_a_map_that_is_not_bilinear():
    spec = ConvSpec(1, 1, 2, 4, bias=False)
    fn = lambda x, w, b: np.abs(np.asarray(symconv.conv(spec, x, w), dtype=float))  # noqa: E731
    with pytest.raises(AssertionError, match=r"fn is not a convolution layer: it is not bilinear"
                                             r".* the map read off by one-hot probing predicts"):
        assert_conv_equivalent(fn, spec, mode="probe", exhaustive=True)
    with pytest.raises(AssertionError, match=r"fn is not a convolution layer: .*not bilinear"):
        assert_conv_equivalent(fn, spec, mode="probe")


def test_probe_finds_constant_and_linear_terms():
    spec = ConvSpec(1, 1, 2, 3, bias=False)
    fn = lambda x, w, b: (np.asarray(symconv.conv(spec, x, w), dtype=float)  # noqa: E731
                          + 1 + 2 * x[0, 0] - w[0, 0, 1])
    with pytest.raises(AssertionError) as error:
        assert_conv_equivalent(fn, spec, mode="probe")
    assert "\n  y[0,1] lacks w_{0,0,1}; has 1, 2·x_{0,0} instead\n" in str(error.value)


def test_probe_refutes_code_that_rounds_and_names_the_tolerance():
    spec = ConvSpec(1, 1, 3, 8, bias=False)
    fft = lambda x, w, b: scipy.signal.fftconvolve(x[0], w[0, 0][::-1], "valid")[None]  # noqa: E731
    with pytest.raises(NotCheckable, match=re.escape(
            "fn returned y[0,2] = -4.4408920985006264e-17 on inputs of small integers (0/1 for "
            "probing), where a convolution gives an exact integer: fn rounds")):
        assert_conv_equivalent(fft, spec, mode="probe", exhaustive=True)
    # identity testing: a non-integer output at integer inputs is a counterexample (0.5·conv is a
    # bug, not rounding), with the advice to check code that rounds by design within a tolerance
    with pytest.raises(AssertionError, match=r"fn does not compute the layer: it returned y\[.*\] = .* on integer "
                                             r"inputs \(.*\), where every product and partial sum of the layer is an "
                                             r"exact integer \(if fn rounds by design.*rtol=, atol="):
        assert_conv_equivalent(fft, spec, mode="probe")


# ---- bad input ----------------------------------------------------------------------------
def test_float_only_code_on_symbols_suggests_probe_mode():
    spec = ConvSpec(1, 1, 2, 4)

    def fn(x, w, b):
        y = np.zeros(spec.output_shape)   # a float allocation: cannot hold symbols
        y[:] = symconv.conv(spec, x, w, b)
        return y

    with pytest.raises(NotCheckable, match=r"(?s)fn raised TypeError.*use mode='probe'"):
        assert_conv_equivalent(fn, spec)
    assert assert_conv_equivalent(fn, spec, mode="probe").established == PROBED


@pytest.mark.parametrize("kwargs, parameter", [
    (dict(layout="NWHC"), "layout"), (dict(mode="numeric"), "mode")])
def test_bad_arguments_raise_spec_error(kwargs, parameter):
    spec = ConvSpec(1, 1, 2, 4)
    with pytest.raises(SpecError, match=re.escape(f"{parameter}={kwargs[parameter]!r}")):
        assert_conv_equivalent(definition_of(spec), spec, **kwargs)
    with pytest.raises(SpecError, match="spec='dict': must be a symconv.ConvSpec"):
        assert_conv_equivalent(definition_of(spec), {})


def test_unexpected_shapes_are_named():
    spec = ConvSpec(1, 2, 3, 6, bias=False)
    with pytest.raises(AssertionError, match=re.escape(
            "fn returned shape (2, 5), the output shape is (2, 4) = (C_out, *output_size).")):
        assert_conv_equivalent(definition_of(replace(spec, padding=((1, 0),))), spec)
    with pytest.raises(AssertionError, match="declared batched but returned shape"):
        assert_conv_equivalent(lambda x, w, b: symconv.conv(spec, x[0], w), spec, batched=True)


def test_symbolic_outputs_are_compared_as_polynomials_not_strings():
    spec = ConvSpec(1, 1, 2, 3, bias=False)

    def factored(x, w, b):  # w0·(x0 + x1) − w0·x1 + w1·x1 is the definition, unexpanded
        x = x.astype(np.result_type(x, w))   # x0 + x1 would wrap around in a uint8 image
        if x.dtype.kind == "f":   # exactly: x0 + x1 rounds at 53-bit values (the full-significand trials)
            x, w = (np.vectorize(lambda v: sp.Rational(*v.as_integer_ratio()), otypes=[object])(a) for a in (x, w))
        y = np.empty((1, 2), dtype=object)
        for i in range(2):
            y[0, i] = w[0, 0, 0] * (x[0, i] + x[0, i + 1]) - w[0, 0, 0] * x[0, i + 1] \
                + w[0, 0, 1] * x[0, i + 1]
        return y

    assert assert_conv_equivalent(factored, spec).established == "proved"
    assert sp.expand(factored(*symconv.symbols(spec))[0, 0]) == \
        symconv.conv(spec, *symconv.symbols(spec))[0, 0]


@pytest.mark.parametrize("mode", ["symbolic", "probe"])
def test_fn_that_writes_into_its_arguments_cannot_corrupt_the_check(mode):
    spec = ConvSpec(2, 2, 2, (3, 3))

    def vandal(layer):
        def fn(x, w, b):
            y = symconv.conv(layer, x, w, b)
            x[...], w[...], b[...] = 0, 0, 0
            return y if mode == "symbolic" else np.asarray(y, dtype=float)
        return fn

    # fn gets copies, so it cannot corrupt the check; writing into them is itself refused (issue 11)
    for layer in (spec, replace(spec, convention="convolution")):
        with pytest.raises(NotCheckable, match=re.escape("fn modified its argument x in place: x[0,0,0] was ")):
            assert_conv_equivalent(vandal(layer), spec, mode=mode)


def test_docstring_examples():
    package = symconv.testing   # the examples of every module of the package
    modules = [package, *(importlib.import_module(f"{package.__name__}.{info.name}")
                          for info in pkgutil.iter_modules(package.__path__))]
    results = [doctest.testmod(module, optionflags=doctest.ELLIPSIS) for module in modules]
    # 29 + 5 (fastpoly), 26 in the adjoint_* modules (transposed and gradient checks, issue 13 item 5),
    # 7 of adversarial round 16 (the adjoint trial families, single positions, scaled full trials),
    # 15 of the receptive-field diagnosis (budget, fields, fieldprobe, fieldreport: issue 13 item 2),
    # and 5 of the adjoint checkers' exhaustive and tolerance options (adjoints, adjoint_recovery)
    # and 10 of its roles for the transposed and gradient checks (fieldroles, fields, adjoint_fields),
    # and 3 of the tolerance points' numerator bits (tolerance.value_bits, adversarial round 19)
    assert (sum(r.failed for r in results), sum(r.attempted for r in results)) == (0, 105)
