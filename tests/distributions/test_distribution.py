"""The Distribution base class (tritorch/distributions/distribution.py) against PyTorch's."""
import pytest

import tritorch as tt


def test_what_a_family_lacks_raises_not_implemented_as_in_pytorch():
    """The base class's mean, mode, variance, entropy, log_prob, cdf, icdf and enumerate_support raise
    NotImplementedError where a family does not define them (code that falls back catches that), as PyTorch's do;
    a non-monotone transform's sign too."""
    import tritorch.distributions as D
    torch = pytest.importorskip("torch")
    cases = [("Bernoulli", (0.3,), "cdf"), ("Bernoulli", (0.3,), "icdf"), ("FisherSnedecor", (2.0, 3.0), "entropy"),
             ("Geometric", (0.3,), "cdf"), ("RelaxedBernoulli", (0.5, 0.3), "entropy"),
             ("RelaxedBernoulli", (0.5, 0.3), "mean"), ("Multinomial", (3, [0.2, 0.8]), "mode"),
             ("Normal", (0.0, 1.0), "enumerate_support")]
    for name, params, attr in cases:
        for lib in (torch.distributions, D):
            t = (lambda v: torch.tensor(v)) if lib is torch.distributions else (lambda v: tt.tensor(v))
            d = getattr(lib, name)(*[p if isinstance(p, int) else t(p) for p in params])
            with pytest.raises(NotImplementedError):
                member = getattr(d, attr)
                member(t(0.5)) if attr in ("cdf", "icdf") else (member() if callable(member) else None)
    with pytest.raises(NotImplementedError):
        D.LogisticNormal(tt.zeros(3), tt.ones(3)).icdf(tt.tensor([0.1, 0.2, 0.3, 0.4]))
    with pytest.raises(NotImplementedError):
        D.LogisticNormal(tt.zeros(3), tt.ones(3)).mean
