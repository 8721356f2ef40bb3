"""Hypothesis strategies for valid ConvSpecs, a fixed grid of specs, and exact integer operands.

``conv_specs()`` draws every hyperparameter class ConvSpec accepts: 1-, 2- and 3-D; padding as
an int, a per-axis tuple, per-axis (before, after) pairs mixed with ints, ``'valid'`` and
``'same'`` (including even kernels and dilation); every padding mode; stride; dilation; groups
(including depthwise, groups = C_in); bias on and off; both conventions; both layouts. Each axis
is drawn so that the spec is valid by construction (reflect pad < n, circular pad ≤ n, the
dilated kernel fits in the padded input, 'same' only with stride 1), and specs whose definition
has more than ``max_terms`` monomials are rejected so SymPy stays fast.

    from tests.strategies import conv_specs

    @given(conv_specs(dims=(2,), max_terms=300))
    def test_something(spec): ...
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from symconv import ConvSpec
from symconv.pattern import PADDING_MODES
from symconv.spec import CONVENTIONS, LAYOUTS

# Per-dimension limits that keep 3-D specs as small as 1-D ones.
_MAX_KERNEL = {1: 4, 2: 3, 3: 2}
_MAX_EXTRA_INPUT = {1: 3, 2: 2, 3: 1}
_MAX_PAD = 2
_PADDING_FORMS = ("int", "tuple", "pairs", "valid", "same")


def _compact(values: Sequence[int], as_int: bool) -> int | tuple[int, ...]:
    """An int when every axis agrees and ``as_int`` (exercises both spellings), else a tuple."""
    return values[0] if as_int and len(set(values)) == 1 else tuple(values)


GRID_SPECS = [
    # One or more specs of every class: 1-/2-/3-D, each padding mode and spelling, stride,
    # dilation, groups (depthwise), bias, true convolution, NHWC.
    ConvSpec(1, 1, 3, 6),
    ConvSpec(2, 3, 2, 7, stride=2, padding=(1,), dilation=2, bias=False),
    ConvSpec(2, 2, 4, 5, padding="same", padding_mode="reflect"),
    ConvSpec(3, 2, 3, 4, padding=((2, 1),), padding_mode="circular", convention="convolution"),
    ConvSpec(2, 4, 3, 6, padding=((2, 1),), groups=2, padding_mode="replicate", layout="NHWC"),
    ConvSpec(2, 3, 3, (5, 4)),
    ConvSpec(2, 4, (2, 3), (6, 5), stride=(2, 1), padding=((1, 0), (2, 1)), groups=2),
    ConvSpec(3, 3, 3, (5, 5), padding=1, groups=3, padding_mode="replicate", layout="NHWC"),
    ConvSpec(3, 6, 3, (5, 5), padding=2, groups=3, padding_mode="reflect", dilation=2),
    ConvSpec(2, 2, (2, 2), (4, 5), padding="same", padding_mode="circular",
             convention="convolution", layout="NHWC"),
    ConvSpec(1, 2, 3, (4, 4), padding="valid", stride=3, bias=False),
    ConvSpec(2, 2, 2, (3, 3, 4), padding=(1, 0, (0, 1))),
    ConvSpec(2, 2, (2, 1, 2), (3, 3, 3), padding=1, padding_mode="reflect", groups=2,
             convention="convolution", layout="NHWC"),
    ConvSpec(1, 1, 2, (4, 3, 3), stride=(2, 1, 2), padding=1, padding_mode="circular",
             dilation=(1, 2, 1)),
]


@st.composite
def conv_specs(draw: st.DrawFn, dims: Sequence[int] = (1, 2, 3), max_terms: int = 400,
               padding_modes: Sequence[str] = PADDING_MODES,
               padding_forms: Sequence[str] = _PADDING_FORMS,
               conventions: Sequence[str] = CONVENTIONS, layouts: Sequence[str] = LAYOUTS,
               bias: bool | None = None, max_groups: int = 3) -> ConvSpec:
    """A random valid ConvSpec with at most ``max_terms`` terms (monomials plus bias terms)."""
    d = draw(st.sampled_from(tuple(dims)))
    mode = draw(st.sampled_from(tuple(padding_modes)))
    form = draw(st.sampled_from(tuple(padding_forms)))
    kernel = [draw(st.integers(1, _MAX_KERNEL[d])) for _ in range(d)]
    dilation = [draw(st.integers(1, 2)) for _ in range(d)]
    stride = [1] * d if form == "same" else [draw(st.integers(1, 3)) for _ in range(d)]

    padding: object
    if form == "valid":
        pairs = [(0, 0)] * d
        padding = "valid"
    elif form == "same":
        totals = [dl * (k - 1) for k, dl in zip(kernel, dilation)]
        pairs = [(t // 2, t - t // 2) for t in totals]  # PyTorch's placement
        padding = "same"
    elif form == "int":
        p = draw(st.integers(0, _MAX_PAD))
        pairs = [(p, p)] * d
        padding = p
    elif form == "tuple":
        amounts = [draw(st.integers(0, _MAX_PAD)) for _ in range(d)]
        pairs = [(p, p) for p in amounts]
        padding = tuple(amounts)
    else:  # per-axis (before, after) pairs, some axes possibly spelled as a plain int
        pairs = [(draw(st.integers(0, _MAX_PAD)), draw(st.integers(0, _MAX_PAD))) for _ in range(d)]
        padding = tuple(pair if pair[0] != pair[1] or draw(st.booleans()) else pair[0]
                        for pair in pairs)

    sizes = []
    for k, dl, (before, after) in zip(kernel, dilation, pairs):
        smallest = max(1, dl * (k - 1) + 1 - before - after)
        if mode == "reflect":
            smallest = max(smallest, before + 1, after + 1)
        elif mode == "circular":
            smallest = max(smallest, before, after)
        sizes.append(smallest + draw(st.integers(0, _MAX_EXTRA_INPUT[d])))

    groups = draw(st.integers(1, max_groups))
    depthwise = draw(st.booleans())
    in_per_group = 1 if depthwise else draw(st.integers(1, 2))
    out_per_group = draw(st.integers(1, 2))
    spec = ConvSpec(
        in_channels=groups * in_per_group,
        out_channels=groups * out_per_group,
        kernel_size=_compact(kernel, draw(st.booleans())),
        input_size=sizes[0] if d == 1 and draw(st.booleans()) else tuple(sizes),
        stride=_compact(stride, draw(st.booleans())),
        padding=padding,
        dilation=_compact(dilation, draw(st.booleans())),
        groups=groups,
        bias=draw(st.booleans()) if bias is None else bias,
        padding_mode=mode,
        convention=draw(st.sampled_from(tuple(conventions))),
        layout=draw(st.sampled_from(tuple(layouts))),
    )
    assume(spec.n_terms + spec.n_bias_terms <= max_terms)
    return spec


def integer_operands(spec: ConvSpec, seed: int = 0, batch: int | None = None,
                     low: int = -9, high: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Random exact int64 x, w, b in the spec's layout (x with a leading batch axis if asked).

    Small integers keep every float64 sum exact, so torch's results can be compared with ``==``.
    """
    rng = np.random.default_rng(seed)
    x_shape = spec.input_shape if batch is None else (batch, *spec.input_shape)
    x = rng.integers(low, high, size=x_shape)
    w = rng.integers(low, high, size=spec.weight_shape)
    b = rng.integers(low, high, size=spec.out_channels) if spec.bias else None
    return x, w, b
