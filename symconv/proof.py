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

import re
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
class Comparison:
    """What a form's check compares: the quantity the form computes (``obtained``) against the
    reference it must equal (``expected``), as text and as LaTeX. In the ``*_entry`` LaTeX
    templates ``@`` stands for the entry's index; text entries are ``name[index]``."""

    obtained: str
    expected: str
    obtained_entry: str
    expected_entry: str

    def entry(self, which: str, index: tuple[int, ...]) -> str:
        """``"(g·Pᵀ)[0,0,1]"``: the text name of one entry of the obtained or expected side."""
        name = self.obtained if which == "obtained" else self.expected
        atomic = re.fullmatch(r"[\w∂]+(\([^()]*\))?", name) is not None
        return f"{name if atomic else f'({name})'}[{','.join(map(str, index))}]"

    def _template(self, which: str, bias: bool) -> str:
        tex = self.obtained_entry if which == "obtained" else self.expected_entry
        if not bias:  # a layer without bias: conv(x, w), T·vec(x), K·P
            for term, plain in ((r" + b \otimes \mathbf{1}", ""), (" + b", ""), ("(x, w, b)", "(x, w)")):
                tex = tex.replace(term, plain)
        return tex

    def entry_latex(self, which: str, index: tuple[int, ...], bias: bool = True) -> str:
        return self._template(which, bias).replace("@", ",".join(map(str, index)))

    def quantity_latex(self, which: str, bias: bool = True) -> str:
        """The whole quantity: the entry template without its index (and outer parentheses)."""
        tex = self._template(which, bias).replace("_{@}", "")
        depth = 0
        for position, ch in enumerate(tex):
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth == 0 and position < len(tex) - 1:
                return tex
        return tex[1:-1] if tex.startswith("(") else tex


_CONV = r"\mathrm{conv}(x, w, b)_{@}"
_LOSS = r"\frac{\partial \langle g, y \rangle}{\partial %s_{@}}"
COMPARISONS: dict[str, Comparison] = {
    # prove(): each form against the definition, index (o, *out)
    "toeplitz": Comparison("T·vec(x) + b⊗1", "conv(x, w, b)",
                           r"(T\,\mathrm{vec}(x) + b \otimes \mathbf{1})_{@}", _CONV),
    "im2col": Comparison("K·P + b", "conv(x, w, b)", r"(K P + b)_{@}", _CONV),
    "output": Comparison("y_given", "conv(x, w, b)", r"y^{\mathrm{given}}_{@}", _CONV),
    # prove_transpose(): index (c, *in), (o, c, *k) or (o,)
    "transpose": Comparison("Tᵀ·vec(g)", "conv_transpose(g, w)", r"(T^{\top} \mathrm{vec}(g))_{@}",
                            r"\mathrm{conv\_transpose}(g, w)_{@}"),
    "weight_gradient": Comparison("g·Pᵀ", "∂⟨g, y⟩/∂w", r"(g P^{\top})_{@}", _LOSS % "w"),
    "input_gradient": Comparison("Tᵀ·vec(g)", "∂⟨g, y⟩/∂x", r"(T^{\top} \mathrm{vec}(g))_{@}", _LOSS % "x"),
    "bias_gradient": Comparison("g·1", "∂⟨g, y⟩/∂b", r"(g\, \mathbf{1})_{@}", _LOSS % "b"),
    # converse.prove_fc_as_conv(): the weights read back from W, index (o, c, *n)
    "fc_as_conv": Comparison("fc_as_conv(W)", "w", r"\mathrm{fc\_as\_conv}(W)_{@}", "w_{@}"),
    # spectral.prove_block_diagonalisation(): index (row, column)
    "dft": Comparison("U_out·T", "D·U_in", r"(U_{C_{\mathrm{out}}} T)_{@}", r"(D\, U_{C_{\mathrm{in}}})_{@}"),
    # interop.prove_network(): index into the flattened network output
    "mlp": Comparison("MLP(vec x)", "network(x)", r"\mathrm{MLP}(\mathrm{vec}\, x)_{@}",
                      r"\mathrm{network}(x)_{@}"),
}


def comparison(form: str) -> Comparison:
    """The comparison a form's check makes (a generic one for a form not in COMPARISONS)."""
    found = COMPARISONS.get(form)
    if found is not None:
        return found
    tex = r"\mathrm{" + form.replace("_", r"\_") + "}"
    return Comparison(form, "expected", tex + "_{@}", r"\mathrm{expected}_{@}")


@dataclass(frozen=True)
class Counterexample:
    """The first entry where a form differs from what it must equal.

    ``index`` is the entry's index in the compared arrays (for ``prove``: (o, *out)
    channels-first, with a leading sample index when batched; see ``COMPARISONS`` for the
    others); ``missing`` are the terms of the expected side the form lacks, ``extra`` those it
    has instead (each with its coefficient), so expected − obtained = Σ missing − Σ extra.
    """

    form: str
    index: tuple[int, ...]
    expected: sp.Expr
    obtained: sp.Expr
    difference: sp.Expr
    missing: tuple[sp.Expr, ...]
    extra: tuple[sp.Expr, ...]

    @property
    def comparison(self) -> Comparison:
        return comparison(self.form)

    def headline(self) -> str:
        """``weight_gradient: (g·Pᵀ)[0,0,1] differs from (∂⟨g, y⟩/∂w)[0,0,1]``."""
        c = self.comparison
        return (f"{self.form}: {c.entry('obtained', self.index)} differs from "
                f"{c.entry('expected', self.index)}")

    def __str__(self) -> str:
        c = self.comparison
        lines = [self.headline(), f"  expected ({c.expected}): {self.expected}",
                 f"  obtained ({c.obtained}): {self.obtained}"]
        if self.missing:
            lines.append("  lacks:    " + ", ".join(map(str, self.missing)))
        if self.extra:
            lines.append("  has instead: " + ", ".join(map(str, self.extra)))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Counterexample {self.headline()}; expected − obtained = {self.difference}>"

    def _repr_latex_(self) -> str:
        """Jupyter: the two sides and their difference as display math."""
        from .latex.report import counterexample_display
        return counterexample_display(self)


class PrintsItself:
    """A proof result that prints itself: ``to_latex(**options)`` (a document or fragment,
    ``symconv.latex.proof_to_latex``), ``_repr_latex_`` (Jupyter: statement, verdict and
    counterexample as display math) and a one-line ``__repr__``. Needs ``statement``, ``holds``
    and ``counterexample``; a dataclass using it sets ``repr=False`` to keep this ``__repr__``."""

    statement: str
    holds: bool
    counterexample: Counterexample | None

    def to_latex(self, **options: Any) -> str:
        """The result as LaTeX (standalone document by default; see ``symconv.latex``)."""
        from .latex.proof import proof_to_latex
        return proof_to_latex(self, **options)

    def _repr_latex_(self) -> str:
        from .latex.report import result_display
        return result_display(self)

    def __repr__(self) -> str:
        verdict = "PROVED" if self.holds else "REFUTED"
        spec = getattr(self, "spec", None)
        where = f" [{spec.describe()}]" if spec is not None else ""
        found = "" if self.counterexample is None else f"; {self.counterexample.headline()}"
        return f"<{type(self).__name__} {verdict}: {self.statement}{where}{found}>"


@dataclass(frozen=True, repr=False)
class Proof(PrintsItself):
    """The outcome of ``prove`` (and of the transpose, converse and DFT proofs): ``holds`` and,
    when it does not, the first counterexample.

    ``given`` holds the user-supplied forms the proof checked instead of symconv's own
    (``prove``: keys "toeplitz", "im2col", "kernel_matrix", "output"), so ``to_latex`` can show
    the matrix that was actually checked next to its counterexample.
    """

    spec: ConvSpec
    statement: str
    forms: tuple[str, ...]
    holds: bool
    counterexample: Counterexample | None
    terms: int
    outputs: int
    timings: dict[str, float] = field(default_factory=dict)
    backend: str = "sympy"
    given: dict[str, Any] = field(default_factory=dict, compare=False)

    def __bool__(self) -> bool:
        return self.holds

    def summary(self) -> str:
        verdict = "PROVED" if self.holds else "REFUTED"
        total = sum(self.timings.values())
        line = (f"{verdict}: {self.statement} [{self.spec.describe()}; {self.terms} terms, "
                f"{self.outputs} outputs, {total:.3f} s, backend {self.backend}]")
        return line if self.holds else f"{line}\n{self.counterexample}"


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
    supplied = {"toeplitz": toeplitz, "im2col": im2col, "kernel_matrix": kernel_matrix, "output": output}
    return Proof(spec=spec, statement=statement, forms=tuple(forms), holds=found is None,
                 counterexample=found, terms=spec.n_terms + spec.n_bias_terms,
                 outputs=int(np.prod(spec.output_shape)), timings=timings, backend=label,
                 given={name: value for name, value in supplied.items() if value is not None})
