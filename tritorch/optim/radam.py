"""RAdam (Adam with a rectified adaptive step), optionally with decoupled weight decay (torch.optim.RAdam)."""
from __future__ import annotations

from .adam import _check_adam_args
from .optimizer import Optimizer, _step_tensor, apply_update, bump_step, grads_of, zeros_state

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam: plain momentum steps while the variance of the adaptive rate is intractable (rho_t <= 5), then
    Adam's step scaled by the rectification term; rho_t and the term are host scalars of the step count."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        if differentiable:
            raise ValueError("differentiable=True is not supported by tritorch's RAdam")
        defaults = {"lr": lr, "betas": (float(betas[0]), float(betas[1])), "eps": eps,
                    "weight_decay": weight_decay, "decoupled_weight_decay": decoupled_weight_decay,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _update_group(self, group):
        beta1, beta2 = group["betas"]
        lr, wd = float(group["lr"]), group["weight_decay"]
        rho_inf = 2 / (1 - beta2) - 1
        for p, g in grads_of(group):
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["exp_avg"] = zeros_state(p)
                state["exp_avg_sq"] = zeros_state(p)
            step = bump_step(state)
            bias_correction2 = 1 - beta2 ** step
            rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
            rect = None
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            apply_update("radam", p, g, [state["exp_avg"], state["exp_avg_sq"]], beta1=beta1, beta2=beta2,
                         weight_decay=wd, decay_factor=1 - lr * wd, bias_correction1=1 - beta1 ** step, lr=lr,
                         bias_correction2_sqrt=bias_correction2 ** 0.5, rect=rect, eps=group["eps"],
                         maximize=group["maximize"], decoupled=group["decoupled_weight_decay"])
