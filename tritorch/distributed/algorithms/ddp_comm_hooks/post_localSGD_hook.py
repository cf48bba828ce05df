"""torch.distributed.algorithms.ddp_comm_hooks.post_localSGD_hook: the state PyTorch's post-local-SGD hook reads.
The hook itself is absent (tritorch's DistributedDataParallel has no register_comm_hook); the state class exists so
that code which tests `isinstance(state, PostLocalSGDState)` runs."""
from __future__ import annotations

__all__ = ["PostLocalSGDState"]


class PostLocalSGDState:
    """PostLocalSGDState(process_group, subgroup, start_localSGD_iter, post_local_SGD_allreduce=True): global
    all-reduce of gradients until start_localSGD_iter, then only within `subgroup`. Held state; nothing uses it."""

    __slots__ = ["process_group", "subgroup", "start_localSGD_iter", "post_local_SGD_allreduce", "iter"]

    def __init__(self, process_group, subgroup, start_localSGD_iter: int, post_local_SGD_allreduce: bool = True):
        self.process_group = process_group
        self.subgroup = subgroup
        self.start_localSGD_iter = start_localSGD_iter
        self.post_local_SGD_allreduce = post_local_SGD_allreduce
        self.iter = 0

    def maybe_increase_iter(self, bucket) -> None:
        """Count a step (PyTorch counts once per step, at the last gradient bucket)."""
        if bucket.is_last():
            self.iter += 1
