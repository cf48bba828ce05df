"""Categorical, OneHotCategorical, Bernoulli and Poisson (torch.distributions' discrete distributions), and the
Poisson sampler behind tritorch.poisson."""
from __future__ import annotations

import math


from . import constraints
from ..tensor import Tensor
from .distribution import Distribution, _tt, broadcast_all, logits_to_probs, probs_to_logits
from .exp_family import ExponentialFamily

__all__ = ["Categorical", "OneHotCategorical", "OneHotCategoricalStraightThrough", "Bernoulli", "Poisson",
           "BinaryParams", "poisson_sample"]


def _one_of(name: str, probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


class Categorical(Distribution):
    """Categorical(probs or logits over the last dim): samples are class indices (int64)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.dependent_property(is_discrete=True, event_dim=0)(
        lambda self: constraints.integer_interval(0, self._num_events - 1))
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of("Categorical", probs, logits)
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self._given = "probs"
            self._probs = probs / probs.sum(-1, keepdim=True)
            self._logits = None
            param = self._probs
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self._given = "logits"
            self._logits = logits - logits.logsumexp(-1, keepdim=True)
            self._probs = None
            param = self._logits
        self._param = param
        self._num_events = param.shape[-1]
        super().__init__(tuple(param.shape[:-1]), validate_args=validate_args)

    @property
    def probs(self):
        if self._probs is None:
            self._probs = logits_to_probs(self._logits)
        return self._probs

    @property
    def logits(self):
        if self._logits is None:
            self._logits = probs_to_logits(self._probs)
        return self._logits

    @property
    def param_shape(self):
        return self._param.size()

    @property
    def mean(self):
        return self._param.new_full(self._extended_shape(), float("nan"))

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return self._param.new_full(self._extended_shape(), float("nan"))

    def sample(self, sample_shape=()):
        tt = _tt()
        n = math.prod(tuple(sample_shape))
        probs_2d = self.probs.reshape(-1, self._num_events)
        with tt.no_grad():
            samples_2d = tt.multinomial(probs_2d, n, True).T if n else \
                tt.empty((0, probs_2d.shape[0]), dtype=tt.int64, device=probs_2d.device)
        return samples_2d.reshape(self._extended_shape(sample_shape))

    def log_prob(self, value):
        tt = _tt()
        value = value.long().unsqueeze(-1)
        value, log_pmf = tt.broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self):
        tt = _tt()
        logits = self.logits.clamp(min=tt.finfo(self.logits.dtype).min)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True):
        tt = _tt()
        values = tt.arange(self._num_events, dtype=tt.int64, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + self._batch_shape) if expand else values


class OneHotCategorical(Distribution):
    """Categorical whose samples are one-hot vectors over the last dim."""

    arg_constraints = Categorical.arg_constraints
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args)
        super().__init__(tuple(self._categorical.batch_shape), (self._categorical._num_events,),
                         validate_args=validate_args)

    probs = property(lambda self: self._categorical.probs)
    logits = property(lambda self: self._categorical.logits)
    mean = property(lambda self: self._categorical.probs)
    variance = property(lambda self: self._categorical.probs * (1 - self._categorical.probs))

    @property
    def mode(self):
        from ..nn.functional import one_hot
        return one_hot(self._categorical.mode, self._categorical._num_events).to(self.probs.dtype)

    def sample(self, sample_shape=()):
        from ..nn.functional import one_hot
        return one_hot(self._categorical.sample(sample_shape), self._categorical._num_events).to(self.probs.dtype)

    def log_prob(self, value):
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True):
        """The n one-hot vectors, (n, 1, ..., 1, n), expanded over the batch shape (expand=True), as PyTorch's
        (it declared has_enumerate_support and raised)."""
        tt = _tt()
        n = self._categorical._num_events
        values = tt.eye(n, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((n,) + (1,) * len(self.batch_shape) + (n,))
        return values.expand((n,) + tuple(self.batch_shape) + (n,)) if expand else values


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """OneHotCategorical with the straight-through gradient: rsample is a one-hot draw in value whose gradient is
    that of probs (sample + probs - probs.detach()), as in PyTorch."""

    has_rsample = True

    def rsample(self, sample_shape=()):
        samples = self.sample(sample_shape)
        probs = self._categorical.probs
        return samples + (probs - probs.detach())


class BinaryParams:
    """probs / logits of a Bernoulli trial (Bernoulli, Geometric, Binomial, NegativeBinomial, the relaxed
    Bernoulli): whichever was given, broadcast with the distribution's other parameters; the other computed on
    first use."""

    @property
    def probs(self):
        if self._probs is None:
            self._probs = logits_to_probs(self._logits, is_binary=True)
        return self._probs

    @property
    def logits(self):
        if self._logits is None:
            self._logits = probs_to_logits(self._probs, is_binary=True)
        return self._logits

    def _set_params(self, probs, logits, *others) -> tuple:
        """Store the given parameter (as `_param` too) and return `others` broadcast with it."""
        _one_of(type(self).__name__, probs, logits)
        given = broadcast_all(probs if probs is not None else logits, *others)
        self._given = "probs" if probs is not None else "logits"
        self._probs, self._logits = (given[0], None) if probs is not None else (None, given[0])
        self._param = given[0]
        return given[1:]


class Bernoulli(BinaryParams, ExponentialFamily):
    """Bernoulli(probs or logits): samples are 0.0 / 1.0 in the parameter's dtype."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._set_params(probs, logits)
        super().__init__(tuple(self._param.shape), validate_args=validate_args)

    @property
    def mean(self):
        return self.probs

    _mean_carrier_measure = 0
    _natural_params = property(lambda self: (self.logits,))

    def _log_normalizer(self, x):
        return x.exp().log1p()

    @property
    def mode(self):
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return _tt().where(self.probs == 0.5, float("nan"), mode)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        tt = _tt()
        with tt.no_grad():
            return tt.bernoulli(self.probs.expand(*self._extended_shape(sample_shape)))

    def log_prob(self, value):
        from ..nn.functional import binary_cross_entropy_with_logits
        logits, value = _tt().broadcast_tensors(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        from ..nn.functional import binary_cross_entropy_with_logits
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand: bool = True):
        tt = _tt()
        values = tt.arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + self._batch_shape) if expand else values


def poisson_sample(rate: Tensor, generator=None) -> Tensor:
    """Poisson(rate) draws, elementwise, in rate's dtype (no graph): below a rate of 10, Knuth's product of
    uniforms (count the factors until the product falls under e^-rate); from 10 on, Hormann's transformed
    rejection with squeeze (PTRS, 1993), which accepts about 90% of tries. Both run as tensor ops in rounds,
    until every element is done, on the Philox generator (cpu and cuda draw alike)."""
    tt = _tt()
    with tt.no_grad():
        shape, dt, dev = tuple(rate.shape), rate.dtype, rate.device
        if rate.numel() == 0:
            return rate.clone()
        small = rate < 10
        out = tt.zeros(shape, dtype=dt, device=dev)
        if bool(small.any()):
            limit = (-rate).exp()
            prod = tt.rand(shape, dtype=dt, device=dev, generator=generator)
            count = tt.zeros(shape, dtype=dt, device=dev)
            going = small & (prod > limit)
            while bool(going.any()):
                for _ in range(8):   # (one host check per eight factors)
                    count = count + going.to(dt)
                    prod = tt.where(going, prod * tt.rand(shape, dtype=dt, device=dev, generator=generator), prod)
                    going = going & (prod > limit)
            out = tt.where(small, count, out)
        big = ~small & (rate > 0)
        if bool(big.any()):
            lam = tt.where(big, rate, 10.0)
            slam, loglam = lam.sqrt(), lam.log()
            b = 0.931 + 2.53 * slam
            a = -0.059 + 0.02483 * b
            inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
            v_r = 0.9277 - 3.6224 / (b - 2)
            todo = big.clone()
            for _ in range(200):
                u = tt.rand(shape, dtype=dt, device=dev, generator=generator) - 0.5
                v = tt.rand(shape, dtype=dt, device=dev, generator=generator)
                us = 0.5 - u.abs()
                k = ((2 * a / us + b) * u + lam + 0.43).floor()
                squeeze = (us >= 0.07) & (v <= v_r)
                reject = (k < 0) | ((us < 0.013) & (v > us))
                bound = -lam + k * loglam - tt.lgamma(k + 1)
                exact = (v.log() + inv_alpha.log() - (a / (us * us) + b).log()) <= bound
                ok = squeeze | (~reject & exact)
                out = tt.where(todo & ok, k, out)
                todo = todo & ~ok
                if not bool(todo.any()):
                    break
            else:
                raise RuntimeError("Poisson sampling: the rejection sampler did not finish in 200 rounds")
        return out


class Poisson(ExponentialFamily):
    """Poisson(rate): counts (as floats, like PyTorch's); sample() only (counts are not differentiable)."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(tuple(self.rate.shape), validate_args=validate_args)

    mean = property(lambda self: self.rate)
    mode = property(lambda self: self.rate.floor())
    variance = property(lambda self: self.rate)
    _natural_params = property(lambda self: (self.rate.log(),))

    def _log_normalizer(self, x):
        return x.exp()

    def sample(self, sample_shape=()):
        return poisson_sample(self.rate.expand(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        tt = _tt()
        rate, value = tt.broadcast_tensors(self.rate, value)
        return tt.xlogy(value, rate) - rate - tt.lgamma(value + 1)
