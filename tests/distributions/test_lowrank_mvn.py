"""LowRankMultivariateNormal against torch.distributions in float64: log_prob, entropy, moments and matrices
with their gradients, the three KL pairs with MultivariateNormal, expand, argument errors, sample statistics,
both devices."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")
D, TD = tt.distributions, torch.distributions

RNG = np.random.default_rng(11)
LOC = RNG.standard_normal((2, 4))
W = RNG.standard_normal((2, 4, 2))
DIAG = RNG.uniform(0.5, 2.0, (2, 4))
X = RNG.standard_normal((3, 2, 4))


def _both(device, loc=LOC, w=W, diag=DIAG):
    ours = [tt.tensor(a, device=device, requires_grad=True) for a in (loc, w, diag)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (loc, w, diag)]
    return D.LowRankMultivariateNormal(*ours), ours, TD.LowRankMultivariateNormal(*theirs), theirs


def _close(ours, theirs, rtol=1e-9):
    np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), rtol=rtol, atol=1e-11)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("what", ["log_prob", "entropy", "variance", "covariance_matrix", "precision_matrix",
                                  "scale_tril"])
def test_values_and_gradients(what, device):
    d, ours, t, theirs = _both(device)
    if what == "log_prob":
        got, expected = d.log_prob(tt.tensor(X, device=device)), t.log_prob(torch.tensor(X))
    elif what == "entropy":
        got, expected = d.entropy(), t.entropy()
    else:
        got, expected = getattr(d, what), getattr(t, what)
    _close(got, expected)
    w = RNG.standard_normal(tuple(expected.shape))
    (got * tt.tensor(w, device=device)).sum().backward()
    grads = torch.autograd.grad((expected * torch.tensor(w)).sum(), theirs, allow_unused=True)
    for p, g in zip(ours, grads):
        if g is None:
            assert p.grad is None or not p.grad.abs().sum().item()
        else:
            _close(p.grad, g, rtol=1e-8)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_kl_pairs(device):
    p, p_ours, tp, p_theirs = _both(device)
    q, q_ours, tq, q_theirs = _both(device, LOC[::-1].copy(), W * 0.5, DIAG[::-1].copy())
    cov = np.einsum("bij,bkj->bik", W, W) + 0.3 * np.eye(4)
    m_ours = D.MultivariateNormal(tt.tensor(LOC[0], device=device), covariance_matrix=tt.tensor(cov, device=device))
    m_theirs = TD.MultivariateNormal(torch.tensor(LOC[0]), covariance_matrix=torch.tensor(cov))
    for a, b, ta, tb in [(p, q, tp, tq), (m_ours, q, m_theirs, tq), (p, m_ours, tp, m_theirs)]:
        kl, expected = D.kl_divergence(a, b), TD.kl_divergence(ta, tb)
        _close(kl, expected)
    kl = D.kl_divergence(p, q).sum()
    kl.backward()
    grads = torch.autograd.grad(TD.kl_divergence(tp, tq).sum(), p_theirs + q_theirs)
    for ours, g in zip(p_ours + q_ours, grads):
        _close(ours.grad, g, rtol=1e-8)
    with pytest.raises(ValueError, match="different event shapes"):
        D.kl_divergence(p, D.LowRankMultivariateNormal(tt.zeros(3, device=device), tt.ones(3, 1, device=device),
                                                       tt.ones(3, device=device)))


def test_expand_and_shapes():
    d = D.LowRankMultivariateNormal(tt.tensor(LOC[0]), tt.tensor(W[0]), tt.tensor(DIAG))   # batch broadcasts
    assert d.batch_shape == (2,) and d.event_shape == (4,) and d.cov_factor.shape == (2, 4, 2)
    e = d.expand((3, 2))
    t = TD.LowRankMultivariateNormal(torch.tensor(LOC[0]), torch.tensor(W[0]), torch.tensor(DIAG)).expand((3, 2))
    assert e.batch_shape == t.batch_shape and type(e) is D.LowRankMultivariateNormal
    _close(e.log_prob(tt.tensor(X)), t.log_prob(torch.tensor(X)))
    assert e.rsample((5,)).shape == (5, 3, 2, 4)


def test_argument_errors():
    z = tt.zeros(3)
    with pytest.raises(ValueError, match="loc must be at least one-dimensional"):
        D.LowRankMultivariateNormal(tt.tensor(0.0), tt.ones(1, 1), tt.ones(1))
    with pytest.raises(ValueError, match="cov_factor must be at least two-dimensional"):
        D.LowRankMultivariateNormal(z, tt.ones(3), tt.ones(3))
    with pytest.raises(ValueError, match="cov_factor must be a batch of matrices with shape 3 x m"):
        D.LowRankMultivariateNormal(z, tt.ones(2, 1), tt.ones(3))
    with pytest.raises(ValueError, match=r"cov_diag must be a batch of vectors with shape \(3,\)"):
        D.LowRankMultivariateNormal(z, tt.ones(3, 1), tt.ones(2))
    with pytest.raises(ValueError, match="Incompatible batch shapes"):
        D.LowRankMultivariateNormal(tt.zeros(2, 3), tt.ones(4, 3, 1), tt.ones(3))
    with pytest.raises(ValueError, match=r"Expected parameter cov_diag .* IndependentConstraint\(GreaterThan"):
        D.LowRankMultivariateNormal(z, tt.ones(3, 1), tt.tensor([1.0, -1.0, 1.0]))
    D.LowRankMultivariateNormal(z, tt.ones(3, 1), tt.tensor([1.0, 0.5, 1.0]), validate_args=False)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_sample_statistics(device):
    tt.manual_seed(3)
    n = 4000 if device == "cpu" else 100      # (the interpreter's batched matmul is slow)
    d, *_ = _both(device)
    s = d.sample((n,)).cpu().numpy()[:, 1]
    cov = W[1] @ W[1].T + np.diag(DIAG[1])
    # standard errors: ~sqrt(var / n) for the mean, ~sqrt(2 var^2 / n) for the covariance (5 sigma bounds)
    np.testing.assert_allclose(s.mean(0), LOC[1], atol=5 * np.sqrt(np.diag(cov).max() / n))
    np.testing.assert_allclose(np.cov(s.T), cov, atol=5 * np.sqrt(2 / n) * np.diag(cov).max())
    x = tt.tensor(LOC, device=device, requires_grad=True)
    d = D.LowRankMultivariateNormal(x, tt.tensor(W, device=device), tt.tensor(DIAG, device=device))
    d.rsample().sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), np.ones_like(LOC))
