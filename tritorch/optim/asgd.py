"""ASGD: averaged stochastic gradient descent (torch.optim.ASGD)."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _step_tensor, apply_update, bump_step, grads_of, zeros_state

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """ASGD: SGD with a decaying rate eta_t = lr / (1 + lambd * lr * t) ** alpha and a running average `ax` of the
    parameter, which starts averaging (mu_t = 1 / (t - t0)) after step t0. eta and mu are host state: 0-dim float32
    tensors on the cpu, as 'step' is (PyTorch keeps them on the parameter's device)."""

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if differentiable:
            raise ValueError("differentiable=True is not supported by tritorch's ASGD")
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    _group_defaults = {"foreach": None, "maximize": False, "differentiable": False, "capturable": False}

    def _update_group(self, group):
        lr, lambd = float(group["lr"]), group["lambd"]
        for p, g in grads_of(group):
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["eta"] = _step_tensor(lr)
                state["mu"] = _step_tensor(1.0)
                state["ax"] = zeros_state(p)
            step = bump_step(state)
            eta, mu = state["eta"], state["mu"]
            eta_value, mu_value = float(eta._data), float(mu._data)
            apply_update("asgd", p, g, [state["ax"]], weight_decay=group["weight_decay"],
                         decay_factor=1 - lambd * eta_value, eta=eta_value, mu=mu_value, maximize=group["maximize"])
            # the next step's rate and averaging weight, rounded to float32 as PyTorch's scalar state is
            eta._data[...] = np.float32(lr / ((1 + lambd * lr * step) ** group["alpha"]))
            mu._data[...] = np.float32(1 / max(1, step - group["t0"]))
            eta._version[0] += 1
            mu._version[0] += 1
