"""tritorch.jit: torch.jit's names as eager pass-throughs. tritorch has no TorchScript.

Scripts that decorate or compile with torch.jit keep running, eagerly: `script` returns the function, class or
module it is given unchanged; `trace` runs the function (or module) once with the example inputs, with
`is_tracing()` True during that call as in PyTorch, and returns it unchanged; `ignore`, `unused`, `export`,
`interface`, `script_if_tracing` and `script_method` are identity decorators; `is_scripting()` is always False;
`fork` runs the call at once and `wait` returns its result. Nothing is compiled, so there is nothing to
serialize: `save` and `load` raise a RuntimeError that points at tritorch.save / tritorch.load of a state_dict.
"""

import contextlib
import typing

from ..futures import Future  # (jit.Future is torch.futures.Future)
from ..nn.modules.module import Module
from . import annotations  # noqa: F401  (no `from __future__ import annotations` here: it would shadow this)

Final = typing.Final

__all__ = ["Final", "Future", "ScriptFunction", "ScriptModule", "annotate", "annotations", "export", "fork",
           "ignore", "interface", "is_scripting", "is_tracing", "load", "save", "script", "script_if_tracing",
           "script_method", "trace", "trace_module", "unused", "wait"]

_tracing_depth = 0  # > 0 while trace() runs the function it was given


class ScriptModule(Module):
    """torch.jit.ScriptModule's name, for subclassing and isinstance checks: nothing becomes one here, since
    `script` and `trace` return their input unchanged."""


class ScriptFunction:
    """torch.jit.ScriptFunction's name, for isinstance checks: nothing becomes one here."""


def script(obj, optimize=None, _frames_up: int = 0, _rcb=None, example_inputs=None):
    """The function, class or module itself: tritorch runs everything eagerly."""
    return obj


def script_method(fn):
    return fn


@contextlib.contextmanager
def _tracing():
    global _tracing_depth
    _tracing_depth += 1
    try:
        yield
    finally:
        _tracing_depth -= 1


def trace(func, example_inputs=None, optimize=None, check_trace: bool = True, check_inputs=None,
          check_tolerance: float = 1e-05, strict: bool = True, _force_outplace: bool = False, _module_class=None,
          _compilation_unit=None, example_kwarg_inputs=None, _store_inputs: bool = True):
    """Run `func` once on the example inputs, as PyTorch's tracer does, and return `func` unchanged.

    example_inputs: a tuple of positional arguments, or one tensor; example_kwarg_inputs: a dict of keyword ones."""
    if example_kwarg_inputs is not None:
        if not isinstance(example_kwarg_inputs, dict):
            raise RuntimeError("example_kwarg_inputs should be a dict")
        args, kwargs = (), example_kwarg_inputs
    elif example_inputs is None:
        raise TypeError("'NoneType' object is not iterable")  # PyTorch's error for a trace with no inputs
    else:
        args, kwargs = (example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)), {}
    with _tracing():
        func(*args, **kwargs)
    return func


def trace_module(mod, inputs, optimize=None, check_trace: bool = True, check_inputs=None,
                 check_tolerance: float = 1e-05, strict: bool = True, _force_outplace: bool = False,
                 _module_class=None, _compilation_unit=None, example_inputs_is_kwarg: bool = False,
                 _store_inputs: bool = True):
    """Run each named method of `mod` once on its example inputs ({"forward": (x,), ...}); return `mod`."""
    if not isinstance(inputs, dict):
        raise AttributeError("expected a dictionary of (method_name, input) pairs")
    with _tracing():
        for name, example in inputs.items():
            method = getattr(mod, name)
            if example_inputs_is_kwarg:
                method(**example)
            else:
                method(*(example if isinstance(example, tuple) else (example,)))
    return mod


def is_tracing() -> bool:
    return _tracing_depth > 0


def is_scripting() -> bool:
    """Always False: no code runs under TorchScript here, so the eager branch is the one to take."""
    return False


def ignore(drop: bool = False, **kwargs):
    """@ignore or @ignore(drop=True): the function itself."""
    if callable(drop):  # used bare, as @ignore: `drop` is the function
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def interface(obj):
    return obj


def script_if_tracing(fn):
    return fn


_script_if_tracing = script_if_tracing   # (the private names torchvision decorates with)


def _overload(fn):
    """TorchScript's overload declaration of a function: the declarations matter only to the compiler, so each
    is returned as it is (the last definition, the implementation, is the one a module's name ends up holding)."""
    return fn


def _overload_method(fn):
    return fn


def annotate(the_type, the_value):
    """torch.jit.annotate: the value itself (the type only informed the TorchScript compiler)."""
    return the_value


def fork(func, *args, **kwargs) -> Future:
    """Run func(*args, **kwargs) now (no TorchScript interpreter to run it asynchronously) and return its completed
    Future."""
    future = Future()
    future.set_result(func(*args, **kwargs))
    return future


def wait(future: Future):
    return future.wait()


_NO_TORCHSCRIPT = ("tritorch has no TorchScript, so there is no scripted module to {}: save the model's "
                   "state_dict with tritorch.save(model.state_dict(), path) and restore it with "
                   "model.load_state_dict(tritorch.load(path))")


def save(m, f, _extra_files=None) -> None:
    raise RuntimeError("tritorch.jit.save: " + _NO_TORCHSCRIPT.format("save"))


def load(f, map_location=None, _extra_files=None, _restore_shapes: bool = False):
    raise RuntimeError("tritorch.jit.load: " + _NO_TORCHSCRIPT.format("load"))
