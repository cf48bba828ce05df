"""tritorch.distributions: torch.distributions' interface for the distributions training scripts use most
(policy gradients, VAEs, sampling): Normal, Uniform, Exponential, Laplace, LogNormal, Gumbel, HalfNormal, Cauchy,
Gamma, Chi2, StudentT, Beta, Dirichlet, MultivariateNormal, Categorical, OneHotCategorical, Bernoulli, Poisson,
Geometric, Binomial, NegativeBinomial, Multinomial, HalfCauchy, VonMises, MixtureSameFamily, the relaxed
(Gumbel-softmax) Bernoulli and one-hot categorical,
Independent, TransformedDistribution with its transforms (Pareto and Weibull are built on it), and
kl_divergence with its registry. Built from tritorch ops, so they run on both devices and
rsample/log_prob are differentiable; samples come from the Philox generator (tt.manual_seed)."""
from .continuous import Normal, Uniform  # noqa: F401
from .counts import Binomial, Geometric, Multinomial, NegativeBinomial  # noqa: F401
from .discrete import Bernoulli, Categorical, OneHotCategorical, Poisson  # noqa: F401
from .distribution import Distribution  # noqa: F401
from .independent import Independent  # noqa: F401
from .kl import kl_divergence, register_kl  # noqa: F401
from .multivariate_normal import MultivariateNormal  # noqa: F401
from . import constraints, transforms  # noqa: F401
from .transformed import HalfCauchy, Pareto, TransformedDistribution, Weibull  # noqa: F401
from .mixture import MixtureSameFamily  # noqa: F401
from . import relaxed  # noqa: F401
from .relaxed import RelaxedBernoulli, RelaxedOneHotCategorical  # noqa: F401
from .von_mises import VonMises  # noqa: F401
from . import kl_more  # noqa: F401,E402  (registers the remaining KL rules)
from .univariate import (Beta, Cauchy, Chi2, Dirichlet, Exponential, Gamma, Gumbel, HalfNormal, Laplace,  # noqa: F401
                         LogNormal, StudentT)

__all__ = ["Distribution", "Normal", "Uniform", "Exponential", "Laplace", "LogNormal", "Gumbel", "HalfNormal",
           "Cauchy", "Gamma", "Chi2", "StudentT", "Beta", "Dirichlet", "MultivariateNormal", "Categorical",
           "OneHotCategorical", "Bernoulli", "Poisson", "Independent", "TransformedDistribution", "Pareto", "Weibull",
           "Geometric", "Binomial", "NegativeBinomial", "Multinomial", "HalfCauchy", "MixtureSameFamily",
           "RelaxedBernoulli", "RelaxedOneHotCategorical",
           "VonMises", "constraints", "transforms", "kl_divergence", "register_kl"]
