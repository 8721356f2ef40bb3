"""Calling fn: on copies of its arguments (in their memory layout), within the deadline, its
exceptions and exits caught as values (``_Raised``), writes into its arguments refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..deadline import Deadline, DeadlineExceeded
from .results import NotCheckable


def _call_fn(fn: Callable[..., Any], limit: Deadline, x: Any, w: Any, b: Any,
             names: tuple[str, str, str] = ("x", "w", "b")) -> Any:
    """fn(x, w, b) on copies (fn may write into its arguments), the arguments called ``names`` in
    errors (("g", "w", "b") for a transposed convolution); an exit or any exception of fn
    other than Ctrl-C and the deadline comes back as the exception object. The deadline is checked
    after the call too: an fn that swallowed the alarm does not get its output looked at, and one
    that disarmed it (handler, timer, signal mask) is NotCheckable. Residual limits: an fn that
    disarms the alarm and then hangs, loops in C, or catches every interruption forever is not
    interrupted, and ``os._exit`` in fn ends the process (a child process would be needed)."""
    sent = {name: _copy(a) for name, a in zip(names, (x, w, b))}
    try:
        y = fn(*sent.values())
    except (KeyboardInterrupt, DeadlineExceeded):
        raise
    except BaseException as error:  # noqa: BLE001 - sys.exit in fn must not end the check as a verdict
        if limit.outer_fired:   # an outer timer's handler raised (pytest-timeout): not fn's error
            raise
        y = _Raised(error)
    limit.check()
    for name, original in zip(names, (x, w, b)):
        _refuse_modified(name, original, sent[name])
    return y


def _copy(a: np.ndarray | None) -> np.ndarray | None:
    """A fresh copy of ``a`` in the same memory layout: C-contiguous, or the non-contiguous view
    of ``_strided`` (so a non-contiguous trial input reaches fn as one)."""
    if a is None:
        return None
    return a.copy() if a.flags.c_contiguous else _strided(a)


def _strided(a: np.ndarray) -> np.ndarray:
    """The values of ``a`` as a non-contiguous view: a Fortran-order buffer read backwards along
    the last axis, twice as long as needed, so code that wrongly assumes C-contiguous strides
    reads wrong values, never memory outside the buffer."""
    buffer = np.zeros((*a.shape[:-1], 2 * a.shape[-1]), dtype=a.dtype, order="F")
    view = buffer[..., a.shape[-1] - 1::-1]
    view[...] = a
    return view


def _refuse_modified(name: str, original: np.ndarray | None, sent: np.ndarray | None) -> None:
    """NotCheckable when fn wrote into its argument ``name``: a layer that modifies its input or
    weight corrupts the caller's arrays, and its later calls see other values."""
    if original is None or sent is None:
        return
    try:
        changed = sent.shape != original.shape or np.argwhere(sent != original)
    except Exception:  # noqa: BLE001 - fn stored something that cannot even be compared
        changed = True
    if isinstance(changed, np.ndarray) and not changed.size:
        return
    where = (f": {name}[{','.join(map(str, changed[0]))}] was {original[tuple(changed[0])]!r}, is now "
             f"{sent[tuple(changed[0])]!r}" if isinstance(changed, np.ndarray) else "")
    raise NotCheckable(f"fn modified its argument {name} in place{where}; a layer must not write into "
                       f"its inputs (the caller's {name} would be corrupted): copy it first")


@dataclass(frozen=True)
class _Raised:
    error: BaseException

    def describe(self) -> str:
        return f"{type(self.error).__name__}: {self.error}"
