"""A wall-clock deadline for code symconv does not control (a user's fn, a user's model).

In the main thread of a platform with ``signal.setitimer`` the deadline is enforced by SIGALRM:
the handler raises ``DeadlineExceeded`` inside whatever Python code is running (a sleeping or
looping fn included), and keeps raising it every ``REPEAT`` seconds, so an fn that swallows one
exception is interrupted again. Elsewhere (another thread, Windows) only ``check()`` between
calls enforces it. Any previous SIGALRM handler and real-time timer are restored afterwards.
``DeadlineExceeded`` derives from BaseException, so an fn's ``except Exception`` does not hide it.

>>> import time
>>> with Deadline(0.05) as limit:
...     try:
...         time.sleep(1)
...     except DeadlineExceeded:
...         print("interrupted", limit.expired())
interrupted True
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import TracebackType

REPEAT = 0.05   # seconds between repeated alarms once the deadline has passed


class DeadlineExceeded(BaseException):
    """The deadline passed (raised by the SIGALRM handler or by ``Deadline.check``)."""


class Deadline:
    """``with Deadline(seconds) as limit:`` — interrupt the block after ``seconds`` (see module)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.started = time.perf_counter()
        self._previous: tuple | None = None
        self._inside = False   # the alarm raises only inside the block, never in __enter__/__exit__
        # what to say when it passes; a user of the deadline may replace it with its progress
        self.progress: Callable[[], str] = lambda: f"the deadline of {self.seconds!r} s passed"

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def expired(self) -> bool:
        return self.elapsed() > self.seconds

    def check(self) -> None:
        """Raise DeadlineExceeded when the deadline has passed (the between-calls fallback)."""
        if self.expired():
            raise DeadlineExceeded(f"deadline of {self.seconds!r} s passed")

    def _alarm(self, signum: int, frame: object) -> None:
        if not self._inside:
            return   # it fires again after REPEAT seconds, if still armed
        raise DeadlineExceeded(f"deadline of {self.seconds!r} s passed")

    def __enter__(self) -> Deadline:
        self.started = time.perf_counter()
        if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
            handler = signal.signal(signal.SIGALRM, self._alarm)
            # at least 1 µs: setitimer rounds a tinier delay to 0, which would disarm the timer
            timer = signal.setitimer(signal.ITIMER_REAL, max(self.seconds, 1e-6), REPEAT)
            self._previous = (handler, timer)
        self._inside = True
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._inside = False
        if self._previous is not None:
            handler, (delay, interval) = self._previous
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, handler)
            if delay:  # an outer timer keeps running: what is left of it
                signal.setitimer(signal.ITIMER_REAL, max(delay - self.elapsed(), 1e-6), interval)
            self._previous = None
