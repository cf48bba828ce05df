"""Devices: `cpu` (NumPy storage), `cuda` (Triton kernels, on a GPU or in Triton's interpreter) and `meta`
(shapes and dtypes only: no storage, no computation)."""
from __future__ import annotations


class device:
    """torch.device: a type ("cpu", "cuda" or "meta") and an index. Instances are interned, so `is` compares them.

    As a context manager (`with tt.device("meta"): ...`) it is the default device of the factory functions
    (and so of the parameters modules create) inside the block, as torch.set_default_device."""

    __slots__ = ("type", "index", "__weakref__")
    _cache: dict = {}

    def __new__(cls, type_or_spec, index=None):
        if type_or_spec.__class__ is device:
            return type_or_spec
        key = (type_or_spec, index)
        d = cls._cache.get(key)
        if d is not None:
            return d
        spec = str(type_or_spec)
        typ, _, idx = spec.partition(":")
        if idx:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed explicitly: {spec}")
            index = int(idx)
        if typ not in ("cpu", "cuda", "meta"):
            raise RuntimeError(f"Expected one of cpu, cuda, meta device type at start of device string: {spec}")
        if typ == "cpu":
            index = None  # tritorch has one cpu device
        elif index is None and typ == "cuda":
            index = 0
        canonical = cls._cache.get((typ, index, "canonical"))
        if canonical is None:
            canonical = object.__new__(cls)
            canonical.type = typ
            canonical.index = index
            cls._cache[(typ, index, "canonical")] = canonical
        cls._cache[key] = canonical
        return canonical

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return self is other

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))

    def __enter__(self) -> "device":
        from .ops import creation
        _ENTERED.append(creation.DEFAULT_DEVICE[0])
        creation.DEFAULT_DEVICE[0] = self
        return self

    def __exit__(self, *exc) -> None:
        from .ops import creation
        creation.DEFAULT_DEVICE[0] = _ENTERED.pop()


_ENTERED: list = []   # the default devices that `with device(...)` blocks replaced, innermost last


CPU = device("cpu")
CUDA = device("cuda", 0)
META = device("meta")


def as_device(d) -> device:
    if d is None:
        return CPU
    if d.__class__ is device:
        return d
    if isinstance(d, int):
        return device("cuda", d)
    return device(d)
