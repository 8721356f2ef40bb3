"""The expression language of general derivations and its canonical form.

Expressions are SymPy trees over *integer* symbols (``integer=True`` only — never
``nonnegative=True``, which makes ``Sum.change_index`` drop conditions) built from finite
``Sum``s, ``KroneckerDelta``, the Iverson bracket ``Iverson(cond)`` = [cond] ∈ {0, 1},
``Indexed`` tensor entries, ``floor``, ``Mod`` and the padding maps ``SourceMap``.

``canonical(e)`` is the form in which two expressions are compared (``same``):

* every ``Sum`` is flattened to one multi-limit ``Sum`` over an expanded monomial
  (Σ_a Σ_b f = Σ_{a,b} f, c·Σ f = Σ c·f, Σ (f + g) = Σ f + Σ g: linearity of finite sums);
* bound variables are renamed by their position (α-equivalence), limits keep their order —
  reordering needs the rule "exchange of finite sums", which checks its side condition;
* δ(a, b) becomes δ(±expand(a − b), 0), [cond] a conjunction of atoms ``e ≥ 0`` with e
  expanded (over the integers e > 0 ⟺ e − 1 ≥ 0), ``Piecewise((v, c), (0, True))`` = v·[c];
* tensor indices, floor and Mod arguments and exponents are expanded.

Two expressions with the same canonical form are equal (each normalisation is an identity of
integer arithmetic); different forms prove nothing — that is when a derivation searches for a
concrete counterexample. ``simplify`` is never used.
"""

from __future__ import annotations

from itertools import count

import sympy as sp
from sympy.logic.boolalg import BooleanFalse, BooleanTrue


def integer_symbols(names: str) -> tuple[sp.Symbol, ...]:
    """Integer symbols (integer=True only, see the module docstring)."""
    made = sp.symbols(names, integer=True, seq=True)
    return tuple(made)


class Iverson(sp.Function):
    """The Iverson bracket [cond]: 1 if cond holds, else 0."""

    is_integer = True
    nargs = 1

    @classmethod
    def eval(cls, cond):
        if isinstance(cond, BooleanTrue) or cond is sp.true:
            return sp.Integer(1)
        if isinstance(cond, BooleanFalse) or cond is sp.false:
            return sp.Integer(0)
        return None

    def _latex(self, printer):
        return r"\left[" + latex_condition(self.args[0], printer) + r"\right]"


class SourceMap(sp.Function):
    """src(u, n) of a padding mode, one opaque integer function whose case table is
    ``piecewise()``. SymPy folds a Piecewise inside a Sum into Piecewise-of-products (and
    could pull conditions on the summation dummy out of the sum), so the table never enters
    the derivation's tree: only the evaluator and the case-split lemma open it."""

    is_integer = True
    nargs = 2
    symbol = "src"

    @staticmethod
    def table(u: sp.Expr, n: sp.Expr) -> sp.Expr:
        raise NotImplementedError

    def piecewise(self) -> sp.Expr:
        return self.table(*self.args)

    def _latex(self, printer):
        u, n = (printer._print(a) for a in self.args)
        return rf"\operatorname{{{self.symbol}}}_{{{n}}}\left({u}\right)"


class Reflect(SourceMap):
    """Mirror without repeating the edge: −u if u < 0, 2(n − 1) − u if u ≥ n, else u."""

    symbol = "refl"

    @staticmethod
    def table(u, n):
        return sp.Piecewise((-u, u < 0), (2 * (n - 1) - u, u >= n), (u, True))


class Replicate(SourceMap):
    """Clamp to the input: 0 if u < 0, n − 1 if u ≥ n, else u."""

    symbol = "clamp"

    @staticmethod
    def table(u, n):
        return sp.Piecewise((0, u < 0), (n - 1, u >= n), (u, True))


def claimed_map(formula: sp.Expr, u: sp.Symbol, n: sp.Symbol) -> type[SourceMap]:
    """A SourceMap class whose table is a user's formula in the symbols u and n."""
    table = staticmethod(lambda a, b: sp.sympify(formula).xreplace({u: a, n: b}))
    return type("ClaimedSource", (SourceMap,), {"table": table, "symbol": "src"})


def in_range(u: sp.Expr, low: sp.Expr, high: sp.Expr) -> sp.Expr:
    """[low ≤ u ≤ high]."""
    return Iverson(sp.And(sp.Le(low, u, evaluate=False), sp.Le(u, high, evaluate=False)))


def latex_condition(cond: sp.Basic, printer) -> str:
    """``a \\le u \\le b`` for the chained range of ``in_range``, else SymPy's printing."""
    if isinstance(cond, sp.And) and len(cond.args) == 2:
        first, second = cond.args
        for lo, hi in ((first, second), (second, first)):
            if isinstance(lo, sp.Le) and isinstance(hi, sp.Le) and lo.rhs == hi.lhs:
                return (f"{printer._print(lo.lhs)} \\le {printer._print(lo.rhs)} "
                        f"\\le {printer._print(hi.rhs)}")
    if isinstance(cond, sp.And):
        return r" \wedge ".join(latex_condition(a, printer) for a in cond.args)
    return printer._print(cond)


def brackets(expr: sp.Basic) -> sp.Basic:
    """Piecewise((v, cond), (0, True)) → v·[cond] everywhere in expr (the same function)."""
    return sp.sympify(expr).replace(
        lambda e: isinstance(e, sp.Piecewise) and len(e.args) == 2
        and e.args[1].cond == sp.true and e.args[1].expr == 0,
        lambda e: e.args[0].expr * Iverson(e.args[0].cond))


# ---- conditions -------------------------------------------------------------------------------
def condition_atoms(cond: sp.Basic) -> list[sp.Expr]:
    """A conjunction of integer (in)equalities as atoms e with the meaning e ≥ 0.

    ``Eq(a, b)`` gives the two atoms a − b ≥ 0 and b − a ≥ 0. Raises ValueError for anything
    else (disjunctions, negations), which the callers treat as "not in canonical form".
    """
    if cond is sp.true:
        return []
    if isinstance(cond, sp.And):
        return [atom for arg in cond.args for atom in condition_atoms(arg)]
    if isinstance(cond, (sp.Ge, sp.Gt, sp.Le, sp.Lt, sp.Eq)):
        a, b = cond.lhs, cond.rhs
        if isinstance(cond, sp.Ge):
            return [sp.expand(a - b)]
        if isinstance(cond, sp.Gt):
            return [sp.expand(a - b - 1)]
        if isinstance(cond, sp.Le):
            return [sp.expand(b - a)]
        if isinstance(cond, sp.Lt):
            return [sp.expand(b - a - 1)]
        return [sp.expand(a - b), sp.expand(b - a)]
    raise ValueError(f"not a conjunction of integer (in)equalities: {cond}")


def atoms_condition(atoms: list[sp.Expr]) -> sp.Basic:
    """The conjunction of ``atom ≥ 0`` (atoms deduplicated and sorted)."""
    unique = sorted({sp.expand(a) for a in atoms}, key=sp.default_sort_key)
    return sp.And(*(sp.Ge(a, 0) for a in unique))


# ---- canonical form ----------------------------------------------------------------------------
_BOUND = {}


def _bound(position: int) -> sp.Symbol:
    """The canonical name of the bound variable at nesting position ``position``."""
    if position not in _BOUND:
        _BOUND[position] = sp.Symbol(f"_b{position}", integer=True)
    return _BOUND[position]


_fresh = count()


def _freshen(s: sp.Sum) -> sp.Sum:
    """The same Sum with its dummies renamed apart (before merging two Sums into one)."""
    mapping = {lim[0]: sp.Symbol(f"_f{next(_fresh)}", integer=True) for lim in s.limits}
    body = s.function.xreplace(mapping)
    limits = [(mapping[v], lo.xreplace(mapping), hi.xreplace(mapping)) for v, lo, hi in s.limits]
    return sp.Sum(body, *limits)


def _merge_product(term: sp.Expr) -> sp.Expr:
    """c · Σ_A f · Σ_B g → Σ_{A,B} c·f·g (dummies renamed apart first)."""
    factors = sp.Mul.make_args(term)
    sums = [f for f in factors if isinstance(f, sp.Sum)]
    if not sums:
        return term
    rest = sp.Mul(*(f for f in factors if not isinstance(f, sp.Sum)))
    limits, body = [], rest
    for s in sums:
        s = _freshen(s)
        limits += list(s.limits)
        body = body * s.function
    return sp.Sum(sp.expand(body), *limits)


def canonical(expr: sp.Basic, depth: int = 0) -> sp.Basic:
    """The canonical form described in the module docstring."""
    expr = sp.sympify(expr)
    if isinstance(expr, sp.Sum):
        mapping, limits = {}, []
        for position, (v, lo, hi) in enumerate(expr.limits):
            new = _bound(depth + position)
            limits.append((new, canonical(lo.xreplace(mapping), depth),
                           canonical(hi.xreplace(mapping), depth)))
            mapping[v] = new
        body = canonical(expr.function.xreplace(mapping), depth + len(limits))
        terms = []
        for term in sp.Add.make_args(sp.expand(body)):
            if isinstance(term, sp.Sum):
                inner = _freshen(term)
                renamed = sp.Sum(inner.function, *limits, *inner.limits)
            else:
                renamed = sp.Sum(term, *limits)
            terms.append(renamed)
        # one more pass renames the merged limits by position
        return sp.Add(*(_finish(t, depth) for t in terms))
    if isinstance(expr, (sp.Add, sp.Mul)):
        parts = [canonical(a, depth) for a in expr.args]
        combined = sp.expand(sp.Add(*parts) if isinstance(expr, sp.Add) else sp.Mul(*parts))
        merged = [_merge_product(_merge_brackets(t)) for t in sp.Add.make_args(combined)]
        return sp.Add(*(_finish(t, depth) if isinstance(t, sp.Sum) else t for t in merged))
    if isinstance(expr, sp.Pow):
        # z^a·z^b and z^{a+b} stay different forms (SymPy neither splits nor merges symbolic
        # exponents of a base that may be 0): that identity is the rule "exponent rule"
        return sp.expand(sp.Pow(canonical(expr.base, depth), sp.expand(canonical(expr.exp, depth))))
    if isinstance(expr, sp.KroneckerDelta):
        e = sp.expand(canonical(expr.args[0], depth) - canonical(expr.args[1], depth))
        if e.could_extract_minus_sign():
            e = -e
        return sp.KroneckerDelta(e, 0)
    if isinstance(expr, Iverson):
        return canonical_iverson(expr.args[0], depth)
    if isinstance(expr, sp.Piecewise):
        if len(expr.args) == 2 and expr.args[1].cond is sp.true and expr.args[1].expr == 0:
            value, cond = expr.args[0]
            return canonical(sp.Mul(value, Iverson(cond), evaluate=False), depth)
        return sp.Piecewise(*((canonical(v, depth), c) for v, c in expr.args))
    if isinstance(expr, sp.Indexed):
        return expr.base[tuple(sp.expand(canonical(i, depth)) for i in expr.indices)]
    if isinstance(expr, (sp.floor, sp.Mod, SourceMap)) or isinstance(expr, sp.core.function.AppliedUndef):
        return expr.func(*(sp.expand(canonical(a, depth)) for a in expr.args))
    return expr


def _merge_brackets(term: sp.Expr) -> sp.Expr:
    """[a]·[b] = [a ∧ b] (both already canonical conjunctions)."""
    factors = sp.Mul.make_args(term)
    brackets = [f for f in factors if isinstance(f, Iverson)]
    if len(brackets) < 2:
        return term
    atoms = [a for b in brackets for a in condition_atoms(b.args[0])]
    rest = sp.Mul(*(f for f in factors if not isinstance(f, Iverson)))
    return rest * Iverson(atoms_condition(atoms))


def _finish(s: sp.Sum, depth: int) -> sp.Expr:
    """Rename the limits by position and pull the numeric coefficient out: 2·Σ f, so that
    like terms combine (Σ 2f − 2·Σ f = 0)."""
    renamed = _rename(s, depth)
    coefficient, rest = renamed.function.as_coeff_Mul()
    return coefficient * sp.Sum(rest, *renamed.limits)


def _rename(s: sp.Sum, depth: int) -> sp.Basic:
    mapping = {}
    limits = []
    for position, (v, lo, hi) in enumerate(s.limits):
        new = _bound(depth + position)
        limits.append((new, lo.xreplace(mapping), hi.xreplace(mapping)))
        mapping[v] = new
    return sp.Sum(s.function.xreplace(mapping), *limits)


def canonical_iverson(cond: sp.Basic, depth: int = 0) -> sp.Expr:
    try:
        atoms = condition_atoms(cond)
    except ValueError:
        return Iverson(cond)
    atoms = [sp.expand(canonical(a, depth)) for a in atoms]
    if any(a.is_number and a < 0 for a in atoms):
        return sp.Integer(0)
    atoms = [a for a in atoms if not a.is_number]
    return Iverson(atoms_condition(atoms)) if atoms else sp.Integer(1)


def same(a: sp.Basic, b: sp.Basic) -> bool:
    """a and b have the same canonical form (hence are equal); False proves nothing."""
    return sp.expand(canonical(a) - canonical(b)) == 0
