"""Circular padding and the DFT: T is multi-level block circulant and the DFT block-diagonalises it.

With circular padding, stride 1 and output size = input size n (p_before + p_after = d·(K − 1)
on every axis), the layer is a circular cross-correlation with the *kernel symbol*

    h[o, c, m] = T[(o, 0), (c, m)] = Σ_{t : src(0, t) = m} w[o, c, τ(t)]      (read off the pattern)
    T[(o, out), (c, i)] = h[o, c, (i − out) mod n]                             (multi-level block circulant)

Let F[f, i] = Π_a ω_a^{f_a·i_a}, ω_a = exp(−2πi/n_a), the (unnormalised) multi-dimensional DFT,
and U_C[(f, c), (c', i)] = [c = c']·F[f, i] (frequency-major rows). Then

    U_{C_out} · T = D · U_{C_in},   D = diag_f(D_f),   D_f[o, c] = Σ_m h[o, c, m]·exp(+2πi Σ_a f_a·m_a/n_a),

i.e. T = U_out⁻¹·D·U_in = (1/N)·U_out*·D·U_in (U*·U = N·I, N = ∏n; with the unitary F/√N this is
the familiar unitary similarity). The singular values of T are therefore the
union over frequencies f of the singular values of the C_out×C_in matrices D_f
(Sedghi, Gupta & Long, ICLR 2019).

Exact roots of unity, and why equality of expanded forms decides the proof. For n | 24 every
n-th root of unity lies in K = Q(ζ_24) = Q(i, √2, √3) (ζ_8 = (1 − i)/√2, ζ_12 = (√3 − i)/2,
ζ_24 = ((√6 + √2) − (√6 − √2)·i)/4, conjugates as written with ω = exp(−2πi/n)). K has degree 8
over Q with basis B = {1, √2, √3, √6} × {1, i}: √3 ∉ Q(√2), so [Q(√2, √3) : Q] = 4 with basis
{1, √2, √3, √6}, and i ∉ ℝ ⊃ Q(√2, √3) doubles it. Adjoining the weights as indeterminates keeps
B linearly independent over Q(w), so two polynomials in w with coefficients in K are equal iff,
for every monomial m and β ∈ B, their rational coefficients of m·β agree. SymPy reaches that
unique form: each root is built as a Q-combination of B (``roots_of_unity``); products of basis
elements evaluate automatically to a rational times a basis element (√2·√3 = √6, √2·√6 = 2√3,
√3·√6 = 3√2, √a·√a = a, i·i = −1); ``expand`` distributes, and Add collects equal m·β. So
``expand(a − b) == 0`` holds iff a = b in K[w] — a decision, not a heuristic. Other sizes need
other fields (ζ_5 needs √5 and nested √(10 + 2√5), ζ_7 a cubic irrationality) where SymPy's radicals
have no such unique form, so they are refused (SpecError); floats remain available (exact_roots=False).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from functools import cache
from math import prod
from numbers import Real

import numpy as np
import sympy as sp

from .connections import connections_of_rows
from .errors import SpecError, work_limit
from .forms.entries import binary_value, exact_matrix
from .forms.operands import add_terms, as_object_array
from .forms.toeplitz import column_index, row_index
from .forms.toeplitz import toeplitz as own_toeplitz
from .result import (
    BlockDiagonalisationProof,
    Supplied,
    check_supplied,
    compare_supplied,
    first_entry_difference,
    renamed_keyword,
)
from .spec import ConvSpec, boolean, check_spec
from .symbols import check_shape, symbols, to_canonical_weight

STATEMENT = ("U_out·T = D·U_in, so T = U_out⁻¹·D·U_in (U: the unnormalised DFT F on every channel; "
             "D block-diagonal: the kernel's DFT)")
"""What ``prove_block_diagonalisation`` proves; with one channel U = F and T = F⁻¹·D·F."""

EXACT_SIZES = (1, 2, 3, 4, 6, 8, 12, 24)
"""The sizes n | 24, whose roots of unity lie in Q(i, √2, √3), where expanded forms are canonical
(module docstring)."""


def require_circulant(spec: ConvSpec) -> None:
    """SpecError unless the layer is circular, stride 1, with output size = input size."""
    check_spec(spec)
    if spec.padding_mode != "circular":
        raise SpecError("padding_mode", spec.padding_mode,
                        "T is block circulant (diagonalised by the DFT) only with circular padding")
    if any(s != 1 for s in spec.stride):
        raise SpecError("stride", spec.stride, "T is block circulant only with stride 1 on every axis")
    if spec.output_size != spec.input_size:
        raise SpecError("padding", spec.padding,
                        f"T is square block circulant only when the output size equals the input size "
                        f"(p_before + p_after = dilation·(kernel − 1) on every axis); output "
                        f"{spec.output_size} ≠ input {spec.input_size}")


def kernel_symbol(spec: ConvSpec, w: object) -> np.ndarray:
    """h (C_out, C_in, *n): the first block row of T, h[o, c, m] = Σ_{t: src(0,t)=m} w[o, c, τ(t)]
    (zero for c outside the group of o): the scatter of w[a] to (o, i) over the connections
    (r, a, i) of the rows r = o·∏out at output position 0."""
    w = as_object_array("w", w)
    check_shape("w", w, spec.weight_shape, spec.layout)
    weights = to_canonical_weight(spec, w).reshape(-1)
    table = connections_of_rows(spec, np.arange(spec.out_channels) * prod(spec.output_size))
    collected: dict[tuple[int, int], list] = {}
    for o, i, a in zip(table.outputs()[0].tolist(), table.input.tolist(), table.weight.tolist()):
        collected.setdefault((o, i), []).append(weights[a])
    h = np.zeros((spec.out_channels, spec.in_channels * prod(spec.input_size)), dtype=object)
    for key, terms in collected.items():
        h[key] = add_terms(terms)
    return h.reshape(spec.out_channels, spec.in_channels, *spec.input_size)


def _frequencies(spec: ConvSpec) -> np.ndarray:
    """All (f_1, …, f_D) in row-major order, shape (N, D)."""
    return np.array(list(np.ndindex(*spec.input_size)), dtype=np.int64).reshape(-1, spec.dims)


def require_exact_sizes(input_size: tuple[int, ...], instead: str = "") -> None:
    """SpecError unless every size divides 24 (the exact roots of unity are canonical only there);
    ``instead`` ends the rule with what the caller offers instead (its own parameters only)."""
    if any(n not in EXACT_SIZES for n in input_size):
        raise SpecError("input_size", tuple(input_size),
                        f"exact roots of unity are used only for sizes dividing 24, {EXACT_SIZES} (their "
                        f"roots lie in Q(i, √2, √3), where expanded forms are canonical){instead}")


@cache
def roots_of_unity(n: int) -> tuple[sp.Expr, ...]:
    """(ω^0, …, ω^(n−1)), ω = exp(−2πi/n), as exact Q-combinations of {1, √2, √3, √6} × {1, i}
    (n in EXACT_SIZES; SpecError otherwise).

    >>> roots_of_unity(8)[1]
    sqrt(2)/2 - sqrt(2)*I/2
    """
    require_exact_sizes((n,))
    return tuple(sp.expand(sp.exp(-2 * sp.pi * sp.I * sp.Rational(k, n)), complex=True) for k in range(n))


def _root(spec: ConvSpec, exponents: np.ndarray) -> sp.Expr:
    """Π_a ω_a^{e_a}, ω_a = exp(−2πi/n_a), expanded to its canonical form in Q(i, √2, √3)."""
    value = sp.Integer(1)
    for e, n in zip(exponents, spec.input_size):
        value *= roots_of_unity(n)[int(e) % n]
    return sp.expand(value)


@dataclass(frozen=True)
class BlockDiagonalisation:
    """U_{C_out}·T = D·U_{C_in}: ``blocks[f]`` is D_f (C_out × C_in); with ``exact_roots`` exact
    roots of unity (SymPy radicals), else floating point."""

    spec: ConvSpec
    blocks: np.ndarray
    exact_roots: bool

    @property
    def exact(self) -> bool:
        """The former name of ``exact_roots`` (deprecated: it read like ``backend="exact"``)."""
        warnings.warn("BlockDiagonalisation.exact is deprecated: read exact_roots", DeprecationWarning, stacklevel=2)
        return self.exact_roots

    def dft(self, side: str) -> np.ndarray:
        """U_C[(f, c), (c', i)] = [c = c']·F[f, i] for side "input" (columns in vec(x) order, C = C_in)
        or "output" (columns in vec(y) order, C = C_out), both in the spec's layout."""
        spec, freqs = self.spec, _frequencies(self.spec)
        channels, index = ((spec.in_channels, column_index) if side == "input"
                           else (spec.out_channels, row_index))
        n = len(freqs)
        if self.exact_roots:
            F = np.array([[_root(spec, f * i) for i in freqs] for f in freqs], dtype=object)
        else:
            phase = sum(np.outer(freqs[:, a], freqs[:, a]) / spec.input_size[a] for a in range(spec.dims))
            F = np.exp(-2j * np.pi * phase)
        U = np.zeros((n * channels, n * channels), dtype=F.dtype)
        for c in range(channels):
            U[np.ix_(np.arange(n) * channels + c, [index(spec, c, i) for i in range(n)])] = F
        return U

    def block_diagonal(self) -> np.ndarray:
        """D = diag_f(D_f), shape (N·C_out, N·C_in), frequency-major."""
        n, c_out, c_in = self.blocks.shape
        D = np.zeros((n * c_out, n * c_in), dtype=self.blocks.dtype)
        for f in range(n):
            D[f * c_out:(f + 1) * c_out, f * c_in:(f + 1) * c_in] = self.blocks[f]
        return D


def dft_block_diagonalisation(spec: ConvSpec, w: object, exact_roots: bool | None = None, *,
                              exact: bool | None = None) -> BlockDiagonalisation:
    """The DFT block-diagonalisation of a circular, stride-1 layer's T (module docstring):
    D_f[o, c] = Σ_m h[o, c, m]·exp(+2πi Σ_a f_a·m_a/n_a).

    ``exact_roots`` (default: True unless w holds floats; ``exact`` is its deprecated former name)
    uses exact roots of unity and needs every input size in EXACT_SIZES; otherwise D_f =
    N·ifftn(h) in floating point. (Both are exact about T: the flag picks the arithmetic of the
    roots of unity, not a proof backend.)
    """
    require_circulant(spec)
    exact_roots = renamed_keyword("exact_roots", exact_roots, "exact", exact)
    w = as_object_array("w", w)
    check_shape("w", w, spec.weight_shape, spec.layout)
    if exact_roots is None:
        exact_roots = not any(isinstance(v, (float, np.floating, complex)) for v in w.flat)
    exact = boolean("exact_roots", exact_roots)
    # exact algebra on 0.1 would be about 0.1000000000000000055…: refuse it, as prove does
    h = kernel_symbol(spec, exact_matrix("w", w) if exact else w)
    axes = tuple(range(2, 2 + spec.dims))
    if not exact:
        try:
            numbers = h.astype(np.complex128)
        except (TypeError, OverflowError):  # a symbol, or an int beyond float64
            raise SpecError("exact_roots", exact, "floating point needs numbers (within float64) as weights; "
                            "symbolic weights need exact_roots=True") from None
        blocks = np.fft.ifftn(numbers, axes=axes) * prod(spec.input_size)
        return BlockDiagonalisation(spec, np.moveaxis(blocks, axes, range(spec.dims)).reshape(
            -1, spec.out_channels, spec.in_channels), exact_roots=False)
    require_exact_sizes(spec.input_size, "; pass exact_roots=False for floats")
    freqs = _frequencies(spec)
    hm = h.reshape(spec.out_channels, spec.in_channels, -1)
    blocks = np.empty((len(freqs), spec.out_channels, spec.in_channels), dtype=object)
    for k, f in enumerate(freqs):
        phases = [_root(spec, -f * m) for m in freqs]
        for o, c in np.ndindex(spec.out_channels, spec.in_channels):
            blocks[k, o, c] = sp.expand(add_terms([hv * ph for hv, ph in zip(hm[o, c], phases) if hv != 0] or [0]))
    return BlockDiagonalisation(spec, blocks, exact_roots=True)


def singular_values(spec: ConvSpec, weight: object) -> np.ndarray:
    """T's singular values, descending: the union over frequencies f of the singular values of the
    C_out×C_in matrices D_f of the kernel's DFT (Sedghi, Gupta & Long, ICLR 2019).

    Needs circular padding, stride 1 and output size = input size (SpecError otherwise).
    ``weight`` is a NumPy array or a torch tensor of the spec's weight shape.
    """
    require_circulant(spec)
    if hasattr(weight, "detach"):  # a torch tensor, without importing torch
        weight = weight.detach().cpu().numpy()
    w = _real_weights(spec, weight)
    with np.errstate(all="ignore"):  # an overflow is reported below, by name
        blocks = dft_block_diagonalisation(spec, w.astype(object), exact_roots=False).blocks
        values = np.linalg.svd(blocks, compute_uv=False).reshape(-1) if np.isfinite(blocks).all() else None
    if values is None or not np.isfinite(values).all():
        raise SpecError("weight", f"max |w| = {np.abs(w).max():g}", "the DFT or the singular values "
                        "overflow float64; scale the weights down (σ(c·T) = |c|·σ(T))")
    return np.sort(values)[::-1]


def _real_weights(spec: ConvSpec, weight: object) -> np.ndarray:
    """``weight`` as a float64 array of the spec's weight shape, or SpecError (TypeError for text)
    naming the first entry that is not a finite real number: singular values are computed in
    floating point, so symbols, NaN and infinities have none.

    >>> spec = ConvSpec(1, 1, kernel_size=3, input_size=4, padding=1, padding_mode="circular")
    >>> singular_values(spec, [[[1, sp.Symbol("a"), 0]]])  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: weight[0, 0, 1]=a: singular values need finite real numbers (floats); for symbolic
    weights use dft_block_diagonalisation or prove_block_diagonalisation
    """
    array = as_object_array("weight", weight)
    check_shape("weight", array, spec.weight_shape, spec.layout)
    rule = ("singular values need finite real numbers (floats); for symbolic weights use "
            "dft_block_diagonalisation or prove_block_diagonalisation")
    for index, value in np.ndenumerate(array):
        where = f"weight[{', '.join(map(str, index))}]"
        if isinstance(value, (str, bytes)):
            raise TypeError(f"{where}={value!r}: text is not evaluated; {rule}")
        real = isinstance(value, (Real, sp.Number)) and not isinstance(value, (bool, np.bool_))
        if real and value == value and abs(value) < sp.oo and not np.isfinite(_float(value)):
            text = str(value)
            raise SpecError(where, text if len(text) <= 30 else f"{text[:20]}… ({len(text)} digits)",
                            f"is beyond float64 (|value| < 1.8e308); {rule}")
        if not real or not np.isfinite(_float(value)):
            raise SpecError(where, value, rule)
    return array.astype(np.float64)


def _float(value: Real | sp.Number) -> float:
    """``float(value)``, or inf when the value is beyond float64 (an int like 10**400)."""
    try:
        return float(value)
    except OverflowError:
        return float("inf")


def _same(a: object, b: object) -> bool:
    """Exact equality of two entries: the canonical expanded difference of their exact values
    (``binary_value``: a float is its binary rational, so np.float64(2**53) ≠ 2**53 + 1, which
    NumPy's ``==`` calls equal after rounding).

    >>> _same(np.float64(2**53), 2**53 + 1), _same(np.float32(0.5), sp.Rational(1, 2))
    (False, True)
    """
    if type(a) is int and type(b) is int:  # the common case, exact already
        return a == b
    return sp.expand(binary_value(a) - binary_value(b)) == 0


def is_block_circulant(spec: ConvSpec, T: object) -> bool:
    """True iff T (shape ``spec.toeplitz_shape``, rows/columns in the spec's vec order) is multi-level
    block circulant with C_out×C_in blocks: T[(o, out), (c, i)] = T[(o, 0), (c, (i − out) mod n)]
    on every axis. Works on SymPy matrices (canonical comparison) and numeric arrays (exact ==)."""
    check_spec(spec)
    matrix = as_object_array("T", T)   # a SymPy matrix of SymPy's own class, as SymPy made it
    check_shape("T", matrix, spec.toeplitz_shape, spec.layout)
    if spec.output_size != spec.input_size:
        return False
    n = prod(spec.input_size)
    rows = [[row_index(spec, o, out) for out in range(n)] for o in range(spec.out_channels)]
    cols = [[column_index(spec, c, i) for i in range(n)] for c in range(spec.in_channels)]
    canonical = matrix[np.ix_(np.ravel(rows), np.ravel(cols))].reshape(
        spec.out_channels, n, spec.in_channels, *spec.input_size)
    first = canonical[:, 0]
    for out, shift in enumerate(np.ndindex(*spec.input_size)):
        rolled = np.roll(first, shift, axis=tuple(range(2, 2 + spec.dims)))
        if not all(_same(a, b) for a, b in zip(canonical[:, out].flat, rolled.flat)):
            return False
    return True


MAX_DFT_WORK = 1_000_000
"""Default bound on the entry products of the two dense exact matrix products of a DFT proof
(about 10–20 µs each on 2 cores: C_in = C_out = 2 on 8×8, 2·10⁶ products, takes 23 s)."""


def dft_work(spec: ConvSpec) -> int:
    """Entry products of U_{C_out}·T and D·U_{C_in}, dense (C·N)-square object matrices
    (N = ∏input_size): (C_out·N)²·C_in·N + C_out·N·(C_in·N)².

    >>> dft_work(ConvSpec(1, 1, 3, 4, padding=1, padding_mode="circular"))
    128
    """
    n = prod(spec.input_size)
    rows, cols = spec.out_channels * n, spec.in_channels * n
    return rows * rows * cols + rows * cols * cols


def prove_block_diagonalisation(spec: ConvSpec, *, toeplitz: sp.MatrixBase | None = None,
                                max_work: int = MAX_DFT_WORK,
                                toeplitz_matrix: sp.MatrixBase | None = None) -> BlockDiagonalisationProof:
    """Prove U_{C_out}·T = D·U_{C_in} on symbolic weights with exact roots of unity (input sizes
    in EXACT_SIZES), entry by entry as canonical expanded forms; ``toeplitz`` (as in ``prove``;
    ``toeplitz_matrix`` is its deprecated former name) replaces T. Above ``max_work`` entry
    products (``dft_work``) SpecError names the estimate before any work."""
    require_circulant(spec)
    require_exact_sizes(spec.input_size, "; a proof needs them (dft_block_diagonalisation(exact_roots=False) "
                        "and singular_values compute in floating point, without proof)")
    claimed = renamed_keyword("toeplitz", toeplitz, "toeplitz_matrix", toeplitz_matrix)
    work_limit("max_work", max_work, dft_work(spec), "input_size", spec.input_size,
               "an exact DFT proof multiplies dense matrices: about {} entry products")
    x, w, b = symbols(spec)
    supplied = [] if claimed is None else [Supplied.of(  # errors name the keyword the user passed
        "toeplitz" if toeplitz_matrix is None else "toeplitz_matrix", claimed, spec.toeplitz_shape, spec.layout,
        "toeplitz_matrix", lambda: own_toeplitz(spec, w), frozenset(w.flat), "the weights",
        "an FC weight matrix must be a polynomial in the weights only")]
    timings: dict[str, float] = {}
    # the supplied T uses the weights only; U_out·T = D·U_in; T is the layer's own
    found = check_supplied(supplied, frozenset(x.flat) | frozenset(w.flat) | frozenset(() if b is None else b))
    if found is None:
        start = time.perf_counter()
        diag = dft_block_diagonalisation(spec, w, exact_roots=True)
        T = own_toeplitz(spec, w) if claimed is None else supplied[0].value
        left = np.dot(diag.dft("output"), np.asarray(T.tolist(), dtype=object))
        right = np.dot(diag.block_diagonal(), diag.dft("input"))
        timings["build"] = time.perf_counter() - start
        start = time.perf_counter()
        found = first_entry_difference("dft", right, left) or compare_supplied(supplied)
        timings["dft"] = time.perf_counter() - start
    return BlockDiagonalisationProof(spec=spec, statement=STATEMENT, forms=("dft",), holds=found is None,
                                     counterexample=found, terms=spec.n_terms, outputs=prod(spec.toeplitz_shape),
                                     timings=timings, given={} if claimed is None else {"toeplitz": supplied[0].value})
