"""Tensor.resize / Tensor.resize_as: PyTorch's deprecated out-of-place resizes. They only reshape (the element
count must stay the same) and return a view of the contiguous tensor, so gradients flow back through the view.

Tensor.set_: the tensor takes another tensor's memory (all of it, or a strided window of its storage), or none.
Where PyTorch records a NotImplemented gradient (set_ on a tensor with history, or from one that requires grad),
tritorch refuses before anything changes: there is no gradient to give. A window past the end of the source's
storage is refused too (PyTorch grows the shared storage; tritorch's storage cannot grow while shared)."""
from __future__ import annotations

import math
import warnings

from . import _bind

__all__: list = []


def _resize(tensor, sizes, what: str):
    warnings.warn(f"non-inplace {what} is deprecated", UserWarning, stacklevel=3)
    numel = math.prod(sizes)
    if tensor.numel() != numel:
        # PyTorch's message, with its formatting quirks (sizes joined by 'x', as autograd's Resize writes them)
        raise RuntimeError(
            f"requested resize to {'x'.join(map(str, sizes))} ({numel} elements in total), but the given tensor "
            f"has a size of {'x'.join(map(str, tensor.size()))} ({tensor.numel()} elements). autograd's resize can "
            f"only change the shape of a given tensor, while preserving the number of elements. ")
    return tensor.contiguous().view(*sizes)


def resize(self, *sizes):
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    return _resize(self, tuple(sizes), "resize")


def resize_as(self, tensor):
    return _resize(self, tuple(tensor.size()), "resize_as")


# The C++ type names PyTorch's dtype mismatch message prints.
_CPP_NAMES = {"float32": "float", "float64": "double", "int64": "long int", "int32": "int", "int16": "short int",
              "int8": "signed char", "uint8": "unsigned char", "bool": "bool", "float16": "c10::Half",
              "bfloat16": "c10::BFloat16"}


def _cpp_name(dtype) -> str:
    name = str(dtype).split(".")[-1]
    return _CPP_NAMES.get(name, name)


def set_(self, source=None, storage_offset=0, size=None, stride=None):
    from .._state import GRAD
    from ..tensor import Tensor
    if GRAD.enabled and self.requires_grad and self.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    if GRAD.enabled and (self.grad_fn is not None or (isinstance(source, Tensor) and source.requires_grad)):
        raise RuntimeError("set_: tritorch does not differentiate set_ (PyTorch records a NotImplemented gradient "
                           "for it); call it on detached tensors or under torch.no_grad()")
    if source is None:
        from .creation import empty
        data = empty(0, dtype=self.dtype, device=self.device)._data
    else:
        from ..storage import TypedStorage, UntypedStorage, tensor_over
        if isinstance(source, (TypedStorage, UntypedStorage)):
            if isinstance(source, TypedStorage) and source.dtype != self.dtype:
                raise RuntimeError(f"Expected a Storage of type {_cpp_name(self.dtype)} but got type "
                                   f"{_cpp_name(source.dtype)} for argument #1 'source'")
            source = tensor_over(source, self.dtype, self.device)
            if size is None:
                size = tuple(source.shape)
        elif not isinstance(source, Tensor):
            raise TypeError(f"set_(): argument 'source' must be Tensor, not {type(source).__name__}")
    if source is not None:
        if source.dtype != self.dtype:
            raise RuntimeError(f"Could not set tensor of type {_cpp_name(source.dtype)} to a tensor of type "
                               f"{_cpp_name(self.dtype)}")
        if source.device != self.device:
            raise RuntimeError(f'Attempted to set the storage of a tensor on device "{self.device}" to a storage on '
                               f'different device "{source.device}".  This is no longer allowed; the devices must '
                               f'match.')
        if size is None:
            data = source._data
        else:
            size = tuple(size)
            if stride is None:
                from ..backends.cuda import contiguous_strides
                stride = contiguous_strides(size)
            with _no_grad():
                data = source.as_strided(size, tuple(stride), storage_offset)._data
    self._data = data
    self._base = None  # (no longer a view of what it viewed before; its history is refused above)
    self._version[0] += 1
    return self


def _no_grad():
    from ..autograd.grad_mode import no_grad
    return no_grad()


_bind.methods(resize=resize, resize_as=resize_as, set_=set_)
