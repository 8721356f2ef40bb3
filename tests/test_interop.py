"""Whole networks: to_linear, to_mlp against torch (float64 and exact integers), prove_network."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import symconv
from symconv import ConvSpec, SpecError
from symconv.interop import mlp_layers, network_steps, paper_network, prove_network, to_linear, to_mlp
from tests.strategies import conv_specs
from tests.test_transpose import transpose_cases

TRANSPOSED = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
ADAPTIVE = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}

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
    """Conv 128×4×4 stride 2 on 28×28 → ReLU → Dense 784: float64 to 1e-9 on random weights, and
    exactly on integers — against torch and against an int64 evaluation of the network that uses
    no floating point at all (symconv.conv on Python ints, NumPy int64 for the dense layer)."""
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
        got = exact(xi)
        assert torch.equal(got, model(xi))
    conv, _, _, dense = model
    as_int = lambda t: t.detach().numpy().astype(np.int64)     # noqa: E731
    spec = symconv.ConvSpec(1, 128, 4, (28, 28), stride=2)
    hidden = symconv.conv(spec, as_int(xi).astype(object), as_int(conv.weight).astype(object),
                          as_int(conv.bias).astype(object))                     # (2, 128, 13, 13), exact
    reference = np.maximum(hidden.astype(np.int64), 0).reshape(2, -1) @ as_int(dense.weight).T + as_int(dense.bias)
    assert np.abs(reference).max() < 2**53                      # so every float64 partial sum above was exact
    assert np.array_equal(got.numpy().astype(np.int64), reference)
    first = exact[1].weight.to_dense().numpy()
    assert np.count_nonzero(first) <= 128 * 13 * 13 * 16 and set(np.unique(first)) <= set(range(-3, 4))


def test_paper_network_scaled_down_proved():
    """The same architecture, Conv 2×2×2 stride 2 on 4×4 → σ → Dense 16, proved symbolically for
    any σ; the MLP with the flipped kernel's Toeplitz matrix (same shape) is refuted."""
    model = paper_network(channels=2, kernel=2, size=4)
    assert [type(m).__name__ for m in model] == ["Conv2d", "ReLU", "Flatten", "Linear"]
    assert tuple(model[3].weight.shape) == (16, 8)
    proof = prove_network(model, (1, 4, 4))
    assert proof.holds and proof.outputs == 16, proof.summary()
    steps = network_steps(model, (1, 4, 4))
    layers = mlp_layers(steps, symbolic=True)
    _, A, c = layers[0]
    w = np.array([[[[sp.Symbol(f"w^{{(1)}}_{{{o},0,{p},{q}}}") for q in range(2)] for p in range(2)]]
                  for o in range(2)], dtype=object)
    assert all(v in A.flat for v in w.flat)
    flipped = symconv.ConvSpec(1, 2, 2, (4, 4), stride=2, bias=False, convention="convolution")
    wrong = np.array(symconv.toeplitz(flipped, w).tolist(), dtype=object)
    proof = prove_network(model, (1, 4, 4), layers=[("affine", wrong, c), *layers[1:]])
    assert not proof.holds and proof.counterexample.form == "mlp"
    assert proof.counterexample.difference.has(sp.Function("sigma_2"))


# ---- ConvTranspose, AdaptiveAvgPool, Identity, Dropout -----------------------------------------------
def _transposed_module(spec: ConvSpec, op: tuple[int, ...], bias: bool = True) -> nn.Module:
    """The ConvTranspose module that transposes ``spec`` (its weight is the forward conv's weight)."""
    return TRANSPOSED[spec.dims](spec.out_channels, spec.in_channels, spec.kernel_size, stride=spec.stride,
                                 padding=[p for p, _ in spec.padding], output_padding=op,
                                 groups=spec.groups, bias=bias, dilation=spec.dilation, dtype=torch.float64)


@settings(max_examples=30, deadline=None)
@given(transpose_cases(), st.booleans())
def test_to_linear_conv_transpose_exactly(case, bias):
    """ConvTranspose{1,2,3}d with stride, padding, output_padding, dilation and groups is a Linear."""
    spec, op = case
    module = _integer_(_transposed_module(spec, op, bias), 4)
    x = torch.randint(-9, 10, (2, spec.out_channels, *spec.output_size), dtype=torch.float64)
    with torch.no_grad():
        expected = module(x).flatten(1)
        for sparse in (False, True):
            assert torch.equal(to_linear(module, spec.output_size, sparse=sparse)(x.flatten(1)), expected)


def test_conv_transpose_matrix_is_transpose_of_the_forward_conv():
    """When output_padding restores the forward input size, the FC matrix of ConvTranspose is
    exactly Tᵀ of the Conv with the same weight (groups, stride, dilation)."""
    forward = _integer_(nn.Conv2d(4, 6, (3, 2), stride=(2, 3), padding=(1, 0), dilation=(1, 2), groups=2,
                                  bias=False, dtype=torch.float64), 5)
    n = (8, 11)
    out = forward(torch.zeros(1, 4, *n, dtype=torch.float64)).shape[2:]
    spec = ConvSpec(4, 6, (3, 2), n, stride=(2, 3), padding=(1, 0), dilation=(1, 2), groups=2)
    op = tuple(a - b for a, b in zip(n, symconv.forms.transpose.transposed_size(spec)))
    assert op == (1, 2)
    transposed = nn.ConvTranspose2d(6, 4, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=op,
                                    dilation=(1, 2), groups=2, bias=False, dtype=torch.float64)
    with torch.no_grad():
        transposed.weight.copy_(forward.weight)
    T = to_linear(forward, n).weight
    assert torch.equal(to_linear(transposed, tuple(out)).weight, T.T)
    wrong = nn.ConvTranspose2d(6, 4, (3, 2), stride=(2, 3), padding=(1, 0), dilation=(1, 2), groups=2,
                               bias=False, dtype=torch.float64)      # output_padding 0: fewer rows
    assert to_linear(wrong, tuple(out)).weight.shape != T.T.shape


@pytest.mark.parametrize("dims, size, output_size", [(1, (12,), 4), (2, (6, 8), (3, None)),
                                                     (2, (4, 4), 1), (3, (4, 6, 2), (2, 3, 1))])
def test_adaptive_avg_pool_fixed_windows(dims, size, output_size):
    module = ADAPTIVE[dims](output_size)
    model = nn.Sequential(module, nn.Flatten())
    mlp = to_mlp(model, (3, *size), dtype=torch.float64)
    x = torch.randint(-9, 10, (2, 3, *size), dtype=torch.float64)
    with torch.no_grad():
        assert (mlp(x) - model(x)).abs().max() < 1e-12
    assert prove_network(model, (1, *size)).holds


def test_identity_and_dropout_in_eval_are_dropped():
    model = nn.Sequential(nn.Identity(), nn.Conv1d(1, 2, 2), nn.Dropout(0.5), nn.ReLU(), nn.Dropout1d(0.3),
                          nn.Flatten(), nn.AlphaDropout(0.2), nn.Linear(6, 2)).double().eval()
    mlp = to_mlp(model, (1, 4))
    assert [type(m).__name__ for m in mlp] == ["Flatten", "Linear", "ReLU", "Linear"]
    x = torch.randn(5, 1, 4, dtype=torch.float64)
    with torch.no_grad():
        assert (mlp(x) - model(x)).abs().max() < 1e-12
    assert prove_network(model, (1, 4)).holds
    assert [s.kind for s in network_steps(nn.Sequential(nn.Dropout(0.0)).train(), (3,))] == ["identity"]


def _mixing_network() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, padding_mode="replicate"), nn.ReLU(), nn.Dropout2d(0.2),
        nn.AdaptiveAvgPool2d((3, None)),
        nn.ConvTranspose2d(4, 2, (2, 3), stride=2, padding=(0, 1), output_padding=(1, 0), groups=2,
                           dilation=(2, 1)),
        nn.Identity(), nn.LeakyReLU(0.25), nn.AvgPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(2 * 4 * 7, 3),
    ).double().eval()


def test_to_mlp_network_mixing_the_new_layers():
    """Conv → ReLU → Dropout2d → AdaptiveAvgPool → ConvTranspose → Identity → LeakyReLU → AvgPool →
    Flatten → Dropout → Linear: float64 on random weights, exactly on integers (windows of 2 and 4:
    dyadic fractions, exact in float64)."""
    model = _mixing_network()
    x = torch.randn(4, 2, 6, 8, dtype=torch.float64)
    mlp = to_mlp(model, (2, 6, 8))
    assert [type(m).__name__ for m in mlp] == ["Flatten", "Linear", "ReLU", "Linear", "Linear", "LeakyReLU",
                                               "Linear", "Linear"]
    with torch.no_grad():
        assert (mlp(x) - model(x)).abs().max() < 1e-9
        _integer_(model, 6)
        xi = torch.randint(-9, 10, (4, 2, 6, 8), dtype=torch.float64)
        for sparse in (False, True):
            assert torch.equal(to_mlp(model, (2, 6, 8), sparse=sparse)(xi), model(xi))


def test_prove_network_with_the_new_layers_and_controls():
    model = nn.Sequential(nn.ConvTranspose1d(1, 2, 2, stride=2, output_padding=1, dilation=2), nn.Identity(),
                          nn.Dropout(0.1), nn.Tanh(), nn.AdaptiveAvgPool1d(3), nn.Flatten(), nn.Linear(6, 1)).eval()
    proof = prove_network(model, (1, 2))
    assert proof.holds, proof.summary()
    assert "ConvTranspose1d → Identity → Dropout → Tanh → AdaptiveAvgPool1d" in proof.summary()
    layers = mlp_layers(network_steps(model, (1, 2)), symbolic=True)
    kinds = [kind for kind, _, _ in layers]
    assert kinds == ["affine", "elementwise", "affine", "affine"]
    _, pool, c = layers[2]
    assert not prove_network(model, (1, 2), layers=[*layers[:2], ("affine", 2 * pool, c), layers[3]]).holds
    as_sigma = [layers[0], ("elementwise", None, 2), *layers[1:]]        # Identity taken for an activation
    assert not prove_network(model, (1, 2), layers=as_sigma).holds
    # T instead of Tᵀ for a square ConvTranspose: refuted
    square = nn.Sequential(nn.ConvTranspose1d(1, 1, 3, padding=1, bias=False))
    (step,) = network_steps(square, (1, 4))
    w = np.array([[[sp.Symbol(f"w^{{(1)}}_{{0,0,{k}}}") for k in range(3)]]], dtype=object)
    T = np.array(symconv.toeplitz(step.spec, w).tolist(), dtype=object)
    assert prove_network(square, (1, 4)).holds
    wrong = prove_network(square, (1, 4), layers=[("affine", T, np.zeros(4, dtype=object))])
    assert not wrong.holds and wrong.counterexample.index == (0,)


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
    (nn.Sequential(nn.AdaptiveAvgPool2d(3)), (1, 5, 6), "model[0]", "varying widths [2, 3]"),
    (nn.Sequential(nn.AdaptiveAvgPool1d(4)), (1, 3), "model[0]", "varying widths [1, 2]"),
    (nn.Sequential(nn.AdaptiveMaxPool2d(2)), (1, 4, 4), "model[0]", "max pooling is not linear"),
    (nn.Sequential(nn.Dropout(0.5)), (4,), "model[0]", "training mode"),
    (nn.Sequential(nn.Conv1d(1, 1, 2), nn.Dropout1d(0.5)), (1, 4), "model[1]", "training mode"),
    (nn.Sequential(nn.ConvTranspose2d(2, 1, 2)), (1, 3, 3), "model[0]", "expects input (C=2"),
    (nn.Sequential(nn.ConvTranspose1d(1, 1, 3, output_padding=2)), (1, 3), "model[0]", "max(stride, dilation)"),
    (nn.Sequential(nn.ConvTranspose1d(1, 1, 1, padding=2)), (1, 1), "model[0]", "no forward input size"),
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
