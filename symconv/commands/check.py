"""``symconv check module:function``: check someone's convolution code against the definition
(``symconv.testing.assert_conv_equivalent``) from the command line."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..deadline import Deadline, DeadlineDisarmed, DeadlineExceeded
from ..errors import SpecError, seconds
from ..testing import MODES, PROBE_DEADLINE, CheckResult, NotCheckable, assert_conv_equivalent
from ._spec_args import add_spec_arguments, spec_from_args

HELP = "check a convolution function fn(x, w, b) against the definition (prove or probe it)"

EXAMPLES = """\
examples:
  symconv check mypkg.layers:conv2d --in-channels 2 --out-channels 3 --kernel-size 3 --input-size 5,5
  symconv check ./my_conv.py:forward --kernel-size 3,3 --input-size 6,6 --padding 1 --mode probe
  symconv check mypkg.layers:conv2d_nhwc --kernel-size 3,3 --input-size 6,6 --layout NHWC --json

fn is called as fn(x, w, b) on arrays in --layout (NCHW: x (C_in, *in), w (C_out, C_in/groups,
*k); NHWC: x (*in, C_in), w (*k, C_in/groups, C_out)); b is (C_out,) or None with --no-bias.
--mode symbolic passes SymPy symbols and proves; --mode probe passes float64 arrays and verifies
by exact one-hot probing, assuming bilinearity.

exit codes: 0 proved/verified, 1 fn computes something else (differences and a diagnosis are
printed), 2 bad input (the target cannot be imported, fn cannot run in this mode, a bad flag)."""


def register(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXAMPLES
    parser.add_argument("target", metavar="MODULE:FUNCTION",
                        help="an importable module (or a path to a .py file) and a function in it")
    add_spec_arguments(parser)
    check = parser.add_argument_group("the check")
    check.add_argument("--mode", default="symbolic", choices=MODES,
                       help="symbolic: run fn on symbols and prove; probe: float-only code")
    check.add_argument("--batched", action="store_true",
                       help="fn takes x with a leading batch axis and returns y with one")
    check.add_argument("--deadline", type=float, default=PROBE_DEADLINE, metavar="SECONDS",
                       help=f"stop the check after this many seconds, verifying nothing (default {PROBE_DEADLINE:g})")
    check.add_argument("--seed", type=int, default=None, metavar="N",
                       help="repeat the random exact trials of a failure that names seed N (default: a fresh one)")
    check.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    parser.set_defaults(run=run)


def load(target: str) -> Any:
    """'pkg.module:func' or 'path/to/file.py:Class.method' → the object."""
    module_name, _, attribute = target.rpartition(":")
    if not module_name or not attribute:
        raise SpecError("target", target, "must be MODULE:FUNCTION, e.g. mypkg.layers:conv2d")
    try:
        if module_name.endswith(".py"):
            location = importlib.util.spec_from_file_location(Path(module_name).stem, module_name)
            if location is None or not Path(module_name).is_file():
                raise FileNotFoundError(module_name)
            module = importlib.util.module_from_spec(location)
            location.loader.exec_module(module)
        else:
            if "" not in sys.path:  # import from the working directory, as `python -m` does
                sys.path.insert(0, "")
            module = importlib.import_module(module_name)
    except (Exception, SystemExit) as error:  # a module that calls sys.exit on import is no target
        raise SpecError("target", target, f"cannot import {module_name}: "
                                          f"{type(error).__name__}: {error}") from None
    found: Any = module
    for name in attribute.split("."):
        if not hasattr(found, name):
            raise SpecError("target", target, f"{module_name} has no attribute {attribute!r}")
        found = getattr(found, name)
    if not callable(found):
        raise SpecError("target", target, f"{attribute} is not callable")
    return found


def result_json(result: CheckResult | None, message: str | None, args: argparse.Namespace,
                spec: Any) -> dict[str, Any]:
    return {
        "target": args.target,
        "verified": result is not None,
        "established": None if result is None else result.established,
        "mode": args.mode,
        "spec": spec.describe(),
        "layout": spec.layout,
        "outputs": None if result is None else result.outputs,
        "terms": None if result is None else result.terms,
        "calls": None if result is None else result.calls,
        "seconds": None if result is None else round(result.seconds, 6),
        "message": message,
    }


IMPORT_MINIMUM = 1.0   # seconds the import of the target gets at least, whatever --deadline says


def load_within(target: str, deadline: float) -> Any:
    """``load(target)`` under a ``Deadline`` of max(deadline, IMPORT_MINIMUM) seconds: an import
    that hangs, or disarms the alarm, is a SpecError naming the target, not a hang of the command."""
    bound = max(deadline, IMPORT_MINIMUM)
    try:
        with Deadline(bound) as limit:
            found = load(target)
            limit.check()
    except DeadlineExceeded:
        raise SpecError("target", target, f"importing it did not finish within {bound:g} s (--deadline, at "
                                          f"least {IMPORT_MINIMUM:g} s for the import; it hangs or is slow "
                                          f"at import?)") from None
    except DeadlineDisarmed as error:
        raise SpecError("target", target, f"importing it disarmed the deadline: {error}") from None
    return found


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send sys.stdout AND file descriptor 1 (``os.write(1, …)``, C code, subprocesses) to stderr
    (os.dup2), restoring both afterwards, so that stdout holds only the verdict."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:   # no file descriptor 1 to protect
        saved = None
    try:
        if saved is not None:
            os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        for stream in {sys.stdout, sys.__stdout__} - {None}:
            with contextlib.suppress(Exception):
                stream.flush()   # what the target buffered goes to stderr, before fd 1 is back
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def run(args: argparse.Namespace) -> int:
    """Exit 0 verified, 1 refuted, 2 not checkable. What the target prints while it is imported and
    checked goes to stderr (``stdout_to_stderr``), so stdout holds only the verdict (with --json:
    one JSON object, also for exit 2). The import and the check each run under --deadline.
    Residual limit: ``os._exit`` in the target ends the process with its status and no verdict
    (only a child process could catch that)."""
    spec = spec_from_args(args)
    seconds("--deadline", args.deadline)
    try:
        with stdout_to_stderr():
            fn = load_within(args.target, args.deadline)
            result, message = assert_conv_equivalent(fn, spec, mode=args.mode, batched=args.batched,
                                                     deadline=args.deadline, seed=args.seed), None
    except (NotCheckable, SpecError) as error:
        hint = str(error).replace("mode='probe'", "--mode probe").replace("\n", " ")
        if args.json:
            print(json.dumps(result_json(None, hint, args, spec) | {"error": hint}, indent=2))
        if isinstance(error, SpecError):
            raise
        print(f"symconv check: error: {hint}", file=sys.stderr)
        return 2
    except AssertionError as error:
        result, message = None, str(error)
    if args.json:
        print(json.dumps(result_json(result, message, args, spec), indent=2))
    else:
        print(str(result) if result is not None else message)
    return 0 if result is not None else 1
