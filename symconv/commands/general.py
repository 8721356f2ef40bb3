"""``symconv general``: prove a theorem about convolution for all sizes at once."""

from __future__ import annotations

import argparse
import json

from ..errors import SpecError, integer, seconds

HELP = "prove a theorem for all sizes at once (symbolic n, k, s, p, d, channels, groups)"

EPILOG = """\
theorems:
  toeplitz   T·vec(x) = vec(y): the conv layer is an FC layer (zero padding, stride, dilation,
             channels, groups)
  im2col     the im2col product K·P is the convolution (--order unfold|paper)
  transpose  <T x, g> = <x, T^T g>, with T^T g the transposed convolution
  circulant  circular padding, stride 1: T is multi-level block circulant
  dft        circular padding, stride 1: sum_i T[(o,j),(c,i)] nu_c z^i = z^j (Lambda(z) nu)_o for
             z^n = 1, so the DFT block-diagonalises T with the kernel's DFT blocks Lambda(z)
             (checked exactly in Z[X]/(X^n - 1), i.e. for every n-th root of unity)
  nonlinear  sigma elementwise and stacked layers: conv2(sigma(conv1 x)) = T2 sigma(T1 x)
  padding    circular/reflect/replicate padding: T = T0 R, R the 0/1 padding matrix
             (--padding-mode; toeplitz --padding-mode MODE proves T x = y for that mode)

examples:
  symconv general toeplitz --dims 2
  symconv general im2col --dims 3 --order paper --json
  symconv general circulant --dims 2 --latex circulant.tex --pdf circulant.pdf
  symconv general dft --dims 2 --pdf dft.pdf
  symconv general toeplitz --claim "Sum(w[t]*KroneckerDelta(i, s*j + d*t - p), (t, 0, k - 1))"
  symconv general toeplitz --assume d=1 \\
      --claim "Piecewise((w[i - s*j + p], (i - s*j + p >= 0) & (i - s*j + p < k)), (0, True))"

--claim checks a closed form for an entry of one channel block: T[j, i] (toeplitz) or P[t, j]
(im2col; --order paper: P[j, t]), in the symbols n k s d p q m j i t w x (suffixed _1, _2, _3
per axis for --dims 2, 3); with --channels for T[(g, h, j), (c, i)] or P[(c, t), j] with the
channel symbols G Ci Co g h c, o = Co*g + h, w[o, c - Ci*g, t] and x[c, i]. The claim is read by
a fixed grammar and never run as Python: integers, those symbols, w[...], x[...], + - * / ^ (or **)
% //, comparisons, & | ~, and the functions Sum KroneckerDelta Piecewise floor ceiling Mod Max Min
Abs Rational And Or Not Eq Ne Lt Le Gt Ge; powers and sizes are bounded (symconv.parsing).

Exit code: 0 proved, 1 refuted (the failing step and a counterexample are printed), 2 not
proved without a counterexample (the failing step is printed), bad input or any other failure.
"""

ENGINES = ("pdflatex", "xelatex")


def register(parser: argparse.ArgumentParser) -> None:
    from ..general import THEOREMS
    from ..general.derivation import DEADLINE
    parser.epilog = EPILOG
    parser.add_argument("theorem", choices=sorted(THEOREMS), metavar="THEOREM",
                        help=f"one of {', '.join(THEOREMS)}")
    parser.add_argument("--dims", type=int, default=1, help="spatial dimensions: 1, 2 or 3")
    parser.add_argument("--order", default=None, help="im2col only: unfold (default) or paper")
    parser.add_argument("--claim", metavar="EXPR", help="toeplitz/im2col: a claimed entry formula")
    parser.add_argument("--channels", action="store_true",
                        help="with --claim: the entry with channels and groups (symbols G Ci Co "
                             "g h c; w[o, c', t], x[c, i])")
    parser.add_argument("--padding-mode", default=None, metavar="MODE",
                        help="toeplitz: zeros (default), circular, reflect or replicate; "
                             "padding: circular, reflect (default) or replicate")
    parser.add_argument("--assume", metavar="LIST", default="",
                        help="with --claim: fixed hyperparameters, e.g. d=1,s=1")
    parser.add_argument("--instances", type=int, default=None, metavar="N",
                        help="random exact instances per step (default: 6, claims 20)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random instances")
    parser.add_argument("--deadline", type=float, default=None, metavar="SECONDS",
                        help=f"wall-clock bound of the derivation (default {DEADLINE:g} s); past it NOT PROVED")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    parser.add_argument("--latex", metavar="FILE", help="write the derivation as a LaTeX document")
    parser.add_argument("--pdf", metavar="FILE", help="compile the derivation to PDF with latexmk")
    parser.add_argument("--engine", default="pdflatex", choices=ENGINES, help="TeX engine for --pdf")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..general import prove_general
    from ..latex.build import pdf_bytes
    from ._outputs import output_files, report_written, write_outputs

    outputs = output_files({"--latex": args.latex, "--pdf": args.pdf})  # fail before the proof
    options: dict = {"seed": args.seed}
    if args.deadline is not None:
        options["deadline"] = seconds("--deadline", args.deadline)
    if args.instances is not None:
        options["instances"] = integer("--instances", args.instances, minimum=1)
    if args.order is not None:
        if args.theorem != "im2col":
            raise SpecError("--order", args.order, "only applies to the theorem im2col")
        options["order"] = args.order
    if args.padding_mode is not None:
        if args.theorem not in ("toeplitz", "padding") or args.claim is not None:
            raise SpecError("--padding-mode", args.padding_mode,
                            "only applies to the theorems toeplitz and padding (without --claim)")
        options["padding_mode"] = args.padding_mode
    if args.channels and args.claim is None:
        raise SpecError("--channels", True, "only applies with --claim")
    if args.claim is not None:
        derivation = _claim(args, options)
    elif args.assume:
        raise SpecError("--assume", args.assume, "only applies with --claim")
    else:
        derivation = prove_general(args.theorem, dims=args.dims, **options)
    source = derivation.to_latex() if outputs else None
    contents = {"--latex": source} if args.latex else {}
    if args.pdf:
        contents["--pdf"] = pdf_bytes(source, "--pdf", args.pdf, args.engine)
    written = write_outputs({flag: (outputs[flag], content) for flag, content in contents.items()})
    if args.json:
        print(json.dumps(derivation.to_json(), indent=2, ensure_ascii=False))
    else:
        print(derivation.summary())
    report_written(written, quiet_stdout=args.json)
    # 2 for NOT PROVED: neither proved nor refuted (no counterexample was found)
    return 0 if derivation.holds else 1 if derivation.refuted else 2


def _claim(args: argparse.Namespace, options: dict):
    """check_claim with the claim and the assumptions read in the claim's symbols (by
    symconv.parsing's fixed grammar: the text is never evaluated as Python)."""
    from ..general import check_claim, symbols_for
    from ..parsing import parse_expression, symbol_table
    if args.theorem not in ("toeplitz", "im2col"):
        raise SpecError("--claim", args.claim, "only applies to the theorems toeplitz and im2col")
    names = symbol_table(vars(symbols_for(args.theorem, args.dims, channels=args.channels)).values())
    entry = parse_expression(args.claim, names, parameter="--claim")
    assume = {}
    for item in filter(None, (part.strip() for part in args.assume.split(","))):
        name, _, value = item.partition("=")
        symbol = names.get(name.strip())
        if symbol is None or symbol in (names["w"], names["x"]) or not _is_integer(value.strip()):
            raise SpecError("--assume", args.assume, "must be NAME=INTEGER pairs, e.g. d=1,s=1")
        if symbol in assume:   # one value per name: a second would silently replace the first
            raise SpecError("--assume", args.assume, f"{name.strip()} given twice")
        assume[symbol] = int(value)
    return check_claim(args.theorem, entry, dims=args.dims, assume=assume,
                       channels=args.channels, **options)


def _is_integer(text: str) -> bool:
    """'-12' yes; '1_000', '١', '' and 4301-digit numbers no (int() would accept the first two)."""
    digits = text[1:] if text.startswith("-") else text
    return digits.isascii() and digits.isdigit() and len(digits) <= 100
