"""symconv: machine-checked proofs that a convolutional layer is a fully connected layer with a
(multi-level) Toeplitz weight matrix, and the im2col matrix product.

>>> import symconv
>>> spec = symconv.ConvSpec(in_channels=2, out_channels=3, kernel_size=3, input_size=(5, 5))
>>> symconv.prove(spec).holds
True
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .errors import SpecError
from .registry import LOADERS as _PRINTER_LOADERS

if TYPE_CHECKING:  # the names below load on first use (see _LAZY)
    from .converse import conv1x1_as_fc, fc_as_conv
    from .diffing import diff
    from .forms import conv, im2col, im2col_conv, kernel_matrix, toeplitz, toeplitz_conv
    from .forms.transpose import bias_gradient, conv_transpose, input_gradient, prove_transpose, weight_gradient
    from .general import prove_general
    from .proof import prove
    from .result import Counterexample, Proof
    from .spec import ConvSpec
    from .spectral import singular_values
    from .symbols import symbols

# Every public name loads its module on first use, so that ``import symconv`` imports neither
# SymPy nor NumPy: the pytest plugin (entry point pytest11) is imported by every pytest session of
# an environment where symconv is installed, whether or not a test uses it.
_LAZY = {
    "ConvSpec": "symconv.spec",
    "symbols": "symconv.symbols",
    "conv": "symconv.forms", "im2col": "symconv.forms", "im2col_conv": "symconv.forms",
    "kernel_matrix": "symconv.forms", "toeplitz": "symconv.forms", "toeplitz_conv": "symconv.forms",
    "Counterexample": "symconv.result", "Proof": "symconv.result", "prove": "symconv.proof",
    "prove_general": "symconv.general",
    "singular_values": "symconv.spectral",
    "conv_transpose": "symconv.forms.transpose",
    "input_gradient": "symconv.forms.transpose",
    "weight_gradient": "symconv.forms.transpose",
    "bias_gradient": "symconv.forms.transpose",
    "prove_transpose": "symconv.forms.transpose",
    "fc_as_conv": "symconv.converse",
    "conv1x1_as_fc": "symconv.converse",
    "diff": "symconv.diffing",
}
_SUBMODULES = ("backends", "converse", "general", "interop", "latex", "spectral", "testing")


def _version() -> str:
    """The installed distribution's version: pyproject.toml is its one source."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("symconv")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"symconv.{name}")
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'symconv' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


class _Package(ModuleType):
    """The symconv module object. Loading the submodule ``symconv.symbols`` binds it as an
    attribute of its package, which would hide the public function ``symconv.symbols(spec)``
    of the same name; the function is kept (``import symconv.symbols`` still loads the module)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "symbols" and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def _register_latex_printers() -> None:
    """Results print through ``symconv.registry``, which the LaTeX package fills when imported: the
    package (not the results, which LaTeX imports) loads it on the first ``to_latex`` or display."""
    from . import latex  # noqa: F401 - importing it registers the printers


_PRINTER_LOADERS.append(_register_latex_printers)

# Literal, so linters and type checkers read it; tests/test_public_api.py keeps it equal to _LAZY's names.
__all__ = [
    "ConvSpec", "Counterexample", "Proof", "SpecError", "bias_gradient", "conv", "conv1x1_as_fc",
    "conv_transpose", "diff", "fc_as_conv", "im2col", "im2col_conv", "input_gradient", "kernel_matrix", "prove",
    "prove_general", "prove_transpose", "singular_values", "symbols", "toeplitz", "toeplitz_conv",
    "weight_gradient",
]
