"""Adamax: Adam with an infinity-norm second moment (torch.optim.Adamax)."""
from __future__ import annotations

from .optimizer import Optimizer, _step_tensor, apply_update, bump_step, grads_of, zeros_state

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax: exp_inf = max(beta2 * exp_inf, |grad| + eps); step lr / (1 - beta1**step)."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if differentiable:
            raise ValueError("differentiable=True is not supported by tritorch's Adamax")
        defaults = {"lr": lr, "betas": (float(betas[0]), float(betas[1])), "eps": eps,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def _update_group(self, group):
        beta1, beta2 = group["betas"]
        lr = float(group["lr"])
        for p, g in grads_of(group):
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["exp_avg"] = zeros_state(p)
                state["exp_inf"] = zeros_state(p)
            step = bump_step(state)
            apply_update("adamax", p, g, [state["exp_avg"], state["exp_inf"]], beta1=beta1, beta2=beta2,
                         eps=group["eps"], weight_decay=group["weight_decay"], clr=lr / (1 - beta1 ** step),
                         maximize=group["maximize"])
