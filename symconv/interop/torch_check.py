"""The whole model against torch (``torch_mismatch``): a float64 copy layer by layer, model(x)
against its layers one after the other, integer copies where float64 is exact, and the model
itself in its own dtype; then the code torch runs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from .mismatch import (
    MAPS,
    TORCH_BATCHES,
    TORCH_RANGE,
    TORCH_RTOL,
    TORCH_SAMPLES,
    TorchMismatch,
    _compare,
    _exact_in_float64,
    _run_layer,
    rounding_tolerance,
)
from .mlp import _dtype
from .specs import valid_shape
from .steps import NetworkStep, network_steps
from .torch_code import _torch
from .unaltered import _children, refuse_foreign_code


def torch_mismatch(model: Any, input_shape: tuple[int, ...], steps: list[NetworkStep] | None = None,
                   seed: int = 0) -> TorchMismatch | None:
    """The first place where torch computes something else than the layers' maps, or None.

    Three comparisons on TORCH_SAMPLES random integer inputs in [−3, 3] (NumPy seed ``seed``),
    then a fourth on the model itself, and a check of the code it runs:

    1. float64, the model's own weights (a float64 copy of the model): each layer's output in
       torch, on the input torch gave it, against its map A·v + c by its attributes, within
       TORCH_RTOL·(|A|·|v| + |c|) entrywise (float64 rounding of a sum of m terms is at most
       m·2⁻⁵³ times that bound, far below 10⁻⁹ for any layer that fits in memory);
    2. exactly: ``model(x)`` against the layers run one after the other (what nn.Sequential's
       forward is; the same torch calls, so bitwise equal);
    3. exactly: each conv, transposed conv, linear layer and pool with a power-of-two divisor on a
       copy whose weights and biases are integers in [−3, 3] and integer inputs, where every
       product and partial sum is an integer (a dyadic fraction for pools) far below 2⁵³, so
       float64 arithmetic is exact in any summation order and the outputs compare with ==.

    4. the model itself, not a copy, in its own dtype with autograd on and off, on non-integer
       inputs of batch sizes TORCH_BATCHES = (1, 5, 16) (``_own_dtype_mismatch``, within
       ``rounding_tolerance``): what the model computes in use, not only what a float64 copy computes;

    and finally ``refuse_foreign_code``: a class method or functional op that is not torch's own
    code, a swapped module global ``F``, or any torch function, class method or module replaced
    since symconv.interop first used torch is refused with a SpecError even when every comparison
    passed (it may hide from them). Residual limit: a patch made before symconv first used torch
    that forges its code's file name and globals, or is C code, and that hides from all four
    comparisons (e.g. wrong only for batches above 16 or after some number of calls) is not found.

    Not exact: BatchNorm (γ/√(v + ε) is irrational) and pools with other divisors are covered by
    check 1 only. An activation, applied unchanged by the MLP, is checked in 1 to act on each entry
    alone with one function (``_elementwise_mismatch``), as the proof's σ_ℓ does.

    >>> import torch
    >>> torch_mismatch(torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3), torch.nn.ReLU()), (1, 5)) is None
    True
    """
    torch = _torch()
    steps = network_steps(model, input_shape) if steps is None else steps
    input_shape = steps[0].in_shape if steps else valid_shape("input_shape", input_shape)
    rng = np.random.default_rng(seed)
    draw = lambda shape: torch.as_tensor(  # noqa: E731 - integers, as float64
        rng.integers(-TORCH_RANGE, TORCH_RANGE + 1, size=shape).astype(np.float64))
    try:
        with torch.no_grad():
            if found := _float64_mismatch(model, input_shape, steps, draw) or _integer_mismatch(steps, draw):
                return found
        if found := _own_dtype_mismatch(model, input_shape, steps, seed):
            return found
    finally:
        MAPS.clear()   # the layers' dense maps: memory, not needed after the comparison
    refuse_foreign_code(model)
    return None


def _float64_mismatch(model: Any, input_shape: tuple[int, ...], steps: list[NetworkStep],
                      draw: Callable[[tuple[int, ...]], Any]) -> TorchMismatch | None:
    """Checks 1 and 2 of ``torch_mismatch`` on a float64 copy of the model and inputs ``draw(shape)``:
    each layer against its map within TORCH_RTOL, then model(x) exactly against its layers."""
    torch = _torch()
    model64 = copy.deepcopy(model).to(device="cpu", dtype=torch.float64)
    x = v = draw((TORCH_SAMPLES, *input_shape))
    for step, (_, layer) in zip(steps, _children(model64, "model")):
        out = _run_layer(step, layer, v)
        if found := _compare(replace(step, module=layer), v, out, TORCH_RTOL,
                             f"float64 with the model's own weights (relative tolerance {TORCH_RTOL:g})"):
            return found
        v = out
    return _chain_mismatch(model64, steps, model64(x), v, "model(x) exactly against its layers run one after "
                                                          "the other")


def _integer_mismatch(steps: list[NetworkStep], draw: Callable[[tuple[int, ...]], Any]) -> TorchMismatch | None:
    """Check 3 of ``torch_mismatch``: each layer exact in float64 (``_exact_in_float64``) on a copy
    with integer weights and inputs ``draw(shape)``, compared with ==."""
    torch = _torch()
    for step in filter(_exact_in_float64, steps):
        layer = copy.deepcopy(step.module).to(device="cpu", dtype=torch.float64)
        for parameter in layer.parameters():
            parameter.copy_(draw(tuple(parameter.shape)))
        xi = draw((TORCH_SAMPLES, *step.in_shape))
        if found := _compare(replace(step, module=layer), xi, _run_layer(step, layer, xi), 0.0,
                             "exactly, on integer weights and inputs (every value exact in float64)"):
            return found
    return None


def _own_dtype_mismatch(model: Any, input_shape: tuple[int, ...], steps: list[NetworkStep],
                        seed: int) -> TorchMismatch | None:
    """The ORIGINAL model (no copy), in its own dtype, as it is used: with autograd on (training) and
    off (``torch.no_grad()``, inference), on non-integer random inputs in [−8, 8) of each batch
    size of TORCH_BATCHES: each layer against its map within ``rounding_tolerance``, and model(x)
    exactly against its layers run one after the other."""
    dtype = _dtype(model)
    rng = np.random.default_rng(seed + 1)
    for grad, mode in ((True, "on"), (False, "off")):
        check = f"the model itself in {dtype}, autograd {mode}, non-integer inputs (rounding tolerance of {dtype})"
        if found := _run_own_dtype(model, input_shape, steps, rng, dtype, grad, check):
            return found
    return None


def _run_own_dtype(model: Any, input_shape: tuple[int, ...], steps: list[NetworkStep], rng: np.random.Generator,
                   dtype: Any, grad: bool, check: str) -> TorchMismatch | None:
    torch = _torch()
    with torch.set_grad_enabled(grad):
        for n in TORCH_BATCHES:
            x = v = torch.as_tensor(rng.uniform(-8, 8, size=(n, *input_shape))).to(dtype)
            for step in steps:
                out = _run_layer(step, step.module, v)
                if found := _compare(step, v, out, rounding_tolerance(dtype), f"{check}, batch {n}"):
                    return found
                v = out
            whole = _run_layer(NetworkStep("model", model, "identity", input_shape, input_shape), model, x)
            if found := _chain_mismatch(model, steps, whole, v, f"model(x) exactly against its layers one "
                                                                f"after the other ({check}, batch {n})"):
                return found
    return None


def _chain_mismatch(model: Any, steps: list[NetworkStep], whole: Any, v: Any, check: str) -> TorchMismatch | None:
    """``whole`` = model(x) exactly against ``v``, the output of its layers run one after the other on x
    (what nn.Sequential's forward is: the same torch calls, so bitwise equal)."""
    if steps and (tuple(whole.shape) != tuple(v.shape) or not _torch().equal(whole, v)):
        root = NetworkStep("model", model, "identity", steps[-1].out_shape, steps[-1].out_shape)
        return _compare(root, v, whole, 0.0, check)
    return None
