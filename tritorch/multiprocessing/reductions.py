"""How tensors travel between processes: multiprocessing's ForkingPickler (queues, pipes, a spawned process's
arguments) sends a tensor as its values (a host copy), dtype, device, requires_grad and parameter flag, and the
receiver builds a new tensor on the same device. A cpu tensor in shared memory (`share_memory_()`) is sent as its
mapping's file descriptor and its view geometry instead: the receiver maps the same memory, so writes on either
side are seen by both (PyTorch's file_descriptor strategy). Other memory is copied (PyTorch moves a cpu tensor it
sends into shared memory first, and shares cuda memory through CUDA IPC). Plain `pickle` still refuses tensors:
files are tritorch.save's.
"""
from __future__ import annotations

from multiprocessing.reduction import DupFd, ForkingPickler

import numpy as np

from .. import _shared_memory as _shm
from ..device import CPU
from ..tensor import Tensor

_NON_LEAF = ("Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd does not support "
             "crossing process boundaries.  If you just want to transfer the data, call detach() on the tensor "
             "before serializing (e.g., putting it on the queue).")


def rebuild_tensor(values, dtype_name: str, device: str, requires_grad: bool, parameter: bool):
    from .. import dtypes as _dt
    from ..nn.parameter import Parameter
    from ..ops.creation import empty, tensor
    dtype = _dt._by_name(dtype_name)
    if device == "meta":
        t = empty(values, dtype=dtype, device="meta")   # (values: the shape)
    else:
        t = tensor(values, dtype=dtype, device=device)
    if parameter:
        return Parameter(t, requires_grad=requires_grad)
    return t.requires_grad_(requires_grad) if requires_grad else t


def rebuild_shared_tensor(dup_fd, nbytes: int, dtype_name: str, shape, strides, offset: int, requires_grad: bool,
                          parameter: bool):
    from .. import dtypes as _dt
    from ..nn.parameter import Parameter
    from ..tensor import _make
    dtype = _dt._by_name(dtype_name)
    buf = _shm.map_fd(dup_fd.detach(), nbytes)
    isz = dtype.itemsize
    whole = np.frombuffer(buf, np.uint8)   # the view's root: the storage is the whole mapping, as it was sent
    arr = np.ndarray(shape, dtype.np, buffer=whole, offset=offset * isz, strides=tuple(s * isz for s in strides))
    t = _make(arr, dtype, CPU)
    if parameter:
        return Parameter(t, requires_grad=requires_grad)
    return t.requires_grad_(requires_grad) if requires_grad else t


def reduce_tensor(t: Tensor):
    from ..nn.parameter import is_parameter
    if t.requires_grad and t.grad_fn is not None:
        raise RuntimeError(_NON_LEAF)
    if t.device.type == "cpu":
        buf = _shm.mapping_of(t._data)
        fd = None if buf is None else _shm.fd_of(buf)
        if fd is not None:
            flat = np.frombuffer(buf, dtype=np.uint8)
            offset = (t._data.__array_interface__["data"][0] - flat.__array_interface__["data"][0]) // t.itemsize
            return rebuild_shared_tensor, (DupFd(fd), len(buf), t.dtype.name, tuple(t.shape), tuple(t.stride()),
                                           offset, t.requires_grad, is_parameter(t))
    values = tuple(t.shape) if t.device.type == "meta" else t._host()
    return rebuild_tensor, (values, t.dtype.name, str(t.device), t.requires_grad, is_parameter(t))


def rebuild_subclass(cls, rebuild, args, state):
    t = rebuild(*args)
    t.__class__ = cls
    if state:
        t.__dict__.update(state)
    return t


def reduce_subclass(t: Tensor):
    """An instance of a Tensor subclass (torchvision's tv_tensors) travels as reduce_tensor sends its values, with
    its class and its attributes (BoundingBoxes' format and canvas_size), as PyTorch rebuilds subclasses."""
    rebuild, args = reduce_tensor(t)
    return rebuild_subclass, (type(t), rebuild, args, dict(t.__dict__) if hasattr(t, "__dict__") else None)


def _register_subclass(cls) -> None:
    # not tritorch's own layouts (SparseTensor has its reduction), nor a class that says how it pickles itself
    if cls.__dict__.get("_tritorch_layout") or "__reduce_ex__" in cls.__dict__ or "__reduce__" in cls.__dict__:
        return
    ForkingPickler.register(cls, reduce_subclass)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def rebuild_sparse(indices, values, shape, coalesced):
    from ..sparse import _wrap
    return _wrap(indices, values, shape, coalesced)


def reduce_sparse(t):
    """A sparse COO tensor travels as its indices and values (each as reduce_tensor sends it) and its size."""
    d = t._data
    return rebuild_sparse, (d.indices, d.values, tuple(d.shape), d.coalesced)


def init_reductions() -> None:
    from ..sparse import SparseTensor
    from ..tensor import SUBCLASS_HOOKS
    ForkingPickler.register(Tensor, reduce_tensor)
    ForkingPickler.register(SparseTensor, reduce_sparse)
    if _register_subclass not in SUBCLASS_HOOKS:   # subclasses defined from now on, and those defined so far
        SUBCLASS_HOOKS.append(_register_subclass)
        for cls in _subclasses(Tensor):
            _register_subclass(cls)
