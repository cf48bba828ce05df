"""Exponential, Laplace, LogNormal, Gumbel, HalfNormal, Cauchy, Gamma, Chi2, StudentT, Dirichlet and Beta
(torch.distributions' classes of those names), all reparameterised as PyTorch's are: from uniform or normal
draws of the Philox generator, and Gamma's (with Chi2's, StudentT's, Dirichlet's and Beta's on top) from
Marsaglia and Tsang's rejection sampler with an implicit gradient (see _standard_gamma_grad)."""
from __future__ import annotations

import math

from . import constraints
from .continuous import Normal
from .distribution import Distribution, _tt, broadcast_all
from .exp_family import ExponentialFamily

__all__ = ["Exponential", "Laplace", "LogNormal", "Gumbel", "HalfNormal", "Cauchy", "Gamma", "Chi2", "StudentT",
           "Dirichlet", "Beta"]

_EULER = 0.57721566490153286061


def _tt_autograd_function():
    from ..autograd import Function
    return Function


def _uniform(d, sample_shape, like, low=0.0):
    """Uniform draws in [low, 1) of the extended shape, like `like`'s dtype and device."""
    u = _tt().rand(d._extended_shape(sample_shape), dtype=like.dtype, device=like.device)
    return u if low == 0.0 else low + u * (1.0 - low)


def _tiny_eps(t):
    info = _tt().finfo(t.dtype)
    return info.tiny, info.eps


class Exponential(ExponentialFamily):
    """Exponential(rate): density rate e^(-rate x) on x >= 0; samples -log1p(-u) / rate."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(tuple(self.rate.shape), validate_args=validate_args)

    mean = property(lambda self: self.rate.reciprocal())
    mode = property(lambda self: _tt().zeros_like(self.rate))
    stddev = property(lambda self: self.rate.reciprocal())
    variance = property(lambda self: self.rate.pow(-2))
    _mean_carrier_measure = 0
    _natural_params = property(lambda self: (-self.rate,))

    def _log_normalizer(self, x):
        return -(-x).log()

    def rsample(self, sample_shape=()):
        return -(-_uniform(self, sample_shape, self.rate)).log1p() / self.rate

    def log_prob(self, value):
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        return 1 - (-self.rate * value).exp()

    def icdf(self, value):
        return -(-value).log1p() / self.rate

    def entropy(self):
        return 1.0 - self.rate.log()


class _LocationScale(Distribution):
    """The (loc, scale) parameters, broadcast, with scale > 0 (Laplace, Gumbel, Cauchy); reparameterised."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(tuple(self.loc.shape), validate_args=validate_args)


class Laplace(_LocationScale):
    """Laplace(loc, scale): density exp(-|x - loc| / scale) / (2 scale); inverse-CDF samples."""

    mean = property(lambda self: self.loc)
    mode = property(lambda self: self.loc)
    stddev = property(lambda self: math.sqrt(2) * self.scale)
    variance = property(lambda self: 2 * self.scale.pow(2))

    def rsample(self, sample_shape=()):
        _, eps = _tiny_eps(self.loc)
        u = 2 * _uniform(self, sample_shape, self.loc, low=eps / 2) - 1   # in (-1, 1): log1p(-|u|) is finite
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value):
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        z = value - self.loc
        return 0.5 - 0.5 * z.sign() * (-z.abs() / self.scale).expm1()

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self):
        return 1 + (2 * self.scale).log()


class LogNormal(Distribution):
    """LogNormal(loc, scale): exp of Normal(loc, scale)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.base_dist = Normal(loc, scale, validate_args=validate_args)
        self.loc, self.scale = self.base_dist.loc, self.base_dist.scale
        super().__init__(tuple(self.loc.shape), validate_args=validate_args)

    mean = property(lambda self: (self.loc + self.scale.pow(2) / 2).exp())
    mode = property(lambda self: (self.loc - self.scale.pow(2)).exp())
    variance = property(lambda self: self.scale.pow(2).expm1() * (2 * self.loc + self.scale.pow(2)).exp())

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape).exp()

    def log_prob(self, value):
        y = value.log()
        return self.base_dist.log_prob(y) - y

    def cdf(self, value):
        return self.base_dist.cdf(value.log())

    def icdf(self, value):
        return self.base_dist.icdf(value).exp()

    def entropy(self):
        return self.base_dist.entropy() + self.loc


class Gumbel(_LocationScale):
    """Gumbel(loc, scale): samples loc - scale log(-log u), u in [tiny, 1 - eps]."""

    mean = property(lambda self: self.loc + self.scale * _EULER)
    mode = property(lambda self: self.loc)
    stddev = property(lambda self: (math.pi / math.sqrt(6)) * self.scale)
    variance = property(lambda self: self.stddev.pow(2))

    def rsample(self, sample_shape=()):
        tiny, eps = _tiny_eps(self.loc)
        u = _uniform(self, sample_shape, self.loc).clamp(tiny, 1 - eps)
        return self.loc - self.scale * (-u.log()).log()

    def log_prob(self, value):
        z = (value - self.loc) / self.scale
        return -(self.scale.log() + z + (-z).exp())

    def cdf(self, value):
        return (-(-(value - self.loc) / self.scale).exp()).exp()

    def icdf(self, value):
        return self.loc - self.scale * (-value.log()).log()

    def entropy(self):
        return self.scale.log() + (1 + _EULER)


class FoldedAtZero:
    """log_prob, cdf, icdf and entropy of |X| from those of a `base_dist` X symmetric about 0 (HalfNormal,
    HalfCauchy): twice the density on x >= 0."""

    def log_prob(self, value):
        tt = _tt()
        if not isinstance(value, tt.Tensor):
            value = tt.tensor(float(value), dtype=self.scale.dtype, device=self.scale.device)
        return tt.where(value >= 0, self.base_dist.log_prob(value) + math.log(2), -math.inf)

    def cdf(self, value):
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)


class HalfNormal(FoldedAtZero, Distribution):
    """HalfNormal(scale): |Normal(0, scale)|."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args=None):
        (self.scale,) = broadcast_all(scale)
        self.base_dist = Normal(_tt().zeros_like(self.scale), self.scale, validate_args=validate_args)
        super().__init__(tuple(self.scale.shape), validate_args=validate_args)

    mean = property(lambda self: self.scale * math.sqrt(2 / math.pi))
    mode = property(lambda self: _tt().zeros_like(self.scale))
    variance = property(lambda self: self.scale.pow(2) * (1 - 2 / math.pi))

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape).abs()


class Cauchy(_LocationScale):
    """Cauchy(loc, scale): samples loc + scale tan(pi (u - 1/2)); no mean or variance (NaN, inf)."""

    mean = property(lambda self: _tt().full_like(self.loc, math.nan))
    mode = property(lambda self: self.loc)
    variance = property(lambda self: _tt().full_like(self.loc, math.inf))

    def rsample(self, sample_shape=()):
        return self.icdf(_uniform(self, sample_shape, self.loc))

    def log_prob(self, value):
        return -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()

    def cdf(self, value):
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value):
        return ((value - 0.5) * math.pi).tan() * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()


def _standard_gamma_sample(a):
    """x ~ Gamma(a, 1), elementwise (no graph): Marsaglia and Tsang's method, a Philox normal and uniform per try,
    rounds until every element is accepted (each accepts over 95% of the rest); a < 1 draws Gamma(a + 1) and
    multiplies by u^(1/a)."""
    tt = _tt()
    with tt.no_grad():
        shape, dt, dev = tuple(a.shape), a.dtype, a.device
        tiny = tt.finfo(dt).tiny
        boost = a < 1
        d = tt.where(boost, a + 1, a) - 1 / 3
        c = (9 * d).rsqrt()
        out = tt.zeros(shape, dtype=dt, device=dev)
        todo = tt.ones(shape, dtype=tt.bool, device=dev)
        for _ in range(64):
            x = tt.randn(shape, dtype=dt, device=dev)
            u = tt.rand(shape, dtype=dt, device=dev)
            v = (1 + c * x) ** 3
            ok = (v > 0) & (u.clamp(min=tiny).log() < 0.5 * x * x + d - d * v + d * v.clamp(min=tiny).log())
            out = tt.where(todo & ok, d * v, out)
            todo = todo & ~ok
            if not bool(todo.any()):
                break
        else:
            raise RuntimeError("Gamma sampling: the rejection sampler did not finish in 64 rounds")
        u = tt.rand(shape, dtype=dt, device=dev)
        out = tt.where(boost, out * u.clamp(min=tiny) ** (1 / a), out)
        return out.clamp(min=tiny)


def _log_prefactor(a, x):
    return a * x.log() - x - _tt().lgamma(a)


def _lower_series(a, x, iters):
    """P(a, x), the regularised lower incomplete gamma, by its power series (for x < a + 1)."""
    term = 1 / a
    total = term
    ap = a
    for _ in range(iters):
        ap = ap + 1
        term = term * x / ap
        total = total + term
    return total * _log_prefactor(a, x).exp()


def _upper_fraction(a, x, iters):
    """Q(a, x) = 1 - P(a, x) by its continued fraction (modified Lentz; for x >= a + 1)."""
    tt = _tt()
    tiny = 1e-300
    b = x + 1 - a
    c = tt.full_like(x, 1 / tiny)
    d = 1 / b
    h = d
    for i in range(1, iters + 1):
        an = -i * (i - a)
        b = b + 2
        d = an * d + b
        d = tt.where(d.abs() < tiny, tiny, d)
        c = b + an / c
        c = tt.where(c.abs() < tiny, tiny, c)
        d = 1 / d
        h = h * d * c
    return h * _log_prefactor(a, x).exp()


def _standard_gamma_grad(x, a):
    """dx/da of a Gamma(a, 1) sample x at fixed quantile (implicit reparameterisation): -dP(a, x)/da / p(x; a),
    dP/da by a central difference (step 1e-5 a) of the incomplete gamma function in float64 (the power series
    below x = a + 1, else -dQ/da from the continued fraction), p the density."""
    tt = _tt()
    x64, a64 = x.double(), a.double()
    if x64.numel() == 0:
        return x.clone()
    lower = x64 < a64 + 1
    xs = tt.where(lower, x64, 0.5 * (a64 + 1))   # each branch on the points it serves (the others' stay benign)
    xf = tt.where(lower, a64 + 1, x64)
    # terms: the series converges geometrically once n passes x; the fraction in O(sqrt(x)) steps
    x_max = float(xs.max().item())
    n_series = int(x_max + 10 * x_max ** 0.5) + 30
    n_fraction = int(3 * float(tt.maximum(xf, a64).max().item()) ** 0.5) + 40
    h = 1e-5 * a64
    ah = tt.stack([a64 + h, a64 - h])         # both sides of the difference in one pass
    p = _lower_series(ah, xs.expand(ah.shape), n_series)
    q = _upper_fraction(ah, xf.expand(ah.shape), n_fraction)
    d_lower = (p[0] - p[1]) / (2 * h)
    d_upper = -(q[0] - q[1]) / (2 * h)
    log_pdf = (a64 - 1) * x64.log() - x64 - tt.lgamma(a64)
    return (-tt.where(lower, d_lower, d_upper) / log_pdf.exp()).to(x.dtype)


class _StandardGamma(_tt_autograd_function()):
    @staticmethod
    def forward(ctx, a):
        x = _standard_gamma_sample(a)
        ctx.save_for_backward(x, a)
        return x

    @staticmethod
    def backward(ctx, grad):
        x, a = ctx.saved_tensors
        return grad * _standard_gamma_grad(x, a)


class Gamma(ExponentialFamily):
    """Gamma(concentration, rate): density rate^a x^(a-1) e^(-rate x) / Gamma(a) on x > 0 (lgamma and digamma
    from ops/gamma.py). Samples are standard Gamma(a) draws (Marsaglia and Tsang) divided by the rate; rsample's
    gradient in the concentration is the implicit one of _standard_gamma_grad (first order only)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(tuple(self.rate.shape), validate_args=validate_args)

    mean = property(lambda self: self.concentration / self.rate)
    _mean_carrier_measure = 0
    _natural_params = property(lambda self: (self.concentration - 1, -self.rate))

    def _log_normalizer(self, x, y):
        return _tt().lgamma(x + 1) + (x + 1) * (-y.reciprocal()).log()
    mode = property(lambda self: ((self.concentration - 1) / self.rate).clamp(min=0))
    variance = property(lambda self: self.concentration / self.rate.pow(2))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        x = _StandardGamma.apply(self.concentration.expand(shape))
        return (x / self.rate.expand(shape)).clamp(min=_tt().finfo(x.dtype).tiny)

    def log_prob(self, value):
        tt = _tt()
        a, r = self.concentration, self.rate
        return tt.xlogy(a, r) + tt.xlogy(a - 1, value) - r * value - tt.lgamma(a)

    def entropy(self):
        tt = _tt()
        a = self.concentration
        return a - self.rate.log() + tt.lgamma(a) + (1 - a) * tt.digamma(a)

    def cdf(self, value):
        return _tt().igamma(self.concentration, self.rate * value)   # (no derivative in the concentration)


class Chi2(Gamma):
    """Chi2(df) = Gamma(df / 2, 1 / 2)."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None):
        (df,) = broadcast_all(df)
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    @property
    def df(self):
        return self.concentration * 2


class StudentT(Distribution):
    """StudentT(df, loc=0, scale=1): loc + scale X / sqrt(Z / df), X ~ N(0, 1), Z ~ Chi2(df) (reparameterised
    through the Gamma draw)."""

    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df, validate_args=validate_args)
        super().__init__(tuple(self.df.shape), validate_args=validate_args)

    @property
    def mean(self):
        return _tt().where(self.df > 1, self.loc, math.nan)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        tt = _tt()
        df, s2 = self.df, self.scale.pow(2)
        v = tt.where(df > 2, s2 * df / (df - 2), math.inf)
        return tt.where(df > 1, v, math.nan)

    def rsample(self, sample_shape=()):
        tt = _tt()
        shape = self._extended_shape(sample_shape)
        x = tt.randn(shape, dtype=self.df.dtype, device=self.df.device)
        z = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * x * (z / self.df).rsqrt()

    def log_prob(self, value):
        tt = _tt()
        y = (value - self.loc) / self.scale
        z = (self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi) + tt.lgamma(0.5 * self.df)
             - tt.lgamma(0.5 * (self.df + 1.0)))
        return -0.5 * (self.df + 1.0) * (y.pow(2) / self.df).log1p() - z

    def entropy(self):
        tt = _tt()
        df = self.df
        lbeta = tt.lgamma(0.5 * df) + math.lgamma(0.5) - tt.lgamma(0.5 * (df + 1))
        return (self.scale.log() + 0.5 * (df + 1) * (tt.digamma(0.5 * (df + 1)) - tt.digamma(0.5 * df))
                + 0.5 * df.log() + lbeta)


class Dirichlet(ExponentialFamily):
    """Dirichlet(concentration over the last dim): normalised Gamma draws (reparameterised through them)."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(tuple(concentration.shape[:-1]), tuple(concentration.shape[-1:]),
                         validate_args=validate_args)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    _natural_params = property(lambda self: (self.concentration,))

    @property
    def _mean_carrier_measure(self):
        # h(x) = 1 / prod x_i, so E[log h] = -sum E[log x_i] (PyTorch leaves it undefined)
        tt = _tt()
        return -(tt.digamma(self.concentration) - tt.digamma(self.concentration.sum(-1, keepdim=True))).sum(-1)

    def _log_normalizer(self, x):
        tt = _tt()
        return tt.lgamma(x).sum(-1) - tt.lgamma(x.sum(-1))

    @property
    def mode(self):
        tt = _tt()
        a = self.concentration
        m = (a - 1).clamp(min=0.0)
        m = m / m.sum(-1, keepdim=True)
        # every concentration below 1 (a density unbounded at every vertex): PyTorch's one-hot of the argmax of the
        # 0/0 above, i.e. its first vertex whatever the concentrations
        below = (a < 1).all(-1, keepdim=True)
        vertex = tt.nn.functional.one_hot(m.argmax(-1), a.shape[-1]).to(a.dtype)
        return tt.where(below, vertex, m)

    @property
    def variance(self):
        a0 = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (a0 - self.concentration) / (a0.pow(2) * (a0 + 1))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        g = _StandardGamma.apply(self.concentration.expand(shape))
        return (g / g.sum(-1, keepdim=True)).clamp(min=_tt().finfo(g.dtype).tiny)

    def log_prob(self, value):
        tt = _tt()
        a = self.concentration
        return (tt.xlogy(a - 1.0, value).sum(-1) + tt.lgamma(a.sum(-1)) - tt.lgamma(a).sum(-1))

    def entropy(self):
        tt = _tt()
        a = self.concentration
        k = a.shape[-1]
        a0 = a.sum(-1)
        return (tt.lgamma(a).sum(-1) - tt.lgamma(a0) - (k - a0) * tt.digamma(a0)
                - ((a - 1.0) * tt.digamma(a)).sum(-1))


class Beta(ExponentialFamily):
    """Beta(concentration1, concentration0): the first coordinate of Dirichlet([c1, c0])."""

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        c1, c0 = broadcast_all(concentration1, concentration0)
        self._dirichlet = Dirichlet(_tt().stack([c1, c0], -1), validate_args=validate_args)
        super().__init__(tuple(c1.shape), validate_args=validate_args)

    concentration1 = property(lambda self: self._dirichlet.concentration[..., 0])
    concentration0 = property(lambda self: self._dirichlet.concentration[..., 1])
    mean = property(lambda self: self.concentration1 / (self.concentration1 + self.concentration0))
    _natural_params = property(lambda self: (self.concentration1, self.concentration0))
    _mean_carrier_measure = property(lambda self: self._dirichlet._mean_carrier_measure)

    def _log_normalizer(self, x, y):
        tt = _tt()
        return tt.lgamma(x) + tt.lgamma(y) - tt.lgamma(x + y)
    mode = property(lambda self: self._dirichlet.mode[..., 0])

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()):
        return self._dirichlet.rsample(sample_shape).select(-1, 0)

    def log_prob(self, value):
        tt = _tt()
        return self._dirichlet.log_prob(tt.stack([value, 1.0 - value], -1))

    def entropy(self):
        return self._dirichlet.entropy()
