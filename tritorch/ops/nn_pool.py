"""Pooling (nn kernels family): max_pool2d (with indices), avg_pool2d, adaptive_avg_pool2d, and their backward ops.

Every kernel is elementwise over one side of the pooling:
  - forwards run one lane per output element and loop over the window's taps (KH x KW constexpr, or the largest
    adaptive window), reading the input through its own strides (zero/-inf padding is a load mask, never a copy);
  - backwards run one lane per INPUT element and gather from the outputs whose windows contain it (at most
    KH x KW candidates), so no atomics are needed and the result is deterministic. max_pool2d's backward adds the
    gradients of the outputs whose saved argmax is this element (PyTorch's scatter, done as a gather).
max_pool2d follows PyTorch's rule: an element replaces the running max when it is greater or NaN (so a NaN
propagates, and its index is the last NaN's); ties keep the first. Indices are flat offsets h * W + w in each plane.

The NumPy fallbacks loop over the KH x KW taps with whole-array strided slices (max/compare/add of output-sized
arrays). max_pool2d finds the max and its first index in two passes (over the column taps along every row, then
over the rows of each window), selecting offsets arithmetically; windows holding a NaN or only -inf take the
sequential rule. Its backward is one fancy-index assignment when windows are disjoint and inside the input
(each element gets at most one gradient), else one np.bincount over (plane, index); adaptive_avg_pool2d is two
small matmuls with averaging matrices (rows x columns), its backward the transposed ones.

Backward rules: max_pool2d -> max_pool2d_backward -> (its rule) a gather of the cotangent at the indices;
avg_pool2d and adaptive_avg_pool2d are linear, so each backward op's rule is the forward op again.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray
from ..tensor import Tensor
from .registry import BenchSpec, Meta, OpDef, Sample, register
from .samples import cpu_extras, make_tensor, rng_for
from .launch import cdiv as _cdiv

FAMILY = "nn_pool"

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]

DTYPES = (_dt.float32, _dt.float64, _dt.float16, _dt.bfloat16)
_HALF = (_dt.float16, _dt.bfloat16)
_BLOCK = 1024 if _cuda.INTERPRET else 256

# ============================================================================================= Triton kernels


@triton.jit
def _plane_coords(offs, C, H, W):
    """(n, c, h, w) of flat offsets over a contiguous (N, C, H, W) index space."""
    w = offs % W
    h = (offs // W) % H
    nc = offs // (W * H)
    return nc // C, nc % C, h, w


@triton.jit
def _max_pool_fwd_kernel(
    x_ptr, y_ptr, idx_ptr,                 # input (N, C, H, W) strided; output and int64 indices (contiguous)
    TOTAL, C, H, W, HO, WO,                # output elements, channels, input size, output size
    sxn, sxc, sxh, sxw,                    # input strides (elements)
    SH, SW, PH, PW, DH, DW,                # stride, padding, dilation
    KH: tl.constexpr, KW: tl.constexpr,    # window size
    ACC: tl.constexpr,                     # compare type: fp32 (fp16/bf16/fp32) or fp64
    BLOCK: tl.constexpr,                   # output elements per program
):
    # bytes: reads KH*KW input elements per output (mostly cached), writes one value and one int64 per output
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    live = offs < TOTAL
    n, c, ho, wo = _plane_coords(offs, C, HO, WO)
    base = x_ptr + n * sxn + c * sxc
    h0 = ho * SH - PH
    w0 = wo * SW - PW
    best = tl.full((BLOCK,), float("-inf"), ACC)
    best_i = tl.full((BLOCK,), -1, tl.int64)
    for r in range(KH):
        h = h0 + r * DH
        for s in range(KW):
            w = w0 + s * DW
            ok = live & (h >= 0) & (h < H) & (w >= 0) & (w < W)
            v = tl.load(base + h * sxh + w * sxw, mask=ok, other=float("-inf")).to(ACC)
            take = ok & ((v > best) | (v != v) | (best_i < 0))
            best = tl.where(take, v, best)
            best_i = tl.where(take, h * W + w, best_i)
    tl.store(y_ptr + offs, best.to(y_ptr.dtype.element_ty), mask=live)
    tl.store(idx_ptr + offs, best_i, mask=live)


@triton.jit
def _max_pool_bwd_kernel(
    g_ptr, idx_ptr, gx_ptr,                # grad_output and indices (N, C, HO, WO) strided; result (N, C, H, W)
    TOTAL, C, H, W, HO, WO,                # input elements, channels, input size, output size
    sgn, sgc, sgh, sgw,                    # grad_output strides
    sin, sic, sih, siw,                    # indices strides
    SH, SW, PH, PW, DH, DW,                # stride, padding, dilation of the forward
    KH: tl.constexpr, KW: tl.constexpr,    # window size
    ACC: tl.constexpr,                     # accumulator: fp32 or fp64
    BLOCK: tl.constexpr,                   # input elements per program
):
    # bytes: reads up to KH*KW (index, grad) pairs per input element (1 per output when windows do not
    # overlap), writes N*C*H*W elements
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    live = offs < TOTAL
    n, c, h, w = _plane_coords(offs, C, H, W)
    me = h * W + w
    acc = tl.zeros((BLOCK,), ACC)
    for r in range(KH):
        th = h + PH - r * DH
        ho = tl.maximum(th, 0) // SH
        h_ok = (th >= 0) & (ho * SH == th) & (ho < HO)
        for s in range(KW):
            tw = w + PW - s * DW
            wo = tl.maximum(tw, 0) // SW
            ok = live & h_ok & (tw >= 0) & (wo * SW == tw) & (wo < WO)
            idx = tl.load(idx_ptr + n * sin + c * sic + ho * sih + wo * siw, mask=ok, other=-1)
            g = tl.load(g_ptr + n * sgn + c * sgc + ho * sgh + wo * sgw, mask=ok & (idx == me), other=0)
            acc += g.to(ACC)
    tl.store(gx_ptr + offs, acc.to(gx_ptr.dtype.element_ty), mask=live)


@triton.jit
def _avg_divisor(ho, wo, H, W, SH, SW, PH, PW, KH: tl.constexpr, KW: tl.constexpr, COUNT_PAD: tl.constexpr,
                 DIVISOR):
    """PyTorch's avg_pool2d divisor of output (ho, wo): divisor_override when > 0, else the window clipped to the
    padded input (count_include_pad) or to the input."""
    hs = ho * SH - PH
    ws = wo * SW - PW
    he = tl.minimum(hs + KH, H + PH)
    we = tl.minimum(ws + KW, W + PW)
    if COUNT_PAD:
        div = (he - hs) * (we - ws)
    else:
        div = (tl.minimum(he, H) - tl.maximum(hs, 0)) * (tl.minimum(we, W) - tl.maximum(ws, 0))
    return tl.where(DIVISOR > 0, DIVISOR, div)


@triton.jit
def _avg_pool_fwd_kernel(
    x_ptr, y_ptr,                          # input (N, C, H, W) strided; output (contiguous)
    TOTAL, C, H, W, HO, WO,                # output elements, channels, input size, output size
    sxn, sxc, sxh, sxw,                    # input strides
    SH, SW, PH, PW,                        # stride, padding
    DIVISOR,                               # divisor_override (0: none)
    KH: tl.constexpr, KW: tl.constexpr,    # window size
    COUNT_PAD: tl.constexpr,               # count_include_pad
    ACC: tl.constexpr,                     # accumulator: fp32 or fp64
    BLOCK: tl.constexpr,                   # output elements per program
):
    # bytes: reads KH*KW input elements per output (mostly cached), writes N*C*HO*WO elements
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    live = offs < TOTAL
    n, c, ho, wo = _plane_coords(offs, C, HO, WO)
    base = x_ptr + n * sxn + c * sxc
    acc = tl.zeros((BLOCK,), ACC)
    for r in range(KH):
        h = ho * SH - PH + r
        for s in range(KW):
            w = wo * SW - PW + s
            ok = live & (h >= 0) & (h < H) & (w >= 0) & (w < W)
            acc += tl.load(base + h * sxh + w * sxw, mask=ok, other=0).to(ACC)
    div = _avg_divisor(ho, wo, H, W, SH, SW, PH, PW, KH, KW, COUNT_PAD, DIVISOR)
    tl.store(y_ptr + offs, (acc / div.to(ACC)).to(y_ptr.dtype.element_ty), mask=live)


@triton.jit
def _avg_pool_bwd_kernel(
    g_ptr, gx_ptr,                         # grad_output (N, C, HO, WO) strided; result (N, C, H, W) contiguous
    TOTAL, C, H, W, HO, WO,                # input elements, channels, input size, output size
    sgn, sgc, sgh, sgw,                    # grad_output strides
    SH, SW, PH, PW,                        # stride, padding of the forward
    DIVISOR,                               # divisor_override (0: none)
    KH: tl.constexpr, KW: tl.constexpr,    # window size
    COUNT_PAD: tl.constexpr,               # count_include_pad
    ACC: tl.constexpr,                     # accumulator: fp32 or fp64
    BLOCK: tl.constexpr,                   # input elements per program
):
    # bytes: reads up to KH*KW gradients per input element (ceil(KH/SH)*ceil(KW/SW) live), writes N*C*H*W
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    live = offs < TOTAL
    n, c, h, w = _plane_coords(offs, C, H, W)
    acc = tl.zeros((BLOCK,), ACC)
    for r in range(KH):
        th = h + PH - r
        ho = tl.maximum(th, 0) // SH
        h_ok = (th >= 0) & (ho * SH == th) & (ho < HO)
        for s in range(KW):
            tw = w + PW - s
            wo = tl.maximum(tw, 0) // SW
            ok = live & h_ok & (tw >= 0) & (wo * SW == tw) & (wo < WO)
            g = tl.load(g_ptr + n * sgn + c * sgc + ho * sgh + wo * sgw, mask=ok, other=0).to(ACC)
            div = _avg_divisor(ho, wo, H, W, SH, SW, PH, PW, KH, KW, COUNT_PAD, DIVISOR)
            acc += g / tl.maximum(div, 1).to(ACC)
    tl.store(gx_ptr + offs, acc.to(gx_ptr.dtype.element_ty), mask=live)


@triton.jit
def _adaptive_fwd_kernel(
    x_ptr, y_ptr,                          # input (N, C, H, W) strided; output (contiguous)
    TOTAL, C, H, W, HO, WO,                # output elements, channels, input size, output size
    sxn, sxc, sxh, sxw,                    # input strides
    MAX_KH, MAX_KW,                        # the largest window height and width
    ACC: tl.constexpr,                     # accumulator: fp32 or fp64
    BLOCK: tl.constexpr,                   # output elements per program
):
    # bytes: reads each input element about once (windows overlap by at most one row/column), writes N*C*HO*WO
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    live = offs < TOTAL
    n, c, ho, wo = _plane_coords(offs, C, HO, WO)
    hs = (ho * H) // HO
    he = ((ho + 1) * H + HO - 1) // HO
    ws = (wo * W) // WO
    we = ((wo + 1) * W + WO - 1) // WO
    base = x_ptr + n * sxn + c * sxc
    acc = tl.zeros((BLOCK,), ACC)
    for r in range(MAX_KH):
        h = hs + r
        for s in range(MAX_KW):
            w = ws + s
            ok = live & (h < he) & (w < we)
            acc += tl.load(base + h * sxh + w * sxw, mask=ok, other=0).to(ACC)
    area = ((he - hs) * (we - ws)).to(ACC)
    tl.store(y_ptr + offs, (acc / area).to(y_ptr.dtype.element_ty), mask=live)


@triton.jit
def _adaptive_bwd_kernel(
    g_ptr, gx_ptr,                         # grad_output (N, C, HO, WO) strided; result (N, C, H, W) contiguous
    TOTAL, C, H, W, HO, WO,                # input elements, channels, input size, output size
    sgn, sgc, sgh, sgw,                    # grad_output strides
    MAX_COVER_H, MAX_COVER_W,              # the most output rows / columns whose windows share an input row / column
    ACC: tl.constexpr,                     # accumulator: fp32 or fp64
    BLOCK: tl.constexpr,                   # input elements per program
):
    # bytes: reads about one gradient per input element (a few where windows overlap), writes N*C*H*W elements
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    live = offs < TOTAL
    n, c, h, w = _plane_coords(offs, C, H, W)
    ho0 = (h * HO) // H          # the first output row whose window can contain row h
    wo0 = (w * WO) // W
    acc = tl.zeros((BLOCK,), ACC)
    for i in range(MAX_COVER_H):
        ho = ho0 + i
        hs = (ho * H) // HO
        he = ((ho + 1) * H + HO - 1) // HO
        h_ok = (ho < HO) & (hs <= h) & (h < he)
        for j in range(MAX_COVER_W):
            wo = wo0 + j
            ws = (wo * W) // WO
            we = ((wo + 1) * W + WO - 1) // WO
            ok = live & h_ok & (wo < WO) & (ws <= w) & (w < we)
            g = tl.load(g_ptr + n * sgn + c * sgc + ho * sgh + wo * sgw, mask=ok, other=0).to(ACC)
            acc += g / tl.maximum((he - hs) * (we - ws), 1).to(ACC)
    tl.store(gx_ptr + offs, acc.to(gx_ptr.dtype.element_ty), mask=live)


# ================================================================================================ geometry

class _Pool:
    """One 2-D pooling: input (n, c, h, w) -> output (n, c, ho, wo); window (kh, kw), stride, padding, dilation;
    `batched` False for an unbatched (c, h, w) call."""

    __slots__ = ("n", "c", "h", "w", "ho", "wo", "kh", "kw", "sh", "sw", "ph", "pw", "dh", "dw", "batched")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)

    def x_shape(self):
        return (self.n, self.c, self.h, self.w) if self.batched else (self.c, self.h, self.w)

    def y_shape(self):
        return (self.n, self.c, self.ho, self.wo) if self.batched else (self.c, self.ho, self.wo)

    def __repr__(self):
        return "_Pool(" + ", ".join(f"{k}={getattr(self, k)}" for k in self.__slots__) + ")"


_LEGACY = {_dt.float32: "Float", _dt.float64: "Double", _dt.float16: "Half", _dt.bfloat16: "BFloat16",
           _dt.int64: "Long", _dt.int32: "Int", _dt.int16: "Short", _dt.int8: "Char", _dt.uint8: "Byte",
           _dt.bool_: "Bool"}


def _check_input(fn: str, x, adaptive=False) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    if x.dtype not in DTYPES:
        raise RuntimeError(f'"{fn}" not implemented for \'{_LEGACY[x.dtype]}\'')


def _pair(fn: str, name: str, v, allow_none=False) -> tuple | None:
    if v is None and allow_none:
        return None
    if isinstance(v, (int, np.integer)):
        return (int(v), int(v))
    v = tuple(v)
    if allow_none and len(v) == 0:
        return None
    if len(v) == 1:
        return (int(v[0]), int(v[0]))
    if len(v) != 2:
        if name == "stride":
            raise RuntimeError(f"{fn}: stride must either be omitted, a single int, or a tuple of two ints")
        if name == "dilation":
            raise RuntimeError(f"{fn}: dilation must be either a single int, or a tuple of two ints")
        raise RuntimeError(f"{fn}: {name} must either be a single int, or a tuple of two ints")
    return (int(v[0]), int(v[1]))


def _out_size(size, k, pad, stride, dil, ceil_mode) -> int:
    """PyTorch's pooling_output_shape: in ceil mode the last window must start inside the input or left padding."""
    o = (size + 2 * pad - dil * (k - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (o - 1) * stride >= size + pad:
        o -= 1
    return o


def _pool_geom(fn: str, shape: tuple, kernel_size, stride, padding, dilation, ceil_mode) -> _Pool:
    """Validate a max/avg pooling call with PyTorch's messages and return its geometry."""
    if len(shape) not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    k = _pair(fn, "kernel_size", kernel_size)
    s = _pair(fn, "stride", stride, allow_none=True) or k
    p = _pair(fn, "padding", padding)
    d = _pair(fn, "dilation", dilation)
    if 0 in s:
        raise RuntimeError("stride should not be zero")
    if min(p) < 0:
        raise RuntimeError(f"pad must be non-negative, but got pad: {min(p)}")
    for i in range(2):
        if p[i] > (d[i] * (k[i] - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p[i]}, "
                               f"kernel_size={k[i]} and dilation={d[i]}")
    if min(k) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {k[0]} kW: {k[1]}")
    if min(s) < 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {s[0]} dW: {s[1]}")
    if min(d) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {d[0]} dilationW: {d[1]}")
    batched = len(shape) == 4
    xb = shape if batched else (1,) + tuple(shape)
    if xb[1] == 0 or xb[2] == 0 or xb[3] == 0:
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
                           f"got:{list(shape)}")
    ho = _out_size(xb[2], k[0], p[0], s[0], d[0], ceil_mode)
    wo = _out_size(xb[3], k[1], p[1], s[1], d[1], ceil_mode)
    if ho < 1 or wo < 1:
        raise RuntimeError(f"Given input size: ({xb[1]}x{xb[2]}x{xb[3]}). Calculated output size: "
                           f"({xb[1]}x{ho}x{wo}). Output size is too small")
    return _Pool(n=xb[0], c=xb[1], h=xb[2], w=xb[3], ho=ho, wo=wo, kh=k[0], kw=k[1], sh=s[0], sw=s[1], ph=p[0],
                 pw=p[1], dh=d[0], dw=d[1], batched=batched)


def _adaptive_geom(shape: tuple, output_size) -> _Pool:
    if len(shape) not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got {list(shape)}")
    for i in range(len(shape) - 2, len(shape)):
        if shape[i] == 0:
            raise RuntimeError(f"adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(shape)} with dimension {i} being empty")
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size, output_size)
    output_size = tuple(output_size)
    if len(output_size) != 2:
        raise RuntimeError("adaptive_avg_pool2d: output_size must be 2")
    # None keeps the input's size along that dim (as torch.nn.functional.adaptive_avg_pool2d)
    out = tuple(shape[-2 + i] if v is None else int(v) for i, v in enumerate(output_size))
    if min(out) < 0:
        raise RuntimeError(f"adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but "
                           f"received {{{out[0]}, {out[1]}}}")
    batched = len(shape) == 4
    xb = shape if batched else (1,) + tuple(shape)
    return _Pool(n=xb[0], c=xb[1], h=xb[2], w=xb[3], ho=out[0], wo=out[1], kh=0, kw=0, sh=1, sw=1, ph=0, pw=0,
                 dh=1, dw=1, batched=batched)


def _sizes(name: str, v) -> tuple:
    if not isinstance(v, (tuple, list)) or not all(isinstance(i, (int, np.integer)) for i in v):
        raise TypeError(f"{name} must be a tuple of ints, but got {v!r}")
    return tuple(int(i) for i in v)


def _check_grad(fn: str, grad: Tensor, g: _Pool) -> None:
    if not isinstance(grad, Tensor):
        raise TypeError(f"{fn}(): argument 'grad_output' (position 1) must be Tensor, not {type(grad).__name__}")
    if tuple(grad.shape) != g.y_shape():
        raise RuntimeError(f"{fn}: expected grad_output of size {list(g.y_shape())}, but got {list(grad.shape)}")
    if grad.dtype not in DTYPES:
        raise RuntimeError(f'"{fn}" not implemented for \'{_LEGACY[grad.dtype]}\'')


# ========================================================================================= NumPy helpers

def _np_in(t: Tensor) -> np.ndarray:
    a = t._data
    return a.astype(np.float32) if t.dtype in _HALF else a


def _np_4d(a: np.ndarray, g: _Pool) -> np.ndarray:
    return a if g.batched else a[None]


def _np_out(a: np.ndarray, shape: tuple, dtype: _dt.dtype) -> np.ndarray:
    a = a.reshape(shape)
    return a if a.dtype == dtype.np else a.astype(dtype.np)


def _padded_extent(g: _Pool):
    """Padded input size covering every window (ceil mode may reach past the right padding)."""
    hp = max(g.h + 2 * g.ph, (g.ho - 1) * g.sh + g.dh * (g.kh - 1) + 1)
    wp = max(g.w + 2 * g.pw, (g.wo - 1) * g.sw + g.dw * (g.kw - 1) + 1)
    return hp, wp


def _np_pad(x: np.ndarray, g: _Pool, fill) -> np.ndarray:
    hp, wp = _padded_extent(g)
    if (hp, wp) == (g.h, g.w):
        return x
    xp = np.full(x.shape[:2] + (hp, wp), fill, x.dtype)
    xp[:, :, g.ph:g.ph + g.h, g.pw:g.pw + g.w] = x
    return xp


def _tap(g: _Pool, r: int, s: int):
    """Slices of the padded input read by window tap (r, s), for all outputs at once."""
    h0, w0 = r * g.dh, s * g.dw
    return (slice(None), slice(None), slice(h0, h0 + (g.ho - 1) * g.sh + 1, g.sh),
            slice(w0, w0 + (g.wo - 1) * g.sw + 1, g.sw))


def _tap_coords(g: _Pool, r: int, s: int):
    """Input rows (ho,) and columns (wo,) of tap (r, s), and whether they are inside the input."""
    hs = np.arange(g.ho) * g.sh - g.ph + r * g.dh
    ws = np.arange(g.wo) * g.sw - g.pw + s * g.dw
    return hs, ws, ((hs >= 0) & (hs < g.h))[:, None] & ((ws >= 0) & (ws < g.w))[None, :]


def _np_avg_divisor(g: _Pool, count_include_pad: bool, divisor_override) -> np.ndarray:
    """(ho, wo) divisors of avg_pool2d (separable: a product of per-dim window lengths)."""
    if divisor_override:
        return np.full((g.ho, g.wo), float(divisor_override))

    def lengths(n_out, stride, pad, k, size):
        start = np.arange(n_out) * stride - pad
        end = np.minimum(start + k, size + pad)
        if count_include_pad:
            return end - start
        return np.minimum(end, size) - np.maximum(start, 0)

    return np.outer(lengths(g.ho, g.sh, g.ph, g.kh, g.h), lengths(g.wo, g.sw, g.pw, g.kw, g.w)).astype(np.float64)


def _adaptive_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in): row i averages input [floor(i*n_in/n_out), ceil((i+1)*n_in/n_out))."""
    i = np.arange(n_out)
    start = (i * n_in) // n_out
    end = -((-(i + 1) * n_in) // n_out)
    j = np.arange(n_in)
    inside = (j[None, :] >= start[:, None]) & (j[None, :] < end[:, None])
    return inside / np.maximum(end - start, 1)[:, None]


# ================================================================================================ launchers

def _acc(dtype: _dt.dtype):
    return tl.float64 if dtype is _dt.float64 else tl.float32


def _strides4(arr: CudaArray, g: _Pool) -> tuple:
    st = tuple(arr.strides)
    return st if g.batched else (0,) + st


def _grid(total: int):
    return (_cdiv(total, _BLOCK),)


# ================================================================================================ the ops

def _empty(shape, dtype) -> CudaArray:
    return CudaArray.empty(shape, dtype)


# --------------------------------------------------------------------------------------------- max_pool2d

def _max_infer(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    _check_input("max_pool2d", input)
    g = _pool_geom("max_pool2d", tuple(input.shape), kernel_size, stride, padding, dilation, ceil_mode)
    ys = g.y_shape()
    return Meta((ys, ys), (input.dtype, _dt.int64), input.device, g)


def _np_first_max(cands: list, offsets: list):
    """(max, offset of the first candidate holding it) over same-shape candidate arrays: the running max and, where
    a later candidate is strictly greater, its offset (ties keep the earlier one, PyTorch's rule). Valid where no
    candidate is NaN (the caller checks). `offsets` are ints or int32 arrays shaped like the candidates; the
    select is arithmetic (at += (offset - at) * greater), which NumPy runs far faster than np.where."""
    if len(cands) == 1:
        return cands[0].copy(), offsets[0]
    best = np.maximum(cands[0], cands[1])
    greater = cands[1] > cands[0]
    if isinstance(offsets[0], int) and isinstance(offsets[1], int):
        at = greater.astype(np.int32)
        at *= offsets[1] - offsets[0]
        at += offsets[0]
    else:
        at = _np_select(greater, offsets[1], offsets[0])
    for cand, off in zip(cands[2:], offsets[2:]):
        greater = cand > best
        np.maximum(best, cand, out=best)
        at = _np_select(greater, off, at)
    return best, at


def _np_select(take, new, old):
    """np.where(take, new, old) for int32 operands (old is overwritten when it is an array)."""
    step = np.subtract(new, old, dtype=np.int32)
    step *= take
    if isinstance(old, np.ndarray) and old.shape == step.shape and old.dtype == np.int32:
        old += step
        return old
    return step + old


def _np_max_pool_first(xp: np.ndarray, g: _Pool):
    """max_pool2d's max and flat argmax h * W + w (valid when no window holds a NaN), in two passes: along each row
    of the padded input over the kw column taps (rows read at long strides, so NumPy's inner loops are long), then
    over the kh rows of each window. The first max along the row, then the first row holding the max, is the first
    max in PyTorch's (row, column) scan order."""
    wspan = (g.wo - 1) * g.sw + 1
    cols = [xp[:, :, :, s * g.dw:s * g.dw + wspan:g.sw] for s in range(g.kw)]
    row_max, col_tap = _np_first_max(cols, list(range(g.kw)))
    if not isinstance(col_tap, np.ndarray):
        col_tap = np.zeros(row_max.shape, np.int32)
    hspan = (g.ho - 1) * g.sh + 1
    rows = [slice(r * g.dh, r * g.dh + hspan, g.sh) for r in range(g.kh)]
    # offset of each candidate in its window: r * dh * W + (column tap) * dw, as int32 (small numbers)
    offsets = [col_tap[:, :, hs].astype(np.int32) * g.dw + r * g.dh * g.w for r, hs in enumerate(rows)]
    best, at = _np_first_max([row_max[:, :, hs] for hs in rows], offsets)
    corner = (np.arange(g.ho) * g.sh - g.ph)[:, None] * g.w + (np.arange(g.wo) * g.sw - g.pw)[None, :]
    idx = np.add(at, corner, dtype=np.int64)
    return best, idx


@functools.lru_cache(maxsize=64)
def _window_corners(ho: int, wo: int, w: int) -> np.ndarray:
    """Flat index of each 2x2 window's first element in a (2 ho, w) plane: 2i * w + 2j (read-only, cached)."""
    corner = (np.arange(ho, dtype=np.int64) * (2 * w))[:, None] + np.arange(0, 2 * wo, 2, dtype=np.int64)[None, :]
    corner.flags.writeable = False
    return corner


def _np_max_pool_2x2(x: np.ndarray, g: _Pool):
    """max_pool2d's max and flat argmax for the commonest window (2x2, stride 2, no padding or dilation, even
    sizes) in two halving passes: each row's column pairs (x as (..., 2) pairs: 1-D views of stride 2), then the
    row pairs of those maxima (contiguous rows). The same first-max rule as the general path (ties keep the left
    column, then the top row); the caller checks for NaN and -inf as there. 64x64x32x32: 20.5 -> 9.5 ms here."""
    rows = g.n * g.c * g.ho
    pairs = x.reshape(-1, 2)
    left, right = pairs[:, 0], pairs[:, 1]
    col_max = np.maximum(left, right).reshape(rows, 2, g.wo)
    col_right = (right > left).reshape(rows, 2, g.wo)
    top, bottom = col_max[:, 0], col_max[:, 1]
    best = np.maximum(top, bottom)
    lower = bottom > top
    right_top, right_bottom = col_right[:, 0], col_right[:, 1]
    col = right_top ^ (lower & (right_top ^ right_bottom))        # the winning row's column
    planes = (g.n * g.c, g.ho, g.wo)
    idx = np.add(col.reshape(planes), _window_corners(g.ho, g.wo, g.w), dtype=np.int64)
    idx += np.multiply(lower.reshape(planes), np.int64(g.w), dtype=np.int64)
    return best.reshape(g.n, g.c, g.ho, g.wo), idx


def _max_cpu(meta, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    g = meta.aux
    x = _np_4d(_np_in(input), g)
    ys = g.y_shape()
    if (g.kh == g.kw == g.sh == g.sw == 2 and g.ph == g.pw == 0 and g.dh == g.dw == 1
            and g.h == 2 * g.ho and g.w == 2 * g.wo and x.size):
        best, idx = _np_max_pool_2x2(x, g)
        if best.min() > -np.inf:
            return _np_out(best, ys, meta.dtype[0]), idx.reshape(ys)
    xp = _np_pad(x, g, -np.inf)
    if xp.size:
        best, idx = _np_max_pool_first(xp, g)
        # NaN propagates into the max (min is NaN then); an all -inf window's max may be a padding tap: both take
        # the sequential rule below
        if not best.size or best.min() > -np.inf:
            return _np_out(best, ys, meta.dtype[0]), idx.reshape(ys)
    best = np.full((g.n, g.c, g.ho, g.wo), -np.inf, xp.dtype)
    best_i = np.full((g.n, g.c, g.ho, g.wo), -1, np.int64)
    # the sequential rule (a NaN replaces; the last NaN's index wins; padding never wins)
    for r in range(g.kh):
        for s in range(g.kw):
            hs, ws, inside = _tap_coords(g, r, s)
            v = xp[_tap(g, r, s)]
            # PyTorch's rule: greater or NaN replaces (ties keep the first); the first in-bounds tap always sets
            take = inside & ((v > best) | np.isnan(v) | (best_i < 0))
            np.copyto(best, v, where=take)
            np.copyto(best_i, hs[:, None] * g.w + ws[None, :], where=take)
    return _np_out(best, ys, meta.dtype[0]), best_i.reshape(ys)


def _max_cuda(meta, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    g = meta.aux
    ys = g.y_shape()
    y, idx = _empty(ys, meta.dtype[0].np), _empty(ys, np.dtype(np.int64))
    total = g.n * g.c * g.ho * g.wo
    if total:
        _max_pool_fwd_kernel[_grid(total)](
            input._data, y, idx, total, g.c, g.h, g.w, g.ho, g.wo, *_strides4(input._data, g),
            g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, KH=g.kh, KW=g.kw, ACC=_acc(meta.dtype[0]), BLOCK=_BLOCK)
    return y, idx


def _max_bwd_infer(grad_output, indices, *, input_size, kernel_size, stride=None, padding=0, dilation=1,
                   ceil_mode=False):
    fn = "max_pool2d_backward"
    g = _pool_geom(fn, _sizes("input_size", input_size), kernel_size, stride, padding, dilation, ceil_mode)
    _check_grad(fn, grad_output, g)
    if not isinstance(indices, Tensor) or indices.dtype is not _dt.int64 or tuple(indices.shape) != g.y_shape():
        raise RuntimeError(f"{fn}: expected int64 indices of size {list(g.y_shape())}")
    if indices.device is not grad_output.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{grad_output.device} and {indices.device}!")
    return Meta(g.x_shape(), grad_output.dtype, grad_output.device, g)


def _disjoint_inside_windows(g: _Pool) -> bool:
    """No two windows share an input element, and every window lies inside the (unpadded) input."""
    return (g.ph == 0 and g.pw == 0 and g.sh >= g.dh * (g.kh - 1) + 1 and g.sw >= g.dw * (g.kw - 1) + 1
            and (g.ho - 1) * g.sh + g.dh * (g.kh - 1) < g.h and (g.wo - 1) * g.sw + g.dw * (g.kw - 1) < g.w)


def _np_scatter_disjoint(go: np.ndarray, idx: np.ndarray, g: _Pool, dtype) -> np.ndarray | None:
    """max_pool2d's backward when windows are disjoint: each input element gets at most one gradient, so the
    scatter is one fancy-index assignment (no sums). None when an index is not inside its own window (indices not
    made by max_pool2d): the general scatter-add handles those."""
    corner = (np.arange(g.ho) * g.sh)[:, None] * g.w + (np.arange(g.wo) * g.sw)[None, :]
    in_window = idx - corner
    hits = sum(np.count_nonzero(in_window == r * g.dh * g.w + s * g.dw) for r in range(g.kh) for s in range(g.kw))
    if hits != idx.size:
        return None
    planes = (np.arange(g.n * g.c, dtype=np.int64) * (g.h * g.w)).reshape(g.n, g.c, 1, 1)
    gx = np.zeros(g.n * g.c * g.h * g.w, dtype)
    gx[(idx + planes).ravel()] = go.ravel()
    return gx


def _max_bwd_cpu(meta, grad_output, indices, **kw):
    g = meta.aux
    idx = _np_4d(indices._data, g)
    if _disjoint_inside_windows(g):
        gx = _np_scatter_disjoint(_np_4d(grad_output._data, g), idx, g, meta.dtype.np)
        if gx is not None:
            return gx.reshape(meta.shape)
    planes = (np.arange(g.n * g.c, dtype=np.int64) * (g.h * g.w)).reshape(g.n, g.c, 1, 1)
    flat = (idx + planes).ravel()
    weights = _np_4d(grad_output._data, g).ravel().astype(np.float64)
    gx = np.bincount(flat, weights=weights, minlength=g.n * g.c * g.h * g.w)  # deterministic scatter-add
    return _np_out(gx, meta.shape, meta.dtype)


def _max_bwd_cuda(meta, grad_output, indices, **kw):
    g = meta.aux
    gx = _empty(meta.shape, meta.dtype.np)
    total = g.n * g.c * g.h * g.w
    if total:
        _max_pool_bwd_kernel[_grid(total)](
            grad_output._data, indices._data, gx, total, g.c, g.h, g.w, g.ho, g.wo,
            *_strides4(grad_output._data, g), *_strides4(indices._data, g), g.sh, g.sw, g.ph, g.pw, g.dh, g.dw,
            KH=g.kh, KW=g.kw, ACC=_acc(meta.dtype), BLOCK=_BLOCK)
    return gx


# --------------------------------------------------------------------------------------------- avg_pool2d

def _avg_geom(fn, shape, kernel_size, stride, padding, ceil_mode, divisor_override) -> _Pool:
    g = _pool_geom(fn, shape, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and int(divisor_override) == 0:
        raise RuntimeError("divisor must be not zero")
    return g


def _avg_infer(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    _check_input("avg_pool2d", input)
    g = _avg_geom("avg_pool2d", tuple(input.shape), kernel_size, stride, padding, ceil_mode, divisor_override)
    return Meta(g.y_shape(), input.dtype, input.device, g)


def _avg_cpu(meta, input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
             divisor_override=None):
    g = meta.aux
    x = _np_4d(_np_in(input), g)
    xp = _np_pad(x, g, 0)
    taps = [xp[_tap(g, r, s)] for r in range(g.kh) for s in range(g.kw)]
    acc = taps[0].copy() if len(taps) == 1 else np.add(taps[0], taps[1])
    for t in taps[2:]:
        acc += t
    acc /= _np_avg_divisor(g, count_include_pad, divisor_override).astype(x.dtype)
    return _np_out(acc, meta.shape, meta.dtype)


def _divisor_arg(divisor_override) -> int:
    return 0 if divisor_override is None else int(divisor_override)


def _avg_cuda(meta, input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
              divisor_override=None):
    g = meta.aux
    y = _empty(meta.shape, meta.dtype.np)
    total = g.n * g.c * g.ho * g.wo
    if total:
        _avg_pool_fwd_kernel[_grid(total)](
            input._data, y, total, g.c, g.h, g.w, g.ho, g.wo, *_strides4(input._data, g), g.sh, g.sw, g.ph, g.pw,
            _divisor_arg(divisor_override), KH=g.kh, KW=g.kw, COUNT_PAD=bool(count_include_pad),
            ACC=_acc(meta.dtype), BLOCK=_BLOCK)
    return y


def _avg_bwd_infer(grad_output, *, input_size, kernel_size, stride=None, padding=0, ceil_mode=False,
                   count_include_pad=True, divisor_override=None):
    fn = "avg_pool2d_backward"
    g = _avg_geom(fn, _sizes("input_size", input_size), kernel_size, stride, padding, ceil_mode, divisor_override)
    _check_grad(fn, grad_output, g)
    return Meta(g.x_shape(), grad_output.dtype, grad_output.device, g)


def _avg_bwd_cpu(meta, grad_output, *, input_size, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
    g = meta.aux
    go = _np_4d(_np_in(grad_output), g)
    scaled = go / _np_avg_divisor(g, count_include_pad, divisor_override).astype(go.dtype)
    if _disjoint_inside_windows(g):
        # each input element is in at most one window: its gradient is assigned, not summed; when the windows
        # tile the input exactly nothing is left to zero
        tiled = g.sh == g.kh and g.sw == g.kw and g.ho * g.kh == g.h and g.wo * g.kw == g.w
        gx = (np.empty if tiled else np.zeros)((g.n, g.c, g.h, g.w), go.dtype)
        for r in range(g.kh):
            for s in range(g.kw):
                gx[_tap(g, r, s)] = scaled
        return _np_out(gx, meta.shape, meta.dtype)
    hp, wp = _padded_extent(g)
    gx = np.zeros((g.n, g.c, hp, wp), go.dtype)
    for r in range(g.kh):
        for s in range(g.kw):
            gx[_tap(g, r, s)] += scaled
    return _np_out(np.ascontiguousarray(gx[:, :, g.ph:g.ph + g.h, g.pw:g.pw + g.w]), meta.shape, meta.dtype)


def _avg_bwd_cuda(meta, grad_output, *, input_size, kernel_size, stride=None, padding=0, ceil_mode=False,
                  count_include_pad=True, divisor_override=None):
    g = meta.aux
    gx = _empty(meta.shape, meta.dtype.np)
    total = g.n * g.c * g.h * g.w
    if total:
        _avg_pool_bwd_kernel[_grid(total)](
            grad_output._data, gx, total, g.c, g.h, g.w, g.ho, g.wo, *_strides4(grad_output._data, g),
            g.sh, g.sw, g.ph, g.pw, _divisor_arg(divisor_override), KH=g.kh, KW=g.kw,
            COUNT_PAD=bool(count_include_pad), ACC=_acc(meta.dtype), BLOCK=_BLOCK)
    return gx


# ------------------------------------------------------------------------------------ adaptive_avg_pool2d

def _adaptive_infer(input, output_size):
    _check_input("adaptive_avg_pool2d", input)
    g = _adaptive_geom(tuple(input.shape), output_size)
    return Meta(g.y_shape(), input.dtype, input.device, g)


# Up to this many weights (h*w x ho*wo), adaptive pooling on the cpu is one GEMM of the (n*c, h*w) input with
# the pooling matrix kron(rows, cols)^T: NumPy's stacked matmul of the two small averaging matrices made a BLAS call
# per plane (2,048 of them for a 32x64x8x8 batch: 0.27 ms against one 0.03 ms product). Beyond it (a big map
# pooled to many outputs), the two stacked products.
_KRON_MAX = 1 << 22


@functools.lru_cache(maxsize=32)
def _pool_matrix(ho: int, h: int, wo: int, w: int, np_dtype) -> np.ndarray:
    """(h*w, ho*wo): column (i, j) averages the window of output (i, j), each weight rounded once (read-only)."""
    m = np.kron(_adaptive_matrix(ho, h), _adaptive_matrix(wo, w)).T.astype(np_dtype)
    m.flags.writeable = False
    return m


def _adaptive_cpu(meta, input, output_size):
    g = meta.aux
    x = _np_4d(_np_in(input), g)
    if 0 < g.h * g.w * g.ho * g.wo <= _KRON_MAX:
        y = np.matmul(x.reshape(-1, g.h * g.w), _pool_matrix(g.ho, g.h, g.wo, g.w, x.dtype))
        return _np_out(y.reshape(x.shape[:2] + (g.ho, g.wo)), meta.shape, meta.dtype)
    rows, cols = _adaptive_matrix(g.ho, g.h).astype(x.dtype), _adaptive_matrix(g.wo, g.w).astype(x.dtype)
    return _np_out(np.matmul(np.matmul(rows, x), cols.T), meta.shape, meta.dtype)


def _window_extents(n_out: int, n_in: int) -> tuple:
    """(largest window, most windows sharing one input index) along one dim, from the averaging matrix."""
    if n_out == 0:
        return 0, 0
    inside = _adaptive_matrix(n_out, n_in) > 0
    return int(inside.sum(1).max()), int(inside.sum(0).max())


def _adaptive_cuda(meta, input, output_size):
    g = meta.aux
    y = _empty(meta.shape, meta.dtype.np)
    total = g.n * g.c * g.ho * g.wo
    if total:
        (kh, _), (kw, _) = _window_extents(g.ho, g.h), _window_extents(g.wo, g.w)
        _adaptive_fwd_kernel[_grid(total)](
            input._data, y, total, g.c, g.h, g.w, g.ho, g.wo, *_strides4(input._data, g), kh, kw,
            ACC=_acc(meta.dtype), BLOCK=_BLOCK)
    return y


def _adaptive_bwd_infer(grad_output, *, input_size):
    fn = "adaptive_avg_pool2d_backward"
    if not isinstance(grad_output, Tensor):
        raise TypeError(f"{fn}(): argument 'grad_output' (position 1) must be Tensor, not "
                        f"{type(grad_output).__name__}")
    xs = _sizes("input_size", input_size)
    g = _adaptive_geom(xs, tuple(grad_output.shape[-2:]) if grad_output.ndim >= 2 else (0, 0))
    _check_grad(fn, grad_output, g)
    return Meta(g.x_shape(), grad_output.dtype, grad_output.device, g)


def _adaptive_bwd_cpu(meta, grad_output, *, input_size):
    g = meta.aux
    go = _np_4d(_np_in(grad_output), g)
    if 0 < g.h * g.w * g.ho * g.wo <= _KRON_MAX:   # the forward's GEMM transposed
        gx = np.matmul(go.reshape(-1, g.ho * g.wo), _pool_matrix(g.ho, g.h, g.wo, g.w, go.dtype).T)
        return _np_out(gx.reshape(go.shape[:2] + (g.h, g.w)), meta.shape, meta.dtype)
    rows, cols = _adaptive_matrix(g.ho, g.h).astype(go.dtype), _adaptive_matrix(g.wo, g.w).astype(go.dtype)
    return _np_out(np.matmul(np.matmul(rows.T, go), cols), meta.shape, meta.dtype)


def _adaptive_bwd_cuda(meta, grad_output, *, input_size):
    g = meta.aux
    gx = _empty(meta.shape, meta.dtype.np)
    total = g.n * g.c * g.h * g.w
    if total:
        (_, cover_h), (_, cover_w) = _window_extents(g.ho, g.h), _window_extents(g.wo, g.w)
        _adaptive_bwd_kernel[_grid(total)](
            grad_output._data, gx, total, g.c, g.h, g.w, g.ho, g.wo, *_strides4(grad_output._data, g),
            cover_h, cover_w, ACC=_acc(meta.dtype), BLOCK=_BLOCK)
    return gx


# ============================================================================================ references
# float64 loops over the output positions (independent of the tap-slicing fallbacks).

def _ref_windows(g: _Pool, i: int, j: int, dil=True):
    rows = [i * g.sh - g.ph + r * (g.dh if dil else 1) for r in range(g.kh)]
    cols = [j * g.sw - g.pw + s * (g.dw if dil else 1) for s in range(g.kw)]
    return [r for r in rows if 0 <= r < g.h], [c for c in cols if 0 <= c < g.w]


def _ref_max_pool(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    g = _pool_geom("ref", x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    x4 = _np_4d(np.asarray(x, np.float64), g)
    out = np.zeros((g.n, g.c, g.ho, g.wo))
    idx = np.zeros((g.n, g.c, g.ho, g.wo), np.int64)
    for i in range(g.ho):
        for j in range(g.wo):
            rows, cols = _ref_windows(g, i, j)
            win = x4[:, :, rows][:, :, :, cols].reshape(g.n, g.c, len(rows) * len(cols))
            a = np.argmax(win, axis=-1)
            out[:, :, i, j] = np.take_along_axis(win, a[..., None], -1)[..., 0]
            idx[:, :, i, j] = np.asarray(rows)[a // len(cols)] * g.w + np.asarray(cols)[a % len(cols)]
    return out.reshape(g.y_shape()), idx.reshape(g.y_shape())


def _ref_max_pool_backward(grad, indices, input_size, kernel_size, stride=None, padding=0, dilation=1,
                           ceil_mode=False):
    g = _pool_geom("ref", tuple(input_size), kernel_size, stride, padding, dilation, ceil_mode)
    g4, i4 = _np_4d(np.asarray(grad, np.float64), g), _np_4d(np.asarray(indices), g)
    gx = np.zeros((g.n, g.c, g.h * g.w))
    for n in range(g.n):
        for c in range(g.c):
            np.add.at(gx[n, c], i4[n, c].ravel(), g4[n, c].ravel())
    return gx.reshape(g.x_shape())


def _ref_avg_div(g, i, j, count_include_pad, divisor_override):
    if divisor_override:
        return float(divisor_override)
    hs, ws = i * g.sh - g.ph, j * g.sw - g.pw
    he, we = min(hs + g.kh, g.h + g.ph), min(ws + g.kw, g.w + g.pw)
    if count_include_pad:
        return float((he - hs) * (we - ws))
    return float((min(he, g.h) - max(hs, 0)) * (min(we, g.w) - max(ws, 0)))


def _ref_avg_pool(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                  divisor_override=None):
    g = _pool_geom("ref", x.shape, kernel_size, stride, padding, 1, ceil_mode)
    x4 = _np_4d(np.asarray(x, np.float64), g)
    out = np.zeros((g.n, g.c, g.ho, g.wo))
    for i in range(g.ho):
        for j in range(g.wo):
            rows, cols = _ref_windows(g, i, j, dil=False)
            total = x4[:, :, rows][:, :, :, cols].sum(axis=(2, 3))
            out[:, :, i, j] = total / _ref_avg_div(g, i, j, count_include_pad, divisor_override)
    return out.reshape(g.y_shape())


def _ref_avg_pool_backward(grad, input_size, kernel_size, stride=None, padding=0, ceil_mode=False,
                           count_include_pad=True, divisor_override=None):
    g = _pool_geom("ref", tuple(input_size), kernel_size, stride, padding, 1, ceil_mode)
    g4 = _np_4d(np.asarray(grad, np.float64), g)
    gx = np.zeros((g.n, g.c, g.h, g.w))
    for i in range(g.ho):
        for j in range(g.wo):
            rows, cols = _ref_windows(g, i, j, dil=False)
            share = g4[:, :, i, j] / _ref_avg_div(g, i, j, count_include_pad, divisor_override)
            for r in rows:
                for c in cols:
                    gx[:, :, r, c] += share
    return gx.reshape(g.x_shape())


def _ref_adaptive_bounds(i, n_out, n_in):
    return (i * n_in) // n_out, math.ceil((i + 1) * n_in / n_out)


def _ref_adaptive(x, output_size):
    g = _adaptive_geom(x.shape, output_size)
    x4 = _np_4d(np.asarray(x, np.float64), g)
    out = np.zeros((g.n, g.c, g.ho, g.wo))
    for i in range(g.ho):
        h0, h1 = _ref_adaptive_bounds(i, g.ho, g.h)
        for j in range(g.wo):
            w0, w1 = _ref_adaptive_bounds(j, g.wo, g.w)
            out[:, :, i, j] = x4[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return out.reshape(g.y_shape())


def _ref_adaptive_backward(grad, input_size):
    g = _adaptive_geom(tuple(input_size), grad.shape[-2:])
    g4 = _np_4d(np.asarray(grad, np.float64), g)
    gx = np.zeros((g.n, g.c, g.h, g.w))
    for i in range(g.ho):
        h0, h1 = _ref_adaptive_bounds(i, g.ho, g.h)
        for j in range(g.wo):
            w0, w1 = _ref_adaptive_bounds(j, g.wo, g.w)
            gx[:, :, h0:h1, w0:w1] += (g4[:, :, i, j] / ((h1 - h0) * (w1 - w0)))[:, :, None, None]
    return gx.reshape(g.x_shape())


# ============================================================================================== samples

def _maker(device, dtype, key):
    rng = rng_for("nn_pool", key, dtype.name)

    def mk(shape, **kw):
        return make_tensor(shape, dtype, device, rng=rng, low=-1.0, high=1.0, **kw)

    return mk


# (input shape, kwargs, name); the first ones are small enough for gradcheck (<= 40 elements)
_MAX_CASES = [
    ((1, 2, 4, 4), {"kernel_size": 2}, "small"),
    ((1, 1, 5, 5), {"kernel_size": 3, "stride": 1, "padding": 1}, "small_overlap_pad"),
    ((1, 1, 6, 5), {"kernel_size": 2, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True},
     "small_dilation_ceil"),
    ((2, 5, 4), {"kernel_size": (2, 3), "stride": (1, 2)}, "small_unbatched"),
    ((2, 3, 9, 11), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, "general_ceil"),
    ((1, 2, 33, 17), {"kernel_size": (3, 2), "stride": (2, 1), "dilation": (1, 2)}, "odd_33x17"),
    ((0, 2, 4, 4), {"kernel_size": 2}, "empty_batch"),
]

_AVG_CASES = [
    ((1, 2, 4, 4), {"kernel_size": 2}, "small"),
    ((1, 1, 5, 5), {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}, "small_pad_nocount"),
    ((1, 1, 5, 6), {"kernel_size": 2, "ceil_mode": True, "divisor_override": 3}, "small_ceil_divisor"),
    ((2, 5, 4), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, "small_unbatched_ceil_pad"),
    ((2, 3, 9, 11), {"kernel_size": (3, 2), "stride": (2, 3), "padding": 1, "ceil_mode": True,
                     "count_include_pad": False}, "general"),
    ((1, 2, 33, 17), {"kernel_size": 3, "stride": 1, "padding": 1}, "odd_33x17"),
    ((0, 2, 4, 4), {"kernel_size": 2}, "empty_batch"),
]

_ADAPTIVE_CASES = [
    ((1, 2, 5, 4), (2, 3), "small_overlapping"),
    ((2, 4, 4), 3, "small_unbatched"),
    ((1, 1, 6, 5), (None, 2), "small_none"),
    ((1, 1, 3, 3), (5, 4), "small_upsample"),
    ((2, 3, 7, 7), 1, "global"),
    ((2, 3, 17, 13), (5, 4), "general"),
    ((0, 2, 4, 4), 2, "empty_batch"),
]


def _max_samples(device, dtype):
    mk = _maker(device, dtype, "max_pool2d")
    for xs, kw, name in _MAX_CASES:
        yield Sample((mk(xs),), dict(kw), name=name)
    yield Sample((mk((2, 3, 8, 8), noncontiguous=True),), {"kernel_size": 2}, name="noncontig")


def _avg_samples(device, dtype):
    mk = _maker(device, dtype, "avg_pool2d")
    for xs, kw, name in _AVG_CASES:
        yield Sample((mk(xs),), dict(kw), name=name, reduction_size=9)
    yield Sample((mk((2, 3, 8, 8), noncontiguous=True),), {"kernel_size": 2}, name="noncontig", reduction_size=4)


def _adaptive_samples(device, dtype):
    mk = _maker(device, dtype, "adaptive_avg_pool2d")
    for xs, out, name in _ADAPTIVE_CASES:
        yield Sample((mk(xs), out), name=name, reduction_size=49)
    yield Sample((mk((2, 3, 7, 6), noncontiguous=True), (3, 2)), name="noncontig", reduction_size=9)


def _max_bwd_samples(device, dtype):
    mk = _maker(device, dtype, "max_pool2d_backward")
    cpu = _maker("cpu", dtype, "max_pool2d_backward_input")
    for xs, kw, name in _MAX_CASES + [((2, 3, 8, 8), {"kernel_size": 3, "stride": 1, "padding": 1}, "overlap")]:
        _, idx = max_pool2d_op(cpu(xs), **kw)
        yield Sample((mk(tuple(idx.shape)), idx.to(device)), dict(kw, input_size=xs), name=name, reduction_size=9)


def _avg_bwd_samples(device, dtype):
    mk = _maker(device, dtype, "avg_pool2d_backward")
    for xs, kw, name in _AVG_CASES:
        g = _avg_geom("samples", xs, kw["kernel_size"], kw.get("stride"), kw.get("padding", 0),
                      kw.get("ceil_mode", False), kw.get("divisor_override"))
        yield Sample((mk(g.y_shape()),), dict(kw, input_size=xs), name=name, reduction_size=9)
    yield Sample((mk((2, 3, 4, 4), noncontiguous=True),), {"kernel_size": 2, "input_size": (2, 3, 8, 8)},
                 name="noncontig", reduction_size=4)


def _adaptive_bwd_samples(device, dtype):
    mk = _maker(device, dtype, "adaptive_avg_pool2d_backward")
    for xs, out, name in _ADAPTIVE_CASES:
        g = _adaptive_geom(xs, out)
        yield Sample((mk(g.y_shape()),), {"input_size": xs}, name=name, reduction_size=4)
    yield Sample((mk((2, 3, 3, 2), noncontiguous=True),), {"input_size": (2, 3, 7, 6)}, name="noncontig",
                 reduction_size=4)


# ============================================================================================== bench specs
# sizes: (batch, channels, height = width, kernel, stride) - a small CNN's pools and a ResNet stem's.

_BENCH_SIZES = ((32, 32, 32, 2, 2), (32, 64, 16, 2, 2), (64, 64, 112, 3, 2), (64, 256, 56, 2, 2))
_BENCH_DTYPES = (_dt.float32, _dt.float16, _dt.bfloat16)


def _bench_pool(size, device, dtype):
    n, c, hw, k, s = size
    return (make_tensor((n, c, hw, hw), dtype, device),), {"kernel_size": k, "stride": s, "padding": k // 2 if k > 2
                                                          else 0}


def _bench_adaptive(size, device, dtype):
    n, c, hw, k, s = size
    return (make_tensor((n, c, hw, hw), dtype, device), (7, 7)), {}


def _pool_out(size):
    n, c, hw, k, s = size
    p = k // 2 if k > 2 else 0
    return n * c * ((hw + 2 * p - k) // s + 1) ** 2


def _pool_bytes(extra_index=False):
    def nbytes(size, dtype):
        n, c, hw, k, s = size
        return n * c * hw * hw * dtype.itemsize + _pool_out(size) * (dtype.itemsize + (8 if extra_index else 0))
    return nbytes


def _pool_flops(size):
    return _pool_out(size) * size[3] * size[3]


def _adaptive_bytes(size, dtype):
    n, c, hw, k, s = size
    return (n * c * hw * hw + n * c * 49) * dtype.itemsize


# ========================================================================================== backward rules

def _pool_kwargs(kwargs) -> dict:
    return {k: v for k, v in kwargs.items() if k != "input_size"}


def _max_vjp(ctx, grad, grad_indices=None):
    if grad is None:
        return (None,)
    indices = ctx.saved_output(1)
    x = ctx.inputs[0]
    return (max_pool2d_backward_op(grad, indices, input_size=tuple(x.shape), **_pool_kwargs(ctx.kwargs)),)


def _max_bwd_vjp(ctx, v):
    # max_pool2d_backward is linear in grad_output: its adjoint gathers v at the saved argmax positions
    grad_output, indices = ctx.inputs
    flat = v.flatten(-2).gather(-1, indices.flatten(-2))
    return flat.reshape(tuple(grad_output.shape)), None


def _avg_vjp(ctx, grad):
    x = ctx.inputs[0]
    return (avg_pool2d_backward_op(grad, input_size=tuple(x.shape), **_pool_kwargs(ctx.kwargs)),)


def _avg_bwd_vjp(ctx, v):
    return (avg_pool2d_op(v, **_pool_kwargs(ctx.kwargs)),)


def _adaptive_vjp(ctx, grad):
    x = ctx.inputs[0]
    return (adaptive_avg_pool2d_backward_op(grad, input_size=tuple(x.shape)),)


def _adaptive_bwd_vjp(ctx, v):
    grad_output = ctx.inputs[0]
    return (adaptive_avg_pool2d_op(v, tuple(grad_output.shape[-2:])),)


# samples the interpreter skips (cpu only): their cases are covered on cuda by the others
_CPU_ONLY_MAX = {"odd_33x17", "small_overlap_pad"}
_CPU_ONLY_MAX_BWD = {"odd_33x17", "small_overlap_pad", "general_ceil"}
_CPU_ONLY_AVG = {"odd_33x17", "small_pad_nocount"}
_CPU_ONLY_AVG_BWD = {"odd_33x17", "small_pad_nocount", "general"}
_CPU_ONLY_ADAPTIVE = {"small_none", "global"}
_CPU_ONLY_ADAPTIVE_BWD = {"small_none", "global", "general"}

# ============================================================================================ registration

def _aten_args(kernel_size, stride, padding):
    def pair(v):
        return [v, v] if isinstance(v, int) else list(v) * (2 if len(v) == 1 else 1)
    return pair(kernel_size), ([] if stride is None else pair(stride)), pair(padding)


def _torch_max_bwd(torch, grad, indices, *, input_size, kernel_size, stride=None, padding=0, dilation=1,
                   ceil_mode=False):
    k, s, p = _aten_args(kernel_size, stride, padding)
    d = [dilation, dilation] if isinstance(dilation, int) else list(dilation)
    return torch.ops.aten.max_pool2d_with_indices_backward(grad, torch.zeros(input_size, dtype=grad.dtype), k, s or k,
                                                           p, d, ceil_mode, indices)


def _torch_avg_bwd(torch, grad, *, input_size, kernel_size, stride=None, padding=0, ceil_mode=False,
                   count_include_pad=True, divisor_override=None):
    k, s, p = _aten_args(kernel_size, stride, padding)
    return torch.ops.aten.avg_pool2d_backward(grad, torch.zeros(input_size, dtype=grad.dtype), k, s or k, p,
                                              ceil_mode, count_include_pad, divisor_override)


def _torch_adaptive_bwd(torch, grad, *, input_size):
    return torch.ops.aten._adaptive_avg_pool2d_backward(grad, torch.zeros(input_size, dtype=grad.dtype))


max_pool2d_op = register(OpDef(
    name="max_pool2d_with_indices", family=FAMILY, infer=_max_infer, impl={"cpu": _max_cpu, "cuda": _max_cuda},
    ref=_ref_max_pool,
    samples=cpu_extras(_max_samples, _CPU_ONLY_MAX), dtypes=DTYPES, n_outputs=2, vjp=_max_vjp, save="output",
    bench=BenchSpec(sizes=_BENCH_SIZES, make=_bench_pool, bytes=_pool_bytes(True), flops=_pool_flops,
                    dtypes=_BENCH_DTYPES),
    extra={"torch": lambda torch, *a, **k: torch.nn.functional.max_pool2d_with_indices(*a, **k)}))

max_pool2d_backward_op = register(OpDef(
    name="max_pool2d_backward", family=FAMILY, infer=_max_bwd_infer,
    impl={"cpu": _max_bwd_cpu, "cuda": _max_bwd_cuda}, ref=_ref_max_pool_backward,
    samples=cpu_extras(_max_bwd_samples, _CPU_ONLY_MAX_BWD),
    dtypes=DTYPES, vjp=_max_bwd_vjp,
    bench=BenchSpec(sizes=_BENCH_SIZES, make=lambda size, device, dtype: _bench_max_bwd(size, device, dtype),
                    bytes=_pool_bytes(True), flops=_pool_flops, dtypes=_BENCH_DTYPES),
    extra={"torch": _torch_max_bwd}))

avg_pool2d_op = register(OpDef(
    name="avg_pool2d", family=FAMILY, infer=_avg_infer, impl={"cpu": _avg_cpu, "cuda": _avg_cuda},
    ref=_ref_avg_pool, samples=cpu_extras(_avg_samples, _CPU_ONLY_AVG), dtypes=DTYPES, vjp=_avg_vjp, save="none",
    bench=BenchSpec(sizes=_BENCH_SIZES, make=_bench_pool, bytes=_pool_bytes(), flops=_pool_flops,
                    dtypes=_BENCH_DTYPES),
    extra={"torch": lambda torch, *a, **k: torch.nn.functional.avg_pool2d(*a, **k)}))

avg_pool2d_backward_op = register(OpDef(
    name="avg_pool2d_backward", family=FAMILY, infer=_avg_bwd_infer,
    impl={"cpu": _avg_bwd_cpu, "cuda": _avg_bwd_cuda}, ref=_ref_avg_pool_backward,
    samples=cpu_extras(_avg_bwd_samples, _CPU_ONLY_AVG_BWD),
    dtypes=DTYPES, vjp=_avg_bwd_vjp, save="none",
    bench=BenchSpec(sizes=_BENCH_SIZES, make=lambda size, device, dtype: _bench_avg_bwd(size, device, dtype),
                    bytes=_pool_bytes(), flops=_pool_flops, dtypes=_BENCH_DTYPES),
    extra={"torch": _torch_avg_bwd}))

adaptive_avg_pool2d_op = register(OpDef(
    name="adaptive_avg_pool2d", family=FAMILY, infer=_adaptive_infer,
    impl={"cpu": _adaptive_cpu, "cuda": _adaptive_cuda}, ref=_ref_adaptive,
    samples=cpu_extras(_adaptive_samples, _CPU_ONLY_ADAPTIVE),
    dtypes=DTYPES, vjp=_adaptive_vjp, save="none",
    bench=BenchSpec(sizes=_BENCH_SIZES, make=_bench_adaptive, bytes=_adaptive_bytes,
                    flops=lambda size: size[0] * size[1] * size[2] * size[2], dtypes=_BENCH_DTYPES),
    extra={"torch": lambda torch, *a, **k: torch.nn.functional.adaptive_avg_pool2d(*a, **k)}))

adaptive_avg_pool2d_backward_op = register(OpDef(
    name="adaptive_avg_pool2d_backward", family=FAMILY, infer=_adaptive_bwd_infer,
    impl={"cpu": _adaptive_bwd_cpu, "cuda": _adaptive_bwd_cuda}, ref=_ref_adaptive_backward,

    samples=cpu_extras(_adaptive_bwd_samples, _CPU_ONLY_ADAPTIVE_BWD), dtypes=DTYPES, vjp=_adaptive_bwd_vjp,
    save="none",
    bench=BenchSpec(sizes=_BENCH_SIZES, make=lambda size, device, dtype: _bench_adaptive_bwd(size, device, dtype),
                    bytes=_adaptive_bytes, flops=lambda size: size[0] * size[1] * size[2] * size[2],
                    dtypes=_BENCH_DTYPES),
    extra={"torch": _torch_adaptive_bwd}))


def _bench_max_bwd(size, device, dtype):
    (x,), kw = _bench_pool(size, device, dtype)
    y, idx = max_pool2d_op(x, **kw)
    return (make_tensor(tuple(y.shape), dtype, device), idx), dict(kw, input_size=tuple(x.shape))


def _bench_avg_bwd(size, device, dtype):
    (x,), kw = _bench_pool(size, device, dtype)
    g = _avg_geom("bench", tuple(x.shape), kw["kernel_size"], kw["stride"], kw["padding"], False, None)
    return (make_tensor(g.y_shape(), dtype, device),), dict(kw, input_size=tuple(x.shape))


def _bench_adaptive_bwd(size, device, dtype):
    n, c, hw, _, _ = size
    return (make_tensor((n, c, 7, 7), dtype, device),), {"input_size": (n, c, hw, hw)}


# ============================================================================================ public API

def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """torch.nn.functional.max_pool2d over (N, C, H, W) or (C, H, W); with return_indices also the flat argmax
    offsets (h * W + w in each plane) that max_unpool2d and the backward use."""
    out, indices = max_pool2d_op(input, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                                 ceil_mode=ceil_mode)
    return (out, indices) if return_indices else out


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """torch.nn.functional.avg_pool2d over (N, C, H, W) or (C, H, W)."""
    return avg_pool2d_op(input, kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                         count_include_pad=count_include_pad, divisor_override=divisor_override)


def adaptive_avg_pool2d(input, output_size):
    """torch.nn.functional.adaptive_avg_pool2d: output_size an int, a pair, or a pair with None (keep that dim)."""
    return adaptive_avg_pool2d_op(input, output_size)
