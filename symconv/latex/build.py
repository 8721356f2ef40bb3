"""Compiling LaTeX to PDF with latexmk (pdflatex or xelatex), and writing output files atomically.

The PDF is built in a temporary directory and moved into place only when the build succeeded,
so a failed build never leaves a partial file behind. A command with several outputs
(``--latex``, ``--pdf``, ``--figure``) writes them with ``write_files_atomically``: all or none.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..errors import SpecError, one_of

ENGINES = ("pdflatex", "xelatex")
# Debian packages: nbconvert's template needs latex-extra; TikZ figures need pictures.
TEX_PACKAGES = ("texlive-latex-recommended texlive-latex-extra texlive-pictures "
                "texlive-fonts-recommended texlive-xetex texlive-plain-generic latexmk")


class TexNotFound(RuntimeError):
    """No TeX installation: the message names the Debian packages to install."""


class LatexBuildError(RuntimeError):
    """The document did not compile: the message carries the end of the log."""


def tex_available(engine: str = "pdflatex") -> bool:
    return shutil.which(engine) is not None and shutil.which("latexmk") is not None


def missing_tex_message(engine: str = "pdflatex") -> str:
    return (f"{engine} or latexmk was not found: install TeX Live, e.g. "
            f"'apt-get install {TEX_PACKAGES}'")


def write_atomically(path: str | os.PathLike, text: str | bytes) -> Path:
    """Write text (or bytes) to path via a temporary file in the same directory and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _stage(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def check_output_path(parameter: str, path: str | os.PathLike, directory: bool = False) -> Path:
    """``path`` if a file (``directory``: a directory) can be made there, else a SpecError
    naming ``parameter``: the path is a directory (a file), a parent is a file, or the nearest
    existing parent is not writable.

    >>> check_output_path("--latex", "/")
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: --latex='/': is a directory; give a file name
    >>> check_output_path("--latex", "-")
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: --latex='-': standard output is not supported; give a file name (./- for a file named '-')
    """
    if os.fspath(path) == "-":  # the usual spelling of stdout: writing a file named '-' would surprise
        raise SpecError(parameter, "-", "standard output is not supported; give a file name (./- for a file "
                                        "named '-')")
    path = Path(path)
    if directory and path.exists() and not path.is_dir():
        raise SpecError(parameter, str(path), "exists and is not a directory")
    if not directory and (path.is_dir() or str(path) in ("", ".")):
        raise SpecError(parameter, str(path), "is a directory; give a file name")
    if not directory and path.exists() and not path.is_file():
        raise SpecError(parameter, str(path), "exists and is not a regular file")
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise SpecError(parameter, str(path), f"{ancestor} is a file, not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise SpecError(parameter, str(path), f"cannot write in {ancestor} (permission denied)")
    return path


def _same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file: ``os.path.samefile`` where both exist (a symlink, a hard
    link, a ./ spelling), else the same fully resolved path (symlinks followed).

    >>> _same_file("a.tex", "./a.tex"), _same_file("a.tex", "b.tex")
    (True, False)
    """
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where they would be
        return os.path.realpath(a) == os.path.realpath(b)


def check_output_paths(paths: Mapping[str, str | os.PathLike | None],
                       inputs: Mapping[str, str | os.PathLike | None] | None = None) -> dict[str, Path]:
    """``check_output_path`` for each ``{parameter: path}`` given (None: not requested), no two
    parameters naming the same file, and no output naming a file of ``inputs`` ({flag: path} the
    command reads): writing it would destroy the input (``_same_file``: through a symlink too).

    >>> check_output_paths({"--latex": "./T.txt"}, {"--toeplitz": "T.txt"})
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: --latex='./T.txt': is the input file of --toeplitz, which it would overwrite
    """
    targets: dict[str, Path] = {}
    for parameter, path in paths.items():
        if path is None:
            continue
        target = check_output_path(parameter, path)
        read = [flag for flag, known in (inputs or {}).items() if known is not None and _same_file(known, target)]
        if read:
            raise SpecError(parameter, str(path), f"is the input file of {read[0]}, which it would overwrite")
        same = [other for other, known in targets.items() if _same_file(known, target)]
        if same:
            raise SpecError(parameter, str(path), f"is also the file of {same[0]}")
        targets[parameter] = target
    return targets


def write_files_atomically(outputs: Mapping[str, tuple[str | os.PathLike, str | bytes]]) -> list[Path]:
    """Write all of ``{parameter: (path, content)}`` or none: each content goes to a temporary
    file beside its target, and only when every one is written are they renamed into place.
    A SpecError names the parameter whose file cannot be written; the temporaries and any
    directories made for them are removed again.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     try:
    ...         write_files_atomically({"--latex": (f"{d}/a.tex", "x"), "--pdf": (f"{d}/a.tex", b"")})
    ...     except SpecError as error:
    ...         print(error.rule, os.listdir(d))
    ...     [p.name for p in write_files_atomically({"--latex": (f"{d}/a.tex", "x"), "--pdf": (f"{d}/new/a.pdf", b"")})]
    ...     sorted(str(p.relative_to(d)) for p in Path(d).rglob("*"))
    is also the file of --latex []
    ['a.tex', 'a.pdf']
    ['a.tex', 'new', 'new/a.pdf']
    """
    targets = check_output_paths({parameter: path for parameter, (path, _) in outputs.items()})
    made: list[Path] = []
    staged: list[tuple[Path, Path]] = []
    try:
        for parameter, (_, content) in outputs.items():
            target = targets[parameter]
            try:
                _make_directories(target.parent, made)
                staged.append((_stage(target, content), target))
            except OSError as error:
                raise SpecError(parameter, str(target),
                                f"cannot be written ({error.strerror or error})") from None
        for tmp, target in staged:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        for directory in reversed(made):
            with contextlib.suppress(OSError):  # not empty any more: someone else's now
                directory.rmdir()
        raise
    return list(targets.values())


def _make_directories(directory: Path, made: list[Path]) -> None:
    """Create ``directory`` and its missing parents, appending each one made to ``made``."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir()
        made.append(path)


def _stage(path: Path, content: str | bytes) -> Path:
    """``content`` in a new temporary file beside ``path`` (same file system: the rename is atomic)."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        binary = isinstance(content, bytes)
        with os.fdopen(handle, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as stream:
            stream.write(content)
        umask = os.umask(0)  # mkstemp makes the file 0600: give it the usual permissions
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def pdf_bytes(source: str, parameter: str, path: str | os.PathLike, engine: str = "pdflatex") -> bytes:
    """The PDF of a complete LaTeX document, built in a temporary directory, for ``path`` (written
    later, with the other outputs); a SpecError ``parameter=path`` with the first line of the
    reason when TeX is missing or the build fails."""
    with tempfile.TemporaryDirectory(prefix="symconv-pdf-") as work:
        try:
            return compile_latex(source, Path(work) / "document.pdf", engine=engine).read_bytes()
        except (TexNotFound, LatexBuildError) as error:
            raise SpecError(parameter, str(path), str(error).splitlines()[0]) from None


def compile_latex(source: str, pdf_path: str | os.PathLike, engine: str = "pdflatex",
                  extra_files: dict[str, bytes] | None = None, timeout: float = 300) -> Path:
    """Compile a complete LaTeX document to ``pdf_path``; raise instead of leaving a partial file.

    ``extra_files`` maps file names to contents placed beside the document (figures, inputs).
    """
    one_of("engine", engine, ENGINES)
    if not tex_available(engine):
        raise TexNotFound(missing_tex_message(engine))
    pdf_path = Path(pdf_path)
    with tempfile.TemporaryDirectory(prefix="symconv-tex-") as work:
        workdir = Path(work)
        (workdir / "document.tex").write_text(source, encoding="utf-8")
        for name, content in (extra_files or {}).items():
            (workdir / name).write_bytes(content)
        flag = "-pdf" if engine == "pdflatex" else "-xelatex"
        result = subprocess.run(
            ["latexmk", flag, "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
             "document.tex"],
            cwd=workdir, capture_output=True, text=True, timeout=timeout)
        built = workdir / "document.pdf"
        if result.returncode != 0 or not built.exists():
            log = (workdir / "document.log")
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else result.stdout[-3000:]
            raise LatexBuildError(f"{engine} failed on the document:\n{tail}")
        return write_atomically(pdf_path, built.read_bytes())
