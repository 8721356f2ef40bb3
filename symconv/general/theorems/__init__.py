"""The general theorems: chains of named, checked steps for all sizes at once.

Each theorem function returns a ``Derivation`` (see ``derivation``); sizes, hyperparameters,
channels and groups are symbols constrained only by the hypotheses (``setting.Layer``). One
module per theorem or family:

    fully_connected  "toeplitz": the conv layer is the FC layer T (every padding mode)
    im2col_product   "im2col": K·P per group is the convolution (F.unfold or the paper's order)
    adjoint          "transpose": the transposed convolution is multiplication by Tᵀ
    padding_map      "padding": T = T⁰·R for circular, reflect and replicate padding
    block_circulant  "circulant": with circular 'same' padding T is multi-level block circulant
    stacked_layers   "nonlinear": stacked layers with an elementwise σ are stacked FC layers
    lemmas           output size and padding map lemmas the theorems share
    common           the setup every theorem shares (claims, hypotheses, sizes)
    citations        ``proved``: theorems cited by other derivations

The modules are not named like the theorem functions this package exports, which would hide
them. The DFT theorem is ``general.dft`` (it builds on ``block_circulant``).
"""

from __future__ import annotations

from .adjoint import transpose
from .block_circulant import circulant, circular_entry_steps
from .citations import proved
from .common import claimed, hypothesis_atoms
from .fully_connected import toeplitz
from .im2col_product import im2col, im2col_definitions
from .lemmas import source_in_range
from .padding_map import padding
from .stacked_layers import network_symbols, nonlinear

__all__ = ["circulant", "circular_entry_steps", "claimed", "hypothesis_atoms", "im2col",
           "im2col_definitions", "network_symbols", "nonlinear", "padding", "proved",
           "source_in_range", "toeplitz", "transpose"]
