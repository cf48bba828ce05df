"""MixtureSameFamily (torch.distributions.MixtureSameFamily): a Categorical over K components of one family,
whose rightmost batch dim indexes the components (a Gaussian mixture is MixtureSameFamily(Categorical(w),
Normal(mu, sigma)) with mu and sigma of shape (..., K))."""
from __future__ import annotations

from . import constraints
from .discrete import Categorical
from .distribution import Distribution, _tt, validated_elsewhere

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    """log_prob is the log-sum-exp over components of log w_k + log p_k(x); samples pick a component per draw,
    then take that component's draw (no rsample: the choice is discrete)."""

    arg_constraints: dict = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError("The Mixture distribution needs to be an instance of torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution need to be an instance of torch.distributions.Distribution")
        mdbs = tuple(mixture_distribution.batch_shape)
        cdbs = tuple(component_distribution.batch_shape)[:-1]
        for size1, size2 in zip(reversed(mdbs), reversed(cdbs)):
            if size1 != 1 and size2 != 1 and size1 != size2:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mdbs}) is not compatible with "
                                 f"`component_distribution.batch_shape`({cdbs})")
        km = mixture_distribution.logits.shape[-1]
        kc = component_distribution.batch_shape[-1]
        if km != kc:
            raise ValueError(f"`mixture_distribution component` ({km}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({kc})")
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._num_component = km
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(cdbs, tuple(component_distribution.event_shape), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        """PyTorch's: the components expanded to batch_shape + (K,), the mixing weights to batch_shape."""
        batch_shape = tuple(batch_shape)
        skip = ("_mixture_distribution", "_component_distribution")
        new = self._expand_attributes(batch_shape, _instance, skip=skip)
        new._component_distribution = self._component_distribution.expand(batch_shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        return new

    @constraints.dependent_property
    def support(self):
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    mixture_distribution = property(lambda self: self._mixture_distribution)
    component_distribution = property(lambda self: self._component_distribution)

    def _mixture_weights(self):
        """The component probabilities shaped to broadcast against component-wise values (..., K, *event)."""
        probs = self._mixture_distribution.probs
        return probs.reshape(tuple(probs.shape) + (1,) * self._event_ndims)

    @property
    def mean(self):
        return (self._mixture_weights() * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        # the law of total variance: E[Var(X | k)] + Var(E[X | k])
        w = self._mixture_weights()
        dim = -1 - self._event_ndims
        mean_cond_var = (w * self._component_distribution.variance).sum(dim)
        var_cond_mean = (w * (self._component_distribution.mean - self._pad(self.mean)).pow(2.0)).sum(dim)
        return mean_cond_var + var_cond_mean

    def _pad(self, x):
        return x.unsqueeze(-1 - self._event_ndims)

    @validated_elsewhere   # (PyTorch's MixtureSameFamily.cdf does not check x; its components do)
    def cdf(self, x):
        cdf_x = self._component_distribution.cdf(self._pad(x))
        return (cdf_x * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x):
        tt = _tt()
        log_prob_x = self._component_distribution.log_prob(self._pad(x))        # (..., K)
        log_mix_prob = tt.log_softmax(self._mixture_distribution.logits, -1)
        return (log_prob_x + log_mix_prob).logsumexp(-1)

    def sample(self, sample_shape=()):
        tt = _tt()
        sample_shape = tuple(sample_shape)
        with tt.no_grad():
            mix_sample = self._mixture_distribution.sample(sample_shape)       # (*S, *B)
            comp_samples = self._component_distribution.sample(sample_shape)   # (*S, *B, K, *E)
            index = mix_sample.reshape(tuple(mix_sample.shape) + (1,) * (self._event_ndims + 1))
            event = tuple(self._event_shape)
            index = index.expand(tuple(mix_sample.shape) + (1,) + event)
            gather_dim = len(sample_shape) + len(self._batch_shape)
            return comp_samples.gather(gather_dim, index).squeeze(gather_dim)

    def __repr__(self) -> str:
        return (f"MixtureSameFamily(\n  {self._mixture_distribution!r},\n  {self._component_distribution!r})")
