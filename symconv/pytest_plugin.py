"""pytest plugin (entry point ``pytest11: symconv``): check convolution code over many layers.

    import pytest, symconv

    @pytest.mark.symconv_specs(symconv.ConvSpec(2, 3, 3, (5, 5)),        # explicit layers, and/or
                               in_channels=[1, 2], out_channels=[2], kernel_size=[2, 3],
                               input_size=[(6, 6)], stride=[1, 2], padding=[0, 1])   # a grid
    def test_my_conv(conv_spec, conv_check):
        result = conv_check(my_conv, conv_spec)           # symconv.testing.assert_conv_equivalent
        assert result.established == "proved"

The marker parametrises the test's ``conv_spec`` argument: positional arguments are ConvSpecs (or
dicts of ConvSpec arguments), keyword arguments a grid whose every combination is one ConvSpec;
combinations ConvSpec rejects jointly (a kernel larger than the padded input, groups not dividing
the channels, …) are left out, and the test ids name the layers that run; a grid value that is
wrong on its own (padding="smae", -1, 1.5, True: rejected in every combination by a rule that
names no other argument) and an argument ConvSpec does not have are errors naming the marker,
the test, the argument and the value. ``conv_check(fn, spec=None, layout=None, mode="symbolic",
batched=False)`` defaults ``spec`` to the test's ``conv_spec``. The terminal summary counts what
was proved and what was only verified by probing. ``conv_transpose_check`` and
``conv_gradients_check`` check a transposed convolution ``fn(g, w, b)`` and a backward pass
``backward_fn(x, w, g)`` of the forward layer the same way
(``symconv.testing.assert_conv_transpose_equivalent``, ``assert_conv_gradients_equivalent``), and
the summary counts them as transposed and backward checks.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import product
from typing import TYPE_CHECKING, Any

import pytest

from .errors import SpecError

if TYPE_CHECKING:
    from .spec import ConvSpec
    from .testing import CheckResult

# Every pytest session of an environment with symconv installed imports this module (entry point
# pytest11), so it imports symconv's layers (NumPy) and checks (SymPy) only inside the hooks and
# fixtures that a test using the marker or a fixture reaches.

MARKER = "symconv_specs"
_RESULTS = pytest.StashKey[list]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*specs, **grid): parametrise the test's conv_spec argument over "
                   "symconv.ConvSpec layers (ConvSpecs, dicts of ConvSpec arguments, or a grid of "
                   "ConvSpec argument lists)")
    config.stash[_RESULTS] = []


def _arguments() -> tuple[str, ...]:
    from dataclasses import fields

    from .spec import ConvSpec
    return tuple(f.name for f in fields(ConvSpec))


def _check_names(names: Any) -> None:
    known = _arguments()
    for name in names:
        if name not in known:
            raise SpecError(MARKER, name, f"is not a ConvSpec argument (they are {', '.join(known)})")


def _joint(error: SpecError, name: str) -> bool:
    """Whether ``error`` (raised for a grid point) depends on another argument: its rule names one
    (``kernel … > input 4 + padding 0``, ``must divide in_channels``), so another combination may hold."""
    own = {name, *name.split("_"), "size"}   # "size" is in kernel_size and input_size alike
    words = {w for arg in _arguments() for w in (arg, *arg.split("_")) if len(w) > 3} - own
    return any(word in error.rule for word in words)


def specs_of(*specs: ConvSpec | dict, **grid: Any) -> list[ConvSpec]:
    """The layers a ``symconv_specs`` marker names: the given ones, then every valid grid point.
    SpecError for an argument ConvSpec does not have, and for a grid value rejected in every
    combination by a rule of its own (``_joint``)."""
    from .spec import ConvSpec, check_spec
    layers = [check_spec(s, "specs") if isinstance(s, ConvSpec) else _spec(s) for s in specs]
    if grid:
        _check_names(grid)
        names = list(grid)
        options = [v if isinstance(v, list) else [v] for v in grid.values()]
        alone: dict[tuple[int, int], SpecError | None] = {}   # (key, value index) → its own error, if any
        for choice in product(*(range(len(o)) for o in options)):
            try:
                layers.append(ConvSpec(**{n: options[k][i] for k, (n, i) in enumerate(zip(names, choice))}))
                for k, i in enumerate(choice):
                    alone[k, i] = None
            except SpecError as error:  # an impossible combination of the grid: not a layer
                for k, i in enumerate(choice):
                    if names[k] == error.parameter and not _joint(error, names[k]):
                        alone.setdefault((k, i), error)
                    else:
                        alone[k, i] = None
        for (k, i), error in alone.items():
            if error is not None:
                raise SpecError(f"{MARKER}({names[k]}=…)", options[k][i], f"no combination of the grid "
                                f"accepts it: {error}")
    if not layers:
        raise SpecError(MARKER, (specs, grid), "names no valid ConvSpec")
    return layers


def _spec(arguments: Any) -> ConvSpec:
    from .spec import ConvSpec
    if not isinstance(arguments, dict):
        raise SpecError(MARKER, arguments, "positional arguments must be ConvSpecs or dicts of "
                                           "ConvSpec arguments")
    _check_names(arguments)
    return ConvSpec(**arguments)


def spec_id(spec: ConvSpec) -> str:
    """A compact test id, e.g. ``2-D-C_in=2-C_out=3-input=5x5-kernel=3x3-bias``."""
    return spec.describe().replace("×", "x").replace(", ", "-").replace(" ", "")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None or "conv_spec" not in metafunc.fixturenames:
        return
    try:
        layers = specs_of(*marker.args, **marker.kwargs)
    except SpecError as error:   # name the test: the marker's error aborts collecting its module
        raise SpecError(f"@pytest.mark.{MARKER} on {metafunc.definition.nodeid}", error.parameter,
                        f"{error.value!r}: {error.rule}") from None
    metafunc.parametrize("conv_spec", layers, ids=[spec_id(s) for s in layers])


@pytest.fixture
def conv_spec() -> ConvSpec:
    """The layer under test; parametrised by ``@pytest.mark.symconv_specs(...)``."""
    pytest.fail(f"conv_spec needs a @pytest.mark.{MARKER}(...) marker on the test", pytrace=False)


def _checker(request: pytest.FixtureRequest, name: str) -> Callable[..., CheckResult]:
    """The fixture function of ``symconv.testing.<name>``: its arguments in the same order (all
    may be passed by position, as conv_check always allowed), ``spec`` defaulting to the test's
    ``conv_spec`` and ``deadline`` to PROBE_DEADLINE; each result is counted in the summary."""
    from inspect import signature

    from . import testing
    assertion = getattr(testing, name)
    names = list(signature(assertion).parameters)[2:]   # after fn and spec
    results = request.config.stash[_RESULTS]

    def check(fn: Callable[..., Any], spec: ConvSpec | None = None, *args: Any, **options: Any) -> CheckResult:
        __tracebackhide__ = True
        if len(args) > len(names) or set(names[:len(args)]) & set(options):
            raise TypeError(f"{name}: too many arguments, or one given by position and by name")
        options.update(zip(names, args))
        if options.get("deadline") is None:
            options["deadline"] = testing.PROBE_DEADLINE
        layer = spec if spec is not None else request.getfixturevalue("conv_spec")
        result = assertion(fn, layer, **options)
        results.append(result)
        return result

    check.__name__ = name
    return check


@pytest.fixture
def conv_check(request: pytest.FixtureRequest) -> Callable[..., CheckResult]:
    """``conv_check(fn, spec=None, layout=None, mode="symbolic", batched=False, deadline=None,
    seed=None)``: assert that fn computes the layer (the test's ``conv_spec`` when spec is None)
    and return the CheckResult; ``deadline`` (seconds) defaults to
    ``symconv.testing.PROBE_DEADLINE``; ``seed`` repeats the random exact trials a failure names."""
    return _checker(request, "assert_conv_equivalent")


@pytest.fixture
def conv_transpose_check(request: pytest.FixtureRequest) -> Callable[..., CheckResult]:
    """``conv_transpose_check(fn, spec=None, output_padding=0, layout=None, mode="symbolic",
    batched=False, deadline=None, seed=None, exhaustive=False, rtol=None, atol=None)``: assert
    that ``fn(g, w, b)`` is the transposed convolution of the forward layer (the test's
    ``conv_spec`` when spec is None), as ``symconv.testing.assert_conv_transpose_equivalent``
    (``exhaustive``, ``rtol``/``atol``: its probe-mode options, passed on)."""
    return _checker(request, "assert_conv_transpose_equivalent")


@pytest.fixture
def conv_gradients_check(request: pytest.FixtureRequest) -> Callable[..., CheckResult]:
    """``conv_gradients_check(backward_fn, spec=None, layout=None, mode="symbolic", batched=False,
    deadline=None, seed=None, exhaustive=False, rtol=None, atol=None)``: assert that
    ``backward_fn(x, w, g)`` returns (grad_x, grad_w, grad_b) of the layer, as
    ``symconv.testing.assert_conv_gradients_equivalent`` (its probe-mode options passed on)."""
    return _checker(request, "assert_conv_gradients_equivalent")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    results = config.stash.get(_RESULTS, [])
    if not results:
        return
    proved = sum(r.mode == "symbolic" for r in results)
    within = sum(r.established.startswith("verified within tolerance") for r in results)
    probed = len(results) - proved - within
    kinds = [getattr(r, "checked", "") for r in results]
    transposed = sum(k.startswith("the transposed") for k in kinds)
    backward = sum(k.startswith("the backward") for k in kinds)
    which = (f" ({len(results) - transposed - backward} forward, {transposed} transposed, {backward} backward)"
             if transposed or backward else "")
    how = ("probing (exact probing or randomized identity testing, assuming bilinearity)" if which
           else "exact probing (assuming bilinearity)")
    terminalreporter.write_line(f"symconv: {len(results)} convolution check(s) passed{which}: {proved} proved, "
                                f"{probed} verified by {how}" + (f", {within} verified within a tolerance (rtol, atol)"
                                                                  if within else ""))
