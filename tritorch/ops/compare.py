"""Closeness and equality tests: isclose, allclose, equal.

PyTorch composes these from elementwise ops (isclose is a CompositeImplicit op in ATen), and so does this file:
each runs through the registered eq/sub/abs/mul/add/le/isnan/isfinite ops on either device, so nothing here needs
a kernel of its own. allclose and equal return Python bools, as in PyTorch (reading that bool back from the
device is the one host synchronisation, inherent in the API).
"""
from __future__ import annotations

from .. import dtypes as _dt
from ..tensor import Tensor
from .registry import _TYPE_NAMES

__all__ = ["isclose", "allclose", "equal"]


def _check_tensor(name, arg, x, position):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' (position {position}) must be Tensor, not {type(x).__name__}")


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol * |other| elementwise (bool result); equal values (infinities included)
    are close, NaNs only with equal_nan. Integer inputs are compared in the default float dtype."""
    from . import binary, unary
    _check_tensor("isclose", "input", input, 1)
    _check_tensor("isclose", "other", other, 2)
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{_TYPE_NAMES[input.dtype]} did not match {_TYPE_NAMES[other.dtype]}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    close = binary.eq(input, other)
    if equal_nan and input.dtype.kind == _dt.FLOAT:
        close = binary.logical_or(close, binary.logical_and(unary.isnan(input), unary.isnan(other)))
    if input.dtype is _dt.bool_ or (rtol == 0 and atol == 0):
        return close
    a, b = input, other
    if a.dtype.kind != _dt.FLOAT:
        a, b = a.to(_dt.get_default_dtype()), b.to(_dt.get_default_dtype())
    allowed = unary.abs(binary.mul(b, rtol)) + atol
    actual = unary.abs(binary.sub(a, b))
    return binary.logical_or(close, binary.logical_and(unary.isfinite(actual), binary.le(actual, allowed)))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True when every element of input is close to other's (broadcast), in isclose's sense."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all().item())


def equal(input, other) -> bool:
    """True when both tensors have the same shape and equal elements (NaN is never equal)."""
    from . import binary
    _check_tensor("equal", "input", input, 1)
    _check_tensor("equal", "other", other, 2)
    if tuple(input.shape) != tuple(other.shape):
        return False
    return bool(binary.eq(input, other).all().item())


def _bind_methods():
    from . import _bind
    _bind.methods(isclose=isclose, allclose=allclose, equal=equal)


_bind_methods()
