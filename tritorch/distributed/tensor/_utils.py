"""torch.distributed.tensor._utils: the helper libraries import; it needs a DeviceMesh, which tritorch has not."""
from __future__ import annotations

from .._absent import absent_function

compute_local_shape_and_global_offset = absent_function(
    "compute_local_shape_and_global_offset", "torch.distributed.tensor._utils.compute_local_shape_and_global_offset")
