"""Adagrad with lr_decay, weight decay, initial_accumulator_value, eps and maximize (torch.optim.Adagrad)."""
from __future__ import annotations

from .optimizer import Optimizer, _step_tensor, apply_update, bump_step, grads_of, zeros_state

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad: divides the gradient by the root of the running sum of squared gradients."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if differentiable:
            raise ValueError("differentiable=True is not supported by tritorch's Adagrad")
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        # PyTorch creates Adagrad's state eagerly, so a fresh state_dict already holds step and sum.
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = _step_tensor()
        state["sum"] = zeros_state(p, float(group["initial_accumulator_value"]))

    def _update_group(self, group):
        lr, lr_decay = float(group["lr"]), group["lr_decay"]
        for p, g in grads_of(group, sparse_as_dense=True):
            if len(self.state[p]) == 0:  # (a parameter added with add_param_group)
                self._init_state(p, group)
            state = self.state[p]
            step = bump_step(state)
            apply_update("adagrad", p, g, [state["sum"]], clr=lr / (1 + (step - 1) * lr_decay),
                         weight_decay=group["weight_decay"], eps=group["eps"], maximize=group["maximize"])
