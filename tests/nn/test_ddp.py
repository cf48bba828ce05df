"""nn.parallel.DistributedDataParallel: PyTorch's checks and wrapper API in one process (training through it
gives the module's own gradients), and two spawned ranks training on halves of a batch: rank 0's initial weights
reach both, gradients are averaged (also after no_sync accumulation), and the result equals one process training
on the averaged loss; DistributedSampler takes its replicas from the group."""
import contextlib
import datetime
import inspect
import os
import socket

import numpy as np
import pytest

import tritorch as tt
import tritorch.distributed as dist
import tritorch.multiprocessing as mp
from tritorch.nn.parallel import DistributedDataParallel as DDP


@pytest.fixture
def world(monkeypatch):
    for name in ("WORLD_SIZE", "RANK"):
        monkeypatch.delenv(name, raising=False)
    dist.init_process_group("gloo")
    yield
    dist.destroy_process_group()


def test_needs_an_initialized_group():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DDP(tt.nn.Linear(2, 2))


def test_training_through_ddp_is_training_the_module(world):
    tt.manual_seed(0)
    model = tt.nn.Linear(3, 2)
    reference = tt.nn.Linear(3, 2)
    reference.load_state_dict(model.state_dict())
    ddp = DDP(model)
    assert ddp.module is model and list(ddp.state_dict()) == ["module.weight", "module.bias"]
    x = tt.randn(4, 3)
    with ddp.no_sync():
        assert not ddp.require_backward_grad_sync
    assert ddp.require_backward_grad_sync
    with ddp.join():
        ddp(x).pow(2).sum().backward()
    reference(x).pow(2).sum().backward()
    np.testing.assert_array_equal(model.weight.grad.numpy(), reference.weight.grad.numpy())


def test_ddp_logging_data_names_the_setup(world):
    # Lightning's DDP strategy reads can_set_static_graph from it at teardown
    data = DDP(tt.nn.Linear(3, 2), find_unused_parameters=True)._get_ddp_logging_data()
    assert data["world_size"] == 1 and data["rank"] == 0 and data["module_name"] == "Linear"
    assert data["backend_name"] == "gloo" and data["find_unused_parameters"] == 1 and data["static_graph"] == 0
    assert data["num_parameter_tensors"] == 2 and data["total_parameter_size_bytes"] == 32
    assert data["can_set_static_graph"] is False


def test_pytorch_checks(world):
    frozen = tt.nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(RuntimeError, match="not needed when a module doesn't have any parameter that requires"):
        DDP(frozen)
    with pytest.raises(ValueError, match="device_ids and output_device arguments only work with"):
        DDP(tt.nn.Linear(2, 2), device_ids=[0])
    if tt.cuda.is_available():
        m = DDP(tt.nn.Linear(2, 2).to("cuda"), device_ids=[0])
        assert m(tt.ones(1, 2)).device == tt.device("cuda", 0)


def test_signature_matches_torch():
    torch = pytest.importorskip("torch")
    ours = inspect.signature(DDP.__init__)
    theirs = inspect.signature(torch.nn.parallel.DistributedDataParallel.__init__)
    assert list(ours.parameters) == list(theirs.parameters)


class _Net(tt.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = tt.nn.Sequential(tt.nn.Linear(4, 8), tt.nn.BatchNorm1d(8), tt.nn.ReLU(), tt.nn.Linear(8, 1))
        self.head = tt.nn.Linear(1, 1)

    def forward(self, x, head: bool):
        out = self.body(x)
        return self.head(out) if head else out      # without the head, its parameters get no gradient


def _model(seed):
    tt.manual_seed(seed)
    return _Net()


def _data():
    x = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    return tt.tensor(x), tt.tensor(x.sum(1, keepdims=True))


def _steps(forward_loss, model, opt, accumulate):
    """Five optimizer steps; with `accumulate`, the first backward of each runs under model.no_sync()."""
    for step in range(5):
        opt.zero_grad()
        for micro in range(2 if accumulate else 1):
            local = accumulate and micro == 0 and isinstance(model, DDP)
            with model.no_sync() if local else contextlib.nullcontext():
                forward_loss(step, micro).backward()
        opt.step()


def _ddp_worker(rank, port, folder, accumulate, hook=None):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2, timeout=datetime.timedelta(seconds=60))
    model = _model(seed=rank)            # different weights on each rank: DDP broadcasts rank 0's
    ddp = DDP(model)
    if hook is not None:                 # one of PyTorch's default communication hooks by name
        from tritorch.distributed.algorithms.ddp_comm_hooks import default_hooks
        ddp.register_comm_hook(None, getattr(default_hooks, hook))
        with pytest.raises(RuntimeError, match="can only be called once"):
            ddp.register_comm_hook(None, default_hooks.allreduce_hook)
    opt = tt.optim.SGD(ddp.parameters(), lr=0.1)
    x, y = _data()
    sampler = tt.utils.data.DistributedSampler(range(16), shuffle=False)
    assert (sampler.num_replicas, sampler.rank) == (2, rank) and list(sampler) == list(range(rank, 16, 2))

    def loss(step, micro):
        rows = slice(rank + 4 * micro, 16, 8) if accumulate else slice(rank, 16, 2)
        return ((ddp(x[rows], head=step % 2 == 1) - y[rows]) ** 2).mean()    # even steps: no head

    _steps(loss, ddp, opt, accumulate)
    assert model.head.weight.grad is None         # the last step left it unused on every rank: its grad stays None
    np.savez(os.path.join(folder, f"{rank}.npz"), **{k: v.detach().numpy() for k, v in model.named_parameters()})
    dist.destroy_process_group()


# (hook, tolerance): the compressing hooks round every averaged gradient to float16 / bfloat16 (relative 2**-11 /
# 2**-8) before SGD applies it, five times
HOOKS = {None: 1e-5, "allreduce_hook": 1e-5, "fp16_compress_hook": 2e-3, "bf16_compress_hook": 1.5e-2}


@pytest.mark.parametrize("accumulate, hook", [(False, None), (True, None), (True, "allreduce_hook"),
                                              (False, "fp16_compress_hook"), (False, "bf16_compress_hook")])
def test_two_ranks_train_as_one_process_on_the_average(tmp_path, accumulate, hook):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(port, str(tmp_path), accumulate, hook), nprocs=2)
    ranks = [np.load(tmp_path / f"{r}.npz") for r in range(2)]
    model = _model(seed=0)
    opt = tt.optim.SGD(model.parameters(), lr=0.1)
    x, y = _data()

    def loss(step, micro):
        total = 0
        for rank in range(2):           # the average of the two ranks' losses (BatchNorm sees each half alone)
            rows = slice(rank + 4 * micro, 16, 8) if accumulate else slice(rank, 16, 2)
            total = total + ((model(x[rows], head=step % 2 == 1) - y[rows]) ** 2).mean()
        return total / 2

    _steps(loss, model, opt, accumulate)
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(ranks[0][name], ranks[1][name], err_msg=name)
        np.testing.assert_allclose(ranks[0][name], p.detach().numpy(), rtol=HOOKS[hook], atol=HOOKS[hook] / 10,
                                   err_msg=name)
