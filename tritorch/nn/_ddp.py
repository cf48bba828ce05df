"""torch.nn.parallel.DistributedDataParallel: data parallelism over the ranks of a process group.

At construction rank 0's parameters and buffers are broadcast to every rank (init_sync). Every parameter that
requires grad gets a post-accumulate-grad hook; the first to fire in a backward pass queues one callback for the
end of that pass, which averages all those gradients over the ranks with one all-reduce per dtype and device
(a flat buffer; a parameter without a gradient on this rank counts as zeros, so every rank reduces the same
buffer, and one that no rank used keeps its None) and writes them back in place. Under `no_sync()` gradients
accumulate locally and the next synchronised backward averages the sum. With broadcast_buffers (the default)
rank 0's buffers are broadcast before each forward. With one rank there is nothing to communicate and the
wrapper only keeps PyTorch's checks and API (`.module`, state_dict keys with the `module.` prefix, `no_sync()`,
`join()`).
"""
from __future__ import annotations

import contextlib

import numpy as np

from .. import distributed as _dist
from ..autograd.engine import queue_callback
from ..autograd.grad_mode import no_grad
from ..device import device as _device
from .modules.module import Module


def _dense(grad):
    return grad.to_dense() if getattr(grad, "is_sparse", False) else grad


def _flat_tensor(arr):
    from ..tensor import from_array
    return from_array(arr)


def _moved(obj, dev):
    from ..tensor import Tensor
    if isinstance(obj, Tensor):
        return obj.to(dev)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_moved(o, dev) for o in obj)
    if isinstance(obj, dict):
        return {k: _moved(v, dev) for k, v in obj.items()}
    return obj


class DistributedDataParallel(Module):
    """DistributedDataParallel over one process: `module` itself, with PyTorch's wrapper API."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=None, init_sync=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, delay_all_reduce_named_params=None,
                 param_to_hook_all_reduce=None, mixed_precision=None, device_mesh=None,
                 skip_all_reduce_unused_params=False, bucket_cap_mb_list=None, batched_grad_copy=False,
                 forward_sync_buffers=None):
        super().__init__()
        self.process_group = _dist._world(process_group)  # PyTorch's error when init_process_group has not run
        params = list(module.parameters())
        if not any(p.requires_grad for p in params):
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        devices = {p.device for p in params}
        if device_ids is not None and (len(devices) != 1 or next(iter(devices)).type == "cpu"):
            raise ValueError("DistributedDataParallel device_ids and output_device arguments only work with "
                             "single-device/multiple-device GPU modules or CPU modules, but got device_ids "
                             f"{device_ids}, output_device {output_device}, and module parameters {devices}.")
        self.module = module
        self.device_ids = None if device_ids is None else \
            [_device("cuda", d) if isinstance(d, int) else _device(d) for d in device_ids]
        self.output_device = output_device
        self.dim = dim
        self.find_unused_parameters = find_unused_parameters
        self.static_graph = static_graph
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.require_backward_grad_sync = True
        self.broadcast_buffers = True if broadcast_buffers is None else broadcast_buffers
        self._synced = [p for p in params if p.requires_grad]
        self._queued = False
        self._comm_hook = None   # (state, hook) once register_comm_hook ran
        if self.process_group.size() > 1:
            if init_sync:
                with no_grad():
                    for t in list(params) + list(module.buffers()):
                        _dist.broadcast(t, 0, group=self.process_group)
            for p in self._synced:
                p.register_post_accumulate_grad_hook(self._grad_ready)

    def forward(self, *inputs, **kwargs):
        if self.device_ids:
            inputs, kwargs = _moved(inputs, self.device_ids[0]), _moved(kwargs, self.device_ids[0])
        if self.broadcast_buffers and self.process_group.size() > 1:
            with no_grad():
                for b in self.module.buffers():
                    _dist.broadcast(b, 0, group=self.process_group)
        return self.module(*inputs, **kwargs)

    def _grad_ready(self, param) -> None:
        if self.require_backward_grad_sync and not self._queued:
            self._queued = True
            queue_callback(self._average_gradients)

    def register_comm_hook(self, state, hook) -> None:
        """Let hook(state, bucket) communicate the gradients instead of the built-in average: it gets each bucket
        (a GradBucket: one flat gradient buffer per dtype and device) and returns a Future whose value is the
        buffer to write back (torch.distributed.algorithms.ddp_comm_hooks.default_hooks has PyTorch's:
        allreduce_hook, fp16_compress_hook, bf16_compress_hook). Once, before the first backward."""
        if not callable(hook):
            raise TypeError("Communication hook must be callable.")
        if self._comm_hook is not None:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be called once.")
        self._comm_hook = (state, hook)

    def _average_gradients(self) -> None:
        """Every synced parameter's gradient averaged over the ranks: one flat all-reduce per (dtype, device)."""
        self._queued = False
        n = self.process_group.size()
        buckets: dict = {}
        for p in self._synced:
            buckets.setdefault((p.dtype, p.device), []).append(p)
        if self._comm_hook is not None:
            self._hooked_buckets(list(buckets.values()))
            return
        with no_grad():
            for (dtype, _), ps in buckets.items():
                # the gradients, then one "used here" flag per parameter: a parameter no rank used keeps grad None
                used = np.array([p.grad is not None for p in ps], dtype.np)
                flat = np.concatenate([np.zeros(p.numel(), dtype.np) if p.grad is None else
                                       np.asarray(_dense(p.grad).detach().cpu()._data).reshape(-1) for p in ps]
                                      + [used])
                _dist.all_reduce(_flat_tensor(flat), group=self.process_group)
                used = flat[flat.size - len(ps):]
                flat = flat[:flat.size - len(ps)]
                flat /= n
                offset = 0
                for p, anyone in zip(ps, used):
                    piece = flat[offset:offset + p.numel()].reshape(tuple(p.shape))
                    offset += p.numel()
                    if not anyone:
                        continue
                    grad = _flat_tensor(piece).to(p.device)
                    if p.grad is None or getattr(p.grad, "is_sparse", False):   # (a sparse one comes back dense)
                        p.grad = grad
                    else:
                        p.grad.copy_(grad)

    def _hooked_buckets(self, buckets: list) -> None:
        """_average_gradients through the registered hook: which parameters any rank used is agreed first (one
        small all-reduce: a parameter no rank used keeps grad None), then each bucket's flat gradients (zeros for
        a parameter unused here) go to the hook, and the value of the Future it returns is written back."""
        from ..distributed import GradBucket
        from ..ops.creation import zeros
        from ..ops.movement import cat
        state, hook = self._comm_hook
        with no_grad():
            used = _flat_tensor(np.array([p.grad is not None for ps in buckets for p in ps], np.int32))
            _dist.all_reduce(used, group=self.process_group)
            used = used.tolist()
            k = 0
            for index, ps in enumerate(buckets):
                flat = cat([zeros(p.numel(), dtype=p.dtype, device=p.device) if p.grad is None
                            else _dense(p.grad).detach().reshape(-1) for p in ps])
                bucket = GradBucket(index, flat, ps, index == len(buckets) - 1)
                result = hook(state, bucket).wait()
                result = result[0] if isinstance(result, (list, tuple)) else result
                offset = 0
                for p in ps:
                    piece = result[offset:offset + p.numel()].reshape(tuple(p.shape))
                    offset += p.numel()
                    anyone, k = used[k], k + 1
                    if not anyone:
                        continue
                    if p.grad is None or getattr(p.grad, "is_sparse", False):
                        p.grad = piece.to(p.dtype).clone()
                    else:
                        p.grad.copy_(piece)

    @contextlib.contextmanager
    def no_sync(self):
        """Skip gradient synchronisation inside the block (there is none to skip with one rank)."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    @contextlib.contextmanager
    def join(self, divide_by_initial_world_size: bool = True, enable: bool = True,
             throw_on_early_termination: bool = False):
        """Uneven inputs across ranks cannot happen with one rank: the block runs as it is."""
        yield

    def _set_static_graph(self) -> None:
        self.static_graph = True

    def _get_ddp_logging_data(self) -> dict:
        """PyTorch's record of how this wrapper was set up (libraries read a few keys of it). tritorch does not
        track whether the graph could have been static, so can_set_static_graph is False (no advice given)."""
        params = list(self.module.parameters())
        return {"world_size": self.process_group.size(), "rank": _dist.get_rank(),
                "module_name": type(self.module).__name__,
                "device_ids": "" if not self.device_ids else ", ".join(str(d.index) for d in self.device_ids),
                "output_device": -1 if self.output_device is None else self.output_device,
                "backend_name": str(_dist.get_backend(self.process_group)),
                "broadcast_buffers": int(self.broadcast_buffers), "find_unused_parameters": int(
                    self.find_unused_parameters), "static_graph": int(self.static_graph),
                "gradient_as_bucket_view": int(self.gradient_as_bucket_view), "is_multi_device_module": 0,
                "num_parameter_tensors": len(params), "total_parameter_size_bytes": sum(
                    p.numel() * p.element_size() for p in params),
                "dtypes": ", ".join(sorted({str(p.dtype).replace("torch.", "") for p in params})),
                "can_set_static_graph": False}
