"""Count distributions (torch.distributions' classes of these names): Geometric, Binomial, NegativeBinomial and
Multinomial, and the binomial sampler behind tritorch.binomial.

Samplers draw from the Philox generator as tensor ops, in rounds until every element is done, so cpu and cuda
draw alike: Geometric by inversion, Binomial by inversion (sequential search of the CDF) where n min(p, q) < 10
and by Hormann's BTRS transformed rejection (1993) above, NegativeBinomial as a gamma mixture of Poissons,
Multinomial as counts of categorical draws.
"""
from __future__ import annotations

from . import constraints
from .discrete import BinaryParams, Categorical, poisson_sample
from .distribution import Distribution, _tt, broadcast_all

__all__ = ["Geometric", "Binomial", "NegativeBinomial", "Multinomial", "binomial_sample"]


class Geometric(BinaryParams, Distribution):
    """Geometric(probs or logits): the number of failures before the first success, on {0, 1, ...}."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._set_params(probs, logits)
        super().__init__(tuple(self._param.shape), validate_args=validate_args)
        if self._validate_args and probs is not None:
            # PyTorch's extra check beyond unit_interval: p = 0 never succeeds (its message shows only the bad values)
            valid = self._probs > 0
            if not bool(valid.all()):
                raise ValueError(f"Expected parameter probs ({type(self._probs).__name__} of shape "
                                 f"{tuple(self._probs.shape)}) of distribution {self!r} to satisfy the constraint "
                                 f"{constraints.unit_interval!r}, but found invalid values:\n"
                                 f"{self._probs.detach()[~valid]}")

    mean = property(lambda self: 1.0 / self.probs - 1.0)
    mode = property(lambda self: _tt().zeros_like(self.probs))
    variance = property(lambda self: (1.0 / self.probs - 1.0) / self.probs)

    def sample(self, sample_shape=()):
        tt = _tt()
        with tt.no_grad():
            p = self.probs.expand(self._extended_shape(sample_shape))
            u = tt.rand(tuple(p.shape), dtype=p.dtype, device=p.device).clamp(min=tt.finfo(p.dtype).tiny)
            return (u.log() / (-p).log1p()).floor()

    def log_prob(self, value):
        value, probs = broadcast_all(value, self.probs)
        # p = 1 at value 0: 0 * log(0) is 0 (certain success)
        safe = probs.masked_fill((probs == 1) & (value == 0), 0.0)
        return value * (-safe).log1p() + self.probs.log()

    def entropy(self):
        from ..nn.functional import binary_cross_entropy_with_logits
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none") / self.probs


def _binomial_inversion(n, p, shape, generator=None):
    """Draws for n p < 10 (p <= 1/2): the smallest k whose CDF passes a uniform, pmf by the ratio recurrence."""
    tt = _tt()
    dt, dev = p.dtype, p.device
    u = tt.rand(shape, dtype=dt, device=dev, generator=generator)
    q = 1 - p
    ratio = p / q
    pmf = q.pow(n)
    cdf = pmf.clone()
    k = tt.zeros(shape, dtype=dt, device=dev)
    past_mode = n * p + 1
    going = (u > cdf) & (k < n)
    while bool(going.any()):
        for _ in range(8):   # (one host check per eight steps)
            step = going.to(dt)
            k = k + step
            pmf = tt.where(going, pmf * ratio * (n - k + 1) / k.clamp(min=1), pmf)
            cdf = cdf + pmf * step
            # (a u that the rounded CDF never passes stops where the pmf has underflowed, not at n)
            going = going & (u > cdf) & (k < n) & ((pmf > 0) | (k < past_mode))
    return k


def _binomial_btrs(n, p, shape, todo, generator=None):
    """Hormann's BTRS for n p >= 10 (p <= 1/2): transformed rejection with a squeeze, ~85% accepted per round."""
    tt = _tt()
    dt, dev = p.dtype, p.device
    q = 1 - p
    spq = (n * p * q).sqrt()
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    v_r = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    lpq = (p / q).log()
    m = ((n + 1) * p).floor()
    h = tt.lgamma(m + 1) + tt.lgamma(n - m + 1)
    out = tt.zeros(shape, dtype=dt, device=dev)
    todo = todo.clone()
    for _ in range(200):
        u = tt.rand(shape, dtype=dt, device=dev, generator=generator) - 0.5
        v = tt.rand(shape, dtype=dt, device=dev, generator=generator)
        us = 0.5 - u.abs()
        k = ((2 * a / us + b) * u + c).floor()
        inside = (k >= 0) & (k <= n)
        squeeze = (us >= 0.07) & (v <= v_r)
        kk = k.clamp(min=0).minimum(n)
        bound = h - tt.lgamma(kk + 1) - tt.lgamma(n - kk + 1) + (kk - m) * lpq
        exact = (v * alpha / (a / (us * us) + b)).log() <= bound
        ok = inside & (squeeze | exact)
        out = tt.where(todo & ok, k, out)
        todo = todo & ~ok
        if not bool(todo.any()):
            return out
    raise RuntimeError("Binomial sampling: the rejection sampler did not finish in 200 rounds")


def binomial_sample(count, prob, generator=None):
    """Binomial(count, prob) draws, elementwise, in prob's dtype (no graph); count and prob broadcast."""
    tt = _tt()
    with tt.no_grad():
        n, p = tt.broadcast_tensors(count.to(prob.dtype), prob)
        shape = tuple(p.shape)
        if p.numel() == 0:
            return p.clone()
        flip = p > 0.5
        pp = tt.where(flip, 1 - p, p)                       # p <= 1/2: the draw of n - X for p > 1/2
        big = n * pp >= 10
        pp_small = tt.where(big, 0.0, pp)
        out = _binomial_inversion(tt.where(big, 0.0, n), pp_small, shape, generator)
        if bool(big.any()):
            drawn = _binomial_btrs(tt.where(big, n, 20.0), tt.where(big, pp, 0.5), shape, big, generator)
            out = tt.where(big, drawn, out)
        out = tt.where(flip, n - out, out)
        return tt.where(p == 0, 0.0, tt.where(p == 1, n, out))


class Binomial(BinaryParams, Distribution):
    """Binomial(total_count, probs or logits): successes in total_count independent trials."""

    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.dependent_property(is_discrete=True, event_dim=0)(
        lambda self: constraints.integer_interval(0, self.total_count))
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        (self.total_count,) = self._set_params(probs, logits, total_count)
        self.total_count = self.total_count.type_as(self._param)
        if probs is not None:
            self._probs = self._probs.type_as(self._param)
        super().__init__(tuple(self._param.shape), validate_args=validate_args)

    mean = property(lambda self: self.total_count * self.probs)
    variance = property(lambda self: self.total_count * self.probs * (1 - self.probs))

    @property
    def mode(self):
        return ((self.total_count + 1) * self.probs).floor().minimum(self.total_count)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return binomial_sample(self.total_count.expand(shape), self.probs.expand(shape))

    def log_prob(self, value):
        tt = _tt()
        n = self.total_count
        log_factorial_n = tt.lgamma(n + 1)
        log_factorial_k = tt.lgamma(value + 1)
        log_factorial_nmk = tt.lgamma(n - value + 1)
        # k log p + (n - k) log(1 - p) = k logits - n log1p(e^logits) = k logits - n max(logits, 0)
        #   - n log1p(e^-|logits|), stable for every logit; n = 0 gives 0 (also for infinite logits)
        logits = self.logits
        # (max(logits, 0) as (clamp(min=0) + x - clamp(max=0)) / 2: PyTorch's form, whose gradient at 0 is 1/2)
        positive = (logits.clamp(min=0) + logits - logits.clamp(max=0)) / 2
        normalize = n * positive + n * (-logits.abs()).exp().log1p()
        normalize = normalize.masked_fill(n == 0, 0.0)
        return log_factorial_n - log_factorial_k - log_factorial_nmk + value * logits - normalize

    def entropy(self):
        n = int(self.total_count.max().item())
        if not bool((self.total_count == n).all()):
            raise NotImplementedError("Inhomogeneous total count not supported by `entropy`.")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(log_prob.exp() * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True):
        tt = _tt()
        n = int(self.total_count.max().item())
        if not bool((self.total_count == n).all()):
            raise NotImplementedError("Inhomogeneous total count not supported by `enumerate_support`.")
        values = tt.arange(1 + n, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + self._batch_shape) if expand else values


class NegativeBinomial(BinaryParams, Distribution):
    """NegativeBinomial(total_count, probs or logits): the number of successes before total_count failures, each
    trial a success with probability probs; samples are Poisson(Gamma(total_count, (1 - p) / p)) draws."""

    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0), "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        (self.total_count,) = self._set_params(probs, logits, total_count)
        self.total_count = self.total_count.type_as(self._param)
        super().__init__(tuple(self._param.shape), validate_args=validate_args)

    mean = property(lambda self: self.total_count * self.logits.exp())
    variance = property(lambda self: self.mean / (-self.logits).sigmoid())

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    def sample(self, sample_shape=()):
        tt = _tt()
        from .univariate import Gamma
        with tt.no_grad():
            rate = Gamma(self.total_count, (-self.logits).exp(), validate_args=False).sample(sample_shape)
            return poisson_sample(rate)

    def log_prob(self, value):
        tt = _tt()
        logsigmoid = tt.nn.functional.logsigmoid
        r = self.total_count
        log_unnormalized = r * logsigmoid(-self.logits) + value * logsigmoid(self.logits)
        log_normalization = -tt.lgamma(r + value) + tt.lgamma(1.0 + value) + tt.lgamma(r)
        log_normalization = log_normalization.masked_fill(r + value == 0.0, 0.0)   # the certain count 0 at r = 0
        return log_unnormalized - log_normalization


class Multinomial(Distribution):
    """Multinomial(total_count, probs or logits over the last dim): the class counts of total_count categorical
    draws (event shape (K,))."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.dependent_property(is_discrete=True, event_dim=1)(
        lambda self: constraints.multinomial(self.total_count))

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits, validate_args=validate_args)
        self._binomial = Binomial(total_count=total_count, probs=self._categorical.probs)
        k = self._categorical._num_events
        super().__init__(tuple(self._categorical.batch_shape), (k,), validate_args=validate_args)

    probs = property(lambda self: self._categorical.probs)
    logits = property(lambda self: self._categorical.logits)
    mean = property(lambda self: self.probs * self.total_count)
    variance = property(lambda self: self.total_count * self.probs * (1 - self.probs))
    param_shape = property(lambda self: self._categorical.param_shape)

    def sample(self, sample_shape=()):
        tt = _tt()
        sample_shape = tuple(sample_shape)
        with tt.no_grad():
            draws = self._categorical.sample((self.total_count,) + sample_shape)   # (n, *sample, *batch)
            counts = tt.zeros(sample_shape + self._batch_shape + self._event_shape, dtype=self.probs.dtype,
                              device=self.probs.device)
            if self.total_count:   # one scatter-add of all n draws along the class dim
                index = draws.movedim(0, -1)
                counts.scatter_add_(-1, index, tt.ones(tuple(index.shape), dtype=counts.dtype, device=counts.device))
            return counts

    def log_prob(self, value):
        tt = _tt()
        logits, value = tt.broadcast_tensors(self.logits, value)
        logits = logits.masked_fill((value == 0) & (logits == -float("inf")), 0.0)
        log_factorial_n = tt.lgamma(value.sum(-1) + 1)
        log_factorial_xs = tt.lgamma(value + 1).sum(-1)
        return log_factorial_n - log_factorial_xs + (logits * value).sum(-1)

    def entropy(self):
        tt = _tt()
        n = self.total_count
        support = self._binomial.enumerate_support()           # (n + 1, *batch, K)
        binomial_probs = self._binomial.log_prob(support).exp()
        weights = tt.lgamma(support + 1)
        return n * self._categorical.entropy() - tt.lgamma(tt.tensor(n + 1.0, dtype=self.probs.dtype)) + \
            (weights * binomial_probs).sum((0, -1))
