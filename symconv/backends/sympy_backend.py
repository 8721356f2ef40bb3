"""The SymPy backend: every form built on SymPy symbols and compared with the definition entry
by entry as canonical expanded polynomials, ``expand(definition − form) == 0``.

Exact for any expression (user-supplied matrices may hold anything), but slow: every monomial is
a SymPy object. The exact backend (``symconv.backends.exact``) delegates to it the user forms it
cannot represent.
"""

from __future__ import annotations

import time
from functools import cached_property
from math import prod
from typing import Any

import numpy as np

from ..forms import conv, im2col_conv, toeplitz_conv
from ..result.compare import first_difference
from ..spec import ConvSpec
from ..symbols import symbols

BYTES_PER_TERM = 1200
"""Peak bytes per monomial of a SymPy proof: measured 880 (3→4 ch, 3×3, 32×32, both forms), plus margin."""


class SympyCheck:
    """Checks forms one at a time against the definition, built once on first use."""

    def __init__(self, spec: ConvSpec, given: Any, order: str) -> None:
        self.spec, self.given, self.order = spec, given, order

    @cached_property
    def operands(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        return symbols(self.spec)

    @cached_property
    def definition(self) -> np.ndarray:
        return conv(self.spec, *self.operands)

    def form(self, name: str) -> Any:
        """The form's output array, computed by the form's own construction (or given)."""
        spec, given = self.spec, self.given
        if name == "output":
            return given.output
        if name == "toeplitz":
            return toeplitz_conv(spec, *self.operands, toeplitz=given.toeplitz)
        return im2col_conv(spec, *self.operands, order=self.order, im2col=given.im2col,
                           kernel_matrix=given.kernel_matrix)

    def __call__(self, name: str) -> Any:
        """The first counterexample of form ``name`` (scan order: (o, *out) row-major), or None."""
        return first_difference(self.spec, name, self.definition, self.form(name))


def run(spec: ConvSpec, forms: tuple[str, ...], given: Any, order: str,
        bar: Any) -> tuple[Any, dict[str, float]]:
    """(first counterexample in form order or None, timings)."""
    check = SympyCheck(spec, given, order)
    start = time.perf_counter()
    _ = check.definition
    timings = {"definition": time.perf_counter() - start}
    bar.update(1)
    for name in forms:
        start = time.perf_counter()
        found = check(name)
        timings[name] = time.perf_counter() - start
        bar.update(1)
        if found is not None:
            return found, timings
    return None, timings


def estimate_bytes(spec: ConvSpec) -> int:
    """BYTES_PER_TERM per monomial of the definition, counted by arithmetic as every (output,
    tap) pair (taps reading padding included): spec.n_terms would build the whole source table
    of a layer too large to prove."""
    connections = spec.out_channels * spec.in_per_group * prod(spec.output_size) * prod(spec.kernel_size)
    return BYTES_PER_TERM * (connections + spec.n_bias_terms)
