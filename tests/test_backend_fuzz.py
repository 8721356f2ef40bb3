"""A bounded differential fuzz of the two backends on mutated user matrices.

Hypothesis draws a small layer (1-D or 2-D; stride, padding and its modes, dilation, groups, bias,
both conventions and layouts) and the layer's own T, P, K, then mutates them the ways a wrong
matrix arises: one entry changed, P's rows permuted with K's columns to match (K·P unchanged),
T's rows swapped, a weight swapped for an input, a division inserted. Both backends must give the
same verdict and the same counterexample (form, entry, reason), and the verdict must be the
independent oracle's: the supplied matrices are proved iff each equals the layer's own entry by
entry (SymPy expand of the difference, polynomial or not).
"""

from __future__ import annotations

from math import prod

import sympy as sp
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import symconv
from tests.strategies import conv_specs

MUTATIONS = ("entry", "permute", "swap_rows", "input_for_weight", "division", "none")


def _own(spec: symconv.ConvSpec) -> dict[str, sp.Matrix]:
    x, w, _ = symconv.symbols(spec)
    return {"toeplitz": sp.Matrix(symconv.toeplitz(spec, w)), "im2col": symconv.im2col(spec, x),
            "kernel_matrix": symconv.kernel_matrix(spec, w)}


def _mutate(draw: st.DrawFn, spec: symconv.ConvSpec, forms: dict[str, sp.Matrix], mutation: str) -> tuple[dict, str]:
    """The layer's forms with one mutation; each changes a nonzero entry (or two distinct rows), so
    it is caught unless the change happens to leave the value equal (the oracle decides). Returns
    the forms and the name of the mutated one."""
    x, w, _ = symconv.symbols(spec)
    inputs, weights = list(x.flat), list(w.flat)
    forms = {name: m.copy() for name, m in forms.items()}
    name = draw(st.sampled_from(("toeplitz", "kernel_matrix") if mutation == "input_for_weight"
                                else ("toeplitz", "im2col", "kernel_matrix")))
    m = forms[name]
    r, c = draw(st.sampled_from(sorted(m.todok()) or [(0, 0)]))     # a nonzero entry (T = 0: all reads pad)
    two = lambda n: draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))  # noqa: E731
    if mutation == "entry":
        own_kind = inputs if name == "im2col" else weights
        m[r, c] = draw(st.sampled_from((0, m[r, c] + 1, m[r, c] + draw(st.sampled_from(own_kind)),
                                        2 * m[r, c], -m[r, c])))
    elif mutation == "permute" and spec.in_per_group * prod(spec.kernel_size) > 1:  # K·P unchanged
        per_group = spec.in_per_group * prod(spec.kernel_size)
        i, j = two(per_group)
        permutation = list(range(per_group))
        permutation[i], permutation[j] = j, i
        rows = [g * per_group + k for g in range(spec.groups) for k in permutation]
        forms["im2col"], forms["kernel_matrix"] = forms["im2col"][rows, :], forms["kernel_matrix"][:, permutation]
    elif mutation == "swap_rows" and m.rows > 1:
        m.row_swap(*two(m.rows))
    elif mutation == "input_for_weight":
        read = sorted(m[r, c].free_symbols, key=str)
        m[r, c] = (m[r, c].xreplace({draw(st.sampled_from(read)): draw(st.sampled_from(inputs))}) if read
                   else draw(st.sampled_from(inputs)))
    elif mutation == "division" and len(inputs) > 1:
        i, j = two(len(inputs))
        m[r, c] = m[r, c] * inputs[i] / inputs[j]
    return forms, "im2col" if mutation == "permute" else name


def _same(a: sp.Matrix, b: sp.Matrix) -> bool:
    return all(sp.expand(u - v) == 0 for u, v in zip(a, b))


@st.composite
def cases(draw: st.DrawFn) -> tuple[symconv.ConvSpec, dict, str]:
    spec = draw(conv_specs(dims=(1, 2), max_terms=200))
    mutation = draw(st.sampled_from(MUTATIONS))
    given_forms, mutated = _mutate(draw, spec, _own(spec), mutation)
    keep = draw(st.sampled_from([k for k in (("toeplitz",), ("im2col", "kernel_matrix"), ("kernel_matrix",),
                                             ("im2col",), ("toeplitz", "im2col", "kernel_matrix"))
                                 if mutated in k and (mutation != "permute" or len(k) > 1)]))
    return spec, {name: given_forms[name] for name in keep}, mutation


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_both_backends_agree_with_each_other_and_with_the_oracle(case) -> None:
    spec, forms, mutation = case
    proofs = [symconv.prove(spec, backend=backend, **forms) for backend in ("sympy", "exact")]
    assert proofs[0].holds == proofs[1].holds, (mutation, proofs)
    assert proofs[0].counterexample == proofs[1].counterexample, (mutation, proofs)
    own = _own(spec)
    assert proofs[0].holds == all(_same(forms[name], own[name]) for name in forms), (mutation, proofs[0].summary())
    found = proofs[0].counterexample
    event(f"{mutation}: " + ("proved" if found is None else f"{found.form}{' (reason)' if found.reason else ''}"))
    if found is not None:
        assert found.difference != 0 and found.headline().startswith(f"{found.form}: ")
        if mutation == "input_for_weight":   # the one changed entry now reads an input
            assert found.reason.startswith("depends on the input"), found
