"""CPU updates: vectorised NumPy, in place, in the formula order of PyTorch's single-tensor path.

Each function updates `p` and its state arrays in place with ufuncs writing into `out=`; the few temporaries
come from a per-(shape, dtype) scratch cache, so a training loop in steady state allocates nothing. Python
float scalars combine with float32 arrays in float32 (NumPy 2's weak scalars), as PyTorch's CPU kernels do.
"""
from __future__ import annotations

import numpy as np

from ..ops._cpu_parallel import blas_axpy

_SCRATCH: dict = {}


def scratch(like: np.ndarray, slot: int, dtype=None) -> np.ndarray:
    """A reusable contiguous array shaped like `like` (slot 0, 1, ...: distinct arrays), of `like`'s dtype unless
    `dtype` is given. Arrays are cached by element count, so parameters of equal size share them."""
    dtype = like.dtype if dtype is None else np.dtype(dtype)
    key = (like.size, dtype, slot)
    arr = _SCRATCH.get(key)
    if arr is None:
        if len(_SCRATCH) > 256:  # many distinct sizes: drop the cache rather than grow without bound
            _SCRATCH.clear()
        arr = _SCRATCH[key] = np.empty(like.size, dtype)
    return arr.reshape(like.shape)


def _grad_in(p, g, maximize, weight_decay, t):
    """The gradient the update uses: -g when maximizing, plus weight_decay * p; in scratch `t` when changed."""
    if weight_decay != 0:
        np.multiply(p, weight_decay, out=t)
        if maximize:
            np.subtract(t, g, out=t)
        else:
            np.add(t, g, out=t)
        return t
    if maximize:
        return np.negative(g, out=t)
    return g


def _lerp_(start, end, weight, t):
    """start = lerp(start, end, weight) in place (PyTorch's two-sided formula)."""
    np.subtract(end, start, out=t)
    if weight < 0.5:
        t *= weight
        start += t
    else:
        t *= 1 - weight
        np.subtract(end, t, out=start)


def sgd(p, g, buf, *, lr, weight_decay, momentum, dampening, nesterov, maximize, first):
    # scratch arrays are fetched only when a branch needs one (plain SGD needs none: one axpy)
    d = g if weight_decay == 0 and not maximize else _grad_in(p, g, maximize, weight_decay, scratch(p, 0))
    if buf is not None:
        if first:
            np.copyto(buf, d)
        else:
            buf *= momentum
            if dampening == 0:
                buf += d
            else:
                t1 = scratch(p, 1)
                np.multiply(d, 1 - dampening, out=t1)
                buf += t1
        if nesterov:
            t0, t1 = scratch(p, 0), scratch(p, 1)
            np.multiply(buf, momentum, out=t1)
            np.add(d, t1, out=t0)
            d = t0
        else:
            d = buf
    if not blas_axpy(-lr, d, p):   # p += -lr * d in one pass (fused, as PyTorch's param.add_(d, alpha=-lr))
        t1 = scratch(p, 1)
        np.multiply(d, -lr, out=t1)
        p += t1


def adam(p, g, m, v, vmax, *, beta1, beta2, weight_decay, decay_factor, step_size, bias_correction2_sqrt, eps,
         maximize, decoupled):
    t0, t1 = scratch(p, 0), scratch(p, 1)
    if weight_decay != 0 and decoupled:
        p *= decay_factor
        d = _grad_in(p, g, maximize, 0, t0)
    else:
        d = _grad_in(p, g, maximize, weight_decay, t0)
    _lerp_(m, d, 1 - beta1, t1)
    v *= beta2
    np.multiply(d, 1 - beta2, out=t1)
    t1 *= d
    v += t1
    if vmax is not None:
        np.maximum(vmax, v, out=vmax)
        second = vmax
    else:
        second = v
    np.sqrt(second, out=t1)
    t1 /= bias_correction2_sqrt
    t1 += eps
    np.multiply(m, -step_size, out=t0)
    t0 /= t1
    p += t0


def rmsprop(p, g, sq, gavg, buf, *, lr, alpha, eps, weight_decay, momentum, maximize):
    t0, t1, t2 = scratch(p, 0), scratch(p, 1), scratch(p, 2)
    d = _grad_in(p, g, maximize, weight_decay, t0)
    sq *= alpha
    np.multiply(d, 1 - alpha, out=t1)
    t1 *= d
    sq += t1
    if gavg is not None:
        _lerp_(gavg, d, 1 - alpha, t1)
        np.multiply(gavg, gavg, out=t1)
        np.subtract(sq, t1, out=t1)
        np.sqrt(t1, out=t1)
    else:
        np.sqrt(sq, out=t1)
    t1 += eps
    if buf is not None:
        buf *= momentum
        np.divide(d, t1, out=t2)
        buf += t2
        np.multiply(buf, -lr, out=t2)
    else:
        np.multiply(d, -lr, out=t2)
        t2 /= t1
    p += t2


def adagrad(p, g, s, *, clr, weight_decay, eps, maximize):
    t0, t1 = scratch(p, 0), scratch(p, 1)
    d = _grad_in(p, g, maximize, weight_decay, t0)
    np.multiply(d, d, out=t1)
    s += t1
    np.sqrt(s, out=t1)
    t1 += eps
    np.multiply(d, -clr, out=t0)
    t0 /= t1
    p += t0


def adamax(p, g, m, u, *, beta1, beta2, eps, weight_decay, clr, maximize):
    t0, t1 = scratch(p, 0), scratch(p, 1)
    d = _grad_in(p, g, maximize, weight_decay, t0)
    _lerp_(m, d, 1 - beta1, t1)
    u *= beta2
    np.abs(d, out=t1)
    t1 += eps
    np.maximum(u, t1, out=u)
    np.multiply(m, -clr, out=t0)
    t0 /= u
    p += t0


def adadelta(p, g, sq, acc, *, lr, rho, eps, weight_decay, maximize):
    t0, t1, t2 = scratch(p, 0), scratch(p, 1), scratch(p, 2)
    d = _grad_in(p, g, maximize, weight_decay, t0)
    sq *= rho
    np.multiply(d, 1 - rho, out=t1)
    t1 *= d
    sq += t1
    np.add(sq, eps, out=t1)
    np.sqrt(t1, out=t1)                 # std
    np.add(acc, eps, out=t2)
    np.sqrt(t2, out=t2)                 # delta
    t2 /= t1
    t2 *= d
    acc *= rho
    np.multiply(t2, 1 - rho, out=t1)
    t1 *= t2
    acc += t1
    t2 *= -lr
    p += t2


def _decay_or_l2(p, g, maximize, weight_decay, decoupled, decay_factor, t):
    """The gradient NAdam/RAdam use, after a decoupled decay of p in place when asked."""
    if weight_decay != 0 and decoupled:
        p *= decay_factor
        return _grad_in(p, g, maximize, 0, t)
    return _grad_in(p, g, maximize, weight_decay, t)


def _moments(m, v, d, beta1, beta2, t):
    _lerp_(m, d, 1 - beta1, t)
    v *= beta2
    np.multiply(d, 1 - beta2, out=t)
    t *= d
    v += t


def nadam(p, g, m, v, *, beta1, beta2, weight_decay, decay_factor, bias_correction2, grad_coef, avg_coef, eps,
          maximize, decoupled):
    t0, t1, t2 = scratch(p, 0), scratch(p, 1), scratch(p, 2)
    d = _decay_or_l2(p, g, maximize, weight_decay, decoupled, decay_factor, t0)
    _moments(m, v, d, beta1, beta2, t1)
    np.divide(v, bias_correction2, out=t1)
    np.sqrt(t1, out=t1)
    t1 += eps                           # denom
    np.multiply(d, grad_coef, out=t2)
    t2 /= t1
    p += t2
    np.multiply(m, avg_coef, out=t2)
    t2 /= t1
    p += t2


def radam(p, g, m, v, *, beta1, beta2, weight_decay, decay_factor, bias_correction1, lr, bias_correction2_sqrt,
          rect, eps, maximize, decoupled):
    t0, t1, t2 = scratch(p, 0), scratch(p, 1), scratch(p, 2)
    d = _decay_or_l2(p, g, maximize, weight_decay, decoupled, decay_factor, t0)
    _moments(m, v, d, beta1, beta2, t1)
    np.divide(m, bias_correction1, out=t2)
    t2 *= lr
    if rect is not None:
        np.sqrt(v, out=t1)
        t1 += eps
        np.divide(bias_correction2_sqrt, t1, out=t1)
        t2 *= t1
        t2 *= rect
    p -= t2


def rprop(p, g, prev, step_size, *, etaminus, etaplus, step_size_min, step_size_max, maximize):
    t0, t1 = scratch(p, 0), scratch(p, 1)
    shrink, grew = scratch(p, 0, np.bool_), scratch(p, 1, np.bool_)
    d = np.negative(g, out=t0) if maximize else g
    np.multiply(d, prev, out=t1)
    # the step size factor: etaplus where the gradient kept its sign, etaminus where it flipped, else 1 (a NaN
    # product too: PyTorch's cpu sign(NaN) is 0)
    np.less(t1, 0, out=shrink)
    np.greater(t1, 0, out=grew)
    t1.fill(1)
    np.copyto(t1, etaplus, where=grew)
    np.copyto(t1, etaminus, where=shrink)
    step_size *= t1
    np.clip(step_size, step_size_min, step_size_max, out=step_size)
    # after a sign flip the gradient counts as 0: no move now, and no flip seen at the next step
    np.copyto(prev, d)
    np.copyto(prev, 0, where=shrink)
    np.sign(prev, out=t1)
    np.nan_to_num(t1, copy=False, nan=0.0)   # sign(NaN) = 0, as PyTorch's
    t1 *= step_size
    p -= t1


def asgd(p, g, ax, *, weight_decay, decay_factor, eta, mu, maximize):
    t0 = scratch(p, 0)
    d = _grad_in(p, g, maximize, weight_decay, t0)
    p *= decay_factor
    if not blas_axpy(-eta, d, p):
        np.multiply(d, -eta, out=t0)
        p += t0
    if mu != 1:
        np.subtract(p, ax, out=t0)
        t0 *= mu
        ax += t0
    else:
        np.copyto(ax, p)
