"""torch.nn.modules.upsampling: Upsample and its 2-D forms under PyTorch's module name (resample.py)."""
from .resample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]
