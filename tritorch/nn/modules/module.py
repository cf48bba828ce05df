"""Module: the base class of every layer (PyTorch's torch.nn.Module contract)."""
from __future__ import annotations

import functools
import itertools
import warnings
import weakref
from collections import OrderedDict
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np

from ... import dtypes as _dt
from ...autograd.grad_mode import no_grad
from ...device import device as _device
from ...ops import copy as _copy
from ...ops import creation as _creation
from ...tensor import Tensor
from ..parameter import Buffer, Parameter, is_parameter

__all__ = ["Module", "register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_full_backward_pre_hook", "register_module_backward_hook",
           "register_module_full_backward_hook", "register_module_buffer_registration_hook",
           "register_module_module_registration_hook", "register_module_parameter_registration_hook"]


class _IncompatibleKeys(NamedTuple):
    missing_keys: list
    unexpected_keys: list

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"

    __str__ = __repr__


class RemovableHandle:
    """What register_*_hook returns: `handle.remove()` (or leaving a `with handle:` block) unregisters."""

    _next_id = itertools.count()

    def __init__(self, hooks_dict: dict, *extra_dicts: dict, extra_dict=None):
        self.id = next(RemovableHandle._next_id)
        if extra_dict is not None:  # PyTorch's keyword form: one dict or a list of them
            extra_dicts += tuple(extra_dict) if isinstance(extra_dict, list) else (extra_dict,)
        self._dicts = [weakref.ref(hooks_dict)] + [weakref.ref(d) for d in extra_dicts]

    def remove(self) -> None:
        for ref in self._dicts:
            d = ref()
            if d is not None:
                d.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class _HookDict(OrderedDict):
    """An OrderedDict that a weakref can point to (plain dicts cannot be weakly referenced)."""


_EXTRA_STATE_KEY_SUFFIX = "_extra_state"   # the state_dict key of a module's get_extra_state()

_HOOK_TABLES = ("_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_forward_hooks", "_forward_hooks_with_kwargs",
                "_forward_hooks_always_called", "_backward_hooks", "_backward_pre_hooks", "_state_dict_pre_hooks",
                "_state_dict_hooks", "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks")

# Hooks every Module runs (torch.nn.modules.module.register_module_*): before its own, as in PyTorch.
_global_forward_pre_hooks = _HookDict()
_global_forward_hooks = _HookDict()
_global_forward_hooks_with_kwargs = _HookDict()
_global_forward_hooks_always_called = _HookDict()
_global_backward_pre_hooks = _HookDict()
_global_backward_hooks = _HookDict()
_global_buffer_registration_hooks = _HookDict()
_global_module_registration_hooks = _HookDict()
_global_parameter_registration_hooks = _HookDict()


def _global_hook(hooks: _HookDict, hook, *extra) -> "RemovableHandle":
    handle = RemovableHandle(hooks, *extra)
    hooks[handle.id] = hook
    return handle


def register_module_forward_pre_hook(hook: Callable) -> "RemovableHandle":
    """hook(module, args) -> None or new args, run before every Module's forward (before its own pre-hooks)."""
    return _global_hook(_global_forward_pre_hooks, hook)


def register_module_forward_hook(hook: Callable, *, with_kwargs: bool = False,
                                 always_call: bool = False) -> "RemovableHandle":
    """hook(module, args, output) -> None or a new output (with_kwargs: hook(module, args, kwargs, output)), run
    after every Module's forward (before its own forward hooks); always_call: also when forward raised."""
    handle = _global_hook(_global_forward_hooks, hook, _global_forward_hooks_with_kwargs,
                          _global_forward_hooks_always_called)
    if with_kwargs:
        _global_forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook: Callable) -> "RemovableHandle":
    """hook(module, grad_output) -> None or new grad_output, for every Module (before its own)."""
    return _global_hook(_global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook: Callable) -> "RemovableHandle":
    """hook(module, grad_input, grad_output) -> None or new grad_input, for every Module (before its own)."""
    return _global_hook(_global_backward_hooks, hook)


def register_module_backward_hook(hook: Callable) -> "RemovableHandle":
    """PyTorch's deprecated spelling; tritorch gives it register_module_full_backward_hook's semantics."""
    return register_module_full_backward_hook(hook)


def register_module_buffer_registration_hook(hook: Callable) -> "RemovableHandle":
    """hook(module, name, buffer) -> None or a replacement buffer, whenever a Module registers a buffer."""
    return _global_hook(_global_buffer_registration_hooks, hook)


def register_module_module_registration_hook(hook: Callable) -> "RemovableHandle":
    """hook(module, name, submodule) -> None or a replacement, whenever a Module registers a submodule."""
    return _global_hook(_global_module_registration_hooks, hook)


def register_module_parameter_registration_hook(hook: Callable) -> "RemovableHandle":
    """hook(module, name, param) -> None or a replacement parameter, whenever a Module registers a parameter."""
    return _global_hook(_global_parameter_registration_hooks, hook)


def _registered(hooks: _HookDict, module, name: str, value):
    """value after the global registration hooks (each may return a replacement)."""
    for hook in list(hooks.values()):
        result = hook(module, name, value)
        if result is not None:
            value = result
    return value



def _addindent(s: str, num_spaces: int) -> str:
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    return first + "\n" + "\n".join(num_spaces * " " + line for line in lines)


def _as_tensor(value, name: str) -> Tensor:
    """A state-dict value as a tritorch Tensor (tritorch tensors as they are; NumPy arrays and anything that
    converts to one, e.g. a torch tensor, through NumPy)."""
    if isinstance(value, Tensor):
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a tensor from another framework
        value = value.detach().cpu()
    try:
        arr = np.asarray(value)
    except Exception as e:  # noqa: BLE001
        raise TypeError(f"state_dict value for '{name}' is a {type(value).__name__}, not a Tensor") from e
    from ...tensor import from_array
    return from_array(np.array(arr, order="C"))


class Module:
    """Base class for all neural network modules.

    Parameters, buffers and submodules assigned as attributes are registered (in assignment order) in
    `_parameters`, `_buffers` and `_modules`; `state_dict` names them by their dotted paths.
    """

    training: bool
    _version: int = 1
    call_super_init: bool = False

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() takes no arguments beyond self "
                            f"(got {len(args)} positional and {sorted(kwargs)} keyword)")
        sa = object.__setattr__
        sa(self, "training", True)
        sa(self, "_parameters", OrderedDict())
        sa(self, "_buffers", OrderedDict())
        sa(self, "_non_persistent_buffers_set", set())
        sa(self, "_modules", OrderedDict())
        sa(self, "_forward_pre_hooks", _HookDict())
        sa(self, "_forward_pre_hooks_with_kwargs", _HookDict())
        sa(self, "_forward_hooks", _HookDict())
        sa(self, "_forward_hooks_with_kwargs", _HookDict())
        sa(self, "_forward_hooks_always_called", _HookDict())
        sa(self, "_backward_hooks", _HookDict())
        sa(self, "_backward_pre_hooks", _HookDict())
        sa(self, "_state_dict_pre_hooks", _HookDict())
        sa(self, "_state_dict_hooks", _HookDict())
        sa(self, "_load_state_dict_pre_hooks", _HookDict())
        sa(self, "_load_state_dict_post_hooks", _HookDict())

    forward: Callable[..., Any]

    def forward(self, *input):  # noqa: F811
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    # ------------------------------------------------------------------------------------------ registration
    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(torch Tensor or None required)")
        if _global_buffer_registration_hooks:
            tensor = _registered(_global_buffer_registration_hooks, self, name, tensor)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is None:
            self._parameters[name] = None
            return
        if not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(torch.nn.Parameter or None required)")
        if param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                             f"created explicitly. To express '{name}' as a function of another Tensor, compute "
                             "the value in the forward() method.")
        if _global_parameter_registration_hooks:
            param = _registered(_global_parameter_registration_hooks, self, name, param)
        self._parameters[name] = param

    def add_module(self, name: str, module: "Module | None") -> None:
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {type(name).__name__}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        if _global_module_registration_hooks:
            module = _registered(_global_module_registration_hooks, self, name, module)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(mod._get_name() + " has no attribute `" + item + "`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError("`" + item + "` is not an nn.Module")
        return mod

    def get_parameter(self, target: str) -> Tensor:
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        p = getattr(mod, name)
        if not isinstance(p, Parameter):
            raise AttributeError("`" + name + "` is not an nn.Parameter")
        return p

    def get_buffer(self, target: str) -> Tensor:
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in mod._buffers:
            raise AttributeError("`" + name + "` is not a buffer")
        return mod._buffers[name]

    # ------------------------------------------------------------------------------------ attribute protocol
    def __getattr__(self, name: str):
        d = self.__dict__
        if "_parameters" in d:
            if name in d["_parameters"]:
                return d["_parameters"][name]
            if name in d["_buffers"]:
                return d["_buffers"][name]
            if name in d["_modules"]:
                return d["_modules"][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            _remove_from(self, name, keep="_parameters")
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(torch.nn.Parameter or None expected)")
            self.register_parameter(name, value)
            return
        modules = d.get("_modules")
        if isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            _remove_from(self, name, keep="_modules")
            modules[name] = value
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(torch.nn.Module or None expected)")
            modules[name] = value
            return
        buffers = d.get("_buffers")
        if isinstance(value, Buffer):
            if buffers is None:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            _remove_from(self, name, keep="_buffers")
            self.register_buffer(name, value, persistent=value._extra.get("persistent", True))
            return
        if buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(torch.Tensor or None expected)")
            buffers[name] = value
            return
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for key in ("_parameters", "_buffers", "_modules"):
            table = self.__dict__.get(key)
            if table is not None and name in table:
                del table[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(super().__dir__()) + list(self._parameters) + list(self._buffers) + list(self._modules)
        return sorted(k for k in set(keys) if not k[0].isdigit())

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in _HOOK_TABLES:   # (a checkpoint brings them back as plain ordered dicts: hooks need weakrefs)
            table = self.__dict__.get(name)
            if table is None or type(table) is not _HookDict:
                object.__setattr__(self, name, _HookDict(table or ()))

    def __deepcopy__(self, memo: dict) -> "Module":
        """copy.deepcopy(module): parameters and buffers are cloned (tritorch tensors are not picklable, so the
        memo is seeded with their clones; shared tensors stay shared in the copy)."""
        import copy
        for t in itertools.chain(self.parameters(), self.buffers()):
            if id(t) not in memo:
                memo[id(t)] = _clone_tensor(t)
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            object.__setattr__(new, k, copy.deepcopy(v, memo))
        return new

    # ------------------------------------------------------------------------------------------- iteration
    def _named_members(self, get_members, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        memo = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for module_prefix, module in modules:
            for k, v in get_members(module):
                if v is None or (remove_duplicate and id(v) in memo):
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield (module_prefix + ("." if module_prefix else "") + k, v)

    def parameters(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        yield from self._named_members(lambda m: m._parameters.items(), prefix=prefix, recurse=recurse,
                                       remove_duplicate=remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        yield from self._named_members(lambda m: m._buffers.items(), prefix=prefix, recurse=recurse,
                                       remove_duplicate=remove_duplicate)

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_children(self):
        memo = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in memo:
                memo.add(id(m))
                yield name, m

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_modules(self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True):
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from m.named_modules(memo, sub, remove_duplicate)

    # ---------------------------------------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> "Module":
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def compile(self, *args, **kwargs) -> None:
        """Compile this module's forward in place (torch's Module.compile): tritorch runs eagerly, so the module is
        left as it is (its state_dict keys unchanged, unlike tritorch.compile(module)'s wrapper)."""
        from ..._settings import compile as _compile
        _compile(self._call_impl, *args, **kwargs)

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad
                if getattr(g, "is_sparse", False):
                    g.zero_()
                    continue
                if g.grad_fn is not None:
                    g = p._grad = g.detach()
                else:
                    g.requires_grad_(False)
                g.copy_(0)

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------------------------ device and dtype
    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> "Module":
        """Convert every parameter and buffer with `fn`. Parameters keep their identity (their storage is
        swapped, as PyTorch does by default), so optimizers built before `.to()` still see them."""
        if recurse:
            for m in self.children():
                m._apply(fn)
        with no_grad():
            for p in self._parameters.values():
                if p is None:
                    continue
                p.data = fn(p)
                if p._grad is not None:
                    p._grad = fn(p._grad)
            for key, b in self._buffers.items():
                if b is not None:
                    self._buffers[key] = fn(b)
        return self

    def to(self, *args, **kwargs) -> "Module":
        """to(device), to(dtype), to(device, dtype), to(tensor), to(memory_format=...); dtype conversion applies to
        floating-point parameters and buffers only, a memory format (as in PyTorch) to the 4-D and 5-D ones."""
        fmt = kwargs.get("memory_format")
        dev, dtype, _ = _copy._parse_to(args, dict(kwargs))
        if dtype is not None and dtype.kind != _dt.FLOAT:
            raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got desired "
                            f"dtype={dtype}")

        def convert(t: Tensor) -> Tensor:
            t_dtype = dtype if t.dtype.kind == _dt.FLOAT else None
            if fmt is not None and t.ndim in (4, 5):
                return _copy.to(t, dev, t_dtype, memory_format=fmt)
            return _copy.to(t, dev, t_dtype)

        return self._apply(convert)

    def to_empty(self, *, device, recurse: bool = True) -> "Module":
        """Parameters and buffers moved to `device` with uninitialised storage (values are not copied): how a
        module built on the meta device gets real memory, before load_state_dict or reset_parameters."""
        return self._apply(lambda t: _creation.empty_like(t, device=device), recurse=recurse)

    def cuda(self, device=None) -> "Module":
        dev = _device("cuda" if device is None else (f"cuda:{device}" if isinstance(device, int) else device))
        return self._apply(lambda t: _copy.to_device(t, dev))

    def cpu(self) -> "Module":
        return self._apply(lambda t: _copy.to_device(t, "cpu"))

    def share_memory(self) -> "Module":
        """Parameters, buffers and existing gradients moved into shared memory (Tensor.share_memory_): processes
        the module is sent to afterwards (torch.multiprocessing) train the same weights (Hogwild)."""
        return self._apply(lambda t: t.share_memory_())

    def type(self, dst_type) -> "Module":
        dst = _dt.as_dtype(dst_type)
        return self._apply(lambda t: _copy.cast(t, dst))

    def _float_cast(self, dtype) -> "Module":
        return self._apply(lambda t: _copy.cast(t, dtype) if t.dtype.kind == _dt.FLOAT else t)

    def float(self) -> "Module":
        return self._float_cast(_dt.float32)

    def double(self) -> "Module":
        return self._float_cast(_dt.float64)

    def half(self) -> "Module":
        return self._float_cast(_dt.float16)

    def bfloat16(self) -> "Module":
        return self._float_cast(_dt.bfloat16)

    # ------------------------------------------------------------------------------------------ state dict
    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + _EXTRA_STATE_KEY_SUFFIX] = self.get_extra_state()

    def get_extra_state(self):
        """The module's state beyond its parameters and buffers, saved under `<prefix>_extra_state` in state_dict
        by a module that overrides this (and set_extra_state, which load_state_dict then calls with it)."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be called. Please file "
                           "an issue at https://github.com/pytorch/pytorch/issues/new?template=bug-report.yml to "
                           "report this bug.")

    def set_extra_state(self, state) -> None:
        """Restore what get_extra_state returned (see there)."""
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be called. Please file "
                           "an issue at https://github.com/pytorch/pytorch/issues/new?template=bug-report.yml to "
                           "report this bug.")

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False) -> dict:
        """An OrderedDict of every parameter and persistent buffer by dotted name (detached, sharing storage)."""
        if args:  # the deprecated positional form state_dict(destination, prefix, keep_vars)
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        metadata = getattr(destination, "_metadata", None)
        if metadata is not None:   # each module's version, by its prefix: _load_from_state_dict reads it back
            metadata[prefix[:-1]] = {"version": self._version}
        hooks = self.__dict__.get("_state_dict_pre_hooks")
        for hook in (hooks.values() if hooks else ()):
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        hooks = self.__dict__.get("_state_dict_hooks")
        for hook, private in (hooks.values() if hooks else ()):
            result = hook(self, destination, prefix, {"version": getattr(self, "_version", 1)})
            if result is not None:
                if not private:
                    raise RuntimeError("state_dict post-hook must return None")
                destination = result
        return destination

    # -------------------------------------------------------------------------------------- state dict hooks
    def _hook_table(self, name: str) -> _HookDict:
        table = self.__dict__.get(name)
        if table is None:   # (a module whose __init__ did not run)
            table = _HookDict()
            object.__setattr__(self, name, table)
        return table

    def _add_hook(self, name: str, entry) -> RemovableHandle:
        table = self._hook_table(name)
        handle = RemovableHandle(table)
        table[handle.id] = entry
        return handle

    def register_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, prefix, keep_vars), called before state_dict() gathers this module's entries."""
        return self._add_hook("_state_dict_pre_hooks", hook)

    def register_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, state_dict, prefix, local_metadata), called after state_dict() has gathered this module's
        (and its children's) entries; it may edit state_dict in place and must return None."""
        return self._add_hook("_state_dict_hooks", (hook, False))

    def _register_state_dict_hook(self, hook: Callable) -> RemovableHandle:
        """The older private form of register_state_dict_post_hook: a hook may return a new state_dict."""
        return self._add_hook("_state_dict_hooks", (hook, True))

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs),
        called before this module loads its entries; it may edit state_dict (a copy of the caller's) in place."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def _register_load_state_dict_pre_hook(self, hook: Callable, with_module: bool = False) -> RemovableHandle:
        """The private form: hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
        error_msgs), given the module first when with_module=True."""
        return self._add_hook("_load_state_dict_pre_hooks", functools.partial(hook, self) if with_module else hook)

    def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, incompatible_keys), called after load_state_dict() has loaded this module and its children;
        it may remove keys from incompatible_keys.missing_keys / unexpected_keys before strict checks them."""
        return self._add_hook("_load_state_dict_post_hooks", hook)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        """Load this module's own parameters and buffers (PyTorch's signature, which subclasses override to rename
        old keys: local_metadata is the module's entry in state_dict._metadata, its saved "version"; load_state_dict
        puts assign=True there as "assign_to_params_buffers")."""
        hooks = self.__dict__.get("_load_state_dict_pre_hooks")
        for hook in (hooks.values() if hooks else ()):
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
        assign = bool((local_metadata or {}).get("assign_to_params_buffers", False))
        persistent_buffers = {k: v for k, v in self._buffers.items() if k not in self._non_persistent_buffers_set}
        local_state = {k: v for k, v in itertools.chain(self._parameters.items(), persistent_buffers.items())
                       if v is not None}
        for name, param in local_state.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            try:
                value = _as_tensor(state_dict[key], key)
            except TypeError as e:
                error_msgs.append(str(e))
                continue
            if tuple(value.shape) != tuple(param.shape):
                error_msgs.append(f"size mismatch for {key}: copying a param with shape {value.shape} from "
                                  f"checkpoint, the shape in current model is {param.shape}.")
                continue
            try:
                with no_grad():
                    if assign:
                        self._assign_loaded(name, param, value)
                    else:
                        if param.is_meta and not value.is_meta:
                            warnings.warn(f"for {key}: copying from a non-meta parameter in the checkpoint to a meta "
                                          "parameter in the current model, which is a no-op. (Did you mean to pass "
                                          "`assign=True` to assign items in the state dictionary to their "
                                          "corresponding key in the module instead of copying them in place?)",
                                          UserWarning, stacklevel=2)
                        param.copy_(value)
            except Exception as e:  # noqa: BLE001
                error_msgs.append(f'While copying the parameter named "{key}", whose dimensions in the model are '
                                  f"{param.shape} and whose dimensions in the checkpoint are {value.shape}, an "
                                  f"exception occurred : {e.args}.")
        extra_key = prefix + _EXTRA_STATE_KEY_SUFFIX
        has_extra = type(self).set_extra_state is not Module.set_extra_state
        if has_extra and extra_key in state_dict:
            self.set_extra_state(state_dict[extra_key])
        elif has_extra and strict:
            missing_keys.append(extra_key)
        if strict:
            for key in state_dict:
                if key.startswith(prefix) and not (has_extra and key == extra_key):
                    first = key[len(prefix):].split(".", 1)[0]
                    if first not in self._modules and first not in local_state:
                        unexpected_keys.append(key)

    def _assign_loaded(self, name: str, current: Tensor, value: Tensor) -> None:
        if name in self._parameters:
            p = value if isinstance(value, Parameter) else Parameter(value, requires_grad=current.requires_grad)
            self._parameters[name] = p
        else:
            self._buffers[name] = value

    def load_state_dict(self, state_dict: dict, strict: bool = True, assign: bool = False) -> _IncompatibleKeys:
        """Copy parameters and buffers from `state_dict` (values may be tritorch tensors, NumPy arrays or any
        array-like). strict=True raises on missing or unexpected keys; size mismatches always raise."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing_keys: list = []
        unexpected_keys: list = []
        error_msgs: list = []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)
        if metadata is not None:
            state_dict._metadata = metadata

        def load(module: Module, prefix: str = "") -> None:
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = assign
            module._load_from_state_dict(state_dict, prefix, local_metadata, True, missing_keys, unexpected_keys,
                                         error_msgs)
            for name, child in module._modules.items():
                if child is not None:
                    load(child, prefix + name + ".")
            hooks = module.__dict__.get("_load_state_dict_post_hooks")
            if hooks:
                incompatible = _IncompatibleKeys(missing_keys, unexpected_keys)
                for hook in hooks.values():
                    if hook(module, incompatible) is not None:
                        raise RuntimeError("Hooks registered with ``register_load_state_dict_post_hook`` are not "
                                           "expected to return new values, if incompatible_keys need to be modified,"
                                           " it should be done inplace.")

        load(self)
        if strict:
            if unexpected_keys:
                error_msgs.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected_keys)))
            if missing_keys:
                error_msgs.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing_keys)))
        if error_msgs:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(error_msgs)))
        return _IncompatibleKeys(missing_keys, unexpected_keys)

    # ----------------------------------------------------------------------------------------------- hooks
    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """hook(module, args) -> None or new args (with_kwargs: hook(module, args, kwargs) -> None or
        (args, kwargs)), run before forward."""
        handle = RemovableHandle(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """hook(module, args, output) -> None or a new output (with_kwargs: hook(module, args, kwargs,
        output)), run after forward."""
        handle = RemovableHandle(self._forward_hooks, self._forward_hooks_with_kwargs,
                                 self._forward_hooks_always_called)
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """hook(module, grad_input, grad_output) -> None or a new grad_input, called when the gradients with
        respect to the module's tensor inputs have been computed (grad_input entries are None for inputs that
        need no gradient)."""
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        if prepend:
            self._backward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """hook(module, grad_output) -> None or a new grad_output, called when the gradients with respect to the
        module's outputs arrive, before they flow into the module."""
        handle = RemovableHandle(self._backward_pre_hooks)
        self._backward_pre_hooks[handle.id] = hook
        if prepend:
            self._backward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_backward_hook(self, hook: Callable) -> RemovableHandle:
        """PyTorch's deprecated spelling; tritorch gives it register_full_backward_hook's (correct) semantics."""
        return self.register_full_backward_hook(hook)

    def _call_impl(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks or self._backward_pre_hooks
                or _global_forward_pre_hooks or _global_forward_hooks or _global_backward_hooks
                or _global_backward_pre_hooks):
            return self.forward(*args, **kwargs)   # the common case: no hooks, no extra frame
        if self._backward_hooks or self._backward_pre_hooks or _global_backward_hooks or _global_backward_pre_hooks:
            from ._backward_hooks import call_with_backward_hooks
            return call_with_backward_hooks(self, self._call_forward, args, kwargs)
        return self._call_forward(*args, **kwargs)

    def _call_forward(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks or _global_forward_pre_hooks or _global_forward_hooks):
            return self.forward(*args, **kwargs)
        for hook in list(_global_forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        for hook_id, hook in list(self._forward_pre_hooks.items()):
            if hook_id in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, "
                                           f"new_kwargs), but got {result}.")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        called = False
        try:
            result = self.forward(*args, **kwargs)
            called = True
            for hooks, with_kwargs in ((_global_forward_hooks, _global_forward_hooks_with_kwargs),
                                       (self._forward_hooks, self._forward_hooks_with_kwargs)):
                for hook_id, hook in list(hooks.items()):
                    if hook_id in with_kwargs:
                        hook_result = hook(self, args, kwargs, result)
                    else:
                        hook_result = hook(self, args, result)
                    if hook_result is not None:
                        result = hook_result
            return result
        except Exception:
            if not called:  # always_call hooks still run when forward raised
                for hooks, with_kwargs, always in (
                        (_global_forward_hooks, _global_forward_hooks_with_kwargs, _global_forward_hooks_always_called),
                        (self._forward_hooks, self._forward_hooks_with_kwargs, self._forward_hooks_always_called)):
                    for hook_id, hook in list(hooks.items()):
                        if hook_id in always:
                            try:
                                if hook_id in with_kwargs:
                                    hook(self, args, kwargs, None)
                                else:
                                    hook(self, args, None)
                            except Exception:  # noqa: BLE001  (the forward error is the one to report)
                                pass
            raise

    __call__ = _call_impl

    # ---------------------------------------------------------------------------------------------- repr
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        extra_lines = []
        extra = self.extra_repr()
        if extra:
            extra_lines = extra.split("\n")
        child_lines = []
        for key, module in self._modules.items():
            child_lines.append("(" + key + "): " + _addindent(repr(module), 2))
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


def _clone_tensor(t: Tensor) -> Tensor:
    with no_grad():
        c = t.detach().clone()
    if isinstance(t, Parameter):
        return Parameter(c, requires_grad=t.requires_grad)
    if isinstance(t, Buffer):
        return Buffer(c, persistent=t._extra.get("persistent", True))
    return c


def _check_name(name, kind: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain "."')
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')


def _remove_from(module: Module, name: str, keep: str) -> None:
    """Assigning a parameter/module/buffer under a name drops any other registration of that name."""
    d = module.__dict__
    if name in d:
        del d[name]
    for key in ("_parameters", "_buffers", "_modules"):
        if key != keep and name in d[key]:
            del d[key][name]
            if key == "_buffers":
                module._non_persistent_buffers_set.discard(name)


_ = is_parameter
