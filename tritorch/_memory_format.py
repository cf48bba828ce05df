"""torch.layout and torch.memory_format: tritorch's tensors are all strided (dense); a memory format names an order
of a dense tensor's dims in memory. channels_last (4-d) keeps C innermost, (N, H, W, C) in memory;
channels_last_3d the same for 5-d. Tensor.is_contiguous/contiguous/to/clone take them (ops read any strides)."""
from __future__ import annotations

__all__ = ["layout", "strided", "memory_format", "contiguous_format", "channels_last", "channels_last_3d",
           "preserve_format"]


class layout:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"tritorch.{self.name}"

    def __reduce__(self):
        return self.name


class memory_format(layout):
    __slots__ = ()


strided = layout("strided")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")

# The physical order of the dims (outermost first) of each channels-last format, by the rank it needs.
PHYSICAL_ORDER = {channels_last: (0, 2, 3, 1), channels_last_3d: (0, 2, 3, 4, 1)}


def physical_order(fmt: memory_format, ndim: int) -> tuple:
    """The dims' order in memory for `fmt`, with PyTorch's error for a rank the format does not fit."""
    order = PHYSICAL_ORDER[fmt]
    if ndim != len(order):
        raise RuntimeError(f"required rank {len(order)} tensor to use {fmt.name} format")
    return order


def is_dense_in_order(shape, strides, order) -> bool:
    """Whether a tensor of `shape` and `strides` is dense with its dims laid out in `order` (size-1 dims may have
    any stride, as in PyTorch)."""
    expected = 1
    for d in reversed(order):
        if shape[d] != 1 and strides[d] != expected:
            return False
        expected *= shape[d]
    return True
