"""torch.distributed.fsdp: FSDP is not in tritorch (distributed/_absent.py). Its policy dataclasses are plain
values as in PyTorch; sharding a module (fully_shard, FullyShardedDataParallel) raises NotImplementedError."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._absent import AbsentClass, absent_function
from .api import (BackwardPrefetch, CPUOffload, FullStateDictConfig, MixedPrecision, ShardingStrategy,
                  StateDictConfig, StateDictType)

__all__ = ["BackwardPrefetch", "CPUOffload", "CPUOffloadPolicy", "FSDPModule", "FullStateDictConfig",
           "FullyShardedDataParallel", "MixedPrecision", "MixedPrecisionPolicy", "OffloadPolicy", "ShardingStrategy",
           "StateDictConfig", "StateDictType", "fully_shard"]


@dataclass(frozen=True)
class MixedPrecisionPolicy:
    """fully_shard's mixed-precision settings (dtypes of parameters, gradient reduction and outputs)."""
    param_dtype: Any = None
    reduce_dtype: Any = None
    output_dtype: Any = None
    cast_forward_inputs: bool = True


@dataclass
class OffloadPolicy:
    """fully_shard's offload policy: the base one offloads nothing."""


@dataclass
class CPUOffloadPolicy(OffloadPolicy):
    """Offload sharded parameters to the cpu (pinned memory unless told otherwise)."""
    pin_memory: bool = True


class FSDPModule(AbsentClass):
    """The class fully_shard mixes into a module; no tritorch module is one."""


from .fully_sharded_data_parallel import FullyShardedDataParallel  # noqa: E402


fully_shard = absent_function("fully_shard", "torch.distributed.fsdp.fully_shard")
