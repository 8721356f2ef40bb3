"""PyTorch layers and networks as torch modules of the same map: a conv layer as one nn.Linear
(``to_linear``), a network as an MLP (``to_mlp``). Each is checked first as ``prove_network``
checks it (``torch_mismatch``): what torch computes must be the layers' maps, or SpecError."""

from __future__ import annotations

import copy
from typing import Any

from ..errors import SpecError
from .mlp import _linear_module, mlp_layers
from .networks import Network, read_network
from .specs import valid_shape
from .steps import _family
from .torch_code import _torch
from .unaltered import _refuse_altered


def _refuse_mismatch(parameter: str, model: Any, network: Network) -> None:
    """SpecError naming the layer when the framework computes something else than the layers' maps
    (the checks of ``torch_mismatch`` or ``onnx_mismatch``, which wrap the framework's own errors on
    a layer in a SpecError too): a converted network must compute what the model computes."""
    found = network.check() if network.steps else None
    if found is not None:
        where = found.headline().removeprefix(f"{found.form}: ")
        raise SpecError(parameter, type(model).__name__, f"{network.framework} computes something else than its "
                        f"layers' maps, so no MLP equals it: {where} ({network.framework} {found.expected}, the "
                        f"map {found.obtained}; found by: {found.check})")


def to_linear(conv_module: Any, input_size: Any, sparse: bool = False) -> Any:
    """An ``nn.Linear`` equal to ``conv_module`` on flattened inputs of spatial size ``input_size``:
    for a Conv{1,2,3}d weight T (C_out·∏out × C_in·∏in, including the padding map for padding_mode
    ≠ 'zeros'), for a ConvTranspose{1,2,3}d weight Tᵀ of the conv it transposes (incl.
    output_padding); bias b ⊗ 1. ``linear(x.flatten(1)) == conv_module(x).flatten(1)``.
    ``sparse=True`` stores the weight as a sparse CSR tensor (F.linear supports it)."""
    _refuse_altered("conv_module", conv_module)
    family = _family(conv_module)
    if family is None or family[0] not in ("conv", "convtranspose"):
        raise SpecError("conv_module", type(conv_module).__name__,
                        "must be a torch.nn.Conv1d/2d/3d or ConvTranspose1d/2d/3d")
    dims = family[1]
    size = valid_shape("input_size", input_size)
    size = size * dims if len(size) == 1 and not isinstance(input_size, (tuple, list)) else size
    valid_shape("input_size", size, dims)
    network = read_network(conv_module, (conv_module.in_channels, *size))
    _refuse_mismatch("conv_module", conv_module, network)
    (_, A, c), = mlp_layers(network.steps)
    return _linear_module(A, c, conv_module.weight.dtype, sparse, bias=conv_module.bias is not None)


def to_mlp(model: Any, input_shape: tuple[int, ...], sparse: bool = False, dtype: Any = None) -> Any:
    """An equivalent ``nn.Sequential``: Flatten (if inputs are not flat), then Linear and the
    activations, and Unflatten back when the network does not end flat. ``input_shape`` is one
    sample's shape, e.g. (1, 28, 28). The Linear layers have ``dtype`` (default: that of the
    model's parameters, or torch's default dtype for a model without any; an ONNX model's element type).

    ``model`` may also be an ONNX model (an ``onnx.ModelProto`` or the path of a .onnx file): a chain
    of the ops ``symconv.interop.onnx_steps`` reads, checked against onnxruntime running it
    (``onnx_mismatch``)."""
    torch = _torch()
    nn = torch.nn
    network = read_network(model, input_shape)
    _refuse_mismatch("model", model, network)
    steps = network.steps
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point
                                  and not dtype.is_complex):
        raise SpecError("dtype", dtype, "must be None or a real floating torch.dtype (torch.float32, "
                        "torch.float64, …)")
    dtype = dtype or network.dtype
    modules = [] if len(steps[0].in_shape if steps else valid_shape("input_shape", input_shape)) == 1 \
        else [nn.Flatten()]
    for kind, A, c in mlp_layers(steps):
        modules.append(_linear_module(A, c, dtype, sparse) if kind == "affine" else copy.deepcopy(A.module))
    out_shape = steps[-1].out_shape if steps else valid_shape("input_shape", input_shape)
    if len(out_shape) > 1:
        modules.append(nn.Unflatten(1, out_shape))
    return nn.Sequential(*modules)
