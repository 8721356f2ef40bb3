"""The layer flags shared by every command that takes one layer (``prove``, ``check``).

Not a command itself (``symconv.cli`` skips modules whose name starts with "_"). It declares the
flags and parses them into a ConvSpec, so every command accepts the same spelling of a layer.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import SpecError

from ..pattern import PADDING_MODES
from ..spec import CONVENTIONS, LAYOUTS, ConvSpec


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """--in-channels … --layout: the ConvSpec fields with PyTorch's names."""
    layer = parser.add_argument_group("the layer (ConvSpec fields, PyTorch's names)")
    layer.add_argument("--in-channels", default="1", metavar="C", help="input channels (default 1)")
    layer.add_argument("--out-channels", default="1", metavar="C", help="output channels (default 1)")
    layer.add_argument("--kernel-size", required=True, metavar="K", help="3 or 3,3 (one per axis)")
    layer.add_argument("--input-size", required=True, metavar="N",
                       help="spatial input size, 5 or 5,5 or 3,3,3; its length sets 1-, 2- or 3-D")
    layer.add_argument("--stride", default="1", metavar="S", help="1 or 2,1 (default 1)")
    layer.add_argument("--padding", default="0", metavar="P",
                       help="1, 1,0, per-side pairs 1:2,0:1 (before:after), valid or same (default 0)")
    layer.add_argument("--dilation", default="1", metavar="D", help="1 or 2,2 (default 1)")
    layer.add_argument("--groups", default="1", metavar="G", help="channel groups (default 1)")
    layer.add_argument("--no-bias", action="store_true", help="a layer without bias")
    layer.add_argument("--padding-mode", default="zeros", choices=PADDING_MODES)
    layer.add_argument("--convention", default="cross-correlation", choices=CONVENTIONS,
                       help="cross-correlation (PyTorch) or convolution (flipped kernel)")
    layer.add_argument("--layout", default="NCHW", choices=LAYOUTS)


def spec_from_args(args: argparse.Namespace) -> ConvSpec:
    return ConvSpec(
        in_channels=_ints("--in-channels", args.in_channels),
        out_channels=_ints("--out-channels", args.out_channels),
        kernel_size=_ints("--kernel-size", args.kernel_size),
        input_size=_ints("--input-size", args.input_size),
        stride=_ints("--stride", args.stride),
        padding=_padding(args.padding),
        dilation=_ints("--dilation", args.dilation),
        groups=_ints("--groups", args.groups),
        bias=not args.no_bias,
        padding_mode=args.padding_mode,
        convention=args.convention,
        layout=args.layout,
    )


def _ints(parameter: str, text: str) -> int | tuple[int, ...]:
    """'3' → 3, '3,3' → (3, 3)."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise SpecError(parameter, text, "must be an integer or comma-separated integers, e.g. 3 or 3,3") from None
    return values[0] if len(values) == 1 else values


def _padding(text: str) -> Any:
    """'1', '1,2', '1:2,0:1' (before:after per axis), 'valid' or 'same'."""
    if text in ("valid", "same"):
        return text
    rule = ("must be an integer, comma-separated integers (one per axis), before:after pairs "
            "per axis like 1:2,0:1, 'valid' or 'same'")
    try:
        axes = [tuple(int(v) for v in part.split(":")) for part in text.split(",")]
    except ValueError:
        raise SpecError("--padding", text, rule) from None
    if any(len(axis) > 2 for axis in axes):
        raise SpecError("--padding", text, rule)
    if len(axes) == 1 and len(axes[0]) == 1:
        return axes[0][0]
    return tuple(axis[0] if len(axis) == 1 else axis for axis in axes)
