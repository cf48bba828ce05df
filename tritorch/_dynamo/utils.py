"""torch._dynamo.utils as far as packages call it: is_compile_supported, which torchvision asks before taking its
pure-Python operator paths (roi_align without its compiled ops)."""
from __future__ import annotations

__all__ = ["is_compile_supported"]


def is_compile_supported(device_type) -> bool:
    """Whether torch.compile works for tensors of `device_type`: tritorch.compile runs the model eagerly, which
    works on both of tritorch's devices."""
    from ..device import device
    return device(device_type).type in ("cpu", "cuda")
