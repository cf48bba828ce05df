"""torch._C, PyTorch's C extension, as far as library code reads it by name: the device-properties class (timm
looks it up with getattr), the tensor classes' metaclass, the reader of PyTorch's zip checkpoints, _nn._parse_to,
the tracing state (None: nothing is traced) and the API-usage log call (no telemetry). Anything else is absent
(AttributeError), as for a name a given PyTorch build lacks."""
from __future__ import annotations

import types

from ._torch_checkpoint import PyTorchFileReader
from .cuda._device import _CudaDeviceProperties

__all__ = ["PyTorchFileReader", "_CudaDeviceProperties", "_nn", "_TensorMeta", "_get_tracing_state",
           "_log_api_usage_once"]

# The metaclass of PyTorch's tensor classes (libraries name it in annotations of Tensor subclasses); tritorch's
# Tensor is an ordinary class, so its metaclass is type.
_TensorMeta = type


def _get_tracing_state():
    """The JIT tracer's state: None (tritorch has no tracer)."""
    return None


def _log_api_usage_once(event: str) -> None:
    """PyTorch logs API use for its telemetry; tritorch records nothing."""


def _parse_to(*args, **kwargs) -> tuple:
    """torch._C._nn._parse_to: the (device, dtype, non_blocking, memory_format) that Tensor.to / Module.to would
    read from the same arguments (None for those not given; Module subclasses that override .to call it)."""
    from .ops.copy import _parse_to as parse
    non_blocking = bool(kwargs.get("non_blocking", False))
    memory_format = kwargs.get("memory_format")
    device, dtype, _ = parse(args, dict(kwargs))
    return device, dtype, non_blocking, memory_format


# torch._C._nn: the nn bindings' namespace, as far as library code calls it
_nn = types.ModuleType("torch._C._nn")
_nn._parse_to = _parse_to
del _parse_to
