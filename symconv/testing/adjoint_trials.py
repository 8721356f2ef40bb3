"""The numeric trials of a transposed convolution or backward pass, after its identity test (probe
mode) or its proof on symbols (symbolic mode): the families of the forward checker's exact trials
(``symconv.testing.trials``), each exact for a correct fn, every output compared exactly.

Each operand u is sent as m_u·2^-f_u, m_u a random integer numerator of at most ``bits`` bits.
Every output is homogeneous in its operands (``FACTORS``: y and ∂L/∂x are sums of w·g, ∂L/∂w of
x·g, ∂L/∂b of g; a transposed convolution's bias b is sent at y's scale), so it is the map of the
numerators times 2^-(Σ f over its factors): exact in fn's output dtype when the numerators of a
product have at most ``budget − bitlength(terms·n + 1)`` bits between them (every product and
partial sum of a correct fn is then a multiple of the scale below 2^budget, ``budget`` the
significand of the dtype fn returns). The families (batched fn: n samples in one call, 3 unless
said: every batch size from 1 to 4, and 17, so a fast path for one size is seen):

    balanced dyadic fractions           values up to ±2^5 with many fractional bits
    full-precision first, narrow second  a wide operand (about 2^20 with 20 + fraction bits) times a
    narrow first, full-precision second  narrow one, both ways: code that stages through float32
                                        differs (a batched fn: batches of 1 and 2)
    integer values                      a batch of EXACT_BATCH = 17 (a batch cut at 8 or 16 differs)
    values exact in float32             passed as float32 arrays (skipped if fn refuses them)
    int64 arrays                        a batch of 4 (skipped if fn refuses them)
    non-contiguous views                Fortran order, negative strides (``calls._strided``)

Symbolic mode's code may run on Python numbers only: when it raises on floats it gets the same
values as SymPy Rationals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp

from .adjoint_maps import Arrays
from .calls import _Raised, _strided
from .pit import SIGNIFICAND, expected_outputs
from .results import NotCheckable
from .targets import Target
from .trials import EXACT_BATCH, _exact_number

Evaluate = Callable[..., "Arrays | _Raised"]   # (values, what, optional)
FACTORS = {"y": ("g", "w"), "grad_x": ("w", "g"), "grad_w": ("x", "g"), "grad_b": ("g",)}
"""The operands whose product every term of an output is (a transposed convolution's b: at y's scale)."""
NARROW_BITS = 8      # the narrow operand of a full-precision trial
MAGNITUDE_BITS = 20  # wide and integer values reach ±2^20


@dataclass(frozen=True)
class Family:
    """One family: numerator bits and fraction bits per operand, the dtype sent, views, samples."""

    name: str
    bits: dict[str, int]
    fractions: dict[str, int]
    dtype: type = np.float64
    views: bool = False
    samples: int = 3
    may_refuse: bool = False


@dataclass(frozen=True)
class Mismatch:
    """Where fn differed from the map: the family, output name, index, fn's value, the map's."""

    trial: str
    output: str
    index: tuple[int, ...]
    value: object
    expected: Fraction


def families(target: Target, batched: bool, dtype: str) -> list[Family]:
    """The families for ``target`` when fn returns ``dtype`` (module docstring).

    >>> import symconv
    >>> from symconv.testing.adjoint_targets import gradients_target
    >>> [(f.name, f.bits["x"], f.bits["g"], f.samples) for f in families(gradients_target(
    ...     symconv.ConvSpec(2, 2, kernel_size=3, input_size=(6, 6))), True, "float64")][:5]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('balanced dyadic fractions', 22, 22, 3), ('full-precision first operands, narrow g', 36, 8, 1),
     ('narrow first operands, full-precision g', 8, 36, 2), ('integer values', 20, 20, 17),
     ('values exact in float32', 7, 7, 3)]
    """
    names = [o.name for o in target.operands if o.shape is not None]

    def family(name: str, a: int, c: int, fa: int, fc: int, **options: object) -> Family:
        bits = {u: (c if u == "g" else a) for u in names}        # g is in every product: w·g, x·g, g
        fractions = {u: (fc if u == "g" else fa) for u in names}
        if "b" in names:   # y's scale: the numerator bits of one product, its fraction bits
            bits["b"], fractions["b"] = min(a + c, 52), fa + fc
        return Family(name, bits, fractions, **options)  # type: ignore[arg-type]

    terms_bits = (target.terms * (EXACT_BATCH if batched else 1) + 1).bit_length()
    room = SIGNIFICAND.get(dtype, 53) - terms_bits
    half, wide = min(room // 2, MAGNITUDE_BITS + 5), room - NARROW_BITS
    out = []
    if half >= 2:
        base = family("balanced dyadic fractions", half, half, max(1, half - 5), max(1, half - 5))
        out.append(base)
        if wide >= 2:
            out += [family("full-precision first operands, narrow g", wide, NARROW_BITS,
                           max(1, wide - MAGNITUDE_BITS), NARROW_BITS // 2, samples=1),
                    family("narrow first operands, full-precision g", NARROW_BITS, wide,
                           NARROW_BITS // 2, max(1, wide - MAGNITUDE_BITS), samples=2)]
        out.append(family("integer values", min(half, MAGNITUDE_BITS), min(half, MAGNITUDE_BITS), 0, 0,
                          samples=EXACT_BATCH))
    if (single := (24 - terms_bits) // 2) >= 2:
        out.append(family("values exact in float32", single, single, max(1, single - 3), max(1, single - 3),
                          dtype=np.float32, may_refuse=True))
    if half >= 2:
        out += [Family("int64 arrays", {u: min(b, MAGNITUDE_BITS) for u, b in base.bits.items()},
                       dict.fromkeys(base.bits, 0), np.int64, samples=4, may_refuse=True),
                Family("non-contiguous views (Fortran order, negative strides)", base.bits, base.fractions,
                       views=True, may_refuse=True)]
    return out


def numeric_trials(evaluate: Evaluate, target: Target, batched: bool, seed: int, dtype: str = "float64",
                   numbers: Evaluate | None = None,
                   returned: Callable[[], str] | None = None) -> tuple[int, Mismatch | None]:
    """Call fn (``evaluate``) on every family's values drawn from ``seed`` and compare every output
    exactly with the reference; (calls, first mismatch). ``numbers``: how to call fn on SymPy
    Rationals when it raises on floats (symbolic mode), else such a raise is re-raised.
    ``returned``: the dtype fn returned in its last call; fn must return ``dtype``, the one the
    families are planned for, on every float64 family, else NotCheckable (probe mode plans them for
    float64, as the forward check does: families sized for a narrower dtype fn returned, even on
    one call, are exact in it and never show its rounding). NotCheckable too when no family ran:
    nothing beyond integers was checked."""
    rng = np.random.default_rng(seed)
    calls = 0
    for family in families(target, batched, dtype):
        n = family.samples if batched else 1
        numerators = {o.name: None if o.shape is None else
                      _numerators(rng, ((n,) if o.batched else ()) + o.shape, family.bits[o.name])
                      for o in target.operands}
        one = {o.name: not batched and o.batched for o in target.operands}   # an unbatched fn: one sample
        sent = {name: _sent(m, family, name, one[name]) for name, m in numerators.items()}
        what = f"{family.name}, seed {seed}" + (f", a batch of {n}" if batched else "")
        obtained = evaluate(sent, what, optional=family.may_refuse)
        if isinstance(obtained, _Raised) and numbers is not None and not family.may_refuse:
            obtained = numbers({name: _rationals(m, family, name, one[name]) for name, m in numerators.items()}, what)
        if isinstance(obtained, _Raised):
            if family.may_refuse:
                continue
            raise obtained.error
        calls += 1
        if returned is not None and family.dtype is np.float64 and returned() != dtype:
            raise NotCheckable(f"fn returns {returned()} on float64 inputs ({what}): exact probing checks code "
                               f"that computes exactly in {dtype}, and {returned()} rounds; check it within a "
                               f"tolerance (rtol=, atol=)")
        expected = expected_outputs(target, numerators, n)
        for o, reference in zip(target.outputs, expected):
            if reference is None:
                continue
            reference = reference[0] if not batched and o.batched else reference
            scale = sum(family.fractions[u] for u in FACTORS[o.name])
            if (found := _first_mismatch(obtained[o.name], reference, scale)) is not None:
                return calls, Mismatch(what, o.name, found[0], found[1], Fraction(int(reference[found[0]]), 2 ** scale))
    if not calls:
        raise NotCheckable(f"no exact trial ran: the layer's sums are too long for trials with fractions exact "
                           f"in {dtype}, and fn refused the others (float32, int64 arrays, views); check it "
                           f"within a tolerance (rtol=, atol=)")
    return calls, None


def _numerators(rng: np.random.Generator, shape: tuple[int, ...], bits: int) -> np.ndarray:
    """Random integers of |m| < 2^bits, about half of them with all ``bits`` bits."""
    return rng.integers(1 - 2 ** bits, 2 ** bits, size=shape, dtype=np.int64)


def _sent(m: np.ndarray | None, family: Family, name: str, one: bool) -> np.ndarray | None:
    """The numerators as fn gets them: scaled by 2^-f (exact), in the family's dtype and layout
    (``one``: the single sample of an unbatched fn)."""
    if m is None:
        return None
    value = np.ldexp((m[0] if one else m).astype(np.float64), -family.fractions[name]).astype(family.dtype)
    return _strided(value) if family.views and name != "b" else value   # b as the forward's views trial: contiguous


def _rationals(m: np.ndarray | None, family: Family, name: str, one: bool) -> np.ndarray | None:
    """The same values as SymPy Rationals (object arrays), for code that runs on numbers only."""
    if m is None:
        return None
    scale = 2 ** family.fractions[name]
    return np.frompyfunc(lambda v: sp.Rational(int(v), scale), 1, 1)(m[0] if one else m).astype(object)


def _first_mismatch(obtained: np.ndarray, expected: np.ndarray, scale: int) -> tuple[tuple[int, ...], object] | None:
    """The first index where fn's value is not exactly reference·2^-scale."""
    if obtained.dtype == np.float64:   # power-of-two scaling is exact here: compare whole arrays first
        scaled = np.ldexp(obtained, scale)
        if np.array_equal(scaled, np.asarray(expected, dtype=np.float64)) and np.all(np.abs(scaled) < 2.0 ** 53):
            return None
    target = Fraction(1, 2 ** scale)
    for index, value in np.ndenumerate(obtained):
        if _exact_number(value) != int(expected[index]) * target:
            return index, value
    return None
