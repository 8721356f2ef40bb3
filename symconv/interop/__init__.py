"""Whole networks: PyTorch conv layers and conv nets as FC layers and MLPs (torch is optional,
imported on first use).

Every linear layer of a network is an affine map of the flattened (row-major, NCHW) features,
vec(y) = A·vec(x) + c:

    Conv{1,2,3}d           A = T (the Toeplitz matrix, incl. the padding map), c = b ⊗ 1
    ConvTranspose{1,2,3}d  A = Tᵀ of the forward conv it transposes (weight, stride, padding,
                           dilation, groups shared; input size n = (m − 1)·s − 2p + d·(K − 1) + 1 +
                           output_padding for an input of size m), keeping the columns of T's
                           rows whose output lies inside m; c = b ⊗ 1
    AvgPool{1,2,3}d        a depthwise conv (groups = C) with every weight 1/divisor, no bias
                           (divisor_override, or ∏K; count_include_pad=False only without padding
                           or with divisor_override; ceil_mode=True only where it gives floor
                           mode's output size, i.e. no window overhangs)
    AdaptiveAvgPool{1,2,3}d  on an axis with input n and output m where m divides n, the windows
                           [⌊i·n/m⌋, ⌈(i+1)·n/m⌉) are all [i·n/m, (i+1)·n/m): AvgPool with
                           kernel = stride = n/m; otherwise their widths or steps vary (refused)
    Linear                 A = W, c = b
    BatchNorm (eval)       A = diag(s ⊗ 1), c = (β − μ·s) ⊗ 1 with s = γ/√(var + ε); folded into
                           the affine map before it when there is one: s·A, s·c + (β − μ·s)
    Flatten, Identity, Dropout (eval)   the identity on vec (row-major flattening is vec)

and an elementwise activation σ commutes with flattening. So a Sequential of these is an MLP:
Flatten, then Linear/activation layers. Anything else (max pooling, softmax, Dropout in training
mode, …) is refused with a SpecError naming the layer, its position and the rule.

The table is about torch's own classes, so only they are read: a layer must be exactly that class
(``type(m) is nn.Conv2d``; a subclass may compute something else in its ``forward``, a class that
is only named ReLU is not ReLU), with no instance attribute replacing one of its methods, no hook
(forward, forward-pre, backward, backward-pre; nor torch's global module hooks), no parametrization
and no weight_norm/spectral_norm; containers are walked only when exactly ``nn.Sequential``.
``prove_network`` then compares each layer's map with what torch computes (``torch_mismatch``).

The package, one job per module:

    torch_code      torch as symconv first saw it: the known classes, the snapshot of torch's code
    unaltered       refusing altered modules, hooks, torch modes and foreign torch code
    specs           torch layers as ConvSpecs (conv, transposed conv, pools); valid_shape
    steps           reading the network: one NetworkStep per layer, with its shapes
    mlp             each layer's affine map (A, c), nn.Linear modules holding one
    mismatch        one layer against torch running it (TorchMismatch, rounding_tolerance)
    torch_check     the whole model against torch (torch_mismatch)
    convert         to_linear, to_mlp: checked against torch as prove_network checks, then built
    network_proof   the symbolic proof network(x) = MLP(vec x) (prove_network)
    networks        a network from torch or ONNX: its steps and its check (read_network)
    onnx_chain      ONNX input: loading a ModelProto or a .onnx path, the graph as a single chain
    onnx_steps      the ONNX ops as NetworkSteps (the table above in ONNX's words)
    onnx_network    an ONNX model read on a per-sample input shape (read_onnx)
    onnx_check      the ONNX model against onnxruntime running it (onnx_mismatch)
    onnx_graph      the MLP as an ONNX graph (Flatten, Gemm, activations, Reshape; dense or sparse)
    onnx_export     to_onnx: the MLP written as an ONNX file, checked, atomically; run_onnx
    certificate     why the file is the network: each layer's proof, the file's exact matrices,
                    the network proof and onnxruntime against torch (certificate, certificate_json)

``to_mlp``, ``to_onnx`` and ``prove_network`` also take an ONNX model (an ``onnx.ModelProto`` or the path of a
.onnx file): a chain of Conv, ConvTranspose, AveragePool, GlobalAveragePool, BatchNormalization,
Gemm, MatMul, Add (a bias), Relu, Sigmoid, Tanh, LeakyRelu, Flatten and Reshape, read by
``onnx_steps`` into the same steps, and checked against onnxruntime running the original model in
place of torch.

``Step``, the old name of ``NetworkStep``, still imports from here with a DeprecationWarning
(for one release: symconv.general has its own ``Step``, one step of a derivation).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from .certificate import Certificate, LayerCertificate, certificate, certificate_json
from .convert import to_linear, to_mlp
from .mismatch import TORCH_BATCHES, TORCH_RANGE, TORCH_RTOL, TORCH_SAMPLES, TorchMismatch, rounding_tolerance
from .mlp import mlp_layers, paper_network
from .network_proof import NETWORK_STATEMENT, NetworkProof, prove_network, run_mlp
from .onnx_export import MAX_ONNX_BYTES, OnnxExport, run_onnx, to_onnx
from .specs import MAX_FEATURES, spec_of, transposed_of, valid_shape
from .steps import MAX_DENSE_ENTRIES, NOT_LINEAR_RULE, NetworkStep, network_steps
from .torch_check import torch_mismatch
from .torch_code import ELEMENTWISE, FORWARD_METHODS, FUNCTIONAL
from .unaltered import GLOBAL_HOOKS, HOOKS, refuse_foreign_code

__all__ = ["to_linear", "to_mlp", "to_onnx", "OnnxExport", "run_onnx", "MAX_ONNX_BYTES", "certificate",
           "certificate_json", "Certificate", "LayerCertificate", "prove_network", "NetworkProof",
           "NETWORK_STATEMENT", "torch_mismatch",
           "TorchMismatch", "rounding_tolerance", "refuse_foreign_code", "network_steps", "NetworkStep",
           "mlp_layers", "run_mlp", "spec_of", "transposed_of", "valid_shape", "paper_network", "ELEMENTWISE",
           "NOT_LINEAR_RULE", "HOOKS", "GLOBAL_HOOKS", "FORWARD_METHODS", "FUNCTIONAL", "MAX_FEATURES",
           "MAX_DENSE_ENTRIES", "TORCH_SAMPLES", "TORCH_BATCHES", "TORCH_RANGE", "TORCH_RTOL"]

DEPRECATED = {"Step": "NetworkStep"}   # old name: new name, kept for one release


def __getattr__(name: str) -> Any:
    if name in DEPRECATED:
        new = DEPRECATED[name]
        # ``from symconv.interop import Step`` looks the name up twice: importlib's hasattr probe of
        # the from-list, then the import itself; the probe stays silent, so the warning comes once
        if sys._getframe(1).f_code.co_name == "_handle_fromlist":
            return globals()[new]
        warnings.warn(f"symconv.interop.{name} is deprecated, use symconv.interop.{new} (symconv.general "
                      f"has its own Step); the old name goes in the next release", DeprecationWarning,
                      stacklevel=2)
        return globals()[new]
    raise AttributeError(f"module 'symconv.interop' has no attribute {name!r}")

