"""The modified Bessel functions of the second kind, orders 0 and 1: modified_bessel_k0, modified_bessel_k1 and the
scaled scaled_modified_bessel_k0 = e^x K0(x), scaled_modified_bessel_k1 = e^x K1(x) (torch.special's), registered
pointwise ops with a Triton scalar function, a NumPy fallback, a float64 reference (mpmath), samples and a bench
spec.

Both backends evaluate Cephes' method (k0.c, k1.c by S. L. Moshier) in float64 (ops/special_common.py), with
Chebyshev series summed by Clenshaw's recurrence:
  x <= 2   K0 = A0(x^2 - 2) - log(x/2) I0(x),  K1 = log(x/2) I1(x) + A1(x^2 - 2) / x, where I0 and I1 are
           ops/bessel.py's float64 functions (the same code, not a copy);
  x > 2    K_nu = e^-x B_nu(8/x - 2) / sqrt(x) (the scaled functions leave out e^-x, so they neither underflow nor
           lose the factor's rounding).
Accuracy: within a few ulp of mpmath (tests/ops/test_bessel_k.py). Special values as PyTorch: +inf at 0, NaN below 0
and for NaN, 0 at +inf.
Gradients in ops: K0' = -K1, K1' = -K0 - K1/x; (e^x K0)' = e^x K0 - e^x K1, (e^x K1)' = e^x K1 - e^x K0 - e^x K1 / x;
PyTorch has none.
Bytes per launch: n elements read, n written.
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from . import bessel
from .special_common import const, declare_unary, float64_fallback, mp_ref
from .unary import _samples

FAMILY = "bessel_k"

__all__ = ["modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1"]

# Cephes k0.c / k1.c Chebyshev coefficients (the same as PyTorch's ATen/native/Math.h)
_K0_A = const([1.374465435613523e-16, 4.25981614279661e-14, 1.0349695257633842e-11, 1.904516377220209e-09,
               2.5347910790261494e-07, 2.286212103119452e-05, 0.001264615411446926, 0.0359799365153615,
               0.3442898999246285, -0.5353273932339028])
_K0_B = const([5.300433772686263e-18, -1.6475804301524212e-17, 5.2103915050390274e-17, -1.678231096805412e-16,
               5.512055978524319e-16, -1.848593377343779e-15, 6.3400764774050706e-15, -2.2275133269916698e-14,
               8.032890775363575e-14, -2.9800969231727303e-13, 1.140340588208475e-12, -4.514597883373944e-12,
               1.8559491149547177e-11, -7.957489244477107e-11, 3.577397281400301e-10, -1.69753450938906e-09,
               8.574034017414225e-09, -4.660489897687948e-08, 2.766813639445015e-07, -1.8317555227191195e-06,
               1.39498137188765e-05, -0.00012849549581627802, 0.0015698838857300533, -0.0314481013119645,
               2.4403030820659555])
_K1_A = const([-7.023863479386288e-18, -2.427449850519366e-15, -6.666901694199329e-13, -1.4114883926335278e-10,
               -2.213387630734726e-08, -2.4334061415659684e-06, -0.0001730288957513052, -0.006975723859639864,
               -0.12261118082265715, -0.3531559607765449, 1.5253002273389478])
_K1_B = const([-5.756744483665017e-18, 1.7940508731475592e-17, -5.689462558442859e-17, 1.838093544366639e-16,
               -6.057047248373319e-16, 2.038703165624334e-15, -7.019837090418314e-15, 2.4771544244813043e-14,
               -8.976705182324994e-14, 3.3484196660784293e-13, -1.2891739609510289e-12, 5.13963967348173e-12,
               -2.1299678384275683e-11, 9.218315187605006e-11, -4.1903547593418965e-10, 2.015049755197033e-09,
               -1.0345762465678097e-08, 5.7410841254500495e-08, -3.5019606030878126e-07, 2.406484947837217e-06,
               -1.936197974166083e-05, 0.00019521551847135162, -0.002857816859622779, 0.10392373657681724,
               2.7206261904844427])


# ============================================================================================ Triton side

@triton.jit
def _chbevl(t, C: tl.constexpr, N: tl.constexpr):
    # sum' C[i] T_(N-1-i)(t / 2) by Clenshaw's recurrence (Cephes' chbevl)
    b0 = tl.full(t.shape, C[0], tl.float64)
    b1 = tl.zeros(t.shape, tl.float64)
    b2 = b1
    for i in tl.static_range(1, N):
        b2 = b1
        b1 = b0
        b0 = t * b1 - b2 + C[i]
    return 0.5 * (b0 - b2)


@triton.jit
def _k(x, ORDER: tl.constexpr, SCALED: tl.constexpr):
    # K_ORDER(x), or e^x K_ORDER(x) when SCALED, in float64
    a = tl.minimum(tl.maximum(x, 1e-300), 2.0)   # the near branch's argument (positive: log is finite)
    if ORDER == 0:
        near = _chbevl(a * a - 2.0, _K0_A, 10) - tl.log(0.5 * a) * bessel._bessel(a, 0, False)
    else:
        near = tl.log(0.5 * a) * bessel._bessel(a, 1, False) + _chbevl(a * a - 2.0, _K1_A, 11) / a
    if SCALED:
        near = near * tl.exp(a)
    f = tl.maximum(x, 2.0)
    if ORDER == 0:
        far = _chbevl(8.0 / f - 2.0, _K0_B, 25) / tl.sqrt(f)
    else:
        far = _chbevl(8.0 / f - 2.0, _K1_B, 25) / tl.sqrt(f)
    if not SCALED:
        far = far * tl.exp(-f)
    r = tl.where(x <= 2.0, near, far)
    r = tl.where(x == 0.0, float("inf"), r)
    return tl.where((x < 0.0) | (x != x), float("nan"), r)


@triton.jit
def _k0_fn(x, y, z, p0, p1):
    return _k(x.to(tl.float64), 0, False).to(x.dtype)


@triton.jit
def _k1_fn(x, y, z, p0, p1):
    return _k(x.to(tl.float64), 1, False).to(x.dtype)


@triton.jit
def _k0e_fn(x, y, z, p0, p1):
    return _k(x.to(tl.float64), 0, True).to(x.dtype)


@triton.jit
def _k1e_fn(x, y, z, p0, p1):
    return _k(x.to(tl.float64), 1, True).to(x.dtype)


# ============================================================================================ NumPy side

def _chbevl_np(t: np.ndarray, c) -> np.ndarray:
    c = c.value
    b0 = np.full_like(t, c[0])
    b1 = np.zeros_like(t)
    b2 = b1
    for v in c[1:]:
        b2 = b1
        b1 = b0
        b0 = t * b1 - b2 + v
    return 0.5 * (b0 - b2)


_I0 = bessel._fallback(0, False)
_I1 = bessel._fallback(1, False)


def _k_np(order: int, scaled: bool):
    def fn(x):
        a = np.minimum(np.maximum(x, 1e-300), 2.0)
        if order == 0:
            near = _chbevl_np(a * a - 2.0, _K0_A) - np.log(0.5 * a) * _I0(a)
        else:
            near = np.log(0.5 * a) * _I1(a) + _chbevl_np(a * a - 2.0, _K1_A) / a
        if scaled:
            near = near * np.exp(a)
        f = np.maximum(x, 2.0)
        far = _chbevl_np(8.0 / f - 2.0, _K0_B if order == 0 else _K1_B) / np.sqrt(f)
        if not scaled:
            far = far * np.exp(-f)
        r = np.where(x <= 2.0, near, far)
        r = np.where(x == 0, np.inf, r)
        return np.where((x < 0) | np.isnan(x), np.nan, r)
    return fn


# ==================================================================================== float64 references

def _mp_one(order: int, scaled: bool):
    def one(v: float) -> float:
        if math.isnan(v) or v < 0:
            return math.nan
        if v == 0:
            return math.inf
        if v == math.inf:
            return 0.0
        import mpmath
        with mpmath.workdps(40):
            r = mpmath.besselk(order, v)
            return float(r * mpmath.exp(v) if scaled else r)
    return one


# ====================================================================================== backward rules

def _k0_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * -modified_bessel_k1(x)


def _k1_vjp(ctx, grad):
    (x,) = ctx.inputs
    k1 = modified_bessel_k1(x)
    return grad * (-modified_bessel_k0(x) - k1 / x)


def _k0e_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * (scaled_modified_bessel_k0(x) - scaled_modified_bessel_k1(x))


def _k1e_vjp(ctx, grad):
    (x,) = ctx.inputs
    k1e = scaled_modified_bessel_k1(x)
    return grad * (k1e - scaled_modified_bessel_k0(x) - k1e / x)


# ============================================================================================ the ops

# both sides of the switch at 2, small and large arguments (K underflows past ~705, its scaled form does not)
_SPECIALS = [1e-30, 1e-4, 0.5, 1.99, 2.0, 2.01, 30.0, 700.0, 1e4]


def _declare(name, order, scaled, tl_fn, vjp):
    label = ("e^x " if scaled else "") + f"K{order}"
    return declare_unary(name, family=FAMILY, np_fn=float64_fallback(_k_np(order, scaled)), tl_fn=tl_fn,
                         ref=mp_ref(_mp_one(order, scaled)), samples=_samples(0.05, 12, _SPECIALS), vjp=vjp,
                         torch_fn=lambda torch, x: getattr(torch.special, name)(x),
                         doc=f"{label}(input), the modified Bessel function of the second kind, elementwise "
                             f"(torch.special.{name}).")


modified_bessel_k0_op, modified_bessel_k0 = _declare("modified_bessel_k0", 0, False, _k0_fn, _k0_vjp)
modified_bessel_k1_op, modified_bessel_k1 = _declare("modified_bessel_k1", 1, False, _k1_fn, _k1_vjp)
scaled_modified_bessel_k0_op, scaled_modified_bessel_k0 = _declare("scaled_modified_bessel_k0", 0, True, _k0e_fn,
                                                                   _k0e_vjp)
scaled_modified_bessel_k1_op, scaled_modified_bessel_k1 = _declare("scaled_modified_bessel_k1", 1, True, _k1e_fn,
                                                                   _k1e_vjp)
for _op in (modified_bessel_k0_op, modified_bessel_k1_op, scaled_modified_bessel_k0_op, scaled_modified_bessel_k1_op):
    _op.extra["torch_grad"] = False   # PyTorch gives these no derivative: the gradient tests have no oracle
