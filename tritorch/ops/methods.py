"""Tensor methods that span families: device/dtype conversion, copies (bound after every family)."""
from __future__ import annotations

from .. import dtypes as _dt
from . import _bind, copy


def _cpu(x, memory_format=None):
    return copy.to_device(x, "cpu")


def _cuda(x, device=None, non_blocking=False, memory_format=None):
    return copy.to_device(x, "cuda" if device is None else device)


def _caster(d):
    def cast(x, memory_format=None):
        return copy.cast(x, d)
    cast.__name__ = d.name
    return cast


def _type(x, dtype=None, non_blocking=False):
    if dtype is None:
        names = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                 "bfloat16": "BFloat16Tensor", "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
                 "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor", "complex64": "ComplexFloatTensor",
                 "complex128": "ComplexDoubleTensor"}
        prefix = _dt.PUBLIC_NAME[0] + (".cuda." if x.device.type == "cuda" else ".")
        return prefix + names[x.dtype.name]
    from .legacy_types import resolve
    dtype, device_type = resolve(dtype)  # a dtype, a legacy type (tritorch.cuda.FloatTensor) or its name
    r = copy.cast(x, dtype)
    return r if device_type is None or device_type == r.device.type else copy.to_device(r, device_type)


def _type_as(x, other):
    return copy.cast(x, other.dtype)


def _fill_(x, value):
    """Fill x in place with a number (or a 0-dim tensor); recorded like copy_ under autograd."""
    from .creation import full
    if not isinstance(value, copy.Tensor):
        value = full((), value, dtype=x.dtype, device=x.device)
    elif value.ndim != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions.")
    return copy.copy_(x, value)


def _zero_(x):
    return _fill_(x, 0)


def _new(factory):
    def new(x, *size, dtype=None, device=None, requires_grad=False, **kw):
        return factory(*size, dtype=x.dtype if dtype is None else dtype, device=x.device if device is None else device,
                       requires_grad=requires_grad, **kw)
    new.__name__ = "new_" + factory.__name__
    return new


def _new_full(x, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    from .creation import full
    return full(size, fill_value, dtype=x.dtype if dtype is None else dtype,
                device=x.device if device is None else device, requires_grad=requires_grad)


def _new_tensor(x, data, *, dtype=None, device=None, requires_grad=False):
    from .creation import tensor
    return tensor(data, dtype=x.dtype if dtype is None else dtype, device=x.device if device is None else device,
                  requires_grad=requires_grad)


def _creation():
    from . import creation
    return creation


def _pin_memory(x, device=None):
    """The tensor itself: tritorch's host-to-device copies are synchronous copies from ordinary host memory, so
    there is no separate pinned storage (pin_memory arguments elsewhere are accepted for the same reason)."""
    if x.device.type != "cpu":
        raise RuntimeError(f"cannot pin '{x.type()}' only dense CPU tensors can be pinned")
    return x


def _record_stream(x, stream):
    """Tensor.record_stream: nothing to do, since tritorch runs all cuda work on one stream (tritorch.cuda.streams),
    so a freed block is never reused while another stream may still read it; the arguments are checked."""
    from ..cuda.streams import Stream
    if x.device.type != "cuda":
        raise RuntimeError(f"record_stream: expected a cuda tensor, but got a tensor on {x.device}")
    if not isinstance(stream, Stream):
        raise TypeError(f"record_stream(): argument 'stream' must be tritorch.cuda.Stream, not {type(stream).__name__}")


_bind.methods(
    record_stream=_record_stream,
    fill_=_fill_, zero_=_zero_, new_zeros=_new(_creation().zeros), new_ones=_new(_creation().ones),
    new_empty=_new(_creation().empty), new_full=_new_full, new_tensor=_new_tensor,
    to=copy.to, cpu=_cpu, cuda=_cuda, contiguous=copy.contiguous, copy_=copy.copy_,
    clone=copy.clone,
    float=_caster(_dt.float32), double=_caster(_dt.float64), half=_caster(_dt.float16),
    bfloat16=_caster(_dt.bfloat16), long=_caster(_dt.int64), int=_caster(_dt.int32), short=_caster(_dt.int16),
    char=_caster(_dt.int8), byte=_caster(_dt.uint8), bool=_caster(_dt.bool_), type=_type, type_as=_type_as,
    pin_memory=_pin_memory, is_pinned=lambda x, device=None: False,
    cfloat=_caster(_dt.complex64), cdouble=_caster(_dt.complex128),
)
