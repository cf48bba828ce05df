"""torch.* runtime names scripts meet at the top level: OutOfMemoryError, is_distributed, get_device_module,
compiled_with_cxx11_abi, the in-place function forms gcd_, lcm_, ldexp_ (their Tensor methods' twins), GradScaler
(torch.amp's), view_as_real_copy / view_as_complex_copy, and SymInt / SymFloat / SymBool (the symbolic sizes of
PyTorch's tracing, which tritorch does not have: no value is an instance, so library code's isinstance checks take
their plain-number branch)."""
from __future__ import annotations

from .backends.cuda_memory import OutOfMemoryError

__all__ = ["OutOfMemoryError", "is_distributed", "get_device_module", "compiled_with_cxx11_abi", "gcd_", "lcm_",
           "ldexp_", "GradScaler", "view_as_real_copy", "view_as_complex_copy", "SymInt", "SymFloat", "SymBool"]


def __getattr__(name):
    if name == "GradScaler":   # (tritorch.amp imports this module's package first)
        from .amp import GradScaler
        return GradScaler
    raise AttributeError(name)


class SymInt:
    """torch.SymInt: a symbolic int of PyTorch's tracing; tritorch has none (never instantiated)."""

    def __init__(self, *args, **kwargs):
        raise TypeError("tritorch has no symbolic sizes: SymInt cannot be created")


class SymFloat(SymInt):
    """torch.SymFloat (see SymInt)."""


class SymBool(SymInt):
    """torch.SymBool (see SymInt)."""


def view_as_real_copy(input):
    """view_as_real(input), copied (PyTorch's *_copy forms return new memory)."""
    from .ops.complex import view_as_real
    return view_as_real(input).clone()


def view_as_complex_copy(input):
    """view_as_complex(input), copied."""
    from .ops.complex import view_as_complex
    return view_as_complex(input).clone()


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
