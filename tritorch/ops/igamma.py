"""The regularised incomplete gamma functions: igamma P(a, x) (torch.igamma, special.gammainc) and igammac
Q(a, x) = 1 - P(a, x) (torch.igammac, special.gammaincc), registered binary pointwise ops with a Triton scalar
function, a NumPy fallback, a float64 reference (mpmath), samples and a bench spec; Gamma.cdf and Chi2.cdf use them.

Both backends evaluate one float64 algorithm (float32/16/bf16 inputs widened, the result rounded once):
  x < a + 1     P by its power series e^-x x^a / Gamma(a + 1) sum_n x^n / ((a + 1) ... (a + n)), Q = 1 - P
                (P is below ~0.6 there, so Q loses nothing);
  x >= a + 1    Q by its continued fraction (modified Lentz), P = 1 - Q (Q is below ~0.5 there);
  a > 1e7       Wilson and Hilferty's normal approximation of (x / a)^(1/3) (relative error below 1e-8 and
                falling like 1 / a), where the two above would need ~sqrt(a) terms and their prefactor would lose
                more than the approximation.
Accuracy: the prefactor exp(a log x - x - lgamma(a)) costs about a log(x) ulp to cancellation (1e-13 at a = 250,
1e-11 at 1e4, 1e-9 at 1e6); elsewhere within a few ulp of mpmath. (Temme's form of the prefactor, through
log1p(t) - t with t = x/a - 1, would remove the growth; it is not written.)
The terms loop to a count that depends on a only (30 + 9 sqrt(a) for the series, 40 + 6 sqrt(a) for the
fraction, the block's largest on a GPU): terms past convergence no longer change the sum.
Special values follow PyTorch: NaN for a negative a or x, a NaN, a = x = 0, and a = x = inf; P(0, x > 0) = 1,
P(a, 0) = 0, P(a, inf) = 1, P(inf, x) = 0.
Gradients: dP/dx = exp((a - 1) log x - x - lgamma(a)) = -dQ/dx, in ops (any order in x); as in PyTorch there is
no derivative in a (asking for one raises).
Bytes per launch: 2n elements read, n written; the work grows like sqrt(a) per element.
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..tensor import Tensor
from . import _bind
from .binary import _np_binary, _register, _special_pair, _tl_binary, binary_infer, pair_samples
from .erfc import _erfc64, _erfc64_np
from .gamma import _lgamma64, _lgamma64_np, lgamma
from .registry import BenchSpec, Sample
from .samples import make_tensor, rng_for

FAMILY = "igamma"

__all__ = ["igamma", "igammac"]

_BIG_A = 1e7           # above: Wilson-Hilferty
_TINY = 1e-300         # Lentz's floor for vanishing denominators
_NOT_IN_A = "the derivative for 'igamma: input' is not implemented."


# =========================================================================================== Triton helpers

@triton.jit
def _igamma_pq(a, x):
    # (P(a, x), Q(a, x)) for float64 blocks a, x
    inf = float("inf")
    general = (a > 0.0) & (x > 0.0) & (a < inf) & (x < inf)
    big = a > 1e7
    aa = tl.where(general & ~big, a, 1.0)   # benign values where another branch decides
    xx = tl.where(general & ~big, x, 1.0)
    pre = tl.exp(aa * tl.log(xx) - xx - _lgamma64(aa))
    series = xx < aa + 1.0
    # P by the power series (for the block's series elements; the rest run it on a = 1, x = 1)
    xs = tl.where(series, xx, 1.0)
    as_ = tl.where(series, aa, 1.0)
    n_series = tl.max(tl.where(series, 30.0 + 9.0 * tl.sqrt(as_), 0.0), 0)
    term = 1.0 / as_
    total = term
    ap = as_
    for _ in range(0, n_series.to(tl.int32)):
        ap += 1.0
        term = term * xs / ap
        total += term
    p_series = total * pre
    # Q by the continued fraction (modified Lentz)
    xf = tl.where(series, 2.0, xx)
    af = tl.where(series, 1.0, aa)
    n_cf = tl.max(tl.where(series, 0.0, 40.0 + 6.0 * tl.sqrt(af)), 0)
    b = xf + 1.0 - af
    c = tl.full(b.shape, 1e300, tl.float64)
    d = 1.0 / b
    h = d
    for i in range(1, n_cf.to(tl.int32) + 1):
        an = -i * (i - af)
        b += 2.0
        d = an * d + b
        d = tl.where(tl.abs(d) < 1e-300, 1e-300, d)
        c = b + an / c
        c = tl.where(tl.abs(c) < 1e-300, 1e-300, c)
        d = 1.0 / d
        h = h * d * c
    q_cf = h * pre
    p = tl.where(series, p_series, 1.0 - q_cf)
    q = tl.where(series, 1.0 - p_series, q_cf)
    # Wilson-Hilferty for a > 1e7: (x / a)^(1/3) is close to normal, mean 1 - 1/(9a), variance 1/(9a)
    ab = tl.where(big, a, 1e8)
    v = 1.0 / (9.0 * ab)
    z = (tl.exp(tl.log(tl.where(big & general, x, 1.0) / ab) / 3.0) - (1.0 - v)) / tl.sqrt(v)
    p_big = 0.5 * _erfc64(-z * 0.7071067811865476, 64)
    q_big = 0.5 * _erfc64(z * 0.7071067811865476, 64)
    p = tl.where(big, p_big, p)
    q = tl.where(big, q_big, q)
    # special values (PyTorch's)
    zero_a = (a == 0.0) & (x > 0.0)
    p = tl.where(zero_a | (x == inf), 1.0, p)
    q = tl.where(zero_a | (x == inf), 0.0, q)
    p = tl.where((x == 0.0) | (a == inf), 0.0, p)
    q = tl.where((x == 0.0) | (a == inf), 1.0, q)
    bad = (a != a) | (x != x) | (a < 0.0) | (x < 0.0) | ((a == 0.0) & (x == 0.0)) | ((a == inf) & (x == inf))
    p = tl.where(bad, float("nan"), p)
    q = tl.where(bad, float("nan"), q)
    return p, q


@triton.jit
def _igamma_fn(x, y, z, p0, p1):
    x, y = tl.broadcast(x, y)  # (a scalar operand becomes a block before the comparisons; see binary.py)
    p, q = _igamma_pq(x, y)
    return p


@triton.jit
def _igammac_fn(x, y, z, p0, p1):
    x, y = tl.broadcast(x, y)
    p, q = _igamma_pq(x, y)
    return q


@triton.jit
def _igamma_h(x, y, z, p0, p1):
    # float16/bfloat16 results: the float64 value narrowed to float32 first (the interpreter cannot go to bf16)
    return _igamma_fn(x, y, z, p0, p1).to(tl.float32)


@triton.jit
def _igammac_h(x, y, z, p0, p1):
    return _igammac_fn(x, y, z, p0, p1).to(tl.float32)


# ============================================================================================ NumPy side

def _igamma_pq_np(a: np.ndarray, x: np.ndarray) -> tuple:
    """The kernel's _igamma_pq on broadcast float64 arrays (the loop counts from the whole array)."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    a, x = a.reshape(-1), x.reshape(-1)
    inf = np.inf
    with np.errstate(all="ignore"):
        general = (a > 0) & (x > 0) & (a < inf) & (x < inf)
        big = a > _BIG_A
        aa = np.where(general & ~big, a, 1.0)
        xx = np.where(general & ~big, x, 1.0)
        pre = np.exp(aa * np.log(xx) - xx - _lgamma64_np(aa))
        series = xx < aa + 1.0
        xs, as_ = np.where(series, xx, 1.0), np.where(series, aa, 1.0)
        n_series = int(np.max(np.where(series, 30.0 + 9.0 * np.sqrt(as_), 0.0), initial=0.0))
        term = 1.0 / as_
        total = term.copy()
        ap = as_.copy()
        for _ in range(n_series):
            ap += 1.0
            term = term * xs / ap
            total += term
        p_series = total * pre
        xf, af = np.where(series, 2.0, xx), np.where(series, 1.0, aa)
        n_cf = int(np.max(np.where(series, 0.0, 40.0 + 6.0 * np.sqrt(af)), initial=0.0))
        b = xf + 1.0 - af
        c = np.full_like(b, 1e300)
        d = 1.0 / b
        h = d.copy()
        for i in range(1, n_cf + 1):
            an = -i * (i - af)
            b += 2.0
            d = an * d + b
            d[np.abs(d) < _TINY] = _TINY
            c = b + an / c
            c[np.abs(c) < _TINY] = _TINY
            d = 1.0 / d
            h *= d * c
        q_cf = h * pre
        p = np.where(series, p_series, 1.0 - q_cf)
        q = np.where(series, 1.0 - p_series, q_cf)
        ab = np.where(big, a, 1e8)
        v = 1.0 / (9.0 * ab)
        z = (np.cbrt(np.where(big & general, x, 1.0) / ab) - (1.0 - v)) / np.sqrt(v)
        p = np.where(big, 0.5 * _erfc64_np(-z * math.sqrt(0.5)), p)
        q = np.where(big, 0.5 * _erfc64_np(z * math.sqrt(0.5)), q)
        zero_a = (a == 0) & (x > 0)
        p = np.where(zero_a | (x == inf), 1.0, p)
        q = np.where(zero_a | (x == inf), 0.0, q)
        p = np.where((x == 0) | (a == inf), 0.0, p)
        q = np.where((x == 0) | (a == inf), 1.0, q)
        bad = np.isnan(a) | np.isnan(x) | (a < 0) | (x < 0) | ((a == 0) & (x == 0)) | ((a == inf) & (x == inf))
        p[bad] = np.nan
        q[bad] = np.nan
    return p, q


def _np_fn(which: int):
    def fn(a, x):
        shape = np.broadcast_shapes(np.shape(a), np.shape(x))
        return _igamma_pq_np(a, x)[which].reshape(shape)
    return fn


# ==================================================================================== float64 references

def _ref_one(which: int):
    def one(a: float, x: float) -> float:
        inf = math.inf
        if math.isnan(a) or math.isnan(x) or a < 0 or x < 0 or (a == 0 and x == 0) or (a == inf and x == inf):
            return math.nan
        if (a == 0 and x > 0) or x == inf:
            return (1.0, 0.0)[which]
        if x == 0 or a == inf:
            return (0.0, 1.0)[which]
        import mpmath
        with mpmath.workdps(40):
            try:
                return float(mpmath.gammainc(a, 0, x, regularized=True) if which == 0
                             else mpmath.gammainc(a, x, mpmath.inf, regularized=True))
            except mpmath.libmp.NoConvergence:   # large a: the series itself, with room for its ~sqrt(a) terms
                a_, x_ = mpmath.mpf(a), mpmath.mpf(x)
                log_pre = a_ * mpmath.log(x_) - x_ - mpmath.loggamma(a_ + 1)
                # Q = 1 - P: enough digits that a Q as small as the prefactor survives the difference (below
                # 1e-340 float64 holds 0 anyway)
                decades = int(-log_pre / mpmath.log(10)) if which == 1 and x > a else 0
                if decades > 340:
                    return 0.0
                digits = 40 + decades
                with mpmath.workdps(digits):
                    p = mpmath.exp(log_pre) * mpmath.hyp1f1(1, a_ + 1, x_, maxterms=10 ** 7)
                    return float(p if which == 0 else 1 - p)
    return np.vectorize(one, otypes=[np.float64])


def _ref(which: int):
    one = _ref_one(which)

    def ref(a, x):
        a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
        return one(a, x) if a.size else np.zeros(a.shape)
    return ref


# ======================================================================================== samples, bench

def _samples():
    base = pair_samples(0.2, 6.0, 0.05, 9.0, scalars=())

    def samples(device, dtype):
        yield from base(device, dtype)
        if dtype.kind != _dt.FLOAT:
            return
        inf, nan = np.inf, np.nan
        a_s = [0.0, 0.0, 1.0, 1.0, -1.0, 2.0, inf, inf, nan, 1.0, 0.5, 30.0, 30.0, 250.0, 3e7, 3e7, 1e-3, 1e-3]
        x_s = [0.0, 1.0, 0.0, inf, 1.0, -1.0, 1.0, inf, 1.0, nan, 1e-8, 29.0, 45.0, 260.0, 3e7, 3.0003e7, 1.0,
               1e-4]
        # float64 (gradcheck differentiates in x): finite points at least its step (1e-6) inside the domain
        keep = [11, 12, 13, 16] if dtype is _dt.float64 else None
        yield Sample(_special_pair(a_s, x_s, dtype, device, keep), name="special")

    return samples


def _bench():
    def make(size, device, dtype):
        rng = rng_for("igamma-bench", size, dtype.name)
        return (make_tensor((size,), dtype, device, rng=rng, low=0.5, high=20),
                make_tensor((size,), dtype, device, rng=rng, low=0.0, high=30)), {}

    return BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24), make=make, bytes=lambda size, dtype: 3 * size * dtype.itemsize,
                     flops=lambda size: 400 * size, dtypes=(_dt.float32,))


# ====================================================================================== backward rules

def _igamma_vjp(sign: float):
    def vjp(ctx, grad):
        a, x = ctx.inputs
        if ctx.needs_input_grad[0]:
            raise NotImplementedError(_NOT_IN_A)
        # PyTorch's formula: exp((a - 1) log x - x - lgamma(a))
        density = ((a - 1) * x.log() - x - lgamma(a)).exp()
        return None, grad * (density if sign > 0 else -density)
    return vjp


# ============================================================================================ the ops

def _declare(name, which, tl_fn, half_fn):
    op = _register(name, binary_infer(name, "float", allowed=_dt.FLOATS, tensors_only=True),
                   _np_binary(_np_fn(which), quiet=True), _tl_binary(tl_fn, f64=True, half_fn=half_fn),
                   _ref(which), _samples(), _dt.FLOATS, tl_fn, bench=_bench(),
                   extra={"torch": (lambda torch, a, x: torch.igamma(a, x)) if which == 0
                          else (lambda torch, a, x: torch.igammac(a, x)),
                          "grad_inputs": (1,)})
    op.vjp = _igamma_vjp(1.0 if which == 0 else -1.0)
    return op


igamma_op = _declare("igamma", 0, _igamma_fn, _igamma_h)
igammac_op = _declare("igammac", 1, _igammac_fn, _igammac_h)


def igamma(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The regularised lower incomplete gamma function P(input, other) (special.gammainc)."""
    return igamma_op(input, other, out=out)


def igammac(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The regularised upper incomplete gamma function Q(input, other) = 1 - P (special.gammaincc)."""
    return igammac_op(input, other, out=out)


def _inplace(fn):
    def method(self, other):
        return fn(self, other, out=self)
    return method


_bind.methods(igamma=igamma, igammac=igammac, igamma_=_inplace(igamma), igammac_=_inplace(igammac))
