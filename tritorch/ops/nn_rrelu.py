"""Randomized leaky ReLU (torch.nn.functional.rrelu, torch.rrelu): a composite of registered ops, no kernel.

In training every non-positive element is multiplied by its own slope a ~ U(lower, upper), drawn from tritorch's
Philox generator (so the same seed gives the same slopes on cpu and cuda), and positive elements pass unchanged;
the result is input * noise with noise = where(input <= 0, a, 1), which is PyTorch's rrelu_with_noise. The
gradient is therefore grad * noise with the slopes of the forward call, as PyTorch's, and it comes from mul's own
rule (double backward included). In evaluation the slope is the fixed mean (lower + upper) / 2: leaky_relu.
PyTorch draws from its own generator, so the slopes themselves differ from PyTorch's; their law does not.
"""
from __future__ import annotations

from .. import dtypes as _dt
from ..tensor import Tensor
from .registry import _type_name

__all__ = ["rrelu", "rrelu_", "torch_rrelu"]

_LOWER = 1.0 / 8.0
_UPPER = 1.0 / 3.0


def _check(input, lower, upper, kernel: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"rrelu(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if input.dtype.kind != _dt.FLOAT:
        raise RuntimeError(f'"{kernel}" not implemented for \'{_type_name(input.dtype)}\'')


def _rrelu(input, lower, upper, training, inplace, generator):
    lower, upper = float(lower), float(upper)
    _check(input, lower, upper, "rrelu_with_noise" if training else "leaky_relu")
    if not training:
        from .nn_activation import leaky_relu
        return leaky_relu(input, (lower + upper) / 2.0, inplace)
    from .ternary import where
    slopes = input.detach().new_empty(tuple(input.shape)).uniform_(lower, upper, generator=generator)
    noise = where(input.detach() <= 0, slopes, 1.0)
    return input.mul_(noise) if inplace else input * noise


def rrelu(input, lower=_LOWER, upper=_UPPER, training=False, inplace=False) -> Tensor:
    """torch.nn.functional.rrelu: random slopes U(lower, upper) on non-positive inputs in training, the mean slope
    (lower + upper) / 2 otherwise."""
    return _rrelu(input, lower, upper, training, inplace, None)


def torch_rrelu(input, lower=_LOWER, upper=_UPPER, training=False, generator=None) -> Tensor:
    """torch.rrelu: F.rrelu with a generator as its fifth argument (where F.rrelu has `inplace`)."""
    return _rrelu(input, lower, upper, training, False, generator)


def rrelu_(input, lower=_LOWER, upper=_UPPER, training=False, generator=None) -> Tensor:
    """torch.rrelu_ / torch.nn.functional.rrelu_: rrelu in place."""
    return _rrelu(input, lower, upper, training, True, generator)
