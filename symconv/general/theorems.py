"""The general theorems: chains of named, checked steps for all sizes at once.

Each function returns a ``Derivation`` (see ``derivation``); sizes, hyperparameters, channels
and groups are symbols constrained only by the hypotheses (``setting.Layer``).
"""

from __future__ import annotations

from functools import partial

import sympy as sp

from . import core, inputs, rules
from .arith import implied
from .derivation import DEADLINE, DRAW_ATTEMPTS, Derivation, NoInstance, Prover
from .expr import Iverson, SourceMap, brackets, bound_apart, condition_atoms, in_range, integer_symbols
from ..errors import SpecError
from ..pattern import PADDING_MODES
from .setting import ConvSetting, Layer, axis_names


def claimed(value, parameter: str) -> sp.Expr | None:
    """A user's expression (an entry, a source map, …) validated as one exact expression."""
    # binders met twice or named like a free symbol are renamed apart; the others keep their
    # names, which the derivation's steps (exchange order) refer to
    return None if value is None else bound_apart(inputs.exact_expression(value, parameter))


def hypothesis_atoms(hypotheses) -> list[sp.Expr]:
    atoms = []
    for h in hypotheses:
        atoms += condition_atoms(h)
    return atoms


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
        u = layer.position(a)
        window = in_range(u, -p, n + q - 1)
        top = sp.Ge(s * m + d * (k - 1) - p, n + q)
        F = sp.Symbol(f"F_{a}", integer=True)

        def facts(size=size, m=m, F=F):
            """(m as F + c, N, s, hypotheses with m substituted and the floor facts)."""
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
            return (value, numerator, divisor, local), ""

        def check_window(j=j, t=t, n=n, k=k, window=window, facts=facts, F=F):
            made, why = facts()
            if made is None:
                return False, why
            value, numerator, divisor, local = made
            local = local + [t, k - 1 - t]
            eliminate = [(j, sp.expand(value - 1 - j)), (t, k - 1 - t),
                         (n, sp.expand(numerator - divisor * F))]
            results = []
            for goal in condition_atoms(window.args[0]):
                ok, note = implied(goal, local)
                results.append((ok, note) if ok else implied(goal, local, eliminate))
            return all(ok for ok, _ in results), "; ".join(note for _, note in results)

        def check_top(top=top, m=m, facts=facts):
            made, why = facts()
            if made is None:
                return False, why
            value, _, _, local = made
            return implied(condition_atoms(top)[0].xreplace({m: value}), local)

        axis = f" (axis {a + 1})" if layer.dims > 1 else ""
        prover.lemma("output size: window inside the padded input" + axis,
                     f"for 0 ≤ {j} ≤ {m} − 1 and 0 ≤ {t} ≤ {k} − 1, from "
                     f"{m} = {sp.sstr(size)} and the floor bounds",
                     window, sp.Integer(1), check_window, [(t, 0, k - 1)], part="output size")
        prover.lemma("output size: maximality" + axis,
                     f"output {m} would read past the padded input: s·m + d·(k − 1) − p ≥ n + q",
                     Iverson(top), sp.Integer(1), check_top, [], part="output size")


def source_range_lemmas(prover: Prover, layer: Layer, atoms) -> None:
    """For every axis: src (T's entry's) maps the padded range −p ≤ u ≤ n + q − 1 into the
    input, [0 ≤ src(u) ≤ n − 1] = 1 — so x[c, src(u)] exists (``source_in_range``)."""
    for a in range(layer.dims):
        u, n, p, q = layer.u[a], layer.n[a], layer.p[a], layer.q[a]
        source = layer.entry_source(a, u)
        axis = f" (axis {a + 1})" if layer.dims > 1 else ""
        prover.lemma("padding map: the source lies in the input" + axis,
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


def _source_ranges(expr: sp.Basic, layer: Layer) -> sp.Expr:
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
            if (layer.t[axis], 0, layer.k[axis] - 1) not in [tuple(l) for l in limits]:
                raise rules.RuleError(f"{layer.t[axis]} is not summed over [0, {layer.k[axis] - 1}]")
            used = True
        out.append((sp.Mul(*factors), limits))
    if not used:
        raise rules.RuleError("no bracket [0 <= src(u) <= n - 1] to discharge")
    return rules.from_terms(out)


def _statement_hypotheses(layer: Layer) -> list[sp.Basic]:
    return layer.size_hypotheses() + layer.index_hypotheses()


def _size_definitions(layer: Layer, out_sizes) -> list[tuple[sp.Basic, sp.Basic, str]]:
    return [(m, size, "output size") for m, size in zip(layer.m, out_sizes)]


def toeplitz(dims: int = 1, entry: sp.Expr | None = None, out_size=None, instances: int = 6,
             seed: int = 0, padding_mode: str = "zeros", source: sp.Expr | None = None,
             deadline: float = DEADLINE) -> Derivation:
    """(T·vec x)_R = vec(y)_R for every row R = flat(g, h, j): the conv layer IS the FC layer
    with T[(o, j), (c, i)] = δ(⌊c/Ci⌋, g)·Σ_t w[o, c − g·Ci, t]·Π_a δ(i_a, src(s_a j_a + d_a t_a − p_a)),
    padding p before and q after (``padding_mode`` zeros, circular, reflect or replicate;
    ``source`` claims another src(u) for T's entry, in the symbols u and n), stride, dilation,
    channels and groups."""
    if padding_mode not in PADDING_MODES:
        raise SpecError("padding_mode", padding_mode, f"must be one of {PADDING_MODES}")
    if source is not None and padding_mode == "zeros":
        raise SpecError("source", source, "applies to the padding modes other than zeros")
    entry, source = claimed(entry, "entry"), claimed(source, "source")
    layer = Layer(dims, padding_mode, claimed_source=source)
    out_sizes = _out_sizes(layer, out_size)
    setting = ConvSetting(layer, entry, out_sizes)
    defs = setting.definitions
    hypotheses = _statement_hypotheses(layer)
    atoms = hypothesis_atoms(hypotheses)
    R = layer.row()
    lhs, rhs = layer.Tx[R], layer.vy[R]
    mode = "" if padding_mode == "zeros" else f", {padding_mode} padding"
    prover = Prover("toeplitz", dims, f"the convolution layer is the FC layer T ({dims}-D{mode})",
                    setting, lhs, rhs, instances, seed, hypotheses=hypotheses,
                    claims=[entry, source] + (out_sizes if out_size is not None else []),
                    deadline=deadline)
    output_size_lemmas(prover, layer, out_sizes, atoms)
    if padding_mode != "zeros":
        source_range_lemmas(prover, layer, atoms)
    row_digits = (layer.g, layer.h, *layer.j)
    col_digits = (layer.c, *layer.i)
    prover.step("definition of the matrix product",
                "(T v)_R = Σ_C T_{R,C} v_C over the C_in·∏n columns",
                partial(rules.unfold, definition=defs[str(layer.Tx.label)]))
    prover.step("mixed-radix flattening bijection",
                "C = flat(c, i_1, …) is a bijection [0, G·Ci)×[0, n_1)×… → [0, G·Ci·∏n)",
                partial(rules.mixed_radix, var=layer.C, digits=col_digits,
                        radices=(layer.G * layer.Ci, *layer.n), atoms=atoms))
    prover.step("definition of vec", "vec(x)_{flat(c, i)} = x[c, i] (row-major)",
                partial(rules.unfold, definition=defs[str(layer.v.label)], digits=(col_digits,)))
    prover.step("substitution of the entry formula",
                "T's entry at row flat(g, h, j) and column flat(c, i)",
                partial(rules.unfold, definition=defs[str(layer.T.label)],
                        digits=(row_digits, col_digits)))
    prover.step("exchange of finite sums",
                "all ranges are constant, so the sums commute (and distribute over products)",
                partial(rules.exchange, order=(layer.c, *layer.t, *layer.i)))
    prover.step("Kronecker-delta elimination",
                "Σ_{i=0}^{n−1} δ(i, u)·f(i) = [0 ≤ u ≤ n − 1]·f(u) on every axis",
                partial(rules.delta_elimination, variables=layer.i))
    if padding_mode == "zeros":
        prover.step("zero extension of the padded input",
                    "x[c, u]·[0 ≤ u ≤ n − 1] = x̃[c, u], the input padded with zeros",
                    partial(rules.zero_extension, x=layer.x, padded=layer.xt, sizes=layer.n))
    else:
        prover.step("lemmas (padding map, output size)",
                    "u = s·j + d·t − p lies in [−p, n + q − 1] (window lemma), which src maps "
                    "into [0, n − 1] (padding map lemma)", partial(_source_ranges, layer=layer))
    prover.step("mixed-radix flattening bijection",
                "c = g'·Ci + c' with ⌊c/Ci⌋ = g' and c mod Ci = c'",
                partial(rules.mixed_radix, var=layer.c, digits=(layer.gp, layer.cp),
                        radices=(layer.G, layer.Ci), atoms=atoms))
    prover.step("Kronecker-delta elimination", "only the input channels of group g remain",
                partial(rules.delta_elimination, variables=(layer.gp,)))
    prover.step("hypotheses (range condition)", "0 ≤ g ≤ G − 1 is a hypothesis",
                partial(rules.discharge, atoms=atoms))
    y_entry = layer.y[(layer.o, *layer.j)]
    read = "x̃[g·Ci + c', s·j + d·t − p]" if padding_mode == "zeros" else \
        f"x[g·Ci + c', src(s·j + d·t − p)] ({padding_mode})"
    prover.step("definition of the convolution",
                f"y[o, j] = Σ_{{c'}} Σ_t w[o, c', t]·{read}",
                partial(rules.unfold, definition=defs[str(layer.y.label)],
                        digits=((layer.g, layer.h),)), target=y_entry, two_sided=True)
    prover.step("definition of vec", "vec(y)_{flat(o, j)} = y[o, j] (row-major)",
                partial(rules.unfold, definition=defs[str(layer.vy.label)], digits=(row_digits,)),
                target=rhs, two_sided=True)
    prover.core("symconv.toeplitz", partial(core.compare_toeplitz, setting=setting))
    return prover.finish(_size_definitions(layer, out_sizes) + _source_definitions(layer),
                         notation=[(row_digits, (layer.G, layer.Co, *layer.m)),
                                   (col_digits, (layer.G * layer.Ci, *layer.n))])


def _out_sizes(layer: Layer, out_size) -> list[sp.Expr]:
    if out_size is None:
        return [layer.out_size(a) for a in range(layer.dims)]
    sizes = list(out_size) if isinstance(out_size, (list, tuple)) else [out_size]
    if len(sizes) != layer.dims:
        raise SpecError("out_size", out_size, f"must give one expression per axis ({layer.dims})")
    return [inputs.exact_expression(s, "out_size") for s in sizes]


ORDERS = ("unfold", "paper")


def im2col_definitions(layer: Layer, order: str, entry: sp.Expr | None = None):
    """P, K and their per-group product KP in PyTorch's unfold order or the paper's order.

    unfold: P[(c, t), j] = x[c, u]·Π[0 ≤ u ≤ n − 1], K[o, (c', t)] = w[o, c', t],
            KP[o, j] = Σ_{r < Ci·∏k} K[o, r]·P[g·Ci·∏k + r, j]
    paper:  P[j, (t, c)] = the same entry, K[(t, c'), o] = w[o, c', t],
            KP[j, o] = Σ_{r < ∏k·Ci} P[j, ⌊r/Ci⌋·G·Ci + g·Ci + r mod Ci]·K[r, o]
    """
    from .rules import Definition
    P, K, KP = sp.IndexedBase("P"), sp.IndexedBase("K"), sp.IndexedBase("KP")
    r = integer_symbols("r")[0]
    u = [layer.position(a) for a in range(layer.dims)]
    body = brackets(entry) if entry is not None else layer.x[(layer.c, *u)] * sp.Mul(
        *(in_range(e, 0, n - 1) for e, n in zip(u, layer.n)))
    out_slot = tuple(zip(layer.j, layer.m))
    o_slot = ((layer.g, layer.G), (layer.h, layer.Co))
    J = rules.flatten(layer.j, layer.m)
    taps = sp.Mul(*layer.k)
    if order == "unfold":
        p_def = Definition(P, (tuple(zip((layer.c, *layer.t), (layer.G * layer.Ci, *layer.k))),
                               out_slot), body, "im2col matrix (unfold order)")
        k_def = Definition(K, (o_slot, tuple(zip((layer.cp, *layer.t), (layer.Ci, *layer.k)))),
                           layer.w[(layer.o, layer.cp, *layer.t)], "kernel matrix (unfold order)")
        product = sp.Sum(K[layer.o, r] * P[layer.g * layer.Ci * taps + r, J],
                         (r, 0, layer.Ci * taps - 1))
        kp_def = Definition(KP, (o_slot, out_slot), product, "im2col product")
    else:
        p_def = Definition(P, (out_slot, tuple(zip((*layer.t, layer.c), (*layer.k, layer.G * layer.Ci)))),
                           body, "im2col matrix (paper order)")
        k_def = Definition(K, (tuple(zip((*layer.t, layer.cp), (*layer.k, layer.Ci))), o_slot),
                           layer.w[(layer.o, layer.cp, *layer.t)], "kernel matrix (paper order)")
        column = (sp.floor(r / layer.Ci) * layer.G * layer.Ci + layer.g * layer.Ci
                  + sp.Mod(r, layer.Ci))
        product = sp.Sum(P[J, column] * K[r, layer.o], (r, 0, taps * layer.Ci - 1))
        kp_def = Definition(KP, (out_slot, o_slot), product, "im2col product")
    return p_def, k_def, kp_def, r


def im2col(dims: int = 1, order: str = "unfold", entry: sp.Expr | None = None, out_size=None,
           instances: int = 6, seed: int = 0, deadline: float = DEADLINE) -> Derivation:
    """The im2col product equals the definition: per group g, K·P restricted to the group's
    rows of P is y (``order='unfold'``: PyTorch's F.unfold; ``'paper'``: Ma & Lu's Algorithm 1)."""
    if order not in ORDERS:
        raise SpecError("order", order, f"must be one of {ORDERS}")
    entry = claimed(entry, "entry")
    layer = Layer(dims)
    out_sizes = _out_sizes(layer, out_size)
    p_def, k_def, kp_def, r = im2col_definitions(layer, order, entry)
    setting = ConvSetting(layer, None, out_sizes, extra=(p_def, k_def, kp_def))
    defs = setting.definitions
    hypotheses = _statement_hypotheses(layer)
    atoms = hypothesis_atoms(hypotheses)
    o_digits, j_digits = (layer.g, layer.h), tuple(layer.j)
    J = rules.flatten(layer.j, layer.m)
    if order == "unfold":
        lhs = kp_def.base[layer.o, J]
        kp_digits, r_digits = (o_digits, j_digits), (layer.cp, *layer.t)
        r_radices = (layer.Ci, *layer.k)
        k_digits = (o_digits, r_digits)
        p_digits = ((layer.g * layer.Ci + layer.cp, *layer.t), j_digits)
    else:
        lhs = kp_def.base[J, layer.o]
        kp_digits, r_digits = (j_digits, o_digits), (*layer.t, layer.cp)
        r_radices = (*layer.k, layer.Ci)
        k_digits = (r_digits, o_digits)
        p_digits = (j_digits, (*layer.t, layer.g * layer.Ci + layer.cp))
    rhs = layer.y[(layer.o, *layer.j)]
    prover = Prover("im2col", dims, f"the im2col product ({order} order) is the convolution "
                    f"({dims}-D)", setting, lhs, rhs, instances, seed, hypotheses=hypotheses,
                    claims=[entry] + (out_sizes if out_size is not None else []),
                    deadline=deadline)
    output_size_lemmas(prover, layer, out_sizes, atoms)
    prover.step("definition of the im2col product",
                "group g's block of K times group g's rows of P",
                partial(rules.unfold, definition=kp_def, digits=kp_digits))
    prover.step("mixed-radix flattening bijection",
                f"r = flat({', '.join(map(str, r_digits))}) enumerates the rows of group g's block",
                partial(rules.mixed_radix, var=r, digits=r_digits, radices=r_radices, atoms=atoms))
    prover.step("definition of the kernel matrix", "K's entry is w[o, c', t]",
                partial(rules.unfold, definition=k_def, digits=k_digits))
    prover.step("substitution of the entry formula",
                "P's entry at input channel g·Ci + c', taps t, output j",
                partial(rules.unfold, definition=p_def, digits=p_digits))
    prover.step("zero extension of the padded input",
                "x[c, u]·[0 ≤ u ≤ n − 1] = x̃[c, u], the input padded with zeros",
                partial(rules.zero_extension, x=layer.x, padded=layer.xt, sizes=layer.n))
    if order == "paper":
        prover.step("exchange of finite sums", "the ranges of t and c' are constant",
                    partial(rules.exchange, order=(layer.cp, *layer.t)))
    prover.step("definition of the convolution",
                "y[o, j] = Σ_{c'} Σ_t w[o, c', t]·x̃[g·Ci + c', s·j + d·t − p]",
                partial(rules.unfold, definition=defs[str(layer.y.label)],
                        digits=((layer.g, layer.h),)), target=rhs, two_sided=True)
    prover.core("symconv.im2col and symconv.kernel_matrix",
                partial(core.compare_im2col, setting=setting, order=order, p_def=p_def, k_def=k_def))
    notation = [(j_digits, tuple(layer.m)), (r_digits, r_radices)]
    notation += [(digits, tuple(r for _, r in slot)) for digits, slot in zip(p_digits, p_def.slots)]
    return prover.finish(_size_definitions(layer, out_sizes), notation=notation)


def _source_definitions(layer: Layer) -> list[tuple[sp.Basic, sp.Basic, str]]:
    """src(u)'s case table (or u mod n) for the LaTeX definitions."""
    u, n = Layer(1).u[0], Layer(1).n[0]
    source = layer.entry_source(0, u).xreplace({layer.n[0]: n})
    table = source.piecewise() if isinstance(source, SourceMap) else source
    while isinstance(table, SourceMap):
        table = table.piecewise()
    return [] if table == u else [(source, table, f"{layer.padding_mode} padding map")]


def _window(expr: sp.Basic, layer: Layer, atoms) -> sp.Expr:
    """Discharge brackets by the hypotheses and the window lemma −p ≤ s·j + d·t − p ≤ n + q − 1
    (proved above for 0 ≤ j ≤ m − 1, 0 ≤ t ≤ k − 1), in terms summing every t over [0, k − 1]."""
    window = [atom for a in range(layer.dims)
              for atom in condition_atoms(in_range(layer.position(a), -layer.p[a],
                                                   layer.n[a] + layer.q[a] - 1).args[0])]
    out = []
    for m, limits in rules.terms(expr):
        for t, k in zip(layer.t, layer.k):
            if (t, 0, k - 1) not in [tuple(l) for l in limits]:
                raise rules.RuleError(f"{t} is not summed over [0, {k - 1}]")
        out.append((rules.discharge(rules.from_terms([(m, limits)]), list(atoms) + window), []))
    return rules.from_terms(out)


def padding(dims: int = 1, padding_mode: str = "reflect", source: sp.Expr | None = None,
            instances: int = 6, seed: int = 0, deadline: float = DEADLINE) -> Derivation:
    """T = T⁰·R for circular, reflect and replicate padding: T⁰ is the matrix of the same layer
    without padding on the padded input (size N = n + p + q), R the 0/1 matrix of the padding
    map, R[(c', r), (c, i)] = δ(c', c)·Π_a δ(i_a, src(r_a − p_a)), so that R·vec x = vec of the
    padded input. ``source`` claims another src(u) (in the symbols u and n) for R."""
    from .rules import Definition
    if padding_mode not in PADDING_MODES[1:]:
        raise SpecError("padding_mode", padding_mode, f"must be one of {PADDING_MODES[1:]}")
    source = claimed(source, "source")
    layer = Layer(dims, padding_mode, claimed_source=source)
    out_sizes = [layer.out_size(a) for a in range(dims)]
    r = integer_symbols(axis_names("r", dims))
    padded = [n + p + q for n, p, q in zip(layer.n, layer.p, layer.q)]
    T0, Rp, T0R = sp.IndexedBase("T0"), sp.IndexedBase("Rp"), sp.IndexedBase("T0R")
    row_digits, col_digits = (layer.g, layer.h, *layer.j), (layer.c, *layer.i)
    row_slot = tuple(zip(row_digits, (layer.G, layer.Co, *layer.m)))
    mid_slot = tuple(zip((layer.cp, *r), (layer.G * layer.Ci, *padded)))
    col_slot = tuple(zip(col_digits, (layer.G * layer.Ci, *layer.n)))
    t0 = Definition(T0, (row_slot, mid_slot), sp.KroneckerDelta(sp.floor(layer.cp / layer.Ci), layer.g)
                    * layer.tap_sum(layer.w[(layer.o, layer.cp - layer.g * layer.Ci, *layer.t)]
                                    * sp.Mul(*(sp.KroneckerDelta(ra, layer.s[a] * layer.j[a]
                                                                 + layer.d[a] * layer.t[a])
                                               for a, ra in enumerate(r)))),
                    "T of the unpadded layer on the padded input")
    rp = Definition(Rp, (mid_slot, col_slot), sp.KroneckerDelta(layer.cp, layer.c) * sp.Mul(*(
        sp.KroneckerDelta(i, layer.entry_source(a, ra - layer.p[a]))
        for a, (i, ra) in enumerate(zip(layer.i, r)))), "padding matrix")
    middle = integer_symbols("C'")[0]
    product = Definition(T0R, (((layer.R, None),), ((layer.C, None),)), sp.Sum(
        T0[layer.R, middle] * Rp[middle, layer.C],
        (middle, 0, layer.G * layer.Ci * sp.Mul(*padded) - 1)), "matrix product")
    mode_entry = Layer(dims, padding_mode).entry()  # T keeps the mode's src; a claim is about R
    setting = ConvSetting(layer, mode_entry, out_sizes, extra=(t0, rp, product), columns=True,
                          budget=WHOLE_MATRIX_BUDGET)
    defs = setting.definitions
    hypotheses = (_statement_hypotheses(layer) + [sp.Le(0, layer.c), sp.Le(layer.c, layer.G * layer.Ci - 1)]
                  + [rel for i, n in zip(layer.i, layer.n) for rel in (sp.Le(0, i), sp.Le(i, n - 1))])
    atoms = hypothesis_atoms(hypotheses)
    lhs, rhs = T0R[layer.row(), layer.column()], layer.T[layer.row(), layer.column()]
    prover = Prover("padding", dims, f"with {padding_mode} padding, T = T0 R ({dims}-D)", setting,
                    lhs, rhs, instances, seed, hypotheses=hypotheses, claims=[source],
                    deadline=deadline)
    output_size_lemmas(prover, layer, out_sizes, atoms)
    source_range_lemmas(prover, layer, atoms)
    prover.step("definition of the matrix product", "(T0 R)_{R,C} = Σ_C' T0_{R,C'} R_{C',C}",
                partial(rules.unfold, definition=product))
    prover.step("mixed-radix flattening bijection",
                "C' = flat(c', r) over (G·Ci, n + p + q) enumerates the padded input",
                partial(rules.mixed_radix, var=middle, digits=(layer.cp, *r),
                        radices=(layer.G * layer.Ci, *padded), atoms=atoms))
    prover.step("substitution of the entry formulas", "T0 at (g, h, j), (c', r); R at (c', r), (c, i)",
                lambda e: rules.unfold(rules.unfold(e, t0, (row_digits, (layer.cp, *r))), rp,
                                       ((layer.cp, *r), col_digits)))
    prover.step("exchange of finite sums", "all ranges are constant",
                partial(rules.exchange, order=(layer.cp, *layer.t, *r)))
    prover.step("Kronecker-delta elimination", "c' = c and r = s·j + d·t on every axis",
                partial(rules.delta_elimination, variables=(layer.cp, *r)))
    prover.step("hypotheses and lemma (output size: window)",
                "0 ≤ c ≤ G·Ci − 1 is a hypothesis; 0 ≤ s·j + d·t ≤ n + p + q − 1 is the window lemma",
                partial(_window, layer=layer, atoms=atoms))
    prover.step("substitution of the entry formula", f"T's entry with the {padding_mode} padding map",
                partial(rules.unfold, definition=defs[str(layer.T.label)],
                        digits=(row_digits, col_digits)), target=rhs, two_sided=True)
    prover.core("symconv.toeplitz (T = T0 R, R from symconv.pattern's source map)",
                partial(core.compare_padding, setting=setting, t0=t0, rp=rp))
    return prover.finish(_size_definitions(layer, out_sizes) + _source_definitions(layer),
                         notation=[(row_digits, (layer.G, layer.Co, *layer.m)),
                                   (col_digits, (layer.G * layer.Ci, *layer.n)),
                                   ((layer.cp, *r), (layer.G * layer.Ci, *padded))])


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
        prover.lemma("output size (same padding)" + (f" (axis {a + 1})" if layer.dims > 1 else ""),
                     f"{m} = {sp.sstr(size)} with s = 1 and p + q = d·(k − 1)",
                     m, n, lambda same_size=same_size, n=n: (
                         rules.same(same_size, n), f"{sp.sstr(same_size)} = {n}"),
                     [], part="output size")


def circular_entry_steps(prover: Prover, layer: Layer, out_sizes, defs, hypotheses) -> None:
    """The start of the circular theorems: m = n (lemmas), T's entry at (g, h, j), (c, i)
    substituted, then s = 1."""
    same_size_lemmas(prover, layer, out_sizes)
    prover.step("substitution of the entry formula",
                "T's entry with the circular source src(u) = u mod n",
                partial(rules.unfold, definition=defs[str(layer.T.label)],
                        digits=((layer.g, layer.h, *layer.j), (layer.c, *layer.i))))
    prover.step("hypotheses (stride 1)", "s = 1 on every axis",
                partial(_substitute_hypotheses, equalities={s: 1 for s in layer.s},
                        hypotheses=hypotheses))


def circulant(dims: int = 1, entry: sp.Expr | None = None, instances: int = 6,
              seed: int = 0, deadline: float = DEADLINE) -> Derivation:
    """Circular padding, stride 1, 'same' padding p + q = d·(k − 1): T[(o, j), (c, i)] depends on
    the channels and on (j_a − i_a) mod n_a only, T[(o,j),(c,i)] = Γ[o, c, (j − i) mod n]
    — T is multi-level block circulant (and so diagonalised by the multi-dimensional DFT)."""
    entry = claimed(entry, "entry")
    layer = Layer(dims, padding_mode="circular", same=True)
    out_sizes = [layer.out_size(a) for a in range(dims)]
    r = integer_symbols(axis_names("r", dims))
    from .rules import Definition
    generator_body = sp.KroneckerDelta(sp.floor(layer.c / layer.Ci), layer.g) * layer.tap_sum(
        layer.w[(layer.o, layer.c - layer.g * layer.Ci, *layer.t)] * sp.Mul(*(
            sp.KroneckerDelta(sp.Mod(ra + d * t - p, n), 0)
            for ra, d, t, p, n in zip(r, layer.d, layer.t, layer.p, layer.n))))
    gamma = Definition(layer.Gamma, (((layer.g, layer.G), (layer.h, layer.Co)), ((layer.c, None),),
                                     *(((ra, None),) for ra in r)),
                       generator_body, "circulant generator")
    setting = ConvSetting(layer, entry, out_sizes, extra=(gamma,), columns=True)
    defs = setting.definitions
    hypotheses = (layer.size_hypotheses() + layer.index_hypotheses()
                  + [sp.Le(0, layer.c), sp.Le(layer.c, layer.G * layer.Ci - 1)]
                  + [rel for i, n in zip(layer.i, layer.n) for rel in (sp.Le(0, i), sp.Le(i, n - 1))])
    atoms = hypothesis_atoms([h for h in hypotheses if not isinstance(h, sp.Eq)])
    lhs = layer.T[layer.row(), layer.column()]
    rhs = layer.Gamma[(layer.o, layer.c, *(sp.Mod(j - i, n) for j, i, n in
                                         zip(layer.j, layer.i, layer.n)))]
    prover = Prover("circulant", dims, f"with circular padding and stride 1, T is multi-level "
                    f"block circulant ({dims}-D)", setting, lhs, rhs, instances, seed,
                    hypotheses=hypotheses, claims=[entry], deadline=deadline)
    circular_entry_steps(prover, layer, out_sizes, defs, hypotheses)
    prover.step("congruence modulo n", "for 0 ≤ i ≤ n − 1: (u mod n = i) ⟺ ((u − i) mod n = 0)",
                partial(_congruence, layer=layer, atoms=atoms))
    prover.step("definition of the circulant generator",
                "Γ[o, c, r] at r = (j − i) mod n, using ((a mod n) + b) mod n = (a + b) mod n",
                partial(rules.unfold, definition=gamma,
                        digits=((layer.g, layer.h),) + ((None,),) * (dims + 1)),
                target=rhs, two_sided=True)
    prover.core("symconv.toeplitz (circular padding)", partial(core.compare_toeplitz, setting=setting))
    return prover.finish(_size_definitions(layer, out_sizes),
                         notation=[((layer.g, layer.h, *layer.j), (layer.G, layer.Co, *layer.m)),
                                   ((layer.c, *layer.i), (layer.G * layer.Ci, *layer.n))])


WHOLE_MATRIX_BUDGET = 600
"""Cost budget (setting.DrawRanges) of an instance of a theorem whose every step sums over the
whole of T (transpose), over T₁ per entry of T₂ (nonlinear) or compares R, of size ∏n·∏(n+p+q)
(padding)."""


def transpose(dims: int = 1, entry: sp.Expr | None = None, instances: int = 6,
              seed: int = 0, deadline: float = DEADLINE) -> Derivation:
    """The adjoint identity ⟨T vec x, γ⟩ = ⟨vec x, vec z⟩ for every x and γ, where z is the
    transposed convolution (the input gradient of ⟨y, γ⟩), by its scatter formula

        z[g'·Ci + c', i] = Σ_h Σ_j Σ_t w[g'·Co + h, c', t]·γ[g'·Co + h, j]·Π_a δ(i_a, s_a j_a + d_a t_a − p_a);

    hence Tᵀγ = vec z: the transposed convolution IS multiplication by Tᵀ."""
    from .rules import Definition
    entry = claimed(entry, "entry")
    layer = Layer(dims)
    out_sizes = [layer.out_size(a) for a in range(dims)]
    R, C, g, h, gp, cp = layer.R, layer.C, layer.g, layer.h, layer.gp, layer.cp
    col_slot = tuple(zip((layer.c, *layer.i), (layer.G * layer.Ci, *layer.n)))
    row_slot = tuple(zip((g, h, *layer.j), (layer.G, layer.Co, *layer.m)))
    pattern = sp.Mul(*(sp.KroneckerDelta(i, layer.position(a)) for a, i in enumerate(layer.i)))
    o_of = gp * layer.Co + h
    z_body = sp.Sum(layer.w[(o_of, cp, *layer.t)] * layer.gamma[(o_of, *layer.j)] * pattern,
                    (h, 0, layer.Co - 1), *((j, 0, m - 1) for j, m in zip(layer.j, layer.m)),
                    *((t, 0, k - 1) for t, k in zip(layer.t, layer.k)))
    z = Definition(layer.z, (((gp, layer.G), (cp, layer.Ci)), *(((i, None),) for i in layer.i)),
                   z_body, "transposed convolution")
    vz = Definition(layer.vz, (col_slot,), layer.z[(layer.c, *layer.i)], "vec (row-major)")
    vgamma = Definition(layer.vgamma, (row_slot,), layer.gamma[(layer.o, *layer.j)],
                        "vec (row-major)")
    setting = ConvSetting(layer, entry, out_sizes, extra=(z, vz, vgamma), budget=WHOLE_MATRIX_BUDGET)
    defs = setting.definitions
    hypotheses = layer.size_hypotheses()
    atoms = hypothesis_atoms(hypotheses)
    lhs = sp.Sum(layer.Tx[R] * layer.vgamma[R], (R, 0, layer.n_out - 1))
    rhs = sp.Sum(layer.v[C] * layer.vz[C], (C, 0, layer.n_in - 1))
    prover = Prover("transpose", dims, f"the transposed convolution is multiplication by T^T "
                    f"({dims}-D)", setting, lhs, rhs, instances, seed,
                    hypotheses=hypotheses, claims=[entry], deadline=deadline)
    row_digits = (g, h, *layer.j)
    prover.step("definition of the matrix product", "(T v)_R = Σ_C T_{R,C} v_C",
                partial(rules.unfold, definition=defs[str(layer.Tx.label)]))
    prover.step("mixed-radix flattening bijection", "R = flat(g, h, j) over (G, Co, m)",
                partial(rules.mixed_radix, var=R, digits=row_digits,
                        radices=(layer.G, layer.Co, *layer.m), atoms=atoms))
    prover.step("mixed-radix flattening bijection", "C = flat(g', c', i) over (G, Ci, n)",
                partial(rules.mixed_radix, var=C, digits=(gp, cp, *layer.i),
                        radices=(layer.G, layer.Ci, *layer.n), atoms=atoms))
    col_of = (gp * layer.Ci + cp, *layer.i)
    prover.step("definition of vec", "vec(x) and vec(γ) entries",
                lambda e: rules.unfold(rules.unfold(e, defs[str(layer.v.label)], (col_of,)),
                                       vgamma, (row_digits,)))
    prover.step("substitution of the entry formula", "T's entry at (g, h, j), (g'·Ci + c', i)",
                partial(rules.unfold, definition=defs[str(layer.T.label)],
                        digits=(row_digits, col_of)))
    prover.step("exchange of finite sums", "all ranges are constant",
                partial(rules.exchange, order=(g, h, *layer.j, *layer.t, gp, cp, *layer.i)))
    prover.step("Kronecker-delta elimination",
                "⌊(g'·Ci + c')/Ci⌋ = g' for 0 ≤ c' < Ci, so only the row group g = g' remains",
                lambda e: rules.delta_elimination(_floor_digits(e, layer), (g,)))
    prover.step("hypotheses (range condition)", "0 ≤ g' ≤ G − 1 is the range of the sum over g'",
                partial(rules.discharge, atoms=atoms))
    z_target = sp.Sum(layer.x[col_of] * layer.z[col_of], (gp, 0, layer.G - 1),
                      (cp, 0, layer.Ci - 1), *((i, 0, n - 1) for i, n in zip(layer.i, layer.n)))
    prover.step("definition of the transposed convolution", "the inner sums are z[g'·Ci + c', i]",
                partial(rules.unfold, definition=z, digits=((gp, cp),)), target=z_target,
                two_sided=True)
    v_target = z_target.xreplace({layer.x[col_of]: layer.v[layer.column(col_of[0], col_of[1:])],
                                  layer.z[col_of]: layer.vz[layer.column(col_of[0], col_of[1:])]})
    prover.step("definition of vec", "vec(x) and vec(z) at flat(g'·Ci + c', i)",
                lambda e: rules.unfold(rules.unfold(e, defs[str(layer.v.label)], (col_of,)),
                                       vz, (col_of,)),
                target=v_target, two_sided=True)
    prover.step("mixed-radix flattening bijection", "C = flat(g', c', i) back to one sum",
                partial(rules.mixed_radix, var=C, digits=(gp, cp, *layer.i),
                        radices=(layer.G, layer.Ci, *layer.n), atoms=atoms),
                target=rhs, two_sided=True)
    prover.core("symconv.toeplitz transposed (T^T gamma = vec z) and conv_transpose",
                partial(core.compare_transpose, setting=setting))
    return prover.finish(_size_definitions(layer, out_sizes),
                         notation=[(row_digits, (layer.G, layer.Co, *layer.m)),
                                   (col_of, (layer.G * layer.Ci, *layer.n))])


def _floor_digits(expr: sp.Basic, layer: Layer) -> sp.Basic:
    """⌊(g'·Ci + c')/Ci⌋ → g' (division with remainder), in terms summing c' over [0, Ci − 1]."""
    target = sp.floor((layer.gp * layer.Ci + layer.cp) / layer.Ci)
    out = []
    for m, limits in rules.terms(expr):
        found = [f for f in m.atoms(sp.floor) if rules.same(f, target)]
        if found and (layer.cp, 0, layer.Ci - 1) not in [tuple(l) for l in limits]:
            raise rules.RuleError(f"{found[0]}: {layer.cp} is not summed over [0, {layer.Ci - 1}]")
        out.append((m.xreplace({f: layer.gp for f in found}), limits))
    return rules.from_terms(out)


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

    def draw(self, rng, pinned=None, data: str = "small"):
        from .derivation import Instance
        from .evaluate import Env
        from .setting import Tensors
        one, two = self.first, self.second
        for _ in range(DRAW_ATTEMPTS):
            values: dict[sp.Symbol, int] = {}
            one.draw_sizes(rng, values, pinned=pinned, budget=WHOLE_MATRIX_BUDGET)
            one.draw_indices(rng, values, [one.out_size(a) for a in range(one.dims)], pinned)
            try:  # the first layer's output may leave the second no room within the budget
                two.draw_sizes(rng, values, inputs=tuple(values[m] for m in one.m),
                               in_channels=values[one.G] * values[one.Co], pinned=pinned,
                               budget=WHOLE_MATRIX_BUDGET)
                break
            except NoInstance:
                continue
        else:
            raise NoInstance("no second layer fits the first layer's output within the budget")
        two.draw_indices(rng, values, [two.out_size(a) for a in range(two.dims)], pinned)
        name = rng.choice(sorted(ACTIVATIONS))
        sigma = ACTIVATIONS[name]
        t1 = Tensors(one, values, rng, data=data)
        z = _map(t1.y_bias if self.bias else t1.y, sigma)
        t2 = Tensors(two, values, rng, x=z, data=data)

        def build(symbolic: bool) -> Env:
            if symbolic:  # σ has no symbolic form on concrete instances: values only
                raise_symbolic()
            env = Env(dict(values), {}, {"sigma": sigma})
            env.tensors = {**t1.tensors(self.definitions, lambda: env, False),
                           **t2.tensors(self.definitions, lambda: env, False)}
            return env
        return Instance(values, build, one.shown + two.shown)


def raise_symbolic():
    from .evaluate import EvaluationError
    raise EvaluationError("σ is evaluated on numbers only")


def _map(array, function):
    import numpy as np
    out = np.empty(array.shape, dtype=object)
    for index, value in np.ndenumerate(array):
        out[index] = function(value)
    return out


_PROVED: set[tuple[str, int]] = set()


def proved(theorem: str, dims: int) -> bool:
    """Whether the default statement of ``theorem`` (a name in THEOREMS) holds for dims;
    rules that cite a theorem call this. Only a proof is remembered (once per process): a
    derivation that failed, e.g. at its deadline on a busy machine, is run again when cited."""
    if (theorem, dims) in _PROVED:
        return True
    holds = {"toeplitz": toeplitz, "im2col": im2col,
             "im2col-paper": partial(im2col, order="paper")}[theorem](dims).holds
    if holds:
        _PROVED.add((theorem, dims))
    return holds


proved.cache_clear = _PROVED.clear  # type: ignore[attr-defined]  # as functools caches have


def _apply_theorem(expr: sp.Basic, source: sp.IndexedBase, target: sp.IndexedBase,
                   dims: int) -> sp.Expr:
    """vec(conv(x))_R → (T vec x)_R by the toeplitz theorem (proved here for dims)."""
    if not proved("toeplitz", dims):
        raise rules.RuleError(f"the toeplitz theorem is not proved for dims={dims}")
    found = [e for e in sp.sympify(expr, strict=True).atoms(sp.Indexed) if e.base == source]
    if not found:
        raise rules.RuleError(f"no entry of {source} to rewrite")
    return sp.sympify(expr, strict=True).xreplace({e: target[e.indices] for e in found})


def nonlinear(dims: int = 1, network: sp.Expr | None = None, instances: int = 6,
              seed: int = 0, bias: bool = False, deadline: float = DEADLINE) -> Derivation:
    """σ applied elementwise preserves the equivalence, and composition of conv layers is
    composition of FC layers: vec(conv₂(σ(conv₁(x)))) = T₂·σ(T₁·vec x), for any σ; with
    ``bias``: vec(conv₂(σ(conv₁(x) + b₁)) + b₂) = T₂·σ(T₁·vec x + b₁ ⊗ 1) + b₂ ⊗ 1.

    ``network`` replaces the FC network's entry N[R₂] (a claim in the symbols R2, C2, T2, Tx,
    sigma, beta, beta2 of ``network_symbols``)."""
    from .rules import Definition
    claim, bias = claimed(network, "network"), inputs.flag(bias, "bias")
    one, two = Layer(dims, tag="1"), Layer(dims, tag="2")
    defs = {**one.definitions(), **two.definitions()}
    R2, C2 = two.R, two.C
    layer_one_out = one.vyb if bias else one.vy
    defs[str(two.v.label)] = Definition(two.v, (((C2, None),),), SIGMA(layer_one_out[C2]),
                                        "σ elementwise: vec σ(y₁) = σ(vec y₁)")
    N = sp.IndexedBase("Nb" if bias else "N")
    inner = one.Tx[C2] + (one.beta[C2] if bias else 0)
    default = sp.Sum(two.T[R2, C2] * SIGMA(inner), (C2, 0, two.n_in - 1)) + (
        two.beta[R2] if bias else 0)
    network = Definition(N, (((R2, None),),), default if claim is None else claim, "FC network")
    defs[network.name] = network
    setting = NetworkSetting(one, two, defs, bias)
    out1 = [one.out_size(a) for a in range(dims)]
    out2 = [two.out_size(a) for a in range(dims)]
    hypotheses = (one.size_hypotheses() + two.size_hypotheses()
                  + [sp.Eq(n2, m1) for n2, m1 in zip(two.n, one.m)]
                  + [sp.Eq(two.G * two.Ci, one.G * one.Co)] + two.index_hypotheses())
    R = two.row()
    lhs, rhs = (two.vyb if bias else two.vy)[R], N[R]
    with_bias = " and biases" if bias else ""
    prover = Prover("nonlinear", dims, f"conv layers with an elementwise σ{with_bias} are FC layers "
                    f"with σ ({dims}-D)", setting, lhs, rhs, instances, seed,
                    hypotheses=hypotheses, claims=[claim], deadline=deadline)
    if bias:
        prover.step("definition of the bias (layer 2)", "vec(y₂ + b₂) = vec(y₂) + b₂ ⊗ 1",
                    partial(rules.unfold, definition=defs[str(two.vyb.label)]))
    prover.step("theorem toeplitz (layer 2, input σ(y₁))",
                "vec(conv₂(z)) = T₂·vec z for every input z, here z = σ(y₁)",
                partial(_apply_theorem, source=two.vy, target=two.Tx, dims=dims))
    prover.step("definition of the matrix product", "(T₂ v₂)_R = Σ_C (T₂)_{R,C} (v₂)_C",
                partial(rules.unfold, definition=defs[str(two.Tx.label)]))
    prover.step("σ acts elementwise", "v₂ = vec σ(y₁) = σ(vec y₁), since n₂ = m₁ and "
                "C_in,2 = C_out,1", partial(rules.unfold, definition=defs[str(two.v.label)]))
    if bias:
        prover.step("definition of the bias (layer 1)", "vec(y₁ + b₁) = vec(y₁) + b₁ ⊗ 1",
                    partial(rules.unfold, definition=defs[str(one.vyb.label)]))
    prover.step("theorem toeplitz (layer 1), congruence under σ",
                "vec(y₁) = T₁·vec x, and σ(a) = σ(b) when a = b",
                partial(_apply_theorem, source=one.vy, target=one.Tx, dims=dims))
    prover.step("definition of the FC network", "N = T₂·σ(T₁·vec x" + (" + b₁ ⊗ 1) + b₂ ⊗ 1"
                                                                        if bias else ")"),
                partial(rules.unfold, definition=network), target=rhs, two_sided=True)
    note = ("σ is checked concretely as ReLU and as z² − 2z; the biased outputs vec(y + b) are "
            "symconv.conv with the bias." if bias else
            "σ is checked concretely as ReLU and as z² − 2z; no bias terms (see bias=True).")
    return prover.finish(_size_definitions(one, out1) + _size_definitions(two, out2),
                         notes=[note],
                         notation=[((two.g, two.h, *two.j), (two.G, two.Co, *two.m))])


def network_symbols(dims: int = 1) -> dict[str, sp.Basic]:
    """The symbols a claimed FC network is written in (see ``nonlinear``)."""
    one, two = Layer(dims, tag="1"), Layer(dims, tag="2")
    return {"R2": two.R, "C2": two.C, "T2": two.T, "Tx": one.Tx, "sigma": SIGMA,
            "n_in2": two.n_in, "beta": one.beta, "beta2": two.beta}
