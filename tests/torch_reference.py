"""Independent PyTorch references for the forms of a ConvSpec (float64; exact on small ints).

Nothing here uses symconv's index code: padding is ``F.pad`` with the spec's mode, the layer is
``F.conv{1,2,3}d`` with padding 0, patches come from ``Tensor.unfold`` windows, and the Toeplitz
matrix is read off torch column by column by probing with one-hot inputs (exact because the map
x ↦ conv(x, w) is linear and the data are small integers).
"""

from __future__ import annotations

from math import prod

import numpy as np
import torch
import torch.nn.functional as F

from symconv import ConvSpec

TORCH_PAD_MODE = {"zeros": "constant", "circular": "circular", "reflect": "reflect",
                  "replicate": "replicate"}
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _tensor(a: object) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def channels_first_x(spec: ConvSpec, x: object) -> torch.Tensor:
    """x in the spec's layout, with or without a batch axis → (N, C_in, *in)."""
    t = _tensor(x)
    if t.ndim == spec.dims + 1:
        t = t[None]
    if spec.layout == "NHWC":  # (N, *in, C) → (N, C, *in)
        t = t.permute(0, spec.dims + 1, *range(1, spec.dims + 1))
    return t


def channels_first_w(spec: ConvSpec, w: object) -> torch.Tensor:
    """w in the spec's layout → PyTorch's (C_out, C_in/groups, *k)."""
    t = _tensor(w)
    if spec.layout == "NHWC":  # HWIO (*k, C_in/g, C_out) → (C_out, C_in/g, *k)
        t = t.permute(spec.dims + 1, spec.dims, *range(spec.dims))
    return t


def padded(spec: ConvSpec, x: torch.Tensor) -> torch.Tensor:
    """F.pad of channels-first x with the spec's (before, after) pairs and padding mode."""
    flat = [p for before_after in reversed(spec.padding) for p in before_after]  # last axis first
    if not any(flat):
        return x
    return F.pad(x, flat, mode=TORCH_PAD_MODE[spec.padding_mode])


def torch_conv(spec: ConvSpec, x: object, w: object, b: object = None) -> np.ndarray:
    """The layer by torch, in the spec's layout (batched iff x is)."""
    batched = np.ndim(x) == spec.dims + 2
    weight = channels_first_w(spec, w)
    if spec.convention == "convolution":
        weight = torch.flip(weight, dims=list(range(2, spec.dims + 2)))
    y = CONV[spec.dims](padded(spec, channels_first_x(spec, x)), weight,
                        None if b is None else _tensor(b), stride=spec.stride,
                        padding=0, dilation=spec.dilation, groups=spec.groups)
    if spec.layout == "NHWC":
        y = y.permute(0, *range(2, spec.dims + 2), 1)
    y = y.numpy()
    return y if batched else y[0]


def torch_patches(spec: ConvSpec, x: object) -> np.ndarray:
    """Q[c, k_1, …, k_D, o_1, …, o_D] = padded x at (c, s·o + d·k) by ``Tensor.unfold`` windows."""
    t = padded(spec, channels_first_x(spec, x))[0]               # (C, *padded)
    for a, (k, s, d) in enumerate(zip(spec.kernel_size, spec.stride, spec.dilation)):
        t = t.unfold(1 + a, d * (k - 1) + 1, s)                   # appends a window axis
    dims = spec.dims
    windows = t[(...,) + tuple(slice(None, None, d) for d in spec.dilation)]  # (C, *out, *k)
    order = (0, *range(dims + 1, 2 * dims + 1), *range(1, dims + 1))
    return windows.permute(*order).numpy()


def torch_unfold_matrix(spec: ConvSpec, x: object) -> np.ndarray:
    """P in F.unfold order, (C_in·∏k, ∏out), from ``torch_patches``."""
    return torch_patches(spec, x).reshape(spec.in_channels * prod(spec.kernel_size), -1)


def torch_toeplitz(spec: ConvSpec, w: object) -> np.ndarray:
    """T column by column: column j = vec(torch_conv(e_j, w)) in the spec's layout's vec order."""
    n_in = prod(spec.input_shape)
    probes = np.eye(n_in).reshape(n_in, *spec.input_shape)
    y = torch_conv(spec, probes, w)                               # (n_in, *output_shape)
    return y.reshape(n_in, -1).T
