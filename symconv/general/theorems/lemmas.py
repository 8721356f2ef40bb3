"""Lemmas the theorems share, each a side derivation with its own certificate: the output
size (the windows lie in the padded input, m is the largest such count; m = n for 'same'
padding) and the padding map (src maps the padded range into the input); and the rules that
discharge range brackets by them."""

from __future__ import annotations

from functools import partial

import sympy as sp

from .. import rules
from ..arith import implied
from ..derivation import Prover
from ..expr import Iverson, SourceMap, condition_atoms, in_range
from ..setting import Layer
from .common import axis_suffix


def output_size_lemmas(prover: Prover, layer: Layer, out_sizes, atoms) -> None:
    """For every axis: the windows of outputs 0 … m−1 lie in the padded input
    [−p, n + q − 1], and m is the largest such count (m = ⌊N/s⌋ + 1 with N = n+p+q−d(k−1)−1).

    Symbolic check: ⌊N/s⌋ is replaced by F with the floor facts s·F ≤ N ≤ s·F + s − 1 (s ≥ 1);
    the window bound then follows by eliminating j ≤ m − 1, t ≤ k − 1 and N − s·F ≥ 0
    (``arith.implied``), maximality is the second floor fact.
    """
    for a in range(layer.dims):
        n, k, s, d, p, q = (z[a] for z in (layer.n, layer.k, layer.s, layer.d, layer.p, layer.q))
        j, t, m = layer.j[a], layer.t[a], layer.m[a]
        size = out_sizes[a]
        window = in_range(layer.position(a), -p, n + q - 1)
        top = sp.Ge(s * m + d * (k - 1) - p, n + q)
        facts = partial(_floor_facts, size, m, sp.Symbol(f"F_{a}", integer=True), atoms)
        prover.lemma("output size: window inside the padded input" + axis_suffix(layer, a),
                     f"for 0 ≤ {j} ≤ {m} − 1 and 0 ≤ {t} ≤ {k} − 1, from "
                     f"{m} = {sp.sstr(size)} and the floor bounds",
                     window, sp.Integer(1), partial(_check_window, facts, window, j, t, n, k),
                     [(t, 0, k - 1)], part="output size")
        prover.lemma("output size: maximality" + axis_suffix(layer, a),
                     f"output {m} would read past the padded input: s·m + d·(k − 1) − p ≥ n + q",
                     Iverson(top), sp.Integer(1), partial(_check_top, facts, top, m), [],
                     part="output size")


def _floor_facts(size: sp.Expr, m: sp.Symbol, F: sp.Symbol, atoms):
    """((m as F + c, N, s, the atoms with m substituted and the floor facts), "") for
    m = ``size`` = ⌊N/s⌋ + c, or (None, why not)."""
    floors = list(size.atoms(sp.floor))
    if len(floors) != 1:
        return None, "the output size is not of the form ⌊N/s⌋ + c"
    numerator, divisor = sp.fraction(sp.together(floors[0].args[0]))
    ok, _ = implied(divisor - 1, atoms)
    if not ok:
        return None, f"the divisor {divisor} ≥ 1 does not follow from the hypotheses"
    value = size.xreplace({floors[0]: F})
    local = [sp.expand(e.xreplace({m: value})) for e in atoms] + [
        sp.expand(numerator - divisor * F), sp.expand(divisor * F + divisor - 1 - numerator)]
    return (value, numerator, divisor, local, F), ""


def _check_window(facts, window, j, t, n, k) -> tuple[bool, str]:
    """Each atom of the window bracket from the floor facts, eliminating j, t and n if needed."""
    made, why = facts()
    if made is None:
        return False, why
    value, numerator, divisor, local, F = made
    local = local + [t, k - 1 - t]
    eliminate = [(j, sp.expand(value - 1 - j)), (t, k - 1 - t), (n, sp.expand(numerator - divisor * F))]
    results = []
    for goal in condition_atoms(window.args[0]):
        ok, note = implied(goal, local)
        results.append((ok, note) if ok else implied(goal, local, eliminate))
    return all(ok for ok, _ in results), "; ".join(note for _, note in results)


def _check_top(facts, top, m) -> tuple[bool, str]:
    """Maximality: output m reads past the padded input, from the second floor fact."""
    made, why = facts()
    if made is None:
        return False, why
    value, _, _, local, _ = made
    return implied(condition_atoms(top)[0].xreplace({m: value}), local)


def source_range_lemmas(prover: Prover, layer: Layer, atoms) -> None:
    """For every axis: src (T's entry's) maps the padded range −p ≤ u ≤ n + q − 1 into the
    input, [0 ≤ src(u) ≤ n − 1] = 1 — so x[c, src(u)] exists (``source_in_range``)."""
    for a in range(layer.dims):
        u, n, p, q = layer.u[a], layer.n[a], layer.p[a], layer.q[a]
        source = layer.entry_source(a, u)
        prover.lemma("padding map: the source lies in the input" + axis_suffix(layer, a),
                     f"for -p <= u <= n + q - 1, case by case of src ({layer.padding_mode})",
                     in_range(source, 0, n - 1), sp.Integer(1),
                     partial(source_in_range, source, n, list(atoms) + [u + p, n + q - 1 - u]),
                     [(u, -p, n + q - 1)], part="padding map")


def source_in_range(source: sp.Expr, n: sp.Expr, atoms) -> tuple[bool, str]:
    """0 ≤ src ≤ n − 1 from the atoms: u mod n by division with remainder (n ≥ 1); a
    Piecewise case by case — branch b under its condition and the negations of the earlier
    conditions (¬(a ≥ 0) ⟺ −a − 1 ≥ 0 over the integers), each goal by ``arith.implied``."""
    if isinstance(source, sp.Mod):
        ok, why = implied(source.args[1] - 1, atoms)
        return ok and source.args[1] == n, f"division with remainder by {source.args[1]} ({why})"
    while isinstance(source, SourceMap):
        source = source.piecewise()
    branches = source.args if isinstance(source, sp.Piecewise) else ((source, sp.true),)
    earlier: list[sp.Expr] = []
    notes = []
    for value, cond in branches:
        try:
            own = condition_atoms(cond)
        except ValueError:
            return False, f"the condition {cond} is not a conjunction of inequalities"
        for goal in (value, n - 1 - value):
            ok, why = implied(goal, list(atoms) + earlier + own)
            if not ok:
                return False, f"case {cond}: {goal} >= 0 does not follow ({why})"
            notes.append(f"case {cond}: {why}")
        if len(own) > 1:
            return False, f"the negation of {cond} is not a conjunction"
        earlier += [-a - 1 for a in own]
    return True, "; ".join(notes)


def _summed_over_taps(limits, t: sp.Symbol, k: sp.Expr) -> None:
    """RuleError unless the tap t is summed over [0, k − 1] (where the window lemma holds)."""
    if (t, 0, k - 1) not in [tuple(l) for l in limits]:
        raise rules.RuleError(f"{t} is not summed over [0, {k - 1}]")


def source_ranges(expr: sp.Basic, layer: Layer) -> sp.Expr:
    """[0 ≤ src(u_a) ≤ n_a − 1] = 1 in a term summing t_a over [0, k_a − 1]: u_a lies in the
    padded range (lemma: output size, window) and src maps it into the input (lemma: padding map)."""
    keys = [(a, in_range(layer.entry_source(a), 0, n - 1)) for a, n in enumerate(layer.n)]
    out, used = [], False
    for m, limits in rules.terms(expr):
        factors = []
        for factor in sp.Mul.make_args(m):
            axis = next((a for a, key in keys if isinstance(factor, Iverson)
                         and rules.same(factor, key)), None)
            if axis is None:
                factors.append(factor)
                continue
            _summed_over_taps(limits, layer.t[axis], layer.k[axis])
            used = True
        out.append((sp.Mul(*factors), limits))
    if not used:
        raise rules.RuleError("no bracket [0 <= src(u) <= n - 1] to discharge")
    return rules.from_terms(out)


def window(expr: sp.Basic, layer: Layer, atoms) -> sp.Expr:
    """Discharge brackets by the hypotheses and the window lemma −p ≤ s·j + d·t − p ≤ n + q − 1
    (proved above for 0 ≤ j ≤ m − 1, 0 ≤ t ≤ k − 1), in terms summing every t over [0, k − 1]."""
    bounds = [atom for a in range(layer.dims)
              for atom in condition_atoms(in_range(layer.position(a), -layer.p[a],
                                                   layer.n[a] + layer.q[a] - 1).args[0])]
    out = []
    for m, limits in rules.terms(expr):
        for t, k in zip(layer.t, layer.k):
            _summed_over_taps(limits, t, k)
        out.append((rules.discharge(rules.from_terms([(m, limits)]), list(atoms) + bounds), []))
    return rules.from_terms(out)
