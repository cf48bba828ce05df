"""tritorch.nn.init: in-place initialisers (PyTorch's formulas), run under no_grad with tritorch's generator."""
from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import no_grad
from ..ops import creation as _creation
from ..ops import ternary as _ternary
from ..ops import unary as _unary
from ..tensor import Tensor, from_array

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
           "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
           "sparse_"]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table)."""
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple:
    dimensions = tensor.dim()
    if dimensions < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    num_input_fmaps = tensor.size(1)
    num_output_fmaps = tensor.size(0)
    receptive_field_size = 1
    for s in tensor.shape[2:]:
        receptive_field_size *= s
    return num_input_fmaps * receptive_field_size, num_output_fmaps * receptive_field_size


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def constant_(tensor: Tensor, val: float) -> Tensor:
    with no_grad():
        return tensor.copy_(val)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    with no_grad():
        return tensor.copy_(_creation.eye(*tensor.shape, dtype=tensor.dtype, device=tensor.device))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    dimensions = tensor.dim()
    if dimensions not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.shape
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_chans_per_grp = sizes[0] // groups
    min_dim = min(out_chans_per_grp, sizes[1])
    arr = np.zeros(tuple(sizes), np.float64)
    for g in range(groups):
        for d in range(min_dim):
            centre = tuple(s // 2 for s in sizes[2:])
            arr[(g * out_chans_per_grp + d, d) + centre] = 1
    with no_grad():
        return tensor.copy_(from_array(arr))


def _erfinv(y: Tensor) -> Tensor:
    """Inverse error function on (-1, 1) from tritorch ops: Giles' single-precision approximation refined by
    one Newton step on erf (so float32 results are accurate to a few ulp)."""
    w = -_unary.log((1.0 - y) * (1.0 + y))
    central = w - 2.5
    p = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503, -0.00417768164,
              0.246640727, 1.50140941):
        p = c + p * central
    tail = _unary.sqrt(_ternary.clamp_min(w, 5.0)) - 3.0
    q = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
              1.00167406, 2.83297682):
        q = c + q * tail
    x = _ternary.where(w < 5.0, p, q) * y
    x = x - (_unary.erf(x) - y) / (2.0 / math.sqrt(math.pi) * _unary.exp(-x * x))
    return x


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator=None) -> Tensor:
    """Normal(mean, std) samples truncated to [a, b], by inverting the normal CDF of uniform samples."""

    def norm_cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    with no_grad():
        lo = norm_cdf((a - mean) / std)
        hi = norm_cdf((b - mean) / std)
        u = _creation.empty(tuple(tensor.shape), dtype=_upcast(tensor), device=tensor.device)
        u.uniform_(2 * lo - 1, 2 * hi - 1, generator=generator)
        x = _erfinv(_ternary.clamp(u, -1.0 + 1e-7, 1.0 - 1e-7)) * (std * math.sqrt(2.0)) + mean
        return tensor.copy_(_ternary.clamp(x, a, b))


def _upcast(tensor: Tensor):
    """fp16/bf16 initialisers compute in fp32 (their own precision is too coarse for erfinv's Newton step)."""
    from .. import dtypes as _dt
    return _dt.float32 if tensor.dtype in (_dt.float16, _dt.bfloat16) else tensor.dtype


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None) -> Tensor:
    if 0 in tuple(tensor.shape):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None) -> Tensor:
    if 0 in tuple(tensor.shape):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR of Gaussian samples (signs fixed by R's diagonal). The QR runs in
    NumPy on the host: this is a one-off initialisation, not an op."""
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.size(0)
    cols = tensor.numel() // rows
    from .. import dtypes as _dt
    with no_grad():
        flat = _creation.empty((rows, cols), dtype=_dt.float64, device="cpu").normal_(0, 1, generator=generator)
        m = flat._data.T if rows < cols else flat._data
        q, r = np.linalg.qr(m)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        q = from_array(np.ascontiguousarray(q * gain).reshape(tuple(tensor.shape)))
        return tensor.copy_(q)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = int(math.ceil(sparsity * rows))
    from ..ops.random import randperm
    with no_grad():
        normal_(tensor, 0, std, generator)
        if num_zeros:
            mask = np.ones((rows, cols), bool)
            for c in range(cols):
                mask[randperm(rows, generator=generator)._host()[:num_zeros], c] = False
            tensor.copy_(tensor * from_array(mask).to(tensor.device))
    return tensor


# ------------------------------------------------------------------------------------ deprecated aliases
# PyTorch's old names without the trailing underscore: each warns (FutureWarning, PyTorch's message) and calls the
# in-place initialiser, looked up when called (so utils.skip_init's suspension of the initialisers covers them).

def _make_deprecate(new_name: str):
    import warnings
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.", FutureWarning,
                      stacklevel=2)
        return globals()[new_name](*args, **kwargs)
    deprecated_init.__name__ = deprecated_init.__qualname__ = old_name
    deprecated_init.__doc__ = f"{old_name}(...): deprecated in favor of tritorch.nn.init.{new_name}."
    return deprecated_init


uniform = _make_deprecate("uniform_")
normal = _make_deprecate("normal_")
constant = _make_deprecate("constant_")
eye = _make_deprecate("eye_")
dirac = _make_deprecate("dirac_")
xavier_uniform = _make_deprecate("xavier_uniform_")
xavier_normal = _make_deprecate("xavier_normal_")
kaiming_uniform = _make_deprecate("kaiming_uniform_")
kaiming_normal = _make_deprecate("kaiming_normal_")
orthogonal = _make_deprecate("orthogonal_")
sparse = _make_deprecate("sparse_")
