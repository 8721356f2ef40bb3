"""Probe mode: y = c + L_x x + L_w w + L_b b + B(w, x) of a float-only fn read off exactly by
zero and one-hot float64 inputs, then tested on random small integers (``_check_bilinear``)."""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any

import numpy as np
import sympy as sp

from ..deadline import Deadline
from ..spec import ConvSpec
from .calls import _call_fn, _Raised
from .results import NotCheckable, _RaisedOnProbe

PROBE_TRIALS = 3    # random integer inputs that test the bilinearity assumption
PROBE_RANGE = 3     # their entries lie in [−PROBE_RANGE, PROBE_RANGE]


class _Prober:
    """Calls a float-only fn on float64 arrays, checking every output is a real array of exact
    integers, within the deadline."""

    def __init__(self, fn: Callable[..., Any], spec: ConvSpec, batched: bool, limit: Deadline,
                 planned: int) -> None:
        self.fn, self.spec, self.batched = fn, spec, batched
        self.limit, self.planned = limit, planned
        self.calls = 0
        limit.progress = self.progress
        self.shape: tuple[int, ...] | None = None

    def __call__(self, xs: np.ndarray, w: np.ndarray, b: np.ndarray | None, what: str,
                 integral: bool = True) -> np.ndarray:
        """fn on each sample of xs (n, *input_shape) → (n, ∏ output) float64 (on copies, so an
        fn that writes into its arguments cannot corrupt later probes). ``what`` names the probe
        input in errors; ``integral`` demands integer outputs (integer inputs)."""
        if self.batched:
            ys = self._call(xs, w, b, what)
            if ys.ndim == 0 or ys.shape[0] != len(xs):
                raise AssertionError(f"fn was declared batched but returned shape {ys.shape} "
                                     f"for a batch of {len(xs)} samples")
            self._output_shape(ys[0])
        else:
            ys = np.stack([self._output_shape(self._call(x, w, b, f"{what}; sample {k} of {len(xs)}"))
                           for k, x in enumerate(xs)])
        bad = ys != np.round(ys)
        if integral and bad.any():
            n, *index = np.argwhere(bad)[0]
            raise NotCheckable(
                f"fn returned y[{','.join(map(str, index))}] = {float(ys[(n, *index)])!r} on inputs of "
                f"small integers (0/1 for probing), where a convolution gives an exact integer: fn "
                f"rounds (FFT-based, reduced precision?), so probing cannot verify it exactly")
        return ys.reshape(len(xs), -1)

    def progress(self) -> str:
        return (f"probing did not finish within deadline={self.limit.seconds!r} s: {self.calls} of "
                f"{self.planned} calls of fn made in {self.limit.elapsed():.1f} s")

    def _output_shape(self, y: np.ndarray) -> np.ndarray:
        if self.shape is None:
            self.shape = y.shape
        elif y.shape != self.shape:
            raise AssertionError(f"fn returned outputs of shape {y.shape} and {self.shape} "
                                 f"for inputs of the same shape")
        return y

    def _call(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, what: str) -> np.ndarray:
        """One call of fn on copies of the arrays, its output checked to be real and finite."""
        self.limit.check()
        self.calls += 1
        y = _call_fn(self.fn, self.limit, x, w, b)
        if isinstance(y, _Raised):
            raise _RaisedOnProbe(f"fn raised {y.error!r} on the probe input ({what}): float64 arrays x "
                               f"{x.shape}, w {w.shape}, b {None if b is None else b.shape}") from y.error
        return _real_output(y, what)


def _real_output(y: Any, what: str) -> np.ndarray:
    """fn's output as a float64 array, or NotCheckable naming what fn returned: None, a complex,
    bool, str or object array, NaN or an infinity. A torch tensor is detached first."""
    on = f"on the probe input ({what})"
    if y is None:
        raise NotCheckable(f"fn returned None {on}; it must return the output array y")
    try:
        if type(y).__module__.split(".")[0] == "torch" and hasattr(y, "detach"):
            y = y.detach().cpu()   # a tensor that requires grad cannot become a NumPy array as it is
            y = y.double() if y.is_floating_point() else y   # NumPy has no bfloat16
        array = np.asarray(y)
    except Exception as error:
        raise NotCheckable(f"fn returned {type(y).__name__} {on}, which is not an array: "
                           f"{type(error).__name__}: {error}") from error
    if array.dtype.kind == "c":
        raise NotCheckable(f"fn returned a complex output (dtype {array.dtype}, largest |imaginary part| "
                           f"{float(np.abs(array.imag).max(initial=0)):g}) {on}: a real convolution layer "
                           f"has real outputs, and probing does not drop an imaginary part")
    if array.dtype.kind not in "iuf":
        raise NotCheckable(f"fn returned {type(y).__name__} of dtype {array.dtype} {on}: not real "
                           f"numbers (bool, str, object and complex outputs are refused)")
    wide, array = array, array.astype(np.float64)
    if wide.dtype.kind == "f" and wide.dtype.itemsize > 8 and not np.array_equal(array.astype(wide.dtype), wide):
        index = tuple(np.argwhere(array.astype(wide.dtype) != wide)[0])
        raise NotCheckable(f"fn returned {wide.dtype} values {on} that float64 does not hold exactly (y"
                           f"[{','.join(map(str, index))}] = {wide[index]!r}): probing compares float64 "
                           f"values exactly, and rounding fn's output to them could hide a difference")
    for test, name in ((np.isnan, "not a number"), (np.isinf, "infinite")):
        bad = test(array)
        if bad.any():
            index = ",".join(map(str, np.argwhere(bad)[0]))
            raise NotCheckable(f"fn returned y[{index}] = {float(array[bad][0])!r} ({name}) {on}: a "
                               f"convolution of finite inputs is finite")
    return array


def _probe(fn: Callable[..., Any], spec: ConvSpec, operands: tuple, batched: bool,
           limit: Deadline) -> tuple[np.ndarray, int, _Prober]:
    """Recover y = c + L_x x + L_w w + L_b b + B(w, x) exactly as a polynomial in the symbols.

    Each probe sends the zero input followed by every one-hot input, so fn is called
    (1 + |x|)·(1 + |w|) + |b| times (1 + |w| + |b| with ``batched``), then PROBE_TRIALS times on
    random integer inputs that must satisfy the recovered map exactly; all within ``limit``.
    """
    __tracebackhide__ = True
    nx, nw = prod(spec.input_shape), prod(spec.weight_shape)
    nb = spec.out_channels if spec.bias else 0
    planned = (1 + nw + nb if batched else (1 + nx) * (1 + nw) + nb) + PROBE_TRIALS
    run = _Prober(fn, spec, batched, limit, planned)
    zero_x = np.zeros((1, *spec.input_shape))
    xs = np.concatenate([zero_x, np.eye(nx).reshape(nx, *spec.input_shape)])  # 0, e_1, …, e_|x|
    ws = np.eye(nw).reshape(nw, *spec.weight_shape)
    zero_b = np.zeros(spec.out_channels) if spec.bias else None
    first = run(xs, np.zeros(spec.weight_shape), zero_b, "x zero and one-hot, w = 0, b = 0")
    const, lin_x = first[0], first[1:] - first[0]
    lin_b = (np.concatenate([run(zero_x, np.zeros(spec.weight_shape), bo, f"x = 0, w = 0, b one-hot at {o}")
                             for o, bo in enumerate(np.eye(spec.out_channels))]) - const
             if spec.bias else np.zeros((0, len(const))))
    lin_w = np.zeros((nw, len(const)))
    pairs = []  # (i, j, out, coefficient) of B(w, x)
    for i, wi in enumerate(ws):
        response = run(xs, wi, zero_b, f"x zero and one-hot, w one-hot at flat index {i}, b = 0") - const
        lin_w[i] = response[0]
        coefficients = response[1:] - lin_x - lin_w[i]
        j, out = np.nonzero(coefficients)
        pairs.append(np.stack([np.full_like(j, i), j, out, coefficients[j, out].astype(np.int64)]))
    i, j, out, coefficient = np.concatenate(pairs, axis=1) if pairs else np.zeros((4, 0), np.int64)
    _check_bilinear(run, spec, const, lin_x, lin_w, lin_b, (i, j, out, coefficient))

    x, w, b = (np.ravel(a) if a is not None else np.zeros(0, dtype=object) for a in operands)
    terms: list[list[sp.Expr]] = [[sp.Integer(int(c))] if c else [] for c in const]
    for variables, linear in ((x, lin_x), (w, lin_w), (b, lin_b)):
        for v, o in zip(*np.nonzero(linear)):
            terms[o].append(int(linear[v, o]) * variables[v])
    for ii, jj, oo, cc in zip(i, j, out, coefficient):
        terms[oo].append(int(cc) * w[ii] * x[jj])
    y = np.empty(len(terms), dtype=object)
    y[:] = [sp.Add(*t) for t in terms]
    return y.reshape(run.shape), run.calls, run


def _check_bilinear(run: _Prober, spec: ConvSpec, const, lin_x, lin_w, lin_b, bilinear) -> None:
    """fn must agree exactly with the probed map on random small-integer inputs (seed 0)."""
    __tracebackhide__ = True
    i, j, out, coefficient = bilinear
    rng = np.random.default_rng(0)
    draw = lambda shape: rng.integers(-PROBE_RANGE, PROBE_RANGE + 1, size=shape)  # noqa: E731
    for _ in range(PROBE_TRIALS):
        xs = draw((2 if run.batched else 1, *spec.input_shape))
        w, b = draw(spec.weight_shape), draw(spec.out_channels) if spec.bias else None
        obtained = run(xs.astype(np.float64), w.astype(np.float64),
                       None if b is None else b.astype(np.float64),
                       f"random integers in [{-PROBE_RANGE}, {PROBE_RANGE}], seed 0")
        for x, y in zip(xs, obtained):
            predicted = (const + x.ravel() @ lin_x + w.ravel() @ lin_w
                         + (b @ lin_b if b is not None else 0)).astype(np.int64)
            np.add.at(predicted, out, coefficient * w.ravel()[i] * x.ravel()[j])
            if not np.array_equal(predicted, y):
                k = int(np.nonzero(predicted != y)[0][0])
                index = ",".join(map(str, np.unravel_index(k, run.shape)))
                raise AssertionError(
                    f"fn is not a convolution layer: it is not bilinear in (x, w) plus a linear "
                    f"bias. On random integer inputs (seed 0) fn gives y[{index}] = {y[k]:g}, but "
                    f"the map read off by one-hot probing predicts {predicted[k]} (fn may be "
                    f"nonlinear, stateful or random)")
