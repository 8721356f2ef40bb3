"""The MLP of ``mlp_layers`` as an ONNX graph: Flatten, then one Gemm per affine layer and one
elementwise operator per activation, then Reshape to the network's output shape; no Conv,
ConvTranspose or pooling node. ``onnx_bytes`` estimates the file before it is built.

An affine layer vec(y) = A·vec(x) + c becomes ``Gemm(h, A, c, transB=1)`` (h·Aᵀ + c on the batch
of rows h), so the file holds A itself, rows = output features, as ``mlp_layers`` built it.

Dense or sparse weights (``sparse=``): ONNX's default domain has no sparse matrix product, and
shape inference gives a graph's ``sparse_initializer`` a sparse type that MatMul and Gemm do not
accept (``onnx.checker`` refuses it). So with ``sparse=True`` each A is the output of a
``Constant`` node whose ``sparse_value`` is a COO SparseTensorProto: its nonzero values and their
row-major linear indices (int64). The file then grows with the nonzeros, not rows·cols, and every
ONNX tool reads it as an ordinary dense tensor: onnxruntime densifies the constant when it loads
the model, so memory at run time is still rows·cols entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ..errors import SpecError

INDEX_BYTES = 8   # a COO index: one int64 (row-major linear index) per nonzero


class OnnxActivation(NamedTuple):
    """A torch activation as one ONNX operator of the default domain: the operator, the first opset
    that has it with these semantics, its attributes, and the scalars it takes as extra inputs."""

    op: str
    opset: int
    attributes: Callable[[Any], dict[str, Any]] = lambda m: {}
    inputs: Callable[[Any], list[float]] = lambda m: []
    double: bool = True


ONNX_ACTIVATIONS = {
    "ReLU": OnnxActivation("Relu", 1),
    "ReLU6": OnnxActivation("Clip", 11, inputs=lambda m: [0.0, 6.0]),
    "Hardtanh": OnnxActivation("Clip", 11, inputs=lambda m: [m.min_val, m.max_val]),
    "LeakyReLU": OnnxActivation("LeakyRelu", 6, lambda m: {"alpha": m.negative_slope}),
    "PReLU": OnnxActivation("PRelu", 9, inputs=lambda m: [float(m.weight.detach().reshape(-1)[0])]),
    "ELU": OnnxActivation("Elu", 6, lambda m: {"alpha": m.alpha}),
    "CELU": OnnxActivation("Celu", 12, lambda m: {"alpha": m.alpha}, double=False),
    "SELU": OnnxActivation("Selu", 6, lambda m: {"alpha": 1.6732632423543772, "gamma": 1.0507009873554805}),
    "Sigmoid": OnnxActivation("Sigmoid", 6),
    "Tanh": OnnxActivation("Tanh", 6),
    "Softsign": OnnxActivation("Softsign", 1),
    "Hardsigmoid": OnnxActivation("HardSigmoid", 6, lambda m: {"alpha": 1 / 6, "beta": 0.5}),
    "Hardswish": OnnxActivation("HardSwish", 14),
    "Mish": OnnxActivation("Mish", 18),
    "GELU": OnnxActivation("Gelu", 20, lambda m: {"approximate": m.approximate}),
    "Hardshrink": OnnxActivation("Shrink", 9, lambda m: {"lambd": m.lambd, "bias": 0.0}),
    "Softshrink": OnnxActivation("Shrink", 9, lambda m: {"lambd": m.lambd, "bias": m.lambd}),
}
"""torch activation class name → the ONNX operator computing the same function. Attributes are
float32 in ONNX, so a slope such as LeakyReLU's 0.01 is rounded to float32 in the file. SiLU,
Softplus (torch's ``threshold`` switches to x), Tanhshrink and LogSigmoid have no single operator
of their own and are refused by name. ``double=False``: ONNX's type constraint has no DOUBLE form of
the operator (Celu: T is float only), refused in a float64 file by name. Whether onnxruntime has a
double kernel depends on the opset (LeakyRelu-16 has one at opset 16-18, not at 20; Elu only at 18):
``to_onnx`` loads the bytes in onnxruntime before writing and refuses what it cannot load."""


def onnx_bytes(layers: list[tuple[str, Any, Any]], sparse: bool, itemsize: int) -> int:
    """The bytes the file's weights take: Σ over affine layers of rows·cols·itemsize (dense) or
    nnz·(itemsize + 8) (sparse: a value and an int64 index per nonzero), plus the biases
    (dense). The protobuf framing adds a few bytes per tensor and node.

    >>> A = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> onnx_bytes([("affine", A, np.zeros(2))], False, 4), onnx_bytes([("affine", A, np.zeros(2))], True, 4)
    (24, 32)
    """
    total = 0
    for kind, A, c in layers:
        if kind == "affine":
            total += int(np.count_nonzero(A)) * (itemsize + INDEX_BYTES) if sparse else A.size * itemsize
            total += c.size * itemsize
    return total


def activation_of(step: Any, opset: int, dtype: np.dtype) -> OnnxActivation:
    """The ONNX operator of an elementwise step in a file of element type ``dtype``, or SpecError
    naming the layer."""
    name = type(step.module).__name__
    found = ONNX_ACTIVATIONS.get(name)
    if found is None:
        raise SpecError(step.position, name, f"no single ONNX operator computes torch's {name}; to_onnx "
                        f"writes {', '.join(ONNX_ACTIVATIONS)}")
    if opset < found.opset:
        raise SpecError("opset", opset, f"{name} at {step.position} is ONNX {found.op}, which needs opset ≥ "
                        f"{found.opset}")
    if np.dtype(dtype) == np.float64 and not found.double:
        raise SpecError("dtype", "float64", f"{name} at {step.position} is ONNX {found.op}, which has no "
                        "float64 (DOUBLE) form in ONNX; pass dtype=torch.float32")
    return found


def _tensor(name: str, value: Any, dtype: np.dtype) -> Any:
    from onnx import numpy_helper
    return numpy_helper.from_array(np.ascontiguousarray(np.asarray(value, dtype=dtype)), name)


def _weight(name: str, A: np.ndarray, dtype: np.dtype, sparse: bool) -> tuple[list[Any], list[Any]]:
    """(nodes, initializers) giving the tensor ``name`` = A: a dense initializer, or a Constant
    node with A's nonzeros as a COO sparse_value (row-major linear int64 indices)."""
    from onnx import helper
    if not sparse:
        return [], [_tensor(name, A, dtype)]
    rows, cols = np.nonzero(A)
    values = _tensor(f"{name}_values", A[rows, cols], dtype)
    indices = _tensor(f"{name}_indices", rows.astype(np.int64) * A.shape[1] + cols, np.int64)
    coo = helper.make_sparse_tensor(values, indices, list(A.shape))
    return [helper.make_node("Constant", [], [name], name=f"{name}_constant", sparse_value=coo)], []


def _layer_nodes(number: int, layer: tuple[str, Any, Any], source: str, target: str, dtype: np.dtype,
                 sparse: bool, opset: int) -> tuple[list[Any], list[Any]]:
    """(nodes, initializers) of MLP layer ``number``, reading ``source`` and writing ``target``."""
    from onnx import helper
    kind, A, c = layer
    if kind == "affine":
        nodes, initializers = _weight(f"W{number}", A, dtype, sparse)
        initializers.append(_tensor(f"b{number}", c, dtype))
        nodes.append(helper.make_node("Gemm", [source, f"W{number}", f"b{number}"], [target],
                                      name=f"gemm{number}", transB=1))
        return nodes, initializers
    activation = activation_of(A, opset, dtype)
    extra = [_tensor(f"{activation.op.lower()}{number}_{i}", value, dtype)
             for i, value in enumerate(activation.inputs(A.module))]
    node = helper.make_node(activation.op, [source, *(t.name for t in extra)], [target],
                            name=f"{activation.op.lower()}{number}", **activation.attributes(A.module))
    return [node], extra


def mlp_graph(layers: list[tuple[str, Any, Any]], in_shape: tuple[int, ...], out_shape: tuple[int, ...],
              dtype: np.dtype, sparse: bool, opset: int, doc: str = "") -> Any:
    """The ONNX model of the MLP ``layers`` (``mlp_layers``): input "input" of shape (N, *in_shape),
    output "output" of shape (N, *out_shape), N any batch size."""
    from onnx import TensorProto, helper
    element = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}[np.dtype(dtype)]
    nodes, initializers = [], []
    source = "input"
    if len(in_shape) > 1:
        nodes.append(helper.make_node("Flatten", [source], ["flat"], name="flatten", axis=1))
        source = "flat"
    for number, layer in enumerate(layers, start=1):
        more_nodes, more_initializers = _layer_nodes(number, layer, source, f"h{number}", dtype, sparse, opset)
        nodes += more_nodes
        initializers += more_initializers
        source = f"h{number}"
    initializers.append(_tensor("output_shape", [-1, *out_shape], np.int64))
    nodes.append(helper.make_node("Reshape", [source, "output_shape"], ["output"], name="unflatten"))
    graph = helper.make_graph(nodes, "symconv_mlp", [helper.make_tensor_value_info("input", element, ["N", *in_shape])],
                              [helper.make_tensor_value_info("output", element, ["N", *out_shape])],
                              initializer=initializers, doc_string=doc)
    imports = [helper.make_opsetid("", opset)]
    # the oldest IR version that has the opset: a runtime of that age loads the file
    return helper.make_model(graph, opset_imports=imports, producer_name="symconv",
                             ir_version=helper.find_min_ir_version_for(imports))
