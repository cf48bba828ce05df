"""torch.backends.mkldnn: oneDNN, which tritorch does not use (its cpu kernels are NumPy and NumPy's BLAS), so it
is never available; `enabled` and the other flags are kept for the scripts that set or save them."""
from __future__ import annotations

import contextlib

__all__ = ["is_available", "is_acl_available", "flags", "set_flags", "enabled", "deterministic", "allow_tf32",
           "fp32_precision",
           "VERBOSE_OFF", "VERBOSE_ON", "VERBOSE_ON_CREATION", "verbose"]

VERBOSE_OFF, VERBOSE_ON, VERBOSE_ON_CREATION = 0, 1, 2
enabled = True
deterministic = False
allow_tf32 = True
fp32_precision = "none"


def is_available() -> bool:
    return False


def is_acl_available() -> bool:
    return False


def set_flags(_enabled=None, _deterministic=None, _allow_tf32=None, _fp32_precision="none"):
    """Set the flags given (None keeps one); returns the previous (enabled, deterministic, allow_tf32,
    fp32_precision)."""
    global enabled, deterministic, allow_tf32, fp32_precision
    previous = (enabled, deterministic, allow_tf32, fp32_precision)
    if _enabled is not None:
        enabled = bool(_enabled)
    if _deterministic is not None:
        deterministic = bool(_deterministic)
    if _allow_tf32 is not None:
        allow_tf32 = bool(_allow_tf32)
    if _fp32_precision is not None:
        fp32_precision = _fp32_precision
    return previous


@contextlib.contextmanager
def flags(enabled=False, deterministic=False, allow_tf32=True, fp32_precision="none"):
    previous = set_flags(enabled, deterministic, allow_tf32, fp32_precision)
    try:
        yield
    finally:
        set_flags(*previous)


class verbose:
    """On-demand oneDNN verbosing: with no oneDNN there is nothing to print; the context manager does nothing."""

    def __init__(self, level):
        self.level = level

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
