"""A wall-clock deadline for code symconv does not control (a user's fn, a user's model).

In the main thread of a platform with ``signal.setitimer`` the deadline is enforced by SIGALRM:
the handler raises ``DeadlineExceeded`` inside whatever Python code is running (a sleeping or
looping fn included), and keeps raising it every ``REPEAT`` seconds, so an fn that swallows one
exception is interrupted again. Elsewhere (another thread, Windows) only ``check()`` between
calls enforces it. Any previous SIGALRM handler and real-time timer are restored afterwards; an
outer timer that is due first (pytest-timeout's signal method) still fires on time: its handler
is called when its time comes, inside the block. ``DeadlineExceeded`` derives from BaseException,
so an fn's ``except Exception`` does not hide it.

``check()``, called after each call of code symconv does not control, also verifies that the
alarm is still armed: a SIGALRM handler replaced (or set to SIG_IGN), the timer stopped
(``signal.alarm(0)``, ``setitimer(ITIMER_REAL, 0)`` — an honest library cleaning up its own
timeout does this) or SIGALRM blocked raise ``DeadlineDisarmed``, so no verdict rests on a
deadline that could no longer interrupt anything.

Residual limits (only a child process would close them): code that disarms the alarm and then
hangs is interrupted by nothing (``check()`` runs when it returns); code that loops in C without
returning to the interpreter, or catches BaseException around every interruption forever, is not
interrupted either; ``os._exit`` ends the process.

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


class DeadlineDisarmed(RuntimeError):
    """Code run under the deadline replaced the SIGALRM handler, stopped the timer or blocked the
    signal (raised by ``Deadline.check``): the deadline can no longer interrupt anything."""


class Deadline:
    """``with Deadline(seconds) as limit:`` — interrupt the block after ``seconds`` (see module)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.started = time.perf_counter()
        self._previous: tuple | None = None
        self._handler = self._alarm   # the very object installed, to recognise it later
        self._outer_due: float | None = None   # when an outer timer, due before ours, fires
        self.outer_fired = False   # its handler ran inside the block (what it raises is not fn's)
        self._inside = False   # the alarm raises only inside the block, never in __enter__/__exit__
        # what to say when it passes; a user of the deadline may replace it with its progress
        self.progress: Callable[[], str] = lambda: f"the deadline of {self.seconds!r} s passed"

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def expired(self) -> bool:
        return self.elapsed() > self.seconds

    def check(self) -> None:
        """Raise DeadlineExceeded when the deadline has passed (the between-calls fallback), and
        DeadlineDisarmed when the alarm can no longer fire (see the module docstring)."""
        if self.expired():
            raise DeadlineExceeded(f"deadline of {self.seconds!r} s passed")
        if self._previous is None:
            return
        if signal.getsignal(signal.SIGALRM) is not self._handler:
            raise DeadlineDisarmed(f"the SIGALRM handler was replaced by "
                                   f"{signal.getsignal(signal.SIGALRM)!r}")
        if signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0):
            raise DeadlineDisarmed("the real-time timer (ITIMER_REAL) was stopped")
        if signal.SIGALRM in signal.pthread_sigmask(signal.SIG_BLOCK, []):
            raise DeadlineDisarmed("SIGALRM was blocked (pthread_sigmask)")

    def _alarm(self, signum: int, frame: object) -> None:
        if self._outer_due is not None and time.perf_counter() >= self._outer_due:
            self._fire_outer(signum, frame)
        if not self._inside:
            return   # it fires again after REPEAT seconds, if still armed
        if self.expired():
            raise DeadlineExceeded(f"deadline of {self.seconds!r} s passed")

    def _fire_outer(self, signum: int, frame: object) -> None:
        """The outer timer is due: re-arm ours for the time left, then run the outer handler as
        its alarm would have (SIG_DFL ends the process, as SIGALRM does by default)."""
        self._outer_due, self.outer_fired = None, True
        signal.setitimer(signal.ITIMER_REAL, max(self.seconds - self.elapsed(), 1e-6), REPEAT)
        handler = self._previous[0]
        if callable(handler):
            handler(signum, frame)
        elif handler == signal.SIG_DFL:
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGALRM)

    def __enter__(self) -> Deadline:
        self.started = time.perf_counter()
        if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
            handler = signal.signal(signal.SIGALRM, self._handler)
            outer = signal.getitimer(signal.ITIMER_REAL)[0]
            first = min(self.seconds, outer) if outer else self.seconds
            self._outer_due = self.started + outer if outer and outer < self.seconds else None
            try:   # at least 1 µs: setitimer rounds a tinier delay to 0, which would disarm the timer
                timer = signal.setitimer(signal.ITIMER_REAL, max(first, 1e-6), REPEAT)
            except BaseException:   # not armed: the caller's handler goes back, as if never entered
                signal.signal(signal.SIGALRM, handler)
                self._outer_due = None
                raise
            self._previous = (handler, timer)
        self._inside = True
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._inside = False
        if self._previous is not None:
            handler, (delay, interval) = self._previous
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, handler)
            left = delay - self.elapsed()
            if delay and (left > 0 or self._outer_due is not None):   # an outer timer still to fire: what is left
                signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), interval)
            elif delay and interval:   # it fired inside the block and repeats
                signal.setitimer(signal.ITIMER_REAL, interval, interval)
            self._previous, self._outer_due = None, None
