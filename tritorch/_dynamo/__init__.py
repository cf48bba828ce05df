"""torch._dynamo's user-facing surface over an eager runtime: `config` (the settings scripts assign, with PyTorch's
defaults; nothing reads them), the tracing decorators (they return their function), shape marks (no-ops: nothing
is traced) and `eval_frame.OptimizedModule`, the wrapper `tritorch.compile(module)` returns."""
from __future__ import annotations

from . import config, eval_frame, utils
from .eval_frame import OptimizedModule
from ..compiler import allow_in_graph, assume_constant_result, disable, is_compiling, reset

__all__ = ["OptimizedModule", "allow_in_graph", "assume_constant_result", "config", "disable", "disallow_in_graph",
           "eval_frame", "forbid_in_graph", "graph_break", "is_compiling", "mark_dynamic", "mark_static",
           "mark_static_address", "maybe_mark_dynamic", "reset"]


def disallow_in_graph(fn):
    """Keep `fn` out of traced graphs: nothing is traced here, so `fn` itself."""
    return fn


def forbid_in_graph(fn):
    return fn


def graph_break(msg: str = "") -> None:
    """A graph break where Dynamo would trace: an eager runtime has no graph to break."""


def mark_dynamic(t, index, *, hint_override=None, min=None, max=None, specialize_on=None) -> None:  # noqa: A002
    """Mark dims of `t` as dynamic for the tracer: nothing is traced, so nothing to record."""


def mark_static(t, index=None) -> None:
    """Mark dims of `t` (or a module) as static for the tracer: a no-op here."""


def mark_static_address(t, guard: bool = False) -> None:
    """Mark a tensor's memory as fixed for the tracer (transformers' static KV cache does): a no-op here."""


def maybe_mark_dynamic(t, index) -> None:
    """As mark_dynamic, without the error on specialisation: a no-op here."""
