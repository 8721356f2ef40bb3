"""The theorem "circulant": with circular padding, stride 1 and 'same' padding, T is multi-level
block circulant; and the steps it shares with the DFT theorem (``circular_entry_steps``)."""

from __future__ import annotations

from functools import partial

import sympy as sp

from .. import core, rules
from ..arith import implied
from ..derivation import DEADLINE, Derivation, Prover
from ..expr import integer_symbols
from ..rules import Definition
from ..setting import ConvSetting, Layer, axis_names
from .common import (
    axis_suffix,
    claimed,
    default_out_sizes,
    inequality_atoms,
    size_definitions,
    tensor_definitions,
)


def _congruence(expr: sp.Basic, layer: Layer, atoms) -> sp.Expr:
    """δ(i, (u mod n)) = δ((u − i) mod n, 0) for 0 ≤ i ≤ n − 1 (both say u ≡ i mod n)."""
    replaced = {}
    for delta in sp.sympify(expr, strict=True).atoms(sp.KroneckerDelta):
        for i, n in zip(layer.i, layer.n):
            a, b = delta.args
            other = b if a == i else a if b == i else None
            if isinstance(other, sp.Mod) and other.args[1] == n:
                for goal in (i, n - 1 - i):
                    ok, why = implied(goal, atoms)
                    if not ok:
                        raise rules.RuleError(f"{goal} ≥ 0 does not follow ({why})")
                replaced[delta] = sp.KroneckerDelta(sp.Mod(other.args[0] - i, n), 0)
    if not replaced:
        raise rules.RuleError("no δ(i, u mod n) to rewrite")
    return sp.sympify(expr, strict=True).xreplace(replaced)


def _substitute_hypotheses(expr: sp.Basic, equalities: dict, hypotheses) -> sp.Expr:
    """Replace a symbol by its value when the equality is a hypothesis."""
    for symbol, value in equalities.items():
        if not any(isinstance(h, sp.Eq) and sp.expand(h.lhs - h.rhs - (symbol - value)) == 0
                   for h in hypotheses):
            raise rules.RuleError(f"{symbol} = {value} is not a hypothesis")
    return sp.sympify(expr, strict=True).xreplace(equalities)


def same_size_lemmas(prover: Prover, layer: Layer, out_sizes) -> None:
    """m_a = n_a on every axis: PyTorch's output size with s = 1 and p + q = d·(k − 1)."""
    for a in range(layer.dims):
        n, p, q, d, k, s = (z[a] for z in (layer.n, layer.p, layer.q, layer.d, layer.k, layer.s))
        m, size = layer.m[a], out_sizes[a]
        same_size = size.xreplace({s: 1, q: d * (k - 1) - p})
        prover.lemma("output size (same padding)" + axis_suffix(layer, a),
                     f"{m} = {sp.sstr(size)} with s = 1 and p + q = d·(k − 1)",
                     m, n, lambda same_size=same_size, n=n: (
                         rules.same(same_size, n), f"{sp.sstr(same_size)} = {n}"),
                     [], part="output size")


def circular_entry_steps(prover: Prover, layer: Layer, out_sizes, defs: rules.Definitions,
                         hypotheses) -> None:
    """The start of the circular theorems: m = n (lemmas), T's entry at (g, h, j), (c, i)
    substituted, then s = 1."""
    same_size_lemmas(prover, layer, out_sizes)
    prover.step("substitution of the entry formula",
                "T's entry with the circular source src(u) = u mod n",
                partial(rules.unfold, definition=defs.of(layer.T),
                        digits=(layer.row_digits, layer.column_digits)))
    prover.step("hypotheses (stride 1)", "s = 1 on every axis",
                partial(_substitute_hypotheses, equalities={s: 1 for s in layer.s},
                        hypotheses=hypotheses))


def circulant_generator(layer: Layer) -> Definition:
    """Γ[o, c, r] = δ(⌊c/Ci⌋, g)·Σ_t w[o, c − g·Ci, t]·Π_a δ((r_a + d_a t_a − p_a) mod n_a, 0)."""
    r = integer_symbols(axis_names("r", layer.dims))
    body = layer.channel_block(layer.c, sp.Mul(*(
        sp.KroneckerDelta(sp.Mod(layer.position(a, j=ra, stride=1), n), 0)
        for a, (ra, n) in enumerate(zip(r, layer.n)))))
    return Definition(layer.circulant_generator,
                      (((layer.g, layer.G), (layer.h, layer.Co)), ((layer.c, None),),
                       *(((ra, None),) for ra in r)), body, "circulant generator")


def circulant(dims: int = 1, entry: sp.Expr | None = None, instances: int = 6,
              seed: int = 0, deadline: float = DEADLINE) -> Derivation:
    """Circular padding, stride 1, 'same' padding p + q = d·(k − 1): T[(o, j), (c, i)] depends on
    the channels and on (j_a − i_a) mod n_a only, T[(o,j),(c,i)] = Γ[o, c, (j − i) mod n]
    — T is multi-level block circulant (and so diagonalised by the multi-dimensional DFT)."""
    entry = claimed(entry, "entry")
    layer = Layer(dims, padding_mode="circular", same=True)
    sizes = default_out_sizes(layer)
    gamma = circulant_generator(layer)
    setting = ConvSetting(layer, entry, sizes, extra=(gamma,), columns=True)
    hypotheses = layer.size_hypotheses() + layer.index_hypotheses() + layer.column_hypotheses()
    atoms = inequality_atoms(hypotheses)
    lhs = layer.T[layer.row(), layer.column()]
    rhs = layer.circulant_generator[(layer.o, layer.c, *(sp.Mod(j - i, n) for j, i, n in
                                                         zip(layer.j, layer.i, layer.n)))]
    prover = Prover("circulant", dims, f"with circular padding and stride 1, T is multi-level "
                    f"block circulant ({dims}-D)", setting, lhs, rhs, instances, seed,
                    hypotheses=hypotheses, claims=[entry], deadline=deadline)
    circular_entry_steps(prover, layer, sizes, setting.definitions, hypotheses)
    prover.step("congruence modulo n", "for 0 ≤ i ≤ n − 1: (u mod n = i) ⟺ ((u − i) mod n = 0)",
                partial(_congruence, layer=layer, atoms=atoms))
    prover.step("definition of the circulant generator",
                "Γ[o, c, r] at r = (j − i) mod n, using ((a mod n) + b) mod n = (a + b) mod n",
                partial(rules.unfold, definition=gamma,
                        digits=((layer.g, layer.h),) + ((None,),) * (dims + 1)),
                target=rhs, two_sided=True)
    prover.core("symconv.toeplitz (circular padding)", partial(core.compare_toeplitz, setting=setting))
    return prover.finish(size_definitions(layer, sizes)
                         + tensor_definitions(setting.definitions.of(layer.T), gamma),
                         notation=layer.flat_notation)
