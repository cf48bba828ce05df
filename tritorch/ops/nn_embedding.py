"""embedding (padding_idx, max_norm) and its deterministic scatter-add backward.

Ops:
  embedding(input, weight, padding_idx=...)          gather of weight rows (one Triton kernel; NumPy take)
  embedding_backward(grad, input, num_weights=..., padding_idx=..., scale_grad_by_freq=...)
                                                      the weight gradient as a deterministic scatter-add: the
                                                      indices are stably sorted, and each weight row sums its own
                                                      run of gradient rows in sorted (= original) order. No float
                                                      atomics, so the result is bitwise repeatable on both devices.
  embedding_renorm_(weight, input, max_norm=..., norm_type=...)
                                                      max_norm: the rows `input` touches are rescaled in place to
                                                      norm <= max_norm (scale max_norm / (norm + 1e-7)), as
                                                      PyTorch's embedding_renorm_; not differentiable.
The padding row's gradient stays zero. Out-of-range indices raise IndexError on cpu; on cuda (no host sync) they
read zeros and contribute nothing.
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray
from ..device import CUDA
from ..tensor import Tensor, _make, from_array
from . import pointwise as pw
from ._cpu_parallel import one_blas_thread
from .registry import BenchSpec, Meta, OpDef, Sample, _no_record, _type_name, device_of, register
from .samples import make_tensor, rng_for
from .launch import cdiv as _cdiv, f64_bits

FAMILY = "nn_embedding"

__all__ = ["embedding", "embedding_bag"]

FLOATS = (_dt.float32, _dt.float64, _dt.float16, _dt.bfloat16)
_INDEX_DTYPES = (_dt.int64, _dt.int32)

_BLOCK_R = 16 if _cuda.INTERPRET else 32    # gathered rows per program
_BLOCK_D = 128 if _cuda.INTERPRET else 256  # embedding columns per program


# ============================================================================================== Triton kernels

@triton.jit
def _embedding_fwd_kernel(
    idx_ptr,                    # indices, contiguous, N of them (int32/int64)
    w_ptr,                      # weight (V, D), any strides
    out_ptr,                    # output (N, D), contiguous
    N, D, V,                    # number of indices, embedding dim, number of embeddings
    s_w0, s_w1,                 # weight strides (elements)
    BLOCK_R: tl.constexpr, BLOCK_D: tl.constexpr,
):
    # bytes: reads N indices and N*D weight values, writes N*D values
    rows = tl.program_id(0).to(tl.int64) * BLOCK_R + tl.arange(0, BLOCK_R)
    cols = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    ok = rows < N
    ix = tl.load(idx_ptr + rows, mask=ok, other=0).to(tl.int64)
    hit = ok & (ix >= 0) & (ix < V)
    col_ok = cols < D
    v = tl.load(w_ptr + ix[:, None] * s_w0 + cols[None, :] * s_w1, mask=hit[:, None] & col_ok[None, :], other=0)
    tl.store(out_ptr + rows[:, None] * D + cols[None, :], v, mask=ok[:, None] & col_ok[None, :])


@triton.jit
def _lower_bound(ptr, n, key, LOG_N: tl.constexpr):
    # first position in the sorted array ptr[0:n] whose value is >= key (binary search, LOG_N + 1 steps)
    lo = key * 0
    hi = lo + n
    for _ in tl.static_range(LOG_N + 1):
        mid = (lo + hi) // 2
        live = mid < hi
        v = tl.load(ptr + mid, mask=live, other=0).to(tl.int64)
        right = live & (v < key)
        lo = tl.where(right, mid + 1, lo)
        hi = tl.where(right | ~live, hi, mid)
    return lo


@triton.jit
def _embedding_bwd_kernel(
    sorted_ptr,                 # indices sorted ascending (stable), N of them (int64)
    perm_ptr,                   # original position of each sorted index (int64)
    g_ptr,                      # grad viewed as (N, D), any strides
    gw_ptr,                     # weight gradient (V, D), contiguous
    N, D, padding_idx,          # indices, embedding dim, padding row (-1: none)
    s_g0, s_g1,                 # grad strides
    LOG_N: tl.constexpr,        # ceil(log2(N + 1)): binary search steps
    SCALE_FREQ: tl.constexpr,   # divide each row's sum by its index count
    ACC: tl.constexpr,          # accumulation dtype (fp32, fp64 for fp64)
    BLOCK_D: tl.constexpr,
):
    # bytes: reads each gradient row once (plus 2 log2 N index probes per weight row), writes V*D values.
    # One program per (weight row, column block) sums its run of the sorted indices in order: deterministic.
    r = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    col_ok = cols < D
    lo = _lower_bound(sorted_ptr, N, r, LOG_N)
    hi = _lower_bound(sorted_ptr, N, r + 1, LOG_N)
    acc = tl.zeros([BLOCK_D], ACC)
    for j in range(lo, hi):
        src = tl.load(perm_ptr + j)
        acc += tl.load(g_ptr + src * s_g0 + cols * s_g1, mask=col_ok, other=0).to(ACC)
    if SCALE_FREQ:
        acc = acc / tl.maximum(hi - lo, 1).to(ACC)
    acc = tl.where(r == padding_idx, 0.0, acc)
    tl.store(gw_ptr + r * D + cols, acc.to(gw_ptr.dtype.element_ty), mask=col_ok)


@triton.jit
def _mark_rows_kernel(
    idx_ptr,                    # indices, contiguous, N of them
    flag_ptr,                   # int8 (V,), zeroed: set to 1 for every index present (same value: no race)
    N, V,
    BLOCK: tl.constexpr,
):
    # bytes: reads N indices, writes at most N bytes
    i = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    ok = i < N
    ix = tl.load(idx_ptr + i, mask=ok, other=0).to(tl.int64)
    ok = ok & (ix >= 0) & (ix < V)
    tl.store(flag_ptr + ix, tl.full([BLOCK], 1, tl.int8), mask=ok)


@triton.jit
def _renorm_rows_kernel(
    w_ptr,                      # weight (V, D), any strides: rescaled in place
    flag_ptr,                   # int8 (V,): rows to renormalise
    D, s_w0, s_w1,              # embedding dim, weight strides
    max_norm_bits, p_bits,      # fp64 bits of max_norm and of the norm order p
    NORM: tl.constexpr,         # 1: sum |x|, 2: sqrt(sum x^2), 3: max |x|, 0: (sum |x|^p)^(1/p)
    ACC: tl.constexpr, BLOCK_D: tl.constexpr,
):
    # bytes: for a flagged row reads it twice (norm, then scale) and writes it once; other rows read 1 byte
    r = tl.program_id(0).to(tl.int64)
    flagged = tl.load(flag_ptr + r + tl.zeros([BLOCK_D], tl.int64)) != 0  # the row's flag, seen by every lane
    p = tl.cast(p_bits, tl.int64).to(tl.float64, bitcast=True).to(ACC)
    max_norm = tl.cast(max_norm_bits, tl.int64).to(tl.float64, bitcast=True).to(ACC)
    acc = tl.zeros([BLOCK_D], ACC)
    for d0 in range(0, D, BLOCK_D):
        cols = d0 + tl.arange(0, BLOCK_D)
        m = (cols < D) & flagged
        a = tl.abs(tl.load(w_ptr + r * s_w0 + cols * s_w1, mask=m, other=0).to(ACC))
        if NORM == 1:
            acc += a
        elif NORM == 2:
            acc += a * a
        elif NORM == 3:
            acc = tl.maximum(acc, a)
        else:
            acc += tl.where(a == 0, 0.0, tl.exp2(tl.log2(tl.where(a == 0, 1.0, a)) * p))
    if NORM == 3:
        norm = tl.max(acc, 0)
    else:
        norm = tl.sum(acc, 0)
        if NORM == 2:
            norm = tl.sqrt(norm)
        elif NORM == 0:
            norm = tl.where(norm == 0, 0.0, tl.exp2(tl.log2(tl.where(norm == 0, 1.0, norm)) / p))
    scale = max_norm / (norm + 1e-7)
    rescale = flagged & ((tl.zeros([BLOCK_D], ACC) + norm) > max_norm)
    for d0 in range(0, D, BLOCK_D):
        cols = d0 + tl.arange(0, BLOCK_D)
        m = (cols < D) & rescale
        ptrs = w_ptr + r * s_w0 + cols * s_w1
        w = tl.load(ptrs, mask=m, other=0).to(ACC)
        tl.store(ptrs, (w * scale).to(w_ptr.dtype.element_ty), mask=m)


# ================================================================================================== helpers

def _acc(d: _dt.dtype) -> _dt.dtype:
    return _dt.float64 if d is _dt.float64 else _dt.float32


def _flat_indices(input: Tensor) -> CudaArray:
    """The indices as a contiguous 1-D cuda array (copied only when not contiguous)."""
    arr = input._data
    if not arr.is_contiguous():
        from .copy import clone_op
        arr = clone_op(_make(arr, input.dtype, CUDA))._data
    return arr.view_as((arr.size_,), (1,), arr.offset)


def _rows_view(arr: CudaArray, n: int, d: int) -> CudaArray:
    """(..., D) seen as (N, D) through strides (a copy only when the leading dims do not merge)."""
    sh, st = tuple(arr.shape), tuple(arr.strides)
    lead, lead_st = sh[:-1], st[:-1]
    if not lead:
        return arr.view_as((1, d), (0, st[-1]), arr.offset)
    merged = all(lead_st[i] == lead_st[i + 1] * lead[i + 1] or lead[i] == 1 for i in range(len(lead) - 1))
    if merged or n <= 1:
        s0 = next((s for s, k in zip(reversed(lead_st), reversed(lead)) if k != 1), lead_st[-1])
        if merged:
            s0 = lead_st[-1]
        return arr.view_as((n, d), (s0, st[-1]), arr.offset)
    from .copy import clone_op
    c = clone_op(_make(arr, _dt.from_numpy_dtype(arr.dtype), CUDA))._data
    return c.view_as((n, d), (d, 1), c.offset)


def _check_index_range(idx: np.ndarray, v: int) -> None:
    if idx.size and (idx.min() < 0 or idx.max() >= v):
        raise IndexError("index out of range in self")


def _norm_padding(padding_idx, v: int):
    if padding_idx is None:
        return None
    p = int(padding_idx)
    if p > 0 and p >= v or p < 0 and p < -v:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return p + v if p < 0 else p


# ================================================================================================ embedding

def _embedding_infer(input, weight, padding_idx=None):
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError("embedding(): argument 'indices' and 'weight' must be Tensors")
    if input.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {input.dtype} instead (while checking arguments for embedding)")
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if weight.dtype not in FLOATS:
        raise RuntimeError(f'"embedding" not implemented for \'{_type_name(weight.dtype)}\'')
    dev = device_of(input, weight)
    _norm_padding(padding_idx, weight.shape[0])
    return Meta(tuple(input.shape) + (weight.shape[1],), weight.dtype, dev)


def _embedding_cpu(meta, input, weight, padding_idx=None):
    idx = input._data
    _check_index_range(idx, weight.shape[0])
    return np.take(weight._data, idx, axis=0)


def _embedding_cuda(meta, input, weight, padding_idx=None):
    V, D = weight.shape
    out = CudaArray.empty(meta.shape, meta.dtype.np)
    n = input.numel()
    if n == 0 or D == 0:
        return out
    idx = _flat_indices(input)
    w = weight._data
    _embedding_fwd_kernel[(_cdiv(n, _BLOCK_R), _cdiv(D, _BLOCK_D))](
        idx, w, out, n, D, V, w.strides[0], w.strides[1], BLOCK_R=_BLOCK_R, BLOCK_D=_BLOCK_D)
    return out


def _embedding_ref(input, weight, padding_idx=None):
    return np.asarray(weight, np.float64)[np.asarray(input)]


def _embedding_vjp(ctx, grad):
    input, weight = ctx.inputs
    padding_idx = _norm_padding(ctx.kwargs.get("padding_idx"), weight.shape[0])
    if ctx.kwargs.get("sparse", False):
        return None, _sparse_weight_grad(grad, input, weight, padding_idx,
                                         ctx.kwargs.get("scale_grad_by_freq", False))
    gw = embedding_backward_op(grad, input, num_weights=weight.shape[0], padding_idx=padding_idx,
                               scale_grad_by_freq=ctx.kwargs.get("scale_grad_by_freq", False))
    return None, gw


def _sparse_weight_grad(grad, input, weight, padding_idx, scale_grad_by_freq):
    """sparse=True: the weight's gradient as a sparse tensor, one entry per looked-up index (uncoalesced, as
    PyTorch's), the padding index's entries left out; scale_grad_by_freq divides each by its index's count."""
    from ..sparse import _wrap
    d = weight.shape[1]
    flat = input.reshape(-1).to(_dt.int64)
    rows = grad.reshape(-1, d)
    if padding_idx is not None:
        keep = flat != padding_idx
        flat, rows = flat[keep], rows[keep]
    if scale_grad_by_freq and flat.numel():
        from .reduce import unique
        _, inverse, counts = unique(flat, return_inverse=True, return_counts=True)
        rows = rows / counts.index_select(0, inverse).to(rows.dtype).unsqueeze(1)
    return _wrap(flat.unsqueeze(0), rows, tuple(weight.shape), False)


# ======================================================================================= embedding_backward

def _bwd_infer(grad, input, num_weights, padding_idx=None, scale_grad_by_freq=False):
    if input.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"embedding_backward: indices must be Long or Int, got {input.dtype}")
    if tuple(grad.shape[:-1]) != tuple(input.shape):
        raise RuntimeError(f"embedding_backward: grad of shape {list(grad.shape)} does not match indices of shape "
                           f"{list(input.shape)}")
    dev = device_of(grad, input)
    _norm_padding(padding_idx, int(num_weights))
    return Meta((int(num_weights), grad.shape[-1]), grad.dtype, dev)


# Small vocabularies (a GPT's token and position tables): the weight gradient is one BLAS product
# one_hot(indices)^T @ grad, ~2x faster than sorting the indices and summing segments (the one-hot matrix is at
# most ONE_HOT_MAX elements). OpenBLAS runs it on one thread: its threads synchronise on every call, and on a
# loaded machine a two-thread product of this size took ~50 ms instead of ~0.2 ms (measured on the shared 2-core
# machine).
ONE_HOT_MAX = 1 << 18


def _bwd_one_hot(g: np.ndarray, idx: np.ndarray, V: int, acc, scale_grad_by_freq: bool) -> np.ndarray:
    one_hot = np.equal.outer(np.arange(V, dtype=idx.dtype), idx).astype(acc)  # (V, N)
    with one_blas_thread():
        gw = one_hot @ g.astype(acc, copy=False)
    if scale_grad_by_freq:
        counts = np.bincount(idx, minlength=V).astype(acc)
        gw /= np.maximum(counts, 1)[:, None]
    return gw


def _bwd_cpu(meta, grad, input, num_weights, padding_idx=None, scale_grad_by_freq=False):
    V, D = meta.shape
    padding_idx = _norm_padding(padding_idx, V)
    idx = input._data.reshape(-1)
    _check_index_range(idx, V)
    acc = _acc(meta.dtype).np
    if idx.size and D and V * idx.size <= ONE_HOT_MAX:
        gw = _bwd_one_hot(grad._data.reshape(-1, D), idx, V, acc, scale_grad_by_freq)
    else:
        gw = np.zeros((V, D), acc)
        if idx.size and D:
            g = grad._data.reshape(-1, D)
            order = np.argsort(idx, kind="stable")
            ordered = idx[order]
            first = np.r_[True, ordered[1:] != ordered[:-1]]
            go = g[order].astype(acc, copy=False)
            rows = ordered[first]
            gw[rows] = go[first]
            # the repeats added one by one in sorted order (deterministic; np.add.reduceat along rows of the
            # sorted gradient was 5x slower: 4096 x 256 into 10000 rows, 11.6 -> 2.4 ms)
            repeat = ~first
            if repeat.any():
                np.add.at(gw, ordered[repeat], go[repeat])
            if scale_grad_by_freq:
                gw[rows] /= np.diff(np.r_[np.flatnonzero(first), idx.size]).astype(acc)[:, None]
    if padding_idx is not None:
        gw[padding_idx] = 0
    return gw.astype(meta.dtype.np, copy=False)


def _bwd_cuda(meta, grad, input, num_weights, padding_idx=None, scale_grad_by_freq=False):
    from .sort import sort
    V, D = meta.shape
    padding_idx = _norm_padding(padding_idx, V)
    gw = CudaArray.empty((V, D), meta.dtype.np)
    if V == 0 or D == 0:
        return gw
    n = input.numel()
    flat = _make(_flat_indices(input), input.dtype, CUDA) if n else None
    if n:
        values, perm = sort(flat if flat.dtype is _dt.int64 else flat.to(_dt.int64), stable=True)
        sorted_arr, perm_arr = values._data, perm._data
        g = _rows_view(grad._data, n, D)
        gs = g.strides
    else:
        sorted_arr = perm_arr = g = CudaArray.empty((1,), np.dtype(np.int64))
        gs = (0, 0)
    _embedding_bwd_kernel[(V, _cdiv(D, _BLOCK_D))](
        sorted_arr, perm_arr, g, gw, n, D, -1 if padding_idx is None else padding_idx, gs[0], gs[1],
        LOG_N=max(1, math.ceil(math.log2(n + 1))), SCALE_FREQ=bool(scale_grad_by_freq),
        ACC=pw.TL_DTYPE[_acc(meta.dtype)], BLOCK_D=_BLOCK_D)
    return gw


def _bwd_ref(grad, input, num_weights, padding_idx=None, scale_grad_by_freq=False):
    g = np.asarray(grad, np.float64)
    idx = np.asarray(input).reshape(-1)
    D = g.shape[-1]
    gw = np.zeros((num_weights, D))
    np.add.at(gw, idx, g.reshape(-1, D))
    if scale_grad_by_freq:
        counts = np.bincount(idx, minlength=num_weights).astype(np.float64)
        gw /= np.maximum(counts, 1)[:, None]
    if padding_idx is not None:
        gw[padding_idx] = 0
    return gw


def _bwd_vjp(ctx, gg):
    # linear in grad: d grad[i] = gg[input[i]] (zero for the padding index, / count with scale_grad_by_freq)
    import tritorch as tt
    grad, input = ctx.inputs
    pad = _norm_padding(ctx.kwargs.get("padding_idx"), gg.shape[0])
    out = embedding_op(input, gg)
    if ctx.kwargs.get("scale_grad_by_freq", False):
        ones = tt.ones(tuple(input.shape) + (1,), dtype=gg.dtype, device=gg.device)
        counts = embedding_backward_op(ones, input, num_weights=gg.shape[0])
        out = out / embedding_op(input, counts)
    if pad is not None:
        out = tt.where((input == pad).unsqueeze(-1), tt.zeros((), dtype=out.dtype, device=out.device), out)
    return out, None


# ========================================================================================= embedding_renorm_

def _renorm_infer(weight, input, max_norm, norm_type=2.0):
    if input.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"embedding_renorm_: indices must be Long or Int, got {input.dtype}")
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    return Meta(tuple(weight.shape), weight.dtype, device_of(weight, input))


def _norm_kind(p: float) -> int:
    return {1.0: 1, 2.0: 2, math.inf: 3}.get(float(p), 0)


def _renorm_cpu(meta, weight, input, max_norm, norm_type=2.0, out=None):
    w = out if out is not None else np.array(weight._data, copy=True)
    if out is not None and out is not weight._data and not np.shares_memory(out, weight._data):
        np.copyto(out, weight._data)
    idx = input._data.reshape(-1)
    _check_index_range(idx, w.shape[0])
    rows = np.unique(idx)
    if rows.size == 0:
        return w
    acc = _acc(meta.dtype).np
    sel = w[rows].astype(acc)
    a = np.abs(sel)
    p = float(norm_type)
    if p == math.inf:
        norms = a.max(axis=1) if a.shape[1] else np.zeros(len(rows), acc)
    elif p == 2.0:
        norms = np.sqrt((a * a).sum(axis=1))
    elif p == 1.0:
        norms = a.sum(axis=1)
    else:
        norms = (a ** p).sum(axis=1) ** (1.0 / p)
    big = norms > max_norm
    scale = (acc.type(max_norm) / (norms + acc.type(1e-7)))[:, None]
    w[rows[big]] = (sel[big] * scale[big]).astype(w.dtype)
    return w


def _renorm_cuda(meta, weight, input, max_norm, norm_type=2.0, out=None):
    from .creation import zeros
    if out is None:
        from .copy import clone_op
        out = clone_op(weight)._data
    elif out.data_ptr() != weight._data.data_ptr() or tuple(out.strides) != tuple(weight._data.strides):
        from .copy import copy_
        copy_(_make(out, weight.dtype, CUDA), weight)
    V, D = out.shape
    n = input.numel()
    if n == 0 or V == 0 or D == 0:
        return out
    flags = zeros(V, dtype=_dt.int8, device="cuda")._data
    idx = _flat_indices(input)
    _mark_rows_kernel[(_cdiv(n, 1024),)](idx, flags, n, V, BLOCK=1024)
    bits = [f64_bits(x) for x in (max_norm, norm_type)]
    _renorm_rows_kernel[(V,)](out, flags, D, out.strides[0], out.strides[1], *bits, NORM=_norm_kind(norm_type),
                              ACC=pw.TL_DTYPE[_acc(meta.dtype)], BLOCK_D=min(_BLOCK_D, triton.next_power_of_2(D)))
    return out


def _renorm_ref(weight, input, max_norm, norm_type=2.0):
    w = np.array(weight, np.float64)
    for r in sorted(set(np.asarray(input).reshape(-1).tolist())):
        nrm = np.linalg.norm(w[r], ord=norm_type)
        if nrm > max_norm:
            w[r] *= max_norm / (nrm + 1e-7)
    return w


# ===================================================================================================== samples

def _indices(shape, v, device, rng, dtype=_dt.int64):
    from ..tensor import from_array
    t = from_array(rng.integers(0, v, size=shape).astype(dtype.np))
    return t if device == "cpu" else t.to(device)


def _fwd_samples(device, dtype):
    rng = rng_for("embedding", dtype.name)
    w = lambda v, d, **kw: make_tensor((v, d), dtype, device, rng=rng, **kw)  # noqa: E731
    yield Sample((_indices((3,), 5, device, rng), w(5, 2)), name="tiny")
    # padding_idx and scale_grad_by_freq shape the gradient only (it is not the derivative of the forward), so
    # these samples are kept over gradcheck's 40 elements; the gradient tests against PyTorch cover them.
    yield Sample((_indices((2, 2), 4, device, rng), w(9, 5)), dict(padding_idx=1), name="padding")
    yield Sample((_indices((), 4, device, rng), w(4, 3)), name="0-dim index")
    yield Sample((_indices((0,), 4, device, rng), w(4, 3)), name="empty")
    yield Sample((_indices((7, 5), 2 ** 2 + 17, device, rng, _dt.int32), w(2 ** 2 + 17, 19, noncontiguous=True)),
                 dict(padding_idx=-3), name="int32_noncontig_weight")
    yield Sample((_indices((4, 3), 6, device, rng), w(8, 6)), dict(scale_grad_by_freq=True), name="freq")


def _fwd_call_kwargs(kw, weight):
    return {k: v for k, v in kw.items() if k != "scale_grad_by_freq"}


def _bwd_samples(device, dtype):
    rng = rng_for("embedding_bwd", dtype.name)
    for s in _fwd_samples(device, dtype):
        idx, w = s.args
        g = make_tensor(tuple(idx.shape) + (w.shape[1],), dtype, device, rng=rng)
        kw = dict(s.kwargs)
        if kw.get("padding_idx") is not None:
            kw["padding_idx"] = _norm_padding(kw["padding_idx"], w.shape[0])
        yield Sample((g, idx), dict(num_weights=w.shape[0], **kw), name=s.name)
    g = make_tensor((40, 3), dtype, device, rng=rng, noncontiguous=True)
    yield Sample((g, _indices((40,), 3, device, rng)), dict(num_weights=5), name="many_duplicates_noncontig_grad")


def _renorm_samples(device, dtype):
    rng = rng_for("embedding_renorm", dtype.name)
    for p in (2.0, 1.0, math.inf, 3.0):
        w = make_tensor((6, 5), dtype, device, rng=rng)
        yield Sample((w, _indices((4,), 6, device, rng)), dict(max_norm=1.5, norm_type=p), name=f"p{p}")


def _bench_make(size, device, dtype):
    n, v, d = size
    rng = rng_for("embedding_bench", size)
    return (_indices((n,), v, device, rng), make_tensor((v, d), dtype, device, rng=rng)), {}


def _torch_embedding(torch, input, weight, padding_idx=None, scale_grad_by_freq=False, sparse=False):
    return torch.nn.functional.embedding(input, weight, padding_idx=padding_idx, sparse=sparse,
                                         scale_grad_by_freq=scale_grad_by_freq)


embedding_op = register(OpDef(
    name="embedding", family=FAMILY,
    infer=lambda input, weight, padding_idx=None, scale_grad_by_freq=False, sparse=False:
    _embedding_infer(input, weight, padding_idx),
    impl={"cpu": lambda meta, input, weight, padding_idx=None, scale_grad_by_freq=False, sparse=False:
          _embedding_cpu(meta, input, weight),
          "cuda": lambda meta, input, weight, padding_idx=None, scale_grad_by_freq=False, sparse=False:
          _embedding_cuda(meta, input, weight)},
    ref=lambda input, weight, padding_idx=None, scale_grad_by_freq=False, sparse=False:
    _embedding_ref(input, weight),
    samples=_fwd_samples, dtypes=FLOATS, vjp=_embedding_vjp,
    bench=BenchSpec(sizes=((8192, 32000, 1024), (32768, 50257, 768)), make=_bench_make,
                    bytes=lambda s, d: s[0] * 8 + 2 * s[0] * s[2] * d.itemsize, flops=lambda s: 0),
    doc="weight[input] (padding_idx and scale_grad_by_freq shape the gradient only)",
    extra={"torch": _torch_embedding}))

embedding_backward_op = register(OpDef(
    name="embedding_backward", family=FAMILY, infer=_bwd_infer, impl={"cpu": _bwd_cpu, "cuda": _bwd_cuda},
    ref=_bwd_ref, samples=_bwd_samples, dtypes=FLOATS, vjp=_bwd_vjp,
    bench=BenchSpec(sizes=((8192, 32000, 1024),), make=lambda s, dev, d: (
        (make_tensor((s[0], s[2]), d, dev), _bench_make(s, dev, d)[0][0]), dict(num_weights=s[1])),
        bytes=lambda s, d: s[0] * 16 + (s[0] + s[1]) * s[2] * d.itemsize, flops=lambda s: s[0] * s[2]),
    doc="deterministic scatter-add of gradient rows into the weight gradient (sort + per-row segmented sum)"))

def _renorm_bench_make(size, device, dtype):
    n, v, d = size
    rng = rng_for("embedding_renorm_bench", size)
    # n distinct rows, every one above max_norm: each call rescales exactly n rows (the bytes below)
    rows = from_array(rng.permutation(v)[:n].astype(np.int64))
    weight = make_tensor((v, d), dtype, device, low=-1.0, high=1.0, rng=rng)
    return (weight, rows if device == "cpu" else rows.to(device)), dict(max_norm=0.1, norm_type=2.0)


def _renorm_bench_bytes(size, dtype):
    # the out-of-place call (no out=) copies the weight (read + write), reads the indices, then reads and writes
    # the touched rows (a cuda launch reads them twice: its norm pass, then its scale pass)
    n, v, d = size
    return 2 * v * d * dtype.itemsize + 8 * n + 2 * n * d * dtype.itemsize


def _numpy_renorm(weight, input, max_norm, norm_type=2.0):
    w = weight.copy()
    rows = np.unique(input)
    norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
    big = rows[norms > max_norm]
    w[big] *= (max_norm / (norms[norms > max_norm] + 1e-7))[:, None].astype(w.dtype)
    return w


embedding_renorm_op = register(OpDef(
    name="embedding_renorm_", family=FAMILY, infer=_renorm_infer, impl={"cpu": _renorm_cpu, "cuda": _renorm_cuda},
    ref=_renorm_ref, samples=_renorm_samples, dtypes=FLOATS, differentiable=False, supports_out=True,
    doc="rescale the rows the indices touch to norm <= max_norm (in place with out=weight)",
    # sizes (indices, rows, embedding dim); flops: a row's norm (multiply-add per element) and its scale
    bench=BenchSpec(sizes=((4096, 8192, 128), (16384, 32000, 256), (32768, 50257, 768)), make=_renorm_bench_make,
                    bytes=_renorm_bench_bytes, flops=lambda s: 3 * s[0] * s[2]),
    extra={"torch": lambda torch, w, i, max_norm, norm_type=2.0:
           torch.embedding_renorm_(w.detach().clone(), i, max_norm, norm_type),
           "numpy": _numpy_renorm}))


# ============================================================================================= public function

def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False) -> Tensor:
    """torch.nn.functional.embedding. max_norm renormalises the touched rows of `weight` in place first (not
    recorded by autograd, as in PyTorch). sparse=True gives `weight` a sparse COO gradient (the looked-up rows:
    optim.SGD, Adagrad and SparseAdam take it)."""
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    padding_idx = _norm_padding(padding_idx, weight.shape[0])
    if max_norm is not None:
        with _no_record():
            embedding_renorm_op(weight, input, max_norm=float(max_norm), norm_type=float(norm_type), out=weight)
    kw = {}
    if padding_idx is not None:
        kw["padding_idx"] = padding_idx
    if scale_grad_by_freq:
        kw["scale_grad_by_freq"] = True
    if sparse:
        kw["sparse"] = True
    return embedding_op(input, weight, **kw)


def _bag_layout(input: Tensor, offsets, include_last_offset: bool) -> tuple:
    """(flat indices, bag of each element as a NumPy array, number of bags) with PyTorch's checks."""
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError(f"if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             f"fixed length sequences. However, found offsets of type {type(offsets)}")
        bags, length = input.shape
        return input.reshape(-1), np.repeat(np.arange(bags), length), bags
    if input.dim() != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    if offsets is None or offsets.dim() != 1:
        raise ValueError(f"offsets has to be a 1D Tensor but got {None if offsets is None else offsets.dim()}")
    starts = np.asarray(offsets.cpu().numpy(), np.int64)   # (the bag boundaries are needed on the host)
    if starts.size and starts[0] != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from "
                           f"position 0. However, got {starts[0]}")
    n = input.shape[0]
    if include_last_offset:
        if starts.size == 0:
            raise RuntimeError("include_last_offset: number of offsets should be at least 1")
        starts = starts[:-1]
    if (np.diff(starts) < 0).any() or (starts.size and starts[-1] > n):
        raise RuntimeError("offsets must be non-decreasing and within the input's length")
    bag = np.searchsorted(starts, np.arange(n), side="right") - 1
    return input, bag, starts.size


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None) -> Tensor:
    """torch.nn.functional.embedding_bag: the sum, mean or max of each bag of embeddings, without the (bags,
    length, dim) tensor for sum and mean (an index_add of the looked-up rows into their bags). A 2-D input is one
    bag per row; a 1-D input is cut into bags at `offsets`. padding_idx entries are left out (of the mean's count
    too); an empty bag gives zeros. Gradients reach weight (and per_sample_weights) through embedding's
    deterministic scatter-add."""
    from .creation import tensor, zeros
    from .indexing import index_add, index_select
    from .reduce import max as _max
    from .ternary import where
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                                  f"on GitHub.")
    if per_sample_weights is not None and tuple(per_sample_weights.shape) != tuple(input.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({list(per_sample_weights.shape)}) is not None, "
                         f"then it must have the same shape as the input ({list(input.shape)})")
    flat, bag_np, bags = _bag_layout(input, offsets, include_last_offset)
    padding_idx = _norm_padding(padding_idx, weight.shape[0])
    rows = embedding(flat, weight, None, max_norm, norm_type, scale_grad_by_freq, sparse)   # (T, D)
    valid = None if padding_idx is None else (flat != padding_idx)
    dim = weight.shape[1]
    if mode == "max":
        # a (bags, longest, D) layout: each bag's rows, gaps and padding entries at -inf
        counts = np.bincount(bag_np, minlength=bags) if bag_np.size else np.zeros(bags, np.int64)
        longest = max(int(counts.max()) if counts.size else 0, 1)
        slot = np.arange(bag_np.size) - np.repeat(np.cumsum(counts) - counts, counts)
        where_np = np.full((bags, longest), bag_np.size, np.int64)      # index T: a row of -inf appended below
        where_np[bag_np, slot] = np.arange(bag_np.size)
        if valid is not None:
            rows = where(valid.unsqueeze(1), rows, -math.inf)
        padded = rows.new_full((1, dim), -math.inf)
        from .movement import cat
        table = cat([rows, padded], 0)
        idx = tensor(where_np.reshape(-1), device=weight.device)
        grid = index_select(table, 0, idx).reshape(bags, longest, dim)
        values = _max(grid, 1).values
        return where(values == -math.inf, values.new_zeros(()), values)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)
    if valid is not None:
        rows = rows * valid.unsqueeze(1).to(rows.dtype)
    if input.dim() == 2:   # bags of one length: a sum over the bag dim
        length = input.shape[1]
        out = rows.reshape(bags, length, dim).sum(1)
        if mode == "sum":
            return out
        count = valid.reshape(bags, length).sum(1).to(rows.dtype) if valid is not None else max(length, 1)
    else:
        bag = tensor(bag_np, dtype=_dt.int64, device=weight.device)
        out = index_add(zeros((bags, dim), dtype=rows.dtype, device=weight.device), 0, bag, rows)
        if mode == "sum":
            return out
        if valid is None:   # the bag sizes are known on the host
            count = tensor(np.bincount(bag_np, minlength=bags).astype(rows.dtype.np), device=weight.device)
        else:
            count = index_add(zeros((bags,), dtype=rows.dtype, device=weight.device), 0, bag, valid.to(rows.dtype))
    if not isinstance(count, Tensor):
        return out / count
    return out / count.clamp_min(1).unsqueeze(1)
