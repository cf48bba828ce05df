"""tritorch.random (torch.random): the default generator's seed and state, and fork_rng.

One counter-based generator serves every device (ops/random.py: the same seed gives the same numbers on cpu and
cuda), so forking the RNG saves and restores that one state whatever `devices` names.
"""
from __future__ import annotations

import contextlib

from .ops.random import (Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed,
                         set_rng_state)

__all__ = ["Generator", "default_generator", "fork_rng", "get_rng_state", "initial_seed", "manual_seed", "seed",
           "set_rng_state"]


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices", device_type="cuda"):
    """Inside the block, draws may reseed or advance the generator freely: its state on entry is restored on
    exit (also when the block raises). `devices` and `device_type` are accepted for PyTorch's signature; with
    enabled=False the block runs with no fork."""
    if device_type not in ("cuda", "cpu"):
        raise RuntimeError(f"torch has no module of {device_type}, you should register a module by "
                           "`torch._register_device_module`.")
    if not enabled:
        yield
        return
    state = default_generator.get_state()
    try:
        yield
    finally:
        default_generator.set_state(state)
