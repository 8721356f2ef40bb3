"""Adversarial review, round 2 (after the architecture refactor): a network proof too large is
refused before it starts; deadlines compare exactly; what a proof keeps as checked cannot be
changed afterwards; an asymmetric zero padding's adjoint is not called PyTorch's conv_transpose."""

from __future__ import annotations

import copy
import pickle
import time
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
import torch.nn as nn

import symconv
from symconv.errors import SpecError, seconds
from symconv.forms import toeplitz
from symconv.interop import prove_network
from symconv.interop.network_proof import MAX_NETWORK_TERMS, symbolic_entries
from symconv.interop.steps import network_steps


def test_a_network_proof_too_large_is_refused_before_any_work():
    model = nn.Sequential(nn.Conv2d(4, 4, 3)).eval()
    start = time.perf_counter()
    with pytest.raises(SpecError) as info:
        prove_network(model, (4, 30, 30))
    assert time.perf_counter() - start < 5
    assert str(info.value) == ("input_shape=(4, 30, 30): a symbolic network proof multiplies 11289600 dense-matrix "
                               "entries (Σ rows × columns of the linear layers), more than max_terms=2000000; pass a "
                               "larger max_terms to allow it")


def test_the_network_bound_counts_the_dense_entries_and_admits_its_limit():
    model = nn.Sequential(nn.Conv1d(1, 2, 2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3)).eval()
    steps = network_steps(model, (1, 5))
    assert symbolic_entries(steps) == 5 * 8 + 8 * 3
    assert prove_network(model, (1, 5), max_terms=64).holds
    with pytest.raises(SpecError, match="multiplies 64 dense-matrix entries .* more than max_terms=63"):
        prove_network(model, (1, 5), max_terms=63)
    assert MAX_NETWORK_TERMS == 2_000_000


@pytest.mark.parametrize(("value", "message"), [
    (10**400, "must be at most 100000000.0 s (MAX_SECONDS)"),
    (Fraction(10**400, 1), "must be at most 100000000.0 s (MAX_SECONDS)"),
    (sp.Integer(10**400), "must be at most 100000000.0 s (MAX_SECONDS)"),
    (Fraction(1, 10**400), "is below the smallest positive float: no timer can be armed for it"),
    (-(10**400), "must be a number of seconds > 0 (finite)"),
])
def test_deadlines_compare_exactly(value, message):
    with pytest.raises(SpecError) as info:
        seconds("deadline", value)
    assert str(info.value).endswith(message)


def test_exact_deadlines_within_range_are_accepted():
    assert seconds("deadline", Fraction(3, 2)) == 1.5 and seconds("deadline", 10**8) == 1e8


def _proved_with_supplied_T():
    spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=3, bias=False)
    _, w, _ = symconv.symbols(spec)
    T = np.array(toeplitz(spec, w))
    return spec, T, symconv.prove(spec, toeplitz=T)


def test_what_a_proof_checked_cannot_be_changed_afterwards():
    spec, T, proof = _proved_with_supplied_T()
    assert proof.holds
    with pytest.raises(TypeError):
        proof.given["toeplitz"] = np.zeros_like(T)
    kept = proof.given["toeplitz"]
    with pytest.raises(ValueError):
        kept.flags.writeable = True
    T[0, 0] = 42                                            # the caller's array is not the proof's
    assert kept[0, 0] != 42 and r"42" not in proof.to_latex()


def test_a_proof_with_given_matrices_pickles_and_copies():
    _, _, proof = _proved_with_supplied_T()
    for other in (pickle.loads(pickle.dumps(proof)), copy.deepcopy(proof)):
        assert other.holds and np.array_equal(other.given["toeplitz"], proof.given["toeplitz"])


@pytest.mark.parametrize("padding", [((2, 0),), ((1, 3),), "same"])
def test_an_asymmetric_zero_padding_is_not_called_pytorchs_conv_transpose(padding):
    spec = symconv.ConvSpec(1, 1, kernel_size=4 if padding == "same" else 3, input_size=6, padding=padding,
                            stride=1 if padding == "same" else 2 if padding == ((1, 3),) else 1)
    proof = symconv.prove_transpose(spec)
    assert proof.holds
    assert "scatter_zeros(g, w) (the adjoint scatter of the asymmetric zero padding" in proof.statement
    assert "conv_transpose(g, w)" not in proof.statement.replace("PyTorch's conv_transpose", "")


def test_a_symmetric_zero_padding_is_pytorchs_conv_transpose():
    proof = symconv.prove_transpose(symconv.ConvSpec(1, 1, kernel_size=3, input_size=5, padding=1))
    assert proof.statement.startswith("Tᵀ·vec(g) = conv_transpose(g, w);")
