"""Resampling composites: interpolate (nn.Upsample), pixel_shuffle, pixel_unshuffle, from registered ops.

interpolate is separable: along each spatial dim the output is a weighted sum of a few input slices gathered
with index_select (nearest: 1 tap, linear: 2, cubic: 4), so it runs on both devices and its gradient is
index_select's deterministic index_add. Source indices and weights are PyTorch's (UpSample.h): computed on the
host in the op math type (float32 for float32/half inputs, float64 for float64) with the same formulas, so
nearest picks the same pixels and the linear/cubic weights agree to the last bits or so. 'area' is adaptive
average pooling.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..ops import movement as _mv
from ..ops.indexing import index_select
from ..ops.nn_pool import adaptive_avg_pool2d
from ..tensor import Tensor

__all__ = ["interpolate", "upsample", "pixel_shuffle", "pixel_unshuffle"]

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_LINEAR_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_CUBIC_A = -0.75


def _output_sizes(x: Tensor, size, scale_factor, recompute) -> tuple:
    """(output sizes, scales for the index math: 1/scale_factor where one is given and not recomputed, else
    None = input/output)."""
    spatial = list(x.shape[2:])
    dim = len(spatial)
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        sizes = list(size) if isinstance(size, (tuple, list)) else [size] * dim
        if len(sizes) != dim:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {spatial} and output size of {size}. Please provide input tensor "
                             f"in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.")
        return tuple(int(s) for s in sizes), (None,) * dim
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    scales = list(scale_factor) if isinstance(scale_factor, (tuple, list)) else [scale_factor] * dim
    if len(scales) != dim:
        raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                         f"with spatial dimensions of {spatial} and scale_factor of shape {scale_factor}. Please "
                         f"provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) "
                         f"format.")
    sizes = tuple(math.floor(float(n) * float(s)) for n, s in zip(spatial, scales))
    return sizes, ((None,) * dim if recompute else tuple(float(s) for s in scales))


def _scale(n_in: int, n_out: int, scale, align_corners: bool, math_t) -> np.floating:
    """PyTorch's area_pixel_compute_scale / compute_scales_value, in the op math type."""
    if align_corners:
        return math_t(n_in - 1) / math_t(n_out - 1) if n_out > 1 else math_t(0)
    if scale is not None and scale > 0:
        return math_t(1.0 / scale)
    return math_t(n_in) / math_t(n_out)


def _taps(mode: str, n_in: int, n_out: int, scale, align_corners: bool, math_t) -> list:
    """[(input index per output position, weight per output position or None)] for one spatial dim."""
    dst = np.arange(n_out, dtype=math_t)
    s = _scale(n_in, n_out, scale, align_corners, math_t)
    if mode in ("nearest", "nearest-exact"):
        src = np.floor((dst + math_t(0.5)) * s) if mode == "nearest-exact" else np.floor(dst * s)
        return [(np.minimum(src.astype(np.int64), n_in - 1), None)]
    src = dst * s if align_corners else s * (dst + math_t(0.5)) - math_t(0.5)
    if mode == "bicubic":
        i0 = np.floor(src)
        t = (src - i0).astype(math_t)
        a = math_t(_CUBIC_A)

        def near(v):  # |v| <= 1
            return ((a + 2) * v - (a + 3)) * v * v + 1

        def far(v):  # 1 < |v| < 2
            return ((a * v - 5 * a) * v + 8 * a) * v - 4 * a

        x2 = 1 - t
        weights = (far(t + 1), near(t), near(x2), far(x2 + 1))
        base = i0.astype(np.int64)
        return [(np.clip(base - 1 + k, 0, n_in - 1), w) for k, w in enumerate(weights)]
    if not align_corners:
        src = np.maximum(src, math_t(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    lam = np.clip(src - i0.astype(math_t), 0, 1).astype(math_t)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return [(i0, 1 - lam), (i1, lam)]


def _resample_dim(x: Tensor, d: int, taps: list) -> Tensor:
    out = None
    trailing = (1,) * (x.dim() - d - 1)
    for idx, w in taps:
        part = index_select(x, d, _as_tensor(idx, _dt.int64, x.device))
        if w is not None:
            part = part * _as_tensor(w.reshape((-1,) + trailing), x.dtype, x.device)
        out = part if out is None else out + part
    return out


def _as_tensor(a: np.ndarray, dtype, device) -> Tensor:
    from ..ops.creation import tensor
    return tensor(a.astype(dtype.np), device=device)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False) -> Tensor:
    """torch.nn.functional.interpolate for (N, C, d1[, d2[, d3]]) inputs: modes nearest, nearest-exact, linear
    (3-D), bilinear and bicubic (4-D), trilinear (5-D), area (3-D/4-D)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate(): argument 'input' must be Tensor, not {type(input).__name__}")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dims = input.dim()
    if mode not in _MODES or dims not in (3, 4, 5):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {dims}D) for the "
                                  f"modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
                                  f"nearest-exact (got {mode})")
    need = _LINEAR_DIMS.get(mode)
    if need is not None and dims - 2 != need:
        raise NotImplementedError(f"Got {dims}D input, but {mode} mode needs {need + 2}D input")
    if antialias:
        raise NotImplementedError("interpolate(antialias=True) is not supported by tritorch; "
                                  "call it with antialias=False")
    if input.dtype.kind != _dt.FLOAT:
        raise RuntimeError(f'"upsample_{mode}" not implemented for \'{input.dtype}\'')
    sizes, scales = _output_sizes(input, size, scale_factor, bool(recompute_scale_factor))
    if mode == "area":
        if dims == 5:
            raise NotImplementedError("interpolate(mode='area') supports 3-D and 4-D inputs in tritorch")
        if dims == 3:
            return adaptive_avg_pool2d(input.unsqueeze(-2), (1, sizes[0])).squeeze(-2)
        return adaptive_avg_pool2d(input, sizes)
    for n in sizes:
        if n <= 0:
            raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                               f"({', '.join(map(str, input.shape[2:]))}) and output ({', '.join(map(str, sizes))})")
    half = input.dtype in (_dt.float16, _dt.bfloat16)
    x = input.float() if half else input   # PyTorch's op math for half inputs
    math_t = np.float64 if x.dtype is _dt.float64 else np.float32
    for i in reversed(range(len(sizes))):  # the last dim first, as PyTorch's kernels sum (same roundings)
        n_out, n_in = sizes[i], x.shape[2 + i]
        x = _resample_dim(x, 2 + i, _taps(mode, n_in, n_out, scales[i], bool(align_corners), math_t))
    return x.to(input.dtype) if half else x


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """torch.nn.functional.upsample (deprecated there): interpolate."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def _check_shuffle(fn: str, input: Tensor, factor: int, name: str) -> None:
    if input.dim() < 3:
        raise RuntimeError(f"{fn} expects input to have at least 3 dimensions, but got input with {input.dim()} "
                           f"dimension(s)")
    if factor <= 0:
        raise RuntimeError(f"{fn} expects a positive {name}, but got {factor}")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C * r * r, H, W) -> (*, C, H * r, W * r): torch.nn.functional.pixel_shuffle."""
    r = int(upscale_factor)
    _check_shuffle("pixel_shuffle", input, r, "upscale_factor")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    b = len(batch)
    x = input.reshape(*batch, c // (r * r), r, r, h, w)
    x = _mv.permute(x, tuple(range(b)) + (b, b + 3, b + 1, b + 4, b + 2))
    return x.reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r * r, H, W): torch.nn.functional.pixel_unshuffle."""
    r = int(downscale_factor)
    _check_shuffle("pixel_unshuffle", input, r, "downscale_factor")
    *batch, c, h, w = input.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, but input.size(-2)="
                           f"{h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, but input.size(-1)="
                           f"{w} is not divisible by {r}")
    b = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r)
    x = _mv.permute(x, tuple(range(b)) + (b, b + 2, b + 4, b + 1, b + 3))
    return x.reshape(*batch, c * r * r, h // r, w // r)
