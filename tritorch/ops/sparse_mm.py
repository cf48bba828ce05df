"""coo_mm: a sparse matrix in COO form times a dense one, the product behind torch.sparse.mm / spmm and `@` with
a sparse operand (tritorch/sparse).

  coo_mm(indices, values, dense, rows) -> (rows, N)
      indices (2, nnz) int64, sorted by row (as coalesce() leaves them; duplicates allowed), values (nnz,),
      dense (K, N): out[i] = sum over k with indices[0, k] == i of values[k] * dense[indices[1, k]]

cuda: one program per (row, block of N columns) walks that row's entries (row pointers from searchsorted over the
sorted rows) and accumulates in registers: no atomics, so the sums are deterministic. cpu: rows of many entries
take one BLAS product each; the others are summed in layers (the k-th entry of every row at once), in chunks of
whole rows that keep the temporaries near a million elements; each row's sum runs in its entries' order.
The gradient is composed of ops: d values = the per-entry dot product of the incoming gradient's row and
dense's row (a sampled product), d dense = the transposed sparse matrix (entries re-sorted by column) times the
incoming gradient, itself a coo_mm; so double backward works on both devices.
"""
from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..backends.cuda import CudaArray
from ..tensor import Tensor
from . import launch
from . import pointwise as pw
from .nn_fused import _compute_np as _np_compute
from .registry import BenchSpec, Meta, OpDef, Sample, _type_name, device_of, register
from .samples import make_tensor, rng_for

FAMILY = "sparse"

__all__ = ["coo_mm"]

FLOATS = (_dt.float32, _dt.float64, _dt.float16, _dt.bfloat16)
_CHUNK_ELEMS = 1 << 20     # cpu: entries x columns per chunk of products


@triton.jit
def _coo_mm_kernel(
    row_ptr,                    # (rows + 1,) int64: row r's entries are [row_ptr[r], row_ptr[r + 1])
    cols_ptr,                   # (nnz,) int64 column of each entry (a strided row of indices)
    vals_ptr,                   # (nnz,) values
    dense_ptr,                  # (K, N) dense operand, any strides
    out_ptr,                    # (rows, N) result, contiguous
    N,                          # columns of dense and of the result
    cols_s, vals_s,             # strides of the entries' columns and values
    dense_rs, dense_cs,         # row / column strides of dense
    COMPUTE: tl.constexpr,      # fp32 (fp16/bf16/fp32) or fp64
    BLOCK_N: tl.constexpr,      # result columns per program
):
    # bytes: reads each entry (column, value) and its dense row slice once per column block, writes the result once
    row = tl.program_id(0).to(tl.int64)
    n = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    mask = n < N
    start = tl.load(row_ptr + row)
    end = tl.load(row_ptr + row + 1)
    acc = tl.zeros((BLOCK_N,), COMPUTE)
    for k in range(start, end):
        c = tl.load(cols_ptr + k * cols_s)
        v = tl.load(vals_ptr + k * vals_s).to(COMPUTE)
        acc += v * tl.load(dense_ptr + c * dense_rs + n * dense_cs, mask=mask, other=0).to(COMPUTE)
    tl.store(out_ptr + row * N + n, acc.to(out_ptr.dtype.element_ty), mask=mask)


# ============================================================================================== infer and impls

def _infer(indices, values, dense, rows):
    for t, what in ((indices, "indices"), (values, "values"), (dense, "dense")):
        if not isinstance(t, Tensor):
            raise TypeError(f"coo_mm(): argument '{what}' must be Tensor, not {type(t).__name__}")
    dev = device_of(indices, values, dense)
    if indices.dtype is not _dt.int64 or indices.dim() != 2 or indices.shape[0] != 2:
        raise RuntimeError(f"coo_mm: indices must be a (2, nnz) int64 tensor, got {indices.dtype} of shape "
                           f"{list(indices.shape)}")
    nnz = indices.shape[1]
    if values.dim() != 1 or values.shape[0] != nnz:
        raise RuntimeError(f"coo_mm: values must hold one number per entry ({nnz}), got shape {list(values.shape)}")
    if dense.dim() != 2:
        raise RuntimeError(f"coo_mm: the dense operand must be a matrix, got {dense.dim()} dims")
    if not isinstance(rows, int) or rows < 0:
        raise RuntimeError(f"coo_mm: rows must be a non-negative int, got {rows!r}")
    d = _dt.promote_types(values.dtype, dense.dtype)
    if d not in FLOATS:
        raise RuntimeError(f'"coo_mm" not implemented for \'{_type_name(d)}\'')
    return Meta((rows, dense.shape[1]), d, dev)


# cpu: rows with more entries than this take one BLAS product each (vals @ dense rows); the others are summed
# "in layers": the k-th entry of every such row at once, one vectorised gather-add per k. np.add.reduceat over
# the products ran at ~6.5 ns an element here (4096 rows, 40960 entries, N 64: 18.8 ms; layers: 6.1 ms).
_LAYERED_MAX = 32


def _row_sums(out, r_idx, c_idx, vals, mat, starts, counts) -> None:
    """out[row] = sum of vals[k] * mat[c_idx[k]] over each row's entries (starts/counts: the row segments)."""
    heavy = counts > _LAYERED_MAX
    for s, n in zip(starts[heavy].tolist(), counts[heavy].tolist()):
        out[r_idx[s]] = vals[s:s + n] @ mat[c_idx[s:s + n]]
    light_starts, light_counts = starts[~heavy], counts[~heavy]
    if not light_starts.size:
        return
    rows = r_idx[light_starts]
    for k in range(int(light_counts.max())):
        live = light_counts > k
        entries = light_starts[live] + k
        product = mat[c_idx[entries]]
        product *= vals[entries, None]
        out[rows[live]] += product


def _cpu(meta, indices, values, dense, rows):
    c = _np_compute(meta.dtype)
    r_idx, c_idx = indices._data[0], indices._data[1]
    vals, mat = values._data.astype(c, copy=False), dense._data.astype(c, copy=False)
    N = meta.shape[1]
    out = np.zeros((rows, N), c)
    nnz = r_idx.shape[0]
    if nnz and N:
        if r_idx.min() < 0 or r_idx.max() >= rows or c_idx.min() < 0 or c_idx.max() >= mat.shape[0]:
            raise RuntimeError(f"coo_mm: an index lies outside the ({rows}, {mat.shape[0]}) sparse matrix")
        if np.any(r_idx[1:] < r_idx[:-1]):
            raise RuntimeError("coo_mm: indices must be sorted by row (coalesce() the sparse tensor)")
        starts = np.flatnonzero(np.concatenate(([True], r_idx[1:] != r_idx[:-1])))
        counts = np.diff(np.append(starts, nnz))
        # chunks of whole rows, each about _CHUNK_ELEMS products (the layers' temporaries stay that size)
        bounds = np.unique(np.searchsorted(starts, np.arange(0, nnz, max(1, _CHUNK_ELEMS // N)), side="right") - 1)
        bounds = np.append(bounds, starts.size)
        for a, b in zip(bounds[:-1], bounds[1:]):
            _row_sums(out, r_idx, c_idx, vals, mat, starts[a:b], counts[a:b])
    return out.astype(meta.dtype.np, copy=False)


def _cuda(meta, indices, values, dense, rows):
    from .creation import arange
    from .searchsorted import searchsorted_op
    N = meta.shape[1]
    out = CudaArray.empty(meta.shape, meta.dtype.np)
    if rows == 0 or N == 0:
        return out
    if indices.shape[1] == 0:
        from .creation import zeros
        return zeros(meta.shape, dtype=meta.dtype, device=meta.device)._data
    row_ptr = searchsorted_op(indices[0], arange(rows + 1, device=indices.device))._data
    cols, vals, mat = indices._data, values._data, dense._data
    block = min(128, launch.next_pow2(N))
    _coo_mm_kernel[(rows, launch.cdiv(N, block))](
        row_ptr, cols.view_as((cols.shape[1],), (cols.strides[1],), cols.offset + cols.strides[0]), vals, mat, out,
        N, cols.strides[1], vals.strides[0], mat.strides[0], mat.strides[1],
        COMPUTE=pw.TL_COMPUTE[meta.dtype], BLOCK_N=block)
    return out


# ======================================================================================================= rules

def _ref(indices, values, dense, rows):
    idx, vals, mat = np.asarray(indices), np.asarray(values, np.float64), np.asarray(dense, np.float64)
    a = np.zeros((rows, mat.shape[0]))
    np.add.at(a, (idx[0], idx[1]), vals)
    return a @ mat


def transposed_entries(indices, values):
    """(indices, values) of the transposed matrix, its entries sorted by row (the original column), stably."""
    from .movement import stack
    from .sort import argsort
    order = argsort(indices[1], stable=True)
    cols, rows = indices[1].index_select(0, order), indices[0].index_select(0, order)
    return stack([cols, rows]), values.index_select(0, order)


def _vjp(ctx, grad):
    indices, values, dense = ctx.inputs
    d_values = d_dense = None
    if ctx.needs_input_grad[1]:
        d_values = (grad.index_select(0, indices[0]) * dense.index_select(0, indices[1])).sum(1).to(values.dtype)
    if ctx.needs_input_grad[2]:
        t_idx, t_vals = transposed_entries(indices, values)
        d_dense = coo_mm_op(t_idx, t_vals, grad, rows=dense.shape[0]).to(dense.dtype)
    return None, d_values, d_dense


# ===================================================================================================== samples

def _entries(rng, rows: int, cols: int, nnz: int, duplicates: bool = False):
    """Row-sorted (indices, ...) of nnz distinct random positions (or with repeats)."""
    if duplicates:
        flat = np.sort(rng.integers(0, rows * cols, nnz))
    else:
        flat = np.sort(rng.choice(rows * cols, nnz, replace=False)) if rows * cols else np.zeros(0, np.int64)
    return np.stack([flat // max(cols, 1), flat % max(cols, 1)]).astype(np.int64)


def _samples(device, dtype):
    from .creation import tensor
    rng = rng_for("coo_mm", dtype.name)
    cases = [((5, 4, 3), 8, False), ((5, 4, 3), 0, False), ((6, 6, 1), 36, False), ((7, 3, 2), 9, True),
             ((0, 3, 2), 0, False), ((40, 33, 70), 150, False), ((3, 5, 0), 4, False)]
    for (m, k, n), nnz, dup in cases:
        idx = tensor(_entries(rng, m, k, nnz, dup), device=device)
        vals = make_tensor((nnz,), dtype, device, low=-2, high=2, rng=rng)
        dense = make_tensor((k, n), dtype, device, low=-2, high=2, rng=rng)
        yield Sample((idx, vals, dense), {"rows": m}, name=f"{m}x{k}x{n}-nnz{nnz}{'-dup' if dup else ''}",
                     reduction_size=max(1, k))
    # a row of 40 entries (past the cpu's layered path: one BLAS product) beside rows of a few
    heavy = np.concatenate([np.stack([np.zeros(40, np.int64), np.arange(40)]), _entries(rng, 3, 40, 6) + [[1], [0]]], 1)
    yield Sample((tensor(heavy, device=device), make_tensor((46,), dtype, device, low=-2, high=2, rng=rng),
                  make_tensor((40, 3), dtype, device, low=-2, high=2, rng=rng)), {"rows": 4}, name="heavy-row",
                 reduction_size=40)
    idx = tensor(_entries(rng, 4, 6, 10), device=device)
    dense = make_tensor((5, 6), dtype, device, rng=rng).t()            # (6, 5), transposed strides
    yield Sample((idx, make_tensor((10,), dtype, device, rng=rng, noncontiguous=True), dense), {"rows": 4},
                 name="strided")


def _bench_make(size, device, dtype):
    from .creation import tensor
    m, nnz, n = size
    rng = rng_for("coo_mm_bench", size)
    idx = tensor(_entries(rng, m, m, nnz), device=device)
    return (idx, make_tensor((nnz,), dtype, device, rng=rng), make_tensor((m, n), dtype, device, rng=rng)), \
        {"rows": m}


def _torch(torch, indices, values, dense, rows):
    return torch.sparse.mm(torch.sparse_coo_tensor(indices, values, (rows, dense.shape[0]), check_invariants=True),
                           dense)


coo_mm_op = register(OpDef(
    name="coo_mm", family=FAMILY, infer=_infer, impl={"cpu": _cpu, "cuda": _cuda}, ref=_ref, samples=_samples,
    dtypes=FLOATS, vjp=_vjp,
    bench=BenchSpec(sizes=((4096, 40960, 64), (65536, 655360, 128)), make=_bench_make,
                    bytes=lambda s, d: s[1] * (16 + s[2] * d.itemsize) + s[0] * s[2] * d.itemsize,
                    flops=lambda s: 2 * s[1] * s[2], dtypes=(_dt.float32,)),
    doc="a row-sorted COO sparse matrix (indices, values, rows) times a dense matrix",
    extra={"torch": _torch}))


def coo_mm(indices, values, dense, rows: int) -> Tensor:
    """The (rows, N) product of the COO matrix (indices sorted by row, values) with dense (K, N)."""
    return coo_mm_op(indices, values, dense, rows=rows)
