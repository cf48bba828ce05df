"""Indexing ops: gather, scatter (+ reduce 'add'/'multiply'), scatter_add, index_select, index_add, index_put,
index (advanced indexing), masked_fill, masked_select, masked_scatter, nonzero, take, put; and
Tensor.__getitem__ / __setitem__.

Choices visible to users, documented here once:

Gradients. Every op but nonzero has a backward rule written in this family's ops, which pair up as adjoints:
gather <-> scatter_add, index_select <-> index_add, index <-> index_put(accumulate=True), take <-> put
(accumulate=True), masked_select <-> masked_scatter (put and masked_scatter are registered for that and are
PyTorch ops of their own). So the rules are differentiable again and the same on both devices; on cuda the
accumulating ones use atomics (see Accumulation). Beyond PyTorch: scatter(reduce='add' / 'multiply') is
differentiable (PyTorch raises "derivative for aten::scatter is not implemented"; the rules are those of
scatter_add and of scatter_reduce('prod', include_self=True), with exact second derivatives also where several
src zeros meet), and a src larger than its index gets src's shape of gradient, zero past the part that is read
(PyTorch's backward fails with "invalid gradient" there).

Bounds checks. PyTorch's errors ("index 7 is out of bounds for dimension 0 with size 5") are raised by `infer`,
before the op's kernel runs, so an in-place op never half-writes before failing. On cuda the check needs the index
values: a two-stage Triton min/max reduction (`_minmax_kernel` per block, `_minmax_final_kernel` over the blocks)
writes (min, max) of every index tensor of the call into one small buffer, and reading that buffer back (16 bytes
per index tensor) is the call's one host synchronisation. A flag buffer set by the main kernel would also work,
but only after the kernel has written, which an in-place scatter cannot undo.

Data-dependent sizes (masked_select, nonzero, boolean-mask indexing). `_count_kernel` counts the selected
elements of each block, `_scan_kernel` (one program, tl.cumsum with a carried total) turns the counts into block
offsets, and `_compact_kernel` writes each selected element at its block's offset plus its in-block exclusive
prefix sum. Only the total count (one int64) is read back, to size the output, as PyTorch does.

Accumulation (scatter_add, scatter(reduce='add'), index_add, index_put(accumulate=True)) on cuda uses
tl.atomic_add: one pass for any index pattern, no sort. Float sums over duplicate indices are therefore added in
an unspecified order (they may differ in the last bits between runs; well inside 1e-3 relative of the cpu
result); integer sums are exact. Dtypes without hardware atomics accumulate in a scratch copy that is cast back:
float16/bfloat16 in float32 (more accurate than per-add rounding), int8/int16/uint8/bool in int32 (the cast back
wraps exactly like the sequential sum; a bool sum is a logical or).
reduce='multiply' has no atomic: `_scatter_rows_kernel` gives each program a set of rows (index positions that
differ only along `dim`, which never collide with another row's targets) and walks each row in order: race-free,
deterministic, and equal to the cpu result.

Duplicate indices with plain scatter, index_put(accumulate=False) and x[idx] = v: as in PyTorch, which
duplicate's value lands is unspecified on cuda; on cpu NumPy's assignment keeps the last one.
"""
from __future__ import annotations


import numpy as np
import triton
import triton.language as tl

from .. import _settings
from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray
from ..device import CPU
from ..tensor import Tensor, _make, _seen_writes, from_array
from . import _bind, launch
from ._cpu_parallel import one_blas_thread
from . import pointwise as pw
from .launch import f64_bits
from .registry import (_FLAGS, _GRAD, BenchSpec, Meta, OpDef, Sample, _no_record, _type_name, broadcast_shapes,
                       register, wrap_dim)
from .samples import make_array, make_tensor, rng_for

FAMILY = "indexing"

__all__ = ["gather", "scatter", "scatter_add", "index_select", "index_add", "index_put", "masked_fill",
           "masked_select", "masked_scatter", "nonzero", "argwhere", "take", "put"]

_INDEX_DTYPES = (_dt.int32, _dt.int64)
_I64 = np.dtype(np.int64)
# Scratch dtypes for accumulating dtypes that have no atomic add (see the module docstring).
_ACC = {_dt.float16: _dt.float32, _dt.bfloat16: _dt.float32, _dt.int8: _dt.int32, _dt.int16: _dt.int32,
        _dt.uint8: _dt.int32, _dt.bool_: _dt.int32}
_SCALAR, _SCALAR_F64_BITS = pw.SCALAR, pw.SCALAR_F64_BITS
_BLOCK = launch.ELEMENTWISE_BLOCK


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


# ------------------------------------------------------------------------------------------- host helpers

def _tl_compute(d: _dt.dtype):
    """Arithmetic type of the scatter kernels: fp32 for fp16/bf16, int32 for bool, the dtype otherwise."""
    return tl.int32 if d is _dt.bool_ else pw.TL_COMPUTE[d]


def _py_value(v, d: _dt.dtype):
    """A Python scalar converted as PyTorch converts it to a tensor of dtype `d` (float -> int truncates)."""
    if isinstance(v, Tensor):
        v = v.item()
    if d is _dt.bool_:
        return bool(v)
    if d.kind == _dt.INT:
        return int(v)
    return float(v)


def _scalar_param(v, d: _dt.dtype):
    """(value, kind) of a Python scalar kernel argument in compute dtype `d`; fp64 travels as its bits."""
    v = _py_value(v, d)
    if d is _dt.float64:
        return f64_bits(v), _SCALAR_F64_BITS
    return (int(v) if isinstance(v, bool) else v), _SCALAR


def _shape1(arr):
    """(shape, strides) of a cuda array, a 0-d array seen as one element (PyTorch's ensure_nonempty_dim)."""
    if arr.shape:
        return tuple(arr.shape), tuple(arr.strides)
    return (1,), (0,)


def _np1(a: np.ndarray) -> np.ndarray:
    return a if a.ndim else a.reshape(1)


def _c_array(r, shape=None) -> np.ndarray:
    """A C-contiguous ndarray of `shape` (NumPy indexing may give a scalar or a strided result)."""
    r = np.asarray(r)
    if shape is not None and r.shape != tuple(shape):
        r = r.reshape(shape)
    return r if r.flags.c_contiguous else r.copy(order="C")


def _same_device(first: Tensor, *others):
    dev = first.device
    for t in others:
        if isinstance(t, Tensor) and t.device is not dev:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                               f"{dev} and {t.device}!")
    return dev


def _parts(shape, strides_list):
    """Split a strided iteration over `shape` into launches of rank <= 4.

    Yields (sizes, strides per operand, element offset per operand, rank): `sizes` and each strides tuple have 4
    entries; rank is 1 when every operand is 1-D after collapsing (the kernels then skip the index arithmetic)."""
    shape_c, st_c = launch.collapse(tuple(shape), [tuple(s) for s in strides_list])
    if len(shape_c) <= launch.MAX_RANK:
        shape_p, st_p = launch.pad_rank(shape_c, st_c)
        yield shape_p, st_p, [0] * len(strides_list), (1 if shape_p[:3] == (1, 1, 1) else launch.MAX_RANK)
        return
    for tail, sub, offs in launch.split_leading(shape_c, st_c, None):
        yield tail, sub, offs, launch.MAX_RANK


def _shift(arr: CudaArray, off: int) -> CudaArray:
    return arr if off == 0 else arr.view_as(arr.shape, arr.strides, arr.offset + off)


def _wrap(arr, dtype: _dt.dtype, device) -> Tensor:
    return _make(arr, dtype, device)


def _cast_compute(src: _dt.dtype, dst: _dt.dtype) -> _dt.dtype:
    if dst is _dt.bool_:
        return _dt.bool_
    if src is _dt.bool_:
        return dst
    return src if src.kind == _dt.FLOAT and dst.kind != _dt.FLOAT else dst


@triton.jit
def _copy_fn(x, y, z, p0, p1):
    return x


@triton.jit
def _add_fn(x, y, z, p0, p1):
    return x + y


def _copy_cuda(dst: CudaArray, dst_dtype: _dt.dtype, src, src_dtype: _dt.dtype, device) -> None:
    """dst[...] = src (broadcast, cast) through the pointwise kernel."""
    pw.launch_pointwise(_copy_fn, [_wrap(src, src_dtype, device)], tuple(dst.shape), dst_dtype,
                        _cast_compute(src_dtype, dst_dtype), dst)


def _cuda_target(input: Tensor, out):
    """The array a scatter-like op writes: `out` itself for in-place calls, else `out` or a fresh array holding a
    copy of input."""
    if out is not None and out is input._data:
        return out
    dst = out if out is not None else CudaArray.empty(tuple(input._data.shape), input.dtype.np)
    _copy_cuda(dst, _dt.from_numpy_dtype(dst.dtype), input._data, input.dtype, input.device)
    return dst


def _cpu_target(input: Tensor, out):
    if out is not None and out is input._data:
        return out
    if out is None:
        return np.array(input._data, copy=True, order="C")
    np.copyto(out, input._data, casting="unsafe")
    return out


def _with_accumulator(target: CudaArray, device, run) -> None:
    """run(array, dtype) accumulates into `target`, through a wider scratch copy for dtypes without atomics."""
    tdt = _dt.from_numpy_dtype(target.dtype)
    acc = _ACC.get(tdt)
    if acc is None:
        run(target, tdt)
        return
    scratch = CudaArray.empty(tuple(target.shape), acc.np)
    _copy_cuda(scratch, acc, target, tdt, device)
    run(scratch, acc)
    _copy_cuda(target, tdt, scratch, acc, device)


def _ufunc_at(ufunc, view: np.ndarray, key, values) -> None:
    """ufunc.at(view, key, values); fp16/bf16 accumulate in fp32 (NumPy has no bf16 ufunc.at)."""
    if view.dtype == np.float16 or view.dtype == _dt.bfloat16.np:
        tmp = view.astype(np.float32)
        ufunc.at(tmp, key, np.asarray(values).astype(np.float32))
        view[...] = tmp
    else:
        ufunc.at(view, key, values)


# index_add on cpu: rows (the slices along `dim`) at least this long are added one by one (each add vectorised
# over the row); shorter ones are summed per target with np.add.reduceat after a stable sort (none when the
# index is already in order). np.add.at, which both replace, costs tens of ns per element here: 4096 rows of 64
# took 5.2 ms with it against 0.8 ms sorted; 64 rows of 16 Ki 20 ms against 0.5 ms one by one; unfold's
# backward (9216 rows of 512) went 108 -> 41 ms with the threshold at 256 rather than 1024 (73 ms).
_ROW_BY_ROW_MIN = 256
# index_add along the last dim with at most this many (index, target) pairs goes as a selection GEMM (below)
_SELECTION_GEMM_MAX = 1 << 16


def _index_add_rows(view: np.ndarray, dim: int, idx: np.ndarray, values: np.ndarray) -> None:
    """view[..., idx[k], ...] += values[..., k, ...] along `dim`, in place, every target summed in index order."""
    if view.dtype == np.bool_ or idx.size < 8:
        _ufunc_at(np.add, view, (slice(None),) * dim + (idx,), values)
        return
    if view.dtype == np.float16 or view.dtype == _dt.bfloat16.np:   # accumulate in fp32, as _ufunc_at does
        tmp = view.astype(np.float32)
        _index_add_rows(tmp, dim, idx, np.asarray(values).astype(np.float32))
        view[...] = tmp
        return
    target, rows = np.moveaxis(view, dim, 0), np.moveaxis(np.broadcast_to(values, values.shape), dim, 0)
    if rows[0].size >= _ROW_BY_ROW_MIN and dim == view.ndim - 1 and view.dtype.kind == "f" \
            and idx.size * target.shape[0] <= _SELECTION_GEMM_MAX:
        # rows along the last dim are strided (one element of each of many rows): a row-by-row add walks memory
        # with a stride per element. Summed instead as one GEMM with the one-hot selection matrix (idx.size x
        # targets): interpolate's backward, 16x32x64x64 -> 64x32, 6.2 -> 1.1 ms. Exact products (x * 1, x * 0);
        # BLAS may sum a target's three or more rows in another order than the index's (one thread: repeatable).
        select = np.zeros((idx.size, target.shape[0]), view.dtype)
        select[np.arange(idx.size), idx] = 1
        with one_blas_thread():
            view += np.matmul(values, select)
        return
    if rows[0].size >= _ROW_BY_ROW_MIN:
        for k, i in enumerate(idx.tolist()):
            target[i] += rows[k]
        return
    if view.flags.c_contiguous and view.ndim:
        # one flat index into view's memory for every element (the rows in index order, each row's elements in
        # row-major order): np.add.at's fast loop, 2x faster than sorting and reduceat over the rows (100K rows
        # of 64 into 10K: 64 -> ~30 ms); every target still sums its rows in index order
        item = view.itemsize
        offsets = np.zeros((), np.intp)
        for k in range(view.ndim):
            if k != dim:
                offsets = np.add.outer(offsets, np.arange(view.shape[k], dtype=np.intp) * (view.strides[k] // item))
        pos = np.add.outer(idx.astype(np.intp) * (view.strides[dim] // item), offsets.reshape(-1))
        np.add.at(view.reshape(-1), pos.reshape(-1), np.ascontiguousarray(rows).reshape(-1))
        return
    if (idx[1:] >= idx[:-1]).all():   # already in order (bags of an EmbeddingBag, say): no sort, no gather
        sorted_idx, sorted_rows = idx, rows
    else:
        order = np.argsort(idx, kind="stable")   # (stable: duplicates keep their order: repeatable sums)
        sorted_idx, sorted_rows = idx[order], rows[order]
    starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
    target[sorted_idx[starts]] += np.add.reduceat(sorted_rows, starts, axis=0)


def _along_axis(idx: np.ndarray, dim: int) -> tuple:
    """The fancy index that puts idx[p] at coordinate `dim` and p's own coordinates elsewhere."""
    nd = idx.ndim
    return tuple(idx if k == dim else np.arange(n).reshape([-1 if j == k else 1 for j in range(nd)])
                 for k, n in enumerate(idx.shape))


def _ref_array(x) -> np.ndarray:
    """A float64 / int64 / bool copy of x for the references (wide enough to sum without wrapping)."""
    x = np.asarray(x)
    return np.array(x, dtype=np.float64 if x.dtype.kind == "f" else np.int64 if x.dtype.kind in "iu" else x.dtype)


def _prefix(shape, dim: int) -> tuple:
    """Slices that cut an array down to `shape` on every dim but `dim`."""
    return tuple(slice(None) if k == dim else slice(0, n) for k, n in enumerate(shape))


# --------------------------------------------------------------------------------- kernel conventions
# Strided kernels iterate over flat positions of an iteration of sizes (s0, s1, s2, s3) (from `_parts`); with
# RANK == 1 the position times the last stride is the offset, else the coordinates are unravelled. The index
# arithmetic is written out in each kernel: the interpreter re-patches triton.language on every nested
# @triton.jit call, which made small helper functions the largest cost of a launch there.


# ------------------------------------------------------------------------------------------ bounds checks

@triton.jit
def _minmax_kernel(idx_ptr,              # index tensor (int32/int64), any strides
                   part_ptr,             # int64 out: (min, max) per program, from this launch's first slot
                   n, s1, s2, s3,        # elements in this launch; sizes of iteration dims 1..3
                   t0, t1, t2, t3,       # index strides in elements
                   RANK: tl.constexpr, BLOCK: tl.constexpr):
    # bytes: reads n index values, writes 16 bytes per program
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    if RANK == 1:
        io = offs * t3
    else:
        i3 = offs % s3
        r = offs // s3
        i2 = r % s2
        r = r // s2
        io = (r // s1) * t0 + (r % s1) * t1 + i2 * t2 + i3 * t3
    v = tl.load(idx_ptr + io, mask=mask, other=0).to(tl.int64)
    lo = tl.min(tl.where(mask, v, 9223372036854775807), axis=0)
    hi = tl.max(tl.where(mask, v, -9223372036854775807), axis=0)
    tl.store(part_ptr + 2 * pid, lo)
    tl.store(part_ptr + 2 * pid + 1, hi)


@triton.jit
def _minmax_final_kernel(part_ptr,       # int64 (min, max) pairs written by _minmax_kernel
                         out_ptr,        # int64 out: (min, max) of all pairs
                         n_parts,        # number of pairs
                         BLOCK: tl.constexpr):
    # bytes: reads 16 * n_parts, writes 16
    lo = tl.full([BLOCK], 9223372036854775807, tl.int64)
    hi = tl.full([BLOCK], -9223372036854775807, tl.int64)
    for start in range(0, n_parts, BLOCK):
        j = start + tl.arange(0, BLOCK)
        m = j < n_parts
        lo = tl.minimum(lo, tl.load(part_ptr + 2 * j, mask=m, other=9223372036854775807))
        hi = tl.maximum(hi, tl.load(part_ptr + 2 * j + 1, mask=m, other=-9223372036854775807))
    tl.store(out_ptr, tl.min(lo, axis=0))
    tl.store(out_ptr + 1, tl.max(hi, axis=0))


def _index_ranges(tensors) -> list:
    """[(min, max) or None when empty] for each index tensor. cpu: NumPy. cuda: the min/max kernels write every
    tensor's pair into one buffer, read back once (the only host synchronisation of the bounds check)."""
    result = [None] * len(tensors)
    launches = []  # (slot in result, array, parts)
    n_parts = 0
    for i, t in enumerate(tensors):
        if t.numel() == 0 or t.device.type == "meta":   # (a meta index has no values to check)
            continue
        if t.device is CPU:
            a = t._data
            result[i] = (int(a.min()), int(a.max()))
            continue
        arr = t._data
        parts = []
        for sizes, (st,), (off,), rank in _parts(*_as_iter(arr)):
            nprog = launch.num_programs(_prod(sizes), _BLOCK)
            parts.append((sizes, st, off, rank, nprog, n_parts))
            n_parts += nprog
        launches.append((i, arr, parts))
    if not launches:
        return result
    part_buf = CudaArray.empty((2 * n_parts,), _I64)
    out = CudaArray.empty((2 * len(launches),), _I64)
    for j, (i, arr, parts) in enumerate(launches):
        first = parts[0][5]
        for sizes, st, off, rank, nprog, slot in parts:
            _minmax_kernel[(nprog,)](_shift(arr, off), _shift(part_buf, 2 * slot), _prod(sizes), sizes[1], sizes[2],
                                     sizes[3], *st, RANK=rank, BLOCK=_BLOCK)
        total = parts[-1][5] + parts[-1][4] - first
        _minmax_final_kernel[(1,)](_shift(part_buf, 2 * first), _shift(out, 2 * j), total, BLOCK=1024)
    host = out.to_numpy()  # the read-back: 2 int64 per index tensor
    for j, (i, _, _) in enumerate(launches):
        result[i] = (int(host[2 * j]), int(host[2 * j + 1]))
    return result


def _as_iter(arr: CudaArray):
    shape, st = _shape1(arr)
    return shape, [st]


def _first_out_of_range(rng, low: int, high: int):
    """The index value to report when (min, max) = rng leaves [low, high), else None."""
    if rng is None:
        return None
    lo, hi = rng
    if hi >= high:
        return hi
    if lo < low:
        return lo
    return None


# ----------------------------------------------------------------------------------------- gather kernel

@triton.jit
def _gather_kernel(out_ptr, src_ptr, idx_ptr,   # output, source, index (each strided over the iteration)
                   n, s1, s2, s3,               # elements in this launch; sizes of iteration dims 1..3
                   o0, o1, o2, o3,              # output strides
                   a0, a1, a2, a3,              # source strides (0 on the indexed dim)
                   t0, t1, t2, t3,              # index strides (0 where the index is broadcast)
                   dim_size,                    # size of the indexed dim (negative indices wrap by it when WRAP)
                   dim_stride,                  # source stride of the indexed dim
                   WRAP: tl.constexpr, RANK: tl.constexpr, BLOCK: tl.constexpr):
    # bytes: reads n indices and n source elements (random access), writes n output elements
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    if RANK == 1:
        oo = offs * o3
        so = offs * a3
        io = offs * t3
    else:
        i3 = offs % s3
        r = offs // s3
        i2 = r % s2
        r = r // s2
        i1 = r % s1
        i0 = r // s1
        oo = i0 * o0 + i1 * o1 + i2 * o2 + i3 * o3
        so = i0 * a0 + i1 * a1 + i2 * a2 + i3 * a3
        io = i0 * t0 + i1 * t1 + i2 * t2 + i3 * t3
    idx = tl.load(idx_ptr + io, mask=mask, other=0).to(tl.int64)
    if WRAP:
        idx = tl.where(idx < 0, idx + dim_size, idx)
    v = tl.load(src_ptr + so + idx * dim_stride, mask=mask)
    tl.store(out_ptr + oo, v, mask=mask)


def _launch_gather(out, src, idx, shape, out_st, src_st, idx_st, dim_size, dim_stride, wrap=False) -> None:
    """out[p] = src[src_off(p) + idx[p] * dim_stride] for every p of the iteration `shape`."""
    if _prod(shape) == 0:
        return
    out, src, idx = pw.kernel_view(out), pw.kernel_view(src), pw.kernel_view(idx)
    for sizes, (os_, as_, ts_), (oo, ao, to), rank in _parts(shape, [out_st, src_st, idx_st]):
        n = _prod(sizes)
        _gather_kernel[(launch.num_programs(n, _BLOCK),)](
            _shift(out, oo), _shift(src, ao), _shift(idx, to), n, sizes[1], sizes[2], sizes[3],
            *os_, *as_, *ts_, dim_size, dim_stride, WRAP=wrap, RANK=rank, BLOCK=_BLOCK)


# ---------------------------------------------------------------------------------------- scatter kernels

@triton.jit
def _scatter_kernel(dst_ptr, src_ptr, idx_ptr,  # destination, source (pointer or scalar), index
                    n, s1, s2, s3,              # elements in this launch; sizes of iteration dims 1..3
                    d0, d1, d2, d3,             # destination strides (0 on the indexed dim)
                    a0, a1, a2, a3,             # source strides
                    t0, t1, t2, t3,             # index strides
                    dim_size,                   # size of the indexed dim (negative indices wrap by it when WRAP)
                    dim_stride,                 # destination stride of the indexed dim
                    alpha,                      # multiplier of the source (ALPHA_KIND != 0)
                    SRC_KIND: tl.constexpr,     # 1: src_ptr is a pointer; 2: a scalar; 3: fp64 scalar bits
                    ALPHA_KIND: tl.constexpr,   # 0: no alpha; 2: scalar; 3: fp64 bits
                    ACCUMULATE: tl.constexpr,   # atomic add instead of store
                    WRAP: tl.constexpr, COMPUTE: tl.constexpr, RANK: tl.constexpr, BLOCK: tl.constexpr):
    # bytes: reads n indices and n source elements, writes (or atomically adds) n destination elements
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    if RANK == 1:
        do = offs * d3
        so = offs * a3
        io = offs * t3
    else:
        i3 = offs % s3
        r = offs // s3
        i2 = r % s2
        r = r // s2
        i1 = r % s1
        i0 = r // s1
        do = i0 * d0 + i1 * d1 + i2 * d2 + i3 * d3
        so = i0 * a0 + i1 * a1 + i2 * a2 + i3 * a3
        io = i0 * t0 + i1 * t1 + i2 * t2 + i3 * t3
    idx = tl.load(idx_ptr + io, mask=mask, other=0).to(tl.int64)
    if WRAP:
        idx = tl.where(idx < 0, idx + dim_size, idx)
    if SRC_KIND == 1:
        v = tl.load(src_ptr + so, mask=mask, other=0).to(COMPUTE)
    elif SRC_KIND == 3:
        v = tl.full([BLOCK], 0, COMPUTE) + src_ptr.to(tl.int64).to(tl.float64, bitcast=True).to(COMPUTE)
    else:
        v = tl.full([BLOCK], 0, COMPUTE) + tl.cast(src_ptr, COMPUTE)
    if ALPHA_KIND == 3:
        v = v * alpha.to(tl.int64).to(tl.float64, bitcast=True).to(COMPUTE)
    elif ALPHA_KIND == 2:
        v = v * tl.cast(alpha, COMPUTE)
    ptrs = dst_ptr + do + idx * dim_stride
    if ACCUMULATE:
        tl.atomic_add(ptrs, v.to(dst_ptr.dtype.element_ty), mask=mask)
    else:
        tl.store(ptrs, v.to(dst_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _scatter_rows_kernel(dst_ptr, src_ptr, idx_ptr,   # destination, source (pointer or scalar), index
                         n_rows, s1, s2, s3,          # rows in this launch; sizes of row dims 1..3
                         d0, d1, d2, d3,              # destination strides of the row dims
                         a0, a1, a2, a3,              # source strides of the row dims
                         t0, t1, t2, t3,              # index strides of the row dims
                         k_len,                       # positions per row (the index's size along dim)
                         dst_dim_stride, src_dim_stride, idx_dim_stride,  # strides along dim
                         SRC_KIND: tl.constexpr,      # 1: pointer; 2: scalar; 3: fp64 scalar bits
                         COMPUTE: tl.constexpr, RANK: tl.constexpr, BLOCK: tl.constexpr):
    # bytes: reads k_len indices and source elements per row, reads and writes k_len destination elements per row.
    # Each lane owns one row and walks it in order, so the multiply-reduce is race-free and deterministic.
    rows = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = rows < n_rows
    if RANK == 1:
        dst_row = dst_ptr + rows * d3
        src_off = rows * a3
        idx_row = idx_ptr + rows * t3
    else:
        i3 = rows % s3
        r = rows // s3
        i2 = r % s2
        r = r // s2
        i1 = r % s1
        i0 = r // s1
        dst_row = dst_ptr + (i0 * d0 + i1 * d1 + i2 * d2 + i3 * d3)
        src_off = i0 * a0 + i1 * a1 + i2 * a2 + i3 * a3
        idx_row = idx_ptr + (i0 * t0 + i1 * t1 + i2 * t2 + i3 * t3)
    if SRC_KIND == 3:
        scalar = src_ptr.to(tl.int64).to(tl.float64, bitcast=True).to(COMPUTE)
    elif SRC_KIND == 2:
        scalar = tl.cast(src_ptr, COMPUTE)
    else:
        scalar = tl.cast(1, COMPUTE)
    for k in range(0, k_len):
        idx = tl.load(idx_row + k * idx_dim_stride, mask=mask, other=0).to(tl.int64)
        if SRC_KIND == 1:
            v = tl.load(src_ptr + src_off + k * src_dim_stride, mask=mask, other=1).to(COMPUTE)
        else:
            v = tl.full([BLOCK], 0, COMPUTE) + scalar
        p = dst_row + idx * dst_dim_stride
        cur = tl.load(p, mask=mask, other=1).to(COMPUTE)
        tl.store(p, (cur * v).to(dst_ptr.dtype.element_ty), mask=mask)


def _src_operand(src, dtype: _dt.dtype, ndim: int):
    """(kernel argument, kind, strides) of a scatter source: a cuda array with its strides, or a scalar."""
    if isinstance(src, tuple):  # (array, strides)
        return pw.kernel_view(src[0]), 1, src[1]
    v, kind = _scalar_param(src, dtype)
    return v, kind, (0,) * ndim


def _launch_scatter(dst, src, idx, shape, dst_st, idx_st, dim_size, dim_stride, dtype, accumulate,
                    alpha=None, wrap=False) -> None:
    """dst[dst_off(p) + idx[p] * dim_stride] (+)= alpha * src[p] over the iteration `shape`.

    src is (cuda array, strides over the iteration) or a Python scalar; dtype is dst's (compute) dtype."""
    if _prod(shape) == 0:
        return
    if accumulate and dtype.kind == _dt.FLOAT:  # (float atomics: the order of the adds varies between runs;
        # every caller takes its sorted path in deterministic mode, so this guards callers added later)
        _settings.alert_not_deterministic("scatter_add/index_add/index_put(accumulate=True) on cuda")
    src_arg, src_kind, src_st = _src_operand(src, dtype, len(shape))
    if alpha is None:
        alpha_arg, alpha_kind = 0, 0
    else:
        alpha_arg, alpha_kind = _scalar_param(alpha, dtype)
    dst, idx = pw.kernel_view(dst), pw.kernel_view(idx)
    for sizes, (ds, ss, ts), (do, so, to), rank in _parts(shape, [dst_st, src_st, idx_st]):
        n = _prod(sizes)
        _scatter_kernel[(launch.num_programs(n, _BLOCK),)](
            _shift(dst, do), _shift(src_arg, so) if src_kind == 1 else src_arg, _shift(idx, to),
            n, sizes[1], sizes[2], sizes[3], *ds, *ss, *ts, dim_size, dim_stride, alpha_arg,
            SRC_KIND=src_kind, ALPHA_KIND=alpha_kind, ACCUMULATE=accumulate, WRAP=wrap,
            COMPUTE=_tl_compute(dtype), RANK=rank, BLOCK=_BLOCK)


def _launch_scatter_rows(dst, src, idx, idx_shape, idx_st, dim, dtype) -> None:
    """dst[..., idx[p], ...] *= src[p], one program lane per row (all positions that differ only along dim)."""
    if _prod(idx_shape) == 0:
        return
    src_arg, src_kind, src_st = _src_operand(src, dtype, len(idx_shape))
    _, dst_st = _shape1(dst)
    row_shape = tuple(1 if k == dim else s for k, s in enumerate(idx_shape))
    drop = lambda st: tuple(0 if k == dim else s for k, s in enumerate(st))  # noqa: E731
    dst_k, idx_k = pw.kernel_view(dst), pw.kernel_view(idx)
    block = 128
    for sizes, (ds, ss, ts), (do, so, to), rank in _parts(row_shape, [drop(dst_st), drop(src_st), drop(idx_st)]):
        n = _prod(sizes)
        _scatter_rows_kernel[(launch.num_programs(n, block),)](
            _shift(dst_k, do), _shift(src_arg, so) if src_kind == 1 else src_arg, _shift(idx_k, to),
            n, sizes[1], sizes[2], sizes[3], *ds, *ss, *ts, idx_shape[dim], dst_st[dim], src_st[dim], idx_st[dim],
            SRC_KIND=src_kind, COMPUTE=_tl_compute(dtype), RANK=rank, BLOCK=block)


def _position_offsets(shape, strides, device, replace_dim=None, replacement=None) -> Tensor:
    """For every position p of the iteration `shape` (C order), sum_k coord_k(p) * strides[k] as int64, with the
    coordinate along replace_dim taken from `replacement` (a flat int64 tensor over the same positions)."""
    from .creation import arange
    pos = arange(_prod(shape), device=device)
    total, inner = None, 1
    for k in range(len(shape) - 1, -1, -1):
        coord = replacement if k == replace_dim else (pos // inner) % shape[k]
        term = coord * strides[k]
        total = term if total is None else total + term
        inner *= shape[k]
    return total if total is not None else pos * 0


def _sorted_add_at(arr: CudaArray, dt: _dt.dtype, device, offsets: Tensor, vals: Tensor) -> None:
    """arr's element at storage offset offsets[i] (from arr.offset) += vals[i], without atomics: the values are
    summed per target by embedding's backward (a stable sort of the offsets, then one in-order sum each), so the
    result is bitwise repeatable (use_deterministic_algorithms)."""
    from .binary import add as _add
    from .nn_embedding import embedding_backward_op
    span = max(arr.span()[1] - arr.offset, 1)
    n = offsets.numel()
    sums = embedding_backward_op(vals.reshape(n, 1).to(dt), offsets.reshape(-1), num_weights=span)._data
    shape, strides = _shape1(arr)
    t = _make(arr.view_as(shape, strides, arr.offset), dt, device)
    _add(t, _make(sums.view_as(shape, strides, sums.offset), dt, device), out=t)


def _deterministic_mode(dt) -> bool:
    return dt.kind == _dt.FLOAT and _settings.are_deterministic_algorithms_enabled()   # (integer atomics are exact)


def _deterministic_add_along(target: CudaArray, dim: int, shape, idx: CudaArray, idx_st, src, device,
                             alpha=None) -> None:
    """_scatter_along's 'add' without atomics: target offsets of the positions, then `_sorted_add_at`."""
    from .creation import full
    tdt = _dt.from_numpy_dtype(target.dtype)
    tshape, tstrides = _shape1(target)
    with _no_record():
        if isinstance(src, tuple):
            vals = _make(src[0].view_as(shape, src[1], src[0].offset), tdt, device)
        else:
            vals = full(tuple(shape), src, dtype=tdt, device=device)
        if alpha is not None:
            vals = vals * alpha
        index = _make(idx.view_as(shape, idx_st, idx.offset), _dt.from_numpy_dtype(idx.dtype), device)
        index = index.reshape(-1).long()
        index = index + (index < 0).long() * tshape[dim]        # (PyTorch's negative indices)
        _sorted_add_at(target, tdt, device, _position_offsets(shape, tstrides, device, dim, index), vals)


def _scatter_along(target: CudaArray, dim: int, shape, idx: CudaArray, idx_st, src, device, mode: str,
                   alpha=None) -> None:
    """target[..., idx[p], ...] (op)= src[p] for every p of the iteration `shape`, idx giving the coordinate
    along `dim` (mode: 'store', 'add' or 'multiply'). src is (array, strides) or a Python scalar."""
    if mode == "multiply":
        _launch_scatter_rows(target, src, idx, shape, idx_st, dim, _dt.from_numpy_dtype(target.dtype))
        return

    def run(arr, dtype):
        ashape, ast = _shape1(arr)
        dst_st = tuple(0 if k == dim else s for k, s in enumerate(ast))
        _launch_scatter(arr, src, idx, shape, dst_st, idx_st, ashape[dim], ast[dim], dtype, mode == "add", alpha)

    if mode == "add" and _deterministic_mode(_dt.from_numpy_dtype(target.dtype)):
        _deterministic_add_along(target, dim, shape, idx, idx_st, src, device, alpha)
        return
    if mode == "add":
        _with_accumulator(target, device, run)
    else:
        run(target, _dt.from_numpy_dtype(target.dtype))


# ------------------------------------------------------------------------------------------------ gather

def _gather_infer(input, dim, index, *, sparse_grad=False):
    if index.dtype not in _INDEX_DTYPES:
        raise RuntimeError("gather(): Expected dtype int32/int64 for index")
    dev = _same_device(input, index)
    d = wrap_dim(dim, input.ndim)
    if max(index.ndim, 1) != max(input.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    ishape, sshape = tuple(index.shape) or (1,), tuple(input.shape) or (1,)
    if index.numel():
        for k, n in enumerate(ishape):
            if k != d and n > sshape[k]:
                raise RuntimeError(f"Size does not match at dimension {k} expected index {list(index.shape)} to be "
                                   f"no larger than self {list(input.shape)} apart from dimension {d}")
        bad = _first_out_of_range(_index_ranges([index])[0], 0, sshape[d])
        if bad is not None:
            raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {sshape[d]}")
    return Meta(tuple(index.shape), input.dtype, dev, d)


def _gather_cpu(meta, input, dim, index, *, sparse_grad=False, out=None):
    d = meta.aux
    idx = _np1(index._data).astype(np.intp, copy=False)
    if idx.ndim == 1:   # (plain indexing: take_along_axis builds its index grids in Python, ~4 us a call)
        r = _np1(input._data)[idx].reshape(meta.shape)
    else:
        a = _np1(input._data)[_prefix(idx.shape, d)]
        r = np.take_along_axis(a, idx, axis=d).reshape(meta.shape)
    if out is not None:
        np.copyto(out, r, casting="unsafe")
        return out
    return r


def _gather_cuda(meta, input, dim, index, *, sparse_grad=False, out=None):
    d = meta.aux
    dst = out if out is not None else CudaArray.empty(meta.shape, input.dtype.np)
    shape, ist = _shape1(index._data)
    _, ost = _shape1(dst)
    sshape, sst = _shape1(input._data)
    src_st = tuple(0 if k == d else s for k, s in enumerate(sst))
    _launch_gather(dst, input._data, index._data, shape, ost, src_st, ist, sshape[d], sst[d])
    return dst


def _ref_gather(x, dim, index, sparse_grad=False):
    x = np.asarray(x)
    x1, i1 = x.reshape(x.shape or (1,)), index.reshape(index.shape or (1,))
    d = dim % max(x.ndim, 1)
    r = np.empty(i1.shape, np.float64 if x.dtype.kind == "f" else x.dtype)
    for p in np.ndindex(*i1.shape):
        q = list(p)
        q[d] = i1[p]
        r[p] = x1[tuple(q)]
    return r.reshape(index.shape)


def _idx(shape, high, device, rng, dtype=_dt.int64, noncontiguous=False, low=0):
    return make_tensor(shape, dtype, device, low=low, high=max(high, 1), rng=rng, noncontiguous=noncontiguous)


def _gather_samples(device, dtype):
    rng = rng_for("gather", dtype.name)
    x = lambda shape, **kw: make_tensor(shape, dtype, device, rng=rng, **kw)  # noqa: E731
    yield Sample((x((5,)), 0, _idx((7,), 5, device, rng)), name="1d-dups")
    yield Sample((x(()), 0, _idx((), 1, device, rng)), name="0d")
    yield Sample((x(()), 0, _idx((3,), 1, device, rng)), name="0d-input-1d-index")
    yield Sample((x((3, 0)), 1, _idx((3, 0), 1, device, rng)), name="empty")
    yield Sample((x((4, 5)), 0, _idx((0, 5), 4, device, rng)), name="empty-index")
    yield Sample((x((4, 2 ** 5 + 17)), 1, _idx((3, 9), 2 ** 5 + 17, device, rng, dtype=_dt.int32)),
                 name="int32-smaller")
    yield Sample((x((3, 4, 5)), -2, _idx((2, 6, 5), 4, device, rng)), name="neg-dim")
    yield Sample((x((5, 6), noncontiguous=True), 0, _idx((6, 4), 5, device, rng).t()), name="noncontig")


def _gather_bench_make(n, device, dtype):
    rng = rng_for("gather-bench", n)
    return (make_tensor((n // 64, 64), dtype, device, rng=rng), 1, _idx((n // 64, 64), 64, device, rng)), {}


gather_op = register(OpDef(
    name="gather", family=FAMILY, infer=_gather_infer, impl={"cpu": _gather_cpu, "cuda": _gather_cuda},
    ref=_ref_gather, samples=_gather_samples, supports_out=True,
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24), make=_gather_bench_make,
                    bytes=lambda n, dt: n * (2 * dt.itemsize + 8), flops=lambda n: 0),
    extra={"torch": lambda torch, x, dim, index, sparse_grad=False: torch.gather(x, dim, index)}))


def gather(input, dim, index, *, sparse_grad=False, out=None) -> Tensor:
    """out[i][j][k] = input[index[i][j][k]][j][k] (dim=0); index has input's number of dims, and is no larger
    than input on the other dims."""
    return gather_op(input, dim, index, out=out)


# ------------------------------------------------------------------------------------------------ scatter

def _scatter_check(name, input, dim, index, src, reduce):
    if not isinstance(src, (Tensor, bool, int, float)):
        raise TypeError(f"{name}(): src must be a Tensor or a number, not {type(src).__name__}")
    if index.dtype not in _INDEX_DTYPES:
        raise RuntimeError("scatter(): Expected dtype int32/int64 for index")
    if isinstance(src, Tensor) and src.dtype is not input.dtype:
        raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype")
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    dev = _same_device(input, index, src)
    d = wrap_dim(dim, input.ndim)
    if max(index.ndim, 1) != max(input.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if isinstance(src, Tensor) and max(src.ndim, 1) != max(index.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    if index.numel():
        ishape, sshape = tuple(index.shape) or (1,), tuple(input.shape) or (1,)
        bad_self = any(n > sshape[k] for k, n in enumerate(ishape) if k != d)
        if isinstance(src, Tensor):
            rshape = tuple(src.shape) or (1,)
            if bad_self or any(n > rshape[k] for k, n in enumerate(ishape)):
                raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self {list(input.shape)} "
                                   f"apart from dimension {d} and to be no larger size than src {list(src.shape)}")
        elif bad_self:
            raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self {list(input.shape)} "
                               f"apart from dimension {d}")
        bad = _first_out_of_range(_index_ranges([index])[0], 0, sshape[d])
        if bad is not None:
            raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {sshape[d]}")
    return Meta(tuple(input.shape), input.dtype, dev, d)


def _scatter_infer(input, dim, index, src, reduce=None):
    return _scatter_check("scatter", input, dim, index, src, reduce)


def _scatter_cpu(meta, input, dim, index, src, reduce=None, out=None):
    d = meta.aux
    res = _cpu_target(input, out)
    if index.numel() == 0:
        return res
    idx = _np1(index._data).astype(np.intp, copy=False)
    view = _np1(res)[_prefix(idx.shape, d)]
    key = _along_axis(idx, d)
    if isinstance(src, Tensor):
        s = _np1(src._data)[tuple(slice(0, n) for n in idx.shape)]
    else:
        s = np.asarray(_py_value(src, meta.dtype), dtype=res.dtype)
    if reduce is None:
        view[key] = s
    elif not _flat_at(np.add if reduce == "add" else np.multiply, res, key, s):
        _ufunc_at(np.add if reduce == "add" else np.multiply, view, key, s)
    return res


def _flat_at(ufunc, res: np.ndarray, key: tuple, values) -> bool:
    """ufunc.at(res, key, values) for a C-contiguous res (not fp16/bf16) and a key of index arrays that start at
    res's origin, through one flat index into res's memory: NumPy's ufunc.at has a fast loop for a single flat
    index and a slow one for a tuple of index arrays (scatter_add of 100K x 64 rows into 10K: 70 -> 25 ms).
    The elements are visited in the same (row-major) order. False where it does not apply."""
    if not res.flags.c_contiguous or res.dtype == np.float16 or res.dtype == _dt.bfloat16.np or res.ndim == 0:
        return False
    pos = None
    for k, st in zip(key, res.strides):
        term = np.asarray(k, np.intp) * (st // res.itemsize)
        pos = term if pos is None else pos + term
    ufunc.at(res.reshape(-1), pos.reshape(-1), np.broadcast_to(values, pos.shape).reshape(-1))
    return True


def _scatter_cuda(meta, input, dim, index, src, reduce=None, out=None):
    d = meta.aux
    target = _cuda_target(input, out)
    if index.numel() == 0:
        return target
    shape, ist = _shape1(index._data)
    source = (src._data, _shape1(src._data)[1]) if isinstance(src, Tensor) else src
    mode = {None: "store", "add": "add", "multiply": "multiply"}[reduce]
    _scatter_along(target, d, shape, index._data, ist, source, input.device, mode)
    return target


def _ref_scatter(x, dim, index, src, reduce=None):
    x = np.asarray(x)
    r = _ref_array(x.reshape(x.shape or (1,)))
    i1 = index.reshape(index.shape or (1,))
    d = dim % max(x.ndim, 1)
    s1 = np.asarray(src).reshape(np.shape(src) or (1,)) if isinstance(src, np.ndarray) else None
    for p in np.ndindex(*i1.shape):
        q = list(p)
        q[d] = i1[p]
        v = s1[p] if s1 is not None else src
        q = tuple(q)
        if reduce is None:
            r[q] = v
        elif reduce == "add":
            r[q] = r[q] + v
        else:
            r[q] = r[q] * v
    return r.reshape(x.shape)


def _perm_index(shape, dim, size, device, rng):
    """An index with no duplicates along `dim` (plain scatter writes are then deterministic)."""
    full = list(shape)
    full[dim] = size
    perm = np.argsort(rng.random(full), axis=dim)
    return from_array(np.ascontiguousarray(perm[tuple(slice(0, n) for n in shape)].astype(np.int64))).to(device)


def _value_for(dtype):
    return True if dtype is _dt.bool_ else (1.5 if dtype.kind == _dt.FLOAT else 3)


def _scatter_samples(device, dtype):
    rng = rng_for("scatter", dtype.name)
    x = lambda shape, **kw: make_tensor(shape, dtype, device, rng=rng, **kw)  # noqa: E731
    yield Sample((x((5,)), 0, _perm_index((3,), 0, 5, device, rng), x((4,))), name="1d")
    yield Sample((x((4, 2 ** 5 + 17)), 1, _perm_index((3, 9), 1, 2 ** 5 + 17, device, rng), x((4, 10))),
                 name="src-larger")
    yield Sample((x((3, 4, 5)), -3, _perm_index((2, 4, 5), 0, 3, device, rng), x((2, 4, 5))), name="neg-dim")
    yield Sample((x(()), 0, _idx((), 1, device, rng), x(())), name="0d")
    yield Sample((x((3, 4)), 0, _idx((0, 4), 3, device, rng), x((0, 4))), name="empty-index")
    yield Sample((x((4, 5)), 0, _perm_index((3, 5), 0, 4, device, rng), _value_for(dtype)), name="value")
    yield Sample((x((6, 5), noncontiguous=True), 1, _perm_index((6, 4), 1, 5, device, rng),
                  x((6, 4), noncontiguous=True)), name="noncontig")
    yield Sample((x((4, 3)), 0, _idx((6, 3), 4, device, rng), x((6, 3))), {"reduce": "add"}, name="add-dups",
                 reduction_size=6)
    yield Sample((x((4, 3)), 0, _idx((6, 3), 4, device, rng, dtype=_dt.int32), x((6, 3), low=-2, high=2)),
                 {"reduce": "multiply"}, name="multiply-dups")
    yield Sample((x((5,)), 0, _idx((7,), 5, device, rng), _value_for(dtype)), {"reduce": "add"}, name="add-value")


def _scatter_bench_make(n, device, dtype):
    rng = rng_for("scatter-bench", n)
    return (make_tensor((n // 64, 64), dtype, device, rng=rng), 1, _perm_index((n // 64, 64), 1, 64, device, rng),
            make_tensor((n // 64, 64), dtype, device, rng=rng)), {}


def _torch_src_prefix(torch, x, index, src):
    """For gradients: the part of src that a scatter reads (its leading index-shaped block). PyTorch's scatter and
    scatter_add backward return an index-shaped src gradient and fail ("returned an invalid gradient") for a src
    larger than index; tritorch gives src's shape with zeros past the block, which is what PyTorch computes for
    src[:index.shape]."""
    if not isinstance(src, torch.Tensor) or not torch.is_grad_enabled() or tuple(src.shape) == tuple(index.shape):
        return src
    if index.dim() == 0:  # a 0-d index with a 1-d src reads src[0]
        return src[:1]
    return src[tuple(slice(0, n) for n in index.shape)]


def _torch_scatter(torch, x, dim, index, src, reduce=None):
    src = _torch_src_prefix(torch, x, index, src)
    if reduce is None:
        return torch.scatter(x, dim, index, src)
    if torch.is_grad_enabled() and (x.requires_grad or getattr(src, "requires_grad", False)):
        # PyTorch has no derivative for scatter(reduce=...) ("derivative for aten::scatter is not implemented");
        # the gradient oracle is the same function through the ops that have one: scatter_add, and
        # scatter_reduce('prod') with include_self (tritorch's rule follows its backward).
        if not isinstance(src, torch.Tensor):
            src = torch.full(tuple(index.shape), src, dtype=x.dtype)
        if reduce == "add":
            return torch.scatter_add(x, dim, index, src)
        return torch.scatter_reduce(x, dim, index, src, "prod")
    import warnings
    with warnings.catch_warnings():  # PyTorch deprecates reduce= with a tensor src (still supported)
        warnings.simplefilter("ignore")
        return torch.scatter(x, dim, index, src, reduce=reduce)


scatter_op = register(OpDef(
    name="scatter", family=FAMILY, infer=_scatter_infer, impl={"cpu": _scatter_cpu, "cuda": _scatter_cuda},
    ref=_ref_scatter, samples=_scatter_samples, supports_out=True,
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24), make=_scatter_bench_make,
                    bytes=lambda n, dt: n * (3 * dt.itemsize + 8), flops=lambda n: 0),
    extra={"torch": _torch_scatter}))


def scatter(input, dim, index, src=None, value=None, *, reduce=None, out=None) -> Tensor:
    """Out-of-place scatter: a copy of input with input[index[i][j]][j] = src[i][j] (dim=0); `src` may be a
    number (or pass `value=`); reduce='add' or 'multiply' combines instead of overwriting."""
    if src is None:
        if value is None:
            raise TypeError("scatter() missing required argument 'src' (or 'value')")
        src = value
    return scatter_op(input, dim, index, src, reduce=reduce, out=out)


def _scatter_add_infer(input, dim, index, src):
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): argument 'src' must be Tensor, not {type(src).__name__}")
    return _scatter_check("scatter", input, dim, index, src, None)


def _scatter_add_cpu(meta, input, dim, index, src, out=None):
    return _scatter_cpu(meta, input, dim, index, src, "add", out=out)


def _scatter_add_cuda(meta, input, dim, index, src, out=None):
    return _scatter_cuda(meta, input, dim, index, src, "add", out=out)


def _scatter_add_samples(device, dtype):
    rng = rng_for("scatter_add", dtype.name)
    x = lambda shape, **kw: make_tensor(shape, dtype, device, rng=rng, **kw)  # noqa: E731
    yield Sample((x((5,)), 0, _idx((9,), 5, device, rng), x((9,))), name="1d-dups", reduction_size=9)
    yield Sample((x(()), 0, _idx((), 1, device, rng), x(())), name="0d")
    yield Sample((x(()), 0, _idx((3,), 1, device, rng), x((3,))), name="0d-input-1d-index", reduction_size=3)
    yield Sample((x((3, 4)), 1, _idx((3, 0), 4, device, rng), x((3, 0))), name="empty-index")
    yield Sample((x((2 ** 5 + 17, 3)), 0, _idx((40, 3), 2 ** 5 + 17, device, rng, dtype=_dt.int32), x((41, 3))),
                 name="int32-src-larger", reduction_size=8)
    yield Sample((x((3, 4, 5)), -1, _idx((3, 2, 7), 5, device, rng), x((3, 2, 7))), name="neg-dim", reduction_size=7)
    yield Sample((x((5, 6), noncontiguous=True), 0, _idx((6, 5), 5, device, rng).t(), x((7, 6)).t()),
                 name="noncontig", reduction_size=5)


def _scatter_add_bench_make(n, device, dtype):
    rng = rng_for("scatter_add-bench", n)
    return (make_tensor((n // 64, 64), dtype, device, rng=rng), 1, _idx((n // 64, 64), 64, device, rng),
            make_tensor((n // 64, 64), dtype, device, rng=rng)), {}


scatter_add_op = register(OpDef(
    name="scatter_add", family=FAMILY, infer=_scatter_add_infer,
    impl={"cpu": _scatter_add_cpu, "cuda": _scatter_add_cuda},
    ref=lambda x, dim, index, src: _ref_scatter(x, dim, index, src, "add"), samples=_scatter_add_samples,
    supports_out=True,
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24), make=_scatter_add_bench_make,
                    bytes=lambda n, dt: n * (3 * dt.itemsize + 8), flops=lambda n: n),
    extra={"torch": lambda torch, x, dim, index, src: torch.scatter_add(x, dim, index,
                                                                        _torch_src_prefix(torch, x, index, src))}))


def scatter_add(input, dim, index, src, *, out=None) -> Tensor:
    """A copy of input with input[index[i][j]][j] += src[i][j] (dim=0); duplicates accumulate (on cuda with
    atomics: float sums in unspecified order)."""
    return scatter_add_op(input, dim, index, src, out=out)


# ------------------------------------------------------------------------------------------- index_select

def _index_select_infer(input, dim, index):
    if index.dtype not in _INDEX_DTYPES:
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    dev = _same_device(input, index)
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    d = wrap_dim(dim, input.ndim)
    n = index.numel()
    if input.ndim == 0:
        if n != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {n} value(s)")
        shape, size = (), 1
    else:
        shape, size = tuple(input.shape[:d]) + (n,) + tuple(input.shape[d + 1:]), input.shape[d]
    if _first_out_of_range(_index_ranges([index])[0], 0, size) is not None:
        raise IndexError("index out of range in self")
    return Meta(shape, input.dtype, dev, d)


def _index_select_cpu(meta, input, dim, index, out=None):
    r = np.take(_np1(input._data), index._data.reshape(-1).astype(np.intp, copy=False), axis=meta.aux)
    r = r.reshape(meta.shape)
    if out is not None:
        np.copyto(out, r, casting="unsafe")
        return out
    return r


def _index_select_cuda(meta, input, dim, index, out=None):
    d = meta.aux
    dst = out if out is not None else CudaArray.empty(meta.shape, input.dtype.np)
    sshape, sst = _shape1(input._data)
    shape = sshape[:d] + (index.numel(),) + sshape[d + 1:]
    ost = _shape1(dst)[1] if dst.shape else (0,) * len(shape)
    src_st = tuple(0 if k == d else s for k, s in enumerate(sst))
    i_st = index._data.strides[0] if index.ndim else 0
    idx_st = tuple(i_st if k == d else 0 for k in range(len(shape)))
    _launch_gather(dst, input._data, index._data, shape, ost, src_st, idx_st, sshape[d], sst[d])
    return dst


def _ref_index_select(x, dim, index):
    x = np.asarray(x)
    x1 = x.reshape(x.shape or (1,))
    d = dim % max(x.ndim, 1)
    rows = [np.take(x1, int(i), axis=d) for i in np.asarray(index).reshape(-1)]
    r = np.stack(rows, axis=d) if rows else np.empty(x1.shape[:d] + (0,) + x1.shape[d + 1:], x1.dtype)
    return r.reshape(()) if x.ndim == 0 else r


def _index_select_samples(device, dtype):
    rng = rng_for("index_select", dtype.name)
    x = lambda shape, **kw: make_tensor(shape, dtype, device, rng=rng, **kw)  # noqa: E731
    yield Sample((x((5,)), 0, _idx((8,), 5, device, rng)), name="1d-dups")
    yield Sample((x(()), 0, _idx((1,), 1, device, rng)), name="0d")
    yield Sample((x(()), -1, _idx((), 1, device, rng)), name="0d-0d-index")
    yield Sample((x((3, 0)), 0, _idx((2,), 3, device, rng)), name="empty")
    yield Sample((x((3, 4)), 1, _idx((0,), 4, device, rng)), name="empty-index")
    yield Sample((x((4, 2 ** 5 + 17)), -1, _idx((9,), 2 ** 5 + 17, device, rng, dtype=_dt.int32)), name="int32-neg-dim")
    yield Sample((x((2, 3, 4)), 1, _idx((5,), 3, device, rng, noncontiguous=True)), name="3d-noncontig-index")
    yield Sample((x((6, 5)).t(), 0, _idx((3,), 5, device, rng)), name="transposed")


index_select_op = register(OpDef(
    name="index_select", family=FAMILY, infer=_index_select_infer,
    impl={"cpu": _index_select_cpu, "cuda": _index_select_cuda}, ref=_ref_index_select,
    samples=_index_select_samples, supports_out=True,
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24),
                    make=lambda n, device, dtype: ((make_tensor((n // 256, 256), dtype, device, rng=rng_for("is", n)),
                                                    0, _idx((n // 256,), n // 256, device, rng_for("is-i", n))), {}),
                    bytes=lambda n, dt: 2 * n * dt.itemsize + n // 256 * 8, flops=lambda n: 0),
    extra={"torch": lambda torch, x, dim, index: torch.index_select(x, dim, index)}))


def index_select(input, dim, index, *, out=None) -> Tensor:
    """The slices of input along `dim` at the positions in the 1-D `index` (repeats allowed)."""
    return index_select_op(input, dim, index, out=out)


# ---------------------------------------------------------------------------------------------- index_add

def _index_add_infer(input, dim, index, source, *, alpha=1):
    if index.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: {_type_name(index.dtype)}")
    dev = _same_device(input, index, source)
    if index.ndim > 1:
        raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: {index.ndim} with type: "
                         f"{_type_name(index.dtype)} and size: {list(index.shape)}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"index_add_(): self ({_type_name(input.dtype)}) and source ({_type_name(source.dtype)}) "
                           f"must have the same scalar type")
    d = wrap_dim(dim, input.ndim)
    n = index.numel()
    sa, sb = tuple(input.shape) or (1,), tuple(source.shape) or (1,)
    src_n = sb[d] if d < len(sb) else 1
    if n != src_n:
        raise RuntimeError(f"index_add_(): Number of indices ({n}) should be equal to source.size(dim): ({src_n}), "
                           f"for dim: {d}")
    if len(sa) != len(sb) or any(sa[k] != sb[k] for k in range(len(sa)) if k != d) or \
            (input.ndim == 0 and sb[d] != 1):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the specified dimension. "
                           f"Got self.shape = {list(input.shape)} source.shape = {list(source.shape)}")
    if _first_out_of_range(_index_ranges([index])[0], 0, sa[d]) is not None:
        raise IndexError("index out of range in self")
    return Meta(tuple(input.shape), input.dtype, dev, d)


def _alpha_or_none(alpha, dtype):
    if dtype is _dt.bool_:
        return None
    a = _py_value(alpha, dtype)
    return None if a == 1 else a


def _index_add_cpu(meta, input, dim, index, source, *, alpha=1, out=None):
    res = _cpu_target(input, out)
    if index.numel() == 0:
        return res
    s = _np1(source._data)
    a = _alpha_or_none(alpha, meta.dtype)
    if a is not None:
        s = (s * np.asarray(a, dtype=s.dtype)).astype(s.dtype, copy=False)
    _index_add_rows(_np1(res), meta.aux, index._data.reshape(-1).astype(np.intp, copy=False), s)
    return res


def _index_add_cuda(meta, input, dim, index, source, *, alpha=1, out=None):
    d = meta.aux
    target = _cuda_target(input, out)
    if index.numel() == 0:
        return target
    shape, sst = _shape1(source._data)
    i_st = index._data.strides[0] if index.ndim else 0
    idx_st = tuple(i_st if k == d else 0 for k in range(len(shape)))
    _scatter_along(target, d, shape, index._data, idx_st, (source._data, sst), input.device, "add",
                   _alpha_or_none(alpha, meta.dtype))
    return target


def _ref_index_add(x, dim, index, source, alpha=1):
    x = np.asarray(x)
    r = _ref_array(x.reshape(x.shape or (1,)))
    s = np.asarray(source).reshape(np.shape(source) or (1,))
    d = dim % max(x.ndim, 1)
    for k, i in enumerate(np.asarray(index).reshape(-1)):
        sl = (slice(None),) * d + (int(i),)
        term = np.take(s, k, axis=d)
        r[sl] = r[sl] + (term if x.dtype == np.bool_ else term * alpha)
    return r.reshape(x.shape)


def _index_add_samples(device, dtype):
    rng = rng_for("index_add", dtype.name)
    x = lambda shape, **kw: make_tensor(shape, dtype, device, rng=rng, **kw)  # noqa: E731
    alpha = 2 if dtype.kind == _dt.INT else (0.5 if dtype.kind == _dt.FLOAT else True)
    yield Sample((x((5,)), 0, _idx((8,), 5, device, rng), x((8,))), name="1d-dups", reduction_size=8)
    yield Sample((x(()), 0, _idx((), 1, device, rng), x(())), name="0d")
    yield Sample((x((3, 4)), 1, _idx((0,), 4, device, rng), x((3, 0))), name="empty-index")
    yield Sample((x((2 ** 5 + 17, 3)), 0, _idx((40,), 2 ** 5 + 17, device, rng, dtype=_dt.int32), x((40, 3))),
                 {"alpha": alpha}, name="int32-alpha", reduction_size=8)
    yield Sample((x((3, 4, 5)), -2, _idx((6,), 4, device, rng), x((3, 6, 5))), name="neg-dim", reduction_size=6)
    yield Sample((x((5, 6), noncontiguous=True), 1, _idx((5,), 6, device, rng, noncontiguous=True),
                  x((5, 5), noncontiguous=True)), name="noncontig", reduction_size=5)


def _index_add_bench_make(n, device, dtype):
    rng = rng_for("index_add-bench", n)
    return (make_tensor((n // 256, 256), dtype, device, rng=rng), 0, _idx((n // 256,), n // 256, device, rng),
            make_tensor((n // 256, 256), dtype, device, rng=rng)), {}


index_add_op = register(OpDef(
    name="index_add", family=FAMILY, infer=_index_add_infer, impl={"cpu": _index_add_cpu, "cuda": _index_add_cuda},
    ref=_ref_index_add, samples=_index_add_samples, supports_out=True,
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24),
                    make=_index_add_bench_make,
                    bytes=lambda n, dt: 4 * n * dt.itemsize, flops=lambda n: n),
    extra={"torch": lambda torch, x, dim, index, source, alpha=1: torch.index_add(x, dim, index, source, alpha=alpha)}))


def index_add(input, dim, index, source, *, alpha=1, out=None) -> Tensor:
    """A copy of input with input[..., index[k], ...] += alpha * source[..., k, ...] along `dim`."""
    return index_add_op(input, dim, index, source, alpha=alpha, out=out)


# -------------------------------------------------------------------------------------- masked_fill

_MASK_DTYPE_NAMES = {_dt.float32: "float", _dt.float64: "double", _dt.float16: "c10::Half",
                     _dt.bfloat16: "c10::BFloat16", _dt.int8: "signed char", _dt.int16: "short int", _dt.int32: "int",
                     _dt.int64: "long int", _dt.uint8: "unsigned char"}


@triton.jit
def _masked_fill_fn(x, mask, value, p0, p1):
    return tl.where(mask != 0, value, x)


def _masked_fill_infer(input, mask, value):
    if mask.dtype is not _dt.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_MASK_DTYPE_NAMES[mask.dtype]}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        if value.device is not input.device and value.device is not CPU:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                               f"{input.device} and {value.device}!")
    elif not isinstance(value, (bool, int, float)):
        raise TypeError(f"masked_fill(): argument 'value' must be Number or Tensor, not {type(value).__name__}")
    dev = _same_device(input, mask)
    return Meta(broadcast_shapes(tuple(input.shape), tuple(mask.shape)), input.dtype, dev, None)


def _masked_fill_cpu(meta, input, mask, value, out=None):
    v = np.asarray(_py_value(value, meta.dtype), dtype=meta.dtype.np)
    if out is None:
        return np.where(mask._data, v, input._data)
    if out is not input._data:
        np.copyto(out, np.broadcast_to(input._data, out.shape), casting="unsafe")
    np.copyto(out, v, casting="unsafe", where=np.broadcast_to(mask._data, out.shape))
    return out


def _masked_fill_cuda(meta, input, mask, value, out=None):
    if isinstance(value, Tensor) and value.device is not CPU:
        v = value  # read on the device (broadcast with stride 0)
    else:
        v = _py_value(value, meta.dtype)
    return pw.launch_pointwise(_masked_fill_fn, [input, mask, v], meta.shape, meta.dtype, meta.dtype, out)


def _ref_masked_fill(x, mask, value):
    r = _ref_array(np.broadcast_to(x, np.broadcast_shapes(np.shape(x), np.shape(mask))))
    v = np.asarray(value).item() if isinstance(value, np.ndarray) else value
    if np.asarray(x).dtype.kind in "iu":
        v = int(v)
    r[np.broadcast_to(mask, r.shape)] = v
    return r


def _masked_fill_samples(device, dtype):
    rng = rng_for("masked_fill", dtype.name)
    x = lambda shape, **kw: make_tensor(shape, dtype, device, rng=rng, **kw)  # noqa: E731
    m = lambda shape, **kw: make_tensor(shape, _dt.bool_, device, rng=rng, **kw)  # noqa: E731
    val = _value_for(dtype)
    yield Sample((x((5,)), m((5,)), val), name="1d")
    yield Sample((x(()), m(()), val), name="0d")
    yield Sample((x((0, 3)), m((3,)), val), name="empty")
    yield Sample((x((4, 2 ** 5 + 17)), m((2 ** 5 + 17,)), val), name="mask-broadcast")
    yield Sample((x((4, 1)), m((3, 1, 5)), val), name="both-broadcast")
    yield Sample((x((5, 6), noncontiguous=True), m((6, 5)).t(), make_tensor((), dtype, device, rng=rng)),
                 name="noncontig-tensor-value")
    if dtype.kind == _dt.INT and dtype is not _dt.uint8:
        yield Sample((x((6,)), m((6,)), -2.7), name="float-value-truncates")


masked_fill_op = register(OpDef(
    name="masked_fill", family=FAMILY, infer=_masked_fill_infer,
    impl={"cpu": _masked_fill_cpu, "cuda": _masked_fill_cuda}, ref=_ref_masked_fill, samples=_masked_fill_samples,
    supports_out=True,
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24),
                    make=lambda n, device, dtype: ((make_tensor((n,), dtype, device, rng=rng_for("mf", n)),
                                                    make_tensor((n,), _dt.bool_, device, rng=rng_for("mf-m", n)),
                                                    _value_for(dtype)), {}),
                    bytes=lambda n, dt: n * (2 * dt.itemsize + 1), flops=lambda n: 0),
    extra={"torch": lambda torch, x, mask, value: torch.masked_fill(x, mask, value)}))


def masked_fill(input, mask, value) -> Tensor:
    """input with `value` where the boolean `mask` (broadcast) is True."""
    return masked_fill_op(input, mask, value)


def _masked_fill_(self, mask, value) -> Tensor:
    return masked_fill_op(self, mask, value, out=self)


# ----------------------------------------------------------------------- compaction (masked_select, nonzero)

@triton.jit
def _count_kernel(m_ptr,                 # the tested tensor (mask or nonzero's input), any strides
                  counts_ptr,            # int64 out: selected elements per program
                  n, s1, s2, s3,         # elements in this launch; sizes of iteration dims 1..3
                  b0, b1, b2, b3,        # strides of the tested tensor
                  COMPUTE: tl.constexpr, RANK: tl.constexpr, BLOCK: tl.constexpr):
    # bytes: reads n elements, writes 8 bytes per program
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    if RANK == 1:
        mo = offs * b3
    else:
        i3 = offs % s3
        r = offs // s3
        i2 = r % s2
        r = r // s2
        mo = (r // s1) * b0 + (r % s1) * b1 + i2 * b2 + i3 * b3
    v = tl.load(m_ptr + mo, mask=mask, other=0).to(COMPUTE)
    tl.store(counts_ptr + pid, tl.sum(((v != 0) & mask).to(tl.int64), axis=0))


@triton.jit
def _scan_kernel(counts_ptr,             # int64: per-block counts
                 offsets_ptr,            # int64 out: exclusive prefix sum of the counts
                 total_ptr,              # int64 out: the sum of all counts (the one value read back)
                 n_blocks, BLOCK: tl.constexpr):
    # bytes: reads and writes 8 * n_blocks, writes 8. One program walks the counts, carrying the running total.
    carry = tl.sum(tl.zeros([BLOCK], tl.int64), axis=0)
    for start in range(0, n_blocks, BLOCK):
        j = start + tl.arange(0, BLOCK)
        m = j < n_blocks
        c = tl.load(counts_ptr + j, mask=m, other=0)
        tl.store(offsets_ptr + j, carry + tl.cumsum(c, axis=0) - c, mask=m)
        carry = carry + tl.sum(c, axis=0)
    tl.store(total_ptr, carry)


@triton.jit
def _compact_kernel(x_ptr, m_ptr,        # values (MODE 0) and the tested tensor, any strides
                    out_ptr,             # out: selected values (MODE 0) or flat positions (MODE 1), contiguous
                    offsets_ptr,         # int64: this launch's block offsets into out
                    n, s1, s2, s3,       # elements in this launch; sizes of iteration dims 1..3
                    a0, a1, a2, a3,      # value strides
                    b0, b1, b2, b3,      # tested-tensor strides
                    flat_base,           # flat position of this launch's first element
                    MODE: tl.constexpr, COMPUTE: tl.constexpr, RANK: tl.constexpr, BLOCK: tl.constexpr):
    # bytes: reads n tested elements (and the selected values), writes one element per selected position
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    if RANK == 1:
        xo = offs * a3
        mo = offs * b3
    else:
        i3 = offs % s3
        r = offs // s3
        i2 = r % s2
        r = r // s2
        i1 = r % s1
        i0 = r // s1
        xo = i0 * a0 + i1 * a1 + i2 * a2 + i3 * a3
        mo = i0 * b0 + i1 * b1 + i2 * b2 + i3 * b3
    t = tl.load(m_ptr + mo, mask=mask, other=0).to(COMPUTE)
    sel = (t != 0) & mask
    s = sel.to(tl.int32)
    pos = tl.load(offsets_ptr + pid) + (tl.cumsum(s, axis=0) - s).to(tl.int64)
    if MODE == 0:
        v = tl.load(x_ptr + xo, mask=sel)
        tl.store(out_ptr + pos, v, mask=sel)
    else:
        tl.store(out_ptr + pos, flat_base + offs, mask=sel)


@triton.jit
def _unravel_kernel(flat_ptr,            # int64: flat positions
                    out_ptr,             # int64 out: one coordinate column (strided)
                    count,               # number of positions
                    size, inner,         # the dim's size and the product of the sizes after it
                    out_stride,          # element stride of the column
                    BLOCK: tl.constexpr):
    # bytes: reads 8 * count, writes 8 * count
    i = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    m = i < count
    f = tl.load(flat_ptr + i, mask=m, other=0)
    tl.store(out_ptr + i * out_stride, (f // inner) % size, mask=m)


def _compact(shape, tested: CudaArray, tested_st, values=None, values_st=None, out_dtype=None):
    """Select along the C-order iteration over `shape` the positions where `tested` != 0: returns the selected
    values (values given) or their flat positions (int64). One int64 count is read back to size the result."""
    tdt = _dt.from_numpy_dtype(tested.dtype)
    compute = _tl_compute(tdt)
    tested = pw.kernel_view(tested)
    mode = 0 if values is not None else 1
    vals = pw.kernel_view(values) if values is not None else tested
    v_st = values_st if values is not None else tested_st
    parts = []
    n_blocks = 0
    flat = 0
    for sizes, (bs, as_), (bo, ao), rank in _parts(shape, [tested_st, v_st]):
        n = _prod(sizes)
        nb = launch.num_programs(n, _BLOCK)
        parts.append((sizes, bs, as_, bo, ao, rank, n, nb, n_blocks, flat))
        n_blocks += nb
        flat += n
    counts = CudaArray.empty((n_blocks,), _I64)
    for sizes, bs, as_, bo, ao, rank, n, nb, first, _ in parts:
        _count_kernel[(nb,)](_shift(tested, bo), _shift(counts, first), n, sizes[1], sizes[2], sizes[3], *bs,
                             COMPUTE=compute, RANK=rank, BLOCK=_BLOCK)
    offsets = CudaArray.empty((n_blocks,), _I64)
    total = CudaArray.empty((1,), _I64)
    _scan_kernel[(1,)](counts, offsets, total, n_blocks, BLOCK=1024)
    count = int(total.to_numpy()[0])  # the one read-back: the size of the result
    out = CudaArray.empty((count,), out_dtype.np if mode == 0 else _I64)
    if count:
        o = pw.kernel_view(out)
        for sizes, bs, as_, bo, ao, rank, n, nb, first, flat_base in parts:
            _compact_kernel[(nb,)](_shift(vals, ao), _shift(tested, bo), o, _shift(offsets, first), n,
                                   sizes[1], sizes[2], sizes[3], *as_, *bs, flat_base,
                                   MODE=mode, COMPUTE=compute, RANK=rank, BLOCK=_BLOCK)
    return out


def _masked_select_infer(input, mask):
    if mask.dtype is not _dt.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    dev = _same_device(input, mask)
    shape = broadcast_shapes(tuple(mask.shape), tuple(input.shape))
    return Meta((None,), input.dtype, dev, shape)


def _masked_select_cpu(meta, input, mask):
    xb, mb = np.broadcast_arrays(input._data, mask._data)
    return xb[mb]


def _masked_select_cuda(meta, input, mask):
    shape = meta.aux
    if _prod(shape) == 0:
        return CudaArray.empty((0,), input.dtype.np)
    x, m = input._data, mask._data
    return _compact(shape, m, launch.broadcast_strides(m, shape), x, launch.broadcast_strides(x, shape), input.dtype)


def _masked_select_samples(device, dtype):
    rng = rng_for("masked_select", dtype.name)
    x = lambda shape, **kw: make_tensor(shape, dtype, device, rng=rng, **kw)  # noqa: E731
    m = lambda shape, **kw: make_tensor(shape, _dt.bool_, device, rng=rng, **kw)  # noqa: E731
    yield Sample((x((7,)), m((7,))), name="1d")
    yield Sample((x(()), m(())), name="0d")
    yield Sample((x((0, 3)), m((3,))), name="empty")
    yield Sample((x((4, 2 ** 5 + 17)), m((2 ** 5 + 17,))), name="mask-broadcast")
    yield Sample((x((3, 1)), m((2, 3, 4))), name="input-broadcast")
    yield Sample((x((5, 6), noncontiguous=True), m((6, 5)).t()), name="noncontig")
    yield Sample((x((2, 1, 3, 1, 2)), m((4, 3, 1, 1))), name="rank5")


masked_select_op = register(OpDef(
    name="masked_select", family=FAMILY, infer=_masked_select_infer,
    impl={"cpu": _masked_select_cpu, "cuda": _masked_select_cuda},
    ref=lambda x, mask: np.broadcast_arrays(x, mask)[0][np.broadcast_arrays(x, mask)[1]],
    samples=_masked_select_samples,
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24),
                    make=lambda n, device, dtype: ((make_tensor((n,), dtype, device, rng=rng_for("ms", n)),
                                                    make_tensor((n,), _dt.bool_, device, rng=rng_for("ms-m", n))), {}),
                    bytes=lambda n, dt: n * (dt.itemsize + 1) + n // 2 * dt.itemsize, flops=lambda n: 0),
    extra={"torch": lambda torch, x, mask: torch.masked_select(x, mask)}))


def masked_select(input, mask, *, out=None) -> Tensor:
    """The elements of input (broadcast with mask) where the boolean mask is True, as a 1-D tensor."""
    if out is not None:
        raise TypeError("masked_select() does not support out= in tritorch (its size depends on the mask)")
    return masked_select_op(input, mask)


def _nonzero_infer(input):
    return Meta((None, input.ndim), _dt.int64, input.device, None)


def _nonzero_cpu(meta, input):
    a = input._data
    if a.dtype == np.float16 or a.dtype == _dt.bfloat16.np:
        a = a.astype(np.float32)
    return np.argwhere(a).astype(np.int64, copy=False)


def _nonzero_cuda(meta, input):
    arr = input._data
    nd = arr.ndim
    if arr.size_ == 0:
        return CudaArray.empty((0, nd), _I64)
    shape, st = _shape1(arr)
    flat = _compact(shape, arr, st)
    count = flat.shape[0]
    out = CudaArray.empty((count, nd), _I64)
    if count and nd:
        inner = 1
        for d in range(nd - 1, -1, -1):
            col = out.view_as((count,), (nd,), out.offset + d)
            _unravel_kernel[(launch.num_programs(count, _BLOCK),)](flat, col, count, arr.shape[d], inner, nd,
                                                                    BLOCK=_BLOCK)
            inner *= arr.shape[d]
    return out


def _nonzero_tensor(shape, dtype, device, rng):
    """Values with about half zeros (so nonzero has something to skip)."""
    a = make_array(shape, dtype, rng)
    a[rng.random(shape) < 0.5] = 0
    return from_array(a).to(device)


def _nonzero_samples(device, dtype):
    rng = rng_for("nonzero", dtype.name)
    for shape in [(), (1,), (0,), (9,), (2 ** 6 + 17,), (3, 0, 2), (4, 7), (2, 3, 5)]:
        yield Sample((_nonzero_tensor(shape, dtype, device, rng),), name=f"{shape}")
    yield Sample((make_tensor((5, 6), dtype, device, rng=rng, noncontiguous=True, low=-1, high=2)
                  if dtype.kind == _dt.INT else _nonzero_tensor((6, 5), dtype, device, rng).t(),), name="noncontig")
    yield Sample((_nonzero_tensor((2, 3, 1, 2, 3), dtype, device, rng),), name="rank5")


def _ref_nonzero(x):
    x = np.asarray(x)
    if x.ndim == 0:
        return np.zeros((int(x != 0), 0), np.int64)
    return np.stack(np.nonzero(x), axis=-1)


def _nonzero_bench_make(n, device, dtype):
    return (_nonzero_tensor((n // 256, 256), dtype, device, rng_for("nonzero-bench", n)),), {}


nonzero_op = register(OpDef(
    name="nonzero", family=FAMILY, infer=_nonzero_infer, impl={"cpu": _nonzero_cpu, "cuda": _nonzero_cuda},
    ref=_ref_nonzero,
    samples=_nonzero_samples, differentiable=False,
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24),
                    make=_nonzero_bench_make,
                    bytes=lambda n, dt: n * dt.itemsize + n * 8, flops=lambda n: 0),
    extra={"torch": lambda torch, x: torch.nonzero(x)}))


def nonzero(input, *, out=None, as_tuple=False):
    """Indices of the nonzero elements: a (count, ndim) int64 tensor, or with as_tuple=True one 1-D tensor per
    dim (a 0-d input counts as 1-D)."""
    if out is not None:
        raise TypeError("nonzero() does not support out= in tritorch (its size depends on the values)")
    r = nonzero_op(input)
    if not as_tuple:
        return r
    if input.ndim == 0:
        from .creation import zeros
        return (zeros(r.shape[0], dtype=_dt.int64, device=input.device),)
    return tuple(_column(r, d) for d in range(input.ndim))


def _column(r: Tensor, d: int) -> Tensor:
    a = r._data
    col = a[:, d] if r.device is CPU else a.view_as((a.shape[0],), (a.strides[0],), a.offset + d * a.strides[1])
    return _make(col, r.dtype, r.device)


def argwhere(input) -> Tensor:
    """nonzero(input) as a (count, ndim) tensor."""
    return nonzero_op(input)


# --------------------------------------------------------------------------------------------------- take

def _take_infer(input, index):
    if index.dtype is not _dt.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got {_type_name(index.dtype)}")
    dev = _same_device(input, index)
    n = input.numel()
    if n == 0 and index.numel():
        raise IndexError("take(): tried to take from an empty tensor")
    bad = _first_out_of_range(_index_ranges([index])[0], -n, n)
    if bad is not None:
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    return Meta(tuple(index.shape), input.dtype, dev, None)


def _take_cpu(meta, input, index, out=None):
    r = _c_array(np.take(input._data.reshape(-1), index._data.astype(np.intp, copy=False)), meta.shape)
    if out is not None:
        np.copyto(out, r, casting="unsafe")
        return out
    return r


def _take_cuda(meta, input, index, out=None):
    src = input._data
    if not src.is_contiguous():
        flat = CudaArray.empty(tuple(src.shape), src.dtype)
        _copy_cuda(flat, input.dtype, src, input.dtype, input.device)
        src = flat
    dst = out if out is not None else CudaArray.empty(meta.shape, input.dtype.np)
    shape, ist = _shape1(index._data)
    _, ost = _shape1(dst)
    _launch_gather(dst, src, index._data, shape, ost, (0,) * len(shape), ist, input.numel(), 1, wrap=True)
    return dst


def _take_samples(device, dtype):
    rng = rng_for("take", dtype.name)
    x = lambda shape, **kw: make_tensor(shape, dtype, device, rng=rng, **kw)  # noqa: E731
    yield Sample((x((3, 4)), _idx((2, 5), 12, device, rng, low=-12)), name="negatives")
    yield Sample((x(()), _idx((3,), 1, device, rng)), name="0d")
    yield Sample((x((5,)), _idx((), 5, device, rng)), name="0d-index")
    yield Sample((x((0,)), _idx((0,), 1, device, rng)), name="empty")
    yield Sample((x((5, 6), noncontiguous=True), _idx((2 ** 5 + 17,), 30, device, rng)), name="noncontig")


take_op = register(OpDef(
    name="take", family=FAMILY, infer=_take_infer, impl={"cpu": _take_cpu, "cuda": _take_cuda},
    ref=lambda x, index: np.asarray(x).reshape(-1)[np.asarray(index)] if np.asarray(index).size else
    np.zeros(np.shape(index), np.asarray(x).dtype),
    samples=_take_samples, supports_out=True,
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24),
                    make=lambda n, device, dtype: ((make_tensor((n,), dtype, device, rng=rng_for("tk", n)),
                                                    _idx((n,), n, device, rng_for("tk-i", n))), {}),
                    bytes=lambda n, dt: n * (2 * dt.itemsize + 8), flops=lambda n: 0),
    extra={"torch": lambda torch, x, index: torch.take(x, index)}))


def take(input, index, *, out=None) -> Tensor:
    """input seen as 1-D, read at `index` (negative indices count from the end); the result has index's shape."""
    return take_op(input, index, out=out)


# ---------------------------------------------------------------------------------------------------- put
# put is take's adjoint (take's gradient is a put with accumulate=True into zeros), and a PyTorch op of its own.

def _put_infer(input, index, source, accumulate=False):
    if not isinstance(source, Tensor):
        raise TypeError(f"put(): argument 'source' (position 2) must be Tensor, not {type(source).__name__}")
    if index.dtype is not _dt.int64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got {_type_name(index.dtype)}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got self.dtype = "
                           f"{_type_name(input.dtype)} and source.dtype = {_type_name(source.dtype)}")
    dev = _same_device(input, index, source)
    if source.numel() != index.numel():
        raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                         f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
    n = input.numel()
    if n == 0 and index.numel():
        raise IndexError("put_(): Tried to put elements into an empty tensor")
    bad = _first_out_of_range(_index_ranges([index])[0], -n, n)
    if bad is not None:
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    return Meta(tuple(input.shape), input.dtype, dev, None)


def _put_cpu(meta, input, index, source, accumulate=False, out=None):
    res = _cpu_target(input, out)
    if index.numel() == 0:
        return res
    work = res if res.flags.c_contiguous else np.array(res, copy=True, order="C")
    flat = work.reshape(-1)  # a view of the C-contiguous array
    idx = index._data.reshape(-1).astype(np.intp, copy=False)
    src = source._data.reshape(-1)
    if accumulate:
        _ufunc_at(np.add, flat, idx, src)
    else:
        flat[idx] = src
    if work is not res:
        res[...] = work
    return res


def _put_cuda(meta, input, index, source, accumulate=False, out=None):
    dev = input.device
    target = _cuda_target(input, out)
    n_idx = index.numel()
    if n_idx == 0:
        return target
    work = target
    if not target.is_contiguous():  # flat positions address a C-contiguous layout
        work = CudaArray.empty(tuple(target.shape), target.dtype)
        _copy_cuda(work, input.dtype, target, input.dtype, dev)
    shape, ist = _shape1(index._data)
    src = source._data
    if not src.is_contiguous():
        dense = CudaArray.empty(tuple(src.shape), src.dtype)
        _copy_cuda(dense, source.dtype, src, source.dtype, dev)
        src = dense
    # the source read in C order over the index's iteration (the two have the same number of elements)
    src_view = (src.view_as(shape, _cuda.contiguous_strides(shape), src.offset), _cuda.contiguous_strides(shape))
    zero = (0,) * len(shape)

    def run(arr, dt):
        if accumulate and _deterministic_mode(dt):
            with _no_record():
                flat = _make(index._data.view_as(shape, ist, index._data.offset),
                             _dt.from_numpy_dtype(index._data.dtype), dev).reshape(-1).long()
                flat = flat + (flat < 0).long() * input.numel()
                vals = _make(src_view[0], source.dtype, dev).reshape(-1)
                _sorted_add_at(arr, dt, dev, flat, vals)
            return
        _launch_scatter(arr, src_view, index._data, shape, zero, ist, input.numel(), 1, dt, accumulate, wrap=True)

    if accumulate:
        _with_accumulator(work, dev, run)
    else:
        run(work, _dt.from_numpy_dtype(work.dtype))
    if work is not target:
        _copy_cuda(target, input.dtype, work, input.dtype, dev)
    return target


def _ref_put(x, index, source, accumulate=False):
    x = np.asarray(x)
    r = _ref_array(x).reshape(-1)
    n = r.size
    for i, v in zip(np.asarray(index).reshape(-1), np.asarray(source).reshape(-1)):
        i = int(i) % n
        r[i] = (r[i] + v) if accumulate else v
    if x.dtype == np.bool_:
        r = r.astype(bool)
    return r.reshape(x.shape)


def _put_samples(device, dtype):
    rng = rng_for("put", dtype.name)
    x = lambda shape, **kw: make_tensor(shape, dtype, device, rng=rng, **kw)  # noqa: E731
    yield Sample((x((5,)), _idx((7,), 5, device, rng, low=-5), x((7,))), {"accumulate": True},
                 name="1d-dups-accumulate", reduction_size=7)
    yield Sample((x((3, 4)), _perm_index((5,), 0, 12, device, rng), x((5,))), name="2d-unique")
    yield Sample((x((2, 3)), _perm_index((6,), 0, 6, device, rng).reshape(2, 3) - 6, x((3, 2))),
                 name="negatives-source-shape-differs")
    yield Sample((x(()), _idx((3,), 1, device, rng), x((3,))), {"accumulate": True}, name="0d-accumulate",
                 reduction_size=3)
    yield Sample((x((0,)), _idx((0,), 1, device, rng), x((0,))), name="empty")
    yield Sample((x((5, 6), noncontiguous=True), _idx((2 ** 5 + 17,), 30, device, rng),
                  x((2 ** 5 + 17,), noncontiguous=True)), {"accumulate": True}, name="noncontig-accumulate",
                 reduction_size=4)


put_op = register(OpDef(
    name="put", family=FAMILY, infer=_put_infer, impl={"cpu": _put_cpu, "cuda": _put_cuda},
    ref=_ref_put, samples=_put_samples, supports_out=True,
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24),
                    make=lambda n, device, dtype: ((make_tensor((n,), dtype, device, rng=rng_for("put", n)),
                                                    _idx((n,), n, device, rng_for("put-i", n)),
                                                    make_tensor((n,), dtype, device, rng=rng_for("put-s", n))),
                                                   {"accumulate": True}),
                    bytes=lambda n, dt: n * (3 * dt.itemsize + 8), flops=lambda n: n),
    extra={"torch": lambda torch, x, index, source, accumulate=False: x.put(index, source, accumulate=accumulate)},
    doc="input seen as 1-D with input[index] = source (+= with accumulate=True; duplicates then add up)"))


def put(input, index, source, accumulate=False) -> Tensor:
    """A copy of input, seen as 1-D, with input[index] = source (or += with accumulate=True); negative indices
    count from the end. source has index's number of elements."""
    return put_op(input, index, source, accumulate=accumulate)


# --------------------------------------------------------------------------------------- masked_scatter
# masked_select's adjoint (its gradient is a masked_scatter into zeros), and a PyTorch op of its own. On cuda,
# infer counts the mask's True elements per block (`_count_kernel`, `_scan_kernel`: the block offsets into the
# source) and reads the total back once, to raise PyTorch's error before any write when the source is too short;
# `_masked_scatter_kernel` then gives each selected position the source element at its block's offset plus its
# in-block exclusive prefix count.

@triton.jit
def _masked_scatter_kernel(x_ptr, m_ptr,        # input and mask, any (broadcast) strides
                           src_ptr,             # source, contiguous: read in C order
                           out_ptr,             # out, contiguous over the iteration
                           offsets_ptr,         # int64: this launch's block offsets into the source
                           n, s1, s2, s3,       # elements in this launch; sizes of iteration dims 1..3
                           a0, a1, a2, a3,      # input strides
                           b0, b1, b2, b3,      # mask strides
                           flat_base,           # flat (C-order) position of this launch's first element
                           COMPUTE: tl.constexpr, RANK: tl.constexpr, BLOCK: tl.constexpr):
    # bytes: reads n mask and n input elements (input only where unselected), one source element per selected
    # position; writes n elements
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    if RANK == 1:
        xo = offs * a3
        mo = offs * b3
    else:
        i3 = offs % s3
        r = offs // s3
        i2 = r % s2
        r = r // s2
        i1 = r % s1
        i0 = r // s1
        xo = i0 * a0 + i1 * a1 + i2 * a2 + i3 * a3
        mo = i0 * b0 + i1 * b1 + i2 * b2 + i3 * b3
    t = tl.load(m_ptr + mo, mask=mask, other=0).to(COMPUTE)
    sel = (t != 0) & mask
    s = sel.to(tl.int32)
    pos = tl.load(offsets_ptr + pid) + (tl.cumsum(s, axis=0) - s).to(tl.int64)
    v = tl.load(x_ptr + xo, mask=mask & (sel == 0))
    sv = tl.load(src_ptr + pos, mask=sel)
    tl.store(out_ptr + flat_base + offs, tl.where(sel, sv, v), mask=mask)


class _ScatterPlan:
    """What masked_scatter's infer decided: the broadcast shape, the number of selected positions and, on cuda,
    the launches [(sizes, input strides, mask strides, input offset, mask offset, rank, n, programs, first
    block, flat base)] with their block offsets into the source."""

    __slots__ = ("shape", "count", "parts", "offsets")


def _masked_scatter_infer(input, mask, source):
    if not isinstance(source, Tensor):
        raise TypeError(f"masked_scatter(): argument 'source' (position 2) must be Tensor, not "
                        f"{type(source).__name__}")
    if mask.dtype is not _dt.bool_:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype "
                           f"{_type_name(mask.dtype)}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got"
                           f"{_type_name(input.dtype)} and {_type_name(source.dtype)}")
    dev = _same_device(input, mask, source)
    shape = broadcast_shapes(tuple(input.shape), tuple(mask.shape))
    plan = _ScatterPlan()
    plan.shape, plan.parts, plan.offsets = shape, None, None
    if dev is CPU:
        plan.count = int(np.count_nonzero(np.broadcast_to(mask._data, shape)))
    elif _prod(shape) == 0 or dev.type == "meta":   # (a meta mask has no ones to count)
        plan.count = 0
    else:
        x, m = input._data, mask._data
        m_k = pw.kernel_view(m)
        parts = []
        n_blocks = 0
        flat = 0
        for sizes, (as_, bs), (ao, bo), rank in _parts(shape, [launch.broadcast_strides(x, shape),
                                                              launch.broadcast_strides(m, shape)]):
            n = _prod(sizes)
            nb = launch.num_programs(n, _BLOCK)
            parts.append((sizes, as_, bs, ao, bo, rank, n, nb, n_blocks, flat))
            n_blocks += nb
            flat += n
        counts = CudaArray.empty((n_blocks,), _I64)
        for sizes, as_, bs, ao, bo, rank, n, nb, first, _ in parts:
            _count_kernel[(nb,)](_shift(m_k, bo), _shift(counts, first), n, sizes[1], sizes[2], sizes[3], *bs,
                                 COMPUTE=tl.int32, RANK=rank, BLOCK=_BLOCK)
        offsets = CudaArray.empty((n_blocks,), _I64)
        total = CudaArray.empty((1,), _I64)
        _scan_kernel[(1,)](counts, offsets, total, n_blocks, BLOCK=1024)
        plan.count = int(total.to_numpy()[0])  # the one read-back: the check below runs before any write
        plan.parts, plan.offsets = parts, offsets
    if source.numel() < plan.count:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    return Meta(shape, input.dtype, dev, plan)


def _masked_scatter_cpu(meta, input, mask, source, out=None):
    plan = meta.aux
    xb, mb = np.broadcast_arrays(input._data, mask._data)
    res = np.array(xb, copy=True, order="C")
    res[mb] = source._data.reshape(-1)[:plan.count]
    if out is not None:
        np.copyto(out, res, casting="unsafe")
        return out
    return res


def _masked_scatter_cuda(meta, input, mask, source, out=None):
    plan = meta.aux
    dev = input.device
    res = CudaArray.empty(plan.shape, input.dtype.np)
    if _prod(plan.shape) == 0:
        if out is not None:
            return out
        return res
    src = source._data
    if not src.is_contiguous():
        dense = CudaArray.empty(tuple(src.shape), src.dtype)
        _copy_cuda(dense, source.dtype, src, source.dtype, dev)
        src = dense
    x_k, m_k, s_k, r_k = (pw.kernel_view(a) for a in (input._data, mask._data, src, res))
    for sizes, as_, bs, ao, bo, rank, n, nb, first, flat in plan.parts:
        _masked_scatter_kernel[(nb,)](_shift(x_k, ao), _shift(m_k, bo), s_k, r_k, _shift(plan.offsets, first), n,
                                      sizes[1], sizes[2], sizes[3], *as_, *bs, flat,
                                      COMPUTE=tl.int32, RANK=rank, BLOCK=_BLOCK)
    if out is not None:
        _copy_cuda(out, _dt.from_numpy_dtype(out.dtype), res, input.dtype, dev)
        return out
    return res


def _ref_masked_scatter(x, mask, source):
    xb, mb = np.broadcast_arrays(np.asarray(x), np.asarray(mask))
    r = _ref_array(xb).reshape(-1)
    src = np.asarray(source).reshape(-1)
    k = 0
    for p, m in enumerate(mb.reshape(-1)):
        if m:
            r[p] = src[k]
            k += 1
    return r.reshape(xb.shape)


def _masked_scatter_samples(device, dtype):
    rng = rng_for("masked_scatter", dtype.name)
    x = lambda shape, **kw: make_tensor(shape, dtype, device, rng=rng, **kw)  # noqa: E731
    m = lambda shape, **kw: make_tensor(shape, _dt.bool_, device, rng=rng, **kw)  # noqa: E731
    yield Sample((x((7,)), m((7,)), x((7,))), name="1d")
    yield Sample((x(()), m(()), x((2,))), name="0d")
    yield Sample((x((0, 3)), m((3,)), x((0,))), name="empty")
    yield Sample((x((3, 1)), m((2, 3, 4)), x((5, 5))), name="both-broadcast")
    yield Sample((x((4, 2 ** 5 + 17)), m((2 ** 5 + 17,)), x((4 * (2 ** 5 + 17),))), name="mask-broadcast")
    yield Sample((x((5, 6), noncontiguous=True), m((6, 5)).t(), x((6, 5)).t()), name="noncontig")


masked_scatter_op = register(OpDef(
    name="masked_scatter", family=FAMILY, infer=_masked_scatter_infer,
    impl={"cpu": _masked_scatter_cpu, "cuda": _masked_scatter_cuda}, ref=_ref_masked_scatter,
    samples=_masked_scatter_samples, supports_out=True,
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24),
                    make=lambda n, device, dtype: ((make_tensor((n,), dtype, device, rng=rng_for("msc", n)),
                                                    make_tensor((n,), _dt.bool_, device, rng=rng_for("msc-m", n)),
                                                    make_tensor((n,), dtype, device, rng=rng_for("msc-s", n))), {}),
                    bytes=lambda n, dt: n * (2 * dt.itemsize + 1) + n // 2 * dt.itemsize, flops=lambda n: 0),
    extra={"torch": lambda torch, x, mask, source: torch.masked_scatter(x, mask, source)},
    doc="input (broadcast with mask) with the True positions of mask filled, in C order, by source's first "
        "elements"))


def masked_scatter(input, mask, source) -> Tensor:
    """A copy of input (broadcast with mask) whose positions where mask is True take source's elements in order
    (source, read flat, needs at least as many elements as mask has True positions)."""
    return masked_scatter_op(input, mask, source)


# ------------------------------------------------------------------------------------- advanced indexing

class _Plan:
    """What `index` / `index_put` decided in infer: the indexed dims and their integer index tensors (boolean
    masks expanded to their nonzero coordinates, all on the input's device), the broadcast index shape, and the
    result's layout: per result dim ("x", input dim) or ("b", broadcast-index dim)."""

    __slots__ = ("dims", "tensors", "bshape", "layout", "shape")


def _mask_columns(mask: Tensor) -> list:
    """The integer coordinates of a boolean mask's True elements, one 1-D tensor per mask dim."""
    if mask.device is CPU:
        return [from_array(c.astype(np.int64, copy=False)) for c in np.nonzero(mask._data)]
    coords = nonzero_op(mask if mask.dtype is _dt.bool_ else _make(mask._data.reinterpret(np.bool_), _dt.bool_,
                                                                   mask.device))
    return [_column(coords, d) for d in range(mask.ndim)]


def _plan(x: Tensor, indices, name: str = "index") -> _Plan:
    if isinstance(indices, Tensor):
        indices = (indices,)
    nd = x.ndim
    dims, tensors, checked = [], [], []
    d = 0
    for ind in indices:
        if ind is None:
            d += 1
            continue
        if not isinstance(ind, Tensor):
            raise TypeError(f"{name}(): expected a Tensor or None in indices, got {type(ind).__name__}")
        if ind.device is not x.device:
            if ind.device is not CPU:
                raise RuntimeError(f"indices should be either on cpu or on the same device as the indexed tensor "
                                   f"({x.device})")
            from .copy import to_device
            ind = to_device(ind, x.device)
        if ind.dtype is _dt.bool_ or ind.dtype is _dt.uint8:
            k = ind.ndim
            if k == 0:
                raise IndexError("a 0-dim boolean index is supported by Tensor.__getitem__/__setitem__ only")
            if d + k > nd:
                raise IndexError(f"too many indices for tensor of dimension {nd}")
            for j in range(k):
                if ind.shape[j] != x.shape[d + j]:
                    raise IndexError(f"The shape of the mask {list(ind.shape)} at index {j} does not match the shape "
                                     f"of the indexed tensor {list(x.shape)} at index {d + j}")
            cols = _mask_columns(ind)
            dims.extend(range(d, d + k))
            tensors.extend(cols)
            checked.extend([False] * k)
            d += k
        elif ind.dtype in _INDEX_DTYPES:
            if d >= nd:
                raise IndexError(f"too many indices for tensor of dimension {nd}")
            dims.append(d)
            tensors.append(ind)
            checked.append(True)
            d += 1
        else:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    try:
        bshape = broadcast_shapes(*[tuple(t.shape) for t in tensors])
    except RuntimeError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with shapes "
                         + ", ".join(str(list(t.shape)) for t in tensors)) from None
    ranges = _index_ranges([t for t, c in zip(tensors, checked) if c])
    it = iter(ranges)
    for j, (dd, c) in enumerate(zip(dims, checked)):
        if c:
            size = x.shape[dd]
            bad = _first_out_of_range(next(it), -size, size)
            if bad is not None:
                raise IndexError(f"index {bad} is out of bounds for dimension {j} with size {size}")
    rest = [k for k in range(nd) if k not in dims]
    b = [("b", j) for j in range(len(bshape))]
    if dims and dims == list(range(dims[0], dims[0] + len(dims))):
        layout = [("x", k) for k in rest if k < dims[0]] + b + [("x", k) for k in rest if k > dims[-1]]
    else:
        layout = b + [("x", k) for k in rest]
    plan = _Plan()
    plan.dims, plan.tensors, plan.bshape, plan.layout = dims, tensors, bshape, layout
    plan.shape = tuple(x.shape[k] if kind == "x" else bshape[k] for kind, k in layout)
    return plan


def _plan_strides(plan: _Plan, x_strides, b_strides) -> tuple:
    """(input strides, broadcast-index strides) over the result's dims."""
    return (tuple(x_strides[k] if kind == "x" else 0 for kind, k in plan.layout),
            tuple(b_strides[k] if kind == "b" else 0 for kind, k in plan.layout))


@triton.jit
def _lin_step(acc, idx, z, size, stride):
    # element offset += (index, negatives wrapped) * stride of its dim
    return acc + tl.where(idx < 0, idx + size, idx) * stride


def _linear_offsets(plan: _Plan, shape, strides, device) -> CudaArray:
    """Element offsets (int64, the broadcast index shape) of the indexed positions in an array with `strides`:
    one pointwise launch per index tensor."""
    lin = CudaArray.empty(plan.bshape, _I64)
    acc = 0
    for dd, t in zip(plan.dims, plan.tensors):
        pw.launch_pointwise(_lin_step, [acc, t], plan.bshape, _dt.int64, _dt.int64, lin, (shape[dd], strides[dd]))
        acc = _make(lin, _dt.int64, device)
    return lin


def _np_key(plan: _Plan) -> tuple:
    key = [slice(None)] * (plan.dims[-1] + 1)
    for dd, t in zip(plan.dims, plan.tensors):
        key[dd] = t._data
    return tuple(key)


def _index_infer(input, indices):
    plan = _plan(input, indices)
    return Meta(plan.shape, input.dtype, input.device, plan)


def _index_cpu(meta, input, indices):
    plan = meta.aux
    if not plan.dims:
        return np.array(input._data, copy=True, order="C")
    return _c_array(input._data[_np_key(plan)], meta.shape)


def _index_cuda(meta, input, indices):
    plan = meta.aux
    x = input._data
    out = CudaArray.empty(meta.shape, x.dtype)
    if _prod(meta.shape) == 0:
        return out
    if not plan.dims:
        _copy_cuda(out, input.dtype, x, input.dtype, input.device)
        return out
    lin = _linear_offsets(plan, x.shape, x.strides, input.device)
    src_st, lin_st = _plan_strides(plan, x.strides, lin.strides)
    _launch_gather(out, x, lin, meta.shape, out.strides, src_st, lin_st, 0, 1)
    return out


def _np_indices(indices) -> tuple:
    return tuple(slice(None) if i is None else np.asarray(i) for i in indices)


def _index_samples(device, dtype):
    rng = rng_for("index", dtype.name)
    x = lambda shape, **kw: make_tensor(shape, dtype, device, rng=rng, **kw)  # noqa: E731
    m = lambda shape: make_tensor(shape, _dt.bool_, device, rng=rng)  # noqa: E731
    yield Sample((x((5,)), (_idx((7,), 5, device, rng, low=-5),)), name="1d-negatives")
    yield Sample((x((3, 4)), (None, _idx((2, 3), 4, device, rng))), name="dim1-2d-index")
    yield Sample((x((3, 4, 5)), (_idx((2, 1), 3, device, rng), None, _idx((4,), 5, device, rng))),
                 name="separated-go-first")
    yield Sample((x((3, 4, 5)), (None, _idx((2,), 4, device, rng), _idx((3, 1), 5, device, rng, dtype=_dt.int32))),
                 name="adjacent-broadcast")
    yield Sample((x((3, 4)), (m((3, 4)),)), name="mask-2d")
    yield Sample((x((3, 4, 2)), (None, m((4,)))), name="mask-dim1")
    yield Sample((x((4, 3)), (_idx((), 4, device, rng),)), name="0d-index")
    yield Sample((x((3, 0)), (_idx((2,), 3, device, rng),)), name="empty")
    yield Sample((x((5, 6), noncontiguous=True), (_idx((2 ** 5 + 17,), 5, device, rng, noncontiguous=True),)),
                 name="noncontig")


index_op = register(OpDef(
    name="index", family=FAMILY, infer=_index_infer, impl={"cpu": _index_cpu, "cuda": _index_cuda},
    ref=lambda x, indices: np.asarray(x)[_np_indices(indices)], samples=_index_samples,
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24),
                    make=lambda n, device, dtype: ((make_tensor((n // 256, 256), dtype, device, rng=rng_for("ix", n)),
                                                    (_idx((n // 256,), n // 256, device, rng_for("ix-i", n)),)), {}),
                    bytes=lambda n, dt: 2 * n * dt.itemsize + n // 256 * 16, flops=lambda n: 0),
    extra={"torch": lambda torch, x, indices: x[tuple(slice(None) if i is None else i for i in indices)]},
    doc="x[indices]: PyTorch's advanced indexing (aten::index); indices is a sequence of None or integer/boolean "
        "tensors, one per leading dim"))


def _index_put_infer(input, indices, values, accumulate=False):
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put(): argument 'values' must be Tensor, not {type(values).__name__}")
    if values.dtype is not input.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{_type_name(input.dtype)} for the destination and {_type_name(values.dtype)} for the "
                           f"source.")
    if values.device is not input.device and not (values.device is CPU and values.ndim == 0):
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{input.device} and {values.device}!")
    plan = _plan(input, indices, "index_put")
    vs = tuple(values.shape)
    try:
        ok = broadcast_shapes(vs, plan.shape) == plan.shape
    except RuntimeError:
        ok = False
    if not ok:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(vs)} cannot be broadcast to indexing result "
                           f"of shape {list(plan.shape)}")
    return Meta(tuple(input.shape), input.dtype, input.device, plan)


def _index_put_cpu(meta, input, indices, values, accumulate=False, out=None):
    plan = meta.aux
    res = _cpu_target(input, out)
    v = values._data
    if not plan.dims:
        res[...] = res + v if accumulate else v
    elif accumulate:
        _ufunc_at(np.add, res, _np_key(plan), v)
    else:
        res[_np_key(plan)] = v
    return res


def _index_put_cuda(meta, input, indices, values, accumulate=False, out=None):
    plan = meta.aux
    dev = input.device
    target = _cuda_target(input, out)
    shape = plan.shape
    if _prod(shape) == 0:
        return target
    if values.device is not dev:
        from .copy import to_device
        values = to_device(values, dev)
    varr = values._data
    v_st = launch.broadcast_strides(varr, shape)

    def run(arr, dt):
        if not plan.dims:
            if accumulate:
                pw.launch_pointwise(_add_fn, [_wrap(arr, dt, dev), values], shape, dt, dt, arr)
            else:
                _copy_cuda(arr, dt, varr, values.dtype, dev)
            return
        lin = _linear_offsets(plan, arr.shape, arr.strides, dev)
        dst_st, lin_st = _plan_strides(plan, arr.strides, lin.strides)
        if accumulate and _deterministic_mode(dt):
            with _no_record():
                offsets = _position_offsets(shape, dst_st, dev) + \
                    _make(lin.view_as(shape, lin_st, lin.offset), _dt.int64, dev).reshape(-1)
                vals = _make(varr.view_as(shape, v_st, varr.offset), values.dtype, dev).reshape(-1)
                _sorted_add_at(arr, dt, dev, offsets, vals)
            return
        _launch_scatter(arr, (varr, v_st), lin, shape, dst_st, lin_st, 0, 1, dt, accumulate)

    if accumulate:
        _with_accumulator(target, dev, run)
    else:
        run(target, _dt.from_numpy_dtype(target.dtype))
    return target


def _ref_index_put(x, indices, values, accumulate=False):
    x = np.asarray(x)
    r = np.array(x, dtype=np.float64 if x.dtype.kind == "f" else np.int64 if x.dtype.kind in "iu" else x.dtype)
    key = _np_indices(indices)
    if accumulate:
        pos = np.arange(r.size).reshape(r.shape)[key]
        flat = r.reshape(-1)
        for p, v in zip(pos.reshape(-1), np.broadcast_to(values, pos.shape).reshape(-1)):
            flat[p] = flat[p] + v
    else:
        r[key] = values
    return r


def _index_put_samples(device, dtype):
    rng = rng_for("index_put", dtype.name)
    x = lambda shape, **kw: make_tensor(shape, dtype, device, rng=rng, **kw)  # noqa: E731
    yield Sample((x((5,)), (_perm_index((3,), 0, 5, device, rng),), x((3,))), name="1d")
    yield Sample((x((5,)), (_idx((7,), 5, device, rng, low=-5),), x((7,))), {"accumulate": True},
                 name="accumulate-dups", reduction_size=7)
    yield Sample((x((3, 4)), (_perm_index((2,), 0, 3, device, rng), _idx((2,), 4, device, rng)), x(())),
                 name="2-indices-scalar-value")
    yield Sample((x((3, 4)), (make_tensor((3, 4), _dt.bool_, device, rng=rng),), x(())), name="mask")
    yield Sample((x((3, 4)), (_perm_index((2,), 0, 3, device, rng, ),), x((4,))), name="rows-broadcast-values")
    yield Sample((x((3, 0)), (_idx((2,), 3, device, rng),), x((2, 0))), name="empty")
    yield Sample((x((2 ** 5 + 17, 6), noncontiguous=True), (_idx((9,), 2 ** 5 + 17, device, rng, dtype=_dt.int32),),
                  x((9, 6), noncontiguous=True)), {"accumulate": True}, name="noncontig-accumulate", reduction_size=4)


def _index_put_bench_make(n, device, dtype):
    rng = rng_for("index_put-bench", n)
    return (make_tensor((n // 256, 256), dtype, device, rng=rng), (_perm_index((n // 512,), 0, n // 256, device, rng),),
            make_tensor((n // 512, 256), dtype, device, rng=rng)), {}


index_put_op = register(OpDef(
    name="index_put", family=FAMILY, infer=_index_put_infer, impl={"cpu": _index_put_cpu, "cuda": _index_put_cuda},
    ref=_ref_index_put, samples=_index_put_samples, supports_out=True,
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24),
                    make=_index_put_bench_make,
                    bytes=lambda n, dt: 2 * n * dt.itemsize, flops=lambda n: 0),
    extra={"torch": lambda torch, x, indices, values, accumulate=False: torch.index_put(x, tuple(indices), values,
                                                                                        accumulate=accumulate)}))


def index_put(input, indices, values, accumulate=False) -> Tensor:
    """A copy of input with input[indices] = values (or += with accumulate=True; duplicates then add up)."""
    return index_put_op(input, tuple(indices), values, accumulate=accumulate)


def _index_put_(self, indices, values, accumulate=False) -> Tensor:
    return index_put_op(self, tuple(indices), values, accumulate=accumulate, out=self)


# ---------------------------------------------------------------------------- Tensor.__getitem__/__setitem__

class _BoolScalar:
    """A Python bool (or 0-d boolean tensor) index: a new dim of size 1, indexed by [0] (True) or [] (False)."""

    __slots__ = ("value",)

    def __init__(self, value: bool):
        self.value = value

    def index(self) -> Tensor:
        return from_array(np.arange(1 if self.value else 0, dtype=np.int64))


_TUPLE_LIKE = (Tensor, list, tuple, slice, type(Ellipsis), type(None), np.ndarray)


def _as_tuple(idx) -> tuple:
    if isinstance(idx, tuple):
        return idx
    # PyTorch (like old NumPy) reads a short list holding sequences, tensors, slices, None or ... as a tuple.
    if isinstance(idx, list) and len(idx) < 32 and any(isinstance(it, _TUPLE_LIKE) for it in idx):
        return tuple(idx)
    return (idx,)


def _index_tensor(seq) -> Tensor:
    a = np.asarray(seq)
    if a.dtype.kind == "b":
        return from_array(a)
    if a.dtype.kind in "iu" or a.size == 0:
        return from_array(a.astype(np.int64))
    raise IndexError("tensors used as indices must be long, int, byte or bool tensors")


def _convert(it):
    """One index item as int, slice, None, Ellipsis, _BoolScalar or an index Tensor."""
    if it is None or it is Ellipsis:
        return it
    if isinstance(it, (bool, np.bool_)):
        return _BoolScalar(bool(it))
    if isinstance(it, (int, np.integer)):
        return int(it)
    if isinstance(it, slice):
        if it.step is not None:
            step = it.step.__index__()
            if step == 0:
                raise ValueError("slice step cannot be zero")
            if step < 0:
                raise ValueError("step must be greater than zero")
        return it
    if isinstance(it, Tensor):
        if it.ndim == 0 and it.dtype.kind == _dt.INT:
            return int(it.item())  # PyTorch selects with a 0-d integer tensor, as with an int
        if it.ndim == 0 and it.dtype is _dt.bool_:
            return _BoolScalar(bool(it.item()))
        return it
    if isinstance(it, (list, tuple, np.ndarray)):
        return _index_tensor(it)
    if isinstance(it, range):   # a sequence of indices, as PyTorch takes it
        return _index_tensor(list(it))
    raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
                     f"indices (got {type(it).__name__})")


def _is_mask(t: Tensor) -> bool:
    return t.dtype is _dt.bool_ or t.dtype is _dt.uint8


def _parse(x: Tensor, idx):
    """Split a Python index into its basic part (ints, slices, None: applied as a view, advanced positions kept
    as full slices) and the advanced indices [(view dim, tensor or _BoolScalar)], as PyTorch does."""
    items = [_convert(it) for it in _as_tuple(idx)]
    if sum(1 for it in items if it is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = 0
    for it in items:
        if isinstance(it, (int, slice)):
            consumed += 1
        elif isinstance(it, Tensor):
            consumed += it.ndim if _is_mask(it) else 1
    nd = x.ndim
    if consumed > nd:
        if nd == 0 and any(isinstance(it, int) for it in items):
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` "
                             "in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"too many indices for tensor of dimension {nd}")
    basic, adv = [], []
    vd = 0
    for it in items:
        if it is Ellipsis:
            k = nd - consumed
            basic.extend([slice(None)] * k)
            vd += k
        elif it is None:
            basic.append(None)
            vd += 1
        elif isinstance(it, _BoolScalar):
            basic.append(None)
            adv.append((vd, it.index()))
            vd += 1
        elif isinstance(it, int):
            basic.append(it)
        elif isinstance(it, slice):
            basic.append(it)
            vd += 1
        else:
            k = it.ndim if _is_mask(it) else 1
            basic.extend([slice(None)] * k)
            adv.append((vd, it))
            vd += k
    return tuple(basic), adv


def _index_list(adv) -> tuple:
    """The advanced indices as an aten::index sequence: None for the dims they skip."""
    lst = []
    pos = 0
    for vd, t in adv:
        lst.extend([None] * (vd - pos))
        lst.append(t)
        pos = vd + (t.ndim if _is_mask(t) else 1)
    return tuple(lst)


_FULL = slice(None)
_BASIC_INDEX = None


def _basic_index_fn():
    """The movement family's basic_index (a registered view op), or None while it is not there."""
    global _BASIC_INDEX
    if _BASIC_INDEX is None:
        try:
            from .movement import basic_index
        except ImportError:
            return None
        _BASIC_INDEX = basic_index
    return _BASIC_INDEX


def _basic(x: Tensor, items: tuple) -> Tensor:
    """The view x[items] (ints, slices, None)."""
    fn = _basic_index_fn()
    return _basic_view(x, items) if fn is None else fn(x, items)


def _basic_view(x: Tensor, items: tuple) -> Tensor:
    """Basic indexing as a strided view sharing x's storage and version counter."""
    shape = tuple(x._data.shape)
    strides = x.stride()
    new_shape, new_strides = [], []
    offset = 0
    d = 0
    for it in items:
        if it is None:
            new_shape.append(1)
            new_strides.append(1)
        elif isinstance(it, slice):
            start, stop, step = it.indices(shape[d])
            n = len(range(start, stop, step))
            if n:
                offset += start * strides[d]
            new_shape.append(n)
            new_strides.append(strides[d] * step)
            d += 1
        else:
            size = shape[d]
            if not -size <= it < size:
                raise IndexError(f"index {it} is out of bounds for dimension {d} with size {size}")
            offset += (it % size) * strides[d]
            d += 1
    new_shape.extend(shape[d:])
    new_strides.extend(strides[d:])
    a = x._data
    if x.device is CPU:
        data = a[items + (Ellipsis,)]  # NumPy's basic indexing is the same view; `...` keeps 0-d results arrays
    else:
        data = a.view_as(tuple(new_shape), tuple(new_strides), a.offset + offset)
    r = _make(data, x.dtype, x.device, version=x._version)
    r._base = root = x if x._base is None else x._base
    _seen_writes(r, root)
    return r


_BASIC_TYPES = frozenset((int, slice, type(None), type(Ellipsis)))


def _getitem(x: Tensor, idx):
    cls = idx.__class__
    if cls in _BASIC_TYPES or (cls is tuple and all(i.__class__ in _BASIC_TYPES for i in idx)):
        fn = _basic_index_fn()
        if fn is not None:
            return fn(x, idx)  # the common case, a view, without the advanced-index parse
    if cls is Tensor:
        r = _take_rows_cpu(x, idx)
        if r is not None:
            return r
    basic, adv = _parse(x, idx)
    if not adv:
        return _basic(x, basic)
    view = x if all(b.__class__ is slice and b == _FULL for b in basic) else _basic(x, basic)
    return index_op(view, _index_list(adv))


def _take_rows_cpu(x: Tensor, idx: Tensor):
    """x[idx] for a cpu tensor and an int32/int64 cpu index of 1+ dims with nothing to record: rows picked along dim 0,
    np.take (a tenth of the general plan's cost at (32, 64)[16]). None otherwise, or when an index is out of
    range: the general path decides and raises PyTorch's error."""
    if (x.device is not CPU or idx.device is not CPU or (idx.dtype is not _dt.int64 and idx.dtype is not _dt.int32)
            or not x._data.ndim or not idx._data.ndim   # (a 0-d index selects like an int: a view, elsewhere)
            or (x._requires_grad and (not _FLAGS.grad_off or _GRAD.enabled))):
        return None
    try:
        rows = np.take(x._data, idx._data, axis=0)
    except IndexError:
        return None
    return _make(rows, x.dtype, CPU)


def _setitem(x: Tensor, idx, value) -> None:
    basic, adv = _parse(x, idx)
    if value.__class__ is Tensor and value.ndim and value._data.shape[0] == 1:
        value = _drop_leading_ones(value)
    if not adv:
        from .copy import copy_
        dst = _basic(x, basic)
        if value.__class__ is Tensor and tuple(value._data.shape) != tuple(dst._data.shape):
            value = value.expand(tuple(dst._data.shape))   # PyTorch's errors for a value that does not fit
        copy_(dst, value)  # writes through the view and bumps the shared version counter
        return
    view = x if all(b.__class__ is slice and b == _FULL for b in basic) else _basic(x, basic)
    index_put_op(view, _index_list(adv), _values_like(x, value), accumulate=False, out=view)


def _drop_leading_ones(value: Tensor) -> Tensor:
    """value without its leading size-1 dims (a view), as PyTorch's __setitem__ takes it: x[i] = v with v of shape
    (1, n) fills a row of n, a (1, 1) value one element."""
    shape = tuple(value._data.shape)
    n = 0
    while n < len(shape) and shape[n] == 1:
        n += 1
    return value.reshape(shape[n:])


def _values_like(x: Tensor, value) -> Tensor:
    """`value` as a tensor of x's dtype on x's device (PyTorch's __setitem__ casts)."""
    if isinstance(value, Tensor):
        from .copy import cast, to_device
        keep = value.device is x.device or (value.device is CPU and value.ndim == 0)
        v = value if keep else to_device(value, x.device)
        return v if v.dtype is x.dtype else cast(v, x.dtype)
    from .creation import full
    return full((), _py_value(value, x.dtype), dtype=x.dtype, device=x.device)


# ----------------------------------------------------------------------------------------- backward rules
# Each rule is written in registered ops (mostly this family's: gather <-> scatter_add, index_select <->
# index_add, index <-> index_put, take <-> put, masked_select <-> masked_scatter), so it runs on both devices and
# is differentiable again. Index tensors get no gradient. Scatters into zeros accumulate with atomics on cuda
# (float sums over duplicate indices in unspecified order); cpu results are deterministic.

def _zeros(like, dtype=None) -> Tensor:
    """Zeros of a saved tensor's (or an InputMeta's) shape, dtype and device."""
    from .creation import zeros
    return zeros(tuple(like.shape), dtype=like.dtype if dtype is None else dtype, device=like.device)


class _Like:
    """A (shape, dtype, device) record for _zeros: `shape` with the dtype and device of t."""

    __slots__ = ("shape", "dtype", "device")

    def __init__(self, shape, t: Tensor):
        self.shape, self.dtype, self.device = tuple(shape), t.dtype, t.device


def _arange_index(shape, device) -> Tensor:
    """int64 index of `shape` whose value at p is p[0] (0 for a 0-d shape): along dim 0 it maps every position to
    itself, so gather(t, 0, it) crops t to `shape` and scatter_add(zeros, 0, it, g) embeds g at the origin."""
    from .creation import arange, zeros
    if not shape:
        return zeros((), dtype=_dt.int64, device=device)
    col = arange(shape[0], dtype=_dt.int64, device=device)
    return col.reshape((shape[0],) + (1,) * (len(shape) - 1)).expand(*shape)


def _embed(g: Tensor, shape) -> Tensor:
    """g (no larger than `shape` on any dim) at the origin of a zero tensor of `shape`."""
    shape = tuple(shape)
    if tuple(g.shape) == shape:
        return g
    if g.ndim == 0 and len(shape) == 1:  # a 0-d index with a 1-d src: the one element is src[0]
        g = g.reshape(1)
        if shape == (1,):
            return g
    return scatter_add_op(_zeros(_Like(shape, g)), 0, _arange_index(tuple(g.shape), g.device), g)


def _crop(t: Tensor, shape) -> Tensor:
    """The leading `shape` block of t (what a scatter reads of a src larger than its index)."""
    shape = tuple(shape)
    if tuple(t.shape) == shape:
        return t
    return gather_op(t, 0, _arange_index(shape, t.device))


def _fit(g: Tensor, shape) -> Tensor:
    """g reshaped to `shape` when only the layout of its (equal number of) elements differs."""
    shape = tuple(shape)
    return g if tuple(g.shape) == shape else g.reshape(shape)


def _gather_vjp(ctx, grad):
    x, _, index = ctx.inputs
    return scatter_add_op(_zeros(x), ctx.meta.aux, index, grad), None


def _scatter_src_grad(grad, d, index, src):
    return _embed(gather_op(grad, d, index), src.shape)


def _exclusive_product(s, d, index, ones_x):
    """E[p] = the product of the other src values scattered to the same position as s[p] (d out / d s[p] of
    scatter(reduce='multiply') is x * E), exact in value and in first derivative also where s has zeros.

    The nonzero part is the group's product with zeros read as 1, divided by s[p] (PyTorch's scatter_reduce
    'prod' backward divides too); the zeros among the others contribute 1 (none), their sum (one: value 0, and
    the derivative 1 with respect to that zero) or 0 (two or more: value and first derivative both 0), so second
    derivatives are right where PyTorch refuses ("Double backward is unsupported ... >1 zeros")."""
    zero = s == 0
    zf = zero.to(s.dtype)
    s1 = masked_fill_op(s, zero, 1)
    nonzero_others = gather_op(scatter_op(ones_x, d, index, s1, reduce="multiply"), d, index) / s1
    zeros_x = _zeros(ones_x)
    n_other = gather_op(scatter_add_op(zeros_x, d, index, zf), d, index) - zf
    sz = s * zf
    one_other = gather_op(scatter_add_op(zeros_x, d, index, sz), d, index) - sz
    zero_part = masked_fill_op(masked_fill_op(one_other, n_other != 1, 0), n_other == 0, 1)
    return nonzero_others * zero_part


def _scatter_vjp(ctx, grad):
    x, _, index, src = ctx.inputs[:4]
    reduce = ctx.inputs[4] if len(ctx.inputs) > 4 else ctx.kwargs.get("reduce")
    d = ctx.meta.aux
    needs = ctx.needs_input_grad
    has_src = isinstance(src, Tensor)
    gx = gs = None
    if reduce is None:
        if needs[0]:
            gx = scatter_op(grad, d, index, 0)  # the overwritten positions get no gradient
        if has_src and needs[2]:
            gs = _scatter_src_grad(grad, d, index, src)
    elif reduce == "add":
        gx = grad if needs[0] else None
        if has_src and needs[2]:
            gs = _scatter_src_grad(grad, d, index, src)
    else:  # multiply: out = x * P with P the product of the src values scattered to each position
        from .creation import ones
        ones_x = ones(tuple(x.shape), dtype=x.dtype, device=x.device)
        s = _crop(src, index.shape) if has_src else src
        if needs[0]:
            gx = grad * scatter_op(ones_x, d, index, s, reduce="multiply")
        if has_src and needs[2]:
            gs = _embed(gather_op(grad * x, d, index) * _exclusive_product(s, d, index, ones_x), src.shape)
    return (gx, None, gs) if has_src else (gx, None)


def _scatter_add_vjp(ctx, grad):
    x, _, index, src = ctx.inputs
    needs = ctx.needs_input_grad
    gs = _scatter_src_grad(grad, ctx.meta.aux, index, src) if needs[2] else None
    return (grad if needs[0] else None), None, gs


def _index_select_vjp(ctx, grad):
    x, _, index = ctx.inputs
    return index_add_op(_zeros(x), ctx.meta.aux, index, grad), None


def _index_add_vjp(ctx, grad):
    x, _, index, source = ctx.inputs
    needs = ctx.needs_input_grad
    gs = None
    if needs[2]:
        gs = _fit(index_select_op(grad, ctx.meta.aux, index), source.shape)
        alpha = ctx.kwargs.get("alpha", 1)
        if alpha != 1:
            gs = gs * alpha
    return (grad if needs[0] else None), None, gs


def _list_tail(ctx, n_positional: int) -> list:
    """None for each tensor that autograd found inside the list arguments (the index tensors)."""
    return [None] * (len(ctx.needs_input_grad) - n_positional)


def _index_put_vjp(ctx, grad):
    x, indices, values = ctx.inputs[:3]
    accumulate = ctx.inputs[3] if len(ctx.inputs) > 3 else ctx.kwargs.get("accumulate", False)
    needs = ctx.needs_input_grad
    gx = gv = None
    if needs[0]:
        # accumulate=False: the overwritten positions get no gradient
        gx = grad if accumulate else index_put_op(grad, tuple(indices), _zeros(_Like((), grad)), accumulate=False)
    if needs[1]:
        gv = index_op(grad, tuple(indices))  # reduced to values' (broadcast) shape by the engine
    return [gx, gv] + _list_tail(ctx, 2)


def _index_vjp(ctx, grad):
    x, indices = ctx.inputs
    return [index_put_op(_zeros(x), tuple(indices), grad, accumulate=True)] + _list_tail(ctx, 1)


def _masked_fill_vjp(ctx, grad):
    x, mask, value = ctx.inputs
    needs = ctx.needs_input_grad
    gx = masked_fill_op(grad, mask, 0) if needs[0] else None
    if not isinstance(value, Tensor):
        return gx, None
    gv = None
    if needs[2]:
        from .unary import logical_not
        gv = masked_fill_op(grad, logical_not(mask), 0).sum()
    return gx, None, gv


def _masked_select_vjp(ctx, grad):
    x, mask = ctx.inputs
    return masked_scatter_op(_zeros(_Like(ctx.meta.aux, grad)), mask, grad), None  # engine sums broadcast dims


def _masked_scatter_vjp(ctx, grad):
    x, mask, source = ctx.inputs
    needs = ctx.needs_input_grad
    gx = masked_fill_op(grad, mask, 0) if needs[0] else None
    gs = None
    if needs[2]:
        sel = masked_select_op(grad, mask)
        n = source.numel()
        if sel.shape[0] == n:
            gs = _fit(sel, source.shape)
        else:  # source elements past the mask's count are not read: zero gradient
            from .creation import arange
            used = arange(n, dtype=_dt.int64, device=grad.device) < sel.shape[0]
            gs = masked_scatter_op(_zeros(_Like(source.shape, grad)), _fit(used, source.shape), sel)
    return gx, None, gs


def _take_vjp(ctx, grad):
    x, index = ctx.inputs
    return put_op(_zeros(x), index, grad, accumulate=True), None


def _put_vjp(ctx, grad):
    x, index, source = ctx.inputs[:3]
    accumulate = ctx.inputs[3] if len(ctx.inputs) > 3 else ctx.kwargs.get("accumulate", False)
    needs = ctx.needs_input_grad
    gx = gs = None
    if needs[0]:
        gx = grad if accumulate else put_op(grad, index, _zeros(_Like(source.shape, grad)), accumulate=False)
    if needs[2]:
        gs = _fit(take_op(grad, index), source.shape)
    return gx, None, gs


gather_op.vjp = _gather_vjp
scatter_op.vjp = _scatter_vjp
scatter_add_op.vjp = _scatter_add_vjp
index_select_op.vjp = _index_select_vjp
index_add_op.vjp = _index_add_vjp
index_put_op.vjp, index_put_op.save = _index_put_vjp, "none"
index_op.vjp, index_op.save = _index_vjp, "none"
masked_fill_op.vjp = _masked_fill_vjp
masked_select_op.vjp = _masked_select_vjp
masked_scatter_op.vjp = _masked_scatter_vjp
take_op.vjp = _take_vjp
put_op.vjp = _put_vjp


# ----------------------------------------------------------------------------------------- Tensor methods

def _scatter_method(self, dim, index, src=None, value=None, *, reduce=None):
    return scatter(self, dim, index, src, value, reduce=reduce)


def _scatter_(self, dim, index, src=None, value=None, *, reduce=None):
    return scatter(self, dim, index, src, value, reduce=reduce, out=self)


_bind.methods(
    gather=lambda self, dim, index, *, sparse_grad=False: gather_op(self, dim, index),
    scatter=_scatter_method, scatter_=_scatter_,
    scatter_add=lambda self, dim, index, src: scatter_add_op(self, dim, index, src),
    scatter_add_=lambda self, dim, index, src: scatter_add_op(self, dim, index, src, out=self),
    index_select=lambda self, dim, index: index_select_op(self, dim, index),
    index_add=lambda self, dim, index, source, *, alpha=1: index_add_op(self, dim, index, source, alpha=alpha),
    index_add_=lambda self, dim, index, source, *, alpha=1: index_add_op(self, dim, index, source, alpha=alpha,
                                                                         out=self),
    index_put=lambda self, indices, values, accumulate=False: index_put(self, indices, values, accumulate),
    index_put_=_index_put_,
    masked_fill=masked_fill, masked_fill_=_masked_fill_,
    masked_select=lambda self, mask: masked_select_op(self, mask),
    nonzero=lambda self, *, as_tuple=False: nonzero(self, as_tuple=as_tuple),
    argwhere=argwhere,
    take=lambda self, index: take_op(self, index),
    put=lambda self, index, source, accumulate=False: put_op(self, index, source, accumulate=accumulate),
    put_=lambda self, index, source, accumulate=False: put_op(self, index, source, accumulate=accumulate, out=self),
    masked_scatter=lambda self, mask, source: masked_scatter_op(self, mask, source),
    masked_scatter_=lambda self, mask, source: masked_scatter_op(self, mask, source, out=self),
    __getitem__=_getitem, __setitem__=_setitem,
)
