"""torch.functional: the home PyTorch gives some of its Python-level functions (`import torch.functional as F`
then `F.einsum`, `F.split`, ...). They are tritorch's own functions, re-exported under that module name."""
from __future__ import annotations

__all__ = ["atleast_1d", "atleast_2d", "atleast_3d", "broadcast_shapes", "broadcast_tensors", "cartesian_prod",
           "block_diag", "cdist", "chain_matmul", "einsum", "istft", "lu", "norm", "meshgrid", "pca_lowrank", "split",
           "stft", "svd_lowrank", "tensordot", "unique", "unique_consecutive", "unravel_index"]


def __getattr__(name: str):
    # (resolved on use: tritorch's namespace is complete only once the package has loaded)
    if name in __all__:
        import tritorch
        return getattr(tritorch, name)
    raise AttributeError(f"module 'tritorch.functional' has no attribute '{name}'")


def __dir__() -> list:
    return sorted(__all__)
