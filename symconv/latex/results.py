r"""The reports of the results beyond ``prove`` (``symconv.latex.proof`` prints ``prove``'s own),
laid out by the one skeleton of ``symconv.latex.report``:

    TransposeProof     ``forms.transpose.prove_transpose``: with L = ⟨g, y⟩, ∂L/∂x = Tᵀ·vec(g) =
                       conv_transpose(g, w), ∂L/∂w = g·Pᵀ, ∂L/∂b = g·1; shows Tᵀ and P
    ConverseProof      ``converse.prove_fc_as_conv``: conv(x, w, b) = W·vec(x) + b, fc_as_conv(W) = w;
                       ``converse.prove_conv1x1_as_fc``: conv(x, w, b) = W·X + b·1ᵀ; shows W
    BlockDiagonalisationProof  ``spectral.prove_block_diagonalisation``: U_out·T = D·U_in; shows T, D_f
    NetworkResult      ``interop.prove_network``: network(x) = MLP(vec x); the layers and what each becomes

Each builder is registered for its result type in ``symconv.registry.REPORTS`` (a subclass gets
its parent's builder).

Labels besides the skeleton's (``statement``, ``counterexample``) and the layer's
(``definition``, ``padding``, ``worked``): ``loss``, ``transpose``, ``patches``, ``weight-gradient``,
``transposed-matrix``, ``bias-gradient`` (transpose); ``fc-entry``, ``fc-matrix`` (converse);
``dft``, ``blocks``, ``toeplitz``, ``dft-blocks`` (dft).
"""

from __future__ import annotations

from math import prod
from typing import Any

from ..converse import conv1x1_as_fc, fc_matrix
from ..forms import im2col, toeplitz
from ..registry import REPORTS
from ..result import COMPARISONS, BlockDiagonalisationProof, ConverseProof, NetworkResult, TransposeProof
from ..spec import ConvSpec
from ..spectral import dft_block_diagonalisation
from ..symbols import symbols
from .document import escape_text
from .layer import OUT, POS, TAP, Formulas, definition_section, layer_setting
from .matrix import latex_matrix
from .report import PAR, Report, ReportPrinter, equation, matrix_equation
from .structure import patches_blocks, toeplitz_blocks

__all__ = ["converse_report", "dft_report", "network_report", "transpose_report"]

_CHECKED = "symconv's construction, the matrix the proof checked"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _side(proof: Any, form: str, which: str) -> str:
    """One side of what ``form`` compares in ``proof`` (its bias, order and batch applied)."""
    return proof.comparison(form).quantity_latex(which)


def _canonical_method(symbol_names: str, entries: str) -> str:
    return (f"Both sides of each equation were expanded into canonical polynomials in {symbol_names} "
            f"and compared {entries}; two polynomials are equal if and only if their expanded "
            "difference is zero.")


# ---- transposed convolution and gradients -------------------------------------------------------
def transpose_statement(proof: Any) -> list[str]:
    """∂L/∂x = Tᵀ·vec(g) = conv_transpose(g, w); ∂L/∂w = g·Pᵀ; ∂L/∂b = g·1 (the forms checked;
    for a batch ∂L/∂x_n = Tᵀ·vec(g_n) = conv_transpose(g_n, w), ∂L/∂w = Σ_n g_n·P_nᵀ, …)."""
    forms, lines = proof.forms, []
    if "input_gradient" in forms or "transpose" in forms:
        chain = ([_side(proof, "input_gradient", "expected")] if "input_gradient" in forms else []) + \
                [_side(proof, "input_gradient", "obtained")] + \
                ([_side(proof, "transpose", "expected")] if "transpose" in forms else [])
        lines.append(f"{chain[0]} &= {' = '.join(chain[1:])}")
    lines += [f"{_side(proof, form, 'expected')} &= {_side(proof, form, 'obtained')}"
              for form in ("weight_gradient", "bias_gradient") if form in forms]
    return lines


def _supplied(proof: Any, key: str) -> str:
    """The sentence saying that a gradient supplied to a transpose proof was checked instead of
    symconv's (empty when none was supplied)."""
    gradient, own = {"input_grad": (r"\partial L / \partial x", r"T^{\top} \mathrm{vec}(g)"),
                     "weight_grad": (r"\partial L / \partial w", r"g P^{\top}")}[key]
    return f"The proof checked the ${gradient}$ supplied to it instead of symconv's ${own}$." \
        if key in proof.given else ""


def _loss(spec: ConvSpec, batch: int | None) -> tuple[str, str]:
    """(the loss written out, its short name): L = ⟨g, y⟩, or L = Σ_n ⟨g_n, y_n⟩ for a batch."""
    outs = ", ".join(OUT[:spec.dims])
    if batch is None:
        return (rf"L = \langle g, y \rangle = \sum_{{o, {outs}}} g_{{o, {outs}}}\, y_{{o, {outs}}}",
                r"L = \langle g, y \rangle")
    return (rf"L = \sum_{{n=0}}^{{{batch - 1}}} \langle g_{{n}}, y_{{n}} \rangle = "
            rf"\sum_{{n, o, {outs}}} g_{{n, o, {outs}}}\, y_{{n, o, {outs}}}", r"L = \sum_n \langle g_n, y_n \rangle")


def _transpose_section(proof: Any, f: Formulas, max_size: int, label: Any) -> str:
    """The scatter definition of conv_transpose and the matrix Tᵀ the proof checked."""
    spec: ConvSpec = proof.spec
    outs, pos = ", ".join(OUT[:spec.dims]), ", ".join(POS[:spec.dims])
    name = proof.comparison("transpose").expected_entry.replace("g_{#}", "g").replace("_{@}", "")
    scatter = (rf"{name}_{{c, {pos}}} = \sum_{{o, {outs}}} {f.tap_sums()} "
               rf"{f.weight(f.group_local())}\, g_{{o, {outs}}}\, {f.reads()}")
    group = (", the sum over the output channels $o$ of the group of $c$" if spec.groups > 1 else "")
    per_sample = " It is applied to each sample, $g = g_n$." if proof.batch is not None else ""
    shown = proof.given.get("toeplitz_transpose", toeplitz(spec, symbols(spec)[1]).T)
    claimed = "toeplitz_transpose" in proof.given and not proof.holds  # a refuted claim is not Tᵀ
    origin = ("supplied to the proof, the matrix it checked" if "toeplitz_transpose" in proof.given
              else "symconv's construction" if "input_grad" in proof.given else _CHECKED)
    name = r"(T^{\top})^{\mathrm{supplied}}" if claimed else r"T^{\top}"
    return "\n".join([
        ("The transposed convolution" if spec.padding_mode == "zeros" else
         f"Through the {escape_text(spec.padding_mode)} padding map (not PyTorch's transposed convolution, "
         "which pads with zeros), the adjoint")
        + " scatters each upstream entry back through the kernel taps that produced it:",
        equation(scatter, label("transpose")),
        f"(with $[\\cdot]$ the indicator{group}).{per_sample} Its matrix is $T^{{\\top}}$"
        + (f". The proof checked the claim that ${name}$, supplied to it, is $T^{{\\top}}$; the claim is false (see "
           "the counterexample). It is shown" if claimed else ", shown") + " with the blocks of $T$ transposed:",
        matrix_equation(name, shown, max_size, label("transposed-matrix"), origin,
                        [(c, r) for r, c in toeplitz_blocks(spec)]),
        _supplied(proof, "input_grad")])


def _weight_gradient_section(proof: Any, f: Formulas, max_size: int, label: Any) -> str:
    """∂L/∂w per group as a sum over the patches, and the patch matrix P."""
    spec: ConvSpec = proof.spec
    batched = proof.batch is not None
    n, outs = "n, " if batched else "", ", ".join(OUT[:spec.dims])
    product = r"$\sum_n g_n\,P_n^{\top}$, $P_n$ the patches of sample $n$" if batched else r"$g\,P^{\top}$"
    return "\n".join([
        r"With the im2col patch matrix $P$ (PyTorch's \texttt{unfold} order), per group,",
        equation(rf"\frac{{\partial L}}{{\partial {f.weight(f.local_channel())}}} = "
                 rf"\sum_{{{n}{outs}}} g_{{{n}o, {outs}}}\, {f.x_padded(n + f.group_channel())}",
                 label("weight-gradient")),
        f"which is the row $o$ of {product} at the column of $(c, "
        + ", ".join(TAP[:spec.dims]) + ")$. For this layer" + (" and the first sample" if batched else "") + ",",
        matrix_equation("P" + ("_{0}" if batched else ""), im2col(spec, symbols(spec)[0]), max_size,
                        label("patches"), "symconv's construction" if "weight_grad" in proof.given else _CHECKED,
                        patches_blocks(spec)),
        _supplied(proof, "weight_grad")])


def _bias_gradient_section(proof: Any, label: Any) -> str:
    spec: ConvSpec = proof.spec
    batched = proof.batch is not None
    n, outs = "n, " if batched else "", ", ".join(OUT[:spec.dims])
    ones = r"({\textstyle\sum_{n}} g_{n}\,\mathbf{1})" if batched else r"(g\,\mathbf{1})"
    return equation(rf"\frac{{\partial L}}{{\partial b_{{o}}}} = \sum_{{{n}{outs}}} g_{{{n}o, {outs}}} = {ones}_{{o}}",
                    label("bias-gradient"))


def _upstream(spec: ConvSpec, batch: int | None) -> str:
    """The setting's mention of the upstream gradient g (and of the batch)."""
    sample = "n, " if batch is not None else ""
    upstream = ", upstream gradient $g_{" + sample + "o," + ",".join(OUT[:spec.dims]) + "}$"
    if batch is not None:
        upstream += (f" (a batch of {batch} samples $n$: the input is $x_{{n,c,"
                     + ",".join(POS[:spec.dims]) + "}$)")
    return upstream


def transpose_report(proof: Any, max_size: int, label_prefix: str, max_terms: int) -> Report:
    spec: ConvSpec = proof.spec
    label = lambda name: f"{label_prefix}:{name}"  # noqa: E731 - a one-line naming rule
    f = Formulas(spec)
    loss_tex, loss_name = _loss(spec, proof.batch)
    with_g = ("an upstream gradient $g_n$ of the shape of $y_n$ per sample" if proof.batch is not None else
              "an upstream gradient $g$ of the shape of $y$")
    sections = [("The definition", definition_section(spec, label_prefix, max_terms)
                 + f"\nWith {with_g}, the loss is\n" + equation(loss_tex, label("loss"))),
                ("The transposed convolution" if spec.padding_mode == "zeros" else "The adjoint scatter",
                 _transpose_section(proof, f, max_size, label))]
    if "weight_gradient" in proof.forms:
        sections.append(("The weight gradient", _weight_gradient_section(proof, f, max_size, label)))
    if "bias_gradient" in proof.forms:
        sections.append(("The bias gradient", _bias_gradient_section(proof, label)))
    method = ("$L$ was expanded into a canonical polynomial in $x$, $w$, $b$, $g$ and differentiated "
              "exactly (SymPy). "
              + _canonical_method("$x$, $w$, $b$, $g$", f"entry by entry ({proof.outputs} entries)"))
    what = "transposed convolution" if spec.padding_mode == "zeros" else f"adjoint through {spec.padding_mode} padding"
    return Report(title=f"A {spec.dims}-D {what} and the gradients of a convolution",
                  setting_heading="The layer", setting=layer_setting(spec, _upstream(spec, proof.batch)),
                  quantifier="For all $x$, $w$" + (", $b$" if spec.bias else "") + f", $g$, with ${loss_name}$",
                  statement=transpose_statement(proof), method=method, size=f"{proof.outputs} entries",
                  sections=sections, refs=["definition", "loss"])


# ---- the converse: an FC layer as a convolution, a 1×1 convolution as an FC layer --------------
def converse_statement(proof: Any) -> list[str]:
    """conv(x, w, b) = W·vec(x) + b and fc_as_conv(W) = w, or conv(x, w, b) = W·X + b·1ᵀ (1×1)."""
    return [rf"{_side(proof, form, 'expected')} &= {_side(proof, form, 'obtained')}"
            if form != "fc_as_conv" else
            rf"{_side(proof, form, 'obtained')} &= {_side(proof, form, 'expected')}" for form in proof.forms]


def _fc_text(proof: Any, label_prefix: str, max_size: int, origin: str) -> str:
    spec: ConvSpec = proof.spec
    f = Formulas(spec)
    _, w, _ = symbols(spec)
    pos = ", ".join(POS[:spec.dims])
    shape = r" \times ".join(map(str, spec.input_shape))
    if spec.layout == "NHWC":
        col = f.tex(f.flat(POS[:spec.dims], spec.input_size, spec.in_channels) + [(1, "c")])
    else:
        col = f.tex([(prod(spec.input_size), "c")] + f.flat(POS[:spec.dims], spec.input_size))
    return "\n".join([
        f"A fully connected layer with {spec.out_channels} outputs on inputs of shape "
        f"${shape}$ is the convolution whose kernel covers the "
        "whole input (output size 1). Its weight matrix reads the kernel in the order of "
        f"$\\mathrm{{vec}}(x)$ ({spec.layout}, row-major):",
        equation(rf"W_{{o,\; {col}}} = w_{{o, c, {pos}}}", f"{label_prefix}:fc-entry"),
        "and, for this layer,",
        matrix_equation("W", proof.given.get("matrix", fc_matrix(spec, w)), max_size,
                        f"{label_prefix}:fc-matrix", origin),
        r"$\mathrm{fc\_as\_conv}(W)$ reads the kernel back from $W$."])


def _conv1x1_text(proof: Any, label_prefix: str, max_size: int, origin: str) -> str:
    spec: ConvSpec = proof.spec
    f = Formulas(spec)
    _, w, _ = symbols(spec)
    pos = ", ".join(POS[:spec.dims])
    first = f"{spec.in_per_group}\\,g(o) + " if spec.groups > 1 else ""
    zeros = ", zero outside the group of $o$" if spec.groups > 1 else ""
    return "\n".join([
        "With a $1 \\times 1$ kernel, stride 1 and no padding, every output position applies the same "
        "fully connected layer to the channels of the input at that position. With $X$ the input "
        "with one column per position, $X_{c,\\, " + f.tex(f.flat(POS[:spec.dims], spec.input_size))
        + "} = x_{c, " + pos + "}$, the weight matrix is",
        equation(rf"W_{{o,\; {first}c}} = w_{{o, c{', 0' * spec.dims}}}", f"{label_prefix}:fc-entry"),
        f"{zeros + ', ' if zeros else ''}and, for this layer,",
        matrix_equation("W", proof.given.get("matrix", conv1x1_as_fc(spec, w)), max_size,
                        f"{label_prefix}:fc-matrix", origin)])


def converse_report(proof: Any, max_size: int, label_prefix: str, max_terms: int) -> Report:
    spec: ConvSpec = proof.spec
    per_position = "conv1x1" in proof.forms
    built = r"\texttt{conv1x1\_as\_fc}" if per_position else r"\texttt{fc\_matrix}"
    origin = ("supplied to the proof, the matrix it checked" if "matrix" in proof.given
              else f"symconv's {built}, the matrix the proof checked")
    text = (_conv1x1_text if per_position else _fc_text)(proof, label_prefix, max_size, origin)
    title = "A 1x1 convolution as a fully connected layer" if per_position else \
        "A fully connected layer as a convolution"
    return Report(title=title, setting_heading="The layer",
                  setting=layer_setting(spec), quantifier="For all $x$, $w$" + (", $b$" if spec.bias else ""),
                  statement=converse_statement(proof),
                  method=_canonical_method("$x$, $w$, $b$", f"entry by entry ({proof.outputs} outputs)"),
                  size=f"{proof.terms} terms",
                  sections=[("The definition", definition_section(spec, label_prefix, max_terms)),
                            ("The fully connected layer", text)],
                  refs=["definition", "fc-entry"])


# ---- circular padding: the DFT block-diagonalises T --------------------------------------------
def dft_statement(proof: Any) -> list[str]:
    return [rf"{_side(proof, 'dft', 'obtained')} &= {_side(proof, 'dft', 'expected')}, \qquad "
            r"\text{i.e. } T = \tfrac{1}{N}\, U_{C_{\mathrm{out}}}^{*}\, D\, U_{C_{\mathrm{in}}}"]


def dft_report(proof: Any, max_size: int, label_prefix: str, max_terms: int) -> Report:
    spec: ConvSpec = proof.spec
    label = lambda name: f"{label_prefix}:{name}"  # noqa: E731 - a one-line naming rule
    _, w, _ = symbols(spec)
    d = spec.dims
    f_, pos = ", ".join(f"f_{a + 1}" for a in range(d)), ", ".join(POS[:d])
    phase = " + ".join(rf"\frac{{f_{a + 1} {POS[a]}}}{{{n}}}" for a, n in enumerate(spec.input_size))
    m_phase = " + ".join(rf"\frac{{f_{a + 1} m_{a + 1}}}{{{n}}}" for a, n in enumerate(spec.input_size))
    T = proof.given.get("toeplitz", toeplitz(spec, w))
    supplied = "toeplitz" in proof.given
    name = "T" if proof.holds or not supplied else r"T^{\mathrm{supplied}}"  # a refuted claim is not T
    row = "the first block row of $T$" if name == "T" else "the first block row of the layer's own $T$ (of $w$)"
    parts = [
        f"With $N = {prod(spec.input_size)}$ positions, the DFT matrix and its channel-wise extension are",
        equation(rf"F_{{({f_}),\,({pos})}} = e^{{-2\pi \mathrm{{i}} ({phase})}}, \qquad "
                 rf"(U_C)_{{(f, c),\,(c', u)}} = [c = c']\, F_{{f, u}}", label("dft")),
        "(rows frequency-major), and $D = \\mathrm{diag}_f(D_f)$ holds the DFT of the kernel's symbol "
        f"$h_{{o,c,m}} = T_{{(o, 0), (c, m)}}$, {row}:",
        equation(rf"(D_f)_{{o, c}} = \sum_{{m}} h_{{o, c, m}}\, e^{{2\pi \mathrm{{i}} ({m_phase})}}",
                 label("blocks")),
        "For this layer" if name == "T" else
        f"The proof checked the claim that ${name}$, supplied to it, is this $T$ (so that "
        f"$U_{{C_{{\\mathrm{{out}}}}}}\\, {name} = D\\, U_{{C_{{\\mathrm{{in}}}}}}$); the claim is false (see the "
        "counterexample). The supplied matrix is",
        matrix_equation(name, T, max_size, label("toeplitz"),
                        "supplied to the proof, the matrix it checked" if supplied else _CHECKED,
                        toeplitz_blocks(spec))]
    n_freq = prod(spec.input_size)
    if n_freq * spec.out_channels <= max_size:
        blocks = dft_block_diagonalisation(spec, w, exact_roots=True).blocks
        rows = r" \\ ".join(rf"D_{{{k}}} &= {latex_matrix(block)}" for k, block in enumerate(blocks))
        parts += ["The blocks of $D$ (exact roots of unity) are",
                  equation(rf"\begin{{aligned}} {rows} \end{{aligned}}", label("dft-blocks"), fit=True)]
    if proof.holds:  # a refuted identity proves nothing about the singular values
        parts.append("The singular values of $T$ are therefore those of the blocks $D_f$ together "
                     "(Sedghi, Gupta and Long, ICLR 2019).")
    return Report(title="Circular convolution: the DFT block-diagonalises T", setting_heading="The layer",
                  setting=layer_setting(spec), quantifier="For all $w$",
                  statement=dft_statement(proof),
                  method=_canonical_method(r"$w$ over $\mathbb{Q}(\mathrm{i}, \sqrt{2}, \sqrt{3})$ "
                                           "(exact roots of unity)",
                                           f"entry by entry ({proof.outputs} entries)"),
                  size=f"{proof.outputs} entries",
                  sections=[("The definition", definition_section(spec, label_prefix, max_terms)),
                            ("The DFT", "\n".join(parts))],
                  refs=["dft", "blocks"])


# ---- whole networks ------------------------------------------------------------------------------
_BECOMES = {"ConvTranspose": r"Linear with $T^{\top}$ of the convolution it transposes",
            "Conv": r"Linear with the Toeplitz matrix $T$ as weight and bias $b \otimes \mathbf{1}$",
            "AvgPool": r"Linear: a depthwise convolution with every weight $1/\text{divisor}$",
            "AdaptiveAvgPool": r"Linear: an average pool with kernel = stride = input/output size",
            "Identity": "nothing: the identity",
            "Dropout": "nothing: the identity in eval mode",
            "Linear": "Linear, unchanged",
            "BatchNorm": r"folded into the Linear before it: $\mathrm{diag}(s \otimes \mathbf{1})$, "
                         r"$s = \gamma / \sqrt{v + \epsilon}$",
            "Flatten": r"nothing: row-major flattening is $\mathrm{vec}$"}


def _becomes(name: str, number: int) -> str:
    """What layer ``name`` becomes in the MLP (the first matching prefix, longer names listed first)."""
    for prefix, text in _BECOMES.items():
        if name.startswith(prefix):
            return text
    return rf"$\sigma_{{{number}}}$ elementwise, unchanged"


def network_statement(proof: Any) -> list[str]:
    mlp = COMPARISONS["mlp"]
    return [rf"{mlp.quantity_latex('expected')} &= {mlp.quantity_latex('obtained')}"]


def network_report(proof: Any, max_size: int, label_prefix: str, max_terms: int) -> Report:
    rows = " \\\\\n".join(f"{number} & {escape_text(name)} & {_becomes(name, number)}"
                          for number, name in enumerate(proof.layers, start=1))
    table = ("\\begin{center}\n\\begin{tabular}{rll}\n\\hline\n$\\ell$ & layer & in the MLP \\\\\n\\hline\n"
             + rows + " \\\\\n\\hline\n\\end{tabular}\n\\end{center}")
    setting = "\n".join([
        f"A network of {len(proof.layers)} layers with {_count(proof.outputs, 'output')} per sample:", table, PAR,
        "The input $x$, every weight $w^{(\\ell)}$, bias $b^{(\\ell)}$ and BatchNorm statistic are "
        "independent symbols, and each activation is an undefined function $\\sigma_\\ell$ applied "
        "elementwise, so what is proved holds for every activation."])
    mlp = ("Every linear layer is an affine map of the flattened features, $\\mathrm{vec}(y) = "
           "A\\,\\mathrm{vec}(x) + c$: a convolution with its Toeplitz matrix, an average pool as a "
           "depthwise convolution, a BatchNorm in eval mode as a diagonal scaling folded into the "
           "affine map before it, Flatten as the identity on $\\mathrm{vec}$. An elementwise "
           "activation commutes with flattening. The MLP is therefore Flatten, then the Linear "
           "layers and activations of the table.")
    method = ("Both sides were built on the symbols, the network layer by layer from each layer's own "
              "definition, the MLP from its matrices, and compared output by output as canonical "
              "expanded forms (the expansion reaches inside each $\\sigma_\\ell$, so "
              "$\\sigma_\\ell(p) = \\sigma_\\ell(q)$ is decided as $p = q$).")
    check = getattr(proof.counterexample, "check", "")
    if check:  # interop.TorchMismatch: torch itself disagreed with the layer's attributes
        method = ("Before the symbolic comparison, every layer was run in torch and compared with the "
                  "map read from its attributes; that comparison failed (" + escape_text(check)
                  + "), so what torch computes is not the network of the table.")
    return Report(title="A network as a multilayer perceptron", setting_heading="The network",
                  setting=setting,
                  quantifier="For all inputs $x$, parameters and activations $\\sigma_\\ell$",
                  statement=network_statement(proof), method=method, size=_count(proof.outputs, "output"),
                  sections=[("The MLP", mlp)])


REPORTS.register(TransposeProof)(ReportPrinter(transpose_report, transpose_statement))
REPORTS.register(ConverseProof)(ReportPrinter(converse_report, converse_statement))
REPORTS.register(BlockDiagonalisationProof)(ReportPrinter(dft_report, dft_statement))
REPORTS.register(NetworkResult)(ReportPrinter(network_report, network_statement))
