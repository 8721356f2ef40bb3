"""The kinds of symconv results, one type each, and what they have in common.

Every result says what it states (``statement``), whether it holds, and, when it does not, the
first counterexample. ``Proof`` is a proof about one layer (``spec``), its subclasses the kinds:

    ConvProof                  ``prove``: conv(x, w, b) = T·vec(x) + b⊗1 = K·P + b
    TransposeProof             ``prove_transpose``: Tᵀ·vec(g) = conv_transpose(g, w) and the gradients
    FCAsConvProof              ``converse.prove_fc_as_conv``: an FC layer is a convolution
    Conv1x1AsFCProof           ``converse.prove_conv1x1_as_fc``: a 1×1 convolution is an FC layer
    BlockDiagonalisationProof  ``spectral.prove_block_diagonalisation``: U_out·T = D·U_in

``NetworkResult`` is the base of ``interop.NetworkProof`` (a whole network as an MLP).

The matrices a proof checked instead of symconv's own are in ``given``, under one vocabulary: the
keyword the user passed them with (``toeplitz`` for T, ``toeplitz_transpose`` for Tᵀ, ``im2col``,
``kernel_matrix``, ``output``, ``weight_grad``, ``input_grad``, ``matrix`` for the converse's W);
``matrices`` lists the keys a kind can hold.

A result prints itself through ``symconv.registry`` (``to_latex``, ``_repr_latex_``): the LaTeX
package registers a report builder per type, found along the MRO, so this module never imports
the code that prints it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from ..pattern import smallest_input_size
from ..registry import DISPLAYS, DOCUMENTS
from ..spec import ConvSpec
from .compare import Comparison, Counterexample, comparison

__all__ = ["BlockDiagonalisationProof", "Conv1x1AsFCProof", "ConvProof", "ConverseProof", "FCAsConvProof",
           "NetworkResult", "PrintsItself", "Proof", "Result", "TransposeProof"]


class Result:
    """A result that prints itself: ``to_latex(**options)`` (a document or fragment,
    ``symconv.latex.proof_to_latex``), ``_repr_latex_`` (Jupyter: statement, verdict and
    counterexample as display math) and a one-line ``__repr__`` (``repr_name``, default the type's
    name). Needs ``statement``, ``holds`` and ``counterexample``; a dataclass using it sets
    ``repr=False`` to keep this ``__repr__``."""

    statement: str
    holds: bool
    counterexample: Counterexample | None
    repr_name: ClassVar[str | None] = None

    def to_latex(self, **options: Any) -> str:
        """The result as LaTeX (standalone document by default; see ``symconv.latex``)."""
        return str(DOCUMENTS.lookup(type(self))(self, **options))

    def _repr_latex_(self) -> str:
        return str(DISPLAYS.lookup(type(self))(self))

    def setting(self) -> str:
        """What the result is about, for its repr: the layer (``spec.describe()``)."""
        spec = getattr(self, "spec", None)
        return "" if spec is None else spec.describe()

    def __bool__(self) -> bool:
        return self.holds

    def __repr__(self) -> str:
        verdict = "PROVED" if self.holds else "REFUTED"
        where = f" [{self.setting()}]" if self.setting() else ""
        found = "" if self.counterexample is None else f"; {self.counterexample.headline()}"
        return f"<{self.repr_name or type(self).__name__} {verdict}: {self.statement}{where}{found}>"


PrintsItself = Result
"""The former name of ``Result``."""


@dataclass(frozen=True, repr=False)
class Proof(Result):
    """A proof about one layer: ``holds`` and, when it does not, the first counterexample.

    ``given`` holds the user-supplied forms the proof checked instead of symconv's own (keys among
    the kind's ``matrices``), so ``to_latex`` can show the matrix that was actually checked next to
    its counterexample. ``order`` is the im2col layout checked, ``batch`` the batch size of a
    batched proof (None: one sample); with the layer's bias they fix what each form compares
    (``comparison``), which the counterexample then carries.
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
    given: Mapping[str, Any] = field(default_factory=dict, compare=False)
    order: str = "unfold"
    batch: int | None = None
    repr_name: ClassVar[str | None] = "Proof"
    matrices: ClassVar[tuple[str, ...] | None] = None  # a kind names its keys; None: any

    def __post_init__(self) -> None:
        unknown = set() if self.matrices is None else set(self.given) - set(self.matrices)
        if unknown:  # one vocabulary: a kind holds only the matrices it can check
            raise TypeError(f"{type(self).__name__}.given: {sorted(unknown)} not among {self.matrices}")
        # read-only: what a document shows as checked cannot be swapped after the proof
        object.__setattr__(self, "given", ReadOnly({k: _frozen(v) for k, v in self.given.items()}))
        cx = self.counterexample
        if cx is not None and cx.compared is None:  # frozen: the counterexample learns its wording once
            object.__setattr__(self, "counterexample", replace(cx, compared=self.comparison(cx.form)))

    def comparison(self, form: str) -> Comparison:
        """What ``form`` compares in this proof (b dropped without bias; paper order; batched)."""
        variant = "batched" if self.batch is not None else ("paper" if self.order == "paper" else "")
        return comparison(form, variant, self.spec.bias)

    def summary(self) -> str:
        verdict = "PROVED" if self.holds else "REFUTED"
        total = sum(self.timings.values())
        line = (f"{verdict}: {self.statement} [{self.spec.describe()}; {self.terms} terms, "
                f"{self.outputs} outputs, {total:.3f} s, backend {self.backend}]")
        return line if self.holds else f"{line}\n{self.counterexample}"


class ConvProof(Proof):
    """``prove``: conv(x, w, b) = T·vec(x) + b⊗1 = K·P + b (forms "toeplitz", "im2col", "output")."""

    matrices: ClassVar[tuple[str, ...] | None] = ("toeplitz", "im2col", "kernel_matrix", "output")


class ReadOnly(Mapping[str, Any]):
    """A mapping that cannot be changed through its public interface (unlike MappingProxyType, it
    pickles and copies, as results do)."""

    def __init__(self, items: Mapping[str, Any]) -> None:
        if hasattr(self, "_items"):  # a result's mapping is filled once
            raise TypeError("a result's given is read-only")
        self._items = dict(items)

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return repr(self._items)


def _frozen(value: Any) -> Any:
    """``value`` as the proof keeps it: a NumPy array as a read-only view of a read-only copy (a
    view of a read-only base cannot be made writeable again); SymPy matrices are immutable."""
    if isinstance(value, np.ndarray):
        base = value.copy()
        base.flags.writeable = False
        return base.view()
    return value


def adjoint_name(spec: ConvSpec, g: str = "g", g_tex: str = "g") -> tuple[str, str]:
    """What Tᵀ·vec(g) is, as (text, LaTeX), ``g`` naming the upstream gradient: PyTorch's
    ``conv_transpose`` for zero padding, with the ``output_padding`` that gives back this layer's
    input size, n − n_min (``pattern.smallest_input_size``: several n have the same output size);
    for another padding mode the adjoint scatter through its padding map, since PyTorch's
    ``conv_transpose`` pads with zeros and is a different map there.

    >>> adjoint_name(ConvSpec(1, 1, kernel_size=2, input_size=5, stride=2))[0]
    'conv_transpose(g, w, output_padding=1)'
    >>> adjoint_name(ConvSpec(1, 1, kernel_size=3, input_size=4, padding=1, padding_mode="reflect"))[0]
    'scatter_reflect(g, w)'
    """
    if spec.padding_mode != "zeros" or any(before != after for before, after in spec.padding):
        return (f"scatter_{spec.padding_mode}({g}, w)",
                rf"\mathrm{{scatter}}_{{\mathrm{{{spec.padding_mode}}}}}({g_tex}, w)")
    extra = tuple(n - smallest_input_size(o, k, s, d, pb + pa) for n, o, k, s, d, (pb, pa) in zip(
        spec.input_size, spec.output_size, spec.kernel_size, spec.stride, spec.dilation, spec.padding))
    if not any(extra):
        return f"conv_transpose({g}, w)", rf"\mathrm{{conv\_transpose}}({g_tex}, w)"
    shown = str(extra[0]) if spec.dims == 1 else f"({', '.join(map(str, extra))})"
    return (f"conv_transpose({g}, w, output_padding={shown})",
            rf"\mathrm{{conv\_transpose}}({g_tex}, w;\, \mathrm{{output\_padding}} = {shown})")


def adjoint_note(spec: ConvSpec) -> str:
    """What ``adjoint_name`` means for a padding mode other than zeros or an asymmetric zero padding
    (empty for symmetric zero padding, which PyTorch's ``conv_transpose`` computes)."""
    if spec.padding_mode != "zeros":
        return (f" (the adjoint scatter through the {spec.padding_mode} padding map; PyTorch's conv_transpose "
                "pads with zeros, a different map)")
    if any(before != after for before, after in spec.padding):
        return (f" (the adjoint scatter of the asymmetric zero padding {spec.padding}; PyTorch's conv_transpose "
                "takes one padding per axis for both sides)")
    return ""


class TransposeProof(Proof):
    """``prove_transpose``: Tᵀ·vec(g) = conv_transpose(g, w) (``adjoint_name``: with this layer's
    output_padding; for another padding mode than zeros the scatter through its padding map) and
    the gradients of L = Σ_n ⟨g_n, y_n⟩ (forms "transpose", "weight_gradient", "input_gradient",
    "bias_gradient")."""

    matrices: ClassVar[tuple[str, ...] | None] = ("toeplitz_transpose", "weight_grad", "input_grad")

    def comparison(self, form: str) -> Comparison:
        """As ``Proof.comparison``, with the transposed convolution named for this layer."""
        found = super().comparison(form)
        if form != "transpose":
            return found
        batched = self.batch is not None
        text, tex = adjoint_name(self.spec, "g_#" if batched else "g", "g_{#}" if batched else "g")
        return replace(found, expected=text, expected_entry=tex + "_{@}")


class ConverseProof(Proof):
    """An FC layer and a convolution are the same map; ``given["matrix"]`` is a supplied W."""

    matrices: ClassVar[tuple[str, ...] | None] = ("matrix",)


class FCAsConvProof(ConverseProof):
    """``prove_fc_as_conv``: conv(x, w, b) = W·vec(x) + b and fc_as_conv(W) = w (forms "fc", "fc_as_conv")."""


class Conv1x1AsFCProof(ConverseProof):
    """``prove_conv1x1_as_fc``: conv(x, w, b) = W·X + b·1ᵀ (form "conv1x1")."""


class BlockDiagonalisationProof(Proof):
    """``prove_block_diagonalisation``: U_{C_out}·T = D·U_{C_in} (form "dft")."""

    matrices: ClassVar[tuple[str, ...] | None] = ("toeplitz",)


class NetworkResult(Result):
    """The base of a whole network's result (``interop.NetworkProof``): needs ``layers`` (the layer
    names), ``outputs`` and ``timings`` besides ``statement``, ``holds`` and ``counterexample``."""

    layers: tuple[str, ...]
    outputs: int
    timings: dict[str, float]
