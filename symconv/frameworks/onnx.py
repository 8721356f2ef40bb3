"""ONNX's Conv and ConvTranspose nodes in the operator specification's own words (``from_onnx``).

ONNX is NCHW with OIHW weights, PyTorch's layouts, so every array map is the identity. Per spatial
axis i, with input size n, kernel K, stride s, dilation d and span d·(K − 1) + 1:

    Conv           pads = [x1_begin, x2_begin, …, x1_end, x2_end, …] (default 0); auto_pad
                   VALID: no padding; SAME_UPPER/SAME_LOWER: output ⌈n/s⌉ and total padding
                   max((⌈n/s⌉ − 1)·s + span − n, 0), the odd one at the end (UPPER) or the
                   beginning (LOWER)
    ConvTranspose  input m, output_padding a (default 0): without output_shape, the output is
                   s·(m − 1) + a + span − pads_begin − pads_end; with output_shape o (or o = m·s
                   for auto_pad SAME_*), total = s·(m − 1) + a + span − o is split
                   SAME_UPPER: (⌊total/2⌋, total − ⌊total/2⌋), otherwise (total − ⌊total/2⌋,
                   ⌊total/2⌋) as (begin, end), and pads is ignored

A ConvTranspose node computes the transposed convolution of the forward conv with the same
weight, stride, dilation, group and those pads; it crops pads_begin outputs at the start, as
``symconv.forms.transpose.conv_transpose`` does. Absent attributes take the specification's
defaults (group 1, strides and dilations 1, kernel_shape from W).
"""

from __future__ import annotations

from typing import Any

from ..errors import SpecError
from ..pattern import kernel_span, smallest_input_size
from ..spec import ConvSpec
from .conventions import same_total
from .layer import ArrayMap, FrameworkConv

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")
ATTRIBUTES = {"Conv": ("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"),
              "ConvTranspose": ("auto_pad", "dilations", "group", "kernel_shape", "output_padding",
                                "output_shape", "pads", "strides")}


def _where(node: Any, attribute: str) -> str:
    """The parameter name of an attribute in messages: ``Conv('conv1').pads``."""
    return f"{node.op_type}({node.name!r}).{attribute}" if node.name else f"{node.op_type}.{attribute}"


def node_attributes(node: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The node's attributes as Python values (``onnx.helper.get_attribute_value``); SpecError for
    one that is not in ``allowed`` (the attributes symconv reads as the specification states them)
    or that is given twice."""
    from onnx import helper
    values: dict[str, Any] = {}
    for attribute in node.attribute:
        value = helper.get_attribute_value(attribute)
        if attribute.name not in allowed:
            raise SpecError(_where(node, attribute.name), value, f"is not read by symconv ({node.op_type} "
                            f"attributes read: {', '.join(allowed) or 'none'}), so the node is refused rather "
                            f"than computed without it")
        if attribute.name in values:
            raise SpecError(_where(node, attribute.name), value, "is given twice")
        if isinstance(value, bytes):
            try:
                value = value.decode()
            except UnicodeDecodeError:
                raise SpecError(_where(node, attribute.name), value, "must be UTF-8 text (a STRING attribute "
                                "of the ONNX specification)") from None
        values[attribute.name] = value
    return values


def _ints(node: Any, attributes: dict[str, Any], name: str, length: int, default: int | None,
          minimum: int) -> tuple[int, ...] | None:
    """The INTS attribute ``name`` with ``length`` entries ≥ ``minimum`` (``default`` on every axis
    when absent; None when absent without a default)."""
    if name not in attributes:
        return None if default is None else (default,) * length
    value = attributes[name]
    if not isinstance(value, list) or len(value) != length or any(
            isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in value):
        raise SpecError(_where(node, name), value, f"must be {length} integers ≥ {minimum} (the ONNX "
                        f"operator specification, for inputs with {length if name != 'pads' else length // 2} "
                        f"spatial axes)")
    return tuple(value)


def _same_split(total: int, auto_pad: str) -> tuple[int, int]:
    """(begin, end) of an auto_pad SAME_* total padding: the odd one at the end for SAME_UPPER, at the
    beginning for SAME_LOWER.

    >>> _same_split(3, "SAME_UPPER"), _same_split(3, "SAME_LOWER")
    ((1, 2), (2, 1))
    """
    return (total // 2, total - total // 2) if auto_pad == "SAME_UPPER" else (total - total // 2, total // 2)


def onnx_padding(node: Any, attributes: dict[str, Any], size: tuple[int, ...], kernel: tuple[int, ...],
                 stride: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """The (begin, end) padding of a Conv or pooling node on inputs of spatial ``size`` from
    auto_pad and pads, as the ONNX specification states them (see the module docstring).

    >>> from onnx import helper
    >>> node = helper.make_node("Conv", ["X", "W"], ["Y"], auto_pad="SAME_LOWER", strides=[2])
    >>> onnx_padding(node, {"auto_pad": "SAME_LOWER"}, (5,), (2,), (2,), (1,))   # ⌈5/2⌉ = 3, total 1
    ((1, 0),)
    """
    dims = len(size)
    auto_pad = attributes.get("auto_pad", "NOTSET")
    if auto_pad not in AUTO_PADS:
        raise SpecError(_where(node, "auto_pad"), auto_pad, f"must be one of {', '.join(AUTO_PADS)}")
    pads = _ints(node, attributes, "pads", 2 * dims, None, 0)
    if auto_pad != "NOTSET" and pads is not None:
        raise SpecError(_where(node, "pads"), list(pads), f"cannot be used together with auto_pad={auto_pad} (the "
                        f"ONNX specification)")
    if auto_pad == "VALID":
        return ((0, 0),) * dims
    if auto_pad == "NOTSET":
        pads = pads or (0,) * (2 * dims)
        return tuple(zip(pads[:dims], pads[dims:]))   # [x1_begin, x2_begin, …, x1_end, x2_end, …]
    if any(d != 1 for d in dilation):
        raise SpecError(_where(node, "dilations"), list(dilation), f"with auto_pad={auto_pad}: onnxruntime "
                        f"refuses dilation with SAME_* padding, so the reading could not be checked against "
                        f"it; write the padding in pads")
    totals = [same_total(n, k, s, d) for n, k, s, d in zip(size, kernel, stride, dilation)]
    if node.op_type != "Conv" and min(totals) < 0:   # measured: onnxruntime's pools then shift the windows
        raise SpecError(_where(node, "auto_pad"), auto_pad, f"with strides {list(stride)} longer than the kernel "
                        f"{list(kernel)} reach on inputs of size {list(size)}, the total padding "
                        f"(⌈n/s⌉ − 1)·s + K − n = {totals} is negative: onnxruntime's {node.op_type} then moves "
                        f"its windows, which symconv does not read; write the padding in pads")
    return tuple(_same_split(max(total, 0), auto_pad) for total in totals)


def _shape(node: Any, name: str, value: Any, length: int | None = None) -> tuple[int, ...]:
    """A tensor shape: 3 to 5 integers ≥ 1 (batch, channels, 1 to 3 spatial axes)."""
    ok = isinstance(value, (tuple, list)) and 3 <= len(value) <= 5 and (length is None or len(value) == length)
    if not ok or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
        expected = f"{length} integers ≥ 1" if length else "3 to 5 integers ≥ 1 (N, C, 1 to 3 spatial axes)"
        raise SpecError(f"{node.op_type}.{name}", value, f"must be {expected}")
    return tuple(value)


def _kernel(node: Any, attributes: dict[str, Any], w: tuple[int, ...]) -> tuple[int, ...]:
    kernel = _ints(node, attributes, "kernel_shape", len(w) - 2, None, 1)
    if kernel is not None and kernel != w[2:]:
        raise SpecError(_where(node, "kernel_shape"), list(kernel), f"must equal W's spatial shape {w[2:]}")
    return w[2:]


def from_onnx(node: Any, x_shape: tuple[int, ...], w_shape: tuple[int, ...]) -> FrameworkConv:
    """The ONNX ``Conv`` or ``ConvTranspose`` node ``node`` (an ``onnx.NodeProto``) on an input X of
    shape ``x_shape`` (N, C, D1, …) with weight W of shape ``w_shape`` (Conv: (M, C/group, k1, …);
    ConvTranspose: (C, M/group, k1, …)).

    >>> from onnx import helper
    >>> node = helper.make_node("Conv", ["X", "W"], ["Y"], pads=[0, 1], strides=[2])
    >>> layer = from_onnx(node, (1, 1, 4), (1, 1, 2))
    >>> layer.spec.padding, layer.spec.output_size
    (((0, 1),), (2,))
    >>> layer.apply([[[1, 2, 3, 4]]], [[[1, 10]]]).tolist()          # [1 + 20, 3 + 40]
    [[[21, 43]]]
    >>> t = from_onnx(helper.make_node("ConvTranspose", ["X", "W"], ["Y"], strides=[2], output_shape=[4]),
    ...               (1, 1, 2), (1, 1, 2))
    >>> t.transposed, t.spec.input_size, t.apply([[[1, 10]]], [[[1, 2]]]).tolist()
    (True, (4,), [[[1, 2, 10, 20]]])
    """
    if node.op_type not in ATTRIBUTES:
        raise SpecError("node.op_type", node.op_type, "from_onnx reads Conv and ConvTranspose nodes")
    x, w = _shape(node, "x_shape", x_shape), _shape(node, "w_shape", w_shape, len(x_shape))
    attributes = node_attributes(node, ATTRIBUTES[node.op_type])
    dims = len(x) - 2
    kernel = _kernel(node, attributes, w)
    group = attributes.get("group", 1)
    if isinstance(group, bool) or not isinstance(group, int) or group < 1:
        raise SpecError(_where(node, "group"), group, "must be an integer ≥ 1")
    stride = _ints(node, attributes, "strides", dims, 1, 1)
    dilation = _ints(node, attributes, "dilations", dims, 1, 1)
    transposed = node.op_type == "ConvTranspose"
    channels = w[0] if transposed else w[1] * group
    if x[1] != channels:
        rule = "W.shape[0]" if transposed else f"W.shape[1]·group = {w[1]}·{group}"
        raise SpecError(f"{node.op_type}.x_shape", x_shape, f"must have {channels} channels ({rule})")
    rebuild = lambda size: from_onnx(node, (*x[:2], *size), w)  # noqa: E731 - the same call, another size
    arguments = (("x_shape", x), ("w_shape", w), *sorted(attributes.items()))
    call = f"onnx {node.op_type}({', '.join(f'{k}={v}' for k, v in sorted(attributes.items()))})"
    bias = len(node.input) > 2 and node.input[2] != ""   # B is optional
    if transposed:
        spec, output_padding = _transposed(node, attributes, x, w, kernel, stride, dilation, group)
        out_shape = (spec.in_channels, *(n + a for n, a in zip(spec.input_size, output_padding)))
    else:
        padding = onnx_padding(node, attributes, x[2:], kernel, stride, dilation)
        spec = _spec(node, x[1], w[0], kernel, x[2:], stride, padding, dilation, group, bias)
        output_padding, out_shape = (), spec.output_shape
    return FrameworkConv("onnx", call, spec, ArrayMap.identity(tuple(x[1:])), ArrayMap.identity(spec.weight_shape),
                         ArrayMap.identity(tuple(out_shape)), transposed=transposed, output_padding=output_padding,
                         arguments=arguments, rebuild=rebuild, bias=bias if transposed else None)


def _spec(node: Any, c_in: int, c_out: int, kernel: tuple[int, ...], size: tuple[int, ...],
          stride: tuple[int, ...], padding: tuple[tuple[int, int], ...], dilation: tuple[int, ...],
          group: int, bias: bool) -> ConvSpec:
    """The ConvSpec, its errors named at the node."""
    try:
        return ConvSpec(c_in, c_out, kernel, size, stride=stride, padding=padding, dilation=dilation,
                        groups=group, bias=bias)
    except SpecError as error:
        raise SpecError(_where(node, error.parameter), error.value, error.rule) from None


def _transposed(node: Any, attributes: dict[str, Any], x: tuple[int, ...], w: tuple[int, ...],
                kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
                group: int) -> tuple[ConvSpec, tuple[int, ...]]:
    """(the forward conv a ConvTranspose node transposes, its output_padding): input size
    s·(m − 1) + span − pads_begin − pads_end (the output before output_padding), pads from
    ``_transposed_pads``."""
    dims, m = len(x) - 2, x[2:]
    output_padding = _ints(node, attributes, "output_padding", dims, 0, 0)
    for a, s in zip(output_padding, stride):
        if a >= s:
            raise SpecError(_where(node, "output_padding"), list(output_padding), f"must be < strides "
                            f"{list(stride)} on every axis: the ONNX specification allows < max(stride, "
                            f"dilation), but onnxruntime refuses a ≥ stride (the output's forward conv would not "
                            f"have the input's size)")
    pads = _transposed_pads(node, attributes, m, kernel, stride, dilation, output_padding)
    size = tuple(smallest_input_size(n, k, s, d, pb + pe)
                 for n, k, s, d, (pb, pe) in zip(m, kernel, stride, dilation, pads))
    if min(size) < 1:
        raise SpecError(_where(node, "pads"), [p for pair in zip(*pads) for p in pair], f"leave an output of size "
                        f"{tuple(n + a for n, a in zip(size, output_padding))} (s·(m − 1) + a + span − pads); "
                        f"every axis needs at least 1")
    # bias=False: a transposed layer adds its bias B after conv_transpose (FrameworkConv.apply)
    return _spec(node, w[1] * group, x[1], kernel, size, stride, pads, dilation, group, False), output_padding


def _transposed_pads(node: Any, attributes: dict[str, Any], m: tuple[int, ...], kernel: tuple[int, ...],
                     stride: tuple[int, ...], dilation: tuple[int, ...],
                     output_padding: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """A ConvTranspose node's (begin, end) pads: from output_shape (or m·s for auto_pad SAME_*) by the
    total-padding rule, else from pads (VALID: none)."""
    dims = len(m)
    auto_pad = attributes.get("auto_pad", "NOTSET")
    if auto_pad not in AUTO_PADS:
        raise SpecError(_where(node, "auto_pad"), auto_pad, f"must be one of {', '.join(AUTO_PADS)}")
    target = _ints(node, attributes, "output_shape", dims, None, 1)
    if target is None and auto_pad.startswith("SAME"):
        target = tuple(n * s for n, s in zip(m, stride))
    if target is None:
        return onnx_padding(node, attributes, m, kernel, stride, dilation)
    full = tuple(s * (n - 1) + a + kernel_span(k, d) for n, s, a, k, d in zip(m, stride, output_padding, kernel,
                                                                                 dilation))
    if any(o > f for o, f in zip(target, full)):
        raise SpecError(_where(node, "output_shape"), list(target), f"exceeds s·(m − 1) + output_padding + "
                        f"d·(K − 1) + 1 = {full}: the total padding would be negative, which symconv does not "
                        f"read (refused, although onnxruntime runs some such nodes)")
    return tuple(_same_split(f - o, "SAME_UPPER" if auto_pad == "SAME_UPPER" else "SAME_LOWER")
                 for f, o in zip(full, target))

