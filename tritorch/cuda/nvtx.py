"""torch.cuda.nvtx: NVTX ranges and markers for Nsight timelines. They go to NVIDIA's `nvtx` package when it is
installed; without it they only keep the nesting depth that range_push / range_pop return (no profiler to see
them, so nothing else is lost)."""
from __future__ import annotations

import contextlib

try:
    import nvtx as _nvtx
except ImportError:
    _nvtx = None

__all__ = ["range_push", "range_pop", "range_start", "range_end", "mark", "range"]

_depth = [0]
_open_ranges: dict = {}
_next_id = [1]


def range_push(msg: str) -> int:
    """Open a nested range; returns its zero-based depth."""
    if _nvtx is not None:
        _nvtx.push_range(msg)
    _depth[0] += 1
    return _depth[0] - 1


def range_pop() -> int:
    """Close the innermost range; returns its zero-based depth (-1 when none was open, as NVTX)."""
    if _depth[0] == 0:
        return -1
    if _nvtx is not None:
        _nvtx.pop_range()
    _depth[0] -= 1
    return _depth[0]


def range_start(msg) -> int:
    """Open a range that may end on another thread; returns its id for range_end."""
    rid = _next_id[0]
    _next_id[0] += 1
    _open_ranges[rid] = _nvtx.start_range(msg) if _nvtx is not None else None
    return rid


def range_end(range_id) -> None:
    handle = _open_ranges.pop(range_id, None)
    if _nvtx is not None and handle is not None:
        _nvtx.end_range(handle)


def mark(msg) -> None:
    if _nvtx is not None:
        _nvtx.mark(msg)


@contextlib.contextmanager
def range(msg, *args, **kwargs):  # noqa: A001  (torch's name)
    """`with nvtx.range("step {}", i):` a range around the block; msg is formatted with args and kwargs."""
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()
