"""Small helpers the layer modules share: empty parameter storage and PyTorch's n-tuple arguments."""
from __future__ import annotations

import collections.abc
from itertools import repeat

from ...ops import creation as _creation


def empty(shape, device=None, dtype=None):
    """Uninitialised storage for a parameter or buffer (the layer's reset_parameters fills it)."""
    return _creation.empty(tuple(shape), device=device, dtype=dtype)


def _ntuple(n: int, name: str):
    def parse(x):
        if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
            return tuple(x)
        return tuple(repeat(x, n))

    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
