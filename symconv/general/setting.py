"""The symbolic convolution layer of general theorems: sizes, indices, tensors, the index
formulas, definitions and hypotheses; the data of concrete instances with symconv's concrete
forms attached (drawing the sizes: ``drawing``).

Per spatial axis a (no suffix in 1-D): input size n_a, kernel size k_a, stride s_a, dilation
d_a, padding p_a before and q_a after, output size

    m_a = ⌊(n_a + p_a + q_a − d_a·(k_a − 1) − 1) / s_a⌋ + 1.

Channels: G groups, Ci input and Co output channels per group (C_in = G·Ci, C_out = G·Co).
An output channel o has the mixed-radix digits (g, h): o = g·Co + h, its group is g; an input
channel c has the digits (g', c'): c = g'·Ci + c'. Rows of T are R = flat(g, h, j), columns
C = flat(c, i). The tensors' names are in ``notation``.

The index formulas, each written once here: the position read, u_a = s_a·j_a + d_a·t_a − p_a
(``Layer.position``); T's entry, δ(⌊c/Ci⌋, g)·Σ_t w[o, c − g·Ci, t]·Π_a δ(i_a, src(u_a))
(``Layer.channel_block``, ``Layer.entry``); the padding map src(u) per padding mode
(``source_map``, valid for the paddings PyTorch accepts):

    zeros      u (the range bracket [0 ≤ u ≤ n − 1] is the zero padding)
    circular   u mod n                                   (valid for p, q ≤ n)
    reflect    −u if u < 0; 2(n − 1) − u if u ≥ n; else u  (valid for p, q ≤ n − 1)
    replicate  0 if u < 0; n − 1 if u ≥ n; else u

>>> layer = Layer(1)
>>> layer.position(0), layer.source(0, layer.u[0]) == layer.u[0]
(d*t + j*s - p, True)
>>> source_map("circular", layer.u[0], layer.n[0])
Mod(u, n)
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from math import prod

import numpy as np
import sympy as sp

from . import notation
from .derivation import Instance
from .drawing import DRAW_RANGES, DrawRanges, LayerDrawing, log_uniform, mode_bounds
from .evaluate import Env, EvaluationError, array_tensor, evaluate
from .expr import Reflect, Replicate, brackets, claimed_map, in_range, integer_symbols
from .rules import Definition, Definitions, flatten

__all__ = ["DATA", "DRAW_RANGES", "ConvSetting", "DrawRanges", "Layer", "Tensors", "axis_names",
           "defined_tensor", "log_uniform", "mode_bounds", "random_data", "source_map"]

DATA = {"small": (-4, 4), "wide": (-1000, 1000), "zero": (0, 0)}
"""Ranges of the random integer data: small at random instances (readable counterexamples),
wide at threshold instances (``thresholds``), zero to meet a division by the data."""


def source_map(mode: str, u: sp.Expr, n: sp.Expr) -> sp.Expr:
    """src(u) of the padding mode (see the module docstring)."""
    if mode == "circular":
        return sp.Mod(u, n)
    if mode == "reflect":
        return Reflect(u, n)
    if mode == "replicate":
        return Replicate(u, n)
    return u


def axis_names(base: str, dims: int) -> str:
    """'n' in 1-D, 'n_1 n_2 …' otherwise (one symbol per spatial axis)."""
    return base if dims == 1 else " ".join(f"{base}_{a}" for a in range(1, dims + 1))


RENAMED = {"xt": "padded_input", "v": "input_vector", "vy": "output_vector", "Tx": "fc_output",
           "vyb": "biased_output_vector", "beta": "bias_vector", "gamma": "output_gradient",
           "vgamma": "output_gradient_vector", "z": "transposed_output",
           "vz": "transposed_output_vector", "Gamma": "circulant_generator",
           "cp": "channel_in_group", "gp": "column_group", "R": "flat_row", "C": "flat_column"}
"""Layer attributes renamed in 0.x: old name → new name (the old ones are deprecated aliases,
removed in the next release)."""


@dataclass
class Layer(LayerDrawing):
    """The symbols of one symbolic convolution layer (``tag`` distinguishes stacked layers).

    Per axis (tuples of ``dims`` symbols): n, k, s, d, p, q, m (module docstring), the output
    index j, input index i, tap t and padded position u. Channels: G, Ci, Co, the row's group g
    and channel h in it, the column's channel c, and its digits ``column_group`` (g') and
    ``channel_in_group`` (c'); ``flat_row`` (R) and ``flat_column`` (C) are flat indices of T.
    The tensors (``notation.LAYER_TENSORS``): w, x, y, b, T and ``padded_input`` (x̃),
    ``input_vector`` (vec x), ``output_vector`` (vec y), ``fc_output`` (T·vec x),
    ``bias_vector`` (b ⊗ 1), ``biased_output_vector`` (vec(y + b)), ``output_gradient`` (γ),
    ``output_gradient_vector``, ``transposed_output`` (z), ``transposed_output_vector`` and
    ``circulant_generator`` (Γ).
    """

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
        self.g, self.h, self.c, self.channel_in_group, self.column_group = integer_symbols(
            f"g{t} h{t} c{t} c'{t} g'{t}")
        self.flat_row, self.flat_column = integer_symbols(f"R{t} C{t}")
        for tensor in notation.LAYER_TENSORS:
            setattr(self, tensor.attribute, notation.tensor(tensor.label, t))

    # ---- sizes and flat indices --------------------------------------------------------------
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

    @property
    def row_digits(self) -> tuple[sp.Symbol, ...]:
        """(g, h, j_1, …): the digits of T's row R."""
        return (self.g, self.h, *self.j)

    @property
    def row_radices(self) -> tuple[sp.Expr, ...]:
        return (self.G, self.Co, *self.m)

    @property
    def column_digits(self) -> tuple[sp.Symbol, ...]:
        """(c, i_1, …): the digits of T's column C."""
        return (self.c, *self.i)

    @property
    def column_radices(self) -> tuple[sp.Expr, ...]:
        return (self.G * self.Ci, *self.n)

    @property
    def flat_notation(self) -> list[tuple[tuple, tuple]]:
        """The flat row and column of T as (digits, radices), printed ⟨digits⟩ in LaTeX."""
        return [(self.row_digits, self.row_radices), (self.column_digits, self.column_radices)]

    def row(self) -> sp.Expr:
        """R = flat(g, h, j) over radices (G, Co, m_1, …)."""
        return flatten(self.row_digits, self.row_radices)

    def column(self, c: sp.Expr | None = None, i=None) -> sp.Expr:
        return flatten((self.c if c is None else c, *(self.i if i is None else i)), self.column_radices)

    def slot(self, digits, radices) -> tuple:
        """A definition's slot: the digits paired with their radices."""
        return tuple(zip(digits, radices))

    # ---- the index formulas ------------------------------------------------------------------
    def position(self, a: int, j=None, t=None, *, stride=None, padding=None) -> sp.Expr:
        """u_a = s_a·j_a + d_a·t_a − p_a, the padded position read (the one copy of this
        formula; ``stride``/``padding`` replace s_a/p_a, e.g. 0 for the unpadded layer)."""
        j = self.j[a] if j is None else j
        t = self.t[a] if t is None else t
        s = self.s[a] if stride is None else stride
        p = self.p[a] if padding is None else padding
        return s * j + self.d[a] * t - p

    def source(self, a: int, u: sp.Expr | None = None) -> sp.Expr:
        """src(u_a) of the layer's padding mode (``source_map``), at u_a = position(a) by default."""
        return source_map(self.padding_mode, self.position(a) if u is None else u, self.n[a])

    def tap_sum(self, body: sp.Expr) -> sp.Expr:
        return sp.Sum(body, *((t, 0, k - 1) for t, k in zip(self.t, self.k)))

    def channel_block(self, channel: sp.Expr, factor: sp.Expr) -> sp.Expr:
        """δ(⌊c/Ci⌋, g)·Σ_t w[o, c − g·Ci, t]·factor at input channel c = ``channel``: the
        skeleton of T's entry (and of T⁰'s, Γ's, Λ's), ``factor`` the index pattern."""
        return sp.KroneckerDelta(sp.floor(channel / self.Ci), self.g) * self.tap_sum(
            self.w[(self.o, channel - self.g * self.Ci, *self.t)] * factor)

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
        return self.channel_block(self.c, pattern)

    def zero_padded_read(self, channel: sp.Expr, positions) -> sp.Expr:
        """x[c, u]·Π_a [0 ≤ u_a ≤ n_a − 1]: the input read at u, 0 outside (zero padding)."""
        return self.x[(channel, *positions)] * sp.Mul(
            *(in_range(u, 0, n - 1) for u, n in zip(positions, self.n)))

    def definition_body(self) -> sp.Expr:
        """y[o, j] = Σ_{c'} Σ_t w[o, c', t]·x̃[g·Ci + c', u(j, t)] (zero padding), or
        Σ_{c'} Σ_t w[o, c', t]·x[g·Ci + c', src(u(j, t))] (the other padding modes)."""
        cp = self.channel_in_group
        if self.padding_mode == "zeros":
            read = self.padded_input[(self.g * self.Ci + cp, *(self.position(a) for a in range(self.dims)))]
        else:
            read = self.x[(self.g * self.Ci + cp, *(self.source(a) for a in range(self.dims)))]
        return sp.Sum(self.w[(self.o, cp, *self.t)] * read, (cp, 0, self.Ci - 1),
                      *((t, 0, k - 1) for t, k in zip(self.t, self.k)))

    # ---- definitions -------------------------------------------------------------------------
    def definitions(self, entry: sp.Expr | None = None) -> Definitions:
        """T (its ``entry`` if claimed), T·vec x, vec x, vec y, x̃, y, b ⊗ 1 and vec(y + b)."""
        row_slot = self.slot(self.row_digits, self.row_radices)
        col_slot = self.slot(self.column_digits, self.column_radices)
        single = lambda *symbols: tuple(((s, None),) for s in symbols)  # noqa: E731
        R, C = self.flat_row, self.flat_column
        return Definitions({d.name: d for d in (
            Definition(self.T, (row_slot, col_slot), self.entry() if entry is None else brackets(entry),
                       "entry formula of T"),
            Definition(self.fc_output, single(R),
                       sp.Sum(self.T[R, C] * self.input_vector[C], (C, 0, self.n_in - 1)), "matrix product"),
            Definition(self.input_vector, (col_slot,), self.x[(self.c, *self.i)], "vec (row-major)"),
            Definition(self.output_vector, (row_slot,), self.y[(self.o, *self.j)], "vec (row-major)"),
            Definition(self.padded_input, single(self.c, *self.u), self.zero_padded_read(self.c, self.u),
                       "zero extension"),
            Definition(self.y, (((self.g, self.G), (self.h, self.Co)),) + single(*self.j),
                       self.definition_body(), "convolution"),
            Definition(self.bias_vector, (row_slot,), self.b[self.o], "bias b (x) 1"),
            Definition(self.biased_output_vector, single(R), self.output_vector[R] + self.bias_vector[R],
                       "vec of the output with bias"))})

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

    def column_hypotheses(self) -> list[sp.Basic]:
        """0 ≤ c ≤ G·Ci − 1 and 0 ≤ i_a ≤ n_a − 1 (theorems about one entry of T)."""
        return [sp.Le(0, self.c), sp.Le(self.c, self.G * self.Ci - 1)] + [
            rel for i, n in zip(self.i, self.n) for rel in (sp.Le(0, i), sp.Le(i, n - 1))]

    @property
    def shown(self) -> list[sp.Symbol]:
        return [self.G, self.Ci, self.Co, *self.n, *self.k, *self.s, *self.d, *self.p, *self.q,
                *self.m, self.g, self.h, *self.j]


def _deprecated_alias(old: str, new: str) -> property:
    def get(self: Layer):
        warnings.warn(f"Layer.{old} is deprecated, use Layer.{new} (the old name goes in the next "
                      "release)", DeprecationWarning, stacklevel=2)
        return getattr(self, new)
    return property(get, doc=f"Deprecated alias of ``{new}``.")


for _old, _new in RENAMED.items():
    setattr(Layer, _old, _deprecated_alias(_old, _new))


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
            for (symbol, _), digit, r in zip(slot, digits, radices):
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
        table[str(layer.input_vector.label)] = array_tensor("vec(x)", np.asarray(x).reshape(-1))
        table[str(layer.y.label)] = array_tensor("y (symconv.conv)", y)
        table[str(layer.output_vector.label)] = array_tensor("vec(y) (symconv.conv)", np.asarray(y).reshape(-1))
        table[str(layer.b.label)] = array_tensor("b", b)
        table[str(layer.biased_output_vector.label)] = array_tensor("vec(y + b) (symconv.conv with bias)",
                                                   np.asarray(y_bias).reshape(-1))
        gamma = self.gamma
        if symbolic:
            from ..symbols import tensor_symbols
            gamma = tensor_symbols("gamma", self.spec.output_shape)
        table[str(layer.output_gradient.label)] = array_tensor("gamma", gamma)
        table[str(layer.output_gradient_vector.label)] = array_tensor("vec(gamma)", np.asarray(gamma).reshape(-1))
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
        for definition in extra:
            self.definitions.add(definition)
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
