"""Ops on the binary layout of floats: nextafter, frexp and ldexp (torch.nextafter, torch.frexp, torch.ldexp).

nextafter(x, y)   the next representable value after x towards y, by a step of one on x's bits read as an integer
                  (bits + 1 moves away from zero for either sign): float16 in its own 16 bits, bfloat16 as float32
                  bits in steps of 2^16 (its values are float32 values with 16 zero low bits), float32/64 as they are.
                  x == 0 gives the smallest subnormal with y's sign, x == y gives y (so +0 towards -0 is -0), NaN in
                  either gives NaN. Differentiable as PyTorch's: the gradient passes to x, none (zeros) to y.
frexp(x)          (mantissa, exponent): x = mantissa * 2^exponent with |mantissa| in [0.5, 1), from the exponent
                  field; subnormals are scaled into the normal range first (2^25 for float32, 2^54 for float64);
                  0, inf and NaN give (x, 0). float16/bfloat16 go through float32 (exact). Exponent is int32.
ldexp(x, n)       PyTorch's two paths: an integral n is C's ldexp(x, int32(n)) (int64 exponents wrap to int32, as
                  PyTorch's do), exact and correctly rounded (float16/bfloat16 through a float32 result, as
                  PyTorch's CPU kernel); a floating n is the composite x * pow(2.0, n), which is what PyTorch
                  computes there (its ldexp(1e30, -200.0) underflows to 0 in float32). The integral path is the
                  registered op `ldexp` (gradient ldexp(grad, n): exact, and linear so every order works).
Bytes per launch: nextafter and ldexp read each operand once per output element and write the output once; frexp
reads n elements and writes n mantissas plus n int32 exponents.
"""
from __future__ import annotations

import collections

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray
from ..tensor import Tensor
from . import _bind, launch
from . import pointwise as pw
from .binary import _bench, _inplace, _np_binary, _special_pair, binary_infer, pair_samples
from .binary import launch as _launch  # launch_pointwise, quiet about NumPy warnings in the interpreter
from .registry import _TYPE_NAMES, BenchSpec, Meta, OpDef, Sample, register
from .samples import make_tensor, rng_for, unary_samples

FAMILY = "float_bits"

__all__ = ["nextafter", "frexp", "ldexp"]

FLOATS = _dt.FLOATS
frexp_result = collections.namedtuple("frexp", ["mantissa", "exponent"])


# ================================================================================================ nextafter

@triton.jit
def _step(x, y, UNIT: tl.constexpr):
    # one step of UNIT on x's bits towards y (x, y of one float dtype; the integer type of the same width)
    x, y = tl.broadcast(x, y)  # a scalar operand is broadcast to the block first (see binary._BROADCAST_NOTE)
    away = (x < y) == (x > 0)
    if x.dtype.primitive_bitwidth == 64:
        bits = x.to(tl.int64, bitcast=True)
        tiny = tl.full(x.shape, UNIT, tl.int64).to(x.dtype, bitcast=True)
    elif x.dtype.primitive_bitwidth == 32:
        bits = x.to(tl.int32, bitcast=True)
        tiny = tl.full(x.shape, UNIT, tl.int32).to(x.dtype, bitcast=True)
    else:
        bits = x.to(tl.int16, bitcast=True)
        tiny = tl.full(x.shape, UNIT, tl.int16).to(x.dtype, bitcast=True)
    r = tl.where(away, bits + UNIT, bits - UNIT).to(x.dtype, bitcast=True)
    r = tl.where(x == 0, tl.where(y < 0, 0 - tiny, tiny), r)
    r = tl.where(x == y, y, r)
    return tl.where((x != x) | (y != y), x + y, r)


@triton.jit
def _nextafter_fn(x, y, z, p0, p1):
    # float32 and float64, in their own bits
    return _step(x, y, 1)


@triton.jit
def _nextafter_bf16_fn(x, y, z, p0, p1):
    # bfloat16 values arrive as float32: its bits are the float32 bits' top half
    return _step(x, y, 65536)


@triton.jit
def _nextafter_f16_fn(x, y, z, p0, p1):
    # float16 values arrive as float32 (exactly): step in float16's own bits, hand back float32
    return _step(x.to(tl.float16), y.to(tl.float16), 1).to(tl.float32)


def _np_step(x, y, unit: int):
    """_step on float32 arrays (bfloat16 widened) in NumPy."""
    x, y = np.broadcast_arrays(np.asarray(x, np.float32), np.asarray(y, np.float32))
    bits = x.view(np.int32)
    away = (x < y) == (x > 0)
    r = np.where(away, bits + unit, bits - unit).astype(np.int32).view(np.float32)
    tiny = np.array(unit, np.int32).view(np.float32)
    r = np.where(x == 0, np.where(y < 0, -tiny, tiny), r)
    r = np.where(x == y, y, r)
    return np.where(np.isnan(x) | np.isnan(y), x + y, r)


def _np_nextafter(x, y):
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype == _dt.bfloat16.np:
        return _np_step(x, y, 1 << 16).astype(x.dtype)
    return np.nextafter(x, y)


_NEXTAFTER_FNS = {_dt.float16: _nextafter_f16_fn, _dt.bfloat16: _nextafter_bf16_fn}


def _nextafter_cuda(meta, a, b, out=None):
    fn = _NEXTAFTER_FNS.get(meta.dtype, _nextafter_fn)
    return _launch(fn, [a, b], meta.shape, meta.dtype, meta.dtype, out)


def _nextafter_ref(x, y):
    # float64 values of float inputs: the next float64 is within every dtype's tolerance of the next value of
    # the dtype itself (tests/ops/test_float_bits.py compares every dtype bit for bit with PyTorch)
    return np.nextafter(np.asarray(x, np.float64), np.asarray(y, np.float64))


def _nextafter_samples():
    base = pair_samples(scalars=(), mixed=False)

    def samples(device, dtype):
        yield from base(device, dtype)
        # (inf towards a finite value gives the dtype's max, which the float64 reference cannot know: that case
        # is in tests/ops/test_float_bits.py, against PyTorch)
        xs = [0.0, 0.0, -0.0, 1.0, 1.0, np.nan, 1.0, np.inf, -np.inf, 0.0, -2.5, -2.5, 3.0]
        ys = [-0.0, 1.0, 0.0, 2.0, 0.0, 1.0, np.nan, np.inf, -np.inf, -1.0, -3.0, 7.0, 3.0]
        keep = None if dtype is not _dt.float64 else [3, 4, 10, 11]  # gradcheck: finite steps, off x == y
        a, b = _special_pair(xs, ys, dtype, device, keep)
        yield Sample((a, b), name="special")

    return samples


def _nextafter_vjp(ctx, grad):
    # PyTorch's rule: the gradient passes to input except where input == other (the result is other there),
    # other gets zeros
    from .creation import zeros_like
    a, b = ctx.inputs
    return grad.masked_fill(a == b, 0.0), zeros_like(b)


nextafter_op = register(OpDef(
    name="nextafter", family=FAMILY,
    infer=binary_infer("nextafter", "same", opmath=False, allowed=FLOATS, tensors_only=True),
    impl={"cpu": _np_binary(_np_nextafter), "cuda": _nextafter_cuda}, ref=_nextafter_ref,
    samples=_nextafter_samples(), dtypes=FLOATS, supports_out=True, vjp=_nextafter_vjp, bench=_bench(flops_per=8)))
nextafter_op.extra.update(arity=2, params=(), tl_fn=_nextafter_fn,
                          torch=lambda torch, a, b: torch.nextafter(a, b))


def nextafter(input, other, *, out=None):
    """The next floating-point value after input towards other, elementwise (torch.nextafter)."""
    return nextafter_op(input, other, out=out)


# ==================================================================================================== frexp

@triton.jit
def _frexp_kernel(
    x_ptr,          # input (contiguous), any float dtype
    m_ptr,          # mantissa output (contiguous), the input's dtype
    e_ptr,          # exponent output (contiguous), int32
    n,              # number of elements
    BLOCK: tl.constexpr,  # elements per program
):
    # bytes: reads n elements, writes n mantissas and n int32 exponents
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask, other=1.0)
    if x.dtype == tl.float64:
        bits = x.to(tl.int64, bitcast=True)
        sub = ((bits >> 52) & 0x7FF) == 0
        xs = tl.where(sub, x * 18014398509481984.0, x)  # 2^54: subnormals into the normal range
        bits = xs.to(tl.int64, bitcast=True)
        field = ((bits >> 52) & 0x7FF).to(tl.int32)
        e = field - 1022 - tl.where(sub, 54, 0)
        m = ((bits & ~(0x7FF << 52)) | (1022 << 52)).to(tl.float64, bitcast=True)
        xf = x
    else:
        xf = x.to(tl.float32)
        bits = xf.to(tl.int32, bitcast=True)
        sub = ((bits >> 23) & 0xFF) == 0
        xs = tl.where(sub, xf * 33554432.0, xf)  # 2^25
        bits = xs.to(tl.int32, bitcast=True)
        field = (bits >> 23) & 0xFF
        e = field - 126 - tl.where(sub, 25, 0)
        m = ((bits & ~(0xFF << 23)) | (126 << 23)).to(tl.float32, bitcast=True)
    special = (xf == 0) | (xf != xf) | (tl.abs(xf) == float("inf"))
    m = tl.where(special, xf, m)
    e = tl.where(special, 0, e)
    tl.store(m_ptr + offs, m.to(m_ptr.dtype.element_ty), mask=mask)
    tl.store(e_ptr + offs, e.to(tl.int32), mask=mask)


def _frexp_infer(input):
    if not isinstance(input, Tensor):
        raise TypeError(f"frexp(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if input.dtype.kind != _dt.FLOAT:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    shape = tuple(input._data.shape)
    return Meta((shape, shape), (input.dtype, _dt.int32), input.device)


def _frexp_cpu(meta, x):
    a = x._data
    m, e = np.frexp(a.astype(np.float32) if a.dtype == _dt.bfloat16.np else a)
    return np.asarray(m).astype(meta.dtype[0].np, copy=False), np.asarray(e).astype(np.int32, copy=False)


def _frexp_cuda(meta, x):
    from .copy import contiguous
    shape = meta.shape[0]
    src = contiguous(x)._data
    m = CudaArray.empty(shape, meta.dtype[0].np)
    e = CudaArray.empty(shape, np.dtype(np.int32))
    n = int(np.prod(shape, dtype=np.int64))
    if n:
        block = launch.ELEMENTWISE_BLOCK
        _frexp_kernel[(launch.num_programs(n, block),)](pw.kernel_view(src), m, e, n, BLOCK=block)
    return m, e


def _frexp_ref(x):
    return np.frexp(np.asarray(x, np.float64))


def _frexp_vjp(ctx, grad_mantissa, grad_exponent=None):
    # mantissa = x * 2^-exponent with the exponent piecewise constant: d/dx = 2^-exponent, exactly by ldexp
    if grad_mantissa is None:
        return (None,)
    exponent = ctx.saved_output(1)
    return (ldexp_op(grad_mantissa, -exponent),)


def _frexp_samples():
    base = unary_samples(-40, 40)
    specials = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -0.75, 1e-40, -3e-42, 5e-310, 65504.0, 1e-7, 3e38]
    # Triton's interpreter flushes bfloat16 subnormals to 0 when it widens them (a GPU does not)
    interpretable = [v for v in specials if not 0 < abs(v) < 1.2e-38]

    def samples(device, dtype):
        yield from base(device, dtype)
        if dtype is not _dt.float64:  # (gradcheck would step across the exponent's jumps at these values)
            from .unary import _values_tensor
            values = interpretable if dtype is _dt.bfloat16 and str(device) != "cpu" and _cuda.INTERPRET else specials
            yield Sample((_values_tensor(values, dtype, device),), name="specials")

    return samples


def _frexp_bench():
    def make(size, device, dtype):
        return (make_tensor((size,), dtype, device, low=-1e3, high=1e3),), {}

    return BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24), make=make, bytes=lambda size, dt: size * (2 * dt.itemsize + 4),
                     flops=lambda size: 0, dtypes=(_dt.float32, _dt.float16))


frexp_op = register(OpDef(
    name="frexp", family=FAMILY, infer=_frexp_infer, impl={"cpu": _frexp_cpu, "cuda": _frexp_cuda},
    ref=_frexp_ref, samples=_frexp_samples(), bench=_frexp_bench(), dtypes=FLOATS, n_outputs=2,
    vjp=_frexp_vjp, save="output"))
frexp_op.extra["torch"] = lambda torch, x: tuple(torch.frexp(x))

# C++'s names of the types in PyTorch's frexp out= errors
_C_NAMES = {_dt.float16: "c10::Half", _dt.bfloat16: "c10::BFloat16", _dt.float32: "float", _dt.float64: "double",
            _dt.int64: "long int", _dt.int16: "short int", _dt.int8: "signed char", _dt.uint8: "unsigned char",
            _dt.bool_: "bool", _dt.int32: "int"}


def frexp(input, *, out=None):
    """Decompose input into mantissa and exponent, input = mantissa * 2**exponent with |mantissa| in [0.5, 1)
    (torch.frexp): returns (mantissa, exponent), exponent int32."""
    if out is None:
        return frexp_result(*frexp_op(input))
    m_out, e_out = out
    meta = _frexp_infer(input)
    if m_out.dtype is not meta.dtype[0]:
        raise RuntimeError(f"torch.frexp() expects mantissa to have dtype {_C_NAMES[meta.dtype[0]]} but got "
                           f"{_C_NAMES[m_out.dtype]}")
    if e_out.dtype is not _dt.int32:
        raise RuntimeError(f"torch.frexp() expects exponent to have int dtype but got {_C_NAMES[e_out.dtype]}")
    from .copy import copy_
    m, e = frexp_op(input)
    copy_(m_out, m)
    copy_(e_out, e)
    return frexp_result(m_out, e_out)


# ==================================================================================================== ldexp

@triton.jit
def _pow2(k):
    # 2^k for int64 k in [-1022, 1023], built from its exponent field
    return ((k + 1023) << 52).to(tl.float64, bitcast=True)


@triton.jit
def _scalbn(x, n):
    # x * 2^n for float64 x and int32 n, correctly rounded (musl's scalbn): large |n| in exact steps, the
    # last step kept below -53 when the result is subnormal so that only the final multiply rounds
    k = tl.minimum(tl.maximum(n.to(tl.int64), -2200), 2200)
    for _ in tl.static_range(2):
        up = k > 1023
        x = tl.where(up, x * _pow2(tl.full(k.shape, 1023, tl.int64)), x)
        k = tl.where(up, k - 1023, k)
        down = k < -1022
        x = tl.where(down, x * _pow2(tl.full(k.shape, -969, tl.int64)), x)  # 2^-1022 * 2^53
        k = tl.where(down, k + 969, k)
    k = tl.minimum(tl.maximum(k, -1022), 1023)
    return x * _pow2(k)


@triton.jit
def _ldexp_fn(x, y, z, p0, p1):
    # float64 output: x and the exponent arrive as float64 (the exponent is an int32 value, exact)
    x, y = tl.broadcast(x, y)
    return _scalbn(x, y.to(tl.int32))


@triton.jit
def _ldexp_narrow_fn(x, y, z, p0, p1):
    # float32/16/bf16 output: the exact float64 result rounded once to float32 (then to the half type by the
    # store, as PyTorch's CPU kernel rounds its float32 result)
    x, y = tl.broadcast(x, y)
    return _scalbn(x, y.to(tl.int32)).to(tl.float32)


def _ldexp_infer(input, other):
    if not isinstance(input, Tensor) or input.dtype.kind != _dt.FLOAT:
        raise TypeError("ldexp: the registered op takes a float input (torch.ldexp casts integer inputs first)")
    if not isinstance(other, Tensor) or other.dtype.kind != _dt.INT:
        raise TypeError("ldexp: the registered op takes an integer exponent tensor (others multiply by pow)")
    meta = _LDEXP_PLAN(input, other)
    return Meta(meta.shape, meta.dtype, meta.device, _dt.float64)


_LDEXP_PLAN = pw.pointwise_infer("float", name="ldexp")


def _exponents32(other: Tensor):
    """The exponent as int32 values: PyTorch converts an integral exponent to int, wrapping int64."""
    return other.to(_dt.int32) if other.dtype is _dt.int64 else other


def _ldexp_cpu(meta, x, other, out=None):
    a = x._data
    work = np.float64 if a.dtype == np.float64 else np.float32
    n = other._data.astype(np.int32)
    with np.errstate(over="ignore"):   # overflow to inf is the result, as in PyTorch (no warning there)
        r = np.ldexp(a.astype(work, copy=False), n)
        return pw.np_result(r, meta, out)


def _ldexp_cuda(meta, x, other, out=None):
    fn = _ldexp_fn if meta.dtype is _dt.float64 else _ldexp_narrow_fn
    return _launch(fn, [x, _exponents32(other)], meta.shape, meta.dtype, _dt.float64, out)


def _ldexp_ref(x, n):
    n = np.asarray(n).astype(np.int32).astype(np.float64)
    with np.errstate(over="ignore"):
        return np.asarray(x, np.float64) * np.exp2(n)


def _ldexp_samples():
    """Float mantissas in [-3, 3) and int32/int64 exponents in [-30, 12] (every result fits float16's range, so
    the float64 reference is each dtype's result within tolerance), broadcast; wrapping int64 exponents."""

    def samples(device, dtype):
        rng = rng_for("ldexp", dtype.name)
        for sa, sb in [((), ()), ((5,), ()), ((0, 3), (1, 3)), ((4, 1), (1, 5)), ((2, 3, 4), (3, 1)),
                            ((2 ** 6 + 17,), (2 ** 6 + 17,))]:
            x = make_tensor(sa, dtype, device, rng=rng)
            n = make_tensor(sb, _dt.int32 if len(sa) % 2 else _dt.int64, device, low=-30, high=13, rng=rng)
            yield Sample((x, n), name=f"{sa}x{sb}")
        x = make_tensor((3, 8), dtype, device, rng=rng, noncontiguous=True)
        n = make_tensor((8, 3), _dt.int16, device, low=-10, high=10, rng=rng).t()
        yield Sample((x, n), name="noncontig")
        wrap = make_tensor((4,), _dt.int64, device, low=-5, high=5, rng=rng) + (1 << 32)  # wraps to -5..4
        yield Sample((make_tensor((4,), dtype, device, rng=rng), wrap), name="int64-wrap")

    return samples


def _ldexp_bench():
    def make(size, device, dtype):
        return (make_tensor((size,), dtype, device), make_tensor((size,), _dt.int32, device, low=-20, high=20)), {}

    return BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24), make=make, bytes=lambda size, dt: size * (2 * dt.itemsize + 4),
                     flops=lambda size: 0, dtypes=(_dt.float32, _dt.float16))


def _ldexp_vjp(ctx, grad):
    x, n = ctx.inputs
    return ldexp_op(grad, n), None


ldexp_op = register(OpDef(
    name="ldexp", family=FAMILY, infer=_ldexp_infer, impl={"cpu": _ldexp_cpu, "cuda": _ldexp_cuda},
    ref=_ldexp_ref, samples=_ldexp_samples(), bench=_ldexp_bench(), dtypes=FLOATS, supports_out=True,
    vjp=_ldexp_vjp))
# The oracle is PyTorch's formula with a float power of two: PyTorch's own ldexp backward raises 2 to the integer
# exponent in integer arithmetic, so its gradient is 0 wherever the exponent is negative (tests/ops/
# test_float_bits.py shows that difference); forward values are compared with torch.ldexp there.
ldexp_op.extra.update(torch=lambda torch, x, n: x * torch.pow(2.0, n).to(x.dtype), grad_inputs=(0,))


def ldexp(input, other, *, out=None):
    """input * 2**other (torch.ldexp). As PyTorch: a floating input with an integral exponent tensor is exact
    (int64 exponents wrap to int32); any other pair is the product with pow(2.0, other) (so an integer input
    times 2**200 is inf, and 0 times it NaN, as PyTorch's)."""
    for pos, (name, t) in enumerate((("input", input), ("other", other)), 1):
        if not isinstance(t, Tensor):
            raise TypeError(f"ldexp(): argument '{name}' (position {pos}) must be Tensor, not {type(t).__name__}")
    if input.dtype.kind == _dt.FLOAT and other.dtype.kind == _dt.INT:
        return ldexp_op(input, other, out=out)
    if input.dtype.kind == _dt.FLOAT and other.dtype is _dt.bool_:
        raise NotImplementedError(f'"ldexp_{input.device.type}_exp" not implemented for \'Bool\'')
    from .binary import mul, pow
    if input.dtype.kind == _dt.COMPLEX and other.dtype.kind == _dt.INT:   # 2**other in the input's precision
        other = other.to(input.dtype.to_real())
    return mul(input, pow(2.0, other), out=out)


def _ldexp_inplace(self, other):
    if self.dtype.kind != _dt.FLOAT:
        raise RuntimeError(f"ldexp can't be cast to the desired output type {_TYPE_NAMES[self.dtype]}")
    return ldexp(self, other, out=self)


_bind.methods(nextafter=nextafter, nextafter_=_inplace(nextafter), frexp=frexp, ldexp=ldexp, ldexp_=_ldexp_inplace)
