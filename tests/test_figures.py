"""Structure figures: drawn from the forms on exact integers, PDF/PNG/TikZ, includable in LaTeX."""

from __future__ import annotations

import numpy as np
import pytest

import symconv
from symconv.latex import proof_to_latex
from symconv.latex.build import compile_latex
from symconv.latex.document import standalone
from symconv.latex.figures import figure_files, structure_figure, structure_matrix, structure_tikz, write_figure

SPEC = symconv.ConvSpec(2, 2, 3, (5, 5), padding=1, groups=2)


def _pattern(M) -> np.ndarray:
    return np.array([[v != 0 for v in row] for row in np.array(M.tolist(), dtype=object)])


@pytest.mark.parametrize("spec", [SPEC, symconv.ConvSpec(1, 2, 3, 6, stride=2, padding=((2, 1),), layout="NHWC")])
def test_pictures_show_exactly_the_nonzeros_of_the_forms(spec):
    x, w, _ = symconv.symbols(spec)
    assert (structure_matrix(spec, "toeplitz") != 0).tolist() == _pattern(symconv.toeplitz(spec, w)).tolist()
    assert (structure_matrix(spec, "im2col") != 0).tolist() == _pattern(symconv.im2col(spec, x)).tolist()


def test_toeplitz_picture_values_are_the_kernel_taps():
    spec = symconv.ConvSpec(1, 1, 3, 4, bias=False)
    assert structure_matrix(spec).tolist() == [[1, 2, 3, 0], [0, 1, 2, 3]]
    flipped = symconv.ConvSpec(1, 1, 3, 4, bias=False, convention="convolution")
    assert structure_matrix(flipped).tolist() == [[3, 2, 1, 0], [0, 3, 2, 1]]


@pytest.mark.parametrize("suffix, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_figures_are_written_as_png_and_pdf(tmp_path, suffix, magic):
    for kind in ("toeplitz", "im2col"):
        path = write_figure(SPEC, tmp_path / f"{kind}.{suffix}", kind=kind)
        assert path.read_bytes().startswith(magic) and path.stat().st_size > 2000


def test_tikz_picture_compiles(tex, tmp_path):
    pictures = [structure_tikz(SPEC, kind) for kind in ("toeplitz", "im2col")]
    assert all(p.startswith(r"\begin{tikzpicture}") and r"\fill" in p for p in pictures)
    compile_latex(standalone("\n\n".join(pictures), packages=("amsmath", "tikz")), tmp_path / "tikz.pdf")


def test_proof_document_includes_figure_files_and_compiles(tex, tmp_path):
    names, files = figure_files(SPEC, fmt="pdf")
    source = proof_to_latex(symconv.prove(SPEC), figures=names)
    assert r"\includegraphics" in source and r"\label{symconv:fig-toeplitz}" in source
    assert all(files[name].startswith(b"%PDF") for name in names.values())
    compile_latex(source, tmp_path / "with-figures.pdf", extra_files=files)


def test_bad_figure_requests_raise_and_write_nothing(tmp_path):
    with pytest.raises(symconv.SpecError):
        write_figure(SPEC, tmp_path / "t.svg")
    with pytest.raises(symconv.SpecError):
        structure_figure(SPEC, "spectrum")
    with pytest.raises(symconv.SpecError):
        structure_tikz(SPEC, max_cells=10)
    assert list(tmp_path.iterdir()) == []
