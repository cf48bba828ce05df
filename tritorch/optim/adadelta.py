"""Adadelta with weight decay and maximize (torch.optim.Adadelta)."""
from __future__ import annotations

from .optimizer import Optimizer, _step_tensor, apply_update, bump_step, grads_of, zeros_state

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta: the step is sqrt(acc_delta + eps) / sqrt(square_avg + eps) * grad, both running averages with
    decay rho, scaled by lr."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if differentiable:
            raise ValueError("differentiable=True is not supported by tritorch's Adadelta")
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
                    "capturable": capturable, "foreach": foreach, "differentiable": differentiable}
        super().__init__(params, defaults)

    def _update_group(self, group):
        for p, g in grads_of(group):
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["square_avg"] = zeros_state(p)
                state["acc_delta"] = zeros_state(p)
            bump_step(state)
            apply_update("adadelta", p, g, [state["square_avg"], state["acc_delta"]], lr=float(group["lr"]),
                         rho=group["rho"], eps=group["eps"], weight_decay=group["weight_decay"],
                         maximize=group["maximize"])
