"""The theorem "transpose": the transposed convolution (the input gradient) is multiplication
by Tᵀ, by the adjoint identity ⟨T vec x, γ⟩ = ⟨vec x, vec z⟩."""

from __future__ import annotations

from functools import partial

import sympy as sp

from .. import core, rules
from ..derivation import DEADLINE, Derivation, Prover
from ..rules import Definition
from ..setting import ConvSetting, Layer
from .common import WHOLE_MATRIX_BUDGET, claimed, default_out_sizes, hypothesis_atoms, size_definitions


def transposed_definitions(layer: Layer) -> tuple[Definition, Definition, Definition]:
    """z (the transposed convolution of γ, by its scatter formula), vec z and vec γ."""
    h, gp, cp = layer.h, layer.column_group, layer.channel_in_group
    pattern = sp.Mul(*(sp.KroneckerDelta(i, layer.position(a)) for a, i in enumerate(layer.i)))
    o_of = gp * layer.Co + h
    z_body = sp.Sum(layer.w[(o_of, cp, *layer.t)] * layer.output_gradient[(o_of, *layer.j)] * pattern,
                    (h, 0, layer.Co - 1), *((j, 0, m - 1) for j, m in zip(layer.j, layer.m)),
                    *((t, 0, k - 1) for t, k in zip(layer.t, layer.k)))
    z = Definition(layer.transposed_output, (((gp, layer.G), (cp, layer.Ci)), *(((i, None),) for i in layer.i)),
                   z_body, "transposed convolution")
    vz = Definition(layer.transposed_output_vector, (layer.slot(layer.column_digits, layer.column_radices),),
                    layer.transposed_output[(layer.c, *layer.i)], "vec (row-major)")
    vgamma = Definition(layer.output_gradient_vector, (layer.slot(layer.row_digits, layer.row_radices),),
                        layer.output_gradient[(layer.o, *layer.j)], "vec (row-major)")
    return z, vz, vgamma


def transpose(dims: int = 1, entry: sp.Expr | None = None, instances: int = 6,
              seed: int = 0, deadline: float = DEADLINE) -> Derivation:
    """The adjoint identity ⟨T vec x, γ⟩ = ⟨vec x, vec z⟩ for every x and γ, where z is the
    transposed convolution (the input gradient of ⟨y, γ⟩), by its scatter formula

        z[g'·Ci + c', i] = Σ_h Σ_j Σ_t w[g'·Co + h, c', t]·γ[g'·Co + h, j]·Π_a δ(i_a, s_a j_a + d_a t_a − p_a);

    hence Tᵀγ = vec z: the transposed convolution IS multiplication by Tᵀ."""
    entry = claimed(entry, "entry")
    layer = Layer(dims)
    sizes = default_out_sizes(layer)
    z, vz, vgamma = transposed_definitions(layer)
    setting = ConvSetting(layer, entry, sizes, extra=(z, vz, vgamma), budget=WHOLE_MATRIX_BUDGET)
    hypotheses = layer.size_hypotheses()
    atoms = hypothesis_atoms(hypotheses)
    R, C = layer.flat_row, layer.flat_column
    lhs = sp.Sum(layer.fc_output[R] * layer.output_gradient_vector[R], (R, 0, layer.n_out - 1))
    rhs = sp.Sum(layer.input_vector[C] * layer.transposed_output_vector[C], (C, 0, layer.n_in - 1))
    prover = Prover("transpose", dims, f"the transposed convolution is multiplication by T^T "
                    f"({dims}-D)", setting, lhs, rhs, instances, seed,
                    hypotheses=hypotheses, claims=[entry], deadline=deadline)
    col_of = (layer.column_group * layer.Ci + layer.channel_in_group, *layer.i)
    expand_adjoint(prover, layer, setting.definitions, atoms, col_of)
    fold_into_transposed(prover, layer, setting.definitions, atoms, col_of, rhs)
    prover.core("symconv.toeplitz transposed (T^T gamma = vec z) and conv_transpose",
                partial(core.compare_transpose, setting=setting))
    return prover.finish(size_definitions(layer, sizes),
                         notation=[(layer.row_digits, layer.row_radices), (col_of, layer.column_radices)])


def expand_adjoint(prover: Prover, layer: Layer, defs: rules.Definitions, atoms, col_of) -> None:
    """⟨T vec x, γ⟩ as sums over rows (g, h, j) and columns (g', c', i) of T's entry times
    x and γ, with only the row group g = g' left."""
    g, h, gp, cp = layer.g, layer.h, layer.column_group, layer.channel_in_group
    prover.step("definition of the matrix product", "(T v)_R = Σ_C T_{R,C} v_C",
                partial(rules.unfold, definition=defs.of(layer.fc_output)))
    prover.step("mixed-radix flattening bijection", "R = flat(g, h, j) over (G, Co, m)",
                partial(rules.mixed_radix, var=layer.flat_row, digits=layer.row_digits,
                        radices=layer.row_radices, atoms=atoms))
    prover.step("mixed-radix flattening bijection", "C = flat(g', c', i) over (G, Ci, n)",
                partial(rules.mixed_radix, var=layer.flat_column, digits=(gp, cp, *layer.i),
                        radices=(layer.G, layer.Ci, *layer.n), atoms=atoms))
    prover.step("definition of vec", "vec(x) and vec(γ) entries",
                lambda e: rules.unfold(rules.unfold(e, defs.of(layer.input_vector), (col_of,)),
                                       defs.of(layer.output_gradient_vector), (layer.row_digits,)))
    prover.step("substitution of the entry formula", "T's entry at (g, h, j), (g'·Ci + c', i)",
                partial(rules.unfold, definition=defs.of(layer.T), digits=(layer.row_digits, col_of)))
    prover.step("exchange of finite sums", "all ranges are constant",
                partial(rules.exchange, order=(g, h, *layer.j, *layer.t, gp, cp, *layer.i)))
    prover.step("Kronecker-delta elimination",
                "⌊(g'·Ci + c')/Ci⌋ = g' for 0 ≤ c' < Ci, so only the row group g = g' remains",
                lambda e: rules.delta_elimination(_floor_digits(e, layer), (g,)))
    prover.step("hypotheses (range condition)", "0 ≤ g' ≤ G − 1 is the range of the sum over g'",
                partial(rules.discharge, atoms=atoms))


def fold_into_transposed(prover: Prover, layer: Layer, defs: rules.Definitions, atoms, col_of,
                         rhs: sp.Expr) -> None:
    """The inner sums are z[g'·Ci + c', i]; then vec x and vec z, and one sum over C."""
    gp, cp = layer.column_group, layer.channel_in_group
    z, vz = defs.of(layer.transposed_output), defs.of(layer.transposed_output_vector)
    z_target = sp.Sum(layer.x[col_of] * layer.transposed_output[col_of], (gp, 0, layer.G - 1),
                      (cp, 0, layer.Ci - 1), *((i, 0, n - 1) for i, n in zip(layer.i, layer.n)))
    prover.step("definition of the transposed convolution", "the inner sums are z[g'·Ci + c', i]",
                partial(rules.unfold, definition=z, digits=((gp, cp),)), target=z_target,
                two_sided=True)
    flat = layer.column(col_of[0], col_of[1:])
    v_target = z_target.xreplace({layer.x[col_of]: layer.input_vector[flat],
                                  layer.transposed_output[col_of]: layer.transposed_output_vector[flat]})
    prover.step("definition of vec", "vec(x) and vec(z) at flat(g'·Ci + c', i)",
                lambda e: rules.unfold(rules.unfold(e, defs.of(layer.input_vector), (col_of,)), vz, (col_of,)),
                target=v_target, two_sided=True)
    prover.step("mixed-radix flattening bijection", "C = flat(g', c', i) back to one sum",
                partial(rules.mixed_radix, var=layer.flat_column, digits=(gp, cp, *layer.i),
                        radices=(layer.G, layer.Ci, *layer.n), atoms=atoms),
                target=rhs, two_sided=True)


def _floor_digits(expr: sp.Basic, layer: Layer) -> sp.Basic:
    """⌊(g'·Ci + c')/Ci⌋ → g' (division with remainder), in terms summing c' over [0, Ci − 1]."""
    gp, cp = layer.column_group, layer.channel_in_group
    target = sp.floor((gp * layer.Ci + cp) / layer.Ci)
    out = []
    for m, limits in rules.terms(expr):
        found = [f for f in m.atoms(sp.floor) if rules.same(f, target)]
        if found and (cp, 0, layer.Ci - 1) not in [tuple(l) for l in limits]:
            raise rules.RuleError(f"{found[0]}: {cp} is not summed over [0, {layer.Ci - 1}]")
        out.append((m.xreplace({f: gp for f in found}), limits))
    return rules.from_terms(out)
