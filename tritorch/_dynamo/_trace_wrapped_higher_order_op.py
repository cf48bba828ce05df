"""torch._dynamo._trace_wrapped_higher_order_op: TransformGetItemToIndex, the mode under which PyTorch's vmap lets
`t[i]` index with a 0-dim tensor. tritorch's vmap calls the function once per index with real tensors, where such
indexing already works, so the mode changes nothing."""
from __future__ import annotations

__all__ = ["TransformGetItemToIndex"]


class TransformGetItemToIndex:
    """A context manager (and torch function mode in PyTorch); here entering it changes nothing (see the module)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
