"""Margin, ranking and embedding losses, and the Gaussian negative log likelihood: PyTorch's formulas composed from
registered ops (both devices, autograd, double backward where the ops have it)."""
from __future__ import annotations

import math

from ..ops import binary as _binary
from ..ops import indexing as _indexing
from ..ops import ternary as _ternary
from ..ops import unary as _unary
from ..tensor import Tensor

__all__ = ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
           "cosine_embedding_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
           "multi_margin_loss", "gaussian_nll_loss"]


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
