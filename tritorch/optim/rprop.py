"""Rprop: the resilient backpropagation algorithm, sign-based steps with per-element step sizes
(torch.optim.Rprop)."""
from __future__ import annotations

from .optimizer import Optimizer, _step_tensor, apply_update, bump_step, grads_of, zeros_state

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Rprop: each element moves by its own step size against the gradient's sign; the step size grows by
    etas[1] while the sign holds and shrinks by etas[0] when it flips (and that step is skipped)."""

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        if differentiable:
            raise ValueError("differentiable=True is not supported by tritorch's Rprop")
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    _group_defaults = {"foreach": None, "maximize": False, "differentiable": False, "capturable": False}

    def _update_group(self, group):
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        for p, g in grads_of(group):
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["prev"] = zeros_state(p)
                state["step_size"] = zeros_state(p, float(group["lr"]))
            bump_step(state)
            apply_update("rprop", p, g, [state["prev"], state["step_size"]], etaminus=etaminus, etaplus=etaplus,
                         step_size_min=step_size_min, step_size_max=step_size_max, maximize=group["maximize"])
