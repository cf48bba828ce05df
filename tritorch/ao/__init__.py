"""torch.ao: PyTorch's architecture-optimisation namespace; tritorch has its quantization stubs' float forms only
(see ao/quantization)."""
from . import quantization

__all__ = ["quantization"]
