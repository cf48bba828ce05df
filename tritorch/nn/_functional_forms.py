"""nn.functional names that are thin forms of other functions: the in-place activations (elu_, selu_, ...), the
*_with_indices pools (always (values, indices), whatever return_indices says, as PyTorch's), and the deprecated
upsample_bilinear / upsample_nearest (interpolate, with PyTorch's warning)."""
from __future__ import annotations

import warnings

from ..ops import nn_activation as _act
from ..ops.nn_pool import max_pool2d
from ._pool import adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d, max_pool1d, max_pool3d
from ._resample import interpolate

__all__ = ["elu_", "selu_", "celu_", "leaky_relu_", "hardtanh_", "threshold_", "max_pool1d_with_indices",
           "max_pool2d_with_indices", "max_pool3d_with_indices", "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices", "upsample_bilinear",
           "upsample_nearest", "native_channel_shuffle"]


def elu_(input, alpha=1.0):
    return _act.elu(input, alpha, inplace=True)


def selu_(input):
    return _act.selu(input, inplace=True)


def celu_(input, alpha=1.0):
    return _act.celu(input, alpha, inplace=True)


def leaky_relu_(input, negative_slope=0.01):
    return _act.leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return _act.hardtanh(input, min_val, max_val, inplace=True)


def threshold_(input, threshold, value):
    from .functional import threshold as out_of_place
    return out_of_place(input, threshold, value, inplace=True)


def _with_indices(pool):
    def fn(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
        return pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)

    fn.__name__ = fn.__qualname__ = pool.__name__ + "_with_indices"
    return fn


def _adaptive_with_indices(pool):
    def fn(input, output_size, return_indices=False):
        return pool(input, output_size, return_indices=True)

    fn.__name__ = fn.__qualname__ = pool.__name__ + "_with_indices"
    return fn


max_pool1d_with_indices = _with_indices(max_pool1d)
max_pool2d_with_indices = _with_indices(max_pool2d)
max_pool3d_with_indices = _with_indices(max_pool3d)
adaptive_max_pool1d_with_indices = _adaptive_with_indices(adaptive_max_pool1d)
adaptive_max_pool2d_with_indices = _adaptive_with_indices(adaptive_max_pool2d)
adaptive_max_pool3d_with_indices = _adaptive_with_indices(adaptive_max_pool3d)


def native_channel_shuffle(input, groups):
    from .functional import channel_shuffle
    return channel_shuffle(input, groups)


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: interpolate(mode='bilinear', align_corners=True)."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: interpolate(mode='nearest')."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")
