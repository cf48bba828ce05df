"""LowRankMultivariateNormal (torch.distributions.LowRankMultivariateNormal): covariance W W^T + diag(D) with W
n x m, m << n. Nothing n x n is factored: the Woodbury identity and the matrix determinant lemma reduce the
inverse and the log-determinant to the m x m capacitance matrix C = I + W^T D^-1 W (its Cholesky factor is kept),
so log_prob costs O(n m^2). Also the three KL pairs PyTorch registers with MultivariateNormal."""
from __future__ import annotations

import math

from . import constraints
from .constrained import ConstrainedParams
from .distribution import Distribution, _tt
from .kl import register_kl
from .multivariate_normal import MultivariateNormal, _batch_mahalanobis

__all__ = ["LowRankMultivariateNormal"]


def _batch_capacitance_tril(W, D):
    """Cholesky factor of I + W^T D^-1 W."""
    tt = _tt()
    K = (W.mT / D.unsqueeze(-2)) @ W
    return tt.linalg.cholesky(K + tt.eye(W.shape[-1], dtype=W.dtype, device=W.device))


def _batch_lowrank_logdet(D, capacitance_tril):
    """log det(W W^T + D) = log det C + log det D (the matrix determinant lemma)."""
    return 2 * capacitance_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1) + D.log().sum(-1)


def _batch_lowrank_mahalanobis(W, D, x, capacitance_tril):
    """x^T (W W^T + D)^-1 x = x^T D^-1 x - |L_C^-1 W^T D^-1 x|^2 (Woodbury)."""
    Wt_Dinv_x = ((W.mT / D.unsqueeze(-2)) @ x.unsqueeze(-1)).squeeze(-1)
    return (x.pow(2) / D).sum(-1) - _batch_mahalanobis(capacitance_tril, Wt_Dinv_x)


def _batch_trace_XXT(bmat):
    """trace(X X^T) over the last two dims."""
    return bmat.pow(2).sum((-2, -1))


def _solve_lower(L, B):
    shape = tuple(_tt().broadcast_shapes(tuple(L.shape[:-2]), tuple(B.shape[:-2])))
    return _tt().linalg.solve_triangular(L.expand(shape + tuple(L.shape[-2:])), B.expand(shape + tuple(B.shape[-2:])),
                                         upper=False)


class LowRankMultivariateNormal(ConstrainedParams, Distribution):
    """LowRankMultivariateNormal(loc, cov_factor, cov_diag): loc (..., n), cov_factor W (..., n, m), cov_diag D
    (..., n) > 0; batch shapes broadcast."""

    arg_constraints = {"loc": constraints.real_vector, "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        tt = _tt()
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        n = loc.shape[-1]
        if cov_factor.dim() < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional leading batch dimensions")
        if cov_factor.shape[-2] != n:
            raise ValueError(f"cov_factor must be a batch of matrices with shape {n} x m")
        if tuple(cov_diag.shape[-1:]) != (n,):
            raise ValueError(f"cov_diag must be a batch of vectors with shape {(n,)}")
        try:
            loc_, self.cov_factor, diag_ = tt.broadcast_tensors(loc.unsqueeze(-1), cov_factor, cov_diag.unsqueeze(-1))
        except (RuntimeError, ValueError) as e:
            raise ValueError(f"Incompatible batch shapes: loc {tt.Size(loc.shape)}, cov_factor "
                             f"{tt.Size(cov_factor.shape)}, cov_diag {tt.Size(cov_diag.shape)}") from e
        self.loc, self.cov_diag = loc_[..., 0], diag_[..., 0]
        self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag = cov_factor, cov_diag
        super().__init__(tuple(self.loc.shape[:-1]), (n,), validate_args=validate_args)
        self._validate_params()
        self._capacitance_tril = _batch_capacitance_tril(cov_factor, cov_diag)

    def expand(self, batch_shape, _instance=None):
        batch_shape = tuple(batch_shape)
        n, m = self._event_shape[0], self.cov_factor.shape[-1]
        return self._expanded(batch_shape, {"loc": self.loc.expand(batch_shape + (n,)),
                                            "cov_diag": self.cov_diag.expand(batch_shape + (n,)),
                                            "cov_factor": self.cov_factor.expand(batch_shape + (n, m))}, _instance,
                              _unbroadcasted_cov_factor=self._unbroadcasted_cov_factor,
                              _unbroadcasted_cov_diag=self._unbroadcasted_cov_diag,
                              _capacitance_tril=self._capacitance_tril)

    mean = property(lambda self: self.loc)
    mode = property(lambda self: self.loc)

    @property
    def variance(self):
        v = self._unbroadcasted_cov_factor.pow(2).sum(-1) + self._unbroadcasted_cov_diag
        return v.expand(self._batch_shape + self._event_shape)

    @property
    def scale_tril(self):
        # D^1/2 chol(I + D^-1/2 W W^T D^-1/2): one n x n factorisation, only when asked for
        tt = _tt()
        n = self._event_shape[0]
        sqrt_d = self._unbroadcasted_cov_diag.sqrt().unsqueeze(-1)
        Dinvsqrt_W = self._unbroadcasted_cov_factor / sqrt_d
        K = Dinvsqrt_W @ Dinvsqrt_W.mT + tt.eye(n, dtype=sqrt_d.dtype, device=sqrt_d.device)
        return (sqrt_d * tt.linalg.cholesky(K)).expand(self._batch_shape + self._event_shape * 2)

    @property
    def covariance_matrix(self):
        W = self._unbroadcasted_cov_factor
        cov = W @ W.mT + self._unbroadcasted_cov_diag.diag_embed()
        return cov.expand(self._batch_shape + self._event_shape * 2)

    @property
    def precision_matrix(self):
        # Woodbury: D^-1 - D^-1 W C^-1 W^T D^-1
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        A = _solve_lower(self._capacitance_tril, W.mT / D.unsqueeze(-2))
        return (D.reciprocal().diag_embed() - A.mT @ A).expand(self._batch_shape + self._event_shape * 2)

    def rsample(self, sample_shape=()):
        tt = _tt()
        shape = self._extended_shape(sample_shape)
        like = self.loc
        eps_w = tt.randn(shape[:-1] + (self.cov_factor.shape[-1],), dtype=like.dtype, device=like.device)
        eps_d = tt.randn(shape, dtype=like.dtype, device=like.device)
        return (self.loc + (self._unbroadcasted_cov_factor @ eps_w.unsqueeze(-1)).squeeze(-1)
                + self._unbroadcasted_cov_diag.sqrt() * eps_d)

    def log_prob(self, value):
        m = _batch_lowrank_mahalanobis(self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag,
                                       value - self.loc, self._capacitance_tril)
        log_det = _batch_lowrank_logdet(self._unbroadcasted_cov_diag, self._capacitance_tril)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + log_det + m)

    def entropy(self):
        log_det = _batch_lowrank_logdet(self._unbroadcasted_cov_diag, self._capacitance_tril)
        h = 0.5 * (self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + log_det)
        return h.expand(self._batch_shape) if self._batch_shape else h

    def __repr__(self) -> str:
        return f"LowRankMultivariateNormal(loc: {self.loc.size()}, cov_factor: {self.cov_factor.size()}, " \
               f"cov_diag: {self.cov_diag.size()})"


def _same_event(p, q, names):
    if p.event_shape != q.event_shape:
        raise ValueError(f"KL-divergence between two {names} with different event shapes cannot be computed")


def _woodbury_factor(q):
    """A = L_C^-1 W^T D^-1 of q, so that inv(cov_q) = D^-1 - A^T A."""
    return _solve_lower(q._capacitance_tril, q._unbroadcasted_cov_factor.mT / q._unbroadcasted_cov_diag.unsqueeze(-2))


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrank_lowrank(p, q):
    _same_event(p, q, "Low Rank Multivariate Normals")
    term1 = (_batch_lowrank_logdet(q._unbroadcasted_cov_diag, q._capacitance_tril)
             - _batch_lowrank_logdet(p._unbroadcasted_cov_diag, p._capacitance_tril))
    term3 = _batch_lowrank_mahalanobis(q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag, q.loc - p.loc,
                                       q._capacitance_tril)
    # trace(inv(cov_q) cov_p) with inv(cov_q) = D_q^-1 - A^T A and cov_p = W_p W_p^T + D_p
    A = _woodbury_factor(q)
    term21 = (p._unbroadcasted_cov_diag / q._unbroadcasted_cov_diag).sum(-1)
    term22 = _batch_trace_XXT(p._unbroadcasted_cov_factor * q._unbroadcasted_cov_diag.rsqrt().unsqueeze(-1))
    term23 = _batch_trace_XXT(A * p._unbroadcasted_cov_diag.sqrt().unsqueeze(-2))
    term24 = _batch_trace_XXT(A @ p._unbroadcasted_cov_factor)
    return 0.5 * (term1 + term21 + term22 - term23 - term24 + term3 - p.event_shape[0])


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_mvn_lowrank(p, q):
    _same_event(p, q, "(Low Rank) Multivariate Normals")
    L = p._unbroadcasted_scale_tril
    term1 = (_batch_lowrank_logdet(q._unbroadcasted_cov_diag, q._capacitance_tril)
             - 2 * L.diagonal(dim1=-2, dim2=-1).log().sum(-1))
    term3 = _batch_lowrank_mahalanobis(q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag, q.loc - p.loc,
                                       q._capacitance_tril)
    A = _woodbury_factor(q)
    term2 = _batch_trace_XXT(L * q._unbroadcasted_cov_diag.rsqrt().unsqueeze(-1)) - _batch_trace_XXT(A @ L)
    return 0.5 * (term1 + term2 + term3 - p.event_shape[0])


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrank_mvn(p, q):
    _same_event(p, q, "(Low Rank) Multivariate Normals")
    Lq = q._unbroadcasted_scale_tril
    term1 = (2 * Lq.diagonal(dim1=-2, dim2=-1).log().sum(-1)
             - _batch_lowrank_logdet(p._unbroadcasted_cov_diag, p._capacitance_tril))
    term3 = _batch_mahalanobis(Lq, q.loc - p.loc)
    # trace(inv(L_q L_q^T) (W_p W_p^T + D_p)) = |L_q^-1 W_p|^2 + |L_q^-1 D_p^1/2|^2
    term21 = _batch_trace_XXT(_solve_lower(Lq, p._unbroadcasted_cov_factor))
    term22 = _batch_trace_XXT(_solve_lower(Lq, p._unbroadcasted_cov_diag.sqrt().diag_embed()))
    return 0.5 * (term1 + term21 + term22 + term3 - p.event_shape[0])
