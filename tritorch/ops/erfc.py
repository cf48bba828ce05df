"""The complementary error function family: erfc (torch.erfc) and erfcx (torch.special.erfcx, exp(x^2) erfc(x)),
registered pointwise ops with a Triton scalar function, a NumPy fallback, a float64 reference, samples and a
bench spec; tritorch.special's log_ndtr and ndtr are built on them.

Float64 inputs take a float64 algorithm on both backends:
  erfcx(x), x >= 2   Laplace's continued fraction 1 / (sqrt(pi) (x + 1/2 / (x + 1 / (x + 3/2 / (x + ...))))),
                     evaluated from the tail, 64 terms (float64's full accuracy from x = 2 on);
  erfcx(x), x < 2    exp(x^2) (1 - erf(x)) (erfc >= 0.0047 there: 1 - erf loses at most 2.4e-14 relative);
                     below zero erfcx(x) = 2 exp(x^2) - erfcx(-x);
  erfc(x)            1 - erf(x) below 2, exp(-x^2) erfcx(x) from 2 on (no cancellation in the tail, where
                     1 - erf(x) would be all rounding error); exp(+-x^2) with x^2 split into an exact square and a
                     small rest (x rounded to float32: z^2 is exact in float64), as fdlibm does.
Float32, float16 and bfloat16 inputs take a float32 algorithm (as PyTorch's kernels do; the float64 one cost 14x
PyTorch's time on an H200 and 21x on the cpu), within about 3 ulp of float32 everywhere:
  erfcx(|x|)         P(t) / (1 + 2|x|), t = (|x| - 2) / (|x| + 2): (1 + 2a) erfcx(a) is smooth and bounded on
                     [0, inf), and a degree-12 polynomial in t fits it to 5e-9 (tools/fit_erfcx32.py; the change of
                     variable is Shepherd and Laframboise's);
  erfc(x)            exp(-x^2) erfcx(|x|), and 2 minus that below zero (erfc >= 1 there: no cancellation);
  erfcx(x), x < 0    2 exp(x^2) - erfcx(-x);
  exp(+-x^2)         one float64 exp (x^2 is exact in float64; Triton's float32 exp rounds x log2(e) first, an
                     error of up to |x^2| ulp), and the products and differences with it in float64 too.
Gradients: erfc' = -2/sqrt(pi) exp(-x^2), erfcx' = 2 x erfcx(x) - 2/sqrt(pi), both in ops (any order).
Bytes per launch: n elements read, n written.
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from . import _bind
from . import pointwise as pw
from .unary import _SPECIAL, _bench, _erf64, _float64_fallback, _inplace, _only, _public, _samples, _with_checks

FAMILY = "erfc"

__all__ = ["erfc"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_CF_TERMS = 64
_CF_FROM = 2.0
# (1 + 2a) erfcx(a) = P((a - 2) / (a + 2)), a >= 0: coefficients of t^0 .. t^12 (tools/fit_erfcx32.py)
_P32 = (1.2769784, -0.09276376, -0.16603038, 0.16404942, -0.054220323, -0.008018787, 0.008724733, 0.0012169958,
        -0.001464136, -0.00035749582, 0.00022150393, 0.00006321224, -0.00002019935)
_P32_NP = np.array(_P32, np.float32)
_T_CAP = 2.0 ** 30   # t's argument is capped (t is 1 in float32 long before): t(inf) would be inf / inf


# =========================================================================================== Triton helpers

@triton.jit
def _erfcx_tail(a, TERMS: tl.constexpr):
    # erfcx(a) for a >= 2 (float64): Laplace's continued fraction, TERMS terms from the tail
    t = tl.zeros_like(a)
    for i in range(0, TERMS):
        t = ((TERMS - i) * 0.5) / (a + t)
    return 0.5641895835477563 / (a + t)   # 1 / sqrt(pi)


@triton.jit
def _exp_square(x, sign):
    # exp(sign x^2) with x^2 split so that its rounding does not spread: z = x rounded to float32, so z * z is exact
    # in float64 and (z - x)(z + x) is small (x^2's rounding would cost x^2 ulp of the result: 7e-14 at 26)
    z = x.to(tl.float32).to(tl.float64)
    return tl.exp(sign * z * z) * tl.exp(sign * (x - z) * (x + z))


@triton.jit
def _erfcx64(x, TERMS: tl.constexpr):
    a = tl.abs(x)
    far = a >= 2.0
    tail = _erfcx_tail(tl.where(far, a, 2.0), TERMS)
    near = tl.exp(a * a) * (1.0 - tl.erf(tl.where(far, 0.0, a)))
    pos = tl.where(far, tail, near)                                 # erfcx(|x|)
    neg = 2.0 * _exp_square(tl.maximum(x, -40.0), 1.0) - pos      # erfcx(-|x|) (inf below -26.6)
    out = tl.where(x < 0.0, neg, pos)
    return tl.where(x == float("inf"), 0.0, out)


@triton.jit
def _erfcx_pos32(a):
    # erfcx(a), a >= 0 (float32): the fitted polynomial P(t) / (1 + 2a), written as (P / 2) / (a + 1/2) so that
    # 2a cannot overflow before the division
    t = tl.minimum(a, 1073741824.0)
    t = (t - 2.0) / (t + 2.0)
    p = -0.00002019935
    p = p * t + 0.00006321224
    p = p * t + 0.00022150393
    p = p * t + -0.00035749582
    p = p * t + -0.001464136
    p = p * t + 0.0012169958
    p = p * t + 0.008724733
    p = p * t + -0.008018787
    p = p * t + -0.054220323
    p = p * t + 0.16404942
    p = p * t + -0.16603038
    p = p * t + -0.09276376
    p = p * t + 1.2769784
    return (0.5 * p) / (a + 0.5)


@triton.jit
def _exp_square64(x, sign):
    # exp(sign x^2) in float64 for float32 x (x^2 is exact in float64): accurate where float32's exp would not be
    x64 = x.to(tl.float64)
    return tl.exp(sign * x64 * x64)


@triton.jit
def _erfcx32(x):
    pos = _erfcx_pos32(tl.abs(x))
    neg = (2.0 * _exp_square64(x, 1.0) - pos.to(tl.float64)).to(tl.float32)
    return tl.where(x < 0.0, neg, pos)


@triton.jit
def _erfc32(x):
    v = _exp_square64(x, -1.0) * _erfcx_pos32(tl.abs(x)).to(tl.float64)
    return tl.where(x < 0.0, 2.0 - v, v).to(tl.float32)


@triton.jit
def _erfcx_fn(x, y, z, p0, p1):
    if x.dtype == tl.float64:
        r = _erfcx64(x, 64)
    else:
        r = _erfcx32(x.to(tl.float32)).to(x.dtype)
    return r


@triton.jit
def _erfc64(x, TERMS: tl.constexpr):
    far = x >= 2.0
    xt = tl.minimum(tl.where(far, x, 2.0), 40.0)   # (erfc underflows from 27.3 on)
    tail = _exp_square(xt, -1.0) * _erfcx_tail(xt, TERMS)
    out = tl.where(far, tail, 1.0 - tl.erf(tl.where(far, 0.0, x)))
    return tl.where(x == float("inf"), 0.0, out)


@triton.jit
def _erfc_fn(x, y, z, p0, p1):
    if x.dtype == tl.float64:
        r = _erfc64(x, 64)
    else:
        r = _erfc32(x.to(tl.float32)).to(x.dtype)
    return r


# ============================================================================================ NumPy side

def _erfcx_tail_np(a: np.ndarray, terms: int = _CF_TERMS) -> np.ndarray:
    t = np.zeros_like(a)
    for n in range(terms, 0, -1):
        t = (n * 0.5) / (a + t)
    return (1.0 / math.sqrt(math.pi)) / (a + t)


def _exp_square_np(x: np.ndarray, sign: float) -> np.ndarray:
    """exp(sign x^2), x^2 split as in the kernel's _exp_square."""
    z = x.astype(np.float32).astype(np.float64)
    return np.exp(sign * z * z) * np.exp(sign * (x - z) * (x + z))


def _erfcx64_np(x: np.ndarray) -> np.ndarray:
    a = np.abs(x)
    far = a >= _CF_FROM
    pos = np.exp(a * a) * (1.0 - _erf64(np.where(far, 0.0, a)))
    idx = np.flatnonzero(far)
    if idx.size:
        pos[idx] = _erfcx_tail_np(a[idx])
    out = np.where(x < 0.0, 2.0 * _exp_square_np(np.maximum(x, -40.0), 1.0) - pos, pos)
    out[x == np.inf] = 0.0
    return out


def _erfc64_np(x: np.ndarray) -> np.ndarray:
    out = 1.0 - _erf64(np.where(x >= _CF_FROM, 0.0, x))
    idx = np.flatnonzero(x >= _CF_FROM)
    if idx.size:
        xi = np.minimum(x[idx], 40.0)
        out[idx] = _exp_square_np(xi, -1.0) * _erfcx_tail_np(xi)
    out[x == np.inf] = 0.0
    return out


def _erfcx_pos32_np(a: np.ndarray) -> np.ndarray:
    """The kernel's _erfcx_pos32 on a float32 array (a >= 0)."""
    t = np.minimum(a, np.float32(_T_CAP))
    t = (t - np.float32(2)) / (t + np.float32(2))
    p = np.full_like(t, _P32_NP[-1])
    for c in _P32_NP[-2::-1]:
        p *= t
        p += c
    p *= np.float32(0.5)
    p /= a + np.float32(0.5)
    return p


def _exp_square64_np(x: np.ndarray, sign: float) -> np.ndarray:
    """The kernel's _exp_square64: exp(sign x^2) in float64 for float32 x (x^2 exact in float64)."""
    d = x.astype(np.float64)
    d *= d
    if sign < 0:
        np.negative(d, out=d)
    return np.exp(d, out=d)


def _erfcx32_np(x: np.ndarray) -> np.ndarray:
    pos = _erfcx_pos32_np(np.abs(x))
    neg = x < 0
    if neg.any():
        with np.errstate(over="ignore"):
            pos[neg] = 2.0 * _exp_square64_np(x[neg], 1.0) - pos[neg]
    return pos


def _erfc32_np(x: np.ndarray) -> np.ndarray:
    a = np.abs(x)
    v = _exp_square64_np(a, -1.0)
    v *= _erfcx_pos32_np(a)
    np.subtract(2.0, v, out=v, where=x < 0)
    return v.astype(np.float32)


# ====================================================================== float64 references (C library)

def _erfc_ref(x):
    x = np.asarray(x, np.float64)
    return np.vectorize(math.erfc, otypes=[np.float64])(x) if x.size else x.copy()


def _erfcx_one(v: float) -> float:
    if math.isnan(v):
        return v
    if v == math.inf:
        return 0.0
    if v < 2.0:
        return math.exp(v * v) * math.erfc(v) if v > -26.7 else math.inf
    try:
        import mpmath
    except ImportError:   # (without mpmath: this module's continued fraction, evaluated in Python floats)
        return float(_erfcx_tail_np(np.array([v]))[0])
    with mpmath.workdps(30):
        return float(mpmath.exp(mpmath.mpf(v) ** 2) * mpmath.erfc(v))


def _erfcx_ref(x):
    x = np.asarray(x, np.float64)
    return np.vectorize(_erfcx_one, otypes=[np.float64])(x) if x.size else x.copy()


# ====================================================================================== backward rules

def _erfc_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * ((-(x * x)).exp() * -_TWO_OVER_SQRT_PI)


def _erfcx_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * (2.0 * x * erfcx(x) - _TWO_OVER_SQRT_PI)


# ============================================================================================ the ops

def _declare(name, *, np_fn, tl_fn, ref, torch_fn, low, high, specials, vjp, dtypes=_dt.ALL):
    limited = dtypes is not _dt.ALL
    fallback = _float64_fallback(*np_fn, narrow_f32=True)   # (np_fn: the float64 and the float32 algorithms)
    op = pw.declare(name, np_fn=fallback, tl_fn=tl_fn, kind="float", ref=ref, arity=1, family=FAMILY, dtypes=dtypes,
                    allowed=dtypes if limited else None, samples=_samples(low, high, specials),
                    extra={"torch": torch_fn}, vjp=vjp,
                    bench=_bench("float", low, high, 80, (_dt.float32,) if limited else (_dt.float32, _dt.float16)))
    return _with_checks(op, _only(dtypes) if limited else None)


erfc_op = _declare("erfc", np_fn=(_erfc64_np, _erfc32_np), tl_fn=_erfc_fn, ref=_erfc_ref,
                   torch_fn=lambda torch, x: torch.erfc(x), low=-4, high=9, vjp=_erfc_vjp,
                   specials=_SPECIAL + [1e-30, 0.5, 1.99, 2.0, 2.01, 5.0, 9.0, 26.0, 27.5, -1.0, -3.0, -6.0])
erfcx_op = _declare("erfcx", np_fn=(_erfcx64_np, _erfcx32_np), tl_fn=_erfcx_fn, ref=_erfcx_ref,
                    torch_fn=lambda torch, x: torch.special.erfcx(x), low=-3, high=9, vjp=_erfcx_vjp,
                    dtypes=tuple(d for d in _dt.ALL if d not in (_dt.float16, _dt.bfloat16)),   # (as PyTorch's)
                    specials=[0.0, -0.0, math.inf, math.nan, 1e-30, 0.5, 1.99, 2.0, 2.01, 5.0, 30.0, 1e5, -1.0,
                              -2.5])

erfc = _public(erfc_op, "1 - erf(input), elementwise, accurate in the upper tail.")
erfcx = _public(erfcx_op, "exp(input^2) erfc(input), elementwise (torch.special.erfcx).")

_bind.methods(erfc=erfc, erfc_=_inplace(erfc, "erfc_"))
