"""Devices: `cpu` (NumPy storage), `cuda` (Triton kernels, on a GPU or in Triton's interpreter) and `meta`
(shapes and dtypes only: no storage, no computation)."""
from __future__ import annotations


class device:
    """torch.device: a type ("cpu", "cuda" or "meta") and an index. Instances are interned. As in PyTorch,
    device("cuda") has no index (it means the current cuda device: as_device maps it to CUDA, the device every cuda
    tensor reports, cuda:<i>) and is not equal to cuda:0; an int is a cuda index (`device(1)` is cuda:1).

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
        if isinstance(type_or_spec, int) and not isinstance(type_or_spec, bool):
            if index is not None:
                raise TypeError("device(): an int device takes no separate index")
            if type_or_spec < 0:
                raise RuntimeError(f"Device index must not be negative, but got {type_or_spec}")
            return cls("cuda", type_or_spec)
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
            try:
                other = device(other)
            except (RuntimeError, ValueError):   # another framework's device name ("npu", "xla"): not this one
                return False
        # (a cuda device made before set_device bound its index to the process's device is equal to it)
        return self is other or (other.__class__ is device and self.type == other.type and self.index == other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))

    def __enter__(self) -> "device":
        from .ops import creation
        _ENTERED.append(creation.DEFAULT_DEVICE[0])
        creation.DEFAULT_DEVICE[0] = as_device(self)
        return self

    def __exit__(self, *exc) -> None:
        from .ops import creation
        creation.DEFAULT_DEVICE[0] = _ENTERED.pop()


_ENTERED: list = []   # the default devices that `with device(...)` blocks replaced, innermost last


CPU = device("cpu")
CUDA = device("cuda", 0)   # the process's cuda device: every cuda tensor's `device` is this object
META = device("meta")


def bind_cuda_index(index: int) -> None:
    """Make cuda:`index` the process's cuda device: CUDA's index becomes `index`, and device("cuda", index) and
    "cuda:<index>" are CUDA from now on. tritorch drives one GPU per process (as each torchrun worker does), so
    torch.cuda.set_device calls this only before any cuda work has run. A device object made earlier with that index
    stays a separate object: as_device maps it to CUDA, and it compares equal."""
    cache = device._cache
    for key in [k for k, d in cache.items() if d.type == "cuda" and d.index is not None]:
        del cache[key]
    CUDA.index = int(index)
    for key in (("cuda", CUDA.index), ("cuda", CUDA.index, "canonical"), (str(CUDA), None)):
        cache[key] = CUDA


def as_device(d) -> device:
    """The device a tensor is placed on: cuda without an index (or a cuda device object made before set_device
    bound its index) is CUDA."""
    if d is None:
        return CPU
    if d.__class__ is not device:
        d = device("cuda", d) if isinstance(d, int) and not isinstance(d, bool) else device(d)
    if d.type == "cuda" and d is not CUDA and (d.index is None or d.index == CUDA.index):
        return CUDA
    return d


def cuda_index_error(index: int) -> RuntimeError:
    """The error for a cuda index this process cannot use: one past the devices there are, or another device than
    the process's one (tritorch drives one GPU per process)."""
    from .backends import cuda as _backend
    if index < 0 or index >= _backend.device_count():
        return RuntimeError("CUDA error: invalid device ordinal")
    return RuntimeError(f"tritorch drives one cuda device per process, cuda:{CUDA.index} in this one, so cuda:{index} "
                        f"cannot be used here: call torch.cuda.set_device({index}) before the first cuda tensor "
                        "(as each torchrun worker does with its LOCAL_RANK), or run one process per GPU")
