"""torch.compiler, as an eager runtime: tritorch has no graph capture or compiler, so `compile` returns the model
unchanged (as tritorch.compile), nothing is ever "compiling", and the decorators that steer Dynamo's tracing
(disable, allow_in_graph, assume_constant_result, substitute_in_graph, ...) return their function as it is. A
script written for torch.compile runs unchanged at eager speed."""
from __future__ import annotations

from .._settings import compile as _compile

__all__ = ["compile", "disable", "reset", "is_compiling", "is_dynamo_compiling", "is_exporting", "allow_in_graph",
           "assume_constant_result", "substitute_in_graph", "wrap_numpy", "nested_compile_region",
           "cudagraph_mark_step_begin", "list_backends", "get_default_backend", "set_default_backend",
           "set_stance"]

_BACKENDS = ["cudagraphs", "inductor", "openxla", "tvm"]
_default_backend = ["inductor"]


def compile(*args, **kwargs):
    """tritorch.compile: the model itself (or a decorator returning it)."""
    return _compile(*args, **kwargs)


def disable(fn=None, recursive=True, *, reason=None):
    """Exclude `fn` from compilation: everything already runs eagerly, so `fn` is returned (or, without one, a
    decorator that returns its function)."""
    if fn is None:
        return lambda f: f
    return fn


def reset() -> None:
    """Clear compilation caches: an eager runtime keeps none."""


def is_compiling() -> bool:
    return False


def is_dynamo_compiling() -> bool:
    return False


def is_exporting() -> bool:
    return False


def allow_in_graph(fn):
    return fn


def assume_constant_result(fn):
    return fn


def wrap_numpy(fn):
    """torch.compiler.wrap_numpy lets a NumPy function take and return tensors under compile; eagerly, as in
    PyTorch outside compile, the function is returned unchanged."""
    return fn


def substitute_in_graph(original_fn, *, can_constant_fold_through: bool = False, skip_signature_check: bool = False):
    """A decorator registering a traceable stand-in for `original_fn`; with no tracer, the stand-in is kept as
    the user wrote it and `original_fn` stays in use."""
    return lambda fn: fn


def nested_compile_region(fn=None, *, options=None, max_reuse_entries: int = 8, reuse_hash_fn=None):
    if fn is None:
        return lambda f: f
    return fn


def cudagraph_mark_step_begin() -> None:
    """Marks a new iteration for compiled CUDA graphs; tritorch captures none."""


def list_backends(exclude_tags=("debug", "experimental")) -> list:
    """The backend names compile accepts (all run eagerly here)."""
    return list(_BACKENDS)


def get_default_backend():
    return _default_backend[0]


def set_default_backend(backend) -> None:
    _default_backend[0] = "inductor" if backend is None else backend


class set_stance:
    """Changes how compiled functions behave ("default", "force_eager", ...): everything is eager already, so the
    stance changes nothing (usable as a call, a context manager or a decorator, as PyTorch's)."""

    def __init__(self, stance: str = "default", *, skip_guard_eval_unsafe=False, force_backend=None):
        self.stance = stance

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, fn):
        return fn
