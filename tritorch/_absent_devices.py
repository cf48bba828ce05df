"""torch.xpu and torch.mtia: Intel's and Meta's accelerators, which tritorch does not drive (it runs on NVIDIA GPUs
and the cpu). Each module says so as PyTorch built without them does: is_available() is False, device_count() 0,
seeding is a no-op, and anything needing a device raises PyTorch's AssertionError."""
from __future__ import annotations

import sys
import types

_NEEDS_DEVICE = ("init", "synchronize", "current_device", "set_device", "get_device_name", "get_device_properties",
                 "get_device_capability", "empty_cache", "memory_allocated", "max_memory_allocated", "memory_reserved",
                 "memory_stats", "reset_peak_memory_stats", "get_rng_state", "set_rng_state", "current_stream",
                 "default_stream")
_NO_OPS = ("manual_seed", "manual_seed_all", "seed", "seed_all")
_NOT_IN = {"xpu": ("default_stream",), "mtia": ("get_device_name", "memory_reserved")}   # as in PyTorch


def make(name: str, label: str) -> types.ModuleType:
    module = types.ModuleType(f"tritorch.{name}", f"torch.{name}: {label}, which tritorch does not drive "
                                                  f"(see tritorch._absent_devices).")

    def unavailable(what):
        def call(*args, **kwargs):
            raise AssertionError(f"Torch not compiled with {name.upper()} enabled")
        call.__name__ = what
        return call

    def no_op(what):
        def call(*args, **kwargs):
            return None
        call.__name__ = what
        return call

    module.is_available = lambda: False
    module.is_initialized = lambda: False
    module.device_count = lambda: 0
    module.is_bf16_supported = lambda *args, **kwargs: False
    needs_device = [w for w in _NEEDS_DEVICE if w not in _NOT_IN.get(name, ())]
    for what in needs_device:
        setattr(module, what, unavailable(what))
    for what in _NO_OPS:
        setattr(module, what, no_op(what))
    module.__all__ = sorted(["is_available", "is_initialized", "device_count", "is_bf16_supported",
                             *needs_device, *_NO_OPS])
    sys.modules[module.__name__] = module   # `import tritorch.xpu` works too
    return module
