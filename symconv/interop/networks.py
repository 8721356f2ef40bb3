"""A network from either framework, as the network tools read it: a torch ``nn.Sequential`` or an
ONNX model (an ``onnx.ModelProto`` or the path of a .onnx file). ``read_network`` gives its steps,
the dtype it computes in, and the check that the framework running it computes the steps' maps
(``torch_mismatch``, or ``onnx_mismatch``: onnxruntime running the original model)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .mismatch import TorchMismatch
from .mlp import _dtype
from .onnx_chain import is_onnx_model
from .specs import valid_shape
from .steps import NetworkStep, network_steps
from .torch_check import torch_mismatch


@dataclass(frozen=True)
class Network:
    """``framework`` is "torch" or "onnxruntime" (what ``check`` runs); ``input_shape`` is the
    validated per-sample input shape; ``layer_names`` each step's torch class or ONNX op types
    (``Conv+Add`` for an Add folded into the Conv before it)."""

    steps: list[NetworkStep]
    input_shape: tuple[int, ...]
    dtype: Any
    framework: str
    check: Callable[[], TorchMismatch | None]
    layer_names: tuple[str, ...]


def read_network(model: Any, input_shape: Any) -> Network:
    """The network ``model`` on per-sample inputs of ``input_shape``, or SpecError naming the layer
    (or node) and the rule.

    >>> import torch
    >>> network = read_network(torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3), torch.nn.ReLU()), (1, 5))
    >>> network.layer_names, network.framework, network.check() is None
    (('Conv1d', 'ReLU'), 'torch', True)
    """
    if is_onnx_model(model):
        from .onnx_check import onnx_mismatch
        from .onnx_network import read_onnx
        onnx = read_onnx(model, input_shape)
        return Network(onnx.steps, onnx.steps[0].in_shape if onnx.steps else tuple(input_shape), onnx.dtype,
                       "onnxruntime", lambda: onnx_mismatch(onnx),
                       tuple("+".join(n.op_type for n in group) for group in onnx.groups))
    steps = network_steps(model, input_shape)
    shape = steps[0].in_shape if steps else valid_shape("input_shape", input_shape)
    return Network(steps, shape, _dtype(model), "torch", lambda: torch_mismatch(model, shape, steps),
                   tuple(type(s.module).__name__ for s in steps))
