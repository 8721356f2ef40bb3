"""``symconv notes``: execute the derivations/ notebooks and export them as lecture notes."""

from __future__ import annotations

import argparse
import sys

HELP = "execute the derivations/ notebooks and export them (PDF, HTML, LaTeX) plus a PDF book"

EPILOG = """\
examples:
  symconv notes                                  all notebooks in ./derivations -> notes-out/
  symconv notes --format html derivations/01_conv1d_toeplitz.ipynb
  symconv notes --out /tmp/notes --format pdf,latex --no-book

Each notebook runs in a fresh kernel; a failing cell stops the build (exit 1) naming the
notebook and the cell. Without xelatex the default formats are latex,html.
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                        help="notebooks or directories (default: all of ./derivations)")
    parser.add_argument("--out", default="notes-out", metavar="DIR",
                        help="output directory (default: notes-out)")
    parser.add_argument("--format", default=None, metavar="LIST",
                        help="comma-separated subset of pdf,html,latex "
                             "(default: all that this machine can build)")
    parser.add_argument("--no-book", action="store_true",
                        help="skip the combined book of all chapters")
    parser.add_argument("--timeout", type=int, default=None, metavar="SECONDS",
                        help="per-cell time limit (default: 300)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import notes
    from ..errors import SpecError, integer

    if args.timeout is not None:
        integer("timeout", args.timeout, minimum=1)
    missing = [m for m in ("nbclient", "nbconvert", "nbformat", "ipykernel") if not _importable(m)]
    if missing:
        raise SpecError("notes", ", ".join(missing),
                        "these packages are needed: pip install 'symconv[notes]'")
    from ..latex.build import check_output_path
    check_output_path("--out", args.out, directory=True)
    notebooks = notes.discover(args.notebooks)
    formats, hint = notes.parse_formats(args.format)
    if hint:
        print(hint, file=sys.stderr)
    print(f"Building {len(notebooks)} notebook(s) as {','.join(formats)} into {args.out}/")
    try:
        result = notes.build(notebooks, args.out, formats, book=not args.no_book,
                             timeout=args.timeout or notes.CELL_TIMEOUT)
    except notes.NotesError as error:  # one line; the full message (a log tail) with --debug
        lines = str(error).strip().splitlines() or [type(error).__name__]
        print(f"symconv notes: {lines[0]}{' […]' if len(lines) > 1 else ''}; build failed, nothing "
              f"was written to {args.out}/", file=sys.stderr)
        if getattr(args, "debug", False) and len(lines) > 1:
            print(str(error), file=sys.stderr)
        return 1
    print(notes.report(result))
    return 0


def _importable(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None
