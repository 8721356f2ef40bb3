"""PyTorch's conv layers as presets: ``torch.nn.Conv{1,2,3}d`` and ``ConvTranspose{1,2,3}d``.

torch is symconv's own convention (NCHW, OIHW weights, cross-correlation), so every map is the
identity: a ``Conv*d`` is ``symconv.interop.specs.spec_of``'s ConvSpec, a ``ConvTranspose*d`` on
an input of spatial size m is the transposed conv of ``transposed_of``'s forward spec (input size
n = (m − 1)·s − 2p + d·(K − 1) + 1, so output size m) at the module's ``output_padding``: the
output has size n + output_padding, and the weight (C_in_t, C_out_t/groups, *k) is the forward
conv's (C_out, C_in/groups, *k) as it is.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from ..errors import SpecError
from ..interop.specs import spec_of, transposed_of, valid_shape
from .conventions import layout_maps, spec_letters
from .layer import FrameworkConv


def _torch_classes() -> tuple[tuple[type, ...], tuple[type, ...]]:
    import torch
    return ((torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d),
            (torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d))


def from_torch(module: Any, input_size: Any) -> FrameworkConv:
    """The conv a torch module computes on inputs of spatial size ``input_size`` (an int for 1-D,
    else one int per axis; no batch or channel axis).

    >>> import torch
    >>> layer = from_torch(torch.nn.Conv2d(2, 4, kernel_size=4, padding="same", bias=False), (6, 6))
    >>> layer.spec.padding, layer.weight_map.describe()
    (((1, 2), (1, 2)), 'unchanged')
    >>> up = from_torch(torch.nn.ConvTranspose1d(3, 1, kernel_size=3, stride=2, padding=1, output_padding=1), 4)
    >>> up.spec.input_size, up.output_padding, up.spec.in_channels   # forward conv 8 → 4, transposed 4 → 7 + 1
    ((7,), (1,), 1)
    """
    forward, transposed = _torch_classes()
    kind = type(module)   # exactly torch's class: a subclass may compute something else in forward()
    if kind not in forward + transposed:
        raise SpecError("module", kind.__name__, "must be a torch.nn.Conv1d/2d/3d or ConvTranspose1d/2d/3d "
                                                 "(torch's own class, not a subclass)")
    dims = (forward + transposed).index(kind) % 3 + 1
    size = valid_shape("input_size", input_size, dims)
    is_transposed = kind in transposed
    spec = transposed_of(module, size) if is_transposed else spec_of(module, size)
    padding = tuple(module.output_padding) if is_transposed else None
    letters, weight_letters = spec_letters(dims, "NCHW")
    maps = layout_maps(spec, letters, weight_letters, output_padding=padding)
    return FrameworkConv("torch", f"torch.nn.{module!r}", spec, *maps, transposed=is_transposed,
                         output_padding=padding or (), arguments=(("module", repr(module)), ("input_size", size)),
                         rebuild=partial(from_torch, module),
                         bias=(module.bias is not None) if is_transposed else None)
