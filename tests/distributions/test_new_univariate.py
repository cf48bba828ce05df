"""InverseGamma, Kumaraswamy, GeneralizedPareto, FisherSnedecor, ContinuousBernoulli and LogisticNormal against
torch.distributions in float64: log_prob, cdf/icdf,
mean/variance/mode/entropy and their gradients in every parameter, expand, argument errors, sample means and
reparameterised gradients, both devices."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")
D, TD = tt.distributions, torch.distributions

FAMILIES = {
    # name: (parameters, values in the support, properties torch defines)
    "InverseGamma": (([2.5, 3.5, 4.5], [1.0, 0.5, 2.0]), [0.3, 0.8, 1.7],
                     ["mean", "variance", "mode", "entropy"]),   # (cdf: see test_inverse_gamma_cdf)
    "Kumaraswamy": (([1.5, 2.0, 3.0], [2.0, 1.2, 4.0]), [0.2, 0.5, 0.9], ["mean", "variance", "mode", "entropy"]),
    "GeneralizedPareto": (([0.1, -1.0, 0.5], [2.0, 0.5, 1.0], [0.3, 0.0, -0.2]), [0.5, 1.0, 2.0],
                          ["mean", "variance", "mode", "entropy", "cdf", "icdf", "log_cdf",
                           "log_survival_function"]),
    "FisherSnedecor": (([3.0, 5.0, 8.0], [6.0, 10.0, 12.0]), [0.3, 1.0, 2.5], ["mean", "variance", "mode"]),
    # probs 0.5 lies in the region where the normaliser, mean and variance use their Taylor expansions
    "ContinuousBernoulli": (([0.2, 0.5, 0.9],), [0.1, 0.5, 0.8], ["mean", "variance", "entropy", "cdf", "icdf"]),
}
QUANTILES = [0.1, 0.5, 0.95]


@pytest.fixture(autouse=True)
def _torch_float64():
    # torch's GeneralizedPareto compares its concentration with torch.tensor(0.0): float64 needs that default
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _both(name, device):
    params = FAMILIES[name][0]
    ours = [tt.tensor(np.array(p), dtype=tt.float64, device=device, requires_grad=True) for p in params]
    theirs = [torch.tensor(np.array(p), dtype=torch.float64, requires_grad=True) for p in params]
    return getattr(D, name)(*ours), ours, getattr(TD, name)(*theirs), theirs


def _compare(got, expected, ours, theirs):
    np.testing.assert_allclose(got.detach().cpu().numpy(), expected.detach().numpy(), rtol=1e-9, atol=1e-12)
    got.sum().backward()
    grads = torch.autograd.grad(expected.sum(), theirs, allow_unused=True)
    for p, g in zip(ours, grads):
        if g is None:
            assert p.grad is None or not p.grad.abs().sum().item()
        else:
            np.testing.assert_allclose(p.grad.cpu().numpy(), g.numpy(), rtol=1e-8, atol=1e-11)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("name,what", [(n, w) for n, f in FAMILIES.items() for w in ["log_prob"] + f[2]])
def test_against_torch(name, what, device):
    d, ours, t, theirs = _both(name, device)
    if what in ("mean", "variance", "mode"):
        got, expected = getattr(d, what), getattr(t, what)
    elif what == "entropy":
        got, expected = d.entropy(), t.entropy()
    else:
        arg = QUANTILES if what == "icdf" else FAMILIES[name][1]
        got = getattr(d, what)(tt.tensor(arg, dtype=tt.float64, device=device))
        expected = getattr(t, what)(torch.tensor(arg, dtype=torch.float64))
    _compare(got, expected, ours, theirs)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_expand_support_and_constraints(name):
    d, _, t, _ = _both(name, "cpu")
    e, te = d.expand((2, 3)), t.expand((2, 3))
    assert type(e) is type(d) and e.batch_shape == te.batch_shape
    x = np.array(FAMILIES[name][1])
    np.testing.assert_allclose(e.log_prob(tt.tensor(x)).detach().numpy(), te.log_prob(torch.tensor(x)).detach().numpy(),
                               rtol=1e-9)
    assert e.sample((4,)).shape == (4, 2, 3)
    assert set(d.arg_constraints) == set(t.arg_constraints)
    for k in d.arg_constraints:
        assert repr(d.arg_constraints[k]) == repr(t.arg_constraints[k])
    assert bool(d.support.check(tt.tensor(x)).all()) == bool(t.support.check(torch.tensor(x)).all())


@pytest.mark.parametrize("name", list(FAMILIES))
def test_validate_args(name):
    params = [list(p) for p in FAMILIES[name][0]]
    bad = 1 if name == "GeneralizedPareto" else 0      # the first positive-constrained parameter
    params[bad][0] = -1.0
    # (ContinuousBernoulli checks probs only when validate_args is given, before clamping it: as PyTorch)
    kwargs = {"validate_args": True} if name == "ContinuousBernoulli" else {}
    with pytest.raises(ValueError) as ours:
        getattr(D, name)(*[tt.tensor(p) for p in params], **kwargs)
    with pytest.raises(ValueError) as theirs:
        getattr(TD, name)(*[torch.tensor(p) for p in params], **kwargs)
    assert str(ours.value).split(" of distribution")[0] == str(theirs.value).split(" of distribution")[0]
    if name != "ContinuousBernoulli":
        getattr(D, name)(*[tt.tensor(p) for p in params], validate_args=False)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("name", list(FAMILIES))
def test_sample_mean_and_rsample_gradient(name, device):
    tt.manual_seed(5)
    n = 20000 if device == "cpu" else 2000
    d, ours, t, theirs = _both(name, device)
    s = d.rsample((n,))
    assert bool(d.support.check(s.detach()).all())
    # every case here has a finite variance: the sample mean is within 5 standard errors
    mean, sd = t.mean.detach().numpy(), np.sqrt(t.variance.detach().numpy() / n)
    assert (np.abs(s.detach().cpu().numpy().mean(0) - mean) < 5 * sd).all()
    # reparameterised: the pathwise gradients of the sample mean agree with torch's (independent draws; at
    # concentration 0 both GeneralizedPareto samplers take a branch constant in it)
    s.mean(0).sum().backward()
    torch.manual_seed(5)
    expected = torch.autograd.grad(t.rsample((n,)).mean(0).sum(), theirs)
    for p, g in zip(ours, expected):
        np.testing.assert_allclose(p.grad.cpu().numpy(), g.numpy(), rtol=0.2, atol=0.05, err_msg=name)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_inverse_gamma_cdf(device):
    # igamma has no gradient in the concentration (in torch and here): values and the rate gradient only
    concentration, rate = (np.array(p) for p in FAMILIES["InverseGamma"][0])
    ours = [tt.tensor(concentration, device=device), tt.tensor(rate, device=device, requires_grad=True)]
    d = D.InverseGamma(*ours)
    theirs = [torch.tensor(concentration), torch.tensor(rate, requires_grad=True)]
    t = TD.InverseGamma(*theirs)
    x = FAMILIES["InverseGamma"][1]
    got, expected = d.cdf(tt.tensor(x, dtype=tt.float64, device=device)), t.cdf(torch.tensor(x))
    np.testing.assert_allclose(got.detach().cpu().numpy(), expected.detach().numpy(), rtol=1e-9)
    (g,) = torch.autograd.grad(expected.sum(), theirs[1])
    (ours_g,) = tt.autograd.grad(got.sum(), ours[1])
    np.testing.assert_allclose(ours_g.cpu().numpy(), g.numpy(), rtol=1e-8)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_continuous_bernoulli_logits_and_exp_family(device):
    logits = np.array([-1.5, 0.001, 2.0])
    ours = tt.tensor(logits, device=device, requires_grad=True)
    theirs = torch.tensor(logits, requires_grad=True)
    d, t = D.ContinuousBernoulli(logits=ours), TD.ContinuousBernoulli(logits=theirs)
    x = [0.1, 0.5, 0.8]
    got = d.log_prob(tt.tensor(x, dtype=tt.float64, device=device))
    _compare(got, t.log_prob(torch.tensor(x)), [ours], [theirs])
    np.testing.assert_allclose(D.ExponentialFamily.entropy(d).detach().cpu().numpy(),
                               TD.ExponentialFamily.entropy(t).detach().numpy(), rtol=1e-8)
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both"):
        D.ContinuousBernoulli()


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_logistic_normal(device):
    loc, scale = np.array([[0.2, -0.5, 1.0], [0.0, 0.3, -1.0]]), np.array([[1.0, 0.5, 2.0], [0.7, 1.2, 0.4]])
    ours = [tt.tensor(loc, device=device, requires_grad=True), tt.tensor(scale, device=device, requires_grad=True)]
    theirs = [torch.tensor(loc, requires_grad=True), torch.tensor(scale, requires_grad=True)]
    d, t = D.LogisticNormal(*ours), TD.LogisticNormal(*theirs)
    assert d.batch_shape == t.batch_shape == (2,) and d.event_shape == t.event_shape == (4,)
    y = np.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.4, 0.1]])
    _compare(d.log_prob(tt.tensor(y, device=device)), t.log_prob(torch.tensor(y)), ours, theirs)
    tt.manual_seed(1)
    s = d.sample((500,))
    assert s.shape == (500, 2, 4) and bool(d.support.check(s).all())
    e, te = d.expand((3, 2)), t.expand((3, 2))
    assert e.batch_shape == te.batch_shape and e.event_shape == te.event_shape
    assert D.LogisticNormal(0.0, 1.0).event_shape == TD.LogisticNormal(0.0, 1.0).event_shape == (2,)
    with pytest.raises(ValueError, match="Expected parameter scale"):
        D.LogisticNormal(tt.zeros(2), tt.tensor([1.0, -1.0]))
