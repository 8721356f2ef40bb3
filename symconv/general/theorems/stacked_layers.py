"""The theorem "nonlinear": an elementwise σ preserves the equivalence, and stacked conv layers
are stacked FC layers, vec(conv₂(σ(conv₁(x)))) = T₂·σ(T₁·vec x) (with biases too)."""

from __future__ import annotations

from functools import partial

import numpy as np
import sympy as sp

from ...errors import boolean
from .. import notation, rules
from ..derivation import DEADLINE, DRAW_ATTEMPTS, Derivation, Instance, NoInstance, Prover
from ..evaluate import Env, EvaluationError
from ..rules import Definition, Definitions
from ..setting import Layer, Tensors
from .citations import proved
from .common import WHOLE_MATRIX_BUDGET, claimed, default_out_sizes, size_definitions

SIGMA = sp.Function("sigma")
ACTIVATIONS = {"relu": lambda z: max(z, 0), "square": lambda z: z * z - 2 * z}
"""σ on concrete instances, alternating: the proof never uses σ's form, only that it acts
elementwise (congruence), so any function must pass."""


class NetworkSetting:
    """Two stacked layers, y₂ = conv₂(σ(conv₁(x))): n₂ = m₁ and C_in,2 = C_out,1."""

    def __init__(self, first: Layer, second: Layer, definitions: dict, bias: bool = False):
        self.first, self.second, self.definitions, self.bias = first, second, definitions, bias

    @property
    def derived(self) -> dict[sp.Symbol, sp.Expr]:
        """The output sizes, and n₂ = m₁ (the second layer's input is the first's output)."""
        one, two = self.first, self.second
        return {**{m: one.out_size(a) for a, m in enumerate(one.m)},
                **{m: two.out_size(a) for a, m in enumerate(two.m)},
                **{n: one.out_size(a) for a, n in enumerate(two.n)}}

    def _draw_sizes(self, rng, pinned) -> dict[sp.Symbol, int]:
        """Sizes of both layers, the second reading the first's output."""
        one, two = self.first, self.second
        for _ in range(DRAW_ATTEMPTS):
            values: dict[sp.Symbol, int] = {}
            one.draw_sizes(rng, values, pinned=pinned, budget=WHOLE_MATRIX_BUDGET)
            one.draw_indices(rng, values, default_out_sizes(one), pinned)
            try:  # the first layer's output may leave the second no room within the budget
                two.draw_sizes(rng, values, inputs=tuple(values[m] for m in one.m),
                               in_channels=values[one.G] * values[one.Co], pinned=pinned,
                               budget=WHOLE_MATRIX_BUDGET)
                two.draw_indices(rng, values, default_out_sizes(two), pinned)
                return values
            except NoInstance:
                continue
        raise NoInstance("no second layer fits the first layer's output within the budget")

    def draw(self, rng, pinned=None, data: str = "small") -> Instance:
        one, two = self.first, self.second
        values = self._draw_sizes(rng, pinned)
        sigma = ACTIVATIONS[rng.choice(sorted(ACTIVATIONS))]
        t1 = Tensors(one, values, rng, data=data)
        z = _map(t1.y_bias if self.bias else t1.y, sigma)
        t2 = Tensors(two, values, rng, x=z, data=data)

        def build(symbolic: bool) -> Env:
            if symbolic:  # σ has no symbolic form on concrete instances: values only
                raise EvaluationError("σ is evaluated on numbers only")
            env = Env(dict(values), {}, {"sigma": sigma})
            env.tensors = {**t1.tensors(self.definitions, lambda: env, False),
                           **t2.tensors(self.definitions, lambda: env, False)}
            return env
        return Instance(values, build, one.shown + two.shown)


def _map(array, function):
    out = np.empty(array.shape, dtype=object)
    for index, value in np.ndenumerate(array):
        out[index] = function(value)
    return out


def _apply_theorem(expr: sp.Basic, source: sp.IndexedBase, target: sp.IndexedBase,
                   dims: int) -> sp.Expr:
    """vec(conv(x))_R → (T vec x)_R by the toeplitz theorem (proved here for dims)."""
    if not proved("toeplitz", dims):
        raise rules.RuleError(f"the toeplitz theorem is not proved for dims={dims}")
    found = [e for e in sp.sympify(expr, strict=True).atoms(sp.Indexed) if e.base == source]
    if not found:
        raise rules.RuleError(f"no entry of {source} to rewrite")
    return sp.sympify(expr, strict=True).xreplace({e: target[e.indices] for e in found})


def network_definitions(one: Layer, two: Layer, bias: bool, claim: sp.Expr | None) -> Definitions:
    """Both layers' definitions, the second's input σ(vec y₁) elementwise, and the FC network
    N[R₂] (``claim`` if given)."""
    defs = Definitions({**one.definitions(), **two.definitions()})
    R2, C2 = two.flat_row, two.flat_column
    layer_one_out = one.biased_output_vector if bias else one.output_vector
    defs.add(Definition(two.input_vector, (((C2, None),),), SIGMA(layer_one_out[C2]),
                        "σ elementwise: vec σ(y₁) = σ(vec y₁)"))
    inner = one.fc_output[C2] + (one.bias_vector[C2] if bias else 0)
    default = sp.Sum(two.T[R2, C2] * SIGMA(inner), (C2, 0, two.n_in - 1)) + (
        two.bias_vector[R2] if bias else 0)
    defs.add(Definition(notation.tensor("Nb" if bias else "N"), (((R2, None),),),
                        default if claim is None else claim, "FC network"))
    return defs


def nonlinear(dims: int = 1, network: sp.Expr | None = None, instances: int = 6,
              seed: int = 0, bias: bool = False, deadline: float = DEADLINE) -> Derivation:
    """σ applied elementwise preserves the equivalence, and composition of conv layers is
    composition of FC layers: vec(conv₂(σ(conv₁(x)))) = T₂·σ(T₁·vec x), for any σ; with
    ``bias``: vec(conv₂(σ(conv₁(x) + b₁)) + b₂) = T₂·σ(T₁·vec x + b₁ ⊗ 1) + b₂ ⊗ 1.

    ``network`` replaces the FC network's entry N[R₂] (a claim in the symbols R2, C2, T2, Tx,
    sigma, beta, beta2 of ``network_symbols``)."""
    claim, bias = claimed(network, "network"), boolean("bias", bias)
    one, two = Layer(dims, tag="1"), Layer(dims, tag="2")
    defs = network_definitions(one, two, bias, claim)
    N = notation.tensor("Nb" if bias else "N")
    hypotheses = (one.size_hypotheses() + two.size_hypotheses()
                  + [sp.Eq(n2, m1) for n2, m1 in zip(two.n, one.m)]
                  + [sp.Eq(two.G * two.Ci, one.G * one.Co)] + two.index_hypotheses())
    R = two.row()
    lhs, rhs = (two.biased_output_vector if bias else two.output_vector)[R], N[R]
    with_bias = " and biases" if bias else ""
    prover = Prover("nonlinear", dims, f"conv layers with an elementwise σ{with_bias} are FC layers "
                    f"with σ ({dims}-D)", NetworkSetting(one, two, defs, bias), lhs, rhs, instances, seed,
                    hypotheses=hypotheses, claims=[claim], deadline=deadline)
    network_steps(prover, one, two, defs, bias)
    prover.step("definition of the FC network", "N = T₂·σ(T₁·vec x" + (" + b₁ ⊗ 1) + b₂ ⊗ 1"
                                                                        if bias else ")"),
                partial(rules.unfold, definition=defs.of(N)), target=rhs, two_sided=True)
    note = ("σ is checked concretely as ReLU and as z² − 2z; the biased outputs vec(y + b) are "
            "symconv.conv with the bias." if bias else
            "σ is checked concretely as ReLU and as z² − 2z; no bias terms (see bias=True).")
    return prover.finish(size_definitions(one, default_out_sizes(one))
                         + size_definitions(two, default_out_sizes(two)),
                         notes=[note], notation=[(two.row_digits, two.row_radices)])


def network_steps(prover: Prover, one: Layer, two: Layer, defs: Definitions, bias: bool) -> None:
    """The toeplitz theorem on layer 2 (its input σ(y₁)), σ elementwise, then on layer 1 under σ."""
    _to_fc_layer(prover, two, defs, bias, "theorem toeplitz (layer 2, input σ(y₁))",
                 "vec(conv₂(z)) = T₂·vec z for every input z, here z = σ(y₁)")
    prover.step("definition of the matrix product", "(T₂ v₂)_R = Σ_C (T₂)_{R,C} (v₂)_C",
                partial(rules.unfold, definition=defs.of(two.fc_output)))
    prover.step("σ acts elementwise", "v₂ = vec σ(y₁) = σ(vec y₁), since n₂ = m₁ and "
                "C_in,2 = C_out,1", partial(rules.unfold, definition=defs.of(two.input_vector)))
    _to_fc_layer(prover, one, defs, bias, "theorem toeplitz (layer 1), congruence under σ",
                 "vec(y₁) = T₁·vec x, and σ(a) = σ(b) when a = b")


def _to_fc_layer(prover: Prover, layer: Layer, defs: Definitions, bias: bool, rule: str,
                 justification: str) -> None:
    """vec(y_L) (+ b_L ⊗ 1) → T_L·vec x_L (+ b_L ⊗ 1) by the toeplitz theorem, layer L = ``layer.tag``."""
    if bias:
        L = {"1": "₁", "2": "₂"}[layer.tag]
        prover.step(f"definition of the bias (layer {layer.tag})", f"vec(y{L} + b{L}) = vec(y{L}) + b{L} ⊗ 1",
                    partial(rules.unfold, definition=defs.of(layer.biased_output_vector)))
    prover.step(rule, justification, partial(_apply_theorem, source=layer.output_vector,
                                             target=layer.fc_output, dims=layer.dims))


def network_symbols(dims: int = 1) -> dict[str, sp.Basic]:
    """The symbols a claimed FC network is written in (see ``nonlinear``)."""
    one, two = Layer(dims, tag="1"), Layer(dims, tag="2")
    return {"R2": two.flat_row, "C2": two.flat_column, "T2": two.T, "Tx": one.fc_output, "sigma": SIGMA,
            "n_in2": two.n_in, "beta": one.bias_vector, "beta2": two.bias_vector}
