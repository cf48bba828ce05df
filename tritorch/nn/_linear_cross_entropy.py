"""linear_cross_entropy: cross_entropy(linear(input, linear_weight, linear_bias), target), and its chunked form.

Without `options` it is exactly that composition (the reference path: every autograd feature works). With a
`LinearCrossEntropyOptions` the batch is taken in chunks of rows, so the (N, C) logits of a large vocabulary never
exist at once: per chunk one GEMM gives the (B, C) logits, the fused cross_entropy op gives the chunk's loss and
its logit gradient in one pass, and two more GEMMs turn that gradient into the chunk's input gradient and add its
share of the weight gradient. For reduction 'mean' / 'sum' this runs in the forward when gradients will be wanted
(the loss is a scalar, so the gradients are the precomputed ones times the incoming gradient) and the backward
only scales them; for 'none' the forward computes the losses only and the backward recomputes each chunk with
the per-row incoming gradient folded in. Peak memory: two (B, C) buffers (logits, their gradient) besides the
gradients themselves. Built from registered ops, so it runs on every device; it is once differentiable, and a
second backward through a retained graph needs `allow_retain_graph=True` (as in PyTorch).
"""
from __future__ import annotations

import dataclasses
import math
import warnings

from .. import dtypes as _dt
from ..autograd import grad_mode
from ..autograd.function import Function
from ..ops.creation import empty, zeros
from ..tensor import Tensor

__all__ = ["LinearCrossEntropyOptions", "linear_cross_entropy"]

_POLICIES = ("auto", "accurate", "balanced", "compact")


# The "auto" picks of acc_policy / chunking_method per (device type, input dtype), PyTorch's: on the cpu 16-bit
# inputs keep everything in float32 ("accurate"); elsewhere the fallback pick holds.
_AUTO_DEFAULTS = {("cpu", _dt.bfloat16): ("accurate", "aspect_ratio"),
                  ("cpu", _dt.float16): ("accurate", "aspect_ratio"),
                  ("cuda", _dt.bfloat16): ("compact", "aspect_ratio:2"),
                  ("cuda", _dt.float16): ("compact", "aspect_ratio:2")}
_AUTO_FALLBACK = ("compact", "aspect_ratio:2")


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """How the chunked linear_cross_entropy runs (pass one to opt in; None keeps the plain composition).

    allow_retain_graph: keep the precomputed gradients for a second backward ('mean' / 'sum'; costs one copy of
        each gradient per backward). Without it a second backward raises.
    batch_chunk_size: rows per chunk (None: all rows, unless chunking_method picks a size).
    chunking_method: "auto" (per device and dtype), "aspect_ratio" (a chunk's (B, C) logits about as large as the
        (N, in_features) input: B = next_pow2(ceil(N / ceil(C / in_features)))), "aspect_ratio:K" (that over K),
        or None (batch_chunk_size decides).
    acc_policy: where 16-bit inputs use acc_dtype: "accurate" (logits, gradients and accumulators in acc_dtype),
        "balanced" (logits and gradients in the input dtype, the weight gradient summed over chunks in acc_dtype),
        "compact" (like balanced, the weight gradient summed in the input dtype: no (C, in_features) acc_dtype
        buffer), or "auto". All three are the same when acc_dtype is the input dtype.
    acc_dtype: the accumulation dtype (None: float32 for 16-bit inputs under acc_policy "auto", else the input's).
    """

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: _dt.dtype | None = None

    def __post_init__(self):
        if self.acc_policy not in _POLICIES:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = self.chunking_method.partition(":")
            if not sep:
                factor = "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        if not (self.batch_chunk_size is None
                or (isinstance(self.batch_chunk_size, int) and self.batch_chunk_size > 0)):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {self.batch_chunk_size!r}")
        if self.acc_dtype is not None and self.acc_dtype not in (_dt.float16, _dt.bfloat16, _dt.float32,
                                                                  _dt.float64):
            raise ValueError(f"acc_dtype must be one of {{None, torch.float16, torch.bfloat16, torch.float32, "
                             f"torch.float64}}, got {self.acc_dtype!r}. Pass acc_dtype=None to let the op pick "
                             f"automatically.")

    def _chunk_rows(self, n: int, in_features: int, num_classes: int, method: str) -> int:
        factor = int(method.split(":", 1)[1]) if ":" in method else 1
        target = -(-n // -(-num_classes // in_features))
        return min((1 << (target - 1).bit_length()) // factor, n)

    def _resolve(self, n: int, in_features: int, num_classes: int, dtype, device) -> LinearCrossEntropyOptions:
        """These options with "auto" and None settled for one call: policy, method, chunk rows and acc_dtype."""
        policy, method = self.acc_policy, self.chunking_method
        if method == "auto" and self.batch_chunk_size is not None:
            method = None   # an explicit chunk size wins over the automatic pick
        if policy == "auto" or method == "auto":
            auto_policy, auto_method = _AUTO_DEFAULTS.get((device.type, dtype), _AUTO_FALLBACK)
            policy = auto_policy if policy == "auto" else policy
            method = auto_method if method == "auto" else method
        rows = n if self.batch_chunk_size is None else min(self.batch_chunk_size, n)
        if method is not None:
            rows = self._chunk_rows(n, in_features, num_classes, method)
            if self.batch_chunk_size is not None and self.batch_chunk_size != rows:
                raise ValueError(f"batch_chunk_size (={self.batch_chunk_size}) and chunking_method ('{method}') give "
                                 f"different chunk sizes ({self.batch_chunk_size} vs {rows}); pass only one.")
        acc = self.acc_dtype
        if acc is None:
            acc = _dt.float32 if self.acc_policy == "auto" and _mixed_precision_ok(dtype, device) else dtype
        return dataclasses.replace(self, acc_policy=policy, chunking_method=method, batch_chunk_size=max(1, rows),
                                   acc_dtype=acc)


def _mixed_precision_ok(dtype, device) -> bool:
    """Whether 16-bit products may accumulate into float32 here (every cpu; a GPU of compute capability 7.0+ for
    float16, 8.0+ for bfloat16)."""
    if dtype not in (_dt.float16, _dt.bfloat16):
        return False
    if device.type != "cuda":
        return True
    from .. import cuda
    if not cuda.is_available():
        return False
    major = cuda.get_device_capability(device)[0]
    return major >= (8 if dtype is _dt.bfloat16 else 7)


def _check_shapes(input, linear_weight, target, linear_bias, ignore_index):
    """PyTorch's argument checks; returns (out_features, logits shape, target holds probabilities)."""
    for name, t in (("input", input), ("linear_weight", linear_weight), ("target", target)):
        if not isinstance(t, Tensor):
            raise TypeError(f"linear_cross_entropy(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if input.dim() < 1 or input.dim() > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got {linear_weight.dim()}")
    in_features = input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError("expected equal input and linear_weight last dimensions (in_features), "
                           f"got {input.shape[-1]} and {linear_weight.shape[-1]}, respectively")
    num_classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(num_classes, *out_features)}, "
                           f"got {tuple(linear_bias.shape)}")
    if out_features and input.dim() == 1:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} requires"
                           f" batched input, (N, {in_features}), got unbatched input with shape "
                           f"{tuple(input.shape)}")
    logits_shape = (*input.shape[:-1], num_classes, *out_features)
    probabilities = tuple(target.shape) == logits_shape
    if probabilities and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    return out_features, logits_shape, probabilities


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *, linear_bias: Tensor | None = None,
                         weight: Tensor | None = None, reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0, options: LinearCrossEntropyOptions | None = None) -> Tensor:
    """torch.nn.functional.linear_cross_entropy: cross_entropy(linear(input, linear_weight, linear_bias), target)
    with the same arguments, input (in,) or (N, in), linear_weight (C, [d1, ...,] in); chunked over the batch, never
    holding the whole (N, C) logits, when `options` is given (see LinearCrossEntropyOptions)."""
    from . import functional as F
    out_features, logits_shape, _ = _check_shapes(input, linear_weight, target, linear_bias, ignore_index)
    ignore_index = -100 if ignore_index is None else ignore_index
    in_features, num_classes = input.shape[-1], linear_weight.shape[0]
    if options is not None:
        from .. import jit
        tracing = jit.is_tracing()
        if (out_features or reduction not in ("mean", "sum", "none") or label_smoothing != 0.0
                or target.dtype is not _dt.int64 or tracing):
            warnings.warn("linear_cross_entropy: ``options`` ignored; chunked path needs reduction in "
                          "{'mean','sum','none'}, label_smoothing == 0, target.dtype == int64, out_features == (). "
                          f"Got reduction={reduction!r}, label_smoothing={label_smoothing}, target.dtype="
                          f"{target.dtype}, out_features={out_features}, tracing={tracing}, linear_bias.shape="
                          f"{tuple(linear_bias.shape) if linear_bias is not None else None}.", stacklevel=2)
        else:
            batched = input.dim() == 2
            if not batched:
                input, target = input.unsqueeze(0), target.unsqueeze(0)
            opts = options._resolve(input.shape[0], in_features, num_classes, input.dtype, input.device)
            loss = _chunked(input, linear_weight, target, linear_bias, weight, reduction, ignore_index, opts)
            return loss if batched else loss.squeeze(0)
    if out_features:
        linear_weight = linear_weight.reshape(math.prod(out_features, start=num_classes), in_features)
        if linear_bias is not None:
            linear_bias = linear_bias.reshape(math.prod(out_features, start=num_classes))
    logits = F.linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return F.cross_entropy(logits, target, weight=weight, reduction=reduction, ignore_index=ignore_index,
                           label_smoothing=label_smoothing)


# ================================================================================================ chunked path

def _check_chunked(input, linear_weight, acc):
    dtype = input.dtype
    if linear_weight.dtype is not dtype:
        raise RuntimeError(f"linear_cross_entropy: expected input and linear_weight of the same dtype, got {dtype} "
                           f"and {linear_weight.dtype}")
    if dtype is not acc and not (dtype in (_dt.float16, _dt.bfloat16) and acc is _dt.float32):
        raise RuntimeError(f"linear_cross_entropy supports float32 acc_dtype with float16/bfloat16 inputs, but got "
                           f"{acc} acc_dtype and {dtype} inputs.")


def _chunked(input, linear_weight, target, linear_bias, weight, reduction, ignore_index, opts):
    _check_chunked(input, linear_weight, opts.acc_dtype)
    if reduction == "none":
        return _ChunkedRows.apply(input, linear_weight, target, linear_bias, weight, ignore_index, opts)
    on = grad_mode.STATE.enabled
    wants = (on and input._requires_grad, on and linear_weight._requires_grad,
             on and linear_bias is not None and linear_bias._requires_grad)
    return _ChunkedScalar.apply(input, linear_weight, target, linear_bias, weight, reduction, ignore_index, opts,
                                wants)


class _Chunks:
    """One call's chunk loop: the operands in the dtypes the policy asks for, and the per-chunk work."""

    def __init__(self, input, linear_weight, target, linear_bias, weight, ignore_index, opts):
        self.input, self.target, self.ignore_index = input, target, ignore_index
        self.dtype, self.acc, self.rows = input.dtype, opts.acc_dtype, opts.batch_chunk_size
        # "accurate" computes the logits from acc_dtype operands; the other policies from the input's
        self.compute = self.acc if opts.acc_policy == "accurate" else self.dtype
        self.linear_weight = linear_weight.to(self.compute)
        self.linear_bias = None if linear_bias is None else linear_bias.to(self.compute)
        self.weight = None if weight is None else weight.to(self.compute)   # cross_entropy wants the logits' dtype
        self.weight_grad_dtype = self.dtype if opts.acc_policy == "compact" else self.acc
        self.sum_dtype = _dt.float64 if self.acc is _dt.float64 else _dt.float32   # of the loss over chunks

    def spans(self):
        n = self.input.shape[0]
        return [(s, min(s + self.rows, n)) for s in range(0, n, self.rows)]

    def logits(self, s, e):
        from . import functional as F
        return F.linear(self.input[s:e].to(self.compute), self.linear_weight, self.linear_bias)

    def loss_and_grad(self, s, e, reduction, grad_rows=None):
        """The chunk's loss (reduced by `reduction`) and, when `reduction` is not None or grad_rows is given, the
        gradient of its sum (or of grad_rows . losses) with respect to the chunk's logits: one pass of the fused
        cross_entropy op over the logits."""
        from .. import autograd
        from . import functional as F
        logits = self.logits(s, e)
        with grad_mode.enable_grad():
            logits.requires_grad_(True)
            loss = F.cross_entropy(logits, self.target[s:e], weight=self.weight, ignore_index=self.ignore_index,
                                   reduction=reduction)
            if grad_rows is not None:
                grad_rows = grad_rows.to(loss.dtype)
            (g,) = autograd.grad(loss, logits, grad_outputs=grad_rows)
        return loss.detach(), g

    def loss_rows(self, s, e):
        from . import functional as F
        return F.cross_entropy(self.logits(s, e), self.target[s:e], weight=self.weight,
                               ignore_index=self.ignore_index, reduction="none")

    def new_grads(self, wants):
        x, w = self.input, self.linear_weight
        gx = zeros(x.shape, dtype=self.dtype, device=x.device) if wants[0] else None
        gw = zeros(w.shape, dtype=self.weight_grad_dtype, device=w.device) if wants[1] else None
        gb = zeros(w.shape[0], dtype=self.acc, device=w.device) if wants[2] else None
        return [gx, gw, gb]

    def add_grads(self, grads, s, e, g):
        """Adds the chunk's logit gradient g (B, C) into the input, weight and bias gradients."""
        gx, gw, gb = grads
        if gx is not None:
            gx[s:e] = (g @ self.linear_weight).to(self.dtype)
        if gw is not None:
            x = self.input[s:e].to(g.dtype)
            if gw.dtype is g.dtype:
                gw.addmm_(g.mT, x)
            else:
                gw += (g.mT @ x).to(gw.dtype)
        if gb is not None:
            gb += g.sum(0, dtype=self.acc)

    def finish(self, grads, linear_weight, linear_bias):
        gx, gw, gb = grads
        return (gx, None if gw is None else gw.to(linear_weight.dtype),
                None if gb is None else gb.to(linear_bias.dtype))


def _total_weight(target, weight, ignore_index):
    """'mean''s divisor: the summed class weights of the counted targets (their number without weights)."""
    counted = target != ignore_index
    if weight is None:
        return counted.sum()
    return (weight[target.masked_fill(~counted, 0)] * counted).sum()


class _ChunkedScalar(Function):
    """'mean' / 'sum': the forward computes the loss and the wanted gradients chunk by chunk; the backward scales
    them by the incoming (0-dim) gradient."""

    @staticmethod
    def forward(ctx, input, linear_weight, target, linear_bias, weight, reduction, ignore_index, opts, wants):
        run = _Chunks(input, linear_weight, target, linear_bias, weight, ignore_index, opts)
        total = None
        grads = run.new_grads(wants)
        want_any = any(wants)
        loss = zeros((), dtype=run.sum_dtype, device=input.device)
        for s, e in run.spans():
            if want_any:
                part, g = run.loss_and_grad(s, e, "sum")
                run.add_grads(grads, s, e, g)
            else:
                part = run.loss_rows(s, e).sum()
            loss += part.to(run.sum_dtype)
        if reduction == "mean":
            total = _total_weight(target, weight, ignore_index).to(run.sum_dtype)
            loss = loss / total
            grads = [None if g is None else g.div_(total.to(g.dtype)) for g in grads]
        ctx.grads = run.finish(grads, linear_weight, linear_bias)
        ctx.allow_retain_graph = opts.allow_retain_graph
        return loss.to(input.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        grads = ctx.grads
        if grads is None:
            raise RuntimeError("linear_cross_entropy chunked backward called twice; retain_graph=True / double "
                               "backward are not supported.")
        if not ctx.allow_retain_graph:
            ctx.grads = None
            scaled = [None if g is None else g.mul_(grad_output.to(g.dtype)) for g in grads]
        else:
            scaled = [None if g is None else g * grad_output.to(g.dtype) for g in grads]
        gx, gw, gb = scaled
        return gx, gw, None, gb, None, None, None, None, None


class _ChunkedRows(Function):
    """'none': the forward computes the per-row losses only; the backward recomputes each chunk's logits and takes
    the gradient of (incoming gradient . losses)."""

    @staticmethod
    def forward(ctx, input, linear_weight, target, linear_bias, weight, ignore_index, opts):
        run = _Chunks(input, linear_weight, target, linear_bias, weight, ignore_index, opts)
        loss = empty(input.shape[0], dtype=input.dtype, device=input.device)
        for s, e in run.spans():
            loss[s:e] = run.loss_rows(s, e)
        ctx.save_for_backward(input, linear_weight, target, linear_bias, weight)
        ctx.ignore_index, ctx.opts = ignore_index, opts
        return loss

    @staticmethod
    def backward(ctx, grad_output):
        input, linear_weight, target, linear_bias, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        wants = (need[0], need[1], linear_bias is not None and need[3])
        run = _Chunks(input, linear_weight, target, linear_bias, weight, ctx.ignore_index, ctx.opts)
        grads = run.new_grads(wants)
        for s, e in run.spans():
            _, g = run.loss_and_grad(s, e, "none", grad_output[s:e])
            run.add_grads(grads, s, e, g)
        gx, gw, gb = run.finish(grads, linear_weight, linear_bias)
        return gx, gw, None, gb, None, None, None
