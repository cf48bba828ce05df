"""Wishart (torch.distributions.Wishart): the law of X X^T for df Gaussian columns X of covariance S, over
positive-definite p x p matrices. Sampled by Bartlett's decomposition (L A A^T L^T, A lower triangular with
sqrt(chi2(df - i)) on its diagonal and standard normals below), reparameterised through the chi2 draws."""
from __future__ import annotations

import math
import numbers
import warnings

from . import constraints
from .distribution import _tt
from .exp_family import ExponentialFamily
from .univariate import Chi2

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _mvdigamma(x, p: int):
    """The multivariate digamma: sum_i digamma(x - i/2), i < p (needs x > (p - 1) / 2)."""
    tt = _tt()
    if not bool((x > (p - 1) / 2).all()):
        raise AssertionError("Wrong domain for multivariate digamma function.")
    return tt.digamma(x.unsqueeze(-1) - tt.arange(p, dtype=x.dtype, device=x.device) / 2).sum(-1)


class Wishart(ExponentialFamily):
    """Wishart(df, covariance_matrix=None, precision_matrix=None, scale_tril=None): exactly one matrix; df > p - 1
    (broadcast with the matrix's batch shape)."""

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky, "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        tt = _tt()
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        param = next(p for p in (covariance_matrix, precision_matrix, scale_tril) if p is not None)
        if param.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if isinstance(df, numbers.Number):
            batch_shape = tuple(param.shape[:-2])
            self.df = tt.tensor(float(df), dtype=param.dtype, device=param.device)
        else:
            batch_shape = tuple(tt.broadcast_shapes(tuple(param.shape[:-2]), tuple(df.shape)))
            self.df = df.expand(batch_shape)
        p = param.shape[-1]
        if bool((self.df <= p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        matrix = param.expand(batch_shape + (p, p))
        name = ("scale_tril" if scale_tril is not None else
                "covariance_matrix" if covariance_matrix is not None else "precision_matrix")
        self.__dict__[name] = matrix
        if bool((self.df < p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < "
                          "ndim.", stacklevel=2)
        super().__init__(batch_shape, (p, p), validate_args=validate_args)
        constraint = self.arg_constraints[name]
        self._check(name, matrix, constraint.check(matrix), repr(constraint))
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = tt.linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = tt.linalg.cholesky(tt.linalg.inv(precision_matrix))
        self._set_chi2()

    def _set_chi2(self):
        tt = _tt()
        L = self._unbroadcasted_scale_tril
        p = self._event_shape[-1]
        self._dist_chi2 = Chi2(self.df.unsqueeze(-1) - tt.arange(p, dtype=L.dtype, device=L.device),
                               validate_args=False)

    def expand(self, batch_shape, _instance=None):
        batch_shape = tuple(batch_shape)
        new = type(self).__new__(type(self))
        shape = batch_shape + self._event_shape
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(shape)
        new.df = self.df.expand(batch_shape)
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name].expand(shape)
        super(Wishart, new).__init__(batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        new._set_chi2()
        return new

    def __getattr__(self, name):
        # the matrices not given are computed on first use (PyTorch's lazy properties)
        shape = self.__dict__["_batch_shape"] + self.__dict__["_event_shape"]
        L = self.__dict__["_unbroadcasted_scale_tril"]
        if name == "scale_tril":
            return L.expand(shape)
        if name == "covariance_matrix":
            return (L @ L.mT).expand(shape)
        if name == "precision_matrix":
            return _tt().cholesky_inverse(L).expand(shape)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    @property
    def mean(self):
        return self.df.reshape(self._batch_shape + (1, 1)) * self.covariance_matrix

    @property
    def mode(self):
        factor = self.df - self._event_shape[-1] - 1
        factor = _tt().where(factor <= 0, math.nan, factor)
        return factor.reshape(self._batch_shape + (1, 1)) * self.covariance_matrix

    @property
    def variance(self):
        V = self.covariance_matrix
        diag = V.diagonal(dim1=-2, dim2=-1)
        return self.df.reshape(self._batch_shape + (1, 1)) * (V.pow(2) + diag.unsqueeze(-1) * diag.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape=()):
        tt = _tt()
        p = self._event_shape[-1]
        eps = tt.finfo(self.df.dtype).eps
        diag = self._dist_chi2.rsample(sample_shape).sqrt().clamp(min=eps).diag_embed()
        below = tt.randn(tuple(sample_shape) + self._batch_shape + (p, p), dtype=diag.dtype,
                         device=diag.device).tril(-1)
        chol = self._unbroadcasted_scale_tril @ (diag + below)
        return chol @ chol.mT

    def rsample(self, sample_shape=(), max_try_correction=None):
        """Bartlett samples; a draw that is numerically singular (possible for df < p) is redrawn up to
        max_try_correction (default 10) times."""
        tt = _tt()
        max_try_correction = 10 if max_try_correction is None else max_try_correction
        sample = self._bartlett_sampling(sample_shape)
        singular = ~self.support.check(sample)
        if bool(singular.any()):
            warnings.warn("Singular sample detected.", stacklevel=2)
            for _ in range(max_try_correction):
                sample = tt.where(singular[..., None, None], self._bartlett_sampling(sample_shape), sample)
                singular = ~self.support.check(sample)
                if not bool(singular.any()):
                    break
        return sample

    def log_prob(self, value):
        tt = _tt()
        nu, p = self.df, self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        half_log_det = L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        trace = tt.cholesky_solve(value, L).diagonal(dim1=-2, dim2=-1).sum(-1)
        return (-nu * (p * _LOG_2 / 2 + half_log_det) - tt.mvlgamma(nu / 2, p=p)
                + (nu - p - 1) / 2 * tt.linalg.slogdet(value)[1] - trace / 2)

    def entropy(self):
        tt = _tt()
        nu, p = self.df, self._event_shape[-1]
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return ((p + 1) * (p * _LOG_2 / 2 + half_log_det) + tt.mvlgamma(nu / 2, p=p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p=p) + nu * p / 2)

    @property
    def _natural_params(self):
        return -self.precision_matrix / 2, (self.df - self._event_shape[-1] - 1) / 2

    def _log_normalizer(self, x, y):
        tt = _tt()
        p = self._event_shape[-1]
        return ((y + (p + 1) / 2) * (-tt.linalg.slogdet(-2 * x)[1] + _LOG_2 * p)
                + tt.mvlgamma(y + (p + 1) / 2, p=p))

    def __repr__(self) -> str:
        return f"Wishart(df: {self.df.size()})"
