"""The deprecated top-level forms of torch.linalg functions that older training code still calls: torch.lu,
lu_solve, triangular_solve, matrix_power, nuclear_norm, frobenius_norm (and the Tensor methods lu, triangular_solve,
matrix_power). Each is a composite of linalg_solve's functions and the factorisation ops, with PyTorch's argument
order, results and messages; gradients come from those ops.
"""
from __future__ import annotations

from collections import namedtuple

from ..tensor import Tensor
from . import _bind
from .linalg_factor import _batch_broadcast, lu_factor_op, solve_triangular_op
from .linalg_solve import _out, lu_solve as _linalg_lu_solve
from .registry import write_out as _write_out

__all__ = ["lu", "lu_solve", "triangular_solve", "matrix_power", "nuclear_norm", "frobenius_norm"]

lu_with_info_result = namedtuple("_lu_with_info", ["LU", "pivots", "info"])
triangular_solve_result = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])


def lu(A: Tensor, pivot: bool = True, get_infos: bool = False, out=None):
    """(LU, pivots), or (LU, pivots, infos) with get_infos: linalg.lu_factor_ex's packed LU. As PyTorch's, it
    does not raise on a singular matrix (info names the first zero pivot)."""
    if not isinstance(A, Tensor):
        raise TypeError(f"lu(): argument 'A' must be Tensor, not {type(A).__name__}")
    if A.dim() < 2:
        raise RuntimeError(f"torch.lu_factor: Expected tensor with 2 or more dimensions. Got size: {list(A.shape)} "
                           "instead")
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    LU, pivots, info = lu_factor_op(A)
    return _out(lu_with_info_result(LU, pivots, info) if get_infos else (LU, pivots), out)


def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor, *, out=None) -> Tensor:
    """X with A X = b from torch.lu's (LU_data, LU_pivots); b is (..., n, k)."""
    if b.dim() < 2:
        raise RuntimeError("linalg.lu_solve: The input tensor B must have at least 2 dimensions.")
    r = _linalg_lu_solve(LU_data, LU_pivots, b)
    return r if out is None else _write_out(out, r)


def triangular_solve(b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False, *, out=None):
    """(X, A's copy) with op(A) X = b, op(A) = A or A^T, reading A's upper (or lower) triangle. Batch dims
    broadcast, and the copy of A has the broadcast batch shape, as PyTorch's cloned_coefficient has."""
    if b.dim() < 2:
        raise RuntimeError(f"torch.triangular_solve: Expected b to have at least 2 dimensions, but it has {b.dim()} "
                           "dimensions instead")
    if A.dim() < 2:
        raise RuntimeError(f"torch.triangular_solve: Expected A to have at least 2 dimensions, but it has {A.dim()} "
                           "dimensions instead")
    if b.dtype is not A.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {_name(b)} and A of type "
                           f"{_name(A)} instead.")
    n = A.shape[-1]
    if A.shape[-2] != n or b.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for triangular_solve: each A matrix is {A.shape[-2]} by {n} "
                           f"but each b matrix is {b.shape[-2]} by {b.shape[-1]}")
    batch = _batch_broadcast("torch.triangular_solve", tuple(A.shape[:-2]), tuple(b.shape[:-2]))
    A = A.expand(*batch, n, n)
    X = solve_triangular_op(A.mT if transpose else A, b, upper=upper != transpose, unitriangular=unitriangular)
    return _out(triangular_solve_result(X, A.clone()), out)


def _name(t: Tensor) -> str:
    from .registry import _type_name
    return _type_name(t.dtype)


def matrix_power(input: Tensor, n: int, *, out=None) -> Tensor:
    from ..linalg import matrix_power as f
    return f(input, n, out=out)


def nuclear_norm(input: Tensor, dim=None, keepdim: bool = False, *, out=None) -> Tensor:
    """The sum of singular values over two dims (the last two by default); nuclear_norm(x, True) is keepdim."""
    from ..linalg import matrix_norm
    if isinstance(dim, bool):  # the nuclear_norm(input, keepdim) overload
        dim, keepdim = None, dim
    return matrix_norm(input, "nuc", (-2, -1) if dim is None else tuple(dim), keepdim, out=out)


def frobenius_norm(input: Tensor, dim, keepdim: bool = False, *, out=None) -> Tensor:
    """The 2-norm over at most two dims (every element when dim is empty)."""
    from ..linalg import vector_norm
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) > 2:
        raise RuntimeError(f"Expected at most 2 dimensions, but got {len(dims)} dimensions instead.")
    return vector_norm(input, 2, dims if dims else None, keepdim, out=out)


_bind.methods(lu=lu, triangular_solve=triangular_solve, matrix_power=matrix_power)
