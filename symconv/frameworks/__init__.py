"""The same convolution in every framework's own words: presets that read a framework's call or
layer (its argument names, shapes and defaults) and return a ``FrameworkConv``: the ConvSpec it
computes plus the maps between the framework's arrays and the spec's (``symconv.frameworks.layer``).

The frameworks themselves are optional: each preset imports its library only when it needs it
(``from_torch`` and ``from_keras`` read a layer object; ``from_scipy`` recognises scipy's functions).
"""

from __future__ import annotations

from .jax import from_jax, from_jax_transpose
from .keras import from_keras
from .layer import ArrayMap, FrameworkConv
from .onnx import from_onnx
from .scipy import from_scipy
from .tensorflow import from_tensorflow, from_tensorflow_transpose
from .torch import from_torch

__all__ = ["ArrayMap", "FrameworkConv", "from_jax", "from_jax_transpose", "from_keras", "from_onnx", "from_scipy",
           "from_tensorflow", "from_tensorflow_transpose", "from_torch"]
