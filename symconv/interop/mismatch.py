"""One layer against torch running it: the layer's map by its attributes compared entrywise
with torch's output, within a tolerance of the rounding of a sum (``rounding_tolerance``) or
exactly; an activation checked to act on each entry alone. The first difference is a
``TorchMismatch``."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SpecError
from ..result import Comparison, Counterexample
from .mlp import _affine, _parameters, _per_feature
from .steps import NetworkStep
from .torch_code import _float64, _torch

TORCH_SAMPLES = 3   # random integer inputs per comparison
TORCH_BATCHES = (1, 5, 16)   # the batch sizes of the comparison of the model itself, in its own dtype
TORCH_RANGE = 3     # their entries, and the integer weights of the exact check, lie in [−3, 3]
TORCH_RTOL = 1e-9   # float64 check: |torch − map| ≤ TORCH_RTOL·(|A|·|x| + |c|) entrywise


@dataclass(frozen=True, repr=False)
class TorchMismatch(Counterexample):
    """A layer whose output in torch differs from its map read from the module's attributes (the
    first differing entry, index (sample, *feature)); ``check`` says which comparison found it."""

    check: str = ""

    def __str__(self) -> str:
        return f"{super().__str__()}\n  found by: {self.check}"


def _step_map(step: NetworkStep, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(the layer's map by its attributes on the rows of v, a bound on the sum of |terms| of each
    output: |A|·|v| + |c|, the most terms an output sums) for a layer that is not elementwise."""
    if step.kind in ("flatten", "identity"):
        return v, np.zeros_like(v), 0
    params = _parameters(step, None)
    if step.kind == "batchnorm":
        s, t = _per_feature(step, params["scale"]), _per_feature(step, params["shift"])
        mean = _per_feature(step, _float64(step.module.running_mean) * params["scale"])
        return v * s + t, np.abs(v * s) + np.abs(t) + np.abs(mean), 3
    A, c, magnitudes, terms = _affine_bound(step, params)
    return v @ A.T + c, np.abs(v) @ magnitudes.T + np.abs(c), terms


Bound = tuple[np.ndarray, np.ndarray, np.ndarray, int]
MAPS: dict[tuple, Bound] = {}
"""``_affine_bound``'s results (other than Linear's) for the comparison running (torch_mismatch
clears it when done): one layer is compared up to seven times, and building a large A takes seconds.
The key holds the layer's kind, spec and exact weights, so a layer whose weights changed between
comparisons is built anew."""


def _affine_bound(step: NetworkStep, params: dict[str, Any]) -> Bound:
    """(A, c, the matrix whose product with |v| bounds the sum of |terms|, the most terms an output
    sums) of a conv, transposed conv, pool or linear layer with these parameters; kept in MAPS but
    for Linear (A is w: nothing to build, and hashing a large w would cost more than that)."""
    w, b = params["w"], params["b"]
    if step.kind == "linear":
        return _build_bound(step, params)
    key = (step.kind, step.spec, getattr(step.module, "output_padding", None), w.dtype.str, w.shape,
           w.tobytes(), None if b is None else b.tobytes())
    if key not in MAPS:
        MAPS[key] = _build_bound(step, params)
    return MAPS[key]


def _build_bound(step: NetworkStep, params: dict[str, Any]) -> Bound:
    A, c = _affine(step, params)
    terms = int((A != 0).sum(axis=1).max(initial=0)) + 1
    magnitudes = np.abs(A)
    if step.kind == "conv" and step.spec.padding_mode != "zeros":
        # an entry of T·R may sum several taps reading the same input (reflect, replicate, circular):
        # torch rounds each product, so the bound is Σ|w_k|·|x|, the map built from |w|, not |A|
        magnitudes = _affine(step, {"w": np.abs(params["w"]), "b": None})[0]
        terms = max(terms, step.spec.in_per_group * prod(step.spec.kernel_size) + 1)
    return A, c, magnitudes, terms


def _elementwise_mismatch(step: NetworkStep, v: Any, out: Any) -> TorchMismatch | None:
    """An activation must apply one function to each entry on its own: permute the entries of each
    sample and change half of them; every unchanged entry's output must move with it (relative
    tolerance max(TORCH_RTOL, 4·eps of the dtype) of the largest of output and input: vectorised and
    scalar code paths may differ in the last bits)."""
    rng = np.random.default_rng(1)
    flat = _float64(v.reshape(len(v), -1))
    order = rng.permutation(flat.shape[1])
    changed = rng.random(flat.shape) < 0.5
    moved = np.where(changed, flat + 1.0, flat)[:, order]
    torch = _torch()
    got = _float64(step.module(torch.as_tensor(moved).to(v.dtype).reshape(v.shape)).reshape(len(v), -1))
    got = got[:, np.argsort(order)]   # back to the original positions
    expected = _float64(out.reshape(len(v), -1))
    rtol = max(TORCH_RTOL, 4 * torch.finfo(v.dtype).eps)
    scale = np.maximum(np.maximum(np.abs(got), np.abs(expected)), np.abs(flat))   # σ(x) ≈ 0 for x < 0
    bad = ~changed & ~(np.abs(got - expected) <= rtol * scale)
    return (_mismatch(step, got, expected, bad, "an activation acts on each entry alone, with one function "
                      "(entries permuted, half of them changed)") if bad.any() else None)


def _mismatch(step: NetworkStep, got: np.ndarray, value: np.ndarray, bad: np.ndarray, check: str) -> TorchMismatch:
    n, j = (int(i) for i in np.argwhere(bad)[0])
    index = (n, *(int(i) for i in np.unravel_index(j, step.out_shape)))
    where = f"{step.position} ({type(step.module).__name__})"
    expected, obtained = sp.Float(float(got[n, j]), 17), sp.Float(float(value[n, j]), 17)
    return TorchMismatch(form="torch", index=index, expected=expected, obtained=obtained,
                         difference=expected - obtained, missing=(), extra=(),
                         compared=Comparison(f"{where} by its attributes", f"torch's {where}",
                                             r"(A x + c)_{@}", r"\mathrm{torch}(x)_{@}"),
                         check=check)


def _compare(step: NetworkStep, v: Any, out: Any, rtol: Any, check: str) -> TorchMismatch | None:
    """torch's output ``out`` of the layer on ``v`` against the layer's map (entrywise within
    rtol(terms)·bound, for ``rtol`` a number or a function of the most terms an output sums;
    rtol = 0 is exact equality); an activation is checked to act entrywise."""
    n = len(v)
    if tuple(out.shape[1:]) != step.out_shape:
        raise SpecError(step.position, type(step.module).__name__, f"torch gives outputs of shape "
                        f"{tuple(out.shape[1:])} per sample, its attributes say {step.out_shape}")
    if step.kind == "elementwise":
        return _elementwise_mismatch(step, v, out)
    value, bound, terms = _step_map(step, _float64(v.reshape(n, -1)))
    got = _float64(out.reshape(n, -1))
    bad = ~(np.abs(got - value) <= (rtol(terms) if callable(rtol) else rtol) * bound)   # NaN is bad too
    return _mismatch(step, got, value, bad, check) if bad.any() else None


def _exact_in_float64(step: NetworkStep) -> bool:
    """Integer weights and inputs keep the layer exact in float64: conv, transposed conv, linear,
    and pools whose weight 1/divisor is a power of two (a dyadic fraction)."""
    if step.kind == "avgpool":
        q = sp.Rational(step.pool_weight).q
        return q & (q - 1) == 0
    return step.kind in ("conv", "convtranspose", "linear")


def rounding_tolerance(dtype: Any) -> Any:
    """terms ↦ 2·γ_{terms+2} with γ_m = m·u/(1 − m·u), u = eps/2 of ``dtype``: a sum of m rounded
    products computed in floating point, in any order, is within γ_m·Σ|terms| of the exact sum
    (Higham, Accuracy and Stability of Numerical Algorithms, §3.1); the factor 2 and the two
    extra terms cover the bias and the rounding of a scale (BatchNorm's 1/√(v + ε), a pool's 1/k).

    >>> import torch; f"{rounding_tolerance(torch.float32)(9):.3g}"
    '1.31e-06'
    """
    u = _torch().finfo(dtype).eps / 2

    def tolerance(terms: int) -> float:
        m = terms + 2
        return 2 * m * u / (1 - m * u) if m * u < 1 else float("inf")

    return tolerance


def _run_layer(step: NetworkStep, layer: Any, v: Any) -> Any:
    """torch running ``layer`` on v; a torch error (attributes forged to disagree with the weights,
    …) becomes a SpecError naming the layer."""
    try:
        return layer(v)
    except (RuntimeError, TypeError, ValueError, IndexError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SpecError(step.position, type(step.module).__name__, f"torch cannot run the layer on inputs "
                        f"of shape {tuple(v.shape)} ({v.dtype}): {type(error).__name__}: {first} (its "
                        f"attributes disagree with its weights, or its tensors have mixed dtypes?)") from None
