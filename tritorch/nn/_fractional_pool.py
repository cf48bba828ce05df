"""Fractional max pooling (torch.nn.functional.fractional_max_pool2d/3d), a composite of gathers.

PyTorch's window starts along a dim of input size I, output size O and pool size k, for a sample u in [0, 1):
    start[i] = int((i + u) * alpha) - int(u * alpha)  for i < O - 1,   start[O - 1] = I - k,
    alpha = (I - k) / (O - 1)
computed in the input's dtype (its scalar_t), one u per (batch, plane, dim): _random_samples (N, C, 2) holds
(u_w, u_h) for 2-d maps and (N, C, 3) holds (u_t, u_h, u_w) for 3-d ones. The starts are formed here with the same
operations in the same dtype, on the input's device (no host round trip), so the windows and the indices are
PyTorch's for the same samples. Each window's flat plane indices are gathered, the first maximum in scan order wins
(the last NaN when the window has one, as PyTorch's `val > max || isnan(val)` scan), and the output is one gather
of the input at the winning indices: its gradient is gather's (a scatter-add into the input), as PyTorch's.
Without _random_samples the samples are drawn with tritorch.rand (tritorch's generator, not PyTorch's).
fp32/fp64/fp16 starts were checked equal to PyTorch's on both devices, bf16 on the cpu; under Triton's interpreter a
float32 -> bfloat16 store truncates instead of rounding (32.64 -> 32.5, not 32.75), so interpreted bf16 starts can
differ from PyTorch's there (not checked on a GPU).
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor

__all__ = ["fractional_max_pool2d", "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d_with_indices"]

_DIM_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}


def _tuple(fn: str, name: str, v, nd: int) -> tuple:
    """An int (every dim) or exactly nd ints; a 1-element sequence is refused, as PyTorch's checks do."""
    v = tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd
    if len(v) != nd:
        raise RuntimeError(f"{fn}: {name} must either be a single Int or tuple of {'three ' if nd == 3 else ''}Ints")
    return tuple(int(i) for i in v)


def _starts(u: Tensor, size: int, out: int, k: int) -> Tensor:
    """The (N, C, out) window starts (int64) for samples u (N, C) along a dim of `size`."""
    from ..ops.creation import arange, full, tensor
    from ..ops.movement import cat
    n, c = u.shape
    last = full((n, c, min(out, 1)), size - k, dtype=_int64(), device=u.device)
    if out <= 1:
        return last
    np_dt = u.dtype.np if u.dtype.np is not None else np.float32
    alpha = tensor(np.asarray(size - k, np_dt) / np.asarray(out - 1, np_dt), dtype=u.dtype, device=u.device)
    i = arange(out - 1, dtype=u.dtype, device=u.device)
    first = ((i + u.unsqueeze(-1)) * alpha).trunc().to(_int64()) - (u * alpha).trunc().to(_int64()).unsqueeze(-1)
    return cat([first, last], -1)


def _int64():
    from .. import dtypes
    return dtypes.int64


def _pool(fn: str, nd: int, input, kernel_size, output_size, output_ratio, _random_samples):
    from ..ops.creation import arange
    from ..ops.random import rand
    from ..ops.ternary import where
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if output_size is None and output_ratio is None:
        raise ValueError(f"{fn} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        if nd == 2 and isinstance(output_ratio, (tuple, list)) and len(output_ratio) > 2:
            raise ValueError(f"{fn} requires output_ratio to either be a single Int or tuple of Ints.")
        ratio = tuple(output_ratio) if isinstance(output_ratio, (tuple, list)) else (output_ratio,) * nd
        output_size = [int(input.size(-nd + d) * ratio[d]) for d in range(nd)]
    if _random_samples is None:
        n_batch = 1 if input.dim() == nd + 1 else input.size(0)
        _random_samples = rand(n_batch, input.size(-nd - 1), nd, dtype=input.dtype, device=input.device)
    k = _tuple(fn, "kernel_size", kernel_size, nd)
    out = _tuple(fn, "output_size", output_size, nd)
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{fn}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(input.shape)}")
    x = input if input.dim() == nd + 2 else input.unsqueeze(0)
    n, c, sizes = x.shape[0], x.shape[1], tuple(x.shape[2:])
    samples = _random_samples
    if samples.dtype is not input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    if samples.dim() != 3:
        raise RuntimeError(f"Expect _random samples to be 3D tensor, got: {list(samples.shape)}")
    if samples.shape[2] != nd:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {nd}; got {samples.shape[2]}.")
    if samples.shape[0] < n:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if samples.shape[1] != c:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    where_fn = f"{fn}()" if nd == 2 else f"{fn}_out()"
    for d in range(nd):
        # (PyTorch's 3-d check is strict: a window may not end on the last element of the input)
        if out[d] + k[d] - 1 > sizes[d] - (nd == 3):
            name = _DIM_NAMES[nd][d]
            raise RuntimeError(f"{where_fn}: pool {name} {k[d]} too large relative to input {name} {sizes[d]}")
    # per-dim starts (N, C, O_d); the samples' columns are (w, h) in 2-d and (t, h, w) in 3-d
    columns = (1, 0) if nd == 2 else (0, 1, 2)
    starts = [_starts(samples[:n, :, columns[d]], sizes[d], out[d], k[d]) for d in range(nd)]
    # flat plane index of every window element: (N, C, O_0, ..., O_{nd-1}, k_0 * ... * k_{nd-1})
    stride = [int(np.prod(sizes[d + 1:])) for d in range(nd)]
    flat = None
    for d in range(nd):
        pos = starts[d].unsqueeze(-1) + arange(k[d], device=x.device)        # (N, C, O_d, k_d)
        shape = [n, c] + [out[e] if e == d else 1 for e in range(nd)] + [k[e] if e == d else 1 for e in range(nd)]
        term = (pos * stride[d]).reshape(shape)
        flat = term if flat is None else flat + term
    window = int(np.prod(k))
    flat = flat.reshape(n, c, -1, window)                                   # (N, C, prod(O), window)
    planes = x.reshape(n, c, -1)
    vals = planes.detach().gather(2, flat.reshape(n, c, -1)).reshape(flat.shape)
    best = vals.argmax(-1, keepdim=True)
    nan = vals.isnan()
    if window > 1:
        last_nan = (nan.to(_int64()) * (arange(window, device=x.device) + 1)).argmax(-1, keepdim=True)
        best = where(nan.any(-1, keepdim=True), last_nan, best)
    indices = flat.gather(-1, best).reshape(n, c, -1)                      # (N, C, prod(O))
    result = planes.gather(2, indices).reshape([n, c] + list(out))
    indices = indices.reshape([n, c] + list(out))
    if input.dim() == nd + 1:
        result, indices = result.squeeze(0), indices.squeeze(0)
    return result, indices


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """torch.nn.functional.fractional_max_pool2d_with_indices: (output, indices into each H * W plane)."""
    return _pool("fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """torch.nn.functional.fractional_max_pool3d_with_indices: (output, indices into each T * H * W volume)."""
    return _pool("fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """torch.nn.functional.fractional_max_pool2d over (N, C, H, W) or (C, H, W)."""
    r = fractional_max_pool2d_with_indices(input, kernel_size, output_size, output_ratio, return_indices,
                                           _random_samples)
    return r if return_indices else r[0]


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """torch.nn.functional.fractional_max_pool3d over (N, C, T, H, W) or (C, T, H, W)."""
    r = fractional_max_pool3d_with_indices(input, kernel_size, output_size, output_ratio, return_indices,
                                           _random_samples)
    return r if return_indices else r[0]
