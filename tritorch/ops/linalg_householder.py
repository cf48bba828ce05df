"""Householder QR in LAPACK's compact form: geqrf (an op with a Triton kernel and a LAPACK fallback), and the
composites that use its reflectors: linalg.householder_product (torch.orgqr) and ormqr.

  geqrf(A) -> (a, tau)   A = Q R with Q = H_1 ... H_k, H_i = I - tau_i v_i v_i^T, k = min(m, n); a holds R on and
                         above the diagonal and v_i below it (v_i's leading 1 implicit), as LAPACK's ?geqrf does.
                         LAPACK's reflector convention (?larfg): beta = -sign(alpha) ||x||, tau = (beta - alpha) /
                         beta, v = x / (alpha - beta); a column already zero below the diagonal gets tau = 0.
  householder_product(A, tau)   the first n columns of H_1 ... H_k (A is m x n, m >= n >= k)
  ormqr(A, tau, C, left, transpose)   Q C, Q^T C, C Q or C Q^T with the full m x m Q, without forming it

geqrf has no derivative (PyTorch's neither). householder_product and ormqr apply the reflectors one at a time with
matmul, so their gradients (in A's strictly lower triangle, tau and C) come from autograd and differentiate again.
The kernel: one Triton program per matrix on a contiguous copy in global memory, per column the norm of the part
below the diagonal (in BLOCK_R tiles), the reflector, then w = v^T A_trailing and A_trailing -= tau v w in
BLOCK_R x BLOCK_C tiles, with a barrier between the phases (as ops/linalg_factor.py's LU). The norm is the plain
sum of squares: columns of magnitude above sqrt(max float) overflow there, where LAPACK rescales.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import triton
import triton.language as tl

from ..backends.cuda import CudaArray
from ..tensor import Tensor
from . import _bind
from .linalg_factor import _BLOCK_C, _BLOCK_R, _TOLERANCES, FLOATS, _check_matrix, _dense, _nbatch
from .registry import BenchSpec, Meta, OpDef, Sample, _type_name, register
from .samples import rng_for
from .registry import write_out as _write_out

FAMILY = "linalg_householder"

geqrf_result = namedtuple("geqrf", ["a", "tau"])

__all__ = ["geqrf", "orgqr", "ormqr"]


def _tt():
    import tritorch
    return tritorch


# ============================================================================================== Triton kernel

@triton.jit
def _geqrf_kernel(a_ptr, tau_ptr, M, N, K, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    # a_ptr:   (batch, M, N) contiguous; overwritten by R (on and above the diagonal) and the reflectors below it
    # tau_ptr: (batch, K) out: the reflectors' scalar factors
    # M, N, K: rows, columns, K = min(M, N) reflectors
    # Bytes: ~K reads of the trailing block's column plus two reads and one write of the trailing block (from L2),
    # one read and write of the matrix.
    pid = tl.program_id(0).to(tl.int64)
    a = a_ptr + pid * M * N
    rr = tl.arange(0, BLOCK_R)
    cc = tl.arange(0, BLOCK_C)
    for j in range(0, K):
        ss = tl.zeros([BLOCK_R], a_ptr.dtype.element_ty)
        for r0 in range(j + 1, M, BLOCK_R):
            rows = r0 + rr
            x = tl.load(a + rows * N + j, mask=rows < M, other=0.0)
            ss += x * x
        ss_all = tl.sum(ss, 0)
        alpha = tl.load(a + j * N + j)
        nonzero = ss_all != 0
        h = tl.sqrt(alpha * alpha + ss_all)
        beta = tl.where(alpha >= 0, -h, h)
        safe_beta = tl.where(nonzero, beta, 1.0)
        tau = tl.where(nonzero, (beta - alpha) / safe_beta, 0.0)
        scale = 1.0 / tl.where(nonzero, alpha - beta, 1.0)
        for r0 in range(j + 1, M, BLOCK_R):
            rows = r0 + rr
            rm = rows < M
            tl.store(a + rows * N + j, tl.load(a + rows * N + j, mask=rm) * scale, mask=rm)
        tl.store(a + j * N + j, tl.where(nonzero, beta, alpha))
        tl.store(tau_ptr + pid * K + j, tau)
        tl.debug_barrier()
        for c0 in range(j + 1, N, BLOCK_C):   # H_j applied to the trailing columns: A -= tau v (v^T A)
            reflect_tile(a, N, a, N, j, M, tau, c0 + cc, c0 + cc < N, rr, BLOCK_R)
        tl.debug_barrier()


@triton.jit
def reflect_tile(t, T_STRIDE, v_base, V_STRIDE, j, M, tau, cols, cm, rr, BLOCK_R: tl.constexpr):
    # H_j = I - tau v v^T applied in place to rows j..M-1 of one column tile of a row-major matrix
    # t, T_STRIDE:      the matrix changed and its row stride
    # v_base, V_STRIDE: the matrix whose column j holds v_j below row j (v_j[j] = 1 is implicit), its row stride
    # j, M, tau:        the reflector's row, the rows, its scalar factor
    # cols, cm:         the tile's column indices and their in-bounds mask; rr: arange(BLOCK_R)
    # Bytes: reads the tile's rows j.. twice (w = v^T T, then T -= tau v w) and v twice, writes the tile once.
    w = tl.load(t + j * T_STRIDE + cols, mask=cm, other=0.0)
    for r0 in range(j + 1, M, BLOCK_R):
        rows = r0 + rr
        rm = rows < M
        v = tl.load(v_base + rows * V_STRIDE + j, mask=rm, other=0.0)
        x = tl.load(t + rows[:, None] * T_STRIDE + cols[None, :], mask=rm[:, None] & cm[None, :], other=0.0)
        w += tl.sum(v[:, None] * x, 0)
    w = w * tau
    tl.store(t + j * T_STRIDE + cols, tl.load(t + j * T_STRIDE + cols, mask=cm) - w, mask=cm)
    for r0 in range(j + 1, M, BLOCK_R):
        rows = r0 + rr
        rm = rows < M
        v = tl.load(v_base + rows * V_STRIDE + j, mask=rm, other=0.0)
        m2 = rm[:, None] & cm[None, :]
        p = t + rows[:, None] * T_STRIDE + cols[None, :]
        tl.store(p, tl.load(p, mask=m2) - v[:, None] * w[None, :], mask=m2)


# ================================================================================================== geqrf

def _geqrf_infer(A):
    if isinstance(A, Tensor) and A.dim() < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    _check_matrix("geqrf", A, arg="input", square=False)
    batch = tuple(A.shape[:-2])
    k = min(A.shape[-2], A.shape[-1])
    return Meta((tuple(A.shape), batch + (k,)), (A.dtype, A.dtype), A.device)


def _geqrf_cpu(meta, A):
    """LAPACK's ?geqrf through NumPy's qr(mode='raw'), which returns the factor transposed (Fortran order);
    float32 runs in float64 there and is rounded back."""
    shape, tshape = meta.shape
    dtype = meta.dtype[0].np
    if 0 in shape:
        return np.zeros(shape, dtype), np.zeros(tshape, dtype)
    h, tau = np.linalg.qr(np.asarray(A._data, np.float64), mode="raw")
    return np.ascontiguousarray(np.swapaxes(h, -1, -2).astype(dtype)), tau.astype(dtype)


def _geqrf_cuda(meta, A):
    shape, tshape = meta.shape
    m, n = shape[-2:]
    a = _dense(A, shape)
    tau = CudaArray.empty(tshape, np.dtype(meta.dtype[1].np))
    nb = _nbatch(shape[:-2])
    if nb and m and n:
        _geqrf_kernel[(nb,)](a, tau, m, n, min(m, n), BLOCK_R=_BLOCK_R, BLOCK_C=_BLOCK_C)
    return a, tau


def _geqrf_ref(A):
    """Unblocked Householder QR in float64, LAPACK's reflector convention, one matrix at a time."""
    a = np.array(A, np.float64)
    batch, (m, n) = a.shape[:-2], a.shape[-2:]
    k = min(m, n)
    a = a.reshape((int(np.prod(batch)), m, n))
    tau = np.zeros((a.shape[0], k))
    for b in range(a.shape[0]):
        x = a[b]
        for j in range(k):
            xnorm = np.linalg.norm(x[j + 1:, j])
            if xnorm == 0:
                continue
            alpha = x[j, j]
            beta = -np.copysign(np.hypot(alpha, xnorm), alpha)
            tau[b, j] = (beta - alpha) / beta
            x[j + 1:, j] /= alpha - beta
            x[j, j] = beta
            v = np.concatenate([[1.0], x[j + 1:, j]])
            x[j:, j + 1:] -= tau[b, j] * np.outer(v, v @ x[j:, j + 1:])
    return a.reshape(batch + (m, n)), tau.reshape(batch + (k,))


def _geqrf_samples(device, dtype):
    tt = _tt()
    rng = rng_for("geqrf", dtype.name)
    for shape, label in (((1, 1), "1x1"), ((4, 4), "4x4"), ((20, 11), "tall_20x11"), ((3, 7), "wide"),
                         ((2, 5, 3), "batch"), ((0, 3, 3), "empty_batch"), ((0, 3), "no_rows")):
        yield Sample((tt.tensor(rng.uniform(-1, 1, shape), dtype=dtype, device=device),), name=label)
    a = rng.uniform(-1, 1, (5, 4))
    a[1:, 0] = 0.0   # a column already reduced: tau = 0
    a[:, 2] *= -1
    yield Sample((tt.tensor(a, dtype=dtype, device=device),), name="reduced_column")
    yield Sample((tt.tensor(rng.uniform(-1, 1, (6, 6)), dtype=dtype, device=device).mT,), name="transposed")


geqrf_op = register(OpDef(
    name="geqrf", family=FAMILY, infer=_geqrf_infer, impl={"cpu": _geqrf_cpu, "cuda": _geqrf_cuda},
    ref=_geqrf_ref, samples=_geqrf_samples, dtypes=FLOATS, n_outputs=2, differentiable=False,
    tolerances=_TOLERANCES,
    bench=BenchSpec(sizes=((256, 32), (16, 256)), make=lambda s, dev, d: (
        (_tt().tensor(rng_for("geqrf_bench").uniform(-1, 1, (s[0], s[1], s[1])), dtype=d, device=dev),), {}),
        bytes=lambda s, d: 2 * s[0] * s[1] * s[1] * d.itemsize, flops=lambda s: 4 * s[0] * s[1] ** 3 // 3),
    doc="Householder QR in LAPACK's compact form (R and the reflectors in one matrix, and their tau)",
    extra={"torch": lambda torch, A: tuple(torch.geqrf(A))}))


def _no_derivative(result: Tensor, input: Tensor) -> Tensor:
    """result, in the graph of input: backward raises PyTorch's error (geqrf has no derivative there either)."""
    from ..autograd.function import Function

    class _Raise(Function):
        @staticmethod
        def forward(ctx, t, source):
            return t.clone()

        @staticmethod
        def backward(ctx, g):
            raise NotImplementedError("the derivative for 'geqrf' is not implemented.")
    return _Raise.apply(result, input)


def geqrf(input: Tensor, *, out=None):
    """(a, tau): the Householder QR of input as LAPACK's geqrf returns it (see the module's docstring)."""
    a, tau = geqrf_op(input)
    if input.requires_grad and _tt().is_grad_enabled():
        a, tau = _no_derivative(a, input), _no_derivative(tau, input)
    result = geqrf_result(a, tau)
    if out is None:
        return result
    out[0].copy_(a)
    out[1].copy_(tau)
    return out


# ====================================================================================== reflector products

def _reflectors(A: Tensor, k: int) -> Tensor:
    """The m x k matrix whose column i is v_i: A's strictly lower part with a unit diagonal."""
    m = A.shape[-2]
    return A[..., :, :k].tril(-1) + _tt().eye(m, k, dtype=A.dtype, device=A.device)


def _check_batch(name: str, A: Tensor, other: Tensor, what: str) -> None:
    if tuple(other.shape[:-1 if what == "tau" else -2]) != tuple(A.shape[:-2]):
        got = list(other.shape[:-1 if what == "tau" else -2])
        raise RuntimeError(f"{name}: Expected batch dimensions of {what} to be equal to input.shape[:-2], but got "
                           f"{got}")


def householder_product(A: Tensor, tau: Tensor, *, out=None) -> Tensor:
    """The first n columns of H_1 ... H_k for the reflectors in A's strictly lower triangle (m x n, m >= n) and
    tau (k <= n): torch.linalg.householder_product, torch.orgqr."""
    name = "torch.linalg.householder_product"
    if A.dim() < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    m, n = A.shape[-2:]
    if m < n:
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    k = tau.shape[-1] if tau.dim() else 1
    if n < k:
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if A.dim() - tau.dim() != 1:
        raise RuntimeError(f"{name}: Expected tau to have one dimension less than input, but got tau.ndim equal to "
                           f"{tau.dim()} and input.ndim is equal to {A.dim()}")
    _check_batch(name, A, tau, "tau")
    if tau.dtype is not A.dtype:
        raise RuntimeError(f"{name}: tau dtype {_type_name(tau.dtype)} does not match input dtype "
                           f"{_type_name(A.dtype)}")
    _check_matrix(name, A, arg="input", square=False)
    tt = _tt()
    Q = tt.eye(m, n, dtype=A.dtype, device=A.device).expand(*A.shape)
    V = _reflectors(A, k)
    for i in reversed(range(k)):   # Q = H_i Q, from the last reflector to the first
        v = V[..., :, i:i + 1]
        Q = Q - (v * tau[..., i:i + 1].unsqueeze(-1)) @ (v.mT @ Q)
    return Q if out is None else _write_out(out, Q)


def orgqr(input: Tensor, tau: Tensor) -> Tensor:
    return householder_product(input, tau)


def ormqr(input: Tensor, tau: Tensor, other: Tensor, left: bool = True, transpose: bool = False, *,
          out=None) -> Tensor:
    """op(Q) other (left) or other op(Q), op(Q) = Q or Q^T, for Q = H_1 ... H_k (m x m) from geqrf's (input, tau),
    applying one reflector at a time."""
    name = "torch.ormqr"
    if input.dim() < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    if other.dim() < 2:
        raise RuntimeError(f"{name}: other must have at least 2 dimensions.")
    side = -2 if left else -1
    if other.shape[side] != input.shape[-2]:
        raise RuntimeError(f"{name}: other.shape[{side}] must be equal to input.shape[-2]")
    k = tau.shape[-1] if tau.dim() else 1
    if k != min(other.shape[side], input.shape[-1]):
        raise RuntimeError(f"{name}: tau.shape[-1] must be equal to min(other.shape[{side}], input.shape[-1])")
    if input.dim() - tau.dim() != 1:
        raise RuntimeError(f"{name}: Expected tau to have one dimension less than input, but got tau.ndim equal to "
                           f"{tau.dim()} and input.ndim is equal to {input.dim()}")
    if input.dim() != other.dim():
        raise RuntimeError(f"{name}: Expected other to have the same number of dimensions as input, but got "
                           f"other.ndim equal to {other.dim()} and input.ndim is equal to {input.dim()}")
    _check_batch(name, input, tau, "tau")
    _check_batch(name, input, other, "other")
    for arg, t in (("tau", tau), ("other", other)):
        if t.dtype is not input.dtype:
            raise RuntimeError(f"{name}: Expected input and {arg} to have the same dtype, but input has dtype"
                               f"{_type_name(input.dtype)} and {arg} has dtype {_type_name(t.dtype)}")
    _check_matrix("ormqr", input, arg="input", square=False)
    V = _reflectors(input, k)
    C = other
    # Q = H_1 ... H_k: Q C applies H_k first, Q^T C H_1 first; C Q applies H_1 first, C Q^T H_k first
    order = range(k) if left == transpose else reversed(range(k))
    for i in order:
        v = V[..., :, i:i + 1]
        t = tau[..., i:i + 1].unsqueeze(-1)
        C = C - (v * t) @ (v.mT @ C) if left else C - ((C @ v) * t) @ v.mT
    return C if out is None else _write_out(out, C)


_bind.methods(geqrf=geqrf, orgqr=orgqr, ormqr=ormqr)
