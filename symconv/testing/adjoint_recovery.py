"""On a failure, the polynomial a float-only fn computes, read off by probes in a few calls.

fn is assumed of degree ≤ 2 with products only between the operand pairs the map multiplies
(``AdjointMap.pairs``) and integer coefficients in [−8, 8). Then f(0) is the constant; sending
BLOCK entries of one operand at once, the entry k_t of the block set to 16^t, gives
f − f(0) = Σ_t c_t·16^t per output, whose balanced base-16 digits are the linear coefficients
c_t (every value below 2^52, so exact in float64); and with one entry j of the pair's other
operand set to 1 as well, f − f(block) − (f(e_j) − f(0)) has the bilinear coefficients of the
block's entries with j as its digits. So the polynomial takes 1 + Σ⌈N/BLOCK⌉ + Σ_pairs
|outer|·⌈|inner|/BLOCK⌉ calls (at most RECOVERY_CALLS) instead of one per pair of entries. It is
then checked against fn at CHECK_POINTS random points (a wrong polynomial survives with
probability ≤ 2^-16): a fn not of that form gives None, not a wrong diagnosis. Fewer entries per
call suit narrower output dtypes (``block_for``: 5 in float32); one entry per call is one-hot
probing of every coefficient, which reads any integer coefficient exactly (the exhaustive check).
"""

from __future__ import annotations

from collections.abc import Callable
from math import ceil, prod

import numpy as np
import sympy as sp

from .adjoint_maps import AdjointMap, Arrays

BLOCK = 13               # entries sent in one call: 13 base-16 digits stay below 2^52
RECOVERY_CALLS = 5_000   # calls a failure's diagnosis may make
CHECK_POINTS = 2         # random points the recovered polynomial must reproduce

NOT_INTEGER = "an output on a probe is no integer (of at most the expected digits)"
NOT_REPRODUCED = (f"the polynomial read off does not reproduce fn at random integers in [−2^8, 2^8) ({CHECK_POINTS} "
                  f"points)")
Evaluate = Callable[[Arrays, str], Arrays]
Record = tuple[str, int, int, tuple[tuple[str, int], ...]]   # output, flat index, coefficient, factors


def recovery_calls(m: AdjointMap, block: int = BLOCK) -> int:
    """Calls ``recover`` makes to read the polynomial off with ``block`` entries per call
    (CHECK_POINTS more check it); ``block=1`` is one-hot probing of every coefficient.

    >>> import symconv
    >>> from symconv.testing.adjoint_maps import gradients_map
    >>> m = gradients_map(symconv.ConvSpec(2, 2, kernel_size=2, input_size=(4, 4), groups=2))
    >>> recovery_calls(m), recovery_calls(m, block=1)
    (77, 779)
    """
    sizes = _sizes(m)
    calls = 1 + sum(ceil(n / block) for n in sizes.values())
    for outer, inner in map(lambda pair: _ordered(pair, sizes, block), m.pairs):
        calls += sizes[outer] * ceil(sizes[inner] / block)
    return calls


def block_for(bits: int) -> int:
    """Entries per call whose base-16 digits (coefficients in [−8, 8), sums of a few of them) stay
    exact in a significand of ``bits`` bits: 13 in float64, 5 in float32, at least 1.

    >>> block_for(53), block_for(24), block_for(8)
    (13, 5, 1)
    """
    return max(1, (bits - 1) // 4)


def _sizes(m: AdjointMap) -> dict[str, int]:
    return {name: prod(s) for name, s in m.operand_shapes().items() if s is not None}


def _ordered(pair: tuple[str, str], sizes: dict[str, int], block: int) -> tuple[str, str]:
    """(outer, inner): one entry of outer at a time, inner in blocks (the fewer calls)."""
    a, c = pair
    return (a, c) if sizes[a] * ceil(sizes[c] / block) <= sizes[c] * ceil(sizes[a] / block) else (c, a)


def _digits(response: dict[str, np.ndarray], count: int, single: bool) -> dict[str, np.ndarray] | None:
    """The balanced base-16 digits (count, n) of each integer output, or None when an output is not
    an integer or has more digits (a coefficient out of [−8, 8), or fn of another form). ``single``:
    one entry per call (one-hot), whose coefficient is the output itself, of any size."""
    decoded = {}
    for name, values in response.items():
        if np.any(values != np.round(values)) or np.any(np.abs(values) >= 2.0 ** 53):
            return None
        v = values.astype(np.int64)
        if single:
            decoded[name] = v[None]
            continue
        digits = []
        for _ in range(count):
            d = (v + 8) % 16 - 8
            digits.append(d)
            v = (v - d) // 16
        if np.any(v != 0):
            return None
        decoded[name] = np.array(digits)
    return decoded


class _Reader:
    """fn's responses to encoded inputs, as flat float64 arrays per output."""

    def __init__(self, evaluate: Evaluate, m: AdjointMap, block: int) -> None:
        self.evaluate, self.shapes, self.block = evaluate, m.operand_shapes(), block

    def __call__(self, hot: dict[str, dict[int, float]]) -> dict[str, np.ndarray]:
        sent = {name: None if s is None else np.zeros(s) for name, s in self.shapes.items()}
        for name, entries in hot.items():
            for k, value in entries.items():
                sent[name].flat[k] = value   # type: ignore[union-attr]
        what = ", ".join(f"{name} at {len(e)} entries" for name, e in hot.items()) or "zero"
        return {name: np.ravel(y) for name, y in self.evaluate(sent, f"probe of {what}").items() if y is not None}


def _records(m: AdjointMap, read: _Reader) -> list[Record] | None:
    """fn's nonzero coefficients: constant, linear (blocks of each operand), bilinear (pairs)."""
    sizes, zero, size_of_block = _sizes(m), read({}), read.block
    records: list[Record] = [(n, int(i), int(y[i]), ()) for n, y in zero.items() for i in np.flatnonzero(y)]
    linear: dict[tuple[str, int], dict[str, np.ndarray]] = {}
    blocks: dict[tuple[str, int], dict[str, np.ndarray]] = {}
    for name, size in sizes.items():
        for start in range(0, size, size_of_block):
            block = range(start, min(start + size_of_block, size))
            raw = read({name: {k: 16.0 ** t for t, k in enumerate(block)}})
            blocks[name, start] = raw
            digits = _digits({n: raw[n] - zero[n] for n in zero}, len(block), size_of_block == 1)
            if digits is None:
                return None
            for t, k in enumerate(block):
                linear[name, k] = {n: d[t] for n, d in digits.items()}
    records += [(n, int(i), int(c[i]), (entry,)) for entry, c_by in linear.items()
                for n, c in c_by.items() for i in np.flatnonzero(c)]
    for outer, inner in (_ordered(pair, sizes, size_of_block) for pair in m.pairs):
        for j in range(sizes[outer]):
            for start in range(0, sizes[inner], size_of_block):
                block = range(start, min(start + size_of_block, sizes[inner]))
                raw = read({outer: {j: 1.0}, inner: {k: 16.0 ** t for t, k in enumerate(block)}})
                digits = _digits({n: raw[n] - blocks[inner, start][n] - linear[outer, j][n] for n in raw},
                                 len(block), size_of_block == 1)
                if digits is None:
                    return None
                records += [(n, int(i), int(d[t][i]), ((outer, j), (inner, k))) for n, d in digits.items()
                            for t, k in enumerate(block) for i in np.flatnonzero(d[t])]
    return records


def _value(records: list[Record], point: Arrays, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The recovered polynomial evaluated at ``point`` (Python integers)."""
    values = {name: np.zeros(y.size, dtype=object) for name, y in outputs.items()}
    for name, index, coefficient, factors in records:
        term = coefficient
        for operand, k in factors:
            term *= point[operand].flat[k]   # type: ignore[union-attr]
        values[name][index] += term
    return values


def recover(evaluate: Evaluate, m: AdjointMap, seed: int, block: int = BLOCK) -> Arrays | None:
    """fn's outputs on one sample as polynomials in ``m.symbols()``, or None: more than
    RECOVERY_CALLS calls, or fn is not of the assumed form (``read_off``)."""
    if recovery_calls(m, block) > RECOVERY_CALLS:
        return None
    read = read_off(evaluate, m, seed, block)
    return None if isinstance(read, str) else read


def read_off(evaluate: Evaluate, m: AdjointMap, seed: int, block: int = BLOCK) -> Arrays | str:
    """fn's outputs on one sample as polynomials in ``m.symbols()``, read with ``block`` entries per
    call (1: one-hot probing, any integer coefficient), or why they cannot be: NOT_INTEGER (an
    output on the probes is no integer of the expected digits) or NOT_REPRODUCED (``_reproduces``)."""
    records = _records(m, _Reader(evaluate, m, block))
    if records is None:
        return NOT_INTEGER
    if not _reproduces(evaluate, m, records, seed):
        return NOT_REPRODUCED
    symbols = m.symbols()
    shapes = m.output_shapes()
    terms: dict[str, list[list[sp.Expr]]] = {name: [[] for _ in range(prod(s))] for name, s in shapes.items() if s}
    for name, index, coefficient, factors in records:
        terms[name][index].append(coefficient * sp.Mul(*(symbols[o].flat[k] for o, k in factors)))  # type: ignore[index]
    recovered: Arrays = dict.fromkeys(m.outputs)
    for name, entries in terms.items():
        flat = np.empty(len(entries), dtype=object)
        flat[:] = [sp.Add(*t) for t in entries]
        recovered[name] = flat.reshape(shapes[name])  # type: ignore[arg-type]
    return recovered


def _reproduces(evaluate: Evaluate, m: AdjointMap, records: list[Record], seed: int) -> bool:
    """Whether the recovered polynomial is fn's at CHECK_POINTS random points of integers in
    [−2^8, 2^8) (from ``seed``): if fn is of degree ≤ 2 and another polynomial, each point
    exposes it except with probability ≤ 2^-8 (Schwartz–Zippel)."""
    rng = np.random.default_rng([seed, 5])
    for k in range(CHECK_POINTS):
        point = {name: None if s is None else rng.integers(-2 ** 8, 2 ** 8, size=s).astype(object)
                 for name, s in m.operand_shapes().items()}
        obtained = evaluate({n: None if a is None else a.astype(np.float64) for n, a in point.items()},
                            f"random point {k + 1} of {CHECK_POINTS} checking the recovered polynomial")
        present = {name: y for name, y in obtained.items() if y is not None}
        if any(not np.array_equal(np.ravel(present[n]), v.astype(np.float64))
               for n, v in _value(records, point, present).items()):
            return False
    return True
