"""User text to SymPy expressions with a fixed grammar: nothing the user writes is executed.

Explanation
===========
``sympy.sympify`` and ``sympy.parsing.parse_expr`` hand a string to Python's ``eval``: a
claim like ``__import__('os').system(...)`` runs. ``parse_expression`` instead parses the text
with ``ast.parse(text, mode="eval")`` (a parser: no code runs) and builds the expression by
walking the tree, allowing only this grammar:

- decimal integer literals (at most ``MAX_BITS`` bits) and ``True``/``False``; no floats
  (write ``1/2``: exact rationals), no strings, no other literals;
- the names in ``names`` (symbols, and ``IndexedBase`` tensors written ``w[t]``, ``w[o, c, t]``);
- the functions in ``functions`` (default ``FUNCTIONS``), called with positional arguments;
  tuples only as their arguments (``Sum(f, (t, 0, k - 1))``, ``Piecewise((v, c), (0, True))``);
- ``+ - * /``, ``**`` and ``^`` (both are the power, with the precedence of ``**``), ``%``
  (``Mod``), ``//`` (``floor`` of the quotient), comparisons ``< <= > >= == !=`` (``==`` is
  ``Eq``; a chain ``a < b < c`` is their ``And``), ``&`` ``|`` ``~`` and ``and or not``.

Everything else (attributes, lambdas, comprehensions, keywords, slices, unknown names) is
refused with a ``SpecError`` naming the parameter, the offending token with its column and the
rule. The size of the work is bounded before SymPy sees it: ``MAX_TEXT`` characters,
``MAX_NODES`` tree nodes, ``MAX_DEPTH`` nesting levels (a chain ``a + b + … `` is one level),
a power of numbers at most ``MAX_BITS`` bits, a numeric exponent of a symbolic base at most
``MAX_EXPONENT`` in absolute value, a symbolic exponent linear with small integer
coefficients, sum limits with small numbers, and at most ``MAX_TERMS`` terms when expanded
(``MAX_PRODUCT_TERMS`` where products or powers of sums are multiplied out: ``expansion_error``).

Examples
========
>>> import sympy as sp
>>> i, j, k, t = sp.symbols("i j k t", integer=True)
>>> names = symbol_table([i, j, k, t, sp.IndexedBase("w")])
>>> parse_expression("Sum(w[t]*KroneckerDelta(i, j + t), (t, 0, k - 1))", names, parameter="--claim")
Sum(KroneckerDelta(i, j + t)*w[t], (t, 0, k - 1))
>>> parse_expression("i^2 + 1/2", names, parameter="--claim")
i**2 + 1/2
>>> parse_expression("__import__('os')", names, parameter="--claim")  # doctest: +NORMALIZE_WHITESPACE
Traceback (most recent call last):
...
symconv.errors.SpecError: --claim='__import__': is not a function that may be called; allowed: Abs, And, Eq, Ge, Gt,
KroneckerDelta, Le, Lt, Max, Min, Mod, Ne, Not, Or, Piecewise, Rational, Sum, ceiling, floor (column 1)
>>> parse_expression("9^9^9^9", names, parameter="--claim")  # doctest: +NORMALIZE_WHITESPACE
Traceback (most recent call last):
...
symconv.errors.SpecError: --claim='9^9^9': a power of numbers may have at most 4096 bits, this one has about
1549681956 (column 3)
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Mapping
from math import comb
from typing import Any

import sympy as sp

from .errors import SpecError

MAX_TEXT = 100_000
MAX_NODES = 10_000
MAX_DEPTH = 100
MAX_BITS = 4096
MAX_EXPONENT = 64
MAX_SUM_NUMBER = 1024
MAX_TERMS = 100_000
MAX_PRODUCT_TERMS = 5_000
MAX_TOTAL_PRODUCT_TERMS = 20_000  # over all entries of one matrix: about 8 s of sp.expand
MAX_LISTED = 20  # names listed in a message; more would bury the rule

FUNCTIONS: Mapping[str, Callable[..., sp.Basic]] = {
    "Sum": sp.Sum, "KroneckerDelta": sp.KroneckerDelta, "Piecewise": sp.Piecewise,
    "floor": sp.floor, "ceiling": sp.ceiling, "Mod": sp.Mod, "Rational": sp.Rational,
    "Max": sp.Max, "Min": sp.Min, "Abs": sp.Abs, "And": sp.And, "Or": sp.Or, "Not": sp.Not,
    "Eq": sp.Eq, "Ne": sp.Ne, "Lt": sp.Lt, "Le": sp.Le, "Gt": sp.Gt, "Ge": sp.Ge,
}
"""The functions a claim may call (SymPy constructors; no user code can reach anything else)."""

_ARITHMETIC = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
               ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
               ast.Mod: sp.Mod, ast.FloorDiv: lambda a, b: sp.floor(a / b),
               ast.BitAnd: sp.And, ast.BitOr: sp.Or}
_COMPARISONS = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge, ast.Eq: sp.Eq,
                ast.NotEq: sp.Ne}
_CHAINS = ((ast.Add, ast.Sub), (ast.Mult, ast.Div))  # left-associative runs walked as one level
_REFUSED = {ast.Attribute: "attribute access (a.b) is not allowed",
            ast.Lambda: "lambda is not allowed", ast.Starred: "* unpacking is not allowed",
            ast.Slice: "slices are not allowed", ast.NamedExpr: ":= is not allowed",
            ast.IfExp: "'x if c else y' is not allowed: use Piecewise((x, c), (y, True))",
            ast.MatMult: "@ is not allowed", ast.LShift: "<< is not allowed",
            ast.RShift: ">> is not allowed", ast.Is: "'is' is not allowed: use ==",
            ast.IsNot: "'is not' is not allowed: use !=", ast.In: "'in' is not allowed",
            ast.NotIn: "'not in' is not allowed"}


def symbol_table(values: Iterable[Any]) -> dict[str, sp.Basic]:
    """{printed name: object} of the SymPy symbols and ``IndexedBase`` tensors among ``values``
    (tuples and lists are searched, anything else is skipped): the ``names`` of a parse.

    >>> import sympy as sp
    >>> symbol_table([sp.Symbol("n"), (sp.Symbol("k_1"), sp.Symbol("k_2")), sp.IndexedBase("w"), "text", 3])
    {'n': n, 'k_1': k_1, 'k_2': k_2, 'w': w}
    """
    table: dict[str, sp.Basic] = {}
    for value in values:
        if isinstance(value, (tuple, list)):
            table.update(symbol_table(value))
        elif isinstance(value, (sp.Symbol, sp.IndexedBase)):
            table[str(value)] = value
    return table


def parse_expression(text: str, names: Mapping[str, Any], *, parameter: str,
                     functions: Mapping[str, Callable[..., sp.Basic]] = FUNCTIONS,
                     implicit_multiplication: bool = False) -> sp.Basic:
    """The SymPy expression that ``text`` denotes in the module's grammar, over ``names``.

    ``parameter`` names the input in the SpecError (e.g. ``"--claim"``). With
    ``implicit_multiplication`` two operands side by side multiply (``2 a (b + 1)``), as in
    matrix files; then calls cannot be written, so pass ``functions={}``.

    >>> import sympy as sp
    >>> a, b = sp.symbols("a b")
    >>> parse_expression("2 a (b + 1) - a^2", {"a": a, "b": b}, parameter="entry", functions={},
    ...                  implicit_multiplication=True)
    -a**2 + 2*a*(b + 1)
    >>> parse_expression("Piecewise((a, (a >= 0) & (a < b)), (0, True))", {"a": a, "b": b}, parameter="e")
    Piecewise((a, (a >= 0) & (a < b)), (0, True))
    >>> parse_expression("a.__class__", {"a": a}, parameter="entry")
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: entry='a.__class__': attribute access (a.b) is not allowed (column 1)
    """
    if not isinstance(text, str):
        raise SpecError(parameter, text, "must be a string")
    if len(text) > MAX_TEXT:
        raise SpecError(parameter, _shorten(text), f"may have at most {MAX_TEXT} characters, "
                                                   f"it has {len(text)}")
    digits = re.search(rf"\d{{{len(str(2 ** MAX_BITS)) + 1},}}", text)
    if digits:  # before Python's own limit (4300 digits) speaks of hexadecimal
        raise SpecError(parameter, _shorten(digits.group()),
                        f"integers may have at most {MAX_BITS} bits (column {digits.start() + 1})")
    source, origin = _source(text, implicit_multiplication, parameter)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        where = f" at column {origin[min(error.offset, len(origin)) - 1] + 1}" if error.offset and origin else ""
        raise SpecError(parameter, _shorten(text),
                        f"is not a valid expression ({error.msg}{where})") from None
    except (RecursionError, MemoryError, ValueError):
        raise SpecError(parameter, _shorten(text), "is too long or nested too deeply to parse") from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise SpecError(parameter, _shorten(text), f"may have at most {MAX_NODES} parts, it has {nodes}")
    result = _Builder(source, origin, text, names, functions, parameter).build(tree.body, 0)
    if isinstance(result, tuple) or not isinstance(result, sp.Basic):
        raise SpecError(parameter, _shorten(text), "must be one expression, not a tuple")
    if result.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        raise SpecError(parameter, _shorten(text), "is not finite (a division by zero?)")
    too_large = expansion_error(result)
    if too_large:
        raise SpecError(parameter, _shorten(text), too_large)
    return result


def expansion_error(expr: sp.Basic) -> str | None:
    """Why multiplying ``expr`` out would take too long (None if it would not): more than
    MAX_TERMS terms (``expanded_terms``), or more than MAX_PRODUCT_TERMS when products or powers
    of sums must be multiplied out (SymPy's multinomial expansion costs about 0.4 ms a term,
    a plain sum far less).

    >>> import sympy as sp
    >>> a = sp.symbols("a0:10")
    >>> expansion_error(sp.Add(*a) ** 10)
    'would expand to about 92378 terms; at most 5000 are allowed where products or powers of sums are multiplied out'
    >>> expansion_error(sp.Add(*a) ** 2) is None
    True
    """
    terms = expanded_terms(expr)
    if terms > MAX_TERMS:
        return f"would expand to about {terms} terms; at most {MAX_TERMS} are allowed"
    if terms > MAX_PRODUCT_TERMS and _multiplied_out(expr):
        return (f"would expand to about {terms} terms; at most {MAX_PRODUCT_TERMS} are allowed where "
                "products or powers of sums are multiplied out")
    return None


def _multiplied_out(expr: sp.Basic) -> bool:
    return any(term.has(sp.Add) for term in sp.Add.make_args(expr))


class ExpansionBudget:
    """The multiplying-out budget of one matrix, spent entry by entry (``spend``) before anything
    expands: SpecError naming the entry when it alone is too large (``expansion_error``), or
    naming the matrix once its entries with products or powers of sums would together expand to
    more than MAX_TOTAL_PRODUCT_TERMS terms (each entry within its budget can still add up to
    minutes over a matrix); spent while a file is read, it stops the reading there.

    >>> a = sp.symbols("a0:10")
    >>> ExpansionBudget("T").spend("T[0, 1]", sp.Add(*a) ** 10)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: T[0, 1]='(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9)**10': would expand to about
    92378 terms; at most 5000 are allowed where products or powers of sums are multiplied out
    >>> budget = ExpansionBudget("T")
    >>> for k in range(30):  # doctest: +NORMALIZE_WHITESPACE
    ...     budget.spend(f"T[0, {k}]", sp.Add(*a) ** 4)
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: T='28 entries with products or powers of sums, up to T[0, 27]': would expand to about
    20020 terms (715 each); at most 20000 are allowed over a matrix
    """

    def __init__(self, parameter: str) -> None:
        self.parameter, self.total, self.counted = parameter, 0, 0

    def spend(self, where: str, entry: Any) -> None:
        if not isinstance(entry, sp.Basic) or entry.is_Atom:
            return
        too_large = expansion_error(entry)
        if too_large:
            raise SpecError(where, _shorten(str(entry)), too_large)
        if not _multiplied_out(entry):
            return
        self.total, self.counted = self.total + expanded_terms(entry), self.counted + 1
        if self.total > MAX_TOTAL_PRODUCT_TERMS:
            raise SpecError(self.parameter, f"{self.counted} entries with products or powers of sums, up to {where}",
                            f"would expand to about {self.total} terms ({self.total // self.counted} each); at "
                            f"most {MAX_TOTAL_PRODUCT_TERMS} are allowed over a matrix")


def expanded_terms(expr: sp.Basic) -> int:
    """An upper bound on the number of terms of ``expr`` multiplied out: sums add, products
    multiply, a power ±e of an n-term sum has at most C(n + e − 1, e) terms (``sp.expand``
    multiplies out a denominator too, so a negative power counts like a positive one).

    >>> import sympy as sp
    >>> a, b, c = sp.symbols("a b c")
    >>> expanded_terms((a + b) * (a + c) + c), expanded_terms((a + b + c) ** 4)
    (5, 15)
    >>> expanded_terms(1 / (a + b + c) ** 4)
    15
    """
    if isinstance(expr, sp.Add):
        return sum(expanded_terms(arg) for arg in expr.args)
    if isinstance(expr, sp.Mul):
        count = 1
        for arg in expr.args:
            count *= expanded_terms(arg)
        return count
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer:
        base, exponent = expanded_terms(expr.base), abs(int(expr.exp))
        return comb(base + exponent - 1, exponent) if base > 1 and exponent else 1
    if expr.args and not isinstance(expr, (sp.Indexed, sp.Symbol)):
        return max(expanded_terms(arg) if isinstance(arg, sp.Basic) else 1 for arg in expr.args)
    return 1


def _source(text: str, implicit_multiplication: bool, parameter: str) -> tuple[str, list[int]]:
    """The text ``ast.parse`` reads, and for each of its characters the column of ``text`` it
    comes from: '^' becomes '**' (a string holding '^' is refused anyway), leading blanks go,
    line breaks become blanks (one line, so columns are counted in ``text``),
    and with ``implicit_multiplication`` a '*' joins two operands side by side ('2 a (b)',
    'w[0] 7'), but never two numbers: '1 000' reads as a thousand to a person (SpecError).

    >>> _source(" a^2", False, "e")
    ('a**2', [1, 2, 2, 3])
    >>> _source("2 a (b)", True, "e")[0]
    '2 *a *(b)'
    >>> _source("w[0]7", True, "e")[0]
    'w[0]*7'
    >>> _source("1 000 w", True, "e")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: e='1 000 w': two numbers side by side are not multiplied (is '1 000' a thousand?):
    write one number, or a '*' between them (column 3)
    """
    inserts: set[int] = set()
    if implicit_multiplication:
        previous = ""
        for match in re.finditer(r"\d+|[A-Za-z_]\w*|\S", text):
            token = match.group()
            if previous.isdecimal() and token.isdecimal():
                raise SpecError(parameter, _shorten(text), "two numbers side by side are not multiplied (is "
                                f"'1 000' a thousand?): write one number, or a '*' between them "
                                f"(column {match.start() + 1})")
            if (previous[-1:].isalnum() or previous[-1:] in ("_", ")", "]")) and (
                    token[0].isalnum() or token[0] in ("_", "(")):
                inserts.add(match.start())
            previous = token
    chars, origin = [], []
    start = len(text) - len(text.lstrip())
    for column in range(start, len(text)):
        if column in inserts:
            chars.append("*")
            origin.append(column)
        character = text[column]
        replacement = "**" if character == "^" else " " if character.isspace() else character
        chars.extend(replacement)
        origin.extend([column] * len(replacement))
    return "".join(chars), origin


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


class _Builder:
    """Walks the tree of an ``ast.parse`` result, building SymPy objects for allowed nodes."""

    def __init__(self, source: str, origin: list[int], text: str, names: Mapping[str, Any],
                 functions: Mapping[str, Callable[..., sp.Basic]], parameter: str):
        self.source, self.origin, self.text, self.names = source, origin, text, names
        self.functions, self.parameter = functions, parameter
        self.encoded = source.encode()  # ast counts columns in UTF-8 bytes

    def _segment(self, node: ast.AST) -> str:
        """``ast.get_source_segment`` of the one-line source, which re-splits the whole source at
        every call (0.5 ms a literal on a 1 kB entry: a minute for a 800 kB matrix file)."""
        return self.encoded[node.col_offset:node.end_col_offset].decode()

    def refuse(self, node: ast.AST, rule: str) -> SpecError:
        """SpecError quoting the user's text of ``node`` and its column."""
        start = len(self.encoded[:node.col_offset].decode(errors="ignore"))
        end = len(self.encoded[:node.end_col_offset].decode(errors="ignore"))
        first, last = self.origin[start], self.origin[max(end - 1, start)]
        return SpecError(self.parameter, _shorten(self.text[first:last + 1]),
                         f"{rule} (column {first + 1})")

    def build(self, node: ast.AST, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.refuse(node, f"is nested more than {MAX_DEPTH} levels deep")
        for kind, rule in _REFUSED.items():  # ast.Compare's operators: in _Compare
            if isinstance(node, kind) or isinstance(getattr(node, "op", None), kind):
                raise self.refuse(node, rule)
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self.refuse(node, f"{_describe(node)} is not allowed; an expression has numbers, "
                                    "names, calls of the allowed functions and + - * / ^ % //, "
                                    "comparisons, & | ~")
        try:
            return method(node, depth)
        except SpecError:
            raise
        except (TypeError, ValueError, ArithmeticError, IndexError, AttributeError) as error:
            # SymPy refusing the arguments of a constructor (no user code runs in it)
            message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise self.refuse(node, f"is not a valid expression: {message}") from None

    def _Constant(self, node: ast.Constant, depth: int) -> sp.Basic:
        value = node.value
        if isinstance(value, bool):
            return sp.true if value else sp.false
        if isinstance(value, int) and self._segment(node).isdecimal():
            if value.bit_length() > MAX_BITS:
                raise self.refuse(node, f"integers may have at most {MAX_BITS} bits")
            return sp.Integer(value)
        if isinstance(value, float):
            raise self.refuse(node, "decimal fractions are not allowed: write a fraction like 1/2")
        raise self.refuse(node, "only decimal integers, True and False are allowed as literals")

    def _Name(self, node: ast.Name, depth: int) -> sp.Basic:
        value = self._named(node)
        if isinstance(value, sp.IndexedBase):
            raise self.refuse(node, f"is a tensor: write one of its entries, e.g. {node.id}[t]")
        return value

    def _named(self, node: ast.Name) -> Any:
        if node.id in self.names:
            return self.names[node.id]
        ordered = sorted(self.names)
        known = ", ".join(ordered[:MAX_LISTED]) + (f" and {len(ordered) - MAX_LISTED} more"
                                                    if len(ordered) > MAX_LISTED else "")
        calls = f" and the functions {', '.join(sorted(self.functions, key=str))}" if self.functions else ""
        rule = f"is a function: call it, e.g. {node.id}(...)" if node.id in self.functions else (
            f"is not a known name; the names are {known or '(none)'}{calls}")
        raise self.refuse(node, rule)

    def _chain(self, node: ast.BinOp, ops: tuple[type, ...]) -> tuple[ast.AST, list[tuple[ast.operator, ast.AST]]]:
        """a − b + c as its first operand and the (operator, operand) pairs, without recursion."""
        pairs = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, ops):
            pairs.append((node.op, node.right))
            node = node.left
        return node, pairs[::-1]

    def _BinOp(self, node: ast.BinOp, depth: int) -> sp.Basic:
        if isinstance(node.op, ast.Pow):
            return self._power(node, self.build(node.left, depth + 1), self.build(node.right, depth + 1))
        ops = next((chain for chain in _CHAINS if isinstance(node.op, chain)), (type(node.op),))
        first, pairs = self._chain(node, ops)
        value = self._operand(first, depth)
        for op, right in pairs:
            value = _ARITHMETIC[type(op)](value, self._operand(right, depth))
        return value

    def _operand(self, node: ast.AST, depth: int) -> sp.Basic:
        value = self.build(node, depth + 1)
        if isinstance(value, tuple):
            raise self.refuse(node, "a tuple is only allowed as an argument of a function")
        return value

    def _power(self, node: ast.BinOp, base: sp.Basic, exponent: sp.Basic) -> sp.Basic:
        """base^exponent within the bounds: numbers ≤ MAX_BITS bits, a numeric exponent of a
        symbolic base ≤ MAX_EXPONENT, a symbolic exponent linear with small integer coefficients."""
        if exponent.is_Number:
            if base.is_Number and not base.is_zero and abs(exponent) > 1:
                bits = max(abs(sp.Rational(base).p).bit_length(), abs(sp.Rational(base).q).bit_length(), 1) \
                    if base.is_Rational else MAX_BITS + 1
                estimate = bits * abs(exponent)
                if estimate > MAX_BITS:
                    raise self.refuse(node, f"a power of numbers may have at most {MAX_BITS} bits, "
                                            f"this one has about {int(estimate)}")
            elif not base.is_Number and abs(exponent) > MAX_EXPONENT:  # before SymPy sees (2i)^(10^10)
                raise self.refuse(node, f"an exponent may be at most {MAX_EXPONENT} in absolute value")
            power = base ** exponent  # SymPy merges (a^64)^64 into a^4096: check what it made
            if isinstance(power, sp.Pow) and power.exp.is_Number and abs(power.exp) > MAX_EXPONENT \
                    and not power.base.is_Number:
                raise self.refuse(node, f"an exponent may be at most {MAX_EXPONENT} in absolute value")
            return power
        polynomial = exponent.as_poly() if not exponent.has(sp.Pow, sp.Sum) else None
        if (polynomial is None or polynomial.total_degree() > 1
                or not all(isinstance(g, (sp.Symbol, sp.Indexed)) for g in polynomial.gens)
                or any(not c.is_Integer or abs(c) > MAX_EXPONENT for c in polynomial.coeffs())):
            raise self.refuse(node, "a symbolic exponent must be linear in the symbols with integer "
                                    f"coefficients of at most {MAX_EXPONENT} in absolute value")
        return base ** exponent

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> sp.Basic:
        value = self._operand(node.operand, depth)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return value
        return sp.Not(value)  # ast.Not, ast.Invert

    def _BoolOp(self, node: ast.BoolOp, depth: int) -> sp.Basic:
        values = [self._operand(v, depth) for v in node.values]
        return (sp.And if isinstance(node.op, ast.And) else sp.Or)(*values)

    def _Compare(self, node: ast.Compare, depth: int) -> sp.Basic:
        for op in node.ops:
            if type(op) not in _COMPARISONS:
                raise self.refuse(node, _REFUSED[type(op)])
        operands = [self._operand(node.left, depth)] + [self._operand(c, depth) for c in node.comparators]
        relations = [_COMPARISONS[type(op)](a, b)
                     for op, a, b in zip(node.ops, operands, operands[1:])]
        return relations[0] if len(relations) == 1 else sp.And(*relations)

    def _Tuple(self, node: ast.Tuple, depth: int) -> tuple:
        return tuple(self._operand(element, depth) for element in node.elts)

    def _Subscript(self, node: ast.Subscript, depth: int) -> sp.Basic:
        base = self._named(node.value) if isinstance(node.value, ast.Name) else None
        if not isinstance(base, sp.IndexedBase):
            raise self.refuse(node, "only the tensors among the names can be indexed, e.g. w[t]")
        index = node.slice
        indices = index.elts if isinstance(index, ast.Tuple) else [index]
        return base[tuple(self._operand(i, depth) for i in indices)]

    def _Call(self, node: ast.Call, depth: int) -> sp.Basic:
        if not isinstance(node.func, ast.Name) or node.func.id not in self.functions:
            allowed = ", ".join(sorted(self.functions, key=str)) or "none"
            raise self.refuse(node.func, f"is not a function that may be called; allowed: {allowed}")
        if node.keywords:
            raise self.refuse(node.keywords[0], "keyword arguments are not allowed")
        function = self.functions[node.func.id]
        args = [self.build(a, depth + 1) for a in node.args]
        if function is sp.Sum:
            self._check_sum_limits(node, args)
        return function(*args)

    def _check_sum_limits(self, node: ast.Call, args: list) -> None:
        """A sum over a bound symbol with limits whose numbers are small: evaluating it on an
        instance loops over the range, so Sum(f, (t, 0, 10^10)) would never end."""
        for limit in args[1:]:
            if not (isinstance(limit, tuple) and len(limit) == 3 and isinstance(limit[0], sp.Symbol)):
                raise self.refuse(node, "the limits of a Sum are (symbol, low, high) tuples")
            for bound in limit[1:]:
                numbers = [abs(n) for n in bound.atoms(sp.Rational)]
                powers = [e for e in bound.atoms(sp.Pow) if not (e.exp.is_Integer and abs(e.exp) <= 2)]
                if powers or any(n > MAX_SUM_NUMBER for n in numbers):
                    raise self.refuse(node, f"a Sum's limits may hold numbers up to {MAX_SUM_NUMBER} "
                                            "and powers up to 2 only")


def _describe(node: ast.AST) -> str:
    kinds = {ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
             ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension",
             ast.List: "a list", ast.Dict: "a dict", ast.Set: "a set",
             ast.JoinedStr: "a string", ast.Await: "await", ast.Yield: "yield",
             ast.YieldFrom: "yield"}
    return kinds.get(type(node), type(node).__name__)


__all__ = ["FUNCTIONS", "MAX_BITS", "MAX_DEPTH", "MAX_EXPONENT", "MAX_NODES", "MAX_PRODUCT_TERMS",
           "MAX_TERMS", "MAX_TEXT", "expanded_terms", "expansion_error", "parse_expression", "symbol_table"]
