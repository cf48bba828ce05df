"""torch.addr: beta * input + alpha * outer(vec1, vec2), a composite of registered ops (no kernel of its own).

PyTorch's rules, kept here: both vectors 1-D; input broadcast to (len(vec1), len(vec2)); the result type of all
three tensors; beta == 0 ignores input (NaN in it does not reach the result); integer results refuse float beta or
alpha, non-bool results refuse a bool beta; bool results are (beta and input) or (alpha and vec1 vec2^T).
Gradients come from the ops it is built of (mul, add, expand), so every order works on both devices.
"""
from __future__ import annotations

from .. import dtypes as _dt
from ..tensor import Tensor
from . import _bind
from .registry import Meta, check_out

__all__ = ["addr"]


def _check_tensor(x, name: str, position: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"addr(): argument '{name}' (position {position}) must be Tensor, not {type(x).__name__}")


def _check_scalars(dtype: _dt.dtype, beta, alpha) -> None:
    if dtype is _dt.bool_:
        return
    if dtype.kind != _dt.FLOAT:
        for name, v in (("beta", beta), ("alpha", alpha)):
            if isinstance(v, float):
                raise RuntimeError(f"For integral input tensors, argument {name} must not be a floating point number.")
    if isinstance(beta, bool):
        raise RuntimeError("Boolean beta only supported for Boolean results.")


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (vec1 outer vec2) (torch.addr); input broadcasts to (len(vec1), len(vec2))."""
    for x, name, pos in ((input, "input", 1), (vec1, "vec1", 2), (vec2, "vec2", 3)):
        _check_tensor(x, name, pos)
    for v, name in ((vec1, "vec1"), (vec2, "vec2")):
        if v.dim() != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {v.dim()}-D")
    dtype = _dt.result_type(input, vec1, vec2)
    _check_scalars(dtype, beta, alpha)
    n, m = vec1.shape[0], vec2.shape[0]
    base = input.expand(n, m)
    if out is not None:
        check_out("addr", Meta((n, m), dtype, input.device), out,
                  resize=out is not input and out is not vec1 and out is not vec2)
    v1 = vec1 if vec1.dtype is dtype else vec1.to(dtype)
    v2 = vec2 if vec2.dtype is dtype else vec2.to(dtype)
    outer = v1.reshape(n, 1) * v2.reshape(1, m)
    base = base if base.dtype is dtype else base.to(dtype)
    if dtype is _dt.bool_:
        from .creation import zeros_like
        value = outer if alpha else zeros_like(outer)
        if beta:
            value = value | base
    else:
        value = outer if alpha == 1 else outer * alpha
        if beta != 0:
            value = value + (base if beta == 1 else base * beta)
    if out is None:
        return value
    from .copy import copy_
    return copy_(out, value)


def _addr_inplace(self, vec1, vec2, *, beta=1, alpha=1):
    for v, name, pos in ((vec1, "vec1", 1), (vec2, "vec2", 2)):
        _check_tensor(v, name, pos)
    if vec1.dim() == 1 and vec2.dim() == 1 and tuple(self.shape) != (vec1.shape[0], vec2.shape[0]):
        raise RuntimeError(f"size mismatch, input: {list(self.shape)}, v1: {list(vec1.shape)}, "
                           f"v2: {list(vec2.shape)}")
    return addr(self, vec1, vec2, beta=beta, alpha=alpha, out=self)


_bind.methods(addr=addr, addr_=_addr_inplace)
