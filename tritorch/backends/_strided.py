"""What the cuda and meta devices' arrays share: a strided view (shape, strides and offset in elements, NumPy
dtype) of a block of storage, and the geometry computed from those alone."""
from __future__ import annotations

import numpy as np


def contiguous_strides(shape) -> tuple:
    """Row-major strides (elements) of `shape`; a size-0/1 dim does not scale the strides outside it."""
    strides = []
    s = 1
    for n in reversed(shape):
        strides.append(s)
        s *= n if n > 1 else 1
    return tuple(reversed(strides))


class StridedArray:
    """Base of CudaArray and MetaArray: (block, shape, strides in elements, offset in elements, NumPy dtype)."""

    __slots__ = ("block", "shape", "strides", "offset", "dtype")

    def __init__(self, block, shape, strides, offset, dtype):
        self.block = block
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.dtype = dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def size_(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def dense_in_order(self) -> bool:
        """Whether the view is C-contiguous (size-1 dims may have any stride, as in PyTorch)."""
        expected = 1
        for n, st in zip(reversed(self.shape), reversed(self.strides)):
            if n != 1:
                if st != expected:
                    return False
                expected *= n
        return True

    def view_as(self, shape, strides, offset):
        return type(self)(self.block, tuple(shape), tuple(strides), offset, self.dtype)

    def reinterpret(self, dtype):
        """The same bytes seen as another dtype of the same size (e.g. bool as uint8 for kernels)."""
        return type(self)(self.block, self.shape, self.strides, self.offset, np.dtype(dtype))

    def span(self) -> tuple[int, int]:
        """(first, last+1) element index this view touches, relative to the block."""
        lo = hi = self.offset
        for n, st in zip(self.shape, self.strides):
            if n == 0:
                return self.offset, self.offset
            if st >= 0:
                hi += (n - 1) * st
            else:
                lo += (n - 1) * st
        return lo, hi + 1
