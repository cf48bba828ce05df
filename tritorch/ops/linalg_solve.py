"""torch.linalg's factorisations and solves as users call them, composed from the ops of linalg_factor.py and
linalg_spectral.py.

cholesky(_ex), lu_factor(_ex), lu, lu_solve, lu_unpack, solve(_ex), solve_triangular, inv(_ex), det, slogdet,
logdet, cholesky_solve, cholesky_inverse; svd, svdvals, torch.svd, eigh, eigvalsh, qr (ops/linalg_qr.py), pinv,
matrix_rank, lstsq, cond. The `_ex` forms return LAPACK's info without looking at it; the others read it (a host
sync on cuda, as PyTorch's do) and raise LinAlgError with PyTorch's message.
"""
from __future__ import annotations

from collections import namedtuple

from .. import dtypes as _dt
from ..tensor import Tensor
from . import _bind
from .linalg_qr import qr_op
from .linalg_spectral import complete_basis_op, eigh_op, svd_op
from .linalg_factor import (LinAlgError, _check_matrix, cholesky_op, det_op, lu_factor_op, lu_permute_op,
                            slogdet_op, solve_ex_op, solve_triangular_op)
from .registry import write_out as _write_out

__all__ = ["cholesky", "cholesky_ex", "lu_factor", "lu_factor_ex", "lu", "lu_solve", "lu_unpack", "solve",
           "solve_ex", "solve_triangular", "inv", "inv_ex", "det", "slogdet", "logdet", "cholesky_solve",
           "cholesky_inverse", "LinAlgError", "svd", "svdvals", "eigh", "eigvalsh", "qr", "pinv", "matrix_rank",
           "lstsq", "cond", "matrix_exp"]

cholesky_ex_result = namedtuple("cholesky_ex", ["L", "info"])
lu_factor_result = namedtuple("lu_factor", ["LU", "pivots"])
lu_factor_ex_result = namedtuple("lu_factor_ex", ["LU", "pivots", "info"])
lu_result = namedtuple("lu", ["P", "L", "U"])
solve_ex_result = namedtuple("solve_ex", ["result", "info"])
inv_ex_result = namedtuple("inv_ex", ["inverse", "info"])
slogdet_result = namedtuple("slogdet", ["sign", "logabsdet"])
svd_result = namedtuple("svd", ["U", "S", "Vh"])
torch_svd_result = namedtuple("svd", ["U", "S", "V"])
eigh_result = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
qr_result = namedtuple("qr", ["Q", "R"])
lstsq_result = namedtuple("lstsq", ["solution", "residuals", "rank", "singular_values"])


def _tt():
    import tritorch
    return tritorch


def _first_error(info: Tensor):
    """(flat batch index, info value) of the first nonzero info, or None (reads info on the host)."""
    flat = info.reshape(-1).cpu().numpy()
    bad = flat.nonzero()[0]
    return None if bad.size == 0 else (int(bad[0]), int(flat[bad[0]]))


def _raise_if(info: Tensor, name: str, message) -> None:
    err = _first_error(info)
    if err is not None:
        where = f"(Batch element {err[0]}): " if info.dim() else ""
        raise LinAlgError(f"{name}: {where}{message(err[1])}")


def _out(result, out):
    if out is None:
        return result
    if isinstance(result, tuple):
        for o, r in zip(out, result):
            _write_out(o, r)
        return out
    return _write_out(out, result)


def _eye_like(A: Tensor, shape=None) -> Tensor:
    n = A.shape[-1]
    return _tt().eye(n, dtype=A.dtype, device=A.device).expand(*(shape or tuple(A.shape)))


# ================================================================================================ Cholesky

def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False, out=None):
    """(L, info): A = L L^H from A's lower triangle (U^H U with upper=True); info > 0 names the first leading
    minor that is not positive-definite."""
    L, info = cholesky_op(A)
    if check_errors:
        _raise_if(info, "linalg.cholesky_ex", _not_pd)
    return _out(cholesky_ex_result(L.mH if upper else L, info), out)


def _not_pd(order: int) -> str:
    return (f"The factorization could not be completed because the input is not positive-definite (the leading "
            f"minor of order {order} is not positive-definite).")


def cholesky(A: Tensor, *, upper: bool = False, out=None) -> Tensor:
    L, info = cholesky_op(A)
    _raise_if(info, "linalg.cholesky", _not_pd)
    return _out(L.mH if upper else L, out)


def torch_cholesky(input: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """torch.cholesky (which PyTorch deprecates for torch.linalg.cholesky): upper is positional there."""
    return cholesky(input, upper=upper, out=out)


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """X with A X = B for A = L L^H (or U^H U with upper=True), given the Cholesky factor. Only the factor's
    triangle is read, and its gradient is that triangle's (PyTorch's also fills the other triangle, as if the
    whole factor entered A)."""
    if upper:
        Y = solve_triangular_op(L.mH, B, upper=False)
        return _out(solve_triangular_op(L, Y, upper=True), out)
    Y = solve_triangular_op(L, B, upper=False)
    return _out(solve_triangular_op(L.mH, Y, upper=True), out)


def cholesky_inverse(L: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """A^-1 for A = L L^H (or U^H U) from its Cholesky factor."""
    return _out(cholesky_solve(_eye_like(L), L, upper), out)


# ===================================================================================================== LU

def _check_pivot(name: str, pivot: bool) -> None:
    if not pivot:
        raise RuntimeError(f"{name}: LU without pivoting is not implemented on the CPU")  # PyTorch's cpu message


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False, out=None):
    _check_pivot("linalg.lu_factor_ex", pivot)
    LU, pivots, info = lu_factor_op(A)
    if check_errors:
        _raise_if(info, "linalg.lu_factor_ex", lambda i: f"U[{i},{i}] is zero and using it on lu_solve would "
                  "result in a division by zero.")
    return _out(lu_factor_ex_result(LU, pivots, info), out)


def lu_factor(A: Tensor, *, pivot: bool = True, out=None):
    """(LU, pivots) of P A = L U, packed as LAPACK's getrf packs them (pivots 1-based, int32)."""
    _check_pivot("linalg.lu_factor", pivot)
    LU, pivots, info = lu_factor_op(A)
    _raise_if(info, "torch.linalg.lu_factor", lambda i: f"U[{i},{i}] is zero and using it on lu_solve would result "
              "in a division by zero. If you still want to perform the factorization, consider calling "
              "linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")
    return _out(lu_factor_result(LU, pivots), out)


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True, unpack_pivots: bool = True, *,
              out=None):
    """(P, L, U) from lu_factor's packed form: A = P L U."""
    tt = _tt()
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    P = L = U = None
    if unpack_data:
        L = LU_data[..., :, :k].tril(-1) + tt.eye(m, k, dtype=LU_data.dtype, device=LU_data.device)
        U = LU_data[..., :k, :].triu()
    if unpack_pivots:
        eye = tt.eye(m, dtype=LU_data.dtype, device=LU_data.device)
        P = lu_permute_op(eye.expand(*LU_pivots.shape[:-1], m, m), LU_pivots, inverse=True)
    empty = tt.empty(0, dtype=LU_data.dtype, device=LU_data.device)
    return _out(lu_result(P if P is not None else empty, L if L is not None else empty,
                          U if U is not None else empty), out)


def lu(A: Tensor, *, pivot: bool = True, out=None):
    """(P, L, U) with A = P L U."""
    _check_pivot("linalg.lu", pivot)
    LU, pivots, _ = lu_factor_op(A)
    return _out(lu_unpack(LU, pivots), out)


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False, out=None) -> Tensor:
    """X with A X = B (A^H X = B with adjoint; X A = B with left=False) from lu_factor's (LU, pivots)."""
    if not left:  # X A = B  <=>  A^H X^H = B^H
        return _out(lu_solve(LU, pivots, B.mH, adjoint=not adjoint).mH, out)
    if not adjoint:  # A = P L U: X = U^-1 L^-1 P^T B
        Y = solve_triangular_op(LU, lu_permute_op(B, pivots), upper=False, unitriangular=True)
        return _out(solve_triangular_op(LU, Y, upper=True), out)
    # A^H = U^H L^H P^T: X = P L^-H U^-H B
    Y = solve_triangular_op(LU.mH, B, upper=False)
    Y = solve_triangular_op(LU.mH, Y, upper=True, unitriangular=True)
    return _out(lu_permute_op(Y, pivots, inverse=True), out)


# ================================================================================================= solves

def _is_vector_rhs(A: Tensor, B: Tensor) -> bool:
    """PyTorch's rule: B is a (batch of) vector(s) when it is 1-D or has A's shape without its last dim."""
    return B.dim() == 1 or (B.dim() == A.dim() - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False, out=None):
    """(X, info): A X = B (X A = B with left=False), B a matrix or (batch of) vector(s)."""
    if not isinstance(A, Tensor) or not isinstance(B, Tensor):
        raise TypeError("linalg.solve(): A and B must be Tensors")
    vector = _is_vector_rhs(A, B)
    if not left:
        if vector:
            raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not supported for "
                               "left=False. In this case linalg.solve is equivalent to B / A.squeeze(-1)")
        X, info = solve_ex_op(A.mT, B.mT)
        X = X.mT
    elif vector:
        X, info = solve_ex_op(A, B.unsqueeze(-1))
        X = X.squeeze(-1)
    else:
        X, info = solve_ex_op(A, B)
    if check_errors:
        _raise_if(info, "linalg.solve_ex", lambda i: "The solver failed because the input matrix is singular.")
    return _out(solve_ex_result(X, info), out)


def solve(A: Tensor, B: Tensor, *, left: bool = True, out=None) -> Tensor:
    X, info = solve_ex(A, B, left=left)
    _raise_if(info, "torch.linalg.solve", lambda i: "The solver failed because the input matrix is singular.")
    return _out(X, out)


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False,
                     out=None) -> Tensor:
    return _out(solve_triangular_op(A, B, upper=upper, left=left, unitriangular=unitriangular), out)


def inv_ex(A: Tensor, *, check_errors: bool = False, out=None):
    _check_matrix("linalg.inv", A)
    X, info = solve_ex_op(A, _eye_like(A))
    if check_errors:
        _raise_if(info, "linalg.inv_ex", _singular_inverse)
    return _out(inv_ex_result(X, info), out)


def _singular_inverse(i: int) -> str:
    return (f"The diagonal element {i} is zero, the inversion could not be completed because the input matrix is "
            "singular.")


def inv(A: Tensor, *, out=None) -> Tensor:
    X, info = inv_ex(A)
    _raise_if(info, "linalg.inv", _singular_inverse)
    return _out(X, out)


# ========================================================================================= determinants

def det(A: Tensor, *, out=None) -> Tensor:
    return _out(det_op(A), out)


def slogdet(A: Tensor, *, out=None):
    """(sign, log|det|); sign is 0 and log|det| -inf for a singular matrix."""
    return _out(slogdet_result(*slogdet_op(A)), out)


def logdet(A: Tensor) -> Tensor:
    """log(det A): nan where the determinant is negative, -inf where it is zero."""
    sign, logabs = slogdet_op(A)
    return _tt().where(sign < 0, float("nan"), logabs)


# ============================================================================================ SVD and eigh

class _NoDerivative:
    """Identity forward; backward raises (the completed columns of a non-square full SVD are arbitrary)."""

    @staticmethod
    def apply(x: Tensor) -> Tensor:
        from ..autograd.function import Function

        class _Raise(Function):
            @staticmethod
            def forward(ctx, t):
                return t.clone()

            @staticmethod
            def backward(ctx, g):
                raise RuntimeError("linalg.svd: The derivative of linalg.svd is not implemented when "
                                   "full_matrices=True and the input is not square: the completed columns of U or "
                                   "V are arbitrary. Use full_matrices=False.")
        return _Raise.apply(x)


def svd(A: Tensor, full_matrices: bool = True, *, driver=None, out=None):
    """(U, S, Vh) with A = U diag(S) Vh, S descending. U's columns are signed so that each one's first
    largest-magnitude entry is positive (the SVD fixes them only up to sign; this makes cpu and cuda agree).
    full_matrices=True completes U (tall A) or Vh (wide A) to a square orthonormal basis, with no derivative
    through the added columns, as in PyTorch."""
    U, S, Vh = svd_op(A)
    m, n = A.shape[-2:]
    if full_matrices and m != n:
        tt = _tt()
        needs = A.requires_grad and tt.is_grad_enabled()
        if m > n:
            full = complete_basis_op(U.detach())
            U = tt.cat([U, full[..., :, n:]], -1)
            U = _NoDerivative.apply(U) if needs else U
        else:
            full = complete_basis_op(Vh.mT.detach())
            Vh = tt.cat([Vh, full[..., :, m:].mT], -2)
            Vh = _NoDerivative.apply(Vh) if needs else Vh
    return _out(svd_result(U, S, Vh), out)


def svdvals(A: Tensor, *, driver=None, out=None) -> Tensor:
    return _out(svd_op(A)[1], out)


def torch_svd(input: Tensor, some: bool = True, compute_uv: bool = True, *, out=None):
    """torch.svd (deprecated in PyTorch for torch.linalg.svd): returns V, not Vh; with compute_uv=False, U and V
    are zeros."""
    tt = _tt()
    if not compute_uv:
        m, n = input.shape[-2:]
        S = svd_op(input)[1]
        k = min(m, n)
        zu = tt.zeros(*input.shape[:-2], m, k if some else m, dtype=input.dtype, device=input.device)
        zv = tt.zeros(*input.shape[:-2], n, k if some else n, dtype=input.dtype, device=input.device)
        return _out(torch_svd_result(zu, S, zv), out)
    U, S, Vh = svd(input, full_matrices=not some)
    return _out(torch_svd_result(U, S, Vh.mT), out)


def eigh(A: Tensor, UPLO: str = "L", *, out=None):
    """(eigenvalues ascending, eigenvectors as columns) of the symmetric matrix A's UPLO triangle describes;
    each eigenvector's first largest-magnitude entry is positive."""
    return _out(eigh_result(*eigh_op(A, UPLO)), out)


def eigvalsh(A: Tensor, UPLO: str = "L", *, out=None) -> Tensor:
    return _out(eigh_op(A, UPLO)[0], out)


def qr(A: Tensor, mode: str = "reduced", *, out=None):
    """(Q, R) with A = Q R: Householder QR with LAPACK's signs, as PyTorch's (ops/linalg_qr.py). mode: 'reduced',
    'complete' (Q square) or 'r' (Q empty)."""
    return _out(qr_result(*qr_op(A, mode=mode)), out)


def torch_qr(input: Tensor, some: bool = True, *, out=None):
    """torch.qr (deprecated in PyTorch for torch.linalg.qr)."""
    return qr(input, "reduced" if some else "complete", out=out)


def torch_pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """torch.pinverse: pinv with a relative cutoff."""
    return pinv(input, rtol=rcond)


def _cutoff(S: Tensor, shape, atol, rtol):
    """PyTorch's rank threshold: max(atol, rtol * largest singular value), rtol defaulting to eps * max(m, n)."""
    tt = _tt()
    eps = 1.1920928955078125e-07 if S.dtype is _dt.float32 else 2.220446049250313e-16
    if rtol is None:
        rtol = 0.0 if atol is not None and (not isinstance(atol, (int, float)) or atol > 0) else eps * max(shape)
    smax = S.amax(-1, keepdim=True) if S.shape[-1] else tt.zeros(*S.shape[:-1], 1, dtype=S.dtype, device=S.device)
    cut = smax * rtol
    if atol is not None:
        cut = tt.maximum(cut, atol if isinstance(atol, Tensor) else tt.full_like(cut, float(atol)))
    return cut


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False, out=None) -> Tensor:
    """The Moore-Penrose pseudo-inverse from the SVD: singular values at or below PyTorch's cutoff count as
    zero."""
    tt = _tt()
    U, S, Vh = svd_op(A)
    keep = S > _cutoff(S, A.shape[-2:], atol, rtol)
    Sinv = tt.where(keep, 1 / tt.where(keep, S, tt.ones_like(S)), tt.zeros_like(S))
    return _out((Vh.mT * Sinv.unsqueeze(-2)) @ U.mT, out)


def matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False, out=None) -> Tensor:
    S = svd_op(A)[1]
    return _out((S > _cutoff(S, A.shape[-2:], atol, rtol)).sum(-1), out)


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None, out=None):
    """The minimum-norm least-squares solution of A X = B (through pinv), with PyTorch's cpu default driver's
    ('gelsy') outputs: residuals and singular values empty, the rank computed with rcond."""
    tt = _tt()
    vector = B.dim() == A.dim() - 1
    Bm = B.unsqueeze(-1) if vector else B
    X = pinv(A, rtol=rcond) @ Bm
    X = X.squeeze(-1) if vector else X
    empty = tt.empty(0, dtype=A.dtype, device=A.device)
    rank = matrix_rank(A, rtol=rcond)
    return _out(lstsq_result(X, empty, rank, empty), out)


def cond(A: Tensor, p=None, *, out=None) -> Tensor:
    """The condition number: S_max / S_min for p None, 2 or -2 (inverted); norm(A, p) norm(inv(A), p) else."""
    if p in (None, 2, -2):
        S = svd_op(A)[1]
        r = S[..., 0] / S[..., -1]
        return _out(r if p != -2 else 1 / r, out)
    from ..linalg import matrix_norm
    return _out(matrix_norm(A, p) * matrix_norm(inv(A), p), out)


# ========================================================================================== matrix_exp

# Higham's degree-13 Pade approximant of exp (its coefficients b_0..b_13), accurate to double precision for
# matrices whose 1-norm is at most THETA_13; larger ones are scaled by 2^-s and squared s times.
_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
           10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA_13 = 5.371920351148152


def matrix_exp(A: Tensor) -> Tensor:
    """exp(A) of square matrices by scaling and squaring with Higham's degree-13 Pade approximant, composed from
    matmul and the general solve (both devices, differentiable). The scaling reads the largest 1-norm of the
    batch on the host."""
    import math
    _check_matrix("linalg.matrix_exp", A)
    tt = _tt()
    n = A.shape[-1]
    if A.numel() == 0:
        return A.clone()
    norm = float(A.detach().abs().sum(-2).amax())
    s = max(0, math.ceil(math.log2(norm / _THETA_13))) if norm > _THETA_13 else 0
    X = A / 2 ** s if s else A
    b = _PADE13
    eye = tt.eye(n, dtype=A.dtype, device=A.device)
    X2 = X @ X
    X4 = X2 @ X2
    X6 = X4 @ X2
    U = X @ (X6 @ (b[13] * X6 + b[11] * X4 + b[9] * X2) + b[7] * X6 + b[5] * X4 + b[3] * X2 + b[1] * eye)
    V = X6 @ (b[12] * X6 + b[10] * X4 + b[8] * X2) + b[6] * X6 + b[4] * X4 + b[2] * X2 + b[0] * eye
    R = solve_ex_op(V - U, V + U)[0]
    for _ in range(s):
        R = R @ R
    return R


_bind.methods(matrix_exp=matrix_exp, cholesky=torch_cholesky, inverse=inv, det=det,
              logdet=logdet, slogdet=slogdet,
              cholesky_solve=lambda self, L, upper=False: cholesky_solve(self, L, upper),
              cholesky_inverse=lambda self, upper=False: cholesky_inverse(self, upper),
              lu_solve=lambda self, LU, pivots: lu_solve(LU, pivots, self), svd=torch_svd, pinverse=torch_pinverse,
              qr=torch_qr)
