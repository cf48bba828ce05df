"""Lazy layers (torch.nn.LazyLinear, LazyConv*, LazyConvTranspose*, LazyBatchNorm*, LazyInstanceNorm*): the
input size (in_features / in_channels / num_features) is taken from the first input.

Until then the weights are UninitializedParameters. The first forward builds the layer it stands for (its usual
initialisation, drawn then, as in PyTorch), fills each placeholder parameter in place with the built layer's
values (so parameters gathered before, e.g. by an optimizer, stay the module's), takes over its other state, and
the module becomes an instance of that class (PyTorch's cls_to_become).
"""
from __future__ import annotations

from ... import dtypes as _dt
from ..parameter import UninitializedBuffer, UninitializedParameter, materialize
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d

__all__ = ["LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
           "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
           "LazyInstanceNorm3d"]


class LazyModuleMixin:
    """cls_to_become(in_size, *args, **kwargs) is built on the first forward; `_in_size(input)` reads in_size;
    `_lazy_params` names the placeholders (None for an absent optional one)."""

    cls_to_become: type = None
    _lazy_params: tuple = ("weight", "bias")

    def _lazy_init(self, args: tuple, kwargs: dict, optional: dict, buffers: tuple = ()) -> None:
        Module.__init__(self)
        self._lazy_args = (args, kwargs)
        device, dtype = kwargs.get("device"), kwargs.get("dtype")
        for name in self._lazy_params:
            if optional.get(name, True):
                self.register_parameter(name, UninitializedParameter(device=device, dtype=dtype))
            else:
                self.register_parameter(name, None)
        from ...ops.creation import empty, tensor
        for name in buffers:   # running statistics: uninitialized until the first input; the step count is known
            self.register_buffer(name, tensor(0, dtype=_dt.int64, device=device) if name == "num_batches_tracked"
                                 else UninitializedBuffer(device=device, dtype=dtype))
        self._placeholder = empty(0, device=device, dtype=dtype)   # follows .to(): the device and dtype to build on
        self._lazy_hook = self.register_forward_pre_hook(_infer_parameters)

    def has_uninitialized_params(self) -> bool:
        return "_lazy_args" in self.__dict__

    def _apply(self, fn, *args, **kwargs):
        if "_placeholder" in self.__dict__:
            self._placeholder = fn(self._placeholder)
        return super()._apply(fn, *args, **kwargs)

    def initialize_parameters(self, input) -> None:
        if not self.has_uninitialized_params():
            return
        args, kwargs = self._lazy_args
        where = self.__dict__["_placeholder"]
        kwargs = dict(kwargs, device=where.device, dtype=where.dtype)
        built = self.cls_to_become(self._in_size(input), *args, **kwargs)
        built.train(self.training)
        for name, value in built._parameters.items():
            mine = self._parameters.get(name)
            if mine is not None and value is not None:
                materialize(mine, value)
                value = mine
            self._parameters[name] = value
        self._buffers.update(built._buffers)
        for key, value in built.__dict__.items():
            if key not in ("_parameters", "_buffers", "_modules", "_forward_pre_hooks", "_forward_hooks",
                           "_forward_pre_hooks_with_kwargs", "_forward_hooks_with_kwargs",
                           "_forward_hooks_always_called", "_backward_hooks", "_backward_pre_hooks", "training"):
                self.__dict__[key] = value


def _infer_parameters(module, args):
    module.initialize_parameters(*args)
    module._lazy_hook.remove()
    for key in ("_lazy_hook", "_lazy_args", "_placeholder"):
        module.__dict__.pop(key, None)
    module.__class__ = module.cls_to_become


class LazyLinear(LazyModuleMixin, Linear):
    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None):
        self._lazy_init((out_features,), dict(bias=bias, device=device, dtype=dtype), {"bias": bias})
        self.in_features, self.out_features = 0, out_features

    def _in_size(self, input) -> int:
        return input.shape[-1]


def _lazy_conv(base, spatial: int):
    class LazyConv(LazyModuleMixin, base):
        cls_to_become = base

        def __init__(self, out_channels: int, kernel_size, *args, bias: bool = True, **kwargs):
            kwargs["bias"] = bias
            self._lazy_init((out_channels, kernel_size) + args, kwargs, {"bias": bias})
            self.in_channels, self.out_channels = 0, out_channels

        def _in_size(self, input) -> int:
            return input.shape[0] if input.dim() == spatial + 1 else input.shape[1]   # unbatched: (C, ...)
    LazyConv.__name__ = LazyConv.__qualname__ = "Lazy" + base.__name__
    return LazyConv


def _lazy_norm(base):
    # (affine and track_running_stats default to True for every lazy norm, the instance norms included, as in
    # PyTorch)
    class LazyNorm(LazyModuleMixin, base):
        cls_to_become = base

        def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None,
                     *, bias: bool = True):
            self._lazy_init((), dict(eps=eps, momentum=momentum, affine=affine,
                                     track_running_stats=track_running_stats, device=device, dtype=dtype, bias=bias),
                            {"weight": affine, "bias": affine and bias},
                            ("running_mean", "running_var", "num_batches_tracked") if track_running_stats else ())
            self.num_features, self.eps, self.momentum, self.affine = 0, eps, momentum, affine
            self.track_running_stats = track_running_stats

        def _in_size(self, input) -> int:
            return input.shape[1]   # (as PyTorch's lazy norms read it)
    LazyNorm.__name__ = LazyNorm.__qualname__ = "Lazy" + base.__name__
    return LazyNorm


LazyConv1d = _lazy_conv(Conv1d, 1)
LazyConv2d = _lazy_conv(Conv2d, 2)
LazyConv3d = _lazy_conv(Conv3d, 3)
LazyConvTranspose1d = _lazy_conv(ConvTranspose1d, 1)
LazyConvTranspose2d = _lazy_conv(ConvTranspose2d, 2)
LazyConvTranspose3d = _lazy_conv(ConvTranspose3d, 3)
LazyBatchNorm1d = _lazy_norm(BatchNorm1d)
LazyBatchNorm2d = _lazy_norm(BatchNorm2d)
LazyBatchNorm3d = _lazy_norm(BatchNorm3d)
LazyInstanceNorm1d = _lazy_norm(InstanceNorm1d)
LazyInstanceNorm2d = _lazy_norm(InstanceNorm2d)
LazyInstanceNorm3d = _lazy_norm(InstanceNorm3d)
