"""ExponentialFamily (torch.distributions.ExponentialFamily): densities p(x) = h(x) exp(<theta, t(x)> - F(theta)).
A subclass gives its natural parameters theta (_natural_params), the log normaliser F (_log_normalizer) and
E[log h(x)] (_mean_carrier_measure); entropy then follows from F alone, as
H = F(theta) - <theta, grad F(theta)> - E[log h(x)], with grad F from autograd (so it differentiates twice)."""
from __future__ import annotations

from .distribution import Distribution, _tt

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """The exponential-family base: its entropy (and KL between two members of one family, in kl.py) comes from
    the log normaliser, so a subclass without a closed-form entropy of its own still has one."""

    @property
    def _natural_params(self) -> tuple:
        raise NotImplementedError(f"{type(self).__name__} does not define its natural parameters")

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError(f"{type(self).__name__} does not define its log normalizer")

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError(f"{type(self).__name__} does not define its mean carrier measure")

    def entropy(self):
        """Entropy through the Bregman identity on the log normaliser (PyTorch's route)."""
        tt = _tt()
        result = -self._mean_carrier_measure
        # fresh leaves, so that grad F is taken with respect to theta alone; create_graph keeps it differentiable
        params = [p.detach().requires_grad_() for p in self._natural_params]
        log_norm = self._log_normalizer(*params)
        grads = tt.autograd.grad(log_norm.sum(), params, create_graph=True)
        result = result + log_norm
        for p, g in zip(params, grads):
            result = result - (p * g).reshape(self._batch_shape + (-1,)).sum(-1)
        return result
