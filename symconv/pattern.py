"""The single core: the per-axis index pattern of a convolution.

Along one spatial axis with input size n, kernel size K, stride s, dilation d and padding
(p_before, p_after), output position o reads, through kernel tap k, the *padded* position

    u(o, k) = s·o + d·k − p_before,

and the padded position is mapped back to an input index by the padding mode:

    zeros      src(u) = u if 0 ≤ u < n, else none (the padded value is 0)
    circular   src(u) = u mod n
    reflect    src(u) = −u if u < 0;  2(n−1) − u if u ≥ n;  else u   (mirror, edge not repeated)
    replicate  src(u) = min(max(u, 0), n − 1)

The index pattern is Π[k, o, i] = [src(u(o, k)) = i] (Hayashi et al., NeurIPS 2019). It is the
first layer of the core; the second, ``symconv.connections``, joins ``Pattern.source_table`` and
``Pattern.weight_taps`` with the channel/group map into the table of (output row, weight, input)
triples of every connection that reads a real input. Every form symconv builds (definition,
Toeplitz/FC matrix, im2col, transpose, gradients, the spectral kernel symbol, the converse) is a
gather or scatter over these two modules' tables; nothing else in the package computes an index.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from math import prod

import numpy as np

from .errors import one_of

NONE = -1
"""Marker in source tables for "reads a zero of the padding" (zeros mode only)."""

PADDING_MODES = ("zeros", "circular", "reflect", "replicate")


def kernel_span(kernel: int, dilation: int) -> int:
    """d·(K − 1) + 1: how many consecutive padded positions one output position reads through.

    >>> kernel_span(3, 2)
    5
    """
    return dilation * (kernel - 1) + 1


def smallest_input_size(out_size: int, kernel: int, stride: int, dilation: int, pad_total: int) -> int:
    """n_min = (O − 1)·s − (p_before + p_after) + d·(K − 1) + 1: the smallest input size with O outputs.

    The sizes n_min, …, n_min + s − 1 all have O outputs (the floor in ``AxisPattern.out_size``);
    the transposed convolution's output_padding picks among them.

    >>> smallest_input_size(4, 3, 2, 1, 2)      # 7 and 8 both give 4 outputs
    7
    >>> AxisPattern(7, 3, stride=2, pad_before=1, pad_after=1).out_size
    4
    """
    return (out_size - 1) * stride - pad_total + kernel_span(kernel, dilation)


@dataclass(frozen=True)
class AxisPattern:
    """The index pattern of one spatial axis: u = s·o + d·k − p_before, then src(u).

    ``source`` is defined on the padded range −p_before ≤ u < n + p_after under the limits
    ConvSpec enforces (reflect: pads < n; circular: pads ≤ n), which is all ``table`` uses.

    >>> axis = AxisPattern(size=4, kernel=3, pad_before=1, pad_after=1, mode="reflect")
    >>> axis.out_size
    4
    >>> axis.source([-1, 0, 3, 4])      # mirrored without repeating the edge
    array([1, 0, 3, 2])
    >>> axis.table                      # S[k, o] = src(o + k − 1)
    array([[1, 0, 1, 2],
           [0, 1, 2, 3],
           [1, 2, 3, 2]])
    """

    size: int
    kernel: int
    stride: int = 1
    dilation: int = 1
    pad_before: int = 0
    pad_after: int = 0
    mode: str = "zeros"

    @property
    def out_size(self) -> int:
        """⌊(n + p_before + p_after − d·(K − 1) − 1) / s⌋ + 1."""
        span = kernel_span(self.kernel, self.dilation)
        return (self.size + self.pad_before + self.pad_after - span) // self.stride + 1

    def padded_position(self, out: np.ndarray | int, tap: np.ndarray | int) -> np.ndarray | int:
        """u(o, k) = s·o + d·k − p_before (a position in the padded input)."""
        return self.stride * out + self.dilation * tap - self.pad_before

    def source(self, u: np.ndarray | int) -> np.ndarray | int:
        """src(u): the input index a padded position reads, or NONE for a zero of the padding."""
        n = self.size
        u = np.asarray(u, dtype=np.int64)
        one_of("mode", self.mode, PADDING_MODES)  # ConvSpec validates it; this guards direct use of the class
        if self.mode == "zeros":
            result = np.where((u >= 0) & (u < n), u, NONE)
        elif self.mode == "circular":
            result = np.mod(u, n)
        elif self.mode == "reflect":
            result = np.where(u < 0, -u, np.where(u >= n, 2 * (n - 1) - u, u))
        else:  # replicate
            result = np.clip(u, 0, n - 1)
        return result if result.ndim else int(result)

    @cached_property
    def table(self) -> np.ndarray:
        """S[k, o] = src(s·o + d·k − p_before), shape (K, O), NONE where the padding is read."""
        taps = np.arange(self.kernel)[:, None]
        outs = np.arange(self.out_size)[None, :]
        table = np.asarray(self.source(self.padded_position(outs, taps)), dtype=np.int64)
        table.setflags(write=False)
        return table

    def matrix(self) -> np.ndarray:
        """Π[k, o, i] = [src(u(o, k)) = i] as a 0/1 integer array of shape (K, O, n).

        With one channel T = Σ_k w_k Π[k]; here zero padding 1 before, so row 0 of Π[0] is empty:

        >>> AxisPattern(size=3, kernel=2, pad_before=1).matrix()
        array([[[0, 0, 0],
                [1, 0, 0],
                [0, 1, 0]],
        <BLANKLINE>
               [[1, 0, 0],
                [0, 1, 0],
                [0, 0, 1]]])
        """
        pi = np.zeros((self.kernel, self.out_size, self.size), dtype=np.int64)
        k, o = np.nonzero(self.table >= 0)
        pi[k, o, self.table[k, o]] = 1
        return pi


@dataclass(frozen=True)
class Pattern:
    """The N-d pattern: the product of the per-axis patterns over flattened (row-major) indices.

    ``source_table[out, t]`` is the flat input index read by flat output position ``out``
    through flat kernel tap ``t`` (both row-major over the spatial axes), or NONE if any axis
    reads padding zeros. Flattening is the mixed-radix bijection
    (i_1, …, i_D) ↦ Σ_a i_a · ∏_{b>a} n_b.

    ``weight_taps[t]`` is the flat weight index used at tap t: t itself for cross-correlation,
    the tap mirrored on every axis (K_a − 1 − k_a) for true convolution.

    A 2×3 input, a 1×2 kernel, zero padding 1 before the columns (out = 2×3):

    >>> pattern = Pattern((AxisPattern(2, 1), AxisPattern(3, 2, pad_before=1)))
    >>> pattern.source_table
    array([[-1,  0],
           [ 0,  1],
           [ 1,  2],
           [-1,  3],
           [ 3,  4],
           [ 4,  5]])
    >>> Pattern((AxisPattern(5, 2), AxisPattern(5, 3)), flip=True).weight_taps
    array([5, 4, 3, 2, 1, 0])
    """

    axes: tuple[AxisPattern, ...]
    flip: bool = False

    @property
    def in_shape(self) -> tuple[int, ...]:
        return tuple(a.size for a in self.axes)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return tuple(a.out_size for a in self.axes)

    @property
    def kernel_shape(self) -> tuple[int, ...]:
        return tuple(a.kernel for a in self.axes)

    @cached_property
    def source_table(self) -> np.ndarray:
        dims = len(self.axes)
        grid_shape = self.out_shape + self.kernel_shape
        flat = np.zeros(grid_shape, dtype=np.int64)
        valid = np.ones(grid_shape, dtype=bool)
        for a, axis in enumerate(self.axes):
            shape = [1] * (2 * dims)
            shape[a], shape[dims + a] = axis.out_size, axis.kernel
            src = axis.table.T.reshape(shape)
            flat = flat + np.maximum(src, 0) * prod(self.in_shape[a + 1:])
            valid = valid & (src >= 0)
        table = np.where(valid, flat, NONE).reshape(prod(self.out_shape), prod(self.kernel_shape))
        table.setflags(write=False)
        return table

    @cached_property
    def weight_taps(self) -> np.ndarray:
        taps = np.arange(prod(self.kernel_shape)).reshape(self.kernel_shape)
        if self.flip:
            taps = np.flip(taps)  # mirrors every axis: k_a ↦ K_a − 1 − k_a
        taps = taps.reshape(-1).copy()
        taps.setflags(write=False)
        return taps
