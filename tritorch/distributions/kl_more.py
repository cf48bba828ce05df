"""More KL(p || q) rules for kl_divergence: closed forms within the count families, Gumbel, Cauchy, HalfNormal,
Pareto and TransformedDistribution, and across families (torch.distributions.kl's pairs).

Across families each rule is KL = -H(p) - E_p[log q(X)], with E_p[log q] from the moments of p that log q needs
(E[x], E[x^2], E[log x], E[e^(-x/beta)] ...); it is +inf where p puts mass outside q's support (a real-line p
against a half-line q, a half-line p against a bounded q) or where a moment it needs diverges (Pareto's mean for
alpha <= 1, its second moment for alpha <= 2).
"""
from __future__ import annotations

import math

from .continuous import Normal, Uniform
from .counts import Binomial, Geometric
from .discrete import Bernoulli, Poisson
from .distribution import _tt
from .exp_family import ExponentialFamily
from .independent import _sum_rightmost
from .kl import _infinite_where, kl_divergence, register_kl
from .transformed import HalfCauchy, Pareto, TransformedDistribution
from .univariate import Beta, Cauchy, Exponential, Gamma, Gumbel, HalfNormal, Laplace

_EULER = 0.57721566490153286061
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _inf_like(t):
    return _tt().full_like(t, math.inf)


def _safe(t, bad, stand_in):
    """t with `stand_in` where `bad`: a rule evaluates its formula there on harmless values (the entry becomes inf
    afterwards), so that no inf or NaN reaches the gradient through the branch where() does not take."""
    return _tt().where(bad, stand_in, t)


def _normal_cross(p_entropy, mean, second_moment, q):
    """KL(p || Normal q) from p's entropy, E[x] and E[x^2]."""
    return (-p_entropy + q.scale.log() + _HALF_LOG_2PI
            + (second_moment - 2 * q.loc * mean + q.loc.pow(2)) / (2 * q.scale.pow(2)))


def _gumbel_cross(p_entropy, mean, exp_moment, q):
    """KL(p || Gumbel q) from p's entropy, E[x] and E[exp(-x / q.scale)]."""
    return (-p_entropy + q.scale.log() + (mean - q.loc) / q.scale
            + (q.loc / q.scale).exp() * exp_moment)


def _gamma_cross(p_entropy, mean, mean_log, q):
    """KL(p || Gamma q) from p's entropy, E[x] and E[log x]."""
    tt = _tt()
    k, r = q.concentration, q.rate
    return -p_entropy - k * r.log() + tt.lgamma(k) - (k - 1) * mean_log + r * mean


def _exponential_cross(p_entropy, mean, q):
    return -p_entropy - q.rate.log() + q.rate * mean


def _xlogx(x):
    return _tt().xlogy(x, x)


def _uniform_mean_log(lo, hi):
    """E[log x] for x ~ U(lo, hi), 0 <= lo < hi: (hi log hi - hi - lo log lo + lo) / (hi - lo)."""
    return (_xlogx(hi) - hi - _xlogx(lo) + lo) / (hi - lo)


# ------------------------------------------------------------------------------------------ same family

@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    if bool((p.total_count < q.total_count).any()):
        raise NotImplementedError("KL between Binomials where q.total_count > p.total_count is not implemented")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + (-p.probs).log1p() - (-q.probs).log1p())
    return _infinite_where(kl, p.total_count > q.total_count)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    return -p.entropy() - (-q.probs).log1p() / p.probs - q.logits


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    tt = _tt()
    return tt.xlogy(p.rate, p.rate / q.rate) - (p.rate - q.rate)


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    ratio = (p.scale / q.scale).pow(2)
    return 0.5 * (ratio - 1 - ratio.log())


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    tt = _tt()
    t = p.scale / q.scale
    return (-t.log() + _EULER * (t - 1) + (p.loc - q.loc) / q.scale
            + ((q.loc - p.loc) / q.scale).exp() * tt.lgamma(t + 1).exp() - 1)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    return ((p.scale + q.scale).pow(2) + (p.loc - q.loc).pow(2)).log() - (4 * p.scale * q.scale).log()


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    alpha_ratio = q.alpha / p.alpha
    kl = q.alpha * (p.scale / q.scale).log() - alpha_ratio.log() + alpha_ratio - 1
    return _infinite_where(kl, p.scale < q.scale)


@register_kl(HalfCauchy, HalfCauchy)
def _kl_halfcauchy_halfcauchy(p, q):
    return _kl_cauchy_cauchy(p.base_dist, q.base_dist)


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p, q):
    if p.transforms != q.transforms:
        raise NotImplementedError("KL between TransformedDistributions with different transforms")
    if tuple(p.event_shape) != tuple(q.event_shape):
        raise NotImplementedError("KL between TransformedDistributions with different event shapes")
    extra = len(p.event_shape) - len(p.base_dist.event_shape)
    return _sum_rightmost(kl_divergence(p.base_dist, q.base_dist), extra)


# ---------------------------------------------------------------------------------------- count families

@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    return -p.entropy() - (p.probs * q.rate.log() - q.rate)


@register_kl(Poisson, Bernoulli)
@register_kl(Poisson, Binomial)
def _kl_poisson_bounded(p, q):
    return _inf_like(p.rate)   # Poisson puts mass on every count, the others on a bounded set


# ------------------------------------------------------------------------------------ p on a bounded set

def _beta_moments(p):
    a, b = p.concentration1, p.concentration0
    total = a + b
    mean = a / total
    second = p.variance + mean.pow(2)
    return mean, second


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    return _exponential_cross(p.entropy(), _beta_moments(p)[0], q)


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    tt = _tt()
    a, b = p.concentration1, p.concentration0
    return _gamma_cross(p.entropy(), _beta_moments(p)[0], tt.digamma(a) - tt.digamma(a + b), q)


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    return _normal_cross(p.entropy(), *_beta_moments(p), q)


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    kl = -p.entropy() + (q.high - q.low).log()
    return _infinite_where(kl, (q.low > 0) | (q.high < 1))


def _uniform_entropy_moments(p):
    lo, hi = p.low, p.high
    mean = (lo + hi) / 2
    second = (hi.pow(3) - lo.pow(3)) / (3 * (hi - lo))
    return p.entropy(), mean, second


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    tt = _tt()
    a, b = q.concentration1, q.concentration0
    inside = (p.low >= 0) & (p.high <= 1)
    slo, shi = _safe(p.low, ~inside, 0.25), _safe(p.high, ~inside, 0.75)
    mean_log = _uniform_mean_log(slo, shi)
    mean_log1m = _uniform_mean_log(1 - shi, 1 - slo)
    lbeta = tt.lgamma(a) + tt.lgamma(b) - tt.lgamma(a + b)
    kl = -(shi - slo).log() - ((a - 1) * mean_log + (b - 1) * mean_log1m - lbeta)
    return _infinite_where(kl, ~inside)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    entropy, mean, _ = _uniform_entropy_moments(p)   # (finite everywhere: no stand-ins needed)
    return _infinite_where(_exponential_cross(entropy, mean, q), p.low < 0)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    outside = p.low < 0
    lo, hi = _safe(p.low, outside, 1.0), _safe(p.high, outside, 2.0)
    kl = _gamma_cross((hi - lo).log(), (lo + hi) / 2, _uniform_mean_log(lo, hi), q)
    return _infinite_where(kl, outside)


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p, q):
    entropy, mean, _ = _uniform_entropy_moments(p)
    lo, hi, beta = p.low, p.high, q.scale
    exp_moment = beta * ((-lo / beta).exp() - (-hi / beta).exp()) / (hi - lo)
    return _gumbel_cross(entropy, mean, exp_moment, q)


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    return _normal_cross(*_uniform_entropy_moments(p), q)


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p, q):
    outside = p.low < q.scale
    lo, hi = _safe(p.low, outside, 1.0), _safe(p.high, outside, 2.0)
    mean_log = _uniform_mean_log(lo, hi)
    kl = -(hi - lo).log() - (q.alpha.log() + q.alpha * q.scale.log() - (q.alpha + 1) * mean_log)
    return _infinite_where(kl, outside)


# --------------------------------------------------------------------------------- p on a half-line

@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    return _gamma_cross(p.entropy(), p.mean, -_EULER - p.rate.log(), q)


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p, q):
    lam, beta = p.rate, q.scale
    return _gumbel_cross(p.entropy(), p.mean, lam * beta / (lam * beta + 1), q)


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    return _normal_cross(p.entropy(), p.mean, 2 * p.rate.pow(-2), q)


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return _exponential_cross(p.entropy(), p.mean, q)


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p, q):
    k, r, beta = p.concentration, p.rate, q.scale
    return _gumbel_cross(p.entropy(), p.mean, (r * beta / (r * beta + 1)).pow(k), q)


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    k, r = p.concentration, p.rate
    return _normal_cross(p.entropy(), p.mean, k * (k + 1) / r.pow(2), q)


def _pareto_parts(p, min_alpha):
    """(alpha with a stand-in where the moments KL needs diverge, that mask, the entropy, E[x], E[x^2])."""
    bad = p.alpha <= min_alpha
    a, s = _safe(p.alpha, bad, min_alpha + 1.0), p.scale
    entropy = (s / a).log() + (1 + a.reciprocal())
    return a, bad, entropy, a * s / (a - 1), a * s.pow(2) / (a - 2).abs().clamp(min=1e-300)


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p, q):
    a, bad, entropy, mean, _ = _pareto_parts(p, 1.0)
    return _infinite_where(_exponential_cross(entropy, mean, q), bad)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p, q):
    a, bad, entropy, mean, _ = _pareto_parts(p, 1.0)
    return _infinite_where(_gamma_cross(entropy, mean, p.scale.log() + a.reciprocal(), q), bad)


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p, q):
    a, bad, entropy, mean, second = _pareto_parts(p, 2.0)
    return _infinite_where(_normal_cross(entropy, mean, second, q), bad)


# ----------------------------------------------------------------------------------- p on the real line

@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p, q):
    mean = p.loc + _EULER * p.scale
    second = (math.pi ** 2 / 6) * p.scale.pow(2) + mean.pow(2)
    return _normal_cross(p.entropy(), mean, second, q)


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    return _normal_cross(p.entropy(), p.loc, 2 * p.scale.pow(2) + p.loc.pow(2), q)


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p, q):
    beta = q.scale
    exp_moment = (-p.loc / beta + p.scale.pow(2) / (2 * beta.pow(2))).exp()
    return _gumbel_cross(p.entropy(), p.loc, exp_moment, q)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    tt = _tt()
    d = p.loc - q.loc
    sigma = p.scale
    mean_abs = sigma * math.sqrt(2 / math.pi) * (-d.pow(2) / (2 * sigma.pow(2))).exp() + d * tt.erf(
        d / (sigma * math.sqrt(2)))
    return -p.entropy() + (2 * q.scale).log() + mean_abs / q.scale


# ------------------------------------------------------------------------------------ support mismatches

def _infinite_rule(p, q):
    """p puts mass where q has none (see the module's note)."""
    return _inf_like(p.mean if not isinstance(p, (Cauchy, Pareto)) else p.scale)


for _p, _q in [(Beta, Pareto), (Exponential, Beta), (Exponential, Pareto), (Exponential, Uniform), (Gamma, Beta),
               (Gamma, Pareto), (Gamma, Uniform), (Gumbel, Beta), (Gumbel, Exponential), (Gumbel, Gamma),
               (Gumbel, Pareto), (Gumbel, Uniform), (Laplace, Beta), (Laplace, Exponential), (Laplace, Gamma),
               (Laplace, Pareto), (Laplace, Uniform), (Normal, Beta), (Normal, Exponential), (Normal, Gamma),
               (Normal, Pareto), (Normal, Uniform), (Pareto, Beta), (Pareto, Uniform)]:
    register_kl(_p, _q)(_infinite_rule)


# ------------------------------------------------------------------------------------ exponential families
@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_expfamily_expfamily(p, q):
    """The Bregman divergence of the log normaliser F: F(theta_q) - F(theta_p) - <theta_q - theta_p, grad F(theta_p)>
    (two members of one family only, as PyTorch's rule; closed forms registered above take precedence)."""
    if type(p) is not type(q):
        raise NotImplementedError("The cross KL-divergence between different exponential families cannot be "
                                  "computed using Bregman divergences")
    p_params = [t.detach().requires_grad_() for t in p._natural_params]
    log_norm = p._log_normalizer(*p_params)
    grads = _tt().autograd.grad(log_norm.sum(), p_params, create_graph=True)
    result = q._log_normalizer(*q._natural_params) - log_norm
    for pp, qp, g in zip(p_params, q._natural_params, grads):
        result = result - _sum_rightmost((qp - pp) * g, len(q.event_shape))
    return result
