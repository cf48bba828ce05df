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
                 "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}
        prefix = "tritorch.cuda." if x.device.type == "cuda" else "tritorch."
        return prefix + names[x.dtype.name]
    return copy.cast(x, dtype)


def _type_as(x, other):
    return copy.cast(x, other.dtype)


_bind.methods(
    to=copy.to, cpu=_cpu, cuda=_cuda, contiguous=copy.contiguous, copy_=copy.copy_,
    clone=lambda x, memory_format=None: copy.clone_op(x),
    float=_caster(_dt.float32), double=_caster(_dt.float64), half=_caster(_dt.float16),
    bfloat16=_caster(_dt.bfloat16), long=_caster(_dt.int64), int=_caster(_dt.int32), short=_caster(_dt.int16),
    char=_caster(_dt.int8), byte=_caster(_dt.uint8), bool=_caster(_dt.bool_), type=_type, type_as=_type_as,
)
