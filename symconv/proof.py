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

A supplied matrix is a claim about the matrix, not only about its product: T·vec(x) = y holds
for a T that divides by x, and K·P = conv for P/x with K·x, for rows of P permuted with the
columns of K, for garbage in a column of K that multiplies only padding zeros. So every supplied
form is checked in three steps, each with its own counterexample: (1) its entries are exact
(``symconv.forms.entries``: text is never evaluated, floats only with integer values) and
polynomials in its own symbols only — T, K (and Tᵀ, W) in the weights, P in the inputs, an output
in x, w, b (``Supplied.violation``: the counterexample's ``reason`` names the entry and the
offending symbols); (2) its product equals the definition (the backend); (3) it equals the layer's
own matrix entry by entry, as canonical polynomials (``Supplied.difference``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import sympy as sp

from .errors import SpecError
from .forms.im2col import _check_order, factor_shapes
from .spec import ConvSpec, boolean, check_spec
from .symbols import check_shape, symbols, to_canonical_output


@dataclass(frozen=True)
class Comparison:
    """What a form's check compares: the quantity the form computes (``obtained``) against the
    reference it must equal (``expected``), as text and as LaTeX. In the ``*_entry`` LaTeX
    templates ``@`` stands for the entry's index; text entries are ``name[index]``. A ``#`` in a
    name or template stands for the first index component (the sample n of a batch), ``@`` and
    the brackets then for the rest: ``(Tᵀ·vec(g_1))[0,2]``; the whole quantity reads ``g_n``."""

    obtained: str
    expected: str
    obtained_entry: str
    expected_entry: str

    def without_bias(self) -> Comparison:
        """The comparison for a layer without bias: conv(x, w), T·vec(x), K·P, W·vec(x)."""
        def drop(text: str) -> str:
            for term in _BIAS_TERMS:
                text = text.replace(term, "")
            return text.replace("(x, w, b)", "(x, w)")
        return Comparison(*map(drop, (self.obtained, self.expected, self.obtained_entry, self.expected_entry)))

    def _side(self, which: str, latex: bool) -> str:
        if which == "obtained":
            return self.obtained_entry if latex else self.obtained
        return self.expected_entry if latex else self.expected

    def entry(self, which: str, index: tuple[int, ...]) -> str:
        """``"(g·Pᵀ)[0,0,1]"``: the text name of one entry of the obtained or expected side."""
        name = self._side(which, latex=False)
        if "#" in name:
            name, index = name.replace("#", str(index[0])), index[1:]
        atomic = re.fullmatch(r"[\w∂]+(\([^()]*\))?", name) is not None
        return f"{name if atomic else f'({name})'}[{','.join(map(str, index))}]"

    def quantity(self, which: str) -> str:
        """The whole quantity as text: ``"Tᵀ·vec(g_n)"``."""
        return self._side(which, latex=False).replace("#", "n")

    def entry_latex(self, which: str, index: tuple[int, ...]) -> str:
        tex = self._side(which, latex=True)
        if "#" in tex:
            tex, index = tex.replace("#", str(index[0])), index[1:]
        return tex.replace("@", ",".join(map(str, index)))

    def quantity_latex(self, which: str) -> str:
        """The whole quantity: the entry template without its index (and outer parentheses)."""
        tex = self._side(which, latex=True).replace("#", "n").replace("_{@}", "").replace(",@", "")
        depth = 0
        for position, ch in enumerate(tex):
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth == 0 and position < len(tex) - 1:
                return tex
        return tex[1:-1] if tex.startswith("(") else tex


_BIAS_TERMS = (r" + b \otimes \mathbf{1}", r" + b \mathbf{1}^{\top}", " + b⊗1", " + b·1ᵀ", " + b")
_CONV = r"\mathrm{conv}(x, w, b)_{@}"
_LOSS = r"\frac{\partial \langle g, y \rangle}{\partial %s_{@}}"
_BATCH_LOSS = r"\frac{\partial L}{\partial %s_{@}}"
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
    # converse.prove_fc_as_conv(): the FC layer against the conv, index (o, *out) (out all 0), then
    # the weights read back from W, index (o, c, *n)
    "fc": Comparison("W·vec(x) + b", "conv(x, w, b)", r"(W\, \mathrm{vec}(x) + b)_{@}", _CONV),
    "fc_as_conv": Comparison("fc_as_conv(W)", "w", r"\mathrm{fc\_as\_conv}(W)_{@}", "w_{@}"),
    # converse.prove_conv1x1_as_fc(): W at every position, X = x with one column per position,
    # index (o, *out)
    "conv1x1": Comparison("W·X + b·1ᵀ", "conv(x, w, b)", r"(W X + b \mathbf{1}^{\top})_{@}", _CONV),
    # a supplied matrix against the layer's own, entry by entry, index (row, column); also where an
    # entry breaks the form's rule (Counterexample.reason): T, K, Tᵀ and W use the weights only, P the
    # inputs only
    "toeplitz_matrix": Comparison("T", "toeplitz(w)", r"T_{@}", r"\mathrm{toeplitz}(w)_{@}"),
    "im2col_matrix": Comparison("P", "im2col(x)", r"P_{@}", r"\mathrm{im2col}(x)_{@}"),
    "kernel_matrix": Comparison("K", "kernel_matrix(w)", r"K_{@}", r"\mathrm{kernel\_matrix}(w)_{@}"),
    "transpose_matrix": Comparison("Tᵀ", "toeplitz(w)ᵀ", r"T^{\top}_{@}", r"\mathrm{toeplitz}(w)^{\top}_{@}"),
    "fc_matrix": Comparison("W", "fc_matrix(w)", r"W_{@}", r"\mathrm{fc\_matrix}(w)_{@}"),
    "conv1x1_matrix": Comparison("W", "conv1x1_as_fc(w)", r"W_{@}", r"\mathrm{conv1x1\_as\_fc}(w)_{@}"),
    # spectral.prove_block_diagonalisation(): index (row, column)
    "dft": Comparison("U_out·T", "D·U_in", r"(U_{C_{\mathrm{out}}} T)_{@}", r"(D\, U_{C_{\mathrm{in}}})_{@}"),
    # interop.prove_network(): index into the flattened network output
    "mlp": Comparison("MLP(vec x)", "network(x)", r"\mathrm{MLP}(\mathrm{vec}\, x)_{@}",
                      r"\mathrm{network}(x)_{@}"),
}
VARIANTS: dict[tuple[str, str], Comparison] = {
    # prove(order="paper"): Ma and Lu's layout, y = P·K (+ b)
    ("im2col", "paper"): Comparison("P·K + b", "conv(x, w, b)", r"(P K + b)_{@}", _CONV),
    # prove_transpose(batch=B): L = Σ_n ⟨g_n, y_n⟩; input-shaped indices (n, c, *in)
    ("transpose", "batched"): Comparison("Tᵀ·vec(g_#)", "conv_transpose(g_#, w)",
                                         r"(T^{\top} \mathrm{vec}(g_{#}))_{@}",
                                         r"\mathrm{conv\_transpose}(g_{#}, w)_{@}"),
    ("weight_gradient", "batched"): Comparison("Σ_n g_n·P_nᵀ", "∂L/∂w",
                                               r"({\textstyle\sum_{n}} g_{n} P_{n}^{\top})_{@}", _BATCH_LOSS % "w"),
    ("input_gradient", "batched"): Comparison("Tᵀ·vec(g_#)", "∂L/∂x_#", r"(T^{\top} \mathrm{vec}(g_{#}))_{@}",
                                              r"\frac{\partial L}{\partial x_{#,@}}"),
    ("bias_gradient", "batched"): Comparison("Σ_n g_n·1", "∂L/∂b",
                                             r"({\textstyle\sum_{n}} g_{n}\, \mathbf{1})_{@}", _BATCH_LOSS % "b"),
}


def comparison(form: str, variant: str = "", bias: bool = True) -> Comparison:
    """What a form's check compares (a generic comparison for a form not in COMPARISONS):
    ``variant`` "paper" (im2col in Ma and Lu's order) or "batched" (gradients of a batch) picks
    an entry of VARIANTS; ``bias=False`` drops b (a layer without bias)."""
    found = VARIANTS.get((form, variant)) or COMPARISONS.get(form)
    if found is None:
        tex = r"\mathrm{" + form.replace("_", r"\_") + "}"
        found = Comparison(form, "expected", tex + "_{@}", r"\mathrm{expected}_{@}")
    return found if bias else found.without_bias()


@dataclass(frozen=True)
class Counterexample:
    """The first entry where a form differs from what it must equal.

    ``index`` is the entry's index in the compared arrays (for ``prove``: (o, *out)
    channels-first, with a leading sample index when batched; see ``COMPARISONS`` for the
    others); ``missing`` are the terms of the expected side the form lacks, ``extra`` those it
    has instead (each with its coefficient), so expected − obtained = Σ missing − Σ extra.
    ``reason`` is set when the obtained entry breaks its form's rule rather than (only) differing:
    "depends on the input x_{0,0,0}: an FC weight matrix may depend on the weights only".
    """

    form: str
    index: tuple[int, ...]
    expected: sp.Expr
    obtained: sp.Expr
    difference: sp.Expr
    missing: tuple[sp.Expr, ...]
    extra: tuple[sp.Expr, ...]
    compared: Comparison | None = field(default=None, compare=False, repr=False)
    reason: str = ""

    @property
    def comparison(self) -> Comparison:
        """What was compared: ``compared`` (set by the proof, which knows the layer's bias, the
        im2col order and the batch), else ``comparison(form)``."""
        return self.compared if self.compared is not None else comparison(self.form)

    def headline(self) -> str:
        """``weight_gradient: (g·Pᵀ)[0,0,1] differs from (∂⟨g, y⟩/∂w)[0,0,1]``; with a reason
        ``toeplitz_matrix: T[3,0] depends on the input x_{0,0,0}: …``."""
        c = self.comparison
        if self.reason:
            return f"{self.form}: {c.entry('obtained', self.index)} {self.reason}"
        return (f"{self.form}: {c.entry('obtained', self.index)} differs from "
                f"{c.entry('expected', self.index)}")

    def __str__(self) -> str:
        c = self.comparison
        lines = [self.headline(), f"  expected ({c.quantity('expected')}): {self.expected}",
                 f"  obtained ({c.quantity('obtained')}): {self.obtained}"]
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

    def setting(self) -> str:
        """What the result is about, for its repr: the layer (``spec.describe()``)."""
        spec = getattr(self, "spec", None)
        return "" if spec is None else spec.describe()

    def __repr__(self) -> str:
        verdict = "PROVED" if self.holds else "REFUTED"
        where = f" [{self.setting()}]" if self.setting() else ""
        found = "" if self.counterexample is None else f"; {self.counterexample.headline()}"
        return f"<{type(self).__name__} {verdict}: {self.statement}{where}{found}>"


@dataclass(frozen=True, repr=False)
class Proof(PrintsItself):
    """The outcome of ``prove`` (and of the transpose, converse and DFT proofs): ``holds`` and,
    when it does not, the first counterexample.

    ``given`` holds the user-supplied forms the proof checked instead of symconv's own
    (``prove``: keys "toeplitz", "im2col", "kernel_matrix", "output"), so ``to_latex`` can show
    the matrix that was actually checked next to its counterexample. ``order`` is the im2col
    layout checked, ``batch`` the batch size of a batched proof (None: one sample); with the
    layer's bias they fix what each form compares (``comparison``), which the counterexample
    then carries.
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
    order: str = "unfold"
    batch: int | None = None

    def __post_init__(self) -> None:
        cx = self.counterexample
        if cx is not None and cx.compared is None:  # frozen: the counterexample learns its wording once
            object.__setattr__(self, "counterexample", replace(cx, compared=self.comparison(cx.form)))

    def comparison(self, form: str) -> Comparison:
        """What ``form`` compares in this proof (b dropped without bias; paper order; batched)."""
        variant = "batched" if self.batch is not None else ("paper" if self.order == "paper" else "")
        return comparison(form, variant, self.spec.bias)

    def __bool__(self) -> bool:
        return self.holds

    def summary(self) -> str:
        verdict = "PROVED" if self.holds else "REFUTED"
        total = sum(self.timings.values())
        line = (f"{verdict}: {self.statement} [{self.spec.describe()}; {self.terms} terms, "
                f"{self.outputs} outputs, {total:.3f} s, backend {self.backend}]")
        return line if self.holds else f"{line}\n{self.counterexample}"


def counterexample_of(form: str, index: tuple[int, ...], expected: Any, obtained: Any) -> Counterexample | None:
    """None if expected and obtained are the same polynomial, else the counterexample (values are
    converted with ``sympify(strict=True)``: text is never evaluated)."""
    expected, obtained = sp.sympify(expected, strict=True), sp.sympify(obtained, strict=True)
    difference = sp.expand(expected - obtained)
    if difference == 0:
        return None
    missing, extra = [], []
    for term in sp.Add.make_args(difference):
        coefficient, _ = term.as_coeff_Mul()
        (extra if coefficient < 0 else missing).append(term if coefficient > 0 else -term)
    return Counterexample(form, index, expected, obtained, difference, tuple(missing), tuple(extra))


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


def _nonzeros(array: Any) -> tuple[tuple[int, ...], dict[tuple[int, ...], Any]]:
    """(shape, {index: entry}) of the nonzero entries; a SymPy matrix by its own sparse view."""
    if isinstance(array, sp.MatrixBase):
        return array.shape, dict(array.todok())
    array = np.asarray(array, dtype=object)
    return array.shape, {index: v for index, v in np.ndenumerate(array) if not v == 0}


def first_entry_difference(form: str, expected: Any, obtained: Any) -> Counterexample | None:
    """Compare two arrays (or SymPy matrices) of the same shape entry by entry (canonical forms),
    in row-major order; the counterexample's index is the array index. Entries that are the same
    expression tree are equal without expanding them (identical trees denote the same value)."""
    shape, e = _nonzeros(expected)
    o_shape, o = _nonzeros(obtained)
    if o_shape != shape:
        raise SpecError(f"{form}.shape", o_shape, f"must be {shape}")
    for index in sorted(e.keys() | o.keys()):
        a, b = e.get(index, 0), o.get(index, 0)
        if a is b or a == b:
            continue
        found = counterexample_of(form, index, a, b)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class Supplied:
    """A user-supplied matrix (or output) and what it must be.

    ``value`` holds exact entries (``symconv.forms.entries.exact_matrix``); ``own`` builds the
    layer's matrix it must equal (None: checked only through its product, e.g. an output); its
    entries may use only the ``allowed`` symbols (``operands`` names them, ``rule`` states the
    rule). ``form`` names the check in counterexamples (``COMPARISONS``); ``reference`` builds
    what a counterexample shows as expected when there is no ``own`` (an output: the definition)."""

    form: str
    value: Any
    own: Callable[[], Any] | None
    allowed: frozenset
    operands: str
    rule: str
    reference: Callable[[], Any] | None = None
    parameter: str = ""

    @classmethod
    def of(cls, parameter: str, value: Any, shape: tuple[int, ...], layout: str, form: str,
           own: Callable[[], Any] | None, allowed: frozenset, operands: str, rule: str,
           reference: Callable[[], Any] | None = None) -> Supplied:
        """The user's ``value`` for argument ``parameter`` with exact entries (TypeError or
        SpecError naming the entry otherwise) and the given ``shape`` (SpecError otherwise)."""
        from .forms.entries import exact_matrix
        from .parsing import ExpansionBudget
        exact = exact_matrix(parameter, value, shape, layout)
        budget, entries = ExpansionBudget(parameter), _nonzeros(exact)[1]
        for index in sorted(entries):  # before anything expands an entry
            budget.spend(f"{parameter}[{', '.join(map(str, index))}]", entries[index])
        return cls(form, exact, own, allowed, operands, rule, reference, parameter)

    def violation(self, known: frozenset) -> Counterexample | None:
        """The first entry (row-major) that is not a polynomial in the allowed symbols: a
        counterexample whose ``reason`` names the entry's offending symbols and the rule. An
        entry written with other symbols that cancel ((x + 1)² − x² − 2x − 1 + w) is judged by
        its expanded form, which equals it; an entry too large to expand (``sp.expand``
        multiplies out denominators too) was refused by ``Supplied.of``, not left to hang."""
        from .forms.entries import form_violation
        _, entries = _nonzeros(self.value)
        for index in sorted(entries):
            entry = entries[index]
            if form_violation(entry, self.allowed, self.operands, known) is None:
                continue
            why = form_violation(sp.expand(entry), self.allowed, self.operands, known)
            if why is None:
                continue
            build = self.own or self.reference
            found = counterexample_of(self.form, index, 0 if build is None else _entry(build(), index), entry)
            if found is not None:
                return replace(found, reason=f"{why}: {self.rule}")
        return None

    def difference(self) -> Counterexample | None:
        """The first entry where the matrix differs from the layer's own (None without ``own``)."""
        return None if self.own is None else first_entry_difference(self.form, self.own(), self.value)


def _entry(array: Any, index: tuple[int, ...]) -> Any:
    return array[index] if isinstance(array, (sp.MatrixBase, np.ndarray)) else np.asarray(array, dtype=object)[index]


def check_supplied(supplied: list[Supplied], known: frozenset) -> Counterexample | None:
    """The first supplied form with an entry that breaks its rule (``Supplied.violation``)."""
    return next((found for s in supplied if (found := s.violation(known)) is not None), None)


def compare_supplied(supplied: list[Supplied]) -> Counterexample | None:
    """The first supplied matrix that differs from the layer's own (``Supplied.difference``): a
    product identity such as K·P = conv does not fix its factors (rows of P permuted with the
    columns of K, a column of K that multiplies only padding zeros)."""
    return next((found for s in supplied if (found := s.difference()) is not None), None)


WEIGHTS_ONLY = "must be a polynomial in the weights only"


def _supplied_forms(spec: ConvSpec, order: str, toeplitz: Any, im2col: Any, kernel_matrix: Any,
                    output: Any) -> tuple[list[Supplied], frozenset]:
    """The user's forms of ``prove`` as exact ``Supplied`` (shapes checked), and the layer's symbols."""
    from .forms import conv, im2col as own_im2col, kernel_matrix as own_kernel, toeplitz as own_toeplitz

    patches_shape, kernel_shape = factor_shapes(spec, order)
    x, w, b = symbols(spec)
    weights, inputs = frozenset(w.flat), frozenset(x.flat)
    biases = frozenset(() if b is None else b.flat)
    rows = [("toeplitz", toeplitz, spec.toeplitz_shape, "toeplitz_matrix", lambda: own_toeplitz(spec, w),
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


def prove(spec: ConvSpec, *, toeplitz: sp.MatrixBase | None = None, im2col: sp.MatrixBase | None = None,
          kernel_matrix: sp.MatrixBase | None = None, output: Any = None,
          order: str = "unfold", backend: str = "auto", progress: bool = False,
          memory_limit: int | None = None) -> Proof:
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
    from . import backends  # backends use this module's Counterexample: import late

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
        given = backends.Given(exact.get("toeplitz_matrix"), exact.get("im2col_matrix"),
                               exact.get("kernel_matrix"), exact.get("output"))
        found, run_timings, label = backends.run(spec, tuple(forms), given, order, chosen, progress)
        timings.update(run_timings)
    if found is None and supplied:
        start = time.perf_counter()
        found = compare_supplied(supplied)
        timings["supplied matrices"] = time.perf_counter() - start
    variant = "paper" if order == "paper" else ""
    names = [comparison(f, variant, spec.bias).obtained if f != "output" else "the given output" for f in forms]
    statement = " = ".join([comparison("toeplitz", bias=spec.bias).expected, *names])
    given = {"toeplitz": toeplitz, "im2col": im2col, "kernel_matrix": kernel_matrix, "output": output}
    return Proof(spec=spec, statement=statement, forms=tuple(forms), holds=found is None,
                 counterexample=found, terms=spec.n_terms + spec.n_bias_terms,
                 outputs=int(np.prod(spec.output_shape)), timings=timings, backend=label,
                 given={name: value for name, value in given.items() if value is not None}, order=order)
