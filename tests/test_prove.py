"""prove(): holds on every spec class, and rejects every wrong form with an exact counterexample."""

from __future__ import annotations

from math import prod

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import symconv
from symconv import ConvSpec
from tests.strategies import GRID_SPECS, conv_specs

BACKENDS = ("sympy", "exact")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every control runs on both exact backends: they must agree on verdict and counterexample."""
    return request.param


def s(name: str, *index: int) -> sp.Symbol:
    """The symbol symconv.symbols names ``name_{i,j,…}``."""
    return sp.Symbol(f"{name}_{{{','.join(map(str, index))}}}")


def w(*index: int) -> sp.Symbol:
    return s("w", *index)


def x(*index: int) -> sp.Symbol:
    return s("x", *index)


def assert_refuted(proof: symconv.Proof, form: str, index: tuple[int, ...],
                   missing: set, extra: set) -> symconv.Counterexample:
    """The proof fails at ``index`` of ``form`` lacking exactly ``missing`` and having ``extra``."""
    assert not proof.holds and not proof
    found = proof.counterexample
    assert found is not None
    assert (found.form, found.index) == (form, index)
    assert set(found.missing) == missing and len(found.missing) == len(missing)
    assert set(found.extra) == extra and len(found.extra) == len(extra)
    assert sp.expand(found.expected - found.obtained - found.difference) == 0
    assert sp.expand(found.difference - sum(missing) + sum(extra)) == 0
    assert proof.summary().startswith("REFUTED: ") and str(found) in proof.summary()
    return found


# ---- proofs that hold -----------------------------------------------------------------------
def check_holds(spec: ConvSpec, order: str, backend: str) -> None:
    proof = symconv.prove(spec, backend=backend, order=order)
    assert proof.holds and bool(proof) and proof.counterexample is None, proof.summary()
    assert proof.forms == ("toeplitz", "im2col")
    product = "K·P" if order == "unfold" else "P·K"     # y = K·P (unfold) or P·K (Ma and Lu's order)
    assert proof.statement == (f"conv(x, w, b) = T·vec(x) + b⊗1 = {product} + b" if spec.bias
                               else f"conv(x, w) = T·vec(x) = {product}")   # the text follows the bias
    assert proof.summary().startswith(f"PROVED: {proof.statement} [")
    assert set(proof.timings) == {"definition", "toeplitz", "im2col"}
    assert proof.terms == spec.n_terms + spec.n_bias_terms
    assert proof.outputs == prod(spec.output_shape)
    assert proof.summary().startswith("PROVED: ")
    assert proof.backend == backend


@pytest.mark.parametrize("order", ["unfold", "paper"])
@pytest.mark.parametrize("spec", GRID_SPECS, ids=[sp_.describe() for sp_ in GRID_SPECS])
def test_prove_holds_on_the_grid(spec: ConvSpec, order: str, backend: str) -> None:
    check_holds(spec, order, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=150, deadline=None)
@given(conv_specs(max_terms=600), st.sampled_from(["unfold", "paper"]))
def test_prove_holds_on_random_specs(backend: str, spec: ConvSpec, order: str) -> None:
    check_holds(spec, order, backend)


def test_users_correct_forms_are_proved(backend: str) -> None:
    spec = ConvSpec(2, 4, 2, (3, 4), groups=2, padding=((1, 0), 1), padding_mode="reflect")
    xs, ws, bs = symconv.symbols(spec)
    proof = symconv.prove(spec, backend=backend, toeplitz=symconv.toeplitz(spec, ws))
    assert proof.holds and proof.forms == ("toeplitz",)
    for order in ("unfold", "paper"):
        proof = symconv.prove(spec, backend=backend, im2col=symconv.im2col(spec, xs, order),
                              kernel_matrix=symconv.kernel_matrix(spec, ws, order), order=order)
        assert proof.holds and proof.forms == ("im2col",)
    proof = symconv.prove(spec, backend=backend, output=symconv.conv(spec, xs, ws, bs))
    assert proof.holds and proof.statement == "conv(x, w, b) = the given output"


# ---- negative controls ----------------------------------------------------------------------
ONE_D = ConvSpec(1, 1, 3, 6, bias=False)   # y[0, o] = w0·x[o] + w1·x[o+1] + w2·x[o+2]


def shifted_columns(T: sp.SparseMatrix, shift: int) -> sp.SparseMatrix:
    """T with every entry moved ``shift`` columns right (entries pushed past the edge dropped)."""
    entries = {(r, c + shift): v for (r, c), v in T.todok().items() if c + shift < T.cols}
    return sp.SparseMatrix(T.rows, T.cols, entries)


def test_off_by_one_toeplitz_is_rejected(backend: str) -> None:
    _, ws, _ = symconv.symbols(ONE_D)
    shifted = shifted_columns(symconv.toeplitz(ONE_D, ws), 1)
    proof = symconv.prove(ONE_D, backend=backend, toeplitz=shifted)
    found = assert_refuted(proof, "toeplitz", (0, 0),
                           missing={w(0, 0, 0) * x(0, 0), w(0, 0, 1) * x(0, 1), w(0, 0, 2) * x(0, 2)},
                           extra={w(0, 0, 0) * x(0, 1), w(0, 0, 1) * x(0, 2), w(0, 0, 2) * x(0, 3)})
    assert found.expected == w(0, 0, 0) * x(0, 0) + w(0, 0, 1) * x(0, 1) + w(0, 0, 2) * x(0, 2)
    assert found.obtained == w(0, 0, 0) * x(0, 1) + w(0, 0, 1) * x(0, 2) + w(0, 0, 2) * x(0, 3)
    assert found.difference == found.expected - found.obtained
    assert "lacks:" in str(found) and "has instead:" in str(found)


def test_flipped_kernel_is_rejected(backend: str) -> None:
    """T of the true convolution for a cross-correlation spec: the middle tap agrees, ends swap."""
    _, ws, _ = symconv.symbols(ONE_D)
    flipped = ConvSpec(1, 1, 3, 6, bias=False, convention="convolution")
    proof = symconv.prove(ONE_D, backend=backend, toeplitz=symconv.toeplitz(flipped, ws))
    assert_refuted(proof, "toeplitz", (0, 0),
                   missing={w(0, 0, 0) * x(0, 0), w(0, 0, 2) * x(0, 2)},
                   extra={w(0, 0, 2) * x(0, 0), w(0, 0, 0) * x(0, 2)})


def test_stride_ignored_is_rejected(backend: str) -> None:
    """T built with stride 1 for a stride-2 spec, cropped to its rows: output 0 agrees, 1 does not."""
    spec = ConvSpec(1, 1, 3, 7, stride=2, bias=False)
    _, ws, _ = symconv.symbols(spec)
    dense = symconv.toeplitz(ConvSpec(1, 1, 3, 7, bias=False), ws)
    cropped = dense[:spec.toeplitz_shape[0], :]
    assert_refuted(symconv.prove(spec, backend=backend, toeplitz=cropped), "toeplitz", (0, 1),
                   missing={w(0, 0, 0) * x(0, 2), w(0, 0, 1) * x(0, 3), w(0, 0, 2) * x(0, 4)},
                   extra={w(0, 0, 0) * x(0, 1), w(0, 0, 1) * x(0, 2), w(0, 0, 2) * x(0, 3)})


def test_wrong_padding_side_is_rejected(backend: str) -> None:
    """Asymmetric padding (2 before, 0 after) built as (0 before, 2 after)."""
    spec = ConvSpec(1, 1, 3, 4, padding=((2, 0),), bias=False)
    swapped = ConvSpec(1, 1, 3, 4, padding=((0, 2),), bias=False)
    _, ws, _ = symconv.symbols(spec)
    proof = symconv.prove(spec, backend=backend, toeplitz=symconv.toeplitz(swapped, ws))
    assert_refuted(proof, "toeplitz", (0, 0),
                   missing={w(0, 0, 2) * x(0, 0)},
                   extra={w(0, 0, 0) * x(0, 0), w(0, 0, 1) * x(0, 1), w(0, 0, 2) * x(0, 2)})


def test_wrong_padding_side_is_rejected_in_2d_nhwc(backend: str) -> None:
    spec = ConvSpec(1, 1, 2, (3, 3), padding=(0, (1, 0)), bias=False, layout="NHWC")
    swapped = ConvSpec(1, 1, 2, (3, 3), padding=(0, (0, 1)), bias=False, layout="NHWC")
    _, ws, _ = symconv.symbols(spec)
    # y[0, 0, 0] reads column −1 (zero) and 0 through w[·, 0, …, q] with q = 1 only.
    proof = symconv.prove(spec, backend=backend, toeplitz=symconv.toeplitz(swapped, ws))
    assert_refuted(proof, "toeplitz", (0, 0, 0),
                   missing={w(0, 0, 0, 1) * x(0, 0, 0), w(0, 0, 1, 1) * x(0, 1, 0)},
                   extra={w(0, 0, 0, 0) * x(0, 0, 0), w(0, 0, 0, 1) * x(0, 0, 1),
                          w(0, 0, 1, 0) * x(0, 1, 0), w(0, 0, 1, 1) * x(0, 1, 1)})


TWO_CHANNELS = ConvSpec(2, 1, 2, 3, bias=False)
SWAPPED_EXTRA = {w(0, 0, 0) * x(1, 0), w(0, 0, 1) * x(1, 1), w(0, 1, 0) * x(0, 0),
                 w(0, 1, 1) * x(0, 1)}
ALL_EXPECTED = {w(0, 0, 0) * x(0, 0), w(0, 0, 1) * x(0, 1), w(0, 1, 0) * x(1, 0),
                w(0, 1, 1) * x(1, 1)}


def test_wrong_channel_order_in_t_is_rejected(backend: str) -> None:
    """T's column blocks of input channels 0 and 1 swapped."""
    _, ws, _ = symconv.symbols(TWO_CHANNELS)
    T = symconv.toeplitz(TWO_CHANNELS, ws)
    swapped = T[:, [3, 4, 5, 0, 1, 2]]
    assert_refuted(symconv.prove(TWO_CHANNELS, backend=backend, toeplitz=swapped), "toeplitz", (0, 0),
                   missing=ALL_EXPECTED, extra=SWAPPED_EXTRA)


def test_wrong_channel_order_in_k_is_rejected(backend: str) -> None:
    """K built from w with its input-channel axis reversed."""
    _, ws, _ = symconv.symbols(TWO_CHANNELS)
    K = symconv.kernel_matrix(TWO_CHANNELS, ws[:, ::-1])
    assert_refuted(symconv.prove(TWO_CHANNELS, backend=backend, kernel_matrix=K), "im2col", (0, 0),
                   missing=ALL_EXPECTED, extra=SWAPPED_EXTRA)


def test_flipped_kernel_matrix_is_rejected(backend: str) -> None:
    _, ws, _ = symconv.symbols(ONE_D)
    K = symconv.kernel_matrix(ConvSpec(1, 1, 3, 6, bias=False, convention="convolution"), ws)
    assert_refuted(symconv.prove(ONE_D, backend=backend, kernel_matrix=K), "im2col", (0, 0),
                   missing={w(0, 0, 0) * x(0, 0), w(0, 0, 2) * x(0, 2)},
                   extra={w(0, 0, 2) * x(0, 0), w(0, 0, 0) * x(0, 2)})


def test_paper_kernel_in_channel_major_order_is_rejected(backend: str) -> None:
    """Paper-order K must be indexed t·C_in/groups + c; (c, t) order mixes taps and channels."""
    _, ws, _ = symconv.symbols(TWO_CHANNELS)
    wrong = sp.Matrix([ws[0, c, t] for c in range(2) for t in range(2)])
    proof = symconv.prove(TWO_CHANNELS, backend=backend, kernel_matrix=wrong, order="paper")
    assert_refuted(proof, "im2col", (0, 0),
                   missing={w(0, 1, 0) * x(1, 0), w(0, 0, 1) * x(0, 1)},
                   extra={w(0, 0, 1) * x(1, 0), w(0, 1, 0) * x(0, 1)})


def test_wrong_patches_are_rejected(backend: str) -> None:
    """P with output columns 0 and 1 swapped."""
    xs, _, _ = symconv.symbols(ONE_D)
    P = symconv.im2col(ONE_D, xs)
    P.col_swap(0, 1)
    assert_refuted(symconv.prove(ONE_D, backend=backend, im2col=P), "im2col", (0, 0),
                   missing={w(0, 0, 0) * x(0, 0), w(0, 0, 1) * x(0, 1), w(0, 0, 2) * x(0, 2)},
                   extra={w(0, 0, 0) * x(0, 1), w(0, 0, 1) * x(0, 2), w(0, 0, 2) * x(0, 3)})


def test_zero_padded_patches_for_a_reflect_spec_are_rejected(backend: str) -> None:
    """y[0, 0] = w0·x1 + w1·x0 + w2·x1 with reflect; the zero-padded P lacks exactly w0·x1."""
    spec = ConvSpec(1, 1, 3, 4, padding=1, padding_mode="reflect", bias=False)
    xs, _, _ = symconv.symbols(spec)
    P = symconv.im2col(ConvSpec(1, 1, 3, 4, padding=1, bias=False), xs)
    assert_refuted(symconv.prove(spec, backend=backend, im2col=P), "im2col", (0, 0),
                   missing={w(0, 0, 0) * x(0, 1)}, extra=set())


def test_wrong_outputs_are_rejected(backend: str) -> None:
    spec = ConvSpec(2, 2, 2, (3, 3), layout="NHWC")
    xs, ws, bs = symconv.symbols(spec)
    y = symconv.conv(spec, xs, ws, bs)
    # Bias forgotten everywhere: the first output (channel 0, position 0) lacks b_0.
    assert_refuted(symconv.prove(spec, backend=backend, output=y - bs), "output", (0, 0, 0),
                   missing={s("b", 0)}, extra=set())
    # One term counted three times at channel 1, position (1, 0) (NHWC index [1, 0, 1]):
    # the index is reported channels first, and the extra term carries its coefficient 2.
    wrong = y.copy()
    term = ws[0, 1, 1, 1] * xs[1, 1, 1]                  # w_{1,1,0,1}·x_{1,1,1}: in y[1, 0, 1]
    wrong[1, 0, 1] = wrong[1, 0, 1] + 2 * term
    found = assert_refuted(symconv.prove(spec, backend=backend, output=wrong), "output", (1, 1, 0),
                           missing=set(), extra={2 * w(1, 1, 0, 1) * x(1, 1, 1)})
    assert found.obtained == y[1, 0, 1] + 2 * term


def test_counterexample_is_the_first_wrong_output_in_row_major_order(backend: str) -> None:
    spec = ConvSpec(1, 2, 2, (2, 3), bias=True)
    xs, ws, bs = symconv.symbols(spec)
    y = symconv.conv(spec, xs, ws, bs)
    y[1, 0, 1] += xs[0, 0, 0]
    y[1, 0, 0] -= xs[0, 1, 1] * ws[1, 0, 1, 0]
    assert_refuted(symconv.prove(spec, backend=backend, output=y), "output", (1, 0, 0),
                   missing={w(1, 0, 1, 0) * x(0, 1, 1)}, extra=set())


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=50, deadline=None)
@given(conv_specs(max_terms=400), st.data())
def test_any_dropped_toeplitz_entry_is_rejected(backend: str, spec: ConvSpec,
                                                data: st.DataObject) -> None:
    """Zeroing one nonzero entry T[r, c] loses exactly the terms T[r, c]·vec(x)[c] at output r."""
    xs, ws, _ = symconv.symbols(spec)
    T = symconv.toeplitz(spec, ws)
    entries = sorted(T.todok().items())
    assume(entries)  # a spec may read only padding zeros (e.g. 1×1 input, pad 1, stride 2)
    (r, c), value = data.draw(st.sampled_from(entries))
    wrong = T.copy()
    wrong[r, c] = 0
    vec_x = xs.reshape(-1)  # vec(x) in the layout's row-major order: T's column order
    proof = symconv.prove(spec, backend=backend, toeplitz=wrong)
    found = proof.counterexample
    assert not proof.holds and found.form == "toeplitz"
    assert set(found.missing) == set(sp.Add.make_args(sp.expand(value * vec_x[c])))
    assert found.extra == ()
    rows = np.arange(prod(spec.output_shape)).reshape(spec.output_shape)
    if spec.layout == "NHWC":
        rows = np.moveaxis(rows, -1, 0)
    assert rows[found.index] == r
