"""What every general theorem sets up: the user's claimed expressions, the statement's
hypotheses and their inequality atoms, the output sizes and the definitions the LaTeX lists."""

from __future__ import annotations

import sympy as sp

from ...errors import SpecError
from .. import inputs
from ..expr import SourceMap, bound_apart, condition_atoms
from ..rules import Definition, flatten
from ..setting import Layer

WHOLE_MATRIX_BUDGET = 600
"""Cost budget (setting.DrawRanges) of an instance of a theorem whose every step sums over the
whole of T (transpose), over T₁ per entry of T₂ (nonlinear) or compares R, of size ∏n·∏(n+p+q)
(padding)."""


def claimed(value, parameter: str) -> sp.Expr | None:
    """A user's expression (an entry, a source map, …) validated as one exact expression."""
    # binders met twice or named like a free symbol are renamed apart; the others keep their
    # names, which the derivation's steps (exchange order) refer to
    return None if value is None else bound_apart(inputs.exact_expression(value, parameter))


def hypothesis_atoms(hypotheses) -> list[sp.Expr]:
    """The atoms a ≥ 0 of the inequalities among ``hypotheses`` (``expr.condition_atoms``)."""
    atoms = []
    for h in hypotheses:
        atoms += condition_atoms(h)
    return atoms


def inequality_atoms(hypotheses) -> list[sp.Expr]:
    """``hypothesis_atoms`` of the hypotheses that are not equalities."""
    return hypothesis_atoms([h for h in hypotheses if not isinstance(h, sp.Eq)])


def statement_hypotheses(layer: Layer) -> list[sp.Basic]:
    """The sizes' and the row indices' hypotheses (a statement about one row of T)."""
    return layer.size_hypotheses() + layer.index_hypotheses()


def size_definitions(layer: Layer, out_sizes) -> list[tuple[sp.Basic, sp.Basic, str]]:
    """m_a = its formula, for the LaTeX definitions."""
    return [(m, size, "output size") for m, size in zip(layer.m, out_sizes)]


def default_out_sizes(layer: Layer) -> list[sp.Expr]:
    """m_a by PyTorch's formula, per axis."""
    return [layer.out_size(a) for a in range(layer.dims)]


def claimed_out_sizes(layer: Layer, out_size) -> list[sp.Expr]:
    """The claimed output sizes ``out_size`` (one expression per axis), PyTorch's if None."""
    if out_size is None:
        return default_out_sizes(layer)
    sizes = list(out_size) if isinstance(out_size, (list, tuple)) else [out_size]
    if len(sizes) != layer.dims:
        raise SpecError("out_size", out_size, f"must give one expression per axis ({layer.dims})")
    return [inputs.exact_expression(s, "out_size") for s in sizes]


def tensor_definitions(*definitions: Definition) -> list[tuple[sp.Basic, sp.Basic, str]]:
    """base[slots] = body of tensor definitions (T's entry, the generator Γ, …), for the LaTeX
    definitions: each slot its digits in mixed radix."""
    return [(d.base[tuple(flatten([digit for digit, _ in slot], [radix for _, radix in slot])
                          for slot in d.slots)], d.body, d.text or f"definition of {d.name}")
            for d in definitions]


def source_definitions(layer: Layer) -> list[tuple[sp.Basic, sp.Basic, str]]:
    """src(u)'s case table (or u mod n) for the LaTeX definitions."""
    u, n = Layer(1).u[0], Layer(1).n[0]
    source = layer.entry_source(0, u).xreplace({layer.n[0]: n})
    table = source.piecewise() if isinstance(source, SourceMap) else source
    while isinstance(table, SourceMap):
        table = table.piecewise()
    return [] if table == u else [(source, table, f"{layer.padding_mode} padding map")]


def axis_suffix(layer: Layer, a: int) -> str:
    """' (axis a)' in a lemma's name when there are several axes."""
    return f" (axis {a + 1})" if layer.dims > 1 else ""
