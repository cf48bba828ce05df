"""gcd and lcm of integer tensors (torch.gcd, torch.lcm), broadcast and promoted as every binary op.

PyTorch computes gcd by Euclid's loop on |a| and |b| in the operands' own integer type, with C's truncating
remainder, and lcm as |a / g * b| (0 where g is 0): in int (32 bits) for the 8- and 16-bit types, as C promotes
them, and in the type itself for int32 and int64, both wrapping on overflow before being stored. The Triton
kernel runs that loop; the NumPy fallback takes np.gcd (the same value wherever |x| is representable) and runs the
loop only for the elements holding the type's minimum, whose |x| wraps to itself (gcd(int8 -128, 5) is -1 in
PyTorch). Neither op is differentiable; floats and bools raise PyTorch's "gcd_cpu" not implemented error.
Bytes per launch: each operand's elements read once per output element, the output written once.
"""
from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..tensor import from_array
from . import _bind
from .binary import _bench, _inplace, _np_binary, _tl_binary, binary_infer, pair_samples
from .registry import OpDef, Sample, register
from .samples import rng_for

FAMILY = "gcd"

__all__ = ["gcd", "lcm"]

_INTS = _dt.INTS
# lcm's product a / g * b is computed in C's int for these (then wraps into the type), in the type for the rest
_NARROW = (np.uint8, np.int8, np.int16)


# ============================================================================================ Triton side

@triton.jit
def _abs(v):
    # |v| wrapping as C's abs (|min| is min); unsigned values are their own magnitude
    if v.dtype.is_int_signed():
        r = tl.where(v < 0, 0 - v, v)
    else:
        r = v
    return r


@triton.jit
def _euclid(x, y):
    # PyTorch's calc_gcd: a, b = |x|, |y|; while a != 0: a, b = b % a, a; return b (C's truncating remainder)
    x, y = tl.broadcast(x, y)  # a scalar operand is broadcast to the block first (see binary._BROADCAST_NOTE)
    a = _abs(x)
    b = _abs(y)
    while tl.max(tl.where(a != 0, 1, 0)) > 0:
        live = a != 0
        safe = tl.where(live, a, 1)
        r = b % safe
        b = tl.where(live, a, b)
        a = tl.where(live, r, a)
    return b


@triton.jit
def _gcd_fn(x, y, z, p0, p1):
    return _euclid(x, y)


@triton.jit
def _lcm_fn(x, y, z, p0, p1):
    g = _euclid(x, y)
    if x.dtype.primitive_bitwidth < 32:
        xw = x.to(tl.int32)
        yw = y.to(tl.int32)
        gw = g.to(tl.int32)
    else:
        xw = x
        yw = y
        gw = g
    xw, yw = tl.broadcast(xw, yw)
    q = xw // tl.where(gw == 0, 1, gw)   # exact: g divides x
    return tl.where(gw == 0, 0, _abs(q * yw))


# ============================================================================================ NumPy side

def _euclid_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """PyTorch's loop on 1-D arrays of one integer dtype (np.fmod is C's truncating remainder)."""
    with np.errstate(over="ignore"):
        a, b = np.abs(a), np.abs(b)
    live = a != 0
    while live.any():
        r = np.fmod(b[live], a[live])
        b[live] = a[live]
        a[live] = r
        live = a != 0
    return b


def _np_gcd(x, y):
    """np.gcd, with the elements holding the type's minimum (|min| wraps to min) redone by PyTorch's loop."""
    x, y = np.broadcast_arrays(np.asarray(x), np.asarray(y))
    g = np.gcd(x, y)
    if g.ndim == 0:
        g = np.array(g)   # NumPy gives a scalar for 0-dim operands; the fix-up below writes into an array
    if g.dtype.kind == "i":
        low = np.iinfo(g.dtype).min
        odd = (x == low) | (y == low)
        if odd.any():
            g[odd] = _euclid_np(x[odd].astype(g.dtype), y[odd].astype(g.dtype))
    return g


def _np_lcm(x, y):
    g = _np_gcd(x, y)
    wide = np.int32 if g.dtype.type in _NARROW else g.dtype
    xw, yw, gw = (np.asarray(v).astype(wide) for v in (x, y, g))
    with np.errstate(over="ignore", divide="ignore"):
        q = np.floor_divide(xw, np.where(gw == 0, 1, gw))  # exact, so floor is C's truncation
        r = np.abs(q * yw)
    return np.where(gw == 0, 0, r).astype(g.dtype)


# ======================================================================== references (Python integers)

def _ref(lcm: bool):
    """Python's arbitrary-precision math of PyTorch's formulas, wrapped into the result's type at each step
    where C's arithmetic would wrap (|x|, the remainder loop, the product)."""

    def wrap(v, bits, signed):
        v &= (1 << bits) - 1
        return v - (1 << bits) if signed and v >= 1 << (bits - 1) else v

    def one(p, q, bits, signed):
        a, b = wrap(abs(p), bits, signed), wrap(abs(q), bits, signed)
        while a != 0:
            r = abs(b) % abs(a) * (1 if b >= 0 else -1)   # C's remainder takes the dividend's sign
            a, b = r, a
        if not lcm:
            return b
        if b == 0:
            return 0
        wide = 32 if bits < 32 else bits
        quotient = abs(p) // abs(b) * (1 if (p < 0) == (b < 0) else -1)
        return wrap(wrap(abs(wrap(quotient * q, wide, True)), wide, True), bits, signed)

    def ref(x, y):
        x, y = np.broadcast_arrays(np.asarray(x), np.asarray(y))
        d = np.result_type(x, y)
        bits, signed = d.itemsize * 8, d.kind == "i"
        vals = [one(int(p), int(q), bits, signed) for p, q in zip(x.ravel().tolist(), y.ravel().tolist())]
        return np.array(vals, dtype=np.int64).astype(d).reshape(x.shape)

    return ref


# ============================================================================================ the ops

def _samples():
    """Broadcast pairs from binary.pair_samples (signs mixed, zeros), plus each type's extremes: 0 with 0, the
    minimum (whose |x| wraps), the maximum, and products that overflow lcm."""
    base = pair_samples(low=-40, high=41, scalars=(), mixed=False)

    def samples(device, dtype):
        yield from base(device, dtype)
        info = np.iinfo(dtype.np)
        lo, hi = int(info.min), int(info.max)
        xs = [0, 0, 7, lo, lo, lo, hi, hi, hi - 1, lo + 1, 12, -18 if lo < 0 else 18]
        ys = [0, 5, 0, 0, lo, 6, hi, hi - 1, 3, 2, 18, 12]
        rng = rng_for("gcd-special", dtype.name)
        order = rng.permutation(len(xs))
        a = from_array(np.array([xs[i] for i in order], dtype=np.int64).astype(dtype.np))
        b = from_array(np.array([ys[i] for i in order], dtype=np.int64).astype(dtype.np))
        if str(device) != "cpu":
            a, b = a.to(device), b.to(device)
        yield Sample((a, b), name="extremes")

    return samples


def _declare(name, np_fn, tl_fn, lcm):
    op = register(OpDef(name=name, infer=binary_infer(name, "same", opmath=False, allowed=_INTS,
                                                      tensors_only=True),
                        impl={"cpu": _np_binary(np_fn), "cuda": _tl_binary(tl_fn)}, family=FAMILY, ref=_ref(lcm),
                        samples=_samples(), dtypes=_INTS, supports_out=True, differentiable=False,
                        bench=_bench(flops_per=40)))
    op.extra["arity"] = 2
    op.extra["params"] = ()
    op.extra["tl_fn"] = tl_fn
    op.extra["torch"] = lambda torch, a, b: getattr(torch, name)(a, b)
    return op


gcd_op = _declare("gcd", _np_gcd, _gcd_fn, False)
lcm_op = _declare("lcm", _np_lcm, _lcm_fn, True)


def gcd(input, other, *, out=None):
    """The greatest common divisor of input and other, elementwise (torch.gcd); integer tensors only."""
    return gcd_op(input, other, out=out)


def lcm(input, other, *, out=None):
    """The least common multiple of input and other, elementwise (torch.lcm); integer tensors only, wrapping on
    overflow as PyTorch's does."""
    return lcm_op(input, other, out=out)


_bind.methods(gcd=gcd, lcm=lcm, gcd_=_inplace(gcd), lcm_=_inplace(lcm))
