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
    return _backend.device_count()


def current_device() -> int:
    from ..device import CUDA
    return CUDA.index


def set_device(device) -> None:
    """Make `device` (an index, "cuda:i" or a device) the process's cuda device. tritorch drives one GPU per
    process, as a torchrun worker does: the device can be chosen until the first cuda work (a tensor, a stream),
    then it is fixed (choosing another raises). A negative index changes nothing, as in PyTorch."""
    from ..device import CUDA, bind_cuda_index
    from ._device import device_index
    index = device_index(device)
    if index < 0 or index == CUDA.index:
        return
    if _backend.started():
        raise RuntimeError(
            f"torch.cuda.set_device({index}): tritorch drives one cuda device per process and this process has "
            f"already run cuda work on cuda:{CUDA.index}; choose the device before the first cuda tensor "
            "(as a torchrun worker does with its LOCAL_RANK)")
    bind_cuda_index(index)


def get_device_name(device=None) -> str:
    from ._device import get_device_properties
    return get_device_properties(device).name


def get_device_capability(device=None) -> tuple:
    from ._device import get_device_properties
    props = get_device_properties(device)
    return (props.major, props.minor)


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
