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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np

from ..deadline import Deadline, DeadlineDisarmed, DeadlineExceeded
from ..errors import SpecError, boolean, one_of, seconds
from ..spec import ConvSpec
from .adjoint_maps import AdjointMap, Arrays, gradients_map, transpose_map
from .adjoint_probe import FALSE_PASS_BITS, TRIAL_BATCH, Mismatch, identity_trials, value_bits
from .adjoint_recovery import recover
from .adjoint_reports import diagnosis, difference_message, differences, foreign_part, header, shape_message
from .assertions import MAX_TERMS, PROBE_DEADLINE, _check_seed, _with_layout
from .calls import _call_fn, _Raised
from .probe import _real_output
from .results import CheckResult, NotCheckable

ADJOINT_ESTABLISHED = {
    "symbolic": "proved",
    "probe": f"verified by randomized identity testing (false-pass probability ≤ 2^-{FALSE_PASS_BITS}), "
             f"assuming fn is bilinear"}


@dataclass(frozen=True)
class AdjointCheckResult(CheckResult):
    """What a transposed or gradient check established; ``checked`` names the map
    ("the transposed convolution" or "the backward pass …")."""

    checked: str = ""

    def __str__(self) -> str:
        return (f"{self.established}: fn computes {self.checked} [{self.spec.describe()}; "
                f"{self.outputs} outputs, {self.terms} terms, {self.calls} call(s) of fn, "
                f"{self.cross_checks} cross-check call(s) passed, {self.seconds:.3f} s]")


def assert_conv_transpose_equivalent(fn: Callable[..., Any], spec: ConvSpec, output_padding: object = 0,
                                     layout: str | None = None, mode: str = "symbolic", batched: bool = False,
                                     *, deadline: float = PROBE_DEADLINE,
                                     seed: int | None = None) -> AdjointCheckResult:
    """Assert that ``fn(g, w, b)`` is the transposed convolution of the forward layer ``spec``
    (PyTorch's ``conv_transpose{1,2,3}d(g, w, b, stride, padding, output_padding, groups,
    dilation)``); return what was established.

    g has the forward output's shape, w the forward weight's (NCHW: (C_out, C_in/groups, *k),
    which is also torch's conv_transpose weight; NHWC: HWIO), b is (C_in,) or None
    (``spec.bias``); fn returns the forward input's shape with each spatial size enlarged by
    ``output_padding`` (0 ≤ output_padding < max(stride, dilation), PyTorch's rule). ``layout``,
    ``mode``, ``batched`` (a leading sample axis of g and y), ``deadline`` and ``seed`` are those
    of ``assert_conv_equivalent``.

    >>> import numpy as np, symconv
    >>> spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    >>> def transposed(g, w, b):   # y[i] = Σ_j g[j]·w[i − j]
    ...     y = np.zeros((1, 3), dtype=g.dtype)
    ...     for j in range(2):
    ...         y[0, j:j + 2] += g[0, j] * w[0, 0]
    ...     return y
    >>> print(assert_conv_transpose_equivalent(transposed, spec))  # doctest: +ELLIPSIS
    proved: fn computes the transposed convolution [1-D, ...; 3 outputs, 4 terms, 2 call(s) of fn, ...]
    """
    __tracebackhide__ = True
    spec = _with_layout(spec, layout)
    return _checked(fn, transpose_map(spec, output_padding), "fn", mode, batched, deadline, seed)


def assert_conv_gradients_equivalent(backward_fn: Callable[..., Any], spec: ConvSpec, layout: str | None = None,
                                     mode: str = "symbolic", batched: bool = False, *,
                                     deadline: float = PROBE_DEADLINE, seed: int | None = None) -> AdjointCheckResult:
    """Assert that ``backward_fn(x, w, g)`` returns ``(grad_x, grad_w, grad_b)`` of the layer
    ``spec``: the gradients of L = Σ_n ⟨g_n, conv(x_n, w, b)⟩ (grad_b None without bias); return
    what was established.

    x, w and g (the upstream gradient, the output's shape) follow ``layout``; with ``batched``
    x, g and grad_x have a leading sample axis, and grad_w, grad_b are summed over it as autograd
    does. The other arguments are those of ``assert_conv_equivalent``.

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
    """
    __tracebackhide__ = True
    spec = _with_layout(spec, layout)
    return _checked(backward_fn, gradients_map(spec), "backward_fn", mode, batched, deadline, seed)


def _checked(fn: Callable[..., Any], m: AdjointMap, caller: str, mode: str, batched: Any, deadline: Any,
             seed: Any) -> AdjointCheckResult:
    """Arguments validated, sizes bounded, then the check within the deadline."""
    __tracebackhide__ = True
    one_of("mode", mode, ("symbolic", "probe"))
    batched = boolean("batched", batched)
    seconds("deadline", deadline)
    seed = _check_seed(seed)
    _refuse_too_large(m, mode, batched)
    try:
        with Deadline(deadline) as limit:
            limit.progress = lambda: f"the check did not finish within deadline={deadline!r} s"
            return _check(_Caller(fn, m, caller, batched, limit), mode, seed)
    except DeadlineExceeded:
        raise NotCheckable(f"{limit.progress()}, so nothing was verified ({caller} hangs or is slow?); pass "
                           f"a larger deadline= (seconds), use batched=True, or check a smaller layer") from None
    except DeadlineDisarmed as error:
        raise NotCheckable(f"{caller} disarmed the deadline: {error} (it must leave SIGALRM and the real-time "
                           f"timer alone while it is checked), so nothing was verified") from None


def _refuse_too_large(m: AdjointMap, mode: str, batched: bool) -> None:
    """SpecError before anything is built: symbolic mode builds m.terms(2) products; identity
    testing needs entries of at least 8 bits exact in float64."""
    terms = m.terms(2)
    if mode == "symbolic" and terms > MAX_TERMS:
        raise SpecError("spec", m.spec.describe(), f"symbolic mode would build {terms} products, more than "
                        f"MAX_TERMS={MAX_TERMS}; check a smaller layer (the same code at a smaller input size)")
    if value_bits(m, TRIAL_BATCH if batched else None) < 8:
        raise SpecError("spec", m.spec.describe(), f"an output sums up to {m.terms(TRIAL_BATCH)} products: too "
                        f"many for exact float64 identity testing with 8-bit entries; check a smaller layer")


class _Caller:
    """Calls fn on the map's operands (copies, within the deadline) and checks its outputs: their
    number, shapes and kind (polynomials on symbols, real arrays on floats)."""

    def __init__(self, fn: Callable[..., Any], m: AdjointMap, caller: str, batched: bool, limit: Deadline) -> None:
        self.fn, self.m, self.caller, self.batched, self.limit = fn, m, caller, batched, limit
        self.calls = 0
        self.mode = "symbolic"

    def __call__(self, operands: Arrays, what: str, kind: str = "floats") -> Arrays | _Raised:
        """fn's outputs on ``operands`` ("symbols", "floats" or "numbers": Python integers),
        or what fn raised on floats in symbolic mode (it may then run on Python integers)."""
        __tracebackhide__ = True
        self.limit.check()
        self.calls += 1
        sent = [operands[name] for name in self.m.operands]
        raw = _call_fn(self.fn, self.limit, *sent, names=self.m.operands)  # type: ignore[arg-type]
        if isinstance(raw, _Raised):
            if kind == "floats" and self.mode == "symbolic":
                return raw
            shapes = ", ".join(f"{n} {np.shape(a)}" for n, a in zip(self.m.operands, sent) if a is not None)
            advice = (" If it only runs on floats (torch, scipy, compiled kernels), use mode='probe'."
                      if kind == "symbols" else "")
            raise NotCheckable(f"{self.caller} raised {raw.describe()}\nwhen called on {kind} ({what}; {shapes})."
                               + advice) from raw.error
        batch = len(operands[next(iter(self.m.batched_operands & set(self.m.operands)))]) if self.batched else None
        return self._outputs(raw, kind, what, batch)

    def one_sample(self, operands: Arrays, what: str) -> Arrays:
        """fn on one unbatched sample: a batched fn gets (and returns) a batch of one."""
        if not self.batched:
            return self(operands, what)  # type: ignore[return-value]
        lead = {n: a if a is None or n not in self.m.batched_operands else a[None] for n, a in operands.items()}
        out = self(lead, what)
        return {n: y[0] if n in self.m.per_sample_outputs else y for n, y in out.items()}  # type: ignore[union-attr]

    def _outputs(self, raw: Any, kind: str, what: str, batch: int | None) -> Arrays:
        __tracebackhide__ = True
        m, shapes = self.m, self.m.output_shapes(batch)
        if m.kind == "transpose":
            values = {"y": raw}
        elif isinstance(raw, (tuple, list)) and len(raw) == 3:
            values = dict(zip(m.outputs, raw))
        else:
            got = type(raw).__name__
            got = f"a {got} of length {len(raw)}" if isinstance(raw, (tuple, list)) else got
            raise NotCheckable(f"{self.caller} returned {got} on {kind} ({what}); it must return the tuple "
                               f"(grad_x, grad_w, grad_b), grad_b None when the spec has no bias")
        out: Arrays = {}
        for name, value in values.items():
            if (value is None) != (shapes[name] is None):
                raise AssertionError(shape_message(m, self.caller, name, None if value is None else np.shape(value),
                                                   shapes[name]))
            # symbolic mode's code may return object arrays of numbers: compared exactly entry by entry
            as_kind = "numbers" if kind == "floats" and self.mode == "symbolic" else kind
            out[name] = None if value is None else _converted(name, value, as_kind, what)
            if out[name] is not None and out[name].shape != shapes[name]:  # type: ignore[union-attr]
                raise AssertionError(shape_message(m, self.caller, name, out[name].shape, shapes[name]))  # type: ignore[union-attr]
        return out


def _converted(name: str, value: Any, kind: str, what: str) -> np.ndarray:
    """fn's output ``name`` as a float64 array (floats: ``_real_output`` refuses complex, NaN, …) or an
    object array whose entries are polynomials (symbols: SymPy expressions or integers) or numbers."""
    if kind == "floats":
        return _real_output(value, f"{what}; output {name}")
    try:
        array = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value, dtype=object)
    except Exception as error:
        raise NotCheckable(f"fn returned {name} = {type(value).__name__} on {kind}, which is not an array: "
                           f"{type(error).__name__}: {error}") from error
    if kind == "symbols":
        for index, entry in np.ndenumerate(array):
            if (part := foreign_part(entry)) is not None:
                raise NotCheckable(f"fn returned {name}[{','.join(map(str, index))}] = {entry!r} on NumPy object "
                                   f"arrays of SymPy symbols, which holds {part!r} ({type(part).__name__}): the "
                                   f"map's outputs are polynomials with integer or rational coefficients in "
                                   f"SymPy's own classes, so fn did not compute exactly with the symbols. If fn "
                                   f"only runs on floats, use mode='probe'.")
    return array


def _check(run: _Caller, mode: str, seed: int) -> AdjointCheckResult:
    __tracebackhide__ = True
    m = run.m
    run.mode = mode
    proved_calls = _prove_on_symbols(run) if mode == "symbolic" else 0
    batch = TRIAL_BATCH if run.batched else None

    def evaluate(drawn: Arrays, what: str) -> Arrays:
        out = run({n: None if a is None else a.astype(np.float64) for n, a in drawn.items()}, what)
        if isinstance(out, _Raised):   # symbolic mode: code for symbols may run on Python integers only
            out = run({n: None if a is None else a.astype(object) for n, a in drawn.items()}, what, kind="numbers")
        return out   # type: ignore[return-value]

    points, mismatch = identity_trials(evaluate, m, batch, seed)
    if mismatch is not None:
        raise AssertionError(_mismatch_message(run, mode, mismatch, seed))
    sizes = [prod(s) for s in m.output_shapes().values() if s is not None]
    calls = proved_calls if mode == "symbolic" else points
    return AdjointCheckResult(spec=m.spec, mode=mode, established=ADJOINT_ESTABLISHED[mode], outputs=sum(sizes),
                              terms=m.terms(), calls=calls, seconds=run.limit.elapsed(),
                              cross_checks=run.calls - calls, checked=m.title)


def _prove_on_symbols(run: _Caller) -> int:
    """fn on symbols (a batch of two, or the symbols and then fresh ones), each output compared
    exactly with the map's polynomial; AssertionError with the differences and the diagnosis."""
    __tracebackhide__ = True
    m = run.m
    runs = ([(m.symbols(batch=2), " (on a batch of 2 samples)")] if run.batched else
            [(m.symbols(), ""), (m.symbols(fresh=True), " (on fresh symbols u, v, h, c)")])
    for operands, on in runs:
        obtained = run(operands, "symbols", kind="symbols")
        expected = m.reference(operands)
        found = {name: differences(name, expected[name], obtained[name])  # type: ignore[index]
                 for name in m.outputs if expected[name] is not None}
        if any(count for count, _ in found.values()):
            sizes = {name: e.size for name, e in expected.items() if e is not None}
            wrong = [name for name, (count, _) in found.items() if count]
            raise AssertionError(difference_message(m, run.caller, found, sizes, on=on)
                                 + diagnosis(m, operands, obtained, wrong))   # type: ignore[arg-type]
    return run.calls


def _mismatch_message(run: _Caller, mode: str, found: Mismatch, seed: int) -> str:
    """A random point where fn differs; in probe mode with the terms read off by one-hot probes."""
    m, caller = run.m, run.caller
    value = float(found.value) if isinstance(found.value, np.floating) else found.value
    where = (f"{found.output}[{','.join(map(str, found.index))}] = {value!r}, {m.title} gives "
             f"{found.expected} exactly (at random integers, trial {found.trial}, seed={seed} repeats it)")
    if mode == "symbolic":
        return (f"{header(m, caller)}: it does on symbols, but not on numbers: {where}: {caller} takes "
                f"another path on numbers, rounds, or is not bilinear")
    how = " (found by randomized identity testing, terms read off by encoded probes)"
    recovered = recover(run.one_sample, m, seed)
    if recovered is None:
        return (f"{header(m, caller)}: {where}. (The one-hot probes that name the differing terms were skipped: "
                f"more than RECOVERY_CALLS calls, or {caller} returned non-integers on them.)")
    operands = m.symbols()
    expected = m.reference(operands)
    found_terms = {name: differences(name, expected[name], recovered[name])  # type: ignore[index]
                   for name in m.outputs if expected[name] is not None}
    if not any(count for count, _ in found_terms.values()):
        return (f"{header(m, caller)}: {where}. {caller} agrees with the map on every one-hot probe: it is not "
                f"bilinear, or it rounds at larger values")
    sizes = {name: e.size for name, e in expected.items() if e is not None}
    wrong = [name for name, (count, _) in found_terms.items() if count]
    return (difference_message(m, caller, found_terms, sizes, how) + f"\n  first seen at {where}"
            + diagnosis(m, operands, recovered, wrong))
