"""1-d, 3-d, adaptive max and power-average (Lp) pooling, composed from the registered 2-d pooling ops
(ops/nn_pool.py) and reductions, so both devices, autograd and double backward come from those ops.

A 1-d input (N, C, L) or (C, L) is pooled as a 2-d plane of height 1: the kernels then loop over a 1 x k window,
and max indices (h * W + w in each plane) are already the 1-d positions. Adaptive max pooling uses max_pool2d
itself when every window has the same size (the input size a multiple of the output size: global pooling and
most uses), else one max per output window (PyTorch's windows: start floor(i * L / n), end ceil((i + 1) * L / n)).
"""
from __future__ import annotations

import math

import numpy as np

from ..ops import movement as _mv
from ..ops import reduce as _reduce
from ..ops.nn_pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from ..tensor import Tensor

__all__ = ["lp_pool3d", "max_pool1d", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool2d",
           "lp_pool1d", "lp_pool2d", "max_pool3d", "avg_pool3d"]


def _one(fn: str, name: str, v, allow_none: bool = False):
    """An int or a one-int tuple/list (PyTorch's 1-d pooling arguments); None stays None where allowed."""
    if v is None and allow_none:
        return None
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return int(v)
    if isinstance(v, (tuple, list)) and len(v) == 1 and isinstance(v[0], (int, np.integer)):
        return int(v[0])
    if isinstance(v, (tuple, list)) and allow_none and len(v) == 0:
        return None
    size = len(v) if isinstance(v, (tuple, list)) else type(v).__name__
    raise RuntimeError(f"{fn}() {name} must be an int, list of ints or tuple of ints of size 1 but got size {size}")


def _check_1d(fn: str, input) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if input.dim() not in (2, 3):
        raise RuntimeError(f"{fn}: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, "
                           f"but got:{list(input.shape)}")


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """torch.nn.functional.max_pool1d over (N, C, L) or (C, L)."""
    _check_1d("max_pool1d", input)
    k = _one("max_pool1d", "kernel_size", kernel_size)
    s = _one("max_pool1d", "stride", stride, allow_none=True)
    out = max_pool2d(input.unsqueeze(-2), (1, k), (1, k if s is None else s),
                     (0, _one("max_pool1d", "padding", padding)), (1, _one("max_pool1d", "dilation", dilation)),
                     ceil_mode=ceil_mode, return_indices=return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """torch.nn.functional.avg_pool1d over (N, C, L) or (C, L)."""
    _check_1d("avg_pool1d", input)
    k = _one("avg_pool1d", "kernel_size", kernel_size)
    s = _one("avg_pool1d", "stride", stride, allow_none=True)
    return avg_pool2d(input.unsqueeze(-2), (1, k), (1, k if s is None else s),
                      (0, _one("avg_pool1d", "padding", padding)), ceil_mode, count_include_pad).squeeze(-2)


def adaptive_avg_pool1d(input, output_size):
    """torch.nn.functional.adaptive_avg_pool1d over (N, C, L) or (C, L)."""
    _check_1d("adaptive_avg_pool1d", input)
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, _one("adaptive_avg_pool1d", "output_size",
                                                             output_size))).squeeze(-2)


def _window(i: int, n_out: int, n_in: int) -> tuple:
    return (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)


def _adaptive_max(input: Tensor, out_hw: tuple, return_indices: bool):
    """Adaptive max pooling of the last two dims of a 3-d or 4-d input to out_hw."""
    h, w = input.shape[-2], input.shape[-1]
    ho, wo = out_hw
    if ho > 0 and wo > 0 and h % ho == 0 and w % wo == 0:  # equal windows: one max_pool2d launch
        return max_pool2d(input, (h // ho, w // wo), (h // ho, w // wo), return_indices=return_indices)
    values, indices = [], []
    for i in range(ho):
        h0, h1 = _window(i, ho, h)
        for j in range(wo):
            w0, w1 = _window(j, wo, w)
            win = input[..., h0:h1, w0:w1].flatten(-2)
            v, local = _reduce.max(win, -1)
            values.append(v)
            if return_indices:  # the window's flat offset back to the plane's h * W + w
                indices.append((local // (w1 - w0) + h0) * w + local % (w1 - w0) + w0)
    shape = tuple(input.shape[:-2]) + (ho, wo)
    out = _mv.stack(values, -1).reshape(shape) if values else input.new_empty(shape)
    if not return_indices:
        return out
    idx = _mv.stack(indices, -1).reshape(shape) if indices else input.new_empty(shape).long()
    return out, idx


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """torch.nn.functional.adaptive_max_pool2d over (N, C, H, W) or (C, H, W); output_size an int, a pair, or a
    pair with None (keep that dim); with return_indices also the flat argmax offsets h * W + w in each plane."""
    if not isinstance(input, Tensor):
        raise TypeError(f"adaptive_max_pool2d(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if input.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: {list(input.shape)}")
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size, output_size)
    output_size = tuple(output_size)
    if len(output_size) != 2:
        raise RuntimeError("adaptive_max_pool2d(): internal error: output_size.size() must be 2")
    out_hw = tuple(input.shape[-2 + i] if v is None else int(v) for i, v in enumerate(output_size))
    for i in range(input.dim() - 2, input.dim()):
        if input.shape[i] == 0:
            raise RuntimeError(f"adaptive_max_pool2d(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(input.shape)} with dimension {i} being empty")
    return _adaptive_max(input, out_hw, return_indices)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """torch.nn.functional.adaptive_max_pool1d over (N, C, L) or (C, L)."""
    _check_1d("adaptive_max_pool1d", input)
    if input.shape[-1] == 0:
        raise RuntimeError(f"adaptive_max_pool1d(): Expected input to have non-zero size for non-batch dimensions, "
                           f"but input has sizes {list(input.shape)} with dimension {input.dim() - 1} being empty")
    out = _adaptive_max(input.unsqueeze(-2), (1, _one("adaptive_max_pool1d", "output_size", output_size)),
                        return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def _lp_finish(avg: Tensor, window: int, norm_type: float) -> Tensor:
    """(window * mean of x^p)^(1/p), the mean's negative rounding noise cut to 0 first (PyTorch's sign * relu)."""
    from ..ops import unary as _unary
    return (_unary.sign(avg) * _unary.relu(_unary.abs(avg)) * window) ** (1.0 / norm_type)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """torch.nn.functional.lp_pool2d: the p-norm of each window, (sum of x^p)^(1/p)."""
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, (int, np.integer)) else tuple(kernel_size)
    avg = avg_pool2d(input ** norm_type, (kh, kw), stride if stride is not None else (kh, kw), 0, ceil_mode)
    return _lp_finish(avg, kh * kw, float(norm_type))


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """torch.nn.functional.lp_pool1d: the p-norm of each window along the last dim."""
    k = _one("lp_pool1d", "kernel_size", kernel_size)
    avg = avg_pool1d(input ** norm_type, k, stride, 0, ceil_mode)
    return _lp_finish(avg, k, float(norm_type))


# ---------------------------------------------------------------------------------------------- 3-d pooling
# A 3-d window is a 2-d window on each of the kd depth slices it covers: the slices each output depth reads are
# gathered into the channel dim (one index_select), the 2-d pooling kernels pool them, and a max / sum over the
# slices finishes the window.

def _three(fn: str, name: str, v) -> tuple:
    v = tuple(v) if isinstance(v, (tuple, list)) else (v, v, v)
    if len(v) == 1:
        v = v * 3
    if len(v) != 3:
        raise RuntimeError(f"{fn}: {name} must either be a single int, or a tuple of three ints")
    return tuple(int(i) for i in v)


def _depth_taps(x: Tensor, k: int, s: int, p: int, dil: int, ceil_mode: bool, fill: float):
    """x (N, C, D, H, W) with its depth padded by `fill` as the windows need: (x gathered to (N*C*Do, k, H, W), Do)."""
    from ..ops.creation import tensor as _tensor
    from ..ops.nn_pool import _out_size
    n, c, depth, h, w = x.shape
    d_out = _out_size(depth, k, p, s, dil, ceil_mode)
    right = max(0, (d_out - 1) * s + dil * (k - 1) + 1 - (depth + p))
    if p or right:
        x = _mv.pad(x, (0, 0, 0, 0, p, right), value=fill)
    taps = (np.arange(d_out)[:, None] * s + np.arange(k)[None, :] * dil).reshape(-1)
    slices = x.index_select(2, _tensor(taps.astype(np.int64), device=x.device))
    return slices.reshape(n * c * d_out, k, h, w), d_out


def _check_pool3d(x: Tensor, k: tuple, s: tuple, p: tuple, dil: tuple, ceil_mode: bool, avg: bool) -> None:
    """PyTorch's checks of a 3-d pooling's parameters and sizes, with its messages, before any work (the 2-d pooling
    of the slices would check some of them with its own 2-d messages, or not at all: a depth of no windows
    came back as an empty result)."""
    from ..ops.nn_pool import _out_size
    if 0 in s:
        raise RuntimeError("stride should not be zero")
    for i in range(3):
        if p[i] < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p[i]}")
    for i in range(3):
        if p[i] > int((dil[i] * (k[i] - 1) + 1) / 2):   # (C's division, toward zero)
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p[i]}, "
                               f"kernel_size={k[i]} and dilation={dil[i]}")
    if min(k) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kT: {k[0]} kH: {k[1]} kW: {k[2]}")
    if min(s) < 0:
        raise RuntimeError(f"stride should be greater than zero, but got dT: {s[0]} dH: {s[1]} dW: {s[2]}")
    if min(dil) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationT: {dil[0]} dilationH: {dil[1]} "
                           f"dilationW: {dil[2]}")
    c, depth, h, w = x.shape[1:]
    if avg and (depth < k[0] or h < k[1] or w < k[2]):
        raise RuntimeError(f"input image (T: {depth} H: {h} W: {w}) smaller than kernel size (kT: {k[0]} kH: {k[1]} "
                           f"kW: {k[2]})")
    if k[0] // 2 < p[0] or k[2] // 2 < p[2] or k[1] // 2 < p[1]:
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got kT: {k[0]} kW: {k[2]} "
                           f"kH: {k[1]} padT: {p[0]} padW: {p[2]} padH: {p[1]}")
    outs = [_out_size(n, k[i], p[i], s[i], dil[i], ceil_mode) for i, n in enumerate((depth, h, w))]
    if min(outs) < 1:
        raise RuntimeError(f"Given input size: ({c}x{depth}x{h}x{w}). Calculated output size: "
                           f"({c}x{outs[0]}x{outs[1]}x{outs[2]}). Output size is too small")


def _as_5d(fn: str, input: Tensor) -> Tensor:
    if input.dim() not in (4, 5):
        raise RuntimeError(f"{fn}: non-empty 4D or 5D (batch mode) tensor expected for input")
    return input if input.dim() == 5 else input.unsqueeze(0)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """torch.nn.functional.max_pool3d over (N, C, D, H, W) or (C, D, H, W). Indices (return_indices) are flat
    positions d * H * W + h * W + w in each input volume, as PyTorch's: the 2-d pooling's index in the slice
    that holds the window's maximum (the first such slice: PyTorch's first maximum in scan order)."""
    x = _as_5d("max_pool3d", input)
    k = _three("max_pool3d", "kernel_size", kernel_size)
    s = k if stride is None or stride == () else _three("max_pool3d", "stride", stride)
    p, dil = _three("max_pool3d", "padding", padding), _three("max_pool3d", "dilation", dilation)
    _check_pool3d(x, k, s, p, dil, ceil_mode, False)
    slices, d_out = _depth_taps(x, k[0], s[0], p[0], dil[0], ceil_mode, -math.inf)
    pooled = max_pool2d(slices, k[1:], s[1:], p[1:], dil[1:], ceil_mode=ceil_mode, return_indices=return_indices)
    if return_indices:
        pooled, plane_index = pooled
    best = _reduce.max(pooled, 1)
    n, c, depth, h, w = x.shape
    shape = (n, c, d_out, best.values.shape[-2], best.values.shape[-1])
    out = best.values.reshape(shape)
    if not return_indices:
        return out if input.dim() == 5 else out.squeeze(0)
    from ..ops.creation import tensor as _tensor
    slice_pick = best.indices.unsqueeze(1)                                   # (N*C*Do, 1, Ho, Wo)
    hw = plane_index.gather(1, slice_pick).reshape(shape)
    # the input depth of tap j of output depth i: i * s + j * dil - p (the taps _depth_taps gathered)
    depths = np.arange(d_out)[:, None] * s[0] + np.arange(k[0])[None, :] * dil[0] - p[0]
    table = _tensor(depths.astype(np.int64), device=x.device).reshape(1, d_out, k[0], 1, 1)
    pick = slice_pick.reshape(n * c, d_out, 1, shape[3], shape[4])
    d_index = table.expand(n * c, d_out, k[0], shape[3], shape[4]).gather(2, pick).reshape(shape)
    index = d_index * (h * w) + hw
    if input.dim() == 4:
        return out.squeeze(0), index.squeeze(0)
    return out, index


def _window_counts(size: int, n_out: int, k: int, s: int, p: int, include_pad: bool) -> np.ndarray:
    """Elements of each window along one dim that the average divides by (PyTorch's avg_pool rule)."""
    start = np.arange(n_out) * s - p
    end = np.minimum(start + k, size + p)
    if include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """torch.nn.functional.avg_pool3d over (N, C, D, H, W) or (C, D, H, W)."""
    from ..ops.creation import tensor as _tensor
    x = _as_5d("avg_pool3d", input)
    k = _three("avg_pool3d", "kernel_size", kernel_size)
    s = k if stride is None or stride == () else _three("avg_pool3d", "stride", stride)
    p = _three("avg_pool3d", "padding", padding)
    _check_pool3d(x, k, s, p, (1, 1, 1), ceil_mode, True)
    slices, d_out = _depth_taps(x, k[0], s[0], p[0], 1, ceil_mode, 0.0)
    sums = avg_pool2d(slices, k[1:], s[1:], p[1:], ceil_mode, True, 1).sum(1)          # window sums
    ho, wo = sums.shape[-2], sums.shape[-1]
    if divisor_override:
        out = sums / divisor_override
    else:
        dims = [_window_counts(x.shape[2 + i], o, k[i], s[i], p[i], count_include_pad)
                for i, o in enumerate((d_out, ho, wo))]
        counts = dims[0][:, None, None] * dims[1][None, :, None] * dims[2][None, None, :]
        divisor = _tensor(counts.astype(x.dtype.np), device=x.device)
        out = sums.reshape(x.shape[0], x.shape[1], d_out, ho, wo) / divisor
    out = out.reshape(x.shape[0], x.shape[1], d_out, ho, wo)
    return out if input.dim() == 5 else out.squeeze(0)



def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """torch.nn.functional.lp_pool3d: the p-norm of each (kD, kH, kW) window, (sum of x^p)^(1/p), from avg_pool3d
    as PyTorch composes it (norm_type +-inf: the max / min of |x| over the window, from max_pool3d)."""
    k = _three("lp_pool3d", "kernel_size", kernel_size)
    if isinstance(norm_type, (int, float)) and math.isinf(norm_type):
        from ..ops.unary import abs as _abs
        if norm_type > 0:
            return max_pool3d(_abs(input), kernel_size, stride, 0, 1, ceil_mode)
        return -max_pool3d(-_abs(input), kernel_size, stride, 0, 1, ceil_mode)
    avg = avg_pool3d(input ** norm_type, kernel_size, stride, 0, ceil_mode)
    return _lp_finish(avg, k[0] * k[1] * k[2], float(norm_type))

# ------------------------------------------------------------------------------------- adaptive 3-d pooling
# A box is the product of its depth, height and width ranges, so its mean (max) is the mean (max) over the depth
# bin of the 2-d adaptive pooling of each slice: the 2-d op pools every slice, then a 1-d adaptive pooling runs
# along depth.

def _three_sizes(name: str, input: Tensor, output_size) -> tuple:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if input.dim() not in (4, 5):
        raise RuntimeError(f"{name}(): Expected 4D or 5D tensor, but got: {list(input.shape)}")
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * 3
    output_size = tuple(output_size)
    if len(output_size) != 3:
        raise RuntimeError(f"{name}(): internal error: output_size.size() must be 3")
    for i in range(input.dim() - 3, input.dim()):
        if input.shape[i] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch dimensions, but input "
                               f"has sizes {list(input.shape)} with dimension {i} being empty")
    return tuple(input.shape[-3 + i] if v is None else int(v) for i, v in enumerate(output_size))


def _adaptive_3d(input: Tensor, out: tuple, plane, line) -> Tensor:
    lead = tuple(input.shape[:-3])
    d, h, w = input.shape[-3:]
    od, oh, ow = out
    planes = plane(input.reshape(-1, d, h, w), (oh, ow))                 # (B, d, oh, ow)
    cols = planes.permute(0, 2, 3, 1).reshape(-1, oh * ow, d)            # depth last
    pooled = line(cols, od)                                              # (B, oh*ow, od)
    return pooled.reshape(-1, oh, ow, od).permute(0, 3, 1, 2).reshape(lead + (od, oh, ow))


def adaptive_avg_pool3d(input, output_size):
    """torch.nn.functional.adaptive_avg_pool3d over (N, C, D, H, W) or (C, D, H, W)."""
    out = _three_sizes("adaptive_avg_pool3d", input, output_size)
    return _adaptive_3d(input, out, adaptive_avg_pool2d, adaptive_avg_pool1d)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """torch.nn.functional.adaptive_max_pool3d over (N, C, D, H, W) or (C, D, H, W); indices (return_indices)
    are flat positions d * H * W + h * W + w in each input volume: the 2-d pooling's index in the depth slice the
    1-d pooling along depth picked."""
    out = _three_sizes("adaptive_max_pool3d", input, output_size)
    if not return_indices:
        return _adaptive_3d(input, out, lambda x, s: _adaptive_max(x, s, False),
                            lambda x, n: _adaptive_max(x.unsqueeze(-2), (1, n), False).squeeze(-2))
    lead = tuple(input.shape[:-3])
    d, h, w = input.shape[-3:]
    od, oh, ow = out
    planes, plane_index = _adaptive_max(input.reshape(-1, d, h, w), (oh, ow), True)   # (B, d, oh, ow) each
    depth_last = (0, 2, 3, 1)
    cols = planes.permute(*depth_last).reshape(-1, oh * ow, d)
    pooled, depth_index = _adaptive_max(cols.unsqueeze(-2), (1, od), True)
    pooled, depth_index = pooled.squeeze(-2), depth_index.squeeze(-2)                 # (B, oh*ow, od)
    hw = plane_index.permute(*depth_last).reshape(-1, oh * ow, d).gather(-1, depth_index)
    index = depth_index * (h * w) + hw

    def back(t):
        return t.reshape(-1, oh, ow, od).permute(0, 3, 1, 2).reshape(lead + (od, oh, ow))

    return back(pooled), back(index)
