"""Tensor methods and torch.* functions that are thin forms of what exists (no kernels of their own): predicates
(is_signed, is_same_size, ...), conjugation of real tensors, the legacy `new`, split_with_sizes and the unsafe_*
splits, resize_/resize_as_, share_memory_, the cpu-only apply_/map_/map2_, dim_order, nonzero_static; and the
torch.* functions clone, detach, rsub, fill, real, imag, get_device, frombuffer, empty_permuted.

conj/conj_physical/real/imag are ops/complex.py's. tritorch has no lazy conjugate or negative bits: conj of a complex
tensor is a new tensor, resolve_conj/resolve_neg are the tensor itself, and is_conj/is_neg are always False.
"""
from __future__ import annotations

import numpy as np

from .. import _shared_memory as _shm
from .. import dtypes as _dt
from ..device import CPU
from ..tensor import Tensor, _make
from . import _bind
from . import creation as _creation
from .complex import conj, conj_physical, imag, real  # noqa: F401  (torch.conj, ... are these)

__all__ = ["clone", "detach", "rsub", "fill", "conj", "conj_physical", "resolve_conj", "resolve_neg",
           "is_conj", "is_neg", "is_complex", "is_signed", "is_inference", "is_same_size", "real", "imag",
           "get_device", "split_with_sizes", "unsafe_chunk", "unsafe_split", "unsafe_split_with_sizes",
           "frombuffer", "from_file", "empty_permuted", "nonzero_static", "norm_except_dim", "to_dlpack", "is_storage"]

_UNSIGNED = (_dt.bool_, _dt.uint8)


# ------------------------------------------------------------------------------------------------ predicates

def is_signed(input: Tensor) -> bool:
    return input.dtype not in _UNSIGNED


def is_inference(input: Tensor) -> bool:
    """Whether the tensor was made inside inference_mode (tensor._make marks those)."""
    return bool(input._extra and input._extra.get("inference"))


def is_same_size(input: Tensor, other: Tensor) -> bool:
    return tuple(input.shape) == tuple(other.shape)


def is_conj(input: Tensor) -> bool:
    return False


def is_neg(input: Tensor) -> bool:
    return False


def is_complex(input: Tensor) -> bool:
    return input.dtype.kind == _dt.COMPLEX


def resolve_conj(input: Tensor) -> Tensor:
    return input


resolve_neg = resolve_conj


def get_device(input: Tensor) -> int:
    return input.get_device()


def is_storage(obj) -> bool:
    """False: tritorch has no storage objects (a tensor's memory is its NumPy array or CudaArray)."""
    return False


def to_dlpack(tensor: Tensor):
    """The legacy DLPack capsule of a tensor (tensor.__dlpack__())."""
    return tensor.__dlpack__()


def norm_except_dim(v: Tensor, pow=2, dim: int = 0) -> Tensor:
    """The p-norm over every dim but `dim` (kept as size-1 dims); dim=-1: the norm of all elements (weight_norm's)."""
    if dim == -1:
        return v.norm(pow)
    d = dim % v.dim()
    others = tuple(i for i in range(v.dim()) if i != d)
    return v.norm(pow, others, keepdim=True) if others else v.abs()


# --------------------------------------------------------------------------------------- copies and values

def clone(input: Tensor, *, memory_format=None) -> Tensor:
    return input.clone(memory_format=memory_format)


def detach(input: Tensor) -> Tensor:
    return input.detach()


def rsub(input: Tensor, other, alpha=1) -> Tensor:
    """other - alpha * input (torch.sub with the operands swapped)."""
    from .binary import sub
    return sub(other, input, alpha=alpha)


def fill(input: Tensor, value) -> Tensor:
    """A new tensor of input's shape, dtype and device filled with value (a number or a 0-dim tensor, which
    gets the gradient's sum)."""
    return input.clone().fill_(value)


# --------------------------------------------------------------------------------------------------- splits

def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    sizes = [int(s) for s in split_sizes]
    n = input.shape[dim]
    if sum(sizes) != n or any(s < 0 for s in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                           f"dimension {dim}), but got split_sizes={sizes}")
    return input.split(sizes, dim)


def unsafe_split(input: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """split (PyTorch's unsafe_ forms skip the view checks of in-place writes; tritorch's pieces are the same)."""
    return input.split(split_size_or_sections, dim)


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    return input.chunk(chunks, dim)


unsafe_split_with_sizes = split_with_sizes


# ------------------------------------------------------------------------------------------------- creation

def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0, requires_grad: bool = False) -> Tensor:
    """A 1-d cpu tensor over the memory of an object with the buffer protocol (shared, not copied)."""
    length = memoryview(buffer).nbytes
    size = _dt.as_dtype(dtype).itemsize
    if length <= 0 or count == 0:
        raise ValueError(f"both buffer length ({length}) and count ({count}) must not be 0")
    if offset < 0 or offset >= length:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
                         f"({length} bytes) minus 1")
    if count < 0 and (length - offset) % size:
        raise ValueError(f"buffer length ({length - offset} bytes) after offset ({offset} bytes) must be a multiple "
                         f"of element size ({size})")
    if count > 0 and length - offset < count * size:
        raise ValueError(f"requested buffer length ({count} * {size} bytes) after offset ({offset} bytes) must not "
                         f"be greater than actual buffer length ({length} bytes)")
    arr = np.frombuffer(buffer, dtype=_dt.as_dtype(dtype).np, count=count, offset=offset)
    t = _make(arr, _dt.as_dtype(dtype), CPU)
    return t.requires_grad_() if requires_grad else t


def from_file(filename, shared=None, size=0, *, dtype=None, layout=None, device=None, pin_memory=False) -> Tensor:
    """A 1-d tensor of `size` elements over a memory-mapped file: shared=True writes changes to the file (creating
    or growing it as needed); otherwise the mapping is private (copy-on-write). On cuda: a copy of the data."""
    import os
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    size = int(size or 0)
    nbytes = size * d.itemsize
    if size == 0:
        arr = np.empty(0, d.np)
    elif shared:
        if not os.path.exists(filename) or os.path.getsize(filename) < nbytes:
            with open(filename, "ab") as f:
                f.truncate(nbytes)
        arr = np.memmap(filename, dtype=d.np, mode="r+", shape=(size,))
    else:
        have = os.path.getsize(filename)
        if have < nbytes:
            raise RuntimeError(f"file <{filename}> size <{have}> is smaller than the required mapping size <{nbytes}>")
        arr = np.memmap(filename, dtype=d.np, mode="c", shape=(size,))
    t = _make(arr, d, CPU)
    return t if device is None else t.to(device)


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                   pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of logical shape `size` whose memory holds its dims in `physical_layout` order
    (physical_layout[0] outermost)."""
    size, order = tuple(int(s) for s in size), tuple(int(p) for p in physical_layout)
    if len(size) != len(order):
        raise RuntimeError(f"Number of dimensions in size does not match the length of the physical_layout; i.e. "
                           f"len(size) = {len(size)} is not equal to len(physical_layout) = {len(order)}")
    if sorted(order) != list(range(len(size))):
        raise RuntimeError(f"Dimension out of range or repeated in physical_layout {list(order)}")
    from .creation import _creation_dtype, _dev, _empty_in_order
    t = _empty_in_order(size, order, _creation_dtype(dtype), _dev(device))
    return t.requires_grad_() if requires_grad else t


# ------------------------------------------------------------------------------------ in-place storage edits

def _check_resizable(t: Tensor) -> None:
    if t._requires_grad:
        raise RuntimeError("cannot resize variables that require grad")


def _resize_(self: Tensor, *sizes, memory_format=None, size=None) -> Tensor:
    """New shape in place: the first elements (in memory order) keep their values, new ones are uninitialised.
    A tensor that shares its storage (a view, or one with views) stops sharing when the element count changes."""
    from .creation import size_arg
    sizes = size_arg("resize_", sizes, size)
    _check_resizable(self)
    shape = tuple(sizes[0]) if len(sizes) == 1 and not isinstance(sizes[0], int) else tuple(sizes)
    if any(int(s) < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(shape)}")
    shape = tuple(int(s) for s in shape)
    n_new = int(np.prod(shape, dtype=np.int64))
    if self.device.type == "meta":
        data = _creation.empty_storage(shape, self.dtype.np, self.device)
    elif n_new == self.numel() and self.is_contiguous():
        data = self._data.reshape(shape) if self.device is CPU else self._data.view_as(
            shape, _contiguous_strides(shape), self._data.offset)
    else:
        flat = self.reshape(-1)._host()
        keep = min(n_new, flat.size)
        host = np.empty(n_new, dtype=self.dtype.np)
        host[:keep] = flat[:keep]
        if _creation.fills_uninitialized():
            host[keep:] = _creation.uninitialized_value(self.dtype)
        data = _creation.storage_of(host.reshape(shape), self.device)
    self._data = data
    return self


def _contiguous_strides(shape) -> tuple:
    from ..backends.cuda import contiguous_strides
    return contiguous_strides(shape)


def _resize_as_(self: Tensor, other: Tensor, memory_format=None) -> Tensor:
    return _resize_(self, tuple(other.shape))


def _share_memory_(self: Tensor) -> Tensor:
    """Move a cpu tensor's storage into shared memory (_shared_memory.py), which processes forked afterwards see
    and write, and which tensors sent to other processes through multiprocessing keep sharing; views taken before
    keep the old memory. cuda memory is already shareable."""
    if self.device is not CPU or _is_shared(self):
        return self
    src = self._data
    buf = _shm.new_buffer(src.nbytes)
    arr = np.frombuffer(buf, dtype=src.dtype, count=src.size).reshape(src.shape)
    arr[...] = src
    self._data = arr
    return self


def _is_shared(self: Tensor) -> bool:
    if self.device.type == "cuda":
        return True
    if self.device.type == "meta":
        return False
    return _shm.mapping_of(self._data) is not None


# ------------------------------------------------------------------------------------- cpu-only python maps

def _check_map(self: Tensor, fn: str) -> None:
    if self.device is not CPU:
        raise RuntimeError(f"{fn} is only implemented on CPU tensors")
    if self._requires_grad:
        raise RuntimeError(f"Can't call {fn}() on Variable that requires grad. Use var.detach().{fn}() instead.")


def _write_elements(self: Tensor, values: list) -> Tensor:
    view = self._data
    view[...] = np.asarray(values, dtype=object).reshape(view.shape).astype(view.dtype)
    self._version[0] += 1
    return self


def _apply_(self: Tensor, callable) -> Tensor:
    """Each element replaced by callable(element) (a Python function: slow, cpu only, as in PyTorch)."""
    _check_map(self, "apply_")
    return _write_elements(self, [callable(v) for v in self._data.reshape(-1).tolist()])


def _map_(self: Tensor, tensor: Tensor, callable) -> Tensor:
    """self[i] = callable(self[i], tensor[i]), tensor broadcast to self's shape."""
    _check_map(self, "map_")
    other = tensor.expand(tuple(self.shape))._data
    pairs = zip(self._data.reshape(-1).tolist(), np.ascontiguousarray(other).reshape(-1).tolist())
    return _write_elements(self, [callable(a, b) for a, b in pairs])


def _map2_(self: Tensor, x: Tensor, y: Tensor, callable) -> Tensor:
    _check_map(self, "map2_")
    xs = np.ascontiguousarray(x.expand(tuple(self.shape))._data).reshape(-1).tolist()
    ys = np.ascontiguousarray(y.expand(tuple(self.shape))._data).reshape(-1).tolist()
    return _write_elements(self, [callable(a, b, c) for a, b, c in zip(self._data.reshape(-1).tolist(), xs, ys)])


# ------------------------------------------------------------------------------------------- layout queries

def _dim_order(self: Tensor, *, ambiguity_check=False) -> tuple:
    """Dims from outermost to innermost in memory: by decreasing stride, ties kept in dim order."""
    if not isinstance(ambiguity_check, (bool, list)):
        raise TypeError("ambiguity_check should be a boolean or a list of memory formats")
    strides = self.stride()
    return tuple(sorted(range(self.dim()), key=lambda d: -strides[d]))


def _nonzero_static(self: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """The first `size` rows of nonzero(), padded with fill_value rows: a result whose shape does not depend on
    the values."""
    from .creation import full
    from .movement import cat
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, but got size: {size}")
    found = self.nonzero()[:size]
    if found.shape[0] == size:
        return found
    pad = full((size - found.shape[0], self.dim()), fill_value, dtype=_dt.int64, device=self.device)
    return cat([found, pad], 0)


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    return _nonzero_static(input, size=size, fill_value=fill_value)


def _to_dense(self: Tensor, dtype=None, *, masked_grad=None) -> Tensor:
    """A dense tensor is its own dense form (cast when a dtype is given)."""
    return self if dtype is None else self.to(dtype)


def _new_empty_strided(self: Tensor, size, stride, *, dtype=None, device=None, requires_grad=False, layout=None,
                       pin_memory=False) -> Tensor:
    from .creation import empty_strided
    return empty_strided(size, stride, dtype=self.dtype if dtype is None else dtype,
                         device=self.device if device is None else device, requires_grad=requires_grad)


def _is_set_to(self: Tensor, tensor: Tensor) -> bool:
    """Whether both are the same memory with the same geometry (PyTorch: same storage, offset, sizes, strides)."""
    return (self.device is tensor.device and self.dtype is tensor.dtype and self.data_ptr() == tensor.data_ptr()
            and tuple(self.shape) == tuple(tensor.shape) and tuple(self.stride()) == tuple(tensor.stride()))


def _imag(self: Tensor):
    return imag(self)


def _new(self: Tensor, *args, **kwargs) -> Tensor:
    """The legacy constructor with self's dtype and device: new(*sizes), new(size), new(data), new()."""
    return legacy_new(self.dtype, self.device, args, kwargs)


def legacy_new(dtype, device, args: tuple, kwargs: dict) -> Tensor:
    """PyTorch's legacy constructor (Tensor.new, tritorch.FloatTensor(...)) for one dtype and device type:
    (*sizes) or (Size): uninitialised; (data): a copy as that dtype; (tensor): it, when its dtype matches; ()."""
    from .creation import empty, tensor
    if kwargs.get("device") is not None and str(kwargs["device"]).split(":")[0] != device.type:
        raise RuntimeError(f"legacy constructor expects device type: {device.type} but device type: "
                           f"{str(kwargs['device']).split(':')[0]} was passed")
    if set(kwargs) - {"device"}:
        raise TypeError(f"new() received an invalid combination of arguments - got {sorted(kwargs)}")
    if not args:
        return empty(0, dtype=dtype, device=device)
    if all(isinstance(a, (int, np.integer)) for a in args):
        return empty(tuple(int(a) for a in args), dtype=dtype, device=device)
    if len(args) == 1 and isinstance(args[0], Tensor):
        if args[0].dtype is not dtype:
            raise TypeError(f"new(): expected a tensor of dtype {dtype}, got one of dtype {args[0].dtype}")
        return args[0].detach()
    if len(args) == 1 and args[0].__class__.__name__ == "Size":
        return empty(tuple(args[0]), dtype=dtype, device=device)
    return tensor(args[0], dtype=dtype, device=device)


def _as_subclass(self, cls):
    """self's data as an instance of the Tensor subclass `cls`, attached to self's autograd graph (a view of it).
    Ops take such instances as plain tensors and return plain tensors (registry.plain_tensors)."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError(f"as_subclass(): cls must be a subclass of Tensor, but got {cls!r}")
    v = self.view_as(self)
    v.__class__ = cls
    return v


_bind.methods(
    as_subclass=_as_subclass,
    is_signed=is_signed, is_inference=is_inference, is_same_size=is_same_size, is_neg=is_neg, is_conj=is_conj,
    conj_physical=conj_physical, new=_new, split_with_sizes=split_with_sizes, unsafe_chunk=unsafe_chunk,
    unsafe_split=unsafe_split, unsafe_split_with_sizes=unsafe_split_with_sizes, resize_=_resize_,
    resize_as_=_resize_as_, share_memory_=_share_memory_, is_shared=_is_shared, apply_=_apply_, map_=_map_,
    map2_=_map2_, dim_order=_dim_order, nonzero_static=_nonzero_static,
    const_data_ptr=lambda self: self.data_ptr(), to_dense=_to_dense, new_empty_strided=_new_empty_strided,
    is_set_to=_is_set_to,
)
# Layouts and backends tritorch does not have: PyTorch's predicates for them are False on every tritorch tensor.
_bind.properties(imag=_imag, **{name: (lambda self: False) for name in (
    "is_sparse", "is_sparse_csr", "is_quantized", "is_mkldnn", "is_nested", "is_xpu", "is_mps", "is_xla",
    "is_ipu", "is_vulkan", "is_maia", "is_mtia")})
