"""Reading checkpoints that PyTorch's torch.save wrote (its zip format, PyTorch >= 1.6), without PyTorch, so that
tt.load("model.pt") and load_state_dict take weights trained with PyTorch.

The zip holds <archive>/data.pkl (the object, pickled) and <archive>/data/<key> (each storage's raw bytes). The
pickle is read as PyTorch's weights_only=True reads it (its default since 2.6): a restricted unpickler whose only
globals are the containers and tensor-rebuilding functions a checkpoint uses, each mapped to tritorch's own
(OrderedDict, tensors, parameters, Size, device, dtypes, storage types, bytes/set/bytearray/complex); anything else
is refused before it can run, unless add_safe_globals / safe_globals allows it or the caller passed
weights_only=False (torch.save(model) pickles the module objects: PyTorch's classes are read as tritorch's). A tensor is a strided view of its storage's bytes, bounds-checked: tensors that
shared a storage in PyTorch (tied weights, views) share memory here too."""
from __future__ import annotations

import codecs
import collections
import copy
import importlib
import pickle
import zipfile

import numpy as np

from . import dtypes as _dt
from .device import CPU, device
from .tensor import Size, Tensor, _make

# PyTorch's legacy typed storage classes (the type in a storage's persistent id) and the dtypes they hold
_STORAGE_DTYPES = {"FloatStorage": _dt.float32, "DoubleStorage": _dt.float64, "HalfStorage": _dt.float16,
                   "BFloat16Storage": _dt.bfloat16, "LongStorage": _dt.int64, "IntStorage": _dt.int32,
                   "ShortStorage": _dt.int16, "CharStorage": _dt.int8, "ByteStorage": _dt.uint8,
                   "BoolStorage": _dt.bool_, "ComplexFloatStorage": _dt.complex64,
                   "ComplexDoubleStorage": _dt.complex128, "UntypedStorage": _dt.uint8}
_DTYPE_NAMES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
                "float", "double", "half", "long", "int", "short", "complex64", "complex128", "cfloat", "cdouble")


class _StorageType:
    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


class _Storage:
    """A storage's elements (a writable 1-D NumPy array of its dtype) and the device it was saved from."""

    def __init__(self, array: np.ndarray, dtype: _dt.dtype, location: str):
        self.array, self.dtype, self.location = array, dtype, location


class _TensorType:
    """torch.Tensor / torch.nn.Parameter as _rebuild_from_type_v2's `new_type`."""

    def __init__(self, parameter: bool):
        self.parameter = parameter


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                    metadata=None) -> Tensor:
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("a tensor's storage is not a storage of the checkpoint")
    size, stride, offset = tuple(int(s) for s in size), tuple(int(s) for s in stride), int(storage_offset)
    if len(size) != len(stride) or offset < 0 or any(s < 0 for s in size + stride):
        raise pickle.UnpicklingError(f"bad tensor geometry: size {size}, stride {stride}, offset {offset}")
    arr = storage.array
    if all(size):
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= arr.size:
            raise pickle.UnpicklingError(f"a tensor of size {size} and stride {stride} at offset {offset} reaches "
                                         f"past its storage of {arr.size} elements")
    view = np.lib.stride_tricks.as_strided(arr[offset:] if offset < arr.size else arr[:0], size,
                                           tuple(s * arr.itemsize for s in stride)) if all(size) else \
        np.empty(size, arr.dtype)
    t = _make(view, storage.dtype, CPU)
    t._extra = {"torch_location": storage.location}
    if requires_grad and t.dtype.is_floating_point:
        t.requires_grad_(True)
    return t


def _rebuild_tensor_v1(storage, storage_offset, size, stride):
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
    from .nn.parameter import Parameter
    p = Parameter(data, requires_grad=bool(requires_grad))
    p._extra["torch_location"] = (data._extra or {}).get("torch_location", "cpu")
    return p


def _rebuild_from_type_v2(func, new_type, args, state):
    t = func(*args)
    if isinstance(new_type, _TensorType) and new_type.parameter and not _is_parameter(t):
        t = _rebuild_parameter(t, t.requires_grad, None)
    return t


def _is_parameter(t) -> bool:
    from .nn.parameter import Parameter
    return isinstance(t, Parameter)


def _allowed() -> dict:
    allowed = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("collections", "Counter"): collections.Counter,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor_v1,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
        ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
        ("torch", "Tensor"): _TensorType(False),
        ("torch._tensor", "Tensor"): _TensorType(False),
        ("torch.nn.parameter", "Parameter"): _TensorType(True),
        ("torch", "Size"): Size,
        ("torch", "device"): device,
        ("_codecs", "encode"): codecs.encode,
        ("builtins", "bytearray"): bytearray,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("builtins", "complex"): complex,
    }
    for name in _STORAGE_DTYPES:
        allowed[("torch", name)] = _StorageType(name)
    allowed[("torch.storage", "UntypedStorage")] = _StorageType("UntypedStorage")
    for name in _DTYPE_NAMES:
        allowed[("torch", name)] = getattr(_dt, "bool_" if name == "bool" else name)
    return allowed


def _import_global(module: str, name: str):
    """The class or function a pickle names, with PyTorch's modules read as tritorch's (torch.nn.modules.conv ->
    tritorch.nn.modules.conv); None when it cannot be found."""
    if module == "torch" or module.startswith("torch."):
        module = "tritorch" + module[len("torch"):]
    try:
        target = importlib.import_module(module)
        for part in name.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        return None
    return target


class _Unpickler(pickle.Unpickler):
    """PyTorch's weights_only rules: only the allowed globals, storages from the archive's data entries. A whole
    pickled object (torch.save(model)) names its classes: under weights_only those allowed by add_safe_globals /
    safe_globals are rebuilt too, as in PyTorch; weights_only=False allows any (importing its module)."""

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, name: str, weights_only: bool = True):
        super().__init__(file)
        self.archive, self.prefix, self.name = archive, prefix, name
        self.weights_only = weights_only
        self.storages: dict = {}
        self.allowed = _allowed()

    def find_class(self, module, name):
        if module == "__builtin__":    # (protocol 2, which torch.save writes, names Python 2's module)
            module = "builtins"
        found = self.allowed.get((module, name))
        if found is not None:
            return found
        from .serialization import get_safe_globals, trust_hint
        target = _import_global(module, name)
        if target is not None and (not self.weights_only or any(target is g for g in get_safe_globals())):
            return target
        raise pickle.UnpicklingError(
            f"tritorch.load: {self.name} holds {module}.{name}, which a checkpoint is not allowed to hold "
            f"(PyTorch's weights_only rules: tensors, containers, numbers, strings, devices, dtypes); refusing "
            f"to run it. {trust_hint(name)}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        _, storage_type, key, location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unknown storage type {storage_type!r}")
        key = str(key)
        cached = self.storages.get(key)
        if cached is None:
            try:
                data = self.archive.read(f"{self.prefix}data/{key}")
            except KeyError:
                raise pickle.UnpicklingError(f"storage {key} is missing from {self.name}") from None
            dtype = storage_type.dtype
            np_dtype = dtype.np
            if len(data) % np.dtype(np_dtype).itemsize:
                raise pickle.UnpicklingError(f"storage {key} holds {len(data)} bytes, not whole {dtype} elements")
            array = np.frombuffer(bytearray(data), np_dtype)
            if self.big_endian:
                array = array.byteswap()
            cached = self.storages[key] = _Storage(array, dtype, str(location))
        return cached


# PyTorch's legacy format (torch.save(..., _use_new_zipfile_serialization=False), before 1.6): a pickle of its
# magic number first
_LEGACY_HEAD = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8"


def legacy_message(head: bytes, name: str) -> str | None:
    """The error for a file in PyTorch's legacy format (None for any other file)."""
    if head[:len(_LEGACY_HEAD)] != _LEGACY_HEAD:
        return None
    return (f"tritorch.load: {name} is in PyTorch's legacy checkpoint format (torch.save with "
            f"_use_new_zipfile_serialization=False, or PyTorch before 1.6), which tritorch does not read; save it "
            f"again with PyTorch's default format")


def is_torch_checkpoint(head: bytes) -> bool:
    """Whether a file's first bytes start a zip archive (PyTorch's format; safetensors files start with a
    length)."""
    return head[:4] == b"PK\x03\x04"


def load_torch_checkpoint(file, name: str, place, weights_only: bool = True):
    """The object in a PyTorch zip checkpoint (a path or binary file object); place(tensor, location) puts each
    tensor where it goes (tt.load's map_location), also the parameters and buffers of a pickled module."""
    with zipfile.ZipFile(file) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if not pickles:
            raise pickle.UnpicklingError(f"{name} is a zip file but not a PyTorch checkpoint (no data.pkl)")
        prefix = pickles[0][:-len("data.pkl")]
        names = set(archive.namelist())
        order = archive.read(prefix + "byteorder").decode() if prefix + "byteorder" in names else "little"
        with archive.open(pickles[0]) as f:
            unpickler = _Unpickler(f, archive, prefix, name, weights_only)
            unpickler.big_endian = order == "big"
            obj = unpickler.load()
    from .nn.modules.module import Module
    placed = {}

    def walk(x):
        if isinstance(x, Tensor):
            key = id(x)
            if key not in placed:
                location = (x._extra or {}).pop("torch_location", "cpu")
                moved = place(x, location)
                if moved is not x and _is_parameter(x) and not _is_parameter(moved):
                    moved = _rebuild_parameter(moved.detach(), x.requires_grad, None)
                    moved._extra.pop("torch_location", None)
                placed[key] = moved
            return placed[key]
        if isinstance(x, Module):
            if id(x) not in placed:
                placed[id(x)] = x
                for table in ("_parameters", "_buffers"):
                    entries = x.__dict__.get(table) or {}
                    for k, v in list(entries.items()):
                        if v is not None:
                            entries[k] = walk(v)
                for child in (x.__dict__.get("_modules") or {}).values():
                    if child is not None:
                        walk(child)
            return x
        if isinstance(x, dict):
            out = copy.copy(x)    # (the same type, with its attributes: a state dict's _metadata)
            for k, v in out.items():
                out[k] = walk(v)
            return out
        if isinstance(x, list):
            return [walk(v) for v in x]
        if isinstance(x, tuple) and not isinstance(x, Size):
            return tuple(walk(v) for v in x)
        return x
    return walk(obj)


class PyTorchFileReader:
    """torch.PyTorchFileReader: the records of a PyTorch zip checkpoint by their names inside its archive folder
    ("data.pkl", "data/0", "byteorder"), as bytes, from a path or a binary file object. (PyTorch's
    get_storage_from_record, which returns its storages, is absent: tritorch has no untyped storages to give.)"""

    def __init__(self, file):
        try:
            self._archive = zipfile.ZipFile(file)
        except zipfile.BadZipFile:
            raise RuntimeError("PytorchStreamReader failed reading zip archive: failed finding central directory") \
                from None
        pickles = [n for n in self._archive.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        first = self._archive.namelist()[0] if self._archive.namelist() else ""
        self._prefix = pickles[0][:-len("data.pkl")] if pickles else first[:first.find("/") + 1]

    def get_all_records(self) -> list:
        n = len(self._prefix)
        return [name[n:] for name in self._archive.namelist() if name.startswith(self._prefix)]

    def has_record(self, name: str) -> bool:
        return self._prefix + name in self._archive.namelist()

    def get_record(self, name: str) -> bytes:
        try:
            return self._archive.read(self._prefix + name)
        except KeyError:
            raise RuntimeError(f"PytorchStreamReader failed locating file {name}: file not found") from None
