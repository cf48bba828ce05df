"""torch.accelerator: the device-generic interface over the current accelerator. tritorch's accelerator is its
cuda device (a GPU, or Triton's interpreter with TRITON_INTERPRET=1); every function delegates to tritorch.cuda
and raises PyTorch's error when there is none."""
from __future__ import annotations

from .. import cuda as _cuda
from ..device import device as _device

__all__ = ["Graph", "current_accelerator", "is_available", "device_count", "current_device_index", "current_device_idx",
           "set_device_index", "set_device_idx", "current_stream", "set_stream", "synchronize", "device_index",
           "empty_cache", "empty_host_cache", "get_memory_info", "max_memory_allocated", "max_memory_reserved",
           "memory_allocated", "memory_reserved", "memory_stats", "reset_accumulated_memory_stats",
           "reset_peak_memory_stats", "get_device_capability"]


class Graph:
    """torch.accelerator.Graph: graph capture and replay, refused as tritorch.cuda.CUDAGraph is (cuda/graphs.py)."""

    def __init__(self, keep_graph: bool = False, *, pool=None, capture_error_mode: str = "default"):
        from ..cuda.graphs import _UNSUPPORTED
        raise RuntimeError(_UNSUPPORTED.format(what="torch.accelerator.Graph"))


def is_available() -> bool:
    return _cuda.is_available()


def current_accelerator(check_available: bool = False):
    """tritorch.device('cuda'), or None when check_available is set and the device is not usable."""
    if check_available and not is_available():
        return None
    return _device("cuda")


def device_count() -> int:
    return _cuda.device_count()


def _require() -> None:
    if not is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")


def _index(device) -> int:
    """An accelerator index from an int, 'cuda[:i]' or a device (None: the current one)."""
    _require()
    if device is None:
        return _cuda.current_device()
    if isinstance(device, (str, _device)):
        d = _device(device) if isinstance(device, str) else device
        if d.type != "cuda":
            raise ValueError(f"{d.type} doesn't match the current accelerator cuda.")
        return 0 if d.index is None else d.index
    return int(device)


def current_device_index() -> int:
    _require()
    return _cuda.current_device()


current_device_idx = current_device_index


def set_device_index(device, /) -> None:
    _cuda.set_device(_index(device))


set_device_idx = set_device_index


def current_stream(device=None, /):
    return _cuda.current_stream(_index(device))


def set_stream(stream) -> None:
    _require()
    _cuda.set_stream(stream)


def synchronize(device=None, /) -> None:
    _cuda.synchronize(_index(device))


class device_index:
    """`with device_index(i):` makes accelerator device i current inside the block (None: no change)."""

    def __init__(self, device, /):
        self.idx = device
        self.prev_idx = -1

    def __enter__(self):
        if self.idx is not None:
            self.prev_idx = current_device_index()
            if self.idx != self.prev_idx:
                set_device_index(self.idx)
        return None

    def __exit__(self, *exc):
        if self.idx is not None and self.idx != self.prev_idx:
            set_device_index(self.prev_idx)
        return False


def empty_cache() -> None:
    if is_available():
        _cuda.empty_cache()


def empty_host_cache() -> None:
    """Release cached pinned host memory: tritorch keeps no pinned-memory cache, so there is nothing to free."""


def get_memory_info(device_index=None, /) -> tuple:
    return _cuda.mem_get_info(_index(device_index))


def memory_stats(device_index=None, /):
    return _cuda.memory_stats(_index(device_index))


def memory_allocated(device_index=None, /) -> int:
    return _cuda.memory_allocated(_index(device_index))


def max_memory_allocated(device_index=None, /) -> int:
    return _cuda.max_memory_allocated(_index(device_index))


def memory_reserved(device_index=None, /) -> int:
    return _cuda.memory_reserved(_index(device_index))


def max_memory_reserved(device_index=None, /) -> int:
    return _cuda.max_memory_reserved(_index(device_index))


def reset_accumulated_memory_stats(device_index=None, /) -> None:
    _cuda.reset_accumulated_memory_stats(_index(device_index))


def reset_peak_memory_stats(device_index=None, /) -> None:
    _cuda.reset_peak_memory_stats(_index(device_index))


def get_device_capability(device=None, /) -> dict:
    """The dtypes the device computes with ({"supported_dtypes": [...]}, PyTorch's form)."""
    from .. import dtypes as _dt
    _index(device)
    names = ["float16", "bfloat16", "float32", "float64", "bool", "uint8", "int8", "int16", "int32", "int64"]
    return {"supported_dtypes": [getattr(_dt, n if n != "bool" else "bool_") for n in names]}
