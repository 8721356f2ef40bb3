"""The connections table: the second layer of the core, the pattern joined with the channel map.

A convolution layer is the sum, over its connections, of one weight times one input:

    y[o, out] = b[o] + Σ_{c < C_in/groups} Σ_{t : src(out, t) ≠ none} w[o, c, τ(t)] · x[ch(o, c), src(out, t)]

with src the pattern's source table, τ its weight taps (``symconv.pattern``) and ch the channel
map ch(o, c) = g(o)·C_in/groups + c (g(o) = ⌊o / (C_out/groups)⌋, ``ConvSpec.group_of``). One
connection is the triple (r, a, i) of flat canonical (channels-first, row-major) ids

    r = o·∏out + out                    the output row (vec(y)'s row in NCHW)
    a = (o·C_in/groups + c)·∏K + τ(t)   the weight, row-major in (C_out, C_in/groups, *k)
    i = ch(o, c)·∏in + src(out, t)       the input (vec(x)'s row in NCHW)

and a connection through a zero of the padding reads nothing, so it is not in the table. Every
form is a gather or a scatter over these triples: the definition gathers w[a]·x[i] into row r,
T scatters w[a] to (row_index(r), column_index(i)) (``symconv.forms.toeplitz``), the transposed
convolution scatters w[a]·g[r] to i, the weight gradient scatters g[r]·x[i] to a, and the rows
at out = 0 are T's first block row (the spectral kernel symbol and the 1×1 conv's FC matrix).
This module and ``symconv.pattern`` are the only places an index is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import prod

import numpy as np

from .spec import ConvSpec


def channel_map(spec: ConvSpec) -> np.ndarray:
    """ch[o, c] = g(o)·C_in/groups + c: the input channel weight (o, c) reads, shape (C_out, C_in/groups).

    The channels of one group are consecutive (ch[o, c] = ch[o, 0] + c).

    >>> channel_map(ConvSpec(4, 4, kernel_size=1, input_size=1, groups=2))
    array([[0, 1],
           [0, 1],
           [2, 3],
           [2, 3]])
    """
    outs = np.arange(spec.out_channels)
    return spec.group_of(outs)[:, None] * spec.in_per_group + np.arange(spec.in_per_group)


@dataclass(frozen=True)
class Connections:
    """The (row, weight, input) triples of the connections of some output rows (module docstring),
    sorted by row, then by local input channel c, then by tap t."""

    row: np.ndarray
    weight: np.ndarray
    input: np.ndarray
    n_out: int     # output positions per channel, ∏out
    n_in: int      # input positions per channel, ∏in

    def __len__(self) -> int:
        return len(self.row)

    def outputs(self) -> tuple[np.ndarray, np.ndarray]:
        """(o, out) of each connection's row r = o·∏out + out."""
        return np.divmod(self.row, self.n_out)

    def inputs(self) -> tuple[np.ndarray, np.ndarray]:
        """(c, i) of each connection's input id c·∏in + i."""
        return np.divmod(self.input, self.n_in)

    def row_starts(self, r0: int, r1: int) -> np.ndarray:
        """s with the connections of row r at positions s[r − r0]:s[r − r0 + 1], for rows r0..r1 − 1."""
        return np.searchsorted(self.row, np.arange(r0, r1 + 1))

    def grouped_by(self, ids: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(order, starts): ``order[starts[k]:starts[k + 1]]`` are the positions of the connections
        with id k (0 ≤ k < count) of ``ids`` (self.weight or self.input), in table order."""
        order = np.argsort(ids, kind="stable")
        return order, np.searchsorted(ids[order], np.arange(count + 1))


def connections_of_rows(spec: ConvSpec, rows: np.ndarray) -> Connections:
    """The connections of the given output rows (sorted, each in 0 ≤ r < C_out·∏out), not cached:
    the exact backend builds them chunk by chunk, its memory bounded by the chunk.

    >>> spec = ConvSpec(2, 2, kernel_size=2, input_size=3, padding=1, groups=2)
    >>> table = connections_of_rows(spec, np.array([4, 5]))   # o = 1 (group 1, input channel 1)
    >>> table.row.tolist(), table.weight.tolist(), table.input.tolist()   # row 4 reads one pad zero
    ([4, 5, 5], [3, 2, 3], [3, 3, 4])
    """
    rows = np.asarray(rows, dtype=np.int64)
    pattern, cg = spec.pattern, spec.in_per_group
    n_out, n_in = prod(spec.output_size), prod(spec.input_size)
    o, out = np.divmod(rows, n_out)
    src = pattern.source_table[out][:, None, :]                                   # (R, 1, T)
    local = o[:, None, None] * cg + np.arange(cg)[None, :, None]                  # (R, cg, 1)
    weight = local * prod(spec.kernel_size) + pattern.weight_taps                 # (R, cg, T)
    inputs = channel_map(spec)[o][:, :, None] * n_in + src                       # (R, cg, T)
    reads = src >= 0                                     # a zero of the padding is no connection
    row = np.repeat(rows, cg * reads.sum(axis=2).reshape(-1))
    reads = np.ascontiguousarray(np.broadcast_to(reads, weight.shape))   # a contiguous mask is faster
    return Connections(row, weight[reads], inputs[reads], n_out, n_in)


@lru_cache(maxsize=8)   # bounded: a table holds 24 bytes per connection
def connections(spec: ConvSpec) -> Connections:
    """The connections of every output row, cached per spec (a ConvSpec is compared by its fields).

    >>> spec = ConvSpec(1, 1, kernel_size=2, input_size=3, padding=1)
    >>> table = connections(spec)        # y[0, 0] = w₁·x₀, y[0, 1] = w₀·x₀ + w₁·x₁, …
    >>> table.row.tolist(), table.weight.tolist(), table.input.tolist()
    ([0, 1, 1, 2, 2, 3], [1, 0, 1, 0, 1, 0], [0, 0, 1, 1, 2, 2])
    """
    table = connections_of_rows(spec, np.arange(spec.out_channels * prod(spec.output_size)))
    for array in (table.row, table.weight, table.input):
        array.setflags(write=False)
    return table
