"""torch.distributed.utils, as far as libraries call it: _sync_module_states (Lightning calls it to give every rank
rank src's weights before validating or testing under DDP)."""
from __future__ import annotations

from ..autograd.grad_mode import no_grad

__all__: list = []


def _sync_module_states(module, process_group, broadcast_bucket_size: int, src: int, params_and_buffers_to_ignore,
                        broadcast_buffers: bool = True) -> None:
    """Overwrite `module`'s parameters (and buffers, unless broadcast_buffers is False) on every rank of
    `process_group` with rank `src`'s, leaving out the names in params_and_buffers_to_ignore. (Each tensor is
    broadcast on its own; broadcast_bucket_size, PyTorch's coalescing limit, changes nothing here.)"""
    from . import broadcast
    if process_group.size() <= 1:
        return
    ignore = set(params_and_buffers_to_ignore or ())
    tensors = [p for name, p in module.named_parameters() if name not in ignore]
    if broadcast_buffers:
        tensors += [b for name, b in module.named_buffers() if name not in ignore]
    with no_grad():
        for t in tensors:
            broadcast(t, src, group=process_group)
