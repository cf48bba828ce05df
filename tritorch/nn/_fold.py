"""unfold (im2col) and fold (col2im), torch.nn.functional's, as index_select / index_add over the flattened,
zero-padded planes: exact for any values (no multiplications), on both devices, and each is the other's
gradient (index_select's backward is an index_add, and the reverse)."""
from __future__ import annotations

import numpy as np

from ..ops import indexing as _indexing
from ..ops.creation import tensor as _tensor
from ..ops.creation import zeros as _zeros
from ..ops.movement import pad as _pad
from ..tensor import Tensor

__all__ = ["unfold", "fold"]


def _pair(name: str, v) -> tuple:
    v = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if len(v) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, but got {v}")
    return tuple(int(i) for i in v)


def _blocks(size: tuple, k: tuple, d: tuple, p: tuple, s: tuple) -> tuple:
    return tuple((size[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2))


def _indices(padded: tuple, k: tuple, d: tuple, s: tuple, blocks: tuple) -> np.ndarray:
    """Flat offsets in a padded plane of every (kernel tap, block) pair, taps major: (kh * kw * L,)."""
    tap_r = np.arange(k[0]) * d[0]
    tap_c = np.arange(k[1]) * d[1]
    blk_r = np.arange(blocks[0]) * s[0]
    blk_c = np.arange(blocks[1]) * s[1]
    rows = tap_r[:, None, None, None] + blk_r[None, None, :, None]
    cols = tap_c[None, :, None, None] + blk_c[None, None, None, :]
    return (rows * padded[1] + cols).reshape(-1).astype(np.int64)


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """(N, C, H, W) or (C, H, W) -> (N, C * kh * kw, L): every sliding block as a column, channels major."""
    if input.dim() not in (3, 4):
        raise RuntimeError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.dim()}D)")
    k, d, p, s = _pair("kernel_size", kernel_size), _pair("dilation", dilation), _pair("padding", padding), \
        _pair("stride", stride)
    x = input if input.dim() == 4 else input.unsqueeze(0)
    n, c, h, w = x.shape
    blocks = _blocks((h, w), k, d, p, s)
    if min(blocks) < 1:
        raise RuntimeError(f"Given input with spatial size ({h}, {w}), kernel_size={k}, dilation={d}, padding={p}, "
                           f"calculated shape of the array of sliding blocks as ({blocks[0]}, {blocks[1]}), but its "
                           f"components must be at least one.")
    if any(p):
        x = _pad(x, (p[1], p[1], p[0], p[0]))
    padded = (h + 2 * p[0], w + 2 * p[1])
    idx = _tensor(_indices(padded, k, d, s, blocks), device=x.device)
    cols = _indexing.index_select(x.reshape(n, c, padded[0] * padded[1]), 2, idx)
    out = cols.reshape(n, c * k[0] * k[1], blocks[0] * blocks[1])
    return out if input.dim() == 4 else out.squeeze(0)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """(N, C * kh * kw, L) or (C * kh * kw, L) -> (N, C, H, W): the columns summed back into their blocks."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported "
                           f"(got {input.dim()}D)")
    out_hw = _pair("output_size", output_size)
    k, d, p, s = _pair("kernel_size", kernel_size), _pair("dilation", dilation), _pair("padding", padding), \
        _pair("stride", stride)
    x = input if input.dim() == 3 else input.unsqueeze(0)
    n, ck, length = x.shape
    if ck % (k[0] * k[1]):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
                           f"but got input.size(1)={ck} and kernel_size={k}.")
    blocks = _blocks(out_hw, k, d, p, s)
    if blocks[0] * blocks[1] != length:
        raise RuntimeError(f"Given output_size={out_hw}, kernel_size={k}, dilation={d}, padding={p}, stride={s}, "
                           f"expected size of input's dimension 2 to match the calculated number of sliding blocks "
                           f"{blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got input.size(2)={length}.")
    c = ck // (k[0] * k[1])
    padded = (out_hw[0] + 2 * p[0], out_hw[1] + 2 * p[1])
    idx = _tensor(_indices(padded, k, d, s, blocks), device=x.device)
    planes = _zeros((n, c, padded[0] * padded[1]), dtype=x.dtype, device=x.device)
    planes = _indexing.index_add(planes, 2, idx, x.reshape(n, c, k[0] * k[1] * length))
    out = planes.reshape(n, c, padded[0], padded[1])[:, :, p[0]:p[0] + out_hw[0], p[1]:p[1] + out_hw[1]]
    return out if input.dim() == 3 else out.squeeze(0)
