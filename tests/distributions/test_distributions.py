"""tritorch.distributions against torch.distributions: shapes, log_prob, entropy, moments, kl_divergence,
gradients of rsample/log_prob, sample frequencies, parameter validation, cpu/cuda agreement of samples."""
import math

import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")
D, TD = tt.distributions, torch.distributions

RNG = np.random.default_rng(0)
LOC = RNG.standard_normal((3, 2)).astype(np.float32)
SCALE = (np.abs(RNG.standard_normal((3, 2))) + 0.1).astype(np.float32)
VALUE = RNG.standard_normal((4, 3, 2)).astype(np.float32)


def _t(a, lib, grad=False):
    return torch.tensor(a, requires_grad=grad) if lib is torch else tt.tensor(a, requires_grad=grad)


# (class, parameters as NumPy arrays, Independent dims or 0, a value to score)
CASES = {
    "Normal": ("Normal", {"loc": LOC, "scale": SCALE}, 0, VALUE),
    "Uniform": ("Uniform", {"low": LOC, "high": LOC + SCALE}, 0, np.repeat((LOC + 0.3 * SCALE)[None], 4, 0)),
    "Categorical": ("Categorical", {"logits": LOC}, 0, np.array([[0, 1, 1], [1, 0, 1]])),
    "CategoricalProbs": ("Categorical", {"probs": np.abs(LOC)}, 0, np.array([[0, 1, 1], [1, 0, 1]])),
    "OneHotCategorical": ("OneHotCategorical", {"logits": LOC}, 0, np.eye(2, dtype=np.float32)[[0, 1, 1]]),
    "Bernoulli": ("Bernoulli", {"logits": LOC}, 0, (RNG.random((4, 3, 2)) < 0.5).astype(np.float32)),
    "BernoulliProbs": ("Bernoulli", {"probs": 1 / (1 + np.exp(-LOC))}, 0,
                       (RNG.random((3, 2)) < 0.5).astype(np.float32)),
    "Independent": ("Normal", {"loc": LOC, "scale": SCALE}, 1, VALUE),
}


def _build(lib, cls, params, independent):
    tensors = {k: _t(v, lib, True) for k, v in params.items()}
    dist = getattr(lib.distributions, cls)(**tensors)
    if independent:
        dist = lib.distributions.Independent(dist, independent)
    return dist, tensors


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name):
    cls, params, independent, value = CASES[name]
    theirs, t_params = _build(torch, cls, params, independent)
    ours, params_ = _build(tt, cls, params, independent)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    t_lp, lp = theirs.log_prob(torch.tensor(value)), ours.log_prob(tt.tensor(value))
    np.testing.assert_allclose(lp.detach().numpy(), t_lp.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.entropy().detach().numpy(), theirs.entropy().detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    for moment in ("mean", "variance"):
        np.testing.assert_allclose(getattr(ours, moment).detach().numpy(), getattr(theirs, moment).detach().numpy(),
                                   rtol=1e-5, atol=1e-6)
    assert tuple(ours.sample((5,)).shape) == tuple(theirs.sample((5,)).shape)
    assert tuple(ours.sample().shape) == tuple(theirs.sample().shape)
    (t_lp.sum() + theirs.entropy().sum()).backward()
    (lp.sum() + ours.entropy().sum()).backward()
    for k, t_param in t_params.items():   # gradients of log_prob and entropy with respect to the parameters
        np.testing.assert_allclose(params_[k].grad.numpy(), t_param.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=k)


def test_kl_divergence():
    pairs = [
        (lambda L: L.distributions.Normal(_t(LOC, L), _t(SCALE, L)),
         lambda L: L.distributions.Normal(_t(LOC * 0.5, L), _t(SCALE * 2, L))),
        (lambda L: L.distributions.Categorical(probs=_t(np.array([[0.2, 0.8, 0.0]], np.float32), L)),
         lambda L: L.distributions.Categorical(probs=_t(np.array([[0.5, 0.25, 0.25]], np.float32), L))),
        (lambda L: L.distributions.Bernoulli(probs=_t(np.array([0.0, 0.3, 1.0], np.float32), L)),
         lambda L: L.distributions.Bernoulli(probs=_t(np.array([0.5, 0.2, 0.9], np.float32), L))),
        (lambda L: L.distributions.Uniform(_t(np.array([0.0, 0.0], np.float32), L), _t(np.array([1.0, 2.0],
                                                                                              np.float32), L)),
         lambda L: L.distributions.Uniform(_t(np.array([-1.0, 0.5], np.float32), L), _t(np.array([2.0, 2.0],
                                                                                                np.float32), L))),
    ]
    for make_p, make_q in pairs:
        for a, b in ((make_p, make_q), (make_q, make_p)):
            np.testing.assert_allclose(D.kl_divergence(a(tt), b(tt)).numpy(),
                                       TD.kl_divergence(a(torch), b(torch)).numpy(), rtol=1e-5)
    ind = [lambda L, s=s: L.distributions.Independent(L.distributions.Normal(_t(LOC, L), _t(SCALE * s, L)), 1)
           for s in (1.0, 3.0)]
    np.testing.assert_allclose(D.kl_divergence(ind[0](tt), ind[1](tt)).numpy(),
                               TD.kl_divergence(ind[0](torch), ind[1](torch)).numpy(), rtol=1e-5)
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Bernoulli(probs=tt.tensor(0.5)))


def test_sampling_rsample_and_validation():
    loc = tt.tensor(LOC, requires_grad=True)
    D.Normal(loc, 2.0).rsample((3,)).sum().backward()
    np.testing.assert_array_equal(loc.grad.numpy(), np.full(LOC.shape, 3.0, np.float32))
    tt.manual_seed(0)
    s = D.Categorical(probs=tt.tensor([0.1, 0.6, 0.3])).sample((20000,)).numpy()
    np.testing.assert_allclose(np.bincount(s) / 20000, [0.1, 0.6, 0.3], atol=0.015)
    x = D.Normal(tt.zeros(20000), tt.ones(20000) * 2).sample().numpy()
    assert abs(x.mean()) < 0.05 and abs(x.std() - 2) < 0.05
    draws = []
    for device in ("cpu", "cuda"):
        tt.manual_seed(3)
        draws.append(D.Normal(tt.zeros(8, device=device), 1.0).sample().cpu().numpy())
    np.testing.assert_array_equal(draws[0], draws[1])
    with pytest.raises(ValueError, match="Expected parameter scale"):
        D.Normal(tt.tensor([0.0]), tt.tensor([-1.0]))
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified"):
        D.Categorical()
    D.Normal(tt.tensor([0.0]), tt.tensor([-1.0]), validate_args=False)   # (no check)
    np.testing.assert_array_equal(D.Categorical(logits=tt.zeros(2, 3)).enumerate_support().numpy(),
                                  TD.Categorical(logits=torch.zeros(2, 3)).enumerate_support().numpy())


# ------------------------------------------------------------------ the univariate families and MultivariateNormal

POS = np.abs(VALUE) + 0.05
PROB = np.clip(np.abs(np.sin(VALUE)), 0.05, 0.95).astype(np.float32)
MORE = {
    "Exponential": ({"rate": SCALE}, POS),
    "Laplace": ({"loc": LOC, "scale": SCALE}, VALUE),
    "LogNormal": ({"loc": LOC, "scale": SCALE}, POS),
    "Gumbel": ({"loc": LOC, "scale": SCALE}, VALUE),
    "HalfNormal": ({"scale": SCALE}, POS),
    "Cauchy": ({"loc": LOC, "scale": SCALE}, VALUE),
    "Gamma": ({"concentration": SCALE * 3, "rate": SCALE + 0.5}, POS),
}


@pytest.mark.parametrize("name", list(MORE))
def test_univariate_families_match_torch(name):
    params, value = MORE[name]
    theirs, t_params = _build(torch, name, params, 0)
    ours, params_ = _build(tt, name, params, 0)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape) and tuple(ours.event_shape) == ()
    t_lp, lp = theirs.log_prob(torch.tensor(value)), ours.log_prob(tt.tensor(value))
    np.testing.assert_allclose(lp.detach().numpy(), t_lp.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.entropy().detach().numpy(), theirs.entropy().detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    for moment in ("mean", "mode", "variance", "stddev"):
        np.testing.assert_allclose(getattr(ours, moment).detach().numpy(), getattr(theirs, moment).detach().numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=moment)
    if name != "Gamma":   # (Gamma has no cdf here: it needs the incomplete gamma function)
        positive = name in ("Exponential", "LogNormal", "HalfNormal")
        probe = POS if positive else LOC + SCALE * np.clip(VALUE, -1, 1)   # (inside torch's supports)
        np.testing.assert_allclose(ours.cdf(tt.tensor(probe)).detach().numpy(),
                                   theirs.cdf(torch.tensor(probe)).detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ours.icdf(tt.tensor(PROB)).detach().numpy(),
                                   theirs.icdf(torch.tensor(PROB)).detach().numpy(), rtol=1e-4, atol=1e-5)
    assert tuple(ours.sample((5,)).shape) == (5, 3, 2)
    assert ours.has_rsample == theirs.has_rsample
    if ours.has_rsample:   # reparameterised: the sample's gradient reaches the parameters
        (g,) = tt.autograd.grad(ours.rsample((2,)).sum(), [next(iter(params_.values()))], retain_graph=True)
        assert np.isfinite(g.numpy()).all() and np.abs(g.numpy()).sum() > 0
    (t_lp.sum() + theirs.entropy().sum()).backward()
    (lp.sum() + ours.entropy().sum()).backward()
    for k, t_param in t_params.items():
        np.testing.assert_allclose(params_[k].grad.numpy(), t_param.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("name", ["Exponential", "Laplace", "LogNormal", "Gumbel", "HalfNormal", "Gamma"])
def test_univariate_sample_moments(name):
    params = {"Exponential": {"rate": 2.0}, "Laplace": {"loc": 1.0, "scale": 0.5},
              "LogNormal": {"loc": 0.2, "scale": 0.3}, "Gumbel": {"loc": -1.0, "scale": 2.0},
              "HalfNormal": {"scale": 1.5}, "Gamma": {"concentration": 0.6, "rate": 2.0}}[name]
    n = 200_000
    tt.manual_seed(7)
    d = getattr(D, name)(**{k: tt.full((n,), v) for k, v in params.items()})
    x = d.sample().numpy().astype(np.float64)
    mean, var = float(d.mean[0]), float(d.variance[0])
    assert abs(x.mean() - mean) < 5 * (var / n) ** 0.5, (x.mean(), mean)
    assert abs(x.var() / var - 1) < 0.03, (x.var(), var)
    g = getattr(D, name)(**{k: tt.full((3,), v) for k, v in params.items()})
    if name == "Gamma":   # a second shape (concentration >= 1: no boost) and cpu/cuda draws alike
        x = D.Gamma(tt.full((n,), 4.5), tt.full((n,), 0.5)).sample().numpy().astype(np.float64)
        assert abs(x.mean() - 9.0) < 0.05 and abs(x.var() / 18.0 - 1) < 0.03
    draws = []
    for device in ("cpu", "cuda"):
        tt.manual_seed(11)
        draws.append(getattr(D, name)(**{k: tt.full((64,), v, device=device) for k, v in params.items()})
                     .sample().cpu().numpy())
    np.testing.assert_allclose(draws[0], draws[1], rtol=1e-5, atol=1e-6)
    assert tuple(g.sample((2,)).shape) == (2, 3)


def _spd(n, batch=(), seed=0):
    a = np.random.default_rng(seed).standard_normal(batch + (n, n))
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(np.float64)


@pytest.mark.parametrize("form", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_multivariate_normal_matches_torch(form):
    cov = _spd(3, (2,))
    loc = np.random.default_rng(1).standard_normal((4, 1, 3))          # broadcasts with the matrix's batch
    given = {"covariance_matrix": cov, "precision_matrix": np.linalg.inv(cov),
             "scale_tril": np.linalg.cholesky(cov)}[form]
    value = np.random.default_rng(2).standard_normal((5, 4, 2, 3))
    tl_, tm = torch.tensor(loc, requires_grad=True), torch.tensor(given, requires_grad=True)
    ol, om = tt.tensor(loc, requires_grad=True), tt.tensor(given, requires_grad=True)
    theirs = TD.MultivariateNormal(tl_, **{form: tm})
    ours = D.MultivariateNormal(ol, **{form: om})
    assert tuple(ours.batch_shape) == (4, 2) and tuple(ours.event_shape) == (3,)
    lp, t_lp = ours.log_prob(tt.tensor(value)), theirs.log_prob(torch.tensor(value))
    np.testing.assert_allclose(lp.detach().numpy(), t_lp.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.entropy().detach().numpy(), theirs.entropy().detach().numpy(), rtol=1e-10)
    for attr in ("mean", "variance", "covariance_matrix", "precision_matrix", "scale_tril"):
        np.testing.assert_allclose(getattr(ours, attr).detach().numpy(), getattr(theirs, attr).detach().numpy(),
                                   rtol=1e-9, atol=1e-12, err_msg=attr)
    (lp.sum() + ours.entropy().sum()).backward()
    (t_lp.sum() + theirs.entropy().sum()).backward()
    np.testing.assert_allclose(ol.grad.numpy(), tl_.grad.numpy(), rtol=1e-9, atol=1e-12)
    grad, t_grad = om.grad.numpy(), tm.grad.numpy()
    if form == "scale_tril":   # (only the lower triangle is read)
        grad, t_grad = np.tril(grad), np.tril(t_grad)
    else:                      # symmetric inputs: compare the symmetric part, as both read one triangle
        grad, t_grad = grad + np.swapaxes(grad, -1, -2), t_grad + np.swapaxes(t_grad, -1, -2)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-8, atol=1e-10)


def test_multivariate_normal_sampling_kl_and_errors():
    cov = _spd(3, seed=3)
    tt.manual_seed(5)
    d = D.MultivariateNormal(tt.tensor([1.0, -2.0, 0.5], dtype=tt.float64), covariance_matrix=tt.tensor(cov))
    x = d.sample((100_000,)).numpy()
    np.testing.assert_allclose(x.mean(0), [1.0, -2.0, 0.5], atol=0.05)
    np.testing.assert_allclose(np.cov(x.T), cov, rtol=0.03, atol=0.05)
    loc = tt.tensor([0.3, 0.1, -0.2], dtype=tt.float64, requires_grad=True)
    D.MultivariateNormal(loc, scale_tril=tt.tensor(np.linalg.cholesky(cov))).rsample((4,)).sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [4.0, 4.0, 4.0])
    p_args = (np.zeros(3), _spd(3, (2,), seed=4))
    q_args = (np.ones(3) * 0.5, _spd(3, seed=5))
    ours = D.kl_divergence(D.MultivariateNormal(tt.tensor(p_args[0]), tt.tensor(p_args[1])),
                           D.MultivariateNormal(tt.tensor(q_args[0]), tt.tensor(q_args[1])))
    theirs = TD.kl_divergence(TD.MultivariateNormal(torch.tensor(p_args[0]), torch.tensor(p_args[1])),
                              TD.MultivariateNormal(torch.tensor(q_args[0]), torch.tensor(q_args[1])))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match="Exactly one of covariance_matrix or precision_matrix or scale_tril"):
        D.MultivariateNormal(tt.zeros(3))
    with pytest.raises(ValueError, match="loc must be at least one-dimensional"):
        D.MultivariateNormal(tt.tensor(0.0), tt.eye(1))
    with pytest.raises(ValueError, match="PositiveDefinite"):
        D.MultivariateNormal(tt.zeros(2), tt.tensor([[1.0, 2.0], [2.0, 1.0]]))


def test_more_kl_divergences():
    pairs = [("Exponential", {"rate": SCALE}, {"rate": SCALE * 2 + 0.1}),
             ("Laplace", {"loc": LOC, "scale": SCALE}, {"loc": LOC * 0.5, "scale": SCALE + 1}),
             ("LogNormal", {"loc": LOC, "scale": SCALE}, {"loc": -LOC, "scale": SCALE * 2}),
             ("Gamma", {"concentration": SCALE * 3, "rate": SCALE + 0.5}, {"concentration": SCALE + 1, "rate": SCALE}),
             ("Beta", {"concentration1": SCALE * 3, "concentration0": SCALE + 0.5},
              {"concentration1": SCALE + 1, "concentration0": SCALE}),
             ("Dirichlet", {"concentration": SCALE * 3}, {"concentration": SCALE + 1})]
    for name, pa, qa in pairs:
        ours = D.kl_divergence(getattr(D, name)(**{k: tt.tensor(v) for k, v in pa.items()}),
                               getattr(D, name)(**{k: tt.tensor(v) for k, v in qa.items()}))
        theirs = TD.kl_divergence(getattr(TD, name)(**{k: torch.tensor(v) for k, v in pa.items()}),
                                  getattr(TD, name)(**{k: torch.tensor(v) for k, v in qa.items()}))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)


def test_standard_gamma_gradient_against_mpmath_and_torch():
    from tritorch.distributions.univariate import _standard_gamma_grad
    a = np.array([0.3, 1.0, 2.5, 10.0, 100.0, 0.05, 3.0, 1000.0, 0.7, 5.0, 0.01, 50.0])
    x = np.array([0.1, 1.5, 2.0, 12.0, 90.0, 1e-6, 15.0, 1050.0, 3.0, 0.5, 1e-30, 20.0])
    ours = _standard_gamma_grad(tt.tensor(x), tt.tensor(a)).numpy()
    # PyTorch's is an approximation (within about 3e-4 of the exact value here)
    np.testing.assert_allclose(ours, torch._standard_gamma_grad(torch.tensor(a), torch.tensor(x)).numpy(),
                               rtol=5e-4)
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(30):
        for ai, xi, g in zip(a[:5], x[:5], ours[:5]):
            dp = mpmath.diff(lambda s: mpmath.gammainc(s, 0, xi, regularized=True), ai)
            pdf = mpmath.power(xi, ai - 1) * mpmath.exp(-xi) / mpmath.gamma(ai)
            assert abs(g / float(-dp / pdf) - 1) < 1e-7, (ai, xi)


@pytest.mark.parametrize("name", ["Gamma", "Chi2", "StudentT", "Beta", "Dirichlet"])
def test_gamma_based_families_match_torch(name):
    rng = np.random.default_rng(9)
    a = (rng.random((3, 2)) * 3 + 0.3).astype(np.float64)
    b = (rng.random((3, 2)) * 2 + 0.5).astype(np.float64)
    params, value = {
        "Gamma": ({"concentration": a, "rate": b}, a * b),
        "Chi2": ({"df": a * 2}, a + 0.5),
        "StudentT": ({"df": a * 2 + 0.5, "loc": b - 1, "scale": b}, b * 0.7 - 0.2),
        "Beta": ({"concentration1": a, "concentration0": b}, rng.random((3, 2)) * 0.9 + 0.05),
        "Dirichlet": ({"concentration": a}, np.array([[0.3, 0.7], [0.5, 0.5], [0.9, 0.1]])),
    }[name]
    theirs, t_params = _build(torch, name, params, 0)
    ours, o_params = _build(tt, name, params, 0)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    lp, t_lp = ours.log_prob(tt.tensor(value)), theirs.log_prob(torch.tensor(value))
    np.testing.assert_allclose(lp.detach().numpy(), t_lp.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.entropy().detach().numpy(), theirs.entropy().detach().numpy(), rtol=1e-10)
    for moment in ("mean", "mode", "variance"):
        np.testing.assert_allclose(getattr(ours, moment).detach().numpy(), getattr(theirs, moment).detach().numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=moment)
    (lp.sum() + ours.entropy().sum()).backward()
    (t_lp.sum() + theirs.entropy().sum()).backward()
    for k, tp in t_params.items():   # (the df gradients go through trigamma, PyTorch's within ~5e-10 relative,
        # and a sum that cancels to ~1e-2: 1e-7 is that error after the cancellation)
        np.testing.assert_allclose(o_params[k].grad.numpy(), tp.grad.numpy(), rtol=1e-7, atol=1e-12, err_msg=k)
    # rsample: the implicit gradient; E[d sample / d param] against the derivative of the mean (StudentT's mean is
    # its loc: there, E|x - loc|, proportional to the scale)
    tt.manual_seed(4)
    n = 40_000
    if name == "StudentT":
        leaf = tt.tensor(params["scale"], requires_grad=True)
        d = D.StudentT(tt.tensor(params["df"]), tt.tensor(params["loc"]), leaf)
        (g,) = tt.autograd.grad((d.rsample((n,)) - d.loc).abs().sum(), [leaf])
        want = (d.sample((n,)) - d.loc).abs().mean(0) / leaf.detach()
    else:
        first = next(iter(params))
        leaf = tt.tensor(params[first], requires_grad=True)

        def build(p):
            return getattr(D, name)(**{k: (p if k == first else tt.tensor(v)) for k, v in params.items()})
        (g,) = tt.autograd.grad(build(leaf).rsample((n,)).sum(), [leaf])
        m = leaf.detach().clone().requires_grad_(True)
        (want,) = tt.autograd.grad(build(m).mean.sum(), [m])
    np.testing.assert_allclose(g.numpy() / n, want.numpy(), rtol=0.06, atol=0.02)


def test_gamma_rsample_same_on_cpu_and_cuda():
    draws, grads = [], []
    for device in ("cpu", "cuda"):
        tt.manual_seed(1)
        a = tt.tensor([0.5, 2.0, 7.0], device=device, requires_grad=True)
        x = D.Dirichlet(tt.stack([a, a * 0 + 1.5], -1)).rsample((3,))
        (g,) = tt.autograd.grad(x[..., 0].sum(), [a])
        draws.append(x.detach().cpu().numpy())
        grads.append(g.cpu().numpy())
    np.testing.assert_allclose(draws[0], draws[1], rtol=1e-6)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5)
    assert np.all(grads[0] > 0)   # a larger first concentration moves the first coordinate up


def test_poisson_distribution_and_sampler():
    rate = np.array([[0.0, 0.3, 2.5], [9.99, 10.0, 140.0]])
    value = np.array([[0.0, 1.0, 3.0], [7.0, 12.0, 150.0]])
    ours, theirs = D.Poisson(tt.tensor(rate)), TD.Poisson(torch.tensor(rate))
    np.testing.assert_allclose(ours.log_prob(tt.tensor(value)).numpy(), theirs.log_prob(torch.tensor(value)).numpy(),
                               rtol=1e-12, atol=1e-12)
    for moment in ("mean", "mode", "variance"):
        np.testing.assert_array_equal(getattr(ours, moment).numpy(), getattr(theirs, moment).numpy())
    n = 100_000
    for lam in (0.7, 4.0, 10.0, 37.5):   # both samplers (below and from 10): mean, variance and a frequency
        tt.manual_seed(2)
        x = tt.poisson(tt.full((n,), lam, dtype=tt.float64)).numpy()
        assert np.all(x == np.floor(x)) and x.min() >= 0
        assert abs(x.mean() - lam) < 5 * (lam / n) ** 0.5, (lam, x.mean())
        assert abs(x.var() / lam - 1) < 0.03, (lam, x.var())
        k = int(lam)
        p_k = math.exp(k * math.log(lam) - lam - math.lgamma(k + 1))
        assert abs((x == k).mean() - p_k) < 5 * (p_k / n) ** 0.5, (lam, k)
    assert D.Poisson(tt.tensor([3.0, 20.0])).sample((7,)).shape == (7, 2)
    draws = []
    for device in ("cpu", "cuda"):
        tt.manual_seed(8)
        draws.append(tt.poisson(tt.tensor([0.5, 3.0, 15.0, 80.0], device=device)).cpu().numpy())
    np.testing.assert_array_equal(draws[0], draws[1])
    with pytest.raises(RuntimeError, match="invalid Poisson rate"):
        tt.poisson(tt.tensor([-1.0]))
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        tt.poisson(tt.tensor([1, 2]))


def test_all_below_one_dirichlet_mode_and_one_hot_support_as_torch():
    # every concentration below 1: PyTorch's mode is the one-hot of the argmax of 0/0 (NaN), its first vertex
    a = [[0.5, 0.7, 2.0], [0.4, 0.3, 0.9]]
    assert tt.distributions.Dirichlet(tt.tensor(a)).mode.tolist() == \
        torch.distributions.Dirichlet(torch.tensor(a)).mode.tolist()
    c1, c0 = [0.8, 0.3, 2.0], [0.5, 0.6, 3.0]
    np.testing.assert_allclose(tt.distributions.Beta(tt.tensor(c1), tt.tensor(c0)).mode.numpy(),
                               torch.distributions.Beta(torch.tensor(c1), torch.tensor(c0)).mode.numpy(), rtol=1e-6)
    d, ref = tt.distributions.OneHotCategorical(logits=tt.zeros(2, 3)), \
        torch.distributions.OneHotCategorical(logits=torch.zeros(2, 3))
    for expand in (True, False):
        np.testing.assert_array_equal(d.enumerate_support(expand).numpy(), ref.enumerate_support(expand).numpy())
