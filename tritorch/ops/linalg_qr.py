"""linalg.qr as one op: Householder QR with LAPACK's conventions on both devices, so that any matrix factors
(rank-deficient and ill-conditioned ones included) and Q, R are PyTorch's: R's diagonal carries the signs LAPACK's
?larfg gives (-sign of the pivot), it is not forced positive.

  cpu    NumPy's qr: LAPACK ?geqrf then ?orgqr (NumPy runs float32 in float64 and rounds the factors back)
  cuda   geqrf's kernel (ops/linalg_householder.py) leaves R and the reflectors in one matrix; _orgqr_kernel then
         copies R out of its upper triangle and forms Q = H_1 ... H_k applied to the identity's first columns,
         from the last reflector back (LAPACK's ?org2r), one program per matrix
  ref    the float64 Householder of geqrf's reference, and its reflectors applied to the identity
  vjp    m >= n: M = R gR^T - gQ^T Q, gA = (gQ + Q copyltu(M)) R^-T with copyltu(M) = tril(M) + tril(M, -1)^T
         (Walter & Lehmann; PyTorch's linalg_qr_backward in the real case); m < n: A = [X Y] with X = Q R1 and
         R2 = Q^T Y, so gY = Q gR2 and gX is the square rule with gQ + Y gR2^T. Composed of matmul, tril and
         solve_triangular, so it differentiates again. Like PyTorch's, it needs Q (not mode='r'), a square or
         reduced Q (not mode='complete' with m > n), and an invertible leading block R1.

The CholeskyQR2 composition this replaces raised on a rank-deficient matrix and lost Q's orthogonality past a
condition number of about 1/sqrt(eps) (1e3 in float32).
"""
from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from ..backends.cuda import CudaArray
from ..tensor import Tensor
from .linalg_factor import _BLOCK_C, _BLOCK_R, _TOLERANCES, FLOATS, _check_matrix, _dense, _nbatch
from .linalg_householder import _geqrf_kernel, _geqrf_ref, reflect_tile
from .registry import BenchSpec, Meta, OpDef, Sample, register
from .samples import rng_for

FAMILY = "linalg_qr"

_MODES = ("reduced", "complete", "r")


def _tt():
    import tritorch
    return tritorch


# ============================================================================================== Triton kernel

@triton.jit
def _orgqr_kernel(a_ptr, tau_ptr, q_ptr, r_ptr, M, N, K, NQ, RR, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    # a_ptr:   (batch, M, N) geqrf's factor: R on and above the diagonal, reflector v_j below it (v_j[j] = 1)
    # tau_ptr: (batch, K) the reflectors' scalar factors
    # q_ptr:   (batch, M, NQ) out: the first NQ columns of H_1 ... H_K (not touched when NQ = 0)
    # r_ptr:   (batch, RR, N) out: the factor's first RR rows, zero below the diagonal
    # M, N, K, NQ, RR: rows, columns, reflectors (min(M, N)), Q's columns (K or M), R's rows (K or M)
    # Bytes: reads the factor once and writes R and Q once; per reflector two reads and one write of Q's trailing
    # block (from L2) and a read of its reflector.
    pid = tl.program_id(0).to(tl.int64)
    a = a_ptr + pid * M * N
    q = q_ptr + pid * M * NQ
    r = r_ptr + pid * RR * N
    rr = tl.arange(0, BLOCK_R)
    cc = tl.arange(0, BLOCK_C)
    for r0 in range(0, RR, BLOCK_R):
        rows = r0 + rr
        for c0 in range(0, N, BLOCK_C):
            cols = c0 + cc
            m2 = (rows < RR)[:, None] & (cols < N)[None, :]
            x = tl.load(a + rows[:, None] * N + cols[None, :], mask=m2, other=0.0)
            tl.store(r + rows[:, None] * N + cols[None, :], tl.where(rows[:, None] <= cols[None, :], x, 0.0),
                     mask=m2)
    for r0 in range(0, M, BLOCK_R):
        rows = r0 + rr
        for c0 in range(0, NQ, BLOCK_C):
            cols = c0 + cc
            m2 = (rows < M)[:, None] & (cols < NQ)[None, :]
            eye = tl.where(rows[:, None] == cols[None, :], 1.0, 0.0).to(q_ptr.dtype.element_ty)
            tl.store(q + rows[:, None] * NQ + cols[None, :], eye, mask=m2)
    tl.debug_barrier()
    for i in range(0, K):
        j = K - 1 - i
        tau = tl.load(tau_ptr + pid * K + j)
        # H_j changes rows j.. of the columns j..: the earlier ones still hold e_c, which v_j does not see
        for c0 in range(j, NQ, BLOCK_C):
            reflect_tile(q, NQ, a, N, j, M, tau, c0 + cc, c0 + cc < NQ, rr, BLOCK_R)
        tl.debug_barrier()


# =================================================================================================== the op

def _check_mode(mode) -> None:
    if mode not in _MODES:
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           "or 'complete'")


def _shapes(shape: tuple, mode: str) -> tuple:
    batch, (m, n) = tuple(shape[:-2]), tuple(shape[-2:])
    k = min(m, n)
    q_shape = (0,) if mode == "r" else batch + (m, m if mode == "complete" else k)
    return q_shape, batch + (m if mode == "complete" else k, n)


def _qr_infer(A, mode="reduced"):
    _check_mode(mode)
    _check_matrix("linalg.qr", A, square=False)
    return Meta(_shapes(tuple(A.shape), mode), (A.dtype, A.dtype), A.device)


def _qr_cpu(meta, A, mode="reduced"):
    dtype = meta.dtype[0].np
    if mode == "r":
        return np.empty((0,), dtype), np.linalg.qr(A._data, mode="r").astype(dtype, copy=False)
    Q, R = np.linalg.qr(A._data, mode=mode)
    return Q.astype(dtype, copy=False), R.astype(dtype, copy=False)


def _qr_cuda(meta, A, mode="reduced"):
    (q_shape, r_shape), dt = meta.shape, np.dtype(meta.dtype[0].np)
    shape = tuple(A.shape)
    m, n = shape[-2:]
    k = min(m, n)
    nb = _nbatch(shape[:-2])
    Q, R = CudaArray.empty(q_shape, dt), CudaArray.empty(r_shape, dt)
    nq, rr = (0 if mode == "r" else q_shape[-1]), r_shape[-2]
    if nb == 0 or (m * nq == 0 and rr * n == 0):
        return Q, R
    a = _dense(A, shape)
    tau = CudaArray.empty(shape[:-2] + (k,), dt)
    if k:
        _geqrf_kernel[(nb,)](a, tau, m, n, k, BLOCK_R=_BLOCK_R, BLOCK_C=_BLOCK_C)
    _orgqr_kernel[(nb,)](a, tau, Q if nq else R, R, m, n, k, nq, rr, BLOCK_R=_BLOCK_R, BLOCK_C=_BLOCK_C)
    return Q, R


def _qr_ref(A, mode="reduced"):
    a = np.asarray(A, np.float64)
    shape = a.shape
    q_shape, r_shape = _shapes(shape, mode)
    m, n = shape[-2:]
    k = min(m, n)
    if 0 in shape:
        q = np.zeros(q_shape)
        if mode != "r" and q.size:
            q[...] = np.eye(m, q_shape[-1])
        return q, np.zeros(r_shape)
    h, tau = _geqrf_ref(a)
    r = np.triu(h[..., :r_shape[-2], :])
    if mode == "r":
        return np.zeros(q_shape), r
    nq = q_shape[-1]
    h = h.reshape((-1, m, n))
    tau = tau.reshape((-1, k))
    q = np.zeros((h.shape[0], m, nq))
    for b in range(h.shape[0]):
        qb = np.eye(m, nq)
        for j in reversed(range(k)):
            v = np.concatenate([[1.0], h[b, j + 1:, j]])
            qb[j:, :] -= tau[b, j] * np.outer(v, v @ qb[j:, :])
        q[b] = qb
    return q.reshape(q_shape), r


def _copyltu(M: Tensor) -> Tensor:
    """The symmetric matrix with M's lower triangle (diagonal included)."""
    return M.tril() + M.tril(-1).mT


def _square_rule(Q: Tensor, R: Tensor, gQ, gR) -> Tensor:
    """gA of A = Q R (m >= n, Q m x n, R n x n invertible)."""
    from .linalg_factor import solve_triangular_op
    M = None if gR is None else R @ gR.mT
    if gQ is not None:
        M = -(gQ.mT @ Q) if M is None else M - gQ.mT @ Q
    B = Q @ _copyltu(M)
    if gQ is not None:
        B = B + gQ
    return solve_triangular_op(R.mT, B, upper=False, left=False)   # B R^-T


def _qr_vjp(ctx, gQ, gR):
    mode = ctx.kwargs.get("mode", "reduced")
    Q, R = ctx.output
    if mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please "
                           "use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
    m, n = Q.shape[-2], R.shape[-1]
    if mode == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
    if gQ is None and gR is None:
        return (None,)
    if m >= n:
        return (_square_rule(Q, R, gQ, gR),)
    R1, R2 = R[..., :, :m], R[..., :, m:]
    gR1 = None if gR is None else gR[..., :, :m]
    if gR is not None:   # R2 = Q^T Y: Y's gradient, and what R2 adds to Q's
        gR2 = gR[..., :, m:]
        extra = (Q @ R2) @ gR2.mT
        gQ = extra if gQ is None else gQ + extra
        gY = Q @ gR2
    else:
        gY = _tt().zeros(*Q.shape[:-1], n - m, dtype=Q.dtype, device=Q.device)
    return (_tt().cat([_square_rule(Q, R1, gQ, gR1), gY], -1),)


def _conditioned(rng, shape):
    """Random matrices whose leading columns are far from dependent (Q is then a smooth function of A)."""
    a = rng.uniform(-1, 1, shape)
    k = min(shape[-2:])
    a[..., :k, :k] += 2.0 * np.eye(k)
    return a


def _qr_samples(device, dtype):
    tt = _tt()
    rng = rng_for("linalg_qr", dtype.name)

    def X(shape):
        return tt.tensor(_conditioned(rng, shape), dtype=dtype, device=device)
    for shape, label in (((1, 1), "1x1"), ((5, 5), "5x5"), ((13, 6), "tall_13x6"), ((3, 7), "wide_3x7"),
                         ((2, 6, 4), "batch"), ((0, 3, 3), "empty_batch"), ((0, 3), "no_rows"), ((3, 0), "no_cols")):
        for mode in _MODES:   # (no derivative with mode='r', nor with 'complete' when m > n: as PyTorch's)
            yield Sample((X(shape),), {"mode": mode}, name=f"{label}_{mode}",
                         differentiable=mode == "reduced" or (mode == "complete" and shape[-2] <= shape[-1]))
    a = _conditioned(rng, (6, 4))
    a[1:, 0] = 0.0   # a column that needs no reflection (tau = 0); LAPACK's signs jump there (any perturbation
    # below the diagonal reflects it, and R[0, 0] changes sign), so a difference quotient cannot check its gradient
    yield Sample((tt.tensor(a, dtype=dtype, device=device),), name="reduced_column", differentiable=False)
    yield Sample((X((5, 5)).mT,), name="transposed")


qr_op = register(OpDef(
    name="linalg_qr", family=FAMILY, infer=_qr_infer, impl={"cpu": _qr_cpu, "cuda": _qr_cuda}, ref=_qr_ref,
    samples=_qr_samples, dtypes=FLOATS, n_outputs=2, vjp=_qr_vjp, save="output", tolerances=_TOLERANCES,
    bench=BenchSpec(sizes=((256, 32), (16, 256)), make=lambda s, dev, d: (
        (_tt().tensor(_conditioned(rng_for("qr_bench"), (s[0], s[1], s[1])), dtype=d, device=dev),), {}),
        bytes=lambda s, d: 3 * s[0] * s[1] * s[1] * d.itemsize, flops=lambda s: 8 * s[0] * s[1] ** 3 // 3),
    doc="Householder QR (LAPACK's signs): Q with orthonormal columns, R upper triangular",
    extra={"torch": lambda torch, A, mode="reduced": tuple(torch.linalg.qr(A, mode=mode))}))
