"""torch.distributions' lower-case submodule names (torch.distributions.normal, .beta, .utils ...), mapped onto
the tritorch modules that hold those classes, so that `from torch.distributions.normal import Normal` and
`torch.distributions.beta.Beta` work after `import tritorch as torch`."""
from __future__ import annotations

import importlib
import sys

# torch's module name -> the tritorch.distributions module defining what it holds
TORCH_MODULE_NAMES = {
    "bernoulli": "discrete", "categorical": "discrete", "one_hot_categorical": "discrete", "poisson": "discrete",
    "beta": "univariate", "cauchy": "univariate", "chi2": "univariate", "dirichlet": "univariate",
    "exponential": "univariate", "gamma": "univariate", "gumbel": "univariate", "half_normal": "univariate",
    "laplace": "univariate", "log_normal": "univariate", "studentT": "univariate",
    "binomial": "counts", "geometric": "counts", "multinomial": "counts", "negative_binomial": "counts",
    "normal": "continuous", "uniform": "continuous",
    "half_cauchy": "transformed", "pareto": "transformed", "weibull": "transformed",
    "transformed_distribution": "transformed",
    "mixture_same_family": "mixture", "relaxed_bernoulli": "relaxed", "relaxed_categorical": "relaxed",
    "utils": "distribution", "fishersnedecor": "fisher_snedecor",
}


def alias_torch_module_names(package: str) -> None:
    """Binds each torch module name as an attribute of `package` and registers it in sys.modules (so that the
    dotted import form finds it too)."""
    pkg = sys.modules[package]
    for torch_name, ours in TORCH_MODULE_NAMES.items():
        module = importlib.import_module(f"{package}.{ours}")
        setattr(pkg, torch_name, module)
        sys.modules.setdefault(f"{package}.{torch_name}", module)
