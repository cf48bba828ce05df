"""tritorch.distributions.transforms, TransformedDistribution, Pareto and Weibull against torch.distributions:
forward/inverse maps, log |det J|, shapes, log_prob and its gradients, the tanh-squashed policy pattern with its
cache, sample moments, cpu/cuda agreement."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")
D, TD = tt.distributions, torch.distributions
T, TT = D.transforms, TD.transforms

RNG = np.random.default_rng(4)
X = RNG.standard_normal((4, 3)).astype(np.float64)
POS = np.abs(X) + 0.1
UNIT = 1 / (1 + np.exp(-X))


def _pair(lib, name):
    m = T if lib is tt else TT
    t = lambda a: tt.tensor(a) if lib is tt else torch.tensor(a)  # noqa: E731
    return {
        "exp": (m.ExpTransform(), X),
        "power": (m.PowerTransform(t(np.array([0.5, 2.0, 3.0]))), POS),
        "sigmoid": (m.SigmoidTransform(), X),
        "tanh": (m.TanhTransform(), X),
        "softplus": (m.SoftplusTransform(), X),
        "affine": (m.AffineTransform(t(np.array([1.0, -2.0, 0.5])), t(np.array([2.0, -0.5, 3.0]))), X),
        "affine-scalar": (m.AffineTransform(1.5, -0.25), X),
        "affine-event": (m.AffineTransform(t(np.array([1.0, -2.0, 0.5])), t(np.array([2.0, -0.5, 3.0])),
                                           event_dim=1), X),
        "compose": (m.ComposeTransform([m.AffineTransform(0.5, 2.0), m.TanhTransform(), m.AffineTransform(1.0, 3.0)]),
                    X),
        "independent": (m.IndependentTransform(m.ExpTransform(), 1), X),
        "reshape": (m.ReshapeTransform((3,), (3, 1)), X),
        "softmax": (m.SoftmaxTransform(), X),
        "abs": (m.AbsTransform(), X),
    }[name]


BIJECTIVE = ["exp", "power", "sigmoid", "tanh", "softplus", "affine", "affine-scalar", "affine-event", "compose",
             "independent", "reshape"]


@pytest.mark.parametrize("name", BIJECTIVE + ["softmax", "abs"])
def test_transform_matches_torch(name):
    ours, x = _pair(tt, name)
    theirs, _ = _pair(torch, name)
    y, ty = ours(tt.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-12, atol=1e-12)
    back, t_back = ours.inv(y), theirs.inv(ty)
    np.testing.assert_allclose(back.numpy(), t_back.numpy(), rtol=1e-10, atol=1e-10)
    assert ours.bijective == theirs.bijective
    assert ours.domain.event_dim == theirs.domain.event_dim and ours.codomain.event_dim == theirs.codomain.event_dim
    assert tuple(ours.forward_shape((4, 3))) == tuple(theirs.forward_shape((4, 3)))
    assert tuple(ours.inverse_shape(tuple(y.shape))) == tuple(theirs.inverse_shape(tuple(ty.shape)))
    if name in BIJECTIVE:
        np.testing.assert_allclose(back.numpy(), x, rtol=1e-9, atol=1e-9)
        ladj = ours.log_abs_det_jacobian(tt.tensor(x), y)
        t_ladj = theirs.log_abs_det_jacobian(torch.tensor(x), ty)
        np.testing.assert_allclose(ladj.numpy(), t_ladj.numpy(), rtol=1e-10, atol=1e-10)
        inv_ladj = ours.inv.log_abs_det_jacobian(y, tt.tensor(x))
        np.testing.assert_allclose(inv_ladj.numpy(), -ladj.numpy(), rtol=1e-12, atol=1e-12)


def test_log_abs_det_jacobian_is_the_derivative():
    """For the one-variable transforms: log|dy/dx| by central differences."""
    for name in ("exp", "sigmoid", "tanh", "softplus", "affine", "compose"):
        t, x = _pair(tt, name)
        h = 1e-6
        dy = (t(tt.tensor(x + h)).numpy() - t(tt.tensor(x - h)).numpy()) / (2 * h)
        ladj = t.log_abs_det_jacobian(tt.tensor(x), t(tt.tensor(x))).numpy()
        np.testing.assert_allclose(ladj, np.log(np.abs(dy)), rtol=1e-5, atol=1e-6, err_msg=name)


def test_cache_returns_the_preimage_of_a_saturated_tanh():
    t = T.TanhTransform(cache_size=1)
    x = tt.tensor([25.0, -30.0, 0.3])
    y = t(x)
    assert y.numpy()[0] == 1.0   # tanh rounded to 1: atanh would give inf
    assert t.inv(y) is x
    assert np.isinf(T.TanhTransform().inv(y).numpy()[0])
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        T.ExpTransform(cache_size=2)
    assert T.ExpTransform().with_cache(1)._cache_size == 1
    assert T.ExpTransform() == T.ExpTransform() and T.ExpTransform().inv == T.ExpTransform().inv
    assert T.identity_transform(tt.tensor(X)).numpy().tolist() == X.tolist()


def _squashed(lib, mu, log_std):
    d, tr = (D, T) if lib is tt else (TD, TT)
    return d.TransformedDistribution(d.Normal(mu, log_std.exp()), [tr.TanhTransform(cache_size=1),
                                                                   tr.AffineTransform(0.5, 2.0)])


def test_tanh_squashed_policy_matches_torch():
    """The SAC actor's distribution: log_prob of its own rsample (through the cache) and its gradients."""
    mu, log_std = RNG.standard_normal((5, 2)), RNG.standard_normal((5, 2)) * 0.3
    value = np.tanh(RNG.standard_normal((3, 5, 2))) * 2 + 0.5
    ours_p = [tt.tensor(mu, requires_grad=True), tt.tensor(log_std, requires_grad=True)]
    theirs_p = [torch.tensor(mu, requires_grad=True), torch.tensor(log_std, requires_grad=True)]
    ours, theirs = _squashed(tt, *ours_p), _squashed(torch, *theirs_p)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape) == (5, 2) and tuple(ours.event_shape) == ()
    assert ours.has_rsample
    lp, t_lp = ours.log_prob(tt.tensor(value)), theirs.log_prob(torch.tensor(value))
    np.testing.assert_allclose(lp.detach().numpy(), t_lp.detach().numpy(), rtol=1e-10, atol=1e-10)
    lp.sum().backward()
    t_lp.sum().backward()
    for a, b in zip(ours_p, theirs_p):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-10)
    tt.manual_seed(0)
    a = ours.rsample((7,))
    assert tuple(a.shape) == (7, 5, 2) and float(a.min()) > -1.5 and float(a.max()) < 2.5
    assert np.isfinite(ours.log_prob(a).detach().numpy()).all()
    np.testing.assert_allclose(ours.cdf(tt.tensor(value)).detach().numpy(),
                               theirs.cdf(torch.tensor(value)).detach().numpy(), rtol=1e-9, atol=1e-12)


def test_event_dims_and_broadcast_batch_dims_match_torch():
    cases = [
        lambda d, tr, t: d.TransformedDistribution(d.Normal(t(np.zeros(3)), t(np.ones(3))),
                                                   [tr.IndependentTransform(tr.ExpTransform(), 1)]),
        lambda d, tr, t: d.TransformedDistribution(d.Normal(t(np.zeros(6)), t(np.ones(6))),
                                                   [tr.ReshapeTransform((6,), (2, 3))]),
        lambda d, tr, t: d.TransformedDistribution(d.Normal(t(np.zeros(3)), t(np.ones(3))),
                                                   tr.AffineTransform(t(np.arange(6.0).reshape(2, 3)), 2.0)),
        lambda d, tr, t: d.TransformedDistribution(d.Normal(t(np.zeros((2, 4))), t(np.ones((2, 4)))),
                                                   [tr.SoftmaxTransform()]),
    ]
    for i, make in enumerate(cases):
        ours = make(D, T, tt.tensor)
        theirs = make(TD, TT, torch.tensor)
        assert (tuple(ours.batch_shape), tuple(ours.event_shape)) == \
            (tuple(theirs.batch_shape), tuple(theirs.event_shape)), i
        tt.manual_seed(1)
        s = ours.sample((2,))
        assert tuple(s.shape) == (2,) + tuple(theirs.batch_shape) + tuple(theirs.event_shape), i
        if i < 3:
            np.testing.assert_allclose(ours.log_prob(s).numpy(), theirs.log_prob(torch.tensor(s.numpy())).numpy(),
                                       rtol=1e-6, atol=1e-6, err_msg=str(i))
    with pytest.raises(ValueError, match="transforms must be a Transform"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), [lambda x: x])
    with pytest.raises(ValueError, match="only new leading batch dims"):
        D.TransformedDistribution(D.Normal(tt.zeros(1), tt.ones(1)), T.AffineTransform(tt.zeros(3), 1.0))


@pytest.mark.parametrize("name", ["Pareto", "Weibull"])
def test_pareto_weibull_match_torch(name):
    a, b = RNG.uniform(0.5, 3.0, (3, 2)), RNG.uniform(0.6, 4.0, (3, 2))
    value = RNG.uniform(0.1, 2.0, (4, 3, 2)) + (a if name == "Pareto" else 0)
    ours_p = [tt.tensor(a, requires_grad=True), tt.tensor(b, requires_grad=True)]
    theirs_p = [torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)]
    ours, theirs = getattr(D, name)(*ours_p), getattr(TD, name)(*theirs_p)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape) and ours.has_rsample
    lp, t_lp = ours.log_prob(tt.tensor(value)), theirs.log_prob(torch.tensor(value))
    np.testing.assert_allclose(lp.detach().numpy(), t_lp.detach().numpy(), rtol=1e-10, atol=1e-10)
    for moment in ("mean", "mode", "variance"):
        np.testing.assert_allclose(getattr(ours, moment).detach().numpy(),
                                   getattr(theirs, moment).detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=moment)
    np.testing.assert_allclose(ours.entropy().detach().numpy(), theirs.entropy().detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.cdf(tt.tensor(value)).detach().numpy(),
                               theirs.cdf(torch.tensor(value)).detach().numpy(), rtol=1e-10, atol=1e-12)
    (lp.sum() + ours.entropy().sum()).backward()
    (t_lp.sum() + theirs.entropy().sum()).backward()
    for x, y in zip(ours_p, theirs_p):
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-9, atol=1e-10)
    with pytest.raises(ValueError, match="Expected parameter"):
        getattr(D, name)(tt.tensor([1.0, -1.0]), tt.tensor([1.0, 1.0]))


@pytest.mark.parametrize("name,params,mean,var", [("Pareto", (1.5, 6.0), 1.8, 0.135),
                                                   ("Weibull", (2.0, 1.5), 1.8054905859018673, 1.502761139255727)])
def test_pareto_weibull_sample_moments_and_cpu_cuda_draws(name, params, mean, var):
    """Sample mean and variance against the closed forms (Pareto: a scale / (a - 1), scale^2 a / ((a - 1)^2 (a - 2));
    Weibull: scale G(1 + 1/k), scale^2 (G(1 + 2/k) - G(1 + 1/k)^2)), then cpu and cuda draws alike."""
    n = 200_000
    tt.manual_seed(5)
    d = getattr(D, name)(tt.full((n,), params[0]), tt.full((n,), params[1]))
    x = d.sample().numpy().astype(np.float64)
    np.testing.assert_allclose([float(d.mean[0]), float(d.variance[0])], [mean, var], rtol=1e-6)
    assert abs(x.mean() - mean) < 5 * (var / n) ** 0.5, (x.mean(), mean)
    assert abs(x.var() / var - 1) < 0.05, (x.var(), var)
    draws = []
    for device in ("cpu", "cuda"):
        tt.manual_seed(9)
        draws.append(getattr(D, name)(tt.full((64,), params[0], device=device),
                                      tt.full((64,), params[1], device=device)).sample().cpu().numpy())
    np.testing.assert_allclose(draws[0], draws[1], rtol=1e-5, atol=1e-6)
