"""Spectral normalisation (torch.nn.utils.spectral_norm / remove_spectral_norm): a weight divided by an estimate
of its largest singular value, w / sigma, sigma = u . (W v), with u and v refined by power iteration on every
training forward (kept as buffers; eval forwards reuse them). Names follow PyTorch's: `<name>_orig` (the
parameter), `<name>_u` and `<name>_v` (the buffers), so checkpoints load either way."""
from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..parameter import Parameter
from .weight_norm import hook_key

__all__ = ["spectral_norm", "remove_spectral_norm"]


def _normalize(x: Tensor, eps: float) -> Tensor:
    return x / x.norm().clamp_min(eps)


class SpectralNorm:
    def __init__(self, name: str, n_power_iterations: int, dim: int, eps: float):
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got n_power_iterations="
                             f"{n_power_iterations}")
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def _matrix(self, weight: Tensor) -> Tensor:
        """The weight as a matrix with `dim` as its rows."""
        if self.dim != 0:
            order = [self.dim] + [d for d in range(weight.dim()) if d != self.dim]
            weight = weight.permute(*order)
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        mat = self._matrix(weight)
        if do_power_iteration:
            with no_grad():
                for _ in range(self.n_power_iterations):
                    v.copy_(_normalize(mat.T @ u, self.eps))
                    u.copy_(_normalize(mat @ v, self.eps))
            u, v = u.clone(), v.clone()   # the saved copies stay valid when the buffers move on
        sigma = u.dot(mat @ v)
        return weight / sigma

    def __call__(self, module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    def remove(self, module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        del module._parameters[self.name + "_orig"]
        del module._buffers[self.name + "_u"]
        del module._buffers[self.name + "_v"]
        module.register_parameter(self.name, Parameter(weight.detach()))


def spectral_norm(module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12, dim=None):
    """Reparameterise module.<name> as weight / sigma(weight); returns the module. dim defaults to 0 (1 for
    transposed convolutions, whose output channels are dim 1)."""
    from ..modules.conv import ConvTranspose1d, ConvTranspose2d
    if hook_key(module, SpectralNorm, name) is not None:
        raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d)) else 0
    weight = getattr(module, name)
    if not isinstance(weight, Parameter):
        raise ValueError(f"spectral_norm: '{name}' is not a parameter of {type(module).__name__}")
    fn = SpectralNorm(name, n_power_iterations, dim, eps)
    with no_grad():
        mat = fn._matrix(weight)
        u = _normalize(weight.new_empty((mat.shape[0],)).normal_(0, 1), eps)
        v = _normalize(weight.new_empty((mat.shape[1],)).normal_(0, 1), eps)
    del module._parameters[name]
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, weight.detach() * 1.0)
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    module.register_forward_pre_hook(fn)
    return module


def remove_spectral_norm(module, name: str = "weight"):
    """Fold the normalisation back into a plain parameter module.<name>; returns the module."""
    key = hook_key(module, SpectralNorm, name)
    if key is None:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    module._forward_pre_hooks.pop(key).remove(module)
    return module
