"""nn.SyncBatchNorm: batch normalisation whose statistics span the batches of every rank of a process group.

Under an initialised process group of more than one rank, in training, each rank sends the per-channel mean, sum
of squared deviations and element count of its own batch (one all_gather of 2C + 1 values); every rank combines
them as parallel variances combine (Chan et al.), so the result is the full batch's mean and biased variance
without the cancellation of a sum-of-squares formula, and updates its running statistics alike (the unbiased
variance, as BatchNorm). The backward all-reduces the two per-channel sums the input gradient needs (sum of dy
and of dy * (x - mean), 2C values); the weight and bias gradients stay local, as PyTorch's (DDP averages them).
PyTorch syncs only cuda inputs and refuses cpu ones; tritorch's process groups carry cpu tensors too, so both
sync. Elsewhere (eval, one rank, no process group) it is BatchNorm over inputs of any rank >= 2."""
from __future__ import annotations

from ... import distributed as dist
from ... import dtypes as _dt
from ...autograd.function import Function
from ...autograd.grad_mode import no_grad
from ...ops.creation import empty, tensor, zeros
from ...ops.movement import cat, stack
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


def _reduced_dims(x) -> list:
    return [0] + list(range(2, x.dim()))


def _per_channel(v, x):
    """A (C,) vector shaped to broadcast against x (N, C, ...)."""
    return v.reshape((1, -1) + (1,) * (x.dim() - 2))


class _SyncBatchNorm(Function):
    @staticmethod
    def forward(ctx, input, weight, bias, running_mean, running_var, eps, momentum, process_group, world_size):
        compute = _dt.float32 if input.dtype in (_dt.float16, _dt.bfloat16) else input.dtype
        x = input.to(compute)
        C = x.shape[1]
        dims = _reduced_dims(x)
        count = x.numel() // C if C else 0
        if count:
            local_mean = x.mean(dims)
            local_m2 = ((x - _per_channel(local_mean, x)) ** 2).sum(dims)
        else:   # an empty local batch: it adds nothing (count 0), and no NaN from the mean of nothing
            local_mean = local_m2 = zeros(C, dtype=compute, device=x.device)
        packed = cat([local_mean, local_m2, tensor([float(count)], dtype=compute, device=x.device)])
        gathered = [empty(packed.shape, dtype=compute, device=x.device) for _ in range(world_size)]
        dist.all_gather(gathered, packed, group=process_group)
        every = stack(gathered)                          # (world, 2C + 1)
        counts = every[:, 2 * C:]                        # (world, 1)
        total = float(counts.sum().item())
        if total == 0:
            raise ValueError("SyncBatchNorm: the batches of every rank are empty")
        means, m2s = every[:, :C], every[:, C:2 * C]
        mean = (means * counts).sum(0) / total
        m2 = (m2s + counts * (means - mean) ** 2).sum(0)
        invstd = (m2 / total + eps).rsqrt()
        if running_mean is not None:
            with no_grad():
                running_mean.mul_(1 - momentum).add_(mean.to(running_mean.dtype) * momentum)
                unbiased = m2 / max(total - 1, 1)
                running_var.mul_(1 - momentum).add_(unbiased.to(running_var.dtype) * momentum)
        y = (x - _per_channel(mean, x)) * _per_channel(invstd, x)
        if weight is not None:
            y = y * _per_channel(weight.to(compute), x)
        if bias is not None:
            y = y + _per_channel(bias.to(compute), x)
        ctx.save_for_backward(input, weight, mean, invstd)
        ctx.total, ctx.process_group = total, process_group
        return y.to(input.dtype)

    @staticmethod
    def backward(ctx, grad):
        input, weight, mean, invstd = ctx.saved_tensors
        x = input.to(mean.dtype)
        g = grad.to(mean.dtype)
        dims = _reduced_dims(x)
        xmu = x - _per_channel(mean, x)
        sum_dy = g.sum(dims)
        sum_dy_xmu = (g * xmu).sum(dims)
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            C = x.shape[1]
            both = cat([sum_dy, sum_dy_xmu])
            dist.all_reduce(both, group=ctx.process_group)   # the two sums over every rank's batch
            mean_dy, mean_dy_xmu = both[:C] / ctx.total, both[C:] / ctx.total
            scale = invstd if weight is None else invstd * weight.to(mean.dtype)
            grad_input = ((g - _per_channel(mean_dy, x) - xmu * _per_channel(invstd * invstd * mean_dy_xmu, x))
                          * _per_channel(scale, x)).to(input.dtype)
        if weight is not None and ctx.needs_input_grad[1]:
            grad_weight = (sum_dy_xmu * invstd).to(weight.dtype)
        if ctx.needs_input_grad[2]:
            grad_bias = sum_dy.to(grad.dtype)
        return grad_input, grad_weight, grad_bias, None, None, None, None, None, None


class SyncBatchNorm(_BatchNorm):
    """torch.nn.SyncBatchNorm: BatchNorm over (N, C, ...) inputs whose training statistics are those of the
    batches of every rank of `process_group` (default: the world), with the same parameters, buffers and
    state_dict keys as BatchNorm1d/2d/3d."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum=0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group=None, device=None, dtype=None, *, bias: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input):
        self._check_input_dim(input)
        if input.size(1) == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")
        group, world = None, 1
        if self.training and dist.is_available() and dist.is_initialized():
            group = self.process_group or dist.group.WORLD
            world = dist.get_world_size(group)
        if world <= 1:
            return super().forward(input)
        factor = self._average_factor()
        running_mean = self.running_mean if self.track_running_stats else None
        running_var = self.running_var if self.track_running_stats else None
        return _SyncBatchNorm.apply(input, self.weight, self.bias, running_mean, running_var, self.eps, factor,
                                    group, world)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """Every BatchNorm*d in `module` replaced by a SyncBatchNorm sharing its parameters and buffers (a
        BatchNorm module itself is returned as a new SyncBatchNorm), as PyTorch's."""
        module_output = module
        if isinstance(module, _BatchNorm):
            module_output = cls(module.num_features, module.eps, module.momentum, module.affine,
                                module.track_running_stats, process_group, bias=module.bias is not None)
            if module.affine:
                with no_grad():
                    module_output.weight = module.weight
                    module_output.bias = module.bias
            module_output.running_mean = module.running_mean
            module_output.running_var = module.running_var
            module_output.num_batches_tracked = module.num_batches_tracked
            module_output.training = module.training
            if hasattr(module, "qconfig"):
                module_output.qconfig = module.qconfig
        for name, child in module.named_children():
            module_output.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        del module
        return module_output
