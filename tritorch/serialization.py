"""tt.save / tt.load: checkpoints (state dicts of models and optimizers) as safetensors files, written atomically.

File format: an ordinary safetensors file (readable by any safetensors reader). Every tensor of the saved object
is one safetensors tensor, named by its path in the object ("fc.weight", "state.0.exp_avg"); tensors are stored
with their own dtype, so bfloat16 round-trips bit-exactly (complex128, which safetensors lacks, as its float64
pairs with a trailing dim of 2, marked in the structure). NumPy arrays of numeric dtypes are stored the same way
(and come back as NumPy arrays: a checkpoint's np.random.get_state(), metrics). The object's structure (dicts,
OrderedDicts, lists, tuples, sets, numbers, strings, bools, None, dtypes, devices, bytes; meta tensors as their
shape and dtype) is JSON in the safetensors header metadata, under "tritorch.structure", with a CRC-32 of each
tensor's bytes so that corrupted data is detected on load.

No pickle anywhere: loading a file parses JSON and copies tensor bytes. Other objects (a whole nn.Module, as
`torch.save(model, f)` saves it) are saved by their class's import path and their state (__getstate__), classes
and functions by their import path; load rebuilds them (cls.__new__, then __setstate__ or the __dict__) only for
classes and functions allowed by add_safe_globals / safe_globals - PyTorch's weights_only rule, on by default -
or for any with weights_only=False. Objects without an importable class or a __dict__ are refused by save().

Writes are atomic: the file is written to a temporary file in the target's folder, flushed to disk (fsync), moved
over the target with os.replace, and the folder is fsynced. A process killed mid-save leaves the previous file
intact; a leftover ".<name>.*.tmp" file may remain and is never read. A truncated or corrupt file raises
CheckpointError (a RuntimeError) naming the file.

Tensors on cuda are copied to host memory to be saved. On load, each tensor goes back to the device it was saved
from, unless `map_location` says otherwise: a device or device string (every tensor there), a dict mapping saved
locations to new ones ({"cuda:0": "cpu"}), or a callable `fn(tensor_on_cpu, saved_location)` returning the tensor
to use (or None for the default).

Differences from torch.save: only the types above can be saved (no arbitrary Python objects); tensors that are the
same object are saved once and come back as one object, but distinct views of one storage are saved (and loaded)
as separate tensors.

tt.load also reads the zip checkpoints PyTorch's torch.save writes (see _torch_checkpoint.py), as PyTorch reads
them with weights_only=True: weights trained with PyTorch load into tritorch's modules and optimizers.
"""
from __future__ import annotations

import base64
import collections
import importlib
import io
import json
import os
import pickle
import tempfile
import zlib

import ml_dtypes  # noqa: F401  (registers bfloat16 with NumPy, which safetensors' NumPy reader needs)
import numpy as np
import safetensors
from safetensors import SafetensorError, safe_open, serialize_file

try:  # safetensors >= 0.7 takes pointers to the tensors' memory; older releases take bytes
    from safetensors import TensorSpec
except ImportError:  # pragma: no cover - depends on the installed safetensors
    TensorSpec = None

from . import dtypes as _dt
from .backends import cuda as _cuda
from .device import CPU, as_device
from .device import CUDA as _CUDA
from .device import device as _Device
from .tensor import Size, Tensor, _make

__all__ = ["save", "load", "add_safe_globals", "safe_globals", "get_safe_globals", "clear_safe_globals"]

_STRUCTURE_KEY = "tritorch.structure"
_FORMAT_KEY = "tritorch.format"
_FORMAT_VERSION = "1"
_PARAMETER_FLAG = "is_parameter"  # tritorch.nn.parameter marks parameters in Tensor._extra


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be read: truncated, corrupt, or not a safetensors file."""


# ============================================================================================= encoding

class _Encoder:
    """Turns an object into (JSON-able structure, {tensor name: contiguous host array})."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._names_by_id: dict[int, str] = {}
        self._crcs: dict[str, int] = {}
        self._keep: list = []  # the saved tensors, so that id()s stay unique while encoding
        self._pairs: set = set()  # tensors saved as the float pairs of their complex values
        self._objects: dict[int, int] = {}  # id(object) -> its number, for objects saved by their state

    def encode(self, obj, path: str):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, float)) and type(obj) in (int, float):
            return obj
        if isinstance(obj, Tensor):
            if obj.__class__ is not Tensor and getattr(obj, "is_sparse", False):
                # a sparse COO tensor: its indices and values as two tensors, and its size
                d = obj._data
                return {"sparse_coo": {"indices": self.encode(d.indices, _join(path, "indices")),
                                       "values": self.encode(d.values, _join(path, "values")),
                                       "size": [int(s) for s in d.shape], "coalesced": bool(d.coalesced)}}
            return self._tensor(obj, path) if obj.device.type != "meta" else self._meta_tensor(obj)
        if isinstance(obj, (np.integer, np.floating, np.bool_)):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return self._ndarray(obj, path)
        if isinstance(obj, collections.OrderedDict):
            return {"ordered_dict": self._items(obj, path)}
        if isinstance(obj, dict):
            return {"dict": self._items(obj, path)}
        if isinstance(obj, Size):
            return {"size": [int(s) for s in obj]}
        if isinstance(obj, list):
            return {"list": [self.encode(v, _join(path, i)) for i, v in enumerate(obj)]}
        if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
            return {"tuple": [self.encode(v, _join(path, i)) for i, v in enumerate(obj)]}
        if isinstance(obj, _dt.dtype):
            return {"dtype": obj.name}
        if isinstance(obj, _Device):
            return {"device": str(obj)}
        if isinstance(obj, (bytes, bytearray)):
            return {"bytes": base64.b64encode(bytes(obj)).decode("ascii")}
        if isinstance(obj, (set, frozenset)):
            node = [self.encode(v, _join(path, i)) for i, v in enumerate(obj)]
            if not all(_hashable_node(v) for v in node):
                raise TypeError(f"tritorch.save: unsupported set element at {path or 'the top'}")
            return {"frozenset" if isinstance(obj, frozenset) else "set": node}
        return self._object(obj, path)

    def _object(self, obj, path: str):
        """A class or function by its import path; any other object with a __dict__ (a whole nn.Module, say) as
        its class's path and its state, once however often it is referenced (later references point to it)."""
        if isinstance(obj, type) or callable(obj) and hasattr(obj, "__qualname__"):
            ref = _global_name(obj)
            if ref is not None:
                return {"global": ref}
        cls = type(obj)
        ref = _global_name(cls)
        getstate = getattr(obj, "__getstate__", None)
        # (a class with its own __reduce__ (functools.partial, deque, ...) is not rebuilt by __new__ and its
        # state: refused here rather than saved into a checkpoint that cannot load)
        custom_reduce = cls.__reduce_ex__ is not object.__reduce_ex__ or cls.__reduce__ is not object.__reduce__
        if ref is None or not hasattr(obj, "__dict__") or getstate is None or custom_reduce:
            raise TypeError(f"tritorch.save: cannot save an object of type {type(obj).__name__} (at "
                            f"{path or 'the top'}): checkpoints hold tensors, NumPy arrays, dicts, lists, tuples, "
                            "sets, str, int, float, bool, None, dtypes, devices, bytes, and objects of importable "
                            "classes by their state (they are never pickled)")
        seen = self._objects.get(id(obj))
        if seen is not None:
            return {"object_ref": seen}
        self._objects[id(obj)] = key = len(self._objects)
        self._keep.append(obj)
        state = getstate()
        return {"object": [ref, key, self.encode(state, path)]}

    def _items(self, d: dict, path: str) -> list:
        items = []
        for k, v in d.items():
            key = self.encode(k, path)
            if not _hashable_node(key):
                raise TypeError(f"tritorch.save: unsupported dict key of type {type(k).__name__} at "
                                f"{path or 'the top'}")
            items.append([key, self.encode(v, _join(path, k))])
        return items

    def _tensor(self, t: Tensor, path: str) -> dict:
        name = self._names_by_id.get(id(t))
        if name is None:
            name = self._unique_name(path or "tensor")
            arr = t._host()  # a cuda tensor is copied to host memory here
            if not arr.flags.c_contiguous:
                arr = np.ascontiguousarray(arr)
            if arr.dtype == np.complex128:   # safetensors has complex64 but not complex128: its float64 pairs
                arr = arr.reshape(arr.shape).view(np.float64).reshape(arr.shape + (2,))
                self._pairs.add(name)
            self.arrays[name] = arr
            self._crcs[name] = _crc32(arr)
            self._names_by_id[id(t)] = name
            self._keep.append(t)
        node = {"tensor": name, "device": str(t.device), "crc32": self._crcs[name]}
        if name in self._pairs:
            node["complex_pairs"] = True
        if t.requires_grad:
            node["requires_grad"] = True
        if t._extra and t._extra.get(_PARAMETER_FLAG, False):
            node["parameter"] = True
        return node

    def _meta_tensor(self, t: Tensor) -> dict:
        node = {"meta_tensor": {"shape": list(t.shape), "dtype": t.dtype.name}}
        if t.requires_grad:
            node["meta_tensor"]["requires_grad"] = True
        return node

    def _ndarray(self, arr: np.ndarray, path: str) -> dict:
        if arr.dtype.str[1:] not in _ARRAY_CODES and arr.dtype != ml_dtypes.bfloat16:
            raise TypeError(f"tritorch.save: cannot save a NumPy array of dtype {arr.dtype} (at {path or 'the top'}): "
                            "arrays of bool, integer and float dtypes can be saved")
        name = self._unique_name(path or "array")
        arr = np.ascontiguousarray(arr).reshape(arr.shape)   # (native byte order, C order, 0-d kept)
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        self.arrays[name] = arr
        crc = _crc32(arr)
        return {"ndarray": name, "crc32": crc}

    def _unique_name(self, name: str) -> str:
        # (safetensors reserves "__metadata__" for the header's metadata)
        if name not in self.arrays and name != "__metadata__":
            return name
        i = 1
        while f"{name}#{i}" in self.arrays:
            i += 1
        return f"{name}#{i}"


def _global_name(obj) -> str | None:
    """'module:qualname' of a class or function that importing the module and walking the name finds again."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        return None
    try:
        if _resolve(module, qualname) is not obj:
            return None
    except (ImportError, AttributeError):
        return None
    return f"{module}:{qualname}"


def _resolve(module: str, qualname: str):
    target = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


# ====================================================== classes and functions a checkpoint may name

_SAFE_GLOBALS: dict[str, object] = {}


def add_safe_globals(safe_globals: list) -> None:
    """Allow loading checkpoints that name these classes or functions (torch.serialization.add_safe_globals): a
    whole saved nn.Module names its class (and its submodules', and functions such as an activation). Entries are
    the objects, or (object, 'module.qualname') pairs."""
    for entry in safe_globals:
        obj = entry[0] if isinstance(entry, tuple) else entry
        ref = _global_name(obj)
        if ref is None:
            raise TypeError(f"add_safe_globals: {obj!r} is not an importable class or function")
        _SAFE_GLOBALS[ref] = obj


def trust_hint(qualname: str) -> str:
    """How to allow a class or function a checkpoint names (the sentence both load paths end their refusal with)."""
    short = qualname.rpartition(".")[2]
    return (f"If you trust this class/function, allow it with torch.serialization.add_safe_globals([{short}]) or "
            f"the torch.serialization.safe_globals([{short}]) context manager, or load with weights_only=False (only "
            f"for a checkpoint from a trusted source)")


def get_safe_globals() -> list:
    return list(_SAFE_GLOBALS.values())


def clear_safe_globals() -> None:
    _SAFE_GLOBALS.clear()


class safe_globals:  # noqa: N801 - torch.serialization.safe_globals is a lower-case context manager
    """with safe_globals([...]): the classes and functions allowed only inside the block."""

    def __init__(self, safe_globals: list) -> None:
        self._globals = list(safe_globals)

    def __enter__(self):
        self._saved = dict(_SAFE_GLOBALS)
        add_safe_globals(self._globals)

    def __exit__(self, *exc):
        _SAFE_GLOBALS.clear()
        _SAFE_GLOBALS.update(self._saved)
        return False


# NumPy dtypes (kind and size, as dtype.str spells them) an array may have to be saved: safetensors' own
_ARRAY_CODES = {"b1", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8"}


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def _hashable_node(node) -> bool:
    """Keys (and set elements) may be scalars, bytes, dtypes, devices, sizes, or tuples or frozensets of them (they
    must come back hashable); not tensors, arrays, lists, dicts or sets."""
    if not isinstance(node, dict):
        return True
    if len(node) != 1:   # a tensor's or an array's node
        return False
    kind, value = next(iter(node.items()))
    if kind in ("tuple", "frozenset"):
        return all(_hashable_node(v) for v in value)
    return kind in ("dtype", "device", "bytes", "size")


def _crc32(arr: np.ndarray) -> int:
    return zlib.crc32(arr.reshape(-1).view(np.uint8)) if arr.size else 0


def _specs(arrays: dict) -> dict:
    """What safetensors' serializer takes: dtype names as NumPy spells them ("bfloat16", "float32", "bool")."""
    if TensorSpec is None:
        return {name: {"dtype": arr.dtype.name, "shape": list(arr.shape), "data": arr.tobytes()}
                for name, arr in arrays.items()}
    return {name: TensorSpec(dtype=arr.dtype.name, shape=list(arr.shape), data_ptr=arr.ctypes.data,
                             data_len=arr.nbytes) for name, arr in arrays.items()}


def _encode(obj) -> tuple[dict, dict]:
    enc = _Encoder()
    structure = enc.encode(obj, "")
    metadata = {_FORMAT_KEY: _FORMAT_VERSION, _STRUCTURE_KEY: json.dumps(structure, separators=(",", ":"))}
    return enc.arrays, metadata


# ================================================================================================= save

def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False) -> None:
    """Save `obj` (a state dict, or any nesting of dicts/lists/tuples of tensors and plain values) to `f` (a path
    or a writable binary file object) as safetensors. Writing to a path is atomic (see the module docstring)."""
    if pickle_module is not None:
        raise TypeError("tritorch.save never pickles: pickle_module is not supported")
    arrays, metadata = _encode(obj)
    specs = _specs(arrays)  # `arrays` keeps every pointer in `specs` alive until the write is done
    if hasattr(f, "write") and not isinstance(f, (str, os.PathLike)):
        f.write(safetensors.serialize(specs, metadata=metadata))
        return
    _atomic_write(os.fspath(f), lambda tmp: serialize_file(specs, tmp, metadata=metadata))
    del arrays


def _atomic_write(path: str, write) -> None:
    """write(tmp_path) into a temporary file beside `path`, fsync it, os.replace it onto `path`, fsync the folder."""
    if os.path.islink(path):
        path = os.path.realpath(path)  # write through a symlink, as open() would, keeping the link
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Parent directory {folder} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _new_file_mode(path))  # (after the write: the writer may recreate the file as 0o600)
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(folder)


def _fsync_file(path: str) -> None:
    """Flush a written file's data and size to disk (any descriptor of the file flushes every write to it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: str) -> None:
    """Make the rename durable. Not every platform can open a folder (Windows); there is nothing to do there."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _new_file_mode(path: str) -> int:
    """The target's current permissions, or those open() would give a new file (0o666 less the umask)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # (not thread-safe; only where /proc is missing)
    os.umask(mask)
    return mask


# ================================================================================================= load

def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args):
    """Load an object saved by tritorch.save (or any safetensors file: a dict of its tensors), or a checkpoint
    PyTorch's torch.save wrote (read under its weights_only rules: _torch_checkpoint.py), from a path or a readable
    binary file object. `map_location` moves tensors (see the module docstring). A saved object (a whole
    nn.Module) names its class: under `weights_only` (the default, as in PyTorch) only classes and functions
    allowed by add_safe_globals / safe_globals are rebuilt; weights_only=False allows any (importing its module).
    Nothing in a tritorch file is ever executed; a PyTorch checkpoint is a pickle, which with weights_only=False
    may run what it names, as in PyTorch (only for a trusted file). `mmap` is accepted and changes nothing."""
    if pickle_module is not None:
        raise TypeError("tritorch.load never unpickles: pickle_module is not supported")
    weights_only = _forced_weights_only(weights_only)
    from ._torch_checkpoint import is_torch_checkpoint, legacy_message, load_torch_checkpoint
    if hasattr(f, "read") and not isinstance(f, (str, os.PathLike)):
        name = str(getattr(f, "name", None) or "<file object>")
        data = f.read()
        head = data[:16]
    else:
        name = os.fspath(f)
        data = None
        head = b""
        if os.path.isfile(name):
            with open(name, "rb") as fh:
                head = fh.read(16)
    if is_torch_checkpoint(head):
        return load_torch_checkpoint(io.BytesIO(data) if data is not None else name, name, _placer(map_location),
                                     weights_only is not False)
    legacy = legacy_message(head, name)
    if legacy is not None:
        raise CheckpointError(legacy)
    metadata, arrays = _read_buffer(data, name) if data is not None else _read_file(name)
    return _Decoder(name, arrays, map_location, weights_only is not False).decode_file(metadata)


_TRUE_VALUES = ("1", "y", "yes", "true")


def _forced_weights_only(weights_only):
    """`weights_only` as PyTorch's environment variables force it: TORCH_FORCE_WEIGHTS_ONLY_LOAD makes every load
    weights-only; TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD makes a load that did not pass weights_only a full one (with
    PyTorch's warning); both set is PyTorch's error."""
    force = os.getenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "0").lower() in _TRUE_VALUES
    force_no = os.getenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "0").lower() in _TRUE_VALUES
    if force and force_no:
        raise RuntimeError("Only one of `TORCH_FORCE_WEIGHTS_ONLY_LOAD` or `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD` "
                           "should be set, but both were set.")
    if force:
        return True
    if force_no and weights_only is None:
        import warnings
        warnings.warn("Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected, since the"
                      "`weights_only` argument was not explicitly passed to `torch.load`, forcing weights_only=False.",
                      UserWarning, stacklevel=3)
        return False
    return weights_only


def _placer(map_location):
    return lambda t, location: _place(t, location, map_location)


def _corrupt(name: str, why) -> CheckpointError:
    return CheckpointError(f"tritorch.load: {name!s} is not a readable checkpoint (truncated or corrupt safetensors "
                           f"file): {why}")


def _read_file(path: str) -> tuple[dict, dict]:
    if not os.path.exists(path):
        raise FileNotFoundError(2, "No such file or directory", path)
    if os.path.isdir(path):
        raise IsADirectoryError(21, "Is a directory", path)
    try:
        with _open_safetensors(path) as sf:
            metadata = sf.metadata() or {}
            arrays = {k: sf.get_tensor(k) for k in sf.keys()}
    except (SafetensorError, ValueError, TypeError, OSError) as e:
        raise _corrupt(path, e) from None
    return metadata, arrays


def _open_safetensors(path: str):
    """safe_open reading with pread, so that the arrays are copies that later writes to (or truncation of) the
    file cannot touch; older safetensors have only mmap, whose arrays we copy."""
    try:
        return safe_open(path, framework="np", backend="pread")
    except TypeError:  # pragma: no cover - safetensors without the backend argument
        return _CopyingReader(safe_open(path, framework="np"))


class _CopyingReader:  # pragma: no cover - only with safetensors releases older than the pread backend
    def __init__(self, handle) -> None:
        self._h = handle

    def __enter__(self):
        self._h.__enter__()
        return self

    def __exit__(self, *exc):
        return self._h.__exit__(*exc)

    def metadata(self):
        return self._h.metadata()

    def keys(self):
        return self._h.keys()

    def get_tensor(self, name):
        return np.array(self._h.get_tensor(name), copy=True)


def _read_buffer(data: bytes, name: str) -> tuple[dict, dict]:
    try:
        entries = safetensors.deserialize(data)
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(bytes(data[8:8 + header_len]))
        metadata = header.get("__metadata__") or {}
        arrays = {k: np.frombuffer(v["data"], dtype=_np_dtype(v["dtype"])).reshape(v["shape"]).copy()
                  for k, v in entries}
    except (SafetensorError, ValueError, TypeError, KeyError, AttributeError) as e:
        raise _corrupt(name, e) from None
    return metadata, arrays


_NP_DTYPES = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "I32": np.int32, "I64": np.int64,
              "F16": np.float16, "BF16": ml_dtypes.bfloat16, "F32": np.float32, "F64": np.float64,
              "U16": np.uint16, "U32": np.uint32, "U64": np.uint64}   # (the unsigned ones: NumPy arrays only)


def _np_dtype(code: str):
    try:
        return _NP_DTYPES[code]
    except KeyError:
        raise ValueError(f"tensor dtype {code} has no tritorch dtype") from None


class _Decoder:
    """Rebuilds the saved object from its JSON structure and the file's arrays."""

    def __init__(self, name: str, arrays: dict, map_location, weights_only: bool = True) -> None:
        self.name = name
        self.arrays = arrays
        self.map_location = map_location
        self.weights_only = weights_only
        self._tensors: dict[str, Tensor] = {}  # one object per saved tensor, however often it is referenced
        self._objects: dict[int, object] = {}  # objects saved by their state, by number

    def decode_file(self, metadata: dict):
        raw = metadata.get(_STRUCTURE_KEY)
        if raw is None:  # a safetensors file from elsewhere: its tensors by name, on cpu unless mapped
            return collections.OrderedDict((k, self._tensor({"tensor": k, "device": "cpu"})) for k in self.arrays)
        try:
            structure = json.loads(raw)
        except ValueError as e:
            raise _corrupt(self.name, f"bad structure metadata ({e})") from None
        return self.decode(structure)

    def decode(self, node):
        if not isinstance(node, dict):
            if isinstance(node, list):
                raise _corrupt(self.name, "bad structure metadata (a bare list)")
            return node
        if "tensor" in node:
            return self._tensor(node)
        if "ndarray" in node:
            return self._ndarray(node)
        if "meta_tensor" in node:
            from .ops.creation import empty
            spec = node["meta_tensor"]
            return empty(tuple(spec["shape"]), dtype=_dt.as_dtype(spec["dtype"]), device="meta",
                         requires_grad=bool(spec.get("requires_grad", False)))
        if len(node) != 1:
            raise _corrupt(self.name, f"bad structure metadata (node {sorted(node)})")
        kind, value = next(iter(node.items()))
        try:
            if kind == "dict":
                return {self._key(k): self.decode(v) for k, v in value}
            if kind == "ordered_dict":
                return collections.OrderedDict((self._key(k), self.decode(v)) for k, v in value)
            if kind == "list":
                return [self.decode(v) for v in value]
            if kind == "tuple":
                return tuple(self.decode(v) for v in value)
            if kind == "size":
                return Size(int(v) for v in value)
            if kind == "dtype":
                return _dt.as_dtype(value)
            if kind == "sparse_coo":
                from .sparse import _wrap
                values = self.decode(value["values"])
                return _wrap(self.decode(value["indices"]), values, tuple(value["size"]), bool(value["coalesced"]))
            if kind == "device":
                return as_device(value)
            if kind == "bytes":
                return base64.b64decode(value)
            if kind == "set" or kind == "frozenset":
                items = (self._key(v) for v in value)
                return set(items) if kind == "set" else frozenset(items)
            if kind == "global":
                return self._global(value)
            if kind == "object":
                ref, key, state = value
                cls = self._global(ref)
                obj = cls.__new__(cls)
                self._objects[int(key)] = obj
                state = self.decode(state)
                setstate = getattr(obj, "__setstate__", None)
                if setstate is not None:
                    setstate(state)
                else:
                    obj.__dict__.update(state)
                return obj
            if kind == "object_ref":
                return self._objects[int(value)]
        except (TypeError, ValueError, KeyError) as e:
            raise _corrupt(self.name, f"bad structure metadata ({kind}: {e})") from None
        raise _corrupt(self.name, f"bad structure metadata (unknown node kind {kind!r})")

    def _global(self, ref: str):
        """The class or function `ref` names: with weights_only only one allowed by add_safe_globals / safe_globals
        (as PyTorch's weights_only load), otherwise any (importing its module, as unpickling would)."""
        module, _, qualname = str(ref).partition(":")
        if self.weights_only:
            obj = _SAFE_GLOBALS.get(ref)
            if obj is None:
                raise pickle.UnpicklingError(
                    f"Weights only load failed: {self.name} holds an object of class or function {module}.{qualname}, "
                    f"which is not an allowed global. {trust_hint(qualname)}.")
            return obj
        try:
            return _resolve(module, qualname)
        except (ImportError, AttributeError) as e:
            raise _corrupt(self.name, f"cannot find {module}.{qualname} ({e})") from None

    def _key(self, node):
        key = self.decode(node)
        try:
            hash(key)
        except TypeError:
            raise _corrupt(self.name, "bad structure metadata (unhashable dict key)") from None
        return key

    def _checked_array(self, name: str, crc) -> np.ndarray:
        arr = self.arrays.get(name)
        if arr is None:
            raise _corrupt(self.name, f"tensor {name!r} is missing")
        if crc is not None and _crc32(arr) != crc:
            raise _corrupt(self.name, f"the data of tensor {name!r} does not match its checksum")
        return arr

    def _ndarray(self, node: dict) -> np.ndarray:
        return self._checked_array(node["ndarray"], node.get("crc32")).copy()

    def _tensor(self, node: dict) -> Tensor:
        name = node["tensor"]
        location = node.get("device", "cpu")
        cached = self._tensors.get(name)
        if cached is not None:
            return cached
        arr = self._checked_array(name, node.get("crc32"))
        if node.get("complex_pairs"):
            if arr.dtype != np.float64 or arr.shape[-1:] != (2,):
                raise _corrupt(self.name, f"bad complex tensor {name!r} (float64 pairs expected)")
            arr = np.ascontiguousarray(arr).view(np.complex128).reshape(arr.shape[:-1])
        t = _place(_make(arr, _dt.from_numpy_dtype(arr.dtype), CPU), location, self.map_location)
        if node.get("parameter"):
            from .nn.parameter import Parameter
            t = Parameter(t, requires_grad=bool(node.get("requires_grad", False)))
        elif node.get("requires_grad") and t.dtype.kind >= _dt.FLOAT:
            t.requires_grad_(True)
        self._tensors[name] = t
        return t


def _place(t: Tensor, location: str, ml) -> Tensor:
    """The tensor (on cpu, fresh from the file) moved to where map_location `ml` says `location` maps."""
    if callable(ml) and not isinstance(ml, (str, _Device)):
        r = ml(t, location)
        if r is not None:
            return r
        target = location
    elif isinstance(ml, dict):
        target = ml.get(location, location)
    elif ml is not None:
        target = ml
    else:
        target = location
    dev = as_device(target)
    if dev.type == "cuda" and not _cuda.is_available():
        raise RuntimeError("Attempting to deserialize object on a CUDA device but tritorch.cuda.is_available() "
                           "is False. If you are running on a CPU-only machine, please use tritorch.load with "
                           "map_location='cpu' to map your tensors to the CPU.")
    if dev.type == "cuda" and dev.index not in (None, _CUDA.index):
        if dev.index >= _cuda.device_count():
            raise RuntimeError(f"Attempting to deserialize object on CUDA device {dev.index} but "
                               f"tritorch.cuda.device_count() is {_cuda.device_count()}. Please use tritorch.load with "
                               "map_location to map your storages to an existing device.")
        raise RuntimeError(f"Attempting to deserialize object on CUDA device {dev.index}, but tritorch drives one cuda "
                           f"device per process (cuda:{_CUDA.index} in this one). Please use tritorch.load with "
                           f"map_location='cuda:{_CUDA.index}' (or a dict or function) to map the storages to it.")
    return t if dev is CPU else t.to(dev)


_ = io  # (file objects are duck-typed: anything with read()/write())
