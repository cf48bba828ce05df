"""Exponential, Laplace, LogNormal, Gumbel, HalfNormal, Cauchy and Gamma (torch.distributions' classes of those
names): reparameterised where PyTorch's are, from uniform or normal draws of the Philox generator, except
Gamma's, which come from Marsaglia and Tsang's rejection sampler (not reparameterised here: Gamma.sample only;
no cdf, which needs the incomplete gamma function)."""
from __future__ import annotations

import math

from .continuous import Normal
from .distribution import Distribution, _tt, broadcast_all

__all__ = ["Exponential", "Laplace", "LogNormal", "Gumbel", "HalfNormal", "Cauchy", "Gamma"]

_EULER = 0.57721566490153286061


def _uniform(d, sample_shape, like, low=0.0):
    """Uniform draws in [low, 1) of the extended shape, like `like`'s dtype and device."""
    u = _tt().rand(d._extended_shape(sample_shape), dtype=like.dtype, device=like.device)
    return u if low == 0.0 else low + u * (1.0 - low)


def _tiny_eps(t):
    info = _tt().finfo(t.dtype)
    return info.tiny, info.eps


class Exponential(Distribution):
    """Exponential(rate): density rate e^(-rate x) on x >= 0; samples -log1p(-u) / rate."""

    arg_constraints = {"rate": "GreaterThan(lower_bound=0.0)"}
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(tuple(self.rate.shape), validate_args=validate_args)
        self._check("rate", self.rate, self.rate > 0, "GreaterThan(lower_bound=0.0)")

    mean = property(lambda self: self.rate.reciprocal())
    mode = property(lambda self: _tt().zeros_like(self.rate))
    stddev = property(lambda self: self.rate.reciprocal())
    variance = property(lambda self: self.rate.pow(-2))

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


class Laplace(Distribution):
    """Laplace(loc, scale): density exp(-|x - loc| / scale) / (2 scale); inverse-CDF samples."""

    arg_constraints = {"loc": "Real()", "scale": "GreaterThan(lower_bound=0.0)"}
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(tuple(self.loc.shape), validate_args=validate_args)
        self._check("scale", self.scale, self.scale > 0, "GreaterThan(lower_bound=0.0)")

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

    arg_constraints = {"loc": "Real()", "scale": "GreaterThan(lower_bound=0.0)"}
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


class Gumbel(Distribution):
    """Gumbel(loc, scale): samples loc - scale log(-log u), u in [tiny, 1 - eps]."""

    arg_constraints = {"loc": "Real()", "scale": "GreaterThan(lower_bound=0.0)"}
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(tuple(self.loc.shape), validate_args=validate_args)
        self._check("scale", self.scale, self.scale > 0, "GreaterThan(lower_bound=0.0)")

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


class HalfNormal(Distribution):
    """HalfNormal(scale): |Normal(0, scale)|."""

    arg_constraints = {"scale": "GreaterThan(lower_bound=0.0)"}
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

    def log_prob(self, value):
        lp = self.base_dist.log_prob(value) + math.log(2)
        return _tt().where(value >= 0, lp, -math.inf)

    def cdf(self, value):
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)


class Cauchy(Distribution):
    """Cauchy(loc, scale): samples loc + scale tan(pi (u - 1/2)); no mean or variance (NaN, inf)."""

    arg_constraints = {"loc": "Real()", "scale": "GreaterThan(lower_bound=0.0)"}
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(tuple(self.loc.shape), validate_args=validate_args)
        self._check("scale", self.scale, self.scale > 0, "GreaterThan(lower_bound=0.0)")

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


class Gamma(Distribution):
    """Gamma(concentration, rate): density rate^a x^(a-1) e^(-rate x) / Gamma(a) on x > 0 (lgamma and digamma
    from ops/gamma.py). sample() uses Marsaglia and Tsang's method (a Philox normal and uniform per try, rounds
    until every element is accepted; a < 1 boosted by u^(1/a)); it has no reparameterised rsample here."""

    arg_constraints = {"concentration": "GreaterThan(lower_bound=0.0)", "rate": "GreaterThan(lower_bound=0.0)"}

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(tuple(self.rate.shape), validate_args=validate_args)
        self._check("concentration", self.concentration, self.concentration > 0, "GreaterThan(lower_bound=0.0)")
        self._check("rate", self.rate, self.rate > 0, "GreaterThan(lower_bound=0.0)")

    mean = property(lambda self: self.concentration / self.rate)
    mode = property(lambda self: ((self.concentration - 1) / self.rate).clamp(min=0))
    variance = property(lambda self: self.concentration / self.rate.pow(2))

    def sample(self, sample_shape=()):
        tt = _tt()
        with tt.no_grad():
            shape = self._extended_shape(sample_shape)
            a = self.concentration.expand(shape)
            boost = a < 1
            a1 = tt.where(boost, a + 1, a)
            d = a1 - 1 / 3
            c = (9 * d).rsqrt()
            out = tt.zeros(shape, dtype=a.dtype, device=a.device)
            todo = tt.ones(shape, dtype=tt.bool, device=a.device)
            for _ in range(64):   # each round accepts over 95% of the rest
                x = tt.randn(shape, dtype=a.dtype, device=a.device)
                u = tt.rand(shape, dtype=a.dtype, device=a.device)
                v = (1 + c * x) ** 3
                ok = (v > 0) & (u.clamp(min=tt.finfo(a.dtype).tiny).log()
                                < 0.5 * x * x + d - d * v + d * v.clamp(min=tt.finfo(a.dtype).tiny).log())
                take = todo & ok
                out = tt.where(take, d * v, out)
                todo = todo & ~ok
                if not bool(todo.any()):
                    break
            else:
                raise RuntimeError("Gamma.sample: the rejection sampler did not finish in 64 rounds")
            u = tt.rand(shape, dtype=a.dtype, device=a.device)
            out = tt.where(boost, out * u.clamp(min=tt.finfo(a.dtype).tiny) ** (1 / a), out)
            return (out / self.rate.expand(shape)).clamp(min=tt.finfo(a.dtype).tiny)

    def log_prob(self, value):
        tt = _tt()
        a, r = self.concentration, self.rate
        return tt.xlogy(a, r) + tt.xlogy(a - 1, value) - r * value - tt.lgamma(a)

    def entropy(self):
        tt = _tt()
        a = self.concentration
        return a - self.rate.log() + tt.lgamma(a) + (1 - a) * tt.digamma(a)

