"""Unary elementwise ops: sign and magnitude, exponentials and logarithms, roots, trigonometry, activations,
rounding, and the NaN/inf tests.

Every op runs through the one pointwise kernel (`pointwise.pointwise_kernel`); this file gives each op its Triton
scalar function, NumPy fallback, dtype rule, float64 reference, samples and bench spec. Each scalar function has
the pointwise signature FN(x, y, z, p0, p1):
    x        the operand, converted to the compute dtype (fp32 for fp16/bf16 inputs)
    y, z     unused (unary ops)
    p0, p1   the op's scalar parameters where it has any (softplus: beta, threshold; round with decimals:
             10**|decimals| and a negative-decimals flag); unused otherwise
Bytes per launch: every op reads its n input elements once and writes its n output elements once.

The interpreter cannot run libdevice, so expm1, log1p, tanh, the stable sigmoid and round-half-to-even are
@triton.jit helpers here, built from tl.exp/tl.log/tl.floor with Kahan's accurate formulations.

dtype rules follow PyTorch: float ops (kind "float") take integer and bool inputs to the default float dtype;
neg/abs/sign/relu/square and the rounding ops (kind "same") keep integer dtypes (rounding an integer is the
identity); logical_not and isnan/isinf/isfinite (kind "bool") return bool.
"""
from __future__ import annotations

import builtins
import math
import struct

import numpy as np
import triton
import triton.language as tl

from .. import _state
from .. import dtypes as _dt
from ..tensor import Tensor, _make, from_array
from . import _bind
from ._cpu_parallel import elementwise_in_blocks, run_row_blocks
from . import pointwise as pw
from .registry import _GRAD, BenchSpec, Meta, OpDef, Sample, check_dtype, device_of, register
from .samples import make_tensor, rng_for, unary_samples

FAMILY = "unary"
NUMERIC = tuple(d for d in _dt.ALL if d is not _dt.bool_)
BENCH_SIZES = (2 ** 16, 2 ** 20, 2 ** 24)

_FLAGS = _state.FLAGS

__all__ = ["neg", "negative", "abs", "absolute", "sign", "exp", "exp2", "log", "log2", "log1p", "expm1", "sqrt",
           "rsqrt", "reciprocal", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "gelu", "silu", "softplus", "erf",
           "floor", "ceil", "round", "trunc", "fix", "logical_not", "isnan", "isinf", "isfinite", "square",
           "positive"]

INF, NAN = math.inf, math.nan
NEG_BOOL_MESSAGE = ("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a "
                    "mask, use the `~` or `logical_not()` operator instead.")
POS_BOOL_MESSAGE = "The `+` operator, on a bool tensor is not supported."
_HALF_NP = (np.dtype(np.float16), _dt.bfloat16.np)


# ==================================================================== accurate Triton helpers (no libdevice)

@triton.jit
def _expm1_accurate(x):
    # Kahan: u = e^x rounded; u - 1 is exact near 1 and log(u) sees the same rounding as u, so the ratio
    # (u - 1) / log(u) cancels it. x / log(u) is formed first so that (u - 1) * x cannot overflow.
    u = tl.exp(x)
    um1 = u - 1.0
    r = um1 * (x / tl.log(u))
    r = tl.where(u == 1.0, x, r)                # |x| below half an ulp of 1: expm1(x) = x (keeps -0.0)
    r = tl.where(um1 == -1.0, um1, r)           # e^x underflowed to 0 (x = -inf included): -1
    return tl.where(u == float("inf"), u, r)    # overflow, and x = +inf


@triton.jit
def _log1p_accurate(x):
    # Kahan: u = 1 + x rounded; log(u) * x / (u - 1) corrects for the rounding of u. x / (u - 1) is formed
    # first (it is close to 1) so that log(u) * x cannot overflow.
    u = 1.0 + x
    um1 = u - 1.0
    r = tl.log(u) * (x / um1)
    r = tl.where(um1 == 0.0, x, r)              # u == 1: log1p(x) = x to working precision (keeps -0.0)
    return tl.where(u == float("inf"), u, r)    # x = +inf (the ratio would be inf / inf)


@triton.jit
def _tanh_accurate(x):
    # tanh|x| = -t / (2 + t) with t = expm1(-2|x|): no cancellation near 0, no overflow for large |x|.
    t = _expm1_accurate(-2.0 * tl.abs(x))
    r = -t / (2.0 + t)
    r = tl.where(x < 0, -r, r)
    return tl.where(x == 0, x, r)               # keeps the sign of zero


@triton.jit
def _sigmoid_stable(x):
    # e = exp(-|x|) lies in (0, 1], so neither branch overflows: 1 / (1 + e) for x >= 0, e / (1 + e) below.
    e = tl.exp(-tl.abs(x))
    return tl.where(x >= 0, 1.0, e) / (1.0 + e)


@triton.jit
def _rint(x):
    # Round half to even (C's nearbyint). d = x - floor(x) is exact for floats, so ties are seen exactly.
    f = tl.floor(x)
    d = x - f
    f_is_odd = (f - 2.0 * tl.floor(0.5 * f)) != 0.0
    r = tl.where((d > 0.5) | ((d == 0.5) & f_is_odd), f + 1.0, f)
    return tl.where(r == 0.0, x * 0.0, r)       # keeps the sign of zero: round(-0.3) is -0.0


# ========================================================================= NumPy helpers for the fallbacks

def _fp32_for_half(fn):
    """Run a NumPy formula with fp16/bf16 operands widened to fp32 and the result rounded back once, as
    PyTorch's CPU kernels do, with floating-point warnings off (PyTorch does not warn on log(0) or overflow).
    The result keeps the operand's dtype: the registry's cpu fast path wraps it as it is."""

    def run(x, *params):
        # (NumPy's floating-point warnings from this module are filtered once in ops/__init__.py: an
        # np.errstate block per call would cost more than the op itself on small tensors)
        if x.dtype in _HALF_NP:
            return np.asarray(fn(x.astype(np.float32), *params)).astype(x.dtype)
        return fn(x, *params)

    run.__name__ = fn.__name__
    return run


def _identity_on_int(fn):
    """Rounding ops leave integers as they are (the result is still a new array); fp16/bf16 round in fp32."""

    def run(x):
        if x.dtype.kind in "biu":
            return x.copy()
        if x.dtype in _HALF_NP:
            return np.asarray(fn(x.astype(np.float32))).astype(x.dtype)
        return fn(x)

    run.__name__ = fn.__name__
    return run


def _int_identity_ref(fn):
    """A rounding reference that leaves integers exact (float64 cannot hold every int64)."""

    def ref(x):
        x = np.asarray(x)
        return x if x.dtype.kind in "biu" else fn(x)

    return ref


# erf by fdlibm's s_erf.c (the algorithm behind C's erf): rational approximations on [0, 0.84375),
# [0.84375, 1.25), [1.25, 1/0.35), [1/0.35, 6), and 1 from 6 up. Evaluated in float64.
_ERX = 8.45062911510467529297e-01
_ERF_PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
           -5.77027029648944159157e-03, -2.37630166566501626084e-05)
_ERF_QQ = (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
           1.32494738004321644526e-04, -3.96022827877536812320e-06)
_ERF_PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
           3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
           -2.16637559486879084300e-03)
_ERF_QA = (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
           1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
_ERF_RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
           -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
           -8.12874355063065934246e+01, -9.81432934416914548592e+00)
_ERF_SA = (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
           6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
           6.57024977031928170135e+00, -6.04244152148580987438e-02)
_ERF_RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
           -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
           -4.83519191608651397019e+02)
_ERF_SB = (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
           3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
           -2.24409524465858183362e+01)
# fdlibm switches erfc tail approximations where the high word of |x| reaches 0x4006DB6E (about 1/0.35).
_ERF_TAIL_SPLIT = struct.unpack("<d", struct.pack("<Q", 0x4006DB6E00000000))[0]


def _poly(coeffs, z):
    """coeffs[0] + coeffs[1] * z + ... by Horner's rule."""
    r = np.full_like(z, coeffs[-1])
    for c in coeffs[-2::-1]:
        r *= z
        r += c
    return r


def _erf_tail(a):
    """erf(a) = 1 - erfc(a) for 1.25 <= a < 6, erfc(a) = exp(-a^2 - 0.5625 + R/S) / a with -a^2 split so that
    its leading part is exact (z keeps the high 32 bits of a, so z * z is exact)."""
    s = 1.0 / (a * a)
    near = a < _ERF_TAIL_SPLIT
    rs = np.where(near, _poly(_ERF_RA, s) / _poly(_ERF_SA, s), _poly(_ERF_RB, s) / _poly(_ERF_SB, s))
    z = (a.view(np.uint64) & np.uint64(0xFFFFFFFF00000000)).view(np.float64)
    return 1.0 - np.exp(-z * z - 0.5625) * np.exp((z - a) * (z + a) + rs) / a


def _erf64(x) -> np.ndarray:
    """erf in float64, within an ulp or so (fdlibm's algorithm), vectorised."""
    x = np.asarray(x, np.float64)
    shape = x.shape
    x = x.reshape(-1)
    a = np.abs(x)
    y = a.copy()                                  # NaN stays NaN
    small = a < 0.84375
    mid = (a >= 0.84375) & (a < 1.25)
    tail = (a >= 1.25) & (a < 6.0)
    y[a >= 6.0] = 1.0
    if small.any():
        s = a[small]
        z = s * s
        y[small] = s + s * (_poly(_ERF_PP, z) / _poly(_ERF_QQ, z))
    if mid.any():
        s = a[mid] - 1.0
        y[mid] = _ERX + _poly(_ERF_PA, s) / _poly(_ERF_QA, s)
    if tail.any():
        y[tail] = _erf_tail(a[tail])
    return np.copysign(y, x).reshape(shape)


# erf(x) = x P(x^2) / Q(x^2) on |x| <= 4 (and +-1 beyond, where float32's erf is exactly +-1): a single rational
# fitted for this project (least squares reweighted towards minimax, against mpmath's erf), relative error below
# 2.1e-9 in float64 arithmetic, so float32 results are correctly rounded but for one in a few thousand (max
# 0.53 ulp). No branches or masks, unlike fdlibm's four ranges: 3x faster, and it runs block by block in cache.
_ERF32_P = (1.1283791693746787, 0.18520319105618696, 0.05431671689050507, 0.0038495852390487743,
            0.0003796004630483049, 4.6845549957902355e-06, -1.3201078175040237e-08)
_ERF32_Q = (1.0, 0.4974654683921742, 0.11395823489495678, 0.01546200828845387, 0.0013075531741553058,
            6.310846589325115e-05)


def _erf_of_clipped(a, p, q):
    """a P(a^2) / Q(a^2): the erf rational of a block already clipped to [-4, 4], in the block's dtype."""
    t = a * a
    num = _poly(p, t)
    num *= a
    num /= _poly(q, t)
    return num


def _erf_rational64(x64):
    """erf of a float64 block whose values came from float32 (accurate to float32's precision, see above)."""
    a = np.clip(x64, -4.0, 4.0, out=x64)
    num = _erf_of_clipped(a, _ERF32_P, _ERF32_Q)
    edge = np.abs(a) >= 4.0  # exactly +-1 out there, so that 1 + erf(x) is 0 and gelu(-inf) is NaN as in PyTorch
    if edge.any():
        num[edge] = np.sign(a[edge])
    return num


def _blockwise_f32(fn, x, widen: bool = True):
    """fn(float64 block) -> float64 block, over a float32 array in cache-sized blocks on the cpu thread pool,
    the result rounded to float32 once (widen=False: fn takes the float32 block itself)."""
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty(flat.shape, x.dtype)

    def block(rows):
        out[rows] = fn(flat[rows].astype(np.float64) if widen else flat[rows])

    run_row_blocks(block, flat.size, 1)
    return out.reshape(x.shape)


def _float64_fallback(fn64, narrow=None, narrow_f32: bool = False):
    """The NumPy fallback of a float64 algorithm (the gamma, erfc and igamma families): fn64(x64, *params) on
    float64 input; float32 in cache-sized blocks on the thread pool, float16/bfloat16 whole, both through `narrow`
    (a cheaper variant accurate to float32, default fn64) and rounded to float32, then to their dtype, as the
    kernel rounds through its float32 compute dtype. narrow_f32: `narrow` is a float32 algorithm (erfc's) and
    takes float32 input. The algorithms index with masks: they see 1-D arrays."""
    narrow = narrow or fn64
    wide = np.float32 if narrow_f32 else np.float64

    def flat(fn, x, params, dtype=np.float64):
        return fn(np.asarray(x, dtype).reshape(-1), *params).reshape(np.shape(x))

    def run(x, *params):
        if x.dtype == np.float64:
            return flat(fn64, x, params)
        if x.dtype == np.float32:
            return _blockwise_f32(lambda block: flat(narrow, block, params, wide), x, widen=not narrow_f32)
        return flat(narrow, x, params, wide).astype(np.float32).astype(x.dtype)

    return run


def _erf_np(x):
    if x.dtype == np.float32:
        return _blockwise_f32(_erf_rational64, x)
    return _erf64(x).astype(x.dtype, copy=False)


def _sigmoid_np(x):
    # 1 / (1 + exp(-x)) as PyTorch's cpu kernel forms it: below x = -88.7 (float32) exp(-x) overflows to inf and
    # the result is 0, as PyTorch's is. No np.where (a select by an unpredictable mask costs NumPy ten arithmetic
    # passes' time): four passes, 7x faster than exp(-|x|) with a select on 2M float32 elements here.
    e = np.negative(x, out=np.empty_like(x))
    np.exp(e, out=e)
    e += 1
    np.reciprocal(e, out=e)
    return e


# ==================================================================================== declaring the ops

def _result_dtype(d: _dt.dtype, kind: str) -> _dt.dtype:
    if kind == "float":
        return pw.to_float(d)
    if kind == "bool":
        return _dt.bool_
    return d


def _bench(kind, low, high, flops_per_element, dtypes):
    """Time the op on 1-D tensors; bytes = the input read once plus the output written once."""

    def make(size, device, dtype):
        return (make_tensor((size,), dtype, device, low=low, high=high),), {}

    def nbytes(size, dtype):
        return size * (dtype.itemsize + _result_dtype(dtype, kind).itemsize)

    return BenchSpec(sizes=BENCH_SIZES, make=make, bytes=nbytes, flops=lambda size: size * flops_per_element,
                     dtypes=dtypes)


def _values_tensor(values, dtype, device):
    """A 1-D tensor of exactly `values` (special values such as inf and NaN, integer extremes) on `device`."""
    with np.errstate(over="ignore"):   # values beyond fp16's range become inf on purpose
        arr = np.array(values, dtype=np.float64 if dtype.kind == _dt.FLOAT else np.int64).astype(dtype.np)
    t = from_array(arr)
    return t if str(device) == "cpu" else t.to(device)


def _int_extremes(dtype):
    info = np.iinfo(dtype.np)
    return sorted({int(info.min), int(info.min) + 1, 0, 1, int(info.max)} | ({-1} if info.min < 0 else set()))


def _padded_past_gradcheck(specials, low, high):
    """The float64 special values followed by ordinary values from [low, high), one more element in all than the
    generated tests gradcheck. The specials are where the op is not differentiable (inf, NaN, kinks, the edges
    of its domain, where a finite difference steps outside it), so a finite-difference check there is
    meaningless; the sample's gradients are still compared with PyTorch's (sqrt'(0) = inf, abs'(0) = 0, ...),
    and float64's forward results with the reference."""
    from ..testing import GRADCHECK_MAX_ELEMENTS
    n = GRADCHECK_MAX_ELEMENTS + 1 - len(specials)
    if n <= 0:
        return list(specials)
    fill = make_tensor((n,), _dt.float64, low=low, high=high, rng=rng_for("unary-specials", low, high))
    return list(specials) + fill._data.tolist()


def _samples(low, high, specials=(), int_extremes=False, kwargs=()):
    """unary_samples over [low, high), plus: special float values (inf, NaN, signed zeros, tiny and large
    magnitudes the op's output dtype can hold), integer extremes, and samples with keyword arguments.
    `kwargs` is a sequence of dicts, or a function dtype -> such a sequence."""
    base = unary_samples(low, high)

    def samples(device, dtype):
        yield from base(device, dtype)
        if specials and dtype.kind == _dt.FLOAT:
            values = _padded_past_gradcheck(specials, low, high) if dtype is _dt.float64 else specials
            yield Sample((_values_tensor(values, dtype, device),), name="specials")
        if int_extremes and dtype.kind == _dt.INT:
            yield Sample((_values_tensor(_int_extremes(dtype), dtype, device),), name="extremes")
        rng = rng_for("unary-kwargs", dtype.name, low, high)
        for kw in (kwargs(dtype) if callable(kwargs) else kwargs):
            x = make_tensor((4, 7), dtype, device, low=low, high=high, rng=rng)
            yield Sample((x,), dict(kw), name=f"kw{kw}")

    return samples


def _require_tensor(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")


def _reject_bool(message):
    def check(name, input, **_kw):
        if input.dtype is _dt.bool_:
            raise RuntimeError(message)
    return check


def _only(allowed):
    def check(name, input, **_kw):
        check_dtype(name, input, allowed)
    return check


def _with_checks(op: OpDef, check=None, special_infer=None) -> OpDef:
    """Put the op's own PyTorch argument checks in front of the generic pointwise infer. `special_infer(input)`
    decides the Meta itself where it returns one (square of a bool tensor).

    The registry's cpu fast path skips infer, so every dtype a check rejects (or special_infer handles) must be
    left out of declare's `allowed` dtypes: the fast path then leaves those calls to the full path."""
    generic = op.infer
    name = op.name

    def infer(input, *args, **kwargs):
        _require_tensor(name, input)
        if check is not None:
            check(name, input, **kwargs)
        if special_infer is not None:
            meta = special_infer(input)
            if meta is not None:
                return meta
        return generic(input, *args, **kwargs)

    op.infer = infer
    return op


def _ref64(fn):
    """A float64 reference formula: integer and bool inputs become float64 first (NumPy itself would compute
    int8 inputs in float16), with NumPy's warnings off."""

    def ref(x, *args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(np.asarray(x, np.float64), *args, **kwargs)

    return ref


def _declare(name, *, np_fn, tl_fn, kind, ref, torch_fn, low=None, high=None, dtypes=_dt.ALL, allowed=None,
             check=None, special_infer=None, specials=(), int_extremes=False, params=(), kwargs=(), flops=1,
             bench_dtypes=(_dt.float32, _dt.float16), **opdef_kwargs):
    """Declare a unary pointwise op. `dtypes` are the dtypes it accepts (and the generated tests run); an op
    that accepts fewer than all raises PyTorch's "not implemented for" error for the rest, unless `check`
    raises its own. `low`/`high`: the sample range inside the op's domain; `specials`: special float values
    for one more sample; `flops`: floating-point operations per element (bench)."""
    if dtypes is not _dt.ALL:
        allowed = dtypes if allowed is None else allowed
        check = check or _only(dtypes)
    op = pw.declare(name, np_fn=np_fn, tl_fn=tl_fn, kind=kind, ref=ref, arity=1, family=FAMILY, dtypes=dtypes,
                    allowed=allowed, params=params, samples=_samples(low, high, specials, int_extremes, kwargs),
                    bench=_bench(kind, low, high, flops, bench_dtypes), extra={"torch": torch_fn}, **opdef_kwargs)
    return _with_checks(op, check, special_infer)


def _public(op, doc):
    """The public function `name(input, *, out=None)` of a registered op."""

    fast = op.fast

    if fast is None:
        def fn(input, *, out=None):
            return op(input, out=out)
    elif op.autocast is None:
        def fn(input, *, out=None):
            if out is None and not _FLAGS.subclass:  # the op's cpu shortcut first: one Python frame less on the
                r = fast(input)                      # hot path of x.exp() (the registry's call takes the rest)
                if r is not None:
                    return r
            return op(input, out=out)
    else:
        def fn(input, *, out=None):
            # (not in an autocast region: the op's policy may cast the input first)
            if out is None and not _FLAGS.autocast and not _FLAGS.subclass:
                r = fast(input)
                if r is not None:
                    return r
            return op(input, out=out)

    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = doc
    return fn


def _inplace(fn, name):
    """The Tensor method `name_()`: `fn` written into the tensor itself (the registry checks that the result
    dtype can be cast to the tensor's, and bumps its version)."""

    def method(self):
        return fn(self, out=self)

    method.__name__ = method.__qualname__ = name
    return method


# Special values every float sample set starts from; each op adds values inside its own range.
_SPECIAL = [0.0, -0.0, INF, -INF, NAN]


# ======================================================================================== backward rules
#
# Each rule is vjp(ctx, grad) -> the gradient of the op's one tensor input, written in tritorch ops on Tensors
# (so it runs on both devices and can be differentiated again). Ops declared with save="output" read their
# result (ctx.output) instead of the input; the formulas follow PyTorch's derivatives.yaml, so special values
# (0, inf, NaN) get PyTorch's gradients. Arithmetic on Tensors goes through the operators the binary family binds;
# where and zeros_like are imported when first called (this module is imported before the ternary family).

_LN2 = math.log(2.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
_GELU_BETA = math.sqrt(2.0 / math.pi)
_GELU_KAPPA = 0.044715


def _where(cond, a, b):
    from .ternary import where
    return where(cond, a, b)


def _zero_grad(ctx, grad):
    # piecewise-constant ops (sign, floor, ceil, round, trunc): zero gradient everywhere, as in PyTorch
    from .creation import zeros_like
    return zeros_like(grad)


def _neg_vjp(ctx, grad):
    return neg(grad)


def _abs_vjp(ctx, grad):
    # grad * sign(x): 0 at x = 0 (and at NaN, whose sign is 0)
    (x,) = ctx.inputs
    return grad * sign(x)


def _square_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * (x * 2.0)


def _exp_vjp(ctx, grad):
    return grad * ctx.output


def _exp2_vjp(ctx, grad):
    return grad * (ctx.output * _LN2)


def _log_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad / x


def _log2_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad / (x * _LN2)


def _log1p_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad / (x + 1.0)


def _expm1_vjp(ctx, grad):
    return grad * (ctx.output + 1.0)


def _sqrt_vjp(ctx, grad):
    # grad / (2 sqrt(x)): inf at x = 0, as in PyTorch
    return grad / (ctx.output * 2.0)


def _rsqrt_vjp(ctx, grad):
    # d/dx x^-1/2 = -x^-3/2 / 2 = -out^3 / 2
    out = ctx.output
    return grad * (out * out * out * -0.5)


def _reciprocal_vjp(ctx, grad):
    out = ctx.output
    return grad * neg(out * out)


def _sin_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * cos(x)


def _cos_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * neg(sin(x))


def _tan_vjp(ctx, grad):
    out = ctx.output
    return grad * (out * out + 1.0)


def _tanh_vjp(ctx, grad):
    from .nn_activation_grad import tanh_backward_op
    return tanh_backward_op(grad, ctx.output)


def _sigmoid_vjp(ctx, grad):
    from .nn_activation_grad import sigmoid_backward_op
    return sigmoid_backward_op(grad, ctx.output)


def _relu_vjp(ctx, grad):
    # PyTorch's threshold_backward on the result: zero where out <= 0 (x = 0 included), grad elsewhere (NaN too)
    from .nn_activation_grad import threshold_backward_op
    return threshold_backward_op(grad, ctx.output)


def _silu_vjp(ctx, grad):
    # d/dx x s(x) = s(x) (1 + x (1 - s(x)))
    from .nn_activation_grad import silu_backward_op
    return silu_backward_op(grad, ctx.inputs[0])


def _softplus_vjp(ctx, grad):
    # sigmoid(beta x) below the threshold, 1 above it (where the op is the identity)
    from .nn_activation_grad import softplus_backward_op
    return softplus_backward_op(grad, ctx.inputs[0], beta=ctx.kwargs.get("beta", 1.0),
                                threshold=ctx.kwargs.get("threshold", 20.0))


def _erf_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * (exp(neg(x * x)) * _TWO_OVER_SQRT_PI)


def _gelu_vjp(ctx, grad):
    (x,) = ctx.inputs
    if ctx.kwargs.get("approximate", "none") == "tanh":
        return gelu_backward_op(grad, x, approximate="tanh")   # (one fused op; it was ten)
    # f = x Phi(x): f' = Phi(x) + x phi(x), in one fused op (with the Phi(x) the cpu forward kept, once: a second
    # backward through a retained graph evaluates it again)
    aux = ctx.meta.aux
    if aux.__class__ is _KeptCdf and aux.cdf is not None:
        cdf, aux.cdf = aux.cdf, None
        return gelu_backward_op(grad, x, cdf=_make(cdf, x.dtype, x.device))
    return gelu_backward_op(grad, x)


# ================================================================================ sign and magnitude

@triton.jit
def _neg_fn(x, y, z, p0, p1):
    # -x (unsigned integers wrap, as in PyTorch; -(0.0) is -0.0)
    return pw.negate(x)


@triton.jit
def _abs_fn(x, y, z, p0, p1):
    # |x| (the most negative integer stays itself, as in PyTorch)
    return tl.abs(x)


@triton.jit
def _sign_fn(x, y, z, p0, p1):
    # -1, 0 or 1; NaN gives 0 like PyTorch's (0 < x) - (x < 0); a bool is its own sign
    if x.dtype == tl.int1:
        r = x
    else:
        r = (x > 0).to(x.dtype) - (x < 0).to(x.dtype)
    return r


@triton.jit
def _square_fn(x, y, z, p0, p1):
    # x * x (integers wrap)
    return x * x


def _sign_np(x):
    if x.dtype == np.bool_:
        return x.copy()
    r = np.sign(x, out=np.empty_like(x))
    if x.dtype.kind == "f" or x.dtype in _HALF_NP:
        np.copyto(r, 0, where=np.isnan(r))   # PyTorch's sign(NaN) is 0
    return r


def _sign_ref(x):
    x = np.asarray(x)
    if x.dtype == np.bool_:
        return x
    return (x > 0).astype(np.float64) - (x < 0).astype(np.float64)


def _square_of_bool(input):
    # PyTorch squares through pow(x, 2): a bool tensor with an integer exponent promotes to int64
    if input.dtype is _dt.bool_:
        return Meta(input._data.shape, _dt.int64, input.device, _dt.int64)
    return None


neg_op = _declare("neg", np_fn=np.negative, tl_fn=_neg_fn, kind="same", ref=np.negative, dtypes=NUMERIC,
                  torch_fn=lambda torch, x: torch.neg(x), check=_reject_bool(NEG_BOOL_MESSAGE),
                  specials=_SPECIAL + [1e-30, 2.5], int_extremes=True, vjp=_neg_vjp, save="none")
abs_op = _declare("abs", np_fn=np.abs, tl_fn=_abs_fn, kind="same", ref=np.abs, dtypes=NUMERIC,
                  torch_fn=lambda torch, x: torch.abs(x),
                  specials=_SPECIAL + [-1e-30, 2.5], int_extremes=True, vjp=_abs_vjp)
sign_op = _declare("sign", np_fn=_sign_np, tl_fn=_sign_fn, kind="same", ref=_sign_ref,
                   torch_fn=lambda torch, x: torch.sign(x), specials=_SPECIAL + [1e-30, -1e-30, -2.5],
                   int_extremes=True, vjp=_zero_grad, save="none")
square_op = _declare("square", np_fn=np.square, tl_fn=_square_fn, kind="same", ref=np.square,
                     torch_fn=lambda torch, x: torch.square(x), allowed=NUMERIC, special_infer=_square_of_bool,
                     specials=_SPECIAL + [1e-7, -3.5], int_extremes=True, flops=1, vjp=_square_vjp)

neg = _public(neg_op, "-input, elementwise. Not defined for bool tensors (use logical_not).")
abs = _public(abs_op, "|input|, elementwise.")
sign = _public(sign_op, "The sign of each element: -1, 0 or 1 (0 for NaN).")
square = _public(square_op, "input * input, elementwise (bool inputs give int64, as in PyTorch).")
negative, absolute = neg, abs


def positive(input):
    """Returns `input` itself (PyTorch's unary +); not defined for bool tensors."""
    _require_tensor("positive", input)
    if input.dtype is _dt.bool_:
        raise RuntimeError(POS_BOOL_MESSAGE)
    return input


# ============================================================================ exponentials and logarithms

@triton.jit
def _exp_fn(x, y, z, p0, p1):
    # e^x
    return tl.exp(x)


@triton.jit
def _exp2_fn(x, y, z, p0, p1):
    # 2^x
    return tl.exp2(x)


@triton.jit
def _log_fn(x, y, z, p0, p1):
    # natural log (NaN below 0, -inf at 0)
    return tl.log(x)


@triton.jit
def _log2_fn(x, y, z, p0, p1):
    # base-2 log
    return tl.log2(x)


@triton.jit
def _log1p_fn(x, y, z, p0, p1):
    # log(1 + x), accurate near 0
    return _log1p_accurate(x)


@triton.jit
def _expm1_fn(x, y, z, p0, p1):
    # e^x - 1, accurate near 0
    return _expm1_accurate(x)


exp_op = _declare("exp", np_fn=_fp32_for_half(np.exp), tl_fn=_exp_fn, kind="float", ref=_ref64(np.exp),
                  torch_fn=lambda torch, x: torch.exp(x), low=-5, high=5,
                  specials=_SPECIAL + [1e-7, -1e-7, 10.0, -10.0, -100.0], vjp=_exp_vjp, save="output")
exp2_op = _declare("exp2", np_fn=_fp32_for_half(np.exp2), tl_fn=_exp2_fn, kind="float", ref=_ref64(np.exp2),
                   torch_fn=lambda torch, x: torch.exp2(x), low=-6, high=6,
                   specials=_SPECIAL + [1e-7, 15.0, -15.0, -200.0], vjp=_exp2_vjp, save="output")
log_op = _declare("log", np_fn=_fp32_for_half(np.log), tl_fn=_log_fn, kind="float", ref=_ref64(np.log),
                  torch_fn=lambda torch, x: torch.log(x), low=0.05, high=10,
                  specials=_SPECIAL + [1e-30, 1e-7, -1.0, 1.0, 1.001, 0.999, 1e30], vjp=_log_vjp)
log2_op = _declare("log2", np_fn=_fp32_for_half(np.log2), tl_fn=_log2_fn, kind="float", ref=_ref64(np.log2),
                   torch_fn=lambda torch, x: torch.log2(x), low=0.05, high=10,
                   specials=_SPECIAL + [1e-30, 1e-7, -1.0, 1.0, 1.001, 0.999, 1024.0, 1e30], vjp=_log2_vjp)
log1p_op = _declare("log1p", np_fn=_fp32_for_half(np.log1p), tl_fn=_log1p_fn, kind="float",
                    ref=_ref64(np.log1p), torch_fn=lambda torch, x: torch.log1p(x), low=-0.9, high=5,
                    specials=_SPECIAL + [1e-30, -1e-30, 1e-7, -1e-7, 3e-4, -3e-4, -0.5, -1.0, -2.0, 1e30],
                    vjp=_log1p_vjp)
expm1_op = _declare("expm1", np_fn=_fp32_for_half(np.expm1), tl_fn=_expm1_fn, kind="float",
                    ref=_ref64(np.expm1), torch_fn=lambda torch, x: torch.expm1(x), low=-3, high=3,
                    specials=_SPECIAL + [1e-30, -1e-30, 1e-7, -1e-7, 3e-4, -3e-4, 0.7, 10.0, -30.0, -100.0],
                    vjp=_expm1_vjp, save="output")

exp = _public(exp_op, "e raised to each element.")
exp2 = _public(exp2_op, "2 raised to each element.")
log = _public(log_op, "Natural logarithm of each element.")
log2 = _public(log2_op, "Base-2 logarithm of each element.")
log1p = _public(log1p_op, "log(1 + input), accurate for small inputs.")
expm1 = _public(expm1_op, "exp(input) - 1, accurate for small inputs.")


# ====================================================================================== roots, reciprocal

@triton.jit
def _sqrt_fn(x, y, z, p0, p1):
    # square root (NaN below 0)
    return tl.sqrt(x)


@triton.jit
def _rsqrt_fn(x, y, z, p0, p1):
    # 1 / sqrt(x): a correctly rounded division over sqrt (the hardware rsqrt is approximate in fp64)
    return 1.0 / tl.sqrt(x)


@triton.jit
def _reciprocal_fn(x, y, z, p0, p1):
    # 1 / x
    return 1.0 / x


def _rsqrt_np(x):
    r = np.sqrt(x, out=np.empty_like(x))
    return np.divide(1, r, out=r)


sqrt_op = _declare("sqrt", np_fn=_fp32_for_half(np.sqrt), tl_fn=_sqrt_fn, kind="float", ref=_ref64(np.sqrt),
                   torch_fn=lambda torch, x: torch.sqrt(x), low=0, high=10,
                   specials=_SPECIAL + [1e-30, -1.0, 2.0, 4.0], vjp=_sqrt_vjp, save="output")
rsqrt_op = _declare("rsqrt", np_fn=_fp32_for_half(_rsqrt_np), tl_fn=_rsqrt_fn, kind="float",
                    ref=_ref64(lambda x: 1.0 / np.sqrt(x)), torch_fn=lambda torch, x: torch.rsqrt(x),
                    low=0.05, high=10, specials=_SPECIAL + [-1.0, 0.25, 4.0, 2.0], flops=2,
                    vjp=_rsqrt_vjp, save="output")
reciprocal_op = _declare("reciprocal", np_fn=_fp32_for_half(np.reciprocal), tl_fn=_reciprocal_fn, kind="float",
                         ref=_ref64(lambda x: 1.0 / x), torch_fn=lambda torch, x: torch.reciprocal(x),
                         low=-3, high=3, specials=_SPECIAL + [1e-30, 4.0, -0.25, 1e-3, 3.0],
                         vjp=_reciprocal_vjp, save="output")

sqrt = _public(sqrt_op, "Square root of each element.")
rsqrt = _public(rsqrt_op, "1 / sqrt(input), elementwise.")
reciprocal = _public(reciprocal_op, "1 / input, elementwise (integer inputs give floats).")


# ========================================================================================= trigonometry

@triton.jit
def _sin_fn(x, y, z, p0, p1):
    # sine
    return tl.sin(x)


@triton.jit
def _cos_fn(x, y, z, p0, p1):
    # cosine
    return tl.cos(x)


@triton.jit
def _tan_fn(x, y, z, p0, p1):
    # tangent as sin / cos (no tan without libdevice; both are accurate to an ulp or two)
    return tl.sin(x) / tl.cos(x)


@triton.jit
def _tanh_fn(x, y, z, p0, p1):
    # hyperbolic tangent through expm1
    return _tanh_accurate(x)


sin_op = _declare("sin", np_fn=_fp32_for_half(np.sin), tl_fn=_sin_fn, kind="float", ref=_ref64(np.sin),
                  torch_fn=lambda torch, x: torch.sin(x), low=-6, high=6,
                  specials=_SPECIAL + [1e-30, 1e-7, 3.14159, 100.0], vjp=_sin_vjp)
cos_op = _declare("cos", np_fn=_fp32_for_half(np.cos), tl_fn=_cos_fn, kind="float", ref=_ref64(np.cos),
                  torch_fn=lambda torch, x: torch.cos(x), low=-6, high=6,
                  specials=_SPECIAL + [1e-30, 1e-7, 3.14159, 100.0], vjp=_cos_vjp)
tan_op = _declare("tan", np_fn=_fp32_for_half(np.tan), tl_fn=_tan_fn, kind="float", ref=_ref64(np.tan),
                  torch_fn=lambda torch, x: torch.tan(x), low=-1.3, high=1.3,
                  specials=_SPECIAL + [1e-30, 1e-7, -1e-7, 1.5, -1.5], flops=3, vjp=_tan_vjp, save="output")
tanh_op = _declare("tanh", np_fn=_fp32_for_half(np.tanh), tl_fn=_tanh_fn, kind="float", ref=_ref64(np.tanh),
                   torch_fn=lambda torch, x: torch.tanh(x), low=-5, high=5,
                   specials=_SPECIAL + [1e-30, -1e-30, 1e-7, -1e-7, 3e-4, -0.6, 10.0, -10.0, 30.0], flops=6,
                   vjp=_tanh_vjp, save="output")

sin = _public(sin_op, "Sine of each element (radians).")
cos = _public(cos_op, "Cosine of each element (radians).")
tan = _public(tan_op, "Tangent of each element (radians).")
tanh = _public(tanh_op, "Hyperbolic tangent of each element.")


# ========================================================================================== activations

@triton.jit
def _sigmoid_fn(x, y, z, p0, p1):
    # 1 / (1 + e^-x), stable for both signs
    return _sigmoid_stable(x)


@triton.jit
def _relu_fn(x, y, z, p0, p1):
    # max(x, 0), keeping NaN (and -0.0) as PyTorch does
    return tl.where(x < 0, 0, x)


@triton.jit
def _silu_fn(x, y, z, p0, p1):
    # x * sigmoid(x)
    return x * _sigmoid_stable(x)


@triton.jit
def _softplus_fn(x, y, z, beta, threshold):
    # log(1 + e^(beta x)) / beta, or x where beta * x > threshold (PyTorch's rule); beta, threshold: scalars.
    # log1p(e^t) = max(t, 0) + log1p(e^-|t|) never overflows.
    b = tl.cast(beta, x.dtype)
    bx = x * b
    soft = (tl.where(bx > 0, bx, 0.0) + _log1p_accurate(tl.exp(-tl.abs(bx)))) / b
    return tl.where(bx > tl.cast(threshold, x.dtype), x, soft)


@triton.jit
def _gelu_erf_fn(x, y, z, p0, p1):
    # x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))
    return 0.5 * x * (1.0 + tl.erf(x * 0.7071067811865476))


@triton.jit
def _gelu_tanh_fn(x, y, z, p0, p1):
    # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as x * sigmoid(2 * inner): the same function without the
    # cancellation of 1 + tanh for negative x
    inner = 0.7978845608028654 * (x + 0.044715 * x * x * x)
    return x * _sigmoid_stable(2.0 * inner)


@triton.jit
def _erf_fn(x, y, z, p0, p1):
    # the error function
    return tl.erf(x)


def _relu_np(x):
    # np.maximum keeps NaN, as PyTorch's relu does (against a block of zeros where NumPy's SIMD loop can take it)
    if (x.dtype == np.float32 or x.dtype == np.float64) and x.size >= 1024 and x.flags.c_contiguous:
        return pw.np_with_constant(np.maximum, x, 0.0)
    return np.maximum(x, x.dtype.type(0))


def _silu_np(x):
    # x / (1 + exp(-x)): -0.0 where exp overflows, as PyTorch's (see _sigmoid_np)
    e = np.negative(x, out=np.empty_like(x))
    np.exp(e, out=e)
    e += 1
    np.divide(x, e, out=e)
    return e


def log1p_exp_neg_abs(x):
    """log(1 + exp(-|x|)), in (0, log 2]: the part of softplus(x) = max(x, 0) + log(1 + exp(-|x|)) that cannot
    overflow (NumPy's logaddexp computes the same with branches, 10x slower)."""
    t = np.abs(x, out=np.empty_like(x))
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.log1p(t, out=t)
    return t


def _softplus_np(x, beta=1.0, threshold=20.0):
    bx = x * x.dtype.type(beta) if beta != 1 else x
    soft = log1p_exp_neg_abs(bx)
    if beta == 1:
        # x itself above the threshold (PyTorch's rule): there max(x, 0) is x and the log term is masked to 0,
        # a product by the mask instead of a select (see _sigmoid_np)
        soft *= bx <= threshold
        soft += np.maximum(bx, 0)
        return soft
    soft += np.maximum(bx, 0)
    soft /= x.dtype.type(beta)
    return np.where(bx > threshold, x, soft)


def _gelu_erf_block(x64):
    r = _erf_rational64(x64 * _SQRT_HALF)
    r += 1.0
    r *= x64
    r *= 0.5
    return r


# float32 gelu and its derivative take Phi(x) = (1 + erf(x / sqrt 2)) / 2 in tanh form: erf(z) = tanh(atanh(erf z)),
# and atanh(erf(x / sqrt 2)) = x h(x^2) with h a degree-6 polynomial fitted for this project (least squares
# reweighted towards minimax on the error of erf itself, against the C library's erf/erfc in float64, x^2 in
# [0, 32]; its float64 evaluation is within 0.65 float32 ulp of erf). Beyond the fit, h's positive leading term
# keeps |x h(x^2)| >= 9.6 (tanh is 1 in float32) up to x^2 = inf, so no clip is needed. That is seven multiply-adds
# and one tanh (NumPy's float32 tanh costs 2/3 of its exp) where the erf rational took a clip and two polynomials
# and a divide: 0.43 -> 0.30 ms per 64K elements here. 1 + erf cancels below x = -2.5 (0.012 there), so those
# elements (under 1% of normal inputs) are evaluated in float64. Measured against float64 on a grid over [-12, 12]
# and 100K normal samples: gelu's relative error at most 7.0e-6 where |gelu| > 1e-3 (the erf rational's was
# 2.1e-5; PyTorch's float32 cpu gelu 2.2e-4, its float32 1 + erf cancels all the way down).
_PHI_TANH_H = np.array([0.7978848264694518, 0.03633364341355856, -3.321098567554858e-05, -5.505372461072746e-05,
                        3.919850800316967e-06, -1.2879181071795696e-07, 1.6617019551063786e-09], np.float32)
_GELU_F32_FROM = np.float32(-2.5)


def phi_f32(x, out=None):
    """Phi(x), the standard normal cdf, of a float32 array (into `out`) in the tanh form above; accurate where
    x >= -2.5 (below, 1 + erf cancels: callers evaluate those elements in float64 or through erfc)."""
    if x.ndim == 0:
        return phi_f32(x.reshape(1)).reshape(())
    s = np.multiply(x, x)
    r = np.multiply(s, _PHI_TANH_H[-1], out=out)
    r += _PHI_TANH_H[-2]
    for c in _PHI_TANH_H[-3::-1]:
        r *= s
        r += c
    r *= x
    np.tanh(r, out=r)
    r *= np.float32(0.5)
    r += np.float32(0.5)
    return r


def _gelu_f32_block(x, cdf=None, out=None):
    """gelu of a float32 block (into `out`); `cdf` (when given) gets Phi(x) for the backward. The elements below
    _GELU_F32_FROM are left as float32 evaluated them, for the caller to redo in float64 (_tail_positions)."""
    r = phi_f32(x, out)                     # Phi(x) before the product, so gelu(3e38) does not overflow
    if cdf is not None:
        cdf[...] = r
    r *= x
    return r


def _tail_positions(x, start: int):
    """The flat positions (offset by `start`) of a float32 block's elements below _GELU_F32_FROM: found while the
    block is in cache, the float64 redo then runs once for the whole array (per block its dozen small calls cost
    ~100 us, a quarter of a 64K block's time)."""
    low = np.flatnonzero(x < _GELU_F32_FROM)
    if start and low.size:
        low += start
    return low


def _gelu_erf_np(x, cdf=None):
    """Exact gelu; for float32, `cdf` (a contiguous float32 array of x's shape, when given) gets Phi(x). The tail
    is redone once for the whole array, after the blocks (_tail_positions)."""
    if x.dtype == np.float32:
        flat = np.ascontiguousarray(x).reshape(-1)
        out = np.empty(flat.shape, np.float32)
        flat_cdf = None if cdf is None else cdf.reshape(-1)

        def block(rows):
            xb = flat[rows]
            _gelu_f32_block(xb, None if flat_cdf is None else flat_cdf[rows], out[rows])
            return _tail_positions(xb, rows.start)

        low = np.concatenate(run_row_blocks(block, flat.size, 1))
        if low.size:
            out[low] = _gelu_erf_block(flat[low].astype(np.float64))
        return out.reshape(x.shape)
    r = _erf64(x * (1 / math.sqrt(2)))
    r += 1.0
    r *= x
    r *= 0.5
    return r.astype(x.dtype, copy=False)


@elementwise_in_blocks   # (nine passes: in cache, on the pool)
def _gelu_tanh_np(x):
    inner = np.multiply(x, x, out=np.empty_like(x))
    inner *= x.dtype.type(0.044715)
    inner *= x
    inner += x
    inner *= x.dtype.type(math.sqrt(2 / math.pi))
    np.tanh(inner, out=inner)
    inner += 1
    inner *= x
    inner *= x.dtype.type(0.5)
    return inner


def _math_erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x) if np.size(x) else np.asarray(x, np.float64)


def _sigmoid_ref(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus_ref(x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.log1p(np.exp(x * beta)) / beta)


def _gelu_ref(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1.0 + _math_erf(x / math.sqrt(2)))


sigmoid_op = _declare("sigmoid", np_fn=_fp32_for_half(elementwise_in_blocks(_sigmoid_np)), tl_fn=_sigmoid_fn,
                      kind="float",
                      ref=_ref64(_sigmoid_ref), torch_fn=lambda torch, x: torch.sigmoid(x), low=-8, high=8,
                      specials=_SPECIAL + [1e-7, 30.0, -30.0, -100.0, 100.0], flops=4, vjp=_sigmoid_vjp, save="output")
relu_op = _declare("relu", np_fn=_relu_np, tl_fn=_relu_fn, kind="same", ref=lambda x: np.maximum(x, 0),
                   torch_fn=lambda torch, x: torch.relu(x), dtypes=NUMERIC,
                   check=_reject_bool("Boolean inputs not supported for relu"),
                   specials=_SPECIAL + [1e-30, -1e-30, 2.5], int_extremes=True, vjp=_relu_vjp, save="output")
silu_op = _declare("silu", np_fn=_fp32_for_half(elementwise_in_blocks(_silu_np)), tl_fn=_silu_fn, kind="same",
                   ref=_ref64(lambda x: x * _sigmoid_ref(x)), torch_fn=lambda torch, x: torch.nn.functional.silu(x),
                   dtypes=_dt.FLOATS, low=-8, high=8,
                   specials=_SPECIAL + [1e-7, -30.0, 30.0, -100.0], flops=5, vjp=_silu_vjp)
softplus_op = _declare("softplus", np_fn=_fp32_for_half(elementwise_in_blocks(_softplus_np)), tl_fn=_softplus_fn,
                       kind="same",
                       ref=_ref64(_softplus_ref), params=(("beta", 1.0), ("threshold", 20.0)),
                       torch_fn=lambda torch, x, beta=1.0, threshold=20.0: torch.nn.functional.softplus(
                           x, beta=beta, threshold=threshold),
                       dtypes=_dt.FLOATS, low=-10, high=25,
                       specials=_SPECIAL + [1e-7, 19.9, 20.0, 20.1, -30.0, -100.0],
                       kwargs=({"beta": 2.0, "threshold": 5.0}, {"beta": -1.5}), flops=6, vjp=_softplus_vjp)
erf_op = _declare("erf", np_fn=_fp32_for_half(_erf_np), tl_fn=_erf_fn, kind="float", ref=_ref64(_math_erf),
                  torch_fn=lambda torch, x: torch.erf(x), low=-3, high=3,
                  specials=_SPECIAL + [1e-30, -1e-30, 1e-7, 0.8, 1.0, -1.3, 2.0, 3.0, 5.0, -6.0], flops=10,
                  vjp=_erf_vjp)

sigmoid = _public(sigmoid_op, "1 / (1 + exp(-input)), elementwise.")
relu = _public(relu_op, "max(input, 0), elementwise (NaN stays NaN).")
erf = _public(erf_op, "The error function of each element.")


def silu(input, inplace=False):
    """input * sigmoid(input) (torch.nn.functional.silu)."""
    return silu_op(input, out=input if inplace else None)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * input)) / beta, and input itself where beta * input > threshold
    (torch.nn.functional.softplus)."""
    return softplus_op(input, beta=beta, threshold=threshold)


# gelu is one registered op whose `approximate` keyword picks the scalar function.

def _gelu_infer(input, approximate="none"):
    _require_tensor("gelu", input)
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    check_dtype("gelu", input, _dt.FLOATS)
    return Meta(input._data.shape, input.dtype, input.device, input.dtype)


class _KeptCdf:
    """gelu's meta.aux on cpu when autograd will want the gradient: the compute dtype, and the forward's Phi(x)
    (`cdf`), so that the backward need not evaluate the erf rational again (about 60% of its time here)."""

    __slots__ = ("compute", "cdf")

    def __init__(self, compute, cdf):
        self.compute, self.cdf = compute, cdf


_GELU_KEEP_MIN = 1 << 12  # elements from which a float32 forward under autograd keeps Phi(x) for the backward


def _gelu_cpu(meta, input, approximate="none", out=None):
    x = pw.np_operand(input, meta.aux)
    if (approximate == "none" and out is None and x.dtype == np.float32 and x.size >= _GELU_KEEP_MIN
            and input._requires_grad and (not _FLAGS.grad_off or _GRAD.enabled)):
        cdf = np.empty(x.shape, np.float32)
        value = pw.np_result(_gelu_erf_np(x, cdf), meta, out)
        meta.aux = _KeptCdf(meta.aux, cdf)
        return value
    value = _fp32_for_half(_gelu_tanh_np if approximate == "tanh" else _gelu_erf_np)(x)
    return pw.np_result(value, meta, out)


def _gelu_cuda(meta, input, approximate="none", out=None):
    fn = _gelu_tanh_fn if approximate == "tanh" else _gelu_erf_fn
    return pw.launch_pointwise(fn, [input], meta.shape, meta.dtype, meta.aux, out)


gelu_op = register(OpDef(
    name="gelu", family=FAMILY, infer=_gelu_infer, impl={"cpu": _gelu_cpu, "cuda": _gelu_cuda},
    ref=_ref64(_gelu_ref), dtypes=_dt.FLOATS, supports_out=True,
    samples=_samples(-4, 4, _SPECIAL + [1e-30, 1e-7, -5.0, 5.0, -10.0], kwargs=({"approximate": "tanh"},)),
    bench=_bench("same", -4, 4, 12, (_dt.float32, _dt.float16)),
    extra={"torch": lambda torch, x, approximate="none": torch.nn.functional.gelu(x, approximate=approximate),
           "arity": 1, "params": (("approximate", "none"),), "tl_fn": _gelu_erf_fn}, vjp=_gelu_vjp))


def gelu(input, approximate="none"):
    """Gaussian error linear unit: input * Phi(input) exactly (erf), or with approximate='tanh' PyTorch's tanh
    approximation (torch.nn.functional.gelu)."""
    return gelu_op(input, approximate=approximate)


# gelu_backward: grad * (Phi(x) + x phi(x)), the exact gelu's derivative in one pass (its composition from erf,
# exp and five products was 3x slower on the cpu, and as many launches on the GPU). Its own vjp is composed.

def _gelu_backward_infer(grad, input, approximate="none", cdf=None):
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    if cdf is not None and (not isinstance(cdf, Tensor) or cdf.dtype is not _dt.float32 or input.dtype is not
                            _dt.float32 or tuple(cdf._data.shape) != tuple(input._data.shape)
                            or cdf.device is not input.device):
        raise RuntimeError("gelu_backward: cdf must be the forward's Phi(self), a float32 tensor of self's shape")
    for name, t, pos in (("grad_output", grad, 1), ("self", input, 2)):
        if not isinstance(t, Tensor):
            raise TypeError(f"gelu_backward(): argument '{name}' (position {pos}) must be Tensor, not "
                            f"{type(t).__name__}")
    dev = device_of(grad, input)
    check_dtype("gelu_backward", input, _dt.FLOATS)
    if grad.dtype is not input.dtype:
        raise RuntimeError(f"gelu_backward: grad_output ({grad.dtype}) and self ({input.dtype}) must have the same "
                           "dtype")
    if grad._data.shape != input._data.shape:
        raise RuntimeError(f"gelu_backward: grad_output {list(grad._data.shape)} and self "
                           f"{list(input._data.shape)} must have the same shape")
    return Meta(input._data.shape, input.dtype, dev, input.dtype)


def _gelu_derivative(x, cdf=None):
    """Phi(x) + x phi(x) of a float32 block (phi_f32's tanh form) or a float64 one (the erf rational in float64);
    `cdf`: the block's Phi(x) as the forward computed it (the same bits phi_f32 gives here)."""
    pdf = x * x
    pdf *= -0.5
    np.exp(pdf, out=pdf)
    pdf *= _INV_SQRT_2PI
    pdf *= x                                # x phi(x)
    if cdf is not None:
        return np.add(cdf, pdf, out=pdf)
    if x.dtype == np.float64:
        d = _erf_rational64(x * _SQRT_HALF)
        d += 1.0
        d *= 0.5                            # Phi(x)
    else:
        d = phi_f32(x)
    d += pdf
    return d


def _gelu_tanh_derivative(x):
    """d/dx of x sigmoid(2u), u = beta (x + kappa x^3) (tanh-gelu as its forward computes it): s + 2 x s (1 - s) u'
    with s = 1 / (1 + exp(-2u)), which has no cancellation for negative x (PyTorch's 0.5 (1 + tanh u) has)."""
    x2 = x * x
    s = x2 * x.dtype.type(_GELU_KAPPA)
    s += 1
    s *= x
    s *= x.dtype.type(-2.0 * _GELU_BETA)
    np.exp(s, out=s)
    s += 1
    np.reciprocal(s, out=s)                 # s = sigmoid(2u)
    du = x2                                 # 2 x u' = 2 beta x (1 + 3 kappa x^2)
    du *= x.dtype.type(6.0 * _GELU_BETA * _GELU_KAPPA)
    du += x.dtype.type(2.0 * _GELU_BETA)
    du *= x
    d = np.multiply(s, s)
    np.subtract(s, d, out=d)                # s (1 - s)
    d *= du
    d += s
    return d


def _gelu_backward_cpu(meta, grad, input, approximate="none", out=None, cdf=None):
    x = pw.np_operand(input, meta.aux)
    g = pw.np_operand(grad, meta.aux)
    if x.dtype in _HALF_NP:
        x, g = x.astype(np.float32), g.astype(np.float32)
    if approximate == "tanh":
        flat_x, flat_g = np.ascontiguousarray(x).reshape(-1), np.ascontiguousarray(g).reshape(-1)
        value = np.empty(flat_x.shape, x.dtype)

        def tanh_block(rows):   # cache-sized blocks on the pool: 16 passes each
            d = _gelu_tanh_derivative(flat_x[rows])
            value[rows] = np.multiply(d, flat_g[rows], out=d)

        run_row_blocks(tanh_block, flat_x.size, 1)
        return pw.np_result(value.reshape(x.shape).astype(meta.dtype.np, copy=False), meta, out)
    if x.dtype == np.float32:
        flat_x = np.ascontiguousarray(x).reshape(-1)
        flat_g = np.ascontiguousarray(g).reshape(-1)
        flat_c = None if cdf is None else np.ascontiguousarray(cdf._data).reshape(-1)
        value = np.empty(flat_x.shape, np.float32)

        def block(rows):
            x = flat_x[rows]
            # float32 where that is accurate (see _GELU_F32_FROM's note); the rest redone in float64 below
            value[rows] = _gelu_derivative(x, None if flat_c is None else flat_c[rows])
            value[rows] *= flat_g[rows]
            return _tail_positions(x, rows.start)

        low = np.concatenate(run_row_blocks(block, flat_x.size, 1))
        if low.size:
            value[low] = _gelu_derivative(flat_x[low].astype(np.float64)) * flat_g[low]
        value = value.reshape(x.shape)
    else:  # float64: fdlibm's erf
        value = _erf64(x * _SQRT_HALF)
        value += 1.0
        value *= 0.5
        value += x * np.exp(x * x * -0.5) * _INV_SQRT_2PI
        value *= g
    return pw.np_result(value.astype(meta.dtype.np, copy=False) if meta.dtype.np != value.dtype else value,
                        meta, out)


@triton.jit
def _gelu_backward_fn(x, y, z, p0, p1):
    # x: the incoming gradient, y: gelu's input; grad * (Phi(y) + y phi(y))
    cdf = 0.5 * (1.0 + tl.erf(y * 0.7071067811865476))
    pdf = tl.exp(-0.5 * y * y) * 0.3989422804014327
    return x * (cdf + y * pdf)


@triton.jit
def _gelu_tanh_backward_fn(x, y, z, p0, p1):
    # x: the incoming gradient, y: gelu's input; grad * (s + 2 y s (1 - s) u') with s = sigmoid(2u),
    # u = beta (y + kappa y^3): the derivative of the forward's y * sigmoid(2u)
    s = _sigmoid_stable(1.5957691216057308 * (y + 0.044715 * y * y * y))
    du = 1.5957691216057308 * (1.0 + 0.134145 * y * y)
    return x * (s + y * (s * (1.0 - s)) * du)


def _gelu_backward_cuda(meta, grad, input, approximate="none", out=None, cdf=None):
    # (cdf, the cpu forward's Phi(x), is not used: the kernel evaluates erf in registers at no memory cost)
    fn = _gelu_tanh_backward_fn if approximate == "tanh" else _gelu_backward_fn
    return pw.launch_pointwise(fn, [grad, input], meta.shape, meta.dtype, meta.aux, out)


def _gelu_backward_ref(g, x, approximate="none"):
    g, x = np.asarray(g, np.float64), np.asarray(x, np.float64)
    if approximate == "tanh":   # PyTorch's tanh form, in float64
        t = np.tanh(_GELU_BETA * (x + _GELU_KAPPA * x ** 3))
        return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_BETA * (1.0 + 3.0 * _GELU_KAPPA * x * x))
    return g * (0.5 * (1.0 + _math_erf(x / math.sqrt(2.0))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi))


def _gelu_backward_samples(device, dtype):
    rng = rng_for("gelu_backward", dtype.name)
    for shape, name in (((), "()"), ((1,), "(1,)"), ((0, 3), "empty"), ((2 ** 6 + 17,), "odd"), ((3, 5), "2d")):
        yield Sample((make_tensor(shape, dtype, device, low=-4, high=4, rng=rng),
                      make_tensor(shape, dtype, device, low=-4, high=4, rng=rng)), name=name)
    yield Sample((make_tensor((4, 6), dtype, device, low=-4, high=4, rng=rng, noncontiguous=True),
                  make_tensor((4, 6), dtype, device, low=-4, high=4, rng=rng, noncontiguous=True)), name="noncontig")
    if dtype.kind == _dt.FLOAT:
        specials = [0.0, -0.0, 1e-30, -6.0, 6.0, -10.0, float("inf"), float("-inf"), float("nan")]
        if dtype is _dt.float64:  # too big for gradcheck (no finite differences at inf/NaN), as unary ops do
            specials = _padded_past_gradcheck(specials, -4, 4)
        yield Sample((_values_tensor([1.0] * len(specials), dtype, device), _values_tensor(specials, dtype, device)),
                     name="specials")
    for shape, kw in (((2 ** 6 + 17,), {}), ((3, 5), {"noncontiguous": True})):
        yield Sample((make_tensor(shape, dtype, device, low=-4, high=4, rng=rng, **kw),
                      make_tensor(shape, dtype, device, low=-6, high=6, rng=rng, **kw)), {"approximate": "tanh"},
                     name=f"tanh-{shape}")


def _gelu_backward_vjp(ctx, gg):
    # d/dgrad: gg * gelu'(x); d/dx: gg * grad * gelu''(x), gelu''(x) = phi(x) (2 - x^2)
    grad, x = ctx.inputs
    needs = ctx.needs_input_grad
    approximate = ctx.kwargs.get("approximate", "none")
    d_grad = gelu_backward_op(gg, x, approximate=approximate) if needs[0] else None
    d_x = None
    if needs[1] and approximate == "tanh":
        # f' = s + 2 x s (1 - s) u' (s = sigmoid(2u)): f'' = s (1 - s) (4 u' + 4 x (1 - 2 s) u'^2 + 12 beta kappa x^2)
        x2 = x * x
        s = sigmoid((x + x2 * x * _GELU_KAPPA) * (2.0 * _GELU_BETA))
        du = (x2 * (3.0 * _GELU_KAPPA) + 1.0) * _GELU_BETA
        d2 = s * (1.0 - s) * (du * 4.0 + x * (1.0 - 2.0 * s) * du * du * 4.0 + x2 * (12.0 * _GELU_BETA * _GELU_KAPPA))
        d_x = gg * grad * d2
    elif needs[1]:
        pdf = exp(x * x * -0.5) * _INV_SQRT_2PI
        d_x = gg * grad * pdf * (2.0 - x * x)
    return d_grad, d_x


def _gelu_backward_bench_make(size, device, dtype):
    return (make_tensor((size,), dtype, device), make_tensor((size,), dtype, device, low=-4, high=4)), {}


gelu_backward_op = register(OpDef(
    name="gelu_backward", family=FAMILY, infer=_gelu_backward_infer,
    impl={"cpu": _gelu_backward_cpu, "cuda": _gelu_backward_cuda}, ref=_gelu_backward_ref, dtypes=_dt.FLOATS,
    supports_out=True, samples=_gelu_backward_samples, vjp=_gelu_backward_vjp,
    bench=BenchSpec(sizes=BENCH_SIZES, make=_gelu_backward_bench_make,
                    bytes=lambda size, dtype: 3 * size * dtype.itemsize, flops=lambda size: 20 * size,
                    dtypes=(_dt.float32, _dt.float16)),
    extra={"torch": lambda torch, g, x, approximate="none": torch.ops.aten.gelu_backward(g, x,
                                                                                         approximate=approximate)}))


# ============================================================================================== rounding

@triton.jit
def _floor_fn(x, y, z, p0, p1):
    # largest integer <= x (the identity on integers)
    if x.dtype.is_floating():
        r = tl.floor(x)
    else:
        r = x
    return r


@triton.jit
def _ceil_fn(x, y, z, p0, p1):
    # smallest integer >= x (the identity on integers)
    if x.dtype.is_floating():
        r = tl.ceil(x)
    else:
        r = x
    return r


@triton.jit
def _trunc_fn(x, y, z, p0, p1):
    # round toward zero (the identity on integers)
    if x.dtype.is_floating():
        r = tl.where(x < 0, tl.ceil(x), tl.floor(x))
    else:
        r = x
    return r


@triton.jit
def _round_fn(x, y, z, p0, p1):
    # round half to even (the identity on integers)
    if x.dtype.is_floating():
        r = _rint(x)
    else:
        r = x
    return r


@triton.jit
def _round_decimals_fn(x, y, z, ten_pow, negative_decimals):
    # PyTorch's round(decimals=d): rint(x * 10^d) / 10^d, or rint(x / 10^-d) * 10^-d for d < 0.
    # ten_pow: 10^|d| (a scalar); negative_decimals: 1.0 when d < 0, else 0.0
    t = tl.cast(ten_pow, x.dtype)
    neg = tl.cast(negative_decimals, x.dtype) != 0
    r = _rint(tl.where(neg, x / t, x * t))
    return tl.where(neg, r * t, r / t)


floor_op = _declare("floor", np_fn=_identity_on_int(np.floor), tl_fn=_floor_fn, kind="same",
                    ref=_int_identity_ref(np.floor),
                    torch_fn=lambda torch, x: torch.floor(x), dtypes=NUMERIC,
                    specials=_SPECIAL + [0.5, -0.5, 1.5, -2.5, -0.3, 1e-30, 1e7 + 1], int_extremes=True,
                    vjp=_zero_grad, save="none")
ceil_op = _declare("ceil", np_fn=_identity_on_int(np.ceil), tl_fn=_ceil_fn, kind="same",
                   ref=_int_identity_ref(np.ceil),
                   torch_fn=lambda torch, x: torch.ceil(x), dtypes=NUMERIC,
                   specials=_SPECIAL + [0.5, -0.5, 1.5, -2.5, -0.3, 1e-30, 1e7 + 1], int_extremes=True,
                   vjp=_zero_grad, save="none")
trunc_op = _declare("trunc", np_fn=_identity_on_int(np.trunc), tl_fn=_trunc_fn, kind="same",
                    ref=_int_identity_ref(np.trunc),
                    torch_fn=lambda torch, x: torch.trunc(x), dtypes=NUMERIC,
                    specials=_SPECIAL + [0.5, -0.5, 1.5, -2.5, -0.3, 1e-30, 1e7 + 1], int_extremes=True,
                    vjp=_zero_grad, save="none")

floor = _public(floor_op, "Largest integer not above each element (integers are returned unchanged).")
ceil = _public(ceil_op, "Smallest integer not below each element (integers are returned unchanged).")
trunc = _public(trunc_op, "Each element rounded toward zero (integers are returned unchanged).")
fix = trunc


# round is one registered op with PyTorch's `decimals` keyword.

def _round_infer(input, decimals=0):
    _require_tensor("round", input)
    if not isinstance(decimals, int) or isinstance(decimals, bool):
        raise TypeError(f"round(): argument 'decimals' must be int, not {type(decimals).__name__}")
    check_dtype("round", input, NUMERIC if decimals == 0 else _dt.FLOATS)
    return Meta(input._data.shape, input.dtype, input.device, input.dtype)


def _round_np(x, decimals):
    if x.dtype.kind in "iu":
        return x.copy()
    if x.dtype in _HALF_NP:
        x = x.astype(np.float32)        # PyTorch rounds fp16/bf16 in fp32
    if decimals == 0:
        return np.rint(x)
    ten_pow = x.dtype.type(10.0 ** builtins.abs(decimals))
    with np.errstate(all="ignore"):
        if decimals > 0:
            return np.rint(x * ten_pow) / ten_pow
        return np.rint(x / ten_pow) * ten_pow


def _round_cpu(meta, input, decimals=0, out=None):
    return pw.np_result(_round_np(pw.np_operand(input, meta.aux), decimals), meta, out)


def _round_cuda(meta, input, decimals=0, out=None):
    if decimals == 0:
        return pw.launch_pointwise(_round_fn, [input], meta.shape, meta.dtype, meta.aux, out)
    params = (float(10.0 ** builtins.abs(decimals)), 1.0 if decimals < 0 else 0.0)
    return pw.launch_pointwise(_round_decimals_fn, [input], meta.shape, meta.dtype, meta.aux, out, params)


def _round_ref(x, decimals=0):
    x = np.asarray(x)
    if x.dtype.kind in "iu":
        return x
    return np.round(x, decimals)


round_op = register(OpDef(
    name="round", family=FAMILY, infer=_round_infer, impl={"cpu": _round_cpu, "cuda": _round_cuda},
    ref=_round_ref, dtypes=NUMERIC, supports_out=True,
    samples=_samples(None, None, _SPECIAL + [0.5, -0.5, 1.5, 2.5, -2.5, -0.3, 1e-30, 1e7 + 1], int_extremes=True,
                     kwargs=lambda d: ({"decimals": 2}, {"decimals": -1}) if d.kind == _dt.FLOAT else ()),
    bench=_bench("same", -100, 100, 4, (_dt.float32, _dt.float16)),
    extra={"torch": lambda torch, x, decimals=0: torch.round(x, decimals=decimals) if decimals else torch.round(x),
           "arity": 1, "params": (("decimals", 0),), "tl_fn": _round_fn}, vjp=_zero_grad, save="none"))


def round(input, *, decimals=0, out=None):
    """Each element rounded to `decimals` decimal places, halves to even (integers are returned unchanged;
    decimals != 0 needs a floating input, as in PyTorch)."""
    return round_op(input, out=out, decimals=decimals)


# ===================================================================================== logical and tests

@triton.jit
def _logical_not_fn(x, y, z, p0, p1):
    # x == 0 (NaN is true, so its logical_not is False)
    return x == 0


@triton.jit
def _isnan_fn(x, y, z, p0, p1):
    # NaN is the only value unequal to itself
    return x != x


@triton.jit
def _isinf_fn(x, y, z, p0, p1):
    # |x| == inf (never for integers)
    if x.dtype.is_floating():
        r = tl.abs(x) == float("inf")
    else:
        r = x != x
    return r


@triton.jit
def _isfinite_fn(x, y, z, p0, p1):
    # |x| < inf is false for inf and NaN (always true for integers)
    if x.dtype.is_floating():
        r = tl.abs(x) < float("inf")
    else:
        r = x == x
    return r


def _isnan_np(x):
    return np.isnan(x) if x.dtype.kind == "f" or x.dtype in _HALF_NP else np.zeros(x.shape, np.bool_)


def _isinf_np(x):
    return np.isinf(x) if x.dtype.kind == "f" or x.dtype in _HALF_NP else np.zeros(x.shape, np.bool_)


def _isfinite_np(x):
    return np.isfinite(x) if x.dtype.kind == "f" or x.dtype in _HALF_NP else np.ones(x.shape, np.bool_)


_TEST_SPECIALS = _SPECIAL + [1.0, -1.0, 1e-30]

logical_not_op = _declare("logical_not", np_fn=np.logical_not, tl_fn=_logical_not_fn, kind="bool",
                          ref=lambda x: np.asarray(x) == 0, torch_fn=lambda torch, x: torch.logical_not(x),
                          specials=_TEST_SPECIALS, int_extremes=True, differentiable=False)
isnan_op = _declare("isnan", np_fn=_isnan_np, tl_fn=_isnan_fn, kind="bool",
                    ref=lambda x: np.isnan(np.asarray(x, np.float64)), torch_fn=lambda torch, x: torch.isnan(x),
                    specials=_TEST_SPECIALS, int_extremes=True, differentiable=False)
isinf_op = _declare("isinf", np_fn=_isinf_np, tl_fn=_isinf_fn, kind="bool",
                    ref=lambda x: np.isinf(np.asarray(x, np.float64)), torch_fn=lambda torch, x: torch.isinf(x),
                    specials=_TEST_SPECIALS, int_extremes=True, differentiable=False)
isfinite_op = _declare("isfinite", np_fn=_isfinite_np, tl_fn=_isfinite_fn, kind="bool",
                       ref=lambda x: np.isfinite(np.asarray(x, np.float64)),
                       torch_fn=lambda torch, x: torch.isfinite(x), specials=_TEST_SPECIALS, int_extremes=True,
                       differentiable=False)
for _op in (isnan_op, isinf_op, isfinite_op):
    _op.supports_out = False   # PyTorch's isnan/isinf/isfinite take no out=

logical_not = _public(logical_not_op, "True where an element is zero (bool result).")


def isnan(input):
    """True where an element is NaN."""
    return isnan_op(input)


def isinf(input):
    """True where an element is +inf or -inf."""
    return isinf_op(input)


def isfinite(input):
    """True where an element is neither inf nor NaN."""
    return isfinite_op(input)


# ======================================================================================= Tensor methods

def _invert(self):
    """~tensor: logical_not for bool tensors, bitwise_not (the bitwise family's op) for integer tensors."""
    if self.dtype is _dt.bool_:
        return logical_not(self)
    if self.dtype.kind == _dt.INT:
        from . import binary
        bitwise_not = getattr(binary, "bitwise_not", None)
        if bitwise_not is not None:
            return bitwise_not(self)
        raise TypeError("~ (operator.invert) on integer tensors needs bitwise_not, which is not available")
    raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")


def _round_method(self, decimals=0):
    return round(self, decimals=decimals)


def _round_inplace(self, decimals=0):
    return round(self, decimals=decimals, out=self)


_SIMPLE = {"neg": neg, "negative": neg, "abs": abs, "absolute": abs, "sign": sign, "square": square,
           "exp": exp, "exp2": exp2, "log": log, "log2": log2, "log1p": log1p, "expm1": expm1, "sqrt": sqrt,
           "rsqrt": rsqrt, "reciprocal": reciprocal, "sin": sin, "cos": cos, "tan": tan, "tanh": tanh,
           "sigmoid": sigmoid, "relu": relu, "erf": erf, "floor": floor, "ceil": ceil, "trunc": trunc,
           "fix": trunc, "logical_not": logical_not}

_bind.methods(**_SIMPLE)
_bind.methods(**{name + "_": _inplace(fn, name + "_") for name, fn in _SIMPLE.items()})
_bind.methods(isnan=isnan, isinf=isinf, isfinite=isfinite, positive=positive, round=_round_method,
              round_=_round_inplace, __neg__=neg, __abs__=abs, __pos__=positive, __invert__=_invert)


# ============================================================ hyperbolic, inverse trigonometric, erfinv, logit
#
# Appended section: sinh, cosh, asin, acos, atan, asinh, acosh, atanh, erfinv, logit, frac, nan_to_num. No
# libdevice: atan is Cephes' rational approximation (accurate to float64), and asin/acos/asinh/acosh/atanh are
# built from it and from the accurate log1p/expm1 helpers above. Bytes per launch: n elements read, n written.

@triton.jit
def _atan_accurate(x):
    # Cephes atan: reduce |x| to [0, 0.66] by atan(a) = pi/2 + atan(-1/a) (a > tan(3pi/8)) or
    # pi/4 + atan((a-1)/(a+1)), then a degree-4/5 rational approximation in a^2.
    a = tl.abs(x)
    big = a > 2.41421356237309504880
    mid = (a > 0.66) & (a <= 2.41421356237309504880)
    r = tl.where(big, -1.0 / a, tl.where(mid, (a - 1.0) / (a + 1.0), a))
    # constants join a zero of x's dtype first: tl.where of two Python floats would type them fp32
    zero = tl.zeros_like(r)
    base = tl.where(big, zero + 1.5707963267948966, tl.where(mid, zero + 0.7853981633974483, zero))
    morebits = tl.where(big, zero + 6.123233995736765886130e-17, tl.where(mid, zero + 3.061616997868382943065e-17, zero))
    z = r * r
    p = ((((-8.750608600031904122785e-01 * z - 1.615753718733365076637e+01) * z - 7.500855792314704667340e+01)
          * z - 1.228866684490136173410e+02) * z - 6.485021904942025371773e+01)
    q = (((((z + 2.485846490142306297962e+01) * z + 1.650270098316988542046e+02) * z
           + 4.328810604912902668951e+02) * z + 4.853903996359136964868e+02) * z + 1.945506571482613964425e+02)
    y = base + (r * (z * p / q) + r + morebits)
    y = tl.where(x < 0, -y, y)
    return tl.where(x == 0, x, y)               # keeps the sign of zero


@triton.jit
def _sinh_fn(x, y, z, p0, p1):
    # |x| < 1: (t + t / (t + 1)) / 2 with t = expm1|x| (no cancellation); else (e/2) * e - 1 / (2 e^2) with
    # e = exp(|x|/2), which overflows only where sinh does
    a = tl.abs(x)
    t = _expm1_accurate(a)
    e = tl.exp(0.5 * a)
    r = tl.where(a < 1.0, 0.5 * (t + t / (t + 1.0)), (0.5 * e) * e - 0.5 / (e * e))
    r = tl.where(x < 0, -r, r)
    return tl.where(x == 0, x, r)


@triton.jit
def _cosh_fn(x, y, z, p0, p1):
    # (e/2) * e + 1 / (2 e^2) with e = exp(|x|/2): no cancellation (both terms positive), overflow only with cosh
    e = tl.exp(0.5 * tl.abs(x))
    return (0.5 * e) * e + 0.5 / (e * e)


@triton.jit
def _atan_fn(x, y, z, p0, p1):
    # arctangent
    return _atan_accurate(x)


@triton.jit
def _asin_fn(x, y, z, p0, p1):
    # asin x = atan(x / sqrt((1 - x)(1 + x))); |x| > 1 gives NaN through the sqrt
    return _atan_accurate(x / tl.sqrt((1.0 - x) * (1.0 + x)))


@triton.jit
def _acos_fn(x, y, z, p0, p1):
    # acos x = 2 atan(sqrt((1 - x) / (1 + x))): exact at both ends (x = -1 gives 2 atan(inf) = pi)
    return 2.0 * _atan_accurate(tl.sqrt((1.0 - x) / (1.0 + x)))


@triton.jit
def _asinh_fn(x, y, z, p0, p1):
    # asinh|x| = log1p(a + a^2 / (1 + sqrt(1 + a^2))); above 2^28 a^2 may overflow and asinh a = log(2a)
    a = tl.abs(x)
    r = _log1p_accurate(a + a * a / (1.0 + tl.sqrt(1.0 + a * a)))
    r = tl.where(a > 268435456.0, tl.log(a) + 0.6931471805599453, r)
    r = tl.where(x < 0, -r, r)
    return tl.where(x == 0, x, r)


@triton.jit
def _acosh_fn(x, y, z, p0, p1):
    # acosh x = log1p(t + sqrt(2t + t^2)), t = x - 1 (exact near 1); log(2x) above 2^28; NaN below 1
    t = x - 1.0
    r = _log1p_accurate(t + tl.sqrt(2.0 * t + t * t))
    return tl.where(x > 268435456.0, tl.log(x) + 0.6931471805599453, r)


@triton.jit
def _atanh_fn(x, y, z, p0, p1):
    # atanh|x| = log1p(2a / (1 - a)) / 2: inf at 1, NaN beyond
    a = tl.abs(x)
    r = 0.5 * _log1p_accurate(2.0 * a / (1.0 - a))
    r = tl.where(x < 0, -r, r)
    return tl.where(x == 0, x, r)


@triton.jit
def _erfinv_fn(x, y, z, p0, p1):
    # Giles' single-precision approximation, then two Newton steps on erf(r) = x (float64 accuracy);
    # +-1 give +-inf, |x| > 1 NaN
    w = -tl.log((1.0 - x) * (1.0 + x))
    wc = w - 2.5
    pc = 2.81022636e-08
    pc = 3.43273939e-07 + pc * wc
    pc = -3.5233877e-06 + pc * wc
    pc = -4.39150654e-06 + pc * wc
    pc = 0.00021858087 + pc * wc
    pc = -0.00125372503 + pc * wc
    pc = -0.00417768164 + pc * wc
    pc = 0.246640727 + pc * wc
    pc = 1.50140941 + pc * wc
    wt = tl.sqrt(w) - 3.0
    pt = -0.000200214257
    pt = 0.000100950558 + pt * wt
    pt = 0.00134934322 + pt * wt
    pt = -0.00367342844 + pt * wt
    pt = 0.00573950773 + pt * wt
    pt = -0.0076224613 + pt * wt
    pt = 0.00943887047 + pt * wt
    pt = 1.00167406 + pt * wt
    pt = 2.83297682 + pt * wt
    r = tl.where(w < 5.0, pc, pt) * x
    r = r - (tl.erf(r) - x) / (1.1283791670955126 * tl.exp(-r * r))
    r = r - (tl.erf(r) - x) / (1.1283791670955126 * tl.exp(-r * r))
    r = tl.where(tl.abs(x) == 1.0, x * float("inf"), r)
    r = tl.where(tl.abs(x) > 1.0, float("nan"), r)
    return tl.where(x == 0, x, r)


@triton.jit
def _logit_fn(x, y, z, eps, p1):
    # log(x / (1 - x)), x clamped to [eps, 1 - eps] first when eps >= 0 (eps: the clamp bound, -1 for none)
    e = tl.cast(eps, x.dtype)
    xc = tl.where(e >= 0, tl.minimum(tl.maximum(x, e), 1.0 - e), x)
    xc = tl.where(x != x, x, xc)                # NaN stays NaN through the clamp
    return tl.log(xc / (1.0 - xc))


@triton.jit
def _frac_fn(x, y, z, p0, p1):
    # x - trunc(x) (inf gives NaN, as in PyTorch)
    return x - tl.where(x < 0, tl.ceil(x), tl.floor(x))


@triton.jit
def _nan_to_num_fn(x, posinf, neginf, nan, p1):
    # NaN -> nan, +inf -> posinf, -inf -> neginf (posinf/neginf arrive as scalar operands y, z; nan as p0);
    # integers are returned unchanged
    if x.dtype.is_floating():
        r = tl.where(x != x, tl.cast(nan, x.dtype), x)
        r = tl.where(x == float("inf"), posinf, r)
        r = tl.where(x == -float("inf"), neginf, r)
    else:
        r = x
    return r


def _erfinv_np64(y):
    """erfinv in float64: Giles' approximation refined by two Newton steps on fdlibm's erf (as the kernel)."""
    y = np.asarray(y, np.float64)
    with np.errstate(all="ignore"):
        w = -np.log((1.0 - y) * (1.0 + y))
        wc = w - 2.5
        pc = np.full_like(y, 2.81022636e-08)
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                  -0.00417768164, 0.246640727, 1.50140941):
            pc = c + pc * wc
        wt = np.sqrt(w) - 3.0
        pt = np.full_like(y, -0.000200214257)
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
                  1.00167406, 2.83297682):
            pt = c + pt * wt
        r = np.where(w < 5.0, pc, pt) * y
        for _ in range(2):
            r = r - (_erf64(r) - y) / (_TWO_OVER_SQRT_PI * np.exp(-r * r))
        r = np.where(np.abs(y) == 1.0, y * np.inf, r)
        r = np.where(np.abs(y) > 1.0, np.nan, r)
        return np.where(y == 0, y, r)


def _erfinv_np(x):
    return _erfinv_np64(x).astype(x.dtype, copy=False)


def _erfinv_ref(y):
    """Independent float64 reference: bisection on math.erf (monotone), 80 halvings."""
    y = np.asarray(y, np.float64)
    lo = np.full_like(y, -7.0)
    hi = np.full_like(y, 7.0)
    erf_v = np.vectorize(math.erf, otypes=[np.float64])
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        below = erf_v(mid) < y
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    r = 0.5 * (lo + hi)
    r = np.where(np.abs(y) == 1.0, y * np.inf, r)
    r = np.where(np.isnan(y) | (np.abs(y) > 1.0), np.nan, r)
    return np.where(y == 0, y, r)


def _logit_np(x, eps=-1.0):
    if eps >= 0:
        x = np.clip(x, x.dtype.type(eps), x.dtype.type(1 - eps))
    return np.log(x / (1 - x))


def _logit_ref(x, eps=-1.0):
    if eps >= 0:
        x = np.clip(x, eps, 1 - eps)
    return np.log(x) - np.log1p(-x)


def _frac_np(x):
    return x - np.trunc(x)


def _sinh_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * cosh(x)


def _cosh_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * sinh(x)


def _asin_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * rsqrt(1.0 - x * x)


def _acos_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * neg(rsqrt(1.0 - x * x))


def _atan_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad / (x * x + 1.0)


def _asinh_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * rsqrt(x * x + 1.0)


def _acosh_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad * rsqrt((x - 1.0) * (x + 1.0))


def _atanh_vjp(ctx, grad):
    (x,) = ctx.inputs
    return grad / (1.0 - x * x)


def _erfinv_vjp(ctx, grad):
    # d/dy erfinv y = sqrt(pi)/2 exp(erfinv(y)^2)
    out = ctx.output
    return grad * (exp(out * out) * (math.sqrt(math.pi) / 2.0))


def _logit_vjp(ctx, grad):
    # 1 / (x (1 - x)); zero outside [eps, 1 - eps] when clamped, NaN outside [0, 1] when not (PyTorch's
    # logit_backward)
    (x,) = ctx.inputs
    eps = ctx.kwargs.get("eps", -1.0)
    g = grad / (x * (1.0 - x))
    if eps is not None and eps >= 0:
        return _where((x < eps) | (x > 1.0 - eps), 0.0, g)
    return _where((x < 0.0) | (x > 1.0), math.nan, g)


def _frac_vjp(ctx, grad):
    return grad


def _nan_to_num_vjp(ctx, grad):
    (x,) = ctx.inputs
    return _where(isfinite(x), grad, 0.0)


sinh_op = _declare("sinh", np_fn=_fp32_for_half(np.sinh), tl_fn=_sinh_fn, kind="float", ref=_ref64(np.sinh),
                   torch_fn=lambda torch, x: torch.sinh(x), low=-5, high=5,
                   specials=_SPECIAL + [1e-30, -1e-7, 0.5, -0.99, 1.0, 10.0, -11.0], flops=8, vjp=_sinh_vjp)
cosh_op = _declare("cosh", np_fn=_fp32_for_half(np.cosh), tl_fn=_cosh_fn, kind="float", ref=_ref64(np.cosh),
                   torch_fn=lambda torch, x: torch.cosh(x), low=-5, high=5,
                   specials=_SPECIAL + [1e-30, -1e-7, 0.5, -1.0, 10.0, -11.0], flops=6, vjp=_cosh_vjp)
atan_op = _declare("atan", np_fn=_fp32_for_half(np.arctan), tl_fn=_atan_fn, kind="float", ref=_ref64(np.arctan),
                   torch_fn=lambda torch, x: torch.atan(x), low=-4, high=4,
                   specials=_SPECIAL + [1e-30, -1e-7, 0.5, 0.66, 1.0, -2.5, 1e10, -1e300], flops=14, vjp=_atan_vjp)
asin_op = _declare("asin", np_fn=_fp32_for_half(np.arcsin), tl_fn=_asin_fn, kind="float", ref=_ref64(np.arcsin),
                   torch_fn=lambda torch, x: torch.asin(x), low=-0.95, high=0.95,
                   specials=_SPECIAL + [1e-30, -1e-7, 0.5, 1.0, -1.0, 1.5], flops=18, vjp=_asin_vjp)
acos_op = _declare("acos", np_fn=_fp32_for_half(np.arccos), tl_fn=_acos_fn, kind="float", ref=_ref64(np.arccos),
                   torch_fn=lambda torch, x: torch.acos(x), low=-0.95, high=0.95,
                   specials=_SPECIAL + [1e-30, -1e-7, 0.5, 1.0, -1.0, 1.5], flops=18, vjp=_acos_vjp)
asinh_op = _declare("asinh", np_fn=_fp32_for_half(np.arcsinh), tl_fn=_asinh_fn, kind="float",
                    ref=_ref64(np.arcsinh), torch_fn=lambda torch, x: torch.asinh(x), low=-5, high=5,
                    specials=_SPECIAL + [1e-30, -1e-7, 0.5, -3.0, 1e10, -1e30], flops=12, vjp=_asinh_vjp)
acosh_op = _declare("acosh", np_fn=_fp32_for_half(np.arccosh), tl_fn=_acosh_fn, kind="float",
                    ref=_ref64(np.arccosh), torch_fn=lambda torch, x: torch.acosh(x), low=1.05, high=6,
                    specials=[INF, NAN, 1.0, 1.0 + 1e-6, 0.5, -INF, 2.0, 1e10, 1e30], flops=12, vjp=_acosh_vjp)
atanh_op = _declare("atanh", np_fn=_fp32_for_half(np.arctanh), tl_fn=_atanh_fn, kind="float",
                    ref=_ref64(np.arctanh), torch_fn=lambda torch, x: torch.atanh(x), low=-0.95, high=0.95,
                    specials=_SPECIAL + [1e-30, -1e-7, 0.5, 1.0, -1.0, 1.5], flops=10, vjp=_atanh_vjp)
erfinv_op = _declare("erfinv", np_fn=_fp32_for_half(_erfinv_np), tl_fn=_erfinv_fn, kind="float",
                     ref=_erfinv_ref, torch_fn=lambda torch, x: torch.erfinv(x), low=-0.95, high=0.95,
                     specials=_SPECIAL + [1e-30, -1e-7, 0.5, 0.99, 1.0, -1.0, 1.5], flops=60,
                     vjp=_erfinv_vjp, save="output")
logit_op = _declare("logit", np_fn=_fp32_for_half(_logit_np), tl_fn=_logit_fn, kind="float",
                    ref=_ref64(_logit_ref), params=(("eps", -1.0),),
                    torch_fn=lambda torch, x, eps=-1.0: torch.logit(x, eps if eps >= 0 else None),
                    low=0.05, high=0.95, specials=[0.0, 1.0, NAN, 0.5, 1e-7, 2.0, -1.0],
                    kwargs=({"eps": 0.2},), flops=4, vjp=_logit_vjp)
frac_op = _declare("frac", np_fn=_fp32_for_half(_frac_np), tl_fn=_frac_fn, kind="same", ref=_ref64(_frac_np),
                   torch_fn=lambda torch, x: torch.frac(x), dtypes=_dt.FLOATS, low=-5.3, high=5.3,
                   specials=_SPECIAL + [0.5, -2.5, 1e-30, 1e7 + 0.5], flops=2, vjp=_frac_vjp)

def _int_samples_in(op, low, high):
    """Integer samples for ops whose float range (inside (-1, 1)) truncates to an empty integer range."""
    float_samples = op.samples
    int_samples = unary_samples(low, high)

    def samples(device, dtype):
        return (int_samples if dtype.kind == _dt.INT else float_samples)(device, dtype)

    op.samples = samples


for _op in (asin_op, acos_op, atanh_op, erfinv_op, logit_op):
    _int_samples_in(_op, -1, 2)

sinh = _public(sinh_op, "Hyperbolic sine of each element.")
cosh = _public(cosh_op, "Hyperbolic cosine of each element.")
atan = _public(atan_op, "Arctangent of each element.")
asin = _public(asin_op, "Arcsine of each element (NaN outside [-1, 1]).")
acos = _public(acos_op, "Arccosine of each element (NaN outside [-1, 1]).")
asinh = _public(asinh_op, "Inverse hyperbolic sine of each element.")
acosh = _public(acosh_op, "Inverse hyperbolic cosine of each element (NaN below 1).")
atanh = _public(atanh_op, "Inverse hyperbolic tangent of each element (NaN outside [-1, 1]).")
erfinv = _public(erfinv_op, "Inverse error function of each element.")
frac = _public(frac_op, "Fractional part input - trunc(input) of each element (floating inputs).")
arctan, arcsin, arccos, arcsinh, arccosh, arctanh = atan, asin, acos, asinh, acosh, atanh


def logit(input, eps=None, *, out=None):
    """log(input / (1 - input)), with input clamped to [eps, 1 - eps] first when eps is given."""
    return logit_op(input, out=out, eps=-1.0 if eps is None else float(eps))


# nan_to_num: its own OpDef (three replacement values, one more than the pointwise kernel's parameters carry).

def _nan_to_num_infer(input, nan=0.0, posinf=None, neginf=None):
    _require_tensor("nan_to_num", input)
    compute = _dt.float32 if input.dtype in (_dt.float16, _dt.bfloat16) else input.dtype
    return Meta(input._data.shape, input.dtype, input.device, compute)


_BF16_MAX = float.fromhex("0x1.fep127")


def _replacements(dtype, posinf, neginf):
    """PyTorch's defaults for posinf/neginf: the dtype's largest and lowest finite values."""
    big = _BF16_MAX if dtype is _dt.bfloat16 else float(np.finfo(dtype.np).max)
    return (big if posinf is None else float(posinf)), (-big if neginf is None else float(neginf))


def _nan_to_num_cpu(meta, input, nan=0.0, posinf=None, neginf=None, out=None):
    x = input._data
    if input.dtype.kind != _dt.FLOAT:
        return pw.np_result(x.copy(), meta, out)
    hi, lo = _replacements(input.dtype, posinf, neginf)
    xc = x.astype(np.float32) if x.dtype in _HALF_NP else x
    if np.isfinite(np.sum(xc, dtype=np.float64)):   # a NaN or inf makes the sum one: nothing to replace (11x faster)
        return pw.np_result(x.copy(), meta, out)
    value = np.nan_to_num(xc, nan=nan, posinf=hi, neginf=lo)
    return pw.np_result(value.astype(x.dtype, copy=False), meta, out)


def _nan_to_num_cuda(meta, input, nan=0.0, posinf=None, neginf=None, out=None):
    if input.dtype.kind != _dt.FLOAT:
        return pw.launch_pointwise(_nan_to_num_fn, [input], meta.shape, meta.dtype, meta.aux, out, (0, 0))
    hi, lo = _replacements(input.dtype, posinf, neginf)
    return pw.launch_pointwise(_nan_to_num_fn, [input, hi, lo], meta.shape, meta.dtype, meta.aux, out,
                               (float(nan), 0.0))


def _nan_to_num_ref(x, nan=0.0, posinf=None, neginf=None):
    x = np.asarray(x)
    if x.dtype.kind != "f":
        return x
    return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


def _nan_to_num_samples(device, dtype):
    """unary_samples, integer extremes, and NaN/inf samples: infinities only with explicit posinf/neginf (the
    float64 reference cannot know the default, the sample dtype's largest finite value)."""
    yield from unary_samples(-3, 3)(device, dtype)
    if dtype.kind == _dt.INT:
        yield Sample((_values_tensor(_int_extremes(dtype), dtype, device),), name="extremes")
    if dtype.kind == _dt.FLOAT:
        yield Sample((_values_tensor([NAN, 0.0, -0.0, 1.0, -2.5], dtype, device),), name="nan")
        values = _values_tensor([NAN, INF, -INF, 0.0, -2.5, 1.0, NAN], dtype, device)
        yield Sample((values,), {"nan": 1.5, "posinf": 7.0, "neginf": -3.0}, name="specials")
        yield Sample((values,), {"posinf": 2.0, "neginf": -1.0}, name="default-nan")


nan_to_num_op = register(OpDef(
    name="nan_to_num", family=FAMILY, infer=_nan_to_num_infer, impl={"cpu": _nan_to_num_cpu, "cuda": _nan_to_num_cuda},
    ref=_nan_to_num_ref, dtypes=_dt.ALL, supports_out=True,
    samples=lambda device, dtype: _nan_to_num_samples(device, dtype),
    bench=_bench("same", -3, 3, 3, (_dt.float32, _dt.float16)),
    extra={"torch": lambda torch, x, **kw: torch.nan_to_num(x, **kw), "arity": 1, "tl_fn": _nan_to_num_fn},
    vjp=_nan_to_num_vjp))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    """NaN, +inf and -inf replaced by `nan`, `posinf` and `neginf` (defaults: 0 and the dtype's largest and
    lowest finite values); integer tensors are returned unchanged (as a copy)."""
    return nan_to_num_op(input, out=out, nan=nan, posinf=posinf, neginf=neginf)


def _logit_method(self, eps=None):
    return logit(self, eps)


def _logit_inplace(self, eps=None):
    return logit(self, eps, out=self)


def _nan_to_num_method(self, nan=0.0, posinf=None, neginf=None):
    return nan_to_num(self, nan, posinf, neginf)


def _nan_to_num_inplace(self, nan=0.0, posinf=None, neginf=None):
    return nan_to_num(self, nan, posinf, neginf, out=self)


_MORE = {"sinh": sinh, "cosh": cosh, "atan": atan, "asin": asin, "acos": acos, "asinh": asinh, "acosh": acosh,
         "atanh": atanh, "arctan": atan, "arcsin": asin, "arccos": acos, "arcsinh": asinh, "arccosh": acosh,
         "arctanh": atanh, "erfinv": erfinv, "frac": frac}
_bind.methods(**_MORE)
_bind.methods(**{name + "_": _inplace(fn, name + "_") for name, fn in _MORE.items()})
_bind.methods(logit=_logit_method, logit_=_logit_inplace, nan_to_num=_nan_to_num_method,
              nan_to_num_=_nan_to_num_inplace)
__all__ += ["sinh", "cosh", "atan", "asin", "acos", "asinh", "acosh", "atanh", "arctan", "arcsin", "arccos",
            "arcsinh", "arccosh", "arctanh", "erfinv", "logit", "frac", "nan_to_num"]
