"""torch.mps: the Metal device module. tritorch has no Metal backend: there are no mps devices, and the calls that
need one raise PyTorch's error for a build without it."""
from __future__ import annotations

__all__ = ["current_allocated_memory", "device_count", "driver_allocated_memory", "empty_cache", "get_rng_state",
           "is_available", "manual_seed", "recommended_max_memory", "seed", "set_per_process_memory_fraction",
           "set_rng_state", "synchronize"]


def _unavailable(what: str):
    raise RuntimeError(f"Cannot execute {what}() without MPS backend.")


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def synchronize() -> None:
    _unavailable("deviceSynchronize")


def empty_cache() -> None:
    _unavailable("emptyCache")


def current_allocated_memory() -> int:
    _unavailable("getCurrentAllocatedMemory")


def driver_allocated_memory() -> int:
    _unavailable("getDriverAllocatedMemory")


def recommended_max_memory() -> int:
    _unavailable("getRecommendedMaxMemory")


def set_per_process_memory_fraction(fraction) -> None:
    _unavailable("setMemoryFraction")


def get_rng_state(device="mps"):
    _unavailable("getDefaultGenerator")


def set_rng_state(new_state, device="mps") -> None:
    _unavailable("getDefaultGenerator")


def manual_seed(seed: int) -> None:
    """Seeding a device that is not there does nothing (as in PyTorch without MPS)."""


def seed() -> None:
    _unavailable("getDefaultGenerator")
