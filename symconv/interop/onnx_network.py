"""An ONNX model read for the network tools: the loaded model, its chain, the NetworkSteps on a
per-sample input shape, each step's nodes, and the batch size its input declares (``read_onnx``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import SpecError
from .onnx_chain import Chain, load_model, read_chain
from .onnx_steps import onnx_steps
from .specs import valid_shape
from .steps import NetworkStep
from .torch_code import _torch


@dataclass(frozen=True)
class OnnxNetwork:
    """``steps[i]`` is computed by the ONNX nodes ``groups[i]``; its output is the last one's output.
    ``batch`` is the input's declared batch size (None when symbolic: any batch runs)."""

    chain: Chain
    steps: list[NetworkStep]
    groups: list[tuple[Any, ...]]
    batch: int | None

    @property
    def dtype(self) -> Any:
        """The torch dtype of the model's element type."""
        return getattr(_torch(), self.chain.dtype)

    def output_name(self, index: int) -> str:
        return self.groups[index][-1].output[0]


def read_onnx(model: Any, input_shape: Any) -> OnnxNetwork:
    """Load ``model`` (a ModelProto or a path), read its chain and steps on per-sample inputs of
    ``input_shape``, which must agree with the graph input's declared dims (batch axis first)."""
    chain = read_chain(load_model(model))
    shape = valid_shape("input_shape", input_shape)
    declared = chain.input_dims
    if len(declared) != len(shape) + 1 or any(d not in (None, 0, n) for d, n in zip(declared[1:], shape)):
        shown = tuple("?" if d in (None, 0) else d for d in declared)
        raise SpecError("input_shape", tuple(shape), f"must be the graph input {chain.input_name!r}'s shape {shown} "
                        f"without its batch axis")
    steps, groups = onnx_steps(chain, shape)
    return OnnxNetwork(chain, steps, groups, declared[0] or None)
