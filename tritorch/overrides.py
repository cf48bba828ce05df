"""torch.overrides: the helpers of the __torch_function__ protocol that library code calls.

tritorch's ops already dispatch calls with a Tensor subclass operand to the subclass's __torch_function__
(ops/registry.py); these let a library's own Python function do the same for its arguments: has_torch_function*
say whether any argument overrides the protocol, handle_torch_function hands the call to the overrides (most
derived type first) until one does not return NotImplemented. TorchFunctionMode: inside `with mode:` every op
call goes to mode.__torch_function__ first (the innermost mode; while it runs it is off the stack, so the ops
it calls go on to the next mode, then to subclass dispatch, then run).
"""
from __future__ import annotations

import functools

from .tensor import Tensor

__all__ = ["has_torch_function", "has_torch_function_unary", "has_torch_function_variadic", "handle_torch_function",
           "is_tensor_like", "wrap_torch_function", "TorchFunctionMode", "BaseTorchFunctionMode"]


def _overrides(obj) -> bool:
    cls = type(obj)
    if cls is Tensor or getattr(cls, "_tritorch_layout", False):
        return False
    if isinstance(obj, Tensor):
        return True          # a subclass (Tensor's own default counts as an override for it, as in PyTorch)
    return hasattr(cls, "__torch_function__")


def has_torch_function(relevant_args) -> bool:
    """Whether any of the arguments is a Tensor subclass instance or another object with __torch_function__."""
    return any(_overrides(a) for a in relevant_args)


def has_torch_function_unary(obj) -> bool:
    return _overrides(obj)


def has_torch_function_variadic(*args) -> bool:
    return any(_overrides(a) for a in args)


def _overloaded_types(relevant_args) -> list:
    """The overriding types in argument order, each subclass before any of its base classes."""
    types: list = []
    for a in relevant_args:
        cls = type(a)
        if not _overrides(a) or cls in types:
            continue
        index = next((i for i, t in enumerate(types) if issubclass(cls, t)), len(types))
        types.insert(index, cls)
    return types


def handle_torch_function(public_api, relevant_args, *args, **kwargs):
    """public_api(*args, **kwargs) handed to the arguments' __torch_function__ overrides, the first result
    that is not NotImplemented returned."""
    types = _overloaded_types(relevant_args)
    for cls in types:
        result = cls.__torch_function__(public_api, tuple(types), args, kwargs)
        if result is not NotImplemented:
            return result
    names = [f"{t.__module__}.{t.__qualname__}" for t in types]
    raise TypeError(f"no implementation found for '{getattr(public_api, '__qualname__', public_api)}' on types that "
                    f"implement __torch_function__: {names}")


def is_tensor_like(inp) -> bool:
    """A Tensor (or subclass), or an object whose type defines __torch_function__."""
    return isinstance(inp, Tensor) or hasattr(type(inp), "__torch_function__")


def wrap_torch_function(dispatcher):
    """Decorator: calls of the function whose dispatcher(*args, **kwargs) names arguments that override the
    protocol go through handle_torch_function."""
    def decorator(func):
        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            relevant = dispatcher(*args, **kwargs)
            if has_torch_function(relevant):
                return handle_torch_function(wrapped, relevant, *args, **kwargs)
            return func(*args, **kwargs)
        return wrapped
    return decorator


class TorchFunctionMode:
    """torch.overrides.TorchFunctionMode: subclass it and define __torch_function__(self, func, types, args=(),
    kwargs=None); `with mode:` sends every op call there first. func(*args, **kwargs) runs the op."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError

    def __enter__(self):
        from . import _state
        from .ops.registry import TORCH_FUNCTION_MODES
        _state.FLAGS.subclass = True      # (routes op calls through the protocol's check)
        TORCH_FUNCTION_MODES.append(self)
        return self

    def __exit__(self, *exc):
        from . import _state
        from .ops.registry import TORCH_FUNCTION_MODES
        if TORCH_FUNCTION_MODES and TORCH_FUNCTION_MODES[-1] is self:
            TORCH_FUNCTION_MODES.pop()
        else:
            TORCH_FUNCTION_MODES.remove(self)
        if not TORCH_FUNCTION_MODES and not _state.SUBCLASS_DEFINED[0]:
            _state.FLAGS.subclass = False    # (the ops' shortcuts again)
        return False

    @classmethod
    def push(cls, *args, **kwargs):
        mode = cls(*args, **kwargs)
        mode.__enter__()
        return mode


class BaseTorchFunctionMode(TorchFunctionMode):
    """A mode that runs every call as it is (subclass it and override what you need)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **({} if kwargs is None else kwargs))
