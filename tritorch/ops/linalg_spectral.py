"""Singular-value and symmetric eigenvalue decompositions.

Ops (float32 / float64, batches of matrices in the last two dims):
  linalg_svd(A) -> (U, S, Vh)       the reduced SVD A = U diag(S) Vh, S descending; U's columns each have their
                                    first largest-magnitude entry positive (Vh's rows flipped to match), so that
                                    both devices give the same vectors (LAPACK's signs are arbitrary)
  linalg_complete_basis(Q) -> Q2    orthonormal columns completing Q's (m x k, orthonormal columns) to a basis:
                                    Gram-Schmidt (twice) of the e_i farthest from the span so far, one at a time
  linalg_eigh(A) -> (L, Q)          A's lower triangle read as a symmetric matrix: ascending eigenvalues, Q's
                                    columns signed as U's above

Kernels. One Triton program per matrix, as in linalg_factor.py.
- svd: one-sided Jacobi (Hestenes) on the taller orientation: sweeps rotate every column pair (p, q) of the
  working copy until each pair is orthogonal to `tol`, accumulating V; the column norms are the singular values,
  sorted by a selection pass.
- eigh: two-sided Jacobi on a symmetric copy: each rotation updates rows p, q then columns p, q and accumulates
  the eigenvectors.
- Both sweep in Brent and Luk's parallel ordering: n - 1 rounds (n rounded up to even) of n/2 disjoint pairs
  (a round-robin), every pair of a round rotated at once in (lines x pairs) tiles, with angles from the round's
  starting matrix and barriers between the phases of a round. A sweep is n - 1 vectorised steps instead of
  n (n - 1) / 2 scalar ones; convergence per sweep is that of the cyclic order.
Both are O(n^3) per sweep in one SM per matrix: right for batches of small and medium matrices.

The NumPy fallback is LAPACK (gesdd, syevd) through np.linalg in the input's precision, then the same sign rule.
Gradients are PyTorch's formulas written in ops (valid for distinct singular values / eigenvalues and, for the
vectors, for losses that do not depend on their signs, as in PyTorch).
"""
from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray
from ..tensor import Tensor
from .linalg_factor import (FLOATS, _TOLERANCES, _check_matrix, _dense, _lapack, _mT_raw, _nbatch, _spd,
                            _swap_lines, _tt)
from .registry import BenchSpec, Meta, OpDef, Sample, _no_record, register
from .samples import rng_for
from .launch import next_pow2

FAMILY = "linalg_spectral"

_BLOCK_R = 8 if _cuda.INTERPRET else 64
_TILE_ELEMS = 64 if _cuda.INTERPRET else 1024   # rows x pairs per step of the parallel Jacobi rounds (no spills)


def _pair_rows(pairs: int) -> int:
    """Rows per step of a (rows x pairs) tile: the tile stays within _TILE_ELEMS elements."""
    return max(1, min(_BLOCK_R, _TILE_ELEMS // pairs))
_MAX_SWEEPS = 30
_EPS = {_dt.float32: 1.1920928955078125e-07, _dt.float64: 2.220446049250313e-16}


# ============================================================================================== Triton kernels

@triton.jit
def _column_sign_kernel_part(base, R, N, j, rr, BLOCK_R: tl.constexpr):
    # -1.0 when the first largest-magnitude entry of column j of the (R, N) matrix at `base` is negative, else 1.0
    best = tl.full([], -1.0, base.dtype.element_ty)
    val = tl.full([], 0.0, base.dtype.element_ty)
    for r0 in range(0, R, BLOCK_R):
        rows = r0 + rr
        m = rows < R
        x = tl.load(base + rows * N + j, mask=m, other=0.0)
        ax = tl.where(m, tl.abs(x), -1.0)
        mx = tl.max(ax, 0)
        better = mx > best
        val = tl.where(better, tl.sum(tl.where(rows == r0 + tl.argmax(ax, 0), x, 0.0), 0), val)
        best = tl.where(better, mx, best)
    return tl.where(val < 0, -1.0, 1.0)


@triton.jit
def _scale_column(base, R, N, j, f, rr, BLOCK_R: tl.constexpr):
    for r0 in range(0, R, BLOCK_R):
        rows = r0 + rr
        m = rows < R
        tl.store(base + rows * N + j, tl.load(base + rows * N + j, mask=m) * f, mask=m)


@triton.jit
def _identity_into(base, N, rr, BLOCK_R: tl.constexpr):
    for c in range(0, N):
        for r0 in range(0, N, BLOCK_R):
            rows = r0 + rr
            tl.store(base + rows * N + c, tl.where(rows == c, 1.0, 0.0).to(base.dtype.element_ty), mask=rows < N)


@triton.jit
def _sort_columns(s, a, R, v, N, DESCENDING: tl.constexpr, rr, BLOCK_R: tl.constexpr):
    # selection sort of the N values at s, swapping columns of the (R, N) matrix a and the (N, N) matrix v along
    for i in range(0, N):
        best = tl.load(s + i)
        bj = i
        for r0 in range(i, N, BLOCK_R):
            idx = r0 + rr
            x = tl.load(s + idx, mask=idx < N, other=0.0)
            if DESCENDING:
                x = tl.where(idx < N, x, -float("inf"))
                cand = tl.max(x, 0)
                better = cand > best
                bj = tl.where(better, r0 + tl.argmax(x, 0), bj)
            else:
                x = tl.where(idx < N, x, float("inf"))
                cand = tl.min(x, 0)
                better = cand < best
                bj = tl.where(better, r0 + tl.argmin(x, 0), bj)
            best = tl.where(better, cand, best)
        si = tl.load(s + i)
        tl.debug_barrier()  # every thread has read s[i] before it changes
        tl.store(s + bj, si)
        tl.store(s + i, best)
        _swap_lines(a, R, N, 1, i, bj, rr, BLOCK_R)
        _swap_lines(v, N, N, 1, i, bj, rr, BLOCK_R)
        tl.debug_barrier()


@triton.jit
def _round_pairs(r, NP, kk):
    # the column pairs of round r of a round-robin over NP (even) columns, the circle method: column NP - 1 stays,
    # the others turn; pair 0 is (NP - 1, r), pair k (r + k, r - k) mod NP - 1. Each column is in one pair.
    p = tl.where(kk == 0, NP - 1, (r + kk) % (NP - 1))
    q = tl.where(kk == 0, r, (r - kk + NP - 1) % (NP - 1))
    return p, q


@triton.jit
def _rotate_pairs(base, count, elem_stride, line_stride, p, q, c, sn, act, rr, BLOCK_R: tl.constexpr):
    # lines (p_k, q_k) <- (c x_p - s x_q, s x_p + c x_q), every pair k at once, where act; line l's element e at
    # base + e * elem_stride + l * line_stride (columns of an (R, N) matrix: count R, strides N, 1; rows: N, 1, N)
    for r0 in range(0, count, BLOCK_R):
        rows = r0 + rr
        m = (rows < count)[:, None] & act[None, :]
        pp = base + rows[:, None] * elem_stride + p[None, :] * line_stride
        qq = base + rows[:, None] * elem_stride + q[None, :] * line_stride
        xp = tl.load(pp, mask=m, other=0.0)
        xq = tl.load(qq, mask=m, other=0.0)
        tl.store(pp, c[None, :] * xp - sn[None, :] * xq, mask=m)
        tl.store(qq, sn[None, :] * xp + c[None, :] * xq, mask=m)


@triton.jit
def _svd_jacobi_kernel(a_ptr, v_ptr, s_ptr, M, N, max_sweeps, tol, SIGN_FROM_V: tl.constexpr,
                       BLOCK_R: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_RP: tl.constexpr):
    # a_ptr: (batch, M, N) contiguous, M >= N: in the matrix, out U (unit columns; zero for a zero singular value)
    # v_ptr: (batch, N, N) contiguous out: V, with A = U diag(s) V^T
    # s_ptr: (batch, N) out: the singular values, descending
    # max_sweeps, tol: sweeps over all column pairs until every pair has |a_p.a_q| <= tol |a_p| |a_q|
    # SIGN_FROM_V: the sign rule reads V's columns (the caller's U when it passed A^T), else U's
    # BLOCK_P >= the pairs per round (N + 1) // 2; BLOCK_RP: rows per step of the (rows x pairs) tiles
    # A sweep is N - 1 (N even; N for odd N, a dummy column making it even) rounds of disjoint column pairs, all
    # pairs of a round rotated at once (Brent and Luk's parallel ordering): N - 1 steps of O(M N) work instead of
    # N (N - 1) / 2 steps of O(M), with a barrier between rounds (a column changes owner from round to round).
    # Bytes: per sweep ~N rounds x 2 reads + 1 write of the matrix and of V (from L1/L2).
    pid = tl.program_id(0).to(tl.int64)
    a = a_ptr + pid * M * N
    v = v_ptr + pid * N * N
    s = s_ptr + pid * N
    rr = tl.arange(0, BLOCK_R)
    rp = tl.arange(0, BLOCK_RP)
    kk = tl.arange(0, BLOCK_P)
    NP = N + N % 2
    _identity_into(v, N, rr, BLOCK_R)
    tl.debug_barrier()
    sweep = 0
    rotated = tl.full([], 1, tl.int32)
    while (sweep < max_sweeps) & (rotated > 0):
        rotated = tl.full([], 0, tl.int32)
        for r in range(0, NP - 1):
            p, q = _round_pairs(r, NP, kk)
            act = (kk < NP // 2) & (p < N) & (q < N)
            alpha = tl.zeros([BLOCK_P], a_ptr.dtype.element_ty)
            beta = tl.zeros([BLOCK_P], a_ptr.dtype.element_ty)
            gamma = tl.zeros([BLOCK_P], a_ptr.dtype.element_ty)
            for r0 in range(0, M, BLOCK_RP):
                rows = r0 + rp
                m = (rows < M)[:, None] & act[None, :]
                xp = tl.load(a + rows[:, None] * N + p[None, :], mask=m, other=0.0)
                xq = tl.load(a + rows[:, None] * N + q[None, :], mask=m, other=0.0)
                alpha += tl.sum(xp * xp, 0)
                beta += tl.sum(xq * xq, 0)
                gamma += tl.sum(xp * xq, 0)
            turn = act & (tl.abs(gamma) > tol * tl.sqrt(alpha * beta))
            g = tl.where(turn, gamma, 1.0)
            zeta = (beta - alpha) / (2.0 * g)
            t = tl.where(zeta >= 0, 1.0, -1.0) / (tl.abs(zeta) + tl.sqrt(1.0 + zeta * zeta))
            c = 1.0 / tl.sqrt(1.0 + t * t)
            tl.debug_barrier()   # every column of the round read before any is rewritten
            _rotate_pairs(a, M, N, 1, p, q, c, c * t, turn, rp, BLOCK_RP)
            _rotate_pairs(v, N, N, 1, p, q, c, c * t, turn, rp, BLOCK_RP)
            tl.debug_barrier()   # the round's columns written before the next round reads them
            rotated += tl.sum(turn.to(tl.int32), 0)
        sweep += 1
    for j in range(0, N):
        nrm = tl.full([], 0.0, a_ptr.dtype.element_ty)
        for r0 in range(0, M, BLOCK_R):
            rows = r0 + rr
            x = tl.load(a + rows * N + j, mask=rows < M, other=0.0)
            nrm += tl.sum(x * x, 0)
        sj = tl.sqrt(nrm)
        _scale_column(a, M, N, j, tl.where(sj > 0, 1.0 / sj, 0.0), rr, BLOCK_R)
        tl.store(s + j, sj)
    tl.debug_barrier()
    _sort_columns(s, a, M, v, N, True, rr, BLOCK_R)
    for j in range(0, N):
        if SIGN_FROM_V:
            f = _column_sign_kernel_part(v, N, N, j, rr, BLOCK_R)
        else:
            f = _column_sign_kernel_part(a, M, N, j, rr, BLOCK_R)
        _scale_column(a, M, N, j, f, rr, BLOCK_R)
        _scale_column(v, N, N, j, f, rr, BLOCK_R)


@triton.jit
def _eigh_jacobi_kernel(a_ptr, q_ptr, w_ptr, N, max_sweeps, tol, BLOCK_R: tl.constexpr, BLOCK_P: tl.constexpr,
                        BLOCK_RP: tl.constexpr):
    # a_ptr: (batch, N, N) contiguous symmetric matrices (destroyed: driven to diagonal form)
    # q_ptr: (batch, N, N) contiguous out: eigenvectors (columns); w_ptr: (batch, N) out: eigenvalues, ascending
    # max_sweeps, tol: sweeps over all pairs until every |a_pq| <= tol sqrt(|a_pp a_qq|) (or a_pq == 0)
    # BLOCK_P >= the pairs per round (N + 1) // 2; BLOCK_RP: lines per step of the (lines x pairs) tiles
    # Rounds of disjoint pairs as in _svd_jacobi_kernel: the round's rotations commute, so A <- J^T A J applies all
    # row rotations, then (after a barrier) all column rotations, with angles from the round's starting A.
    # Bytes: per round 2 passes over A and 1 over Q, read and written (from L1/L2).
    pid = tl.program_id(0).to(tl.int64)
    a = a_ptr + pid * N * N
    qm = q_ptr + pid * N * N
    w = w_ptr + pid * N
    rr = tl.arange(0, BLOCK_R)
    rp = tl.arange(0, BLOCK_RP)
    kk = tl.arange(0, BLOCK_P)
    NP = N + N % 2
    _identity_into(qm, N, rr, BLOCK_R)
    tl.debug_barrier()
    sweep = 0
    rotated = tl.full([], 1, tl.int32)
    while (sweep < max_sweeps) & (rotated > 0):
        rotated = tl.full([], 0, tl.int32)
        for r in range(0, NP - 1):
            p, q = _round_pairs(r, NP, kk)
            act = (kk < NP // 2) & (p < N) & (q < N)
            pc = tl.where(act, p, 0)
            qc = tl.where(act, q, 0)
            apq = tl.load(a + pc * N + qc, mask=act, other=0.0)
            app = tl.load(a + pc * N + pc, mask=act, other=1.0)
            aqq = tl.load(a + qc * N + qc, mask=act, other=1.0)
            turn = act & (tl.abs(apq) > tol * tl.sqrt(tl.abs(app * aqq)))
            theta = (aqq - app) / (2.0 * tl.where(turn, apq, 1.0))
            t = tl.where(theta >= 0, 1.0, -1.0) / (tl.abs(theta) + tl.sqrt(1.0 + theta * theta))
            c = 1.0 / tl.sqrt(1.0 + t * t)
            sn = c * t
            tl.debug_barrier()  # every thread has read the round's a_pp, a_qq, a_pq
            _rotate_pairs(a, N, 1, N, pc, qc, c, sn, turn, rp, BLOCK_RP)     # rows
            tl.debug_barrier()
            _rotate_pairs(a, N, N, 1, pc, qc, c, sn, turn, rp, BLOCK_RP)     # columns
            _rotate_pairs(qm, N, N, 1, pc, qc, c, sn, turn, rp, BLOCK_RP)
            tl.debug_barrier()
            rotated += tl.sum(turn.to(tl.int32), 0)
        sweep += 1
    for j in range(0, N):
        tl.store(w + j, tl.load(a + j * N + j))
    tl.debug_barrier()
    _sort_columns(w, qm, N, a, N, False, rr, BLOCK_R)   # (A's columns are scratch by now)
    for j in range(0, N):
        _scale_column(qm, N, N, j, _column_sign_kernel_part(qm, N, N, j, rr, BLOCK_R), rr, BLOCK_R)


@triton.jit
def _complete_basis_kernel(q_ptr, M, K, BLOCK_R: tl.constexpr):
    # q_ptr: (batch, M, M) contiguous: columns 0..K-1 orthonormal on entry, the completed basis on exit
    # Each new column j starts from the e_i farthest from the span so far (largest 1 - |row i|^2 over columns
    # < j, at least (M - j) / M, so the basis always fills), then two Gram-Schmidt passes and a normalisation.
    # Bytes: per new column ~3 passes over the columns so far (M rows each, from L1/L2).
    pid = tl.program_id(0).to(tl.int64)
    qb = q_ptr + pid * M * M
    rr = tl.arange(0, BLOCK_R)
    for j in range(K, M):
        best = tl.full([], -1.0, q_ptr.dtype.element_ty)
        pick = 0
        for r0 in range(0, M, BLOCK_R):
            rows = r0 + rr
            m = rows < M
            sq = tl.zeros([BLOCK_R], q_ptr.dtype.element_ty)
            for c in range(0, j):
                x = tl.load(qb + rows * M + c, mask=m, other=0.0)
                sq += x * x
            res = tl.where(m, 1.0 - sq, -1.0)
            mx = tl.max(res, 0)
            better = mx > best
            pick = tl.where(better, r0 + tl.argmax(res, 0), pick)
            best = tl.where(better, mx, best)
        for r0 in range(0, M, BLOCK_R):
            rows = r0 + rr
            tl.store(qb + rows * M + j, tl.where(rows == pick, 1.0, 0.0).to(q_ptr.dtype.element_ty),
                     mask=rows < M)
        for _ in range(0, 2):
            for c in range(0, j):
                d = tl.full([], 0.0, q_ptr.dtype.element_ty)
                for r0 in range(0, M, BLOCK_R):
                    rows = r0 + rr
                    m = rows < M
                    d += tl.sum(tl.load(qb + rows * M + c, mask=m, other=0.0)
                                * tl.load(qb + rows * M + j, mask=m, other=0.0), 0)
                for r0 in range(0, M, BLOCK_R):
                    rows = r0 + rr
                    m = rows < M
                    x = tl.load(qb + rows * M + j, mask=m)
                    tl.store(qb + rows * M + j, x - d * tl.load(qb + rows * M + c, mask=m), mask=m)
        nrm = tl.full([], 0.0, q_ptr.dtype.element_ty)
        for r0 in range(0, M, BLOCK_R):
            rows = r0 + rr
            x = tl.load(qb + rows * M + j, mask=rows < M, other=0.0)
            nrm += tl.sum(x * x, 0)
        _scale_column(qb, M, M, j, 1.0 / tl.sqrt(nrm), rr, BLOCK_R)


# ============================================================================================ sign rule (NumPy)

def _np_sign_columns(u: np.ndarray, *others) -> None:
    """Flip, in place, each column of u whose first largest-magnitude entry is negative, and the matching
    column (or row, for a (..., k, n) Vh) of each of `others` given as (array, axis of the pairing)."""
    if u.shape[-1] == 0 or u.shape[-2] == 0:
        return
    idx = np.argmax(np.abs(u), axis=-2)[..., None, :]
    f = np.where(np.take_along_axis(u, idx, axis=-2) < 0, -1, 1).astype(u.dtype)   # (..., 1, k)
    u *= f
    for arr, axis in others:
        arr *= f if axis == -1 else np.swapaxes(f, -1, -2)


# ===================================================================================================== svd

def _svd_infer(A):
    _check_matrix("linalg.svd", A, square=False)
    batch = tuple(A.shape[:-2])
    m, n = A.shape[-2:]
    k = min(m, n)
    return Meta((batch + (m, k), batch + (k,), batch + (k, n)), (A.dtype,) * 3, A.device)


def _svd_np(a: np.ndarray):
    u, s, vh = _lapack(lambda x: np.linalg.svd(x, full_matrices=False), "svd_s", "f->fff", a)
    u, s, vh = np.array(u), np.array(s), np.array(vh)
    _np_sign_columns(u, (vh, -2))
    return u, s, vh


def _svd_cpu(meta, A):
    u, s, vh = _svd_np(A._data)
    dt = meta.dtype[0].np
    return u.astype(dt, copy=False), s.astype(dt, copy=False), vh.astype(dt, copy=False)


def _transposed(arr: CudaArray) -> CudaArray:
    sh, st = list(arr.shape), list(arr.strides)
    sh[-1], sh[-2] = sh[-2], sh[-1]
    st[-1], st[-2] = st[-2], st[-1]
    return arr.view_as(tuple(sh), tuple(st), arr.offset)


def _svd_cuda(meta, A):
    m, n = A.shape[-2:]
    batch = tuple(A.shape[:-2])
    k = min(m, n)
    tall = m >= n
    rows = max(m, n)
    work = _dense(A if tall else _mT_raw(A), batch + (rows, k))   # the taller orientation: rows x k
    v = CudaArray.empty(batch + (k, k), A.dtype.np)
    s = CudaArray.empty(batch + (k,), A.dtype.np)
    nb = _nbatch(batch)
    if nb:
        pairs = next_pow2(max((k + 1) // 2, 1))
        _svd_jacobi_kernel[(nb,)](work, v, s, rows, k, _MAX_SWEEPS, rows * _EPS[A.dtype], SIGN_FROM_V=not tall,
                                  BLOCK_R=_BLOCK_R, BLOCK_P=pairs, BLOCK_RP=_pair_rows(pairs))
    if tall:          # A = work diag(s) v^T
        return work, s, _transposed(v)
    return v, s, _transposed(work)   # A^T = work diag(s) v^T, so A = v diag(s) work^T


def _svd_ref(A):
    u, s, vh = np.linalg.svd(np.asarray(A, np.float64), full_matrices=False)
    _np_sign_columns(u, (vh, -2))
    return u, s, vh


def _svd_vjp(ctx, gU, gS, gVh):
    # PyTorch's rule (real case): with E_jk = S_k^2 - S_j^2 and skew(X) = X - X^T,
    # gA = U [(skew(U^T gU) S_k + S_j skew(V^T gV)) / E + diag(gS)] V^T
    #      + (I - U U^T) gU S^-1 V^T (m > k) + U S^-1 gV^T (I - V V^T) (n > k)
    tt = _tt()
    U, S, Vh = ctx.output
    m, n = U.shape[-2], Vh.shape[-1]
    k = S.shape[-1]
    if gU is None and gVh is None:
        return ((U * gS.unsqueeze(-2)) @ Vh,) if gS is not None else (None,)
    S2 = S * S
    E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + tt.eye(k, dtype=S.dtype, device=S.device)
    inner = None
    if gU is not None:
        UtgU = U.mT @ gU
        inner = (UtgU - UtgU.mT) * S.unsqueeze(-2)
    if gVh is not None:
        VtgV = Vh @ gVh.mT
        term = S.unsqueeze(-1) * (VtgV - VtgV.mT)
        inner = term if inner is None else inner + term
    inner = inner / E
    if gS is not None:
        inner = inner + tt.diag_embed(gS)
    gA = U @ inner @ Vh
    if m > k and gU is not None:
        gUSinv = gU / S.unsqueeze(-2)
        gA = gA + (gUSinv - U @ (U.mT @ gUSinv)) @ Vh
    if n > k and gVh is not None:
        gVSinv = gVh.mT / S.unsqueeze(-2)
        gA = gA + U @ (gVSinv.mT - (gVSinv.mT @ Vh.mT) @ Vh)
    return (gA,)


def _spread(rng, shape):
    """Random matrices with well-separated singular values (the vectors are then well defined)."""
    m, n = shape[-2:]
    k = min(m, n)
    q1 = np.linalg.qr(rng.standard_normal(shape[:-2] + (m, m)))[0][..., :, :k]
    q2 = np.linalg.qr(rng.standard_normal(shape[:-2] + (n, n)))[0][..., :, :k]
    s = np.linspace(2.0, 0.5, k) if k > 1 else np.ones(1)
    return (q1 * s[..., None, :]) @ np.swapaxes(q2, -1, -2)


def _svd_samples(device, dtype):
    tt = _tt()
    rng = rng_for("svd", dtype.name)
    for shape, label in (((1, 1), "1x1"), ((3, 3), "3x3"), ((5, 3), "tall"), ((2, 3, 5), "wide_batch"),
                         ((11, 9), "11x9"), ((0, 3, 2), "empty_batch")):
        yield Sample((tt.tensor(_spread(rng, shape), dtype=dtype, device=device),), name=label)
    yield Sample((tt.tensor(_spread(rng, (4, 6)), dtype=dtype, device=device).mT,), name="transposed")


def _torch_svd(torch, A):
    """PyTorch's reduced SVD under the same sign rule (a constant factor per column, so gradients pass)."""
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)
    if U.numel() == 0:
        return U, S, Vh
    idx = U.detach().abs().argmax(-2, keepdim=True)
    f = torch.where(U.detach().gather(-2, idx) < 0, -1.0, 1.0).to(U.dtype)
    return U * f, S, Vh * f.mT


svd_op = register(OpDef(
    name="linalg_svd", family=FAMILY, infer=_svd_infer, impl={"cpu": _svd_cpu, "cuda": _svd_cuda}, ref=_svd_ref,
    samples=_svd_samples, dtypes=FLOATS, n_outputs=3, vjp=_svd_vjp, save="output", tolerances=_TOLERANCES,
    bench=BenchSpec(sizes=((256, 16), (16, 128)), make=lambda s, dev, d: (
        (_tt().tensor(rng_for("svd_bench").standard_normal((s[0], s[1], s[1])), dtype=d, device=dev),), {}),
        bytes=lambda s, d: 4 * s[0] * s[1] * s[1] * d.itemsize, flops=lambda s: 20 * s[0] * s[1] ** 3),
    doc="reduced SVD, singular values descending, U's columns signed (first largest entry positive)",
    extra={"torch": _torch_svd}))


# ========================================================================================== complete_basis

def _complete_infer(Q):
    _check_matrix("linalg_complete_basis", Q, square=False)
    m, k = Q.shape[-2:]
    if k > m:
        raise RuntimeError(f"linalg_complete_basis: expected at most as many columns as rows, got {m}x{k}")
    return Meta(tuple(Q.shape[:-2]) + (m, m), Q.dtype, Q.device)


def _np_complete(q: np.ndarray, m: int) -> np.ndarray:
    """The kernel's algorithm: each new column from the e_i farthest from the span so far (largest
    1 - |row i|^2), two Gram-Schmidt passes (each as two matrix-vector products), a normalisation."""
    batch = q.shape[:-2]
    k = q.shape[-1]
    out = np.zeros(batch + (m, m), q.dtype)
    out[..., :, :k] = q
    flat = out.reshape((-1, m, m))
    for b in range(flat.shape[0]):
        for j in range(k, m):
            basis = flat[b, :, :j]
            x = np.zeros(m, q.dtype)
            x[int(np.argmax(1 - (basis * basis).sum(1)))] = 1
            for _ in range(2):
                x = x - basis @ (basis.T @ x)
            flat[b, :, j] = x / np.sqrt(x @ x)
    return out


def _complete_cpu(meta, Q):
    return _np_complete(np.asarray(Q._data), meta.shape[-1])


def _complete_cuda(meta, Q):
    m, k = Q.shape[-2:]
    batch = meta.shape[:-2]
    out = CudaArray.empty(meta.shape, Q.dtype.np)
    nb = _nbatch(batch)
    if nb and m:
        view = CudaArray(out.block, batch + (m, k), out.strides, out.offset, out.dtype)
        from .copy import _identity
        from . import pointwise as pw
        pw.launch_pointwise(_identity, [Q], batch + (m, k), Q.dtype, Q.dtype, out=view)
        _complete_basis_kernel[(nb,)](out, m, k, BLOCK_R=_BLOCK_R)
    return out


def _complete_samples(device, dtype):
    tt = _tt()
    rng = rng_for("complete_basis", dtype.name)
    for m, k in ((4, 2), (5, 0), (3, 3), (12, 5)):
        q = np.linalg.qr(rng.standard_normal((m, m)))[0][:, :k]
        yield Sample((tt.tensor(q, dtype=dtype, device=device),), name=f"{m}x{k}")


complete_basis_op = register(OpDef(
    name="linalg_complete_basis", family=FAMILY, infer=_complete_infer,
    impl={"cpu": _complete_cpu, "cuda": _complete_cuda}, ref=lambda Q: _np_complete(np.asarray(Q, np.float64),
                                                                                      Q.shape[-2]),
    samples=_complete_samples, dtypes=FLOATS, differentiable=False, tolerances=_TOLERANCES,
    bench=BenchSpec(sizes=((64, 32, 8), (4, 256, 64)), make=lambda s, dev, d: (
        (_tt().tensor(np.linalg.qr(rng_for("complete_bench").standard_normal((s[0], s[1], s[2])))[0], dtype=d,
                      device=dev),), {}),
        bytes=lambda s, d: s[0] * (s[1] * s[2] + s[1] * s[1]) * d.itemsize,
        flops=lambda s: 4 * s[0] * s[1] * s[1] * s[1]),
    doc="an orthonormal basis whose first columns are Q's (the rest by Gram-Schmidt of the e_i farthest from the "
        "span so far); the added columns are arbitrary, so it has no derivative (svd(full_matrices=True) raises "
        "in backward)"))


# ==================================================================================================== eigh

def _eigh_infer(A, UPLO="L"):
    _check_matrix("linalg.eigh", A)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    batch = tuple(A.shape[:-2])
    n = A.shape[-1]
    return Meta((batch + (n,), batch + (n, n)), (A.dtype, A.dtype), A.device)


def _eigh_cpu(meta, A, UPLO="L"):
    private = "eigh_lo" if UPLO == "L" else "eigh_up"
    w, q = _lapack(lambda x: np.linalg.eigh(x, UPLO=UPLO), private, "f->ff", A._data)
    w, q = np.array(w), np.array(q)
    _np_sign_columns(q)
    dt = meta.dtype[0].np
    return w.astype(dt, copy=False), q.astype(dt, copy=False)


def _eigh_cuda(meta, A, UPLO="L"):
    batch = tuple(A.shape[:-2])
    n = A.shape[-1]
    # the symmetric matrix the chosen triangle describes: tril(A) + tril(A, -1)^T (or the same from triu)
    sym = _symmetric_from_triangle(A, UPLO == "L")
    work = _dense(sym, batch + (n, n))
    q = CudaArray.empty(batch + (n, n), A.dtype.np)
    w = CudaArray.empty(batch + (n,), A.dtype.np)
    nb = _nbatch(batch)
    if nb:
        pairs = next_pow2(max((n + 1) // 2, 1))
        _eigh_jacobi_kernel[(nb,)](work, q, w, n, _MAX_SWEEPS, n * _EPS[A.dtype], BLOCK_R=_BLOCK_R, BLOCK_P=pairs,
                                   BLOCK_RP=_pair_rows(pairs))
    return w, q


def _symmetric_from_triangle(A: Tensor, lower: bool) -> Tensor:
    from .movement import tril_op, triu_op
    with _no_record():   # (inside an impl: nothing here is recorded)
        if lower:
            return tril_op(A, 0) + _mT_raw(tril_op(A, -1))
        return triu_op(A, 0) + _mT_raw(triu_op(A, 1))


def _eigh_ref(A, UPLO="L"):
    w, q = np.linalg.eigh(np.asarray(A, np.float64), UPLO=UPLO)
    _np_sign_columns(q)
    return w, q


def _eigh_vjp(ctx, gL, gQ):
    # PyTorch's rule (real case): gA = Q (diag(gL) + (Q^T gQ - (Q^T gQ)^T) / 2 / E) Q^T, E_jk = L_k - L_j,
    # symmetric, as the input is read as a symmetric matrix
    tt = _tt()
    L, Q = ctx.output
    n = L.shape[-1]
    inner = None
    if gQ is not None:
        QtgQ = Q.mT @ gQ
        E = L.unsqueeze(-2) - L.unsqueeze(-1) + tt.eye(n, dtype=L.dtype, device=L.device)
        inner = (QtgQ - QtgQ.mT) * 0.5 / E
    if gL is not None:
        d = tt.diag_embed(gL)
        inner = d if inner is None else inner + d
    if inner is None:
        return (None,)
    return (Q @ inner @ Q.mT,)


def _eigh_samples(device, dtype):
    tt = _tt()
    rng = rng_for("eigh", dtype.name)
    for shape, label in (((1, 1), "1x1"), ((3, 3), "3x3"), ((2, 4, 4), "batch"), ((9, 9), "9x9"),
                         ((0, 2, 2), "empty_batch")):
        n = shape[-1]
        q = np.linalg.qr(rng.standard_normal(shape))[0]
        w = np.linspace(-2.0, 3.0, n) if n > 1 else np.ones(1)
        a = (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)
        yield Sample((tt.tensor(a, dtype=dtype, device=device),), name=label)
        if label == "3x3":
            junk = np.triu(rng.standard_normal(shape), 1)   # (the upper triangle is not read)
            yield Sample((tt.tensor(a + junk, dtype=dtype, device=device),), name="lower_only")
            yield Sample((tt.tensor(a - junk.T, dtype=dtype, device=device), "U"), name="upper")


def _torch_eigh(torch, A, UPLO="L"):
    L, Q = torch.linalg.eigh(A, UPLO=UPLO)
    if Q.numel() == 0:
        return L, Q
    idx = Q.detach().abs().argmax(-2, keepdim=True)
    return L, Q * torch.where(Q.detach().gather(-2, idx) < 0, -1.0, 1.0).to(Q.dtype)


eigh_op = register(OpDef(
    name="linalg_eigh", family=FAMILY, infer=_eigh_infer, impl={"cpu": _eigh_cpu, "cuda": _eigh_cuda},
    ref=_eigh_ref, samples=_eigh_samples, dtypes=FLOATS, n_outputs=2, vjp=_eigh_vjp, save="output",
    tolerances=_TOLERANCES,
    bench=BenchSpec(sizes=((256, 16), (16, 128)), make=lambda s, dev, d: (
        (_tt().tensor(_spd(rng_for("eigh_bench"), (s[0], s[1], s[1])), dtype=d, device=dev),), {}),
        bytes=lambda s, d: 3 * s[0] * s[1] * s[1] * d.itemsize, flops=lambda s: 9 * s[0] * s[1] ** 3),
    doc="eigenvalues (ascending) and eigenvectors of symmetric matrices given by one triangle",
    extra={"torch": _torch_eigh, "grad_input_wrapper": lambda args: ((args[0] + args[0].mT) * 0.5,) + tuple(args[1:])}))
