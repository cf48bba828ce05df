"""torch.return_types: the named tuples that ops returning several tensors give back (values/indices pairs,
factorizations). Each is defined next to its op; this module names them as PyTorch does, for isinstance checks
and annotations."""
from __future__ import annotations

from .ops.composite import _aminmax as aminmax, _kthvalue as kthvalue, _mode as mode
from .ops.composite_numeric import _histogram as histogram, _nanmedian as nanmedian
from .ops.float_bits import frexp_result as frexp
from .ops.histogramdd import histogramdd_result as histogramdd
from .ops.linalg_householder import geqrf_result as geqrf
from .ops.linalg_ldl import ldl_factor_ex_result as linalg_ldl_factor_ex, ldl_factor_result as linalg_ldl_factor
from .ops.linalg_legacy import triangular_solve_result as triangular_solve
from .ops.linalg_solve import (cholesky_ex_result as linalg_cholesky_ex, eigh_result as linalg_eigh,
                               inv_ex_result as linalg_inv_ex, lstsq_result as linalg_lstsq, lu_result as linalg_lu,
                               lu_factor_ex_result as linalg_lu_factor_ex, lu_factor_result as linalg_lu_factor,
                               qr_result as qr, slogdet_result as slogdet, solve_ex_result as linalg_solve_ex,
                               svd_result as linalg_svd, torch_svd_result as svd)
from .ops import reduce as _reduce
from .ops.reduce import return_types as _reduce_types
from .ops.sort import sort_result as sort, topk_result as topk

max = _reduce_types.max  # noqa: A001
min = _reduce_types.min  # noqa: A001
median = _reduce_types.median
cummax = _reduce_types.cummax
cummin = _reduce_types.cummin
lu_unpack = linalg_lu        # (P, L, U), as linalg.lu's
linalg_qr = qr
linalg_slogdet = slogdet


def _repr(self) -> str:
    return _reduce.return_type_repr(type(self).__name__, zip(self._fields, self))


for _t in (aminmax, frexp, geqrf, histogram, histogramdd, kthvalue, linalg_cholesky_ex, linalg_eigh, linalg_inv_ex,
           linalg_ldl_factor, linalg_ldl_factor_ex, linalg_lstsq, linalg_lu, linalg_lu_factor, linalg_lu_factor_ex,
           linalg_solve_ex, linalg_svd, mode, nanmedian, qr, slogdet, sort, svd, topk, triangular_solve):
    if hasattr(_t, "_fields"):   # (the plain named tuples: reduce's own types print this way already)
        _t.__repr__ = _repr
        _t.__module__ = "tritorch.return_types"

all_return_types = [aminmax, cummax, cummin, frexp, geqrf, histogram, histogramdd, kthvalue, linalg_cholesky_ex,
                    linalg_eigh, linalg_inv_ex, linalg_ldl_factor, linalg_ldl_factor_ex, linalg_lstsq, linalg_lu,
                    linalg_lu_factor, linalg_lu_factor_ex, linalg_solve_ex, linalg_svd, max, median, min, mode,
                    nanmedian, qr, slogdet, sort, svd, topk, triangular_solve]

__all__ = ["all_return_types", "aminmax", "cummax", "cummin", "frexp", "geqrf", "histogram", "histogramdd",
           "kthvalue", "linalg_cholesky_ex", "linalg_eigh", "linalg_inv_ex", "linalg_ldl_factor",
           "linalg_ldl_factor_ex", "linalg_lstsq", "linalg_lu", "linalg_lu_factor", "linalg_lu_factor_ex",
           "linalg_qr", "linalg_slogdet", "linalg_solve_ex", "linalg_svd", "lu_unpack", "max", "median", "min", "mode",
           "nanmedian", "qr", "slogdet", "sort", "svd", "topk", "triangular_solve"]
