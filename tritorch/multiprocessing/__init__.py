"""tritorch.multiprocessing: Python's multiprocessing (every name of it, as torch.multiprocessing re-exports them)
plus torch's sharing-strategy functions and `spawn` / `start_processes` with PyTorch's signatures and errors.

Tensors travel through multiprocessing's queues and pipes (and a spawned process's arguments) (reductions.py): a
cpu tensor in shared memory (`share_memory_()`, a memfd mapping) as its file descriptor, so the receiver maps the
same memory (Hogwild-style training works with fork and spawn); any other tensor by copy. That is PyTorch's
file_descriptor strategy; the strategy setting is recorded and validated for scripts that set it, and changes
nothing else.
"""
import multiprocessing
import sys
from multiprocessing import *  # noqa: F401,F403

from .reductions import init_reductions
from .spawn import (  # noqa: F401
    ProcessContext, ProcessException, ProcessExitedException, ProcessRaisedException, spawn, start_processes,
)

init_reductions()

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies"]
__all__ += multiprocessing.__all__  # type: ignore[attr-defined]

# PyTorch's strategies: file descriptors by default where the OS has them, file_system on macOS
if sys.platform == "darwin":
    _sharing_strategy = "file_system"
    _all_sharing_strategies = {"file_system"}
else:
    _sharing_strategy = "file_descriptor"
    _all_sharing_strategies = {"file_descriptor", "file_system"}


def set_sharing_strategy(new_strategy) -> None:
    """Set the strategy for sharing CPU tensors; one of get_all_sharing_strategies()."""
    global _sharing_strategy
    assert new_strategy in _all_sharing_strategies, (
        f"invalid sharing strategy {new_strategy!r}, expected one of {_all_sharing_strategies}")
    _sharing_strategy = new_strategy


def get_sharing_strategy():
    return _sharing_strategy


def get_all_sharing_strategies():
    return _all_sharing_strategies
