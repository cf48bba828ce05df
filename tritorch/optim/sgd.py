"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize (torch.optim.SGD)."""
from __future__ import annotations

from .optimizer import Optimizer, apply_update, grads_of, required, zeros_state

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent: PyTorch's update (momentum buffer starts as the first gradient)."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        if lr is not required and lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if differentiable:
            raise ValueError("differentiable=True is not supported by tritorch's SGD")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov, "maximize": maximize, "foreach": foreach,
                    "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    _group_defaults = {"nesterov": False, "maximize": False}

    def _update_group(self, group):
        momentum = group["momentum"]
        for p, g in grads_of(group, sparse_as_dense=True):
            buf, first = None, False
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = zeros_state(p)
                    first = True
            apply_update("sgd", p, g, [buf], lr=float(group["lr"]), weight_decay=group["weight_decay"],
                         momentum=momentum, dampening=group["dampening"], nesterov=group["nesterov"],
                         maximize=group["maximize"], first=first)
