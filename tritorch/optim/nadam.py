"""NAdam (Adam with Nesterov momentum and momentum decay), optionally with decoupled weight decay
(torch.optim.NAdam)."""
from __future__ import annotations

import numpy as np

from .adam import _check_adam_args
from .optimizer import Optimizer, _step_tensor, apply_update, bump_step, grads_of, zeros_state

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam: mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay)); the product of the mu's is host state
    (a float32 0-dim tensor, multiplied in float32 as PyTorch's is)."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        if differentiable:
            raise ValueError("differentiable=True is not supported by tritorch's NAdam")
        defaults = {"lr": lr, "betas": (float(betas[0]), float(betas[1])), "eps": eps,
                    "weight_decay": weight_decay, "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable}
        super().__init__(params, defaults)

    def _update_group(self, group):
        beta1, beta2 = group["betas"]
        lr, wd, decay = float(group["lr"]), group["weight_decay"], group["momentum_decay"]
        for p, g in grads_of(group):
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["mu_product"] = _step_tensor(1.0)
                state["exp_avg"] = zeros_state(p)
                state["exp_avg_sq"] = zeros_state(p)
            step = bump_step(state)
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * decay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * decay)))
            product = state["mu_product"]
            product._data[...] = np.float32(product._data) * np.float32(mu)
            product._version[0] += 1
            mu_product = float(product._data)
            apply_update("nadam", p, g, [state["exp_avg"], state["exp_avg_sq"]], beta1=beta1, beta2=beta2,
                         weight_decay=wd, decay_factor=1 - lr * wd, bias_correction2=1 - beta2 ** step,
                         grad_coef=-lr * (1.0 - mu) / (1.0 - mu_product),
                         avg_coef=(-lr * mu_next) / (1.0 - mu_product * mu_next), eps=group["eps"],
                         maximize=group["maximize"], decoupled=group["decoupled_weight_decay"])
