"""SparseAdam (torch.optim.SparseAdam): Adam for sparse gradients (nn.Embedding(sparse=True)), lazy in the rows.

Only the entries a step's gradient names are touched: their two moment estimates move towards the gradient
and the parameter takes Adam's bias-corrected step there; every other entry (moments and parameter) stays as it
is, which is what makes the update cheap for a large embedding table and what separates it from Adam. PyTorch's
formulas, on the coalesced gradient, composed of index and arithmetic ops (both devices).
"""
from __future__ import annotations

import math

from .optimizer import Optimizer, _step_tensor, bump_step, zeros_state

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize: bool = False):
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize})

    def _update_group(self, group):
        beta1, beta2 = group["betas"]
        lr, eps = float(group["lr"]), group["eps"]
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            if not getattr(g, "is_sparse", False):
                raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead")
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["exp_avg"] = zeros_state(p)
                state["exp_avg_sq"] = zeros_state(p)
            g = (-g if group["maximize"] else g).coalesce()
            values = g._values()
            if values.numel() == 0:
                continue
            where = tuple(g._indices()[i] for i in range(g.sparse_dim()))
            step = bump_step(state)
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            old_avg, old_sq = exp_avg[where], exp_avg_sq[where]
            avg_update = (values - old_avg) * (1 - beta1)
            sq_update = (values * values - old_sq) * (1 - beta2)
            exp_avg.index_put_(where, avg_update, accumulate=True)
            exp_avg_sq.index_put_(where, sq_update, accumulate=True)
            numer = avg_update + old_avg
            denom = (sq_update + old_sq).sqrt() + eps
            step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
            p.index_put_(where, numer / denom * -step_size, accumulate=True)
