"""The DFT theorem for all sizes: with circular padding and stride 1 (output size = input size),
the Fourier vectors are eigenvectors of every channel block of T, and the DFT block-diagonalises
T with the C_out × C_in blocks Λ(z) of the kernel's DFT (Sedghi, Gupta & Long, ICLR 2019).

For z_a with z_a^{n_a} = 1 (any n_a-th roots of unity) and any channel vector ν,

    Σ_{c,i} T[(o, j), (c, i)]·ν_c·Π_a z_a^{i_a} = Π_a z_a^{j_a} · Σ_c Λ[o, c]·ν_c,
    Λ[o, c] = δ(⌊c/Ci⌋, g)·Σ_t w[o, c − g·Ci, t]·Π_a z_a^{d_a t_a − p_a}        (o = g·Co + h).

With z_a = ω_a^{−f_a} (ω_a = exp(−2πi/n_a)) these are symconv.spectral's blocks D_f.

The proof: substitute T's circular entry δ(i_a, (j_a + d_a t_a − p_a) mod n_a); eliminate
the sum over i (Kronecker delta); 0 ≤ u mod n ≤ n − 1 and u mod n = u − n·⌊u/n⌋ (division with
remainder); z^{n·q + r} = z^r (periodicity, z^n = 1); z^{a+b} = z^a·z^b (exponent rule, z a unit);
the definition of Λ. Concretely every step is evaluated exactly at z_a = X_a in the ring
ℤ[X]/(X^n − 1) (``cyclic``), which proves each instance for every root of unity at once; the
instances are also compared with symconv.toeplitz (T·(ν ⊗ X^i) in the ring) and, where every
n_a divides 24, with symconv.spectral's exact block diagonalisation.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from functools import partial
from types import SimpleNamespace

import sympy as sp

from . import core, notation, rules
from .cyclic import CyclicElement
from .derivation import DEADLINE, Derivation, Instance, Prover
from .evaluate import array_tensor
from .expr import brackets
from .rules import Definition
from .setting import ConvSetting, Layer, Tensors, axis_names, random_data
from .theorems import circular_entry_steps, claimed
from .theorems.common import inequality_atoms, size_definitions, tensor_definitions


def dft_symbols(dims: int = 1) -> SimpleNamespace:
    """The symbols of the theorem: ``layer`` (a circular, same-size ``setting.Layer``), the
    roots z (one per axis), the channel vector ν and the symbol Λ; a claimed Λ (``symbol=``)
    is an expression in layer.w, layer.o, layer.g, layer.c, layer.Ci, layer.t, layer.d, layer.p
    and z, e.g. ``dft_symbols(1).default`` the true one."""
    layer = Layer(dims, padding_mode="circular", same=True)
    z = tuple(sp.Symbol(name) for name in axis_names("z", dims).split())
    Lam, nu = notation.tensor("Lambda"), notation.tensor("nu")
    default = layer.channel_block(layer.c, sp.Mul(*(
        za ** layer.position(a, j=0) for a, za in enumerate(z))))
    return SimpleNamespace(layer=layer, z=z, Lambda=Lam, nu=nu, default=default)


class DFTSetting(ConvSetting):
    """A circular layer with z_a = X_a ∈ ℤ[X]/(X^n − 1) and a random integer channel vector ν."""

    def __init__(self, names: SimpleNamespace, entry, out_sizes, extra):
        super().__init__(names.layer, entry, out_sizes, extra=extra)
        self.names = names

    def draw(self, rng: random.Random, pinned: Mapping[sp.Symbol, int] | None = None,
             data: str = "small") -> Instance:
        layer, values = self.layer, {}
        layer.draw_sizes(rng, values, pinned=pinned)
        layer.draw_indices(rng, values, self.out_sizes, pinned)
        orders = tuple(values[n] for n in layer.n)
        for axis, z in enumerate(self.names.z):
            values[z] = CyclicElement.generator(orders, axis)
        tensors = Tensors(layer, values, rng, data=data)
        channels = tensors.spec.in_channels
        nu = random_data(rng, (channels,), data)
        build = self._env_factory(values, tensors)

        def with_nu(symbolic: bool):
            env = build(symbolic)
            if symbolic:
                from ..symbols import tensor_symbols
                env.tensors[str(self.names.nu.label)] = array_tensor(
                    "nu", tensor_symbols("nu", (channels,)))
            else:
                env.tensors[str(self.names.nu.label)] = array_tensor("nu", nu)
            return env
        return Instance(values, with_nu, self.shown)


def dft(dims: int = 1, entry: sp.Expr | None = None, symbol: sp.Expr | None = None,
        instances: int = 6, seed: int = 0, deadline: float = DEADLINE) -> Derivation:
    """Σ_{c,i} T[(o,j),(c,i)]·ν_c·Π_a z_a^{i_a} = Π_a z_a^{j_a}·Σ_c Λ[o,c]·ν_c for z_a^{n_a} = 1
    (module docstring). ``entry`` claims T's entry (e.g. zero instead of circular padding),
    ``symbol`` claims Λ[o, c] (in the symbols of ``dft_symbols``)."""
    entry, symbol = claimed(entry, "entry"), claimed(symbol, "symbol")
    names = dft_symbols(dims)
    layer, z, Lam, nu = names.layer, names.z, names.Lambda, names.nu
    out_sizes = [layer.out_size(a) for a in range(dims)]
    lam = Definition(Lam, (((layer.g, layer.G), (layer.h, layer.Co)), ((layer.c, None),)),
                     names.default if symbol is None else brackets(symbol),
                     "the kernel's DFT (block of D)")
    setting = DFTSetting(names, entry, out_sizes, extra=(lam,))
    orders = [sp.Eq(za ** n, 1) for za, n in zip(z, layer.n)]
    hypotheses = layer.size_hypotheses() + layer.index_hypotheses() + orders
    atoms = inequality_atoms(hypotheses)
    channels = (layer.c, 0, layer.G * layer.Ci - 1)
    lhs = sp.Sum(layer.T[layer.row(), layer.column()] * nu[layer.c]
                 * sp.Mul(*(za ** i for za, i in zip(z, layer.i))),
                 channels, *((i, 0, n - 1) for i, n in zip(layer.i, layer.n)))
    rhs = sp.Mul(*(za ** j for za, j in zip(z, layer.j))) * sp.Sum(
        Lam[layer.o, layer.c] * nu[layer.c], channels)
    prover = Prover("dft", dims, f"with circular padding and stride 1, the Fourier vectors are "
                    f"eigenvectors of T's channel blocks: the DFT block-diagonalises T with the "
                    f"blocks Λ(z) of the kernel's DFT ({dims}-D)", setting, lhs, rhs, instances, seed,
                    hypotheses=hypotheses, claims=[entry, symbol], deadline=deadline)
    circular_entry_steps(prover, layer, out_sizes, setting.definitions, hypotheses)
    prover.step("exchange of finite sums", "all ranges are constant",
                partial(rules.exchange, order=(*layer.t, layer.c, *layer.i)))
    prover.step("Kronecker-delta elimination",
                "sum_{i=0}^{n-1} delta(i, u mod n) z^i = [0 <= u mod n <= n - 1] z^(u mod n)",
                partial(rules.delta_elimination, variables=layer.i))
    prover.step("division with remainder (range)", "0 ≤ u mod n ≤ n − 1 since n ≥ 1",
                partial(rules.remainder_bounds, atoms=atoms))
    prover.step("division with remainder", "u mod n = u − n·⌊u/n⌋",
                partial(rules.remainder, atoms=atoms))
    prover.step("periodicity of the root of unity", "z^(n·q + r) = (z^n)^q·z^r = z^r for an integer q",
                partial(rules.periodicity, bases=z, hypotheses=hypotheses, atoms=atoms))
    prover.step("exponent rule", "z^(j + d·t − p) = z^j·z^(d·t − p), z a unit (z^n = 1)",
                partial(rules.exponent_split, parts=dict(zip(z, layer.j)), hypotheses=hypotheses,
                        atoms=atoms))
    prover.step("definition of the kernel's DFT",
                "Λ[o, c] = δ(⌊c/Ci⌋, g)·Σ_t w[o, c − g·Ci, t]·Π z^(d·t − p)",
                partial(rules.unfold, definition=lam, digits=((layer.g, layer.h), (layer.c,))),
                target=rhs, two_sided=True)
    prover.core("symconv.toeplitz (T applied to ν_c X^i, exactly modulo X^n − 1)",
                partial(core.compare_dft, setting=setting))
    prover.core("symconv.spectral.dft_block_diagonalisation (exact, sizes dividing 24)",
                partial(core.compare_spectral, setting=setting),
                applies=partial(core.spectral_applies, setting=setting))
    note = ("Every step is evaluated exactly at z = X in ℤ[X]/(X^n − 1) (integer polynomials "
            "modulo X^n − 1), which implies it for every n-th root of unity z. With "
            "z = exp(2πi·f/n) the vectors (z^i)_i are the DFT vectors: T is block-diagonalised "
            "by the DFT, with the C_out × C_in blocks Λ(z).")
    return prover.finish(size_definitions(layer, out_sizes)
                         + tensor_definitions(setting.definitions.of(layer.T), lam), notes=[note],
                         notation=[((layer.g, layer.h), (layer.G, layer.Co)), *layer.flat_notation])
