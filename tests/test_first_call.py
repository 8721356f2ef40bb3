"""The first call: ``import symconv`` and a first ``prove`` load nothing heavy beyond SymPy and
NumPy; the exact backend's parallel chunks give the serial verdicts and counterexamples, and a
deadline still stops them."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symconv
from symconv.backends import exact, parallel
from symconv.deadline import Deadline, DeadlineExceeded

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("tqdm", "torch", "scipy", "matplotlib", "z3", "hypothesis", "symengine")


def modules_after(code: str) -> set[str]:
    """The heavy modules a fresh interpreter holds after running ``code``."""
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    return set(run.stdout.split())


def test_first_prove_loads_nothing_heavy():
    code = "import symconv\nassert symconv.prove(symconv.ConvSpec(3, 4, 3, (8, 8))).holds"
    assert modules_after(code) == set()


def test_progress_bar_still_loads_tqdm():
    """The negative control: the same probe sees tqdm where a bar is shown."""
    code = "import symconv\nassert symconv.prove(symconv.ConvSpec(1, 1, 3, (5, 5)), progress=True).holds"
    assert modules_after(code) == {"tqdm"}


@pytest.fixture
def forced_parallel(monkeypatch):
    """Small chunks, no size threshold, two cores: every proof below runs in two workers."""
    monkeypatch.setattr(exact, "CHUNK_TERMS", 8)
    monkeypatch.setattr(parallel, "PARALLEL_TERMS", 0)
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    counts = []
    original = parallel.in_order

    def spy(check, names, chunks, count):
        counts.append(count)
        return original(check, names, chunks, count)
    monkeypatch.setattr(parallel, "in_order", spy)
    return counts


def _wrong_output(spec: symconv.ConvSpec, index: tuple[int, ...]) -> np.ndarray:
    x, w, b = symconv.symbols(spec)
    y = symconv.conv(spec, x, w, b)
    y[index] = y[index] + w.flat[0] * x.flat[-1]
    return y


@pytest.mark.parametrize("spec", [symconv.ConvSpec(1, 2, 2, (4,), padding=1),
                                  symconv.ConvSpec(4, 2, 3, (7,), stride=2, groups=2, bias=False)])
def test_parallel_and_serial_agree(spec, forced_parallel, monkeypatch):
    last = (spec.out_channels - 1, *(n - 1 for n in spec.output_size))
    cases = [{}, {"output": _wrong_output(spec, last)}, {"output": _wrong_output(spec, (1,) + (0,) * spec.dims)}]
    parallel_proofs = [symconv.prove(spec, **given) for given in cases]
    assert forced_parallel == [2] * len(cases)   # each ran in two workers
    monkeypatch.setattr(parallel, "PARALLEL_TERMS", 1 << 62)
    serial_proofs = [symconv.prove(spec, **given) for given in cases]
    assert forced_parallel[len(cases):] == [1] * len(cases)
    assert [p.holds for p in parallel_proofs] == [True, False, False]
    for p, s in zip(parallel_proofs, serial_proofs):
        assert (p.holds, p.counterexample, str(p.counterexample)) == (s.holds, s.counterexample, str(s.counterexample))


def test_memory_limit_keeps_a_proof_serial(forced_parallel):
    spec = symconv.ConvSpec(2, 4, 3, (9, 9))
    needed = symconv.backends.estimate_bytes(spec, "exact")
    assert symconv.prove(spec, memory_limit=needed).holds
    assert forced_parallel == [1]


def test_deadline_stops_the_workers(forced_parallel):
    spec = symconv.ConvSpec(8, 16, 3, (48, 48))   # ≈ 2.8 M terms in chunks of 8: minutes of work
    with pytest.raises(DeadlineExceeded), Deadline(0.3):
        symconv.prove(spec)
    assert forced_parallel == [2] and multiprocessing.active_children() == []


def test_a_deadline_at_any_moment_leaves_no_worker(forced_parallel):
    """The alarm may fall due while Pool() forks its workers, between results or while they are
    stopped: it is deferred for the whole parallel section and raised again once they are stopped
    (before: 86 of 150 such runs left a worker behind; then, with the alarm masked in the main
    thread only, an alarm delivered to another thread, e.g. pytest-xdist's, still could)."""
    spec = symconv.ConvSpec(8, 16, 3, (48, 48))
    for seconds in (0.02, 0.05, 0.1, 0.2) * 4:
        with pytest.raises(DeadlineExceeded), Deadline(seconds):
            symconv.prove(spec)
        assert multiprocessing.active_children() == []


def test_an_alarm_whose_handler_does_not_raise_never_cuts_the_scan_short(forced_parallel, monkeypatch):
    """Negative control for the deferred alarm: a SIGALRM that is not a deadline's (its handler
    returns) stops the workers, and the remaining chunks are checked serially: the wrong last
    output is still found."""
    spec = symconv.ConvSpec(1, 2, 2, (40,), padding=1)
    last = (spec.out_channels - 1, spec.output_size[0] - 1)
    wrong = _wrong_output(spec, last)
    calls, raised = [], []
    monkeypatch.setattr(signal, "raise_signal", lambda signum: raised.append(signum))   # what the block raises
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: calls.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)   # falls due at once, and again and again
        proof = symconv.prove(spec, output=wrong)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert calls and raised == [signal.SIGALRM]   # the alarm fell due inside: the workers were stopped
    assert forced_parallel == [2] and multiprocessing.active_children() == []
    assert not proof.holds and proof.counterexample.index == last



def test_a_killed_worker_ends_the_proof_with_an_error_not_a_hang(forced_parallel, monkeypatch):
    """A worker killed (the OOM killer, a signal) loses its chunk and may hold the task queue's
    lock: WorkerDied, no verdict, no worker left, never an endless wait."""
    spec = symconv.ConvSpec(8, 16, 3, (48, 48))   # seconds of work in chunks of 8 terms
    original, killed = parallel._check_alive, []

    def kill_one(workers):   # the first time the wait looks: one of the pool's workers, wherever it is
        if not killed:
            killed.append(workers[0].pid)
            os.kill(workers[0].pid, signal.SIGKILL)
            workers[0].join()
        original(workers)
    monkeypatch.setattr(parallel, "_check_alive", kill_one)
    with pytest.raises(parallel.WorkerDied, match=r"^a worker process of the exact backend died \(signal 9: "), \
            Deadline(60):
        symconv.prove(spec)
    assert killed and forced_parallel == [2] and multiprocessing.active_children() == []
