"""Adversarial review, round 3: classes SymPy makes on request (``sp.Function(name, **attrs)``) or
classes only named like SymPy's may not carry arithmetic of their own into a proof; a standalone
BatchNorm counts towards a network proof's bound; a deadline's own comparison is not trusted; a
result's ``given`` is filled once."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

import symconv
import symconv.general as G
from symconv.errors import SpecError, seconds
from symconv.interop import prove_network

SPEC = symconv.ConvSpec(1, 1, kernel_size=1, input_size=2, bias=False)
X, W, _ = symconv.symbols(SPEC)
W0 = W[0, 0, 0]


def _function_with_methods():
    return sp.Function("f", __mul__=lambda s, o: W0 * o, __rsub__=lambda s, o: o - W0, _op_priority=1000.0,
                       is_polynomial=lambda s, *a: True)


def _forged_symbol():
    return type("E", (sp.Symbol,), {"__module__": "sympy.core.symbol", "__mul__": lambda s, o: W0 * o,
                                    "_op_priority": 1000.0})


@pytest.mark.parametrize("backend", ["exact", "sympy"])
def test_an_undefined_function_class_with_methods_of_its_own_is_refused(backend):
    f = _function_with_methods()
    with pytest.raises(TypeError, match=r"^toeplitz\[0, 0\]: a subclass of AppliedUndef defined outside SymPy \(f\)"):
        symconv.prove(SPEC, toeplitz=sp.Matrix([[f(W0), 0], [0, f(W0)]]), backend=backend)


def test_a_class_only_named_like_sympys_is_refused():
    E = _forged_symbol()
    with pytest.raises(TypeError, match=r"a subclass of Symbol defined outside SymPy \(E\)"):
        symconv.prove(SPEC, toeplitz=sp.Matrix([[E("junk"), 0], [0, E("junk")]]))


def test_undefined_functions_with_assumptions_only_are_sympys_own():
    g = sp.Function("g", real=True)
    y = np.array([[W0 * X[0, 0] + 0 * g(W0), W0 * X[0, 1]]], dtype=object)
    assert symconv.prove(SPEC, output=y).holds
    wrong = np.array([[W0 * X[0, 0] + g(W0), W0 * X[0, 1]]], dtype=object)
    assert not symconv.prove(SPEC, output=wrong).holds


def test_a_claim_with_a_lying_function_class_is_refused():
    S = G.symbols_for("toeplitz", dims=1)
    h = sp.Function("h", __mul__=lambda s, o: o, _op_priority=1000.0)
    with pytest.raises(TypeError, match=r"^entry: a subclass of AppliedUndef defined outside SymPy \(h\)"):
        G.check_claim("toeplitz", sp.Sum(h(S.w[S.t]), (S.t, 0, S.k - 1)), deadline=30)


def test_a_standalone_batchnorm_counts_towards_the_network_bound():
    model = torch.nn.Sequential(torch.nn.BatchNorm1d(1)).eval()
    with pytest.raises(SpecError, match=r"multiplies 9000000 dense-matrix entries .* more than max_terms=1000"):
        prove_network(model, (1, 3000), max_terms=1000)
    assert prove_network(model, (1, 4)).holds


def test_a_deadline_of_a_number_subclass_is_refused():
    class Lying(int):
        def __gt__(self, other):
            return other == 0

    with pytest.raises(TypeError, match=r"^deadline: a subclass of int defined outside SymPy \(.*Lying\)"):
        seconds("deadline", Lying(10**12))


def test_a_results_given_is_filled_once():
    proof = symconv.prove(SPEC, toeplitz=symconv.toeplitz(SPEC, W))
    with pytest.raises(TypeError, match="read-only"):
        proof.given.__init__({})
