"""max_unpool1d / 2d / 3d (torch.nn.functional): the partial inverse of max pooling with indices. Each value goes to
its flat position in a zero output volume (the indices max_pool*d(return_indices=True) gives), one scatter per
call, so both devices and autograd (the gradient is the output gradient gathered at the indices) come from the
scatter op."""
from __future__ import annotations

from ..tensor import Tensor

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d"]


def _tuple(v, nd: int) -> tuple:
    v = tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd
    return tuple(int(i) for i in (v * nd if len(v) == 1 else v))


def _output_size(input: Tensor, kernel, stride, padding, output_size, nd: int) -> tuple:
    """PyTorch's rule: (in - 1) * stride - 2 * padding + kernel per dim, or `output_size` (its last nd entries)
    strictly within one stride of that."""
    spatial = tuple(input.shape[-nd:])
    default = tuple((spatial[d] - 1) * stride[d] + kernel[d] - 2 * padding[d] for d in range(nd))
    if output_size is None:
        return default
    size = tuple(int(v) for v in output_size)
    if len(size) == nd + 2:
        size = size[2:]
    elif len(size) == nd + 1 and input.dim() == nd + 1:
        size = size[1:]
    if len(size) != nd:
        raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} elements, but it has a "
                         f"length of '{len(output_size)}'")
    for d in range(nd):
        low, high = default[d] - stride[d], default[d] + stride[d]
        if not low < size[d] < high:
            raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {d} must be between {low} and {high})')
    return size


def _max_unpool(name: str, nd: int, input, indices, kernel_size, stride, padding, output_size) -> Tensor:
    from ..ops.creation import zeros
    for what, t in (("input", input), ("indices", indices)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument '{what}' must be Tensor, not {type(t).__name__}")
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"Input to max_unpooling{nd}d should be a {nd + 1}d or {nd + 2}d Tensor, but got a tensor "
                           f"with {input.dim()} dimensions.")
    if indices.dtype.name != "int64":
        raise RuntimeError(f"elements in indices should be type int64 but got: {indices.dtype.name.capitalize()}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor ({list(input.shape)}) "
                           f"but got indices tensor with shape: {list(indices.shape)}")
    kernel = _tuple(kernel_size, nd)
    stride = kernel if stride is None or stride == () else _tuple(stride, nd)
    padding = _tuple(padding, nd)
    size = _output_size(input, kernel, stride, padding, output_size, nd)
    volume = 1
    for v in size:
        volume *= v
    lead = tuple(input.shape[:-nd])
    flat_index = indices.reshape(lead + (-1,))
    if flat_index.numel() and (bool((flat_index < 0).any()) or bool((flat_index >= volume).any())):
        bad = int(flat_index[(flat_index < 0) | (flat_index >= volume)][-1])   # (PyTorch names the last one)
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size {'x'.join(map(str, size))})")
    out = zeros(lead + (volume,), dtype=input.dtype, device=input.device)
    return out.scatter(-1, flat_index, input.reshape(lead + (-1,))).reshape(lead + size)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """torch.nn.functional.max_unpool1d: (N, C, L) or (C, L) values back at their positions in a zero output."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """torch.nn.functional.max_unpool2d: (N, C, H, W) or (C, H, W) values back at their positions."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """torch.nn.functional.max_unpool3d: (N, C, D, H, W) or (C, D, H, W) values back at their positions."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)
