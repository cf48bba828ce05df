"""Normalisation (nn kernels family): layer_norm, rms_norm, group_norm, batch_norm, forward and backward fused.

Every op here is a *row normalisation*: rows of `n_cols` elements, each normalised by its own statistics
(mean and rstd = 1 / sqrt(var + eps); rms_norm has no mean), then an optional per-element affine. The ops differ
in what a row is and which weight an element gets:

    layer_norm / rms_norm  row = the trailing normalized_shape dims        weight per column       (W_MODE 0)
    group_norm             row = one (sample, group): C/G channels x HxW   weight per channel       (W_MODE 1)
    batch_norm             row = one channel over (N, HxW), strided        weight per row (channel) (W_MODE 2)

So one forward kernel (`_norm_fwd_kernel`) and one backward kernel (`_norm_bwd_kernel`) serve all four. A row
that fits in `MAX_BLOCK` elements is held in registers (one read of x, one write of y); longer rows loop over
blocks of `MAX_BLOCK` (x is read three times: mean, variance, normalise). The forward kernel saves each row's
mean and rstd (in fp32, fp64 for fp64 inputs) for the backward; batch_norm's training launch also updates the
running statistics in the same kernel.

Backward, per row (xhat = (x - mean) * rstd, gy = grad * weight):
    dx = rstd * (gy - mean(gy) - xhat * mean(gy * xhat))     (rms_norm: no mean(gy) term)
computed in one row-wise pass. The weight/bias gradients of layer_norm and rms_norm (sums over rows) are
accumulated per program over its group of rows (about two programs per SM) into a (programs, n_cols) fp32
partial buffer, written once per program; a second, parallel pass (`_partial_sum_kernel`, one program per narrow
column block, dw and db in one launch) sums the partials. No atomics, no zero-fill. Rows up to PARAM_MAX_BLOCK
are held in registers with the accumulators; longer rows go by [rows, column chunk] tiles in two passes over the
program's rows (the row sums, then dx and the partials), since a 16K row plus its accumulators would overflow the
register file.

The backward ops (`layer_norm_backward`, `rms_norm_backward`, `group_norm_backward`, `batch_norm_backward`) are
registered ops with their own backward rule (composed of registered ops, including the backward op itself), so
double backward and beyond work. group_norm's backward works on the (N*G, C/G*HxW) rows.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import triton
import triton.language as tl

from .. import _state
from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray
from ..tensor import Tensor, _make
from . import launch
from ._cpu_parallel import one_blas_thread, row_loops, run_row_blocks
from .nn_softmax import row_dot
from . import pointwise as pw
from .registry import _FLAGS, _GRAD, BenchSpec, Meta, OpDef, Sample, _type_name, device_of, register
from .samples import make_tensor, rng_for

FAMILY = "nn_norm"
FLOATS = _dt.FLOATS

__all__ = ["layer_norm", "rms_norm", "group_norm", "batch_norm", "instance_norm"]

# Longest row held in registers in one block; longer rows loop over blocks of this size. Tests shrink it to
# exercise the looping path on tiny rows.
MAX_BLOCK = 16384 if not _cuda.INTERPRET else 4096
# Elements per program tile (rows x block) when rows are short: several short rows share a program.
TILE = 8192 if _cuda.INTERPRET else 4096
# Programs of the backward pass that accumulate weight/bias partials: about two per SM on an H100 (132 SMs), so
# the (programs, n_cols) partial buffer stays small beside the tensors (8 MB for 4096-wide fp32 rows).
PARAM_PROGRAMS = 4 if _cuda.INTERPRET else 264
# Longest row the weight/bias-gradient backward holds in registers: it keeps two column accumulators beside the
# row's grad and input; ptxas (sm_90, Triton 3.6) gives it ~128 registers a thread at 8 values a thread per
# tensor (so tiles of 2048 values with 8 warps, 4096 with 16) and spills at 16; at 16K the row alone would need
# the whole register file of an SM. Longer rows take the tiled two-pass path (a few rows x a column chunk).
PARAM_MAX_BLOCK = 4096
# Longest row any backward holds in registers (grad and input of a 16K row spill at 16 warps under ptxas).
BWD_MAX_BLOCK = 8192 if not _cuda.INTERPRET else 4096
# Elements per [rows, chunk] tile of that tiled path.
PARAM_TILE = 8192 if not _cuda.INTERPRET else 4096

W_PER_COLUMN, W_PER_GROUP_CHANNEL, W_PER_ROW = 0, 1, 2
PARAMS_NONE, PARAMS_COLUMN_PARTIALS, PARAMS_PER_ROW = 0, 1, 2


# ============================================================================================= Triton kernels

@triton.jit
def _col_offsets(cols, col_split, outer_stride, STRIDED: tl.constexpr):
    # Element offset of a row's column index: contiguous rows, or (batch_norm) col = n * col_split + s at
    # n * outer_stride + s.
    if STRIDED:
        off = (cols // col_split) * outer_stride + cols % col_split
    else:
        off = cols
    return off


@triton.jit
def _affine_values(ptr, rows, cols, mask, groups, group_channels, spatial, ACC: tl.constexpr,
                   W_MODE: tl.constexpr):
    # The weight (or bias) each element of a [ROWS, BLOCK] tile gets, in ACC.
    if W_MODE == 0:
        v = tl.load(ptr + cols[None, :], mask=mask, other=0.0)
    elif W_MODE == 1:
        v = tl.load(ptr + (rows % groups)[:, None] * group_channels + cols[None, :] // spatial, mask=mask, other=0.0)
    else:
        v = tl.load(ptr + rows[:, None] + cols[None, :] * 0, mask=mask, other=0.0)
    return v.to(ACC)


@triton.jit
def _norm_fwd_kernel(
    x_ptr, y_ptr,                   # input and output, same layout (see row_stride/col_split/outer_stride)
    w_ptr, b_ptr,                   # weight and bias (indexed per W_MODE), or unused
    mean_ptr, rstd_ptr,             # per-row statistics: written (STATS_GIVEN=False) or read as running mean/var
    rm_ptr, rv_ptr,                 # running mean / running var updated in place (UPDATE_RUNNING), or unused
    n_rows, n_cols,                 # rows, and elements per row
    row_stride,                     # elements between consecutive rows
    col_split, outer_stride,        # STRIDED rows: col = n * col_split + s lives at n * outer_stride + s
    groups, group_channels, spatial,  # group_norm weight index: (row % groups) * group_channels + col // spatial
    eps, momentum,                  # scalars (Python floats)
    CENTER: tl.constexpr,           # subtract the mean (layer/group/batch norm) or not (rms_norm)
    STATS_GIVEN: tl.constexpr,      # mean_ptr/rstd_ptr hold running mean / running var (batch_norm eval)
    UPDATE_RUNNING: tl.constexpr,   # write momentum updates of the batch statistics into rm_ptr/rv_ptr
    WRITE_Y: tl.constexpr,          # False: statistics only
    WRITE_STATS: tl.constexpr,      # write mean/rstd (unless STATS_GIVEN); False when no backward can need them
    W_MODE: tl.constexpr, HAS_W: tl.constexpr, HAS_B: tl.constexpr,
    STRIDED: tl.constexpr,          # rows are strided (batch_norm) rather than contiguous
    ONE_PASS: tl.constexpr,         # the row fits in BLOCK: held in registers
    ROWS: tl.constexpr, BLOCK: tl.constexpr,
    ACC: tl.constexpr,              # accumulation dtype (fp32, fp64 for fp64 inputs)
):
    # bytes: reads x once (ONE_PASS) or three times (looping rows; eval batch_norm once), writes y once;
    # 8-16 bytes of stats per row (and of running stats when updated)
    rows = tl.program_id(0).to(tl.int64) * ROWS + tl.arange(0, ROWS)
    rmask = rows < n_rows
    base = rows[:, None] * row_stride
    n = tl.cast(n_cols, ACC)
    eps_v = tl.cast(eps, ACC)
    if STATS_GIVEN:
        mean = tl.load(mean_ptr + rows, mask=rmask, other=0.0).to(ACC)
        rstd = 1.0 / tl.sqrt(tl.load(rstd_ptr + rows, mask=rmask, other=1.0).to(ACC) + eps_v)
    elif ONE_PASS:
        cols = tl.arange(0, BLOCK)
        mask = rmask[:, None] & (cols < n_cols)[None, :]
        x = tl.load(x_ptr + base + _col_offsets(cols, col_split, outer_stride, STRIDED)[None, :], mask=mask,
                    other=0.0, eviction_policy="evict_first").to(ACC)  # read once
        if CENTER:
            mean = tl.sum(x, 1) / n
            xc = tl.where(mask, x - mean[:, None], 0.0)
        else:
            mean = tl.sum(x * 0.0, 1)
            xc = x
        var = tl.sum(xc * xc, 1) / n
        rstd = 1.0 / tl.sqrt(var + eps_v)
    else:
        acc = tl.zeros([ROWS, BLOCK], ACC)
        if CENTER:
            for start in range(0, n_cols, BLOCK):
                cols = start + tl.arange(0, BLOCK)
                mask = rmask[:, None] & (cols < n_cols)[None, :]
                acc += tl.load(x_ptr + base + _col_offsets(cols, col_split, outer_stride, STRIDED)[None, :],
                               mask=mask, other=0.0).to(ACC)
            mean = tl.sum(acc, 1) / n
            acc = tl.zeros([ROWS, BLOCK], ACC)
        else:
            mean = tl.sum(acc, 1)
        for start in range(0, n_cols, BLOCK):
            cols = start + tl.arange(0, BLOCK)
            mask = rmask[:, None] & (cols < n_cols)[None, :]
            x = tl.load(x_ptr + base + _col_offsets(cols, col_split, outer_stride, STRIDED)[None, :], mask=mask,
                        other=0.0).to(ACC)
            xc = tl.where(mask, x - mean[:, None], 0.0)
            acc += xc * xc
        var = tl.sum(acc, 1) / n
        rstd = 1.0 / tl.sqrt(var + eps_v)
    if not STATS_GIVEN:
        if WRITE_STATS:
            tl.store(mean_ptr + rows, mean, mask=rmask)
            tl.store(rstd_ptr + rows, rstd, mask=rmask)
        if UPDATE_RUNNING:
            m = tl.cast(momentum, ACC)
            rm = tl.load(rm_ptr + rows, mask=rmask, other=0.0).to(ACC)
            rv = tl.load(rv_ptr + rows, mask=rmask, other=0.0).to(ACC)
            unbiased = var * (n / (n - 1.0))
            tl.store(rm_ptr + rows, ((1.0 - m) * rm + m * mean).to(rm_ptr.dtype.element_ty), mask=rmask)
            tl.store(rv_ptr + rows, ((1.0 - m) * rv + m * unbiased).to(rv_ptr.dtype.element_ty), mask=rmask)
    if WRITE_Y and ONE_PASS and not STATS_GIVEN:
        # the row is still in registers: no second read of x
        cols = tl.arange(0, BLOCK)
        mask = rmask[:, None] & (cols < n_cols)[None, :]
        y = xc * rstd[:, None]
        if HAS_W:
            y = y * _affine_values(w_ptr, rows, cols, mask, groups, group_channels, spatial, ACC, W_MODE)
        if HAS_B:
            y = y + _affine_values(b_ptr, rows, cols, mask, groups, group_channels, spatial, ACC, W_MODE)
        tl.store(y_ptr + base + _col_offsets(cols, col_split, outer_stride, STRIDED)[None, :],
                 y.to(y_ptr.dtype.element_ty), mask=mask)
    elif WRITE_Y:
        for start in range(0, n_cols, BLOCK):
            cols = start + tl.arange(0, BLOCK)
            mask = rmask[:, None] & (cols < n_cols)[None, :]
            off = base + _col_offsets(cols, col_split, outer_stride, STRIDED)[None, :]
            x = tl.load(x_ptr + off, mask=mask, other=0.0).to(ACC)
            y = (x - mean[:, None]) * rstd[:, None]
            if HAS_W:
                y = y * _affine_values(w_ptr, rows, cols, mask, groups, group_channels, spatial, ACC, W_MODE)
            if HAS_B:
                y = y + _affine_values(b_ptr, rows, cols, mask, groups, group_channels, spatial, ACC, W_MODE)
            tl.store(y_ptr + off, y.to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _tile_offsets(r0, cols, row_stride, col_split, outer_stride, STRIDED: tl.constexpr, ROWS: tl.constexpr):
    # (element offset of the tile's first row, [ROWS, BLOCK] offsets from it). Contiguous rows: an int64 scalar
    # and int32 offsets (the launcher keeps ROWS * row_stride < 2**31), so the tile's addresses and the offsets
    # kept live from the loads to the dx store take half the registers of int64 offsets. Strided (batch_norm)
    # rows: all int64, from 0.
    if STRIDED:
        rows = r0 + tl.arange(0, ROWS)
        base = r0 * 0
        off = rows[:, None] * row_stride + _col_offsets(cols, col_split, outer_stride, STRIDED)[None, :]
    else:
        base = r0 * row_stride
        off = tl.arange(0, ROWS)[:, None] * row_stride + cols[None, :]
    return base, off


@triton.jit
def _norm_bwd_kernel(
    g_ptr, x_ptr, dx_ptr,           # grad of y, input, grad of x: one layout (row_stride/col_split/outer_stride)
    w_ptr,                          # weight (W_MODE 0: per column; 2: per row), or unused
    mean_ptr, rstd_ptr,             # the forward's per-row statistics (ACC)
    pw_ptr, pb_ptr,                 # weight/bias gradient partials: (programs, n_cols) or per row (ACC)
    n_rows, n_cols, row_stride, col_split, outer_stride,
    rows_per_program,               # rows each program handles (a multiple of ROWS)
    CENTER: tl.constexpr, W_MODE: tl.constexpr, HAS_W: tl.constexpr,
    PARAMS: tl.constexpr,           # 0: no weight/bias grads; 1: column partials per program; 2: one per row
    WANT_DB: tl.constexpr,          # PARAMS 1: also the bias partials (rms_norm has no bias)
    STRIDED: tl.constexpr, ONE_PASS: tl.constexpr, ROWS: tl.constexpr, BLOCK: tl.constexpr, ACC: tl.constexpr,
):
    # bytes: reads grad and x once (ONE_PASS) or twice (looping rows; the second read of a [ROWS, row] group
    # partly from L2), writes dx once; partials n_cols per program (PARAMS 1)
    pid = tl.program_id(0)
    row_begin = pid.to(tl.int64) * rows_per_program
    row_end = tl.minimum(row_begin + rows_per_program, n_rows)
    n = tl.cast(n_cols, ACC)
    if ONE_PASS:
        cols = tl.arange(0, BLOCK)
        cmask = cols < n_cols
        acc_w = tl.zeros([BLOCK], ACC)
        acc_b = tl.zeros([BLOCK], ACC)
        for r0 in range(row_begin, row_end, ROWS):
            rows = r0 + tl.arange(0, ROWS)
            rmask = rows < row_end
            mask = rmask[:, None] & cmask[None, :]
            base, off = _tile_offsets(r0, cols, row_stride, col_split, outer_stride, STRIDED, ROWS)
            g = tl.load(g_ptr + base + off, mask=mask, other=0.0, eviction_policy="evict_first").to(ACC)  # read once
            x = tl.load(x_ptr + base + off, mask=mask, other=0.0, eviction_policy="evict_first").to(ACC)
            mean = tl.load(mean_ptr + rows, mask=rmask, other=0.0)
            rstd = tl.load(rstd_ptr + rows, mask=rmask, other=0.0)
            xhat = tl.where(mask, (x - mean[:, None]) * rstd[:, None], 0.0)
            gy = g
            if HAS_W:
                # (re-read per row from L1/L2 rather than held across the loop: registers are the limit here)
                gy = g * _affine_values(w_ptr, rows, cols, mask, 1, 1, 1, ACC, W_MODE)
            c1 = tl.sum(gy * xhat, 1) / n
            dx = gy - xhat * c1[:, None]
            if CENTER:
                dx = dx - (tl.sum(gy, 1) / n)[:, None]
            tl.store(dx_ptr + base + off, (dx * rstd[:, None]).to(dx_ptr.dtype.element_ty), mask=mask)
            if PARAMS == 1:
                acc_w += tl.sum(g * xhat, 0)
                if WANT_DB:
                    acc_b += tl.sum(g, 0)
            if PARAMS == 2:
                tl.store(pw_ptr + rows, tl.sum(g * xhat, 1), mask=rmask)
                tl.store(pb_ptr + rows, tl.sum(g, 1), mask=rmask)
        if PARAMS == 1:
            tl.store(pw_ptr + pid * n_cols + cols, acc_w, mask=cmask)
            if WANT_DB:
                tl.store(pb_ptr + pid * n_cols + cols, acc_b, mask=cmask)
    else:
        for r0 in range(row_begin, row_end, ROWS):
            rows = r0 + tl.arange(0, ROWS)
            rmask = rows < row_end
            mean = tl.load(mean_ptr + rows, mask=rmask, other=0.0)
            rstd = tl.load(rstd_ptr + rows, mask=rmask, other=0.0)
            s_gyx = tl.zeros([ROWS, BLOCK], ACC)
            s_gy = tl.zeros([ROWS, BLOCK], ACC)
            s_gx = tl.zeros([ROWS, BLOCK], ACC)
            s_g = tl.zeros([ROWS, BLOCK], ACC)
            # pass 1: the row sums dx needs (and batch_norm's per-row parameter sums)
            for start in range(0, n_cols, BLOCK):
                cols = start + tl.arange(0, BLOCK)
                mask = rmask[:, None] & (cols < n_cols)[None, :]
                base, off = _tile_offsets(r0, cols, row_stride, col_split, outer_stride, STRIDED, ROWS)
                g = tl.load(g_ptr + base + off, mask=mask, other=0.0).to(ACC)
                x = tl.load(x_ptr + base + off, mask=mask, other=0.0).to(ACC)
                xhat = tl.where(mask, (x - mean[:, None]) * rstd[:, None], 0.0)
                gy = g
                if HAS_W:
                    gy = g * _affine_values(w_ptr, rows, cols, mask, 1, 1, 1, ACC, W_MODE)
                s_gyx += gy * xhat
                s_gy += gy
                if PARAMS == 2:
                    s_gx += g * xhat
                    s_g += g
            c1 = tl.sum(s_gyx, 1) / n
            c2 = tl.sum(s_gy, 1) / n
            if PARAMS == 2:
                tl.store(pw_ptr + rows, tl.sum(s_gx, 1), mask=rmask)
                tl.store(pb_ptr + rows, tl.sum(s_g, 1), mask=rmask)
            # pass 2: dx, and the column partials of this group of rows
            for start in range(0, n_cols, BLOCK):
                cols = start + tl.arange(0, BLOCK)
                cmask = cols < n_cols
                mask = rmask[:, None] & cmask[None, :]
                base, off = _tile_offsets(r0, cols, row_stride, col_split, outer_stride, STRIDED, ROWS)
                g = tl.load(g_ptr + base + off, mask=mask, other=0.0, eviction_policy="evict_first").to(ACC)
                x = tl.load(x_ptr + base + off, mask=mask, other=0.0, eviction_policy="evict_first").to(ACC)
                xhat = tl.where(mask, (x - mean[:, None]) * rstd[:, None], 0.0)
                gy = g
                if HAS_W:
                    gy = g * _affine_values(w_ptr, rows, cols, mask, 1, 1, 1, ACC, W_MODE)
                dx = gy - xhat * c1[:, None]
                if CENTER:
                    dx = dx - c2[:, None]
                tl.store(dx_ptr + base + off, (dx * rstd[:, None]).to(dx_ptr.dtype.element_ty), mask=mask)
                if PARAMS == 1:
                    # this program's own partial row (no other program touches it): the first group of rows
                    # stores, later ones (many rows per program) read-modify-write; so no zero-fill launch.
                    p = pid * n_cols + cols
                    pmask = cmask & ((cols * 0 + r0) > row_begin)  # (a tensor compare: a mask)
                    tl.store(pw_ptr + p, tl.load(pw_ptr + p, mask=pmask, other=0.0) + tl.sum(g * xhat, 0),
                             mask=cmask)
                    if WANT_DB:
                        tl.store(pb_ptr + p, tl.load(pb_ptr + p, mask=pmask, other=0.0) + tl.sum(g, 0),
                                 mask=cmask)


@triton.jit
def _partial_sum_kernel(
    pw_ptr, pb_ptr,                 # (n_parts, n_cols) weight / bias partial sums, contiguous (ACC)
    dw_ptr, db_ptr,                 # (n_cols,) results, contiguous (the weight's dtype)
    n_parts, n_cols,
    HAS_B: tl.constexpr,            # also reduce pb_ptr into db_ptr (one launch for both)
    BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr, ACC: tl.constexpr,
):
    # bytes: reads n_parts * n_cols partials (each array), writes n_cols; one program per column block
    cols = tl.program_id(0) * BLOCK_C + tl.arange(0, BLOCK_C)
    cmask = cols < n_cols
    acc_w = tl.zeros([BLOCK_C], ACC)
    acc_b = tl.zeros([BLOCK_C], ACC)
    for p0 in range(0, n_parts, BLOCK_P):
        parts = p0 + tl.arange(0, BLOCK_P)
        mask = (parts < n_parts)[:, None] & cmask[None, :]
        off = parts[:, None].to(tl.int64) * n_cols + cols[None, :]
        acc_w += tl.sum(tl.load(pw_ptr + off, mask=mask, other=0.0, eviction_policy="evict_first"), 0)
        if HAS_B:
            acc_b += tl.sum(tl.load(pb_ptr + off, mask=mask, other=0.0, eviction_policy="evict_first"), 0)
    tl.store(dw_ptr + cols, acc_w.to(dw_ptr.dtype.element_ty), mask=cmask)
    if HAS_B:
        tl.store(db_ptr + cols, acc_b.to(db_ptr.dtype.element_ty), mask=cmask)


# ====================================================================================== launch helpers

def _acc_dtype(dtype: _dt.dtype) -> _dt.dtype:
    """Statistics and accumulation: fp64 for fp64 inputs, fp32 otherwise."""
    return _dt.float64 if dtype is _dt.float64 else _dt.float32


_TL_ACC = {_dt.float32: tl.float32, _dt.float64: tl.float64}


def _contiguous(t: Tensor) -> CudaArray:
    """The tensor's storage, copied to a contiguous array when it is a strided view (one pointwise launch)."""
    arr = t._data
    if arr.is_contiguous():
        return arr
    from .copy import _identity
    return pw.launch_pointwise(_identity, [t], tuple(arr.shape), t.dtype, t.dtype)


def _row_tiling(n_rows: int, n_cols: int):
    """(one_pass, block, rows per tile, num_warps) for rows of n_cols elements."""
    return _tiling(n_rows, n_cols, MAX_BLOCK, TILE)


def _warps_for(elements: int) -> int:
    """num_warps for a tile of `elements` values: 16 per thread at 4K and above (as Triton's layer-norm
    tutorial: 8 warps at 4K, 16 at 8K-16K), a power of two in [1, 16]."""
    warps = max(1, min(16, elements // 512))
    return 1 << (warps.bit_length() - 1)


@functools.lru_cache(maxsize=1024)
def _tiling(n_rows: int, n_cols: int, max_block: int, tile: int):
    # cached: every call of the same shape reuses it (the knobs are part of the key, so tests can shrink them)
    p2 = launch.next_pow2(max(n_cols, 1))
    one_pass = p2 <= max_block
    block = p2 if one_pass else launch.next_pow2(max_block)
    rows = max(1, min(launch.next_pow2(max(n_rows, 1)), tile // block))
    return one_pass, block, rows, _warps_for(rows * block)


@functools.lru_cache(maxsize=1024)
def _param_tiling(n_rows: int, n_cols: int, max_block: int, tile: int, programs: int, param_max_block: int,
                  param_tile: int):
    """(one_pass, block, rows per tile, num_warps, rows per program, programs) of the backward that writes
    weight/bias column partials. Rows that fit in min(max_block, param_max_block) are held in registers, a few
    per tile, each program summing its rows' partials in registers. Longer rows go by [rows, chunk] tiles of
    about param_tile elements, the rows of a tile being (about) all of a program's rows: one tile-row group per
    program, so its partial row is written once, with no zero-fill and no read-back."""
    one_pass, block, rows, warps = _tiling(n_rows, n_cols, min(max_block, param_max_block), tile)
    per_program = launch.num_programs(max(n_rows, 1), programs)
    if one_pass:  # 8 values a thread per tensor (see PARAM_MAX_BLOCK): tiles of up to half of `tile` values
        rows = max(1, min(rows, (tile // 2) // block))
        warps = _warps_for(rows * block * 2)
    else:
        rows = min(16, launch.next_pow2(per_program))
        while rows > 1 and rows * n_cols >= 2 ** 31:  # the kernel's int32 offsets within a tile
            rows //= 2
        block = max(1, min(block, param_tile // rows))
        warps = _warps_for(rows * block)
    rows_per_program = launch.num_programs(per_program, rows) * rows
    return one_pass, block, rows, warps, rows_per_program, launch.num_programs(max(n_rows, 1), rows_per_program)


class _Layout:
    """How rows sit in memory: row r, column c at r * row_stride + (c // col_split) * outer_stride + c % col_split
    (strided only for batch_norm)."""

    def __init__(self, n_rows, n_cols, row_stride, col_split=1, outer_stride=0, strided=False):
        self.n_rows, self.n_cols, self.row_stride = n_rows, n_cols, row_stride
        self.col_split, self.outer_stride, self.strided = col_split, outer_stride, strided

    @staticmethod
    def rows(n_rows, n_cols):
        return _Layout(n_rows, n_cols, n_cols)

    @staticmethod
    def channels(shape):
        """(N, C, *spatial) contiguous with rows = channels, columns = (n, spatial)."""
        n, c = shape[0], shape[1]
        s = math.prod(shape[2:])
        return _Layout(c, n * s, s, col_split=s, outer_stride=c * s, strided=True)


def _launch_fwd(x: CudaArray, layout: _Layout, dtype: _dt.dtype, *, center, weight=None, bias=None, w_mode=0,
                groups=1, group_channels=1, spatial=1, eps=1e-5, running=None, momentum=0.0, stats_given=None,
                write_y=True, write_stats=True):
    """Run the forward kernel; returns (y or None, mean, rstd). `running` = (running_mean, running_var) arrays
    to update; `stats_given` = (running_mean, running_var) to normalise with (eval batch_norm); without
    `write_stats` (a call no backward can need) mean and rstd are neither allocated nor written (None)."""
    acc = _acc_dtype(dtype)
    y = CudaArray.empty(tuple(x.shape), dtype.np) if write_y else None
    if stats_given is not None:
        mean, rstd = stats_given
    elif not write_stats:
        mean = rstd = None
    else:
        # one block for both (an allocation is a few us of host time); rstd starts 16-byte aligned, so the
        # kernel's specialisation (and compiled variant) does not depend on the row count
        n, gap = layout.n_rows, -(-layout.n_rows // 16) * 16
        stats = CudaArray.empty((gap + n,), acc.np)
        mean, rstd = stats.view_as((n,), (1,), 0), stats.view_as((n,), (1,), gap)
    if layout.n_rows == 0 or layout.n_cols == 0:
        return y, mean, rstd
    one_pass, block, rows, warps = _row_tiling(layout.n_rows, layout.n_cols)
    rm, rv = running if running is not None else (x, x)
    _norm_fwd_kernel[(launch.num_programs(layout.n_rows, rows),)](
        x, y if write_y else x, weight if weight is not None else x, bias if bias is not None else x,
        mean if mean is not None else x, rstd if rstd is not None else x, rm, rv,
        layout.n_rows, layout.n_cols, layout.row_stride, layout.col_split, layout.outer_stride, groups, group_channels, spatial, float(eps), float(momentum),
        CENTER=center, STATS_GIVEN=stats_given is not None, UPDATE_RUNNING=running is not None, WRITE_Y=write_y,
        WRITE_STATS=mean is not None and stats_given is None,
        W_MODE=w_mode, HAS_W=weight is not None, HAS_B=bias is not None, STRIDED=layout.strided,
        ONE_PASS=one_pass, ROWS=rows, BLOCK=block, ACC=_TL_ACC[acc], num_warps=warps)
    return y, mean, rstd


def _launch_bwd(g: CudaArray, x: CudaArray, layout: _Layout, dtype: _dt.dtype, mean, rstd, *, center,
                weight=None, w_mode=0, params=PARAMS_NONE, param_dtype=None, want_db=True):
    """Run the backward kernel (and the partial-sum pass for column partials); returns (dx, dw, db); db is None
    for column partials without want_db."""
    acc = _acc_dtype(dtype)
    dx = CudaArray.empty(tuple(x.shape), dtype.np)
    n_rows, n_cols = layout.n_rows, layout.n_cols
    if params == PARAMS_COLUMN_PARTIALS:
        one_pass, block, rows, warps, rows_per_program, n_programs = _param_tiling(
            n_rows, n_cols, MAX_BLOCK, TILE, PARAM_PROGRAMS, PARAM_MAX_BLOCK, PARAM_TILE)
    else:
        one_pass, block, rows, warps = _tiling(n_rows, n_cols, min(MAX_BLOCK, BWD_MAX_BLOCK), TILE)
        rows_per_program, n_programs = rows, launch.num_programs(n_rows, rows)
    pw_arr = pb_arr = None
    if params == PARAMS_COLUMN_PARTIALS:
        pw_arr = CudaArray.empty((n_programs, n_cols), acc.np)
        pb_arr = CudaArray.empty((n_programs, n_cols), acc.np) if want_db else None
        if n_rows == 0:  # no kernel runs: the sums are zeros
            _cuda.memset_zero(pw_arr)
            if want_db:
                _cuda.memset_zero(pb_arr)
    elif params == PARAMS_PER_ROW:
        pw_arr = CudaArray.empty((n_rows,), acc.np)
        pb_arr = CudaArray.empty((n_rows,), acc.np)
    if n_rows and n_cols:
        _norm_bwd_kernel[(n_programs,)](
            g, x, dx, weight if weight is not None else x, mean, rstd,
            pw_arr if pw_arr is not None else x, pb_arr if pb_arr is not None else x,
            n_rows, n_cols, layout.row_stride, layout.col_split, layout.outer_stride, rows_per_program,
            CENTER=center, W_MODE=w_mode, HAS_W=weight is not None, PARAMS=params, WANT_DB=want_db,
            STRIDED=layout.strided, ONE_PASS=one_pass, ROWS=rows, BLOCK=block, ACC=_TL_ACC[acc], num_warps=warps)
    elif params == PARAMS_PER_ROW and n_rows:
        _cuda.memset_zero(pw_arr)
        _cuda.memset_zero(pb_arr)
    if params != PARAMS_COLUMN_PARTIALS:
        return dx, pw_arr, pb_arr
    return (dx,) + _sum_partials(pw_arr, pb_arr, param_dtype, acc)


@functools.lru_cache(maxsize=256)
def _partial_sum_tiling(n_parts: int, n_cols: int, programs: int):
    """(BLOCK_P, BLOCK_C, num_warps): column blocks narrow enough for about `programs` programs (32-256 columns:
    128-1024 contiguous bytes per partial row), partial rows in tiles of up to 4K elements."""
    block_c = min(launch.next_pow2(n_cols), 256, max(32, launch.next_pow2(launch.num_programs(n_cols, programs))))
    block_p = min(launch.next_pow2(max(n_parts, 1)), max(1, 4096 // block_c))
    return block_p, block_c, _warps_for(block_p * block_c)


def _sum_partials(pw_arr: CudaArray, pb_arr, dtype: _dt.dtype, acc: _dt.dtype):
    """(dw, db): the column sums of the (n_parts, n_cols) partials, in one launch (db None without pb_arr)."""
    n_parts, n_cols = pw_arr.shape
    dw = CudaArray.empty((n_cols,), dtype.np)
    db = CudaArray.empty((n_cols,), dtype.np) if pb_arr is not None else None
    if n_cols == 0:
        return dw, db
    block_p, block_c, warps = _partial_sum_tiling(n_parts, n_cols, PARAM_PROGRAMS)
    _partial_sum_kernel[(launch.num_programs(n_cols, block_c),)](
        pw_arr, pb_arr if pb_arr is not None else pw_arr, dw, db if db is not None else dw, n_parts, n_cols,
        HAS_B=pb_arr is not None, BLOCK_P=block_p, BLOCK_C=block_c, ACC=_TL_ACC[acc], num_warps=warps)
    return dw, db


# ==================================================================================== NumPy row helpers

def _np_compute(a: np.ndarray) -> np.ndarray:
    """fp16/bf16 compute in fp32 (as PyTorch's CPU kernels do)."""
    return a.astype(np.float32) if a.dtype.itemsize < 4 else a


def _np_stats(x2: np.ndarray, eps: float, center: bool):
    """(mean, rstd, x - mean) of each row of a 2-D compute-dtype array."""
    n = x2.shape[1]
    if center:
        mean = np.add.reduce(x2, axis=1) / n if n else np.full(x2.shape[0], np.nan, x2.dtype)
        xc = x2 - mean[:, None]
    else:
        mean = np.zeros(x2.shape[0], x2.dtype)
        xc = x2
    var = np.einsum("ij,ij->i", xc, xc) / n if n else np.full(x2.shape[0], np.nan, x2.dtype)
    rstd = 1.0 / np.sqrt(var + x2.dtype.type(eps))
    return mean.astype(x2.dtype, copy=False), rstd.astype(x2.dtype, copy=False), xc


# Elements per row block of the NumPy norm forward / backward, measured best on the 2-core CI machine: blocks of
# 2**16 cost more in per-call overhead (a dozen NumPy calls a block) than they save in cache misses; the backward,
# with one block-sized temporary more, is best at 2**17 (2**15: +30%, 2**16: +12% at 512x768..2048x1024).
_NP_NORM_FWD_BLOCK = 1 << 18
_NP_NORM_BWD_BLOCK = 1 << 17
# Inputs below this many elements (8 MiB of fp32, the L3 size there) run their blocks on the calling thread: on a
# loaded 2-core machine the thread hand-off lost 10-20% at 0.4M-1M elements.
_NP_NORM_SPLIT_MIN = 1 << 21



# A NumPy ufunc over a (rows, n) block with a per-column operand (x * w) runs at about half the speed of the same
# ufunc over flat operands unless its inner loop is long (measured here: 83 us vs 43 us for 256 x 1024 fp32; at
# n = 64 29 us vs 21 us); so a column vector is tiled k times and the block viewed as (rows / k, k * n).
_TILED_INNER = 8192
# Inputs below this many elements use the plain broadcast (building the tiled vector would cost more).
_TILED_MIN = 1 << 14


class _Columns:
    """A per-column vector (weight, bias) with a copy tiled `k` times, so that ufuncs with it run over long rows."""

    def __init__(self, v: np.ndarray, n_rows: int):
        n = v.shape[0]
        self.v = v
        self.k = min(n_rows, -(-_TILED_INNER // n)) if n_rows * n >= _TILED_MIN and n < _TILED_INNER else 1
        self.tiled = np.tile(v, self.k) if self.k > 1 else v

    def apply(self, ufunc, a: np.ndarray, out: np.ndarray) -> None:
        """out = ufunc(a, v) row by row; `a` and `out` are C-contiguous (rows, n) blocks (or `a` is `out`)."""
        k = self.k
        rows, n = out.shape
        full = rows - rows % k if k > 1 and a.flags.c_contiguous else 0
        if full:
            ufunc(a[:full].reshape(full // k, k * n), self.tiled, out=out[:full].reshape(full // k, k * n))
        if full < rows:
            ufunc(a[full:], self.v, out=out[full:])


def _rstd_of(sq_sum: np.ndarray, count: int, eps) -> np.ndarray:
    """1 / sqrt(sq_sum / count + eps), in place in sq_sum (the sums of squared deviations of each row/group)."""
    sq_sum /= count
    sq_sum += eps
    np.sqrt(sq_sum, out=sq_sum)
    return np.divide(1, sq_sum, out=sq_sum)

def _np_rownorm_forward(x2: np.ndarray, w, b, eps: float, center: bool):
    """(y, mean, rstd) of the rows of a 2-D array, y in the compute dtype: rows are split in cache-sized blocks
    run on the thread pool, and each block makes its passes (centre, scale, affine) in cache. The row sums are
    BLAS products (x @ ones, and row_dot(xc, xc) for the centred sum of squares), several times faster than
    NumPy's reductions; OpenBLAS runs on one thread (its threads synchronise on every call, which on a loaded
    machine costs far more than these products: the row blocks are what runs in parallel)."""
    m, n = x2.shape
    dt = _np_compute(x2[:0]).dtype
    if x2.size == 0:
        x2 = x2.astype(dt, copy=False)
        mean, rstd, xc = _np_stats(x2, eps, center)
        return xc.copy() if xc is x2 else xc, mean, rstd
    y = np.empty((m, n), dt)
    mean = np.zeros(m, dt)
    rstd = np.empty(m, dt)
    eps_t = dt.type(eps)
    ones = np.ones(n, dt)
    rows_per_block = max(1, _NP_NORM_FWD_BLOCK // n)
    w_cols = None if w is None else _Columns(w, min(m, rows_per_block))
    b_cols = None if b is None else _Columns(b, min(m, rows_per_block))

    def block(r):
        with row_loops(n):
            _forward_block(r)

    def _forward_block(r):
        xb = x2[r].astype(dt, copy=False)
        yb = y[r]
        if center:
            mb = np.matmul(xb, ones)
            mb /= n
            mean[r] = mb
            np.subtract(xb, mb[:, None], out=yb)
            xc = yb
        else:
            xc = xb
        rb = _rstd_of(row_dot(xc, xc), n, eps_t)   # two-pass (centred) variance: no cancellation
        rstd[r] = rb
        np.multiply(xc, rb[:, None], out=yb)
        if w_cols is not None:
            w_cols.apply(np.multiply, yb, yb)
        if b_cols is not None:
            b_cols.apply(np.add, yb, yb)

    with one_blas_thread():
        run_row_blocks(block, m, n, _NP_NORM_FWD_BLOCK, _NP_NORM_SPLIT_MIN)
    return y, mean, rstd


def _np_row_backward(g2, x2, w, mean, rstd, center, param_grads):
    """dx of 2-D rows (compute dtype) and, when `param_grads`, the column sums of g * xhat and g (the weight and
    bias gradients). Rows are split in cache-sized blocks run on the thread pool; each block returns its partial
    column sums, added in block order.

    With xc = x - mean (xhat = rstd * xc) and s = g * xc, every sum is a BLAS product (one OpenBLAS thread, as
    in the forward): dw = rstd @ s, db = ones @ g, c1 = rowsum(gy * xhat) = rstd * (s @ w),
    c2 = rowsum(gy) = g @ w; then dx = rstd * (g * w) - xc * (rstd^2 c1 / n) - rstd c2 / n: seven passes over
    a block."""
    m, n = x2.shape
    dt = x2.dtype
    dx = np.empty((m, n), dt)
    ones_n = np.ones(n, dt)
    w_or_ones = ones_n if w is None else w
    w_cols = None if w is None else _Columns(w, min(m, max(1, _NP_NORM_BWD_BLOCK // n)))

    def block(r):
        with row_loops(n):
            return _backward_block(r)

    def _backward_block(r):
        xb, gb, dxb = x2[r], g2[r], dx[r]
        rs = rstd[r]
        xc = np.subtract(xb, mean[r, None]) if center else xb
        np.multiply(gb, xc, out=dxb)          # dxb as scratch for s = g * xc before it gets dx
        c1 = np.matmul(dxb, w_or_ones)
        dw_part = db_part = None
        if param_grads:
            dw_part = np.matmul(rs, dxb)
            db_part = np.matmul(np.ones(len(rs), dt), gb)
        c1 *= rs * rs * rs
        c1 /= n         # s @ w = rowsum(gy * xhat) / rstd, so xc * c1 = rstd * xhat * rowsum(gy * xhat) / n
        if center:
            xc *= c1[:, None]
            c2 = np.matmul(gb, w_or_ones)
            c2 *= rs
            c2 /= n
            xc += c2[:, None]
        else:
            xc = np.multiply(xb, c1[:, None])
        if w is not None:
            w_cols.apply(np.multiply, gb, dxb)
            dxb *= rs[:, None]
        else:
            np.multiply(gb, rs[:, None], out=dxb)
        dxb -= xc
        return dw_part, db_part

    with one_blas_thread():
        parts = run_row_blocks(block, m, n, _NP_NORM_BWD_BLOCK, _NP_NORM_SPLIT_MIN)
    return (dx,) + _summed_param_grads(parts, n, dt, param_grads)


def _summed_param_grads(parts, n: int, dt, wanted: bool) -> tuple:
    """(dw, db): the blocks' partial weight and bias gradients added in block order (bitwise the same on any
    thread count), or (None, None)."""
    if not wanted:
        return None, None
    dw = np.zeros(n, dt)
    db = np.zeros(n, dt)
    for dw_part, db_part in parts:
        dw += dw_part
        db += db_part
    return dw, db


# ========================================================================================== arguments

def _shape_list(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _normalized_shape(normalized_shape) -> tuple:
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(int(s) for s in normalized_shape)


def _check_float(name, t: Tensor):
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(t).__name__}")
    if t.dtype not in FLOATS:
        raise RuntimeError(f'"{name}" not implemented for \'{_type_name(t.dtype)}\'')


def _check_param(name, what, p, input, shape, ns):
    if p is None:
        return
    if not isinstance(p, Tensor):
        raise TypeError(f"{name}(): argument '{what}' must be Tensor, not {type(p).__name__}")
    if tuple(p._data.shape) != tuple(shape):
        raise RuntimeError(f"Expected {what} to be of same shape as normalized_shape, but got {what} of shape "
                           f"{_shape_list(p._data.shape)} and normalized_shape = {_shape_list(ns)}")
    if p.dtype is not input.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(input.dtype)} but found {_type_name(p.dtype)}")


def _rows_of(input: Tensor, ns: tuple, name: str):
    shape = tuple(input._data.shape)
    k = len(ns)
    if k == 0 or len(shape) < k or shape[len(shape) - k:] != ns:
        raise RuntimeError(f"Given normalized_shape={_shape_list(ns)}, expected input with shape "
                           f"[*, {', '.join(str(s) for s in ns)}], but got input of size{_shape_list(shape)}")
    n_cols = math.prod(ns)
    n_rows = math.prod(shape[: len(shape) - k])
    return n_rows, n_cols


def _wrap(raw, dtype, device):
    return None if raw is None else _make(raw, dtype, device)


def _stats_tensors(meta: Meta, device):
    """The forward's saved (mean, rstd) as Tensors (constants: the backward ops treat them as cached functions of
    the input), or None."""
    stats = meta.aux.get("stats") if isinstance(meta.aux, dict) else None
    if stats is None:
        return None
    acc = meta.aux["acc"]
    return _make(stats[0], acc, device), _make(stats[1], acc, device)


def _raw_stats(stats, device, n_rows, acc):
    """Raw (mean, rstd) storage from a stats kwarg, checked against the rows it must describe."""
    if stats is None:
        return None
    mean, rstd = stats
    for t in (mean, rstd):
        if not isinstance(t, Tensor) or t.device is not device or t.numel() != n_rows or t.dtype is not acc:
            raise RuntimeError("stats must be the forward's (mean, rstd) tensors, one per row")
    return mean._data, rstd._data


# ============================================================================== layer_norm and rms_norm

# torch.finfo(dtype).eps: rms_norm's default eps
_FINFO_EPS = {_dt.float64: 2.220446049250313e-16, _dt.float32: 1.1920928955078125e-07,
              _dt.float16: 0.0009765625, _dt.bfloat16: 0.0078125}


def _rownorm_infer(name, center):
    def infer(input, normalized_shape, weight=None, bias=None, eps=None):
        _check_float(name, input)
        ns = _normalized_shape(normalized_shape)
        n_rows, n_cols = _rows_of(input, ns, name)
        _check_param(name, "weight", weight, input, ns, ns)
        _check_param(name, "bias", bias, input, ns, ns)
        dev = device_of(input, weight, bias)
        if eps is None:
            eps = _FINFO_EPS[input.dtype]
        return Meta(tuple(input._data.shape), input.dtype, dev,
                    {"rows": n_rows, "cols": n_cols, "eps": float(eps), "acc": _acc_dtype(input.dtype),
                     "stats": None})
    return infer


def _rownorm_cpu(center):
    def cpu(meta, input, normalized_shape, weight=None, bias=None, eps=None):
        aux = meta.aux
        x2 = input._data.reshape(aux["rows"], aux["cols"])
        w = None if weight is None else _np_compute(weight._data.reshape(-1))
        b = None if bias is None else _np_compute(bias._data.reshape(-1))
        y, mean, rstd = _np_rownorm_forward(x2, w, b, aux["eps"], center)
        aux["stats"] = (mean, rstd)
        return y.reshape(meta.shape).astype(meta.dtype.np, copy=False)
    return cpu


def _recorded(input: Tensor, weight, bias) -> bool:
    """Whether autograd will record this call (grad mode on, an operand requires grad): only then does the
    forward keep its mean and rstd for the backward."""
    return (not _FLAGS.grad_off or _GRAD.enabled) and (input._requires_grad
                                                       or (weight is not None and weight._requires_grad)
                                                       or (bias is not None and bias._requires_grad))


def _rownorm_cuda(center):
    def cuda(meta, input, normalized_shape, weight=None, bias=None, eps=None):
        aux = meta.aux
        y, mean, rstd = _launch_fwd(_contiguous(input), _Layout.rows(aux["rows"], aux["cols"]), meta.dtype,
                                    center=center, weight=None if weight is None else _contiguous(weight),
                                    bias=None if bias is None else _contiguous(bias), eps=aux["eps"],
                                    write_stats=_recorded(input, weight, bias))
        aux["stats"] = None if mean is None else (mean, rstd)
        return y
    return cuda


# A call signature of layer_norm / rms_norm on cuda -> (rows, cols, eps, acc) that infer gave it, or None when its
# operands are not all contiguous (the full path then copies them). Bounded: cleared when it grows past the limit.
_CUDA_PLANS: dict = {}
_CUDA_PLANS_MAX = 4096


def _operand_key(t):
    """What infer and the contiguity test read of a weight / bias: None, or its shape, strides, dtype and device;
    False for anything else (the full path raises for it)."""
    if t is None:
        return None
    if t.__class__ is not Tensor:
        return False
    a = t._data
    return (a.shape, a.strides, t.dtype, t.device)


def _rownorm_cuda_fast(op, center: bool, args: tuple, input, normalized_shape, weight, bias, eps):
    """The cuda shortcut of a layer_norm / rms_norm call (the forward's host time is most of a small call's
    wall time on a GPU): a call signature that infer has validated once skips infer and the operand checks and
    goes straight to the forward kernel. None for anything else (the full path runs)."""
    if input.__class__ is not Tensor or input.device.type != "cuda":
        return None
    if normalized_shape.__class__ is int:
        ns = normalized_shape
    elif normalized_shape.__class__ is tuple or normalized_shape.__class__ is list:
        ns = tuple(normalized_shape)
    else:
        return None
    if eps is not None and eps.__class__ is not float and eps.__class__ is not int:
        return None
    wk, bk = _operand_key(weight), _operand_key(bias)
    if wk is False or bk is False:
        return None
    x = input._data
    key = (center, x.shape, x.strides, input.dtype, input.device, ns, wk, bk, eps)
    plan = _CUDA_PLANS.get(key, False)
    if plan is False:  # first call of this signature: infer validates it (and raises PyTorch's errors)
        meta = op.infer(*args)
        aux = meta.aux
        contiguous = x.is_contiguous() and all(t is None or t._data.is_contiguous() for t in (weight, bias))
        plan = (aux["rows"], aux["cols"], aux["eps"], aux["acc"]) if contiguous else None
        if len(_CUDA_PLANS) >= _CUDA_PLANS_MAX:
            _CUDA_PLANS.clear()
        _CUDA_PLANS[key] = plan
    if plan is None:
        return None
    rows, cols, eps_f, acc = plan
    dtype = input.dtype
    record = _recorded(input, weight, bias)
    y, mean, rstd = _launch_fwd(x, _Layout(rows, cols, cols), dtype, center=center,
                                weight=None if weight is None else weight._data,
                                bias=None if bias is None else bias._data, eps=eps_f, write_stats=record)
    r = _make(y, dtype, input.device)
    if record:
        meta = Meta(x.shape, dtype, input.device, {"rows": rows, "cols": cols, "eps": eps_f, "acc": acc,
                                                   "stats": (mean, rstd)})
        _state.recorder(op, args, {}, r, meta)
    return r


def _rownorm_fast(center: bool):
    """OpDef.fast of layer_norm (center: args (input, normalized_shape, weight, bias, eps)) or rms_norm
    (args (input, normalized_shape, weight, eps)): the cuda shortcut for positional calls."""
    op_box = [None]
    defaults = (None, None, None) if center else (None, None)  # (infer's defaults: eps None is its own default)

    def fast(*args, **kw):
        if kw or not 2 <= len(args) <= 2 + len(defaults):
            return None
        full = args + defaults[len(args) - 2:]
        input, normalized_shape, weight = full[:3]
        bias, eps = full[3:] if center else (None, full[3])
        return _rownorm_cuda_fast(op_box[0], center, args, input, normalized_shape, weight, bias, eps)

    fast.bind = lambda op: op_box.__setitem__(0, op)
    return fast


def _rownorm_ref(center):
    def ref(x, normalized_shape, weight=None, bias=None, eps=None):
        x = np.asarray(x, np.float64)
        ns = _normalized_shape(normalized_shape)
        axes = tuple(range(x.ndim - len(ns), x.ndim))
        if eps is None:
            eps = 0.0  # (the samples pass eps explicitly where it matters)
        mu = x.mean(axis=axes, keepdims=True) if center else 0.0
        var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
        y = (x - mu) / np.sqrt(var + eps)
        if weight is not None:
            y = y * weight
        if bias is not None:
            y = y + bias
        return y
    return ref


def _bind_rownorm(input, normalized_shape, weight=None, bias=None, eps=None):
    return input, normalized_shape, weight, bias, eps


def _positional_grads(inputs, grads_by_slot):
    """One gradient per tensor positional argument, in order: slot i of `inputs` gets grads_by_slot[i]."""
    return tuple(grads_by_slot.get(i) for i, a in enumerate(inputs) if isinstance(a, Tensor))


def _lead_dims(x: Tensor, k: int) -> list:
    return list(range(x.dim() - k))


def _rownorm_vjp(backward_op, center):
    def vjp(ctx, grad):
        inputs = ctx.inputs
        x, ns, w, b, _ = _bind_rownorm(*inputs, **ctx.kwargs)
        ns = _normalized_shape(ns)
        eps = ctx.meta.aux["eps"]
        stats = _stats_tensors(ctx.meta, x.device)
        w_pos = len(inputs) > 2 and isinstance(inputs[2], Tensor)
        b_pos = len(inputs) > 3 and isinstance(inputs[3], Tensor)
        weight = w if isinstance(w, Tensor) else None
        outs = backward_op(grad, x, weight, ns, eps, stats=stats)
        grads = {0: outs[0]}
        if w_pos:
            grads[2] = outs[1]
        if b_pos:
            if weight is not None and center:
                grads[3] = outs[2]
            else:
                from .reduce import sum as _sum
                lead = _lead_dims(grad, len(ns))
                grads[3] = _sum(grad, lead) if lead else grad
        return _positional_grads(inputs, grads)
    return vjp


def _rownorm_bwd_infer(name, center):
    def infer(grad, input, weight, normalized_shape, eps, stats=None):
        _check_float(name, input)
        ns = _normalized_shape(normalized_shape)
        n_rows, n_cols = _rows_of(input, ns, name)
        _check_param(name, "weight", weight, input, ns, ns)
        if not isinstance(grad, Tensor) or tuple(grad._data.shape) != tuple(input._data.shape):
            raise RuntimeError(f"{name}: grad must have the input's shape {_shape_list(input._data.shape)}")
        dev = device_of(grad, input, weight)
        shape = tuple(input._data.shape)
        n_out = 1 if weight is None else (3 if center else 2)
        shapes = (shape,) + (ns,) * (n_out - 1)
        return Meta(shapes, (input.dtype,) * n_out, dev,
                    {"rows": n_rows, "cols": n_cols, "acc": _acc_dtype(input.dtype), "n_out": n_out})
    return infer


def _rownorm_bwd_cpu(center):
    def cpu(meta, grad, input, weight, normalized_shape, eps, stats=None):
        aux = meta.aux
        x2 = _np_compute(input._data.reshape(aux["rows"], aux["cols"]))
        g2 = _np_compute(grad._data.reshape(aux["rows"], aux["cols"]))
        if stats is not None:
            mean, rstd = (s._data for s in stats)
            mean = mean.astype(x2.dtype, copy=False)
            rstd = rstd.astype(x2.dtype, copy=False)
        else:
            mean, rstd, _ = _np_stats(x2, eps, center)
        w = None if weight is None else _np_compute(weight._data.reshape(-1))
        dx, dw, db = _np_row_backward(g2, x2, w, mean, rstd, center, weight is not None)
        dt = meta.dtype[0].np
        outs = [dx.reshape(meta.shape[0]).astype(dt, copy=False)]
        if weight is not None:
            outs.append(dw.reshape(meta.shape[1]).astype(dt, copy=False))
            if center:
                outs.append(db.reshape(meta.shape[1]).astype(dt, copy=False))
        return tuple(outs)
    return cpu


def _rownorm_bwd_cuda(center):
    def cuda(meta, grad, input, weight, normalized_shape, eps, stats=None):
        aux = meta.aux
        layout = _Layout.rows(aux["rows"], aux["cols"])
        x = _contiguous(input)
        dtype = meta.dtype[0]
        raw = _raw_stats(stats, meta.device, aux["rows"], aux["acc"])
        if raw is None:
            _, mean, rstd = _launch_fwd(x, layout, dtype, center=center, eps=eps, write_y=False)
        else:
            mean, rstd = raw
        params = PARAMS_NONE if weight is None else PARAMS_COLUMN_PARTIALS
        dx, dw, db = _launch_bwd(_contiguous(grad), x, layout, dtype, mean, rstd, center=center,
                                 weight=None if weight is None else _contiguous(weight), params=params,
                                 param_dtype=dtype, want_db=center)
        if weight is None:
            return (dx,)
        ns = meta.shape[1]
        dw = dw.view_as(ns, _cuda.contiguous_strides(ns), dw.offset)
        if not center:
            return dx, dw
        return dx, dw, db.view_as(ns, _cuda.contiguous_strides(ns), db.offset)
    return cuda


def _rownorm_bwd_ref(center):
    def ref(grad, x, weight, normalized_shape, eps, stats=None):
        ns = _normalized_shape(normalized_shape)
        g = np.asarray(grad, np.float64)
        x = np.asarray(x, np.float64)
        n_cols = math.prod(ns)
        g2 = g.reshape(-1, n_cols)
        x2 = x.reshape(-1, n_cols)
        mu = x2.mean(axis=1, keepdims=True) if center else 0.0
        r = 1.0 / np.sqrt(((x2 - mu) ** 2).mean(axis=1, keepdims=True) + eps)
        xhat = (x2 - mu) * r
        gy = g2 * (np.asarray(weight, np.float64).reshape(1, -1) if weight is not None else 1.0)
        dx = r * (gy - (gy.mean(axis=1, keepdims=True) if center else 0.0)
                  - xhat * (gy * xhat).mean(axis=1, keepdims=True))
        outs = [dx.reshape(x.shape)]
        if weight is not None:
            outs.append((g2 * xhat).sum(axis=0).reshape(ns))
            if center:
                outs.append(g2.sum(axis=0).reshape(ns))
        return tuple(outs)
    return ref


def _norm_double_vjp(g, x, w_b, v, ggw_b, ggb_b, dims, J, eps, center):
    """The vjp of (dx, dw, db) = norm_backward(g, x, w) for any row normalisation whose rows run over `dims`.

    g, x: full shape; w_b: the weight broadcastable against x (or None); v, ggw_b, ggb_b: the cotangents of dx,
    dw and db, broadcastable against x (or None); J(u) = rstd * (u - mean(u) - xhat * mean(xhat * u)) is the
    weight-less backward op itself (symmetric). Returns (g_cot, x_cot, w_cot) with w_cot in x's full shape
    (the caller sums it to the weight's shape); any may be None. Everything is a registered op, so this rule is
    itself differentiable (through J, whose own vjp is this function)."""
    from .movement import broadcast_to
    from .reduce import mean as _mean
    from .unary import rsqrt
    xc = x - _mean(x, dims, keepdim=True) if center else x
    r = rsqrt(_mean(xc * xc, dims, keepdim=True) + eps)
    xhat = xc * r
    gy = g * w_b if w_b is not None else g
    g_cot = x_cot = w_cot = u = None
    if v is not None:
        jv = J(v)
        g_cot = jv * w_b if w_b is not None else jv
        if w_b is not None:
            w_cot = jv * g
        b_term = _mean(gy * xhat, dims, keepdim=True)
        u = -(r * b_term) * v - (r * _mean(v * xhat, dims, keepdim=True)) * gy
        x_cot = -(r * _mean(jv * gy, dims, keepdim=True)) * xhat
    if ggw_b is not None:
        g_cot = ggw_b * xhat if g_cot is None else g_cot + ggw_b * xhat
        u = ggw_b * g if u is None else u + ggw_b * g
    if ggb_b is not None:
        g_cot = broadcast_to(ggb_b, tuple(g.shape)) if g_cot is None else g_cot + ggb_b
    if u is not None:
        ju = J(u)
        x_cot = ju if x_cot is None else x_cot + ju
    return g_cot, x_cot, w_cot


def _rownorm_bwd_vjp(get_op, center):
    def vjp(ctx, *cots):
        inputs = ctx.inputs
        g, x, w, ns, eps = inputs  # the backward ops are called with all five positionally
        ns = _normalized_shape(ns)
        stats = ctx.kwargs.get("stats")
        op = get_op()
        dims = list(range(x.dim() - len(ns), x.dim()))

        def J(u):
            return op(u, x, None, ns, eps, stats=stats)[0]

        v = cots[0]
        ggw = cots[1] if len(cots) > 1 else None
        ggb = cots[2] if len(cots) > 2 else None
        g_cot, x_cot, w_cot = _norm_double_vjp(g, x, w, v, ggw, ggb, dims, J, eps, center)
        grads = {0: g_cot, 1: x_cot}
        if isinstance(w, Tensor) and w_cot is not None:
            from .reduce import sum as _sum
            lead = _lead_dims(x, len(ns))
            grads[2] = _sum(w_cot, lead) if lead else w_cot
        return _positional_grads(inputs, grads)
    return vjp


def _rownorm_samples(center, with_bias):
    def samples(device, dtype):
        rng = rng_for("rownorm", center, dtype.name)
        eps = 1e-5

        def t(shape, **kw):
            return make_tensor(shape, dtype, device, rng=rng, **kw)

        def wb(ns):
            w = make_tensor(ns, dtype, device, low=0.5, high=1.5, rng=rng)
            return w, (t(ns) if with_bias else None)

        w, b = wb((5,))
        yield Sample((t((3, 5)), (5,), w, b, eps), name="small-affine", reduction_size=5)
        yield Sample((t((2, 7)), 7, None, None, eps), name="plain", reduction_size=7)
        w, b = wb((2, 3))
        yield Sample((t((2, 2, 3)), (2, 3), w, b, eps), name="two-dims", reduction_size=6)
        yield Sample((t((4,)), (4,), None, None, 1e-3), name="one-row", reduction_size=4)
        if dtype is _dt.float64:
            return
        w, b = wb((2 ** 6 + 17,))
        yield Sample((t((3, 2 ** 6 + 17)), (2 ** 6 + 17,), w, b, eps), name="odd-row", reduction_size=81)
        w, b = wb((9,))
        yield Sample((t((4, 9), noncontiguous=True), (9,), w, b, eps), name="noncontig", reduction_size=9)
        yield Sample((t((0, 6)), (6,), None, None, eps), name="empty-rows")
        yield Sample((t((5, 3)).t(), (5,), None, None, eps), name="transposed", reduction_size=5)
    return samples


def _rownorm_bwd_samples(center):
    def samples(device, dtype):
        rng = rng_for("rownorm-bwd", center, dtype.name)

        def t(shape, **kw):
            return make_tensor(shape, dtype, device, rng=rng, **kw)

        yield Sample((t((3, 4)), t((3, 4)), make_tensor((4,), dtype, device, low=0.5, high=1.5, rng=rng), (4,),
                      1e-5), name="affine", reduction_size=4)
        yield Sample((t((2, 5)), t((2, 5)), None, (5,), 1e-5), name="plain", reduction_size=5)
        if dtype is _dt.float64:
            return
        yield Sample((t((3, 37)), t((3, 37), noncontiguous=True),
                      make_tensor((37,), dtype, device, low=0.5, high=1.5, rng=rng), (37,), 1e-5),
                     name="odd-noncontig", reduction_size=37)
    return samples


def _rownorm_bench(center):
    def make(size, device, dtype):
        m, n = size
        x = make_tensor((m, n), dtype, device)
        w = make_tensor((n,), dtype, device, low=0.5, high=1.5)
        b = make_tensor((n,), dtype, device) if center else None
        return (x, (n,), w, b, 1e-5), {}

    return BenchSpec(sizes=((4096, 256), (4096, 1024), (4096, 4096), (1024, 16384)), make=make,
                     bytes=lambda size, dtype: 2 * size[0] * size[1] * dtype.itemsize + 2 * size[1] * dtype.itemsize,
                     flops=lambda size: 8 * size[0] * size[1], dtypes=(_dt.float32, _dt.float16, _dt.bfloat16))


def _rownorm_bwd_bench(center):
    def make(size, device, dtype):
        m, n = size
        return (make_tensor((m, n), dtype, device), make_tensor((m, n), dtype, device),
                make_tensor((n,), dtype, device, low=0.5, high=1.5), (n,), 1e-5), {}

    return BenchSpec(sizes=((4096, 256), (4096, 1024), (4096, 4096), (1024, 16384)), make=make,
                     bytes=lambda size, dtype: 3 * size[0] * size[1] * dtype.itemsize,
                     flops=lambda size: 12 * size[0] * size[1], dtypes=(_dt.float32, _dt.float16, _dt.bfloat16))


def _torch_layer_norm(torch, x, normalized_shape, weight=None, bias=None, eps=1e-5):
    return torch.nn.functional.layer_norm(x, _normalized_shape(normalized_shape), weight, bias, eps)


def _torch_rms_norm(torch, x, normalized_shape, weight=None, bias=None, eps=None):
    return torch.nn.functional.rms_norm(x, _normalized_shape(normalized_shape), weight, eps)


def _torch_norm_backward(center):
    def fn(torch, grad, x, weight, normalized_shape, eps, stats=None):
        ns = _normalized_shape(normalized_shape)
        xx = x if x.requires_grad else x.detach().requires_grad_(True)
        ww = None if weight is None else (weight if weight.requires_grad else weight.detach().requires_grad_(True))
        if center:
            y = torch.nn.functional.layer_norm(xx, ns, ww, None if ww is None else torch.zeros_like(ww), eps)
        else:
            y = torch.nn.functional.rms_norm(xx, ns, ww, eps)
        leaves = [xx] + ([ww] if ww is not None else [])
        outs = list(torch.autograd.grad(y, leaves, grad, create_graph=True))
        if ww is not None and center:
            outs.append(grad.sum(dim=tuple(range(x.dim() - len(ns)))))
        return tuple(outs)
    return fn


layer_norm_backward_op = register(OpDef(
    name="layer_norm_backward", family=FAMILY, infer=_rownorm_bwd_infer("layer_norm_backward", True),
    impl={"cpu": _rownorm_bwd_cpu(True), "cuda": _rownorm_bwd_cuda(True)}, ref=_rownorm_bwd_ref(True),
    samples=_rownorm_bwd_samples(True), bench=_rownorm_bwd_bench(True), dtypes=FLOATS, n_outputs=3,
    extra={"torch": _torch_norm_backward(True)},
    vjp=_rownorm_bwd_vjp(lambda: layer_norm_backward_op, True)))

rms_norm_backward_op = register(OpDef(
    name="rms_norm_backward", family=FAMILY, infer=_rownorm_bwd_infer("rms_norm_backward", False),
    impl={"cpu": _rownorm_bwd_cpu(False), "cuda": _rownorm_bwd_cuda(False)}, ref=_rownorm_bwd_ref(False),
    samples=_rownorm_bwd_samples(False), bench=_rownorm_bwd_bench(False), dtypes=FLOATS, n_outputs=2,
    extra={"torch": _torch_norm_backward(False)},
    vjp=_rownorm_bwd_vjp(lambda: rms_norm_backward_op, False)))

layer_norm_op = register(OpDef(
    name="layer_norm", family=FAMILY, infer=_rownorm_infer("layer_norm", True),
    impl={"cpu": _rownorm_cpu(True), "cuda": _rownorm_cuda(True)}, ref=_rownorm_ref(True),
    samples=_rownorm_samples(True, True), bench=_rownorm_bench(True), dtypes=FLOATS,
    extra={"torch": _torch_layer_norm}, vjp=_rownorm_vjp(layer_norm_backward_op, True), fast=_rownorm_fast(True)))


def _rms_infer():
    base = _rownorm_infer("rms_norm", False)

    def infer(input, normalized_shape, weight=None, eps=None):
        return base(input, normalized_shape, weight, None, eps)
    return infer


def _rms_impl(impl):
    def run(meta, input, normalized_shape, weight=None, eps=None):
        return impl(meta, input, normalized_shape, weight, None, eps)
    return run


def _rms_ref(x, normalized_shape, weight=None, eps=None):
    if eps is None:
        eps = float(np.finfo(np.asarray(x).dtype if np.asarray(x).dtype.kind == "f" else np.float64).eps)
    return _rownorm_ref(False)(x, normalized_shape, weight, None, eps)


def _rms_samples():
    base = _rownorm_samples(False, False)

    def samples(device, dtype):
        for s in base(device, dtype):
            yield Sample(s.args[:3] + s.args[4:], s.kwargs, s.name, s.reduction_size)
        yield Sample((make_tensor((2, 6), dtype, device), (6,)), name="default-eps", reduction_size=6)
    return samples


def _rms_bench():
    spec = _rownorm_bench(False)
    make = spec.make

    def make2(size, device, dtype):
        args, kw = make(size, device, dtype)
        return args[:3] + args[4:], kw

    spec.make = make2
    return spec


rms_norm_op = register(OpDef(
    name="rms_norm", family=FAMILY, infer=_rms_infer(),
    impl={"cpu": _rms_impl(_rownorm_cpu(False)), "cuda": _rms_impl(_rownorm_cuda(False))}, ref=_rms_ref,
    samples=_rms_samples(), bench=_rms_bench(), dtypes=FLOATS,
    extra={"torch": lambda torch, x, ns, weight=None, eps=None: torch.nn.functional.rms_norm(
        x, _normalized_shape(ns), weight, eps)}, vjp=None, fast=_rownorm_fast(False)))


def _rms_norm_vjp(ctx, grad):
    # rms_norm's positional args are (input, normalized_shape, weight, eps): weight sits in slot 2 as for
    # layer_norm, and there is no bias.
    inputs = ctx.inputs
    x, ns = inputs[0], _normalized_shape(inputs[1])
    w = inputs[2] if len(inputs) > 2 and isinstance(inputs[2], Tensor) else None
    outs = rms_norm_backward_op(grad, x, w if w is not None else ctx.kwargs.get("weight"), ns,
                                ctx.meta.aux["eps"], stats=_stats_tensors(ctx.meta, x.device))
    grads = {0: outs[0]}
    if w is not None:
        grads[2] = outs[1]
    return _positional_grads(inputs, grads)


rms_norm_op.vjp = _rms_norm_vjp


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):
    """torch.nn.functional.layer_norm: normalise over the trailing `normalized_shape` dims (biased variance),
    then scale by `weight` and shift by `bias`."""
    return layer_norm_op(input, normalized_shape, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """torch.nn.functional.rms_norm: input / sqrt(mean(input^2) + eps) over the trailing dims, times `weight`.
    eps=None uses the machine epsilon of the input's dtype (torch.finfo(input.dtype).eps)."""
    return rms_norm_op(input, normalized_shape, weight, eps)


# ========================================================================================== group_norm

def _group_norm_infer(input, num_groups, weight=None, bias=None, eps=1e-05):
    _check_float("group_norm", input)
    shape = tuple(input._data.shape)
    if len(shape) < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {len(shape)}")
    n, c = shape[0], shape[1]
    if not isinstance(num_groups, int) or num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {_shape_list(shape)} and num_groups={num_groups}")
    for what, p in (("weight", weight), ("bias", bias)):
        if p is not None and (p.dim() != 1 or p.numel() != c):
            raise RuntimeError(f"Expected {what} to be a vector of size equal to the number of channels in input, "
                               f"but got {what} of shape {_shape_list(p._data.shape)} and input of shape "
                               f"{_shape_list(shape)}")
        if p is not None and p.dtype is not input.dtype:
            raise RuntimeError(f"expected scalar type {_type_name(input.dtype)} but found {_type_name(p.dtype)}")
    spatial = math.prod(shape[2:])
    return Meta(shape, input.dtype, device_of(input, weight, bias),
                {"rows": n * num_groups, "cols": (c // num_groups) * spatial, "spatial": spatial,
                 "group_channels": c // num_groups, "eps": float(eps), "acc": _acc_dtype(input.dtype),
                 "stats": None})


def _np_group_forward(x3: np.ndarray, w, b, groups: int, eps: float):
    """(y, mean, rstd) of group_norm for an (N, C, S) array, y in the compute dtype. Blocks of whole samples (in
    cache, on the thread pool for big inputs) make five passes: row sum, centre, variance, then the normalisation
    and the weight folded into one per-(sample, channel) scale (rstd * weight), and the bias."""
    n, c, s = x3.shape
    k = (c // groups) * s   # elements of one (sample, group) row
    dt = _np_compute(x3[:0]).dtype
    y = np.empty((n, c, s), dt)
    mean = np.empty((n, groups), dt)
    rstd = np.empty((n, groups), dt)
    w2 = None if w is None else w.reshape(groups, c // groups)
    b2 = None if b is None else b.reshape(c, 1)
    eps_t = dt.type(eps)

    def block(r):
        nb = r.stop - r.start
        xg = x3[r].astype(dt, copy=False).reshape(nb, groups, k)
        yb = y[r]
        yg = yb.reshape(nb, groups, k)
        mb = np.matmul(xg, ones_k)   # row sums as BLAS products (one OpenBLAS thread), as in layer_norm
        mb /= k
        mean[r] = mb
        np.subtract(xg, mb[:, :, None], out=yg)
        rb = _rstd_of(row_dot(yg, yg), k, eps_t)   # two-pass (centred) variance
        rstd[r] = rb
        if w2 is None:
            yg *= rb[:, :, None]
        else:
            yb *= (rb[:, :, None] * w2).reshape(nb, c, 1)
        if b2 is not None:
            yb += b2

    if y.size:
        ones_k = np.ones(k, dt)
        with one_blas_thread():
            run_row_blocks(block, n, c * s, _NP_NORM_FWD_BLOCK, _NP_NORM_SPLIT_MIN)
    elif k == 0:
        mean.fill(np.nan)   # (rows of no element: nan statistics, as _np_stats gives)
        rstd.fill(np.nan)
    return y, mean.reshape(-1), rstd.reshape(-1)


def _group_norm_cpu(meta, input, num_groups, weight=None, bias=None, eps=1e-05):
    aux = meta.aux
    shape = meta.shape
    w = None if weight is None else _np_compute(weight._data)
    b = None if bias is None else _np_compute(bias._data)
    y, mean, rstd = _np_group_forward(input._data.reshape(shape[0], shape[1], aux["spatial"]), w, b, num_groups,
                                      eps)
    aux["stats"] = (mean, rstd)
    return y.reshape(shape).astype(meta.dtype.np, copy=False)


def _group_norm_cuda(meta, input, num_groups, weight=None, bias=None, eps=1e-05):
    aux = meta.aux
    y, mean, rstd = _launch_fwd(_contiguous(input), _Layout.rows(aux["rows"], aux["cols"]), meta.dtype,
                                center=True, weight=None if weight is None else _contiguous(weight),
                                bias=None if bias is None else _contiguous(bias), w_mode=W_PER_GROUP_CHANNEL,
                                groups=num_groups, group_channels=aux["group_channels"],
                                spatial=max(aux["spatial"], 1), eps=eps)
    aux["stats"] = (mean, rstd)
    return y


def _group_norm_ref(x, num_groups, weight=None, bias=None, eps=1e-05):
    x = np.asarray(x, np.float64)
    n, c = x.shape[:2]
    xg = x.reshape(n, num_groups, (c // num_groups) * math.prod(x.shape[2:]))
    mu = xg.mean(axis=2, keepdims=True)
    var = ((xg - mu) ** 2).mean(axis=2, keepdims=True)
    y = ((xg - mu) / np.sqrt(var + eps)).reshape(x.shape)
    extra = (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * np.asarray(weight).reshape((c,) + extra)
    if bias is not None:
        y = y + np.asarray(bias).reshape((c,) + extra)
    return y


def _group_norm_vjp(ctx, grad):
    # One fused op: dx, and the weight/bias gradients (sums over (N, spatial) of grad * xhat and grad).
    from .reduce import sum as _sum
    inputs = ctx.inputs
    x, groups = inputs[0], inputs[1]
    w = inputs[2] if len(inputs) > 2 else ctx.kwargs.get("weight")
    w = w if isinstance(w, Tensor) else None
    outs = group_norm_backward_op(grad, x, w, groups, ctx.meta.aux["eps"], stats=_stats_tensors(ctx.meta, x.device))
    grads = {0: outs[0]}
    if len(inputs) > 2 and isinstance(inputs[2], Tensor):
        grads[2] = outs[1]
    if len(inputs) > 3 and isinstance(inputs[3], Tensor):
        grads[3] = outs[2] if w is not None else _sum(grad, [0] + list(range(2, x.dim())))
    return _positional_grads(inputs, grads)


def _group_norm_makers(name, device, dtype):
    """(t, p) sample makers: t(shape) a random input, p(c) a per-channel parameter in [0.5, 1.5)."""
    rng = rng_for(name, dtype.name)

    def t(shape, **kw):
        return make_tensor(shape, dtype, device, rng=rng, **kw)

    def p(c):
        return make_tensor((c,), dtype, device, low=0.5, high=1.5, rng=rng)

    return t, p


def _group_norm_samples(device, dtype):
    t, p = _group_norm_makers("group_norm", device, dtype)

    yield Sample((t((2, 4, 3)), 2, p(4), t((4,)), 1e-5), name="affine", reduction_size=6)
    yield Sample((t((3, 4)), 2, None, None, 1e-5), name="2d-plain", reduction_size=2)
    if dtype is _dt.float64:
        yield Sample((t((1, 6, 2, 2)), 3, p(6), None, 1e-3), name="4d-weight-only", reduction_size=8)
        return
    yield Sample((t((2, 6, 3, 5)), 3, p(6), t((6,)), 1e-5), name="4d", reduction_size=30)
    yield Sample((t((2, 6, 7), noncontiguous=True), 6, p(6), t((6,)), 1e-5), name="noncontig-instance",
                 reduction_size=7)
    yield Sample((t((0, 4, 3)), 1, None, None, 1e-5), name="empty-batch")


def _group_norm_bench_make(size, device, dtype):
    n, c, hw = size
    return (make_tensor((n, c, hw, hw), dtype, device), 32, make_tensor((c,), dtype, device),
            make_tensor((c,), dtype, device), 1e-5), {}


group_norm_op = register(OpDef(
    name="group_norm", family=FAMILY, infer=_group_norm_infer,
    impl={"cpu": _group_norm_cpu, "cuda": _group_norm_cuda}, ref=_group_norm_ref, samples=_group_norm_samples,
    bench=BenchSpec(sizes=((32, 64, 32), (32, 256, 16), (8, 512, 64)), make=_group_norm_bench_make,
                    bytes=lambda s, d: 2 * s[0] * s[1] * s[2] * s[2] * d.itemsize,
                    flops=lambda s: 8 * s[0] * s[1] * s[2] * s[2], dtypes=(_dt.float32, _dt.float16)),
    dtypes=FLOATS, vjp=_group_norm_vjp,
    extra={"torch": lambda torch, x, g, weight=None, bias=None, eps=1e-5: torch.nn.functional.group_norm(
        x, g, weight, bias, eps)}))


# group_norm_backward: dx, dweight, dbias of group_norm from the saved (mean, rstd) of the (sample, group) rows.

def _gn_bwd_infer(grad, input, weight, num_groups, eps, stats=None):
    _check_float("group_norm_backward", input)
    shape = tuple(input._data.shape)
    if len(shape) < 2 or not isinstance(grad, Tensor) or tuple(grad._data.shape) != shape:
        raise RuntimeError("group_norm_backward: grad must have the input's shape (N, C, ...)")
    n, c = shape[0], shape[1]
    if not isinstance(num_groups, int) or num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {_shape_list(shape)} and num_groups={num_groups}")
    if weight is not None and (weight.dim() != 1 or weight.numel() != c):
        raise RuntimeError(f"Expected weight to be a vector of size equal to the number of channels in input, but "
                           f"got weight of shape {_shape_list(weight._data.shape)} and input of shape "
                           f"{_shape_list(shape)}")
    n_out = 1 if weight is None else 3
    dt = input.dtype
    spatial = math.prod(shape[2:])
    return Meta((shape,) + ((c,),) * (n_out - 1), (dt,) + (dt,) * (n_out - 1), device_of(grad, input, weight),
                {"rows": n * num_groups, "cols": (c // num_groups) * spatial, "spatial": spatial,
                 "acc": _acc_dtype(dt), "n_out": n_out})


def _np_group_backward(g3, x3, w, mean, rstd, groups, param_grads):
    """dx of group_norm for (N, C, S) grad and input (compute dtype) given the (N*G,) row statistics and, when
    `param_grads`, the per-channel sums of g * xhat and g.

    As in PyTorch's CPU kernel, everything per row reduces to per-(sample, channel) sums Sg = sum_s g and
    Sgx = sum_s g * (x - mean) (centred: no cancellation): with k elements per row,
        c1 = rstd * sum_c w Sgx / k,  c2 = sum_c w Sg / k        (per (sample, group))
        dx = g * (rstd w) - (x - mean) * (rstd^3 c1) - rstd c2,  dw = sum_n rstd Sgx,  db = sum_n Sg
    so dx takes five passes over the data instead of a dozen. Samples are split in cache-sized blocks run on
    the thread pool; each returns its partial channel sums, added in block order (deterministic)."""
    n, c, s = x3.shape
    cg = c // groups
    k = cg * s   # elements of one (sample, group) row
    dt = x3.dtype
    dx = np.empty((n, c, s), dt)
    mean2, rstd2 = mean.reshape(n, groups, 1), rstd.reshape(n, groups, 1)
    w2 = None if w is None else w.reshape(groups, cg)

    def block(r):
        nb = r.stop - r.start
        gb = g3[r]
        xc = np.subtract(x3[r].reshape(nb, groups, k), mean2[r])   # (nb, G, k)
        rs = rstd2[r]                                                # (nb, G, 1)
        sgx = row_dot(gb, xc.reshape(nb, c, s)).reshape(nb, groups, cg)   # (BLAS dot products)
        sg = np.matmul(gb, ones_s).reshape(nb, groups, cg)
        wsgx, wsg = (sgx, sg) if w2 is None else (sgx * w2, sg * w2)
        c1 = np.add.reduce(wsgx, axis=2, keepdims=True)
        c1 *= rs * (rs * rs) / k                               # rstd^3 c1, (nb, G, 1)
        c2 = np.add.reduce(wsg, axis=2, keepdims=True)
        c2 *= rs / k                                           # rstd c2
        coef = np.broadcast_to(rs, (nb, groups, cg)) if w2 is None else rs * w2
        dxb = dx[r]
        np.multiply(gb, coef.reshape(nb, c, 1), out=dxb)
        xc *= c1          # the per-row terms on the (sample, group) rows: long inner loops
        xc += c2
        dxb -= xc.reshape(nb, c, s)
        if not param_grads:
            return None, None
        return np.add.reduce((sgx * rs).reshape(nb, c), axis=0), np.add.reduce(sg.reshape(nb, c), axis=0)

    # (blocks of whole samples: the per-block cost of the small (sample, channel) arrays favours big blocks)
    ones_s = np.ones(s, dt)
    with one_blas_thread():
        parts = run_row_blocks(block, n, c * s, _NP_NORM_FWD_BLOCK, _NP_NORM_SPLIT_MIN)
    return (dx,) + _summed_param_grads(parts, c, dt, param_grads)


def _gn_bwd_cpu(meta, grad, input, weight, num_groups, eps, stats=None):
    aux = meta.aux
    shape = meta.shape[0]
    n, c, s = shape[0], shape[1], aux["spatial"]
    x3 = _np_compute(input._data.reshape(n, c, s))
    g3 = _np_compute(grad._data.reshape(n, c, s))
    if stats is not None:
        mean, rstd = (st._data.astype(x3.dtype, copy=False) for st in stats)
    else:
        mean, rstd, _ = _np_stats(x3.reshape(aux["rows"], aux["cols"]), eps, True)
    w = None if weight is None else _np_compute(weight._data)
    if x3.size == 0:
        dx, dw, db = np.zeros((n, c, s), x3.dtype), np.zeros(c, x3.dtype), np.zeros(c, x3.dtype)
    else:
        dx, dw, db = _np_group_backward(g3, x3, w, mean, rstd, num_groups, weight is not None)
    dt = meta.dtype[0].np
    outs = [dx.reshape(shape).astype(dt, copy=False)]
    if weight is not None:
        outs += [dw.astype(dt, copy=False), db.astype(dt, copy=False)]
    return tuple(outs)


def _gn_bwd_cuda(meta, grad, input, weight, num_groups, eps, stats=None):
    # dx: the row backward kernel over the (sample, group) rows of grad * weight; the weight/bias gradients are
    # channel sums of grad * xhat and grad (registered cuda ops, run without recording).
    from ..autograd.grad_mode import no_grad
    from .reduce import sum as _sum
    aux = meta.aux
    shape = meta.shape[0]
    dtype = meta.dtype[0]
    layout = _Layout.rows(aux["rows"], aux["cols"])
    x = _contiguous(input)
    raw = _raw_stats(stats, meta.device, aux["rows"], aux["acc"])
    if raw is None:
        _, mean, rstd = _launch_fwd(x, layout, dtype, center=True, eps=eps, write_y=False)
    else:
        mean, rstd = raw
    bshape = (shape[1],) + (1,) * (len(shape) - 2)
    with no_grad():
        gy = grad * weight.reshape(bshape) if weight is not None else grad
    dx, _, _ = _launch_bwd(_contiguous(gy), x, layout, dtype, mean, rstd, center=True)
    if weight is None:
        return (dx,)
    xhat, _, _ = _launch_fwd(x, layout, dtype, center=True, eps=eps)
    red = [0] + list(range(2, len(shape)))
    with no_grad():
        dw = _sum(grad * _make(xhat, dtype, meta.device), red)
        db = _sum(grad, red)
    return dx, dw._data, db._data


def _gn_bwd_ref(grad, x, weight, num_groups, eps, stats=None):
    g = np.asarray(grad, np.float64)
    x = np.asarray(x, np.float64)
    n, c = x.shape[:2]
    rows = (n, num_groups, -1)
    xg = x.reshape(rows)
    mu = xg.mean(axis=2, keepdims=True)
    r = 1.0 / np.sqrt(((xg - mu) ** 2).mean(axis=2, keepdims=True) + eps)
    xhat = ((xg - mu) * r).reshape(x.shape)
    wb = np.asarray(weight, np.float64).reshape((c,) + (1,) * (x.ndim - 2)) if weight is not None else 1.0
    gy = (g * wb).reshape(rows)
    xh = xhat.reshape(rows)
    dx = r * (gy - gy.mean(axis=2, keepdims=True) - xh * (gy * xh).mean(axis=2, keepdims=True))
    if weight is None:
        return (dx.reshape(x.shape),)
    axes = (0,) + tuple(range(2, x.ndim))
    return dx.reshape(x.shape), (g * xhat).sum(axis=axes), g.sum(axis=axes)


def _gn_bwd_vjp(ctx, *cots):
    # group_norm_backward is a row normalisation's backward over the (sample, group) rows: seen as
    # (N, G, C/G, S), its rows run over dims (2, 3) and the weight broadcasts as (1, G, C/G, 1).
    from .reduce import sum as _sum
    inputs = ctx.inputs
    g, x, w, groups, eps = inputs[:5]
    stats = ctx.kwargs.get("stats")
    shape = tuple(x.shape)
    c = shape[1]
    v4 = (shape[0], groups, c // groups, math.prod(shape[2:]))
    p4 = (1, groups, c // groups, 1)

    def J(u):
        return group_norm_backward_op(u.reshape(shape), x, None, groups, eps, stats=stats)[0].reshape(v4)

    def as4(t, s4):
        return t.reshape(s4) if t is not None else None

    w_b = w.reshape(p4) if isinstance(w, Tensor) else None
    g_cot, x_cot, w_cot = _norm_double_vjp(g.reshape(v4), x.reshape(v4), w_b, as4(cots[0], v4),
                                           as4(cots[1] if len(cots) > 1 else None, p4),
                                           as4(cots[2] if len(cots) > 2 else None, p4), [2, 3], J, eps, True)
    grads = {0: as4(g_cot, shape), 1: as4(x_cot, shape)}
    if isinstance(w, Tensor) and w_cot is not None:
        grads[2] = _sum(w_cot, [0, 3]).reshape(c)
    return _positional_grads(inputs, grads)


def _gn_bwd_samples(device, dtype):
    t, p = _group_norm_makers("group_norm_backward", device, dtype)

    # (within gradcheck's 40 elements)
    yield Sample((t((2, 4, 2)), t((2, 4, 2)), p(4), 2, 1e-5), name="affine", reduction_size=4)
    yield Sample((t((1, 6, 1, 3)), t((1, 6, 1, 3)), None, 3, 1e-5), name="4d-plain", reduction_size=6)
    if dtype is _dt.float64:
        return
    yield Sample((t((2, 6, 5)), t((2, 6, 5), noncontiguous=True), p(6), 3, 1e-5), name="noncontig",
                 reduction_size=10)


def _torch_gn_backward(torch, grad, x, weight, num_groups, eps, stats=None):
    xx = x if x.requires_grad else x.detach().requires_grad_(True)
    ww = None if weight is None else (weight if weight.requires_grad else weight.detach().requires_grad_(True))
    bb = torch.zeros_like(ww, requires_grad=True) if ww is not None else None
    y = torch.nn.functional.group_norm(xx, num_groups, ww, bb, eps)
    leaves = [xx] + ([ww, bb] if ww is not None else [])
    return tuple(torch.autograd.grad(y, leaves, grad, create_graph=True))


def _gn_bwd_bench_make(s, device, dtype):
    shape = (s[0], s[1], s[2], s[2])
    return (make_tensor(shape, dtype, device), make_tensor(shape, dtype, device), make_tensor((s[1],), dtype, device),
            32, 1e-5), {}


group_norm_backward_op = register(OpDef(
    name="group_norm_backward", family=FAMILY, infer=_gn_bwd_infer, impl={"cpu": _gn_bwd_cpu, "cuda": _gn_bwd_cuda},
    ref=_gn_bwd_ref, samples=_gn_bwd_samples, dtypes=FLOATS, n_outputs=3, vjp=_gn_bwd_vjp,
    extra={"torch": _torch_gn_backward},
    bench=BenchSpec(sizes=((16, 64, 16), (32, 128, 8)), make=_gn_bwd_bench_make,
                    bytes=lambda s, d: 3 * s[0] * s[1] * s[2] * s[2] * d.itemsize,
                    flops=lambda s: 12 * s[0] * s[1] * s[2] * s[2], dtypes=(_dt.float32,)),
    doc="group_norm_backward(grad, input, weight, num_groups, eps, stats=None): dx, dweight, dbias of group_norm"))


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05):
    """torch.nn.functional.group_norm: normalise each sample's channels in `num_groups` groups (over the group's
    channels and all spatial positions), then a per-channel affine."""
    return group_norm_op(input, num_groups, weight, bias, eps)


# ========================================================================================== batch_norm

def _bn_infer(input, weight=None, bias=None, *, running_mean=None, running_var=None, training=False,
              momentum=0.1, eps=1e-05):
    _check_float("batch_norm", input)
    shape = tuple(input._data.shape)
    if len(shape) < 2:
        raise ValueError(f"expected 2D or higher input (got {len(shape)}D input)")
    c = shape[1]
    for what, p in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if p is not None and p.numel() != c:
            raise RuntimeError(f"{what} should contain {c} elements not {p.numel()}")
        if p is not None and p.dtype not in FLOATS:
            raise RuntimeError(f"expected a floating {what}, got {_type_name(p.dtype)}")
    if training:
        per_channel = math.prod(shape) // max(c, 1)
        if per_channel == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"torch.Size({list(shape)})")
    elif running_mean is None or running_var is None:
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    if momentum is None or not isinstance(momentum, (int, float)):
        raise TypeError("batch_norm: momentum must be a float (momentum=None, the cumulative average, is computed "
                        "by the caller: pass 1 / num_batches_tracked)")
    dev = device_of(input, weight, bias, running_mean, running_var)
    return Meta(shape, input.dtype, dev, {"eps": float(eps), "acc": _acc_dtype(input.dtype), "stats": None})


def _bn_layout(shape):
    n, c = shape[0], shape[1]
    s = math.prod(shape[2:])
    return n, c, s


def _bn_cpu(meta, input, weight=None, bias=None, *, running_mean=None, running_var=None, training=False,
            momentum=0.1, eps=1e-05):
    n, c, s = _bn_layout(meta.shape)
    x = _np_compute(input._data.reshape(n, c, s))
    acc = x.dtype
    if training:
        cnt = n * s
        mean = np.einsum("ncs->c", x) / cnt if cnt else np.full(c, np.nan, acc)
        xc = x - mean[None, :, None]
        var = np.einsum("ncs,ncs->c", xc, xc) / cnt if cnt else np.full(c, np.nan, acc)
        rstd = (1.0 / np.sqrt(var + acc.type(eps))).astype(acc, copy=False)
        mean = mean.astype(acc, copy=False)
        m = momentum
        if running_mean is not None:
            rm = running_mean._data
            rm[...] = ((1 - m) * rm.astype(acc) + m * mean).astype(rm.dtype)
            running_mean._version[0] += 1
        if running_var is not None:
            rv = running_var._data
            unbiased = var * (cnt / (cnt - 1)) if cnt > 1 else var
            rv[...] = ((1 - m) * rv.astype(acc) + m * unbiased).astype(rv.dtype)
            running_var._version[0] += 1
        meta.aux["stats"] = (mean, rstd)
    else:
        mean = running_mean._data.astype(acc, copy=False)
        with np.errstate(invalid="ignore", divide="ignore"):   # a negative or zero variance: NaN / inf, no warning
            rstd = (1.0 / np.sqrt(running_var._data.astype(acc) + acc.type(eps))).astype(acc, copy=False)
        xc = x - mean[None, :, None]
    scale = rstd if weight is None else rstd * _np_compute(weight._data).astype(acc, copy=False)
    y = np.multiply(xc, scale[None, :, None], out=xc)
    if bias is not None:
        y += _np_compute(bias._data).astype(acc, copy=False)[None, :, None]
    return y.reshape(meta.shape).astype(meta.dtype.np, copy=False)


def _bn_cuda(meta, input, weight=None, bias=None, *, running_mean=None, running_var=None, training=False,
             momentum=0.1, eps=1e-05):
    x = _contiguous(input)
    layout = _Layout.channels(meta.shape)
    w = None if weight is None else _contiguous(weight)
    b = None if bias is None else _contiguous(bias)
    if training:
        running = None
        if running_mean is not None and running_var is not None:
            running = (running_mean._data, running_var._data)
        elif running_mean is not None or running_var is not None:
            raise RuntimeError("batch_norm: running_mean and running_var must both be given or both be None")
        y, mean, rstd = _launch_fwd(x, layout, meta.dtype, center=True, weight=w, bias=b, w_mode=W_PER_ROW,
                                    eps=eps, running=running, momentum=momentum)
        if running is not None:
            running_mean._version[0] += 1
            running_var._version[0] += 1
        meta.aux["stats"] = (mean, rstd)
        return y
    y, _, _ = _launch_fwd(x, layout, meta.dtype, center=True, weight=w, bias=b, w_mode=W_PER_ROW, eps=eps,
                          stats_given=(running_mean._data, running_var._data))
    return y


def _bn_ref(x, weight=None, bias=None, *, running_mean=None, running_var=None, training=False, momentum=0.1,
            eps=1e-05):
    x = np.asarray(x, np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training:
        mu = x.mean(axis=axes, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    else:
        mu = np.asarray(running_mean, np.float64).reshape(bshape)
        var = np.asarray(running_var, np.float64).reshape(bshape)
    y = (x - mu) / np.sqrt(var + eps)
    if weight is not None:
        y = y * np.asarray(weight).reshape(bshape)
    if bias is not None:
        y = y + np.asarray(bias).reshape(bshape)
    return y


def _bn_vjp(ctx, grad):
    from .reduce import sum as _sum
    from .unary import rsqrt
    inputs = ctx.inputs
    x = inputs[0]
    w = inputs[1] if len(inputs) > 1 and isinstance(inputs[1], Tensor) else None
    kw = ctx.kwargs
    eps = ctx.meta.aux["eps"]
    shape = tuple(x.shape)
    bshape = (1, shape[1]) + (1,) * (len(shape) - 2)
    red = [0] + list(range(2, len(shape)))
    grads = {}
    if kw.get("training", False):
        stats = _stats_tensors(ctx.meta, x.device)
        outs = batch_norm_backward_op(grad, x, w, eps, stats=stats)
        grads[0] = outs[0]
        if w is not None:
            grads[1] = outs[1]
            grads[2] = outs[2]
        elif len(inputs) > 2 and isinstance(inputs[2], Tensor):
            grads[2] = _sum(grad, red)
    else:
        # eval: an affine map per channel with the running statistics (constants)
        rm, rv = kw["running_mean"].detach(), kw["running_var"].detach()
        r = rsqrt(rv.reshape(bshape) + eps)
        scale = r * w.reshape(bshape) if w is not None else r
        grads[0] = grad * scale
        if w is not None:
            grads[1] = _sum(grad * ((x - rm.reshape(bshape)) * r), red)
        if len(inputs) > 2 and isinstance(inputs[2], Tensor):
            grads[2] = _sum(grad, red)
    return _positional_grads(inputs, grads)


def _bn_samples(device, dtype):
    rng = rng_for("batch_norm", dtype.name)

    def t(shape, **kw):
        return make_tensor(shape, dtype, device, rng=rng, **kw)

    def p(c, low=0.5, high=1.5):
        return make_tensor((c,), dtype, device, low=low, high=high, rng=rng)

    yield Sample((t((4, 3)), p(3), t((3,))), {"running_mean": t((3,)), "running_var": p(3), "training": True},
                 name="train-2d", reduction_size=4)
    yield Sample((t((2, 3, 4)), None, None), {"training": True, "momentum": 0.2}, name="train-plain-no-running",
                 reduction_size=8)
    yield Sample((t((3, 2, 5)), p(2), t((2,))), {"running_mean": t((2,)), "running_var": p(2), "training": False},
                 name="eval", reduction_size=1)
    if dtype is _dt.float64:
        return
    yield Sample((t((3, 5, 4, 3)), p(5), t((5,))), {"running_mean": t((5,)), "running_var": p(5), "training": True,
                                                    "eps": 1e-3}, name="train-4d", reduction_size=36)
    yield Sample((t((4, 3, 6), noncontiguous=True), p(3), None),
                 {"running_mean": t((3,)), "running_var": p(3), "training": True}, name="train-noncontig",
                 reduction_size=24)


def _bn_bench_make(size, device, dtype):
    n, c, hw = size
    return (make_tensor((n, c, hw, hw), dtype, device), make_tensor((c,), dtype, device),
            make_tensor((c,), dtype, device)), {"running_mean": make_tensor((c,), _dt.float32, device),
                                                "running_var": make_tensor((c,), _dt.float32, device, low=0.5,
                                                                           high=1.5), "training": True}


def _torch_bn(torch, x, weight=None, bias=None, running_mean=None, running_var=None, training=False, momentum=0.1,
              eps=1e-5):
    return torch.nn.functional.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)


batch_norm_op = register(OpDef(
    name="batch_norm", family=FAMILY, infer=_bn_infer, impl={"cpu": _bn_cpu, "cuda": _bn_cuda}, ref=_bn_ref,
    samples=_bn_samples, dtypes=FLOATS, vjp=_bn_vjp, extra={"torch": _torch_bn},
    bench=BenchSpec(sizes=((32, 64, 32), (32, 256, 16), (8, 512, 64)), make=_bn_bench_make,
                    bytes=lambda s, d: 2 * s[0] * s[1] * s[2] * s[2] * d.itemsize,
                    flops=lambda s: 8 * s[0] * s[1] * s[2] * s[2], dtypes=(_dt.float32, _dt.float16))))


# batch_norm_backward: training-mode dx, dweight, dbias from the saved batch statistics.

def _bn_bwd_infer(grad, input, weight, eps, stats=None):
    _check_float("batch_norm_backward", input)
    shape = tuple(input._data.shape)
    if len(shape) < 2 or not isinstance(grad, Tensor) or tuple(grad._data.shape) != shape:
        raise RuntimeError("batch_norm_backward: grad must have the input's shape (N, C, ...)")
    c = shape[1]
    if weight is not None and weight.numel() != c:
        raise RuntimeError(f"weight should contain {c} elements not {weight.numel()}")
    n_out = 1 if weight is None else 3
    dt = input.dtype
    shapes = (shape,) + ((c,),) * (n_out - 1)
    dtypes = (dt,) + ((weight.dtype,) * (n_out - 1) if weight is not None else ())
    return Meta(shapes, dtypes, device_of(grad, input, weight), {"acc": _acc_dtype(dt), "n_out": n_out})


def _bn_bwd_cpu(meta, grad, input, weight, eps, stats=None):
    n, c, s = _bn_layout(meta.shape[0])
    x = _np_compute(input._data.reshape(n, c, s))
    g = _np_compute(grad._data.reshape(n, c, s))
    acc = x.dtype
    cnt = n * s
    if stats is not None:
        mean, rstd = (st._data.astype(acc, copy=False) for st in stats)
    else:
        mean = np.einsum("ncs->c", x) / cnt
        var = np.einsum("ncs,ncs->c", x - mean[None, :, None], x - mean[None, :, None]) / cnt
        rstd = (1.0 / np.sqrt(var + eps)).astype(acc, copy=False)
    xhat = (x - mean[None, :, None]) * rstd[None, :, None]
    w = _np_compute(weight._data).astype(acc, copy=False) if weight is not None else None
    sum_g = np.einsum("ncs->c", g)
    sum_gx = np.einsum("ncs,ncs->c", g, xhat)
    scale = rstd if w is None else rstd * w
    dx = g - (sum_g / cnt)[None, :, None] - xhat * (sum_gx / cnt)[None, :, None]
    dx *= scale[None, :, None]
    outs = [dx.reshape(meta.shape[0]).astype(meta.dtype[0].np, copy=False)]
    if weight is not None:
        outs.append(sum_gx.astype(meta.dtype[1].np))
        outs.append(sum_g.astype(meta.dtype[2].np))
    return tuple(outs)


def _bn_bwd_cuda(meta, grad, input, weight, eps, stats=None):
    shape = meta.shape[0]
    layout = _Layout.channels(shape)
    x = _contiguous(input)
    dtype = meta.dtype[0]
    raw = _raw_stats(stats, meta.device, shape[1], meta.aux["acc"])
    if raw is None:
        _, mean, rstd = _launch_fwd(x, layout, dtype, center=True, eps=eps, w_mode=W_PER_ROW, write_y=False)
    else:
        mean, rstd = raw
    params = PARAMS_NONE if weight is None else PARAMS_PER_ROW
    dx, dw, db = _launch_bwd(_contiguous(grad), x, layout, dtype, mean, rstd, center=True,
                             weight=None if weight is None else _contiguous(weight), w_mode=W_PER_ROW, params=params)
    if weight is None:
        return (dx,)
    from .copy import _identity
    wt = meta.dtype[1]
    cast = (lambda a: a) if wt is meta.aux["acc"] else \
        (lambda a: pw.launch_pointwise(_identity, [_make(a, meta.aux["acc"], meta.device)], a.shape, wt, wt))
    return dx, cast(dw), cast(db)


def _bn_bwd_ref(grad, x, weight, eps, stats=None):
    g = np.asarray(grad, np.float64)
    x = np.asarray(x, np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    mu = x.mean(axis=axes, keepdims=True)
    r = 1.0 / np.sqrt(((x - mu) ** 2).mean(axis=axes, keepdims=True) + eps)
    xhat = (x - mu) * r
    gy = g * (np.asarray(weight, np.float64).reshape(bshape) if weight is not None else 1.0)
    dx = r * (gy - gy.mean(axis=axes, keepdims=True) - xhat * (gy * xhat).mean(axis=axes, keepdims=True))
    if weight is None:
        return (dx,)
    return dx, (g * xhat).sum(axis=axes), g.sum(axis=axes)


def _bn_bwd_vjp(ctx, *cots):
    from .reduce import sum as _sum
    inputs = ctx.inputs
    g, x, w, eps = inputs[:4]
    stats = ctx.kwargs.get("stats")
    shape = tuple(x.shape)
    bshape = (shape[1],) + (1,) * (len(shape) - 2)
    red = [0] + list(range(2, len(shape)))

    def J(u):
        return batch_norm_backward_op(u, x, None, eps, stats=stats)[0]

    v = cots[0]
    ggw = cots[1].reshape(bshape) if len(cots) > 1 and cots[1] is not None else None
    ggb = cots[2].reshape(bshape) if len(cots) > 2 and cots[2] is not None else None
    w_b = w.reshape(bshape) if isinstance(w, Tensor) else None
    g_cot, x_cot, w_cot = _norm_double_vjp(g, x, w_b, v, ggw, ggb, red, J, eps, True)
    grads = {0: g_cot, 1: x_cot}
    if isinstance(w, Tensor) and w_cot is not None:
        grads[2] = _sum(w_cot, red)
    return _positional_grads(inputs, grads)


def _bn_bwd_samples(device, dtype):
    rng = rng_for("batch_norm_backward", dtype.name)

    def t(shape, **kw):
        return make_tensor(shape, dtype, device, rng=rng, **kw)

    yield Sample((t((4, 3)), t((4, 3)), make_tensor((3,), dtype, device, low=0.5, high=1.5, rng=rng), 1e-5),
                 name="affine-2d", reduction_size=4)
    yield Sample((t((2, 2, 3)), t((2, 2, 3)), None, 1e-5), name="plain-3d", reduction_size=6)
    if dtype is _dt.float64:
        return
    yield Sample((t((3, 4, 5)), t((3, 4, 5), noncontiguous=True),
                  make_tensor((4,), dtype, device, low=0.5, high=1.5, rng=rng), 1e-5), name="noncontig",
                 reduction_size=15)


def _torch_bn_backward(torch, grad, x, weight, eps, stats=None):
    xx = x if x.requires_grad else x.detach().requires_grad_(True)
    ww = None if weight is None else (weight if weight.requires_grad else weight.detach().requires_grad_(True))
    bb = torch.zeros_like(ww, requires_grad=True) if ww is not None else None
    y = torch.nn.functional.batch_norm(xx, None, None, ww, bb, True, 0.1, eps)
    leaves = [xx] + ([ww, bb] if ww is not None else [])
    return tuple(torch.autograd.grad(y, leaves, grad, create_graph=True))


batch_norm_backward_op = register(OpDef(
    name="batch_norm_backward", family=FAMILY, infer=_bn_bwd_infer, impl={"cpu": _bn_bwd_cpu, "cuda": _bn_bwd_cuda},
    ref=_bn_bwd_ref, samples=_bn_bwd_samples, dtypes=FLOATS, n_outputs=3, vjp=_bn_bwd_vjp,
    extra={"torch": _torch_bn_backward},
    bench=BenchSpec(sizes=((32, 64, 32), (32, 256, 16)),
                    make=lambda s, dev, dt: ((make_tensor((s[0], s[1], s[2], s[2]), dt, dev),
                                              make_tensor((s[0], s[1], s[2], s[2]), dt, dev),
                                              make_tensor((s[1],), dt, dev), 1e-5), {}),
                    bytes=lambda s, d: 3 * s[0] * s[1] * s[2] * s[2] * d.itemsize,
                    flops=lambda s: 12 * s[0] * s[1] * s[2] * s[2], dtypes=(_dt.float32,))))


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-05):
    """torch.nn.functional.batch_norm over dim 1 (channels). training=True normalises with the batch
    statistics and, in the same launch, updates running_mean/running_var in place (momentum average; the
    running variance is unbiased, as in PyTorch), bumping their version counters; training=False uses the
    running statistics. `momentum` must be a float: PyTorch's momentum=None (cumulative moving average) is
    computed by the caller (nn.BatchNorm passes 1 / num_batches_tracked)."""
    return batch_norm_op(input, weight, bias, running_mean=running_mean, running_var=running_var,
                         training=training, momentum=momentum, eps=eps)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-05):
    """torch.nn.functional.instance_norm: normalise each (sample, channel) plane over its spatial positions, then
    a per-channel affine. With the input's statistics and no running stats it is group_norm with one group per
    channel (one fused op); with running stats to update, batch_norm over (1, N * C, ...) with the stats repeated
    per sample, then their mean over the samples written back (PyTorch's composition); use_input_stats=False
    normalises with the running stats (batch_norm in eval mode)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"instance_norm(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    shape = tuple(input.shape)
    if len(shape) < 2 or math.prod(shape[2:]) <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {list(shape)}")
    if running_mean is None and running_var is None:
        return group_norm(input, shape[1], weight, bias, eps)
    from ..autograd.grad_mode import no_grad
    b, c = shape[:2]
    stats = [None if r is None else r.repeat(b) for r in (running_mean, running_var)]
    affine = [None if p is None else p.repeat(b) for p in (weight, bias)]
    out = batch_norm(input.reshape((1, b * c) + shape[2:]), stats[0], stats[1], affine[0], affine[1], True,
                     momentum, eps)
    with no_grad():
        for running, repeated in zip((running_mean, running_var), stats):
            if running is not None:
                running.copy_(repeated.reshape(b, c).mean(0))
    return out.reshape(shape)
