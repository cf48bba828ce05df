"""MixtureSameFamily, the relaxed (Gumbel-softmax) distributions, VonMises and HalfCauchy against
torch.distributions: log_prob and its gradients, moments, shapes, sample statistics, cpu/cuda agreement."""
import math

import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")
D, TD = tt.distributions, torch.distributions
RNG = np.random.default_rng(8)


def _both(make, *arrays):
    """make(module, *tensors) for tritorch and torch, the float64 arrays as leaves requiring grad."""
    ours_p = [tt.tensor(a, requires_grad=True) for a in arrays]
    theirs_p = [torch.tensor(a, requires_grad=True) for a in arrays]
    return make(D, *ours_p), make(TD, *theirs_p), ours_p, theirs_p


def _check_log_prob(ours, theirs, ours_p, theirs_p, value, rtol=1e-10):
    lp, t_lp = ours.log_prob(tt.tensor(value)), theirs.log_prob(torch.tensor(value))
    np.testing.assert_allclose(lp.detach().numpy(), t_lp.detach().numpy(), rtol=rtol, atol=1e-12)
    lp.sum().backward()
    t_lp.sum().backward()
    for a, b in zip(ours_p, theirs_p):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-11)


@pytest.mark.parametrize("event", [False, True])
def test_gaussian_mixture_matches_torch(event):
    k = 3
    w, mu, sd = RNG.standard_normal((2, k)), RNG.standard_normal((2, k, 2)), RNG.uniform(0.3, 2, (2, k, 2))

    def make(m, logits, loc, scale):
        comp = m.Independent(m.Normal(loc, scale), 1) if event else m.Normal(loc[..., 0], scale[..., 0])
        return m.MixtureSameFamily(m.Categorical(logits=logits), comp)

    ours, theirs, ours_p, theirs_p = _both(make, w, mu, sd)
    assert (tuple(ours.batch_shape), tuple(ours.event_shape)) == (tuple(theirs.batch_shape),
                                                                  tuple(theirs.event_shape))
    value = RNG.standard_normal((5, 2, 2) if event else (5, 2))
    for moment in ("mean", "variance"):
        np.testing.assert_allclose(getattr(ours, moment).detach().numpy(), getattr(theirs, moment).detach().numpy(),
                                   rtol=1e-12, err_msg=moment)
    if not event:
        np.testing.assert_allclose(ours.cdf(tt.tensor(value)).detach().numpy(),
                                   theirs.cdf(torch.tensor(value)).detach().numpy(), rtol=1e-12)
    _check_log_prob(ours, theirs, ours_p, theirs_p, value)
    tt.manual_seed(0)
    assert tuple(ours.sample((7,)).shape) == (7,) + tuple(theirs.batch_shape) + tuple(theirs.event_shape)


def test_mixture_sample_statistics_and_errors():
    n = 200_000
    m = D.MixtureSameFamily(D.Categorical(tt.tensor([0.25, 0.75])), D.Normal(tt.tensor([-4.0, 2.0]),
                                                                            tt.tensor([0.5, 1.0])))
    tt.manual_seed(1)
    x = m.sample((n,)).numpy().astype(np.float64)
    assert abs((x < -1).mean() - 0.25) < 0.005                 # the component weights
    assert abs(x.mean() - float(m.mean)) < 0.03 and abs(x.var() / float(m.variance) - 1) < 0.02
    with pytest.raises(ValueError, match="needs to be an instance of torch.distributions.Categorical"):
        D.MixtureSameFamily(D.Normal(0.0, 1.0), D.Normal(tt.zeros(2), tt.ones(2)))
    with pytest.raises(ValueError, match="does not equal"):
        D.MixtureSameFamily(D.Categorical(tt.tensor([0.5, 0.5])), D.Normal(tt.zeros(3), tt.ones(3)))


def test_relaxed_one_hot_categorical_matches_torch():
    logits = RNG.standard_normal((3, 4))
    temp = np.array(0.7)
    ours, theirs, ours_p, theirs_p = _both(lambda m, t, lg: m.RelaxedOneHotCategorical(t, logits=lg), temp, logits)
    assert (tuple(ours.batch_shape), tuple(ours.event_shape)) == ((3,), (4,)) and ours.has_rsample
    value = RNG.dirichlet(np.ones(4), size=(5, 3))
    _check_log_prob(ours, theirs, ours_p, theirs_p, value, rtol=1e-9)
    tt.manual_seed(2)
    leaf = tt.tensor(logits, requires_grad=True)
    s = D.RelaxedOneHotCategorical(tt.tensor(0.7, dtype=tt.float64), logits=leaf).rsample((6,))
    np.testing.assert_allclose(s.detach().numpy().sum(-1), 1.0, rtol=1e-12)
    (g,) = tt.autograd.grad((s * tt.arange(4.0, dtype=tt.float64)).sum(), [leaf])
    assert np.isfinite(g.numpy()).all() and np.abs(g.numpy()).sum() > 0
    # at a low temperature the draws are nearly one-hot, the argmax distributed as the categorical
    tt.manual_seed(3)
    cold = D.RelaxedOneHotCategorical(tt.tensor(0.05), probs=tt.tensor([0.1, 0.6, 0.3]))
    draws = cold.sample((100_000,)).numpy()
    freq = np.bincount(draws.argmax(-1), minlength=3) / len(draws)
    np.testing.assert_allclose(freq, [0.1, 0.6, 0.3], atol=0.006)
    assert np.median(draws.max(-1)) > 0.99


def test_relaxed_bernoulli_matches_torch():
    probs = RNG.uniform(0.1, 0.9, (2, 3))
    temp = np.array(0.4)
    ours, theirs, ours_p, theirs_p = _both(lambda m, t, p: m.RelaxedBernoulli(t, probs=p), temp, probs)
    value = RNG.uniform(0.05, 0.95, (4, 2, 3))
    _check_log_prob(ours, theirs, ours_p, theirs_p, value, rtol=1e-9)
    tt.manual_seed(4)
    cold = D.RelaxedBernoulli(tt.tensor(0.02), probs=tt.full((100_000,), 0.3)).sample().numpy()
    assert abs((cold > 0.5).mean() - 0.3) < 0.006 and ((cold < 0.01) | (cold > 0.99)).mean() > 0.95
    lrb = D.relaxed.LogitRelaxedBernoulli(tt.tensor(0.5), logits=tt.tensor([0.2, -1.0]))
    tlrb = TD.relaxed_bernoulli.LogitRelaxedBernoulli(torch.tensor(0.5), logits=torch.tensor([0.2, -1.0]))
    assert np.isfinite(D.relaxed.LogitRelaxedBernoulli(0.5, logits=tt.tensor([0.2])).log_prob(tt.tensor([0.3])).item())
    np.testing.assert_allclose(lrb.log_prob(tt.tensor([0.3, 1.5])).numpy(),
                               tlrb.log_prob(torch.tensor([0.3, 1.5])).numpy(), rtol=1e-6)


def test_von_mises_log_prob_exact_and_vs_torch():
    """log_prob and its gradients against the closed forms with mpmath's I0, I1 (to 1e-12), and against torch's
    (to 1e-6: PyTorch's log I0 is a polynomial approximation good to about 1e-7)."""
    mpmath = pytest.importorskip("mpmath")
    loc, kappa = RNG.uniform(-3, 3, (2, 3)), np.array([[0.01, 1.0, 5.0], [20.0, 0.5, 100.0]])
    value = RNG.uniform(-math.pi, math.pi, (4, 2, 3))
    ours, theirs, ours_p, theirs_p = _both(lambda m, a, b: m.VonMises(a, b), loc, kappa)
    lp, t_lp = ours.log_prob(tt.tensor(value)), theirs.log_prob(torch.tensor(value))
    log_i0 = np.vectorize(lambda k: float(mpmath.log(mpmath.besseli(0, k))))(kappa)
    ratio = np.vectorize(lambda k: float(mpmath.besseli(1, k) / mpmath.besseli(0, k)))(kappa)
    exact = kappa * np.cos(value - loc) - math.log(2 * math.pi) - log_i0
    np.testing.assert_allclose(lp.detach().numpy(), exact, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(lp.detach().numpy(), t_lp.detach().numpy(), rtol=1e-6)
    lp.sum().backward()
    t_lp.sum().backward()
    np.testing.assert_allclose(ours_p[0].grad.numpy(), (kappa * np.sin(value - loc)).sum(0), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(ours_p[1].grad.numpy(), (np.cos(value - loc) - ratio).sum(0), rtol=1e-10, atol=1e-12)
    for a, b in zip(ours_p, theirs_p):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.variance.detach().numpy(), 1 - ratio, rtol=1e-12)


def test_von_mises_samples_and_cpu_cuda_draws():
    n = 100_000
    for k in (0.5, 4.0, 50.0):
        tt.manual_seed(5)
        x = D.VonMises(tt.full((n,), 1.0, dtype=tt.float64), tt.full((n,), k, dtype=tt.float64)).sample().numpy()
        assert x.min() >= -math.pi and x.max() < math.pi
        # the mean resultant: E[cos(x - loc)] = I1(k) / I0(k)
        want = 1 - float(D.VonMises(tt.tensor(1.0), tt.tensor(k, dtype=tt.float64)).variance)
        assert abs(np.cos(x - 1.0).mean() - want) < 5 / math.sqrt(n), k
        assert abs(np.sin(x - 1.0).mean()) < 5 / math.sqrt(n)
    draws = []
    for device in ("cpu", "cuda"):
        tt.manual_seed(6)
        draws.append(D.VonMises(tt.zeros(32, device=device), tt.full((32,), 2.0, device=device)).sample().cpu())
    np.testing.assert_allclose(draws[0].numpy(), draws[1].numpy(), rtol=1e-5, atol=1e-5)


def test_half_cauchy_matches_torch():
    scale = RNG.uniform(0.5, 3.0, (2, 3))
    ours, theirs, ours_p, theirs_p = _both(lambda m, s: m.HalfCauchy(s), scale)
    value = RNG.uniform(0.0, 6.0, (4, 2, 3))
    np.testing.assert_allclose(ours.cdf(tt.tensor(value)).detach().numpy(),
                               theirs.cdf(torch.tensor(value)).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.entropy().detach().numpy(), theirs.entropy().detach().numpy(), rtol=1e-12)
    prob = RNG.uniform(0.05, 0.95, (2, 3))
    np.testing.assert_allclose(ours.icdf(tt.tensor(prob)).detach().numpy(),
                               theirs.icdf(torch.tensor(prob)).detach().numpy(), rtol=1e-12)
    _check_log_prob(ours, theirs, ours_p, theirs_p, value)
    below = tt.tensor(-1.0, dtype=tt.float64)
    with pytest.raises(ValueError, match="to be within the support"):   # validated by default, as PyTorch
        ours.log_prob(below)
    unchecked = D.HalfCauchy(tt.tensor(scale), validate_args=False)
    assert unchecked.log_prob(below).detach().numpy().max() == -math.inf
    tt.manual_seed(7)
    x = D.HalfCauchy(tt.full((100_000,), 2.0)).sample().numpy()
    assert x.min() >= 0 and abs(np.median(x) - 2.0) < 0.05   # the median of |Cauchy(0, s)| is s
