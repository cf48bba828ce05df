"""Fused activations a training step profits from: bias + gelu, swiglu.

  bias_gelu(input, bias, approximate='none')  = gelu(input + bias)      (one read of each operand, one write)
  swiglu(gate, up)                            = silu(gate) * up
Each forward is one elementwise Triton kernel over broadcast, strided operands (the shared pointwise kernel with
a fused scalar function); each backward is a registered op of its own (bias_gelu_backward: one kernel giving
grad * gelu'(input + bias), the bias gradient being its sum over the broadcast dims, which the engine does;
swiglu_backward: (grad_gate, grad_up) from one kernel), with its own vjp for double backward.
Half-precision operands are computed in fp32 and rounded once.
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..tensor import Tensor
from . import pointwise as pw
from .registry import BenchSpec, Meta, OpDef, Sample, broadcast_shapes, device_of, register
from ._cpu_parallel import run_row_blocks
from .samples import make_tensor, rng_for
from .erfc import _erfc32_np
from .unary import _erf64, _math_erf, _sigmoid_np, _sigmoid_stable, _silu_np, phi_f32

FAMILY = "nn_fused"

__all__ = ["bias_gelu", "swiglu"]

FLOATS = (_dt.float32, _dt.float64, _dt.float16, _dt.bfloat16)
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_BETA = math.sqrt(2.0 / math.pi)
_KAPPA = 0.044715


# ============================================================================================= Triton functions
# Scalar functions FN(x, y, z, p0, p1) for the shared pointwise kernel (pointwise.pointwise_kernel): it loads the
# broadcast operands, converts them to the compute dtype, applies FN and stores; bytes: reads each operand once,
# writes the output once.

@triton.jit
def _gelu_erf(z):
    return 0.5 * z * (1.0 + tl.erf(z * 0.7071067811865476))


@triton.jit
def _gelu_tanh(z):
    # 0.5 z (1 + tanh(w / 2)) written as z * sigmoid(w), w = 2 sqrt(2/pi) (z + 0.044715 z^3): no cancellation
    w = 1.5957691216057308 * (z + 0.044715 * z * z * z)
    return z * _sigmoid_stable(w)


@triton.jit
def _gelu_erf_grad(z):
    # Phi(z) + z phi(z)
    return 0.5 * (1.0 + tl.erf(z * 0.7071067811865476)) + z * tl.exp(-0.5 * z * z) * 0.3989422804014327


@triton.jit
def _gelu_tanh_grad(z):
    # f = z s(w): f' = s + z s (1 - s) w'
    s = _sigmoid_stable(1.5957691216057308 * (z + 0.044715 * z * z * z))
    dw = 1.5957691216057308 * (1.0 + 3.0 * 0.044715 * z * z)
    return s + z * s * (1.0 - s) * dw


@triton.jit
def _bias_gelu_fn(x, y, z, p0, p1):
    # gelu(x + y) (erf form); x: input, y: bias
    return _gelu_erf(x + y)


@triton.jit
def _bias_gelu_tanh_fn(x, y, z, p0, p1):
    return _gelu_tanh(x + y)


@triton.jit
def _bias_gelu_bwd_fn(x, y, z, p0, p1):
    # x: grad, y: input, z: bias -> grad * gelu'(input + bias)
    return x * _gelu_erf_grad(y + z)


@triton.jit
def _bias_gelu_tanh_bwd_fn(x, y, z, p0, p1):
    return x * _gelu_tanh_grad(y + z)


@triton.jit
def _swiglu_fn(x, y, z, p0, p1):
    # silu(x) * y; x: gate, y: up
    return x * _sigmoid_stable(x) * y


@triton.jit
def _swiglu_bwd_gate_fn(x, y, z, p0, p1):
    # x: grad, y: gate, z: up -> grad * up * silu'(gate), silu' = s (1 + g (1 - s))
    s = _sigmoid_stable(y)
    return x * z * (s * (1.0 + y * (1.0 - s)))


@triton.jit
def _swiglu_bwd_up_fn(x, y, z, p0, p1):
    # grad * silu(gate)
    return x * (y * _sigmoid_stable(y))


@triton.jit
def _swiglu_bwd_kernel(
    g_ptr, x_ptr, u_ptr,        # grad, gate, up (any strides; 0 where broadcast)
    dx_ptr, du_ptr,             # grad_gate, grad_up (contiguous, the broadcast shape)
    n,                          # elements of the broadcast shape
    s1, s2, s3,                 # sizes of collapsed dims 1..3 (dim 0 is implied by n)
    gs0, gs1, gs2, gs3,         # grad strides per collapsed dim
    xs0, xs1, xs2, xs3,         # gate strides
    us0, us1, us2, us3,         # up strides
    COMPUTE: tl.constexpr,      # fp32 (fp16/bf16/fp32) or fp64
    BLOCK: tl.constexpr,
):
    # bytes: reads grad, gate and up once each, writes both gradients once (5 values per element)
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    i3 = offs % s3
    r = offs // s3
    i2 = r % s2
    r = r // s2
    i1 = r % s1
    i0 = r // s1
    g = tl.load(g_ptr + i0 * gs0 + i1 * gs1 + i2 * gs2 + i3 * gs3, mask=mask, other=0).to(COMPUTE)
    x = tl.load(x_ptr + i0 * xs0 + i1 * xs1 + i2 * xs2 + i3 * xs3, mask=mask, other=0).to(COMPUTE)
    u = tl.load(u_ptr + i0 * us0 + i1 * us1 + i2 * us2 + i3 * us3, mask=mask, other=0).to(COMPUTE)
    s = _sigmoid_stable(x)
    dx = g * u * (s * (1.0 + x * (1.0 - s)))
    du = g * (x * s)
    tl.store(dx_ptr + offs, dx.to(dx_ptr.dtype.element_ty), mask=mask)
    tl.store(du_ptr + offs, du.to(du_ptr.dtype.element_ty), mask=mask)


# ================================================================================================ NumPy side

def _compute_np(d: _dt.dtype):
    return np.float64 if d is _dt.float64 else np.float32




def _cdf(z):
    """Phi(z): float32 through unary's tanh form (within about an ulp of erf; it replaced Abramowitz & Stegun
    7.1.26, absolute error 1.5e-7 and slower), float64 through fdlibm's erf."""
    if z.dtype == np.float32:
        return phi_f32(z)
    r = _erf64(z * _SQRT_HALF)
    r += 1
    r *= 0.5
    return r


def _gelu_np(z, approximate):
    if approximate == "tanh":
        w = z * z
        w *= z
        w *= z.dtype.type(_KAPPA)
        w += z
        w *= z.dtype.type(2 * _BETA)
        return z * _sigmoid_np(w)
    r = _cdf(z)
    _accurate_tail(z, r)
    r *= z
    return r


_TAIL = -2.5


def _accurate_tail(z, cdf) -> None:
    """Phi(z) below z = -2.5 from float32's erfc (ops/erfc.py, within a few ulp) instead of 1 + erf, whose
    float32 sum cancels there (1e-3 relative at z = -3.5 with this erf, as with PyTorch's); float64 keeps its
    fdlibm erf, accurate in the tails. Under 1% of normal inputs take this path."""
    if z.dtype != np.float32 or not (z.size and np.fmin.reduce(z, axis=None) < _TAIL):  # (fmin: NaN hides none)
        return
    if z.flags.c_contiguous and cdf.flags.c_contiguous:   # (flat indices: a boolean mask's gather costs 3x)
        z, cdf = z.reshape(-1), cdf.reshape(-1)
        low = np.flatnonzero(z < np.float32(_TAIL))
    else:
        low = z < np.float32(_TAIL)
    cdf[low] = np.float32(0.5) * _erfc32_np(z[low] * np.float32(-_SQRT_HALF))


def _gelu_grad_np(z, approximate):
    if approximate == "tanh":
        w = z * z * z * z.dtype.type(_KAPPA)
        w += z
        w *= z.dtype.type(2 * _BETA)
        s = _sigmoid_np(w)
        dw = (z * z * z.dtype.type(3 * _KAPPA) + 1) * z.dtype.type(2 * _BETA)
        return s + z * s * (1 - s) * dw
    cdf = _cdf(z)
    _accurate_tail(z, cdf)
    return cdf + z * np.exp(z * z * z.dtype.type(-0.5)) * z.dtype.type(_INV_SQRT_2PI)


def _operand(t: Tensor, c):
    return t._data.astype(c, copy=False)


def _finish(r, meta, out):
    if out is not None:
        np.copyto(out, r, casting="unsafe")
        return out
    return r.astype(meta.dtype.np, copy=False)


# ================================================================================================ infer rules

def _check_approximate(approximate):
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")


def _float_infer(name, *tensors) -> Meta:
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument {i} must be Tensor, not {type(t).__name__}")
    dev = device_of(*tensors)
    d = tensors[0].dtype
    for t in tensors[1:]:
        d = _dt.promote_types(d, t.dtype)
    if d not in FLOATS:
        from .registry import _type_name
        raise RuntimeError(f'"{name}" not implemented for \'{_type_name(d)}\'')
    shape = broadcast_shapes(*(tuple(t.shape) for t in tensors))
    return Meta(shape, d, dev)


def _bias_gelu_infer(input, bias, approximate="none"):
    _check_approximate(approximate)
    return _float_infer("bias_gelu", input, bias)


def _bias_gelu_bwd_infer(grad, input, bias, approximate="none"):
    _check_approximate(approximate)
    return _float_infer("bias_gelu_backward", grad, input, bias)


def _swiglu_infer(gate, up):
    return _float_infer("swiglu", gate, up)


def _swiglu_bwd_infer(grad, gate, up):
    m = _float_infer("swiglu_backward", grad, gate, up)
    return Meta((m.shape, m.shape), (m.dtype, m.dtype), m.device)


# ======================================================================================================= impls

def _blockwise(fn, shape, dtypes, c, *tensors):
    """fn(*operand blocks in compute dtype c) -> result block(s), over the broadcast `shape` in row blocks that
    stay in cache (the formulas make ~10 passes: one trip to memory instead of ten), on the cpu thread pool for
    large inputs (NumPy releases the GIL). Elementwise, so the blocking changes no bit of the result. Returns
    one array per entry of `dtypes`, of the broadcast shape."""
    last = shape[-1] if shape else 1
    rows = math.prod(shape[:-1]) if shape else 1
    views = [np.broadcast_to(t._data, shape).reshape(rows, last) for t in tensors]
    outs = [np.empty((rows, last), d) for d in dtypes]

    def block(sl):
        res = fn(*(v[sl].astype(c, copy=False) for v in views))
        for o, r in zip(outs, res if isinstance(res, tuple) else (res,)):
            o[sl] = r

    run_row_blocks(block, rows, last)
    return [o.reshape(shape) for o in outs]


def _bias_gelu_cpu(meta, input, bias, approximate="none", out=None):
    (r,) = _blockwise(lambda x, b: _gelu_np(x + b, approximate), tuple(meta.shape), [meta.dtype.np],
                      _compute_np(meta.dtype), input, bias)
    return _finish(r, meta, out)


def _bias_gelu_cuda(meta, input, bias, approximate="none", out=None):
    fn = _bias_gelu_tanh_fn if approximate == "tanh" else _bias_gelu_fn
    return pw.launch_pointwise(fn, [input, bias], meta.shape, meta.dtype, _compute(meta.dtype), out)


def _bias_gelu_bwd_block(approximate):
    def fn(g, x, b):
        r = _gelu_grad_np(x + b, approximate)
        r *= g
        return r
    return fn


def _bias_gelu_bwd_cpu(meta, grad, input, bias, approximate="none", out=None):
    (r,) = _blockwise(_bias_gelu_bwd_block(approximate), tuple(meta.shape), [meta.dtype.np],
                      _compute_np(meta.dtype), grad, input, bias)
    return _finish(r, meta, out)


def _bias_gelu_bwd_cuda(meta, grad, input, bias, approximate="none", out=None):
    fn = _bias_gelu_tanh_bwd_fn if approximate == "tanh" else _bias_gelu_bwd_fn
    return pw.launch_pointwise(fn, [grad, input, bias], meta.shape, meta.dtype, _compute(meta.dtype), out)


def _swiglu_block(g, u):
    r = _silu_np(g)
    r *= u
    return r


def _swiglu_cpu(meta, gate, up, out=None):
    (r,) = _blockwise(_swiglu_block, tuple(meta.shape), [meta.dtype.np], _compute_np(meta.dtype), gate, up)
    return _finish(r, meta, out)


def _swiglu_cuda(meta, gate, up, out=None):
    return pw.launch_pointwise(_swiglu_fn, [gate, up], meta.shape, meta.dtype, _compute(meta.dtype), out)


def _swiglu_bwd_block(g, x, u):
    s = _sigmoid_np(x)
    d_up = g * x * s
    d_gate = g * u * (s * (1 + x * (1 - s)))
    return d_gate, d_up


def _swiglu_bwd_cpu(meta, grad, gate, up):
    d = meta.dtype[0].np
    d_gate, d_up = _blockwise(_swiglu_bwd_block, tuple(meta.shape[0]), [d, d], _compute_np(meta.dtype[0]),
                              grad, gate, up)
    return d_gate, d_up


def _swiglu_bwd_cuda(meta, grad, gate, up):
    from ..backends.cuda import CudaArray
    from . import launch
    d, c = meta.dtype[0], _compute(meta.dtype[0])
    shape = tuple(meta.shape[0])
    arrs = [pw.kernel_view(t._data) for t in (grad, gate, up)]
    shp, strides = launch.collapse(shape, [launch.broadcast_strides(a, shape) for a in arrs]
                                   + [launch.broadcast_strides(CudaArray.empty(shape, d.np), shape)])
    if len(shp) > 4:  # rare: more than four non-mergeable dims -> one pointwise launch per output
        return (pw.launch_pointwise(_swiglu_bwd_gate_fn, [grad, gate, up], shape, d, c),
                pw.launch_pointwise(_swiglu_bwd_up_fn, [grad, gate, up], shape, d, c))
    dx = CudaArray.empty(shape, d.np)
    du = CudaArray.empty(shape, d.np)
    n = math.prod(shape)
    if n == 0:
        return dx, du
    shp, strides = launch.pad_rank(shp, strides[:3])
    block = launch.ELEMENTWISE_BLOCK
    _swiglu_bwd_kernel[(launch.num_programs(n, block),)](
        *arrs, dx, du, n, shp[1], shp[2], shp[3], *strides[0], *strides[1], *strides[2],
        COMPUTE=pw.TL_DTYPE[c], BLOCK=block)
    return dx, du


def _compute(d: _dt.dtype) -> _dt.dtype:
    return _dt.float64 if d is _dt.float64 else _dt.float32


# ======================================================================================================== refs

def _gelu_ref(z, approximate):
    if approximate == "tanh":
        return 0.5 * z * (1.0 + np.tanh(_BETA * (z + _KAPPA * z ** 3)))
    return 0.5 * z * (1.0 + _math_erf(z / math.sqrt(2)))


def _bias_gelu_ref(input, bias, approximate="none"):
    return _gelu_ref(np.asarray(input, np.float64) + np.asarray(bias, np.float64), approximate)


def _bias_gelu_bwd_ref(grad, input, bias, approximate="none"):
    z = np.asarray(input, np.float64) + np.asarray(bias, np.float64)
    if approximate == "tanh":
        t = np.tanh(_BETA * (z + _KAPPA * z ** 3))
        d = 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * _BETA * (1 + 3 * _KAPPA * z * z)
    else:
        d = 0.5 * (1.0 + _math_erf(z / math.sqrt(2))) + z * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return np.asarray(grad, np.float64) * d


def _swiglu_ref(gate, up):
    g = np.asarray(gate, np.float64)
    return g / (1.0 + np.exp(-g)) * np.asarray(up, np.float64)


def _swiglu_bwd_ref(grad, gate, up):
    g, x, u = (np.asarray(a, np.float64) for a in (grad, gate, up))
    s = 1.0 / (1.0 + np.exp(-x))
    shape = np.broadcast_shapes(g.shape, x.shape, u.shape)
    return np.broadcast_to(g * u * (s + x * s * (1 - s)), shape), np.broadcast_to(g * x * s, shape)


# ======================================================================================================== vjps

def _gelu_second(z, approximate):
    """gelu''(z) in registered ops (differentiable again)."""
    import tritorch as tt
    if approximate == "tanh":
        # f = z s(w), w = 2 beta (z + kappa z^3): f'' = s (1 - s) (2 w' + z ((1 - 2 s) w'^2 + w''))
        z2 = z * z
        s = tt.sigmoid((z + z2 * z * _KAPPA) * (2 * _BETA))
        dw = (z2 * (3 * _KAPPA) + 1.0) * (2 * _BETA)
        ddw = z * (12 * _BETA * _KAPPA)
        return s * (1.0 - s) * (dw * 2.0 + z * ((1.0 - s * 2.0) * dw * dw + ddw))
    # f = z Phi(z): f'' = phi(z) (2 - z^2)
    return tt.exp(z * z * -0.5) * _INV_SQRT_2PI * (2.0 - z * z)


def _bias_gelu_vjp(ctx, grad):
    input, bias = ctx.inputs
    d = bias_gelu_backward_op(grad, input, bias, approximate=ctx.kwargs.get("approximate", "none"))
    return d, d  # the engine sums the bias gradient over its broadcast dims


def _bias_gelu_bwd_vjp(ctx, gg):
    grad, input, bias = ctx.inputs
    approximate = ctx.kwargs.get("approximate", "none")
    d_grad = bias_gelu_backward_op(gg, input, bias, approximate=approximate)
    dz = gg * grad * _gelu_second(input + bias, approximate)
    return d_grad, dz, dz


def _swiglu_vjp(ctx, grad):
    gate, up = ctx.inputs
    return swiglu_backward_op(grad, gate, up)


def _swiglu_bwd_vjp(ctx, g_gate, g_up):
    import tritorch as tt
    grad, gate, up = ctx.inputs
    s = tt.sigmoid(gate)
    silu = gate * s
    d1 = s * (gate * (1.0 - s) + 1.0)                        # silu'
    d2 = s * (1.0 - s) * (gate * (1.0 - s * 2.0) + 2.0)     # silu''
    d_grad = d_gate = d_up = None
    if g_gate is not None:
        d_grad = g_gate * up * d1
        d_gate = g_gate * grad * up * d2
        d_up = g_gate * grad * d1
    if g_up is not None:
        d_grad = _add(d_grad, g_up * silu)
        d_gate = _add(d_gate, g_up * grad * d1)
    return d_grad, d_gate, d_up


def _add(a, b):
    return b if a is None else a + b


# ===================================================================================================== samples

_PAIRS = [((), ()), ((1,), (1,)), ((0, 3), (3,)), ((5,), ()), ((2 ** 6 + 17,), (2 ** 6 + 17,)), ((4, 7), (7,)),
          ((3, 1, 5), (4, 1)), ((2, 3), (2, 3))]


# the backward ops run fewer shapes (their cuda double backward is composed of many interpreted launches)
_BWD_PAIRS = [((), ()), ((0, 3), (3,)), ((4, 7), (7,)), ((3, 1, 5), (4, 1))]


def _pair_samples(kwargs_list=({},), low=-3, high=3, pairs=_PAIRS):
    def samples(device, dtype):
        rng = rng_for("nn_fused", dtype.name)
        for sa, sb in pairs:
            for kw in kwargs_list:
                a = make_tensor(sa, dtype, device, low=low, high=high, rng=rng)
                b = make_tensor(sb, dtype, device, low=low, high=high, rng=rng)
                yield Sample((a, b), dict(kw), name=f"{sa}x{sb}{kw}")
        a = make_tensor((3, 8), dtype, device, low=low, high=high, rng=rng, noncontiguous=True)
        b = make_tensor((8, 3), dtype, device, low=low, high=high, rng=rng).t()
        for kw in kwargs_list:
            yield Sample((a, b), dict(kw), name=f"noncontig{kw}")
    return samples


def _triple_samples(kwargs_list=({},)):
    pairs = _pair_samples(kwargs_list, pairs=_BWD_PAIRS)

    def samples(device, dtype):
        rng = rng_for("nn_fused_bwd", dtype.name)
        for s in pairs(device, dtype):
            a, b = s.args
            shape = broadcast_shapes(tuple(a.shape), tuple(b.shape))
            g = make_tensor(shape, dtype, device, low=-2, high=2, rng=rng)
            yield Sample((g, a, b), s.kwargs, name=s.name)
    return samples


def _bench(arity):
    def make(size, device, dtype):
        n, c = size
        rng = rng_for("nn_fused_bench", size)
        x = make_tensor((n, c), dtype, device, rng=rng)
        y = make_tensor((c,) if arity == "bias" else (n, c), dtype, device, rng=rng)
        return (x, y), {}
    return make


_SIZES = ((4096, 1024), (8192, 4096))

bias_gelu_op = register(OpDef(
    name="bias_gelu", family=FAMILY, infer=_bias_gelu_infer, impl={"cpu": _bias_gelu_cpu, "cuda": _bias_gelu_cuda},
    ref=_bias_gelu_ref, samples=_pair_samples(({}, {"approximate": "tanh"})), dtypes=FLOATS, supports_out=True,
    bench=BenchSpec(sizes=_SIZES, make=_bench("bias"), bytes=lambda s, d: 2 * s[0] * s[1] * d.itemsize,
                    flops=lambda s: 20 * s[0] * s[1]),
    vjp=_bias_gelu_vjp, doc="gelu(input + bias) in one elementwise kernel",
    extra={"torch": lambda torch, x, b, approximate="none": torch.nn.functional.gelu(x + b, approximate=approximate)}))

bias_gelu_backward_op = register(OpDef(
    name="bias_gelu_backward", family=FAMILY, infer=_bias_gelu_bwd_infer,
    impl={"cpu": _bias_gelu_bwd_cpu, "cuda": _bias_gelu_bwd_cuda}, ref=_bias_gelu_bwd_ref,
    samples=_triple_samples(({}, {"approximate": "tanh"})), dtypes=FLOATS, supports_out=True,
    bench=BenchSpec(sizes=_SIZES, make=lambda s, dev, d: ((make_tensor(s, d, dev),) + _bench("bias")(s, dev, d)[0],
                                                           {}),
                    bytes=lambda s, d: 3 * s[0] * s[1] * d.itemsize, flops=lambda s: 30 * s[0] * s[1]),
    vjp=_bias_gelu_bwd_vjp, doc="grad * gelu'(input + bias) in one elementwise kernel"))

swiglu_op = register(OpDef(
    name="swiglu", family=FAMILY, infer=_swiglu_infer, impl={"cpu": _swiglu_cpu, "cuda": _swiglu_cuda},
    ref=_swiglu_ref, samples=_pair_samples(), dtypes=FLOATS, supports_out=True,
    bench=BenchSpec(sizes=_SIZES, make=_bench("pair"), bytes=lambda s, d: 3 * s[0] * s[1] * d.itemsize,
                    flops=lambda s: 6 * s[0] * s[1]),
    vjp=_swiglu_vjp, doc="silu(gate) * up in one elementwise kernel",
    extra={"torch": lambda torch, g, u: torch.nn.functional.silu(g) * u}))

swiglu_backward_op = register(OpDef(
    name="swiglu_backward", family=FAMILY, infer=_swiglu_bwd_infer,
    impl={"cpu": _swiglu_bwd_cpu, "cuda": _swiglu_bwd_cuda}, ref=_swiglu_bwd_ref, samples=_triple_samples(),
    dtypes=FLOATS, n_outputs=2,
    bench=BenchSpec(sizes=_SIZES, make=lambda s, dev, d: ((make_tensor(s, d, dev),) + _bench("pair")(s, dev, d)[0],
                                                           {}),
                    bytes=lambda s, d: 8 * s[0] * s[1] * d.itemsize, flops=lambda s: 14 * s[0] * s[1]),
    vjp=_swiglu_bwd_vjp, doc="(grad * up * silu'(gate), grad * silu(gate)) in one elementwise kernel"))


# ============================================================================================ public functions

def bias_gelu(input, bias, approximate="none") -> Tensor:
    """gelu(input + bias) fused (one pass); bias broadcasts against input (typically its last dim)."""
    return bias_gelu_op(input, bias, approximate=approximate)


def swiglu(gate, up) -> Tensor:
    """silu(gate) * up fused (one pass)."""
    return swiglu_op(gate, up)
