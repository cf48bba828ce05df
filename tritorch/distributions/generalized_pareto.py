"""GeneralizedPareto (torch.distributions.GeneralizedPareto): the peaks-over-threshold law, with Exponential
(concentration 0), Pareto (concentration > 0) and Uniform (concentration -1) as special cases; inverse-CDF
samples. The concentration == 0 branch is taken where the concentration is close to 0 (PyTorch's isclose)."""
from __future__ import annotations

import math

from . import constraints
from .constrained import ConstrainedParams
from .distribution import Distribution, _tt, broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(ConstrainedParams, Distribution):
    """GeneralizedPareto(loc, scale, concentration xi): survival (1 + xi z)^(-1/xi), z = (x - loc) / scale."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(tuple(self.loc.shape), validate_args=validate_args)
        self._validate_params()

    def expand(self, batch_shape, _instance=None):
        return self._expand_each(batch_shape, ("loc", "scale", "concentration"), _instance)

    def _safe_concentration(self):
        """(xi close to 0, xi with 1 there): the xi != 0 formulas then stay finite in the branch where() drops."""
        tt = _tt()
        xi = self.concentration
        eq_zero = tt.isclose(xi, tt.zeros_like(xi))
        return eq_zero, tt.where(eq_zero, tt.ones_like(xi), xi)

    def rsample(self, sample_shape=()):
        u = _tt().rand(self._extended_shape(sample_shape), dtype=self.loc.dtype, device=self.loc.device)
        return self.icdf(u)

    def log_prob(self, value):
        tt = _tt()
        z = (value - self.loc) / self.scale
        eq_zero, xi = self._safe_concentration()
        y = 1 / xi + tt.ones_like(z)
        nonzero = tt.where(y == 0, y, y * (xi * z).log1p())
        return -self.scale.log() - tt.where(eq_zero, z, nonzero)

    def log_survival_function(self, value):
        tt = _tt()
        z = (value - self.loc) / self.scale
        eq_zero, xi = self._safe_concentration()
        return tt.where(eq_zero, -z, -(xi * z).log1p() / xi)

    def log_cdf(self, value):
        return (-self.log_survival_function(value).exp()).log1p()

    def cdf(self, value):
        return self.log_cdf(value).exp()

    def icdf(self, value):
        tt = _tt()
        eq_zero, xi = self._safe_concentration()
        log_u = (-value).log1p()
        return tt.where(eq_zero, self.loc - self.scale * log_u, self.loc + self.scale / xi * (-xi * log_u).expm1())

    @property
    def mean(self):
        tt = _tt()
        valid = self.concentration < 1
        xi = tt.where(valid, self.concentration, 0.5)
        return tt.where(valid, self.loc + self.scale / (1 - xi), math.nan)

    @property
    def variance(self):
        tt = _tt()
        valid = self.concentration < 0.5
        xi = tt.where(valid, self.concentration, 0.25)
        return tt.where(valid, self.scale.pow(2) / ((1 - xi).pow(2) * (1 - 2 * xi)), math.nan)

    def entropy(self):
        return (self.scale.log() + self.concentration + 1).expand(self._batch_shape)

    @property
    def mode(self):
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        upper = _tt().where(self.concentration < 0, self.loc - self.scale / self.concentration, math.inf)
        return constraints.interval(self.loc, upper)
