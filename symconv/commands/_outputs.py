"""The files a command writes (``--latex``, ``--pdf``, ``--figure``): checked before any work,
written all or none, and each one reported as ``wrote PATH``."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from ..errors import SpecError


def output_files(paths: Mapping[str, str | os.PathLike | None],
                 inputs: Mapping[str, str | os.PathLike | None] | None = None) -> dict[str, Path]:
    """``check_output_paths`` and one more rule: the directory of every file must exist. A
    mistyped directory is an error naming the flag, not a directory made without a word.

    >>> output_files({"--latex": "nodir/p.tex"})
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: --latex='nodir/p.tex': the directory nodir does not exist (create it first)
    """
    from ..latex.build import check_output_paths

    targets = check_output_paths(paths, inputs)
    for flag, target in targets.items():
        if not target.parent.is_dir():
            raise SpecError(flag, str(paths[flag]), f"the directory {target.parent} does not exist (create it first)")
    return targets


def write_outputs(contents: Mapping[str, tuple[Path, str | bytes]]) -> list[Path]:
    """Write every ``{flag: (path, content)}`` or none; the paths, for :func:`report_written`."""
    from ..latex.build import write_files_atomically

    write_files_atomically(contents)
    return [path for path, _ in contents.values()]


def report_written(paths: list[Path], quiet_stdout: bool = False, stream: TextIO | None = None) -> None:
    """``wrote PATH`` for each file, after the verdict (to stderr when stdout carries one line
    or JSON: ``quiet_stdout``)."""
    out = stream or (sys.stderr if quiet_stdout else sys.stdout)
    for path in paths:
        print(f"wrote {path}", file=out)
