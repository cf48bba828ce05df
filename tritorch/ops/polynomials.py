"""The classical orthogonal polynomials of torch.special, each a registered binary pointwise op (x, n) with a Triton
scalar function, a NumPy fallback, a float64 reference (mpmath), samples and a bench spec:
chebyshev_polynomial_t/u/v/w, shifted_chebyshev_polynomial_t/u/v/w (the same at 2x - 1), hermite_polynomial_h
(physicists'), hermite_polynomial_he (probabilists'), laguerre_polynomial_l and legendre_polynomial_p.

Both backends run each family's three-term recurrence p_(k+1) = (a_k(x) p_k - b_k p_(k-1)) / c_k from p_0 = 1 in
float64 (float32/16/bf16 inputs widened, the result rounded once), each element keeping p_n for its own n; a block
runs as many steps as its largest n (so the cost grows with n, as in PyTorch's cpu loop outside |x| < 1).
PyTorch's conventions: n is truncated toward zero (n a tensor of any dtype, or a number), n < 0 (and a NaN n) gives
0, the Hermite polynomials give NaN past n = 512 in float64 and 128 otherwise; the result dtype is the promotion of
x and n to a float dtype. The values at x = +-1 (and 0, 1 for the shifted ones) that PyTorch special-cases are the
recurrence's own exact values. Like PyTorch, no derivative (the result does not require grad).
Accuracy: the recurrences are stable for |x| <= 1 (error ~ n ulp); outside, they are the polynomial's own
conditioning (tests/ops/test_polynomials.py measures both against mpmath).
Bytes per launch: 2n elements read, n written; ~4 flops per element and step.
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..tensor import Tensor
from .binary import _np_binary, _register, _tl_binary, binary_infer, pair_samples
from .registry import BenchSpec, Sample
from .samples import make_tensor, rng_for
from .special_common import torch_via_float32

FAMILY = "polynomials"

# the recurrences (KIND): Chebyshev (T, U, V, W share one), Hermite H, Hermite He, Laguerre, Legendre
_CHEBYSHEV, _HERMITE_H, _HERMITE_HE, _LAGUERRE, _LEGENDRE = 0, 1, 2, 3, 4
# p_1 for the Chebyshev kinds: x, 2x, 2x - 1, 2x + 1 (T, U, V, W)
_FIRST = {"t": 0, "u": 1, "v": 2, "w": 3}
_HERMITE_LIMIT_64 = tl.constexpr(512.0)
_HERMITE_LIMIT = tl.constexpr(128.0)


# ============================================================================================ Triton side

@triton.jit
def _poly(x, n, KIND: tl.constexpr, FIRST: tl.constexpr, SHIFTED: tl.constexpr, WIDE: tl.constexpr):
    # p_n(x) for float64 blocks x and n (n truncated toward zero; 0 where n < 0 or NaN); WIDE: a float64 result
    # (the Hermite polynomials' limit on n is PyTorch's per dtype)
    if KIND == 1 or KIND == 2:
        if WIDE:
            LIMIT = _HERMITE_LIMIT_64
        else:
            LIMIT = _HERMITE_LIMIT
    else:
        LIMIT = float("inf")
    n = tl.where(n < 0.0, -tl.floor(-n), tl.floor(n))
    n = tl.where(n != n, -1.0, n)
    if SHIFTED:
        x = x + x - 1.0
    if KIND == 0:
        if FIRST == 0:
            p1 = x
        elif FIRST == 1:
            p1 = x + x
        elif FIRST == 2:
            p1 = x + x - 1.0
        else:
            p1 = x + x + 1.0
    elif KIND == 1:
        p1 = x + x
    elif KIND == 3:
        p1 = 1.0 - x
    else:
        p1 = x
    p0 = tl.full(x.shape, 1.0, tl.float64)
    r = tl.where(n == 0.0, p0, p1)
    live = n >= 2.0
    steps = tl.max(tl.where(live & (n <= LIMIT), n, 1.0), 0)
    k = 1.0
    for _ in range(1, steps.to(tl.int32)):
        if KIND == 0:
            p2 = (x + x) * p1 - p0
        elif KIND == 1:
            p2 = (x + x) * p1 - (k + k) * p0
        elif KIND == 2:
            p2 = x * p1 - k * p0
        elif KIND == 3:
            p2 = ((k + k + 1.0 - x) * p1 - k * p0) / (k + 1.0)
        else:
            p2 = ((k + k + 1.0) * x * p1 - k * p0) / (k + 1.0)
        p0 = p1
        p1 = p2
        k += 1.0
        r = tl.where(n == k, p1, r)
    r = tl.where(n < 0.0, 0.0, r)
    return tl.where(n > LIMIT, float("nan"), r)


@triton.jit
def _entry(x, n, KIND: tl.constexpr, FIRST: tl.constexpr, SHIFTED: tl.constexpr):
    # the pointwise FN body: float64 in and out for float64 results, else widened from and narrowed to float32
    x, n = tl.broadcast(x, n)  # (a scalar operand becomes a block before the comparisons; see binary.py)
    if x.dtype == tl.float64:
        r = _poly(x, n, KIND, FIRST, SHIFTED, True)
    else:
        r = _poly(x.to(tl.float64), n.to(tl.float64), KIND, FIRST, SHIFTED, False).to(tl.float32)
    return r


@triton.jit
def _t_fn(x, y, z, p0, p1):
    return _entry(x, y, 0, 0, False)


@triton.jit
def _u_fn(x, y, z, p0, p1):
    return _entry(x, y, 0, 1, False)


@triton.jit
def _v_fn(x, y, z, p0, p1):
    return _entry(x, y, 0, 2, False)


@triton.jit
def _w_fn(x, y, z, p0, p1):
    return _entry(x, y, 0, 3, False)


@triton.jit
def _shifted_t_fn(x, y, z, p0, p1):
    return _entry(x, y, 0, 0, True)


@triton.jit
def _shifted_u_fn(x, y, z, p0, p1):
    return _entry(x, y, 0, 1, True)


@triton.jit
def _shifted_v_fn(x, y, z, p0, p1):
    return _entry(x, y, 0, 2, True)


@triton.jit
def _shifted_w_fn(x, y, z, p0, p1):
    return _entry(x, y, 0, 3, True)


@triton.jit
def _hermite_h_fn(x, y, z, p0, p1):
    return _entry(x, y, 1, 0, False)


@triton.jit
def _hermite_he_fn(x, y, z, p0, p1):
    return _entry(x, y, 2, 0, False)


@triton.jit
def _laguerre_fn(x, y, z, p0, p1):
    return _entry(x, y, 3, 0, False)


@triton.jit
def _legendre_fn(x, y, z, p0, p1):
    return _entry(x, y, 4, 0, False)


# ============================================================================================ NumPy side

def _poly_np(x, n, kind: int, first: int, shifted: bool, limit: float) -> np.ndarray:
    """The kernel's _poly on broadcast float64 arrays (the step count from the whole array)."""
    x, n = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(n, np.float64))
    n = np.where(np.isnan(n), -1.0, np.trunc(n))
    if shifted:
        x = x + x - 1.0
    if kind == _CHEBYSHEV:
        p1 = (x, x + x, x + x - 1.0, x + x + 1.0)[first]
    elif kind == _HERMITE_H:
        p1 = x + x
    elif kind == _LAGUERRE:
        p1 = 1.0 - x
    else:
        p1 = x
    p0 = np.ones_like(x)
    r = np.where(n == 0, p0, p1)
    steps = int(np.max(np.where((n >= 2) & (n <= limit), n, 1.0), initial=1.0))
    for k in range(1, steps):
        if kind == _CHEBYSHEV:
            p2 = (x + x) * p1 - p0
        elif kind == _HERMITE_H:
            p2 = (x + x) * p1 - (2.0 * k) * p0
        elif kind == _HERMITE_HE:
            p2 = x * p1 - k * p0
        elif kind == _LAGUERRE:
            p2 = ((2.0 * k + 1.0 - x) * p1 - k * p0) / (k + 1.0)
        else:
            p2 = ((2.0 * k + 1.0) * x * p1 - k * p0) / (k + 1.0)
        p0, p1 = p1, p2
        r = np.where(n == k + 1, p1, r)
    r = np.where(n < 0, 0.0, r)
    return np.where(n > limit, np.nan, r)


def _np_fn(kind: int, first: int, shifted: bool):
    hermite = kind in (_HERMITE_H, _HERMITE_HE)

    def fn(x, n):
        wide = np.asarray(x).dtype == np.float64 or np.asarray(n).dtype == np.float64
        limit = (_HERMITE_LIMIT_64.value if wide else _HERMITE_LIMIT.value) if hermite else math.inf
        return _poly_np(x, n, kind, first, shifted, limit)

    return fn


# ==================================================================================== float64 references

def _mp_value(name: str, x: float, n: int):
    import mpmath
    if name.startswith("shifted_"):
        name, x = name[len("shifted_"):], 2 * mpmath.mpf(x) - 1
    x = mpmath.mpf(x)
    kw = {"zeroprec": 1000}   # exact zeros (U_2(1/2) = 0) need a precision bound to be accepted as 0
    if name == "chebyshev_polynomial_t":
        return mpmath.chebyt(n, x, **kw)
    if name == "chebyshev_polynomial_u":
        return mpmath.chebyu(n, x, **kw)
    if name == "chebyshev_polynomial_v":   # V_n = U_n - U_(n-1), W_n = U_n + U_(n-1)
        return mpmath.chebyu(n, x, **kw) - (mpmath.chebyu(n - 1, x, **kw) if n else 0)
    if name == "chebyshev_polynomial_w":
        return mpmath.chebyu(n, x, **kw) + (mpmath.chebyu(n - 1, x, **kw) if n else 0)
    if name == "hermite_polynomial_h":
        return mpmath.hermite(n, x, **kw)
    if name == "hermite_polynomial_he":
        return mpmath.hermite(n, x / mpmath.sqrt(2), **kw) / mpmath.sqrt(2) ** n
    if name == "laguerre_polynomial_l":
        return mpmath.laguerre(n, 0, x, **kw)
    return mpmath.legendre(n, x, **kw)


def _ref(name: str):
    hermite = "hermite" in name

    def one(x: float, n: float, limit: float) -> float:
        if math.isnan(n) or n <= -1:
            return 0.0
        n = int(n)
        if hermite and n > limit:
            return math.nan
        if math.isnan(x):
            return math.nan
        import mpmath
        with mpmath.workdps(60):
            return float(_mp_value(name, x, n))

    def ref(x, n):
        wide = np.asarray(x).dtype == np.float64 or np.asarray(n).dtype == np.float64
        limit = 512 if wide else 128
        x, n = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(n, np.float64))
        with np.errstate(all="ignore"):
            return np.vectorize(one, otypes=[np.float64])(x, n, limit) if x.size else np.zeros(x.shape)

    return ref


# ======================================================================================== samples, bench

def _samples(shifted: bool):
    low, high = (-0.1, 1.1) if shifted else (-1.2, 1.2)
    base = pair_samples(low, high, -1.0, 9.0, scalars=(3, 4.7), lhs_scalars=(0.5,))

    def samples(device, dtype):
        yield from base(device, dtype)
        if dtype.kind != _dt.FLOAT:
            return
        # the edges PyTorch special-cases, n past the trig switch (6, 8), a negative, fractional and NaN n
        edges = [0.0, 1.0] if shifted else [-1.0, 1.0]
        xs = edges * 3 + [0.3, -0.7 if not shifted else 0.15, 0.9, 0.5, 0.25, 2.0]
        ns = [0.0, 0.0, 3.0, 3.0, 12.0, 13.0, 25.0, 9.0, 11.0, -2.0, 3.9, math.nan]
        if dtype in (_dt.float16, _dt.bfloat16):   # H_12(1) = 280768 is past float16's range
            ns = [min(v, 6.0) for v in ns]
        x = make_tensor((len(xs),), dtype, device, low=0, high=1)
        x.copy_(_host(np.array(xs), dtype, device))
        yield Sample((x, _host(np.array(ns), dtype, device)), name="special")
        # an integer n tensor (the usual call)
        rng = rng_for("poly-int-n", dtype.name, shifted)
        x = make_tensor((4, 5), dtype, device, rng=rng, low=low, high=high)
        n = make_tensor((5,), _dt.int64, device, rng=rng, low=0, high=10)
        yield Sample((x, n), name="int-n")

    return samples


def _host(values: np.ndarray, dtype, device):
    from .creation import tensor
    return tensor(values, dtype=dtype, device=device)


def _bench():
    def make(size, device, dtype):
        rng = rng_for("poly-bench", size, dtype.name)
        return (make_tensor((size,), dtype, device, rng=rng, low=-1, high=1),
                make_tensor((size,), _dt.int64, device, rng=rng, low=0, high=16)), {}

    return BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24), make=make,
                     bytes=lambda size, dtype: size * (2 * dtype.itemsize + 8),
                     flops=lambda size: 4 * 16 * size, dtypes=(_dt.float32, _dt.float64))


# ============================================================================================ the ops

_OPS = {}


def _declare(name: str, tl_fn, kind: int, first: int = 0, shifted: bool = False):
    op = _register(name, binary_infer(name, "float"), _np_binary(_np_fn(kind, first, shifted), quiet=True),
                   _tl_binary(tl_fn), _ref(name), _samples(shifted), _dt.FLOATS, tl_fn, bench=_bench(),
                   differentiable=False)
    op.extra["torch"] = torch_via_float32(lambda torch, x, n: getattr(torch.special, name)(x, n))
    _OPS[name] = op

    def fn(input, n, *, out=None) -> Tensor:
        return op(input, n, out=out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.special.{name}(input, n): the polynomial of degree n (a tensor or a number) at input."
    return fn


chebyshev_polynomial_t = _declare("chebyshev_polynomial_t", _t_fn, _CHEBYSHEV, _FIRST["t"])
chebyshev_polynomial_u = _declare("chebyshev_polynomial_u", _u_fn, _CHEBYSHEV, _FIRST["u"])
chebyshev_polynomial_v = _declare("chebyshev_polynomial_v", _v_fn, _CHEBYSHEV, _FIRST["v"])
chebyshev_polynomial_w = _declare("chebyshev_polynomial_w", _w_fn, _CHEBYSHEV, _FIRST["w"])
shifted_chebyshev_polynomial_t = _declare("shifted_chebyshev_polynomial_t", _shifted_t_fn, _CHEBYSHEV, 0, True)
shifted_chebyshev_polynomial_u = _declare("shifted_chebyshev_polynomial_u", _shifted_u_fn, _CHEBYSHEV, 1, True)
shifted_chebyshev_polynomial_v = _declare("shifted_chebyshev_polynomial_v", _shifted_v_fn, _CHEBYSHEV, 2, True)
shifted_chebyshev_polynomial_w = _declare("shifted_chebyshev_polynomial_w", _shifted_w_fn, _CHEBYSHEV, 3, True)
hermite_polynomial_h = _declare("hermite_polynomial_h", _hermite_h_fn, _HERMITE_H)
hermite_polynomial_he = _declare("hermite_polynomial_he", _hermite_he_fn, _HERMITE_HE)
laguerre_polynomial_l = _declare("laguerre_polynomial_l", _laguerre_fn, _LAGUERRE)
legendre_polynomial_p = _declare("legendre_polynomial_p", _legendre_fn, _LEGENDRE)

__all__ = list(_OPS)
