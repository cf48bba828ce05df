"""torch.nn.utils.skip_init: build a module without running its parameter initialisation.

PyTorch builds the module on the meta device and then allocates uninitialised storage (to_empty). tritorch has no
meta device, so the module is built on its final device with the initialisers of tritorch.nn.init (which every
layer's reset_parameters calls) made no-ops for the duration, and the random generator's state restored
afterwards: the parameters hold the uninitialised storage the layer allocated (`empty`), and, as in PyTorch, no
random numbers are consumed.
"""
from __future__ import annotations

import contextlib
import inspect
import threading

from .. import init as _init
from ..modules.module import Module

__all__ = ["skip_init"]

_LOCK = threading.Lock()
_INITIALISERS = [name for name in _init.__all__ if name.endswith("_")]   # uniform_, kaiming_uniform_, zeros_, ...


@contextlib.contextmanager
def _no_initialisation():
    from ...ops import random as _random
    with _LOCK:
        saved = {name: getattr(_init, name) for name in _INITIALISERS}
        state = _random.get_rng_state()
        try:
            for name in saved:
                setattr(_init, name, _identity)
            yield
        finally:
            for name, fn in saved.items():
                setattr(_init, name, fn)
            _random.set_rng_state(state)


def _identity(tensor, *args, **kwargs):
    return tensor


def skip_init(module_cls, *args, **kwargs):
    """module_cls(*args, **kwargs) with its parameters and buffers left uninitialised (the class must take a
    `device` argument, as PyTorch requires)."""
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    kwargs["device"] = kwargs.pop("device", "cpu")
    with _no_initialisation():
        return module_cls(*args, **kwargs)
