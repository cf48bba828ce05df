"""Weight averaging (torch.optim.swa_utils): AveragedModel keeps a running average of a model's parameters (an
equal-weight SWA average by default, or an exponential moving average with get_ema_multi_avg_fn), SWALR anneals
each group's lr to a fixed SWA lr, and update_bn recomputes BatchNorm statistics for the averaged weights.

The default SWA update is PyTorch's per device: `a + (p - a) / (n + 1)` on cpu, `a.lerp_(p, 1 / (n + 1))` on
cuda (PyTorch's foreach path), so a cpu run gives PyTorch's floats.
"""
from __future__ import annotations

import itertools
import math
import warnings
from copy import deepcopy

from .. import dtypes as _dt
from ..autograd import no_grad
from ..nn import Module
from ..nn.modules.normalization import _BatchNorm
from ..ops.creation import tensor
from ..tensor import Tensor
from .lr_scheduler import LRScheduler, _format_param

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(decay) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def get_ema_multi_avg_fn(decay=0.999):
    """An update of lists of averaged and current tensors (one device and dtype): ema <- decay * ema + (1 - decay)
    * current, in place."""
    _check_decay(decay)

    @no_grad()
    def ema_update(ema_params, current_params, num_averaged) -> None:
        floating = ema_params[0].dtype.kind == _dt.FLOAT
        for e, p in zip(ema_params, current_params):
            if floating:
                e.lerp_(p, 1 - decay)
            else:
                e.copy_(e * decay + p * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn():
    """An update of lists of averaged and current tensors: the equal-weight running mean, in place."""

    @no_grad()
    def swa_update(averaged_params, current_params, num_averaged) -> None:
        n = num_averaged.item() if isinstance(num_averaged, Tensor) else num_averaged
        floating = averaged_params[0].dtype.kind == _dt.FLOAT
        for a, p in zip(averaged_params, current_params):
            if floating:
                a.lerp_(p, 1 / (n + 1))
            else:
                a.copy_(a + (p - a) / (n + 1))

    return swa_update


def get_ema_avg_fn(decay=0.999):
    """A per-tensor update that returns the new exponential moving average."""
    _check_decay(decay)

    @no_grad()
    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """A per-tensor update that returns the new equal-weight running mean."""

    @no_grad()
    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of `model` whose parameters (and buffers, with use_buffers=True) are averaged by
    update_parameters(model): `avg_fn` per tensor or `multi_avg_fn` per (device, dtype) group, the equal-weight
    SWA mean when neither is given. Without use_buffers the buffers are copied from `model` at each update."""

    def __init__(self, model: Module, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=_dt.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _tensors(self, model: Module):
        if self.use_buffers:
            return itertools.chain(model.parameters(), model.buffers())
        return model.parameters()

    def update_parameters(self, model: Module) -> None:
        """Average `model`'s current weights into this copy (the first call copies them)."""
        ours = self._tensors(self.module) if self.use_buffers else self.parameters()
        averaged, current = [], []
        first = self.n_averaged.item() == 0
        for a, p in zip(ours, self._tensors(model)):
            p = p.detach().to(a.device)
            averaged.append(a.detach())
            current.append(p)
            if first:
                a.detach().copy_(p)
        if not first:
            if self.avg_fn is not None:
                for a, p in zip(averaged, current):
                    a.copy_(self.avg_fn(a, p, self.n_averaged.to(a.device)))
            else:
                groups: dict = {}
                for a, p in zip(averaged, current):
                    pair = groups.setdefault((a.device, a.dtype), ([], []))
                    pair[0].append(a)
                    pair[1].append(p)
                for (device, _), (avg_group, cur_group) in groups.items():
                    n = self.n_averaged.to(device)
                    if self.multi_avg_fn is not None:
                        self.multi_avg_fn(avg_group, cur_group, n)
                    elif device.type == "cuda":
                        get_swa_multi_avg_fn()(avg_group, cur_group, n)
                    else:
                        update = get_swa_avg_fn()
                        for a, p in zip(avg_group, cur_group):
                            a.copy_(update(a, p, n))
        if not self.use_buffers:   # keep the buffers (BatchNorm statistics...) those of the source model
            for b_ours, b_model in zip(self.module.buffers(), model.buffers()):
                b_ours.detach().copy_(b_model.detach().to(b_ours.device))
        with no_grad():
            self.n_averaged += 1


@no_grad()
def update_bn(loader, model: Module, device=None) -> None:
    """Recompute every BatchNorm's running statistics with one pass over `loader` (the cumulative average over
    its batches, momentum None), as the averaged weights need; the model's train/eval mode is restored."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    for batch in loader:
        if isinstance(batch, (list, tuple)):
            batch = batch[0]
        if device is not None:
            batch = batch.to(device)
        model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's lr from its current value to `swa_lr` over `anneal_epochs` steps ("cos" or "linear"),
    then holds it there."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        for lr, group in zip(_format_param("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        """The lr the annealing started from, recovered from the current one (alpha: the previous step's)."""
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, anneal_strategy) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def get_lr(self):
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                          UserWarning, stacklevel=2)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / span)))
        starts = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in self.optimizer.param_groups]
        alpha = self.anneal_func(max(0, min(1, step / span)))
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(self.optimizer.param_groups, starts)]

    def state_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
