"""How tensors travel between processes: multiprocessing's ForkingPickler (queues, pipes, a spawned process's
arguments) sends a tensor as its values (a host copy), dtype, device, requires_grad and parameter flag, and the
receiver builds a new tensor on the same device. Memory is copied, not shared (PyTorch shares cpu storage through
shared memory and cuda through CUDA IPC). Plain `pickle` still refuses tensors: files are tritorch.save's.
"""
from __future__ import annotations

from multiprocessing.reduction import ForkingPickler

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


def reduce_tensor(t: Tensor):
    from ..nn.parameter import is_parameter
    if t.requires_grad and t.grad_fn is not None:
        raise RuntimeError(_NON_LEAF)
    values = tuple(t.shape) if t.device.type == "meta" else t._host()
    return rebuild_tensor, (values, t.dtype.name, str(t.device), t.requires_grad, is_parameter(t))


def init_reductions() -> None:
    ForkingPickler.register(Tensor, reduce_tensor)
