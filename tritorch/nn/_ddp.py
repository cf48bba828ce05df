"""torch.nn.parallel.DistributedDataParallel for tritorch's one process (see tritorch.distributed).

With one rank there is nothing to all-reduce: gradients are already the average over the world, and buffers are
already in sync. The wrapper keeps PyTorch's checks (an initialized process group, a module with parameters that
require grad, device_ids only for a cuda module), moves the inputs to device_ids[0] when given, runs the module,
and exposes `.module` (state_dict keys carry the `module.` prefix), `no_sync()` and `join()` as PyTorch does."""
from __future__ import annotations

import contextlib

from .. import distributed as _dist
from ..device import device as _device
from .modules.module import Module


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
        self.require_backward_grad_sync = True

    def forward(self, *inputs, **kwargs):
        if self.device_ids:
            inputs, kwargs = _moved(inputs, self.device_ids[0]), _moved(kwargs, self.device_ids[0])
        return self.module(*inputs, **kwargs)

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
