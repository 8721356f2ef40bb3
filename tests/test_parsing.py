"""symconv.parsing: user text becomes SymPy expressions by a fixed grammar, never by eval."""

from __future__ import annotations

import builtins
import re
import time
from unittest import mock

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv.errors import SpecError
from symconv.general import check_claim, symbols_for
from symconv.parsing import (
    FUNCTIONS,
    MAX_BITS,
    MAX_DEPTH,
    MAX_NODES,
    MAX_TEXT,
    expanded_terms,
    parse_expression,
    symbol_table,
)

S = symbols_for("toeplitz")
NAMES = symbol_table(vars(S).values())
w, x = sp.IndexedBase("w"), sp.IndexedBase("x")
README_CLAIM = "Sum(w[t]*KroneckerDelta(i, s*j + d*t - p), (t, 0, k - 1))"


def parse(text: str, names=NAMES, **options):
    return parse_expression(text, names, parameter="--claim", **options)


# ---- accepted forms -------------------------------------------------------------------------------
def test_the_readme_claim_is_the_sympy_expression():
    assert parse(README_CLAIM) == sp.Sum(S.w[S.t] * sp.KroneckerDelta(S.i, S.s * S.j + S.d * S.t - S.p),
                                         (S.t, 0, S.k - 1))


@pytest.mark.parametrize("text, expected", [
    ("i^2 + 1", S.i ** 2 + 1),                     # ^ is the power, with the precedence of **
    ("i**2 + 1", S.i ** 2 + 1),
    ("2^3^2", sp.Integer(512)),                    # right-associative like **
    ("-i^2", -S.i ** 2),
    ("1/2 + i/3", sp.Rational(1, 2) + S.i / 3),
    ("i // 2", sp.floor(S.i / 2)),
    ("i % k", sp.Mod(S.i, S.k)),
    ("i < j <= k", sp.And(sp.Lt(S.i, S.j), sp.Le(S.j, S.k))),
    ("i == j", sp.Eq(S.i, S.j)),
    ("i != j", sp.Ne(S.i, S.j)),
    ("(i >= 0) & (i < k) | (j > 2)", sp.Or(sp.And(S.i >= 0, S.i < S.k), S.j > 2)),
    ("(i >= 0) and not (i > k)", sp.And(S.i >= 0, sp.Not(S.i > S.k))),
    ("~(i < 0)", S.i >= 0),
    ("w[i - s*j + p]", S.w[S.i - S.s * S.j + S.p]),
    ("x[i, j]", x[S.i, S.j]),
    ("Piecewise((w[i - s*j + p], (i - s*j + p >= 0) & (i - s*j + p < k)), (0, True))",
     sp.Piecewise((S.w[S.i - S.s * S.j + S.p], (S.i - S.s * S.j + S.p >= 0) & (S.i - S.s * S.j + S.p < S.k)),
                  (0, True))),
    ("Max(i, j) - Min(i, 0) + Abs(i - j) + ceiling(i/2) + Rational(3, 4)",
     sp.Max(S.i, S.j) - sp.Min(S.i, 0) + sp.Abs(S.i - S.j) + sp.ceiling(S.i / 2) + sp.Rational(3, 4)),
    ("  2**n * w[t]  ", 2 ** S.n * S.w[S.t]),    # a linear symbolic exponent
    ("(i + j)^64", (S.i + S.j) ** 64),             # 65 terms expanded
    ("+".join(["i"] * 500), 500 * S.i),          # a long chain is one nesting level
])
def test_accepted_forms(text, expected):
    assert parse(text) == expected


def test_implicit_multiplication_for_matrix_entries():
    a, b = sp.symbols("a b")
    assert parse_expression("2 a (b + 1)(a) - a^2 b", {"a": a, "b": b}, parameter="e", functions={},
                            implicit_multiplication=True) == 2 * a * (b + 1) * a - a ** 2 * b
    with pytest.raises(SpecError, match=r"^e='2 a': is not a valid expression \(invalid syntax"):
        parse_expression("2 a", {"a": a}, parameter="e", functions={})


def test_symbol_table_and_the_functions():
    assert symbol_table([S.n, (S.k, S.w), "form", 1]) == {"n": S.n, "k": S.k, "w": S.w}
    assert {"Sum", "KroneckerDelta", "Piecewise", "floor", "Mod"} <= set(FUNCTIONS)


# ---- refused --------------------------------------------------------------------------------------
def test_code_is_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "X"
    for text in ("__import__('os').system('touch X')", "(lambda: __import__('os').system('touch X'))()",
                 "[c for c in ().__class__.__base__.__subclasses__()]", "open('X', 'w')",
                 "exec('open(\"X\", \"w\")')", "eval('1')", "Sum.__call__"):
        with pytest.raises(SpecError):
            parse(text)
        with pytest.raises(SpecError):  # the library entry point as well
            check_claim("toeplitz", text)
    assert not target.exists()


def test_the_parser_never_calls_eval_on_accepted_text():
    def forbidden(*args, **kwargs):
        raise AssertionError("user text reached eval/exec/parse_expr")
    with mock.patch.object(builtins, "eval", forbidden), mock.patch.object(builtins, "exec", forbidden), \
            mock.patch("sympy.parsing.sympy_parser.parse_expr", forbidden):
        assert parse(README_CLAIM).has(sp.KroneckerDelta)
        with pytest.raises(AssertionError, match="reached eval"):  # the patch is effective
            sp.sympify("i + 1")


@pytest.mark.parametrize("text, message", [
    ("__import__('os').system('touch X')",
     "--claim=\"__import__('os').system\": is not a function that may be called; allowed: Abs, "),
    ("i.__class__", "--claim='i.__class__': attribute access (a.b) is not allowed (column 1)"),
    ("lambda: 1", "--claim='lambda: 1': lambda is not allowed (column 1)"),
    ("2**(10**10)", f"--claim='2**(10**10)': a power of numbers may have at most {MAX_BITS} bits, "
                    "this one has about 20000000000 (column 1)"),
    ("w[0]*2**(10**10)", "--claim='2**(10**10)': a power of numbers may have at most 4096 bits, "
                         "this one has about 20000000000 (column 6)"),
    ("9^9^9^9", "--claim='9^9^9': a power of numbers may have at most 4096 bits, this one has about "
                "1549681956 (column 3)"),
    ("i^65", "--claim='i^65': an exponent may be at most 64 in absolute value (column 1)"),
    ("(2*i)^(10^10)", "--claim='(2*i)^(10^10)': an exponent may be at most 64 in absolute value"),
    ("((i^64)^64)^64", "--claim='(i^64)^64': an exponent may be at most 64 in absolute value (column 2)"),
    ("2^(i*j)", "--claim='2^(i*j)': a symbolic exponent must be linear in the symbols with integer "
                "coefficients of at most 64 in absolute value (column 1)"),
    ("2^(2^n)", "--claim='2^(2^n)': a symbolic exponent must be linear"),
    ("1" * 1300, f"integers may have at most {MAX_BITS} bits (column 1)"),
    ("i + " + "1" * 5000, f"integers may have at most {MAX_BITS} bits (column 5)"),
    ("-" * (MAX_DEPTH + 5) + "1", f"is nested more than {MAX_DEPTH} levels deep"),
    ("(" * 300 + "1" + ")" * 300, "is not a valid expression (too many nested parentheses"),
    ("Max(" + "i, " * MAX_NODES + "j)", f"may have at most {MAX_NODES} parts"),
    ("i" * (MAX_TEXT + 1), f"may have at most {MAX_TEXT} characters, it has {MAX_TEXT + 1}"),
    ("foo + 1", "--claim='foo': is not a known name; the names are d, i, j, k, m, n, p, q, s, t, w, x "
                "and the functions Abs, And, "),
    ("Sum", "--claim='Sum': is a function: call it, e.g. Sum(...) (column 1)"),
    ("w + 1", "--claim='w': is a tensor: write one of its entries, e.g. w[t] (column 1)"),
    ("1.5", "--claim='1.5': decimal fractions are not allowed: write a fraction like 1/2 (column 1)"),
    ("'a'", "--claim=\"'a'\": only decimal integers, True and False are allowed as literals"),
    ("0x10", "--claim='0x10': only decimal integers"),
    ("x[i:j]", "--claim='i:j': slices are not allowed (column 3)"),
    ("i[0]", "--claim='i[0]': only the tensors among the names can be indexed, e.g. w[t] (column 1)"),
    ("[i for i in j]", "--claim='[i for i in j]': a comprehension is not allowed"),
    ("i if j else k", "'x if c else y' is not allowed: use Piecewise((x, c), (y, True))"),
    ("i in j", "--claim='i in j': 'in' is not allowed (column 1)"),
    ("i @ j", "--claim='i @ j': @ is not allowed (column 1)"),
    ("floor(i, j)", "--claim='floor(i, j)': is not a valid expression: floor takes exactly 1 argument"),
    ("Sum(w[t], (t, 0, k - 1), evaluate=True)",
     "--claim='evaluate=True': keyword arguments are not allowed (column 26)"),
    ("Sum(w[t], (t, 0, 10**9))", "a Sum's limits may hold numbers up to 1024 and powers up to 2 only"),
    ("Sum(w[t], t)", "the limits of a Sum are (symbol, low, high) tuples"),
    ("(i + j + k + t + s + d + p + n)^64", "would expand to about 1329890705 terms; at most 100000"),
    ("1/0", "--claim='1/0': is not finite (a division by zero?)"),
    ("(i, j)", "--claim='(i, j)': must be one expression, not a tuple"),
    ("i +", "--claim='i +': is not a valid expression (invalid syntax"),
    ("i\n+ j)", "is not a valid expression (unmatched ')' at column 6)"),
])
def test_refused_with_the_parameter_token_and_rule(text, message):
    with pytest.raises(SpecError) as error:
        parse(text)
    assert str(error.value).startswith(message) or message in str(error.value)
    assert error.value.parameter == "--claim"


def test_refusals_are_fast():
    start = time.perf_counter()
    for text in ("9^9^9^9", "2**(10**10)", "w[0]*2**(10**10)", "(i+j+k+s+d+p+n+t)^64 * (i+j)^64"):
        with pytest.raises(SpecError):
            parse(text)
    assert time.perf_counter() - start < 2


def test_expanded_terms_bounds_the_product_out():
    i, j, k = S.i, S.j, S.k
    assert expanded_terms(i) == 1
    assert expanded_terms((i + j) * (i + k) + 1) == 5
    assert expanded_terms((i + j + k) ** 4) == 15 == len(sp.expand((i + j + k) ** 4).args)
    assert expanded_terms(sp.Sum(S.w[S.t] * (i + j), (S.t, 0, k))) == 2


# ---- any text whatever ----------------------------------------------------------------------------
ALPHABET = st.sampled_from(list("ijkstdpnwx0123456789+-*/^%()[], .<>=!&|~_'\"abcdeflmoruyz:\\@#{}\n"))


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(ALPHABET, max_size=40), st.text(max_size=40),
                 st.lists(st.sampled_from(["Sum(", "w[t]", "KroneckerDelta(", "i", "j", ",", ")",
                                           "(t, 0, k - 1)", "^", "**", "9", "__import__", ".",
                                           "lambda", ":", "floor(", "Piecewise(", "True", "(",
                                           "*", "-", "/", "0", "&", "<", "==", " "]),
                          max_size=25).map("".join)))
def test_any_text_gives_an_expression_or_a_spec_error(text):
    def forbidden(*args, **kwargs):
        raise AssertionError("user text reached eval/exec/parse_expr")
    try:
        with mock.patch.object(builtins, "eval", forbidden), mock.patch.object(builtins, "exec", forbidden), \
                mock.patch("sympy.parsing.sympy_parser.parse_expr", forbidden):
            result = parse(text)
    except SpecError as error:
        assert error.parameter == "--claim"
        assert "\n" not in error.rule
    else:
        assert isinstance(result, sp.Basic)
        assert not result.has(sp.zoo, sp.nan)


def test_check_claim_reads_a_string_claim_with_the_parser():
    assert check_claim("toeplitz", README_CLAIM, instances=4).holds
    refuted = check_claim("toeplitz", README_CLAIM.replace("- p", "- p + 1"), instances=4)
    assert not refuted.holds and refuted.failure.counterexample is not None
    with pytest.raises(SpecError, match=r"^entry='y': is not a known name; the names are d, i, j, k, m, n, p"):
        check_claim("toeplitz", "w[t] + y")
    with pytest.raises(SpecError, match=r"^entry='G': is not a known name"):  # channel symbols need channels=True
        check_claim("toeplitz", "w[t] * G")


# ---- adversarial review, issue 11 ----------------------------------------------------------------
def test_a_negative_power_counts_like_a_positive_one():
    a = sp.symbols("a0:10")
    names = {str(s): s for s in a}
    with pytest.raises(SpecError, match=r"would expand to about 97082021465 terms; at most 100000 are allowed"):
        parse_expression("1/(" + "+".join(names) + ")^64", names, parameter="e")


def test_products_of_sums_have_a_smaller_bound_than_plain_sums():
    a = sp.symbols("a0:10")
    names = {str(s): s for s in a}
    with pytest.raises(SpecError, match=r"^e='\(a0\+.*: would expand to about 92378 terms; at most 5000 are "
                                        r"allowed where products or powers of sums are multiplied out$"):
        parse_expression("(" + "+".join(names) + ")^10", names, parameter="e")
    assert parse_expression("(" + "+".join(names) + ")^2", names, parameter="e") == sp.Add(*a) ** 2


def test_an_indexed_entry_followed_by_a_digit_multiplies():
    w = sp.IndexedBase("w")
    assert parse_expression("w[0]7 - 7 w[0]", {"w": w}, parameter="e", functions={},
                            implicit_multiplication=True) == 0


def test_an_unknown_name_lists_few_names():
    names = {f"a{i}": sp.Symbol(f"a{i}") for i in range(3000)}
    with pytest.raises(SpecError) as error:
        parse_expression("zz", names, parameter="e")
    assert "and 2980 more" in str(error.value) and len(str(error.value)) < 500


@pytest.mark.parametrize("text, column", [("1 000 a", 3), ("a + 2 3", 7), ("(2) 3 4", 7)])
def test_two_numbers_side_by_side_are_refused_with_implicit_multiplication(text, column):
    a = sp.Symbol("a")
    with pytest.raises(SpecError, match="^" + re.escape(
            f"entry={text!r}: two numbers side by side are not multiplied (is '1 000' a thousand?): write one "
            f"number, or a '*' between them (column {column})") + "$"):
        parse_expression(text, {"a": a}, parameter="entry", functions={}, implicit_multiplication=True)
    assert parse_expression("10 a (2) 3", {"a": a}, parameter="entry", functions={},
                            implicit_multiplication=True) == 60 * a
