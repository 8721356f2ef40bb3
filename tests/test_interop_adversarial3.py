"""Round-3 adversarial findings in symconv.interop (issue 11): false refusals and messages."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from symconv.errors import SpecError
from symconv.interop import prove_network, to_mlp

PROVED = "<NetworkProof PROVED: network(x) = MLP(vec x) (Linear + elementwise σ) "


@pytest.mark.parametrize("model, shape, layers", [
    (nn.BatchNorm1d(3, affine=False).double().eval(), (3, 4), "[BatchNorm1d]"),   # buffers only: float64
    (nn.AvgPool2d(3, padding=1, count_include_pad=False, divisor_override=9).double(), (2, 5, 5), "[AvgPool2d]"),
    (nn.AvgPool2d(3, stride=2, ceil_mode=True).double(), (2, 7, 7), "[AvgPool2d]"),   # no window overhangs
])
def test_false_refusals_are_now_proved(model, shape, layers):
    assert repr(prove_network(nn.Sequential(model), shape)) == PROVED + layers + ">"


@pytest.mark.parametrize("model, shape, message", [
    (nn.AvgPool2d(3, stride=2, ceil_mode=True), (2, 6, 6),
     "model[0]='ceil_mode=True': on input size (6, 6) ceil_mode gives output size (3, 3), floor mode (2, 2): "
     "the extra windows overhang the input (a varying divisor), so the pool is not a convolution; use "
     "ceil_mode=False"),
    (nn.AvgPool2d(3, padding=1, count_include_pad=False), (2, 5, 5), "model[0]='count_include_pad=False': "
     "with padding the divisor varies near the border"),
    (nn.PReLU(3), (3, 4), "model[0]='PReLU(num_parameters=3)': one slope per channel is a different function "
     "per channel, but the proof's activation σ_ℓ is one function applied to every feature of layer ℓ; only "
     "PReLU(num_parameters=1) is converted"),
    (nn.AdaptiveAvgPool1d(4), (2, 6), "model[0]='AdaptiveAvgPool1d(output_size=4)': on input size (6,) the "
     "pooling windows [⌊i·n/m⌋, ⌈(i+1)·n/m⌉) of axis n=6, m=4 start at [0, 1, 3, 4], steps [1, 2] (no fixed "
     "stride), so it is no convolution"),
])
def test_refusals_name_the_real_reason(model, shape, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        prove_network(nn.Sequential(model.double()), shape)


def test_mixed_dtype_message_names_dtypes():
    mixed = nn.BatchNorm1d(3).eval()
    mixed.running_mean = mixed.running_mean.double()
    with pytest.raises(SpecError, match=re.escape("(its attributes disagree with its weights, or its tensors "
                                                  "have mixed dtypes?)")):
        prove_network(nn.Sequential(mixed), (3, 4))


def test_to_mlp_of_an_empty_network_keeps_the_shape():
    mlp = to_mlp(nn.Sequential(), (2, 3))
    x = torch.arange(12.0).reshape(2, 2, 3)
    assert torch.equal(mlp(x), nn.Sequential()(x))
    assert [type(m).__name__ for m in mlp] == ["Flatten", "Unflatten"]
