"""JAX's ``lax.conv_general_dilated`` and ``lax.conv_transpose`` as presets, from the shapes and
arguments of the call; JAX itself is not needed.

``dimension_numbers`` name the axes: strings like ("NHWC", "HWIO", "NHWC") (N, C of the data; O, I
of the kernel; the spatial axes matched by letter, in the kernel's order, which is also the
order of ``window_strides``, ``padding`` and the dilations), a ``ConvDimensionNumbers`` (the same
as index permutations), or None (("NCHW", "OIHW", "NCHW") in any rank). 'SAME' pads
(⌈n/s⌉ − 1)·s + d·(K − 1) + 1 − n in total with the odd one after, 'SAME_LOWER' before
(``conventions.same_padding``).

``lhs_dilation`` s > 1 inserts s − 1 zeros between the inputs: with stride 1 and pads (lo, hi)
the conv of the dilated input is the transposed conv of the forward conv with stride s, the
kernel flipped and O, I swapped (per group), and padding p_before = d·(K − 1) − lo,
p_after − output_padding = d·(K − 1) − hi. ``lax.conv_transpose`` is that conv, with strings
'SAME'/'VALID' (or pairs, ``use_consistent_padding=True``) read as the forward conv's padding;
its kernel is used as given (``transpose_kernel=False``: NOT the forward conv's kernel but its
flip with O and I swapped) or flipped and swapped first (``transpose_kernel=True``: then it is
the forward conv's kernel, as in TensorFlow and torch).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from ..errors import SpecError, boolean, integer
from ..interop.specs import valid_shape
from ..spec import _per_axis
from .conventions import (
    SPATIAL_LETTERS,
    checked_spec,
    forward_of_transposed,
    layout_maps,
    same_padding,
    spec_letters,
    split_output_padding,
)
from .layer import ArrayMap, FrameworkConv

NAMES = {"kernel_size": "rhs_shape", "input_size": "lhs_shape", "stride": "window_strides",
         "dilation": "rhs_dilation", "padding": "padding", "groups": "feature_group_count",
         "in_channels": "lhs_shape", "out_channels": "rhs_shape"}
TRANSPOSE_NAMES = NAMES | {"stride": "strides"}
DEFAULT_TRANSPOSE_NUMBERS = {3: ("NHC", "HIO", "NHC"), 4: ("NHWC", "HWIO", "NHWC"), 5: ("NHWDC", "HWDIO", "NHWDC")}
"""``lax.conv_transpose``'s default dimension_numbers by rank (TensorFlow's layout)."""


def _permutations(dimension_numbers: Any, ndim: int) -> tuple[tuple[int, ...], ...]:
    """(lhs, rhs, out) permutations as ``lax.conv_general_permutations`` gives them: (N, C, *spatial),
    (O, I, *spatial), (N, C, *spatial), the spatial axes in the kernel's order."""
    rule = (f"must be None, a ConvDimensionNumbers, or 3 strings of length {ndim} (lhs with N and C, rhs with O "
            f"and I, out with N and C, the same spatial letters in each)")
    if dimension_numbers is None:
        return (tuple(range(ndim)),) * 3
    if not isinstance(dimension_numbers, (tuple, list)) or len(dimension_numbers) != 3:
        raise SpecError("dimension_numbers", dimension_numbers, rule)
    if all(isinstance(spec, str) for spec in dimension_numbers):
        lhs, rhs, out = dimension_numbers
        spatial = [c for c in rhs if c not in "OI"]
        for spec, pair in ((lhs, "NC"), (rhs, "OI"), (out, "NC")):
            if len(spec) != ndim or len(set(spec)) != ndim or sorted(spec) != sorted(pair + "".join(spatial)):
                raise SpecError("dimension_numbers", dimension_numbers, rule)
        return tuple((spec.index(pair[0]), spec.index(pair[1]), *(spec.index(c) for c in spatial))
                     for spec, pair in ((lhs, "NC"), (rhs, "OI"), (out, "NC")))
    perms = tuple(tuple(p) if isinstance(p, (tuple, list)) else () for p in dimension_numbers)
    if any(sorted(p) != list(range(ndim)) for p in perms):   # ConvDimensionNumbers: index permutations
        raise SpecError("dimension_numbers", dimension_numbers, rule)
    return perms


def _axis_letters(perm: tuple[int, ...], pair: str) -> str:
    """The letters of an array's axes from its permutation: ``pair`` (N, C or O, I), then D, H, W."""
    letters = [""] * len(perm)
    for letter, axis in zip(pair + SPATIAL_LETTERS[len(perm) - 2], perm):
        letters[axis] = letter
    return "".join(letters)


def _parsed(lhs_shape: Any, rhs_shape: Any, dimension_numbers: Any) -> tuple:
    """(lhs, rhs: validated shapes, letters of lhs/rhs/out without the batch axis, channels, sizes,
    kernel), with the batch axis first in lhs and out (symconv's maps keep a leading batch axis)."""
    lhs = valid_shape("lhs_shape", lhs_shape)
    rhs = valid_shape("rhs_shape", rhs_shape, len(lhs))
    if len(lhs) - 2 not in SPATIAL_LETTERS:
        raise SpecError("lhs_shape", lhs_shape, "must have 3, 4 or 5 axes (1, 2 or 3 spatial ones)")
    perms = _permutations(dimension_numbers, len(lhs))
    if perms[0][0] != 0 or perms[2][0] != 0:
        raise SpecError("dimension_numbers", dimension_numbers, "the batch axis N must come first in lhs and out "
                                                                "(symconv's maps keep a leading batch axis)")
    letters = [_axis_letters(p, pair) for p, pair in zip(perms, ("NC", "OI", "NC"))]
    return (lhs, rhs, letters[0][1:], letters[1], letters[2][1:], lhs[perms[0][1]],
            tuple(lhs[a] for a in perms[0][2:]), tuple(rhs[a] for a in perms[1][2:]), perms[1])


def _explicit(padding: Any, dims: int, minimum: int | None) -> tuple[tuple[int, int], ...]:
    """Padding pairs (lo, hi), one per spatial axis, each ≥ ``minimum`` (None: any int, cropping)."""
    rule = f"must be 'SAME', 'SAME_LOWER', 'VALID' or {dims} (low, high) pairs of ints"
    if isinstance(padding, str) or not isinstance(padding, (tuple, list)) or len(padding) != dims:
        raise SpecError("padding", padding, rule)
    if any(not isinstance(pair, (tuple, list)) or len(pair) != 2 for pair in padding):
        raise SpecError("padding", padding, rule)
    pairs = tuple((integer("padding", lo), integer("padding", hi)) for lo, hi in padding)
    if minimum is not None and min(min(pair) for pair in pairs) < minimum:
        raise SpecError("padding", padding, f"every pad must be ≥ {minimum}: a negative pad crops the input, "
                                            f"which no ConvSpec does")
    return pairs


def from_jax(lhs_shape: Any, rhs_shape: Any, window_strides: Any, padding: Any, lhs_dilation: Any = None,
             rhs_dilation: Any = None, dimension_numbers: Any = None, feature_group_count: Any = 1) -> FrameworkConv:
    """The conv ``lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation,
    rhs_dilation, dimension_numbers, feature_group_count)`` computes on ``lhs_shape`` data and a
    ``rhs_shape`` kernel; ``lhs_dilation`` > 1 makes it a transposed conv (``.transposed``).

    >>> layer = from_jax((1, 5, 5, 2), (4, 4, 2, 3), (1, 1), "SAME_LOWER", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    >>> layer.spec.padding, layer.spec.layout                     # the odd row before
    (((2, 1), (2, 1)), 'NHWC')
    >>> up = from_jax((1, 1, 4), (1, 1, 3), (1,), [(1, 2)], lhs_dilation=(2,))   # a transposed conv
    >>> up.spec.padding, up.output_padding, up.weight_map.describe()
    (((1, 1),), (1,), 'IOW → OIW, kernel flipped on W')
    """
    lhs, rhs, x_letters, w_letters, y_letters, channels, sizes, kernel, rhs_perm = _parsed(
        lhs_shape, rhs_shape, dimension_numbers)
    dims = len(sizes)
    groups = integer("feature_group_count", feature_group_count, 1)
    stride = _per_axis("window_strides", window_strides, dims, 1)
    dilation = _per_axis("rhs_dilation", 1 if rhs_dilation is None else rhs_dilation, dims, 1)
    fractional = _per_axis("lhs_dilation", 1 if lhs_dilation is None else lhs_dilation, dims, 1)
    arguments = {"lhs_shape": lhs_shape, "rhs_shape": rhs_shape, "window_strides": window_strides,
                 "padding": padding, "lhs_dilation": lhs_dilation, "rhs_dilation": rhs_dilation,
                 "dimension_numbers": dimension_numbers, "feature_group_count": feature_group_count}
    call = "lax.conv_general_dilated(lhs, rhs, " + ", ".join(f"{k}={v!r}" for k, v in list(arguments.items())[2:]) + ")"
    rebuild = partial(_at_size, from_jax, arguments, "lhs_shape", x_letters)
    if any(s != 1 for s in fractional):
        if any(s != 1 for s in stride):
            raise SpecError("window_strides", window_strides, "must be 1 on every axis with lhs_dilation > 1: a "
                            "strided conv of a dilated input is no single conv's transpose")
        if isinstance(padding, str):
            raise SpecError("padding", padding, "JAX takes no string padding with lhs_dilation > 1 "
                                                "(pass pairs, or use lax.conv_transpose)")
        parts = (x_letters, w_letters, y_letters, channels, sizes, kernel, (rhs[rhs_perm[0]], rhs[rhs_perm[1]]),
                 groups, False)
        return _transposed(TRANSPOSE_NAMES | {"stride": "lhs_dilation"}, arguments, call, rebuild, parts,
                           _explicit(padding, dims, None), fractional, dilation)
    if isinstance(padding, str) and padding.upper() in ("SAME", "SAME_LOWER", "VALID"):
        pads = tuple((0, 0) if padding.upper() == "VALID" else same_padding(n, k, s, d, padding.upper() != "SAME")
                     for n, k, s, d in zip(sizes, kernel, stride, dilation))
    else:
        pads = _explicit(padding, dims, 0)
    spec = checked_spec(NAMES, arguments, in_channels=channels, out_channels=rhs[rhs_perm[0]], kernel_size=kernel,
                        input_size=sizes, stride=stride, padding=pads, dilation=dilation, groups=groups, bias=False,
                        layout="NHWC" if x_letters.endswith("C") else "NCHW")
    _check_channels("rhs_shape", rhs_shape, rhs[rhs_perm[1]] * groups, channels)
    return FrameworkConv("jax", call, spec, *layout_maps(spec, x_letters, w_letters, output_letters=y_letters),
                         arguments=tuple(arguments.items()), rebuild=rebuild)


def _check_channels(name: str, value: Any, have: int, channels: int) -> None:
    if have != channels:
        raise SpecError(name, value, f"its I entry × feature_group_count = {have} must equal lhs's {channels} channels")


def _at_size(preset: Any, arguments: dict[str, Any], name: str, letters: str, size: tuple[int, ...]) -> FrameworkConv:
    """``preset`` again with the spatial sizes of ``arguments[name]`` (letters after N) replaced."""
    shape = list(arguments[name])
    for axis, n in zip((i + 1 for i, c in enumerate(letters) if c != "C"), _in_kernel_order(letters, size)):
        shape[axis] = n
    return preset(**(arguments | {name: tuple(shape)}))


def _in_kernel_order(letters: str, size: tuple[int, ...]) -> list[int]:
    """``size`` (in the kernel's spatial order D, H, W) reordered as ``letters`` holds those axes."""
    spatial = SPATIAL_LETTERS[len(size)]
    return [size[spatial.index(c)] for c in letters if c != "C"]


def _swapped_weights(letters: str, spec: Any, groups: int) -> ArrayMap:
    """The map from a kernel of the dilated-input conv (its O: the forward conv's input channels,
    its I: the forward conv's output channels per group) to the forward conv's weight: O and I
    swapped within each of the ``groups`` groups, the kernel flipped."""
    spatial = SPATIAL_LETTERS[spec.dims]
    swapped = letters.translate(str.maketrans("OI", "IO"))   # the axes named as the forward conv names them
    target = spec_letters(spec.dims, spec.layout)[1]
    shape = tuple(spec.weight_shape[target.index(c)] * (groups if c == "I" else 1) // (groups if c == "O" else 1)
                  for c in swapped)
    if groups == 1:
        return ArrayMap.by_labels(swapped, target, shape, flip=spatial)
    staged = swapped.replace("I", "gI")   # the forward input channels split as (group, channel in group)
    size = dict(zip(swapped, shape))
    staged_shape = tuple(groups if c == "g" else size["I"] // groups if c == "I" else size[c] for c in staged)
    order = target.replace("O", "gO")     # the forward output channel is (group, channel in group)
    return ArrayMap(shape, spec.weight_shape, tuple(staged.index(c) for c in order),
                    tuple(target.index(c) for c in spatial), staged_shape, labels=(swapped, target))


def _transposed(names: dict[str, str], arguments: dict[str, Any], call: str, rebuild: Any, parts: tuple,
                pads: tuple[tuple[int, int], ...], stride: tuple[int, ...], dilation: tuple[int, ...]) -> FrameworkConv:
    """The transposed conv that the conv of the ``stride``-dilated input with pads (lo, hi) is."""
    x_letters, w_letters, y_letters, channels, sizes, kernel, (rhs_o, rhs_i), groups, forward_kernel = parts
    have = rhs_o if forward_kernel else rhs_i * groups
    if have != channels:
        raise SpecError(names["kernel_size"], arguments[names["kernel_size"]],
                        f"its {'O' if forward_kernel else 'I × feature_group_count'} entry {have} must equal "
                        f"lhs's {channels} channels")
    forward_pads, output_padding = [], []
    for k, s, d, (lo, hi) in zip(kernel, stride, dilation, pads):
        before, after_minus = d * (k - 1) - lo, d * (k - 1) - hi
        split = split_output_padding(before, after_minus, s, d) if before >= 0 else None
        if split is None:
            raise SpecError(names["padding"], arguments[names["padding"]],
                            f"pads (lo, hi) = ({lo}, {hi}) of the dilated input with d·(K − 1) = {d * (k - 1)} are no "
                            f"transposed conv: its forward conv would pad d·(K − 1) − lo = {before} before (must be "
                            f"≥ 0) and p_after = d·(K − 1) − hi + output_padding = {after_minus} + output_padding "
                            f"after, with p_after ≥ 0 and 0 ≤ output_padding < max(s, d) = {max(s, d)}")
        forward_pads.append((before, split[0]))
        output_padding.append(split[1])
    spec = forward_of_transposed(names, arguments, sizes, tuple(forward_pads), tuple(output_padding),
                                 in_channels=rhs_i if forward_kernel else rhs_o, out_channels=channels,
                                 kernel_size=kernel, stride=stride, dilation=dilation, groups=groups,
                                 layout="NHWC" if x_letters.endswith("C") else "NCHW")
    weights = w_letters if forward_kernel else _swapped_weights(w_letters, spec, groups)
    maps = layout_maps(spec, x_letters, weights, output_padding=tuple(output_padding), output_letters=y_letters)
    return FrameworkConv("jax", call, spec, *maps, transposed=True, output_padding=tuple(output_padding),
                         arguments=tuple(arguments.items()), rebuild=rebuild, bias=False)


def _string_pads(padding: str, span: int, stride: int) -> tuple[int, int]:
    """``lax.conv_transpose``'s pads of the dilated input for the forward conv's 'SAME' or 'VALID'
    (span = d·(K − 1) + 1): SAME pads span + s − 2 (lo = span − 1 when s > span − 1, else the
    larger half), VALID span + s − 2 + max(span − s, 0) with lo = span − 1."""
    if padding == "SAME":
        total = span + stride - 2
        lo = span - 1 if stride > span - 1 else -(-total // 2)
    else:
        total, lo = span + stride - 2 + max(span - stride, 0), span - 1
    return lo, total - lo


def from_jax_transpose(lhs_shape: Any, rhs_shape: Any, strides: Any, padding: Any, rhs_dilation: Any = None,
                       dimension_numbers: Any = None, transpose_kernel: Any = False,
                       use_consistent_padding: Any = False) -> FrameworkConv:
    """The transposed conv ``lax.conv_transpose(lhs, rhs, strides, padding, rhs_dilation,
    dimension_numbers, transpose_kernel, use_consistent_padding=…)`` computes (default
    dimension_numbers: TensorFlow's NHWC, HWIO).

    >>> plain = from_jax_transpose((1, 4, 1), (3, 1, 2), (2,), "SAME")
    >>> plain.weight_map.describe(), plain.spec.padding, plain.output_padding
    ('WOI → WIO, kernel flipped on W', ((0, 1),), (0,))
    >>> from_jax_transpose((1, 4, 1), (3, 2, 1), (2,), "SAME", transpose_kernel=True).weight_map.describe()
    'unchanged'
    """
    lhs = valid_shape("lhs_shape", lhs_shape)
    numbers = DEFAULT_TRANSPOSE_NUMBERS.get(len(lhs)) if dimension_numbers is None else dimension_numbers
    lhs, rhs, x_letters, w_letters, y_letters, channels, sizes, kernel, rhs_perm = _parsed(lhs_shape, rhs_shape,
                                                                                           numbers)
    dims = len(sizes)
    stride = _per_axis("strides", strides, dims, 1)
    dilation = _per_axis("rhs_dilation", 1 if rhs_dilation is None else rhs_dilation, dims, 1)
    forward_kernel = boolean("transpose_kernel", transpose_kernel)
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if isinstance(padding, str) and (padding in ("SAME", "VALID")):
        pads = tuple(_string_pads(padding, span, s) for span, s in zip(spans, stride))
    elif isinstance(padding, str):
        raise SpecError("padding", padding, "lax.conv_transpose takes 'SAME', 'VALID' (upper case) or pairs")
    elif boolean("use_consistent_padding", use_consistent_padding):   # pairs: the forward conv's padding
        pads = tuple((span - 1 - p, span - 1 - q) for span, (p, q) in zip(spans, _explicit(padding, dims, 0)))
    else:
        pads = _explicit(padding, dims, None)
    arguments = {"lhs_shape": lhs_shape, "rhs_shape": rhs_shape, "strides": strides, "padding": padding,
                 "rhs_dilation": rhs_dilation, "dimension_numbers": dimension_numbers,
                 "transpose_kernel": transpose_kernel, "use_consistent_padding": use_consistent_padding}
    call = "lax.conv_transpose(lhs, rhs, " + ", ".join(f"{k}={v!r}" for k, v in list(arguments.items())[2:]) + ")"
    parts = (x_letters, w_letters, y_letters, channels, sizes, kernel, (rhs[rhs_perm[0]], rhs[rhs_perm[1]]), 1,
             forward_kernel)
    return _transposed(TRANSPOSE_NAMES, arguments, call, partial(_at_size, from_jax_transpose, arguments,
                                                                 "lhs_shape", x_letters), parts, pads, stride, dilation)
