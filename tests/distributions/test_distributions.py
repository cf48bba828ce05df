"""tritorch.distributions against torch.distributions: shapes, log_prob, entropy, moments, kl_divergence,
gradients of rsample/log_prob, sample frequencies, parameter validation, cpu/cuda agreement of samples."""
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
