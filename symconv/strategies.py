"""Hypothesis strategies that draw valid ConvSpecs, for property tests of your own conv code.

    from hypothesis import given
    from symconv import strategies, testing

    @given(strategies.conv_specs(dims=2, groups=(1, 4), padding_modes=("zeros", "circular")))
    def test_my_conv(spec):
        testing.assert_conv_equivalent(my_conv, spec, mode="probe")

    @given(strategies.historically_broken())     # the combinations real frameworks got wrong
    def test_my_conv_where_others_broke(spec): ...

    @given(strategies.transposed_conv_specs(layouts="NCHW"))
    def test_my_conv_transpose(case):           # case.spec: the forward layer; case.output_padding
        ...

Every drawn spec is one ``ConvSpec`` accepts, by construction: the dependent parameters are drawn
in an order that keeps them valid (per axis: the padding the mode allows at the largest input
size, < n for 'reflect', ≤ n for 'circular'; then a dilation and kernel whose span d·(K − 1) + 1
fits in the largest padded input; then an input size both fit; 'same' only with stride 1), so
nothing is filtered out but by the optional ``max_terms`` bound. Ranges are an int or an
inclusive (low, high) pair; a filter that no spec can meet is a SpecError naming it when the
strategy is made, not a hypothesis health check.

Padding forms: ``"int"`` (p on every side), ``"tuple"`` (one p per axis), ``"pairs"`` (one
(before, after) pair per axis, equal pairs sometimes spelled as an int), ``"valid"``, ``"same"``
(PyTorch's: stride 1, ⌊total/2⌋ before) and ``"same_upper"`` (TensorFlow's and Keras' 'SAME',
ONNX's ``auto_pad=SAME_UPPER``, for any stride: total = max((⌈n/s⌉ − 1)·s + d·(K − 1) + 1 − n, 0),
⌊total/2⌋ before and the rest after, as explicit pairs).

hypothesis is an optional dependency of symconv: ``pip install 'symconv[hypothesis]'``.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from numbers import Integral
from typing import Any, NamedTuple

try:
    from hypothesis import assume
    from hypothesis import strategies as st
except ImportError as error:  # symconv itself never needs hypothesis
    raise ImportError("symconv.strategies needs hypothesis, an optional dependency: "
                      "pip install 'symconv[hypothesis]' (or pip install hypothesis)") from error

from .errors import SpecError, boolean
from .forms.transpose import transposed_size
from .frameworks.conventions import same_padding
from .pattern import PADDING_MODES, kernel_span, smallest_input_size
from .spec import CONVENTIONS, LAYOUTS, MAX_EXTENT, ConvSpec

PADDING_FORMS = ("int", "tuple", "pairs", "valid", "same", "same_upper")
"""The spellings of ``padding`` that ``conv_specs`` draws (see the module docstring)."""
DEFAULT_KERNEL = {1: (1, 4), 2: (1, 3), 3: (1, 2)}
"""Kernel sizes per number of spatial axes when ``kernel_size`` is None: 3-D as small as 1-D."""
DEFAULT_INPUT = {1: (1, 10), 2: (1, 7), 3: (1, 4)}
"""Input sizes per number of spatial axes when ``input_size`` is None ..."""
DEFAULT_EXTRA = {1: 3, 2: 2, 3: 1}
"""... drawn as the smallest valid size plus at most this many, so specs stay small and cheap to check."""

Range = int | tuple[int, int]
"""An int, or an inclusive (low, high) pair of ints."""


class TransposedConv(NamedTuple):
    """A transposed convolution: the forward layer ``spec`` (zeros padding) and an
    ``output_padding`` PyTorch accepts (0 ≤ output_padding < max(stride, dilation) per axis).
    It maps g of ``spec.output_shape`` to ``output_size = transposed_size(spec, output_padding)``
    per axis, ``(out − 1)·s − (p_before + p_after) + d·(K − 1) + 1 + output_padding``, which is
    ``spec.input_size`` (x-shaped, as ``symconv.testing``'s transposed check takes it) when the
    case was drawn with ``match_input=True``."""

    spec: ConvSpec
    output_padding: tuple[int, ...]

    @property
    def output_size(self) -> tuple[int, ...]:
        return transposed_size(self.spec, self.output_padding)


@dataclass(frozen=True)
class _Options:
    """The validated filters of one strategy (ranges as (low, high); choices as tuples)."""

    dims: tuple[int, ...]
    padding_modes: tuple[str, ...]
    padding: tuple[str, ...]
    groups: tuple[int, int]
    in_per_group: tuple[int, int]
    out_per_group: tuple[int, int]
    kernel_size: tuple[int, int] | None
    input_size: tuple[int, int] | None
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding_amount: tuple[int, int]
    layouts: tuple[str, ...]
    conventions: tuple[str, ...]
    bias: bool | None
    max_terms: int | None
    asymmetric: bool = False  # the preset's: every "pairs" padding has before ≠ after on an axis

    def kernels(self, d: int) -> tuple[int, int]:
        return self.kernel_size or DEFAULT_KERNEL[d]

    def sizes(self, d: int) -> tuple[int, int]:
        return self.input_size or DEFAULT_INPUT[d]


def _range(parameter: str, value: Any, minimum: int, maximum: int = MAX_EXTENT) -> tuple[int, int]:
    """(low, high) from an int or a (low, high) pair with minimum ≤ low ≤ high ≤ maximum."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if (len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, Integral) for v in pair)
            or not minimum <= pair[0] <= pair[1] <= maximum):
        raise SpecError(parameter, value, f"must be an integer or an inclusive (low, high) pair of integers "
                                          f"with {minimum} ≤ low ≤ high ≤ {maximum}")
    return int(pair[0]), int(pair[1])


def _choices(parameter: str, value: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """A non-empty tuple of allowed strings, from one string or a sequence of them."""
    values = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, Sequence) else ()
    if not values or any(v not in allowed for v in values):
        raise SpecError(parameter, value, f"must be one of {allowed} or a non-empty sequence of them")
    return values


def _options(*, dims: Range | Sequence[int] = (1, 2, 3), padding_modes: str | Sequence[str] = PADDING_MODES,
             padding: str | Sequence[str] = PADDING_FORMS, groups: Range = (1, 3), in_per_group: Range = (1, 2),
             out_per_group: Range = (1, 2), kernel_size: Range | None = None, input_size: Range | None = None,
             stride: Range = (1, 3), dilation: Range = (1, 2), padding_amount: Range = (0, 2),
             layouts: str | Sequence[str] = LAYOUTS, conventions: str | Sequence[str] = CONVENTIONS,
             bias: bool | None = None, max_terms: int | None = None) -> _Options:
    """Every filter validated (SpecError naming the first that is not), and the ones no spec can meet."""
    axes = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if not axes or any(isinstance(d, bool) or not isinstance(d, Integral) or d not in (1, 2, 3) for d in axes):
        raise SpecError("dims", dims, "must be 1, 2 or 3, or a non-empty sequence of them")
    options = _Options(
        dims=tuple(int(d) for d in axes), padding_modes=_choices("padding_modes", padding_modes, PADDING_MODES),
        padding=_choices("padding", padding, PADDING_FORMS), groups=_range("groups", groups, 1),
        in_per_group=_range("in_per_group", in_per_group, 1), out_per_group=_range("out_per_group", out_per_group, 1),
        kernel_size=None if kernel_size is None else _range("kernel_size", kernel_size, 1),
        input_size=None if input_size is None else _range("input_size", input_size, 1),
        stride=_range("stride", stride, 1), dilation=_range("dilation", dilation, 1),
        padding_amount=_range("padding_amount", padding_amount, 0), layouts=_choices("layouts", layouts, LAYOUTS),
        conventions=_choices("conventions", conventions, CONVENTIONS),
        bias=None if bias is None else boolean("bias", bias),
        max_terms=None if max_terms is None else _range("max_terms", max_terms, 1)[0])
    if options.padding == ("same",) and options.stride[0] > 1:
        raise SpecError("padding", padding, f"'same' needs stride 1 (PyTorch's rule), but stride={stride}; "
                                            "use 'same_upper' for TensorFlow's 'SAME' at any stride")
    for d in options.dims:
        (k, _), (_, n) = options.kernels(d), options.sizes(d)
        if kernel_span(k, options.dilation[0]) > n:
            raise SpecError("input_size", input_size, f"the smallest dilated kernel, {options.dilation[0]}·({k} − 1) "
                                                      f"+ 1, must fit in the largest input, {n} ({d}-D)")
        low = options.padding_amount[0]
        if _pads(options) and ("reflect" in options.padding_modes and low >= n
                               or "circular" in options.padding_modes and low > n):
            raise SpecError("padding_amount", padding_amount, f"reflect padding must be < the input size and "
                                                              f"circular ≤ it, which is at most {n} ({d}-D)")
    return options


def _pads(options: _Options) -> bool:
    """Whether any padding form takes its amounts from padding_amount."""
    return bool({"int", "tuple", "pairs"} & set(options.padding))


def _compact(values: Sequence[int], as_int: bool) -> int | tuple[int, ...]:
    """An int when every axis agrees and ``as_int`` (so both spellings are drawn), else a tuple."""
    return values[0] if as_int and len(set(values)) == 1 else tuple(values)


def _axis_padding(draw: st.DrawFn, o: _Options, form: str, mode: str, n_high: int) -> tuple[int, int]:
    """One axis's (before, after) amounts for the forms that draw them, within what ``mode`` allows
    at the largest input size (< n for reflect, ≤ n for circular; the input is then drawn large enough)."""
    cap = n_high - 1 if mode == "reflect" else n_high if mode == "circular" else o.padding_amount[1]
    low, high = o.padding_amount[0], min(o.padding_amount[1], cap)  # low ≤ cap: see _options
    before = draw(st.integers(low, high))
    if form != "pairs":
        return before, before
    if o.asymmetric and low < high:  # any other amount, without filtering
        after = draw(st.integers(low, high - 1))
        return before, after + (after >= before)
    return before, draw(st.integers(low, high))


def _axis_kernel(draw: st.DrawFn, o: _Options, d: int, limit: int) -> tuple[int, int]:
    """A (kernel, dilation) in range whose span d·(K − 1) + 1 is at most ``limit``."""
    (k_low, k_high), (d_low, d_high) = o.kernels(d), o.dilation
    dil_high = d_high if k_low == 1 else max(d_low, min(d_high, (limit - 1) // (k_low - 1)))
    dil = draw(st.integers(d_low, dil_high))
    kernel = draw(st.integers(k_low, max(k_low, min(k_high, (limit - 1) // dil + 1))))
    return kernel, dil


def _axis(draw: st.DrawFn, o: _Options, d: int, form: str, mode: str,
          fixed: tuple[int, int] | None) -> tuple[int, int, int, int, tuple[int, int]]:
    """One spatial axis, valid by construction: (input size, kernel, dilation, stride, (before, after))."""
    low, high = o.sizes(d)
    stride = 1 if form == "same" else draw(st.integers(*o.stride))
    before = after = 0
    if form in ("int", "tuple", "pairs"):
        before, after = fixed or _axis_padding(draw, o, form, mode, high)
        limit = high + before + after
    elif form == "valid":
        limit = high
    else:  # 'same' pads ⌈d·(K − 1)/2⌉ after, which reflect (circular) needs < n (≤ n)
        limit = {"reflect": 2 * high - 1, "circular": 2 * high + 1}.get(mode, MAX_EXTENT)
    kernel, dilation = _axis_kernel(draw, o, d, limit)
    span = kernel_span(kernel, dilation)
    if form in ("same", "same_upper"):
        half = (span - 1) - (span - 1) // 2
        smallest = {"reflect": half + 1, "circular": half}.get(mode, 1)
    else:
        smallest = max(span - before - after, {"reflect": max(before, after) + 1,
                                               "circular": max(before, after)}.get(mode, 1))
    least = max(low, smallest)
    n = draw(st.integers(least, high if o.input_size else min(high, least + DEFAULT_EXTRA[d])))
    if form == "same":
        before, after = (span - 1) // 2, (span - 1) - (span - 1) // 2
    elif form == "same_upper":
        before, after = same_padding(n, kernel, stride, dilation)   # TF's 'SAME', ONNX SAME_UPPER
    return n, kernel, dilation, stride, (before, after)


@st.composite
def _specs(draw: st.DrawFn, o: _Options) -> ConvSpec:
    d = draw(st.sampled_from(o.dims))
    mode = draw(st.sampled_from(o.padding_modes))
    form = draw(st.sampled_from([f for f in o.padding if f != "same" or o.stride[0] == 1]))
    fixed = _axis_padding(draw, o, form, mode, o.sizes(d)[1]) if form == "int" else None
    sizes, kernel, dilation, stride, pairs = zip(*(_axis(draw, o, d, form, mode, fixed) for _ in range(d)))
    padding: Any = {"int": pairs[0][0], "tuple": tuple(p for p, _ in pairs), "valid": "valid", "same": "same",
                    "same_upper": pairs}.get(form)
    if form == "pairs":
        padding = tuple(pair if pair[0] != pair[1] or draw(st.booleans()) else pair[0] for pair in pairs)
    groups = draw(st.integers(*o.groups))
    spec = ConvSpec(
        in_channels=groups * draw(st.integers(*o.in_per_group)),
        out_channels=groups * draw(st.integers(*o.out_per_group)),
        kernel_size=_compact(kernel, draw(st.booleans())),
        input_size=sizes[0] if d == 1 and draw(st.booleans()) else sizes,
        stride=_compact(stride, draw(st.booleans())), padding=padding,
        dilation=_compact(dilation, draw(st.booleans())), groups=groups,
        bias=draw(st.booleans()) if o.bias is None else o.bias, padding_mode=mode,
        convention=draw(st.sampled_from(o.conventions)), layout=draw(st.sampled_from(o.layouts)))
    if o.max_terms is not None:
        assume(spec.n_terms + spec.n_bias_terms <= o.max_terms)
    return spec


def conv_specs(**filters: Any) -> st.SearchStrategy[ConvSpec]:
    """Valid ConvSpecs within the filters: ``dims`` (1, 2, 3 or a sequence of them), ``padding_modes``,
    ``padding`` (forms: see the module docstring), ``groups``, channels per group (``in_per_group``,
    ``out_per_group``; in_per_group = 1 is depthwise), per-axis ``kernel_size`` and ``input_size``
    (None: ``DEFAULT_KERNEL``, ``DEFAULT_INPUT`` and ``DEFAULT_EXTRA`` for the number of axes),
    ``stride``, ``dilation``, per-side ``padding_amount``, ``layouts``, ``conventions``, ``bias`` (None: both) and
    ``max_terms`` (at most that many monomials plus bias terms: the one filter that rejects draws).
    'same' is drawn (with stride 1) only where the stride range includes 1.

    >>> from hypothesis import find
    >>> spec = find(conv_specs(dims=2, groups=(2, 4), stride=2, layouts="NHWC"), lambda spec: spec.bias)
    >>> spec.dims, spec.groups > 1, spec.stride, spec.layout
    (2, True, (2, 2), 'NHWC')
    >>> conv_specs(groups=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: groups=0: must be an integer or an inclusive (low, high) pair of integers with 1 ≤ ...
    """
    return _specs(_options(**filters))


@st.composite
def _transposed(draw: st.DrawFn, o: _Options, match_input: bool = True, least: int = 0) -> TransposedConv:
    """A forward spec and, per axis, an output padding in [least, s − 1] (``match_input``: then
    the spec's input size becomes the transposed size, which leaves its output size as it was),
    else in [least, max(s, d) − 1], with a transposed size ≥ 1. That size is base + op with
    base = (out − 1)·s − P + d·(K − 1) + 1 ≥ n − s + 1 (the floor in out), so the low end
    1 − base ≤ s − 1 never passes the high end: no draw is rejected."""
    spec = draw(_specs(o))
    output_padding = []
    for out, k, s, d, (before, after) in zip(spec.output_size, spec.kernel_size, spec.stride, spec.dilation,
                                             spec.padding):
        base = smallest_input_size(out, k, s, d, before + after)
        output_padding.append(draw(st.integers(max(least, 1 - base), s - 1 if match_input else max(s, d) - 1)))
    if match_input:
        spec = replace(spec, input_size=transposed_size(spec, output_padding))
    return TransposedConv(spec, tuple(output_padding))


def _transposed_options(*, padding: str | Sequence[str] = ("int", "tuple", "valid"), **filters: Any) -> _Options:
    if "padding_modes" in filters:
        raise SpecError("padding_modes", filters["padding_modes"], "transposed convolutions pad with zeros only")
    return _options(padding=padding, padding_modes="zeros", **filters)


def transposed_conv_specs(*, match_input: bool = True, **filters: Any) -> st.SearchStrategy[TransposedConv]:
    """Transposed convolutions: ``TransposedConv(spec, output_padding)`` with ``spec`` the forward
    layer (zeros padding: the transposed convolution pads with zeros) and an output padding
    PyTorch accepts whose transposed size ``case.output_size`` is ≥ 1. With ``match_input=True``
    (default) output_padding < stride and the transposed size is ``spec.input_size``: the case is
    the gradient of ``spec`` with respect to x (its input size then lies within stride − 1 of the
    ``input_size`` range, and ``max_terms`` bounds the spec as drawn before). With
    ``match_input=False`` output_padding is anything PyTorch accepts, < max(stride, dilation) per
    axis, and ``spec.input_size`` is as drawn. ``filters`` are ``conv_specs``' but
    ``padding_modes``; ``padding`` defaults to the symmetric forms ("int", "tuple", "valid"), which
    ``torch.nn.functional.conv_transpose*d`` takes.

    >>> from hypothesis import find
    >>> case = find(transposed_conv_specs(dims=1, stride=2), lambda case: case.output_padding[0] > 0)
    >>> case.output_padding, case.output_size == case.spec.input_size
    ((1,), True)
    >>> case = find(transposed_conv_specs(dims=1, stride=1, dilation=3, match_input=False),
    ...             lambda case: case.output_padding[0] > 0)
    >>> 0 < case.output_padding[0] < 3, case.spec.dilation     # output_padding ≥ stride: the dilation allows it
    (True, (3,))
    """
    return _transposed(_transposed_options(**filters), boolean("match_input", match_input))


# The combinations that broke real frameworks, as filters (see historically_broken).
BROKEN_FORWARD: dict[str, dict[str, Any]] = {
    "groups × stride": dict(groups=(2, 3), stride=(2, 3)),
    "asymmetric padding": dict(padding="pairs", padding_amount=(0, 2), asymmetric=True),
    "circular padding": dict(padding_modes="circular", padding=("int", "tuple", "pairs"), padding_amount=(1, 2)),
    "stride-2 same": dict(padding="same_upper", stride=2),
    "1×1 with padding": dict(kernel_size=1, padding=("int", "tuple", "pairs"), padding_amount=(1, 2)),
    "1×1 with stride": dict(kernel_size=1, stride=(2, 3)),
}
BROKEN_TRANSPOSED: dict[str, dict[str, Any]] = {
    "groups × stride": dict(groups=(2, 3), stride=(2, 3)),
    "dilation × output_padding": dict(dilation=(2, 3), stride=(2, 3)),  # and output_padding ≥ 1 on every axis
    "1×1 with stride": dict(kernel_size=1, stride=(2, 3)),
}


def historically_broken(*, transposed: bool = False, **filters: Any) -> st.SearchStrategy[Any]:
    """ConvSpecs (``TransposedConv`` cases with ``transposed=True``) drawn mostly from the
    combinations real frameworks computed wrongly, each as likely as the others and as an
    unconstrained draw (``filters``: ``conv_specs``' dims, layouts, conventions, bias, max_terms, …;
    a combination overrides the filters it sets). Transposed cases match the input
    (``transposed_conv_specs(match_input=True)``).

    Forward (``BROKEN_FORWARD``): groups > 1 with stride > 1 (the silent wrong-gradient class of
    pytorch#50042 and pytorch#51430); asymmetric (before ≠ after) padding, as TensorFlow's 'SAME'
    places it (tensorflow#7969, keras#22876); circular padding; 'SAME' at stride 2 (TensorFlow's and
    ONNX's SAME_UPPER, which PyTorch's 'same' refuses; onnx#2333); 1×1 kernels with padding or with
    stride. Transposed (``BROKEN_TRANSPOSED``): groups with stride; dilation > 1 with a nonzero
    output_padding on every axis (flax#2577; at stride ≥ 2, so the case still matches the input);
    1×1 with stride.

    >>> from hypothesis import find
    >>> case = find(historically_broken(transposed=True, dims=2), lambda case: case.spec.dilation[0] > 1
    ...             and min(case.output_padding) > 0)
    >>> min(case.output_padding) > 0 and case.spec.padding_mode == "zeros"
    True
    """
    transposed = boolean("transposed", transposed)
    options = _transposed_options if transposed else _options
    branches = [_transposed(options(**filters)) if transposed else _specs(options(**filters))]
    for name, changes in (BROKEN_TRANSPOSED if transposed else BROKEN_FORWARD).items():
        combination = {key: value for key, value in changes.items() if key != "asymmetric"}
        chosen = replace(options(**{**filters, **combination}), asymmetric="asymmetric" in changes)
        least = 1 if name == "dilation × output_padding" else 0
        branches.append(_transposed(chosen, True, least) if transposed else _specs(chosen))
    return st.sampled_from(branches).flatmap(lambda branch: branch)


conv_specs.__signature__ = inspect.signature(_options).replace(  # type: ignore[attr-defined]
    return_annotation="st.SearchStrategy[ConvSpec]")
