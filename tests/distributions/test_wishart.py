"""Wishart against torch.distributions in float64: log_prob, entropy (closed form and ExponentialFamily route),
mean/variance/mode and their gradients, the three matrix parameterisations, expand, argument errors, the sample
mean, both devices."""
import warnings

import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")
D, TD = tt.distributions, torch.distributions

S = np.array([[[2.0, 0.5, 0.1], [0.5, 1.0, -0.2], [0.1, -0.2, 1.5]],
              [[1.0, 0.0, 0.3], [0.0, 0.7, 0.1], [0.3, 0.1, 2.0]]])
DF = np.array([3.5, 6.0])


def _both(device, kind="covariance_matrix"):
    mats = {"covariance_matrix": S, "precision_matrix": np.linalg.inv(S), "scale_tril": np.linalg.cholesky(S)}
    ours = [tt.tensor(DF, device=device, requires_grad=True), tt.tensor(mats[kind], device=device, requires_grad=True)]
    theirs = [torch.tensor(DF, requires_grad=True), torch.tensor(mats[kind], requires_grad=True)]
    return (D.Wishart(ours[0], **{kind: ours[1]}), ours, TD.Wishart(theirs[0], **{kind: theirs[1]}), theirs)


def _sample_values():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 3))
    return a @ a.transpose(0, 2, 1) + np.eye(3)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("what", ["log_prob", "entropy", "mean", "variance", "mode"])
@pytest.mark.parametrize("kind", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_against_torch(kind, what, device):
    if kind != "covariance_matrix" and what in ("mean", "variance", "mode"):
        return      # (the moments depend on the parameterisation only through L, tested via covariance_matrix)
    d, ours, t, theirs = _both(device, kind)
    if what == "log_prob":
        x = _sample_values()
        got, expected = d.log_prob(tt.tensor(x, device=device)), t.log_prob(torch.tensor(x))
    elif what == "entropy":
        got, expected = d.entropy(), t.entropy()
    else:
        got, expected = getattr(d, what), getattr(t, what)
    np.testing.assert_allclose(got.detach().cpu().numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    (got * tt.tensor(w, device=device)).sum().backward()
    grads = torch.autograd.grad((expected * torch.tensor(w)).sum(), theirs)
    for p, g in zip(ours, grads):
        got_g, expected_g = p.grad.cpu().numpy(), g.numpy()
        if kind == "scale_tril" and got_g.ndim == 3:
            # only the lower triangle of scale_tril is read; torch's cholesky_solve backward also returns
            # entries above it (tritorch's returns 0 there), so the lower triangles are compared
            got_g, expected_g = np.tril(got_g), np.tril(expected_g)
        np.testing.assert_allclose(got_g, expected_g, rtol=1e-8, atol=1e-10)


def test_exp_family_entropy_route():
    d, _, t, _ = _both("cpu")
    np.testing.assert_allclose(D.ExponentialFamily.entropy(d).detach().numpy(), t.entropy().detach().numpy(),
                               rtol=1e-10)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_sample_mean_and_rsample(device):
    tt.manual_seed(4)
    n = 3000 if device == "cpu" else 50     # (the interpreter's Gamma sampler is slow)
    d, ours, _, _ = _both(device)
    s = d.rsample((n,))
    assert s.shape == (n, 2, 3, 3) and bool(D.constraints.positive_definite.check(s.detach()).all())
    # E[X] = df S; var[X_ij] = df (S_ij^2 + S_ii S_jj): 5 standard errors
    sd = np.sqrt(DF[:, None, None] * (S ** 2 + np.einsum("bi,bj->bij", S.diagonal(0, 1, 2), S.diagonal(0, 1, 2))) / n)
    assert (np.abs(s.detach().cpu().numpy().mean(0) - DF[:, None, None] * S) < 5 * sd).all()
    s.sum().backward()
    assert np.isfinite(ours[0].grad.cpu().numpy()).all() and np.isfinite(ours[1].grad.cpu().numpy()).all()


def test_expand_and_errors():
    d, _, t, _ = _both("cpu")
    e, te = d.expand((4, 2)), t.expand((4, 2))
    assert e.batch_shape == te.batch_shape and e.event_shape == te.event_shape
    x = _sample_values()
    np.testing.assert_allclose(e.log_prob(tt.tensor(x)).detach().numpy(), te.log_prob(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10)
    assert D.Wishart(5.0, scale_tril=tt.eye(3)).batch_shape == ()
    with pytest.raises(AssertionError, match="Exactly one of covariance_matrix or precision_matrix or scale_tril"):
        D.Wishart(5.0)
    with pytest.raises(ValueError, match=r"expected to be greater than ndim - 1 = 2"):
        D.Wishart(2.0, covariance_matrix=tt.eye(3))
    with pytest.raises(ValueError, match="scale_tril must be at least two-dimensional"):
        D.Wishart(2.0, covariance_matrix=tt.ones(3))
    with pytest.raises(ValueError, match=r"Expected parameter covariance_matrix .* PositiveDefinite\(\)"):
        D.Wishart(4.0, covariance_matrix=-tt.eye(3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        D.Wishart(2.5, covariance_matrix=tt.eye(3))
    assert any("Low df values detected" in str(w.message) for w in caught)
