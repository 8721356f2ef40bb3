"""Compiling LaTeX to PDF with latexmk (pdflatex or xelatex), atomically.

The PDF is built in a temporary directory and moved into place only when the build succeeded,
so a failed build never leaves a partial file behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

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
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        binary = isinstance(text, bytes)
        with os.fdopen(handle, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as stream:
            stream.write(text)
        umask = os.umask(0)  # mkstemp makes the file 0600: give it the usual permissions
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def compile_latex(source: str, pdf_path: str | os.PathLike, engine: str = "pdflatex",
                  extra_files: dict[str, bytes] | None = None, timeout: float = 300) -> Path:
    """Compile a complete LaTeX document to ``pdf_path``; raise instead of leaving a partial file.

    ``extra_files`` maps file names to contents placed beside the document (figures, inputs).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r}: must be one of {ENGINES}")
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
        pdf_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = pdf_path.with_name(f".{pdf_path.name}.tmp")
        shutil.copyfile(built, tmp)
        os.replace(tmp, pdf_path)
    return pdf_path
