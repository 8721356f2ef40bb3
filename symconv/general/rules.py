"""The named rules of general derivations. Each rule rewrites an expression structurally and
raises ``RuleError`` when its side condition fails; the engine (``derivation``) then compares
the rewritten expression with the step's stated right-hand side by canonical form.

    definition            unfold base[…] by its defining formula (also: substitution of an
                          entry formula); a flat index must equal the mixed-radix value of the
                          digits it is unfolded at
    mixed_radix           Σ_{C=0}^{∏r−1} f(C) = Σ_{a_1<r_1} … Σ_{a_D<r_D} f(Σ_a a_a·∏_{b>a} r_b),
                          with ⌊C/∏_{b>1} r_b⌋ ↦ a_1 and C mod ∏_{b>1} r_b ↦ the rest
                          (division with remainder is a bijection; radices integer-valued
                          and ≥ 1 by hypothesis)
    exchange              Σ_A Σ_B f = Σ_B Σ_A f when no bound depends on a summation variable
                          (rectangular index set), after linearity Σ(a+b)=Σa+Σb, c·Σf=Σc·f;
                          the new order is listed as SymPy's Sum(f, *limits) lists limits:
                          innermost first (so are the digits of mixed_radix)
    delta_elimination     Σ_{u=lo}^{hi} δ(u, e)·f(u) = [lo ≤ e ≤ hi]·f(e), e free of u
                          (δ(a, b) with a − b = ±u + r solved for u); u runs over the
                          integers of [lo, hi], so e must be integer-valued (u = i/2 never
                          meets an odd i) — under the hypotheses and the term's summation
                          ranges (an empty range makes both sides 0) — and lo, hi too
    zero_extension        x[c, u]·Π_a [0 ≤ u_a ≤ n_a − 1] = x̃[c, u] (the zero-padded input)
    hypotheses            [cond] = 1 when every atom of cond follows from the hypotheses and
                          the enclosing summation ranges (``arith.implied``)
    remainder_bounds      [0 ≤ u mod n ≤ n − 1] = 1 for integer-valued u, n with n ≥ 1
                          (division with remainder: each u mod n becomes a fresh r with
                          0 ≤ r ≤ n − 1, then ``arith.implied``; for u = 1/2, n = 1 it is 1/2)
    remainder             u mod n = u − n·⌊u/n⌋ for n ≥ 1 (SymPy's definition of mod, for
                          any real u)
    periodicity           z^{n·q + r} = z^r when z^n = 1 is a hypothesis (n integer-valued,
                          n ≥ 1), the exponent is integer-valued and q is an integer
    exponent_split        z^{a + b} = z^a·z^b for integer-valued a, b when z^n = 1 (n ≥ 1) is
                          a hypothesis, so z is a unit

Integrality is ``arith.integer_valued`` (structural; tensor entries are not integers) and every
inequality side condition is ``arith.implied`` (a certificate and z3, see ``arith``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod

import sympy as sp

from .arith import implied, integer_valued, normal_relation
from .expr import Iverson, in_range, relations, relations_condition, rename_apart, same, substitute


class RuleError(ValueError):
    """A rule's side condition failed (the message says which)."""


Limit = tuple[sp.Symbol, sp.Expr, sp.Expr]


# ---- sums as (monomial, limits) terms ---------------------------------------------------------
def terms(expr: sp.Basic) -> list[tuple[sp.Expr, list[Limit]]]:
    """expr = Σ_terms Σ_limits monomial (linearity of finite sums), limits outermost first
    (SymPy's Sum(f, *limits) lists them innermost first). Names are kept unless two
    would meet: an inner sum's variable that is already bound outside, or a factor's summation
    variable that another factor uses (bound or free), is renamed apart first
    (``expr.rename_apart``), so flattening never captures a variable.

    >>> t, i = sp.symbols("t i", integer=True)
    >>> w = sp.IndexedBase("w")
    >>> [(m, [l[0] for l in ls]) for m, ls in terms(sp.Sum(w[t], (t, 0, 1)) * w[t])][0][1] != [t]
    True
    """
    expr = sp.sympify(expr, strict=True)
    if isinstance(expr, sp.Sum):
        outer = [tuple(l) for l in reversed(expr.limits)]  # SymPy: the first limit is innermost
        names = {l[0] for l in outer}
        return [(m, outer + inner) for m, inner in
                (rename_apart(m, inner, names) for m, inner in terms(expr.function))]
    if isinstance(expr, sp.Add):
        return [t for a in expr.args for t in terms(a)]
    if isinstance(expr, sp.Mul):
        result: list[tuple[sp.Expr, list[Limit]]] = [(sp.Integer(1), [])]
        for index, factor in enumerate(expr.args):
            others = set().union(*(f.free_symbols for n, f in enumerate(expr.args) if n != index))
            parts = [rename_apart(m2, l2, others | {l[0] for _, l1 in result for l in l1})
                     for m2, l2 in terms(factor)]
            result = [(m1 * m2, l1 + l2) for m1, l1 in result for m2, l2 in parts]
        return result
    return [(expr, [])]


def from_terms(items: Sequence[tuple[sp.Expr, Sequence[Limit]]]) -> sp.Expr:
    """The sum of Σ_limits m (limits outermost first, as ``terms`` lists them)."""
    return sp.Add(*(sp.Sum(m, *reversed(limits)) if limits else m for m, limits in items))


# ---- definitions -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Definition:
    """base[slot_1, …] := body, each slot the mixed-radix value of its digits.

    ``slots`` lists, per index position, the digit symbols and their radices (a single digit
    with radix None for an ordinary index).
    """

    base: sp.IndexedBase
    slots: tuple[tuple[tuple[sp.Symbol, sp.Expr | None], ...], ...]
    body: sp.Expr
    text: str = ""

    @property
    def name(self) -> str:
        return str(self.base.label)

    def flat(self, slot: int, digits: Sequence[sp.Expr]) -> sp.Expr:
        radices = [r for _, r in self.slots[slot]]
        return flatten(digits, radices)


class Definitions(dict):
    """The definitions of a theorem by name (``Definition.name``, the tensor's label), looked
    up by the tensor itself with ``of``.

    >>> T = sp.IndexedBase("T")
    >>> Definitions({"T": Definition(T, (), sp.Integer(0))}).of(T).text
    ''
    """

    def of(self, base: sp.IndexedBase) -> Definition:
        """The definition of the tensor ``base``."""
        return self[str(base.label)]

    def add(self, definition: Definition) -> Definition:
        """Define (or redefine) ``definition.base``; returns the definition."""
        self[definition.name] = definition
        return definition


def flatten(digits: Sequence[sp.Expr], radices: Sequence[sp.Expr | None]) -> sp.Expr:
    """Σ_a digit_a · ∏_{b>a} radix_b (row-major mixed radix)."""
    total = sp.Integer(0)
    for a, digit in enumerate(digits):
        total += digit * prod(radices[a + 1:], start=sp.Integer(1))
    return total


def unfold(expr: sp.Basic, definition: Definition,
           digits: Sequence[Sequence[sp.Expr]] | None = None) -> sp.Basic:
    """Replace every definition.base[…] by the body at the given digits (checked)."""
    def replace(entry: sp.Indexed) -> sp.Expr:
        values: dict[sp.Symbol, sp.Expr] = {}
        for slot, index in enumerate(entry.indices):
            symbols = [s for s, _ in definition.slots[slot]]
            if len(symbols) == 1:
                values[symbols[0]] = index
                continue
            if digits is None:
                raise RuleError(f"{entry}: give the digits of index {index}")
            if not same(index, definition.flat(slot, digits[slot])):
                raise RuleError(f"{entry}: index {index} is not the mixed-radix value "
                                f"{definition.flat(slot, digits[slot])} of its digits")
            values.update(zip(symbols, digits[slot]))
        return substitute(definition.body, values)
    found = {e for e in sp.sympify(expr, strict=True).atoms(sp.Indexed) if e.base == definition.base}
    return sp.sympify(expr, strict=True).xreplace({e: replace(e) for e in found})


# ---- rules -------------------------------------------------------------------------------------
def _summed(limits: Sequence[Limit], var: sp.Symbol) -> tuple[int, sp.Expr, sp.Expr]:
    """(position, low, high) of the sum over var; no other bound may depend on var."""
    position = [l[0] for l in limits].index(var)
    if any(l[1].has(var) or l[2].has(var) for l in limits):
        raise RuleError(f"a summation bound depends on {var}")
    _, lo, hi = limits[position]
    return position, lo, hi


def mixed_radix(expr: sp.Basic, var: sp.Symbol, digits: Sequence[sp.Symbol],
                radices: Sequence[sp.Expr], atoms: Sequence[sp.Expr]) -> sp.Expr:
    for r in radices:
        if not integer_valued(r, atoms):
            raise RuleError(f"radix {r} is not integer-valued")
        ok, why = implied(r - 1, atoms)
        if not ok:
            raise RuleError(f"radix {r} ≥ 1 does not follow from the hypotheses ({why})")
    value = flatten(digits, radices)
    # division with remainder at every split: ⌊C/∏_{b≥s} r_b⌋ and C mod ∏_{b≥s} r_b
    splits = [(prod(radices[s:], start=sp.Integer(1)), flatten(digits[:s], radices[:s]),
               flatten(digits[s:], radices[s:])) for s in range(1, len(digits))]
    out = []
    for m, limits in terms(expr):
        names = [l[0] for l in limits]
        if var not in names:
            out.append((m, limits))
            continue
        position, lo, hi = _summed(limits, var)
        if lo != 0 or not same(hi, prod(radices, start=sp.Integer(1)) - 1):
            raise RuleError(f"the range of {var} is [{lo}, {hi}], not [0, {prod(radices) - 1}]")
        for low, high_part, low_part in splits:
            m = m.replace(lambda e, low=low: isinstance(e, sp.floor) and same(e.args[0], var / low),
                          lambda e, high_part=high_part: high_part)
            m = m.replace(lambda e, low=low: isinstance(e, sp.Mod) and e.args[0] == var
                          and same(e.args[1], low), lambda e, low_part=low_part: low_part)
        # digits listed as a Sum lists its limits (SymPy: innermost first), like ``order``
        new_limits = [(d, sp.Integer(0), r - 1) for d, r in zip(digits, radices)][::-1]
        out.append((substitute(m, {var: value}), limits[:position] + new_limits + limits[position + 1:]))
    return from_terms(out)


def exchange(expr: sp.Basic, order: Sequence[sp.Symbol]) -> sp.Expr:
    out = []
    for m, limits in terms(expr):
        names = [l[0] for l in limits]
        if not limits:
            out.append((m, limits))
            continue
        bound = set(names)
        for v, lo, hi in limits:
            if (lo.free_symbols | hi.free_symbols) & bound:
                raise RuleError(f"the range of {v} depends on a summation variable")
        ranked = [v for v in order if v in bound]
        if len(ranked) != len(bound):
            raise RuleError(f"the order {list(order)} does not list the sums {names}")
        by_name = dict(zip(names, limits))
        # ``order`` lists the sums as Sum(f, *limits) does: innermost first
        out.append((m, [by_name[v] for v in reversed(ranked)]))
    return from_terms(out)


def delta_elimination(expr: sp.Basic, variables: Sequence[sp.Symbol],
                      atoms: Sequence[sp.Expr] = ()) -> sp.Expr:
    result = expr
    for var in variables:
        out, used = [], False
        for m, limits in terms(result):
            names = [l[0] for l in limits]
            if var not in names:
                out.append((m, limits))
                continue
            position, lo, hi = _summed(limits, var)
            local = list(atoms) + _range_atoms(limits)
            for factor in sp.Mul.make_args(m):
                if isinstance(factor, sp.KroneckerDelta) and factor.has(var):
                    e = sp.expand(factor.args[0] - factor.args[1])
                    coefficient = e.coeff(var)
                    remainder = sp.expand(e - coefficient * var)
                    if coefficient in (1, -1) and not remainder.has(var):
                        value = sp.expand(-remainder / coefficient)
                        for bound in (value, lo, hi):
                            if not integer_valued(bound, local):
                                raise RuleError(f"{bound} is not integer-valued, so "
                                                f"δ({var}, {value}) cannot be eliminated")
                        rest = substitute(m / factor, {var: value})
                        out.append((rest * in_range(value, lo, hi),
                                    limits[:position] + limits[position + 1:]))
                        used = True
                        break
            else:
                raise RuleError(f"no factor δ(…) with {var} at coefficient ±1 in {m}")
        if not used:
            raise RuleError(f"no sum over {var}")
        result = from_terms(out)
    return result


def _range_atoms(limits: Sequence[Limit]) -> list[sp.Expr]:
    """v − lo ≥ 0 and hi − v ≥ 0 for every summation variable v of a term."""
    return [a for v, lo, hi in limits for a in (v - lo, hi - v)]


def zero_extension(expr: sp.Basic, x: sp.IndexedBase, padded: sp.IndexedBase,
                   sizes: Sequence[sp.Expr]) -> sp.Expr:
    out, used = [], False
    for m, limits in terms(expr):
        factors = list(sp.Mul.make_args(m))
        entries = [f for f in factors if isinstance(f, sp.Indexed) and f.base == x]
        if not entries:
            out.append((m, limits))
            continue
        brackets = [f for f in factors if isinstance(f, Iverson)]
        rels = [r for f in brackets for r in _relations(f)]
        for entry in entries:
            positions = entry.indices[1:]
            needed = [normal_relation(u) for u in positions] + \
                     [normal_relation(n - 1 - u) for u, n in zip(positions, sizes)]
            for atom in needed:
                match = next((r for r in rels if r[1] == atom[1]
                              and sp.expand(r[0] - atom[0]) == 0), None)
                if match is None:
                    raise RuleError(f"{entry}: the range condition {atom[0]} ≥ 0 is not a factor")
                rels.remove(match)
            factors[factors.index(entry)] = padded[entry.indices]
            used = True
        rest = [f for f in factors if not isinstance(f, Iverson)]
        remaining = Iverson(relations_condition(rels)) if rels else 1
        out.append((sp.Mul(*rest) * remaining, limits))
    if not used:
        raise RuleError(f"no entry of {x} to extend")
    return from_terms(out)


def _relations(bracket: Iverson) -> list[tuple[sp.Expr, bool]]:
    """``relations`` of a bracket's condition, RuleError when it is not a conjunction."""
    try:
        return relations(bracket.args[0])
    except ValueError as error:
        raise RuleError(str(error)) from None


def _goals(bracket: Iverson, replace: dict | None = None) -> list[sp.Expr]:
    """The bracket's relations as goals e ≥ 0 (after ``replace``, e.g. u mod n ↦ r); a strict
    relation that is not an integer one (e > 0 ⟺ e − 1 ≥ 0 needs e ∈ ℤ) is a RuleError."""
    goals = []
    for e, strict in _relations(bracket):
        e, strict = normal_relation(e.xreplace(replace or {}), strict)
        if strict:
            raise RuleError(f"{e} > 0 is not an integer relation")
        goals.append(e)
    return goals


def _discharge_brackets(expr: sp.Basic, atoms: Sequence[sp.Expr], prepare, nothing: str) -> sp.Expr:
    """Drop every bracket [cond] whose atoms follow (``arith.implied``) from the atoms and the
    enclosing summation ranges; ``prepare(factor, local)`` gives (goals, known atoms), or None
    for a factor that stays."""
    out, used = [], False
    for m, limits in terms(expr):
        local = list(atoms) + _range_atoms(limits)
        factors = []
        for factor in sp.Mul.make_args(m):
            prepared = prepare(factor, local) if isinstance(factor, Iverson) else None
            if prepared is None:
                factors.append(factor)
                continue
            goals, known = prepared
            failed = [f"{g} ({why})" for g in goals for ok, why in [implied(g, known)] if not ok]
            if failed:
                raise RuleError(f"{' , '.join(failed)}: ≥ 0 does not follow from the hypotheses")
            used = True
        out.append((sp.Mul(*factors), limits))
    if not used:
        raise RuleError(nothing)
    return from_terms(out)


def discharge(expr: sp.Basic, atoms: Sequence[sp.Expr]) -> sp.Expr:
    return _discharge_brackets(expr, atoms, lambda factor, local: (_goals(factor), local),
                               "no bracket to discharge")


# ---- division with remainder and powers of roots of unity -------------------------------------
def _divisor_positive(n: sp.Expr, atoms: Sequence[sp.Expr]) -> None:
    ok, why = implied(n - 1, atoms)
    if not ok:
        raise RuleError(f"{n} ≥ 1 does not follow from the hypotheses ({why})")


def remainder_bounds(expr: sp.Basic, atoms: Sequence[sp.Expr]) -> sp.Expr:
    def prepare(factor, local):
        mods = sorted(factor.atoms(sp.Mod), key=sp.default_sort_key)
        if not mods:
            return None
        remainders = {mod: sp.Symbol(f"{mod} ", integer=True) for mod in mods}
        known = list(local)
        for mod, r in remainders.items():
            _divisor_positive(mod.args[1], local)
            if not all(integer_valued(a, local) for a in mod.args):
                raise RuleError(f"{mod}: 0 ≤ u mod n ≤ n − 1 needs integer-valued u and n")
            known += [r, mod.args[1] - 1 - r]  # 0 ≤ u mod n ≤ n − 1
        return _goals(factor, remainders), known
    return _discharge_brackets(expr, atoms, prepare, "no bracket with a remainder u mod n")


def remainder(expr: sp.Basic, atoms: Sequence[sp.Expr]) -> sp.Expr:
    mods = sp.sympify(expr, strict=True).atoms(sp.Mod)
    if not mods:
        raise RuleError("no remainder u mod n")
    for mod in mods:
        _divisor_positive(mod.args[1], atoms)
    u_of = {mod: mod.args[0] - mod.args[1] * sp.floor(mod.args[0] / mod.args[1]) for mod in mods}
    return sp.sympify(expr, strict=True).xreplace(u_of)


def unit_order(z: sp.Symbol, hypotheses: Sequence[sp.Basic], atoms: Sequence[sp.Expr]) -> sp.Expr:
    """n with the hypothesis z^n = 1 and n ≥ 1 (so z is a unit, z^{−1} = z^{n−1}); RuleError else."""
    for h in hypotheses:
        if isinstance(h, sp.Eq) and h.rhs == 1 and isinstance(h.lhs, sp.Pow) and h.lhs.base == z:
            if not integer_valued(h.lhs.exp, atoms):
                raise RuleError(f"the order {h.lhs.exp} of {z} is not integer-valued")
            _divisor_positive(h.lhs.exp, atoms)
            return h.lhs.exp
    raise RuleError(f"{z}^n = 1 is not a hypothesis")


def _powers(expr: sp.Basic, z: sp.Symbol, atoms: Sequence[sp.Expr]) -> list[sp.Pow]:
    found = [e for e in sp.sympify(expr, strict=True).atoms(sp.Pow) if e.base == z]
    for power in found:
        if not integer_valued(power.exp, atoms):
            raise RuleError(f"the exponent of {power} is not an integer")
    return found


def periodicity(expr: sp.Basic, bases: Sequence[sp.Symbol], hypotheses: Sequence[sp.Basic],
                atoms: Sequence[sp.Expr]) -> sp.Expr:
    replaced = {}
    for z in bases:
        n = unit_order(z, hypotheses, atoms)
        for power in _powers(expr, z, atoms):
            kept, dropped = [], []
            for term in sp.Add.make_args(sp.expand(power.exp)):
                quotient = sp.expand(term / n)
                multiple = n in sp.Mul.make_args(term) and integer_valued(quotient, atoms)
                (dropped if multiple else kept).append(term)
            if dropped:
                replaced[power] = sp.Pow(z, sp.Add(*kept))
    if not replaced:
        raise RuleError(f"no power of {list(bases)} with a multiple of its order in the exponent")
    return sp.sympify(expr, strict=True).xreplace(replaced)


def exponent_split(expr: sp.Basic, parts: dict[sp.Symbol, sp.Expr],
                   hypotheses: Sequence[sp.Basic], atoms: Sequence[sp.Expr]) -> sp.Expr:
    replaced = {}
    for z, a in parts.items():
        unit_order(z, hypotheses, atoms)
        if not integer_valued(a, atoms):
            raise RuleError(f"{a} is not an integer")
        for power in _powers(expr, z, atoms):
            rest = sp.expand(power.exp - a)
            if rest != 0:
                replaced[power] = sp.Pow(z, a) * sp.Pow(z, rest)
    if not replaced:
        raise RuleError(f"no power of {list(parts)} to split")
    return sp.sympify(expr, strict=True).xreplace(replaced)
