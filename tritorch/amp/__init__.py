"""tritorch.amp: automatic mixed precision, torch.amp's interface: `autocast` regions run matmuls and
convolutions in float16/bfloat16 and precision-sensitive ops in float32; `GradScaler` scales the loss so float16
gradients do not underflow, and skips steps whose gradients overflowed."""
from .autocast_mode import autocast, get_autocast_dtype, is_autocast_available, is_autocast_enabled  # noqa: F401
from .custom_function import custom_bwd, custom_fwd  # noqa: F401
from .grad_scaler import GradScaler  # noqa: F401

__all__ = ["autocast", "GradScaler", "is_autocast_available", "is_autocast_enabled", "get_autocast_dtype",
           "custom_fwd", "custom_bwd"]
