"""The certificate of an ONNX MLP export (``certificate``): why the file ``to_onnx`` wrote computes
what the network computes, layer by layer and as a whole.

For each affine layer ℓ of the MLP (one Gemm in the file, vec(y) = A·vec(x) + c):

1. **the matrix is the layer**, proved on symbols: for a conv or an average pool (a depthwise conv)
   the concrete proof ``prove(spec)`` that conv(x, w, b) = T(w)·vec(x) + b ⊗ 1 at the layer's own
   ConvSpec, with every weight and input a symbol; for a transposed conv ``prove_transpose`` of the
   forward conv it transposes (Tᵀ·vec(g) = the scatter definition); for a layer whose concrete
   proof would expand more than ``max_terms`` monomials, the all-sizes theorem
   (``prove_general("toeplitz" | "transpose", dims, padding_mode=…)``) with the layer's sizes
   substituted into its symbols and each of its hypotheses evaluated there (``instance``); a
   Linear layer is its own weight (nothing to prove). ``method`` says which was used.
2. **the file holds that matrix at the model's weights**: A and c are read back from the written
   file (a sparse constant densified) and compared entrywise, exactly, with T at the model's
   weights as symconv's form builds it (``mlp_layers``, the construction proved in 1): equal in
   float64 (``exact``), or equal to it rounded to the file's element type (``equal``; a float32
   file of a BatchNorm-folded or reflect-padded layer rounds sums and products). A layer holds only
   when the file's A and c are the layer's exactly: equal only after rounding, the file holds the
   layer's matrix rounded to its element type, not the layer, and the certificate does not hold.

The whole file: the certificate rebuilds the ONNX model ``to_onnx`` writes for this model and the
export's settings (element type, storage, opset, input shape; the same ``export_proto``) and
requires the file's bytes to be identical to it (``graph_difference`` names the first differing
node or tensor otherwise): every operator, attribute (an activation's parameters), edge and tensor.

For the whole network: ``torch_mismatch`` (``onnx_mismatch`` for an ONNX model) is run again on the
model given to ``certificate`` (as ``to_onnx`` runs it) and its result recorded;
``prove_network`` proves network(x) = MLP(vec x) on symbols when the network is small enough
(``network_note`` says why not otherwise); and onnxruntime runs the written file against the original
model on random inputs (``RuntimeComparison``: numerical, entry by entry
|y_file − y_model| ≤ rtol·max(1, |y_model|)).

JSON (``certificate_json``; schema "symconv.certificate/1")::

    {"schema": "symconv.certificate/1", "holds": bool, "model": str,
     "input_shape": [int], "output_shape": [int],
     "file": {"path": str, "bytes": int, "estimate": int, "sparse": bool, "dtype": str,
              "opset": int, "ops": [str], "graph_difference": str | null},
     "layers": [{"layer": ℓ, "network_layers": [str], "kind": str, "rows": int, "cols": int,
                 "nonzeros": int, "method": "concrete" | "all sizes" | "weight",
                 "statement": str | null, "proved": bool | null, "instance": {str: int} | null,
                 "matrix_equal": bool, "matrix_exact": bool, "bias_equal": bool, "bias_exact": bool,
                 "holds": bool}],
     "network": {"framework_check": {"framework": "torch" | "onnxruntime", "passed": bool,
                                     "note": str | null},
                 "symbolic": {"holds": bool | null, "note": str},
                 "onnxruntime": {"samples": int, "max_abs_difference": float,
                                 "tolerance": float, "max_relative_difference": float, "holds": bool} | null}}
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SpecError, integer
from .convert import _refuse_mismatch
from .mlp import _dtype, mlp_layers
from .network_proof import NetworkProof, prove_network, symbolic_entries
from .networks import read_network
from .onnx_export import OnnxExport, export_proto, run_onnx
from .onnx_identity import graph_difference_of
from .torch_code import _torch

MAX_CONCRETE_TERMS = 2_000_000
"""The most monomials a layer's concrete proof expands (``spec.n_terms``, a few seconds with the
exact backend); a larger layer gets the all-sizes theorem at its sizes."""
RUNTIME_SAMPLES = 8
RUNTIME_RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-10}
"""onnxruntime against torch, entry by entry: |difference| ≤ rtol·max(1, |torch output|) (a
numerical check: the two sum in different orders)."""
NETWORK_TERMS = 10_000
"""The default ``network_terms`` of ``certificate``: ``prove_network`` multiplies symbolic matrices
whose entries grow layer by layer (measured: 3 942 dense entries 5 s, 34 848 entries 98 s)."""
SCHEMA = "symconv.certificate/1"
LINEAR_KINDS = ("conv", "convtranspose", "avgpool", "linear")


@dataclass(frozen=True)
class LayerCertificate:
    """Affine layer ℓ of the MLP: the network layers it holds (a BatchNorm folds into the layer
    before it), how its matrix was proved to be the layer, and the exact check of the file."""

    number: int
    steps: tuple[Any, ...]
    method: str                      # concrete | all sizes | weight
    proof: Any                       # ConvProof, TransposeProof, Derivation or None
    instance: dict[str, int] | None  # the all-sizes theorem's symbols at this layer
    instance_holds: bool | None      # every hypothesis of the theorem true at the instance
    shape: tuple[int, int]
    nonzeros: int
    matrix_equal: bool
    matrix_exact: bool
    bias_equal: bool
    bias_exact: bool

    @property
    def kind(self) -> str:
        return self.steps[0].kind

    @property
    def names(self) -> tuple[str, ...]:
        """The network layers it holds: "position Class" of a torch layer, the position of an ONNX
        node (it names the op)."""
        return tuple(step.position if hasattr(step.module, "op_type") else f"{step.position} "
                     f"{type(step.module).__name__}" for step in self.steps)

    @property
    def statement(self) -> str | None:
        """What its proof states: the concrete statement, or the all-sizes theorem's title."""
        if self.proof is None:
            return None
        return str(self.proof.statement) if self.method == "concrete" else self.proof.title

    @property
    def proved(self) -> bool | None:
        if self.proof is None:
            return None
        return bool(self.proof.holds) and self.instance_holds is not False

    @property
    def holds(self) -> bool:
        """Proved (or a weight) and the file's A and c are the layer's exactly: equal only after
        rounding to the file's element type is the rounded layer, not the layer."""
        return self.proved is not False and self.matrix_exact and self.bias_exact


@dataclass(frozen=True)
class RuntimeComparison:
    """The written file in onnxruntime against the torch model on ``samples`` random inputs:
    ``max_relative_difference`` = max over output entries of |y_file − y_model| / max(1, |y_model|),
    which must be at most ``tolerance`` (rtol)."""

    samples: int
    max_abs_difference: float
    max_relative_difference: float
    tolerance: float

    @property
    def holds(self) -> bool:
        return self.max_relative_difference <= self.tolerance


@dataclass(frozen=True)
class Certificate:
    """Everything ``certificate`` established about one export (module docstring)."""

    model: str
    export: OnnxExport
    layers: tuple[LayerCertificate, ...]
    network: NetworkProof | None
    network_note: str
    runtime: RuntimeComparison | None
    ops: tuple[str, ...]
    graph_difference: str | None    # None: the file is byte for byte the model to_onnx builds
    framework_failure: str | None   # None: the framework check passed on the model given

    @property
    def holds(self) -> bool:
        return (self.graph_difference is None and self.framework_failure is None
                and all(layer.holds for layer in self.layers) and (self.network is None or self.network.holds)
                and (self.runtime is None or self.runtime.holds))

    def summary(self) -> str:
        verdict = "PROVED" if self.holds else "REFUTED"
        methods = ", ".join(f"ℓ={layer.number} {layer.method}" for layer in self.layers)
        network = ("network = MLP proved on symbols" if self.network is not None and self.network.holds
                   else self.network_note)
        failures = [f"the file differs from the export of the model: {self.graph_difference}"] \
            if self.graph_difference else []
        failures += [f"framework check: {self.framework_failure}"] if self.framework_failure else []
        failures += [f"ℓ={layer.number}: the file holds the layer's matrix rounded to {self.export.dtype}, not the "
                     "layer" for layer in self.layers if layer.matrix_equal and not layer.matrix_exact]
        return f"{verdict}: {self.export.path} is the MLP of {self.model} [{methods}; {network}]" + \
            "".join(f"; {failure}" for failure in failures)


def _groups(steps: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """The network steps behind each affine layer of ``mlp_layers``: a linear step starts one, a
    BatchNorm joins the affine layer just before it (else stands alone), an activation ends one."""
    groups: list[list[Any]] = []
    open_affine = False
    for step in steps:
        if step.kind in LINEAR_KINDS or step.kind == "batchnorm" and not open_affine:
            groups.append([step])
        elif step.kind == "batchnorm":
            groups[-1].append(step)
        open_affine = step.kind in (*LINEAR_KINDS, "batchnorm") or open_affine and step.kind != "elementwise"
    return [tuple(group) for group in groups]


def _instance(spec: Any) -> dict[str, int]:
    """The symbols of the all-sizes theorems (``symbols_for``) at ``spec``: groups G, channels per
    group Ci, Co, and per axis a input n_a, kernel k_a, stride s_a, dilation d_a, padding before p_a
    and after q_a, output m_a."""
    values = {"G": spec.groups, "Ci": spec.in_channels // spec.groups, "Co": spec.out_channels // spec.groups}
    for a, (n, k, s, d, (p, q), m) in enumerate(zip(spec.input_size, spec.kernel_size, spec.stride,
                                                    spec.dilation, spec.padding, spec.output_size), start=1):
        values.update({f"n_{a}": n, f"k_{a}": k, f"s_{a}": s, f"d_{a}": d, f"p_{a}": p, f"q_{a}": q,
                       f"m_{a}": m})
    return values


def _hypotheses_hold(derivation: Any, instance: dict[str, int]) -> bool:
    """Every hypothesis of ``derivation`` about sizes only (no index symbol), evaluated exactly at
    ``instance``, is true."""
    for hypothesis in derivation.hypotheses:
        symbols = {s.name: s for s in hypothesis.free_symbols}
        if set(symbols) <= set(instance) and \
                hypothesis.xreplace({s: sp.Integer(instance[n]) for n, s in symbols.items()}) is not sp.true:
            return False
    return True


def _layer_proof(step: Any, max_terms: int, theorems: dict) -> tuple[str, Any, dict | None, bool | None]:
    """(method, proof, instance, instance holds) for the first step of an affine layer."""
    from ..forms.transpose import prove_transpose, transposed_spec
    from ..general import prove_general
    from ..proof import prove
    if step.kind == "linear":
        return "weight", None, None, None
    spec = (transposed_spec(step.spec, step.module.output_padding) if step.kind == "convtranspose"
            else step.spec)
    if spec.n_terms + spec.n_bias_terms <= max_terms:
        proof = (prove_transpose(spec, max_terms=max_terms) if step.kind == "convtranspose"
                 else prove(spec))
        return "concrete", proof, None, None
    key = ("transpose" if step.kind == "convtranspose" else "toeplitz", len(spec.input_size),
           spec.padding_mode)
    if key not in theorems:  # one derivation per theorem, dims and padding mode: it holds for all sizes
        options = {} if key[0] == "transpose" else {"padding_mode": spec.padding_mode}
        theorems[key] = prove_general(key[0], dims=key[1], **options)
    instance = _instance(spec)
    return "all sizes", theorems[key], instance, _hypotheses_hold(theorems[key], instance)


def _file_tensors(path: Any) -> dict[str, np.ndarray]:
    """Every initializer and Constant value of the ONNX file, as NumPy arrays (sparse densified)."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(str(path))
    tensors = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            (attribute,) = node.attribute
            tensors[node.output[0]] = _densify(attribute.sparse_tensor) if attribute.name == "sparse_value" \
                else numpy_helper.to_array(attribute.t)
    return tensors


def _densify(coo: Any) -> np.ndarray:
    from onnx import numpy_helper
    values, indices = numpy_helper.to_array(coo.values), numpy_helper.to_array(coo.indices)
    dense = np.zeros(prod(coo.dims), dtype=values.dtype)
    dense[indices.reshape(-1) if indices.ndim == 1 else np.ravel_multi_index(indices.T, tuple(coo.dims))] = values
    return dense.reshape(tuple(coo.dims))


def _same(written: np.ndarray | None, built: np.ndarray, dtype: np.dtype) -> tuple[bool, bool]:
    """(equal to ``built`` rounded to ``dtype``, equal to ``built`` in float64), exactly; a tensor
    missing from the file (None) is neither."""
    if written is None or written.shape != built.shape:
        return False, False
    exact = bool(np.array_equal(written.astype(np.float64), built))
    return exact or bool(np.array_equal(written, built.astype(dtype))), exact


def _reference(model: Any, export: OnnxExport, x: np.ndarray) -> np.ndarray:
    """The original model on the batch x, in float64: torch running it, or onnxruntime running an
    ONNX model (in chunks of the batch size its input declares)."""
    from .onnx_chain import is_onnx_model
    if is_onnx_model(model):
        from .onnx_check import _run, _session
        from .onnx_network import read_onnx
        original = read_onnx(model, export.input_shape)
        session = _session(original.chain.model)
        inputs = x.astype(original.chain.dtype)
        return _run(session, original.chain.input_name, inputs, original.batch)[0].astype(np.float64)
    torch = _torch()
    with torch.no_grad():
        return model(torch.as_tensor(x).to(_dtype(model))).to(torch.float64).numpy()


def _runtime(model: Any, export: OnnxExport, seed: int) -> RuntimeComparison:
    """The written file in onnxruntime against the original model (``_reference``), on
    RUNTIME_SAMPLES inputs in [−1, 1)."""
    x = np.random.default_rng(seed).uniform(-1, 1, size=(RUNTIME_SAMPLES, *export.input_shape))
    expected = _reference(model, export, x)
    obtained = run_onnx(export.path, x).astype(np.float64)
    if obtained.shape != expected.shape:
        return RuntimeComparison(RUNTIME_SAMPLES, float("inf"), float("inf"), RUNTIME_RTOL[export.dtype])
    difference = np.abs(obtained - expected)
    relative = difference / np.maximum(1.0, np.abs(expected))
    return RuntimeComparison(RUNTIME_SAMPLES, float(difference.max(initial=0.0)), float(relative.max(initial=0.0)),
                             RUNTIME_RTOL[export.dtype])


def certificate(model: Any, export: OnnxExport, *, max_terms: int = MAX_CONCRETE_TERMS,
                network_terms: int = NETWORK_TERMS, seed: int = 0) -> Certificate:
    """The certificate of ``export`` (what ``to_onnx(model, …)`` returned): per affine layer the
    proof that its matrix is the layer and the exact comparison with the file, then the network as
    a whole (module docstring). Layers with more than ``max_terms`` monomials get the all-sizes
    theorem; ``prove_network`` runs when the network's dense entries are at most ``network_terms``.

    >>> import tempfile, torch
    >>> from symconv.interop import to_onnx
    >>> net = torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3, padding=1, padding_mode="circular"), torch.nn.ReLU())
    >>> with tempfile.TemporaryDirectory() as d:
    ...     verdict, _, what = certificate(net, to_onnx(net, (1, 5), f"{d}/net.onnx")).summary().partition(": ")
    >>> verdict, what.split(" is ")[1]
    ('PROVED', 'the MLP of Sequential [ℓ=1 concrete; network = MLP proved on symbols]')
    """
    import onnx
    max_terms = integer("max_terms", max_terms, minimum=1)
    network_terms = integer("network_terms", network_terms, minimum=1)
    network, framework_failure = _same_network(model, export)
    steps = tuple(network.steps)
    tensors = _file_tensors(export.path)
    # A and c at the model's weights now, by the construction the proofs are about
    built = mlp_layers(list(steps))
    graph_difference = graph_difference_of(export_proto(network, built, export.dtype, export.sparse,
                                                        export.opset)[0], export.path)
    numbered = [(number, A, c) for number, (kind, A, c) in enumerate(built, start=1) if kind == "affine"]
    del built
    theorems: dict = {}
    layers = []
    for group, (number, A, c) in zip(_groups(steps), numbered, strict=True):
        method, proof, instance, instance_holds = _layer_proof(group[0], max_terms, theorems)
        equal, exact = _same(tensors.get(f"W{number}"), A, export.dtype)
        bias_equal, bias_exact = _same(tensors.get(f"b{number}"), c, export.dtype)
        layers.append(LayerCertificate(number, group, method, proof, instance, instance_holds, A.shape,
                                       int(np.count_nonzero(A)), equal, exact, bias_equal, bias_exact))
        del A, c
    entries = symbolic_entries(list(steps))
    network_proof, note = None, (f"the symbolic network proof is not run: {entries} dense entries, more than "
                           f"network_terms={network_terms}")
    if entries <= network_terms:
        network_proof = prove_network(model, export.input_shape, max_terms=network_terms)
        note = "network = MLP " + ("proved" if network_proof.holds else "refuted") + " on symbols (prove_network)"
    ops = tuple(dict.fromkeys(node.op_type for node in onnx.load(str(export.path)).graph.node))
    return Certificate(_model_name(model), export, tuple(layers), network_proof, note,
                       _runtime(model, export, seed), ops, graph_difference, framework_failure)


def _same_network(model: Any, export: OnnxExport) -> tuple[Any, str | None]:
    """(``model`` read again, None or why the framework check that ``to_onnx`` runs fails on it now),
    or SpecError when ``export`` was written from another network."""
    network = read_network(model, export.input_shape)
    if network.layer_names != export.layer_names:
        raise SpecError("export", str(export.path), f"was written from the layers {export.layer_names}, "
                        f"but the model has {network.layer_names}")
    try:
        _refuse_mismatch("model", model, network)
    except SpecError as failure:
        return network, str(failure)
    return network, None


def _model_name(model: Any) -> str:
    """A torch model's class, an ONNX file's name, or an ONNX ModelProto's graph name."""
    import os
    if isinstance(model, (str, os.PathLike)):
        return os.path.basename(os.fspath(model))
    if type(model).__name__ == "ModelProto":
        return model.graph.name or "ModelProto"
    return type(model).__name__


def certificate_json(cert: Certificate) -> dict[str, Any]:
    """The certificate as JSON (schema in the module docstring)."""
    export = cert.export
    layers = [{"layer": layer.number, "network_layers": list(layer.names), "kind": layer.kind,
               "rows": layer.shape[0], "cols": layer.shape[1], "nonzeros": layer.nonzeros,
               "method": layer.method, "statement": layer.statement, "proved": layer.proved,
               "instance": layer.instance, "matrix_equal": layer.matrix_equal,
               "matrix_exact": layer.matrix_exact, "bias_equal": layer.bias_equal, "bias_exact": layer.bias_exact,
               "holds": layer.holds}
              for layer in cert.layers]
    runtime = None if cert.runtime is None else {
        "samples": cert.runtime.samples, "max_abs_difference": cert.runtime.max_abs_difference,
        "tolerance": cert.runtime.tolerance, "max_relative_difference": cert.runtime.max_relative_difference,
        "holds": cert.runtime.holds}
    return {"schema": SCHEMA, "holds": cert.holds, "model": cert.model,
            "input_shape": list(export.input_shape), "output_shape": list(export.output_shape),
            "file": {"path": str(export.path), "bytes": export.bytes, "estimate": export.estimate,
                     "sparse": export.sparse, "dtype": str(export.dtype), "opset": export.opset, "ops": list(cert.ops),
                     "graph_difference": cert.graph_difference},
            "layers": layers,
            "network": {"framework_check": {"framework": export.framework, "passed": cert.framework_failure is None,
                                                      "note": cert.framework_failure}, "symbolic": {
                "holds": None if cert.network is None else cert.network.holds, "note": cert.network_note},
                "onnxruntime": runtime}}
