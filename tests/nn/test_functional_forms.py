"""nn.functional's thin forms (nn/_functional_forms.py): in-place activations, *_with_indices pools, the
deprecated upsample_* wrappers; and the deprecated nn.NLLLoss2d. Each against torch."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.nn as nn
import tritorch.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pair(a, requires_grad=False):
    a = np.asarray(a, dtype=np.float64)
    return tt.tensor(a).requires_grad_(requires_grad), torch.tensor(a).requires_grad_(requires_grad)


def _close(t, r):
    if isinstance(t, tuple):
        for a, b in zip(t, r, strict=True):
            _close(a, b)
        return
    assert tuple(t.shape) == tuple(r.shape)
    np.testing.assert_allclose(t.detach().numpy().astype(np.float64), r.detach().numpy().astype(np.float64),
                               rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name,args", [("elu_", (0.5,)), ("selu_", ()), ("celu_", (0.7,)), ("leaky_relu_", (0.2,)),
                                       ("hardtanh_", (-0.5, 0.75)), ("threshold_", (0.1, -3.0))])
def test_inplace_activations(name, args):
    values = [[-1.5, -0.2, 0.05], [0.3, 0.9, 2.0]]
    x, xr = _pair(values, requires_grad=True)
    y, yr = x * 1.5, xr * 1.5
    assert getattr(F, name)(y, *args) is y and y._version[0] == 1
    getattr(TF, name)(yr, *args)
    _close(y, yr)
    (y * y).sum().backward()
    (yr * yr).sum().backward()
    _close(x.grad, xr.grad)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(F, name)(tt.ones(2, requires_grad=True), *args)


@pytest.mark.parametrize("name,shape,args", [
    ("max_pool1d_with_indices", (1, 2, 7), (3, 2, 1)), ("max_pool2d_with_indices", (1, 2, 5, 5), (2,)),
    ("max_pool3d_with_indices", (1, 1, 4, 4, 4), (2, 2, 0, 1, True)),
    ("adaptive_max_pool1d_with_indices", (1, 2, 7), (3,)), ("adaptive_max_pool2d_with_indices", (1, 2, 5, 5), (2,)),
    ("adaptive_max_pool3d_with_indices", (1, 1, 4, 4, 4), (3,))])
def test_with_indices_pools_always_return_both(name, shape, args):
    values = np.random.default_rng(3).standard_normal(shape)
    x, xr = _pair(values, requires_grad=True)
    out, outr = getattr(F, name)(x, *args), getattr(TF, name)(xr, *args)
    assert isinstance(out, tuple) and len(out) == 2
    _close(out[0], outr[0])
    assert out[1].tolist() == outr[1].tolist()
    (out[0] ** 2).sum().backward()
    (outr[0] ** 2).sum().backward()
    _close(x.grad, xr.grad)


@pytest.mark.parametrize("name", ["upsample_bilinear", "upsample_nearest"])
def test_deprecated_upsample(name):
    x, xr = _pair(np.arange(8.0).reshape(1, 2, 2, 2))
    for kw in (dict(scale_factor=2), dict(size=(3, 5))):
        with pytest.warns(UserWarning, match=f"`nn.functional.{name}` is deprecated"):
            out = getattr(F, name)(x, **kw)
        with pytest.warns(UserWarning):
            _close(out, getattr(TF, name)(xr, **kw))


def test_native_channel_shuffle():
    x, xr = _pair(np.arange(24.0).reshape(1, 6, 2, 2))
    _close(F.native_channel_shuffle(x, 3), TF.native_channel_shuffle(xr, 3))


def test_nll_loss_2d_is_nll_loss_with_a_warning():
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated"):
        loss = nn.NLLLoss2d(ignore_index=1)
    with pytest.warns(FutureWarning):
        loss_r = torch.nn.NLLLoss2d(ignore_index=1)
    assert isinstance(loss, nn.NLLLoss)
    lp = np.log(np.random.default_rng(2).dirichlet(np.ones(3), size=(2, 2, 2)))
    lp = np.ascontiguousarray(lp.transpose(0, 3, 1, 2))  # (N, C, H, W); torch's backward wants it contiguous
    x, xr = _pair(lp, requires_grad=True)
    target = [[[0, 1], [2, 2]], [[1, 0], [0, 2]]]
    out, outr = loss(x, tt.tensor(target)), loss_r(xr, torch.tensor(target))
    _close(out, outr)
    out.backward()
    outr.backward()
    _close(x.grad, xr.grad)


def test_cosine_similarity_broadcasts_before_reducing():
    """x2 with size 1 along dim against a longer x1: PyTorch broadcasts both first, so x2's norm counts its element
    once per position of the product (the norm over its own size-1 dim was off by sqrt(n))."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 1, 3))
    for dim in (1, -1, 0):
        x, y = tt.tensor(a, requires_grad=True), tt.tensor(b, requires_grad=True)
        xt, yt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        out, want = F.cosine_similarity(x, y, dim=dim), torch.nn.functional.cosine_similarity(xt, yt, dim=dim)
        np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-12)
        out.sum().backward()
        want.sum().backward()
        np.testing.assert_allclose(y.grad.numpy(), yt.grad.numpy(), rtol=1e-10, atol=1e-12)
