"""A network proof is about what torch computes: altered modules are refused by name, and each layer
is compared with torch running it (issue 11, "PROVED must mean proved")."""

from __future__ import annotations

import re
import warnings
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from torch import nn
from torch.nn.utils import parametrize

from symconv import SpecError
from symconv.interop import (
    TorchMismatch,
    network_steps,
    paper_network,
    prove_network,
    to_linear,
    to_mlp,
    torch_mismatch,
)
from tests.strategies import conv_specs

CONVERTERS = {"prove_network": prove_network, "to_mlp": to_mlp, "network_steps": network_steps}


class Conv2dSame(nn.Conv2d):
    """timm's Conv2dSame: TensorFlow 'SAME' padding computed and applied in forward."""

    def forward(self, x):
        ih, iw = x.shape[-2:]
        pad = [max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
               for n, s, k, d in zip((ih, iw), self.stride, self.kernel_size, self.dilation)]
        x = F.pad(x, [pad[1] // 2, pad[1] - pad[1] // 2, pad[0] // 2, pad[0] - pad[0] // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, (0, 0), self.dilation, self.groups)


class Residual(nn.Sequential):
    """x + layers(x): a Sequential whose forward is not the chain of its children."""

    def forward(self, x):
        return x + super().forward(x)


class ReLU(nn.Module):
    """A user class that is merely named ReLU."""

    def forward(self, x):
        return 2 * x


class Symmetric(nn.Module):
    def forward(self, w):
        return w.triu() + w.triu(1).transpose(-1, -2)


def refused(model: nn.Module, shape: tuple[int, ...]) -> list[SpecError]:
    """The SpecError of every converter (all must refuse, with the same error)."""
    errors = []
    for convert in CONVERTERS.values():
        with pytest.raises(SpecError) as error:
            convert(model, shape)
        errors.append(error.value)
    assert len({str(e) for e in errors}) == 1
    return errors


def assert_refused(model, shape, position, cls, text):
    error = refused(model, shape)[0]
    assert error.parameter == position
    assert error.value == f"{cls.__module__}.{cls.__qualname__}"
    assert text in error.rule, error.rule


# ---- the four altered networks of the issue ------------------------------------------------------
def test_conv2d_subclass_with_its_own_forward_is_refused():
    model = nn.Sequential(Conv2dSame(1, 2, 3, stride=2), nn.ReLU(), nn.Flatten()).double()
    x = torch.randn(1, 1, 5, 5, dtype=torch.float64)
    plain = nn.Conv2d(1, 2, 3, stride=2).double()
    plain.load_state_dict(model[0].state_dict())
    assert model[0](x).shape != plain(x).shape        # the trap: same attributes, another computation
    assert_refused(model, (1, 5, 5), "model[0]", Conv2dSame,
                   "is a subclass of torch.nn.Conv2d, and a subclass may compute something else")
    with pytest.raises(SpecError, match=r"conv_module=.*Conv2dSame'.*subclass of torch.nn.Conv2d"):
        to_linear(model[0], (5, 5))


def test_sequential_subclass_with_a_residual_forward_is_refused():
    inner = Residual(nn.Conv1d(2, 2, 3, padding=1), nn.ReLU())
    model = nn.Sequential(nn.Conv1d(1, 2, 1), inner, nn.Flatten())
    assert_refused(model, (1, 4), "model[1]", Residual, "is a subclass of torch.nn.Sequential")
    assert_refused(inner, (2, 4), "model", Residual, "a residual connection")


def test_forward_hook_is_refused():
    model = nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU())
    handle = model[0].register_forward_hook(lambda module, inputs, output: 2 * output)
    assert_refused(model, (1, 5), "model[0]", nn.Conv1d, "has 1 forward hook(s)")
    handle.remove()
    assert prove_network(model, (1, 5)).holds


@pytest.mark.parametrize("register, kind", [
    (lambda m: m.register_forward_pre_hook(lambda module, inputs: (2 * inputs[0],)), "forward pre-hook"),
    (lambda m: m.register_full_backward_hook(lambda module, gi, go: None), "backward hook"),
    (lambda m: m.register_full_backward_pre_hook(lambda module, go: None), "backward pre-hook")])
def test_other_hooks_are_refused_also_on_the_container(register, kind):
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    for target, position in ((model[1], "model[1]"), (model, "model")):
        handle = register(target)
        assert_refused(model, (3,), position, type(target), f"has 1 {kind}(s)")
        handle.remove()


def test_global_module_hooks_are_refused():
    model = nn.Sequential(nn.Linear(3, 2))
    handle = torch.nn.modules.module.register_module_forward_hook(lambda module, inputs, output: output + 1)
    try:
        error = refused(model, (3,))[0]
    finally:
        handle.remove()
    assert error.parameter == "torch.nn.modules.module._global_forward_hooks"
    assert "global module hooks (register_module_forward_hook) run on every module" in error.rule
    assert prove_network(model, (3,)).holds


def test_user_class_named_relu_is_refused():
    model = nn.Sequential(nn.Linear(3, 2), ReLU())
    assert_refused(model, (3,), "model[1]", ReLU, "is named like torch.nn.ReLU but is another class")


def test_instance_attribute_replacing_forward_is_refused():
    model = nn.Sequential(nn.Conv1d(1, 1, 2))
    original = model[0].forward
    model[0].forward = lambda x: original(x) + 1
    assert_refused(model, (1, 4), "model[0]", nn.Conv1d, "its instance attribute 'forward' replaces the "
                                                         "method Conv1d.forward")


# ---- parametrizations, weight_norm, spectral_norm ------------------------------------------------
def test_parametrized_module_is_refused():
    model = nn.Sequential(nn.Linear(3, 3))
    parametrize.register_parametrization(model[0], "weight", Symmetric())
    error = refused(model, (3,))[0]
    assert error.parameter == "model[0]" and "ParametrizedLinear" in error.value
    assert "is parametrized (torch.nn.utils.parametrize: weight recomputed" in error.rule


def test_new_style_weight_norm_is_refused_as_a_parametrization():
    model = nn.Sequential(torch.nn.utils.parametrizations.weight_norm(nn.Conv1d(1, 2, 2)))
    error = refused(model, (1, 4))[0]
    assert error.parameter == "model[0]" and "is parametrized" in error.rule


@pytest.mark.parametrize("apply, name", [(torch.nn.utils.weight_norm, "weight_norm"),
                                         (torch.nn.utils.spectral_norm, "spectral_norm")])
def test_old_style_weight_and_spectral_norm_are_refused(apply, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)   # torch deprecates the hook-based versions
        model = nn.Sequential(apply(nn.Conv1d(1, 2, 2)), nn.Flatten())
    assert_refused(model, (1, 4), "model[0]", nn.Conv1d,
                   f"has torch.nn.utils.{name} (a forward pre-hook that recomputes 'weight'")


# ---- true networks are still proved; torch agrees with them ------------------------------------
@pytest.mark.parametrize("model, shape", [
    (paper_network(channels=2, kernel=2, size=4), (1, 4, 4)),
    (nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), nn.BatchNorm2d(3), nn.GELU(),
                   nn.AvgPool2d(3), nn.Sequential(nn.Flatten(), nn.Linear(3, 2)), nn.Sigmoid()).eval(), (2, 3, 3)),
    (nn.Sequential(nn.ConvTranspose1d(2, 1, 3, stride=2), nn.PReLU(), nn.AdaptiveAvgPool1d(1)), (2, 3)),
])
def test_true_networks_are_proved_and_agree_with_torch(model, shape):
    assert torch_mismatch(model, shape) is None
    proof = prove_network(model, shape)
    assert proof.holds, proof.summary()
    assert "torch" in proof.timings


@settings(max_examples=25, deadline=None)
@given(conv_specs(max_terms=2000, conventions=("cross-correlation",), layouts=("NCHW",),
                  padding_forms=("int", "tuple", "valid", "same")))
def test_every_torch_conv_agrees_with_its_map(spec):
    """No false refusal: float64 within the tolerance and exactly on integers, for torch's conv
    modules with every padding mode, stride, dilation and groups (float32 weights, as torch makes)."""
    padding = [p for p, _ in spec.padding]
    if any(p != q for p, q in spec.padding):
        padding = "same"
    conv = getattr(nn, f"Conv{spec.dims}d")(spec.in_channels, spec.out_channels, spec.kernel_size,
                                            stride=spec.stride, padding=padding, dilation=spec.dilation,
                                            groups=spec.groups, bias=spec.bias, padding_mode=spec.padding_mode)
    assert torch_mismatch(nn.Sequential(conv, nn.Tanh()), spec.input_shape) is None


# ---- negative controls: unaltered classes, but torch computes something else -------------------
def test_monkeypatched_class_forward_refutes_the_proof(monkeypatch):
    """Conv2d.forward replaced on the class itself: every structural check passes (exact class, no
    instance attribute, no hook), so only the comparison with torch can find it."""
    model = paper_network(channels=2, kernel=2, size=4)
    original = nn.Conv2d.forward
    monkeypatch.setattr(nn.Conv2d, "forward", lambda self, x: original(self, x) + 1)
    assert [s.kind for s in network_steps(model, (1, 4, 4))] == ["conv", "elementwise", "flatten", "linear"]
    proof = prove_network(model, (1, 4, 4))
    assert not proof.holds
    found = proof.counterexample
    assert isinstance(found, TorchMismatch) and found.index[0] == 0 and len(found.index) == 4
    assert found.expected - found.obtained == pytest.approx(1)
    assert "float64 with the model's own weights" in found.check
    text = proof.summary()
    assert text.startswith("REFUTED") and "torch's model[0] (Conv2d)" in text
    assert "model[0] (Conv2d) by its attributes" in text
    document = proof.to_latex()
    assert "was run in torch and compared with the map read from its attributes" in document
    assert "built on the symbols" not in document


def test_a_tiny_relative_change_is_found_by_the_exact_integer_check(monkeypatch):
    """y·(1 + 10⁻¹²) hides inside the float64 tolerance, but not on integer weights and inputs."""
    model = nn.Sequential(nn.Conv1d(2, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(12, 2))
    original = nn.Linear.forward
    monkeypatch.setattr(nn.Linear, "forward", lambda self, x: original(self, x) * (1 + 1e-12))
    found = torch_mismatch(model, (2, 4))
    assert found is not None and found.check.startswith("exactly, on integer weights and inputs")
    assert "torch's model[3] (Linear)" in str(found)
    assert not prove_network(model, (2, 4)).holds


def test_a_sequential_whose_forward_is_not_its_chain_is_found(monkeypatch):
    """nn.Sequential.forward patched on the class: every layer agrees with its map, only the
    comparison of model(x) with its layers run one after the other finds it."""
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    original = nn.Sequential.forward
    monkeypatch.setattr(nn.Sequential, "forward", lambda self, x: original(self, x) + x)
    found = torch_mismatch(model, (3,))
    assert found is not None and found.check == "model(x) exactly against its layers run one after the other"
    assert "torch's model (Sequential)" in str(found)


def test_an_activation_that_is_not_entrywise_refutes_the_proof(monkeypatch):
    """ReLU.forward patched to subtract the mean: to_mlp copies the module, so torch's MLP would
    even agree, but it is no elementwise σ as the proof claims."""
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    monkeypatch.setattr(nn.ReLU, "forward", lambda self, x: torch.relu(x - x.mean(dim=1, keepdim=True)))
    proof = prove_network(model, (3,))
    assert not proof.holds and "acts on each entry alone" in proof.counterexample.check
    assert "model[1] (ReLU)" in proof.summary()


def test_the_comparison_itself_names_a_wrong_map():
    """The comparison, called on its own with a layer map that is wrong (the kernel flipped: the
    map symconv would build if it misread the convention) is refuted at that layer."""
    model = nn.Sequential(nn.Conv1d(1, 2, 3), nn.Flatten())
    steps = network_steps(model, (1, 5))
    flipped = replace(steps[0], spec=replace(steps[0].spec, convention="convolution"))
    found = torch_mismatch(model, (1, 5), [flipped, steps[1]])
    assert found is not None and found.index[0] == 0 and found.difference != 0
    assert "model[0] (Conv1d)" in str(found) and found.check.startswith("float64")
    assert torch_mismatch(model, (1, 5), steps) is None


def test_a_refuted_network_document_compiles(tex, tmp_path, monkeypatch):
    """The refuted report (torch disagreed with the attributes) is a document that compiles."""
    from symconv.latex.build import compile_latex
    model = paper_network(channels=2, kernel=2, size=4)
    original = nn.Conv2d.forward
    monkeypatch.setattr(nn.Conv2d, "forward", lambda self, x: original(self, x) + 1)
    proof = prove_network(model, (1, 4, 4))
    assert not proof.holds
    assert compile_latex(proof.to_latex(), tmp_path / "refuted.pdf").exists()


# ---- adversarial review, round 2: the network proof is about the model itself ------------------
def small_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3)).eval()


@pytest.mark.parametrize("name", ["__deepcopy__", "__reduce_ex__", "helper"])
def test_any_callable_instance_attribute_is_refused(name):
    model = small_net()
    setattr(model[1], name, lambda *args: nn.Tanh())
    for convert in CONVERTERS.values():
        with pytest.raises(SpecError, match=re.escape(f"model[1]='torch.nn.modules.activation.ReLU': its "
                                                      f"instance attribute {name!r} ")):
            convert(model, (1, 6))


def test_a_parameter_or_buffer_subclass_is_refused():
    class Sneaky(nn.Parameter):
        pass

    model = small_net()
    model[0].weight = Sneaky(model[0].weight.detach().clone())
    with pytest.raises(SpecError, match=re.escape("model[0]='Conv1d.weight': the parameter is a ")
                       + r".*Sneaky, not exactly torch\.nn\.parameter\.Parameter"):
        prove_network(model, (1, 6))
    bn = nn.Sequential(nn.BatchNorm1d(2)).eval()
    bn[0].running_mean = bn[0].running_mean.as_subclass(type("T", (torch.Tensor,), {}))
    with pytest.raises(SpecError, match=re.escape("model[0]='BatchNorm1d.running_mean': the buffer is a ")):
        prove_network(bn, (2, 3))


def test_an_active_torch_function_mode_is_refused():
    from torch.overrides import TorchFunctionMode

    class Plus1(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    with Plus1(), pytest.raises(SpecError, match=re.escape("torch modes='1 torch function mode(s), 0 dispatch "
                                                             "mode(s)': an active TorchFunctionMode")):
        prove_network(small_net(), (1, 6))


def test_an_active_dispatch_mode_is_refused():
    from torch.utils._python_dispatch import TorchDispatchMode

    class Passthrough(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    with Passthrough(), pytest.raises(SpecError, match=re.escape("0 torch function mode(s), 1 dispatch mode(s)")):
        prove_network(small_net(), (1, 6))


PATCHES = {   # wrong only where the old comparisons (float64 copy, no_grad, batch 3, |x| ≤ 3) never looked
    "float32 only": lambda y, x: y + (x.dtype != torch.float64),
    "grad enabled only": lambda y, x: y + torch.is_grad_enabled(),
    "batch of 5": lambda y, x: y + (x.shape[0] == 5),
    "batch of 1": lambda y, x: y + (x.shape[0] == 1),
    "|x| > 3": lambda y, x: y + bool(x.abs().max() > 3),
    "non-integer inputs": lambda y, x: y + bool((x != x.round()).any()),
}


@pytest.mark.parametrize("name", PATCHES)
def test_a_class_patch_hiding_from_the_float64_copy_is_refuted_by_the_model_itself(monkeypatch, name):
    original = nn.Conv1d.forward
    monkeypatch.setattr(nn.Conv1d, "forward", lambda self, x: PATCHES[name](original(self, x), x))
    proof = prove_network(small_net(), (1, 6))
    assert not proof.holds
    assert proof.counterexample.check.startswith("the model itself in torch.float32, autograd on, non-integer "
                                                 "inputs (rounding tolerance of torch.float32), batch ")
    assert "torch's model[0] (Conv1d)" in str(proof.counterexample)


def test_a_class_patch_that_hides_from_every_comparison_is_refused_as_foreign_code(monkeypatch):
    original = nn.Conv1d.forward
    monkeypatch.setattr(nn.Conv1d, "forward", lambda self, x: original(self, x))   # harmless, but not torch's
    for convert in CONVERTERS.values():
        if convert is network_steps:
            continue
        with pytest.raises(SpecError, match=re.escape("model[0]='torch.nn.modules.conv.Conv1d': its method "
                                                      "Conv1d.forward is not torch's own code (defined in ")):
            convert(small_net(), (1, 6))
    monkeypatch.setattr(F, "conv1d", lambda *args, **kwargs: torch.conv1d(*args, **kwargs))
    monkeypatch.setattr(nn.Conv1d, "forward", original)
    with pytest.raises(SpecError, match=re.escape("torch.nn.functional='conv1d': is not torch's own function")):
        prove_network(small_net(), (1, 6))


def test_true_networks_in_float32_float64_and_bfloat16_still_agree_with_torch():
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        torch.manual_seed(1)
        model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), nn.BatchNorm2d(3),
                              nn.GELU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(12, 2)).eval().to(dtype)
        assert torch_mismatch(model, (2, 4, 4)) is None, dtype


@pytest.mark.parametrize("shape, rule", [
    ((1, 5.9), "must be a tuple of integers ≥ 1 (5.9 is a float)"),
    (("1", "5"), "must be a tuple of integers ≥ 1 ('1' is a str)"),
    ((True, 5), "must be a tuple of integers ≥ 1 (True is a bool)"),
    ((1, 0), "must be a tuple of integers ≥ 1 (0 is below 1)"),
    ((), "must be a non-empty tuple of integers ≥ 1"),
    ((2, 10**7), "has 20000000 entries per sample, more than MAX_FEATURES=10000000"),
])
def test_input_shapes_are_validated(shape, rule):
    for convert in CONVERTERS.values():
        with pytest.raises(SpecError, match=re.escape(f"input_shape={shape!r}: {rule}")):
            convert(small_net(), shape)


def test_to_linear_sizes_and_to_mlp_dtypes_are_validated():
    conv = nn.Conv1d(1, 2, 3)
    for size in ("5", True, 5.0, (5, 5)):
        with pytest.raises(SpecError, match=r"^input_size="):
            to_linear(conv, size)
    assert to_linear(conv, 5).weight.shape == (6, 5)
    for dtype in ("float32", torch.int32, torch.complex64):
        with pytest.raises(SpecError, match=r"^dtype=.*: must be None or a real floating torch\.dtype"):
            to_mlp(small_net(), (1, 6), dtype=dtype)


def test_forged_attributes_cycles_nan_weights_and_bad_layers_are_named():
    model = small_net()
    model[3].in_features = 9
    with pytest.raises(SpecError, match=re.escape("model[3]='Linear.weight': has shape (3, 8), but the layer's "
                                                  "attributes say (3, 9)")):
        prove_network(model, (1, 6))
    model = small_net()
    model[0].groups = 2
    with pytest.raises(SpecError, match=re.escape("model[0]='Conv1d(groups=2)': groups must be an integer")):
        prove_network(model, (1, 6))
    prelu = nn.PReLU(2)
    prelu.num_parameters = 1
    with pytest.raises(SpecError, match=re.escape("model[1]='PReLU.weight': has shape (2,), but the layer's "
                                                  "attributes say (1,)")):
        to_mlp(nn.Sequential(nn.Conv1d(1, 2, 1), prelu), (1, 4))
    loop = nn.Sequential(nn.ReLU())
    loop.append(loop)
    with pytest.raises(SpecError, match=re.escape("model[1]='Sequential': contains itself")):
        network_steps(loop, (3,))
    model = small_net()
    with torch.no_grad():
        model[3].weight[0, 0] = float("nan")
    with pytest.raises(SpecError, match=re.escape("model[3]='Linear.weight': the parameter has a non-finite")):
        prove_network(model, (1, 6))
    with pytest.raises(SpecError, match=re.escape("layers[0]=")):
        prove_network(small_net(), (1, 6), layers=[("affine", 1, 2)])
    with pytest.raises(SpecError, match=re.escape("layers=")):
        prove_network(small_net(), (1, 6), layers="mlp")


def test_a_layer_whose_dense_matrix_would_not_fit_is_refused():
    model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten())
    with pytest.raises(SpecError, match=re.escape("model[0]='Conv2d': its dense matrix would have 1·998·998 × "
                                                  "1·1000·1000 entries")):
        network_steps(model, (1, 1000, 1000))


# ---- round 2: torch's module globals, function globals, resolved paths, snapshot, real-use runs ----
import types  # noqa: E402
from pathlib import Path  # noqa: E402

import torch.nn.modules.conv as conv_module  # noqa: E402

from symconv.interop.torch_code import _torch_own  # noqa: E402

TORCH_ROOT = Path(torch.__file__).parent
FOREIGN = "is not torch's own code (defined in "
REPLACED = ("='replaced': is not the object torch had when symconv.interop first used torch (a patch?), so "
            "torch's layers may compute something else; only unaltered torch is converted")


def above_16(y, x):
    """Wrong only for batches above 16, where no comparison looks: refusal must come from the code check."""
    return y + (x.shape[0] > 16)


def test_a_swapped_module_global_F_is_refused(monkeypatch):
    fake = types.ModuleType("F")
    fake.__dict__.update(F.__dict__)
    fake.conv1d = lambda input, *args, **kwargs: above_16(F.conv1d(input, *args, **kwargs), input)
    monkeypatch.setattr(conv_module, "F", fake)
    with pytest.raises(SpecError, match=re.escape("torch.nn.modules.conv.F='another object': is not "
                                                  "torch.nn.functional (whatever it is named), so torch's")):
        prove_network(small_net(), (1, 6))
    monkeypatch.setattr(conv_module, "F", F)
    assert prove_network(small_net(), (1, 6)).holds


def test_torch_code_with_other_globals_or_a_forged_file_name_is_refused(monkeypatch):
    original = nn.Conv1d.forward
    evil = dict(vars(conv_module), F=types.SimpleNamespace(conv1d=lambda *a, **k: F.conv1d(*a, **k)))
    monkeypatch.setattr(nn.Conv1d, "forward", types.FunctionType(original.__code__, evil, "forward"))
    with pytest.raises(SpecError, match=re.escape("its method Conv1d.forward " + FOREIGN + str(
            Path(original.__code__.co_filename)))):
        prove_network(small_net(), (1, 6))

    def forward(self, input):
        return above_16(original(self, input), input)
    forward.__code__ = forward.__code__.replace(co_filename=str(TORCH_ROOT / "nn/modules/conv.py"))
    monkeypatch.setattr(nn.Conv1d, "forward", forward)
    with pytest.raises(SpecError, match=re.escape("its method Conv1d.forward " + FOREIGN)):
        prove_network(small_net(), (1, 6))
    source = "def forward(self, input):\n    for module in self:\n        input = module(input)\n    return input\n"
    namespace = {}
    exec(compile(source, str(TORCH_ROOT / "nn/modules/container.py"), "exec"), namespace)
    monkeypatch.setattr(nn.Conv1d, "forward", original)
    monkeypatch.setattr(nn.Sequential, "forward", namespace["forward"])
    with pytest.raises(SpecError, match=re.escape("model='torch.nn.modules.container.Sequential': its method "
                                                  "Sequential.forward " + FOREIGN)):
        prove_network(small_net(), (1, 6))


def test_a_forgery_with_torch_globals_made_after_import_is_caught_by_the_snapshot(monkeypatch):
    original = nn.Conv1d.forward
    forged = types.FunctionType(original.__code__.replace(co_consts=original.__code__.co_consts),
                                vars(conv_module), "forward")
    assert _torch_own(forged)   # indistinguishable by file and globals: the snapshot finds it
    monkeypatch.setattr(nn.Conv1d, "forward", forged)
    with pytest.raises(SpecError, match=re.escape("torch.nn.modules.conv.Conv1d.forward" + REPLACED)):
        prove_network(small_net(), (1, 6))


def test_paths_are_compared_resolved_not_as_string_prefixes(monkeypatch, tmp_path):
    code = compile("def f():\n    return 1\n", str(TORCH_ROOT) + "vision/ops.py", "exec")
    sibling = types.FunctionType(code.co_consts[0], vars(conv_module), "f")
    assert not _torch_own(sibling)     # .../torchvision/ops.py is not inside .../torch
    link = tmp_path / "torch"
    link.symlink_to(TORCH_ROOT, target_is_directory=True)
    monkeypatch.setattr(torch, "__file__", str(link / "__init__.py"))   # a symlinked install
    linked = types.FunctionType(compile("def f():\n    return 1\n", str(link / "nn/modules/conv.py"),
                                        "exec").co_consts[0], vars(conv_module), "f")
    assert _torch_own(linked) and _torch_own(nn.Conv1d.forward)
    assert prove_network(small_net(), (1, 6)).holds


@pytest.mark.parametrize("target, name, message", [
    (F, "relu", "torch.nn.functional='relu': is not torch's own function"),
    (torch.Tensor, "flatten", "torch.Tensor.flatten" + REPLACED),
    (nn.BatchNorm1d, "_check_input_dim", "its method BatchNorm1d._check_input_dim " + FOREIGN),
])
def test_callees_of_the_layers_patched_are_refused(monkeypatch, target, name, message):
    original = getattr(target, name)

    def patched(first, *args, **kwargs):
        out = original(first, *args, **kwargs)
        if name == "_check_input_dim":
            return first.mul_(2) if args[0].shape[0] > 16 else out
        return above_16(out, first)
    monkeypatch.setattr(target, name, patched)
    model = nn.Sequential(nn.Conv1d(1, 2, 3), nn.BatchNorm1d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3)).eval()
    with pytest.raises(SpecError, match=re.escape(message)):
        prove_network(model, (1, 6))


def test_torch_patching_itself_elsewhere_is_not_refused(monkeypatch):
    model = small_net()
    monkeypatch.setattr(torch, "manual_seed", torch.random.seed)   # torch's own code (torch._dynamo does this)
    assert prove_network(model, (1, 6)).holds


@pytest.mark.parametrize("register, message", [
    ("register_module_parameter_registration_hook", "_global_parameter_registration_hooks='1 hook(s)'"),
    ("register_module_buffer_registration_hook", "_global_buffer_registration_hooks='1 hook(s)'"),
    ("register_module_module_registration_hook", "_global_module_registration_hooks='1 hook(s)'"),
])
def test_global_registration_hooks_are_refused(register, message):
    handle = getattr(torch.nn.modules.module, register)(lambda *args: None)
    try:
        for convert in (prove_network, to_mlp):
            with pytest.raises(SpecError, match=re.escape(f"torch.nn.modules.module.{message}: global module "
                                                          f"hooks ({register}) run on every module's forward "
                                                          f"or registration")):
                convert(small_net(), (1, 6))
        with pytest.raises(SpecError, match=re.escape(message)):
            to_linear(nn.Conv1d(1, 2, 3), 6)
    finally:
        handle.remove()


REAL_USE = {   # wrong only in the real-use conditions the round-1 comparisons never met
    "float32 under no_grad": (lambda y, x: y + (x.dtype == torch.float32 and not torch.is_grad_enabled()),
                              "autograd off", "batch 1"),
    "batch of 16": (lambda y, x: y + (x.shape[0] == 16), "autograd on", "batch 16"),
}


@pytest.mark.parametrize("name", REAL_USE)
def test_the_model_is_compared_under_no_grad_and_at_batch_16(monkeypatch, name):
    change, grad, batch = REAL_USE[name]
    original = nn.Conv1d.forward
    monkeypatch.setattr(nn.Conv1d, "forward", lambda self, x: change(original(self, x), x))
    proof = prove_network(small_net(), (1, 6))
    assert not proof.holds
    assert proof.counterexample.check == (f"the model itself in torch.float32, {grad}, non-integer inputs "
                                          f"(rounding tolerance of torch.float32), {batch}")
