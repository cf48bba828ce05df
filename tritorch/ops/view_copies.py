"""torch's view-copy functions (alias_copy, permute_copy, view_copy, ...): the view op followed by a copy, so the
result owns its memory. Gradients flow through the view op and the copy as they do for `view(...).clone()`.
Each takes PyTorch's `out=` (a tensor of the result's shape, or a list of them for the splitting forms)."""
from __future__ import annotations

from ..tensor import Tensor

__all__ = ["alias_copy", "as_strided_copy", "detach_copy", "diagonal_copy", "expand_copy", "permute_copy",
           "select_copy", "slice_copy", "split_copy", "split_with_sizes_copy", "squeeze_copy", "t_copy",
           "transpose_copy", "unbind_copy", "unfold_copy", "unsqueeze_copy", "view_copy"]


def _finish(view, out):
    if isinstance(view, (tuple, list)):
        if out is None:
            return tuple(v.clone() for v in view)
        if len(out) != len(view):
            raise RuntimeError(f"Expected out to have {len(view)} tensors, but got {len(out)}")
        for o, v in zip(out, view):
            _finish(v, o)
        return None
    if out is None:
        return view.clone()
    if tuple(out.shape) != tuple(view.shape):
        raise RuntimeError(f"output with shape {list(out.shape)} doesn't match the broadcast shape "
                           f"{list(view.shape)}")
    return out.copy_(view)


def alias_copy(input: Tensor, *, out=None) -> Tensor:
    return _finish(input, out)


def as_strided_copy(input: Tensor, size, stride, storage_offset=None, *, out=None) -> Tensor:
    return _finish(input.as_strided(size, stride, storage_offset), out)


def detach_copy(input: Tensor, *, out=None) -> Tensor:
    return _finish(input.detach(), out)


def diagonal_copy(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1, *, out=None) -> Tensor:
    return _finish(input.diagonal(offset, dim1, dim2), out)


def expand_copy(input: Tensor, size, *, implicit: bool = False, out=None) -> Tensor:
    return _finish(input.expand(*size), out)


def permute_copy(input: Tensor, dims, *, out=None) -> Tensor:
    return _finish(input.permute(*dims), out)


def select_copy(input: Tensor, dim: int, index: int, *, out=None) -> Tensor:
    return _finish(input.select(dim, index), out)


def slice_copy(input: Tensor, dim: int = 0, start=None, end=None, step: int = 1, *, out=None) -> Tensor:
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    index = [slice(None)] * input.dim()
    index[dim] = slice(start, end, step)
    return _finish(input[tuple(index)], out)


def split_copy(input: Tensor, split_size: int, dim: int = 0, *, out=None):
    return _finish(input.split(split_size, dim), out)


def split_with_sizes_copy(input: Tensor, split_sizes, dim: int = 0, *, out=None):
    return _finish(input.split_with_sizes(split_sizes, dim), out)


def squeeze_copy(input: Tensor, dim=None, *, out=None) -> Tensor:
    return _finish(input.squeeze() if dim is None else input.squeeze(dim), out)


def t_copy(input: Tensor, *, out=None) -> Tensor:
    return _finish(input.t(), out)


def transpose_copy(input: Tensor, dim0: int, dim1: int, *, out=None) -> Tensor:
    return _finish(input.transpose(dim0, dim1), out)


def unbind_copy(input: Tensor, dim: int = 0, *, out=None):
    return _finish(input.unbind(dim), out)


def unfold_copy(input: Tensor, dimension: int, size: int, step: int, *, out=None) -> Tensor:
    return _finish(input.unfold(dimension, size, step), out)


def unsqueeze_copy(input: Tensor, dim: int, *, out=None) -> Tensor:
    return _finish(input.unsqueeze(dim), out)


def view_copy(input: Tensor, size, *, out=None) -> Tensor:
    """The view as another shape, or (given a dtype) the bytes reinterpreted as another dtype."""
    return _finish(input.view(size) if not isinstance(size, (list, tuple)) else input.view(*size), out)
