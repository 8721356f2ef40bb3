"""Checking benchmark: ``symconv.testing.assert_conv_equivalent`` on torch ``conv2d``, as JSON.

Probe mode (this file): torch ``conv2d`` in float64, padding 1, ``batched=True``, each case in
one run of this script:

* ``pit_seconds``: ``mode="probe"`` — randomized identity testing (false-pass probability
  ≤ 2^-64, assuming fn is bilinear) followed by the random exact trials; ``pit_only_seconds``
  the identity test alone (its calls of fn and the exact reference), ``calls``, the bound;
* ``exhaustive_seconds``: ``mode="probe", exhaustive=True`` — every coefficient read by one-hot
  probing (the old probe mode), measured where it is estimated to take at most
  EXHAUSTIVE_CAP seconds (and given that deadline), else ``null`` with
  ``exhaustive_estimate_seconds`` scaled from the largest measured case by (1 + |x|)·(1 + |w|)
  samples of fn (2→2 8² is measured first as that reference; the issue's 134 s at 8→8 16² against
  0.6 s at 2→2 8² fits this model);
* ``reject_seconds``: a wrong padding (fn pads 2 after and none before on both axes, the same
  output shape) rejected, with the failure message's first lines (its counterexample and
  diagnosis).

Symbolic mode's half is ``benchmarks/check_symbolic.py`` (fast native polynomials against the
SymPy path, first against warm ``prove``, the ResNet-50 stem serial against parallel); its
``run`` fills the "symbolic" key.

    python benchmarks/check.py            # the three sizes
    python benchmarks/check.py --quick    # 3→4 16² only (CI smoke)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from math import prod
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import check_symbolic  # noqa: E402  (beside this file: the symbolic half)
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from symconv import ConvSpec, SpecError  # noqa: E402
from symconv.deadline import Deadline  # noqa: E402
from symconv.testing import NotCheckable, assert_conv_equivalent  # noqa: E402
from symconv.testing.pit import identity_test  # noqa: E402
from symconv.testing.targets import forward_target  # noqa: E402

EXHAUSTIVE_CAP = 60.0   # seconds: the old exhaustive probing is skipped above this estimate
CASES = {"2→2 3×3 8²": (2, 2, 8), "3→4 3×3 16²": (3, 4, 16), "8→8 3×3 16²": (8, 8, 16),
         "64→64 3×3 56²": (64, 64, 56)}
QUICK = {"3→4 3×3 16²": (3, 4, 16)}


def torch_conv(pad: tuple[int, int, int, int] | None = None):
    """torch conv2d on float64 arrays: padding 1, or F.pad(pad) then no padding (a wrong layer)."""
    def fn(x, w, b):
        xt, wt = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(w))
        bt = None if b is None else torch.from_numpy(np.ascontiguousarray(b))
        if pad is not None:
            return F.conv2d(F.pad(xt, pad), wt, bt)
        return F.conv2d(xt, wt, bt, padding=1)
    return fn


def timed(call):
    started = time.perf_counter()
    value = call()
    return value, time.perf_counter() - started


def measure(name: str, c_in: int, c_out: int, n: int, reference: tuple[int, float] | None) -> dict:
    spec = ConvSpec(c_in, c_out, 3, (n, n), padding=1)
    row: dict = {"case": name, "terms": spec.n_terms + spec.n_bias_terms}
    result, row["pit_seconds"] = timed(lambda: assert_conv_equivalent(torch_conv(), spec, mode="probe",
                                                                       batched=True, deadline=600))
    row.update(calls=result.calls, cross_checks=result.cross_checks, established=result.established,
               false_pass_bound_log2=-(result.false_pass_bound.denominator.bit_length() - 1))
    with Deadline(600) as limit:
        _, row["pit_only_seconds"] = timed(lambda: identity_test(torch_conv(), forward_target(spec), True, limit,
                                                                 np.random.default_rng(0), 0))
    started = time.perf_counter()
    try:
        assert_conv_equivalent(torch_conv((0, 2, 0, 2)), spec, mode="probe", batched=True, deadline=600)
        row["reject_message"] = ["NOT REJECTED"]
    except AssertionError as error:
        lines = str(error).splitlines()
        row["reject_message"] = lines[:2] + [line for line in lines if line.startswith("Diagnosis")]
    row["reject_seconds"] = time.perf_counter() - started
    work = (1 + prod(spec.input_shape)) * (1 + prod(spec.weight_shape))   # one-hot samples of fn
    estimate = None if reference is None else reference[1] * work / reference[0]
    if estimate is None or estimate <= EXHAUSTIVE_CAP:
        try:
            _, row["exhaustive_seconds"] = timed(lambda: assert_conv_equivalent(
                torch_conv(), spec, mode="probe", batched=True, exhaustive=True, deadline=EXHAUSTIVE_CAP))
            row["exhaustive_work"] = work
        except (NotCheckable, SpecError) as error:
            row["exhaustive_seconds"] = None
            row["exhaustive_note"] = f"did not finish: {error}"
    else:
        row["exhaustive_seconds"] = None
        row["exhaustive_estimate_seconds"] = round(estimate, 1)
        row["exhaustive_note"] = (f"skipped: estimated above {EXHAUSTIVE_CAP:g} s, scaled from the largest "
                                  f"measured case by (1 + |x|)·(1 + |w|) one-hot samples")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--case", help=argparse.SUPPRESS)        # one case, in its own process
    parser.add_argument("--reference", help=argparse.SUPPRESS)   # "work,seconds" of exhaustive probing
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if args.case:
        reference = tuple(map(float, args.reference.split(","))) if args.reference else None
        print(json.dumps(measure(args.case, *CASES[args.case], reference), ensure_ascii=False))
        return
    rows, reference = [], None
    for name in (QUICK if args.quick else CASES):
        command = [sys.executable, __file__, "--case", name] + (["--reference", ",".join(map(str, reference))]
                                                                 if reference else [])
        row = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        if row.get("exhaustive_seconds") is not None:
            reference = (row["exhaustive_work"], row["exhaustive_seconds"])
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), file=sys.stderr)
    report = {"machine": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
              "probe": rows,
              "symbolic": check_symbolic.run(args.quick)}
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
