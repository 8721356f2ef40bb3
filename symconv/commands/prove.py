"""``symconv prove``: prove that a convolution layer is its FC (Toeplitz) layer and its im2col
product, and write the proof as JSON, LaTeX, PDF or a structure figure."""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..pattern import PADDING_MODES
from ..spec import CONVENTIONS, LAYOUTS, ConvSpec

HELP = "prove conv = FC layer (Toeplitz T) = im2col product for one layer; export LaTeX/PDF"

EXAMPLES = """\
examples:
  symconv prove --in-channels 2 --out-channels 3 --kernel-size 3 --input-size 5,5
  symconv prove --kernel-size 3 --input-size 8 --dilation 2 --padding same --summary
  symconv prove --in-channels 4 --out-channels 4 --groups 2 --kernel-size 3,3 --input-size 6,6 \\
                --padding 1:2,0:1 --padding-mode reflect --json
  symconv prove --kernel-size 2,2,2 --input-size 3,3,3 --latex proof.tex --pdf proof.pdf
  symconv prove --kernel-size 3,3 --input-size 16,16 --figure T.png --figure-of toeplitz

exit codes: 0 proved, 1 refuted (a counterexample is printed), 2 bad input or failed export
(one line on stderr; no output file is left behind)."""

ENGINES = ("pdflatex", "xelatex")
FIGURE_KINDS = ("toeplitz", "im2col")


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


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"{text} must be ≥ 2")
    return value


def register(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXAMPLES
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
    proof = parser.add_argument_group("the proof")
    proof.add_argument("--order", default="unfold", choices=("unfold", "paper"), help="im2col layout")
    proof.add_argument("--backend", default="auto", choices=("auto", "sympy", "exact"),
                       help="exact checker: SymPy polynomials or integer monomial keys (default auto)")
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    out.add_argument("--summary", action="store_true", help="print one line")
    out.add_argument("--latex", metavar="FILE", help="write the proof as a LaTeX document")
    out.add_argument("--fragment", action="store_true",
                     help="with --latex: a fragment to paste into a paper (needs amsmath, graphicx)")
    out.add_argument("--pdf", metavar="FILE", help="compile the proof to PDF with latexmk")
    out.add_argument("--engine", default="pdflatex", choices=ENGINES, help="TeX engine for --pdf")
    out.add_argument("--figure", metavar="FILE", help="structure figure: .pdf, .png (matplotlib) or .tex (TikZ)")
    out.add_argument("--figure-of", default="toeplitz", choices=FIGURE_KINDS, help="which matrix --figure draws")
    out.add_argument("--max-size", type=_positive, default=16, metavar="N",
                     help="elide matrices with more than N rows or columns in LaTeX (default 16)")
    parser.set_defaults(run=run)


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


def proof_json(proof: Any) -> dict[str, Any]:
    """The machine-readable result: verdict, statement, sizes, timings, counterexample."""
    cx = proof.counterexample
    return {
        "holds": proof.holds,
        "statement": proof.statement,
        "spec": proof.spec.describe(),
        "forms": list(proof.forms),
        "terms": proof.terms,
        "outputs": proof.outputs,
        "backend": proof.backend,
        "timings": {name: round(seconds, 6) for name, seconds in proof.timings.items()},
        "counterexample": None if cx is None else {
            "form": cx.form, "index": list(cx.index), "expected": str(cx.expected),
            "obtained": str(cx.obtained), "difference": str(cx.difference),
            "missing": [str(t) for t in cx.missing], "extra": [str(t) for t in cx.extra]},
    }


def _prove(spec: ConvSpec, args: argparse.Namespace) -> Any:
    from .. import proof as proof_module
    options: dict[str, Any] = {"order": args.order}
    parameters = inspect.signature(proof_module.prove).parameters
    if "backend" in parameters:
        options["backend"] = args.backend
    if "progress" in parameters:
        options["progress"] = sys.stderr.isatty() and not args.json
    return proof_module.prove(spec, **options)


def _exports(proof: Any, args: argparse.Namespace) -> None:
    """Make every requested file in memory or in a temporary directory first, then move each
    into place, so that a failure leaves no partial (or half of the requested) output."""
    from ..latex.build import LatexBuildError, TexNotFound, compile_latex, write_atomically
    from ..latex.figures import figure_content
    from ..latex.proof import proof_to_latex

    options = {"max_size": args.max_size, "order": args.order}
    figure = (figure_content(proof.spec, args.figure, kind=args.figure_of, order=args.order)
              if args.figure else None)
    latex = proof_to_latex(proof, standalone=not args.fragment, **options) if args.latex else None
    if args.pdf:
        try:
            compile_latex(proof_to_latex(proof, **options), args.pdf, engine=args.engine)
        except (TexNotFound, LatexBuildError) as error:
            raise SpecError("--pdf", args.pdf, str(error).splitlines()[0]) from None
    if latex is not None:
        write_atomically(args.latex, latex)
    if figure is not None:
        write_atomically(args.figure, figure)


def run(args: argparse.Namespace) -> int:
    if args.fragment and not args.latex:
        raise SpecError("--fragment", True, "only applies with --latex FILE")
    spec = spec_from_args(args)
    proof = _prove(spec, args)
    _exports(proof, args)
    if args.json:
        print(json.dumps(proof_json(proof), indent=2, ensure_ascii=False))
    elif args.summary:
        print(proof.summary().splitlines()[0])
    else:
        print(proof.summary())
    return 0 if proof.holds else 1
