"""torch.nn.utils.convert_conv2d_weight_memory_format / convert_conv3d_weight_memory_format.

In PyTorch these re-lay the weights of every Conv2d/ConvTranspose2d (Conv3d/ConvTranspose3d) in `module` in the
given memory format (channels_last: channels innermost in memory), so that cuDNN can pick its NHWC kernels. tritorch
does not model memory formats: the tensors it makes are row-major (contiguous_format), and its convolutions read
their operands through their strides rather than choosing kernels by layout. So these functions accept PyTorch's
arguments and return the module with every weight (values, shape and layout) as it was.
"""
from __future__ import annotations

from ..modules.module import Module

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def _checked(module, fn: str):
    if not isinstance(module, Module):
        raise TypeError(f"{fn}(): expected a Module, got {type(module).__name__}")
    return module


def convert_conv2d_weight_memory_format(module, memory_format):
    """PyTorch's conversion of Conv2d/ConvTranspose2d weights to `memory_format`; tritorch keeps every weight's
    layout (no memory formats, see the module docstring). Returns `module`."""
    return _checked(module, "convert_conv2d_weight_memory_format")


def convert_conv3d_weight_memory_format(module, memory_format):
    """PyTorch's conversion of Conv3d/ConvTranspose3d weights to `memory_format`; tritorch keeps every weight's
    layout (no memory formats, see the module docstring). Returns `module`."""
    return _checked(module, "convert_conv3d_weight_memory_format")
