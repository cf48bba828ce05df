"""torch.distributed.fsdp.api: FSDP's settings (enums and dataclasses), plain values as in PyTorch; FSDP itself is
not in tritorch (see tritorch.distributed._absent)."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

__all__ = ["BackwardPrefetch", "CPUOffload", "FullStateDictConfig", "MixedPrecision", "ShardingStrategy",
           "StateDictConfig", "StateDictType"]


class ShardingStrategy(enum.Enum):
    FULL_SHARD = 1
    SHARD_GRAD_OP = 2
    NO_SHARD = 3
    HYBRID_SHARD = 4
    _HYBRID_SHARD_ZERO2 = 5


class BackwardPrefetch(enum.Enum):
    BACKWARD_PRE = 1
    BACKWARD_POST = 2


class StateDictType(enum.Enum):
    FULL_STATE_DICT = 1
    LOCAL_STATE_DICT = 2
    SHARDED_STATE_DICT = 3


@dataclass
class CPUOffload:
    offload_params: bool = False


@dataclass
class MixedPrecision:
    """FSDP1's mixed-precision settings."""
    param_dtype: Any = None
    reduce_dtype: Any = None
    buffer_dtype: Any = None
    keep_low_precision_grads: bool = False
    cast_forward_inputs: bool = False
    cast_root_forward_inputs: bool = True


@dataclass
class StateDictConfig:
    offload_to_cpu: bool = False


@dataclass
class FullStateDictConfig(StateDictConfig):
    rank0_only: bool = False
