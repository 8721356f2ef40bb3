"""The ``symconv`` command. Each subcommand lives in ``symconv/commands/<name>.py`` (modules named
``_*.py`` there are shared helpers, not commands) and exposes

    HELP: str                                   one line for the command list
    register(parser: argparse.ArgumentParser)   adds its flags and sets ``run=func``
    run(args) -> int                             the exit code (0 proved, 1 refuted, 2 bad input)

Bad input (``SpecError``/``ValueError`` raised by symconv) prints one line to stderr and exits 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import commands
from .errors import SpecError

EXIT_PROVED, EXIT_REFUTED, EXIT_BAD_INPUT = 0, 1, 2

DESCRIPTION = """\
symconv proves, with exact algebra, that a convolution layer is a fully connected layer with a
(multi-level) Toeplitz weight matrix and is the im2col matrix product, and writes the proofs
as LaTeX."""

EPILOG = """\
examples:
  symconv prove --in-channels 3 --out-channels 4 --kernel-size 3,3 --input-size 16,16
  symconv prove --kernel-size 3 --input-size 8 --padding same --latex proof.tex --pdf proof.pdf
  symconv general toeplitz --dims 2
  symconv check mypkg.layers:conv2d --kernel-size 3,3 --input-size 5,5 --mode probe
  symconv notes --out notes-out

exit codes: 0 proved, 1 refuted (a counterexample is printed), 2 bad input.
Run 'symconv COMMAND --help' for a command's flags and examples."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's default exit code 2 matches "bad input"
        self.exit(EXIT_BAD_INPUT, f"symconv: error: {message}\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("symconv")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="symconv", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"symconv {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # shared helpers, not commands
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        command = sub.add_parser(info.name.replace("_", "-"), help=module.HELP,
                                 description=module.HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        module.register(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(args.run(args))
    except (SpecError, ValueError) as error:
        print(f"symconv {args.command}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
