r"""Results as LaTeX: ``proof_to_latex`` prints every kind of symconv result with the one
skeleton of ``symconv.latex.report``, and this module supplies the kind ``prove`` returns — the
layer as an FC layer and as im2col: the entry formulas of T and of the im2col matrices (numbers
substituted), the matrices with their block structure, the given output, figures.

Every displayed equation is numbered and labelled ``<label_prefix>:<name>`` so a paper can
``\ref`` it: ``statement``, ``definition``, ``padding``, ``worked``, ``toeplitz-entry``, ``fc``,
``toeplitz``, ``im2col-entry``, ``patches``, ``kernel``, ``given-output``, ``counterexample``,
and ``fig-toeplitz``, ``fig-im2col`` for figures (``symconv.latex.results`` lists the labels of
the other kinds).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from math import prod
from typing import Any

from ..errors import SpecError, integer, one_of
from ..forms import im2col, kernel_matrix, toeplitz
from ..forms.im2col import ORDERS
from ..registry import DOCUMENTS, REPORTS
from ..result import ConvProof, Result
from ..spec import ConvSpec
from ..symbols import symbols, to_canonical_output
from .document import escape_text
from .layer import OUT, POS, TAP, Formulas, definition_section, layer_setting, tuple_text
from .report import PAR, Report, ReportPrinter, document, equation, matrix_equation
from .structure import kernel_blocks, patches_blocks, toeplitz_blocks

__all__ = ["proof_to_latex", "report_options", "report_statement", "FIGURE_KINDS"]

FIGURE_KINDS = ("toeplitz", "im2col")
_PATCH_RULES = {"unfold": "Horizontal rules separate the input channels, vertical ones the output rows.",
                "paper": "Horizontal rules separate the output rows, vertical ones the kernel taps."}
_KERNEL_RULES = {"unfold": "Rules separate the groups (rows) and input channels (columns).",
                 "paper": "Rules separate the input channels (rows) and groups (columns)."}
_FORM_EQUATION = {"toeplitz": "fc", "im2col": "im2col-entry", "output": "given-output"}


def _toeplitz_entry(spec: ConvSpec, f: Formulas, label: str) -> str:
    d = spec.dims
    if spec.layout == "NHWC":
        row = f.flat(OUT[:d], spec.output_size, spec.out_channels) + [(1, "o")]
        col = f.flat(POS[:d], spec.input_size, spec.in_channels) + [(1, "c")]
    else:
        row = [(prod(spec.output_size), "o")] + f.flat(OUT[:d], spec.output_size)
        col = [(prod(spec.input_size), "c")] + f.flat(POS[:d], spec.input_size)
    body = rf"T_{{{f.tex(row)},\; {f.tex(col)}}} = {f.tap_sums()} {f.weight(f.group_local())}\, {f.reads()}"
    text = [f"The fully connected layer has the {spec.toeplitz_shape[0]} $\\times$ "
            f"{spec.toeplitz_shape[1]} matrix $T$ with entries"]
    text.append(equation(body, label))
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


def _im2col_entries(spec: ConvSpec, f: Formulas, order: str, label: str) -> str:
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
        taps = f.flat(TAP[:d], spec.kernel_size, spec.in_channels) + [(1, "c")]
        p_entry = rf"P_{{{outs},\; {f.tex(taps, zero=no_c)}}} = {f.x_padded(channel)}"
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
            + equation(body, label)
            + "\nwith $" + (f"({', '.join(TAP[:spec.dims])})" if spec.dims > 1 else TAP[0])
            + "$ over the kernel taps"
            + (", one product per group" if spec.groups > 1 else "") + ".")


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
        return (f"With stride ({tuple_text(spec.stride)}) each channel block is a {kind} "
                "matrix with its rows subsampled by the stride.")
    if spec.layout == "NHWC":
        return (f"It is {kind} in the positions, with ${spec.out_channels} \\times "
                f"{spec.in_channels}$ channel blocks as entries.")
    return f"Each channel block is a {kind} matrix."


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


SUPPLIED = "supplied to the proof, the matrix it checked"
PASSED = r"as passed to \texttt{to\_latex}"
CONSTRUCTED = "symconv's construction, the matrix the proof checked"


def _shown(option: Any, given: Any, build: Any) -> tuple[Any, str]:
    """(matrix, which one it is): an explicit ``to_latex`` option, else the matrix supplied to the
    proof (the one it checked), else symconv's construction (which the proof then checked)."""
    if option is not None:
        return option, SUPPLIED if option is given else PASSED
    if given is not None:
        return given, SUPPLIED
    return build(), CONSTRUCTED


def conv_statement(proof: Any) -> list[str]:
    """conv(x, w, b) = T·vec(x) + b⊗1 = K·P + b [= the given output], the forms checked (P·K + b
    in the paper order, without b for a layer without bias: ``proof.comparison``)."""
    sides = [proof.comparison(form).quantity_latex("obtained") for form in proof.forms]
    return [proof.comparison("toeplitz").quantity_latex("expected") + " &= " + " = ".join(sides)]


def conv_report(proof: Any, max_size: int, label_prefix: str, max_terms: int, figures: Any = None,
                order: str | None = None, toeplitz_matrix: Any = None, patches: Any = None,
                kernel: Any = None) -> Report:
    """The report of ``prove``: the definition, then each form checked, with its matrices.

    The matrices shown are the ones the proof checked: the user's (``proof.given``) where they
    were supplied, symconv's construction otherwise; ``toeplitz_matrix``, ``patches`` (P) and
    ``kernel`` (K) show others instead, and the text says which each is. ``order`` (default: the
    order the proof checked) is the im2col layout shown; another order than the proof's cannot
    show matrices supplied to the proof.
    """
    spec: ConvSpec = proof.spec
    order = proof.order if order is None else order
    one_of("order", order, ORDERS)
    if order != proof.order and {"im2col", "kernel_matrix"} & set(proof.given):
        raise SpecError("order", order, f"must be the order the proof checked ({proof.order!r}): "
                                        "the matrices supplied to it are in that order")
    label = lambda name: f"{label_prefix}:{name}"  # noqa: E731 - a one-line naming rule
    f = Formulas(spec)
    x, w, _ = symbols(spec)
    given = proof.given
    sections = [("The definition", definition_section(spec, label_prefix, max_terms))]
    if "toeplitz" in proof.forms:
        T, shown_origin = _shown(toeplitz_matrix, given.get("toeplitz"), lambda: toeplitz(spec, w))
        bias = ((r" + b \otimes \mathbf{1}_{" + str(prod(spec.output_size)) + "}" if spec.layout == "NCHW"
                 else r" + \mathbf{1}_{" + str(prod(spec.output_size)) + r"} \otimes b") if spec.bias else "")
        sections.append(("The fully connected layer", "\n".join([
            _toeplitz_entry(spec, f, label("toeplitz-entry")), PAR, "Then",
            equation(r"\mathrm{vec}(y) = T\, \mathrm{vec}(x)" + bias, label("fc")),
            f"with $\\mathrm{{vec}}$ stacking {spec.layout} arrays row-major, and",
            matrix_equation("T", T, max_size, label("toeplitz"),
                            shown_origin, toeplitz_blocks(spec), _block_rules(spec),
                            _structure_claim(spec) if shown_origin == CONSTRUCTED else "")])))
    if "im2col" in proof.forms:
        P, p_origin = _shown(patches, given.get("im2col"), lambda: im2col(spec, x, order=order))
        K, k_origin = _shown(kernel, given.get("kernel_matrix"), lambda: kernel_matrix(spec, w, order=order))
        sections.append(("The im2col product", "\n".join([
            _im2col_entries(spec, f, order, label("im2col-entry")), PAR, "For this layer,",
            matrix_equation("P", P, max_size, label("patches"), p_origin, patches_blocks(spec, order),
                            _PATCH_RULES[order]),
            matrix_equation("K", K, max_size, label("kernel"), k_origin, kernel_blocks(spec, order),
                            _KERNEL_RULES[order])])))
    if "output" in proof.forms:
        sections.append(("The given output", _given_output(proof, max_size, label("given-output"))))
    if figures is not None:
        name, body = sections[-1]
        sections[-1] = (name, body + "\n" + _figures(spec, figures, label_prefix, order))
    method = (f"For each of the {proof.outputs} outputs, the definition and each form were expanded "
              "into canonical polynomials in the symbols $x$, $w$, $b$ and their difference computed "
              f"exactly (backend: {escape_text(proof.backend)}). Two polynomials are equal if and only "
              "if their expanded difference is zero.")
    return Report(title=f"A {spec.dims}-D convolution as a fully connected layer and as im2col",
                  setting_heading="The layer", setting=layer_setting(spec),
                  quantifier="For all $x$, $w$" + (", $b$" if spec.bias else ""),
                  statement=conv_statement(proof), method=method, size=f"{proof.terms} terms",
                  sections=sections, refs=["definition"] + [_FORM_EQUATION[form] for form in proof.forms],
                  packages=("tikz",) if figures == "tikz" else ())


def _given_output(proof: Any, max_size: int, label: str) -> str:
    """The output supplied to the proof, one row per output channel (NCHW order of positions)."""
    spec = proof.spec
    text = ("The output $y^{\\mathrm{given}}$ supplied to the proof was compared with the definition "
            "entry by entry.")
    if "output" not in proof.given:
        return text
    y = to_canonical_output(spec, proof.given["output"]).reshape(spec.out_channels, -1)
    return text + " Row $o$ holds output channel $o$, its positions in row-major order:\n" + matrix_equation(
        r"y^{\mathrm{given}}", y, max_size, label, "supplied to the proof")


REPORTS.register(ConvProof)(ReportPrinter(conv_report, conv_statement))
COMMON = ("standalone", "max_size", "label_prefix", "max_terms", "title")


def report_statement(result: Any) -> list[str]:
    """The statement of any result as ``aligned`` rows (for the Jupyter display)."""
    return REPORTS.lookup(type(result)).statement(result)


def report_options(build: Any) -> tuple[str, ...]:
    """The options a report builder takes besides (result, max_size, label_prefix, max_terms): its
    further parameters that can be passed by keyword.

    >>> report_options(conv_report)
    ('figures', 'order', 'toeplitz_matrix', 'patches', 'kernel')
    """
    by_keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in list(inspect.signature(build).parameters.values())[4:] if p.kind in by_keyword)


@DOCUMENTS.register(Result)
def proof_to_latex(proof: Any, standalone: bool = True, max_size: int = 16,
                   label_prefix: str = "symconv", max_terms: int = 10, title: str | None = None,
                   **options: Any) -> str:
    r"""Any symconv result as LaTeX: a complete ``article`` (``standalone=True``) or a fragment
    to paste into a paper (needs ``amsmath`` and ``graphicx``; ``tikz`` with ``figures="tikz"``).

    Results: ``prove`` (FC layer, im2col, given output), ``prove_transpose``, the converse and
    DFT proofs and ``interop.prove_network`` — each as statement, definitions, the matrices
    checked (elided above ``max_size`` rows or columns), verdict and method, and the
    counterexample when refuted. ``label_prefix`` prefixes every ``\label``; ``max_terms``
    bounds the terms of the worked example.

    Options of ``prove``'s results (see ``conv_report``): ``figures`` — None, ``"tikz"`` (inline
    pictures) or a mapping ``{"toeplitz": "t.pdf", "im2col": "p.png"}`` of image files to
    ``\includegraphics`` (``symconv.latex.figures.write_figures`` makes them); ``order`` — the
    im2col layout shown; ``toeplitz_matrix``, ``patches``, ``kernel`` — matrices to show instead
    of the ones the proof checked.
    """
    integer("max_size", max_size, minimum=2)
    if not isinstance(label_prefix, str) or not label_prefix.replace("-", "").replace(":", "").isalnum():
        raise SpecError("label_prefix", label_prefix, "must be letters, digits, '-' or ':'")
    build = REPORTS.lookup(type(proof)).build
    allowed = report_options(build)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise SpecError("options", unknown, f"a {type(proof).__name__} takes {', '.join(COMMON + allowed)}")
    report = build(proof, max_size, label_prefix, max_terms, **options)
    return document(proof, report, standalone, label_prefix, title)
