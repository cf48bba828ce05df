"""autocast regions: per thread, per device type, the dtype that "lower"-policy ops run in.

Every registered op carries an autocast policy (OpDef.autocast); while a region is active the registry hands
the op's arguments to `cast_args` first. The built-in ops' policies (registry.AUTOCAST_POLICIES) follow
PyTorch's autocast op lists:
- "lower": matmuls, convolutions and attention: float32 tensor arguments are cast to the region's dtype;
- "fp32": ops whose float16 results would lose range or precision (exp/log family, pow, reductions such as sum
  and cumsum, softmax, the norms, the losses): float16/bfloat16 arguments are cast to float32;
- "promote": ops whose inputs must agree (cat, stack, addcmul, index_put ...): all to the widest float dtype;
- everything else runs on the dtypes it is given (mixed operands follow the usual type promotion).
Casts are the differentiable `to` op, so gradients flow back in each tensor's own dtype; float64 tensors are
never lowered. The autograd engine runs backward with autocast off (the recorded casts already fix the dtypes).
"""
from __future__ import annotations

import functools
import warnings

from .. import _state
from .. import dtypes as _dt
from ..tensor import Tensor

__all__ = ["autocast", "is_autocast_available", "is_autocast_enabled", "get_autocast_dtype"]

_DEFAULT_DTYPE = {"cuda": _dt.float16, "cpu": _dt.bfloat16}
_SUPPORTED = {"cuda": (_dt.float16, _dt.bfloat16), "cpu": (_dt.bfloat16, _dt.float16)}

def _device_of(args):
    for a in args:
        if a.__class__ is Tensor:
            return a.device.type
        if a.__class__ is list or a.__class__ is tuple:
            for x in a:
                if x.__class__ is Tensor:
                    return x.device.type
    return None


def _floats(args, kwargs):
    for a in args:
        if a.__class__ is Tensor:
            yield a
        elif a.__class__ is list or a.__class__ is tuple:
            yield from (x for x in a if x.__class__ is Tensor)
    yield from (v for v in kwargs.values() if v.__class__ is Tensor)


def _map(args, kwargs, fn):
    def one(a):
        if a.__class__ is Tensor:
            return fn(a)
        if a.__class__ is list or a.__class__ is tuple:
            return a.__class__(fn(x) if x.__class__ is Tensor else x for x in a)
        return a
    return tuple(one(a) for a in args), {k: one(v) for k, v in kwargs.items()}


def cast_args(policy: str, args, kwargs):
    """The op's arguments as an autocast region of this thread wants them (unchanged outside one)."""
    devices = _state.AUTOCAST.devices
    if not devices:
        return args, kwargs
    device_type = _device_of(args)
    target = devices.get(device_type)
    if target is None:
        return args, kwargs
    if policy.__class__ is dict:   # a policy per device type (PyTorch's cpu and cuda lists differ for some ops)
        policy = policy.get(device_type)
        if policy is None:
            return args, kwargs
    if policy == "lower":
        def fn(t):
            return t.to(target) if t.dtype.kind == _dt.FLOAT and t.dtype is not target \
                and t.dtype is not _dt.float64 else t
    elif policy == "fp32":
        def fn(t):
            return t.to(_dt.float32) if t.dtype is _dt.float16 or t.dtype is _dt.bfloat16 else t
    else:  # promote
        widest = None
        for t in _floats(args, kwargs):
            if t.dtype.kind == _dt.FLOAT:
                widest = t.dtype if widest is None else _dt.promote_types(widest, t.dtype)
        if widest is None:
            return args, kwargs

        def fn(t):
            return t.to(widest) if t.dtype.kind == _dt.FLOAT and t.dtype is not widest else t
    return _map(args, kwargs, fn)


class autocast:
    """with tt.autocast("cuda"): ... (or as a decorator): ops on `device_type` tensors run in mixed precision
    (float16 by default on cuda, bfloat16 on cpu). enabled=False turns a region off inside an outer one."""

    def __init__(self, device_type: str, dtype=None, enabled: bool = True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in _DEFAULT_DTYPE:
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        self.device = device_type
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else _dt.as_dtype(dtype)
        self._enabled = bool(enabled)
        self.cache_enabled = _state.AUTOCAST.cache_enabled if cache_enabled is None else bool(cache_enabled)
        if self._enabled and self.fast_dtype not in _SUPPORTED[device_type]:
            names = ", ".join(str(d).split(".")[-1] for d in _SUPPORTED[device_type])
            warnings.warn(f"In {device_type} autocast, but the target dtype {self.fast_dtype} is not supported. "
                          f"Disabling autocast.\n{device_type} Autocast only supports dtypes of {names} currently.")
            self._enabled = False

    def __enter__(self):
        devices = _state.AUTOCAST.devices
        self._prev = devices.get(self.device)
        self._prev_cache, _state.AUTOCAST.cache_enabled = _state.AUTOCAST.cache_enabled, self.cache_enabled
        if self._enabled:
            devices[self.device] = self.fast_dtype
        else:
            devices.pop(self.device, None)
        _state.FLAGS.autocast += 1
        return self

    def __exit__(self, *exc):
        devices = _state.AUTOCAST.devices
        if self._prev is None:
            devices.pop(self.device, None)
        else:
            devices[self.device] = self._prev
        _state.AUTOCAST.cache_enabled = self._prev_cache
        _state.FLAGS.autocast -= 1
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled, self.cache_enabled):
                return func(*args, **kwargs)
        return wrapper


def is_autocast_available(device_type: str) -> bool:
    return device_type in _DEFAULT_DTYPE


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    return device_type in _state.AUTOCAST.devices


def get_autocast_dtype(device_type: str):
    """The dtype of the active region, else the one set_autocast_dtype chose, else the device's default."""
    state = _state.AUTOCAST
    return state.devices.get(device_type) or state.dtypes.get(device_type) or _DEFAULT_DTYPE.get(device_type)


_state.autocast_args = cast_args
