"""Time of each general theorem for dims 1, 2, 3 (the issue's budget: ≤ 10 s each).

Prints one JSON object: {"first": {"theorem[-order]": {"1": s, "2": s, "3": s}, …}, "best": …}
plus the machine and the number of random instances per step. "first" is the first run in
this process (SymPy's caches cold for that theorem), "best" the best of ``--repeat`` runs of
``symconv.prove_general`` (every step checked symbolically and concretely, and the
agreement with symconv's concrete forms). Run: ``.venv/bin/python benchmarks/general.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import symconv
from symconv.general.theorems import proved

CASES = [("toeplitz", {}), ("im2col", {"order": "unfold"}), ("im2col", {"order": "paper"}),
         ("transpose", {}), ("circulant", {}), ("nonlinear", {}), ("nonlinear", {"bias": True})]
CASES += [("dft", {})]
CASES += [("toeplitz", {"padding_mode": m}) for m in ("circular", "reflect", "replicate")]
CASES += [("padding", {"padding_mode": m}) for m in ("circular", "reflect", "replicate")]


def case_name(theorem: str, options: dict) -> str:
    """theorem plus its options' values: im2col-paper, nonlinear-bias, padding-reflect, …"""
    tags = ["bias" if key == "bias" else str(value) for key, value in options.items()]
    return "-".join([theorem, *tags])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--instances", type=int, default=6)
    args = parser.parse_args()
    first: dict[str, dict[str, float]] = {}
    best: dict[str, dict[str, float]] = {}
    for theorem, options in CASES:
        name = case_name(theorem, options)
        first[name], best[name] = {}, {}
        for dims in (1, 2, 3):
            times = []
            for _ in range(args.repeat):
                proved.cache_clear()  # a theorem citing another proves it again, every run
                start = time.perf_counter()
                derivation = symconv.prove_general(theorem, dims=dims, instances=args.instances,
                                                   **options)
                times.append(time.perf_counter() - start)
                if not derivation.holds:
                    raise SystemExit(f"{name} dims={dims} did not hold:\n{derivation.summary()}")
            first[name][str(dims)], best[name][str(dims)] = round(times[0], 3), round(min(times), 3)
    print(json.dumps({"first": first, "best": best,
                      "max_seconds": max(v for r in first.values() for v in r.values()),
                      "budget_seconds": 10, "instances_per_step": args.instances,
                      "repeat": args.repeat, "cpus": os.cpu_count(),
                      "python": platform.python_version()}, indent=2))


if __name__ == "__main__":
    main()
