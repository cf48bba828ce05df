"""kl_divergence(p, q) with a registry of closed forms by type pair (torch.distributions.kl)."""
from __future__ import annotations

import math

from .continuous import Normal, Uniform
from .multivariate_normal import MultivariateNormal, kl_mvn_mvn
from .univariate import Beta, Dirichlet, Exponential, Gamma, Laplace, LogNormal
from .discrete import Bernoulli, Categorical, OneHotCategorical
from .distribution import _tt
from .independent import Independent, _sum_rightmost

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY: dict = {}


def register_kl(type_p, type_q):
    """Decorator: fn(p, q) computes KL(p || q) for p of type_p and q of type_q (subclasses included)."""
    def decorator(fn):
        _KL_REGISTRY[type_p, type_q] = fn
        return fn
    return decorator


def _lookup(type_p, type_q):
    """The registered rule for the most specific (in MRO order) pair of base classes."""
    best, best_rank = None, None
    for (p, q), fn in _KL_REGISTRY.items():
        if issubclass(type_p, p) and issubclass(type_q, q):
            rank = (type_p.__mro__.index(p), type_q.__mro__.index(q))
            if best_rank is None or rank < best_rank:
                best, best_rank = fn, rank
    return best


def kl_divergence(p, q):
    """KL(p || q), elementwise over the batch."""
    fn = _lookup(type(p), type(q))
    if fn is None:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type {type(p).__name__} and q type "
                                  f"{type(q).__name__}")
    return fn(p, q)


def _infinite_where(t, mask):
    return _tt().where(mask, math.inf, t)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return _infinite_where(result, (q.low > p.low) | (q.high < p.high))


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    tt = _tt()
    t = p.probs * (p.logits - q.logits)
    t = tt.where((q.probs == 0).expand_as(t), math.inf, t)
    t = tt.where((p.probs == 0).expand_as(t), 0.0, t)
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    tt = _tt()
    softplus = tt.nn.functional.softplus
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = tt.where(p.probs == 0, 0.0, _infinite_where(t1, q.probs == 0))
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = tt.where(p.probs == 1, 0.0, _infinite_where(t2, q.probs == 1))
    return t1 + t2


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("KL of Independent distributions with different reinterpreted_batch_ndims")
    return _sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    rate_ratio = q.rate / p.rate
    return rate_ratio - rate_ratio.log() - 1


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    scale_ratio = p.scale / q.scale
    loc_abs_diff = (p.loc - q.loc).abs()
    return -scale_ratio.log() + loc_abs_diff / q.scale + scale_ratio * (-loc_abs_diff / p.scale).exp() - 1


@register_kl(LogNormal, LogNormal)
def _kl_lognormal_lognormal(p, q):
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    tt = _tt()
    return (q.concentration * (p.rate / q.rate).log() + tt.lgamma(q.concentration) - tt.lgamma(p.concentration)
            + (p.concentration - q.concentration) * tt.digamma(p.concentration)
            + (q.rate - p.rate) * (p.concentration / p.rate))


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    tt = _tt()
    a, b = p.concentration, q.concentration
    sum_a, sum_b = a.sum(-1), b.sum(-1)
    return (tt.lgamma(sum_a) - tt.lgamma(sum_b) - (tt.lgamma(a) - tt.lgamma(b)).sum(-1)
            + ((a - b) * (tt.digamma(a) - tt.digamma(sum_a).unsqueeze(-1))).sum(-1))


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    return _kl_dirichlet_dirichlet(p._dirichlet, q._dirichlet)


register_kl(MultivariateNormal, MultivariateNormal)(kl_mvn_mvn)
