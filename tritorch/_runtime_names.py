"""torch.* runtime names scripts meet at the top level: OutOfMemoryError, is_distributed, get_device_module,
compiled_with_cxx11_abi, and the in-place function forms gcd_, lcm_, ldexp_ (their Tensor methods' twins)."""
from __future__ import annotations

from .backends.cuda_memory import OutOfMemoryError

__all__ = ["OutOfMemoryError", "is_distributed", "get_device_module", "compiled_with_cxx11_abi", "gcd_", "lcm_",
           "ldexp_"]


def is_distributed(input) -> bool:
    """Whether `input` is a distributed tensor: tritorch's tensors live on one device, so False."""
    from .tensor import Tensor
    if not isinstance(input, Tensor):
        raise TypeError(f"is_distributed(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return False


def get_device_module(device=None):
    """The module of a device type: tritorch.cuda for 'cuda', tritorch.cpu for 'cpu'; None -> the current
    accelerator's (cpu when there is none), as torch.get_device_module."""
    import tritorch
    from .device import device as _device
    if isinstance(device, _device):
        name = device.type
    elif isinstance(device, str):
        name = _device(device).type
    elif device is None:
        name = tritorch.accelerator.current_accelerator(check_available=True)
        name = name.type if name is not None else "cpu"
    else:
        raise RuntimeError(f"Invalid value of device '{device}', expect torch.device, str, or None")
    module = getattr(tritorch, name, None)
    if module is None:
        raise RuntimeError(f"Device '{name}' does not have a corresponding module registered as 'torch.{name}'.")
    return module


def compiled_with_cxx11_abi() -> bool:
    """PyTorch's C++ ABI flag; tritorch has no C++ extension ABI, and reports True as PyTorch's wheels do."""
    return True


def gcd_(input, other):
    return input.gcd_(other)


def lcm_(input, other):
    return input.lcm_(other)


def ldexp_(input, other):
    return input.ldexp_(other)
