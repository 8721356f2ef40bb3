"""symconv.interop and symconv.testing as packages (issue 12): every public name of the former
modules still imports from its old path, the renamed ``Step`` is a deprecated alias, and what the
split touched (the transposed size formula, a CheckResult's truth value) is unchanged."""

from __future__ import annotations

import importlib
import pkgutil
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import symconv
from symconv import ConvSpec, SpecError
from symconv.general import Step as DerivationStep

# the public (not underscored) names of symconv/interop.py and symconv/testing.py before the split
INTEROP_NAMES = ("ELEMENTWISE", "NOT_LINEAR_RULE", "HOOKS", "GLOBAL_HOOKS", "FORWARD_METHODS", "FUNCTIONAL",
                 "MAX_FEATURES", "MAX_DENSE_ENTRIES", "valid_shape", "spec_of", "transposed_of", "network_steps",
                 "mlp_layers", "to_linear", "to_mlp", "paper_network", "NETWORK_STATEMENT", "NetworkProof",
                 "run_mlp", "TORCH_SAMPLES", "TORCH_BATCHES", "TORCH_RANGE", "TORCH_RTOL", "TorchMismatch",
                 "rounding_tolerance", "torch_mismatch", "prove_network", "refuse_foreign_code")
TESTING_NAMES = ("MODES", "ESTABLISHED", "SHOWN_OUTPUTS", "SHOWN_TERMS", "PROBE_TRIALS", "PROBE_RANGE",
                 "PROBE_DEADLINE", "EXACT_BITS", "EXACT_NARROW_BITS", "EXACT_MAGNITUDE_BITS", "EXACT_BATCH",
                 "EXACT_REFERENCE_TERMS", "MAX_TERMS", "PROBE_MEMORY", "NotCheckable", "CheckResult",
                 "assert_conv_equivalent", "PATTERN_RANGE", "PATTERNS")
# names added to symconv.interop since the split (issue 16: the MLP as an ONNX file, its certificate)
ADDED_INTEROP_NAMES = ("NetworkStep", "to_onnx", "OnnxExport", "run_onnx", "MAX_ONNX_BYTES", "certificate",
                       "certificate_json", "Certificate", "LayerCertificate")
# names added to symconv.testing since the split (issue 13: transposed and gradient checks)
ADDED_TESTING_NAMES = ("assert_conv_transpose_equivalent", "assert_conv_gradients_equivalent",
                       "AdjointCheckResult", "transpose_target", "gradients_target")


@pytest.mark.parametrize(("package", "names"), [("interop", INTEROP_NAMES), ("testing", TESTING_NAMES)])
def test_every_former_public_name_imports_from_its_old_path(package, names):
    module = importlib.import_module(f"symconv.{package}")
    for name in names:
        exec(f"from symconv.{package} import {name}", {})   # the statement users wrote
        assert getattr(getattr(symconv, package), name) is getattr(module, name)
    assert set(module.__all__) == set(names) | set(ADDED_INTEROP_NAMES if package == "interop" else ADDED_TESTING_NAMES)
    assert len(module.__all__) == len(set(module.__all__))


@pytest.mark.parametrize("package", ["interop", "testing"])
def test_each_module_of_the_packages_imports_on_its_own(package):
    found = [info.name for info in pkgutil.iter_modules(importlib.import_module(f"symconv.{package}").__path__)]
    assert len(found) >= 8
    for name in found:
        assert importlib.import_module(f"symconv.{package}.{name}").__doc__.strip()


def test_step_is_a_deprecated_alias_of_network_step():
    from symconv.interop import NetworkStep
    with pytest.warns(DeprecationWarning, match=r"symconv\.interop\.Step is deprecated, use "
                                                r"symconv\.interop\.NetworkStep"):
        from symconv.interop import Step
    assert Step is NetworkStep
    with pytest.warns(DeprecationWarning):
        assert symconv.interop.Step is NetworkStep
    assert NetworkStep is not DerivationStep   # the clash the rename removes
    assert "Step" not in symconv.interop.__all__ and "Step" not in dir(symconv.interop)


def test_the_new_names_do_not_warn_and_unknown_names_still_fail():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from symconv.interop import NetworkStep, network_steps
        steps = network_steps(torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3)), (1, 5))
    assert [type(s) for s in steps] == [NetworkStep] and steps[0].out_shape == (2, 3)
    with pytest.raises(AttributeError, match="module 'symconv.interop' has no attribute 'Stepp'"):
        symconv.interop.Stepp  # noqa: B018
    with pytest.raises(ImportError):
        exec("from symconv.interop import NoSuchName", {})


def test_a_check_result_is_true_without_its_own_bool():
    """tests/test_testing_adversarial.py and test_testing_adversarial3.py write ``assert
    assert_conv_equivalent(...)``: a CheckResult is truthy (object's default; __bool__ was dead)."""
    spec = ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    result = symconv.testing.assert_conv_equivalent(lambda x, w, b: symconv.conv(spec, x, w, b), spec, seed=0)
    assert bool(result) is True and "__bool__" not in vars(type(result))


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 7), kernel=st.integers(1, 4), stride=st.integers(1, 3), dilation=st.integers(1, 3),
       padding=st.integers(0, 3))
def test_transposed_of_gives_torchs_output_size(m, kernel, stride, dilation, padding):
    """n_min = (m − 1)·s − 2p + d·(K − 1) + 1 (pattern.smallest_input_size) is the output size of
    torch's ConvTranspose1d with output_padding 0; where it is below 1 the layer is refused."""
    module = torch.nn.ConvTranspose1d(2, 3, kernel, stride=stride, padding=padding, dilation=dilation)
    n_min = (m - 1) * stride - 2 * padding + dilation * (kernel - 1) + 1
    if n_min + stride - 1 < 1:
        with pytest.raises(SpecError, match=r"padding=\(\d+,\): no forward input size n ≥ 1 has output size"):
            symconv.interop.transposed_of(module, m)
        return
    spec = symconv.interop.transposed_of(module, m)
    assert (spec.in_channels, spec.out_channels, spec.input_size) == (3, 2, (max(1, n_min),))
    assert spec.output_size == (m,)
    if n_min >= 1:
        assert module(torch.zeros(1, 2, m)).shape[-1] == n_min
