"""torch.svd_lowrank and torch.pca_lowrank: Halko, Martinsson and Tropp's randomized range finder (their
Algorithm 4.4, niter subspace iterations) and SVD of the projected matrix (Algorithm 5.1), as PyTorch's
torch/_lowrank.py composes them, here from tritorch's ops.

The random test matrix is tt.randn(n, q) from tritorch's default generator (tt.manual_seed makes a call
repeatable). The orthonormal bases come from linalg.qr (Householder, as LAPACK's QR under PyTorch's), which
tolerates a rank-deficient projection (the usual case: q overestimates the rank); its gradient, like PyTorch's,
needs the projection to have full column rank.
The returned singular vectors follow linalg.svd's sign rule, so they may differ from PyTorch's by a sign per
column.
"""
from __future__ import annotations

from collections import namedtuple

from .. import dtypes as _dt
from ..tensor import Tensor
from .linalg_solve import qr, svd

__all__ = ["svd_lowrank", "pca_lowrank"]

lowrank_result = namedtuple("svd_lowrank", ["U", "S", "V"])


def _tt():
    import tritorch
    return tritorch


def _random_matrix(n: int, q: int, dtype, device) -> Tensor:
    """The Gaussian test matrix of the range finder (a seam for tests that replay PyTorch's draw)."""
    return _tt().randn(n, q, dtype=dtype, device=device)


def _approximate_basis(A: Tensor, q: int, niter: int, M) -> Tensor:
    """Q (m x q) with Q Q^T (A - M) close to A - M, without forming A - M."""
    dtype = A.dtype if A.dtype in (_dt.float16, _dt.float32, _dt.float64) else _dt.float32
    R = _random_matrix(A.shape[-1], q, dtype, A.device)
    X = A @ R if M is None else A @ R - M @ R
    Q = qr(X).Q
    for _ in range(niter):
        X = A.mT @ Q if M is None else A.mT @ Q - M.mT @ Q
        Q = qr(X).Q
        X = A @ Q if M is None else A @ Q - M @ Q
        Q = qr(X).Q
    return Q


def svd_lowrank(A: Tensor, q: int | None = 6, niter: int | None = 2, M: Tensor | None = None):
    """(U, S, V) with A - M approximately U diag(S) V^T, of rank q (a slight overestimate of A's rank)."""
    q = 6 if q is None else q
    niter = 2 if niter is None else niter
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(tuple(A.shape))
    if m < n:
        A = A.mT
        M = None if M is None else M.mT
    Q = _approximate_basis(A, q, niter, M)
    B = Q.mT @ A if M is None else Q.mT @ A - Q.mT @ M
    U, S, Vh = svd(B, full_matrices=False)
    U, V = Q @ U, Vh.mT
    return lowrank_result(*((V, S, U) if m < n else (U, S, V)))


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True, niter: int = 2):
    """(U, S, V) of the centred data matrix A (rows: samples; columns of V: principal directions)."""
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not (q >= 0 and q <= min(m, n)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return svd_lowrank(A, q, niter=niter)
    return svd_lowrank(A - A.mean(dim=(-2,), keepdim=True), q, niter=niter)
