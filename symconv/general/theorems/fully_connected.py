"""The theorem "toeplitz": the convolution layer IS the fully connected layer with the matrix T,
(T·vec x)_R = vec(y)_R for every row R, for every padding mode."""

from __future__ import annotations

from functools import partial

import sympy as sp

from ...errors import SpecError, one_of
from ...pattern import PADDING_MODES
from .. import core, rules
from ..derivation import DEADLINE, Derivation, Prover
from ..setting import ConvSetting, Layer
from .common import (
    claimed,
    claimed_out_sizes,
    hypothesis_atoms,
    size_definitions,
    source_definitions,
    statement_hypotheses,
    tensor_definitions,
)
from .lemmas import output_size_lemmas, source_range_lemmas, source_ranges


def toeplitz(dims: int = 1, entry: sp.Expr | None = None, out_size=None, instances: int = 6,
             seed: int = 0, padding_mode: str = "zeros", source: sp.Expr | None = None,
             deadline: float = DEADLINE) -> Derivation:
    """(T·vec x)_R = vec(y)_R for every row R = flat(g, h, j): the conv layer IS the FC layer
    with T[(o, j), (c, i)] = δ(⌊c/Ci⌋, g)·Σ_t w[o, c − g·Ci, t]·Π_a δ(i_a, src(s_a j_a + d_a t_a − p_a)),
    padding p before and q after (``padding_mode`` zeros, circular, reflect or replicate;
    ``source`` claims another src(u) for T's entry, in the symbols u and n), stride, dilation,
    channels and groups."""
    one_of("padding_mode", padding_mode, PADDING_MODES)
    if source is not None and padding_mode == "zeros":
        raise SpecError("source", source, "applies to the padding modes other than zeros")
    entry, source = claimed(entry, "entry"), claimed(source, "source")
    layer = Layer(dims, padding_mode, claimed_source=source)
    sizes = claimed_out_sizes(layer, out_size)
    setting = ConvSetting(layer, entry, sizes)
    hypotheses = statement_hypotheses(layer)
    atoms = hypothesis_atoms(hypotheses)
    R = layer.row()
    mode = "" if padding_mode == "zeros" else f", {padding_mode} padding"
    prover = Prover("toeplitz", dims, f"the convolution layer is the FC layer T ({dims}-D{mode})",
                    setting, layer.fc_output[R], layer.output_vector[R], instances, seed,
                    hypotheses=hypotheses,
                    claims=[entry, source] + (sizes if out_size is not None else []), deadline=deadline)
    output_size_lemmas(prover, layer, sizes, atoms)
    if padding_mode != "zeros":
        source_range_lemmas(prover, layer, atoms)
    expand_product(prover, layer, setting.definitions, atoms)
    read_the_input(prover, layer)
    fold_into_convolution(prover, layer, setting.definitions, atoms)
    prover.core("symconv.toeplitz", partial(core.compare_toeplitz, setting=setting))
    return prover.finish(size_definitions(layer, sizes) + source_definitions(layer)
                         + tensor_definitions(setting.definitions.of(layer.T)),
                         notation=layer.flat_notation)


def expand_product(prover: Prover, layer: Layer, defs: rules.Definitions, atoms) -> None:
    """(T·vec x)_R as the sum over the columns (c, i) of T's entry times x[c, i], the sums
    exchanged so that the input index i is innermost."""
    prover.step("definition of the matrix product",
                "(T v)_R = Σ_C T_{R,C} v_C over the C_in·∏n columns",
                partial(rules.unfold, definition=defs.of(layer.fc_output)))
    prover.step("mixed-radix flattening bijection",
                "C = flat(c, i_1, …) is a bijection [0, G·Ci)×[0, n_1)×… → [0, G·Ci·∏n)",
                partial(rules.mixed_radix, var=layer.flat_column, digits=layer.column_digits,
                        radices=layer.column_radices, atoms=atoms))
    prover.step("definition of vec", "vec(x)_{flat(c, i)} = x[c, i] (row-major)",
                partial(rules.unfold, definition=defs.of(layer.input_vector),
                        digits=(layer.column_digits,)))
    prover.step("substitution of the entry formula",
                "T's entry at row flat(g, h, j) and column flat(c, i)",
                partial(rules.unfold, definition=defs.of(layer.T),
                        digits=(layer.row_digits, layer.column_digits)))
    prover.step("exchange of finite sums",
                "all ranges are constant, so the sums commute (and distribute over products)",
                partial(rules.exchange, order=(layer.c, *layer.t, *layer.i)))


def read_the_input(prover: Prover, layer: Layer) -> None:
    """The sum over i picks x[c, src(u)]: the zero-padded input x̃ (zeros), or the lemmas put
    src(u) inside the input (the other padding modes)."""
    prover.step("Kronecker-delta elimination",
                "Σ_{i=0}^{n−1} δ(i, u)·f(i) = [0 ≤ u ≤ n − 1]·f(u) on every axis",
                partial(rules.delta_elimination, variables=layer.i))
    if layer.padding_mode == "zeros":
        prover.step("zero extension of the padded input",
                    "x[c, u]·[0 ≤ u ≤ n − 1] = x̃[c, u], the input padded with zeros",
                    partial(rules.zero_extension, x=layer.x, padded=layer.padded_input, sizes=layer.n))
    else:
        prover.step("lemmas (padding map, output size)",
                    "u = s·j + d·t − p lies in [−p, n + q − 1] (window lemma), which src maps "
                    "into [0, n − 1] (padding map lemma)", partial(source_ranges, layer=layer))


def fold_into_convolution(prover: Prover, layer: Layer, defs: rules.Definitions, atoms) -> None:
    """The input channel c split into its group g' and channel c', only group g kept: the
    definition of the convolution, then of vec(y)."""
    prover.step("mixed-radix flattening bijection",
                "c = g'·Ci + c' with ⌊c/Ci⌋ = g' and c mod Ci = c'",
                partial(rules.mixed_radix, var=layer.c, digits=(layer.column_group, layer.channel_in_group),
                        radices=(layer.G, layer.Ci), atoms=atoms))
    prover.step("Kronecker-delta elimination", "only the input channels of group g remain",
                partial(rules.delta_elimination, variables=(layer.column_group,)))
    prover.step("hypotheses (range condition)", "0 ≤ g ≤ G − 1 is a hypothesis",
                partial(rules.discharge, atoms=atoms))
    read = "x̃[g·Ci + c', s·j + d·t − p]" if layer.padding_mode == "zeros" else \
        f"x[g·Ci + c', src(s·j + d·t − p)] ({layer.padding_mode})"
    prover.step("definition of the convolution",
                f"y[o, j] = Σ_{{c'}} Σ_t w[o, c', t]·{read}",
                partial(rules.unfold, definition=defs.of(layer.y), digits=((layer.g, layer.h),)),
                target=layer.y[(layer.o, *layer.j)], two_sided=True)
    prover.step("definition of vec", "vec(y)_{flat(o, j)} = y[o, j] (row-major)",
                partial(rules.unfold, definition=defs.of(layer.output_vector), digits=(layer.row_digits,)),
                target=layer.output_vector[layer.row()], two_sided=True)
