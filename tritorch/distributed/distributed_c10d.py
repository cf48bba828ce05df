"""torch.distributed.distributed_c10d: the module PyTorch defines its process-group API in (libraries import
names from this path). The same objects as tritorch.distributed's, and _get_default_group."""
from . import *  # noqa: F401,F403
from . import __all__ as _public
from . import _world

__all__ = [*_public, "_get_default_group"]


def _get_default_group():
    """The default (world) process group; PyTorch's ValueError when init_process_group has not run."""
    return _world()
