"""torch.distributed.algorithms.ddp_comm_hooks.default_hooks: PyTorch's built-in DDP communication hooks, for
DistributedDataParallel.register_comm_hook(state, hook). `state` is the process group (None: the world).

- allreduce_hook: the bucket divided by the world size, then all-reduced (what DDP does without a hook).
- fp16_compress_hook / bf16_compress_hook: the same in float16 / bfloat16 (half the bytes on the wire), the
  result cast back into the bucket's dtype."""
from __future__ import annotations

from ... import GroupMember, all_reduce, get_world_size
from ....futures import Future

__all__ = ["allreduce_hook", "fp16_compress_hook", "bf16_compress_hook"]


def _group(process_group):
    return process_group if process_group is not None else GroupMember.WORLD


def _allreduce_fut(process_group, tensor) -> Future:
    """tensor averaged over the group's ranks, in place: a Future of it."""
    group = _group(process_group)
    tensor.div_(get_world_size(group))
    return all_reduce(tensor, group=group, async_op=True).get_future().then(lambda fut: fut.value()[0])


def allreduce_hook(process_group, bucket) -> Future:
    return _allreduce_fut(process_group, bucket.buffer())


def _compress_hook(dtype, process_group, bucket) -> Future:
    buffer = bucket.buffer()
    compressed = buffer.to(dtype)
    fut = _allreduce_fut(process_group, compressed)

    def decompress(fut):
        buffer.copy_(fut.value())   # (cast back into the bucket's dtype)
        return buffer
    return fut.then(decompress)


def fp16_compress_hook(process_group, bucket) -> Future:
    from .... import dtypes
    return _compress_hook(dtypes.float16, process_group, bucket)


def bf16_compress_hook(process_group, bucket) -> Future:
    from .... import dtypes
    return _compress_hook(dtypes.bfloat16, process_group, bucket)
