"""The ONNX model against onnxruntime running it (``onnx_mismatch``), the analogue of
``torch_mismatch``: each step's map, as read from the nodes, against what onnxruntime computes.

1. the ORIGINAL model, every step's output added as a graph output (the nodes unchanged), in its
   own element type, on TORCH_SAMPLES random integer inputs in [−3, 3] and on non-integer inputs
   in [−8, 8) of each batch size of TORCH_BATCHES: each step's output against its map on the
   input onnxruntime gave it, within ``rounding_tolerance`` of the element type (an activation:
   against torch's module of the same function, entry by entry, as ``_elementwise_mismatch``);
2. the original model's output, without the added outputs (onnxruntime then fuses nodes, e.g. a
   Conv and its BatchNormalization), against the last step's output of 1, within
   2¹³·eps·(1 + max |y|): rounding of fused kernels, nothing more;
3. exactly: each Conv, ConvTranspose, Gemm/MatMul (α = β = 1) and pool with a power-of-two divisor
   run alone in onnxruntime with integer weights in [−3, 3] on integer inputs, compared with ==
   (every partial sum is an integer far below 2²⁴, exact in float32 and float64).

A difference is a ``TorchMismatch`` with form "onnxruntime", naming the step and the output.
"""

from __future__ import annotations

from dataclasses import replace
from math import prod
from typing import Any

import numpy as np

from ..errors import SpecError
from ..result import Comparison
from .mismatch import (
    MAPS,
    TORCH_BATCHES,
    TORCH_RANGE,
    TORCH_SAMPLES,
    TorchMismatch,
    _compare,
    _exact_in_float64,
    rounding_tolerance,
)
from .onnx_chain import read_chain
from .onnx_network import OnnxNetwork
from .onnx_steps import onnx_steps
from .steps import NetworkStep
from .torch_code import _torch

FUSED_ULPS = 2**13   # check 2's tolerance in units of eps of the element type


def _session(model: Any) -> Any:
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.log_severity_level = 3   # errors only: shape warnings of added outputs are expected
    try:
        return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as error:   # onnxruntime's own exception classes: its refusal of the model
        raise SpecError("model", model.graph.name or "ModelProto", f"onnxruntime cannot load it: "
                        f"{str(error).strip().splitlines()[0][:300]}") from None


def _run(session: Any, name: str, x: np.ndarray, batch: int | None) -> list[np.ndarray]:
    """The session's outputs on x, in chunks of the declared batch size when the input fixes one."""
    chunks = [x] if batch is None else [x[i:i + batch] for i in range(0, len(x), batch)]
    try:
        runs = [session.run(None, {name: chunk}) for chunk in chunks]
    except Exception as error:   # onnxruntime's own exception classes
        raise SpecError("model", name, f"onnxruntime cannot run it on inputs of shape {chunks[0].shape}: "
                        f"{str(error).strip().splitlines()[0][:300]}") from None
    return [np.concatenate(parts) for parts in zip(*runs)]


def _with_outputs(model: Any, names: list[str]) -> Any:
    """A copy of the model whose graph also outputs ``names`` (the nodes are unchanged)."""
    from onnx import helper
    copy = type(model)()
    copy.CopyFrom(model)
    present = {o.name for o in copy.graph.output}
    elem = model.graph.output[0].type.tensor_type.elem_type
    copy.graph.output.extend(helper.make_tensor_value_info(n, elem, None) for n in names if n not in present)
    return copy


def _onnxruntime(found: TorchMismatch, check: str) -> TorchMismatch:
    """A mismatch from ``_compare`` (which names torch) as onnxruntime's."""
    c = found.comparison
    compared = Comparison(c.obtained, c.expected.replace("torch's", "onnxruntime's"), c.obtained_entry,
                          c.expected_entry.replace(r"\mathrm{torch}", r"\mathrm{onnxruntime}"))
    return replace(found, form="onnxruntime", compared=compared, check=check)


def onnx_mismatch(network: OnnxNetwork, seed: int = 0) -> TorchMismatch | None:
    """The first place where onnxruntime computes something else than the steps' maps, or None
    (checks 1–3 of the module docstring).

    >>> import numpy as np
    >>> from onnx import TensorProto, helper, numpy_helper
    >>> from symconv.interop.onnx_network import read_onnx
    >>> conv = helper.make_node("Conv", ["x", "W"], ["y"], auto_pad="SAME_LOWER", strides=[2])
    >>> graph = helper.make_graph([conv], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 5])],
    ...                           [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1, 3])],
    ...                           [numpy_helper.from_array(np.array([[[1, 2]]], np.float32), "W")])
    >>> network = read_onnx(helper.make_model(graph), (1, 5))
    >>> network.steps[0].spec.padding            # ⌈5/2⌉ = 3 outputs: total padding 1, before (LOWER)
    ((1, 0),)
    >>> onnx_mismatch(network) is None
    True
    """
    rng = np.random.default_rng(seed)
    dtype = np.dtype(network.chain.dtype)
    shape = network.steps[0].in_shape if network.steps else None
    if shape is None:
        return None
    samples = (network.batch or 1) * TORCH_SAMPLES   # a fixed batch size runs in chunks of it
    draws = [("integer inputs in [−3, 3]", rng.integers(-TORCH_RANGE, TORCH_RANGE + 1, size=(samples, *shape)))]
    draws += [(f"non-integer inputs in [−8, 8), batch {n}", rng.uniform(-8, 8, size=(n, *shape)))
              for n in ((samples,) if network.batch else TORCH_BATCHES)]
    exposed = _session(_with_outputs(network.chain.model, [network.output_name(i) for i in range(len(network.steps))]))
    original = _session(network.chain.model)
    try:
        for what, x in draws:
            if found := _layers_mismatch(network, exposed, original, x.astype(dtype), what):
                return found
        return _integer_mismatch(network, rng)
    finally:
        MAPS.clear()   # the steps' dense maps: memory, not needed after the comparison


def _layers_mismatch(network: OnnxNetwork, exposed: Any, original: Any, x: np.ndarray,
                     what: str) -> TorchMismatch | None:
    """Checks 1 and 2 on the input x."""
    torch = _torch()
    name = network.chain.input_name
    outputs = dict(zip((o.name for o in exposed.get_outputs()), _run(exposed, name, x, network.batch)))
    check = (f"onnxruntime running the model, {what}, each step against its map (rounding tolerance of "
             f"{network.chain.dtype})")
    v = x
    for index, step in enumerate(network.steps):
        out = outputs[network.output_name(index)]
        if found := _compare(step, torch.as_tensor(v), torch.as_tensor(out), rounding_tolerance(network.dtype),
                             check):
            return _onnxruntime(found, check)
        v = out
    whole = _run(original, name, x, network.batch)[0]
    tolerance = FUSED_ULPS * np.finfo(x.dtype).eps * (1 + np.abs(v).max(initial=0))
    if whole.shape != v.shape or not (np.abs(whole.astype(np.float64) - v) <= tolerance).all():
        check = (f"onnxruntime running the original model (no added outputs), {what}, against its steps run one "
                 f"after the other (within {FUSED_ULPS}·eps·(1 + max|y|) = {tolerance:.3g})")
        root = NetworkStep("model", network.steps[-1].module, "identity", network.steps[-1].out_shape,
                           network.steps[-1].out_shape)
        if whole.shape != v.shape:
            raise SpecError("model", network.chain.output_name, f"onnxruntime gives outputs of shape "
                            f"{whole.shape[1:]} per sample, its steps {v.shape[1:]}")
        found = _compare(root, torch.as_tensor(v), torch.as_tensor(whole), 0.0, check)
        return _onnxruntime(found, check) if found else None
    return None


def _exact_step(network: OnnxNetwork, step: NetworkStep) -> bool:
    """Exact with integer weights and inputs: ``_exact_in_float64``, Gemm only with α = β = 1, and
    every |partial sum| ≤ 9·(∏ inputs) + 3 below 2²⁴ (float32's exact integers)."""
    alpha_beta = getattr(step.module, "extra", {}) or {}
    return (_exact_in_float64(step) and all(v == 1.0 for v in alpha_beta.values())
            and 9 * prod(step.in_shape) + 3 < 2**24)


def _integer_mismatch(network: OnnxNetwork, rng: np.random.Generator) -> TorchMismatch | None:
    """Check 3: each exact step alone in onnxruntime, integer weights and inputs, compared with ==."""
    torch = _torch()
    check = "onnxruntime running the step alone, exactly, on integer weights and inputs"
    for index, step in enumerate(network.steps):
        if not _exact_step(network, step):
            continue
        alone = _step_model(network, index, rng)
        integer_steps, _ = onnx_steps(read_chain(alone), step.in_shape)
        x = rng.integers(-TORCH_RANGE, TORCH_RANGE + 1, size=((network.batch or 1) * TORCH_SAMPLES, *step.in_shape))
        out = _run(_session(alone), alone.graph.input[0].name, x.astype(network.chain.dtype), network.batch)[0]
        if found := _compare(replace(integer_steps[0], position=step.position), torch.as_tensor(x.astype(np.float64)),
                             torch.as_tensor(out), 0.0, check):
            return _onnxruntime(found, check)
    return None


def _step_model(network: OnnxNetwork, index: int, rng: np.random.Generator) -> Any:
    """The nodes of step ``index`` as a model of their own, the same attributes and opsets, every
    floating constant replaced by random integers in [−3, 3] of its shape (integer constants kept)."""
    from onnx import helper, numpy_helper
    chain, nodes, step = network.chain, network.groups[index], network.steps[index]
    names = [n for node in nodes for n in node.input if n in chain.constants]
    constants = []
    for n in dict.fromkeys(names):
        value = chain.constants[n]
        if value.dtype.kind == "f":
            value = rng.integers(-TORCH_RANGE, TORCH_RANGE + 1, size=value.shape).astype(value.dtype)
        constants.append(numpy_helper.from_array(value, n))
    elem = chain.model.graph.output[0].type.tensor_type.elem_type
    data = next(n for n in nodes[0].input if n not in chain.constants)
    graph = helper.make_graph(list(nodes), "step", [helper.make_tensor_value_info(data, elem,
                                                                                  [network.batch, *step.in_shape])],
                              [helper.make_tensor_value_info(nodes[-1].output[0], elem, None)], constants)
    return helper.make_model(graph, opset_imports=list(chain.model.opset_import), ir_version=chain.model.ir_version)
