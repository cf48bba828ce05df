"""Binding ops onto Tensor as methods and operators (done by each family file at import)."""
from __future__ import annotations

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
