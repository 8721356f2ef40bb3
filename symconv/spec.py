"""ConvSpec: a convolution layer's hyperparameters with PyTorch's names and meanings.

Output size per axis (PyTorch's formula):

    out = ⌊(n + p_before + p_after − d·(K − 1) − 1) / s⌋ + 1

``padding='same'`` pads d·(K − 1) in total, ⌊total/2⌋ before and the rest after, exactly as
``torch.nn.Conv*d`` places it for even kernels; ``'valid'`` pads nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from math import prod
from numbers import Integral
from typing import Any, TypeVar

import numpy as np

from .errors import SpecError, boolean, integer, one_of  # noqa: F401  (boolean, one_of: re-exported)
from .pattern import PADDING_MODES, AxisPattern, Pattern, kernel_span

CONVENTIONS = ("cross-correlation", "convolution")
LAYOUTS = ("NCHW", "NHWC")

IntOrTuple = int | Sequence[int]
"""A per-axis argument: one int for every spatial axis, or a sequence of one int per axis."""
Padding = int | str | Sequence[int | Sequence[int]]
"""``padding``: an int, 'valid', 'same', one int per axis, or one (before, after) pair per axis."""
Index = TypeVar("Index", int, np.ndarray)
"""An index, or an integer array of indices that index arithmetic maps elementwise."""
MAX_EXTENT = 2**31 - 1
"""The largest channel count, size, stride, dilation or padding (int32: beyond any real layer)."""
MAX_ELEMENTS = 2**48
"""The most elements x, w, y or T's nonzero pattern may have, so every count fits NumPy's int64."""


def as_int(parameter: str, value: Any, minimum: int) -> int:
    """``value`` as an int with ``minimum ≤ value ≤ MAX_EXTENT`` (``errors.integer``'s rule).

    >>> as_int("batch", True, 1)
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: batch=True: must be an integer ≥ 1
    """
    return integer(parameter, value, minimum, MAX_EXTENT, "symconv.spec.MAX_EXTENT")


def check_spec(spec: Any, parameter: str = "spec") -> ConvSpec:
    """``spec`` if it is a valid ConvSpec, else SpecError naming its type, or the field that breaks
    a rule. A frozen dataclass can still be changed with ``object.__setattr__``; a proof about a
    changed spec would state one layer and prove another (its cached index pattern), so the
    fields are validated again (a ConvSpec rebuilt from them, 25 µs) and must be what
    construction made of them.

    >>> check_spec("s")
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: spec='str': must be a symconv.ConvSpec
    >>> class Tricky(ConvSpec): pass
    >>> check_spec(Tricky(1, 1, kernel_size=2, input_size=3))
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: spec='Tricky': must be a symconv.ConvSpec, not a subclass
    >>> spec = ConvSpec(1, 1, kernel_size=2, input_size=3)
    >>> _ = spec.output_size
    >>> object.__setattr__(spec, "kernel_size", (1,))
    >>> check_spec(spec)  # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: spec='1-D, C_in=1, C_out=1, input=3, kernel=1, bias': was changed after
    construction: the index pattern it holds was computed from other fields; build a new ConvSpec, ...
    """
    if not isinstance(spec, ConvSpec):
        raise SpecError(parameter, type(spec).__name__, "must be a symconv.ConvSpec")
    if type(spec) is not ConvSpec:  # an overridden property (pattern, describe) would prove another layer
        raise SpecError(parameter, type(spec).__name__, "must be a symconv.ConvSpec, not a subclass")
    names = [f.name for f in fields(ConvSpec)]
    rebuilt = ConvSpec(**{name: getattr(spec, name) for name in names if name != "dims"})
    rule = "was changed after construction{}; build a new ConvSpec, e.g. with dataclasses.replace"
    changed = [f"{name}={getattr(spec, name)!r}" for name in names if getattr(spec, name) != getattr(rebuilt, name)]
    if changed:  # valid values, but not as construction stores them (kernel_size=5 for (5,))
        raise SpecError(parameter, ", ".join(changed), rule.format(""))
    if spec.__dict__.get("pattern", rebuilt.pattern) != rebuilt.pattern:
        raise SpecError(parameter, spec.describe(),
                        rule.format(": the index pattern it holds was computed from other fields"))
    return spec


def _is_sequence(value: Any) -> bool:
    """A tuple/list of per-axis values: text (str, bytes) is never one (b"ab" is not (97, 98))."""
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def _per_axis(parameter: str, value: Any, dims: int, minimum: int) -> tuple[int, ...]:
    """An int (the same on every axis) or a tuple with one int per spatial axis."""
    if _is_sequence(value):
        if len(value) != dims:
            raise SpecError(parameter, value,
                            f"must be an int or a tuple of {dims} ints (one per spatial axis)")
        for v in value:
            if isinstance(v, bool) or not isinstance(v, Integral) or int(v) < minimum:
                raise SpecError(parameter, value, f"every entry must be an integer ≥ {minimum}")
            if int(v) > MAX_EXTENT:
                raise SpecError(parameter, value, f"every entry must be at most {MAX_EXTENT} "
                                                  "(symconv.spec.MAX_EXTENT)")
        return tuple(int(v) for v in value)
    return (as_int(parameter, value, minimum),) * dims


def _dims_of(input_size: Any, kernel_size: Any) -> int:
    """The number of spatial axes: len(input_size), else len(kernel_size), else 1."""
    for parameter, value in (("input_size", input_size), ("kernel_size", kernel_size)):
        if _is_sequence(value):
            if len(value) not in (1, 2, 3):
                raise SpecError(parameter, value, "must have 1, 2 or 3 spatial dimensions")
            return len(value)
    return 1


def _padding_pairs(padding: Any, dims: int, kernel: tuple[int, ...], stride: tuple[int, ...],
                   dilation: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Normalise padding to one (before, after) pair per axis."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * dims
        if padding == "same":
            if any(s != 1 for s in stride):
                raise SpecError("padding", padding,
                                f"'same' needs stride 1 on every axis (PyTorch's rule), stride={stride}")
            totals = [kernel_span(k, d) - 1 for k, d in zip(kernel, dilation)]  # d·(K − 1)
            return tuple((t // 2, t - t // 2) for t in totals)
        raise SpecError("padding", padding, "a string padding must be 'valid' or 'same'")
    rule = (f"must be an int ≥ 0, 'valid', 'same', a tuple of {dims} ints, "
            f"or a tuple of {dims} (before, after) pairs")
    if _is_sequence(padding):
        if len(padding) != dims:
            raise SpecError("padding", padding, rule)
        pairs = []
        for p in padding:
            if _is_sequence(p):
                if len(p) != 2:
                    raise SpecError("padding", padding, rule)
                pairs.append((_padding_int(padding, p[0]), _padding_int(padding, p[1])))
            else:
                q = _padding_int(padding, p)
                pairs.append((q, q))
        return tuple(pairs)
    q = _padding_int(padding, padding)
    return ((q, q),) * dims


def _padding_int(padding: Any, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < 0:
        raise SpecError("padding", padding, "every padding amount must be an integer ≥ 0")
    if int(value) > MAX_EXTENT:
        raise SpecError("padding", padding, f"every padding amount must be at most {MAX_EXTENT} "
                                            "(symconv.spec.MAX_EXTENT)")
    return int(value)



def per_axis(values) -> str:
    """One value for every axis if they agree, else the values joined by ``×`` (like sizes).

    >>> per_axis((2, 2)), per_axis((2, 1)), per_axis(["1", "(0, 1)"])
    ('2', '2×1', '1×(0, 1)')
    """
    texts = [str(v) for v in values]
    return texts[0] if len(set(texts)) == 1 else "×".join(texts)

@dataclass(frozen=True, init=False)
class ConvSpec:
    """A convolution layer: ``y[o, out] = b[o] + Σ_{c,k} w[o, c, k] · x[g(o)·C_in/groups + c,
    src(s·out + d·k − p)]`` (PyTorch's cross-correlation; ``convention='convolution'`` flips k).

    >>> spec = ConvSpec(in_channels=2, out_channels=3, kernel_size=3, input_size=(5, 5))
    >>> spec.output_size
    (3, 3)
    >>> spec.weight_shape
    (3, 2, 3, 3)

    'same' with an even kernel pads one less before than after, as PyTorch does:

    >>> ConvSpec(1, 1, kernel_size=4, input_size=6, padding="same").padding
    ((1, 2),)

    After construction every per-axis field is a tuple and ``padding`` is a tuple of
    (before, after) pairs. ``layout='NHWC'`` puts channels last (the paper's and TensorFlow's
    layout): x is (*input_size, C_in), w is (*kernel_size, C_in/groups, C_out) (HWIO),
    y is (*output_size, C_out).
    """

    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    input_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    groups: int
    bias: bool
    padding_mode: str
    convention: str
    layout: str
    dims: int = field(init=False)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple, input_size: IntOrTuple,
                 stride: IntOrTuple = 1, padding: Padding = 0, dilation: IntOrTuple = 1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", convention: str = "cross-correlation",
                 layout: str = "NCHW") -> None:
        """Validate the arguments and store them normalised: the fields hold tuples (one entry per
        spatial axis, padding as (before, after) pairs) whatever form the arguments took."""
        put = object.__setattr__
        dims = _dims_of(input_size, kernel_size)
        put(self, "dims", dims)
        c_in = as_int("in_channels", in_channels, 1)
        c_out = as_int("out_channels", out_channels, 1)
        n_groups = as_int("groups", groups, 1)
        if c_in % n_groups or c_out % n_groups:
            raise SpecError("groups", groups, f"must divide in_channels={c_in} and out_channels={c_out}")
        sizes = _per_axis("input_size", input_size, dims, 1)
        kernel = _per_axis("kernel_size", kernel_size, dims, 1)
        strides = _per_axis("stride", stride, dims, 1)
        dilations = _per_axis("dilation", dilation, dims, 1)
        one_of("padding_mode", padding_mode, PADDING_MODES)
        one_of("convention", convention, CONVENTIONS)
        one_of("layout", layout, LAYOUTS)
        bias = boolean("bias", bias)
        pads = _padding_pairs(padding, dims, kernel, strides, dilations)
        for axis, (n, (before, after)) in enumerate(zip(sizes, pads)):
            if padding_mode == "reflect" and max(before, after) >= n:
                raise SpecError("padding", padding,
                                f"reflect padding must be < the input size on every axis "
                                f"(axis {axis}: pad {max(before, after)}, size {n})")
            if padding_mode == "circular" and max(before, after) > n:
                raise SpecError("padding", padding,
                                f"circular padding must be ≤ the input size on every axis "
                                f"(axis {axis}: pad {max(before, after)}, size {n})")
        for axis, (n, k, d, (before, after)) in enumerate(zip(sizes, kernel, dilations, pads)):
            if kernel_span(k, d) > n + before + after:
                raise SpecError("kernel_size", kernel_size,
                                f"the dilated kernel must fit in the padded input "
                                f"(axis {axis}: dilation·(kernel−1)+1 = {kernel_span(k, d)} > "
                                f"input {n} + padding {before + after})")
        for name, value in (("in_channels", c_in), ("out_channels", c_out), ("kernel_size", kernel),
                            ("input_size", sizes), ("stride", strides), ("padding", pads),
                            ("dilation", dilations), ("groups", n_groups), ("bias", bias),
                            ("padding_mode", padding_mode), ("convention", convention), ("layout", layout)):
            put(self, name, value)
        self._check_counts()

    def _check_counts(self) -> None:
        """SpecError naming the parameter whose count passes MAX_ELEMENTS (x, w, y, and the
        output-position × kernel-tap pairs of the index pattern)."""
        counts = (("input_size", self.input_size, f"C_in·∏input_size (elements of x, C_in={self.in_channels})",
                   self.in_channels * prod(self.input_size)),
                  ("kernel_size", self.kernel_size, "C_out·C_in/groups·∏kernel_size (elements of w)",
                   self.out_channels * self.in_per_group * prod(self.kernel_size)),
                  ("input_size", self.input_size, "C_out·∏output_size (elements of y)",
                   self.out_channels * prod(self.output_size)),
                  ("input_size", self.input_size, "∏output_size·∏kernel_size (pattern entries)",
                   prod(self.output_size) * prod(self.kernel_size)))
        for name, value, what, count in counts:
            if count > MAX_ELEMENTS:
                raise SpecError(name, value, f"{what} = {count}, more than {MAX_ELEMENTS} = 2**48 "
                                             "(symconv.spec.MAX_ELEMENTS)")

    # ---- the pattern -------------------------------------------------------------------
    @cached_property
    def pattern(self) -> Pattern:
        """The per-axis index patterns (the core every form is a view of)."""
        axes = tuple(
            AxisPattern(n, k, s, d, before, after, self.padding_mode)
            for n, k, s, d, (before, after) in zip(self.input_size, self.kernel_size,
                                                   self.stride, self.dilation, self.padding))
        return Pattern(axes, flip=self.convention == "convolution")

    # ---- shapes --------------------------------------------------------------------------
    @property
    def output_size(self) -> tuple[int, ...]:
        return self.pattern.out_shape

    @property
    def in_per_group(self) -> int:
        """C_in / groups: the input channels each output channel sees."""
        return self.in_channels // self.groups

    @property
    def out_per_group(self) -> int:
        return self.out_channels // self.groups

    def group_of(self, out_channel: Index) -> Index:
        """g(o) = ⌊o / (C_out/groups)⌋ (of one channel, or elementwise of an integer array)."""
        return out_channel // self.out_per_group

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """(C_out, C_in/groups, *kernel_size) for NCHW; (*kernel_size, C_in/groups, C_out) for NHWC."""
        if self.layout == "NHWC":
            return (*self.kernel_size, self.in_per_group, self.out_channels)
        return (self.out_channels, self.in_per_group, *self.kernel_size)

    @property
    def input_shape(self) -> tuple[int, ...]:
        if self.layout == "NHWC":
            return (*self.input_size, self.in_channels)
        return (self.in_channels, *self.input_size)

    @property
    def output_shape(self) -> tuple[int, ...]:
        if self.layout == "NHWC":
            return (*self.output_size, self.out_channels)
        return (self.out_channels, *self.output_size)

    @property
    def toeplitz_shape(self) -> tuple[int, int]:
        """(C_out·∏out, C_in·∏in): the FC layer's weight matrix."""
        return (self.out_channels * prod(self.output_size), self.in_channels * prod(self.input_size))

    # ---- counts --------------------------------------------------------------------------
    @property
    def taps_read(self) -> int:
        """Number of (output position, kernel tap) pairs that read an input value."""
        return int((self.pattern.source_table >= 0).sum())

    @property
    def n_terms(self) -> int:
        """Monomials w·x in the definition: C_out · C_in/groups · taps_read.

        >>> spec = ConvSpec(2, 3, kernel_size=3, input_size=(5, 5), padding=1)
        >>> spec.taps_read, spec.n_terms, spec.n_bias_terms   # 25·9 − 56 taps read zeros
        (169, 1014, 75)
        """
        return self.out_channels * self.in_per_group * self.taps_read

    @property
    def n_bias_terms(self) -> int:
        return self.out_channels * prod(self.output_size) if self.bias else 0

    def describe(self) -> str:
        """A one-line human summary, e.g. for proof statements: a value per axis only where
        the axes differ (``stride=2``, ``stride=2×1``); a padding that differs before and after
        as ``(before, after)``.

        >>> ConvSpec(2, 4, 3, (6, 6), stride=(2, 1), padding=1, padding_mode="circular").describe()
        '2-D, C_in=2, C_out=4, input=6×6, kernel=3×3, stride=2×1, padding=1 (circular), bias'
        >>> ConvSpec(1, 1, 2, 5, padding=((0, 1),), bias=False).describe()
        '1-D, C_in=1, C_out=1, input=5, kernel=2, padding=(0, 1) (zeros), no bias'
        """
        parts = [f"{self.dims}-D", f"C_in={self.in_channels}", f"C_out={self.out_channels}",
                 f"input={'×'.join(map(str, self.input_size))}",
                 f"kernel={'×'.join(map(str, self.kernel_size))}"]
        if any(s != 1 for s in self.stride):
            parts.append(f"stride={per_axis(self.stride)}")
        if any(p != (0, 0) for p in self.padding):
            sides = [str(before) if before == after else f"({before}, {after})" for before, after in self.padding]
            parts.append(f"padding={per_axis(sides)} ({self.padding_mode})")
        if any(d != 1 for d in self.dilation):
            parts.append(f"dilation={per_axis(self.dilation)}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        parts.append("bias" if self.bias else "no bias")
        if self.convention != "cross-correlation":
            parts.append("true convolution")
        if self.layout != "NCHW":
            parts.append(self.layout)
        return ", ".join(parts)
