"""torch.distributed.device_mesh: not in tritorch (distributed/_absent.py); the names exist for imports."""
from __future__ import annotations

from ._absent import AbsentClass, absent_function

__all__ = ["DeviceMesh", "init_device_mesh"]


class DeviceMesh(AbsentClass):
    """torch.distributed.device_mesh.DeviceMesh: not in tritorch."""


init_device_mesh = absent_function("init_device_mesh", "torch.distributed.device_mesh.init_device_mesh")
