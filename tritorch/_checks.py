"""torch._assert and torch._check*: the condition checks library code (torchvision's models and meta functions)
calls. _assert raises AssertionError; _check raises RuntimeError, _check_index IndexError, _check_value ValueError,
_check_type TypeError and _check_not_implemented NotImplementedError, each with the message its callable gives (a
fixed text without one). The conditions are plain bools (tritorch has no symbolic sizes)."""
from __future__ import annotations

__all__ = ["_assert", "_check", "_check_with", "_check_index", "_check_value", "_check_type",
           "_check_not_implemented", "_check_is_size", "_check_tensor_all", "_check_tensor_all_with"]

_DEFAULT_MESSAGE = ("Expected cond to be True, but got False. (Could this error message be improved? If so, please "
                    "report an enhancement request to PyTorch.)")


def _assert(condition, message):
    """assert condition, message (traceable in PyTorch; here a plain check)."""
    if not condition:
        raise AssertionError(message)


def _check_with(error_type, cond, message=None):
    """Raise error_type(message()) when cond (a bool) is False."""
    from .tensor import Tensor
    if not isinstance(cond, bool):
        if isinstance(cond, Tensor):
            raise TypeError("cond must be a bool, but got a Tensor. For tensor conditions, use "
                            "torch._check_tensor_all() to assert that all elements are true.")
        raise TypeError(f"cond must be a bool, but got {type(cond)}")
    if cond:
        return
    if not (isinstance(error_type, type) and issubclass(error_type, Exception)) or issubclass(error_type, Warning):
        raise AssertionError(f"error_type must be a subclass of Exception but not Warning, got {error_type}")
    if message is None:
        raise error_type(_DEFAULT_MESSAGE)
    if not callable(message):
        raise TypeError("message must be a callable")
    raise error_type(str(message()))


def _check(cond, message=None):
    _check_with(RuntimeError, cond, message)


def _check_index(cond, message=None):
    _check_with(IndexError, cond, message)


def _check_value(cond, message=None):
    _check_with(ValueError, cond, message)


def _check_type(cond, message=None):
    _check_with(TypeError, cond, message)


def _check_not_implemented(cond, message=None):
    _check_with(NotImplementedError, cond, message)


def _check_is_size(i, message=None, *, max=None):  # noqa: A002 - PyTorch's name
    """i is a size: i >= 0 (and i <= max when given)."""
    _check(i >= 0, message)
    if max is not None:
        _check(i <= max, message)


def _check_tensor_all_with(error_type, cond, message=None):
    from .tensor import Tensor
    if not isinstance(cond, Tensor):
        raise TypeError(f"cond must be a tensor, but got {type(cond)}")
    from . import dtypes
    if cond.dtype is not dtypes.bool_:
        raise TypeError(f"cond tensor must have dtype {dtypes.bool_}, but got {cond.dtype}")
    _check_with(error_type, bool(cond.all().item()), message)


def _check_tensor_all(cond, message=None):
    _check_tensor_all_with(RuntimeError, cond, message)
