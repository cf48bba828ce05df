"""rrelu (tritorch/ops/nn_rrelu.py) and nn.RReLU vs PyTorch: eval values and gradients exactly as torch's, training
slopes drawn in [lower, upper] on non-positive inputs only (same seed: same slopes on cpu and cuda), the gradient
equal to the sampled slopes, in place, and torch's errors."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.nn.functional as F

torch = pytest.importorskip("torch")

DEVICES = ["cpu", "cuda"]


def _x(shape=(3, 37), seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    x.flat[:3] = (0.0, -0.0, 2.5)
    return x


@pytest.mark.parametrize("device", DEVICES)
def test_eval_matches_torch(device):
    x = _x()
    xt = torch.tensor(x, requires_grad=True)
    xx = tt.tensor(x, device=device, requires_grad=True)
    ref = torch.nn.functional.rrelu(xt, 0.1, 0.3)
    out = F.rrelu(xx, 0.1, 0.3)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-6)
    ref.sum().backward()
    out.sum().backward()
    np.testing.assert_allclose(xx.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(tt.rrelu(tt.tensor(x)).numpy(), torch.rrelu(torch.tensor(x)).numpy(), rtol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_training_slopes_and_gradient(device):
    x = _x()
    xx = tt.tensor(x, device=device, requires_grad=True)
    tt.manual_seed(3)
    out = F.rrelu(xx, 0.1, 0.3, training=True)
    y = out.detach().cpu().numpy()
    neg = x < 0
    slopes = y[neg] / x[neg]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    np.testing.assert_array_equal(y[x > 0], x[x > 0])
    out.backward(tt.ones_like(out))
    g = xx.grad.cpu().numpy()
    np.testing.assert_allclose(g[neg], slopes, rtol=1e-6)
    np.testing.assert_array_equal(g[x > 0], 1.0)
    # x = 0 (and -0) takes a slope too, as torch's `input <= 0`: the gradient there is a slope, not 1
    assert 0.1 <= g.flat[0] <= 0.3 and 0.1 <= g.flat[1] <= 0.3
    tt.manual_seed(3)
    again = F.rrelu(tt.tensor(x, device="cpu"), 0.1, 0.3, training=True)
    np.testing.assert_array_equal(again.numpy(), y)


def test_slopes_law_and_generator():
    x = -np.ones(20000, np.float32)
    g = tt.Generator().manual_seed(5)
    y = tt.rrelu(tt.tensor(x), 0.2, 0.4, True, g).numpy()
    assert abs(-y.mean() - 0.3) < 0.005 and -y.min() <= 0.4 and -y.max() >= 0.2
    g.manual_seed(5)
    np.testing.assert_array_equal(tt.rrelu(tt.tensor(x), 0.2, 0.4, True, g).numpy(), y)


@pytest.mark.parametrize("device", DEVICES)
def test_inplace(device):
    x = _x()
    leaf = tt.tensor(x, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.rrelu(leaf, training=True, inplace=True)
    y = leaf * 1
    tt.manual_seed(1)
    r = F.rrelu(y, training=True, inplace=True)
    assert r is y
    r.sum().backward()
    g = leaf.grad.cpu().numpy()
    np.testing.assert_allclose(y.detach().cpu().numpy(), x * g, rtol=1e-6)
    z = tt.tensor(x, device=device)
    assert tt.rrelu_(z) is z
    np.testing.assert_allclose(z.cpu().numpy(), torch.rrelu_(torch.tensor(x)).numpy(), rtol=1e-6)
    w = tt.tensor(x)
    F.rrelu_(w, 0.1, 0.2)
    np.testing.assert_allclose(w.numpy(), torch.nn.functional.rrelu_(torch.tensor(x), 0.1, 0.2).numpy(), rtol=1e-6)


def test_module():
    m, mt = tt.nn.RReLU(0.1, 0.3, True), torch.nn.RReLU(0.1, 0.3, True)
    assert repr(m) == repr(mt) and repr(tt.nn.RReLU()) == repr(torch.nn.RReLU())
    x = _x()
    m.eval()
    mt.eval()
    np.testing.assert_allclose(m(tt.tensor(x)).numpy(), mt(torch.tensor(x)).numpy(), rtol=1e-6)
    m.train()
    y = tt.nn.RReLU()(tt.tensor(x)).numpy()
    assert not np.allclose(y[x < 0], x[x < 0] * (1 / 8 + 1 / 3) / 2)
    assert tt.nn.RReLU().state_dict() == {}


def test_errors():
    for fn, tfn in ((F.rrelu, torch.nn.functional.rrelu),):
        with pytest.raises(RuntimeError) as ours:
            fn(tt.randn(3), 0.5, 0.2, True)
        with pytest.raises(RuntimeError) as theirs:
            tfn(torch.randn(3), 0.5, 0.2, True)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        F.rrelu(tt.arange(3), training=True)
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        F.rrelu(tt.arange(3))
