"""torch.testing.make_tensor for tritorch: PyTorch's signature, default ranges, clamping and errors
(torch/testing/_creation.py), drawn with tritorch's own random ops on the requested device."""
from __future__ import annotations

import collections.abc
import math
import warnings

from .. import dtypes as _dt


def _checked_range(low, high, dtype, lowest, highest, default_low, default_high):
    """[low, high) with PyTorch's defaults, its NaN / order / range errors, clamped to what `dtype` holds."""
    low = default_low if low is None else low
    high = default_high if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got {low=} and {high=}")
    if low == high and dtype.kind == _dt.FLOAT:
        warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating or complex types is "
                      "deprecated since 2.1 and will be removed in 2.3. Use `torch.full(...)` instead.",
                      FutureWarning, stacklevel=3)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lowest or low >= highest:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), "
                         f"but {dtype} only supports [{lowest}, {highest})")
    low, high = min(max(low, lowest), highest), min(max(high, lowest), highest)
    if dtype.kind != _dt.FLOAT:
        return math.ceil(low), math.ceil(high)
    return low, high


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad: bool = False,
                noncontiguous: bool = False, exclude_zero: bool = False, memory_format=None):
    """A tensor of `shape` with values drawn uniformly from [low, high) (defaults: bool [0, 2), uint8 [0, 10),
    other integers [-9, 10), floats [-9, 9)), as torch.testing.make_tensor."""
    import tritorch as tt  # the public API sits above this package; imported on use

    dtype = _dt.as_dtype(dtype)
    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError("The parameters `noncontiguous` and `memory_format` are mutually exclusive, "
                         f"but got {noncontiguous=} and {memory_format=}")
    if requires_grad and dtype.kind != _dt.FLOAT:
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, but got {dtype=}")
    noncontiguous = noncontiguous and math.prod(shape) > 1
    if noncontiguous:  # every other column of one twice as wide
        shape = (*shape[:-1], 2 * shape[-1])
    if dtype is _dt.bool_:
        low, high = _checked_range(low, high, dtype, 0, 2, 0, 2)
        result = tt.randint(low, high, shape, device=device, dtype=dtype)
    elif dtype.kind == _dt.INT:
        info = _dt.iinfo(dtype)
        highest = info.max + (1 if dtype is not _dt.int64 else 0)
        default_low = 0 if dtype is _dt.uint8 else -9
        low, high = _checked_range(low, high, dtype, info.min, highest, default_low, 10)
        result = tt.randint(low, high, shape, device=device, dtype=dtype)
    elif dtype.kind == _dt.FLOAT:
        info = _dt.finfo(dtype)
        low, high = _checked_range(low, high, dtype, info.min, info.max, -9, 9)
        result = tt.empty(shape, device=device, dtype=dtype)
        if high - low >= info.max:  # the span itself would overflow: draw half of it and double
            result.uniform_(low / 2, high / 2).mul_(2)
        else:
            result.uniform_(low, high)
    else:
        raise TypeError(f"The requested dtype '{dtype}' is not supported by torch.testing.make_tensor().")
    if noncontiguous:
        result = result[..., 1::2]
    elif memory_format is not None:
        result = result.clone(memory_format=memory_format)
    if exclude_zero:
        replacement = 1 if dtype.kind != _dt.FLOAT else _dt.finfo(dtype).tiny
        result.masked_fill_(result == 0, replacement)
    if dtype.kind == _dt.FLOAT:
        result.requires_grad = requires_grad
    return result
