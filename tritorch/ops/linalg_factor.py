"""Matrix factorisations and solves: Cholesky, LU with partial pivoting, triangular and general solves, det.

Ops (float32 / float64; batches of matrices in the last two dims, batch dims broadcast where PyTorch's do):
  linalg_cholesky_ex(A) -> (L, info)                 A = L L^T from A's lower triangle; info: the order of the
                                                      first leading minor that is not positive-definite (0: none)
  linalg_lu_factor_ex(A) -> (LU, pivots, info)       P A = L U packed as LAPACK's getrf packs it (L unit, below
                                                      the diagonal); pivots 1-based int32; info: first zero pivot
  linalg_lu_permute(B, pivots, inverse=False)        P^T B (the pivots' row swaps applied in order), or P B
  linalg_solve_triangular(A, B, upper=, left=True, unitriangular=False)
                                                      A X = B (left) or X A = B, reading one triangle of A
  linalg_solve_ex(A, B) -> (X, info)                 A X = B for B of shape (..., n, k)
  linalg_slogdet(A) -> (sign, logabsdet); linalg_det(A)

Kernels. One Triton program per matrix (per matrix and block of right-hand-side columns for the solves) walks
the factorisation step by step on a contiguous copy in global memory, in tiles of BLOCK_R x BLOCK_C: a pivot
search, a row swap, a column scale and a rank-1 update of the trailing block per step, with a barrier between
phases so every thread sees the others' writes. The work is O(n^3) per program, which suits batches of small and
medium matrices (the common use in models); one large matrix runs on one SM (a blocked algorithm is future work).
The NumPy fallback uses LAPACK through np.linalg where NumPy exposes it (cholesky, solve, slogdet, det) and a
blocked right-looking LU (panel steps, a solve for U12 and one GEMM for the trailing update) where it does not.

Gradients are written in these ops and matmul / tril / triu, so they run on both devices and differentiate
again: Cholesky's and LU's as PyTorch derives them, solve's and the triangular solve's from the solves themselves,
slogdet's and det's through solve(A^T, I).
"""
from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray
from ..tensor import Tensor, _make
from . import pointwise as pw
from .registry import BenchSpec, Meta, OpDef, Sample, _type_name, device_of, register
from .samples import rng_for

FAMILY = "linalg_factor"

FLOATS = (_dt.float32, _dt.float64)
# Tile sides of the step kernels; small under the interpreter so that tests cross tile boundaries cheaply.
_BLOCK_R = 8 if _cuda.INTERPRET else 64
_BLOCK_C = 8 if _cuda.INTERPRET else 64
# fp32 results of a factorisation or solve carry about n * eps * cond(A) relative error
_TOLERANCES = {_dt.float32: (1e-4, 1e-5)}


class LinAlgError(RuntimeError):
    """A factorisation or solve failed on its input (torch.linalg.LinAlgError)."""


# NumPy's public linalg functions compute float32 inputs in float64 and cast back; the gufuncs under them take a
# float32 signature and run LAPACK's single-precision routines, as PyTorch does (measured here: a 512x512 solve
# 12.8 -> 4.8 ms). They are private to NumPy, so every use falls back to the public function when they are gone.
try:
    from numpy.linalg import _umath_linalg as _GUFUNCS
except ImportError:  # pragma: no cover
    _GUFUNCS = None


def _raise_lapack_failure(err, flag):
    raise np.linalg.LinAlgError("the matrix is singular or not positive-definite")


def _lapack(public, private: str, f32_signature: str, *arrays, raises: bool = True):
    """public(*arrays), in float32 when the arrays are float32 (see above); LinAlgError where public raises it."""
    fn = getattr(_GUFUNCS, private, None)
    if fn is None or any(a.dtype != np.float32 or a.size == 0 for a in arrays):
        return public(*arrays)
    if not raises:
        with np.errstate(all="ignore"):
            return fn(*arrays, signature=f32_signature)
    with np.errstate(call=_raise_lapack_failure, invalid="call", over="ignore", divide="ignore", under="ignore"):
        return fn(*arrays, signature=f32_signature)


# ============================================================================================== Triton kernels

@triton.jit
def _divide_column(a, N, j, start, stop, d, rr, BLOCK_R: tl.constexpr):
    # a[start:stop, j] /= d for the row-major (., N) matrix at a
    for r0 in range(start, stop, BLOCK_R):
        rows = r0 + rr
        rm = rows < stop
        tl.store(a + rows * N + j, tl.load(a + rows * N + j, mask=rm) / d, mask=rm)


@triton.jit
def _swap_lines(base, count, elem_stride, line_stride, i, j, idx, BLOCK: tl.constexpr):
    # lines i and j of a matrix swapped: element e of line l is at base + e * elem_stride + l * line_stride (rows:
    # elem_stride 1, line_stride the row length; columns: the other way round). Each thread swaps its own elements.
    for e0 in range(0, count, BLOCK):
        e = e0 + idx
        m = e < count
        xi = tl.load(base + e * elem_stride + i * line_stride, mask=m)
        xj = tl.load(base + e * elem_stride + j * line_stride, mask=m)
        tl.store(base + e * elem_stride + i * line_stride, xj, mask=m)
        tl.store(base + e * elem_stride + j * line_stride, xi, mask=m)


@triton.jit
def _cholesky_kernel(a_ptr, info_ptr, N, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    # a_ptr:    (batch, N, N) contiguous; overwritten by L (the strict upper triangle set to zero)
    # info_ptr: (batch,) int32 out: order of the first leading minor that is not positive-definite, 0 if none
    # N:        the matrix order
    # Bytes: ~N/3 reads + writes of the lower triangle (from L2), one write of the matrix.
    pid = tl.program_id(0).to(tl.int64)
    a = a_ptr + pid * N * N
    rr = tl.arange(0, BLOCK_R)
    cc = tl.arange(0, BLOCK_C)
    info = tl.full([], 0, tl.int32)
    for j in range(0, N):
        d = tl.load(a + j * N + j)
        bad = (d <= 0) | (d != d)
        info = tl.where(bad & (info == 0), j + 1, info)
        ok = info == 0
        live = tl.where(ok, N, 0)  # rows below this are written: none once the factorisation failed
        s = tl.sqrt(tl.where(ok, d, 1.0))
        tl.store(a + j * N + j, tl.where(ok, s, d))
        _divide_column(a, N, j, j + 1, live, s, rr, BLOCK_R)
        tl.debug_barrier()
        for r0 in range(j + 1, N, BLOCK_R):
            rows = r0 + rr
            rm = rows < live
            li = tl.load(a + rows * N + j, mask=rm, other=0.0)
            for c0 in range(j + 1, r0 + BLOCK_R, BLOCK_C):  # columns up to the tile's last row (lower triangle)
                cols = c0 + cc
                lk = tl.load(a + cols * N + j, mask=cols < N, other=0.0)
                m2 = rm[:, None] & (cols[None, :] <= rows[:, None])
                p = a + rows[:, None] * N + cols[None, :]
                t = tl.load(p, mask=m2)
                tl.store(p, t - li[:, None] * lk[None, :], mask=m2)
        tl.debug_barrier()
    for r0 in range(0, N, BLOCK_R):
        rows = r0 + rr
        for c0 in range(r0 + 1, N, BLOCK_C):
            cols = c0 + cc
            m2 = (rows[:, None] < N) & (cols[None, :] < N) & (cols[None, :] > rows[:, None])
            tl.store(a + rows[:, None] * N + cols[None, :], tl.zeros([BLOCK_R, BLOCK_C], a_ptr.dtype.element_ty),
                     mask=m2)
    tl.store(info_ptr + pid, info)


@triton.jit
def _lu_kernel(a_ptr, piv_ptr, info_ptr, M, N, K, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    # a_ptr:    (batch, M, N) contiguous; overwritten by L (unit, below the diagonal) and U
    # piv_ptr:  (batch, K) int32 out: at step k row k was swapped with row piv - 1 (LAPACK's ipiv)
    # info_ptr: (batch,) int32 out: 1 + the first step whose pivot is zero, 0 if none
    # M, N, K:  rows, columns, K = min(M, N) steps
    # Bytes: ~K reads + writes of the trailing block (from L2), one read + write of the matrix.
    pid = tl.program_id(0).to(tl.int64)
    a = a_ptr + pid * M * N
    rr = tl.arange(0, BLOCK_R)
    cc = tl.arange(0, BLOCK_C)
    info = tl.full([], 0, tl.int32)
    for k in range(0, K):
        # pivot: the first row of the largest |a[i, k]|, i >= k (LAPACK's choice)
        best = tl.full([], -1.0, a_ptr.dtype.element_ty)
        p = k
        for r0 in range(k, M, BLOCK_R):
            rows = r0 + rr
            v = tl.abs(tl.load(a + rows * N + k, mask=rows < M, other=0.0))
            v = tl.where(rows < M, v, -1.0)
            m = tl.max(v, 0)
            better = m > best
            p = tl.where(better, r0 + tl.argmax(v, 0), p)
            best = tl.where(better, m, best)
        tl.store(piv_ptr + pid * K + k, p + 1)
        _swap_lines(a, N, 1, N, k, p, cc, BLOCK_C)   # rows k and p
        tl.debug_barrier()
        d = tl.load(a + k * N + k)
        info = tl.where((d == 0) & (info == 0), k + 1, info)
        d = tl.where(d == 0, 1.0, d)  # (a zero pivot means a zero column: nothing to scale)
        _divide_column(a, N, k, k + 1, M, d, rr, BLOCK_R)
        tl.debug_barrier()
        for r0 in range(k + 1, M, BLOCK_R):
            rows = r0 + rr
            rm = rows < M
            li = tl.load(a + rows * N + k, mask=rm, other=0.0)
            for c0 in range(k + 1, N, BLOCK_C):
                cols = c0 + cc
                u = tl.load(a + k * N + cols, mask=cols < N, other=0.0)
                m2 = rm[:, None] & (cols[None, :] < N)
                q = a + rows[:, None] * N + cols[None, :]
                t = tl.load(q, mask=m2)
                tl.store(q, t - li[:, None] * u[None, :], mask=m2)
        tl.debug_barrier()
    tl.store(info_ptr + pid, info)


@triton.jit
def _permute_rows_kernel(b_ptr, piv_ptr, N, K, P, INVERSE: tl.constexpr, BLOCK_C: tl.constexpr):
    # b_ptr:   (batch, N, K) contiguous, permuted in place: rows s and piv[s] - 1 swapped for s = 0..P-1 in order
    #          (P^T B), or in reverse order with INVERSE (P B)
    # piv_ptr: (batch, P) int32, 1-based; N, K: rows and columns of B; grid (batch, cdiv(K, BLOCK_C))
    # Bytes: 2 reads + 2 writes of a row block per swap. No barrier: each thread swaps only its own columns.
    pid = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    cm = cols < K
    b = b_ptr + pid * N * K
    for t in range(0, P):
        if INVERSE:
            s = P - 1 - t
        else:
            s = t
        p = tl.load(piv_ptr + pid * P + s) - 1
        x = tl.load(b + s * K + cols, mask=cm)
        y = tl.load(b + p * K + cols, mask=cm)
        tl.store(b + s * K + cols, y, mask=cm)
        tl.store(b + p * K + cols, x, mask=cm)


@triton.jit
def _trsm_kernel(a_ptr, b_ptr, N, K, UPPER: tl.constexpr, UNIT: tl.constexpr, BLOCK_R: tl.constexpr,
                 BLOCK_C: tl.constexpr):
    # a_ptr: (batch, N, N) contiguous triangular matrices (only the UPPER or lower triangle is read; with UNIT
    #        the diagonal is taken as ones)
    # b_ptr: (batch, N, K) contiguous right-hand sides, overwritten by X with A X = B
    # grid:  (batch, cdiv(K, BLOCK_C)); each program substitutes one block of columns row by row
    # Bytes: one read of the triangle, ~N/2 reads + writes of the column block (from L2).
    pid = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    cm = cols < K
    a = a_ptr + pid * N * N
    b = b_ptr + pid * N * K
    rr = tl.arange(0, BLOCK_R)
    for s in range(0, N):
        if UPPER:
            i = N - 1 - s
            lo = 0
            hi = i
        else:
            i = s
            lo = i + 1
            hi = N
        x = tl.load(b + i * K + cols, mask=cm)
        if not UNIT:
            x = x / tl.load(a + i * N + i)
        tl.store(b + i * K + cols, x, mask=cm)
        for r0 in range(lo, hi, BLOCK_R):
            rows = r0 + rr
            rm = rows < hi
            l = tl.load(a + rows * N + i, mask=rm, other=0.0)
            m2 = rm[:, None] & cm[None, :]
            q = b + rows[:, None] * K + cols[None, :]
            t = tl.load(q, mask=m2)
            tl.store(q, t - l[:, None] * x[None, :], mask=m2)
        tl.debug_barrier()


@triton.jit
def _mul(x, y):
    return x * y


@triton.jit
def _lu_det_kernel(lu_ptr, piv_ptr, sign_ptr, out_ptr, N, LOG: tl.constexpr, BLOCK: tl.constexpr):
    # lu_ptr, piv_ptr: one LU factorisation per program ((batch, N, N) contiguous, (batch, N) int32 pivots)
    # LOG:  sign_ptr gets sign(det) (0 for a zero pivot) and out_ptr log|det|; else out_ptr gets det
    # Bytes: N diagonal elements and N pivots read, one or two values written per matrix.
    pid = tl.program_id(0).to(tl.int64)
    lu = lu_ptr + pid * N * N
    idx0 = tl.arange(0, BLOCK)
    flips = tl.full([], 0, tl.int32)
    zeros = tl.full([], 0, tl.int32)
    if LOG:
        acc = tl.full([], 0.0, lu_ptr.dtype.element_ty)
    else:
        acc = tl.full([], 1.0, lu_ptr.dtype.element_ty)
    for r0 in range(0, N, BLOCK):
        idx = r0 + idx0
        m = idx < N
        d = tl.load(lu + idx * (N + 1), mask=m, other=1.0)
        p = tl.load(piv_ptr + pid * N + idx, mask=m, other=0)
        flips += tl.sum((m & (p != idx + 1)).to(tl.int32), 0)
        if LOG:
            flips += tl.sum((d < 0).to(tl.int32), 0)
            zeros += tl.sum((d == 0).to(tl.int32), 0)
            acc += tl.sum(tl.log(tl.abs(d)), 0)
        else:
            acc *= tl.reduce(d, 0, _mul)
    sign = tl.where(flips % 2 == 1, -1.0, 1.0)
    if LOG:
        tl.store(sign_ptr + pid, tl.where(zeros > 0, 0.0, sign).to(lu_ptr.dtype.element_ty))
        tl.store(out_ptr + pid, acc)
    else:
        tl.store(out_ptr + pid, acc * sign)


# ============================================================================================ shared helpers

def _tt():
    import tritorch
    return tritorch


def _check_matrix(name: str, A, arg: str = "A", square: bool = True) -> None:
    if not isinstance(A, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not {type(A).__name__}")
    if A.dim() < 2:
        raise RuntimeError(f"{name}: The input tensor {arg} must have at least 2 dimensions.")
    if A.dtype.kind != _dt.FLOAT:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{_type_name(A.dtype)}")
    if A.dtype not in FLOATS:
        raise RuntimeError(f'"{name}" not implemented for \'{_type_name(A.dtype)}\'')
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: {arg} must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")


def _batch_broadcast(name: str, a_batch: tuple, b_batch: tuple) -> tuple:
    out = []
    for x, y in zip(((1,) * (len(b_batch) - len(a_batch)) + a_batch), ((1,) * (len(a_batch) - len(b_batch))
                                                                        + b_batch)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"{name}: the batch dimensions of A {list(a_batch)} and B {list(b_batch)} are not "
                               f"broadcastable")
        out.append(y if x == 1 else x)
    return tuple(out)


def _nbatch(batch: tuple) -> int:
    n = 1
    for s in batch:
        n *= s
    return n


def _dense(t: Tensor, shape: tuple) -> CudaArray:
    """A fresh contiguous copy of `t` broadcast to `shape`: the kernels work in place on it."""
    from .copy import _identity
    return pw.launch_pointwise(_identity, [t], tuple(shape), t.dtype, t.dtype)


def _mT_raw(t: Tensor) -> Tensor:
    """t with its last two dims swapped, as a view of its storage outside autograd (for the impls)."""
    a = t._data
    sh, st = list(a.shape), list(a.strides)
    sh[-1], sh[-2] = sh[-2], sh[-1]
    st[-1], st[-2] = st[-2], st[-1]
    return _make(a.view_as(tuple(sh), tuple(st), a.offset), t.dtype, t.device)


def _matrix_samples(name, make):
    """Samples of one-matrix ops: square sizes 1..20 (20 crosses the interpreter's tiles), a batch, an empty
    batch, a transposed (non-contiguous) input."""
    def samples(device, dtype):
        tt = _tt()
        rng = rng_for(name, dtype.name)
        for shape, label in (((1, 1), "1x1"), ((3, 3), "3x3"), ((2, 4, 4), "batch"), ((20, 20), "20x20"),
                             ((0, 3, 3), "empty_batch"), ((2, 1, 5, 5), "batch_2d")):
            yield Sample((tt.tensor(make(rng, shape), dtype=dtype, device=device),), name=label)
        a = tt.tensor(make(rng, (6, 6)), dtype=dtype, device=device)
        yield Sample((a.mT,), name="transposed")
    return samples


def _well_conditioned(rng, shape):
    """Random matrices whose diagonal dominates (LU pivots vary, nothing is near singular)."""
    n = shape[-1]
    a = rng.uniform(-1, 1, size=shape)
    return a + np.eye(n) * (n / 2 + 1) * rng.choice([-1.0, 1.0], size=shape[:-1])[..., None]


def _spd(rng, shape):
    n = shape[-1]
    m = rng.uniform(-1, 1, size=shape)
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


def _sym_wrapper(args):
    """gradcheck sees the ops that read one triangle of a symmetric input through (A + A^T) / 2."""
    A = args[0]
    return ((A + A.mT) * 0.5,) + tuple(args[1:])


# ================================================================================================ cholesky

def _cholesky_infer(A):
    _check_matrix("linalg.cholesky", A)
    batch = tuple(A.shape[:-2])
    return Meta((tuple(A.shape), batch), (A.dtype, _dt.int32), A.device)


def _np_cholesky_info(a: np.ndarray):
    """An unblocked Cholesky of each matrix (the rare path of inputs LAPACK rejected): L and LAPACK's info."""
    a = np.array(a, copy=True)
    batch = a.shape[:-2]
    n = a.shape[-1]
    a = a.reshape((-1, n, n))
    info = np.zeros(a.shape[0], np.int32)
    for j in range(n):
        d = a[:, j, j]
        bad = ~(d > 0) & (info == 0)
        info[bad] = j + 1
        ok = info == 0
        s = np.sqrt(np.where(ok, d, 1))
        a[ok, j, j] = s[ok]
        a[ok, j + 1:, j] /= s[ok, None]
        a[ok, j + 1:, j + 1:] -= a[ok, j + 1:, j, None] * a[ok, None, j + 1:, j]
    return np.tril(a).reshape(batch + (n, n)), info.reshape(batch)


def _cholesky_cpu(meta, A):
    a = A._data
    batch = meta.shape[1]
    try:
        L = _lapack(np.linalg.cholesky, "cholesky_lo", "f->f", a)
        info = np.zeros(batch, np.int32)
    except np.linalg.LinAlgError:
        L, info = _np_cholesky_info(a)
    return L.astype(meta.dtype[0].np, copy=False), info


def _cholesky_cuda(meta, A):
    shape, batch = meta.shape
    n = shape[-1]
    L = _dense(A, shape)
    info = CudaArray.empty(batch, np.dtype(np.int32))
    nb = _nbatch(batch)
    if nb:
        _cholesky_kernel[(nb,)](L, info, n, BLOCK_R=_BLOCK_R, BLOCK_C=_BLOCK_C)
    return L, info


def _cholesky_ref(A):
    a = np.asarray(A, np.float64)
    return np.linalg.cholesky(a), np.zeros(a.shape[:-2], np.int32)


def _cholesky_vjp(ctx, gL, ginfo=None):
    # PyTorch's rule: gA = L^-H Phi(L^H gL) L^-1 with Phi the lower triangle, symmetrised (diagonal halved)
    if gL is None:
        return (None,)
    L, _ = ctx.output
    P = (L.mT @ gL).tril()
    P = (P + P.tril(-1).mT) * 0.5
    S = solve_triangular_op(L.mT, P, upper=True)
    return (solve_triangular_op(L, S, upper=False, left=False),)


cholesky_op = register(OpDef(
    name="linalg_cholesky_ex", family=FAMILY, infer=_cholesky_infer,
    impl={"cpu": _cholesky_cpu, "cuda": _cholesky_cuda}, ref=_cholesky_ref, samples=_matrix_samples("cholesky", _spd),
    dtypes=FLOATS, n_outputs=2, vjp=_cholesky_vjp, save="output", tolerances=_TOLERANCES,
    bench=BenchSpec(sizes=((256, 32), (16, 256)), make=lambda s, dev, d: (
        (_tt().tensor(_spd(rng_for("chol_bench"), s[:1] + (s[1], s[1])), dtype=d, device=dev),), {}),
        bytes=lambda s, d: 2 * s[0] * s[1] * s[1] * d.itemsize, flops=lambda s: s[0] * s[1] ** 3 // 3),
    doc="Cholesky factor L of each matrix (from its lower triangle) and LAPACK's info",
    extra={"torch": lambda torch, A: tuple(torch.linalg.cholesky_ex(A)), "grad_input_wrapper": _sym_wrapper}))


# ============================================================================================== lu_factor

def _lu_infer(A):
    _check_matrix("linalg.lu_factor", A, square=False)
    batch = tuple(A.shape[:-2])
    k = min(A.shape[-2], A.shape[-1])
    return Meta((tuple(A.shape), batch + (k,), batch), (A.dtype, _dt.int32, _dt.int32), A.device)


# Columns per panel of the NumPy LU: the panel steps are rank-1 updates of the panel only; the rest of the
# matrix gets one triangular solve and one GEMM per panel.
_NP_LU_PANEL = 32


def _np_lu(a: np.ndarray, panel: int = _NP_LU_PANEL):
    """Blocked right-looking LU with partial pivoting of (B, M, N) `a`, in place; returns (pivots, info)."""
    nb, m, n = a.shape
    k_max = min(m, n)
    piv = np.empty((nb, k_max), np.int32)
    info = np.zeros(nb, np.int32)
    bi = np.arange(nb)
    for j0 in range(0, k_max, panel):
        j1 = min(j0 + panel, k_max)
        for j in range(j0, j1):
            p = j + np.argmax(np.abs(a[:, j:, j]), axis=1)
            piv[:, j] = p + 1
            row = a[bi, j].copy()
            a[bi, j] = a[bi, p]
            a[bi, p] = row
            d = a[:, j, j]
            zero = d == 0
            info[zero & (info == 0)] = j + 1
            a[:, j + 1:, j] /= np.where(zero, 1, d)[:, None]
            a[:, j + 1:, j + 1:j1] -= a[:, j + 1:, j, None] * a[:, j, None, j + 1:j1]
        if j1 < n:
            l11 = np.tril(a[:, j0:j1, j0:j1], -1) + np.eye(j1 - j0, dtype=a.dtype)
            a[:, j0:j1, j1:] = _lapack(np.linalg.solve, "solve", "ff->f", l11, a[:, j0:j1, j1:])
            if j1 < m:
                a[:, j1:, j1:] -= a[:, j1:, j0:j1] @ a[:, j0:j1, j1:]
    return piv, info


def _lu_cpu(meta, A):
    shape, pshape, batch = meta.shape
    a = np.array(A._data, dtype=meta.dtype[0].np, copy=True).reshape((-1,) + shape[-2:])
    piv, info = _np_lu(a)
    return a.reshape(shape), piv.reshape(pshape), info.reshape(batch)


def _lu_cuda(meta, A):
    shape, pshape, batch = meta.shape
    m, n = shape[-2:]
    lu = _dense(A, shape)
    piv = CudaArray.empty(pshape, np.dtype(np.int32))
    info = CudaArray.empty(batch, np.dtype(np.int32))
    nb = _nbatch(batch)
    if nb:
        _lu_kernel[(nb,)](lu, piv, info, m, n, min(m, n), BLOCK_R=_BLOCK_R, BLOCK_C=_BLOCK_C)
    return lu, piv, info


def _lu_ref(A):
    """Unblocked Doolittle with partial pivoting in float64, one matrix at a time."""
    a = np.array(A, np.float64)
    batch = a.shape[:-2]
    m, n = a.shape[-2:]
    a = a.reshape((-1, m, n))
    k = min(m, n)
    piv = np.zeros((a.shape[0], k), np.int32)
    for b in range(a.shape[0]):
        x = a[b]
        for j in range(k):
            p = j + int(np.argmax(np.abs(x[j:, j])))
            piv[b, j] = p + 1
            x[[j, p]] = x[[p, j]]
            if x[j, j] != 0:
                x[j + 1:, j] /= x[j, j]
            x[j + 1:, j + 1:] -= np.outer(x[j + 1:, j], x[j, j + 1:])
    return a.reshape(batch + (m, n)), piv.reshape(batch + (k,)), np.zeros(batch, np.int32)


def _lu_vjp(ctx, gLU, gpiv=None, ginfo=None):
    # A = P L U with L (m x k) unit lower and U (k x n) upper, k = min(m, n). With M = L1^-1 (P^T dA)_1 U1^-1
    # (the leading k x k blocks), dL1 = L1 tril(M, -1) and dU1 = triu(M) U1; the rows of L (tall) or columns of
    # U (wide) past k follow from the rest of P^T dA. Square: gA = P L^-H (tril_-1(L^H gL) + triu(gU U^H)) U^-H.
    if gLU is None:
        return (None,)
    tt = _tt()
    LU, piv, _ = ctx.output
    m, n = LU.shape[-2:]
    k = min(m, n)
    L = LU[..., :, :k].tril(-1) + tt.eye(m, k, dtype=LU.dtype, device=LU.device)
    U = LU[..., :k, :].triu()
    gL = gLU[..., :, :k].tril(-1)
    gU = gLU[..., :k, :].triu()
    if m == n:
        X = (L.mT @ gL).tril(-1) + (gU @ U.mT).triu()
        X = solve_triangular_op(U.mT, X, upper=False, left=False)
        X = solve_triangular_op(L.mT, X, upper=True, unitriangular=True)
    elif m > n:  # tall: L = [L1; L2]
        L1, L2, gL2 = L[..., :k, :], L[..., k:, :], gL[..., k:, :]
        gM = (L1.mT @ gL[..., :k, :]).tril(-1) + (gU @ U.mT).triu() - (L2.mT @ gL2).triu()
        X1 = solve_triangular_op(L1.mT, gM, upper=True, unitriangular=True)
        X = solve_triangular_op(U.mT, tt.cat([X1, gL2], -2), upper=False, left=False)
    else:  # wide: U = [U1 U2]
        U1, U2, gU2 = U[..., :, :k], U[..., :, k:], gU[..., :, k:]
        gM = (L.mT @ gL - gU2 @ U2.mT).tril(-1) + (gU[..., :, :k] @ U1.mT).triu()
        X1 = solve_triangular_op(U1.mT, gM, upper=False, left=False)
        X = solve_triangular_op(L.mT, tt.cat([X1, gU2], -1), upper=True, unitriangular=True)
    return (lu_permute_op(X, piv, inverse=True),)


def _lu_samples(device, dtype):
    yield from _matrix_samples("lu", _well_conditioned)(device, dtype)
    tt = _tt()
    rng = rng_for("lu_rect", dtype.name)
    yield Sample((tt.tensor(rng.uniform(-1, 1, (5, 3)), dtype=dtype, device=device),), name="tall")
    yield Sample((tt.tensor(rng.uniform(-1, 1, (2, 3, 6)), dtype=dtype, device=device),), name="wide")


lu_factor_op = register(OpDef(
    name="linalg_lu_factor_ex", family=FAMILY, infer=_lu_infer, impl={"cpu": _lu_cpu, "cuda": _lu_cuda},
    ref=_lu_ref, samples=_lu_samples, dtypes=FLOATS, n_outputs=3, vjp=_lu_vjp, save="output",
    tolerances=_TOLERANCES,
    bench=BenchSpec(sizes=((256, 32), (16, 256)), make=lambda s, dev, d: (
        (_tt().tensor(_well_conditioned(rng_for("lu_bench"), s[:1] + (s[1], s[1])), dtype=d, device=dev),), {}),
        bytes=lambda s, d: 2 * s[0] * s[1] * s[1] * d.itemsize, flops=lambda s: 2 * s[0] * s[1] ** 3 // 3),
    doc="LU factorisation with partial pivoting (LAPACK's packed LU, 1-based pivots, info)",
    extra={"torch": lambda torch, A: tuple(torch.linalg.lu_factor_ex(A))}))


# ============================================================================================== lu_permute

def _permute_infer(B, pivots, inverse=False):
    if not isinstance(B, Tensor) or not isinstance(pivots, Tensor):
        raise TypeError("linalg_lu_permute(): B and pivots must be Tensors")
    if B.dim() < 2 or pivots.dim() < 1:
        raise RuntimeError("linalg_lu_permute: B must have at least 2 dimensions and pivots at least 1")
    if pivots.dtype is not _dt.int32:
        raise RuntimeError(f"linalg.lu_solve: pivots should be a Tensor of scalar type Int but got {pivots.dtype}")
    if pivots.shape[-1] > B.shape[-2]:
        raise RuntimeError(f"linalg.lu_solve: {pivots.shape[-1]} pivots do not fit {B.shape[-2]} rows")
    batch = _batch_broadcast("linalg.lu_solve", tuple(pivots.shape[:-1]), tuple(B.shape[:-2]))
    return Meta(batch + tuple(B.shape[-2:]), B.dtype, device_of(B, pivots), batch)


def _np_permute(b: np.ndarray, piv: np.ndarray, inverse: bool) -> np.ndarray:
    """b (nb, n, k) permuted in place by 1-based pivots (nb, p)."""
    bi = np.arange(b.shape[0])
    steps = range(piv.shape[1] - 1, -1, -1) if inverse else range(piv.shape[1])
    for s in steps:
        p = piv[:, s] - 1
        row = b[bi, s].copy()
        b[bi, s] = b[bi, p]
        b[bi, p] = row
    return b


def _permute_cpu(meta, B, pivots, inverse=False):
    batch = meta.aux
    b = np.array(np.broadcast_to(B._data, meta.shape), copy=True).reshape((-1,) + meta.shape[-2:])
    piv = np.broadcast_to(pivots._data, batch + (pivots.shape[-1],)).reshape(-1, pivots.shape[-1])
    return _np_permute(b, piv, inverse).reshape(meta.shape)


def _permute_cuda(meta, B, pivots, inverse=False):
    batch = meta.aux
    n, k = meta.shape[-2:]
    out = _dense(B, meta.shape)
    p = pivots.shape[-1]
    piv = _dense(pivots, batch + (p,))
    nb = _nbatch(batch)
    if nb and n and k and p:
        _permute_rows_kernel[(nb, triton.cdiv(k, _BLOCK_C))](out, piv, n, k, p, INVERSE=bool(inverse),
                                                             BLOCK_C=_BLOCK_C)
    return out


def _permute_ref(B, pivots, inverse=False):
    pivots = np.asarray(pivots)
    b = np.array(np.broadcast_to(np.asarray(B, np.float64),
                                 np.broadcast_shapes(pivots.shape[:-1], B.shape[:-2]) + B.shape[-2:]))
    out = b.reshape((-1,) + b.shape[-2:])
    piv = np.broadcast_to(pivots, b.shape[:-2] + pivots.shape[-1:]).reshape(-1, pivots.shape[-1])
    for i in range(out.shape[0]):
        order = range(piv.shape[1] - 1, -1, -1) if inverse else range(piv.shape[1])
        for s in order:
            out[i][[s, piv[i, s] - 1]] = out[i][[piv[i, s] - 1, s]]
    return b


def _permute_vjp(ctx, grad):
    B, pivots = ctx.inputs
    g = lu_permute_op(grad, pivots, inverse=not ctx.kwargs.get("inverse", False))
    return g.sum_to_size(tuple(B.shape)), None


def _permute_samples(device, dtype):
    tt = _tt()
    rng = rng_for("lu_permute", dtype.name)
    for bshape, pshape, label in (((4, 3), (4,), "4x3"), ((2, 5, 2), (2, 5), "batch"), ((5, 2), (3,), "partial"),
                                  ((20, 3), (20,), "20_rows"), ((3, 4, 2), (4,), "broadcast_pivots")):
        n = bshape[-2]
        piv = np.arange(pshape[-1]) + rng.integers(0, n - np.arange(pshape[-1]), size=pshape) + 1
        for inverse in (False, True):
            yield Sample((tt.tensor(rng.uniform(-1, 1, bshape), dtype=dtype, device=device),
                          tt.tensor(piv.astype(np.int32), device=device)), dict(inverse=inverse),
                         name=f"{label}_{'inverse' if inverse else 'forward'}")


lu_permute_op = register(OpDef(
    name="linalg_lu_permute", family=FAMILY, infer=_permute_infer, impl={"cpu": _permute_cpu, "cuda": _permute_cuda},
    ref=_permute_ref, samples=_permute_samples, dtypes=FLOATS, vjp=_permute_vjp, save="inputs",
    bench=BenchSpec(sizes=((256, 32, 4), (16, 256, 16)), make=lambda s, dev, d: (
        (_tt().tensor(rng_for("permute_b").uniform(-1, 1, s), dtype=d, device=dev),
         _tt().tensor(_np_lu(_well_conditioned(rng_for("permute_bench"), (s[0], s[1], s[1])))[0], device=dev)),
        {}), bytes=lambda s, d: 2 * s[0] * s[1] * (s[2] * d.itemsize + 2), flops=lambda s: 0),
    doc="P^T B for LU pivots (their row swaps in order), or P B with inverse=True"))


# ======================================================================================== solve_triangular

def _trsm_infer(A, B, *, upper, left=True, unitriangular=False):
    _check_matrix("linalg.solve_triangular", A)
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg.solve_triangular(): argument 'B' must be Tensor, not {type(B).__name__}")
    if B.dim() < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 dimensions.")
    if B.dtype is not A.dtype:
        raise RuntimeError(f"Expected out tensor to have dtype {A.dtype}, but got {B.dtype} instead")
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(f"linalg.solve_triangular: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({A.shape[-2]}x{n} and "
                           f"{B.shape[-2]}x{B.shape[-1]})")
    batch = _batch_broadcast("linalg.solve_triangular", tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    return Meta(batch + tuple(B.shape[-2:]), A.dtype, device_of(A, B), batch)


def _triangle(a: np.ndarray, upper: bool, unit: bool) -> np.ndarray:
    t = np.triu(a) if upper else np.tril(a)
    if unit:
        n = a.shape[-1]
        t[..., np.arange(n), np.arange(n)] = 1
    return t


def _np_substitute(t: np.ndarray, b: np.ndarray, upper: bool, unit: bool) -> np.ndarray:
    """Row-by-row substitution over the whole batch, reading only t's triangle (small matrices, and singular
    triangles, which give inf/nan as PyTorch's do)."""
    x = np.array(b, copy=True)
    n = t.shape[-1]
    for i in (range(n - 1, -1, -1) if upper else range(n)):
        rest = slice(i + 1, n) if upper else slice(0, i)
        if i != (n - 1 if upper else 0):
            x[..., i, :] -= np.einsum("...j,...jk->...k", t[..., i, rest], x[..., rest, :])
        if not unit:
            x[..., i, :] /= t[..., i, i, None]
    return x


# Rows per block of the NumPy triangular solve: each block is one LAPACK solve of its diagonal block after one
# GEMM with the rows already solved (measured here at 512x512, 4 right-hand sides: 0.9-1.0 ms at 32 or 64, 1.6 at
# 128, 13 ms for one solve of the whole triangle); smaller matrices take the row-by-row substitution.
_NP_TRSM_BLOCK = 32


def _np_blocked_trsm(t, b, upper: bool, unit: bool) -> np.ndarray:
    n = t.shape[-1]
    bs = _NP_TRSM_BLOCK
    x = np.empty(b.shape, np.result_type(t, b))
    starts = list(range(0, n, bs))
    for i0 in (reversed(starts) if upper else starts):
        i1 = min(i0 + bs, n)
        r = b[..., i0:i1, :]
        if upper and i1 < n:
            r = r - t[..., i0:i1, i1:] @ x[..., i1:, :]
        elif not upper and i0:
            r = r - t[..., i0:i1, :i0] @ x[..., :i0, :]
        x[..., i0:i1, :] = _lapack(np.linalg.solve, "solve", "ff->f", _triangle(t[..., i0:i1, i0:i1], upper, unit),
                                   np.ascontiguousarray(r, x.dtype))
    return x


def _trsm_np(a, b, upper, unit):
    """A X = B for triangular A; b already has the broadcast batch shape."""
    if a.shape[-1] <= _NP_TRSM_BLOCK:
        return _np_substitute(a, b, upper, unit)
    try:
        return _np_blocked_trsm(a, b, upper, unit)
    except np.linalg.LinAlgError:  # a singular diagonal block
        return _np_substitute(a, b, upper, unit)


def _trsm_cpu(meta, A, B, *, upper, left=True, unitriangular=False):
    a, b = A._data, B._data
    if left:
        x = _trsm_np(a, np.broadcast_to(b, meta.shape), upper, unitriangular)
    else:  # X A = B  <=>  A^T X^T = B^T
        bt = np.broadcast_to(np.swapaxes(b, -1, -2), meta.aux + (b.shape[-1], b.shape[-2]))
        x = np.swapaxes(_trsm_np(np.swapaxes(a, -1, -2), bt, not upper, unitriangular), -1, -2)
    return np.asarray(x, meta.dtype.np)


def _trsm_cuda(meta, A, B, *, upper, left=True, unitriangular=False):
    batch = meta.aux
    n = A.shape[-1]
    if left:
        a = _dense(A, batch + (n, n))
        x = _dense(B, meta.shape)
        rows, cols = meta.shape[-2:]
    else:  # X A = B  <=>  A^T X^T = B^T: solve in a buffer holding X^T, return its transposed view
        a = _dense(_mT_raw(A), batch + (n, n))
        cols, rows = meta.shape[-2:]
        x = _dense(_mT_raw(B), batch + (rows, cols))
        upper = not upper
    nb = _nbatch(batch)
    if nb and rows and cols:
        _trsm_kernel[(nb, triton.cdiv(cols, _BLOCK_C))](a, x, rows, cols, UPPER=bool(upper),
                                                        UNIT=bool(unitriangular), BLOCK_R=_BLOCK_R,
                                                        BLOCK_C=_BLOCK_C)
    if left:
        return x
    st = list(x.strides)
    st[-1], st[-2] = st[-2], st[-1]
    return x.view_as(meta.shape, tuple(st), x.offset)


def _trsm_ref(A, B, *, upper, left=True, unitriangular=False):
    t = _triangle(np.asarray(A, np.float64), upper, unitriangular)
    b = np.asarray(B, np.float64)
    if left:
        return np.linalg.solve(t, b)
    return np.swapaxes(np.linalg.solve(np.swapaxes(t, -1, -2), np.swapaxes(b, -1, -2)), -1, -2)


def _trsm_vjp(ctx, grad):
    # A X = B: gB = A^-H g, gA = -gB X^H; X A = B: gB = g A^-H, gA = -X^H gB; gA keeps A's triangle only
    A, B = ctx.inputs
    X = ctx.output
    kw = ctx.kwargs
    upper, left, unit = kw["upper"], kw.get("left", True), kw.get("unitriangular", False)
    gB = solve_triangular_op(A.mT, grad, upper=not upper, left=left, unitriangular=unit)
    gA = -(gB @ X.mT) if left else -(X.mT @ gB)
    diag = 1 if unit else 0
    gA = gA.triu(diag) if upper else gA.tril(-diag)
    return gA.sum_to_size(tuple(A.shape)), gB.sum_to_size(tuple(B.shape))


def _trsm_samples(device, dtype):
    tt = _tt()
    rng = rng_for("solve_triangular", dtype.name)
    cases = (((3, 3), (3, 2), "3x3"), ((2, 4, 4), (2, 4, 3), "batch"), ((4, 4), (2, 3, 4, 1), "broadcast_A"),
             ((20, 20), (20, 9), "20x20"), ((1, 1), (1, 3), "1x1"))
    for ashape, bshape, label in cases:
        for upper in (False, True):
            for left in (True, False):
                unit = label == "3x3" and upper
                a = _well_conditioned(rng, ashape)
                bs = bshape if left else bshape[:-2] + (bshape[-1], bshape[-2])
                yield Sample((tt.tensor(a, dtype=dtype, device=device),
                              tt.tensor(rng.uniform(-1, 1, bs), dtype=dtype, device=device)),
                             dict(upper=upper, left=left, unitriangular=unit),
                             name=f"{label}_{'upper' if upper else 'lower'}_{'left' if left else 'right'}")
    a = tt.tensor(_well_conditioned(rng, (5, 5)), dtype=dtype, device=device)
    b = tt.tensor(rng.uniform(-1, 1, (3, 5)), dtype=dtype, device=device)
    yield Sample((a.mT, b.mT), dict(upper=True), name="transposed")


solve_triangular_op = register(OpDef(
    name="linalg_solve_triangular", family=FAMILY, infer=_trsm_infer, impl={"cpu": _trsm_cpu, "cuda": _trsm_cuda},
    ref=_trsm_ref, samples=_trsm_samples, dtypes=FLOATS, vjp=_trsm_vjp, save="both", tolerances=_TOLERANCES,
    bench=BenchSpec(sizes=((256, 32, 32), (16, 256, 256)), make=lambda s, dev, d: (
        (_tt().tensor(_well_conditioned(rng_for("trsm_bench"), (s[0], s[1], s[1])), dtype=d, device=dev),
         _tt().tensor(rng_for("trsm_b").uniform(-1, 1, (s[0], s[1], s[2])), dtype=d, device=dev)),
        dict(upper=False)),
        bytes=lambda s, d: s[0] * (s[1] * s[1] // 2 + 2 * s[1] * s[2]) * d.itemsize,
        flops=lambda s: s[0] * s[1] * s[1] * s[2]),
    doc="A X = B (or X A = B with left=False) for triangular A",
    extra={"torch": lambda torch, A, B, **kw: torch.linalg.solve_triangular(A, B, **kw)}))


# ================================================================================================== solve

def _solve_infer(A, B):
    _check_matrix("linalg.solve", A)
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg.solve(): argument 'B' must be Tensor, not {type(B).__name__}")
    if B.dtype is not A.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{_type_name(A.dtype)} and B of type {_type_name(B.dtype)} instead")
    if B.dim() < 2 or B.shape[-2] != A.shape[-1]:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({A.shape[-2]}x{A.shape[-1]} and {'x'.join(str(s) for s in B.shape[-2:])})")
    batch = _batch_broadcast("linalg.solve", tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    # (info describes A's own matrices, as PyTorch's does)
    return Meta((batch + tuple(B.shape[-2:]), tuple(A.shape[:-2])), (A.dtype, _dt.int32), device_of(A, B))


def _solve_cpu(meta, A, B):
    (shape, abatch), dt = meta.shape, meta.dtype[0].np
    batch = shape[:-2]
    n = A.shape[-1]
    a = np.broadcast_to(A._data, batch + (n, n))
    b = np.broadcast_to(B._data, shape)
    try:
        return _lapack(np.linalg.solve, "solve", "ff->f", a, b).astype(dt, copy=False), np.zeros(abatch, np.int32)
    except np.linalg.LinAlgError:  # a singular matrix: LU gives each one's info, the others are solved
        lu = np.array(A._data, dtype=dt).reshape(-1, n, n)
        info = _np_lu(lu)[1].reshape(abatch)
        singular = np.broadcast_to(info, batch) != 0
        x = np.full(shape, np.nan, dt)
        for i in np.ndindex(*batch):
            if not singular[i]:
                x[i] = np.linalg.solve(a[i], b[i])
        return x, info


def _solve_cuda(meta, A, B):
    (shape, abatch) = meta.shape
    batch = shape[:-2]
    n = A.shape[-1]
    k = shape[-1]
    lu = _dense(A, abatch + (n, n))   # one factorisation per matrix of A, broadcast afterwards
    piv = CudaArray.empty(abatch + (n,), np.dtype(np.int32))
    info = CudaArray.empty(abatch, np.dtype(np.int32))
    x = _dense(B, shape)
    nb = _nbatch(batch)
    if _nbatch(abatch):
        _lu_kernel[(_nbatch(abatch),)](lu, piv, info, n, n, n, BLOCK_R=_BLOCK_R, BLOCK_C=_BLOCK_C)
    if nb and n and k:
        if abatch != batch:
            lu = _dense(_make(lu, A.dtype, A.device), batch + (n, n))
            piv = _dense(_make(piv, _dt.int32, A.device), batch + (n,))
        grid = (nb, triton.cdiv(k, _BLOCK_C))
        _permute_rows_kernel[grid](x, piv, n, k, n, INVERSE=False, BLOCK_C=_BLOCK_C)
        _trsm_kernel[grid](lu, x, n, k, UPPER=False, UNIT=True, BLOCK_R=_BLOCK_R, BLOCK_C=_BLOCK_C)
        _trsm_kernel[grid](lu, x, n, k, UPPER=True, UNIT=False, BLOCK_R=_BLOCK_R, BLOCK_C=_BLOCK_C)
    return x, info


def _solve_ref(A, B):
    a, b = np.asarray(A, np.float64), np.asarray(B, np.float64)
    return np.linalg.solve(a, b), np.zeros(a.shape[:-2], np.int32)


def _solve_vjp(ctx, grad, ginfo=None):
    # X = A^-1 B: gB = A^-H g, gA = -gB X^H (reduced to the inputs' batch shapes)
    if grad is None:
        return None, None
    A, B = ctx.inputs
    X, _ = ctx.output
    gB = solve_ex_op(A.mT, grad)[0]
    gA = -(gB @ X.mT)
    return gA.sum_to_size(tuple(A.shape)), gB.sum_to_size(tuple(B.shape))


def _solve_samples(device, dtype):
    tt = _tt()
    rng = rng_for("solve", dtype.name)
    for ashape, bshape, label in (((3, 3), (3, 2), "3x3"), ((2, 4, 4), (2, 4, 1), "batch"),
                                  ((4, 4), (3, 4, 2), "broadcast_A"), ((2, 1, 3, 3), (5, 3, 2), "broadcast_both"),
                                  ((20, 20), (20, 3), "20x20"), ((1, 1), (1, 1), "1x1"),
                                  ((0, 2, 2), (0, 2, 1), "empty")):
        yield Sample((tt.tensor(_well_conditioned(rng, ashape), dtype=dtype, device=device),
                      tt.tensor(rng.uniform(-1, 1, bshape), dtype=dtype, device=device)), name=label)
    a = tt.tensor(_well_conditioned(rng, (5, 5)), dtype=dtype, device=device)
    yield Sample((a.mT, tt.tensor(rng.uniform(-1, 1, (2, 5)), dtype=dtype, device=device).mT), name="transposed")


solve_ex_op = register(OpDef(
    name="linalg_solve_ex", family=FAMILY, infer=_solve_infer, impl={"cpu": _solve_cpu, "cuda": _solve_cuda},
    ref=_solve_ref, samples=_solve_samples, dtypes=FLOATS, n_outputs=2, vjp=_solve_vjp, save="both",
    tolerances=_TOLERANCES,
    bench=BenchSpec(sizes=((256, 32, 1), (16, 256, 16)), make=lambda s, dev, d: (
        (_tt().tensor(_well_conditioned(rng_for("solve_bench"), (s[0], s[1], s[1])), dtype=d, device=dev),
         _tt().tensor(rng_for("solve_b").uniform(-1, 1, (s[0], s[1], s[2])), dtype=d, device=dev)), {}),
        bytes=lambda s, d: s[0] * (2 * s[1] * s[1] + 2 * s[1] * s[2]) * d.itemsize,
        flops=lambda s: s[0] * (2 * s[1] ** 3 // 3 + 2 * s[1] * s[1] * s[2])),
    doc="X with A X = B (LU with partial pivoting), and LAPACK's info",
    extra={"torch": lambda torch, A, B: tuple(torch.linalg.solve_ex(A, B))}))


# ========================================================================================== slogdet and det

def _det_infer(name, n_out):
    def infer(A):
        _check_matrix(name, A)
        batch = tuple(A.shape[:-2])
        if n_out == 1:
            return Meta(batch, A.dtype, A.device)
        return Meta((batch, batch), (A.dtype, A.dtype), A.device)
    return infer


def _slogdet_cpu(meta, A):
    sign, logabs = _lapack(np.linalg.slogdet, "slogdet", "f->ff", A._data, raises=False)
    dt = meta.dtype[0].np
    return np.asarray(sign, dt), np.asarray(logabs, dt)


def _det_cpu(meta, A):
    return np.asarray(_lapack(np.linalg.det, "det", "f->f", A._data, raises=False), meta.dtype.np)


def _det_cuda(log: bool):
    def cuda(meta, A):
        batch = tuple(A.shape[:-2])
        n = A.shape[-1]
        dt = A.dtype.np
        lu = _dense(A, batch + (n, n))
        piv = CudaArray.empty(batch + (n,), np.dtype(np.int32))
        info = CudaArray.empty(batch, np.dtype(np.int32))
        out = CudaArray.empty(batch, dt)
        sign = CudaArray.empty(batch, dt) if log else out
        nb = _nbatch(batch)
        if nb:
            _lu_kernel[(nb,)](lu, piv, info, n, n, n, BLOCK_R=_BLOCK_R, BLOCK_C=_BLOCK_C)
            _lu_det_kernel[(nb,)](lu, piv, sign, out, n, LOG=log, BLOCK=_BLOCK_R)
        return (sign, out) if log else out
    return cuda


def _inv_mT(A: Tensor) -> Tensor:
    """A^-T as solve(A^T, I): the common factor of slogdet's and det's gradients."""
    tt = _tt()
    n = A.shape[-1]
    eye = tt.eye(n, dtype=A.dtype, device=A.device)
    return solve_ex_op(A.mT, eye.expand(tuple(A.shape)))[0]


def _slogdet_vjp(ctx, gsign, glogabs):
    # d log|det A| = tr(A^-1 dA): gA = glogabs A^-T; the sign is piecewise constant
    if glogabs is None:
        return (None,)
    A = ctx.inputs[0]
    return (_inv_mT(A) * glogabs[..., None, None],)


def _det_vjp(ctx, grad):
    A = ctx.inputs[0]
    return (_inv_mT(A) * (grad * ctx.output)[..., None, None],)


slogdet_op = register(OpDef(
    name="linalg_slogdet", family=FAMILY, infer=_det_infer("linalg.slogdet", 2),
    impl={"cpu": _slogdet_cpu, "cuda": _det_cuda(True)}, ref=lambda A: np.linalg.slogdet(np.asarray(A, np.float64)),
    samples=_matrix_samples("det", _well_conditioned), dtypes=FLOATS, n_outputs=2, vjp=_slogdet_vjp, save="inputs",
    tolerances=_TOLERANCES,
    bench=BenchSpec(sizes=((256, 32), (16, 256)), make=lambda s, dev, d: (
        (_tt().tensor(_well_conditioned(rng_for("det_bench"), (s[0], s[1], s[1])), dtype=d, device=dev),), {}),
        bytes=lambda s, d: s[0] * s[1] * s[1] * d.itemsize, flops=lambda s: 2 * s[0] * s[1] ** 3 // 3),
    doc="sign and log|det| of each matrix (through LU)",
    extra={"torch": lambda torch, A: tuple(torch.linalg.slogdet(A))}))

det_op = register(OpDef(
    name="linalg_det", family=FAMILY, infer=_det_infer("linalg.det", 1),
    impl={"cpu": _det_cpu, "cuda": _det_cuda(False)}, ref=lambda A: np.linalg.det(np.asarray(A, np.float64)),
    samples=_matrix_samples("det", _well_conditioned), dtypes=FLOATS, vjp=_det_vjp, save="both", tolerances=_TOLERANCES,
    bench=BenchSpec(sizes=((256, 32), (16, 256)), make=lambda s, dev, d: (
        (_tt().tensor(_well_conditioned(rng_for("det_bench"), (s[0], s[1], s[1])), dtype=d, device=dev),), {}),
        bytes=lambda s, d: s[0] * s[1] * s[1] * d.itemsize, flops=lambda s: 2 * s[0] * s[1] ** 3 // 3),
    doc="determinant of each matrix (product of LU's pivots)",
    extra={"torch": lambda torch, A: torch.linalg.det(A)}))
