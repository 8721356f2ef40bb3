"""Whole networks: to_linear, to_mlp against torch (float64 and exact integers), prove_network."""

from __future__ import annotations

import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from torch import nn

from symconv import SpecError
from symconv.interop import mlp_layers, network_steps, paper_network, prove_network, to_linear, to_mlp
from tests.strategies import conv_specs

MODULE = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}


def _integer_(module: nn.Module, seed: int) -> nn.Module:
    """Small integer parameters, so float64 sums are exact and outputs compare with ==."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randint(-3, 4, p.shape, generator=g, dtype=torch.float64))
    return module


def _randomise_batchnorm(model: nn.Module) -> nn.Module:
    g = torch.Generator().manual_seed(5)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g, dtype=torch.float64) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g, dtype=torch.float64) + 0.5)
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.num_features, generator=g, dtype=torch.float64) * 2 - 1)
                m.bias.copy_(torch.rand(m.num_features, generator=g, dtype=torch.float64) - 0.5)
    return model.eval()


# ---- to_linear -----------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(conv_specs(max_terms=3000, conventions=("cross-correlation",), layouts=("NCHW",),
                  padding_forms=("int", "tuple", "valid", "same")))
def test_to_linear_is_the_conv_module_exactly(spec):
    padding = [p for p, _ in spec.padding]
    if any(p != q for p, q in spec.padding):
        padding = "same"  # the only asymmetric padding a torch module has
    module = MODULE[spec.dims](spec.in_channels, spec.out_channels, spec.kernel_size, stride=spec.stride,
                               padding=padding, dilation=spec.dilation, groups=spec.groups, bias=spec.bias,
                               padding_mode=spec.padding_mode, dtype=torch.float64)
    _integer_(module, 1)
    x = torch.randint(-9, 10, (2, *spec.input_shape), dtype=torch.float64)
    expected = module(x).flatten(1)
    for sparse in (False, True):
        linear = to_linear(module, spec.input_size, sparse=sparse)
        assert isinstance(linear, nn.Linear)
        assert torch.equal(linear(x.flatten(1)), expected)


def test_to_linear_float32_random_and_sparse_layout():
    module = nn.Conv2d(3, 4, 3, stride=2, padding=1, padding_mode="circular")
    linear = to_linear(module, (9, 8), sparse=True)
    assert linear.weight.layout == torch.sparse_csr and linear.weight.dtype == torch.float32
    x = torch.randn(3, 3, 9, 8)
    assert torch.allclose(linear(x.flatten(1)), module(x).flatten(1), atol=1e-5)


def test_to_linear_refuses_non_conv():
    with pytest.raises(SpecError, match="conv_module='MaxPool2d'"):
        to_linear(nn.MaxPool2d(2), 4)


# ---- to_mlp --------------------------------------------------------------------------------------
def _mixed_network() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), nn.BatchNorm2d(3), nn.ReLU(),
        nn.AvgPool2d(2), nn.Conv2d(3, 4, 2, groups=1, dilation=1), nn.LeakyReLU(0.1),
        nn.Sequential(nn.Flatten(), nn.Linear(4, 5)), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 3),
    ).double()


def test_to_mlp_mixed_network_float64():
    model = _randomise_batchnorm(_mixed_network())
    mlp = to_mlp(model, (2, 5, 5))
    kinds = [type(m).__name__ for m in mlp]
    assert kinds == ["Flatten", "Linear", "ReLU", "Linear", "Linear", "LeakyReLU", "Linear", "Tanh", "Linear"]
    x = torch.randn(6, 2, 5, 5, dtype=torch.float64)
    with torch.no_grad():
        assert (mlp(x) - model(x)).abs().max() < 1e-9
        assert (to_mlp(model, (2, 5, 5), sparse=True)(x) - model(x)).abs().max() < 1e-9


def test_to_mlp_conv_only_network_unflattens():
    model = _integer_(nn.Sequential(nn.Conv1d(2, 3, 3, padding=2, dilation=2, padding_mode="circular"),
                                    nn.ReLU(), nn.AvgPool1d(2, stride=1), nn.Conv1d(3, 2, 1)).double(), 2)
    mlp = to_mlp(model, (2, 6))
    assert type(mlp[-1]).__name__ == "Unflatten"
    x = torch.randint(-9, 10, (4, 2, 6), dtype=torch.float64)
    with torch.no_grad():
        assert torch.equal(mlp(x), model(x))   # halves of small integers: exact in float64


def test_paper_network():
    """Conv 128×4×4 stride 2 on 28×28 → ReLU → Dense 784: float64 to 1e-9, and exactly on integers."""
    torch.manual_seed(0)
    model = paper_network(dtype=torch.float64)
    mlp = to_mlp(model, (1, 28, 28))
    assert [tuple(m.weight.shape) for m in mlp if isinstance(m, nn.Linear)] == [(21632, 784), (784, 21632)]
    x = torch.rand(8, 1, 28, 28, dtype=torch.float64)
    with torch.no_grad():
        assert (mlp(x) - model(x)).abs().max() < 1e-9
        _integer_(model, 3)
        exact = to_mlp(model, (1, 28, 28), sparse=True)
        xi = torch.randint(-9, 10, (2, 1, 28, 28), dtype=torch.float64)
        assert torch.equal(exact(xi), model(xi))


# ---- refusals ------------------------------------------------------------------------------------
def test_max_pool_refused_with_position_and_rule():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Sequential(nn.MaxPool2d(2)), nn.Flatten())
    with pytest.raises(SpecError) as error:
        to_mlp(model, (1, 8, 8))
    assert error.value.parameter == "model[2][0]" and error.value.value == "MaxPool2d"
    assert "max pooling is not linear" in error.value.rule


@pytest.mark.parametrize("model, shape, parameter, text", [
    (nn.Sequential(nn.Flatten(), nn.Softmax(dim=1)), (4,), "model[1]", "neither linear nor elementwise"),
    (nn.Sequential(nn.BatchNorm1d(4)), (4,), "model[0]", "eval mode"),
    (nn.Sequential(nn.Linear(5, 2)), (4,), "model[0]", "expects 5 flat features"),
    (nn.Sequential(nn.Conv2d(1, 1, 2)), (2, 4, 4), "model[0]", "expects input"),
    (nn.Sequential(nn.AvgPool2d(2, ceil_mode=True)), (1, 5, 5), "model[0]", "ceil_mode"),
    (nn.Sequential(nn.AvgPool2d(3, padding=1, count_include_pad=False)), (1, 5, 5), "model[0]", "divisor varies"),
    (nn.Sequential(nn.Flatten(0)), (1, 5, 5), "model[0]", "start_dim=1"),
])
def test_refusals(model, shape, parameter, text):
    with pytest.raises(SpecError) as error:
        to_mlp(model, shape)
    assert error.value.parameter == parameter and text in error.value.rule


# ---- the symbolic proof --------------------------------------------------------------------------
def test_prove_network_small():
    model = _randomise_batchnorm(nn.Sequential(
        nn.Conv2d(1, 2, 2, padding=1, padding_mode="circular"), nn.BatchNorm2d(2), nn.ReLU(),
        nn.AvgPool2d(2), nn.Flatten(), nn.Linear(8, 2), nn.BatchNorm1d(2), nn.Sigmoid()).double())
    proof = prove_network(model, (1, 3, 3))
    assert proof.holds, proof.summary()
    assert proof.outputs == 2 and "Conv2d → BatchNorm2d" in proof.summary()


def test_prove_network_negative_controls():
    model = nn.Sequential(nn.Conv1d(1, 2, 2), nn.ReLU(), nn.Flatten(), nn.Linear(4, 1), nn.Tanh())
    steps = network_steps(model, (1, 3))
    layers = mlp_layers(steps, symbolic=True)
    kind, A, c = layers[0]
    swapped = [(kind, A[::-1], c)] + layers[1:]          # rows of T in the wrong order
    proof = prove_network(model, (1, 3), layers=swapped)
    assert not proof.holds and proof.counterexample.form == "mlp"
    assert isinstance(proof.counterexample.difference, sp.Expr) and proof.counterexample.difference != 0
    without_activation = [layers[0], *layers[2:]]         # σ dropped: not the same network
    assert not prove_network(model, (1, 3), layers=without_activation).holds
