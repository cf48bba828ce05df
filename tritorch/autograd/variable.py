"""torch.autograd.Variable: PyTorch's legacy wrapper. Since PyTorch 0.4 a Variable *is* a tensor: the constructor
returns a tensor sharing `data`'s memory (detached from its history) with `requires_grad` set, and every tensor
passes isinstance(t, Variable)."""
from __future__ import annotations

import warnings

from ..tensor import Tensor

__all__ = ["Variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor)

    def __call__(cls, *args, **kwargs):
        return _make(*args, **kwargs)


def _make(data=None, requires_grad: bool = False, volatile: bool = False):
    if volatile:
        warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` instead.",
                      UserWarning, stacklevel=3)
    if data is None:
        from ..ops.creation import empty
        data = empty(0)
    if not isinstance(data, Tensor):
        raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
    out = data.detach()
    if requires_grad:
        out.requires_grad_(True)
    return out


class Variable(metaclass=_VariableMeta):
    """Variable(data=None, requires_grad=False, volatile=False) -> Tensor."""


class _ExecutionEngine:
    """Variable._execution_engine: the engine's entry points that code written for PyTorch reaches through it."""

    @staticmethod
    def queue_callback(callback) -> None:
        from .engine import queue_callback
        queue_callback(callback)


Variable._execution_engine = _ExecutionEngine()
