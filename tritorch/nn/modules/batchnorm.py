"""torch.nn.modules.batchnorm: the batch-norm layers under PyTorch's module name (they live in normalization.py,
lazy.py and sync_batchnorm.py); code checks `isinstance(m, nn.modules.batchnorm._BatchNorm)` to find them."""
from .lazy import LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, _BatchNorm, _NormBase
from .sync_batchnorm import SyncBatchNorm

__all__ = ["BatchNorm1d", "LazyBatchNorm1d", "BatchNorm2d", "LazyBatchNorm2d", "BatchNorm3d", "LazyBatchNorm3d",
           "SyncBatchNorm"]
_ = (_BatchNorm, _NormBase)
