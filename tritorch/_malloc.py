"""The C allocator's settings for the NumPy fallback's arrays (glibc only; called once at import).

NumPy takes every array from malloc. With glibc's defaults a training loop pays for page faults over and over:
arrays from 128 KiB up are mmap'ed (and unmapped when freed), and freed memory at the top of the heap goes back to
the system once more than twice the last such size is free, so the next step's arrays fault their pages in
again. Measured here (2-core VM, glibc 2.x): a 2-layer LSTM of 128 over 35 steps of batch 20, forward with
autograd, 15.5 -> 11.5 ms; one layer took ~900 minor page faults per call, and none with these settings. PyTorch's
CUDA caching allocator keeps freed blocks for reuse for the same reason.

The settings: arrays up to 32 MiB (glibc's largest mmap threshold) come from the heap, and up to 128 MiB of free
heap top is kept. The price is memory the process keeps after a peak (at most that much beyond its live arrays).
Not applied when the process chose malloc settings itself (MALLOC_*_ or GLIBC_TUNABLES in the environment) or
TRITORCH_MALLOC_TUNING=0 is set.
"""
from __future__ import annotations

import ctypes
import os

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 128 << 20
_USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_",
                  "GLIBC_TUNABLES")

tuned = False   # whether tune() changed glibc's settings in this process


def tune() -> bool:
    """Apply the settings above where they apply; True when they were applied."""
    global tuned
    if tuned or os.environ.get("TRITORCH_MALLOC_TUNING", "1") == "0":
        return tuned
    if any(name in os.environ for name in _USER_SETTINGS):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version   # glibc's mallopt understands these parameters; other C libraries may not
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    tuned = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return tuned
