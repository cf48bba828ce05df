"""RMSprop with alpha, eps, weight decay, momentum, centered and maximize (torch.optim.RMSprop)."""
from __future__ import annotations

from .optimizer import Optimizer, _step_tensor, apply_update, bump_step, grads_of, zeros_state

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop: divides the gradient by a running root mean square (centered: by its running std)."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        if differentiable:
            raise ValueError("differentiable=True is not supported by tritorch's RMSprop")
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
                    "weight_decay": weight_decay, "capturable": capturable, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable}
        super().__init__(params, defaults)

    _group_defaults = {"momentum": 0, "centered": False, "maximize": False}

    def _update_group(self, group):
        momentum, centered = group["momentum"], group["centered"]
        for p, g in grads_of(group):
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["square_avg"] = zeros_state(p)
                if momentum > 0:
                    state["momentum_buffer"] = zeros_state(p)
                if centered:
                    state["grad_avg"] = zeros_state(p)
            bump_step(state)
            apply_update("rmsprop", p, g, [state["square_avg"], state["grad_avg"] if centered else None,
                                           state["momentum_buffer"] if momentum > 0 else None],
                         lr=float(group["lr"]), alpha=group["alpha"], eps=group["eps"],
                         weight_decay=group["weight_decay"], momentum=momentum, maximize=group["maximize"])
