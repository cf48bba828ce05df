"""torch.distributed.algorithms.ddp_comm_hooks: PyTorch's default hooks (default_hooks: allreduce, fp16 and bf16
compression) for DistributedDataParallel.register_comm_hook, and post_localSGD_hook's state class (Lightning
checks a hook state against it; there is no model averaging)."""
from __future__ import annotations

import enum
import functools

from . import default_hooks

__all__ = ["DDPCommHookType", "register_ddp_comm_hook", "default_hooks"]


class DDPCommHookType(enum.Enum):
    """The built-in hooks by name (register_ddp_comm_hook registers one on a DDP model)."""
    ALLREDUCE = functools.partial(default_hooks.allreduce_hook)
    FP16_COMPRESS = functools.partial(default_hooks.fp16_compress_hook)
    BF16_COMPRESS = functools.partial(default_hooks.bf16_compress_hook)


def register_ddp_comm_hook(comm_hook_type: DDPCommHookType, model, state=None) -> None:
    model.register_comm_hook(state, comm_hook_type.value)
