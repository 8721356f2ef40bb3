"""The structure of symconv.general (issue 12): options bound before a theorem runs, the renamed
names kept as deprecated aliases, one table of tensor names, each index formula written once,
no import cycle through general/, the size limits, and the reflect map's LaTeX printed from its
one symbolic definition."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import sympy as sp

import symconv
import symconv.general as general
from symconv.errors import SpecError
from symconv.general import budget, evaluate, notation
from symconv.general.derivation import Step
from symconv.general.dft import dft_symbols
from symconv.general.latex import DerivationPrinter
from symconv.general.setting import RENAMED, Layer, source_map

ROOT = Path(__file__).resolve().parent.parent
GENERAL = ROOT / "symconv" / "general"


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- options bound with inspect.signature ---------------------------------------------------
def test_an_unknown_option_is_named_with_the_accepted_ones():
    with pytest.raises(SpecError) as error:
        general.prove_general("toeplitz", instance=3)
    assert str(error.value) == ("options=['instance']: not accepted by 'toeplitz'; it accepts ['entry', "
                                "'out_size', 'instances', 'seed', 'padding_mode', 'source', 'deadline']")
    with pytest.raises(SpecError) as error:
        general.prove_general("dft", order="paper", bias=True)
    assert str(error.value) == ("options=['bias', 'order']: not accepted by 'dft'; it accepts ['entry', "
                                "'symbol', 'instances', 'seed', 'deadline']")


@pytest.mark.parametrize("option, value, message", [
    ("instances", "3", "instances='3': must be an integer ≥ 1"),
    ("instances", 0, "instances=0: must be an integer ≥ 1"),
    ("seed", 1.5, "seed=1.5: must be an integer"),
    ("deadline", "soon", "deadline='soon': must be a number of seconds > 0 (finite)"),
])
def test_a_wrong_typed_option_is_reported_by_its_own_check(option, value, message):
    with pytest.raises(SpecError) as error:
        general.prove_general("toeplitz", **{option: value})
    assert str(error.value) == message


def test_a_type_error_inside_a_theorem_is_not_read_as_an_unknown_option(monkeypatch):
    def broken(dims: int = 1, instances: int = 6):
        raise TypeError("a bug inside the theorem")
    monkeypatch.setitem(general.THEOREMS, "toeplitz", broken)
    with pytest.raises(TypeError, match="a bug inside the theorem"):
        general.prove_general("toeplitz", instances=3)


# ---- names: deprecated aliases for one release -----------------------------------------------
def test_counterexample_is_a_deprecated_alias_of_general_counterexample():
    with pytest.warns(DeprecationWarning, match="use symconv.general.GeneralCounterexample"):
        alias = general.Counterexample
    assert alias is general.GeneralCounterexample
    assert "GeneralCounterexample" in general.__all__ and "Counterexample" not in general.__all__
    with pytest.raises(AttributeError):
        general.NoSuchName  # noqa: B018


def test_a_refutation_carries_a_general_counterexample():
    wrong = dft_symbols(1).default.xreplace({sp.Symbol("z"): 1 / sp.Symbol("z")})
    derivation = general.prove_general("dft", symbol=wrong, instances=2)
    assert derivation.verdict == "REFUTED"
    assert isinstance(derivation.failure.counterexample, general.GeneralCounterexample)


@pytest.mark.parametrize("old, new", sorted(RENAMED.items()))
def test_a_renamed_layer_attribute_is_a_deprecated_alias(old, new):
    layer = Layer(2, tag="1")
    with pytest.warns(DeprecationWarning, match=f"Layer.{old} is deprecated, use Layer.{new}"):
        value = getattr(layer, old)
    assert value is getattr(layer, new)


def test_dead_code_is_gone():
    assert not hasattr(Step, "expression")
    from symconv.forms.im2col import ORDERS
    from symconv.general.theorems import im2col_product
    assert im2col_product.ORDERS is ORDERS                      # imported, not a second copy
    sources = "\n".join(p.read_text() for p in GENERAL.rglob("*.py"))
    assert "raise_symbolic" not in sources and 'ORDERS = ("unfold"' not in sources


# ---- one table of names, one copy of each index formula -------------------------------------
def test_layer_tensors_and_their_latex_come_from_the_notation_table():
    layer = Layer(1)
    printer = DerivationPrinter()
    for tensor in notation.LAYER_TENSORS:
        base = getattr(layer, tensor.attribute)
        assert str(base.label) == tensor.label
        assert printer.doprint(base[layer.j[0]]) == f"{tensor.latex or tensor.label}_{{j}}"
    stacked = Layer(1, tag="2")
    assert printer.doprint(stacked.fc_output[stacked.flat_row]) == r"(T^{(2)} \operatorname{vec} x^{(2)})_{R^{(2)}}"


def test_the_index_formulas_are_the_layers():
    layer = Layer(2)
    assert layer.position(1) == layer.s[1] * layer.j[1] + layer.d[1] * layer.t[1] - layer.p[1]
    assert layer.position(0, j=0) == layer.d[0] * layer.t[0] - layer.p[0]
    pattern = sp.Mul(*(sp.KroneckerDelta(i, layer.position(a)) for a, i in enumerate(layer.i)))
    assert layer.entry() == sp.KroneckerDelta(sp.floor(layer.c / layer.Ci), layer.g) * sp.Sum(
        layer.w[layer.o, layer.c - layer.g * layer.Ci, *layer.t] * pattern,
        *((t, 0, k - 1) for t, k in zip(layer.t, layer.k)))
    names = dft_symbols(2)
    assert names.default == names.layer.channel_block(names.layer.c, sp.Mul(*(
        z ** (d * t - p) for z, d, t, p in zip(names.z, names.layer.d, names.layer.t, names.layer.p))))


def test_no_theorem_retypes_an_index_formula():
    """s·j + d·t − p, T's entry skeleton and the padding maps appear only in setting.py."""
    retyped = re.compile(r"\.s\[a\]\s*\*|\bs \* j \+ d \* t|KroneckerDelta\(sp\.floor\(|"
                         r"Reflect\(|Replicate\(|sp\.Mod\(u")
    for path in [GENERAL / "dft.py", *sorted((GENERAL / "theorems").glob("*.py"))]:
        assert not retyped.search(path.read_text()), path.name


# ---- limits of issue 12 ---------------------------------------------------------------------
def test_general_takes_part_in_no_import_cycle():
    tool = _tool("import_cycles")
    files = sorted((ROOT / "symconv").rglob("*.py"))
    modules = {tool.module_name(f) for f in files}
    graph = {tool.module_name(f): tool.imports_of(f, modules) for f in files}
    assert [c for c in tool.strongly_connected(graph) if any(m.startswith("symconv.general") for m in c)] == []
    assert "symconv.general.evaluate" not in graph["symconv.general.expr"] | graph["symconv.general.smt"]


def test_general_keeps_the_size_limits():
    assert _tool("code_size").breaches(GENERAL, 500, 60) == []


def test_the_evaluator_reexports_the_leaf_budget():
    assert evaluate.LimitExceeded is budget.LimitExceeded and evaluate.limits is budget.limits
    assert evaluate.check_deadline is budget.check_deadline
    with pytest.raises(budget.LimitExceeded, match="one evaluation may visit at most 10 "), \
            budget.limits(max_terms=10):
        n = sp.Symbol("n", integer=True)
        evaluate.evaluate(sp.Sum(n, (n, 0, 10)), evaluate.Env({}))


# ---- the reflect map's LaTeX -----------------------------------------------------------------
def test_the_reflect_map_is_printed_from_its_symbolic_definition():
    spec = symconv.ConvSpec(1, 1, 3, (4, 5), padding=1, padding_mode="reflect")
    text = symconv.prove(spec).to_latex()
    for position, size in (("u", 4), ("v", 5)):
        table = source_map("reflect", sp.Symbol(position, integer=True), sp.Integer(size)).piecewise()
        assert table == sp.Piecewise((-sp.Symbol(position), sp.Symbol(position) < 0),
                                     (2 * (size - 1) - sp.Symbol(position), sp.Symbol(position) >= size),
                                     (sp.Symbol(position), True)).subs(
            sp.Symbol(position), sp.Symbol(position, integer=True))
        assert rf"\sigma_{{{'1' if position == 'u' else '2'}}}({position}) = {sp.latex(table)}" in text
