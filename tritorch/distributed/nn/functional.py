"""torch.distributed.nn.functional: all_gather and all_reduce as autograd functions. The gradient of every rank's
gathered copy flows back to the rank it came from (summed over the ranks that used it); all_reduce's gradient is
the ranks' gradients reduced the same way (for SUM and AVG; other reductions have no gradient here)."""
from __future__ import annotations

from ...autograd.function import Function
from ...ops.movement import stack
from .. import ReduceOp, _world
from .. import all_gather as _all_gather
from .. import all_reduce as _all_reduce

__all__ = ["all_gather", "all_reduce"]


class _AllGather(Function):
    @staticmethod
    def forward(ctx, group, tensor):
        ctx.group = group
        out = [tensor.new_empty(tensor.shape) for _ in range(_world(group).size())]
        _all_gather(out, tensor.contiguous(), group=group)
        return tuple(out)

    @staticmethod
    def backward(ctx, *grads):
        g = _world(ctx.group)
        summed = stack([x.contiguous() for x in grads]).contiguous()
        _all_reduce(summed, group=ctx.group)   # every rank's gradient for every rank's piece, summed
        return None, summed[g.rank()]


class _AllReduce(Function):
    @staticmethod
    def forward(ctx, op, group, tensor):
        ctx.group, ctx.op = group, op
        out = tensor.clone()
        _all_reduce(out, op=op, group=group)
        return out

    @staticmethod
    def backward(ctx, grad):
        if ctx.op not in (ReduceOp.SUM, ReduceOp.AVG):
            raise RuntimeError(f"torch.distributed.nn.functional.all_reduce: no gradient for {ctx.op} (SUM and AVG "
                               "have one)")
        grad = grad.clone()
        _all_reduce(grad, op=ctx.op, group=ctx.group)
        return None, None, grad


def all_gather(tensor, group=None):
    """Every rank's `tensor`, as a tuple in rank order; differentiable."""
    return _AllGather.apply(group, tensor)


def all_reduce(tensor, op=ReduceOp.SUM, group=None):
    """`tensor` reduced over the ranks (a new tensor); differentiable for SUM and AVG."""
    return _AllReduce.apply(op, group, tensor)
