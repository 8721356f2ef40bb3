r"""The certificate of an ONNX MLP export (``interop.certificate``) as a LaTeX document: the file,
a table of its affine layers, for each layer how its matrix was proved to be the layer (the
concrete proof in full, or the all-sizes theorem with the layer's sizes, printed once per theorem)
and the exact comparison with the file, then the network as a whole (torch or onnxruntime, the symbolic network
proof, onnxruntime).
"""

from __future__ import annotations

from typing import Any

from .document import PACKAGES, escape_text, standalone
from .proof import proof_to_latex

METHODS = {
    "concrete": "concrete proof at the layer's own sizes, every weight and input a symbol",
    "all sizes": "the all-sizes theorem, its symbols set to the layer's sizes",
    "weight": "nothing to prove: the matrix is the Linear layer's own weight",
}


def _yes(value: bool | None) -> str:
    return {True: "yes", False: r"\textbf{no}", None: "--"}[value]


def _file_section(cert: Any) -> str:
    export = cert.export
    storage = ("sparse: each matrix a Constant with a COO sparse value (nonzeros and int64 indices)"
               if export.sparse else "dense initializers")
    return "\n".join([
        r"\subsection*{The file}",
        rf"\texttt{{{escape_text(export.path)}}}: {export.bytes} bytes ({storage}), element type "
        rf"{escape_text(export.dtype)}, opset {export.opset}; estimated before writing: {export.estimate} "
        rf"bytes of weights. Its operators: {escape_text(', '.join(cert.ops))} (no convolution or pooling). "
        rf"Input shape $(N, {', '.join(map(str, export.input_shape))})$, output shape "
        rf"$(N, {', '.join(map(str, export.output_shape))})$ for any batch size $N$."])


def _table(cert: Any) -> str:
    rows = [rf"{layer.number} & {escape_text(', '.join(layer.names))} & ${layer.shape[0]} \times "
            rf"{layer.shape[1]}$ & {layer.nonzeros} & {escape_text(layer.method)} & {_yes(layer.proved)} & "
            rf"{_yes(layer.matrix_exact and layer.bias_exact)} \\"
            for layer in cert.layers]
    return "\n".join([
        r"\subsection*{The affine layers}",
        r"Each Gemm $\ell$ of the file computes $\mathrm{vec}(y) = A_\ell\,\mathrm{vec}(x) + c_\ell$.",
        r"\begin{center}\small", r"\begin{tabular}{rllrlll}", r"\toprule",
        r"$\ell$ & network layers & $A_\ell$ & nonzeros & proof & proved & file $= A_\ell$ \\", r"\midrule",
        *rows, r"\bottomrule", r"\end{tabular}", r"\end{center}"])


def _instance(layer: Any) -> str:
    pairs = ", ".join(rf"${name.replace('_', '_{')}{'}' if '_' in name else ''} = {value}$"
                      for name, value in layer.instance.items())
    verdict = ("each of the theorem's hypotheses on sizes holds there" if layer.instance_holds else
               r"\textbf{a hypothesis of the theorem fails there}")
    return f"The theorem is applied at {pairs}; {verdict}."


def _matrix_check(cert: Any, layer: Any) -> str:
    dtype = escape_text(cert.export.dtype)
    if layer.matrix_exact and layer.bias_exact:
        how = "equal entry by entry, exactly in float64"
    elif layer.matrix_equal and layer.bias_equal:
        how = (f"equal entry by entry only to $A_\\ell$ rounded to {dtype} (round to nearest): "
               rf"\textbf{{the file holds the layer's matrix rounded to {dtype}, not the layer}}")
    else:
        how = r"\textbf{not equal}"
    densified = " (the sparse constant densified)" if cert.export.sparse else ""
    return (rf"The matrix and bias read back from the file{densified} against "
            rf"$A_\ell$ and $c_\ell$ built by symconv at the model's weights: {how}.")


def _folded(cert: Any) -> str:
    how = ("proved with the network, below" if cert.network is not None else
           f"checked against {cert.export.framework} within a proven rounding bound; the symbolic network "
           "proof was not run")
    return (r"A BatchNorm in eval mode is folded in: $A_\ell = \mathrm{diag}(s \otimes \mathbf{1})\,T$, "
            rf"$s = \gamma/\sqrt{{v + \epsilon}}$ ({how}).")


def _layer_section(cert: Any, layer: Any, theorems: dict[int, int]) -> str:
    parts = [rf"\subsection*{{Layer $\ell = {layer.number}$: {escape_text(', '.join(layer.names))}}}",
             rf"Proof: {METHODS[layer.method]}."]
    if layer.method == "concrete":
        parts.append(proof_to_latex(layer.proof, standalone=False, label_prefix=f"layer{layer.number}"))
    elif layer.method == "all sizes":
        parts.append(rf"Theorem {theorems[id(layer.proof)]} below: {escape_text(layer.proof.title)}. "
                     + _instance(layer))
    if layer.kind == "convtranspose":
        parts.append(r"A transposed convolution's matrix is $T^\top$ of the convolution it transposes, keeping "
                     r"the columns of the outputs inside the layer's input.")
    if len(layer.steps) > 1:
        parts.append(_folded(cert))
    parts.append(_matrix_check(cert, layer))
    return "\n".join(parts)


def _network_section(cert: Any) -> str:
    framework = ("no difference." if cert.framework_failure is None else
                 rf"\textbf{{a difference}}: {escape_text(cert.framework_failure)}.")
    file = (r"The file is byte for byte the ONNX model symconv builds for this model and these settings."
            if cert.graph_difference is None else
            rf"\textbf{{The file is not the ONNX model symconv builds for this model}}: "
            rf"{escape_text(cert.graph_difference)}.")
    parts = [r"\subsection*{The network as a whole}", file,
             f"Every layer of the model was run in {cert.export.framework} and compared with its map "
             f"(within a proven rounding bound, and exactly on integer weights and inputs): {framework}"]
    if cert.network is not None:
        parts.append(proof_to_latex(cert.network, standalone=False, label_prefix="network"))
    else:
        parts.append(escape_text(cert.network_note[0].upper() + cert.network_note[1:]) + ".")
    runtime = cert.runtime
    parts.append(rf"onnxruntime ran the written file on {runtime.samples} random inputs in $[-1, 1)$ against "
                 rf"the original model in {cert.export.framework}: largest difference "
                 rf"{runtime.max_abs_difference:.3g}, largest $|y_{{\mathrm{{file}}}} - y| / \max(1, |y|)$ "
                 rf"over the output entries {runtime.max_relative_difference:.3g}, tolerance "
                 rf"{runtime.tolerance:.3g} (numerical: the two sum in different orders), "
                 + ("within it." if runtime.holds else r"\textbf{above it}."))
    return "\n".join(parts)


def certificate_latex(cert: Any) -> str:
    """The certificate ``cert`` (``interop.certificate``) as a standalone LaTeX document."""
    from ..general.latex import PACKAGES as THEOREM_PACKAGES
    from ..general.paper import PREAMBLE
    theorems: dict[int, int] = {}
    for layer in cert.layers:
        if layer.method == "all sizes":
            theorems.setdefault(id(layer.proof), len(theorems) + 1)
    verdict = "holds" if cert.holds else r"\textbf{does not hold}"
    body = [rf"The ONNX file below is a multilayer perceptron computing what the network "
            rf"{escape_text(cert.model)} computes. The certificate {verdict}.",
            _file_section(cert), _table(cert),
            *(_layer_section(cert, layer, theorems) for layer in cert.layers)]
    derivations = {number: layer.proof for layer in cert.layers if layer.method == "all sizes"
                   for key, number in theorems.items() if key == id(layer.proof)}
    for number, derivation in sorted(derivations.items()):
        body += [rf"\subsection*{{Theorem {number}}}", derivation.to_latex(standalone=False)]
    body.append(_network_section(cert))
    return standalone("\n".join(body), title=f"Certificate: {cert.model} as an MLP",
                      packages=tuple(dict.fromkeys(PACKAGES + THEOREM_PACKAGES)), preamble=PREAMBLE)
