"""Sorting: sort, argsort, msort, topk.

Order. Every row (the elements along `dim`) is ordered by a key that compares like PyTorch: integers and bools
by value (int32 keys; int64 keeps int64), floats (fp16/bf16 read as fp32) by their bit pattern mapped to a
signed integer of the same order, with -0.0 folded into +0.0 (they compare equal) and every NaN folded into one
value above +inf (PyTorch sorts NaN as the largest). A descending sort uses ~key (key xor -1). Ties are broken by
the original position, so both devices give the stable order, equal to NumPy's stable argsort (stable=False
gets it too). 32-bit keys travel packed with their position in one int64 (key << 32 | position); 64-bit keys
(int64, float64) travel as (key, position) pairs.

Gradients. The values of sort and topk send their gradient back to the positions they came from: a scatter of
the gradient into zeros along `dim` at the returned indices (distinct positions, so exact on both devices, and
differentiable again: its own gradient is a gather). Indices and argsort carry no gradient.

Kernels.
- Rows of up to SORT_BLOCK elements: `_sort_rows_kernel` loads ROWS rows per program into registers (padded to a
  power of two with the largest key and positions past the row, so padding sorts last), sorts the (key, position)
  pairs with a bitonic network, and writes the first K positions of each row (all of them for sort, k for topk)
  and the values read back from the input at those positions.
- Longer rows (a documented fallback that stays in Triton): `_sort_chunks_kernel` sorts each SORT_BLOCK chunk
  of every row the same way into a scratch (key, position) buffer; `_merge_kernel` passes then merge sorted runs
  pairwise (widths SORT_BLOCK, 2*SORT_BLOCK, ...): an element's place in the merged run is its place in its own
  run plus its rank in the partner run, found by a binary search (pairs are unique, so there are no ties); and
  `_sort_output_kernel` writes values and indices. O(n log^2 n) work, every pass fully parallel.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray
from ..tensor import Tensor, from_array
from . import _bind, launch
from . import pointwise as pw
from .registry import BenchSpec, Meta, OpDef, Sample, register, wrap_dim, write_out
from .samples import make_tensor, rng_for

FAMILY = "sort"

__all__ = ["sort", "argsort", "msort", "topk"]

# Longest row sorted in registers by one program; longer rows take the chunk-sort + merge path. Smaller under
# the interpreter, whose cost grows with the number of network steps (so tests reach the merge path cheaply).
SORT_BLOCK = 256 if _cuda.INTERPRET else 2048
# Elements (rows x padded row length) one program of _sort_rows_kernel holds.
_ROW_ELEMS = 4096 if _cuda.INTERPRET else 2048
_I32_MAX = 2 ** 31 - 1
_I64_MAX = 2 ** 63 - 1

sort_result = namedtuple("sort", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])


def _key_kind(d: _dt.dtype) -> int:
    """0: integer key in int32; 1: integer key in int64; 2: float via fp32 bits; 3: fp64 bits."""
    if d is _dt.int64:
        return 1
    if d is _dt.float64:
        return 3
    if d.kind == _dt.FLOAT:
        return 2
    return 0


# ---------------------------------------------------------------------------------------- Triton helpers

@triton.jit
def _sort_key(v, flip, KEY_KIND: tl.constexpr):
    # an integer that orders like PyTorch's comparison of v (NaN largest, -0.0 == 0.0), xor flip (-1 reverses
    # the order for a descending sort, 0 keeps it)
    if KEY_KIND == 0:
        k = v.to(tl.int32)
    elif KEY_KIND == 1:
        k = v.to(tl.int64)
    elif KEY_KIND == 2:
        f = v.to(tl.float32)
        f = tl.where(f == 0.0, 0.0, f)
        b = f.to(tl.int32, bitcast=True)
        b = tl.where(f != f, 0x7FC00000, b)
        k = tl.where(b < 0, b ^ 0x7FFFFFFF, b)
    else:
        f = v.to(tl.float64)
        f = tl.where(f == 0.0, 0.0, f)
        b = f.to(tl.int64, bitcast=True)
        b = tl.where(f != f, 0x7FF8000000000000, b)
        k = tl.where(b < 0, b ^ 0x7FFFFFFFFFFFFFFF, b)
    return k ^ flip


_ONE = tl.constexpr(1)


@triton.jit
def _pair_members(v, side, OUTER: tl.constexpr, INNER: tl.constexpr):
    # The left and the right member of each element's compare-and-swap pair (elements INNER apart), in v's shape.
    vy = tl.reshape(v, [OUTER, 2, INNER])
    left = tl.reshape(tl.broadcast_to(tl.sum(tl.where(side == 0, vy, 0), 1)[:, None, :], [OUTER, 2, INNER]), v.shape)
    right = tl.reshape(tl.broadcast_to(tl.sum(tl.where(side == 1, vy, 0), 1)[:, None, :], [OUTER, 2, INNER]), v.shape)
    return left, right


@triton.jit
def _bitonic_sort(x, pos, PAIRS: tl.constexpr, ROWS: tl.constexpr, N_DIMS: tl.constexpr):
    # Sorts each row of [ROWS, 2**N_DIMS] ascending: the packed int64 (key << 32 | position) values alone, or
    # with PAIRS (64-bit keys) the (key, position) pairs lexicographically. Each compare-and-swap step pairs
    # elements 2**(N_DIMS-1-i) apart by reshaping to [*, 2, 2**(N_DIMS-1-i)] and reading both sides with a sum
    # over the middle axis; `flip` reverses the order in alternate blocks until the final merge.
    # Shapes are passed as constexpr arguments, never bound to names, and every shift has a constexpr on its
    # left: Triton 3.6 refuses to re-bind a `name: tl.constexpr` in an unrolled loop, turns a constexpr bound to
    # a plain name there into a tensor, and makes `1 << c` (a Python int on the left) a tensor.
    side = tl.arange(0, 2)[None, :, None]
    for stage in tl.static_range(1, N_DIMS + 1):
        if stage < N_DIMS:
            flip = tl.reshape(tl.broadcast_to(side, [ROWS << (N_DIMS - 1 - stage), 2, _ONE << stage]),
                              x.shape) != 0
        else:
            flip = tl.zeros(x.shape, tl.int32) != 0
        for j in tl.static_range(stage):
            xl, xr = _pair_members(x, side, ROWS << (j + N_DIMS - stage), _ONE << (stage - j - 1))
            if PAIRS:
                pl, pr = _pair_members(pos, side, ROWS << (j + N_DIMS - stage), _ONE << (stage - j - 1))
                swap = ((xl > xr) | ((xl == xr) & (pl > pr))) ^ flip
                pos = tl.where(swap, pos ^ pl ^ pr, pos)
            else:
                swap = (xl > xr) ^ flip
            x = tl.where(swap, x ^ xl ^ xr, x)
    return x, pos


# ----------------------------------------------------------------------------------------------- kernels

@triton.jit
def _sort_rows_kernel(x_ptr,                    # input, any strides
                      values_ptr, indices_ptr,  # outputs (same shape and strides), K along the sorted dim
                      n_rows, length, k_out,    # rows; row length; positions written per row (K)
                      s1,                       # size of outer dim 1 (rows = s0 * s1)
                      xs0, xs1, x_dim_stride,   # input strides: outer dims, sorted dim
                      os0, os1, o_dim_stride,   # output strides: outer dims, sorted dim
                      flip,                     # -1: descending, 0: ascending (xor-ed into the keys)
                      KEY_KIND: tl.constexpr, PAD: tl.constexpr, PAIRS: tl.constexpr,
                      WRITE_VALUES: tl.constexpr, ROWS: tl.constexpr, N: tl.constexpr, N_DIMS: tl.constexpr):
    # bytes: reads each row once (plus K gathered values), writes K values and K int64 indices per row
    r = tl.program_id(0).to(tl.int64) * ROWS + tl.arange(0, ROWS)
    rmask = r < n_rows
    x_row = (r // s1) * xs0 + (r % s1) * xs1
    o_row = (r // s1) * os0 + (r % s1) * os1
    p = tl.arange(0, N)
    m = rmask[:, None] & (p[None, :] < length)
    v = tl.load(x_ptr + x_row[:, None] + p[None, :].to(tl.int64) * x_dim_stride, mask=m, other=0)
    key = tl.where(m, _sort_key(v, flip, KEY_KIND), PAD)
    pos = tl.broadcast_to(p[None, :], [ROWS, N])
    if PAIRS:
        key, pos = _bitonic_sort(key, pos, True, ROWS, N_DIMS)
    else:
        packed, pos = _bitonic_sort((key.to(tl.int64) << 32) | pos.to(tl.int64), pos, False, ROWS, N_DIMS)
        pos = (packed & 0xFFFFFFFF).to(tl.int32)
    om = rmask[:, None] & (p[None, :] < k_out)
    o = o_row[:, None] + p[None, :].to(tl.int64) * o_dim_stride
    if WRITE_VALUES:
        vals = tl.load(x_ptr + x_row[:, None] + pos.to(tl.int64) * x_dim_stride, mask=om)
        tl.store(values_ptr + o, vals, mask=om)
    tl.store(indices_ptr + o, pos.to(tl.int64), mask=om)


@triton.jit
def _sort_chunks_kernel(x_ptr,                  # input, any strides
                        key_ptr, pos_ptr,       # scratch out, [rows, length]: sorted runs of packed keys
                                                # (or keys and int32 positions with PAIRS)
                        n_pieces, length, n_chunks, s1,  # rows * chunks; row length; chunks per row; outer dim 1
                        xs0, xs1, x_dim_stride,  # input strides: outer dims, sorted dim
                        flip,                   # -1: descending, 0: ascending (xor-ed into the keys)
                        KEY_KIND: tl.constexpr, PAD: tl.constexpr, PAIRS: tl.constexpr,
                        ROWS: tl.constexpr, N: tl.constexpr, N_DIMS: tl.constexpr):
    # bytes: reads N input elements, writes N packed keys (or N keys + N positions) per chunk; ROWS chunks
    # (each N = SORT_BLOCK elements of one row) per program
    c = tl.program_id(0).to(tl.int64) * ROWS + tl.arange(0, ROWS)
    row = c // n_chunks
    start = (c % n_chunks) * N
    x_row = (row // s1) * xs0 + (row % s1) * xs1
    p = start[:, None] + tl.arange(0, N)[None, :]
    m = (c < n_pieces)[:, None] & (p < length)
    v = tl.load(x_ptr + x_row[:, None] + p * x_dim_stride, mask=m, other=0)
    key = tl.where(m, _sort_key(v, flip, KEY_KIND), PAD)
    pos = p.to(tl.int32)
    out = row[:, None] * length + p
    # padding sorts last, so the first (length - start) sorted entries are the chunk's real elements
    if PAIRS:
        key, pos = _bitonic_sort(key, pos, True, ROWS, N_DIMS)
        tl.store(key_ptr + out, key, mask=m)
        tl.store(pos_ptr + out, pos, mask=m)
    else:
        packed, pos = _bitonic_sort((key.to(tl.int64) << 32) | pos.to(tl.int64), pos, False, ROWS, N_DIMS)
        tl.store(key_ptr + out, packed, mask=m)


@triton.jit
def _merge_kernel(key_in, pos_in,               # sorted runs of `width` per row (pos_in used with PAIRS)
                  key_out, pos_out,             # out: runs of 2 * width
                  total, length, width,         # rows * length; row length; current run width
                  n_steps,                      # binary-search steps (bit length of width, plus one)
                  PAIRS: tl.constexpr, BLOCK: tl.constexpr):
    # bytes: reads each entry once plus n_steps probes, writes each entry once
    e = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    m = e < total
    row_base = (e // length) * length
    q = e % length
    k = tl.load(key_in + e, mask=m, other=0)
    if PAIRS:
        i = tl.load(pos_in + e, mask=m, other=0)
    run = q // width
    pair = (run - run % 2) * width
    left = run % 2 == 0
    lo = tl.where(left, tl.minimum(pair + width, length), pair)
    hi = tl.where(left, tl.minimum(pair + 2 * width, length), pair + width)
    first = lo
    for _ in range(n_steps):
        active = lo < hi
        mid = (lo + hi) // 2
        km = tl.load(key_in + row_base + mid, mask=m & active, other=0)
        if PAIRS:
            im = tl.load(pos_in + row_base + mid, mask=m & active, other=0)
            less = (km < k) | ((km == k) & (im < i))
        else:
            less = km < k
        lo = tl.where(active & less, mid + 1, lo)
        hi = tl.where(active & (less == 0), mid, hi)
    dest = row_base + pair + (q - run * width) + (lo - first)
    tl.store(key_out + dest, k, mask=m)
    if PAIRS:
        tl.store(pos_out + dest, i, mask=m)


@triton.jit
def _sort_output_kernel(x_ptr,                  # input, any strides
                        key_ptr, pos_ptr,       # sorted packed keys (or, with PAIRS, int32 positions), [rows, length]
                        values_ptr, indices_ptr,  # outputs, K along the sorted dim
                        total, length, k_out, s1,  # rows * K; row length; K; size of outer dim 1
                        xs0, xs1, x_dim_stride,  # input strides: outer dims, sorted dim
                        os0, os1, o_dim_stride,  # output strides: outer dims, sorted dim
                        PAIRS: tl.constexpr, WRITE_VALUES: tl.constexpr, BLOCK: tl.constexpr):
    # bytes: reads rows * K positions and gathered values, writes rows * K values and int64 indices
    e = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    m = e < total
    row = e // k_out
    j = e % k_out
    if PAIRS:
        pos = tl.load(pos_ptr + row * length + j, mask=m, other=0).to(tl.int64)
    else:
        pos = tl.load(key_ptr + row * length + j, mask=m, other=0) & 0xFFFFFFFF
    o = (row // s1) * os0 + (row % s1) * os1 + j * o_dim_stride
    if WRITE_VALUES:
        v = tl.load(x_ptr + (row // s1) * xs0 + (row % s1) * xs1 + pos * x_dim_stride, mask=m)
        tl.store(values_ptr + o, v, mask=m)
    tl.store(indices_ptr + o, pos, mask=m)


# ---------------------------------------------------------------------------------------------- launcher

def _outer_layout(x: CudaArray, out_strides, dim: int):
    """(s0, s1), input outer strides, output outer strides: the dims other than `dim`, collapsed to 2, or None
    when they do not collapse that far (the caller then sorts a contiguous copy)."""
    shape = [n for k, n in enumerate(x.shape) if k != dim]
    xs = [s for k, s in enumerate(x.strides) if k != dim]
    os_ = [s for k, s in enumerate(out_strides) if k != dim]
    cshape, (cx, co) = launch.collapse(tuple(shape), [tuple(xs), tuple(os_)])
    if len(cshape) > 2:
        return None
    k = 2 - len(cshape)
    return (1,) * k + tuple(cshape), (0,) * k + tuple(cx), (0,) * k + tuple(co)


def _sort_cuda_impl(x: Tensor, dim: int, descending: bool, k_out: int, write_values: bool):
    """(values or None, indices) of the first k_out sorted positions of every row along `dim`."""
    arr = x._data
    if not arr.shape:  # a 0-d tensor is one row of one element
        arr = arr.view_as((1,), (1,), arr.offset)
        dim = 0
    out_shape = tuple(k_out if k == dim else n for k, n in enumerate(arr.shape))
    values = CudaArray.empty(out_shape, arr.dtype) if write_values else None
    indices = CudaArray.empty(out_shape, np.dtype(np.int64))
    length = arr.shape[dim]
    n_rows = 1
    for k, n in enumerate(arr.shape):
        if k != dim:
            n_rows *= n
    if n_rows == 0 or k_out == 0:
        return values, indices
    layout = _outer_layout(arr, indices.strides, dim)
    if layout is None:
        dense = CudaArray.empty(tuple(arr.shape), arr.dtype)
        pw.launch_pointwise(_identity, [_wrapped(arr, x)], tuple(arr.shape), x.dtype, x.dtype, dense)
        arr = dense
        layout = _outer_layout(arr, indices.strides, dim)
    (_, s1), xs, os_ = layout
    xk = pw.kernel_view(arr)
    vk = pw.kernel_view(values) if write_values else indices
    kind = _key_kind(x.dtype)
    pad = _I64_MAX if kind in (1, 3) else _I32_MAX
    if length <= SORT_BLOCK:
        n = launch.next_pow2(length)
        rows = max(1, min(launch.next_pow2(n_rows), _ROW_ELEMS // n))
        _sort_rows_kernel[(launch.num_programs(n_rows, rows),)](
            xk, vk, indices, n_rows, length, k_out, s1, xs[0], xs[1], arr.strides[dim], os_[0], os_[1],
            indices.strides[dim], -1 if descending else 0, KEY_KIND=kind, PAD=pad, PAIRS=kind in (1, 3),
            WRITE_VALUES=write_values, ROWS=rows, N=n, N_DIMS=n.bit_length() - 1)
        return values, indices
    keys, pos = _merge_sort_rows(xk, n_rows, length, s1, xs, arr.strides[dim], kind, bool(descending), pad)
    total = n_rows * k_out
    block = launch.ELEMENTWISE_BLOCK
    _sort_output_kernel[(launch.num_programs(total, block),)](
        xk, keys, pos, vk, indices, total, length, k_out, s1, xs[0], xs[1], arr.strides[dim], os_[0], os_[1],
        indices.strides[dim], PAIRS=kind in (1, 3), WRITE_VALUES=write_values, BLOCK=block)
    return values, indices


def _merge_sort_rows(xk, n_rows, length, s1, xs, x_dim_stride, kind, descending, pad):
    """Sorted (keys, positions) scratch arrays [n_rows, length] of rows longer than SORT_BLOCK: chunk sorts,
    then pairwise merges. Packed keys hold the position in their low 32 bits (positions is then None)."""
    chunk = SORT_BLOCK
    n_chunks = -(-length // chunk)
    pairs = kind in (1, 3)
    i64 = np.dtype(np.int64)
    keys = [CudaArray.empty((n_rows, length), i64), CudaArray.empty((n_rows, length), i64)]
    if pairs:
        poss = [CudaArray.empty((n_rows, length), np.dtype(np.int32)),
                CudaArray.empty((n_rows, length), np.dtype(np.int32))]
    else:
        poss = keys  # unused by the kernels without PAIRS
    pieces = n_rows * n_chunks
    rows = max(1, min(launch.next_pow2(pieces), _ROW_ELEMS // chunk))
    _sort_chunks_kernel[(launch.num_programs(pieces, rows),)](
        xk, keys[0], poss[0], pieces, length, n_chunks, s1, xs[0], xs[1], x_dim_stride, -1 if descending else 0,
        KEY_KIND=kind, PAD=pad, PAIRS=pairs, ROWS=rows, N=chunk,
        N_DIMS=chunk.bit_length() - 1)
    total = n_rows * length
    block = launch.ELEMENTWISE_BLOCK
    src = 0
    width = chunk
    while width < length:
        _merge_kernel[(launch.num_programs(total, block),)](
            keys[src], poss[src], keys[1 - src], poss[1 - src], total, length, width, width.bit_length() + 1,
            PAIRS=pairs, BLOCK=block)
        src = 1 - src
        width *= 2
    return keys[src], poss[src]


@triton.jit
def _identity(x, y, z, p0, p1):
    return x


def _wrapped(arr: CudaArray, like: Tensor) -> Tensor:
    from ..tensor import _make
    return _make(arr, like.dtype, like.device)


# -------------------------------------------------------------------------------------------- NumPy side

def _np_sort(a: np.ndarray, dim: int, descending: bool):
    """(values, indices) of NumPy's stable sort along `dim`, descending with NaN first and ties in order."""
    if a.ndim == 0:
        return a.copy(), np.zeros((), np.int64)
    x = np.moveaxis(a, dim, -1)
    keys = x.astype(np.float32) if x.dtype == np.float16 or x.dtype == _dt.bfloat16.np else x
    if descending:
        order = np.argsort(keys[..., ::-1], axis=-1, kind="stable")
        idx = (x.shape[-1] - 1 - order)[..., ::-1]
    else:
        idx = np.argsort(keys, axis=-1, kind="stable")
    vals = np.take_along_axis(x, idx, axis=-1)
    return np.moveaxis(vals, -1, dim), np.moveaxis(idx.astype(np.int64, copy=False), -1, dim)


def _c(a: np.ndarray) -> np.ndarray:
    return a if a.flags.c_contiguous else a.copy(order="C")


def _ref_order(x, dim, descending):
    """Reference order via np.lexsort on (NaN flag, value, position): independent of the fallback's argsort."""
    x = np.asarray(x)
    if x.ndim == 0:
        return x, np.zeros((), np.int64)
    y = np.moveaxis(x, dim, -1)
    pos = np.broadcast_to(np.arange(y.shape[-1]), y.shape)
    if y.dtype.kind == "f":
        nan = np.isnan(y)
        val = np.where(nan, 0.0, y)
    else:
        nan = np.zeros(y.shape, bool)
        val = y.astype(np.int64)
    keys = (pos, -val, ~nan) if descending else (pos, val, nan)
    order = np.lexsort(keys, axis=-1) if y.size else np.zeros(y.shape, np.int64)
    return np.moveaxis(np.take_along_axis(y, order, axis=-1), -1, dim), np.moveaxis(order, -1, dim)


# ------------------------------------------------------------------------------------------- sort, argsort

def _sort_infer(input, dim=-1, descending=False, stable=False):
    d = wrap_dim(dim, input.ndim)
    shape = tuple(input.shape)
    return Meta((shape, shape), (input.dtype, _dt.int64), input.device, d)


def _sort_cpu(meta, input, dim=-1, descending=False, stable=False):
    v, i = _np_sort(input._data, meta.aux, descending)
    return _c(v), _c(i)


def _sort_cuda(meta, input, dim=-1, descending=False, stable=False):
    d = meta.aux
    n = input.shape[d] if input.ndim else 1
    v, i = _sort_cuda_impl(input, d, descending, n, True)
    if not input.ndim:
        v, i = v.view_as((), (), v.offset), i.view_as((), (), i.offset)
    return v, i


def _special_values(dtype, device):
    vals = [3.0, float("nan"), 1.0, -0.0, 0.0, 3.0, float("-inf"), float("nan"), float("inf"), -1.0, 0.0, -0.0]
    return from_array(np.array(vals, dtype=dtype.np)).to(device)


def _special_samples(dtype, device):
    """(values, name) of the special-values sample. float64 samples are gradchecked, and ties, NaN and infinities
    are kinks of sort (central differences there are not the derivative), so float64 gets distinct finite values
    of different magnitudes, -0.0 among them; NaN / -0.0 / tie order in float64 is covered by
    tests/ops/test_sort.py."""
    if dtype is _dt.float64:
        vals = [3.0, -1e3, 1.0, -0.0, 2.5e-3, 3.5, -7.0, 1e3, 12.0, -1.0, 0.5, -2e-3]
        return from_array(np.array(vals, dtype=np.float64)).to(device), "distinct-finite"
    return _special_values(dtype, device), "nan-inf-zeros"


def _sort_samples(device, dtype):
    rng = rng_for("sort", dtype.name)
    x = lambda shape, **kw: make_tensor(shape, dtype, device, rng=rng, **kw)  # noqa: E731
    yield Sample((x(()),), name="0d")
    yield Sample((x((1,)), -1), name="(1,)")
    yield Sample((x((0,)), 0), name="empty")
    yield Sample((x((5,)),), {"descending": True}, name="(5,)-desc")
    yield Sample((x((2 ** 6 + 17,)),), {"stable": True}, name="2**6+17")
    yield Sample((x((3, 0, 2)), 1), name="(3,0,2)")
    yield Sample((x((4, 7)), 0), name="(4,7)-dim0")
    yield Sample((x((2, 3, 5)), 1, True), name="(2,3,5)-dim1-desc")
    yield Sample((x((5, 6), noncontiguous=True), -1), name="noncontig")
    yield Sample((x((6, 4)).t(), 0, True), name="transposed-desc")
    yield Sample((x((2, 2 * SORT_BLOCK + 17)), -1, True), name="long-rows-desc")
    if dtype.kind == _dt.FLOAT:
        vals, name = _special_samples(dtype, device)
        yield Sample((vals,), name=name)
        yield Sample((vals,), {"descending": True}, name=f"{name}-desc")


def _bench_make(n, device, dtype):
    return (make_tensor((max(1, n // 1024), 1024), dtype, device, rng=rng_for("sort-bench", n)),), {}


def _sort_bytes(n, dt):
    return n * (2 * dt.itemsize + 8)


def _sort_flops(n):
    return 0


sort_op = register(OpDef(
    name="sort", family=FAMILY, infer=_sort_infer, impl={"cpu": _sort_cpu, "cuda": _sort_cuda},
    ref=lambda x, dim=-1, descending=False, stable=False: _ref_order(x, dim, descending),
    samples=_sort_samples, n_outputs=2,
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24), make=_bench_make, bytes=_sort_bytes, flops=_sort_flops),
    extra={"torch": lambda torch, x, dim=-1, descending=False, stable=False:
           torch.sort(x, dim=dim, descending=descending, stable=stable)}))


def _write_pair(name: str, out, values: Tensor, indices: Tensor) -> tuple:
    """out=(values, indices): both written (an empty one takes the result's shape), PyTorch's type errors for
    anything else."""
    if not isinstance(out, (tuple, list)) or len(out) != 2 or not all(isinstance(o, Tensor) for o in out):
        raise TypeError(f"{name}(): argument 'out' must be tuple of Tensors, not {type(out).__name__}")
    return write_out(out[0], values), write_out(out[1], indices)


def sort(input, dim=-1, descending=False, stable=False, *, out=None):
    """(values, indices) sorted along `dim`; NaN sorts as the largest; ties keep their order on every device."""
    values, indices = sort_op(input, dim, descending, stable)
    if out is not None:
        values, indices = _write_pair("sort", out, values, indices)
    return sort_result(values, indices)


def _argsort_infer(input, dim=-1, descending=False, stable=False):
    return Meta(tuple(input.shape), _dt.int64, input.device, wrap_dim(dim, input.ndim))


def _argsort_cpu(meta, input, dim=-1, descending=False, stable=False):
    return _c(_np_sort(input._data, meta.aux, descending)[1])


def _argsort_cuda(meta, input, dim=-1, descending=False, stable=False):
    d = meta.aux
    n = input.shape[d] if input.ndim else 1
    i = _sort_cuda_impl(input, d, descending, n, False)[1]
    return i if input.ndim else i.view_as((), (), i.offset)


argsort_op = register(OpDef(
    name="argsort", family=FAMILY, infer=_argsort_infer, impl={"cpu": _argsort_cpu, "cuda": _argsort_cuda},
    ref=lambda x, dim=-1, descending=False, stable=False: _ref_order(x, dim, descending)[1],
    samples=_sort_samples, differentiable=False,
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24), make=_bench_make,
                    bytes=lambda n, dt: n * (dt.itemsize + 8), flops=_sort_flops),
    extra={"torch": lambda torch, x, dim=-1, descending=False, stable=False:
           torch.argsort(x, dim=dim, descending=descending, stable=stable)}))


def argsort(input, dim=-1, descending=False, stable=False) -> Tensor:
    """The indices that sort input along `dim` (stable)."""
    return argsort_op(input, dim, descending, stable)


def msort(input, *, out=None) -> Tensor:
    """input sorted along its first dim."""
    r = sort_op(input, 0)[0]
    return r if out is None else write_out(out, r)


# --------------------------------------------------------------------------------------------------- topk

def _topk_infer(input, k, dim=-1, largest=True, sorted=True):
    if input.dtype is _dt.bool_:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    d = wrap_dim(dim, input.ndim)
    size = input.shape[d] if input.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    shape = tuple(k if j == d else n for j, n in enumerate(input.shape))
    return Meta((shape, shape), (input.dtype, _dt.int64), input.device, d)


def _topk_cpu(meta, input, k, dim=-1, largest=True, sorted=True):
    a = input._data
    if a.ndim and 0 < k <= a.shape[meta.aux] // 4:
        r = _np_topk_partition(a, meta.aux, k, largest)
        if r is not None:
            return r
    v, i = _np_sort(a, meta.aux, largest)
    if input.ndim:
        v, i = np.take(v, np.arange(k), axis=meta.aux), np.take(i, np.arange(k), axis=meta.aux)
    return _c(v), _c(i)


def _np_topk_partition(a: np.ndarray, dim: int, k: int, largest: bool):
    """topk of a few elements per row without sorting whole rows (the full sort cost 55x PyTorch's topk(5) over
    2048 rows of 1024): np.argpartition brings each row's k extreme elements to one end. When exactly k elements
    of every row reach the k-th value t (no tie at t left out, the common case), those are the k; otherwise the
    rows keep every element beyond t and the first elements equal to t, in position order, that make up k (the
    sort's tie order). Then only those k are sorted, stably from position order (ties stay in it). None when a row
    holds a NaN (NaN ranks above +inf: the full sort places it)."""
    x = np.moveaxis(a, dim, -1)
    keys = x.astype(np.float32) if x.dtype == np.float16 or x.dtype == _dt.bfloat16.np else x
    if keys.dtype.kind == "f" and np.isnan(np.min(keys)):
        return None
    n = keys.shape[-1]
    at = n - k if largest else k - 1
    part = np.argpartition(keys, at, axis=-1)
    t = np.take_along_axis(keys, part[..., at:at + 1], axis=-1)
    reach = keys >= t if largest else keys <= t
    if np.all(np.count_nonzero(reach, axis=-1) == k):
        idx = np.sort(part[..., n - k:] if largest else part[..., :k], axis=-1)
    else:
        beyond = keys > t if largest else keys < t
        tied = reach & ~beyond
        room = k - np.count_nonzero(beyond, axis=-1, keepdims=True)
        chosen = beyond | (tied & (np.cumsum(tied, axis=-1) <= room))
        idx = np.nonzero(chosen)[-1].reshape(keys.shape[:-1] + (k,))   # row-major: positions ascending per row
    sub = np.take_along_axis(keys, idx, axis=-1)
    if largest:   # descending, ties in position order: a stable ascending sort of the reversed rows, reversed
        order = (k - 1 - np.argsort(sub[..., ::-1], axis=-1, kind="stable"))[..., ::-1]
    else:
        order = np.argsort(sub, axis=-1, kind="stable")
    idx = np.take_along_axis(idx, order, axis=-1)
    vals = np.take_along_axis(x, idx, axis=-1)
    return _c(np.moveaxis(vals, -1, dim)), _c(np.moveaxis(idx.astype(np.int64, copy=False), -1, dim))


def _topk_cuda(meta, input, k, dim=-1, largest=True, sorted=True):
    v, i = _sort_cuda_impl(input, meta.aux, largest, k if input.ndim else 1, True)
    if not input.ndim:
        v, i = v.view_as((), (), v.offset), i.view_as((), (), i.offset)
    return v, i


def _topk_samples(device, dtype):
    rng = rng_for("topk", dtype.name)
    x = lambda shape, **kw: make_tensor(shape, dtype, device, rng=rng, **kw)  # noqa: E731
    yield Sample((x(()), 1), name="0d")
    yield Sample((x(()), 0), name="0d-k0")
    yield Sample((x((0,)), 0), name="empty")
    yield Sample((x((5,)), 3), name="(5,)")
    yield Sample((x((2 ** 6 + 17,)), 5), {"largest": False}, name="smallest")
    yield Sample((x((4, 7)), 2, 0), name="(4,7)-dim0")
    yield Sample((x((2, 3, 5)), 5, -1, True, False), name="unsorted-flag")
    yield Sample((x((5, 6), noncontiguous=True), 4), name="noncontig")
    yield Sample((x((2, 2 * SORT_BLOCK + 17)), 6), name="long-rows")
    if dtype.kind == _dt.FLOAT:
        vals, name = _special_samples(dtype, device)
        yield Sample((vals, 5), name=name)


def _ref_topk(x, k, dim=-1, largest=True, sorted=True):
    v, i = _ref_order(x, dim, largest)
    if np.ndim(x) == 0:
        return v, i
    return np.take(v, np.arange(k), axis=dim), np.take(i, np.arange(k), axis=dim)


topk_op = register(OpDef(
    name="topk", family=FAMILY, infer=_topk_infer, impl={"cpu": _topk_cpu, "cuda": _topk_cuda},
    ref=_ref_topk, samples=_topk_samples, n_outputs=2, dtypes=tuple(d for d in _dt.ALL if d is not _dt.bool_),
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24),
                    make=lambda n, device, dtype: ((_bench_make(n, device, dtype)[0][0], 8), {}),
                    bytes=lambda n, dt: n * dt.itemsize, flops=_sort_flops),
    # sorted=True for PyTorch too: tritorch returns the sorted order either way (see topk), and PyTorch's order
    # for sorted=False is unspecified, so only the sorted order is comparable (the values' gradient follows it)
    extra={"torch": lambda torch, x, k, dim=-1, largest=True, sorted=True:
           torch.topk(x, k, dim=dim, largest=largest, sorted=True)}))


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):
    """(values, indices) of the k largest (smallest with largest=False) elements along `dim`, in sorted order
    (sorted=False returns the same sorted order). Ties go to the earlier position."""
    values, indices = topk_op(input, k, dim, largest, sorted)
    if out is not None:
        values, indices = _write_pair("topk", out, values, indices)
    return topk_result(values, indices)


# ---------------------------------------------------------------------------------------- backward rules

def _select_vjp(ctx, grad_values, grad_indices=None):
    """sort / topk: the values' gradient goes back to the positions they were read from (a scatter of the
    gradient into zeros along dim; the indices are a permutation or k distinct positions, so nothing collides and
    both devices give exact results). The indices output is integer: no gradient."""
    if grad_values is None:
        return (None,)
    from .creation import zeros
    from .indexing import scatter_op
    x = ctx.inputs[0]  # an InputMeta (save="output"): shape, dtype, device
    indices = ctx.saved_output(1)   # (the values may have been modified in place since)
    base = zeros(tuple(x.shape), dtype=grad_values.dtype, device=grad_values.device)
    return (scatter_op(base, ctx.meta.aux, indices, grad_values),)


sort_op.vjp, sort_op.save = _select_vjp, "output"
topk_op.vjp, topk_op.save = _select_vjp, "output"


# ---------------------------------------------------------------------------------------- Tensor methods

_bind.methods(
    sort=lambda self, dim=-1, descending=False, stable=False: sort(self, dim, descending, stable),
    argsort=lambda self, dim=-1, descending=False, stable=False: argsort(self, dim, descending, stable),
    msort=lambda self: msort(self),
    topk=lambda self, k, dim=-1, largest=True, sorted=True: topk(self, k, dim, largest, sorted),
)
