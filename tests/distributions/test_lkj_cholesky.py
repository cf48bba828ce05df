"""LKJCholesky against torch.distributions in float64: log_prob and its concentration gradient, samples in the
support with the LKJ marginal moments, expand, argument errors, both devices."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")
D, TD = tt.distributions, torch.distributions


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_log_prob_matches_torch(device):
    conc = np.array([0.5, 1.0, 3.0])
    ours = tt.tensor(conc, device=device, requires_grad=True)
    theirs = torch.tensor(conc, requires_grad=True)
    x = TD.LKJCholesky(4, torch.tensor(2.0, dtype=torch.float64)).sample((3,))    # valid factors
    got = D.LKJCholesky(4, ours).log_prob(tt.tensor(x.numpy(), device=device))
    expected = TD.LKJCholesky(4, theirs).log_prob(x)
    np.testing.assert_allclose(got.detach().cpu().numpy(), expected.detach().numpy(), rtol=1e-10)
    got.sum().backward()
    np.testing.assert_allclose(ours.grad.cpu().numpy(), torch.autograd.grad(expected.sum(), theirs)[0].numpy(),
                               rtol=1e-9)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_samples_are_correlation_factors_with_lkj_moments(device):
    tt.manual_seed(2)
    n, dim, eta = 4000 if device == "cpu" else 400, 3, 2.0
    d = D.LKJCholesky(dim, tt.tensor(eta, dtype=tt.float64, device=device))
    L = d.sample((n,))
    assert L.shape == (n, dim, dim) and bool(D.constraints.corr_cholesky.check(L).all())
    C = (L @ L.mT).cpu().numpy()
    # an off-diagonal correlation of LKJ(eta) in dim d is 2 Beta(b, b) - 1, b = eta - 1 + d / 2: mean 0,
    # variance 1 / (2 b + 1)
    b = eta - 1 + dim / 2
    r = C[:, 1, 0]
    np.testing.assert_allclose(r.mean(), 0.0, atol=5 * np.sqrt(1 / (2 * b + 1) / n))
    np.testing.assert_allclose(r.var(), 1 / (2 * b + 1), rtol=5 * np.sqrt(2 / n))


def test_expand_errors_and_constraints():
    d = D.LKJCholesky(3, tt.tensor([1.0, 2.0]))
    e = d.expand((4, 2))
    assert e.batch_shape == (4, 2) and e.event_shape == (3, 3) and e.sample().shape == (4, 2, 3, 3)
    assert repr(d.support) == repr(TD.LKJCholesky(3, 1.0).support)
    assert repr(d.arg_constraints["concentration"]) == repr(TD.LKJCholesky.arg_constraints["concentration"])
    with pytest.raises(ValueError, match="Expected dim to be an integer greater than or equal to 2. Found dim=1."):
        D.LKJCholesky(1)
    with pytest.raises(ValueError, match="Expected parameter concentration"):
        D.LKJCholesky(3, tt.tensor([-1.0]))
