"""An ONNX chain as NetworkSteps, the steps the torch path reads (so ``mlp_layers``, the proof and
the per-layer comparisons are the same code). Per node, with per-sample shapes (batch axis off):

    Conv, ConvTranspose   ``symconv.frameworks.from_onnx`` (auto_pad, pads, strides, dilations,
                          group, output_padding, output_shape): the conv, or the conv it transposes
    AveragePool           a depthwise conv with weights 1/∏K (count_include_pad=1, or no padding;
                          ceil_mode=1 only where no window overhangs: (n + pads − span) divisible by s)
    GlobalAveragePool     AveragePool with K = the input's spatial size
    BatchNormalization    inference: y = (x − mean)·scale/√(var + ε) + B per channel
    Gemm                  y = α·x·B' + β·C (B' = B or Bᵀ by transB; transA=0; C one value per output)
    MatMul                y = x·B on flat inputs (N, K)
    Add                   a constant, one value per channel (per output of a Gemm/MatMul), folded
                          into the bias of the conv, transposed conv, Gemm or MatMul before it
    Relu, Sigmoid, Tanh, LeakyRelu   elementwise (torch's ReLU, Sigmoid, Tanh, LeakyReLU(α))
    Flatten(axis=1), Reshape to (N, features)   vec of each sample

Any other node is refused by name, as are attributes these rules do not read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from math import prod
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SpecError, integer
from ..frameworks.onnx import _ints, from_onnx, node_attributes, onnx_padding
from ..pattern import kernel_span
from ..spec import ConvSpec
from .onnx_chain import Chain, where
from .steps import NetworkStep, refuse_dense
from .torch_code import _torch

SUPPORTED = ("Conv", "ConvTranspose", "AveragePool", "GlobalAveragePool", "BatchNormalization", "Gemm", "MatMul",
             "Add", "Relu", "Sigmoid", "Tanh", "LeakyRelu", "Flatten", "Reshape")
NOT_SUPPORTED_RULE = (f"symconv reads the ONNX ops {', '.join(SUPPORTED)} (linear or elementwise); this one is "
                      f"neither, or not read, so the network has no checked FC-layer equivalent")


@dataclass
class OnnxLayer:
    """A linear ONNX node (or a node and the Add folded into it) with what ``mlp._parameters``
    reads: weight, bias and BatchNorm statistics as float64 tensors (exact copies of the model's
    constants), ``output_padding`` of a transposed conv. ``nodes`` are its ONNX nodes, in order."""

    op_type: str
    nodes: tuple[Any, ...]
    weight: Any = None
    bias: Any = None
    running_mean: Any = None
    running_var: Any = None
    eps: float = 0.0
    num_features: int = 0
    output_padding: tuple[int, ...] = ()
    out_features: int = 0
    extra: dict = field(default_factory=dict)


def _tensor(value: np.ndarray) -> Any:
    return _torch().as_tensor(np.array(value, dtype=np.float64))   # a copy: the model's arrays may be read-only


def _constant(chain: Chain, node: Any, index: int, slot: int, dtype: str | None = None) -> np.ndarray | None:
    """The node's constant input ``slot`` (None when absent), of the model's element type (or ``dtype``)."""
    if slot >= len(node.input) or not node.input[slot]:
        return None
    value = chain.constants[node.input[slot]]
    if value.dtype != np.dtype(dtype or chain.dtype):
        raise SpecError(f"{where(node, index)} input {node.input[slot]!r}", str(value.dtype),
                        f"must be {dtype or chain.dtype}, the model's element type")
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        raise SpecError(f"{where(node, index)} input {node.input[slot]!r}", "non-finite values",
                        "weights must be finite (NaN and inf compare unequal to everything)")
    return value


def _float(node: Any, index: int, attributes: dict[str, Any], name: str, default: float) -> float:
    """The FLOAT attribute ``name`` (``default`` when absent) as float32's value, as onnxruntime reads
    it; SpecError for another type (text, a list, an int) or a non-finite value.

    >>> from onnx import helper
    >>> _float(helper.make_node("LeakyRelu", ["x"], ["y"]), 0, {"alpha": "abc"}, "alpha", 0.01)   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    symconv.errors.SpecError: LeakyRelu (node 0).alpha='abc': must be a finite float (a FLOAT attribute ...)
    """
    value = attributes.get(name, default)
    if not isinstance(value, float) or not np.isfinite(value):
        raise SpecError(f"{where(node, index)}.{name}", value, "must be a finite float (a FLOAT attribute of the "
                        "ONNX specification)")
    return float(np.float32(value))


def _int(node: Any, index: int, attributes: dict[str, Any], name: str) -> int:
    """The INT attribute ``name`` (0 when absent; a flag is on when nonzero); SpecError for another type."""
    return integer(f"{where(node, index)}.{name}", attributes.get(name, 0))


def _conv(chain: Chain, node: Any, index: int, shape: tuple[int, ...]) -> NetworkStep:
    w = _constant(chain, node, index, 1)
    b = _constant(chain, node, index, 2)
    if len(shape) < 2 or w is None or w.ndim != len(shape) + 1:
        raise SpecError(where(node, index), f"input {shape}, W {None if w is None else w.shape}", "expects input "
                        "(C, 1 to 3 spatial axes) per sample and a weight W with as many axes plus one")
    layer = from_onnx(node, (1, *shape), tuple(w.shape))   # its errors name the node and attribute
    channels = layer.spec.in_channels if layer.transposed else layer.spec.out_channels
    if b is not None and b.shape != (channels,):
        raise SpecError(f"{where(node, index)} input B", b.shape, f"must have shape ({channels},)")
    module = OnnxLayer(node.op_type, (node,), _tensor(w), None if b is None else _tensor(b),
                       output_padding=layer.output_padding)
    kind = "convtranspose" if layer.transposed else "conv"
    out_shape = tuple(layer.output_map.spec_shape)
    return NetworkStep(where(node, index), module, kind, shape, out_shape, layer.spec)


def _avgpool(chain: Chain, node: Any, index: int, shape: tuple[int, ...]) -> NetworkStep:
    if len(shape) < 2:
        raise SpecError(where(node, index), shape, "expects input (C, 1 to 3 spatial axes) per sample")
    size, dims = shape[1:], len(shape) - 1
    if node.op_type == "GlobalAveragePool":
        node_attributes(node, ())
        kernel, stride, dilation, padding = size, (1,) * dims, (1,) * dims, ((0, 0),) * dims
    else:
        attributes = node_attributes(node, ("auto_pad", "ceil_mode", "count_include_pad", "dilations",
                                            "kernel_shape", "pads", "strides"))
        kernel = _ints(node, attributes, "kernel_shape", dims, None, 1)
        if kernel is None:
            raise SpecError(f"{where(node, index)}.kernel_shape", None, "is required (the ONNX specification)")
        stride = _ints(node, attributes, "strides", dims, 1, 1)
        dilation = _ints(node, attributes, "dilations", dims, 1, 1)
        padding = onnx_padding(node, attributes, size, kernel, stride, dilation)
        _refuse_varying_divisor(node, index, attributes, size, kernel, stride, dilation, padding)
    try:
        spec = ConvSpec(shape[0], shape[0], kernel, size, stride=stride, padding=padding, dilation=dilation,
                        groups=shape[0], bias=False)
    except SpecError as error:
        raise SpecError(f"{where(node, index)}: {error.parameter}", error.value, error.rule) from None
    return NetworkStep(where(node, index), OnnxLayer(node.op_type, (node,)), "avgpool", shape, spec.output_shape,
                       spec, sp.Rational(1, prod(kernel)))


def _refuse_varying_divisor(node: Any, index: int, attributes: dict[str, Any], size: tuple[int, ...],
                            kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
                            padding: tuple[tuple[int, int], ...]) -> None:
    """SpecError where AveragePool's divisor varies over windows: padding excluded from the count
    (count_include_pad=0, ONNX's default), or ceil_mode windows that overhang the input."""
    if not _int(node, index, attributes, "count_include_pad") and any(p for pair in padding for p in pair):
        raise SpecError(f"{where(node, index)}.count_include_pad", attributes.get("count_include_pad", 0),
                        f"with padding {padding} the divisor excludes the padded positions, so it varies near "
                        f"the border and the pool is not a convolution; use count_include_pad=1 or no padding")
    overhang = [(n + pb + pe - kernel_span(k, d)) % s for n, k, s, d, (pb, pe) in
                zip(size, kernel, stride, dilation, padding)]
    if _int(node, index, attributes, "ceil_mode") and any(overhang):
        raise SpecError(f"{where(node, index)}.ceil_mode", 1, f"on input size {size} ceil_mode adds windows "
                        f"that overhang the input (a varying divisor), so the pool is not a convolution; use "
                        f"ceil_mode=0")


def _batchnorm(chain: Chain, node: Any, index: int, shape: tuple[int, ...]) -> NetworkStep:
    attributes = node_attributes(node, ("epsilon", "momentum", "training_mode"))
    if _int(node, index, attributes, "training_mode"):
        raise SpecError(f"{where(node, index)}.training_mode", attributes["training_mode"], "in training mode "
                        "BatchNormalization normalises by batch statistics, which is no fixed map")
    scale, bias, mean, var = (_constant(chain, node, index, slot) for slot in range(1, 5))
    if any(v is None or v.shape != (shape[0],) for v in (scale, bias, mean, var)):
        raise SpecError(where(node, index), f"input {shape}", f"scale, B, mean and var must be constants of shape "
                        f"({shape[0]},), one per channel")
    epsilon = _float(node, index, attributes, "epsilon", 1e-5)
    module = OnnxLayer(node.op_type, (node,), _tensor(scale), _tensor(bias), _tensor(mean), _tensor(var),
                       epsilon, shape[0])
    return NetworkStep(where(node, index), module, "batchnorm", shape, shape)


def _gemm(chain: Chain, node: Any, index: int, shape: tuple[int, ...]) -> NetworkStep:
    """Gemm and MatMul as a linear step: weight (M, K) with y = W·x + b per sample."""
    attributes = node_attributes(node, ("alpha", "beta", "transA", "transB") if node.op_type == "Gemm" else ())
    b = _constant(chain, node, index, 1)
    if len(shape) != 1 or b is None or b.ndim != 2:
        raise SpecError(where(node, index), f"input {shape}", "reads flat inputs (N, K) (put a Flatten before it) "
                        "times a constant 2-D B")
    if _int(node, index, attributes, "transA"):
        raise SpecError(f"{where(node, index)}.transA", attributes["transA"], "must be 0: with transA=1 the "
                        "batch axis would be the features")
    weight = b if _int(node, index, attributes, "transB") else b.T
    if weight.shape[1] != shape[0]:
        raise SpecError(where(node, index), f"input {shape}", f"B gives {weight.shape[1]} input features")
    alpha, beta = (_float(node, index, attributes, k, 1.0) for k in ("alpha", "beta"))
    c = _constant(chain, node, index, 2)
    bias = None if c is None else beta * _per_channel(node, index, c, (weight.shape[0],))
    # α·B is exact in float64 (a product of two float32 values), as is β·C
    module = OnnxLayer(node.op_type, (node,), _tensor(alpha * weight.astype(np.float64)),
                       None if bias is None else _tensor(bias), out_features=weight.shape[0],
                       extra={"alpha": alpha, "beta": beta})
    return NetworkStep(where(node, index), module, "linear", shape, (weight.shape[0],))


def _per_channel(node: Any, index: int, c: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A constant added to outputs of per-sample ``shape`` (C, …) or (M,), broadcast as NumPy and ONNX
    do (right-aligned against (N, *shape)), as one value per channel or output; SpecError when it
    varies over positions or the batch (shape (1, C or 1, 1, …, 1) after padding with 1s on the left).

    >>> from onnx import helper
    >>> add = helper.make_node("Add", ["y", "c"], ["z"])
    >>> _per_channel(add, 1, np.array([[[1.0]], [[2.0]]]), (2, 4, 4)).tolist()   # (C, 1, 1)
    [1.0, 2.0]
    >>> _per_channel(add, 1, np.ones((1, 4)), (2, 4, 4))   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    symconv.errors.SpecError: Add (node 1) constant=(1, 4): must give one value per channel or output (2) ...
    """
    rank = len(shape) + 1
    padded = (1,) * (rank - c.ndim) + tuple(c.shape)
    if c.ndim > rank or padded[0] != 1 or padded[1] not in (1, shape[0]) or any(n != 1 for n in padded[2:]):
        raise SpecError(f"{where(node, index)} constant", c.shape, f"must give one value per channel or output "
                        f"({shape[0]}) of outputs {shape}: a constant varying over positions or samples is not read")
    return np.broadcast_to(np.asarray(c, dtype=np.float64).reshape(-1), (shape[0],)).copy()


def _fold_add(chain: Chain, node: Any, index: int, last: NetworkStep | None, shape: tuple[int, ...]) -> NetworkStep:
    """Add(x, c) or Add(c, x) after a conv, transposed conv, Gemm or MatMul: c joins that step's bias."""
    node_attributes(node, ())
    c = _constant(chain, node, index, 1 if node.input[0] not in chain.constants else 0)
    if last is None or last.kind not in ("conv", "convtranspose", "linear") or c is None:
        raise SpecError(where(node, index), f"after {last.position if last else 'the input'}", "Add is read only "
                        "as the bias of the Conv, ConvTranspose, Gemm or MatMul right before it")
    add = _tensor(_per_channel(node, index, c, shape))
    old = last.module
    bias = add if old.bias is None else old.bias + add
    module = OnnxLayer(f"{old.op_type}+Add", (*old.nodes, node), old.weight, bias,
                       output_padding=old.output_padding, out_features=old.out_features, extra=old.extra)
    # a conv's spec now has a bias (a transposed conv's bias is added after conv_transpose, never in its spec)
    spec = replace(last.spec, bias=True) if last.kind == "conv" else last.spec
    return NetworkStep(f"{last.position} + {where(node, index)}", module, last.kind, last.in_shape, last.out_shape,
                       spec, last.pool_weight)


ELEMENTWISE_OPS = {"Relu": "ReLU", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "LeakyRelu": "LeakyReLU"}


def _elementwise(chain: Chain, node: Any, index: int, shape: tuple[int, ...]) -> NetworkStep:
    """torch's module of the same function (the MLP applies it unchanged; the check compares it
    with onnxruntime's)."""
    attributes = node_attributes(node, ("alpha",) if node.op_type == "LeakyRelu" else ())
    nn = _torch().nn
    if node.op_type == "LeakyRelu":
        module = nn.LeakyReLU(_float(node, index, attributes, "alpha", 0.01))
    else:
        module = getattr(nn, ELEMENTWISE_OPS[node.op_type])()
    return NetworkStep(where(node, index), module, "elementwise", shape, shape)


def _flatten(chain: Chain, node: Any, index: int, shape: tuple[int, ...]) -> NetworkStep:
    """Flatten(axis=1) or a Reshape whose result is (N, ∏shape): vec of each sample."""
    rank = len(shape) + 1
    if node.op_type == "Flatten":
        axis = integer(f"{where(node, index)}.axis", node_attributes(node, ("axis",)).get("axis", 1))
        if axis + (rank if axis < 0 else 0) != 1:
            raise SpecError(f"{where(node, index)}.axis", axis, "only axis=1 (vec of each sample) is read")
    else:
        allowzero = node_attributes(node, ("allowzero",)).get("allowzero", 0)
        allowzero = integer(f"{where(node, index)}.allowzero", allowzero, 0, 1)
        target = _constant(chain, node, index, 1, "int64")
        features = prod(shape)
        pair = target if target is not None and target.shape == (2,) else None   # a 0-d shape: refused below
        batch_kept = pair is not None and (
            (pair[0] == 0 and not allowzero) or pair[0] == -1 or
            (pair[0] == chain.input_dims[0] and chain.input_dims[0] is not None))
        second = None if pair is None else int(pair[1])
        flat = second == features or (second == -1 and pair[0] != -1) or (second == 0 and not allowzero
                                                                          and shape == (features,))
        if not (batch_kept and flat):
            raise SpecError(f"{where(node, index)} shape", None if target is None else target.tolist(),
                            f"only a Reshape to (N, {features}) (vec of each sample, the batch axis kept: 0 or -1 "
                            f"first) is read")
    return NetworkStep(where(node, index), OnnxLayer(node.op_type, (node,)), "flatten", shape, (prod(shape),))


READERS = {"Conv": _conv, "ConvTranspose": _conv, "AveragePool": _avgpool, "GlobalAveragePool": _avgpool,
           "BatchNormalization": _batchnorm, "Gemm": _gemm, "MatMul": _gemm, "Flatten": _flatten,
           "Reshape": _flatten, **dict.fromkeys(ELEMENTWISE_OPS, _elementwise)}


def onnx_steps(chain: Chain, input_shape: tuple[int, ...]) -> tuple[list[NetworkStep], list[tuple[Any, ...]]]:
    """The chain's NetworkSteps on per-sample inputs of ``input_shape``, and each step's ONNX nodes
    (an Add folded into the node before it makes two); SpecError naming the node."""
    steps: list[NetworkStep] = []
    groups: list[tuple[Any, ...]] = []
    shape = tuple(input_shape)
    for index, node in enumerate(chain.nodes):
        op = node.op_type
        if node.domain not in ("", "ai.onnx") or op not in SUPPORTED:
            name = f"{node.domain}.{op}" if node.domain not in ("", "ai.onnx") else op
            raise SpecError(where(node, index), name, NOT_SUPPORTED_RULE)
        if op == "Add":
            steps.append(_fold_add(chain, node, index, steps.pop() if steps else None, shape))
            groups[-1] = (*groups[-1], node)   # _fold_add refused an Add with no step before it
            continue
        if node.input[0] in chain.constants:
            raise SpecError(where(node, index), f"input {node.input[0]!r}", f"is a constant: {op} reads the data as "
                            f"its first input")
        step = READERS[op](chain, node, index, shape)
        if step.kind in ("conv", "convtranspose", "avgpool", "linear"):
            refuse_dense(step.position, op, shape, step.out_shape)
        steps.append(step)
        groups.append((node,))
        shape = step.out_shape
    return steps, groups
