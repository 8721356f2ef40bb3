"""Symbolic-mode and first-call benchmark (issue 13, items 4, 8 and the symbolic half of 9), as JSON.

In one run of this script:

* ``symbolic``: ``assert_conv_equivalent(fn, spec, mode="symbolic")`` at 3→4 and 8→8, 3×3, 16²,
  for two fn styles written as users write them on NumPy object arrays — ``im2col`` (patches
  stacked, then ``np.dot``) and ``loop`` (numpy-ml's ``conv2D`` style: ``np.sum(window * w)`` per
  output) — on the fast path (native exact polynomials, the default) and on the old SymPy path
  (the fast path switched off), each in its own subprocess with a time cap (``caps``). ``seconds``
  is the whole check (the random exact trials included), ``symbolic_seconds`` fn on symbols plus
  the proof only;
* ``scalars``: the loop fn alone at 3→4 16² on the candidate scalars: the native polynomials,
  symengine symbols, SymPy symbols (what chose the native type);
* ``first_call``: ``prove`` at 3→4 3×3 32² in fresh interpreters (bytecode cached, SymPy and NumPy
  imported first): the first call (symconv's own modules load in it) against the median of 5
  warm calls, medians over 5 processes;
* ``resnet50_stem``: the exact proof of ConvSpec(3, 64, 7, (224, 224), stride=2, padding=3,
  bias=False), serial (the parallel threshold raised) against parallel (default), each once.

    python benchmarks/check_symbolic.py            # everything
    python benchmarks/check_symbolic.py --quick    # small sizes (smoke)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import symconv  # noqa: E402

CAPS = {"sympy_path_seconds": 600}
CASES = {"3→4 3×3 16²": (3, 4, 16), "8→8 3×3 16²": (8, 8, 16)}
QUICK = {"3→4 3×3 6²": (3, 4, 6)}


def im2col_conv(x, w, b):
    """Patches stacked as rows of a matrix, then ``np.dot`` with the flattened kernel."""
    (c_in, height, width), (c_out, _, kh, kw) = x.shape, w.shape
    oh, ow = height - kh + 1, width - kw + 1
    cols = np.stack([x[c, i:i + oh, j:j + ow].reshape(-1) for c in range(c_in) for i in range(kh) for j in range(kw)])
    y = np.dot(w.reshape(c_out, -1), cols).reshape(c_out, oh, ow)
    return y if b is None else y + b[:, None, None]


def loop_conv(x, w, b):
    """numpy-ml's conv2D style: a Python loop over outputs, ``np.sum(window * w[o])`` each."""
    (_, height, width), (c_out, _, kh, kw) = x.shape, w.shape
    y = np.zeros((c_out, height - kh + 1, width - kw + 1), dtype=object)
    for o in range(c_out):
        for i in range(height - kh + 1):
            for j in range(width - kw + 1):
                y[o, i, j] = np.sum(x[:, i:i + kh, j:j + kw] * w[o]) + (0 if b is None else b[o])
    return y


STYLES = {"im2col": im2col_conv, "loop": loop_conv}


def measure_check(c_in: int, c_out: int, size: int, style: str, path: str) -> dict:
    """Run in a subprocess: one symbolic check, and its symbolic part alone."""
    from symconv.testing import assert_conv_equivalent, symbolic
    from symconv.testing.fastpath import proof_of
    if path == "sympy":
        symbolic.fast_runs = lambda *args: None
    spec, fn = symconv.ConvSpec(c_in, c_out, 3, (size, size)), STYLES[style]
    start = time.perf_counter()
    result = assert_conv_equivalent(fn, spec, seed=0)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    with symconv.deadline.Deadline(3600) as limit:
        runs = symbolic._run_on_symbols(fn, spec, symconv.symbols(spec), False, limit)
        assert all(proof_of(spec, y).holds for y, _ in runs)
    return {"seconds": seconds, "symbolic_seconds": time.perf_counter() - start, "path": result.path,
            "terms": result.terms, "established": result.established}


def in_subprocess(args: list[str], timeout: float, env: dict | None = None) -> dict:
    try:
        run = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                             timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"skipped": f"did not finish within the cap of {timeout:g} s"}
    if run.returncode != 0:
        return {"error": run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit {run.returncode}"}
    return json.loads(run.stdout)


def symbolic_cases(cases: dict) -> list[dict]:
    rows = []
    for name, (c_in, c_out, size) in cases.items():
        for style in STYLES:
            row = {"case": name, "style": style}
            for path in ("fast", "sympy"):
                row[path] = in_subprocess(["--check", str(c_in), str(c_out), str(size), style, path],
                                          CAPS["sympy_path_seconds"])
            ok = "seconds" in row["fast"] and "seconds" in row["sympy"]
            row["speedup"] = row["sympy"]["seconds"] / row["fast"]["seconds"] if ok else None
            rows.append(row)
    return rows


def scalars(size: int) -> dict:
    """The loop fn alone at 3→4 3×3 size² on each candidate scalar (seconds)."""
    import symengine

    from symconv.testing.fastpoly import Session
    shapes = {"x": (3, size, size), "w": (4, 3, 3, 3), "b": (4,)}
    session = Session()
    candidates = {
        "native polynomials": {k: session.variables(s) for k, s in shapes.items()},
        "symengine": {k: np.array(symengine.symbols(f"{k}0:{int(np.prod(s))}"), dtype=object).reshape(s)
                      for k, s in shapes.items()},
        "sympy": dict(zip("xwb", symconv.symbols(symconv.ConvSpec(3, 4, 3, (size, size))))),
    }
    timings = {}
    for name, operands in candidates.items():
        start = time.perf_counter()
        loop_conv(operands["x"], operands["w"], operands["b"])
        timings[name] = time.perf_counter() - start
    return timings


FIRST_CALL = """
import sys, time
import numpy, sympy
import symconv
spec = symconv.ConvSpec(3, 4, 3, (32, 32))
start = time.perf_counter(); symconv.prove(spec); first = time.perf_counter() - start
warm = []
for _ in range(5):
    start = time.perf_counter(); symconv.prove(spec); warm.append(time.perf_counter() - start)
print(first, sorted(warm)[2])
"""


def first_call(processes: int = 5) -> dict:
    """Fresh interpreters with their bytecode cached in a temporary directory (one warm-up run)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env |= {"PYTHONPYCACHEPREFIX": cache, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        runs = []
        for _ in range(1 + processes):
            out = subprocess.run([sys.executable, "-c", FIRST_CALL], capture_output=True, text=True,
                                 env=env, check=True).stdout
            runs.append([float(v) for v in out.split()])
    first, warm = (statistics.median(r[i] for r in runs[1:]) for i in (0, 1))
    return {"first_ms": 1e3 * first, "warm_ms": 1e3 * warm, "ratio": first / warm, "processes": processes}


def resnet50_stem(quick: bool) -> dict:
    from symconv.backends import parallel
    size = 56 if quick else 224
    spec = symconv.ConvSpec(3, 64, 7, (size, size), stride=2, padding=3, bias=False)
    result = {"spec": spec.describe(), "terms": spec.n_terms}
    threshold = parallel.PARALLEL_TERMS
    for mode, limit in (("serial", 1 << 62), ("parallel", 0 if quick else threshold)):
        parallel.PARALLEL_TERMS = limit
        start = time.perf_counter()
        holds = symconv.prove(spec).holds
        result[mode] = {"seconds": time.perf_counter() - start, "holds": holds}
    parallel.PARALLEL_TERMS = threshold
    result["speedup"] = result["serial"]["seconds"] / result["parallel"]["seconds"]
    return result


def run(quick: bool = False) -> dict:
    """Every measurement of the module docstring, as a JSON-ready dict."""
    return {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None},
            "caps": CAPS, "symbolic": symbolic_cases(QUICK if quick else CASES),
            "scalars": scalars(6 if quick else 16), "first_call": first_call(2 if quick else 5),
            "resnet50_stem": resnet50_stem(quick)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke)")
    parser.add_argument("--sympy-cap", type=float, default=CAPS["sympy_path_seconds"],
                        help="seconds the old SymPy path may take per case (default %(default)s)")
    parser.add_argument("--check", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    CAPS["sympy_path_seconds"] = args.sympy_cap
    if args.check:
        c_in, c_out, size, style, path = args.check
        print(json.dumps(measure_check(int(c_in), int(c_out), int(size), style, path)))
        return 0
    print(json.dumps(run(args.quick), indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
