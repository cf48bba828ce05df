"""Complex forms of the elementwise functions: sin, cos, tan, sinh, cosh, tanh, their inverses (asin, acos, atan,
asinh, acosh, atanh), sigmoid, square, rsqrt, log2, log1p, expm1, exp2 (holomorphic: each op's gradient is grad * conj(f'(z)), PyTorch's convention, composed of complex ops so
it has its own gradient), and isnan, isinf, isfinite (a part is NaN / infinite; no gradient).

cpu: NumPy's complex functions. cuda: the trigonometric and hyperbolic ones as two launches over the input's
(re, im) parts, computed in float64 (complex.py `_parts_cuda`), with the textbook forms
  sin(x + iy)  = sin x cosh y + i cos x sinh y        sinh(x + iy) = sinh x cos y + i cosh x sin y
  cos(x + iy)  = cos x cosh y - i sin x sinh y        cosh(x + iy) = cosh x cos y + i sinh x sin y
  tanh(x + iy) = (sinh 2x + i sin 2y) / (cosh 2x + cos 2y), and sign(x) + i 2 sin 2y e^(-2|x|) once |x| > 20
                 (where cosh 2x would overflow first); tan z = -i tanh(iz)
(sinh through expm1, so no cancellation near 0); the inverses from log and sqrt on the parts:
  asinh z = log(z + sqrt(z^2 + 1)) for re z >= 0 and -asinh(-z) otherwise, asin z = -i asinh(iz),
  acos z = pi/2 - asin z, atanh z = log1p(4x / ((1 - x)^2 + y^2)) / 4 + i atan2(2y, (1 - x)(1 + x) - y^2) / 2,
  atan z = -i atanh(iz), acosh z = log(z + sqrt(z + 1) sqrt(z - 1));
the others composed of the complex ops (exp, log, sqrt, div).
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from . import unary
from .complex import (COMPLEX, FAMILY, _binary_atan2, _binary_hypot, _binary_signbit, _complex_same_infer,
                      _complex_samples, _identity, _launch, _parts_cuda, _spec, _sqrt_scale, _unary, _unary_shapes,
                      complex_add_op, complex_div_op, complex_exp_op, complex_log_op, complex_mul_op, complex_sqrt_op,
                      conj_physical_op, imag_op, pairs, real_op)
from .registry import Meta, OpDef, Sample, register
from .unary import _expm1_accurate, _log1p_accurate

_LN2, _LN10 = math.log(2.0), math.log(10.0)


# ==================================================================================== Triton part functions

@triton.jit
def _cosh(v):
    return 0.5 * (tl.exp(v) + tl.exp(-v))


@triton.jit
def _sinh(v):
    return 0.5 * (_expm1_accurate(v) - _expm1_accurate(-v))


@triton.jit
def _sin_re(x, y, z, p0, p1):
    return tl.sin(x) * _cosh(y)


@triton.jit
def _sin_im(x, y, z, p0, p1):
    return tl.cos(x) * _sinh(y)


@triton.jit
def _cos_re(x, y, z, p0, p1):
    return tl.cos(x) * _cosh(y)


@triton.jit
def _cos_im(x, y, z, p0, p1):
    return -(tl.sin(x) * _sinh(y))


@triton.jit
def _sinh_re(x, y, z, p0, p1):
    return _sinh(x) * tl.cos(y)


@triton.jit
def _sinh_im(x, y, z, p0, p1):
    return _cosh(x) * tl.sin(y)


@triton.jit
def _cosh_re(x, y, z, p0, p1):
    return _cosh(x) * tl.cos(y)


@triton.jit
def _cosh_im(x, y, z, p0, p1):
    return _sinh(x) * tl.sin(y)


@triton.jit
def _tanh_parts(a, b):
    # tanh(a + ib) as (re, im); past |a| = 20 the limits, where cosh 2a would overflow before the ratio
    big = tl.abs(a) > 20.0
    a_ = tl.where(big, 0.0, a)
    d = _cosh(2.0 * a_) + tl.cos(2.0 * b)
    re = tl.where(big, tl.where(a > 0, 1.0, -1.0), _sinh(2.0 * a_) / d)
    im = tl.where(big, 2.0 * tl.sin(2.0 * b) * tl.exp(-2.0 * tl.abs(a)), tl.sin(2.0 * b) / d)
    return re, im


@triton.jit
def _tanh_re(x, y, z, p0, p1):
    re, im = _tanh_parts(x, y)
    return re


@triton.jit
def _tanh_im(x, y, z, p0, p1):
    re, im = _tanh_parts(x, y)
    return im


@triton.jit
def _tan_re(x, y, z, p0, p1):
    # tan z = -i tanh(iz), iz = -y + ix: tan's real part is tanh(-y + ix)'s imaginary part
    re, im = _tanh_parts(-y, x)
    return im


@triton.jit
def _tan_im(x, y, z, p0, p1):
    re, im = _tanh_parts(-y, x)
    return -re


# ======================================================================== inverse trigonometric / hyperbolic

@triton.jit
def _csqrt(x, y):
    # the principal square root's parts (complex.py's forms)
    t = _sqrt_scale(x, y)
    re = tl.where(x >= 0, t, tl.where(t == 0, 0.0, tl.abs(y) / (2.0 * t)))
    im = tl.where(x >= 0, tl.where(t == 0, 0.0, y / (2.0 * t)), tl.where(_binary_signbit(y), -t, t))
    return re, im


@triton.jit
def _asinh_parts(x, y):
    # asinh z = log(z + sqrt(z^2 + 1)) for re z >= 0, and asinh z = -asinh(-z) (no cancellation in the sum); as
    # log(1 + v) with v = z + (s - 1), s - 1 = z^2 / (s + 1), so that small z keep their digits
    neg = _binary_signbit(x)
    a = tl.where(neg, -x, x)
    b = tl.where(neg, -y, y)
    wr = a * a - b * b
    wi = 2.0 * a * b
    sr, si = _csqrt(wr + 1.0, wi)
    dr = sr + 1.0                                   # s + 1 (re s >= 0: |s + 1| >= 1)
    den = dr * dr + si * si
    vr = a + (wr * dr + wi * si) / den
    vi = b + (wi * dr - wr * si) / den
    lr = 0.5 * _log1p_accurate(2.0 * vr + vr * vr + vi * vi)     # log|1 + v|
    li = _binary_atan2(vi, 1.0 + vr, vi, 0.0, 0.0)
    return tl.where(neg, -lr, lr), tl.where(neg, -li, li)


@triton.jit
def _atanh_parts(x, y):
    # atanh z = (log(1 + z) - log(1 - z)) / 2: re = log1p(4x / ((1 - x)^2 + y^2)) / 4,
    # im = atan2(2y, (1 - x)(1 + x) - y^2) / 2
    d = (1.0 - x) * (1.0 - x) + y * y
    re = 0.25 * _log1p_accurate(4.0 * x / d)
    im = 0.5 * _binary_atan2(2.0 * y, (1.0 - x) * (1.0 + x) - y * y, y, 0.0, 0.0)
    return re, im


@triton.jit
def _acosh_parts(x, y):
    # acosh z = log(z + sqrt(z + 1) sqrt(z - 1)) (the principal branch, re >= 0)
    pr, pi = _csqrt(x + 1.0, y)
    qr, qi = _csqrt(x - 1.0, y)
    ur = x + (pr * qr - pi * qi)
    ui = y + (pr * qi + pi * qr)
    return tl.log(_binary_hypot(ur, ui, ur, 0.0, 0.0)), _binary_atan2(ui, ur, ur, 0.0, 0.0)


@triton.jit
def _asinh_re(x, y, z, p0, p1):
    re, im = _asinh_parts(x, y)
    return re


@triton.jit
def _asinh_im(x, y, z, p0, p1):
    re, im = _asinh_parts(x, y)
    return im


@triton.jit
def _asin_re(x, y, z, p0, p1):
    # asin z = -i asinh(iz), iz = -y + ix
    re, im = _asinh_parts(-y, x)
    return im


@triton.jit
def _asin_im(x, y, z, p0, p1):
    re, im = _asinh_parts(-y, x)
    return -re


@triton.jit
def _acos_re(x, y, z, p0, p1):
    # acos z = pi / 2 - asin z
    re, im = _asinh_parts(-y, x)
    return 1.5707963267948966 - im


@triton.jit
def _acos_im(x, y, z, p0, p1):
    re, im = _asinh_parts(-y, x)
    return re


@triton.jit
def _atanh_re(x, y, z, p0, p1):
    re, im = _atanh_parts(x, y)
    return re


@triton.jit
def _atanh_im(x, y, z, p0, p1):
    re, im = _atanh_parts(x, y)
    return im


@triton.jit
def _atan_re(x, y, z, p0, p1):
    # atan z = -i atanh(iz)
    re, im = _atanh_parts(-y, x)
    return im


@triton.jit
def _atan_im(x, y, z, p0, p1):
    re, im = _atanh_parts(-y, x)
    return -re


@triton.jit
def _acosh_re(x, y, z, p0, p1):
    re, im = _acosh_parts(x, y)
    return re


@triton.jit
def _acosh_im(x, y, z, p0, p1):
    re, im = _acosh_parts(x, y)
    return im


# ============================================================================================ composed cuda

def _composed_cuda(fn):
    """A cuda impl composed of complex ops: fn(x) -> Tensor (no graph: the op's own rule differentiates it)."""
    def cuda(meta, x, out=None):
        from ..autograd.grad_mode import no_grad
        with no_grad():
            r = fn(x)._data
        if out is None:
            return r
        _launch(_identity, [pairs(r)], x, tuple(meta.shape) + (2,), meta.dtype.to_real(), pairs(out))
        return out
    return cuda


def _sigmoid(z):
    return complex_div_op(1, complex_add_op(1, complex_exp_op(-z)))


def _rsqrt(z):
    return complex_div_op(1, complex_sqrt_op(z))


# ================================================================================================ the ops

def _np_sigmoid(z, out=None):
    return np.divide(1, np.add(np.exp(-z), 1), out=out)


def _np_rsqrt(z, out=None):
    return np.divide(1, np.sqrt(z), out=out)


def _np_square(z, out=None):
    return np.multiply(z, z, out=out)


# name: (NumPy form, cuda impl, f'(z) from (z, f(z)) in complex ops, flops per element)
_FORMS = {
    "sin": (np.sin, _parts_cuda(_sin_re, _sin_im), lambda z, w: cos_op(z), 40),
    "cos": (np.cos, _parts_cuda(_cos_re, _cos_im), lambda z, w: -sin_op(z), 40),
    "tan": (np.tan, _parts_cuda(_tan_re, _tan_im), lambda z, w: 1 + w * w, 40),
    "sinh": (np.sinh, _parts_cuda(_sinh_re, _sinh_im), lambda z, w: cosh_op(z), 40),
    "cosh": (np.cosh, _parts_cuda(_cosh_re, _cosh_im), lambda z, w: sinh_op(z), 40),
    "tanh": (np.tanh, _parts_cuda(_tanh_re, _tanh_im), lambda z, w: 1 - w * w, 40),
    "sigmoid": (_np_sigmoid, _composed_cuda(_sigmoid), lambda z, w: w * (1 - w), 40),
    "square": (_np_square, _composed_cuda(lambda z: complex_mul_op(z, z)), lambda z, w: 2 * z, 6),
    "rsqrt": (_np_rsqrt, _composed_cuda(_rsqrt), lambda z, w: -0.5 * w * w * w, 30),
    "log2": (np.log2, _composed_cuda(lambda z: complex_log_op(z) * (1 / _LN2)), lambda z, w: 1 / (z * _LN2), 30),
    "log1p": (np.log1p, _composed_cuda(lambda z: complex_log_op(complex_add_op(z, 1))), lambda z, w: 1 / (1 + z),
              30),
    "expm1": (np.expm1, _composed_cuda(lambda z: complex_add_op(complex_exp_op(z), -1)), lambda z, w: w + 1, 20),
    "exp2": (np.exp2, _composed_cuda(lambda z: complex_exp_op(z * _LN2)), lambda z, w: w * _LN2, 20),
    "asin": (np.arcsin, _parts_cuda(_asin_re, _asin_im), lambda z, w: 1 / complex_sqrt_op(1 - z * z), 60),
    "acos": (np.arccos, _parts_cuda(_acos_re, _acos_im), lambda z, w: -1 / complex_sqrt_op(1 - z * z), 60),
    "atan": (np.arctan, _parts_cuda(_atan_re, _atan_im), lambda z, w: 1 / (1 + z * z), 40),
    "asinh": (np.arcsinh, _parts_cuda(_asinh_re, _asinh_im), lambda z, w: 1 / complex_sqrt_op(z * z + 1), 60),
    "acosh": (np.arccosh, _parts_cuda(_acosh_re, _acosh_im),
              lambda z, w: 1 / (complex_sqrt_op(z - 1) * complex_sqrt_op(z + 1)), 60),
    "atanh": (np.arctanh, _parts_cuda(_atanh_re, _atanh_im), lambda z, w: 1 / (1 - z * z), 40),
}


def _cpu(np_fn):
    def cpu(meta, x, out=None):
        with np.errstate(all="ignore"):
            return np_fn(x._data, out=out)
    return cpu


def _ref(np_fn):
    def ref(x):
        with np.errstate(all="ignore"):
            return np_fn(np.asarray(x, np.complex128))
    return ref


def _vjp(derivative):
    def vjp(ctx, grad):
        return grad * conj_physical_op(derivative(ctx.inputs[0], ctx.output))
    return vjp


@_complex_samples
def _samples(T, device, dtype):
    yield from _unary_shapes(T)
    yield Sample((T((4, 5), low=-3.0, high=3.0),), name="(-3, 3)")


def _declare(name):
    np_fn, cuda, derivative, flops = _FORMS[name]
    op = register(OpDef(
        name=f"complex_{name}", infer=_complex_same_infer, impl={"cpu": _cpu(np_fn), "cuda": cuda}, family=FAMILY,
        ref=_ref(np_fn), samples=_samples, dtypes=COMPLEX, supports_out=True, save="both", vjp=_vjp(derivative),
        bench=_spec(_unary, 2, flops), extra={"torch": lambda torch, x: getattr(torch, name)(x)},
        doc=f"{name} of a complex tensor (the registry's complex form of {name})"))
    getattr(unary, f"{name}_op").complex_op = op
    return op


sin_op, cos_op, tan_op, sinh_op, cosh_op, tanh_op = (_declare(n) for n in ("sin", "cos", "tan", "sinh", "cosh",
                                                                           "tanh"))
sigmoid_op, square_op, rsqrt_op, log2_op, log1p_op, expm1_op, exp2_op = (
    _declare(n) for n in ("sigmoid", "square", "rsqrt", "log2", "log1p", "expm1", "exp2"))
asin_op, acos_op, atan_op, asinh_op, acosh_op, atanh_op = (_declare(n) for n in ("asin", "acos", "atan", "asinh",
                                                                                 "acosh", "atanh"))


# ================================================================================= isnan / isinf / isfinite

def _bool_infer(x, **_kw):
    return Meta(tuple(x._data.shape), _dt.bool_, x.device)


def _parts_test(name):
    """isnan / isinf: either part; isfinite: both parts (real ops over real_op / imag_op views on cuda)."""
    real_test = getattr(unary, f"{name}_op")

    def cuda(meta, x):
        a, b = real_test(real_op(x)), real_test(imag_op(x))
        return ((a & b) if name == "isfinite" else (a | b))._data
    return cuda


def _declare_test(name):
    np_fn = getattr(np, name)
    op = register(OpDef(
        name=f"complex_{name}", infer=_bool_infer, impl={"cpu": lambda meta, x: np_fn(x._data),
                                                          "cuda": _parts_test(name)},
        family=FAMILY, ref=lambda x: np_fn(np.asarray(x)), samples=_test_samples, dtypes=COMPLEX,
        differentiable=False, bench=_spec(_unary, 1.25, 2), extra={"torch": lambda torch, x: getattr(torch, name)(x)},
        doc=f"{name} of a complex tensor: {'both parts' if name == 'isfinite' else 'either part'}"))
    getattr(unary, f"{name}_op").complex_op = op
    return op


@_complex_samples
def _test_samples(T, device, dtype):
    from .complex import _make_complex
    yield from _unary_shapes(T)
    inf, nan = float("inf"), float("nan")
    values = [1 + 1j, complex(inf, 0), complex(0, -inf), complex(nan, 1), complex(1, nan), complex(inf, nan), 0j]
    yield Sample((_make_complex(values, dtype, device),), name="special")


isnan_op, isinf_op, isfinite_op = (_declare_test(n) for n in ("isnan", "isinf", "isfinite"))
