"""torch.index_reduce / Tensor.index_reduce_: source's slices reduced into input's slices at `index` along dim
('prod', 'mean', 'amax', 'amin'; include_self=False leaves input's value out of the slices that receive any), a
registered op with a Triton kernel and a NumPy fallback.

cuda: input and source are made contiguous as (outer, N, inner) and (outer, K, inner); each lane of
`_index_reduce_kernel` owns one (outer, inner) column and walks the K indices in order (first writing the reduce's
identity into the slices that receive one, when include_self is False), so duplicates need no atomics and the
result is deterministic and equal to the cpu one. 'mean' sums that way, counts each slice's sources with
`_count_kernel` (one program), and divides in a last pass over the column (integers round down, as PyTorch's).
cpu: NumPy's unbuffered ufunc.at (multiply, maximum, minimum, add) along dim moved first (1-D operands when there
is nothing else: ufunc.at's fast loop); float16/bfloat16 in float32. NaN propagates through amax/amin as in PyTorch.
scatter_reduce ('prod', 'mean', 'amax', 'amin') is this op on flat positions (reduce.py _scatter_reduce_flat).
Gradients are PyTorch's index_reduce_backward formulas written in registered ops (index_add, index_select, this op):
prod divides out the receiving value with zeros handled (one zero per slice among the sources; more than one is
PyTorch's unsupported double-backward case, first derivatives still exact), mean is 1/count, amax/amin share the
gradient evenly between the ties (counting input's own tie even with include_self=False, as PyTorch does), and
include_self=False zeroes input's gradient in the receiving slices.
PyTorch's argument checks and messages come first, before any kernel runs; the bounds check reads the index's min
and max (one host synchronisation on cuda, as the indexing family's checks).
Bytes per launch: reads K indices, the source once and the input once, writes the output once (mean: the output
again in its last pass).
"""
from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..backends.cuda import CudaArray
from ..tensor import Tensor, _make
from . import _bind, launch
from . import pointwise as pw
from .registry import BenchSpec, Meta, OpDef, Sample, _type_name, register, wrap_dim
from .samples import make_tensor, rng_for

FAMILY = "index_reduce"

__all__ = ["index_reduce"]

_REDUCES = ("prod", "mean", "amax", "amin")
_CODES = {"prod": 0, "mean": 1, "amax": 2, "amin": 3}
_NUMERIC = tuple(d for d in _dt.ALL if d is not _dt.bool_)


# ============================================================================================== infer

def _infer(input, dim, index, source, reduce, include_self=True):
    """PyTorch's checks, in its order; Meta.aux = dim wrapped."""
    if reduce not in _REDUCES:
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    for name, t in (("input", input), ("index", index), ("source", source)):
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
    sa, sb = tuple(input.shape) or (1,), tuple(source.shape) or (1,)
    src_n = sb[d] if d < len(sb) else 1
    if n != src_n:
        raise RuntimeError(f"index_reduce_(): Number of indices ({n}) should be equal to source.size(dim): ({src_n}), "
                           f"for dim: {d}")
    if source.dim() != input.dim() or any(sa[k] != sb[k] for k in range(len(sa)) if k != d):
        raise RuntimeError("source tensor shape must match self tensor shape, excluding the specified dimension. "
                           f"Got self.shape = {list(input.shape)} source.shape = {list(source.shape)}")
    if input.dtype is _dt.bool_:
        raise NotImplementedError("\"index_func_\" not implemented for 'Bool'")
    if input.device is not index.device or input.device is not source.device:
        raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                           f"{input.device} and {index.device if index.device is not input.device else source.device}!")
    if n and index.device.type != "meta":   # (a meta index has no values to check)
        lo, hi = int(index.min().item()), int(index.max().item())
        if lo < 0 or hi >= sa[d]:
            raise IndexError("index out of range in self")
    return Meta(tuple(input.shape), input.dtype, input.device, d)


def _identity(reduce: str, dtype: _dt.dtype):
    """The value a receiving slice starts from when include_self is False."""
    if reduce == "prod":
        return 1
    if reduce == "mean":
        return 0
    if dtype.kind == _dt.FLOAT:
        return float("-inf") if reduce == "amax" else float("inf")
    info = np.iinfo(dtype.np)
    return int(info.min) if reduce == "amax" else int(info.max)


def _split(shape, d: int):
    """(outer, N, inner) of a shape around dim d (a 0-dim shape is one element)."""
    shape = tuple(shape) or (1,)
    return int(np.prod(shape[:d], dtype=np.int64)), shape[d], int(np.prod(shape[d + 1:], dtype=np.int64))


# ================================================================================================ cpu

_AT = {"prod": np.multiply, "amax": np.maximum, "amin": np.minimum, "mean": np.add}


def _cpu(meta, input, dim, index, source, reduce, include_self=True, out=None):
    d = meta.aux
    work = np.float32 if input.dtype in (_dt.float16, _dt.bfloat16) else input.dtype.np
    outer, n, inner = _split(input.shape, d)
    k = index.numel()
    x = np.array(input._data, dtype=work).reshape(outer, n, inner)
    s = np.asarray(source._data, dtype=work).reshape(outer, k, inner)
    idx = index._data.reshape(-1).astype(np.intp)
    xv, sv = x.transpose(1, 0, 2), s.transpose(1, 0, 2)          # dim first: ufunc.at indexes the first axis
    if outer == 1 and inner == 1:   # 1-D (scatter_reduce's flat form): ufunc.at's fast loop wants 1-D operands
        xv, sv = xv.reshape(n), sv.reshape(k)
    touched = np.zeros(n, bool)
    touched[idx] = True
    if not include_self:
        xv[touched] = _identity(reduce, meta.dtype)
    with np.errstate(all="ignore"):
        _AT[reduce].at(xv, idx, sv)
        if reduce == "mean":
            count = np.bincount(idx, minlength=n) + (1 if include_self else 0)
            count = np.maximum(count, 1).reshape((n,) + (1,) * (xv.ndim - 1)).astype(work)
            mean = xv / count if meta.dtype.kind == _dt.FLOAT else np.floor_divide(xv, count)
            xv[touched] = mean[touched]
    r = x.reshape(meta.shape).astype(meta.dtype.np, copy=False)
    if out is not None:
        np.copyto(out, r, casting="unsafe")
        return out
    return r


# =============================================================================================== cuda

@triton.jit
def _count_kernel(
    idx_ptr,        # index (int64, contiguous), k entries
    cnt_ptr,        # int32 counts, one per slice along dim (zeroed by the caller)
    k,              # number of indices
):
    # bytes: reads k indices, reads and writes k counts; one program, in order (no atomics)
    for i in range(0, k):
        j = tl.load(idx_ptr + i)
        tl.store(cnt_ptr + j, tl.load(cnt_ptr + j) + 1)


@triton.jit
def _combine(cur, v, REDUCE: tl.constexpr):
    if REDUCE == 0:
        r = cur * v
    elif REDUCE == 1:
        r = cur + v
    elif REDUCE == 2:
        r = tl.where((cur > v) | (cur != cur), cur, v)   # NaN in either wins
    else:
        r = tl.where((cur < v) | (cur != cur), cur, v)
    return r


@triton.jit
def _index_reduce_kernel(
    x_ptr,          # output (contiguous (outer, N, inner)), holding a copy of input
    src_ptr,        # source (contiguous (outer, K, inner))
    idx_ptr,        # index (int64, contiguous), K entries
    cnt_ptr,        # int32 counts per slice ('mean' only; else unused)
    n_cols,         # outer * inner: the lanes
    inner,          # elements after dim
    n,              # input.size(dim)
    k,              # number of indices
    ident,          # the reduce's identity (written first into receiving slices when not INCLUDE_SELF)
    REDUCE: tl.constexpr,        # 0 prod, 1 mean (sum, then divide), 2 amax, 3 amin
    INCLUDE_SELF: tl.constexpr,  # whether input's value takes part
    COMPUTE: tl.constexpr,       # the dtype lanes compute in (float32 for float16/bfloat16)
    BLOCK: tl.constexpr,         # lanes (columns) per program
):
    # bytes: reads K indices (shared by every lane), the source once and the output's receiving slices, writes them;
    # 'mean' then reads and writes the whole column once more. Each lane walks its column alone: race-free.
    cols = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < n_cols
    o = cols // inner
    i = cols % inner
    x_col = x_ptr + o * n * inner + i
    s_col = src_ptr + o * k * inner + i
    if not INCLUDE_SELF:
        for t in range(0, k):
            j = tl.load(idx_ptr + t)
            tl.store(x_col + j * inner, (tl.zeros([BLOCK], COMPUTE) + ident).to(x_ptr.dtype.element_ty), mask=mask)
    for t in range(0, k):
        j = tl.load(idx_ptr + t)
        cur = tl.load(x_col + j * inner, mask=mask, other=0).to(COMPUTE)
        v = tl.load(s_col + t * inner, mask=mask, other=0).to(COMPUTE)
        tl.store(x_col + j * inner, _combine(cur, v, REDUCE).to(x_ptr.dtype.element_ty), mask=mask)
    if REDUCE == 1:
        for j in range(0, n):
            hits = tl.load(cnt_ptr + j)
            if hits > 0:
                c = hits.to(tl.int64)
                if INCLUDE_SELF:
                    c = c + 1
                cur = tl.load(x_col + j * inner, mask=mask, other=0).to(COMPUTE)
                if cur.dtype.is_floating():
                    q = cur / c.to(COMPUTE)
                else:
                    wide = cur.to(tl.int64)
                    q = wide // c
                    q = tl.where((q * c != wide) & (wide < 0), q - 1, q)   # round down, as PyTorch's
                tl.store(x_col + j * inner, q.to(x_ptr.dtype.element_ty), mask=mask)


def _copy(t: Tensor, meta: Meta, out=None) -> CudaArray:
    """t's values in a fresh contiguous array (or written into out): the copy family's pointwise identity."""
    from .copy import _identity as copy_fn
    return pw.launch_pointwise(copy_fn, [t], meta.shape, meta.dtype, meta.dtype, out)


def _cuda(meta, input, dim, index, source, reduce, include_self=True, out=None):
    from .copy import contiguous
    from .creation import zeros
    d = meta.aux
    outer, n, inner = _split(input.shape, d)
    x = _copy(input, meta)   # the kernel works in place on a contiguous copy; `out` may alias input
    k = index.numel()
    if k and outer * inner:
        src = contiguous(source)._data
        idx = contiguous(index.to(_dt.int64))._data
        code = _CODES[reduce]
        cnt = zeros(n if code == 1 else 1, dtype=_dt.int32, device=input.device)._data
        if code == 1:
            _count_kernel[(1,)](idx, cnt, k)
        ident = _identity(reduce, meta.dtype)
        block = 128
        _index_reduce_kernel[(launch.num_programs(outer * inner, block),)](
            pw.kernel_view(x), pw.kernel_view(src), idx, cnt, outer * inner, inner, n, k,
            float(ident) if meta.dtype.kind == _dt.FLOAT else ident, REDUCE=code,
            INCLUDE_SELF=bool(include_self), COMPUTE=pw.TL_COMPUTE[meta.dtype], BLOCK=block)
    if out is not None:
        return _copy(_make(x, meta.dtype, meta.device), meta, out)
    return x


# ========================================================================================= reference

def _ref(x, dim, index, source, reduce, include_self=True):
    """A plain loop over the receiving slices in float64 (int64 for integers), independent of both backends."""
    x = np.asarray(x)
    wide = np.float64 if x.dtype.kind == "f" else np.int64
    d = dim % max(x.ndim, 1)
    r = np.moveaxis(np.array(x, dtype=wide).reshape(x.shape or (1,)), d, 0)
    s = np.moveaxis(np.asarray(source, dtype=wide).reshape(np.shape(source) or (1,)), d, 0)
    idx = np.asarray(index).reshape(-1)
    out = r.copy()
    for j in np.unique(idx):
        parts = [s[k] for k in np.flatnonzero(idx == j)] + ([r[j]] if include_self else [])
        stack = np.stack(parts)
        if reduce == "prod":
            out[j] = np.prod(stack, axis=0)
        elif reduce == "amax":
            out[j] = np.max(stack, axis=0)
        elif reduce == "amin":
            out[j] = np.min(stack, axis=0)
        else:
            total = np.sum(stack, axis=0)
            out[j] = total / len(parts) if wide is np.float64 else np.floor_divide(total, len(parts))
    return np.moveaxis(out, 0, d).reshape(x.shape)


# ===================================================================================== backward rule

def _vjp(ctx, grad):
    # PyTorch's index_reduce_backward, in registered ops (so it is differentiable again)
    from .creation import ones_like, zeros_like
    from .indexing import index_add, index_select
    from .ternary import where
    x, _, index, source, reduce = ctx.inputs
    include_self = ctx.kwargs.get("include_self", True)
    d = ctx.meta.aux
    result = ctx.output
    if reduce == "prod":
        masked_self = x.masked_fill(x == 0, 1)
        masked_self_result = index_reduce_op(masked_self, d, index, source, "prod", include_self=include_self)
        grad_self = grad * masked_self_result / masked_self
        src_zero = source == 0
        src_zeros = index_select(index_add(zeros_like(x), d, index, src_zero.to(x.dtype)), d, index)
        single_zero = src_zero & (src_zeros == 1)
        masked_src_result = index_reduce_op(x, d, index, source.masked_fill(single_zero, 1), "prod",
                                            include_self=include_self)
        grad_src = where(single_zero, index_select(grad * masked_src_result, d, index),
                         index_select(grad * result, d, index) / source.masked_fill(src_zero, 1))
    elif reduce == "mean":
        count = index_add(ones_like(x) if include_self else zeros_like(x), d, index, ones_like(source))
        count = count.masked_fill(count == 0, 1)
        grad_self = grad / count
        grad_src = index_select(grad, d, index) / index_select(count, d, index)
    else:
        self_is_result = (x == result).to(x.dtype)
        source_is_result = (source == index_select(result, d, index)).to(x.dtype)
        shared = grad / index_add(self_is_result, d, index, source_is_result)
        grad_self = self_is_result * shared
        grad_src = source_is_result * index_select(shared, d, index)
    if not include_self:
        from .movement import index_fill
        grad_self = index_fill(grad_self, d, index.to(_dt.int64), 0)
    return grad_self, None, grad_src


# =========================================================================================== the op

def _samples(device, dtype):
    """Every reduce with and without include_self over duplicate indices, slices receiving none, another dim, a
    0-dim input, an empty index, non-contiguous operands, int32 indices."""
    rng = rng_for("index_reduce", dtype.name)
    x = lambda shape, **kw: make_tensor(shape, dtype, device, rng=rng, **kw)  # noqa: E731
    idx = lambda shape, high, **kw: make_tensor(shape, _dt.int64, device, low=0, high=high, rng=rng, **kw)  # noqa
    for i, reduce in enumerate(_REDUCES):
        for include_self in (True, False):
            kw = {"include_self": include_self}
            if i % 2:
                yield Sample((x((3, 5, 2)), 1, idx((7,), 5), x((3, 7, 2)), reduce), kw, name=f"{reduce}-{kw}")
            else:
                yield Sample((x((6,)), 0, idx((9,), 6), x((9,)), reduce), kw, name=f"{reduce}-{kw}")
        yield Sample((x(()), 0, idx((1,), 1), x(()), reduce), name=f"{reduce}-0d")
    yield Sample((x((3, 4)), 1, idx((0,), 4), x((3, 0)), "amax"), name="empty-index")
    yield Sample((x((5, 6), noncontiguous=True), -1, idx((5,), 6, noncontiguous=True), x((5, 5), noncontiguous=True),
                  "mean"), {"include_self": False}, name="noncontig")
    # (int32 indices with include_self=False fail in PyTorch's own backward, which index_fills with them)
    yield Sample((x((4, 3)), 0, make_tensor((5,), _dt.int32, device, low=0, high=4, rng=rng), x((5, 3)), "amin"),
                 name="int32-index")


def _bench_make(n, device, dtype):
    rng = rng_for("index_reduce-bench", n)
    rows = max(n // 256, 1)
    return (make_tensor((rows, 256), dtype, device, rng=rng), 0,
            make_tensor((rows,), _dt.int64, device, low=0, high=rows, rng=rng),
            make_tensor((rows, 256), dtype, device, rng=rng), "amax"), {}


index_reduce_op = register(OpDef(
    name="index_reduce", family=FAMILY, infer=_infer, impl={"cpu": _cpu, "cuda": _cuda}, ref=_ref,
    samples=_samples, dtypes=_NUMERIC, supports_out=True, vjp=_vjp, save="both",
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 22), make=_bench_make, bytes=lambda n, dt: 3 * n * dt.itemsize,
                    flops=lambda n: n, dtypes=(_dt.float32,)),
    extra={"torch": lambda torch, x, dim, index, source, reduce, include_self=True:
           x.index_reduce(dim, index, source, reduce, include_self=include_self)}))


def index_reduce(input, dim, index, source, reduce, *, include_self=True, out=None):
    """input with the slices of source reduced into the slices index names along dim (torch.index_reduce)."""
    return index_reduce_op(input, dim, index, source, reduce, include_self=include_self, out=out)


def _index_reduce_(self, dim, index, source, reduce, *, include_self=True):
    return index_reduce_op(self, dim, index, source, reduce, include_self=include_self, out=self)


_bind.methods(index_reduce=index_reduce, index_reduce_=_index_reduce_)
