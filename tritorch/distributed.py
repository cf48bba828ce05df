"""tritorch.distributed: torch.distributed's API for exactly one process (world size 1, rank 0).

tritorch runs one process on one device and has no communication backend. This module exists so that a training
script written for torch.distributed runs unchanged when launched as a single process (`python train.py`, or
`torchrun --nproc_per_node=1`): `init_process_group` accepts the "gloo" and "nccl" backends with world size 1 and
rank 0 (from its arguments or the WORLD_SIZE / RANK environment variables a launcher sets; unset means 1 and 0),
and every collective returns what PyTorch returns on a single rank: all_reduce/broadcast/reduce leave the tensor
as it is, all_gather/gather/scatter copy the one rank's tensor, and so on. A world size other than 1 raises a
RuntimeError saying that tritorch runs one process. Nothing is sent anywhere; no store, no sockets.
"""
from __future__ import annotations

import enum
import os

from .autograd.grad_mode import no_grad

__all__ = [
    "Backend", "GroupMember", "ProcessGroup", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor",
    "all_gather_object", "all_reduce", "barrier", "broadcast", "broadcast_object_list", "destroy_process_group",
    "gather", "get_backend", "get_rank", "get_world_size", "group", "init_process_group", "is_available",
    "is_gloo_available", "is_initialized", "is_nccl_available", "is_torchelastic_launched", "monitored_barrier",
    "new_group", "reduce", "reduce_scatter_tensor", "scatter",
]

_NOT_INITIALIZED = "Default process group has not been initialized, please make sure to call init_process_group."


class ReduceOp(enum.Enum):
    """The reductions a collective can apply; on one rank every one of them leaves the values as they are."""
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8

    def __repr__(self) -> str:
        return f"<RedOpType.{self.name}: {self.value}>"

    def __str__(self) -> str:
        return f"RedOpType.{self.name}"


class Backend(str):
    """A backend name, lower-cased as PyTorch's Backend does ("gloo", "nccl")."""
    GLOO = "gloo"
    NCCL = "nccl"

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, but got {type(name)}")
        return super().__new__(cls, name.lower())


class ProcessGroup:
    """A group of ranks; here always the one process, rank 0 of size 1."""

    def __init__(self, backend: str):
        self._backend = backend

    def rank(self) -> int:
        return 0

    def size(self) -> int:
        return 1

    def name(self) -> str:
        return self._backend


class Work:
    """What an async_op=True collective returns: the work is already done when the call returns."""

    def wait(self, timeout=None) -> bool:
        return True

    def is_completed(self) -> bool:
        return True

    def is_success(self) -> bool:
        return True


class GroupMember:
    """GroupMember.WORLD: the default group once init_process_group has run, else None."""
    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = -100


group = GroupMember  # torch.distributed.group.WORLD is the same object


def is_available() -> bool:
    return True


def is_nccl_available() -> bool:
    return True


def is_gloo_available() -> bool:
    return True


def is_torchelastic_launched() -> bool:
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


def is_initialized() -> bool:
    return GroupMember.WORLD is not None


def _env_int(name: str, given: int, unset: int) -> int:
    if given != -1:
        return int(given)
    value = os.environ.get(name)
    return unset if value is None else int(value)


def init_process_group(backend: str | None = None, init_method: str | None = None, timeout=None,
                       world_size: int = -1, rank: int = -1, store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """Start the default group of one process; see the module docstring for what that means here."""
    if GroupMember.WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = "gloo" if backend is None else str(backend).lower()
    # "cpu:gloo,cuda:nccl" names a backend per device type: each one must be one tritorch accepts
    names = [part.split(":")[-1] for part in name.split(",")]
    if not all(n in (Backend.GLOO, Backend.NCCL) for n in names):
        raise ValueError(f"Invalid backend {backend!r}: tritorch.distributed accepts 'gloo' and 'nccl' "
                         "(one process, nothing communicated)")
    world_size = _env_int("WORLD_SIZE", world_size, 1)
    rank = _env_int("RANK", rank, 0)
    if world_size != 1:
        raise RuntimeError(f"tritorch runs one process: init_process_group needs world_size 1, got {world_size}; "
                           "launch the script as a single process")
    if rank != 0:
        raise RuntimeError(f"tritorch runs one process: its rank is 0, got rank {rank}")
    GroupMember.WORLD = ProcessGroup(name)


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    if GroupMember.WORLD is None:
        raise AssertionError("Process group cannot be None")
    if group is None or group is GroupMember.WORLD:
        GroupMember.WORLD = None


def _world(group: ProcessGroup | None = None) -> ProcessGroup:
    if GroupMember.WORLD is None:
        raise ValueError(_NOT_INITIALIZED)
    return GroupMember.WORLD if group is None else group


def get_rank(group: ProcessGroup | None = None) -> int:
    return _world(group).rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    return _world(group).size()


def get_backend(group: ProcessGroup | None = None) -> str:
    return Backend(_world(group).name())


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization: bool = False,
              group_desc=None, device_id=None, sort_ranks: bool = True) -> ProcessGroup:
    world = _world()
    if ranks is not None and len(ranks) > 1:
        raise ValueError("the new group's world size should be less or equal to the world size set by "
                         "init_process_group")
    if ranks is not None and any(r != 0 for r in ranks):
        raise ValueError(f"The new group's rank should be within the world_size set by init_process_group: {ranks}")
    return ProcessGroup(world.name() if backend is None else Backend(backend))


def _done(async_op: bool):
    return Work() if async_op else None


def _check_root(root, what: str, op: str) -> None:
    if root not in (None, 0):
        raise RuntimeError(f"{op}: invalid {what} rank: {root} (tritorch runs one process, rank 0)")


def _copy(dst, src) -> None:
    """Collectives write into their output tensors in place, outside autograd, as PyTorch's c10d ops do."""
    with no_grad():
        dst.copy_(src.reshape(dst.shape))


def barrier(group=None, async_op: bool = False, device_ids=None, timeout=None):
    _world(group)
    return _done(async_op)


def monitored_barrier(group=None, timeout=None, wait_all_ranks: bool = False) -> None:
    _world(group)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """The sum (or min, max, product, mean, ...) over one rank: `tensor` unchanged."""
    _world(group)
    return _done(async_op)


def reduce(tensor, dst: int | None = None, op=ReduceOp.SUM, group=None, async_op: bool = False,
           group_dst: int | None = None):
    _world(group)
    _check_root(dst if group_dst is None else group_dst, "root", "reduce")
    return _done(async_op)


def broadcast(tensor, src: int | None = None, group=None, async_op: bool = False, group_src: int | None = None):
    _world(group)
    _check_root(src if group_src is None else group_src, "root", "broadcast")
    return _done(async_op)


def _check_list(tensor_list, tensor, op: str) -> None:
    if len(tensor_list) != 1:
        raise RuntimeError(f"{op}: invalid tensor list (expected length 1, got {len(tensor_list)})")
    if tuple(tensor_list[0].shape) != tuple(tensor.shape):
        raise RuntimeError(f"{op}: invalid tensor size at index 0 (expected {tuple(tensor.shape)}, "
                           f"got {tuple(tensor_list[0].shape)})")


def all_gather(tensor_list, tensor, group=None, async_op: bool = False):
    """tensor_list (one tensor per rank: one) receives `tensor`."""
    _world(group)
    _check_list(tensor_list, tensor, "all_gather")
    _copy(tensor_list[0], tensor)
    return _done(async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """output_tensor (world_size times input_tensor's size, concatenated or stacked) receives input_tensor."""
    _world(group)
    if output_tensor.numel() != input_tensor.numel():
        raise RuntimeError("all_gather_into_tensor: output tensor size must be equal to world_size (1) times input "
                           f"tensor size, got {tuple(output_tensor.shape)} and {tuple(input_tensor.shape)}")
    _copy(output_tensor, input_tensor)
    return _done(async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op: bool = False):  # noqa: A002
    """output receives this rank's share of the reduction over ranks of `input`: all of it, unchanged."""
    _world(group)
    if output.numel() != input.numel():
        raise RuntimeError("reduce_scatter_tensor: input tensor size must be equal to world_size (1) times output "
                           f"tensor size, got {tuple(input.shape)} and {tuple(output.shape)}")
    _copy(output, input)
    return _done(async_op)


def gather(tensor, gather_list=None, dst: int | None = None, group=None, async_op: bool = False,
           group_dst: int | None = None):
    _world(group)
    _check_root(dst if group_dst is None else group_dst, "root", "gather")
    if gather_list is None:
        raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
    _check_list(gather_list, tensor, "gather")
    _copy(gather_list[0], tensor)
    return _done(async_op)


def scatter(tensor, scatter_list=None, src: int | None = None, group=None, async_op: bool = False,
            group_src: int | None = None):
    _world(group)
    _check_root(src if group_src is None else group_src, "root", "scatter")
    if scatter_list is None:
        raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
    _check_list(scatter_list, tensor, "scatter")
    _copy(tensor, scatter_list[0])
    return _done(async_op)


def all_gather_object(object_list, obj, group=None) -> None:
    _world(group)
    if len(object_list) != 1:
        raise RuntimeError(f"all_gather_object: object_list must have world_size (1) entries, got {len(object_list)}")
    object_list[0] = obj


def broadcast_object_list(object_list, src: int | None = None, group=None, device=None,
                          group_src: int | None = None) -> None:
    _world(group)
    _check_root(src if group_src is None else group_src, "root", "broadcast_object_list")
