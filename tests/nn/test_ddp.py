"""nn.parallel.DistributedDataParallel in one process: PyTorch's checks and wrapper API, and training through it
gives the module's own gradients (one rank: the average over the world is the rank's gradient)."""
import inspect

import numpy as np
import pytest

import tritorch as tt
import tritorch.distributed as dist
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
