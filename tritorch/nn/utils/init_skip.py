"""torch.nn.utils.skip_init: build a module without running its parameter initialisation.

As in PyTorch, the module is built on the meta device (its initialisers have nothing to write and draw no random
numbers) and then given uninitialised storage on the requested device (`Module.to_empty`).
"""
from __future__ import annotations

import inspect

from ..modules.module import Module

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """module_cls(*args, **kwargs) with its parameters and buffers left uninitialised (the class must take a
    `device` argument, as PyTorch requires)."""
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    final_device = kwargs.pop("device", "cpu")
    kwargs["device"] = "meta"
    return module_cls(*args, **kwargs).to_empty(device=final_device)
