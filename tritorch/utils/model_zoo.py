"""torch.utils.model_zoo: the older names of torch.hub's download helpers (load_url is load_state_dict_from_url),
and the progress bar class torchvision imports from here."""
from tqdm import tqdm

from ..hub import load_state_dict_from_url as load_url

__all__ = ["load_url", "tqdm"]
