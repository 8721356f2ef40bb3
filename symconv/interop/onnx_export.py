"""A network as an ONNX file of its MLP (``to_onnx``), for tools that read only fully connected
networks (MatMul/Gemm and activations), and running such a file in onnxruntime (``run_onnx``).

The MLP is ``mlp_layers`` of the network, checked against torch as ``to_mlp`` checks it, written
by ``onnx_graph.mlp_graph``: Flatten, Gemm per affine layer, one elementwise operator per
activation, Reshape. The file is complete and passes ``onnx.checker.check_model(full_check=True)``
before it exists: it is written to a temporary file beside the target and renamed into place, so a
refusal leaves no file behind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SpecError, boolean, integer
from .convert import _refuse_mismatch
from .mlp import mlp_layers
from .networks import read_network
from .onnx_graph import INDEX_BYTES, mlp_graph, onnx_bytes
from .steps import NetworkStep
from .torch_code import _torch

DEFAULT_OPSET = 17
"""The default opset: Gemm, Flatten, Reshape and the common activations in their current form,
read by onnxruntime ≥ 1.13 and most network verifiers."""
MIN_OPSET = 13   # Gemm's and Flatten's current definitions; Constant with sparse_value since 11
PROTOBUF_LIMIT = 2**31 - 1
"""A protobuf message is at most 2 GiB − 1 bytes: no ONNX file without external data is larger."""
MAX_ONNX_BYTES = 2**30
"""The default ``max_bytes`` of ``to_onnx``: 1 GiB of weights (``onnx_bytes``), half protobuf's limit
(serialising holds the model and its bytes in memory at once)."""


@dataclass(frozen=True)
class OnnxExport:
    """What ``to_onnx`` wrote: the file, its size in bytes and the estimate made before writing,
    the element type, opset and storage, the per-sample shapes, the network's layers (torch classes
    or ONNX op types), the framework that ran the original (torch or onnxruntime), and the steps it
    was built from (the matrices are not kept: a CIFAR-size CNN's take a gigabyte in float64)."""

    path: Path
    bytes: int
    estimate: int
    dtype: np.dtype
    opset: int
    sparse: bool
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    layer_names: tuple[str, ...]
    framework: str
    steps: tuple[NetworkStep, ...]

    def __str__(self) -> str:
        storage = "sparse (COO constants)" if self.sparse else "dense"
        return (f"{self.path}: {self.bytes} bytes ({storage}, {self.dtype}, opset {self.opset}, estimate "
                f"{self.estimate} bytes of weights)")


def _onnx_target(path: Any) -> Path:
    """``path`` as a file that can be written, in a directory that exists (SpecError otherwise)."""
    from ..latex.build import check_output_path
    if not isinstance(path, (str, os.PathLike)):
        raise SpecError("path", path, "must be a file name (str or os.PathLike)")
    target = check_output_path("path", path)
    if not target.parent.is_dir():
        raise SpecError("path", str(path), f"the directory {target.parent} does not exist")
    return target


def _file_dtype(dtype: Any, own: Any) -> np.dtype:
    """The element type of the file: ``dtype`` (torch.float32 or torch.float64), default the
    model's ``own``, which must then be one of those two."""
    torch = _torch()
    chosen = own if dtype is None else dtype
    types = {torch.float32: np.dtype(np.float32), torch.float64: np.dtype(np.float64)}
    if chosen not in types:
        raise SpecError("dtype", chosen, "the ONNX file is written in torch.float32 or torch.float64 (ONNX "
                        "FLOAT or DOUBLE); pass dtype= one of them" + (" (the model computes in it)"
                                                                      if dtype is None else ""))
    return types[chosen]


def _opset(opset: Any) -> int:
    import onnx
    if opset is None:
        return DEFAULT_OPSET
    return integer("opset", opset, minimum=MIN_OPSET, maximum=onnx.defs.onnx_opset_version(),
                   limit_name=f"the newest opset of onnx {onnx.__version__}")


def _refuse_large(estimate: int, max_bytes: int, sparse: bool, itemsize: int) -> None:
    if estimate > max_bytes:
        how = (f"nnz·({itemsize} + {INDEX_BYTES}) bytes per layer" if sparse else
               f"rows·cols·{itemsize} bytes per layer")
        hint = "" if sparse else "; sparse=True stores only the nonzeros"
        raise SpecError("max_bytes", max_bytes, f"the file's weights would take {estimate} bytes ({how}, "
                        f"plus the biases), more than max_bytes={max_bytes}; pass a larger max_bytes (at "
                        f"most {PROTOBUF_LIMIT}, protobuf's limit){hint}")


def to_onnx(model: Any, input_shape: tuple[int, ...], path: str | os.PathLike, *, sparse: bool = False,
            opset: int | None = None, dtype: Any = None, max_bytes: int = MAX_ONNX_BYTES) -> OnnxExport:
    """Write the MLP equal to ``model`` (what ``to_mlp`` builds: Flatten, Linear layers and the
    activations) as an ONNX file at ``path`` and return what was written (``OnnxExport``).

    The graph holds only Flatten, Gemm (vec(y) = A·vec(x) + c, with A as written by ``mlp_layers``:
    a conv's Toeplitz matrix T incl. its padding map, a transposed conv's Tᵀ, a pool's depthwise T,
    BatchNorm folded), one elementwise operator per activation (``onnx_graph.ONNX_ACTIVATIONS``)
    and Reshape; no Conv, ConvTranspose or pooling node. Its input "input" has shape (N, *input_shape)
    and its output "output" (N, *the model's per-sample output shape) for any batch size N;
    ``input_shape`` is one sample's shape, as for ``to_mlp``. ``model`` is a torch ``nn.Sequential``
    or an ONNX CNN (an ``onnx.ModelProto`` or the path of a .onnx file, read as ``to_mlp`` reads it
    and checked against onnxruntime running it).

    ``sparse=True`` writes each A as a Constant node with a COO ``sparse_value`` (nonzeros and their
    int64 row-major indices): the file grows with the nonzeros; onnxruntime densifies it on loading
    (see ``onnx_graph``). ``dtype`` is the element type (torch.float32 or torch.float64; default the
    model's). ``opset`` defaults to DEFAULT_OPSET (17). The weights' size is estimated before the
    file is built (``onnx_bytes``: rows·cols·itemsize dense, nnz·(itemsize + 8) sparse); above
    ``max_bytes`` (default MAX_ONNX_BYTES = 1 GiB, at most protobuf's 2 GiB − 1) it is refused.

    Refused with a SpecError, leaving no file: a layer ``to_mlp`` refuses (by position and class),
    an activation without an ONNX operator, a path that is a directory or whose directory does not
    exist, a file above ``max_bytes``.

    >>> import tempfile, torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU())
    >>> with tempfile.TemporaryDirectory() as d:
    ...     written = to_onnx(net, (1, 4, 4), f"{d}/net.onnx")
    ...     [node.op_type for node in __import__("onnx").load(written.path).graph.node]
    ['Flatten', 'Gemm', 'Relu', 'Reshape']
    """
    target = _onnx_target(path)
    sparse = boolean("sparse", sparse)
    opset = _opset(opset)
    max_bytes = integer("max_bytes", max_bytes, minimum=1, maximum=PROTOBUF_LIMIT, limit_name="protobuf's limit")
    network = read_network(model, input_shape)
    _refuse_mismatch("model", model, network)
    element = _file_dtype(dtype, network.dtype)
    layers = mlp_layers(network.steps)
    estimate = onnx_bytes(layers, sparse, element.itemsize)
    _refuse_large(estimate, max_bytes, sparse, element.itemsize)
    proto, out_shape = export_proto(network, layers, element, sparse, opset)
    return _write(proto, target, OnnxExport(target, 0, estimate, element, opset, sparse, network.input_shape,
                                            out_shape, network.layer_names, network.framework,
                                            tuple(network.steps)))


def export_proto(network: Any, layers: list, element: np.dtype, sparse: bool, opset: int) -> tuple[Any, tuple]:
    """(the ModelProto ``to_onnx`` writes for ``network`` and its ``mlp_layers``, the per-sample
    output shape): the one construction, also rebuilt by the certificate to compare with the file."""
    out_shape = network.steps[-1].out_shape if network.steps else network.input_shape
    proto = mlp_graph(layers, network.input_shape, out_shape, element, sparse, opset,
                      doc=f"symconv: the MLP of {' → '.join(network.layer_names)}")
    return proto, out_shape


def _refuse_unloadable(data: bytes, export: OnnxExport) -> None:
    """SpecError unless onnxruntime (when installed) loads the model ``data``: a type constraint or
    a missing kernel that ``onnx_graph``'s table does not know refuses the file before it exists."""
    try:
        import onnxruntime
    except ImportError:
        return
    try:
        onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception classes, one line each
        raise SpecError("dtype", str(export.dtype), f"onnxruntime cannot load the MLP of {export.layer_names} "
                        f"at opset {export.opset}: {str(error).splitlines()[0]}; pass dtype=torch.float32 or "
                        "another opset") from None


def _write(proto: Any, target: Path, export: OnnxExport) -> OnnxExport:
    """Check the model (``onnx.checker``, then onnxruntime loading it), then write it atomically
    (a temporary file beside ``target``, renamed)."""
    import onnx

    from ..latex.build import write_atomically
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        raise SpecError("dtype", str(export.dtype), f"the MLP of {export.layer_names} would be an invalid "
                        f"ONNX file at opset {export.opset}: {str(error).splitlines()[0]}") from None
    data = proto.SerializeToString()
    _refuse_unloadable(data, export)
    write_atomically(target, data)
    return OnnxExport(**{**export.__dict__, "bytes": len(data)})


def run_onnx(path: str | os.PathLike, x: np.ndarray) -> np.ndarray:
    """The file at ``path`` run by onnxruntime (CPU) on the batch ``x`` (cast to the file's input type)."""
    try:
        import onnxruntime
    except ImportError:
        raise SpecError("onnxruntime", None, "is needed to run an ONNX file: pip install onnxruntime") from None
    session = onnxruntime.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    entry = session.get_inputs()[0]
    element = np.float64 if entry.type == "tensor(double)" else np.float32
    return session.run(None, {entry.name: np.asarray(x, dtype=element)})[0]
