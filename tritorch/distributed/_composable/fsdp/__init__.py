"""torch.distributed._composable.fsdp: the older import path of torch.distributed.fsdp's fully_shard API."""
from __future__ import annotations

from ...fsdp import CPUOffloadPolicy, FSDPModule, MixedPrecisionPolicy, OffloadPolicy, fully_shard

__all__ = ["CPUOffloadPolicy", "FSDPModule", "MixedPrecisionPolicy", "OffloadPolicy", "fully_shard"]
