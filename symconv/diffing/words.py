"""What differs between two layers, in words a user reads: the first parameter that differs, named
as symconv names it (PyTorch's words), and the layers named as their frameworks are.

>>> from symconv import ConvSpec
>>> from symconv.diffing.bilinear import as_layer
>>> a = as_layer(ConvSpec(1, 1, kernel_size=4, input_size=6, padding=((1, 2),)), "a")
>>> b = as_layer(ConvSpec(1, 1, kernel_size=4, input_size=6, padding=((2, 1),)), "b")
>>> explain(a, b, ("a", "b"))
('padding', 'a puts the extra padding element after; b puts it before')
"""

from __future__ import annotations

from typing import Any

from ..frameworks.layer import FrameworkConv
from .compare import axis_names

DISPLAY_NAMES = {"torch": "torch", "tensorflow": "TF", "keras": "Keras", "jax": "JAX", "onnx": "ONNX",
                 "scipy": "scipy"}
"""How the text names a framework (``FrameworkConv.framework``)."""
_CELLS = {"D": "plane", "H": "row", "W": "column"}


def labels(a: FrameworkConv, b: FrameworkConv) -> tuple[str, str]:
    """The two layers' names: their frameworks with a padding given as a word ("TF SAME", "ONNX"),
    or, when the framework is the same, with the argument that tells them apart ("ONNX SAME_UPPER",
    "ONNX SAME_LOWER") or else their functions ("scipy correlate2d"); ConvSpecs are "a" and "b",
    as ``symconv.diff(a, b)`` names them."""
    if a.framework != b.framework or a.framework == "symconv":
        return tuple(name if layer.framework == "symconv" else _name(layer, *_padding_argument(layer))
                     for name, layer in (("a", a), ("b", b)))  # type: ignore[return-value]
    given_a, given_b = dict(a.arguments), dict(b.arguments)
    for key in given_a:
        if key in given_b and _differ(given_a[key], given_b[key]):
            return _name(a, key, given_a[key]), _name(b, key, given_b[key])
    functions = [layer.call.split("(")[0].split(".")[-1] for layer in (a, b)]
    if functions[0] != functions[1]:   # scipy's correlate2d and convolve2d: the same arguments
        return f"{_name(a)} {functions[0]}", f"{_name(b)} {functions[1]}"
    return f"{_name(a)} (a)", f"{_name(b)} (b)"


def _padding_argument(layer: FrameworkConv) -> tuple[str, Any] | tuple[()]:
    """The layer's padding argument when it is a word ('SAME', 'SAME_LOWER'), to name the layer by."""
    return next(((key, value) for key, value in layer.arguments if "pad" in key and isinstance(value, str)), ())


def _differ(left: Any, right: Any) -> bool:
    try:
        return bool(left != right)
    except Exception:  # noqa: BLE001 - an argument without a plain comparison (an array) tells nothing apart
        return False


def _name(layer: FrameworkConv, key: str | None = None, value: Any = None) -> str:
    base = DISPLAY_NAMES.get(layer.framework, layer.framework)
    if key is None:
        return base
    return f"{base} {value}" if isinstance(value, str) else f"{base} {key}={value!r}"


def kernel_flips(layer: FrameworkConv) -> tuple[int, ...]:
    """The spatial axes on which the layer applies its weight array flipped: those its weight map
    flips, exchanged with all of them for a true convolution (``convention='convolution'``)."""
    spec = layer.spec
    first = 2 if spec.layout == "NCHW" else 0   # the kernel's first axis in the spec's weight
    mapped = {axis - first for axis in layer.weight_map.flip if 0 <= axis - first < spec.dims}
    everything = set(range(spec.dims)) if spec.convention == "convolution" else set()
    return tuple(sorted(mapped ^ everything))


def parameters(layer: FrameworkConv) -> dict[str, Any]:
    """The layer's parameters in PyTorch's words, in the order a difference is reported."""
    spec = layer.spec
    return {"transposed": layer.transposed, "kernel_size": spec.kernel_size, "stride": spec.stride,
            "dilation": spec.dilation, "groups": spec.groups, "padding_mode": spec.padding_mode,
            "padding": spec.padding, "kernel flip": kernel_flips(layer),
            "output_padding": tuple(layer.output_padding) or (0,) * spec.dims, "bias": layer.has_bias}


def explain(a: FrameworkConv, b: FrameworkConv, names: tuple[str, str]) -> tuple[str, str]:
    """(parameter, sentence): the first parameter of ``parameters`` that differs, said in words;
    ("array maps", …) when every parameter agrees and only the layouts' flips differ."""
    left, right = parameters(a), parameters(b)
    differing = [key for key in left if left[key] != right[key]]
    if differing:
        key = differing[0]
        also = f" (they also differ in {', '.join(differing[1:])})" if len(differing) > 1 else ""
        words = _sentence(key, left[key], right[key], names, a.spec.dims, a.transposed and b.transposed)
        return key, words + also
    return "array maps", (f"their parameters agree; the maps between the framework arrays and the layer "
                          f"differ ({names[0]}: {a.call}; {names[1]}: {b.call})")


def _flip_words(axes: tuple[int, ...], dims: int, transposed: bool) -> str:
    """How a layer applies its kernel: a transposed layer is the transpose of a forward conv, whose
    kernel it takes as given or flipped."""
    shown = " and ".join(axis_names(dims)[axis] for axis in axes)
    if transposed:
        return (f"transposes the convolution with its kernel flipped on {shown}" if axes
                else "transposes the cross-correlation with its kernel as given")
    return f"flips the kernel on {shown}" if axes else "applies the kernel unflipped (cross-correlation)"


def _sentence(key: str, left: Any, right: Any, names: tuple[str, str], dims: int, transposed: bool = False) -> str:
    A, B = names
    if key == "padding":
        return _padding_words(left, right, names, dims)
    if key == "kernel flip":
        return f"{A} {_flip_words(left, dims, transposed)}; {B} {_flip_words(right, dims, transposed)}"
    if key == "transposed":
        kinds = {True: "a transposed convolution", False: "a convolution"}
        return f"{A} is {kinds[left]}; {B} is {kinds[right]}"
    if key == "bias":
        return f"{A} {'adds a bias' if left else 'has no bias'}; {B} {'adds a bias' if right else 'has no bias'}"
    return f"{A} has {key}={_shown(left)}; {B} has {key}={_shown(right)}"


def _shown(value: Any) -> str:
    if isinstance(value, tuple) and len(set(value)) == 1 and not isinstance(value[0], tuple):
        return str(value[0])
    return str(value)


def _padding_words(left: tuple, right: tuple, names: tuple[str, str], dims: int) -> str:
    """"TF puts the extra padding row after; ONNX SAME_LOWER puts it before" for the axes whose
    totals agree and where only the odd one moved; both pairs for the other axes that differ."""
    A, B = names
    where = {True: "after", False: "before"}
    moved: dict[bool, list[str]] = {}
    pairs: dict[tuple, list[str]] = {}
    for axis, lp, rp in zip(axis_names(dims), left, right):
        if lp == rp:
            continue
        if abs(lp[0] - lp[1]) == 1 and lp == rp[::-1]:
            moved.setdefault(lp[1] > lp[0], []).append(_CELLS[axis] if dims > 1 else "element")
        else:
            pairs.setdefault((lp, rp), []).append(axis)
    said = [f"{A} puts the extra padding {' and '.join(cells)} {where[after]}; "
            f"{B} puts {'them' if len(cells) > 1 else 'it'} {where[not after]}" for after, cells in moved.items()]
    for (lp, rp), axes in pairs.items():
        on = f"on {' and '.join(axes)}, " if dims > 1 else ""
        said.append(f"{on}{A} pads {lp[0]} before and {lp[1]} after; {B} pads {rp[0]} before and {rp[1]} after")
    return "; ".join(said)
