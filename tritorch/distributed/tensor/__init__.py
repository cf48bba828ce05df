"""torch.distributed.tensor: the names, for `isinstance(t, DTensor)` and placement values; tritorch has no
distributed tensors, so nothing is a DTensor and making one raises NotImplementedError (distributed/_absent.py)."""
from __future__ import annotations

from ...tensor import Tensor
from .._absent import absent, absent_function
from ..device_mesh import DeviceMesh, init_device_mesh
from .placement_types import Partial, Placement, Replicate, Shard

__all__ = ["DTensor", "DeviceMesh", "Partial", "Placement", "Replicate", "Shard", "distribute_module",
           "distribute_tensor", "init_device_mesh"]


class DTensor(Tensor):
    """torch.distributed.tensor.DTensor: not in tritorch; no tensor is an instance."""

    def __new__(cls, *args, **kwargs):
        raise absent("torch.distributed.tensor.DTensor")

    @staticmethod
    def from_local(*args, **kwargs):
        raise absent("torch.distributed.tensor.DTensor.from_local")


distribute_tensor = absent_function("distribute_tensor", "torch.distributed.tensor.distribute_tensor")
distribute_module = absent_function("distribute_module", "torch.distributed.tensor.distribute_module")
