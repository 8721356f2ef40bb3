r"""A concrete proof as LaTeX: the layer, the statement, the definition and the entry formulas
of T and of the im2col matrices (numbers substituted), the three forms typeset with their block
structure, the verdict with timings, and on a refuted proof the counterexample.

Every displayed equation is numbered and labelled ``<label_prefix>:<name>`` so a paper can
``\ref`` it: ``definition``, ``padding``, ``toeplitz-entry``, ``fc``, ``toeplitz``,
``im2col-entry``, ``patches``, ``kernel``, ``worked``, ``counterexample``, and ``fig-toeplitz``,
``fig-im2col`` for figures.

Index letters: output (i, j, l), kernel taps (p, q, r), input positions (u, v, z).
"""

from __future__ import annotations

from collections.abc import Mapping
from math import prod
from typing import Any

import numpy as np
from ..errors import SpecError
from ..forms import conv, im2col, kernel_matrix, toeplitz
from ..forms.im2col import ORDERS
from ..spec import ConvSpec
from ..symbols import symbols, to_canonical_output
from .document import escape_text, fragment, standalone as standalone_document
from .expr import latex_expr, latex_terms
from .matrix import latex_matrix
from .structure import kernel_blocks, patches_blocks, toeplitz_blocks

__all__ = ["proof_to_latex", "FIGURE_KINDS"]

FIGURE_KINDS = ("toeplitz", "im2col")
OUT, TAP, POS = "ijl", "pqr", "uvz"
PAR = "\n"  # a paragraph break in the body (parts are joined by newlines)

_FORM_LATEX = {"toeplitz": r"T\,\mathrm{vec}(x) + b \otimes \mathbf{1}", "im2col": r"K P + b",
               "output": r"\text{the given output}"}
_PATCH_RULES = {"unfold": "Horizontal rules separate the input channels, vertical ones the output rows.",
                "paper": "Horizontal rules separate the output rows, vertical ones the kernel taps."}
_KERNEL_RULES = {"unfold": "Rules separate the groups (rows) and input channels (columns).",
                 "paper": "Rules separate the input channels (rows) and groups (columns)."}
_FORM_EQUATION = {"toeplitz": "fc", "im2col": "im2col-entry"}
_FORM_NAME = {"toeplitz": "the fully connected layer with the Toeplitz matrix $T$",
              "im2col": "the im2col product $KP$", "output": "the given output"}


Linear = list[tuple[int, str]]


class _Formulas:
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

    def exact_reads(self) -> bool:
        """No padding: every read is in range, x needs no extension."""
        return all(p == (0, 0) for p in self.spec.padding)


def _tuple(values: tuple) -> str:
    return escape_text(", ".join(map(str, values)))


def _layer_table(spec: ConvSpec) -> str:
    padding = "; ".join(f"{b} before, {a} after" for b, a in spec.padding)
    rows = [("in\\_channels $C_{\\mathrm{in}}$", spec.in_channels),
            ("out\\_channels $C_{\\mathrm{out}}$", spec.out_channels),
            ("kernel\\_size $K$", _tuple(spec.kernel_size)),
            ("input\\_size $n$", _tuple(spec.input_size)),
            ("stride $s$", _tuple(spec.stride)),
            ("padding $P$ (per axis)", escape_text(padding)),
            ("padding\\_mode", escape_text(spec.padding_mode)),
            ("dilation $d$", _tuple(spec.dilation)),
            ("groups", spec.groups),
            ("bias", "yes" if spec.bias else "no"),
            ("convention", escape_text(spec.convention)),
            ("layout", escape_text(spec.layout)),
            ("output size $O$", _tuple(spec.output_size)),
            ("$T$ is", rf"${spec.toeplitz_shape[0]} \times {spec.toeplitz_shape[1]}$"),
            ("monomials $w\\,x$ in $y$", spec.n_terms)]
    body = " \\\\\n".join(f"{name} & {value}" for name, value in rows)
    return ("\\begin{center}\n\\begin{tabular}{ll}\n\\hline\n" + body
            + " \\\\\n\\hline\n\\end{tabular}\n\\end{center}")


def _equation(body: str, label: str, fit: bool = False) -> str:
    if fit:
        body = rf"\symconvfit{{$\displaystyle {body}$}}"
    return f"\\begin{{equation}}\n{body}\n\\label{{{label}}}\n\\end{{equation}}"


def _ranges(spec: ConvSpec, channel: str = "o") -> str:
    out = ", ".join(rf"0 \le {i} < {n}" for i, n in zip(OUT, spec.output_size))
    return rf"$0 \le {channel} < {spec.out_channels}$, ${out}$"


def _group_sentence(spec: ConvSpec) -> str:
    rule = ("g(o) = o" if spec.out_per_group == 1 else
            rf"g(o) = \lfloor o / {spec.out_per_group} \rfloor")
    return f", with ${rule}$ the group of output channel $o$"


def _padding_rule(spec: ConvSpec, f: _Formulas, label: str) -> str:
    """The extension x̃ of x to padded positions, per padding mode."""
    d, pos = spec.dims, ", ".join(POS[:spec.dims])
    if spec.padding_mode == "zeros":
        inside = r",\ ".join(rf"0 \le {u} < {n}" for u, n in zip(POS, spec.input_size))
        body = (rf"\tilde{{x}}_{{c, {pos}}} = \begin{{cases}} x_{{c, {pos}}} & \text{{if }} {inside},"
                rf"\\ 0 & \text{{otherwise}} \end{{cases}}")
        return "and the padding reads zeros:\n" + _equation(body, label)
    maps = {"circular": lambda u, n: rf"{u} \bmod {n}",
            "reflect": lambda u, n: rf"{n - 1} - \lvert {n - 1} - \lvert {u} \rvert \rvert",
            "replicate": lambda u, n: rf"\min(\max({u}, 0), {n - 1})"}[spec.padding_mode]
    sigma = ", ".join(rf"\sigma_{{{a + 1}}}({u})" for a, u in enumerate(POS[:d]))
    maps_text = r",\quad ".join(rf"\sigma_{{{a + 1}}}({u}) = {maps(u, n)}"
                                for a, (u, n) in enumerate(zip(POS[:d], spec.input_size)))
    return (f"and {escape_text(spec.padding_mode)} padding maps a padded position back into the input:\n"
            + _equation(rf"\tilde{{x}}_{{c, {pos}}} = x_{{c, {sigma}}},\qquad {maps_text}", label, fit=True))


def _toeplitz_entry(spec: ConvSpec, f: _Formulas, label: str) -> str:
    d = spec.dims
    if spec.layout == "NHWC":
        row = f.flat(OUT[:d], spec.output_size, spec.out_channels) + [(1, "o")]
        col = f.flat(POS[:d], spec.input_size, spec.in_channels) + [(1, "c")]
    else:
        row = [(prod(spec.output_size), "o")] + f.flat(OUT[:d], spec.output_size)
        col = [(prod(spec.input_size), "c")] + f.flat(POS[:d], spec.input_size)
    if spec.padding_mode == "zeros":
        indicator = " ".join(rf"[{f.padded(a)} = {POS[a]}]" for a in range(d))
    else:
        indicator = " ".join(rf"[\sigma_{{{a + 1}}}({f.padded(a)}) = {POS[a]}]" for a in range(d))
    local = "c" if spec.groups == 1 else (rf"c - {spec.in_per_group}\,g(o)" if spec.in_per_group > 1
                                          else "c - g(o)")
    sums = " ".join(rf"\sum_{{{t}=0}}^{{{k - 1}}}" for t, k in zip(TAP, spec.kernel_size) if k > 1)
    body = rf"T_{{{f.tex(row)},\; {f.tex(col)}}} = {sums} {f.weight(local)}\, {indicator}"
    text = [f"The fully connected layer has the {spec.toeplitz_shape[0]} $\\times$ "
            f"{spec.toeplitz_shape[1]} matrix $T$ with entries"]
    text.append(_equation(body, label))
    where = [f"for output channel $o$ at output position $({', '.join(OUT[:d])})$ and input channel "
             f"$c$ at input position $({', '.join(POS[:d])})$"]
    if spec.groups > 1:
        where.append(f", when $c$ lies in the group of $o$ "
                     f"(${spec.in_per_group}\\,g(o) \\le c < {spec.in_per_group}\\,(g(o)+1)$), and 0 otherwise")
    where.append("; $[\\cdot]$ is 1 when the condition holds and 0 otherwise")
    if spec.padding_mode != "zeros":
        where.append(r", and $\sigma_a$ is the map of (\ref{" + label.rsplit(":", 1)[0] + ":padding})")
    text.append("".join(where) + ".")
    return "\n".join(text)


def _im2col_entries(spec: ConvSpec, f: _Formulas, order: str, label: str) -> str:
    d, n_taps, cg = spec.dims, prod(spec.kernel_size), spec.in_per_group
    outs = f.tex(f.flat(OUT[:d], spec.output_size))
    no_c = frozenset("c") if spec.in_channels == 1 else frozenset()
    no_local = frozenset("c") if cg == 1 else frozenset()
    channel = f.tex([(1, "c")], zero=no_c)
    bias = "b_{o} + " if spec.bias else ""
    if order == "unfold":
        taps = [(n_taps, "c")] + f.flat(TAP[:d], spec.kernel_size)
        p_entry = rf"P_{{{f.tex(taps, zero=no_c)},\; {outs}}} = {f.x_padded(channel)}"
        k_entry = rf"K_{{o,\; {f.tex(taps, zero=no_local)}}} = {f.weight(f.local_channel())}"
        first = f.tex([(cg * n_taps if spec.groups > 1 else 0, "g(o)"), (1, "m")])
        product = (rf"y_{{o,\, {outs}}} = {bias}\sum_{{m=0}}^{{{cg * n_taps - 1}}}"
                   rf" K_{{o,m}}\, P_{{{first},\; {outs}}}")
    else:
        p_entry = (rf"P_{{{outs},\; {f.tex(f.flat(TAP[:d], spec.kernel_size, spec.in_channels) + [(1, 'c')], zero=no_c)}}}"
                   rf" = {f.x_padded(channel)}")
        k_entry = (rf"K_{{{f.tex(f.flat(TAP[:d], spec.kernel_size, cg) + [(1, 'c')], zero=no_local)},\; o}}"
                   rf" = {f.weight(f.local_channel())}")
        column = f.tex([(spec.in_channels, "t"), (cg if spec.groups > 1 else 0, "g(o)"), (1, "c")],
                       zero=no_local)
        local = f.tex([(cg, "t"), (1, "c")], zero=no_local)
        sum_c = rf"\sum_{{c=0}}^{{{cg - 1}}}" if cg > 1 else ""
        product = (rf"y_{{{outs},\, o}} = {bias}\sum_{{t=0}}^{{{n_taps - 1}}}{sum_c}"
                   rf" P_{{{outs},\; {column}}}\, K_{{{local},\, o}}")
    order_name = ("PyTorch's \\texttt{unfold} order" if order == "unfold"
                  else "the channels-last order of Ma and Lu's Algorithm 1")
    body = rf"\begin{{aligned}} {p_entry}, \\ {k_entry}, \\ {product} \end{{aligned}}"
    return (f"The im2col form ({order_name}) gathers the patches into $P$ and the weights into $K$:\n"
            + _equation(body, label)
            + "\nwith $" + (f"({', '.join(TAP[:spec.dims])})" if spec.dims > 1 else TAP[0])
            + "$ over the kernel taps"
            + (", one product per group" if spec.groups > 1 else "") + ".")


LINE_EM = 38
"""Width (in em of the 11pt body font) a displayed matrix may take beside its name and number."""


def _columns_that_fit(M: Any, max_size: int) -> int:
    """At most ``max_size`` columns, fewer when wide entries would overflow the line.

    An entry's width is estimated from its visible characters (≈ 0.38 em each for
    subscripted symbols) plus the column gap; ``\\symconvfit`` still shrinks anything wider.
    """
    rows, cols = M.shape
    sample = [M[r, c] for r in {0, rows - 1} for c in range(min(cols, max_size))]
    visible = (len(latex_expr(v).translate(_INVISIBLE)) for v in sample if v != 0)
    return max(4, min(max_size, int(LINE_EM // (0.38 * max(visible, default=1) + 0.9))))


_INVISIBLE = str.maketrans("", "", "{}_\\")


def _matrix_equation(name: str, M: Any, blocks: list, max_size: int, label: str, given: Any,
                     rules: str, claim: str = "") -> str:
    """``name = [M]`` numbered, then: where M comes from, its shape and elision, the rules drawn
    (``rules``, when any are) and ``claim`` (a structural statement)."""
    max_cols = _columns_that_fit(M, max_size)
    matrix = latex_matrix(M, max_rows=max_size, max_cols=max_cols, blocks=blocks)
    rows, cols = M.shape
    elided = ", the middle elided" if rows > max_size or cols > max_cols else ""
    origin = "the matrix the proof checked" if given is not None else "symconv's construction"
    drawn = any(0 < size < n for level in blocks for size, n in zip(level, (rows, cols)) if size)
    sentences = [f"${name}$ ({origin}) is ${rows} \\times {cols}${elided}.", rules if drawn else "",
                 claim, r"Zeros are shown as $\cdot$." if any(v == 0 for v in M) else ""]
    return _equation(rf"{name} = {matrix}", label, fit=True) + "\n" + " ".join(t for t in sentences if t)


_LEVELS = {1: "Toeplitz", 2: "doubly-block Toeplitz", 3: "three-level block Toeplitz"}


def _block_rules(spec: ConvSpec) -> str:
    sizes = [f"${r} \\times {c}$" for r, c in toeplitz_blocks(spec)]
    return f"Rules separate its blocks of {' and '.join(sizes)}."


def _structure_claim(spec: ConvSpec) -> str:
    """What the blocks are (zero padding, stride 1: T[(o,i),(c,u)] depends on u − i only, so each
    channel block is multi-level Toeplitz; tested in tests/test_latex.py)."""
    if spec.padding_mode != "zeros":
        return (f"{escape_text(spec.padding_mode).capitalize()} padding folds the padded "
                "positions back onto the input, which breaks the Toeplitz structure at the borders.")
    kind = _LEVELS[spec.dims]
    if any(s != 1 for s in spec.stride):
        return (f"With stride ({_tuple(spec.stride)}) each channel block is a {kind} "
                "matrix with its rows subsampled by the stride.")
    if spec.layout == "NHWC":
        return (f"It is {kind} in the positions, with ${spec.out_channels} \\times "
                f"{spec.in_channels}$ channel blocks as entries.")
    return f"Each channel block is a {kind} matrix."


def _worked_entry(spec: ConvSpec, y: np.ndarray, label: str, max_terms: int) -> str:
    """The first output by the definition, expanded: what each form must reproduce."""
    first = to_canonical_output(spec, y).reshape(spec.out_channels, -1)[0, 0]
    index = ", ".join(["0"] * (spec.dims + 1))
    body = rf"\begin{{aligned}} y_{{{index}}} &= {_broken(latex_terms(first, max_terms))} \end{{aligned}}"
    return "For example, the first output is\n" + _equation(body, label, fit=True)


def _broken(terms: list[str], per_line: int = 6) -> str:
    """Terms of a polynomial on balanced lines of at most ``per_line`` (inside ``aligned``)."""
    n_lines = -(-len(terms) // per_line)
    size = -(-len(terms) // n_lines)
    lines = [" ".join(terms[i:i + size]) for i in range(0, len(terms), size)]
    return r" \\ &\qquad ".join(lines)


def _counterexample(proof: Any, label: str) -> str:
    cx = proof.counterexample
    index = ", ".join(map(str, cx.index))
    body = (rf"\begin{{aligned}} \text{{expected: }} y_{{{index}}} &= {_broken(latex_terms(cx.expected))} \\ "
            rf"\text{{obtained: }} y_{{{index}}} &= {_broken(latex_terms(cx.obtained))} \\ "
            rf"\text{{expected}} - \text{{obtained}} &= {_broken(latex_terms(cx.difference))} \end{{aligned}}")
    lines = [f"The form {_FORM_NAME.get(cx.form, escape_text(cx.form))} differs from the "
             f"definition at output $y_{{{index}}}$:", _equation(body, label, fit=True)]
    if cx.missing:
        lines.append("It lacks " + ", ".join(f"${latex_expr(t)}$" for t in cx.missing[:12])
                     + (" and more" if len(cx.missing) > 12 else "") + ".")
    if cx.extra:
        lines.append("It has instead " + ", ".join(f"${latex_expr(t)}$" for t in cx.extra[:12])
                     + (" and more" if len(cx.extra) > 12 else "") + ".")
    return "\n".join(lines)


def _timings(proof: Any) -> str:
    rows = " \\\\\n".join(f"{escape_text(name)} & {seconds:.3f} s"
                          for name, seconds in proof.timings.items())
    return ("\\begin{center}\n\\begin{tabular}{lr}\n\\hline\nstep & time \\\\\n\\hline\n" + rows
            + " \\\\\n\\hline\n\\end{tabular}\n\\end{center}")


def _figures(spec: ConvSpec, figures: Any, prefix: str, order: str) -> str:
    if figures is None:
        return ""
    captions = {"toeplitz": "Nonzero structure of $T$, blocks outlined.",
                "im2col": "Structure of the im2col patch matrix $P$."}
    if figures == "tikz":
        from .figures import structure_tikz
        pictures = {kind: structure_tikz(spec, kind, order=order) for kind in FIGURE_KINDS}
    elif isinstance(figures, Mapping):
        unknown = set(figures) - set(FIGURE_KINDS)
        if unknown:
            raise SpecError("figures", sorted(unknown), f"keys must be among {FIGURE_KINDS}")
        pictures = {kind: rf"\includegraphics[width=0.8\linewidth,height=0.4\textheight,keepaspectratio]{{{path}}}"
                    for kind, path in figures.items()}
    else:
        raise SpecError("figures", figures, "must be None, 'tikz' or a mapping "
                                            "{'toeplitz'|'im2col': image file name}")
    return "\n".join(
        f"\\begin{{figure}}[htbp]\n\\centering\n{picture}\n\\caption{{{captions[kind]}}}"
        f"\n\\label{{{prefix}:fig-{kind}}}\n\\end{{figure}}" for kind, picture in pictures.items())


def proof_to_latex(proof: Any, standalone: bool = True, max_size: int = 16,
                   label_prefix: str = "symconv", figures: Any = None, order: str = "unfold",
                   max_terms: int = 10, title: str | None = None, toeplitz_matrix: Any = None,
                   patches: Any = None, kernel: Any = None) -> str:
    r"""The proof as LaTeX: a complete ``article`` (``standalone=True``) or a fragment to paste
    into a paper (needs ``amsmath`` and ``graphicx``; ``tikz`` with ``figures="tikz"``).

    ``max_size`` elides matrices with more rows or columns; ``label_prefix`` prefixes every
    ``\label``; ``figures`` is None, ``"tikz"`` (inline pictures) or a mapping
    ``{"toeplitz": "t.pdf", "im2col": "p.png"}`` of image files to ``\includegraphics``
    (``symconv.latex.figures.write_figures`` makes them); ``order`` is the im2col layout shown;
    ``max_terms`` bounds the terms of the worked example.

    The matrices shown are symconv's construction of each form unless the ones the proof checked
    are passed as ``toeplitz_matrix``, ``patches`` (P) and ``kernel`` (K); the text says which.
    """
    spec: ConvSpec = proof.spec
    if order not in ORDERS:
        raise SpecError("order", order, f"must be one of {ORDERS}")
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 2:
        raise SpecError("max_size", max_size, "must be an integer ≥ 2")
    if not isinstance(label_prefix, str) or not label_prefix.replace("-", "").replace(":", "").isalnum():
        raise SpecError("label_prefix", label_prefix, "must be letters, digits, '-' or ':'")
    label = lambda name: f"{label_prefix}:{name}"  # noqa: E731 - a one-line naming rule
    f = _Formulas(spec)
    x, w, b = symbols(spec)
    heading = r"\subsection*" if standalone else r"\paragraph"

    statement = " = ".join([r"\mathrm{conv}(x, w, b)"] + [_FORM_LATEX[form] for form in proof.forms])
    verdict = "proved" if proof.holds else "refuted"
    parts = [
        f"{heading}{{The layer}}",
        f"A {spec.dims}-D convolution layer with these hyperparameters (PyTorch's names and meanings):",
        _layer_table(spec), PAR,
        "Input $x_{c," + ",".join(POS[:spec.dims]) + "}$, weights $w_{o,c," + ",".join(TAP[:spec.dims])
        + "}$" + (", bias $b_{o}$" if spec.bias else "") + " are independent symbols.", PAR,
        f"\\noindent\\textbf{{Statement ({verdict}).}} \\emph{{For all $x$, $w$"
        + (", $b$" if spec.bias else "") + f":}} ${statement}$.",
        f"{heading}{{The definition}}",
        "By definition" + (" (PyTorch's cross-correlation)" if spec.convention == "cross-correlation"
                           else " (true convolution: the kernel is flipped)") + ",",
        _equation(rf"y_{{o, {', '.join(OUT[:spec.dims])}}} = {'b_{o} + ' if spec.bias else ''}"
                  rf"{f.sums()} {f.weight(f.local_channel())}\, {f.x_padded(f.group_channel())}",
                  label("definition")),
        f"for {_ranges(spec)}"
        + (_group_sentence(spec) if spec.groups > 1 else "") + ("," if not f.exact_reads() else "."),
    ]
    if not f.exact_reads():
        parts.append(_padding_rule(spec, f, label("padding")))
    y = conv(spec, x, w, b)
    parts.append(_worked_entry(spec, y, label("worked"), max_terms))

    if "toeplitz" in proof.forms:
        parts += [f"{heading}{{The fully connected layer}}", _toeplitz_entry(spec, f, label("toeplitz-entry")),
                  PAR, "Then", _equation(r"\mathrm{vec}(y) = T\, \mathrm{vec}(x)"
                                    + ((r" + b \otimes \mathbf{1}_{" + str(prod(spec.output_size)) + "}"
                                        if spec.layout == "NCHW" else
                                        r" + \mathbf{1}_{" + str(prod(spec.output_size)) + r"} \otimes b")
                                       if spec.bias else ""), label("fc")),
                  f"with $\\mathrm{{vec}}$ stacking {spec.layout} arrays row-major, and",
                  _matrix_equation("T", toeplitz(spec, w) if toeplitz_matrix is None else toeplitz_matrix,
                                   toeplitz_blocks(spec), max_size, label("toeplitz"), toeplitz_matrix,
                                   _block_rules(spec), _structure_claim(spec) if toeplitz_matrix is None else "")]
    if "im2col" in proof.forms:
        P = im2col(spec, x, order=order) if patches is None else patches
        K = kernel_matrix(spec, w, order=order) if kernel is None else kernel
        parts += [f"{heading}{{The im2col product}}", _im2col_entries(spec, f, order, label("im2col-entry")),
                  PAR, "For this layer,",
                  _matrix_equation("P", P, patches_blocks(spec, order), max_size, label("patches"), patches,
                                   _PATCH_RULES[order]),
                  _matrix_equation("K", K, kernel_blocks(spec, order), max_size, label("kernel"), kernel,
                                   _KERNEL_RULES[order])]
    if "output" in proof.forms:
        parts.append(f"{heading}{{The given output}}\nThe output supplied to the proof was compared "
                     "with the definition entry by entry.")
    parts += [_figures(spec, figures, label_prefix, order), f"{heading}{{Verdict}}"]
    method = (f"For each of the {proof.outputs} outputs, the definition and each form were expanded "
              "into canonical polynomials in the symbols $x$, $w$, $b$ and their difference computed "
              f"exactly (backend: {escape_text(proof.backend)}). Two polynomials are equal if and only "
              "if their expanded difference is zero.")
    if proof.holds:
        refs = [label("definition")] + [label(_FORM_EQUATION[form]) for form in proof.forms
                                        if form in _FORM_EQUATION]
        parts.append(method + f" Every difference is zero ({proof.terms} terms), which proves "
                     + " = ".join(f"(\\ref{{{ref}}})" for ref in refs) + ". \\hfill\\textsc{q.e.d.}")
    else:
        parts += [method + " The statement is \\textbf{false}:", _counterexample(proof, label("counterexample"))]
    parts += [PAR, "Time taken by each step:", _timings(proof)]
    body = "\n".join(p for p in parts if p)
    if standalone:
        packages = ("amsmath", "amssymb", "graphicx") + (("tikz",) if figures == "tikz" else ())
        return standalone_document(body, title=title or f"A {spec.dims}-D convolution as a fully "
                                   "connected layer and as im2col", packages=packages)
    return fragment(body, packages=("amsmath", "graphicx") + (("tikz",) if figures == "tikz" else ()))
