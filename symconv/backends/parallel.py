"""The exact backend's chunks of output rows on several cores.

A large proof (from ``PARALLEL_TERMS`` monomials of the definition) checks its chunks in forked
worker processes, one chunk per task, and reads the results back *in chunk order*, so the caller
applies exactly the serial bookkeeping (the first differing row of each form, forms closed after
the first refuted one) and gets the identical verdict and counterexample. Workers are forked
(they inherit the built forms, nothing is pickled but row ranges and results); where ``fork`` is
not available (Windows, and where the caller runs threads that must not be forked is its own
affair) the proof stays serial. Leaving the scan early — a deadline's ``DeadlineExceeded``, Ctrl-C,
an exception, or every form refuted — terminates the workers (with the deadline's alarm held).

Each extra worker holds one more chunk's working set; ``workers`` counts only as many as the memory
limit allows.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
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
    pool = None
    try:
        with _forking, _alarm_held():   # the workers are forked inside Pool(): they inherit _task; a
            _task = partial(check, names())   # deadline's alarm inside Pool() would leave workers behind
            try:
                pool = multiprocessing.get_context("fork").Pool(count)
            finally:
                _task = None
        yield from pool.imap(_run, chunks)
    finally:
        if pool is not None:   # also when the alarm held while starting them arrives as the block ends
            with _alarm_held():   # nor may it interrupt the termination halfway
                pool.terminate()
                pool.join()   # the handler thread may have started a replacement worker: wait for it


@contextmanager
def _alarm_held() -> Iterator[None]:
    """SIGALRM held (main thread) within the block: a deadline's repeated alarm
    (``symconv.deadline``) is delivered when it ends, not while workers are started or stopped."""
    hold = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM}) if hold else None
    try:
        yield
    finally:
        if previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _run(chunk: tuple[int, int]) -> Any:
    assert _task is not None, "a worker of the exact backend runs only in a forked process"
    return _task(*chunk)
