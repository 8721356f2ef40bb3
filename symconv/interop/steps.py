"""Reading the network: each layer of an ``nn.Sequential`` classified (conv, convtranspose,
avgpool, linear, batchnorm, flatten, identity, elementwise) with the per-sample shapes around it,
a ``NetworkStep``; what is neither linear nor elementwise is refused with the rule."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

from ..errors import SpecError
from ..forms.transpose import transposed_spec
from ..spec import ConvSpec
from .specs import _adaptive_pool_spec, _avgpool_spec, spec_of, transposed_of, valid_shape
from .torch_code import ELEMENTWISE, _torch
from .unaltered import _children, _refuse_global_hooks, _refuse_torch_modes

NOT_LINEAR_RULE = ("is neither linear nor elementwise, so it has no FC-layer equivalent; to_mlp converts "
                   "Conv1d/2d/3d, ConvTranspose1d/2d/3d, AvgPool1d/2d/3d, AdaptiveAvgPool1d/2d/3d (fixed "
                   "windows), Linear, BatchNorm (eval), Flatten, Identity, Dropout (eval) and elementwise "
                   f"activations ({', '.join(ELEMENTWISE[:6])}, …)")


def _family(module: Any) -> tuple[str, int] | None:
    """(family, spatial dims) for the torch layers with a spatial shape (exactly their class), None
    for the others."""
    nn = _torch().nn
    families = {"conv": (nn.Conv1d, nn.Conv2d, nn.Conv3d),
                "convtranspose": (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d),
                "avgpool": (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d),
                "adaptiveavgpool": (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)}
    for family, classes in families.items():
        for dims, cls in enumerate(classes, start=1):
            if type(module) is cls:
                return family, dims
    return None


def _check_spatial(position: str, module: Any, dims: int, shape: tuple[int, ...],
                   channels: int | None = None) -> None:
    """SpecError unless the per-sample shape is (C, *dims spatial axes) with C = ``channels``."""
    if len(shape) != dims + 1 or channels not in (None, shape[0]):
        expected = f"C={channels}" if channels is not None else "C"
        raise SpecError(position, type(module).__name__, f"expects input ({expected}, {dims} spatial axes) "
                        f"per sample, gets {shape}")


MAX_DENSE_ENTRIES = 2 * 10**8   # entries of one layer's dense matrix A (1.6 GB in float64)


def refuse_dense(position: str, name: str, shape: tuple[int, ...], out_shape: tuple[int, ...]) -> None:
    """SpecError when a linear layer's dense matrix (∏out_shape × ∏shape) has more than MAX_DENSE_ENTRIES."""
    if prod(shape) * prod(out_shape) > MAX_DENSE_ENTRIES:
        raise SpecError(position, name, f"its dense matrix would have {'·'.join(map(str, out_shape))} × "
                        f"{'·'.join(map(str, shape))} entries, more than MAX_DENSE_ENTRIES={MAX_DENSE_ENTRIES} "
                        f"(to_mlp builds dense weights); use a smaller input_shape")


@dataclass(frozen=True)
class NetworkStep:
    """One layer of the network: its kind, where it sits, and the per-sample shapes around it.

    ``spec`` is the conv the layer is (conv, avgpool) or transposes (convtranspose: the forward
    layer whose output has the layer's input shape, see ``transposed_of``); ``pool_weight`` the
    fixed 1/divisor of a pool."""

    position: str
    module: Any
    kind: str            # conv | convtranspose | avgpool | linear | batchnorm | flatten | identity | elementwise
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    spec: ConvSpec | None = None
    pool_weight: object = None


def _check_weight_shapes(position: str, module: Any) -> None:
    """SpecError unless the weights have the shapes the layer's attributes say (attributes forged
    after construction would make the map read from them wrong, or torch fail)."""
    nn = _torch().nn
    family = _family(module)
    expected: dict[str, tuple] = {}
    if family is not None and family[0] == "conv":
        expected = {"weight": (module.out_channels, module.in_channels // module.groups, *module.kernel_size),
                    "bias": (module.out_channels,)}
    elif family is not None and family[0] == "convtranspose":
        expected = {"weight": (module.in_channels, module.out_channels // module.groups, *module.kernel_size),
                    "bias": (module.out_channels,)}
    elif type(module) is nn.Linear:
        expected = {"weight": (module.out_features, module.in_features), "bias": (module.out_features,)}
    elif type(module) in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d):
        expected = {name: (module.num_features,) for name in ("weight", "bias", "running_mean", "running_var")}
    elif type(module) is nn.PReLU:
        expected = {"weight": (module.num_parameters,)}
    if family is not None and family[0] in ("conv", "convtranspose") and (
            isinstance(module.groups, bool) or not isinstance(module.groups, int) or module.groups < 1
            or module.in_channels % module.groups or module.out_channels % module.groups):
        raise SpecError(position, f"{type(module).__name__}(groups={module.groups!r})", "groups must be an "
                        "integer ≥ 1 dividing in_channels and out_channels")
    for name, shape in expected.items():
        tensor = getattr(module, name, None)
        if tensor is not None and tuple(tensor.shape) != tuple(shape):
            raise SpecError(position, f"{type(module).__name__}.{name}", f"has shape {tuple(tensor.shape)}, "
                            f"but the layer's attributes say {tuple(shape)} (attributes changed after "
                            f"construction?)")


def _classify(position: str, module: Any, shape: tuple[int, ...]) -> tuple[str, ConvSpec | None, object]:
    """(kind, spec, pool weight) of one layer on per-sample inputs of ``shape``, or SpecError."""
    nn = _torch().nn
    _check_weight_shapes(position, module)
    name = type(module).__name__
    family = _family(module)
    if family is not None:
        kind, dims = family
        channels = module.in_channels if kind in ("conv", "convtranspose") else None
        _check_spatial(position, module, dims, shape, channels)
        if kind == "conv":
            return kind, spec_of(module, shape[1:]), None
        if kind == "convtranspose":
            try:
                spec = transposed_of(module, shape[1:])
                transposed_spec(spec, module.output_padding)
            except SpecError as error:  # torch's output_padding rule (or a spec rule), named at the layer
                raise SpecError(position, f"{name}({error.parameter}={error.value})", error.rule) from None
            return kind, spec, None
        if kind == "avgpool":
            return (kind, *_avgpool_spec(module, position, shape))
        return ("avgpool", *_adaptive_pool_spec(module, position, shape))
    if type(module) is nn.Linear:
        if shape != (module.in_features,):
            raise SpecError(position, name, f"expects {module.in_features} flat features per sample, "
                            f"gets shape {shape} (put a Flatten before it)")
        return "linear", None, None
    if type(module) in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d):
        if module.training or module.running_mean is None or module.running_var is None:
            raise SpecError(position, name, "BatchNorm must be in eval mode with running statistics "
                            "(model.eval()): in training mode it normalises by batch statistics, "
                            "which is not a fixed affine map")
        return "batchnorm", None, None
    if type(module) is nn.Flatten:
        if module.start_dim != 1 or module.end_dim != -1:
            raise SpecError(position, f"Flatten(start_dim={module.start_dim}, end_dim={module.end_dim})",
                            "only Flatten(start_dim=1, end_dim=-1) (vec of each sample) is supported")
        return "flatten", None, None
    if type(module) in (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
                        nn.FeatureAlphaDropout):
        if module.training and module.p > 0:
            raise SpecError(position, f"{name}(p={module.p}) in training mode", "Dropout in training mode "
                            "zeroes random entries, which is no fixed map; in eval mode (model.eval()) it "
                            "is the identity")
        return "identity", None, None
    if type(module) is nn.Identity:
        return "identity", None, None
    if type(module) is getattr(nn, name, None) and (name in ELEMENTWISE or name == "PReLU"
                                                    and module.num_parameters == 1):
        return "elementwise", None, None
    if type(module) is nn.PReLU:
        raise SpecError(position, f"PReLU(num_parameters={module.num_parameters})", "one slope per channel is "
                        "a different function per channel, but the proof's activation σ_ℓ is one function "
                        "applied to every feature of layer ℓ; only PReLU(num_parameters=1) is converted")
    rule = ("max pooling is not linear (max(a, b) is not a linear map) and not elementwise: "
            if "MaxPool" in name else f"{name} ") + NOT_LINEAR_RULE
    raise SpecError(position, name, rule)


def network_steps(model: Any, input_shape: tuple[int, ...]) -> list[NetworkStep]:
    """Classify each layer of an ``nn.Sequential`` and track the per-sample shape (C, *spatial) or
    (features,); refuse what is not linear or elementwise, and what is not exactly an unaltered torch
    class (``_refuse_altered``, ``_refuse_global_hooks``): a SpecError naming position and rule."""
    _refuse_global_hooks()
    _refuse_torch_modes()
    shape = valid_shape("input_shape", input_shape)
    steps = []
    for position, module in _children(model, "model"):
        kind, spec, weight = _classify(position, module, shape)
        if kind in ("conv", "avgpool"):
            out_shape = spec.output_shape
        elif kind == "convtranspose":
            out_shape = (module.out_channels, *transposed_spec(spec, module.output_padding).input_size)
        elif kind == "linear":
            out_shape = (module.out_features,)
        elif kind == "flatten":
            out_shape = (prod(shape),)
        else:
            out_shape = shape
        if kind in ("conv", "convtranspose", "avgpool", "linear"):
            refuse_dense(position, type(module).__name__, shape, tuple(out_shape))
        steps.append(NetworkStep(position, module, kind, shape, tuple(out_shape), spec, weight))
        shape = tuple(out_shape)
    return steps
