"""torch.backends.opt_einsum: tritorch's einsum contracts with NumPy's own path search, not the opt_einsum
package, so this backend is unavailable (as in PyTorch without opt_einsum installed)."""
from __future__ import annotations

__all__ = ["is_available", "get_opt_einsum", "enabled", "strategy"]

enabled = False
strategy = None


def is_available() -> bool:
    return False


def get_opt_einsum():
    return None
