"""tritorch.nn: modules, layers, losses, functional ops, init, utils (PyTorch-shaped).

    import tritorch as tt
    import tritorch.nn as nn
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    loss = nn.functional.cross_entropy(model(x), y)
"""
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter  # noqa: F401
from . import functional, init  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules.module import Module  # noqa: F401
from . import utils  # noqa: F401
from . import parallel  # noqa: F401
from . import attention, grad  # noqa: F401
from .parallel import DataParallel  # noqa: F401
from . import modules  # noqa: F401
