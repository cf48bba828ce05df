"""Parameter: a leaf Tensor that a Module registers as a learnable weight.

The op registry tests `arg.__class__ is Tensor` on its hot paths (autograd recording, pointwise fast paths), so a
Tensor subclass would be invisible to autograd. A Parameter is therefore a plain Tensor carrying a flag in its
`_extra` dict; `Parameter(...)` builds one and `isinstance(t, Parameter)` reads the flag.
"""
from __future__ import annotations

from ..tensor import Tensor, _make

_FLAG = "is_parameter"
_BUFFER_FLAG = "is_buffer"


def is_parameter(t) -> bool:
    return isinstance(t, Tensor) and bool(t._extra) and t._extra.get(_FLAG, False)


def _mark(t: Tensor, flag: str) -> Tensor:
    extra = t._extra if t._extra is not None else {}
    extra[flag] = True
    t._extra = extra
    return t


_UNINITIALIZED = "uninitialized"
_UNINITIALIZED_BUFFER = "uninitialized_buffer"


class _ParameterMeta(type):
    def __instancecheck__(cls, obj) -> bool:
        if cls is Parameter:
            return is_parameter(obj)
        if cls is UninitializedParameter:
            return is_parameter(obj) and obj._extra.get(_UNINITIALIZED, False)
        if cls is UninitializedBuffer:
            return isinstance(obj, Tensor) and bool(obj._extra) and obj._extra.get(_UNINITIALIZED_BUFFER, False)
        if cls is Buffer:
            return isinstance(obj, Tensor) and bool(obj._extra) and obj._extra.get(_BUFFER_FLAG, False)
        return type.__instancecheck__(cls, obj)


class Parameter(metaclass=_ParameterMeta):
    """Parameter(data=None, requires_grad=True): a leaf Tensor sharing `data`'s storage, marked as a parameter.

    `data=None` gives an empty float tensor, as in PyTorch.
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Tensor:
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): expected a Tensor as data, got {type(data).__name__}")
        # The same storage and version counter as `data`, but a fresh leaf (like data.detach()).
        p = _make(data._data, data.dtype, data.device, version=data._version)
        p.requires_grad_(requires_grad)
        return _mark(p, _FLAG)


class UninitializedParameter(metaclass=_ParameterMeta):
    """The parameter of a lazy module before its first forward: an empty Parameter whose shape the first input
    decides (`materialize` fills it in place, so an object held before then stays the module's parameter)."""

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None) -> Tensor:
        from ..ops.creation import empty
        p = Parameter(empty(0, device=device, dtype=dtype), requires_grad)
        p._extra[_UNINITIALIZED] = True
        return p


def materialize(p: Tensor, value: Tensor) -> None:
    """Give the uninitialized parameter `p` the storage, shape, dtype and device of `value`, in place."""
    p._data = value._data
    p.dtype, p.device = value.dtype, value.device
    p._version[0] += 1
    p._extra.pop(_UNINITIALIZED, None)


class UninitializedBuffer(metaclass=_ParameterMeta):
    """The buffer of a lazy module before its first forward (a lazy norm's running statistics): an empty tensor,
    not requiring grad unless asked, that the module replaces by the real buffer once the input gives its shape."""

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None, persistent: bool = True) -> Tensor:
        from ..ops.creation import empty
        t = empty(0, device=device, dtype=dtype).requires_grad_(requires_grad)
        t._extra = {_UNINITIALIZED_BUFFER: True, _BUFFER_FLAG: True, "persistent": bool(persistent)}
        return t


class Buffer(metaclass=_ParameterMeta):
    """Buffer(data, persistent=True): a tensor that a Module registers as a buffer when assigned as an attribute
    (torch.nn.Buffer)."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Tensor:
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        t = _make(data._data, data.dtype, data.device, version=data._version)
        _mark(t, _BUFFER_FLAG)
        t._extra["persistent"] = bool(persistent)
        return t


def _tensor_repr_with_parameter(original):
    """Tensor.__repr__ that prints PyTorch's "Parameter containing:" header for parameters."""

    def __repr__(self) -> str:
        if self._extra and self._extra.get(_FLAG, False):
            return "Parameter containing:\n" + original(self)
        return original(self)

    __repr__.__wrapped__ = original
    return __repr__


if not hasattr(Tensor.__repr__, "__wrapped__"):
    from ..ops import _bind
    _parameter_repr = _tensor_repr_with_parameter(Tensor.__repr__)
    _bind.methods(__repr__=_parameter_repr, __str__=_parameter_repr)
