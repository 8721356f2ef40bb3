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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's default exit code 2 matches "bad input"
        self.exit(EXIT_BAD_INPUT, f"symconv: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="symconv", description=__doc__.split("\n")[0].replace("``", ""),
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog="Run 'symconv COMMAND --help' for a command's flags and examples.")
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
