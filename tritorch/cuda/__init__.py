"""tritorch.cuda: availability, synchronisation and memory statistics of the cuda device.

On a machine with no GPU, setting TRITON_INTERPRET=1 before importing tritorch makes the cuda device available
through Triton's interpreter (host memory, the same kernels).
"""
from __future__ import annotations

from ..backends import cuda as _backend


def is_available() -> bool:
    return _backend.is_available()


def is_interpreter() -> bool:
    """True when cuda tensors run through Triton's interpreter on the CPU."""
    return _backend.INTERPRET


def device_count() -> int:
    return 1 if is_available() else 0


def current_device() -> int:
    return 0


def set_device(device) -> None:
    if int(getattr(device, "index", device) or 0) != 0:
        raise RuntimeError("tritorch uses one GPU (index 0)")


def get_device_name(device=None) -> str:
    if _backend.INTERPRET:
        return "Triton interpreter (CPU)"
    return _backend.DRIVER.init().name


def get_device_capability(device=None) -> tuple:
    if _backend.INTERPRET:
        return (0, 0)
    return _backend.DRIVER.init().capability


def synchronize(device=None) -> None:
    _backend.synchronize()


def manual_seed(seed: int) -> None:
    from ..ops import random
    random.manual_seed(seed)


manual_seed_all = manual_seed


# One generator serves every device (ops/random.py): the cuda RNG state is the default generator's.
def get_rng_state(device="cuda"):
    from ..ops import random
    return random.get_rng_state()


def set_rng_state(new_state, device="cuda") -> None:
    from ..ops import random
    random.set_rng_state(new_state)


def get_rng_state_all() -> list:
    return [get_rng_state()]


def set_rng_state_all(new_states) -> None:
    for state in new_states:
        set_rng_state(state)


def seed() -> None:
    from ..ops import random
    random.seed()


seed_all = seed


def initial_seed() -> int:
    from ..ops import random
    return random.initial_seed()
from . import amp  # noqa: E402,F401
from . import graphs, memory, nvtx  # noqa: E402,F401
from ._device import *  # noqa: E402,F401,F403
from ._monitoring import *  # noqa: E402,F401,F403
from .graphs import CUDAGraph, graph, graph_pool_handle, is_current_stream_capturing, make_graphed_callables  # noqa
from .memory import *  # noqa: E402,F401,F403
from .streams import (Event, Stream, StreamContext, current_stream, default_stream, set_stream,  # noqa: E402,F401
                      stream)


def __getattr__(name: str):
    """tritorch.cuda.FloatTensor, ...: the legacy cuda tensor types (ops/legacy_types.py), looked up when first used
    so that this package does not import the ops at its own import."""
    from ..ops.legacy_types import CUDA_TYPES
    if name in CUDA_TYPES:
        return CUDA_TYPES[name]
    raise AttributeError(f"module 'tritorch.cuda' has no attribute '{name}'")
