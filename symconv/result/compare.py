"""What a proof compares and where it fails: ``Comparison`` (the quantity a form computes against
the reference it must equal, as text and LaTeX), ``Counterexample`` (the first entry where they
differ) and the entry-by-entry comparison of canonical expanded polynomials that finds it.

Two polynomials in the same symbols are equal iff their expanded forms are identical, so a zero
``expand(expected − obtained)`` at every entry is a proof and a nonzero one a counterexample
(never ``simplify``, which is a heuristic).

>>> import sympy as sp
>>> a, b = sp.symbols("a b")
>>> found = first_entry_difference("toeplitz_matrix", [[a + b, 0]], [[a, 0]])
>>> found.index, found.missing, found.extra
((0, 0), (b,), ())
>>> first_entry_difference("toeplitz_matrix", [[(a + b)**2]], [[a**2 + 2*a*b + b**2]]) is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SpecError, foreign_class, matrix_entries, one_reading, own_number, refuse_foreign
from ..registry import DISPLAYS
from ..spec import ConvSpec
from ..symbols import to_canonical_output

__all__ = ["COMPARISONS", "VARIANTS", "Comparison", "Counterexample", "comparison", "counterexample_of",
           "first_difference", "first_entry_difference", "nonzeros"]


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
        lines = [self.headline(), f"  expected ({c.quantity('expected')}): {_text(self.expected)}",
                 f"  obtained ({c.quantity('obtained')}): {_text(self.obtained)}"]
        if self.missing:
            lines.append("  lacks:    " + ", ".join(map(_text, self.missing)))
        if self.extra:
            lines.append("  has instead: " + ", ".join(map(_text, self.extra)))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Counterexample {self.headline()}; expected − obtained = {_text(self.difference)}>"

    def _repr_latex_(self) -> str:
        """Jupyter: the two sides and their difference as display math."""
        return str(DISPLAYS.lookup(type(self))(self))


def _text(value: Any) -> str:
    """``str(value)``, or a description when it holds an integer Python refuses to write out
    (more than 4300 digits: a product of several layers' large coefficients can reach that).

    >>> _text(sp.Integer(3) * sp.Symbol("w")), _text(sp.Integer(2) ** 20000 * sp.Symbol("w"))
    ('3*w', '<an expression holding an integer of more than 4300 digits>')
    """
    try:
        return str(value)
    except ValueError:
        return "<an expression holding an integer of more than 4300 digits>"



def counterexample_of(form: str, index: tuple[int, ...], expected: Any, obtained: Any) -> Counterexample | None:
    """None if expected and obtained are the same polynomial, else the counterexample (values are
    converted with ``sympify(strict=True)``: text is never evaluated; a value of a class defined
    outside SymPy is a TypeError, since ``expand`` and ``==`` would ask its own methods)."""
    expected, obtained = (sp.sympify(refuse_foreign(f"{form}{list(index)} ({side})", value, "expressions"),
                                     strict=True) for side, value in (("expected", expected), ("obtained", obtained)))
    difference = sp.expand(expected - obtained)
    if difference == 0:
        return None
    missing: list[sp.Expr] = []
    extra: list[sp.Expr] = []
    for term in sp.Add.make_args(difference):   # a coefficient may be nan or zoo: no "<" is asked of it
        negative = term.as_coeff_Mul()[0].is_extended_negative is True
        (extra if negative else missing).append(-term if negative else term)
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


def nonzeros(array: Any) -> tuple[tuple[int, ...], dict[tuple[int, ...], Any]]:
    """(shape, {index: entry}) of the nonzero entries; a SymPy matrix by its own sparse view, read
    only from SymPy's own matrix classes (a subclass's ``todok`` may show other entries)."""
    if isinstance(array, sp.MatrixBase):
        entries = matrix_entries("matrix", array)
        return (int(array.rows), int(array.cols)), entries
    array = np.asarray(array, dtype=object)
    return array.shape, {index: v for index, v in np.ndenumerate(array) if not _zero(v)}


def _zero(value: Any) -> bool:
    """Whether an entry is the number 0: SymPy's own zero, a SymPy Float whose binary digits are
    mpmath's zero, or a number of Python's or NumPy's own types equal to 0. Nothing else's ``==``
    is asked (an object whose ``==`` says True would vanish unseen); a zero written otherwise
    (``x − x`` unevaluated) counts as a nonzero entry and is compared like one, which can only
    cost time, never a wrong verdict.

    >>> _zero(sp.S.Zero), _zero(0.0), _zero(sp.Float(0)), _zero(sp.Integer(3)), _zero(sp.Add(1, -1, evaluate=False))
    (True, True, True, False, False)
    """
    if type(value) is sp.Float:
        digits = object.__getattribute__(value, "_mpf_")   # mpmath's zero: (0, 0, 0, 0); plain ints only
        return type(digits) is tuple and all(type(v) is int for v in digits) and digits == (0, 0, 0, 0)
    return value is sp.S.Zero or (not isinstance(value, sp.Basic) and own_number(value) and value == 0)


@one_reading()   # each node of both sides is copied once (the layer's symbols appear in every entry)
def first_entry_difference(form: str, expected: Any, obtained: Any) -> Counterexample | None:
    """Compare two arrays (or SymPy matrices) of the same shape entry by entry (canonical forms),
    in row-major order; the counterexample's index is the array index. Entries that are the same
    expression tree are equal without expanding them (identical trees denote the same value: SymPy's
    structural ``==``, asked only of trees of SymPy's own classes, since Python asks a subclass's
    reflected ``__eq__`` first; any other ``==`` may lie, so other entries go to
    ``counterexample_of``, which refuses classes defined outside SymPy and, by
    ``sympify(strict=True)``, what is not a number or a SymPy object)."""
    shape, e = nonzeros(expected)
    o_shape, o = nonzeros(obtained)
    if o_shape != shape:
        raise SpecError(f"{form}.shape", o_shape, f"must be {shape}")
    for index in sorted(e.keys() | o.keys()):
        a, b = e.get(index, 0), o.get(index, 0)
        if a is b or (isinstance(a, sp.Basic) and isinstance(b, sp.Basic)
                      and foreign_class(a) is None and foreign_class(b) is None and a == b):
            continue
        found = counterexample_of(form, index, a, b)
        if found is not None:
            return found
    return None

