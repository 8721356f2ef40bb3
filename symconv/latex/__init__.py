"""LaTeX output: expressions, matrices, proof documents, figures and PDF builds.

    latex_expr(expr)           a polynomial in x_{c,i,j}, w_{o,c,p,q}, b_{o}, terms in numeric order
    latex_matrix(M, ...)       zeros as \\cdot, elision, block structure
    standalone(body), fragment(body)   a complete article / a pasteable fragment
    proof_to_latex(proof, ...) a concrete proof as a document (``Proof.to_latex``)
"""

from .document import fragment, standalone
from .expr import latex_expr
from .matrix import latex_matrix
from .proof import proof_to_latex

__all__ = ["fragment", "latex_expr", "latex_matrix", "proof_to_latex", "standalone"]
