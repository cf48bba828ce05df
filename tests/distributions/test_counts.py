"""Geometric, Binomial, NegativeBinomial, Multinomial and tt.binomial against torch.distributions: log_prob,
entropy, moments and their gradients; sample means and variances over many draws (both binomial samplers);
cpu/cuda draws alike; validation errors."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")
D, TD = tt.distributions, torch.distributions
RNG = np.random.default_rng(5)
P = RNG.uniform(0.05, 0.95, (3, 2))
N = np.array([[0.0, 4.0], [7.0, 12.0], [30.0, 1.0]])


def _pair(name, use_logits=False):
    """(ours, theirs, our params, their params) with the float64 parameters requiring grad."""
    out = []
    for lib in (tt, torch):
        mk = (lambda a: tt.tensor(a, requires_grad=True)) if lib is tt else \
            (lambda a: torch.tensor(a, requires_grad=True))
        p = mk(np.log(P / (1 - P)) if use_logits else P)
        kw = {"logits" if use_logits else "probs": p}
        mod = D if lib is tt else TD
        if name == "Geometric":
            d, params = mod.Geometric(**kw), [p]
        elif name == "Binomial":
            d, params = mod.Binomial(lib.tensor(N), **kw), [p]
        else:
            r = mk(N + 0.5)
            d, params = mod.NegativeBinomial(r, **kw), [p, r]
        out.append((d, params))
    return out[0][0], out[1][0], out[0][1], out[1][1]


@pytest.mark.parametrize("use_logits", [False, True])
@pytest.mark.parametrize("name", ["Geometric", "Binomial", "NegativeBinomial"])
def test_log_prob_moments_and_gradients_match_torch(name, use_logits):
    ours, theirs, params, t_params = _pair(name, use_logits)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    value = np.minimum(np.floor(RNG.uniform(0, 12, (4, 3, 2))), N if name == "Binomial" else np.inf)
    lp, t_lp = ours.log_prob(tt.tensor(value)), theirs.log_prob(torch.tensor(value))
    np.testing.assert_allclose(lp.detach().numpy(), t_lp.detach().numpy(), rtol=1e-10, atol=1e-12)
    for moment in ("mean", "mode", "variance"):
        np.testing.assert_allclose(getattr(ours, moment).detach().numpy(), getattr(theirs, moment).detach().numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=moment)
    total, t_total = lp.sum() + ours.mean.sum(), t_lp.sum() + theirs.mean.sum()
    if name == "Geometric":
        np.testing.assert_allclose(ours.entropy().detach().numpy(), theirs.entropy().detach().numpy(), rtol=1e-10)
        total, t_total = total + ours.entropy().sum(), t_total + theirs.entropy().sum()
    total.backward()
    t_total.backward()
    for a, b in zip(params, t_params):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_binomial_enumerate_support_and_entropy_match_torch():
    ours, theirs = D.Binomial(6, tt.tensor(P)), TD.Binomial(6, torch.tensor(P))
    np.testing.assert_array_equal(ours.enumerate_support().numpy(), theirs.enumerate_support().numpy())
    assert tuple(ours.enumerate_support(False).shape) == (7, 1, 1)
    np.testing.assert_allclose(ours.entropy().numpy(), theirs.entropy().numpy(), rtol=1e-10)
    with pytest.raises(NotImplementedError, match="Inhomogeneous total count"):
        D.Binomial(tt.tensor([2.0, 3.0]), tt.tensor([0.5, 0.5])).entropy()


def test_multinomial_matches_torch():
    probs = RNG.dirichlet(np.ones(4), size=3)
    ours, theirs = D.Multinomial(9, tt.tensor(probs)), TD.Multinomial(9, torch.tensor(probs))
    assert (tuple(ours.batch_shape), tuple(ours.event_shape)) == ((3,), (4,))
    tt.manual_seed(2)
    s = ours.sample((5,))
    assert tuple(s.shape) == (5, 3, 4) and np.all(s.numpy().sum(-1) == 9)
    np.testing.assert_allclose(ours.log_prob(s).numpy(), theirs.log_prob(torch.tensor(s.numpy())).numpy(),
                               rtol=1e-10)
    # entropy: exact by enumerating all count vectors; PyTorch's takes lgamma(n + 1) in float32 (5e-8 off here)
    counts = np.array([c for c in np.ndindex(*(10,) * 4) if sum(c) == 9], np.float64)
    logp = theirs.log_prob(torch.tensor(counts[:, None, :])).numpy()            # (compositions, 3)
    exact = -(np.exp(logp) * logp).sum(0)
    np.testing.assert_allclose(ours.entropy().numpy(), exact, rtol=1e-12)
    np.testing.assert_allclose(ours.entropy().numpy(), theirs.entropy().numpy(), rtol=1e-7)
    np.testing.assert_allclose(ours.mean.numpy(), theirs.mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.variance.numpy(), theirs.variance.numpy(), rtol=1e-12)
    zero = D.Multinomial(3, tt.tensor([0.0, 0.5, 0.5]))   # a zero-probability class with count 0: finite
    assert np.isfinite(zero.log_prob(tt.tensor([0.0, 1.0, 2.0])).item())
    with pytest.raises(NotImplementedError, match="inhomogeneous total_count"):
        D.Multinomial(tt.tensor(3), tt.tensor([0.5, 0.5]))


@pytest.mark.parametrize("count,prob", [(20.0, 0.1), (5.0, 0.9), (1000.0, 0.3), (60.0, 0.75), (0.0, 0.4),
                                        (12.0, 0.0), (7.0, 1.0)])
def test_binomial_sampler_moments(count, prob):
    n = 100_000
    tt.manual_seed(3)
    x = tt.binomial(tt.full((n,), count, dtype=tt.float64), tt.full((n,), prob, dtype=tt.float64)).numpy()
    assert np.all(x == np.floor(x)) and x.min() >= 0 and x.max() <= count
    mean, var = count * prob, count * prob * (1 - prob)
    assert abs(x.mean() - mean) <= 5 * np.sqrt(var / n) + 1e-12, (x.mean(), mean)
    if var > 0:
        assert abs(x.var() / var - 1) < 0.03, (x.var(), var)
    else:
        assert np.all(x == mean)


def test_count_samplers_agree_on_cpu_and_cuda_and_moments():
    draws = []
    for device in ("cpu", "cuda"):
        tt.manual_seed(4)
        c = tt.tensor([3.0, 40.0, 200.0, 9.0], device=device)
        p = tt.tensor([0.2, 0.5, 0.05, 0.97], device=device)
        draws.append((tt.binomial(c, p).cpu().numpy(), D.Geometric(p).sample((3,)).cpu().numpy(),
                      D.NegativeBinomial(c, p.clamp(max=0.9)).sample().cpu().numpy()))
    for a, b in zip(*draws):
        np.testing.assert_array_equal(a, b)
    tt.manual_seed(6)
    g = D.Geometric(tt.full((200_000,), 0.3, dtype=tt.float64)).sample().numpy()
    assert abs(g.mean() - 7 / 3) < 0.03 and abs(g.var() / (0.7 / 0.09) - 1) < 0.03
    nb = D.NegativeBinomial(tt.full((200_000,), 4.0, dtype=tt.float64), tt.full((200_000,), 0.6, dtype=tt.float64))
    x = nb.sample().numpy()
    assert abs(x.mean() - 6.0) < 0.05 and abs(x.var() / 15.0 - 1) < 0.03


def test_validation_errors():
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        D.Geometric()
    with pytest.raises(ValueError, match="Expected parameter probs"):
        D.Binomial(3, tt.tensor([1.5]))
    with pytest.raises(ValueError, match="Expected parameter total_count"):
        D.Binomial(tt.tensor([2.5]), tt.tensor([0.5]))
    with pytest.raises(ValueError, match="Expected parameter probs"):
        D.NegativeBinomial(3.0, tt.tensor([1.0]))
    with pytest.raises(RuntimeError, match="binomial only supports floating-point dtypes for count, got: Long"):
        tt.binomial(tt.tensor([3]), tt.tensor([0.5]))
    with pytest.raises(RuntimeError, match="probabilities must lie in"):
        tt.binomial(tt.tensor([3.0]), tt.tensor([1.5]))
