"""torch.index_reduce / Tensor.index_reduce_: source's slices reduced into input's slices at `index` along dim
('prod', 'mean', 'amax', 'amin'; include_self=False leaves input's value out where any slice lands).

A composite over the reduce family's scatter_reduce (itself built on the indexing family's scatter kernels:
scatter(reduce='multiply') for prod, scatter_add for mean, one-hot amax/amin for the extremes): the 1-D index becomes
a scatter index by broadcasting it along `dim` over source's shape, which is exactly index_reduce's definition.
So both devices run the same registered ops, and gradients are scatter_reduce's, which follow PyTorch's rules (prod:
the product of the others, zeros handled; mean: 1/count; amax/amin: shared evenly between ties). Integer 'mean'
rounds down, as PyTorch's. PyTorch's argument checks and messages come first, before any kernel runs; the bounds
check reads the index's min and max (one host synchronisation on cuda, as the indexing family's checks).
Cost: amax/amin build a (positions x indices) comparison per slice, O(input.size(dim) * len(index)) work.
"""
from __future__ import annotations

from .. import dtypes as _dt
from ..tensor import Tensor
from . import _bind
from .registry import _type_name, wrap_dim

__all__ = ["index_reduce"]

_REDUCES = ("prod", "mean", "amax", "amin")


def _check(input, dim, index, source, reduce) -> int:
    """PyTorch's checks, in its order; returns dim wrapped."""
    if reduce not in _REDUCES:
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    for name, t in (("index", index), ("source", source)):
        if not isinstance(t, Tensor):
            raise TypeError(f"index_reduce(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if index.dtype not in (_dt.int32, _dt.int64):
        raise RuntimeError(f"index_reduce_(): Expected dtype int32/int64 for index but got: {_type_name(index.dtype)}")
    if index.dim() > 1:
        raise IndexError(f"index_reduce_(): Index is supposed to be a vector, but got dim: {index.dim()} with type: "
                         f"{_type_name(index.dtype)} and size: {list(index.shape)}")
    if input.dtype is not source.dtype:
        raise RuntimeError(f"index_reduce_(): self ({_type_name(input.dtype)}) and source "
                           f"({_type_name(source.dtype)}) must have the same scalar type")
    d = wrap_dim(dim, max(input.dim(), 1))
    n = index.numel()
    src_n = source.shape[d] if source.dim() else 1
    if n != src_n:
        raise RuntimeError(f"index_reduce_(): Number of indices ({n}) should be equal to source.size(dim): ({src_n}), "
                           f"for dim: {d}")
    same = source.dim() == input.dim() and all(a == b for i, (a, b) in enumerate(zip(input.shape, source.shape))
                                                if i != d)
    if not same:
        raise RuntimeError("source tensor shape must match self tensor shape, excluding the specified dimension. "
                           f"Got self.shape = {list(input.shape)} source.shape = {list(source.shape)}")
    if input.dtype is _dt.bool_:
        raise NotImplementedError("\"index_func_\" not implemented for 'Bool'")
    if n:
        lo, hi = int(index.min().item()), int(index.max().item())
        if lo < 0 or hi >= (input.shape[d] if input.dim() else 1):
            raise IndexError("index out of range in self")
    return d


def index_reduce(input, dim, index, source, reduce, *, include_self=True, out=None):
    """input with the slices of source reduced into the slices index names along dim (torch.index_reduce)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"index_reduce(): argument 'input' must be Tensor, not {type(input).__name__}")
    d = _check(input, dim, index, source, reduce)
    from .reduce import scatter_reduce
    if input.dim() == 0:   # a 0-dim input and source: the one-element case
        r = index_reduce(input.reshape(1), 0, index, source.reshape(1), reduce, include_self=include_self)
        r = r.reshape(())
        return r if out is None else _copy_into(out, r)
    shape = [1] * source.dim()
    shape[d] = index.numel()
    scatter_index = index.to(_dt.int64).reshape(shape).expand(*source.shape).contiguous()
    r = scatter_reduce(input, d, scatter_index, source, reduce, include_self=include_self)
    return r if out is None else _copy_into(out, r)


def _copy_into(out, r):
    from .copy import copy_
    return copy_(out, r)


def _index_reduce_(self, dim, index, source, reduce, *, include_self=True):
    return _copy_into(self, index_reduce(self, dim, index, source, reduce, include_self=include_self))


_bind.methods(index_reduce=index_reduce, index_reduce_=_index_reduce_)
