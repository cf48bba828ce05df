"""torch._C, PyTorch's C extension, as far as library code reads it by name: the device-properties class (timm
looks it up with getattr), the TorchScript IR's class names for annotations (Graph, Value), the tracing state
(None: nothing is traced) and the API-usage log call (no telemetry). Anything else is absent (AttributeError), as
for a name a given PyTorch build lacks."""
from __future__ import annotations

from .cuda._device import _CudaDeviceProperties

__all__ = ["Graph", "Value", "_CudaDeviceProperties", "_get_tracing_state", "_log_api_usage_once"]


class Graph:
    """TorchScript's IR graph. tritorch has no TorchScript IR: the class exists for the annotations of ONNX
    `symbolic(g: torch._C.Graph, ...)` methods (transformers' SEW-D, DeBERTa), which Python evaluates at import."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError("torch._C.Graph: tritorch has no TorchScript IR")


class Value:
    """A value of TorchScript's IR graph (see Graph): a name for annotations only."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError("torch._C.Value: tritorch has no TorchScript IR")


def _get_tracing_state():
    """The JIT tracer's state: None (tritorch has no tracer)."""
    return None


def _log_api_usage_once(event: str) -> None:
    """PyTorch logs API use for its telemetry; tritorch records nothing."""
