"""torch itself as symconv first saw it: the torch import, the classes whose forward symconv
knows, and a snapshot of torch's functions, classes and modules taken when symconv.interop first
uses torch, against which every later check compares (``_changed_since_snapshot``)."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import numpy as np

ELEMENTWISE = ("ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "Sigmoid", "Tanh", "SiLU",
               "Mish", "Softplus", "Softsign", "Hardtanh", "Hardsigmoid", "Hardswish", "Hardshrink",
               "Softshrink", "Tanhshrink", "LogSigmoid")


def _torch():
    try:
        import torch
    except ImportError as error:  # pragma: no cover - torch is installed in the test venv
        raise ImportError("symconv.interop needs PyTorch: pip install torch") from error
    if _SNAPSHOT is None:
        _take_snapshot()
    return torch


def _float64(tensor: Any) -> np.ndarray:
    """A tensor's values as float64 NumPy (exact for every float dtype), detached from autograd."""
    return tensor.detach().cpu().to(_torch().float64).numpy()


def _known_classes() -> tuple[type, ...]:
    """The torch classes whose forward symconv knows (the table in the docstring of symconv.interop)."""
    nn = _torch().nn
    return (nn.Sequential, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
            nn.ConvTranspose3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, nn.AdaptiveAvgPool1d,
            nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d,
            nn.BatchNorm3d, nn.Flatten, nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d,
            nn.AlphaDropout, nn.FeatureAlphaDropout, nn.PReLU, *(getattr(nn, name) for name in ELEMENTWISE))


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


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


if "torch" in sys.modules:   # record torch as it is when symconv.interop is imported (see _take_snapshot)
    _torch()
