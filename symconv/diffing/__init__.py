"""``symconv.diff``: whether two convolution layers (ConvSpecs, or framework layers from
``symconv.frameworks``) are the same map, the same up to a permutation of the weights (a flipped
kernel, swapped channel axes), or different, and where and why they differ.

    bilinear   a layer as a polynomial in logical (layout-free, channels-first) coordinates
    compare    two layers at one size, under every weight permutation that fits, exactly
    search     diff(): the given size, then the smaller sizes, within a deadline
    result     DiffResult: verdict, witness, words, the weight conversion
    table      compare_all(): several layers, every pair
    words      what differs, in words; terms: one output as its polynomial; convert: weight recipes
"""

from __future__ import annotations

from .compare import WeightPermutation
from .result import DIFFERENT, PERMUTED, SAME, DiffResult
from .search import diff
from .table import Comparison, compare_all

__all__ = ["DIFFERENT", "PERMUTED", "SAME", "Comparison", "DiffResult", "WeightPermutation", "compare_all", "diff"]
