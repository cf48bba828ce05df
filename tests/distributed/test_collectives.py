"""tritorch.distributed across processes: three ranks (spawned, meeting through env://, tcp:// or file://) run
every collective on cpu and cuda tensors and check the results against what each rank can compute alone;
subgroups, point-to-point (blocking, isend/irecv both ways, any source), object collectives, and a tensor
whose size differs between ranks (an error on the receiving rank, not garbled data)."""
import datetime
import os
import socket
import time

import numpy as np
import pytest

import tritorch as tt
import tritorch.distributed as dist
import tritorch.multiprocessing as mp
from tritorch.testing import devices

WORLD = 3
TIMEOUT = datetime.timedelta(seconds=60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _values(rank, shape=(5,), dtype=tt.float32, device="cpu"):
    return (tt.arange(int(np.prod(shape)), dtype=dtype).reshape(shape) * (rank + 1) + rank).to(device)


def _check(got, want, what):
    got = got.cpu().numpy() if isinstance(got, tt.Tensor) else np.asarray(got)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=what)


def _collectives(rank, device):
    n = WORLD
    every = [_values(r).numpy() for r in range(n)]
    x = _values(rank, device=device)
    dist.all_reduce(x)
    _check(x, sum(every), "all_reduce sum")
    for op, fn in ((dist.ReduceOp.MAX, np.max), (dist.ReduceOp.MIN, np.min), (dist.ReduceOp.PRODUCT, np.prod),
                   (dist.ReduceOp.AVG, np.mean)):
        x = _values(rank, device=device)
        dist.all_reduce(x, op=op)
        _check(x, fn(every, axis=0), f"all_reduce {op}")
    ints = tt.tensor([rank + 1, 6], device=device)
    dist.all_reduce(ints, op=dist.ReduceOp.BOR)
    assert ints.tolist() == [1 | 2 | 3, 6]
    # a strided view is reduced in place too (it is not contiguous: staged)
    big = tt.zeros(4, 6, device=device)
    view = big[:, 1::2]
    view.copy_(tt.full((4, 3), float(rank), device=device))
    dist.all_reduce(view)
    _check(big[:, 1::2], np.full((4, 3), sum(range(n))), "all_reduce of a strided view")
    _check(big[:, ::2], np.zeros((4, 3)), "all_reduce left the rest alone")
    # reduce: the root only
    x = _values(rank, device=device)
    dist.reduce(x, dst=2)
    _check(x, sum(every) if rank == 2 else every[rank], "reduce")
    y = _values(rank, (2, 3), device=device)
    dist.broadcast(y, src=1)
    _check(y, _values(1, (2, 3)).numpy(), "broadcast")
    outs = [tt.zeros(5, device=device) for _ in range(n)]
    dist.all_gather(outs, _values(rank, device=device))
    for r in range(n):
        _check(outs[r], every[r], f"all_gather [{r}]")
    stacked = tt.zeros(n, 5, device=device)
    dist.all_gather_into_tensor(stacked, _values(rank, device=device))
    _check(stacked, np.stack(every), "all_gather_into_tensor")
    out = tt.zeros(2, device=device)
    dist.reduce_scatter_tensor(out, tt.arange(2 * n, dtype=tt.float32, device=device) * (rank + 1))
    _check(out, np.arange(2 * n, dtype=np.float32)[2 * rank:2 * rank + 2] * sum(r + 1 for r in range(n)),
           "reduce_scatter_tensor")
    out = tt.zeros(4, device=device)
    dist.reduce_scatter(out, [tt.full((4,), float(rank * 10 + i), device=device) for i in range(n)])
    _check(out, np.full(4, sum(r * 10 + rank for r in range(n))), "reduce_scatter")
    gathered = [tt.zeros(5, device=device) for _ in range(n)] if rank == 0 else None
    dist.gather(_values(rank, device=device), gathered, dst=0)
    if rank == 0:
        for r in range(n):
            _check(gathered[r], every[r], f"gather [{r}]")
    s = tt.zeros(3, device=device)
    dist.scatter(s, [tt.full((3,), float(r * 7), device=device) for r in range(n)] if rank == 1 else None, src=1)
    _check(s, np.full(3, rank * 7.0), "scatter")
    a2a = [tt.zeros(2, device=device) for _ in range(n)]
    dist.all_to_all(a2a, [tt.full((2,), float(rank * 10 + r), device=device) for r in range(n)])
    for r in range(n):
        _check(a2a[r], np.full(2, r * 10.0 + rank), f"all_to_all [{r}]")
    # all_to_all_single with uneven splits: rank r sends r + 1 rows to each rank
    inp = tt.full((n * (rank + 1), 2), float(rank), device=device)
    got = tt.zeros(sum(r + 1 for r in range(n)), 2, device=device)
    dist.all_to_all_single(got, inp, output_split_sizes=[r + 1 for r in range(n)],
                           input_split_sizes=[rank + 1] * n)
    _check(got, np.concatenate([np.full((r + 1, 2), float(r)) for r in range(n)]), "all_to_all_single")
    dist.barrier()


def _point_to_point(rank):
    n = WORLD
    if rank == 0:
        dist.send(tt.tensor([1.0, 2.0]), dst=1)
        z = tt.zeros(1)
        assert dist.recv(z) == 2 and z.item() == 5      # any source
    elif rank == 1:
        z = tt.zeros(2)
        assert dist.recv(z, src=0) == 0 and z.tolist() == [1.0, 2.0]
    else:
        dist.send(tt.tensor([5.0]), dst=0)
    # a ring of isend / irecv: every rank sends before it receives
    got = tt.zeros(3)
    works = dist.batch_isend_irecv([dist.P2POp(dist.isend, tt.full((3,), float(rank)), (rank + 1) % n),
                                    dist.P2POp(dist.irecv, got, (rank - 1) % n)])
    for w in works:
        w.wait()
    assert got.tolist() == [float((rank - 1) % n)] * 3


def _objects_and_groups(rank):
    n = WORLD
    objs = [None] * n
    dist.all_gather_object(objs, {"rank": rank, "name": "r" * rank})
    assert objs == [{"rank": r, "name": "r" * r} for r in range(n)]
    lst = [rank, None] if rank != 2 else [{"from": 2}, (1, 2)]
    dist.broadcast_object_list(lst, src=2)
    assert lst == [{"from": 2}, (1, 2)]
    into = [None] * n if rank == 1 else None
    dist.gather_object(rank * rank, into, dst=1)
    if rank == 1:
        assert into == [r * r for r in range(n)]
    mine = [None]
    dist.scatter_object_list(mine, [f"for {r}" for r in range(n)] if rank == 0 else None, src=0)
    assert mine == [f"for {rank}"]
    pair = dist.new_group([0, 2])
    solo = dist.new_group([1])
    if rank in (0, 2):
        v = tt.full((2,), float(rank + 1))
        dist.all_reduce(v, group=pair)
        assert v.tolist() == [4.0, 4.0]
        assert dist.get_rank(pair) == (rank // 2) and dist.get_world_size(pair) == 2
        assert dist.get_process_group_ranks(pair) == [0, 2] and dist.get_global_rank(pair, 1) == 2
        w = tt.full((1,), float(rank))
        dist.broadcast(w, src=2, group=pair)      # src is a global rank
        assert w.item() == 2.0
        assert solo == dist.GroupMember.NON_GROUP_MEMBER
    else:
        assert pair == dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(pair) == -1
        v = tt.ones(1)
        dist.all_reduce(v, group=solo)
        assert v.item() == 1.0


def _more_api(rank):
    n = WORLD
    a, b = tt.full((2,), float(rank)), tt.full((3,), float(rank), dtype=tt.float64)
    dist.all_reduce_coalesced([a, b, tt.full((1,), rank + 1)])
    assert a.tolist() == [3.0, 3.0] and b.tolist() == [3.0] * 3
    if rank == 0:
        dist.send_object_list([{"k": 1}, "two"], dst=2)
    elif rank == 2:
        got = [None, None]
        assert dist.recv_object_list(got) == 0 and got == [{"k": 1}, "two"]
    mine, groups = dist.new_subgroups_by_enumeration([[0, 1], [2]])
    assert len(groups) == 2 and dist.get_world_size(mine) == (2 if rank < 2 else 1)
    assert dist.get_pg_count() == 1 + dist._STATE["groups"]
    assert dist.get_node_local_rank(fallback_rank=7) == 7 and dist.is_backend_available("gloo")


def _mismatch(rank):
    # rank 1 receives 3 floats where it expects 4: an error naming both sizes there
    if rank == 0:
        dist.send(tt.zeros(3), dst=1)
    elif rank == 1:
        with pytest.raises(RuntimeError, match="sent a tensor of 12 bytes where 16 were expected"):
            dist.recv(tt.zeros(4), src=0)


def _worker(rank, init_method, env):
    os.environ.update(env)
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=WORLD, timeout=TIMEOUT)
    assert dist.is_initialized() and dist.get_rank() == rank and dist.get_world_size() == WORLD
    for device in devices():
        _collectives(rank, device)
    _point_to_point(rank)
    _objects_and_groups(rank)
    _more_api(rank)
    _mismatch(rank)
    dist.destroy_process_group()
    assert not dist.is_initialized()


def test_collectives_across_three_processes_env():
    mp.spawn(_worker, args=(None, {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}), nprocs=WORLD)


def _small_worker(rank, init_method):
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=WORLD, timeout=TIMEOUT)
    x = tt.full((1000,), float(rank))
    dist.all_reduce(x)
    assert (x.numpy() == 3.0).all()
    dist.destroy_process_group()


@pytest.mark.parametrize("scheme", ["tcp", "file"])
def test_rendezvous_through_tcp_and_file_urls(scheme, tmp_path):
    url = f"tcp://127.0.0.1:{_free_port()}" if scheme == "tcp" else f"file://{tmp_path / 'rendezvous'}"
    mp.spawn(_small_worker, args=(url,), nprocs=WORLD)


def _sync_states_worker(rank, url):
    # torch.distributed.utils._sync_module_states (Lightning's DDP validate/test gives every rank rank 0's weights)
    from tritorch.distributed.distributed_c10d import _get_default_group
    from tritorch.distributed.utils import _sync_module_states
    dist.init_process_group("gloo", init_method=url, rank=rank, world_size=WORLD, timeout=TIMEOUT)
    model = tt.nn.Sequential(tt.nn.Linear(2, 2), tt.nn.BatchNorm1d(2))
    with tt.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            t.fill_(rank + 1)
    _sync_module_states(model, _get_default_group(), 250 * 1024 * 1024, src=1,
                        params_and_buffers_to_ignore={"0.bias"})
    assert model[0].weight.tolist() == [[2.0, 2.0], [2.0, 2.0]] and model[1].running_mean.tolist() == [2.0, 2.0]
    assert model[0].bias.tolist() == [rank + 1.0] * 2      # (ignored)
    assert model[0].weight.requires_grad and model[0].weight.grad_fn is None
    dist.destroy_process_group()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        _get_default_group()


def test_sync_module_states_gives_every_rank_the_sources_weights():
    mp.spawn(_sync_states_worker, args=(f"tcp://127.0.0.1:{_free_port()}",), nprocs=WORLD)


def _differentiable_worker(rank, url):
    # torch.distributed.nn.functional (Lightning's all_gather goes through it): gradients reach the source rank
    from tritorch.distributed.nn.functional import all_gather, all_reduce
    dist.init_process_group("gloo", init_method=url, rank=rank, world_size=WORLD, timeout=TIMEOUT)
    x = tt.tensor([rank + 1.0, 2.0 * rank], requires_grad=True)
    gathered = all_gather(x)
    assert isinstance(gathered, tuple) and [g.tolist() for g in gathered] == [[r + 1.0, 2.0 * r] for r in range(WORLD)]
    sum((i + 1) * g.sum() for i, g in enumerate(gathered)).mul(rank + 1).backward()
    # d/dx_rank of sum over ranks q of (q + 1) * (rank + 1) * x_rank.sum()
    assert x.grad.tolist() == [(rank + 1.0) * sum(q + 1 for q in range(WORLD))] * 2
    y = tt.tensor([1.0, rank + 0.0], requires_grad=True)
    out = all_reduce(y * (rank + 1))
    assert out.tolist() == [6.0, sum(q * (q + 1.0) for q in range(WORLD))]
    (out.sum() * (rank + 1)).backward()
    assert y.grad.tolist() == [(rank + 1.0) * 6] * 2
    dist.destroy_process_group()


def test_differentiable_all_gather_and_all_reduce():
    mp.spawn(_differentiable_worker, args=(f"tcp://127.0.0.1:{_free_port()}",), nprocs=WORLD)


def _stuck_worker(rank, port, gave_up):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2, timeout=datetime.timedelta(seconds=2))
    if rank == 1:
        with pytest.raises(dist.DistNetworkError, match="timed out after 2 s waiting for a peer"):
            dist.recv(tt.zeros(1), src=0)       # rank 0 never sends
        open(gave_up, "w").close()
    else:
        # quiet until rank 1 has given up, then at once to the barrier (a fixed sleep of twice the timeout left
        # rank 1's barrier no margin on a loaded machine)
        deadline = time.monotonic() + 60
        while not os.path.exists(gave_up) and time.monotonic() < deadline:
            time.sleep(0.01)
    dist.barrier()
    dist.destroy_process_group()


def test_a_receive_nobody_answers_times_out_with_the_groups_timeout(tmp_path):
    mp.spawn(_stuck_worker, args=(_free_port(), str(tmp_path / "gave_up")), nprocs=2)
