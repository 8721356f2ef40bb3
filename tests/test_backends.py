"""The exact backend against the SymPy backend: identical verdicts and identical counterexamples
on every negative control; the exact definition against torch; memory estimate, progress, the
benchmark's smoke run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symconv
from symconv.backends import choose, estimate_bytes, exact
from symconv.symbols import from_canonical_input, to_canonical_input, to_canonical_output, to_canonical_weight
from tests.strategies import conv_specs, integer_operands
from tests.torch_reference import torch_conv

ROOT = Path(__file__).resolve().parents[1]


def both(spec: symconv.ConvSpec, **forms) -> symconv.Proof:
    """Prove with both backends, assert the same verdict and counterexample, return the exact one."""
    by_sympy = symconv.prove(spec, backend="sympy", **forms)
    by_exact = symconv.prove(spec, backend="exact", **forms)
    assert by_exact.holds == by_sympy.holds
    assert by_exact.counterexample == by_sympy.counterexample
    assert by_exact.forms == by_sympy.forms and by_exact.statement == by_sympy.statement
    assert by_sympy.backend == "sympy" and by_exact.backend.startswith("exact")
    return by_exact


# ---- positive: every spec class, both im2col orders ----------------------------------------
@settings(max_examples=60, deadline=None)
@given(conv_specs(max_terms=250))
def test_both_backends_prove_every_spec_class(spec: symconv.ConvSpec) -> None:
    for order in ("unfold", "paper"):
        proof = symconv.prove(spec, backend="exact", order=order)
        assert proof.holds and proof.backend == "exact"
    assert symconv.prove(spec, backend="sympy").holds


@settings(max_examples=30, deadline=None)
@given(conv_specs(max_terms=250))
def test_exact_definition_evaluates_to_torch(spec: symconv.ConvSpec) -> None:
    """The integer representation of the definition, evaluated at integers, is torch's layer
    (this checks the id numbering and the shared index core the forms are built from)."""
    x, w, b = integer_operands(spec, seed=1)
    basis = exact.Basis.of(spec)
    w_flat = np.asarray(to_canonical_weight(spec, w)).reshape(-1)
    x_flat = np.asarray(to_canonical_input(spec, x)).reshape(-1)
    w_values = np.concatenate([w_flat, b if b is not None else []]).astype(np.int64)
    x_values = np.append(x_flat, 1).astype(np.int64)
    terms = exact.definition_terms(spec, basis, 0, basis.rows)
    y = np.zeros(basis.rows, dtype=np.int64)
    np.add.at(y, terms.row, w_values[terms.w] * x_values[terms.x])
    expected = to_canonical_output(spec, torch_conv(spec, x, w, b)).reshape(-1)
    assert np.array_equal(y, expected.astype(np.int64))


# ---- negative controls: both backends, the same counterexample ------------------------------
SPEC = symconv.ConvSpec(2, 3, kernel_size=(2, 3), input_size=(4, 5), stride=(1, 2),
                        padding=((1, 0), (0, 1)))


def _spec_variants() -> list[symconv.ConvSpec]:
    return [SPEC, replace_spec(SPEC, layout="NHWC"), replace_spec(SPEC, groups=1, padding_mode="circular"),
            symconv.ConvSpec(4, 2, kernel_size=2, input_size=(3, 4, 3), groups=2, bias=False, stride=(1, 2, 1),
                             padding=((0, 1), (1, 0), (0, 0)))]


def replace_spec(spec: symconv.ConvSpec, **changes) -> symconv.ConvSpec:
    fields = dict(in_channels=spec.in_channels, out_channels=spec.out_channels,
                  kernel_size=spec.kernel_size, input_size=spec.input_size, stride=spec.stride,
                  padding=spec.padding, dilation=spec.dilation, groups=spec.groups, bias=spec.bias,
                  padding_mode=spec.padding_mode, convention=spec.convention, layout=spec.layout)
    return symconv.ConvSpec(**{**fields, **changes})


def negative_controls(spec: symconv.ConvSpec) -> dict[str, dict]:
    """name → prove() keyword arguments of a wrong form."""
    x, w, b = symbols = symconv.symbols(spec)
    T = symconv.toeplitz(spec, w)
    P, K = symconv.im2col(spec, x), symconv.kernel_matrix(spec, w)
    flipped = replace_spec(spec, convention="convolution")
    swapped = replace_spec(spec, padding=tuple((after, before) for before, after in spec.padding))
    unstrided = replace_spec(spec, stride=1)
    reversed_x = from_canonical_input(
        spec, to_canonical_input(spec, x)[::-1])
    wrong_P, wrong_K = sp.Matrix(P), sp.Matrix(K)
    j, out = next((j, out) for j in range(P.shape[0]) for out in range(P.shape[1]) if P[j, out] != 0)
    wrong_P[j, out] = next(v for v in x.flat if v != P[j, out])   # one patch entry misread
    wrong_K[0, 0], wrong_K[0, 1] = K[0, 1], K[0, 0]
    wrong_output = symconv.conv(spec, *symbols).copy()
    last = tuple(n - 1 for n in wrong_output.shape)
    wrong_output[last] = wrong_output[last] - w.flat[0] * x.flat[0] + w.flat[0] * x.flat[1]
    return {
        "off-by-one shifted T": dict(toeplitz=T[:, [T.shape[1] - 1] + list(range(T.shape[1] - 1))]),
        "flipped kernel": dict(toeplitz=symconv.toeplitz(flipped, w)),
        "stride ignored": dict(im2col=symconv.im2col(unstrided, x)[:, :P.shape[1]]),
        "wrong padding side": dict(output=symconv.conv(swapped, *symbols)),
        "wrong channel order": dict(output=symconv.conv(spec, reversed_x, w, b)),
        "wrong P": dict(im2col=wrong_P),
        "wrong K": dict(kernel_matrix=wrong_K),
        "wrong output": dict(output=wrong_output),
        "w·w in T (not bilinear: checked by SymPy)": dict(toeplitz=T + sp.SparseMatrix(
            T.shape[0], T.shape[1], {(0, 0): w.flat[0] ** 2})),
        "rational coefficient in K": dict(kernel_matrix=K / 2),
    }


@pytest.mark.parametrize("spec", _spec_variants(), ids=lambda s: s.describe())
def test_negative_controls_give_identical_counterexamples(spec: symconv.ConvSpec) -> None:
    for name, forms in negative_controls(spec).items():
        proof = both(spec, **forms)
        assert not proof.holds, name
        assert proof.counterexample.difference != 0, name
        delegated = "w·w" in name or "rational" in name
        assert (proof.backend != "exact") == delegated, (name, proof.backend)


@settings(max_examples=40, deadline=None)
@given(conv_specs(max_terms=200), st.data())
def test_a_dropped_term_anywhere_gives_identical_counterexamples(spec: symconv.ConvSpec,
                                                                data: st.DataObject) -> None:
    x, w, b = symconv.symbols(spec)
    y = symconv.conv(spec, x, w, b).copy()
    index = tuple(data.draw(st.integers(0, n - 1)) for n in y.shape)
    terms = sp.Add.make_args(y[index])
    y[index] = sp.Add(*terms[1:]) if len(terms) > 1 else y[index] + 1
    proof = both(spec, output=y)
    channels_first = index if spec.layout == "NCHW" else (index[-1], *index[:-1])
    assert not proof.holds and proof.counterexample.index == channels_first


def test_off_by_one_counterexample_by_hand() -> None:
    spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    x, w, _ = symconv.symbols(spec)
    T = symconv.toeplitz(spec, w)
    proof = both(spec, toeplitz=T[:, [2, 0, 1]])
    cx = proof.counterexample
    assert (cx.form, cx.index) == ("toeplitz", (0, 0))
    assert cx.expected == w[0, 0, 0] * x[0, 0] + w[0, 0, 1] * x[0, 1]
    assert cx.obtained == w[0, 0, 0] * x[0, 1] + w[0, 0, 1] * x[0, 2]
    assert set(cx.missing) == {w[0, 0, 0] * x[0, 0], w[0, 0, 1] * x[0, 1]}
    assert set(cx.extra) == {w[0, 0, 0] * x[0, 1], w[0, 0, 1] * x[0, 2]}


def test_forms_are_reported_in_order_at_their_first_row() -> None:
    """A wrong output late in the scan and a wrong T early: the output form is reported (it
    comes first), at its own first differing row, by both backends."""
    spec = SPEC
    x, w, b = symconv.symbols(spec)
    y = symconv.conv(spec, x, w, b).copy()
    y[-1, -1, -1] = y[-1, -1, -1] + 1 * w.flat[0] * x.flat[0]
    T = symconv.toeplitz(spec, w)
    proof = both(spec, output=y, toeplitz=T[:, [T.shape[1] - 1] + list(range(T.shape[1] - 1))])
    assert proof.counterexample.form == "output"
    assert proof.counterexample.index == tuple(n - 1 for n in y.shape)


def test_correct_user_forms_with_signs_and_sums_are_proved() -> None:
    """User forms that differ in writing but not in value: K and P written as polynomials that
    expand to them, T of circular padding (entries that are sums of weights), the output with a
    zero written as (a + c)² − a² − 2ac − c². −K with −P has the right product K·P (both backends
    accept it) but not unfold's factors: refuted at P[0,0] by the entry-by-entry comparison."""
    spec = replace_spec(SPEC, padding_mode="circular", input_size=(2, 2), padding=1, stride=1)
    x, w, b = symconv.symbols(spec)
    P, K = symconv.im2col(spec, x), symconv.kernel_matrix(spec, w)
    y = symconv.conv(spec, x, w, b).copy()
    a, c = w.flat[1], x.flat[1]
    y[0, 0, 0] = y[0, 0, 0] + (a + c) ** 2 - a ** 2 - 2 * a * c - c ** 2   # expands to y
    T = symconv.toeplitz(spec, w)
    assert any(len(sp.Add.make_args(v)) > 1 for v in T.todok().values())
    signs = both(spec, im2col=-P, kernel_matrix=-K).counterexample
    assert (signs.form, signs.index, signs.expected, signs.obtained) == ("im2col_matrix", (0, 0), P[0, 0], -P[0, 0])
    rewritten = (P.applyfunc(lambda v: (v + 1) ** 2 - v ** 2 - v - 1), K.applyfunc(lambda v: v * (v + 1) - v ** 2))
    assert rewritten[0] != P and rewritten[1] != K
    assert both(spec, im2col=rewritten[0], kernel_matrix=rewritten[1]).holds
    assert both(spec, toeplitz=T, output=y).holds


def test_canonical_merges_duplicates_and_drops_zeros() -> None:
    basis = exact.Basis(n_w=2, n_x=2, n_out=1, rows=2)
    terms = exact.Terms(row=np.array([1, 0, 1, 0, 0]), w=np.array([0, 1, 0, 0, 1]),
                        x=np.array([1, 0, 1, 1, 0]), coef=np.array([2, 1, -2, 5, 1]))
    form = exact.canonical(terms, basis, r0=0)

    def key(r, a, i):
        return (r * basis.W + a) * basis.X + i

    assert form.keys.tolist() == [key(0, 0, 1), key(0, 1, 0)]
    assert form.coef.tolist() == [5, 2]
    other = exact.canonical(exact.Terms(np.array([0]), np.array([0]), np.array([1])), basis, 0)
    assert exact.first_differing_row(form, other, basis, 0) == 0
    assert exact.first_differing_row(form, form, basis, 0) is None


def test_chunks_cover_every_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """With tiny chunks the proof and the counterexample row are unchanged."""
    controls = negative_controls(SPEC)
    expected = symconv.prove(SPEC, backend="exact", **controls["wrong output"]).counterexample
    monkeypatch.setattr(exact, "CHUNK_TERMS", 7)
    assert exact.Basis.of(SPEC).rows_per_chunk(SPEC) == 1
    assert symconv.prove(SPEC, backend="exact").holds
    assert symconv.prove(SPEC, backend="exact", **controls["wrong output"]).counterexample == expected


# ---- choice, memory, progress ----------------------------------------------------------------
def test_backend_choice_and_bad_backend() -> None:
    assert choose("sympy") == "sympy" and choose("exact") == "exact"
    assert choose("auto") == "exact" and symconv.prove(SPEC).backend == "exact"
    with pytest.raises(symconv.SpecError, match="backend='numba'"):
        symconv.prove(SPEC, backend="numba")


def test_memory_estimate_refuses_before_work() -> None:
    with pytest.raises(symconv.SpecError) as refused:
        symconv.prove(SPEC, backend="sympy", memory_limit=10_000)
    message = str(refused.value)
    assert SPEC.describe() in message and "memory_limit" in message and "9.8 KiB" in message
    assert f"{estimate_bytes(SPEC, 'sympy') / 1024:.1f} KiB" in message
    with pytest.raises(symconv.SpecError, match="memory_limit=-1"):
        symconv.prove(SPEC, memory_limit=-1)
    assert symconv.prove(SPEC, backend="exact", memory_limit=estimate_bytes(SPEC, "exact")).holds


def test_memory_estimate_is_an_upper_bound_that_scales() -> None:
    stem = symconv.ConvSpec(3, 64, kernel_size=7, input_size=(224, 224), stride=2, padding=3)
    assert estimate_bytes(stem, "exact") < 2 << 30 < estimate_bytes(stem, "sympy")


def test_progress_bar(capsys: pytest.CaptureFixture) -> None:
    assert symconv.prove(SPEC, backend="exact", progress=True).holds
    assert "proving (exact)" in capsys.readouterr().err
    assert symconv.prove(SPEC, backend="sympy", progress=True).holds
    assert "proving (sympy)" in capsys.readouterr().err
    symconv.prove(SPEC, backend="exact")
    assert capsys.readouterr().err == ""


def test_benchmark_quick_prints_json() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--quick"],
                         capture_output=True, text=True, check=True, cwd=ROOT, timeout=600)
    report = json.loads(run.stdout)
    assert {"machine", "cases", "caps"} <= report.keys()
    case = report["cases"][0]
    assert {"name", "spec", "terms", "symconv", "sympy", "symengine"} <= case.keys()
    assert {"seconds", "peak_bytes", "terms_per_second", "holds"} <= case["symconv"].keys()
    assert case["symconv"]["holds"] is True
    assert {"speedup_vs_sympy", "speedup_vs_symengine"} <= case.keys()
