"""Adversarial review A: the converse proofs' work bound and argument names (findings 4 and 8),
the CLI never overwriting its own input files (finding 6), and one keyword for a user-supplied
matrix in the form evaluators (issue 12)."""

from __future__ import annotations

import os
import re
import time
from math import prod
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symconv
import symconv.proof
from symconv import ConvSpec, SpecError
from symconv.cli import main
from symconv.converse import MAX_CONVERSE_TERMS, fc_as_conv, prove_conv1x1_as_fc, prove_fc_as_conv
from symconv.forms.transpose import input_gradient, upstream_symbols


def _refused_at_once(call, message: str) -> None:
    """``call`` raises SpecError with exactly ``message`` in under a second: before any work."""
    start = time.perf_counter()
    with pytest.raises(SpecError) as raised:
        call()
    assert time.perf_counter() - start < 1.0
    assert str(raised.value) == message


# ---- finding 4: the converse proofs have a work bound --------------------------------------------
def test_fc_as_conv_beyond_the_default_bound_is_refused_before_any_work():
    # 3 000 300 terms took about 7 minutes before the bound
    assert MAX_CONVERSE_TERMS == 200_000
    _refused_at_once(lambda: prove_fc_as_conv(300, (100, 100)),
                     "input_shape=(100, 100): an FC layer of out_features=300 is proved by expanding 3000300 "
                     "terms (products w·x and biases), more than max_terms=200000; pass a larger max_terms to "
                     "allow it")
    # one term over the default: 200 000 products and 1 bias
    _refused_at_once(lambda: prove_fc_as_conv(1, (200_000, 1)),
                     "input_shape=(200000, 1): an FC layer of out_features=1 is proved by expanding 200001 "
                     "terms (products w·x and biases), more than max_terms=200000; pass a larger max_terms to "
                     "allow it")


def test_conv1x1_as_fc_beyond_the_default_bound_is_refused_before_any_work():
    spec = ConvSpec(64, 64, kernel_size=1, input_size=(32, 32))   # 4.2M terms
    _refused_at_once(lambda: prove_conv1x1_as_fc(spec),
                     "spec='2-D, C_in=64, C_out=64, input=32×32, kernel=1×1, bias': a 1×1 conv is proved an FC "
                     "layer by expanding 4259840 terms (products w·x and biases), more than max_terms=200000; "
                     "pass a larger max_terms to allow it")


def test_conv1x1_rules_come_before_the_bound():
    """A 3×3 conv is no 1×1 conv, however large: that rule is the error, not the size."""
    _refused_at_once(lambda: prove_conv1x1_as_fc(ConvSpec(64, 64, kernel_size=3, input_size=(64, 64))),
                     "kernel_size=(3, 3): a conv is the same FC layer at every position only with kernel_size 1, "
                     "stride 1 and no padding")


def test_just_within_the_bound_still_proves():
    assert prove_fc_as_conv(3, (2, 10), max_terms=63).holds          # 60 products + 3 biases
    _refused_at_once(lambda: prove_fc_as_conv(3, (2, 10), max_terms=62),
                     "input_shape=(2, 10): an FC layer of out_features=3 is proved by expanding 63 terms "
                     "(products w·x and biases), more than max_terms=62; pass a larger max_terms to allow it")
    spec = ConvSpec(2, 3, kernel_size=1, input_size=4)                # 24 products + 12 biases
    assert prove_conv1x1_as_fc(spec, max_terms=36).holds
    _refused_at_once(lambda: prove_conv1x1_as_fc(spec, max_terms=35),
                     "spec='1-D, C_in=2, C_out=3, input=4, kernel=1, bias': a 1×1 conv is proved an FC layer by "
                     "expanding 36 terms (products w·x and biases), more than max_terms=35; pass a larger "
                     "max_terms to allow it")


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 3), st.lists(st.integers(1, 3), min_size=2, max_size=3), st.booleans())  # ≥ 2 terms
def test_the_bound_counts_exactly_the_terms_proved(out_features, shape, bias):
    count = out_features * prod(shape) + (out_features if bias else 0)   # products w·x and biases
    proof = prove_fc_as_conv(out_features, tuple(shape), bias=bias, max_terms=count)
    assert proof.holds and proof.terms == count
    with pytest.raises(SpecError, match=rf"^input_shape=.*expanding {count} terms .*max_terms={count - 1};"):
        prove_fc_as_conv(out_features, tuple(shape), bias=bias, max_terms=count - 1)


@pytest.mark.parametrize("limit, rule", [(0, "must be an integer ≥ 1"), (True, "must be an integer ≥ 1"),
                                         ("3", "must be an integer ≥ 1"), (2.5, "must be an integer ≥ 1")])
def test_the_bound_is_checked_by_name(limit, rule):
    for call in (lambda: prove_fc_as_conv(1, (1, 2), max_terms=limit),
                 lambda: prove_conv1x1_as_fc(ConvSpec(1, 1, 1, 2), max_terms=limit)):
        with pytest.raises(SpecError, match=f"^{re.escape(f'max_terms={limit!r}: {rule}')}$"):
            call()


# ---- finding 8: errors name the FC layer's own arguments -----------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: prove_fc_as_conv(10**6, (10**6, 10**6)),
     "input_shape=(1000000, 1000000): out_features·∏input_shape (entries of W, out_features=1000000) = "
     "1000000000000000000, more than 281474976710656 = 2**48 (symconv.spec.MAX_ELEMENTS)"),
    (lambda: prove_fc_as_conv(2, (2, 0)), "input_shape=(2, 0): every entry must be an integer ≥ 1"),
    (lambda: prove_fc_as_conv(2, [2, "a"]), "input_shape=[2, 'a']: every entry must be an integer ≥ 1"),
    (lambda: prove_fc_as_conv(2, (2, 2**40)),
     "input_shape=(2, 1099511627776): every entry must be at most 2147483647 (symconv.spec.MAX_EXTENT)"),
    (lambda: fc_as_conv([[1, 2]], (2, 0)), "input_shape=(2, 0): every entry must be an integer ≥ 1"),
])
def test_fc_errors_name_the_arguments_passed(call, message):
    _refused_at_once(call, message)


# ---- finding 6: the CLI never writes over a file it reads ----------------------------------------
LAYER = ["prove", "--kernel-size", "2", "--input-size", "3", "--no-bias"]
T_FILE = "w_{0,0,0}, w_{0,0,1}, 0\n0, w_{0,0,0}, w_{0,0,1}\n"   # this layer's own T
INPUT_FLAGS = ("--toeplitz", "--im2col", "--kernel-matrix", "--output")
OUTPUT_FLAGS = ("--latex", "--pdf", "--figure")


def _spelling(tmp_path: Path, how: str) -> str:
    """The input file in.txt as an output path: by name, ./, ../dir/, absolute, a symlink, a hard link."""
    links = {"symlink": os.symlink, "hard link": os.link}
    if how in links:
        links[how](tmp_path / "in.txt", tmp_path / "alias.txt")
        return "alias.txt"
    return {"name": "in.txt", "./": "./in.txt", "../": f"../{tmp_path.name}/in.txt",
            "absolute": str(tmp_path / "in.txt")}[how]


@pytest.mark.parametrize("how", ["name", "./", "../", "absolute", "symlink", "hard link"])
@pytest.mark.parametrize("output", OUTPUT_FLAGS)
@pytest.mark.parametrize("given", INPUT_FLAGS)
def test_an_output_naming_an_input_file_is_refused_before_any_work(tmp_path, monkeypatch, capsys, given, output,
                                                                   how):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text(T_FILE)
    path = _spelling(tmp_path, how)
    called = []
    monkeypatch.setattr(symconv.proof, "prove", lambda *a, **k: called.append(1))   # no proof may start
    assert main([*LAYER, given, "in.txt", output, path]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"symconv prove: error: {output}={path!r}: is the input file of {given}, which it would " \
                           "overwrite\n"
    assert (tmp_path / "in.txt").read_text() == T_FILE and not called


def test_an_input_given_through_a_symlink_is_protected_too(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "T.txt").write_text(T_FILE)
    os.symlink(tmp_path / "T.txt", tmp_path / "link.txt")
    assert main([*LAYER, "--toeplitz", "link.txt", "--latex", "T.txt"]) == 2
    assert capsys.readouterr().err == ("symconv prove: error: --latex='T.txt': is the input file of --toeplitz, "
                                       "which it would overwrite\n")
    assert (tmp_path / "T.txt").read_text() == T_FILE


def test_the_issue_command_no_longer_replaces_its_input(tmp_path, monkeypatch, capsys):
    """``symconv prove ... --toeplitz T.txt --latex T.txt`` proved, exited 0 and replaced T.txt."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "T.txt").write_text(T_FILE)
    assert main([*LAYER, "--toeplitz", "T.txt", "--latex", "T.txt"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert (tmp_path / "T.txt").read_text() == T_FILE
    # negative control: another output file is written and the same input is proved
    assert main([*LAYER, "--toeplitz", "T.txt", "--latex", "T.tex"]) == 0
    assert capsys.readouterr().out.startswith("PROVED")
    assert (tmp_path / "T.tex").read_text().startswith("\\documentclass") and (tmp_path / "T.txt").read_text() == T_FILE


def test_two_outputs_through_a_symlink_are_one_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.tex").write_text("mine")
    os.symlink(tmp_path / "a.tex", tmp_path / "b.tex")
    assert main([*LAYER, "--latex", "a.tex", "--figure", "b.tex"]) == 2
    assert capsys.readouterr().err == "symconv prove: error: --figure='b.tex': is also the file of --latex\n"
    assert (tmp_path / "a.tex").read_text() == "mine"


# ---- issue 12: one keyword for a user-supplied matrix in the form evaluators ---------------------
def _wrong(matrix) -> sp.Matrix:
    """``matrix`` with one entry changed: a result computed from it differs from symconv's own."""
    changed = sp.Matrix(matrix)
    changed[0, 0] += 1
    return changed


def _renamed_calls():
    """(function, new keyword, old keyword, a wrong matrix for that role, the arguments before it)."""
    spec = ConvSpec(2, 2, kernel_size=2, input_size=(3, 3), padding=1)
    x, w, b = symconv.symbols(spec)
    g = upstream_symbols(spec)
    T = symconv.toeplitz(spec, w)
    return [(symconv.toeplitz_conv, "toeplitz", "matrix", _wrong(T), (spec, x, w, b), {}),
            (symconv.im2col_conv, "im2col", "patches", _wrong(symconv.im2col(spec, x, "paper")), (spec, x, w, b),
             {"order": "paper"}),
            (symconv.im2col_conv, "kernel_matrix", "kernel", _wrong(symconv.kernel_matrix(spec, w)), (spec, x, w, b),
             {}),
            (input_gradient, "toeplitz_transpose", "matrix", _wrong(T.T), (spec, g, w), {})]


@pytest.mark.parametrize("function, new, old, matrix, args, options", _renamed_calls(),
                         ids=["toeplitz_conv", "im2col_conv-im2col", "im2col_conv-kernel_matrix", "input_gradient"])
def test_a_former_keyword_warns_and_reaches_the_same_role(function, new, old, matrix, args, options):
    own = function(*args, **options)
    renamed = function(*args, **options, **{new: matrix})
    assert not np.array_equal(renamed, own)            # the supplied matrix is used, not symconv's
    with pytest.warns(DeprecationWarning) as caught:
        former = function(*args, **options, **{old: matrix})
    assert [str(w.message) for w in caught] == [f"{old}= is deprecated: pass {new}= (the same argument)"]
    assert caught[0].filename == __file__              # points at the caller's line
    assert np.array_equal(former, renamed)


@pytest.mark.parametrize("function, new, old, matrix, args, options", _renamed_calls(),
                         ids=["toeplitz_conv", "im2col_conv-im2col", "im2col_conv-kernel_matrix", "input_gradient"])
def test_a_former_and_a_new_keyword_together_are_refused(function, new, old, matrix, args, options):
    with pytest.raises(SpecError) as raised:
        function(*args, **options, **{new: matrix, old: matrix})
    assert str(raised.value) == f"{old}='given with {new}': is the former name of {new}=, pass {new}= only"


def test_the_new_keywords_keep_the_former_positions():
    """toeplitz_conv's 5th argument, im2col_conv's 6th and 7th, input_gradient's 4th: the same roles."""
    (_, _, _, T, args, _), (_, _, _, P, _, _), (_, _, _, K, _, _), (_, _, _, Tt, grad_args, _) = _renamed_calls()
    assert np.array_equal(symconv.toeplitz_conv(*args, T), symconv.toeplitz_conv(*args, toeplitz=T))
    assert np.array_equal(symconv.im2col_conv(*args, "paper", P), symconv.im2col_conv(*args, order="paper", im2col=P))
    assert np.array_equal(symconv.im2col_conv(*args, "unfold", None, K), symconv.im2col_conv(*args, kernel_matrix=K))
    assert np.array_equal(input_gradient(*grad_args, Tt), input_gradient(*grad_args, toeplitz_transpose=Tt))


@pytest.mark.parametrize("call, message", [
    (lambda s, x, w: symconv.toeplitz_conv(s, x, w, toeplitz=sp.zeros(3, 3)),
     "toeplitz.shape=(3, 3): must be (4, 4) for this spec (NCHW layout)"),
    (lambda s, x, w: symconv.im2col_conv(s, x, w, im2col=sp.zeros(2, 2)),
     "im2col.shape=(2, 2): must be (1, 4) for this spec (unfold order layout)"),
    (lambda s, x, w: symconv.im2col_conv(s, x, w, kernel_matrix=sp.zeros(2, 2)),
     "kernel_matrix.shape=(2, 2): must be (1, 1) for this spec (unfold order layout)"),
    (lambda s, x, w: input_gradient(s, x, w, toeplitz_transpose=sp.zeros(3, 3)),
     "toeplitz_transpose.shape=(3, 3): must be (4, 4) for this spec (Tᵀ layout)"),
])
def test_the_new_keywords_name_themselves_in_errors(call, message):
    spec = ConvSpec(1, 1, kernel_size=1, input_size=(2, 2), bias=False)
    x, w, _ = symconv.symbols(spec)
    with pytest.raises(SpecError) as raised:
        call(spec, x, w)
    assert str(raised.value) == message
