"""The gamma-function family: lgamma, digamma, polygamma (registered pointwise ops, each with a Triton scalar
function, a NumPy fallback, a float64 reference, samples and a bench spec) and mvlgamma (a composite of lgamma).

Both backends evaluate the same float64 algorithms (float32, float16 and bfloat16 inputs are widened, and the
result is rounded once), so cpu and cuda agree to float64 rounding:

  lgamma(x)       below 0.5 the reflection log(pi / |sin(pi x)|) - lgamma(1 - x), sin(pi x) taken on x less its
                  nearest integer (exact); where lgamma has its zeros, |x - 1| < 0.2 and |x - 2| < 0.2, the Taylor
                  series lgamma(1 + e) = -gamma e + sum_k (-1)^k zeta(k) e^k / k (23 terms; plus log1p(e) at 2);
                  elsewhere Stirling's series at z = x + 10 (8 terms) less log(x (x + 1) ... (x + 9)) below 10.
  digamma(x)      below 0 the reflection psi(1 - x) - pi / tan(pi x); ten recurrence steps psi(x) = psi(x + 1)
                  - 1/x below 10, then the asymptotic series (8 terms). psi(+-0) = -+inf, psi(negative integer)
                  = NaN, as PyTorch's.
  polygamma(n, x) n >= 1: (-1)^(n+1) n! zeta(n + 1, x), the Hurwitz zeta as direct terms (x + k)^-(n+1) until
                  x + k >= 10 + n + 1, then Euler-Maclaurin (8 Bernoulli terms). The direct terms loop over k up
                  to the block's largest count (per element it stops at its own), so a negative x costs -x
                  steps, as in PyTorch's (whose loop never ends for x near -2**52); below x = -2**20 the result
                  is NaN instead. Poles (x a non-positive integer) give +-inf.
  mvlgamma(x, p)  sum_i lgamma(x - i/2) + p (p - 1) / 4 log(pi) (torch.mvlgamma, special.multigammaln).

Where PyTorch's own results are artefacts, these give the mathematical value: polygamma(1, x) at a negative
integer is +inf (PyTorch's trigamma reflection returns ~6.6e32 at -1), polygamma(n >= 2, +inf) is 0 (PyTorch:
NaN) and polygamma(n, -inf) is NaN (PyTorch: +-inf for n >= 2).

Gradients compose from the family: lgamma' = digamma, digamma' = polygamma(1), polygamma(n)' = polygamma(n + 1),
so derivatives of every order work on both devices. Bytes per launch: n elements read, n written (float64
arithmetic: on GPUs with slow float64 units these kernels are compute-bound).
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..tensor import Tensor
from . import _bind
from . import pointwise as pw
from .unary import (_SPECIAL, _bench, _float64_fallback, _inplace, _log1p_accurate, _poly, _public, _samples,
                    _with_checks)

FAMILY = "gamma"

__all__ = ["lgamma", "digamma", "polygamma", "mvlgamma"]

_PI = math.pi
_LOG_PI = math.log(math.pi)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
# lgamma(1 + e) = sum_{k=1}^{23} LG1[k-1] e^k: -Euler's gamma, then (-1)^k zeta(k) / k (mathematical constants)
_LG1 = (-0.5772156649015329, 0.8224670334241132, -0.40068563438653143, 0.27058080842778454, -0.20738555102867398,
        0.1695571769974082, -0.1440498967688461, 0.12550966952474304, -0.11133426586956469, 0.1000994575127818,
        -0.09095401714582904, 0.083353840546109, -0.0769325164113522, 0.07143294629536133, -0.06666870588242046,
        0.06250095514121304, -0.058823978658684585, 0.055555767627403614, -0.05263167937961666,
        0.05000004769810169, -0.047619070330142226, 0.04545455629320467, -0.04347826605304026)
# B_2k / (2k (2k - 1)) (Stirling), B_2k / (2k) (digamma), B_2k / (2k)! (Euler-Maclaurin), k = 1..8
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400)
_PSI = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12, -3617 / 8160)
_EM = (1 / 12, -1 / 720, 1 / 30240, -1 / 1209600, 1 / 47900160, -691 / 1307674368000, 1 / 74724249600,
       -3617 / 10670622842880000)
_SHIFT = 10.0        # recurrence shift of lgamma and digamma; the zeta's is 10 + s
_NEAR = 0.2          # half-width of lgamma's series windows around 1 and 2
_MAX_TERMS = 2 ** 20  # the zeta's direct terms stop here: polygamma below about -2**20 is NaN (see above)


# =========================================================================================== Triton helpers

@triton.jit
def _lg1_series(e):
    # lgamma(1 + e) for |e| < 0.2, Horner in the coefficients of _LG1 (highest first)
    p = e * -0.04347826605304026 + 0.04545455629320467
    p = p * e - 0.047619070330142226
    p = p * e + 0.05000004769810169
    p = p * e - 0.05263167937961666
    p = p * e + 0.055555767627403614
    p = p * e - 0.058823978658684585
    p = p * e + 0.06250095514121304
    p = p * e - 0.06666870588242046
    p = p * e + 0.07143294629536133
    p = p * e - 0.0769325164113522
    p = p * e + 0.083353840546109
    p = p * e - 0.09095401714582904
    p = p * e + 0.1000994575127818
    p = p * e - 0.11133426586956469
    p = p * e + 0.12550966952474304
    p = p * e - 0.1440498967688461
    p = p * e + 0.1695571769974082
    p = p * e - 0.20738555102867398
    p = p * e + 0.27058080842778454
    p = p * e - 0.40068563438653143
    p = p * e + 0.8224670334241132
    p = p * e - 0.5772156649015329
    return p * e


@triton.jit
def _lgamma_pos(y):
    # lgamma(y) for y >= 0.5 (float64), +inf at +inf
    e1 = y - 1.0
    e2 = y - 2.0
    near1 = tl.abs(e1) < 0.2
    near2 = tl.abs(e2) < 0.2
    e = tl.where(near2, e2, tl.where(near1, e1, 0.0))
    series = _lg1_series(e)
    series = tl.where(near2, series + _log1p_accurate(e), series)
    small = y < 10.0
    yp = tl.where(small, y, 1.0)
    prod = yp * (yp + 1.0) * (yp + 2.0) * (yp + 3.0) * (yp + 4.0) * (yp + 5.0) * (yp + 6.0) * (yp + 7.0) \
        * (yp + 8.0) * (yp + 9.0)
    z = tl.where(small, y + 10.0, y)
    w = 1.0 / z
    w2 = w * w
    s = w2 * -0.029550653594771242 + 0.00641025641025641
    s = s * w2 - 0.0019175269175269176
    s = s * w2 + 0.0008417508417508417
    s = s * w2 - 0.0005952380952380953
    s = s * w2 + 0.0007936507936507937
    s = s * w2 - 0.002777777777777778
    s = s * w2 + 0.08333333333333333
    stirling = (z - 0.5) * tl.log(z) - z + 0.9189385332046728 + s * w
    stirling = stirling - tl.where(small, tl.log(prod), 0.0)
    r = tl.where(near1 | near2, tl.where(e == 0.0, 0.0, series), stirling)   # lgamma(1) = lgamma(2) = +0
    return tl.where(y == float("inf"), y, r)


@triton.jit
def _lgamma64(x):
    refl = x < 0.5
    lg = _lgamma_pos(tl.where(refl, 1.0 - x, x))
    r = x - tl.floor(x + 0.5)  # x less its nearest integer: sin(pi x) = +-sin(pi r), exactly reduced
    reflected = 1.1447298858494002 - tl.log(tl.abs(tl.sin(3.141592653589793 * r))) - lg
    out = tl.where(refl, reflected, lg)
    return tl.where(x == float("-inf"), float("inf"), out)


@triton.jit
def _lgamma_fn(x, y, z, p0, p1):
    return _lgamma64(x.to(tl.float64)).to(x.dtype)   # (fp64 -> compute dtype -> the output's, as on the cpu)


@triton.jit
def _digamma64(x):
    refl = x < 0.0
    y = tl.where(refl, 1.0 - x, x)
    small = y < 10.0
    yp = tl.where(small, y, 20.0)
    steps = 1.0 / yp + 1.0 / (yp + 1.0) + 1.0 / (yp + 2.0) + 1.0 / (yp + 3.0) + 1.0 / (yp + 4.0) \
        + 1.0 / (yp + 5.0) + 1.0 / (yp + 6.0) + 1.0 / (yp + 7.0) + 1.0 / (yp + 8.0) + 1.0 / (yp + 9.0)
    z = tl.where(small, y + 10.0, y)
    w2 = 1.0 / (z * z)
    s = w2 * -0.4432598039215686 + 0.08333333333333333
    s = s * w2 - 0.021092796092796094
    s = s * w2 + 0.007575757575757576
    s = s * w2 - 0.004166666666666667
    s = s * w2 + 0.003968253968253968
    s = s * w2 - 0.008333333333333333
    s = s * w2 + 0.08333333333333333
    psi = tl.log(z) - 0.5 / z - s * w2 - tl.where(small, steps, 0.0)
    r = x - tl.floor(x + 0.5)
    pr = 3.141592653589793 * r
    out = tl.where(refl, psi - 3.141592653589793 * tl.cos(pr) / tl.sin(pr), psi)   # pi / tan(pi x)
    out = tl.where(refl & (r == 0.0), float("nan"), out)   # negative integers
    return tl.where(x == 0.0, -1.0 / x, out)                # psi(+0) = -inf, psi(-0) = +inf


@triton.jit
def _digamma_fn(x, y, z, p0, p1):
    return _digamma64(x.to(tl.float64)).to(x.dtype)


@triton.jit
def _inverse_power(b, s_int):
    # b^-s for a whole s >= 1 by repeated squaring of 1/b (a few multiplies instead of exp(-s log|b|))
    base = 1.0 / b
    result = tl.full(b.shape, 1.0, tl.float64)
    e = s_int
    while e > 0:
        if e % 2 == 1:
            result = result * base
        base = base * base
        e = e // 2
    return result


@triton.jit
def _hurwitz_zeta64(s, q):
    # zeta(s, q) = sum_k (q + k)^-s for an integer s >= 2 (a float64 scalar)
    finite = tl.abs(q) < float("inf")
    pole = (q <= 0.0) & (q == tl.floor(q))
    target = s + 10.0
    count = tl.where(finite & ~pole & (q < target), tl.ceil(target - q), 0.0)
    too_far = count > 1048576.0  # x below about -2**20: not evaluated (NaN) rather than looping -x times
    count = tl.where(too_far, 0.0, count)
    # one shift for the whole block (the largest any element needs): every element takes the same direct terms
    # and its tail at q + shift >= target, without per-term masks (poles and non-finite q are replaced below)
    shift = tl.max(count, 0)
    direct = tl.zeros_like(q)
    s_int = s.to(tl.int32)
    for k in range(0, shift.to(tl.int32)):
        direct += _inverse_power(q + k, s_int)
    a = tl.where(finite, q + shift, 20.0)
    w = 1.0 / a
    w2 = w * w
    # Euler-Maclaurin: sum_j B_2j/(2j)! s (s+1) ... (s+2j-2) a^(-s-2j+1); the s-products are scalars
    d1 = 0.08333333333333333 * s
    d2 = -0.001388888888888889 * s * (s + 1.0) * (s + 2.0)
    d3 = 3.306878306878307e-05 * (d2 / -0.001388888888888889) * (s + 3.0) * (s + 4.0)
    d4 = -8.267195767195768e-07 * (d3 / 3.306878306878307e-05) * (s + 5.0) * (s + 6.0)
    d5 = 2.08767569878681e-08 * (d4 / -8.267195767195768e-07) * (s + 7.0) * (s + 8.0)
    d6 = -5.284190138687493e-10 * (d5 / 2.08767569878681e-08) * (s + 9.0) * (s + 10.0)
    d7 = 1.3382536530684679e-11 * (d6 / -5.284190138687493e-10) * (s + 11.0) * (s + 12.0)
    d8 = -3.3896802963225827e-13 * (d7 / 1.3382536530684679e-11) * (s + 13.0) * (s + 14.0)
    tail = (((((((d8 * w2 + d7) * w2 + d6) * w2 + d5) * w2 + d4) * w2 + d3) * w2 + d2) * w2 + d1) * w
    zeta = direct + _inverse_power(a, s_int) * (a / (s - 1.0) + 0.5 + tail)
    zeta = tl.where(finite & ~too_far, zeta, tl.where(q == float("inf"), 0.0, float("nan")))
    return tl.where(pole & finite, float("inf"), zeta)


@triton.jit
def _polygamma_fn(x, y, z, n, p1):
    # n >= 1 (float64 scalar, a whole number): (-1)^(n+1) n! zeta(n + 1, x)
    n_int = n.to(tl.int32)
    factorial = n * 0.0 + 1.0
    for i in range(2, n_int + 1):
        factorial = factorial * i
    sign = tl.where(n_int % 2 == 1, 1.0, -1.0)
    return (sign * factorial * _hurwitz_zeta64(n + 1.0, x.to(tl.float64))).to(x.dtype)


# ============================================================================================ NumPy side

def _lgamma_pos_np(y: np.ndarray) -> np.ndarray:
    # Stirling on the whole block (NumPy's masked indexing costs more than these passes), then the series windows
    small = y < _SHIFT
    yp = np.where(small, y, 1.0)
    prod = yp + 1.0
    for k in range(2, int(_SHIFT)):
        prod *= yp + k
    prod *= yp
    z = np.where(small, y + _SHIFT, y)
    w = 1.0 / z
    out = (z - 0.5) * np.log(z) - z + _HALF_LOG_2PI + _poly(_STIRLING, w * w) * w
    out -= np.where(small, np.log(prod), 0.0)
    out[y == np.inf] = np.inf
    for center, plus_log1p in ((1.0, False), (2.0, True)):
        idx = np.flatnonzero(np.abs(y - center) < _NEAR)
        if idx.size:
            e = y[idx] - center
            v = _poly(_LG1, e) * e + (np.log1p(e) if plus_log1p else 0.0)
            out[idx] = np.where(e == 0.0, 0.0, v)
    return out


def _lgamma64_np(x: np.ndarray) -> np.ndarray:
    refl = x < 0.5
    out = _lgamma_pos_np(np.where(refl, 1.0 - x, x))
    idx = np.flatnonzero(refl)
    if idx.size:
        xr = x[idx]
        r = xr - np.floor(xr + 0.5)
        out[idx] = _LOG_PI - np.log(np.abs(np.sin(_PI * r))) - out[idx]
        out[idx[xr == -np.inf]] = np.inf
    return out


def _digamma64_np(x: np.ndarray) -> np.ndarray:
    refl = x < 0.0
    y = np.where(refl, 1.0 - x, x)
    small = y < _SHIFT
    yp = np.where(small, y, 1.0)
    steps = 1.0 / yp
    for k in range(1, int(_SHIFT)):
        steps += 1.0 / (yp + k)
    z = np.where(small, y + _SHIFT, y)
    w2 = 1.0 / (z * z)
    psi = np.log(z) - 0.5 / z - _poly(_PSI, w2) * w2 - np.where(small, steps, 0.0)
    idx = np.flatnonzero(refl)
    if idx.size:
        xr = x[idx]
        r = xr - np.floor(xr + 0.5)
        psi[idx] = np.where(r == 0.0, np.nan, psi[idx] - _PI * np.cos(_PI * r) / np.sin(_PI * r))
    zero = np.flatnonzero(x == 0.0)
    if zero.size:
        psi[zero] = -1.0 / x[zero]
    return psi


def _inverse_power_np(b: np.ndarray, s: int) -> np.ndarray:
    """b^-s for a whole s >= 1 by repeated squaring of 1/b (as the kernel's _inverse_power)."""
    base = 1.0 / b
    result = None
    while s:
        if s & 1:
            result = base.copy() if result is None else result * base
        s >>= 1
        if s:
            base = base * base
    return result


def _hurwitz_zeta64_np(s: float, q: np.ndarray) -> np.ndarray:
    """zeta(s, q) for a whole number s >= 2 (float64)."""
    finite = np.isfinite(q)
    pole = finite & (q <= 0.0) & (q == np.floor(np.where(finite, q, 0.0)))
    target = s + _SHIFT
    count = np.where(finite & ~pole & (q < target), np.ceil(target - np.where(finite, q, 0.0)), 0.0)
    too_far = count > _MAX_TERMS
    count[too_far] = 0.0
    shift = float(count.max()) if count.size else 0.0   # one shift for all (see _hurwitz_zeta64)
    direct = np.zeros_like(q)
    for k in range(int(shift)):
        direct += _inverse_power_np(q + k, int(s))
    a = np.where(finite, q + shift, 20.0)
    w = 1.0 / a
    d, prod = [], s
    for j, c in enumerate(_EM):
        d.append(c * prod)
        prod *= (s + 2 * j + 1) * (s + 2 * j + 2)
    tail = _poly(d, w * w) * w
    zeta = direct + _inverse_power_np(a, int(s)) * (a / (s - 1.0) + 0.5 + tail)
    zeta = np.where(finite & ~too_far, zeta, np.where(q == np.inf, 0.0, np.nan))
    return np.where(pole, np.inf, zeta)


def _polygamma64_np(x: np.ndarray, n: int = 1) -> np.ndarray:
    n = int(n)
    return (1.0 if n % 2 == 1 else -1.0) * math.factorial(n) * _hurwitz_zeta64_np(float(n + 1), x)


# ================================================================================ float64 references
#
# Independent of the algorithms above: the C library's lgamma, and mpmath's psi at 30 digits where mpmath is
# installed (it comes with PyTorch's sympy); without it, digamma's and polygamma's references fall back to this
# module's float64 algorithms.

def _lgamma_one(v: float) -> float:
    if math.isinf(v):
        return math.inf
    if v <= 0 and v == math.floor(v):
        return math.inf
    return math.lgamma(v)


def _lgamma_ref(x):
    x = np.asarray(x, np.float64)
    return np.vectorize(_lgamma_one, otypes=[np.float64])(x) if x.size else x.copy()


def _psi_ref(n):
    try:
        import mpmath
    except ImportError:
        return None
    def one(v):
        if math.isnan(v):
            return math.nan
        if math.isinf(v):
            if n == 0:
                return math.inf if v > 0 else math.nan
            return 0.0 if v > 0 else math.nan
        if v <= 0 and v == math.floor(v):
            if n == 0:
                return math.copysign(math.inf, -v) if v == 0 else math.nan
            return math.inf if n % 2 == 1 else -math.inf
        with mpmath.workdps(30):
            return float(mpmath.psi(n, v))
    return np.vectorize(one, otypes=[np.float64])


def _digamma_ref(x):
    x = np.asarray(x, np.float64)
    ref = _psi_ref(0)
    return ref(x) if ref is not None and x.size else _digamma64_np(x.reshape(-1)).reshape(x.shape)


def _polygamma_ref(x, n=1):
    x = np.asarray(x, np.float64)
    ref = _psi_ref(int(n))
    return ref(x) if ref is not None and x.size else _polygamma64_np(x.reshape(-1), int(n)).reshape(x.shape)


# ====================================================================================== backward rules

def _lgamma_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * digamma(x)


def _digamma_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * polygamma(1, x)


def _polygamma_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * polygamma(int(ctx.kwargs.get("n", 1)) + 1, x)


# ============================================================================================ the ops

def _declare(name, *, np_fn, tl_fn, ref, torch_fn, low, high, specials, vjp, params=(), kwargs=(), flops):
    op = pw.declare(name, np_fn=_float64_fallback(np_fn), tl_fn=tl_fn, kind="float", ref=ref, arity=1, family=FAMILY,
                    dtypes=_dt.ALL, params=params, samples=_samples(low, high, specials, False, kwargs),
                    bench=_bench("float", low, high, flops, (_dt.float32, _dt.float16)), extra={"torch": torch_fn},
                    vjp=vjp)
    return _with_checks(op)


lgamma_op = _declare("lgamma", np_fn=_lgamma64_np, tl_fn=_lgamma_fn, ref=_lgamma_ref,
                     torch_fn=lambda torch, x: torch.lgamma(x), low=-6, high=14,
                     specials=_SPECIAL + [1.0, 2.0, -1.0, -3.0, 0.5, -0.5, 1.1, 1.9, 2.15, 0.85, 1e-30, -1e-30,
                                          9.99, 10.0, 1e6, 1e30, -2.5],
                     vjp=_lgamma_vjp, flops=60)
digamma_op = _declare("digamma", np_fn=_digamma64_np, tl_fn=_digamma_fn, ref=_digamma_ref,
                      torch_fn=lambda torch, x: torch.digamma(x), low=-6, high=14,
                      specials=_SPECIAL + [1.0, 2.0, 0.5, -0.5, -2.5, 1e-30, -1e-30, 9.99, 10.0, 1e6, 1.4616321],
                      vjp=_digamma_vjp, flops=50)
polygamma_op = _declare("polygamma", np_fn=_polygamma64_np, tl_fn=_polygamma_fn, ref=_polygamma_ref,
                        torch_fn=lambda torch, x, n=1: torch.polygamma(int(n), x), low=0.25, high=14,
                        specials=[0.0, -0.0, math.nan, 0.5, 1.0, 2.0, -2.5, -0.5, -4.25, 11.5, 30.0, 1e6],
                        params=(("n", 1),), kwargs=({"n": 2}, {"n": 3}), vjp=_polygamma_vjp, flops=200)

lgamma = _public(lgamma_op, "The natural logarithm of |Gamma(input)|, elementwise.")
digamma = _public(digamma_op, "The logarithmic derivative of Gamma (psi), elementwise.")


def polygamma(n: int, input: Tensor, *, out=None) -> Tensor:
    """The n-th derivative of digamma, elementwise (n = 0: digamma)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if n == 0:
        return digamma(input, out=out)
    return polygamma_op(input, n=int(n), out=out)


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma function of dimension p: sum_i lgamma(input - i/2) + p (p - 1)/4 log(pi)."""
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        raise TypeError(f"mvlgamma(): argument 'p' (position 2) must be int, not {type(p).__name__}")
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    if not input.dtype.is_floating_point:
        input = input.float() if input.dtype is not _dt.float64 else input
    from ..autograd import no_grad
    with no_grad():
        ok = bool((input > (p - 1) / 2).all())
    if not ok:
        raise RuntimeError("All elements must be greater than (p-1)/2")
    total = lgamma(input)
    for i in range(1, p):
        total = total + lgamma(input - i / 2)
    return total + p * (p - 1) / 4 * _LOG_PI


def _mvlgamma_inplace(self, p):
    return self.copy_(mvlgamma(self, p))


def _polygamma_method(self, n):
    return polygamma(n, self)


def _polygamma_inplace(self, n):
    if n == 0:
        return digamma(self, out=self)
    return polygamma_op(self, n=int(n), out=self)


_bind.methods(lgamma=lgamma, digamma=digamma, lgamma_=_inplace(lgamma, "lgamma_"),
              digamma_=_inplace(digamma, "digamma_"), polygamma=_polygamma_method, polygamma_=_polygamma_inplace,
              mvlgamma=mvlgamma, mvlgamma_=_mvlgamma_inplace)
