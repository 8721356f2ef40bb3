"""The same convolution in every framework's own words: presets that read a framework's call or
layer (its argument names, shapes and defaults) and return a ``FrameworkConv``: the ConvSpec it
computes plus the maps between the framework's arrays and the spec's (``symconv.frameworks.layer``).
"""

from __future__ import annotations

from .layer import ArrayMap, FrameworkConv
from .onnx import from_onnx

__all__ = ["ArrayMap", "FrameworkConv", "from_onnx"]
