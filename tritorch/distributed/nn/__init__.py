"""torch.distributed.nn: collectives that autograd differentiates through (see functional)."""
from . import functional  # noqa: F401
from .functional import all_gather, all_reduce  # noqa: F401
