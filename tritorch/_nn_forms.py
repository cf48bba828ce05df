"""torch.* forms of nn functions, with PyTorch's own top-level argument orders (ATen's schemas), which differ from
torch.nn.functional's: torch.batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
cudnn_enabled), torch.embedding(weight, indices, ...), losses taking `reduction` as ATen's integer (0 'none',
1 'mean', 2 'sum'), pools and dropouts without keyword defaults. Each is a call of the nn.functional function;
the in-place forms (selu_, dropout_, ...) write into the input through it."""
from __future__ import annotations

import warnings

from . import dtypes as _dt
from .nn import functional as F
from .ops import _bind
from .tensor import Tensor

__all__ = ["batch_norm", "instance_norm", "embedding", "embedding_renorm_", "embedding_bag", "selu", "celu",
           "threshold", "prelu", "hardshrink", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle",
           "native_channel_shuffle", "bilinear",
           "constant_pad_nd", "kl_div", "hinge_embedding_loss", "margin_ranking_loss", "cosine_embedding_loss",
           "poisson_nll_loss", "triplet_margin_loss", "binary_cross_entropy_with_logits", "ctc_loss", "max_pool1d",
           "max_pool3d", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d", "max_pool1d_with_indices",
           "alpha_dropout", "feature_alpha_dropout", "feature_dropout", "selu_", "celu_", "threshold_", "dropout_",
           "alpha_dropout_", "feature_alpha_dropout_", "feature_dropout_", "grid_sampler", "grid_sampler_2d",
           "grid_sampler_3d", "affine_grid_generator", "convolution", "native_layer_norm", "native_batch_norm",
           "native_group_norm", "native_dropout", "conv_tbc", "dropout", "layer_norm", "group_norm"]

_REDUCTIONS = ("none", "mean", "sum")


def _reduction(reduction) -> str:
    """ATen's integer reduction (torch.nn._reduction.get_enum's values) as nn.functional's name."""
    if isinstance(reduction, str):
        return reduction
    if reduction not in (0, 1, 2):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return _REDUCTIONS[reduction]


# ------------------------------------------------------------------------------------------------ normalisation

def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled) -> Tensor:
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,
                  cudnn_enabled) -> Tensor:
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def _stats(x, dims, eps):
    """(mean, 1 / sqrt(biased variance + eps)) over dims, kept as size-1 dims; not recorded (PyTorch's saved
    statistics are not differentiable outputs)."""
    from .autograd.grad_mode import no_grad
    with no_grad():
        mean = x.mean(dims, keepdim=True)
        rstd = ((x - mean) ** 2).mean(dims, keepdim=True).add(eps).rsqrt()
    return mean, rstd


def dropout(input, p, train) -> Tensor:
    """torch.dropout(input, p, train): F.dropout under ATen's argument names."""
    return F.dropout(input, p, train)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05, cudnn_enable=True) -> Tensor:
    """torch.layer_norm: F.layer_norm, with ATen's trailing cudnn_enable flag (no cuDNN here: ignored)."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05, cudnn_enabled=True) -> Tensor:
    """torch.group_norm: F.group_norm, with ATen's trailing cudnn_enabled flag (ignored)."""
    return F.group_norm(input, num_groups, weight, bias, eps)


def native_layer_norm(input, normalized_shape, weight, bias, eps) -> tuple:
    """(output, mean, rstd), the statistics over the normalised trailing dims, kept as size-1 dims."""
    out = F.layer_norm(input, normalized_shape, weight, bias, eps)
    dims = tuple(range(input.dim() - len(normalized_shape), input.dim()))
    return (out, *_stats(input, dims, eps))


def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps) -> tuple:
    """(output, save_mean, save_invstd): the batch statistics per channel in training, empty tensors otherwise."""
    out = F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    if not training:
        empty = input.new_empty((0,))
        return out, empty, empty.clone()
    mean, rstd = _stats(input, tuple(d for d in range(input.dim()) if d != 1), eps)
    return out, mean.reshape(-1), rstd.reshape(-1)


def native_group_norm(input, weight, bias, N, C, HxW, group, eps) -> tuple:
    """(output, mean, rstd) with the statistics per (sample, group), shape (N, group)."""
    out = F.group_norm(input, group, weight, bias, eps)
    mean, rstd = _stats(input.reshape(N, group, -1), (2,), eps)
    return out, mean.reshape(N, group), rstd.reshape(N, group)


def native_dropout(input, p, train) -> tuple:
    """(output, keep mask): one mask draw of dropout's generator, the kept elements scaled by 1 / (1 - p)."""
    from .ops.creation import ones_like
    if train is False:
        return input.clone(), ones_like(input, dtype=_dt.bool_)
    scaled_mask = F.dropout(ones_like(input), p, True)
    return input * scaled_mask, scaled_mask != 0


def embedding(weight, indices, padding_idx: int = -1, scale_grad_by_freq: bool = False, sparse: bool = False):
    """The rows of weight at indices; a negative padding_idx means none (ATen's convention)."""
    return F.embedding(indices, weight, None if padding_idx < 0 else padding_idx,
                       scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def embedding_renorm_(input, indices, max_norm: float, norm_type: float) -> Tensor:
    """Rescale, in place and unrecorded, the rows of `input` that indices name to p-norm <= max_norm."""
    from .ops.nn_embedding import embedding_renorm_op
    from .ops.registry import _no_record
    with _no_record():
        embedding_renorm_op(input, indices, max_norm=float(max_norm), norm_type=float(norm_type), out=input)
    return input


_BAG_MODES = ("sum", "mean", "max")


def embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None) -> tuple:
    """ATen's embedding_bag: (output, offset2bag, bag_size, max_indices). output is nn.functional.embedding_bag's;
    the other three are the bookkeeping PyTorch's cpu kernel returns with it: the bag of each index (left empty in
    'sum' mode without padding_idx below float64), the non-padding count per bag (zeros in 'sum' mode), and per bag
    the index of the max row for each feature ('max'), bag_size ('mean') or zeros ('sum')."""
    import numpy as np
    from .ops.creation import tensor
    name = _BAG_MODES[mode] if isinstance(mode, int) else mode
    pad = None if padding_idx is None or padding_idx < 0 else padding_idx
    output = F.embedding_bag(indices, weight, offsets, scale_grad_by_freq=scale_grad_by_freq, mode=name,
                             sparse=sparse, per_sample_weights=per_sample_weights,
                             include_last_offset=include_last_offset, padding_idx=pad)
    idx = indices.detach().cpu().numpy().reshape(-1)
    starts = offsets.detach().cpu().numpy().reshape(-1)
    n_bags = len(starts) - 1 if include_last_offset else len(starts)
    bag_of = np.searchsorted(starts[:n_bags], np.arange(idx.size), side="right") - 1
    kept = idx != pad if pad is not None else np.ones(idx.size, bool)
    sizes = np.bincount(bag_of[kept], minlength=n_bags)[:n_bags].astype(np.int64)
    if name == "sum":
        fast = pad is None and weight.dtype is not _dt.float64  # PyTorch's fbgemm path skips offset2bag
        offset2bag = np.zeros(0, np.int64) if fast else bag_of
        sizes = np.zeros(n_bags, np.int64)
        max_indices = np.zeros(n_bags, np.int64)
    elif name == "mean":
        offset2bag, max_indices = bag_of, sizes
    else:
        offset2bag = bag_of
        rows = weight.detach().cpu().numpy()
        max_indices = np.zeros((n_bags, rows.shape[1]), np.int64)
        for b in range(n_bags):
            members = idx[(bag_of == b) & kept]
            if members.size:
                max_indices[b] = members[np.argmax(rows[members], axis=0)]
    device = weight.device
    return (output, tensor(offset2bag.astype(np.int64), device=device), tensor(sizes, device=device),
            tensor(max_indices, device=device))


# ----------------------------------------------------------------------------------------------- activations

def selu(input) -> Tensor:
    return F.selu(input)


def celu(input, alpha=1.0) -> Tensor:
    return F.celu(input, alpha)


def threshold(input, threshold, value) -> Tensor:  # noqa: F811
    return F.threshold(input, threshold, value)


def prelu(input, weight) -> Tensor:
    return F.prelu(input, weight)


def hardshrink(input, lambd=0.5) -> Tensor:
    return F.hardshrink(input, lambd)


def selu_(input) -> Tensor:
    return F.selu(input, inplace=True)


def celu_(input, alpha=1.0) -> Tensor:
    return F.celu(input, alpha, inplace=True)


def threshold_(input, threshold, value) -> Tensor:  # noqa: F811
    return F.threshold(input, threshold, value, inplace=True)


def conv_tbc(input, weight, bias, pad: int = 0) -> Tensor:
    return F.conv_tbc(input, weight, bias, pad)


# -------------------------------------------------------------------------------------------- reshuffles, pads

def pixel_shuffle(input, upscale_factor) -> Tensor:
    return F.pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input, downscale_factor) -> Tensor:
    return F.pixel_unshuffle(input, downscale_factor)


def channel_shuffle(input, groups) -> Tensor:
    return F.channel_shuffle(input, groups)


native_channel_shuffle = channel_shuffle


def bilinear(input1, input2, weight, bias=None) -> Tensor:
    return F.bilinear(input1, input2, weight, bias)


def constant_pad_nd(input, pad, value=0) -> Tensor:
    return F.pad(input, pad, "constant", value)


def convolution(input, weight, bias, stride, padding, dilation, transposed: bool, output_padding, groups: int):
    """ATen's one convolution entry point: the 1-, 2- or 3-d convolution (or transposed convolution) that weight's
    rank names, through nn.functional."""
    dims = weight.dim() - 2
    if dims not in (1, 2, 3):
        raise RuntimeError(f"convolution: expected a 3-, 4- or 5-D weight, got {weight.dim()}-D")
    if not transposed:
        return getattr(F, f"conv{dims}d")(input, weight, bias, stride, padding, dilation, groups)
    return getattr(F, f"conv_transpose{dims}d")(input, weight, bias, stride, padding, output_padding, groups,
                                                dilation)


_GRID_MODES = ("bilinear", "nearest", "bicubic")
_GRID_PADDINGS = ("zeros", "border", "reflection")


def grid_sampler(input, grid, interpolation_mode: int, padding_mode: int, align_corners: bool) -> Tensor:
    """grid_sample with ATen's integer modes (0 bilinear, 1 nearest, 2 bicubic; 0 zeros, 1 border, 2 reflection)."""
    if interpolation_mode not in (0, 1, 2) or padding_mode not in (0, 1, 2):
        raise RuntimeError(f"grid_sampler(): invalid interpolation_mode ({interpolation_mode}) or padding_mode "
                           f"({padding_mode}): expected 0, 1 or 2")
    return F.grid_sample(input, grid, _GRID_MODES[interpolation_mode], _GRID_PADDINGS[padding_mode], align_corners)


def grid_sampler_2d(input, grid, interpolation_mode: int, padding_mode: int, align_corners: bool) -> Tensor:
    if input.dim() != 4:
        raise RuntimeError(f"grid_sampler_2d(): expected 4D input, but got input with sizes {list(input.shape)}")
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


def grid_sampler_3d(input, grid, interpolation_mode: int, padding_mode: int, align_corners: bool) -> Tensor:
    if input.dim() != 5:
        raise RuntimeError(f"grid_sampler_3d(): expected 5D input, but got input with sizes {list(input.shape)}")
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


def affine_grid_generator(theta, size, align_corners: bool) -> Tensor:
    return F.affine_grid(theta, list(size), align_corners)


# ----------------------------------------------------------------------------------------------------- losses

def kl_div(input, target, reduction=1, *, log_target: bool = False) -> Tensor:
    """ATen's kl_div: 'mean' is the plain element mean, without nn.functional's warning about 'batchmean'."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="reduction: 'mean' divides")
        return F.kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)


def hinge_embedding_loss(input, target, margin=1.0, reduction=1) -> Tensor:
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=1) -> Tensor:
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=1) -> Tensor:
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def poisson_nll_loss(input, target, log_input, full, eps, reduction) -> Tensor:
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_reduction(reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction=1):
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction))


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=1) -> Tensor:
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=_reduction(reduction),
                                              pos_weight=pos_weight)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=1, zero_infinity=False):
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _reduction(reduction), zero_infinity)


# ------------------------------------------------------------------------------------------------------ pools

def _stride(stride):
    return None if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else stride


def max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False) -> Tensor:
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False) -> tuple:
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode, return_indices=True)


def max_pool3d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False) -> Tensor:
    return F.max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def avg_pool1d(input, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True) -> Tensor:
    return F.avg_pool1d(input, kernel_size, _stride(stride), padding, ceil_mode, count_include_pad)


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    return F.adaptive_avg_pool1d(input, output_size)


def adaptive_max_pool1d(input, output_size) -> tuple:
    """(values, indices): ATen's form always returns both."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


# --------------------------------------------------------------------------------------------------- dropouts

def _feature_dropout(input, p, train, inplace):
    if input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    from .ops.nn_dropout import _feature_dropout as channels
    return channels(input, p, train, inplace, 2)


def feature_dropout(input, p, train) -> Tensor:
    """Dropout of whole channels: one draw per (N, C), scaled by 1 / (1 - p)."""
    return _feature_dropout(input, p, train, False)


def feature_dropout_(input, p, train) -> Tensor:
    return _feature_dropout(input, p, train, True)


def alpha_dropout(input, p, train) -> Tensor:
    return F.alpha_dropout(input, p, train)


def alpha_dropout_(input, p, train) -> Tensor:
    return F.alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout(input, p, train) -> Tensor:
    return F.feature_alpha_dropout(input, p, train)


def feature_alpha_dropout_(input, p, train) -> Tensor:
    return F.feature_alpha_dropout(input, p, train, inplace=True)


def dropout_(input, p, train) -> Tensor:
    return F.dropout(input, p, train, inplace=True)


_bind.methods(hardshrink=hardshrink, prelu=prelu)
