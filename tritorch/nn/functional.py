"""tritorch.nn.functional: PyTorch's torch.nn.functional over tritorch's registered ops.

Losses and helpers that are short compositions of registered ops (mse, l1, smooth_l1, huber, bce,
bce_with_logits, kl_div, one_hot, normalize, ...) are written here; their gradients come from the ops' vjps.
The fused kernels (conv, pooling, norms, softmax, cross-entropy, dropout, embedding, attention and the extra
activations) live in tritorch/ops/nn_*.py and are re-exported here by name (at the bottom).
"""
from __future__ import annotations

import math
import warnings

from ..ops import binary as _binary
from ..ops import creation as _creation
from ..ops import reduce as _reduce
from ..ops import ternary as _ternary
from ..ops import unary as _unary
from ..ops.matmul import linear  # noqa: F401  (re-exported: input @ weight.T + bias in one GEMM)
from ..ops.movement import broadcast_tensors, pad  # noqa: F401  (pad re-exported: constant/reflect/replicate/circular)
from ..autograd.function import Function
from ..tensor import Tensor

# ------------------------------------------------------------------------------------------- activations


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return _unary.relu_op(input, out=input if inplace else None)


def relu_(input: Tensor) -> Tensor:
    return _unary.relu_op(input, out=input)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    return _unary.gelu(input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    return _unary.silu(input, inplace=inplace)


def sigmoid(input: Tensor) -> Tensor:
    return _unary.sigmoid_op(input)


def tanh(input: Tensor) -> Tensor:
    return _unary.tanh_op(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return _unary.softplus(input, beta=beta, threshold=threshold)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) with a, b the two halves of input along dim."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    n = input.size(dim)
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.dim()} is size {n}")
    a, b = input.chunk(2, dim)
    return a * _unary.sigmoid_op(b)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:  # noqa: F811
    """value where input <= threshold, else input."""
    return _ternary.where(input > threshold, input, value, out=input if inplace else None)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """input where input > 0, else weight * input; weight one value or one per channel (dim 1)."""
    if weight.dim() > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.dim()}")
    n = weight.numel()
    if n != 1:
        if input.dim() == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = input.shape[1] if input.dim() >= 2 else 1
        if n != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{n} and channel size = {channels}.")
        weight = weight.reshape((n,) + (1,) * (input.dim() - 2))
    else:
        weight = weight.reshape(())
    return _ternary.where(input > 0, input, weight * input)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """input where |input| > lambd, else 0."""
    return _ternary.where(_unary.abs(input) > lambd, input, input.new_zeros(()))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """input - lambd above lambd, input + lambd below -lambd, else 0."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be in range [0, 3.40282e+38] for input dtype Float, but found {lambd}")
    zeros = input.new_zeros(())
    return _ternary.where(input > lambd, input - lambd, _ternary.where(input < -lambd, input + lambd, zeros))


def tanhshrink(input: Tensor) -> Tensor:
    """input - tanh(input)."""
    return input - _unary.tanh(input)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]."""
    from ..ops.linalg import einsum
    if weight.dim() != 3:
        raise RuntimeError(f"bilinear(): weight must be a 3D tensor, got {weight.dim()}D")
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input sizes {list(input1.shape)} and {list(input2.shape)} do not match "
                           f"weight {list(weight.shape)}")
    out = einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """input / (k + alpha * mean of input^2 over `size` neighbouring channels)^beta (AlexNet's LRN: PyTorch's
    zero-padded channel window, as an average pooling along the channels)."""
    from ..ops.nn_pool import avg_pool2d
    if input.dim() < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.dim()} dimensions)")
    if input.numel() == 0:
        return input
    shape = tuple(input.shape)
    sq = (input * input).reshape(shape[0], 1, shape[1], -1)
    sq = pad(sq, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(sq, (size, 1), stride=1).reshape(shape)
    return input / (div * alpha + k) ** beta


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """softmax((logits + Gumbel noise) / tau): a differentiable sample from the categorical distribution; with
    hard=True the one-hot of its argmax in the forward pass and the soft sample's gradient (straight-through)."""
    from ..ops.random import _exponential_
    gumbels = -_unary.log(_exponential_(_creation.empty_like(logits)))
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = _creation.zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, g * c, *) -> (N, c * g, *): the channels regrouped (ShuffleNet's channel shuffle)."""
    if input.dim() < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    n, c = input.shape[:2]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    rest = tuple(input.shape[2:])
    return input.reshape((n, groups, c // groups) + rest).transpose(1, 2).reshape((n, c) + rest)


# -------------------------------------------------------------------------------------------- reductions

def _reduction_from_legacy(size_average, reduce) -> str:
    """PyTorch's mapping of the deprecated size_average/reduce flags onto `reduction` (with its warning)."""
    warnings.warn("size_average and reduce args will be deprecated, please use reduction='mean' instead.",
                  stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _apply_reduction(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_reduction(reduction: str, allowed=("none", "mean", "sum")) -> None:
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _warn_size(input: Tensor, target: Tensor) -> None:
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.size()}) that is different to the input size "
                      f"({input.size()}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)


def _weighted(loss: Tensor, weight, input: Tensor, reduction: str, mean_by_weight: bool) -> Tensor:
    """PyTorch's elementwise `weight` for mse/l1/huber: loss * weight, 'mean' divided by weight.sum() (mse,
    l1) or by the element count (huber)."""
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return loss.sum() / weight.sum()
    return _apply_reduction(loss, reduction)


# ----------------------------------------------------------------------------------------------- losses

def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    _warn_size(input, target)
    if size_average is not None or reduce is not None:
        reduction = _reduction_from_legacy(size_average, reduce)
    if weight is None:
        _check_reduction(reduction)
    diff = input - target
    loss = diff * diff
    if weight is not None:
        return _weighted(loss, weight, input, reduction, True)
    return _apply_reduction(loss, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    _warn_size(input, target)
    if size_average is not None or reduce is not None:
        reduction = _reduction_from_legacy(size_average, reduce)
    if weight is None:
        _check_reduction(reduction)
    loss = (input - target).abs()
    if weight is not None:
        return _weighted(loss, weight, input, reduction, True)
    return _apply_reduction(loss, reduction)


def _huber(diff_abs: Tensor, delta: float) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (Huber's loss, unscaled), as m (|d| - 0.5 m) with
    m = min(|d|, delta): both pieces in three ops instead of six (a small loss was ~9 op calls; scaling by 0.5
    is exact, so the values are the same bits), and the same gradient (|d|, then delta)."""
    m = diff_abs.clamp(max=delta)
    return m * (diff_abs - 0.5 * m)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """Huber's loss divided by beta (beta=0 is the L1 loss)."""
    _warn_size(input, target)
    if size_average is not None or reduce is not None:
        reduction = _reduction_from_legacy(size_average, reduce)
    _check_reduction(reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = (input - target).abs()
    loss = d if beta == 0.0 else _huber(d, beta) / beta
    return _apply_reduction(loss, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    _warn_size(input, target)
    if weight is None:
        _check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    loss = _huber((input - target).abs(), delta)
    if weight is not None:
        return _weighted(loss, weight, input, reduction, False)
    return _apply_reduction(loss, reduction)


_BCE_EPS = 9.999999960041972e-13  # PyTorch's EPSILON = 1e-12 as it is stored (a float32)


class _BinaryCrossEntropy(Function):
    """Pointwise -(t log(x) + (1 - t) log(1 - x)), each log clamped at -100, with PyTorch's backward:
    d/dx = (x - t) / max(x (1 - x), 1e-12) (finite at x = 0 and 1), d/dt = log(1 - x) - log(x)."""

    @staticmethod
    def forward(ctx, input, target):
        ctx.save_for_backward(input, target)
        log_x = _ternary.clamp_min(_unary.log(input), -100.0)
        log_1mx = _ternary.clamp_min(_unary.log(1.0 - input), -100.0)
        return -(target * log_x + (1.0 - target) * log_1mx)

    @staticmethod
    def backward(ctx, grad):
        input, target = ctx.saved_tensors
        grad_input = grad_target = None
        if ctx.needs_input_grad[0]:
            grad_input = grad * (input - target) / _ternary.clamp_min((1.0 - input) * input, _BCE_EPS)
        if ctx.needs_input_grad[1]:
            grad_target = grad * (_unary.log(1.0 - input) - _unary.log(input))
        return grad_input, grad_target


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """-(t log(x) + (1 - t) log(1 - x)), each log clamped at -100 as PyTorch does."""
    if size_average is not None or reduce is not None:
        reduction = _reduction_from_legacy(size_average, reduce)
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.size()}) that is different to the input size "
                         f"({input.size()}) is deprecated. Please ensure they have the same size.")
    loss = _BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _apply_reduction(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """BCE of sigmoid(input), in the overflow-free form (1 - t) x + w_pos softplus(-x)."""
    if size_average is not None or reduce is not None:
        reduction = _reduction_from_legacy(size_average, reduce)
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.size()}) must be the same as input size ({input.size()})")
    log_sigmoid_neg = _unary.softplus(-input)  # -log(sigmoid(x)), smooth at 0 (so its gradient is exact there)
    if pos_weight is not None:
        log_weight = (pos_weight - 1.0) * target + 1.0
        loss = (1.0 - target) * input + log_weight * log_sigmoid_neg
    else:
        loss = (1.0 - target) * input + log_sigmoid_neg
    if weight is not None:
        loss = loss * weight
    return _apply_reduction(loss, reduction)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Pointwise KL divergence target * (log(target) - input), input being log-probabilities; 0 where
    target == 0 (log_target=False). reduction='batchmean' divides the sum by the batch size."""
    if size_average is not None or reduce is not None:
        reduction = _reduction_from_legacy(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    _check_reduction(reduction, ("none", "mean", "sum", "batchmean"))
    if log_target:
        loss = _unary.exp(target) * (target - input)
    else:
        positive = target > 0
        safe = _ternary.where(positive, target, 1.0)  # log(1) = 0 keeps t*log(t) (and its gradient) at 0 for t = 0
        loss = _ternary.where(positive, target * (_unary.log(safe) - input), 0.0 * input)
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.size(0) if input.dim() != 0 else total
    return _apply_reduction(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None, reduction: str = "mean") -> Tensor:
    if size_average is not None or reduce is not None:
        reduction = _reduction_from_legacy(size_average, reduce)
    _check_reduction(reduction)
    if log_input:
        loss = _unary.exp(input) - target * input
    else:
        loss = input - target * _unary.log(input + eps)
    if full:
        safe = _ternary.where(target > 1, target, 1.0)
        stirling = safe * _unary.log(safe) - safe + 0.5 * _unary.log(2 * math.pi * safe)
        loss = loss + _ternary.where(target > 1, stirling, 0.0)
    return _apply_reduction(loss, reduction)


# ---------------------------------------------------------------------------------------------- helpers

def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape tensor.shape + (num_classes,) with a 1 at each index. num_classes=-1 reads the
    largest index (one device-to-host read, as in PyTorch)."""
    from .. import dtypes as _dt
    if tensor.dtype is not _dt.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if tensor.numel() == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(tensor.max().item()) + 1
    if tensor.numel() and tensor.device.type == "cpu":  # PyTorch validates on cpu only (cuda would sync)
        if int(tensor.min().item()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(tensor.max().item()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    classes = _creation.arange(num_classes, device=tensor.device)
    return _binary.eq(tensor.unsqueeze(-1), classes).long()


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:
    """input / max(||input||_p over dim, eps)."""
    denom = _ternary.clamp_min(_reduce.norm(input, p, dim, keepdim=True), eps).expand_as(input)
    return _binary.div(input, denom, out=out)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) over dim, x1 and x2 broadcast to one shape first
    (so a size-1 dim against a longer one counts each of its elements as often as the product does)."""
    if tuple(x1.shape) != tuple(x2.shape):
        x1, x2 = broadcast_tensors(x1, x2)
    n1 = _ternary.clamp_min(_reduce.norm(x1, 2, dim), eps)
    n2 = _ternary.clamp_min(_reduce.norm(x2, 2, dim), eps)
    return (x1 * x2).sum(dim) / (n1 * n2)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    return _reduce.norm(x1 - x2 + eps, p, -1, keepdim=keepdim)


# ------------------------------------------------------------------------------------- softmin, attention

def softmin(input: Tensor, dim=None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-input)."""
    return softmax(-input, dim, _stacklevel, dtype)


def _canonical_mask(mask, mask_name: str, other_type, other_name: str, target_type):
    """PyTorch's mask convention: a bool mask (True = not allowed) becomes an additive float mask with -inf
    where True; a float mask is used as it is."""
    from .. import dtypes as _dt
    if mask is None:
        return None
    if mask.dtype is _dt.bool_:
        zeros = _creation.zeros(tuple(mask.shape), dtype=target_type, device=mask.device)
        return _ternary.where(mask, float("-inf"), zeros)
    if mask.dtype.kind != _dt.FLOAT:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    return mask


def _in_projection_packed(q, k, v, w, b):
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def multi_head_attention_forward(query, key, value, embed_dim_to_check: int, num_heads: int, in_proj_weight,
                                 in_proj_bias, bias_k, bias_v, add_zero_attn: bool, dropout_p: float,
                                 out_proj_weight, out_proj_bias, training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None, use_separate_proj_weight: bool = False,
                                 q_proj_weight=None, k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights: bool = True, is_causal: bool = False):
    """PyTorch's multi-head attention on (L, N, E) inputs (or unbatched (L, E)): in-projection, heads,
    attention (scaled_dot_product_attention, or explicit softmax weights when need_weights), out-projection.
    Returns (output, weights averaged over heads if average_attn_weights, or None)."""
    is_batched = query.dim() == 3
    if query.dim() not in (2, 3):
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D "
                             "query tensor")
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")

    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", None, "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the causal hint alone drives scaled_dot_product_attention
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype)
        if key_padding_mask is not None:
            is_causal = False

    if not use_separate_proj_weight:
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    else:
        b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = linear(query, q_proj_weight, b_q), linear(key, k_proj_weight, b_k), linear(value, v_proj_weight, b_v)

    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but should be "
                                   f"{(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    if bias_k is not None and bias_v is not None:
        k = _cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = _cat([v, bias_v.expand(1, bsz, embed_dim)])
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))

    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)

    if add_zero_attn:
        k = _cat([k, _creation.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype, device=k.device)], dim=1)
        v = _cat([v, _creation.zeros((bsz * num_heads, 1, head_dim), dtype=v.dtype, device=v.device)], dim=1)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    src_len = k.size(1)

    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len)
        kpm = kpm.reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm

    if not training:
        dropout_p = 0.0

    if need_weights:
        q_scaled = q * math.sqrt(1.0 / head_dim)
        scores = q_scaled.matmul(k.transpose(-2, -1))
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = softmax(scores, dim=-1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        out = weights.matmul(v)
        out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not is_batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights

    if attn_mask is not None:
        if attn_mask.size(0) == 1 and attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
    if not is_batched:
        out = out.squeeze(1)
    return out, None


def _cat(tensors, dim: int = 0):
    from ..ops.movement import cat
    return cat(tensors, dim)


def conv_tbc(input, weight, bias, pad: int = 0):
    """A 1-D convolution in (time, batch, channels) layout: weight (kernel width, in channels, out channels),
    bias (out channels), `pad` zeros on both ends of time. Runs as conv1d."""
    if input.dim() != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.dim() != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel width, in_channel, out_channel.")
    if bias.dim() != 1:
        raise RuntimeError("Bias must be 1-D")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if bias.shape[0] != weight.shape[2]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    out = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)


# ------------------------------------------------------------------------------------------ fused kernels
# The fused ops (Triton kernel + NumPy fallback each, with their own backward ops) from the NN-kernel families.
from ..ops.nn_activation import (celu, elu, hardsigmoid, hardswish, hardtanh, leaky_relu, logsigmoid,  # noqa: E402,F401
                                 mish, relu6, selu, softsign)
from ..ops.nn_attention import scaled_dot_product_attention  # noqa: E402
from ..ops.nn_conv import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d  # noqa: E402,F401
from ..ops.nn_conv_transpose3d import conv_transpose3d  # noqa: E402,F401
from ..ops.composite_pdist import pdist  # noqa: E402,F401
from ..ops.nn_dropout import (alpha_dropout, dropout, dropout1d, dropout2d, dropout3d,  # noqa: E402,F401
                              feature_alpha_dropout)
from ..ops.nn_embedding import embedding, embedding_bag  # noqa: E402,F401
from ..ops.nn_fused import bias_gelu, swiglu  # noqa: E402,F401
from ..ops.grouped_mm import grouped_mm  # noqa: E402,F401
from ..ops.nn_loss import cross_entropy, nll_loss  # noqa: E402,F401
from ..ops.nn_rrelu import rrelu, rrelu_  # noqa: E402,F401
from ..ops.nn_norm import batch_norm, group_norm, instance_norm, layer_norm, rms_norm  # noqa: E402,F401
from ..ops.nn_pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: E402,F401
from ..ops.nn_softmax import log_softmax, softmax  # noqa: E402,F401
from ._pool import (adaptive_avg_pool1d, adaptive_avg_pool3d, adaptive_max_pool1d,  # noqa: E402,F401
                    adaptive_max_pool2d, adaptive_max_pool3d, avg_pool1d, avg_pool3d, lp_pool1d, lp_pool2d, lp_pool3d,
                    max_pool1d, max_pool3d)
from ._fractional_pool import (fractional_max_pool2d, fractional_max_pool2d_with_indices,  # noqa: E402,F401
                               fractional_max_pool3d, fractional_max_pool3d_with_indices)
from ._unpool import max_unpool1d, max_unpool2d, max_unpool3d  # noqa: E402,F401
from ._resample import (affine_grid, grid_sample, interpolate, pixel_shuffle, pixel_unshuffle,  # noqa: E402,F401
                        upsample)
from ._embedding_losses import (cosine_embedding_loss, ctc_loss, gaussian_nll_loss,  # noqa: E402,F401
                                hinge_embedding_loss, margin_ranking_loss, multi_margin_loss,
                                multilabel_margin_loss, multilabel_soft_margin_loss, soft_margin_loss,
                                triplet_margin_loss, triplet_margin_with_distance_loss)
from ._fold import fold, unfold  # noqa: E402,F401
from ._linear_cross_entropy import linear_cross_entropy  # noqa: E402,F401
from ._functional_forms import *  # noqa: E402,F401,F403  (in-place activations, *_with_indices, upsample_*)
