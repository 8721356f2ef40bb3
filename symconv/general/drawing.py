"""Drawing a concrete instance of a symbolic layer (``setting.Layer``): sizes and
hyperparameters satisfying the hypotheses, log-uniform over wide ranges within a cost budget,
then indices at the ends and inside of their ranges.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from math import prod

import sympy as sp

from ..spec import ConvSpec
from .derivation import NoInstance
from .evaluate import Env, evaluate


@dataclass(frozen=True)
class DrawRanges:
    """The largest values drawn per number of spatial dimensions, and the cost budget of one
    instance: C_out·∏m · C_in·∏n · ∏k (T's entries times the taps, what the comparisons with
    symconv's matrices visit). Sizes and kernel sizes are drawn log-uniformly (small ones stay
    frequent, large ones occur: thresholds such as n = 9 or n = 40 are met); instances over
    the budget are drawn again."""

    size: int
    kernel: int
    stride: int
    dilation: int
    padding: int
    channels: int
    groups: int
    budget: int = 10_000


DRAW_RANGES = {1: DrawRanges(96, 9, 4, 4, 4, 2, 2), 2: DrawRanges(32, 5, 3, 3, 3, 2, 2),
               3: DrawRanges(12, 3, 2, 2, 2, 1, 2)}
SIZE_ATTEMPTS = 200


def log_uniform(rng: random.Random, low: int, high: int) -> int:
    """An integer in [low, high], log-uniformly above low − 1 (P(low) = ln 2 / ln(high − low + 2))."""
    if high <= low:
        return low
    offset = int(math.exp(rng.uniform(0.0, math.log(high - low + 2))))
    return min(high, low - 1 + max(offset, 1))


def mode_bounds(mode: str, n: sp.Expr) -> sp.Expr | None:
    """The largest padding the mode accepts (PyTorch): n − 1 reflect, n circular, else None."""
    return {"reflect": n - 1, "circular": n}.get(mode)


class LayerDrawing:
    """The drawing methods of ``setting.Layer`` (its symbols n, k, s, d, p, q, m, j, i, t, G,
    Ci, Co, g, h, c, ``dims``, ``padding_mode``, ``same`` and ``out_size``)."""

    def draw_sizes(self, rng: random.Random, values: dict[sp.Symbol, int],
                   inputs: tuple[int, ...] | None = None, in_channels: int | None = None,
                   pinned: Mapping[sp.Symbol, int] | None = None, budget: int | None = None) -> None:
        """Sizes satisfying the hypotheses (``DRAW_RANGES``), with the ``pinned`` values kept
        and room for pinned indices (n > i, k > t, m > j, …), at most ``budget`` in cost;
        ``inputs``/``in_channels`` fix n and C_in (a layer stacked on another). Raises
        NoInstance when no such sizes are found."""
        pinned = dict(pinned or {})
        if inputs is not None:
            pinned.update(zip(self.n, inputs))
        budget = DRAW_RANGES[self.dims].budget if budget is None else budget
        for _ in range(SIZE_ATTEMPTS):
            drawn = self._draw_channels(rng, pinned, in_channels)
            if drawn is not None and all(self._draw_axis(rng, a, pinned, drawn)
                                         for a in range(self.dims)) \
                    and self.cost(drawn) <= budget:
                values.update(drawn)
                return
        shown = {str(k): v for k, v in pinned.items()}
        raise NoInstance(f"no sizes with {shown} satisfy the hypotheses within the budget {budget}")

    def _draw_channels(self, rng: random.Random, pinned: Mapping, in_channels: int | None):
        """G, Ci, Co (room for pinned g, h, c), or None when the pinned values do not fit."""
        ranges = DRAW_RANGES[self.dims]
        get = lambda symbol, draw: pinned[symbol] if symbol in pinned else draw()  # noqa: E731
        above = lambda index: max(1, pinned.get(index, -1) + 1)  # noqa: E731
        if in_channels is None:
            G = get(self.G, lambda: rng.randint(above(self.g), max(above(self.g), ranges.groups)))
            if G < 1:
                return None
            Ci = get(self.Ci, lambda: max(rng.randint(1, ranges.channels), -(-above(self.c) // G)))
        else:
            G = get(self.G, lambda: rng.choice([g for g in range(1, in_channels + 1)
                                                if in_channels % g == 0]))
            Ci = get(self.Ci, lambda: in_channels // max(G, 1))
        Co = get(self.Co, lambda: rng.randint(above(self.h), max(above(self.h), ranges.channels)))
        if min(G, Ci, Co) < 1 or (in_channels is not None and G * Ci != in_channels):
            return None
        return {self.G: G, self.Ci: Ci, self.Co: Co}

    def _draw_axis(self, rng: random.Random, a: int, pinned: Mapping, drawn: dict) -> bool:
        """n, k, s, d, p, q of axis a into ``drawn``: n last, at least what the kernel, the
        padding mode and pinned indices need. False when the pinned values do not fit."""
        ranges = DRAW_RANGES[self.dims]
        n_, k_, s_, d_, p_, q_ = (z[a] for z in (self.n, self.k, self.s, self.d, self.p, self.q))
        get = lambda symbol, draw: pinned[symbol] if symbol in pinned else draw()  # noqa: E731
        k_low = max(1, pinned.get(self.t[a], -1) + 1)
        k = get(k_, lambda: log_uniform(rng, k_low, max(k_low, ranges.kernel)))
        d = get(d_, lambda: rng.randint(1, ranges.dilation))
        if self.same:
            s, total = get(s_, lambda: 1), d * (k - 1)
            p = get(p_, lambda: rng.randint(0, total) if total >= 0 else 0)
            q = get(q_, lambda: total - p)
            if s != 1 or p + q != total:
                return False
        else:
            s = get(s_, lambda: rng.randint(1, ranges.stride))
            p = get(p_, lambda: rng.randint(0, ranges.padding))
            q = get(q_, lambda: rng.randint(0, ranges.padding))
        needed = [1, d * (k - 1) + 1 - p - q, pinned.get(self.i[a], -1) + 1]
        if self.j[a] in pinned:
            needed.append(s * pinned[self.j[a]] + d * (k - 1) + 1 - p - q)
        offset = mode_bounds(self.padding_mode, 0)  # the mode's largest padding is n + offset
        if offset is not None:
            needed.append(max(p, q) - offset)
        n_low = max(needed)
        n = get(n_, lambda: log_uniform(rng, n_low, max(n_low, ranges.size)))
        if min(k, d, s, n) < 1 or min(p, q) < 0 or n < n_low:
            return False
        drawn.update({n_: n, k_: k, s_: s, d_: d, p_: p, q_: q})
        return True

    def cost(self, values: Mapping[sp.Symbol, int]) -> int:
        """C_out·∏m · C_in·∏n · ∏k at these sizes (see DrawRanges)."""
        env = Env(dict(values))
        outputs = prod(max(int(evaluate(self.out_size(a), env)), 0) for a in range(self.dims))
        channels = values[self.G] ** 2 * values[self.Ci] * values[self.Co]
        return channels * outputs * prod(values[n] for n in self.n) * prod(values[k] for k in self.k)

    def spec(self, values: dict[sp.Symbol, int], bias: bool = False) -> ConvSpec:
        get = lambda z: tuple(values[e] for e in z)  # noqa: E731
        return ConvSpec(in_channels=values[self.G] * values[self.Ci],
                        out_channels=values[self.G] * values[self.Co],
                        kernel_size=get(self.k), input_size=get(self.n), stride=get(self.s),
                        padding=tuple(zip(get(self.p), get(self.q))), dilation=get(self.d),
                        groups=values[self.G], bias=bias, padding_mode=self.padding_mode)

    def draw_indices(self, rng: random.Random, values: dict[sp.Symbol, int],
                     out_sizes: list[sp.Expr], pinned: Mapping[sp.Symbol, int] | None = None) -> None:
        """The output sizes m from ``out_sizes`` and indices g, h, j, c, i: 0, the largest or
        a random value of their ranges (``pinned`` ones kept)."""
        pinned = pinned or {}
        env = Env(values)
        for m, size in zip(self.m, out_sizes):
            values[m] = evaluate(size, env)

        def pick(symbol: sp.Symbol, high: int) -> None:
            values[symbol] = pinned[symbol] if symbol in pinned else (
                rng.choice([0, high, rng.randint(0, high)]) if high >= 0 else 0)
        pick(self.g, values[self.G] - 1)
        pick(self.h, values[self.Co] - 1)
        for j, m in zip(self.j, self.m):
            pick(j, values[m] - 1)
        pick(self.c, values[self.G] * values[self.Ci] - 1)
        for i, n in zip(self.i, self.n):
            pick(i, values[n] - 1)
