"""Padding layers (torch.nn's padding.py): constant, zero, reflection, replication and circular, in 1, 2 and 3
spatial dims, over F.pad."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = [f"{kind}Pad{n}d" for kind in ("Constant", "Zero", "Reflection", "Replication", "Circular")
           for n in (1, 2, 3)]


def _padding(value, n: int) -> tuple:
    """An int for every side, or (left, right[, top, bottom[, front, back]]) as given."""
    if isinstance(value, int):
        return (value,) * (2 * n)
    value = tuple(value)
    if len(value) != 2 * n:
        raise ValueError(f"padding must be an int or a tuple of {2 * n} ints, but got {value}")
    return value


class _PadNd(Module):
    mode = "constant"
    dims = 1

    def __init__(self, padding):
        super().__init__()
        self.padding = _padding(padding, self.dims)

    def forward(self, input):
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


def _layer(kind: str, base, mode: str, n: int):
    return type(f"{kind}Pad{n}d", (base,), {"dims": n, "mode": mode, "__module__": __name__,
                                            "__doc__": f"F.pad(input, padding, {mode!r}) over {n} spatial dim(s)."})


for _n in (1, 2, 3):
    for _kind, _base, _mode in (("Constant", _ConstantPadNd, "constant"), ("Zero", _ZeroPadNd, "constant"),
                                ("Reflection", _PadNd, "reflect"), ("Replication", _PadNd, "replicate"),
                                ("Circular", _PadNd, "circular")):
        globals()[f"{_kind}Pad{_n}d"] = _layer(_kind, _base, _mode, _n)
