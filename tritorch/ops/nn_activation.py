"""Pointwise activations of torch.nn.functional not in the unary family: elu, leaky_relu, mish, hardtanh, relu6,
selu, celu, softsign, hardsigmoid, hardswish, logsigmoid.

Each op runs through the one pointwise kernel (`pointwise.pointwise_kernel`, bytes per launch: n elements read,
n written); this file gives its Triton scalar function FN(x, y, z, p0, p1) (x: the operand in the compute dtype,
fp32 for fp16/bf16; y, z unused; p0, p1: the op's scalar parameters, e.g. alpha, min_val/max_val), NumPy
fallback, float64 reference, samples and backward rule. The public functions have torch.nn.functional's names
and signatures; `inplace=True` writes the result into the input (out=input) and returns it.

Backward rules follow PyTorch's derivatives (including its choices at the kinks and for NaN: e.g. elu takes the
negative branch at x <= 0, hardtanh passes the gradient unless x <= min_val or x >= max_val), written in
registered ops so they run on both devices and differentiate again.
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from . import pointwise as pw
from ._cpu_parallel import elementwise_in_blocks
from .unary import (_SPECIAL, _bench, _expm1_accurate, _fp32_for_half, _log1p_accurate, _only, _ref64, _samples,
                    _tanh_accurate, _with_checks, log1p_exp_neg_abs)

FAMILY = "nn_activation"
FLOATS = _dt.FLOATS

__all__ = ["elu", "leaky_relu", "mish", "hardtanh", "relu6", "selu", "celu", "softsign", "hardsigmoid",
           "hardswish", "logsigmoid"]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
INF = math.inf


def _declare(name, *, np_fn, tl_fn, ref, torch_fn, vjp, low=-4.0, high=4.0, specials=(), params=(), kwargs=(),
             flops=4, save="inputs", blocks=False):
    """A float-only pointwise activation (fp16/bf16 compute in fp32), with its samples and bench spec. blocks: run
    the NumPy formula block by block in cache (_cpu_parallel.elementwise_in_blocks), for formulas of several passes
    (for one or two passes the blocks' extra copy costs more than it saves)."""
    op = pw.declare(name, np_fn=_fp32_for_half(elementwise_in_blocks(np_fn) if blocks else np_fn), tl_fn=tl_fn,
                    kind="same",
                    ref=_ref64(ref), arity=1,
                    family=FAMILY, dtypes=FLOATS, allowed=FLOATS, params=params,
                    samples=_samples(low, high, list(_SPECIAL) + list(specials), False, kwargs),
                    bench=_bench("same", low, high, flops, (_dt.float32, _dt.float16)),
                    extra={"torch": torch_fn}, vjp=vjp, save=save)
    return _with_checks(op, _only(FLOATS))


def _call(op, input, inplace, **params):
    """Call `op`, passing only non-default parameters (the registry's cpu fast path takes calls without kwargs)."""
    out = input if inplace else None
    if params:
        return op(input, out=out, **params)
    return op(input, out=out)


def _where(cond, a, b):
    from .ternary import where
    return where(cond, a, b)


def _exp(x):
    from .unary import exp
    return exp(x)


def _sigmoid(x):
    from .unary import sigmoid
    return sigmoid(x)


# ======================================================================================== Triton functions

@triton.jit
def _elu_fn(x, y, z, alpha, p1):
    # x for x > 0, alpha * (e^x - 1) otherwise; alpha: scalar
    return tl.where(x > 0, x, tl.cast(alpha, x.dtype) * _expm1_accurate(x))


@triton.jit
def _celu_fn(x, y, z, alpha, p1):
    # max(0, x) + min(0, alpha * (e^(x / alpha) - 1)); alpha: scalar
    a = tl.cast(alpha, x.dtype)
    return tl.where(x > 0, x, a * _expm1_accurate(x / a))


@triton.jit
def _selu_fn(x, y, z, p0, p1):
    # scale * elu(x, alpha) with SELU's fixed alpha and scale
    return tl.where(x > 0, 1.0507009873554804934193349852946 * x,
                    1.0507009873554804934193349852946 * 1.6732632423543772848170429916717 * _expm1_accurate(x))


@triton.jit
def _leaky_relu_fn(x, y, z, slope, p1):
    # x for x > 0, negative_slope * x otherwise (NaN stays NaN)
    return tl.where(x > 0, x, x * tl.cast(slope, x.dtype))


@triton.jit
def _softplus1(x):
    # log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)
    return tl.where(x > 0, x, 0.0) + _log1p_accurate(tl.exp(-tl.abs(x)))


@triton.jit
def _mish_fn(x, y, z, p0, p1):
    # x * tanh(softplus(x))
    return x * _tanh_accurate(_softplus1(x))


@triton.jit
def _hardtanh_fn(x, y, z, lo, hi):
    # clamp(x, min_val, max_val), NaN stays NaN
    lo_v = tl.cast(lo, x.dtype)
    hi_v = tl.cast(hi, x.dtype)
    return tl.where(x < lo_v, lo_v, tl.where(x > hi_v, hi_v, x))


@triton.jit
def _relu6_fn(x, y, z, p0, p1):
    # clamp(x, 0, 6), NaN stays NaN
    return tl.where(x < 0, 0.0, tl.where(x > 6, 6.0, x))


@triton.jit
def _softsign_fn(x, y, z, p0, p1):
    # x / (1 + |x|)
    return x / (1.0 + tl.abs(x))


@triton.jit
def _hardsigmoid_fn(x, y, z, p0, p1):
    # relu6(x + 3) / 6 as PyTorch forms it (NaN stays NaN)
    r = x + 3.0
    return tl.where(r < 0, 0.0, tl.where(r > 6.0, 6.0, r)) / 6.0


@triton.jit
def _hardswish_fn(x, y, z, p0, p1):
    # x * relu6(x + 3) / 6, as PyTorch forms it (so -inf gives NaN as there)
    r = x + 3.0
    r = tl.where(r < 0, 0.0, tl.where(r > 6.0, 6.0, r))
    return x * r / 6.0


@triton.jit
def _logsigmoid_fn(x, y, z, p0, p1):
    # -softplus(-x) = min(x, 0) - log1p(e^-|x|)
    return tl.where(x < 0, x, 0.0) - _log1p_accurate(tl.exp(-tl.abs(x)))


# =========================================================================================== NumPy fallbacks

# The fallbacks below select between their branches arithmetically (max/min, adding a zero) instead of with
# np.where: a select by an unpredictable mask (the sign of activations) costs NumPy about ten arithmetic passes.

def _exp_branch(x, alpha, neg, scale=None):
    """max(x, 0) + alpha * neg, where neg = expm1(min(x, 0) / scale) is 0 for x > 0 and x adds a 0 elsewhere
    (each branch exact): elu, celu and selu."""
    neg *= x.dtype.type(alpha)
    neg += np.maximum(x, 0)
    return neg


def _elu_np(x, alpha=1.0):
    return _exp_branch(x, alpha, np.expm1(np.minimum(x, 0)))


def _celu_np(x, alpha=1.0):
    return _exp_branch(x, alpha, np.expm1(np.minimum(x, 0) / x.dtype.type(alpha)))


def _selu_np(x):
    r = _exp_branch(x, SELU_ALPHA, np.expm1(np.minimum(x, 0)))
    r *= x.dtype.type(SELU_SCALE)
    return r


def _leaky_relu_np(x, negative_slope=0.01):
    s = x.dtype.type(negative_slope)
    r = np.multiply(x, s, out=np.empty_like(x))
    if s < 0 or 0 < s <= 1:    # x where x > 0, else x * s: the larger of the two (x * s <= x exactly for x > 0)
        return np.maximum(x, r, out=r)
    if s > 1:                   # ... the smaller
        return np.minimum(x, r, out=r)
    return np.where(x > 0, x, r)   # slope 0 (or NaN): inf * 0 is NaN, which max would return for x = inf


def _softplus1_np(x):
    r = log1p_exp_neg_abs(x)
    r += np.maximum(x, 0)
    return r


def _mish_np(x):
    return x * np.tanh(_softplus1_np(x))


def _hardtanh_np(x, min_val=-1.0, max_val=1.0):
    return np.clip(x, x.dtype.type(min_val), x.dtype.type(max_val))   # (keeps NaN, as PyTorch's)


def _relu6_np(x):
    return _hardtanh_np(x, 0.0, 6.0)


def _softsign_np(x):
    d = np.abs(x)
    d += 1
    return x / d


def _hardsigmoid_np(x):
    # relu6(x + 3) / 6 as PyTorch forms it (np.clip keeps NaN)
    return np.clip(x + x.dtype.type(3), 0, 6) / x.dtype.type(6)


def _hardswish_np(x):
    return x * _hardsigmoid_np(x)


def _logsigmoid_np(x):
    r = log1p_exp_neg_abs(x)       # -softplus(-x) = min(x, 0) - log(1 + exp(-|x|))
    np.subtract(np.minimum(x, 0), r, out=r)
    return r


# ==================================================================================== float64 references

def _elu_ref(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))


def _celu_ref(x, alpha=1.0):
    return np.maximum(0, x) + np.minimum(0, alpha * (np.exp(np.minimum(x, 0) / alpha) - 1))


def _selu_ref(x):
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(np.minimum(x, 0)) - 1))


def _mish_ref(x):
    return x * np.tanh(np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0))


def _hardtanh_ref(x, min_val=-1.0, max_val=1.0):
    return np.clip(x, min_val, max_val)


def _hardsigmoid_ref(x):
    return np.clip(x + 3, 0, 6) / 6


def _logsigmoid_ref(x):
    return np.log(1.0 / (1.0 + np.exp(-x)))


# ============================================================================================ backward rules

def _elu_vjp(ctx, grad):
    # PyTorch's elu_backward on the input: 1 where x > 0, alpha * e^x elsewhere (NaN in, NaN out)
    from .nn_activation_grad import elu_backward_op
    return elu_backward_op(grad, ctx.inputs[0], alpha=ctx.kwargs.get("alpha", 1.0))


def _celu_vjp(ctx, grad):
    (x,) = ctx.inputs
    alpha = ctx.kwargs.get("alpha", 1.0)
    return _where(x > 0, grad, grad * _exp(x * (1.0 / alpha)))


def _selu_vjp(ctx, grad):
    # scale * elu's
    from .nn_activation_grad import elu_backward_op
    return elu_backward_op(grad, ctx.inputs[0], alpha=SELU_ALPHA) * SELU_SCALE


def _leaky_relu_vjp(ctx, grad):
    from .nn_activation_grad import leaky_relu_backward_op
    return leaky_relu_backward_op(grad, ctx.inputs[0], negative_slope=ctx.kwargs.get("negative_slope", 0.01))


def _mish_vjp(ctx, grad):
    # d/dx x tanh(sp(x)) = tanh(sp) + x * sigmoid(x) * (1 - tanh(sp)^2)
    from .unary import softplus, tanh
    (x,) = ctx.inputs
    t = tanh(softplus(x))
    return grad * (t + x * _sigmoid(x) * (1.0 - t * t))


def _hardtanh_vjp(ctx, grad):
    (x,) = ctx.inputs
    lo = ctx.kwargs.get("min_val", -1.0)
    hi = ctx.kwargs.get("max_val", 1.0)
    # PyTorch: the gradient passes strictly inside (min_val, max_val); zero at the bounds, outside, and for NaN
    return _where((x > lo) & (x < hi), grad, 0.0)


def _relu6_vjp(ctx, grad):
    (x,) = ctx.inputs
    return _where((x > 0) & (x < 6), grad, 0.0)


def _softsign_vjp(ctx, grad):
    # PyTorch composes softsign as x / (|x| + 1): the same gradient terms (so inf gives NaN as there)
    from .unary import abs as _abs, sign
    (x,) = ctx.inputs
    d = _abs(x) + 1.0
    return grad / d - (grad * x) / (d * d) * sign(x)


def _hardsigmoid_vjp(ctx, grad):
    (x,) = ctx.inputs
    return _where((x > -3.0) & (x < 3.0), grad * (1.0 / 6.0), 0.0)


def _hardswish_vjp(ctx, grad):
    (x,) = ctx.inputs
    # PyTorch: 0 at x <= -3, 1 at x >= 3, x / 3 + 0.5 between (NaN in, NaN out)
    return _where(x <= -3.0, 0.0, _where(x >= 3.0, grad, grad * (x * (1.0 / 3.0) + 0.5)))


def _logsigmoid_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * _sigmoid(-x)


# ============================================================================================== declarations

elu_op = _declare("elu", np_fn=_elu_np, blocks=True, tl_fn=_elu_fn, ref=_elu_ref, params=(("alpha", 1.0),),
                  torch_fn=lambda torch, x, alpha=1.0: torch.nn.functional.elu(x, alpha), vjp=_elu_vjp,
                  specials=[1e-7, -1e-7, -30.0, 30.0], kwargs=({"alpha": 0.5},), flops=4)
celu_op = _declare("celu", np_fn=_celu_np, blocks=True, tl_fn=_celu_fn, ref=_celu_ref, params=(("alpha", 1.0),),
                   torch_fn=lambda torch, x, alpha=1.0: torch.nn.functional.celu(x, alpha), vjp=_celu_vjp,
                   specials=[1e-7, -1e-7, -30.0, 30.0], kwargs=({"alpha": 2.5},), flops=5)
selu_op = _declare("selu", np_fn=_selu_np, blocks=True, tl_fn=_selu_fn, ref=_selu_ref,
                   torch_fn=lambda torch, x: torch.nn.functional.selu(x), vjp=_selu_vjp,
                   specials=[1e-7, -1e-7, -30.0, 30.0], flops=5)
leaky_relu_op = _declare("leaky_relu", np_fn=_leaky_relu_np, tl_fn=_leaky_relu_fn,
                         ref=lambda x, negative_slope=0.01: np.where(x > 0, x, x * negative_slope),
                         params=(("negative_slope", 0.01),), vjp=_leaky_relu_vjp,
                         torch_fn=lambda torch, x, negative_slope=0.01: torch.nn.functional.leaky_relu(
                             x, negative_slope), specials=[1e-30, -1e-30, 2.5], kwargs=({"negative_slope": 0.2},),
                         flops=2)
mish_op = _declare("mish", np_fn=_mish_np, blocks=True, tl_fn=_mish_fn, ref=_mish_ref,
                   torch_fn=lambda torch, x: torch.nn.functional.mish(x), vjp=_mish_vjp,
                   specials=[1e-7, -1e-7, -30.0, 30.0, -100.0], low=-6.0, high=6.0, flops=12)
hardtanh_op = _declare("hardtanh", np_fn=_hardtanh_np, tl_fn=_hardtanh_fn, ref=_hardtanh_ref,
                       params=(("min_val", -1.0), ("max_val", 1.0)), vjp=_hardtanh_vjp,
                       torch_fn=lambda torch, x, min_val=-1.0, max_val=1.0: torch.nn.functional.hardtanh(
                           x, min_val, max_val), specials=[-1.0, 1.0, -2.0, 2.0],
                       kwargs=({"min_val": -0.5, "max_val": 2.0},), low=-3.0, high=3.0, flops=2)
relu6_op = _declare("relu6", np_fn=_relu6_np, tl_fn=_relu6_fn, ref=lambda x: np.clip(x, 0, 6),
                    torch_fn=lambda torch, x: torch.nn.functional.relu6(x), vjp=_relu6_vjp,
                    specials=[6.0, 7.0, -1.0], low=-3.0, high=9.0, flops=2)
softsign_op = _declare("softsign", np_fn=_softsign_np, tl_fn=_softsign_fn, ref=lambda x: x / (1 + np.abs(x)),
                       torch_fn=lambda torch, x: torch.nn.functional.softsign(x), vjp=_softsign_vjp,
                       specials=[1e-30, 1e30, -1e30], flops=3)
hardsigmoid_op = _declare("hardsigmoid", np_fn=_hardsigmoid_np, tl_fn=_hardsigmoid_fn, ref=_hardsigmoid_ref,
                          torch_fn=lambda torch, x: torch.nn.functional.hardsigmoid(x), vjp=_hardsigmoid_vjp,
                          specials=[-3.0, 3.0, -4.0, 4.0], low=-5.0, high=5.0, flops=3)
hardswish_op = _declare("hardswish", np_fn=_hardswish_np, tl_fn=_hardswish_fn,
                        ref=lambda x: x * _hardsigmoid_ref(x),
                        torch_fn=lambda torch, x: torch.nn.functional.hardswish(x), vjp=_hardswish_vjp,
                        specials=[-3.0, 3.0, -4.0, 4.0], low=-5.0, high=5.0, flops=4)
logsigmoid_op = _declare("logsigmoid", np_fn=_logsigmoid_np, blocks=True, tl_fn=_logsigmoid_fn, ref=_logsigmoid_ref,
                         torch_fn=lambda torch, x: torch.nn.functional.logsigmoid(x), vjp=_logsigmoid_vjp,
                         specials=[1e-7, -30.0, 30.0, -100.0], low=-8.0, high=8.0, flops=5)


# ============================================================================================ public functions

def elu(input, alpha=1.0, inplace=False):
    """torch.nn.functional.elu: input where input > 0, alpha * (exp(input) - 1) elsewhere."""
    return _call(elu_op, input, inplace, **({} if alpha == 1.0 else {"alpha": float(alpha)}))


def celu(input, alpha=1.0, inplace=False):
    """torch.nn.functional.celu: max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _call(celu_op, input, inplace, **({} if alpha == 1.0 else {"alpha": float(alpha)}))


def selu(input, inplace=False):
    """torch.nn.functional.selu: scale * elu(input, alpha) with alpha = 1.6733, scale = 1.0507."""
    return _call(selu_op, input, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """torch.nn.functional.leaky_relu: input where input > 0, negative_slope * input elsewhere."""
    return _call(leaky_relu_op, input, inplace,
                 **({} if negative_slope == 0.01 else {"negative_slope": float(negative_slope)}))


def mish(input, inplace=False):
    """torch.nn.functional.mish: input * tanh(softplus(input))."""
    return _call(mish_op, input, inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """torch.nn.functional.hardtanh: clamp(input, min_val, max_val)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    params = {} if (min_val, max_val) == (-1.0, 1.0) else {"min_val": float(min_val), "max_val": float(max_val)}
    return _call(hardtanh_op, input, inplace, **params)


def relu6(input, inplace=False):
    """torch.nn.functional.relu6: min(max(0, input), 6)."""
    return _call(relu6_op, input, inplace)


def softsign(input):
    """torch.nn.functional.softsign: input / (1 + |input|)."""
    return softsign_op(input)


def hardsigmoid(input, inplace=False):
    """torch.nn.functional.hardsigmoid: relu6(input + 3) / 6."""
    return _call(hardsigmoid_op, input, inplace)


def hardswish(input, inplace=False):
    """torch.nn.functional.hardswish: input * relu6(input + 3) / 6."""
    return _call(hardswish_op, input, inplace)


def logsigmoid(input):
    """torch.nn.functional.logsigmoid: log(sigmoid(input)) = -softplus(-input), without overflow."""
    return logsigmoid_op(input)
