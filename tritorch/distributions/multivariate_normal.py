"""MultivariateNormal (torch.distributions.MultivariateNormal) on the linalg ops: the covariance's Cholesky factor
L (from covariance_matrix, precision_matrix or scale_tril itself) carries everything: samples loc + L eps,
log_prob through one triangular solve, entropy and the KL from L's diagonal."""
from __future__ import annotations

import math

from . import constraints
from .distribution import Distribution, _tt

__all__ = ["MultivariateNormal"]


def _batch_mahalanobis(L, diff):
    """||L^-1 diff||^2 over the last dim, L (..., n, n) lower triangular and diff (..., n), broadcast."""
    tt = _tt()
    shape = tt.broadcast_shapes(tuple(L.shape[:-2]), tuple(diff.shape[:-1]))
    n = L.shape[-1]
    Lb = L.expand(shape + (n, n))
    y = tt.linalg.solve_triangular(Lb, diff.expand(shape + (n,)).unsqueeze(-1), upper=False)
    return y.squeeze(-1).pow(2).sum(-1)


def _half_log_det(L):
    return L.diagonal(dim1=-2, dim2=-1).log().sum(-1)


class MultivariateNormal(Distribution):
    """MultivariateNormal(loc, covariance_matrix=None, precision_matrix=None, scale_tril=None): exactly one of the
    three matrices; batch shapes of loc and the matrix broadcast."""

    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        tt = _tt()
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        given = next(m for m in (scale_tril, covariance_matrix, precision_matrix) if m is not None)
        name = ("scale_tril" if scale_tril is not None else
                "covariance_matrix" if covariance_matrix is not None else "precision_matrix")
        if given.dim() < 2:
            raise ValueError(f"{name} matrix must be at least two-dimensional, with optional leading batch "
                             f"dimensions")
        batch = tt.broadcast_shapes(tuple(given.shape[:-2]), tuple(loc.shape[:-1]))
        n = loc.shape[-1]
        super().__init__(batch, (n,), validate_args=validate_args)
        matrix = given.expand(batch + (n, n))
        self.loc = loc.expand(batch + (n,))
        if scale_tril is not None:
            self.scale_tril = matrix
            self._unbroadcasted_scale_tril = scale_tril
            diag = scale_tril.diagonal(dim1=-2, dim2=-1)
            self._check(name, scale_tril, (scale_tril.triu(1) == 0).all() & (diag > 0).all(), "LowerCholesky()")
        elif covariance_matrix is not None:
            self.covariance_matrix = matrix
            self._unbroadcasted_scale_tril = self._cholesky(name, covariance_matrix)
        else:
            self.precision_matrix = matrix
            # L L^T = P^-1 (torch factors P with its rows and columns reversed, for the same L)
            self._unbroadcasted_scale_tril = self._cholesky(name, tt.linalg.inv(precision_matrix))
        self._check("loc", self.loc, constraints.real_vector.check(self.loc), repr(constraints.real_vector))

    def _cholesky(self, name, matrix):
        L, info = _tt().linalg.cholesky_ex(matrix)
        ok = (info == 0) & _tt().isclose(matrix, matrix.mT, atol=1e-6).all(-1).all(-1)   # (PyTorch's test)
        self._check(name, matrix, ok, "PositiveDefinite()")
        return L

    def __getattr__(self, name):
        # the matrices not given are computed on first use, as PyTorch's lazy properties
        if name == "scale_tril":
            return self._unbroadcasted_scale_tril.expand(self._batch_shape + self._event_shape * 2)
        if name == "covariance_matrix":
            L = self._unbroadcasted_scale_tril
            return (L @ L.mT).expand(self._batch_shape + self._event_shape * 2)
        if name == "precision_matrix":
            return _tt().cholesky_inverse(self._unbroadcasted_scale_tril).expand(
                self._batch_shape + self._event_shape * 2)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=()):
        tt = _tt()
        shape = self._extended_shape(sample_shape)
        eps = tt.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value):
        diff = value - self.loc
        m = _batch_mahalanobis(self._unbroadcasted_scale_tril, diff)
        half_log_det = _half_log_det(self._unbroadcasted_scale_tril)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + m) - half_log_det

    def entropy(self):
        half_log_det = _half_log_det(self._unbroadcasted_scale_tril)
        h = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        return h.expand(self._batch_shape) if self._batch_shape else h


def kl_mvn_mvn(p: MultivariateNormal, q: MultivariateNormal):
    """KL(p || q) = log|L_q| - log|L_p| + (tr(S_q^-1 S_p) + |L_q^-1 (mu_q - mu_p)|^2 - n) / 2."""
    tt = _tt()
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event shapes cannot be "
                         "computed")
    Lp, Lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    n = p.event_shape[0]
    shape = tt.broadcast_shapes(tuple(Lp.shape[:-2]), tuple(Lq.shape[:-2]))
    trace = tt.linalg.solve_triangular(Lq.expand(shape + (n, n)), Lp.expand(shape + (n, n)), upper=False)
    trace = trace.pow(2).sum((-2, -1))
    m = _batch_mahalanobis(Lq, q.loc - p.loc)
    return _half_log_det(Lq) - _half_log_det(Lp) + 0.5 * (trace + m - n)
