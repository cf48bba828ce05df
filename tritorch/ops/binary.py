"""Binary pointwise ops with broadcasting on strided operands: arithmetic, comparisons, logical and bitwise.

Every op is one instantiation of `pointwise.pointwise_kernel` with its own @triton.jit scalar function `FN(x, y, z,
p0, p1)` (x, y: the operands, z unused, p0: alpha where there is one); broadcast and non-contiguous operands are read
through their strides (stride 0 for a broadcast dim), never materialised. Bytes per launch: each tensor operand's
elements read once per output element (broadcast re-reads hit cache) and the output written once. The NumPy fallback
computes the same thing with ufuncs.

Dispatch cost matters here (`a + b` on small cpu tensors), so the infer rules cache their whole `Meta` per operand
signature (dtypes, shapes, devices, scalar types, default dtype) and precompute what the NumPy path needs in
`Meta.aux` = (compute dtype, cpu compute dtype, cast x?, cast y?, result NumPy dtype):
  compute      the promoted dtype the op works in (PyTorch's "common dtype")
  cpu compute  the dtype the NumPy fallback works in: fp16/bf16 arithmetic runs in fp32 as PyTorch's CPU kernels do
               (and as the Triton kernels do), then rounds once to the result dtype
Metas are shared between calls, so nothing may mutate one.

Float ops whose exact result needs more than fp32 arithmetic (fmod/remainder/floor division, pow, atan2, hypot)
compute in fp64 inside the Triton kernel for every float dtype: they are elementwise and memory-bound, so the fp64
math is close to free on a datacenter GPU, and fp64 makes the fp32 result correctly rounded or within an ulp.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import triton
import triton.language as tl

from .. import _state
from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..device import CPU
from ..tensor import Tensor, _make, from_array
from . import _bind
from ._float_modulo import float_modulo
from . import pointwise as pw
from .registry import (_GRAD, _TYPE_NAMES, BenchSpec, Meta, OpDef, Sample, broadcast_pair, broadcast_shapes, device_of,
                       register)
from .samples import make_array, make_tensor, rng_for

FAMILY = "binary"

_FLAGS = _state.FLAGS

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "remainder",
           "fmod", "pow", "maximum", "minimum", "fmax", "fmin", "atan2", "arctan2", "hypot", "copysign",
           "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal",
           "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
           "bitwise_left_shift", "bitwise_right_shift"]

ALL = _dt.ALL
NUMERIC = tuple(d for d in ALL if d is not _dt.bool_)
INTEGRAL = (_dt.bool_,) + _dt.INTS
FLOATS = _dt.FLOATS

# NumPy fallbacks of fp16/bf16 arithmetic run in fp32 (PyTorch's "opmath" type), rounding once at the end.
_OPMATH = {_dt.float16: _dt.float32, _dt.bfloat16: _dt.float32}

_SCALAR_CLASSES = (bool, int, float)
# Classes a binary operator takes as they are; anything else goes through _coerce (or gets NotImplemented).
_OPERAND_CLASSES = frozenset((Tensor, bool, int, float))

_INT64_MIN, _UINT64_END = -(1 << 63), 1 << 64

# PyTorch's C type names, for "value cannot be converted to type int8_t without overflow".
_C_TYPE = {_dt.uint8: "uint8_t", _dt.int8: "int8_t", _dt.int16: "int16_t", _dt.int32: "int", _dt.int64: "int64_t",
           _dt.bool_: "bool", _dt.float16: "c10::Half", _dt.bfloat16: "c10::BFloat16", _dt.float32: "float",
           _dt.float64: "double"}


# ================================================================================================ infer rules

def _type_name(d: _dt.dtype) -> str:
    return _TYPE_NAMES[d]


def _not_implemented(err: str, dev, d: _dt.dtype):
    """PyTorch's error for a dtype an op's kernel lacks (NotImplementedError, a RuntimeError subclass, as in
    PyTorch). `err` is the kernel's name, with {dev} for the device type ("bitwise_and_{dev}")."""
    return NotImplementedError(f'"{err.format(dev=dev.type)}" not implemented for \'{_type_name(d)}\'')


def _must_be_tensor(name: str, x, position: int):
    arg = "input" if position == 1 else ("other" if position == 2 else f"arg{position}")
    return TypeError(f"{name}(): argument '{arg}' (position {position}) must be Tensor, not {type(x).__name__}")


def _check_operand(name: str, x, position: int) -> None:
    if isinstance(x, complex) and not _FLAGS.complex:
        _dt._complex_in_use()
        raise _dt.ComplexOperand(name)
    if not isinstance(x, (Tensor,) + _SCALAR_CLASSES):
        raise TypeError(f"{name}(): argument '{'input' if position == 1 else 'other'}' (position {position}) must be "
                        f"Tensor or Number, not {type(x).__name__}")


def check_int_scalar(v) -> None:
    """PyTorch converts Python ints through int64 (uint64 for the top half): anything wider overflows."""
    if v.__class__ is int and not _INT64_MIN <= v < _UINT64_END:
        raise OverflowError("int too big to convert")


def check_scalar_fits(v, d: _dt.dtype) -> None:
    """PyTorch's checked conversion of a Scalar argument (clamp bounds, addcmul's value, an integer pow exponent)
    to the op's dtype: finite values must be in range; unsigned types also take negatives down to -max (they
    wrap, so uint8 - 1 can be written as + 255)."""
    kind = d.kind
    if kind == _dt.INT:
        lo, hi = _scalar_range(d)
        bad = not lo <= v <= hi
    elif kind == _dt.FLOAT:
        big = _scalar_range(d)[1]
        bad = (v > big or v < -big) and v not in (float("inf"), float("-inf"))
    else:
        bad = False
    if bad:
        raise RuntimeError(f"value cannot be converted to type {_C_TYPE[d]} without overflow")


@functools.lru_cache(maxsize=None)
def _scalar_range(d: _dt.dtype) -> tuple:
    """(lowest, highest) Scalar check_scalar_fits lets through for d (made once: a finfo costs ~2 us)."""
    if d.kind == _dt.INT:
        return (-_dt.iinfo(d).max, _dt.iinfo(d).max) if not d.is_signed else (_dt.iinfo(d).min, _dt.iinfo(d).max)
    big = _dt.finfo(d).max
    return (-big, big)


def _operand_key(x):
    if isinstance(x, Tensor):
        return (x.dtype, x._data.shape, id(x.device))
    return x.__class__


def plan(name: str, operands: tuple, kind: str, err: str, allowed, opmath: bool) -> Meta:
    """The uncached infer of a pointwise op: device, result dtype and shape, compute dtypes.

    kind: "same"    result and compute in the promoted dtype (add, mul, maximum, bitwise ops)
          "float"   promoted dtype, integers and bool -> the default float dtype (true division, atan2)
          "bool"    compute in the promoted dtype, bool result (comparisons)
          "logical" bool result; computes in promote_types of the tensors, ignoring the 0-dim priority rule, so
                    that no non-zero value becomes zero on the way (logical_and of a tiny fp64 0-dim tensor)
    allowed: the promoted dtypes the op's kernel has (None: all); err names the kernel in the error otherwise.
    """
    tensors = [x for x in operands if isinstance(x, Tensor)]
    if not tensors:
        raise _must_be_tensor(name, operands[0], 1)
    dev = tensors[0].device
    for t in tensors[1:]:
        if t.device is not dev:
            dev = device_of(*tensors)
            break
    dt = pw.result_dtype(*operands)
    if allowed is not None and dt not in allowed:
        raise _not_implemented(err, dev, dt)
    if len(tensors) == 2:
        shape = broadcast_pair(tensors[0]._data.shape, tensors[1]._data.shape)
    else:
        shape = broadcast_shapes(*[t._data.shape for t in tensors])
    if kind == "same":
        out, compute = dt, dt
    elif kind == "float":
        out = compute = pw.to_float(dt)
    elif kind == "bool":
        out, compute = _dt.bool_, dt
    elif kind == "logical":
        compute = tensors[0].dtype
        for t in tensors[1:]:
            compute = _dt.promote_types(compute, t.dtype)
        out = _dt.bool_
    else:
        raise ValueError(kind)
    cpu = _OPMATH.get(compute, compute) if opmath else compute
    casts = tuple(not (isinstance(x, Tensor) and x.dtype is cpu) for x in operands)
    return Meta(shape, out, dev, (compute, cpu) + casts + (out.np,))


def binary_infer(name: str, kind: str, *, err: str | None = None, allowed=None, opmath: bool = True,
                 tensors_only: bool = False, tensor_input: bool = False):
    """A cached infer(a, b, **kw) for a binary pointwise op (see `plan` for kind/allowed/opmath).
    tensors_only: both operands must be Tensors (maximum, atan2, logical ops); tensor_input: the first must be
    (fmod, comparisons: PyTorch has no Scalar-first overload for them)."""
    cache: dict = {}
    err = err or name + "_{dev}"

    def slow(a, b):
        if tensors_only:
            if not isinstance(a, Tensor):
                raise _must_be_tensor(name, a, 1)
            if not isinstance(b, Tensor):
                raise _must_be_tensor(name, b, 2)
        if tensor_input and not isinstance(a, Tensor):
            raise _must_be_tensor(name, a, 1)
        _check_operand(name, a, 1)
        _check_operand(name, b, 2)
        return plan(name, (a, b), kind, err, allowed, opmath)

    def infer(a, b, **_kw):
        ca, cb = a.__class__, b.__class__
        if ca is Tensor:
            if cb is Tensor:
                key = (a.dtype, a._data.shape, id(a.device), b.dtype, b._data.shape, id(b.device), _dt._default_float)
            else:
                if cb is int:
                    check_int_scalar(b)
                key = (a.dtype, a._data.shape, id(a.device), cb, _dt._default_float)
        elif cb is Tensor:
            if ca is int:
                check_int_scalar(a)
            key = (ca, b.dtype, b._data.shape, id(b.device), _dt._default_float)
        else:
            key = (_operand_key(a), _operand_key(b), _dt._default_float)
        meta = cache.get(key)
        if meta is None:
            meta = slow(a, b)
            if len(cache) > 2048:
                cache.clear()
            cache[key] = meta
        return meta

    return infer


# ============================================================================================ NumPy helpers

def _wrap_int(v: int, d: _dt.dtype) -> int:
    """v modulo 2**bits into d's range: PyTorch converts an integer scalar to the tensor's integer type this way."""
    bits = d.itemsize * 8
    v &= (1 << bits) - 1
    if d.is_signed and v >= 1 << (bits - 1):
        v -= 1 << bits
    return v


def np_scalar(v, d: _dt.dtype):
    """A Python scalar as a NumPy scalar of dtype d (ints wrap, floats round once), so NumPy computes in d."""
    if d.kind == _dt.INT:
        try:
            return d.np.type(v)
        except OverflowError:  # NumPy refuses out-of-range ints; PyTorch wraps them
            return d.np.type(_wrap_int(int(v), d))
    if d.kind == _dt.FLOAT:
        return d.np.type(v)
    return np.bool_(v)


def np_in(x, d: _dt.dtype):
    """An operand (cpu Tensor or Python scalar) as NumPy data of dtype d."""
    if isinstance(x, Tensor):
        a = x._data
        return a if a.dtype == d.np else a.astype(d.np)
    return np_scalar(x, d)


def finish(r, meta: Meta, out):
    """Give a NumPy result the op's dtype as an ndarray, or write it into `out` (PyTorch casts into out)."""
    if out is not None:
        np.copyto(out, r, casting="unsafe")
        return out
    if r.__class__ is np.ndarray and r.dtype is meta.aux[-1]:
        return r
    r = np.asarray(r)
    if r.dtype != meta.dtype.np:
        r = r.astype(meta.dtype.np)
    if r.shape != meta.shape:
        r = np.broadcast_to(r, meta.shape).copy()
    return r


def _np_binary(np_fn, quiet: bool = False):
    """The NumPy fallback of a binary op whose math is np_fn(x, y) on operands in the cpu compute dtype.
    quiet: silence NumPy's floating-point warnings (PyTorch gives inf/nan without warning)."""

    def cpu(meta, a, b, out=None):
        _, cc, cast_a, cast_b, _ = meta.aux
        x = np_in(a, cc) if cast_a else a._data
        y = np_in(b, cc) if cast_b else b._data
        if quiet or cc is _dt.bfloat16:  # ml_dtypes warns on every NaN comparison
            with np.errstate(all="ignore"):
                return finish(np_fn(x, y), meta, out)
        return finish(np_fn(x, y), meta, out)

    return cpu


def _raise_if_int_zero_divisor(y, d: _dt.dtype) -> None:
    # PyTorch's CPU kernels raise on integer division by zero; its CUDA kernels (and ours) do not check.
    if d.kind != _dt.FLOAT and not np.all(y):
        raise RuntimeError("ZeroDivisionError")


# =========================================================================================== Triton helpers

if _cuda.INTERPRET:
    def launch(*args, **kwargs):
        """pointwise.launch_pointwise; the interpreter runs kernels as NumPy code, which warns where kernels
        divide by zero or meet NaN by design (a GPU does not), so those warnings are silenced here."""
        with np.errstate(all="ignore"):
            return pw.launch_pointwise(*args, **kwargs)
else:
    launch = pw.launch_pointwise


def _kernel_compute(meta: Meta, f64: bool = False) -> _dt.dtype:
    """The dtype the kernel computes in: the op's compute dtype, or fp64 for every float dtype when `f64`."""
    c = meta.aux[0]
    return _dt.float64 if f64 and c.kind == _dt.FLOAT else c


def _scalar_operands(operands, compute: _dt.dtype, round_to_compute: bool):
    """Operands for launch_pointwise. With round_to_compute, a Python float is first rounded to the compute dtype
    (PyTorch's comparisons cast a scalar to the common dtype: fp16 x == 0.1 compares with fp16(0.1))."""
    if not round_to_compute or compute.kind != _dt.FLOAT or compute is _dt.float64:
        return list(operands)
    return [float(compute.np.type(x)) if x.__class__ is float else x for x in operands]


_HALF = (_dt.float16, _dt.bfloat16)


def _tl_binary(tl_fn, f64: bool = False, round_scalars: bool = False, half_fn=None):
    """The Triton launcher of a binary op: tl_fn over the broadcast operands (fp64 compute for floats if f64).
    half_fn: tl_fn's result narrowed to fp32, used for fp16/bf16 results of fp64 computations (the interpreter
    cannot convert fp64 to bf16 directly)."""

    def cuda(meta, a, b, out=None):
        c = _kernel_compute(meta, f64)
        fn = half_fn if half_fn is not None and meta.dtype in _HALF else tl_fn
        ops = _scalar_operands((a, b), meta.aux[0], round_scalars)
        return launch(fn, ops, meta.shape, meta.dtype, c, out)

    return cuda


# _BROADCAST_NOTE: FNs that compare their operands broadcast a scalar operand (a Python number or a 0-dim cpu
# tensor) to the block first: Triton's interpreter mistypes a scalar comparison's result when it is broadcast
# later (the mask becomes float data). On a GPU the broadcast is free.


@triton.jit
def _signbit(v):
    # True where the sign bit of the fp32/fp64 value v is set (-0.0 included)
    if v.dtype == tl.float64:
        s = v.to(tl.int64, bitcast=True) < 0
    else:
        s = v.to(tl.int32, bitcast=True) < 0
    return s


@triton.jit
def _div_rn(x, y):
    # IEEE division: Triton's fp32 `/` is approximate (div.full.f32, 2 ulp); trunc(a / b) needs it exact
    if x.dtype == tl.float32:
        q = tl.math.div_rn(x, y)
    else:
        q = x / y
    return q


@triton.jit
def _trunc(v):
    return tl.where(v < 0, tl.ceil(v), tl.floor(v))


@triton.jit
def _fmod_abs(ax, ay):
    # fmod(|x|, |y|) for fp64 |x| and finite, non-zero |y|, exact: each pass subtracts the largest multiple of
    # |y| * 2**k that keeps the quotient below 2**51, so q * (|y| * 2**k) is exact under fma and the remainder is
    # representable. A pass leaves r < |y| * 2**k, i.e. ~50 fewer quotient bits, so the loop ends after at most
    # 6 passes for fp32 operands and 43 for fp64 (NaN lanes compare false). Only fp64 quotients beyond 2**1024
    # (huge x, subnormal y) overflow r / ys and give -inf instead of the remainder.
    r = ax
    while tl.max(tl.where(r >= ay, 1, 0)) > 0:
        q = r / ay
        e = ((q.to(tl.int64, bitcast=True) >> 52) & 0x7FF) - 1023
        k = tl.where(e > 50, e - 50, 0)
        ys = ay * ((k + 1023) << 52).to(tl.float64, bitcast=True)
        qs = tl.floor(r / ys)
        r = tl.fma(-qs, ys, r)
        r = tl.where(r < 0, r + ys, r)
        r = tl.where(r >= ys, r - ys, r)
    return r


@triton.jit
def _fmod_f64(x, y):
    # C fmod for fp64 x, y: the sign of x, |result| < |y|; nan for x = +-inf or y = 0; x for y = +-inf
    ax = tl.abs(x)
    ay = tl.abs(y)
    bad = (ax == float("inf")) | (ay == 0) | (x != x) | (y != y)
    passthrough = (ay == float("inf")) & ~bad
    r = _fmod_abs(tl.where(bad | passthrough, 0.0, ax), tl.where(bad | passthrough, 1.0, ay))
    r = tl.where(_signbit(x), pw.negate(r), r)
    r = tl.where(passthrough, x, r)
    return tl.where(bad, float("nan"), r)


@triton.jit
def _int_div_parts(x, y):
    # C (truncating) quotient and remainder of integers; a zero divisor gives 0 and x instead of undefined values
    ys = tl.where(y == 0, 1, y)
    q = tl.where(y == 0, 0, x // ys)
    r = tl.where(y == 0, x, x % ys)
    return q, r


# =============================================================================================== arithmetic

@triton.jit
def _add(x, y, z, alpha, p1):
    if x.dtype == tl.int1:
        # bool + bool is "or" in PyTorch; Triton's i1 addition wraps (xor)
        v = (x.to(tl.int32) + y.to(tl.int32) * alpha) != 0
    else:
        v = x + y * alpha
    return v


@triton.jit
def _sub(x, y, z, alpha, p1):
    return x - y * alpha


@triton.jit
def _mul(x, y, z, p0, p1):
    if x.dtype == tl.int1:
        v = x & y
    else:
        v = x * y
    return v


def _alpha_check(meta: Meta, alpha) -> None:
    """PyTorch's alpha rules: no float alpha for integral results, bool alpha only for bool results."""
    d = meta.dtype
    if alpha.__class__ is bool or isinstance(alpha, np.bool_):
        if d is not _dt.bool_:
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
    elif isinstance(alpha, float) and d.kind != _dt.FLOAT:
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    elif not isinstance(alpha, (int, float, np.number)):
        raise TypeError(f"alpha must be a Number, not {type(alpha).__name__}")


def _alpha_cpu(ufunc):
    """NumPy fallback of add/sub: x (op) alpha * y; the hot path (alpha == 1, no casts, no out) is two lookups."""

    def cpu(meta, a, b, alpha=1, out=None):
        _, cc, cast_a, cast_b, out_np = meta.aux
        x = np_in(a, cc) if cast_a else a._data
        y = np_in(b, cc) if cast_b else b._data
        if alpha.__class__ is not int or alpha != 1:
            y = np.multiply(y, np_scalar(alpha, cc))
        if out is None:
            r = ufunc(x, y)
            if r.__class__ is np.ndarray and r.dtype is out_np:
                return r
            return finish(r, meta, None)
        if out.dtype == cc.np:
            ufunc(x, y, out=out)
            return out
        return finish(ufunc(x, y), meta, out)

    return cpu


def _alpha_cuda(tl_fn):
    def cuda(meta, a, b, alpha=1, out=None):
        c = meta.aux[0]
        if c.kind == _dt.FLOAT:
            alpha = float(alpha)
        else:
            alpha = int(alpha) if c is not _dt.bool_ else int(bool(alpha))
        return launch(tl_fn, [a, b], meta.shape, meta.dtype, c, out, (alpha, 0))

    return cuda


_add_infer = binary_infer("add", "same")
_sub_infer = binary_infer("sub", "same")


def add_infer(a, b, alpha=1):
    meta = _add_infer(a, b)
    if alpha.__class__ is not int or alpha != 1:
        _alpha_check(meta, alpha)
    return meta


def _sub_bool_check(a, b) -> None:
    a_bool = getattr(a, "dtype", None) is _dt.bool_ or a.__class__ is bool
    b_bool = getattr(b, "dtype", None) is _dt.bool_ or b.__class__ is bool
    if a_bool and b_bool:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")
    if a_bool or b_bool:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")


def sub_infer(a, b, alpha=1):
    meta = _sub_infer(a, b)
    _sub_bool_check(a, b)
    if alpha.__class__ is not int or alpha != 1:
        _alpha_check(meta, alpha)
    return meta


# --------------------------------------------------------------------------------------------- samples

def _sample_tensor(shape, dtype, device, rng, low=None, high=None, nonzero=False, layout="contiguous"):
    """A sample operand; `nonzero` replaces zeros by one (integer divisors); layout: contiguous, noncontig (every
    other element of the last dim) or transposed."""
    shape = tuple(shape)
    if layout == "noncontig":
        host_shape = shape[:-1] + (shape[-1] * 2,)
    elif layout == "transposed":
        host_shape = shape[::-1]
    else:
        host_shape = shape
    arr = make_array(host_shape, dtype, rng, low, high)
    if nonzero:
        arr[arr == 0] = 1
    t = from_array(arr)
    if str(device) != "cpu":
        t = t.to(device)
    if layout == "noncontig":
        t = t[..., ::2]
    elif layout == "transposed":
        t = t.t()
    return t


# The interpreter costs ~25 ms a launch, so the generated tests sample the dtype x case grid rather than run all
# of it: FULL_DTYPES get every case below, the other dtypes the two LEAN_SHAPES, the first scalar and the kwargs.
FULL_DTYPES = (_dt.float32, _dt.int64)
SHAPES = [((), ()), ((5,), ()), ((1,), (4,)), ((0, 3), (1, 3)), ((2 ** 6 + 17,), (2 ** 6 + 17,)), ((4, 1), (1, 5)),
          ((2, 1, 3, 1, 2), (4, 3, 1, 1))]
LEAN_SHAPES = [((4, 1), (1, 5)), ((), (3,))]


def pair_samples(low=None, high=None, rhs_low=None, rhs_high=None, *, scalars=(2,), lhs_scalars=(), kwargs=(),
                 nonzero_rhs=False, mixed=True):
    """samples(device, dtype) for a binary op: broadcast pairs (0-dim, (1,), empty, 2**6+17, rank 5 that splits
    into several launches), non-contiguous and transposed operands, Python scalars on either side, kwargs, and a
    mixed-dtype pair (a 0-dim float64 tensor, which promotes integer inputs). nonzero_rhs: integer divisors
    without zeros (PyTorch raises on integer division by zero)."""
    rhs_low = low if rhs_low is None else rhs_low
    rhs_high = high if rhs_high is None else rhs_high

    def samples(device, dtype):
        rng = rng_for("pair", dtype.name, low, high, rhs_low, rhs_high)
        full = dtype in FULL_DTYPES

        def lhs(shape, layout="contiguous", d=dtype):
            return _sample_tensor(shape, d, device, rng, low, high, layout=layout)

        def rhs(shape, layout="contiguous", d=dtype):
            nz = nonzero_rhs and d.kind != _dt.FLOAT
            return _sample_tensor(shape, d, device, rng, rhs_low, rhs_high, nonzero=nz, layout=layout)

        for sa, sb in SHAPES if full else LEAN_SHAPES:
            yield Sample((lhs(sa), rhs(sb)), name=f"{sa}x{sb}")
        usable = [s for s in scalars if dtype.kind == _dt.FLOAT or not isinstance(s, float)]
        for s in usable if full else usable[:1]:
            yield Sample((lhs((4, 3)), s), name=f"scalar{s}")
        for kw in kwargs:
            yield Sample((lhs((4, 3)), rhs((3,))), dict(kw), name=f"kw{kw}")
        if not full:
            return
        yield Sample((lhs((3, 8), "noncontig"), rhs((3, 8), "transposed")), name="noncontig")
        for s in lhs_scalars:
            yield Sample((s, rhs((4, 3))), name=f"{s}scalar")
        if mixed and dtype.kind != _dt.FLOAT:
            yield Sample((lhs((4, 3)), rhs((), d=_dt.float64)), name="mixed-0dim-f64")

    return samples


def _bench(flops_per=1, out_bytes=None):
    """BenchSpec for a binary op on two contiguous vectors; reads 2 and writes 1 element per output."""

    def make(size, device, dtype):
        rng = rng_for("bench", size, dtype.name)
        a = make_tensor((size,), dtype, device, rng=rng)
        b = make_tensor((size,), dtype, device, rng=rng, low=1 if dtype.kind != _dt.FLOAT else 0.5, high=4)
        return (a, b), {}

    def nbytes(size, dtype):
        return size * (2 * dtype.itemsize + (out_bytes if out_bytes is not None else dtype.itemsize))

    return BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24), make=make, bytes=nbytes, flops=lambda size: flops_per * size,
                     dtypes=(_dt.float32, _dt.float16, _dt.int32))


def _int_ref(fn):
    """A reference for ops that compute integer operands in their own dtype: a Python int scalar is first wrapped
    into that dtype, as PyTorch converts it (a uint8 tensor minus 1 wraps 1 to 255 first)."""

    def ref(*args, **kw):
        arrays = [a for a in args if isinstance(a, np.ndarray)]
        if arrays and all(a.dtype.kind in "biu" for a in arrays):
            d = np.result_type(*arrays)
            target = _dt.int64 if d == np.bool_ else _dt.from_numpy_dtype(d)
            def wrap(a):
                if a.__class__ is int or (a.__class__ is bool and d != np.bool_):
                    return target.np.type(_wrap_int(int(a), target))
                return a
            args = [wrap(a) for a in args]
            kw = {k: wrap(v) for k, v in kw.items()}
        return fn(*args, **kw)

    return ref


def _torch(name):
    return lambda torch, *a, **k: getattr(torch, name)(*a, **k)


# ------------------------------------------------------------------------------------- the cpu fast path

_F32, _F64 = _dt.float32, _dt.float64
_FLOAT_DIRECT = {_F32: _F32, _F64: _F64}
_SMALL_INT = 1 << 53  # Python ints below this convert to fp32/fp64 as PyTorch converts them


def fast_path(np_fn, direct: dict, scalars: bool = True, tensor_first: bool = False, quiet: bool = False):
    """OpDef.fast for a binary op: cpu operands go straight to NumPy (recorded under autograd) when that gives
    exactly what infer + impl give, else None (the full path). direct: {operand dtype: result dtype} for two tensors of one
    dtype whose NumPy ufunc computes as the op does; scalars: a fp32/fp64 tensor with a Python float or small
    int (NumPy casts the scalar to the tensor's dtype, as PyTorch does), on the right only if tensor_first.
    NumPy checks the broadcast; on a mismatch the full path runs and raises PyTorch's error. quiet: silence
    NumPy's floating-point warnings (division by zero and the like; PyTorch has none)."""
    get = direct.get
    if quiet:
        inner = np_fn

        def np_fn(x, y):
            with np.errstate(all="ignore"):
                return inner(x, y)

    op_box = [None]  # the op, bound by OpDef once it exists

    def fast(a, b, **kw):
        if kw:
            return None
        if a.__class__ is Tensor:
            if a.device is not CPU:
                return None
            if b.__class__ is Tensor:
                if b.device is not CPU or b.dtype is not a.dtype:
                    return None
                out = get(a.dtype)
                if out is None:
                    return None
                try:
                    r = np_fn(a._data, b._data)
                except ValueError:
                    return None
                t = _make(r if r.__class__ is np.ndarray else np.asarray(r), out, CPU)
                if (a._requires_grad or b._requires_grad) and (not _FLAGS.grad_off or _GRAD.enabled):
                    # (kw: empty; record_small records nothing for an op that is not differentiable)
                    _state.record_small(op_box[0], (a, b), kw, t, None)
                return t
            t, s = a, b
        elif b.__class__ is Tensor and not tensor_first:
            if b.device is not CPU:
                return None
            t, s = b, a
        else:
            return None
        if not scalars or t.dtype not in _FLOAT_DIRECT:
            return None
        if s.__class__ is not float and (s.__class__ is not int or not -_SMALL_INT < s < _SMALL_INT):
            return None
        out = get(t.dtype)
        if out is None:
            return None
        r = np_fn(a._data if t is a else a, b._data if t is b else b)
        r = _make(r if r.__class__ is np.ndarray else np.asarray(r), out, CPU)
        if t._requires_grad and (not _FLAGS.grad_off or _GRAD.enabled):
            return _recorded(r, a, b)
        return r

    def _recorded(result, a, b):
        op = op_box[0]
        if not op.differentiable:
            return None  # the full path decides
        # (record_small takes a tensor first: 2.0 * x goes to the general recorder)
        (_state.record_small if a.__class__ is Tensor else _state.recorder)(op, (a, b), {}, result, None)
        return result

    fast.bind = lambda op: op_box.__setitem__(0, op)
    return fast


def _same(dtypes):
    return {d: d for d in dtypes}


def _to_bool(dtypes):
    return {d: _dt.bool_ for d in dtypes}


_NO_BF16 = tuple(d for d in ALL if d is not _dt.bfloat16)  # ml_dtypes warns on NaN comparisons


def _register(name, infer, cpu, cuda, ref, samples, dtypes, tl_fn=None, bench=None, params=(), **kw):
    op = register(OpDef(name=name, infer=infer, impl={"cpu": cpu, "cuda": cuda}, family=FAMILY, ref=ref,
                        samples=samples, dtypes=dtypes, supports_out=True, bench=bench or _bench(), **kw))
    op.extra["arity"] = 2
    op.extra["params"] = params
    op.extra["tl_fn"] = tl_fn
    op.extra["torch"] = _torch(name)
    return op


add_op = _register("add", add_infer, _alpha_cpu(np.add), _alpha_cuda(_add),
                   _int_ref(lambda x, y, alpha=1: x + alpha * y),
                   pair_samples(scalars=(2, 0.5, True), lhs_scalars=(3,), kwargs=({"alpha": 2},)), ALL, _add,
                   params=(("alpha", 1),), fast=fast_path(np.add, _same(ALL)))
sub_op = _register("sub", sub_infer, _alpha_cpu(np.subtract), _alpha_cuda(_sub),
                   _int_ref(lambda x, y, alpha=1: x - alpha * y),
                   pair_samples(scalars=(2, 0.5), lhs_scalars=(3,), kwargs=({"alpha": 3}, {"alpha": -1})), NUMERIC,
                   _sub, params=(("alpha", 1),), fast=fast_path(np.subtract, _same(NUMERIC)))
mul_op = _register("mul", binary_infer("mul", "same"), _np_binary(np.multiply), _tl_binary(_mul),
                   _int_ref(lambda x, y: x * y),
                   pair_samples(scalars=(2, 0.5, False), lhs_scalars=(-3,)), ALL, _mul,
                   fast=fast_path(np.multiply, _same(ALL)))


# ------------------------------------------------------------------------------------------------ division

@triton.jit
def _true_div(x, y, z, p0, p1):
    return _div_rn(x, y)


@triton.jit
def _trunc_div(x, y, z, p0, p1):
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    if x.dtype.is_floating():
        v = _trunc(_div_rn(x, y))
    else:
        v, r = _int_div_parts(x, y)
    return v


@triton.jit
def _floor_div(x, y, z, p0, p1):
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    if x.dtype.is_floating():
        # PyTorch's div_floor_floating, on fp64 operands: exact fmod, then the quotient of the exact difference
        m = _fmod_f64(x, y)
        d = (x - m) / y
        d = tl.where((m != 0) & ((y < 0) != (m < 0)), d - 1.0, d)
        f = tl.floor(d)
        f = tl.where(d - f > 0.5, f + 1.0, f)
        zero = tl.where(_signbit(x) != _signbit(y), -1.0, 1.0) * 0.0  # a -0.0 literal compiles to +0.0
        v = tl.where(d != 0, f, zero)
        v = tl.where(y == 0, x / y, v)
    else:
        q, r = _int_div_parts(x, y)
        v = tl.where((r != 0) & ((r < 0) != (y < 0)), q - 1, q)
    return v


@triton.jit
def _floor_div_h(x, y, z, p0, p1):
    # the fp64 result narrowed to fp32 first, for fp16/bf16 outputs (the interpreter cannot store fp64 as bf16)
    return _floor_div(x, y, z, p0, p1).to(tl.float32)


def _np_trunc_div(x, y):
    if x.dtype.kind == "f" or getattr(y, "dtype", np.dtype(type(y))).kind == "f":
        return np.trunc(np.true_divide(x, y))
    q = np.floor_divide(x, y)
    # floor -> trunc: add one where the division was inexact and the signs differ
    return q + ((np.remainder(x, y) != 0) & ((np.less(x, 0)) != (np.less(y, 0)))).astype(q.dtype)


_DIV_MODES = {None: "true", "trunc": "trunc", "floor": "floor"}
_true_div_infer = binary_infer("div", "float")
_trunc_div_infer = binary_infer("div", "same", err="div_trunc_{dev}", allowed=NUMERIC)
_floor_div_infer = binary_infer("div", "same", err="div_floor_{dev}", allowed=NUMERIC)


def div_infer(a, b, rounding_mode=None):
    if rounding_mode is None:
        return _true_div_infer(a, b)
    if rounding_mode == "trunc":
        return _trunc_div_infer(a, b)
    if rounding_mode == "floor":
        return _floor_div_infer(a, b)
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                       f"'{rounding_mode}'")


_true_div_cpu = _np_binary(np.true_divide, quiet=True)


def _div_cpu(meta, a, b, rounding_mode=None, out=None):
    if rounding_mode is None:
        return _true_div_cpu(meta, a, b, out)
    _, cc, cast_a, cast_b, _ = meta.aux
    x = np_in(a, cc) if cast_a else a._data
    y = np_in(b, cc) if cast_b else b._data
    _raise_if_int_zero_divisor(y, cc)
    with np.errstate(all="ignore"):
        r = float_modulo(x, y, "floor") if rounding_mode == "floor" else _np_trunc_div(x, y)
    return finish(r, meta, out)


_true_div_cuda = _tl_binary(_true_div)
_trunc_div_cuda = _tl_binary(_trunc_div)
_floor_div_cuda = _tl_binary(_floor_div, f64=True, half_fn=_floor_div_h)


def _div_cuda(meta, a, b, rounding_mode=None, out=None):
    if rounding_mode is None:
        return _true_div_cuda(meta, a, b, out)
    if rounding_mode == "trunc":
        return _trunc_div_cuda(meta, a, b, out)
    return _floor_div_cuda(meta, a, b, out)


def _div_ref(x, y, rounding_mode=None):
    if rounding_mode is None:
        with np.errstate(all="ignore"):
            return np.asarray(x, np.float64) / np.asarray(y, np.float64)
    return _rounded_div_ref(x, y, rounding_mode)


@_int_ref
def _rounded_div_ref(x, y, rounding_mode):
    with np.errstate(all="ignore"):
        floats = np.asarray(x).dtype.kind == "f" or np.asarray(y).dtype.kind == "f"
        if rounding_mode == "trunc":
            q = np.asarray(x, np.float64) / np.asarray(y, np.float64)
            return np.trunc(q) if floats else _exact_int_div(x, y, floor=False)
        return np.floor_divide(np.asarray(x, np.float64), y) if floats else _exact_int_div(x, y, floor=True)


def _exact_int_div(x, y, floor):
    """Integer division with Python's arbitrary-precision ints (wrapped back to the operands' dtype)."""
    xa, ya = np.broadcast_arrays(np.asarray(x), np.asarray(y))
    d = np.result_type(xa, ya)
    flat = []
    for p, q in zip(xa.ravel().tolist(), ya.ravel().tolist()):
        v = p // q if floor else abs(p) // abs(q) * (1 if (p < 0) == (q < 0) else -1)
        flat.append(_wrap_int(v, _dt.from_numpy_dtype(d)) if d != np.bool_ else v)
    return np.array(flat, dtype=d).reshape(xa.shape)


_F64_DIV = {None: [3, 7, 8, 9], "trunc": [9], "floor": [9]}  # finite, off the rounding jumps
_GRAD_SAFE = {_dt.float64: _F64_DIV}


def _special_pair(xs, ys, dtype, device, keep=None):
    """Two special-value tensors (entries `keep` only, when given) on `device`."""
    if keep is not None:
        xs, ys = [xs[i] for i in keep], [ys[i] for i in keep]
    a, b = from_array(np.array(xs, dtype.np)), from_array(np.array(ys, dtype.np))
    if str(device) != "cpu":
        a, b = a.to(device), b.to(device)
    return a, b


def _div_samples():
    """True division on every dtype; trunc and floor rounding on the numeric ones (PyTorch has no bool kernels),
    plus signed zeros, infinities and NaN through the fmod-based float floor algorithm."""
    base = pair_samples(rhs_low=-4, rhs_high=5, scalars=(2, -3, 0.5), lhs_scalars=(7,), nonzero_rhs=True)

    def samples(device, dtype):
        yield from base(device, dtype)
        if dtype is _dt.bool_:
            return
        for mode in ("trunc", "floor"):
            for s in base(device, dtype):
                s.kwargs = {"rounding_mode": mode}
                s.name = f"{mode}-{s.name}"
                yield s
        if dtype.kind == _dt.FLOAT:
            xs = [5.0, -5.0, 0.0, -0.0, np.inf, -np.inf, np.nan, 7.5, -7.5, 6e3]
            ys = [0.0, np.inf, -np.inf, 3.0, 2.0, -2.0, 1.0, -2.5, 2.5, 0.7]
            for mode in (None, "trunc", "floor"):
                keep = _GRAD_SAFE.get(dtype, {}).get(mode)  # fp64 (gradcheck): differentiable points only
                vals, divs = _special_pair(xs, ys, dtype, device, keep)
                yield Sample((vals, divs), {"rounding_mode": mode}, name=f"special-{mode}")

    return samples


div_op = _register("div", div_infer, _div_cpu, _div_cuda, _div_ref, _div_samples(), ALL, _true_div,
                   fast=fast_path(np.true_divide, _same(FLOATS), quiet=True))


# ------------------------------------------------------------------------------------- remainder and fmod

@triton.jit
def _remainder(x, y, z, p0, p1):
    # Python's modulo: the result takes the divisor's sign
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    if x.dtype.is_floating():
        m = _fmod_f64(x, y)
        v = tl.where((m != 0) & ((y < 0) != (m < 0)), m + y, m)
    else:
        q, r = _int_div_parts(x, y)
        v = tl.where((r != 0) & ((r < 0) != (y < 0)), r + y, r)
    return v


@triton.jit
def _remainder_h(x, y, z, p0, p1):
    # the fp64 result narrowed to fp32 first, for fp16/bf16 outputs (the interpreter cannot store fp64 as bf16)
    return _remainder(x, y, z, p0, p1).to(tl.float32)


@triton.jit
def _fmod(x, y, z, p0, p1):
    # C's fmod: the result takes the dividend's sign
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    if x.dtype.is_floating():
        v = _fmod_f64(x, y)
    else:
        q, v = _int_div_parts(x, y)
    return v


@triton.jit
def _fmod_h(x, y, z, p0, p1):
    # the fp64 result narrowed to fp32 first, for fp16/bf16 outputs (the interpreter cannot store fp64 as bf16)
    return _fmod(x, y, z, p0, p1).to(tl.float32)


def _np_modulo(np_fn):
    def cpu(meta, a, b, out=None):
        _, cc, cast_a, cast_b, _ = meta.aux
        x = np_in(a, cc) if cast_a else a._data
        y = np_in(b, cc) if cast_b else b._data
        _raise_if_int_zero_divisor(y, cc)
        with np.errstate(all="ignore"):
            return finish(np_fn(x, y), meta, out)

    return cpu


def _modulo_ref(python_sign):
    @_int_ref
    def ref(x, y):
        with np.errstate(all="ignore"):
            if np.asarray(x).dtype.kind == "f" or np.asarray(y).dtype.kind == "f":
                x64, y64 = np.asarray(x, np.float64), np.asarray(y, np.float64)
                return np.mod(x64, y64) if python_sign else np.fmod(x64, y64)
            q = _exact_int_div(x, y, floor=python_sign)
            return np.asarray(x) - q * np.asarray(y)

    return ref


def _modulo_samples(lhs_scalars=(7,)):
    base = pair_samples(rhs_low=-4, rhs_high=5, scalars=(3, -2, 2.5), lhs_scalars=lhs_scalars, nonzero_rhs=True)

    def samples(device, dtype):
        yield from base(device, dtype)
        if dtype.kind == _dt.FLOAT:
            # infinities, NaN, signed zeros and a quotient of 2**100 (the exact multi-pass fmod)
            big = float(2.0 ** 100) if dtype is not _dt.float16 else 6e4
            xs = [5.0, -5.0, 0.0, -0.0, np.inf, 3.0, np.nan, 7.5, -7.5, big, -big, 1e-3]
            ys = [np.inf, -np.inf, 3.0, -3.0, 2.0, 0.0, 1.0, -2.5, 2.5, 3.1, 0.7, -7.0]
            if dtype is _dt.float64:  # gradcheck: finite points off the jumps (x / y not an integer)
                xs, ys = [5.5, -5.5, 7.25, -0.3, 1e-3, -9.0], [2.0, 3.0, -2.5, 0.7, -7.0, 4.0]
            vals, divs = _special_pair(xs, ys, dtype, device)
            yield Sample((vals, divs), name="special")

    return samples


def _np_remainder(x, y):
    """Python's modulo. Integers: x - (x // y) * y, exact (wrapping as the type does), 10x faster than NumPy's
    integer remainder here (2M int64 % 7: 15.8 -> 1.6 ms); floats: _float_modulo's exact float64 form for float32,
    np.remainder otherwise, a zero result signed as the dividend (PyTorch's)."""
    if np.result_type(x, y).kind in "iu":
        q = np.floor_divide(x, y)
        if q.__class__ is not np.ndarray:   # (0-d operands: a NumPy scalar)
            return x - q * y
        q *= y
        return np.subtract(x, q, out=q)
    return float_modulo(x, y, "remainder")


def _np_fmod(x, y):
    return float_modulo(x, y, "fmod") if x.dtype.kind == "f" else np.fmod(x, y)


remainder_op = _register("remainder", binary_infer("remainder", "same", allowed=NUMERIC), _np_modulo(_np_remainder),
                         _tl_binary(_remainder, f64=True, half_fn=_remainder_h), _modulo_ref(True),
                         _modulo_samples(), NUMERIC, _remainder,
                         fast=fast_path(_np_remainder, _FLOAT_DIRECT, quiet=True))
fmod_op = _register("fmod", binary_infer("fmod", "same", allowed=NUMERIC, tensor_input=True), _np_modulo(_np_fmod),
                    _tl_binary(_fmod, f64=True, half_fn=_fmod_h), _modulo_ref(False),
                    _modulo_samples(lhs_scalars=()), NUMERIC, _fmod,
                    fast=fast_path(_np_fmod, _FLOAT_DIRECT, tensor_first=True, quiet=True))


# ---------------------------------------------------------------------------------------------------- pow

@triton.jit
def _int_pow(x, y):
    # exponentiation by squaring over the exponent's bits (wrapping like PyTorch's integer pow); a negative
    # exponent gives 1 for x == 1, +-1 for x == -1 and 0 otherwise, as PyTorch's integer kernels do
    base = x + y * 0
    e = y + x * 0
    result = base * 0 + 1
    for _ in range(x.dtype.primitive_bitwidth):
        result = tl.where((e & 1) != 0, result * base, result)
        base = base * base
        e = e >> 1
    if x.dtype.is_int_signed():
        odd = (y & 1) != 0
        special = tl.where(x == 1, 1, tl.where(x == -1, tl.where(odd, -1, 1), 0))
        result = tl.where(y < 0, special.to(result.dtype), result)
    return result


@triton.jit
def _float_pow(x, y):
    # C pow on fp64 operands: exp2(y * log2|x|) (accurate to ~1e-13 relative in fp64), then the sign for odd
    # integer exponents of negative bases, NaN for negative bases with non-integer exponents, and pow's special
    # cases pow(x, 0) = pow(1, y) = pow(-1, +-inf) = 1
    ax = tl.abs(x)
    r = tl.exp2(y * tl.log2(ax))
    y_int = tl.floor(y) == y
    y_odd = y_int & (tl.abs(y) < 9007199254740992.0) & ((y - 2.0 * tl.floor(y * 0.5)) != 0)
    r = tl.where(_signbit(x) & y_odd, -r, r)
    r = tl.where((x < 0) & ~y_int, float("nan"), r)
    r = tl.where((y == 0) | (x == 1) | ((ax == 1) & (tl.abs(y) == float("inf"))), 1.0, r)
    return r


@triton.jit
def _pow(x, y, z, p0, p1):
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    if x.dtype.is_floating():
        v = _float_pow(x, y)
    else:
        v = _int_pow(x, y)
    return v


@triton.jit
def _pow_h(x, y, z, p0, p1):
    # the fp64 result narrowed to fp32 first, for fp16/bf16 outputs (the interpreter cannot store fp64 as bf16)
    return _pow(x, y, z, p0, p1).to(tl.float32)


_pow_infer = binary_infer("pow", "same", err="pow", allowed=NUMERIC)


def pow_infer(a, b):
    meta = _pow_infer(a, b)
    d = meta.dtype
    if d.kind == _dt.INT and (b.__class__ is int or b.__class__ is bool):
        if b < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        check_scalar_fits(b, d)
    return meta


def _pow_square(x):
    return np.multiply(x, x)


def _pow_cube(x):
    r = np.multiply(x, x)
    r *= x
    return r


def _pow_inverse_square(x):
    r = np.multiply(x, x)
    return np.reciprocal(r, out=r)


def _pow_rsqrt(x):
    r = np.sqrt(x)
    return np.reciprocal(r, out=r)


# Float powers by these exponents as PyTorch's cpu kernel forms them (x * x * x for 3, sqrt for 0.5, 1 / sqrt for
# -0.5, ...), so they match it bit for bit; NumPy's powf costs ~50 ns an element (pow(x, 3.0) of 36K fp32
# elements: 2 ms, against 37 us for x * x * x).
_POW_FORMS = {2.0: _pow_square, 3.0: _pow_cube, -1.0: np.reciprocal, -2.0: _pow_inverse_square, 0.5: np.sqrt,
              -0.5: _pow_rsqrt}


@triton.jit
def _pow_square_fn(x, y, z, p0, p1):
    # x ** 2 as x * x (PyTorch's form)
    return x * x


@triton.jit
def _pow_cube_fn(x, y, z, p0, p1):
    # x ** 3 as x * x * x (PyTorch's form)
    return x * x * x


@triton.jit
def _pow_inverse_square_fn(x, y, z, p0, p1):
    # x ** -2 as 1 / (x * x) (PyTorch's form)
    return 1.0 / (x * x)


def _pow_form_fns() -> dict:
    from .unary import _reciprocal_fn, _rsqrt_fn, _sqrt_fn
    return {2.0: _pow_square_fn, 3.0: _pow_cube_fn, -1.0: _reciprocal_fn, -2.0: _pow_inverse_square_fn,
            0.5: _sqrt_fn, -0.5: _rsqrt_fn}


_pow_general_cuda = _tl_binary(_pow, f64=True, half_fn=_pow_h)


def _pow_cuda(meta, a, b, out=None):
    """A float tensor to a Python number of _POW_FORMS' launches that form (one pass in the compute dtype, as the
    cpu side and PyTorch's kernels form it); anything else the general fp64 pow."""
    c = meta.aux[0]
    if c.kind == _dt.FLOAT and a.__class__ is Tensor and (b.__class__ is float or b.__class__ is int):
        fn = _POW_FORM_FNS.get(float(b))
        if fn is not None:
            return launch(fn, [a], meta.shape, meta.dtype, c, out)
    return _pow_general_cuda(meta, a, b, out)


def np_pow(x, y):
    """np.power, but a float array to one of _POW_FORMS' exponents (a Python number or 0-d array) takes its form."""
    if x.__class__ is np.ndarray and x.dtype.kind == "f" and np.ndim(y) == 0:
        form = _POW_FORMS.get(float(y))
        if form is not None:
            return form(x)
    return np.power(x, y)


def _pow_cpu(meta, a, b, out=None):
    _, cc, cast_a, cast_b, _ = meta.aux
    x = np_in(a, cc) if cast_a else a._data
    y = np_in(b, cc) if cast_b else b._data
    with np.errstate(all="ignore"):
        if cc.kind == _dt.FLOAT or not np.any(np.less(y, 0)):
            return finish(np_pow(x, y), meta, out)
        # NumPy refuses negative integer exponents; PyTorch gives 1 / x rounded toward zero
        neg = np.less(y, 0)
        r = np.power(x, np.where(neg, 0, y).astype(cc.np))
        special = np.where(np.equal(x, 1), 1, np.where(np.equal(x, -1), np.where(np.bitwise_and(y, 1) != 0, -1, 1), 0))
        return finish(np.where(neg, special.astype(cc.np), r), meta, out)


def _pow_ref(x, y):
    if np.asarray(x).dtype.kind != "f" and np.asarray(y).dtype.kind != "f":
        xa, ya = np.broadcast_arrays(np.asarray(x), np.asarray(y))
        d = np.result_type(xa, ya)
        vals = []
        for p, q in zip(xa.ravel().tolist(), ya.ravel().tolist()):
            v = p ** q if q >= 0 else (1 if p == 1 else ((-1) ** q if p == -1 else 0))
            vals.append(_wrap_int(int(v), _dt.from_numpy_dtype(d)))
        return np.array(vals, dtype=d).reshape(xa.shape)
    with np.errstate(all="ignore"):
        return np.power(np.asarray(x, np.float64), np.asarray(y, np.float64))


def _pow_samples():
    base = pair_samples(low=0.5, high=3, rhs_low=-2, rhs_high=3, scalars=(2, 3, 0.5, -1.5), lhs_scalars=(2, 1.5))

    def samples(device, dtype):
        yield from base(device, dtype)
        if dtype.kind == _dt.FLOAT:
            # negative bases with integer exponents (sign), non-integer exponents (NaN), zeros, infinities, NaN
            xs = [-2.0, -2.0, -2.0, 0.0, -0.0, -0.0, np.inf, -np.inf, -1.0, np.nan, 1.0, 0.5, -3.0, 2.0]
            ys = [3.0, 2.0, 0.5, -1.0, -1.0, 0.5, -2.0, 3.0, np.inf, 0.0, np.nan, -np.inf, -3.0, 10.0]
            if dtype is _dt.float64:  # gradgradcheck: no zero exponents (PyTorch's zero there is a jump)
                xs, ys = [1.5, 2.0, 0.5, 3.0, 1.0], [2.0, 10.0, -3.0, 0.5, -2.0]
            vals, exps = _special_pair(xs, ys, dtype, device)
            yield Sample((vals, exps), name="special")
        elif dtype.is_signed:
            xs = [-3, -1, -1, 1, 0, 2, 5, -2]
            ys = [3, -1, -2, -5, 0, 6, 2, 7]
            vals, exps = from_array(np.array(xs, dtype.np)), from_array(np.array(ys, dtype.np))
            if str(device) != "cpu":
                vals, exps = vals.to(device), exps.to(device)
            yield Sample((vals, exps), name="negative-exponents")

    return samples


_POW_FORM_FNS = _pow_form_fns()
pow_op = _register("pow", pow_infer, _pow_cpu, _pow_cuda, _pow_ref, _pow_samples(),
                   NUMERIC, _pow, bench=_bench(flops_per=10), fast=fast_path(np_pow, _FLOAT_DIRECT, quiet=True))


# ------------------------------------------------------------------------------------ maximum and minimum

@triton.jit
def _maximum(x, y, z, p0, p1):
    # NaN-propagating (tl.maximum's NaN behaviour differs between the GPU and the interpreter)
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    if x.dtype == tl.int1:
        v = x | y
    else:
        v = tl.where(x != x, x, tl.where(y != y, y, tl.where(x > y, x, y)))
    return v


@triton.jit
def _minimum(x, y, z, p0, p1):
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    if x.dtype == tl.int1:
        v = x & y
    else:
        v = tl.where(x != x, x, tl.where(y != y, y, tl.where(x < y, x, y)))
    return v


@triton.jit
def _fmax(x, y, z, p0, p1):
    # NaN-ignoring: NaN only when both are NaN
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    if x.dtype == tl.int1:
        v = x | y
    else:
        v = tl.where(x != x, y, tl.where(y != y, x, tl.where(x > y, x, y)))
    return v


@triton.jit
def _fmin(x, y, z, p0, p1):
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    if x.dtype == tl.int1:
        v = x & y
    else:
        v = tl.where(x != x, y, tl.where(y != y, x, tl.where(x < y, x, y)))
    return v


def _nan_samples(tensors_only=True, ties=False):
    base = pair_samples(scalars=() if tensors_only else (2,))

    def samples(device, dtype):
        yield from base(device, dtype)
        if dtype.kind == _dt.FLOAT:
            xs, ys = [1.0, np.nan, np.nan, -0.0, np.inf, 2.0], [np.nan, 2.0, np.nan, 0.0, 1.0, -np.inf]
            if dtype is _dt.float64:  # gradcheck: finite points off ties (the gradient jumps there)
                xs, ys = [1.5, -2.0, 0.25, 3.0, -0.5], [-1.0, 2.0, -0.75, 2.5, -4.0]
            elif ties:
                xs, ys = xs + [1.0, -0.0], ys + [1.0, 0.0]
            a, b = _special_pair(xs, ys, dtype, device)
            yield Sample((a, b), name="nan")

    return samples


def _minmax(name, np_fn, tl_fn, ref):
    return _register(name, binary_infer(name, "same", opmath=False, tensors_only=True), _np_binary(np_fn),
                     _tl_binary(tl_fn), ref, _nan_samples(ties=name in ("maximum", "minimum")), ALL, tl_fn,
                     fast=fast_path(np_fn, _same(_NO_BF16), scalars=False))


maximum_op = _minmax("maximum", np.maximum, _maximum, lambda x, y: np.maximum(x, y))
minimum_op = _minmax("minimum", np.minimum, _minimum, lambda x, y: np.minimum(x, y))
fmax_op = _minmax("fmax", np.fmax, _fmax,
                  lambda x, y: np.where(np.isnan(x), y, np.where(np.isnan(y), x, np.maximum(x, y))))
fmin_op = _minmax("fmin", np.fmin, _fmin,
                  lambda x, y: np.where(np.isnan(x), y, np.where(np.isnan(y), x, np.minimum(x, y))))


# ------------------------------------------------------------------------------ atan2, hypot, copysign

_PI = 3.141592653589793
_PI_2 = 1.5707963267948966
_PI_4 = 0.7853981633974483
_TAN_3PI_8 = 2.414213562373095


@triton.jit
def _atan_f64(t):
    # Cephes atan for fp64 t >= 0 (incl. +inf): range reduction to |t| <= 0.66, then a 4/5 rational approximation;
    # relative error ~1e-16
    big = t > 2.414213562373095
    mid = (t > 0.66) & ~big
    x = tl.where(big, -1.0 / t, tl.where(mid, (t - 1.0) / (t + 1.0), t))
    # constants join an fp64 zero first: tl.where of two Python floats would type them fp32
    zero = tl.zeros_like(t)
    base = tl.where(big, zero + 1.5707963267948966, tl.where(mid, zero + 0.7853981633974483, zero))
    extra = tl.where(big, zero + 6.123233995736765886130e-17, tl.where(mid, zero + 3.061616997868382943065e-17, zero))
    z = x * x
    p = (((-8.750608600031904122785e-1 * z - 1.615753718733365076637e1) * z - 7.500855792314704667340e1) * z
         - 1.228866684490136173410e2) * z - 6.485021904942025371773e1
    q = ((((z + 2.485846490142306297962e1) * z + 1.650270098316988542046e2) * z + 4.328810604912902668951e2) * z
         + 4.853903996359136964868e2) * z + 1.945506571482613964425e2
    return base + (x * (z * p / q) + x + extra)


@triton.jit
def _atan2(x, y, z, p0, p1):
    # atan2(x, y) (PyTorch's argument order: input is the ordinate) on fp64 operands: the angle of the point in
    # the first quadrant, reflected by the signs (signed zeros included); both infinite -> pi/4 multiples
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    ax = tl.abs(x)
    ay = tl.abs(y)
    both_inf = (ax == float("inf")) & (ay == float("inf"))
    a = _atan_f64(ax / ay)
    a = tl.where((ax == 0) & (ay == 0), 0.0, a)
    a = tl.where(both_inf, 0.7853981633974483, a)
    a = tl.where(_signbit(y), 3.141592653589793 - a, a)
    return tl.where(_signbit(x), pw.negate(a), a)


@triton.jit
def _atan2_h(x, y, z, p0, p1):
    # the fp64 result narrowed to fp32 first, for fp16/bf16 outputs (the interpreter cannot store fp64 as bf16)
    return _atan2(x, y, z, p0, p1).to(tl.float32)


@triton.jit
def _hypot(x, y, z, p0, p1):
    # sqrt(x^2 + y^2) without overflow: the larger magnitude times sqrt(1 + ratio^2); inf beats NaN
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    ax = tl.abs(x)
    ay = tl.abs(y)
    hi = tl.where(ax > ay, ax, ay)
    lo = tl.where(ax > ay, ay, ax)
    ratio = lo / hi
    r = hi * tl.sqrt(1.0 + ratio * ratio)
    r = tl.where(hi == 0, 0.0, r)
    return tl.where((ax == float("inf")) | (ay == float("inf")), float("inf"), r)


@triton.jit
def _hypot_h(x, y, z, p0, p1):
    # the fp64 result narrowed to fp32 first, for fp16/bf16 outputs (the interpreter cannot store fp64 as bf16)
    return _hypot(x, y, z, p0, p1).to(tl.float32)


@triton.jit
def _copysign(x, y, z, p0, p1):
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    m = tl.abs(x)
    return tl.where(_signbit(y), pw.negate(m), m)


def _np_atan2(x, y):
    return np.arctan2(x, y)


def _atan2_samples():
    base = pair_samples(scalars=())

    def samples(device, dtype):
        yield from base(device, dtype)
        if dtype.kind == _dt.FLOAT:
            xs = [0.0, -0.0, 0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.inf, 1.0, np.nan, 3.0, -2.0, 1e-4]
            ys = [0.0, 0.0, -0.0, -0.0, np.inf, -np.inf, np.inf, -np.inf, 1.0, 0.0, 1.0, -4.0, -5.0, 1e4]
            # fp64 (gradcheck): the finite points away from the origin and the branch cut
            a, b = _special_pair(xs, ys, dtype, device, [9, 11, 12, 13] if dtype is _dt.float64 else None)
            yield Sample((a, b), name="special")

    return samples


atan2_op = _register("atan2", binary_infer("atan2", "float", tensors_only=True), _np_binary(_np_atan2, quiet=True),
                     _tl_binary(_atan2, f64=True, half_fn=_atan2_h),
                     lambda x, y: np.arctan2(np.asarray(x, np.float64), y), _atan2_samples(), ALL, _atan2,
                     bench=_bench(flops_per=20), fast=fast_path(np.arctan2, _FLOAT_DIRECT, scalars=False, quiet=True))
hypot_op = _register("hypot", binary_infer("hypot", "same", allowed=FLOATS, tensors_only=True),
                     _np_binary(np.hypot, quiet=True), _tl_binary(_hypot, f64=True, half_fn=_hypot_h),
                     lambda x, y: np.sqrt(np.square(np.asarray(x, np.float64)) + np.square(y)),
                     _nan_samples(), FLOATS, _hypot, bench=_bench(flops_per=6),
                     fast=fast_path(np.hypot, _FLOAT_DIRECT, scalars=False, quiet=True))
copysign_op = _register("copysign", binary_infer("copysign", "float", tensor_input=True), _np_binary(np.copysign),
                        _tl_binary(_copysign), lambda x, y: np.copysign(np.asarray(x, np.float64), y),
                        pair_samples(scalars=(-2, 0.5, -0.0)), ALL, _copysign,
                        fast=fast_path(np.copysign, _FLOAT_DIRECT, tensor_first=True))


# ------------------------------------------------------------------------------------------- comparisons

@triton.jit
def _eq(x, y, z, p0, p1):
    return x == y


@triton.jit
def _ne(x, y, z, p0, p1):
    return x != y


@triton.jit
def _lt(x, y, z, p0, p1):
    return x < y


@triton.jit
def _le(x, y, z, p0, p1):
    return x <= y


@triton.jit
def _gt(x, y, z, p0, p1):
    return x > y


@triton.jit
def _ge(x, y, z, p0, p1):
    return x >= y


def _comparison_samples():
    base = pair_samples(scalars=(2, 0.5, -1, 300))

    def samples(device, dtype):
        yield from base(device, dtype)
        a = _sample_tensor((6, 5), dtype, device, rng_for("cmp", dtype.name), low=-2, high=3)
        yield Sample((a, a), name="self")  # equal elements everywhere
        if dtype.kind == _dt.FLOAT:
            x = from_array(np.array([np.nan, 1.0, -0.0, np.inf, 0.1], dtype.np))
            y = from_array(np.array([np.nan, np.nan, 0.0, np.inf, 0.1], dtype.np))
            if str(device) != "cpu":
                x, y = x.to(device), y.to(device)
            yield Sample((x, y), name="special")

    return samples


def _comparison(name, np_fn, tl_fn):
    return _register(name, binary_infer(name, "bool", opmath=False, tensor_input=True), _np_binary(np_fn),
                     _tl_binary(tl_fn, round_scalars=True), _int_ref(lambda x, y: np_fn(x, y)),
                     _comparison_samples(), ALL, tl_fn, bench=_bench(out_bytes=1),
                     fast=fast_path(np_fn, _to_bool(_NO_BF16), tensor_first=True))


eq_op = _comparison("eq", np.equal, _eq)
ne_op = _comparison("ne", np.not_equal, _ne)
lt_op = _comparison("lt", np.less, _lt)
le_op = _comparison("le", np.less_equal, _le)
gt_op = _comparison("gt", np.greater, _gt)
ge_op = _comparison("ge", np.greater_equal, _ge)


# --------------------------------------------------------------------------------------------- logical

@triton.jit
def _logical_and(x, y, z, p0, p1):
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    return (x != 0) & (y != 0)


@triton.jit
def _logical_or(x, y, z, p0, p1):
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    return (x != 0) | (y != 0)


@triton.jit
def _logical_xor(x, y, z, p0, p1):
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    return (x != 0) ^ (y != 0)


def _logical_samples():
    base = pair_samples(scalars=(), low=-1, high=2)

    def samples(device, dtype):
        yield from base(device, dtype)
        other = _dt.float32 if dtype is not _dt.float32 else _dt.int64
        a = _sample_tensor((4, 3), dtype, device, rng_for("logical", dtype.name), low=-1, high=2)
        b = _sample_tensor((3,), other, device, rng_for("logical", other.name), low=-1, high=2)
        yield Sample((a, b), name=f"with-{other.name}")

    return samples


def _logical(name, np_fn, tl_fn):
    return _register(name, binary_infer(name, "logical", opmath=False, tensors_only=True), _np_binary(np_fn),
                     _tl_binary(tl_fn), lambda x, y: np_fn(np.asarray(x) != 0, np.asarray(y) != 0),
                     _logical_samples(), ALL, tl_fn, bench=_bench(out_bytes=1),
                     fast=fast_path(np_fn, _to_bool(_NO_BF16), scalars=False))


logical_and_op = _logical("logical_and", np.logical_and, _logical_and)
logical_or_op = _logical("logical_or", np.logical_or, _logical_or)
logical_xor_op = _logical("logical_xor", np.logical_xor, _logical_xor)


# --------------------------------------------------------------------------------------------- bitwise

@triton.jit
def _bitwise_and(x, y, z, p0, p1):
    return x & y


@triton.jit
def _bitwise_or(x, y, z, p0, p1):
    return x | y


@triton.jit
def _bitwise_xor(x, y, z, p0, p1):
    return x ^ y


@triton.jit
def _lshift(x, y, z, p0, p1):
    # PyTorch's shifts: an amount < 0 or >= the bit width gives 0 (C leaves it undefined)
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    ok = (y >= 0) & (y < x.dtype.primitive_bitwidth)
    return tl.where(ok, x << tl.where(ok, y, 0), 0)


@triton.jit
def _rshift(x, y, z, p0, p1):
    # out-of-range amounts fill with the sign: -1 for negative signed values, else 0
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    ok = (y >= 0) & (y < x.dtype.primitive_bitwidth)
    return tl.where(ok, x >> tl.where(ok, y, 0), tl.where(x < 0, -1, 0))


def _np_shift(left: bool):
    def shift(x, y):
        bits = np.asarray(x).dtype.itemsize * 8
        ok = np.greater_equal(y, 0) & np.less(y, bits)
        amount = np.where(ok, y, 0).astype(np.asarray(x).dtype)
        if left:
            return np.where(ok, np.left_shift(x, amount), 0)
        return np.where(ok, np.right_shift(x, amount), np.where(np.less(x, 0), -1, 0))

    return shift


def _shift_ref(left: bool):
    def ref(x, y):
        xa, ya = np.broadcast_arrays(np.asarray(x), np.asarray(y))
        d = _dt.from_numpy_dtype(np.result_type(xa, ya))
        bits = d.itemsize * 8
        vals = []
        for p, q in zip(xa.ravel().tolist(), ya.ravel().tolist()):
            q = _wrap_int(q, _dt.int64 if d.is_signed else d)
            if 0 <= q < bits:
                vals.append(_wrap_int(p << q, d) if left else p >> q)
            else:
                vals.append(0 if left or p >= 0 else -1)
        return np.array(vals, dtype=d.np).reshape(xa.shape)

    return ref


def _bitwise(name, np_fn, tl_fn, ref, allowed=INTEGRAL, err=None, samples=None, fast=None):
    samples = samples or pair_samples(scalars=(3, True), lhs_scalars=(6,), mixed=False)
    return _register(name, binary_infer(name, "same", opmath=False, allowed=allowed, err=err), _np_binary(np_fn),
                     _tl_binary(tl_fn), ref, samples, allowed, tl_fn, fast=fast)


bitwise_and_op = _bitwise("bitwise_and", np.bitwise_and, _bitwise_and, _int_ref(lambda x, y: np.bitwise_and(x, y)),
                          fast=fast_path(np.bitwise_and, _same(INTEGRAL), scalars=False))
bitwise_or_op = _bitwise("bitwise_or", np.bitwise_or, _bitwise_or, _int_ref(lambda x, y: np.bitwise_or(x, y)),
                         fast=fast_path(np.bitwise_or, _same(INTEGRAL), scalars=False))
bitwise_xor_op = _bitwise("bitwise_xor", np.bitwise_xor, _bitwise_xor, _int_ref(lambda x, y: np.bitwise_xor(x, y)),
                          fast=fast_path(np.bitwise_xor, _same(INTEGRAL), scalars=False))
_SHIFT_SAMPLES = pair_samples(rhs_low=-2, rhs_high=70, scalars=(1, 3, 9, 64, -1), lhs_scalars=(5,), mixed=False)
bitwise_left_shift_op = _bitwise("bitwise_left_shift", _np_shift(True), _lshift, _shift_ref(True), _dt.INTS,
                                 "lshift_{dev}", _SHIFT_SAMPLES)
bitwise_right_shift_op = _bitwise("bitwise_right_shift", _np_shift(False), _rshift, _shift_ref(False), _dt.INTS,
                                  "rshift_{dev}", _SHIFT_SAMPLES)


@triton.jit
def _bitwise_not(x, y, z, p0, p1):
    return ~x


def _bitwise_not_infer(a):
    if not isinstance(a, Tensor):
        raise _must_be_tensor("bitwise_not", a, 1)
    d = a.dtype
    if d.kind == _dt.FLOAT:
        raise _not_implemented("bitwise_not_{dev}", a.device, d)
    return Meta(a._data.shape, d, a.device, (d, d, False, d.np))


def _bitwise_not_cpu(meta, a, out=None):
    return finish(np.invert(a._data), meta, out)


def _bitwise_not_cuda(meta, a, out=None):
    return launch(_bitwise_not, [a], meta.shape, meta.dtype, meta.dtype, out)


def _unary_samples(device, dtype):
    rng = rng_for("bitwise_not", dtype.name)
    for shape in [(), (1,), (0,), (2 ** 6 + 17,), (3, 0, 2), (2, 3, 5)]:
        yield Sample((_sample_tensor(shape, dtype, device, rng),), name=f"{shape}")
    yield Sample((_sample_tensor((5, 6), dtype, device, rng, layout="noncontig"),), name="noncontig")
    yield Sample((_sample_tensor((6, 4), dtype, device, rng, layout="transposed"),), name="transposed")


def _bitwise_not_bench():
    def make(size, device, dtype):
        return (make_tensor((size,), dtype, device, rng=rng_for("bench", size, dtype.name)),), {}

    return BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24), make=make, bytes=lambda size, dtype: 2 * size * dtype.itemsize,
                     flops=lambda size: size, dtypes=(_dt.int32, _dt.uint8))


bitwise_not_op = register(OpDef(name="bitwise_not", infer=_bitwise_not_infer,
                                impl={"cpu": _bitwise_not_cpu, "cuda": _bitwise_not_cuda}, family=FAMILY,
                                ref=lambda x: np.invert(x), samples=_unary_samples, dtypes=INTEGRAL,
                                supports_out=True, bench=_bitwise_not_bench(), differentiable=False))
bitwise_not_op.extra.update(arity=1, params=(), tl_fn=_bitwise_not, torch=_torch("bitwise_not"))
for _op in (eq_op, ne_op, lt_op, le_op, gt_op, ge_op, logical_and_op, logical_or_op, logical_xor_op, bitwise_and_op,
            bitwise_or_op, bitwise_xor_op, bitwise_left_shift_op, bitwise_right_shift_op):
    _op.differentiable = False


# ========================================================================================= backward rules
# vjp(ctx, grad) -> one gradient (or None) per Tensor positional argument, in order (a Python-number operand gets
# none), written in tritorch ops on Tensors so they run on both devices and differentiate again. The formulas and
# special-value conventions follow PyTorch's derivatives.yaml. where/zeros_like are imported on first call (the
# ternary family imports this module).

def _where(cond, a, b):
    from .ternary import where_op
    return where_op(cond, a, b)


def _zeros(g):
    from .creation import zeros_like
    return zeros_like(g)


def _is_num(a) -> bool:
    return isinstance(a, _SCALAR_CLASSES)


def _tensor_grads(ctx, args, *fns):
    """One entry per Tensor positional arg: fns[i]() where the arg needs a gradient, else None."""
    needs = ctx.needs_input_grad
    out = []
    i = 0
    for a, fn in zip(args, fns):
        if a is None or (a.__class__ is not Tensor and isinstance(a, _SCALAR_CLASSES)):
            continue
        out.append(fn() if fn is not None and (i >= len(needs) or needs[i]) else None)
        i += 1
    return tuple(out)


def _tensor_operands(a, b) -> int:
    """Which operands of a binary call are tensors (and so get a gradient slot): 1 = a only, 2 = b only,
    3 = both. A call with a single tensor records only because that tensor requires grad."""
    return (0 if a is None or isinstance(a, _SCALAR_CLASSES) else 1) | \
        (0 if b is None or isinstance(b, _SCALAR_CLASSES) else 2)


# add, sub, mul and div are the backward pass's commonest nodes: their rules are written out (no closures).

def _add_vjp(ctx, grad):
    a, b = ctx.args  # only which are tensors matters
    which = _tensor_operands(a, b)
    if which == 1:
        return grad
    alpha = ctx.kwargs.get("alpha", 1)
    gb = grad if alpha == 1 else grad * alpha
    if which == 2:
        return gb
    needs = ctx.needs_input_grad
    return (grad if needs[0] else None, gb if needs[1] else None)


def _sub_vjp(ctx, grad):
    a, b = ctx.args  # only which are tensors matters
    which = _tensor_operands(a, b)
    if which == 1:
        return grad
    needs = ctx.needs_input_grad
    if which == 3 and not needs[1]:
        return (grad, None)
    alpha = ctx.kwargs.get("alpha", 1)
    gb = -grad if alpha == 1 else grad * (-alpha)
    return gb if which == 2 else (grad if needs[0] else None, gb)


def _mul_vjp(ctx, grad):
    a, b = ctx.inputs
    which = _tensor_operands(a, b)
    if which == 1:
        return grad * b
    if which == 2:
        return grad * a
    needs = ctx.needs_input_grad
    return (grad * b if needs[0] else None, grad * a if needs[1] else None)


def _div_vjp(ctx, grad):
    a, b = ctx.inputs
    if ctx.kwargs.get("rounding_mode") is not None:  # trunc/floor division: zero gradient, as in PyTorch
        return _tensor_grads(ctx, (a, b), lambda: _zeros(grad), lambda: _zeros(grad))
    which = _tensor_operands(a, b)
    if which == 1:
        return grad / b
    needs = ctx.needs_input_grad
    gb = -grad * ((a / b) / b) if which == 2 or needs[1] else None
    if which == 2:
        return gb
    return (grad / b if needs[0] else None, gb)


def _remainder_vjp(ctx, grad):
    # d/dx = 1; d/dy = -floor(x / y)
    a, b = ctx.inputs
    return _tensor_grads(ctx, (a, b), lambda: grad, lambda: -grad * div_op(a, b, rounding_mode="floor"))


def _fmod_vjp(ctx, grad):
    # d/dx = 1; d/dy = -trunc(x / y)
    a, b = ctx.inputs
    return _tensor_grads(ctx, (a, b), lambda: grad, lambda: -grad * div_op(a, b, rounding_mode="trunc"))


def _pow_vjp(ctx, grad):
    # PyTorch's pow_backward / pow_backward_self / pow_backward_exponent: the base gets 0 where the exponent is 0;
    # the exponent gets 0 where the base is 0 and the exponent >= 0, else result * log(base)
    a, b = ctx.inputs

    def g_base():
        if _is_num(b):
            if b == 0:
                return _zeros(grad)
            return grad * (pow_op(a, b - 1) * b)
        return grad * _where(b == 0, 0.0, b * pow_op(a, b - 1))

    def g_exp():
        result = pow_op(a, b)
        if _is_num(a):
            if a == 0:
                return grad * _where(b >= 0, 0.0, result * float("-inf"))
            return grad * (result * (math.log(a) if a > 0 else float("nan")))
        return grad * _where((a == 0) & (b >= 0), 0.0, result * a.log())

    return _tensor_grads(ctx, (a, b), g_base, g_exp)


def _minmax_vjp(is_max):
    # maximum/minimum: ties split the gradient half/half; NaN sends it to both operands (PyTorch's masked_fill)
    def vjp(ctx, grad):
        a, b = ctx.inputs
        shared = _where(a == b, grad / 2, grad)
        lose_a, lose_b = (a < b, a > b) if is_max else (a > b, a < b)
        return _tensor_grads(ctx, (a, b), lambda: _where(lose_a, 0.0, shared), lambda: _where(lose_b, 0.0, shared))

    return vjp


def _fminmax_vjp(is_max):
    # fmax/fmin: the first operand wins ties and where the other is NaN (PyTorch's rule)
    def vjp(ctx, grad):
        a, b = ctx.inputs
        first = ((a >= b) if is_max else (a <= b)) | (b != b)
        return _tensor_grads(ctx, (a, b), lambda: _where(first, grad, 0.0), lambda: _where(first, 0.0, grad))

    return vjp


def _atan2_vjp(ctx, grad):
    a, b = ctx.inputs
    d = a * a + b * b
    recip = _where(d == 0, 0.0, 1.0 / d)  # zero gradient at the origin, as in PyTorch
    return _tensor_grads(ctx, (a, b), lambda: grad * (b * recip), lambda: grad * (-a * recip))


def _hypot_vjp(ctx, grad):
    a, b = ctx.inputs
    r = hypot_op(a, b)
    return _tensor_grads(ctx, (a, b), lambda: grad * (a / r), lambda: grad * (b / r))


def _copysign_vjp(ctx, grad):
    # the magnitude's gradient is sign(result) / sign(x), 0 at x = 0; the sign source gets zero (PyTorch)
    a, b = ctx.inputs
    return _tensor_grads(ctx, (a, b), lambda: grad * _where(a == 0, 0.0, copysign_op(a, b) / a),
                         lambda: _zeros(grad))


add_op.vjp, add_op.save = _add_vjp, "none"
sub_op.vjp, sub_op.save = _sub_vjp, "none"
mul_op.vjp = _mul_vjp
div_op.vjp = _div_vjp
remainder_op.vjp = _remainder_vjp
fmod_op.vjp = _fmod_vjp
pow_op.vjp = _pow_vjp
maximum_op.vjp = _minmax_vjp(True)
minimum_op.vjp = _minmax_vjp(False)
fmax_op.vjp = _fminmax_vjp(True)
fmin_op.vjp = _fminmax_vjp(False)
atan2_op.vjp = _atan2_vjp
hypot_op.vjp = _hypot_vjp
copysign_op.vjp = _copysign_vjp


# ======================================================================================== public functions

def _coerce(x):
    """An operand from outside tritorch: NumPy scalars become Python scalars, arrays cpu tensors; anything else
    NotImplemented (so Python tries the other operand's method, or raises TypeError)."""
    if isinstance(x, (Tensor, bool, int, float)):
        return x
    if isinstance(x, complex):
        _dt._complex_in_use()
        return x
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return from_array(x)
    return NotImplemented


def _arg(x):
    if x.__class__ in _OPERAND_CLASSES:
        return x
    y = _coerce(x)
    return x if y is NotImplemented else y  # the op's infer raises PyTorch's TypeError for it


_PY_NUMBERS = (bool, int, float, complex)


def _first(input, other):
    """add/sub/mul/div's input: as PyTorch's, these take two Python numbers (torch.div(7, 2, rounding_mode="trunc")
    is tensor(3)), the first then being the 0-dim tensor torch.tensor(input) would make."""
    if input.__class__ is Tensor:   # (the common call: one frame, as _arg alone was)
        return input
    if input.__class__ in _PY_NUMBERS and not isinstance(other, Tensor):
        from .creation import tensor
        return tensor(input)
    return _arg(input)


def add(input, other, *, alpha=1, out=None):
    """input + alpha * other, broadcast and promoted (torch.add)."""
    if alpha.__class__ is int and alpha == 1:
        return add_op(_first(input, other), _arg(other), out=out)
    return add_op(_first(input, other), _arg(other), alpha=alpha, out=out)


def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other (torch.sub); bool operands raise as in PyTorch."""
    if alpha.__class__ is int and alpha == 1:
        return sub_op(_first(input, other), _arg(other), out=out)
    return sub_op(_first(input, other), _arg(other), alpha=alpha, out=out)


subtract = sub


def mul(input, other, *, out=None):
    return mul_op(_first(input, other), _arg(other), out=out)


multiply = mul


def div(input, other, *, rounding_mode=None, out=None):
    """True division (float result) or, with rounding_mode 'trunc'/'floor', rounded division in the promoted dtype."""
    if rounding_mode is None:
        return div_op(_first(input, other), _arg(other), out=out)
    return div_op(_first(input, other), _arg(other), rounding_mode=rounding_mode, out=out)


divide = div


def true_divide(input, other, *, out=None):
    return div_op(_first(input, other), _arg(other), out=out)


def floor_divide(input, other, *, out=None):
    return div_op(_first(input, other), _arg(other), rounding_mode="floor", out=out)


def remainder(input, other, *, out=None):
    """Python's modulo: the result has the sign of the divisor."""
    return remainder_op(_arg(input), _arg(other), out=out)


def fmod(input, other, *, out=None):
    """C's fmod: the result has the sign of the dividend."""
    return fmod_op(_arg(input), _arg(other), out=out)


def pow(input, exponent, *, out=None):  # noqa: A001 - torch's name
    """input ** exponent; either may be a Python scalar."""
    return pow_op(_arg(input), _arg(exponent), out=out)


def maximum(input, other, *, out=None):
    """Elementwise maximum; NaN if either is NaN."""
    return maximum_op(input, other, out=out)


def minimum(input, other, *, out=None):
    return minimum_op(input, other, out=out)


def fmax(input, other, *, out=None):
    """Elementwise maximum ignoring NaN (NaN only where both are)."""
    return fmax_op(input, other, out=out)


def fmin(input, other, *, out=None):
    return fmin_op(input, other, out=out)


def atan2(input, other, *, out=None):
    """The angle of the point (other, input): atan(input / other) in the right quadrant."""
    return atan2_op(input, other, out=out)


arctan2 = atan2


def hypot(input, other, *, out=None):
    return hypot_op(input, other, out=out)


def copysign(input, other, *, out=None):
    return copysign_op(_arg(input), _arg(other), out=out)


def eq(input, other, *, out=None):
    return eq_op(input, _arg(other), out=out)


def ne(input, other, *, out=None):
    return ne_op(input, _arg(other), out=out)


def lt(input, other, *, out=None):
    return lt_op(input, _arg(other), out=out)


def le(input, other, *, out=None):
    return le_op(input, _arg(other), out=out)


def gt(input, other, *, out=None):
    return gt_op(input, _arg(other), out=out)


def ge(input, other, *, out=None):
    return ge_op(input, _arg(other), out=out)


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def logical_and(input, other, *, out=None):
    return logical_and_op(input, other, out=out)


def logical_or(input, other, *, out=None):
    return logical_or_op(input, other, out=out)


def logical_xor(input, other, *, out=None):
    return logical_xor_op(input, other, out=out)


def bitwise_and(input, other, *, out=None):
    return bitwise_and_op(_arg(input), _arg(other), out=out)


def bitwise_or(input, other, *, out=None):
    return bitwise_or_op(_arg(input), _arg(other), out=out)


def bitwise_xor(input, other, *, out=None):
    return bitwise_xor_op(_arg(input), _arg(other), out=out)


def bitwise_not(input, *, out=None):
    return bitwise_not_op(input, out=out)


def bitwise_left_shift(input, other, *, out=None):
    return bitwise_left_shift_op(_arg(input), _arg(other), out=out)


def bitwise_right_shift(input, other, *, out=None):
    return bitwise_right_shift_op(_arg(input), _arg(other), out=out)


# ============================================================================ Tensor operators and methods

def _operator(op, **fixed):
    """Tensor.__op__(self, other): op(self, other). Tensors and Python scalars go straight to the op (the hot path
    of `a + b`); NumPy values are converted; anything else gives NotImplemented, so Python raises its TypeError."""
    if fixed:
        def method(self, other):
            if other.__class__ not in _OPERAND_CLASSES:
                other = _coerce(other)
                if other is NotImplemented:
                    return NotImplemented
            return op(self, other, **fixed)
    elif op.autocast is None:
        fast = op.fast or (lambda a, b: None)

        def method(self, other):
            if other.__class__ in _OPERAND_CLASSES and not _FLAGS.subclass:
                # the op's cpu shortcut first: one Python frame less on the hot path of `a * b` (not while a
                # TorchFunctionMode or a Tensor subclass is around: the registry's call dispatches to them)
                r = fast(self, other)
                return r if r is not None else op(self, other)
            if other.__class__ in _OPERAND_CLASSES:
                return op(self, other)
            other = _coerce(other)
            if other is NotImplemented:
                return NotImplemented
            return op(self, other)
    else:
        fast = op.fast or (lambda a, b: None)

        def method(self, other):
            if other.__class__ in _OPERAND_CLASSES:
                # (not in an autocast region: the op's policy may cast the operands first)
                r = fast(self, other) if not _FLAGS.autocast and not _FLAGS.subclass else None
                return r if r is not None else op(self, other)
            other = _coerce(other)
            if other is NotImplemented:
                return NotImplemented
            return op(self, other)
    return method


def _reflected(op, **fixed):
    """Tensor.__rop__(self, other): op(other, self), for `2 - t` (other is then never a Tensor)."""

    def method(self, other):
        if other.__class__ not in _OPERAND_CLASSES:
            other = _coerce(other)
            if other is NotImplemented:
                return NotImplemented
        return op(other, self, **fixed)

    return method


def _inplace_operator(op, **fixed):
    """Tensor.__iop__: op(self, other, out=self); the registry checks castability and shape before writing."""

    def method(self, other):
        if other.__class__ not in _OPERAND_CLASSES:
            other = _coerce(other)
            if other is NotImplemented:
                return NotImplemented
        return op(self, other, out=self, **fixed)

    return method


def _inplace(fn):
    """Tensor.<name>_(self, *args, **kw) = fn(self, *args, out=self, **kw)."""

    def method(self, *args, **kwargs):
        return fn(self, *args, out=self, **kwargs)

    method.__name__ = fn.__name__ + "_"
    return method


def _add_method(self, other, *, alpha=1, out=None):
    if alpha.__class__ is int and alpha == 1:
        return add_op(self, _arg(other), out=out)
    return add_op(self, _arg(other), alpha=alpha, out=out)


def _invert(self):
    if self.dtype.kind == _dt.FLOAT:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return bitwise_not_op(self)


def _eq_operator(self, other):
    # PyTorch returns a tensor for tensors and numbers; other objects compare by identity (NotImplemented)
    if other.__class__ in _OPERAND_CLASSES:
        return eq_op(self, other)
    other = _coerce(other)
    return NotImplemented if other is NotImplemented else eq_op(self, other)


def _ne_operator(self, other):
    if other.__class__ in _OPERAND_CLASSES:
        return ne_op(self, other)
    other = _coerce(other)
    return NotImplemented if other is NotImplemented else ne_op(self, other)


_tensor_hash = Tensor.__hash__

_bind.methods(
    # arithmetic operators
    __add__=_operator(add_op), __radd__=_reflected(add_op), __iadd__=_inplace_operator(add_op),
    __sub__=_operator(sub_op), __rsub__=_reflected(sub_op), __isub__=_inplace_operator(sub_op),
    __mul__=_operator(mul_op), __rmul__=_reflected(mul_op), __imul__=_inplace_operator(mul_op),
    __truediv__=_operator(div_op), __rtruediv__=_reflected(div_op), __itruediv__=_inplace_operator(div_op),
    __floordiv__=_operator(div_op, rounding_mode="floor"), __rfloordiv__=_reflected(div_op, rounding_mode="floor"),
    __ifloordiv__=_inplace_operator(div_op, rounding_mode="floor"),
    __mod__=_operator(remainder_op), __rmod__=_reflected(remainder_op), __imod__=_inplace_operator(remainder_op),
    __pow__=_operator(pow_op), __rpow__=_reflected(pow_op), __ipow__=_inplace_operator(pow_op),
    # comparisons (a Tensor stays hashable by identity)
    __eq__=_eq_operator, __ne__=_ne_operator, __lt__=_operator(lt_op), __le__=_operator(le_op),
    __gt__=_operator(gt_op), __ge__=_operator(ge_op), __hash__=_tensor_hash,
    # bitwise operators
    __and__=_operator(bitwise_and_op), __rand__=_reflected(bitwise_and_op), __iand__=_inplace_operator(bitwise_and_op),
    __or__=_operator(bitwise_or_op), __ror__=_reflected(bitwise_or_op), __ior__=_inplace_operator(bitwise_or_op),
    __xor__=_operator(bitwise_xor_op), __rxor__=_reflected(bitwise_xor_op), __ixor__=_inplace_operator(bitwise_xor_op),
    __lshift__=_operator(bitwise_left_shift_op), __rlshift__=_reflected(bitwise_left_shift_op),
    __ilshift__=_inplace_operator(bitwise_left_shift_op),
    __rshift__=_operator(bitwise_right_shift_op), __rrshift__=_reflected(bitwise_right_shift_op),
    __irshift__=_inplace_operator(bitwise_right_shift_op),
    __invert__=_invert,
    # named methods
    add=_add_method, sub=sub, subtract=sub, mul=mul, multiply=mul, div=div, divide=div, true_divide=true_divide,
    floor_divide=floor_divide, remainder=remainder, fmod=fmod, pow=pow, maximum=maximum, minimum=minimum,
    fmax=fmax, fmin=fmin, atan2=atan2, arctan2=atan2, hypot=hypot, copysign=copysign,
    eq=eq, ne=ne, lt=lt, le=le, gt=gt, ge=ge, greater=gt, greater_equal=ge, less=lt, less_equal=le, not_equal=ne,
    logical_and=logical_and, logical_or=logical_or, logical_xor=logical_xor,
    bitwise_and=bitwise_and, bitwise_or=bitwise_or, bitwise_xor=bitwise_xor, bitwise_not=bitwise_not,
    bitwise_left_shift=bitwise_left_shift, bitwise_right_shift=bitwise_right_shift,
    # in-place methods: op(self, ..., out=self)
    add_=_inplace(add), sub_=_inplace(sub), subtract_=_inplace(sub), mul_=_inplace(mul), multiply_=_inplace(mul),
    div_=_inplace(div), divide_=_inplace(div), true_divide_=_inplace(true_divide),
    floor_divide_=_inplace(floor_divide), remainder_=_inplace(remainder), fmod_=_inplace(fmod), pow_=_inplace(pow),
    atan2_=_inplace(atan2), arctan2_=_inplace(atan2), hypot_=_inplace(hypot), copysign_=_inplace(copysign),
    eq_=_inplace(eq), ne_=_inplace(ne), lt_=_inplace(lt), le_=_inplace(le), gt_=_inplace(gt), ge_=_inplace(ge),
    greater_=_inplace(gt), greater_equal_=_inplace(ge), less_=_inplace(lt), less_equal_=_inplace(le),
    not_equal_=_inplace(ne), logical_and_=_inplace(logical_and), logical_or_=_inplace(logical_or),
    logical_xor_=_inplace(logical_xor), bitwise_and_=_inplace(bitwise_and), bitwise_or_=_inplace(bitwise_or),
    bitwise_xor_=_inplace(bitwise_xor), bitwise_not_=lambda self: bitwise_not_op(self, out=self),
    bitwise_left_shift_=_inplace(bitwise_left_shift), bitwise_right_shift_=_inplace(bitwise_right_shift),
)


# ============================================================================ logaddexp, xlogy, float_power
#
# Appended section. Bytes per launch as for every binary op: each tensor operand read once per output element,
# the output written once. logaddexp computes in fp64 (like atan2), so fp32 results are correctly rounded.

@triton.jit
def _log1p_f64(x):
    # Kahan's accurate log1p (no libdevice): log(u) * x / (u - 1) with u = 1 + x rounded
    u = 1.0 + x
    um1 = u - 1.0
    r = tl.log(u) * (x / um1)
    return tl.where(um1 == 0.0, x, r)


@triton.jit
def _logaddexp(x, y, z, p0, p1):
    # log(e^x + e^y) = max + log1p(exp(-|x - y|)); equal infinities give themselves (their difference is NaN)
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    m = tl.maximum(x, y)
    r = m + _log1p_f64(tl.exp(-tl.abs(x - y)))
    r = tl.where((x == y) & (tl.abs(x) == float("inf")), x, r)
    return tl.where((x != x) | (y != y), x + y, r)


@triton.jit
def _logaddexp_h(x, y, z, p0, p1):
    # the fp64 result narrowed to fp32 first, for fp16/bf16 outputs (the interpreter cannot store fp64 as bf16)
    return _logaddexp(x, y, z, p0, p1).to(tl.float32)


@triton.jit
def _xlogy(x, y, z, p0, p1):
    # x * log(y), 0 where x == 0 unless y is NaN (PyTorch's xlogy)
    x, y = tl.broadcast(x, y)  # see _BROADCAST_NOTE
    r = tl.where(x == 0, 0.0, x * tl.log(y))
    return tl.where(y != y, y, r)


def _np_logaddexp(x, y):
    """log(e^x + e^y) = max(x, y) + log1p(exp(-|x - y|)), branch-free (np.logaddexp branches per element: 10x
    slower on unpredictable operands). Equal infinities have a NaN difference, which fmin against 0 drops (their
    max is the result); a NaN operand makes the max NaN."""
    x, y = np.asarray(x), np.asarray(y)
    shape = np.broadcast_shapes(x.shape, y.shape)
    d = np.subtract(x, y, out=np.empty(shape, np.result_type(x, y)))
    np.abs(d, out=d)
    np.negative(d, out=d)
    np.fmin(d, d.dtype.type(0), out=d)
    np.exp(d, out=d)
    np.log1p(d, out=d)
    d += np.maximum(x, y)
    return d


def _np_xlogy(x, y):
    r = np.multiply(x, np.log(y))
    r = np.where(np.equal(x, 0), r.dtype.type(0), r)
    return np.where(np.isnan(y), y, r)


def _xlogy_ref(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    with np.errstate(all="ignore"):
        return np.where(np.isnan(y), np.nan, np.where(x == 0, 0.0, x * np.log(y)))


def _logaddexp_samples():
    base = pair_samples(scalars=())

    def samples(device, dtype):
        yield from base(device, dtype)
        xs = [np.inf, -np.inf, -np.inf, np.inf, np.nan, 0.0, 30.0, -2.0, 1.5]
        ys = [np.inf, -np.inf, 1.0, -np.inf, 1.0, 0.0, -30.0, 3.0, 1.5]
        # fp64 (gradcheck): finite points only
        a, b = _special_pair(xs, ys, dtype, device, [5, 6, 7, 8] if dtype is _dt.float64 else None)
        yield Sample((a, b), name="special")

    return samples


def _xlogy_samples():
    base = pair_samples(low=-3, high=3, rhs_low=0.5, rhs_high=4, scalars=(2, 0.5), lhs_scalars=(3,))

    def samples(device, dtype):
        yield from base(device, dtype)
        if dtype.kind == _dt.FLOAT:
            xs = [0.0, 0.0, 0.0, 1.0, 2.0, -1.0, 1.5, np.nan, 2.0]
            ys = [0.0, np.nan, np.inf, 0.0, np.inf, np.nan, 2.5, 1.0, 3.0]
            a, b = _special_pair(xs, ys, dtype, device, [6, 8] if dtype is _dt.float64 else None)
            yield Sample((a, b), name="special")

    return samples


def _float_power_infer(a, b):
    """Both operands become float64 (PyTorch's float_power); shape and device as for any binary op."""
    meta = plan("float_power", (a, b), "float", "float_power", None, False)
    f64 = _dt.float64
    casts = tuple(not (isinstance(x, Tensor) and x.dtype is f64) for x in (a, b))
    return Meta(meta.shape, f64, meta.device, (f64, f64) + casts + (np.dtype(np.float64),))


def _float_power_ref(x, y):
    with np.errstate(all="ignore"):
        return np.power(np.asarray(x, np.float64), np.asarray(y, np.float64))


logaddexp_op = _register("logaddexp", binary_infer("logaddexp", "same", allowed=FLOATS, tensors_only=True),
                         _np_binary(_np_logaddexp, quiet=True), _tl_binary(_logaddexp, f64=True, half_fn=_logaddexp_h),
                         lambda x, y: np.logaddexp(np.asarray(x, np.float64), np.asarray(y, np.float64)),
                         _logaddexp_samples(), FLOATS, _logaddexp, bench=_bench(flops_per=8),
                         fast=fast_path(_np_logaddexp, _FLOAT_DIRECT, scalars=False, quiet=True))
xlogy_op = _register("xlogy", binary_infer("xlogy", "float"), _np_binary(_np_xlogy, quiet=True), _tl_binary(_xlogy),
                     _xlogy_ref, _xlogy_samples(), ALL, _xlogy, bench=_bench(flops_per=3))
float_power_op = _register("float_power", _float_power_infer, _np_binary(np.power, quiet=True),
                           _tl_binary(_pow, f64=True), _float_power_ref, _pow_samples(), ALL, _pow,
                           bench=_bench(flops_per=10))


def _logaddexp_vjp(ctx, grad):
    # d/dx = 1 / (1 + e^(y - x)) = sigmoid(x - y), and sigmoid(y - x) for y
    from .unary import sigmoid
    a, b = ctx.inputs
    return _tensor_grads(ctx, (a, b), lambda: grad * sigmoid(a - b), lambda: grad * sigmoid(b - a))


def _xlogy_vjp(ctx, grad):
    # PyTorch: d/dx = xlogy(grad, y), zeroed where x == 0 and y <= 0; d/dy = grad * x / y
    a, b = ctx.inputs

    def g_input():
        g = xlogy_op(grad, b)
        if _is_num(b):
            return _where(a == 0, 0.0, g) if b <= 0 else g
        return _where((a == 0) & (b <= 0), 0.0, g)

    return _tensor_grads(ctx, (a, b), g_input, lambda: grad * (a / b))


def _float_power_vjp(ctx, grad):
    # pow's rule on the float64 operands; each gradient is returned in its operand's dtype
    a, b = ctx.inputs
    a64 = a.to(_dt.float64) if isinstance(a, Tensor) else float(a)
    b64 = b.to(_dt.float64) if isinstance(b, Tensor) else float(b)

    class _Ctx:
        inputs = (a64, b64)
        kwargs = {}
        needs_input_grad = ctx.needs_input_grad

    grads = iter(_pow_vjp(_Ctx, grad))
    out = []
    for x in (a, b):
        if isinstance(x, Tensor):
            g = next(grads)
            out.append(g if g is None or g.dtype is x.dtype else g.to(x.dtype))
    return tuple(out)


logaddexp_op.vjp = _logaddexp_vjp
xlogy_op.vjp = _xlogy_vjp
float_power_op.vjp = _float_power_vjp


def logaddexp(input, other, *, out=None):
    """log(exp(input) + exp(other)) without overflow."""
    return logaddexp_op(input, other, out=out)


def xlogy(input, other, *, out=None):
    """input * log(other), with 0 where input is 0 (unless other is NaN)."""
    return xlogy_op(_arg(input), _arg(other), out=out)


def float_power(input, exponent, *, out=None):
    """input ** exponent computed in float64 (the result is float64)."""
    return float_power_op(_arg(input), _arg(exponent), out=out)


def _float_power_inplace(self, exponent):
    if self.dtype is not _dt.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {_type_name(self.dtype)} but the operation's "
                           "result requires dtype Double")
    return float_power(self, exponent, out=self)


_bind.methods(logaddexp=logaddexp, xlogy=xlogy, float_power=float_power, logaddexp_=_inplace(logaddexp),
              xlogy_=_inplace(xlogy), float_power_=_float_power_inplace)
__all__ += ["logaddexp", "xlogy", "float_power"]
