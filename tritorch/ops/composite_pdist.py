"""torch.pdist / torch.nn.functional.pdist: p-norm distances between all pairs of rows, as a composite.

The n(n-1)/2 pairs (i < j, row-major upper triangle, PyTorch's order) are gathered with index_select, and the norm of
each difference is built so that autograd gives PyTorch's _pdist_backward exactly, zero distances included:
  p = 0    count of nonzero differences (NaN if one is NaN); gradient 0
  p = 1    sum |d|; gradient sign(d)
  p = inf  max |d|; every element that attains the max gets the full gradient sign(d) (ties are not split, unlike
           amax's rule), so the max is formed as a detached value plus the masked, zero-valued a - a.detach()
  else     (sum |d|^p)^(1/p), with |d|^p and the root both guarded by where: a zero |d| (p < 1 would give inf * 0)
           and a zero distance (the root's infinite slope) contribute a zero gradient, as PyTorch's.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor

__all__ = ["pdist"]


def _guarded_pow(a: Tensor, p: float) -> Tensor:
    """a ** p for a >= 0 with a zero gradient where a == 0."""
    from .ternary import where
    zero = a == 0
    return where(zero, 0.0, where(zero, 1.0, a) ** p)


def _guarded_root(s: Tensor, p: float) -> Tensor:
    """s ** (1/p) for s >= 0 with a zero gradient where s == 0."""
    from .ternary import where
    from .unary import sqrt
    zero = s == 0
    safe = where(zero, 1.0, s)
    return where(zero, 0.0, sqrt(safe) if p == 2 else safe ** (1.0 / p))


def pdist(input, p=2) -> Tensor:
    """torch.pdist: for input (N, M), the (N * (N - 1) / 2,) distances ||input[i] - input[j]||_p for i < j."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pdist(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if input.dtype.kind != _dt.FLOAT:
        raise RuntimeError("pdist only supports floating-point dtypes")
    p = float(p)
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    rows, cols = np.triu_indices(input.shape[0], 1)
    # pairs in chunks, so that the (pairs, M) differences and their temporaries stay bounded (~64 MiB of fp32 a
    # temporary) however many rows there are; one chunk (no cat) for the usual sizes
    per = max(1, _CHUNK_ELEMENTS // max(1, input.shape[1]))
    parts = [_distances(input, rows[i:i + per], cols[i:i + per], p) for i in range(0, max(len(rows), 1), per)]
    if len(parts) == 1:
        return parts[0]
    from .movement import cat
    return cat(parts, 0)


_CHUNK_ELEMENTS = 1 << 24


def _distances(input: Tensor, rows: np.ndarray, cols: np.ndarray, p: float) -> Tensor:
    """The p-norm distances of the row pairs (rows[k], cols[k])."""
    from .creation import tensor as _tensor
    pick = input.index_select
    diff = pick(0, _tensor(rows.astype(np.int64), device=input.device)) - \
        pick(0, _tensor(cols.astype(np.int64), device=input.device))          # (pairs, M)
    a = diff.abs()
    if p == 0:
        from .ternary import where
        # the count has a zero gradient; `a * 0` keeps the result on the graph (as PyTorch's) and carries a NaN
        # difference into its distance (PyTorch counts min(ceil(|d|), 1)), but is kept from turning inf into NaN
        linked = where(a.detach().isinf(), 0.0, a * 0)
        return ((a.detach() != 0).to(input.dtype) + linked).sum(1)
    if p == 1:
        return a.sum(1)
    if math.isinf(p):
        from .ternary import where
        if a.shape[1] == 0:
            return a.sum(1)
        top = a.detach().amax(1, keepdim=True)
        ties = (a.detach() == top) & a.detach().isfinite()
        return top.squeeze(1) + where(ties, a - a.detach(), 0.0).sum(1)
    s = (a * a) if p == 2 else _guarded_pow(a, p)
    return _guarded_root(s.sum(1), p)
