"""torch.fx's names that model code uses at import and run time. `wrap` marks a function as a leaf for FX's
symbolic tracing (timm decorates its layers' helpers with it); tritorch has no FX tracer (symbolic_trace and Graph
are absent: using them is an AttributeError), so `wrap` records the name and returns its argument, which is what it
does outside tracing in PyTorch too. GraphModule exists as a class for annotations and isinstance checks (Lightning
names it in a signature): nothing is one, and building one raises NotImplementedError."""
from __future__ import annotations

import inspect

__all__ = ["GraphModule", "wrap"]

_wrapped: set = set()   # (module name, function name) pairs marked as leaves


def wrap(fn_or_name):
    """Mark `fn_or_name` (a function, or the name of one in the calling module's globals) as a leaf for symbolic
    tracing; returns it unchanged."""
    if callable(fn_or_name):
        _wrapped.add((getattr(fn_or_name, "__module__", None), fn_or_name.__name__))
        return fn_or_name
    if not isinstance(fn_or_name, str):
        raise RuntimeError("Unsupported type for global function! Must be either a callable or string name")
    caller = inspect.currentframe().f_back
    if caller is None or caller.f_code.co_name != "<module>":
        raise NotImplementedError("wrap must be called at the top level of a module")
    _wrapped.add((caller.f_globals.get("__name__"), fn_or_name))
    return fn_or_name


class GraphModule:
    """torch.fx.GraphModule's name: tritorch has no FX graphs, so no object is one."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("torch.fx.GraphModule: tritorch has no FX tracer or graphs")
