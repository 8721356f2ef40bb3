"""scipy's correlations and convolutions as presets: ``scipy.signal.correlate/convolve`` (N-D),
``correlate2d/convolve2d`` and ``scipy.ndimage.correlate/convolve``, one channel, no batch.

scipy's arrays have no channel axis: x (*n), w (*K), y (*out) are symconv's (1, *n), (1, 1, *K),
(1, *out). ``convolve`` is the true convolution (symconv's ``convention='convolution'``, the
kernel flipped). Per axis, with kernel size K:

- scipy.signal, mode 'full': padding (K − 1, K − 1); 'valid': none (K ≤ n: scipy swaps the
  arrays otherwise); 'same': the centre n of 'full', from (K − 1)//2 on, i.e. padding
  K − 1 − ⌊(K − 1)/2⌋ BEFORE and ⌊(K − 1)/2⌋ after (the odd one before, unlike torch's 'same');
  except ``correlate2d``, whose 'same' is ``convolve2d``'s of the flipped kernel: ⌊(K − 1)/2⌋
  before, the odd one after (so correlate and correlate2d differ for even kernels).
  The 2-D functions' ``boundary``: 'fill' (``fillvalue`` 0) pads zeros, 'wrap' is circular.
- scipy.ndimage: the output has the input's size; the kernel's centre is ⌊K/2⌋ + origin, so
  ``correlate`` pads ⌊K/2⌋ + origin before and ``convolve`` (which mirrors the origin) pads
  ⌊(K − 1)/2⌋ − origin before, the rest of K − 1 after. ``mode``: 'constant' (``cval`` 0) and
  'grid-constant' pad zeros, 'nearest' is replicate, 'mirror' is symconv's (and torch's) reflect
  (d c b | a b c d), 'wrap'/'grid-wrap' circular.

scipy's 'reflect' (ndimage) and 'symm' (signal) repeat the edge sample (c b a | a b c d): no
symconv padding mode is that, except where the padding is at most 1 (then it is replicate's).

scipy.ndimage skips every weight with |w| ≤ DBL_EPSILON (2.2e-16) as if it were 0, so it is the
preset's convolution except for such tiny weights (it is not bilinear there).
"""

from __future__ import annotations

from numbers import Real
from typing import Any

from ..errors import SpecError, integer
from ..interop.specs import valid_shape
from .conventions import checked_spec
from .layer import ArrayMap, FrameworkConv

NDIMAGE_MODES = {"constant": "zeros", "grid-constant": "zeros", "nearest": "replicate", "mirror": "reflect",
                 "wrap": "circular", "grid-wrap": "circular", "reflect": "symmetric", "grid-mirror": "symmetric"}
SIGNAL_BOUNDARIES = {"fill": "zeros", "wrap": "circular", "symm": "symmetric"}
SYMMETRIC = ("repeats the edge sample (x[-1] = x[0]); symconv's padding modes are torch's, whose 'reflect' does "
             "not (x[-1] = x[1]): only a padding of at most 1 (replicate) is a symconv padding")


def _functions() -> tuple[tuple[Any, str, str, str], ...]:
    """(function, family, convention, name) of every scipy function ``from_scipy`` reads."""
    import scipy.ndimage
    import scipy.signal
    return ((scipy.signal.correlate, "signal", "cross-correlation", "scipy.signal.correlate"),
            (scipy.signal.convolve, "signal", "convolution", "scipy.signal.convolve"),
            (scipy.signal.correlate2d, "signal2d", "cross-correlation", "scipy.signal.correlate2d"),
            (scipy.signal.convolve2d, "signal2d", "convolution", "scipy.signal.convolve2d"),
            (scipy.ndimage.correlate, "ndimage", "cross-correlation", "scipy.ndimage.correlate"),
            (scipy.ndimage.convolve, "ndimage", "convolution", "scipy.ndimage.convolve"))


def _signal_pads(mode: Any, sizes: tuple[int, ...], kernel: tuple[int, ...], in2_shape: Any,
                 odd_after: bool) -> list[tuple[int, int]]:
    if not isinstance(mode, str) or mode not in ("full", "same", "valid"):
        raise SpecError("mode", mode, "must be 'full', 'valid' or 'same'")
    if mode == "full":
        return [(k - 1, k - 1) for k in kernel]
    if mode == "same":
        return [((k - 1) // 2, k - 1 - (k - 1) // 2) if odd_after else (k - 1 - (k - 1) // 2, (k - 1) // 2)
                for k in kernel]
    if any(k > n for k, n in zip(kernel, sizes)):   # mode 'valid'
        raise SpecError("in2_shape", in2_shape, f"mode='valid' needs in2 no larger than in1 {sizes} on every "
                                                "axis (scipy swaps the two arrays otherwise)")
    return [(0, 0)] * len(kernel)


def _ndimage_pads(origin: Any, kernel: tuple[int, ...], convention: str) -> list[tuple[int, int]]:
    origins = origin if isinstance(origin, (tuple, list)) else (origin,) * len(kernel)
    if len(origins) != len(kernel):
        raise SpecError("origin", origin, f"must be an int or {len(kernel)} ints")
    pads = []
    for k, o in zip(kernel, (integer("origin", o) for o in origins)):
        before = k // 2 + o if convention == "cross-correlation" else (k - 1) // 2 - o
        if not 0 <= before <= k - 1:
            raise SpecError("origin", origin, f"must keep the kernel's centre ⌊K/2⌋ + origin inside the kernel "
                                              f"(-(K//2) ≤ origin ≤ (K-1)//2, scipy's rule; K = {k})")
        pads.append((before, k - 1 - before))
    return pads


def _padding_mode(argument: str, value: Any, table: dict[str, str], pads: list[tuple[int, int]]) -> str:
    """symconv's padding mode for scipy's boundary ``value`` (of the argument ``argument``)."""
    if not isinstance(value, str) or value not in table:
        raise SpecError(argument, value, f"must be one of {tuple(table)}")
    mode = table[value]
    if mode == "symmetric":
        if max(max(pair) for pair in pads) > 1:
            raise SpecError(argument, value, f"{SYMMETRIC}; here the padding is {tuple(pads)}")
        return "replicate"
    return mode


def from_scipy(function: Any, in1_shape: Any, in2_shape: Any, mode: Any = None, *, boundary: Any = "fill",
               fillvalue: Any = 0, cval: Any = 0.0, origin: Any = 0) -> FrameworkConv:
    """The conv ``function(in1, in2, mode, …)`` computes, for one of scipy's correlate/convolve
    functions (recognised by identity); ``mode`` None is the function's default ('full' for
    scipy.signal, 'reflect' for scipy.ndimage); ``boundary``/``fillvalue`` are the 2-D functions',
    ``cval``/``origin`` ndimage's.

    >>> import scipy.signal
    >>> layer = from_scipy(scipy.signal.correlate, (6,), (4,), "same")   # the odd padding row before
    >>> layer.spec.padding, layer.batched, layer.input_map.describe()
    (((2, 1),), False, 'reshaped (6,) → (1, 6)')
    >>> from_scipy(scipy.signal.correlate2d, (5, 5), (5, 5), "same", boundary="symm")
    Traceback (most recent call last):
    ...
    symconv.errors.SpecError: boundary='symm': repeats the edge sample ...
    """
    found = next((entry for entry in _functions() if entry[0] is function), None)
    if found is None:
        raise SpecError("function", f"<{type(function).__name__}>", "must be scipy.signal.correlate, convolve, "
                        "correlate2d, convolve2d, scipy.ndimage.correlate or convolve (scipy's own function)")
    _, family, convention, name = found
    sizes = valid_shape("in1_shape", in1_shape)
    kernel = valid_shape("in2_shape", in2_shape, len(sizes))
    if len(sizes) not in (1, 2, 3) or (family == "signal2d" and len(sizes) != 2):
        raise SpecError("in1_shape", in1_shape, "must have 2 axes" if family == "signal2d" else "must have 1 to 3 axes")
    arguments: dict[str, Any] = {"in1_shape": in1_shape, "in2_shape": in2_shape, "mode": mode}
    if family == "ndimage":
        mode = "reflect" if mode is None else mode
        pads = _ndimage_pads(origin, kernel, convention)
        padding_mode = _padding_mode("mode", mode, NDIMAGE_MODES, pads)
        if padding_mode == "zeros" and not (isinstance(cval, Real) and cval == 0):
            raise SpecError("cval", cval, "must be 0: a constant cval ≠ 0 makes the map affine, not linear")
        arguments |= {"mode": mode, "cval": cval, "origin": origin}
        names = {"padding": "mode", "kernel_size": "in2_shape", "input_size": "in1_shape"}
    else:
        mode = "full" if mode is None else mode
        pads = _signal_pads(mode, sizes, kernel, in2_shape, name == "scipy.signal.correlate2d")
        padding_mode = "zeros"
        if family == "signal2d":
            padding_mode = _padding_mode("boundary", boundary, SIGNAL_BOUNDARIES, pads)
            if padding_mode == "zeros" and not (isinstance(fillvalue, Real) and fillvalue == 0):
                raise SpecError("fillvalue", fillvalue, "must be 0: a fill value ≠ 0 makes the map affine, not linear")
            arguments |= {"boundary": boundary, "fillvalue": fillvalue}
        names = {"padding": "boundary" if family == "signal2d" else "mode", "kernel_size": "in2_shape",
                 "input_size": "in1_shape"}
    spec = checked_spec(names, arguments, in_channels=1, out_channels=1, kernel_size=kernel, input_size=sizes,
                        padding=tuple(pads), padding_mode=padding_mode, convention=convention, bias=False)
    call = f"{name}(in1, in2, " + ", ".join(f"{k}={v!r}" for k, v in list(arguments.items())[2:]) + ")"
    maps = (ArrayMap(sizes, spec.input_shape, tuple(range(len(sizes) + 1))),
            ArrayMap(kernel, spec.weight_shape, tuple(range(len(sizes) + 2))),
            ArrayMap(spec.output_size, spec.output_shape, tuple(range(len(sizes) + 1))))
    options = {k: v for k, v in arguments.items() if k not in ("in1_shape", "in2_shape", "mode")}

    def rebuild(size: tuple[int, ...]) -> FrameworkConv:
        return from_scipy(function, size, in2_shape, mode, **options)

    return FrameworkConv("scipy", call, spec, *maps, batched=False, arguments=tuple(arguments.items()),
                         rebuild=rebuild)
