"""Resampling composites: interpolate (nn.Upsample), pixel_shuffle, pixel_unshuffle, affine_grid and grid_sample
(spatial transformers), from registered ops.

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
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..ops import movement as _mv
from ..ops.creation import zeros
from ..ops.indexing import index_select
from ..ops.nn_pool import adaptive_avg_pool2d
from ..tensor import Tensor

__all__ = ["interpolate", "upsample", "pixel_shuffle", "pixel_unshuffle", "affine_grid", "grid_sample"]

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


def _nearest_index(mode: str, n_in: int, n_out: int, scale, rule: str, math_t) -> np.ndarray:
    """The input index of each output position: floor(j * scale) (nearest) or floor((j + 0.5) * scale)
    (nearest-exact), as PyTorch's kernels compute it, which differ (`rule`):
      "cpu2d"  its cpu kernel of 2-D nearest (nearest_idx): the scale and the product in float32, and two special
               cases whatever scale_factor says: an output of the input's size is the identity, one of twice its
               size j // 2 (a width 3 -> 6 under scale_factor=2.3 reads columns 0 0 1 1 2 2, where floor(j / 2.3)
               gives 0 0 0 1 1 2);
      "cpu"    its cpu kernels of 1-D and 3-D inputs: in the input's op math type (float64 for float64);
      "cuda"   its cuda kernels: in float32, no special cases.
    (PyTorch's 1-D and 3-D backward kernels take the special cases, unlike their forward; tritorch's gradient is
    the forward's own.)"""
    dst = np.arange(n_out, dtype=np.int64)
    if rule == "cpu2d" and mode == "nearest" and n_out == n_in:
        return dst
    if rule == "cpu2d" and mode == "nearest" and n_out == 2 * n_in:
        return dst >> 1
    t = math_t if rule == "cpu" else np.float32
    s = _scale(n_in, n_out, scale, False, t)
    pos = dst.astype(t)
    if mode == "nearest-exact":
        pos += t(0.5)
    return np.minimum(np.floor(pos * s).astype(np.int64), n_in - 1)


def _taps(mode: str, n_in: int, n_out: int, scale, align_corners: bool, math_t, rule: str = "cpu") -> list:
    """[(input index per output position, weight per output position or None)] for one spatial dim."""
    if mode in ("nearest", "nearest-exact"):
        return [(_nearest_index(mode, n_in, n_out, scale, rule, math_t), None)]
    dst = np.arange(n_out, dtype=math_t)
    s = _scale(n_in, n_out, scale, align_corners, math_t)
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


def _aa_filter(mode: str, x: np.ndarray) -> np.ndarray:
    """The antialiasing kernels: the triangle (bilinear) and Keys' cubic with a = -0.5 (bicubic), as PIL and
    PyTorch's antialiased resampling use."""
    ax = np.abs(x)
    if mode == "bilinear":
        return np.maximum(1 - ax, 0)
    a = -0.5
    near = ((a + 2) * ax - (a + 3)) * ax * ax + 1
    far = (((ax - 5) * ax + 8) * ax - 4) * a
    return np.where(ax < 1, near, np.where(ax < 2, far, 0))


def _aa_taps(mode: str, n_in: int, n_out: int, scale, align_corners: bool, math_t) -> list:
    """Antialiased taps for one dim: when shrinking (scale s > 1) the kernel is stretched by s (support
    (2 or 4) / 2 * s input pixels), so every input pixel contributes; the weights of each output are normalised to
    sum 1. Outputs with fewer taps than the widest are padded with zero weights."""
    s = float(_scale(n_in, n_out, scale, align_corners, np.float64))
    support = (1.0 if mode == "bilinear" else 2.0) * (s if s >= 1.0 else 1.0)
    invscale = 1.0 / s if s >= 1.0 else 1.0
    centers = s * (np.arange(n_out) + 0.5)
    lo = np.maximum(np.trunc(centers - support + 0.5).astype(np.int64), 0)
    hi = np.minimum(np.trunc(centers + support + 0.5).astype(np.int64), n_in)
    width = int(max(1, (hi - lo).max(initial=1)))
    j = lo[:, None] + np.arange(width)[None, :]                     # (n_out, width) candidate inputs
    w = _aa_filter(mode, (j - centers[:, None] + 0.5) * invscale) * (j < hi[:, None])
    total = w.sum(1, keepdims=True)
    w = np.divide(w, total, out=np.zeros_like(w), where=total != 0).astype(math_t)
    j = np.minimum(j, n_in - 1)
    return [(j[:, k], w[:, k]) for k in range(width)]


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
    (3-D), bilinear and bicubic (4-D, with antialias), trilinear (5-D), area (3-D to 5-D)."""
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
    if antialias and not (mode in ("bilinear", "bicubic") and dims == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a 4-D "
                         "tensor as input")
    # uint8 images (torchvision's resize): PyTorch takes them in the nearest modes, and in bilinear / bicubic on cpu
    byte = input.dtype is _dt.uint8 and (mode in ("nearest", "nearest-exact") or
                                         (mode in ("bilinear", "bicubic") and input.device.type == "cpu"))
    if input.dtype.kind != _dt.FLOAT and not byte:
        raise RuntimeError(f'"upsample_{mode}" not implemented for \'{input.dtype}\'')
    sizes, scales = _output_sizes(input, size, scale_factor, bool(recompute_scale_factor))
    if mode == "area":
        if dims == 5:
            from ._pool import adaptive_avg_pool3d
            return adaptive_avg_pool3d(input, sizes)
        if dims == 3:
            return adaptive_avg_pool2d(input.unsqueeze(-2), (1, sizes[0])).squeeze(-2)
        return adaptive_avg_pool2d(input, sizes)
    for n in sizes:
        if n <= 0:
            raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                               f"({', '.join(map(str, input.shape[2:]))}) and output ({', '.join(map(str, sizes))})")
    if byte and mode not in ("nearest", "nearest-exact"):
        # computed in float32 and rounded (PyTorch's fixed-point uint8 kernels may differ by one in a few pixels)
        out = interpolate(input.float(), sizes, None, mode, align_corners, None, antialias)
        return out.round_().clamp_(0, 255).to(_dt.uint8)
    half = input.dtype in (_dt.float16, _dt.bfloat16)
    x = input.float() if half else input   # PyTorch's op math for half inputs
    math_t = np.float64 if x.dtype is _dt.float64 else np.float32
    rule = "cuda" if input.device.type != "cpu" else ("cpu2d" if dims == 4 else "cpu")
    for i in reversed(range(len(sizes))):  # the last dim first, as PyTorch's kernels sum (same roundings)
        n_out, n_in = sizes[i], x.shape[2 + i]
        if antialias:
            taps = _aa_taps(mode, n_in, n_out, scales[i], bool(align_corners), math_t)
        else:
            taps = _taps(mode, n_in, n_out, scales[i], bool(align_corners), math_t, rule)
        x = _resample_dim(x, 2 + i, taps)
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


# ------------------------------------------------------------------------------- affine_grid, grid_sample

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                  "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                  "grid_sample for details.")


def _base_coords(n: int, align_corners: bool, like: Tensor) -> Tensor:
    """The normalised [-1, 1] coordinates of n pixel centres (or of the corner pixels with align_corners)."""
    from ..ops.creation import arange
    steps = arange(n, dtype=like.dtype, device=like.device)
    if n == 1:
        return steps * 0
    if align_corners:
        return steps * (2.0 / (n - 1)) - 1.0
    return (steps * 2.0 + 1.0) / n - 1.0


def affine_grid(theta: Tensor, size, align_corners=None) -> Tensor:
    """The sampling grid (N, H, W, 2) of (x, y) normalised coordinates that the 2-d affine maps theta (N, 2, 3)
    send the output pixels to (for grid_sample)."""
    import warnings
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(size)
    if len(size) == 5:
        return _affine_grid_3d(theta, size, align_corners)
    if len(size) != 4:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {list(size)}.")
    if theta.dim() != 3 or tuple(theta.shape[-2:]) != (2, 3):
        raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {list(size)}. Got "
                         f"{list(theta.shape)}.")
    n, _, h, w = size
    if theta.shape[0] != n:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{n}, 3] but got: "
                           f"[{theta.shape[0]}, 3].")
    xs = _base_coords(w, align_corners, theta).reshape(1, w).expand(h, w)
    ys = _base_coords(h, align_corners, theta).reshape(h, 1).expand(h, w)
    base = _mv.stack([xs, ys, xs * 0 + 1], -1).reshape(1, h * w, 3)      # (1, H*W, [x, y, 1])
    return (base @ theta.transpose(1, 2)).reshape(n, h, w, 2)


def _affine_grid_3d(theta: Tensor, size: tuple, align_corners: bool) -> Tensor:
    """The (N, D, H, W, 3) grid of (x, y, z) coordinates for 3-d affine maps theta (N, 3, 4)."""
    if theta.dim() != 3 or tuple(theta.shape[-2:]) != (3, 4):
        raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {list(size)}. Got "
                         f"{list(theta.shape)}.")
    n, _, d, h, w = size
    if theta.shape[0] != n:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{n}, 4] but got: "
                           f"[{theta.shape[0]}, 4].")
    xs = _base_coords(w, align_corners, theta).reshape(1, 1, w).expand(d, h, w)
    ys = _base_coords(h, align_corners, theta).reshape(1, h, 1).expand(d, h, w)
    zs = _base_coords(d, align_corners, theta).reshape(d, 1, 1).expand(d, h, w)
    base = _mv.stack([xs, ys, zs, xs * 0 + 1], -1).reshape(1, d * h * w, 4)   # (1, D*H*W, [x, y, z, 1])
    return (base @ theta.transpose(1, 2)).reshape(n, d, h, w, 3)


def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    """PyTorch's reflection of out-of-range source coordinates back into the image."""
    lo, span = (0.0, 2.0 * (size - 1)) if align_corners else (-0.5, 2.0 * size)
    if span <= 0:
        return coord * 0
    half = span / 2
    c = (coord - lo).abs()
    flips = (c / half).floor()
    extra = c - flips * half
    even = (flips % 2) == 0
    return (extra + lo).where(even, half - extra + lo)


def _padded(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    """A source coordinate moved inside the image as padding_mode says (zeros: as it is)."""
    if padding_mode == "border":
        return coord.clamp(0, size - 1)
    if padding_mode == "reflection":
        return _reflect(coord, size, align_corners).clamp(0, size - 1)
    return coord


def _cubic_weights(t: Tensor) -> list:
    """The four cubic-convolution weights (Keys, A = -0.75, as PyTorch) of the taps at -1, 0, 1, 2 from t."""
    a = -0.75

    def near(x):   # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):    # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


class _ZeroGradTo(Function):
    """result, also in the graph of `source` with a zero gradient (an output that depends on source only through
    a step function)."""

    @staticmethod
    def forward(ctx, result, source):
        ctx.source_like = (tuple(source.shape), source.dtype, source.device)
        return result.clone()

    @staticmethod
    def backward(ctx, grad):
        shape, dtype, device = ctx.source_like
        return grad, zeros(shape, dtype=dtype, device=device)


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners=None) -> Tensor:
    """Samples of input (N, C, H, W) at the normalised (x, y) locations of grid (N, Ho, Wo, 2), or of input
    (N, C, D, H, W) at (x, y, z) locations of grid (N, Do, Ho, Wo, 3): bilinear (trilinear in 3-d), nearest, or
    bicubic (2-d), with zeros / border / reflection padding. Each tap is a gather of the flattened input, so
    gradients reach the input (a scatter-add) and, through the interpolation weights, the grid."""
    import warnings
    from ..ops.ternary import where
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but "
                         f"got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    nd = input.dim() - 2
    if nd not in (2, 3):
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, but "
                           f"got input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if mode == "bicubic" and nd == 3:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if grid.dim() != nd + 2 or grid.shape[-1] != nd or grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid of shape ({input.shape[0]}, {', '.join(['*'] * nd)}, "
                           f"{nd}) for an input of shape {list(input.shape)}, but got {list(grid.shape)}")
    n, c = input.shape[0], input.shape[1]
    sizes = [input.shape[-1 - i] for i in range(nd)]          # along x, y(, z): W, H(, D)
    strides = [1, sizes[0], sizes[0] * sizes[1]][:nd]
    out = tuple(grid.shape[1:-1])
    points = math.prod(out)
    flat = input.reshape(n, c, math.prod(sizes))

    def tap(ints: list) -> Tensor:
        """input at the integer-valued coordinates `ints` (x, y(, z)), 0 outside it: (N, C, *out)."""
        inside = None
        idx = None
        for ci, size, stride in zip(ints, sizes, strides):
            ok = (ci >= 0) & (ci <= size - 1)
            inside = ok if inside is None else inside & ok
            term = ci.clamp(0, size - 1) * stride
            idx = term if idx is None else idx + term
        idx = idx.long().reshape(n, 1, points).expand(n, c, points)
        values = flat.gather(2, idx).reshape((n, c) + out)
        return where(inside.unsqueeze(1), values, values.new_zeros(()))

    coords = [_unnormalize(grid[..., i], sizes[i], align_corners) for i in range(nd)]
    if mode == "bicubic":
        x, y = coords
        x0, y0 = x.floor(), y.floor()
        wx, wy = _cubic_weights(x - x0), _cubic_weights(y - y0)
        result = None
        for j in range(4):
            yj = _padded(y0 + (j - 1), sizes[1], padding_mode, align_corners)
            row = None
            for i in range(4):
                xi = _padded(x0 + (i - 1), sizes[0], padding_mode, align_corners)
                term = tap([xi, yj]) * wx[i].unsqueeze(1)
                row = term if row is None else row + term
            term = row * wy[j].unsqueeze(1)
            result = term if result is None else result + term
        return result
    coords = [_padded(ci, size, padding_mode, align_corners) for ci, size in zip(coords, sizes)]
    if mode == "nearest":
        result = tap([ci.round() for ci in coords])
        # the grid reaches the result only through round(): its gradient is zeros (PyTorch's), not absent
        return _ZeroGradTo.apply(result, grid) if grid.requires_grad and is_grad_enabled() else result
    lows = [ci.floor() for ci in coords]
    fracs = [ci - lo for ci, lo in zip(coords, lows)]
    result = None
    for corner in range(2 ** nd):   # the 2^nd corners of each point's cell, weighted by their opposite volume
        bits = [(corner >> i) & 1 for i in range(nd)]
        weight = None
        for b, f in zip(bits, fracs):
            wb = f if b else 1 - f
            weight = wb if weight is None else weight * wb
        term = tap([lo + b for lo, b in zip(lows, bits)]) * weight.unsqueeze(1)
        result = term if result is None else result + term
    return result
