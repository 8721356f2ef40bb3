"""Whole networks: PyTorch conv layers and conv nets as FC layers and MLPs (torch is optional,
imported on first use).

Every linear layer of a network is an affine map of the flattened (row-major, NCHW) features,
vec(y) = A·vec(x) + c:

    Conv{1,2,3}d           A = T (the Toeplitz matrix, incl. the padding map), c = b ⊗ 1
    ConvTranspose{1,2,3}d  A = Tᵀ of the forward conv it transposes (weight, stride, padding,
                           dilation, groups shared; input size n = (m − 1)·s − 2p + d·(K − 1) + 1 +
                           output_padding for an input of size m), keeping the columns of T's
                           rows whose output lies inside m; c = b ⊗ 1
    AvgPool{1,2,3}d        a depthwise conv (groups = C) with every weight 1/divisor, no bias
                           (divisor_override, or ∏K; count_include_pad=False only without padding
                           or with divisor_override; ceil_mode=True only where it gives floor
                           mode's output size, i.e. no window overhangs)
    AdaptiveAvgPool{1,2,3}d  on an axis with input n and output m where m divides n, the windows
                           [⌊i·n/m⌋, ⌈(i+1)·n/m⌉) are all [i·n/m, (i+1)·n/m): AvgPool with
                           kernel = stride = n/m; otherwise their widths or steps vary (refused)
    Linear                 A = W, c = b
    BatchNorm (eval)       A = diag(s ⊗ 1), c = (β − μ·s) ⊗ 1 with s = γ/√(var + ε); folded into
                           the affine map before it when there is one: s·A, s·c + (β − μ·s)
    Flatten, Identity, Dropout (eval)   the identity on vec (row-major flattening is vec)

and an elementwise activation σ commutes with flattening. So a Sequential of these is an MLP:
Flatten, then Linear/activation layers. Anything else (max pooling, softmax, Dropout in training
mode, …) is refused with a SpecError naming the layer, its position and the rule.

The table is about torch's own classes, so only they are read: a layer must be exactly that class
(``type(m) is nn.Conv2d``; a subclass may compute something else in its ``forward``, a class that
is only named ReLU is not ReLU), with no instance attribute replacing one of its methods, no hook
(forward, forward-pre, backward, backward-pre; nor torch's global module hooks), no parametrization
and no weight_norm/spectral_norm; containers are walked only when exactly ``nn.Sequential``.
``prove_network`` then compares each layer's map with what torch computes (``torch_mismatch``).
"""

from __future__ import annotations

import copy
import sys
import time
import types
import warnings
from dataclasses import dataclass, field, replace
from math import prod
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from .errors import SpecError
from .forms.definition import conv
from .forms.toeplitz import row_index, toeplitz_entries
from .forms.transpose import conv_transpose, transposed_spec
from .result import Comparison, Counterexample, NetworkResult, first_entry_difference
from .spec import ConvSpec
from .symbols import tensor_symbols

ELEMENTWISE = ("ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "Sigmoid", "Tanh", "SiLU",
               "Mish", "Softplus", "Softsign", "Hardtanh", "Hardsigmoid", "Hardswish", "Hardshrink",
               "Softshrink", "Tanhshrink", "LogSigmoid")
NOT_LINEAR_RULE = ("is neither linear nor elementwise, so it has no FC-layer equivalent; to_mlp converts "
                   "Conv1d/2d/3d, ConvTranspose1d/2d/3d, AvgPool1d/2d/3d, AdaptiveAvgPool1d/2d/3d (fixed "
                   "windows), Linear, BatchNorm (eval), Flatten, Identity, Dropout (eval) and elementwise "
                   f"activations ({', '.join(ELEMENTWISE[:6])}, …)")


def _torch():
    try:
        import torch
    except ImportError as error:  # pragma: no cover - torch is installed in the test venv
        raise ImportError("symconv.interop needs PyTorch: pip install torch") from error
    if _SNAPSHOT is None:
        _take_snapshot()
    return torch


def _numpy(tensor: Any) -> np.ndarray:
    return tensor.detach().cpu().to(_torch().float64).numpy()


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


# ---- only torch's own classes, unaltered: their forward is what the table above says -----------------
HOOKS = {"_forward_hooks": "forward hook", "_forward_pre_hooks": "forward pre-hook",
         "_backward_hooks": "backward hook", "_backward_pre_hooks": "backward pre-hook"}
GLOBAL_HOOKS = {"_global_forward_hooks": "register_module_forward_hook",
                "_global_forward_pre_hooks": "register_module_forward_pre_hook",
                "_global_backward_hooks": "register_module_full_backward_hook",
                "_global_backward_pre_hooks": "register_module_full_backward_pre_hook",
                "_global_parameter_registration_hooks": "register_module_parameter_registration_hook",
                "_global_buffer_registration_hooks": "register_module_buffer_registration_hook",
                "_global_module_registration_hooks": "register_module_module_registration_hook"}


def _known_classes() -> tuple[type, ...]:
    """The torch classes whose forward symconv knows (the table in the module docstring)."""
    nn = _torch().nn
    return (nn.Sequential, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
            nn.ConvTranspose3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, nn.AdaptiveAvgPool1d,
            nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d,
            nn.BatchNorm3d, nn.Flatten, nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d,
            nn.AlphaDropout, nn.FeatureAlphaDropout, nn.PReLU, *(getattr(nn, name) for name in ELEMENTWISE))


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _refuse_altered(position: str, module: Any) -> None:
    """SpecError unless ``module`` computes what its class's attributes say: refuse a parametrized
    module, a subclass of (or a class merely named like) a known torch class, an instance attribute
    replacing a method (``m.forward = …``), any hook, weight_norm and spectral_norm. A class symconv
    does not know at all is left to ``_classify``, which refuses it with the rule."""
    torch = _torch()
    cls = type(module)
    if torch.nn.utils.parametrize.is_parametrized(module):
        raise SpecError(position, _class_name(cls), f"is parametrized (torch.nn.utils.parametrize: "
                        f"{', '.join(module.parametrizations)} recomputed by a module on every access), so "
                        f"torch does not use the stored weights; remove the parametrization first "
                        f"(parametrize.remove_parametrizations)")
    known = _known_classes()
    if cls not in known:
        base = next((k for k in known if isinstance(module, k)), None)
        if base is not None:
            raise SpecError(position, _class_name(cls), f"is a subclass of torch.nn.{base.__name__}, and a "
                            f"subclass may compute something else in its forward (pad in forward like "
                            f"timm's Conv2dSame, a residual connection, …); only torch.nn.{base.__name__} "
                            f"itself is converted")
        namesake = next((k for k in known if k.__name__ == cls.__name__), None)
        if namesake is not None:
            raise SpecError(position, _class_name(cls), f"is named like torch.nn.{namesake.__name__} but is "
                            f"another class, whose forward symconv does not know; only torch.nn."
                            f"{namesake.__name__} itself is converted")
        return
    for name, value in vars(module).items():
        if callable(value):   # submodules, parameters and buffers live in _modules/_parameters/_buffers
            replaces = (f"replaces the method {cls.__name__}.{name}" if callable(getattr(cls, name, None))
                        else "is callable (e.g. a __deepcopy__ returning another module)")
            raise SpecError(position, _class_name(cls), f"its instance attribute {name!r} {replaces}, so "
                            f"torch may compute something else; only unaltered torch modules are converted")
    _refuse_foreign_tensors(position, module)
    from torch.nn.utils.spectral_norm import SpectralNorm
    from torch.nn.utils.weight_norm import WeightNorm
    for attribute, kind in HOOKS.items():
        hooks = list(getattr(module, attribute, {}).values())
        reparametrised = next((h for h in hooks if isinstance(h, (WeightNorm, SpectralNorm))), None)
        if reparametrised is not None:
            which = "weight_norm" if isinstance(reparametrised, WeightNorm) else "spectral_norm"
            raise SpecError(position, _class_name(cls), f"has torch.nn.utils.{which} (a forward pre-hook "
                            f"that recomputes {reparametrised.name!r} before every call), so torch does not "
                            f"use the stored weight; remove it first (torch.nn.utils.remove_{which})")
        if hooks:
            raise SpecError(position, _class_name(cls), f"has {len(hooks)} {kind}(s), which may change what "
                            f"the module computes; remove them first (the handle's .remove())")


FORWARD_METHODS = ("forward", "_conv_forward", "__call__", "_call_impl", "_wrapped_call_impl",
                   "__getattr__", "__deepcopy__", "__reduce_ex__", "__reduce__", "_check_input_dim",
                   "_output_padding")
FUNCTIONAL = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
              "linear", "pad", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
              "adaptive_avg_pool2d", "adaptive_avg_pool3d", "batch_norm", "dropout", "flatten",
              "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout", "prelu",
              "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "sigmoid", "tanh", "silu", "mish",
              "softplus", "softsign", "hardtanh", "hardsigmoid", "hardswish", "hardshrink", "softshrink",
              "tanhshrink", "logsigmoid", "threshold")
_SNAPSHOT: dict[str, tuple[dict[str, Any], frozenset | None]] | None = None


def _torch_own(function: Any) -> bool:
    """Absent, C code (a builtin or a slot of object), or a Python function whose code file lies in
    torch's package directory (both paths resolved, so a symlinked install is torch's and
    ``torchvision/`` is not) and whose globals are the dict of the torch module it names (not a
    copy with other globals, e.g. ``types.FunctionType(torch_code, evil_globals)``). A patch that
    forges its code's file name is caught by ``_changed_since_snapshot`` when made after torch was
    first used here; one made before is out of reach."""
    torch = sys.modules.get("torch")
    if function is None or isinstance(function, (types.BuiltinFunctionType, types.MethodDescriptorType,
                                                 types.WrapperDescriptorType)):
        return True
    function = getattr(function, "__func__", function)
    code, namespace = getattr(function, "__code__", None), getattr(function, "__globals__", None)
    if torch is None or code is None or not isinstance(namespace, dict):
        return False
    root = Path(torch.__file__).parent.resolve()
    home = sys.modules.get(namespace.get("__name__", ""))
    return (Path(code.co_filename).resolve().is_relative_to(root) and home is not None
            and vars(home) is namespace and Path(getattr(home, "__file__", "") or "/").resolve().is_relative_to(root))


def _namespaces() -> list[tuple[str, Any]]:
    """The namespaces that decide what torch's layers compute: the class dicts of the known
    classes, their bases, Tensor and Parameter; the modules defining them (with their globals
    such as ``F``), torch and torch.nn.functional."""
    torch = sys.modules["torch"]
    classes = {base for cls in (*_known_classes(), torch.nn.Parameter, torch.Tensor)
               for base in cls.__mro__ if base is not object}
    modules = {sys.modules[c.__module__] for c in classes if c.__module__ in sys.modules}
    modules |= {torch, torch.nn.functional}
    return ([(module.__name__, vars(module)) for module in sorted(modules, key=lambda m: m.__name__)]
            + [(_class_name(cls), vars(cls)) for cls in sorted(classes, key=_class_name)])


def _recordable(value: Any) -> bool:
    return isinstance(value, (types.ModuleType, type)) or (callable(value) and _torch_own(value))


def _take_snapshot() -> None:
    """Record the functions, classes and modules of ``_namespaces`` (and each class dict's keys) as
    torch has them when symconv.interop first uses torch: what every later check compares with."""
    global _SNAPSHOT
    _SNAPSHOT = {}   # before _namespaces, which calls _torch
    _SNAPSHOT.update({name: ({key: value for key, value in list(namespace.items()) if _recordable(value)},
                             frozenset(namespace) if isinstance(namespace, types.MappingProxyType) else None)
                      for name, namespace in _namespaces()})


def _changed_since_snapshot() -> str | None:
    """The first function, class or module of torch's namespaces that is not the object recorded by
    ``_take_snapshot`` (a module global such as ``torch.nn.modules.conv.F`` swapped, a class
    method or Tensor method patched or added), else None. Strict (any other object) for the
    forward path: FORWARD_METHODS of every class, Tensor's, Parameter's and torch.nn.functional's
    dicts and the globals of the modules defining the layers. Elsewhere (torch's top level, other
    methods of nn.Module) torch patches itself (torch._dynamo replaces ``torch.manual_seed`` and
    ``Module.__init__``), so there a replacement must only be torch's own code (``_torch_own``)."""
    torch = sys.modules["torch"]
    strict_spaces = {_class_name(c) for c in (*torch.Tensor.__mro__[:-1], torch.nn.Parameter)} | {"torch.nn.functional"}
    for name, namespace in _namespaces():
        recorded, keys = _SNAPSHOT.get(name, ({}, None))
        is_class = keys is not None
        changed = [key for key, value in recorded.items() if namespace.get(key) is not value]
        changed += sorted(set(namespace) - keys) if is_class else []
        for key in changed:
            strict = name in strict_spaces or key in FORWARD_METHODS or not (is_class or name == "torch")
            value = namespace.get(key)
            if strict or key not in namespace or (callable(value) and not _torch_own(value)):
                return f"{name}.{key}"
    return None


def refuse_foreign_code(model: Any) -> None:
    """SpecError when a method on the forward path of a layer's class (FORWARD_METHODS), or a
    functional op torch's layers call (FUNCTIONAL), is not torch's own code, when a module that
    defines a torch layer has a global ``F`` other than torch.nn.functional, or when any function,
    class or module of torch's namespaces (``_namespaces``: class dicts incl. Tensor's, module
    globals, torch, torch.nn.functional) is not the object it was when symconv.interop first used
    torch: a patch changes what every such layer computes. (``prove_network`` first compares with
    torch, which refutes a patch that shows, then calls this for the ones that hide.)"""
    import inspect
    torch = _torch()
    functional = torch.nn.functional
    for position, module in [("model", model), *_children(model, "model")]:
        cls = type(module)
        for name in FORWARD_METHODS:
            method = inspect.getattr_static(cls, name, None)
            if not _torch_own(method):
                where = getattr(getattr(method, "__func__", method), "__code__", None)
                raise SpecError(position, _class_name(cls), f"its method {cls.__name__}.{name} is not torch's "
                                f"own code (defined in {where.co_filename if where else type(method).__name__}), "
                                f"so torch's layers may compute something else; only unaltered torch is converted")
    for name in FUNCTIONAL:
        if not _torch_own(getattr(functional, name, None)):
            raise SpecError("torch.nn.functional", name, "is not torch's own function (patched?), so "
                            "torch's layers may compute something else; only unaltered torch is converted")
    for name, namespace in _namespaces():
        if "F" in namespace and namespace["F"] is not functional:
            raise SpecError(f"{name}.F", "another object", "is not torch.nn.functional (whatever it is "
                            "named), so torch's layers may compute something else; only unaltered torch is converted")
    if (changed := _changed_since_snapshot()) is not None:
        raise SpecError(changed, "replaced", "is not the object torch had when symconv.interop first used "
                        "torch (a patch?), so torch's layers may compute something else; only unaltered "
                        "torch is converted")


def _refuse_foreign_tensors(position: str, module: Any) -> None:
    """SpecError unless every parameter is exactly nn.Parameter and every buffer exactly torch.Tensor
    (a subclass may override __torch_function__ and change what the ops compute), all finite."""
    torch = _torch()
    for kind, store, expected in (("parameter", module._parameters, torch.nn.Parameter),
                                  ("buffer", module._buffers, torch.Tensor)):
        for name, tensor in store.items():
            if tensor is None:
                continue
            if type(tensor) is not expected:
                raise SpecError(position, f"{type(module).__name__}.{name}", f"the {kind} is a "
                                f"{_class_name(type(tensor))}, not exactly {_class_name(expected)}: a subclass may "
                                f"change what torch computes (__torch_function__); only plain tensors are converted")
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor.detach()).all()):
                raise SpecError(position, f"{type(module).__name__}.{name}", f"the {kind} has a non-finite "
                                f"entry (NaN or ±inf), so the layer is no real affine map")


def _refuse_torch_modes() -> None:
    """SpecError while a TorchFunctionMode or a dispatch mode (TorchDispatchMode) is active: it
    intercepts every torch call, so a network may not compute what its layers say."""
    torch = _torch()
    from torch.utils._python_dispatch import _get_current_dispatch_mode_stack
    functions = torch._C._len_torch_function_stack()
    dispatch = len(_get_current_dispatch_mode_stack())
    if functions or dispatch:
        raise SpecError("torch modes", f"{functions} torch function mode(s), {dispatch} dispatch mode(s)",
                        "an active TorchFunctionMode/TorchDispatchMode intercepts every torch call, so a "
                        "network may not compute what its layers say; leave the mode first")


def _refuse_global_hooks() -> None:
    """SpecError when torch's global module hooks are registered: they run on every module's
    forward, or change every parameter, buffer or submodule registered (the MLP to_mlp builds too)."""
    registry = _torch().nn.modules.module
    for attribute, how in GLOBAL_HOOKS.items():
        hooks = getattr(registry, attribute, {})
        if hooks:
            raise SpecError(f"torch.nn.modules.module.{attribute}", f"{len(hooks)} hook(s)",
                            f"global module hooks ({how}) run on every module's forward or registration, "
                            f"so a network (or the MLP built for it) may not compute what its layers say; "
                            f"remove them first")


def _check_spatial(position: str, module: Any, dims: int, shape: tuple[int, ...],
                   channels: int | None = None) -> None:
    """SpecError unless the per-sample shape is (C, *dims spatial axes) with C = ``channels``."""
    if len(shape) != dims + 1 or channels not in (None, shape[0]):
        expected = f"C={channels}" if channels is not None else "C"
        raise SpecError(position, type(module).__name__, f"expects input ({expected}, {dims} spatial axes) "
                        f"per sample, gets {shape}")


MAX_FEATURES = 10**7   # per-sample features a network's input may have
MAX_DENSE_ENTRIES = 2 * 10**8   # entries of one layer's dense matrix A (1.6 GB in float64)


def valid_shape(parameter: str, value: Any, length: int | None = None) -> tuple[int, ...]:
    """``value`` as a tuple of ints ≥ 1 (an int is one axis), or SpecError: no floats, bools,
    strings or empty shapes, at most MAX_FEATURES entries per sample.

    >>> valid_shape("input_shape", (1, 5.9))
    Traceback (most recent call last):
    symconv.errors.SpecError: input_shape=(1, 5.9): must be a tuple of integers ≥ 1 (5.9 is a float)
    """
    import numbers
    axes = (value,) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    if not isinstance(axes, (tuple, list)) or not axes:
        raise SpecError(parameter, value, "must be a non-empty tuple of integers ≥ 1")
    for n in axes:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise SpecError(parameter, value, f"must be a tuple of integers ≥ 1 ({n!r} is "
                            f"{'a ' + type(n).__name__ if not isinstance(n, numbers.Integral) or isinstance(n, bool) else 'below 1'})")
    if length is not None and len(axes) != length:
        raise SpecError(parameter, value, f"must have {length} entries (one per spatial axis)")
    if prod(int(n) for n in axes) > MAX_FEATURES:
        raise SpecError(parameter, value, f"has {prod(int(n) for n in axes)} entries per sample, more than "
                        f"MAX_FEATURES={MAX_FEATURES}; the dense matrices would not fit in memory")
    return tuple(int(n) for n in axes)


def spec_of(module: Any, input_size: Any) -> ConvSpec:
    """The ConvSpec of a ``torch.nn.Conv{1,2,3}d`` on inputs of spatial size ``input_size``."""
    return ConvSpec(module.in_channels, module.out_channels, module.kernel_size, input_size,
                    stride=module.stride, padding=module.padding, dilation=module.dilation,
                    groups=module.groups, bias=module.bias is not None, padding_mode=module.padding_mode)


def transposed_of(module: Any, input_size: Any) -> ConvSpec:
    """The forward conv that a ``torch.nn.ConvTranspose{1,2,3}d`` transposes, on inputs of spatial
    size ``input_size`` = m: C_in = module.out_channels, C_out = module.in_channels, the module's
    weight, stride, padding, dilation and groups, and an input size n with output size m (the
    smallest, n = max(1, (m − 1)·s − 2p + d·(K − 1) + 1)). The module computes
    ``conv_transpose(spec, g, w, module.output_padding)``, i.e. Tᵀ of
    ``transposed_spec(spec, module.output_padding)``."""
    size = (input_size,) if isinstance(input_size, int) else tuple(input_size)
    smallest = tuple((m - 1) * s - 2 * p + d * (k - 1) + 1 for m, s, p, d, k in
                     zip(size, module.stride, module.padding, module.dilation, module.kernel_size))
    if any(n + s - 1 < 1 for n, s in zip(smallest, module.stride)):   # no n ≥ 1 has output size m
        raise SpecError("padding", tuple(module.padding), f"no forward input size n ≥ 1 has output size {size} "
                        f"(n_min = (m − 1)·s − 2p + d·(K − 1) + 1 = {smallest}); use less padding")
    return ConvSpec(module.out_channels, module.in_channels, module.kernel_size, tuple(max(1, n) for n in smallest),
                    stride=module.stride, padding=module.padding, dilation=module.dilation,
                    groups=module.groups, bias=False)


def _avgpool_spec(module: Any, position: str, shape: tuple[int, ...]) -> tuple[ConvSpec, object]:
    """AvgPool as a depthwise conv: (spec, the weight value 1/divisor)."""
    kernel = module.kernel_size
    padding = module.padding
    override = getattr(module, "divisor_override", None)   # torch then divides by it, whatever the padding
    if not module.count_include_pad and not override and np.any(np.asarray(padding) != 0):
        raise SpecError(position, "count_include_pad=False", "with padding the divisor varies near the "
                        "border, so the pool is not a convolution; use count_include_pad=True or padding=0")
    spec = ConvSpec(shape[0], shape[0], kernel, shape[1:], stride=module.stride or kernel,
                    padding=padding, groups=shape[0], bias=False)
    if module.ceil_mode and (ceil := _ceil_mode_size(spec)) != spec.output_size:
        raise SpecError(position, "ceil_mode=True", f"on input size {spec.input_size} ceil_mode gives output "
                        f"size {ceil}, floor mode {spec.output_size}: the extra windows overhang the input "
                        f"(a varying divisor), so the pool is not a convolution; use ceil_mode=False")
    divisor = override or prod(spec.kernel_size)
    return spec, sp.Rational(1, divisor)


def _ceil_mode_size(spec: ConvSpec) -> tuple[int, ...]:
    """torch's pooling output size with ceil_mode=True: ⌈(n + 2p − d·(K − 1) − 1)/s⌉ + 1, less one
    when the last window would start beyond the input and its left padding ((m − 1)·s ≥ n + p).

    >>> _ceil_mode_size(ConvSpec(1, 1, 3, 7, stride=2, groups=1, bias=False))   # floor mode also 3
    (3,)
    >>> _ceil_mode_size(ConvSpec(1, 1, 3, 6, stride=2, groups=1, bias=False))   # floor mode 2
    (3,)
    """
    sizes = []
    for n, k, s, d, (p, _) in zip(spec.input_size, spec.kernel_size, spec.stride, spec.dilation, spec.padding):
        m = -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1
        sizes.append(m - 1 if (m - 1) * s >= n + p else m)
    return tuple(sizes)


def _adaptive_pool_spec(module: Any, position: str, shape: tuple[int, ...]) -> tuple[ConvSpec, object]:
    """AdaptiveAvgPool as AvgPool(kernel = stride = n/m) when every output size m divides its input
    size n (None keeps n): torch's windows [⌊i·n/m⌋, ⌈(i+1)·n/m⌉) are then the fixed [i·n/m, (i+1)·n/m)."""
    dims = len(shape) - 1
    requested = module.output_size if isinstance(module.output_size, (tuple, list)) else (module.output_size,) * dims
    targets = tuple(n if m is None else int(m) for n, m in zip(shape[1:], requested))
    for n, m in zip(shape[1:], targets):
        if m < 1 or n % m:
            starts = [i * n // m for i in range(max(m, 0))]
            widths = sorted({-(-(i + 1) * n // m) - start for i, start in enumerate(starts)})
            why = (f"have varying widths {widths}" if len(widths) > 1 else
                   f"start at {starts}, steps {sorted({b - a for a, b in zip(starts, starts[1:])})} (no "
                   f"fixed stride)" if widths else "do not exist")
            raise SpecError(position, f"{type(module).__name__}(output_size={module.output_size})",
                            f"on input size {shape[1:]} the pooling windows [⌊i·n/m⌋, ⌈(i+1)·n/m⌉) of "
                            f"axis n={n}, m={m} {why}, so it is no convolution; only output sizes that "
                            f"divide the input size (fixed windows n/m) are converted")
    kernel = tuple(n // m for n, m in zip(shape[1:], targets))
    spec = ConvSpec(shape[0], shape[0], kernel, shape[1:], stride=kernel, groups=shape[0], bias=False)
    return spec, sp.Rational(1, prod(kernel))


@dataclass(frozen=True)
class Step:
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


def _children(model: Any, prefix: str, inside: tuple[int, ...] = ()):
    """(position, module) of each layer, walking exactly ``nn.Sequential`` (an unaltered one: its
    forward is the chain of its children); every module checked by ``_refuse_altered``; a
    Sequential that contains itself is refused."""
    _refuse_altered(prefix, model)
    if type(model) is _torch().nn.Sequential:
        if id(model) in inside:
            raise SpecError(prefix, "Sequential", "contains itself (a cycle of containers): its forward "
                            "would never end")
        for i, child in enumerate(model._modules.values()):
            yield from _children(child, f"{prefix}[{i}]", (*inside, id(model)))
    else:
        yield prefix, model


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
        if module.training or module.running_mean is None:
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


def network_steps(model: Any, input_shape: tuple[int, ...]) -> list[Step]:
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
        if kind in ("conv", "convtranspose", "avgpool", "linear") and \
                prod(shape) * prod(out_shape) > MAX_DENSE_ENTRIES:
            raise SpecError(position, type(module).__name__, f"its dense matrix would have "
                            f"{'·'.join(map(str, out_shape))} × {'·'.join(map(str, shape))} entries, more than "
                            f"MAX_DENSE_ENTRIES={MAX_DENSE_ENTRIES} (to_mlp builds dense weights); use a "
                            f"smaller input_shape")
        steps.append(Step(position, module, kind, shape, tuple(out_shape), spec, weight))
        shape = tuple(out_shape)
    return steps


# ---- parameters: numeric (from the module) or symbolic (for proofs) ----------------------------------
def _parameters(step: Step, symbolic: int | None) -> dict[str, Any]:
    """The step's parameters: NumPy float64 from torch, or symbols named w^{(ℓ)}, b^{(ℓ)}, …
    when ``symbolic`` is the layer number ℓ."""
    m, kind = step.module, step.kind
    if kind == "avgpool":  # fixed weights: an exact Rational in proofs, a float for torch
        weight = step.pool_weight if symbolic is not None else float(step.pool_weight)
        return {"w": np.full(step.spec.weight_shape, weight, dtype=object if symbolic else np.float64),
                "b": None}
    if kind in ("conv", "convtranspose", "linear"):
        if symbolic is None:
            return {"w": _numpy(m.weight), "b": None if m.bias is None else _numpy(m.bias)}
        shape = tuple(m.weight.shape)
        return {"w": tensor_symbols(f"w^{{({symbolic})}}", shape),
                "b": None if m.bias is None else tensor_symbols(f"b^{{({symbolic})}}", tuple(m.bias.shape))}
    if kind == "batchnorm":
        c = m.num_features
        if symbolic is None:
            gamma = _numpy(m.weight) if m.affine else np.ones(c)
            beta = _numpy(m.bias) if m.affine else np.zeros(c)
            scale = gamma / np.sqrt(_numpy(m.running_var) + m.eps)
            return {"scale": scale, "shift": beta - _numpy(m.running_mean) * scale}
        gamma, beta, mean, var = (tensor_symbols(f"{n}^{{({symbolic})}}", (c,))
                                  for n in ("gamma", "beta", "mu", "v"))
        scale = np.array([g / sp.sqrt(v + sp.Symbol("epsilon", positive=True)) for g, v in zip(gamma, var)],
                         dtype=object)
        return {"scale": scale, "shift": beta - mean * scale}
    return {}


def _as_array(value: Any) -> np.ndarray:
    return value.astype(object) if isinstance(value, np.ndarray) and value.dtype != object else value


def _dense(shape: tuple[int, int], entries: dict[tuple[int, int], Any], dtype: Any) -> np.ndarray:
    A = np.zeros(shape, dtype=dtype)
    if entries:
        rows, cols = (np.array(k, dtype=np.int64) for k in zip(*entries))
        A[rows, cols] = np.array(list(entries.values()), dtype=dtype)
    return A


def _rows_within(spec: ConvSpec, size: tuple[int, ...]) -> list[int]:
    """T's rows (o, out) with out inside ``size`` (a corner of spec.output_size), in vec order."""
    return [row_index(spec, o, int(np.ravel_multi_index(out, spec.output_size)))
            for o in range(spec.out_channels) for out in np.ndindex(*size)]


def _affine(step: Step, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(A, c) with vec(y) = A·vec(x) + c for a conv, convtranspose, avgpool or linear step."""
    w, b = params["w"], params["b"]
    if step.kind == "linear":
        return w, b if b is not None else np.zeros(w.shape[0], dtype=w.dtype)
    dtype = object if w.dtype == object else np.float64
    entries = toeplitz_entries(forward := (transposed_spec(step.spec, step.module.output_padding)
                                           if step.kind == "convtranspose" else step.spec), _as_array(w))
    if step.kind == "convtranspose":  # A = Tᵀ, keeping the columns of the outputs inside the layer's input
        kept = {r: j for j, r in enumerate(_rows_within(forward, step.spec.output_size))}
        A = _dense((forward.toeplitz_shape[1], len(kept)),
                   {(c, kept[r]): v for (r, c), v in entries.items() if r in kept}, dtype)
        channels, positions = forward.in_channels, prod(forward.input_size)
    else:
        A = _dense(forward.toeplitz_shape, entries, dtype)
        channels, positions = forward.out_channels, prod(forward.output_size)
    return A, np.repeat(b if b is not None else np.zeros(channels, dtype=A.dtype), positions)


def _per_feature(step: Step, per_channel: np.ndarray) -> np.ndarray:
    """A per-channel vector repeated over the spatial positions of vec (channel-major)."""
    return np.repeat(per_channel, prod(step.in_shape[1:]))


def mlp_layers(steps: list[Step], symbolic: bool = False) -> list[tuple[str, Any, Any]]:
    """The MLP: ("affine", A, c) and ("elementwise", step, layer number ℓ) in order, BatchNorm folded into
    the affine map before it (or standing alone as a diagonal affine map)."""
    layers: list[tuple[str, Any, Any]] = []
    for number, step in enumerate(steps, start=1):
        params = _parameters(step, number if symbolic else None)
        if step.kind in ("conv", "convtranspose", "avgpool", "linear"):
            layers.append(("affine", *_affine(step, params)))
        elif step.kind == "batchnorm":
            s, t = _per_feature(step, params["scale"]), _per_feature(step, params["shift"])
            if layers and layers[-1][0] == "affine":
                _, A, c = layers.pop()
                layers.append(("affine", s[:, None] * A, s * c + t))
            else:
                layers.append(("affine", np.diag(s) if s.dtype != object else _object_diag(s), t))
        elif step.kind == "elementwise":
            layers.append(("elementwise", step, number))
    return layers


def _object_diag(values: np.ndarray) -> np.ndarray:
    D = np.zeros((len(values), len(values)), dtype=object)
    D[np.arange(len(values)), np.arange(len(values))] = values
    return D


def _dtype(model: Any) -> Any:
    """The dtype the model computes in: that of its parameters, else of its floating buffers (a
    BatchNorm with affine=False has only buffers), else torch's default dtype."""
    tensors = (*model.parameters(), *(b for b in model.buffers() if b.is_floating_point()))
    return next((t.dtype for t in tensors), _torch().get_default_dtype())


def _linear_module(A: np.ndarray, c: np.ndarray, dtype: Any, sparse: bool, bias: bool = True) -> Any:
    """nn.Linear with weight A (dense, or sparse CSR when ``sparse``) and bias c."""
    torch = _torch()
    # on the meta device: no random initialisation of a weight that is replaced at once
    layer = torch.nn.Linear(A.shape[1], A.shape[0], bias=bias, dtype=dtype, device="meta")
    A = np.asarray(A, dtype=np.float64)
    if sparse:  # CSR straight from the nonzeros (row-major, so already sorted by row)
        rows, cols = np.nonzero(A)
        crow = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=A.shape[0]))])
        with warnings.catch_warnings():  # "sparse CSR support is in beta": F.linear supports it on CPU
            warnings.simplefilter("ignore", UserWarning)
            weight = torch.sparse_csr_tensor(torch.as_tensor(crow), torch.as_tensor(cols),
                                             torch.as_tensor(A[rows, cols]).to(dtype), A.shape)
    else:
        weight = torch.as_tensor(A).to(dtype)
    layer.weight = torch.nn.Parameter(weight, requires_grad=False)
    layer.bias = (torch.nn.Parameter(torch.as_tensor(np.asarray(c, dtype=np.float64)).to(dtype),
                                     requires_grad=False) if bias else None)
    return layer


def to_linear(conv_module: Any, input_size: Any, sparse: bool = False) -> Any:
    """An ``nn.Linear`` equal to ``conv_module`` on flattened inputs of spatial size ``input_size``:
    for a Conv{1,2,3}d weight T (C_out·∏out × C_in·∏in, including the padding map for padding_mode
    ≠ 'zeros'), for a ConvTranspose{1,2,3}d weight Tᵀ of the conv it transposes (incl.
    output_padding); bias b ⊗ 1. ``linear(x.flatten(1)) == conv_module(x).flatten(1)``.
    ``sparse=True`` stores the weight as a sparse CSR tensor (F.linear supports it)."""
    _refuse_altered("conv_module", conv_module)
    family = _family(conv_module)
    if family is None or family[0] not in ("conv", "convtranspose"):
        raise SpecError("conv_module", type(conv_module).__name__,
                        "must be a torch.nn.Conv1d/2d/3d or ConvTranspose1d/2d/3d")
    dims = family[1]
    size = valid_shape("input_size", input_size)
    size = size * dims if len(size) == 1 and not isinstance(input_size, (tuple, list)) else size
    valid_shape("input_size", size, dims)
    (step,) = network_steps(conv_module, (conv_module.in_channels, *size))
    refuse_foreign_code(conv_module)
    (_, A, c), = mlp_layers([step])
    return _linear_module(A, c, conv_module.weight.dtype, sparse, bias=conv_module.bias is not None)


def to_mlp(model: Any, input_shape: tuple[int, ...], sparse: bool = False, dtype: Any = None) -> Any:
    """An equivalent ``nn.Sequential``: Flatten (if inputs are not flat), then Linear and the
    activations, and Unflatten back when the network does not end flat. ``input_shape`` is one
    sample's shape, e.g. (1, 28, 28). The Linear layers have ``dtype`` (default: that of the
    model's parameters, or torch's default dtype for a model without any)."""
    torch = _torch()
    nn = torch.nn
    steps = network_steps(model, input_shape)
    refuse_foreign_code(model)
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point
                                  and not dtype.is_complex):
        raise SpecError("dtype", dtype, "must be None or a real floating torch.dtype (torch.float32, "
                        "torch.float64, …)")
    dtype = dtype or _dtype(model)
    modules = [] if len(steps[0].in_shape if steps else valid_shape("input_shape", input_shape)) == 1 \
        else [nn.Flatten()]
    for kind, A, c in mlp_layers(steps):
        modules.append(_linear_module(A, c, dtype, sparse) if kind == "affine" else copy.deepcopy(A.module))
    out_shape = steps[-1].out_shape if steps else valid_shape("input_shape", input_shape)
    if len(out_shape) > 1:
        modules.append(nn.Unflatten(1, out_shape))
    return nn.Sequential(*modules)


def paper_network(dtype: Any = None, channels: int = 128, kernel: int = 4, size: int = 28) -> Any:
    """The paper's experiment network: Conv2d(1, 128, 4, stride=2) on 28×28 → ReLU → Flatten →
    Linear(128·13·13, 784). ``channels``, ``kernel`` and ``size`` scale the same architecture down
    (stride 2, Dense to size² features), e.g. Conv 2×2×2 stride 2 on 4×4 → ReLU → Dense 16."""
    nn = _torch().nn
    out = (size - kernel) // 2 + 1
    return nn.Sequential(nn.Conv2d(1, channels, kernel, stride=2, dtype=dtype), nn.ReLU(), nn.Flatten(),
                         nn.Linear(channels * out * out, size * size, dtype=dtype))


# ---- the symbolic proof ------------------------------------------------------------------------------
NETWORK_STATEMENT = "network(x) = MLP(vec x) (Linear + elementwise σ)"


@dataclass(frozen=True, repr=False)
class NetworkProof(NetworkResult):
    """network(x) = mlp(vec x) for symbolic x and parameters, activations undefined functions σ_ℓ;
    prints itself (``to_latex``, ``_repr_latex_``, a one-line repr) like every symconv result."""

    statement: str
    layers: tuple[str, ...]
    holds: bool
    counterexample: Counterexample | None
    outputs: int
    timings: dict[str, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.holds

    def setting(self) -> str:
        return " → ".join(self.layers)

    def summary(self) -> str:
        verdict = "PROVED" if self.holds else "REFUTED"
        line = (f"{verdict}: {self.statement} [{self.setting()}; {self.outputs} outputs, "
                f"{sum(self.timings.values()):.3f} s]")
        return line if self.holds else f"{line}\n{self.counterexample}"


def _activation(number: int) -> Any:
    """σ_ℓ: an undefined SymPy function applied elementwise."""
    return np.vectorize(sp.Function(f"sigma_{number}"), otypes=[object])


def _network_definition(steps: list[Step], x: np.ndarray) -> np.ndarray:
    """The network by each layer's own definition, on symbols (the reference side)."""
    for number, step in enumerate(steps, start=1):
        p = _parameters(step, number)
        if step.kind in ("conv", "avgpool"):
            x = conv(step.spec, x, p["w"], p["b"])
        elif step.kind == "convtranspose":  # the scatter definition, not Tᵀ
            x = conv_transpose(step.spec, x, p["w"], step.module.output_padding)
            x = x + (p["b"].reshape(-1, *[1] * (x.ndim - 1)) if p["b"] is not None else 0)
        elif step.kind == "linear":
            x = np.dot(p["w"], x) + (p["b"] if p["b"] is not None else 0)
        elif step.kind == "batchnorm":
            x = x * p["scale"].reshape(-1, *[1] * (x.ndim - 1)) + p["shift"].reshape(-1, *[1] * (x.ndim - 1))
        elif step.kind == "flatten":
            x = x.reshape(-1)
        elif step.kind == "elementwise":
            x = _activation(number)(x)
    return x.reshape(-1)


def _valid_layers(layers: Any) -> list[tuple[str, Any, Any]]:
    """``layers=`` of prove_network: a list of ("affine", A, c) with A 2-D and c 1-D of A's rows, and
    ("elementwise", step, ℓ) with ℓ an int; else SpecError naming the entry."""
    if not isinstance(layers, (list, tuple)):
        raise SpecError("layers", type(layers).__name__, "must be a list like mlp_layers(...) returns")
    for i, layer in enumerate(layers):
        ok = isinstance(layer, tuple) and len(layer) == 3
        if ok and layer[0] == "affine":
            A, c = np.asarray(layer[1], dtype=object), np.asarray(layer[2], dtype=object)
            ok = A.ndim == 2 and c.shape == (A.shape[0],)
        elif ok:
            ok = layer[0] == "elementwise" and isinstance(layer[2], int) and not isinstance(layer[2], bool)
        if not ok:
            raise SpecError(f"layers[{i}]", repr(layer)[:80], "must be ('affine', A (2-D), c (1-D, one per "
                            "row of A)) or ('elementwise', step, layer number)")
    return list(layers)


def run_mlp(layers: list[tuple[str, Any, Any]], v: np.ndarray) -> np.ndarray:
    """vec(x) through the MLP layers (A·v + c, σ_ℓ elementwise), on symbols."""
    for kind, A, c in layers:
        v = np.dot(A, v) + c if kind == "affine" else _activation(c)(v)
    return v


# ---- what torch computes: each layer's map against torch running the layer ------------------------------
TORCH_SAMPLES = 3   # random integer inputs per comparison
TORCH_BATCHES = (1, 5, 16)   # the batch sizes of the comparison of the model itself, in its own dtype
TORCH_RANGE = 3     # their entries, and the integer weights of the exact check, lie in [−3, 3]
TORCH_RTOL = 1e-9   # float64 check: |torch − map| ≤ TORCH_RTOL·(|A|·|x| + |c|) entrywise


@dataclass(frozen=True, repr=False)
class TorchMismatch(Counterexample):
    """A layer whose output in torch differs from its map read from the module's attributes (the
    first differing entry, index (sample, *feature)); ``check`` says which comparison found it."""

    check: str = ""

    def __str__(self) -> str:
        return f"{super().__str__()}\n  found by: {self.check}"


def _step_map(step: Step, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the layer's map by its attributes on the rows of v, a bound on the sum of |terms| of each
    output: |A|·|v| + |c|, the most terms an output sums) for a layer that is not elementwise."""
    if step.kind in ("flatten", "identity"):
        return v, np.zeros_like(v), 0
    params = _parameters(step, None)
    if step.kind == "batchnorm":
        s, t = _per_feature(step, params["scale"]), _per_feature(step, params["shift"])
        mean = _per_feature(step, _numpy(step.module.running_mean) * params["scale"])
        return v * s + t, np.abs(v * s) + np.abs(t) + np.abs(mean), 3
    A, c = _affine(step, params)
    terms = int((A != 0).sum(axis=1).max(initial=0)) + 1
    magnitudes = np.abs(A)
    if step.kind == "conv" and step.spec.padding_mode != "zeros":
        # an entry of T·R may sum several taps reading the same input (reflect, replicate, circular):
        # torch rounds each product, so the bound is Σ|w_k|·|x|, the map built from |w|, not |A|
        magnitudes = _affine(step, {"w": np.abs(params["w"]), "b": None})[0]
        terms = max(terms, step.spec.in_per_group * prod(step.spec.kernel_size) + 1)
    return v @ A.T + c, np.abs(v) @ magnitudes.T + np.abs(c), terms


def _float64(tensor: Any) -> np.ndarray:
    """A tensor's values as float64 NumPy (exact for every float dtype), detached from autograd."""
    return tensor.detach().cpu().to(_torch().float64).numpy()


def _elementwise_mismatch(step: Step, v: Any, out: Any) -> TorchMismatch | None:
    """An activation must apply one function to each entry on its own: permute the entries of each
    sample and change half of them; every unchanged entry's output must move with it (relative
    tolerance max(TORCH_RTOL, 4·eps of the dtype) of the largest of output and input: vectorised and
    scalar code paths may differ in the last bits)."""
    rng = np.random.default_rng(1)
    flat = _float64(v.reshape(len(v), -1))
    order = rng.permutation(flat.shape[1])
    changed = rng.random(flat.shape) < 0.5
    moved = np.where(changed, flat + 1.0, flat)[:, order]
    torch = _torch()
    got = _float64(step.module(torch.as_tensor(moved).to(v.dtype).reshape(v.shape)).reshape(len(v), -1))
    got = got[:, np.argsort(order)]   # back to the original positions
    expected = _float64(out.reshape(len(v), -1))
    rtol = max(TORCH_RTOL, 4 * torch.finfo(v.dtype).eps)
    scale = np.maximum(np.maximum(np.abs(got), np.abs(expected)), np.abs(flat))   # σ(x) ≈ 0 for x < 0
    bad = ~changed & ~(np.abs(got - expected) <= rtol * scale)
    return (_mismatch(step, got, expected, bad, "an activation acts on each entry alone, with one function "
                      "(entries permuted, half of them changed)") if bad.any() else None)


def _mismatch(step: Step, got: np.ndarray, value: np.ndarray, bad: np.ndarray, check: str) -> TorchMismatch:
    n, j = (int(i) for i in np.argwhere(bad)[0])
    index = (n, *(int(i) for i in np.unravel_index(j, step.out_shape)))
    where = f"{step.position} ({type(step.module).__name__})"
    expected, obtained = sp.Float(float(got[n, j]), 17), sp.Float(float(value[n, j]), 17)
    return TorchMismatch(form="torch", index=index, expected=expected, obtained=obtained,
                         difference=expected - obtained, missing=(), extra=(),
                         compared=Comparison(f"{where} by its attributes", f"torch's {where}",
                                             r"(A x + c)_{@}", r"\mathrm{torch}(x)_{@}"),
                         check=check)


def _compare(step: Step, v: Any, out: Any, rtol: Any, check: str) -> TorchMismatch | None:
    """torch's output ``out`` of the layer on ``v`` against the layer's map (entrywise within
    rtol(terms)·bound, for ``rtol`` a number or a function of the most terms an output sums;
    rtol = 0 is exact equality); an activation is checked to act entrywise."""
    n = len(v)
    if tuple(out.shape[1:]) != step.out_shape:
        raise SpecError(step.position, type(step.module).__name__, f"torch gives outputs of shape "
                        f"{tuple(out.shape[1:])} per sample, its attributes say {step.out_shape}")
    if step.kind == "elementwise":
        return _elementwise_mismatch(step, v, out)
    value, bound, terms = _step_map(step, _float64(v.reshape(n, -1)))
    got = _float64(out.reshape(n, -1))
    bad = ~(np.abs(got - value) <= (rtol(terms) if callable(rtol) else rtol) * bound)   # NaN is bad too
    return _mismatch(step, got, value, bad, check) if bad.any() else None


def _exact_in_float64(step: Step) -> bool:
    """Integer weights and inputs keep the layer exact in float64: conv, transposed conv, linear,
    and pools whose weight 1/divisor is a power of two (a dyadic fraction)."""
    if step.kind == "avgpool":
        q = sp.Rational(step.pool_weight).q
        return q & (q - 1) == 0
    return step.kind in ("conv", "convtranspose", "linear")


def rounding_tolerance(dtype: Any) -> Any:
    """terms ↦ 2·γ_{terms+2} with γ_m = m·u/(1 − m·u), u = eps/2 of ``dtype``: a sum of m rounded
    products computed in floating point, in any order, is within γ_m·Σ|terms| of the exact sum
    (Higham, Accuracy and Stability of Numerical Algorithms, §3.1); the factor 2 and the two
    extra terms cover the bias and the rounding of a scale (BatchNorm's 1/√(v + ε), a pool's 1/k).

    >>> import torch; f"{rounding_tolerance(torch.float32)(9):.3g}"
    '1.31e-06'
    """
    u = _torch().finfo(dtype).eps / 2

    def tolerance(terms: int) -> float:
        m = terms + 2
        return 2 * m * u / (1 - m * u) if m * u < 1 else float("inf")

    return tolerance


def _own_dtype_mismatch(model: Any, input_shape: tuple[int, ...], steps: list[Step],
                        seed: int) -> TorchMismatch | None:
    """The ORIGINAL model (no copy), in its own dtype, as it is used: with autograd on (training) and
    off (``torch.no_grad()``, inference), on non-integer random inputs in [−8, 8) of each batch
    size of TORCH_BATCHES: each layer against its map within ``rounding_tolerance``, and model(x)
    exactly against its layers run one after the other."""
    torch = _torch()
    dtype = _dtype(model)
    rng = np.random.default_rng(seed + 1)
    for grad, mode in ((True, "on"), (False, "off")):
        check = f"the model itself in {dtype}, autograd {mode}, non-integer inputs (rounding tolerance of {dtype})"
        if found := _run_own_dtype(model, input_shape, steps, rng, dtype, grad, check):
            return found
    return None


def _run_own_dtype(model: Any, input_shape: tuple[int, ...], steps: list[Step], rng: np.random.Generator,
                   dtype: Any, grad: bool, check: str) -> TorchMismatch | None:
    torch = _torch()
    with torch.set_grad_enabled(grad):
        for n in TORCH_BATCHES:
            x = v = torch.as_tensor(rng.uniform(-8, 8, size=(n, *input_shape))).to(dtype)
            for step in steps:
                out = _run_layer(step, step.module, v)
                if found := _compare(step, v, out, rounding_tolerance(dtype), f"{check}, batch {n}"):
                    return found
                v = out
            whole = _run_layer(Step("model", model, "identity", input_shape, input_shape), model, x)
            if steps and (tuple(whole.shape) != tuple(v.shape) or not torch.equal(whole, v)):
                root = Step("model", model, "identity", steps[-1].out_shape, steps[-1].out_shape)
                return _compare(root, v, whole, 0.0, f"model(x) exactly against its layers one after the "
                                                     f"other ({check}, batch {n})")
    return None


def _run_layer(step: Step, layer: Any, v: Any) -> Any:
    """torch running ``layer`` on v; a torch error (attributes forged to disagree with the weights,
    …) becomes a SpecError naming the layer."""
    try:
        return layer(v)
    except (RuntimeError, TypeError, ValueError, IndexError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SpecError(step.position, type(step.module).__name__, f"torch cannot run the layer on inputs "
                        f"of shape {tuple(v.shape)} ({v.dtype}): {type(error).__name__}: {first} (its "
                        f"attributes disagree with its weights, or its tensors have mixed dtypes?)") from None


def torch_mismatch(model: Any, input_shape: tuple[int, ...], steps: list[Step] | None = None,
                   seed: int = 0) -> TorchMismatch | None:
    """The first place where torch computes something else than the layers' maps, or None.

    Three comparisons on TORCH_SAMPLES random integer inputs in [−3, 3] (NumPy seed ``seed``),
    then a fourth on the model itself, and a check of the code it runs:

    1. float64, the model's own weights (a float64 copy of the model): each layer's output in
       torch, on the input torch gave it, against its map A·v + c by its attributes, within
       TORCH_RTOL·(|A|·|v| + |c|) entrywise (float64 rounding of a sum of m terms is at most
       m·2⁻⁵³ times that bound, far below 10⁻⁹ for any layer that fits in memory);
    2. exactly: ``model(x)`` against the layers run one after the other (what nn.Sequential's
       forward is; the same torch calls, so bitwise equal);
    3. exactly: each conv, transposed conv, linear layer and pool with a power-of-two divisor on a
       copy whose weights and biases are integers in [−3, 3] and integer inputs, where every
       product and partial sum is an integer (a dyadic fraction for pools) far below 2⁵³, so
       float64 arithmetic is exact in any summation order and the outputs compare with ==.

    4. the model itself, not a copy, in its own dtype with autograd on and off, on non-integer
       inputs of batch sizes TORCH_BATCHES = (1, 5, 16) (``_own_dtype_mismatch``, within
       ``rounding_tolerance``): what the model computes in use, not only what a float64 copy computes;

    and finally ``refuse_foreign_code``: a class method or functional op that is not torch's own
    code, a swapped module global ``F``, or any torch function, class method or module replaced
    since symconv.interop first used torch is refused with a SpecError even when every comparison
    passed (it may hide from them). Residual limit: a patch made before symconv first used torch
    that forges its code's file name and globals, or is C code, and that hides from all four
    comparisons (e.g. wrong only for batches above 16 or after some number of calls) is not found.

    Not exact: BatchNorm (γ/√(v + ε) is irrational) and pools with other divisors are covered by
    check 1 only. An activation, applied unchanged by the MLP, is checked in 1 to act on each entry
    alone with one function (``_elementwise_mismatch``), as the proof's σ_ℓ does.

    >>> import torch
    >>> torch_mismatch(torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3), torch.nn.ReLU()), (1, 5)) is None
    True
    """
    torch = _torch()
    steps = network_steps(model, input_shape) if steps is None else steps
    input_shape = steps[0].in_shape if steps else valid_shape("input_shape", input_shape)
    rng = np.random.default_rng(seed)
    draw = lambda shape: torch.as_tensor(  # noqa: E731 - integers, as float64
        rng.integers(-TORCH_RANGE, TORCH_RANGE + 1, size=shape).astype(np.float64))
    with torch.no_grad():
        model64 = copy.deepcopy(model).to(device="cpu", dtype=torch.float64)
        x = v = draw((TORCH_SAMPLES, *input_shape))
        for step, (_, layer) in zip(steps, _children(model64, "model")):
            out = _run_layer(step, layer, v)
            if found := _compare(replace(step, module=layer), v, out, TORCH_RTOL,
                                 f"float64 with the model's own weights (relative tolerance {TORCH_RTOL:g})"):
                return found
            v = out
        whole = model64(x)
        if steps and (tuple(whole.shape) != tuple(v.shape) or not torch.equal(whole, v)):
            root = Step("model", model64, "identity", steps[-1].out_shape, steps[-1].out_shape)
            return _compare(root, v, whole, 0.0, "model(x) exactly against its layers run one after the other")
        for step in filter(_exact_in_float64, steps):
            layer = copy.deepcopy(step.module).to(device="cpu", dtype=torch.float64)
            for parameter in layer.parameters():
                parameter.copy_(draw(tuple(parameter.shape)))
            xi = draw((TORCH_SAMPLES, *step.in_shape))
            if found := _compare(replace(step, module=layer), xi, _run_layer(step, layer, xi), 0.0,
                                 "exactly, on integer weights and inputs (every value exact in float64)"):
                return found
    if found := _own_dtype_mismatch(model, input_shape, steps, seed):
        return found
    refuse_foreign_code(model)
    return None


def prove_network(model: Any, input_shape: tuple[int, ...], layers: list | None = None) -> NetworkProof:
    """Prove model(x) = to_mlp(model)(x) on symbols: x, every weight, bias and BatchNorm statistic
    symbolic, each activation an undefined elementwise function σ_ℓ (so the proof holds for any
    activation). Entries are compared as canonical expanded forms (expansion reaches inside σ's
    argument, so σ(p) = σ(q) is decided as p = q). ``layers`` replaces the MLP (see ``mlp_layers``).

    The symbolic proof is about each layer's map as read from its attributes; that this map is
    what torch computes is checked first (``torch_mismatch``: only unaltered torch classes are
    accepted, then each layer is compared with torch running it, exactly where float64 is exact).
    A difference there refutes the proof with a ``TorchMismatch`` naming the layer."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    steps = network_steps(model, input_shape)
    input_shape = steps[0].in_shape if steps else valid_shape("input_shape", input_shape)
    layer_names = tuple(type(s.module).__name__ for s in steps)
    mismatch = torch_mismatch(model, input_shape, steps)
    timings["torch"] = time.perf_counter() - start
    if mismatch is not None:
        return NetworkProof(statement=NETWORK_STATEMENT, layers=layer_names,
                            holds=False, counterexample=mismatch,
                            outputs=prod(steps[-1].out_shape) if steps else prod(input_shape), timings=timings)
    start = time.perf_counter()
    x = tensor_symbols("x", tuple(input_shape))
    expected = _network_definition(steps, x)
    mlp = mlp_layers(steps, symbolic=True) if layers is None else _valid_layers(layers)
    obtained = run_mlp(mlp, x.reshape(-1))
    timings["build"] = time.perf_counter() - start
    start = time.perf_counter()
    found = first_entry_difference("mlp", expected, obtained)
    timings["mlp"] = time.perf_counter() - start
    return NetworkProof(statement=NETWORK_STATEMENT, layers=layer_names, holds=found is None,
                        counterexample=found, outputs=len(expected), timings=timings)


if "torch" in sys.modules:   # record torch as it is when symconv.interop is imported (see _take_snapshot)
    _torch()
