"""Margin, ranking and embedding losses, the Gaussian negative log likelihood and the CTC loss: PyTorch's
formulas composed from registered ops (both devices, autograd, double backward where the ops have it)."""
from __future__ import annotations

import math

from ..ops import binary as _binary
from ..ops import indexing as _indexing
from ..ops import ternary as _ternary
from ..ops import unary as _unary
from ..tensor import Tensor

__all__ = ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
           "cosine_embedding_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
           "multi_margin_loss", "gaussian_nll_loss", "ctc_loss"]


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    from .functional import _apply_reduction
    return _apply_reduction(loss, reduction)


def _legacy(size_average, reduce, reduction: str) -> str:
    if size_average is None and reduce is None:
        return reduction
    from .functional import _reduction_from_legacy
    return _reduction_from_legacy(size_average, reduce)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, -target * (input1 - input2) + margin)."""
    reduction = _legacy(size_average, reduce, reduction)
    if not (input1.dim() == input2.dim() == target.dim()):
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.size()}, input2: {input2.size()}, target: {target.size()} ")
    return _reduce(_ternary.clamp_min(-target * (input1 - input2) + margin, 0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """input where target is 1, max(0, margin - input) where it is -1 (PyTorch's two masked terms)."""
    reduction = _legacy(size_average, reduce, reduction)
    zeros = input.new_zeros(())
    below = _ternary.where(target != 1, _ternary.clamp_min(margin - input, 0), zeros)
    return _reduce(below + _ternary.where(target != -1, input, zeros), reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target * input)) (as softplus, which cannot overflow)."""
    reduction = _legacy(size_average, reduce, reduction)
    return _reduce(_unary.softplus(-target * input), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                                reduce=None, reduction: str = "mean") -> Tensor:
    """-(target * logsigmoid(input) + (1 - target) * logsigmoid(-input)), averaged over the classes (last dim)."""
    from ..ops.nn_activation import logsigmoid
    reduction = _legacy(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(dim=class_dim) / input.shape[class_dim]
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, size_average=None,
                          reduce=None, reduction: str = "mean") -> Tensor:
    """1 - cos(input1, input2) where target is 1, max(0, cos - margin) where it is -1; cos over the last dim of
    (N, D) or (D,) inputs, with PyTorch's 1e-12 added to each squared magnitude."""
    reduction = _legacy(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or tuple(input1.shape) != tuple(input2.shape):
        raise RuntimeError(f"cosine_embedding_loss: Input1 and Input2 must have the same shape, but got "
                           f"{list(input1.shape)} and {list(input2.shape)}")
    if input1.dim() not in (1, 2):
        raise RuntimeError(f"cosine_embedding_loss: 1D or 2D input expected, but got {input1.dim()}D input")
    if target.dim() != input1.dim() - 1:
        raise RuntimeError(f"{input1.dim()}D target tensor expected, {target.dim()}D target tensor provided")
    dim = input1.dim() - 1
    eps = 1e-12
    prod = (input1 * input2).sum(dim)
    mag = ((input1 * input1).sum(dim) + eps) * ((input2 * input2).sum(dim) + eps)
    cos = prod / _unary.sqrt(mag)
    zeros = cos.new_zeros(())
    loss = (_ternary.where(target == 1, 1 - cos, zeros)
            + _ternary.where(target == -1, _ternary.clamp_min(cos - margin, 0), zeros))
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """max(0, margin + d(anchor, positive) - d(anchor, negative)), d the p-norm pairwise distance (with swap:
    the smaller of d(anchor, negative) and d(positive, negative))."""
    from .functional import pairwise_distance
    reduction = _legacy(size_average, reduce, reduction)
    if not (anchor.dim() == positive.dim() == negative.dim()):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.dim()}D, positive {positive.dim()}D, and negative "
                           f"{negative.dim()}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _binary.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(_ternary.clamp_min(margin + d_pos - d_neg, 0), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    """triplet_margin_loss with any distance function (pairwise_distance by default)."""
    from .functional import pairwise_distance
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not (anchor.dim() == positive.dim() == negative.dim()):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.dim()}D, positive {positive.dim()}D, and negative "
                           f"{negative.dim()}D inputs")
    distance = distance_function if distance_function is not None else pairwise_distance
    d_pos, d_neg = distance(anchor, positive), distance(anchor, negative)
    if swap:
        d_neg = _binary.minimum(d_neg, distance(positive, negative))
    return _reduce(_ternary.clamp_min(margin + d_pos - d_neg, 0), reduction)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """sum over i != target of max(0, margin - input[target] + input[i])^p / C per sample (times weight[target])."""
    reduction = _legacy(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if input.dim() not in (1, 2) or (input.dim() == 2 and target.dim() != 1) or \
            (input.dim() == 1 and target.dim() > 1):
        raise RuntimeError(f"inconsistent target size, expected {input.shape[0] if input.dim() == 2 else 1} but "
                           f"got {list(target.shape)}")
    x = input if input.dim() == 2 else input.unsqueeze(0)
    y = target.reshape(-1, 1)
    if y.shape[0] != x.shape[0]:
        raise RuntimeError(f"inconsistent target size, expected {x.shape[0]} but got {list(target.shape)}")
    if weight is not None and (weight.dim() != 1 or weight.numel() != x.shape[1]):
        raise RuntimeError(f"inconsistent weight size, expected {x.shape[1]} but got {list(weight.shape)}")
    z = _ternary.clamp_min(margin - _indexing.gather(x, 1, y) + x, 0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * _indexing.gather(weight, 0, y.reshape(-1)).unsqueeze(1)
    classes = _indexing.scatter(x.new_ones(tuple(x.shape)), 1, y, 0.0)   # 0 at the target class, 1 elsewhere
    loss = (z * classes).sum(1) / x.shape[1]
    return _reduce(loss if input.dim() == 2 else loss.squeeze(0), reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """sum over the target classes j (target's entries up to its first -1) and the other classes i of
    max(0, 1 - (input[j] - input[i])) / C per sample."""
    reduction = _legacy(size_average, reduce, reduction)
    if input.dim() not in (0, 1, 2) or tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    x = input.reshape(1, -1) if input.dim() < 2 else input
    y = target.reshape(1, -1) if target.dim() < 2 else target
    n, c = x.shape
    # a slot counts while no -1 came before it in its row
    valid = (y >= 0) & ((y < 0).long().cumsum(1) == 0)
    idx = _ternary.where(valid, y, 0)
    from ..ops.creation import zeros
    is_target = _indexing.scatter_add(zeros((n, c), dtype=x.dtype, device=x.device), 1, idx,
                                      valid.to(x.dtype)) > 0
    xj = _indexing.gather(x, 1, idx)                                       # (n, slots)
    margins = _ternary.clamp_min(1 - xj.unsqueeze(2) + x.unsqueeze(1), 0)   # (n, slots, c)
    keep = valid.unsqueeze(2) & ~is_target.unsqueeze(1)
    loss = (margins * keep.to(x.dtype)).sum((1, 2)) / c
    if input.dim() < 2:
        loss = loss.squeeze(0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """0.5 * (log(var) + (input - target)^2 / var) (+ 0.5 log(2 pi) when full), var clamped at eps in value only
    (the gradient passes as if unclamped, as PyTorch's in-place clamp under no_grad does)."""
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = input.new_full(tuple(input.shape), float(var))
    elif bool((var < 0).any().item()):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (input.dim() == var.dim()
                  and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var + (_ternary.clamp_min(var, eps) - var).detach()
    loss = 0.5 * (_unary.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def _tt_finfo_min(dtype) -> float:
    import tritorch
    return float(tritorch.finfo(dtype).min)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """Connectionist Temporal Classification loss: -log of the total probability of every alignment of each
    target (with blanks and repeats) to its input. log_probs (T, N, C) or (T, C), log-softmaxed over C; targets
    padded (N, S) or concatenated 1-d. The forward (alpha) recursion runs in log space over the extended labels
    (blank, l1, blank, l2, ..., blank) of all sequences at once, one step per time frame; its gradient is
    autograd's through the recursion. 'mean' divides each loss by its target length, as PyTorch does."""
    import numpy as np

    from ..ops.creation import tensor as _tensor
    from ..ops import movement as _mv
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    batched = log_probs.dim() == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)
    steps, n, _ = lp.shape
    in_len = np.asarray(input_lengths.tolist() if isinstance(input_lengths, Tensor) else input_lengths,
                        np.int64).reshape(-1)
    tg_len = np.asarray(target_lengths.tolist() if isinstance(target_lengths, Tensor) else target_lengths,
                        np.int64).reshape(-1)
    if len(in_len) != n or len(tg_len) != n:
        raise RuntimeError(f"ctc_loss: expected input_lengths and target_lengths of length {n}")
    if (in_len > steps).any():
        raise RuntimeError(f"Expected input_lengths to have value at most {steps}, but got value {in_len.max()}")
    tg = np.asarray(targets.tolist(), np.int64)
    if tg.ndim == 2:                                               # padded (N, S)
        rows = [tg[i, :l] for i, l in enumerate(tg_len)]
    else:                                                          # concatenated (sum of target lengths,)
        offsets = np.concatenate([[0], np.cumsum(tg_len)[:-1]])
        rows = [tg[o:o + l] for o, l in zip(offsets, tg_len)]
    width = 2 * int(tg_len.max(initial=0)) + 1
    ext = np.full((n, width), blank, np.int64)                     # extended labels: blank, l1, blank, l2 ...
    for i, r in enumerate(rows):
        ext[i, 1:2 * len(r):2] = r
    # a skip from s - 2 is allowed onto a label that differs from the label two places back
    skip = np.zeros((n, width), bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    valid = np.arange(width)[None, :] < (2 * tg_len + 1)[:, None]
    device = lp.device
    ext_t = _tensor(ext, device=device)
    emit = lp.gather(2, ext_t.unsqueeze(0).expand(steps, n, width))   # (T, N, S') log-prob of each ext label
    # unreachable states hold a huge finite negative instead of -inf, so no logsumexp sees only -inf (whose
    # gradient would be NaN); their exp() is exactly 0 next to any reachable state
    neg_inf = lp.new_full((), _tt_finfo_min(lp.dtype) / 4)
    skip_t = _tensor(skip, device=device)
    valid_t = _tensor(valid, device=device)
    alpha = _ternary.where(_tensor(np.arange(width) < 2, device=device).unsqueeze(0) & valid_t, emit[0], neg_inf)
    finals = [None] * n
    done = {int(t): [i for i in range(n) if in_len[i] - 1 == t] for t in set((in_len - 1).tolist())}
    for t in range(steps):
        if t:
            pad1 = neg_inf.expand(n, 1)
            prev1 = _mv.cat([pad1, alpha[:, :-1]], 1)
            prev2 = _ternary.where(skip_t, _mv.cat([pad1, pad1, alpha[:, :-2]], 1), neg_inf)
            total = _mv.stack([alpha, prev1, prev2], 0).logsumexp(0)
            alpha = _ternary.where(valid_t, total + emit[t], neg_inf)
        for i in done.get(t, ()):
            end = 2 * int(tg_len[i])
            last = alpha[i, end] if end == 0 else _mv.stack([alpha[i, end], alpha[i, end - 1]], 0).logsumexp(0)
            finals[i] = -last
    for i in range(n):
        if finals[i] is None:                                      # an empty input: no alignment
            finals[i] = -neg_inf
    loss = _mv.stack(finals, 0)
    # no alignment fits when the input is shorter than the target plus one blank between each repeated pair:
    # the loss is inf (its gradient zero), as in PyTorch
    repeats = np.array([int((r[1:] == r[:-1]).sum()) for r in rows])
    impossible = _tensor(in_len < tg_len + repeats, device=device)
    loss = _ternary.where(impossible, loss.new_full((), math.inf), loss)
    if zero_infinity:
        loss = _ternary.where(loss == math.inf, loss.new_zeros(()), loss)
    if reduction == "mean":
        return (loss / _tensor(np.maximum(tg_len, 1).astype(loss.dtype.np), device=device)).mean()
    if reduction == "sum":
        return loss.sum()
    return loss if batched else loss.squeeze(0)
