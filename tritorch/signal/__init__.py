"""torch.signal: window functions (signal.windows)."""
from . import windows  # noqa: F401

__all__ = ["windows"]
