"""PyTorch's legacy tensor types: tritorch.FloatTensor, tritorch.LongTensor, ... and tritorch.cuda.FloatTensor, ...
Each is a class whose call is the legacy constructor (FloatTensor(2, 3), LongTensor([1, 2])) and whose isinstance
check is "a Tensor of this dtype on this device type"; Tensor.type(...) and set_default_tensor_type take them or
their names ('torch.cuda.FloatTensor'). Tensors themselves stay tritorch.Tensor."""
from __future__ import annotations

from .. import dtypes as _dt
from ..device import as_device
from ..tensor import Tensor

_NAMES = {"FloatTensor": _dt.float32, "DoubleTensor": _dt.float64, "HalfTensor": _dt.float16,
          "BFloat16Tensor": _dt.bfloat16, "LongTensor": _dt.int64, "IntTensor": _dt.int32, "ShortTensor": _dt.int16,
          "CharTensor": _dt.int8, "ByteTensor": _dt.uint8, "BoolTensor": _dt.bool_}


class _TensorType(type):
    """The metaclass: calling a legacy type constructs a tensor; isinstance compares dtype and device type."""

    def __call__(cls, *args, **kwargs):
        from .tensor_extras import legacy_new
        return legacy_new(cls.dtype, as_device(cls._device_type), args, kwargs)

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.device.type == cls._device_type

    def __repr__(cls) -> str:
        return f"<class '{cls.__module__}.{cls.__name__}'>"


def _make_types(device_type: str, module: str) -> dict:
    types = {}
    for name, dtype in _NAMES.items():
        types[name] = _TensorType(name, (), {"dtype": dtype, "is_cuda": device_type == "cuda",
                                              "_device_type": device_type, "__module__": module})
    return types


CPU_TYPES = _make_types("cpu", "tritorch")
CUDA_TYPES = _make_types("cuda", "tritorch.cuda")
__all__ = list(CPU_TYPES) + ["set_default_tensor_type"]
globals().update(CPU_TYPES)


def resolve(t):
    """(dtype, device type) of a legacy type, its name ('torch.cuda.FloatTensor', 'tritorch.IntTensor'), or a
    dtype (device type None)."""
    if isinstance(t, _TensorType):
        return t.dtype, t._device_type
    if isinstance(t, str):
        parts = t.split(".")
        if parts[-1] in _NAMES and parts[0] in ("torch", "tritorch") and len(parts) in (2, 3) \
                and (len(parts) == 2 or parts[1] == "cuda"):
            return _NAMES[parts[-1]], "cuda" if len(parts) == 3 else "cpu"
        raise ValueError(f"invalid type: '{t}'")
    return _dt.as_dtype(t), None


def set_default_tensor_type(t, /) -> None:
    """Deprecated in PyTorch 2.1: the default dtype (a floating type) and, for a cuda type, the default device."""
    import warnings
    from .._settings import set_default_device
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.", UserWarning,
                  stacklevel=2)
    dtype, device_type = resolve(t)
    if dtype.kind != _dt.FLOAT:
        raise TypeError("only floating-point types are supported as the default type")
    _dt.set_default_dtype(dtype)
    set_default_device("cuda" if device_type == "cuda" else None)
