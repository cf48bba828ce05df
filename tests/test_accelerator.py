"""tritorch.accelerator: the device-generic interface over the cuda device, with torch's signatures."""
import gc
import inspect

import pytest

import tritorch as tt

NAMES = ["Graph", "current_accelerator", "is_available", "device_count", "current_device_index", "current_device_idx",
         "set_device_index", "set_device_idx", "current_stream", "set_stream", "synchronize", "device_index",
         "empty_cache", "empty_host_cache", "get_memory_info", "max_memory_allocated", "max_memory_reserved",
         "memory_allocated", "memory_reserved", "memory_stats", "reset_accumulated_memory_stats",
         "reset_peak_memory_stats", "get_device_capability"]


@pytest.mark.parametrize("name", NAMES)
def test_signatures_match_torch(name):
    torch = pytest.importorskip("torch")
    ours, theirs = inspect.signature(getattr(tt.accelerator, name)), inspect.signature(getattr(torch.accelerator, name))
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.parameters.values()]


def test_the_accelerator_is_the_cuda_device():
    assert tt.accelerator.is_available() is tt.cuda.is_available() is True
    assert tt.accelerator.current_accelerator().type == "cuda"
    assert tt.accelerator.current_accelerator(check_available=True).type == "cuda"
    assert tt.accelerator.device_count() == 1 and tt.accelerator.current_device_index() == 0
    tt.accelerator.set_device_index(0)
    tt.accelerator.set_device_idx("cuda:0")
    with tt.accelerator.device_index(0), tt.accelerator.device_index(None):
        assert tt.accelerator.current_device_index() == 0
    assert tt.accelerator.current_stream() == tt.cuda.current_stream()
    tt.accelerator.synchronize()
    with pytest.raises(ValueError, match="doesn't match the current accelerator"):
        tt.accelerator.synchronize("cpu")


def test_memory_functions_are_cudas():
    # (garbage from earlier tests, freed by a collection between two readings, would make them differ)
    gc.collect()
    x = tt.empty(256, device="cuda")
    assert tt.accelerator.memory_allocated() == tt.cuda.memory_allocated() > 0
    assert tt.accelerator.max_memory_allocated(0) == tt.cuda.max_memory_allocated()
    assert tt.accelerator.memory_reserved() == tt.cuda.memory_reserved()
    assert tt.accelerator.max_memory_reserved() == tt.cuda.max_memory_reserved()
    assert tt.accelerator.memory_stats()["allocated_bytes.all.current"] == tt.cuda.memory_allocated()
    free, total = tt.accelerator.get_memory_info()
    assert 0 < free <= total
    tt.accelerator.reset_peak_memory_stats()
    tt.accelerator.reset_accumulated_memory_stats()
    tt.accelerator.empty_cache()
    tt.accelerator.empty_host_cache()
    del x
    assert tt.float32 in tt.accelerator.get_device_capability()["supported_dtypes"]


def test_get_device_module():
    assert tt.get_device_module() is tt.cuda
    assert tt.get_device_module("cpu") is tt.cpu and tt.get_device_module(tt.device("cuda:0")) is tt.cuda
    with pytest.raises(RuntimeError, match="Invalid value of device '3'"):
        tt.get_device_module(3)
