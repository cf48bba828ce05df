"""torch.* process settings and helpers that scripts call at the top: compile, float32 matmul precision,
typename."""
from __future__ import annotations

from .backends import cuda as _cuda_backend

__all__ = ["compile", "set_float32_matmul_precision", "get_float32_matmul_precision", "typename"]

_PRECISIONS = ("highest", "high", "medium")
_precision = ["highest"]


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend="inductor", mode=None, options=None,
            disable: bool = False):
    """tritorch runs eagerly: there is no graph capture or compiler, so compile returns `model` itself (or, called
    without one, a decorator that does), and a script written for torch.compile runs unchanged at eager speed."""
    if model is None:
        def decorator(fn):
            return compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode, options=options,
                           disable=disable)
        return decorator
    if not callable(model):
        raise RuntimeError("compile: model must be a callable (an nn.Module or a function)")
    return model


def set_float32_matmul_precision(precision: str) -> None:
    """'highest': float32 matmuls in full float32; 'high' / 'medium': TF32 tensor cores on a GPU (the same switch
    as tritorch.backends.cuda.matmul.allow_tf32)."""
    if precision not in _PRECISIONS:
        raise RuntimeError(f"Invalid float32 matmul precision '{precision}': expected one of {list(_PRECISIONS)}")
    _precision[0] = precision
    _cuda_backend.matmul.allow_tf32 = precision != "highest"


def get_float32_matmul_precision() -> str:
    if not _cuda_backend.matmul.allow_tf32:
        return "highest"
    return _precision[0] if _precision[0] != "highest" else "high"


def typename(obj) -> str:
    """The type of a tensor as PyTorch names it ('torch.FloatTensor'), else the object's qualified type name."""
    from .tensor import Tensor
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__qualname__
    if module in ("builtins", "__builtin__") or not module:
        return name
    return f"{module}.{name}"
