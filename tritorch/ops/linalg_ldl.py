"""The LDL^T factorisation of symmetric indefinite matrices with Bunch-Kaufman pivoting, as LAPACK's ?sytrf
(lower) computes it and PyTorch returns it: linalg.ldl_factor(_ex) and linalg.ldl_solve.

  linalg_ldl_factor_ex(A) -> (LD, pivots, info)   an op. A = L D L^T from A's lower triangle, L = P(1) L(1) ...
      P(k) L(k) ..., D block diagonal with 1x1 and 2x2 blocks. LD holds D's blocks on the diagonal (and the 2x2
      blocks' subdiagonal entries) and L(k)'s columns below them, zero above the diagonal. pivots are LAPACK's
      ipiv (1-based): p > 0 a 1x1 block whose step swapped rows and columns k and p; a pair of equal p < 0 a 2x2
      block whose step swapped k + 1 and -p. info > 0: D(info, info) is exactly zero (D is singular).
  ldl_solve(LD, pivots, B)   a composite: A = P L' D L'^T P^T with P = P(1) P(2) ... and L' unit lower (each
      column's entries permuted by the later steps' swaps, as LAPACK's ?syconv converts them), so X = P L'^-T D^-1
      L'^-1 P^T B through lu_permute, the triangular solves and the general solve (for D). Building L' and P reads
      the pivots on the host (a sync on cuda).

Pivoting (?sytf2, alpha = (1 + sqrt(17)) / 8): with colmax the largest |a_ik| below the diagonal (first at row
imax) and rowmax the largest off-diagonal magnitude of row/column imax: a 1x1 pivot at k if |a_kk| >= alpha colmax
or |a_kk| colmax^-2 rowmax >= alpha; a 1x1 pivot at imax if |a_imax,imax| >= alpha rowmax; else a 2x2 pivot of k
and imax. NumPy fallback: that unblocked algorithm per matrix (vectorised over each step's trailing block; LAPACK's
blocked ?sytrf for n > 64 makes the same choices up to rounding). Neither op has a derivative in PyTorch; here
ldl_factor has none (backward raises) and ldl_solve differentiates through its component ops.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..backends.cuda import CudaArray
from ..tensor import Tensor
from .linalg_factor import (_BLOCK_C, _BLOCK_R, _TOLERANCES, FLOATS, _batch_broadcast, _check_matrix,
                            _dense, _nbatch, _swap_lines, lu_permute_op, solve_ex_op, solve_triangular_op)
from .linalg_solve import _out
from .registry import BenchSpec, Meta, OpDef, Sample, _type_name, register
from .samples import rng_for

FAMILY = "linalg_ldl"

__all__ = ["ldl_factor", "ldl_factor_ex", "ldl_solve"]

ldl_factor_result = namedtuple("linalg_ldl_factor", ["LD", "pivots"])
ldl_factor_ex_result = namedtuple("linalg_ldl_factor_ex", ["LD", "pivots", "info"])

_ALPHA = (1.0 + math.sqrt(17.0)) / 8.0   # Bunch-Kaufman's growth bound


def _tt():
    import tritorch
    return tritorch


# ============================================================================================== Triton kernel

@triton.jit
def _column_absmax(a, N, col, start, stop, rr, BLOCK_R: tl.constexpr):
    # (largest |a[r, col]| for start <= r < stop, its first row; (-1, start) when empty)
    best = tl.full([], -1.0, a.dtype.element_ty)
    at = start
    for r0 in range(start, stop, BLOCK_R):
        rows = r0 + rr
        v = tl.where(rows < stop, tl.abs(tl.load(a + rows * N + col, mask=rows < stop, other=0.0)), -1.0)
        m = tl.max(v, 0)
        at = tl.where(m > best, r0 + tl.argmax(v, 0), at)
        best = tl.maximum(m, best)
    return best, at


@triton.jit
def _ldl_kernel(a_ptr, piv_ptr, info_ptr, N, ALPHA: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    # a_ptr:    (batch, N, N) contiguous; its lower triangle overwritten by LD, the strict upper set to zero
    # piv_ptr:  (batch, N) int32 out: LAPACK's ipiv (1-based; a pair of equal negatives for a 2x2 block)
    # info_ptr: (batch,) int32 out: the first k with D(k, k) exactly zero (1-based), 0 if none
    # N:        the matrix order; ALPHA: Bunch-Kaufman's (1 + sqrt(17)) / 8
    # Bytes: ~N/3 reads + writes of the lower triangle (from L2), one write of the matrix.
    pid = tl.program_id(0).to(tl.int64)
    a = a_ptr + pid * N * N
    rr = tl.arange(0, BLOCK_R)
    cc = tl.arange(0, BLOCK_C)
    info = tl.full([], 0, tl.int32)
    k = N * 0
    while k < N:
        # ---- pivot choice (?sytf2's tests)
        absakk = tl.abs(tl.load(a + k * N + k))
        colmax, imax = _column_absmax(a, N, k, k + 1, N, rr, BLOCK_R)
        colmax = tl.maximum(colmax, 0.0)
        rowmax = tl.full([], 0.0, a_ptr.dtype.element_ty)
        for c0 in range(k, imax, BLOCK_C):   # row imax left of the diagonal
            cols = c0 + cc
            rowmax = tl.maximum(rowmax, tl.max(tl.abs(tl.load(a + imax * N + cols, mask=cols < imax, other=0.0)), 0))
        below, _ = _column_absmax(a, N, imax, imax + 1, N, rr, BLOCK_R)
        rowmax = tl.maximum(rowmax, below)
        singular = (tl.maximum(absakk, colmax) == 0) | (absakk != absakk)
        info = tl.where(singular & (info == 0), k + 1, info)
        keep_k = (absakk >= ALPHA * colmax) | (absakk >= ALPHA * colmax * (colmax / tl.where(rowmax > 0, rowmax, 1.0)))
        one_at_imax = tl.abs(tl.load(a + imax * N + imax)) >= ALPHA * rowmax
        kp = tl.where(singular | keep_k, k, imax)
        kstep = tl.where(singular | keep_k | one_at_imax, 1, 2)
        two = kstep == 2
        kk = k + kstep - 1
        # ---- rows and columns kk and kp of the trailing block swapped (no-ops when kp == kk)
        _swap_lines(a + (kp + 1) * N, N - kp - 1, N, 1, kk, kp, rr, BLOCK_R)   # the columns below row kp
        for e0 in range(kk + 1, kp, BLOCK_R):   # column kk between the two against row kp
            e = e0 + rr
            m = e < kp
            x = tl.load(a + e * N + kk, mask=m)
            y = tl.load(a + kp * N + e, mask=m)
            tl.store(a + e * N + kk, y, mask=m)
            tl.store(a + kp * N + e, x, mask=m)
        dk = tl.load(a + kk * N + kk)
        dp = tl.load(a + kp * N + kp)
        tl.store(a + kk * N + kk, dp)
        tl.store(a + kp * N + kp, dk)
        r2 = tl.where(two, k + 1, k)   # the 2x2 block's subdiagonal entry moves with row k + 1
        p2 = tl.where(two, kp, k)
        s1 = tl.load(a + r2 * N + k)
        s2 = tl.load(a + p2 * N + k)
        tl.store(a + r2 * N + k, s2)
        tl.store(a + p2 * N + k, s1)
        tl.debug_barrier()
        # ---- trailing update: a[r, c] -= u1[r] w1[c] + u2[r] w2[c] for r >= c >= k + kstep
        akk = tl.load(a + k * N + k)
        d11 = 1.0 / tl.where(akk != 0, akk, 1.0)
        k1 = tl.where(two, k + 1, k)   # (row k + 1 exists only for a 2x2 block; k stands in otherwise)
        e21 = tl.where(two, tl.load(a + k1 * N + k), 1.0)
        e21 = tl.where(e21 != 0, e21, 1.0)
        b11 = tl.where(two, tl.load(a + k1 * N + k1), 0.0) / e21
        b22 = akk / e21
        den = b11 * b22 - 1.0
        f21 = (1.0 / tl.where(den != 0, den, 1.0)) / e21
        start = tl.where(singular, N, k + kstep)
        live2 = tl.where(two, N, 0)   # rows of column k + 1 read: all for a 2x2 block, none for a 1x1
        for c0 in range(start, N, BLOCK_C):
            cols = c0 + cc
            cm = cols < N
            xk = tl.load(a + cols * N + k, mask=cm, other=0.0)
            xk1 = tl.load(a + cols * N + k + 1, mask=cols < live2, other=0.0)
            w1 = tl.where(two, f21 * (b11 * xk - xk1), d11 * xk)
            w2 = tl.where(two, f21 * (b22 * xk1 - xk), 0.0)
            for r0 in range(c0, N, BLOCK_R):
                rows = r0 + rr
                rm = rows < N
                u1 = tl.load(a + rows * N + k, mask=rm, other=0.0)
                u2 = tl.load(a + rows * N + k + 1, mask=rows < live2, other=0.0)
                m2 = rm[:, None] & cm[None, :] & (cols[None, :] <= rows[:, None])
                p = a + rows[:, None] * N + cols[None, :]
                t = tl.load(p, mask=m2, other=0.0)
                t = t - u1[:, None] * w1[None, :]
                tl.store(p, t - u2[:, None] * w2[None, :], mask=m2)
        tl.debug_barrier()
        for r0 in range(start, N, BLOCK_R):   # L's columns: the scaled column k, or the 2x2 step's two columns
            rows = r0 + rr
            rm = rows < N
            xk = tl.load(a + rows * N + k, mask=rm, other=0.0)
            xk1 = tl.load(a + rows * N + k + 1, mask=rows < live2, other=0.0)
            tl.store(a + rows * N + k, tl.where(two, f21 * (b11 * xk - xk1), xk * d11), mask=rm)
            tl.store(a + rows * N + k + 1, f21 * (b22 * xk1 - xk), mask=rows < live2)
        tl.debug_barrier()
        ipiv = tl.where(two, -(kp + 1), kp + 1)
        tl.store(piv_ptr + pid * N + k, ipiv)
        tl.store(piv_ptr + pid * N + k1, ipiv)
        k += kstep
    tl.store(info_ptr + pid, info)
    for r0 in range(0, N, BLOCK_R):
        rows = r0 + rr
        for c0 in range(r0 + 1, N, BLOCK_C):
            cols = c0 + cc
            m2 = (rows[:, None] < N) & (cols[None, :] < N) & (cols[None, :] > rows[:, None])
            tl.store(a + rows[:, None] * N + cols[None, :], tl.zeros([BLOCK_R, BLOCK_C], a_ptr.dtype.element_ty),
                     mask=m2)


# ========================================================================================= NumPy algorithm

def _np_sytf2(a: np.ndarray):
    """LAPACK's ?sytf2 (lower) on the (n, n) matrix a in place (upper triangle ignored, left as garbage);
    returns (ipiv 1-based, info). Indices are 0-based here."""
    n = a.shape[0]
    piv = np.zeros(n, np.int32)
    info = 0
    k = 0
    while k < n:
        kstep = 1
        absakk = abs(a[k, k])
        imax, colmax = k, 0.0
        if k < n - 1:
            imax = k + 1 + int(np.argmax(np.abs(a[k + 1:, k])))
            colmax = abs(a[imax, k])
        kp = k
        if max(absakk, colmax) == 0 or absakk != absakk:
            info = info or k + 1
        else:
            if absakk < _ALPHA * colmax:
                rowmax = np.abs(a[imax, k:imax]).max()
                if imax < n - 1:
                    rowmax = max(rowmax, np.abs(a[imax + 1:, imax]).max())
                if absakk >= _ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif abs(a[imax, imax]) >= _ALPHA * rowmax:
                    kp = imax
                else:
                    kp, kstep = imax, 2
            kk = k + kstep - 1
            if kp != kk:   # rows and columns kk and kp of the trailing block swapped (its lower triangle)
                a[kp + 1:, [kk, kp]] = a[kp + 1:, [kp, kk]]
                seg = a[kk + 1:kp, kk].copy()
                a[kk + 1:kp, kk] = a[kp, kk + 1:kp]
                a[kp, kk + 1:kp] = seg
                a[[kk, kp], [kk, kp]] = a[[kp, kk], [kp, kk]]
                if kstep == 2:
                    a[[k + 1, kp], k] = a[[kp, k + 1], k]
            if kstep == 1:
                if k < n - 1:
                    d11 = 1.0 / a[k, k]
                    x = a[k + 1:, k].copy()
                    a[k + 1:, k + 1:] += np.outer(x, -d11 * x)
                    a[k + 1:, k] = x * d11
            elif k < n - 2:
                d21 = a[k + 1, k]
                d11, d22 = a[k + 1, k + 1] / d21, a[k, k] / d21
                d21 = (1.0 / (d11 * d22 - 1.0)) / d21
                wk = d21 * (d11 * a[k + 2:, k] - a[k + 2:, k + 1])
                wkp1 = d21 * (d22 * a[k + 2:, k + 1] - a[k + 2:, k])
                a[k + 2:, k + 2:] -= np.outer(a[k + 2:, k], wk) + np.outer(a[k + 2:, k + 1], wkp1)
                a[k + 2:, k], a[k + 2:, k + 1] = wk, wkp1
        if kstep == 1:
            piv[k] = kp + 1
        else:
            piv[k] = piv[k + 1] = -(kp + 1)
        k += kstep
    return piv, info


def _np_ldl(a: np.ndarray, dtype):
    """(LD, pivots, info) of the batch a (..., n, n), computed in `dtype`."""
    batch, n = a.shape[:-2], a.shape[-1]
    nb = int(np.prod(batch))
    ld = np.array(a, dtype=dtype, copy=True).reshape((nb, n, n))
    piv = np.zeros((nb, n), np.int32)
    info = np.zeros(nb, np.int32)
    with np.errstate(divide="ignore", invalid="ignore"):
        for b in range(nb):
            piv[b], info[b] = _np_sytf2(ld[b])
    return np.tril(ld).reshape(a.shape), piv.reshape(batch + (n,)), info.reshape(batch)


# ============================================================================================ factor op

def _ldl_infer(A, hermitian=False):
    _check_matrix("torch.linalg.ldl_factor_ex", A)
    batch = tuple(A.shape[:-2])
    return Meta((tuple(A.shape), batch + (A.shape[-1],), batch), (A.dtype, _dt.int32, _dt.int32), A.device)


def _ldl_cpu(meta, A, hermitian=False):
    return _np_ldl(A._data, meta.dtype[0].np)


def _ldl_cuda(meta, A, hermitian=False):
    shape, pshape, batch = meta.shape
    n = shape[-1]
    ld = _dense(A, shape)
    piv = CudaArray.empty(pshape, np.dtype(np.int32))
    info = CudaArray.empty(batch, np.dtype(np.int32))
    nb = _nbatch(batch)
    if nb and n:
        _ldl_kernel[(nb,)](ld, piv, info, n, ALPHA=_ALPHA, BLOCK_R=_BLOCK_R, BLOCK_C=_BLOCK_C)
    return ld, piv, info


def _ldl_ref(A, hermitian=False):
    return _np_ldl(np.asarray(A, np.float64), np.float64)


def _symmetric_indefinite(rng, shape):
    """Symmetric matrices with mixed-sign eigenvalues and a few small diagonal entries, so that 1x1 pivots with
    and without interchanges and 2x2 pivots all occur."""
    a = rng.uniform(-1, 1, shape)
    a = a + np.swapaxes(a, -1, -2)
    n = shape[-1]
    a[..., np.arange(0, n, 3), np.arange(0, n, 3)] *= 1e-3
    return a


def _ldl_samples(device, dtype):
    tt = _tt()
    rng = rng_for("ldl", dtype.name)
    for shape, label in (((1, 1), "1x1"), ((2, 2), "2x2"), ((5, 5), "5x5"), ((2, 6, 6), "batch"),
                         ((17, 17), "17x17"), ((0, 3, 3), "empty_batch")):
        yield Sample((tt.tensor(_symmetric_indefinite(rng, shape), dtype=dtype, device=device),), name=label)
    a = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]])   # zero diagonal: 2x2 pivots
    yield Sample((tt.tensor(a, dtype=dtype, device=device),), name="zero_diagonal")
    yield Sample((tt.tensor(_symmetric_indefinite(rng, (6, 6)), dtype=dtype, device=device).mT,), name="transposed")
    yield Sample((tt.tensor(np.diag([2.0, 0.0, 1.0]), dtype=dtype, device=device),), name="singular")


ldl_factor_op = register(OpDef(
    name="linalg_ldl_factor_ex", family=FAMILY, infer=_ldl_infer, impl={"cpu": _ldl_cpu, "cuda": _ldl_cuda},
    ref=_ldl_ref, samples=_ldl_samples, dtypes=FLOATS, n_outputs=3, differentiable=False,
    tolerances=_TOLERANCES,
    bench=BenchSpec(sizes=((256, 32), (16, 128)), make=lambda s, dev, d: (
        (_tt().tensor(_symmetric_indefinite(rng_for("ldl_bench"), (s[0], s[1], s[1])), dtype=d, device=dev),), {}),
        bytes=lambda s, d: 2 * s[0] * s[1] * s[1] * d.itemsize, flops=lambda s: s[0] * s[1] ** 3 // 3),
    doc="Bunch-Kaufman LDL^T of symmetric indefinite matrices (LAPACK's sytrf: compact LD, ipiv, info)",
    extra={"torch": lambda torch, A: tuple(torch.linalg.ldl_factor_ex(A))}))


# ====================================================================================== public functions

def _no_derivative(result: Tensor, source: Tensor) -> Tensor:
    """result in source's graph; backward raises PyTorch's error (ldl_factor has no derivative there)."""
    from ..autograd.function import Function

    class _Raise(Function):
        @staticmethod
        def forward(ctx, t, s):
            return t.clone()

        @staticmethod
        def backward(ctx, g):
            raise RuntimeError("derivative for aten::linalg_ldl_factor_ex is not implemented")
    return _Raise.apply(result, source)


def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False, out=None):
    """(LD, pivots, info) of A's lower triangle (hermitian changes nothing for real matrices)."""
    LD, pivots, info = ldl_factor_op(A)
    if A.requires_grad and _tt().is_grad_enabled():
        LD = _no_derivative(LD, A)
    if check_errors:
        _raise_singular(info)
    return _out(ldl_factor_ex_result(LD, pivots, info), out)


def _raise_singular(info: Tensor) -> None:
    from .linalg_solve import _raise_if
    _raise_if(info, "torch.linalg.ldl_factor", lambda i: f"The factorization could not be completed because the "
              f"block diagonal matrix D is singular: its diagonal element {i} is zero.")


def ldl_factor(A: Tensor, *, hermitian: bool = False, out=None):
    """(LD, pivots); raises LinAlgError where D is singular (PyTorch 2.13 fails there with an internal assert)."""
    LD, pivots, info = ldl_factor_ex(A, hermitian=hermitian)
    _raise_singular(info)
    return _out(ldl_factor_result(LD, pivots), out)


def _unpack_pivots(piv: np.ndarray):
    """From LAPACK's ipiv (nb, n): LU-style swaps (row k with swaps[k] - 1, in order: lu_permute's pivots), the
    gather index G with L'[r, c] = L[G[r, c], c], and the mask of the 2x2 blocks' subdiagonal entries."""
    nb, n = piv.shape
    swaps = np.tile(np.arange(1, n + 1, dtype=np.int32), (nb, 1))
    gather = np.empty((nb, n, n), np.int64)
    block = np.zeros((nb, n, n), bool)
    for b in range(nb):
        steps, k = [], 0
        while k < n:   # (columns of the step, row swapped, with which row)
            if piv[b, k] > 0:
                steps.append(((k,), k, piv[b, k] - 1))
                k += 1
            else:
                steps.append(((k, k + 1), k + 1, -piv[b, k] - 1))
                block[b, k + 1, k] = True
                k += 2
        g = np.arange(n)
        for cols, r, p in reversed(steps):
            gather[b, :, list(cols)] = g
            g = np.where(g == r, p, np.where(g == p, r, g))   # this step's swap composed before the later ones'
            swaps[b, r] = p + 1
    return swaps, gather, block


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False, out=None) -> Tensor:
    """X with A X = B from ldl_factor's (LD, pivots); batch dims broadcast."""
    name = "torch.linalg.ldl_solve"
    _check_matrix(name, LD)
    if B.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor B must have at least 2 dimensions.")
    if tuple(pivots.shape) != tuple(LD.shape[:-1]):
        raise RuntimeError(f"{name}: Expected LD.shape[:-1] and pivots.shape to be the same, but got pivots with "
                           f"shape {list(pivots.shape)} instead")
    if pivots.dtype.kind != _dt.INT:
        raise RuntimeError(f"{name}: Expected pivots to be integers. Got {_type_name(pivots.dtype)}")
    if B.dtype is not LD.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {_type_name(B.dtype)} and "
                           f"A of type {_type_name(LD.dtype)} instead.")
    n = LD.shape[-1]
    if B.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for {name}: each A matrix is {n} by {n} but each b matrix is "
                           f"{B.shape[-2]} by {B.shape[-1]}")
    _batch_broadcast(name, tuple(LD.shape[:-2]), tuple(B.shape[:-2]))
    tt = _tt()
    batch = tuple(LD.shape[:-2])
    piv = pivots.detach().cpu().numpy().astype(np.int64).reshape(-1, n)
    swaps, gather, block = _unpack_pivots(piv)
    dev = LD.device
    swaps = tt.tensor(swaps.reshape(batch + (n,)), device=dev)
    gather = tt.tensor(gather.reshape(batch + (n, n)), device=dev)
    block = tt.tensor(block.reshape(batch + (n, n)).astype(LD.dtype.np), device=dev)
    eye = tt.eye(n, dtype=LD.dtype, device=dev)
    lower = LD.tril(-1) * (1 - block)
    L = tt.gather(lower, -2, gather) + eye
    sub = LD * block
    D = tt.diag_embed(LD.diagonal(0, -2, -1)) + sub + sub.mT
    Y = lu_permute_op(B, swaps)
    Y = solve_triangular_op(L, Y, upper=False, unitriangular=True)
    Y = solve_ex_op(D, Y)[0]
    Y = solve_triangular_op(L.mT, Y, upper=True, unitriangular=True)
    return _out((lu_permute_op(Y, swaps, inverse=True),), None if out is None else (out,))[0]


