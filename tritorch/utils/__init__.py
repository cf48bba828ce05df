"""tritorch.utils."""
from . import benchmark, checkpoint, data, hooks  # noqa: F401
