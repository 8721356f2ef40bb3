"""Symbolic mode: fn run on NumPy object arrays of SymPy symbols, batched (two samples with
distinct symbols) or twice (the symbols, then fresh ones renamed back); every output must be a
SymPy expression or an integer."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from ..deadline import Deadline
from ..spec import ConvSpec
from ..symbols import symbols, tensor_symbols
from .calls import _call_fn, _Raised
from .fastpath import fast_runs
from .results import NotCheckable


def _fresh(spec: ConvSpec) -> tuple[dict, tuple]:
    """Renamed symbols (x', w', b' → x_{n=1,…}, v_{…}, c_{…}) for a second call of fn, and the map
    back to the original names (see ``_renamed``)."""
    x, w, b = symbols(spec)
    x2 = symbols(spec, batch=2)[0][1]
    w2 = tensor_symbols("v", w.shape)
    b2 = None if b is None else tensor_symbols("c", b.shape)
    back = dict(zip(x2.flat, x.flat)) | dict(zip(w2.flat, w.flat))
    if b is not None:
        back |= dict(zip(b2.flat, b.flat))
    return back, (x2, w2, b2)


def _run_on_symbols(fn: Callable[..., Any], spec: ConvSpec, operands: tuple, batched: bool,
                    limit: Deadline) -> list[tuple[np.ndarray, str]]:
    """fn's outputs on symbols, each in the original symbols, with what they came from: batched, a
    batch of two samples with distinct symbols (x_{n,c,…}); unbatched, the symbols, then fresh ones.
    Run first on the fast exact polynomials (``fastpath``: an output there is a ``KeyedOutput``
    carrying its proof), on SymPy symbols where that path cannot decide."""
    fast = fast_runs(fn, spec, batched, limit)
    if fast is not None:
        return fast
    x, w, b = operands
    if batched:
        xs = symbols(spec, batch=2)[0]
        y = _symbolic_output(fn, spec, (xs, w, b), batched, limit)
        if y.shape != (2, *spec.output_shape):
            raise AssertionError(f"fn was declared batched but returned shape {y.shape} for a batch "
                                 f"of 2 samples (expected {(2, *spec.output_shape)})")
        return [(_renamed(y[n], dict(zip(xs[n].flat, x.flat)), x), n and "sample 1 of a batch of 2")
                for n in range(2)]
    first = _symbolic_output(fn, spec, operands, batched, limit)
    limit.check()
    back, renamed = _fresh(spec)
    second = _renamed(_symbolic_output(fn, spec, renamed, batched, limit), back, *operands)
    return [(first, ""), (second, "fresh symbols, renamed back")]


def _renamed(y: np.ndarray, back: dict, *unsent: np.ndarray | None) -> np.ndarray:
    """y with the symbols fn was given renamed back (``back``), and the symbols it was *not* given
    this time (``unsent``: e.g. those of an earlier call, replayed from a cache) renamed to foreign
    ``stale`` symbols, which the proof refuses; one simultaneous substitution."""
    stale = {v: sp.Symbol(f"stale {v}") for a in unsent if a is not None for v in a.flat}
    rename = stale | back
    out = np.empty(y.size, dtype=object)
    out[:] = [v.xreplace(rename) if isinstance(v, sp.Basic) else v for v in y.flat]
    return out.reshape(y.shape)


def _symbolic_output(fn: Callable[..., Any], spec: ConvSpec, operands: tuple, batched: bool,
                     limit: Deadline) -> np.ndarray:
    y = _call_fn(fn, limit, *operands)
    if isinstance(y, _Raised):
        shapes = ", ".join(f"{name} {np.shape(a)}" for name, a in zip("xwb", operands) if a is not None)
        raise NotCheckable(
            f"fn raised {y.describe()}\nwhen called on NumPy object arrays of SymPy "
            f"symbols ({shapes}; {spec.layout}{', batched' if batched else ''}). If fn only runs "
            f"on floats (torch, scipy, compiled kernels, float allocations), use mode='probe' to "
            f"verify it by exact probing.") from y.error
    try:
        y = np.asarray(y, dtype=object)
    except Exception as error:
        raise NotCheckable(f"fn returned {type(y).__name__} on symbols, which is not an array: "
                           f"{type(error).__name__}: {error}") from error
    _refuse_non_symbolic(y)
    return y


def _refuse_non_symbolic(y: np.ndarray) -> None:
    """NotCheckable unless every output is a SymPy expression or an integer (an output fn never
    wrote, e.g. 0 from ``np.zeros(..., dtype=object)``): floats, None or other objects returned on
    symbols mean fn did not compute with them."""
    for index, value in np.ndenumerate(y):
        if isinstance(value, sp.Expr) or isinstance(value, numbers.Integral) and not isinstance(value, bool):
            continue
        where = f"y[{','.join(map(str, index))}]" if y.ndim else "y"
        raise NotCheckable(f"fn returned {where} = {value!r} ({type(value).__name__}) when called on NumPy "
                           f"object arrays of SymPy symbols: a convolution's outputs are polynomials in "
                           f"x, w, b, so fn did not compute with the symbols. If fn only runs on floats, "
                           f"use mode='probe' to verify it by exact probing.")
