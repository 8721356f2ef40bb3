"""The ``symconv`` command. Each subcommand lives in ``symconv/commands/<name>.py`` (modules named
``_*.py`` there are shared helpers, not commands) and exposes

    HELP: str                                   one line for the command list
    register(parser: argparse.ArgumentParser)   adds its flags and sets ``run=func``
    run(args) -> int                             the exit code (0 proved, 1 refuted, 2 bad input)

``main`` is the one place that turns failures into exit codes: bad input (``SpecError``,
``ValueError``), a file that cannot be written, or any other error prints exactly one line to
stderr and exits 2 (``--debug`` prints the traceback as well); Ctrl-C prints one line and exits
130. So 0 and 1 only ever come from a command that finished its proof.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback

from . import __version__, commands

EXIT_PROVED, EXIT_REFUTED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

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
  symconv diff "tf input_shape=1,9,9,3 filter_shape=4,4,3,8 padding=SAME" \\
               "onnx op=Conv auto_pad=SAME_LOWER x_shape=1,3,9,9 w_shape=8,3,4,4"
  symconv export model.onnx --mlp mlp.onnx --certificate cert.pdf --json cert.json

exit codes: 0 proved (diff: the same map), 1 refuted (diff: not the same), 2 bad input or any other
failure (one line on stderr; --debug adds the traceback), 130 interrupted.
Run 'symconv COMMAND --help' for a command's flags and examples."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's default exit code 2 matches "bad input"
        # a command without the flags it needs (`symconv prove` alone): show them first
        required = message.startswith("the following arguments are required")
        usage = self.format_usage() if required else ""
        self.exit(EXIT_BAD_INPUT, f"{usage}symconv: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="symconv", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"symconv {__version__}")
    parser.add_argument("--debug", action="store_true", help="print the traceback of a failure")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # shared helpers, not commands
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        command = sub.add_parser(info.name.replace("_", "-"), help=module.HELP,
                                 description=module.HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        module.register(command)
        # also after the command; SUPPRESS keeps 'symconv --debug COMMAND' from being reset
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="print the traceback of a failure")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    name = f"symconv {args.command}"
    try:
        code = args.run(args)
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as error:  # code the command ran (a checked fn, a model) called sys.exit
        print(f"{name}: error: the command was ended by SystemExit({error.code!r}) from code it ran, "
              f"so nothing was established", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:  # noqa: BLE001 - the one place every failure becomes exit code 2
        if args.debug:
            traceback.print_exc()
        print(f"{name}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if code not in (EXIT_PROVED, EXIT_REFUTED, EXIT_BAD_INPUT):  # never let a bug look like a verdict
        print(f"{name}: error: internal: the command returned {code!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return code


def _one_line(error: BaseException) -> str:
    """The message of ``error`` on one line: bad input as its message, a file system error with
    its file, anything else with its type and a pointer to --debug."""
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else ""
    if len(lines) > 1:
        text += " […]"
    if isinstance(error, ValueError):  # SpecError and symconv's other bad-input errors
        return text
    return f"{type(error).__name__}: {text} (internal error; run with --debug for the traceback)"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
