"""``prove(spec)``: a concrete proof that a layer is an FC layer and an im2col product.

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

A supplied matrix is a claim about the matrix, not only about its product: it is checked in three
steps, each with its own counterexample (``symconv.result.supplied``): its entries are exact
polynomials in its own symbols only — T, K in the weights, P in the inputs, an output in x, w, b;
its product equals the definition (the backend); it equals the layer's own matrix entry by entry.

The result types, ``Counterexample`` and the comparison helpers live in ``symconv.result`` (they
are re-exported here, where they were first defined).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import sympy as sp

from . import backends
from .errors import one_reading
from .forms import conv
from .forms import im2col as own_im2col
from .forms import kernel_matrix as own_kernel
from .forms import toeplitz as own_toeplitz
from .forms.im2col import _check_order, factor_shapes
from .result import (
    COMPARISONS,
    VARIANTS,
    WEIGHTS_ONLY,
    Comparison,
    ConvProof,
    Counterexample,
    PrintsItself,
    Proof,
    Result,
    Supplied,
    check_supplied,
    compare_supplied,
    comparison,
    counterexample_of,
    first_difference,
    first_entry_difference,
)
from .spec import ConvSpec, boolean, check_spec
from .symbols import symbols

__all__ = ["COMPARISONS", "VARIANTS", "Comparison", "ConvProof", "Counterexample", "PrintsItself", "Proof",
           "Result", "Supplied", "check_supplied", "compare_supplied", "comparison", "counterexample_of",
           "first_difference", "first_entry_difference", "prove"]


def _supplied_forms(spec: ConvSpec, order: str, toeplitz: Any, im2col: Any, kernel_matrix: Any,
                    output: Any) -> tuple[list[Supplied], frozenset]:
    """The user's forms of ``prove`` as exact ``Supplied`` (shapes checked), and the layer's symbols
    (not built when nothing is supplied: SymPy symbols were most of a first call's work)."""
    if toeplitz is None and im2col is None and kernel_matrix is None and output is None:
        return [], frozenset()
    patches_shape, kernel_shape = factor_shapes(spec, order)
    x, w, b = symbols(spec)
    weights, inputs = frozenset(w.flat), frozenset(x.flat)
    biases = frozenset(() if b is None else b.flat)
    rows: list[tuple[Any, ...]] = [
            ("toeplitz", toeplitz, spec.toeplitz_shape, "toeplitz_matrix", lambda: own_toeplitz(spec, w),
             weights, "the weights", f"an FC weight matrix {WEIGHTS_ONLY}"),
            ("im2col", im2col, patches_shape, "im2col_matrix", lambda: own_im2col(spec, x, order), inputs,
             "the inputs", "the patch matrix P must be a polynomial in the inputs only"),
            ("kernel_matrix", kernel_matrix, kernel_shape, "kernel_matrix", lambda: own_kernel(spec, w, order),
             weights, "the weights", f"the kernel matrix K {WEIGHTS_ONLY}"),
            ("output", output, spec.output_shape, "output", None, weights | inputs | biases, "x, w and b",
             "an output must be a polynomial in x, w and b only", lambda: conv(spec, x, w, b))]
    layout = f"{spec.layout} layout, {order} order"
    return [Supplied.of(parameter, value, shape, layout, *rest)
            for parameter, value, shape, *rest in rows if value is not None], weights | inputs | biases


@one_reading()   # each user value copied once for the whole proof (the forms and the counterexample)
def prove(spec: ConvSpec, *, toeplitz: sp.MatrixBase | None = None, im2col: sp.MatrixBase | None = None,
          kernel_matrix: sp.MatrixBase | None = None, output: Any = None,
          order: str = "unfold", backend: str = "auto", progress: bool = False,
          memory_limit: int | None = None) -> ConvProof:
    """Prove conv(x, w, b) = T·vec(x) + b⊗1 = K·P + b (P·K + b in the paper order; without b
    for a layer without bias) for symbolic x, w, b.

    Pass ``toeplitz=``, ``im2col=`` (P) / ``kernel_matrix=`` (K) or ``output=`` (an array of
    outputs) to check your own matrices or outputs instead of symconv's, written in the symbols
    of ``symconv.symbols(spec)``: each must use only its own symbols (module docstring), and a
    matrix must equal symconv's entry by entry (the im2col factors are those of ``F.unfold``);
    otherwise the proof is refuted at the first such entry. Entries must be exact (text:
    TypeError; NaN, None, bools, relations, sets, non-integer floats: SpecError naming the entry).
    ``order`` picks the im2col layout ("unfold" or "paper").

    ``backend``: "exact" (integer monomial keys in NumPy; fast), "sympy" (SymPy expand) or
    "auto" (by size); both are exact and give the same verdict and counterexample.
    ``progress=True`` shows a tqdm bar. Before any work the peak memory is estimated; above
    ``memory_limit`` bytes (default: MemAvailable) SpecError is raised.
    """
    check_spec(spec)
    _check_order(order)
    progress = boolean("progress", progress)
    chosen = backends.choose(backend)
    backends.check_memory(spec, chosen, memory_limit)  # before the symbols: they count too
    supplied, known = _supplied_forms(spec, order, toeplitz, im2col, kernel_matrix, output)
    exact = {s.form: s.value for s in supplied}
    forms = []
    if output is not None:
        forms.append("output")
    if toeplitz is not None or output is None and im2col is None and kernel_matrix is None:
        forms.append("toeplitz")
    if im2col is not None or kernel_matrix is not None or output is None and toeplitz is None:
        forms.append("im2col")
    # 1. each supplied form uses only its own symbols; 2. the products equal the definition
    # (the backend); 3. each supplied matrix is the layer's own, entry by entry
    start = time.perf_counter()
    found = check_supplied(supplied, known)
    timings, label = {"supplied forms": time.perf_counter() - start} if supplied else {}, chosen
    if found is None:
        checked = backends.Given(exact.get("toeplitz_matrix"), exact.get("im2col_matrix"),
                                 exact.get("kernel_matrix"), exact.get("output"))
        found, run_timings, label = backends.run(spec, tuple(forms), checked, order, chosen, progress,
                                                 memory_limit)
        timings.update(run_timings)
    if found is None and supplied:
        start = time.perf_counter()
        found = compare_supplied(supplied)
        timings["supplied matrices"] = time.perf_counter() - start
    variant = "paper" if order == "paper" else ""
    names = [comparison(f, variant, spec.bias).obtained if f != "output" else "the given output" for f in forms]
    statement = " = ".join([comparison("toeplitz", bias=spec.bias).expected, *names])
    return ConvProof(spec=spec, statement=statement, forms=tuple(forms), holds=found is None,
                     counterexample=found, terms=spec.n_terms + spec.n_bias_terms,
                     outputs=int(np.prod(spec.output_shape)), timings=timings, backend=label,
                     given={s.parameter: s.value for s in supplied}, order=order)  # the immutable copies checked
