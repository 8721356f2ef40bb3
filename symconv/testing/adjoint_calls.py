"""Calling a transposed convolution or backward pass under test: on copies of its operands
(named g, w, b or x, w, g in errors), within the deadline; what it returns checked: the tuple
(grad_x, grad_w, grad_b), None exactly where an output is absent, shapes, and the kind of entries
(polynomials of SymPy's own classes on symbols, real arrays on floats)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..deadline import Deadline
from .adjoint_maps import AdjointMap, Arrays
from .adjoint_reports import foreign_part, shape_message
from .calls import _call_fn, _Raised
from .pit import _dtype_name, _narrowest
from .probe import _real_output
from .results import NotCheckable


class Caller:
    """Calls fn on the map's operands (copies, within the deadline) and checks its outputs: their
    number, shapes and kind (polynomials on symbols, real arrays on floats)."""

    def __init__(self, fn: Callable[..., Any], m: AdjointMap, caller: str, batched: bool, limit: Deadline) -> None:
        self.fn, self.m, self.caller, self.batched, self.limit = fn, m, caller, batched, limit
        self.calls = 0
        self.mode = "symbolic"
        self.dtype = "float64"   # the dtype fn returns, once the identity test has seen it
        self.returned = "float64"   # the narrowest dtype fn returned in its last call (before conversion)

    def __call__(self, operands: Arrays, what: str, kind: str = "floats", optional: bool = False) -> Arrays | _Raised:
        """fn's outputs on ``operands`` ("symbols", "floats" or "numbers": SymPy numbers), or what
        fn raised on floats in symbolic mode (it may then run on numbers) or on an ``optional``
        trial (float32 or int64 arrays, which fn may refuse)."""
        __tracebackhide__ = True
        self.limit.check()
        self.calls += 1
        sent = [operands[name] for name in self.m.operands]
        raw = _call_fn(self.fn, self.limit, *sent, names=self.m.operands)  # type: ignore[arg-type]
        if isinstance(raw, _Raised):
            if kind == "floats" and (self.mode == "symbolic" or optional):
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
        self.returned = _narrowest({_dtype_name(value) for value in values.values() if value is not None})
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
