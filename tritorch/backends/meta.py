"""The meta device's storage: a strided array with a shape, strides, an offset and a dtype, and no memory.

A meta tensor is what an op would produce, without computing it: every registered op's `infer` already decides
the output's shape and dtype before any kernel runs, so on the meta device the registry makes a `MetaArray` of
that shape (views get the strides and offset `infer` computed, through the cuda view impls, which build views
by stride arithmetic alone). Models are built on it to learn shapes, parameter counts and memory without
allocating (`with tt.device("meta"): model = Net()`), then materialised with `Module.to_empty` or
`load_state_dict(..., assign=True)`.

A `MetaArray` has the attributes the cuda impls of views read (`shape`, `strides` and `offset` in elements,
`dtype` as a NumPy dtype, `view_as`, `reinterpret`); reading its values raises PyTorch's error.
"""
from __future__ import annotations

import numpy as np

from ._strided import StridedArray, contiguous_strides

NO_DATA = "Cannot copy out of meta tensor; no data!"


class ValueDependentShape(NotImplementedError):
    """An op on the meta device whose output's shape depends on its inputs' values (nonzero, boolean-mask
    indexing, masked_select): PyTorch raises NotImplementedError there too."""


class MetaStorage:
    """A meta array's storage: only its size (views share it, as_strided checks against it)."""

    __slots__ = ("nbytes",)

    def __init__(self, nbytes: int):
        self.nbytes = nbytes


class MetaArray(StridedArray):
    """Storage size, shape, strides (elements), offset (elements) and NumPy dtype of a tensor without data."""

    __slots__ = ("__weakref__",)

    @staticmethod
    def empty(shape, dtype) -> "MetaArray":
        shape = tuple(shape)
        dtype = np.dtype(dtype)
        n = 1
        for s in shape:
            n *= s
        return MetaArray(MetaStorage(n * dtype.itemsize), shape, contiguous_strides(shape), 0, dtype)

    @property
    def size(self) -> int:
        return self.size_

    def data_ptr(self) -> int:
        return 0   # as PyTorch reports for a meta tensor

    is_contiguous = StridedArray.dense_in_order

    def to_numpy(self):
        raise NotImplementedError(NO_DATA)

    def __repr__(self) -> str:
        return f"MetaArray(shape={self.shape}, strides={self.strides}, offset={self.offset}, dtype={self.dtype})"
