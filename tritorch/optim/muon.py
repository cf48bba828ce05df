"""Muon: momentum SGD whose update is orthogonalised by a Newton-Schulz iteration (torch.optim.Muon).

A composite of registered ops (lerp, matmul, addmm, norm), in the order of PyTorch's single-tensor path. The
iteration runs in bfloat16, as PyTorch's does: it is meant to be cheap, not exact, so two implementations agree
to bfloat16's precision (about 3 significant digits), not to the last bit.
"""
from __future__ import annotations

import math

from .. import dtypes as _dt
from ..ops.matmul import addmm
from .optimizer import Optimizer, grads_of, zeros_state

__all__ = ["Muon"]

EPS = 1e-7
DEFAULT_A, DEFAULT_B, DEFAULT_C = 3.4445, -4.7750, 2.0315
DEFAULT_NS_STEPS = 5


def _zeropower_via_newtonschulz(grad, ns_coefficients, ns_steps, eps):
    """An approximate orthogonalisation U S' V^T of grad = U S V^T (S' ~ 1) by a quintic Newton-Schulz iteration
    with coefficients (a, b, c), in bfloat16, on the wide orientation of the matrix."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(grad.shape) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    ortho = grad.to(_dt.bfloat16)
    tall = grad.size(0) > grad.size(1)
    if tall:
        ortho = ortho.T
    ortho = ortho / ortho.norm().clamp(min=eps)
    for _ in range(ns_steps):
        gram = ortho @ ortho.T
        gram_update = addmm(gram, gram, gram, beta=b, alpha=c)
        ortho = addmm(ortho, gram_update, ortho, beta=a)
    return ortho.T if tall else ortho


def _adjust_lr(lr, adjust_lr_fn, param_shape):
    """The rate scaled for the matrix's shape: sqrt(max(1, A/B)) (Keller Jordan's), or 0.2 sqrt(max(A, B)) to
    match AdamW's update RMS (Moonshot's)."""
    rows, cols = param_shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, rows / cols))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(rows, cols))
    else:
        ratio = 1.0
    return lr * ratio


class Muon(Optimizer):
    """Muon (Keller Jordan et al.) for 2-D parameters: Nesterov momentum, then the update's orthogonalisation,
    decoupled weight decay and a shape-adjusted rate. Use another optimizer for biases, norms and embeddings."""

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(DEFAULT_A, DEFAULT_B, DEFAULT_C), eps=EPS, ns_steps=DEFAULT_NS_STEPS,
                 adjust_lr_fn=None):
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum, "nesterov": nesterov,
                    "ns_coefficients": ns_coefficients, "eps": eps, "ns_steps": ns_steps,
                    "adjust_lr_fn": adjust_lr_fn}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                                     f"{p.size()}")

    def _update_group(self, group):
        lr, wd, momentum = float(group["lr"]), group["weight_decay"], group["momentum"]
        for p, g in grads_of(group):
            if p.is_complex():
                raise RuntimeError("Muon does not support complex parameters")
            if g.ndim != 2:
                raise ValueError("Param gradient must be a 2D matrix")
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = zeros_state(g)
            buf = state["momentum_buffer"]
            buf.lerp_(g, 1 - momentum)
            update = g.lerp(buf, momentum) if group["nesterov"] else buf
            update = _zeropower_via_newtonschulz(update, group["ns_coefficients"], group["ns_steps"],
                                                 group["eps"])
            p.mul_(1 - lr * wd)
            p.add_(update, alpha=-_adjust_lr(lr, group["adjust_lr_fn"], p.shape))
