"""Theorems cited by other derivations (a rule "theorem toeplitz" or a claim's "entry formula
of T"): each is proved here before it is used, once per process."""

from __future__ import annotations

from functools import partial

from .fully_connected import toeplitz
from .im2col_product import im2col

_PROVED: set[tuple[str, int]] = set()


def proved(theorem: str, dims: int) -> bool:
    """Whether the default statement of ``theorem`` ("toeplitz", "im2col" or "im2col-paper")
    holds for dims; rules that cite a theorem call this. Only a proof is remembered (once per
    process): a derivation that failed, e.g. at its deadline on a busy machine, is run again
    when cited."""
    if (theorem, dims) in _PROVED:
        return True
    holds = {"toeplitz": toeplitz, "im2col": im2col,
             "im2col-paper": partial(im2col, order="paper")}[theorem](dims).holds
    if holds:
        _PROVED.add((theorem, dims))
    return holds


proved.cache_clear = _PROVED.clear  # type: ignore[attr-defined]  # as functools caches have
