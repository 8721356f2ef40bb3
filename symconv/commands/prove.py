"""``symconv prove``: prove that a convolution layer is its FC (Toeplitz) layer and its im2col
product, and write the proof as JSON, LaTeX, PDF or a structure figure."""

from __future__ import annotations

import argparse
import json
import sys
from math import prod
from typing import Any

from ..errors import SpecError
from ..spec import ConvSpec
from ._outputs import output_files, report_written, write_outputs
from ._spec_args import (
    MATRIX_FLAGS,
    MATRIX_FORMAT,
    add_matrix_arguments,
    add_spec_arguments,
    matrices_from_args,
    spec_from_args,
)

HELP = "prove conv = FC layer (Toeplitz T) = im2col product for one layer; export LaTeX/PDF"

EXAMPLES = """\
examples:
  symconv prove --in-channels 2 --out-channels 3 --kernel-size 3 --input-size 5,5
  symconv prove --kernel-size 3 --input-size 8 --dilation 2 --padding same --summary
  symconv prove --in-channels 4 --out-channels 4 --groups 2 --kernel-size 3,3 --input-size 6,6 \\
                --padding 1:2,0:1 --padding-mode reflect --json
  symconv prove --kernel-size 2,2,2 --input-size 3,3,3 --latex proof.tex --pdf proof.pdf
  symconv prove --kernel-size 3,3 --input-size 16,16 --figure T.png --figure-of toeplitz
  symconv prove --kernel-size 2 --input-size 3 --no-bias --toeplitz my_T.txt --pdf refuted.pdf

exit codes: 0 proved, 1 refuted (a counterexample is printed), 2 bad input or failed export
(one line on stderr; no output file is left behind).

""" + MATRIX_FORMAT

ENGINES = ("pdflatex", "xelatex")
FIGURE_KINDS = ("toeplitz", "im2col")


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
    add_spec_arguments(parser)
    add_matrix_arguments(parser)
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
            "obtained": str(cx.obtained), "difference": str(cx.difference), "reason": cx.reason,
            "missing": [str(t) for t in cx.missing], "extra": [str(t) for t in cx.extra]},
    }


BYTES_PER_READ_ENTRY = 64
"""A dense entry of a matrix file once read: its slots in the rows, the SymPy matrix and copies."""


def _prove(spec: ConvSpec, args: argparse.Namespace) -> Any:
    """The proof, of symconv's forms or of the user's matrices read from the files given."""
    from .. import backends
    from ..forms.im2col import factor_shapes
    from ..proof import prove
    patches, kernel = factor_shapes(spec, args.order)
    shapes = {"toeplitz": spec.toeplitz_shape, "im2col": patches, "kernel_matrix": kernel,
              "output": spec.output_shape}
    # before reading files (their symbols and dense entries count too) and before the proof
    read = sum(BYTES_PER_READ_ENTRY * prod(shape) for keyword, shape in shapes.items()
               if getattr(args, keyword) is not None)
    backends.check_memory(spec, backends.choose(args.backend), None, read)
    given = matrices_from_args(args, spec, shapes)
    return prove(spec, order=args.order, backend=args.backend,
                 progress=sys.stderr.isatty() and not args.json, **given)


def _exports(proof: Any, args: argparse.Namespace, outputs: dict[str, Any]) -> dict[str, tuple[Any, str | bytes]]:
    """Every requested file, made in memory first ({flag: (path, content)}): they are written
    all or none, so that a failure leaves no partial or half of the output."""
    from ..latex.build import pdf_bytes
    from ..latex.figures import figure_content
    from ..latex.proof import proof_to_latex

    options = {"max_size": args.max_size, "order": args.order}
    contents = {}
    if args.figure:
        contents["--figure"] = figure_content(proof.spec, args.figure, kind=args.figure_of, order=args.order)
    if args.latex:
        contents["--latex"] = proof_to_latex(proof, standalone=not args.fragment, **options)
    if args.pdf:
        contents["--pdf"] = pdf_bytes(proof_to_latex(proof, **options), "--pdf", args.pdf, args.engine)
    return {flag: (outputs[flag], content) for flag, content in contents.items()}


def run(args: argparse.Namespace) -> int:
    if args.fragment and not args.latex:
        raise SpecError("--fragment", True, "only applies with --latex FILE")
    spec = spec_from_args(args)
    # before the proof: a bad path, or one that would overwrite a matrix file read, fails at once
    outputs = output_files({"--latex": args.latex, "--pdf": args.pdf, "--figure": args.figure},
                           {flag: getattr(args, keyword) for keyword, flag in MATRIX_FLAGS.items()})
    if args.figure:  # before the proof: a figure too large to draw wastes no proof
        from ..latex.figures import check_figure_size
        check_figure_size(spec, args.figure_of, args.order)
    proof = _prove(spec, args)
    written = write_outputs(_exports(proof, args, outputs))
    if args.json:
        print(json.dumps(proof_json(proof), indent=2, ensure_ascii=False))
    elif args.summary:
        print(proof.summary().splitlines()[0])
    else:
        print(proof.summary())
    report_written(written, quiet_stdout=args.json or args.summary)
    return 0 if proof.holds else 1
