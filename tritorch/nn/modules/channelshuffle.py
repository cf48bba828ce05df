"""torch.nn.modules.channelshuffle: ChannelShuffle under PyTorch's module name (resample.py)."""
from .resample import ChannelShuffle

__all__ = ["ChannelShuffle"]
