"""torch.nn.parallel.DataParallel / data_parallel on tritorch's single device.

tritorch drives one cuda device per process (and the cpu); DistributedDataParallel with one process per GPU is
the way to use several. With cuda available, DataParallel follows PyTorch's one-device path:
the module is moved to device_ids[0] when wrapped, its parameters and buffers must stay there, the inputs are moved
there (the "scatter" of one chunk: tensors inside tuples, lists and dicts too) and the module runs once; without
cuda (as PyTorch without a GPU) device_ids is [] and the module simply runs. The wrapped module is `.module`, so
state_dict keys carry PyTorch's `module.` prefix.
"""
from __future__ import annotations

from ...device import CUDA
from ...device import device as _device
from ...tensor import Tensor
from ..modules.module import Module

__all__ = ["DataParallel", "data_parallel"]


def _index(d) -> int:
    if isinstance(d, int):
        index = d
    else:
        dev = _device(d)
        if dev.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {dev}")
        index = CUDA.index if dev.index is None else dev.index
    if index != CUDA.index:
        raise RuntimeError(f"Invalid device id {index}: tritorch drives one cuda device per process (cuda:{CUDA.index} "
                           "in this one); use DistributedDataParallel with one process per GPU")
    return index


def _to_device(obj, dev):
    if isinstance(obj, Tensor):
        return obj.to(dev)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_to_device(o, dev) for o in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to_device(o, dev) for o in obj)
    if isinstance(obj, dict):
        return type(obj)((k, _to_device(v, dev)) for k, v in obj.items())
    return obj


def _devices(device_ids, output_device):
    from ... import cuda
    if not cuda.is_available():
        return [], None
    ids = [CUDA.index] if device_ids is None else [_index(d) for d in device_ids]
    if not ids:
        raise RuntimeError("no available devices were found")
    return ids, _index(ids[0] if output_device is None else output_device)


class DataParallel(Module):
    """torch.nn.DataParallel with one device: runs `module` on the process's cuda device (or on the cpu when cuda is
    unavailable)."""

    def __init__(self, module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        ids, out = _devices(device_ids, output_device)
        self.module = module
        self.device_ids = ids
        if not ids:
            return
        self.dim = dim
        self.output_device = out
        self.src_device_obj = _device("cuda", ids[0])
        self.module.to(self.src_device_obj)

    def forward(self, *inputs, **kwargs):
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        for t in list(self.module.parameters()) + list(self.module.buffers()):
            if t.device != self.src_device_obj:
                raise RuntimeError(f"module must have its parameters and buffers on device {self.src_device_obj} "
                                   f"(device_ids[0]) but found one of them on device: {t.device}")
        return self.module(*_to_device(inputs, self.src_device_obj), **_to_device(kwargs, self.src_device_obj))


def data_parallel(module, inputs, device_ids=None, output_device=None, dim: int = 0, module_kwargs=None):
    """torch.nn.parallel.data_parallel with one device: module(*inputs, **module_kwargs) on device_ids[0]."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    ids, _ = _devices(device_ids, output_device)
    kwargs = module_kwargs or {}
    if not ids:
        return module(*inputs, **kwargs)
    dev = _device("cuda", ids[0])
    for t in list(module.parameters()) + list(module.buffers()):
        if t.device != dev:
            raise RuntimeError(f"module must have its parameters and buffers on device {dev} (device_ids[0]) but "
                               f"found one of them on device: {t.device}")
    return module(*_to_device(inputs, dev), **_to_device(kwargs, dev))


from .._ddp import DistributedDataParallel  # noqa: E402  (one process: see tritorch.distributed)

__all__ += ["DistributedDataParallel"]
