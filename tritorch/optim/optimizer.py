"""Optimizer: parameter groups, per-parameter state, PyTorch-format state dicts, and the fused per-parameter update.

A subclass declares its hyperparameter defaults and implements `_update_group(group)`. Updates run under no_grad
and write storage directly: on cpu the NumPy functions of `_numpy` (in place), on cuda one Triton kernel of
`_kernels` per parameter. Every tensor written (the parameter and its state buffers) gets its version counter
bumped, as an in-place op would.
"""
from __future__ import annotations

import functools
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor, _make
from . import _kernels, _numpy

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]


class _RequiredParameter:
    """Singleton class representing a required parameter for an Optimizer."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj) -> str:
    if isinstance(obj, Tensor):
        from ..dtypes import PUBLIC_NAME
        return f"{PUBLIC_NAME[0]}.Tensor"
    t = type(obj)
    return t.__qualname__ if t.__module__ in ("builtins", "__builtin__") else f"{t.__module__}.{t.__qualname__}"


class _RemovableHandle:
    """What register_*_hook returns: `remove()` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: OrderedDict):
        self._hooks = hooks
        self.id = _RemovableHandle._next_id
        _RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _add_hook(hooks: OrderedDict, hook, prepend: bool = False) -> _RemovableHandle:
    handle = _RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


# Step hooks every optimizer runs (pre hooks before its own, post hooks after its own).
_global_optimizer_pre_hooks: OrderedDict = OrderedDict()
_global_optimizer_post_hooks: OrderedDict = OrderedDict()


def register_optimizer_step_pre_hook(hook) -> _RemovableHandle:
    """hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs), before every optimizer's step."""
    return _add_hook(_global_optimizer_pre_hooks, hook)


def register_optimizer_step_post_hook(hook) -> _RemovableHandle:
    """hook(optimizer, args, kwargs) -> None, after every optimizer's step."""
    return _add_hook(_global_optimizer_post_hooks, hook)


def _with_step_hooks(step):
    """`step` wrapped to run the global and the optimizer's step hooks around it (args include the optimizer, as
    PyTorch's do); a pre hook may return (new_args, new_kwargs) for the step."""
    @functools.wraps(step)
    def hooked_step(*args, **kwargs):
        self = args[0]
        for pre_hook in chain(_global_optimizer_pre_hooks.values(), self._optimizer_step_pre_hooks.values()):
            result = pre_hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(f"{step} must return None or a tuple of (new_args, new_kwargs), but got "
                                       f"{result}.")
        out = step(*args, **kwargs)
        for post_hook in chain(self._optimizer_step_post_hooks.values(), _global_optimizer_post_hooks.values()):
            post_hook(self, args, kwargs)
        return out

    hooked_step.hooked = True
    return hooked_step


_LOW_PRECISION = (np.dtype(np.float16), _dt.bfloat16.np)
# Elements per cpu update chunk (256 KiB fp32 operands; fastest of 8K..256K measured on this CPU). A power of two, so
# that chunk boundaries fall on the vector blocks of BLAS's axpy (whose last partial block rounds twice, not fused)
# and a chunked update gives the whole-array update's bits.
_CHUNK = 65536


class Optimizer:
    """Base class for all optimizers (torch.optim.Optimizer).

    params: an iterable of Tensors, of (name, Tensor) pairs, or of dicts defining parameter groups.
    defaults: the hyperparameters each group falls back to.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self._init_hooks()
        self._patch_step_function()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got " + _typename(params))
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    _HOOK_DICTS = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks", "_optimizer_state_dict_pre_hooks",
                   "_optimizer_state_dict_post_hooks", "_optimizer_load_state_dict_pre_hooks",
                   "_optimizer_load_state_dict_post_hooks")

    def _init_hooks(self) -> None:
        for name in self._HOOK_DICTS:
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())

    def _patch_step_function(self) -> None:
        """Wrap this class's step (a subclass's own override included) once, so that step hooks run around it."""
        cls = type(self)
        if not getattr(cls.step, "hooked", False):
            cls.step = _with_step_hooks(cls.step)

    # ------------------------------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (with optional hyperparameters of its own) to optimize."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            param_group["params"] = list(params)
        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is " + _typename(param))
            if not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            import warnings
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------------------------------ gradients
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors: drop them (default) or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                    continue
                if grad.__class__ is not Tensor and getattr(grad, "is_sparse", False):
                    grad.zero_()          # a sparse gradient: no entries left
                    continue
                if grad.grad_fn is not None:
                    grad.detach_()
                else:
                    grad.requires_grad_(False)
                if grad.device.type == "cpu":
                    grad._data[...] = 0
                    grad._version[0] += 1
                else:
                    with no_grad():
                        grad.zero_()

    # ------------------------------------------------------------------------------------------ stepping
    def step(self, closure=None):
        """Perform a single optimization step; `closure` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    def _update_group(self, group: dict) -> None:
        raise TypeError(f"{type(self).__name__} does not define an update: subclasses of Optimizer implement "
                        "_update_group(group) or override step()")

    def register_step_pre_hook(self, hook) -> _RemovableHandle:
        """hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs) runs before each step."""
        return _add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook) -> _RemovableHandle:
        """hook(optimizer, args, kwargs) runs after each step."""
        return _add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend: bool = False) -> _RemovableHandle:
        """hook(optimizer) runs before state_dict() builds the dict (first of all hooks if `prepend`)."""
        return _add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False) -> _RemovableHandle:
        """hook(optimizer, state_dict) -> None or a new state dict, on state_dict()'s result."""
        return _add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False) -> _RemovableHandle:
        """hook(optimizer, state_dict) -> None or the state dict to load, given a shallow copy of the loaded one."""
        return _add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False) -> _RemovableHandle:
        """hook(optimizer) runs after load_state_dict()."""
        return _add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ------------------------------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict:
        """{'state': {param index: {name: value}}, 'param_groups': [{..., 'params': [indices]}]} (PyTorch's format).

        Indices number the parameters in group order. The state's tensors are the optimizer's own (not copies).
        """
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)
        mapping: dict[int, int] = {}
        start = 0
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        state_dict = {"state": state, "param_groups": groups}
        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state dict from `state_dict()` (this optimizer's or PyTorch's format).

        State tensors are copied, cast to their parameter's dtype and device ('step' stays a cpu float32 scalar),
        so the loaded optimizer continues exactly where the saved one was.
        """
        state_dict = state_dict.copy()   # shallow: a pre hook may replace entries without touching the caller's
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = deepcopy([{k: v for k, v in g.items()} for g in state_dict["param_groups"]])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            key = int(k) if isinstance(k, str) and k.isdigit() else k  # (string keys from a JSON-like file)
            if key in id_map:
                param = id_map[key]
                state[param] = _cast_state(param, v)
            else:
                state[key] = v
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            if "betas" in saved and isinstance(saved["betas"], list):
                saved["betas"] = tuple(saved["betas"])
            new_groups.append(saved)
        self.__setstate__({"state": state, "param_groups": new_groups})
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)

    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    # Group options a state from an older version may lack, with the values they take (PyTorch's __setstate__).
    _group_defaults: dict = {}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for group in self.param_groups:
            for k, v in self._group_defaults.items():
                group.setdefault(k, v)
        self._init_hooks()
        self._patch_step_function()   # (an unpickled optimizer's class may not have been wrapped yet)

    def __repr__(self) -> str:
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"


# ---------------------------------------------------------------------------------------------- helpers

# Per-parameter scalars kept on the host as 0-dim cpu float32 tensors (PyTorch keeps all but 'step' on the
# parameter's device): the update reads them as Python floats, so a device copy would cost a sync per step.
_HOST_SCALARS = ("step", "mu_product", "eta", "mu")


def _cast_state(param: Tensor, value, key=None):
    """A loaded state value as the optimizer keeps it: tensors copied to the parameter's device (and dtype, for
    floating parameters), the host scalars ('step', ...) as cpu float32 scalar tensors; dicts and lists
    recursively."""
    # (only scalars: a custom optimizer's 'mu' shaped like its parameter stays a device tensor)
    if key in _HOST_SCALARS and (not isinstance(value, Tensor) or value.dim() == 0):
        return _step_tensor(float(value.item() if isinstance(value, Tensor) else value))
    if isinstance(value, Tensor):
        with no_grad():
            if param.is_floating_point():
                out = value.to(dtype=param.dtype, device=param.device)
            else:
                out = value.to(device=param.device)
            out = out.contiguous()
            if out is value or out._data is value._data:
                out = out.clone()
        return out
    if isinstance(value, dict):
        return {k: _cast_state(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, v) for v in value)
    return value


def _step_tensor(value: float = 0.0) -> Tensor:
    """The step count as PyTorch keeps it: a 0-dim float32 tensor on the cpu."""
    return _make(np.array(value, dtype=np.float32), _dt.float32, _cpu_device())


def _cpu_device():
    from ..device import CPU
    return CPU


def bump_step(state: dict) -> float:
    """Add one to state['step'] (host state) and return the new count as a Python float."""
    st = state["step"]
    if not isinstance(st, Tensor) or st.device.type != "cpu":
        st = state["step"] = _step_tensor(float(st.item() if isinstance(st, Tensor) else st))
    st._data += 1
    st._version[0] += 1
    return float(st._data)


def zeros_state(p: Tensor, fill: float = 0.0) -> Tensor:
    """A contiguous state buffer shaped like `p` (same dtype and device), filled with `fill`."""
    from ..ops import creation
    with no_grad():
        return creation.full(tuple(p.shape), fill, dtype=p.dtype, device=p.device)


def clone_state(src: Tensor) -> Tensor:
    """A contiguous copy of `src` (the momentum buffer's first value in PyTorch's SGD)."""
    with no_grad():
        return src.detach().clone().contiguous()


def grads_of(group: dict, sparse_as_dense: bool = False):
    """(param, grad) for every parameter of the group that has a gradient. A sparse gradient (nn.Embedding(
    sparse=True)) is refused, or with sparse_as_dense given as its dense form: for SGD and Adagrad the update of
    a row the gradient does not touch is then exactly nothing, as PyTorch's sparse paths leave it."""
    for p in group["params"]:
        g = p._grad
        if g is not None:
            if g.device is not p.device:
                raise RuntimeError(f"the gradient of a parameter is on {g.device} but the parameter is on {p.device}")
            if g.__class__ is not Tensor and getattr(g, "is_sparse", False):
                if not sparse_as_dense:
                    raise RuntimeError("this optimizer does not support sparse gradients (nn.Embedding(sparse=True)):"
                                       " use SGD, Adagrad or SparseAdam")
                g = g.to_dense()
            yield p, g


def apply_update(name: str, p: Tensor, g: Tensor, buffers: list, **scalars) -> None:
    """Run optimizer `name`'s update of parameter `p` with gradient `g` and state `buffers` (Tensors or None).

    cpu: the NumPy function in place (fp16/bf16 through float32 copies, written back).
    cuda: one Triton kernel launch over contiguous storage; a non-contiguous parameter or gradient is made
    contiguous first and the parameter written back after the launch.
    meta: nothing to compute (the parameter and state keep their shapes).
    A complex parameter (and its complex state) is updated as its (re, im) pairs, as PyTorch's optimizers do.
    """
    if p.dtype.kind == _dt.COMPLEX:
        from ..ops.complex import view_as_real_op
        pairs = [view_as_real_op(t) if t is not None and t.dtype.kind == _dt.COMPLEX else t
                 for t in [p, g.to(p.dtype)] + list(buffers)]
        apply_update(name, pairs[0], pairs[1], pairs[2:], **scalars)
        return
    if p.device.type == "cpu":
        _apply_cpu(name, p, g, buffers, scalars)
    elif p.device.type == "cuda":
        _apply_cuda(name, p, g, buffers, scalars)
    p._version[0] += 1
    for b in buffers:
        if b is not None:
            b._version[0] += 1


def _two_passes(name, bufs, scalars) -> bool:
    """Plain SGD (no momentum, no weight decay) is two passes (scale, add): chunking it only adds call overhead
    (a 784x256 parameter: 84 us chunked, 58 us whole)."""
    return name == "sgd" and bufs[0] is None and scalars["weight_decay"] == 0


def _apply_cpu(name, p, g, buffers, scalars):
    fn = getattr(_numpy, name)
    pd, gd = p._data, g._data
    bufs = [None if b is None else b._data for b in buffers]
    if pd.dtype in _LOW_PRECISION:
        wide = [pd.astype(np.float32), gd.astype(np.float32)] + [None if b is None else b.astype(np.float32)
                                                                  for b in bufs]
        fn(*wide, **scalars)
        np.copyto(pd, wide[0], casting="unsafe")
        for b, w in zip(bufs, wide[2:]):
            if b is not None:
                np.copyto(b, w, casting="unsafe")
        return
    if gd.dtype != pd.dtype:
        gd = gd.astype(pd.dtype)
    arrays = [pd, gd] + [b for b in bufs if b is not None]
    if pd.size <= _CHUNK or not all(a.flags.c_contiguous for a in arrays) or _two_passes(name, bufs, scalars):
        fn(pd, gd, *bufs, **scalars)
        return
    # Cache blocking: the update is a dozen elementwise passes; run them chunk by chunk so each chunk's operands
    # and temporaries stay in L2 instead of streaming every pass through memory (same values, element for element).
    flat = [None if b is None else b.reshape(-1) for b in [pd, gd] + bufs]
    for start in range(0, pd.size, _CHUNK):
        stop = start + _CHUNK
        fn(*[None if a is None else a[start:stop] for a in flat], **scalars)


def _apply_cuda(name, p, g, buffers, scalars):
    fn = getattr(_kernels, name)
    target = p
    if not p._data.is_contiguous():
        target = p.contiguous()
    if not g._data.is_contiguous() or g.dtype is not p.dtype:
        g = g.to(dtype=p.dtype).contiguous()
    fn(target._data, g._data, *[None if b is None else b._data for b in buffers], **scalars)
    if target is not p:
        p.copy_(target)
