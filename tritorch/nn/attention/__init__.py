"""tritorch.nn.attention: torch.nn.attention's SDPBackend and sdpa_kernel.

What the selection means here: tritorch's scaled_dot_product_attention has one implementation per device, the
NumPy fallback on the cpu (PyTorch's MATH semantics) and a flash-attention-style tiled Triton kernel on cuda,
and the device alone picks it. sdpa_kernel validates its argument as PyTorch does, makes the selection visible
to code that queries it (`enabled_backends()`, and torch.backends.cuda's flash_sdp_enabled() and friends, whose
enable_*_sdp setters change the same selection) and restores the previous selection on exit, but it never changes
which kernel runs and never refuses a call: a script that narrows the backends (for determinism, or to force
flash attention) runs tritorch's one kernel for the device.
"""
import contextlib
import enum

__all__ = ["SDPBackend", "WARN_FOR_UNFUSED_KERNELS", "enabled_backends", "sdpa_kernel"]

WARN_FOR_UNFUSED_KERNELS = False


class SDPBackend(enum.IntEnum):
    """The scaled-dot-product-attention backends PyTorch names, with its values."""
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __str__(self) -> str:  # PyTorch's, not IntEnum's bare number
        return f"SDPBackend.{self.name}"


_ALL = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH, SDPBackend.CUDNN_ATTENTION,
        SDPBackend.OVERRIDEABLE]
_enabled = list(_ALL)  # the current selection, in priority order


def _set_enabled(backends: list) -> None:
    """Replace the selection (torch.backends.cuda's enable_*_sdp setters)."""
    global _enabled
    _enabled = list(backends)


def enabled_backends() -> list:
    """The backends the innermost sdpa_kernel selected (all of them outside one), in priority order."""
    return list(_enabled)


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority: bool = False):
    """Select the attention backends inside the block (see the module docstring for what that changes here)."""
    global _enabled
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError("Backend must be an instance of SDPBackend or a list of SDPBackend instances, "
                             f"got {type(backends).__name__}")
    backends = [backends] if isinstance(backends, SDPBackend) else list(dict.fromkeys(backends))
    if not all(isinstance(b, SDPBackend) for b in backends):
        raise AssertionError("Backend must be an instance of SDPBackend or a list of SDPBackend instances")
    previous = _enabled
    ordered = backends if set_priority else [b for b in _ALL if b in backends]
    _enabled = ordered
    try:
        yield {}
    finally:
        _enabled = previous
