"""TransformedDistribution (torch.distributions.TransformedDistribution) and the distributions PyTorch defines as
one: Pareto (an exponential, exponentiated and scaled), Weibull (an exponential raised to 1/k and scaled) and
HalfCauchy (|Cauchy(0, scale)|)."""
from __future__ import annotations

from . import constraints
from .distribution import Distribution, _tt, broadcast_all
from .independent import Independent
from .transforms import (AbsTransform, AffineTransform, ComposeTransform, ExpTransform, PowerTransform, Transform,
                         _sum_rightmost)
from .univariate import Cauchy, Exponential, FoldedAtZero

__all__ = ["TransformedDistribution", "Pareto", "Weibull", "HalfCauchy"]

_EULER_GAMMA = 0.57721566490153286061


class _LeadingBatch(Distribution):
    """`base` with more batch dims in front (a transform's parameters broadcast the base's batch shape): each
    extra index gets its own independent draws."""

    def __init__(self, base: Distribution, lead: tuple):
        self.base, self.lead = base, tuple(lead)
        super().__init__(self.lead + tuple(base.batch_shape), tuple(base.event_shape), validate_args=False)

    has_rsample = property(lambda self: self.base.has_rsample)

    def sample(self, sample_shape=()):
        return self.base.sample(tuple(sample_shape) + self.lead)

    def rsample(self, sample_shape=()):
        return self.base.rsample(tuple(sample_shape) + self.lead)

    def log_prob(self, value):
        return self.base.log_prob(value)

    def expand(self, batch_shape, _instance=None):
        batch_shape = tuple(batch_shape)
        cut = len(batch_shape) - len(self.base.batch_shape)
        return _LeadingBatch(self.base.expand(batch_shape[cut:]), batch_shape[:cut])


class TransformedDistribution(Distribution):
    """The distribution of transforms[-1](...transforms[0](x)) for x ~ base_distribution. log_prob inverts the
    transforms and subtracts their log |det J|; sample/rsample apply them to the base's draws."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution: Distribution, transforms, validate_args=None):
        if isinstance(transforms, Transform):
            self.transforms = [transforms]
        elif isinstance(transforms, (list, tuple)) and all(isinstance(t, Transform) for t in transforms):
            self.transforms = list(transforms)
        else:
            raise ValueError(f"transforms must be a Transform or a list of Transforms, but was {transforms}")
        base_shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        base_event_dim = len(base_distribution.event_shape)
        transform = ComposeTransform(self.transforms)
        if len(base_shape) < transform.domain.event_dim:
            raise ValueError(f"base_distribution needs to have shape with size at least "
                             f"{transform.domain.event_dim}, but got {base_shape}.")
        forward_shape = transform.forward_shape(base_shape)
        expanded = transform.inverse_shape(forward_shape)
        if expanded != base_shape:
            lead = len(expanded) - len(base_shape)
            if lead <= 0 or expanded[lead:] != base_shape:
                raise ValueError(f"the transforms broadcast the base distribution's shape {base_shape} to "
                                 f"{expanded}; only new leading batch dims are supported: give the base "
                                 "distribution parameters of the broadcast shape")
            base_distribution = _LeadingBatch(base_distribution, expanded[:lead])
        reinterpreted = transform.domain.event_dim - base_event_dim
        if reinterpreted > 0:
            base_distribution = Independent(base_distribution, reinterpreted)
        self.base_dist = base_distribution
        event_dim = max(transform.codomain.event_dim,
                        base_event_dim + transform.codomain.event_dim - transform.domain.event_dim)
        cut = len(forward_shape) - event_dim
        super().__init__(forward_shape[:cut], forward_shape[cut:], validate_args=validate_args)

    has_rsample = property(lambda self: self.base_dist.has_rsample)

    def expand(self, batch_shape, _instance=None):
        """PyTorch's: the base expanded to the batch shape the transforms' inverse shapes give; the transforms
        are shared (their parameters broadcast)."""
        shape = tuple(batch_shape) + self._event_shape
        for t in reversed(self.transforms):
            shape = t.inverse_shape(shape)
        new = self._expand_attributes(batch_shape, _instance, skip=("base_dist",))
        new.base_dist = self.base_dist.expand(shape[:len(shape) - len(self.base_dist.event_shape)])
        return new

    @constraints.dependent_property
    def support(self):
        if not self.transforms:
            return getattr(self.base_dist, "support", constraints.real)
        support = self.transforms[-1].codomain
        if len(self.event_shape) > support.event_dim:
            support = constraints.independent(support, len(self.event_shape) - support.event_dim)
        return support

    def sample(self, sample_shape=()):
        with _tt().no_grad():
            x = self.base_dist.sample(sample_shape)
            for t in self.transforms:
                x = t(x)
            return x

    def rsample(self, sample_shape=()):
        x = self.base_dist.rsample(sample_shape)
        for t in self.transforms:
            x = t(x)
        return x

    def log_prob(self, value):
        event_dim = len(self.event_shape)
        log_prob = 0.0
        y = value
        for t in reversed(self.transforms):
            x = t.inv(y)
            event_dim += t.domain.event_dim - t.codomain.event_dim
            log_prob = log_prob - _sum_rightmost(t.log_abs_det_jacobian(x, y), event_dim - t.domain.event_dim)
            y = x
        return log_prob + _sum_rightmost(self.base_dist.log_prob(y), event_dim - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value):
        """The base cdf turned into this one's: 1 - cdf where the composed transform decreases (per element
        for tensor-valued signs)."""
        sign = 1
        for t in self.transforms:
            sign = sign * t.sign
        if isinstance(sign, int) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value):
        for t in reversed(self.transforms):
            value = t.inv(value)
        return self._monotonize_cdf(self.base_dist.cdf(value))

    def icdf(self, value):
        value = self.base_dist.icdf(self._monotonize_cdf(value))
        for t in self.transforms:
            value = t(value)
        return value


class Pareto(TransformedDistribution):
    """Pareto(scale, alpha): density alpha scale^alpha / x^(alpha + 1) on x >= scale; samples
    scale * exp(e), e ~ Exponential(alpha)."""

    arg_constraints = {"alpha": constraints.positive, "scale": constraints.positive}

    def __init__(self, scale, alpha, validate_args=None):
        self.scale, self.alpha = broadcast_all(scale, alpha)
        base = Exponential(self.alpha, validate_args=validate_args)
        super().__init__(base, [ExpTransform(), AffineTransform(loc=0, scale=self.scale)],
                         validate_args=validate_args)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.greater_than_eq(self.scale)

    @property
    def mean(self):
        a = self.alpha.clamp(min=1)   # infinite for alpha <= 1
        return a * self.scale / (a - 1)

    @property
    def mode(self):
        return self.scale

    @property
    def variance(self):
        a = self.alpha.clamp(min=2)   # infinite for alpha <= 2
        return self.scale.pow(2) * a / ((a - 1).pow(2) * (a - 2))

    def entropy(self):
        return (self.scale / self.alpha).log() + (1 + self.alpha.reciprocal())


class Weibull(TransformedDistribution):
    """Weibull(scale, concentration k): density (k/scale) (x/scale)^(k-1) exp(-(x/scale)^k) on x >= 0; samples
    scale * e^(1/k), e ~ Exponential(1)."""

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive

    def __init__(self, scale, concentration, validate_args=None):
        self.scale, self.concentration = broadcast_all(scale, concentration)
        self.concentration_reciprocal = self.concentration.reciprocal()
        base = Exponential(_tt().ones_like(self.scale), validate_args=validate_args)
        super().__init__(base, [PowerTransform(exponent=self.concentration_reciprocal),
                                AffineTransform(loc=0, scale=self.scale)], validate_args=validate_args)

    @property
    def mean(self):
        return self.scale * _tt().lgamma(1 + self.concentration_reciprocal).exp()

    @property
    def mode(self):
        k = self.concentration
        return self.scale * ((k - 1) / k) ** k.reciprocal()

    @property
    def variance(self):
        lg = _tt().lgamma
        return self.scale.pow(2) * (lg(1 + 2 * self.concentration_reciprocal).exp()
                                    - lg(1 + self.concentration_reciprocal).exp().pow(2))

    def entropy(self):
        return (_EULER_GAMMA * (1 - self.concentration_reciprocal)
                + (self.scale * self.concentration_reciprocal).log() + 1)


class HalfCauchy(FoldedAtZero, TransformedDistribution):
    """HalfCauchy(scale): |x| for x ~ Cauchy(0, scale), density 2 / (pi scale (1 + (x / scale)^2)) on x >= 0 (a
    common prior for scales); no mean or variance (inf)."""

    arg_constraints = {"scale": constraints.positive}
    has_rsample = True
    support = constraints.nonnegative

    def __init__(self, scale, validate_args=None):
        base = Cauchy(0, scale, validate_args=False)
        super().__init__(base, AbsTransform(), validate_args=validate_args)

    scale = property(lambda self: self.base_dist.scale)
    mean = property(lambda self: _tt().full_like(self.scale, float("inf")))
    mode = property(lambda self: _tt().zeros_like(self.scale))
    variance = property(lambda self: _tt().full_like(self.scale, float("inf")))

    def __repr__(self) -> str:
        return f"HalfCauchy(scale: {self.scale.item() if self.scale.numel() == 1 else self.scale.size()})"
