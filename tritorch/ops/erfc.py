"""The complementary error function family: erfc (torch.erfc) and erfcx (torch.special.erfcx, exp(x^2) erfc(x)),
registered pointwise ops with a Triton scalar function, a NumPy fallback, a float64 reference, samples and a
bench spec; tritorch.special's log_ndtr and ndtr are built on them.

Both backends evaluate one float64 algorithm (other float inputs widened, the result rounded through the float32
compute dtype):
  erfcx(x), x >= 2   Laplace's continued fraction 1 / (sqrt(pi) (x + 1/2 / (x + 1 / (x + 3/2 / (x + ...))))),
                     evaluated from the tail: 64 terms for float64 (its full accuracy from x = 2 on), 20 for
                     float32 and narrower (1e-9; their erf below 2 is unary.py's float32-accurate rational too);
  erfcx(x), x < 2    exp(x^2) (1 - erf(x)) (erfc >= 0.0047 there: 1 - erf loses at most 2.4e-14 relative);
                     below zero erfcx(x) = 2 exp(x^2) - erfcx(-x);
  erfc(x)            1 - erf(x) below 2, exp(-x^2) erfcx(x) from 2 on (no cancellation in the tail, where
                     1 - erf(x) would be all rounding error); exp(+-x^2) with x^2 split into an exact square and a
                     small rest (x rounded to float32: z^2 is exact in float64), as fdlibm does.
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
from .unary import (_SPECIAL, _bench, _erf64, _erf_rational64, _float64_fallback, _inplace, _only, _public,
                    _samples, _with_checks)

FAMILY = "erfc"

__all__ = ["erfc"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_CF_TERMS = 64
_TERMS_SINGLE = 20   # float32 and narrower: relative error below 1e-9 from 2 on
_CF_FROM = 2.0


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
def _terms(x):
    # continued-fraction terms for x's compute dtype: 64 give float64's accuracy from 2 on, 20 float32's (1e-9)
    if x.dtype == tl.float64:
        return 64
    else:
        return 20


@triton.jit
def _erfcx_fn(x, y, z, p0, p1):
    return _erfcx64(x.to(tl.float64), _terms(x)).to(x.dtype)


@triton.jit
def _erfc64(x, TERMS: tl.constexpr):
    far = x >= 2.0
    xt = tl.minimum(tl.where(far, x, 2.0), 40.0)   # (erfc underflows from 27.3 on)
    tail = _exp_square(xt, -1.0) * _erfcx_tail(xt, TERMS)
    out = tl.where(far, tail, 1.0 - tl.erf(tl.where(far, 0.0, x)))
    return tl.where(x == float("inf"), 0.0, out)


@triton.jit
def _erfc_fn(x, y, z, p0, p1):
    return _erfc64(x.to(tl.float64), _terms(x)).to(x.dtype)


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


def _erfcx64_np(x: np.ndarray, single: bool = False) -> np.ndarray:
    a = np.abs(x)
    far = a >= _CF_FROM
    pos = np.exp(a * a) * (1.0 - _erf_near(np.where(far, 0.0, a), single))
    idx = np.flatnonzero(far)
    if idx.size:
        pos[idx] = _erfcx_tail_np(a[idx], _TERMS_SINGLE if single else _CF_TERMS)
    out = np.where(x < 0.0, 2.0 * _exp_square_np(np.maximum(x, -40.0), 1.0) - pos, pos)
    out[x == np.inf] = 0.0
    return out


def _erfc64_np(x: np.ndarray, single: bool = False) -> np.ndarray:
    out = 1.0 - _erf_near(np.where(x >= _CF_FROM, 0.0, x), single)
    idx = np.flatnonzero(x >= _CF_FROM)
    if idx.size:
        xi = np.minimum(x[idx], 40.0)
        out[idx] = _exp_square_np(xi, -1.0) * _erfcx_tail_np(xi, _TERMS_SINGLE if single else _CF_TERMS)
    out[x == np.inf] = 0.0
    return out


def _erf_near(x: np.ndarray, single: bool) -> np.ndarray:
    """erf below 2: fdlibm's (float64), or for values that came from float32 or below the one-rational erf of
    unary.py (accurate to float32's precision, 3x faster)."""
    return _erf_rational64(x.copy()) if single else _erf64(x)


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
    fallback = _float64_fallback(lambda x: np_fn(x, False), lambda x: np_fn(x, True))   # (float32's is cheaper)
    op = pw.declare(name, np_fn=fallback, tl_fn=tl_fn, kind="float", ref=ref, arity=1, family=FAMILY,
                    dtypes=dtypes, allowed=dtypes if limited else None, samples=_samples(low, high, specials),
                    extra={"torch": torch_fn}, vjp=vjp,
                    bench=_bench("float", low, high, 80, (_dt.float32,) if limited else (_dt.float32, _dt.float16)))
    return _with_checks(op, _only(dtypes) if limited else None)


erfc_op = _declare("erfc", np_fn=_erfc64_np, tl_fn=_erfc_fn, ref=_erfc_ref, torch_fn=lambda torch, x: torch.erfc(x),
                   low=-4, high=9, vjp=_erfc_vjp,
                   specials=_SPECIAL + [1e-30, 0.5, 1.99, 2.0, 2.01, 5.0, 9.0, 26.0, 27.5, -1.0, -3.0, -6.0])
erfcx_op = _declare("erfcx", np_fn=_erfcx64_np, tl_fn=_erfcx_fn, ref=_erfcx_ref,
                    torch_fn=lambda torch, x: torch.special.erfcx(x), low=-3, high=9, vjp=_erfcx_vjp,
                    dtypes=tuple(d for d in _dt.ALL if d not in (_dt.float16, _dt.bfloat16)),   # (as PyTorch's)
                    specials=[0.0, -0.0, math.inf, math.nan, 1e-30, 0.5, 1.99, 2.0, 2.01, 5.0, 30.0, 1e5, -1.0,
                              -2.5])

erfc = _public(erfc_op, "1 - erf(input), elementwise, accurate in the upper tail.")
erfcx = _public(erfcx_op, "exp(input^2) erfc(input), elementwise (torch.special.erfcx).")

_bind.methods(erfc=erfc, erfc_=_inplace(erfc, "erfc_"))
