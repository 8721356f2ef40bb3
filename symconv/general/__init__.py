"""General (all-sizes) derivations: theorems about convolution with symbolic sizes,
hyperparameters, channels and groups, each a chain of named steps checked symbolically and on
random exact instances (and tied to symconv's concrete forms at the drawn sizes).

>>> import symconv
>>> proof = symconv.prove_general("toeplitz", dims=2)
>>> proof.holds, [step.rule for step in proof.steps if step.part == "main"][0]
(True, 'definition of the matrix product')
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

from ..errors import SpecError, one_of
from . import dft, theorems
from .claims import check_claim, symbols_for
from .derivation import ConcreteCheck, Derivation, Failure, GeneralCounterexample, Step
from .dft import dft_symbols
from .inputs import spatial_dims

THEOREMS = {
    "toeplitz": theorems.toeplitz,
    "im2col": theorems.im2col,
    "transpose": theorems.transpose,
    "circulant": theorems.circulant,
    "padding": theorems.padding,
    "nonlinear": theorems.nonlinear,
    "dft": dft.dft,
}
"""name → theorem function(dims, **options) returning a Derivation."""


def prove_general(theorem: str, dims: int = 1, **options: Any) -> Derivation:
    """Prove ``theorem`` for all sizes at once in ``dims`` spatial dimensions.

    Theorems: "toeplitz" (T·vec x = vec y), "im2col" (``order="unfold"|"paper"``), "transpose"
    (⟨Tx, γ⟩ = ⟨x, Tᵀγ⟩ with Tᵀγ the transposed convolution), "circulant" (circular padding,
    stride 1: T multi-level block circulant), "dft" (circular padding, stride 1: Σ_i T·ν z^i =
    z^j·Λ(z)ν for z^n = 1, the DFT block-diagonalises T; ``symbol=`` claims Λ), "nonlinear"
    (σ elementwise; stacked layers).
    Options: ``entry=`` (a claimed entry formula, see ``symbols_for``), ``out_size=``,
    ``instances=`` (random instances per step, an integer ≥ 1; instances at the thresholds of
    a claimed expression are added), ``seed=``, ``deadline=`` (wall-clock seconds, default
    ``derivation.DEADLINE``; exceeded: NOT PROVED with the reason "deadline of N s exceeded at
    step K"). An option the theorem does not take is a SpecError naming it; so is a value of
    the wrong type (SpecError(option, value, rule)).

    >>> prove_general("toeplitz", instance=3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: options=['instance']: not accepted by 'toeplitz'; it accepts ['entry', ...]
    """
    one_of("theorem", theorem, tuple(THEOREMS))
    dims = spatial_dims(dims)
    function = THEOREMS[theorem]
    signature = inspect.signature(function)
    try:  # bound before the call: a TypeError raised inside the theorem is not an option error
        bound = signature.bind(dims, **options)
    except TypeError:
        accepted = [name for name in signature.parameters if name != "dims"]
        unknown = sorted(set(options) - set(accepted))
        raise SpecError("options", unknown, f"not accepted by {theorem!r}; it accepts {accepted}") from None
    return function(*bound.args, **bound.kwargs)


def __getattr__(name: str) -> Any:
    """``Counterexample``, the old name of ``GeneralCounterexample`` (deprecated: it clashed with
    ``symconv.Counterexample`` of concrete proofs; removed in the next release)."""
    if name == "Counterexample":
        warnings.warn("symconv.general.Counterexample is deprecated, use "
                      "symconv.general.GeneralCounterexample", DeprecationWarning, stacklevel=2)
        return GeneralCounterexample
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["THEOREMS", "ConcreteCheck", "Derivation", "Failure", "GeneralCounterexample", "Step",
           "check_claim", "dft_symbols", "prove_general", "symbols_for"]
