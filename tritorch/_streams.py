"""torch.Stream and torch.Event: the device-generic stream and event. On a cuda device they are tritorch.cuda's
Stream and Event (subclasses of these, as in PyTorch); on the cpu, whose work is done when a call returns, a
stream is always idle and events are refused as PyTorch refuses them ("cpu backend doesn't support events")."""
from __future__ import annotations

from .device import as_device

__all__ = ["Stream", "Event"]

_NO_EVENTS = "cpu backend doesn't support events."


def _resolve(device):
    """The device a generic stream or event is for: the given one, else the accelerator when there is one."""
    if device is not None:
        return as_device(device)
    from . import cuda
    return as_device("cuda" if cuda.is_available() else "cpu")


class _ByDevice(type):
    """Stream(...) / Event(...) on a cuda device construct tritorch.cuda's classes (subclasses of these)."""

    def __call__(cls, *args, **kwargs):
        if cls is Stream or cls is Event:
            if len(args) > 1:
                raise TypeError(f"{cls.__name__}() takes at most 1 positional argument ({len(args)} given)")
            d = _resolve(args[0] if args else kwargs.pop("device", None))
            if d.type == "cuda":
                from .cuda import streams
                return streams.Stream(d, **kwargs) if cls is Stream else streams.Event(**kwargs)
            if d.type != "cpu":
                raise RuntimeError(f"Unsupported device type {d.type} for torch.{cls.__name__}")
            return super().__call__(**kwargs)
        return super().__call__(*args, **kwargs)


class Stream(metaclass=_ByDevice):
    """torch.Stream(device=None, *, priority=0); see the module docstring."""

    def __init__(self, *, priority: int = 0, **kwargs):
        self.priority = int(priority)

    _device_name = "cpu"
    device_type = 0        # PyTorch's DeviceType number (cpu 0, cuda 1)
    device_index = -1
    stream_id = 0

    @property
    def device(self):
        return as_device(self._device_name)

    def query(self) -> bool:
        return True

    def synchronize(self) -> None:
        return None

    def wait_event(self, event) -> None:
        raise RuntimeError(_NO_EVENTS)

    def wait_stream(self, stream) -> None:
        return None     # another cpu stream's work is done already

    def record_event(self, event=None):
        raise RuntimeError(_NO_EVENTS)

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.stream_id == self.stream_id

    def __hash__(self) -> int:
        return hash((self.device_type, self.stream_id))

    def __repr__(self) -> str:
        return f"tritorch.Stream device_type={self._device_name}, device_index={self.device_index}, " \
               f"stream_id={self.stream_id}"


class Event(metaclass=_ByDevice):
    """torch.Event(device=None, *, enable_timing=False, blocking=False, interprocess=False); see the module
    docstring."""

    def __init__(self, *, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False):
        self.enable_timing, self.blocking = bool(enable_timing), bool(blocking)

    _device_name = "cpu"

    @property
    def device(self):
        return as_device(self._device_name)

    def record(self, stream=None) -> None:
        raise RuntimeError(_NO_EVENTS)

    def wait(self, stream=None) -> None:
        raise RuntimeError(_NO_EVENTS)

    def query(self) -> bool:
        return True

    def synchronize(self) -> None:
        return None

    def elapsed_time(self, end_event) -> float:
        raise RuntimeError(_NO_EVENTS)

    def __repr__(self) -> str:
        return f"tritorch.Event device_type={self._device_name}"
