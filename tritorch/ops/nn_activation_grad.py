"""The activations' backward as fused ops, PyTorch's aten::*_backward (one pass on cuda; a few branch-free NumPy
passes over cache-sized blocks on the cpu, where the rules composed of ops made five to ten full-size passes, each
into a new array):

  sigmoid_backward(grad, output)                      grad * output * (1 - output)
  tanh_backward(grad, output)                         grad * (1 - output^2)
  silu_backward(grad, input)                          grad * s (1 + x (1 - s)),  s = sigmoid(x)
  elu_backward(grad, input, alpha)                    grad where x > 0, else grad * alpha e^x
  softplus_backward(grad, input, beta, threshold)     grad * sigmoid(beta x), or grad where beta x > threshold
  leaky_relu_backward(grad, input, negative_slope)    grad where x > 0, else grad * negative_slope
  threshold_backward(grad, operand, threshold)        0 where operand <= threshold, else grad (relu's, on its output)

The selections follow PyTorch's (vectorised) cpu kernels: which side takes x = 0 and a NaN input. The forward
ops' backward rules call these; each op's own rule is composed of ops, so double backward works. Forward +
backward of 2048x1024 float32 on the 2-core VM, composed rules -> these ops (torch): silu 11.4 -> 8.0 ms (1.4),
elu 11.5 -> 8.7 (2.6), selu 12.7 -> 9.3 (2.6), softplus 16.7 -> 12.0 (2.9), leaky_relu 6.7 -> 5.4 (1.4), sigmoid
6.2 -> 5.3 (1.3), tanh 3.8 -> 3.3 (1.5); the backward ops alone take 1.2 (sigmoid, tanh) to 4.1 ms (softplus).
"""
from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ._cpu_parallel import BLOCK_ELEMS, run_row_blocks
from . import pointwise as pw
from .registry import BenchSpec, Sample
from .samples import make_tensor, rng_for
from .ternary import _BITS_MIN_SIZE, _where_bits, np_masked_bits

FAMILY = "nn_activation"
_HALF_NP = (np.dtype(np.float16), _dt.bfloat16.np)
BENCH_SIZES = (2 ** 16, 2 ** 20, 2 ** 24)


def _blocked(formula):
    """np_fn of a (grad, x, *params) op: `formula` over cache-sized blocks of large same-shape contiguous operands
    (on the thread pool from _cpu_parallel's size), so its passes run in cache; over the whole arrays otherwise.
    fp16/bf16 operands are computed in fp32 and rounded once, as PyTorch's cpu kernels do."""
    def np_fn(g, x, *params):
        if g.dtype in _HALF_NP:
            return np_fn(g.astype(np.float32), x.astype(np.float32), *params).astype(g.dtype)
        if (g.size >= 2 * BLOCK_ELEMS and g.shape == x.shape and g.dtype == x.dtype and g.flags.c_contiguous
                and x.flags.c_contiguous):
            fg, fx = g.reshape(-1), x.reshape(-1)
            out = np.empty_like(fg)

            def block(rows):
                out[rows] = formula(fg[rows], fx[rows], *params)

            run_row_blocks(block, fg.size, 1)
            return out.reshape(g.shape)
        return formula(g, x, *params)

    np_fn.__name__ = formula.__name__
    return np_fn


def _select(cond, a, b):
    """np.where(cond, a, b) for same-shape arrays, by bits where that is faster (ternary._where_bits)."""
    r = _where_bits(cond, a, b, a.dtype, a.shape) if a.shape == cond.shape else None
    return np.where(cond, a, b) if r is None else r


# ================================================================================================ formulas

def _sigmoid_backward_np(g, y):
    t = 1 - y
    t *= y
    t *= g
    return t


def _tanh_backward_np(g, y):
    t = y * y
    t = 1 - t
    t *= g
    return t


def _silu_backward_np(g, x):
    from .unary import _sigmoid_np
    s = _sigmoid_np(x)
    t = 1 - s
    t *= x
    t += 1
    t *= s
    t *= g
    return t


def _elu_backward_np(g, x, alpha=1.0):
    # PyTorch: x > 0 ? grad : grad * alpha * e^x (NaN in, NaN out: np.minimum keeps it)
    e = np.exp(np.minimum(x, 0))
    e *= x.dtype.type(alpha)
    e *= g
    return _select(x > 0, np.asarray(g), np.asarray(e))


def _softplus_backward_np(g, x, beta=1.0, threshold=20.0):
    # PyTorch: beta x > threshold ? grad : grad * sigmoid(beta x)
    from .unary import _sigmoid_np
    bx = x * x.dtype.type(beta) if beta != 1 else x
    s = _sigmoid_np(bx)
    s *= g
    return _select(bx > threshold, np.asarray(g), np.asarray(s))


def _leaky_relu_backward_np(g, x, negative_slope=0.01):
    # PyTorch: x > 0 ? grad : grad * negative_slope
    return _select(x > 0, np.asarray(g), np.asarray(g * x.dtype.type(negative_slope)))


def _threshold_backward_np(g, y, threshold=0.0):
    # PyTorch: y <= threshold ? 0 : grad (a NaN operand passes the gradient). Same shapes: grad's bits ANDed with a
    # mask (exact, no branch per element); else np.where, which broadcasts.
    zero_at = y <= y.dtype.type(threshold)
    if g.shape == y.shape and g.size >= _BITS_MIN_SIZE:
        r = np_masked_bits(zero_at, g, keep_where_true=False)
        if r is not None:
            return r
    return np.where(zero_at, g.dtype.type(0), g)


# ========================================================================================== Triton side
# Scalar functions for pointwise.launch_pointwise: x the incoming gradient, y the op's saved operand, p0/p1 the
# parameters; computed in fp32 for fp16/bf16 (fp64 for fp64).

@triton.jit
def _sigmoid_backward_fn(x, y, z, p0, p1):
    # grad * y (1 - y), y = sigmoid's output
    return x * (y * (1.0 - y))


@triton.jit
def _tanh_backward_fn(x, y, z, p0, p1):
    # grad * (1 - y^2), y = tanh's output
    return x * (1.0 - y * y)


@triton.jit
def _silu_backward_fn(x, y, z, p0, p1):
    # grad * s (1 + y (1 - s)), s = 1 / (1 + e^-y)
    s = 1.0 / (1.0 + tl.exp(-y))
    return x * (s * (1.0 + y * (1.0 - s)))


@triton.jit
def _elu_backward_fn(x, y, z, p0, p1):
    # p0 = alpha: grad where y > 0, else grad * alpha e^y (a NaN y reaches exp: NaN out)
    return tl.where(y > 0, x, x * (p0 * tl.exp(tl.where(y > 0, 0.0, y))))


@triton.jit
def _softplus_backward_fn(x, y, z, p0, p1):
    # p0 = beta, p1 = threshold: grad where beta y > threshold, else grad * sigmoid(beta y)
    b = y * p0
    return tl.where(b > p1, x, x / (1.0 + tl.exp(-b)))


@triton.jit
def _leaky_relu_backward_fn(x, y, z, p0, p1):
    # p0 = negative_slope: grad where y > 0, else grad * negative_slope
    return tl.where(y > 0, x, x * p0)


@triton.jit
def _threshold_backward_fn(x, y, z, p0, p1):
    # p0 = threshold: 0 where y <= threshold, else grad (a NaN y passes it)
    return tl.where(y <= p0, 0.0, x)


# ========================================================================================== references

def _f64(*arrays):
    return [np.asarray(a, np.float64) for a in arrays]


def _quiet(ref):
    """A reference formula with NumPy's floating-point warnings off (inf * 0 at the special values)."""
    def run(*args, **kwargs):
        with np.errstate(all="ignore"):
            return ref(*args, **kwargs)
    return run


def _sigmoid_backward_ref(g, y):
    g, y = _f64(g, y)
    return g * y * (1.0 - y)


def _tanh_backward_ref(g, y):
    g, y = _f64(g, y)
    return g * (1.0 - y * y)


def _silu_backward_ref(g, x):
    g, x = _f64(g, x)
    s = 1.0 / (1.0 + np.exp(-x))
    return g * s * (1.0 + x * (1.0 - s))


def _elu_backward_ref(g, x, alpha=1.0):
    g, x = _f64(g, x)
    return np.where(x > 0, g, g * alpha * np.exp(np.minimum(x, 0)))


def _softplus_backward_ref(g, x, beta=1.0, threshold=20.0):
    g, x = _f64(g, x)
    return np.where(x * beta > threshold, g, g / (1.0 + np.exp(-x * beta)))


def _leaky_relu_backward_ref(g, x, negative_slope=0.01):
    g, x = _f64(g, x)
    return np.where(x > 0, g, g * negative_slope)


def _threshold_backward_ref(g, x, threshold=0.0):
    g, x = _f64(g, x)
    return np.where(x <= threshold, 0.0, g)


# ============================================================================================ samples

def _samples_for(name, low, high, kwargs=({},), specials=(0.0, -0.0, 1e-30, float("inf"), float("-inf"),
                                                            float("nan"))):
    """(grad, operand) pairs: shapes (), (1,), empty, odd, 2-d, non-contiguous, a broadcast grad, the operand in
    [low, high) (an output's range for sigmoid/tanh), each keyword set; a row of special operand values."""
    from .unary import _padded_past_gradcheck, _values_tensor

    def samples(device, dtype):
        rng = rng_for(name, dtype.name)
        for kw in kwargs:
            for shape, label in (((), "()"), ((1,), "(1,)"), ((0, 3), "empty"), ((2 ** 6 + 17,), "odd"),
                                 ((3, 5), "2d")):
                yield Sample((make_tensor(shape, dtype, device, rng=rng),
                              make_tensor(shape, dtype, device, low=low, high=high, rng=rng)), kw,
                             name=f"{label}{kw}")
            yield Sample((make_tensor((4, 6), dtype, device, rng=rng, noncontiguous=True),
                          make_tensor((4, 6), dtype, device, low=low, high=high, rng=rng, noncontiguous=True)), kw,
                         name=f"noncontig{kw}")
        yield Sample((make_tensor((5,), dtype, device, rng=rng),
                      make_tensor((3, 5), dtype, device, low=low, high=high, rng=rng)), name="broadcast")
        values = list(specials)
        if dtype is _dt.float64:   # (no finite differences at inf/NaN: padded past what gradcheck takes)
            values = _padded_past_gradcheck(values, low, high)
        yield Sample((_values_tensor([1.0] * len(values), dtype, device), _values_tensor(values, dtype, device)),
                     name="specials")
    return samples


def _bench(flops):
    def make(size, device, dtype):
        return (make_tensor((size,), dtype, device), make_tensor((size,), dtype, device, low=-4, high=4)), {}
    return BenchSpec(sizes=BENCH_SIZES, make=make, bytes=lambda size, dtype: 3 * size * dtype.itemsize,
                     flops=lambda size: flops * size, dtypes=(_dt.float32, _dt.float16))


# ========================================================================================== backward rules
# (of the backward ops themselves: double backward of the activations)

def _ops():
    from . import unary as u
    return u


def _sigmoid_backward_vjp(ctx, gg):
    # f = g y (1 - y): d/dg = y (1 - y), d/dy = g (1 - 2y)
    g, y = ctx.inputs
    needs = ctx.needs_input_grad
    return (sigmoid_backward_op(gg, y) if needs[0] else None,
            gg * g * (1.0 - 2.0 * y) if needs[1] else None)


def _tanh_backward_vjp(ctx, gg):
    # f = g (1 - y^2): d/dg = 1 - y^2, d/dy = -2 g y
    g, y = ctx.inputs
    needs = ctx.needs_input_grad
    return (tanh_backward_op(gg, y) if needs[0] else None,
            gg * g * y * -2.0 if needs[1] else None)


def _silu_backward_vjp(ctx, gg):
    # f = g s (1 + x (1 - s)): d/dx = g s (1 - s) (2 + x (1 - 2 s))
    g, x = ctx.inputs
    needs = ctx.needs_input_grad
    d_x = None
    if needs[1]:
        s = _ops().sigmoid(x)
        d_x = gg * g * (s * (1.0 - s) * (x * (1.0 - 2.0 * s) + 2.0))
    return silu_backward_op(gg, x) if needs[0] else None, d_x


def _elu_backward_vjp(ctx, gg):
    # d/dx: g alpha e^x where x < 0 (or NaN), else 0 (PyTorch's elu_double_backward: 0 at x = 0)
    from .ternary import where
    g, x = ctx.inputs
    alpha = ctx.kwargs.get("alpha", 1.0)
    needs = ctx.needs_input_grad
    d_x = where(x >= 0, 0.0, gg * g * (_ops().exp(x) * alpha)) if needs[1] else None
    return elu_backward_op(gg, x, alpha=alpha) if needs[0] else None, d_x


def _softplus_backward_vjp(ctx, gg):
    # d/dx: g beta s (1 - s), s = sigmoid(beta x), where beta x <= threshold, else 0
    from .ternary import where
    g, x = ctx.inputs
    beta, threshold = ctx.kwargs.get("beta", 1.0), ctx.kwargs.get("threshold", 20.0)
    needs = ctx.needs_input_grad
    d_x = None
    if needs[1]:
        bx = x * beta
        s = _ops().sigmoid(bx)
        d_x = where(bx > threshold, 0.0, gg * g * (s * (1.0 - s) * beta))
    return softplus_backward_op(gg, x, beta=beta, threshold=threshold) if needs[0] else None, d_x


def _leaky_relu_backward_vjp(ctx, gg):
    # piecewise linear in x: d/dx is 0
    from .creation import zeros_like
    g, x = ctx.inputs
    slope = ctx.kwargs.get("negative_slope", 0.01)
    needs = ctx.needs_input_grad
    return (leaky_relu_backward_op(gg, x, negative_slope=slope) if needs[0] else None,
            zeros_like(x) if needs[1] else None)


def _threshold_backward_vjp(ctx, gg):
    # linear in grad with a mask that is piecewise constant in the operand: d/doperand is 0
    from .creation import zeros_like
    g, x = ctx.inputs
    threshold = ctx.kwargs.get("threshold", 0.0)
    needs = ctx.needs_input_grad
    return (threshold_backward_op(gg, x, threshold=threshold) if needs[0] else None,
            zeros_like(x) if needs[1] else None)


# ============================================================================================== declarations

def _declare(name, formula, tl_fn, ref, vjp, samples, flops, params=(), torch_fn=None, torch_grad=True):
    # (torch_grad False: PyTorch's op has no derivative of its own to compare this one's with)
    return pw.declare(name, np_fn=_blocked(formula), tl_fn=tl_fn, kind="float", ref=_quiet(ref), samples=samples,
                      arity=2, family=FAMILY, dtypes=_dt.FLOATS, params=params, vjp=vjp, bench=_bench(flops),
                      extra={"torch": torch_fn, "torch_grad": torch_grad})


sigmoid_backward_op = _declare(
    "sigmoid_backward", _sigmoid_backward_np, _sigmoid_backward_fn, _sigmoid_backward_ref, _sigmoid_backward_vjp,
    _samples_for("sigmoid_backward", 0.0, 1.0, specials=(0.0, 1.0, 0.5, 1e-30)), 3,
    torch_fn=lambda torch, g, y: torch.ops.aten.sigmoid_backward(g, y))
tanh_backward_op = _declare(
    "tanh_backward", _tanh_backward_np, _tanh_backward_fn, _tanh_backward_ref, _tanh_backward_vjp,
    _samples_for("tanh_backward", -1.0, 1.0, specials=(0.0, -0.0, 1.0, -1.0, 1e-30)), 3,
    torch_fn=lambda torch, g, y: torch.ops.aten.tanh_backward(g, y))
silu_backward_op = _declare(
    "silu_backward", _silu_backward_np, _silu_backward_fn, _silu_backward_ref, _silu_backward_vjp,
    _samples_for("silu_backward", -8.0, 8.0), 9,
    torch_fn=lambda torch, g, x: torch.ops.aten.silu_backward(g, x), torch_grad=False)
elu_backward_op = _declare(
    "elu_backward", _elu_backward_np, _elu_backward_fn, _elu_backward_ref, _elu_backward_vjp,
    _samples_for("elu_backward", -4.0, 4.0, ({}, {"alpha": 0.7})), 5, params=(("alpha", 1.0),),
    torch_fn=lambda torch, g, x, alpha=1.0: torch.ops.aten.elu_backward(g, alpha, 1.0, 1.0, False, x))
softplus_backward_op = _declare(
    "softplus_backward", _softplus_backward_np, _softplus_backward_fn, _softplus_backward_ref,
    _softplus_backward_vjp,
    _samples_for("softplus_backward", -25.0, 25.0, ({}, {"beta": 2.0, "threshold": 5.0})), 6,
    params=(("beta", 1.0), ("threshold", 20.0)),
    torch_fn=lambda torch, g, x, beta=1.0, threshold=20.0: torch.ops.aten.softplus_backward(g, x, beta, threshold))
leaky_relu_backward_op = _declare(
    "leaky_relu_backward", _leaky_relu_backward_np, _leaky_relu_backward_fn, _leaky_relu_backward_ref,
    _leaky_relu_backward_vjp,
    _samples_for("leaky_relu_backward", -4.0, 4.0, ({}, {"negative_slope": 0.2}, {"negative_slope": -0.5})), 2,
    params=(("negative_slope", 0.01),),
    torch_fn=lambda torch, g, x, negative_slope=0.01: torch.ops.aten.leaky_relu_backward(g, x, negative_slope,
                                                                                          False))
threshold_backward_op = _declare(
    "threshold_backward", _threshold_backward_np, _threshold_backward_fn, _threshold_backward_ref,
    _threshold_backward_vjp,
    _samples_for("threshold_backward", -4.0, 4.0, ({}, {"threshold": 0.5}, {"threshold": -1.0})), 1,
    params=(("threshold", 0.0),),
    torch_fn=lambda torch, g, x, threshold=0.0: torch.ops.aten.threshold_backward(g, x, threshold))
