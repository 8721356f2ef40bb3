"""The result model (issue 12): one type per kind of result, LaTeX builders registered by type,
one keyword per user-supplied matrix (old keywords deprecated), and no import cycle through the
results."""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symconv
from symconv import ConvSpec, SpecError
from symconv.converse import prove_conv1x1_as_fc, prove_fc_as_conv
from symconv.forms.transpose import prove_transpose
from symconv.latex import proof_to_latex
from symconv.registry import DISPLAYS, REPORTS, Registry
from symconv.result import (
    BlockDiagonalisationProof,
    Conv1x1AsFCProof,
    ConverseProof,
    ConvProof,
    Counterexample,
    FCAsConvProof,
    Proof,
    Result,
    TransposeProof,
)
from symconv.spectral import dft_block_diagonalisation, prove_block_diagonalisation

ROOT = Path(__file__).resolve().parent.parent
SPEC = ConvSpec(1, 1, kernel_size=2, input_size=3)
CIRCULAR = ConvSpec(1, 1, kernel_size=3, input_size=4, padding=1, padding_mode="circular")
sys.path.insert(0, str(ROOT / "tools"))
import import_cycles  # noqa: E402 - the CI script, from tools/


def _graph() -> dict[str, set[str]]:
    files = sorted((ROOT / "symconv").rglob("*.py"))
    modules = {import_cycles.module_name(f) for f in files}
    return {import_cycles.module_name(f): import_cycles.imports_of(f, modules) for f in files}


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for found in graph[todo.pop()] - seen:
            seen.add(found)
            todo.append(found)
    return seen


# ---- one type per kind, all of them Proofs ----------------------------------------------------------
def test_each_kind_of_result_has_its_own_type_and_stays_a_proof():
    w = symconv.symbols(CIRCULAR)[1]
    one = ConvSpec(2, 2, kernel_size=1, input_size=2)
    kinds = {ConvProof: symconv.prove(SPEC), TransposeProof: prove_transpose(SPEC),
             FCAsConvProof: prove_fc_as_conv(2, (1, 3)), Conv1x1AsFCProof: prove_conv1x1_as_fc(one),
             BlockDiagonalisationProof: prove_block_diagonalisation(CIRCULAR, toeplitz=symconv.toeplitz(CIRCULAR, w))}
    for kind, result in kinds.items():
        assert type(result) is kind and isinstance(result, Proof) and isinstance(result, symconv.Proof)
        assert result.holds and repr(result).startswith("<Proof PROVED: ")
    assert issubclass(FCAsConvProof, ConverseProof) and issubclass(Conv1x1AsFCProof, ConverseProof)
    assert symconv.proof.Counterexample is Counterexample and symconv.proof.Proof is Proof
    assert symconv.proof.PrintsItself is Result


def test_a_kind_holds_only_the_matrices_of_its_vocabulary():
    proof = symconv.prove(SPEC)
    with pytest.raises(TypeError, match=r"ConvProof.given: \['matrix'\] not among"):
        ConvProof(spec=SPEC, statement=proof.statement, forms=proof.forms, holds=True, counterexample=None,
                  terms=proof.terms, outputs=proof.outputs, given={"matrix": 1})


# ---- the registry -------------------------------------------------------------------------------------
def test_registry_dispatches_along_the_mro_and_names_an_unregistered_type():
    class Base:
        pass

    class Child(Base):
        pass

    class Own(Base):
        pass

    table = Registry("test printer")
    table.register(Base)(lambda value: "base")
    table.register(Own)(lambda value: "own")
    assert table.lookup(Child)(Child()) == "base" and table.lookup(Own)(Own()) == "own"
    with pytest.raises(SpecError, match=r"^result='int': is not a symconv result with a test printer$"):
        table.lookup(int)


@dataclass(frozen=True, repr=False)
class _MyTransposeProof(TransposeProof):
    """A subclass nobody registered: it prints with its parent's builder."""


def test_a_subclass_of_a_result_type_gets_its_parents_report():
    proof = prove_transpose(SPEC)
    mine = _MyTransposeProof(**{f.name: getattr(proof, f.name) for f in fields(proof)})
    assert REPORTS.lookup(_MyTransposeProof) is REPORTS.lookup(TransposeProof)
    assert mine.to_latex() == proof.to_latex() and mine._repr_latex_() == proof._repr_latex_()


def test_an_unregistered_result_is_refused_naming_its_type():
    class Stranger(Result):
        statement, holds, counterexample = "s", True, None

    with pytest.raises(SpecError, match=r"^result='object': is not a symconv result with a LaTeX report$"):
        proof_to_latex(object())
    assert DISPLAYS.lookup(Stranger) is DISPLAYS.lookup(Result)  # the generic display, which asks for a report
    with pytest.raises(SpecError, match=r"^result='Stranger': is not a symconv result with a LaTeX report$"):
        Stranger().to_latex()


def test_options_are_read_from_the_builders_signature():
    with pytest.raises(SpecError, match=r"^options=\['figures'\]: a TransposeProof takes standalone, max_size, "
                                        r"label_prefix, max_terms, title$"):
        proof_to_latex(prove_transpose(SPEC), figures="tikz")
    with pytest.raises(SpecError, match=r"^options=\['colour'\]: a ConvProof takes standalone, max_size, "
                                        r"label_prefix, max_terms, title, figures, order, toeplitz, "
                                        r"im2col, kernel_matrix$"):
        proof_to_latex(symconv.prove(SPEC), colour="red")


def test_a_fresh_interpreter_prints_a_result_without_importing_latex_itself():
    code = ("import sys, symconv\nassert 'symconv.latex' not in sys.modules and 'sympy' not in sys.modules\n"
            "p = symconv.prove(symconv.ConvSpec(1, 1, 2, 3))\nassert 'symconv.latex' not in sys.modules\n"
            "assert p.to_latex().startswith('\\\\documentclass') and 'Proved' in p._repr_latex_()\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# ---- one keyword per matrix, the old ones deprecated ----------------------------------------------------
def _wrong_transpose():
    T = sp.Matrix(symconv.toeplitz(SPEC, symconv.symbols(SPEC)[1])).T
    T[0, 0] = 0
    return T


def test_prove_transpose_takes_toeplitz_transpose_and_its_old_name_with_a_warning():
    wrong = _wrong_transpose()
    new = prove_transpose(SPEC, toeplitz_transpose=wrong)
    with pytest.warns(DeprecationWarning, match=r"^matrix= is deprecated: pass toeplitz_transpose= "):
        old = prove_transpose(SPEC, matrix=wrong)
    assert not new.holds and not old.holds and old.counterexample == new.counterexample
    assert set(old.given) == {"toeplitz_transpose"} and old.given["toeplitz_transpose"] == wrong
    with pytest.raises(SpecError, match=r"^matrix='given with toeplitz_transpose': is the former name"):
        prove_transpose(SPEC, toeplitz_transpose=wrong, matrix=wrong)


def test_prove_block_diagonalisation_takes_toeplitz_and_its_old_name_with_a_warning():
    T = sp.Matrix(symconv.toeplitz(CIRCULAR, symconv.symbols(CIRCULAR)[1]))
    T[0, 0] = 0
    new = prove_block_diagonalisation(CIRCULAR, toeplitz=T)
    with pytest.warns(DeprecationWarning, match=r"^toeplitz_matrix= is deprecated: pass toeplitz= "):
        old = prove_block_diagonalisation(CIRCULAR, toeplitz_matrix=T)
    assert not new.holds and old.counterexample == new.counterexample and old.given == {"toeplitz": T}
    with pytest.raises(SpecError, match=r"^toeplitz_matrix='given with toeplitz': "):
        prove_block_diagonalisation(CIRCULAR, toeplitz=T, toeplitz_matrix=T)


def test_exact_roots_replaces_exact_which_still_works_with_a_warning():
    w = np.array([[[1, 2, 3]]], dtype=object)
    blocks = dft_block_diagonalisation(CIRCULAR, w, exact_roots=True)
    assert blocks.exact_roots is True
    with pytest.warns(DeprecationWarning, match=r"^exact= is deprecated: pass exact_roots= "):
        old = dft_block_diagonalisation(CIRCULAR, w, exact=True)
    assert np.array_equal(old.blocks, blocks.blocks)
    with pytest.warns(DeprecationWarning, match="exact_roots"):
        assert old.exact is True
    with pytest.raises(SpecError, match=r"^exact='given with exact_roots': "):
        dft_block_diagonalisation(CIRCULAR, w, exact_roots=True, exact=True)


def test_the_new_keywords_warn_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert prove_transpose(SPEC, toeplitz_transpose=symconv.toeplitz(SPEC, symconv.symbols(SPEC)[1]).T).holds
        assert dft_block_diagonalisation(CIRCULAR, np.ones((1, 1, 3)), exact_roots=False).exact_roots is False


# ---- no import cycle through the results ----------------------------------------------------------------
PROVERS_AND_PRINTERS = ("symconv.proof", "symconv.backends", "symconv.latex", "symconv.converse", "symconv.spectral",
                        "symconv.interop", "symconv.forms.transpose")


def test_the_result_modules_reach_no_prover_and_no_latex():
    graph = _graph()
    for leaf in ("symconv.result", "symconv.result.compare", "symconv.result.kinds", "symconv.registry"):
        reached = _reachable(graph, leaf)
        assert not {m for m in reached if m.startswith(PROVERS_AND_PRINTERS)}, leaf
    assert graph["symconv.registry"] == {"symconv.errors"}
    tree = ast.parse((ROOT / "symconv" / "result" / "compare.py").read_text())
    names = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert names == {"__future__", "dataclasses", "typing", "errors", "registry", "spec", "symbols"}


def test_no_import_cycle_runs_through_results_proofs_or_latex():
    cycles = import_cycles.strongly_connected(_graph())
    mine = ("symconv.result", "symconv.registry", *PROVERS_AND_PRINTERS)
    assert not [cycle for cycle in cycles if any(m.startswith(mine) for m in cycle)]
