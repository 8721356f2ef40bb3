"""Only torch's own classes, unaltered: their forward is what the table of ``symconv.interop``
says. A module that is a subclass or a namesake, has an instance attribute replacing a method, a
hook, a parametrization, weight_norm or spectral_norm, a tensor subclass or a non-finite weight is
refused with a SpecError; so are global module hooks, active torch modes and torch code that is not
torch's own (``refuse_foreign_code``)."""

from __future__ import annotations

from typing import Any

from ..errors import SpecError
from .torch_code import (
    FORWARD_METHODS,
    FUNCTIONAL,
    _changed_since_snapshot,
    _class_name,
    _known_classes,
    _namespaces,
    _torch,
    _torch_own,
)

HOOKS = {"_forward_hooks": "forward hook", "_forward_pre_hooks": "forward pre-hook",
         "_backward_hooks": "backward hook", "_backward_pre_hooks": "backward pre-hook"}
GLOBAL_HOOKS = {"_global_forward_hooks": "register_module_forward_hook",
                "_global_forward_pre_hooks": "register_module_forward_pre_hook",
                "_global_backward_hooks": "register_module_full_backward_hook",
                "_global_backward_pre_hooks": "register_module_full_backward_pre_hook",
                "_global_parameter_registration_hooks": "register_module_parameter_registration_hook",
                "_global_buffer_registration_hooks": "register_module_buffer_registration_hook",
                "_global_module_registration_hooks": "register_module_module_registration_hook"}


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
