"""The forms of a convolution layer, each a view of the index pattern (``symconv.pattern``)."""

from .definition import conv
from .im2col import im2col, im2col_conv, kernel_matrix
from .toeplitz import toeplitz, toeplitz_conv

__all__ = ["conv", "im2col", "im2col_conv", "kernel_matrix", "toeplitz", "toeplitz_conv"]
