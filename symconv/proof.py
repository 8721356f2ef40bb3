"""Proof and Counterexample objects, and ``prove(spec)``.

A concrete proof builds every form of the layer on symbolic x, w, b by executing its own
construction (the definition's sum, the sparse product T·vec(x), the im2col product K·P) and
compares each output entry with the definition as a canonical expanded polynomial:
``expand(definition − form) == 0``. Two polynomials in the same symbols are equal iff their
expanded forms are identical, so a zero difference at every entry *is* the proof; a nonzero
one is a counterexample (never ``simplify``, which is a heuristic).

Two backends decide this equality (``symconv.backends``): "sympy" expands SymPy expressions;
"exact" (the default) holds each polynomial as sorted integer monomial keys with integer
coefficients — the same canonical form, computed in NumPy — and rebuilds the one differing
output in SymPy for the counterexample, so both report identical counterexamples.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import product as cartesian
from typing import Any

import numpy as np
import sympy as sp

from .errors import SpecError
from .forms.im2col import _check_order, factor_shapes
from .spec import ConvSpec
from .symbols import check_shape, to_canonical_output


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
    """Compare two outputs (in the spec's layout) entry by entry, canonical forms.

    The counterexample carries expected and obtained expanded, so that it does not depend on
    how a form happened to group its terms (both backends then report the same objects)."""
    obtained = np.asarray(obtained, dtype=object)
    if obtained.shape != expected.shape:
        raise SpecError(f"{form}.shape", obtained.shape, f"must be {expected.shape}, the output shape")
    batched = expected.ndim == spec.dims + 2
    e = to_canonical_output(spec, expected if batched else expected[None])
    o = to_canonical_output(spec, obtained if batched else obtained[None])
    found = first_entry_difference(form, e if batched else e[0], o if batched else o[0])
    if found is None:
        return None
    return replace(found, expected=sp.expand(found.expected), obtained=sp.expand(found.obtained))


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
          order: str = "unfold", backend: str = "auto", progress: bool = False,
          memory_limit: int | None = None) -> Proof:
    """Prove conv(x, w, b) = T·vec(x) + b⊗1 = K·P + b for symbolic x, w, b.

    Pass ``toeplitz=``, ``im2col=`` (P) / ``kernel_matrix=`` (K) or ``output=`` (an array of
    outputs) to check your own matrices or outputs instead of symconv's, written in the symbols
    of ``symconv.symbols(spec)``. ``order`` picks the im2col layout ("unfold" or "paper").

    ``backend``: "exact" (integer monomial keys in NumPy; fast), "sympy" (SymPy expand) or
    "auto" (by size); both are exact and give the same verdict and counterexample.
    ``progress=True`` shows a tqdm bar. Before any work the peak memory is estimated; above
    ``memory_limit`` bytes (default: MemAvailable) SpecError is raised.
    """
    from . import backends  # backends use this module's Counterexample: import late

    if not isinstance(spec, ConvSpec):
        raise SpecError("spec", type(spec).__name__, "must be a symconv.ConvSpec")
    _check_order(order)
    patches_shape, kernel_shape = factor_shapes(spec, order)
    for parameter, value, shape in (("toeplitz", toeplitz, spec.toeplitz_shape),
                                    ("im2col", im2col, patches_shape),
                                    ("kernel_matrix", kernel_matrix, kernel_shape),
                                    ("output", output, spec.output_shape)):
        if value is not None:
            check_shape(parameter, value, shape, f"{spec.layout} layout, {order} order")
    forms = []
    if output is not None:
        forms.append("output")
    if toeplitz is not None or output is None and im2col is None and kernel_matrix is None:
        forms.append("toeplitz")
    if im2col is not None or kernel_matrix is not None or output is None and toeplitz is None:
        forms.append("im2col")
    chosen = backends.choose(backend)
    backends.check_memory(spec, chosen, memory_limit)
    given = backends.Given(toeplitz, im2col, kernel_matrix, output)
    found, timings, label = backends.run(spec, tuple(forms), given, order, chosen, progress)
    names = {"toeplitz": "T·vec(x) + b⊗1", "im2col": "K·P + b", "output": "the given output"}
    statement = "conv(x, w, b) = " + " = ".join(names[f] for f in forms)
    return Proof(spec=spec, statement=statement, forms=tuple(forms), holds=found is None,
                 counterexample=found, terms=spec.n_terms + spec.n_bias_terms,
                 outputs=int(np.prod(spec.output_shape)), timings=timings, backend=label)
