"""Adafactor: Adam-like steps with a factored second moment (torch.optim.Adafactor).

A composite of registered tensor ops (row and column norms, lerp, an outer product, rsqrt), in the order of
PyTorch's single-tensor path, so it runs on every device through those ops' own kernels. The step needs two
norms on the host (the parameter's and the update's RMS), as PyTorch's does.
"""
from __future__ import annotations

from ..dtypes import finfo
from .optimizer import Optimizer, _step_tensor, bump_step, grads_of, zeros_state

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Adafactor (Shazeer and Stern, 2018) as PyTorch has it: for a tensor of two or more dimensions the second
    moment is kept as a row factor (last dim reduced) and a column factor (second-to-last dim reduced); a
    vector or scalar keeps a full one. The rate is relative to the parameter's RMS; the update's RMS is
    clipped to d."""

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)

    _group_defaults = {"foreach": None}

    def _update_group(self, group):
        lr, wd, d = float(group["lr"]), group["weight_decay"], group["d"]
        eps1, eps2 = group["eps"]
        for p, g in grads_of(group):
            if p.is_complex():
                raise RuntimeError("Adafactor does not support complex parameters")
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _step_tensor()
                if g.dim() > 1:
                    state["row_var"] = g.new_zeros(list(g.shape[:-1]) + [1])
                    state["col_var"] = g.new_zeros(list(g.shape[:-2]) + [1, g.shape[-1]])
                else:
                    state["variance"] = zeros_state(g)
            self._update_param(p, -g if group["maximize"] else g, state, lr, wd, d, eps1, eps2,
                               group["beta2_decay"])

    @staticmethod
    def _update_param(p, g, state, lr, wd, d, eps1, eps2, beta2_decay):
        if eps1 is None:
            eps1 = finfo(p.dtype).eps
        step = bump_step(state)
        one_minus_beta2 = step ** beta2_decay
        rho = min(lr, 1 / (step ** 0.5))
        alpha = max(eps2, p.norm(2).item() / (p.numel() ** 0.5)) * rho   # relative to the parameter's RMS
        if wd != 0:
            p.mul_(1 - lr * wd)
        if g.dim() > 1:
            # the mean of g*g along a dim, through a norm (no g-sized temporary)
            row_mean = g.norm(dim=-1, keepdim=True).square_().div_(g.size(-1))
            state["row_var"].lerp_(row_mean, one_minus_beta2)
            col_mean = g.norm(dim=-2, keepdim=True).square_().div_(g.size(-2))
            state["col_var"].lerp_(col_mean, one_minus_beta2)
            var_estimate = state["row_var"] @ state["col_var"]
            var_estimate.div_(state["row_var"].mean(dim=-2, keepdim=True).clamp_(min=eps1))
        else:
            state["variance"].lerp_(g * g, one_minus_beta2)
            var_estimate = state["variance"].clone()
        update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_()
        update.mul_(g)
        denom = max(1.0, update.norm(2).item() / ((update.numel() ** 0.5) * d))   # clip the update's RMS to d
        p.add_(update, alpha=-alpha / denom)
