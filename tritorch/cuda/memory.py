"""torch.cuda.memory: statistics of the cuda allocator (backends/cuda.py's caching allocator on a GPU, the host
pool under Triton's interpreter), the per-process memory fraction, and raw allocations from the cache."""
from __future__ import annotations

import collections
import warnings

from ..backends import cuda as _backend
from ..backends.cuda_memory import MemoryCounters, OutOfMemoryError

__all__ = ["OutOfMemoryError", "memory_stats", "memory_stats_as_nested_dict", "memory_allocated",
           "max_memory_allocated", "memory_reserved", "max_memory_reserved", "memory_cached", "max_memory_cached",
           "reset_peak_memory_stats", "reset_max_memory_allocated", "reset_max_memory_cached",
           "reset_accumulated_memory_stats", "empty_cache", "mem_get_info", "memory_summary",
           "set_per_process_memory_fraction", "get_per_process_memory_fraction", "caching_allocator_alloc",
           "caching_allocator_delete"]


def _check_device(device) -> int:
    from . import _device
    return _device.device_index(device, optional=True)


def _stat(current: int, peak: int, allocated: int, freed: int) -> dict:
    return {"current": current, "peak": peak, "allocated": allocated, "freed": freed}


def _count(made: int, released: int) -> dict:
    # (no high-water mark of block counts is kept: the peak reported is the current count)
    return _stat(made - released, made - released, made, released)


def _counters(device) -> MemoryCounters:
    """The allocator's counters for `device`: zeros for another device than the process's own (tritorch drives
    one per process) or before the process's first cuda work."""
    from ..device import CUDA
    from ._device import is_initialized
    if not is_initialized() or _check_device(device) not in (-1, CUDA.index):
        return MemoryCounters()
    return _backend.allocator()


def _nested(a: MemoryCounters) -> dict:
    return {
        "allocated_bytes": {"all": _stat(a.allocated, a.peak_allocated, a.allocated_total, a.freed_total)},
        "active_bytes": {"all": _stat(a.allocated, a.peak_allocated, a.allocated_total, a.freed_total)},
        "reserved_bytes": {"all": _stat(a.reserved, a.peak_reserved, a.reserved_total, a.unreserved_total)},
        "allocation": {"all": _count(a.alloc_count, a.free_count)},
        "segment": {"all": _count(a.segment_count, a.segment_free_count)},
        "num_alloc_retries": a.num_alloc_retries,
        "num_ooms": a.num_ooms,
        "num_device_alloc": a.segment_count,
        "num_device_free": a.segment_free_count,
    }


def memory_stats_as_nested_dict(device=None) -> dict:
    """PyTorch's nested statistics: {"allocated_bytes": {"all": {"current", "peak", "allocated", "freed"}}, ...}.
    tritorch's allocator keeps one pool, so only the "all" pool is reported. Another device than the process's
    own has had nothing from it: zeros. Before the process's first cuda work (or without a GPU) there are no
    statistics: {}, as PyTorch's, so memory_allocated() and the other readers give 0 (a CPU run of a script that
    prints torch.cuda.max_memory_allocated() at its end)."""
    from ._device import is_initialized
    return _nested(_counters(device)) if is_initialized() else {}


def memory_stats(device=None) -> "collections.OrderedDict[str, int]":
    """The nested statistics flattened to PyTorch's keys ("allocated_bytes.all.current", ...), sorted."""
    flat = []

    def walk(prefix, obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            flat.append((prefix, obj))

    walk("", memory_stats_as_nested_dict(device))
    return collections.OrderedDict(sorted(flat))


def memory_allocated(device=None) -> int:
    return memory_stats(device).get("allocated_bytes.all.current", 0)


def max_memory_allocated(device=None) -> int:
    return memory_stats(device).get("allocated_bytes.all.peak", 0)


def memory_reserved(device=None) -> int:
    return memory_stats(device).get("reserved_bytes.all.current", 0)


def max_memory_reserved(device=None) -> int:
    return memory_stats(device).get("reserved_bytes.all.peak", 0)


def memory_cached(device=None) -> int:
    """Deprecated name of memory_reserved (PyTorch warns the same way)."""
    warnings.warn("torch.cuda.memory_cached has been renamed to torch.cuda.memory_reserved", FutureWarning,
                  stacklevel=2)
    return memory_reserved(device)


def max_memory_cached(device=None) -> int:
    warnings.warn("torch.cuda.max_memory_cached has been renamed to torch.cuda.max_memory_reserved", FutureWarning,
                  stacklevel=2)
    return max_memory_reserved(device)


def reset_peak_memory_stats(device=None) -> None:
    _check_device(device)
    _backend.allocator().reset_peaks()


def reset_max_memory_allocated(device=None) -> None:
    warnings.warn("torch.cuda.reset_max_memory_allocated now calls torch.cuda.reset_peak_memory_stats, "
                  "which resets /all/ peak memory stats.", FutureWarning, stacklevel=2)
    reset_peak_memory_stats(device)


def reset_max_memory_cached(device=None) -> None:
    warnings.warn("torch.cuda.reset_max_memory_cached now calls torch.cuda.reset_peak_memory_stats, "
                  "which resets /all/ peak memory stats.", FutureWarning, stacklevel=2)
    reset_peak_memory_stats(device)


def reset_accumulated_memory_stats(device=None) -> None:
    _check_device(device)
    _backend.allocator().reset_accumulated()


def empty_cache() -> None:
    """Give the allocator's unused cached blocks back to the driver (the interpreter's pool caches nothing)."""
    if not _backend.INTERPRET and _backend.DRIVER.ready:
        _backend.DRIVER.allocator.empty_cache()


def mem_get_info(device=None) -> tuple:
    """(free, total) bytes of the device's memory (of the host under the interpreter)."""
    _check_device(device)
    return _backend.mem_get_info()


def set_per_process_memory_fraction(fraction, device=None) -> None:
    """Cap what the allocator may reserve at `fraction` of the device's total memory; an allocation past it
    raises OutOfMemoryError (after the cache is emptied), as in PyTorch."""
    _check_device(device)
    if not isinstance(fraction, float):
        raise TypeError("Invalid type for fraction argument, must be `float`")
    if fraction < 0 or fraction > 1:
        raise ValueError(f"Invalid fraction value: {fraction}. Allowed range: 0~1")
    _backend.allocator().fraction = fraction


def get_per_process_memory_fraction(device=None) -> float:
    _check_device(device)
    return _backend.allocator().fraction


# Blocks handed out by caching_allocator_alloc, kept alive until caching_allocator_delete (by address).
_RAW_BLOCKS: dict = {}


def caching_allocator_alloc(size, device=None, stream=None) -> int:
    """Take `size` bytes from the cuda allocator and return their address (freed by caching_allocator_delete)."""
    _check_device(device)
    if stream is not None and not isinstance(stream, int) and not hasattr(stream, "cuda_stream"):
        raise TypeError("Invalid type for stream argument, must be `torch.cuda.Stream` or `int` representing a "
                        "pointer to a existing stream")
    block = _backend._alloc_block(int(size))
    _RAW_BLOCKS[block.data_ptr()] = block
    return block.data_ptr()


def caching_allocator_delete(mem_ptr: int) -> None:
    block = _RAW_BLOCKS.pop(int(mem_ptr), None)
    if block is None:
        raise RuntimeError(f"invalid device pointer: {mem_ptr:#x}")
    del block  # the block returns to the allocator when its last reference goes


def _fmt(nbytes: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(nbytes) >= scale:
            return f"{nbytes / scale:.2f} {unit}"
    return f"{nbytes} B"


def memory_summary(device=None, abbreviated: bool = False) -> str:
    """A table of the allocator's statistics, laid out as PyTorch's (one pool: "all"); zeros before any cuda
    work."""
    nested = _nested(_counters(device))
    width = 75
    lines = ["=" * width, f" {'PyTorch CUDA memory summary, device ID 0':<50}| tritorch allocator ",
             "-" * width,
             f"  CUDA OOMs: {nested['num_ooms']:<12}|  cudaMalloc retries: {nested['num_alloc_retries']:<12}",
             "=" * width,
             "        Metric         | Cur Usage  | Peak Usage | Tot Alloc  | Tot Freed  ",
             "-" * width]
    rows = (("Allocated memory", "allocated_bytes", _fmt), ("Active memory", "active_bytes", _fmt),
            ("GPU reserved memory", "reserved_bytes", _fmt), ("Allocations", "allocation", str),
            ("GPU reserved segments", "segment", str))
    for title, key, fmt in rows:
        s = nested[key]["all"]
        lines.append(f" {title:<22}|" + "|".join(f" {fmt(s[k]):>10} " for k in ("current", "peak", "allocated",
                                                                                   "freed")))
    lines.append("=" * width)
    return "\n".join(lines) + "\n"
