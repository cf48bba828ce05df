"""Binding ops onto Tensor as methods and operators (done by each family file at import)."""
from __future__ import annotations

import functools

from ..tensor import Tensor


def methods(**named) -> None:
    """Tensor.<name> = fn for each keyword; fn takes the tensor as its first argument."""
    for name, fn in named.items():
        if hasattr(Tensor, name) and name not in _OVERRIDABLE and not name.startswith("__"):
            raise AttributeError(f"Tensor.{name} is already defined")
        setattr(Tensor, name, fn)


def properties(**named) -> None:
    for name, fn in named.items():
        setattr(Tensor, name, property(fn))


_OVERRIDABLE = {"size", "dim"}


_NUMPY_NAMES = {"axis": "dim", "keepdims": "keepdim"}


def numpy_names(fn):
    """fn, also taking NumPy's names for two of its parameters, as PyTorch's argument parser does: axis= for dim=
    and keepdims= for keepdim= (x.sum(axis=1, keepdims=True)). Naming one both ways is the error for the alias."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        if kwargs and ("axis" in kwargs or "keepdims" in kwargs):
            params = _positional_names(fn)
            for alias, name in _NUMPY_NAMES.items():
                if alias in kwargs:
                    if name in kwargs or (name in params and params.index(name) < len(args)):
                        raise TypeError(f"{fn.__name__}() got an unexpected keyword argument '{alias}'")
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)
    return call


@functools.lru_cache(maxsize=None)
def _positional_names(fn) -> list:
    import inspect
    return [p.name for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
