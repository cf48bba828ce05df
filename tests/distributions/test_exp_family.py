"""ExponentialFamily's entropy and Bregman KL against torch.distributions (float64, values and gradients), and
torch.distributions' public names (Transform classes, lower-case submodule names) at package level."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")
D, TD = tt.distributions, torch.distributions

CASES = {
    "Normal": ((0.3, -1.2), (1.7, 0.4)),
    "Exponential": ((2.0, 0.5),),
    "Gamma": ((2.5, 0.7), (1.5, 3.0)),
    "Beta": ((2.0, 0.6), (3.0, 1.4)),
    "Bernoulli": ((0.3, 0.8),),
    "Dirichlet": (((1.0, 2.0, 3.0), (0.5, 0.7, 4.0)),),
}
OTHER = {"Normal": ((1.0, 0.2), (0.6, 2.0)), "Exponential": ((0.7, 1.5),), "Gamma": ((1.2, 4.0), (0.8, 2.0)),
         "Beta": ((0.9, 2.0), (1.1, 0.5)), "Bernoulli": ((0.6, 0.1),),
         "Dirichlet": (((2.0, 2.0, 1.0), (1.5, 0.2, 0.9)),)}


def _pair(name, args, device="cpu"):
    ours = [tt.tensor(np.array(a), dtype=tt.float64, device=device, requires_grad=True) for a in args]
    theirs = [torch.tensor(np.array(a), dtype=torch.float64, requires_grad=True) for a in args]
    return getattr(D, name)(*ours), ours, getattr(TD, name)(*theirs), theirs


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("name", list(CASES))
def test_entropy_through_log_normalizer(name, device):
    d, _, t, _ = _pair(name, CASES[name], device)
    assert isinstance(d, D.ExponentialFamily)
    h = D.ExponentialFamily.entropy(d)       # the Bregman route, not the class's closed form
    # (the route detaches the natural parameters, in torch too: only its value is compared)
    np.testing.assert_allclose(h.detach().cpu().numpy(), t.entropy().detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_bregman_kl_matches_torch(name):
    from tritorch.distributions.kl_more import _kl_expfamily_expfamily
    from torch.distributions.kl import _kl_expfamily_expfamily as torch_rule
    p, _, tp, _ = _pair(name, CASES[name])
    q, _, tq, _ = _pair(name, OTHER[name])
    kl = _kl_expfamily_expfamily(p, q)
    expected = torch_rule(tp, tq)
    np.testing.assert_allclose(kl.detach().numpy(), expected.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(kl.detach().numpy(), D.kl_divergence(p, q).detach().numpy(), rtol=1e-9, atol=1e-12)


def test_bregman_kl_refuses_two_families():
    from tritorch.distributions.kl_more import _kl_expfamily_expfamily
    with pytest.raises(NotImplementedError, match="different exponential families"):
        _kl_expfamily_expfamily(D.Normal(0.0, 1.0), D.Exponential(1.0))


def test_poisson_is_exponential_family():
    d = D.Poisson(tt.tensor([0.5, 3.0], dtype=tt.float64))
    assert isinstance(d, D.ExponentialFamily)
    np.testing.assert_allclose(d._log_normalizer(*d._natural_params).numpy(), [0.5, 3.0])


def test_torch_class_hierarchy():
    for name in ("Bernoulli", "Beta", "Dirichlet", "Exponential", "Gamma", "Normal", "Poisson", "ContinuousBernoulli",
                 "Wishart"):
        assert issubclass(getattr(D, name), D.ExponentialFamily) == issubclass(getattr(TD, name),
                                                                              TD.ExponentialFamily)


def test_transform_classes_at_package_level():
    for name in TD.transforms.__all__:
        if hasattr(TD, name) and name in D.transforms.__all__:
            assert getattr(D, name) is getattr(D.transforms, name)
    assert isinstance(D.identity_transform, D.ComposeTransform)


def test_lower_case_module_names():
    from tritorch.distributions.normal import Normal
    from tritorch.distributions.utils import probs_to_logits
    assert Normal is D.Normal and probs_to_logits is D.distribution.probs_to_logits
    for name in ("bernoulli", "beta", "binomial", "categorical", "cauchy", "chi2", "dirichlet", "exponential",
                 "gamma", "geometric", "gumbel", "half_cauchy", "half_normal", "laplace", "log_normal",
                 "mixture_same_family", "multinomial", "negative_binomial", "normal", "one_hot_categorical",
                 "pareto", "poisson", "relaxed_bernoulli", "relaxed_categorical", "studentT",
                 "transformed_distribution", "uniform", "weibull", "exp_family", "multivariate_normal",
                 "von_mises", "independent", "kl", "constraints", "transforms", "distribution",
                 "inverse_gamma", "kumaraswamy", "generalized_pareto", "fishersnedecor", "continuous_bernoulli",
                 "logistic_normal", "lowrank_multivariate_normal", "constraint_registry", "lkj_cholesky", "wishart"):
        torch_module = getattr(TD, name)
        ours = getattr(D, name)
        for cls in (v for v in vars(torch_module).values()
                    if isinstance(v, type) and v.__module__ == torch_module.__name__ and not v.__name__.startswith("_")
                    and hasattr(TD, v.__name__)):
            assert getattr(ours, cls.__name__) is getattr(D, cls.__name__), (name, cls.__name__)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_one_hot_straight_through(device):
    logits = np.array([[0.2, -1.0, 0.7], [1.5, 0.1, -0.3]])
    ours = tt.tensor(logits, device=device, requires_grad=True)
    d = D.OneHotCategoricalStraightThrough(logits=ours)
    tt.manual_seed(0)
    s = d.rsample((4,))
    assert s.shape == (4, 2, 3) and d.has_rsample
    np.testing.assert_allclose(s.detach().cpu().numpy().sum(-1), 1.0)   # one-hot in value
    w = np.arange(6.0).reshape(2, 3)
    (s * tt.tensor(w, device=device)).sum().backward()
    theirs = torch.tensor(logits, requires_grad=True)
    probs = torch.softmax(theirs, -1)
    (4 * (probs * torch.tensor(w)).sum()).backward()    # the straight-through gradient is that of 4 draws of probs
    np.testing.assert_allclose(ours.grad.cpu().numpy(), theirs.grad.numpy(), rtol=1e-6, atol=1e-8)
