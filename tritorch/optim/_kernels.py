"""Fused Triton update kernels: one launch updates one parameter and all of its state buffers.

Every kernel reads the parameter, its gradient and its state once and writes the parameter and the state once,
in the formula order of PyTorch's single-tensor (non-capturable) path, so a float32 trajectory follows
torch.optim's to rounding. Step-dependent scalars (bias corrections, decayed lr) are computed on the host as
Python floats: the step count is host state. fp16/bf16 tensors are loaded, updated in fp32 and stored back.
Scalars reach a float64 kernel as their int64 bits (Python floats would be narrowed to fp32 on a GPU).

The launchers take contiguous CudaArrays of equal size (the optimizers make the operands contiguous first).
"""
from __future__ import annotations

import sys

import numpy as np
import triton
import triton.language as tl

from ..backends import cuda as _cuda
from ..ops.launch import cdiv as _cdiv, f64_bits as _f64_bits

BLOCK = 4096 if _cuda.INTERPRET else 1024


@triton.jit
def _scalar(x, F64: tl.constexpr, COMPUTE: tl.constexpr):
    """A host scalar in the compute dtype: fp64 scalars arrive as int64 bits, the rest as Python floats."""
    if F64:
        v = x.to(tl.int64).to(tl.float64, bitcast=True)
    else:
        v = tl.cast(x, COMPUTE)
    return v


@triton.jit
def _lerp(start, end, weight, WEIGHT_LOW: tl.constexpr):
    """PyTorch's lerp: start + w*(end-start) for w < 0.5, else end - (end-start)*(1-w) (exact at w=1)."""
    if WEIGHT_LOW:
        r = start + weight * (end - start)
    else:
        r = end - (end - start) * (1.0 - weight)
    return r


@triton.jit
def _decay(p, g, weight_decay, decay_factor, WEIGHT_DECAY: tl.constexpr, DECOUPLED: tl.constexpr,
           F64: tl.constexpr, COMPUTE: tl.constexpr):
    """(p, g) after weight decay: p scaled by decay_factor (decoupled, AdamW-style) or g + weight_decay * p."""
    if WEIGHT_DECAY:
        if DECOUPLED:
            p = p * _scalar(decay_factor, F64, COMPUTE)
        else:
            g = g + _scalar(weight_decay, F64, COMPUTE) * p
    return p, g


@triton.jit
def _moments(m, v, g, one_minus_beta1, beta2, one_minus_beta2, WEIGHT_LOW: tl.constexpr, F64: tl.constexpr,
             COMPUTE: tl.constexpr):
    """Adam's moments: m = lerp(m, g, 1 - beta1), v = beta2 * v + (1 - beta2) * g * g (PyTorch's order)."""
    m = _lerp(m, g, _scalar(one_minus_beta1, F64, COMPUTE), WEIGHT_LOW)
    v = v * _scalar(beta2, F64, COMPUTE)
    v = v + (_scalar(one_minus_beta2, F64, COMPUTE) * g) * g
    return m, v


@triton.jit
def sgd_kernel(
    p_ptr,                  # parameter (read, written)
    g_ptr,                  # gradient (read)
    buf_ptr,                # momentum buffer (written; read unless FIRST); unused without MOMENTUM
    n,                      # number of elements
    lr, weight_decay, momentum, one_minus_dampening,  # host scalars (fp64 kernels: int64 bits)
    MAXIMIZE: tl.constexpr, WEIGHT_DECAY: tl.constexpr, MOMENTUM: tl.constexpr,
    FIRST: tl.constexpr,    # momentum buffer starts as the (decayed) gradient
    NESTEROV: tl.constexpr,
    F64: tl.constexpr, COMPUTE: tl.constexpr, BLOCK: tl.constexpr,
):
    # bytes: reads p, g (+ buf unless FIRST), writes p (+ buf): (3 or 5) * n * itemsize
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    p = tl.load(p_ptr + offs, mask=mask, other=0).to(COMPUTE)
    g = tl.load(g_ptr + offs, mask=mask, other=0).to(COMPUTE)
    if MAXIMIZE:
        g = -g
    if WEIGHT_DECAY:
        g = g + _scalar(weight_decay, F64, COMPUTE) * p
    if MOMENTUM:
        mom = _scalar(momentum, F64, COMPUTE)
        if FIRST:
            buf = g
        else:
            buf = tl.load(buf_ptr + offs, mask=mask, other=0).to(COMPUTE)
            buf = buf * mom
            buf = buf + _scalar(one_minus_dampening, F64, COMPUTE) * g
        tl.store(buf_ptr + offs, buf.to(buf_ptr.dtype.element_ty), mask=mask)
        if NESTEROV:
            g = g + mom * buf
        else:
            g = buf
    p = p + (-_scalar(lr, F64, COMPUTE)) * g
    tl.store(p_ptr + offs, p.to(p_ptr.dtype.element_ty), mask=mask)


@triton.jit
def adam_kernel(
    p_ptr,                  # parameter (read, written)
    g_ptr,                  # gradient (read)
    m_ptr,                  # exp_avg (read, written)
    v_ptr,                  # exp_avg_sq (read, written)
    vmax_ptr,               # max_exp_avg_sq (read, written); unused without AMSGRAD
    n,                      # number of elements
    one_minus_beta1, beta2, one_minus_beta2,  # moment coefficients
    weight_decay,           # L2 coefficient added to the gradient (Adam)
    decay_factor,           # 1 - lr*weight_decay, the parameter's decoupled decay (AdamW)
    step_size,              # lr / (1 - beta1**step)
    bias_correction2_sqrt,  # sqrt(1 - beta2**step)
    eps,
    MAXIMIZE: tl.constexpr, WEIGHT_DECAY: tl.constexpr, DECOUPLED: tl.constexpr, AMSGRAD: tl.constexpr,
    WEIGHT_LOW: tl.constexpr,  # 1 - beta1 < 0.5 (picks PyTorch's lerp formula)
    F64: tl.constexpr, COMPUTE: tl.constexpr, BLOCK: tl.constexpr,
):
    # bytes: reads p, g, m, v (+ vmax), writes p, m, v (+ vmax): (7 or 9) * n * itemsize
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    p = tl.load(p_ptr + offs, mask=mask, other=0).to(COMPUTE)
    g = tl.load(g_ptr + offs, mask=mask, other=0).to(COMPUTE)
    m = tl.load(m_ptr + offs, mask=mask, other=0).to(COMPUTE)
    v = tl.load(v_ptr + offs, mask=mask, other=0).to(COMPUTE)
    if MAXIMIZE:
        g = -g
    p, g = _decay(p, g, weight_decay, decay_factor, WEIGHT_DECAY, DECOUPLED, F64, COMPUTE)
    m, v = _moments(m, v, g, one_minus_beta1, beta2, one_minus_beta2, WEIGHT_LOW, F64, COMPUTE)
    tl.store(m_ptr + offs, m.to(m_ptr.dtype.element_ty), mask=mask)
    tl.store(v_ptr + offs, v.to(v_ptr.dtype.element_ty), mask=mask)
    if AMSGRAD:
        vmax = tl.load(vmax_ptr + offs, mask=mask, other=0).to(COMPUTE)
        vmax = tl.maximum(vmax, v, propagate_nan=tl.PropagateNan.ALL)  # torch.maximum keeps NaN
        tl.store(vmax_ptr + offs, vmax.to(vmax_ptr.dtype.element_ty), mask=mask)
        second = vmax
    else:
        second = v
    denom = tl.sqrt(second) / _scalar(bias_correction2_sqrt, F64, COMPUTE) + _scalar(eps, F64, COMPUTE)
    p = p + ((-_scalar(step_size, F64, COMPUTE)) * m) / denom
    tl.store(p_ptr + offs, p.to(p_ptr.dtype.element_ty), mask=mask)


@triton.jit
def rmsprop_kernel(
    p_ptr,                  # parameter (read, written)
    g_ptr,                  # gradient (read)
    sq_ptr,                 # square_avg (read, written)
    gavg_ptr,               # grad_avg (read, written); unused unless CENTERED
    buf_ptr,                # momentum_buffer (read, written); unused without MOMENTUM
    n,                      # number of elements
    lr, alpha, one_minus_alpha, eps, weight_decay, momentum,  # host scalars
    MAXIMIZE: tl.constexpr, WEIGHT_DECAY: tl.constexpr, CENTERED: tl.constexpr, MOMENTUM: tl.constexpr,
    WEIGHT_LOW: tl.constexpr,  # 1 - alpha < 0.5 (lerp formula of grad_avg)
    F64: tl.constexpr, COMPUTE: tl.constexpr, BLOCK: tl.constexpr,
):
    # bytes: reads p, g, sq (+ gavg, buf), writes p, sq (+ gavg, buf): (5 to 9) * n * itemsize
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    p = tl.load(p_ptr + offs, mask=mask, other=0).to(COMPUTE)
    g = tl.load(g_ptr + offs, mask=mask, other=0).to(COMPUTE)
    sq = tl.load(sq_ptr + offs, mask=mask, other=0).to(COMPUTE)
    if MAXIMIZE:
        g = -g
    if WEIGHT_DECAY:
        g = g + _scalar(weight_decay, F64, COMPUTE) * p
    sq = sq * _scalar(alpha, F64, COMPUTE)
    sq = sq + (_scalar(one_minus_alpha, F64, COMPUTE) * g) * g
    tl.store(sq_ptr + offs, sq.to(sq_ptr.dtype.element_ty), mask=mask)
    if CENTERED:
        gavg = tl.load(gavg_ptr + offs, mask=mask, other=0).to(COMPUTE)
        gavg = _lerp(gavg, g, _scalar(one_minus_alpha, F64, COMPUTE), WEIGHT_LOW)
        tl.store(gavg_ptr + offs, gavg.to(gavg_ptr.dtype.element_ty), mask=mask)
        avg = tl.sqrt(sq + (-gavg) * gavg)
    else:
        avg = tl.sqrt(sq)
    avg = avg + _scalar(eps, F64, COMPUTE)
    neg_lr = -_scalar(lr, F64, COMPUTE)
    if MOMENTUM:
        buf = tl.load(buf_ptr + offs, mask=mask, other=0).to(COMPUTE)
        buf = buf * _scalar(momentum, F64, COMPUTE)
        buf = buf + g / avg
        tl.store(buf_ptr + offs, buf.to(buf_ptr.dtype.element_ty), mask=mask)
        p = p + neg_lr * buf
    else:
        p = p + (neg_lr * g) / avg
    tl.store(p_ptr + offs, p.to(p_ptr.dtype.element_ty), mask=mask)


@triton.jit
def adagrad_kernel(
    p_ptr,                  # parameter (read, written)
    g_ptr,                  # gradient (read)
    sum_ptr,                # sum of squared gradients (read, written)
    n,                      # number of elements
    clr, weight_decay, eps,  # clr = lr / (1 + (step-1)*lr_decay), from the host
    MAXIMIZE: tl.constexpr, WEIGHT_DECAY: tl.constexpr,
    F64: tl.constexpr, COMPUTE: tl.constexpr, BLOCK: tl.constexpr,
):
    # bytes: reads p, g, sum, writes p, sum: 5 * n * itemsize
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    p = tl.load(p_ptr + offs, mask=mask, other=0).to(COMPUTE)
    g = tl.load(g_ptr + offs, mask=mask, other=0).to(COMPUTE)
    s = tl.load(sum_ptr + offs, mask=mask, other=0).to(COMPUTE)
    if MAXIMIZE:
        g = -g
    if WEIGHT_DECAY:
        g = g + _scalar(weight_decay, F64, COMPUTE) * p
    s = s + g * g
    tl.store(sum_ptr + offs, s.to(sum_ptr.dtype.element_ty), mask=mask)
    std = tl.sqrt(s) + _scalar(eps, F64, COMPUTE)
    p = p + ((-_scalar(clr, F64, COMPUTE)) * g) / std
    tl.store(p_ptr + offs, p.to(p_ptr.dtype.element_ty), mask=mask)


@triton.jit
def adamax_kernel(
    p_ptr,                  # parameter (read, written)
    g_ptr,                  # gradient (read)
    m_ptr,                  # exp_avg (read, written)
    u_ptr,                  # exp_inf (read, written)
    n,                      # number of elements
    one_minus_beta1, beta2, eps, weight_decay,
    clr,                    # lr / (1 - beta1**step), from the host
    MAXIMIZE: tl.constexpr, WEIGHT_DECAY: tl.constexpr,
    WEIGHT_LOW: tl.constexpr,  # 1 - beta1 < 0.5 (lerp formula)
    F64: tl.constexpr, COMPUTE: tl.constexpr, BLOCK: tl.constexpr,
):
    # bytes: reads p, g, m, u, writes p, m, u: 7 * n * itemsize
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    p = tl.load(p_ptr + offs, mask=mask, other=0).to(COMPUTE)
    g = tl.load(g_ptr + offs, mask=mask, other=0).to(COMPUTE)
    m = tl.load(m_ptr + offs, mask=mask, other=0).to(COMPUTE)
    u = tl.load(u_ptr + offs, mask=mask, other=0).to(COMPUTE)
    if MAXIMIZE:
        g = -g
    if WEIGHT_DECAY:
        g = g + _scalar(weight_decay, F64, COMPUTE) * p
    m = _lerp(m, g, _scalar(one_minus_beta1, F64, COMPUTE), WEIGHT_LOW)
    u = tl.maximum(u * _scalar(beta2, F64, COMPUTE), tl.abs(g) + _scalar(eps, F64, COMPUTE),
                   propagate_nan=tl.PropagateNan.ALL)
    tl.store(m_ptr + offs, m.to(m_ptr.dtype.element_ty), mask=mask)
    tl.store(u_ptr + offs, u.to(u_ptr.dtype.element_ty), mask=mask)
    p = p + ((-_scalar(clr, F64, COMPUTE)) * m) / u
    tl.store(p_ptr + offs, p.to(p_ptr.dtype.element_ty), mask=mask)


@triton.jit
def adadelta_kernel(
    p_ptr,                  # parameter (read, written)
    g_ptr,                  # gradient (read)
    sq_ptr,                 # square_avg (read, written)
    acc_ptr,                # acc_delta (read, written)
    n,                      # number of elements
    lr, rho, one_minus_rho, eps, weight_decay,  # host scalars
    MAXIMIZE: tl.constexpr, WEIGHT_DECAY: tl.constexpr,
    F64: tl.constexpr, COMPUTE: tl.constexpr, BLOCK: tl.constexpr,
):
    # bytes: reads p, g, sq, acc, writes p, sq, acc: 7 * n * itemsize
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    p = tl.load(p_ptr + offs, mask=mask, other=0).to(COMPUTE)
    g = tl.load(g_ptr + offs, mask=mask, other=0).to(COMPUTE)
    sq = tl.load(sq_ptr + offs, mask=mask, other=0).to(COMPUTE)
    acc = tl.load(acc_ptr + offs, mask=mask, other=0).to(COMPUTE)
    if MAXIMIZE:
        g = -g
    if WEIGHT_DECAY:
        g = g + _scalar(weight_decay, F64, COMPUTE) * p
    r = _scalar(rho, F64, COMPUTE)
    one_minus_r = _scalar(one_minus_rho, F64, COMPUTE)
    e = _scalar(eps, F64, COMPUTE)
    sq = sq * r
    sq = sq + (one_minus_r * g) * g
    delta = tl.sqrt(acc + e) / tl.sqrt(sq + e)
    delta = delta * g
    acc = acc * r
    acc = acc + (one_minus_r * delta) * delta
    tl.store(sq_ptr + offs, sq.to(sq_ptr.dtype.element_ty), mask=mask)
    tl.store(acc_ptr + offs, acc.to(acc_ptr.dtype.element_ty), mask=mask)
    p = p + (-_scalar(lr, F64, COMPUTE)) * delta
    tl.store(p_ptr + offs, p.to(p_ptr.dtype.element_ty), mask=mask)


@triton.jit
def nadam_kernel(
    p_ptr,                  # parameter (read, written)
    g_ptr,                  # gradient (read)
    m_ptr,                  # exp_avg (read, written)
    v_ptr,                  # exp_avg_sq (read, written)
    n,                      # number of elements
    one_minus_beta1, beta2, one_minus_beta2,  # moment coefficients
    weight_decay,           # L2 coefficient added to the gradient
    decay_factor,           # 1 - lr*weight_decay (decoupled weight decay)
    bias_correction2,       # 1 - beta2**step
    grad_coef,              # -lr * (1 - mu) / (1 - mu_product)
    avg_coef,               # -lr * mu_next / (1 - mu_product * mu_next)
    eps,
    MAXIMIZE: tl.constexpr, WEIGHT_DECAY: tl.constexpr, DECOUPLED: tl.constexpr,
    WEIGHT_LOW: tl.constexpr,  # 1 - beta1 < 0.5 (lerp formula)
    F64: tl.constexpr, COMPUTE: tl.constexpr, BLOCK: tl.constexpr,
):
    # bytes: reads p, g, m, v, writes p, m, v: 7 * n * itemsize
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    p = tl.load(p_ptr + offs, mask=mask, other=0).to(COMPUTE)
    g = tl.load(g_ptr + offs, mask=mask, other=0).to(COMPUTE)
    m = tl.load(m_ptr + offs, mask=mask, other=0).to(COMPUTE)
    v = tl.load(v_ptr + offs, mask=mask, other=0).to(COMPUTE)
    if MAXIMIZE:
        g = -g
    p, g = _decay(p, g, weight_decay, decay_factor, WEIGHT_DECAY, DECOUPLED, F64, COMPUTE)
    m, v = _moments(m, v, g, one_minus_beta1, beta2, one_minus_beta2, WEIGHT_LOW, F64, COMPUTE)
    tl.store(m_ptr + offs, m.to(m_ptr.dtype.element_ty), mask=mask)
    tl.store(v_ptr + offs, v.to(v_ptr.dtype.element_ty), mask=mask)
    denom = tl.sqrt(v / _scalar(bias_correction2, F64, COMPUTE)) + _scalar(eps, F64, COMPUTE)
    p = p + (_scalar(grad_coef, F64, COMPUTE) * g) / denom
    p = p + (_scalar(avg_coef, F64, COMPUTE) * m) / denom
    tl.store(p_ptr + offs, p.to(p_ptr.dtype.element_ty), mask=mask)


@triton.jit
def radam_kernel(
    p_ptr,                  # parameter (read, written)
    g_ptr,                  # gradient (read)
    m_ptr,                  # exp_avg (read, written)
    v_ptr,                  # exp_avg_sq (read, written)
    n,                      # number of elements
    one_minus_beta1, beta2, one_minus_beta2,  # moment coefficients
    weight_decay,           # L2 coefficient added to the gradient
    decay_factor,           # 1 - lr*weight_decay (decoupled weight decay)
    bias_correction1,       # 1 - beta1**step
    lr,
    bias_correction2_sqrt,  # sqrt(1 - beta2**step)
    rect,                   # the variance rectification term (used when RECTIFY)
    eps,
    MAXIMIZE: tl.constexpr, WEIGHT_DECAY: tl.constexpr, DECOUPLED: tl.constexpr,
    RECTIFY: tl.constexpr,  # rho_t > 5: the adaptive, rectified step; else plain momentum SGD
    WEIGHT_LOW: tl.constexpr,  # 1 - beta1 < 0.5 (lerp formula)
    F64: tl.constexpr, COMPUTE: tl.constexpr, BLOCK: tl.constexpr,
):
    # bytes: reads p, g, m, v, writes p, m, v: 7 * n * itemsize
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    p = tl.load(p_ptr + offs, mask=mask, other=0).to(COMPUTE)
    g = tl.load(g_ptr + offs, mask=mask, other=0).to(COMPUTE)
    m = tl.load(m_ptr + offs, mask=mask, other=0).to(COMPUTE)
    v = tl.load(v_ptr + offs, mask=mask, other=0).to(COMPUTE)
    if MAXIMIZE:
        g = -g
    p, g = _decay(p, g, weight_decay, decay_factor, WEIGHT_DECAY, DECOUPLED, F64, COMPUTE)
    m, v = _moments(m, v, g, one_minus_beta1, beta2, one_minus_beta2, WEIGHT_LOW, F64, COMPUTE)
    tl.store(m_ptr + offs, m.to(m_ptr.dtype.element_ty), mask=mask)
    tl.store(v_ptr + offs, v.to(v_ptr.dtype.element_ty), mask=mask)
    update = (m / _scalar(bias_correction1, F64, COMPUTE)) * _scalar(lr, F64, COMPUTE)
    if RECTIFY:
        adaptive = _scalar(bias_correction2_sqrt, F64, COMPUTE) / (tl.sqrt(v) + _scalar(eps, F64, COMPUTE))
        update = (update * adaptive) * _scalar(rect, F64, COMPUTE)
    p = p - update
    tl.store(p_ptr + offs, p.to(p_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _sign(x):
    """-1, 0 or 1; 0 for NaN (PyTorch's cpu sign)."""
    return tl.where(x > 0, 1.0, tl.where(x < 0, -1.0, 0.0)).to(x.dtype)


@triton.jit
def rprop_kernel(
    p_ptr,                  # parameter (read, written)
    g_ptr,                  # gradient (read)
    prev_ptr,               # prev: the last step's gradient, 0 where its sign flipped (read, written)
    step_ptr,               # step_size: per-element step sizes (read, written)
    n,                      # number of elements
    etaminus, etaplus,      # step size factors after a sign flip / a kept sign
    step_size_min, step_size_max,  # the step sizes' clamp
    MAXIMIZE: tl.constexpr,
    F64: tl.constexpr, COMPUTE: tl.constexpr, BLOCK: tl.constexpr,
):
    # bytes: reads p, g, prev, step_size, writes p, prev, step_size: 7 * n * itemsize
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    p = tl.load(p_ptr + offs, mask=mask, other=0).to(COMPUTE)
    g = tl.load(g_ptr + offs, mask=mask, other=0).to(COMPUTE)
    prev = tl.load(prev_ptr + offs, mask=mask, other=0).to(COMPUTE)
    step = tl.load(step_ptr + offs, mask=mask, other=0).to(COMPUTE)
    if MAXIMIZE:
        g = -g
    prod = g * prev
    flipped = prod < 0
    one = tl.full(prod.shape, 1.0, COMPUTE)
    factor = tl.where(prod > 0, _scalar(etaplus, F64, COMPUTE), one)   # a NaN product keeps the step size
    factor = tl.where(flipped, _scalar(etaminus, F64, COMPUTE), factor)
    step = step * factor
    step = tl.maximum(step, _scalar(step_size_min, F64, COMPUTE), propagate_nan=tl.PropagateNan.ALL)
    step = tl.minimum(step, _scalar(step_size_max, F64, COMPUTE), propagate_nan=tl.PropagateNan.ALL)
    g = tl.where(flipped, 0.0, g)
    p = p - _sign(g) * step
    tl.store(step_ptr + offs, step.to(step_ptr.dtype.element_ty), mask=mask)
    tl.store(prev_ptr + offs, g.to(prev_ptr.dtype.element_ty), mask=mask)
    tl.store(p_ptr + offs, p.to(p_ptr.dtype.element_ty), mask=mask)


@triton.jit
def asgd_kernel(
    p_ptr,                  # parameter (read, written)
    g_ptr,                  # gradient (read)
    ax_ptr,                 # ax: the running average of the parameter (written; read when AVERAGE)
    n,                      # number of elements
    weight_decay,           # L2 coefficient added to the gradient
    decay_factor,           # 1 - lambd * eta
    eta,                    # this step's learning rate (host state)
    mu,                     # this step's averaging weight (host state)
    MAXIMIZE: tl.constexpr, WEIGHT_DECAY: tl.constexpr,
    AVERAGE: tl.constexpr,  # mu != 1: ax += (p - ax) * mu; else ax = p
    F64: tl.constexpr, COMPUTE: tl.constexpr, BLOCK: tl.constexpr,
):
    # bytes: reads p, g (+ ax), writes p, ax: (4 or 5) * n * itemsize
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    p = tl.load(p_ptr + offs, mask=mask, other=0).to(COMPUTE)
    g = tl.load(g_ptr + offs, mask=mask, other=0).to(COMPUTE)
    if MAXIMIZE:
        g = -g
    if WEIGHT_DECAY:
        g = g + _scalar(weight_decay, F64, COMPUTE) * p
    p = p * _scalar(decay_factor, F64, COMPUTE)
    p = p + (-_scalar(eta, F64, COMPUTE)) * g
    tl.store(p_ptr + offs, p.to(p_ptr.dtype.element_ty), mask=mask)
    if AVERAGE:
        ax = tl.load(ax_ptr + offs, mask=mask, other=0).to(COMPUTE)
        ax = ax + (p - ax) * _scalar(mu, F64, COMPUTE)
    else:
        ax = p
    tl.store(ax_ptr + offs, ax.to(ax_ptr.dtype.element_ty), mask=mask)


# ------------------------------------------------------------------------------------------------ launchers

def _setup(arr):
    """(number of elements, grid, F64 flag, compute dtype, scalar encoder) for a launch over `arr`."""
    n = arr.size_
    f64 = arr.dtype == np.float64
    compute = tl.float64 if f64 else tl.float32
    enc = _f64_bits if f64 else float
    return n, (_cdiv(n, BLOCK),), f64, compute, enc


def sgd(p, g, buf, *, lr, weight_decay, momentum, dampening, nesterov, maximize, first):
    n, grid, f64, compute, enc = _setup(p)
    if n == 0:
        return
    has_momentum = buf is not None
    sgd_kernel[grid](p, g, buf if has_momentum else p, n,
                     enc(lr), enc(weight_decay), enc(momentum), enc(1 - dampening),
                     MAXIMIZE=bool(maximize), WEIGHT_DECAY=weight_decay != 0, MOMENTUM=has_momentum,
                     FIRST=bool(first), NESTEROV=bool(nesterov), F64=f64, COMPUTE=compute, BLOCK=BLOCK)


def adam(p, g, m, v, vmax, *, beta1, beta2, weight_decay, decay_factor, step_size, bias_correction2_sqrt, eps,
         maximize, decoupled):
    n, grid, f64, compute, enc = _setup(p)
    if n == 0:
        return
    amsgrad = vmax is not None
    adam_kernel[grid](p, g, m, v, vmax if amsgrad else p, n,
                      enc(1 - beta1), enc(beta2), enc(1 - beta2), enc(weight_decay), enc(decay_factor),
                      enc(step_size), enc(bias_correction2_sqrt), enc(eps),
                      MAXIMIZE=bool(maximize), WEIGHT_DECAY=weight_decay != 0, DECOUPLED=bool(decoupled),
                      AMSGRAD=amsgrad, WEIGHT_LOW=(1 - beta1) < 0.5, F64=f64, COMPUTE=compute, BLOCK=BLOCK)


def rmsprop(p, g, sq, gavg, buf, *, lr, alpha, eps, weight_decay, momentum, maximize):
    n, grid, f64, compute, enc = _setup(p)
    if n == 0:
        return
    rmsprop_kernel[grid](p, g, sq, gavg if gavg is not None else p, buf if buf is not None else p, n,
                         enc(lr), enc(alpha), enc(1 - alpha), enc(eps), enc(weight_decay), enc(momentum),
                         MAXIMIZE=bool(maximize), WEIGHT_DECAY=weight_decay != 0, CENTERED=gavg is not None,
                         MOMENTUM=buf is not None, WEIGHT_LOW=(1 - alpha) < 0.5, F64=f64, COMPUTE=compute,
                         BLOCK=BLOCK)


def adagrad(p, g, s, *, clr, weight_decay, eps, maximize):
    n, grid, f64, compute, enc = _setup(p)
    if n == 0:
        return
    adagrad_kernel[grid](p, g, s, n, enc(clr), enc(weight_decay), enc(eps),
                         MAXIMIZE=bool(maximize), WEIGHT_DECAY=weight_decay != 0, F64=f64, COMPUTE=compute,
                         BLOCK=BLOCK)


def adamax(p, g, m, u, *, beta1, beta2, eps, weight_decay, clr, maximize):
    n, grid, f64, compute, enc = _setup(p)
    if n == 0:
        return
    adamax_kernel[grid](p, g, m, u, n, enc(1 - beta1), enc(beta2), enc(eps), enc(weight_decay), enc(clr),
                        MAXIMIZE=bool(maximize), WEIGHT_DECAY=weight_decay != 0, WEIGHT_LOW=(1 - beta1) < 0.5,
                        F64=f64, COMPUTE=compute, BLOCK=BLOCK)


def adadelta(p, g, sq, acc, *, lr, rho, eps, weight_decay, maximize):
    n, grid, f64, compute, enc = _setup(p)
    if n == 0:
        return
    adadelta_kernel[grid](p, g, sq, acc, n, enc(lr), enc(rho), enc(1 - rho), enc(eps), enc(weight_decay),
                          MAXIMIZE=bool(maximize), WEIGHT_DECAY=weight_decay != 0, F64=f64, COMPUTE=compute,
                          BLOCK=BLOCK)


def nadam(p, g, m, v, *, beta1, beta2, weight_decay, decay_factor, bias_correction2, grad_coef, avg_coef, eps,
          maximize, decoupled):
    n, grid, f64, compute, enc = _setup(p)
    if n == 0:
        return
    nadam_kernel[grid](p, g, m, v, n, enc(1 - beta1), enc(beta2), enc(1 - beta2), enc(weight_decay),
                       enc(decay_factor), enc(bias_correction2), enc(grad_coef), enc(avg_coef), enc(eps),
                       MAXIMIZE=bool(maximize), WEIGHT_DECAY=weight_decay != 0, DECOUPLED=bool(decoupled),
                       WEIGHT_LOW=(1 - beta1) < 0.5, F64=f64, COMPUTE=compute, BLOCK=BLOCK)


def radam(p, g, m, v, *, beta1, beta2, weight_decay, decay_factor, bias_correction1, lr, bias_correction2_sqrt,
          rect, eps, maximize, decoupled):
    n, grid, f64, compute, enc = _setup(p)
    if n == 0:
        return
    radam_kernel[grid](p, g, m, v, n, enc(1 - beta1), enc(beta2), enc(1 - beta2), enc(weight_decay),
                       enc(decay_factor), enc(bias_correction1), enc(lr), enc(bias_correction2_sqrt),
                       enc(0.0 if rect is None else rect), enc(eps),
                       MAXIMIZE=bool(maximize), WEIGHT_DECAY=weight_decay != 0, DECOUPLED=bool(decoupled),
                       RECTIFY=rect is not None, WEIGHT_LOW=(1 - beta1) < 0.5, F64=f64, COMPUTE=compute,
                       BLOCK=BLOCK)


def rprop(p, g, prev, step_size, *, etaminus, etaplus, step_size_min, step_size_max, maximize):
    n, grid, f64, compute, enc = _setup(p)
    if n == 0:
        return
    rprop_kernel[grid](p, g, prev, step_size, n, enc(etaminus), enc(etaplus), enc(step_size_min),
                       enc(step_size_max), MAXIMIZE=bool(maximize), F64=f64, COMPUTE=compute, BLOCK=BLOCK)


def asgd(p, g, ax, *, weight_decay, decay_factor, eta, mu, maximize):
    n, grid, f64, compute, enc = _setup(p)
    if n == 0:
        return
    asgd_kernel[grid](p, g, ax, n, enc(weight_decay), enc(decay_factor), enc(eta), enc(mu),
                      MAXIMIZE=bool(maximize), WEIGHT_DECAY=weight_decay != 0, AVERAGE=mu != 1, F64=f64,
                      COMPUTE=compute, BLOCK=BLOCK)


from ..ops import fast_launch as _fast_launch  # noqa: E402

_fast_launch.install(sys.modules[__name__])  # repeated steps skip Triton's per-call argument handling (GPU only)
