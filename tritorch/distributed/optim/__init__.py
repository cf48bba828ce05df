"""torch.distributed.optim: ZeroRedundancyOptimizer (ZeRO stage 1), the optimizer whose state is sharded across the
ranks of a process group: each rank keeps the state of its share of the parameters only and updates those, then
every parameter is broadcast from the rank that owns it, so all ranks end the step with the same values a plain
optimizer would give (with gradients that DDP made equal on every rank).

The parameters are assigned greedily, largest first, to the rank with the fewest elements so far; every rank
computes the same assignment from the same parameter order. karpathy/llm.c's train_gpt2.py imports it at the top.
"""
from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...optim.optimizer import Optimizer
from ...tensor import Tensor, from_array
from .. import broadcast, gather_object, get_global_rank, get_rank, get_world_size, GroupMember

__all__ = ["ZeroRedundancyOptimizer"]

_NOT_HYPER = ("params", "param_names")


class _Array:
    """A state tensor's values on their way to the consolidating rank."""

    def __init__(self, array):
        self.array = array


class ZeroRedundancyOptimizer(Optimizer):
    """ZeroRedundancyOptimizer(params, optimizer_class, process_group=None, parameters_as_bucket_view=False,
    overlap_with_ddp=False, **defaults): optimizer_class(its share of params, **defaults) on each rank.

    state_dict() needs consolidate_state_dict(to) on every rank first and is then valid on rank `to`; it has a
    plain optimizer's format (every parameter's state), which load_state_dict takes on any number of ranks.
    parameters_as_bucket_view is accepted for PyTorch's signature (a memory layout: results are the same)."""

    def __init__(self, params, optimizer_class, process_group=None, parameters_as_bucket_view: bool = False,
                 overlap_with_ddp: bool = False, **defaults):
        if overlap_with_ddp:
            raise RuntimeError("ZeroRedundancyOptimizer(overlap_with_ddp=True) runs the step inside DDP's gradient "
                               "communication hook, which tritorch's DistributedDataParallel does not have; use "
                               "overlap_with_ddp=False (the step then follows backward)")
        self.process_group = process_group if process_group is not None else GroupMember.WORLD
        self.world_size, self.rank = get_world_size(process_group), get_rank(process_group)
        self.global_rank = get_global_rank(self.process_group, self.rank)
        self.optimizer_class = optimizer_class
        self.parameters_as_bucket_view = parameters_as_bucket_view
        self._optim_defaults = defaults
        self._owner: dict = {}                   # id(param) -> the group rank that updates it
        self._load = [0] * self.world_size       # elements assigned to each rank so far
        self.optim = None                        # this rank's optimizer over its share
        self._consolidated = None                # {global index: state} after consolidate_state_dict, on `to`
        super().__init__(params, defaults)

    # this rank's optimizer holds the state (of its own parameters only)
    @property
    def state(self):
        return self.optim.state if self.optim is not None else self._early_state

    @state.setter
    def state(self, value):
        if self.optim is None:
            self._early_state = value
        else:
            self.optim.state = value

    def add_param_group(self, param_group: dict) -> None:
        """Add a group: its parameters are assigned to ranks, this rank's share joins its optimizer."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in sorted(group["params"], key=lambda t: -t.numel()):   # (a stable sort: ties keep their order)
            if id(p) not in self._owner:
                rank = self._load.index(min(self._load))
                self._owner[id(p)] = rank
                self._load[rank] += p.numel()
        mine = {k: v for k, v in group.items() if k not in _NOT_HYPER}
        mine["params"] = [p for p in group["params"] if self._owner[id(p)] == self.rank]
        if self.optim is None:
            self.optim = self.optimizer_class([mine], **self._optim_defaults)
        else:
            self.optim.add_param_group(mine)
        for k, v in self.optim.param_groups[-1].items():   # the local optimizer's defaults (betas, eps, ...)
            if k not in _NOT_HYPER:
                group.setdefault(k, v)

    def _owner_global_rank(self, p) -> int:
        rank = self._owner[id(p)]
        return get_global_rank(self.process_group, rank)

    def _sync_hyperparameters(self) -> None:
        # an lr scheduler (or the user) sets this optimizer's groups; the local optimizer reads its own
        for group, local in zip(self.param_groups, self.optim.param_groups):
            for k, v in group.items():
                if k not in _NOT_HYPER:
                    local[k] = v

    def step(self, closure=None):
        """Update this rank's share of the parameters, then give every rank every parameter's new value."""
        self._sync_hyperparameters()
        loss = self.optim.step(closure) if closure is not None else self.optim.step()
        with no_grad():
            for g in self.param_groups:
                for p in g["params"]:
                    broadcast(p, src=self._owner_global_rank(p), group=self.process_group)
        return loss

    # ------------------------------------------------------------------------------------------ state dicts
    def _global_indices(self) -> tuple:
        """(id(param) -> its index in this optimizer's state dict, this rank's params in its optimizer's order)."""
        index, start = {}, 0
        for g in self.param_groups:
            for i, p in enumerate(g["params"], start):
                index.setdefault(id(p), i)
            start += len(g["params"])
        local = [p for g in self.optim.param_groups for p in g["params"]]
        return index, local

    def consolidate_state_dict(self, to: int = 0) -> None:
        """Gather every rank's share of the state on rank `to` (a collective: every rank calls it)."""
        index, local = self._global_indices()
        local_sd = self.optim.state_dict()
        # (tensors travel as their NumPy arrays: tritorch tensors are not pickled)
        share = {index[id(local[i])]: {k: (_Array(v.detach().cpu().numpy()) if isinstance(v, Tensor) else v)
                                       for k, v in s.items()}
                 for i, s in local_sd["state"].items()}
        shares = [None] * self.world_size if self.global_rank == to else None
        gather_object(share, shares, dst=to, group=self.process_group)
        if self.global_rank == to:
            merged = {}
            for s in shares:
                merged.update({i: {k: (from_array(v.array) if isinstance(v, _Array) else v) for k, v in state.items()}
                               for i, state in s.items()})
            self._consolidated = dict(sorted(merged.items()))
        else:
            self._consolidated = None

    def state_dict(self) -> dict:
        """The whole optimizer's state dict (a plain optimizer's format), on the rank consolidate_state_dict
        gathered it on."""
        if self._consolidated is None:
            raise RuntimeError("Optimizer state has not been consolidated on this rank. Please call "
                               "`consolidate_state_dict(to)` on all ranks beforehand and call `state_dict()` on "
                               "rank `to`")
        groups, start = [], 0
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = list(range(start, start + len(g["params"])))
            start += len(g["params"])
            groups.append(packed)
        return {"state": dict(self._consolidated), "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a whole optimizer's state dict (from state_dict() or a plain optimizer): each rank keeps its
        parameters' state."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(self.param_groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        local_groups, local_state, n = [], {}, 0
        for g, saved in zip(self.param_groups, saved_groups):
            for k, v in saved.items():
                if k not in _NOT_HYPER:
                    g[k] = tuple(v) if k == "betas" and isinstance(v, list) else v
            mine = [k for p, k in zip(g["params"], saved["params"]) if self._owner[id(p)] == self.rank]
            for k in mine:
                key = k if k in state_dict["state"] else str(k)
                if key in state_dict["state"]:
                    local_state[n] = state_dict["state"][key]
                n += 1
            packed = {k: v for k, v in saved.items() if k not in _NOT_HYPER}
            packed["params"] = list(range(n - len(mine), n))
            local_groups.append(packed)
        self.optim.load_state_dict({"state": local_state, "param_groups": local_groups})
