r"""The layer in LaTeX: its hyperparameter table, the definition of the convolution with the
layer's numbers substituted, the padding rule and a worked output. Every kind of result about
one layer (``prove``, the transpose, converse and DFT proofs) opens with these.

Index letters: output (i, j, l), kernel taps (p, q, r), input positions (u, v, z).
"""

from __future__ import annotations

from math import prod

import numpy as np

from ..forms import conv
from ..spec import ConvSpec
from ..symbols import symbols, to_canonical_output
from .document import escape_text
from .expr import latex_terms
from .report import PAR, broken, equation

__all__ = ["Formulas", "layer_setting", "definition_section", "OUT", "TAP", "POS"]

OUT, TAP, POS = "ijl", "pqr", "uvz"

Linear = list[tuple[int, str]]


class Formulas:
    """The index arithmetic of one spec printed with its numbers: affine forms Σ a·letter + b
    in the order written (``9o + 3i + j``), with summation letters of range 1 dropped (= 0)."""

    def __init__(self, spec: ConvSpec) -> None:
        self.spec = spec
        self.zero = {t for t, k in zip(TAP, spec.kernel_size) if k == 1}

    def tex(self, terms: Linear, const: int = 0, zero: frozenset[str] = frozenset()) -> str:
        parts = []
        for coefficient, letter in terms:
            if coefficient == 0 or letter in self.zero or letter in zero:
                continue
            magnitude = abs(coefficient)
            text = letter if magnitude == 1 else (rf"{magnitude}\,{letter}" if len(letter) > 1
                                                  else f"{magnitude}{letter}")
            parts.append(("- " if coefficient < 0 else "+ ") + text)
        if const:
            parts.append(("- " if const < 0 else "+ ") + str(abs(const)))
        if not parts:
            return "0"
        first = parts[0]
        return " ".join([first[2:] if first.startswith("+") else "-" + first[2:], *parts[1:]])

    def padded(self, axis: int) -> str:
        """s·i + d·p − p_before on one axis."""
        a = self.spec.pattern.axes[axis]
        return self.tex([(a.stride, OUT[axis]), (a.dilation, TAP[axis])], -a.pad_before)

    def weight_tap(self, axis: int) -> str:
        """p (cross-correlation) or K − 1 − p (true convolution)."""
        k = self.spec.kernel_size[axis]
        if TAP[axis] in self.zero:
            return "0"
        return f"{k - 1} - {TAP[axis]}" if self.spec.convention == "convolution" else TAP[axis]

    @staticmethod
    def flat(letters: str, sizes: tuple[int, ...], scale: int = 1) -> Linear:
        """Row-major flattening Σ_a idx_a · ∏_{b>a} n_b (times ``scale``)."""
        return [(scale * prod(sizes[a + 1:]), letter) for a, letter in enumerate(letters)]

    def group_channel(self) -> str:
        """g(o)·C_in/groups + c: the input channel read by output channel o through local c."""
        spec = self.spec
        return self.tex([(spec.in_per_group if spec.groups > 1 else 0, "g(o)"),
                         (1 if spec.in_per_group > 1 else 0, "c")])

    def local_channel(self) -> str:
        return "c" if self.spec.in_per_group > 1 else "0"

    def sums(self) -> str:
        spec, parts = self.spec, []
        if spec.in_per_group > 1:
            parts.append(rf"\sum_{{c=0}}^{{{spec.in_per_group - 1}}}")
        parts += [rf"\sum_{{{t}=0}}^{{{k - 1}}}" for t, k in zip(TAP, spec.kernel_size) if k > 1]
        return " ".join(parts)

    def x_padded(self, channel: str) -> str:
        name = "x" if self.exact_reads() else r"\tilde{x}"
        axes = ", ".join(self.padded(a) for a in range(self.spec.dims))
        return rf"{name}_{{{channel}, {axes}}}"

    def weight(self, local: str) -> str:
        taps = ", ".join(self.weight_tap(a) for a in range(self.spec.dims))
        return rf"w_{{o, {local}, {taps}}}"

    def reads(self) -> str:
        """[s·i + d·p − p_before = u] on every axis (through σ_a for a padding mode other than
        zeros): the indicator that output position (i, …) reads input position (u, …) by tap (p, …)."""
        if self.spec.padding_mode == "zeros":
            return " ".join(rf"[{self.padded(a)} = {POS[a]}]" for a in range(self.spec.dims))
        return " ".join(rf"[\sigma_{{{a + 1}}}({self.padded(a)}) = {POS[a]}]" for a in range(self.spec.dims))

    def group_local(self) -> str:
        """The local channel of input channel c for output channel o: c − g(o)·C_in/groups."""
        spec = self.spec
        if spec.groups == 1:
            return "c"
        return rf"c - {spec.in_per_group}\,g(o)" if spec.in_per_group > 1 else "c - g(o)"

    def tap_sums(self) -> str:
        return " ".join(rf"\sum_{{{t}=0}}^{{{k - 1}}}" for t, k in zip(TAP, self.spec.kernel_size) if k > 1)

    def exact_reads(self) -> bool:
        """No padding: every read is in range, x needs no extension."""
        return all(p == (0, 0) for p in self.spec.padding)


def tuple_text(values: tuple) -> str:
    return escape_text(", ".join(map(str, values)))


def _terms_row(spec: ConvSpec) -> tuple[str, str]:
    """The terms of y the proof compares (the count its summary and verdict give): the monomials
    w·x, plus one bias term b_o per output when the layer has a bias."""
    if not spec.bias:
        return ("terms of $y$ (monomials $w\\,x$)", str(spec.n_terms))
    total = spec.n_terms + spec.n_bias_terms
    return ("terms of $y$ (monomials $w\\,x$ + bias terms $b$)",
            f"{spec.n_terms} + {spec.n_bias_terms} = {total}")


def layer_table(spec: ConvSpec) -> str:
    padding = "; ".join(f"{b} before, {a} after" for b, a in spec.padding)
    rows = [("in\\_channels $C_{\\mathrm{in}}$", spec.in_channels),
            ("out\\_channels $C_{\\mathrm{out}}$", spec.out_channels),
            ("kernel\\_size $K$", tuple_text(spec.kernel_size)),
            ("input\\_size $n$", tuple_text(spec.input_size)),
            ("stride $s$", tuple_text(spec.stride)),
            ("padding $P$ (per axis)", escape_text(padding)),
            ("padding\\_mode", escape_text(spec.padding_mode)),
            ("dilation $d$", tuple_text(spec.dilation)),
            ("groups", spec.groups),
            ("bias", "yes" if spec.bias else "no"),
            ("convention", escape_text(spec.convention)),
            ("layout", escape_text(spec.layout)),
            ("output size $O$", tuple_text(spec.output_size)),
            ("$T$ is", rf"${spec.toeplitz_shape[0]} \times {spec.toeplitz_shape[1]}$"),
            _terms_row(spec)]
    body = " \\\\\n".join(f"{name} & {value}" for name, value in rows)
    return ("\\begin{center}\n\\begin{tabular}{ll}\n\\hline\n" + body
            + " \\\\\n\\hline\n\\end{tabular}\n\\end{center}")


def _ranges(spec: ConvSpec, channel: str = "o") -> str:
    out = ", ".join(rf"0 \le {i} < {n}" for i, n in zip(OUT, spec.output_size))
    return rf"$0 \le {channel} < {spec.out_channels}$, ${out}$"


def _group_sentence(spec: ConvSpec) -> str:
    rule = ("g(o) = o" if spec.out_per_group == 1 else
            rf"g(o) = \lfloor o / {spec.out_per_group} \rfloor")
    return f", with ${rule}$ the group of output channel $o$"


def _reflect_map(u: str, n: int) -> str:
    r"""The reflect padding map at position ``u`` of an axis of size ``n``, printed from its one
    symbolic definition (``general.setting.source_map``): −u, 2(n − 1) − u or u by cases.

    >>> text = _reflect_map("u", 5)
    >>> "- u & " in text, "8 - u & " in text, text.endswith(r"u & \text{otherwise} \end{cases}")
    (True, True, True)
    """
    import sympy as sp

    from ..general.setting import source_map  # loaded only for a reflect-padded layer
    return sp.latex(source_map("reflect", sp.Symbol(u, integer=True), sp.Integer(n)).piecewise())


def _padding_rule(spec: ConvSpec, f: Formulas, label: str) -> str:
    """The extension x̃ of x to padded positions, per padding mode."""
    d, pos = spec.dims, ", ".join(POS[:spec.dims])
    if spec.padding_mode == "zeros":
        inside = r",\ ".join(rf"0 \le {u} < {n}" for u, n in zip(POS, spec.input_size))
        body = (rf"\tilde{{x}}_{{c, {pos}}} = \begin{{cases}} x_{{c, {pos}}} & \text{{if }} {inside},"
                rf"\\ 0 & \text{{otherwise}} \end{{cases}}")
        return "and the padding reads zeros:\n" + equation(body, label)
    maps = {"circular": lambda u, n: rf"{u} \bmod {n}",
            "reflect": _reflect_map,
            "replicate": lambda u, n: rf"\min(\max({u}, 0), {n - 1})"}[spec.padding_mode]
    sigma = ", ".join(rf"\sigma_{{{a + 1}}}({u})" for a, u in enumerate(POS[:d]))
    maps_text = r",\quad ".join(rf"\sigma_{{{a + 1}}}({u}) = {maps(u, n)}"
                                for a, (u, n) in enumerate(zip(POS[:d], spec.input_size)))
    return (f"and {escape_text(spec.padding_mode)} padding maps a padded position back into the input:\n"
            + equation(rf"\tilde{{x}}_{{c, {pos}}} = x_{{c, {sigma}}},\qquad {maps_text}", label, fit=True))


def worked_entry(spec: ConvSpec, y: np.ndarray, label: str, max_terms: int | None) -> str:
    """The first output by the definition, expanded: what each form must reproduce."""
    first = to_canonical_output(spec, y).reshape(spec.out_channels, -1)[0, 0]
    index = ", ".join(["0"] * (spec.dims + 1))
    body = rf"\begin{{aligned}} y_{{{index}}} &= {broken(latex_terms(first, max_terms))} \end{{aligned}}"
    return "For example, the first output is\n" + equation(body, label, fit=True)


def layer_setting(spec: ConvSpec, extra: str = "") -> str:
    """The table of hyperparameters and the symbols (``extra`` names further ones, e.g. g)."""
    return "\n".join([
        f"A {spec.dims}-D convolution layer with these hyperparameters (PyTorch's names and meanings):",
        layer_table(spec), PAR,
        "Input $x_{c," + ",".join(POS[:spec.dims]) + "}$, weights $w_{o,c," + ",".join(TAP[:spec.dims])
        + "}$" + (", bias $b_{o}$" if spec.bias else "") + extra + " are independent symbols."])


def definition_section(spec: ConvSpec, label_prefix: str, max_terms: int | None) -> str:
    """The definition y = conv(x, w, b) with the numbers substituted, the padding rule, the
    first output expanded; labels ``definition``, ``padding``, ``worked``."""
    f = Formulas(spec)
    x, w, b = symbols(spec)
    parts = [
        "By definition" + (" (PyTorch's cross-correlation)" if spec.convention == "cross-correlation"
                           else " (true convolution: the kernel is flipped)") + ",",
        equation(rf"y_{{o, {', '.join(OUT[:spec.dims])}}} = {'b_{o} + ' if spec.bias else ''}"
                 rf"{f.sums()} {f.weight(f.local_channel())}\, {f.x_padded(f.group_channel())}",
                 f"{label_prefix}:definition"),
        f"for {_ranges(spec)}"
        + (_group_sentence(spec) if spec.groups > 1 else "") + ("," if not f.exact_reads() else "."),
    ]
    if not f.exact_reads():
        parts.append(_padding_rule(spec, f, f"{label_prefix}:padding"))
    parts.append(worked_entry(spec, conv(spec, x, w, b), f"{label_prefix}:worked", max_terms))
    return "\n".join(parts)
