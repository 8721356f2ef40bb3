"""LaTeX output: expressions, matrices, proof documents, figures and PDF builds.

    latex_expr(expr)           a polynomial in x_{c,i,j}, w_{o,c,p,q}, b_{o}, terms in numeric order
    latex_matrix(M, ...)       zeros as \\cdot, elision, block structure
    standalone(body), fragment(body)   a complete article / a pasteable fragment
    proof_to_latex(proof, ...) any symconv result as a document (``Result.to_latex``)

Importing this package registers the report builder of every kind of result (``symconv.latex.proof``
for ``prove``, ``symconv.latex.results`` for the others) in ``symconv.registry``, by type.
"""

from . import results  # noqa: F401 - registers the report builders of the other kinds
from .document import fragment, standalone
from .expr import latex_expr
from .matrix import latex_matrix
from .proof import proof_to_latex

__all__ = ["fragment", "latex_expr", "latex_matrix", "proof_to_latex", "standalone"]
