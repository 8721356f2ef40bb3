"""``symconv diff SIDE_A SIDE_B``: are two conv layers, each written in its framework's own words,
the same map? (``symconv.diff``; the grammar of a side in ``symconv.diffing.sides``.)"""

from __future__ import annotations

import argparse
import json

HELP = "compare two conv layers written in their frameworks' own words (torch, TF, ONNX, …) exactly"

EXAMPLES = """\
A SIDE is one argument: a framework, then KEY=VALUE words with the framework's own argument names.
Values: 3 · 1,9,9,3 · 1:2,0:1 (before:after pairs) · SAME · NHWC,HWIO,NHWC · 'text' · true/false/none.

examples:
  symconv diff "tensorflow input_shape=1,9,9,3 filter_shape=4,4,3,8 strides=2 padding=SAME" \\
               "onnx op=Conv auto_pad=SAME_LOWER x_shape=1,3,9,9 w_shape=8,3,4,4 strides=2,2"
  symconv diff "torch in_channels=3 out_channels=8 kernel_size=4 padding=same bias=false input_size=9,9" \\
               "tensorflow input_shape=1,9,9,3 filter_shape=4,4,3,8 padding=SAME"
  symconv diff "spec in_channels=1 out_channels=1 kernel_size=3 input_size=8 padding=1" \\
               "spec in_channels=1 out_channels=1 kernel_size=3 input_size=8 padding=1 convention=convolution" --json

frameworks: spec (ConvSpec fields), torch (module=Conv2d|ConvTranspose2d|…, the module's arguments,
input_size), tensorflow or tf (op=conv|conv_transpose), keras (layer=Conv2D|Conv2DTranspose|…, the
config, input_shape), jax (op=conv_general_dilated|conv_transpose), onnx (op=Conv|ConvTranspose,
attributes, x_shape, w_shape, bias=true), scipy (function=signal.correlate2d|ndimage.convolve|…).

exit codes: 0 the same map; 1 not the same: different, or the same only up to a weight permutation
(a flipped kernel, swapped channel axes: the first line says which); 2 bad input or any other
failure (one line on stderr)."""


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number of seconds > 0")
    return value


def register(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXAMPLES
    parser.add_argument("side_a", metavar="SIDE_A", help='a layer, e.g. "onnx op=Conv x_shape=1,3,9,9 w_shape=8,3,4,4"')
    parser.add_argument("side_b", metavar="SIDE_B", help="the layer to compare it with")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    parser.add_argument("--deadline", type=_seconds, default=None, metavar="SECONDS",
                        help="time for the search of smaller input sizes (default 10)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..diffing import diff
    from ..diffing.builders import build_side
    from ..diffing.search import DEADLINE
    deadline = DEADLINE if args.deadline is None else args.deadline
    a, b = build_side(args.side_a, "SIDE_A"), build_side(args.side_b, "SIDE_B")
    result = diff(a, b, deadline=deadline)
    print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False) if args.json else str(result))
    return 0 if result.same else 1
