"""torch.distributed.checkpoint.hf_storage: DCP's safetensors reader and writer; not in tritorch."""
from __future__ import annotations

from .._absent import AbsentClass

__all__ = ["HuggingFaceStorageReader", "HuggingFaceStorageWriter"]


class HuggingFaceStorageReader(AbsentClass):
    """Not in tritorch (see tritorch.distributed._absent)."""


class HuggingFaceStorageWriter(AbsentClass):
    """Not in tritorch (see tritorch.distributed._absent)."""
