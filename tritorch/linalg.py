"""tritorch.linalg: torch.linalg's norms, products, factorisations and solves (both devices, autograd).

Norms and products, composed from registered ops here: vector_norm, matrix_norm (Frobenius, 1, -1, inf, -inf),
norm, vecdot, cross, matmul, multi_dot, matrix_power, diagonal. Factorisations and solves (ops/linalg_factor.py
holds their kernels, ops/linalg_solve.py these functions): cholesky(_ex), lu_factor(_ex), lu, lu_solve, solve(_ex),
solve_triangular, inv(_ex), det, slogdet, svd, svdvals, eigh, eigvalsh, qr, pinv, matrix_rank, lstsq, cond,
matrix_exp, vander, tensorinv, tensorsolve, householder_product (ops/linalg_householder.py),
ldl_factor(_ex), ldl_solve (ops/linalg_ldl.py),
LinAlgError. Not provided: the general (non-symmetric) eigendecomposition eig/eigvals, whose results are
complex (tritorch has no complex dtypes).
"""
from __future__ import annotations

import math

from . import dtypes as _dt
from .ops.registry import _type_name
from .tensor import Tensor
from .ops.linalg_householder import householder_product  # noqa: F401
from .ops.linalg_ldl import ldl_factor, ldl_factor_ex, ldl_solve  # noqa: F401

from .ops.linalg_solve import _raise_if, _singular_inverse  # noqa: E402
from .ops.linalg_solve import (LinAlgError, cholesky, cholesky_ex, cond, det, eigh, eigvalsh, inv,  # noqa: F401
                               inv_ex, lstsq, lu, lu_factor, lu_factor_ex, lu_solve, matrix_exp, matrix_rank, pinv, qr,
                               slogdet, solve, solve_ex, solve_triangular, svd, svdvals)
from .ops.registry import write_out as _write_out

__all__ = ["vector_norm", "matrix_norm", "norm", "vecdot", "cross", "matmul", "multi_dot", "matrix_power",
           "diagonal", "LinAlgError", "cholesky", "cholesky_ex", "det", "inv", "inv_ex", "lu", "lu_factor",
           "lu_factor_ex", "lu_solve", "slogdet", "solve", "solve_ex", "solve_triangular", "cond", "eigh",
           "eigvalsh", "lstsq", "matrix_exp", "matrix_rank", "pinv", "qr", "svd", "svdvals", "vander", "tensorinv",
           "tensorsolve", "householder_product", "ldl_factor", "ldl_factor_ex", "ldl_solve"]


def _tt():
    import tritorch
    return tritorch


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """The ord-norm of x over dim (every element when dim is None): ord a number, inf, -inf or 0."""
    tt = _tt()
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    if dtype is not None:
        x = x.to(dtype)
    if dim is None and not keepdim:
        x, dim = x.reshape(-1), 0
    r = tt.norm(x, ord, dim, keepdim)
    return r if out is None else _write_out(out, r)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """The matrix norm over the two dims: 'fro', or the induced 1, -1, inf, -inf norms (column / row sums)."""
    if A.dim() < 2:
        raise RuntimeError(f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if dtype is not None:
        A = A.to(dtype)
    d0, d1 = (d % A.dim() for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        r = _tt().norm(A, 2, (d0, d1), keepdim)
    elif ord in ("nuc", 2, -2):
        S = svdvals(A.movedim((d0, d1), (-2, -1)))
        r = S.sum(-1) if ord == "nuc" else (S.amax(-1) if ord == 2 else S.amin(-1))
        if keepdim:
            r = r.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
    elif ord in (1, -1, math.inf, -math.inf):
        summed, reduced = (d0, d1) if ord in (1, -1) else (d1, d0)   # column sums for 1, row sums for inf
        sums = A.abs().sum(summed, keepdim=True)
        r = sums.amax(reduced, keepdim=True) if ord > 0 else sums.amin(reduced, keepdim=True)
        if not keepdim:
            r = r.squeeze(max(d0, d1)).squeeze(min(d0, d1))
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    return r if out is None else _write_out(out, r)


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """torch.linalg.norm: a vector norm (1-d, or dim an int) or a matrix norm (2-d, or dim a pair)."""
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims[0], keepdim, dtype=dtype, out=out)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype, out=out)
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dims)}")
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype, out=out)
    if A.dim() == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype, out=out)
    if A.dim() == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype, out=out)
    raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                       f"{A.dim()}D.")


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """Dot products of x and y along dim (broadcast)."""
    r = (x * y).sum(dim)
    return r if out is None else _write_out(out, r)


def cross(input: Tensor, other: Tensor, *, dim: int = -1, out=None) -> Tensor:
    return _tt().cross(input, other, dim=dim, out=out)


def matmul(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    return _tt().matmul(input, other, out=out)


def multi_dot(tensors, *, out=None) -> Tensor:
    """The product of a chain of matrices (first and last may be vectors), left to right."""
    tensors = list(tensors)
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    # PyTorch's checks, before any product: a batch dim is refused (it was broadcast by matmul)
    for i, t in enumerate(tensors):
        if i in (0, n - 1):
            if t.dim() not in (1, 2):
                raise RuntimeError(f"multi_dot(): the {'first' if i == 0 else 'last'} tensor must be 1D or 2D but got "
                                   f"{t.dim()}D")
        elif t.dim() != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.dim()}D")
    for i in range(n - 1):
        a, b = tensors[i], tensors[i + 1]
        if a.shape[-1] != b.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {list(a.shape)} and "
                               f"{list(b.shape)} cannot be multiplied")
    r = tensors[0]
    for t in tensors[1:]:
        r = r @ t
    return r if out is None else _write_out(out, r)


def matrix_power(A: Tensor, n: int, *, out=None) -> Tensor:
    """A^n by repeated squaring (A^0 is the identity; a negative n powers the inverse)."""
    tt = _tt()
    if A.dim() < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                           f"{A.shape[-2] if A.dim() >= 2 else 1} by {A.shape[-1]} matrices")
    if n < 0:
        A, n = inv(A), -n
    result = None
    if n == 0:
        result = tt.eye(A.shape[-1], dtype=A.dtype, device=A.device).expand(*A.shape)
        if A.requires_grad and tt.is_grad_enabled():  # PyTorch's identity is in the graph, with a zero gradient
            result = tt.where(tt.ones_like(result, dtype=_dt.bool_), result, A)
    base = A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result if out is None else _write_out(out, result)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    return A.diagonal(offset, dim1, dim2)


def vander(x: Tensor, N=None) -> Tensor:
    """The Vandermonde matrices of the last dim of x: column j holds x^j, j = 0 .. N-1 (N defaults to x's last
    size). As PyTorch's: a cumulative product (so integer inputs give int64) after a column of ones."""
    tt = _tt()
    if x.dtype.kind == _dt.BOOL:
        raise RuntimeError(f"linalg.vander supports floating point, complex, and integer tensors, but got "
                           f"{_type_name(x.dtype)}")
    if x.dim() < 1:
        raise RuntimeError("N must be greater than 1.")
    n = x.shape[-1] if N is None else int(N)
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    powers = x.unsqueeze(-1).expand(*x.shape, n - 1).cumprod(-1)
    return tt.cat([tt.ones_like(powers[..., :1]), powers], -1)


def _prod(sizes) -> int:
    return math.prod(int(s) for s in sizes)


def tensorinv(A: Tensor, ind: int = 2, *, out=None) -> Tensor:
    """The inverse of A for tensordot(., ., ind): A reshaped to a (prod(shape[:ind]), prod(shape[ind:])) square
    matrix, inverted, and reshaped to shape[ind:] + shape[:ind]."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = _prod(A.shape[:ind]), _prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    X, info = inv_ex(A.reshape(rows, cols))
    _raise_if(info, "inv", _singular_inverse)
    r = X.reshape(*A.shape[ind:], *A.shape[:ind])
    return r if out is None else _write_out(out, r)


def tensorsolve(A: Tensor, B: Tensor, dims=None, *, out=None) -> Tensor:
    """X with tensordot(A, X, X.ndim) = B: A's dims listed in `dims` move to the end first; then A reshaped to a
    (B.numel(), rest) square matrix solves B flattened, and X takes A's trailing shape."""
    if dims is not None:
        dims = [d % A.dim() for d in ((dims,) if isinstance(dims, int) else dims)]
        A = A.movedim(dims, list(range(A.dim() - len(dims), A.dim())))
    rows, cols = _prod(A.shape[:B.dim()]), _prod(A.shape[B.dim():])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {cols} != {rows}")
    r = solve(A.reshape(rows, cols), B.reshape(rows)).reshape(*A.shape[B.dim():])
    return r if out is None else _write_out(out, r)
