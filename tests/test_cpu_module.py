"""tritorch.cpu: torch.cpu's device-generic interface (synchronous cpu: streams and events only order nothing)."""

import pytest

import tritorch as tt

NAMES = ["is_available", "is_initialized", "device_count", "current_device", "set_device", "synchronize",
         "current_stream", "stream", "Stream", "StreamContext", "Event", "get_capabilities"]


@pytest.mark.parametrize("name", NAMES)
def test_signatures_match_torch(name, assert_same_signature):
    torch = pytest.importorskip("torch")
    assert_same_signature(getattr(tt.cpu, name), getattr(torch.cpu, name))


def test_cpu_module_values():
    assert tt.cpu.is_available() and tt.cpu.is_initialized()
    assert tt.cpu.device_count() == 1 and tt.cpu.current_device() == "cpu"
    tt.cpu.set_device("cpu")
    tt.cpu.synchronize()
    s = tt.cpu.Stream()
    with tt.cpu.stream(s):
        assert tt.cpu.current_stream() is s
    assert tt.cpu.current_stream() is not s
    e = s.record_event()
    assert e.query() and isinstance(tt.cpu.get_capabilities(), dict)


def test_cpu_amp_autocast_defaults_to_bfloat16():
    with tt.cpu.amp.autocast():
        assert tt.is_autocast_enabled("cpu") and tt.get_autocast_dtype("cpu") == tt.bfloat16
        y = tt.ones(2, 2) @ tt.ones(2, 2)
    assert y.dtype == tt.bfloat16
    assert tt.cpu.amp.GradScaler().is_enabled()
