"""ContinuousBernoulli (torch.distributions.ContinuousBernoulli, Loaiza-Ganem and Cunningham 2019): density
C(p) p^x (1 - p)^(1 - x) on [0, 1], the proper likelihood for [0, 1]-valued data (a VAE's pixels). Its
normaliser C(p), mean and variance have a removable singularity at p = 1/2: inside `lims` they switch to their
Taylor expansions (PyTorch's scheme). Inverse-CDF samples, so rsample is reparameterised."""
from __future__ import annotations

import math

from . import constraints
from .constrained import ConstrainedParams
from .distribution import _tt, broadcast_all, clamp_probs, logits_to_probs, probs_to_logits
from .exp_family import ExponentialFamily

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(ConstrainedParams, ExponentialFamily):
    """ContinuousBernoulli(probs=None, logits=None, lims=(0.499, 0.501)): exactly one of probs and logits."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        self._probs = self._logits = None
        if probs is not None:
            (probs,) = broadcast_all(probs)
            # checked before the clamp below, which would make any value pass (PyTorch checks it here too)
            if validate_args is not None and not bool(self.arg_constraints["probs"].check(probs).all()):
                raise ValueError("The parameter probs has invalid values")
            self._probs = clamp_probs(probs)
        else:
            (self._logits,) = broadcast_all(logits)
        self._param = self._probs if probs is not None else self._logits
        self._lims = lims
        super().__init__(tuple(self._param.shape), validate_args=validate_args)
        if logits is not None:
            self._validate_params_value("logits", self._logits)

    def _validate_params_value(self, name, value):
        if self._validate_args:
            c = self.arg_constraints[name]
            self._check(name, value, c.check(value), repr(c))

    @property
    def probs(self):
        if self._probs is None:
            self._probs = clamp_probs(logits_to_probs(self._logits, is_binary=True))
        return self._probs

    @property
    def logits(self):
        if self._logits is None:
            self._logits = probs_to_logits(self._probs, is_binary=True)
        return self._logits

    param_shape = property(lambda self: self._param.size())

    def expand(self, batch_shape, _instance=None):
        batch_shape = tuple(batch_shape)
        kwargs = ({"probs": self._probs.expand(batch_shape)} if self._probs is not None and self._param is self._probs
                  else {"logits": self.logits.expand(batch_shape)})
        new = ContinuousBernoulli(lims=self._lims, validate_args=False, **kwargs)
        new._validate_args = self._validate_args
        return new

    def _outside_unstable_region(self):
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self):
        """probs, with lims[0] inside the unstable region (so that the exact formulas stay finite there)."""
        return _tt().where(self._outside_unstable_region(), self.probs, self._lims[0] * _tt().ones_like(self.probs))

    def _cont_bern_log_norm(self):
        """log C(p) = log(|log(1 - p) - log p| / |1 - 2p|), log 2 + 4/3 x + 104/45 x^2 (x = (p - 1/2)^2) near 1/2."""
        tt = _tt()
        cut = self._cut_probs()
        below = tt.where(cut <= 0.5, cut, tt.zeros_like(cut))
        above = tt.where(cut >= 0.5, cut, tt.ones_like(cut))
        log_norm = ((-cut).log1p() - cut.log()).abs().log() - tt.where(cut <= 0.5, (-2.0 * below).log1p(),
                                                                         (2.0 * above - 1.0).log())
        x = (self.probs - 0.5).pow(2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return tt.where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self):
        tt = _tt()
        cut = self._cut_probs()
        mus = cut / (2.0 * cut - 1.0) + 1.0 / ((-cut).log1p() - cut.log())
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x.pow(2)) * x
        return tt.where(self._outside_unstable_region(), mus, taylor)

    @property
    def variance(self):
        tt = _tt()
        cut = self._cut_probs()
        v = cut * (cut - 1.0) / (1.0 - 2.0 * cut).pow(2) + 1.0 / ((-cut).log1p() - cut.log()).pow(2)
        x = (self.probs - 0.5).pow(2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return tt.where(self._outside_unstable_region(), v, taylor)

    def rsample(self, sample_shape=()):
        u = _tt().rand(self._extended_shape(sample_shape), dtype=self.probs.dtype, device=self.probs.device)
        return self.icdf(u)

    def log_prob(self, value):
        tt = _tt()
        logits, value = broadcast_all(self.logits, value)
        bce = tt.nn.functional.binary_cross_entropy_with_logits(logits, value, reduction="none")
        return -bce + self._cont_bern_log_norm()

    def cdf(self, value):
        tt = _tt()
        cut = self._cut_probs()
        cdfs = (cut.pow(value) * (1.0 - cut).pow(1.0 - value) + cut - 1.0) / (2.0 * cut - 1.0)
        unbounded = tt.where(self._outside_unstable_region(), cdfs, value)
        return tt.where(value <= 0.0, tt.zeros_like(value), tt.where(value >= 1.0, tt.ones_like(value), unbounded))

    def icdf(self, value):
        tt = _tt()
        cut = self._cut_probs()
        exact = (((-cut) + value * (2.0 * cut - 1.0)).log1p() - (-cut).log1p()) / (cut.log() - (-cut).log1p())
        return tt.where(self._outside_unstable_region(), exact, value)

    def entropy(self):
        log_p0, log_p1 = (-self.probs).log1p(), self.probs.log()
        return self.mean * (log_p0 - log_p1) - self._cont_bern_log_norm() - log_p0

    _natural_params = property(lambda self: (self.logits,))

    def _log_normalizer(self, x):
        tt = _tt()
        outside = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut = tt.where(outside, x, (self._lims[0] - 0.5) * tt.ones_like(x))
        log_norm = cut.expm1().abs().log() - cut.abs().log()
        taylor = 0.5 * x + x.pow(2) / 24.0 - x.pow(4) / 2880.0
        return tt.where(outside, log_norm, taylor)
