"""User claims: prove or refute a closed form for an entry of T or of the im2col matrix P.

A claim is about one channel block (C_in = C_out = groups = 1; the channel and group structure
is the theorem "toeplitz"/"im2col"), written in the symbols of ``symbols_for(form, dims)``:
sizes n, k, s, d, p (padding before), q (after), output size m, row/column indices, taps t,
and the weight ``w[t]`` (Toeplitz) or input ``x[i]`` (im2col), per axis suffixed _1, _2, _3.

The derivation: (1) the entry is the reference entry formula (the theorem's, specialised to
one channel; concretely compared with symconv.toeplitz / symconv.im2col at every instance);
(2) its normal form by Kronecker-delta elimination over the taps where the tap has coefficient
±1 (e.g. with ``assume={d: 1}``); (3) the claim, compared in canonical form (expr.same) after
the same normalisation of the claim; both sides are evaluated exactly on random instances
(sizes log-uniform over wide ranges) and on instances at the thresholds of the claim (where a
bracket, δ or floor in it changes value, ``thresholds``).

Bad input is a SpecError naming the argument: an entry that is not one exact expression
(relations, matrices, lists, Floats, …: ``inputs.exact_expression``), ``assume`` keys that are
not hyperparameters of the claim (symbols or their names) or values that are not integers in
range, ``instances`` < 1, a ``deadline`` that is not a positive number of seconds.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Mapping
from functools import partial
from numbers import Integral
from types import SimpleNamespace
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SpecError, boolean, integer, one_of, seconds
from ..forms.im2col import ORDERS
from . import inputs, rules
from .arith import implied
from .derivation import DEADLINE, Derivation, Instance, NoInstance, Prover
from .evaluate import Env, array_tensor, check_deadline
from .expr import brackets, condition_atoms, hygienic
from .setting import Layer, random_data
from .theorems.citations import proved
from .theorems.im2col_product import im2col_definitions

CLAIM_BUDGET = 100_000
"""Cost budget of a claim's instance (see setting.DrawRanges): only one entry is evaluated,
so larger sizes than for the theorems are affordable (T itself is built by symconv.toeplitz)."""

FORMS = ("toeplitz", "im2col")


def _channel_free(layer: Layer) -> dict[sp.Symbol, sp.Expr]:
    return {layer.G: 1, layer.Ci: 1, layer.Co: 1, layer.g: 0, layer.h: 0, layer.c: 0}


def symbols_for(form: str, dims: int = 1, channels: bool = False) -> SimpleNamespace:
    """The symbols a claim is written in; with ``channels`` also the groups G, channels per
    group Ci, Co, the row's group g and channel h in it (output channel o = g·Co + h) and the
    column's input channel c — then w[o, c', t] and x[c, i] carry their channel indices.

    >>> S = symbols_for("toeplitz")
    >>> S.w[S.t], S.j, S.i, S.n
    (w[t], j, i, n)
    >>> C = symbols_for("toeplitz", channels=True)
    >>> C.w[C.o, C.c - C.g * C.Ci, C.t]
    w[Co*g + h, -Ci*g + c, t]
    """
    dims, channels = _check(form, dims), boolean("channels", channels)
    layer = Layer(dims)
    one = lambda z: z[0] if dims == 1 else z  # noqa: E731
    names = SimpleNamespace(
        n=one(layer.n), k=one(layer.k), s=one(layer.s), d=one(layer.d), p=one(layer.p),
        q=one(layer.q), m=one(layer.m), j=one(layer.j), i=one(layer.i), t=one(layer.t),
        w=sp.IndexedBase("w"), x=sp.IndexedBase("x"), form=form, dims=dims)
    if channels:
        names.G, names.Ci, names.Co, names.g, names.h, names.c = (
            layer.G, layer.Ci, layer.Co, layer.g, layer.h, layer.c)
        names.o = layer.o
    return names


def _check(form: str, dims: Any) -> int:
    """``dims`` as an int once ``form`` and ``dims`` are valid, else SpecError."""
    one_of("form", form, FORMS)
    return inputs.spatial_dims(dims)


def reference_entry(form: str, dims: int, channels: bool = False) -> sp.Expr:
    """The theorem's entry formula, with one channel in the user's symbols (w[t], x[i]) unless
    ``channels`` (then w[o, c', t], x[c, i] as in the theorem)."""
    layer = Layer(dims)
    if channels:
        if form == "toeplitz":
            return layer.entry()
        return im2col_definitions(layer, "unfold")[0].body
    free = _channel_free(layer)
    if form == "toeplitz":
        entry = layer.entry().xreplace(free)
        user = sp.IndexedBase("w")
        return entry.replace(lambda e: isinstance(e, sp.Indexed) and e.base == layer.w,
                             lambda e: user[e.indices[2:]])
    p_def = im2col_definitions(layer, "unfold")[0]
    user = sp.IndexedBase("x")
    return p_def.body.xreplace(free).replace(
        lambda e: isinstance(e, sp.Indexed) and e.base == layer.x, lambda e: user[e.indices[1:]])


def normal_form(expr: sp.Basic, assume: dict) -> sp.Expr:
    """Assumptions substituted, Piecewise guards as brackets, then Kronecker-delta elimination
    over every summation variable that occurs in a δ with coefficient ±1
    (rules.delta_elimination, side conditions checked)."""
    expr = hygienic(brackets(sp.sympify(expr, strict=True)), set(assume))
    with contextlib.suppress(ZeroDivisionError):  # SymPy's Mod(k, 0): left to the instances
        expr = expr.xreplace(assume)
    changed = True
    while changed:
        changed = False
        items = rules.terms(expr)
        for index, (m, limits) in enumerate(items):
            check_deadline()
            for v, _, _ in limits:
                try:
                    eliminated = rules.delta_elimination(rules.from_terms([(m, limits)]), (v,))
                except rules.RuleError:
                    continue
                expr = rules.from_terms(items[:index]) + eliminated \
                    + rules.from_terms(items[index + 1:])
                changed = True
                break
            if changed:
                break
    return expr


class ClaimSetting:
    """Random sizes (one channel block unless ``channels``) with the assumptions ``assume``
    fixed; T and P come from symconv's concrete forms (P in ``order``)."""

    def __init__(self, form: str, dims: int, assume: dict, channels: bool = False,
                 order: str = "unfold"):
        self.form, self.dims, self.assume = form, dims, assume
        self.channels, self.order = channels, order
        self.layer = Layer(dims)

    @property
    def derived(self) -> dict[sp.Symbol, sp.Expr]:
        return {m: self.layer.out_size(a) for a, m in enumerate(self.layer.m)}

    def draw(self, rng: random.Random, pinned: Mapping[sp.Symbol, int] | None = None,
             data: str = "small") -> Instance:
        layer = self.layer
        fixed = {**(pinned or {}), **{s: int(v) for s, v in self.assume.items()},
                 **({} if self.channels else _channel_free(layer))}
        values: dict[sp.Symbol, int] = {}
        layer.draw_sizes(rng, values, pinned=fixed, budget=CLAIM_BUDGET)
        layer.draw_indices(rng, values, [layer.out_size(a) for a in range(self.dims)], fixed)
        for t, k in zip(layer.t, layer.k):
            values[t] = fixed[t] if t in fixed else rng.choice(
                [0, values[k] - 1, rng.randint(0, values[k] - 1)])
        spec = layer.spec(values)
        x = random_data(rng, spec.input_shape, data)
        w = random_data(rng, spec.weight_shape, data)
        shown = ([layer.G, layer.Ci, layer.Co] if self.channels else []) + [
            *layer.n, *layer.k, *layer.s, *layer.d, *layer.p, *layer.q, *layer.m] + (
            [layer.g, layer.h, layer.c] if self.channels else []) + [
            *layer.j, *(layer.i if self.form == "toeplitz" else layer.t)]

        def build(symbolic: bool) -> Env:
            from ..forms import im2col, toeplitz
            from ..symbols import symbols
            if self.channels:
                xs, ws = symbols(spec)[:2] if symbolic else (x, w)
                tensors = {"w": array_tensor("w", np.asarray(ws)), "x": array_tensor("x", np.asarray(xs))}
            else:
                xs, ws = _user_symbols(spec) if symbolic else (x, w)
                tensors = {"w": array_tensor("w", np.asarray(ws)[0, 0]),
                           "x": array_tensor("x", np.asarray(xs)[0])}
            matrix = toeplitz(spec, ws) if self.form == "toeplitz" else im2col(spec, xs, self.order)
            return Env(dict(values), {
                **tensors,
                "T": array_tensor("T (symconv.toeplitz)", np.array(matrix.tolist(), dtype=object)),
                "P": array_tensor("P (symconv.im2col)", np.array(matrix.tolist(), dtype=object))})
        return Instance(values, build, shown)


def _by_theorem(entry: sp.Basic, form: str, dims: int, reference: sp.Expr) -> sp.Expr:
    """An entry of T (or P) is the reference formula, by the theorem ``form`` (proved here)."""
    if not isinstance(entry, sp.Indexed) or str(entry.base.label) not in ("T", "P"):
        raise rules.RuleError(f"{entry} is not an entry of T or P")
    if not proved(form.split("-")[0], dims) or not proved(form, dims):
        raise rules.RuleError(f"the theorem {form} is not proved for dims={dims}")
    return reference


def _user_symbols(spec) -> tuple[np.ndarray, np.ndarray]:
    """x and w of a one-channel spec named as the user writes them: x_{i}, w_{t}."""
    from ..symbols import tensor_symbols
    return (tensor_symbols("x", spec.input_size)[None],
            tensor_symbols("w", spec.kernel_size)[None, None])


def _assumptions(assume: Any, layer: Layer, channels: bool) -> dict[sp.Symbol, sp.Integer]:
    """``assume`` as {hyperparameter symbol: Integer}: keys are the claim's size and
    hyperparameter symbols or their names, values integers in the hyperparameter's range."""
    if assume is None:
        return {}
    if not isinstance(assume, Mapping):
        raise SpecError("assume", assume, "must be a dict {symbol or name: integer}, e.g. {S.d: 1}")
    lowest = {symbol: low for symbols, low in (
        (layer.n, 1), (layer.k, 1), (layer.s, 1), (layer.d, 1), (layer.p, 0), (layer.q, 0))
        for symbol in symbols}
    if channels:
        lowest.update({layer.G: 1, layer.Ci: 1, layer.Co: 1})
    by_name = {str(symbol): symbol for symbol in lowest}
    result = {}
    for key, value in assume.items():
        symbol = by_name.get(key) if isinstance(key, str) else key
        if symbol not in lowest:
            raise SpecError("assume", key, f"is not a size or hyperparameter of the claim; "
                                           f"valid: {sorted(by_name)} (or their symbols)")
        if isinstance(value, bool) or not isinstance(value, (Integral, sp.Integer)):
            raise SpecError("assume", {key: value}, f"the value of {symbol} must be an integer "
                                                    "(not rounded, not a symbol)")
        if int(value) < lowest[symbol]:
            raise SpecError("assume", {key: value}, f"{symbol} must be ≥ {lowest[symbol]}")
        result[symbol] = sp.Integer(int(value))
    return result


def _claim_entry(entry: Any, form: str, dims: int, channels: bool) -> sp.Expr:
    """The claimed entry as one exact SymPy expression; text is read by symconv.parsing's fixed
    grammar in the claim's symbols, never evaluated."""
    if isinstance(entry, str):
        from ..parsing import parse_expression, symbol_table
        names = symbol_table(vars(symbols_for(form, dims, channels)).values())
        entry = parse_expression(entry, names, parameter="entry")
    return inputs.exact_expression(entry, "entry")


def _limits_not_reversed(entry: sp.Basic, atoms: list[sp.Expr]) -> None:
    """Every Sum of the claim has hi ≥ lo − 1 under the hypotheses and its enclosing ranges
    (there symconv's reading, the integers lo ≤ u ≤ hi, agrees with SymPy's Karr convention,
    which gives a reversed range a sign); else SpecError naming ``entry``."""
    def walk(e: sp.Basic, known: list[sp.Expr]) -> None:
        if isinstance(e, sp.Sum):
            for v, lo, hi in reversed(e.limits):  # outermost first
                walk(lo, known), walk(hi, known)
                if not implied(hi - lo + 1, known)[0]:
                    raise SpecError("entry", str(entry), f"the sum over {v} from {lo} to {hi} "
                                    f"may be reversed ({hi} < {lo} - 1); symconv reads a sum as "
                                    "the integers lo ≤ v ≤ hi, SymPy gives a reversed range a "
                                    "sign (Karr): write limits with hi ≥ lo − 1")
                known = known + [v - lo, hi - v]
            walk(e.function, known)
            return
        for a in e.args:
            walk(a, known)
    walk(entry, atoms)


def check_claim(form: str, entry: Any, dims: int = 1, assume: dict | None = None,
                instances: int = 20, seed: int = 0, channels: bool = False,
                order: str = "unfold", deadline: float = DEADLINE) -> Derivation:
    """Prove or refute a closed form ``entry`` for T[j, i] (form="toeplitz") or P[t, j]
    (form="im2col", F.unfold order; ``order="paper"``: P[j, t] of Ma & Lu) of a one-channel
    layer, for all sizes; with ``channels=True`` for T[(g, h, j), (c, i)] or P[(c, t), j]
    (paper: P[j, (t, c)]) of a layer with G groups of Ci input and Co output channels, in the
    symbols of ``symbols_for(form, dims, channels=True)``.

    ``assume`` fixes sizes and hyperparameters, e.g. ``{S.d: 1, S.s: 1}`` (or ``{"d": 1}``)
    for a claim about undilated, unstrided convolution. ``instances`` random instances (≥ 1)
    are drawn, plus instances at the claim's thresholds; ``deadline`` bounds the wall-clock
    seconds (exceeded: NOT PROVED, see ``derivation``).

    Sums in ``entry`` mean what SymPy's ``Sum`` means: the FIRST limit is the innermost sum,
    so ``Sum(f, (u, 0, t), (t, 0, k - 1))`` is Σ_{t=0}^{k−1} Σ_{u=0}^{t} f (a bound may read
    the variables of the limits after it). A sum whose range may be
    reversed (hi < lo − 1 not excluded by the hypotheses) is refused with a SpecError, since
    SymPy then gives it a sign (Karr's convention) where symconv would read an empty sum.
    Summation variables are renamed apart from the claim's symbols, so a sum over a symbol
    named like an assumed hyperparameter (``d`` with ``{"d": 1}``) is its own variable.
    Returns a Derivation;
    ``failure.counterexample`` carries the sizes, indices and the two values when the claim is
    refuted.
    """
    dims = _check(form, dims)
    if order not in ORDERS or (order != "unfold" and form != "im2col"):
        raise SpecError("order", order, f"must be one of {ORDERS} (paper: im2col only)")
    channels = boolean("channels", channels)
    instances, seed = integer("instances", instances, minimum=1), integer("seed", seed)
    deadline = seconds("deadline", deadline)
    entry = _claim_entry(entry, form, dims, channels)
    layer = Layer(dims)
    assume = _assumptions(assume, layer, channels)
    _no_stray_symbols(entry, layer, form, channels)
    setting = ClaimSetting(form, dims, assume, channels, order)
    lhs, title = _claimed_entry_of(layer, form, channels, order)
    hypotheses = _claim_hypotheses(layer, form, channels, assume)
    # a summation variable named like an assumed or hypothesised symbol is its own variable
    entry = hygienic(brackets(entry), set(assume).union(*(h.free_symbols for h in hypotheses)))
    _limits_not_reversed(entry, [a for h in hypotheses for a in condition_atoms(h)])
    reference = reference_entry(form, dims, channels)
    try:  # thresholds of the reference too: instances where T (or P) is nonzero
        prover = Prover(f"claim-{form}", dims, title, setting, lhs, entry, instances, seed,
                        hypotheses=hypotheses, claims=[entry, reference], deadline=deadline)
    except NoInstance as error:
        raise SpecError("assume", {str(k): int(v) for k, v in assume.items()},
                        f"no instance can be drawn: {error}") from None
    cited = form if order == "unfold" else f"{form}-{order}"
    prover.step(f"entry formula of {'T' if form == 'toeplitz' else 'P'} (theorem {cited})",
                "the proved entry formula" + ("" if channels else " for one channel")
                + "; compared with symconv's matrix",
                partial(_by_theorem, form=cited, dims=dims, reference=reference))
    if normal_form(reference, assume) != reference:
        prover.step("Kronecker-delta elimination", "over the taps, with the assumptions "
                    + ", ".join(f"{k} = {v}" for k, v in assume.items()),
                    lambda e: normal_form(e, assume))
    prover.step("the claim", "both sides in normal form, compared canonically", lambda e: normal_form(e, assume),
                target=entry, two_sided=True, sides=(f"symconv's {lhs.base} (the proved entry formula)", "the claim"))
    return prover.finish([(m, layer.out_size(a), "output size") for a, m in enumerate(layer.m)])


def _no_stray_symbols(entry: sp.Expr, layer: Layer, form: str, channels: bool) -> None:
    """SpecError naming ``entry`` if it uses a symbol that is not one of the claim's."""
    allowed = set(layer.n + layer.k + layer.s + layer.d + layer.p + layer.q + layer.m
                  + layer.j + layer.i + layer.t)
    if channels:
        allowed |= {layer.G, layer.Ci, layer.Co, layer.g, layer.h, layer.c}
    stray = {s for s in entry.free_symbols
             if isinstance(s, sp.Symbol) and s not in allowed and str(s) not in ("w", "x")}
    if stray:
        raise SpecError("entry", str(entry), f"uses symbols {sorted(map(str, stray))} not among "
                        f"symbols_for({form!r}, dims={layer.dims})")


def _claimed_entry_of(layer: Layer, form: str, channels: bool, order: str) -> tuple[sp.Expr, str]:
    """The entry of T or P the claim is about (the statement's lhs), and the title."""
    J = rules.flatten(layer.j, layer.m)
    C = layer.G * layer.Ci
    if form == "toeplitz":
        lhs = sp.IndexedBase("T")[(layer.row(), layer.column()) if channels
                                  else (J, rules.flatten(layer.i, layer.n))]
        return lhs, f"claim: an entry formula of T ({layer.dims}-D)"
    taps = ((layer.c, *layer.t), (C, *layer.k)) if channels else (layer.t, layer.k)
    if order == "paper":
        taps = ((*layer.t, layer.c), (*layer.k, C)) if channels else taps
        lhs = sp.IndexedBase("P")[J, rules.flatten(*taps)]
    else:
        lhs = sp.IndexedBase("P")[rules.flatten(*taps), J]
    return lhs, f"claim: an entry formula of the im2col matrix P ({order} order, {layer.dims}-D)"


def _claim_hypotheses(layer: Layer, form: str, channels: bool, assume: dict) -> list[sp.Basic]:
    """The sizes' hypotheses (one channel unless ``channels``), the assumptions, and the
    ranges of the row and column indices of the claimed entry."""
    hypotheses = layer.size_hypotheses()
    if channels:
        hypotheses += [sp.Le(0, layer.g), sp.Le(layer.g, layer.G - 1), sp.Le(0, layer.h),
                       sp.Le(layer.h, layer.Co - 1), sp.Le(0, layer.c), sp.Le(layer.c, layer.G * layer.Ci - 1)]
    else:
        hypotheses = [h.xreplace(_channel_free(layer)) for h in hypotheses]
    hypotheses = [h for h in hypotheses if h is not sp.true]
    hypotheses += [sp.Eq(k, v) for k, v in assume.items()]
    for j, m in zip(layer.j, layer.m):
        hypotheses += [sp.Le(0, j), sp.Le(j, m - 1)]
    second = layer.i if form == "toeplitz" else layer.t
    bound = layer.n if form == "toeplitz" else layer.k
    for i, n in zip(second, bound):
        hypotheses += [sp.Le(0, i), sp.Le(i, n - 1)]
    return hypotheses


__all__ = ["check_claim", "normal_form", "reference_entry", "symbols_for"]
