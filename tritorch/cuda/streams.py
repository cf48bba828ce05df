"""tritorch.cuda's streams and events, with PyTorch's interface (torch.cuda.Stream / Event / stream()).

tritorch orders every kernel and copy on one stream (see backends/cuda.py): its caching allocator can then reuse
a freed block at once, with no per-stream bookkeeping (PyTorch's record_stream). A `Stream` therefore stands for
that one stream: `tt.cuda.Stream()`, `current_stream()` and `default_stream()` compare equal, and a program
written for several streams runs with its work in issue order, which honours every dependency its events and
wait_stream calls express (there is nothing to race with), only without overlap between streams.

Events are real CUDA events on a GPU (cuda-python's driver API: cuEventRecord, cuEventElapsedTime, ...), created
on first record as PyTorch's are. Under Triton's interpreter every kernel has finished when its launch returns,
so an event records the host clock (time.perf_counter) at `record()`, and elapsed_time is the host time between
two records: the time the interpreted work took.
"""
from __future__ import annotations

import time

from .. import _streams
from ..backends import cuda as _backend
from ..device import CUDA, as_device


def _driver():
    drv = _backend.DRIVER.init()   # raises PyTorch's "not compiled with CUDA" error where there is no cuda device
    drv.ensure_context()
    return drv


def _check_available() -> None:
    if not _backend.INTERPRET:
        _driver()


class Stream(_streams.Stream):
    """torch.cuda.Stream: tritorch's one stream (see the module's note). `device` must be the process's cuda device;
    `priority` is accepted and kept."""

    _device_name = "cuda"
    device_type = 1

    def __init__(self, device=None, priority: int = 0, **kwargs):
        if device is not None:
            d = as_device(device)
            if d.type != "cuda" or d.index != CUDA.index:
                raise ValueError(f"Expected a cuda device with index {CUDA.index} (tritorch drives one GPU per "
                                 f"process), but got: {device}")
        _check_available()
        self.priority = int(priority)

    @property
    def device(self):
        return CUDA

    @property
    def device_index(self) -> int:
        return CUDA.index

    @property
    def stream_id(self) -> int:
        return self.cuda_stream

    @property
    def cuda_stream(self) -> int:
        """The CUstream handle as an int (0 under the interpreter, which has no stream)."""
        return 0 if _backend.INTERPRET else _driver().stream_handle

    def query(self) -> bool:
        """Whether all the work submitted so far has completed."""
        if _backend.INTERPRET:
            return True
        drv = _driver()
        err = drv.cu.cuStreamQuery(drv.stream)
        err = err[0] if isinstance(err, tuple) else err
        if err == drv.cu.CUresult.CUDA_ERROR_NOT_READY:
            return False
        _backend._check(err)
        return True

    def synchronize(self) -> None:
        """Wait for all the work submitted so far to complete."""
        _backend.synchronize()

    def wait_event(self, event: "Event") -> None:
        """Make the work submitted from now on wait for `event`."""
        event.wait(self)

    def wait_stream(self, stream: "Stream") -> None:
        """Make the work submitted from now on wait for all the work submitted to `stream` so far."""
        self.wait_event(stream.record_event())

    def record_event(self, event: "Event | None" = None) -> "Event":
        """Record `event` (a new one when None) on this stream and return it."""
        if event is None:
            event = Event()
        event.record(self)
        return event

    def __eq__(self, other) -> bool:
        return isinstance(other, Stream) and other.cuda_stream == self.cuda_stream

    def __hash__(self) -> int:
        return hash((self.cuda_stream, str(CUDA)))

    def __enter__(self):
        self._context = StreamContext(self)
        return self._context.__enter__()

    def __exit__(self, *exc) -> None:
        self._context.__exit__(*exc)

    def __cuda_stream__(self):
        """The CUDA Stream Protocol (cuda.core): (version, handle)."""
        return (0, self.cuda_stream)

    def __repr__(self) -> str:
        return f"<tritorch.cuda.Stream device={CUDA} cuda_stream={self.cuda_stream:#x}>"


class Event(_streams.Event):
    """torch.cuda.Event(enable_timing=False, blocking=False, interprocess=False): a marker in the stream's work,
    to wait on, query, or time between two of them (enable_timing=True). Created on the first record()."""

    _device_name = "cuda"

    def __init__(self, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False,
                 external: bool = False):
        if interprocess:
            raise NotImplementedError("tritorch.cuda.Event: interprocess events are not supported (one process "
                                      "owns tritorch's device memory)")
        self.enable_timing = bool(enable_timing)
        self.blocking = bool(blocking)
        self._event = None      # the CUevent once recorded (GPU)
        self._host_time = None  # perf_counter() at the last record (interpreter)

    @property
    def cuda_event(self) -> int:
        return int(self._event) if self._event is not None else 0

    def _created(self) -> bool:
        return self._event is not None or self._host_time is not None

    def record(self, stream: Stream | None = None) -> None:
        """Record the event on `stream` (tritorch's one stream when None): it completes when the work submitted
        before it has."""
        if stream is not None and not isinstance(stream, Stream):
            raise TypeError(f"record(): argument 'stream' must be tritorch.cuda.Stream, not {type(stream).__name__}")
        if _backend.INTERPRET:
            self._host_time = time.perf_counter()
            return
        drv = _driver()
        cu = drv.cu
        if self._event is None:
            flags = 0 if self.enable_timing else cu.CUevent_flags.CU_EVENT_DISABLE_TIMING.value
            if self.blocking:
                flags |= cu.CUevent_flags.CU_EVENT_BLOCKING_SYNC.value
            self._event = _backend._check(cu.cuEventCreate(flags))
        _backend._check(cu.cuEventRecord(self._event, drv.stream))

    def wait(self, stream: Stream | None = None) -> None:
        """Make the work submitted to `stream` from now on wait for this event (a no-op before the first
        record, as in PyTorch)."""
        if stream is not None and not isinstance(stream, Stream):
            raise TypeError(f"wait(): argument 'stream' must be tritorch.cuda.Stream, not {type(stream).__name__}")
        if self._event is None:
            return   # never recorded, or interpreted (its work has finished)
        drv = _driver()
        _backend._check(drv.cu.cuStreamWaitEvent(drv.stream, self._event, 0))

    def query(self) -> bool:
        """Whether the work recorded by the event has completed (True before the first record)."""
        if self._event is None:
            return True
        cu = _driver().cu
        err = cu.cuEventQuery(self._event)
        err = err[0] if isinstance(err, tuple) else err
        if err == cu.CUresult.CUDA_ERROR_NOT_READY:
            return False
        _backend._check(err)
        return True

    def synchronize(self) -> None:
        """Wait until the work recorded by the event has completed."""
        if self._event is not None:
            _backend._check(_driver().cu.cuEventSynchronize(self._event))

    def elapsed_time(self, end_event: "Event") -> float:
        """Milliseconds between this event's record and `end_event`'s (both recorded, both with
        enable_timing=True); waits for `end_event`."""
        if not isinstance(end_event, Event):
            raise TypeError(f"elapsed_time(): argument 'end_event' must be tritorch.cuda.Event, "
                            f"not {type(end_event).__name__}")
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
        if not (self._created() and end_event._created()):
            raise RuntimeError("Both events must be recorded before calculating elapsed time.")
        if _backend.INTERPRET:
            return (end_event._host_time - self._host_time) * 1e3
        cu = _driver().cu
        _backend._check(cu.cuEventSynchronize(end_event._event))
        elapsed = getattr(cu, "cuEventElapsedTime", None) or getattr(cu, "cuEventElapsedTime_v2")
        return float(_backend._check(elapsed(self._event, end_event._event)))

    def __del__(self):
        ev = getattr(self, "_event", None)
        if ev is not None and _backend.DRIVER.ready:
            try:
                _backend.DRIVER.cu.cuEventDestroy(ev)
            except Exception:  # interpreter shutdown: the driver module may be gone
                pass

    def __repr__(self) -> str:
        if self._event is not None:
            return f"<tritorch.cuda.Event {self.cuda_event:#x}>"
        if self._host_time is not None:
            return "<tritorch.cuda.Event (host clock)>"
        return "<tritorch.cuda.Event uninitialized>"


class StreamContext:
    """torch.cuda.StreamContext: the context manager `tt.cuda.stream(s)` returns; selects `s` as the current
    stream inside the block (None: no change). With one stream this only checks `s`."""

    def __init__(self, stream: Stream | None):
        if stream is not None and not isinstance(stream, Stream):
            raise TypeError(f"Expected a tritorch.cuda.Stream or None, but got {type(stream).__name__}")
        self.stream = stream

    def __enter__(self):
        return self.stream

    def __exit__(self, *exc) -> None:
        return None


def stream(stream: Stream | None) -> StreamContext:
    """torch.cuda.stream(s): run the block's work on `s` (None: the current stream)."""
    return StreamContext(stream)


def current_stream(device=None) -> Stream:
    return Stream(device)


def default_stream(device=None) -> Stream:
    return Stream(device)


def set_stream(stream: Stream) -> None:
    if not isinstance(stream, Stream):
        raise TypeError(f"Expected a tritorch.cuda.Stream, but got {type(stream).__name__}")
