"""Agreement of general theorems with symconv's concrete forms at the drawn sizes.

At every random instance the general entry formulas are evaluated entry by entry (shape
included) and compared with the matrices the concrete core builds from the same integers —
``symconv.toeplitz``, ``symconv.im2col``/``kernel_matrix``, ``symconv.toeplitz(…)ᵀ·vec γ`` and
``conv_transpose`` — so the general theorems and the concrete core cannot drift apart. The DFT
theorem is compared in the ring ℤ[X]/(X^n − 1) with symconv.toeplitz and, where the sizes
divide 24, with symconv.spectral's exact blocks D_f = Λ(ω^{−f}).
Each comparison returns None, or a one-line description of the first disagreement. The loops
check the derivation's deadline (``evaluate.check_deadline``) as they go.
"""

from __future__ import annotations

from itertools import product
from math import prod

import numpy as np
import sympy as sp

from ..errors import SpecError
from ..spec import ConvSpec
from .cyclic import CyclicElement
from .evaluate import EvaluationError, check_deadline, evaluate


def tensor_array(env, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """The instance's tensor ``name`` as an object array."""
    lookup = env.tensors[name]
    array = np.empty(shape, dtype=object)
    for index in product(*(range(n) for n in shape)):
        array[index] = lookup(index)
    return array


def compare_matrix(lookup, core: sp.MatrixBase, shape: tuple[int, int], name: str) -> str | None:
    """lookup((r, c)) (a general formula) against the core's matrix, shape first."""
    if tuple(shape) != tuple(core.shape):
        return f"{name} has shape {tuple(shape)} by the general formula, {core.shape} in symconv"
    for (r, c), expected in np.ndenumerate(np.array(core.tolist(), dtype=object)):
        if c == 0:
            check_deadline()
        try:
            value = lookup((r, c))
        except EvaluationError as error:
            return f"{name}[{r}, {c}]: {error}"
        if value != expected:
            return f"{name}[{r}, {c}] = {value} by the general formula, {expected} in symconv"
    return None


def compare_toeplitz(instance, setting) -> str | None:
    """T from the entry formula against symconv.toeplitz."""
    from ..forms import toeplitz
    layer, env = setting.layer, instance.env()
    spec = layer.spec(instance.values)
    core = toeplitz(spec, tensor_array(env, str(layer.w.label), spec.weight_shape))
    shape = (int(evaluate(layer.n_out, env)), int(evaluate(layer.n_in, env)))
    return compare_matrix(env.tensors[str(layer.T.label)], core, shape, "T")


def compare_im2col(instance, setting, order: str, p_def, k_def) -> str | None:
    """P and K from the general entry formulas against symconv.im2col / kernel_matrix."""
    from ..forms import im2col, kernel_matrix
    layer, env = setting.layer, instance.env()
    spec = layer.spec(instance.values)
    x = tensor_array(env, str(layer.x.label), spec.input_shape)
    w = tensor_array(env, str(layer.w.label), spec.weight_shape)
    for name, definition, core in (("P", p_def, im2col(spec, x, order)),
                                   ("K", k_def, kernel_matrix(spec, w, order))):
        shape = tuple(int(evaluate(sp.Mul(*(r for _, r in slot)), env)) for slot in definition.slots)
        problem = compare_matrix(env.tensors[name], core, shape, name)
        if problem:
            return problem
    return None


def compare_transpose(instance, setting) -> str | None:
    """vec z by the general formula against symconv.toeplitz(spec, w)ᵀ·vec γ, and against
    symconv's conv_transpose where PyTorch has an output_padding restoring the input size."""
    from ..forms import toeplitz
    layer, env = setting.layer, instance.env()
    spec = layer.spec(instance.values)
    w = tensor_array(env, str(layer.w.label), spec.weight_shape)
    gamma = tensor_array(env, str(layer.output_gradient.label), spec.output_shape)
    expected = np.array(toeplitz(spec, w).tolist(), dtype=object).T.dot(gamma.reshape(-1))
    lookup = env.tensors[str(layer.transposed_output_vector.label)]
    z = [lookup((column,)) for column in range(len(expected))]
    check_deadline()
    for column, (value, got) in enumerate(zip(expected, z)):
        if got != value:
            return f"(T^T gamma)[{column}] = {value} in symconv, {got} by the general formula"
    scattered = _conv_transpose(spec, gamma, w)
    if scattered is not None and list(scattered.reshape(-1)) != z:
        return "z by the general formula differs from symconv.forms.transpose.conv_transpose"
    return None


def _conv_transpose(spec, gamma, w):
    """conv_transpose at the output_padding that restores the input size, or None."""
    from ..forms.transpose import conv_transpose, transposed_size
    try:
        padding = tuple(n - b for n, b in zip(spec.input_size, transposed_size(spec, 0)))
        return conv_transpose(spec, gamma, w, output_padding=padding)
    except SpecError:
        return None


def compare_padding(instance, setting, t0, rp) -> str | None:
    """T (the mode's), T0 (no padding, on the padded input) and R (from the core's padding
    map ``AxisPattern.source``) by the general formulas against symconv, and T = T0·R in symconv."""
    from ..forms import toeplitz
    problem = compare_toeplitz(instance, setting)
    if problem:
        return problem
    layer, env = setting.layer, instance.env()
    spec = layer.spec(instance.values)
    w = tensor_array(env, str(layer.w.label), spec.weight_shape)
    padded = tuple(n + b + a for n, (b, a) in zip(spec.input_size, spec.padding))
    valid = ConvSpec(spec.in_channels, spec.out_channels, spec.kernel_size, padded,
                     stride=spec.stride, dilation=spec.dilation, groups=spec.groups, bias=False)
    core_t0 = toeplitz(valid, w)
    core_r = padding_matrix(spec)
    if core_t0 * core_r != toeplitz(spec, w):
        return "symconv.toeplitz differs from T0·R built by symconv"
    for name, definition, matrix in (("T0", t0, core_t0), ("Rp", rp, core_r)):
        shape = tuple(int(evaluate(sp.Mul(*(r for _, r in slot)), env)) for slot in definition.slots)
        problem = compare_matrix(env.tensors[name], matrix, shape, name)
        if problem:
            return problem
    return None


def padding_matrix(spec) -> sp.SparseMatrix:
    """R[(c, r), (c, i)] = Π_a [src_a(r_a − p_a) = i_a], src from ``spec.pattern``'s axes."""
    axes = spec.pattern.axes
    padded = [axis.size + axis.pad_before + axis.pad_after for axis in axes]
    entries = {}
    rows_per_channel, cols_per_channel = int(np.prod(padded)), int(np.prod(spec.input_size))
    for c in range(spec.in_channels):
        for flat, position in enumerate(product(*(range(n) for n in padded))):
            source = [int(axis.source(r - axis.pad_before)) for axis, r in zip(axes, position)]
            column = int(np.ravel_multi_index(source, spec.input_size))
            entries[(c * rows_per_channel + flat, c * cols_per_channel + column)] = 1
    return sp.SparseMatrix(spec.in_channels * rows_per_channel,
                           spec.in_channels * cols_per_channel, entries)


def _dft_parts(instance, setting):
    """(spec, env, orders, Λ(X) as a C_out × C_in object array of ring elements)."""
    layer, env = setting.layer, instance.env()
    spec = layer.spec(instance.values)
    orders = tuple(spec.input_size)
    lookup = env.tensors[str(setting.names.Lambda.label)]
    lam = np.empty((spec.out_channels, spec.in_channels), dtype=object)
    for o, c in np.ndindex(*lam.shape):
        value = lookup((o, c))
        lam[o, c] = value if isinstance(value, CyclicElement) else CyclicElement(
            orders, {(0,) * len(orders): value})
    return spec, env, orders, lam


def compare_dft(instance, setting) -> str | None:
    """T·(ν ⊗ X^i) with T from symconv.toeplitz against X^j·Σ_c Λ[o, c](X)·ν_c, every row."""
    from ..forms.toeplitz import toeplitz_entries
    try:
        spec, env, orders, lam = _dft_parts(instance, setting)
    except EvaluationError as error:
        return f"Lambda: {error}"
    w = tensor_array(env, str(setting.layer.w.label), spec.weight_shape)
    nu = tensor_array(env, str(setting.names.nu.label), (spec.in_channels,))
    positions = list(product(*(range(n) for n in orders)))
    monomial = [CyclicElement(orders, {i: 1}) for i in positions]
    N = len(positions)
    rows = {}
    for (row, column), value in toeplitz_entries(spec, w).items():
        c, i = divmod(column, N)
        rows[row] = rows.get(row, 0) + value * nu[c] * monomial[i]
    for o, j in product(range(spec.out_channels), range(N)):
        check_deadline()
        expected = monomial[j] * sum((lam[o, c] * nu[c] for c in range(spec.in_channels)), 0)
        got = rows.get(o * N + j, 0)
        if expected != got:
            return (f"row (o={o}, j={positions[j]}): T (nu (x) X^i) = {got} by symconv.toeplitz, "
                    f"X^j Lambda nu = {expected} by the general formula")
    return None


SPECTRAL_BUDGET = 4096
"""Largest N²·C_out·C_in compared with the exact (SymPy) block diagonalisation per instance."""


def spectral_applies(instance, setting) -> bool:
    """Every n_a divides 24 (exact roots) and the exact blocks are cheap enough to build."""
    from ..spectral import EXACT_SIZES
    values, layer = instance.values, setting.layer
    sizes = [values[n] for n in layer.n]
    channels = values[layer.G] ** 2 * values[layer.Ci] * values[layer.Co]  # C_out·C_in
    return all(n in EXACT_SIZES for n in sizes) and prod(sizes) ** 2 * channels <= SPECTRAL_BUDGET


def compare_spectral(instance, setting) -> str | None:
    """D_f of symconv.spectral.dft_block_diagonalisation (exact) against Λ(X) at
    X_a ↦ ω_a^{−f_a} (a ring homomorphism onto Q(i, √2, √3)), every frequency f."""
    from ..spectral import dft_block_diagonalisation, roots_of_unity
    try:
        spec, env, orders, lam = _dft_parts(instance, setting)
    except EvaluationError as error:
        return f"Lambda: {error}"
    w = tensor_array(env, str(setting.layer.w.label), spec.weight_shape)
    blocks = dft_block_diagonalisation(spec, w, exact_roots=True).blocks
    for k, f in enumerate(product(*(range(n) for n in orders))):
        check_deadline()
        tables = tuple(tuple(roots_of_unity(n)[(-fa * e) % n] for e in range(n))
                       for fa, n in zip(f, orders))
        for o, c in np.ndindex(*lam.shape):
            value = lam[o, c].evaluate_at(tables)
            if sp.expand(value - blocks[k, o, c]) != 0:
                return (f"D_f[{o}, {c}] at f={f}: {blocks[k, o, c]} in symconv.spectral, "
                        f"{sp.expand(value)} = Lambda(omega^-f) by the general formula")
    return None
