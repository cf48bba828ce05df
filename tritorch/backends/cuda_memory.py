"""Book-keeping shared by the cuda device's two allocators (the GPU's caching allocator in backends/cuda.py and the
interpreter's host-memory pool here): byte and call counters in torch.cuda.memory_stats' terms, the per-process
memory fraction, and the OutOfMemoryError both raise.
"""
from __future__ import annotations

import os


class OutOfMemoryError(RuntimeError):
    """torch.OutOfMemoryError (torch.cuda.OutOfMemoryError): an allocation the device or the per-process memory
    fraction could not satisfy. A RuntimeError, so `except RuntimeError` still catches it, as in PyTorch."""


def _gib(nbytes: int) -> str:
    return f"{nbytes / 2**30:.2f} GiB"


def _mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:.2f} MiB"


class MemoryCounters:
    """Counters of one allocator. `reserved` is what the allocator holds from the device (its cache included),
    `allocated` what live tensors use; the per-process fraction caps `reserved`, as PyTorch's allocator does."""

    def __init__(self):
        self.allocated = self.reserved = 0                  # bytes now
        self.peak_allocated = self.peak_reserved = 0        # high-water marks (reset_peak_memory_stats)
        self.allocated_total = self.freed_total = 0         # bytes ever handed out / given back (accumulated)
        self.alloc_count = self.free_count = 0              # blocks ever handed out / given back
        self.segment_count = self.segment_free_count = 0    # device allocations ever made / released
        self.reserved_total = self.unreserved_total = 0     # bytes ever taken from / given back to the device
        self.driver_allocs = 0                              # device allocations (steady-state training: constant)
        self.num_ooms = self.num_alloc_retries = 0
        self.fraction = 1.0

    # total_memory() -> int: each allocator says how much memory its device has

    def allowed(self) -> int:
        return int(self.total_memory() * self.fraction)

    def fits_fraction(self, size: int) -> bool:
        return self.fraction >= 1.0 or self.reserved + size <= self.allowed()

    def note_reserve(self, size: int) -> None:
        self.reserved += size
        self.reserved_total += size
        self.segment_count += 1
        self.driver_allocs += 1
        if self.reserved > self.peak_reserved:
            self.peak_reserved = self.reserved

    def note_unreserve(self, size: int) -> None:
        self.reserved -= size
        self.unreserved_total += size
        self.segment_free_count += 1

    def note_alloc(self, size: int) -> None:
        self.allocated += size
        self.allocated_total += size
        self.alloc_count += 1
        if self.allocated > self.peak_allocated:
            self.peak_allocated = self.allocated

    def note_free(self, size: int) -> None:
        self.allocated -= size
        self.freed_total += size
        self.free_count += 1

    def out_of_memory(self, size: int, free: int) -> OutOfMemoryError:
        """The error PyTorch's allocator raises, worded as its message (sizes, capacity, what this process holds)."""
        self.num_ooms += 1
        total = self.total_memory()
        limit = f"{_gib(self.allowed())} allowed; " if self.fraction < 1.0 else ""
        return OutOfMemoryError(
            f"CUDA out of memory. Tried to allocate {_mib(size)}. GPU 0 has a total capacity of {_gib(total)} of "
            f"which {_gib(free)} is free. {limit}Of the allocated memory {_gib(self.allocated)} is allocated by "
            f"PyTorch, and {_gib(self.reserved - self.allocated)} is reserved by PyTorch but unallocated.")

    def reset_peaks(self) -> None:
        self.peak_allocated, self.peak_reserved = self.allocated, self.reserved

    def reset_accumulated(self) -> None:
        self.allocated_total = self.freed_total = self.alloc_count = self.free_count = 0
        self.segment_count = self.segment_free_count = self.num_ooms = self.num_alloc_retries = 0
        self.reserved_total = self.unreserved_total = 0


def host_memory_info() -> tuple[int, int]:
    """(free, total) bytes of host memory: the interpreter device's memory is the host's."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    free = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    try:  # MemAvailable counts reclaimable page cache too, as a GPU's free memory would
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    return free, total


class HostPool(MemoryCounters):
    """The interpreter's "device" allocator: each block is its own NumPy buffer (no cache), counted so that memory
    statistics and the memory fraction behave as on a GPU."""

    def total_memory(self) -> int:
        return host_memory_info()[1]

    def reserve(self, size: int) -> None:
        # note_reserve + note_alloc written out: every interpreter allocation passes here
        if self.fraction < 1.0 and not self.fits_fraction(size):
            raise self.out_of_memory(size, host_memory_info()[0])
        self.reserved += size
        self.reserved_total += size
        self.segment_count += 1
        self.driver_allocs += 1
        if self.reserved > self.peak_reserved:
            self.peak_reserved = self.reserved
        self.allocated += size
        self.allocated_total += size
        self.alloc_count += 1
        if self.allocated > self.peak_allocated:
            self.peak_allocated = self.allocated

    def release(self, ptr: int, size: int) -> None:
        self.allocated -= size
        self.freed_total += size
        self.free_count += 1
        self.reserved -= size
        self.unreserved_total += size
        self.segment_free_count += 1


HOST_POOL = HostPool()
