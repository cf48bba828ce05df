"""softmax and log_softmax (nn kernels family): row-wise Triton kernels, NumPy fallbacks, backward rules.

A softmax over `dim` sees its input as rows: every index of the other dims is one row of length L = shape[dim].
Rows are addressed as (outer, inner) pairs, outer = the dims before `dim` (collapsed to one stride), inner = the
dims after it (collapsed to one stride), so any dim and most strided layouts reach the kernel without a copy
(a layout whose outer or inner dims do not collapse to one stride is copied first). Results are contiguous.

One kernel (`_row_kernel`) serves the forward and the fused backward of both ops (constexpr MODE). A program
takes a tile of BLOCK_R rows x BLOCK_L columns:
  - rows that fit in one block (L <= ROW_BLOCK_MAX) are read once, reduced in registers and written: one read and
    one write of each element;
  - longer rows take the online two-level form: chunks of BLOCK_L are reduced to a per-row (max, sum of exp)
    pair that is rescaled when the running max grows (pass 1), then each chunk is read again and written
    (pass 2): two reads and one write.
When `dim` is not the last dim, neighbouring rows are neighbours in memory, so the tile spans many rows and its
loads stay coalesced.

Backward: softmax_backward(grad, output, dim) = y * (g - sum(g * y)), log_softmax_backward(grad, output, dim) =
g - exp(y) * sum(g); both are ops of their own (same kernel) with their own vjp, so double backward works.
Accumulation is fp32 for fp16/bf16/fp32 and fp64 for fp64.
"""
from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import triton
import triton.language as tl

from .. import _state
from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray
from ..device import CUDA
from ..tensor import Tensor, _make, from_array
from . import _bind, launch
from ._cpu_parallel import BLOCK_ELEMS, PARALLEL_MIN, one_blas_thread, ones_vector, parallel_chunks, row_loops
from . import pointwise as pw
from .registry import BenchSpec, Meta, OpDef, Sample, _type_name, device_of, register, wrap_dim
from .samples import make_tensor, rng_for

FAMILY = "nn_softmax"

__all__ = ["softmax", "log_softmax"]

# The longest row held in registers in one block; longer rows take the online (chunked) path. A module-level
# setting so that tests can shrink it and send short rows down the online path in the interpreter.
# On the GPU a 16K fp32 row is 32 registers per thread at 16 warps: held in registers, read once.
ROW_BLOCK_MAX = 4096 if _cuda.INTERPRET else 16384
# Elements per program tile when rows are short (several rows per program).
_TILE = 8192 if _cuda.INTERPRET else 4096

# Kernel modes.
SOFTMAX, LOG_SOFTMAX, SOFTMAX_BWD, LOG_SOFTMAX_BWD = 0, 1, 2, 3


# ============================================================================================ Triton kernels

@triton.jit
def _same(x, y, z, p0, p1):
    return x


@triton.jit
def _row_offsets(rows, inner, s_outer, s_inner):
    # row r = (r // inner, r % inner) -> element offset of its first element
    return (rows // inner) * s_outer + (rows % inner) * s_inner


@triton.jit
def _fwd_tile(x, shift, log_s, inv_s, MODE: tl.constexpr):
    # one tile of softmax (exp(x - m) / s) or log_softmax (x - m - log s)
    z = x - shift[:, None]
    if MODE == 0:
        r = tl.exp(z) * inv_s[:, None]
    else:
        r = z - log_s[:, None]
    return r


@triton.jit
def _bwd_terms(g, y, MODE: tl.constexpr):
    # what the backward sums per row: g * y (softmax) or g (log_softmax)
    if MODE == 2:
        t = g * y
    else:
        t = g
    return t


@triton.jit
def _bwd_tile(g, y, s, MODE: tl.constexpr):
    if MODE == 2:
        r = y * (g - s[:, None])
    else:
        r = g - tl.exp(y) * s[:, None]
    return r


@triton.jit
def _row_kernel(
    a_ptr,                       # forward: input x; backward: grad_output g (strided)
    b_ptr,                       # backward: the forward's output y (strided); forward: unused
    out_ptr,                     # result, contiguous in the input's shape
    n_rows, L, inner,            # rows; row length (size of dim); product of the dims after dim
    a_so, a_si, a_sc,            # a: strides of outer index, inner index, and along dim
    b_so, b_si, b_sc,            # b: the same
    MODE: tl.constexpr,          # SOFTMAX | LOG_SOFTMAX | SOFTMAX_BWD | LOG_SOFTMAX_BWD
    ACC: tl.constexpr,           # accumulation dtype (fp32, or fp64 for fp64)
    ONE_PASS: tl.constexpr,      # the whole row fits in BLOCK_L: read once, reduce in registers, write
    BLOCK_R: tl.constexpr,       # rows per program
    BLOCK_L: tl.constexpr,       # columns per block (the whole row when ONE_PASS)
):
    # bytes: one pass: reads each element of a (and b) once, writes each output once; online: reads a (and b)
    # twice, writes once. ~5 flops per element forward, ~3 backward.
    rows = tl.program_id(0).to(tl.int64) * BLOCK_R + tl.arange(0, BLOCK_R)
    row_ok = rows < n_rows
    a_row = _row_offsets(rows, inner, a_so, a_si)
    b_row = _row_offsets(rows, inner, b_so, b_si)
    o_row = (rows // inner) * L * inner + rows % inner   # out: contiguous (outer, L, inner)
    cols = tl.arange(0, BLOCK_L)
    if MODE < 2:
        if ONE_PASS:
            mask = row_ok[:, None] & (cols < L)[None, :]
            x = tl.load(a_ptr + a_row[:, None] + cols[None, :] * a_sc, mask=mask, other=float("-inf")).to(ACC)
            m = tl.max(x, 1)
            shift = tl.where(m == float("-inf"), 0.0, m)   # an all -inf row gives nan, as in PyTorch
            s = tl.sum(tl.exp(x - shift[:, None]), 1)
            r = _fwd_tile(x, shift, tl.log(s), 1.0 / s, MODE)
            tl.store(out_ptr + o_row[:, None] + cols[None, :] * inner, r.to(out_ptr.dtype.element_ty), mask=mask)
        else:
            # pass 1: the online (max, sum of exp) per row, one chunk at a time
            m = tl.full([BLOCK_R], float("-inf"), ACC)
            s = tl.zeros([BLOCK_R], ACC)
            for c0 in range(0, L, BLOCK_L):
                c = c0 + cols
                mask = row_ok[:, None] & (c < L)[None, :]
                x = tl.load(a_ptr + a_row[:, None] + c[None, :] * a_sc, mask=mask, other=float("-inf")).to(ACC)
                new_m = tl.maximum(m, tl.max(x, 1))
                shift = tl.where(new_m == float("-inf"), 0.0, new_m)
                s = s * tl.exp(m - shift) + tl.sum(tl.exp(x - shift[:, None]), 1)
                m = new_m
            shift = tl.where(m == float("-inf"), 0.0, m)
            log_s = tl.log(s)
            inv_s = 1.0 / s
            # pass 2: normalise and write
            for c0 in range(0, L, BLOCK_L):
                c = c0 + cols
                mask = row_ok[:, None] & (c < L)[None, :]
                x = tl.load(a_ptr + a_row[:, None] + c[None, :] * a_sc, mask=mask, other=float("-inf")).to(ACC)
                r = _fwd_tile(x, shift, log_s, inv_s, MODE)
                tl.store(out_ptr + o_row[:, None] + c[None, :] * inner, r.to(out_ptr.dtype.element_ty), mask=mask)
    else:
        if ONE_PASS:
            mask = row_ok[:, None] & (cols < L)[None, :]
            g = tl.load(a_ptr + a_row[:, None] + cols[None, :] * a_sc, mask=mask, other=0).to(ACC)
            y = tl.load(b_ptr + b_row[:, None] + cols[None, :] * b_sc, mask=mask, other=0).to(ACC)
            s = tl.sum(_bwd_terms(g, y, MODE), 1)
            r = _bwd_tile(g, y, s, MODE)
            tl.store(out_ptr + o_row[:, None] + cols[None, :] * inner, r.to(out_ptr.dtype.element_ty), mask=mask)
        else:
            s = tl.zeros([BLOCK_R], ACC)
            for c0 in range(0, L, BLOCK_L):
                c = c0 + cols
                mask = row_ok[:, None] & (c < L)[None, :]
                g = tl.load(a_ptr + a_row[:, None] + c[None, :] * a_sc, mask=mask, other=0).to(ACC)
                y = tl.load(b_ptr + b_row[:, None] + c[None, :] * b_sc, mask=mask, other=0).to(ACC)
                s += tl.sum(_bwd_terms(g, y, MODE), 1)
            for c0 in range(0, L, BLOCK_L):
                c = c0 + cols
                mask = row_ok[:, None] & (c < L)[None, :]
                g = tl.load(a_ptr + a_row[:, None] + c[None, :] * a_sc, mask=mask, other=0).to(ACC)
                y = tl.load(b_ptr + b_row[:, None] + c[None, :] * b_sc, mask=mask, other=0).to(ACC)
                r = _bwd_tile(g, y, s, MODE)
                tl.store(out_ptr + o_row[:, None] + c[None, :] * inner, r.to(out_ptr.dtype.element_ty), mask=mask)


# ============================================================================================ launch helpers

def contiguous_copy(arr: CudaArray) -> CudaArray:
    """A contiguous copy of a cuda array (one pointwise launch)."""
    dt = _dt.from_numpy_dtype(arr.dtype)
    return pw.launch_pointwise(_same, [_make(arr, dt, CUDA)], tuple(arr.shape), dt, dt)


def cast_copy(arr: CudaArray, dtype: _dt.dtype) -> CudaArray:
    """`arr` converted to `dtype` (contiguous; one pointwise launch)."""
    src = _dt.from_numpy_dtype(arr.dtype)
    compute = _dt.float32 if dtype in (_dt.float16, _dt.bfloat16) or src in (_dt.float16, _dt.bfloat16) else dtype
    return pw.launch_pointwise(_same, [_make(arr, src, CUDA)], tuple(arr.shape), dtype, compute)


def _one_stride(shape, strides):
    """The single stride of `shape` seen as one dim (0 when it holds one element), or None if it needs more."""
    s, (st,) = launch.collapse(tuple(shape), [tuple(strides)])
    if len(s) > 1:
        return None
    return st[0] if s else 0


def row_layout(arr: CudaArray, d: int):
    """(array, outer stride, inner stride, stride along d) for row-wise kernels; copies a layout whose dims
    before or after d do not collapse to one stride."""
    so = _one_stride(arr.shape[:d], arr.strides[:d])
    si = _one_stride(arr.shape[d + 1:], arr.strides[d + 1:])
    if so is None or si is None:
        arr = contiguous_copy(arr)
        so = _one_stride(arr.shape[:d], arr.strides[:d])
        si = _one_stride(arr.shape[d + 1:], arr.strides[d + 1:])
    return arr, so, si, arr.strides[d]


def row_blocks(n_rows: int, L: int):
    """(BLOCK_R, BLOCK_L, ONE_PASS, num_warps) for rows of length L."""
    return _row_blocks(n_rows, L, ROW_BLOCK_MAX)


@functools.lru_cache(maxsize=1024)
def _row_blocks(n_rows: int, L: int, row_block_max: int):
    block_l = min(launch.next_pow2(max(L, 1)), launch.next_pow2(row_block_max))
    block_r = max(1, min(launch.next_pow2(n_rows), _TILE // block_l))
    # ~8-16 fp32 per thread for short tiles (enough loads in flight); at most 32 for a 16K row at 16 warps
    tile = block_l * block_r
    warps = 4 if tile <= 2048 else (8 if tile <= 4096 else 16)
    return block_r, block_l, L <= block_l, warps


def _acc(dtype: _dt.dtype):
    return tl.float64 if dtype is _dt.float64 else tl.float32


def _launch_rows(mode: int, a: CudaArray, b: CudaArray | None, out: CudaArray, d: int, acc) -> CudaArray:
    """Run `_row_kernel` over every row of `out` (contiguous) along dim d."""
    shape = tuple(out.shape)
    n = math.prod(shape)
    if n == 0:
        return out
    b_strides = tuple(b.strides) if b is not None else None
    p = _rows_plan(shape, d, tuple(a.strides), b_strides, ROW_BLOCK_MAX)
    if p is None:
        # a layout whose outer or inner dims do not collapse: copy it (row_layout does), then plan again
        a = row_layout(a, d)[0]
        if b is not None:
            b = row_layout(b, d)[0]
            b_strides = tuple(b.strides)
        p = _rows_plan(shape, d, tuple(a.strides), b_strides, ROW_BLOCK_MAX)
    grid, n_rows, L, inner, a_so, a_si, a_sc, b_so, b_si, b_sc, block_r, block_l, one_pass, warps = p
    _row_kernel[grid](
        a, a if b is None else b, out, n_rows, L, inner, a_so, a_si, a_sc, b_so, b_si, b_sc,
        MODE=mode, ACC=acc, ONE_PASS=one_pass, BLOCK_R=block_r, BLOCK_L=block_l, num_warps=warps)
    return out


@functools.lru_cache(maxsize=1024)
def _rows_plan(shape: tuple, d: int, a_strides: tuple, b_strides, row_block_max: int):
    """The launch parameters of `_row_kernel` for one (shape, dim, strides): cached, since a training step calls
    softmax on the same layout every time and the Python work here is a sizable share of a ~40 us call. None
    when a layout needs a copy first."""
    so = _one_stride(shape[:d], a_strides[:d])
    si = _one_stride(shape[d + 1:], a_strides[d + 1:])
    if so is None or si is None:
        return None
    if b_strides is None:
        b_so = b_si = b_sc = 0
    else:
        b_so = _one_stride(shape[:d], b_strides[:d])
        b_si = _one_stride(shape[d + 1:], b_strides[d + 1:])
        if b_so is None or b_si is None:
            return None
        b_sc = b_strides[d]
    L = shape[d]
    inner = math.prod(shape[d + 1:])
    n_rows = math.prod(shape) // L
    block_r, block_l, one_pass, warps = _row_blocks(n_rows, L, row_block_max)
    return ((launch.num_programs(n_rows, block_r),), n_rows, L, inner, so, si, a_strides[d], b_so, b_si, b_sc,
            block_r, block_l, one_pass, warps)


def _as_2d_dim(shape: tuple, d: int):
    """A 0-dim tensor is a single row of one element."""
    return (shape, d) if shape else ((1,), 0)


# ================================================================================================ NumPy side

def _np_acc(dtype: _dt.dtype):
    return np.float64 if dtype is _dt.float64 else np.float32


# Rows are processed in blocks of about this many elements so that the max / exp / sum / scale passes of one
# block run in cache (the passes then cost one trip to memory instead of five).
_NP_CHUNK = BLOCK_ELEMS
# Inputs of at least this many elements run their row blocks on the thread pool. Measured on the loaded 2-core CI
# machine, 2**14 and 2**16 gained nothing at 64K-256K elements (the other core is busy) and 2**14-element blocks
# cost up to 50% more than 2**16 ones in per-block calls. On an idle 2-core VM (2026-11-29), inputs evicted from
# cache before each call, two threads against one: 512x1024 fp32 softmax 1.15x the time (the shared threshold,
# 2**19, was a loss), log_softmax 1.08x; 1024x1024 0.92x and 0.72x; 4096x1024 0.82x and 0.63x.
_NP_PARALLEL_MIN = 2 * PARALLEL_MIN
# Below this many elements (1 MiB of fp32: input and output fit in a 4 MiB L2 together) a call is one block: on
# 256x1024, 512x512 and 1024x128 fp32, blocks of _NP_CHUNK made softmax 5-15% slower and its backward 5-15% faster.
_NP_BLOCKS_MIN = PARALLEL_MIN
# OpenBLAS (0.3.x) computes a gemv of fewer elements than this (2304 * GEMM_MULTITHREAD_THRESHOLD) on one thread.
_BLAS_THREADED_MIN = 9216


def _row_chunks(x: np.ndarray, axis: int):
    """Slices along the first dim that is not `axis` (or the whole array) of about _NP_CHUNK elements each."""
    lead = 0 if axis != 0 else (1 if x.ndim > 1 else None)
    if lead is None or x.shape[lead] <= 1 or x.size <= _NP_CHUNK:
        yield (slice(None),) * x.ndim
        return
    per = max(1, x.shape[lead] * _NP_CHUNK // x.size)
    for i in range(0, x.shape[lead], per):
        idx = [slice(None)] * x.ndim
        idx[lead] = slice(i, i + per)
        yield tuple(idx)


def _run_row_blocks(block, x: np.ndarray, axis: int) -> None:
    """block(idx) for every row block of `x`: on the calling thread below _NP_PARALLEL_MIN elements (no pool, not
    even os.cpu_count(), which alone costs ~20 us: a classifier's (64, 10) softmax is a call of that order), in
    one block below _NP_BLOCKS_MIN, else on the thread pool, with
    OpenBLAS on one thread (the row sums are BLAS products: OpenBLAS's own threads synchronise on every call,
    which on a loaded machine costs far more than the products)."""
    if x.size < _NP_BLOCKS_MIN:
        if x.size < _BLAS_THREADED_MIN:   # OpenBLAS runs products this small on one thread anyway
            block((slice(None),) * x.ndim)
        else:
            with one_blas_thread():
                block((slice(None),) * x.ndim)
        return
    chunks = list(_row_chunks(x, axis))
    with one_blas_thread():
        if len(chunks) == 1 or x.size < _NP_PARALLEL_MIN:
            for idx in chunks:
                block(idx)
        else:
            parallel_chunks(block, chunks)


def _row_max(x: np.ndarray, axis: int, acc) -> np.ndarray:
    """The max of each row (keepdims, in `acc`), 0 for an all -inf row: exp(-inf - 0) = 0, and its softmax 0/0 =
    nan as in PyTorch."""
    m = np.maximum.reduce(x, axis=axis, keepdims=True)
    if m.dtype != acc:
        m = m.astype(acc)
    if m.size and np.fmin.reduce(m, axis=None) == -np.inf:   # (one reduction, NaN rows ignored, no warning: a sum
        m[m == -np.inf] = 0                                 # would warn on inf + -inf)
    return m


if hasattr(np, "vecdot"):
    row_dot = np.vecdot   # a BLAS dot product per row (NumPy >= 2.0), ~2x faster than einsum's
else:  # pragma: no cover (NumPy 1.26)
    def row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Dot products of a and b along their last axis."""
        return np.einsum("...i,...i->...", a, b)


def _row_sum(a: np.ndarray, axis: int) -> np.ndarray:
    """Sum of each row of `a` along `axis`, keepdims. Along the last axis it is a BLAS product a @ ones (several
    times faster than np.add.reduce, at every size: 1.6 vs 4.0 us for (64, 10) fp32 measured on an Intel Xeon
    2-core VM; the caller holds OpenBLAS to one thread); along another axis NumPy's reduction."""
    if axis == a.ndim - 1:
        return np.matmul(a, ones_vector(a.shape[-1], a.dtype))[..., None]
    return np.add.reduce(a, axis=axis, keepdims=True)


# Logits within +-NO_SHIFT_MAX need no max subtraction before exp: every exp(x) is a normal number far from
# overflow, and x - log(sum(exp(x))) loses at most an ulp of 2 * NO_SHIFT_MAX.
NO_SHIFT_MAX = 16.0


def moderate_logits(x: np.ndarray) -> bool:
    """Whether every element of `x` lies within +-NO_SHIFT_MAX (False for nan and infinities). Two flat
    reductions: cheaper than a row max and the subtract pass it saves (a row-broadcast pass costs ~0.3 ns an
    element here, a flat reduction ~0.05)."""
    return bool(np.minimum.reduce(x, axis=None) >= -NO_SHIFT_MAX) and \
        bool(np.maximum.reduce(x, axis=None) <= NO_SHIFT_MAX)


def _softmax_rows(xs: np.ndarray, o: np.ndarray, axis: int, log: bool, p: np.ndarray | None = None) -> None:
    """softmax / log_softmax of the rows of `xs` (in o's dtype) into `o`, in place: no temporary for softmax,
    one exp buffer for log_softmax (`p` when given: it then gets the softmax too, for the backward). Blocks of
    _UNSHIFTED_MIN elements or more skip the row max unless the row sums show it was needed (see below); smaller
    ones skip it for moderate logits; a few elements take the row max (_tiny_rows). Softmax scales by the
    reciprocal of the row sum (a multiply is cheaper than a divide per element; PyTorch's CPU kernel does the
    same)."""
    if xs.size <= _TINY and _tiny_rows(xs, o, axis, log, p):
        return
    if xs.size >= _UNSHIFTED_MIN:
        if log:
            _log_softmax_unshifted(xs, o, axis, p)
        else:
            _softmax_unshifted(xs, o, axis)
        return
    if moderate_logits(xs):
        _shifted_rows(xs, o, axis, log, p, False)
        return
    # an infinite or NaN row max makes inf - inf and log(0): those rows are NaN / -inf as in PyTorch, silently
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        _shifted_rows(xs, o, axis, log, p, True)


# Up to this many elements (a policy's action probabilities, a classifier's logits for one sample) the row max
# is subtracted and the sums are plain reductions: five NumPy calls (7.3 -> 4 us a call for 2 logits), where the
# moderate-logits test, the BLAS row sums and the reciprocal cost more than the arithmetic.
_TINY = 64


def _tiny_rows(xs, o, axis: int, log: bool, p) -> bool:
    """softmax / log_softmax of a few elements with the row max subtracted; False (nothing written) when a row's
    max is not finite (the general path's NaN rules and no warnings apply there)."""
    m = np.maximum.reduce(xs, axis=axis, keepdims=True)
    if not math.isfinite(np.add.reduce(m, axis=None)):
        return False
    np.subtract(xs, m, out=o)
    e = np.exp(o, out=o if not log else p)
    s = np.add.reduce(e, axis=axis, keepdims=True)
    if not log:
        o /= s
        return True
    if p is not None:
        p /= s
    o -= np.log(s, out=s)
    return True


def _shifted_rows(xs, o, axis: int, log: bool, p, shift: bool) -> None:
    """_softmax_rows with the row max subtracted first (shift), or not."""
    if shift:
        np.subtract(xs, _row_max(xs, axis, o.dtype), out=o)
    if not log:
        np.exp(o if shift else xs, out=o)
        s = _row_sum(o, axis)
        o *= np.divide(1, s, out=s)
        return
    e = np.exp(o if shift else xs, out=p)
    s = _row_sum(e, axis)
    if p is not None:
        p *= np.divide(1, s)
    lse = np.log(s, out=s)
    if shift:
        o -= lse
    else:
        np.subtract(xs, lse, out=o)


# Softmax (not log_softmax) first tries exp(x) / sum without the row max: each exp(x) is then as accurate as
# exp(x - max) (float32's exp is within an ulp at any magnitude), so the result is the same but where exp(x) leaves
# float32's normal range. The row sums say when it did: an infinite or NaN sum (overflow, inf or NaN logits), or
# one below _SUM_MIN, where the largest terms may be subnormal. Otherwise a subnormal exp(x) is a probability
# below 1.2e-38 / _SUM_MIN = 1.2e-29 with an absolute error under 1e-36. Those rows' block is redone with the max
# subtracted. This replaces moderate_logits' two flat reductions (~18% of softmax's time here) with a test on the
# sums.
_SUM_MIN = 2.0 ** -30
# Below this many elements the two reductions cost less than np.errstate's context (~3 us): moderate_logits stays.
_UNSHIFTED_MIN = 1 << 14


def _softmax_unshifted(xs: np.ndarray, o: np.ndarray, axis: int) -> None:
    with np.errstate(over="ignore"):   # an overflow is caught by the sums below
        np.exp(xs, out=o)
    s = _row_sum(o, axis)
    low = np.minimum.reduce(s, axis=None) if s.size else 1.0
    if not (low >= _SUM_MIN and np.isfinite(np.add.reduce(s, axis=None))):   # (NaN fails both)
        # inf - inf and 1 / 0 (an all -inf row): those rows are NaN, as PyTorch's, without a warning
        with np.errstate(invalid="ignore", divide="ignore"):
            np.subtract(xs, _row_max(xs, axis, o.dtype), out=o)
            np.exp(o, out=o)
            s = _row_sum(o, axis)
            o *= np.divide(1, s, out=s)
    else:
        o *= np.divide(1, s, out=s)


def lse_moderate(lse: np.ndarray) -> bool:
    """Whether every log-sum-exp lies within +-NO_SHIFT_MAX (False for NaN and infinities). Then every logit is
    at most NO_SHIFT_MAX too (x <= lse), so x - lse loses no more than with moderate_logits' test, and exp(x)
    cannot have overflowed; a very negative logit only underflows, as exp(x - max) would. A test on the rows'
    values, where moderate_logits makes two passes over the logits."""
    return bool(lse.size == 0 or (np.minimum.reduce(lse, axis=None) >= -NO_SHIFT_MAX
                                  and np.maximum.reduce(lse, axis=None) <= NO_SHIFT_MAX))


def _log_softmax_unshifted(xs: np.ndarray, o: np.ndarray, axis: int, p: np.ndarray | None) -> None:
    """log_softmax without the row max where the log-sum-exps allow it (lse_moderate), else the block again with
    it subtracted (its NaN and all -inf rows then NaN without NumPy warnings, as PyTorch's)."""
    with np.errstate(over="ignore", divide="ignore"):
        e = np.exp(xs, out=p)
        s = _row_sum(e, axis)
        lse = np.log(s)
    if lse_moderate(lse):
        if p is not None:
            p *= np.divide(1, s)
        np.subtract(xs, lse, out=o)
        return
    with np.errstate(invalid="ignore", divide="ignore"):
        _shifted_rows(xs, o, axis, True, p, True)


def _rows_of(x: np.ndarray, axis: int) -> int:
    """The row length for row_loops: the softmax dim's size where it is the last (its per-row sums broadcast
    along rows), else 0 (the sums then vary along the inner loop: nothing to gain)."""
    return x.shape[-1] if axis == x.ndim - 1 else 0


def softmax_np(x: np.ndarray, axis: int, log: bool, acc, out: np.ndarray | None = None,
               probs: np.ndarray | None = None) -> np.ndarray:
    """softmax / log_softmax of `x` along `axis`, computed in `acc` (float32 or float64) into `out` (acc);
    log_softmax also writes the softmax into `probs` (acc, x's shape) when given."""
    if out is None:
        out = np.empty(x.shape, acc)
    if x.size < min(_BLAS_THREADED_MIN, _NP_PARALLEL_MIN):   # one block, inline (a classifier's logits)
        if x.size:
            _softmax_rows(x.astype(acc, copy=False), out, axis, log, probs)
        return out

    rows = _rows_of(x, axis)

    def block(idx):
        xs = x[idx]
        if xs.dtype != acc:
            xs = xs.astype(acc)   # fp16/bf16: compute in fp32
        with row_loops(rows):
            _softmax_rows(xs, out[idx], axis, log, None if probs is None else probs[idx])

    _run_row_blocks(block, x, axis)
    return out


def _softmax_backward_rows(gs: np.ndarray, ys: np.ndarray, o: np.ndarray, axis: int, log: bool,
                           ps: np.ndarray | None = None) -> None:
    """The gradient of softmax (y * (g - sum(g * y))) or log_softmax (g - exp(y) * sum(g), with the forward's
    softmax `ps` for exp(y) when given) into `o`, in place. Along the last axis sum(g * y) is a BLAS dot (row_dot), so
    softmax's takes two passes over the block."""
    if log:
        s = _row_sum(gs, axis)
        if ps is None:
            np.exp(ys, out=o)
            o *= s
        else:
            np.multiply(ps, s, out=o)
        np.subtract(gs, o, out=o)
    else:
        if axis == gs.ndim - 1:
            s = row_dot(gs, ys)[..., None]
        else:
            s = np.add.reduce(np.multiply(gs, ys, out=o), axis=axis, keepdims=True)
        np.subtract(gs, s, out=o)
        o *= ys


def softmax_backward_np(g: np.ndarray, y: np.ndarray, axis: int, log: bool, acc,
                        probs: np.ndarray | None = None) -> np.ndarray:
    out = np.empty(np.broadcast_shapes(g.shape, y.shape), acc)
    if out.size < min(_BLAS_THREADED_MIN, _NP_PARALLEL_MIN):   # one block, inline
        if out.size:
            _softmax_backward_rows(g.astype(acc, copy=False), y.astype(acc, copy=False), out, axis, log, probs)
        return out

    rows = _rows_of(out, axis)

    def block(idx):
        gs, ys = g[idx], y[idx]
        if gs.dtype != acc:
            gs = gs.astype(acc)
        if ys.dtype != acc:
            ys = ys.astype(acc)
        with row_loops(rows):
            _softmax_backward_rows(gs, ys, out[idx], axis, log, None if probs is None else probs[idx])

    _run_row_blocks(block, out, axis)
    return out


# ==================================================================================================== ops

def _check_input(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")


def _softmax_infer(name):
    def infer(x, dim, dtype=None):
        _check_input(x, name)
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise TypeError(f"{name}(): argument 'dim' must be int, not {type(dim).__name__}")
        shape = tuple(x._data.shape)
        d = wrap_dim(dim, len(shape))
        out = x.dtype if dtype is None else _dt.as_dtype(dtype)
        if out.kind != _dt.FLOAT:
            kernel = "lastdim_kernel_impl" if d == len(shape) - 1 or not shape else "kernel_impl"
            raise NotImplementedError(f'"{name}_{kernel}" not implemented for \'{_type_name(out)}\'')
        return Meta(shape, out, x.device, d)

    return infer


class _DimWithProbs(int):
    """log_softmax's meta.aux on cpu when autograd will want the gradient: the dim (an int, as every rule reads
    it) carrying the forward's softmax (`probs`), so that the backward need not recompute exp(output): a NumPy
    exp costs ~3.5 ns an element here, the extra multiply that keeps the softmax ~0.3 ns."""


def _softmax_cpu(log):
    def cpu(meta, x, dim, dtype=None, out=None):
        shape, d = _as_2d_dim(meta.shape, meta.aux)
        a = x._data.reshape(shape) if not meta.shape else x._data
        acc = _np_acc(meta.dtype)
        if meta.dtype.np == acc and out is None:
            if log and (not _state.FLAGS.grad_off or _state.GRAD.enabled) and x._requires_grad and a.size:
                probs = np.empty(a.shape, acc)
                r = softmax_np(a, d, log, acc, probs=probs).reshape(meta.shape)
                meta.aux = _DimWithProbs(meta.aux)
                meta.aux.probs = probs.reshape(meta.shape)
                return r
            return softmax_np(a, d, log, acc).reshape(meta.shape)
        if dtype is not None and x.dtype is not meta.dtype:
            a = a.astype(meta.dtype.np)  # PyTorch casts the input to dtype first
        r = softmax_np(a, d, log, acc).reshape(meta.shape)
        return pw.np_result(r, meta, out)

    return cpu


def _softmax_fast(log: bool):
    """OpDef.fast of softmax / log_softmax: a cpu call on a float32/float64 tensor of at least one dim, with an
    int dim in range and no dtype, goes straight to softmax_np, skipping infer and the generic dispatch (a third
    of a classifier's (64, 10) call). Under autograd it records the call with the meta infer would give (and,
    for log_softmax, the forward's softmax, as the cpu impl keeps it). None otherwise: the full path decides and
    raises PyTorch's errors."""
    op_box = [None]

    def fast(x, dim, dtype=None):
        if dtype is not None or x.__class__ is not Tensor or dim.__class__ is not int:
            return None
        dt = x.dtype
        a = x._data
        if (dt is not _dt.float32 and dt is not _dt.float64) or a.__class__ is not np.ndarray:
            return None
        nd = a.ndim
        d = dim + nd if dim < 0 else dim
        if not 0 <= d < nd or not a.size:
            return None
        acc = a.dtype.type
        record = x._requires_grad and (not _state.FLAGS.grad_off or _state.GRAD.enabled)
        if log and record:
            probs = np.empty(a.shape, acc)
            r = _make(softmax_np(a, d, True, acc, probs=probs), dt, x.device)
            aux = _DimWithProbs(d)
            aux.probs = probs
        else:
            r = _make(softmax_np(a, d, log, acc), dt, x.device)
            aux = d
        if record:
            _state.recorder(op_box[0], (x, dim), {"dtype": None}, r, Meta(a.shape, dt, x.device, aux))
        return r

    fast.bind = lambda op: op_box.__setitem__(0, op)
    return fast


def _softmax_cuda(mode):
    def cuda(meta, x, dim, dtype=None, out=None):
        shape, d = _as_2d_dim(meta.shape, meta.aux)
        a = x._data
        if dtype is not None and x.dtype is not meta.dtype:
            a = cast_copy(a, meta.dtype)
        direct = out is not None and out.is_contiguous()
        dst = out if direct else CudaArray.empty(meta.shape, meta.dtype.np)
        if meta.shape:   # no identity views: each CudaArray costs microseconds of a ~40 us call
            _launch_rows(mode, a, None, dst, d, _acc(meta.dtype))
        else:
            _launch_rows(mode, a.view_as(shape, (0,), a.offset), None, dst.view_as(shape, (1,), dst.offset), d,
                         _acc(meta.dtype))
        if out is not None and not direct:
            pw.launch_pointwise(_same, [_make(dst, meta.dtype, CUDA)], meta.shape, meta.dtype, meta.dtype, out)
            return out
        return dst

    return cuda


def _softmax_ref(log):
    def ref(x, dim, dtype=None):
        x = np.asarray(x, np.float64)
        if dtype is not None and _dt.as_dtype(dtype) is not _dt.float64:
            x = x.astype(_dt.as_dtype(dtype).np).astype(np.float64)
        if x.ndim == 0:
            return np.float64(0.0) if log else np.float64(1.0)
        m = np.max(x, axis=dim, keepdims=True) if x.size else 0.0
        m = np.where(np.isfinite(m), m, 0.0)
        z = x - m
        lse = np.log(np.sum(np.exp(z), axis=dim, keepdims=True))
        return z - lse if log else np.exp(z - lse)

    return ref


def _softmax_samples(device, dtype):
    rng = rng_for("softmax", dtype.name)

    def T(shape, **kw):
        return make_tensor(shape, dtype, device, rng=rng, **kw)

    yield Sample((T(()), 0), name="()")
    yield Sample((T((1,)), 0), name="(1,)")
    yield Sample((T((0,)), 0), name="(0,)")
    yield Sample((T((5,)), -1), name="(5,)")
    yield Sample((T((2, 2 ** 6 + 17)), 1), name="(2,81)", reduction_size=81)
    yield Sample((T((3, 0, 2)), 1), name="(3,0,2)-empty-row")
    yield Sample((T((3, 4)), 0), name="(3,4)-dim0")
    yield Sample((T((2, 3, 5)), 1), name="(2,3,5)-dim1")
    yield Sample((T((4, 6), noncontiguous=True), 1), name="noncontig")
    yield Sample((T((5, 4)).t(), 1), name="transposed")
    # more than gradcheck's 40 elements: log_softmax is -inf there, which finite differences cannot take
    h = T((3, 14))._host().copy()
    h[1, 2] = -np.inf
    yield Sample((from_array(h).to(device) if device != "cpu" else from_array(h), 1), name="-inf-entry")
    if dtype is not _dt.float64:
        yield Sample((T((2, 3)), 1), {"dtype": _dt.float64}, name="dtype=float64")
    else:
        # (a float32 result would be too coarse for the float64 gradient checks)
        yield Sample((T((2, 3)), -1), {"dtype": _dt.float64}, name="dtype=float64")


_BENCH_ELEMENTS = 1 << 22


def _bench_rows(size):
    return max(1, _BENCH_ELEMENTS // size)


def _softmax_bench():
    return BenchSpec(sizes=(256, 1024, 4096, 16384),
                     make=lambda size, device, dtype: ((make_tensor((_bench_rows(size), size), dtype, device), -1), {}),
                     bytes=lambda size, dtype: 2 * _bench_rows(size) * size * dtype.itemsize,
                     flops=lambda size: 5 * _bench_rows(size) * size)


def _declare(name, mode, log, torch_fn):
    return register(OpDef(
        name=name, family=FAMILY, infer=_softmax_infer(name),
        impl={"cpu": _softmax_cpu(log), "cuda": _softmax_cuda(mode)}, ref=_softmax_ref(log),
        samples=_softmax_samples, bench=_softmax_bench(), dtypes=_dt.FLOATS, supports_out=True, save="output",
        extra={"torch": torch_fn}, fast=_softmax_fast(log),
        doc=f"{name}(input, dim, dtype=None) over one dim; rows that fit a block are reduced in registers, longer "
            "ones online"))


softmax_op = _declare("softmax", SOFTMAX, False,
                      lambda torch, x, dim, dtype=None: torch.softmax(x, dim, dtype=dtype))
log_softmax_op = _declare("log_softmax", LOG_SOFTMAX, True,
                          lambda torch, x, dim, dtype=None: torch.log_softmax(x, dim, dtype=dtype))


# ---------------------------------------------------------------------------------------------- backward ops

def _backward_infer(name):
    def infer(grad, output, dim, probs=None):
        if probs is not None and (not isinstance(probs, Tensor) or tuple(probs._data.shape) !=
                                  tuple(output._data.shape) or probs.device is not output.device):
            raise RuntimeError(f"{name}: probs must be the forward's softmax, a tensor of the output's shape")
        for t, what in ((grad, "grad_output"), (output, "output")):
            if not isinstance(t, Tensor):
                raise TypeError(f"{name}(): argument '{what}' must be Tensor, not {type(t).__name__}")
        dev = device_of(grad, output)
        shape = tuple(output._data.shape)
        if tuple(grad._data.shape) != shape:
            raise RuntimeError(f"{name}: grad_output of shape {list(grad._data.shape)} does not match output of "
                               f"shape {list(shape)}")
        if output.dtype.kind != _dt.FLOAT:
            raise NotImplementedError(f'"{name}" not implemented for \'{_type_name(output.dtype)}\'')
        d = wrap_dim(dim, len(shape))
        return Meta(shape, output.dtype, dev, d)

    return infer


def _backward_cpu(log):
    def cpu(meta, grad, output, dim, out=None, probs=None):
        shape, d = _as_2d_dim(meta.shape, meta.aux)
        acc = _np_acc(meta.dtype)
        p = None if probs is None else probs._data.reshape(shape).astype(acc, copy=False)
        r = softmax_backward_np(grad._data.reshape(shape), output._data.reshape(shape), d, log, acc, probs=p)
        return pw.np_result(r.reshape(meta.shape), meta, out)

    return cpu


def _backward_cuda(mode):
    # (probs: unused here, the kernel recomputes exp(output) in registers at no extra memory traffic)
    def cuda(meta, grad, output, dim, out=None, probs=None):
        shape, d = _as_2d_dim(meta.shape, meta.aux)
        g, y = grad._data, output._data
        if grad.dtype is not meta.dtype:
            g = cast_copy(g, meta.dtype)
        if not meta.shape:
            g, y = g.view_as((1,), (0,), g.offset), y.view_as((1,), (0,), y.offset)
        dst = CudaArray.empty(shape, meta.dtype.np)
        _launch_rows(mode, g, y, dst, d, _acc(meta.dtype))
        dst = dst.view_as(meta.shape, dst.strides if meta.shape else (), dst.offset)
        if out is not None:
            pw.launch_pointwise(_same, [_make(dst, meta.dtype, CUDA)], meta.shape, meta.dtype, meta.dtype, out)
            return out
        return dst

    return cuda


def _backward_ref(log):
    def ref(g, y, dim):
        g = np.asarray(g, np.float64)
        y = np.asarray(y, np.float64)
        if y.ndim == 0:
            return g - np.exp(y) * g if log else y * (g - g * y)
        if log:
            return g - np.exp(y) * np.sum(g, axis=dim, keepdims=True)
        return y * (g - np.sum(g * y, axis=dim, keepdims=True))

    return ref


def _backward_samples(log):
    def samples(device, dtype):
        rng = rng_for("softmax_backward", log, dtype.name)
        lo, hi = (-3.0, 0.0) if log else (0.0, 1.0)

        def pair(shape, dim, name, **kw):
            g = make_tensor(shape, dtype, device, rng=rng, **kw)
            y = make_tensor(shape, dtype, device, rng=rng, low=lo, high=hi)
            n = shape[dim] if shape else 1
            return Sample((g, y, dim), name=name, reduction_size=max(1, n))

        yield pair((), 0, "()")
        yield pair((0,), 0, "(0,)")
        yield pair((5,), 0, "(5,)")
        yield pair((2, 2 ** 6 + 17), -1, "(2,81)")
        yield pair((3, 4), 0, "(3,4)-dim0")
        yield pair((2, 3, 4), 1, "(2,3,4)-dim1")
        yield pair((4, 6), 1, "noncontig-grad", noncontiguous=True)

    return samples


def _torch_backward(log):
    def fn(torch, g, y, dim):
        if log:
            return torch._log_softmax_backward_data(g, y, dim, g.dtype)
        return torch._softmax_backward_data(g, y, dim, g.dtype)

    return fn


def _declare_backward(name, mode, log):
    return register(OpDef(
        name=name, family=FAMILY, infer=_backward_infer(name),
        impl={"cpu": _backward_cpu(log), "cuda": _backward_cuda(mode)}, ref=_backward_ref(log),
        samples=_backward_samples(log), dtypes=_dt.FLOATS, supports_out=True, extra={"torch": _torch_backward(log)},
        bench=BenchSpec(sizes=(256, 1024, 4096, 16384),
                        make=lambda size, device, dtype: ((make_tensor((_bench_rows(size), size), dtype, device),
                                                           make_tensor((_bench_rows(size), size), dtype, device,
                                                                       low=0.0, high=1.0), -1), {}),
                        bytes=lambda size, dtype: 3 * _bench_rows(size) * size * dtype.itemsize,
                        flops=lambda size: 4 * _bench_rows(size) * size),
        doc=f"{name}(grad_output, output, dim, probs=None): the fused gradient of "
            + ("log_softmax: g - exp(y) * sum(g) (on cpu, probs= the forward's softmax stands for exp(y))" if log
               else "softmax: y * (g - sum(g * y))")))


softmax_backward_op = _declare_backward("softmax_backward", SOFTMAX_BWD, False)
log_softmax_backward_op = _declare_backward("log_softmax_backward", LOG_SOFTMAX_BWD, True)


# ------------------------------------------------------------------------------------------------ vjp rules

def _softmax_vjp(ctx, grad):
    return (softmax_backward_op(grad, ctx.output, ctx.meta.aux),)


def _log_softmax_vjp(ctx, grad):
    aux = ctx.meta.aux
    probs = getattr(aux, "probs", None)
    if probs is None:
        return (log_softmax_backward_op(grad, ctx.output, aux),)
    # the softmax the cpu forward kept (used once: a second backward through a retained graph recomputes it)
    aux.probs = None
    p = _make(probs, ctx.output.dtype, ctx.output.device)
    return (log_softmax_backward_op(grad, ctx.output, int(aux), probs=p),)


def _softmax_backward_vjp(ctx, gg):
    # r = y * (g - s), s = sum(g * y): r is symmetric-linear in g, so d/dg = softmax_backward(gg, y);
    # d/dy_k = gg_k * (g_k - s) - g_k * sum(gg * y)
    g, y = ctx.inputs[0], ctx.inputs[1]
    d = ctx.meta.aux
    need_g, need_y = ctx.needs_input_grad
    dg = softmax_backward_op(gg, y, d) if need_g else None
    dy = None
    if need_y:
        s = (g * y).sum(d, keepdim=True)
        dy = gg * (g - s) - g * (gg * y).sum(d, keepdim=True)
    return dg, dy


def _log_softmax_backward_vjp(ctx, gg):
    # r = g - exp(y) * sum(g): d/dg = gg - sum(gg * exp(y)); d/dy = -gg * exp(y) * sum(g)
    g, y = ctx.inputs[0], ctx.inputs[1]
    d = ctx.meta.aux
    need_g, need_y = ctx.needs_input_grad
    e = y.exp()
    dg = gg - (gg * e).sum(d, keepdim=True) if need_g else None
    dy = -(gg * e) * g.sum(d, keepdim=True) if need_y else None
    return dg, dy


softmax_op.vjp = _softmax_vjp
log_softmax_op.vjp = _log_softmax_vjp
softmax_backward_op.vjp = _softmax_backward_vjp
log_softmax_backward_op.vjp = _log_softmax_backward_vjp


# ============================================================================================== public API

def _legacy_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim=None, _stacklevel=3, dtype=None) -> Tensor:
    """torch.nn.functional.softmax: exp(x) / sum(exp(x)) along dim (computed stably, fp32 for 16-bit inputs)."""
    if dim is None:
        dim = _legacy_dim("softmax", input.dim(), _stacklevel)
    return softmax_op(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim=None, _stacklevel=3, dtype=None) -> Tensor:
    """torch.nn.functional.log_softmax: x - logsumexp(x) along dim."""
    if dim is None:
        dim = _legacy_dim("log_softmax", input.dim(), _stacklevel)
    return log_softmax_op(input, dim, dtype=dtype)


def _softmax_method(self: Tensor, dim, dtype=None) -> Tensor:
    return softmax_op(self, dim, dtype=dtype)


def _log_softmax_method(self: Tensor, dim, dtype=None) -> Tensor:
    return log_softmax_op(self, dim, dtype=dtype)


_bind.methods(softmax=_softmax_method, log_softmax=_log_softmax_method)
