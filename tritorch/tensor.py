"""Tensor: the data holder every layer sees.

A Tensor is storage (a NumPy array on cpu, a `CudaArray` on cuda, a data-less `MetaArray` on meta), a tritorch
dtype, a device, and autograd metadata. It holds no op logic: `tritorch.ops` binds the methods and operators onto
it when `tritorch` is imported, so that tensor.py never imports the ops (no import cycle tensor <-> ops <->
autograd).
"""
from __future__ import annotations

import numpy as np

from . import _memory_format as _mf
from . import dtypes as _dt
from ._state import FLAGS as _FLAGS
from ._state import GRAD as _GRAD
from .backends import cuda as _cuda
from .device import CPU, device


_GRAD_DTYPE = "grad_dtype"   # Tensor._extra key of a leaf's set grad_dtype (absent: its dtype)

class Size(tuple):
    """torch.Size: a tuple of dimension sizes."""

    __slots__ = ()

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"{_dt.PUBLIC_NAME[0]}.Size([{', '.join(str(s) for s in self)}])"

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r


# Called with each Tensor subclass when it is defined (tritorch.multiprocessing registers how its instances travel).
SUBCLASS_HOOKS: list = []


class Tensor:
    """A multi-dimensional array on a device, with autograd metadata.

    Slots (read on every op, so kept as plain attributes):
      _data          np.ndarray (cpu), CudaArray (cuda) or MetaArray (meta)
      dtype          tritorch dtype
      device         tritorch device
      _requires_grad True when autograd tracks this tensor
      grad_fn        the graph node that made it (None for leaves and untracked results)
      _grad          accumulated gradient (leaves, or retain_grad())
      _version       [count], shared with the tensor's views; bumped by every in-place write
      _base          the tensor this one is a view of (None when it owns its storage)
      _extra         rarely used state (hooks, retain_grad, names) in a dict, or None
    """

    # __dict__: attributes a script sets on a tensor (param.no_weight_decay = True), as PyTorch allows; it is
    # created on the first such assignment only.
    __slots__ = ("_data", "dtype", "device", "_requires_grad", "grad_fn", "_grad", "_version", "_base", "_extra",
                 "__dict__", "__weakref__")

    # Python's operators on mixed types defer to ours (np.float32(2) * tensor returns a tensor).
    __array_priority__ = 1000

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_tritorch_layout"):   # tritorch's own SparseTensor: the registry's sparse path
            return
        from . import _state
        _state.FLAGS.subclass = True   # from now on ops take subclass instances as plain tensors (registry)
        _state.SUBCLASS_DEFINED[0] = True
        for hook in SUBCLASS_HOOKS:
            hook(cls)
        for name in _ROUTED_METHODS:
            if name not in cls.__dict__:
                setattr(cls, name, _routed_method(name))

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        """PyTorch's protocol for subclasses: an op with a subclass operand calls the subclass's
        __torch_function__; this default runs the op on plain tensors and returns its results as `cls`."""
        from .ops.registry import torch_function_default
        return torch_function_default(cls, func, args, {} if kwargs is None else kwargs)

    def __new__(cls, *args, **kwargs):
        # torch.Tensor(data) / torch.Tensor(*sizes): the legacy constructor, float of the default dtype. Built here
        # rather than in __init__, as PyTorch does: a subclass whose __new__ returns `tensor.as_subclass(cls)`
        # (torchvision's tv_tensors) is not then re-initialised from its own constructor's arguments.
        from .ops import creation
        t = creation._legacy_tensor_new(*args, **kwargs)
        obj = object.__new__(cls)
        _init_from(obj, t._data, t.dtype, t.device)
        return obj

    @staticmethod
    def _make_subclass(cls, data, require_grad: bool = False, **kwargs):
        """An instance of the Tensor subclass `cls` sharing `data`'s storage, detached, a leaf that requires grad
        when require_grad (PyTorch's way for subclasses to wrap a tensor in __new__)."""
        if not (isinstance(cls, type) and issubclass(cls, Tensor)):
            raise TypeError(f"_make_subclass(): cls must be a subclass of Tensor, but got {cls!r}")
        obj = object.__new__(cls)
        _init_from(obj, data._data, data.dtype, data.device)
        obj._version = data._version
        obj._requires_grad = bool(require_grad)
        return obj

    # ---------------------------------------------------------------- metadata
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def ndim(self) -> int:
        return len(self._data.shape)

    def dim(self) -> int:
        return len(self._data.shape)

    ndimension = dim

    def numel(self) -> int:
        n = 1
        for s in self._data.shape:
            n *= s
        return n

    nelement = numel

    def element_size(self) -> int:
        return self.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.numel() * self.dtype.itemsize

    def stride(self, dim=None):
        d = self._data
        if d.__class__ is np.ndarray:
            if d.size == 0 and d.flags.c_contiguous:
                st = _cuda.contiguous_strides(d.shape)  # NumPy leaves zeros here; PyTorch reports contiguous
            else:
                isz = d.dtype.itemsize
                st = tuple(s // isz for s in d.strides)
        else:
            st = d.strides
        # PyTorch reports the contiguous stride for size-0/1 dims, which NumPy may leave as anything.
        return st if dim is None else st[_wrap_dim(dim, len(st))]

    def storage_offset(self) -> int:
        d = self._data
        if d.__class__ is np.ndarray:
            base = d
            while isinstance(base.base, np.ndarray):
                base = base.base
            return (d.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // d.dtype.itemsize
        return d.offset

    def is_contiguous(self, memory_format=None) -> bool:
        if memory_format is not None and memory_format in _mf.PHYSICAL_ORDER:
            order = _mf.PHYSICAL_ORDER[memory_format]
            return self.ndim == len(order) and _mf.is_dense_in_order(self._data.shape, self.stride(), order)
        d = self._data
        if d.__class__ is np.ndarray:
            return d.flags.c_contiguous
        return d.is_contiguous()

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    @property
    def is_meta(self) -> bool:
        return self.device.type == "meta"

    def is_floating_point(self) -> bool:
        return self.dtype.kind == _dt.FLOAT

    def is_complex(self) -> bool:
        return self.dtype.kind == _dt.COMPLEX

    @property
    def layout(self):
        return _mf.strided

    def data_ptr(self) -> int:
        d = self._data
        return d.ctypes.data if d.__class__ is np.ndarray else d.data_ptr()

    def get_device(self) -> int:
        return -1 if self.device.type == "cpu" else self.device.index

    # ---------------------------------------------------------------- autograd metadata
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.dtype.kind < _dt.FLOAT:
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self):
        g = self._grad
        if g is None and self.grad_fn is not None and not (self._extra and self._extra.get("retains_grad")):
            _warn_non_leaf_grad()
        return g

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if value.__class__ is not Tensor and not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {type(value).__name__}")
            if value.device is not self.device:
                raise RuntimeError(f"assigned grad has data located on {value.device}, different from the tensor on {self.device}")
            if tuple(value.shape) != tuple(self.shape):
                raise RuntimeError(f"assigned grad has data of a different size: {tuple(value.shape)} vs {tuple(self.shape)}")
            want = self._extra.get(_GRAD_DTYPE, self.dtype) if self._extra else self.dtype
            if want is not None and value.dtype is not want:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{value.dtype.name}' to a tensor with grad_dtype "
                    f"'{want.name}'. The gradient must match the tensor's grad_dtype (defaults to the tensor's "
                    "dtype). You can set the tensor's grad_dtype attribute with a specific dtype, or None to allow "
                    "any dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor and its gradient may "
                    "break downstream systems that assume they match.")
        self._grad = value

    @property
    def grad_dtype(self):
        """The dtype autograd gives this leaf's .grad (incoming gradients are cast to it): the tensor's dtype by
        default, a set dtype, or None (any dtype is kept as it comes)."""
        if self.grad_fn is not None:
            raise RuntimeError("grad_dtype can only be accessed on leaf tensors.")
        return self._extra.get(_GRAD_DTYPE, self.dtype) if self._extra else self.dtype

    @grad_dtype.setter
    def grad_dtype(self, value) -> None:
        if self.grad_fn is not None:
            raise RuntimeError("grad_dtype can only be set on leaf tensors.")
        extra = self._extra if self._extra is not None else {}
        extra[_GRAD_DTYPE] = None if value is None else _dt.as_dtype(value)
        self._extra = extra

    @property
    def _version_count(self) -> int:
        return self._version[0]

    @property
    def data(self) -> "Tensor":
        """The same storage, detached from autograd."""
        return _make(self._data, self.dtype, self.device, version=self._version)

    @data.setter
    def data(self, other: "Tensor") -> None:
        self._data = other._data
        _DTYPE_SLOT.__set__(self, other.dtype)
        _DEVICE_SLOT.__set__(self, other.device)

    # ---------------------------------------------------------------- conversion to Python / NumPy
    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self.device.type != "cpu":
            if not force:
                raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to "
                                "copy the tensor to host memory first.")
            return self._data.to_numpy()
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return self._data

    def _host(self) -> np.ndarray:
        """A NumPy array with this tensor's values (a view on cpu, a copy from cuda)."""
        d = self._data
        return d if d.__class__ is np.ndarray else d.to_numpy()

    def __array__(self, dtype=None, copy=None):
        arr = self._host()
        if copy and arr is self._data:
            arr = arr.copy()
        if dtype is not None and arr.dtype != dtype:
            if copy is False:
                raise ValueError("a copy is needed to convert the tensor to the requested dtype")
            arr = arr.astype(dtype)
        return arr

    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        if self.device.type == "meta":
            raise RuntimeError("Tensor.item() cannot be called on meta tensors")
        return self._host().reshape(()).item() if self.dtype is not _dt.bfloat16 else float(self._host().reshape(()).astype(np.float32))

    def tolist(self):
        arr = self._host()
        if self.dtype is _dt.bfloat16 or self.dtype is _dt.float16:
            arr = arr.astype(np.float64)
        return arr.tolist()

    def __len__(self) -> int:
        if not self._data.shape:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if not self._data.shape:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __contains__(self, element) -> bool:
        """`element in t`: whether any element of t equals it (a scalar or a tensor broadcast against t)."""
        if not isinstance(element, (Tensor, bool, int, float, complex, np.number, np.bool_)):
            raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
                               f"{type(element)}.")
        return bool((self == element).any().item())

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind != _dt.INT or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __hash__(self) -> int:
        return id(self)

    def __reduce_ex__(self, protocol):
        raise TypeError("tritorch tensors are not pickled; use tritorch.save (safetensors) instead")

    # ---------------------------------------------------------------- DLPack
    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        if self.device.type != "cpu":
            if _cuda.INTERPRET:
                # Interpreter memory is host memory: export it as a CPU DLPack tensor.
                return self._data.host_view().__dlpack__()
            raise BufferError("DLPack export of GPU tensors is not supported by tritorch yet; use .cpu() first")
        kwargs = {}
        if max_version is not None:
            kwargs["max_version"] = max_version
        if copy is not None:
            kwargs["copy"] = copy
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return (1, 0) if self.device.type == "cpu" or _cuda.INTERPRET else (2, self.device.index)

    # ---------------------------------------------------------------- printing
    def __repr__(self) -> str:
        return _format(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        # As PyTorch: a plain 0-dim tensor formats as its number (f"{t}" too: "1", not "tensor(1)"); anything else
        # (Parameters and other subclasses included) as object.__format__ does, so a non-empty spec is a TypeError.
        if self.ndim == 0 and type(self) is Tensor and not self.is_meta:
            from .nn.parameter import is_parameter
            if not is_parameter(self):
                return format(self.item(), spec)
        if spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return str(self)


def _wrap_dim(dim: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n if ndim else 0


_new = object.__new__


def _make(data, dtype, device, version=None) -> Tensor:
    """Wrap storage in a new Tensor (the one place tensors are built; on the hot path of every op)."""
    t = _new(Tensor)
    t._data = data
    t.dtype = dtype
    t.device = device
    t._requires_grad = False
    t.grad_fn = None
    t._grad = None
    t._version = [0] if version is None else version
    t._base = None
    t._extra = None if not _FLAGS.inference else _inference_mark()  # Tensor.is_inference
    return t


def _inference_mark():
    """_extra of a tensor made while some thread is in inference_mode: marked if this thread is."""
    return {"inference": True} if _GRAD.inference else None


# Methods that reach a subclass's __torch_function__ as `Tensor.<name>` itself, as in PyTorch (torchvision's
# TVTensor re-wraps the results of exactly Tensor.clone / to / detach / requires_grad_ / pin_memory; several are
# not registry ops, so they would not reach __torch_function__ at all otherwise).
_ROUTED_METHODS = ("clone", "to", "detach", "requires_grad_", "pin_memory", "cpu", "cuda")


def _routed_method(name: str):
    def method(self, *args, **kwargs):
        from .ops.registry import _TORCH_FUNCTION_STATE, TORCH_FUNCTION_MODES
        func = getattr(Tensor, name)
        if _TORCH_FUNCTION_STATE.depth and not TORCH_FUNCTION_MODES:   # __torch_function__ disabled here
            return func(self, *args, **kwargs)
        cls = type(self)
        return cls.__torch_function__(func, (cls,), (self,) + args, kwargs)
    method.__name__ = method.__qualname__ = name
    return method


# Tensor's dtype and device slots, written through these (a subclass may shadow them with read-only properties, as
# torchvision's TVTensor does)
_DTYPE_SLOT = Tensor.__dict__["dtype"]
_DEVICE_SLOT = Tensor.__dict__["device"]


def _seen_writes(view: Tensor, root: Tensor) -> None:
    """A view just taken of `root` has seen root's in-place writes so far (autograd/inplace.py: only views taken
    before a write get their history regenerated)."""
    token = root._extra.get("rebased") if root._extra is not None else None
    if token is not None:
        view._extra = dict(view._extra or {}, rebased_seen=token)


def _init_from(t: Tensor, data, dtype, dev) -> None:
    t._data = data
    _DTYPE_SLOT.__set__(t, dtype)
    _DEVICE_SLOT.__set__(t, dev)
    t._requires_grad = False
    t.grad_fn = None
    t._grad = None
    t._version = [0]
    t._base = None
    t._extra = None


def from_array(arr: np.ndarray) -> Tensor:
    """A cpu tensor over `arr` (no copy)."""
    return _make(arr, _dt.from_numpy_dtype(arr.dtype), CPU)


def _format(t: Tensor) -> str:
    from ._format import _format as fmt
    return fmt(t)


_ = device


def _warn_non_leaf_grad() -> None:
    """PyTorch's warning for reading .grad of a non-leaf tensor that does not retain its gradient (always None)."""
    import warnings
    warnings.warn("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
                  "won't be populated during autograd.backward(). If you indeed want the .grad field to be populated "
                  "for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor "
                  "by mistake, make sure you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 "
                  "for more informations.", UserWarning, stacklevel=3)
