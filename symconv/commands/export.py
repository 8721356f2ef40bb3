"""``symconv export MODEL --mlp out.onnx``: write a CNN's equivalent MLP as an ONNX file (only Gemm,
activations, Flatten and Reshape), with its certificate as PDF, LaTeX and JSON."""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ._outputs import output_files, report_written, write_outputs

HELP = "write a CNN's equivalent MLP as an ONNX file (Gemm + activations) with a certificate"

EXAMPLES = """\
examples:
  symconv export cnn.onnx --mlp mlp.onnx --certificate cert.pdf --json cert.json
  symconv export cnn.onnx --input-shape 3,32,32 --mlp mlp.onnx --sparse --latex cert.tex
  symconv export mypkg.models:make_cnn --input-shape 1,28,28 --mlp mlp.onnx --json cert.json

MODEL is an ONNX file (a chain of Conv, ConvTranspose, AveragePool, GlobalAveragePool,
BatchNormalization, Gemm, MatMul, Add, Relu, Sigmoid, Tanh, LeakyRelu, Flatten, Reshape) or
MODULE:FACTORY, a Python function (or nn.Module class) that is imported and called without
arguments and returns a torch nn.Sequential in eval mode. Nothing is ever unpickled.
--input-shape is one sample's shape (default for an ONNX file: its declared input without the
batch axis).

All files are written together or none: each to a temporary file, renamed into place at the end.
exit codes: 0 proved, 1 the certificate fails (a layer, the file or the network), 2 bad input or a
refused model (one line on stderr; no file is left behind)."""

DTYPES = ("float32", "float64")


def register(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXAMPLES
    parser.add_argument("model", metavar="MODEL", help="an .onnx file, or MODULE:FACTORY returning a torch model")
    parser.add_argument("--input-shape", metavar="C,H,W", help="one sample's shape, e.g. 3,32,32")
    out = parser.add_argument_group("output")
    out.add_argument("--mlp", metavar="FILE", required=True, help="the ONNX file of the MLP")
    out.add_argument("--certificate", metavar="FILE", help="the certificate as PDF (latexmk)")
    out.add_argument("--latex", metavar="FILE", help="the certificate as LaTeX")
    out.add_argument("--json", metavar="FILE", help="the certificate as JSON (schema symconv.certificate/1)")
    out.add_argument("--engine", default="pdflatex", choices=("pdflatex", "xelatex"),
                     help="TeX engine for --certificate")
    onnx = parser.add_argument_group("the ONNX file")
    onnx.add_argument("--sparse", action="store_true", help="store each matrix as a COO sparse constant")
    onnx.add_argument("--dtype", choices=DTYPES, help="element type (default: the model's)")
    onnx.add_argument("--opset", type=int, metavar="N", help="ONNX opset (default 17)")
    onnx.add_argument("--max-bytes", type=int, metavar="N", help="refuse a file whose weights take more (default 2^30)")
    proof = parser.add_argument_group("the certificate")
    proof.add_argument("--max-terms", type=int, metavar="N",
                       help="largest concrete layer proof (monomials); larger layers get the all-sizes theorem")
    proof.add_argument("--network-terms", type=int, metavar="N",
                       help="run the symbolic network proof up to this many dense entries (default 10000)")
    parser.set_defaults(run=run)


def _shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise SpecError("--input-shape", text, "must be integers separated by commas, e.g. 3,32,32") from None


def _load(model: str, shape: tuple[int, ...] | None) -> tuple[Any, tuple[int, ...]]:
    """(the model, one sample's input shape): an ONNX file by path, or a factory's torch model."""
    if model.endswith(".onnx") or Path(model).is_file():
        from ..interop.onnx_chain import load_model, read_chain
        if shape is None:
            dims = read_chain(load_model(model)).input_dims[1:]
            if None in dims or 0 in dims:
                raise SpecError("--input-shape", None, f"{model}'s input has symbolic dims {dims}; give the shape")
            shape = tuple(dims)
        return model, shape
    from ..interop.torch_code import _torch
    from .check import load
    made = load(model)
    nn = _torch().nn
    if not isinstance(made, nn.Module):
        try:
            made = made()
        except Exception as error:  # noqa: BLE001 - the user's factory: its failure is bad input
            raise SpecError("MODEL", model, f"calling it failed: {type(error).__name__}: {error}") from None
    if not isinstance(made, nn.Module):
        raise SpecError("MODEL", model, f"must give a torch nn.Module, gives {type(made).__name__}")
    if shape is None:
        raise SpecError("--input-shape", None, "is needed for a torch model (one sample's shape, e.g. 3,32,32)")
    return made, shape


def _options(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def run(args: argparse.Namespace) -> int:
    from ..interop import certificate, certificate_json, to_onnx
    from ..interop.torch_code import _torch
    from ..latex.build import pdf_bytes
    from ..latex.certificate import certificate_latex
    flags = {"--mlp": args.mlp, "--certificate": args.certificate, "--latex": args.latex, "--json": args.json}
    outputs = output_files(flags, {"MODEL": args.model if Path(args.model).is_file() else None})
    model, shape = _load(args.model, _shape(args.input_shape))
    options = _options(args, ("sparse", "opset", "max_bytes"))
    if args.dtype:
        options["dtype"] = getattr(_torch(), args.dtype)
    with tempfile.TemporaryDirectory(prefix="symconv-export-") as work:
        export = to_onnx(model, shape, Path(work) / "mlp.onnx", **options)
        cert = certificate(model, export, **_options(args, ("max_terms", "network_terms")))
        contents: dict[str, Any] = {"--mlp": export.path.read_bytes()}
    # the files' own names in what they say, not the temporary one
    cert = dataclasses.replace(cert, export=dataclasses.replace(export, path=outputs["--mlp"]))
    if args.json:
        contents["--json"] = json.dumps(certificate_json(cert), indent=2, ensure_ascii=False) + "\n"
    if args.latex or args.certificate:
        tex = certificate_latex(cert)
        if args.latex:
            contents["--latex"] = tex
        if args.certificate:
            contents["--certificate"] = pdf_bytes(tex, "--certificate", args.certificate, args.engine)
    written = write_outputs({flag: (outputs[flag], content) for flag, content in contents.items()})
    print(cert.summary())
    report_written(written)   # after the verdict, as `symconv prove` does
    return 0 if cert.holds else 1
