"""Matrix products: mm, bmm, matmul, addmm, linear and dot (plus `@` and the Tensor methods).

Every GEMM-shaped op runs through one strided, batched Triton kernel (`_gemm_kernel`):
  - tiles of BLOCK_M x BLOCK_N outputs, reduced over K in BLOCK_K steps; programs are ordered in groups of
    GROUP_M tile rows so that neighbouring programs share A/B tiles in L2;
  - A, B, C (and the bias) are addressed through their own strides, so transposed and sliced operands are read
    in place, never copied; batch dims are two grid axes with per-operand batch strides (0 = broadcast);
  - the epilogue computes alpha * (A @ B) + beta * bias before the single store, so addmm and linear do not
    re-read the product;
  - fp16/bf16 accumulate in fp32, fp32 uses tl.dot with input_precision "ieee" (or "tf32" when
    tritorch.backends.cuda.matmul.allow_tf32 is set), fp64 uses an fp64 dot, int8 an int32 dot, and the other
    integer types a broadcast multiply-sum (tl.dot has no int16/int32/int64 form); integer results are exact
    (modulo 2**bits, as in PyTorch).
On a GPU the kernel is autotuned over a few tile configs keyed on (M, N, K, dtypes); under the interpreter one
small fixed config is launched directly. dot (1-D x 1-D) has its own split reduction (`_dot_kernel`).

The NumPy fallback is np.matmul (BLAS for fp32/fp64) with the addmm/linear epilogue applied in place on the
product; fp16/bf16 go through fp32 (NumPy has no half-precision BLAS) and are rounded once.
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from .. import _state
from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray
from ..device import CPU
from ..tensor import Tensor, _make
from . import _bind, launch
from ._cpu_parallel import blas_gemm_accumulate
from . import pointwise as pw
from .registry import (_FLAGS, _GRAD, BenchSpec, Meta, OpDef, Sample, broadcast_pair, broadcast_shapes, device_of,
                       register)
from .samples import make_tensor, rng_for
from .launch import cdiv as _cdiv, f64_bits as _f64_bits

FAMILY = "matmul"

__all__ = ["mm", "bmm", "matmul", "addmm", "linear", "dot"]

DTYPES = _dt.FLOATS + _dt.INTS

# ============================================================================================== Triton kernels

# How a kernel multiplies a tile pair (constexpr MODE).
DOT_FLOAT, DOT_INT8, MUL_SUM = 0, 1, 2


@triton.jit
def _tile_coords(pid, M, N, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, GROUP_M: tl.constexpr):
    """(tile row, tile column) of program `pid`: GROUP_M tile rows are walked column by column, so programs
    that run together reuse the same B columns and A rows from L2."""
    tiles_m = tl.cdiv(M, BLOCK_M)
    tiles_n = tl.cdiv(N, BLOCK_N)
    group_width = GROUP_M * tiles_n
    first_m = (pid // group_width) * GROUP_M
    group_rows = tl.minimum(tiles_m - first_m, GROUP_M)
    pid_m = first_m + (pid % group_width) % group_rows
    pid_n = (pid % group_width) // group_rows
    return pid_m, pid_n


@triton.jit
def _multiply_accumulate(a, b, acc, MODE: tl.constexpr, PRECISION: tl.constexpr, UPCAST: tl.constexpr,
                         ACC: tl.constexpr):
    """acc + a @ b for one (BLOCK_M, BLOCK_K) x (BLOCK_K, BLOCK_N) tile pair."""
    if MODE == 0:
        if UPCAST:  # interpreter: no bf16 arithmetic there, so half-precision tiles multiply as fp32
            a = a.to(tl.float32)
            b = b.to(tl.float32)
        # out_dtype spelled out: Triton 3.6 assumes fp32 for an explicit accumulator (fp64 needs fp64)
        acc = tl.dot(a, b, acc, input_precision=PRECISION, out_dtype=ACC)
    elif MODE == 1:
        acc = tl.dot(a, b, acc, out_dtype=tl.int32)  # int8 x int8 -> int32 accumulator
    else:
        acc += tl.sum(a.to(ACC)[:, :, None] * b.to(ACC)[None, :, :], axis=1)
    return acc


@triton.jit
def _scalar(value, BITS: tl.constexpr, ACC: tl.constexpr):
    """A host scalar in the accumulator type; float scalars travel as their fp64 bits (no fp32 rounding)."""
    if BITS:
        v = tl.cast(tl.cast(value, tl.int64), tl.float64, bitcast=True).to(ACC)
    else:
        v = tl.cast(value, ACC)
    return v


@triton.jit
def _gemm_kernel(
    a_ptr, b_ptr, c_ptr, bias_ptr,          # A (M x K), B (K x N), C (M x N) per batch; bias (broadcast to C)
    M, N, K,                                # problem size of one batch entry
    sa_b0, sa_b1, sa_m, sa_k,               # A strides in elements: batch dim 0, batch dim 1, rows, reduction
    sb_b0, sb_b1, sb_k, sb_n,               # B strides: batch dims, reduction, columns
    sc_b0, sc_b1, sc_m, sc_n,               # C strides: batch dims, rows, columns
    sd_b0, sd_b1, sd_m, sd_n,               # bias strides as seen at C's shape (0 where broadcast)
    alpha, beta,                            # C = alpha * (A @ B) + beta * bias (fp64 bits when SCALAR_BITS)
    HAS_BIAS: tl.constexpr,                 # add beta * bias in the epilogue (False also when beta == 0)
    MODE: tl.constexpr,                     # DOT_FLOAT / DOT_INT8 / MUL_SUM
    PRECISION: tl.constexpr,                # tl.dot input_precision for fp32: "ieee" or "tf32"
    UPCAST: tl.constexpr,                   # convert fp16/bf16 tiles to fp32 before the dot (interpreter)
    ACC: tl.constexpr,                      # accumulator type: fp32 (fp16/bf16/fp32), fp64, int32, int64
    SCALAR_BITS: tl.constexpr,              # alpha/beta are fp64 bit patterns (float dtypes) or integers
    BIG_INDEX: tl.constexpr,                # some in-matrix offset exceeds int32: index in int64
    EVEN_K: tl.constexpr,                   # K % BLOCK_K == 0: no K masks (loads stay vectorised)
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,  # tile sizes
    GROUP_M: tl.constexpr,                  # tile rows per L2 group
):
    # bytes: reads A once per tile column and B once per tile row (ceil(N/BLOCK_N) * M*K + ceil(M/BLOCK_M) * K*N
    # elements, mostly from L2), the bias once (M*N when HAS_BIAS), writes C once (M*N elements).
    pid_m, pid_n = _tile_coords(tl.program_id(0), M, N, BLOCK_M, BLOCK_N, GROUP_M)
    b0 = tl.program_id(1).to(tl.int64)
    b1 = tl.program_id(2).to(tl.int64)
    a_ptr += b0 * sa_b0 + b1 * sa_b1
    b_ptr += b0 * sb_b0 + b1 * sb_b1
    c_ptr += b0 * sc_b0 + b1 * sc_b1

    rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    rk = tl.arange(0, BLOCK_K)
    if BIG_INDEX:
        rm = rm.to(tl.int64)
        rn = rn.to(tl.int64)
    # Rows/columns past the edge re-read valid ones (wrapped), so only K needs a load mask; the store is masked.
    a_ptrs = a_ptr + (rm % M)[:, None] * sa_m + rk[None, :] * sa_k
    b_ptrs = b_ptr + rk[:, None] * sb_k + (rn % N)[None, :] * sb_n
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=ACC)
    for k0 in range(0, tl.cdiv(K, BLOCK_K)):
        if EVEN_K:
            a = tl.load(a_ptrs)
            b = tl.load(b_ptrs)
        else:
            k_left = K - k0 * BLOCK_K
            a = tl.load(a_ptrs, mask=rk[None, :] < k_left, other=0)
            b = tl.load(b_ptrs, mask=rk[:, None] < k_left, other=0)
        acc = _multiply_accumulate(a, b, acc, MODE, PRECISION, UPCAST, ACC)
        a_ptrs += BLOCK_K * sa_k
        b_ptrs += BLOCK_K * sb_k

    acc = acc * _scalar(alpha, SCALAR_BITS, ACC)
    c_mask = (rm < M)[:, None] & (rn < N)[None, :]
    if HAS_BIAS:
        bias_ptr += b0 * sd_b0 + b1 * sd_b1
        bias = tl.load(bias_ptr + rm[:, None] * sd_m + rn[None, :] * sd_n, mask=c_mask, other=0)
        acc += bias.to(ACC) * _scalar(beta, SCALAR_BITS, ACC)
    tl.store(c_ptr + rm[:, None] * sc_m + rn[None, :] * sc_n, acc.to(c_ptr.dtype.element_ty), mask=c_mask)


@triton.jit
def _dot_kernel(
    x_ptr, y_ptr,                # the two vectors (any element strides)
    out_ptr,                     # one partial sum per program (ACC dtype), or the 0-dim result when one program
    n,                           # vector length
    sx, sy,                      # element strides of x and y
    ACC: tl.constexpr,           # accumulator: fp32 (fp16/bf16/fp32), fp64, int64
    BLOCK: tl.constexpr,         # elements per step
    STEPS: tl.constexpr,         # steps per program (a program reduces BLOCK * STEPS elements)
):
    # bytes: reads 2n elements, writes one value per program
    start = tl.program_id(0).to(tl.int64) * (BLOCK * STEPS)
    acc = tl.zeros((BLOCK,), dtype=ACC)
    for s in range(STEPS):
        offs = start + s * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n
        x = tl.load(x_ptr + offs * sx, mask=mask, other=0).to(ACC)
        y = tl.load(y_ptr + offs * sy, mask=mask, other=0).to(ACC)
        acc += x * y
    tl.store(out_ptr + tl.program_id(0), tl.sum(acc, axis=0).to(out_ptr.dtype.element_ty))


@triton.jit
def _sum_partials_kernel(
    part_ptr,                    # partial sums (contiguous, ACC dtype)
    out_ptr,                     # the 0-dim result
    n_parts,                     # number of partial sums
    BLOCK: tl.constexpr,         # partials read per step
):
    # bytes: reads n_parts values, writes one
    acc = tl.zeros((BLOCK,), dtype=part_ptr.dtype.element_ty)
    for start in range(0, n_parts, BLOCK):
        offs = start + tl.arange(0, BLOCK)
        acc += tl.load(part_ptr + offs, mask=offs < n_parts, other=0)
    tl.store(out_ptr, tl.sum(acc, axis=0).to(out_ptr.dtype.element_ty))


@triton.jit
def _copy_fn(x, y, z, p0, p1):
    return x


# ============================================================================== launch configuration (GPU)

def _config(bm, bn, bk, stages, warps):
    return triton.Config({"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk, "GROUP_M": 8}, num_stages=stages,
                         num_warps=warps)


# Tile shapes from Triton's matmul tutorial for sm80/sm90, large to small; configs whose shared memory does not
# fit a dtype are pruned before tuning (the autotuner would only discard them after compiling).
_GPU_CONFIGS = [
    _config(128, 256, 64, 3, 8),
    _config(256, 128, 64, 3, 8),
    _config(128, 128, 64, 4, 8),
    _config(128, 256, 32, 3, 8),
    _config(256, 128, 32, 3, 8),
    _config(128, 128, 32, 4, 8),
    _config(128, 128, 32, 4, 4),
    _config(128, 64, 32, 4, 4),
    _config(64, 128, 32, 4, 4),
    _config(64, 64, 32, 4, 4),
]
# Problems this small gain nothing from tuning; one config avoids compiling and timing the others.
_SMALL_CONFIG = _config(64, 64, 32, 3, 4)
_SMALL_WORK = 1 << 21
# The integer multiply-sum path holds a BLOCK_M x BLOCK_K x BLOCK_N product in registers: keep it small.
_MUL_SUM_CONFIG = _config(32, 32, 8, 2, 4)
_FP64_CONFIGS = [_config(64, 64, 32, 3, 4), _config(64, 32, 32, 3, 4), _config(32, 32, 32, 3, 4)]
_SMEM_BYTES = 200 * 1024
# The interpreter runs one fixed config (tuning there is meaningless, and slow).
_INTERPRET_BLOCKS = {"BLOCK_M": 32, "BLOCK_N": 32, "BLOCK_K": 32, "GROUP_M": 8}
# CUDA's limit on grid dims y and z (batch axes); larger batches are launched in chunks.
_MAX_GRID_YZ = 65535


def _prune_configs(configs, named_args, **kwargs):
    mode = kwargs["MODE"]
    if mode == MUL_SUM:
        return [_MUL_SUM_CONFIG]
    if named_args["M"] * named_args["N"] * named_args["K"] <= _SMALL_WORK:
        return [_SMALL_CONFIG]
    itemsize = named_args["a_ptr"].dtype.itemsize
    if itemsize == 8:
        return _FP64_CONFIGS
    keep = [c for c in configs
            if (c.kwargs["BLOCK_M"] + c.kwargs["BLOCK_N"]) * c.kwargs["BLOCK_K"] * itemsize * c.num_stages
            <= _SMEM_BYTES]
    return keep or [_SMALL_CONFIG]


class _EventTimer:
    """The autotuner's timer: CUDA events on tritorch's stream (Triton's default timer would import torch)."""

    def __init__(self):
        self.events = None

    def __call__(self, kernel_call, quantiles=None):
        drv = _cuda.DRIVER.init()
        cu = drv.cu
        if self.events is None:
            self.events = (_cuda._check(cu.cuEventCreate(0)), _cuda._check(cu.cuEventCreate(0)))
        start, end = self.events

        def timed(n):
            cu.cuEventRecord(start, drv.stream)
            for _ in range(n):
                kernel_call()
            cu.cuEventRecord(end, drv.stream)
            cu.cuEventSynchronize(end)
            return _cuda._check(cu.cuEventElapsedTime(start, end)) / n

        timed(1)  # warm up (the first call of a config may compile)
        estimate = max(timed(2), 1e-3)
        reps = int(min(50, max(3, 20.0 / estimate)))
        times = np.array([timed(1) for _ in range(reps)])
        if quantiles is None:
            return float(np.median(times))
        return [float(np.quantile(times, q)) for q in quantiles]


_EVEN_K_ENABLED = True


def _even_k(args) -> bool:
    return _EVEN_K_ENABLED and args["K"] % args["BLOCK_K"] == 0


_gemm_tuned = triton.autotune(configs=_GPU_CONFIGS, key=["M", "N", "K", "MODE", "PRECISION", "HAS_BIAS"],
                              prune_configs_by={"early_config_prune": _prune_configs},
                              do_bench=_EventTimer())(triton.heuristics({"EVEN_K": _even_k})(_gemm_kernel))

# ================================================================================== launchers (cuda impls)

def _compute_mode(dtype: _dt.dtype) -> tuple:
    """(MODE, accumulator) of a dtype."""
    if dtype.kind == _dt.FLOAT:
        return DOT_FLOAT, (tl.float64 if dtype is _dt.float64 else tl.float32)
    if dtype is _dt.int8:
        return DOT_INT8, tl.int32
    return MUL_SUM, (tl.int64 if dtype is _dt.int64 else tl.int32)


class _Operand:
    """An array seen as (batch..., rows, cols): batch strides (0 = broadcast), row stride, column stride."""

    __slots__ = ("arr", "batch_strides", "s_row", "s_col")

    def __init__(self, arr, batch_strides, s_row, s_col):
        self.arr, self.batch_strides, self.s_row, self.s_col = arr, tuple(batch_strides), s_row, s_col


def _operand(arr: CudaArray, n_batch: int, ndim: int, no_rows=False, no_cols=False) -> _Operand:
    """View `arr` (of `ndim` dims, right-aligned against the output's) as (batch (n_batch dims), rows, cols);
    a missing rows/cols dim (a 1-D matmul operand) is a size-1 dim."""
    shape, strides = list(arr.shape), list(arr.strides)
    pad = ndim - len(shape)
    shape, strides = [1] * pad + shape, [0] * pad + strides
    if no_rows:
        shape.insert(len(shape) - 1 if shape else 0, 1)
        strides.insert(len(strides) - 1 if strides else 0, 0)
    if no_cols:
        shape.append(1)
        strides.append(0)
    pad = n_batch + 2 - len(shape)
    shape, strides = [1] * pad + shape, [0] * pad + strides
    strides = [0 if n == 1 else s for n, s in zip(shape, strides)]
    return _Operand(arr, strides[:n_batch], strides[n_batch], strides[n_batch + 1])


def _fold_batch_into_rows(batch, m, ops):
    """While B does not move along the innermost batch dim and A, C and the bias step over it exactly one
    matrix height, that batch dim is more rows: one bigger GEMM instead of many small ones."""
    b = ops[1]
    others = [ops[0]] + ops[2:]
    while batch and b.batch_strides[-1] == 0:
        if m != 1 and any(o.batch_strides[-1] != m * o.s_row for o in others):
            break
        for o in others:
            if m == 1:
                o.s_row = o.batch_strides[-1]
            o.batch_strides = o.batch_strides[:-1]
        b.batch_strides = b.batch_strides[:-1]
        m *= batch[-1]
        batch = batch[:-1]
    return batch, m


def _needs_int64_index(m, n, k, ops) -> bool:
    a, b, c = ops[0], ops[1], ops[2]
    spans = [(m - 1) * abs(a.s_row) + (k - 1) * abs(a.s_col), (k - 1) * abs(b.s_row) + (n - 1) * abs(b.s_col),
             (m - 1) * abs(c.s_row) + (n - 1) * abs(c.s_col)]
    if len(ops) > 3:
        spans.append((m - 1) * abs(ops[3].s_row) + (n - 1) * abs(ops[3].s_col))
    return max(spans) >= 2 ** 31 - 1


class _Launch:
    """One kernel launch, decided once per operand layout: element offsets of A, B, C and the bias from the
    arrays' first elements, problem size, grid batch dims, the integer arguments (strides, alpha/beta) and the
    constexpr flags."""

    __slots__ = ("offsets", "m", "n", "k", "n0", "n1", "int_args", "meta", "has_bias")

    def __init__(self, offsets, m, n, k, n0, n1, int_args, meta, has_bias):
        self.offsets, self.m, self.n, self.k, self.n0, self.n1 = offsets, m, n, k, n0, n1
        self.int_args, self.meta, self.has_bias = int_args, meta, has_bias


def plan_gemm(batch, m, n, k, a: _Operand, b: _Operand, c: _Operand, bias: _Operand | None, alpha, beta,
              dtype: _dt.dtype) -> list:
    """The launches computing C[batch] = alpha * A[batch] @ B[batch] (+ beta * bias[batch]) for strided operands:
    batch dims collapsed, folded into rows where the layout allows, split over the grid's two batch axes."""
    if m == 0 or n == 0 or any(s == 0 for s in batch):
        return []
    has_bias = bias is not None and beta != 0
    if alpha == 0:
        k = 0  # BLAS semantics: A and B are not read (their NaNs do not reach the result)
    ops = [a, b, c] + ([bias] if has_bias else [])
    batch, strides = launch.collapse(tuple(batch), [o.batch_strides for o in ops])
    for o, st in zip(ops, strides):
        o.batch_strides = st
    batch, m = _fold_batch_into_rows(batch, m, ops)
    mode, acc = _compute_mode(dtype)
    if dtype.kind == _dt.FLOAT:
        scalars = (_f64_bits(alpha), _f64_bits(beta))
    else:
        scalars = (int(alpha), int(beta))
    meta = dict(HAS_BIAS=has_bias, MODE=mode,
                PRECISION="tf32" if dtype is _dt.float32 and _cuda.matmul.allow_tf32 else "ieee",
                UPCAST=_cuda.INTERPRET and dtype in (_dt.float16, _dt.bfloat16), ACC=acc,
                SCALAR_BITS=dtype.kind == _dt.FLOAT, BIG_INDEX=_needs_int64_index(m, n, k, ops))
    if _cuda.INTERPRET:
        meta.update(_INTERPRET_BLOCKS, EVEN_K=_even_k({"K": k, **_INTERPRET_BLOCKS}))
    # more than two batch dims left (broadcasts that neither collapse nor fold): one launch per leading index
    lead = batch[:-2] if len(batch) > 2 else ()
    tail = (1,) * (2 - len(batch[len(lead):])) + tuple(batch[len(lead):])
    tail_strides = [(0,) * (2 - len(o.batch_strides[len(lead):])) + tuple(o.batch_strides[len(lead):]) for o in ops]
    bias_rc = (bias.s_row, bias.s_col) if has_bias else (0, 0)
    int_args = (m, n, k, *tail_strides[0], a.s_row, a.s_col, *tail_strides[1], b.s_row, b.s_col,
                *tail_strides[2], c.s_row, c.s_col, *(tail_strides[3] if has_bias else (0, 0)), *bias_rc, *scalars)
    launches = []
    for idx in np.ndindex(*lead):
        base = [sum(i * o.batch_strides[d] for d, i in enumerate(idx)) for o in ops]
        for start0, n0 in _chunks(tail[0]):
            for start1, n1 in _chunks(tail[1]):
                offsets = tuple(off + start0 * st[0] + start1 * st[1] for off, st in zip(base, tail_strides))
                launches.append(_Launch(offsets, m, n, k, n0, n1, int_args, meta, has_bias))
    return launches


def _execute(launch_: _Launch, a: CudaArray, b: CudaArray, c: CudaArray, bias) -> None:
    offs = launch_.offsets
    a, b, c = _shifted(a, offs[0]), _shifted(b, offs[1]), _shifted(c, offs[2])
    bias = _shifted(bias, offs[3]) if launch_.has_bias else c
    m, n, n0, n1 = launch_.m, launch_.n, launch_.n0, launch_.n1
    if _cuda.INTERPRET:
        grid = (_cdiv(m, _INTERPRET_BLOCKS["BLOCK_M"]) * _cdiv(n, _INTERPRET_BLOCKS["BLOCK_N"]), n0, n1)
        _gemm_kernel[grid](a, b, c, bias, *launch_.int_args, **launch_.meta)
    else:
        def grid(cfg):
            return (_cdiv(m, cfg["BLOCK_M"]) * _cdiv(n, cfg["BLOCK_N"]), n0, n1)
        _gemm_tuned[grid](a, b, c, bias, *launch_.int_args, **launch_.meta)


def _chunks(n):
    for start in range(0, n, _MAX_GRID_YZ):
        yield start, min(_MAX_GRID_YZ, n - start)


def _shifted(arr: CudaArray, off: int) -> CudaArray:
    return arr if off == 0 else arr.view_as(arr.shape, arr.strides, arr.offset + off)


def _aliases(out: CudaArray, tensors) -> bool:
    return any(isinstance(t, Tensor) and t._data.block is out.block for t in tensors)


def _gemm_into(meta, out, inputs, run):
    """Run `run(dest)` into `out` (allocated when None). When `out` shares memory with an input, compute into a
    fresh array and copy: the autotuner times several configs on the real arguments, and a product must not
    overwrite an operand it still reads."""
    if out is None:
        dest = CudaArray.empty(meta.shape, meta.dtype.np)
        run(dest)
        return dest
    _check_out_dtype(meta, out)
    if not _aliases(out, inputs):
        run(out)
        return out
    tmp = CudaArray.empty(meta.shape, meta.dtype.np)
    run(tmp)
    pw.launch_pointwise(_copy_fn, [_make(tmp, meta.dtype, meta.device)], meta.shape, meta.dtype, meta.dtype, out)
    return out


_DOT_BLOCK, _DOT_STEPS = (256, 1) if _cuda.INTERPRET else (1024, 8)


def _launch_dot(x: CudaArray, y: CudaArray, out: CudaArray, dtype: _dt.dtype) -> None:
    n = x.shape[0]
    sx, sy = (x.strides[0], y.strides[0]) if n else (1, 1)
    acc_np, acc_tl = (np.float64, tl.float64) if dtype is _dt.float64 else \
        (np.float32, tl.float32) if dtype.kind == _dt.FLOAT else (np.int64, tl.int64)
    parts = max(1, _cdiv(n, _DOT_BLOCK * _DOT_STEPS))
    dest = pw.kernel_view(out) if parts == 1 else CudaArray.empty((parts,), np.dtype(acc_np))
    _dot_kernel[(parts,)](x, y, dest, n, sx, sy, ACC=acc_tl, BLOCK=_DOT_BLOCK, STEPS=_DOT_STEPS)
    if parts > 1:
        _sum_partials_kernel[(1,)](dest, pw.kernel_view(out), parts, BLOCK=1024)


# ==================================================================================== infer: shared checks

_CPP_NAMES = {_dt.float32: "float", _dt.float64: "double", _dt.float16: "c10::Half", _dt.bfloat16: "c10::BFloat16",
              _dt.int64: "long int", _dt.int32: "int", _dt.int16: "short int", _dt.int8: "signed char",
              _dt.uint8: "unsigned char", _dt.bool_: "bool"}
_TYPE_NAMES = {_dt.float32: "Float", _dt.float64: "Double", _dt.float16: "Half", _dt.bfloat16: "BFloat16",
               _dt.int64: "Long", _dt.int32: "Int", _dt.int16: "Short", _dt.int8: "Char", _dt.uint8: "Byte",
               _dt.bool_: "Bool"}


def _require_tensor(fn: str, name: str, pos: int, x) -> None:
    if x.__class__ is not Tensor and not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not {type(x).__name__}")


def _check_supported(kernel_name: str, *tensors) -> None:
    for t in tensors:
        if t.dtype is _dt.bool_:
            raise RuntimeError(f'"{kernel_name}" not implemented for \'Bool\'')


def _mm_dtype_check(a, b) -> None:
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_CPP_NAMES[a.dtype]} != "
                           f"{_CPP_NAMES[b.dtype]}")


def _mm_shape_check(m, k1, k2, n) -> None:
    if k1 != k2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m}x{k1} and {k2}x{n})")


def _bmm_checks(batch, m, k1, b_batch, k2, a_dtype, b_dtype) -> None:
    if b_batch != batch or k2 != k1:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, {k1}] but got: "
                           f"[{b_batch}, {k2}].")
    if a_dtype is not b_dtype:
        raise RuntimeError(f"expected scalar type {_TYPE_NAMES[a_dtype]} but found {_TYPE_NAMES[b_dtype]}")


def _dot_checks(a, b) -> None:
    if a.dtype is not b.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {_TYPE_NAMES[a.dtype]} and "
                           f"{_TYPE_NAMES[b.dtype]}")
    na, nb = a._data.shape[0], b._data.shape[0]
    if na != nb:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{na}] and src [{nb}] to have the same number "
                           f"of elements, but got {na} and {nb} elements respectively")


def _mv_checks(m, k, vec_len, mat_dtype, vec_dtype) -> None:
    if k != vec_len:
        raise RuntimeError(f"size mismatch, got input ({m}), mat ({m}x{k}), vec ({vec_len})")
    if mat_dtype is not vec_dtype:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {_TYPE_NAMES[vec_dtype]}, "
                           f"{_TYPE_NAMES[mat_dtype]}, and {_TYPE_NAMES[vec_dtype]}")


def _expand_check(shape: tuple, target: tuple, tensor_label: str) -> None:
    """PyTorch's expand errors for a bias broadcast to the output shape (the bias may not enlarge it)."""
    if len(shape) > len(target):
        raise RuntimeError(f"expand({tensor_label}{{{list(shape)}}}, size={list(target)}): the number of sizes "
                           f"provided ({len(target)}) must be greater or equal to the number of dimensions in the "
                           f"tensor ({len(shape)})")
    off = len(target) - len(shape)
    for i, s in enumerate(shape):
        if s != 1 and s != target[off + i]:
            raise RuntimeError(f"The expanded size of the tensor ({target[off + i]}) must match the existing size "
                               f"({s}) at non-singleton dimension {off + i}.  Target sizes: {list(target)}.  "
                               f"Tensor sizes: {list(shape)}")


def _legacy_label(t: Tensor) -> str:
    return ("torch.cuda." if t.device.type == "cuda" else "torch.") + _TYPE_NAMES[t.dtype] + "Tensor"


def _check_out_dtype(meta: Meta, out) -> None:
    want = meta.dtype
    got = _dt.from_numpy_dtype(out.dtype)
    if got is not want:
        if not meta.shape:  # dot's result check
            raise RuntimeError(f"result dtype {_TYPE_NAMES[got]} does not match input dtype {_TYPE_NAMES[want]}")
        raise RuntimeError(f"Expected out tensor to have dtype {_CPP_NAMES[want]}, but got {_CPP_NAMES[got]} instead")


def _kernel_name(dev, cpu_name: str, cuda_name: str) -> str:
    return cpu_name if dev.type == "cpu" else cuda_name


def _scalar_for(dtype: _dt.dtype, v):
    """alpha/beta as the op computes with them: integer dtypes truncate a float scalar (as PyTorch's cast)."""
    if isinstance(v, Tensor):
        v = v.item()
    if dtype.kind == _dt.FLOAT:
        return float(v)
    return int(v)


class _Plan:
    """What infer decided for a GEMM-shaped call: batch shape, M, N, K, and which operand dims are missing
    (1-D matmul operands)."""

    __slots__ = ("batch", "m", "n", "k", "a_vec", "b_vec", "alpha", "beta")

    def __init__(self, batch, m, n, k, a_vec=False, b_vec=False, alpha=1, beta=1):
        self.batch, self.m, self.n, self.k = tuple(batch), m, n, k
        self.a_vec, self.b_vec, self.alpha, self.beta = a_vec, b_vec, alpha, beta

    def __repr__(self):
        return f"_Plan(batch={self.batch}, m={self.m}, n={self.n}, k={self.k}, a_vec={self.a_vec}, b_vec={self.b_vec})"


# Launch lists by operand layout: a training loop repeats the same shapes, so the layout work is done once.
_LAUNCH_CACHE: dict = {}
_LAUNCH_CACHE_SIZE = 2048


def _layout(arr) -> tuple | None:
    return None if arr is None else (arr.shape, arr.strides)


def _run_plan(meta: Meta, a: CudaArray, b: CudaArray, bias, dest: CudaArray) -> None:
    """Launch the GEMM kernel for a plan: A and B as the call gave them (weight already transposed)."""
    p = meta.aux
    key = (p.batch, p.m, p.n, p.k, p.a_vec, p.b_vec, p.alpha, p.beta, meta.dtype, meta.shape, _layout(a), _layout(b),
           _layout(dest), _layout(bias), _cuda.matmul.allow_tf32)
    launches = _LAUNCH_CACHE.get(key)
    if launches is None:
        nb, out_nd = len(p.batch), len(meta.shape)
        A = _operand(a, nb, len(a.shape), no_rows=p.a_vec)
        B = _operand(b, nb, len(b.shape), no_cols=p.b_vec)
        C = _operand(dest, nb, out_nd, no_rows=p.a_vec, no_cols=p.b_vec)
        D = None if bias is None else _operand(bias, nb, out_nd, no_rows=p.a_vec, no_cols=p.b_vec)
        launches = plan_gemm(p.batch, p.m, p.n, p.k, A, B, C, D, p.alpha, p.beta, meta.dtype)
        if len(_LAUNCH_CACHE) >= _LAUNCH_CACHE_SIZE:
            _LAUNCH_CACHE.clear()
        _LAUNCH_CACHE[key] = launches
    for launch_ in launches:
        _execute(launch_, a, b, dest, bias)


def _transposed(arr: CudaArray) -> CudaArray:
    """The last two dims swapped (a view)."""
    if len(arr.shape) < 2:
        return arr
    shape, st = list(arr.shape), list(arr.strides)
    shape[-1], shape[-2] = shape[-2], shape[-1]
    st[-1], st[-2] = st[-2], st[-1]
    return arr.view_as(shape, st, arr.offset)


# ========================================================================================= NumPy fallbacks

_HALF = (_dt.float16, _dt.bfloat16)


def _np_in(x: Tensor, dtype: _dt.dtype) -> np.ndarray:
    """The operand as NumPy computes it: fp16/bf16 widen to fp32 (no half-precision BLAS)."""
    a = x._data
    return a.astype(np.float32) if dtype in _HALF else a


def _np_finish(r, meta: Meta, out):
    """Round/cast the product to the op's dtype (or write it into `out`)."""
    if out is not None:
        np.copyto(out, r, casting="unsafe")
        return out
    r = np.asarray(r)
    if r.dtype != meta.dtype.np:
        r = r.astype(meta.dtype.np)
    return r


def _np_product(meta: Meta, a: np.ndarray, b: np.ndarray, out):
    """np.matmul straight into `out` when no rounding step follows (saves a copy)."""
    if out is not None and meta.dtype not in _HALF and meta.shape and out.dtype == a.dtype:
        np.matmul(a, b, out=out)
        return out
    return np_matmul(a, b)


# OpenBLAS runs a float32 product x @ w.T with few rows (B transposed, i.e. a linear layer's forward: w (n, k)
# C-contiguous) at half the speed of the same product taken as (w @ x.T).T: its threads and packing suit a long
# output dimension. Rows 4..48 with at least 2**17 multiply-adds here (2 cores): (20, 128) x (512, 128)^T 31 -> 23
# us, (8, 768) x (768, 768)^T 168 -> 88 us, transposing copy included; 1 thread gains about as much. Below 4 rows
# it is a GEMV either way; from ~64 rows, and in float64, the direct call is faster. The choice depends on the
# shapes and layouts only, so a given product always takes the same path.
_NT_ROWS = (4, 48)
_NT_MIN_WORK = 1 << 17


def nt_transposed(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """(b.T @ a.T).T, a transposed (m, n) view of a C-contiguous (n, m) product, where that runs faster than
    a @ b (2-D float32, few rows, b a transposed C-contiguous matrix); None otherwise."""
    if (a.dtype == np.float32 and b.dtype == np.float32 and a.ndim == 2 and b.ndim == 2
            and _NT_ROWS[0] <= a.shape[0] <= _NT_ROWS[1] and b.flags.f_contiguous and not b.flags.c_contiguous
            and a.shape[0] * a.shape[1] * b.shape[1] >= _NT_MIN_WORK):
        return np.matmul(b.T, a.T).T
    return None


def np_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.matmul, with the batch dims of an N-D @ 2-D product folded into the rows first: one BLAS call instead
    of NumPy's loop of small ones (5x faster for (128, 12, 64) @ (64, 192)), as PyTorch folds them; a product
    with few rows and b transposed as the transpose of b.T @ a.T (nt_transposed)."""
    if a.ndim > 2 and b.ndim == 2:
        k = a.shape[-1]
        if k == b.shape[0] and a.size:
            return np_matmul(a.reshape(-1, k), b).reshape(a.shape[:-1] + (b.shape[1],))
    t = nt_transposed(a, b)
    if t is not None:
        return np.ascontiguousarray(t)
    if a.ndim == 2 and b.ndim == 2 and a.shape[1] == 1 and b.shape[0] == 1:
        # an outer product (a batch-1 weight gradient): np.matmul runs K = 1 four times slower than the multiply
        # (418 vs 104 us for 256 x 784 here), which is exact (one product per element, as the GEMM's)
        return np.multiply(a, b)
    return np.matmul(a, b)


def _np_epilogue(r: np.ndarray, bias, alpha, beta, dtype: _dt.dtype) -> np.ndarray:
    """r = alpha * r + beta * bias, in place on the fresh product r."""
    if alpha != 1:
        r *= alpha
    if bias is not None and beta != 0:
        b = _np_in(bias, dtype)
        if beta == 1:
            r += b
        else:
            r += b * (np.asarray(beta, r.dtype) if dtype.kind != _dt.FLOAT else beta)
    return r


# ============================================================================================ the ops

# ------------------------------------------------------------------------------------------------- mm

def _mm_infer(input, mat2):
    _require_tensor("mm", "input", 1, input)
    _require_tensor("mm", "mat2", 2, mat2)
    dev = device_of(input, mat2)
    if input.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    (m, k), (k2, n) = input._data.shape, mat2._data.shape
    _mm_shape_check(m, k, k2, n)
    _mm_dtype_check(input, mat2)
    _check_supported(_kernel_name(dev, "addmm_impl_cpu_", "addmm_cuda"), input)
    return Meta((m, n), input.dtype, dev, _Plan((), m, n, k))


def _mm_cpu(meta, input, mat2, out=None):
    if out is not None:
        _check_out_dtype(meta, out)
    dt = meta.dtype
    r = _np_product(meta, _np_in(input, dt), _np_in(mat2, dt), out)
    return r if r is out else _np_finish(r, meta, out)


def _mm_cuda(meta, input, mat2, out=None):
    return _gemm_into(meta, out, (input, mat2), lambda dest: _run_plan(meta, input._data, mat2._data, None, dest))


# ------------------------------------------------------------------------------------------------ bmm

def _bmm_infer(input, mat2):
    _require_tensor("bmm", "input", 1, input)
    _require_tensor("bmm", "mat2", 2, mat2)
    dev = device_of(input, mat2)
    if input.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    (bs, m, k), (bs2, k2, n) = input._data.shape, mat2._data.shape
    _bmm_checks(bs, m, k, bs2, k2, input.dtype, mat2.dtype)
    _check_supported(_kernel_name(dev, "bmm", "bmm_cuda"), input)
    return Meta((bs, m, n), input.dtype, dev, _Plan((bs,), m, n, k))


# ------------------------------------------------------------------------------------------------ dot

def _dot_infer(input, tensor):
    _require_tensor("dot", "input", 1, input)
    _require_tensor("dot", "tensor", 2, tensor)
    dev = device_of(input, tensor)
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors")
    _dot_checks(input, tensor)
    _check_supported("dot", input)
    return Meta((), input.dtype, dev, _Plan((), 1, 1, input._data.shape[0], True, True))


def _dot_cpu(meta, input, tensor, out=None):
    if out is not None:
        _check_out_dtype(meta, out)
    dt = meta.dtype
    return _np_finish(np.dot(_np_in(input, dt), _np_in(tensor, dt)), meta, out)


def _dot_cuda(meta, input, tensor, out=None):
    return _gemm_into(meta, out, (input, tensor),
                      lambda dest: _launch_dot(input._data, tensor._data, dest, meta.dtype))


# --------------------------------------------------------------------------------------------- matmul

def _foldable(shape, strides) -> bool:
    """PyTorch folds the batch dims of a >= 3-D operand into its rows when t.view(-1, t.size(-1)) is a view."""
    if math.prod(shape) == 0:
        return True
    for i in range(len(shape) - 2):
        if shape[i + 1] != 1 and strides[i] != strides[i + 1] * shape[i + 1]:
            return False
    return True


def _matmul_infer(input, other):
    _require_tensor("matmul", "input", 1, input)
    _require_tensor("matmul", "other", 2, other)
    dev = device_of(input, other)
    da, db = input.ndim, other.ndim
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D")
    sa, sb = tuple(input._data.shape), tuple(other._data.shape)
    _matmul_errors(input, other, sa, sb)
    _check_supported("dot" if da == db == 1 else _kernel_name(dev, "addmm_impl_cpu_", "addmm_cuda"), input)
    return _matmul_meta(sa, sb, input.dtype, dev)


def _matmul_errors(input, other, sa, sb) -> None:
    """PyTorch's checks, on the path its matmul would take (the messages differ by path)."""
    da, db = len(sa), len(sb)
    if da == 1 and db == 1:
        _dot_checks(input, other)
    elif da == 2 and db == 1:
        _mv_checks(sa[0], sa[1], sb[0], input.dtype, other.dtype)
    elif da == 1 and db == 2:
        _mm_shape_check(1, sa[0], sb[0], sb[1])
        _mm_dtype_check(input, other)
    elif da == 2 and db == 2:
        _mm_shape_check(sa[0], sa[1], sb[0], sb[1])
        _mm_dtype_check(input, other)
    elif da >= 3 and db <= 2 and _foldable(sa, input.stride()):
        rows = math.prod(sa[:-1])
        if db == 1:
            _mv_checks(rows, sa[-1], sb[0], input.dtype, other.dtype)
        else:
            _mm_shape_check(rows, sa[-1], sb[0], sb[1])
            _mm_dtype_check(input, other)
    elif da == 1 and db >= 3 and _foldable(sb[:-2] + (sb[-1], sb[-2]), _swap_last2(other.stride())):
        # input @ other == (other.mT @ input) with other.mT folded: a matrix-vector product
        _mv_checks(math.prod(sb[:-2]) * sb[-1], sb[-2], sa[0], other.dtype, input.dtype)
    else:
        ba = sa[:-2] if da >= 2 else ()
        bb = sb[:-2] if db >= 2 else ()
        batch = broadcast_shapes(ba, bb)
        nb = math.prod(batch)
        k1 = sa[-1]
        k2 = sb[-2] if db >= 2 else sb[-1]
        _bmm_checks(nb, sa[-2] if da >= 2 else 1, k1, nb, k2, input.dtype, other.dtype)


def _swap_last2(t: tuple) -> tuple:
    return t[:-2] + (t[-1], t[-2])


def _matmul_meta(sa, sb, dtype, dev) -> Meta:
    a_vec, b_vec = len(sa) == 1, len(sb) == 1
    batch = broadcast_pair(sa[:-2], sb[:-2]) if len(sa) > 2 or len(sb) > 2 else ()
    m = 1 if a_vec else sa[-2]
    n = 1 if b_vec else sb[-1]
    shape = batch + (() if a_vec else (m,)) + (() if b_vec else (n,))
    return Meta(shape, dtype, dev, _Plan(batch, m, n, sa[-1], a_vec, b_vec))


def _matmul_cpu(meta, input, other, out=None):
    if out is not None:
        _check_out_dtype(meta, out)
    dt = meta.dtype
    r = _np_product(meta, _np_in(input, dt), _np_in(other, dt), out)
    return r if r is out else _np_finish(r, meta, out)


def _matmul_cuda(meta, input, other, out=None):
    if meta.aux.a_vec and meta.aux.b_vec:
        return _dot_cuda(meta, input, other, out=out)
    return _gemm_into(meta, out, (input, other), lambda dest: _run_plan(meta, input._data, other._data, None, dest))


# ---------------------------------------------------------------------------------------------- addmm

def _addmm_infer(input, mat1, mat2, *, beta=1, alpha=1):
    for i, (name, x) in enumerate((("input", input), ("mat1", mat1), ("mat2", mat2))):
        _require_tensor("addmm", name, i + 1, x)
    dev = device_of(input, mat1, mat2)
    for name, x in (("mat1", mat1), ("mat2", mat2)):
        if x.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {x.ndim}-D tensor")
    (m, k), (k2, n) = mat1._data.shape, mat2._data.shape
    _mm_shape_check(m, k, k2, n)
    if input.dtype is not mat2.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_TYPE_NAMES[input.dtype]} and "
                           f"{_TYPE_NAMES[mat2.dtype]}")
    if mat1.dtype is not mat2.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_TYPE_NAMES[mat1.dtype]} and "
                           f"{_TYPE_NAMES[mat2.dtype]}")
    _expand_check(tuple(input._data.shape), (m, n), _legacy_label(input))
    _check_supported(_kernel_name(dev, "addmm_impl_cpu_", "addmm_cuda"), mat1)
    dt = mat1.dtype
    return Meta((m, n), dt, dev, _Plan((), m, n, k, alpha=_scalar_for(dt, alpha), beta=_scalar_for(dt, beta)))


def _addmm_cpu(meta, input, mat1, mat2, *, beta=1, alpha=1, out=None):
    if out is not None:
        _check_out_dtype(meta, out)
    dt, p = meta.dtype, meta.aux
    # matmul straight into out unless out is the bias itself (addmm_): then the bias must be read first
    direct = out is not None and not np.may_share_memory(out, input._data)
    if p.alpha == 0:  # BLAS semantics: mat1 and mat2 are not read (their NaNs do not reach the result)
        r = np.zeros(meta.shape, np.float32 if dt in _HALF else dt.np)
    elif out is input._data and p.beta == 1 and dt not in _HALF and out.shape == meta.shape:
        # addmm_ accumulating (a gradient summed over chunks): BLAS's gemm with beta = 1 adds the product into out
        # as it writes it; else one add into out, not an add into the product and a copy back
        if blas_gemm_accumulate(p.alpha, mat1._data, mat2._data, out):
            return out
        r = _np_product(meta, _np_in(mat1, dt), _np_in(mat2, dt), None)
        if p.alpha != 1:
            r *= p.alpha
        np.add(out, r, out=out)
        return out
    else:
        r = _np_product(meta, _np_in(mat1, dt), _np_in(mat2, dt), out if direct else None)
    r = _np_epilogue(r, input, p.alpha, p.beta, dt)
    return r if r is out else _np_finish(r, meta, out)


def _addmm_cuda(meta, input, mat1, mat2, *, beta=1, alpha=1, out=None):
    return _gemm_into(meta, out, (input, mat1, mat2),
                      lambda dest: _run_plan(meta, mat1._data, mat2._data, input._data, dest))


# --------------------------------------------------------------------------------------------- linear

def _linear_infer(input, weight, bias=None):
    _require_tensor("linear", "input", 1, input)
    _require_tensor("linear", "weight", 2, weight)
    if bias is not None:
        _require_tensor("linear", "bias", 3, bias)
    dev = device_of(input, weight, *(() if bias is None else (bias,)))
    da, dw = input.ndim, weight.ndim
    if da == 0 or dw == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are {da}D and {dw}D")
    if dw > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {dw}D")
    sa, sw = tuple(input._data.shape), tuple(weight._data.shape)
    # PyTorch: addmm(bias, input, weight.t()) for 2-D input (and flattened 3-D input): a 1-D weight is an error
    if bias is not None and dw == 1 and (da == 2 or (da == 3 and bias.ndim == 1)):
        raise RuntimeError("mat2 must be a matrix, got 1-D tensor")
    wt_shape = sw[::-1]
    if dw == 2:
        k, n = wt_shape
        rows = math.prod(sa[:-1]) if da >= 2 else 1
        _mm_shape_check(rows, sa[-1], k, n)
        _mm_dtype_check(input, weight)
    else:
        if da == 1:
            _dot_checks(input, weight)
        else:
            _mv_checks(math.prod(sa[:-1]), sa[-1], sw[0], input.dtype, weight.dtype)
    meta = _matmul_meta(sa, wt_shape, input.dtype, dev)
    if bias is not None:
        if bias.dtype is not weight.dtype:
            raise RuntimeError(f"self and mat2 must have the same dtype, but got {_TYPE_NAMES[bias.dtype]} and "
                               f"{_TYPE_NAMES[weight.dtype]}")
        bshape = tuple(bias._data.shape)
        if da in (2, 3) or len(bshape) <= len(meta.shape):
            _expand_check(bshape, meta.shape, _legacy_label(bias))
        else:
            raise RuntimeError(f"output with shape {list(meta.shape)} doesn't match the broadcast shape "
                               f"{list(broadcast_shapes(bshape, meta.shape))}")
    _check_supported(_kernel_name(dev, "addmm_impl_cpu_", "addmm_cuda"), input)
    return meta


def _linear_cpu(meta, input, weight, bias=None):
    dt = meta.dtype
    w = _np_in(weight, dt)
    r = np.asarray(np_matmul(_np_in(input, dt), w.T if w.ndim == 2 else w))
    if bias is not None:
        if r.ndim == 0:
            r = r + _np_in(bias, dt)
        else:
            r += _np_in(bias, dt)
    return _np_finish(r, meta, None)


def _linear_cuda(meta, input, weight, bias=None):
    dest = CudaArray.empty(meta.shape, meta.dtype.np)
    _run_plan(meta, input._data, _transposed(weight._data), None if bias is None else bias._data, dest)
    return dest


# ============================================================================================ references

def _ref_num(x):
    x = np.asarray(x)
    return x.astype(np.int64) if x.dtype.kind in "biu" else x.astype(np.float64)


def _ref_matmul(a, b):
    """float64 (int64 for integers) matmul with PyTorch's 1-D promotion, via einsum (independent of BLAS)."""
    a, b = _ref_num(a), _ref_num(b)
    a_vec, b_vec = a.ndim == 1, b.ndim == 1
    if a_vec:
        a = a[None, :]
    if b_vec:
        b = b[:, None]
    r = np.einsum("...ik,...kj->...ij", a, b)
    if a_vec and b_vec:
        return r[..., 0, 0]
    if b_vec:
        return r[..., 0]
    if a_vec:
        return r[..., 0, :]
    return r


def _ref_scalar(v, mats):
    return int(v) if mats.dtype.kind in "biu" else float(v)


def _ref_addmm(input, mat1, mat2, beta=1, alpha=1):
    r = _ref_scalar(alpha, mat1) * _ref_matmul(mat1, mat2)
    beta = _ref_scalar(beta, mat1)
    return r if beta == 0 else r + beta * _ref_num(input)


def _ref_linear(input, weight, bias=None):
    w = _ref_num(weight)
    r = _ref_matmul(input, w.T if w.ndim == 2 else w)
    return r if bias is None else r + _ref_num(bias)


# ============================================================================================== samples

def _strided(t: Tensor, shape, strides) -> Tensor:
    """A view of t's storage with the given shape/strides (elements, from t's first element), on either device
    (for samples and tests)."""
    d = t._data
    if t.device is CPU:
        isz = d.dtype.itemsize
        arr = np.lib.stride_tricks.as_strided(d, tuple(shape), tuple(s * isz for s in strides))
    else:
        arr = d.view_as(tuple(shape), tuple(strides), d.offset)
    return _make(arr, t.dtype, t.device, version=t._version)


def _mT(t: Tensor) -> Tensor:
    """The last two dims swapped."""
    st = t.stride()
    return _strided(t, _swap_last2(tuple(t.shape)), _swap_last2(tuple(st)))


def _permute(t: Tensor, dims) -> Tensor:
    sh, st = tuple(t.shape), t.stride()
    return _strided(t, tuple(sh[d] for d in dims), tuple(st[d] for d in dims))


def _expand0(t: Tensor, n: int) -> Tensor:
    """A new leading dim of size n and stride 0 (an expanded batch)."""
    return _strided(t, (n,) + tuple(t.shape), (0,) + tuple(t.stride()))


def _maker(device, dtype, key):
    rng = rng_for("matmul", key, dtype.name)

    def mk(shape, **kw):
        if shape == ():
            # CudaArray.from_numpy turns a 0-d array into shape (1,) (np.ascontiguousarray): view it as 0-d
            return _strided(make_tensor((1,), dtype, device, rng=rng, **kw), (), ())
        return make_tensor(shape, dtype, device, rng=rng, **kw)

    return mk


def _mm_samples(device, dtype):
    mk = _maker(device, dtype, "mm")
    for sa, sb in [((1, 1), (1, 1)), ((0, 3), (3, 4)), ((3, 0), (0, 4)), ((2, 3), (3, 4)), ((5, 7), (7, 3)),
                   ((33, 17), (17, 9))]:
        yield Sample((mk(sa), mk(sb)), name=f"{sa}x{sb}", reduction_size=sa[1])
    yield Sample((_mT(mk((7, 5))), _mT(mk((3, 7)))), name="transposed", reduction_size=7)
    yield Sample((mk((5, 7), noncontiguous=True), mk((7, 3), noncontiguous=True)), name="noncontig",
                 reduction_size=7)


def _bmm_samples(device, dtype):
    mk = _maker(device, dtype, "bmm")
    for sa, sb in [((1, 1, 1), (1, 1, 1)), ((0, 2, 3), (0, 3, 4)), ((2, 3, 0), (2, 0, 4)), ((2, 2, 3), (2, 3, 2)),
                   ((3, 5, 7), (3, 7, 4)), ((2, 33, 17), (2, 17, 9))]:
        yield Sample((mk(sa), mk(sb)), name=f"{sa}x{sb}", reduction_size=sa[2])
    yield Sample((_mT(mk((3, 7, 5))), _mT(mk((3, 4, 7)))), name="transposed", reduction_size=7)
    yield Sample((_expand0(mk((5, 7)), 3), mk((3, 7, 4))), name="expanded_batch", reduction_size=7)
    yield Sample((_permute(mk((5, 3, 7)), (1, 0, 2)), mk((3, 7, 4), noncontiguous=True)), name="batch_strided",
                 reduction_size=7)


def _matmul_samples(device, dtype):
    mk = _maker(device, dtype, "matmul")
    for sa, sb in [((5,), (5,)), ((1,), (1,)), ((0,), (0,)), ((4, 7), (7,)), ((7,), (7, 3)), ((5, 7), (7, 3)),
                   ((33, 17), (17, 9)), ((2, 4, 7), (7,)), ((7,), (2, 7, 3)), ((2, 5, 7), (7, 3)),
                   ((5, 7), (2, 7, 3)), ((2, 1, 4, 7), (3, 7, 5)), ((0, 2, 3), (3, 4)),
                   # small enough for gradcheck: batched x vector, vector x batched, batched x matrix (its
                   # gradient folds the batch into rows), matrix x batched, batch dims broadcast both ways
                   ((2, 2, 3), (3,)), ((3,), (2, 3, 2)), ((2, 2, 3), (3, 2)), ((2, 3), (2, 3, 2)),
                   ((2, 1, 2, 3), (2, 3, 2)), ((2, 3, 0), (0, 2))]:
        yield Sample((mk(sa), mk(sb)), name=f"{sa}x{sb}", reduction_size=sa[-1])
    yield Sample((_mT(mk((2, 7, 4))), _mT(mk((2, 3, 7)))), name="transposed", reduction_size=7)
    yield Sample((_permute(mk((4, 2, 7)), (1, 0, 2)), mk((7, 3))), name="unfoldable", reduction_size=7)
    yield Sample((mk((2, 1, 3, 4, 5)), mk((4, 3, 5, 3))), name="rank5_broadcast", reduction_size=5)


def _addmm_samples(device, dtype):
    mk = _maker(device, dtype, "addmm")
    integer = dtype.kind != _dt.FLOAT
    scaled = {"beta": 2, "alpha": 3} if integer else {"beta": 0.5, "alpha": 2.0}
    yield Sample((mk((3,)), mk((5, 7)), mk((7, 3))), name="bias_row", reduction_size=7)
    yield Sample((mk((5, 3)), mk((5, 7)), mk((7, 3))), dict(scaled), name="bias_full_scaled", reduction_size=7)
    yield Sample((mk((1, 3)), mk((5, 7)), mk((7, 3))), {"alpha": scaled["alpha"]}, name="bias_1xN",
                 reduction_size=7)
    yield Sample((mk((5, 1)), mk((5, 7)), mk((7, 3))), name="bias_Mx1", reduction_size=7)
    yield Sample((mk(()), mk((5, 7)), mk((7, 3))), name="bias_0d", reduction_size=7)
    yield Sample((mk((5, 3)), mk((5, 7)), mk((7, 3))), {"beta": 0}, name="beta0", reduction_size=7)
    yield Sample((mk((9,)), mk((33, 17)), mk((17, 9))), name="33x17x9", reduction_size=17)
    yield Sample((mk((5, 3), noncontiguous=True), _mT(mk((7, 5))), _mT(mk((3, 7)))), dict(scaled),
                 name="transposed", reduction_size=7)
    yield Sample((mk((4,)), mk((2, 0)), mk((0, 4))), {"beta": scaled["beta"]}, name="k0", reduction_size=1)
    yield Sample((mk((4,)), mk((0, 3)), mk((3, 4))), name="m0", reduction_size=3)
    # small enough for gradcheck
    yield Sample((mk((2,)), mk((3, 4)), mk((4, 2))), dict(scaled), name="small_row_scaled", reduction_size=4)
    yield Sample((mk((3, 1)), mk((3, 4)), mk((4, 2))), name="small_Mx1", reduction_size=4)
    yield Sample((mk((3, 2)), mk((3, 4)), mk((4, 2))), {"beta": 0, "alpha": scaled["alpha"]}, name="small_beta0",
                 reduction_size=4)


def _linear_samples(device, dtype):
    mk = _maker(device, dtype, "linear")
    yield Sample((mk((5, 7)), mk((3, 7))), name="no_bias", reduction_size=7)
    yield Sample((mk((5, 7)), mk((3, 7)), mk((3,))), name="bias", reduction_size=7)
    yield Sample((mk((7,)), mk((3, 7)), mk((3,))), name="1d_input", reduction_size=7)
    yield Sample((mk((2, 5, 7)), mk((3, 7)), mk((3,))), name="3d_input", reduction_size=7)
    yield Sample((mk((4, 7)), mk((7,))), name="1d_weight", reduction_size=7)
    yield Sample((mk((7,)), mk((7,)), mk(())), name="1d_1d", reduction_size=7)
    yield Sample((mk((33, 17)), mk((9, 17)), mk((9,))), name="33x17x9", reduction_size=17)
    yield Sample((mk((5, 7), noncontiguous=True), mk((3, 7)), mk((5, 3))), name="noncontig_bias2d",
                 reduction_size=7)
    yield Sample((mk((3, 0)), mk((4, 0)), mk((4,))), name="k0", reduction_size=1)
    # small enough for gradcheck
    yield Sample((mk((2, 3)), mk((4, 3)), mk((4,))), name="small_bias", reduction_size=3)
    yield Sample((mk((2, 2, 3)), mk((2, 3)), mk((2, 2))), name="small_3d_bias2d", reduction_size=3)
    yield Sample((mk((2, 2, 3)), mk((3,))), name="small_3d_1d_weight", reduction_size=3)


def _dot_samples(device, dtype):
    mk = _maker(device, dtype, "dot")
    for n in (5, 1, 0, 2 ** 6 + 17, 2 ** 10 + 17):
        yield Sample((mk((n,)), mk((n,))), name=f"{n}", reduction_size=n)
    yield Sample((mk((9,), noncontiguous=True), mk((9,), noncontiguous=True)), name="noncontig", reduction_size=9)


# ============================================================================================== bench specs

_BENCH_DTYPES = (_dt.float32, _dt.float16, _dt.bfloat16)
# square sizes, then (M, N, K) of transformer MLP layers (tokens x hidden -> 4 x hidden and back)
_GEMM_SIZES = ((256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048), (4096, 4096, 4096),
               (4096, 3072, 768), (4096, 768, 3072), (2048, 11008, 4096), (2048, 4096, 11008))


def _gemm_flops(size):
    m, n, k = size[-3:]
    return 2 * m * n * k * (size[0] if len(size) == 4 else 1)


def _gemm_bytes(size, dtype):
    m, n, k = size[-3:]
    return (m * k + k * n + m * n) * dtype.itemsize * (size[0] if len(size) == 4 else 1)


def _bench_mm(size, device, dtype):
    m, n, k = size
    return (make_tensor((m, k), dtype, device), make_tensor((k, n), dtype, device)), {}


def _bench_addmm(size, device, dtype):
    m, n, k = size
    return (make_tensor((n,), dtype, device), make_tensor((m, k), dtype, device),
            make_tensor((k, n), dtype, device)), {}


def _bench_linear(size, device, dtype):
    m, n, k = size
    return (make_tensor((m, k), dtype, device), make_tensor((n, k), dtype, device),
            make_tensor((n,), dtype, device)), {}


def _bench_bmm(size, device, dtype):
    b, m, n, k = size
    return (make_tensor((b, m, k), dtype, device), make_tensor((b, k, n), dtype, device)), {}


def _bench_dot(size, device, dtype):
    return (make_tensor((size,), dtype, device), make_tensor((size,), dtype, device)), {}


def _gemm_bench(make):
    return BenchSpec(sizes=_GEMM_SIZES, make=make, bytes=_gemm_bytes, flops=_gemm_flops, dtypes=_BENCH_DTYPES)


# ========================================================================================== backward rules
#
# vjp(ctx, grad) per op (docs/architecture.md, "Autograd"), in tritorch ops only, so each runs on both devices and
# differentiates again (the products' rules are products). Broadcast batch dims come back at the broadcast shape;
# the engine sums them to each operand's shape.

def _mT_of(t: Tensor) -> Tensor:
    return t.transpose(-2, -1)


def _mm_vjp(ctx, grad):
    a, b = ctx.inputs
    na, nb = ctx.needs_input_grad
    return (mm(grad, _mT_of(b)) if na else None, mm(_mT_of(a), grad) if nb else None)


def _bmm_vjp(ctx, grad):
    a, b = ctx.inputs
    na, nb = ctx.needs_input_grad
    return (bmm(grad, _mT_of(b)) if na else None, bmm(_mT_of(a), grad) if nb else None)


def _dot_vjp(ctx, grad):
    a, b = ctx.inputs
    na, nb = ctx.needs_input_grad
    return (grad * b if na else None, grad * a if nb else None)


def _matmul_vjp(ctx, grad):
    a, b = ctx.inputs
    na, nb = ctx.needs_input_grad
    da, db = a.ndim, b.ndim
    if da == 1 and db == 1:
        return (grad * b if na else None, grad * a if nb else None)
    # a 1-D operand gets its dim back (a row / a column), and so does the gradient
    a2 = a.unsqueeze(0) if da == 1 else a
    b2 = b.unsqueeze(-1) if db == 1 else b
    g2 = grad.unsqueeze(-2) if da == 1 else grad
    g2 = g2.unsqueeze(-1) if db == 1 else g2
    ga = gb = None
    if na:
        ga = matmul(g2, _mT_of(b2))             # batch + (m, k): the engine sums broadcast batch dims
        if da == 1:
            ga = ga.squeeze(-2)
    if nb:
        k, n = b2.shape[-2], b2.shape[-1]
        if b2.ndim == 2 and a2.ndim > 2:         # one matrix against a batch: fold the batch into the rows
            rows = math.prod(a2.shape[:-1])
            gb = mm(_mT_of(a2.reshape(rows, k)), g2.reshape(rows, n))
        else:
            gb = matmul(_mT_of(a2), g2)          # batch + (k, n)
        if db == 1:
            gb = gb.squeeze(-1)
    return ga, gb


def _addmm_vjp(ctx, grad):
    # beta * input + alpha * (mat1 @ mat2); PyTorch multiplies by a scale only when it is not 1
    _, m1, m2 = ctx.inputs
    ni, n1, n2 = ctx.needs_input_grad
    beta, alpha = ctx.kwargs.get("beta", 1), ctx.kwargs.get("alpha", 1)

    def scaled(t, s):
        return t if s == 1 else t * s

    return (scaled(grad, beta) if ni else None,                 # the engine sums it to input's shape
            scaled(mm(grad, _mT_of(m2)), alpha) if n1 else None,
            scaled(mm(_mT_of(m1), grad), alpha) if n2 else None)


# ============================================================================================ cpu shortcuts

_FAST_DTYPES = (_dt.float32, _dt.float64)


def _gemm_fast(kind: str):
    """OpDef.fast for mm/matmul/linear: cpu fp32/fp64 operands of one dtype, both at least 2-D, go straight to
    np.matmul (recorded under autograd), skipping infer. Anything else — 1-D operands, other dtypes, a shape
    NumPy refuses — returns None and takes the full path, which raises PyTorch's errors."""
    op_box = [None]

    def fast(*args, **kw):
        if kw or not 2 <= len(args) <= 3:
            return None
        a, b = args[0], args[1]
        bias = args[2] if len(args) == 3 else None
        if a.__class__ is not Tensor or b.__class__ is not Tensor or a.device is not CPU or b.device is not CPU:
            return None
        dt = a.dtype
        if dt is not b.dtype or (dt is not _dt.float32 and dt is not _dt.float64):
            return None
        x, w = a._data, b._data
        if kind == "linear":
            if x.ndim < 2 or w.ndim != 2 or x.shape[-1] != w.shape[1]:
                return None
            if bias is not None and (bias.__class__ is not Tensor or bias.device is not CPU or bias.dtype is not dt
                                     or bias._data.shape != (w.shape[0],)):
                return None
            t = nt_transposed(x, w.T) if x.ndim == 2 else None
            if t is not None:     # the bias add (or a copy) makes the C-order result
                r = np.add(t, bias._data, out=np.empty(t.shape, t.dtype)) if bias is not None else \
                    np.ascontiguousarray(t)
            else:
                r = np_matmul(x, w.T)
                if bias is not None:
                    r += bias._data
        else:
            if len(args) != 2 or x.ndim < 2 or w.ndim < 2 or (kind == "mm" and (x.ndim != 2 or w.ndim != 2)):
                return None
            if x.shape[-1] != w.shape[-2]:
                return None
            try:
                r = np_matmul(x, w)
            except ValueError:  # batch dims that do not broadcast
                return None
        t = _make(r, dt, CPU)
        if (not _FLAGS.grad_off or _GRAD.enabled) and (a._requires_grad or b._requires_grad
                                                      or (bias is not None and bias._requires_grad)):
            _state.recorder(op_box[0], args, {}, t, None)
        return t

    fast.bind = lambda op: op_box.__setitem__(0, op)
    return fast


# ============================================================================================ registration

mm_op = register(OpDef(
    name="mm", family=FAMILY, infer=_mm_infer, impl={"cpu": _mm_cpu, "cuda": _mm_cuda}, ref=_ref_matmul,
    samples=_mm_samples, bench=_gemm_bench(_bench_mm), dtypes=DTYPES, supports_out=True, vjp=_mm_vjp,
    fast=_gemm_fast("mm"),
    extra={"torch": lambda torch, *a, **k: torch.mm(*a, **k)}))

bmm_op = register(OpDef(
    name="bmm", family=FAMILY, infer=_bmm_infer, impl={"cpu": _mm_cpu, "cuda": _mm_cuda}, ref=_ref_matmul,
    samples=_bmm_samples, dtypes=DTYPES, supports_out=True, vjp=_bmm_vjp,
    bench=BenchSpec(sizes=((64, 128, 128, 64), (32, 512, 512, 64), (16, 1024, 1024, 128), (8, 2048, 2048, 128)),
                    make=_bench_bmm, bytes=_gemm_bytes, flops=_gemm_flops, dtypes=_BENCH_DTYPES),
    extra={"torch": lambda torch, *a, **k: torch.bmm(*a, **k)}))

matmul_op = register(OpDef(
    name="matmul", family=FAMILY, infer=_matmul_infer, impl={"cpu": _matmul_cpu, "cuda": _matmul_cuda},
    ref=_ref_matmul, samples=_matmul_samples, bench=_gemm_bench(_bench_mm), dtypes=DTYPES, supports_out=True,
    vjp=_matmul_vjp, fast=_gemm_fast("matmul"),
    extra={"torch": lambda torch, *a, **k: torch.matmul(*a, **k)}))

addmm_op = register(OpDef(
    name="addmm", family=FAMILY, infer=_addmm_infer, impl={"cpu": _addmm_cpu, "cuda": _addmm_cuda},
    ref=_ref_addmm, samples=_addmm_samples, bench=_gemm_bench(_bench_addmm), dtypes=DTYPES, supports_out=True,
    vjp=_addmm_vjp,
    extra={"torch": lambda torch, *a, **k: torch.addmm(*a, **k)}))

linear_op = register(OpDef(
    name="linear", family=FAMILY, infer=_linear_infer, impl={"cpu": _linear_cpu, "cuda": _linear_cuda},
    ref=_ref_linear, samples=_linear_samples, bench=_gemm_bench(_bench_linear), dtypes=DTYPES,
    fast=_gemm_fast("linear"),
    extra={"torch": lambda torch, *a, **k: torch.nn.functional.linear(*a, **k)}))

dot_op = register(OpDef(
    name="dot", family=FAMILY, infer=_dot_infer, impl={"cpu": _dot_cpu, "cuda": _dot_cuda}, ref=_ref_matmul,
    samples=_dot_samples, dtypes=DTYPES, supports_out=True, vjp=_dot_vjp,
    bench=BenchSpec(sizes=(1 << 16, 1 << 20, 1 << 24), make=_bench_dot, bytes=lambda n, dt: 2 * n * dt.itemsize,
                    flops=lambda n: 2 * n, dtypes=_BENCH_DTYPES),
    extra={"torch": lambda torch, *a, **k: torch.dot(*a, **k)}))


# ============================================================================================ public API

def mm(input, mat2, *, out=None) -> Tensor:
    """input (n x m) @ mat2 (m x p) -> (n x p)."""
    return mm_op(input, mat2, out=out)


def bmm(input, mat2, *, out=None) -> Tensor:
    """Batched matrix product of two 3-D tensors with the same batch size."""
    return bmm_op(input, mat2, out=out)


def matmul(input, other, *, out=None) -> Tensor:
    """torch.matmul: dot for 1-D x 1-D, matrix-vector, matrix product, and batched products with broadcast
    batch dims; a 1-D operand gains a dim for the product and loses it in the result."""
    return matmul_op(input, other, out=out)


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2), with `input` broadcast to the product's shape (beta == 0 ignores it,
    NaNs included)."""
    return addmm_op(input, mat1, mat2, beta=beta, alpha=alpha, out=out)


def linear(input, weight, bias=None) -> Tensor:
    """input @ weight.T + bias, the bias added in the GEMM's epilogue."""
    return linear_op(input, weight, bias)


def dot(input, tensor, *, out=None) -> Tensor:
    """The inner product of two 1-D tensors (a 0-dim tensor)."""
    return dot_op(input, tensor, out=out)


def _addmm_(self, mat1, mat2, *, beta=1, alpha=1):
    return addmm_op(self, mat1, mat2, beta=beta, alpha=alpha, out=self)


def _matmul_operator(self, other):
    if not isinstance(other, Tensor):
        return NotImplemented
    return matmul_op(self, other)


def _rmatmul_operator(self, other):
    if not isinstance(other, Tensor):
        return NotImplemented
    return matmul_op(other, self)


_bind.methods(mm=mm, bmm=bmm, matmul=matmul, addmm=addmm, addmm_=_addmm_, dot=dot,
              __matmul__=_matmul_operator, __rmatmul__=_rmatmul_operator)


# ====================================================================================== linear's backward
# A gradient nobody needs (an input that does not require grad) is not computed: for the first layer of a
# network that is the largest product of its backward.

def _rows(t):
    """(..., k) -> (prod(...), k), also when k is 0."""
    if t.ndim == 2:
        return t
    lead = 1
    for n in t.shape[:-1]:
        lead *= n
    return t.reshape(lead, t.shape[-1])


def _linear_vjp(ctx, g):
    x, w = ctx.inputs[0], ctx.inputs[1]
    if w.ndim == 1:  # a 1-D weight maps (..., in) to (...)
        gx = g.unsqueeze(-1) * w
        gw = _rows(g.unsqueeze(-1) * x).sum(0)
    elif x.ndim == 1:
        gx = matmul_op(g, w)
        gw = matmul_op(g.unsqueeze(-1), x.unsqueeze(0))
    else:
        need_x, need_w = ctx.needs_input_grad[:2]
        gx = matmul_op(g, w) if need_x else None
        gw = mm_op(_mT_of(_rows(g)), _rows(x)) if need_w else None
    needs = ctx.needs_input_grad
    if len(needs) == 3:
        # the bias (out,) gets g summed over its leading dims: one reduction here, not the engine's sum + reshape
        if not needs[2]:
            return gx, gw, None
        bias_shape = ctx.input_meta[2].shape
        if g.ndim > 1 and len(bias_shape) == 1 and bias_shape[0] == g.shape[-1]:
            return gx, gw, g.sum(tuple(range(g.ndim - 1)))
        return gx, gw, g  # any other broadcast bias: the engine reduces it
    return gx, gw




for _op, _rule in ((mm_op, _mm_vjp), (bmm_op, _bmm_vjp), (matmul_op, _matmul_vjp), (addmm_op, _addmm_vjp),
                   (linear_op, _linear_vjp), (dot_op, _dot_vjp)):
    _op.vjp = _rule
