"""FisherSnedecor (torch.distributions.FisherSnedecor): the F distribution, the ratio of two scaled chi-squared
draws, sampled as Gamma(df1/2, df1) / Gamma(df2/2, df2) (reparameterised through both Gammas)."""
from __future__ import annotations

import math

from . import constraints
from .constrained import ConstrainedParams
from .distribution import Distribution, _tt, broadcast_all
from .univariate import Gamma

__all__ = ["FisherSnedecor"]


class FisherSnedecor(ConstrainedParams, Distribution):
    """FisherSnedecor(df1, df2) on x > 0."""

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args=None):
        self.df1, self.df2 = broadcast_all(df1, df2)
        # the Gammas validate first, so a bad df is reported as their concentration (as PyTorch's message)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1, validate_args=validate_args)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2, validate_args=validate_args)
        super().__init__(tuple(self.df1.shape), validate_args=validate_args)
        self._validate_params()

    def expand(self, batch_shape, _instance=None):
        batch_shape = tuple(batch_shape)
        new = FisherSnedecor(self.df1.expand(batch_shape), self.df2.expand(batch_shape), validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        df2 = self.df2
        return _tt().where(df2 > 2, df2 / (df2 - 2), math.nan)

    @property
    def mode(self):
        return _tt().where(self.df1 > 2, (self.df1 - 2) / self.df1 * self.df2 / (self.df2 + 2), math.nan)

    @property
    def variance(self):
        df1, df2 = self.df1, self.df2
        v = 2 * df2.pow(2) * (df1 + df2 - 2) / (df1 * (df2 - 2).pow(2) * (df2 - 4))
        return _tt().where(df2 > 4, v, math.nan)

    def rsample(self, sample_shape=()):
        tiny = _tt().finfo(self.df1.dtype).tiny
        x1 = self._gamma1.rsample(sample_shape)
        x2 = self._gamma2.rsample(sample_shape).clamp(min=tiny)
        return (x1 / x2).clamp(min=tiny)

    def log_prob(self, value):
        tt = _tt()
        ct1, ct2, ct3 = self.df1 * 0.5, self.df2 * 0.5, self.df1 / self.df2
        t1 = tt.lgamma(ct1 + ct2) - tt.lgamma(ct1) - tt.lgamma(ct2)
        t2 = ct1 * ct3.log() + (ct1 - 1) * value.log()
        t3 = (ct1 + ct2) * (ct3 * value).log1p()
        return t1 + t2 - t3
