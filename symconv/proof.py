"""Proof and Counterexample objects, and ``prove(spec)``.

A concrete proof builds every form of the layer on symbolic x, w, b by executing its own
construction (the definition's sum, the sparse product T·vec(x), the im2col product K·P) and
compares each output entry with the definition as a canonical expanded polynomial:
``expand(definition − form) == 0``. Two polynomials in the same symbols are equal iff their
expanded forms are identical, so a zero difference at every entry *is* the proof; a nonzero
one is a counterexample (never ``simplify``, which is a heuristic).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import product as cartesian
from typing import Any

import numpy as np
import sympy as sp

from .errors import SpecError
from .forms import conv, im2col_conv, toeplitz_conv
from .spec import ConvSpec
from .symbols import symbols, to_canonical_output


@dataclass(frozen=True)
class Counterexample:
    """The first output where a form differs from the definition.

    ``index`` is (o, *out) channels-first (with a leading sample index when batched);
    ``missing`` are the terms of the definition the form lacks, ``extra`` those it has instead
    (each with its coefficient), so expected − obtained = Σ missing − Σ extra.
    """

    form: str
    index: tuple[int, ...]
    expected: sp.Expr
    obtained: sp.Expr
    difference: sp.Expr
    missing: tuple[sp.Expr, ...]
    extra: tuple[sp.Expr, ...]

    def __str__(self) -> str:
        name = "y[" + ",".join(map(str, self.index)) + "]"
        lines = [f"{self.form}: {name} differs from the definition",
                 f"  expected: {self.expected}", f"  obtained: {self.obtained}"]
        if self.missing:
            lines.append("  lacks:    " + ", ".join(map(str, self.missing)))
        if self.extra:
            lines.append("  has instead: " + ", ".join(map(str, self.extra)))
        return "\n".join(lines)


@dataclass(frozen=True)
class Proof:
    """The outcome of ``prove``: ``holds`` and, when it does not, the first counterexample."""

    spec: ConvSpec
    statement: str
    forms: tuple[str, ...]
    holds: bool
    counterexample: Counterexample | None
    terms: int
    outputs: int
    timings: dict[str, float] = field(default_factory=dict)
    backend: str = "sympy"

    def __bool__(self) -> bool:
        return self.holds

    def summary(self) -> str:
        verdict = "PROVED" if self.holds else "REFUTED"
        total = sum(self.timings.values())
        line = (f"{verdict}: {self.statement} [{self.spec.describe()}; {self.terms} terms, "
                f"{self.outputs} outputs, {total:.3f} s, backend {self.backend}]")
        return line if self.holds else f"{line}\n{self.counterexample}"

    def to_latex(self, **options: Any) -> str:
        """The proof as LaTeX (standalone document by default; see ``symconv.latex``)."""
        from .latex import proof_to_latex
        return proof_to_latex(self, **options)


def counterexample_of(form: str, index: tuple[int, ...], expected: Any, obtained: Any) -> Counterexample | None:
    """None if expected and obtained are the same polynomial, else the counterexample."""
    difference = sp.expand(sp.sympify(expected) - sp.sympify(obtained))
    if difference == 0:
        return None
    missing, extra = [], []
    for term in sp.Add.make_args(difference):
        coefficient, _ = term.as_coeff_Mul()
        (extra if coefficient < 0 else missing).append(term if coefficient > 0 else -term)
    return Counterexample(form, index, sp.sympify(expected), sp.sympify(obtained), difference,
                          tuple(missing), tuple(extra))


def first_difference(spec: ConvSpec, form: str, expected: np.ndarray, obtained: Any) -> Counterexample | None:
    """Compare two outputs (in the spec's layout) entry by entry, canonical forms."""
    obtained = np.asarray(obtained, dtype=object)
    if obtained.shape != expected.shape:
        raise SpecError(f"{form}.shape", obtained.shape, f"must be {expected.shape}, the output shape")
    batched = expected.ndim == spec.dims + 2
    e = to_canonical_output(spec, expected if batched else expected[None])
    o = to_canonical_output(spec, obtained if batched else obtained[None])
    return first_entry_difference(form, e if batched else e[0], o if batched else o[0])


def first_entry_difference(form: str, expected: Any, obtained: Any) -> Counterexample | None:
    """Compare two arrays of the same shape entry by entry (canonical forms), in row-major
    order; the counterexample's index is the array index."""
    e = np.asarray(expected, dtype=object)
    o = np.asarray(obtained, dtype=object)
    if o.shape != e.shape:
        raise SpecError(f"{form}.shape", o.shape, f"must be {e.shape}")
    for index in cartesian(*(range(n) for n in e.shape)):
        found = counterexample_of(form, index, e[index], o[index])
        if found is not None:
            return found
    return None


def count_terms(y: np.ndarray) -> int:
    return sum(len(sp.Add.make_args(sp.expand(v))) for v in np.asarray(y, dtype=object).flat)


def prove(spec: ConvSpec, *, toeplitz: sp.MatrixBase | None = None, im2col: sp.MatrixBase | None = None,
          kernel_matrix: sp.MatrixBase | None = None, output: Any = None,
          order: str = "unfold") -> Proof:
    """Prove conv(x, w, b) = T·vec(x) + b⊗1 = K·P + b for symbolic x, w, b.

    Pass ``toeplitz=``, ``im2col=`` (P) / ``kernel_matrix=`` (K) or ``output=`` (an array of
    outputs) to check your own matrices or outputs instead of symconv's, written in the symbols
    of ``symconv.symbols(spec)``. ``order`` picks the im2col layout ("unfold" or "paper").
    """
    if not isinstance(spec, ConvSpec):
        raise SpecError("spec", type(spec).__name__, "must be a symconv.ConvSpec")
    x, w, b = symbols(spec)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    y = conv(spec, x, w, b)
    timings["definition"] = time.perf_counter() - start

    candidates = {}
    if output is not None:
        candidates["output"] = lambda: output
    if toeplitz is not None or output is None and im2col is None and kernel_matrix is None:
        candidates["toeplitz"] = lambda: toeplitz_conv(spec, x, w, b, matrix=toeplitz)
    if im2col is not None or kernel_matrix is not None or output is None and toeplitz is None:
        candidates["im2col"] = lambda: im2col_conv(spec, x, w, b, order=order, patches=im2col,
                                                    kernel=kernel_matrix)
    found = None
    for form, build in candidates.items():
        start = time.perf_counter()
        found = first_difference(spec, form, y, build())
        timings[form] = time.perf_counter() - start
        if found is not None:
            break
    names = {"toeplitz": "T·vec(x) + b⊗1", "im2col": "K·P + b", "output": "the given output"}
    statement = "conv(x, w, b) = " + " = ".join(names[f] for f in candidates)
    return Proof(spec=spec, statement=statement, forms=tuple(candidates), holds=found is None,
                 counterexample=found, terms=spec.n_terms + spec.n_bias_terms,
                 outputs=int(np.prod(spec.output_shape)), timings=timings)
