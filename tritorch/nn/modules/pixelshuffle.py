"""torch.nn.modules.pixelshuffle: PixelShuffle / PixelUnshuffle under PyTorch's module name (resample.py);
pytorch/examples' super_resolution loads its model through this path."""
from .resample import PixelShuffle, PixelUnshuffle

__all__ = ["PixelShuffle", "PixelUnshuffle"]
