"""Tensor.resize / Tensor.resize_as: PyTorch's deprecated out-of-place resizes. They only reshape (the element
count must stay the same) and return a view of the contiguous tensor, so gradients flow back through the view."""
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


_bind.methods(resize=resize, resize_as=resize_as)
