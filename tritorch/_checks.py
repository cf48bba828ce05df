"""torch._check and its family: the assertions PyTorch's compiler understands as facts about sizes; eagerly, each
raises its error type when the condition is False (transformers guards inputs with them)."""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .tensor import Tensor

__all__ = ["_check", "_check_index", "_check_is_size", "_check_not_implemented", "_check_tensor_all",
           "_check_tensor_all_with", "_check_type", "_check_value", "_check_with"]

_DEFAULT = "Expected cond to be True, but got False."


def _check_with(error_type, cond, message=None) -> None:
    """Raise error_type(message()) when cond (a bool) is False; message is a callable giving the text."""
    if isinstance(cond, Tensor):
        raise TypeError("cond must be a bool, but got a Tensor. For tensor conditions, use torch._check_tensor_all() "
                        "to assert that all elements are true.")
    if not isinstance(cond, (bool, np.bool_)):
        raise TypeError(f"cond must be a bool, but got {type(cond)}")
    if cond:
        return
    if message is None:
        text = _DEFAULT
    elif not callable(message):
        raise TypeError("message must be a callable")
    else:
        text = str(message())
    raise error_type(text)


def _check(cond, message=None) -> None:
    _check_with(RuntimeError, cond, message)


def _check_index(cond, message=None) -> None:
    _check_with(IndexError, cond, message)


def _check_value(cond, message=None) -> None:
    _check_with(ValueError, cond, message)


def _check_type(cond, message=None) -> None:
    _check_with(TypeError, cond, message)


def _check_not_implemented(cond, message=None) -> None:
    _check_with(NotImplementedError, cond, message)


def _check_is_size(i, message=None, *, max=None) -> None:  # noqa: A002
    """i is a valid size: i >= 0 (and i <= max when given)."""
    _check(i >= 0, message)
    if max is not None:
        _check(i <= max, message)


def _check_tensor_all_with(error_type, cond, message=None) -> None:
    """Raise error_type(message()) unless every element of the bool tensor cond is True."""
    if not isinstance(cond, Tensor):
        raise TypeError(f"cond must be a tensor, but got {type(cond)}")
    if cond.dtype is not _dt.bool_:
        raise TypeError(f"cond tensor must have dtype {_dt.bool_!r}, but got {cond.dtype!r}")
    _check_with(error_type, bool(cond.all().item()), message)


def _check_tensor_all(cond, message=None) -> None:
    _check_tensor_all_with(RuntimeError, cond, message)
