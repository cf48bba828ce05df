"""Adam (and, with decoupled_weight_decay, AdamW) with amsgrad, weight decay and maximize (torch.optim.Adam)."""
from __future__ import annotations

from .optimizer import Optimizer, apply_update, bump_step, grads_of, zeros_state, _step_tensor

__all__ = ["Adam"]


def _check_adam_args(lr, betas, eps, weight_decay):
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


class Adam(Optimizer):
    """Adam: moment estimates with bias correction; the step count and bias corrections live on the host."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        if differentiable:
            raise ValueError(f"differentiable=True is not supported by tritorch's {type(self).__name__}")
        betas = (float(betas[0]), float(betas[1]))
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    _group_defaults = {"amsgrad": False, "maximize": False, "decoupled_weight_decay": False}

    def _update_group(self, group):
        beta1, beta2 = group["betas"]
        lr = float(group["lr"])
        wd = group["weight_decay"]
        amsgrad = group["amsgrad"]
        for p, g in grads_of(group):
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["exp_avg"] = zeros_state(p)
                state["exp_avg_sq"] = zeros_state(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = zeros_state(p)
            step = bump_step(state)
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            apply_update("adam", p, g, [state["exp_avg"], state["exp_avg_sq"],
                                        state["max_exp_avg_sq"] if amsgrad else None],
                         beta1=beta1, beta2=beta2, weight_decay=wd, decay_factor=1 - lr * wd,
                         step_size=lr / bias_correction1, bias_correction2_sqrt=bias_correction2 ** 0.5,
                         eps=group["eps"], maximize=group["maximize"], decoupled=group["decoupled_weight_decay"])
