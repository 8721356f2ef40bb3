"""Each linear layer as its affine map vec(y) = A·vec(x) + c (numeric, or on symbols for the
proof), BatchNorm folded into the map before it, and nn.Linear layers holding them (``to_linear``
and ``to_mlp`` in ``convert`` build networks of them)."""

from __future__ import annotations

import warnings
from math import prod
from typing import Any

import numpy as np
import sympy as sp

from ..forms.toeplitz import row_index, toeplitz_entries
from ..forms.transpose import transposed_spec
from ..spec import ConvSpec
from ..symbols import tensor_symbols
from .steps import NetworkStep
from .torch_code import _float64, _torch


def _parameters(step: NetworkStep, symbolic: int | None) -> dict[str, Any]:
    """The step's parameters: NumPy float64 from torch, or symbols named w^{(ℓ)}, b^{(ℓ)}, …
    when ``symbolic`` is the layer number ℓ."""
    m, kind = step.module, step.kind
    if kind == "avgpool":  # fixed weights: an exact Rational in proofs, a float for torch
        weight = step.pool_weight if symbolic is not None else float(step.pool_weight)
        return {"w": np.full(step.spec.weight_shape, weight, dtype=object if symbolic else np.float64),
                "b": None}
    if kind in ("conv", "convtranspose", "linear"):
        if symbolic is None:
            return {"w": _float64(m.weight), "b": None if m.bias is None else _float64(m.bias)}
        shape = tuple(m.weight.shape)
        return {"w": tensor_symbols(f"w^{{({symbolic})}}", shape),
                "b": None if m.bias is None else tensor_symbols(f"b^{{({symbolic})}}", tuple(m.bias.shape))}
    if kind == "batchnorm":
        c = m.num_features
        if symbolic is None:
            # a weight or bias set to None is γ = 1 or β = 0 in torch's batch_norm, as affine=False
            gamma = np.ones(c) if m.weight is None else _float64(m.weight)
            beta = np.zeros(c) if m.bias is None else _float64(m.bias)
            scale = gamma / np.sqrt(_float64(m.running_var) + m.eps)
            return {"scale": scale, "shift": beta - _float64(m.running_mean) * scale}
        gamma, beta, mean, var = (tensor_symbols(f"{n}^{{({symbolic})}}", (c,))
                                  for n in ("gamma", "beta", "mu", "v"))
        scale = np.array([g / sp.sqrt(v + sp.Symbol("epsilon", positive=True)) for g, v in zip(gamma, var)],
                         dtype=object)
        return {"scale": scale, "shift": beta - mean * scale}
    return {}


def _as_array(value: Any) -> np.ndarray:
    return value.astype(object) if isinstance(value, np.ndarray) and value.dtype != object else value


def _dense(shape: tuple[int, int], entries: dict[tuple[int, int], Any], dtype: Any) -> np.ndarray:
    A = np.zeros(shape, dtype=dtype)
    if entries:
        rows, cols = (np.array(k, dtype=np.int64) for k in zip(*entries))
        A[rows, cols] = np.array(list(entries.values()), dtype=dtype)
    return A


def _rows_within(spec: ConvSpec, size: tuple[int, ...]) -> list[int]:
    """T's rows (o, out) with out inside ``size`` (a corner of spec.output_size), in vec order."""
    return [row_index(spec, o, int(np.ravel_multi_index(out, spec.output_size)))
            for o in range(spec.out_channels) for out in np.ndindex(*size)]


def _affine(step: NetworkStep, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(A, c) with vec(y) = A·vec(x) + c for a conv, convtranspose, avgpool or linear step."""
    w, b = params["w"], params["b"]
    if step.kind == "linear":
        return w, b if b is not None else np.zeros(w.shape[0], dtype=w.dtype)
    dtype = object if w.dtype == object else np.float64
    entries = toeplitz_entries(forward := (transposed_spec(step.spec, step.module.output_padding)
                                           if step.kind == "convtranspose" else step.spec), _as_array(w))
    if step.kind == "convtranspose":  # A = Tᵀ, keeping the columns of the outputs inside the layer's input
        kept = {r: j for j, r in enumerate(_rows_within(forward, step.spec.output_size))}
        A = _dense((forward.toeplitz_shape[1], len(kept)),
                   {(c, kept[r]): v for (r, c), v in entries.items() if r in kept}, dtype)
        channels, positions = forward.in_channels, prod(forward.input_size)
    else:
        A = _dense(forward.toeplitz_shape, entries, dtype)
        channels, positions = forward.out_channels, prod(forward.output_size)
    return A, np.repeat(b if b is not None else np.zeros(channels, dtype=A.dtype), positions)


def _per_feature(step: NetworkStep, per_channel: np.ndarray) -> np.ndarray:
    """A per-channel vector repeated over the spatial positions of vec (channel-major)."""
    return np.repeat(per_channel, prod(step.in_shape[1:]))


def mlp_layers(steps: list[NetworkStep], symbolic: bool = False) -> list[tuple[str, Any, Any]]:
    """The MLP: ("affine", A, c) and ("elementwise", step, layer number ℓ) in order, BatchNorm folded into
    the affine map before it (or standing alone as a diagonal affine map)."""
    layers: list[tuple[str, Any, Any]] = []
    for number, step in enumerate(steps, start=1):
        params = _parameters(step, number if symbolic else None)
        if step.kind in ("conv", "convtranspose", "avgpool", "linear"):
            layers.append(("affine", *_affine(step, params)))
        elif step.kind == "batchnorm":
            s, t = _per_feature(step, params["scale"]), _per_feature(step, params["shift"])
            if layers and layers[-1][0] == "affine":
                _, A, c = layers.pop()
                layers.append(("affine", s[:, None] * A, s * c + t))
            else:
                layers.append(("affine", np.diag(s) if s.dtype != object else _object_diag(s), t))
        elif step.kind == "elementwise":
            layers.append(("elementwise", step, number))
    return layers


def _object_diag(values: np.ndarray) -> np.ndarray:
    D = np.zeros((len(values), len(values)), dtype=object)
    D[np.arange(len(values)), np.arange(len(values))] = values
    return D


def _dtype(model: Any) -> Any:
    """The dtype the model computes in: that of its parameters, else of its floating buffers (a
    BatchNorm with affine=False has only buffers), else torch's default dtype."""
    tensors = (*model.parameters(), *(b for b in model.buffers() if b.is_floating_point()))
    return next((t.dtype for t in tensors), _torch().get_default_dtype())


def _linear_module(A: np.ndarray, c: np.ndarray, dtype: Any, sparse: bool, bias: bool = True) -> Any:
    """nn.Linear with weight A (dense, or sparse CSR when ``sparse``) and bias c."""
    torch = _torch()
    # on the meta device: no random initialisation of a weight that is replaced at once
    layer = torch.nn.Linear(A.shape[1], A.shape[0], bias=bias, dtype=dtype, device="meta")
    A = np.asarray(A, dtype=np.float64)
    if sparse:  # CSR straight from the nonzeros (row-major, so already sorted by row)
        rows, cols = np.nonzero(A)
        crow = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=A.shape[0]))])
        with warnings.catch_warnings():  # "sparse CSR support is in beta": F.linear supports it on CPU
            warnings.simplefilter("ignore", UserWarning)
            weight = torch.sparse_csr_tensor(torch.as_tensor(crow), torch.as_tensor(cols),
                                             torch.as_tensor(A[rows, cols]).to(dtype), A.shape)
    else:
        weight = torch.as_tensor(A).to(dtype)
    layer.weight = torch.nn.Parameter(weight, requires_grad=False)
    layer.bias = (torch.nn.Parameter(torch.as_tensor(np.asarray(c, dtype=np.float64)).to(dtype),
                                     requires_grad=False) if bias else None)
    return layer


def paper_network(dtype: Any = None, channels: int = 128, kernel: int = 4, size: int = 28) -> Any:
    """The paper's experiment network: Conv2d(1, 128, 4, stride=2) on 28×28 → ReLU → Flatten →
    Linear(128·13·13, 784). ``channels``, ``kernel`` and ``size`` scale the same architecture down
    (stride 2, Dense to size² features), e.g. Conv 2×2×2 stride 2 on 4×4 → ReLU → Dense 16."""
    nn = _torch().nn
    out = (size - kernel) // 2 + 1
    return nn.Sequential(nn.Conv2d(1, channels, kernel, stride=2, dtype=dtype), nn.ReLU(), nn.Flatten(),
                         nn.Linear(channels * out * out, size * size, dtype=dtype))
