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

import numpy as np
import sympy as sp

from ..errors import SpecError, boolean, integer, one_of, renamed_keyword
from ..forms import im2col as own_im2col
from ..forms import kernel_matrix as own_kernel
from ..forms import toeplitz as own_toeplitz
from ..forms.entries import exact_matrix
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
_PATCH_RULES = {"unfold": ("Horizontal rules separate the input channels.", "Vertical rules separate the output rows."),
                "paper": ("Horizontal rules separate the output rows.", "Vertical rules separate the kernel taps.")}
_KERNEL_RULES = {"unfold": ("Horizontal rules separate the groups.", "Vertical rules separate the input channels."),
                 "paper": ("Horizontal rules separate the kernel taps.", "Vertical rules separate the groups.")}
"""(sentence of the horizontal rules, of the vertical ones): each printed only when drawn."""
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
        cg = spec.in_per_group
        group = "c = g(o)" if cg == 1 else f"{cg}\\,g(o) \\le c < {cg}\\,(g(o)+1)"
        where.append(f", when $c$ lies in the group of $o$ (${group}$), and 0 otherwise")
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
    """The block sizes whose boundaries are drawn (a level splitting T's rows or columns)."""
    shape = spec.toeplitz_shape
    sizes = [f"${r} \\times {c}$" for r, c in toeplitz_blocks(spec) if r < shape[0] or c < shape[1]]
    return f"Rules separate its blocks of {' and '.join(sizes)}." if sizes else ""


def _drawn_rules(spec: ConvSpec, order: str) -> list[str]:
    """The sentences of ``_PATCH_RULES`` for the rules a figure of P draws (rows, columns)."""
    shape = (prod(spec.kernel_size) * spec.in_channels, prod(spec.output_size))
    shape = shape if order == "unfold" else shape[::-1]
    levels = patches_blocks(spec, order)
    return [text for axis, text in enumerate(_PATCH_RULES[order])
            if any(0 < (level[axis] or 0) < shape[axis] for level in levels)]


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
    captions = {"toeplitz": " ".join(filter(None, ["Nonzero structure of $T$.", _block_rules(spec)])),
                "im2col": " ".join(filter(None, ["Structure of the im2col patch matrix $P$.",
                                                 *_drawn_rules(spec, order)]))}
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
CONSTRUCTED = "symconv's construction, the matrix the proof checked"


def _dense(matrix: Any) -> np.ndarray:
    return np.asarray(matrix.tolist() if isinstance(matrix, sp.MatrixBase) else matrix, dtype=object)


def _shown(keyword: str, option: Any, given: Any, build: Any) -> tuple[Any, str]:
    """(matrix, which one it is): the matrix the proof checked — the one supplied to it
    (``proof.given``), else symconv's construction. A document shows only what was checked, so a
    ``to_latex`` option naming the matrix must equal it exactly: its entries are validated like a
    supplied matrix's (``exact_matrix``: text is never evaluated) and compared entry by entry as
    canonical polynomials, expand(a − b) = 0; anything else is a SpecError."""
    checked, origin = (given, SUPPLIED) if given is not None else (build(), CONSTRUCTED)
    if option is None:
        return checked, origin
    mine = _dense(checked)
    theirs = _dense(exact_matrix(keyword, option, mine.shape, "the checked matrix's"))
    for index, entry in np.ndenumerate(theirs):
        same = entry == mine[index] or sp.expand(entry - sp.sympify(mine[index], strict=True)) == 0
        if not same:  # structurally equal entries need no expansion
            where = ", ".join(map(str, index))
            raise SpecError(keyword, f"a matrix with [{where}] = {entry}",
                            f"is not the matrix this proof checked (its [{where}] is {mine[index]}); a proof "
                            f"document shows only the matrices it checked: omit {keyword}=")
    return checked, origin


def conv_statement(proof: Any) -> list[str]:
    """conv(x, w, b) = T·vec(x) + b⊗1 = K·P + b [= the given output], the forms checked (P·K + b
    in the paper order, without b for a layer without bias: ``proof.comparison``)."""
    sides = [proof.comparison(form).quantity_latex("obtained") for form in proof.forms]
    return [proof.comparison("toeplitz").quantity_latex("expected") + " &= " + " = ".join(sides)]


REFUTED = r"^{\mathrm{supplied}}"
"""The mark of a supplied matrix in a refuted proof: the formulas define the layer's own T, P, K,
and what was supplied is shown apart, as the claim found false, never as the matrix they define."""


def _name(proof: Any, symbol: str, origin: str) -> str:
    """``symbol``, or ``symbol^{supplied}`` for a matrix supplied to a refuted proof."""
    return symbol + REFUTED if origin == SUPPLIED and not proof.holds else symbol


def _claim_false(names: list[str]) -> str:
    shown = " and ".join(f"${name}$" for name in names)
    return (f"The proof checked the claim that {shown}, supplied to it, "
            f"{'is' if len(names) == 1 else 'are'} the layer's; the claim is false (see the counterexample).")


def _fc_section(proof: Any, f: Formulas, T: Any, origin: str, max_size: int, label: Any) -> str:
    """T's entry formula, vec(y) = T·vec(x) (+ b⊗1) and the matrix T checked; a supplied T of a
    refuted proof is shown as the claim found false (``_name``)."""
    spec: ConvSpec = proof.spec
    bias = ((r" + b \otimes \mathbf{1}_{" + str(prod(spec.output_size)) + "}" if spec.layout == "NCHW"
             else r" + \mathbf{1}_{" + str(prod(spec.output_size)) + r"} \otimes b") if spec.bias else "")
    name = _name(proof, "T", origin)
    claimed = name != "T"
    return "\n".join([
        _toeplitz_entry(spec, f, label("toeplitz-entry")), PAR,
        _claim_false([name]) + " It claims" if claimed else "Then",
        equation(r"\mathrm{vec}(y) = " + name + r"\, \mathrm{vec}(x)" + bias, label("fc")),
        f"with $\\mathrm{{vec}}$ stacking {spec.layout} arrays row-major, and",
        matrix_equation(name, T, max_size, label("toeplitz"), origin, toeplitz_blocks(spec), _block_rules(spec),
                        _structure_claim(spec) if origin == CONSTRUCTED else "")])


def _im2col_section(proof: Any, f: Formulas, order: str, P: tuple[Any, str], K: tuple[Any, str], max_size: int,
                    label: Any) -> str:
    """The entry formulas of P and K and the (matrix, origin) pairs ``P`` and ``K`` checked."""
    spec: ConvSpec = proof.spec
    p_name, k_name = _name(proof, "P", P[1]), _name(proof, "K", K[1])
    claimed = [name for name in (p_name, k_name) if REFUTED in name]
    return "\n".join([
        _im2col_entries(spec, f, order, label("im2col-entry")), PAR,
        _claim_false(claimed) + " For this layer," if claimed else "For this layer,",
        matrix_equation(p_name, P[0], max_size, label("patches"), P[1], patches_blocks(spec, order),
                        _PATCH_RULES[order]),
        matrix_equation(k_name, K[0], max_size, label("kernel"), K[1], kernel_blocks(spec, order),
                        _KERNEL_RULES[order])])


def _display_options(proof: Any, *pairs: tuple[Any, Any]) -> tuple[dict[str, str], list[Any]]:
    """({option: the keyword it was passed under}, [T, P, K]) from the (new, deprecated) pairs of
    T, P, K; an option for a form the proof did not check is a SpecError, never dropped silently."""
    passed, values = {}, []
    for (new, old, form), (value, former) in zip(_DISPLAY_OPTIONS, pairs):
        passed[new] = old if former is not None else new  # the errors name the keyword used
        values.append(renamed_keyword(new, value, old, former))
        if values[-1] is not None and form not in proof.forms:
            raise SpecError(passed[new], "a matrix", f"this proof did not check the {form} form (it checked "
                                                     f"{', '.join(proof.forms)}), so it shows no such matrix")
    return passed, values


_DISPLAY_OPTIONS = (("toeplitz", "toeplitz_matrix", "toeplitz"), ("im2col", "patches", "im2col"),
                    ("kernel_matrix", "kernel", "im2col"))
"""(option, its deprecated former name, the form whose matrix it shows)."""


def conv_report(proof: Any, max_size: int, label_prefix: str, max_terms: int | None, figures: Any = None,
                order: str | None = None, toeplitz: Any = None, im2col: Any = None, kernel_matrix: Any = None,
                toeplitz_matrix: Any = None, patches: Any = None, kernel: Any = None) -> Report:
    """The report of ``prove``: the definition, then each form checked, with its matrices.

    The matrices shown are the ones the proof checked: the user's (``proof.given``) where they
    were supplied, symconv's construction otherwise (the text says which). ``toeplitz`` (T),
    ``im2col`` (P) and ``kernel_matrix`` (K) — formerly ``toeplitz_matrix``, ``patches`` and
    ``kernel``, deprecated — are accepted only when exactly equal to the matrix checked (SpecError
    otherwise): a proof document never shows a matrix the proof did not check. ``order`` (default:
    the order the proof checked) is the im2col layout shown; another order than the proof's
    cannot show matrices supplied to the proof, nor ones passed here.
    """
    spec: ConvSpec = proof.spec
    passed, (toeplitz, im2col, kernel_matrix) = _display_options(
        proof, (toeplitz, toeplitz_matrix), (im2col, patches), (kernel_matrix, kernel))
    order = proof.order if order is None else order
    one_of("order", order, ORDERS)
    shown = {"im2col", "kernel_matrix"} & set(proof.given) or (im2col, kernel_matrix) != (None, None)
    if order != proof.order and shown:
        raise SpecError("order", order, f"must be the order the proof checked ({proof.order!r}): "
                                        "the matrices supplied to it or shown are in that order")
    label = lambda name: f"{label_prefix}:{name}"  # noqa: E731 - a one-line naming rule
    f = Formulas(spec)
    x, w, _ = symbols(spec)
    given = proof.given
    sections = [("The definition", definition_section(spec, label_prefix, max_terms))]
    if "toeplitz" in proof.forms:
        T, origin = _shown(passed["toeplitz"], toeplitz, given.get("toeplitz"), lambda: own_toeplitz(spec, w))
        sections.append(("The fully connected layer", _fc_section(proof, f, T, origin, max_size, label)))
    if "im2col" in proof.forms:
        P, p_origin = _shown(passed["im2col"], im2col, given.get("im2col"), lambda: own_im2col(spec, x, order=order))
        K, k_origin = _shown(passed["kernel_matrix"], kernel_matrix, given.get("kernel_matrix"),
                             lambda: own_kernel(spec, w, order=order))
        if order != proof.order:  # shown in another layout than the one checked
            p_origin = k_origin = (f"symconv's construction in the {order} order; the proof checked the "
                                   f"{proof.order} order")
        sections.append(("The im2col product", _im2col_section(proof, f, order, (P, p_origin), (K, k_origin),
                                                                max_size, label)))
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
                  sections=sections, refs=[_FORM_EQUATION[form] for form in proof.forms],
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
DEPRECATED_OPTIONS = tuple(old for _, old, _ in _DISPLAY_OPTIONS)  # still accepted, no longer listed


def report_statement(result: Any) -> list[str]:
    """The statement of any result as ``aligned`` rows (for the Jupyter display)."""
    return REPORTS.lookup(type(result)).statement(result)


def report_options(build: Any) -> tuple[str, ...]:
    """The options a report builder takes besides (result, max_size, label_prefix, max_terms): its
    further parameters that can be passed by keyword.

    >>> report_options(conv_report)
    ('figures', 'order', 'toeplitz', 'im2col', 'kernel_matrix', 'toeplitz_matrix', 'patches', 'kernel')
    """
    by_keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in list(inspect.signature(build).parameters.values())[4:] if p.kind in by_keyword)


@DOCUMENTS.register(Result)
def proof_to_latex(proof: Any, standalone: bool = True, max_size: int = 16,
                   label_prefix: str = "symconv", max_terms: int | None = 10, title: str | None = None,
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
    im2col layout shown; ``toeplitz``, ``im2col``, ``kernel_matrix`` (formerly ``toeplitz_matrix``,
    ``patches``, ``kernel``) — accepted only when equal to the matrix the proof checked.

    Every option is checked here, for every kind of result: ``standalone`` True or False,
    ``max_size`` an integer ≥ 2, ``max_terms`` an integer ≥ 1 or None, ``title`` a str or None
    (SpecError naming the option otherwise).
    """
    standalone = boolean("standalone", standalone)
    max_size = integer("max_size", max_size, minimum=2)
    if max_terms is not None:  # None: every term of the worked example
        max_terms = integer("max_terms", max_terms, minimum=1, note="or None for every term")
    if title is not None and not isinstance(title, str):
        raise SpecError("title", title, "must be text (a str) or None")
    if not isinstance(label_prefix, str) or not label_prefix.replace("-", "").replace(":", "").isalnum():
        raise SpecError("label_prefix", label_prefix, "must be letters, digits, '-' or ':'")
    build = REPORTS.lookup(type(proof)).build
    allowed = report_options(build)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        current = tuple(name for name in allowed if name not in DEPRECATED_OPTIONS)
        raise SpecError("options", unknown, f"a {type(proof).__name__} takes {', '.join(COMMON + current)}")
    report = build(proof, max_size, label_prefix, max_terms, **options)
    return document(proof, report, standalone, label_prefix, title)
