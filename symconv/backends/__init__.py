"""Backends that decide the equality of the forms exactly, and the choice between them.

* ``"sympy"`` (``sympy_backend``): SymPy canonical expanded polynomials; any expression.
* ``"exact"`` (``exact``): integer monomial keys in NumPy, the forms executed vectorised.
* ``"auto"``: the faster one. Measured (2 cores, medians of 5): there is no crossover — the
  exact backend is faster from the smallest spec up (1→1, 1×1, 2 terms: 0.24 ms against
  0.52 ms; 2→3, 3×3, 5×5, 513 terms: 0.35 ms against 9.5 ms), so "auto" runs "exact", which
  itself hands the user forms it cannot represent to SymPy.

Both give identical verdicts and identical counterexamples (tests/test_backends.py). Before any
work the chosen backend's peak memory is estimated and compared with the limit (the
``memory_limit`` argument, else MemAvailable of /proc/meminfo); above it ``prove`` raises
SpecError instead of running out of memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from numbers import Integral
from typing import Any

import numpy as np

from ..errors import SpecError
from ..spec import ConvSpec, one_of
from . import exact, sympy_backend

BACKENDS = ("auto", "sympy", "exact")


@dataclass(frozen=True)
class Given:
    """The user-supplied forms of ``prove`` (None: symconv builds the form)."""

    toeplitz: Any = None
    im2col: Any = None
    kernel_matrix: Any = None
    output: Any = None


def choose(backend: str) -> str:
    """The backend to run: the one asked for; "exact" for "auto" (faster at every size, above)."""
    return "exact" if one_of("backend", backend, BACKENDS) == "auto" else backend


BYTES_PER_SYMBOL = 1024
"""A SymPy Symbol of symconv.symbols(spec) with its name and array slot (measured: ~630 B)."""


def estimate_bytes(spec: ConvSpec, backend: str) -> int:
    """Estimated peak memory of a proof of ``spec`` with ``backend`` ("sympy" or "exact"):
    the backend's work and the symbols x, w, b it is stated in."""
    n_symbols = (spec.in_channels * prod(spec.input_size) + spec.out_channels
                 + spec.out_channels * spec.in_per_group * prod(spec.kernel_size))
    return (exact if backend == "exact" else sympy_backend).estimate_bytes(spec) + BYTES_PER_SYMBOL * n_symbols


def available_bytes() -> int | None:
    """MemAvailable of /proc/meminfo in bytes (None where there is no /proc/meminfo)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_memory(spec: ConvSpec, backend: str, memory_limit: int | None, extra_bytes: int = 0) -> None:
    """Raise SpecError naming the spec, the estimate and the limit if the proof (and
    ``extra_bytes`` more, e.g. matrices read from files) would not fit."""
    if memory_limit is not None and (isinstance(memory_limit, (bool, np.bool_))
                                     or not isinstance(memory_limit, Integral) or memory_limit < 1):
        raise SpecError("memory_limit", memory_limit, "must be None or a number of bytes ≥ 1")
    limit = available_bytes() if memory_limit is None else int(memory_limit)
    needed = estimate_bytes(spec, backend) + extra_bytes
    if limit is not None and needed > limit:
        source = "memory_limit" if memory_limit is not None else "MemAvailable"
        raise SpecError("spec", spec.describe(),
                        f"a {backend} proof needs an estimated {_size(needed)}, more than the "
                        f"{_size(limit)} available ({source})")


def run(spec: ConvSpec, forms: tuple[str, ...], given: Given, order: str, backend: str,
        progress: bool, memory_limit: int | None = None) -> tuple[Any, dict[str, float], str]:
    """(counterexample or None, timings, backend label) of the chosen backend; the exact backend's
    parallel workers use no more than ``memory_limit`` (None: MemAvailable) beyond its estimate."""
    if backend == "sympy":
        with progress_bar(progress, total=1 + len(forms), unit="form", desc="proving (sympy)") as bar:
            found, timings = sympy_backend.run(spec, forms, given, order, bar)
        return found, timings, "sympy"
    with progress_bar(progress, total=spec.n_terms + spec.n_bias_terms, unit="term", unit_scale=True,
                      desc="proving (exact)") as bar:
        limit = available_bytes() if memory_limit is None else memory_limit
        spare = None if limit is None else limit - estimate_bytes(spec, "exact")
        found, timings, delegated = exact.run(spec, forms, given, order, bar,
                                              sympy_backend.SympyCheck(spec, given, order), spare)
    return found, timings, "exact" + (f" (sympy for {', '.join(delegated)})" if delegated else "")


class NoBar:
    """What a proof without ``progress`` updates: nothing (tqdm is not even imported)."""

    def __enter__(self) -> NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: float = 1) -> None:
        return None


def progress_bar(progress: bool, **options: Any) -> Any:
    """A tqdm bar with ``options`` if ``progress``, else a ``NoBar``: tqdm is imported only when a bar
    is shown (it was most of the first call's time). The plain bar: tqdm.auto warns in Jupyter
    without ipywidgets."""
    if not progress:
        return NoBar()
    from tqdm import tqdm
    return tqdm(**options)


def _size(n: float) -> str:
    """Bytes in binary units, e.g. 9.8 KiB."""
    unit = "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            break
        n /= 1024
    return f"{n:.0f} B" if unit == "B" else f"{n:.1f} {unit}"
