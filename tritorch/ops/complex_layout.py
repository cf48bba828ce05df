"""Complex forms of ops that only move elements (flip, roll, repeat, index_select): the real op's own rules.

These ops' infer rules never look at the values' dtype, and their NumPy fallbacks are dtype-agnostic, so the complex
form takes both from the real op. On cuda the real op's kernels run on the (re, im) pairs (ops/complex.py `pairs`),
with the arguments moved to the pairs' layout (dims counted from the front, a trailing repeat of 1, a flattened
roll twice as far); the result's pairs are seen as complex again. Their backward rules compose ops, which send
complex gradients to the complex forms again, so the real op's vjp serves unchanged.
"""
from __future__ import annotations

from .. import dtypes as _dt
from ..backends.cuda import CudaArray
from ..tensor import Tensor, _make
from . import indexing, movement
from .complex import pairs
from .registry import OpDef, register


def _pairs_tensor(x: Tensor) -> Tensor:
    """x's (re, im) pairs as a real tensor; a 0-dim x as one pair of shape (1, 2), so that dim 0 is never the
    pair dim (the ops' rules treat a 0-dim tensor as one of shape (1,))."""
    a = x._data
    if not a.shape:
        a = a.view_as((1,), (1,), a.offset)
    return _make(pairs(a), x.dtype.to_real(), x.device)


def _as_complex(r: CudaArray, meta) -> CudaArray:
    """The real op's result, an array of (re, im) pairs with an even offset and strides, seen as complex (a
    leading size-1 dim dropped for a 0-dim result)."""
    strides = tuple(s // 2 for s in r.strides[:-1])
    return CudaArray(r.block, tuple(meta.shape), strides[len(strides) - len(meta.shape):], r.offset // 2,
                     meta.dtype.np)


def _flip_args(meta, x, dims):
    return (_pairs_tensor(x), meta.aux), {}


def _roll_args(meta, x, shifts, dims=None):
    if meta.aux is None:                          # nothing to roll (an empty tensor)
        return (_pairs_tensor(x), 0, 0), {}
    if dims is None:                              # the flattened roll: twice as far over the pairs
        return (_pairs_tensor(x), 2 * meta.aux[0]), {}
    moved = [(s, d) for d, s in enumerate(meta.aux) if s]
    return (_pairs_tensor(x), tuple(s for s, _ in moved) or (0,), tuple(d for _, d in moved) or (0,)), {}


def _repeat_args(meta, x, repeats):
    lead = (1,) if x.ndim == 0 and not len(repeats) else ()   # (the 0-dim x's pairs are (1, 2))
    return (_pairs_tensor(x), lead + tuple(repeats) + (1,)), {}


def _index_select_args(meta, input, dim, index, out=None):
    return (_pairs_tensor(input), meta.aux, index), {}


def _pairs_cuda(real_op, adapt):
    def cuda(meta, *args, out=None, **kwargs):
        a, kw = adapt(meta, *args, **kwargs)
        r = _as_complex(real_op(*a, **kw)._data, meta)
        if out is not None:
            from .complex import _identity, _launch
            _launch(_identity, [pairs(r)], args[0], tuple(meta.shape) + (2,), meta.dtype.to_real(), pairs(out))
            return out
        return r
    return cuda


def _register_form(real_op, adapt):
    form = register(OpDef(
        name=f"complex_{real_op.name}", infer=real_op.infer,
        impl={"cpu": real_op.impl["cpu"], "cuda": _pairs_cuda(real_op, adapt)}, family="complex", ref=real_op.ref,
        samples=real_op.samples, dtypes=_dt.COMPLEX_DTYPES, supports_out=real_op.supports_out, vjp=real_op.vjp,
        save=real_op.save, bench=real_op.bench, extra=dict(real_op.extra),
        doc=f"{real_op.name} of a complex tensor: the real op's rules, its kernels on the (re, im) pairs"))
    real_op.complex_op = form
    return form


complex_flip_op = _register_form(movement.flip_op, _flip_args)
complex_roll_op = _register_form(movement.roll_op, _roll_args)
complex_repeat_op = _register_form(movement.repeat_op, _repeat_args)
complex_index_select_op = _register_form(indexing.index_select_op, _index_select_args)


def _index_add_args(meta, input, dim, index, source, *, alpha=1, out=None):
    from .registry import wrap_dim
    if isinstance(alpha, complex):   # the pairs take a real alpha: a complex one scales the source first
        source, alpha = source * alpha, 1
    return (_pairs_tensor(input), wrap_dim(dim, input.ndim), index, _pairs_tensor(source)), {"alpha": alpha}


complex_index_add_op = _register_form(indexing.index_add_op, _index_add_args)
