"""The concrete / Gumbel-softmax relaxations (torch.distributions' classes of these names): LogitRelaxedBernoulli
and RelaxedBernoulli (its sigmoid), ExpRelaxedCategorical and RelaxedOneHotCategorical (its exp): reparameterised
continuous stand-ins for Bernoulli and one-hot categorical draws at a temperature (Maddison et al.; Jang et al.,
2017), for VAEs with discrete latents."""
from __future__ import annotations

import math

from . import constraints
from .discrete import BinaryParams, Categorical
from .distribution import Distribution, _tt, broadcast_all, clamp_probs
from .transformed import TransformedDistribution
from .transforms import ExpTransform, SigmoidTransform

__all__ = ["LogitRelaxedBernoulli", "RelaxedBernoulli", "ExpRelaxedCategorical", "RelaxedOneHotCategorical"]


class LogitRelaxedBernoulli(BinaryParams, Distribution):
    """The logit of a relaxed Bernoulli draw: (logit(u) + logits) / temperature, u ~ U(0, 1)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self.temperature = temperature
        self._set_params(probs, logits)
        super().__init__(tuple(self._param.shape), validate_args=validate_args)

    def rsample(self, sample_shape=()):
        tt = _tt()
        shape = self._extended_shape(sample_shape)
        probs = clamp_probs(self.probs.expand(shape))
        u = clamp_probs(tt.rand(shape, dtype=probs.dtype, device=probs.device))
        return (u.log() - (-u).log1p() + probs.log() - (-probs).log1p()) / self.temperature

    def log_prob(self, value):
        logits, value = broadcast_all(self.logits, value)
        t = self.temperature
        diff = logits - value * t
        log_t = t.log() if hasattr(t, "log") else math.log(t)
        return log_t + diff - 2 * diff.exp().log1p()


class _RelaxedParams:
    """temperature, logits and probs of a relaxed distribution: those of its base (the logit / log relaxation)."""

    temperature = property(lambda self: self.base_dist.temperature)
    logits = property(lambda self: self.base_dist.logits)
    probs = property(lambda self: self.base_dist.probs)


class RelaxedBernoulli(_RelaxedParams, TransformedDistribution):
    """A relaxed Bernoulli draw in (0, 1): sigmoid of a LogitRelaxedBernoulli draw."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = LogitRelaxedBernoulli(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)


class ExpRelaxedCategorical(Distribution):
    """The log of a relaxed one-hot draw: log_softmax((logits + gumbel noise) / temperature) (event shape (K,))."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        self.temperature = temperature
        super().__init__(tuple(self._categorical.batch_shape), (self._categorical._num_events,),
                         validate_args=validate_args)

    logits = property(lambda self: self._categorical.logits)
    probs = property(lambda self: self._categorical.probs)
    param_shape = property(lambda self: self._categorical.param_shape)

    def rsample(self, sample_shape=()):
        tt = _tt()
        shape = self._extended_shape(sample_shape)
        logits = self.logits
        u = clamp_probs(tt.rand(shape, dtype=logits.dtype, device=logits.device))
        gumbels = -((-(u.log())).log())
        scores = (logits + gumbels) / self.temperature
        return scores - scores.logsumexp(-1, keepdim=True)

    def log_prob(self, value):
        tt = _tt()
        k = self._categorical._num_events
        t = self.temperature
        t = t if isinstance(t, tt.Tensor) else tt.tensor(float(t), dtype=self.logits.dtype, device=self.logits.device)
        log_scale = tt.full_like(t, k).lgamma() - t.log() * (-(k - 1))
        score = self.logits - value * t
        score = (score - score.logsumexp(-1, keepdim=True)).sum(-1)
        return score + log_scale


class RelaxedOneHotCategorical(_RelaxedParams, TransformedDistribution):
    """A relaxed one-hot draw on the simplex (the Gumbel-softmax): exp of an ExpRelaxedCategorical draw."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)
