"""The theorem "padding": T = T⁰·R for circular, reflect and replicate padding, T⁰ the matrix of
the unpadded layer on the padded input and R the 0/1 matrix of the padding map."""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import sympy as sp

from ...errors import one_of
from ...pattern import PADDING_MODES
from .. import core, notation, rules
from ..derivation import DEADLINE, Derivation, Prover
from ..expr import integer_symbols
from ..rules import Definition
from ..setting import ConvSetting, Layer, axis_names
from .common import (
    WHOLE_MATRIX_BUDGET,
    claimed,
    default_out_sizes,
    hypothesis_atoms,
    size_definitions,
    source_definitions,
    statement_hypotheses,
)
from .lemmas import output_size_lemmas, source_range_lemmas, window


def padding_definitions(layer: Layer) -> SimpleNamespace:
    """T⁰, R, their product T⁰R, the padded positions r and sizes n + p + q, and the flat index
    C' of the padded input."""
    r = integer_symbols(axis_names("r", layer.dims))
    padded = [n + p + q for n, p, q in zip(layer.n, layer.p, layer.q)]
    cp = layer.channel_in_group
    mid_slot = layer.slot((cp, *r), (layer.G * layer.Ci, *padded))
    col_slot = layer.slot(layer.column_digits, layer.column_radices)
    unpadded = sp.Mul(*(sp.KroneckerDelta(ra, layer.position(a, padding=0)) for a, ra in enumerate(r)))
    t0 = Definition(notation.tensor("T0"), (layer.slot(layer.row_digits, layer.row_radices), mid_slot),
                    layer.channel_block(cp, unpadded), "T of the unpadded layer on the padded input")
    rp = Definition(notation.tensor("Rp"), (mid_slot, col_slot), sp.KroneckerDelta(cp, layer.c) * sp.Mul(*(
        sp.KroneckerDelta(i, layer.entry_source(a, ra - layer.p[a]))
        for a, (i, ra) in enumerate(zip(layer.i, r)))), "padding matrix")
    middle = integer_symbols("C'")[0]
    product = Definition(notation.tensor("T0R"), (((layer.flat_row, None),), ((layer.flat_column, None),)),
                         sp.Sum(t0.base[layer.flat_row, middle] * rp.base[middle, layer.flat_column],
                                (middle, 0, layer.G * layer.Ci * sp.Mul(*padded) - 1)), "matrix product")
    return SimpleNamespace(t0=t0, rp=rp, product=product, r=r, padded=padded, middle=middle)


def padding(dims: int = 1, padding_mode: str = "reflect", source: sp.Expr | None = None,
            instances: int = 6, seed: int = 0, deadline: float = DEADLINE) -> Derivation:
    """T = T⁰·R for circular, reflect and replicate padding: T⁰ is the matrix of the same layer
    without padding on the padded input (size N = n + p + q), R the 0/1 matrix of the padding
    map, R[(c', r), (c, i)] = δ(c', c)·Π_a δ(i_a, src(r_a − p_a)), so that R·vec x = vec of the
    padded input. ``source`` claims another src(u) (in the symbols u and n) for R."""
    one_of("padding_mode", padding_mode, PADDING_MODES[1:])
    source = claimed(source, "source")
    layer = Layer(dims, padding_mode, claimed_source=source)
    sizes = default_out_sizes(layer)
    made = padding_definitions(layer)
    mode_entry = Layer(dims, padding_mode).entry()  # T keeps the mode's src; a claim is about R
    setting = ConvSetting(layer, mode_entry, sizes, extra=(made.t0, made.rp, made.product), columns=True,
                          budget=WHOLE_MATRIX_BUDGET)
    hypotheses = statement_hypotheses(layer) + layer.column_hypotheses()
    atoms = hypothesis_atoms(hypotheses)
    lhs = made.product.base[layer.row(), layer.column()]
    rhs = layer.T[layer.row(), layer.column()]
    prover = Prover("padding", dims, f"with {padding_mode} padding, T = T0 R ({dims}-D)", setting,
                    lhs, rhs, instances, seed, hypotheses=hypotheses, claims=[source], deadline=deadline)
    output_size_lemmas(prover, layer, sizes, atoms)
    source_range_lemmas(prover, layer, atoms)
    padding_steps(prover, layer, made, atoms)
    prover.step("substitution of the entry formula", f"T's entry with the {padding_mode} padding map",
                partial(rules.unfold, definition=setting.definitions.of(layer.T),
                        digits=(layer.row_digits, layer.column_digits)), target=rhs, two_sided=True)
    prover.core("symconv.toeplitz (T = T0 R, R from symconv.pattern's source map)",
                partial(core.compare_padding, setting=setting, t0=made.t0, rp=made.rp))
    return prover.finish(size_definitions(layer, sizes) + source_definitions(layer),
                         notation=layer.flat_notation + [((layer.channel_in_group, *made.r),
                                                          (layer.G * layer.Ci, *made.padded))])


def padding_steps(prover: Prover, layer: Layer, made: SimpleNamespace, atoms) -> None:
    """(T⁰R)[R, C] expanded over the padded input C' = (c', r) down to T's entry."""
    cp, r = layer.channel_in_group, made.r
    prover.step("definition of the matrix product", "(T0 R)_{R,C} = Σ_C' T0_{R,C'} R_{C',C}",
                partial(rules.unfold, definition=made.product))
    prover.step("mixed-radix flattening bijection",
                "C' = flat(c', r) over (G·Ci, n + p + q) enumerates the padded input",
                partial(rules.mixed_radix, var=made.middle, digits=(cp, *r),
                        radices=(layer.G * layer.Ci, *made.padded), atoms=atoms))
    prover.step("substitution of the entry formulas", "T0 at (g, h, j), (c', r); R at (c', r), (c, i)",
                lambda e: rules.unfold(rules.unfold(e, made.t0, (layer.row_digits, (cp, *r))), made.rp,
                                       ((cp, *r), layer.column_digits)))
    prover.step("exchange of finite sums", "all ranges are constant",
                partial(rules.exchange, order=(cp, *layer.t, *r)))
    prover.step("Kronecker-delta elimination", "c' = c and r = s·j + d·t on every axis",
                partial(rules.delta_elimination, variables=(cp, *r)))
    prover.step("hypotheses and lemma (output size: window)",
                "0 ≤ c ≤ G·Ci − 1 is a hypothesis; 0 ≤ s·j + d·t ≤ n + p + q − 1 is the window lemma",
                partial(window, layer=layer, atoms=atoms))
