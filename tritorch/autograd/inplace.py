"""History of tensors written in place under autograd (PyTorch's "rebase history").

An in-place op (or `copy_`, or `out=`) under autograd is computed out of place first, so the op's node is
recorded as usual with `value` as its output; the bytes are then written into `target`. What is left is to make
the graph agree with the write:

- `target` is not a view: it takes over `value`'s history (when `value` does not require grad but `target` did,
  an `Overwrite` node sends zero gradient to target's old history, as PyTorch's CopyBackwards does).
- `target` is a view of `base`: base's new history is a `CopySlices` node with two inputs, base's old history
  (which gets the incoming gradient with the written region zeroed) and `value` (which gets the region itself);
  `target` becomes a strided view of the new base (`AsStridedBackward0`). Rules are written in registered ops
  (strided_scatter_add, as_strided, masked_fill), so they run on both devices and differentiate again.

Other views of the same base, taken before the write, are regenerated lazily as PyTorch does: each rebase leaves
a fresh token on the base, and `graph.edge_of` gives a view whose last-seen token differs a new history, a
strided view of the base's current history.
"""
from __future__ import annotations

from .. import _state
from ..tensor import Tensor
from . import graph as _graph
from .graph import InputMeta, Node, edge_of

_LEAF_VIEW = "a view of a leaf Variable that requires grad is being used in an in-place operation."


class _Ctx:
    """What the rebase nodes keep: the view's geometry in the base's index space (elements) and metadata."""

    __slots__ = ("base_shape", "view_shape", "strides", "offset", "out_meta")

    def __init__(self, base_shape, view_shape, strides, offset, out_meta):
        self.base_shape, self.view_shape, self.strides, self.offset = base_shape, view_shape, strides, offset
        self.out_meta = out_meta

    def release(self):
        pass


class _CopySlices:
    name = "copy_slices"
    backward_name = "CopySlices"

    @staticmethod
    def vjp(ctx, grad):
        from ..ops.creation import ones
        from ..ops.movement import as_strided_op, strided_scatter_add_op
        from ..ops.copy import contiguous
        region = strided_scatter_add_op(ones(ctx.view_shape, dtype=grad.dtype, device=grad.device),
                                        ctx.base_shape, ctx.strides, ctx.offset)
        old = grad.masked_fill(region != 0, 0)
        g = contiguous(grad)
        new = as_strided_op(g, ctx.view_shape, ctx.strides, g.storage_offset() + ctx.offset)
        return old, new


class _AsStridedOfBase:
    name = "as_strided"
    backward_name = "AsStridedBackward0"

    @staticmethod
    def vjp(ctx, grad):
        from ..ops.movement import strided_scatter_add_op
        return strided_scatter_add_op(grad, ctx.base_shape, ctx.strides, ctx.offset)


class _Overwrite:
    name = "copy"
    backward_name = "CopyBackwards"

    @staticmethod
    def vjp(ctx, grad):
        return grad.mul(0)


class _CopyOfLeaf:
    """History of a tensor overwritten by a leaf that requires grad: the gradient goes to the leaf as it is."""
    name = "copy"
    backward_name = "CopyBackwards"

    @staticmethod
    def vjp(ctx, grad):
        return grad


def _set_history(t: Tensor, node) -> None:
    t.grad_fn = node
    t._requires_grad = node is not None
    if t._extra and "output_nr" in t._extra:
        del t._extra["output_nr"]


def _geometry(view: Tensor, base: Tensor):
    """(strides, offset) of `view` in the index space of the contiguous `base`, in elements."""
    if not base.is_contiguous():
        raise RuntimeError("in-place write into a view whose base tensor is not contiguous is not supported under "
                           "autograd; make the base contiguous (x = x.contiguous()) before taking the view")
    return tuple(view.stride()), view.storage_offset() - base.storage_offset()


def _mark(base: Tensor, view: Tensor | None = None) -> None:
    """A new history token on `base`; `view` (the tensor just written) has seen it."""
    token = object()
    base._extra = dict(base._extra or {}, rebased=token)
    if view is not None:
        view._extra = dict(view._extra or {}, rebased_seen=token)


def regenerate(view: Tensor, base: Tensor, token) -> None:
    """Give a view taken before its base was written in place the history of a strided view of the base now."""
    view._extra = dict(view._extra or {}, rebased_seen=token)
    if not base._requires_grad:
        _set_history(view, None)
        return
    strides, offset = _geometry(view, base)
    _set_history(view, _view_of_base(view, base, strides, offset))


def _view_of_base(view: Tensor, base: Tensor, strides, offset) -> Node:
    """The history of `view` as a strided view of `base`'s current history."""
    base_meta, view_meta = InputMeta(base), InputMeta(view)
    ctx = _Ctx(base_meta.shape, view_meta.shape, strides, offset, (view_meta,))
    return Node(_AsStridedOfBase, ctx, (edge_of(base),), (base_meta,))


def rebase(target: Tensor, value: Tensor) -> None:
    """Make `target`'s history that of having been overwritten by `value` (see the module docstring)."""
    base = target._base
    if base is None:
        _mark(target)
        if value._requires_grad and value.grad_fn is None:  # a leaf: a node whose one edge is its accumulator
            out_meta, in_meta = InputMeta(target), InputMeta(value)
            _set_history(target, Node(_CopyOfLeaf, _Ctx(None, None, None, None, (out_meta,)), (edge_of(value),),
                                      (in_meta,)))
        elif value._requires_grad:
            _set_history(target, value.grad_fn)
            if value.grad_fn is not None and value._extra and "output_nr" in value._extra:
                target._extra = dict(target._extra or {}, output_nr=value._extra["output_nr"])
        elif target._requires_grad:
            meta = InputMeta(target)
            _set_history(target, Node(_Overwrite, _Ctx(None, None, None, None, (meta,)), (edge_of(target),),
                                      (meta,)))
        return
    if not (base._requires_grad or value._requires_grad):
        return
    if base._requires_grad and base.grad_fn is None:
        raise RuntimeError(_LEAF_VIEW)
    strides, offset = _geometry(target, base)
    base_meta, view_meta = InputMeta(base), InputMeta(target)
    ctx = _Ctx(base_meta.shape, view_meta.shape, strides, offset, (base_meta,))
    node = Node(_CopySlices, ctx, (edge_of(base), edge_of(value)), (base_meta, view_meta))
    _set_history(base, node)
    _set_history(target, _view_of_base(target, base, strides, offset))
    _mark(base, target)


def check_inplace(target: Tensor) -> None:
    """PyTorch's errors for an in-place write into a leaf that requires grad, or into a view of one."""
    if target._requires_grad and target.grad_fn is None and target._base is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    base = target._base
    if base is not None and base._requires_grad and base.grad_fn is None:
        raise RuntimeError(_LEAF_VIEW)


_state.rebase = rebase
_graph.REGENERATE = regenerate
_state.check_inplace = check_inplace
