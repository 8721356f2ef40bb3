"""The suite's strategies: ``conv_specs`` with the suite's defaults over the public
``symconv.strategies.conv_specs`` (every hyperparameter class ConvSpec accepts: 1-, 2- and 3-D;
padding as an int, a per-axis tuple, per-axis (before, after) pairs mixed with ints, ``'valid'``,
``'same'`` (including even kernels and dilation) and TensorFlow's 'SAME' at any stride; every
padding mode; stride; dilation; groups (including depthwise, groups = C_in); bias on and off;
both conventions; both layouts; valid by construction), a fixed grid of specs, and exact integer
operands. Specs whose definition has more than ``max_terms`` monomials are rejected so SymPy
stays fast.

    from tests.strategies import conv_specs

    @given(conv_specs(dims=(2,), max_terms=300))
    def test_something(spec): ...
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st

from symconv import ConvSpec, strategies
from symconv.pattern import PADDING_MODES
from symconv.spec import CONVENTIONS, LAYOUTS
from symconv.strategies import PADDING_FORMS

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


def conv_specs(dims: Sequence[int] = (1, 2, 3), max_terms: int = 400,
               padding_modes: Sequence[str] = PADDING_MODES, padding_forms: Sequence[str] = PADDING_FORMS,
               conventions: Sequence[str] = CONVENTIONS, layouts: Sequence[str] = LAYOUTS,
               bias: bool | None = None, max_groups: int = 3) -> st.SearchStrategy[ConvSpec]:
    """A random valid ConvSpec with at most ``max_terms`` terms (monomials plus bias terms)."""
    return strategies.conv_specs(dims=tuple(dims), max_terms=max_terms, padding_modes=padding_modes,
                                 padding=padding_forms, conventions=conventions, layouts=layouts, bias=bias,
                                 groups=(1, max_groups))


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
