"""Kumaraswamy (torch.distributions.Kumaraswamy): a Beta-like law on (0, 1) with a closed-form CDF
1 - (1 - x^a)^b, so samples are (1 - (1 - u)^(1/b))^(1/a): a Uniform through three transforms, as PyTorch."""
from __future__ import annotations

import math

from . import constraints
from .constrained import ConstrainedParams
from .continuous import Uniform
from .distribution import _tt, broadcast_all
from .transformed import TransformedDistribution
from .transforms import AffineTransform, PowerTransform

__all__ = ["Kumaraswamy"]

_EULER = 0.57721566490153286061


def _moments(a, b, n):
    """E[X^n] = b B(1 + n/a, b)."""
    tt = _tt()
    arg1 = 1 + n / a
    return b * (tt.lgamma(arg1) + tt.lgamma(b) - tt.lgamma(arg1 + b)).exp()


class Kumaraswamy(ConstrainedParams, TransformedDistribution):
    """Kumaraswamy(concentration1 a, concentration0 b): density a b x^(a-1) (1 - x^a)^(b-1) on (0, 1)."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        tt = _tt()
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        base = Uniform(tt.zeros_like(self.concentration0), tt.ones_like(self.concentration0),
                       validate_args=validate_args)
        transforms = [PowerTransform(self.concentration0.reciprocal()), AffineTransform(1.0, -1.0),
                      PowerTransform(self.concentration1.reciprocal())]
        super().__init__(base, transforms, validate_args=validate_args)
        self._validate_params()

    def expand(self, batch_shape, _instance=None):
        batch_shape = tuple(batch_shape)
        new = Kumaraswamy(self.concentration1.expand(batch_shape), self.concentration0.expand(batch_shape),
                          validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return _moments(self.concentration1, self.concentration0, 1)

    @property
    def mode(self):
        # ((a - 1) / (a b - 1))^(1/a), defined for a, b >= 1 (NaN elsewhere, as PyTorch)
        a, b = self.concentration1, self.concentration0
        log_mode = b.reciprocal() * (-b).log1p() - (-b * a).log1p()
        return _tt().where((b < 1) | (a < 1), math.nan, log_mode).exp()

    @property
    def variance(self):
        return _moments(self.concentration1, self.concentration0, 2) - self.mean.pow(2)

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        t1, t0 = 1 - a.reciprocal(), 1 - b.reciprocal()
        return t0 + t1 * (_tt().digamma(b + 1) + _EULER) - a.log() - b.log()
