"""The parts of torch.distributed that tritorch does not build: distributed tensors (DTensor, DeviceMesh, tensor
parallelism), FSDP (both FullyShardedDataParallel and fully_shard) and Join for uneven inputs.

Libraries import their names whenever torch.distributed.is_available() (transformers, accelerate), mostly to ask
`isinstance(t, DTensor)`; so the modules and names exist, the plain value types behave as PyTorch's (placements,
FSDP's policy dataclasses), no tensor is ever a DTensor, and whatever would need the subsystem (making a DTensor
or a mesh, sharding a module, joining) raises NotImplementedError saying so."""
from __future__ import annotations


def absent(what: str) -> NotImplementedError:
    return NotImplementedError(f"{what}: tritorch has no distributed tensors or FSDP (DTensor, DeviceMesh, "
                               "fully_shard, FullyShardedDataParallel, Join); DistributedDataParallel and the "
                               "collectives are there")


def absent_function(name: str, qualname: str):
    def call(*args, **kwargs):
        raise absent(qualname)
    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{qualname}: not in tritorch (see tritorch.distributed._absent)."
    return call


class AbsentClass:
    """A class whose instances need the missing subsystem: making one raises NotImplementedError."""

    def __new__(cls, *args, **kwargs):
        raise absent(f"{cls.__module__.replace('tritorch', 'torch', 1)}.{cls.__qualname__}")
