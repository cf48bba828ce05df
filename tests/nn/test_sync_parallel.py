"""nn.SyncBatchNorm (one process: BatchNorm; across spawned ranks: the whole batch's statistics) with
convert_sync_batchnorm, nn.DataParallel on one device, and
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


# ------------------------------------------------------------------------------- across ranks (spawned processes)

_SHAPE = (8, 3, 4, 2)
_SPLIT = (3, 5)   # uneven: rank 0 holds 3 samples of the batch, rank 1 five (an empty rank: rank 2 in the 3-way test)


def _batch():
    rng = np.random.default_rng(7)
    return rng.standard_normal(_SHAPE) * 3 + 1, rng.standard_normal(_SHAPE)   # input, loss weights


def _full_batch_reference(momentum):
    # BatchNorm2d over the whole batch in one process: what every rank's SyncBatchNorm must reproduce for its part
    x, w = _batch()
    bn = tt.nn.BatchNorm2d(3, momentum=momentum).double()
    with tt.no_grad():
        bn.weight.copy_(tt.tensor([1.5, -0.5, 2.0]))
        bn.bias.copy_(tt.tensor([0.1, 0.2, -0.3]))
    xx = tt.tensor(x, requires_grad=True)
    for _ in range(2):
        y = bn(xx)
        (y * tt.tensor(w)).sum().backward()
    return (y.detach().numpy(), xx.grad.numpy() / 2, bn.weight.grad.numpy() / 2, bn.bias.grad.numpy() / 2,
            bn.running_mean.numpy(), bn.running_var.numpy())


def _sync_worker(rank, url, world, device, momentum):
    import tritorch.distributed as dist
    dist.init_process_group("gloo", init_method=url, rank=rank, world_size=world)
    x, w = _batch()
    bounds = np.cumsum((0,) + _SPLIT + (0,) * (world - len(_SPLIT)))
    part = slice(bounds[rank], bounds[rank + 1])
    m = tt.nn.SyncBatchNorm(3, momentum=momentum).double().to(device)
    with tt.no_grad():
        m.weight.copy_(tt.tensor([1.5, -0.5, 2.0]))
        m.bias.copy_(tt.tensor([0.1, 0.2, -0.3]))
    xx = tt.tensor(x[part], device=device, requires_grad=True)
    for _ in range(2):   # (twice: the running statistics' second update, and gradients accumulate)
        y = m(xx)
        (y * tt.tensor(w[part], device=device)).sum().backward()
    y_ref, gx_ref, gw_ref, gb_ref, rm_ref, rv_ref = _full_batch_reference(momentum)
    np.testing.assert_allclose(y.detach().cpu().numpy(), y_ref[part], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(xx.grad.cpu().numpy() / 2, gx_ref[part], rtol=1e-10, atol=1e-10)
    # the weight and bias gradients are each rank's own part (DDP sums or averages them): together the full ones
    grads = tt.cat([m.weight.grad, m.bias.grad]) / 2
    dist.all_reduce(grads)
    np.testing.assert_allclose(grads.cpu().numpy(), np.concatenate([gw_ref, gb_ref]), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(m.running_mean.cpu().numpy(), rm_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(m.running_var.cpu().numpy(), rv_ref, rtol=1e-10, atol=1e-12)
    assert m.num_batches_tracked.item() == 2
    # eval: BatchNorm with the running statistics, no collective (rank 0 alone runs it: a sync would hang)
    m.eval()
    plain = tt.nn.BatchNorm2d(3).double().to(device)
    plain.load_state_dict(m.state_dict())
    plain.eval()
    if rank == 0:
        np.testing.assert_array_equal(m(xx[:1]).detach().cpu().numpy(), plain(xx[:1]).detach().cpu().numpy())
    dist.destroy_process_group()


@pytest.mark.parametrize("world, device, momentum", [(2, "cpu", 0.1), (3, "cpu", None), (2, "cuda", 0.1)])
def test_sync_batchnorm_statistics_span_every_ranks_batch(world, device, momentum):
    # values, input gradients, running statistics and (summed) parameter gradients of the ranks' parts equal
    # BatchNorm's over the whole batch, with uneven parts and an empty one
    import socket
    import tritorch.multiprocessing as mp
    from tritorch.testing import devices
    if device not in devices():
        pytest.skip("no cuda device (GPU or interpreter) in this run")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_sync_worker, args=(f"tcp://127.0.0.1:{port}", world, device, momentum), nprocs=world)
