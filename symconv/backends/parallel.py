"""The exact backend's chunks of output rows on several cores.

A large proof (from ``PARALLEL_TERMS`` monomials of the definition) checks its chunks in forked
worker processes, one chunk per task, and reads the results back *in chunk order*, so the caller
applies exactly the serial bookkeeping (the first differing row of each form, forms closed after
the first refuted one) and gets the identical verdict and counterexample. Workers are forked
(they inherit the built forms, nothing is pickled but row ranges and results); where ``fork`` is
not available (Windows, and where the caller runs threads that must not be forked is its own
affair) the proof stays serial. Leaving the scan early — a deadline's ``DeadlineExceeded``, Ctrl-C,
an exception, or every form refuted — terminates the workers. A deadline's alarm (SIGALRM) is
deferred for the whole parallel section: the wait for results looks every POLL_SECONDS whether it
fell due, stops the workers and only then raises it again for its own handler, so it never
interrupts the forking of the workers, the caller's bookkeeping or their termination. Should that
handler not raise, the remaining chunks are checked serially: a deferred alarm never cuts the
scan short.

Each extra worker holds one more chunk's working set; ``workers`` counts only as many as the memory
limit allows.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any

PARALLEL_TERMS = 1 << 24
"""Monomials of the definition from which a proof is split over processes (measured: the stem's
118 M terms take seconds; a 16 M-term proof ≈ 0.5 s, against ≈ 0.1 s to fork the workers)."""

_task: Callable[..., Any] | None = None   # what the forked workers run (set only while forking)
_forking = threading.Lock()


def workers(terms: int, chunks: int, spare_bytes: int | None, chunk_bytes: int) -> int:
    """How many processes check a proof of ``terms`` monomials in ``chunks`` chunks: 1 below
    PARALLEL_TERMS or without fork; else the usable cores, at most one per chunk, and no more extra
    workers than ``spare_bytes`` (memory beyond the serial estimate; None: unknown) holds chunks.

    >>> workers(10, 4, None, 1), workers(PARALLEL_TERMS, 1, None, 1), workers(PARALLEL_TERMS, 8, 0, 1)
    (1, 1, 1)
    """
    if terms < PARALLEL_TERMS or chunks < 2:
        return 1
    import multiprocessing  # here: a small proof's first call does not pay for it
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    count = min(cores, chunks)
    if spare_bytes is not None:
        count = min(count, 1 + max(0, spare_bytes) // chunk_bytes)
    return max(1, count)


def in_order(check: Callable[..., Any], names: Callable[[], list[str]], chunks: list[tuple[int, int]],
             count: int) -> Generator[Any, None, None]:
    """``check(names, r0, r1)`` for each chunk, in chunk order. Serially ``names()`` is asked before
    each chunk (the forms still open); with ``count`` > 1 workers every chunk checks the forms open
    at the start, and the caller ignores the results it no longer needs."""
    if count <= 1:
        for r0, r1 in chunks:
            yield check(names(), r0, r1)
        return
    import multiprocessing
    global _task
    done = 0
    workers: list[Any] = []   # the processes Pool() forked (a dead one ends the wait)
    with _alarm_deferred() as alarmed:   # a deadline is seen while waiting (below), never raised inside
        pool = None
        try:
            with _forking:   # the workers are forked inside Pool(): they inherit _task
                _task = partial(check, names())
                try:
                    pool = multiprocessing.get_context("fork").Pool(count)
                finally:
                    _task = None
            workers[:] = pool._pool   # type: ignore[attr-defined]  # Pool lists them nowhere public
            results = pool.imap(_run, chunks)
            while done < len(chunks) and not alarmed():   # else the workers are stopped first, and
                try:                                        # the alarm is raised again as the block ends
                    result = results.next(timeout=POLL_SECONDS)
                except multiprocessing.TimeoutError:
                    _check_alive(workers)
                    continue
                done += 1
                yield result
        finally:
            if pool is not None:
                if any(worker.exitcode is not None for worker in workers):
                    _free_queue_lock(pool)
                pool.terminate()
                pool.join()   # the handler thread may have started a replacement worker: wait for it
    for r0, r1 in chunks[done:]:   # the alarm's handler did not raise (not a deadline's): go on serially
        yield check(names(), r0, r1)


POLL_SECONDS = 0.02
"""How often the wait for a worker's result looks whether an alarm fell due."""


@contextmanager
def _alarm_deferred() -> Iterator[Callable[[], bool]]:
    """Within the block SIGALRM only records that it fell due (the block is given a test of
    that); as the block ends the handler in force before is restored and, if it fell due, the
    signal is raised again for it. A deadline (``symconv.deadline``, a repeated SIGALRM whose
    handler raises) thus interrupts nothing inside. Masking the signal would not do: it is
    per thread, and the kernel delivers a process's alarm to any thread that does not mask it,
    whereupon Python runs the handler in the main thread all the same."""
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield lambda: False   # elsewhere no handler can run in this thread: nothing to defer
        return
    fell_due: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fell_due.append(signum))
    try:
        yield lambda: bool(fell_due)
    finally:
        signal.signal(signal.SIGALRM, previous)
        if fell_due:
            signal.raise_signal(signal.SIGALRM)


class WorkerDied(RuntimeError):
    """A worker process of the exact backend died (killed, out of memory): its chunk is lost, so
    the proof is not completed (no verdict)."""


def _check_alive(workers: list[Any]) -> None:
    """WorkerDied when one of the workers has exited: they exit only when stopped, and the chunk
    a dead one held would be waited for forever."""
    for worker in workers:
        if worker.exitcode is not None:
            how = f"signal {-worker.exitcode}" if worker.exitcode < 0 else f"exit code {worker.exitcode}"
            raise WorkerDied(f"a worker process of the exact backend died ({how}: killed, or out of memory) and "
                             f"its chunk of the proof was lost: no verdict; run it again, or serially "
                             f"(symconv.backends.parallel.PARALLEL_TERMS = 1 << 62)")


def _free_queue_lock(pool: Any) -> None:
    """A worker killed while it took a task holds the task queue's lock forever, and
    ``Pool.terminate`` waits for that lock: released here (every worker is stopped next)."""
    with suppress(ValueError):   # it was not held
        pool._inqueue._rlock.release()


def _run(chunk: tuple[int, int]) -> Any:
    if _task is None:   # a worker Pool started in place of a dead one: the check is not inherited
        raise WorkerDied("a worker process of the exact backend died and was replaced: no verdict")
    return _task(*chunk)
