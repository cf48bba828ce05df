"""svd_lowrank and pca_lowrank: properties on cpu and cuda (the Triton interpreter without a GPU), and against
torch with the same random test matrix (torch's draw replayed through the module's _random_matrix)."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import linalg_lowrank

torch = pytest.importorskip("torch")

DEVICES = ["cpu", "cuda"]


def _np(x):
    return x.detach().cpu().numpy()


def _low_rank(shape, rank, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape[:-1] + (rank,)) @ rng.standard_normal(shape[:-2] + (rank, shape[-1]))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(8, 5), (2, 4, 6)])
def test_svd_lowrank_recovers_a_low_rank_matrix(device, shape):
    a = _low_rank(shape, 2)
    tt.manual_seed(0)
    U, S, V = tt.svd_lowrank(tt.tensor(a, device=device), q=3, niter=1)
    k = 3
    assert tuple(U.shape) == shape[:-1] + (k,) and tuple(V.shape) == shape[:-2] + (shape[-1], k)
    np.testing.assert_allclose(_np((U * S.unsqueeze(-2)) @ V.mT), a, atol=1e-10)
    np.testing.assert_allclose(_np(U.mT @ U), np.broadcast_to(np.eye(k), shape[:-2] + (k, k)), atol=1e-10)
    np.testing.assert_allclose(_np(V.mT @ V), np.broadcast_to(np.eye(k), shape[:-2] + (k, k)), atol=1e-10)
    assert np.all(np.diff(_np(S), axis=-1) <= 0)
    np.testing.assert_allclose(_np(S)[..., :2], np.linalg.svd(a, compute_uv=False)[..., :2], rtol=1e-10)


@pytest.mark.parametrize("device", DEVICES)
def test_svd_lowrank_with_mean_and_seed(device):
    a, mean = _low_rank((7, 5), 2, 1), np.random.default_rng(2).standard_normal((1, 5))
    x = tt.tensor(a + mean, device=device)
    tt.manual_seed(3)
    U, S, V = tt.svd_lowrank(x, q=3, niter=1, M=tt.tensor(mean, device=device))
    np.testing.assert_allclose(_np((U * S.unsqueeze(-2)) @ V.mT), a, atol=1e-10)
    tt.manual_seed(3)
    np.testing.assert_array_equal(_np(tt.svd_lowrank(x, q=3, niter=1, M=tt.tensor(mean, device=device)).S), _np(S))


def _replay_torch_draw(monkeypatch, n, q, seed):
    """tritorch's test matrix := the one torch.svd_lowrank draws first after torch.manual_seed(seed)."""
    torch.manual_seed(seed)
    r = torch.randn(n, q, dtype=torch.float64).numpy()

    def replay(n_, q_, dtype, device):
        assert (n_, q_) == (n, q)
        return tt.tensor(r, device=device)
    monkeypatch.setattr(linalg_lowrank, "_random_matrix", replay)
    torch.manual_seed(seed)


def _assert_same_up_to_column_sign(x, ref):
    signs = np.sign(np.sum(x * ref, axis=-2, keepdims=True))
    np.testing.assert_allclose(x * signs, ref, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(10, 7), (6, 9)])
def test_svd_lowrank_matches_torch_given_the_same_draw(monkeypatch, device, shape):
    a = np.random.default_rng(4).standard_normal(shape) * np.linspace(3, 0.1, shape[-1])
    _replay_torch_draw(monkeypatch, min(shape), 4, 5)   # the columns of A, or of A^T for a wide A
    ref = torch.svd_lowrank(torch.tensor(a), q=4, niter=1)
    got = tt.svd_lowrank(tt.tensor(a, device=device), q=4, niter=1)
    np.testing.assert_allclose(_np(got.S), ref[1].numpy(), rtol=1e-9)
    _assert_same_up_to_column_sign(_np(got.U), ref[0].numpy())
    _assert_same_up_to_column_sign(_np(got.V), ref[2].numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_pca_lowrank_matches_torch_and_gradients(monkeypatch, device):
    a = np.random.default_rng(6).standard_normal((6, 4)) * np.linspace(2, 0.2, 4)
    _replay_torch_draw(monkeypatch, 4, 3, 7)
    ta = torch.tensor(a, requires_grad=True)
    ref = torch.pca_lowrank(ta, q=3, niter=1)
    x = tt.tensor(a, device=device, requires_grad=True)
    got = tt.pca_lowrank(x, q=3, niter=1)
    np.testing.assert_allclose(_np(got.S), ref[1].detach().numpy(), rtol=1e-9)
    _assert_same_up_to_column_sign(_np(got.V), ref[2].detach().numpy())
    w = np.array([1.0, -2.0, 0.5])
    (ref[1] * torch.tensor(w)).sum().backward()
    (got.S * tt.tensor(w, device=device)).sum().backward()
    np.testing.assert_allclose(_np(x.grad), ta.grad.numpy(), rtol=1e-7, atol=1e-9)


def test_svd_lowrank_gradcheck(monkeypatch):
    r = np.random.default_rng(8).standard_normal((4, 3))
    monkeypatch.setattr(linalg_lowrank, "_random_matrix", lambda n, q, dtype, device: tt.tensor(r))
    a = tt.tensor(np.random.default_rng(9).standard_normal((6, 4)) * np.array([3.0, 2.0, 1.0, 0.5]),
                  requires_grad=True)
    assert tt.autograd.gradcheck(lambda x: tt.svd_lowrank(x, q=3, niter=1).S, (a,))


def test_pca_lowrank_errors():
    x = tt.zeros(4, 3)
    for kwargs, msg in (({"q": 4}, r"q\(=4\) must be non-negative integer and not greater than min\(m, n\)=3"),
                        ({"q": -1}, r"q\(=-1\)"), ({"niter": -1}, r"niter\(=-1\) must be non-negative integer")):
        with pytest.raises(ValueError, match=msg):
            tt.pca_lowrank(x, **kwargs)
        with pytest.raises(ValueError, match=msg):
            torch.pca_lowrank(torch.zeros(4, 3), **kwargs)
