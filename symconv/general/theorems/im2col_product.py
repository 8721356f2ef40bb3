"""The theorem "im2col": the im2col product K·P, per group, is the convolution, in PyTorch's
F.unfold order or in the order of Ma & Lu's paper."""

from __future__ import annotations

from functools import partial

import sympy as sp

from ...errors import one_of
from ...forms.im2col import ORDERS
from .. import core, notation, rules
from ..derivation import DEADLINE, Derivation, Prover
from ..expr import brackets, integer_symbols
from ..rules import Definition
from ..setting import ConvSetting, Layer
from .common import (
    claimed,
    claimed_out_sizes,
    hypothesis_atoms,
    size_definitions,
    statement_hypotheses,
    tensor_definitions,
)
from .lemmas import output_size_lemmas


def im2col_definitions(layer: Layer, order: str, entry: sp.Expr | None = None):
    """P, K and their per-group product KP in PyTorch's unfold order or the paper's order,
    and the summation index r of the product.

    unfold: P[(c, t), j] = x[c, u]·Π[0 ≤ u ≤ n − 1], K[o, (c', t)] = w[o, c', t],
            KP[o, j] = Σ_{r < Ci·∏k} K[o, r]·P[g·Ci·∏k + r, j]
    paper:  P[j, (t, c)] = the same entry, K[(t, c'), o] = w[o, c', t],
            KP[j, o] = Σ_{r < ∏k·Ci} P[j, ⌊r/Ci⌋·G·Ci + g·Ci + r mod Ci]·K[r, o]
    """
    P, K, KP = notation.tensor("P"), notation.tensor("K"), notation.tensor("KP")
    r = integer_symbols("r")[0]
    positions = [layer.position(a) for a in range(layer.dims)]
    body = brackets(entry) if entry is not None else layer.zero_padded_read(layer.c, positions)
    out_slot = layer.slot(layer.j, layer.m)
    o_slot = ((layer.g, layer.G), (layer.h, layer.Co))
    J = rules.flatten(layer.j, layer.m)
    taps = sp.Mul(*layer.k)
    cp, weight = layer.channel_in_group, layer.w[(layer.o, layer.channel_in_group, *layer.t)]
    if order == "unfold":
        p_def = Definition(P, (layer.slot((layer.c, *layer.t), (layer.G * layer.Ci, *layer.k)), out_slot),
                           body, "im2col matrix (unfold order)")
        k_def = Definition(K, (o_slot, layer.slot((cp, *layer.t), (layer.Ci, *layer.k))), weight,
                           "kernel matrix (unfold order)")
        product = sp.Sum(K[layer.o, r] * P[layer.g * layer.Ci * taps + r, J], (r, 0, layer.Ci * taps - 1))
        kp_def = Definition(KP, (o_slot, out_slot), product, "im2col product")
    else:
        p_def = Definition(P, (out_slot, layer.slot((*layer.t, layer.c), (*layer.k, layer.G * layer.Ci))),
                           body, "im2col matrix (paper order)")
        k_def = Definition(K, (layer.slot((*layer.t, cp), (*layer.k, layer.Ci)), o_slot), weight,
                           "kernel matrix (paper order)")
        column = sp.floor(r / layer.Ci) * layer.G * layer.Ci + layer.g * layer.Ci + sp.Mod(r, layer.Ci)
        product = sp.Sum(P[J, column] * K[r, layer.o], (r, 0, taps * layer.Ci - 1))
        kp_def = Definition(KP, (out_slot, o_slot), product, "im2col product")
    return p_def, k_def, kp_def, r


def _digits(layer: Layer, order: str):
    """(KP's, r's, K's and P's digits, r's radices) in the ``order``."""
    o_digits, j_digits, cp = (layer.g, layer.h), tuple(layer.j), layer.channel_in_group
    if order == "unfold":
        r_digits, r_radices = (cp, *layer.t), (layer.Ci, *layer.k)
        return ((o_digits, j_digits), r_digits, (o_digits, r_digits),
                ((layer.g * layer.Ci + cp, *layer.t), j_digits), r_radices)
    r_digits, r_radices = (*layer.t, cp), (*layer.k, layer.Ci)
    return ((j_digits, o_digits), r_digits, (r_digits, o_digits),
            (j_digits, (*layer.t, layer.g * layer.Ci + cp)), r_radices)


def im2col(dims: int = 1, order: str = "unfold", entry: sp.Expr | None = None, out_size=None,
           instances: int = 6, seed: int = 0, deadline: float = DEADLINE) -> Derivation:
    """The im2col product equals the definition: per group g, K·P restricted to the group's
    rows of P is y (``order='unfold'``: PyTorch's F.unfold; ``'paper'``: Ma & Lu's Algorithm 1)."""
    one_of("order", order, ORDERS)
    entry = claimed(entry, "entry")
    layer = Layer(dims)
    sizes = claimed_out_sizes(layer, out_size)
    p_def, k_def, kp_def, r = im2col_definitions(layer, order, entry)
    setting = ConvSetting(layer, None, sizes, extra=(p_def, k_def, kp_def))
    hypotheses = statement_hypotheses(layer)
    atoms = hypothesis_atoms(hypotheses)
    J = rules.flatten(layer.j, layer.m)
    kp_digits, r_digits, k_digits, p_digits, r_radices = _digits(layer, order)
    lhs = kp_def.base[layer.o, J] if order == "unfold" else kp_def.base[J, layer.o]
    rhs = layer.y[(layer.o, *layer.j)]
    prover = Prover("im2col", dims, f"the im2col product ({order} order) is the convolution "
                    f"({dims}-D)", setting, lhs, rhs, instances, seed, hypotheses=hypotheses,
                    claims=[entry] + (sizes if out_size is not None else []), deadline=deadline)
    output_size_lemmas(prover, layer, sizes, atoms)
    prover.step("definition of the im2col product", "group g's block of K times group g's rows of P",
                partial(rules.unfold, definition=kp_def, digits=kp_digits))
    prover.step("mixed-radix flattening bijection",
                f"r = flat({', '.join(map(str, r_digits))}) enumerates the rows of group g's block",
                partial(rules.mixed_radix, var=r, digits=r_digits, radices=r_radices, atoms=atoms))
    prover.step("definition of the kernel matrix", "K's entry is w[o, c', t]",
                partial(rules.unfold, definition=k_def, digits=k_digits))
    prover.step("substitution of the entry formula", "P's entry at input channel g·Ci + c', taps t, output j",
                partial(rules.unfold, definition=p_def, digits=p_digits))
    prover.step("zero extension of the padded input",
                "x[c, u]·[0 ≤ u ≤ n − 1] = x̃[c, u], the input padded with zeros",
                partial(rules.zero_extension, x=layer.x, padded=layer.padded_input, sizes=layer.n))
    if order == "paper":
        prover.step("exchange of finite sums", "the ranges of t and c' are constant",
                    partial(rules.exchange, order=(layer.channel_in_group, *layer.t)))
    prover.step("definition of the convolution",
                "y[o, j] = Σ_{c'} Σ_t w[o, c', t]·x̃[g·Ci + c', s·j + d·t − p]",
                partial(rules.unfold, definition=setting.definitions.of(layer.y),
                        digits=((layer.g, layer.h),)), target=rhs, two_sided=True)
    prover.core("symconv.im2col and symconv.kernel_matrix",
                partial(core.compare_im2col, setting=setting, order=order, p_def=p_def, k_def=k_def))
    flat_indices = [(tuple(layer.j), tuple(layer.m)), (r_digits, r_radices)]
    flat_indices += [(digits, tuple(r for _, r in slot)) for digits, slot in zip(p_digits, p_def.slots)]
    return prover.finish(size_definitions(layer, sizes) + tensor_definitions(p_def, k_def, kp_def),
                         notation=flat_indices)
