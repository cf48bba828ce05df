"""tritorch.distributed with one process (no store, no sockets): the group's life cycle, the launcher's
environment variables, the single-rank results of every collective (those PyTorch's gloo backend gives on one
rank), the rendezvous errors, and the signatures against torch.distributed's."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.distributed as dist


@pytest.fixture
def world(monkeypatch):
    for name in ("WORLD_SIZE", "RANK"):
        monkeypatch.delenv(name, raising=False)
    dist.init_process_group("gloo")
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def test_life_cycle_and_queries(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("RANK", "0")
    assert dist.is_available() and not dist.is_initialized() and dist.group.WORLD is None
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.all_reduce(tt.ones(2))
    dist.init_process_group(backend="nccl", init_method="env://")
    try:
        assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
        assert dist.get_backend() == "nccl" and dist.group.WORLD is dist.GroupMember.WORLD
        with pytest.raises(ValueError, match="trying to initialize the default process group twice!"):
            dist.init_process_group("gloo")
        g = dist.new_group([0])
        assert dist.get_rank(g) == 0 and dist.get_world_size(g) == 1
        with pytest.raises(ValueError, match="should be within the world_size"):
            dist.new_group([0, 1])
        assert dist.barrier() is None and dist.barrier(async_op=True).wait()
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()
    with pytest.raises(AssertionError, match="Process group cannot be None"):
        dist.destroy_process_group()


@pytest.mark.parametrize("kwargs, env, error, match", [
    ({"world_size": 2, "rank": 2}, {}, ValueError, r"Invalid rank 2 for world size 2"),
    ({"world_size": 0, "rank": 0}, {}, ValueError, "world_size must be positive"),
    ({}, {"WORLD_SIZE": "2", "RANK": "0"}, ValueError, "environment variable MASTER_ADDR expected, but not set"),
    ({"world_size": 2, "rank": 1, "init_method": "tcp://127.0.0.1"}, {}, ValueError, "port number missing"),
    ({"world_size": 2, "rank": 1, "init_method": "mpi://x"}, {}, ValueError, "No rendezvous handler for mpi://"),
])
def test_bad_rendezvous_arguments(monkeypatch, kwargs, env, error, match):
    for name in ("WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(error, match=match):
        dist.init_process_group("gloo", **kwargs)
    assert not dist.is_initialized()


def test_default_backend_for_device():
    assert dist.get_default_backend_for_device("cuda:1") == "nccl"
    assert dist.get_default_backend_for_device(tt.device("cpu")) == "gloo"
    with pytest.raises(ValueError, match="Default backend not registered for device : xpu"):
        dist.get_default_backend_for_device("xpu")
    # Lightning reads the map itself to pick a process group's backend for its device
    assert dist.Backend.default_device_backend_map == {"cpu": "gloo", "cuda": "nccl"}
    assert dist.Backend.UNDEFINED == "undefined" and {"gloo", "nccl"} <= set(dist.Backend.backend_list)


def test_post_local_sgd_state_is_importable_state():
    from tritorch.distributed.algorithms.ddp_comm_hooks.post_localSGD_hook import PostLocalSGDState
    state = PostLocalSGDState(process_group=None, subgroup=None, start_localSGD_iter=5)
    assert (state.start_localSGD_iter, state.post_local_SGD_allreduce, state.iter) == (5, True, 0)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="Invalid backend 'mpi'"):
        dist.init_process_group("mpi", world_size=1, rank=0)
    dist.init_process_group("cpu:gloo,cuda:nccl", world_size=1, rank=0)
    dist.destroy_process_group()


def test_collectives_give_the_single_rank_results(world):
    x = tt.tensor([1.0, -2.0, 3.0])
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.MAX, dist.ReduceOp.AVG, dist.ReduceOp.PRODUCT):
        assert dist.all_reduce(x, op=op) is None
    assert dist.all_reduce(x, async_op=True).is_completed()
    dist.broadcast(x, src=0)
    dist.reduce(x, dst=0)
    np.testing.assert_array_equal(x.numpy(), [1.0, -2.0, 3.0])
    gathered = [tt.zeros(3)]
    dist.all_gather(gathered, x)
    np.testing.assert_array_equal(gathered[0].numpy(), x.numpy())
    for out in (tt.zeros(3), tt.zeros(1, 3)):  # concatenated or stacked output, as NCCL takes both
        dist.all_gather_into_tensor(out, x)
        np.testing.assert_array_equal(out.numpy().ravel(), x.numpy())
    out = tt.zeros(3)
    dist.reduce_scatter_tensor(out, x)
    np.testing.assert_array_equal(out.numpy(), x.numpy())
    into = [tt.zeros(3)]
    dist.gather(x, into, dst=0)
    np.testing.assert_array_equal(into[0].numpy(), x.numpy())
    s = tt.zeros(3)
    dist.scatter(s, [tt.full((3,), 2.0)], src=0)
    np.testing.assert_array_equal(s.numpy(), [2.0, 2.0, 2.0])
    objects = [None]
    dist.all_gather_object(objects, {"loss": 1.5})
    assert objects == [{"loss": 1.5}]


def test_collectives_do_not_record_autograd(world):
    w = tt.ones(2, requires_grad=True)
    y = w * 2
    out = [tt.zeros(2)]
    dist.all_gather(out, y)
    assert not out[0].requires_grad and out[0].grad_fn is None


def test_collective_errors(world):
    x = tt.ones(3)
    with pytest.raises(ValueError, match=r"broadcast: rank 1 is not part of the group \(its ranks: \[0\]\)"):
        dist.broadcast(x, src=1)
    with pytest.raises(RuntimeError, match="expected length 1, got 2"):
        dist.all_gather([tt.zeros(3), tt.zeros(3)], x)
    with pytest.raises(RuntimeError, match=r"invalid tensor size at index 0 \(expected \(3,\), got \(2,\)\)"):
        dist.all_gather([tt.zeros(2)], x)
    with pytest.raises(RuntimeError, match="world_size"):
        dist.all_gather_into_tensor(tt.zeros(4), x)
    with pytest.raises(ValueError, match="``gather_list`` must be specified on destination rank"):
        dist.gather(x, None, dst=0)
    with pytest.raises(ValueError, match="``scatter_list`` must be specified on source rank"):
        dist.scatter(x, None, src=0)


def test_names_match_torch():
    torch = pytest.importorskip("torch")
    import inspect
    for name in ("init_process_group", "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor",
                 "reduce_scatter_tensor", "gather", "scatter", "barrier", "new_group", "get_rank"):
        ours = list(inspect.signature(getattr(dist, name)).parameters)
        theirs = [p for p in inspect.signature(getattr(torch.distributed, name)).parameters if not p.startswith("_")]
        assert ours == theirs, name
    assert [m.name for m in dist.ReduceOp] == ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR",
                                               "PREMUL_SUM"]
    assert all(hasattr(torch.distributed.ReduceOp, m.name) for m in dist.ReduceOp)
    assert str(dist.ReduceOp.SUM) == str(torch.distributed.ReduceOp.SUM)
    assert tt.distributed is dist
