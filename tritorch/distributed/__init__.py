"""tritorch.distributed: torch.distributed's process groups and collectives, across processes.

`init_process_group` meets the other ranks through a store (env:// reads MASTER_ADDR / MASTER_PORT, tcp://host:port,
file:///path, or a Store given as store=), then connects every pair of ranks by TCP (distributed/_mesh.py). The
collectives run on host memory with NumPy: ring all-reduce, reduce-scatter and all-gather, direct broadcast,
gather, scatter and all-to-all, point-to-point send/recv, and the object collectives (pickled, as PyTorch's
are). cuda tensors are staged through the host, so "nccl" names the same transport as "gloo": it is correct on
GPUs, not fast. Every rank must call the same collectives in the same order (PyTorch's rule); a tensor whose
size differs between ranks is an error, not garbled data. async_op=True returns a Work that is already complete,
except for isend/irecv, which run on a thread (so that two ranks may isend to each other before they irecv).

With world size 1 (the default when nothing says otherwise) no store or socket is made, and every collective
gives what PyTorch gives on one rank.
"""
from __future__ import annotations

import datetime
import enum
import os
import pickle
import socket
import threading
import urllib.parse

import numpy as np

from ..autograd.grad_mode import no_grad
from ._mesh import Mesh
from .store import (DistBackendError, DistError, DistNetworkError, DistStoreError, FileStore, HashStore, PrefixStore,
                    Store, TCPStore)

__all__ = [
    "DistBackendError", "DistError", "DistNetworkError", "DistStoreError", "all_reduce_coalesced", "default_pg_timeout",
    "get_node_local_rank", "get_pg_count", "is_backend_available", "new_subgroups", "new_subgroups_by_enumeration",
    "recv_object_list", "reduce_op", "send_object_list",
    "Backend", "FileStore", "GroupMember", "HashStore", "P2POp", "PrefixStore", "ProcessGroup", "ReduceOp", "Store",
    "TCPStore", "Work", "GradBucket", "all_gather", "all_gather_into_tensor", "all_gather_object", "all_reduce",
    "all_to_all",
    "all_to_all_single", "barrier", "batch_isend_irecv", "broadcast", "broadcast_object_list",
    "destroy_process_group", "gather", "gather_object", "get_backend", "get_default_backend_for_device",
    "get_global_rank", "get_group_rank",
    "get_process_group_ranks", "get_rank", "get_world_size", "group", "init_process_group", "irecv",
    "is_available", "is_gloo_available", "is_initialized", "is_nccl_available", "is_torchelastic_launched", "isend",
    "monitored_barrier", "new_group", "recv", "reduce", "reduce_scatter", "reduce_scatter_tensor", "scatter",
    "scatter_object_list", "send",
]

_NOT_INITIALIZED = "Default process group has not been initialized, please make sure to call init_process_group."
from .constants import default_pg_timeout  # noqa: E402

DEFAULT_TIMEOUT = default_pg_timeout


class ReduceOp(enum.Enum):
    """The reductions a collective can apply."""
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


reduce_op = ReduceOp   # (PyTorch's deprecated name)
# PyTorch's members are of the nested type ReduceOp.RedOpType (annotations and isinstance checks name it); here the
# enum is that type itself.
ReduceOp.RedOpType = ReduceOp

_UFUNCS = {ReduceOp.SUM: np.add, ReduceOp.AVG: np.add, ReduceOp.PRODUCT: np.multiply, ReduceOp.MIN: np.minimum,
           ReduceOp.MAX: np.maximum, ReduceOp.BAND: np.bitwise_and, ReduceOp.BOR: np.bitwise_or,
           ReduceOp.BXOR: np.bitwise_xor}


class Backend(str):
    """A backend name, lower-cased as PyTorch's Backend does ("gloo", "nccl")."""
    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    backend_list = [UNDEFINED, GLOO, NCCL]             # the backends tritorch's process groups implement
    default_device_backend_map = {"cpu": GLOO, "cuda": NCCL}

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, but got {type(name)}")
        return super().__new__(cls, name.lower())


class ProcessGroup:
    """A group of ranks: its backend name, its members' global ranks, this process's rank in it, and (when it has
    more than one member) the connections to the others."""

    def __init__(self, backend: str, ranks: list, rank: int, mesh: Mesh | None = None, store: Store | None = None):
        self._backend = backend
        self._ranks = list(ranks)
        self._rank = rank
        self.mesh = mesh
        self.store = store

    def rank(self) -> int:
        return self._rank

    def size(self) -> int:
        return len(self._ranks)

    def name(self) -> str:
        return self._backend

    def close(self) -> None:
        if self.mesh is not None:
            self.mesh.close()
            self.mesh = None


class Work:
    """What an async_op=True call returns: complete at once, or (isend/irecv) running on a thread. `outputs`: the
    tensors the collective wrote (all_reduce's, broadcast's), the value of get_future()."""

    def __init__(self, thread: threading.Thread | None = None, errors: list | None = None, outputs=None):
        self._thread, self._errors, self._outputs = thread, errors, outputs

    def get_future(self):
        """A Future completed with the list of tensors the collective wrote (DDP communication hooks chain on
        it), or with an empty list for a collective without outputs."""
        from ..futures import Future
        self.wait()
        fut = Future()
        fut.set_result(list(self._outputs or ()))
        return fut

    def wait(self, timeout=None) -> bool:
        if self._thread is not None:
            self._thread.join(None if timeout is None else _seconds(timeout))
            if self._thread.is_alive():
                raise RuntimeError("Work.wait: timed out")
            if self._errors:
                raise self._errors[0]
        return True

    def is_completed(self) -> bool:
        return self._thread is None or not self._thread.is_alive()

    def is_success(self) -> bool:
        return self.is_completed() and not self._errors

    def result(self) -> list:
        self.wait()
        return []


class GradBucket:
    """What a DDP communication hook receives (DistributedDataParallel.register_comm_hook): one bucket of
    gradients, flattened into one 1-D tensor (`buffer()`) in `parameters()` order."""

    def __init__(self, index: int, buffer, parameters: list, is_last: bool):
        self._index, self._buffer, self._parameters, self._is_last = index, buffer, parameters, is_last

    def index(self) -> int:
        return self._index

    def buffer(self):
        return self._buffer

    def set_buffer(self, buffer) -> None:
        self._buffer = buffer

    def is_last(self) -> bool:
        return self._is_last

    def parameters(self) -> list:
        return list(self._parameters)

    def gradients(self) -> list:
        """Views of buffer() shaped as each parameter."""
        out, offset = [], 0
        for p in self._parameters:
            out.append(self._buffer[offset:offset + p.numel()].view(tuple(p.shape)))
            offset += p.numel()
        return out


class GroupMember:
    """GroupMember.WORLD: the default group once init_process_group has run, else None."""
    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = -100


group = GroupMember  # torch.distributed.group.WORLD is the same object
_STATE = {"groups": 0, "store": None}


def _seconds(t) -> float:
    return t.total_seconds() if isinstance(t, datetime.timedelta) else float(t)


def is_available() -> bool:
    return True


def is_nccl_available() -> bool:
    return True


def is_gloo_available() -> bool:
    return True


def is_torchelastic_launched() -> bool:
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


def get_default_backend_for_device(device) -> str:
    """torch.distributed.get_default_backend_for_device: "nccl" for cuda, "gloo" for the cpu."""
    kind = device if isinstance(device, str) else getattr(device, "type", str(device))
    kind = kind.split(":")[0]
    if kind not in Backend.default_device_backend_map:
        raise ValueError(f"Default backend not registered for device : {device}")
    return Backend.default_device_backend_map[kind]


def is_backend_available(backend: str) -> bool:
    return str(backend).lower() in (Backend.GLOO, Backend.NCCL)


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank on its node: LOCAL_RANK (a launcher sets it), else fallback_rank."""
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
                       "`get_node_local_rank` to work, assuming you are not running in a multi-device context and "
                       "want the code to run locally instead.")


def get_pg_count() -> int:
    """The process groups made so far: the default one and those new_group made."""
    return 0 if GroupMember.WORLD is None else 1 + _STATE["groups"]


def is_initialized() -> bool:
    return GroupMember.WORLD is not None


# --------------------------------------------------------------------------------------------- rendezvous

def _env_int(name: str, given: int, unset: int | None) -> int | None:
    if given is not None and given != -1:
        return int(given)
    value = os.environ.get(name)
    return unset if value is None else int(value)


def _check_backend(backend) -> str:
    name = "gloo" if backend is None else str(backend).lower()
    # "cpu:gloo,cuda:nccl" names a backend per device type: each one must be one tritorch accepts
    names = [part.split(":")[-1] for part in name.split(",")]
    if not all(n in (Backend.GLOO, Backend.NCCL) for n in names):
        raise ValueError(f"Invalid backend {backend!r}: tritorch.distributed accepts 'gloo' and 'nccl' (both "
                         "run over TCP between host buffers)")
    return name


def _store_from(init_method: str | None, rank: int, world_size: int, timeout) -> Store:
    """The rendezvous store an init_method names (PyTorch's env://, tcp://, file:// forms)."""
    url = urllib.parse.urlparse(init_method or "env://")
    if url.scheme == "env":
        addr, port = os.environ.get("MASTER_ADDR"), os.environ.get("MASTER_PORT")
        for var, value in (("MASTER_ADDR", addr), ("MASTER_PORT", port)):
            if value is None:
                raise ValueError(f"Error initializing torch.distributed using env:// rendezvous: environment "
                                 f"variable {var} expected, but not set")
        return TCPStore(addr, int(port), world_size, rank == 0, timeout)
    if url.scheme == "tcp":
        if url.port is None:
            raise ValueError(f"Error initializing torch.distributed using tcp:// rendezvous: port number missing in "
                             f"{init_method!r}")
        return TCPStore(url.hostname or "127.0.0.1", url.port, world_size, rank == 0, timeout)
    if url.scheme == "file":
        store = FileStore(urllib.parse.unquote(url.path), world_size)
        store.set_timeout(timeout)
        return store
    raise ValueError(f"No rendezvous handler for {url.scheme}://")


def _url_int(init_method: str | None, key: str):
    if not init_method:
        return None
    values = urllib.parse.parse_qs(urllib.parse.urlparse(init_method).query).get(key)
    return int(values[0]) if values else None


def _advertised_host(store: Store) -> str:
    """The address the other ranks reach this one at: the one it reaches the store's master from."""
    base = store.underlying_store if isinstance(store, PrefixStore) else store
    if isinstance(base, TCPStore):
        return base.local_address()
    host = os.environ.get("TRITORCH_DIST_ADDR")
    if host:
        return host
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def init_process_group(backend: str | None = None, init_method: str | None = None, timeout=None,
                       world_size: int = -1, rank: int = -1, store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """Join the default group: world size and rank from the arguments, the init_method's query (?rank=..&
    world_size=..) or WORLD_SIZE / RANK (unset: one process, rank 0); blocks until every rank has joined."""
    if GroupMember.WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = _check_backend(backend)
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    world_size = _env_int("WORLD_SIZE", world_size if world_size != -1 else _url_int(init_method, "world_size"), 1)
    rank = _env_int("RANK", rank if rank != -1 else _url_int(init_method, "rank"), 0)
    if world_size < 1:
        raise ValueError(f"world_size must be positive, got {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"Invalid rank {rank} for world size {world_size}: a rank lies in [0, world_size - 1]")
    if world_size == 1 and store is None:
        GroupMember.WORLD = ProcessGroup(name, [0], 0)
        return
    if store is None:
        store = _store_from(init_method, rank, world_size, timeout)
    else:
        store.set_timeout(timeout)
    _STATE["store"], _STATE["groups"] = store, 0
    pg_store = PrefixStore("default_pg", store)
    mesh = Mesh(pg_store, rank, world_size, _advertised_host(store), _seconds(timeout))
    GroupMember.WORLD = ProcessGroup(name, list(range(world_size)), rank, mesh, pg_store)
    barrier()


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    if GroupMember.WORLD is None:
        raise AssertionError("Process group cannot be None")
    if group is None or group is GroupMember.WORLD:
        GroupMember.WORLD.close()
        GroupMember.WORLD = None
        _STATE["store"] = None
    else:
        group.close()


def _world(group: ProcessGroup | None = None) -> ProcessGroup:
    if GroupMember.WORLD is None:
        raise ValueError(_NOT_INITIALIZED)
    if group is None:
        return GroupMember.WORLD
    if group == GroupMember.NON_GROUP_MEMBER:
        raise RuntimeError("this rank is not a member of the group")
    return group


def get_rank(group: ProcessGroup | None = None) -> int:
    if group == GroupMember.NON_GROUP_MEMBER:
        return -1
    return _world(group).rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    if group == GroupMember.NON_GROUP_MEMBER:
        return -1
    return _world(group).size()


def get_backend(group: ProcessGroup | None = None) -> str:
    return Backend(_world(group).name())


def get_process_group_ranks(group: ProcessGroup) -> list:
    return list(_world(group)._ranks)


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    ranks = _world(group)._ranks
    if not 0 <= group_rank < len(ranks):
        raise ValueError(f"Group rank {group_rank} is not part of the group")
    return ranks[group_rank]


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    ranks = _world(group)._ranks
    if global_rank not in ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {group}")
    return ranks.index(global_rank)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization: bool = False,
              group_desc=None, device_id=None, sort_ranks: bool = True):
    """A group of some ranks (every rank of the world calls it, in the same order); non-members get
    GroupMember.NON_GROUP_MEMBER. Members connect among themselves through the world's store."""
    world = _world()
    ranks = list(range(world.size())) if ranks is None else [int(r) for r in ranks]
    if sort_ranks:
        ranks = sorted(ranks)
    if len(set(ranks)) != len(ranks) or any(not 0 <= r < world.size() for r in ranks):
        raise ValueError(f"The new group's rank should be within the world_size set by init_process_group: {ranks}")
    name = world.name() if backend is None else _check_backend(backend)
    _STATE["groups"] += 1
    me = world.rank()
    if me not in ranks:
        return GroupMember.NON_GROUP_MEMBER
    local = ranks.index(me)
    if len(ranks) == 1 or world.mesh is None:
        return ProcessGroup(name, ranks, local)
    store = PrefixStore(f"group_{_STATE['groups']}", _STATE["store"])
    seconds = _seconds(world.mesh.timeout if timeout is None else timeout) if world.mesh.timeout else None
    return ProcessGroup(name, ranks, local, Mesh(store, local, len(ranks), _advertised_host(_STATE["store"]),
                                                 seconds), store)


def new_subgroups_by_enumeration(ranks_per_subgroup_list, timeout=None, backend=None, pg_options=None,
                                 group_desc=None):
    """One group per list of ranks (every rank calls it); returns (this rank's group or None, all of them)."""
    mine, groups = None, []
    for ranks in ranks_per_subgroup_list:
        g = new_group(ranks, timeout=timeout, backend=backend)
        groups.append(g)
        if g != GroupMember.NON_GROUP_MEMBER:
            mine = g
    return mine, groups


def new_subgroups(group_size=None, group=None, timeout=None, backend=None, pg_options=None, group_desc=None):
    """The world cut into groups of group_size consecutive ranks (default: the ranks of one node,
    LOCAL_WORLD_SIZE); returns (this rank's group, all of them)."""
    world = _world(group).size()
    size = int(group_size if group_size is not None else os.environ.get("LOCAL_WORLD_SIZE", world))
    if size <= 0 or world % size:
        raise ValueError(f"The world size ({world}) must be divisible by the group size ({size})")
    return new_subgroups_by_enumeration([list(range(i, i + size)) for i in range(0, world, size)], timeout, backend)


# ---------------------------------------------------------------------------------------- tensor staging

def _done(async_op: bool, outputs=None):
    return Work(outputs=outputs) if async_op else None


def _host(t) -> np.ndarray:
    """A C-contiguous host copy (or, for a contiguous cpu tensor, the array itself) of the tensor's values."""
    arr = t._data if t.device.type == "cpu" else t.detach().cpu()._data
    return np.ascontiguousarray(arr)


def _in_place(t) -> np.ndarray | None:
    """The tensor's own array when a collective can write it directly (a contiguous cpu tensor), else None."""
    a = t._data
    return a if t.device.type == "cpu" and isinstance(a, np.ndarray) and a.flags.c_contiguous else None


def _write(t, arr: np.ndarray) -> None:
    """Collectives write their outputs in place, outside autograd, as PyTorch's c10d ops do (the version bumps)."""
    own = _in_place(t)
    if own is not None and arr is own:
        t._version[0] += 1
        return
    from ..tensor import from_array
    with no_grad():
        t.copy_(from_array(np.asarray(arr).reshape(tuple(t.shape))).to(t.device))


def _reducer(op, dtype):
    op = ReduceOp.SUM if op is None else op
    if isinstance(op, str):
        op = ReduceOp[op.upper()]
    if op not in _UFUNCS:
        raise ValueError(f"tritorch.distributed does not support {op}")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and dtype.kind not in "biu":
        raise RuntimeError(f"{op} is defined for integer and bool tensors only")
    ufunc = _UFUNCS[op]
    return op, (lambda acc, incoming: ufunc(acc, incoming, out=acc))


def _finish_avg(op, arr: np.ndarray, n: int) -> None:
    if op is ReduceOp.AVG:
        if arr.dtype.kind in "biu":
            np.floor_divide(arr, n, out=arr)
        else:
            np.divide(arr, n, out=arr, casting="unsafe")


def _multi(g: ProcessGroup) -> bool:
    return g.mesh is not None and g.size() > 1


def _root(given, group_given, g: ProcessGroup, what: str) -> int:
    """A collective's root as a rank of group g (src/dst are global ranks, group_src/group_dst group ranks)."""
    if group_given is not None:
        root = int(group_given)
    elif given is None:
        root = 0
    else:
        if given not in g._ranks:
            raise ValueError(f"{what}: rank {given} is not part of the group (its ranks: {g._ranks})")
        root = g._ranks.index(given)
    if not 0 <= root < g.size():
        raise RuntimeError(f"{what}: invalid root rank {root} for a group of {g.size()}")
    return root


def _check_list(tensor_list, n: int, op: str, like=None) -> None:
    if len(tensor_list) != n:
        raise RuntimeError(f"{op}: invalid tensor list (expected length {n}, got {len(tensor_list)})")
    if like is not None:
        for i, t in enumerate(tensor_list):
            if tuple(t.shape) != tuple(like.shape):
                raise RuntimeError(f"{op}: invalid tensor size at index {i} (expected {tuple(like.shape)}, got "
                                   f"{tuple(t.shape)})")
            if t.dtype is not like.dtype:
                raise RuntimeError(f"{op}: tensors must all have dtype {like.dtype}, got {t.dtype} at index {i}")


# ---------------------------------------------------------------------------------------------- collectives

def barrier(group=None, async_op: bool = False, device_ids=None, timeout=None):
    g = _world(group)
    if _multi(g):
        g.mesh.all_reduce(np.zeros(1, np.int32), lambda acc, inc: np.add(acc, inc, out=acc))
    return _done(async_op)


def monitored_barrier(group=None, timeout=None, wait_all_ranks: bool = False) -> None:
    barrier(group)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """The reduction over every rank of `tensor`, written into it on every rank."""
    g = _world(group)
    if _multi(g):
        op, reduce_ = _reducer(op, tensor.dtype.np)
        own = _in_place(tensor)
        arr = own if own is not None else _host(tensor).copy()
        g.mesh.all_reduce(arr.reshape(-1), reduce_)
        _finish_avg(op, arr, g.size())
        _write(tensor, arr)
    return _done(async_op, [tensor])


def all_reduce_coalesced(tensors, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """all_reduce of every tensor of a list (one flat reduction per dtype and device)."""
    tensors = [tensors] if not isinstance(tensors, (list, tuple)) else list(tensors)
    buckets: dict = {}
    for t in tensors:
        buckets.setdefault((t.dtype, t.device), []).append(t)
    for (dtype, _), ts in buckets.items():
        if len(ts) == 1:
            all_reduce(ts[0], op, group)
            continue
        from ..tensor import from_array
        flat = np.concatenate([_host(t).reshape(-1) for t in ts])
        all_reduce(from_array(flat), op, group)
        offset = 0
        for t in ts:
            _write(t, flat[offset:offset + t.numel()])
            offset += t.numel()
    return _done(async_op)


def reduce(tensor, dst: int | None = None, op=ReduceOp.SUM, group=None, async_op: bool = False,
           group_dst: int | None = None):
    """The reduction over every rank, written into `tensor` at dst (the others keep theirs)."""
    g = _world(group)
    root = _root(dst, group_dst, g, "reduce")
    if _multi(g):
        op, reduce_ = _reducer(op, tensor.dtype.np)
        arr = _host(tensor).copy()
        g.mesh.all_reduce(arr.reshape(-1), reduce_)
        if g.rank() == root:
            _finish_avg(op, arr, g.size())
            _write(tensor, arr)
    return _done(async_op)


def broadcast(tensor, src: int | None = None, group=None, async_op: bool = False, group_src: int | None = None):
    """src's tensor into `tensor` on every rank."""
    g = _world(group)
    root = _root(src, group_src, g, "broadcast")
    if _multi(g):
        own = _in_place(tensor)
        arr = own if own is not None else _host(tensor).copy()
        g.mesh.broadcast(arr, root)
        if g.rank() != root:
            _write(tensor, arr)
    return _done(async_op, [tensor])


def all_gather(tensor_list, tensor, group=None, async_op: bool = False):
    """tensor_list[r] receives rank r's tensor, on every rank."""
    g = _world(group)
    _check_list(tensor_list, g.size(), "all_gather", tensor)
    if not _multi(g):
        _write(tensor_list[0], _host(tensor))
        return _done(async_op)
    chunks = [np.empty(tuple(t.shape), tensor.dtype.np) for t in tensor_list]
    chunks[g.rank()][...] = _host(tensor)
    g.mesh.all_gather_chunks(chunks, g.rank())
    for t, c in zip(tensor_list, chunks):
        _write(t, c)
    return _done(async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """output_tensor (world_size times input_tensor's size, concatenated or stacked) receives every rank's input."""
    g = _world(group)
    n = g.size()
    if output_tensor.numel() != n * input_tensor.numel():
        raise RuntimeError(f"all_gather_into_tensor: output tensor size must be equal to world_size ({n}) times "
                           f"input tensor size, got {tuple(output_tensor.shape)} and {tuple(input_tensor.shape)}")
    out = np.empty(output_tensor.numel(), input_tensor.dtype.np)
    chunks = np.split(out, n)
    chunks[g.rank()][...] = _host(input_tensor).reshape(-1)
    if _multi(g):
        g.mesh.all_gather_chunks(chunks, g.rank())
    _write(output_tensor, out)
    return _done(async_op)


def _reduce_scatter(g, chunks: list, op, out_tensor) -> None:
    op, reduce_ = _reducer(op, chunks[0].dtype)
    if _multi(g):
        g.mesh.reduce_scatter_chunks(chunks, reduce_, 1)
    mine = chunks[g.rank()]
    _finish_avg(op, mine, g.size())
    _write(out_tensor, mine)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """output receives the reduction over ranks of every rank's input_list[this rank]."""
    g = _world(group)
    _check_list(input_list, g.size(), "reduce_scatter", output)
    _reduce_scatter(g, [_host(t).copy() for t in input_list], op, output)
    return _done(async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op: bool = False):  # noqa: A002
    """output receives this rank's share (the rank-th of world_size equal parts) of the reduction of `input`."""
    g = _world(group)
    n = g.size()
    if input.numel() != n * output.numel():
        raise RuntimeError(f"reduce_scatter_tensor: input tensor size must be equal to world_size ({n}) times "
                           f"output tensor size, got {tuple(input.shape)} and {tuple(output.shape)}")
    _reduce_scatter(g, np.split(_host(input).reshape(-1).copy(), n), op, output)
    return _done(async_op)


def gather(tensor, gather_list=None, dst: int | None = None, group=None, async_op: bool = False,
           group_dst: int | None = None):
    """gather_list[r] at dst receives rank r's tensor."""
    g = _world(group)
    root = _root(dst, group_dst, g, "gather")
    if g.rank() == root:
        if gather_list is None:
            raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
        _check_list(gather_list, g.size(), "gather", tensor)
    elif gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    arr = _host(tensor)
    if not _multi(g):
        _write(gather_list[0], arr)
        return _done(async_op)
    outs = [np.empty(tuple(t.shape), tensor.dtype.np) for t in gather_list] if g.rank() == root else None
    g.mesh.gather(arr.reshape(outs[root].shape) if outs else arr, outs, root)
    if outs:
        for t, o in zip(gather_list, outs):
            _write(t, o)
    return _done(async_op)


def scatter(tensor, scatter_list=None, src: int | None = None, group=None, async_op: bool = False,
            group_src: int | None = None):
    """Rank r's tensor receives scatter_list[r] given at src."""
    g = _world(group)
    root = _root(src, group_src, g, "scatter")
    if g.rank() == root:
        if scatter_list is None:
            raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
        _check_list(scatter_list, g.size(), "scatter", tensor)
    elif scatter_list:
        raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    out = np.empty(tuple(tensor.shape), tensor.dtype.np)
    ins = [_host(t).reshape(out.shape) for t in scatter_list] if g.rank() == root else None
    if _multi(g):
        g.mesh.scatter(ins, out, root)
    else:
        out[...] = ins[0]
    _write(tensor, out)
    return _done(async_op)


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op: bool = False):
    """output_tensor_list[r] receives rank r's input_tensor_list[this rank]."""
    g = _world(group)
    _check_list(output_tensor_list, g.size(), "all_to_all")
    _check_list(input_tensor_list, g.size(), "all_to_all")
    ins = [_host(t) for t in input_tensor_list]
    outs = [np.empty(tuple(t.shape), ins[0].dtype) for t in output_tensor_list]
    if _multi(g):
        g.mesh.all_to_all(ins, outs)
    else:
        outs[0][...] = ins[0].reshape(outs[0].shape)
    for t, o in zip(output_tensor_list, outs):
        _write(t, o)
    return _done(async_op)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None,  # noqa: A002
                      async_op: bool = False):
    """all_to_all over the dim-0 splits of one input and one output tensor (equal splits when sizes are None)."""
    g = _world(group)
    n = g.size()

    def splits(a: np.ndarray, sizes, what):
        rows = a.shape[0] if a.ndim else 1
        if sizes is None:
            if rows % n:
                raise RuntimeError(f"all_to_all_single: {what} dim 0 ({rows}) does not divide by world size {n}")
            sizes = [rows // n] * n
        if len(sizes) != n or sum(sizes) != rows:
            raise RuntimeError(f"all_to_all_single: {what}_split_sizes {list(sizes)} must have {n} entries summing to "
                               f"{rows}")
        # row blocks of a C-contiguous array: contiguous views, filled in place
        return np.split(a.reshape(rows, -1) if a.size else a.reshape(rows, 0), np.cumsum(sizes)[:-1])

    ins = splits(_host(input), input_split_sizes, "input")
    out = np.empty(tuple(output.shape), output.dtype.np)
    outs = splits(out, output_split_sizes, "output")
    if _multi(g):
        g.mesh.all_to_all(ins, outs)
    else:
        outs[0][...] = ins[0]
    _write(output, out)
    return _done(async_op)


# ------------------------------------------------------------------------------------------ point to point

def _peer(g: ProcessGroup, rank: int | None, group_rank: int | None, what: str) -> int:
    if not _multi(g):
        raise RuntimeError(f"{what}: a group of one rank has no peer to talk to")
    peer = _root(rank, group_rank, g, what)
    if peer == g.rank():
        raise ValueError(f"Invalid {what} peer: a rank cannot {what} itself")
    return peer


def _source(g: ProcessGroup, src, group_src, what: str) -> int:
    """The group rank a receive reads from: src / group_src, or (both None) the first peer with a message."""
    if src is not None or group_src is not None:
        return _peer(g, src, group_src, "recv")
    if not _multi(g):
        raise RuntimeError(f"{what}: a group of one rank has no peer to talk to")
    return g.mesh.first_ready([r for r in range(g.size()) if r != g.rank()])


def send(tensor, dst: int | None = None, group=None, tag: int = 0, group_dst: int | None = None) -> None:
    g = _world(group)
    g.mesh.send(_peer(g, dst, group_dst, "send"), _host(tensor))


def recv(tensor, src: int | None = None, group=None, tag: int = 0, group_src: int | None = None) -> int:
    """Receive into `tensor` from src (any rank when None); returns the sender's global rank."""
    g = _world(group)
    peer = _source(g, src, group_src, "recv")
    out = np.empty(tuple(tensor.shape), tensor.dtype.np)
    g.mesh.recv_into(peer, out)
    _write(tensor, out)
    return g._ranks[peer]


def _threaded(fn, *args) -> Work:
    errors: list = []

    def run():
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - raised again by Work.wait
            errors.append(e)

    thread = threading.Thread(target=run, name="tritorch-dist-p2p", daemon=True)
    thread.start()
    return Work(thread, errors)


def isend(tensor, dst: int | None = None, group=None, tag: int = 0, group_dst: int | None = None) -> Work:
    return _threaded(send, tensor, dst, group, tag, group_dst)


def irecv(tensor, src: int | None = None, group=None, tag: int = 0, group_src: int | None = None) -> Work:
    return _threaded(recv, tensor, src, group, tag, group_src)


class P2POp:
    """One point-to-point operation for batch_isend_irecv: P2POp(dist.isend or dist.irecv, tensor, peer)."""

    def __init__(self, op, tensor, peer: int | None = None, group=None, tag: int = 0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed.isend`` or "
                             "``torch.distributed.irecv``.")
        self.op, self.tensor, self.peer, self.group, self.tag, self.group_peer = op, tensor, peer, group, tag, \
            group_peer


def batch_isend_irecv(p2p_op_list) -> list:
    return [p.op(p.tensor, p.peer, p.group, p.tag, p.group_peer) for p in p2p_op_list]


# ---------------------------------------------------------------------------------------- object collectives
# Objects travel pickled, as PyTorch's object collectives send them: only between processes that trust each other.

def _gather_bytes(g: ProcessGroup, data: bytes) -> list:
    """Every rank's bytes, on every rank."""
    sizes = [np.zeros(1, np.int64) for _ in range(g.size())]
    sizes[g.rank()][0] = len(data)
    g.mesh.all_gather_chunks(sizes, g.rank())
    chunks = [np.zeros(int(s[0]), np.uint8) for s in sizes]
    chunks[g.rank()][...] = np.frombuffer(data, np.uint8)
    g.mesh.all_gather_chunks(chunks, g.rank())
    return [c.tobytes() for c in chunks]


def all_gather_object(object_list, obj, group=None) -> None:
    g = _world(group)
    if len(object_list) != g.size():
        raise RuntimeError(f"all_gather_object: object_list must have world_size ({g.size()}) entries, got "
                           f"{len(object_list)}")
    if not _multi(g):
        object_list[0] = obj
        return
    for i, b in enumerate(_gather_bytes(g, pickle.dumps(obj))):
        object_list[i] = pickle.loads(b)


def gather_object(obj, object_gather_list=None, dst: int | None = None, group=None,
                  group_dst: int | None = None) -> None:
    g = _world(group)
    root = _root(dst, group_dst, g, "gather_object")
    if g.rank() == root and (object_gather_list is None or len(object_gather_list) != g.size()):
        raise ValueError(f"Argument ``gather_list`` must be specified on destination rank, with {g.size()} entries.")
    got = _gather_bytes(g, pickle.dumps(obj)) if _multi(g) else [pickle.dumps(obj)]
    if g.rank() == root:
        for i, b in enumerate(got):
            object_gather_list[i] = pickle.loads(b)


def broadcast_object_list(object_list, src: int | None = None, group=None, device=None,
                          group_src: int | None = None) -> None:
    g = _world(group)
    root = _root(src, group_src, g, "broadcast_object_list")
    if not _multi(g):
        return
    data = g.mesh.broadcast_bytes(pickle.dumps(list(object_list)) if g.rank() == root else None, root)
    if g.rank() != root:
        got = pickle.loads(data)
        if len(got) != len(object_list):
            raise RuntimeError(f"broadcast_object_list: the source sent {len(got)} objects, this rank's list holds "
                               f"{len(object_list)}")
        object_list[:] = got


def send_object_list(object_list, dst: int | None = None, group=None, device=None, group_dst: int | None = None,
                     use_batch: bool = False) -> None:
    """The objects of the list, pickled, to rank dst (which receives them with recv_object_list)."""
    g = _world(group)
    g.mesh.send(_peer(g, dst, group_dst, "send"), pickle.dumps(list(object_list)))


def recv_object_list(object_list, src: int | None = None, group=None, device=None, group_src: int | None = None,
                     use_batch: bool = False) -> int:
    """Fill object_list in place with the objects rank src (any rank when None) sent; returns the sender."""
    g = _world(group)
    peer = _source(g, src, group_src, "recv_object_list")
    got = pickle.loads(g.mesh.recv_bytes(peer))
    if len(got) != len(object_list):
        raise RuntimeError(f"recv_object_list: rank {g._ranks[peer]} sent {len(got)} objects, the list holds "
                           f"{len(object_list)}")
    object_list[:] = got
    return g._ranks[peer]


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src: int | None = None,
                        group=None, group_src: int | None = None) -> None:
    g = _world(group)
    root = _root(src, group_src, g, "scatter_object_list")
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at least 1.")
    if g.rank() == root and (scatter_object_input_list is None or len(scatter_object_input_list) != g.size()):
        raise ValueError(f"scatter_object_list: the source needs {g.size()} objects to scatter")
    if not _multi(g):
        scatter_object_output_list[0] = scatter_object_input_list[0]
        return
    data = g.mesh.broadcast_bytes(pickle.dumps(list(scatter_object_input_list)) if g.rank() == root else None, root)
    scatter_object_output_list[0] = pickle.loads(data)[g.rank()]
