"""torch.* process settings and helpers that scripts call at the top: compile, float32 matmul precision,
typename, thread count, default device, print options, deterministic algorithms."""
from __future__ import annotations

from .backends import cuda as _cuda_backend

__all__ = ["compile", "set_float32_matmul_precision", "get_float32_matmul_precision", "typename", "set_num_threads",
           "get_num_threads", "set_default_device", "get_default_device", "set_printoptions",
           "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
           "is_deterministic_algorithms_warn_only_enabled"]

_PRECISIONS = ("highest", "high", "medium")
_precision = ["highest"]


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend="inductor", mode=None, options=None,
            name=None, disable: bool = False, recompile_limit=None, isolate_recompiles: bool = False,
            shapes_spec=None):
    """tritorch runs eagerly: there is no graph capture or compiler. A function comes back as it is (called without
    one, a decorator that does that); a module comes back wrapped, as torch.compile wraps it, in an
    OptimizedModule whose state_dict keys read '_orig_mod.<name>' and whose calls run the module. A script
    written for torch.compile runs unchanged at eager speed."""
    if model is None:
        def decorator(fn):
            return compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode, options=options,
                           disable=disable)
        return decorator
    if not callable(model):
        raise RuntimeError("compile: model must be a callable (an nn.Module or a function)")
    from .nn.modules.module import Module
    if isinstance(model, Module):
        from ._dynamo.eval_frame import OptimizedModule
        return OptimizedModule(model)
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


# ------------------------------------------------------------------------------- threads, default device, printing

def set_num_threads(n: int) -> None:
    """Threads the cpu fallbacks use: OpenBLAS's and the row-block pool's (torch.set_num_threads)."""
    from .ops import _cpu_parallel
    if int(n) < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    _cpu_parallel.set_workers(int(n))


def get_num_threads() -> int:
    from .ops import _cpu_parallel
    return _cpu_parallel.workers()


def set_default_device(device) -> None:
    """The device factory functions (tt.zeros, tt.randn, tt.tensor, ...) use when none is given (None: cpu)."""
    from .device import as_device
    from .ops import creation
    creation.DEFAULT_DEVICE[0] = None if device is None else as_device(device)


def get_default_device():
    from .device import CPU
    from .ops import creation
    return creation.DEFAULT_DEVICE[0] or CPU


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None) -> None:
    """How tensors print (torch.set_printoptions): digits, summarising threshold and edge items, line width,
    a profile ('default', 'short', 'full'), and sci_mode (None: chosen per tensor)."""
    from . import _format
    if profile == "default":
        _format._PRECISION, _format._THRESHOLD, _format._EDGEITEMS, _format._LINEWIDTH = 4, 1000, 3, 80
    elif profile == "short":
        _format._PRECISION, _format._THRESHOLD, _format._EDGEITEMS, _format._LINEWIDTH = 2, 1000, 2, 80
    elif profile == "full":
        _format._PRECISION, _format._THRESHOLD, _format._EDGEITEMS, _format._LINEWIDTH = 4, float("inf"), 3, 80
    for name, value in (("_PRECISION", precision), ("_THRESHOLD", threshold), ("_EDGEITEMS", edgeitems),
                        ("_LINEWIDTH", linewidth)):
        if value is not None:
            setattr(_format, name, value)
    _format._SCI_MODE = sci_mode


# ------------------------------------------------------------------------------------ deterministic algorithms

# "fill": torch.utils.deterministic.fill_uninitialized_memory (empty() and resize_ fill new memory in the mode)
_deterministic = {"mode": False, "warn_only": False, "fill": True}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Ask every op for bitwise-repeatable results. Every cpu op, and every cuda op but the float accumulations
    by atomic adds, already is; those (index_add, scatter_add, scatter(reduce='add'), index_put(accumulate), the
    backward of advanced indexing, put_(accumulate), and the backward of non-constant padding and of overlapping
    as_strided) switch to a sorted, atomic-free path while the mode is on. A kernel launch that still depends on
    the order of atomic float adds calls `alert_not_deterministic`, which raises RuntimeError (or warns, with
    warn_only) as PyTorch does for ops without a deterministic implementation. New memory (empty, empty_like,
    new_empty, resize_) is filled with NaN / the largest integer while torch.utils.deterministic.
    fill_uninitialized_memory is True (the default), as in PyTorch."""
    _deterministic["mode"] = bool(mode)
    _deterministic["warn_only"] = bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _deterministic["warn_only"]


def alert_not_deterministic(caller: str) -> None:
    """Called by a cuda kernel launch whose float result depends on the order of atomic adds."""
    if not _deterministic["mode"]:
        return
    msg = (f"{caller} does not have a deterministic implementation, but you set "
           "'torch.use_deterministic_algorithms(True)'. Turn determinism off around this operation, or use "
           "warn_only=True if that is acceptable, or run it on the cpu, whose implementation is deterministic.")
    if _deterministic["warn_only"]:
        import warnings
        warnings.warn(msg, UserWarning, stacklevel=3)
    else:
        raise RuntimeError(msg)
