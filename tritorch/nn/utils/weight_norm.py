"""Weight normalisation (torch.nn.utils.weight_norm / remove_weight_norm): a parameter w is replaced by a
direction v and a magnitude g, w = g * v / ||v||, recomputed before every forward by a forward pre-hook. The
norm is over every dim but `dim` (over the whole tensor when dim is None). Parameters are named
`<name>_g` and `<name>_v`, as PyTorch names them, so checkpoints load either way."""
from __future__ import annotations

from ...tensor import Tensor
from ..parameter import Parameter

__all__ = ["weight_norm", "remove_weight_norm"]


def _norm_except_dim(v: Tensor, dim) -> Tensor:
    if dim is None:
        return v.norm()
    d = dim % v.dim()
    others = tuple(i for i in range(v.dim()) if i != d)
    return v.norm(2, others, keepdim=True) if others else v.abs()


class WeightNorm:
    def __init__(self, name: str, dim):
        self.name, self.dim = name, dim

    def compute_weight(self, module) -> Tensor:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    def __call__(self, module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))

    def remove(self, module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.detach()))


def hook_key(module, kind: type, name: str):
    """The key of module's forward pre-hook of class `kind` for parameter `name` (None when there is none)."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, kind) and hook.name == name:
            return key
    return None


def weight_norm(module, name: str = "weight", dim=0):
    """Reparameterise module.<name> as g * v / ||v|| (g, v trained instead); returns the module."""
    if hook_key(module, WeightNorm, name) is not None:
        raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
    weight = getattr(module, name)
    if not isinstance(weight, Parameter):
        raise ValueError(f"weight_norm: '{name}' is not a parameter of {type(module).__name__}")
    fn = WeightNorm(name, dim)
    del module._parameters[name]
    module.register_parameter(name + "_g", Parameter(_norm_except_dim(weight, dim).detach()))
    module.register_parameter(name + "_v", Parameter(weight.detach()))
    setattr(module, name, fn.compute_weight(module))
    module.register_forward_pre_hook(fn)
    return module


def remove_weight_norm(module, name: str = "weight"):
    """Fold g and v back into a plain parameter module.<name>; returns the module."""
    key = hook_key(module, WeightNorm, name)
    if key is None:
        raise ValueError(f"weight_norm of '{name}' not found in {module}")
    module._forward_pre_hooks.pop(key).remove(module)
    return module
