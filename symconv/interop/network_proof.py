"""The symbolic proof network(x) = MLP(vec x) (``prove_network``): every weight, bias,
BatchNorm statistic and input a symbol, each activation an undefined elementwise function σ_ℓ."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from math import prod
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SpecError, integer, one_of, work_limit
from ..forms.definition import conv
from ..forms.entries import exact_matrix
from ..forms.transpose import conv_transpose
from ..result import Counterexample, NetworkResult, first_entry_difference
from ..symbols import tensor_symbols
from .mlp import _parameters, mlp_layers
from .networks import read_network
from .steps import NetworkStep

NETWORK_STATEMENT = "network(x) = MLP(vec x) (Linear + elementwise σ)"


@dataclass(frozen=True, repr=False)
class NetworkProof(NetworkResult):
    """network(x) = mlp(vec x) for symbolic x and parameters, activations undefined functions σ_ℓ;
    prints itself (``to_latex``, ``_repr_latex_``, a one-line repr) like every symconv result."""

    statement: str
    layers: tuple[str, ...]
    holds: bool
    counterexample: Counterexample | None
    outputs: int
    timings: dict[str, float] = field(default_factory=dict)

    def setting(self) -> str:
        return " → ".join(self.layers)

    def summary(self) -> str:
        verdict = "PROVED" if self.holds else "REFUTED"
        line = (f"{verdict}: {self.statement} [{self.setting()}; {self.outputs} outputs, "
                f"{sum(self.timings.values()):.3f} s]")
        return line if self.holds else f"{line}\n{self.counterexample}"


def _activation(number: int) -> Any:
    """σ_ℓ: an undefined SymPy function applied elementwise."""
    return np.vectorize(sp.Function(f"sigma_{number}"), otypes=[object])


def _network_definition(steps: list[NetworkStep], x: np.ndarray) -> np.ndarray:
    """The network by each layer's own definition, on symbols (the reference side)."""
    for number, step in enumerate(steps, start=1):
        p = _parameters(step, number)
        if step.kind in ("conv", "avgpool"):
            x = conv(step.spec, x, p["w"], p["b"])
        elif step.kind == "convtranspose":  # the scatter definition, not Tᵀ
            x = conv_transpose(step.spec, x, p["w"], step.module.output_padding)
            x = x + (p["b"].reshape(-1, *[1] * (x.ndim - 1)) if p["b"] is not None else 0)
        elif step.kind == "linear":
            x = np.dot(p["w"], x) + (p["b"] if p["b"] is not None else 0)
        elif step.kind == "batchnorm":
            x = x * p["scale"].reshape(-1, *[1] * (x.ndim - 1)) + p["shift"].reshape(-1, *[1] * (x.ndim - 1))
        elif step.kind == "flatten":
            x = x.reshape(-1)
        elif step.kind == "elementwise":
            x = _activation(number)(x)
    return x.reshape(-1)


def _valid_layers(layers: Any, features: int) -> list[tuple[str, Any, Any]]:
    """``layers=`` of prove_network, for ``features`` inputs: a list of ("affine", A, c) with A 2-D,
    as many columns as the layer before has outputs, and c 1-D with one entry per row of A, and
    ("elementwise", step, ℓ) with ℓ an int; else SpecError naming the entry. Every entry of A and c
    goes through ``exact_entry``, as prove's supplied matrices do: a number or a SymPy expression
    (text is never evaluated, a float only with an integer value, converted exactly), so the
    comparison is of canonical polynomials, never of objects whose ``==`` or arithmetic could lie.

    >>> _valid_layers([("affine", [[1, 0.5]], [0])], 2)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: layers[0][1][0, 1]=0.5: a float is accepted only with an integer value: it is a
    binary fraction, rarely the number meant (0.1 ≠ 1/10); write fractions.Fraction or sympy.Rational
    """
    if not isinstance(layers, (list, tuple)):
        raise SpecError("layers", type(layers).__name__, "must be a list like mlp_layers(...) returns")
    valid: list[tuple[str, Any, Any]] = []
    for i, layer in enumerate(layers):
        ok = type(layer) is tuple and len(layer) == 3
        if ok:   # symconv's own string from here on: a str subclass's "==" may answer anything
            layer = (one_of(f"layers[{i}][0]", layer[0], ("affine", "elementwise")), *layer[1:])
        if ok and layer[0] == "affine":
            A, c = _exact_array(f"layers[{i}][1]", layer[1]), _exact_array(f"layers[{i}][2]", layer[2])
            ok = A.ndim == 2 and c.shape == (A.shape[0],)
            if ok and A.shape[1] != features:
                raise SpecError(f"layers[{i}][1].shape", A.shape, f"must have {features} columns, the "
                                f"features the layer before it gives")
            layer, features = ("affine", A, c), (A.shape[0] if ok else features)
        elif ok:
            layer = ("elementwise", layer[1], integer(f"layers[{i}][2]", layer[2], minimum=0))
        if not ok:
            raise SpecError(f"layers[{i}]", repr(layer)[:80], "must be ('affine', A (2-D), c (1-D, one per "
                            "row of A)) or ('elementwise', step, layer number)")
        valid.append(layer)
    return valid


def _exact_array(parameter: str, value: Any) -> np.ndarray:
    """``value`` as an object array of exact entries (``exact_matrix``; a SymPy matrix too)."""
    exact = exact_matrix(parameter, value)
    return np.array(exact.tolist(), dtype=object) if isinstance(exact, sp.MatrixBase) else exact


def run_mlp(layers: list[tuple[str, Any, Any]], v: np.ndarray) -> np.ndarray:
    """vec(x) through the MLP layers (A·v + c, σ_ℓ elementwise), on symbols."""
    for kind, A, c in layers:
        v = np.dot(A, v) + c if kind == "affine" else _activation(c)(v)
    return v


MAX_NETWORK_TERMS = 2_000_000
"""The most dense-matrix entries (summed over the linear layers) a symbolic network proof multiplies
by default: about 30 µs each in SymPy, so about a minute at the limit; ``max_terms`` raises it."""


def symbolic_entries(steps: list[NetworkStep]) -> int:
    """Σ over the linear layers (conv, transposed conv, pool, linear, and a BatchNorm, whose
    diagonal map is held dense too) of rows × columns of their dense maps: the symbolic products
    the proof's MLP multiplies out."""
    return sum(prod(s.in_shape) * prod(s.out_shape) for s in steps
               if s.kind in ("conv", "convtranspose", "avgpool", "linear", "batchnorm"))


def prove_network(model: Any, input_shape: tuple[int, ...], layers: list | None = None, *,
                  max_terms: int = MAX_NETWORK_TERMS) -> NetworkProof:
    """Prove model(x) = to_mlp(model)(x) on symbols: x, every weight, bias and BatchNorm statistic
    symbolic, each activation an undefined elementwise function σ_ℓ (so the proof holds for any
    activation). Entries are compared as canonical expanded forms (expansion reaches inside σ's
    argument, so σ(p) = σ(q) is decided as p = q). ``layers`` replaces the MLP (see ``mlp_layers``).

    The symbolic proof is about each layer's map as read from its attributes; that this map is
    what torch computes is checked first (``torch_mismatch``: only unaltered torch classes are
    accepted, then each layer is compared with torch running it, exactly where float64 is exact).
    A difference there refutes the proof with a ``TorchMismatch`` naming the layer. A network whose
    linear layers have more than ``max_terms`` dense entries in all (``symbolic_entries``) is
    refused before any work: a symbolic proof of it would run for hours.

    ``model`` may also be an ONNX model (an ``onnx.ModelProto`` or the path of a .onnx file): its
    steps are read from the nodes (``onnx_steps``) and checked against onnxruntime running the
    original model (``onnx_mismatch``) in place of torch."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    network = read_network(model, input_shape)
    steps, input_shape = network.steps, network.input_shape
    work_limit("max_terms", max_terms, symbolic_entries(steps), "input_shape", tuple(input_shape),
               "a symbolic network proof multiplies {} dense-matrix entries (Σ rows × columns of the linear layers)")
    layer_names = network.layer_names
    mismatch = network.check()
    timings[network.framework] = time.perf_counter() - start
    if mismatch is not None:
        return NetworkProof(statement=NETWORK_STATEMENT, layers=layer_names,
                            holds=False, counterexample=mismatch,
                            outputs=prod(steps[-1].out_shape) if steps else prod(input_shape), timings=timings)
    start = time.perf_counter()
    x = tensor_symbols("x", tuple(input_shape))
    expected = _network_definition(steps, x)
    mlp = mlp_layers(steps, symbolic=True) if layers is None else _valid_layers(layers, x.size)
    obtained = run_mlp(mlp, x.reshape(-1))
    timings["build"] = time.perf_counter() - start
    start = time.perf_counter()
    found = first_entry_difference("mlp", expected, obtained)
    timings["mlp"] = time.perf_counter() - start
    return NetworkProof(statement=NETWORK_STATEMENT, layers=layer_names, holds=found is None,
                        counterexample=found, outputs=len(expected), timings=timings)
