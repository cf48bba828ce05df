"""torch.nn.parallel.distributed: the module PyTorch defines DistributedDataParallel in (imported from here by
libraries that name the full path)."""
from .._ddp import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
