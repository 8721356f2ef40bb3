"""The block structure of each form of a layer, as (row size, column size) levels, coarsest
first (the ``blocks=`` argument of ``latex_matrix`` and of the figures).

Toeplitz T, NCHW (rows (o, out), columns (c, in)): channel blocks ∏out × ∏in, each a
multi-level Toeplitz matrix whose next level has blocks ∏out[1:] × ∏in[1:] (the doubly-block
structure in 2-D). NHWC (rows (out, o), columns (in, c)): blocks ∏out[1:]·C_out × ∏in[1:]·C_in,
then C_out × C_in per pair of positions. im2col P (unfold): one block of ∏K rows per channel,
columns grouped by the last output axes; K (unfold): rows by group, columns by channel.
"""

from __future__ import annotations

from math import prod

from ..spec import ConvSpec

Level = tuple[int | None, int | None]


def toeplitz_blocks(spec: ConvSpec) -> list[Level]:
    out_inner, in_inner = prod(spec.output_size[1:]), prod(spec.input_size[1:])
    if spec.layout == "NHWC":
        levels: list[Level] = [(out_inner * spec.out_channels, in_inner * spec.in_channels)] if spec.dims > 1 else []
        return levels + [(spec.out_channels, spec.in_channels)]
    outer: list[Level] = [(prod(spec.output_size), prod(spec.input_size))]
    return outer + ([(out_inner, in_inner)] if spec.dims > 1 else [])


def patches_blocks(spec: ConvSpec, order: str = "unfold") -> list[Level]:
    taps, out_inner = prod(spec.kernel_size), prod(spec.output_size[1:])
    if order == "paper":
        return [(out_inner if spec.dims > 1 else None, spec.in_channels)]
    return [(taps, out_inner if spec.dims > 1 else None)]


def kernel_blocks(spec: ConvSpec, order: str = "unfold") -> list[Level]:
    if order == "paper":
        return [(spec.in_per_group, spec.out_per_group)]
    return [(spec.out_per_group, prod(spec.kernel_size))]
