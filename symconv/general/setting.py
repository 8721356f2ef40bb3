"""The symbolic convolution layer of general theorems: sizes, indices, tensors, definitions,
hypotheses, and the drawing of concrete instances (with symconv's concrete forms attached).

Per spatial axis a (no suffix in 1-D): input size n_a, kernel size k_a, stride s_a, dilation
d_a, padding p_a before and q_a after, output size

    m_a = ⌊(n_a + p_a + q_a − d_a·(k_a − 1) − 1) / s_a⌋ + 1.

Channels: G groups, Ci input and Co output channels per group (C_in = G·Ci, C_out = G·Co).
An output channel o has the mixed-radix digits (g, h): o = g·Co + h, its group is g.

Padding modes (DESIGN.md): position u_a = s_a·j_a + d_a·t_a − p_a reads input index src(u_a),

    zeros      u (the range bracket [0 ≤ u ≤ n − 1] is the zero padding)
    circular   u mod n                                   (valid for p, q ≤ n)
    reflect    −u if u < 0; 2(n − 1) − u if u ≥ n; else u  (valid for p, q ≤ n − 1)
    replicate  0 if u < 0; n − 1 if u ≥ n; else u
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from math import prod

import numpy as np
import sympy as sp

from ..spec import ConvSpec
from .evaluate import Env, EvaluationError, array_tensor, evaluate
from .expr import Reflect, Replicate, brackets, claimed_map, in_range, integer_symbols
from .rules import Definition, flatten
from .derivation import Instance, NoInstance


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
DATA = {"small": (-4, 4), "wide": (-1000, 1000), "zero": (0, 0)}
"""Ranges of the random integer data: small at random instances (readable counterexamples),
wide at threshold instances (``thresholds``), zero to meet a division by the data."""


def log_uniform(rng: random.Random, low: int, high: int) -> int:
    """An integer in [low, high], log-uniformly above low − 1 (P(low) = ln 2 / ln(high − low + 2))."""
    if high <= low:
        return low
    offset = int(math.exp(rng.uniform(0.0, math.log(high - low + 2))))
    return min(high, low - 1 + max(offset, 1))


def source_map(mode: str, u: sp.Expr, n: sp.Expr) -> sp.Expr:
    """src(u) of the padding mode (see the module docstring)."""
    if mode == "circular":
        return sp.Mod(u, n)
    if mode == "reflect":
        return Reflect(u, n)
    if mode == "replicate":
        return Replicate(u, n)
    return u


def mode_bounds(mode: str, n: sp.Expr) -> sp.Expr | None:
    """The largest padding the mode accepts (PyTorch): n − 1 reflect, n circular, else None."""
    return {"reflect": n - 1, "circular": n}.get(mode)


def axis_names(base: str, dims: int) -> str:
    """'n' in 1-D, 'n_1 n_2 …' otherwise (one symbol per spatial axis)."""
    return base if dims == 1 else " ".join(f"{base}_{a}" for a in range(1, dims + 1))


@dataclass
class Layer:
    """The symbols of one symbolic convolution layer (``tag`` distinguishes stacked layers)."""

    dims: int
    padding_mode: str = "zeros"
    tag: str = ""
    same: bool = False
    """stride 1 and p + q = d·(k − 1) (the circulant setting: m = n)."""
    claimed_source: sp.Expr | None = None
    """src(u) in T's entry, an expression in the 1-D symbols u and n (a claim; the definition of
    the convolution keeps the mode's own src)."""

    def __post_init__(self) -> None:
        D, t = self.dims, self.tag
        sym = lambda base: integer_symbols(axis_names(base + t, D))  # noqa: E731
        self.n, self.k, self.s, self.d, self.p, self.q = (sym(b) for b in "nksdpq")
        self.m = sym("m")
        self.j, self.i, self.t, self.u = sym("j"), sym("i"), sym("t"), sym("u")
        self.G, self.Ci, self.Co = integer_symbols(f"G{t} Ci{t} Co{t}")
        self.g, self.h, self.c, self.cp, self.gp = integer_symbols(f"g{t} h{t} c{t} c'{t} g'{t}")
        self.R, self.C = integer_symbols(f"R{t} C{t}")
        name = lambda base: sp.IndexedBase(base + t)  # noqa: E731
        self.w, self.x, self.xt, self.y = name("w"), name("x"), name("xt"), name("y")
        self.T, self.v, self.vy, self.Tx = name("T"), name("v"), name("vy"), name("Tx")
        self.gamma, self.vgamma, self.z, self.vz = name("gamma"), name("vgamma"), name("z"), name("vz")
        self.Gamma = name("Gamma")
        self.b, self.beta, self.vyb = name("b"), name("beta"), name("vyb")

    # ---- sizes -------------------------------------------------------------------------------
    def out_size(self, a: int) -> sp.Expr:
        """m_a by PyTorch's formula."""
        n, k, s, d, p, q = (z[a] for z in (self.n, self.k, self.s, self.d, self.p, self.q))
        return sp.floor((n + p + q - d * (k - 1) - 1) / s) + 1

    @property
    def o(self) -> sp.Expr:
        return self.g * self.Co + self.h

    @property
    def n_in(self) -> sp.Expr:
        return self.G * self.Ci * prod(self.n)

    @property
    def n_out(self) -> sp.Expr:
        return self.G * self.Co * prod(self.m)

    def row(self) -> sp.Expr:
        """R = flat(g, h, j) over radices (G, Co, m_1, …)."""
        return flatten((self.g, self.h, *self.j), (self.G, self.Co, *self.m))

    def column(self, c: sp.Expr | None = None, i=None) -> sp.Expr:
        return flatten((self.c if c is None else c, *(self.i if i is None else i)),
                       (self.G * self.Ci, *self.n))

    def position(self, a: int, j=None, t=None) -> sp.Expr:
        """u_a = s_a·j_a + d_a·t_a − p_a (the padded position read)."""
        j = self.j[a] if j is None else j
        t = self.t[a] if t is None else t
        return self.s[a] * j + self.d[a] * t - self.p[a]

    def source(self, a: int, u: sp.Expr | None = None) -> sp.Expr:
        """src(u_a) of the layer's padding mode (``source_map``), at u_a = position(a) by default."""
        return source_map(self.padding_mode, self.position(a) if u is None else u, self.n[a])

    def tap_sum(self, body: sp.Expr) -> sp.Expr:
        return sp.Sum(body, *((t, 0, k - 1) for t, k in zip(self.t, self.k)))

    # ---- formulas ----------------------------------------------------------------------------
    def entry_source(self, a: int, u: sp.Expr | None = None) -> sp.Expr:
        """src(u_a) as T's entry uses it: the claimed source if given, else the mode's."""
        u = self.position(a) if u is None else u
        one = Layer(1)
        if self.claimed_source is None or sp.sympify(self.claimed_source, strict=True) == source_map(
                self.padding_mode, one.u[0], one.n[0]):
            return self.source(a, u)
        return self.claimed_map(u, self.n[a])

    @cached_property
    def claimed_map(self) -> type:
        one = Layer(1)
        return claimed_map(self.claimed_source, one.u[0], one.n[0])

    def entry(self) -> sp.Expr:
        """T[(g,h,j),(c,i)] = δ(⌊c/Ci⌋, g)·Σ_t w[o, c − g·Ci, t]·Π_a δ(i_a, src(u_a))."""
        pattern = sp.Mul(*(sp.KroneckerDelta(i, self.entry_source(a)) for a, i in enumerate(self.i)))
        return sp.KroneckerDelta(sp.floor(self.c / self.Ci), self.g) * self.tap_sum(
            self.w[(self.o, self.c - self.g * self.Ci, *self.t)] * pattern)

    def definition_body(self) -> sp.Expr:
        """y[o, j] = Σ_{c'} Σ_t w[o, c', t]·x̃[g·Ci + c', u(j, t)] (zero padding), or
        Σ_{c'} Σ_t w[o, c', t]·x[g·Ci + c', src(u(j, t))] (the other padding modes)."""
        if self.padding_mode == "zeros":
            read = self.xt[(self.g * self.Ci + self.cp,
                            *(self.position(a) for a in range(self.dims)))]
        else:
            read = self.x[(self.g * self.Ci + self.cp, *(self.source(a) for a in range(self.dims)))]
        return sp.Sum(self.w[(self.o, self.cp, *self.t)] * read, (self.cp, 0, self.Ci - 1),
                      *((t, 0, k - 1) for t, k in zip(self.t, self.k)))

    def padded_body(self) -> sp.Expr:
        return self.x[(self.c, *self.u)] * sp.Mul(
            *(in_range(u, 0, n - 1) for u, n in zip(self.u, self.n)))

    # ---- definitions -------------------------------------------------------------------------
    def definitions(self, entry: sp.Expr | None = None) -> dict[str, Definition]:
        row_slot = tuple(zip((self.g, self.h, *self.j), (self.G, self.Co, *self.m)))
        col_slot = tuple(zip((self.c, *self.i), (self.G * self.Ci, *self.n)))
        single = lambda *symbols: tuple(((s, None),) for s in symbols)  # noqa: E731
        T = Definition(self.T, (row_slot, col_slot), self.entry() if entry is None else brackets(entry),
                       "entry formula of T")
        Tx = Definition(self.Tx, single(self.R),
                        sp.Sum(self.T[self.R, self.C] * self.v[self.C], (self.C, 0, self.n_in - 1)),
                        "matrix product")
        v = Definition(self.v, (col_slot,), self.x[(self.c, *self.i)], "vec (row-major)")
        vy = Definition(self.vy, (row_slot,), self.y[(self.o, *self.j)], "vec (row-major)")
        xt = Definition(self.xt, single(self.c, *self.u), self.padded_body(), "zero extension")
        y = Definition(self.y, (((self.g, self.G), (self.h, self.Co)),) + single(*self.j),
                       self.definition_body(), "convolution")
        beta = Definition(self.beta, (row_slot,), self.b[self.o], "bias b (x) 1")
        vyb = Definition(self.vyb, single(self.R), self.vy[self.R] + self.beta[self.R],
                         "vec of the output with bias")
        return {d.name: d for d in (T, Tx, v, vy, xt, y, beta, vyb)}

    # ---- hypotheses --------------------------------------------------------------------------
    def size_hypotheses(self) -> list[sp.Basic]:
        """Sizes ≥ 1, paddings ≥ 0 (at most the mode's bound), the dilated kernel fits the padded
        input, m ≥ 1; s = 1 and p + q = d·(k − 1) for ``same``."""
        hyps: list[sp.Basic] = [sp.Ge(self.G, 1), sp.Ge(self.Ci, 1), sp.Ge(self.Co, 1)]
        for a in range(self.dims):
            n, k, s, d, p, q = (z[a] for z in (self.n, self.k, self.s, self.d, self.p, self.q))
            hyps += [sp.Ge(n, 1), sp.Ge(k, 1), sp.Ge(s, 1), sp.Ge(d, 1), sp.Ge(p, 0), sp.Ge(q, 0),
                     sp.Le(d * (k - 1) + 1, n + p + q), sp.Ge(self.m[a], 1)]
            bound = mode_bounds(self.padding_mode, n)
            if bound is not None:
                hyps += [sp.Le(p, bound), sp.Le(q, bound)]
            if self.same:
                hyps += [sp.Eq(s, 1), sp.Eq(p + q, d * (k - 1))]
        return hyps

    def index_hypotheses(self) -> list[sp.Basic]:
        hyps = [sp.Le(0, self.g), sp.Le(self.g, self.G - 1), sp.Le(0, self.h),
                sp.Le(self.h, self.Co - 1)]
        for j, m in zip(self.j, self.m):
            hyps += [sp.Le(0, j), sp.Le(j, m - 1)]
        return hyps

    # ---- concrete instances ------------------------------------------------------------------
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

    @property
    def shown(self) -> list[sp.Symbol]:
        return [self.G, self.Ci, self.Co, *self.n, *self.k, *self.s, *self.d, *self.p, *self.q,
                *self.m, self.g, self.h, *self.j]


def random_data(rng: random.Random, shape: tuple[int, ...], data: str = "small") -> np.ndarray:
    """An object array of random integers in the range DATA[data]."""
    low, high = DATA[data]
    return np.array([rng.randint(low, high) for _ in range(prod(shape))],
                    dtype=object).reshape(shape)


def defined_tensor(definition: Definition, env_of) -> object:
    """Entries of a defined tensor: split each index into its digits, evaluate the body.
    The radices are evaluated once per combination of the values they depend on (sizes)."""
    sizes = sorted({s for slot in definition.slots for _, r in slot if r is not None
                    for s in sp.sympify(r, strict=True).free_symbols}, key=str)
    known: dict[tuple, list] = {}

    def radices_at(env: Env) -> list:
        key = tuple(env.values.get(s) for s in sizes)
        if key not in known:
            known[key] = [[evaluate(r, env) if r is not None else None for _, r in slot]
                          for slot in definition.slots]
        return known[key]

    def lookup(index: tuple[int, ...]):
        env = env_of()
        values = dict(env.values)
        for slot, value, radices in zip(definition.slots, index, radices_at(env)):
            digits = []
            for position in range(len(slot) - 1, 0, -1):
                value, digit = divmod(value, radices[position])
                digits.append(digit)
            digits.append(value)
            digits.reverse()
            for (symbol, radix), digit, r in zip(slot, digits, radices):
                if r is not None and not 0 <= digit < r:
                    raise EvaluationError(f"{definition.name}{list(index)} is outside its range")
                values[symbol] = digit
        return evaluate(definition.body, Env(values, env.tensors, env.functions))
    return lookup


class Tensors:
    """Random integer data (or SymPy symbols) and symconv's concrete forms at one instance."""

    def __init__(self, layer: Layer, values: dict[sp.Symbol, int], rng: random.Random,
                 x: np.ndarray | None = None, data: str = "small"):
        self.layer, self.values = layer, values
        self.spec = layer.spec(values)
        self.x = x if x is not None else random_data(rng, self.spec.input_shape, data)
        self.w = random_data(rng, self.spec.weight_shape, data)
        self.gamma = random_data(rng, self.spec.output_shape, data)
        self.b = random_data(rng, (self.spec.out_channels,), data)

    @cached_property
    def y(self) -> np.ndarray:
        from ..forms import conv
        return conv(self.spec, self.x, self.w)

    @cached_property
    def y_bias(self) -> np.ndarray:
        """conv with the bias b, by symconv.conv."""
        from ..forms import conv
        return conv(self.layer.spec(self.values, bias=True), self.x, self.w, self.b)

    def tensors(self, definitions: dict[str, Definition], env_of, symbolic: bool) -> dict:
        """name → lookup: data and core forms by array, everything else by its definition."""
        layer = self.layer
        if symbolic:
            from ..symbols import symbols, tensor_symbols
            x, w, _ = symbols(self.spec)
            b = tensor_symbols("b", (self.spec.out_channels,))
            if self.x.dtype == object and any(isinstance(e, sp.Basic) for e in self.x.flat):
                x = self.x
            from ..forms import conv
            y, y_bias = conv(self.spec, x, w), conv(layer.spec(self.values, bias=True), x, w, b)
        else:
            x, w, y, b, y_bias = self.x, self.w, self.y, self.b, self.y_bias
        table = {str(d.base.label): defined_tensor(d, env_of) for d in definitions.values()}
        table[str(layer.x.label)] = array_tensor("x", x)
        table[str(layer.w.label)] = array_tensor("w", w)
        table[str(layer.v.label)] = array_tensor("vec(x)", np.asarray(x).reshape(-1))
        table[str(layer.y.label)] = array_tensor("y (symconv.conv)", y)
        table[str(layer.vy.label)] = array_tensor("vec(y) (symconv.conv)", np.asarray(y).reshape(-1))
        table[str(layer.b.label)] = array_tensor("b", b)
        table[str(layer.vyb.label)] = array_tensor("vec(y + b) (symconv.conv with bias)",
                                                   np.asarray(y_bias).reshape(-1))
        gamma = self.gamma
        if symbolic:
            from ..symbols import tensor_symbols
            gamma = tensor_symbols("gamma", self.spec.output_shape)
        table[str(layer.gamma.label)] = array_tensor("gamma", gamma)
        table[str(layer.vgamma.label)] = array_tensor("vec(gamma)", np.asarray(gamma).reshape(-1))
        return table


class ConvSetting:
    """What a Prover needs from a theorem about one layer: drawing instances, definitions.
    ``budget`` (default DRAW_RANGES[dims].budget) bounds the cost of an instance, lower for
    theorems whose every step sums over the whole matrix."""

    def __init__(self, layer: Layer, entry: sp.Expr | None = None,
                 out_sizes: list[sp.Expr] | None = None, functions: dict | None = None,
                 extra: tuple[Definition, ...] = (), columns: bool = False,
                 budget: int | None = None):
        self.layer, self.budget = layer, budget
        self.shown = layer.shown + ([layer.c, *layer.i] if columns else [])
        self.out_sizes = out_sizes or [layer.out_size(a) for a in range(layer.dims)]
        self.definitions = layer.definitions(entry)
        self.definitions.update({d.name: d for d in extra})
        self.functions = functions or {}

    @property
    def derived(self) -> dict[sp.Symbol, sp.Expr]:
        """Drawn symbols that are functions of others: the output sizes."""
        return dict(zip(self.layer.m, self.out_sizes))

    def draw(self, rng: random.Random, pinned: Mapping[sp.Symbol, int] | None = None,
             data: str = "small") -> Instance:
        values: dict[sp.Symbol, int] = {}
        self.layer.draw_sizes(rng, values, pinned=pinned, budget=self.budget)
        self.layer.draw_indices(rng, values, self.out_sizes, pinned)
        tensors = Tensors(self.layer, values, rng, data=data)
        return Instance(values, self._env_factory(values, tensors), self.shown)

    def _env_factory(self, values, tensors: Tensors):
        def build(symbolic: bool) -> Env:
            env = Env(dict(values), {}, self.functions)
            env.tensors = tensors.tensors(self.definitions, lambda: env, symbolic)
            return env
        return build
