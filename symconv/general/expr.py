"""The expression language of general derivations and its canonical form.

Expressions are SymPy trees over *integer* symbols (``integer=True`` only — never
``nonnegative=True``, which makes ``Sum.change_index`` drop conditions) built from finite
``Sum``s, ``KroneckerDelta``, the Iverson bracket ``Iverson(cond)`` = [cond] ∈ {0, 1},
``Indexed`` tensor entries, ``floor``, ``Mod`` and the padding maps ``SourceMap``.
Σ_{u=lo}^{hi} is the sum over the integers lo ≤ u ≤ hi (0 when hi < lo, as the evaluator
computes it; SymPy's Karr convention agrees only when hi ≥ lo − 1, so user claims must
have such limits). As in SymPy, Sum(f, l_1, …, l_r) lists its limits innermost first.
Tensor entries and plain symbols are not integers.

``canonical(e)`` is the form in which two expressions are compared (``same``):

* every ``Sum`` is flattened to one multi-limit ``Sum`` over an expanded monomial
  (Σ_a Σ_b f = Σ_{a,b} f, c·Σ f = Σ c·f, Σ (f + g) = Σ f + Σ g: linearity of finite sums);
* bound variables are renamed by their position (α-equivalence), limits keep their order —
  reordering needs the rule "exchange of finite sums", which checks its side condition;
* δ(a, b) becomes δ(±expand(a − b), 0) (a = b ⟺ a − b = 0, for any values);
* [cond] becomes the bracket of a conjunction of relations e ≥ 0 or e > 0 in the normal form
  of ``arith.normal_relation``: e divided by the positive gcd of its rational coefficients (an
  identity for real values), and a strict e > 0 turned into e′ ≥ 0 by the integer shift only
  when every monomial of e is integer-valued (``arith.integer_valued``), after clearing the
  denominators — so [n > 17/2] = [n − 9 ≥ 0] ≠ [n − 10 ≥ 0] = [n ≥ 19/2], and [w > 0] stays
  strict; ``Piecewise((v, c), (0, True))`` = v·[c]; [a]·[b] = [a ∧ b];
* tensor indices, floor and Mod arguments and exponents are expanded.

Two expressions with the same canonical form are equal (each normalisation is an identity, the
integer shift under its integrality condition); different forms prove nothing — that is when
a derivation searches for a concrete counterexample. ``simplify`` is never used.

>>> n = integer_symbols("n")[0]
>>> half = sp.Rational(17, 2)
>>> same(Iverson(n > half), Iverson(n >= 9)), same(Iverson(n > half), Iverson(n >= half + 1))
(True, False)
"""

from __future__ import annotations

from itertools import count

import sympy as sp
from sympy.logic.boolalg import BooleanFalse, BooleanTrue

from .arith import integer_valued, normal_relation
from .budget import LimitExceeded, check_deadline


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

    def integer_valued(self, atoms=()) -> bool:
        """Its values are 0 and 1 (``arith.integer_valued``)."""
        return True

    def _latex(self, printer):
        return r"\left[" + latex_condition(self.args[0], printer) + r"\right]"


class SourceMap(sp.Function):
    """src(u, n) of a padding mode, one opaque integer function whose case table is
    ``piecewise()``. SymPy folds a Piecewise inside a Sum into Piecewise-of-products (and
    could pull conditions on the summation dummy out of the sum), so the table never enters
    the derivation's tree: only the evaluator and the case-split lemma open it."""

    nargs = 2
    symbol = "src"

    @staticmethod
    def table(u: sp.Expr, n: sp.Expr) -> sp.Expr:
        raise NotImplementedError

    def piecewise(self) -> sp.Expr:
        return self.table(*self.args)

    def integer_valued(self, atoms=()) -> bool:
        """Every value of its case table is integer-valued (a claimed map may not be)."""
        return integer_valued(self.piecewise(), atoms)

    def _eval_is_integer(self):
        return True if self.integer_valued() else None

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
    table = staticmethod(lambda a, b: sp.sympify(formula, strict=True).xreplace({u: a, n: b}))
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
    return sp.sympify(expr, strict=True).replace(
        lambda e: isinstance(e, sp.Piecewise) and len(e.args) == 2
        and e.args[1].cond == sp.true and e.args[1].expr == 0,
        lambda e: e.args[0].expr * Iverson(e.args[0].cond))


# ---- conditions -------------------------------------------------------------------------------
def relations(cond: sp.Basic) -> list[tuple[sp.Expr, bool]]:
    """A conjunction of (in)equalities as relations (e, strict), meaning e > 0 if strict else
    e ≥ 0, each in ``arith.normal_relation`` form: denominators cleared, the integer shift
    (a > b ⟺ a − b − 1 ≥ 0) taken only where a − b is integer-valued.

    ``Eq(a, b)`` gives the two relations a − b ≥ 0 and b − a ≥ 0. Raises ValueError for anything
    else (disjunctions, negations, ≠), which the callers treat as "not in canonical form".

    >>> n = integer_symbols("n")[0]
    >>> relations(sp.And(n > sp.Rational(17, 2), n < 20)), relations(n > sp.Symbol("x"))
    ([(n - 9, False), (19 - n, False)], [(n - x, True)])
    """
    if cond is sp.true:
        return []
    if isinstance(cond, sp.And):
        return [rel for arg in cond.args for rel in relations(arg)]
    if isinstance(cond, (sp.Ge, sp.Gt, sp.Le, sp.Lt, sp.Eq)):
        a, b = cond.lhs, cond.rhs
        if isinstance(cond, sp.Eq):
            return [normal_relation(a - b), normal_relation(b - a)]
        difference = a - b if isinstance(cond, (sp.Ge, sp.Gt)) else b - a
        return [normal_relation(difference, isinstance(cond, (sp.Gt, sp.Lt)))]
    raise ValueError(f"not a conjunction of (in)equalities: {cond}")


def condition_atoms(cond: sp.Basic) -> list[sp.Expr]:
    """A conjunction of integer (in)equalities as atoms e with the meaning e ≥ 0 (``relations``).

    Every atom is integer-valued (so ¬(e ≥ 0) ⟺ −e − 1 ≥ 0); a relation that is not —
    [n > 17/2] is [n − 9 ≥ 0], but [n > x] for a non-integer x stays strict — raises
    ValueError, like anything that is not a conjunction.

    >>> n = integer_symbols("n")[0]
    >>> condition_atoms(sp.And(n > sp.Rational(17, 2), n <= 20))
    [20 - n, n - 9]
    """
    atoms = []
    for e, strict in relations(cond):
        if strict or not (e.is_number or integer_valued(e)):
            raise ValueError(f"not an integer (in)equality: {cond}")
        atoms.append(e)
    return atoms


def relations_condition(rels: list[tuple[sp.Expr, bool]]) -> sp.Basic:
    """The conjunction of the relations (deduplicated and sorted)."""
    unique = sorted({(sp.expand(e), bool(strict)) for e, strict in rels},
                    key=lambda r: (sp.default_sort_key(r[0]), r[1]))
    # unevaluated: SymPy's relational evaluation decides by assumption inference
    return sp.And(*((sp.Gt if strict else sp.Ge)(e, 0, evaluate=False) for e, strict in unique))


# ---- canonical form ----------------------------------------------------------------------------
_BOUND: dict[int, sp.Dummy] = {}


def _bound(position: int) -> sp.Dummy:
    """The canonical bound variable at nesting position ``position``: one cached ``Dummy``
    per position (printed ``_b0``, …). Dummies compare by identity, so no user symbol, even
    one named ``_b0``, is ever equal to it."""
    if position not in _BOUND:
        _BOUND[position] = sp.Dummy(f"b{position}", integer=True)
    return _BOUND[position]


_fresh = count()


def fresh(name: str = "f") -> sp.Dummy:
    """A new integer ``Dummy`` (equal to nothing else there is or will be)."""
    return sp.Dummy(f"{name}{next(_fresh)}", integer=True)


def substitute(expr: sp.Basic, mapping: dict) -> sp.Basic:
    """expr with every free occurrence of a key of ``mapping`` replaced by its value at once,
    avoiding capture: a Sum's bound variable is never replaced (the key is shadowed there), and
    a bound variable that occurs free in a value being substituted into its scope is first
    renamed to a ``fresh`` dummy (α-renaming, the same sum). ``xreplace`` does neither:
    Σ_t j with t ↦ j would become Σ_j j.

    >>> t, j = integer_symbols("t j")
    >>> substitute(sp.Sum(j, (t, 0, 1)) + t, {t: j}).doit(), substitute(sp.Sum(t, (t, 0, 1)), {t: j})
    (3*j, Sum(t, (t, 0, 1)))
    """
    mapping = {k: sp.sympify(v, strict=True) for k, v in mapping.items()}

    def walk(e: sp.Basic, m: dict) -> sp.Basic:
        if not m:
            return e
        if e in m:
            return m[e]
        if isinstance(e, sp.Sum):
            body, rest, limits = e.function, list(e.limits), []
            while rest:  # SymPy: the last limit is the outermost
                v, lo, hi = rest.pop()
                lo, hi = walk(lo, m), walk(hi, m)
                m = {k: val for k, val in m.items() if v not in k.free_symbols}
                if any(v in val.free_symbols for k, val in m.items() if k != val):
                    new = fresh(str(v).lstrip("_"))
                    shadowed = any(r == v for r, _, _ in rest)
                    rest = [(r, l.xreplace({v: new}), h.xreplace({v: new})) for r, l, h in rest]
                    body = body if shadowed else body.xreplace({v: new})  # new is fresh
                    v = new
                limits.append((v, lo, hi))
            return sp.Sum(walk(body, m), *reversed(limits))
        if not e.args:
            return e
        return e.func(*(walk(a, m) for a in e.args))
    return walk(sp.sympify(expr, strict=True), mapping)


def rename_apart(body: sp.Expr, limits, avoid=None) -> tuple[sp.Expr, list]:
    """(body, limits) of a sum with every summation variable in ``avoid`` (all of them when
    ``avoid`` is None) renamed to a ``fresh`` integer dummy (α-renaming: the same sum; a fresh
    name occurs nowhere, so the plain replacement captures nothing).
    Used wherever sums are merged or flattened, so no bound variable captures another's name
    or a free symbol (Σ_t δ(t, i)·Σ_t w[t] is not Σ_{t,t} δ(t, i)·w[t]).

    >>> t, i = integer_symbols("t i")
    >>> body, limits = rename_apart(t * i, [(t, 0, i)], {t})
    >>> limits[0][0] != t and body == limits[0][0] * i and limits[0][2] == i
    True
    """
    mapping = {v: fresh() for v, _, _ in limits if avoid is None or v in avoid}
    renamed = [(mapping.get(v, v), sp.sympify(lo).xreplace(mapping),
                sp.sympify(hi).xreplace(mapping)) for v, lo, hi in limits]
    return sp.sympify(body).xreplace(mapping), renamed


def bound_apart(expr: sp.Basic, avoid=frozenset()) -> sp.Basic:
    """``expr`` with its summation variables made distinct from one another and from every
    symbol in ``avoid`` or free in ``expr``: each binder met a second time (nested or sibling
    sums over the same name) or named like such a symbol is renamed to a ``fresh`` dummy
    (α-renaming). Afterwards no sum shadows another, no substitution of a free symbol (an
    assumption d = 1) reaches a bound one, and flattening sums into one captures nothing.

    >>> t, i = integer_symbols("t i")
    >>> bound_apart(sp.Sum(t, (t, 0, 1)) * t).free_symbols == {t}
    True
    >>> e = bound_apart(sp.Sum(i, (t, 0, 1)) * sp.Sum(t, (t, 0, 1)))
    >>> len({l[0] for s in e.atoms(sp.Sum) for l in s.limits})
    2
    """
    expr = sp.sympify(expr, strict=True)
    used = set(avoid) | expr.free_symbols

    def scoped(e: sp.Basic) -> sp.Basic:
        if isinstance(e, sp.Sum):
            body, rest, limits = e.function, list(e.limits), []
            while rest:  # SymPy: the last limit is the outermost
                v, lo, hi = rest.pop()
                lo, hi = scoped(lo), scoped(hi)
                if v in used:
                    new = fresh()
                    # the inner bounds and the body read this v, unless an inner limit rebinds it
                    shadowed = any(r == v for r, _, _ in rest)
                    rest = [(r, l.xreplace({v: new}), h.xreplace({v: new})) for r, l, h in rest]
                    body = body if shadowed else body.xreplace({v: new})  # new is fresh
                    v = new
                used.add(v)
                limits.append((v, lo, hi))
            return sp.Sum(scoped(body), *reversed(limits))
        if not e.args:
            return e
        return e.func(*(scoped(a) for a in e.args))
    return scoped(expr)


def hygienic(expr: sp.Basic, avoid=frozenset()) -> sp.Basic:
    """``expr`` with EVERY summation variable renamed to a ``fresh`` dummy (``bound_apart``),
    the entry point for a user's expression: afterwards no binder equals another binder, a
    free symbol, a symbol in ``avoid`` or any name symconv uses internally.

    >>> t = integer_symbols("t")[0]
    >>> e = hygienic(sp.Sum(t, (t, 0, 1)))
    >>> e.limits[0][0] != t and e.function == e.limits[0][0]
    True
    """
    expr = sp.sympify(expr, strict=True)
    binders = {l[0] for s in expr.atoms(sp.Sum) for l in s.limits}
    return bound_apart(expr, set(avoid) | binders)


def _freshen(s: sp.Sum) -> sp.Sum:
    """The same Sum with its dummies renamed apart (before merging two Sums into one)."""
    body, limits = rename_apart(s.function, s.limits)
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
    return sp.Sum(bounded_expand(body), *limits)


def bounded_expand(expr: sp.Basic) -> sp.Basic:
    """sp.expand(expr), after the deadline check and the estimate of ``parsing.expanded_terms``:
    more than ``parsing.MAX_TERMS`` terms raise ``budget.LimitExceeded`` (a derivation step
    then ends NOT PROVED) instead of expanding for minutes.

    >>> a, b = sp.symbols("a b")
    >>> bounded_expand((a + b) ** 2)
    a**2 + 2*a*b + b**2
    """
    from ..parsing import MAX_TERMS, expanded_terms
    check_deadline()
    terms = expanded_terms(expr)
    if terms > MAX_TERMS:
        raise LimitExceeded(f"a canonical form would expand to about {terms} terms "
                            f"(at most {MAX_TERMS})")
    return sp.expand(expr)


def canonical(expr: sp.Basic, depth: int = 0) -> sp.Basic:
    """The canonical form described in the module docstring."""
    expr = sp.sympify(expr, strict=True)
    if isinstance(expr, sp.Sum):
        mapping, limits = {}, []  # outermost first; SymPy lists the innermost first
        # a bound is canonicalised past every position this Sum names: a Sum inside a bound
        # must not take _bound(depth + position), already the name of an outer limit in it
        past = depth + len(expr.limits)
        for position, (v, lo, hi) in enumerate(reversed(expr.limits)):
            new = _bound(depth + position)
            limits.append((new, canonical(substitute(lo, mapping), past),
                           canonical(substitute(hi, mapping), past)))
            mapping[v] = new
        body = canonical(substitute(expr.function, mapping), depth + len(limits))
        terms = []
        for term in sp.Add.make_args(bounded_expand(body)):
            if isinstance(term, sp.Sum):
                inner = _freshen(term)
                renamed = sp.Sum(inner.function, *inner.limits, *reversed(limits))
            else:
                renamed = sp.Sum(term, *reversed(limits))
            terms.append(renamed)
        # one more pass renames the merged limits by position
        return sp.Add(*(_finish(t, depth) for t in terms))
    if isinstance(expr, (sp.Add, sp.Mul)):
        parts = [canonical(a, depth) for a in expr.args]
        combined = bounded_expand(sp.Add(*parts) if isinstance(expr, sp.Add) else sp.Mul(*parts))
        merged = [_merge_product(_merge_brackets(t)) for t in sp.Add.make_args(combined)]
        return sp.Add(*(_finish(t, depth) if isinstance(t, sp.Sum) else t for t in merged))
    if isinstance(expr, sp.Pow):
        # z^a·z^b and z^{a+b} stay different forms (SymPy neither splits nor merges symbolic
        # exponents of a base that may be 0): that identity is the rule "exponent rule"
        return bounded_expand(sp.Pow(canonical(expr.base, depth), sp.expand(canonical(expr.exp, depth))))
    if isinstance(expr, sp.KroneckerDelta):
        e = sp.expand(canonical(expr.args[0], depth) - canonical(expr.args[1], depth))
        if e.could_extract_minus_sign():
            e = -e
        # decided only when e is a literal number: SymPy's own evaluation infers from
        # assumptions and folded δ(−Σ_{u=j}^{j−1} 1/3, 0), an empty sum, to 0
        if e.is_Number:
            return sp.Integer(1 if e == 0 else 0)
        return sp.KroneckerDelta(e, 0, evaluate=False)
    if isinstance(expr, Iverson):
        return canonical_iverson(expr.args[0], depth)
    if isinstance(expr, sp.Piecewise):
        if len(expr.args) == 2 and expr.args[1].cond is sp.true and expr.args[1].expr == 0:
            value, cond = expr.args[0]
            return canonical(sp.Mul(value, Iverson(cond), evaluate=False), depth)
        return sp.Piecewise(*((canonical(v, depth), c) for v, c in expr.args), evaluate=False)
    if isinstance(expr, sp.Indexed):
        return expr.base[tuple(sp.expand(canonical(i, depth)) for i in expr.indices)]
    if isinstance(expr, (sp.floor, sp.Mod, SourceMap, sp.core.function.AppliedUndef)):
        return expr.func(*(sp.expand(canonical(a, depth)) for a in expr.args), evaluate=False)
    return expr


def _merge_brackets(term: sp.Expr) -> sp.Expr:
    """[a]·[b] = [a ∧ b] (brackets of conjunctions; any other bracket stays a factor)."""
    factors = sp.Mul.make_args(term)
    merged, rels = [], []
    for factor in factors:
        if isinstance(factor, Iverson):
            try:
                rels += relations(factor.args[0])
            except ValueError:
                continue
            merged.append(factor)
    if len(merged) < 2:
        return term
    rest = sp.Mul(*(f for f in factors if f not in merged))
    return rest * Iverson(relations_condition(rels))


def _finish(s: sp.Sum, depth: int) -> sp.Expr:
    """Rename the limits by position and pull the numeric coefficient out: 2·Σ f, so that
    like terms combine (Σ 2f − 2·Σ f = 0)."""
    renamed = _rename(s, depth)
    coefficient, rest = renamed.function.as_coeff_Mul()
    return coefficient * sp.Sum(rest, *renamed.limits)


def _rename(s: sp.Sum, depth: int) -> sp.Basic:
    mapping = {}
    limits = []
    for position, (v, lo, hi) in enumerate(reversed(s.limits)):  # outermost first
        new = _bound(depth + position)
        limits.append((new, substitute(lo, mapping), substitute(hi, mapping)))
        mapping[v] = new
    return sp.Sum(substitute(s.function, mapping), *reversed(limits))


def canonical_iverson(cond: sp.Basic, depth: int = 0) -> sp.Expr:
    """[cond] as the bracket of its canonical relations (0 or 1 when they are numbers)."""
    try:
        rels = relations(cond)
    except ValueError:
        return Iverson(cond)
    rels = [normal_relation(canonical(e, depth), strict) for e, strict in rels]
    if any(e.is_Rational and (e < 0 or (strict and e <= 0)) for e, strict in rels):
        return sp.Integer(0)
    rels = [(e, strict) for e, strict in rels if not e.is_Rational]  # true numeric relations
    return Iverson(relations_condition(rels)) if rels else sp.Integer(1)


def same(a: sp.Basic, b: sp.Basic) -> bool:
    """a and b have the same canonical form (hence are equal); False proves nothing."""
    return sp.expand(canonical(a) - canonical(b)) == 0
