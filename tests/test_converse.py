"""The converse: FC layers are convs with a whole-input kernel; 1×1 convs are per-position FC layers."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F

import symconv
from symconv import ConvSpec, SpecError
from symconv.converse import conv1x1_as_fc, fc_as_conv, fc_matrix, prove_conv1x1_as_fc, prove_fc_as_conv
from symconv.symbols import to_canonical_weight

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


@pytest.mark.parametrize("shape, layout", [((2, 3, 3), "NCHW"), ((3, 2, 2), "NHWC"), ((4, 1), "NCHW"),
                                           ((1, 2, 2, 2), "NCHW")])
def test_prove_fc_as_conv(shape, layout):
    proof = prove_fc_as_conv(3, shape, layout=layout)
    assert proof.holds, proof.summary()
    assert proof.spec.output_size == (1,) * (len(shape) - 1)


def test_fc_as_conv_matches_torch_linear():
    rng = np.random.default_rng(0)
    W, b = rng.integers(-9, 10, (5, 2 * 4 * 3)), rng.integers(-9, 10, 5)
    spec, w, bb = fc_as_conv(W, (2, 4, 3), b)
    x = torch.randint(-9, 10, (3, 2, 4, 3), dtype=torch.float64)
    conv = CONV[2](x, torch.tensor(w.astype(np.float64)), torch.tensor(bb.astype(np.float64)))
    linear = F.linear(x.flatten(1), torch.tensor(W, dtype=torch.float64), torch.tensor(b, dtype=torch.float64))
    assert conv.shape == (3, 5, 1, 1) and torch.equal(conv.flatten(1), linear)
    assert np.array_equal(fc_matrix(spec, w).astype(np.int64), W)


@pytest.mark.parametrize("kwargs", [dict(input_size=(3, 4)), dict(input_size=5, groups=2, bias=False),
                                    dict(input_size=(2, 3), layout="NHWC"), dict(input_size=(2, 2, 2))])
def test_prove_conv1x1_as_fc(kwargs):
    spec = ConvSpec(4, 2, kernel_size=1, **kwargs)
    proof = prove_conv1x1_as_fc(spec)
    assert proof.holds, proof.summary()


def test_conv1x1_matches_torch_per_position():
    spec = ConvSpec(4, 6, kernel_size=1, input_size=(3, 5), groups=2)
    rng = np.random.default_rng(1)
    w, x = rng.integers(-9, 10, spec.weight_shape), rng.integers(-9, 10, spec.input_shape)
    W = conv1x1_as_fc(spec, w).astype(np.int64)
    assert np.count_nonzero(W[:3, 2:]) == 0 and np.count_nonzero(W[3:, :2]) == 0   # block-diagonal
    y = CONV[2](torch.tensor(x[None], dtype=torch.float64), torch.tensor(w, dtype=torch.float64),
                groups=2)[0].numpy()
    assert np.array_equal(y.astype(np.int64), np.einsum("oc,chw->ohw", W, x))


# ---- negative controls ---------------------------------------------------------------------------
def test_wrong_weight_reshape_refuted():
    """W read in NCHW order for an NHWC input is not the FC layer of the conv."""
    spec = fc_as_conv(np.zeros((2, 12), dtype=object), (2, 3, 2), layout="NHWC")[0]
    _, w, _ = symconv.symbols(spec)
    wrong = to_canonical_weight(spec, w).reshape(2, -1)   # channel-major: NCHW's vec
    proof = prove_fc_as_conv(2, (2, 3, 2), layout="NHWC", matrix=wrong)
    assert not proof.holds
    ce = proof.counterexample
    assert ce.form == "fc" and ce.index == (0, 0, 0) and ce.missing and ce.extra
    # the refutation is of the converse's own statement, in text, counterexample and LaTeX
    assert proof.statement == "conv(x, w, b) = W·vec(x) + b; fc_as_conv(W) = w"
    assert str(ce).splitlines()[:3] == [
        "fc: (W·vec(x) + b)[0,0,0] differs from conv(x, w, b)[0,0,0]",
        f"  expected (conv(x, w, b)): {ce.expected}", f"  obtained (W·vec(x) + b): {ce.obtained}"]
    source = proof.to_latex()
    assert r"\mathrm{conv}(x, w, b) &= W\, \mathrm{vec}(x) + b \\ \mathrm{fc\_as\_conv}(W) &= w" in source
    assert r"$(W\, \mathrm{vec}(x) + b)_{0,0,0}$ differs from $\mathrm{conv}(x, w, b)_{0,0,0}$" in source
    assert "y^{\\mathrm{given}}" not in source and "(supplied to the proof, the matrix it checked)" in source


def test_transposed_1x1_matrix_refuted():
    spec = ConvSpec(2, 2, kernel_size=1, input_size=3, bias=False)
    _, w, _ = symconv.symbols(spec)
    proof = prove_conv1x1_as_fc(spec, matrix=conv1x1_as_fc(spec, w).T)
    assert not proof.holds and proof.counterexample.index == (0, 0)
    assert proof.statement == "conv(x, w) = W·X (the FC layer W at every position)"   # no bias: no b
    assert proof.counterexample.headline() == "conv1x1: (W·X)[0,0] differs from conv(x, w)[0,0]"
    source = proof.to_latex()
    assert r"\displaystyle \mathrm{conv}(x, w) = W X$" in source
    assert r"$(W X)_{0,0}$ differs from $\mathrm{conv}(x, w)_{0,0}$" in source
    assert "y^{\\mathrm{given}}" not in source and r"W_{o,\; c} = w_{o, c, 0}" in source


def test_conv1x1_proof_states_its_own_claim():
    proof = prove_conv1x1_as_fc(ConvSpec(2, 4, kernel_size=1, input_size=(2, 2), groups=2))
    assert proof.holds and proof.forms == ("conv1x1",)
    assert proof.statement == "conv(x, w, b) = W·X + b·1ᵀ (the FC layer W at every position)"
    source = proof.to_latex()
    assert r"\displaystyle \mathrm{conv}(x, w, b) = W X + b \mathbf{1}^{\top}$" in source
    assert r"W_{o,\; 1\,g(o) + c} = w_{o, c, 0, 0}" in source and "conv1x1\\_as\\_fc" in source


def test_rules():
    with pytest.raises(SpecError, match="kernel_size=\\(3,\\): a conv is the same FC layer"):
        conv1x1_as_fc(ConvSpec(1, 1, 3, 5), np.ones((1, 1, 3)))
    with pytest.raises(SpecError, match="padding=\\(\\(1, 1\\),\\)"):
        conv1x1_as_fc(ConvSpec(1, 1, 1, 5, padding=1), np.ones((1, 1, 1)))
    with pytest.raises(SpecError, match="input_shape=\\(6,\\)"):
        fc_as_conv(np.ones((2, 6)), (6,))
    with pytest.raises(SpecError, match="kernel covers the whole input"):
        fc_matrix(ConvSpec(1, 1, 2, 3), np.ones((1, 1, 2)))


# ---- adversarial review, issue 11: arguments checked by name ----------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: prove_fc_as_conv(True, (1, 2)), r"^out_features=True: must be an integer ≥ 1$"),
    (lambda: prove_fc_as_conv(2.0, (1, 2)), r"^out_features=2.0: must be an integer ≥ 1$"),
    (lambda: prove_fc_as_conv(-1, (1, 2)), r"^out_features=-1: must be an integer ≥ 1$"),
    (lambda: prove_fc_as_conv(10**12, (1, 2)), r"^out_features=1000000000000: must be at most 2147483647 "),
    (lambda: prove_fc_as_conv(2, 3), r"^input_shape=3: must be a tuple with a channel axis and ≥ 1 spatial axis"),
    (lambda: prove_fc_as_conv(2, "12"), r"^input_shape='12': must be a tuple with a channel axis"),
    (lambda: prove_fc_as_conv(2, (1, 2.0)), r"^input_shape=\(1, 2.0\): every entry must be an integer ≥ 1$"),
    (lambda: prove_fc_as_conv(2, (1, 2), bias="yes"), r"^bias='yes': must be True or False$"),
    (lambda: prove_fc_as_conv(2, (1, 2), layout="XYZ"), r"^layout='XYZ': must be one of \('NCHW', 'NHWC'\)$"),
    (lambda: prove_conv1x1_as_fc("s"), r"^spec='str': must be a symconv.ConvSpec$"),
    (lambda: fc_matrix("s", [[1]]), r"^spec='str': must be a symconv.ConvSpec$"),
    (lambda: conv1x1_as_fc("s", [[1]]), r"^spec='str': must be a symconv.ConvSpec$"),
])
def test_converse_arguments_are_checked_by_name(call, message):
    with pytest.raises(SpecError, match=message):
        call()
    assert prove_fc_as_conv(np.int8(2), (1, 2), bias=False).holds


@pytest.mark.parametrize("matrix_class", [sp.Matrix, sp.SparseMatrix, sp.ImmutableMatrix])
def test_a_sympy_matrix_is_read_by_rows_not_entries(matrix_class):
    spec = ConvSpec(1, 2, kernel_size=3, input_size=3)
    w = symconv.symbols(spec)[1]
    assert prove_fc_as_conv(2, (1, 3), matrix=matrix_class(fc_matrix(spec, w))).holds
    swapped = fc_matrix(spec, w)
    swapped[0, 0], swapped[0, 1] = swapped[0, 1], swapped[0, 0]
    found = prove_fc_as_conv(2, (1, 3), matrix=matrix_class(swapped)).counterexample
    assert found is not None and found.form == "fc"
    one_by_one = ConvSpec(2, 3, kernel_size=1, input_size=(2, 2))
    w = symconv.symbols(one_by_one)[1]
    assert prove_conv1x1_as_fc(one_by_one, matrix=matrix_class(conv1x1_as_fc(one_by_one, w))).holds
