"""nn.SyncBatchNorm (one process: BatchNorm) with convert_sync_batchnorm, nn.DataParallel on one device, and
nn.CrossMapLRN2d, each vs PyTorch: values, running statistics, gradients, state_dict keys, reprs and errors."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.device import as_device

torch = pytest.importorskip("torch")


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (2, 3, 4, 4), (2, 3, 2, 3, 2)])
def test_sync_batchnorm_is_batchnorm(shape):
    m, tm = tt.nn.SyncBatchNorm(3, momentum=None), torch.nn.SyncBatchNorm(3, momentum=None)
    assert repr(m) == repr(tm) and list(m.state_dict()) == list(tm.state_dict())
    for step in range(2):
        x = _rand(shape, step)
        xx, xt = tt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = m(xx), tm(xt)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
        (y * y).sum().backward()
        (ty * ty).sum().backward()
        np.testing.assert_allclose(xx.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=1e-5, atol=1e-6)
    m.eval()
    tm.eval()
    np.testing.assert_allclose(m(tt.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-5)


def test_sync_batchnorm_errors():
    for make in (lambda mod: mod.nn.SyncBatchNorm(3)(mod.zeros(3)),
                 lambda mod: mod.nn.SyncBatchNorm(0)(mod.zeros(2, 0))):
        with pytest.raises(ValueError) as theirs:
            make(torch)
        with pytest.raises(ValueError) as ours:
            make(tt)
        assert str(ours.value) == str(theirs.value)


def test_convert_sync_batchnorm():
    def build(nn):
        return nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3), nn.Sequential(nn.BatchNorm1d(3, affine=False)))
    net, tnet = build(tt.nn), build(torch.nn)
    net[1].eval()
    tnet[1].eval()
    bn_weight = net[1].weight
    conv, tconv = tt.nn.SyncBatchNorm.convert_sync_batchnorm(net), torch.nn.SyncBatchNorm.convert_sync_batchnorm(tnet)
    assert repr(conv) == repr(tconv)
    assert list(conv.state_dict()) == list(tconv.state_dict())
    assert type(conv[1]) is tt.nn.SyncBatchNorm and conv[1].weight is bn_weight and not conv[1].training
    assert type(conv[2][0]) is tt.nn.SyncBatchNorm and conv[2][0].weight is None
    single = tt.nn.SyncBatchNorm.convert_sync_batchnorm(tt.nn.BatchNorm3d(4), process_group="pg")
    assert type(single) is tt.nn.SyncBatchNorm and single.process_group == "pg"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 6])
@pytest.mark.parametrize("channels", [1, 3, 7])
def test_cross_map_lrn2d(size, channels):
    x = _rand((2, channels, 3, 2)).astype(np.float64)
    m, tm = tt.nn.CrossMapLRN2d(size, 0.1, 0.75, 1.5), torch.nn.CrossMapLRN2d(size, 0.1, 0.75, 1.5)
    assert repr(m) == repr(tm)
    np.testing.assert_allclose(m(tt.tensor(x)).numpy(), tm(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-14)
    # PyTorch's hand-written backward is not the derivative of its forward (torch.autograd.gradcheck fails on it);
    # ours is, checked against finite differences
    xx = tt.tensor(x, requires_grad=True)
    assert tt.autograd.gradcheck(m, (xx,))


def test_cross_map_lrn2d_cuda_and_errors():
    x = _rand((1, 4, 3, 3))
    m = tt.nn.CrossMapLRN2d(3)
    np.testing.assert_allclose(m(tt.tensor(x, device="cuda")).cpu().numpy(),
                               torch.nn.CrossMapLRN2d(3)(torch.tensor(x)).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="CrossMapLRN2d: Expected input to be 4D, got 3D instead."):
        m(tt.zeros(2, 3, 3))


def test_data_parallel_one_device():
    inner, tinner = tt.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    inner.load_state_dict({k: tt.tensor(v.detach().numpy()) for k, v in tinner.state_dict().items()})
    dp, tdp = tt.nn.DataParallel(inner), torch.nn.DataParallel(tinner)
    assert dp.module is inner and repr(dp) == repr(tdp)
    assert list(dp.state_dict()) == list(tdp.state_dict()) == ["module.weight", "module.bias"]
    x = _rand((4, 3))
    y = dp(tt.tensor(x))          # a cpu input goes to device_ids[0]
    np.testing.assert_allclose(y.detach().cpu().numpy(), tdp(torch.tensor(x)).detach().numpy(), rtol=1e-5)
    assert dp.device_ids == ([0] if tt.cuda.is_available() else [])
    if tt.cuda.is_available():
        assert inner.weight.device == as_device("cuda") and y.device == as_device("cuda")
        y.sum().backward()
        assert inner.weight.grad is not None
        inner.to("cpu")
        with pytest.raises(RuntimeError, match=r"module must have its parameters and buffers on device cuda:0 "
                                               r"\(device_ids\[0\]\) but found one of them on device: cpu"):
            dp(tt.tensor(x))
        with pytest.raises(RuntimeError, match="Invalid device id 1"):
            tt.nn.DataParallel(tt.nn.Linear(1, 1), device_ids=[1])
        out = tt.nn.parallel.data_parallel(tt.nn.Linear(3, 2).to("cuda"), tt.tensor(x))
        assert tuple(out.shape) == (4, 2) and out.device == as_device("cuda")
