"""Scale benchmark: symconv's exact proof against plain SymPy and native symengine, as JSON.

For each case of the ladder it measures, in one run of this script and each in its own
subprocess (so that the peak resident memory, ``ru_maxrss``, belongs to that measurement alone):

* ``symconv``: ``symconv.prove(spec, backend="exact")`` — the definition, T·vec(x) + b⊗1 and
  K·P + b, every output compared exactly; median of 5 runs (3 from 1 M terms, 1 from 5 M; the
  baselines: median of 5 below 10 000 terms, else one run);
* ``sympy``: plain SymPy — symbols, the definition as SymPy Adds, T as a SymPy SparseMatrix,
  ``T * Matrix(vec(x))`` plus bias, then ``expand(a − b) == 0`` for every output (one form);
* ``symconv_2^21_chunks``: the same proof in the previous chunks of 2^21 monomials (now 2^17);
* ``symengine``: native symengine — the definition and the sparse rows of T as symengine Adds,
  then ``expand(a − b) == 0`` for every output (one form).

Baselines are skipped above their caps (``caps`` in the JSON): plain SymPy above 120 000 terms
(so up to 3→4 at 32×32; at 64×64 it takes ≈2 min), symengine above 3 000 000 terms (≈20 s at
the cap; the ResNet-50 stem would take ≈15 min). Ratios are
baseline seconds / symconv seconds; terms are the monomials w·x of the definition plus the
bias terms, and terms/second counts them once per proof (not once per form).

    python benchmarks/scale.py              # the ladder
    python benchmarks/scale.py --quick      # a small ladder (CI smoke)
    python benchmarks/scale.py --resnet50-all   # + all 53 conv layers of ResNet-50 (stretch)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from math import prod
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

import symconv  # noqa: E402

CAPS = {"sympy_max_terms": 120_000, "symengine_max_terms": 3_000_000}


def _c(c_in: int, c_out: int, k: int, n: int | tuple, **kw) -> dict:
    return dict(in_channels=c_in, out_channels=c_out, kernel_size=k, input_size=n, **kw)


LADDER = {
    "3→4 3×3 16²": _c(3, 4, 3, (16, 16)),
    "3→4 3×3 32²": _c(3, 4, 3, (32, 32)),
    "3→4 3×3 64²": _c(3, 4, 3, (64, 64)),
    "CIFAR 3→16 3×3 pad 1 32²": _c(3, 16, 3, (32, 32), padding=1),
    "ResNet-50 stem 3→64 7×7 s2 p3 224²": _c(3, 64, 7, (224, 224), stride=2, padding=3, bias=False),
    "3-D 3→8 3×3×3 pad 1 16³": _c(3, 8, 3, (16, 16, 16), padding=1),
}
QUICK = {
    "3→4 3×3 8²": _c(3, 4, 3, (8, 8)),
    "3-D 2→2 2×2×2 4³": _c(2, 2, 2, (4, 4, 4)),
}


def resnet50_layers() -> dict[str, dict]:
    """The 53 convolutions of torchvision's ResNet-50 (v1.5: stride on the 3×3), no bias."""
    layers = {"conv1": _c(3, 64, 7, (224, 224), stride=2, padding=3, bias=False)}
    c_in, size = 64, 56
    for stage, (width, blocks) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3)), start=1):
        for block in range(blocks):
            stride = 2 if block == 0 and stage > 1 else 1
            name = f"layer{stage}.{block}"
            layers[f"{name}.conv1"] = _c(c_in, width, 1, (size, size), bias=False)
            layers[f"{name}.conv2"] = _c(width, width, 3, (size, size), stride=stride, padding=1, bias=False)
            out_size = size // stride
            layers[f"{name}.conv3"] = _c(width, 4 * width, 1, (out_size, out_size), bias=False)
            if block == 0:
                layers[f"{name}.downsample"] = _c(c_in, 4 * width, 1, (size, size), stride=stride, bias=False)
            c_in, size = 4 * width, out_size
    assert len(layers) == 53
    return layers


# ---- the three measured proofs (each runs in its own subprocess) ------------------------------
def prove_symconv(spec: symconv.ConvSpec) -> bool:
    return symconv.prove(spec, backend="exact").holds


def prove_sympy(spec: symconv.ConvSpec) -> bool:
    """Plain SymPy: y = conv(x, w, b) and y' = T·vec(x) + b with T a SparseMatrix; expand(y − y') == 0."""
    x, w, b = symconv.symbols(spec)
    y = symconv.conv(spec, x, w, b)
    T = symconv.toeplitz(spec, w)
    vec_y = T * sp.Matrix(x.reshape(-1).tolist())
    bias = np.repeat(b if b is not None else np.zeros(spec.out_channels, dtype=object), prod(spec.output_size))
    return all(sp.expand(a - (t + c)) == 0 for a, t, c in zip(y.reshape(-1), vec_y, bias))


def prove_symengine(spec: symconv.ConvSpec) -> bool:
    """Native symengine: the definition and the sparse rows of T as Adds; expand(a − b) == 0.

    The indices come from symconv's connections table (the one copy of the index formula); the
    algebra, which is what this baseline measures, is symengine's."""
    import symengine as se

    from symconv.connections import connections

    table = connections(spec)
    xs = [se.Symbol(f"x{i}") for i in range(spec.in_channels * prod(spec.input_size))]
    ws = [se.Symbol(f"w{a}") for a in range(prod(spec.weight_shape))]
    bs = [se.Symbol(f"b{o}") if spec.bias else se.Integer(0) for o in range(spec.out_channels)]
    rows = spec.out_channels * table.n_out
    starts = table.row_starts(0, rows).tolist()
    weights, inputs = table.weight.tolist(), table.input.tolist()
    for r in range(rows):
        reads = list(zip(weights[starts[r]:starts[r + 1]], inputs[starts[r]:starts[r + 1]]))
        bias = bs[r // table.n_out]
        direct = se.Add(*[ws[a] * xs[i] for a, i in reads], bias)
        t_row = defaultdict(list)     # column → the weights summed in T's entry
        for a, i in reads:
            t_row[i].append(ws[a])
        by_t = se.Add(*[se.Add(*entry) * xs[col] for col, entry in t_row.items()], bias)
        if se.expand(direct - by_t) != 0:
            return False
    return True


def prove_symconv_large_chunks(spec: symconv.ConvSpec) -> bool:
    """The previous method: the same proof in chunks of 2^21 monomials (now 2^17)."""
    from symconv.backends import exact
    exact.CHUNK_TERMS = 1 << 21
    return prove_symconv(spec)


PROVERS = {"symconv": prove_symconv, "symconv_2^21_chunks": prove_symconv_large_chunks,
           "sympy": prove_sympy, "symengine": prove_symengine}


def measure(method: str, spec_kwargs: dict, repeats: int) -> dict:
    """Run in a subprocess: the median time of ``repeats`` proofs and the peak RSS."""
    spec = symconv.ConvSpec(**spec_kwargs)
    prove = PROVERS[method]
    times, holds = [], True
    for _ in range(repeats):
        start = time.perf_counter()
        holds = prove(spec) and holds
        times.append(time.perf_counter() - start)
    return {"seconds": statistics.median(times), "repeats": repeats, "holds": holds,
            "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def in_subprocess(method: str, spec_kwargs: dict, repeats: int) -> dict:
    run = subprocess.run([sys.executable, __file__, "--measure", method, json.dumps(spec_kwargs),
                          str(repeats)], capture_output=True, text=True)
    if run.returncode != 0:
        return {"error": run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit {run.returncode}"}
    return json.loads(run.stdout)


def case(name: str, spec_kwargs: dict, baselines: bool) -> dict:
    spec = symconv.ConvSpec(**spec_kwargs)
    terms = spec.n_terms + spec.n_bias_terms
    repeats = 5 if terms < 1_000_000 else 3 if terms < 5_000_000 else 1
    result = {"name": name, "spec": spec.describe(), "terms": terms}
    for method in PROVERS:
        cap = CAPS.get(f"{method}_max_terms")
        if method != "symconv" and not baselines:
            result[method] = {"skipped": "baselines off (--resnet50-all layers)"}
        elif cap is not None and terms > cap:
            result[method] = {"skipped": f"{terms} terms > cap {cap}"}
        else:
            cheap = method.startswith("symconv") or terms < 10_000
            result[method] = in_subprocess(method, spec_kwargs, repeats if cheap else 1)
        if "seconds" in result[method]:
            result[method]["terms_per_second"] = terms / result[method]["seconds"]
    for method in ("symconv_2^21_chunks", "sympy", "symengine"):
        ok = "seconds" in result[method] and "seconds" in result["symconv"]
        result[f"speedup_vs_{method}"] = result[method]["seconds"] / result["symconv"]["seconds"] if ok else None
    return result


def machine() -> dict:
    import symengine
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
            "numpy": np.__version__, "sympy": sp.__version__, "symengine": symengine.__version__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small ladder (CI smoke)")
    parser.add_argument("--resnet50-all", action="store_true",
                        help="also prove all 53 conv layers of ResNet-50 (symconv only)")
    parser.add_argument("--measure", nargs=3, metavar=("METHOD", "SPEC_JSON", "REPEATS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        method, spec_json, repeats = args.measure
        print(json.dumps(measure(method, json.loads(spec_json), int(repeats))))
        return 0
    cases = [case(name, kwargs, True) for name, kwargs in (QUICK if args.quick else LADDER).items()]
    report = {"machine": machine(), "caps": CAPS, "cases": cases}
    if args.resnet50_all:
        layers = [case(name, kwargs, False) for name, kwargs in resnet50_layers().items()]
        seconds = sum(layer["symconv"].get("seconds", float("nan")) for layer in layers)
        report["resnet50_all"] = {"layers": layers, "total_seconds": seconds,
                                  "total_terms": sum(layer["terms"] for layer in layers),
                                  "all_hold": all(layer["symconv"].get("holds") for layer in layers)}
    print(json.dumps(report, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
