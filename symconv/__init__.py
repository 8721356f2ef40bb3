"""symconv: machine-checked proofs that a convolutional layer is a fully connected layer with a
(multi-level) Toeplitz weight matrix, and the im2col matrix product.

>>> import symconv
>>> spec = symconv.ConvSpec(in_channels=2, out_channels=3, kernel_size=3, input_size=(5, 5))
>>> symconv.prove(spec).holds
True
"""

from .errors import SpecError
from .forms import conv, im2col, im2col_conv, kernel_matrix, toeplitz, toeplitz_conv
from .proof import Counterexample, Proof, prove
from .spec import ConvSpec
from .symbols import symbols

# Views that pull in heavier modules load on first use, so ``import symconv`` stays light.
_LAZY = {
    "prove_general": "symconv.general",
    "singular_values": "symconv.spectral",
    "conv_transpose": "symconv.forms.transpose",
    "input_gradient": "symconv.forms.transpose",
    "weight_gradient": "symconv.forms.transpose",
    "bias_gradient": "symconv.forms.transpose",
    "prove_transpose": "symconv.forms.transpose",
    "fc_as_conv": "symconv.converse",
    "conv1x1_as_fc": "symconv.converse",
}
_SUBMODULES = ("backends", "converse", "general", "interop", "latex", "spectral", "testing")


def __getattr__(name: str):
    import importlib
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"symconv.{name}")
    raise AttributeError(f"module 'symconv' has no attribute {name!r}")


__all__ = [
    "ConvSpec", "Counterexample", "Proof", "SpecError", "conv", "im2col", "im2col_conv",
    "kernel_matrix", "prove", "symbols", "toeplitz", "toeplitz_conv",
]
