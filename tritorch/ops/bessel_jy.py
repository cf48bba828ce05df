"""The Bessel functions of the first and second kind, orders 0 and 1: bessel_j0, bessel_j1, bessel_y0, bessel_y1
(torch.special's), registered pointwise ops with a Triton scalar function, a NumPy fallback, a float64 reference
(mpmath), samples and a bench spec.

Both backends evaluate Cephes' method (j0.c, j1.c by S. L. Moshier) in float64 (ops/special_common.py):
  |x| <= 5   J0 = (z - r1^2)(z - r2^2) P(z) / Q(z), J1 = x (z - r1^2)(z - r2^2) P(z) / Q(z) with z = x^2 and r1, r2
             the first two zeros (so both stay accurate relative to their value there), Y0 = R(z) + (2/pi) log(x) J0,
             Y1 = x R(z) + (2/pi) (J1 log(x) - 1/x);
  |x| > 5    Hankel's form sqrt(2 / (pi x)) (P cos(x - phase) -+ (5/x) Q sin(x - phase)) (sin and cos swapped for Y)
             with P, Q rational in 25 / x^2 and phase pi/4 (order 0) or 3 pi/4 (order 1).
Q's denominators are monic (Cephes' p1evl): PyTorch's port drops their leading 1, which costs it up to 4e-7
relative error between 3 and 8 (tests/ops/test_bessel_jy.py measures both against mpmath).
Accuracy: within a few times 1e-16 of the largest nearby value (absolute, relative to sqrt(2 / (pi x))); relative
accuracy near a zero past the first two is the function's conditioning there, as in every float64 algorithm.
Special values: J0(+-inf) = J1(+-inf) = Y0(inf) = Y1(inf) = 0 (PyTorch gives NaN: cos(inf)); Y0(0) = Y1(0) = -inf,
NaN below 0 and for NaN (as PyTorch).
spherical_bessel_j0(x) = sin(x) / x, by its Taylor polynomial to x^12 below |x| = 0.5 (truncation below 5e-17
relative; PyTorch's method), 0 at +-inf.
Gradients in ops: J0' = -J1, J1' = J0 - J1/x (1/2 at 0), Y0' = -Y1, Y1' = Y0 - Y1/x, j0' = (cos x - j0(x)) / x (its
Taylor polynomial below 0.5, where that difference cancels); PyTorch has none.
Bytes per launch: n elements read, n written.
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from .special_common import const, declare_unary, float64_fallback, mp_ref, p1evl, p1evl_np, polevl, polevl_np
from .unary import _samples

FAMILY = "bessel_jy"

__all__ = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "spherical_bessel_j0"]

# Cephes j0.c / j1.c coefficients (the same as PyTorch's ATen/native/Math.h)
_PP0 = const([7.96936729297347051624e-04, 8.28352392107440799803e-02, 1.23953371646414299388e+00,
              5.44725003058768775090e+00, 8.74716500199817011941e+00, 5.30324038235394892183e+00,
              9.99999999999999997821e-01])
_PQ0 = const([9.24408810558863637013e-04, 8.56288474354474431428e-02, 1.25352743901058953537e+00,
              5.47097740330417105182e+00, 8.76190883237069594232e+00, 5.30605288235394617618e+00,
              1.00000000000000000218e+00])
_QP0 = const([-1.13663838898469149931e-02, -1.28252718670509318512e+00, -1.95539544257735972385e+01,
              -9.32060152123768231369e+01, -1.77681167980488050595e+02, -1.47077505154951170175e+02,
              -5.14105326766599330220e+01, -6.05014350600728481186e+00])
_QQ0 = const([6.43178256118178023184e+01, 8.56430025976980587198e+02, 3.88240183605401609683e+03,
              7.24046774195652478189e+03, 5.93072701187316984827e+03, 2.06209331660327847417e+03,
              2.42005740240291393179e+02])
_RP0 = const([-4.79443220978201773821e+09, 1.95617491946556577543e+12, -2.49248344360967716204e+14,
              9.70862251047306323952e+15])
_RQ0 = const([4.99563147152651017219e+02, 1.73785401676374683123e+05, 4.84409658339962045305e+07,
              1.11855537045356834862e+10, 2.11277520115489217587e+12, 3.10518229857422583814e+14,
              3.18121955943204943306e+16, 1.71086294081043136091e+18])
_YP0 = const([1.55924367855235737965e+04, -1.46639295903971606143e+07, 5.43526477051876500413e+09,
              -9.82136065717911466409e+11, 8.75906394395366999549e+13, -3.46628303384729719441e+15,
              4.42733268572569800351e+16, -1.84950800436986690637e+16])
_YQ0 = const([1.04128353664259848412e+03, 6.26107330137134956842e+05, 2.68919633393814121987e+08,
              8.64002487103935000337e+10, 2.02979612750105546709e+13, 3.17157752842975028269e+15,
              2.50596256172653059228e+17])
_PP1 = const([7.62125616208173112003e-04, 7.31397056940917570436e-02, 1.12719608129684925192e+00,
              5.11207951146807644818e+00, 8.42404590141772420927e+00, 5.21451598682361504063e+00,
              1.00000000000000000254e+00])
_PQ1 = const([5.71323128072548699714e-04, 6.88455908754495404082e-02, 1.10514232634061696926e+00,
              5.07386386128601488557e+00, 8.39985554327604159757e+00, 5.20982848682361821619e+00,
              9.99999999999999997461e-01])
_QP1 = const([5.10862594750176621635e-02, 4.98213872951233449420e+00, 7.58238284132545283818e+01,
              3.66779609360150777800e+02, 7.10856304998926107277e+02, 5.97489612400613639965e+02,
              2.11688757100572135698e+02, 2.52070205858023719784e+01])
_QQ1 = const([7.42373277035675149943e+01, 1.05644886038262816351e+03, 4.98641058337653607651e+03,
              9.56231892404756170795e+03, 7.99704160447350683650e+03, 2.82619278517639096600e+03,
              3.36093607810698293419e+02])
_RP1 = const([-8.99971225705559398224e+08, 4.52228297998194034323e+11, -7.27494245221818276015e+13,
              3.68295732863852883286e+15])
_RQ1 = const([6.20836478118054335476e+02, 2.56987256757748830383e+05, 8.35146791431949253037e+07,
              2.21511595479792499675e+10, 4.74914122079991414898e+12, 7.84369607876235854894e+14,
              8.95222336184627338078e+16, 5.32278620332680085395e+18])
_YP1 = const([1.26320474790178026440e+09, -6.47355876379160291031e+11, 1.14509511541823727583e+14,
              -8.12770255501325109621e+15, 2.02439475713594898196e+17, -7.78877196265950026825e+17])
_YQ1 = const([5.94301592346128195359e+02, 2.35564092943068577943e+05, 7.34811944459721705660e+07,
              1.87601316108706159478e+10, 3.88231277496238566008e+12, 6.20557727146953693363e+14,
              6.87141087355300489866e+16, 3.97270608116560655612e+18])
# squares of the first two zeros of J0 and J1
_J0_Z1, _J0_Z2 = tl.constexpr(5.78318596294678452118e+00), tl.constexpr(3.04712623436620863991e+01)
_J1_Z1, _J1_Z2 = tl.constexpr(1.46819706421238932572e+01), tl.constexpr(4.92184563216946036703e+01)
# sin(x) / x = sum_k (-1)^k x^2k / (2k + 1)!, k = 6 down to 0: Horner's coefficients in z = x^2
_SINC = tl.constexpr(tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(6, -1, -1)))
_SQ2OPI = tl.constexpr(0.79788456080286535587989)   # sqrt(2 / pi)
_TWO_OVER_PI = tl.constexpr(0.63661977236758134308)
# pi/4 and 3 pi/4 as float64 values and their rounding errors (the phase x - pi/4 is carried as s + t)
_PIO4, _THPIO4 = tl.constexpr(math.pi / 4), tl.constexpr(3 * math.pi / 4)
_PIO4_LO = tl.constexpr(3.061616997868383e-17)     # pi/4 - float64(pi/4)
_THPIO4_LO = tl.constexpr(9.184850993605148e-17)   # 3 pi/4 - float64(3 pi/4)


# ============================================================================================ Triton side

@triton.jit
def _near(a, ORDER: tl.constexpr):
    # J_ORDER(a) for 0 <= a <= 5 (benign for other a)
    z = a * a
    if ORDER == 0:
        r = (z - _J0_Z1) * (z - _J0_Z2) * polevl(z, _RP0, 4) / p1evl(z, _RQ0, 8)
        r = tl.where(a < 1e-5, 1.0 - 0.25 * z, r)
    else:
        r = a * (z - _J1_Z1) * (z - _J1_Z2) * polevl(z, _RP1, 4) / p1evl(z, _RQ1, 8)
    return r


@triton.jit
def _cos_sin_shifted(a, HI: tl.constexpr, LO: tl.constexpr):
    # (cos, sin) of a - (HI + LO) for a >= 5: the difference a - HI rounded to s, its exact error by Knuth's
    # two-sum, and the remainder t = error - LO taken to first order (|t| < 1e-12), so that the phase loses nothing
    # to rounding (a plain a - pi/4 costs up to |a| eps absolute: 4e-13 at a = 8e3)
    a = tl.where(a < float("inf"), a, 5.0)
    s = a - HI
    bb = s - a
    t = ((a - (s - bb)) + (-HI - bb)) - LO
    c = tl.cos(s)
    sn = tl.sin(s)
    return c - t * sn, sn + t * c


@triton.jit
def _far(a, ORDER: tl.constexpr, SECOND: tl.constexpr):
    # J_ORDER(a) (SECOND false) or Y_ORDER(a) for a > 5 (benign for other a); 0 at inf
    w = 5.0 / a
    z = w * w
    if ORDER == 0:
        p = polevl(z, _PP0, 7) / polevl(z, _PQ0, 7)
        q = polevl(z, _QP0, 8) / p1evl(z, _QQ0, 7)
        c, sn = _cos_sin_shifted(a, _PIO4, _PIO4_LO)
    else:
        p = polevl(z, _PP1, 7) / polevl(z, _PQ1, 7)
        q = polevl(z, _QP1, 8) / p1evl(z, _QQ1, 7)
        c, sn = _cos_sin_shifted(a, _THPIO4, _THPIO4_LO)
    if SECOND:
        r = p * sn + w * q * c
    else:
        r = p * c - w * q * sn
    return tl.where(a < float("inf"), r * _SQ2OPI / tl.sqrt(a), 0.0)


@triton.jit
def _j(x, ORDER: tl.constexpr):
    # J_ORDER(x) in float64 (J0 even, J1 odd)
    a = tl.abs(x)
    small = a <= 5.0
    r = tl.where(small, _near(tl.minimum(a, 5.0), ORDER), _far(tl.maximum(a, 5.0), ORDER, False))
    if ORDER == 1:
        r = tl.where(x < 0.0, r * -1.0, r)
        r = tl.where(x == 0.0, x, r)   # J1(-0) = -0
    return tl.where(x != x, x, r)


@triton.jit
def _y(x, ORDER: tl.constexpr):
    # Y_ORDER(x) in float64: -inf at 0, NaN below
    a = tl.minimum(tl.maximum(x, 1e-300), 5.0)   # the near branch's argument (positive, so log is finite)
    z = a * a
    if ORDER == 0:
        near = polevl(z, _YP0, 8) / p1evl(z, _YQ0, 7) + _TWO_OVER_PI * tl.log(a) * _near(a, 0)
    else:
        near = a * (polevl(z, _YP1, 6) / p1evl(z, _YQ1, 8)) + _TWO_OVER_PI * (_near(a, 1) * tl.log(a) - 1.0 / a)
    r = tl.where(x <= 5.0, near, _far(tl.maximum(x, 5.0), ORDER, True))
    r = tl.where(x == 0.0, float("-inf"), r)
    return tl.where((x < 0.0) | (x != x), float("nan"), r)


@triton.jit
def _spherical_j0(x):
    # sin(x) / x in float64: the Taylor polynomial below 0.5, 0 at +-inf
    a = tl.abs(x)
    small = a < 0.5
    xs = tl.where(small, 1.0, tl.where(a < float("inf"), x, 1.0))
    r = tl.where(small, polevl(x * x, _SINC, 7), tl.sin(xs) / xs)
    r = tl.where(a == float("inf"), 0.0, r)
    return tl.where(x != x, x, r)


@triton.jit
def _sj0_fn(x, y, z, p0, p1):
    return _spherical_j0(x.to(tl.float64)).to(x.dtype)


@triton.jit
def _j0_fn(x, y, z, p0, p1):
    return _j(x.to(tl.float64), 0).to(x.dtype)


@triton.jit
def _j1_fn(x, y, z, p0, p1):
    return _j(x.to(tl.float64), 1).to(x.dtype)


@triton.jit
def _y0_fn(x, y, z, p0, p1):
    return _y(x.to(tl.float64), 0).to(x.dtype)


@triton.jit
def _y1_fn(x, y, z, p0, p1):
    return _y(x.to(tl.float64), 1).to(x.dtype)


# ============================================================================================ NumPy side

def _near_np(a: np.ndarray, order: int) -> np.ndarray:
    z = a * a
    if order == 0:
        r = (z - _J0_Z1.value) * (z - _J0_Z2.value) * polevl_np(z, _RP0) / p1evl_np(z, _RQ0)
        return np.where(a < 1e-5, 1.0 - 0.25 * z, r)
    return a * (z - _J1_Z1.value) * (z - _J1_Z2.value) * polevl_np(z, _RP1) / p1evl_np(z, _RQ1)


def _cos_sin_shifted_np(a: np.ndarray, hi: float, lo: float) -> tuple:
    a = np.where(a < np.inf, a, 5.0)
    s = a - hi
    bb = s - a
    t = ((a - (s - bb)) + (-hi - bb)) - lo
    c, sn = np.cos(s), np.sin(s)
    return c - t * sn, sn + t * c


def _far_np(a: np.ndarray, order: int, second: bool) -> np.ndarray:
    w = 5.0 / a
    z = w * w
    if order == 0:
        p = polevl_np(z, _PP0) / polevl_np(z, _PQ0)
        q = polevl_np(z, _QP0) / p1evl_np(z, _QQ0)
        c, sn = _cos_sin_shifted_np(a, _PIO4.value, _PIO4_LO.value)
    else:
        p = polevl_np(z, _PP1) / polevl_np(z, _PQ1)
        q = polevl_np(z, _QP1) / p1evl_np(z, _QQ1)
        c, sn = _cos_sin_shifted_np(a, _THPIO4.value, _THPIO4_LO.value)
    r = p * sn + w * q * c if second else p * c - w * q * sn
    return np.where(a < np.inf, r * _SQ2OPI.value / np.sqrt(a), 0.0)


def _j_np(order: int):
    def fn(x):
        a = np.abs(x)
        r = np.where(a <= 5.0, _near_np(np.minimum(a, 5.0), order), _far_np(np.maximum(a, 5.0), order, False))
        if order == 1:
            r = np.where(x < 0, -r, r)
            r = np.where(x == 0, x, r)
        return np.where(np.isnan(x), x, r)
    return fn


def _y_np(order: int):
    def fn(x):
        a = np.minimum(np.maximum(x, 1e-300), 5.0)
        z = a * a
        if order == 0:
            near = polevl_np(z, _YP0) / p1evl_np(z, _YQ0) + _TWO_OVER_PI.value * np.log(a) * _near_np(a, 0)
        else:
            near = a * (polevl_np(z, _YP1) / p1evl_np(z, _YQ1)) + _TWO_OVER_PI.value * (
                _near_np(a, 1) * np.log(a) - 1.0 / a)
        r = np.where(x <= 5.0, near, _far_np(np.maximum(x, 5.0), order, True))
        r = np.where(x == 0, -np.inf, r)
        return np.where((x < 0) | np.isnan(x), np.nan, r)
    return fn


def _spherical_j0_np(x):
    a = np.abs(x)
    small = a < 0.5
    xs = np.where(small, 1.0, np.where(a < np.inf, x, 1.0))
    r = np.where(small, polevl_np(x * x, _SINC), np.sin(xs) / xs)
    r = np.where(a == np.inf, 0.0, r)
    return np.where(np.isnan(x), x, r)


# ==================================================================================== float64 references

def _mp_spherical_j0(v: float) -> float:
    if math.isnan(v):
        return v
    if math.isinf(v):
        return 0.0
    import mpmath
    with mpmath.workdps(40):
        return float(mpmath.sinc(v))


def _mp_one(kind: str, order: int):
    def one(v: float) -> float:
        if math.isnan(v):
            return math.nan
        if kind == "y" and v < 0:
            return math.nan
        if kind == "y" and v == 0:
            return -math.inf
        if math.isinf(v):
            return 0.0
        import mpmath
        with mpmath.workdps(40):
            f = mpmath.besselj if kind == "j" else mpmath.bessely
            return float(f(order, v))
    return one


# ====================================================================================== backward rules

def _over_x(x, v, at_zero: float):
    """v / x with `at_zero` at x = 0 (the limit of J1(x) / x), no division by zero anywhere."""
    zero = x == 0
    return (v / x.masked_fill(zero, 1.0)).masked_fill(zero, at_zero)


def _j0_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * -bessel_j1(x)


def _j1_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * (bessel_j0(x) - _over_x(x, bessel_j1(x), 0.5))


def _y0_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * -bessel_y1(x)


def _y1_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * (bessel_y0(x) - bessel_y1(x) / x)


# sin(x)/x' = sum_k (-1)^k 2k x^(2k-1) / (2k + 1)!, k = 7..1: Horner's coefficients in x^2 (times x)
_DSINC = tuple((-1) ** k * 2 * k / math.factorial(2 * k + 1) for k in range(7, 0, -1))


def _sj0_vjp(ctx, grad):
    (x,) = ctx.inputs
    from .ternary import where
    small = x.abs() < 0.5
    near = x.masked_fill(~small, 0.0)   # each branch sees only its own arguments (no overflow, no 0/0)
    z = near * near
    series = z * 0.0 + _DSINC[0]
    for c in _DSINC[1:]:
        series = series * z + c
    safe = x.masked_fill(small, 1.0)
    far = (safe.cos() - spherical_bessel_j0(safe)) / safe
    return grad * where(small, series * near, far)


# ============================================================================================ the ops

_J_SPECIALS = [0.0, -0.0, 1e-30, 1e-6, -1e-6, 2.404825557695773, 4.99, 5.0, 5.01, -7.5, 30.0, 1e4]
_Y_SPECIALS = [1e-30, 1e-4, 0.8935769662791675, 4.99, 5.0, 5.01, 7.5, 30.0, 1e4]


def _declare(name, kind, order, tl_fn, vjp, torch_name):
    fallback = float64_fallback(_j_np(order) if kind == "j" else _y_np(order))
    low, specials = (-12, _J_SPECIALS) if kind == "j" else (0.2, _Y_SPECIALS)
    return declare_unary(name, family=FAMILY, np_fn=fallback, tl_fn=tl_fn, ref=mp_ref(_mp_one(kind, order)),
                         samples=_samples(low, 20, specials), vjp=vjp,
                         torch_fn=lambda torch, x: getattr(torch.special, torch_name)(x),
                         doc=f"The Bessel function {kind.upper()}{order} of the input, elementwise "
                             f"(torch.special.{torch_name}).")


bessel_j0_op, bessel_j0 = _declare("bessel_j0", "j", 0, _j0_fn, _j0_vjp, "bessel_j0")
bessel_j1_op, bessel_j1 = _declare("bessel_j1", "j", 1, _j1_fn, _j1_vjp, "bessel_j1")
bessel_y0_op, bessel_y0 = _declare("bessel_y0", "y", 0, _y0_fn, _y0_vjp, "bessel_y0")
bessel_y1_op, bessel_y1 = _declare("bessel_y1", "y", 1, _y1_fn, _y1_vjp, "bessel_y1")
spherical_bessel_j0_op, spherical_bessel_j0 = declare_unary(
    "spherical_bessel_j0", family=FAMILY, np_fn=float64_fallback(_spherical_j0_np), tl_fn=_sj0_fn,
    ref=mp_ref(_mp_spherical_j0), samples=_samples(-12, 12, [0.0, -0.0, 1e-30, 0.4999, 0.5, -0.5001, 3.14159, 1e4]),
    vjp=_sj0_vjp, torch_fn=lambda torch, x: torch.special.spherical_bessel_j0(x),
    doc="The spherical Bessel function of the first kind of order 0, sin(x) / x, elementwise "
        "(torch.special.spherical_bessel_j0).")
for _op in (bessel_j0_op, bessel_j1_op, bessel_y0_op, bessel_y1_op, spherical_bessel_j0_op):
    _op.extra["torch_grad"] = False   # PyTorch gives these no derivative: the gradient tests have no oracle
