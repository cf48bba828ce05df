"""Categorical, OneHotCategorical and Bernoulli (torch.distributions' discrete distributions)."""
from __future__ import annotations

import math


from .distribution import Distribution, _tt, broadcast_all, logits_to_probs, probs_to_logits

__all__ = ["Categorical", "OneHotCategorical", "Bernoulli"]


def _one_of(name: str, probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


class Categorical(Distribution):
    """Categorical(probs or logits over the last dim): samples are class indices (int64)."""

    arg_constraints = {"probs": "Simplex()", "logits": "IndependentConstraint(Real(), 1)"}
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
        if probs is not None:
            self._check("probs", probs, (probs >= 0), "Simplex()")

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

    def __repr__(self) -> str:
        v = self._probs if self._given == "probs" else self._logits
        return f"Categorical({self._given}: {v.size()})"


class OneHotCategorical(Distribution):
    """Categorical whose samples are one-hot vectors over the last dim."""

    arg_constraints = Categorical.arg_constraints
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


class Bernoulli(Distribution):
    """Bernoulli(probs or logits): samples are 0.0 / 1.0 in the parameter's dtype."""

    arg_constraints = {"probs": "Interval(lower_bound=0.0, upper_bound=1.0)", "logits": "Real()"}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of("Bernoulli", probs, logits)
        if probs is not None:
            (self._probs,) = broadcast_all(probs)
            self._logits, self._given, param = None, "probs", self._probs
        else:
            (self._logits,) = broadcast_all(logits)
            self._probs, self._given, param = None, "logits", self._logits
        self._param = param
        super().__init__(tuple(param.shape), validate_args=validate_args)
        if probs is not None:
            self._check("probs", self._probs, (self._probs >= 0) & (self._probs <= 1),
                        "Interval(lower_bound=0.0, upper_bound=1.0)")

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

    @property
    def mean(self):
        return self.probs

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

    def __repr__(self) -> str:
        v = self._probs if self._given == "probs" else self._logits
        return f"Bernoulli({self._given}: {v.item() if v.numel() == 1 else v.size()})"


