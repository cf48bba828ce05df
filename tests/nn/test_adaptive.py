"""nn.AdaptiveLogSoftmaxWithLoss vs PyTorch with the same weights: state_dict keys and shapes, (output, loss), parameter
gradients, log_prob, predict, the unbatched form, cuda, and torch's errors."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")


def _pair(head_bias=False, **kw):
    tm = torch.nn.AdaptiveLogSoftmaxWithLoss(16, 20, [4, 10, 15], div_value=2.0, head_bias=head_bias, **kw)
    m = tt.nn.AdaptiveLogSoftmaxWithLoss(16, 20, [4, 10, 15], div_value=2.0, head_bias=head_bias, **kw)
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tm.state_dict().items()}
    assert list(m.state_dict()) == list(tm.state_dict())
    m.load_state_dict({k: tt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return m, tm


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_forward_loss_and_grads(device):
    m, tm = _pair(head_bias=True)
    m.to(device)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 16)).astype(np.float32)
    y = np.array([0, 3, 4, 9, 10, 19, 15, 2, 12], np.int64)
    out, loss = m(tt.tensor(x, device=device), tt.tensor(y, device=device))
    tout, tloss = tm(torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(out.detach().cpu().numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)
    loss.backward()
    tloss.backward()
    grads = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.cpu().numpy(), grads[name].grad.numpy(), rtol=1e-4, atol=1e-6)
    lp, tlp = m.log_prob(tt.tensor(x, device=device)), tm.log_prob(torch.tensor(x))
    np.testing.assert_allclose(lp.detach().cpu().numpy(), tlp.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(m.predict(tt.tensor(x, device=device)).cpu().numpy(),
                                  tm.predict(torch.tensor(x)).numpy())


def test_predict_paths_and_unbatched():
    m, tm = _pair()
    x = np.random.default_rng(1).standard_normal((40, 16)).astype(np.float32)
    x[:, 0] = 1.0
    with torch.no_grad():      # steer the head by feature 0: all rows to the shortlist, all to clusters, mixed
        for shift, clusters in ((100.0, 0), (-100.0, 40), (0.0, None)):
            tm.head.weight[:4, 0] = shift
            m.head.weight.data = tt.tensor(tm.head.weight.numpy())
            n_clusters = int((tm.head(torch.tensor(x)).argmax(1) >= 4).sum())
            assert n_clusters == clusters if clusters is not None else 0 < n_clusters < 40
            np.testing.assert_array_equal(m.predict(tt.tensor(x)).numpy(), tm.predict(torch.tensor(x)).numpy())
    out, loss = m(tt.tensor(x[0]), tt.tensor(np.int64(12)))
    tout, tloss = tm(torch.tensor(x[0]), torch.tensor(12))
    assert tuple(out.shape) == tuple(tout.shape) == ()
    np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-5)
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)


@pytest.mark.parametrize("cutoffs", [[], [4, 2], [0, 4], [4, 20], [4, 4], [4.5]])
def test_constructor_errors(cutoffs):
    with pytest.raises(ValueError) as theirs:
        torch.nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs)
    with pytest.raises(ValueError) as ours:
        tt.nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("xs,y", [((3, 16), [1, 2]), ((3, 2, 16), [1, 2, 3]), ((3, 16), 1), ((16,), [[1]]),
                                  ((3, 16), [1, 25, 2])])
def test_forward_errors(xs, y):
    m, tm = _pair()
    with pytest.raises(RuntimeError) as theirs:
        tm(torch.zeros(xs), torch.tensor(y))
    with pytest.raises(RuntimeError) as ours:
        m(tt.zeros(xs), tt.tensor(y))
    assert str(ours.value).replace("tritorch.Size", "torch.Size") == str(theirs.value)
