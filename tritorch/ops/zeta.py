"""The Hurwitz zeta function zeta(x, q) = sum_k (q + k)^-x (torch.special.zeta), a registered binary pointwise op
with a Triton scalar function, a NumPy fallback, a float64 reference (mpmath), samples and a bench spec.

Both backends evaluate one float64 algorithm (float32/16/bf16 inputs widened, the result rounded once), Cephes'
Euler-Maclaurin summation with a fixed number of terms:
  zeta(x, q) = sum_(k < n) (q + k)^-x + w^(1-x) / (x - 1) + w^-x / 2 + sum_(j=1..12) B_2j / (2j)! x (x+1) ...
               (x + 2j - 2) w^(-x-2j+1),      w = q + n,
with n = 10 direct terms (plus ceil(-q) for a negative q, the block's largest on a GPU: more direct terms only move
w further out). The remainder after 12 corrections is below 1e-20 relative for w >= 10 where it matters (where
x >> w the direct sum's first term dominates everything the tail could add).
Accuracy: each (q + k)^-x is exp2(-x log2(q + k)), which costs about |x log(q + k)| ulp, the function's own
condition number in x; within a few ulp of mpmath elsewhere (tests/ops/test_zeta.py).
Special values follow PyTorch (Cephes): inf at x = 1 and at q a non-positive integer, NaN for x < 1 or NaN in, and
for q < 0 unless x is an integer. Two limits differ on purpose: zeta(inf, q > 1) = 0 and zeta(x > 1, inf) = 0,
where PyTorch's Cephes code multiplies 0 by inf and returns NaN.
Gradients: d/dq zeta(x, q) = -x zeta(x + 1, q), in ops (any order in q); as in PyTorch there is no derivative in
x (not elementary; asking for one raises).
Bytes per launch: 2n elements read, n written; ~36 flops and 11 exp2/log2 pairs per element.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..tensor import Tensor
from .binary import (_float_pow, _np_binary, _register, _special_pair, _tensor_grads, _tl_binary, binary_infer,
                     pair_samples)
from .registry import BenchSpec, Sample
from .samples import make_tensor, rng_for

FAMILY = "zeta"

__all__ = ["zeta"]

_NOT_IN_X = "the derivative for 'zeta' is not implemented."

# B_2j / (2j)!, j = 1..12: the Euler-Maclaurin corrections' coefficients (Bernoulli numbers as exact fractions)
_BERNOULLI = [Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30), Fraction(5, 66),
              Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510), Fraction(43867, 798),
              Fraction(-174611, 330), Fraction(854513, 138), Fraction(-236364091, 2730)]
_EM = tl.constexpr(tuple(float(b / math.factorial(2 * j)) for j, b in enumerate(_BERNOULLI, 1)))
_EM_TERMS = tl.constexpr(len(_BERNOULLI))
_DIRECT = tl.constexpr(10)
_POCH_CAP = tl.constexpr(1e30)   # x above this: w^-x is 0 already; capping the Pochhammer factors keeps 0 * inf out


# ============================================================================================ Triton side

@triton.jit
def _zeta64(x, q):
    # zeta(x, q) for float64 blocks x, q
    inf = float("inf")
    q_int = tl.floor(q) == q
    x_int = tl.floor(x) == x
    ok = (x > 1.0) & ((q > 0.0) | (~q_int & x_int)) & (q < inf)
    xx = tl.where(ok, x, 2.0)   # benign values where a special case decides
    qq = tl.where(ok, q, 1.0)
    shift = tl.max(tl.where(qq < 0.0, -tl.floor(qq), 0.0), 0)
    s = tl.zeros(xx.shape, tl.float64)
    a = qq
    for _ in range(0, shift.to(tl.int32) + _DIRECT):
        s += _float_pow(a, -xx)
        a += 1.0
    w = a
    b = _float_pow(w, -xx)
    s += b * w / (xx - 1.0) + 0.5 * b
    xp = tl.minimum(xx, _POCH_CAP)
    u = b / w * xp
    s += _EM[0] * u
    for j in tl.static_range(1, _EM_TERMS):
        u = u * ((xp + (2 * j - 1)) * (xp + 2 * j) / (w * w))
        s += _EM[j] * u
    r = tl.where(ok, s, float("nan"))
    r = tl.where((x > 1.0) & (q == inf), 0.0, r)
    r = tl.where((x > 1.0) & (q <= 0.0) & q_int, inf, r)
    return tl.where(x == 1.0, inf, r)


@triton.jit
def _zeta_fn(x, y, z, p0, p1):
    x, y = tl.broadcast(x, y)  # (a scalar operand becomes a block before the comparisons; see binary.py)
    return _zeta64(x, y)


@triton.jit
def _zeta_h(x, y, z, p0, p1):
    # float16/bfloat16 results: the float64 value narrowed to float32 first (the interpreter cannot go to bf16)
    return _zeta_fn(x, y, z, p0, p1).to(tl.float32)


# ============================================================================================ NumPy side

def _zeta_np(x, q) -> np.ndarray:
    """The kernel's _zeta64 on broadcast float64 arrays (the direct-term count from the whole array)."""
    x, q = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(q, np.float64))
    shape = x.shape
    x, q = x.reshape(-1), q.reshape(-1)
    with np.errstate(all="ignore"):
        q_int = np.floor(q) == q
        x_int = np.floor(x) == x
        ok = (x > 1) & ((q > 0) | (~q_int & x_int)) & (q < np.inf)
        xx, qq = np.where(ok, x, 2.0), np.where(ok, q, 1.0)
        shift = int(np.max(np.where(qq < 0, -np.floor(qq), 0.0), initial=0.0))
        s = np.zeros_like(xx)
        a = qq.copy()
        for _ in range(shift + _DIRECT.value):
            s += np.power(a, -xx)
            a += 1.0
        w = a
        b = np.power(w, -xx)
        s += b * w / (xx - 1.0) + 0.5 * b
        xp = np.minimum(xx, _POCH_CAP.value)
        u = b / w * xp
        s += _EM.value[0] * u
        for j in range(1, _EM_TERMS.value):
            u = u * ((xp + (2 * j - 1)) * (xp + 2 * j) / (w * w))
            s += _EM.value[j] * u
        r = np.where(ok, s, np.nan)
        r = np.where((x > 1) & (q == np.inf), 0.0, r)
        r = np.where((x > 1) & (q <= 0) & q_int, np.inf, r)
        r = np.where(x == 1, np.inf, r)
    return r.reshape(shape)


# ==================================================================================== float64 reference

def _ref_one(x: float, q: float) -> float:
    inf = math.inf
    if x == 1:
        return inf
    if math.isnan(x) or math.isnan(q) or x < 1:
        return math.nan
    if q <= 0 and q == math.floor(q):
        return inf
    if q < 0 and x != math.floor(x):
        return math.nan
    if q == inf or (x == inf and q > 1):
        return 0.0
    if x == inf:
        return 1.0 if q == 1 else inf
    import mpmath
    # mpmath's zeta loses about as many digits as the result's decimal exponent (it is 1e-104 at x = 39, q = 466,
    # and 40 digits give 1e-10 relative error there): work with that many more
    lost = x * math.log10(q) if q > 1 else 0.0
    with mpmath.workdps(40 + int(min(lost, 400.0))):
        return float(mpmath.zeta(mpmath.mpf(x), mpmath.mpf(q)))


def _ref(x, q):
    x, q = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(q, np.float64))
    with np.errstate(all="ignore"):   # (float() of an mpf past float64's range gives inf quietly enough)
        return np.vectorize(_ref_one, otypes=[np.float64])(x, q) if x.size else np.zeros(x.shape)


# ======================================================================================== samples, bench

def _samples():
    # (no Python-number q: the generated gradient tests differentiate in q only; test_zeta.py covers those calls)
    base = pair_samples(1.5, 8.0, 0.1, 6.0, scalars=(), lhs_scalars=(3,))

    def samples(device, dtype):
        yield from base(device, dtype)
        if dtype.kind != _dt.FLOAT:
            return
        inf, nan = math.inf, math.nan
        x_s = [2.0, 1.0, 0.5, inf, inf, inf, 2.0, 2.0, 2.0, 3.0, 3.0, 2.0, nan, 2.0, 40.0, 1.01, 4.0, 2.0, 7.0]
        q_s = [1.0, 1.0, 1.0, 0.5, 1.0, 2.0, 0.0, -1.0, -1.5, -2.5, -0.0, inf, 1.0, nan, 0.9, 3.0, 1e-3, 60.0, 12.5]
        # float64 (gradcheck differentiates in q): finite points away from the poles only
        keep = [0, 8, 9, 14, 15, 16, 17, 18] if dtype is _dt.float64 else None
        if dtype in (_dt.float16, _dt.bfloat16):   # zeta(4, 1e-3) = 1e12 is past float16's range
            keep = [i for i in range(len(x_s)) if i != 16]
        yield Sample(_special_pair(x_s, q_s, dtype, device, keep), name="special")

    return samples


def _bench():
    def make(size, device, dtype):
        rng = rng_for("zeta-bench", size, dtype.name)
        return (make_tensor((size,), dtype, device, rng=rng, low=1.1, high=20),
                make_tensor((size,), dtype, device, rng=rng, low=0.1, high=30)), {}

    return BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24), make=make, bytes=lambda size, dtype: 3 * size * dtype.itemsize,
                     flops=lambda size: 60 * size, dtypes=(_dt.float32, _dt.float64))


def _torch_zeta(torch, x, q):
    """PyTorch's zeta; its cpu kernel has no float16/bfloat16, so those go through float32 and back."""
    out_dtype = torch.result_type(x, q)
    if out_dtype in (torch.float16, torch.bfloat16):
        x, q = (v.float() if isinstance(v, torch.Tensor) else v for v in (x, q))
        return torch.special.zeta(x, q).to(out_dtype)
    return torch.special.zeta(x, q)


# ====================================================================================== backward rule

def _not_in_x():
    raise NotImplementedError(_NOT_IN_X)


def _zeta_vjp(ctx, grad):
    x, q = ctx.inputs
    return _tensor_grads(ctx, (x, q), _not_in_x, lambda: grad * (-x * zeta(x + 1, q)))


# ============================================================================================== the op

zeta_op = _register("zeta", binary_infer("zeta", "float"), _np_binary(_zeta_np, quiet=True),
                    _tl_binary(_zeta_fn, f64=True, half_fn=_zeta_h), _ref, _samples(), _dt.FLOATS, _zeta_fn,
                    bench=_bench(), extra={"grad_inputs": (1,)})
zeta_op.extra["torch"] = _torch_zeta   # (after _register, which names torch.<name>: zeta is torch.special's)
zeta_op.vjp = _zeta_vjp


def zeta(input, other, *, out=None) -> Tensor:
    """The Hurwitz zeta function sum_k (other + k)^-input, elementwise (torch.special.zeta); either argument may be
    a Python number."""
    return zeta_op(input, other, out=out)
