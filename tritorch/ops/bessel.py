"""The modified Bessel functions of the first kind, orders 0 and 1: i0 (torch.i0, special.i0), i0e (special.i0e,
exp(-|x|) I0(x)), i1 (special.i1) and i1e (special.i1e), registered pointwise ops with a Triton scalar function,
a NumPy fallback, a float64 reference, samples and a bench spec; torch.kaiser_window is built on i0.

One method on both backends, for a = |x| (I0 is even, I1 odd):
  a <= T    the power series I_nu(a) = (a/2)^nu sum_k (a^2/4)^k / (k! (k + nu)!), every term positive (no
            cancellation), K terms from the first;
  a > T     Hankel's asymptotic expansion I_nu(a) = e^a / sqrt(2 pi a) sum_k c_k(nu) / a^k with
            c_k = c_(k-1) ((2k - 1)^2 - 4 nu^2) / (8k), J terms (the series is divergent: J is below its
            smallest term at a = T, where that term is already below the format's rounding).
Float64: T = 20, K = 36, J = 24 (truncation below 2e-17). Float32, float16 and bfloat16: T = 10, K = 17, J = 9
(below 1.2e-8), in float32, with the factor exp(+-a) taken in float64 (Triton's float32 exp rounds a log2(e) first:
|a| ulp of error) and applied as two halves exp(a/2) exp(a/2), so that I0 and I1 overflow only where their value
does, not where e^a does. I0(+-inf) = +inf and I1(+-inf) = +-inf (PyTorch's kernels give NaN there); the scaled
functions go to 0.
Gradients compose from the family: i0' = i1, i1' = i0 - i1/x (1/2 at 0), i0e' = i1e - sgn(x) i0e,
i1e' = i0e - i1e (sgn(x) + 1/x) (1/2 at 0), so derivatives of every order work on both devices. (The second
derivative of i1 and i1e differentiates i1/x, which cancels for |x| << 1: about 1e-16/|x| absolute error there,
as in PyTorch's formula.)
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
from ._cpu_parallel import run_row_blocks
from .unary import _bench, _inplace, _public, _samples, _with_checks

FAMILY = "bessel"

__all__ = ["i0"]

# (switch point, series terms, expansion terms) per precision: constexprs, read by the kernel and the NumPy side
_T64, _K64, _J64 = tl.constexpr(20.0), tl.constexpr(36), tl.constexpr(24)
_T32, _K32, _J32 = tl.constexpr(10.0), tl.constexpr(17), tl.constexpr(9)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _hankel_factors(nu: int, terms: int) -> list:
    """c_k / c_(k-1) = ((2k - 1)^2 - 4 nu^2) / (8k), k = 1..terms."""
    return [((2 * k - 1) ** 2 - 4 * nu * nu) / (8.0 * k) for k in range(1, terms + 1)]


# ============================================================================================ Triton side

@triton.jit
def _series(a, NU: tl.constexpr, TERMS: tl.constexpr):
    # sum_k q^k / (k! (k + NU)!) at q = a^2 / 4, in a's dtype (all terms positive)
    q = 0.25 * a * a
    t = tl.full(a.shape, 1.0, a.dtype)
    s = t
    for k in tl.static_range(1, TERMS + 1):
        t = t * (q * (1.0 / (k * (k + NU))))
        s = s + t
    return s


@triton.jit
def _hankel(a, NU: tl.constexpr, TERMS: tl.constexpr):
    # sum_k c_k(NU) / a^k, c_0 = 1 (Hankel's expansion of e^-a sqrt(2 pi a) I_NU(a))
    r = 1.0 / a
    t = tl.full(a.shape, 1.0, a.dtype)
    s = t
    for k in tl.static_range(1, TERMS + 1):
        t = t * (r * (((2 * k - 1) * (2 * k - 1) - 4 * NU * NU) / (8.0 * k)))
        s = s + t
    return s


@triton.jit
def _scaled(a, NU: tl.constexpr, T: tl.constexpr, K: tl.constexpr, J: tl.constexpr):
    # (e^-a I_NU(a) in a's dtype where a > T, else the series value I_NU(a) e^0 still unscaled; and the mask) for
    # a >= 0: the caller applies exp(-a) to the near part in float64
    near = a <= T
    an = tl.minimum(a, T)
    s = _series(an, NU, K)
    if NU == 1:
        s = s * (0.5 * an)
    af = tl.maximum(a, T)
    h = _hankel(af, NU, J) * (0.3989422804014327 / tl.sqrt(af))
    return s, h, near


@triton.jit
def _bessel(x, NU: tl.constexpr, SCALED: tl.constexpr):
    # I_NU(x) or e^-|x| I_NU(x): float64 input in float64, anything else in float32 with a float64 exp
    if x.dtype == tl.float64:
        a = tl.abs(x)
        s, h, near = _scaled(a, NU, _T64, _K64, _J64)
        a64 = a
    else:
        a = tl.abs(x.to(tl.float32))
        s, h, near = _scaled(a, NU, _T32, _K32, _J32)
        a64 = a.to(tl.float64)
        s = s.to(tl.float64)
        h = h.to(tl.float64)
    if SCALED:
        r = tl.where(near, s * tl.exp(-a64), h)
    else:
        half = tl.exp(0.5 * a64)
        r = tl.where(near, s, (h * half) * half)
        r = tl.where(a64 == float("inf"), float("inf"), r)
    if NU == 1:
        r = tl.where(x < 0.0, -r, r)
    r = tl.where(a64 != a64, a64, r)   # NaN in, NaN out (tl.minimum/maximum above may drop a NaN)
    return r.to(x.dtype)


@triton.jit
def _i0_fn(x, y, z, p0, p1):
    return _bessel(x, 0, False)


@triton.jit
def _i0e_fn(x, y, z, p0, p1):
    return _bessel(x, 0, True)


@triton.jit
def _i1_fn(x, y, z, p0, p1):
    return _bessel(x, 1, False)


@triton.jit
def _i1e_fn(x, y, z, p0, p1):
    return _bessel(x, 1, True)


# ============================================================================================ NumPy side

def _series_coefficients(nu: int, terms: int) -> np.ndarray:
    """1 / (k! (k + nu)!), k = 0..terms: the power series as a polynomial in q = a^2 / 4 (NumPy evaluates it by
    Horner's rule, two passes a term)."""
    return np.array([1.0 / (math.factorial(k) * math.factorial(k + nu)) for k in range(terms + 1)])


def _hankel_coefficients(nu: int, terms: int) -> np.ndarray:
    """c_k(nu), k = 0..terms: Hankel's expansion as a polynomial in 1/a."""
    return np.cumprod([1.0] + _hankel_factors(nu, terms))


def _horner(coefficients: np.ndarray, z: np.ndarray) -> np.ndarray:
    s = np.full_like(z, coefficients[-1])
    for c in coefficients[-2::-1]:
        s *= z
        s += c
    return s


class _Method:
    """One precision's constants: the switch point and both polynomials' coefficients in the working dtype."""

    def __init__(self, nu: int, dtype, t: float, k_terms: int, j_terms: int):
        self.t = t
        self.series = _series_coefficients(nu, k_terms).astype(dtype)
        self.hankel = _hankel_coefficients(nu, j_terms).astype(dtype)


def _bessel_block(x: np.ndarray, nu: int, scaled: bool, m: _Method) -> np.ndarray:
    """The kernel's _bessel on a 1-D float64 or float32 block (float32: the polynomials in float32, exp(+-a) and
    the products in float64); float64 result."""
    a = np.abs(x)
    near = a <= m.t
    out = np.empty(a.shape, np.float64)
    idx = np.flatnonzero(near)
    if idx.size:
        an = a[idx]
        s = _horner(m.series, an * an * an.dtype.type(0.25))
        if nu == 1:
            s *= an * an.dtype.type(0.5)
        out[idx] = s.astype(np.float64) * np.exp(-an.astype(np.float64)) if scaled else s
    idx = np.flatnonzero(~near)
    if idx.size:
        af = a[idx]
        with np.errstate(divide="ignore"):
            s = _horner(m.hankel, af.dtype.type(1) / af)
        s *= af.dtype.type(_INV_SQRT_2PI) / np.sqrt(af)
        h = s.astype(np.float64)
        if not scaled:
            half = np.exp(0.5 * af.astype(np.float64))
            with np.errstate(over="ignore", invalid="ignore"):
                h = (h * half) * half
            h[af == np.inf] = np.inf
        out[idx] = h
    if nu == 1:
        np.negative(out, out=out, where=x < 0)
    return out


# Elements per block of the NumPy fallback: the ~60 passes of the polynomials then run in cache (16 Ki float64
# elements and their temporaries: a few hundred KiB), blocks in parallel on the row-block pool.
_BLOCK = 1 << 14


def _fallback(nu: int, scaled: bool):
    """The NumPy fallback: float64 input by the float64 method, every other float dtype by the float32 one (float16
    and bfloat16 widened to float32, the result rounded once to their dtype), block by block."""
    wide = _Method(nu, np.float64, _T64.value, _K64.value, _J64.value)
    narrow = _Method(nu, np.float32, _T32.value, _K32.value, _J32.value)

    def run(x):
        method = wide if x.dtype == np.float64 else narrow
        flat = np.ascontiguousarray(x, np.float64 if x.dtype == np.float64 else np.float32).reshape(-1)
        out = np.empty(flat.shape, np.float64 if x.dtype == np.float64 else np.float32)

        def block(rows):
            out[rows] = _bessel_block(flat[rows], nu, scaled, method)

        run_row_blocks(block, flat.size, 1, _BLOCK)
        out = out.reshape(np.shape(x))
        return out if out.dtype == x.dtype else out.astype(x.dtype)

    return run


# =================================================================== float64 references (trapezoid rule)

def _integral_one(v: float, nu: int, scaled: bool) -> float:
    """Poisson's integrals I0(a) = (1/pi) int_0^pi e^(a cos t) dt and I1(a) = (a/pi) int_0^pi e^(a cos t) sin^2 t dt
    (positive integrands: no cancellation near 0) by the trapezoid rule, which converges geometrically for these
    periodic analytic integrands (enough nodes to resolve the peak of width ~1/sqrt(a) at t = 0). Independent of
    the series and expansion above."""
    if math.isnan(v):
        return v
    a = abs(v)
    if a == math.inf:
        return 0.0 if scaled else (math.copysign(math.inf, v) if nu == 1 else math.inf)
    n = max(64, int(60 * math.sqrt(a)) + 64)
    theta = np.linspace(0.0, math.pi, n + 1)
    with np.errstate(over="ignore"):
        f = np.exp(a * (np.cos(theta) - 1.0))   # e^-a times the integrand
    if nu == 1:
        f *= np.sin(theta) ** 2
    value = (f.sum() - 0.5 * (f[0] + f[-1])) / n * (a if nu == 1 else 1.0)
    if not scaled:
        value = value * math.exp(0.5 * a) * math.exp(0.5 * a) if a < 1500 else math.inf
    return -value if nu == 1 and v < 0 else value


def _ref(nu: int, scaled: bool):
    def ref(x):
        x = np.asarray(x, np.float64)
        fn = np.vectorize(lambda v: _integral_one(float(v), nu, scaled), otypes=[np.float64])
        return fn(x) if x.size else x.copy()
    return ref


# ====================================================================================== backward rules

def _i1_over_x_term(x, i1x):
    """i1(x) / x with 1/2 at x = 0 (the limit), no division by zero anywhere (so higher derivatives stay
    finite)."""
    zero = x == 0
    return (i1x / x.masked_fill(zero, 1.0)).masked_fill(zero, 0.5)


def _i0_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * i1(x)


def _i0e_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * (i1e(x) - x.sign() * i0e(x))


def _i1_vjp(ctx, grad):
    (x,) = ctx.inputs
    v = i1(x)
    d = i0(x) - _i1_over_x_term(x, v)
    return grad * d.masked_fill(x == 0, 0.5)


def _i1e_vjp(ctx, grad):
    (x,) = ctx.inputs
    v = i1e(x)
    d = i0e(x) - v * x.sign() - _i1_over_x_term(x, v)
    return grad * d.masked_fill(x == 0, 0.5)


# ============================================================================================ the ops

# Finite special values: both sides of each switch between series and expansion (10 for float32, 20 for float64),
# large arguments, signed zeros. inf and NaN are left to tests/ops/test_bessel.py: PyTorch's kernels give NaN at
# +-inf (I0, I1: +inf, +-inf here) and its i1e gradient at NaN is 0.5, so its gradients there are no oracle.
_SPECIALS = [0.0, -0.0, 1e-30, 0.5, -0.5, 3.0, -7.5, 9.99, 10.0, 10.01, 19.9, 20.0, 20.1, 50.0, -80.0, 700.0, 1e4]


def _bessel_samples(scaled: bool):
    """The unary samples on [-12, 12) and the specials, less those whose I0 / I1 overflows the dtype (above 85
    for float32, 10 for float16 and bfloat16); the scaled functions take them all."""
    by_limit = {}

    def samples(device, dtype):
        limit = math.inf if scaled or dtype is _dt.float64 else 85.0 if dtype is _dt.float32 else 10.0
        if limit not in by_limit:
            by_limit[limit] = _samples(-12, 12, [v for v in _SPECIALS if abs(v) <= limit])
        yield from by_limit[limit](device, dtype)

    return samples


def _declare(name, *, nu, scaled, tl_fn, torch_fn, vjp):
    op = pw.declare(name, np_fn=_fallback(nu, scaled), tl_fn=tl_fn, kind="float",
                    ref=_ref(nu, scaled), arity=1, family=FAMILY, samples=_bessel_samples(scaled),
                    extra={"torch": torch_fn}, vjp=vjp,
                    bench=_bench("float", -30, 30, 60, (_dt.float32, _dt.float16)))
    return _with_checks(op)


i0_op = _declare("i0", nu=0, scaled=False, tl_fn=_i0_fn, torch_fn=lambda torch, x: torch.i0(x), vjp=_i0_vjp)
i0e_op = _declare("i0e", nu=0, scaled=True, tl_fn=_i0e_fn, torch_fn=lambda torch, x: torch.special.i0e(x),
                  vjp=_i0e_vjp)
i1_op = _declare("i1", nu=1, scaled=False, tl_fn=_i1_fn, torch_fn=lambda torch, x: torch.special.i1(x),
                 vjp=_i1_vjp)
i1e_op = _declare("i1e", nu=1, scaled=True, tl_fn=_i1e_fn, torch_fn=lambda torch, x: torch.special.i1e(x),
                  vjp=_i1e_vjp)

i0 = _public(i0_op, "The modified Bessel function of the first kind of order 0, elementwise (torch.i0).")
i0e = _public(i0e_op, "exp(-|input|) I0(input), elementwise (torch.special.i0e).")
i1 = _public(i1_op, "The modified Bessel function of the first kind of order 1, elementwise (torch.special.i1).")
i1e = _public(i1e_op, "exp(-|input|) I1(input), elementwise (torch.special.i1e).")

_bind.methods(i0=i0, i0_=_inplace(i0, "i0_"))
