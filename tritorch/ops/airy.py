"""The Airy function Ai (torch.special.airy_ai), a registered pointwise op with a Triton scalar function, a NumPy
fallback, a float64 reference (mpmath), samples and a bench spec.

Both backends evaluate Cephes' method (airy.c by S. L. Moshier) in float64 (ops/special_common.py):
  x < -2.09          Ai = (|x|^-1/4 / sqrt(pi)) (sin(zeta + pi/4) F(1/zeta^2) - cos(zeta + pi/4) G(1/zeta) / zeta),
                     zeta = 2/3 |x|^3/2, with F and G rational (monic denominators: PyTorch's port drops their
                     leading 1 and loses up to ~1e-3 relative there);
  -2.09 <= x < 2.09  the Maclaurin series c1 f(x) - c2 g(x) with f, g the two power series in x^3 (18 terms: the
                     last is below 1e-40 of the first at |x| = 2.09);
  x >= 2.09          Ai = e^-zeta P(1/zeta) / (2 sqrt(pi) x^1/4), P rational; 0 past 103.892 (underflow).
Accuracy: a few ulp for x <= 0 and x >= 2.09 (there up to zeta ulp: e^-zeta's conditioning); between 0 and 2.09 the
series' two halves cancel (Ai(2.08) = 0.032 from halves near 1): a few ulp of the halves, up to ~60 ulp of Ai just
below 2.09 (Cephes' and PyTorch's method alike); for x < -2.09 the phase zeta + pi/4 carries zeta's rounding (the
function's own conditioning, ~1.5 zeta eps of the envelope).
Ai(+-inf) = 0 (PyTorch gives NaN); NaN in, NaN out. Like PyTorch, no derivative (Ai' is not an op here).
Bytes per launch: n elements read, n written.
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from .special_common import const, declare_unary, float64_fallback, mp_ref, p1evl, p1evl_np, polevl, polevl_np
from .unary import _samples

FAMILY = "airy"

__all__ = ["airy_ai"]

# Cephes airy.c coefficients (the same numbers as PyTorch's ATen/native/Math.h)
_AN = const([0.346538101525629, 12.007595273964581, 76.27960536152345, 168.08922493463058, 159.75639135016442,
             70.53609068404442, 14.026469116338967, 1.0])
_AD = const([0.5675945326387702, 14.75625625848472, 84.51389701414746, 177.31808814540045, 164.2346928715297,
             71.47784008255756, 14.095913560783403, 1.0])
_AFN = const([-0.1316963234183318, -0.6264565444319123, -0.6931580360369335, -0.2797799815451191,
              -0.04919001326095003, -0.004062659235948854, -0.0001592764962392621, -2.776491081552329e-06,
              -1.6778769848911465e-08])
_AFD = const([13.356042070655324, 32.682503279522464, 26.736704094149957, 9.187074029072596, 1.4752914677166642,
              0.11568717379518804, 0.004402916416152112, 7.547203482874142e-05, 4.5185009297058035e-07])
_AGN = const([0.01973399320916857, 0.39110302961568827, 1.0657989759959559, 0.9391692298166502, 0.35146565610554764,
              0.06338889196289255, 0.005858041130483885, 0.000282851600836737, 6.98793669997261e-06,
              8.117892395543892e-08, 3.415517847659236e-10])
_AGD = const([9.30892908077442, 19.835292871831214, 15.564662893286462, 5.476860694229755, 0.9542936116189619,
              0.08645808263523921, 0.004126565238242226, 0.00010125908511650914, 1.1716673321441352e-06,
              4.9183457006293e-09])
_C1 = tl.constexpr(0.35502805388781723926)    # Ai(0)
_C2 = tl.constexpr(0.258819403792806798405)   # -Ai'(0)
_SQPII = tl.constexpr(0.5641895835477562869)   # 1 / sqrt(pi)
_SERIES_TERMS = tl.constexpr(18)
_LOW, _HIGH, _ZERO_PAST = tl.constexpr(-2.09), tl.constexpr(2.09), tl.constexpr(103.892)


# ============================================================================================ Triton side

@triton.jit
def _airy_ai(x):
    # Ai(x) in float64
    # x < -2.09: the oscillating asymptotic form
    xn = tl.maximum(tl.minimum(x, _LOW), -1e100)   # (finite phase for x = -inf, which is decided below)
    t = tl.sqrt(-xn)
    zeta = -2.0 * xn * t / 3.0
    z = 1.0 / zeta
    zz = z * z
    uf = 1.0 + zz * polevl(zz, _AFN, 9) / p1evl(zz, _AFD, 9)
    ug = z * polevl(zz, _AGN, 11) / p1evl(zz, _AGD, 10)
    theta = zeta + 0.7853981633974483
    neg = (_SQPII / tl.sqrt(t)) * (tl.sin(theta) * uf - tl.cos(theta) * ug)
    # x >= 2.09: the decaying asymptotic form
    xp = tl.minimum(tl.maximum(x, _HIGH), _ZERO_PAST)
    tp = tl.sqrt(xp)
    zp = 2.0 * xp * tp / 3.0
    pos = _SQPII * (polevl(1.0 / zp, _AN, 8) / polevl(1.0 / zp, _AD, 8)) / (2.0 * tl.sqrt(tp) * tl.exp(zp))
    # |x| < 2.09: the Maclaurin series f = sum x^3k / (2 3 5 6 ... (3k-1) 3k), g = sum x^(3k+1) / (3 4 6 7 ...)
    xm = tl.minimum(tl.maximum(x, _LOW), _HIGH)
    c = xm * xm * xm
    f = tl.full(x.shape, 1.0, tl.float64)
    g = xm
    uf = f
    ug = g
    k = 1.0
    for _ in tl.static_range(_SERIES_TERMS):
        uf = uf * c / ((k + 1.0) * (k + 2.0))
        ug = ug * c / ((k + 2.0) * (k + 3.0))
        f += uf
        g += ug
        k += 3.0
    mid = _C1 * f - _C2 * g
    r = tl.where(x < _LOW, neg, tl.where(x < _HIGH, mid, pos))
    r = tl.where((x > _ZERO_PAST) | (x == float("-inf")), 0.0, r)
    return tl.where(x != x, x, r)


@triton.jit
def _airy_ai_fn(x, y, z, p0, p1):
    return _airy_ai(x.to(tl.float64)).to(x.dtype)


# ============================================================================================ NumPy side

def _airy_ai_np(x: np.ndarray) -> np.ndarray:
    """The kernel's _airy_ai on a float64 array."""
    xn = np.maximum(np.minimum(x, _LOW.value), -1e100)
    t = np.sqrt(-xn)
    zeta = -2.0 * xn * t / 3.0
    z = 1.0 / zeta
    zz = z * z
    uf = 1.0 + zz * polevl_np(zz, _AFN) / p1evl_np(zz, _AFD)
    ug = z * polevl_np(zz, _AGN) / p1evl_np(zz, _AGD)
    theta = zeta + 0.7853981633974483
    neg = (_SQPII.value / np.sqrt(t)) * (np.sin(theta) * uf - np.cos(theta) * ug)
    xp = np.minimum(np.maximum(x, _HIGH.value), _ZERO_PAST.value)
    tp = np.sqrt(xp)
    zp = 2.0 * xp * tp / 3.0
    pos = _SQPII.value * (polevl_np(1.0 / zp, _AN) / polevl_np(1.0 / zp, _AD)) / (2.0 * np.sqrt(tp) * np.exp(zp))
    xm = np.minimum(np.maximum(x, _LOW.value), _HIGH.value)
    c = xm * xm * xm
    f = np.ones_like(xm)
    g = xm.copy()
    uf, ug = f, g
    k = 1.0
    for _ in range(_SERIES_TERMS.value):
        uf = uf * c / ((k + 1.0) * (k + 2.0))
        ug = ug * c / ((k + 2.0) * (k + 3.0))
        f = f + uf
        g = g + ug
        k += 3.0
    mid = _C1.value * f - _C2.value * g
    r = np.where(x < _LOW.value, neg, np.where(x < _HIGH.value, mid, pos))
    r = np.where((x > _ZERO_PAST.value) | (x == -np.inf), 0.0, r)
    return np.where(np.isnan(x), x, r)


# ==================================================================================== float64 reference

def _mp_airy_ai(v: float) -> float:
    if math.isnan(v):
        return v
    if math.isinf(v):
        return 0.0
    import mpmath
    with mpmath.workdps(40):
        return float(mpmath.airyai(v))


# ============================================================================================== the op

_SPECIALS = [0.0, -0.0, -2.0899, -2.09, -2.0901, 2.0899, 2.09, 2.0901, 8.32, 8.33, -30.0, 103.0, 104.0, 1e-30]

airy_ai_op, airy_ai = declare_unary(
    "airy_ai", family=FAMILY, np_fn=float64_fallback(_airy_ai_np), tl_fn=_airy_ai_fn, ref=mp_ref(_mp_airy_ai),
    samples=_samples(-12, 12, _SPECIALS), torch_fn=lambda torch, x: torch.special.airy_ai(x),
    doc="The Airy function Ai of the input, elementwise (torch.special.airy_ai).")
