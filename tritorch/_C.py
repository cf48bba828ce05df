"""torch._C, PyTorch's C extension, as far as library code reads it by name: the device-properties class (timm
looks it up with getattr), the tracing state (None: nothing is traced) and the API-usage log call (no telemetry).
Anything else is absent (AttributeError), as for a name a given PyTorch build lacks."""
from __future__ import annotations

from .cuda._device import _CudaDeviceProperties

__all__ = ["_CudaDeviceProperties", "_get_tracing_state", "_log_api_usage_once"]


def _get_tracing_state():
    """The JIT tracer's state: None (tritorch has no tracer)."""
    return None


def _log_api_usage_once(event: str) -> None:
    """PyTorch logs API use for its telemetry; tritorch records nothing."""
