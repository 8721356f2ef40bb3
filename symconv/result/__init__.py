"""The result model: what a proof compares (``compare``), the user-supplied matrices it checks
(``supplied``) and one type per kind of result (``kinds``). A leaf of the package: it imports no
prover (``proof``, ``backends``, ``converse``, ``spectral``, ``interop``) and no LaTeX; results
print themselves through ``symconv.registry``, which ``symconv.latex`` fills.
"""

from .compare import (
                      COMPARISONS,
                      VARIANTS,
                      Comparison,
                      Counterexample,
                      comparison,
                      counterexample_of,
                      first_difference,
                      first_entry_difference,
)
from .kinds import (
                      BlockDiagonalisationProof,
                      Conv1x1AsFCProof,
                      ConverseProof,
                      ConvProof,
                      FCAsConvProof,
                      NetworkResult,
                      PrintsItself,
                      Proof,
                      Result,
                      TransposeProof,
                      adjoint_name,
                      adjoint_note,
)
from .supplied import WEIGHTS_ONLY, Supplied, check_supplied, compare_supplied, renamed_keyword

__all__ = ["COMPARISONS", "VARIANTS", "WEIGHTS_ONLY", "BlockDiagonalisationProof", "Comparison", "Conv1x1AsFCProof",
           "ConvProof", "ConverseProof", "Counterexample", "FCAsConvProof", "NetworkResult", "PrintsItself", "Proof",
           "Result", "Supplied", "TransposeProof", "adjoint_name", "adjoint_note", "check_supplied",
           "compare_supplied", "comparison", "counterexample_of", "first_difference", "first_entry_difference",
           "renamed_keyword"]
