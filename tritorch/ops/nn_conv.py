"""Convolutions (nn kernels family): conv1d, conv2d, conv_transpose2d, and the two gradients of conv2d as ops of
their own (conv2d_input_grad, conv2d_weight_grad), all on one implicit-GEMM machinery.

A 2-D convolution is a GEMM per group whose operands are gathered on the fly ("implicit GEMM"):
  forward      out[(n, ho, wo), co]  = sum_{(ci, r, s)} x[n, ci, ho*sh - pt + r*dh, wo*sw - pl + s*dw] * w[co, ci, r, s]
  input grad   gx[(n, h, w), ci]     = sum_{(co, r, s)} go[n, co, (h + pt - r*dh)/sh, (w + pl - s*dw)/sw]
                                                                                               * w[co, ci, r, s]
               (a transposed convolution: only terms whose division is exact and in range exist)
  weight grad  gw[co, (ci, r, s)]    = sum_{(n, ho, wo)} go[n, co, ho, wo] * x[n, ci, ho*sh - pt + r*dh, ...]
Each Triton kernel tiles its GEMM (BLOCK_M x BLOCK_N outputs, a loop over K in BLOCK_K steps with tl.dot, fp32
accumulation for fp16/bf16/fp32, fp64 for fp64); the gather computes the input coordinates of each K index and
masks the taps that fall into the zero padding, so padding is never materialised. Operands are read through
their own strides (non-contiguous inputs are not copied); the second grid axis is the group. With >= 16 channels
in the reduced dim the K loop is tap-major (one kernel tap per step: per-row masks and addresses, channels a plain
arange). The weight gradient's short, wide GEMM with its long pixel reduction is split over a third grid axis
(split-K into fp32 partials, then summed in order: deterministic, no atomics) so enough programs fill the GPU.
On a GPU the tiles are autotuned (keyed on power-of-two size buckets; one config for small problems), fp32 dots
use TF32 as cuDNN does by default (tritorch.backends.cudnn.allow_tf32); the interpreter runs one fixed tile.

conv_transpose2d is the input-grad kernel (with a bias epilogue) and conv1d is conv2d on a height-1 view, so all
five ops share the three kernels. Padding may be asymmetric internally (padding='same' with an even kernel).

The NumPy fallback lowers to BLAS, the batch in parts (tasks on the shared thread pool of _cpu_parallel, OpenBLAS
itself on one thread: its own threading costs more than these small products gain) and each part in blocks of a
few samples sized for the L2 cache: an im2col copy of the block from a strided window view of the padded input
(b, groups, Cin/groups*kh*kw, Ho*Wo), then one stacked GEMM written straight into the output (the bias added while
the block is in cache); the input gradient multiplies by the weight and scatters the columns back with kh*kw
strided adds (col2im) per block; the weight gradient sums per-sample products per part, the parts added in order
(the split depends on the shapes only, so results are bitwise the same run to run and on any machine).
Depthwise convolutions (one input channel per group) sum the kh*kw taps directly. fp16/bf16 compute in fp32 and
round once.

Backward rules: conv2d's are the two gradient ops (and a sum for the bias); each gradient op is bilinear, so its
own rule is again made of conv2d and the gradient ops (double backward works to any order).
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends import cudnn as _cudnn
from ..backends.cuda import CudaArray
from ..tensor import Tensor
from ._cpu_parallel import one_blas_thread, parallel_chunks, prime_blas
from .registry import BenchSpec, Meta, OpDef, Sample, device_of, register
from .matmul import _EventTimer
from .samples import cpu_extras, make_tensor, rng_for
from .launch import cdiv as _cdiv

FAMILY = "nn_conv"

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d"]

DTYPES = (_dt.float32, _dt.float64, _dt.float16, _dt.bfloat16)
_HALF = (_dt.float16, _dt.bfloat16)

# ============================================================================================= Triton kernels


@triton.jit
def _dot_acc(a, b, acc, UPCAST: tl.constexpr, PRECISION: tl.constexpr, ACC: tl.constexpr):
    """acc + a @ b for one (BLOCK_M, BLOCK_K) x (BLOCK_K, BLOCK_N) tile pair."""
    if UPCAST:  # interpreter: no half-precision arithmetic there, so half tiles multiply as fp32
        a = a.to(tl.float32)
        b = b.to(tl.float32)
    return tl.dot(a, b, acc, input_precision=PRECISION, out_dtype=ACC)


# Two K orders share each kernel (constexpr TAP_MAJOR). Channel-minor, K = (c, r, s) flattened: every K step
# decomposes a (BLOCK_K,) index vector and masks a full (BLOCK_M, BLOCK_K) gather; it packs few channels densely
# (first layers, C = 3). Tap-major, K = (r, s) outer x channel blocks inner, one flat loop of KH*KW*cdiv(C,
# BLOCK_K) steps: one tap per step, so the padding mask and the spatial address are per row, computed from
# scalars, and the channel offsets are a plain arange (wide layers, C >= 16; the loop stays one software pipeline).


@triton.jit
def _conv_fwd_kernel(
    x_ptr, w_ptr, b_ptr, y_ptr,            # input (N, Cin, H, W), weight (Cout, Cin/g, KH, KW), bias (Cout), output
    N, CG, H, W,                           # batch, input channels per group, input height and width
    COG, HO, WO,                           # output channels per group, output height and width
    sxn, sxc, sxh, sxw,                    # input strides (elements)
    swo, swc, swh, sww,                    # weight strides
    syn, syc, syh, syw,                    # output strides
    sb,                                    # bias stride
    STRIDE_H, STRIDE_W, PAD_T, PAD_L,      # stride, top/left zero padding
    DIL_H, DIL_W,                          # dilation
    M_KEY, N_KEY, K_KEY,                   # GEMM sizes rounded up to powers of two (the autotuner's key only)
    KH: tl.constexpr, KW: tl.constexpr,    # kernel height and width (constexpr: the K-index split is by constants)
    TAP_MAJOR: tl.constexpr,               # K order: taps outer, channel blocks inner (see above)
    HAS_BIAS: tl.constexpr,                # add the bias in the epilogue
    UPCAST: tl.constexpr,                  # fp16/bf16 tiles to fp32 before the dot (interpreter)
    PRECISION: tl.constexpr,               # tl.dot input_precision for fp32: "ieee" or "tf32"
    ACC: tl.constexpr,                     # accumulator type: fp32, or fp64 for fp64
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,  # tile: output pixels x channels x K
):
    # bytes: reads each input tap once per output-channel tile (ceil(COG/BLOCK_N) * N*HO*WO*CG*KH*KW elements,
    # mostly from L1/L2), the weight once per pixel tile, writes the output once (N*COUT*HO*WO elements).
    pid = tl.program_id(0)
    g = tl.program_id(1)
    tiles_n = tl.cdiv(COG, BLOCK_N)
    pid_m = pid // tiles_n
    pid_n = pid % tiles_n
    M = N * HO * WO
    rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    m_ok = rm < M
    n_ok = rn < COG
    wo = rm % WO
    ho = (rm // WO) % HO
    nb = (rm // (WO * HO)).to(tl.int64)
    h0 = ho * STRIDE_H - PAD_T
    w0 = wo * STRIDE_W - PAD_L
    x_base = x_ptr + g.to(tl.int64) * CG * sxc + nb * sxn
    co = g * COG + rn
    w_base = w_ptr + co.to(tl.int64) * swo
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=ACC)
    if TAP_MAJOR:
        c_steps = tl.cdiv(CG, BLOCK_K)
        for kk in range(0, KH * KW * c_steps):
            tap = kk // c_steps
            rc = (kk - tap * c_steps) * BLOCK_K + tl.arange(0, BLOCK_K)
            r = tap // KW
            s = tap - r * KW
            hi = h0 + r * DIL_H
            wi = w0 + s * DIL_W
            row_ok = m_ok & (hi >= 0) & (hi < H) & (wi >= 0) & (wi < W)
            c_ok = rc < CG
            a = tl.load((x_base + hi * sxh + wi * sxw)[:, None] + (rc * sxc)[None, :],
                        mask=row_ok[:, None] & c_ok[None, :], other=0)
            b = tl.load(w_base[None, :] + (rc * swc + (r * swh + s * sww))[:, None],
                        mask=c_ok[:, None] & n_ok[None, :], other=0)
            acc = _dot_acc(a, b, acc, UPCAST, PRECISION, ACC)
    else:
        K = CG * KH * KW
        for k0 in range(0, K, BLOCK_K):
            rk = k0 + tl.arange(0, BLOCK_K)
            k_ok = rk < K
            ci = rk // (KH * KW)
            r = (rk // KW) % KH
            s = rk % KW
            hi = h0[:, None] + (r * DIL_H)[None, :]
            wi = w0[:, None] + (s * DIL_W)[None, :]
            a_mask = m_ok[:, None] & k_ok[None, :] & (hi >= 0) & (hi < H) & (wi >= 0) & (wi < W)
            a = tl.load(x_base[:, None] + (ci * sxc)[None, :] + hi * sxh + wi * sxw, mask=a_mask, other=0)
            b = tl.load(w_base[None, :] + (ci * swc + r * swh + s * sww)[:, None],
                        mask=k_ok[:, None] & n_ok[None, :], other=0)
            acc = _dot_acc(a, b, acc, UPCAST, PRECISION, ACC)
    if HAS_BIAS:
        acc += tl.load(b_ptr + co * sb, mask=n_ok, other=0).to(ACC)[None, :]
    y_off = nb[:, None] * syn + (co.to(tl.int64) * syc)[None, :] + (ho * syh + wo * syw)[:, None]
    tl.store(y_ptr + y_off, acc.to(y_ptr.dtype.element_ty), mask=m_ok[:, None] & n_ok[None, :])


@triton.jit
def _conv_input_grad_kernel(
    go_ptr, w_ptr, b_ptr, gx_ptr,          # grad_output (N, Cout, HO, WO), weight, bias (conv_transpose2d), result
    N, CG, H, W,                           # batch, input channels per group, input (result) height and width
    COG, HO, WO,                           # output channels per group, grad_output height and width
    sgn, sgc, sgh, sgw,                    # grad_output strides
    swo, swc, swh, sww,                    # weight strides
    sxn, sxc, sxh, sxw,                    # result strides
    sb,                                    # bias stride
    STRIDE_H, STRIDE_W, PAD_T, PAD_L,      # the forward convolution's stride and top/left padding
    DIL_H, DIL_W,                          # and dilation
    M_KEY, N_KEY, K_KEY,                   # GEMM sizes rounded up to powers of two (the autotuner's key only)
    KH: tl.constexpr, KW: tl.constexpr,    # kernel height and width
    TAP_MAJOR: tl.constexpr,               # K order: taps outer, grad_output channel blocks inner
    HAS_BIAS: tl.constexpr,                # add a per-result-channel bias (conv_transpose2d)
    UPCAST: tl.constexpr, PRECISION: tl.constexpr, ACC: tl.constexpr,   # as in _conv_fwd_kernel
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,  # tile: input pixels x channels x K
):
    # bytes: reads grad_output taps once per channel tile (ceil(CG/BLOCK_N) * N*H*W*COG*KH*KW masked gathers,
    # only 1/(STRIDE_H*STRIDE_W) of them live), the weight once per pixel tile, writes N*CIN*H*W elements.
    pid = tl.program_id(0)
    g = tl.program_id(1)
    tiles_n = tl.cdiv(CG, BLOCK_N)
    pid_m = pid // tiles_n
    pid_n = pid % tiles_n
    M = N * H * W
    rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    m_ok = rm < M
    n_ok = rn < CG
    wx = rm % W
    hx = (rm // W) % H
    nb = (rm // (W * H)).to(tl.int64)
    go_base = go_ptr + g.to(tl.int64) * COG * sgc + nb * sgn
    ci = g * CG + rn
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=ACC)
    if TAP_MAJOR:
        c_steps = tl.cdiv(COG, BLOCK_K)
        for kk in range(0, KH * KW * c_steps):
            tap = kk // c_steps
            rc = (kk - tap * c_steps) * BLOCK_K + tl.arange(0, BLOCK_K)
            r = tap // KW
            s = tap - r * KW
            th = hx + PAD_T - r * DIL_H
            tw = wx + PAD_L - s * DIL_W
            # clamp before dividing: a negative numerator is masked anyway, and // of negatives differs by language
            th_c = tl.maximum(th, 0)
            tw_c = tl.maximum(tw, 0)
            ho = th_c // STRIDE_H
            wo = tw_c // STRIDE_W
            row_ok = (m_ok & (th >= 0) & (tw >= 0) & (ho * STRIDE_H == th_c) & (wo * STRIDE_W == tw_c)
                      & (ho < HO) & (wo < WO))
            c_ok = rc < COG
            a = tl.load((go_base + ho * sgh + wo * sgw)[:, None] + (rc * sgc)[None, :],
                        mask=row_ok[:, None] & c_ok[None, :], other=0)
            b = tl.load(w_ptr + ((g * COG + rc).to(tl.int64) * swo + (r * swh + s * sww))[:, None]
                        + (rn * swc)[None, :], mask=c_ok[:, None] & n_ok[None, :], other=0)
            acc = _dot_acc(a, b, acc, UPCAST, PRECISION, ACC)
    else:
        K = COG * KH * KW
        for k0 in range(0, K, BLOCK_K):
            rk = k0 + tl.arange(0, BLOCK_K)
            k_ok = rk < K
            co = rk // (KH * KW)
            r = (rk // KW) % KH
            s = rk % KW
            th = (hx + PAD_T)[:, None] - (r * DIL_H)[None, :]
            tw = (wx + PAD_L)[:, None] - (s * DIL_W)[None, :]
            th_c = tl.maximum(th, 0)
            tw_c = tl.maximum(tw, 0)
            ho = th_c // STRIDE_H
            wo = tw_c // STRIDE_W
            a_mask = (m_ok[:, None] & k_ok[None, :] & (th >= 0) & (tw >= 0) & (ho * STRIDE_H == th_c)
                      & (wo * STRIDE_W == tw_c) & (ho < HO) & (wo < WO))
            a = tl.load(go_base[:, None] + (co * sgc)[None, :] + ho * sgh + wo * sgw, mask=a_mask, other=0)
            b = tl.load(w_ptr + ((g * COG + co).to(tl.int64) * swo + r * swh + s * sww)[:, None]
                        + (rn * swc)[None, :], mask=k_ok[:, None] & n_ok[None, :], other=0)
            acc = _dot_acc(a, b, acc, UPCAST, PRECISION, ACC)
    if HAS_BIAS:
        acc += tl.load(b_ptr + ci * sb, mask=n_ok, other=0).to(ACC)[None, :]
    x_off = nb[:, None] * sxn + (ci.to(tl.int64) * sxc)[None, :] + (hx * sxh + wx * sxw)[:, None]
    tl.store(gx_ptr + x_off, acc.to(gx_ptr.dtype.element_ty), mask=m_ok[:, None] & n_ok[None, :])


@triton.jit
def _conv_weight_grad_kernel(
    x_ptr, go_ptr, gw_ptr,                 # input (N, Cin, H, W), grad_output (N, Cout, HO, WO), result or partials
    N, CG, H, W,                           # batch, input channels per group, input height and width
    COG, HO, WO,                           # output channels per group, grad_output height and width
    sxn, sxc, sxh, sxw,                    # input strides
    sgn, sgc, sgh, sgw,                    # grad_output strides
    swo, swc, swh, sww,                    # result strides
    s_split,                               # stride between split-K partial results (0 when SPLIT == 1)
    SPLIT,                                 # programs sharing the pixel reduction (grid axis 2), each a K chunk
    STRIDE_H, STRIDE_W, PAD_T, PAD_L,      # the forward convolution's stride and top/left padding
    DIL_H, DIL_W,                          # and dilation
    M_KEY, N_KEY, K_KEY,                   # GEMM sizes rounded up to powers of two (the autotuner's key only)
    KH: tl.constexpr, KW: tl.constexpr,    # kernel height and width
    TAP_MAJOR: tl.constexpr,               # columns (r, s) outer x input-channel blocks: one tap per tile
    UPCAST: tl.constexpr, PRECISION: tl.constexpr, ACC: tl.constexpr,   # as in _conv_fwd_kernel
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,  # tile: out channels x (ci, r, s) x pixels
):
    # bytes: reads grad_output once per (ci, r, s) tile (ceil(CG*KH*KW/BLOCK_N) * N*COUT*HO*WO elements) and the
    # input taps once per output-channel tile; writes SPLIT * COUT*CG*KH*KW elements.
    pid = tl.program_id(0)
    g = tl.program_id(1)
    ks = tl.program_id(2)
    if TAP_MAJOR:
        c_tiles = tl.cdiv(CG, BLOCK_N)
        tiles_n = KH * KW * c_tiles
    else:
        tiles_n = tl.cdiv(CG * KH * KW, BLOCK_N)
    pid_m = pid // tiles_n
    pid_n = pid % tiles_n
    rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)      # output channel within the group
    m_ok = rm < COG
    if TAP_MAJOR:
        tap = pid_n // c_tiles
        r = tap // KW
        s = tap - r * KW
        ci = (pid_n - tap * c_tiles) * BLOCK_N + tl.arange(0, BLOCK_N)
        n_ok = ci < CG
    else:
        rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)  # (ci, r, s) flattened
        n_ok = rn < CG * KH * KW
        ci = rn // (KH * KW)
        r = (rn // KW) % KH
        s = rn % KW
    co = g * COG + rm
    go_base = go_ptr + co.to(tl.int64) * sgc
    x_base = x_ptr + (g * CG + ci).to(tl.int64) * sxc
    K = N * HO * WO
    chunk = tl.cdiv(tl.cdiv(K, SPLIT), BLOCK_K) * BLOCK_K
    k_lo = ks * chunk
    k_hi = tl.minimum(K, k_lo + chunk)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=ACC)
    for k0 in range(k_lo, k_hi, BLOCK_K):
        rk = k0 + tl.arange(0, BLOCK_K)
        k_ok = rk < k_hi
        wo = rk % WO
        ho = (rk // WO) % HO
        nb = (rk // (WO * HO)).to(tl.int64)
        a = tl.load(go_base[:, None] + (nb * sgn + ho * sgh + wo * sgw)[None, :], mask=m_ok[:, None] & k_ok[None, :],
                    other=0)
        if TAP_MAJOR:
            hi = ho * STRIDE_H - PAD_T + r * DIL_H
            wi = wo * STRIDE_W - PAD_L + s * DIL_W
            row_ok = k_ok & (hi >= 0) & (hi < H) & (wi >= 0) & (wi < W)
            b = tl.load(x_base[None, :] + (nb * sxn + hi * sxh + wi * sxw)[:, None],
                        mask=row_ok[:, None] & n_ok[None, :], other=0)
        else:
            hi = (ho * STRIDE_H - PAD_T)[:, None] + (r * DIL_H)[None, :]
            wi = (wo * STRIDE_W - PAD_L)[:, None] + (s * DIL_W)[None, :]
            b_mask = k_ok[:, None] & n_ok[None, :] & (hi >= 0) & (hi < H) & (wi >= 0) & (wi < W)
            b = tl.load(x_base[None, :] + (nb * sxn)[:, None] + hi * sxh + wi * sxw, mask=b_mask, other=0)
        acc = _dot_acc(a, b, acc, UPCAST, PRECISION, ACC)
    w_off = ks.to(tl.int64) * s_split + (co.to(tl.int64) * swo)[:, None] + (ci * swc + r * swh + s * sww)[None, :]
    tl.store(gw_ptr + w_off, acc.to(gw_ptr.dtype.element_ty), mask=m_ok[:, None] & n_ok[None, :])


@triton.jit
def _sum_splits_kernel(part_ptr, out_ptr, E, SPLIT, BLOCK: tl.constexpr):
    # part (SPLIT, E) contiguous split-K partials (fp32/fp64), out (E,) contiguous weight gradient; sums in a fixed
    # order (deterministic). bytes: reads SPLIT*E partials, writes E elements.
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    ok = offs < E
    acc = tl.load(part_ptr + offs, mask=ok, other=0)
    for i in range(1, SPLIT):
        acc += tl.load(part_ptr + i * E + offs, mask=ok, other=0)
    tl.store(out_ptr + offs, acc.to(out_ptr.dtype.element_ty), mask=ok)


# ================================================================================================ geometry

class _Geom:
    """One convolution in 2-D, batched, forward terms: input (n, cin, h, w), weight (cout, cin/groups, kh, kw),
    output (n, cout, ho, wo); stride (sh, sw), zero padding top/bottom/left/right, dilation (dh, dw). `batched`
    is False for an unbatched call (its tensors lack the n dim); `nd` is 1 for conv1d (h = kh = ho = 1)."""

    __slots__ = ("n", "cin", "h", "w", "cout", "kh", "kw", "sh", "sw", "pt", "pb", "pl", "pr", "dh", "dw",
                 "groups", "ho", "wo", "batched", "nd")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)

    @property
    def cg(self):
        return self.cin // self.groups

    @property
    def cog(self):
        return self.cout // self.groups

    def _shape(self, c, h, w):
        tail = (c, w) if self.nd == 1 else (c, h, w)
        return ((self.n,) + tail) if self.batched else tail

    def x_shape(self):
        return self._shape(self.cin, self.h, self.w)

    def y_shape(self):
        return self._shape(self.cout, self.ho, self.wo)

    def w_shape(self):
        return (self.cout, self.cg, self.kw) if self.nd == 1 else (self.cout, self.cg, self.kh, self.kw)

    def __repr__(self):
        return "_Geom(" + ", ".join(f"{k}={getattr(self, k)}" for k in self.__slots__) + ")"


_LEGACY = {_dt.float32: "Float", _dt.float64: "Double", _dt.float16: "Half", _dt.bfloat16: "BFloat16",
           _dt.int64: "Long", _dt.int32: "Int", _dt.int16: "Short", _dt.int8: "Char", _dt.uint8: "Byte",
           _dt.bool_: "Bool"}


_CPP_NAMES = {_dt.float32: "float", _dt.float64: "double", _dt.float16: "c10::Half", _dt.bfloat16: "c10::BFloat16",
              _dt.int64: "long int", _dt.int32: "int", _dt.int16: "short int", _dt.int8: "signed char",
              _dt.uint8: "unsigned char", _dt.bool_: "bool"}


def _legacy_type(t: Tensor) -> str:
    return ("torch.cuda." if t.device.type == "cuda" else "torch.") + _LEGACY[t.dtype] + "Tensor"


def _require_tensor(fn: str, name: str, pos: int, x) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not {type(x).__name__}")


def _int_tuple(name: str, v, nd: int) -> tuple:
    """PyTorch's expansion of an int or a length-1 list to one value per spatial dim."""
    if isinstance(v, (int, np.integer)):
        return (int(v),) * nd
    v = tuple(int(i) for i in v)
    if len(v) == 1:
        return v * nd
    if len(v) != nd:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {nd} values to match the "
                           f"convolution dimensions, but got {name}={list(v)}")
    return v


def _check_tensors(fn: str, input, weight, bias, names=("input", "weight")):
    _require_tensor(fn, names[0], 1, input)
    _require_tensor(fn, names[1], 2, weight)
    if bias is not None:
        _require_tensor(fn, "bias", 3, bias)
    dev = device_of(input, weight, *(() if bias is None else (bias,)))
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"Input type ({_legacy_type(input)}) and weight type ({_legacy_type(weight)}) should be "
                           f"the same or input should be a MKLDNN tensor and weight is a dense tensor")
    if bias is not None and bias.dtype is not input.dtype:
        raise RuntimeError(f"Input type ({_CPP_NAMES[input.dtype]}) and bias type ({_CPP_NAMES[bias.dtype]}) should "
                           f"be the same")
    if input.dtype not in DTYPES:
        raise RuntimeError(f'"{fn}" not implemented for \'{_LEGACY[input.dtype]}\'')
    return dev


def _check_input_rank(fn: str, xs: tuple, nd: int) -> bool:
    if len(xs) not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {fn}, but got input of "
                           f"size: {list(xs)}")
    return len(xs) == nd + 2


def _check_weight_rank(ws: tuple, xb: tuple, nd: int, stride) -> None:
    if len(ws) == nd + 2:
        return
    if len(ws) < nd + 2 and len(ws) >= 3:
        raise RuntimeError(f"expected stride to be a single integer value or a list of {len(ws) - 2} values to match "
                           f"the convolution dimensions, but got stride={list(_int_tuple('stride', stride, nd))}")
    raise RuntimeError(f"Expected {len(ws)}-dimensional input for {len(ws)}-dimensional weight {list(ws)}, but got "
                       f"{len(xb)}-dimensional input of size {list(xb)} instead")


def _check_params(s, d, pads, groups) -> None:
    if any(p < 0 for pair in pads for p in pair):
        raise RuntimeError("negative padding is not supported")
    if any(v <= 0 for v in s):
        raise RuntimeError("non-positive stride is not supported")
    if any(v <= 0 for v in d):
        raise RuntimeError("non-positive dilation is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")


def _check_groups(ws: tuple, groups: int) -> None:
    if ws[0] < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, but got "
                           f"weight of size {list(ws)} instead")
    if ws[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size [{list(ws)}] instead")


def _as2d(nd: int, vals: tuple, fill) -> tuple:
    """Per-dim values of a 1-D convolution as 2-D ones (a height-1 dim in front)."""
    return (fill,) + tuple(vals) if nd == 1 else tuple(vals)


_GEOMS: dict = {}  # call -> geometry: a training loop validates the same few convolutions every step
_MAX_GEOMS = 1024


def _forward_geom(fn: str, xs: tuple, ws: tuple, bias_shape, stride, padding, dilation, groups, nd: int) -> _Geom:
    """Validate a convolution call (shapes and parameters, PyTorch's messages) and return its geometry (never
    modified by its users, so one object serves every call alike; a call that raises is not remembered)."""
    try:
        key = (fn, tuple(xs), tuple(ws), bias_shape, stride, padding, dilation, groups, nd)
        return _GEOMS[key]
    except KeyError:
        g = _forward_geom_uncached(fn, xs, ws, bias_shape, stride, padding, dilation, groups, nd)
        if len(_GEOMS) < _MAX_GEOMS:
            _GEOMS[key] = g
        return g
    except TypeError:  # an unhashable parameter (a list): validate it every time
        return _forward_geom_uncached(fn, xs, ws, bias_shape, stride, padding, dilation, groups, nd)


def _forward_geom_uncached(fn: str, xs: tuple, ws: tuple, bias_shape, stride, padding, dilation, groups,
                           nd: int) -> _Geom:
    batched = _check_input_rank(fn, xs, nd)
    xb = xs if batched else (1,) + xs
    _check_weight_rank(ws, xb, nd, stride)
    s = _int_tuple("stride", stride, nd)
    d = _int_tuple("dilation", dilation, nd)
    ks = ws[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if any(v != 1 for v in s):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            # the total padding d*(k-1) split as PyTorch does: the extra one (even kernels) at the end
            pads = tuple((di * (ki - 1) // 2, di * (ki - 1) - di * (ki - 1) // 2) for di, ki in zip(d, ks))
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    elif nd == 2 and isinstance(padding, tuple) and len(padding) == 4:
        # tritorch-internal (the backward of conv_transpose2d): (top, bottom, left, right); a negative bottom/right
        # drops trailing rows/columns that no tap reads
        pads = ((int(padding[0]), int(padding[1])), (int(padding[2]), int(padding[3])))
    else:
        pads = tuple((p, p) for p in _int_tuple("padding", padding, nd))
    _check_params(s, d, tuple((a, max(b, 0)) for a, b in pads), groups)
    _check_groups(ws, groups)
    if xb[1] != ws[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(ws)}, expected input{list(xb)} to have "
                           f"{ws[1] * groups} channels, but got {xb[1]} channels instead")
    if bias_shape is not None and (len(bias_shape) != 1 or bias_shape[0] != ws[0]):
        raise RuntimeError(f"Given weight of size {list(ws)}, expected bias to be 1-dimensional with {ws[0]} "
                           f"elements, but got bias of size {list(bias_shape)} instead")
    padded = tuple(xb[2 + i] + pads[i][0] + pads[i][1] for i in range(nd))
    dk = tuple(d[i] * (ks[i] - 1) + 1 for i in range(nd))
    if any(p < k for p, k in zip(padded, dk)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel "
                           f"size: ({' x '.join(map(str, dk))}). Kernel size can't be greater than actual input size")
    out = tuple((padded[i] - dk[i]) // s[i] + 1 for i in range(nd))
    sp, kk, ss, dd, oo = (_as2d(nd, xb[2:], 1), _as2d(nd, ks, 1), _as2d(nd, s, 1), _as2d(nd, d, 1),
                          _as2d(nd, out, 1))
    pp = _as2d(nd, pads, (0, 0))
    return _Geom(n=xb[0], cin=xb[1], h=sp[0], w=sp[1], cout=ws[0], kh=kk[0], kw=kk[1], sh=ss[0], sw=ss[1],
                 pt=pp[0][0], pb=pp[0][1], pl=pp[1][0], pr=pp[1][1], dh=dd[0], dw=dd[1], groups=groups,
                 ho=oo[0], wo=oo[1], batched=batched, nd=nd)


def _transposed_geom(fn: str, xs: tuple, ws: tuple, bias_shape, stride, padding, output_padding, groups,
                     dilation) -> _Geom:
    """conv_transpose2d's geometry, in the terms of the convolution it is the input gradient of: its input is
    that convolution's output (cout = weight.shape[0] channels) and its result that convolution's input."""
    batched = _check_input_rank(fn, xs, 2)
    xb = xs if batched else (1,) + xs
    _check_weight_rank(ws, xb, 2, stride)
    if isinstance(padding, str):
        raise TypeError(f"{fn}(): argument 'padding' must be tuple of ints, not str")
    s = _int_tuple("stride", stride, 2)
    d = _int_tuple("dilation", dilation, 2)
    p = _int_tuple("padding", padding, 2)
    op = _int_tuple("output_padding", output_padding, 2)
    _check_params(s, d, tuple((v, v) for v in p), groups)
    if any(v < 0 for v in op):
        raise RuntimeError("negative output_padding is not supported")
    _check_groups(ws, groups)
    if xb[1] != ws[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(ws)}, expected input{list(xb)} to have "
                           f"{ws[0]} channels, but got {xb[1]} channels instead")
    if bias_shape is not None and (len(bias_shape) != 1 or bias_shape[0] != ws[1] * groups):
        raise RuntimeError(f"Given transposed=1, weight of size {list(ws)}, expected bias to be 1-dimensional with "
                           f"{ws[1] * groups} elements, but got bias of size {list(bias_shape)} instead")
    if any(o >= si and o >= di for o, si, di in zip(op, s, d)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but got "
                           f"output_padding_height: {op[0]} output_padding_width: {op[1]} stride_height: {s[0]} "
                           f"stride_width: {s[1]} dilation_height: {d[0]} dilation_width: {d[1]}")
    size = tuple((xb[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (ws[2 + i] - 1) + op[i] + 1 for i in range(2))
    if any(v <= 0 for v in size):
        raise RuntimeError(f"Given input size per channel: ({xb[2]} x {xb[3]}). Calculated output size per channel: "
                           f"({size[0]} x {size[1]}). Output size is too small")
    return _Geom(n=xb[0], cin=ws[1] * groups, h=size[0], w=size[1], cout=ws[0], kh=ws[2], kw=ws[3], sh=s[0],
                 sw=s[1], pt=p[0], pb=p[0], pl=p[1], pr=p[1], dh=d[0], dw=d[1], groups=groups,
                 ho=xb[2], wo=xb[3], batched=batched, nd=2)


# ========================================================================================= NumPy fallbacks

def _np_in(t: Tensor) -> np.ndarray:
    """The operand as NumPy computes it: fp16/bf16 widen to fp32 (no half-precision BLAS)."""
    a = t._data
    return a.astype(np.float32) if t.dtype in _HALF else a


def _np_4d(a: np.ndarray, g: _Geom) -> np.ndarray:
    """(n, c, h, w) view of an operand given in the call's layout (unbatched and/or 1-D)."""
    if g.nd == 1:
        a = a[..., None, :]
    return a if g.batched else a[None]


def _np_weight4d(a: np.ndarray, g: _Geom) -> np.ndarray:
    return a[:, :, None, :] if g.nd == 1 else a


def _np_out(a: np.ndarray, g: _Geom, shape: tuple, dtype: _dt.dtype) -> np.ndarray:
    """Back to the call's layout and dtype (rounded once for fp16/bf16)."""
    a = a.reshape(shape)
    return a if a.dtype == dtype.np else a.astype(dtype.np)


def _np_padded(x: np.ndarray, g: _Geom) -> np.ndarray:
    if not (g.pt or g.pb or g.pl or g.pr):
        return x
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + g.pt + g.pb, w + g.pl + g.pr), x.dtype)
    h_in, w_in = h + min(g.pb, 0), w + min(g.pr, 0)  # a negative bottom/right padding crops
    xp[:, :, g.pt:g.pt + h_in, g.pl:g.pl + w_in] = x[:, :, :h_in, :w_in]
    return xp


def _np_window(x: np.ndarray, g: _Geom) -> np.ndarray:
    """(n, cin, kh, kw, ho, wo) strided view of the padded input: the input element under every (kernel tap,
    output) pair. im2col is a copy of a block of samples of it."""
    xp = _np_padded(x, g)
    sn, sc, sh, sw = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, (g.n, g.cin, g.kh, g.kw, g.ho, g.wo), (sn, sc, sh * g.dh, sw * g.dw, sh * g.sh, sw * g.sw),
        writeable=False)


def _pointwise(g: _Geom) -> bool:
    """A 1x1 kernel at stride 1 without padding: the columns are the input itself (no im2col copy)."""
    return (g.kh == g.kw == g.sh == g.sw == 1 and not (g.pt or g.pb or g.pl or g.pr))


# Below this many output pixels per sample, the samples of a block go side by side into one GEMM ("wide" layout,
# columns (groups, K, b*ho*wo)): a per-sample GEMM that narrow runs far below BLAS's speed.
_WIDE_PIXELS = 64


def _wide(g: _Geom) -> bool:
    return g.ho * g.wo < _WIDE_PIXELS


class _Columns:
    """im2col of a convolution's input, a block of samples at a time: columns(block) is (b, groups, cg*kh*kw,
    ho*wo), or (groups, cg*kh*kw, b*ho*wo) in the wide layout; rows ordered (ci, r, s). Each worker thread gets
    its own buffer, sized for one block."""

    def __init__(self, x: np.ndarray, g: _Geom):
        self.g = g
        self.x = x
        self.wide = _wide(g)
        self.win = None if _pointwise(g) else _np_window(x, g)

    def buffer(self, b: int) -> np.ndarray | None:
        g = self.g
        if self.win is None:
            return None
        shape = (g.cin, g.kh, g.kw, b, g.ho, g.wo) if self.wide else (b, g.cin, g.kh, g.kw, g.ho, g.wo)
        return np.empty(shape, self.x.dtype)

    def __call__(self, block: slice, buf) -> np.ndarray:
        g = self.g
        b = block.stop - block.start
        k, p = g.cg * g.kh * g.kw, g.ho * g.wo
        if self.win is None:
            x = self.x[block].reshape(b, g.groups, g.cg, p)
            return np.ascontiguousarray(x.transpose(1, 2, 0, 3)).reshape(g.groups, k, b * p) if self.wide else x
        if self.wide:
            cols = buf if buf.shape[3] == b else np.empty(buf.shape[:3] + (b,) + buf.shape[4:], buf.dtype)
            np.copyto(cols, self.win[block].transpose(1, 2, 3, 0, 4, 5))
            return cols.reshape(g.groups, k, b * p)
        cols = buf[:b]
        np.copyto(cols, self.win[block])
        return cols.reshape(b, g.groups, k, p)


def _np_side_by_side(a: np.ndarray) -> np.ndarray:
    """(b, groups, c, p) -> (groups, c, b*p): a block's samples side by side, the wide layout's GEMM operand."""
    b, groups, c, p = a.shape
    return np.ascontiguousarray(a.transpose(1, 2, 0, 3)).reshape(groups, c, b * p)


def _np_taps(g: _Geom):
    """(r, s, row slice, column slice) of every kernel tap in the padded image, for all outputs at once."""
    h_span, w_span = (g.ho - 1) * g.sh + 1, (g.wo - 1) * g.sw + 1
    for r in range(g.kh):
        for s in range(g.kw):
            yield r, s, slice(r * g.dh, r * g.dh + h_span, g.sh), slice(s * g.dw, s * g.dw + w_span, g.sw)


def _depthwise(g: _Geom) -> bool:
    """One input channel per group: a GEMM of depth kh*kw is all BLAS would get, so taps are summed directly."""
    return g.cg == 1 and g.groups > 1


def _np_depthwise_correlate(src: np.ndarray, w4: np.ndarray, top: int, left: int, out_h: int, out_w: int,
                            dh: int, dw: int) -> np.ndarray:
    """(n, groups*cog, out_h, out_w): y[n, (c, o), i, j] = sum_{r, s} src[n, c, i + r*dh - top, j + s*dw - left]
    * w4[c, o, r, s] (zero outside src), at stride 1. Each plane is zero-padded and flattened row by row, so every
    tap reads one contiguous run of out_h rows of the padded width: the products are computed over that width
    (columns past out_w wrap into the next row and are dropped at the end), in long contiguous NumPy loops."""
    n, groups = src.shape[:2]
    cog, kh, kw = w4.shape[1:]
    hp, wp = out_h + dh * (kh - 1), out_w + dw * (kw - 1)
    run = out_h * wp
    dtype = np.result_type(src, w4)
    hh, ww = min(src.shape[2], hp - top), min(src.shape[3], wp - left)
    y = np.empty((n, groups * cog, out_h, out_w), dtype)

    def work(samples):
        b = len(samples)
        flat = np.zeros((b, groups, 1, hp * wp + dw * (kw - 1)), dtype)  # the tail: the last tap's run overreaches
        plane = flat[:, :, 0, :hp * wp].reshape(b, groups, hp, wp)
        plane[:, :, top:top + hh, left:left + ww] = src[samples.start:samples.stop, :, :hh, :ww]
        out = np.empty((b, groups, cog, run), dtype)
        product = np.empty_like(out)
        for r in range(kh):
            for s in range(kw):
                start = r * dh * wp + s * dw
                taps = flat[..., start:start + run]
                if r == 0 and s == 0:
                    np.multiply(taps, w4[:, :, r, s, None], out=out)
                else:
                    out += np.multiply(taps, w4[:, :, r, s, None], out=product)
        y[samples.start:samples.stop] = out.reshape(b, groups * cog, out_h, wp)[..., :out_w]

    _over_batch(work, n, n * groups * cog * run * kh * kw * 8)  # NumPy elementwise: ~8x a BLAS multiply-add
    return y


def _np_depthwise_conv(x: np.ndarray, w: np.ndarray, g: _Geom) -> np.ndarray:
    w4 = w.reshape(g.groups, g.cog, g.kh, g.kw)
    if g.sh == g.sw == 1:
        return _np_depthwise_correlate(x, w4, g.pt, g.pl, g.ho, g.wo, g.dh, g.dw)
    xp = _np_padded(x, g)
    out = np.zeros((g.n, g.groups, g.cog, g.ho, g.wo), np.result_type(xp, w4))
    for r, s, hs, ws in _np_taps(g):
        if g.cog == 1:
            out[:, :, 0] += xp[:, :, hs, ws] * w4[:, 0, r, s, None, None]
        else:
            out += xp[:, :, None, hs, ws] * w4[:, :, r, s, None, None]
    return out


def _np_depthwise_input_grad(go: np.ndarray, w: np.ndarray, g: _Geom) -> np.ndarray:
    w4 = w.reshape(g.groups, g.cog, g.kh, g.kw)
    top, left = g.dh * (g.kh - 1) - g.pt, g.dw * (g.kw - 1) - g.pl
    if g.sh == g.sw == 1 and g.cog == 1 and top >= 0 and left >= 0:
        # the correlation of grad_output with the flipped kernel
        return _np_depthwise_correlate(go, w4[:, :, ::-1, ::-1], top, left, g.h, g.w, g.dh, g.dw)
    go5 = go.reshape(g.n, g.groups, g.cog, g.ho, g.wo)
    gx = np.zeros((g.n, g.cin, g.h + g.pt + max(g.pb, 0), g.w + g.pl + max(g.pr, 0)), np.result_type(go5, w4))
    for r, s, hs, ws in _np_taps(g):
        if g.cog == 1:
            gx[:, :, hs, ws] += go5[:, :, 0] * w4[:, 0, r, s, None, None]
        else:
            gx[:, :, hs, ws] += np.einsum("ngohw,go->nghw", go5, w4[:, :, r, s])
    return gx[:, :, g.pt:g.pt + g.h, g.pl:g.pl + g.w]


def _np_depthwise_weight_grad(x: np.ndarray, go: np.ndarray, g: _Geom) -> np.ndarray:
    xp = _np_padded(x, g)
    go5 = go.reshape(g.n, g.groups, g.cog, g.ho, g.wo)
    gw = np.zeros((g.groups, g.cog, g.kh, g.kw), np.result_type(xp, go5))
    for r, s, hs, ws in _np_taps(g):
        gw[:, :, r, s] = np.einsum("nghw,ngohw->go", xp[:, :, hs, ws], go5)
    return gw.reshape(g.cout, 1, g.kh, g.kw)


# Multiply-adds per part of the batch that a call is split into: each part is one task on the shared thread pool,
# so the cores share the work dynamically (a core busy with another process takes fewer parts); a part smaller
# than this costs more in hand-off than it gains.
_PART_MACS = 1 << 22
_MAX_PARTS = 8
# Samples are processed in blocks whose columns take about this many bytes, so that the im2col copy is still in
# the L2 cache when the GEMM reads it (and the GEMM's result when col2im reads it); a block is one Python
# iteration, so small images go several samples at a time.
_BLOCK_BYTES = 1 << 19
# col2im's kh*kw strided adds cost mostly per NumPy call: it pays to make them larger, out of L2 (into L3).
_COL2IM_BLOCK_BYTES = 1 << 21


def _batch_parts(n: int, macs: int) -> list:
    """The sample ranges a call runs as tasks on the thread pool: a power of two of them (so two cores finish
    together), at least _PART_MACS of work each. They depend on the shapes alone, so that sums over the batch (the
    weight gradient) are bitwise the same on any machine and thread count."""
    parts = min(n, _MAX_PARTS, macs // _PART_MACS)
    parts = 1 << (max(parts, 1).bit_length() - 1)
    return [range(n * i // parts, n * (i + 1) // parts) for i in range(parts)]


def _blocks(samples: range, per_sample_elems: int, itemsize: int, block_bytes: int = _BLOCK_BYTES) -> list:
    """`samples` as slices of a few samples each, of about `block_bytes` of columns."""
    b = max(1, block_bytes // max(1, per_sample_elems * itemsize))
    return [slice(i, min(i + b, samples.stop)) for i in range(samples.start, samples.stop, b)]


def _over_batch(work, n: int, macs: int) -> list:
    """[work(samples) for each part of the batch]: the calling thread and the pool's each take the next part not
    yet taken until none is left, so a thread that starts late (a core busy elsewhere, or an idle virtual CPU slow
    to wake) just takes fewer parts instead of holding up the call with a fixed share. OpenBLAS runs on one thread
    meanwhile (see one_blas_thread: one part's im2col/col2im copies overlap another's GEMM)."""
    prime_blas()
    parts = _batch_parts(n, macs)
    with one_blas_thread():
        return parallel_chunks(work, parts)  # the caller and the pool's threads each take the next part left


# Small images (up to _WIDE_PIXELS output pixels, groups=1, a batch of modest size) go channels-last: the
# im2col copy of an (n, ho, wo, kh, kw, cin) window moves cin contiguous elements at a time, where the
# channels-first window moves rows of wo (4 for a 4x4 map), several times slower than the GEMM itself. One GEMM
# for the whole batch on one OpenBLAS thread, no blocks or pool (the whole problem fits in cache). Measured here
# (fwd+bwd, 3x3 p1, batch 32, vs the channels-first blocks): 8x8 maps 1.2-1.3x faster, 16x16 even, 32x32 with 3
# channels 3x slower.
_NHWC_MAX_COLUMNS = 1 << 21


def _nhwc_ok(g: _Geom) -> bool:
    k = g.cin * g.kh * g.kw
    return (g.groups == 1 and g.ho * g.wo <= _WIDE_PIXELS and min(g.pt, g.pb, g.pl, g.pr) >= 0 and k > 0
            and g.n * g.ho * g.wo > 0
            and g.cout > 0 and g.n * g.ho * g.wo * k <= _NHWC_MAX_COLUMNS)


def _nhwc_columns(x: np.ndarray, g: _Geom) -> np.ndarray:
    """(n*ho*wo, kh*kw*cin) im2col of the zero-padded input, channels last."""
    n, c, h, w = x.shape
    xp = np.zeros((n, h + g.pt + g.pb, w + g.pl + g.pr, c), x.dtype)
    xp[:, g.pt:g.pt + h, g.pl:g.pl + w, :] = x.transpose(0, 2, 3, 1)
    sn, sy, sx, sc = xp.strides
    win = np.lib.stride_tricks.as_strided(xp, (n, g.ho, g.wo, g.kh, g.kw, c),
                                          (sn, sy * g.sh, sx * g.sw, sy * g.dh, sx * g.dw, sc), writeable=False)
    return np.ascontiguousarray(win).reshape(n * g.ho * g.wo, g.kh * g.kw * c)


def _nhwc_weight(w: np.ndarray, g: _Geom) -> np.ndarray:
    """(cout, kh*kw*cin): the weight with its columns in the channels-last im2col order."""
    return np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(g.cout, g.kh * g.kw * g.cin)


def _nhwc_rows(go: np.ndarray, g: _Geom) -> np.ndarray:
    """grad_output (n, cout, ho, wo) as (n*ho*wo, cout)."""
    return np.ascontiguousarray(go.reshape(g.n, g.cout, g.ho, g.wo).transpose(0, 2, 3, 1)).reshape(-1, g.cout)


def _nhwc_conv(x, w, bias, g):
    out = np.matmul(_nhwc_columns(x, g), _nhwc_weight(w, g).T)          # (n*ho*wo, cout)
    if bias is not None:
        out += bias
    return np.ascontiguousarray(out.reshape(g.n, g.ho, g.wo, g.cout).transpose(0, 3, 1, 2))


def _nhwc_weight_grad(x, go, g):
    gw = np.matmul(_nhwc_rows(go, g).T, _nhwc_columns(x, g))             # (cout, kh*kw*cin)
    return np.ascontiguousarray(gw.reshape(g.cout, g.kh, g.kw, g.cin).transpose(0, 3, 1, 2))


def _nhwc_input_grad(go, w, bias, g):
    taps = np.matmul(_nhwc_rows(go, g), _nhwc_weight(w, g)).reshape(g.n, g.ho, g.wo, g.kh, g.kw, g.cin)
    gxp = np.zeros((g.n, g.h + g.pt + g.pb, g.w + g.pl + g.pr, g.cin), taps.dtype)
    span_y, span_x = g.sh * (g.ho - 1) + 1, g.sw * (g.wo - 1) + 1
    for r in range(g.kh):           # col2im: one strided add per kernel tap
        for c in range(g.kw):
            y0, x0 = r * g.dh, c * g.dw
            gxp[:, y0:y0 + span_y:g.sh, x0:x0 + span_x:g.sw, :] += taps[:, :, :, r, c, :]
    gx = np.ascontiguousarray(gxp[:, g.pt:g.pt + g.h, g.pl:g.pl + g.w, :].transpose(0, 3, 1, 2))
    if bias is not None:
        gx += bias.reshape(g.cin, 1, 1)
    return gx


def _one_gemm(fn, *args):
    """fn(*args) for the channels-last path's whole-batch GEMMs: primed and on one OpenBLAS thread, as the batch
    parts run (measured on the digits CNN's 32 -> 64 layer, 4x4 maps, on this shared 2-core machine under load:
    with OpenBLAS's two threads each product took 4-24 ms where one thread takes 0.2-1.6 ms)."""
    prime_blas()
    with one_blas_thread():
        return fn(*args)


def _np_conv(x: np.ndarray, w: np.ndarray, bias, g: _Geom) -> np.ndarray:
    """(n, cout, ho, wo) = per-group weight (cog, cg*kh*kw) @ columns, a block of samples at a time (im2col, then
    one stacked GEMM written straight into the output, then the bias while the block is in cache)."""
    if _nhwc_ok(g):
        return _one_gemm(_nhwc_conv, x, w, bias, g)
    if _depthwise(g):
        out = _np_depthwise_conv(x, w, g).reshape(g.n, g.cout, g.ho, g.wo)
        if bias is not None:
            out += bias.reshape(g.cout, 1, 1)
        return out
    k, p = g.cg * g.kh * g.kw, g.ho * g.wo
    w3 = w.reshape(g.groups, g.cog, k)
    dtype = np.result_type(x, w3)
    out = np.empty((g.n, g.groups, g.cog, p), dtype)
    out_rows = out.reshape(g.n, g.cout, p)
    columns = _Columns(x, g)
    bias_col = None if bias is None else bias.reshape(g.cout, 1)

    def work(samples):
        blocks = _blocks(samples, g.cin * g.kh * g.kw * p, dtype.itemsize)
        buf = columns.buffer(blocks[0].stop - blocks[0].start) if blocks else None
        for blk in blocks:
            if columns.wide:
                prod = np.matmul(w3, columns(blk, buf))  # (groups, cog, b*p)
                np.copyto(out[blk], prod.reshape(g.groups, g.cog, -1, p).transpose(2, 0, 1, 3))
            else:
                np.matmul(w3, columns(blk, buf), out=out[blk])
            if bias_col is not None:
                out_rows[blk] += bias_col

    _over_batch(work, g.n, g.n * g.cout * p * k)
    return out.reshape(g.n, g.cout, g.ho, g.wo)


def _np_col2im_block(cols: np.ndarray, gxp: np.ndarray, g: _Geom) -> None:
    """The adjoint of im2col for a block of samples: columns (b, groups, kh, kw, cg, ho, wo) summed into the zeroed
    padded image gxp (b, groups, cg, hp, wp), kh*kw strided adds of contiguous blocks."""
    gxp.fill(0)
    for r, s, hs, ws in _np_taps(g):
        gxp[:, :, :, hs, ws] += cols[:, :, r, s]


def _np_input_grad(go: np.ndarray, w: np.ndarray, bias, g: _Geom) -> np.ndarray:
    """(n, cin, h, w) = col2im(weight^T @ grad_output) per group, a block of samples at a time (also
    conv_transpose2d, with its bias)."""
    if _nhwc_ok(g):
        return _one_gemm(_nhwc_input_grad, go, w, bias, g)
    if _depthwise(g):
        gx = np.ascontiguousarray(_np_depthwise_input_grad(go, w, g))
        if bias is not None:
            gx += bias.reshape(g.cin, 1, 1)
        return gx
    k, p = g.cg * g.kh * g.kw, g.ho * g.wo
    # rows ordered (r, s, ci): each tap's columns are then one contiguous block for the scatter below
    w3 = w.reshape(g.groups, g.cog, g.cg, g.kh, g.kw).transpose(0, 3, 4, 2, 1).reshape(g.groups, k, g.cog)
    go4 = go.reshape(g.n, g.groups, g.cog, p)
    dtype = np.result_type(w3, go4)
    gx = np.empty((g.n, g.cin, g.h, g.w), dtype)
    hp, wp = g.h + g.pt + max(g.pb, 0), g.w + g.pl + max(g.pr, 0)
    bias3 = None if bias is None else bias.reshape(g.cin, 1, 1)
    wide = _wide(g)

    def work(samples):
        blocks = _blocks(samples, g.groups * k * p, dtype.itemsize, _COL2IM_BLOCK_BYTES)
        b = blocks[0].stop - blocks[0].start if blocks else 0
        cols = None if wide else np.empty((b, g.groups, k, p), dtype)
        gxp = np.empty((b, g.groups, g.cg, hp, wp), dtype)
        for blk in blocks:
            nb = blk.stop - blk.start
            if wide:  # columns (groups, kh, kw, cg, b, ho, wo), viewed with the samples first
                prod = np.matmul(w3, _np_side_by_side(go4[blk]))
                taps = prod.reshape(g.groups, g.kh, g.kw, g.cg, nb, g.ho, g.wo).transpose(4, 0, 1, 2, 3, 5, 6)
            else:
                taps = np.matmul(w3, go4[blk], out=cols[:nb]).reshape(nb, g.groups, g.kh, g.kw, g.cg, g.ho, g.wo)
            _np_col2im_block(taps, gxp[:nb], g)
            dst = gx[blk]
            np.copyto(dst, gxp[:nb].reshape(nb, g.cin, hp, wp)[:, :, g.pt:g.pt + g.h, g.pl:g.pl + g.w])
            if bias3 is not None:
                dst += bias3

    _over_batch(work, g.n, g.n * g.cout * p * k)
    return gx


def _np_weight_grad(x: np.ndarray, go: np.ndarray, g: _Geom) -> np.ndarray:
    """(cout, cg, kh, kw) = sum over the batch of grad_output (cog, ho*wo) @ columns^T, per group: a stacked GEMM
    per block of samples, summed per part of the batch, the parts added in order."""
    if _nhwc_ok(g):
        return _one_gemm(_nhwc_weight_grad, x, go, g)
    if _depthwise(g):
        return _np_depthwise_weight_grad(x, go, g)
    k, p = g.cg * g.kh * g.kw, g.ho * g.wo
    go4 = go.reshape(g.n, g.groups, g.cog, p)
    dtype = np.result_type(x, go4)
    columns = _Columns(x, g)

    def work(samples):
        acc = np.zeros((g.groups, g.cog, k), dtype)
        blocks = _blocks(samples, g.cin * g.kh * g.kw * p, dtype.itemsize)
        b = blocks[0].stop - blocks[0].start if blocks else 0
        buf = columns.buffer(b)
        part = np.empty((b, g.groups, g.cog, k), dtype)
        for blk in blocks:
            nb = blk.stop - blk.start
            cols = columns(blk, buf)
            if columns.wide:  # one GEMM over the block's samples side by side
                acc += np.matmul(_np_side_by_side(go4[blk]), cols.transpose(0, 2, 1), out=part[0])
                continue
            np.matmul(go4[blk], cols.transpose(0, 1, 3, 2), out=part[:nb])
            for i in range(nb):  # in sample order
                acc += part[i]
        return acc

    parts = _over_batch(work, g.n, g.n * g.cout * p * k)
    gw = parts[0]
    for other in parts[1:]:
        gw += other
    return gw.reshape(g.cout, g.cg, g.kh, g.kw)


# ================================================================================== launchers (cuda impls)

def _cuda_4d(arr: CudaArray, g: _Geom) -> tuple:
    """(n, c, h, w) strides of an operand given in the call's layout (size-1 dims added with stride 0)."""
    st = tuple(arr.strides)
    if g.nd == 1:
        st = st[:-1] + (0,) + st[-1:]
    return st if g.batched else (0,) + st


def _cuda_weight4d(arr: CudaArray, g: _Geom) -> tuple:
    st = tuple(arr.strides)
    return st[:2] + (0,) + st[2:] if g.nd == 1 else st


def _pow2_clamp(n: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, 1 << max(0, (n - 1).bit_length())))


def _bucket(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _tap_major(channels: int) -> bool:
    """Tap-major K order when a K step's channel block is mostly live (see the kernels)."""
    return channels >= _TAP_MAJOR_CHANNELS


_TAP_MAJOR_CHANNELS = 16


def _config(bm, bn, bk, stages, warps):
    return triton.Config({"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk}, num_stages=stages, num_warps=warps)


# GPU tiles (fp32 as TF32, fp16, bf16), large to small; shared memory per program at most
# (256 + 64) * 32 * 4 B * 3 stages = 120 KB, registers 128x128 fp32 accumulator over 8 warps = 64 per thread.
# 256x64x32 s3 w8 ran the forward fastest of nine tiles on three of perf/bench_gpu_nn.py's four small-CNN layers
# (H200, Triton 3.6, fp32 as TF32: 0.029 / 0.042 / 0.186 / 0.184 ms; the best of the others 0.032 / 0.060 /
# 0.209 / 0.198), so it joins the race.
_GPU_CONFIGS = [
    _config(256, 64, 32, 3, 8),
    _config(128, 128, 32, 3, 8),
    _config(128, 64, 32, 4, 4),
    _config(64, 128, 32, 4, 4),
    _config(64, 64, 32, 4, 4),
]
# Problems this small gain nothing from tuning (and the GPU test suite would compile every config per shape).
_SMALL_CONFIG = _config(64, 64, 32, 3, 4)
_SMALL_WORK = 1 << 24
# fp64 has no tensor-core path worth tuning: one modest tile.
_FP64_BLOCKS = dict(BLOCK_M=64, BLOCK_N=32, BLOCK_K=16, num_warps=4, num_stages=2)


def _prune_configs(configs, named_args, **kwargs):
    args = {**named_args, **kwargs}
    m, n, k = args["M_KEY"], args["N_KEY"], args["K_KEY"]
    if m * n * k <= _SMALL_WORK:
        return [_SMALL_CONFIG]
    keep = [c for c in configs if c.kwargs["BLOCK_N"] <= max(64, n) and c.kwargs["BLOCK_M"] <= max(64, m)]
    return keep or [_SMALL_CONFIG]


def _tuned(kernel):
    return triton.autotune(configs=_GPU_CONFIGS, key=["M_KEY", "N_KEY", "K_KEY", "KH", "KW", "TAP_MAJOR",
                                                      "PRECISION"],
                           prune_configs_by={"early_config_prune": _prune_configs}, do_bench=_EventTimer())(kernel)


_conv_fwd_tuned = _tuned(_conv_fwd_kernel)
_conv_input_grad_tuned = _tuned(_conv_input_grad_kernel)
_conv_weight_grad_tuned = _tuned(_conv_weight_grad_kernel)


def _fixed_tiles(m: int, n: int, k: int, dtype: _dt.dtype):
    """Tile sizes of an untuned launch (interpreter, fp64), or None: autotune (tl.dot needs every dim >= 16)."""
    if _cuda.INTERPRET:  # few, larger programs run faster in the interpreter
        return dict(BLOCK_M=_pow2_clamp(m, 16, 64), BLOCK_N=_pow2_clamp(n, 16, 32), BLOCK_K=_pow2_clamp(k, 16, 32))
    if dtype is _dt.float64:
        return dict(_FP64_BLOCKS)
    return None


def _launch(kernel, tuned, grid, args, m: int, n: int, k: int, dtype: _dt.dtype, **const) -> None:
    """One launch: fixed tiles under the interpreter and for fp64, else the autotuner keyed on size buckets."""
    keys = (_bucket(m), _bucket(n), _bucket(k))
    tiles = _fixed_tiles(m, n, k, dtype)
    if tiles is None:
        tuned[grid](*args, *keys, **const, **_dot_flags(dtype))
    else:
        kernel[grid](*args, *keys, **const, **_dot_flags(dtype), **tiles)


def _dot_flags(dtype: _dt.dtype) -> dict:
    # fp32 convolutions follow torch.backends.cudnn.allow_tf32 (default True, as PyTorch's cuDNN convolutions do:
    # TF32 tensor cores, a 10-bit mantissa); the interpreter computes either precision in full fp32
    return dict(UPCAST=_cuda.INTERPRET and dtype in _HALF,
                PRECISION="tf32" if dtype is _dt.float32 and _cudnn.allow_tf32 else "ieee",
                ACC=tl.float64 if dtype is _dt.float64 else tl.float32)


def _geom_args(g: _Geom) -> tuple:
    return (g.sh, g.sw, g.pt, g.pl, g.dh, g.dw)


def _launch_forward(x: CudaArray, w: CudaArray, bias, y: CudaArray, g: _Geom, dtype: _dt.dtype) -> None:
    m, k = g.n * g.ho * g.wo, g.cg * g.kh * g.kw
    if m == 0 or g.cog == 0:
        return

    def grid(meta):
        return (_cdiv(m, meta["BLOCK_M"]) * _cdiv(g.cog, meta["BLOCK_N"]), g.groups)

    args = (x, w, y if bias is None else bias, y, g.n, g.cg, g.h, g.w, g.cog, g.ho, g.wo,
            *_cuda_4d(x, g), *_cuda_weight4d(w, g), *_cuda_4d(y, g), 0 if bias is None else bias.strides[0],
            *_geom_args(g))
    _launch(_conv_fwd_kernel, _conv_fwd_tuned, grid, args, m, g.cog, k, dtype, KH=g.kh, KW=g.kw,
            TAP_MAJOR=_tap_major(g.cg), HAS_BIAS=bias is not None)


def _launch_input_grad(go: CudaArray, w: CudaArray, bias, gx: CudaArray, g: _Geom, dtype: _dt.dtype) -> None:
    m, k = g.n * g.h * g.w, g.cog * g.kh * g.kw
    if m == 0 or g.cg == 0:
        return

    def grid(meta):
        return (_cdiv(m, meta["BLOCK_M"]) * _cdiv(g.cg, meta["BLOCK_N"]), g.groups)

    args = (go, w, gx if bias is None else bias, gx, g.n, g.cg, g.h, g.w, g.cog, g.ho, g.wo,
            *_cuda_4d(go, g), *_cuda_weight4d(w, g), *_cuda_4d(gx, g), 0 if bias is None else bias.strides[0],
            *_geom_args(g))
    _launch(_conv_input_grad_kernel, _conv_input_grad_tuned, grid, args, m, g.cg, k, dtype, KH=g.kh, KW=g.kw,
            TAP_MAJOR=_tap_major(g.cog), HAS_BIAS=bias is not None)


# Split-K of the weight gradient: its GEMM has few output tiles (Cout x Cin*KH*KW) and a long pixel reduction, so
# the reduction is cut into chunks of at least _SPLIT_MIN_PIXELS pixels until about _SPLIT_PROGRAMS programs run
# (two waves of an H100's 132 SMs); fp32/fp64 partials are then summed in a fixed order (no atomics).
_SPLIT_PROGRAMS = 264
_SPLIT_MIN_PIXELS = 1024
_SPLIT_TILE = 64   # nominal tile edge for counting output tiles (the tuned tile may differ)
_SUM_BLOCK = 1024


def _split_count(g: _Geom, k: int) -> int:
    ncol = g.kh * g.kw * _cdiv(g.cg, _SPLIT_TILE) * _SPLIT_TILE if _tap_major(g.cg) else g.cg * g.kh * g.kw
    tiles = g.groups * _cdiv(g.cog, _SPLIT_TILE) * _cdiv(ncol, _SPLIT_TILE)
    return max(1, min(_cdiv(_SPLIT_PROGRAMS, tiles), k // _SPLIT_MIN_PIXELS))


def _launch_weight_grad(x: CudaArray, go: CudaArray, gw: CudaArray, g: _Geom, dtype: _dt.dtype) -> None:
    ncol, k = g.cg * g.kh * g.kw, g.n * g.ho * g.wo
    if ncol == 0 or g.cog == 0:
        return
    tap_major = _tap_major(g.cg)
    split = _split_count(g, k)
    gw_strides = _cuda_weight4d(gw, g)
    dest, s_split = gw, 0
    if split > 1:  # partials of the contiguous (cout, cg, kh, kw) result, summed into gw below
        dest = CudaArray.empty((split, g.cout * ncol), np.dtype(np.float64 if dtype is _dt.float64 else np.float32))
        gw_strides, s_split = (ncol, g.kh * g.kw, g.kw, 1), g.cout * ncol

    def grid(meta):
        bn = meta["BLOCK_N"]
        tiles_n = g.kh * g.kw * _cdiv(g.cg, bn) if tap_major else _cdiv(ncol, bn)
        return (_cdiv(g.cog, meta["BLOCK_M"]) * tiles_n, g.groups, split)

    args = (x, go, dest, g.n, g.cg, g.h, g.w, g.cog, g.ho, g.wo,
            *_cuda_4d(x, g), *_cuda_4d(go, g), *gw_strides, s_split, split, *_geom_args(g))
    _launch(_conv_weight_grad_kernel, _conv_weight_grad_tuned, grid, args, g.cog, ncol, _cdiv(k, split),
            dtype, KH=g.kh, KW=g.kw, TAP_MAJOR=tap_major)
    if split > 1:
        e = g.cout * ncol
        _sum_splits_kernel[(_cdiv(e, _SUM_BLOCK),)](dest, gw, e, split, BLOCK=_SUM_BLOCK)


# ================================================================================================ the ops

def _alloc(meta: Meta) -> CudaArray:
    return CudaArray.empty(meta.shape, meta.dtype.np)


def _zero_filled(meta: Meta) -> CudaArray:
    out = _alloc(meta)
    _cuda.memset_zero(out)
    return out


# ------------------------------------------------------------------------------------ conv2d / conv1d

def _conv_infer(fn: str, nd: int):
    def infer(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        dev = _check_tensors(fn, input, weight, bias)
        g = _forward_geom(fn, tuple(input.shape), tuple(weight.shape),
                          None if bias is None else tuple(bias.shape), stride, padding, dilation, groups, nd)
        return Meta(g.y_shape(), input.dtype, dev, g)
    return infer


def _conv_cpu(meta, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    g = meta.aux
    out = _np_conv(_np_4d(_np_in(input), g), _np_weight4d(_np_in(weight), g),
                   None if bias is None else _np_in(bias), g)
    return _np_out(out, g, meta.shape, meta.dtype)


def _conv_cuda(meta, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    g = meta.aux
    y = _alloc(meta)
    _launch_forward(input._data, weight._data, None if bias is None else bias._data, y, g, meta.dtype)
    return y


# ---------------------------------------------------------------------------------------- input grad

def _sizes(name: str, v) -> tuple:
    if not isinstance(v, (tuple, list)) or not all(isinstance(i, (int, np.integer)) for i in v):
        raise TypeError(f"{name} must be a tuple of ints, but got {v!r}")
    return tuple(int(i) for i in v)


def _check_grad_output(go: Tensor, g: _Geom) -> None:
    if tuple(go.shape) != g.y_shape():
        raise RuntimeError(f"Expected grad_output of size {list(g.y_shape())} for this convolution, but got "
                           f"grad_output of size {list(go.shape)}")


def _input_grad_infer(grad_output, weight, *, input_size, stride=1, padding=0, dilation=1, groups=1):
    fn = "conv2d_input_grad"
    dev = _check_tensors(fn, grad_output, weight, None, ("grad_output", "weight"))
    xs = _sizes("input_size", input_size)
    g = _forward_geom(fn, xs, tuple(weight.shape), None, stride, padding, dilation, groups, 2)
    _check_grad_output(grad_output, g)
    return Meta(g.x_shape(), grad_output.dtype, dev, g)


def _input_grad_cpu(meta, grad_output, weight, *, input_size, stride=1, padding=0, dilation=1, groups=1):
    g = meta.aux
    gx = _np_input_grad(_np_4d(_np_in(grad_output), g), _np_weight4d(_np_in(weight), g), None, g)
    return _np_out(np.ascontiguousarray(gx), g, meta.shape, meta.dtype)


def _input_grad_cuda(meta, grad_output, weight, *, input_size, stride=1, padding=0, dilation=1, groups=1):
    g = meta.aux
    gx = _zero_filled(meta) if g.cg == 0 or g.cog == 0 else _alloc(meta)
    _launch_input_grad(grad_output._data, weight._data, None, gx, g, meta.dtype)
    return gx


# --------------------------------------------------------------------------------------- weight grad

def _weight_grad_infer(input, grad_output, *, weight_size, stride=1, padding=0, dilation=1, groups=1):
    fn = "conv2d_weight_grad"
    dev = _check_tensors(fn, input, grad_output, None, ("input", "grad_output"))
    ws = _sizes("weight_size", weight_size)
    g = _forward_geom(fn, tuple(input.shape), ws, None, stride, padding, dilation, groups, 2)
    _check_grad_output(grad_output, g)
    return Meta(ws, input.dtype, dev, g)


def _weight_grad_cpu(meta, input, grad_output, *, weight_size, stride=1, padding=0, dilation=1, groups=1):
    g = meta.aux
    gw = _np_weight_grad(_np_4d(_np_in(input), g), _np_4d(_np_in(grad_output), g), g)
    return _np_out(gw, g, meta.shape, meta.dtype)


def _weight_grad_cuda(meta, input, grad_output, *, weight_size, stride=1, padding=0, dilation=1, groups=1):
    g = meta.aux
    gw = _alloc(meta)
    _launch_weight_grad(input._data, grad_output._data, gw, g, meta.dtype)
    return gw


# ---------------------------------------------------------------------------------- conv_transpose2d

def _transpose_infer(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    fn = "conv_transpose2d"
    dev = _check_tensors(fn, input, weight, bias)
    g = _transposed_geom(fn, tuple(input.shape), tuple(weight.shape), None if bias is None else tuple(bias.shape),
                         stride, padding, output_padding, groups, dilation)
    return Meta(g.x_shape(), input.dtype, dev, g)


def _transpose_cpu(meta, input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    g = meta.aux
    y = _np_input_grad(_np_4d(_np_in(input), g), _np_in(weight), None if bias is None else _np_in(bias), g)
    return _np_out(np.ascontiguousarray(y), g, meta.shape, meta.dtype)


def _transpose_cuda(meta, input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    g = meta.aux
    y = _zero_filled(meta) if g.cg == 0 or g.cog == 0 else _alloc(meta)
    _launch_input_grad(input._data, weight._data, None if bias is None else bias._data, y, g, meta.dtype)
    return y


# ============================================================================================ references
# float64 direct sums over the kernel taps (an einsum per tap), independent of the im2col fallback.

def _ref_geom(x, w, stride, padding, dilation, groups, nd):
    return _forward_geom("ref", x.shape, w.shape, None, stride, padding, dilation, groups, nd)


def _ref_pad(x4, g):
    return np.pad(x4, ((0, 0), (0, 0), (g.pt, g.pb), (g.pl, g.pr)))


def _ref_tap(r, s, g):
    """The slices of the padded input that tap (r, s) reads for all outputs."""
    return (slice(r * g.dh, r * g.dh + (g.ho - 1) * g.sh + 1, g.sh),
            slice(s * g.dw, s * g.dw + (g.wo - 1) * g.sw + 1, g.sw))


def _ref_conv_nd(x, w, b, stride, padding, dilation, groups, nd):
    g = _ref_geom(x, w, stride, padding, dilation, groups, nd)
    xp = _ref_pad(_np_4d(np.asarray(x, np.float64), g), g)
    w4 = _np_weight4d(np.asarray(w, np.float64), g)
    out = np.zeros((g.n, g.cout, g.ho, g.wo))
    for gi in range(groups):
        ci, co = slice(gi * g.cg, (gi + 1) * g.cg), slice(gi * g.cog, (gi + 1) * g.cog)
        for r in range(g.kh):
            for s in range(g.kw):
                hs, ws = _ref_tap(r, s, g)
                out[:, co] += np.einsum("nchw,oc->nohw", xp[:, ci, hs, ws], w4[co, :, r, s])
    if b is not None:
        out += np.asarray(b, np.float64)[:, None, None]
    return out.reshape(g.y_shape())


def _ref_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return _ref_conv_nd(x, w, b, stride, padding, dilation, groups, 2)


def _ref_conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return _ref_conv_nd(x, w, b, stride, padding, dilation, groups, 1)


def _ref_input_grad_geom(go, w, g):
    go4 = _np_4d(np.asarray(go, np.float64), g)
    gx = np.zeros((g.n, g.cin, g.h + g.pt + g.pb, g.w + g.pl + g.pr))
    for gi in range(g.groups):
        ci, co = slice(gi * g.cg, (gi + 1) * g.cg), slice(gi * g.cog, (gi + 1) * g.cog)
        for r in range(g.kh):
            for s in range(g.kw):
                hs, ws = _ref_tap(r, s, g)
                gx[:, ci, hs, ws] += np.einsum("nohw,oc->nchw", go4[:, co], w[co, :, r, s])
    return gx[:, :, g.pt:g.pt + g.h, g.pl:g.pl + g.w]


def _ref_input_grad(go, w, input_size, stride=1, padding=0, dilation=1, groups=1):
    g = _forward_geom("ref", tuple(input_size), w.shape, None, stride, padding, dilation, groups, 2)
    return _ref_input_grad_geom(go, np.asarray(w, np.float64), g).reshape(g.x_shape())


def _ref_weight_grad(x, go, weight_size, stride=1, padding=0, dilation=1, groups=1):
    g = _forward_geom("ref", x.shape, tuple(weight_size), None, stride, padding, dilation, groups, 2)
    xp = _ref_pad(_np_4d(np.asarray(x, np.float64), g), g)
    go4 = _np_4d(np.asarray(go, np.float64), g)
    gw = np.zeros((g.cout, g.cg, g.kh, g.kw))
    for gi in range(groups):
        ci, co = slice(gi * g.cg, (gi + 1) * g.cg), slice(gi * g.cog, (gi + 1) * g.cog)
        for r in range(g.kh):
            for s in range(g.kw):
                hs, ws = _ref_tap(r, s, g)
                gw[co, :, r, s] = np.einsum("nchw,nohw->oc", xp[:, ci, hs, ws], go4[:, co])
    return gw


def _ref_conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    g = _transposed_geom("ref", x.shape, w.shape, None, stride, padding, output_padding, groups, dilation)
    y = _ref_input_grad_geom(x, np.asarray(w, np.float64), g)
    if b is not None:
        y = y + np.asarray(b, np.float64)[:, None, None]
    return y.reshape(g.x_shape())


# ============================================================================================== samples

def _maker(device, dtype, key):
    rng = rng_for("nn_conv", key, dtype.name)

    def mk(shape, **kw):
        return make_tensor(shape, dtype, device, rng=rng, low=-1.0, high=1.0, **kw)

    return mk


def _red(w_shape, groups=1):
    """Products summed into each output element (scales atol)."""
    return max(1, math.prod(w_shape[1:]))


# (input shape, weight shape, bias?, kwargs, name); the first ones are small enough for gradcheck (<= 40 elements)
_CONV2D_CASES = [
    ((1, 2, 3, 3), (2, 2, 2, 2), True, {}, "small"),
    ((1, 1, 4, 4), (2, 1, 3, 3), True, {"stride": 2, "padding": 1}, "small_stride_pad"),
    ((1, 2, 4, 4), (2, 1, 2, 2), False, {"groups": 2, "dilation": 2, "padding": 1}, "small_groups_dilation"),
    ((1, 4, 4), (1, 1, 2, 2), True, {"padding": "same"}, "small_unbatched_same_even"),
    ((1, 1, 5, 4), (1, 1, 3, 2), True, {"stride": (2, 1), "padding": (0, 1)}, "small_asym"),
    ((1, 2, 3, 3), (2, 2, 3, 3), False, {"padding": "valid"}, "small_valid"),
    ((2, 4, 9, 7), (6, 2, 3, 3), True, {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2), "groups": 2},
     "general"),
    ((1, 4, 6, 6), (4, 1, 3, 3), True, {"groups": 4, "padding": "same", "dilation": 2}, "depthwise_same"),
    ((2, 5, 4, 4), (7, 5, 1, 1), True, {}, "1x1"),
    ((1, 3, 17, 19), (5, 3, 3, 3), False, {"stride": 2, "padding": 1}, "odd_17x19"),
    ((0, 2, 5, 5), (3, 2, 3, 3), True, {}, "empty_batch"),
]


def _conv2d_samples(device, dtype):
    mk = _maker(device, dtype, "conv2d")
    for xs, ws, has_b, kw, name in _CONV2D_CASES:
        args = (mk(xs), mk(ws), mk((ws[0],)) if has_b else None)
        yield Sample(args, dict(kw), name=name, reduction_size=_red(ws))
    yield Sample((mk((2, 3, 6, 5), noncontiguous=True), mk((4, 3, 3, 3), noncontiguous=True), mk((4,))),
                 {"padding": 1}, name="noncontig", reduction_size=27)
    yield Sample((mk((5, 6, 2, 3)).permute(2, 3, 0, 1), mk((4, 3, 2, 2)), None), {"stride": 2},
                 name="permuted_input", reduction_size=12)


_CONV1D_CASES = [
    ((1, 2, 7), (3, 2, 3), True, {"stride": 2, "padding": 1}, "small"),
    ((2, 6), (2, 2, 2), True, {"padding": "same", "dilation": 2}, "small_unbatched_same"),
    ((1, 2, 9), (2, 1, 3), False, {"groups": 2, "padding": "valid"}, "small_groups"),
    ((2, 4, 17), (6, 2, 3), True, {"groups": 2, "stride": 2, "dilation": 2, "padding": 3}, "general"),
    ((0, 2, 5), (3, 2, 3), True, {}, "empty_batch"),
]


def _conv1d_samples(device, dtype):
    mk = _maker(device, dtype, "conv1d")
    for xs, ws, has_b, kw, name in _CONV1D_CASES:
        args = (mk(xs), mk(ws), mk((ws[0],)) if has_b else None)
        yield Sample(args, dict(kw), name=name, reduction_size=_red(ws))
    yield Sample((mk((2, 3, 11), noncontiguous=True), mk((4, 3, 3)), mk((4,))), {"padding": 1}, name="noncontig",
                 reduction_size=9)


# (input size, weight shape, kwargs, name): the gradient ops' samples (batched: PyTorch's torch.nn.grad is)
_GRAD_CASES = [
    ((1, 1, 4, 4), (2, 1, 3, 3), {}, "small"),
    ((1, 1, 5, 5), (1, 1, 3, 3), {"stride": 2, "padding": 1}, "small_stride"),
    ((1, 1, 6, 6), (1, 1, 3, 3), {"stride": 2}, "small_stride_uncovered_rows"),
    ((1, 2, 4, 4), (2, 1, 2, 2), {"groups": 2, "dilation": 2, "padding": 1}, "small_groups_dilation"),
    ((2, 4, 9, 7), (6, 2, 3, 3), {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2), "groups": 2}, "general"),
    ((0, 2, 5, 5), (3, 2, 3, 3), {}, "empty_batch"),
]


def _grad_case_geom(xs, ws, kw):
    return _forward_geom("samples", xs, ws, None, kw.get("stride", 1), kw.get("padding", 0), kw.get("dilation", 1),
                         kw.get("groups", 1), 2)


def _input_grad_samples(device, dtype):
    mk = _maker(device, dtype, "conv2d_input_grad")
    for xs, ws, kw, name in _GRAD_CASES:
        g = _grad_case_geom(xs, ws, kw)
        yield Sample((mk(g.y_shape()), mk(ws)), dict(kw, input_size=xs), name=name,
                     reduction_size=g.cog * g.kh * g.kw)
    yield Sample((mk((2, 4, 4, 4), noncontiguous=True), mk((4, 3, 3, 3), noncontiguous=True)),
                 {"input_size": (2, 3, 6, 6)}, name="noncontig", reduction_size=36)


def _weight_grad_samples(device, dtype):
    mk = _maker(device, dtype, "conv2d_weight_grad")
    for xs, ws, kw, name in _GRAD_CASES:
        g = _grad_case_geom(xs, ws, kw)
        yield Sample((mk(xs), mk(g.y_shape())), dict(kw, weight_size=ws), name=name,
                     reduction_size=max(1, g.n * g.ho * g.wo))
    yield Sample((mk((2, 3, 6, 6), noncontiguous=True), mk((2, 4, 4, 4), noncontiguous=True)),
                 {"weight_size": (4, 3, 3, 3)}, name="noncontig", reduction_size=32)


_TRANSPOSE_CASES = [
    ((1, 2, 2, 2), (2, 1, 3, 3), True, {"stride": 2, "padding": 1, "output_padding": 1}, "small_stride_outpad"),
    ((1, 2, 3, 3), (2, 1, 2, 2), True, {"groups": 2, "dilation": 2}, "small_groups_dilation"),
    ((1, 3, 3), (1, 2, 2, 2), True, {}, "small_unbatched"),
    ((1, 1, 3, 2), (1, 2, 2, 3), False, {"stride": (1, 2), "padding": (1, 0)}, "small_asym"),
    ((2, 4, 5, 4), (4, 3, 3, 2), True, {"stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2), "groups": 2},
     "general"),
    ((1, 2, 3, 3), (2, 2, 3, 3), True, {"stride": 1, "dilation": 2, "output_padding": 1}, "outpad_below_dilation"),
    ((0, 2, 3, 3), (2, 3, 3, 3), True, {}, "empty_batch"),
]


def _transpose_samples(device, dtype):
    mk = _maker(device, dtype, "conv_transpose2d")
    for xs, ws, has_b, kw, name in _TRANSPOSE_CASES:
        groups = kw.get("groups", 1)
        args = (mk(xs), mk(ws), mk((ws[1] * groups,)) if has_b else None)
        yield Sample(args, dict(kw), name=name, reduction_size=ws[0] * ws[2] * ws[3] // groups)
    yield Sample((mk((2, 3, 4, 3), noncontiguous=True), mk((3, 2, 3, 3), noncontiguous=True), mk((2,))),
                 {"stride": 2}, name="noncontig", reduction_size=27)


# ============================================================================================== bench specs
# sizes: (batch, in channels, height = width, out channels, kernel) - small CNN layers up to ResNet-50 ones.

_BENCH_SIZES = ((32, 3, 32, 32, 3), (32, 32, 16, 64, 3), (64, 64, 56, 64, 3), (64, 128, 28, 128, 3),
                (64, 256, 14, 256, 3), (64, 256, 56, 64, 1))
_BENCH_DTYPES = (_dt.float32, _dt.float16, _dt.bfloat16)


def _bench_conv(size, device, dtype):
    n, c, hw, co, k = size
    return (make_tensor((n, c, hw, hw), dtype, device), make_tensor((co, c, k, k), dtype, device),
            make_tensor((co,), dtype, device)), {"padding": k // 2}


def _bench_input_grad(size, device, dtype):
    n, c, hw, co, k = size
    return ((make_tensor((n, co, hw, hw), dtype, device), make_tensor((co, c, k, k), dtype, device)),
            {"input_size": (n, c, hw, hw), "padding": k // 2})


def _bench_weight_grad(size, device, dtype):
    n, c, hw, co, k = size
    return ((make_tensor((n, c, hw, hw), dtype, device), make_tensor((n, co, hw, hw), dtype, device)),
            {"weight_size": (co, c, k, k), "padding": k // 2})


def _bench_transpose(size, device, dtype):
    n, c, hw, co, k = size
    return (make_tensor((n, co, hw, hw), dtype, device), make_tensor((co, c, k, k), dtype, device), None), \
        {"padding": k // 2}


def _bench_conv1d(size, device, dtype):
    n, c, length, co, k = size
    return (make_tensor((n, c, length), dtype, device), make_tensor((co, c, k), dtype, device),
            make_tensor((co,), dtype, device)), {"padding": k // 2}


def _conv_flops(size):
    n, c, hw, co, k = size
    return 2 * n * co * hw * hw * c * k * k


def _conv_bytes(size, dtype):
    n, c, hw, co, k = size
    return (n * c * hw * hw + co * c * k * k + n * co * hw * hw) * dtype.itemsize


def _conv1d_flops(size):
    n, c, length, co, k = size
    return 2 * n * co * length * c * k


def _conv1d_bytes(size, dtype):
    n, c, length, co, k = size
    return (n * c * length + co * c * k + n * co * length) * dtype.itemsize


def _conv_bench(make):
    return BenchSpec(sizes=_BENCH_SIZES, make=make, bytes=_conv_bytes, flops=_conv_flops, dtypes=_BENCH_DTYPES)


# ========================================================================================== backward rules
# Every gradient is a registered conv op (or a sum), so each rule runs on both devices and differentiates again.

def _conv_kwargs(kwargs) -> dict:
    return {k: kwargs[k] for k in ("stride", "padding", "dilation", "groups") if k in kwargs}


def _bias_grad(grad, g: _Geom):
    dims = (0, 2, 3) if g.batched else (1, 2)
    if g.nd == 1:
        dims = (0, 2) if g.batched else (1,)
    return grad.sum(dim=dims)


def _conv2d_vjp(ctx, grad):
    x, w = ctx.inputs[0], ctx.inputs[1]
    needs = ctx.needs_input_grad
    kw = _conv_kwargs(ctx.kwargs)
    gx = conv2d_input_grad_op(grad, w, input_size=tuple(x.shape), **kw) if needs[0] else None
    gw = conv2d_weight_grad_op(x, grad, weight_size=tuple(w.shape), **kw) if needs[1] else None
    if len(needs) > 2:
        return gx, gw, (_bias_grad(grad, ctx.meta.aux) if needs[2] else None)
    return gx, gw


def _conv1d_as_2d(kw: dict) -> dict:
    """conv1d's parameters as those of the height-1 conv2d it is computed as."""
    out = {}
    for k in ("stride", "dilation"):
        if k in kw:
            out[k] = (1,) + _int_tuple(k, kw[k], 1)
    if "padding" in kw:
        p = kw["padding"]
        out["padding"] = p if isinstance(p, str) else (0,) + _int_tuple("padding", p, 1)
    if "groups" in kw:
        out["groups"] = kw["groups"]
    return out


def _conv1d_vjp(ctx, grad):
    x, w = ctx.inputs[0], ctx.inputs[1]
    needs = ctx.needs_input_grad
    kw = _conv1d_as_2d(ctx.kwargs)
    g2 = grad.unsqueeze(-2)
    gx = gw = None
    if needs[0]:
        xs = tuple(x.shape)
        gx = conv2d_input_grad_op(g2 if x.ndim == 3 else g2.unsqueeze(0), w.unsqueeze(-2),
                                  input_size=(xs if x.ndim == 3 else (1,) + xs)[:-1] + (1, xs[-1]), **kw)
        gx = gx.squeeze(-2) if x.ndim == 3 else gx.squeeze(-2).squeeze(0)
    if needs[1]:
        x4 = x.unsqueeze(-2) if x.ndim == 3 else x.unsqueeze(-2).unsqueeze(0)
        ws = tuple(w.shape)
        gw = conv2d_weight_grad_op(x4, g2 if x.ndim == 3 else g2.unsqueeze(0), weight_size=ws[:2] + (1, ws[2]),
                                   **kw).squeeze(-2)
    if len(needs) > 2:
        return gx, gw, (_bias_grad(grad, ctx.meta.aux) if needs[2] else None)
    return gx, gw


def _input_grad_vjp(ctx, v):
    # conv2d_input_grad(go, w) is bilinear: d<v, gx>/dgo = conv2d(v, w), d<v, gx>/dw = weight_grad(v, go)
    go, w = ctx.inputs
    ngo, nw = ctx.needs_input_grad
    kw = _conv_kwargs(ctx.kwargs)
    return (conv2d_op(v, w, None, **kw) if ngo else None,
            conv2d_weight_grad_op(v, go, weight_size=tuple(w.shape), **kw) if nw else None)


def _weight_grad_vjp(ctx, u):
    # conv2d_weight_grad(x, go): d<u, gw>/dx = input_grad(go, u), d<u, gw>/dgo = conv2d(x, u)
    x, go = ctx.inputs
    nx, ngo = ctx.needs_input_grad
    kw = _conv_kwargs(ctx.kwargs)
    return (conv2d_input_grad_op(go, u, input_size=tuple(x.shape), **kw) if nx else None,
            conv2d_op(x, u, None, **kw) if ngo else None)


def _transpose_vjp(ctx, grad):
    # y = input_grad(x, w) (+ bias): d/dx = conv2d(grad, w), d/dw = weight_grad(grad, x)
    x, w = ctx.inputs[0], ctx.inputs[1]
    needs = ctx.needs_input_grad
    g = ctx.meta.aux
    # the convolution whose input gradient this is; the rows/columns output_padding adds are read by no tap, so
    # its bottom/right padding is reduced by output_padding (negative: those rows are dropped)
    op_h = g.h - ((g.ho - 1) * g.sh - 2 * g.pt + g.dh * (g.kh - 1) + 1)
    op_w = g.w - ((g.wo - 1) * g.sw - 2 * g.pl + g.dw * (g.kw - 1) + 1)
    kw = dict(stride=(g.sh, g.sw), padding=(g.pt, g.pt - op_h, g.pl, g.pl - op_w), dilation=(g.dh, g.dw),
              groups=g.groups)
    gx = conv2d_op(grad, w, None, **kw) if needs[0] else None
    gw = conv2d_weight_grad_op(grad, x, weight_size=tuple(w.shape), **kw) if needs[1] else None
    if len(needs) > 2:
        return gx, gw, (_bias_grad(grad, ctx.meta.aux) if needs[2] else None)
    return gx, gw


# samples the interpreter skips (cpu only): their cases are covered on cuda by the others
_CPU_ONLY_CONV2D = {"small_asym", "small_valid", "1x1", "odd_17x19", "permuted_input"}
_CPU_ONLY_INPUT_GRAD = {"small_stride", "small_groups_dilation"}
_CPU_ONLY_WEIGHT_GRAD = {"small_stride", "small_groups_dilation"}
_CPU_ONLY_CONV1D = {"small_groups", "small_unbatched_same"}
_CPU_ONLY_TRANSPOSE = {"small_asym", "small_groups_dilation"}

# ============================================================================================ registration

def _torch_input_grad(torch, go, w, *, input_size, **kw):
    return torch.nn.grad.conv2d_input(input_size, w, go, **kw)


def _torch_weight_grad(torch, x, go, *, weight_size, **kw):
    return torch.nn.grad.conv2d_weight(x, weight_size, go, **kw)


conv2d_op = register(OpDef(
    name="conv2d", family=FAMILY, infer=_conv_infer("conv2d", 2), impl={"cpu": _conv_cpu, "cuda": _conv_cuda},
    ref=_ref_conv2d,
    samples=cpu_extras(_conv2d_samples, _CPU_ONLY_CONV2D), bench=_conv_bench(_bench_conv), dtypes=DTYPES,
    vjp=_conv2d_vjp,
    extra={"torch": lambda torch, *a, **k: torch.nn.functional.conv2d(*a, **k)}))

conv2d_input_grad_op = register(OpDef(
    name="conv2d_input_grad", family=FAMILY, infer=_input_grad_infer,
    impl={"cpu": _input_grad_cpu, "cuda": _input_grad_cuda}, ref=_ref_input_grad,
    samples=cpu_extras(_input_grad_samples, _CPU_ONLY_INPUT_GRAD),
    bench=_conv_bench(_bench_input_grad), dtypes=DTYPES, vjp=_input_grad_vjp, extra={"torch": _torch_input_grad}))

conv2d_weight_grad_op = register(OpDef(
    name="conv2d_weight_grad", family=FAMILY, infer=_weight_grad_infer,
    impl={"cpu": _weight_grad_cpu, "cuda": _weight_grad_cuda}, ref=_ref_weight_grad,
    samples=cpu_extras(_weight_grad_samples, _CPU_ONLY_WEIGHT_GRAD),
    bench=_conv_bench(_bench_weight_grad), dtypes=DTYPES, vjp=_weight_grad_vjp, extra={"torch": _torch_weight_grad}))

conv1d_op = register(OpDef(
    name="conv1d", family=FAMILY, infer=_conv_infer("conv1d", 1), impl={"cpu": _conv_cpu, "cuda": _conv_cuda},
    ref=_ref_conv1d, samples=cpu_extras(_conv1d_samples, _CPU_ONLY_CONV1D), dtypes=DTYPES, vjp=_conv1d_vjp,
    bench=BenchSpec(sizes=((32, 64, 1024, 64, 3), (16, 256, 4096, 256, 5)), make=_bench_conv1d,
                    bytes=_conv1d_bytes, flops=_conv1d_flops, dtypes=_BENCH_DTYPES),
    extra={"torch": lambda torch, *a, **k: torch.nn.functional.conv1d(*a, **k)}))

conv_transpose2d_op = register(OpDef(
    name="conv_transpose2d", family=FAMILY, infer=_transpose_infer,
    impl={"cpu": _transpose_cpu, "cuda": _transpose_cuda}, ref=_ref_conv_transpose2d,
    samples=cpu_extras(_transpose_samples, _CPU_ONLY_TRANSPOSE),
    bench=_conv_bench(_bench_transpose), dtypes=DTYPES, vjp=_transpose_vjp,
    extra={"torch": lambda torch, *a, **k: torch.nn.functional.conv_transpose2d(*a, **k)}))


# ============================================================================================ public API

def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """torch.nn.functional.conv2d: input (N, Cin, H, W) or unbatched (Cin, H, W), weight (Cout, Cin/groups, kH, kW);
    padding may be an int, a pair, 'valid' or 'same' (stride 1)."""
    return conv2d_op(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """torch.nn.functional.conv1d: input (N, Cin, L) or unbatched (Cin, L), weight (Cout, Cin/groups, k)."""
    return conv1d_op(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1) -> Tensor:
    """torch.nn.functional.conv_transpose2d: input (N, Cin, H, W) or (Cin, H, W), weight (Cin, Cout/groups, kH, kW);
    the gradient of conv2d with respect to its input, plus a bias."""
    return conv_transpose2d_op(input, weight, bias, stride=stride, padding=padding, output_padding=output_padding,
                               groups=groups, dilation=dilation)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1) -> Tensor:
    """torch.nn.functional.conv_transpose1d: input (N, Cin, L) or (Cin, L), weight (Cin, Cout/groups, k); the 2-d
    op on planes of height 1 (one kernel row, so the same kernels and gradients)."""
    if isinstance(input, Tensor) and input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to conv_transpose1d, but got input of "
                           f"size: {list(input.shape)}")
    if isinstance(weight, Tensor) and weight.dim() != 3:
        raise RuntimeError(f"Expected 3-dimensional weight for conv_transpose1d, but got weight of size "
                           f"{list(weight.shape)}")

    def one(name, v):
        v = tuple(v) if isinstance(v, (tuple, list)) else (v,)
        if len(v) != 1:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of 1 values to match the "
                               f"convolution dimensions, but got {name}={list(v)}")
        return v[0]

    out = conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, one("stride", stride)),
                           (0, one("padding", padding)), (0, one("output_padding", output_padding)), groups,
                           (1, one("dilation", dilation)))
    return out.squeeze(-2)


def _triple(name: str, v) -> tuple:
    v = tuple(v) if isinstance(v, (tuple, list)) else (v, v, v)
    if len(v) != 3:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of 3 values to match the "
                           f"convolution dimensions, but got {name}={list(v)}")
    return tuple(int(i) for i in v)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """torch.nn.functional.conv3d over (N, C, D, H, W) or (C, D, H, W), as one conv2d: the kd depth slices each
    output depth reads are gathered into the channels (C * kd, one index_select), and the output depths go
    into the batch, so the 2-d kernels (and their gradients) do the work. Memory: kd times the input."""
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError("conv3d(): input and weight must be Tensors")
    if input.dim() not in (4, 5):
        raise RuntimeError(f"Expected 4D (unbatched) or 5D (batched) input to conv3d, but got input of size: "
                           f"{list(input.shape)}")
    if weight.dim() != 5:
        raise RuntimeError(f"Expected 5-dimensional weight for conv3d, but got weight of size {list(weight.shape)}")
    x = input if input.dim() == 5 else input.unsqueeze(0)
    n, c = x.shape[:2]
    o, cg, kd, kh, kw = weight.shape
    if c != cg * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(x.shape)} to have {cg * groups} channels, but got {c} channels instead")
    s, d = _triple("stride", stride), _triple("dilation", dilation)
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * 3
        elif padding == "same":
            if any(v != 1 for v in s):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = tuple((t // 2, t - t // 2) for t in (d[i] * (k - 1) for i, k in enumerate((kd, kh, kw))))
        else:
            raise RuntimeError(f"Invalid padding string '{padding}'")
    else:
        p = _triple("padding", padding)
        pads = tuple((v, v) for v in p)
    if any(v for pair in pads for v in pair):
        from .movement import pad as _pad
        x = _pad(x, (pads[2][0], pads[2][1], pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
    depth = x.shape[2]
    d_out = (depth - d[0] * (kd - 1) - 1) // s[0] + 1
    if d_out < 1:
        raise RuntimeError(f"Calculated output size: ({d_out}, ...). Output size is too small")
    from .creation import tensor as _tensor
    taps = (np.arange(d_out)[:, None] * s[0] + np.arange(kd)[None, :] * d[0]).reshape(-1)
    slices = x.index_select(2, _tensor(taps.astype(np.int64), device=x.device))      # (N, C, Do * kd, H, W)
    h, w = x.shape[3], x.shape[4]
    stacked = slices.reshape(n, c, d_out, kd, h, w).permute(0, 2, 1, 3, 4, 5).reshape(n * d_out, c * kd, h, w)
    y = conv2d(stacked, weight.reshape(o, cg * kd, kh, kw), bias, s[1:], 0, d[1:], groups)
    y = y.reshape(n, d_out, o, y.shape[2], y.shape[3]).permute(0, 2, 1, 3, 4)
    return y if input.dim() == 5 else y.squeeze(0)
