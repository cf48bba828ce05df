"""torch.histogramdd: the D-dimensional histogram of the rows of an (..., D) input, a composite of registered ops.

As PyTorch's CPU kernel: each dimension's bins are `bins` equal ones over `range` (the data's min and max when not
given; [0, 1] for no data; a zero-width range widened by 0.5 on each side) or given edge tensors; an element goes
to the last edge at or below it (searchsorted, right=True), the rightmost edge belonging to the last bin, and a row
outside any dimension's edges is not counted. The counts are one index_add of the weights (or ones) at the flat
bin index, so both devices run it (PyTorch has it on the CPU only). density divides by the total and then by each
dimension's bin widths, in PyTorch's order. Float32 and float64 inputs, as PyTorch's.
Host synchronisations: the data's range when no range is given (one read of 2 D values).
"""
from __future__ import annotations

import builtins
import collections
import math

from .. import dtypes as _dt
from ..tensor import Tensor
from .registry import _type_name

__all__ = ["histogramdd"]

histogramdd_result = collections.namedtuple("histogramdd", ["hist", "bin_edges"])

_C_NAMES = {_dt.float32: "float", _dt.float64: "double", _dt.float16: "c10::Half", _dt.bfloat16: "c10::BFloat16"}


def _c_name(d: _dt.dtype) -> str:
    return _C_NAMES.get(d, _type_name(d))


def _check(input, bins, range, weight) -> int:
    """PyTorch's argument checks; returns D."""
    if not isinstance(input, Tensor):
        raise TypeError(f"histogramdd(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.dim() < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions")
    if input.dtype not in (_dt.float32, _dt.float64):
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{_type_name(input.dtype)}'")
    d = input.shape[-1]
    if isinstance(bins, (list, tuple)):
        if bins and isinstance(bins[0], Tensor):
            if len(bins) != d:
                raise RuntimeError(f"torch.histogramdd: expected {d} sequences of bin edges for a {d}-dimensional "
                                   f"histogram but got {len(bins)}")
            for i, e in enumerate(bins):
                if e.dim() != 1:
                    raise RuntimeError(f"torch.histogramdd: bins tensor should have one dimension, but got {e.dim()} "
                                       f"dimensions in the bins tensor for dimension {i}")
                if e.dtype is not input.dtype:
                    raise RuntimeError("torch.histogramdd: input tensor and bins tensors should have the same dtype, "
                                       f"but got input with dtype {_c_name(input.dtype)} and bins for dimension {i} "
                                       f"with dtype {_c_name(e.dtype)}")
                if e.numel() == 0:
                    raise RuntimeError("torch.histogramdd: bins tensor should have at least 1 element, but got 0 "
                                       f"elements in the bins tensor for dimension {i}")
                if e.numel() == 1:
                    raise RuntimeError(f"torch.histogram(): bins must be > 0, but got 0 for dimension {i}")
        elif len(bins) != d:
            raise RuntimeError("histogramdd: The size of bins must be equal to the innermost dimension of the input.")
    counts = [bins] * d if isinstance(bins, int) else bins
    if not (counts and isinstance(counts[0], Tensor)):
        for i, b in enumerate(counts):
            if int(b) <= 0:
                raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {int(b)} for dimension {i}")
    if range is not None and len(range) != 2 * d:
        raise RuntimeError(f"torch.histogramdd: for a {d}-dimensional histogram range should have {2 * d} elements, "
                           f"but got {len(range)}")
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape[:-1]):
            raise RuntimeError("torch.histogramdd: if weight tensor is provided it should have the same shape as the "
                               "input tensor excluding its innermost dimension, but got input with shape "
                               f"{list(input.shape)} and weight with shape {list(weight.shape)}")
        if weight.dtype is not input.dtype:
            raise RuntimeError("torch.histogramdd: if weight tensor is provided, input tensor and weight tensor should "
                               f"have the same dtype, but got input({_c_name(input.dtype)}), and "
                               f"weight({_c_name(weight.dtype)})")
    return d


def _outer_edges(x, d: int, range):
    """(leftmost, rightmost) of each dimension as PyTorch picks them for integer bin counts."""
    if range is not None:
        pairs = [(float(range[2 * i]), float(range[2 * i + 1])) for i in builtins.range(d)]
    elif x.shape[0] == 0:
        pairs = [(0.0, 1.0)] * d
    else:
        lo, hi = x.amin(0).tolist(), x.amax(0).tolist()
        pairs = list(zip(lo, hi))
    out = []
    for i, (lo, hi) in enumerate(pairs):
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise RuntimeError(f"torch.histogramdd: dimension {i}'s range [{lo:g}, {hi:g}] is not finite")
        if lo > hi:
            raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {lo:g} max {hi:g} for "
                               f"dimension {i}")
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        out.append((lo, hi))
    return out


def histogramdd(input, bins, range=None, weight=None, density=False):
    """(hist, bin_edges) of the rows of input (..., D) (torch.histogramdd): bins is an int, D ints, or D 1-D
    tensors of edges; range is [min_0, max_0, ..., min_(D-1), max_(D-1)]."""
    from .creation import linspace, ones, zeros
    from .indexing import index_add
    from .reduce import searchsorted
    d = _check(input, bins, range, weight)
    x = input.reshape(-1, d)
    if isinstance(bins, (list, tuple)) and bins and isinstance(bins[0], Tensor):
        edges = tuple(bins)
    else:
        counts = [int(bins)] * d if isinstance(bins, int) else [int(b) for b in bins]
        edges = tuple(linspace(lo, hi, n + 1, dtype=input.dtype, device=input.device)
                      for (lo, hi), n in zip(_outer_edges(x, d, range), counts))
    nbins = [e.numel() - 1 for e in edges]
    flat = None
    inside = None
    stride = 1
    for i in reversed(builtins.range(d)):
        col, e, nb = x[:, i], edges[i], nbins[i]
        pos = (searchsorted(e, col, right=True) - 1).clamp(0, nb - 1)   # the rightmost edge: the last bin
        hit = (col >= e[0]) & (col <= e[-1])
        flat = pos * stride if flat is None else flat + pos * stride
        inside = hit if inside is None else inside & hit
        stride *= nb
    w = weight.reshape(-1) if weight is not None else ones(x.shape[0], dtype=input.dtype, device=input.device)
    w = w.masked_fill(~inside, 0.0)
    hist = index_add(zeros(stride, dtype=input.dtype, device=input.device), 0, flat, w).reshape(nbins)
    if density:
        hist = hist / hist.sum()
        for i, e in enumerate(edges):
            shape = [1] * d
            shape[i] = nbins[i]
            hist = hist / (e[1:] - e[:-1]).reshape(shape)
    return histogramdd_result(hist, edges)
