"""ONNX models as input: loading a ModelProto or a .onnx file (never executing anything), and
reading its graph as a single chain x → node₁ → … → node_L → y whose other inputs are constants.

A chain: one graph input (not an initializer), one graph output, and nodes each with one output
and exactly one non-constant input, the previous node's output, used by no other node. Constants
are initializers and the outputs of Constant nodes; an initializer that is also a graph input can
be overridden at run time, so it is refused as a dynamic weight. Element types: float32 or float64.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SpecError

ELEMENT_TYPES = {1: "float32", 11: "float64"}   # TensorProto.FLOAT, TensorProto.DOUBLE
CHAIN_RULE = ("symconv reads a single chain x → node → … → y (each node's one non-constant input is the "
              "previous node's output, used by no other node; weights are initializers or Constant nodes)")


def _onnx() -> Any:
    try:
        import onnx
    except ImportError as error:  # pragma: no cover - onnx is installed in the test venv
        raise ImportError("reading ONNX models needs the onnx package: pip install onnx onnxruntime") from error
    return onnx


def is_onnx_model(model: Any) -> bool:
    """An ``onnx.ModelProto`` or a path (str or os.PathLike), the forms ONNX input comes in."""
    if isinstance(model, (str, os.PathLike)):
        return True
    onnx = _onnx() if type(model).__module__.startswith("onnx") else None
    return onnx is not None and isinstance(model, onnx.ModelProto)


def load_model(model: Any) -> Any:
    """A ModelProto, or the model stored at path ``model`` (``onnx.load`` parses protobuf; nothing is
    executed). External data must lie inside the model's directory; SpecError for a missing file,
    a file that is not ONNX, or external data elsewhere."""
    onnx = _onnx()
    if isinstance(model, onnx.ModelProto):
        if any(_external(t) for t in _tensors(model)):
            raise SpecError("model", "ModelProto", "has tensors whose data is external and not loaded; pass "
                            "the .onnx file's path (its external data is read from the model's directory)")
        return model
    path = Path(model)
    if not path.is_file():
        raise SpecError("model", str(model), "no such file (an ONNX model is passed as an onnx.ModelProto "
                        "or the path of a .onnx file)")
    try:
        loaded = onnx.load(str(path), load_external_data=False)
    except Exception as error:   # protobuf's DecodeError and friends: the file is not an ONNX model
        raise SpecError("model", str(model), f"is not an ONNX model ({type(error).__name__})") from None
    if not loaded.graph.node and not loaded.graph.output:
        raise SpecError("model", str(model), "is not an ONNX model (no graph)")
    base = path.parent.resolve()
    for tensor in filter(_external, _tensors(loaded)):
        location = dict((e.key, e.value) for e in tensor.external_data).get("location", "")
        if not (base / location).resolve().is_relative_to(base) or Path(location).is_absolute():
            raise SpecError("model", str(model), f"tensor {tensor.name!r} has external data at {location!r}, "
                            f"outside the model's directory {str(base)!r}: refused")
        if not location or not (base / location).is_file():   # never open a FIFO or a directory (a hang)
            raise SpecError("model", str(model), f"tensor {tensor.name!r} has external data at {location!r}, "
                            f"which is no regular file in the model's directory {str(base)!r}")
    try:
        onnx.external_data_helper.load_external_data_for_model(loaded, str(base))
    except Exception as error:   # onnx's ValidationError, ValueError: a bad length, offset or file
        raise SpecError("model", str(model), f"its external data cannot be read: {error}") from None
    return loaded


def _tensors(model: Any) -> list[Any]:
    graph = model.graph
    constants = [a.t for n in graph.node for a in n.attribute if a.HasField("t")]
    return [*graph.initializer, *constants]


def _external(tensor: Any) -> bool:
    return tensor.data_location == tensor.EXTERNAL


@dataclass(frozen=True)
class Chain:
    """A model read as a chain: its nodes in order (Constant nodes removed), the constants by name
    (NumPy arrays), the graph's input and output names, the element type, and the declared input
    dims (an int, or None where symbolic)."""

    model: Any
    nodes: tuple[Any, ...]
    constants: dict[str, np.ndarray]
    input_name: str
    output_name: str
    dtype: str
    input_dims: tuple[int | None, ...]


def where(node: Any, index: int) -> str:
    """A node as messages name it: ``Conv 'conv1'``, or ``Conv (node 3)`` when it has no name.

    >>> from onnx import helper
    >>> where(helper.make_node("Conv", ["x", "W"], ["y"], name="conv1"), 0)
    "Conv 'conv1'"
    >>> where(helper.make_node("Relu", ["y"], ["z"]), 3)
    'Relu (node 3)'
    """
    return f"{node.op_type} {node.name!r}" if node.name else f"{node.op_type} (node {index})"


def _constants(graph: Any) -> dict[str, np.ndarray]:
    """Initializers and Constant nodes' values by name."""
    onnx = _onnx()
    if len(graph.sparse_initializer):
        raise SpecError("model", f"sparse initializer {graph.sparse_initializer[0].values.name!r}",
                        "sparse initializers are not read; store the weights dense")
    values = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    for index, node in enumerate(graph.node):
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            if set(attributes) != {"value"} or len(node.output) != 1:
                raise SpecError(where(node, index), sorted(attributes), "a Constant node is read only with its "
                                "'value' tensor attribute")
            values[node.output[0]] = onnx.numpy_helper.to_array(attributes["value"])
    return values


def _value_type(value_info: Any, what: str) -> tuple[str, tuple[int | None, ...]]:
    """(element type, dims) of a graph input or output; SpecError for other element types."""
    tensor = value_info.type.tensor_type
    if not value_info.type.HasField("tensor_type") or tensor.elem_type not in ELEMENT_TYPES:
        onnx = _onnx()
        name = (onnx.TensorProto.DataType.Name(tensor.elem_type) if value_info.type.HasField("tensor_type")
                else value_info.type.WhichOneof("value"))
        raise SpecError(f"{what} {value_info.name!r}", name, "must be a float32 or float64 tensor (symconv "
                        "compares exactly where these are exact; integer, quantized and float16 models are refused)")
    dims = tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)
    return ELEMENT_TYPES[tensor.elem_type], dims


def read_chain(model: Any) -> Chain:
    """The model's graph as a ``Chain``, or SpecError naming the node and the rule. Every value is
    defined once (single assignment), and the model defines no local functions (a function could
    stand in for an op); onnxruntime's loading of the model checks the rest of its validity."""
    if len(model.functions):
        raise SpecError("model", f"local function {model.functions[0].domain}.{model.functions[0].name}",
                        "models with local functions are refused: a function's body, not the op's definition, "
                        "would run")
    graph = model.graph
    defined = [*(i.name for i in graph.input if i.name not in {t.name for t in graph.initializer}),
               *(t.name for t in graph.initializer), *(o for n in graph.node for o in n.output if o)]
    twice = next((name for name, count in Counter(defined).items() if count > 1), None)
    if twice is not None:
        raise SpecError("model", f"value {twice!r}", "is defined twice (ONNX graphs assign every value once)")
    graph = model.graph
    constants = _constants(graph)
    initializers = {t.name for t in graph.initializer}
    overridable = [i.name for i in graph.input if i.name in initializers]
    if overridable:
        raise SpecError("model", f"graph input {overridable[0]!r}", "is an initializer that is also a graph input, "
                        "so a caller can replace it at run time: a dynamic weight, not a fixed map (export with "
                        "keep_initializers_as_inputs=False)")
    inputs = [i for i in graph.input if i.name not in initializers]
    nodes = [n for n in graph.node if n.op_type != "Constant" or n.domain not in ("", "ai.onnx")]
    current = inputs[0].name if inputs else None
    for index, node in enumerate(nodes):
        data = [name for name in node.input if name and name not in constants]
        if current is None or data != [current] or len(node.output) != 1:
            raise SpecError(where(node, index), f"inputs {list(node.input)}, outputs {list(node.output)}",
                            _chain_fault(node, data, current, len(inputs)) + "; " + CHAIN_RULE)
        current = node.output[0]
    uses = [name for node in nodes for name in node.input] + [o.name for o in graph.output]
    shared = next((name for name in (i.name for i in inputs[:1]) if uses.count(name) > 1), None) or next(
        (n.output[0] for n in nodes if uses.count(n.output[0]) > 1), None)
    if len(inputs) != 1:
        raise SpecError("model", f"graph inputs {[i.name for i in inputs]}", "must be one (the network's input); "
                        + CHAIN_RULE)
    if shared is not None or len(graph.output) != 1 or graph.output[0].name != current:
        what = (f"the value {shared!r} is used {uses.count(shared)} times (a branch)" if shared is not None else
                f"graph outputs {[o.name for o in graph.output]} are not the chain's end {current!r}")
        raise SpecError("model", what, CHAIN_RULE)
    dtype, dims = _value_type(inputs[0], "graph input")
    out_dtype, _ = _value_type(graph.output[0], "graph output")
    if out_dtype != dtype:
        raise SpecError(f"graph output {graph.output[0].name!r}", out_dtype, f"must have the input's element "
                        f"type {dtype}")
    return Chain(model, tuple(nodes), constants, inputs[0].name, current, dtype, dims)


def _chain_fault(node: Any, data: list[str], current: str | None, inputs: int) -> str:
    """Why ``node`` breaks the chain, in words."""
    if current is None:
        return "the graph has no non-constant input"
    if len(node.output) != 1:
        return f"it has {len(node.output)} outputs, not one"
    dynamic = [name for name in data if name != current]
    if dynamic:
        return (f"its input {dynamic[0]!r} is neither a constant (initializer, Constant node) nor the previous "
                f"node's output: a dynamic weight (or a second branch) is no fixed map")
    return f"it does not read the previous node's output {current!r}"
