"""Torch layers as ConvSpecs: the conv a Conv{1,2,3}d is, the forward conv a ConvTranspose
transposes, AvgPool and AdaptiveAvgPool (fixed windows) as depthwise convs; and the validation of
the shapes a user passes (``valid_shape``)."""

from __future__ import annotations

from math import prod
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SpecError
from ..pattern import kernel_span, smallest_input_size
from ..spec import ConvSpec

MAX_FEATURES = 10**7   # per-sample features a network's input may have


def valid_shape(parameter: str, value: Any, length: int | None = None) -> tuple[int, ...]:
    """``value`` as a tuple of ints ≥ 1 (an int is one axis), or SpecError: no floats, bools,
    strings or empty shapes, at most MAX_FEATURES entries per sample.

    >>> valid_shape("input_shape", (1, 5.9))
    Traceback (most recent call last):
    symconv.errors.SpecError: input_shape=(1, 5.9): must be a tuple of integers ≥ 1 (5.9 is a float)
    """
    import numbers
    axes = (value,) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    if not isinstance(axes, (tuple, list)) or not axes:
        raise SpecError(parameter, value, "must be a non-empty tuple of integers ≥ 1")
    for n in axes:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            what = (f"a {type(n).__name__}" if isinstance(n, bool) or not isinstance(n, numbers.Integral)
                    else "below 1")
            raise SpecError(parameter, value, f"must be a tuple of integers ≥ 1 ({n!r} is {what})")
    if length is not None and len(axes) != length:
        raise SpecError(parameter, value, f"must have {length} entries (one per spatial axis)")
    if prod(int(n) for n in axes) > MAX_FEATURES:
        raise SpecError(parameter, value, f"has {prod(int(n) for n in axes)} entries per sample, more than "
                        f"MAX_FEATURES={MAX_FEATURES}; the dense matrices would not fit in memory")
    return tuple(int(n) for n in axes)


def spec_of(module: Any, input_size: Any) -> ConvSpec:
    """The ConvSpec of a ``torch.nn.Conv{1,2,3}d`` on inputs of spatial size ``input_size``."""
    return ConvSpec(module.in_channels, module.out_channels, module.kernel_size, input_size,
                    stride=module.stride, padding=module.padding, dilation=module.dilation,
                    groups=module.groups, bias=module.bias is not None, padding_mode=module.padding_mode)


def transposed_of(module: Any, input_size: Any) -> ConvSpec:
    """The forward conv that a ``torch.nn.ConvTranspose{1,2,3}d`` transposes, on inputs of spatial
    size ``input_size`` = m: C_in = module.out_channels, C_out = module.in_channels, the module's
    weight, stride, padding, dilation and groups, and an input size n with output size m (the
    smallest, n = max(1, (m − 1)·s − 2p + d·(K − 1) + 1)). The module computes
    ``conv_transpose(spec, g, w, module.output_padding)``, i.e. Tᵀ of
    ``transposed_spec(spec, module.output_padding)``."""
    size = (input_size,) if isinstance(input_size, int) else tuple(input_size)
    smallest = tuple(smallest_input_size(m, k, s, d, 2 * p) for m, s, p, d, k in
                     zip(size, module.stride, module.padding, module.dilation, module.kernel_size))
    if any(n + s - 1 < 1 for n, s in zip(smallest, module.stride)):   # no n ≥ 1 has output size m
        raise SpecError("padding", tuple(module.padding), f"no forward input size n ≥ 1 has output size {size} "
                        f"(n_min = (m − 1)·s − 2p + d·(K − 1) + 1 = {smallest}); use less padding")
    return ConvSpec(module.out_channels, module.in_channels, module.kernel_size, tuple(max(1, n) for n in smallest),
                    stride=module.stride, padding=module.padding, dilation=module.dilation,
                    groups=module.groups, bias=False)


def _avgpool_spec(module: Any, position: str, shape: tuple[int, ...]) -> tuple[ConvSpec, object]:
    """AvgPool as a depthwise conv: (spec, the weight value 1/divisor)."""
    kernel = module.kernel_size
    padding = module.padding
    override = getattr(module, "divisor_override", None)   # torch then divides by it, whatever the padding
    if not module.count_include_pad and not override and np.any(np.asarray(padding) != 0):
        raise SpecError(position, "count_include_pad=False", "with padding the divisor varies near the "
                        "border, so the pool is not a convolution; use count_include_pad=True or padding=0")
    spec = ConvSpec(shape[0], shape[0], kernel, shape[1:], stride=module.stride or kernel,
                    padding=padding, groups=shape[0], bias=False)
    if module.ceil_mode and (ceil := _ceil_mode_size(spec)) != spec.output_size:
        raise SpecError(position, "ceil_mode=True", f"on input size {spec.input_size} ceil_mode gives output "
                        f"size {ceil}, floor mode {spec.output_size}: the extra windows overhang the input "
                        f"(a varying divisor), so the pool is not a convolution; use ceil_mode=False")
    divisor = override or prod(spec.kernel_size)
    return spec, sp.Rational(1, divisor)


def _ceil_mode_size(spec: ConvSpec) -> tuple[int, ...]:
    """torch's pooling output size with ceil_mode=True: ⌈(n + 2p − d·(K − 1) − 1)/s⌉ + 1, less one
    when the last window would start beyond the input and its left padding ((m − 1)·s ≥ n + p).

    >>> _ceil_mode_size(ConvSpec(1, 1, 3, 7, stride=2, groups=1, bias=False))   # floor mode also 3
    (3,)
    >>> _ceil_mode_size(ConvSpec(1, 1, 3, 6, stride=2, groups=1, bias=False))   # floor mode 2
    (3,)
    """
    sizes = []
    for n, k, s, d, (p, _) in zip(spec.input_size, spec.kernel_size, spec.stride, spec.dilation, spec.padding):
        m = -(-(n + 2 * p - kernel_span(k, d)) // s) + 1
        sizes.append(m - 1 if (m - 1) * s >= n + p else m)
    return tuple(sizes)


def _adaptive_pool_spec(module: Any, position: str, shape: tuple[int, ...]) -> tuple[ConvSpec, object]:
    """AdaptiveAvgPool as AvgPool(kernel = stride = n/m) when every output size m divides its input
    size n (None keeps n): torch's windows [⌊i·n/m⌋, ⌈(i+1)·n/m⌉) are then the fixed [i·n/m, (i+1)·n/m)."""
    dims = len(shape) - 1
    requested = module.output_size if isinstance(module.output_size, (tuple, list)) else (module.output_size,) * dims
    targets = tuple(n if m is None else int(m) for n, m in zip(shape[1:], requested))
    for n, m in zip(shape[1:], targets):
        if m < 1 or n % m:
            starts = [i * n // m for i in range(max(m, 0))]
            widths = sorted({-(-(i + 1) * n // m) - start for i, start in enumerate(starts)})
            why = (f"have varying widths {widths}" if len(widths) > 1 else
                   f"start at {starts}, steps {sorted({b - a for a, b in zip(starts, starts[1:])})} (no "
                   f"fixed stride)" if widths else "do not exist")
            raise SpecError(position, f"{type(module).__name__}(output_size={module.output_size})",
                            f"on input size {shape[1:]} the pooling windows [⌊i·n/m⌋, ⌈(i+1)·n/m⌉) of "
                            f"axis n={n}, m={m} {why}, so it is no convolution; only output sizes that "
                            f"divide the input size (fixed windows n/m) are converted")
    kernel = tuple(n // m for n, m in zip(shape[1:], targets))
    spec = ConvSpec(shape[0], shape[0], kernel, shape[1:], stride=kernel, groups=shape[0], bias=False)
    return spec, sp.Rational(1, prod(kernel))
