"""LaTeX output: expressions, matrices, proof documents, figures and PDF builds."""
