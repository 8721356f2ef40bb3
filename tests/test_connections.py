"""The connections table (``symconv.connections``) against PyTorch and a brute-force reference.

Every form is a gather or scatter over the table, so a wrong table would make every form agree
with every other wrongly: the table itself is checked here against torch (the definition summed
straight off the triples, exact on integer data), against a brute-force enumeration written
from PyTorch's documented semantics (np.pad for the padding modes, groups as contiguous channel
blocks), and for its invariants: unique triples, no connection through a zero of the padding,
every weight of a channel's group read. Negative controls show the comparison catches a
deliberately wrong table.
"""

from __future__ import annotations

from itertools import product
from math import prod

import numpy as np
import pytest
from hypothesis import given, settings

import symconv
from symconv import ConvSpec
from symconv.connections import Connections, channel_map, connections, connections_of_rows
from tests.strategies import GRID_SPECS, conv_specs, integer_operands
from tests.torch_reference import channels_first_w, channels_first_x, torch_conv

HYPOTHESIS = settings(max_examples=200, deadline=None)
IDS = [f"{i}:{s.describe()}" for i, s in enumerate(GRID_SPECS)]
NP_PAD_MODE = {"circular": "wrap", "reflect": "reflect", "replicate": "edge"}


def table_conv(spec: ConvSpec, table: Connections, x: np.ndarray, w: np.ndarray,
               b: np.ndarray | None) -> np.ndarray:
    """y[r] = b[o] + Σ w[a]·x[i] over the triples (r, a, i), channels first (C_out, *out), int64.

    x and w are flattened channels first by torch's own layout helpers (not symconv's)."""
    xf = channels_first_x(spec, x)[0].numpy().astype(np.int64).reshape(-1)
    wf = channels_first_w(spec, w).numpy().astype(np.int64).reshape(-1)
    y = np.zeros(spec.out_channels * prod(spec.output_size), dtype=np.int64)
    np.add.at(y, table.row, wf[table.weight] * xf[table.input])
    y = y.reshape(spec.out_channels, -1)
    if b is not None:
        y = y + np.asarray(b, dtype=np.int64)[:, None]
    return y.reshape(spec.out_channels, *spec.output_size)


def torch_channels_first(spec: ConvSpec, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """torch's layer output, (C_out, *out), as exact int64 (float64 is exact on these integers)."""
    y = torch_conv(spec, x, w, b)
    if spec.layout == "NHWC":
        y = np.moveaxis(y, -1, 0)
    assert np.array_equal(y, np.round(y))
    return y.astype(np.int64)


def source(n: int, before: int, after: int, mode: str) -> list[int | None]:
    """The input index each padded position −before … n + after − 1 reads (None: a zero of the
    padding), by np.pad of the indices: PyTorch's F.pad modes."""
    indices = np.arange(n)
    if mode == "zeros":
        return [None] * before + indices.tolist() + [None] * after
    return np.pad(indices, (before, after), mode=NP_PAD_MODE[mode]).tolist()


def brute_force(spec: ConvSpec) -> set[tuple[int, int, int]]:
    """Every (row, weight, input) by nested loops over o, c, k and the output positions:
    y[o, out] reads w[o, c, k'] (k' = k, or K − 1 − k per axis for true convolution) times
    x[group·C_in/groups + c, padded position s·out + d·k], skipping zeros of the padding."""
    padded = [source(n, before, after, spec.padding_mode)
              for n, (before, after) in zip(spec.input_size, spec.padding)]
    cg, groups_out = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    found = set()
    for o, c in product(range(spec.out_channels), range(cg)):
        channel = (o // groups_out) * cg + c
        for out in product(*(range(m) for m in spec.output_size)):
            for k in product(*(range(K) for K in spec.kernel_size)):
                reads = [axis[s * q + d * t] for axis, s, q, d, t in
                         zip(padded, spec.stride, out, spec.dilation, k)]
                if None in reads:
                    continue
                tap = k if spec.convention == "cross-correlation" else tuple(
                    K - 1 - t for K, t in zip(spec.kernel_size, k))
                row = np.ravel_multi_index((o, *out), (spec.out_channels, *spec.output_size))
                weight = np.ravel_multi_index((o, c, *tap), (spec.out_channels, cg, *spec.kernel_size))
                inp = np.ravel_multi_index((channel, *reads), (spec.in_channels, *spec.input_size))
                found.add((int(row), int(weight), int(inp)))
    return found


def triples(table: Connections) -> list[tuple[int, int, int]]:
    return list(zip(table.row.tolist(), table.weight.tolist(), table.input.tolist()))


def check_table(spec: ConvSpec, seed: int) -> None:
    table = connections(spec)
    x, w, b = integer_operands(spec, seed)
    assert np.array_equal(table_conv(spec, table, x, w, b), torch_channels_first(spec, x, w, b))
    listed = triples(table)
    assert len(set(listed)) == len(listed) == spec.n_terms        # unique, one per monomial w·x
    assert set(listed) == brute_force(spec)                       # no pad zero, nothing missing
    assert listed == sorted(listed, key=lambda e: e[0])          # sorted by row


@pytest.mark.parametrize("spec", GRID_SPECS, ids=IDS)
def test_grid_table_is_torch_and_brute_force(spec: ConvSpec) -> None:
    check_table(spec, seed=7)


@HYPOTHESIS
@given(conv_specs(max_terms=1500))
def test_random_table_is_torch_and_brute_force(spec: ConvSpec) -> None:
    check_table(spec, seed=spec.n_terms)


LARGER = [ConvSpec(3, 8, 3, (32, 32), padding=1),
          ConvSpec(4, 6, 3, (33, 30), stride=2, padding=2, dilation=2, groups=2, padding_mode="reflect"),
          ConvSpec(6, 6, (5, 3), (28, 31), padding="same", groups=6, padding_mode="circular",
                   convention="convolution", layout="NHWC"),
          ConvSpec(2, 4, 3, (10, 9, 8), stride=(1, 2, 1), padding=1, padding_mode="replicate"),
          ConvSpec(4, 8, 7, 1000, stride=3, padding=((3, 2),), dilation=3, groups=4, layout="NHWC")]


@pytest.mark.parametrize("spec", LARGER, ids=[s.describe() for s in LARGER])
def test_larger_tables_are_torch(spec: ConvSpec) -> None:
    """Larger layers (up to 10⁵ monomials), against torch only (the brute force is slow)."""
    x, w, b = integer_operands(spec, seed=1)
    assert spec.n_terms > 10_000
    assert np.array_equal(table_conv(spec, connections(spec), x, w, b), torch_channels_first(spec, x, w, b))


@HYPOTHESIS
@given(conv_specs(max_terms=1500))
def test_every_weight_of_a_group_is_read(spec: ConvSpec) -> None:
    """Output channel o reads exactly the weights (o, c, τ(t)) for every c < C_in/groups and every
    tap t that reads a real input somewhere, and only inputs of its group's channels."""
    table = connections(spec)
    o, _ = table.outputs()
    channel, _ = table.inputs()
    n_taps, cg = prod(spec.kernel_size), spec.in_channels // spec.groups
    taps_read = {weight % n_taps for _, weight, _ in brute_force(spec)}   # the same for every (o, c)
    per_group = spec.out_channels // spec.groups
    for out_channel in range(spec.out_channels):
        mine = o == out_channel
        expected = {(out_channel * cg + c) * n_taps + t for c in range(cg) for t in taps_read}
        assert set(table.weight[mine].tolist()) == expected
        group = out_channel // per_group
        group_channels = set(range(group * cg, (group + 1) * cg)) if taps_read else set()
        assert set(channel[mine].tolist()) == group_channels     # no tap reads x: no channel read


@pytest.mark.parametrize("mode", ["zeros", "circular", "reflect", "replicate"])
def test_only_zero_padding_removes_connections(mode: str) -> None:
    """1-D, n = 3, K = 3, pad 1: zeros drops the two reads of the padding, the others fold them."""
    spec = ConvSpec(1, 1, 3, 3, padding=1, padding_mode=mode, bias=False)
    table = connections(spec)
    inputs = table.input.tolist()
    expected = {"zeros": [0, 1, 0, 1, 2, 1, 2],          # out 0 reads pad, x0, x1; out 2: x1, x2, pad
                "circular": [2, 0, 1, 0, 1, 2, 1, 2, 0],
                "reflect": [1, 0, 1, 0, 1, 2, 1, 2, 1],
                "replicate": [0, 0, 1, 0, 1, 2, 1, 2, 2]}[mode]
    assert inputs == expected
    assert len(table) == spec.n_terms == (7 if mode == "zeros" else 9)


def test_a_tap_that_reads_only_padding_is_absent() -> None:
    """n = 1, K = 3, zero pad 1: taps 0 and 2 read only zeros, so their weights appear nowhere."""
    spec = ConvSpec(1, 2, 3, 1, padding=1, bias=False)
    assert triples(connections(spec)) == [(0, 1, 0), (1, 4, 0)]


def test_groups_by_hand() -> None:
    """C_in = 4, C_out = 2, groups = 2, 1×1: y0 = w0·x0 + w1·x1, y1 = w2·x2 + w3·x3."""
    spec = ConvSpec(4, 2, 1, 1, groups=2, bias=False)
    assert triples(connections(spec)) == [(0, 0, 0), (0, 1, 1), (1, 2, 2), (1, 3, 3)]
    assert channel_map(spec).tolist() == [[0, 1], [2, 3]]


@pytest.mark.parametrize("spec", GRID_SPECS, ids=IDS)
def test_chunks_make_the_table(spec: ConvSpec) -> None:
    """The exact backend's chunks r0:r1 (any split) concatenate to the cached table."""
    rows = spec.out_channels * prod(spec.output_size)
    for step in (1, 3, rows):
        parts = [connections_of_rows(spec, np.arange(r0, min(r0 + step, rows))) for r0 in range(0, rows, step)]
        assert triples(Connections(*(np.concatenate([getattr(p, f) for p in parts])
                                     for f in ("row", "weight", "input")), 1, 1)) == triples(connections(spec))


def test_the_table_is_cached_and_read_only() -> None:
    spec = ConvSpec(2, 2, 3, (5, 5), padding=1)
    table = connections(spec)
    assert connections(ConvSpec(2, 2, 3, (5, 5), padding=1)) is table   # cached per spec value
    for array in (table.row, table.weight, table.input):
        assert not array.flags.writeable
    assert connections(ConvSpec(2, 2, 3, (5, 5), padding=1, groups=2)) is not table


def test_the_definition_is_the_table() -> None:
    """symconv.conv sums exactly the table's monomials (on symbols: the same polynomial)."""
    spec = ConvSpec(2, 4, 2, (3, 3), padding=((1, 0), (0, 1)), groups=2, padding_mode="reflect",
                    convention="convolution", layout="NHWC", bias=False)
    x, w, _ = symconv.symbols(spec)
    xf = np.moveaxis(x, -1, 0).reshape(-1)                     # NHWC → channels first, flat
    wf = np.moveaxis(w, (-1, -2), (0, 1)).reshape(-1)
    expected = np.zeros(spec.out_channels * prod(spec.output_size), dtype=object)
    for r, a, i in triples(connections(spec)):
        expected[r] += wf[a] * xf[i]
    y = np.moveaxis(symconv.conv(spec, x, w), -1, 0).reshape(-1)
    assert all((p - q).expand() == 0 for p, q in zip(y, expected))


# ---- negative controls: a wrong table is caught -------------------------------------------------
def distinct_operands(spec: ConvSpec) -> tuple[np.ndarray, np.ndarray, None]:
    """x and w with pairwise distinct positive entries: every changed connection changes y."""
    rng = np.random.default_rng(0)
    x = rng.permutation(prod(spec.input_shape)).reshape(spec.input_shape) + 1
    w = rng.permutation(prod(spec.weight_shape)).reshape(spec.weight_shape) + 1
    return x, w, None


def first_differing_row(spec: ConvSpec, table: Connections) -> int | None:
    x, w, _ = distinct_operands(spec)
    got = table_conv(spec, table, x, w, None).reshape(-1)
    expected = torch_channels_first(spec, x, w, None).reshape(-1)
    differs = np.flatnonzero(got != expected)
    return int(differs[0]) if differs.size else None


def wrong(table: Connections, k: int, **changes: int) -> Connections:
    arrays = {f: getattr(table, f).copy() for f in ("row", "weight", "input")}
    for field, value in changes.items():
        arrays[field][k] = value
    return Connections(arrays["row"], arrays["weight"], arrays["input"], table.n_out, table.n_in)


WRONG_SPEC = ConvSpec(2, 4, 3, (5, 4), stride=(2, 1), padding=1, groups=2, padding_mode="reflect", bias=False)


@pytest.mark.parametrize("k", [0, 17, -1])
def test_a_shifted_input_id_is_caught(k: int) -> None:
    table = connections(WRONG_SPEC)
    assert first_differing_row(WRONG_SPEC, table) is None
    n_x = WRONG_SPEC.in_channels * prod(WRONG_SPEC.input_size)
    bad = wrong(table, k, input=(table.input[k] + 1) % n_x)
    assert first_differing_row(WRONG_SPEC, bad) == table.row[k]
    assert set(triples(bad)) != brute_force(WRONG_SPEC)


def test_a_wrong_weight_a_dropped_and_a_doubled_connection_are_caught() -> None:
    table = connections(WRONG_SPEC)
    n_w = prod(WRONG_SPEC.weight_shape)
    assert first_differing_row(WRONG_SPEC, wrong(table, 5, weight=(table.weight[5] + 1) % n_w)) == table.row[5]
    keep = np.arange(len(table)) != 9
    dropped = Connections(table.row[keep], table.weight[keep], table.input[keep], table.n_out, table.n_in)
    assert first_differing_row(WRONG_SPEC, dropped) == table.row[9]
    doubled = Connections(*(np.insert(getattr(table, f), 9, getattr(table, f)[9]) for f in ("row", "weight", "input")),
                          table.n_out, table.n_in)
    assert first_differing_row(WRONG_SPEC, doubled) == table.row[9]
    assert len(set(triples(doubled))) < len(doubled)           # the uniqueness check sees it too


def test_a_connection_through_a_zero_of_the_padding_is_caught() -> None:
    """Clamping instead of dropping the zero padding (src = max(u, 0)) adds w·x₀ to row 0."""
    spec = ConvSpec(1, 1, 3, 4, padding=1, bias=False)
    table = connections(spec)
    clamped = Connections(np.insert(table.row, 0, 0), np.insert(table.weight, 0, 0), np.insert(table.input, 0, 0),
                          table.n_out, table.n_in)
    assert first_differing_row(spec, clamped) == 0
    assert set(triples(clamped)) != brute_force(spec)
