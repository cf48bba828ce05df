"""Shared cpu memory for tensors (Tensor.share_memory_) that other processes can map: a memfd (an anonymous file,
Linux) mapped MAP_SHARED. Processes forked afterwards share the mapping; others get its file descriptor through
multiprocessing (multiprocessing/reductions.py sends it with DupFd) and map the same memory, as PyTorch's
file_descriptor strategy does. Without memfd_create an anonymous shared mapping serves forked processes only."""
from __future__ import annotations

import mmap
import os
import weakref

import numpy as np

_FDS: dict = {}   # id(mapping) -> the file descriptor behind it, closed with the mapping


def _keep_fd(buf: mmap.mmap, fd: int) -> mmap.mmap:
    key = id(buf)
    _FDS[key] = fd
    weakref.finalize(buf, _forget, key, fd)
    return buf


def _forget(key: int, fd: int) -> None:
    if _FDS.get(key) == fd:
        del _FDS[key]
    os.close(fd)


def new_buffer(nbytes: int) -> mmap.mmap:
    """A zeroed shared mapping of nbytes (at least 1)."""
    nbytes = max(int(nbytes), 1)
    if not hasattr(os, "memfd_create"):
        return mmap.mmap(-1, nbytes)
    fd = os.memfd_create("tritorch_shared", os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, nbytes)
        buf = mmap.mmap(fd, nbytes)
    except BaseException:
        os.close(fd)
        raise
    return _keep_fd(buf, fd)


def map_fd(fd: int, nbytes: int) -> mmap.mmap:
    """The shared mapping another process sent (its descriptor `fd` is now this mapping's)."""
    try:
        buf = mmap.mmap(fd, nbytes)
    except BaseException:
        os.close(fd)
        raise
    return _keep_fd(buf, fd)


def mapping_of(arr) -> mmap.mmap | None:
    """The shared mapping a NumPy array's memory lies in, or None."""
    base = arr
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    if isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap):
        return base.obj
    return None


def fd_of(buf: mmap.mmap) -> int | None:
    return _FDS.get(id(buf))
