"""torch.signal.windows: the scipy-style window functions, each a 1-D tensor of M points, symmetric (sym=True,
for filter design) or periodic (sym=False, for spectral analysis: the first M points of a symmetric window of
M + 1). Each is built from registered ops (linspace, then elementwise), in float32 or float64, on any device."""
from __future__ import annotations

import math
from collections.abc import Iterable

from ... import dtypes as _dt
from ..._memory_format import strided
from ...ops import creation as _c

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
           "hamming", "hann", "kaiser", "nuttall"]


def _checks(name: str, M: int, dtype, layout) -> object:
    """The dtype to use (default: the default dtype) after PyTorch's checks."""
    dtype = _dt.get_default_dtype() if dtype is None else dtype
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    if layout is not None and layout is not strided:
        raise ValueError(f"{name} is implemented for strided tensors only, got: {layout}")
    if dtype not in (_dt.float32, _dt.float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dtype}")
    return dtype


def _span(M: int, sym: bool) -> int:
    """The denominator of the window's positions: M - 1 points apart when symmetric, M when periodic."""
    return M - 1 if sym else M


def _trivial(M: int, dtype, device, requires_grad: bool):
    """The windows of 0 points (empty) and of 1 point (a one), or None."""
    if M == 0:
        return _c.empty((0,), dtype=dtype, device=device, requires_grad=requires_grad)
    if M == 1:
        return _c.ones((1,), dtype=dtype, device=device, requires_grad=requires_grad)
    return None


def _positions(start: float, step: float, M: int, dtype, device, requires_grad: bool):
    return _c.linspace(start, start + (M - 1) * step, M, dtype=dtype, device=device, requires_grad=requires_grad)


def exponential(M: int, *, center: float | None = None, tau: float = 1.0, sym: bool = True, dtype=None,
                layout=None, device=None, requires_grad: bool = False):
    """exp(-|n - center| / tau) (center: the middle when not given; only for periodic windows)."""
    dtype = _checks("exponential", M, dtype, layout)
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    if M == 0:
        return _trivial(M, dtype, device, requires_grad)
    if center is None:
        center = (M - 1 if sym or M == 1 else M) / 2.0
    return _positions(-center / tau, 1 / tau, M, dtype, device, requires_grad).abs().neg().exp()


def cosine(M: int, *, sym: bool = True, dtype=None, layout=None, device=None, requires_grad: bool = False):
    """sin(pi (n + 1/2) / M) (the sine window)."""
    dtype = _checks("cosine", M, dtype, layout)
    if M == 0:
        return _trivial(M, dtype, device, requires_grad)
    step = math.pi / (M + 1 if not sym and M > 1 else M)
    return _positions(0.5 * step, step, M, dtype, device, requires_grad).sin()


def gaussian(M: int, *, std: float = 1.0, sym: bool = True, dtype=None, layout=None, device=None,
             requires_grad: bool = False):
    """exp(-((n - middle) / std)^2 / 2)."""
    dtype = _checks("gaussian", M, dtype, layout)
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    if M == 0:
        return _trivial(M, dtype, device, requires_grad)
    step = 1 / (std * math.sqrt(2))
    start = -(M if not sym and M > 1 else M - 1) / 2.0 * step
    k = _positions(start, step, M, dtype, device, requires_grad)
    return (-k * k).exp()


def kaiser(M: int, *, beta: float = 12.0, sym: bool = True, dtype=None, layout=None, device=None,
           requires_grad: bool = False):
    """I0(beta sqrt(1 - (2n / span - 1)^2)) / I0(beta)."""
    dtype = _checks("kaiser", M, dtype, layout)
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    trivial = _trivial(M, dtype, device, requires_grad)
    if trivial is not None:
        return trivial
    b = _c.tensor(beta, dtype=dtype, device=device)     # (in the window's dtype: no NaN from rounding below)
    step = 2.0 * b / _span(M, sym)
    end = _c.tensor(beta, dtype=dtype, device=device).minimum(-b + (M - 1) * step)
    k = _c.linspace(-b, end, M, dtype=dtype, device=device, requires_grad=requires_grad)
    return (b * b - k * k).sqrt().i0() / b.i0()


def general_cosine(M: int, *, a: Iterable, sym: bool = True, dtype=None, layout=None, device=None,
                   requires_grad: bool = False):
    """sum_i (-1)^i a_i cos(2 pi i n / span)."""
    dtype = _checks("general_cosine", M, dtype, layout)
    trivial = _trivial(M, dtype, device, requires_grad)
    if trivial is not None:
        return trivial
    if not isinstance(a, Iterable):
        raise TypeError("Coefficients must be a list/tuple")
    a = list(a)
    if not a:
        raise ValueError("Coefficients cannot be empty")
    k = _positions(0.0, 2 * math.pi / _span(M, sym), M, dtype, device, requires_grad)
    coef = _c.tensor([(-1) ** i * w for i, w in enumerate(a)], dtype=dtype, device=device,
                     requires_grad=requires_grad)
    i = _c.arange(len(a), dtype=dtype, device=device)
    return (coef.unsqueeze(-1) * (i.unsqueeze(-1) * k).cos()).sum(0)


def general_hamming(M: int, *, alpha: float = 0.54, sym: bool = True, dtype=None, layout=None, device=None,
                    requires_grad: bool = False):
    """alpha - (1 - alpha) cos(2 pi n / span)."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def hamming(M: int, *, sym: bool = True, dtype=None, layout=None, device=None, requires_grad: bool = False):
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device, requires_grad=requires_grad)


def hann(M: int, *, sym: bool = True, dtype=None, layout=None, device=None, requires_grad: bool = False):
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def blackman(M: int, *, sym: bool = True, dtype=None, layout=None, device=None, requires_grad: bool = False):
    dtype = _checks("blackman", M, dtype, layout)
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def nuttall(M: int, *, sym: bool = True, dtype=None, layout=None, device=None, requires_grad: bool = False):
    """The minimum 4-term Blackman-Harris window."""
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def bartlett(M: int, *, sym: bool = True, dtype=None, layout=None, device=None, requires_grad: bool = False):
    """1 - |2n / span - 1| (the triangular window with zero ends)."""
    dtype = _checks("bartlett", M, dtype, layout)
    trivial = _trivial(M, dtype, device, requires_grad)
    if trivial is not None:
        return trivial
    k = _positions(-1.0, 2 / _span(M, sym), M, dtype, device, requires_grad)
    return 1 - k.abs()
