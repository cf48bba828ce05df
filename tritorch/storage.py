"""torch.UntypedStorage and the deprecated torch.TypedStorage: the memory behind a tensor and all its views.

A cpu storage is the root NumPy buffer of the tensor's array (the end of its `.base` chain), seen as bytes; a cuda
storage is the device block of its CudaArray. So `t.untyped_storage().data_ptr()` is the same for a tensor and all
its views, and equals `t.data_ptr() - t.storage_offset() * t.element_size()`, as in PyTorch (safetensors and
checkpoint code find shared tensors this way); writes through a storage are seen by every tensor on it. Storages of
NumPy-owned or device-cache memory cannot be resized (PyTorch says the same of storages it does not own).
"""
from __future__ import annotations

import warnings

import numpy as np

from . import dtypes as _dt
from .backends.cuda import CudaArray, upload
from .backends.meta import NO_DATA, MetaArray
from .device import CPU, device as _device

__all__ = ["TypedStorage", "UntypedStorage"]


def _root(arr: np.ndarray) -> np.ndarray:
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def memory_owner(data):
    """The object that owns a tensor's memory: the root NumPy array of a cpu array, the block of a device one
    (tensors with the same owner share memory)."""
    return _root(data) if isinstance(data, np.ndarray) else data.block


def _byte_view(arr: np.ndarray) -> np.ndarray:
    """The root buffer of `arr` as a 1-D uint8 array over the same memory."""
    root = _root(arr)
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        raise RuntimeError("untyped_storage(): the tensor's memory is a strided view of a foreign buffer, not a "
                           "storage tritorch can address")
    return root.reshape(-1, order="A").view(np.uint8)


class UntypedStorage:
    """The bytes behind tensors (torch.UntypedStorage): `UntypedStorage(nbytes, device=...)` allocates zeroed bytes;
    Tensor.untyped_storage() gives the one a tensor uses."""

    __slots__ = ("_bytes", "_block", "_device")

    def __init__(self, nbytes=0, *, device="cpu"):
        if isinstance(nbytes, (list, tuple)):       # UntypedStorage([1, 2, 3]): those byte values
            self._place(np.asarray(nbytes, np.uint8), _device(device))
        else:
            self._place(np.zeros(int(nbytes), np.uint8), _device(device))

    def _place(self, host: np.ndarray, device) -> None:
        """Hold the bytes `host` (uint8) on `device`: that array itself on cpu, a copy in a new block on cuda."""
        self._bytes, self._block, self._device = None, None, device
        if device.type == "cuda":
            self._block = CudaArray.from_numpy(host).block
        else:
            self._bytes = host

    @classmethod
    def _of_array(cls, data, device) -> "UntypedStorage":
        s = cls.__new__(cls)
        s._bytes, s._block, s._device = None, None, device
        if isinstance(data, np.ndarray):
            s._bytes = _byte_view(data)
        else:
            s._block = data.block
        return s

    @classmethod
    def from_file(cls, filename, shared: bool = False, nbytes: int = 0) -> "UntypedStorage":
        """A cpu storage of `nbytes` bytes over a memory map of the file (safetensors loads "pt" tensors this way).
        shared=True: writes go to the file, which is made or grown to `nbytes` if needed; shared=False: a private
        copy-on-write map, and the file must hold at least `nbytes` bytes."""
        import os
        filename = os.fspath(filename)
        nbytes = int(nbytes)
        if shared:
            with open(filename, "ab") as f:   # make it if needed, never truncate
                if f.seek(0, os.SEEK_END) < nbytes:
                    f.truncate(nbytes)
        else:
            size = os.path.getsize(filename)
            if size < nbytes:
                raise RuntimeError(f"file <{filename}> size <{size}> is smaller than the required mapping size "
                                   f"<{nbytes}>")
        if nbytes:
            import mmap
            with open(filename, "r+b" if shared else "rb") as f:   # (the map outlives the file object)
                mapped = mmap.mmap(f.fileno(), nbytes, access=mmap.ACCESS_WRITE if shared else mmap.ACCESS_COPY)
            host = np.frombuffer(mapped, np.uint8)   # a plain ndarray over the map, as every cpu storage is
        else:
            host = np.zeros(0, np.uint8)
        s = cls.__new__(cls)
        s._bytes, s._block, s._device = host, None, CPU
        return s

    # ---------------------------------------------------------------------------------------- properties
    @property
    def device(self):
        return self._device

    @property
    def dtype(self):
        return _dt.uint8

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def is_sparse(self) -> bool:
        return False

    def nbytes(self) -> int:
        return self._bytes.size if self._block is None else self._block.nbytes

    def size(self) -> int:
        return self.nbytes()

    def __len__(self) -> int:
        return self.nbytes()

    def element_size(self) -> int:
        return 1

    def data_ptr(self) -> int:
        if self._block is None:
            return self._bytes.ctypes.data
        return 0 if self._device.type == "meta" else self._block.ptr

    def is_shared(self) -> bool:
        return False

    def is_pinned(self, device="cuda") -> bool:
        return False

    def untyped(self) -> "UntypedStorage":
        return self

    # -------------------------------------------------------------------------------------------- values
    def _elements(self, np_dtype) -> np.ndarray | CudaArray:
        """The storage as a 1-D array of `np_dtype` over the same memory (trailing bytes that do not fill an
        element are left out)."""
        np_dtype = np.dtype(np_dtype)
        n = self.nbytes() // np_dtype.itemsize
        if self._block is None:
            return self._bytes[:n * np_dtype.itemsize].view(np_dtype)
        if self._device.type == "meta":
            return MetaArray(self._block, (n,), (1,), 0, np_dtype)
        return CudaArray(self._block, (n,), (1,), 0, np_dtype)

    def _host_bytes(self) -> np.ndarray:
        if self._device.type == "meta":
            raise NotImplementedError(NO_DATA)
        return self._bytes if self._block is None else self._elements(np.uint8).to_numpy()

    def tolist(self) -> list:
        return self._host_bytes().tolist()

    def __iter__(self):
        return iter(self.tolist())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            if self._block is not None:
                raise RuntimeError("slicing a cuda storage is not supported: take a tensor view instead")
            s = UntypedStorage.__new__(UntypedStorage)
            s._bytes, s._block, s._device = self._bytes[idx], None, self._device
            if s._bytes.strides[0] != 1:
                raise RuntimeError("a storage slice must have step 1")
            return s
        return int(self._host_bytes()[_index(idx, self.nbytes())])

    def __setitem__(self, idx, value) -> None:
        if self._block is None:
            self._bytes[idx] = value
            return
        host = self._host_bytes()
        host[idx] = value
        self._copy_from_host(host)

    def _copy_from_host(self, host: np.ndarray) -> None:
        upload(self._block, np.ascontiguousarray(host))

    def fill_(self, value) -> "UntypedStorage":
        self[:] = value
        return self

    def copy_(self, source, non_blocking=None) -> "UntypedStorage":
        source = source.untyped() if isinstance(source, TypedStorage) else source
        if not isinstance(source, UntypedStorage):
            raise TypeError(f"copy_(): expected a storage, got {type(source).__name__}")
        if source.nbytes() != self.nbytes():
            raise RuntimeError(f"size mismatch in storage copy_: {self.nbytes()} bytes from {source.nbytes()}")
        if self._block is None:
            self._bytes[:] = source._host_bytes()
        else:
            self._copy_from_host(source._host_bytes())
        return self

    def clone(self) -> "UntypedStorage":
        return UntypedStorage._from_bytes(self._host_bytes().copy(), self._device)

    @classmethod
    def _from_bytes(cls, host: np.ndarray, device) -> "UntypedStorage":
        s = cls.__new__(cls)
        s._place(host, device)
        return s

    def cpu(self) -> "UntypedStorage":
        return self if self._block is None else UntypedStorage._from_bytes(self._host_bytes(), CPU)

    def cuda(self, device=None, non_blocking=False) -> "UntypedStorage":
        return self.to(device="cuda" if device is None else device)

    def to(self, *, device="cpu", non_blocking=False) -> "UntypedStorage":
        dev = _device(device)
        if dev == self._device:
            return self
        return UntypedStorage._from_bytes(self._host_bytes().copy(), dev)

    def resize_(self, size: int):
        raise RuntimeError("Trying to resize storage that is not resizable")

    def __repr__(self) -> str:
        body = "\n".join(f" {v}" for v in self.tolist())
        head = body + "\n" if body else ""
        return f"{head}[tritorch.storage.UntypedStorage(device={self._device}) of size {self.nbytes()}]"


def _index(i, n: int) -> int:
    i = int(i)
    if not -n <= i < n:
        raise IndexError(f"index {i} out of range for storage of size {n}")
    return i % n


_TYPED_WARNED = [False]


def _warn_typed() -> None:
    if not _TYPED_WARNED[0]:
        _TYPED_WARNED[0] = True
        warnings.warn("TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be the "
                      "only storage class. This should only matter to you if you are using storages directly.  To "
                      "access UntypedStorage directly, use tensor.untyped_storage() instead of tensor.storage()",
                      UserWarning, stacklevel=3)


class TypedStorage:
    """torch.TypedStorage (deprecated in PyTorch, which warns once): an UntypedStorage read as elements of `dtype`;
    Tensor.storage() gives one."""

    __slots__ = ("_untyped_storage", "dtype")

    def __init__(self, *args, dtype=None, device=None, wrap_storage=None, _internal=False):
        if not _internal:
            _warn_typed()
        self.dtype = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
        if wrap_storage is not None:
            self._untyped_storage = wrap_storage
            return
        n = args[0] if args else 0
        if isinstance(n, (list, tuple)):
            host = np.asarray(n, self.dtype.np).view(np.uint8)
            self._untyped_storage = UntypedStorage._from_bytes(host.copy(), _device(device or "cpu"))
        else:
            self._untyped_storage = UntypedStorage(int(n) * self.dtype.itemsize, device=device or "cpu")

    @property
    def device(self):
        return self._untyped_storage.device

    @property
    def is_cuda(self) -> bool:
        return self._untyped_storage.is_cuda

    def untyped(self) -> UntypedStorage:
        return self._untyped_storage

    def element_size(self) -> int:
        return self.dtype.itemsize

    def size(self) -> int:
        return self._untyped_storage.nbytes() // self.dtype.itemsize

    def __len__(self) -> int:
        return self.size()

    def nbytes(self) -> int:
        return self._untyped_storage.nbytes()

    def data_ptr(self) -> int:
        return self._untyped_storage.data_ptr()

    def _values(self) -> np.ndarray:
        e = self._untyped_storage._elements(self.dtype.np)
        return e if isinstance(e, np.ndarray) else e.to_numpy()

    def tolist(self) -> list:
        v = self._values()
        return v.astype(np.float32).tolist() if self.dtype is _dt.bfloat16 else v.tolist()

    def __iter__(self):
        return iter(self.tolist())

    def __getitem__(self, idx):
        v = self._values()[_index(idx, self.size())]
        return float(v) if self.dtype is _dt.bfloat16 else v.item()

    def __setitem__(self, idx, value) -> None:
        if self._untyped_storage._block is None:
            self._values()[idx] = value
            return
        host = self._values()
        host[idx] = value
        self._untyped_storage._copy_from_host(host.view(np.uint8))

    def fill_(self, value) -> "TypedStorage":
        self[:] = value
        return self

    def copy_(self, source, non_blocking=None) -> "TypedStorage":
        self._untyped_storage.copy_(source)
        return self

    def clone(self) -> "TypedStorage":
        return TypedStorage(wrap_storage=self._untyped_storage.clone(), dtype=self.dtype, _internal=True)

    def cpu(self) -> "TypedStorage":
        return TypedStorage(wrap_storage=self._untyped_storage.cpu(), dtype=self.dtype, _internal=True)

    def is_shared(self) -> bool:
        return False

    def is_pinned(self, device="cuda") -> bool:
        return False

    def resize_(self, size: int):
        raise RuntimeError("Trying to resize storage that is not resizable")

    def __repr__(self) -> str:
        body = "\n".join(f" {v}" for v in self.tolist())
        head = body + "\n" if body else ""
        return (f"{head}[tritorch.storage.TypedStorage(dtype=tritorch.{self.dtype.name}, device={self.device}) "
                f"of size {self.size()}]")


def untyped_storage(self) -> UntypedStorage:
    """Tensor.untyped_storage(): the bytes this tensor and every view of it live in."""
    return UntypedStorage._of_array(self._data, self.device)


def storage(self) -> TypedStorage:
    """Tensor.storage() (deprecated, as in PyTorch): the storage read as this tensor's dtype."""
    _warn_typed()
    return TypedStorage(wrap_storage=untyped_storage(self), dtype=self.dtype, _internal=True)


def tensor_over(storage, dtype, device):
    """A 1-D tensor of `dtype` over all of `storage` (set_'s source when given a storage)."""
    from .tensor import _make
    untyped = storage.untyped()
    if untyped.device != device:
        raise RuntimeError(f'Attempted to set the storage of a tensor on device "{device}" to a storage on different '
                           f'device "{untyped.device}".  This is no longer allowed; the devices must match.')
    return _make(untyped._elements(dtype.np), dtype, device)


_NON_LEAF_DEEPCOPY = ("Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol at the "
                      "moment.  If you were attempting to deepcopy a module, this may be because of a "
                      "torch.nn.utils.weight_norm usage, see https://github.com/pytorch/pytorch/pull/103001")


def _deepcopy(self, memo: dict):
    """copy.deepcopy(tensor), as PyTorch's: a leaf's values, strides, requires_grad and flags (Parameter), and,
    except for a Parameter (whose copy PyTorch makes from its data alone), its .grad and attributes. Each storage
    is copied once per deepcopy call, so tensors that shared memory (views, tied weights) share the copy's memory
    the same way."""
    from .autograd.grad_mode import no_grad
    from .ops.creation import empty
    from .tensor import _make
    if self.grad_fn is not None:
        raise RuntimeError(_NON_LEAF_DEEPCOPY)
    done = memo.get(id(self))
    if done is not None:
        return done
    d = self._data
    with no_grad():
        if self.device.type == "meta":
            new = _make(d.view_as(d.shape, d.strides, d.offset), self.dtype, self.device)
        else:
            owner = memory_owner(d)
            key = ("storage", id(owner))
            copied = memo.get(key)
            if copied is None:
                copied = memo[key] = untyped_storage(self).clone()
                memo.setdefault(id(memo), []).append(owner)   # keep the id's owner alive while memo lives
            new = empty(0, dtype=self.dtype, device=self.device).set_(copied, self.storage_offset(),
                                                                     tuple(self.shape), self.stride())
    new._requires_grad = self._requires_grad
    if self._extra:
        new._extra = dict(self._extra)
    memo[id(self)] = new
    if new._extra and new._extra.get("is_parameter"):
        return new
    if self._grad is not None:
        new._grad = _deepcopy(self._grad, memo)
    if self.__dict__:
        import copy
        new.__dict__.update(copy.deepcopy(self.__dict__, memo))
    return new


def _bind() -> None:
    from .ops import _bind as bind
    bind.methods(untyped_storage=untyped_storage, storage=storage, __deepcopy__=_deepcopy)


_bind()
