"""tritorch.cuda's Stream / Event / stream(): PyTorch's interface over tritorch's one stream, with CUDA events on
a GPU and the host clock under Triton's interpreter (these tests run on both)."""
import time

import numpy as np
import pytest

import tritorch as tt


def test_event_times_the_work_between_two_records_in_milliseconds():
    start, end = tt.cuda.Event(enable_timing=True), tt.cuda.Event(enable_timing=True)
    assert repr(start) == "<tritorch.cuda.Event uninitialized>"
    x = tt.randn(64, 64, device="cuda")
    start.record()
    t0 = time.perf_counter()
    y = x @ x
    time.sleep(0.03)   # the stream is idle by then: its second event completes after the sleep too
    end.record()
    end.synchronize()
    host_ms = (time.perf_counter() - t0) * 1e3
    ms = start.elapsed_time(end)
    assert isinstance(ms, float) and 25.0 <= ms <= host_ms + 5.0
    assert start.query() and end.query()
    np.testing.assert_allclose(y.cpu().numpy(), x.cpu().numpy() @ x.cpu().numpy(), rtol=1e-4, atol=1e-4)


def test_event_errors_match_pytorch():
    timed, untimed = tt.cuda.Event(enable_timing=True), tt.cuda.Event()
    with pytest.raises(RuntimeError, match=r"Both events must be recorded before calculating elapsed time\."):
        timed.elapsed_time(tt.cuda.Event(enable_timing=True))
    timed.record()
    untimed.record()
    with pytest.raises(RuntimeError, match=r"Both events must be created with argument 'enable_timing=True'\."):
        timed.elapsed_time(untimed)
    with pytest.raises(TypeError, match="must be tritorch.cuda.Event"):
        timed.elapsed_time(3.0)
    with pytest.raises(TypeError, match="must be tritorch.cuda.Stream"):
        timed.record("cuda")
    with pytest.raises(NotImplementedError, match="interprocess"):
        tt.cuda.Event(interprocess=True)


def test_an_unrecorded_event_is_complete():
    e = tt.cuda.Event()
    assert e.query()
    e.synchronize()
    e.wait()
    assert e.cuda_event == 0


def test_one_stream_behind_every_stream_object():
    s = tt.cuda.Stream()
    assert s == tt.cuda.current_stream() == tt.cuda.default_stream() == tt.cuda.Stream("cuda:0", priority=-1)
    assert hash(s) == hash(tt.cuda.current_stream()) and s.device == tt.device("cuda:0")
    assert s.__cuda_stream__() == (0, s.cuda_stream)
    assert s != "stream"
    with pytest.raises(ValueError, match="index 0"):
        tt.cuda.Stream("cuda:1")
    with pytest.raises(ValueError, match="cuda device"):
        tt.cuda.Stream("cpu")


def test_stream_context_wait_and_record_keep_the_work_in_order():
    """A producer/consumer pattern written for two streams gives the same values as without streams."""
    side = tt.cuda.Stream()
    x = tt.arange(12.0, device="cuda").reshape(3, 4)
    with tt.cuda.stream(side) as s:
        assert s is side
        y = x * 2
        done = side.record_event()
    tt.cuda.current_stream().wait_event(done)
    tt.cuda.current_stream().wait_stream(side)
    y.record_stream(tt.cuda.current_stream())
    z = y + 1
    with side:
        w = z.sum()
    assert isinstance(done, tt.cuda.Event) and done.query()
    side.synchronize()
    assert side.query()
    assert w.item() == float((np.arange(12.0) * 2 + 1).sum())
    with tt.cuda.stream(None):
        pass
    with pytest.raises(TypeError, match="Expected a tritorch.cuda.Stream"):
        tt.cuda.stream(3)
    with pytest.raises(TypeError, match="Expected a tritorch.cuda.Stream"):
        tt.cuda.set_stream(None)
    tt.cuda.set_stream(side)


def test_record_stream_checks_its_arguments():
    with pytest.raises(RuntimeError, match="expected a cuda tensor"):
        tt.ones(2).record_stream(tt.cuda.current_stream())
    with pytest.raises(TypeError, match="must be tritorch.cuda.Stream"):
        tt.ones(2, device="cuda").record_stream(None)
