"""The core index pattern against explicit references (np.pad, brute force, np.ravel_multi_index)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symconv
from symconv.pattern import NONE, PADDING_MODES, AxisPattern, Pattern
from symconv.symbols import entry_key, tensor_symbols

NP_PAD_MODE = {"zeros": "constant", "circular": "wrap", "reflect": "reflect", "replicate": "edge"}


@st.composite
def axis_patterns(draw: st.DrawFn, mode: str | None = None) -> AxisPattern:
    """A valid AxisPattern: the mode's padding limits hold and the dilated kernel fits."""
    mode = draw(st.sampled_from(PADDING_MODES)) if mode is None else mode
    k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    before, after = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    smallest = max(1, d * (k - 1) + 1 - before - after)
    if mode == "reflect":
        smallest = max(smallest, before + 1, after + 1)
    elif mode == "circular":
        smallest = max(smallest, before, after)
    n = smallest + draw(st.integers(0, 4))
    return AxisPattern(n, k, s, d, before, after, mode)


def padded_indices(axis: AxisPattern) -> np.ndarray:
    """np.pad of [0, 1, …, n−1] with the axis's padding: the index each padded position holds."""
    indices = np.arange(axis.size)
    pad = (axis.pad_before, axis.pad_after)
    if axis.mode == "zeros":
        return np.pad(indices, pad, mode="constant", constant_values=NONE)
    return np.pad(indices, pad, mode=NP_PAD_MODE[axis.mode])


@settings(max_examples=200, deadline=None)
@given(axis_patterns())
def test_out_size_is_the_number_of_windows_that_fit(axis: AxisPattern) -> None:
    padded = axis.size + axis.pad_before + axis.pad_after
    span = axis.dilation * (axis.kernel - 1) + 1
    fits = [o for o in range(padded + 1) if axis.stride * o + span <= padded]
    assert axis.out_size == len(fits)
    assert axis.out_size == (padded - span) // axis.stride + 1  # PyTorch's formula


@pytest.mark.parametrize("mode", PADDING_MODES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_source_matches_np_pad(mode: str, data: st.DataObject) -> None:
    axis = data.draw(axis_patterns(mode))
    reference = padded_indices(axis)
    u = np.arange(-axis.pad_before, axis.size + axis.pad_after)
    assert axis.source(u).tolist() == reference.tolist()
    assert [axis.source(int(v)) for v in u] == reference.tolist()  # scalar path returns ints


@pytest.mark.parametrize("mode, expected", [
    ("zeros", [NONE, NONE, 0, 1, 2, 3, NONE, NONE]),
    ("circular", [2, 3, 0, 1, 2, 3, 0, 1]),
    ("reflect", [2, 1, 0, 1, 2, 3, 2, 1]),
    ("replicate", [0, 0, 0, 1, 2, 3, 3, 3]),
])
def test_source_by_hand(mode: str, expected: list[int]) -> None:
    axis = AxisPattern(4, 1, pad_before=2, pad_after=2, mode=mode)
    assert axis.source(np.arange(-2, 6)).tolist() == expected


def test_unknown_mode_is_refused_by_direct_use() -> None:
    with pytest.raises(symconv.SpecError, match="^mode='mirror': must be one of"):
        AxisPattern(4, 1, mode="mirror").source(0)


@settings(max_examples=200, deadline=None)
@given(axis_patterns())
def test_table_and_matrix(axis: AxisPattern) -> None:
    reference = padded_indices(axis)
    expected = [[reference[axis.stride * o + axis.dilation * k] for o in range(axis.out_size)]
                for k in range(axis.kernel)]
    assert axis.table.tolist() == expected
    assert not axis.table.flags.writeable
    pi = axis.matrix()
    assert pi.shape == (axis.kernel, axis.out_size, axis.size)
    for k in range(axis.kernel):
        for o in range(axis.out_size):
            one_hot = [int(i == expected[k][o]) for i in range(axis.size)]
            assert pi[k, o].tolist() == one_hot


def test_matrix_by_hand() -> None:
    pi = AxisPattern(3, 2, pad_before=1, mode="zeros").matrix()  # u = o + k − 1, out = 3
    assert pi[0].tolist() == [[0, 0, 0], [1, 0, 0], [0, 1, 0]]
    assert pi[1].tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]


@settings(max_examples=60, deadline=None)
@given(axis_patterns())
def test_one_channel_toeplitz_is_the_weighted_sum_of_pattern_slices(axis: AxisPattern) -> None:
    """T = Σ_k w_k Π[k] (docs/architecture) for one channel in 1-D."""
    spec = symconv.ConvSpec(1, 1, axis.kernel, axis.size, stride=axis.stride,
                            padding=((axis.pad_before, axis.pad_after),), dilation=axis.dilation,
                            padding_mode=axis.mode, bias=False)
    _, w, _ = symconv.symbols(spec)
    pi = axis.matrix()
    expected = sum((w[0, 0, k] * sp.Matrix(pi[k]) for k in range(axis.kernel)),
                   sp.zeros(axis.out_size, axis.size))
    assert (symconv.toeplitz(spec, w) - expected).expand() == sp.zeros(axis.out_size, axis.size)


@settings(max_examples=100, deadline=None)
@given(st.lists(axis_patterns(), min_size=1, max_size=3), st.booleans())
def test_source_table_is_the_mixed_radix_flattening(axes: list[AxisPattern], flip: bool) -> None:
    pattern = Pattern(tuple(axes), flip=flip)
    assert pattern.in_shape == tuple(a.size for a in axes)
    assert pattern.out_shape == tuple(a.out_size for a in axes)
    assert pattern.kernel_shape == tuple(a.kernel for a in axes)
    table = pattern.source_table
    assert table.shape == (np.prod(pattern.out_shape), np.prod(pattern.kernel_shape))
    for out in range(table.shape[0]):
        outs = np.unravel_index(out, pattern.out_shape)
        for t in range(table.shape[1]):
            taps = np.unravel_index(t, pattern.kernel_shape)
            sources = [a.table[k, o] for a, k, o in zip(axes, taps, outs)]
            expected = (NONE if NONE in sources
                        else np.ravel_multi_index(sources, pattern.in_shape))
            assert table[out, t] == expected


def test_source_table_by_hand() -> None:
    # 2×3 input, 1×2 kernel, zero padding 1 on the columns' left: out = 2×3.
    pattern = Pattern((AxisPattern(2, 1), AxisPattern(3, 2, pad_before=1)))
    assert pattern.source_table.tolist() == [[NONE, 0], [0, 1], [1, 2],
                                             [NONE, 3], [3, 4], [4, 5]]


@pytest.mark.parametrize("kernel", [(3,), (2, 3), (2, 1, 3)])
def test_weight_taps(kernel: tuple[int, ...]) -> None:
    axes = tuple(AxisPattern(5, k) for k in kernel)
    n = int(np.prod(kernel))
    assert Pattern(axes).weight_taps.tolist() == list(range(n))
    flipped = Pattern(axes, flip=True).weight_taps
    for t in range(n):
        mirrored = tuple(k - 1 - i for k, i in zip(kernel, np.unravel_index(t, kernel)))
        assert flipped[t] == np.ravel_multi_index(mirrored, kernel)
    assert sorted(flipped.tolist()) == list(range(n))


def test_weight_taps_by_hand() -> None:
    taps = Pattern((AxisPattern(5, 2), AxisPattern(5, 3)), flip=True).weight_taps
    assert taps.tolist() == [5, 4, 3, 2, 1, 0]


def test_tensor_symbols_and_entry_key() -> None:
    x = tensor_symbols("x", (2, 11))
    assert x.shape == (2, 11) and str(x[1, 10]) == "x_{1,10}"
    assert entry_key(x[1, 10]) == ("x", (1, 10))
    assert sorted([x[0, 10], x[0, 2], x[1, 0]], key=entry_key) == [x[0, 2], x[0, 10], x[1, 0]]
    assert entry_key(sp.Symbol("alpha")) == ("alpha", ())
