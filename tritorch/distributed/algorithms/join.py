"""torch.distributed.algorithms.join: training on uneven inputs is not in tritorch (distributed/_absent.py); the
classes exist for imports and subclassing, and entering a Join raises NotImplementedError."""
from __future__ import annotations

from .._absent import AbsentClass

__all__ = ["Join", "JoinHook", "Joinable"]


class JoinHook:
    """What a Joinable does for the ranks that have run out of inputs: nothing by default, as PyTorch's."""

    def main_hook(self) -> None:
        pass

    def post_hook(self, is_last_joiner: bool) -> None:
        pass


class Joinable:
    """A class that takes part in Join (subclasses give join_hook, join_device and join_process_group)."""


class Join(AbsentClass):
    """torch.distributed.algorithms.join.Join: not in tritorch."""
