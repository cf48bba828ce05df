"""torch.utils.tensorboard: SummaryWriter, writing TensorBoard event files without TensorFlow or tensorboard."""
from .writer import FileWriter, SummaryWriter  # noqa: F401

__all__ = ["FileWriter", "SummaryWriter"]
