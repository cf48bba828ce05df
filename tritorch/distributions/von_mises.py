"""VonMises (torch.distributions.VonMises): the circular normal distribution on [-pi, pi), density
exp(kappa cos(x - loc)) / (2 pi I0(kappa)), with I0 from ops/bessel.py (log I0(kappa) = log i0e(kappa) + kappa,
no overflow). Samples by Best and Fisher's rejection method (1979) as tensor ops in rounds on the Philox
generator; no rsample, as in PyTorch."""
from __future__ import annotations

import math

from . import constraints
from .distribution import Distribution, _tt, broadcast_all

__all__ = ["VonMises"]


def _log_i0(kappa):
    from ..special import i0e
    return i0e(kappa).log() + kappa


class VonMises(Distribution):
    """VonMises(loc, concentration)."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(tuple(self.loc.shape), validate_args=validate_args)

    def log_prob(self, value):
        return self.concentration * (value - self.loc).cos() - math.log(2 * math.pi) - _log_i0(self.concentration)

    mean = property(lambda self: self.loc)
    mode = property(lambda self: self.loc)

    @property
    def variance(self):
        from ..special import i0e, i1e
        return 1 - i1e(self.concentration) / i0e(self.concentration)   # circular variance 1 - I1/I0

    def _proposal_r(self):
        kappa = self.concentration.double()
        tau = 1 + (1 + 4 * kappa * kappa).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        r = (1 + rho * rho) / (2 * rho)
        # small kappa: the expression above cancels; its series is 1/kappa + kappa
        small = 1 / kappa + kappa
        return _tt().where(kappa < 1e-5, small, r).to(self.loc.dtype)

    def sample(self, sample_shape=()):
        tt = _tt()
        shape = self._extended_shape(sample_shape)
        with tt.no_grad():
            loc = self.loc.expand(shape)
            kappa = self.concentration.expand(shape)
            r = self._proposal_r().expand(shape)
            x = tt.zeros(shape, dtype=loc.dtype, device=loc.device)
            done = tt.zeros(shape, dtype=tt.bool, device=loc.device)
            for _ in range(1000):
                u1, u2, u3 = (tt.rand(shape, dtype=loc.dtype, device=loc.device) for _ in range(3))
                z = (math.pi * u1).cos()
                f = (1 + r * z) / (r + z)
                c = kappa * (r - f)
                accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
                x = tt.where(accept & ~done, (u3 - 0.5).sign() * f.clamp(-1, 1).acos(), x)
                done = done | accept
                if bool(done.all()):
                    return (x + math.pi + loc) % (2 * math.pi) - math.pi
            raise RuntimeError("VonMises sampling: the rejection sampler did not finish in 1000 rounds")
