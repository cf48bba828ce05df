"""torch.distributed.fsdp.fully_sharded_data_parallel: FSDP1's module wrapper (not in tritorch: wrapping raises
NotImplementedError, and no module is an instance) and the settings it is imported with."""
from __future__ import annotations

from .._absent import AbsentClass
from .api import (BackwardPrefetch, CPUOffload, FullStateDictConfig, MixedPrecision, ShardingStrategy,  # noqa: F401
                  StateDictConfig, StateDictType)

__all__ = ["BackwardPrefetch", "CPUOffload", "FullStateDictConfig", "FullyShardedDataParallel", "MixedPrecision",
           "ShardingStrategy", "StateDictConfig", "StateDictType"]


class FullyShardedDataParallel(AbsentClass):
    """torch.distributed.fsdp.FullyShardedDataParallel: not in tritorch."""
