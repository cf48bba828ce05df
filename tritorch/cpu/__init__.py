"""torch.cpu: the cpu device's module in the device-generic interface. The cpu runs every op synchronously, so
its streams and events only satisfy the interface (as PyTorch's do), and synchronize returns at once."""
from __future__ import annotations

import contextlib

from . import amp  # noqa: F401

__all__ = ["is_available", "is_initialized", "device_count", "current_device", "set_device", "synchronize",
           "current_stream", "stream", "Stream", "StreamContext", "Event", "get_capabilities", "amp"]


def is_available() -> bool:
    return True


def is_initialized() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def set_device(device) -> None:
    """A no-op, as PyTorch's: there is one cpu device."""


def synchronize(device=None) -> None:
    """Waits for all cpu work: it has already finished (cpu ops run synchronously)."""


class Stream:
    """PyTorch's cpu Stream: work on the cpu is already ordered, so the stream has nothing to wait for."""

    def __init__(self, priority: int = -1) -> None:
        self.priority = priority

    def wait_stream(self, stream) -> None:
        pass

    def record_event(self, event=None):
        return event if event is not None else Event()

    def wait_event(self, event) -> None:
        pass


class Event:
    def query(self) -> bool:
        return True

    def record(self, stream=None) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def wait(self, stream=None) -> None:
        pass


_default_stream = Stream()
_current = [_default_stream]


def current_stream(device=None) -> Stream:
    return _current[0]


class StreamContext(contextlib.AbstractContextManager):
    """Makes `stream` current inside the block (None: no change)."""

    def __init__(self, stream):
        self.stream = stream
        self.prev_stream = _default_stream

    def __enter__(self):
        if self.stream is not None:
            self.prev_stream, _current[0] = _current[0], self.stream
        return self

    def __exit__(self, *exc):
        if self.stream is not None:
            _current[0] = self.prev_stream
        return False


def stream(stream) -> contextlib.AbstractContextManager:
    return StreamContext(stream)


def get_capabilities() -> dict:
    """What the cpu offers, as torch.cpu.get_capabilities reports CPU features: here NumPy's view of them."""
    import numpy as np
    try:
        features = np._core._multiarray_umath.__cpu_features__
    except AttributeError:
        features = {}
    return {name.lower(): bool(on) for name, on in features.items()}
