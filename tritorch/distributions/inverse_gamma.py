"""InverseGamma (torch.distributions.InverseGamma): 1 / X for X ~ Gamma(concentration, rate), as a
TransformedDistribution of the Gamma (so rsample differentiates through Gamma's implicit gradient)."""
from __future__ import annotations

import math

from . import constraints
from .constrained import ConstrainedParams
from .distribution import _tt
from .transformed import TransformedDistribution
from .transforms import PowerTransform
from .univariate import Gamma

__all__ = ["InverseGamma"]


class InverseGamma(ConstrainedParams, TransformedDistribution):
    """InverseGamma(concentration a, rate b): density b^a x^(-a-1) e^(-b/x) / Gamma(a) on x > 0."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        base = Gamma(concentration, rate, validate_args=validate_args)
        neg_one = _tt().full((), -1.0, dtype=base.rate.dtype, device=base.rate.device)
        super().__init__(base, PowerTransform(neg_one), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = tuple(batch_shape)
        new = InverseGamma(self.concentration.expand(batch_shape), self.rate.expand(batch_shape), validate_args=False)
        new._validate_args = self._validate_args
        return new

    concentration = property(lambda self: self.base_dist.concentration)
    rate = property(lambda self: self.base_dist.rate)

    @property
    def mean(self):
        a = self.concentration
        return _tt().where(a > 1, self.rate / (a - 1), math.inf)

    @property
    def mode(self):
        return self.rate / (self.concentration + 1)

    @property
    def variance(self):
        a = self.concentration
        return _tt().where(a > 2, self.rate.pow(2) / ((a - 1).pow(2) * (a - 2)), math.inf)

    def entropy(self):
        tt = _tt()
        a = self.concentration
        return a + self.rate.log() + tt.lgamma(a) - (1.0 + a) * tt.digamma(a)
