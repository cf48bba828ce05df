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
from .discrete import (Bernoulli, Categorical, OneHotCategorical, OneHotCategoricalStraightThrough,  # noqa: F401
                       Poisson)
from .distribution import Distribution  # noqa: F401
from .independent import Independent  # noqa: F401
from .kl import kl_divergence, register_kl  # noqa: F401
from .multivariate_normal import MultivariateNormal  # noqa: F401
from .lowrank_multivariate_normal import LowRankMultivariateNormal  # noqa: F401
from .inverse_gamma import InverseGamma  # noqa: F401
from .kumaraswamy import Kumaraswamy  # noqa: F401
from .generalized_pareto import GeneralizedPareto  # noqa: F401
from .fisher_snedecor import FisherSnedecor  # noqa: F401
from .continuous_bernoulli import ContinuousBernoulli  # noqa: F401
from .logistic_normal import LogisticNormal  # noqa: F401
from .lkj_cholesky import LKJCholesky  # noqa: F401
from .wishart import Wishart  # noqa: F401
from . import constraints, transforms  # noqa: F401
from .transformed import HalfCauchy, Pareto, TransformedDistribution, Weibull  # noqa: F401
from .mixture import MixtureSameFamily  # noqa: F401
from . import relaxed  # noqa: F401
from .relaxed import RelaxedBernoulli, RelaxedOneHotCategorical  # noqa: F401
from .von_mises import VonMises  # noqa: F401
from . import kl_more  # noqa: F401,E402  (registers the remaining KL rules)
from .univariate import (Beta, Cauchy, Chi2, Dirichlet, Exponential, Gamma, Gumbel, HalfNormal, Laplace,  # noqa: F401
                         LogNormal, StudentT)
from .exp_family import ExponentialFamily  # noqa: F401
from . import constraint_registry  # noqa: F401
from .constraint_registry import biject_to, transform_to  # noqa: F401
from .transforms import *  # noqa: F401,F403  (the Transform classes, as torch.distributions exports them)
from .transforms import __all__ as _transform_names
from ._module_names import alias_torch_module_names

alias_torch_module_names(__name__)

__all__ = ["Distribution", "Normal", "Uniform", "Exponential", "Laplace", "LogNormal", "Gumbel", "HalfNormal",
           "Cauchy", "Gamma", "Chi2", "StudentT", "Beta", "Dirichlet", "MultivariateNormal", "Categorical",
           "OneHotCategorical", "OneHotCategoricalStraightThrough", "Bernoulli", "Poisson", "Independent",
           "TransformedDistribution", "Pareto", "Weibull",
           "Geometric", "Binomial", "NegativeBinomial", "Multinomial", "HalfCauchy", "MixtureSameFamily",
           "RelaxedBernoulli", "RelaxedOneHotCategorical",
           "VonMises", "ExponentialFamily", "constraints", "transforms", "kl_divergence", "register_kl",
           "biject_to", "transform_to", "constraint_registry", "LowRankMultivariateNormal",
           "InverseGamma", "Kumaraswamy", "GeneralizedPareto",
           "FisherSnedecor", "ContinuousBernoulli", "LogisticNormal", "LKJCholesky", "Wishart"]
__all__ += _transform_names
