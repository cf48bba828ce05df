"""torch.distributed.optim.ZeroRedundancyOptimizer across two spawned ranks: each keeps and updates its share, the
parameters end every step equal to a plain optimizer's (with an lr scheduler changing the groups), the state
consolidates to a plain optimizer's state dict on one rank and loads back on every rank."""
import datetime
import os
import socket

import numpy as np
import pytest

import tritorch as tt
import tritorch.distributed as dist
import tritorch.multiprocessing as mp
from tritorch.distributed.optim import ZeroRedundancyOptimizer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _model():
    tt.manual_seed(0)
    return tt.nn.Sequential(tt.nn.Linear(5, 4), tt.nn.Tanh(), tt.nn.Linear(4, 3))


def _train(model, opt, sched, steps, seed):
    gen = tt.Generator().manual_seed(seed)
    for _ in range(steps):
        opt.zero_grad()
        x = tt.randn(8, 5, generator=gen)
        model(x).pow(2).sum().backward()
        opt.step()
        sched.step()


def _same(a, b):
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def _worker(rank, port):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2, timeout=datetime.timedelta(seconds=60))
    model, ref = _model(), _model()
    zero = ZeroRedundancyOptimizer(model.parameters(), tt.optim.Adam, lr=0.05, weight_decay=0.01)
    plain = tt.optim.Adam(ref.parameters(), lr=0.05, weight_decay=0.01)
    # largest first to the least loaded rank: weight 0 (20) to rank 0; weight 2 (12), bias 0 (4), bias 2 (3) to 1
    owned = [sum(p.numel() for g in zero.optim.param_groups for p in g["params"])]
    assert owned == [[20], [19]][rank]
    assert len(zero.state) == 0 and isinstance(zero, tt.optim.Optimizer)
    _train(model, zero, tt.optim.lr_scheduler.StepLR(zero, 1, 0.5), 3, seed=1)
    _train(ref, plain, tt.optim.lr_scheduler.StepLR(plain, 1, 0.5), 3, seed=1)
    _same(model, ref)                                     # every rank has every parameter's new value
    assert len(zero.state) == [1, 3][rank]                # but only its own share's state
    zero.consolidate_state_dict(to=0)
    if rank == 0:
        got, want = zero.state_dict(), plain.state_dict()
        assert got["param_groups"] == want["param_groups"]
        assert sorted(got["state"]) == sorted(want["state"])
        for i, s in want["state"].items():
            for k, v in s.items():
                np.testing.assert_array_equal(np.asarray(got["state"][i][k]), np.asarray(v), err_msg=f"{i} {k}")
    else:
        with pytest.raises(RuntimeError, match="has not been consolidated"):
            zero.state_dict()
    # a fresh sharded optimizer from the plain one's state continues as the plain one does
    again = ZeroRedundancyOptimizer(model.parameters(), tt.optim.Adam, lr=1.0)
    again.load_state_dict(plain.state_dict())
    assert again.param_groups[0]["lr"] == plain.param_groups[0]["lr"]
    _train(model, again, tt.optim.lr_scheduler.StepLR(again, 1, 0.5), 2, seed=2)
    _train(ref, plain, tt.optim.lr_scheduler.StepLR(plain, 1, 0.5), 2, seed=2)
    _same(model, ref)
    dist.destroy_process_group()


def test_zero_redundancy_optimizer_across_two_ranks():
    mp.spawn(_worker, args=(_free_port(),), nprocs=2)


def test_overlap_with_ddp_is_refused_by_name():
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()))
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        with pytest.raises(RuntimeError, match="overlap_with_ddp"):
            ZeroRedundancyOptimizer(_model().parameters(), tt.optim.SGD, overlap_with_ddp=True, lr=0.1)
        model, ref = _model(), _model()
        zero = ZeroRedundancyOptimizer(model.parameters(), tt.optim.SGD, lr=0.1, momentum=0.9)
        plain = tt.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
        _train(model, zero, tt.optim.lr_scheduler.StepLR(zero, 1, 0.5), 2, seed=3)
        _train(ref, plain, tt.optim.lr_scheduler.StepLR(plain, 1, 0.5), 2, seed=3)
        _same(model, ref)                                 # one rank: it is the plain optimizer
    finally:
        dist.destroy_process_group()
