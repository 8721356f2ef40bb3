"""The layer flags shared by every command that takes one layer (``prove``, ``check``).

Not a command itself (``symconv.cli`` skips modules whose name starts with "_"). The values are
parsed by ``symconv.commands.prove.spec_from_args``; this module only declares the flags, so
both commands accept the same spelling of a ConvSpec.
"""

from __future__ import annotations

import argparse

from ..pattern import PADDING_MODES
from ..spec import CONVENTIONS, LAYOUTS


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
