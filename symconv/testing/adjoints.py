"""``assert_conv_transpose_equivalent`` and ``assert_conv_gradients_equivalent``: check a
third-party transposed convolution or backward pass of the layer ``spec`` (``adjoint_maps``).

``mode="symbolic"`` calls fn on NumPy object arrays of SymPy symbols (a batch of two, or twice:
the symbols, then fresh ones) and proves every output equal to the map's polynomial by canonical
expanded forms; ``mode="probe"`` is for float-only code: randomized identity testing on float64
arrays of integers (``adjoint_probe``), exact, with a false-pass probability ≤ 2⁻⁶⁴ if fn is of
degree ≤ 2 in its operands (bilinear plus linear terms, which a transposed convolution and a
backward pass are). Symbolic mode runs the same random points after its proof (as float64, or as
Python integers when fn raises on floats). A failure lists the differing entries of y, grad_x,
grad_w or grad_b with the terms they lack and have instead (probe mode reads fn's polynomial off
by one-hot probes for it) and names the recognised fault that reproduces them.

Probe mode takes the forward checker's options: ``exhaustive=True`` reads every coefficient of fn
by one-hot probing instead (``adjoint_exhaustive``: "verified by exact probing, assuming
bilinearity"), and ``rtol``/``atol`` check code that rounds (float32, TF32, FFT, Winograd) within
``torch.testing.assert_close``'s |out − exact| ≤ atol + rtol·|exact|, every entry of every output,
at dyadic random points and at points scaled by 2^±8, 2^±24 (``adjoint_tolerance``, the points of
``tolerance``: "verified within tolerance rtol=…, atol=…"); no exact trials follow a tolerance
check, as in the forward's. After an identity test or exhaustive probing the numeric trials
(``adjoint_trials``) compare fn exactly on further families of values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ..deadline import Deadline
from ..errors import SpecError, boolean, one_of, seconds
from ..spec import ConvSpec
from .adjoint_calls import Caller
from .adjoint_exhaustive import check_exhaustively
from .adjoint_maps import AdjointMap, gradients_map, transpose_map
from .adjoint_probe import AdjointCheckResult, check_by_identity, result
from .adjoint_reports import explain, header
from .adjoint_targets import adjoint_target
from .adjoint_tolerance import check_within_tolerance
from .adjoint_trials import numeric_trials
from .assertions import MAX_TERMS, PROBE_DEADLINE, _check_seed, _with_layout, probe_options, under_deadline
from .assertions import _refuse_too_large as _refuse_too_large_probe
from .results import MODES


def assert_conv_transpose_equivalent(fn: Callable[..., Any], spec: ConvSpec, output_padding: object = 0,
                                     layout: str | None = None, mode: str = "symbolic", batched: bool = False,
                                     *, deadline: float = PROBE_DEADLINE, seed: int | None = None,
                                     exhaustive: bool = False, rtol: float | None = None,
                                     atol: float | None = None) -> AdjointCheckResult:
    """Assert that ``fn(g, w, b)`` is the transposed convolution of the forward layer ``spec``
    (PyTorch's ``conv_transpose{1,2,3}d(g, w, b, stride, padding, output_padding, groups,
    dilation)``); return what was established.

    g has the forward output's shape, w the forward weight's (NCHW: (C_out, C_in/groups, *k),
    which is also torch's conv_transpose weight; NHWC: HWIO), b is (C_in,) or None
    (``spec.bias``); fn returns the forward input's shape with each spatial size enlarged by
    ``output_padding`` (0 ≤ output_padding < max(stride, dilation), PyTorch's rule). ``layout``,
    ``mode``, ``batched`` (a leading sample axis of g and y), ``deadline`` and ``seed`` are those
    of ``assert_conv_equivalent``, and so are the keyword-only probe-mode options ``exhaustive``
    (every coefficient by one-hot probing) and ``rtol``/``atol`` (within a tolerance, for code
    that rounds: |y − exact| ≤ atol + rtol·|exact| for every entry, at random points).

    >>> import numpy as np, symconv
    >>> spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    >>> def transposed(g, w, b):   # y[i] = Σ_j g[j]·w[i − j]
    ...     y = np.zeros((1, 3), dtype=g.dtype)
    ...     for j in range(2):
    ...         y[0, j:j + 2] += g[0, j] * w[0, 0]
    ...     return y
    >>> print(assert_conv_transpose_equivalent(transposed, spec))  # doctest: +ELLIPSIS
    proved: fn computes the transposed convolution [1-D, ...; 3 outputs, 4 terms, 2 call(s) of fn, ...]
    >>> assert_conv_transpose_equivalent(transposed, spec, mode="probe", exhaustive=True).established
    'verified by exact probing, assuming bilinearity'
    >>> print(assert_conv_transpose_equivalent(transposed, spec, mode="probe", rtol=1e-6, atol=1e-9))
    ... # doctest: +ELLIPSIS
    verified within tolerance rtol=1e-06, atol=1e-09 at 8 random points and 4 with inputs scaled by 2^±8, ...
    """
    __tracebackhide__ = True
    spec = _with_layout(spec, layout)
    return _checked(fn, transpose_map(spec, output_padding), "fn", mode, batched, deadline, seed, exhaustive, rtol,
                    atol)


def assert_conv_gradients_equivalent(backward_fn: Callable[..., Any], spec: ConvSpec, layout: str | None = None,
                                     mode: str = "symbolic", batched: bool = False, *,
                                     deadline: float = PROBE_DEADLINE, seed: int | None = None,
                                     exhaustive: bool = False, rtol: float | None = None,
                                     atol: float | None = None) -> AdjointCheckResult:
    """Assert that ``backward_fn(x, w, g)`` returns ``(grad_x, grad_w, grad_b)`` of the layer
    ``spec``: the gradients of L = Σ_n ⟨g_n, conv(x_n, w, b)⟩ (grad_b None without bias); return
    what was established.

    x, w and g (the upstream gradient, the output's shape) follow ``layout``; with ``batched``
    x, g and grad_x have a leading sample axis, and grad_w, grad_b are summed over it as autograd
    does. The other arguments are those of ``assert_conv_equivalent``, the probe-mode options
    ``exhaustive`` and ``rtol``/``atol`` included (every entry of grad_x, grad_w and grad_b compared).

    >>> import numpy as np, symconv
    >>> spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    >>> def backward(x, w, g):   # y[j] = w[0]·x[j] + w[1]·x[j + 1]
    ...     grad_x = np.zeros_like(x)
    ...     grad_x[0, :2] += g[0] * w[0, 0, 0]
    ...     grad_x[0, 1:] += g[0] * w[0, 0, 1]
    ...     grad_w = np.array([[[x[0, :2] @ g[0], x[0, 1:] @ g[0]]]])
    ...     return grad_x, grad_w, None
    >>> print(assert_conv_gradients_equivalent(backward, spec))  # doctest: +ELLIPSIS
    proved: fn computes the backward pass (...) [1-D, ...; 5 outputs, ...]
    >>> def swapped(x, w, g):
    ...     grad_x, grad_w, _ = backward(x, w, g)
    ...     return grad_x, grad_w[..., ::-1], None
    >>> assert_conv_gradients_equivalent(swapped, spec)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    AssertionError: backward_fn does not compute the backward pass (...) [...]: grad_w: 2 of 2 entries differ.
      grad_w[0,0,0] lacks g_{0,0}·x_{0,0}, g_{0,1}·x_{0,1}; has g_{0,0}·x_{0,1}, g_{0,1}·x_{0,2} instead
    ...
    Diagnosis: grad_w: the weight gradient flipped on every spatial axis (of true convolution) — ...
    >>> assert_conv_gradients_equivalent(swapped, spec, mode="probe", rtol=1e-6, atol=1e-9, seed=1)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    AssertionError: backward_fn ... (found by checking within tolerance): grad_w: 2 of 2 entries not within rtol=...
      grad_w[0,0,0] = ..., the backward pass gives ...
    ...
    Diagnosis: grad_w: the weight gradient flipped on every spatial axis (of true convolution) — ...
    """
    __tracebackhide__ = True
    spec = _with_layout(spec, layout)
    return _checked(backward_fn, gradients_map(spec), "backward_fn", mode, batched, deadline, seed, exhaustive,
                    rtol, atol)


def _checked(fn: Callable[..., Any], m: AdjointMap, caller: str, mode: str, batched: Any, deadline: Any,
             seed: Any, exhaustive: Any, rtol: Any, atol: Any) -> AdjointCheckResult:
    """Arguments validated, sizes bounded, then the check within the deadline."""
    __tracebackhide__ = True
    one_of("mode", mode, MODES)
    batched = boolean("batched", batched)
    seconds("deadline", deadline)
    exhaustive, tolerances = probe_options(mode, exhaustive, rtol, atol)
    seed = _check_seed(seed)
    _refuse_too_large(m, "exhaustive" if exhaustive else mode)

    def check(limit: Deadline) -> AdjointCheckResult:
        __tracebackhide__ = True
        run = Caller(fn, m, caller, batched, limit)
        run.mode = mode
        if tolerances is not None:   # no exact trials: they demand exactness, as the forward's tolerance mode
            _refuse_too_large_probe(m.spec, "probe")
            return check_within_tolerance(run, seed, tolerances)
        if exhaustive:
            checked = check_exhaustively(run, seed)
            _numeric_trials(run, seed, "exact probing")
            return replace(checked, cross_checks=run.calls - checked.calls, seconds=limit.elapsed())
        return _check(run, mode, seed)
    return under_deadline(deadline, caller, check)


def _refuse_too_large(m: AdjointMap, mode: str) -> None:
    """SpecError before anything is built: symbolic mode builds m.terms(2) products, exhaustive
    probing fn's polynomial of m.terms() products, both as SymPy expressions."""
    terms = m.terms(2) if mode == "symbolic" else m.terms()
    if mode != "probe" and terms > MAX_TERMS:
        built = "symbolic mode" if mode == "symbolic" else "exhaustive probing"
        raise SpecError("spec", m.spec.describe(), f"{built} would build {terms} products, more than "
                        f"MAX_TERMS={MAX_TERMS}; check a smaller layer (the same code at a smaller input size)")


def _check(run: Caller, mode: str, seed: int) -> AdjointCheckResult:
    __tracebackhide__ = True
    m = run.m
    if mode == "probe":
        _refuse_too_large_probe(m.spec, "probe")
        checked = check_by_identity(run, seed)
        _numeric_trials(run, seed, "the identity test")   # families the integer identity test misses
        return checked
    proved_calls = _prove_on_symbols(run)
    _numeric_trials(run, seed, "symbols")
    return result(m, "symbolic", proved_calls, run)


def _numeric_trials(run: Caller, seed: int, passed: str) -> None:
    """fn on the families of exact values of ``adjoint_trials`` (fractions, full precision, a batch
    of 17 integers, float32 and int64 arrays, non-contiguous views), compared exactly."""
    __tracebackhide__ = True
    m = run.m
    numbers = (lambda values, what: run(values, what, kind="numbers")) if run.mode == "symbolic" else None
    returned = (lambda: run.returned) if run.mode == "probe" else None   # float64, whatever the identity test saw
    _, mismatch = numeric_trials(run, adjoint_target(m), run.batched, seed, "float64", numbers, returned)
    if mismatch is not None:
        value = float(mismatch.value) if isinstance(mismatch.value, np.floating) else mismatch.value
        raise AssertionError(
            f"{header(m, run.caller)}: it passed {passed}, but not these numbers: {mismatch.output}"
            f"[{','.join(map(str, mismatch.index))}] = {value!r}, {m.name} gives {mismatch.expected} exactly "
            f"({mismatch.trial}; seed={seed} repeats it): {run.caller} takes another path on numbers, "
            f"dtypes, memory layouts or batches, rounds, or is not bilinear")


def _prove_on_symbols(run: Caller) -> int:
    """fn on symbols (a batch of two, or the symbols and then fresh ones), each output compared
    exactly with the map's polynomial; AssertionError with the differences and the diagnosis."""
    __tracebackhide__ = True
    m = run.m
    runs = ([(m.symbols(batch=2), " (on a batch of 2 samples)")] if run.batched else
            [(m.symbols(), ""), (m.symbols(fresh=True), " (on fresh symbols u, v, h, c)")])
    for operands, on in runs:
        explained = explain(m, run.caller, operands, run(operands, "symbols", kind="symbols"), on=on)
        if explained:
            raise AssertionError(explained)
    return run.calls
