"""Fused losses (nn kernels family): cross_entropy and nll_loss.

cross_entropy reads the logits once per row (twice when a row is longer than one block: the online max /
sum-of-exp form of nn_softmax) and computes, in the same pass, the row's loss and - when the logits require grad -
the row's gradient, written in the logits' dtype into a buffer the backward then scales in place by the incoming
gradient (per row for reduction='none'). For 'mean' a one-program kernel first sums the total weight from the
targets alone, so the cuda forward writes the gradient already divided by it; for 'mean' and 'sum' the backward
then multiplies by the 0-dim incoming gradient only when that is not 1 (checked on the device: loss.backward()
costs one launch and no pass over the buffer). Passes over (N, C) on cuda: one read of the logits and one write
of the gradient for rows that fit in registers; for longer rows (a vocabulary) a second read of each row (the
online max / sum-of-exp pass gives lse, the second pass writes exp(x - lse) - target terms), which mostly hits L2
with 8K chunks and two programs per SM. That buffer is the only (N, C) array the
op allocates: no log-probabilities are stored and no fp32 copy of the logits is made (16-bit logits are
converted to fp32 in registers).

Class dim: 1 (0 for an unbatched (C,) input). Rows are the (N, d1, ...) positions, addressed as in nn_softmax
(outer = N, inner = d1*d2*...), so (N, C, d1, ...) inputs need no transposed copy.

Per row n (index targets t_n, valid v_n = t_n != ignore_index, smoothing ls, class weights w, lse = logsumexp):
    loss_n = -v_n [(1 - ls) w_{t_n} (x_{n,t_n} - lse) + ls / C * sum_c w_c (x_{n,c} - lse)]
    grad_n,c = v_n [p_c ((1 - ls) w_{t_n} + ls / C * sum(w)) - (1 - ls) w_{t_n} [c = t_n] - ls / C * w_c]
class-probability targets (t' = (1 - ls) t + ls / C, tw = w * t'):
    loss_n = -sum_c tw_c (x_c - lse),   grad_n,c = p_c sum(tw) - tw_c
mean divides by sum_n v_n w_{t_n} (index targets) or by the number of rows (probability targets), as PyTorch.

The backward of the logits uses the saved gradient buffer (once: it is scaled in place); a second backward through
a retained graph, double backward (create_graph=True) and the gradients of the class weights and of probability
targets are computed from log_softmax with differentiable tritorch ops instead.
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
from ..tensor import Tensor, _make, from_array
from . import launch
from . import pointwise as pw
from .launch import f64_bits as _f64_bits
from ..device import CUDA
from ._cpu_parallel import one_blas_thread, ones_vector, run_row_blocks
from .nn_softmax import (_UNSHIFTED_MIN, _row_max, _same, contiguous_copy, log_softmax_op, lse_moderate,
                         moderate_logits, row_blocks, row_layout)
from .registry import BenchSpec, Meta, OpDef, Sample, _type_name, device_of, register
from .samples import make_tensor, rng_for

FAMILY = "nn_loss"

__all__ = ["cross_entropy", "nll_loss"]

_REDUCTIONS = ("none", "mean", "sum")


# ============================================================================================ Triton kernels

@triton.jit
def _row_offsets(rows, inner, s_outer, s_inner):
    return (rows // inner) * s_outer + (rows % inner) * s_inner


@triton.jit
def _prob_weights(t_ptr, w_ptr, t_row, t_sc, c, C, mask, cls_w, smooth_w, HAS_W: tl.constexpr, ACC: tl.constexpr):
    # tw = w_c * ((1 - ls) t_c + ls / C) for a tile of probability targets (0 outside the mask)
    t = tl.load(t_ptr + t_row[:, None] + c[None, :] * t_sc, mask=mask, other=0).to(ACC)
    tw = t * cls_w + smooth_w
    if HAS_W:
        tw = tw * tl.load(w_ptr + c, mask=c < C, other=0).to(ACC)[None, :]
    return tl.where(mask, tw, 0.0)


@triton.jit
def _class_weights(w_ptr, c, C, HAS_W: tl.constexpr, ACC: tl.constexpr):
    # the class weights of columns c (1 without weights; 0 past C)
    if HAS_W:
        w = tl.load(w_ptr + c, mask=c < C, other=0).to(ACC)
    else:
        w = tl.where(c < C, 1.0, 0.0).to(ACC)
    return w


@triton.jit
def _grad_tile(x, c, shift, log_s, coef, tgt, w_t, valid, tw, wc, cls_w, smooth_w, PROB: tl.constexpr):
    # the loss gradient of one tile (see the module docstring)
    p = tl.exp(x - shift[:, None] - log_s[:, None])
    if PROB:
        g = p * coef[:, None] - tw
    else:
        hit = (c[None, :] == tgt[:, None]).to(x.dtype)
        g = p * coef[:, None] - (cls_w * w_t)[:, None] * hit - smooth_w * wc[None, :]
        g = tl.where(valid[:, None], g, 0.0)
    return g


@triton.jit
def _ce_kernel(
    x_ptr,                       # logits (strided), rows x C
    t_ptr,                       # targets: class indices (int64/uint8, one per row) or probabilities (like x)
    w_ptr,                       # class weights (C,), contiguous, or unused
    loss_ptr,                    # REDUCE: per-program partial loss sums (ACC); else per-row losses (row order)
    wv_ptr,                      # REDUCE: per-program partial sums of v_n * w_{t_n}; else unused
    g_ptr,                       # WRITE_GRAD: the gradient, contiguous in x's shape (x's dtype)
    total_w_ptr,                 # SCALE_GRAD: the 0-dim total weight (ACC) the gradient is divided by
    n_rows, C, inner,            # rows; classes; product of the dims after the class dim
    x_so, x_si, x_sc,            # x strides: outer index, inner index, class
    t_so, t_si, t_sc,            # target strides (t_sc only for probabilities)
    ignore_index,                # class index whose rows are ignored
    smoothing_bits,              # label_smoothing as float64 bits
    PROB: tl.constexpr,          # probability targets
    HAS_W: tl.constexpr,         # class weights given
    WRITE_GRAD: tl.constexpr,    # also write the gradient
    REDUCE: tl.constexpr,        # write per-program partial sums instead of per-row losses
    SCALE_GRAD: tl.constexpr,    # divide the gradient by *total_w_ptr (reduction='mean'): no backward pass
    ACC: tl.constexpr,           # fp32 or fp64
    ONE_PASS: tl.constexpr,      # a row fits in BLOCK_L: read once
    BLOCK_R: tl.constexpr, BLOCK_L: tl.constexpr,
):
    # bytes: reads x once (twice for rows longer than a block; probability targets the same), 8 bytes of target
    # per row, writes the gradient once (WRITE_GRAD) and 4-8 bytes per row or program. ~10 flops per element.
    pid = tl.program_id(0)
    rows = pid.to(tl.int64) * BLOCK_R + tl.arange(0, BLOCK_R)
    row_ok = rows < n_rows
    x_row = _row_offsets(rows, inner, x_so, x_si)
    t_row = _row_offsets(rows, inner, t_so, t_si)
    g_row = (rows // inner) * C * inner + rows % inner
    ls = tl.cast(smoothing_bits, tl.int64).to(tl.float64, bitcast=True).to(ACC)
    cls_w = 1.0 - ls
    smooth_w = ls / C
    cols = tl.arange(0, BLOCK_L)
    if PROB:
        valid = row_ok
        tgt = tl.zeros([BLOCK_R], tl.int64)
        w_t = tl.zeros([BLOCK_R], ACC)
        x_t = tl.zeros([BLOCK_R], ACC)
    else:
        tgt = tl.load(t_ptr + t_row, mask=row_ok, other=0).to(tl.int64)
        valid = row_ok & (tgt != ignore_index)
        in_range = (tgt >= 0) & (tgt < C)
        tc = tl.where(valid & in_range, tgt, 0)
        if HAS_W:
            w_t = tl.load(w_ptr + tc, mask=valid & in_range, other=0).to(ACC)
        else:
            w_t = tl.where(valid, 1.0, 0.0).to(ACC)
        x_t = tl.load(x_ptr + x_row + tc * x_sc, mask=valid & in_range, other=0).to(ACC)
    # pass 1: max, sum of exp, and the weighted sums the loss needs (A = sum tw*x or sum w*x; B = sum tw or sum w)
    if ONE_PASS:
        # the whole row is one tile: read once, kept in registers for the gradient below
        mask = row_ok[:, None] & (cols < C)[None, :]
        x = tl.load(x_ptr + x_row[:, None] + cols[None, :] * x_sc, mask=mask, other=float("-inf")).to(ACC)
        m = tl.max(x, 1)
        s = tl.sum(tl.exp(x - tl.where(m == float("-inf"), 0.0, m)[:, None]), 1)
        x0 = tl.where(mask, x, 0.0)
        if PROB:
            tw = _prob_weights(t_ptr, w_ptr, t_row, t_sc, cols, C, mask, cls_w, smooth_w, HAS_W, ACC)
            wc = tl.zeros([BLOCK_L], ACC)
            a = tl.sum(tw * x0, 1)
            b = tl.sum(tw, 1)
        else:
            tw = tl.zeros([BLOCK_R, BLOCK_L], ACC)
            wc = _class_weights(w_ptr, cols, C, HAS_W, ACC)
            a = tl.sum(x0 * wc[None, :], 1)
            b = tl.sum(tl.where(mask, wc[None, :], 0.0), 1)
    else:
        m = tl.full([BLOCK_R], float("-inf"), ACC)
        s = tl.zeros([BLOCK_R], ACC)
        a = tl.zeros([BLOCK_R], ACC)
        b = tl.zeros([BLOCK_R], ACC)
        for c0 in range(0, C, BLOCK_L):
            c = c0 + cols
            mask = row_ok[:, None] & (c < C)[None, :]
            x = tl.load(x_ptr + x_row[:, None] + c[None, :] * x_sc, mask=mask, other=float("-inf")).to(ACC)
            new_m = tl.maximum(m, tl.max(x, 1))
            shift = tl.where(new_m == float("-inf"), 0.0, new_m)
            s = s * tl.exp(m - shift) + tl.sum(tl.exp(x - shift[:, None]), 1)
            m = new_m
            x0 = tl.where(mask, x, 0.0)
            if PROB:
                tw = _prob_weights(t_ptr, w_ptr, t_row, t_sc, c, C, mask, cls_w, smooth_w, HAS_W, ACC)
                a += tl.sum(tw * x0, 1)
                b += tl.sum(tw, 1)
            else:
                wc = _class_weights(w_ptr, c, C, HAS_W, ACC)
                a += tl.sum(x0 * wc[None, :], 1)
                b += tl.sum(tl.where(mask, wc[None, :], 0.0), 1)
    shift = tl.where(m == float("-inf"), 0.0, m)
    log_s = tl.log(s)
    lse = shift + log_s
    if PROB:
        loss = -(a - lse * b)
        wv = tl.where(row_ok, 1.0, 0.0).to(ACC)
        coef = b
    else:
        loss = -(cls_w * w_t * (x_t - lse) + smooth_w * (a - lse * b))
        loss = tl.where(valid & ~in_range, float("nan"), loss)   # an out-of-range class index
        loss = tl.where(valid, loss, 0.0)
        wv = w_t
        coef = tl.where(valid, cls_w * w_t + smooth_w * b, 0.0)
    if SCALE_GRAD:
        # fold the mean's 1 / total weight into the gradient the forward writes (the weights of the target,
        # the smoothing term and the per-class weights all carry the same factor)
        inv_w = 1.0 / tl.load(total_w_ptr).to(ACC)
        w_t_g = w_t * inv_w
        coef_g = coef * inv_w
        cls_w_g = cls_w * inv_w          # probability targets: tw carries it (index targets: w_t_g does)
        smooth_w_g = smooth_w * inv_w
    else:
        w_t_g = w_t
        coef_g = coef
        cls_w_g = cls_w
        smooth_w_g = smooth_w
    if REDUCE:
        tl.store(loss_ptr + pid, tl.sum(tl.where(row_ok, loss, 0.0), 0))
        tl.store(wv_ptr + pid, tl.sum(tl.where(row_ok, wv, 0.0), 0))
    else:
        tl.store(loss_ptr + rows, loss.to(loss_ptr.dtype.element_ty), mask=row_ok)
    if WRITE_GRAD:
        if ONE_PASS:
            if PROB and SCALE_GRAD:
                tw = tw * inv_w
            g = _grad_tile(x, cols, shift, log_s, coef_g, tgt, w_t_g, valid, tw, wc, cls_w, smooth_w_g, PROB)
            tl.store(g_ptr + g_row[:, None] + cols[None, :] * inner, g.to(g_ptr.dtype.element_ty), mask=mask)
        else:
            # pass 2 over a long row: read each chunk again and write its gradient
            for c0 in range(0, C, BLOCK_L):
                c = c0 + cols
                mask = row_ok[:, None] & (c < C)[None, :]
                x = tl.load(x_ptr + x_row[:, None] + c[None, :] * x_sc, mask=mask, other=float("-inf")).to(ACC)
                if PROB:
                    tw = _prob_weights(t_ptr, w_ptr, t_row, t_sc, c, C, mask, cls_w_g, smooth_w_g, HAS_W, ACC)
                    wc = tl.zeros([BLOCK_L], ACC)
                else:
                    tw = tl.zeros([BLOCK_R, BLOCK_L], ACC)
                    wc = _class_weights(w_ptr, c, C, HAS_W, ACC)
                g = _grad_tile(x, c, shift, log_s, coef_g, tgt, w_t_g, valid, tw, wc, cls_w, smooth_w_g, PROB)
                tl.store(g_ptr + g_row[:, None] + c[None, :] * inner, g.to(g_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _nll_kernel(
    x_ptr,                       # log-probabilities (strided), rows x C
    t_ptr,                       # class indices, one per row (strided)
    w_ptr,                       # class weights (C,) or unused
    loss_ptr, wv_ptr,            # as in _ce_kernel
    n_rows, C, inner,
    x_so, x_si, x_sc, t_so, t_si,
    ignore_index,
    HAS_W: tl.constexpr, REDUCE: tl.constexpr, ACC: tl.constexpr, BLOCK_R: tl.constexpr,
):
    # bytes: reads one logit, one target (and one weight) per row; writes one value per row or per program
    pid = tl.program_id(0)
    rows = pid.to(tl.int64) * BLOCK_R + tl.arange(0, BLOCK_R)
    row_ok = rows < n_rows
    tgt = tl.load(t_ptr + _row_offsets(rows, inner, t_so, t_si), mask=row_ok, other=0).to(tl.int64)
    valid = row_ok & (tgt != ignore_index)
    in_range = (tgt >= 0) & (tgt < C)
    tc = tl.where(valid & in_range, tgt, 0)
    if HAS_W:
        w_t = tl.load(w_ptr + tc, mask=valid & in_range, other=0).to(ACC)
    else:
        w_t = tl.where(valid, 1.0, 0.0).to(ACC)
    x_t = tl.load(x_ptr + _row_offsets(rows, inner, x_so, x_si) + tc * x_sc, mask=valid & in_range, other=0).to(ACC)
    loss = tl.where(valid & ~in_range, float("nan"), -w_t * x_t)
    loss = tl.where(valid, loss, 0.0)
    if REDUCE:
        tl.store(loss_ptr + pid, tl.sum(loss, 0))
        tl.store(wv_ptr + pid, tl.sum(w_t, 0))
    else:
        tl.store(loss_ptr + rows, loss.to(loss_ptr.dtype.element_ty), mask=row_ok)


@triton.jit
def _total_weight_kernel(
    t_ptr,                       # class indices, one per row (strided); unused for probability targets
    w_ptr,                       # class weights (C,) or unused
    total_w_ptr,                 # out: the 0-dim sum over rows of v_n * w_{t_n} (ACC); the row count for PROB
    n_rows, C, inner,            # rows; classes; product of the dims after the class dim
    t_so, t_si,                  # target strides: outer index, inner index
    ignore_index,                # class index whose rows are ignored
    PROB: tl.constexpr, HAS_W: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr,
):
    # bytes: reads 8 bytes of target (and 4 of weight) per row, writes one value; one program (deterministic).
    # Runs before _ce_kernel so that the mean's divisor is known when the gradient is written.
    acc = tl.zeros([BLOCK], ACC)
    for r0 in range(0, n_rows, BLOCK):
        rows = r0 + tl.arange(0, BLOCK).to(tl.int64)
        row_ok = rows < n_rows
        if PROB:
            acc += tl.where(row_ok, 1.0, 0.0).to(ACC)
        else:
            tgt = tl.load(t_ptr + _row_offsets(rows, inner, t_so, t_si), mask=row_ok, other=0).to(tl.int64)
            valid = row_ok & (tgt != ignore_index)
            in_range = (tgt >= 0) & (tgt < C)
            if HAS_W:
                acc += tl.load(w_ptr + tl.where(valid & in_range, tgt, 0), mask=valid & in_range, other=0).to(ACC)
            else:
                acc += tl.where(valid, 1.0, 0.0).to(ACC)
    tl.store(total_w_ptr, tl.sum(acc, 0))


@triton.jit
def _scale_unless_one_kernel(
    g_ptr,                       # the fused gradient buffer (contiguous), scaled in place
    s_ptr,                       # the 0-dim incoming gradient (any float dtype)
    n,                           # elements of g
    ACC: tl.constexpr, BLOCK: tl.constexpr,
):
    # bytes: reads one scalar per program; only when it is not 1 (loss.backward()'s seed is 1) reads and writes
    # BLOCK elements of g. The check happens on the device: no host sync.
    scale = tl.load(s_ptr).to(ACC)
    if scale != 1.0:
        offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
        ok = offs < n
        g = tl.load(g_ptr + offs, mask=ok, other=0).to(ACC)
        tl.store(g_ptr + offs, (g * scale).to(g_ptr.dtype.element_ty), mask=ok)


@triton.jit
def _finish_kernel(
    part_ptr, wpart_ptr,         # per-program partial sums of the loss and of the weights (ACC)
    out_ptr,                     # the 0-dim result (input dtype)
    total_w_ptr,                 # the 0-dim total weight (ACC), kept for the backward
    n,                           # number of partials
    MEAN: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr,
):
    # bytes: reads 2 * n partials, writes two values; one program (deterministic)
    acc = tl.zeros([BLOCK], ACC)
    acc_w = tl.zeros([BLOCK], ACC)
    for i in range(0, n, BLOCK):
        offs = i + tl.arange(0, BLOCK)
        acc += tl.load(part_ptr + offs, mask=offs < n, other=0)
        acc_w += tl.load(wpart_ptr + offs, mask=offs < n, other=0)
    total = tl.sum(acc, 0)
    total_w = tl.sum(acc_w, 0)
    if MEAN:
        total = total / total_w
    tl.store(out_ptr, total.to(out_ptr.dtype.element_ty))
    tl.store(total_w_ptr, total_w)


# ================================================================================================ the plan

class LossPlan:
    """What infer decided for one loss call, and (after the forward) what its backward reuses."""

    __slots__ = ("cd", "C", "prob", "reduction", "ignore_index", "smoothing", "out_shape", "rows", "grad",
                 "total_weight")

    def __init__(self, cd, C, prob, reduction, ignore_index, smoothing, out_shape, rows):
        self.cd, self.C, self.prob, self.reduction = cd, C, prob, reduction
        self.ignore_index, self.smoothing = ignore_index, smoothing
        self.out_shape, self.rows = out_shape, rows
        self.grad = None            # the fused gradient buffer (raw storage), until the backward consumes it
        self.total_weight = None    # sum of v_n * w_{t_n} (raw 0-dim storage), for reduction='mean'

    def __repr__(self):
        return (f"LossPlan(cd={self.cd}, C={self.C}, prob={self.prob}, reduction={self.reduction!r}, "
                f"ignore_index={self.ignore_index}, label_smoothing={self.smoothing})")


# ================================================================================================ infer rules

def _check_common(name, input, target, weight, reduction):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if not isinstance(target, Tensor):
        raise TypeError(f"{name}(): argument 'target' (position 2) must be Tensor, not {type(target).__name__}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if input.dtype.kind != _dt.FLOAT:
        raise RuntimeError(f'"{name}_forward_out_frame" not implemented for \'{_type_name(input.dtype)}\'')
    if input.dim() == 0:
        raise RuntimeError("input tensor should be 1D or 2D")
    cd = 1 if input.dim() >= 2 else 0
    C = input.shape[cd]
    if weight is not None:
        if not isinstance(weight, Tensor):
            raise TypeError(f"{name}(): argument 'weight' must be Tensor, not {type(weight).__name__}")
        if weight.dim() != 1 or weight.shape[0] != C:
            raise RuntimeError(f"weight tensor should be defined either for all {C} classes or no classes but got "
                               f"weight tensor of shape: {list(weight.shape)}")
        if weight.dtype is not input.dtype:
            raise RuntimeError(f"expected scalar type {_type_name(input.dtype)} but found {_type_name(weight.dtype)}")
    return cd, C


def _index_target_shape(input, target, cd) -> tuple:
    """The checks PyTorch's nll_loss makes on class-index targets; returns the per-row (reduction='none') shape."""
    shape = tuple(input.shape)
    want = shape[:cd] + shape[cd + 1:]
    if input.dim() <= 2:
        if target.dim() > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if input.dim() == 2 and target.shape[0] != shape[0]:
            raise ValueError(f"Expected input batch_size ({shape[0]}) to match target batch_size ({target.shape[0]}).")
        if input.dim() == 1 and target.dim() != 0:
            raise ValueError(f"Expected input batch_size (1) to match target batch_size ({target.shape[0]}).")
    elif tuple(target.shape) != want:
        if target.dim() >= 1 and target.shape[0] != shape[0]:
            raise ValueError(f"Expected input batch_size ({shape[0]}) to match target batch_size ({target.shape[0]}).")
        raise RuntimeError(f"Expected target size {list(want)}, got {list(target.shape)}")
    if target.dtype not in (_dt.int64, _dt.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_type_name(target.dtype)}")
    return want


def _ce_infer(input, target, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    cd, C = _check_common("cross_entropy", input, target, weight, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    dev = device_of(input, target, weight)
    shape = tuple(input.shape)
    prob = target.dtype.kind == _dt.FLOAT and tuple(target.shape) == shape
    if prob:
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        if target.dtype is not input.dtype:
            raise RuntimeError(f"expected scalar type {_type_name(input.dtype)} but found {_type_name(target.dtype)}")
        row_shape = shape[:cd] + shape[cd + 1:]
    else:
        row_shape = _index_target_shape(input, target, cd)
    out_shape = row_shape if reduction == "none" else ()
    plan = LossPlan(cd, C, prob, reduction, int(ignore_index), float(label_smoothing), out_shape, math.prod(row_shape))
    return Meta(out_shape, input.dtype, dev, plan)


def _nll_infer(input, target, weight=None, *, ignore_index=-100, reduction="mean"):
    cd, C = _check_common("nll_loss", input, target, weight, reduction)
    dev = device_of(input, target, weight)
    row_shape = _index_target_shape(input, target, cd)
    out_shape = row_shape if reduction == "none" else ()
    plan = LossPlan(cd, C, False, reduction, int(ignore_index), 0.0, out_shape, math.prod(row_shape))
    return Meta(out_shape, input.dtype, dev, plan)


# ================================================================================================ NumPy side

def _acc_np(dtype: _dt.dtype):
    return np.float64 if dtype is _dt.float64 else np.float32


def _rows_2d(a: np.ndarray, cd: int) -> np.ndarray:
    """(rows, C) view (or copy, for (N, C, d1, ...)) with the class dim last."""
    if a.ndim == 1:
        return a.reshape(1, -1)
    if a.ndim == 2:
        return a
    return np.moveaxis(a, cd, -1).reshape(-1, a.shape[cd])


def _from_rows_2d(g: np.ndarray, shape: tuple, cd: int) -> np.ndarray:
    if len(shape) <= 2:
        # (the array itself when the shape already is: a view would make autograd copy the gradient into .grad)
        return g if g.shape == tuple(shape) else g.reshape(shape)
    lead = (shape[0],) + shape[2:] + (shape[1],)
    return np.moveaxis(g.reshape(lead), -1, cd)


def _check_targets_np(t: np.ndarray, C: int, ignore_index: int) -> None:
    if t.size == 0 or (np.minimum.reduce(t) >= 0 and np.maximum.reduce(t) < C):
        return   # the common case in two reductions (the full test below costs ~20 us on a classifier's batch)
    bad = (t != ignore_index) & ((t < 0) | (t >= C))
    if np.any(bad):
        raise IndexError(f"Target {int(t[np.argmax(bad)])} is out of bounds.")


def _finish_np(plan: LossPlan, meta: Meta, loss_rows: np.ndarray, total_w, out):
    acc = loss_rows.dtype
    if plan.reduction == "none":
        r = loss_rows.reshape(meta.shape)
    else:
        r = np.add.reduce(loss_rows, dtype=acc)   # (np.sum's wrapper alone costs ~8 us)
        if plan.reduction == "mean":
            r = r / acc.type(total_w)
    plan.total_weight = np.asarray(total_w, acc)
    r = np.asarray(r).astype(meta.dtype.np, copy=False)
    if out is not None:
        np.copyto(out, r, casting="unsafe")
        return out
    return r


def _wants_grad(input: Tensor) -> bool:
    return (not _state.FLAGS.grad_off or _state.GRAD.enabled) and input._requires_grad


def _exp_rows(x: np.ndarray, acc):
    """(e = exp(x - row max), s = row sums of e, lse = log(s) + row max) of (rows, C) logits, in `acc` (a block of
    moderate logits, or one of _UNSHIFTED_MIN elements or more whose log-sum-exps are, takes e = exp(x),
    lse = log(s): no row max). Row blocks of ~2**16 elements make their subtract / exp / sum passes in cache, on
    the thread pool for big inputs."""
    n, C = x.shape
    e = np.empty((n, C), acc)
    s = np.empty(n, acc)
    lse = np.empty(n, acc)
    ones = ones_vector(C, acc)

    def block(r):
        xb = x[r]
        if xb.size >= _UNSHIFTED_MIN:   # no row max unless the log-sum-exps ask for it (nn_softmax.lse_moderate)
            with np.errstate(over="ignore", divide="ignore"):
                rows(r, xb, False)
            if not lse_moderate(lse[r]):
                with np.errstate(invalid="ignore", divide="ignore"):   # inf - inf, log 0: NaN rows, as PyTorch's
                    rows(r, xb, True)
            return
        rows(r, xb, not moderate_logits(xb))   # (moderate logits need no row max: see nn_softmax.NO_SHIFT_MAX)

    def rows(r, xb, shift):
        if shift:
            m = _row_max(xb, 1, acc)
            xb = np.subtract(xb, m, out=e[r])
        np.exp(xb, out=e[r])
        np.matmul(e[r], ones, out=s[r])   # a BLAS row sum: several times faster than np.add.reduce
        np.log(s[r], out=lse[r])
        if shift:
            lse[r] += m[:, 0]

    with one_blas_thread():   # (OpenBLAS's own threads synchronise on every call: costly on a loaded machine)
        run_row_blocks(block, n, C)
    return e, s, lse


_PLAIN_MAX = 1 << 16  # logits up to this many elements take the plain path (its passes then stay in cache)


def _ce_plain_np(plan, meta, x, target, input, out):
    """The classifier's call in a dozen NumPy passes: class indices all in range, no weight, no smoothing, no
    target equal to ignore_index. On a (64, 10) batch the general path's ~45 NumPy calls cost several times
    PyTorch's whole cross_entropy. None when the targets need the general path."""
    C = plan.C
    t = target._data.reshape(-1)
    if t.dtype != np.int64:
        t = t.astype(np.int64)
    n = x.shape[0]
    lo, hi = np.minimum.reduce(t), np.maximum.reduce(t)
    if lo < 0 or hi >= C or lo <= plan.ignore_index <= hi:
        return None  # out-of-range targets (the general path raises) or some may be ignored
    if not x.flags.c_contiguous:
        # (a transposed view, CLIP's logits.T: NumPy's ufuncs keep its layout, and the one-hot subtraction below
        # writes through e.reshape(-1), which is a view only of a C-ordered e)
        x = np.ascontiguousarray(x)
    ones = ones_vector(C, x.dtype)
    e = None
    if x.size >= _UNSHIFTED_MIN:   # no row max unless the log-sum-exps ask for it (see _exp_rows)
        with np.errstate(over="ignore", divide="ignore"):
            e = np.exp(x)
            s = np.matmul(e, ones)
            lse = np.log(s)
        if not lse_moderate(lse):
            e = None
    elif moderate_logits(x):   # no row max to subtract (see nn_softmax.NO_SHIFT_MAX)
        e = np.exp(x)
        s = np.matmul(e, ones)   # a BLAS row sum (2.5x np.add.reduce's speed even at (64, 10))
        lse = np.log(s)
    if e is None:
        m = np.maximum.reduce(x, axis=1)
        e = x - m[:, None]
        np.exp(e, out=e)
        s = np.matmul(e, ones)
        lse = np.log(s)
        lse += m
    flat = _row_starts(n, C) + t                 # flat index of each row's target logit (1-D: cheaper than x[rows, t])
    loss = np.subtract(lse, x.reshape(-1)[flat], out=lse)   # lse - x_t, row by row
    if _wants_grad(input):
        e /= s[:, None]
        e.reshape(-1)[flat] -= 1                 # softmax - one_hot: the gradient of the unreduced loss
        plan.grad = _from_rows_2d(e.astype(input.dtype.np, copy=False), input._data.shape, plan.cd)
    return _finish_np(plan, meta, loss, n, out)


@functools.lru_cache(maxsize=16)
def _row_starts(n: int, C: int) -> np.ndarray:
    """The flat offsets 0, C, 2C, ... of n rows of C (read-only; cached: a training loop repeats its shapes)."""
    a = np.arange(0, n * C, C)
    a.flags.writeable = False
    return a


def _ce_cpu(meta, input, target, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0, out=None):
    plan = meta.aux
    acc = _acc_np(meta.dtype)
    C, ls = plan.C, plan.smoothing
    x = _rows_2d(input._data, plan.cd)
    if x.dtype != acc:
        x = x.astype(acc)
    w = None if weight is None else weight._data.astype(acc, copy=False)
    n = x.shape[0]
    if n == 0 or C == 0:
        loss = np.zeros(n, acc)
        if _wants_grad(input):
            plan.grad = np.zeros(input._data.shape, input.dtype.np)
        return _finish_np(plan, meta, loss, 0 if not plan.prob else n, out)
    if not plan.prob and w is None and not ls and x.shape[0] * C <= _PLAIN_MAX:
        r = _ce_plain_np(plan, meta, x, target, input, out)
        if r is not None:
            return r
    e, s, lse = _exp_rows(x, acc)
    if plan.prob:
        t = _rows_2d(target._data, plan.cd).astype(acc, copy=False)
        tw = t * acc(1.0 - ls) if ls else t.copy()
        if ls:
            tw += acc(ls / C)
        if w is not None:
            tw *= w
        b = np.sum(tw, axis=1)
        loss = lse * b - np.einsum("ij,ij->i", tw, x)
        total_w = n
        if _wants_grad(input):
            e *= (b / s)[:, None]
            e -= tw
            plan.grad = _from_rows_2d(e.astype(input.dtype.np, copy=False), input._data.shape, plan.cd)
    else:
        t = target._data.reshape(-1).astype(np.int64, copy=False)
        _check_targets_np(t, C, plan.ignore_index)
        valid = t != plan.ignore_index
        all_valid = valid.all()
        tc = t if all_valid else np.where(valid, t, 0)
        rows = np.arange(n)
        w_t = w[tc] * valid if w is not None else valid.astype(acc)
        logp_t = x[rows, tc] - lse
        loss = -(1.0 - ls) * w_t * logp_t if ls else -w_t * logp_t
        w_sum = acc(C) if w is None else np.sum(w)
        if ls:
            smooth = (x @ w if w is not None else np.sum(x, axis=1)) - lse * w_sum
            loss -= acc(ls / C) * smooth * valid
        loss = loss.astype(acc, copy=False)
        total_w = np.add.reduce(w_t, dtype=acc)
        if _wants_grad(input):
            coef = (acc(1.0 - ls) * w_t + acc(ls / C) * w_sum * valid) / s
            e *= coef[:, None]
            e[rows, tc] -= acc(1.0 - ls) * w_t
            if ls:
                e -= acc(ls / C) * valid[:, None] * (w[None, :] if w is not None else acc(1.0))
            zero_mean = plan.reduction == "mean" and total_w == 0
            if zero_mean:
                # PyTorch: a row that is ignored gets a zero gradient even when every row is (a padding-only
                # batch), one whose weight is 0 gets 0 * (1 / 0) = NaN; the backward then divides by 1
                e[...] = np.where(valid[:, None], acc(np.nan), acc(0.0))
            plan.grad = _from_rows_2d(e.astype(input.dtype.np, copy=False), input._data.shape, plan.cd)
            r = _finish_np(plan, meta, loss.astype(acc, copy=False), total_w, out)
            if zero_mean:
                plan.total_weight = np.asarray(1.0, acc)
            return r
    return _finish_np(plan, meta, loss.astype(acc, copy=False), total_w, out)


def _nll_cpu(meta, input, target, weight=None, *, ignore_index=-100, reduction="mean", out=None):
    plan = meta.aux
    acc = _acc_np(meta.dtype)
    x = _rows_2d(input._data, plan.cd)
    t = target._data.reshape(-1).astype(np.int64, copy=False)
    _check_targets_np(t, plan.C, plan.ignore_index)
    valid = t != plan.ignore_index
    tc = np.where(valid, t, 0)
    n = t.shape[0]
    w_t = ((weight._data.astype(acc, copy=False)[tc] if weight is not None else np.ones(n, acc)) * valid).astype(acc)
    loss = -w_t * x[np.arange(n), tc].astype(acc) if n else np.zeros(0, acc)
    return _finish_np(plan, meta, loss.astype(acc, copy=False), np.sum(w_t, dtype=acc), out)


# ================================================================================================ cuda side

def _acc_tl(dtype: _dt.dtype):
    return tl.float64 if dtype is _dt.float64 else tl.float32


def _target_layout(t: CudaArray, cd: int, ndim_input: int):
    """(array, outer stride, inner stride) of class-index targets seen as rows (outer = N, inner = d1*...)."""
    if ndim_input == 1:
        return t, 0, 0
    shape = tuple(t.shape)
    # view the targets (N, d1, ...) as (N, 1, d1, ...) so the row layout of the logits applies
    full = t.view_as(shape[:1] + (1,) + shape[1:], t.strides[:1] + (0,) + t.strides[1:], t.offset)
    arr, so, si, _ = row_layout(full, 1)
    return arr, so, si


def _ce_blocks(n_rows: int, C: int):
    """(BLOCK_R, BLOCK_L, ONE_PASS, num_warps) of _ce_kernel: softmax's row blocks while a row fits in registers
    (one read); longer rows (a vocabulary) take 8K chunks at 8 warps, so several programs share an SM and the
    second read of a row finds it in L2 more often than not."""
    from . import nn_softmax as S
    if C <= S.ROW_BLOCK_MAX:
        return row_blocks(n_rows, C)
    block_l = min(8192, launch.next_pow2(S.ROW_BLOCK_MAX))
    block_r = max(1, min(launch.next_pow2(n_rows), S._TILE // block_l))
    return block_r, block_l, False, 8 if block_r * block_l > 2048 else 4


def _launch_loss(kernel_kind, meta, input, target, weight, write_grad: bool, out):
    plan = meta.aux
    acc_np = np.dtype(_acc_np(meta.dtype))
    acc = _acc_tl(meta.dtype)
    x = input._data
    d = plan.cd
    shape = tuple(x.shape)
    if len(shape) == 1:
        x = x.view_as((1,) + shape, (0,) + tuple(x.strides), x.offset)
        d = 1
    x, x_so, x_si, x_sc = row_layout(x, d)
    C = plan.C
    n_rows = plan.rows
    inner = math.prod(x.shape[d + 1:])
    w = None
    if weight is not None:
        w = weight._data if weight._data.is_contiguous() else contiguous_copy(weight._data)
    reduce_ = plan.reduction != "none"
    grad = CudaArray.empty(shape, input.dtype.np) if write_grad else None
    if kernel_kind == "ce":
        block_r, block_l, one_pass, warps = _ce_blocks(n_rows, C)
    else:
        block_r, block_l, one_pass, warps = min(1024, launch.next_pow2(max(n_rows, 1))), 1, True, 4
    programs = launch.num_programs(n_rows, block_r)
    if reduce_:
        part = CudaArray.empty((programs,), acc_np)
        wpart = CudaArray.empty((programs,), acc_np)
        rows_out = part
    else:
        rows_out = CudaArray.empty((n_rows,), meta.dtype.np) if out is None or not out.is_contiguous() else out
        part = wpart = rows_out
    if n_rows:
        if plan.prob:
            ta = target._data
            if len(shape) == 1:
                ta = ta.view_as((1,) + shape, (0,) + tuple(ta.strides), ta.offset)
            t, t_so, t_si, t_sc = row_layout(ta, d)
        else:
            t, t_so, t_si = _target_layout(target._data, d, len(shape))
            t_sc = 0
        if kernel_kind == "ce":
            scale_grad = write_grad and plan.reduction == "mean"
            grad_w = None
            if scale_grad:
                # the mean's divisor first (a read of the targets only), so the gradient is written final
                grad_w = CudaArray.empty((), acc_np)
                _total_weight_kernel[(1,)](t, w if w is not None else x, grad_w, n_rows, C, inner, t_so, t_si,
                                           plan.ignore_index, PROB=plan.prob, HAS_W=w is not None, ACC=acc,
                                           BLOCK=1024)
            _ce_kernel[(programs,)](
                x, t, w if w is not None else x, rows_out, wpart, grad if grad is not None else x,
                grad_w if grad_w is not None else x, n_rows, C, inner, x_so, x_si, x_sc, t_so, t_si, t_sc, plan.ignore_index, _f64_bits(plan.smoothing),
                PROB=plan.prob, HAS_W=w is not None, WRITE_GRAD=write_grad, REDUCE=reduce_, SCALE_GRAD=scale_grad, ACC=acc,
                ONE_PASS=one_pass, BLOCK_R=block_r, BLOCK_L=block_l, num_warps=warps)
        else:
            _nll_kernel[(programs,)](
                x, t, w if w is not None else x, rows_out, wpart, n_rows, C, inner, x_so, x_si, x_sc, t_so, t_si,
                plan.ignore_index, HAS_W=w is not None, REDUCE=reduce_, ACC=acc, BLOCK_R=block_r)
    if write_grad:
        plan.grad = grad
    if not reduce_:
        if rows_out is out:
            return out
        r = rows_out.view_as(meta.shape, _cuda.contiguous_strides(meta.shape), rows_out.offset)
        if out is not None:
            _copy_into(out, r, meta.dtype)
            return out
        return r
    res = out if out is not None else CudaArray.empty((), meta.dtype.np)
    total_w = CudaArray.empty((), acc_np)
    _finish_kernel[(1,)](part, wpart, res, total_w, programs if n_rows else 0, MEAN=plan.reduction == "mean",
                         ACC=acc, BLOCK=1024)
    plan.total_weight = total_w
    return res


def _copy_into(out: CudaArray, src: CudaArray, dtype: _dt.dtype) -> None:
    pw.launch_pointwise(_same, [_make(src, dtype, CUDA)], tuple(out.shape), dtype, dtype, out)


def _ce_cuda(meta, input, target, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0, out=None):
    return _launch_loss("ce", meta, input, target, weight, _wants_grad(input), out)


def _nll_cuda(meta, input, target, weight=None, *, ignore_index=-100, reduction="mean", out=None):
    return _launch_loss("nll", meta, input, target, weight, False, out)


# ================================================================================================ references

def _ref_rows(x, cd):
    x = np.asarray(x, np.float64)
    if x.ndim == 1:
        return x.reshape(1, -1)
    return np.moveaxis(x, cd, -1).reshape(-1, x.shape[cd])


def _ref_reduce(loss_rows, denom, reduction, out_shape):
    if reduction == "none":
        return loss_rows.reshape(out_shape)
    total = loss_rows.sum()
    return total / denom if reduction == "mean" else total


def _ref_logp(x):
    out = np.empty_like(x)
    for i, row in enumerate(x):   # plain per-row loop: independent of the vectorised fallback
        m = row.max() if row.size else 0.0
        m = m if np.isfinite(m) else 0.0
        out[i] = row - m - np.log(np.exp(row - m).sum())
    return out


def _ce_ref(input, target, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    x = np.asarray(input, np.float64)
    cd = 1 if x.ndim >= 2 else 0
    C = x.shape[cd]
    lp = _ref_logp(_ref_rows(x, cd))
    w = np.ones(C) if weight is None else np.asarray(weight, np.float64)
    out_shape = x.shape[:cd] + x.shape[cd + 1:]
    ls = label_smoothing
    if np.asarray(target).dtype.kind == "f":
        t = _ref_rows(target, cd) * (1 - ls) + ls / C
        loss = -(lp * t * w).sum(axis=1)
        return _ref_reduce(loss, lp.shape[0], reduction, out_shape)
    t = np.asarray(target).reshape(-1)
    loss = np.zeros(lp.shape[0])
    denom = 0.0
    for i, c in enumerate(t):
        if c == ignore_index:
            continue
        loss[i] = -(1 - ls) * w[c] * lp[i, c] - ls / C * (w * lp[i]).sum()
        denom += w[c]
    return _ref_reduce(loss, denom, reduction, out_shape)


def _nll_ref(input, target, weight=None, *, ignore_index=-100, reduction="mean"):
    x = np.asarray(input, np.float64)
    cd = 1 if x.ndim >= 2 else 0
    rows = _ref_rows(x, cd)
    w = np.ones(rows.shape[1]) if weight is None else np.asarray(weight, np.float64)
    t = np.asarray(target).reshape(-1)
    loss = np.zeros(rows.shape[0])
    denom = 0.0
    for i, c in enumerate(t):
        if c != ignore_index:
            loss[i] = -w[c] * rows[i, c]
            denom += w[c]
    return _ref_reduce(loss, denom, reduction, x.shape[:cd] + x.shape[cd + 1:])


# ================================================================================================ samples

def _targets(shape, C, device, rng, ignore=None):
    t = rng.integers(0, C, size=shape).astype(np.int64)
    if ignore is not None and t.size:
        t.reshape(-1)[::3] = ignore
    tt = from_array(t)
    return tt.to(device) if device != "cpu" else tt


def _probs(shape, dtype, device, rng, cd=1):
    p = rng.uniform(0.0, 1.0, size=shape)
    p /= p.sum(axis=cd if len(shape) > 1 else 0, keepdims=True)
    t = from_array(p.astype(np.float32)).to(dtype) if dtype is not _dt.float64 else from_array(p)
    return t.to(device) if device != "cpu" else t


def _ce_samples(device, dtype):
    rng = rng_for("cross_entropy", dtype.name)

    def X(shape, **kw):
        return make_tensor(shape, dtype, device, rng=rng, **kw)

    def W(C):
        return make_tensor((C,), dtype, device, rng=rng, low=0.5, high=2.0)

    yield Sample((X((4, 5)), _targets((4,), 5, device, rng)), name="(4,5)-mean", reduction_size=5)
    yield Sample((X((3, 5)), _targets((3,), 5, device, rng)), {"reduction": "none"}, name="none")
    yield Sample((X((3, 4)), _targets((3,), 4, device, rng), W(4)), {"reduction": "sum"}, name="sum-weight")
    yield Sample((X((6, 4)), _targets((6,), 4, device, rng, ignore=1), W(4)), {"ignore_index": 1},
                 name="ignore-weight-mean")
    yield Sample((X((5, 4)), _targets((5,), 4, device, rng, ignore=-100), W(4)), {"label_smoothing": 0.2},
                 name="smoothing-weight-ignore")
    yield Sample((X((4, 5)), _targets((4,), 5, device, rng)), {"label_smoothing": 0.1, "reduction": "sum"},
                 name="smoothing-sum")
    yield Sample((X((2, 3, 4)), _targets((2, 4), 3, device, rng, ignore=-100)),
                 {"label_smoothing": 0.3, "reduction": "none"}, name="spatial-none")
    yield Sample((X((2, 3, 2, 2)), _targets((2, 2, 2), 3, device, rng)), name="spatial-2d-mean")
    yield Sample((X((5,)), _targets((), 5, device, rng)), name="unbatched")
    yield Sample((X((3, 5)), _probs((3, 5), dtype, device, rng)), name="probs-mean")
    yield Sample((X((3, 4)), _probs((3, 4), dtype, device, rng), W(4)), {"label_smoothing": 0.25, "reduction": "sum"},
                 name="probs-smoothing-weight-sum")
    yield Sample((X((2, 3, 3)), _probs((2, 3, 3), dtype, device, rng)), {"reduction": "none"}, name="probs-spatial")
    yield Sample((X((0, 5)), _targets((0,), 5, device, rng)), {"reduction": "sum"}, name="empty-sum")
    yield Sample((X((2, 2 ** 6 + 17)), _targets((2,), 2 ** 6 + 17, device, rng)), name="(2,81)", reduction_size=81)
    yield Sample((X((4, 6), noncontiguous=True), _targets((4,), 6, device, rng)), {"label_smoothing": 0.1},
                 name="noncontig")


def _nll_samples(device, dtype):
    rng = rng_for("nll_loss", dtype.name)

    def X(shape, **kw):
        return make_tensor(shape, dtype, device, rng=rng, low=-4.0, high=0.0, **kw)

    yield Sample((X((4, 5)), _targets((4,), 5, device, rng)), name="(4,5)-mean")
    yield Sample((X((3, 5)), _targets((3,), 5, device, rng)), {"reduction": "none"}, name="none")
    yield Sample((X((6, 4)), _targets((6,), 4, device, rng, ignore=2),
                  make_tensor((4,), dtype, device, rng=rng, low=0.5, high=2.0)), {"ignore_index": 2}, name="weight-ignore")
    yield Sample((X((2, 3, 4)), _targets((2, 4), 3, device, rng)), {"reduction": "sum"}, name="spatial-sum")
    yield Sample((X((5,)), _targets((), 5, device, rng)), name="unbatched")
    yield Sample((X((0, 5)), _targets((0,), 5, device, rng)), {"reduction": "sum"}, name="empty-sum")
    yield Sample((X((4, 6), noncontiguous=True), _targets((4,), 6, device, rng)), name="noncontig")


def _torch_ce(torch, input, target, weight=None, **kw):
    # PyTorch's nll_loss does not differentiate the class weights (tritorch does): compare the rest
    w = weight.detach() if weight is not None else None
    return torch.nn.functional.cross_entropy(input, target, w, **kw)


def _torch_nll(torch, input, target, weight=None, **kw):
    w = weight.detach() if weight is not None else None
    return torch.nn.functional.nll_loss(input, target, w, **kw)


_BENCH_ROWS = 4096


def _ce_bench():
    return BenchSpec(
        sizes=(1024, 8192, 32768),
        make=lambda size, device, dtype: ((make_tensor((_BENCH_ROWS, size), dtype, device),
                                           _targets((_BENCH_ROWS,), size, device, rng_for("bench"))), {}),
        bytes=lambda size, dtype: _BENCH_ROWS * size * dtype.itemsize * 2 + _BENCH_ROWS * 8,
        flops=lambda size: 10 * _BENCH_ROWS * size)


def _ce_fast_path():
    """The cpu shortcut (OpDef.fast) of a classifier's cross_entropy: (N, C) fp32/fp64 logits of at most
    _PLAIN_MAX elements, int64 class indices, no weight, no label smoothing, reduction 'mean' or 'sum'. It builds
    the LossPlan infer would and runs the plain path, skipping infer and the generic dispatch (about a quarter of
    a (64, 10) call); under autograd it records the call with that plan (the vjp reads it). None otherwise (and
    when the plain path declines), so the full path decides and raises PyTorch's errors."""
    op_box = [None]

    def fast(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        if input.__class__ is not Tensor or target.__class__ is not Tensor or weight is not None or label_smoothing:
            return None
        x, t = input._data, target._data
        if (x.__class__ is not np.ndarray or t.__class__ is not np.ndarray or x.ndim != 2 or t.ndim != 1
                or t.shape[0] != x.shape[0] or not 0 < x.size <= _PLAIN_MAX or t.dtype != np.int64
                or (input.dtype is not _dt.float32 and input.dtype is not _dt.float64)
                or (reduction != "mean" and reduction != "sum") or ignore_index.__class__ is not int):
            return None
        n, C = x.shape
        meta = Meta((), input.dtype, input.device, LossPlan(1, C, False, reduction, ignore_index, 0.0, (), n))
        raw = _ce_plain_np(meta.aux, meta, x, target, input, None)
        if raw is None:
            return None
        r = _make(raw, input.dtype, input.device)
        if input._requires_grad and (not _state.FLAGS.grad_off or _state.GRAD.enabled):
            _state.recorder(op_box[0], (input, target, weight),
                            {"ignore_index": ignore_index, "reduction": reduction, "label_smoothing": 0.0}, r, meta)
        return r

    fast.bind = lambda op: op_box.__setitem__(0, op)
    return fast


cross_entropy_op = register(OpDef(
    name="cross_entropy", family=FAMILY, infer=_ce_infer, impl={"cpu": _ce_cpu, "cuda": _ce_cuda}, ref=_ce_ref,
    samples=_ce_samples, bench=_ce_bench(), dtypes=_dt.FLOATS, extra={"torch": _torch_ce}, fast=_ce_fast_path(),
    doc="cross_entropy(input, target, weight=None, *, ignore_index=-100, reduction='mean', label_smoothing=0.0): "
        "log_softmax + nll_loss fused, with the gradient computed in the forward pass"))

nll_loss_op = register(OpDef(
    name="nll_loss", family=FAMILY, infer=_nll_infer, impl={"cpu": _nll_cpu, "cuda": _nll_cuda}, ref=_nll_ref,
    samples=_nll_samples, dtypes=_dt.FLOATS, extra={"torch": _torch_nll},
    bench=BenchSpec(sizes=(1024, 32768),
                    make=lambda size, device, dtype: ((make_tensor((_BENCH_ROWS, size), dtype, device),
                                                       _targets((_BENCH_ROWS,), size, device, rng_for("bench"))), {}),
                    bytes=lambda size, dtype: _BENCH_ROWS * (dtype.itemsize + 8), flops=lambda size: 2 * _BENCH_ROWS),
    doc="nll_loss(input, target, weight=None, *, ignore_index=-100, reduction='mean')"))


# ================================================================================================ backward

def _class_shape(plan: LossPlan, ndim: int) -> tuple:
    """Shape that broadcasts a (C,) vector along the class dim."""
    return (plan.C,) if ndim == 1 else (1, plan.C) + (1,) * (ndim - 2)


def _other_dims(plan: LossPlan, ndim: int) -> tuple:
    return tuple(i for i in range(ndim) if i != plan.cd)


def _row_scale(plan: LossPlan, grad: Tensor, total_weight: Tensor | None) -> Tensor:
    """The incoming gradient per row, shaped to broadcast against the logits."""
    if plan.reduction == "none":
        return grad.unsqueeze(plan.cd) if grad.dim() else grad
    if plan.reduction == "mean":
        return grad / total_weight
    return grad


def _index_parts(plan: LossPlan, x: Tensor, target: Tensor, weight: Tensor | None):
    """(onehot, valid, w_t, w_b, w_sum) as float tensors broadcasting against the logits (class dim kept)."""
    from .creation import arange
    nd = x.dim()
    t = target.unsqueeze(plan.cd) if nd > 1 else target.reshape((1,))
    classes = arange(plan.C, device=x.device).reshape(_class_shape(plan, nd))
    onehot = (classes == t).to(x.dtype)
    valid = (t != plan.ignore_index).to(x.dtype)
    if weight is None:
        return onehot, valid, valid, None, float(plan.C)
    w_b = weight.reshape(_class_shape(plan, nd))
    w_t = (onehot * w_b).sum(plan.cd, keepdim=True) * valid
    return onehot, valid, w_t, w_b, weight.sum()


def _ce_vjp(ctx, grad):
    inputs = ctx.inputs
    x, target, weight = inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else None
    plan: LossPlan = ctx.meta.aux
    needs = ctx.needs_input_grad
    need_x, need_t = needs[0], needs[1]
    need_w = weight is not None and needs[2]
    gx = gt = gw = None
    if need_x and plan.grad is not None and _state.FLAGS.grad_off and not _state.GRAD.enabled:
        gx = _fused_x_grad(plan, x, grad)   # the forward's gradient buffer, scaled in place
        need_x = False
        if not (need_t or need_w):
            return gx, None, None
    # composed from differentiable ops: double backward, a retained graph's second backward, weights, targets
    ls, C = plan.smoothing, plan.C
    lp = log_softmax_op(x, plan.cd)
    if plan.prob:
        w_b = weight.reshape(_class_shape(plan, x.dim())) if weight is not None else None
        tp = target * (1.0 - ls) + ls / C if ls else target
        tw = tp * w_b if w_b is not None else tp
        h = _row_scale(plan, grad, _count_tensor(plan, x))
        if need_x:
            gx = (lp.exp() * tw.sum(plan.cd, keepdim=True) - tw) * h
        if need_t:
            gt = -(lp * w_b if w_b is not None else lp) * ((1.0 - ls) * h)
        if need_w:
            gw = -(tp * lp * h)
            gw = gw.sum(_other_dims(plan, x.dim())) if x.dim() > 1 else gw
        return gx, gt, gw
    onehot, valid, w_t, w_b, w_sum = _index_parts(plan, x, target, weight)
    total_w = (w_t.sum() if weight is not None else valid.sum()) if plan.reduction == "mean" else None
    h = _row_scale(plan, grad, total_w)
    if need_x:
        coef = w_t * (1.0 - ls) + valid * (w_sum * (ls / C))
        gx = lp.exp() * coef - onehot * (w_t * (1.0 - ls))
        if ls:
            gx = gx - (w_b * valid if w_b is not None else valid) * (ls / C)
        gx = gx * h
    if need_w:
        lp_t = (lp * onehot).sum(plan.cd, keepdim=True)
        hv = valid * h
        per = onehot * (lp_t * (1.0 - ls)) + lp * (ls / C) if ls else onehot * lp_t
        d_s = -(per * hv)
        if plan.reduction == "mean":
            # L = S / W with W = sum_n v_n w_{t_n}: dL/dw = (dS/dw - L dW/dw) g / W (h already holds g / W)
            row_loss = -(lp_t * w_t * (1.0 - ls))
            if ls:
                row_loss = row_loss - (lp * w_b).sum(plan.cd, keepdim=True) * valid * (ls / C)
            d_s = d_s - onehot * hv * (row_loss.sum() / total_w)
        gw = d_s.sum(_other_dims(plan, x.dim())) if x.dim() > 1 else d_s
    return gx, gt, gw


def _count_tensor(plan: LossPlan, x: Tensor):
    if plan.reduction != "mean":
        return None
    return _make(plan.total_weight, x.dtype if x.dtype is _dt.float64 else _dt.float32, x.device)


def _fused_x_grad(plan: LossPlan, x: Tensor, grad: Tensor) -> Tensor:
    """The gradient the forward wrote (already divided by the mean's total weight on the cuda side), scaled in
    place by the incoming gradient (used once: a second backward through a retained graph recomputes)."""
    from .binary import mul
    g = _make(plan.grad, x.dtype, x.device)
    plan.grad = None
    if plan.reduction != "none" and g._data.__class__ is np.ndarray and grad._data.__class__ is np.ndarray:
        # cpu, a scalar loss: the factor is a host number (free to read), one in-place pass or none at all
        factor = float(grad._data)
        if plan.reduction == "mean":
            factor /= float(plan.total_weight)
        if factor != 1.0:
            np.multiply(g._data, g._data.dtype.type(factor), out=g._data)
        return g
    if plan.reduction == "none" or not isinstance(g._data, CudaArray):
        tw = None
        if plan.reduction == "mean":
            tw = _make(plan.total_weight, _dt.float64 if x.dtype is _dt.float64 else _dt.float32, x.device)
        return mul(g, _row_scale(plan, grad, tw), out=g)
    # a 0-dim incoming gradient: loss.backward() seeds it with 1, so the kernel reads it on the device and
    # touches the buffer only when it is not 1 (one launch, no memory pass, no host sync)
    n = math.prod(g._data.shape)
    if n:
        _scale_unless_one_kernel[(launch.num_programs(n, 4096),)](g._data, grad._data, n, ACC=_acc_tl(x.dtype),
                                                                  BLOCK=4096)
    return g


def _nll_vjp(ctx, grad):
    inputs = ctx.inputs
    x, target, weight = inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else None
    plan: LossPlan = ctx.meta.aux
    needs = ctx.needs_input_grad
    onehot, valid, w_t, w_b, _ = _index_parts(plan, x, target, weight)
    total_w = (w_t.sum() if weight is not None else valid.sum()) if plan.reduction == "mean" else None
    if total_w is not None:
        # every target ignored (or weighted 0): the loss is 0/0 = NaN, its gradient zeros as PyTorch's (each term
        # has a zero weight; dividing by the zero total first made it 0 * inf = NaN)
        from .ternary import where
        total_w = where(total_w == 0, 1.0, total_w)
    h = _row_scale(plan, grad, total_w)
    gx = -(onehot * (w_t * h)) if needs[0] else None
    gw = None
    if weight is not None and needs[2]:
        x_t = (x * onehot).sum(plan.cd, keepdim=True)
        dS = -(onehot * (x_t * valid * h))
        if plan.reduction == "mean":
            mean_loss = -(x_t * w_t).sum() / total_w
            dS = dS - onehot * valid * h * mean_loss
        gw = dS.sum(_other_dims(plan, x.dim())) if x.dim() > 1 else dS
    return gx, None, gw


cross_entropy_op.vjp = _ce_vjp
nll_loss_op.vjp = _nll_vjp


# ================================================================================================ public API

def _legacy_reduction(size_average, reduce) -> str:
    warnings.warn("size_average and reduce args will be deprecated, please use reduction='mean' instead.")
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    """torch.nn.functional.cross_entropy: class indices (with ignore_index, class weights, label smoothing) or
    class probabilities; log_softmax and nll_loss fused in one pass that also writes the gradient."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    if (isinstance(input, Tensor) and isinstance(target, Tensor) and target.dtype.kind == _dt.FLOAT
            and input.dtype.kind == _dt.FLOAT and target.dtype is not input.dtype
            and tuple(target.shape) == tuple(input.shape)):
        common = _dt.promote_types(input.dtype, target.dtype)
        input, target = input.to(common), target.to(common)
    return cross_entropy_op(input, target, weight, ignore_index=ignore_index, reduction=reduction,
                            label_smoothing=float(label_smoothing))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """torch.nn.functional.nll_loss on log-probabilities."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    return nll_loss_op(input, target, weight, ignore_index=ignore_index, reduction=reduction)
