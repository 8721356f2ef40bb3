"""The names of the general theorems' tensors, in one table: the attribute of ``setting.Layer``
that holds each, the label SymPy prints in plain text (and the derivations' JSON), its LaTeX
and, for the tensors of stacked layers, its LaTeX with the layer ``L`` marked.

``Layer`` creates its tensors from ``LAYER_TENSORS``, a theorem creates its own tensors (P, K,
T0, …) with ``tensor(label)``, and ``latex.DerivationPrinter`` prints every label by the same
table, so a name is declared once.

>>> tensor("T0"), LATEX["xt"], STACKED["vy"]
(T0, '\\\\tilde{x}', '\\\\operatorname{vec}(y^{L})')
>>> [t.attribute for t in LAYER_TENSORS][:4]
['w', 'x', 'padded_input', 'y']
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp


@dataclass(frozen=True)
class Tensor:
    """One tensor of the theorems: ``label`` is its SymPy name, ``attribute`` the name of the
    ``Layer`` attribute holding it (None: a theorem's own tensor), ``latex`` its LaTeX (None:
    the label), ``stacked`` its LaTeX in a stack of layers with L the layer (None: the generic
    base^{(L)})."""

    label: str
    meaning: str
    attribute: str | None = None
    latex: str | None = None
    stacked: str | None = None


VEC = r"\operatorname{vec}"
ONES = r"\otimes \mathbf{1}"

LAYER_TENSORS = (
    Tensor("w", "the weight w[o, c', t]", "w"),
    Tensor("x", "the input x[c, i]", "x"),
    Tensor("xt", "the input padded with zeros, x̃[c, u]", "padded_input", r"\tilde{x}"),
    Tensor("y", "the output y[o, j] (the convolution)", "y"),
    Tensor("T", "the FC layer's matrix T[(g, h, j), (c, i)]", "T"),
    Tensor("v", "vec(x), the input as a vector", "input_vector", rf"{VEC}(x)", rf"{VEC}(x^{{L}})"),
    Tensor("vy", "vec(y), the output as a vector", "output_vector", rf"{VEC}(y)", rf"{VEC}(y^{{L}})"),
    Tensor("Tx", "T·vec(x), the FC layer's output", "fc_output", rf"(T {VEC} x)",
           rf"(T^{{L}} {VEC} x^{{L}})"),
    Tensor("gamma", "γ, a tensor of the output's shape (the output gradient)", "output_gradient",
           r"\gamma"),
    Tensor("vgamma", "vec(γ)", "output_gradient_vector", rf"{VEC}(\gamma)"),
    Tensor("z", "z, the transposed convolution of γ (the input gradient)", "transposed_output"),
    Tensor("vz", "vec(z)", "transposed_output_vector", rf"{VEC}(z)"),
    Tensor("Gamma", "Γ[o, c, r], the generator of a block-circulant T", "circulant_generator",
           r"\Gamma"),
    Tensor("b", "the bias b[o]", "b"),
    Tensor("beta", "b ⊗ 1, the bias repeated over the output positions", "bias_vector",
           rf"(b {ONES})", rf"(b^{{L}} {ONES})"),
    Tensor("vyb", "vec(y + b), the output with bias as a vector", "biased_output_vector",
           rf"{VEC}(y + b)", rf"{VEC}(y^{{L}} + b^{{L}})"),
)
"""The tensors of one symbolic layer (``setting.Layer``); a stacked layer's labels carry its tag."""

THEOREM_TENSORS = (
    Tensor("P", "the im2col matrix"),
    Tensor("K", "the kernel matrix"),
    Tensor("KP", "the im2col product K·P, per group", latex="(K P)"),
    Tensor("T0", "T of the unpadded layer on the padded input", latex=r"T^{0}"),
    Tensor("Rp", "the 0/1 matrix of the padding map", latex="R"),
    Tensor("T0R", "the product T0·R", latex=r"(T^{0} R)"),
    Tensor("N", "the FC network T2·σ(T1·vec x)",
           latex=rf"\bigl(T^{{(2)}} \sigma(T^{{(1)}} {VEC} x)\bigr)"),
    Tensor("Nb", "the FC network with biases",
           latex=(rf"\bigl(T^{{(2)}} \sigma(T^{{(1)}} {VEC} x + b^{{(1)}} {ONES}) + b^{{(2)}} "
                  rf"{ONES}\bigr)")),
    Tensor("nu", "ν, a channel vector", latex=r"\nu"),
    Tensor("Lambda", "Λ(z), the kernel's DFT (a C_out × C_in block)", latex=r"\Lambda(z)"),
)
"""The tensors a theorem defines for itself (``tensor(label)``)."""

LATEX = {t.label: t.latex for t in LAYER_TENSORS + THEOREM_TENSORS if t.latex is not None}
"""label → LaTeX of the tensors printed other than by their label."""
STACKED = {t.label: t.stacked for t in LAYER_TENSORS if t.stacked is not None}
"""label → LaTeX in a stack of layers, L the layer ((1), (2)); layer 1 reads the network input x."""
SYMBOL_LATEX = {"Ci": r"\hat{C}_{\mathrm{in}}", "Co": r"\hat{C}_{\mathrm{out}}"}
"""Symbols printed other than by their name: the per-group channel counts Ĉ_in, Ĉ_out."""

SYMBOL_MEANINGS = {
    "n": "input size", "k": "kernel size", "s": "stride", "d": "dilation",
    "p": "padding before the input", "q": "padding after the input", "m": "output size",
    "G": "number of groups", "Ci": "input channels per group", "Co": "output channels per group",
    "g": "group of the output channel", "h": "output channel within its group",
    "c": "input channel", "g'": "group of an input channel", "c'": "input channel within its group",
    "j": "output position", "i": "input position", "t": "kernel tap", "u": "position in the padded input",
"R": "flat row index", "C": "flat column index",
    "z": "a complex root of unity",
}
"""Symbols (by name without axis suffix or layer tag) → their meaning, for the notation of a
document; tensors are explained by their ``Tensor.meaning``."""

_LABELS = {t.label for t in LAYER_TENSORS + THEOREM_TENSORS}


def tensor(label: str, tag: str = "") -> sp.IndexedBase:
    """The IndexedBase of the tensor ``label`` (declared in this module), with a stacked
    layer's ``tag`` appended."""
    if label not in _LABELS:
        raise KeyError(f"{label!r} is not a tensor of the notation table")
    return sp.IndexedBase(label + tag)
